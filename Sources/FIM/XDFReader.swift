import Foundation
import XRechnung

/// Reads an XDatenfelder 2.0 or 3.0 message (`xdatenfelder.stammdatenschema.0102`, or
/// `xdatenfelder.datenfeldgruppe.0103` for a single group) strictly: through the platform's safe
/// XML reader (no DTD, no external entities, size and depth limits), known namespace, only the
/// elements the standard defines in each place, single-valued elements once, required elements
/// present, code values from their code lists. A message that breaks any of this is refused with
/// a finding that names the element and its line — a half-understood form is worse than none.
public enum XDFReader {
    public static let maxBytes = 5 * 1024 * 1024
    static let maxDepth = 24

    static let common: Set<String> = ["identifikation", "name", "beschreibung", "definition", "bezug", "status", "freigabestatus", "statusGesetztAm",
                                       "statusGesetztDurch", "versionshinweis", "gueltigAb", "gueltigBis", "fachlicherErsteller", "freigabedatum",
                                       "veroeffentlichungsdatum", "letzteAenderung", "stichwort", "relation", "regel"]
    static let schemaChildren = common.union(["bezeichnungEingabe", "bezeichnungAusgabe", "bezeichnung", "hilfetext", "ableitungsmodifikationenStruktur",
                                              "ableitungsmodifikationenRepraesentation", "dokumentsteckbrief", "struktur"])
    static let groupChildren = common.union(["bezeichnungEingabe", "bezeichnungAusgabe", "schemaelementart", "hilfetextEingabe", "hilfetextAusgabe", "struktur"])
    static let fieldChildren = common.union(["bezeichnungEingabe", "bezeichnungAusgabe", "schemaelementart", "hilfetextEingabe", "hilfetextAusgabe", "feldart",
                                             "datentyp", "praezisierung", "codelisteReferenz", "inhalt", "vorbefuellung", "codeKey", "nameKey", "helpKey",
                                             "maxSize", "mediaType"])
    static let ruleChildren: Set<String> = ["identifikation", "name", "bezeichnungEingabe", "beschreibung", "definition", "bezug", "status", "freigabestatus",
                                            "gueltigAb", "gueltigBis", "fachlicherErsteller", "freigabedatum", "veroeffentlichungsdatum", "letzteAenderung",
                                            "script", "skript", "freitextRegel", "typ", "stichwort"]
    /// Elements that may occur more than once in their parent.
    static let repeatable: Set<String> = ["regel", "struktur", "stichwort", "relation", "mediaType", "bezug"]

    static let fieldKinds: Set<String> = ["input", "select", "label", "hidden", "locked"]
    static let dataTypes: Set<String> = ["text", "text_latin", "date", "time", "datetime", "bool", "num", "num_int", "num_currency", "file", "obj"]
    static let v2Status: Set<String> = ["aktiv", "inaktiv", "inVorbereitung"]
    /// XDatenfelder 3 Freigabestatus: 1 in Planung … 6 fachlich freigegeben (gold), 7 inaktiv, 8 vorgesehen zum Löschen.
    static let v3Status: Set<String> = ["1", "2", "3", "4", "5", "6", "7", "8"]
    static let elementKinds: Set<String> = ["ABS", "HAR", "RNG"]

    public static func read(_ data: Data) throws(XDFImportError) -> (schema: XDFSchema, findings: [ImportFinding]) {
        let doc: ParsedXML
        do { doc = try SafeXML.parse(data, limits: XMLLimits(maxBytes: maxBytes, maxDepth: 200, maxElements: 200_000)) }
        catch {
            switch error {
            case .doctype: throw XDFImportError("DOCTYPE", line: 1, "Die Nachricht enthält eine DOCTYPE-Deklaration (DTD). XDatenfelder-Nachrichten haben keine; sie wird aus Sicherheitsgründen nicht gelesen.")
            case .malformed(let line, _): throw XDFImportError("XML", line: line, "Die Datei ist kein wohlgeformtes XML.")
            case .tooLarge: throw XDFImportError("XML", line: 0, "Die Datei ist größer als \(maxBytes / 1024 / 1024) MB.")
            default: throw XDFImportError("XML", line: 0, "Die Datei ist keine lesbare XML-Datei (UTF-8).")
            }
        }
        let root = doc.root
        guard let version = [XDFVersion.v2, .v3].first(where: { $0.namespace == root.namespace }) else {
            throw XDFImportError(root.name, line: root.line, "Unbekannter Namensraum „\(root.namespace.prefix(120))“. Gelesen werden XDatenfelder 2.0 (\(XDFVersion.v2.namespace)) und 3.0.0 (\(XDFVersion.v3.namespace)).")
        }
        var r = Reader(version: version)
        let schema = try r.message(root)
        return (schema, r.findings)
    }

