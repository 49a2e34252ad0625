import Fluent
import Vapor
import RathausCore

/// What an import changed (or would change, with `--dry-run`).
struct GebieteImportReport: Sendable {
    struct Change: Sendable { let ars: String; let name: String; let details: String }
    var added: [Change] = []
    var changed: [Change] = []
    var dissolved: [Change] = []
    var unchanged = 0
    var asOf = ""

    var summaryDE: String {
        "\(added.count) neu, \(changed.count) geändert, \(dissolved.count) aufgelöst, \(unchanged) unverändert (Gebietsstand \(asOf))"
    }
}

/// Applies a stand of territorial data to the database. Never deletes: units missing from a newer
/// stand of the same Land are marked dissolved (with date and, where known, successor), so a tenant
/// with members, users or data keeps everything.
struct GebieteImporter {
    var batchSize = 250

    func run(_ records: [GebietRecord], on db: any Database, dryRun: Bool = false,
             successors: [String: String] = [:], actor: String = "system:import",
             progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> GebieteImportReport {
        var report = GebieteImportReport()
        report.asOf = records.map(\.asOf).max() ?? ""
        let lands = Set(records.map(\.ars.landCode))
        let existing = try await Gebiet.query(on: db).filter(\.$landCode ~~ Array(lands)).all()
        var byARS: [String: Gebiet] = [:]
        for g in existing { byARS[g.ars] = g }
        let seen = Set(records.map(\.ars.value))

        var toInsert: [Gebiet] = []
        var toUpdate: [Gebiet] = []
        for r in records {
            if let g = byARS[r.ars.value] {
                var diffs: [String] = []
                if g.name != r.name { diffs.append("Name „\(g.name)“ → „\(r.name)“") }
                if g.typeCode != r.typeCode { diffs.append("Typ \(g.typeCode ?? "–") → \(r.typeCode ?? "–")") }
                if g.parentARS != r.parentARS?.value { diffs.append("übergeordnet \(g.parentARS ?? "–") → \(r.parentARS?.value ?? "–")") }
                if r.population != nil, g.population != r.population { diffs.append("Einwohner \(g.population.map(String.init) ?? "–") → \(r.population.map(String.init) ?? "–")") }
                if g.dissolvedOn != nil { diffs.append("wieder gültig") }
                if g.asOf != r.asOf || !diffs.isEmpty {
                    // keep enrichments (all PLZ, coordinates) that the official file does not carry
                    var merged = r
                    if r.plzList.count <= 1, !g.plzList.isEmpty { merged.plzList = g.plzList.split(separator: ";").map(String.init) }
                    if r.latitude == nil { merged.latitude = g.latitude; merged.longitude = g.longitude }
                    if r.population == nil { merged.population = g.population }
                    if r.areaHa == nil { merged.areaHa = g.areaHa }
                    g.apply(merged)
                    g.dissolvedOn = nil
                    g.successorARS = nil
                    toUpdate.append(g)
                }
                if diffs.isEmpty { report.unchanged += 1 } else {
                    report.changed.append(.init(ars: r.ars.value, name: r.name, details: diffs.joined(separator: "; ")))
                }
            } else {
                toInsert.append(Gebiet(r))
                report.added.append(.init(ars: r.ars.value, name: r.name, details: r.typeName))
            }
        }
        var toDissolve: [Gebiet] = []
        for g in existing where g.dissolvedOn == nil && !seen.contains(g.ars) {
            g.dissolvedOn = report.asOf
            g.successorARS = successors[g.ars]
            toDissolve.append(g)
            let succ = successors[g.ars].map { "Nachfolger \($0)" } ?? "Nachfolger unbekannt (--nachfolger angeben)"
            report.dissolved.append(.init(ars: g.ars, name: g.name, details: succ))
        }
        if dryRun { return report }

        let total = toInsert.count + toUpdate.count + toDissolve.count
        let summary = report.summaryDE
        let insertBatch = batchSize
        let inserts = toInsert, updates = toUpdate + toDissolve
        try await db.transaction { tx in
            var done = 0
            for start in stride(from: 0, to: inserts.count, by: insertBatch) {
                let chunk = Array(inserts[start..<min(start + insertBatch, inserts.count)])
                try await chunk.create(on: tx)
                done += chunk.count
                progress?(done, total)
            }
            for g in updates {
                try await g.update(on: tx)
                done += 1
                if done % 100 == 0 || done == total { progress?(done, total) }
            }
            if total > 0 {
                try await Audit.record(on: tx, actor: actor, actorID: nil, tenant: nil, action: "gebiete.import",
                                       objectType: "gebiete", objectID: lands.sorted().joined(separator: ","),
                                       before: nil, after: summary)
            }
        }
        return report
    }
}

/// The Thuringian territorial units shipped with the product (see Resources/gebiete/README.md).
enum ReferenceData {
    static var directory: URL {
        Bundle.module.bundleURL.appendingPathComponent("Resources/gebiete")
    }

    static func thuringia() throws -> [GebietRecord] {
        let gebiete = try String(contentsOf: directory.appendingPathComponent("gebiete_th.csv"), encoding: .utf8)
        let gemeinden = try String(contentsOf: directory.appendingPathComponent("gemeinden_th.csv"), encoding: .utf8)
        var records = try GebieteParser.parseGebieteCSV(gebiete)
        GebieteParser.enrich(&records, with: try GebieteParser.parseGemeindenCSV(gemeinden))
        return records
    }

    /// Loads the shipped data when the table is empty (first start).
    static func loadIfEmpty(on db: any Database, logger: Logger) async throws {
        guard try await Gebiet.query(on: db).count() == 0 else { return }
        let report = try await GebieteImporter().run(try thuringia(), on: db, actor: "system:referenzdaten")
        logger.info("Referenzdaten Thüringen geladen: \(report.summaryDE)")
    }
}
