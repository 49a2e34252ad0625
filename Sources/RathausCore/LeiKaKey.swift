import Foundation

/// Leistungsschlüssel of the federal service catalogue (LeiKa): 14 digits.
/// Accepted and produced also as URN `urn:de:fim:leika:leistung:<key>`.
public struct LeiKaKey: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public static let urnPrefix = "urn:de:fim:leika:leistung:"
    public let value: String

    public init(_ raw: String) throws(ValidationFailure) {
        var s = raw.trimmingCharacters(in: .whitespaces)
        if s.lowercased().hasPrefix(Self.urnPrefix) { s = String(s.dropFirst(Self.urnPrefix.count)) }
        guard isASCIIDigits(s), s.count == 14 else {
            throw ValidationFailure(code: "leika.format",
                                    de: "Ein LeiKa-Leistungsschlüssel hat genau 14 Ziffern, z. B. 99108001000000.",
                                    en: "A LeiKa service key has exactly 14 digits, e.g. 99108001000000.")
        }
        value = s
    }

    public var urn: String { Self.urnPrefix + value }
    public var description: String { value }
    public static func < (a: LeiKaKey, b: LeiKaKey) -> Bool { a.value < b.value }

    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}