    struct Reader {
        let version: XDFVersion
        var findings: [ImportFinding] = []

        func fail(_ e: XElement, _ message: String) -> XDFImportError { XDFImportError(e.name, line: e.line, message) }

        /// Only known children, single-valued ones once, required ones present, all in the message's namespace.
        func check(_ e: XElement, allowed: Set<String>, required: Set<String>, what: String) throws(XDFImportError) {
            var seen: [String: Int] = [:]
            for c in e.children {
                guard c.namespace == version.namespace else {
                    throw fail(c, "Das Element „\(c.name)“ in \(what) gehört nicht zum Namensraum der Nachricht.")
                }
                guard allowed.contains(c.name) else { throw fail(c, "Das Element „\(c.name)“ ist in \(what) nicht vorgesehen.") }
                seen[c.name, default: 0] += 1
                if seen[c.name]! > 1 && !XDFReader.repeatable.contains(c.name) && !(version == .v3 && c.name == "inhalt") {
                    throw fail(c, "Das Element „\(c.name)“ darf in \(what) nur einmal vorkommen.")
                }
            }
            for name in required.sorted() where seen[name] == nil {
                throw fail(e, "In \(what) fehlt das Pflichtelement „\(name)“.")
            }
        }

        func text(_ e: XElement, _ name: String) -> String {
            guard let c = e.child(name) else { return "" }
            return c.text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        }

        /// The `<code>` of a code-valued element, checked against its allowed values.
        func code(_ e: XElement, _ name: String, allowed: Set<String>?, what: String) throws(XDFImportError) -> String? {
            guard let c = e.child(name) else { return nil }
            guard c.children.count == 1, let codeEl = c.children.first, codeEl.name == "code" else {
                throw fail(c, "„\(name)“ in \(what) muss genau ein Element „code“ enthalten.")
            }
            let v = codeEl.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if let allowed, !allowed.contains(v) {
                throw fail(codeEl, "Der Wert „\(v.prefix(40))“ von „\(name)“ in \(what) ist nicht in der Codeliste (erlaubt: \(allowed.sorted().joined(separator: ", "))).")
            }
            return v
        }

        func identification(_ e: XElement, what: String) throws(XDFImportError) -> (id: String, version: String) {
            guard let ident = e.child("identifikation") else { throw fail(e, "In \(what) fehlt „identifikation“.") }
            try check(ident, allowed: ["id", "version"], required: ["id"], what: "der Identifikation von \(what)")
            let id = text(ident, "id")
            guard !id.isEmpty, id.count <= 40, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw fail(ident, "Die Kennung „\(id.prefix(40))“ von \(what) ist keine FIM-Kennung (Buchstaben und Ziffern).")
            }
            return (id, text(ident, "version"))
        }

        func status(_ e: XElement, what: String) throws(XDFImportError) {
            if version == .v2 { _ = try code(e, "status", allowed: XDFReader.v2Status, what: what) }
            else { _ = try code(e, "freigabestatus", allowed: XDFReader.v3Status, what: what) }
        }

