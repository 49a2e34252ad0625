import Foundation
import RathausCore

/// A supplier's price sheet for one lot as CSV (`;` or `,` separated, header line first):
/// `artikelnummer;bezeichnung;beschreibung;einheit;preis_netto;ust_satz;mindestmenge;hoechstmenge;lieferzeit_tage;servicegebuehr;gueltig_ab;kategorie`.
/// Every problem is reported with its line in German; nothing is imported when any line is bad.
public enum PriceSheet {
    public struct Row: Sendable, Equatable {
        public var articleNumber: String
        public var name: String
        public var description: String
        public var unitCode: String
        public var netCents: Int64
        public var vatPercent: Int
        public var minQuantity: Int
        public var maxQuantity: Int
        public var deliveryDays: Int
        public var feeCents: Int64
        public var validFrom: String
        public var category: String
        /// Optional columns the sheet does not have: an import keeps the item's current values for them.
        public var absent: Set<String> = []
        public init(articleNumber: String, name: String, description: String = "", unitCode: String, netCents: Int64, vatPercent: Int,
                    minQuantity: Int = 1, maxQuantity: Int = 0, deliveryDays: Int = 0, feeCents: Int64 = 0, validFrom: String, category: String = "") {
            self.articleNumber = articleNumber; self.name = name; self.description = description; self.unitCode = unitCode; self.netCents = netCents
            self.vatPercent = vatPercent; self.minQuantity = minQuantity; self.maxQuantity = maxQuantity; self.deliveryDays = deliveryDays
            self.feeCents = feeCents; self.validFrom = validFrom; self.category = category
        }
    }

    /// A problem with its line (the platform's one import-line error).
    public typealias Problem = ImportLineError

    /// Everything wrong with a file (nothing is imported).
    public struct Failure: Error, Sendable, Equatable {
        public var problems: [Problem]
        public init(_ problems: [Problem]) { self.problems = problems }
    }

    public static let columns = ["artikelnummer", "bezeichnung", "beschreibung", "einheit", "preis_netto", "ust_satz",
                                 "mindestmenge", "hoechstmenge", "lieferzeit_tage", "servicegebuehr", "gueltig_ab", "kategorie"]
    static let required = ["artikelnummer", "bezeichnung", "einheit", "preis_netto", "ust_satz", "gueltig_ab"]
    /// Limits per file in total.
    public static let maxBytes = 2_000_000
    public static let maxRows = 5_000

