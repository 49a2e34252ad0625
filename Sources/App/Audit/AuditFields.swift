import Foundation

/// Before/after of a changed record as labelled fields, so the audit trail can show what changed
/// field by field instead of two long strings. Stored as a JSON array of [label, value] pairs
/// (order kept); the hash chain covers it like any other text.
enum AuditFields {
    static func encode(_ fields: [(String, String)]) -> String {
        let pairs = fields.map { [$0.0, $0.1] }
        guard let data = try? JSONSerialization.data(withJSONObject: pairs, options: [.withoutEscapingSlashes]),
              let text = String(data: data, encoding: .utf8) else { return fields.map { "\($0.0): \($0.1)" }.joined(separator: "; ") }
        return text
    }

    static func decode(_ text: String?) -> [(String, String)]? {
        guard let text, text.hasPrefix("[["), let data = text.data(using: .utf8),
              let array = try? JSONSerialization.jsonObject(with: data) as? [[String]],
              array.allSatisfy({ $0.count == 2 }) else { return nil }
        return array.map { ($0[0], $0[1]) }
    }

    struct Change: Encodable, Equatable { var field: String; var before: String; var after: String }

    /// The fields whose value differs (a field missing on one side counts as empty there);
    /// nil when either side is not a field list.
    static func changes(before: String?, after: String?) -> [Change]? {
        let b = decode(before), a = decode(after)
        if b == nil && a == nil { return nil }
        if (before != nil && b == nil) || (after != nil && a == nil) { return nil }
        var order: [String] = []
        for (k, _) in (b ?? []) + (a ?? []) where !order.contains(k) { order.append(k) }
        let bm = Dictionary((b ?? []).map { ($0.0, $0.1) }, uniquingKeysWith: { x, _ in x })
        let am = Dictionary((a ?? []).map { ($0.0, $0.1) }, uniquingKeysWith: { x, _ in x })
        return order.compactMap { k in
            let x = bm[k] ?? "", y = am[k] ?? ""
            return x == y ? nil : Change(field: k, before: x, after: y)
        }
    }
}