        mutating func message(_ root: XElement) throws(XDFImportError) -> XDFSchema {
            switch root.name {
            case "xdatenfelder.stammdatenschema.0102":
                try check(root, allowed: ["header", "stammdatenschema"], required: ["header", "stammdatenschema"], what: "der Nachricht")
                guard let s = root.child("stammdatenschema") else { throw fail(root, "Stammdatenschema fehlt.") }
                return try schema(s)
            case "xdatenfelder.datenfeldgruppe.0103":
                try check(root, allowed: ["header", "datenfeldgruppe"], required: ["header", "datenfeldgruppe"], what: "der Nachricht")
                guard let g = root.child("datenfeldgruppe") else { throw fail(root, "Datenfeldgruppe fehlt.") }
                let group = try self.group(g, depth: 0)
                findings.append(ImportFinding(.info, group.id, line: g.line, "Einzelne Datenfeldgruppe: wird als eigenes Formular übernommen."))
                return XDFSchema(xdfVersion: version, id: group.id, version: group.version, name: group.name, title: group.label, hint: group.hint,
                                 legalBasis: text(g, "bezug"), children: [XDFChild(element: .group(group), cardinality: Cardinality(min: 1, max: 1))], rules: rules)
            default:
                throw fail(root, "Die Nachricht „\(root.name)“ ist kein Stammdatenschema (erwartet: xdatenfelder.stammdatenschema.0102 oder xdatenfelder.datenfeldgruppe.0103).")
            }
        }

        var rules: [XDFRule] = []

        mutating func schema(_ s: XElement) throws(XDFImportError) -> XDFSchema {
            try check(s, allowed: XDFReader.schemaChildren, required: ["identifikation", "name"], what: "dem Stammdatenschema")
            let (id, v) = try identification(s, what: "dem Stammdatenschema")
            try status(s, what: "dem Stammdatenschema \(id)")
            for r in s.children("regel") { try rule(r, owner: id) }
            var children: [XDFChild] = []
            for st in s.children("struktur") { children.append(try structure(st, depth: 1)) }
            let name = text(s, "name")
            let title = [text(s, "bezeichnungEingabe"), text(s, "bezeichnung"), name].first { !$0.isEmpty } ?? id
            return XDFSchema(xdfVersion: version, id: id, version: v, name: name, title: title, hint: text(s, "hilfetext"), legalBasis: text(s, "bezug"),
                             children: children, rules: rules)
        }

        mutating func rule(_ r: XElement, owner: String) throws(XDFImportError) {
            try check(r, allowed: XDFReader.ruleChildren, required: ["identifikation"], what: "einer Regel")
            let (id, v) = try identification(r, what: "der Regel")
            let script = [text(r, "script"), text(r, "skript")].first { !$0.isEmpty } ?? ""
            let definition = [text(r, "definition"), text(r, "freitextRegel"), text(r, "beschreibung")].first { !$0.isEmpty } ?? ""
            rules.append(XDFRule(id: id, version: v, name: text(r, "name"), definition: definition, script: script, line: r.line, owner: owner))
        }

        mutating func structure(_ st: XElement, depth: Int) throws(XDFImportError) -> XDFChild {
            try check(st, allowed: ["anzahl", "bezug", "enthaelt"], required: ["anzahl", "enthaelt"], what: "einer Struktur")
            guard let anzahl = st.child("anzahl"), let card = Cardinality.parse(anzahl.text) else {
                throw fail(st.child("anzahl") ?? st, "Die Anzahl „\(text(st, "anzahl").prefix(20))“ ist nicht im Format min:max (z. B. 1:1, 0:*).")
            }
            guard let enthaelt = st.child("enthaelt") else { throw fail(st, "„enthaelt“ fehlt.") }
            try check(enthaelt, allowed: ["datenfeld", "datenfeldgruppe"], required: [], what: "„enthaelt“")
            guard enthaelt.children.count == 1, let inner = enthaelt.children.first else {
                throw fail(enthaelt, "„enthaelt“ muss genau ein Datenfeld oder eine Datenfeldgruppe enthalten.")
            }
            if inner.name == "datenfeldgruppe" { return XDFChild(element: .group(try group(inner, depth: depth)), cardinality: card) }
            return XDFChild(element: .field(try field(inner)), cardinality: card)
        }

