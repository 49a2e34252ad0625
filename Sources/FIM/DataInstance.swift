import Forms
import Foundation
import XRechnung

/// A submission of an imported FIM form as a data instance of its schema. Convention (Rathaus,
/// documented in the README): the root element is the schema's id, every group and field is an
/// element named by its FIM id without version, in the order of the schema; a group or field that
/// may occur more than once is repeated; values are written as XDatenfelder data types expect them
/// (dates `JJJJ-MM-TT`, `true`/`false`, decimals with a point, the code of a code-list value);
/// a file is an empty element with its name, media type and size as attributes. The JSON form has
/// the same structure: objects named by id, arrays where an element may repeat.
public enum FIMDataInstance {
    public static let namespace = "urn:rathaus:fim:dateninstanz"

    public static func xml(_ service: ServiceDefinition, answers: Answers) -> String? {
        guard let fim = service.fim else { return nil }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<\(fim.schemaID) xmlns=\"\(namespace)\" schemaVersion=\"\(esc(fim.version))\" xdatenfelderVersion=\"\(esc(fim.xdfVersion))\">\n"
        for step in service.form.steps {
            let group = fim.stepGroups[step.id] ?? ""
            if group.isEmpty {
                for f in step.fields { element(f, answers, level: 1, into: &out) }
            } else {
                out += "  <\(group)>\n"
                for f in step.fields { element(f, answers, level: 2, into: &out) }
                out += "  </\(group)>\n"
            }
        }
        out += "</\(fim.schemaID)>\n"
        return out
    }

    public static func json(_ service: ServiceDefinition, answers: Answers) -> Data? {
        guard let fim = service.fim else { return nil }
        var data: [String: Any] = [:]
        for step in service.form.steps {
            let group = fim.stepGroups[step.id] ?? ""
            var target: [String: Any] = [:]
            for f in step.fields { if let v = value(f, answers) { target[FIMOrigin.fimID(f.id)] = v } }
            if group.isEmpty { data.merge(target) { a, _ in a } } else { data[group] = target }
        }
        let doc: [String: Any] = ["schema": fim.schemaID, "schemaVersion": fim.version, "xdatenfelderVersion": fim.xdfVersion, "daten": data]
        return try? JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    }

    /// The answers of a data instance written by `xml(_:answers:)` — by this installation or by
    /// another Rathaus sending the same FIM schema through FIT-Connect —, so a received
    /// submission shows with the schema's labels. Same-named siblings are read in order (the
    /// `__2` keys of a repeated id), a repeating group takes at most its `maxItems`. Unknown
    /// elements are ignored (the XML itself is kept with the case).
    public static func answers(xml data: Data, service: ServiceDefinition) throws(DataInstanceError) -> Answers {
        guard let fim = service.fim else { throw .notFIM }
        let doc: ParsedXML
        do { doc = try SafeXML.parse(data, limits: XMLLimits(maxBytes: 8 << 20, maxDepth: 64, maxElements: 100_000)) } catch {
            throw .unreadable(error.messageDE)
        }
        guard doc.root.name == fim.schemaID, doc.root.namespace == namespace else {
            throw .otherSchema(String(doc.root.name.prefix(60)))
        }
        var answers: Answers = [:]
        var top = Cursor(element: doc.root)
        for step in service.form.steps {
            let group = fim.stepGroups[step.id] ?? ""
            if group.isEmpty {
                answers.merge(read(step.fields, &top)) { a, _ in a }
            } else if let el = top.next(group) {
                var c = Cursor(element: el)
                answers.merge(read(step.fields, &c)) { a, _ in a }
            }
        }
        return answers
    }

    public enum DataInstanceError: Error, Equatable, CustomStringConvertible {
        case notFIM, unreadable(String), otherSchema(String)
        public var description: String {
            switch self {
            case .notFIM: "Der Onlinedienst stammt nicht aus einem FIM-Schema."
            case .unreadable(let why): "Die Fachdaten sind kein lesbares XML: \(why)"
            case .otherSchema(let root): "Die Fachdaten gehören zu einem anderen Schema (Wurzelelement \(root))."
            }
        }
    }

    /// Children of one element taken in document order, per name.
    struct Cursor {
        let element: XElement
        var used: [String: Int] = [:]
        mutating func next(_ name: String) -> XElement? {
            let all = Array(element.children(name))
            let i = used[name, default: 0]
            guard i < all.count else { return nil }
            used[name] = i + 1
            return all[i]
        }
    }

    static func read(_ fields: [FieldDefinition], _ c: inout Cursor) -> Answers {
        var out: Answers = [:]
        for f in fields where f.type != .label {
            let name = FIMOrigin.fimID(f.id)
            if f.type == .group {
                var items: [[String: AnswerValue]] = []
                while items.count < (f.maxItems ?? 50), let el = c.next(name) {
                    if isWrapper(f), let inner = f.fields?.first {
                        if let v = value(inner, el) { items.append([inner.id: v]) }
                    } else {
                        var sub = Cursor(element: el)
                        items.append(read(f.fields ?? [], &sub))
                    }
                }
                if !items.isEmpty { out[f.id] = .items(items) }
            } else if let el = c.next(name), let v = value(f, el) {
                out[f.id] = v
            }
        }
        return out
    }

