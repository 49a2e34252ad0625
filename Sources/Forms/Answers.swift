import Foundation

/// One answer. JSON: a string, an array of strings (checkboxes), an object of strings (address,
/// file reference) or an array of objects (items of a repeating group).
public indirect enum AnswerValue: Codable, Sendable, Equatable {
    case text(String)
    case list([String])
    case record([String: String])
    case items([[String: AnswerValue]])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .text(s); return }
        if let l = try? c.decode([String].self) { self = .list(l); return }
        if let r = try? c.decode([String: String].self) { self = .record(r); return }
        if let i = try? c.decode([[String: AnswerValue]].self) { self = .items(i); return }
        if let n = try? c.decode(Int.self) { self = .text(String(n)); return }
        if let b = try? c.decode(Bool.self) { self = .text(b ? "ja" : "nein"); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "unsupported answer")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let s): try c.encode(s)
        case .list(let l): try c.encode(l)
        case .record(let r): try c.encode(r)
        case .items(let i): try c.encode(i)
        }
    }

    public var text: String? { if case .text(let s) = self { return s }; return nil }
    public var list: [String] { if case .list(let l) = self { return l }; if case .text(let s) = self, !s.isEmpty { return [s] }; return [] }
    public var record: [String: String] { if case .record(let r) = self { return r }; return [:] }
    public var items: [[String: AnswerValue]] { if case .items(let i) = self { return i }; return [] }

    public var isEmpty: Bool {
        switch self {
        case .text(let s): s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        case .list(let l): l.isEmpty
        case .record(let r): r.values.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty }
        case .items(let i): i.isEmpty
        }
    }
}

public typealias Answers = [String: AnswerValue]

/// Address parts of an `address` field.
public enum AddressPart: String, CaseIterable, Sendable {
    case strasse, hausnummer, plz, ort
}

/// Flat names as HTML forms send them: `name`, `anschrift.plz`, `hunde.0.rasse`, `hunde.1.anschrift.ort`.
public enum FlatAnswers {
    /// Reads the answers of `fields` from flat form values. Groups keep as many items as were sent
    /// (`<group>.count`), so an item the person added is never lost.
    public static func read(_ fields: [FieldDefinition], from flat: [String: String], lists: [String: [String]] = [:], prefix: String = "") -> Answers {
        var out: Answers = [:]
        for f in fields {
            let name = prefix + f.id
            switch f.type {
            case .group:
                let count = min(Int(flat[name + ".count"] ?? "") ?? 0, f.maxItems ?? 50, 50)
                var items: [[String: AnswerValue]] = []
                for i in 0..<count {
                    items.append(read(f.fields ?? [], from: flat, lists: lists, prefix: "\(name).\(i)."))
                }
                out[f.id] = .items(items)
            case .address:
                var r: [String: String] = [:]
                for p in AddressPart.allCases { r[p.rawValue] = (flat["\(name).\(p.rawValue)"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
                out[f.id] = .record(r)
            case .checkbox:
                out[f.id] = .list(lists[name] ?? flat[name].map { [$0] } ?? [])
            case .file, .label:
                continue  // files arrive separately and are merged by the caller; labels are never answered
            default:
                out[f.id] = .text((flat[name] ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        return out
    }
}

/// Answers addressed by flat names (`kinder.1.nachweis`): nested groups and the file fields inside
/// their items are reached the same way as top-level fields.
extension FlatAnswers {
    /// The field a flat name stands for: `G1.0.F2` is field F2 in item 0 of group G1.
    public static func field(at path: String, in fields: [FieldDefinition]) -> FieldDefinition? {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.count % 2 == 1 else { return nil }
        var level = fields
        var found: FieldDefinition?
        for (i, p) in parts.enumerated() {
            if i % 2 == 1 {
                guard let n = Int(p), n >= 0, n < 1000, found?.type == .group else { return nil }
                level = found?.fields ?? []
                continue
            }
            guard let f = level.first(where: { $0.id == p }) else { return nil }
            found = f
        }
        return found
    }

    public static func value(at path: String, in answers: Answers) -> AnswerValue? {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first else { return nil }
        if parts.count == 1 { return answers[first] }
        guard parts.count >= 3, let i = Int(parts[1]), let items = answers[first]?.items, items.indices.contains(i) else { return nil }
        return value(at: parts.dropFirst(2).joined(separator: "."), in: items[i])
    }

    /// Sets (or with nil removes) the answer at a flat name, creating group items on the way.
    public static func set(_ value: AnswerValue?, at path: String, in answers: inout Answers) {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first else { return }
        if parts.count == 1 { answers[first] = value; return }
        guard parts.count >= 3, let i = Int(parts[1]), i >= 0, i < 1000 else { return }
        var items = answers[first]?.items ?? []
        while items.count <= i { items.append([:]) }
        var item = items[i]
        set(value, at: parts.dropFirst(2).joined(separator: "."), in: &item)
        items[i] = item
        answers[first] = .items(items)
    }

    /// A form post carries no files for fields whose file was uploaded earlier: keep those, also
    /// inside the items of (nested) groups, as long as the item still exists.
    public static func carryFiles(_ fields: [FieldDefinition], from old: Answers, into new: inout Answers) {
        for f in fields {
            switch f.type {
            case .file:
                if new[f.id] == nil, let o = old[f.id] { new[f.id] = o }
            case .group:
                guard let oldItems = old[f.id]?.items, var newItems = new[f.id]?.items else { continue }
                for i in 0..<min(oldItems.count, newItems.count) {
                    var item = newItems[i]
                    carryFiles(f.fields ?? [], from: oldItems[i], into: &item)
                    newItems[i] = item
                }
                new[f.id] = .items(newItems)
            default: continue
            }
        }
    }
}
