import Foundation

/// Reads a catalogue from JSON (the format of `Catalogue`) or from a CSV export
/// (`thema_id;thema;anforderung_id;titel;text;stufe;hinweise;nachweise`, one requirement per line,
/// header line first, `;` or `,` separated, quotes as usual). Every problem is reported with its
/// line in German; nothing is imported when any line is bad.
public enum CatalogueImport {
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public init(line: Int, _ message: String) { self.line = line; self.message = message }
        public var description: String { line > 0 ? "Zeile \(line): \(message)" : message }
    }

    /// Everything wrong with a file (nothing is imported).
    public struct Failure: Error, Sendable, Equatable {
        public var problems: [Problem]
        public init(_ problems: [Problem]) { self.problems = problems }
    }

    /// Limits per file in total (a hostile upload must not exhaust memory or time).
    public static let maxBytes = 2_000_000
    public static let maxRequirements = 2_000

    public static func parse(_ data: Data, filename: String, id: String, version: Int, title: String) -> Result<Catalogue, Failure> {
        guard data.count <= maxBytes else { return .failure(Failure([Problem(line: 0, "Die Datei ist größer als 2 MB.")])) }
        let trimmed = data.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF }
        if filename.lowercased().hasSuffix(".json") || trimmed.first == UInt8(ascii: "{") {
            return json(Data(trimmed), version: version)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(Failure([Problem(line: 0, "Die Datei ist nicht in UTF-8 gespeichert. Bitte als „CSV UTF-8“ exportieren.")]))
        }
        return csv(text, id: id, version: version, title: title)
    }

    static func json(_ data: Data, version: Int) -> Result<Catalogue, Failure> {
        let c: Catalogue
        do { c = try JSONDecoder().decode(Catalogue.self, from: data) } catch {
            return .failure(Failure([Problem(line: 0, "Die JSON-Datei hat nicht das Katalogformat (id, version, title, source, topics mit requirements).")]))
        }
        var copy = c
        copy.version = version
        let problems = validate(copy, lines: [:])
        return problems.isEmpty ? .success(copy) : .failure(Failure(problems))
    }

    static let columns = ["thema_id", "thema", "anforderung_id", "titel", "text", "stufe", "hinweise", "nachweise"]

    static func csv(_ text: String, id: String, version: Int, title: String) -> Result<Catalogue, Failure> {
        let rows = CSV.rows(text)
        guard let header = rows.first else { return .failure(Failure([Problem(line: 0, "Die Datei ist leer.")])) }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var index: [String: Int] = [:]
        for c in columns { if let i = names.firstIndex(of: c) { index[c] = i } }
        let missing = columns.prefix(6).filter { index[$0] == nil }
        guard missing.isEmpty else {
            return .failure(Failure([Problem(line: header.line, "Es fehlen die Spalten \(missing.joined(separator: ", ")). Erwartet wird die Kopfzeile: \(columns.joined(separator: ";")).")]))
        }
        var problems: [Problem] = []
        var topics: [Topic] = []
        var lines: [String: Int] = [:]
        for row in rows.dropFirst() where !row.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            func f(_ c: String) -> String {
                guard let i = index[c], i < row.fields.count else { return "" }
                return row.fields[i].trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let levelText = f("stufe").lowercased()
            guard let level = Level(rawValue: levelText == "basic" ? "basis" : levelText) else {
                problems.append(Problem(line: row.line, "Die Stufe „\(f("stufe"))“ ist unbekannt; erlaubt sind „basis“ und „standard“."))
                continue
            }
            let r = Requirement(id: f("anforderung_id"), title: f("titel"), text: f("text"), level: level, hints: f("hinweise"), evidence: f("nachweise"))
            lines[r.id] = row.line
            let tid = f("thema_id"), ttitle = f("thema")
            if tid.isEmpty { problems.append(Problem(line: row.line, "Die Themen-Kennung (thema_id) fehlt.")); continue }
            if let i = topics.firstIndex(where: { $0.id == tid }) {
                if !ttitle.isEmpty && topics[i].title != ttitle {
                    problems.append(Problem(line: row.line, "Das Thema „\(tid)“ hat weiter oben den Titel „\(topics[i].title)“, hier „\(ttitle)“."))
                }
                topics[i].requirements.append(r)
            } else {
                topics.append(Topic(id: tid, title: ttitle, requirements: [r]))
            }
            if lines.count > maxRequirements { return .failure(Failure([Problem(line: row.line, "Mehr als \(maxRequirements) Anforderungen in einer Datei.")])) }
        }
        let c = Catalogue(id: id, version: version, title: title, source: "", topics: topics)
        problems += validate(c, lines: lines)
        return problems.isEmpty ? .success(c) : .failure(Failure(problems.sorted { $0.line < $1.line }))
    }

    /// Rules for any catalogue, whichever format it came in.
    public static func validate(_ c: Catalogue, lines: [String: Int]) -> [Problem] {
        var problems: [Problem] = []
        if c.title.trimmingCharacters(in: .whitespaces).isEmpty { problems.append(Problem(line: 0, "Der Katalog braucht einen Titel.")) }
        if c.topics.isEmpty { problems.append(Problem(line: 0, "Der Katalog enthält keine Anforderungen.")) }
        if c.requirements.count > maxRequirements { problems.append(Problem(line: 0, "Mehr als \(maxRequirements) Anforderungen in einer Datei.")) }
        var seen = Set<String>(), topicIDs = Set<String>()
        for t in c.topics {
            if t.title.trimmingCharacters(in: .whitespaces).isEmpty { problems.append(Problem(line: 0, "Das Thema „\(t.id)“ hat keinen Titel.")) }
            if !topicIDs.insert(t.id).inserted { problems.append(Problem(line: 0, "Die Themen-Kennung „\(t.id)“ kommt doppelt vor.")) }
            for r in t.requirements {
                let line = lines[r.id] ?? 0
                if !validID(r.id) {
                    problems.append(Problem(line: line, "Die Anforderungs-Kennung „\(r.id)“ ist ungültig: 1 bis 40 Zeichen, nur Buchstaben, Ziffern, Punkt und Bindestrich."))
                } else if !seen.insert(r.id).inserted {
                    problems.append(Problem(line: line, "Die Anforderungs-Kennung „\(r.id)“ kommt doppelt vor."))
                }
                if r.title.isEmpty { problems.append(Problem(line: line, "Der Titel der Anforderung „\(r.id)“ fehlt.")) }
                if r.title.count > 200 { problems.append(Problem(line: line, "Der Titel der Anforderung „\(r.id)“ ist länger als 200 Zeichen.")) }
                if r.text.isEmpty { problems.append(Problem(line: line, "Der Text der Anforderung „\(r.id)“ fehlt.")) }
                if r.text.count + r.hints.count + r.evidence.count > 5_000 { problems.append(Problem(line: line, "Die Anforderung „\(r.id)“ ist länger als 5.000 Zeichen.")) }
            }
        }
        return problems
    }

    static func validID(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 40 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }
}

/// A small RFC 4180 reader: quoted fields with "" escapes and line breaks, `;` or `,` as chosen
/// by the header line. Lines are counted as the editor shows them.
enum CSV {
    struct Row { var line: Int; var fields: [String] }

    static func rows(_ text: String) -> [Row] {
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let firstLine = body.prefix { $0 != "\n" }
        let sep: Character = firstLine.filter { $0 == ";" }.count >= firstLine.filter { $0 == "," }.count ? ";" : ","
        var rows: [Row] = [], fields: [String] = [], field = ""
        var quoted = false, line = 1, rowStart = 1
        var chars = Array(body)
        if chars.last != "\n" { chars.append("\n") }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" { field.append("\""); i += 1 } else { quoted = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.append(c)
                }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == sep {
                fields.append(field); field = ""
            } else if c == "\n" || c == "\r\n" {
                fields.append(field); field = ""
                rows.append(Row(line: rowStart, fields: fields)); fields = []
                line += 1; rowStart = line
            } else if c != "\r" {
                field.append(c)
            }
            i += 1
        }
        return rows
    }
}
