import Foundation

/// The two XDatenfelder versions Rathaus reads (FIM Baustein Datenfelder).
public enum XDFVersion: String, Codable, Sendable {
    case v2 = "2.0"
    case v3 = "3.0.0"

    public var namespace: String {
        switch self {
        case .v2: "urn:xoev-de:fim:standard:xdatenfelder_2"
        case .v3: "urn:xoev-de:fim:standard:xdatenfelder_3.0.0"
        }
    }
}

/// How often an element occurs in its parent (`anzahl` "1:1", "0:1", "0:*", "1:5").
public struct Cardinality: Codable, Sendable, Equatable {
    public var min: Int
    /// nil = unbounded ("*").
    public var max: Int?
    public init(min: Int, max: Int?) { self.min = min; self.max = max }

    public static func parse(_ s: String) -> Cardinality? {
        let p = s.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard p.count == 2, let lo = Int(p[0]), lo >= 0, lo <= 1000 else { return nil }
        if p[1] == "*" { return Cardinality(min: lo, max: nil) }
        guard let hi = Int(p[1]), hi >= lo, hi >= 1, hi <= 1000 else { return nil }
        return Cardinality(min: lo, max: hi)
    }

    public var repeats: Bool { max.map { $0 > 1 } ?? true }
    public var text: String { "\(min):\(max.map(String.init) ?? "*")" }
}

/// Constraints of a field (`praezisierung`: JSON text in 2.0, attributes in 3.0).
public struct Precision: Codable, Sendable, Equatable {
    public var minLength: Int?
    public var maxLength: Int?
    public var minValue: String?
    public var maxValue: String?
    public var pattern: String?
    public init() {}
}

public struct CodeListReference: Codable, Sendable, Equatable {
    public var id: String
    public var canonicalURI: String
    public var version: String
    public var canonicalVersionURI: String
}

public struct XDFRule: Codable, Sendable, Equatable {
    public var id: String
    public var version: String
    public var name: String
    public var definition: String
    public var script: String
    public var line: Int
    /// Id of the schema, group or field the rule belongs to.
    public var owner: String
}

public struct XDFField: Codable, Sendable, Equatable {
    public var id: String
    public var version: String
    public var name: String
    public var label: String
    public var hint: String
    /// input, select, label, hidden, locked
    public var kind: String
    /// text, text_latin, date, time, datetime, bool, num, num_int, num_currency, file, obj
    public var dataType: String
    public var precision: Precision
    public var codeList: CodeListReference?
    /// `inhalt`: the preset value, or the text of a label.
    public var content: String
    public var maxSize: Int?
    public var mediaTypes: [String]
    public var line: Int
}

public struct XDFGroup: Codable, Sendable, Equatable {
    public var id: String
    public var version: String
    public var name: String
    public var label: String
    public var hint: String
    public var children: [XDFChild]
    public var line: Int
}

public indirect enum XDFElement: Codable, Sendable, Equatable {
    case group(XDFGroup)
    case field(XDFField)

    public var id: String { switch self { case .group(let g): g.id; case .field(let f): f.id } }
    public var line: Int { switch self { case .group(let g): g.line; case .field(let f): f.line } }
}

public struct XDFChild: Codable, Sendable, Equatable {
    public var element: XDFElement
    public var cardinality: Cardinality
}

/// A Stammdatenschema (or a single Datenfeldgruppe message, which becomes a form of its own).
public struct XDFSchema: Codable, Sendable, Equatable {
    public var xdfVersion: XDFVersion
    public var id: String
    public var version: String
    public var name: String
    public var title: String
    public var hint: String
    public var legalBasis: String
    public var children: [XDFChild]
    public var rules: [XDFRule]
    /// Every code list the fields refer to, once.
    public var codeListReferences: [CodeListReference] {
        var seen = Set<String>(), out: [CodeListReference] = []
        func walk(_ cs: [XDFChild]) {
            for c in cs {
                switch c.element {
                case .group(let g): walk(g.children)
                case .field(let f): if let r = f.codeList, seen.insert(r.canonicalVersionURI.isEmpty ? r.id : r.canonicalVersionURI).inserted { out.append(r) }
                }
            }
        }
        walk(children)
        return out
    }
}

/// One line of the import report: an element of the message and what became of it.
public struct ImportFinding: Codable, Sendable, Equatable {
    public enum Severity: String, Codable, Sendable { case error = "fehler", warning = "hinweis", info = "uebernommen" }
    public var severity: Severity
    /// The element's FIM id (F…, G…, R…, C…) or its XML name where it has no id.
    public var element: String
    public var line: Int
    public var message: String
    public init(_ severity: Severity, _ element: String, line: Int, _ message: String) {
        self.severity = severity; self.element = element; self.line = line; self.message = message
    }
}

/// A message that cannot be imported at all: the findings say where and why.
public struct XDFImportError: Error, Sendable, Equatable {
    public var findings: [ImportFinding]
    public init(_ findings: [ImportFinding]) { self.findings = findings }
    public init(_ element: String, line: Int, _ message: String) { self.findings = [ImportFinding(.error, element, line: line, message)] }
    public var summary: String { findings.filter { $0.severity == .error }.prefix(5).map { "Zeile \($0.line), \($0.element): \($0.message)" }.joined(separator: " ") }
}