    public static func parse(_ data: Data) -> Result<[Row], Failure> {
        guard data.count <= maxBytes else { return .failure(Failure([Problem(line: 0, "Die Datei ist größer als 2 MB.")])) }
        var bytes = data
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let text = String(data: bytes, encoding: .utf8) else {
            return .failure(Failure([Problem(line: 0, "Die Datei ist nicht in UTF-8 gespeichert. Bitte als „CSV UTF-8“ exportieren.")]))
        }
        let firstLine = text.prefix { $0 != "\n" && $0 != "\r\n" }
        let delimiter: UnicodeScalar = firstLine.contains(";") ? ";" : ","
        let all: [[String]]
        do { all = try CSV.parse(text, delimiter: delimiter) } catch { return .failure(Failure([Problem(line: 0, error.message)])) }
        guard let header = all.first else { return .failure(Failure([Problem(line: 0, "Die Datei ist leer.")])) }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var index: [String: Int] = [:]
        for c in columns { if let i = names.firstIndex(of: c) { index[c] = i } }
        let missing = required.filter { index[$0] == nil }
        guard missing.isEmpty else {
            return .failure(Failure([Problem(line: 1, "Es fehlen die Spalten \(missing.joined(separator: ", ")). Erwartet wird die Kopfzeile: \(columns.joined(separator: ";")).")]))
        }
        let absent = Set(columns.filter { index[$0] == nil })
        let body = Array(all.dropFirst())
        guard body.count <= maxRows else { return .failure(Failure([Problem(line: 0, "Die Datei hat mehr als \(maxRows) Zeilen.")])) }
        var problems: [Problem] = []
        var rows: [Row] = []
        var seen: [String: Int] = [:]
        for (offset, values) in body.enumerated() {
            let line = offset + 2
            if values.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            func v(_ c: String) -> String {
                guard let i = index[c], i < values.count else { return "" }
                return values[i].trimmingCharacters(in: .whitespacesAndNewlines)
            }
            var lineProblems: [String] = []
            let article = v("artikelnummer")
            if article.isEmpty || article.count > 50 { lineProblems.append("Die Artikelnummer fehlt oder ist länger als 50 Zeichen.") }
            else if let first = seen[article] { lineProblems.append("Die Artikelnummer „\(article)“ steht schon in Zeile \(first).") }
            else { seen[article] = line }
            let name = v("bezeichnung")
            if name.isEmpty || name.count > 200 { lineProblems.append("Die Bezeichnung fehlt oder ist länger als 200 Zeichen.") }
            let description = v("beschreibung")
            if description.count > 2000 { lineProblems.append("Die Beschreibung ist länger als 2.000 Zeichen.") }
            let unit = v("einheit").uppercased()
            if !UnitCode.isKnown(unit) {
                lineProblems.append("Die Einheit „\(String(v("einheit").prefix(20)))“ ist unbekannt; erlaubt sind \(UnitCode.all.map(\.code).joined(separator: ", ")).")
            }
            var net: Int64 = 0
            do {
                net = try Money(parsing: v("preis_netto")).cents
                if net < 0 || net > 100_000_000_00 { lineProblems.append("Der Nettopreis muss zwischen 0 und 100.000.000 € liegen.") }
            } catch { lineProblems.append("Der Nettopreis „\(String(v("preis_netto").prefix(20)))“ ist kein Betrag (z. B. 1.234,56).") }
            let rateText = v("ust_satz").replacingOccurrences(of: "%", with: "").trimmingCharacters(in: .whitespaces)
            let rate = Int(rateText) ?? -1
            if !VATRate.allowed.contains(rate) { lineProblems.append("Der Umsatzsteuersatz „\(String(v("ust_satz").prefix(10)))“ ist nicht erlaubt (19, 7 oder 0).") }
            func count(_ c: String, _ label: String, default d: Int) -> Int {
                let s = v(c)
                if s.isEmpty { return d }
                guard let n = Int(s), n >= 0, n <= 1_000_000 else { lineProblems.append("\(label) „\(String(s.prefix(12)))“ ist keine ganze Zahl zwischen 0 und 1.000.000."); return d }
                return n
            }
            let minQ = max(1, count("mindestmenge", "Die Mindestmenge", default: 1))
            let maxQ = count("hoechstmenge", "Die Höchstmenge", default: 0)
            if maxQ > 0 && maxQ < minQ { lineProblems.append("Die Höchstmenge ist kleiner als die Mindestmenge.") }
            let days = count("lieferzeit_tage", "Die Lieferzeit", default: 0)
            var fee: Int64 = 0
            if !v("servicegebuehr").isEmpty {
                do { fee = try Money(parsing: v("servicegebuehr")).cents; if fee < 0 { lineProblems.append("Die Servicegebühr darf nicht negativ sein.") } }
                catch { lineProblems.append("Die Servicegebühr „\(String(v("servicegebuehr").prefix(20)))“ ist kein Betrag.") }
            }
            let from = CalendarDay.iso(v("gueltig_ab"))
            if from == nil { lineProblems.append("„gültig ab“ ist kein Datum (TT.MM.JJJJ).") }
            let category = v("kategorie")
            if category.count > 100 { lineProblems.append("Die Kategorie ist länger als 100 Zeichen.") }
            if lineProblems.isEmpty, let from {
                var row = Row(articleNumber: article, name: name, description: description, unitCode: unit, netCents: net, vatPercent: rate,
                              minQuantity: minQ, maxQuantity: maxQ, deliveryDays: days, feeCents: fee, validFrom: from, category: category)
                row.absent = absent
                rows.append(row)
            } else {
                problems += lineProblems.map { Problem(line: line, $0) }
            }
        }
        if problems.isEmpty && rows.isEmpty { return .failure(Failure([Problem(line: 0, "Die Datei enthält keine Artikel.")])) }
        return problems.isEmpty ? .success(rows) : .failure(Failure(problems))
    }
}