    static func value(_ f: FieldDefinition, _ el: XElement) -> AnswerValue? {
        switch f.type {
        case .group:
            var sub = Cursor(element: el)
            return .items([read(f.fields ?? [], &sub)])
        case .file:
            guard let n = el.attribute("dateiname"), !n.isEmpty else { return nil }
            let kind = FileKind.allCases.first { $0.mediaType == el.attribute("medientyp") }
            return .record(["name": String(n.prefix(200)), "kind": kind?.rawValue ?? "", "size": el.attribute("groesse") ?? ""])
        case .address:
            var r: [String: String] = [:]
            for p in AddressPart.allCases { r[p.rawValue] = String((el.child(p.rawValue)?.text ?? "").prefix(200)) }
            return .record(r)
        case .yesno:
            return el.text == "true" ? .text("ja") : el.text == "false" ? .text("nein") : nil
        case .checkbox:
            let l = el.text.split(separator: " ").map(String.init)
            return l.isEmpty ? nil : .list(l)
        case .label:
            return nil
        default:
            return el.text.isEmpty ? nil : .text(String(el.text.prefix(20_000)))
        }
    }

    static func isWrapper(_ f: FieldDefinition) -> Bool {
        f.type == .group && f.fields?.count == 1 && f.fields?.first?.id == FIMOrigin.fimID(f.id)
    }

    static func scalar(_ f: FieldDefinition, _ v: AnswerValue) -> String? {
        switch f.type {
        case .yesno: return v.text == "ja" ? "true" : v.text == "nein" ? "false" : nil
        case .checkbox: return v.list.joined(separator: " ")
        case .label, .group, .file, .address: return nil
        default:
            guard let t = v.text, !t.isEmpty else { return nil }
            return t
        }
    }

    static func element(_ f: FieldDefinition, _ answers: [String: AnswerValue], level: Int, into out: inout String) {
        guard f.type != .label, let v = answers[f.id] else { return }
        let name = FIMOrigin.fimID(f.id)
        let pad = String(repeating: "  ", count: level)
        switch f.type {
        case .group:
            for item in v.items {
                if isWrapper(f), let inner = f.fields?.first {
                    element(inner, item, level: level, into: &out)
                } else {
                    out += "\(pad)<\(name)>\n"
                    for sub in f.fields ?? [] { element(sub, item, level: level + 1, into: &out) }
                    out += "\(pad)</\(name)>\n"
                }
            }
        case .file:
            let r = v.record
            guard !(r["name"] ?? "").isEmpty else { return }
            let media = FileKind(rawValue: r["kind"] ?? "")?.mediaType ?? "application/octet-stream"
            out += "\(pad)<\(name) dateiname=\"\(esc(r["name"] ?? ""))\" medientyp=\"\(media)\" groesse=\"\(esc(r["size"] ?? ""))\"/>\n"
        case .address:
            let r = v.record
            out += "\(pad)<\(name)>"
            for p in AddressPart.allCases { out += "<\(p.rawValue)>\(esc(r[p.rawValue] ?? ""))</\(p.rawValue)>" }
            out += "</\(name)>\n"
        default:
            guard let s = scalar(f, v) else { return }
            out += "\(pad)<\(name)>\(esc(s))</\(name)>\n"
        }
    }

    static func value(_ f: FieldDefinition, _ answers: [String: AnswerValue]) -> Any? {
        guard f.type != .label, let v = answers[f.id] else { return nil }
        switch f.type {
        case .group:
            if isWrapper(f), let inner = f.fields?.first {
                return v.items.compactMap { value(inner, $0) }
            }
            let items: [[String: Any]] = v.items.map { item in
                var o: [String: Any] = [:]
                for sub in f.fields ?? [] { if let x = value(sub, item) { o[FIMOrigin.fimID(sub.id)] = x } }
                return o
            }
            if (f.maxItems ?? 50) <= 1 { return items.first }
            return items
        case .file:
            let r = v.record
            guard !(r["name"] ?? "").isEmpty else { return nil }
            return ["dateiname": r["name"] ?? "", "medientyp": FileKind(rawValue: r["kind"] ?? "")?.mediaType ?? "application/octet-stream", "groesse": Int(r["size"] ?? "") ?? 0] as [String: Any]
        case .address:
            return v.record
        case .yesno:
            return v.text == "ja" ? true : v.text == "nein" ? false : nil
        default:
            return scalar(f, v)
        }
    }

    static func esc(_ s: String) -> String {
        var o = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default:
                // characters XML 1.0 does not allow are dropped, not escaped
                if c.value < 0x20 && c != "\n" && c != "\t" && c != "\r" { continue }
                o.unicodeScalars.append(c)
            }
        }
        return o
    }
}