        mutating func group(_ g: XElement, depth: Int) throws(XDFImportError) -> XDFGroup {
            guard depth < XDFReader.maxDepth else { throw fail(g, "Die Datenfeldgruppen sind tiefer als \(XDFReader.maxDepth) Ebenen verschachtelt.") }
            try check(g, allowed: XDFReader.groupChildren, required: ["identifikation", "name"], what: "einer Datenfeldgruppe")
            let (id, v) = try identification(g, what: "der Datenfeldgruppe")
            try status(g, what: "der Datenfeldgruppe \(id)")
            _ = try code(g, "schemaelementart", allowed: XDFReader.elementKinds, what: "der Datenfeldgruppe \(id)")
            for r in g.children("regel") { try rule(r, owner: id) }
            var children: [XDFChild] = []
            for st in g.children("struktur") { children.append(try structure(st, depth: depth + 1)) }
            let name = text(g, "name")
            return XDFGroup(id: id, version: v, name: name, label: [text(g, "bezeichnungEingabe"), name].first { !$0.isEmpty } ?? id,
                            hint: text(g, "hilfetextEingabe"), children: children, line: g.line)
        }

        mutating func field(_ f: XElement) throws(XDFImportError) -> XDFField {
            try check(f, allowed: XDFReader.fieldChildren, required: ["identifikation", "name", "feldart", "datentyp"], what: "einem Datenfeld")
            let (id, v) = try identification(f, what: "dem Datenfeld")
            try status(f, what: "dem Datenfeld \(id)")
            _ = try code(f, "schemaelementart", allowed: XDFReader.elementKinds, what: "dem Datenfeld \(id)")
            let kind = try code(f, "feldart", allowed: XDFReader.fieldKinds, what: "dem Datenfeld \(id)") ?? "input"
            let type = try code(f, "datentyp", allowed: XDFReader.dataTypes, what: "dem Datenfeld \(id)") ?? "text"
            for r in f.children("regel") { try rule(r, owner: id) }
            var p = Precision()
            if let pe = f.child("praezisierung") {
                if version == .v3 || !pe.attributes.isEmpty {
                    p.minLength = pe.attribute("minLength").flatMap { Int($0) }
                    p.maxLength = pe.attribute("maxLength").flatMap { Int($0) }
                    p.minValue = pe.attribute("minValue"); p.maxValue = pe.attribute("maxValue"); p.pattern = pe.attribute("pattern")
                } else {
                    let raw = pe.text.trimmingCharacters(in: .whitespacesAndNewlines)
                    if !raw.isEmpty {
                        if let obj = (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any] {
                            func str(_ k: String) -> String? {
                                if let s = obj[k] as? String { return s.isEmpty ? nil : s }
                                if let n = obj[k] as? NSNumber { return n.stringValue }
                                return nil
                            }
                            p.minLength = str("minLength").flatMap { Int($0) }; p.maxLength = str("maxLength").flatMap { Int($0) }
                            p.minValue = str("minValue"); p.maxValue = str("maxValue"); p.pattern = str("pattern")
                        } else {
                            findings.append(ImportFinding(.warning, id, line: pe.line, "Die Präzisierung ist kein JSON-Objekt und wird nicht übernommen."))
                        }
                    }
                }
            }
            var ref: CodeListReference?
            if let cl = f.child("codelisteReferenz") {
                try check(cl, allowed: ["identifikation", "genericodeIdentification", "canonicalIdentification", "canonicalVersionUri", "version"], required: [],
                          what: "der Codelisten-Referenz von \(id)")
                let gi = cl.child("genericodeIdentification") ?? cl
                let clID = cl.child("identifikation").map { text($0, "id") } ?? ""
                let canon = text(gi, "canonicalIdentification"), ver = text(gi, "version")
                var cvu = text(gi, "canonicalVersionUri")
                if cvu.isEmpty && !canon.isEmpty && !ver.isEmpty { cvu = "\(canon)_\(ver)" }
                if !(clID.isEmpty && canon.isEmpty && cvu.isEmpty) {
                    ref = CodeListReference(id: clID, canonicalURI: canon, version: ver, canonicalVersionURI: cvu)
                }
            }
            let name = text(f, "name")
            let content = f.children("inhalt").map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }.first { !$0.isEmpty } ?? ""
            return XDFField(id: id, version: v, name: name, label: [text(f, "bezeichnungEingabe"), name].first { !$0.isEmpty } ?? id,
                            hint: text(f, "hilfetextEingabe"), kind: kind, dataType: type, precision: p, codeList: ref, content: content,
                            maxSize: Int(text(f, "maxSize")), mediaTypes: f.children("mediaType").map { $0.text.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                            line: f.line)
        }
    }
}
