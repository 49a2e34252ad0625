import Fluent
import NIOConcurrencyHelpers
import Vapor
import Finder
import RathausCore
import Documents

#if os(Linux)
@_silgen_name("malloc_trim")
private func rathaus_malloc_trim(_ pad: Int) -> Int32
#endif

/// `rathaus bench finder [--gebiete gebiete_de.csv] [--seconds 3]`: in-process figures of the
/// Zuständigkeitsfinder at national scale, printed (no assertions: numbers for the note).
///
/// Data: every German unit of the file, one office per Gemeinde (its main office), and for every
/// LeiKa key an entry at some level — a third at Land level (16 entries each), a third at Kreis
/// level (one per Kreis), a third left to the Typisierung default. The implicit (service, Gemeinde)
/// pairs (≈ 4,813 × 10,997) are never materialised.
struct BenchCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "was", help: "finder | pdf | foerderung | rollout | jose | fim")
        var what: String
        @Option(name: "datei", help: "fim: XDatenfelder-Datei (Standard: die vier echten Schemata der Test-Fixtures)")
        var file: String?
        @Option(name: "gebiete", help: "gebiete_de.csv (Standard: ../shared/data/gemeinden/gebiete_de.csv, sonst Thüringen)")
        var gebiete: String?
        @Option(name: "seconds", help: "Messdauer je Teil in Sekunden (Standard 3)")
        var seconds: Double?
    }

    var help: String { "Misst im Prozess: finder (Auflösungen/s, Suche p50/p99, Speicher) oder pdf (Brief, 20-seitiger Bericht)." }

    /// `rathaus bench pdf`: a one-page decision letter and a 20-page table report, rendered
    /// repeatedly; prints median and p99 times and sizes against the targets (5 ms / 60 KB, 100 ms).
    static func benchPDF(_ console: any Console, seconds: Double) throws {
        let head = Letterhead(organisation: "Stadt Erfurt", office: "Bürgeramt", address: ["Fischmarkt 1", "99084 Erfurt"],
                              contact: ["Telefon 0361 655-0", "buergeramt@erfurt.de"], bank: ["Sparkasse Mittelthüringen", "IBAN DE12 8205 1000 0130 0000 00"])
        let letter = Letter(letterhead: head, recipient: ["Frau", "Erika Müller", "Große Straße 5", "99084 Erfurt"],
                            information: [("Aktenzeichen", "TH-2026-000123"), ("Datum", "04.12.2026")], subject: "Bescheid über Ihren Antrag „Hund anmelden“",
                            body: [.paragraph("Sehr geehrte Frau Müller,"), .paragraph(String(repeating: "Ihrem Antrag vom 01.12.2026 wird stattgegeben; die Steuer beträgt 120,00 € im Jahr. ", count: 6)),
                                   .heading("Rechtsbehelfsbelehrung"), .paragraph(String(repeating: "Gegen diesen Bescheid kann innerhalb eines Monats Widerspruch erhoben werden. ", count: 3)),
                                   .paragraph("Mit freundlichen Grüßen")])
        var rows: [[String]] = []
        var pages = 0
        var n = 700
        var report = Report(title: "Bericht", body: [])
        // as many rows as make 20 pages
        while pages != 20 {
            rows = (1...n).map { ["\($0)", "Gemeinde \($0) – Vorhaben Digitalisierung", "\($0 * 13),00 €"] }
            report = Report(title: "Übersicht", subtitle: "20 Seiten", body: [.table(Table(columns: [.init("Nr.", width: 0.1, alignment: .right), .init("Vorhaben", width: 0.6), .init("Betrag", width: 0.3, alignment: .right)], rows: rows))])
            let d = try PDFRenderer.render(report, info: DocumentInfo(title: "Bericht", author: "Bench"))
            pages = d.split(separator: Array("/Type /Page ".utf8)).count - 1
            n = pages < 20 ? n + 15 * (20 - pages) : n - 15 * (pages - 20)
            if n < 10 { break }
        }
        let cold = Date()
        _ = try PDFRenderer.render(letter, info: DocumentInfo(title: "Bescheid", author: "Bench"))
        console.print("Erster Brief (mit Einlesen der Schrift): \(String(format: "%.1f", Date().timeIntervalSince(cold) * 1000)) ms")
        func measure(_ label: String, target: Double, _ body: () throws -> Data) throws {
            var times: [Double] = []
            var size = 0
            let end = Date().addingTimeInterval(seconds)
            repeat {
                let t = DispatchTime.now().uptimeNanoseconds
                size = try body().count
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            } while Date() < end || times.count < 5
            times.sort()
            let p50 = times[times.count / 2], p99 = times[min(times.count - 1, times.count * 99 / 100)]
            console.print("\(label): \(times.count) Läufe, Median \(String(format: "%.2f", p50)) ms, p99 \(String(format: "%.2f", p99)) ms, \(size / 1024) KB (Ziel ≤ \(Int(target)) ms: \(p50 <= target ? "erreicht" : "VERFEHLT"))")
        }
        try measure("Brief, 1 Seite", target: 5) { try PDFRenderer.render(letter, info: DocumentInfo(title: "Bescheid", author: "Bench")) }
        try measure("Bericht, \(pages) Seiten, \(rows.count) Zeilen", target: 100) { try PDFRenderer.render(report, info: DocumentInfo(title: "Bericht", author: "Bench")) }
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        if signature.what == "pdf" { return try Self.benchPDF(context.console, seconds: signature.seconds ?? 2) }
        if signature.what == "foerderung" { return try await FundingBench.run(context.application, console: context.console) }
        if signature.what == "rollout" { return try await RolloutBench.run(context.application, console: context.console) }
        if signature.what == "jose" { return try ExchangeBench.jose(context.console, seconds: signature.seconds ?? 3) }
        if signature.what == "fim" { return try ExchangeBench.fim(context.console, files: signature.file.map { [$0] } ?? []) }
        guard signature.what == "finder" else { throw CommandFailure(message: "Unbekannt: \(signature.what). Möglich: finder, pdf, foerderung, rollout, jose, fim") }
        let console = context.console
        let seconds = signature.seconds ?? 3
        let started = Date()
        let path = signature.gebiete ?? "../shared/data/gemeinden/gebiete_de.csv"
        var records: [GebietRecord]
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            records = try GebieteParser.parseGebieteCSV(text)
        } else {
            console.print("Hinweis: \(path) nicht lesbar, nehme die mitgelieferten Thüringer Daten.")
            records = try ReferenceData.thuringia()
        }
        let catalogue = try FinderCatalogue.shared()
        // the database-shaped input is built in a scope of its own and freed afterwards, so the
        // memory figure below is that of the index a server keeps
        let buildStart = Date()
        let (snap, unitCount, officeCount) = Self.buildSnapshot(records, catalogue)
        let buildSeconds = Date().timeIntervalSince(buildStart)
        records = []
        #if os(Linux)
        _ = rathaus_malloc_trim(0)   // hand freed pages back, so RSS shows what stays
        #endif
        let gemeinden = snap.areas.indices.filter { snap.areas[$0].level == "gemeinde" }.map { Int32($0) }
        let services = Int32(catalogue.services.count)
        console.print("Daten: \(unitCount) Gebietseinheiten, \(gemeinden.count) Gemeinden, \(officeCount) Stellen, \(snap.resolver.entryCount) Einträge, \(services) Leistungen")
        console.print("       \(Int(services) * gemeinden.count) implizite Paare (Leistung × Gemeinde), nicht materialisiert")
        console.print("Index-Aufbau: \(String(format: "%.2f", buildSeconds)) s (Laden gesamt \(String(format: "%.2f", Date().timeIntervalSince(started))) s)")
        console.print("Speicher nach Aufbau: RSS \(Self.memory("VmRSS"))")

        // random pairs, generated up front so the loop measures only the resolution
        var rng = SystemRandomNumberGenerator()
        let pairs = (0..<1_000_000).map { _ in (Int32.random(in: 0..<services, using: &rng), gemeinden.randomElement(using: &rng)!) }
        let resolver = snap.resolver

        func throughput(_ body: (Int) -> Int) -> Double {
            var n = 0, checksum = 0
            let t0 = DispatchTime.now().uptimeNanoseconds
            var elapsed = 0.0
            repeat {
                checksum &+= body(n)
                n += 1
                if n % 4096 == 0 { elapsed = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
            } while elapsed < seconds
            if checksum == 42 { console.print("") }   // keep the work observable
            return Double(n) / elapsed
        }
        let full = throughput { i in let p = pairs[i % pairs.count]; return Int(resolver.resolve(service: p.0, area: p.1).office) }
        let fast = throughput { i in let p = pairs[i % pairs.count]; return Int(resolver.office(service: p.0, area: p.1)) }
        // all cores
        let cores = System.coreCount
        let perCore = NIOLockedValueBox<[Double]>([])
        DispatchQueue.concurrentPerform(iterations: cores) { c in
            var n = 0, sum = 0
            let t0 = DispatchTime.now().uptimeNanoseconds
            var el = 0.0
            repeat {
                let p = pairs[(n &* 7 &+ c &* 104_729) % pairs.count]
                sum &+= Int(resolver.resolve(service: p.0, area: p.1).office)
                n += 1
                if n % 4096 == 0 { el = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
            } while el < seconds
            perCore.withLockedValue { $0.append(Double(n) / el + Double(sum & 0)) }
        }
        let allCores = perCore.withLockedValue { $0.reduce(0, +) }
        // latency of single resolutions (each timed; the clock read itself costs some ns)
        var lat: [UInt64] = []
        lat.reserveCapacity(200_000)
        for i in 0..<200_000 {
            let p = pairs[i]
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = resolver.resolve(service: p.0, area: p.1)
            lat.append(DispatchTime.now().uptimeNanoseconds - t0)
        }
        lat.sort()
        console.print("Auflösung (mit Pfad), 1 Kern:   \(Self.fmt(full)) /s")
        console.print("Auflösung (nur Stelle), 1 Kern: \(Self.fmt(fast)) /s")
        console.print("Auflösung (mit Pfad), \(cores) Kerne:  \(Self.fmt(allCores)) /s")
        console.print("Auflösung Latenz: p50 \(lat[lat.count / 2]) ns, p99 \(lat[lat.count * 99 / 100]) ns, max \(lat.last ?? 0) ns")

        let queries = ["Hund anmelden", "Perso", "Personalausweis beantragen", "Ummeldung", "Führerschein verlängern", "fuehrerschein",
                       "Gewerbe anmelden", "Persnalausweis", "Reisepas", "Hundesteuer", "Baugenehmigung", "Auto anmelden",
                       "Geburtsurkunde", "Wohngeld", "Kita", "Müll", "Eheschließung", "Bauantrag", "Steuer", "Kfz"]
        var slat: [UInt64] = []
        let s0 = DispatchTime.now().uptimeNanoseconds
        var si = 0
        repeat {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = catalogue.search.search(queries[si % queries.count], limit: 10)
            slat.append(DispatchTime.now().uptimeNanoseconds - t0)
            si += 1
        } while Double(DispatchTime.now().uptimeNanoseconds - s0) / 1e9 < seconds
        let searchRate = Double(si) / (Double(DispatchTime.now().uptimeNanoseconds - s0) / 1e9)
        slat.sort()
        console.print("Suche, 1 Kern: \(Self.fmt(searchRate)) /s, p50 \(String(format: "%.3f", Double(slat[slat.count / 2]) / 1e6)) ms, p99 \(String(format: "%.3f", Double(slat[slat.count * 99 / 100]) / 1e6)) ms")
        console.print("Speicher: RSS \(Self.memory("VmRSS")), Spitze \(Self.memory("VmHWM"))")
    }

    static func buildSnapshot(_ records: [GebietRecord], _ catalogue: FinderCatalogue) -> (FinderSnapshot, Int, Int) {
        let gebiete = records.map { Gebiet($0) }

        var offices: [Office] = []
        var firstOfficeIn: [String: UUID] = [:]   // Kreis / Land → an office there
        for g in gebiete where g.level == "gemeinde" {
            let o = Office()
            o.id = UUID(); o.tenantARS = g.ars; o.name = "Amt \(g.name)"; o.kind = "Bürgeramt"; o.street = "Markt 1"
            o.postalCode = g.plz ?? ""; o.city = g.name; o.visitorAddress = ""; o.phone = ""; o.email = ""; o.website = ""
            o.openingHours = .typicalCitizenOffice; o.accessibility = ""; o.appointmentURL = ""; o.isMain = true; o.isDemo = true
            offices.append(o)
            if firstOfficeIn[g.kreisARS] == nil { firstOfficeIn[g.kreisARS] = o.id }
            if firstOfficeIn[g.landCode] == nil { firstOfficeIn[g.landCode] = o.id }
        }
        let kreise = gebiete.filter { $0.level == "kreis" }.map(\.ars)
        let laender = gebiete.filter { $0.level == "land" }.map(\.ars)
        var entries: [Responsibility] = []
        for (i, s) in catalogue.services.enumerated() {
            let areas: [String] = i % 3 == 0 ? laender : (i % 3 == 1 ? kreise : [])
            for a in areas {
                guard let office = firstOfficeIn[a] else { continue }
                let e = Responsibility()
                e.leikaKey = s.key.value; e.areaARS = a; e.role = "responsible"; e.officeID = office; e.tenantARS = a
                entries.append(e)
            }
        }
        return (FinderSnapshot(catalogue: catalogue, version: 0, gebiete: gebiete, offices: offices, entries: entries), gebiete.count, offices.count)
    }

    static func fmt(_ v: Double) -> String {
        let n = Int(v.rounded())
        var s = String(n), out = ""
        for (i, c) in s.reversed().enumerated() { if i > 0 && i % 3 == 0 { out.append(".") }; out.append(c) }
        s = String(out.reversed())
        return s
    }

    static func memory(_ key: String) -> String {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return "unbekannt" }
        let kb = Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return "\(kb / 1024) MB"
    }
}
