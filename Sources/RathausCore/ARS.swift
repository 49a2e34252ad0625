import Foundation

/// Amtlicher Regionalschlüssel in the natural length of its level:
/// Land 2, Regierungsbezirk 3, Region 4, Kreis 5, Gemeindeverband 9, Gemeinde 12 digits
/// (Land 2 + RB 1 + Kreis 2 + Verband 4 + Gemeinde 3).
///
/// The natural length is the identity: padded to 12 digits, a kreisfreie Stadt's Kreis,
/// Verband and Gemeinde would collide (Erfurt 16051 / 160510000 / 160510000000).
public struct ARS: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public enum Level: String, Sendable, CaseIterable, Codable {
        case land, regierungsbezirk, region, kreis, gemeindeverband, gemeinde
    }

    public let value: String

    public init(_ raw: String) throws(ValidationFailure) {
        let s = raw.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else {
            throw ValidationFailure(code: "ars.empty", de: "Bitte geben Sie einen Regionalschlüssel (ARS) an.",
                                    en: "Please enter a regional key (ARS).")
        }
        guard isASCIIDigits(s) else {
            throw ValidationFailure(code: "ars.digits",
                                    de: "Ein Regionalschlüssel (ARS) darf nur Ziffern enthalten.",
                                    en: "The regional key may contain digits only.")
        }
        guard ARS.level(forLength: s.count) != nil else {
            throw ValidationFailure(code: "ars.length",
                                    de: "Ein Regionalschlüssel hat 2 (Land), 5 (Kreis), 9 (Gemeindeverband) oder 12 (Gemeinde) Stellen, nicht \(s.count).",
                                    en: "A regional key has 2 (state), 5 (district), 9 (association) or 12 (municipality) digits, not \(s.count).")
        }
        let land = Int(s.prefix(2)) ?? 0
        guard (1...16).contains(land) else {
            throw ValidationFailure(code: "ars.land",
                                    de: "Der Regionalschlüssel beginnt mit dem Landesschlüssel 01 bis 16, nicht \(s.prefix(2)).",
                                    en: "The regional key must start with a state code 01 to 16.")
        }
        value = s
    }

    /// Builds the key from its parts as GV100AD lists them.
    public init(land: String, rb: String? = nil, kreis: String? = nil, verband: String? = nil, gemeinde: String? = nil) throws(ValidationFailure) {
        var s = land
        if let rb { s += rb }
        if let kreis { s += kreis }
        if let verband { s += verband }
        if let gemeinde { s += gemeinde }
        try self.init(s)
    }

    static func level(forLength n: Int) -> Level? {
        switch n {
        case 2: .land
        case 3: .regierungsbezirk
        case 4: .region
        case 5: .kreis
        case 9: .gemeindeverband
        case 12: .gemeinde
        default: nil
        }
    }

    public var level: Level { ARS.level(forLength: value.count) ?? .gemeinde }
    public var landCode: String { String(value.prefix(2)) }
    /// The five-digit Kreis part, when the key reaches that deep.
    public var kreisKey: String? { value.count >= 5 ? String(value.prefix(5)) : nil }
    public var verbandKey: String? { value.count >= 9 ? String(value.prefix(9)) : nil }
    public var padded12: String { value + String(repeating: "0", count: 12 - value.count) }

    /// The Amtlicher Gemeindeschlüssel that belongs to this key:
    /// AGS = ARS[0..<5] + ARS[9..<12] for a Gemeinde, the key itself for Land and Kreis,
    /// none for a Gemeindeverband (GV100AD gives associations no AGS).
    public var ags: AGS? {
        switch level {
        case .land, .kreis: return try? AGS(value)
        case .gemeinde: return try? AGS(String(value.prefix(5)) + String(value.suffix(3)))
        default: return nil
        }
    }

    /// Keys of the enclosing units, nearest first (Gemeinde → Verband → Kreis → Land).
    public var ancestors: [ARS] {
        [9, 5, 3, 2].compactMap { n in
            guard n < value.count else { return nil }
            if n == 3 { return nil } // the Regierungsbezirk is not a body of its own in most Länder
            return try? ARS(String(value.prefix(n)))
        }
    }

    public var description: String { value }
    public static func < (a: ARS, b: ARS) -> Bool { a.value < b.value }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        try self.init(s)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

/// Amtlicher Gemeindeschlüssel: 8 digits for a Gemeinde (Land 2 + RB 1 + Kreis 2 + Gemeinde 3),
/// 5 for a Kreis, 2 for a Land.
public struct AGS: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let value: String

    public init(_ raw: String) throws(ValidationFailure) {
        let s = raw.trimmingCharacters(in: .whitespaces)
        guard isASCIIDigits(s) else {
            throw ValidationFailure(code: "ags.digits", de: "Der Gemeindeschlüssel (AGS) darf nur Ziffern enthalten.",
                                    en: "The municipality key (AGS) may contain digits only.")
        }
        guard [2, 5, 8].contains(s.count) else {
            throw ValidationFailure(code: "ags.length",
                                    de: "Ein Gemeindeschlüssel (AGS) hat 8 Stellen (Kreis 5, Land 2), nicht \(s.count).",
                                    en: "A municipality key (AGS) has 8 digits (district 5, state 2), not \(s.count).")
        }
        guard let land = Int(s.prefix(2)), (1...16).contains(land) else {
            throw ValidationFailure(code: "ags.land", de: "Der Gemeindeschlüssel beginnt mit dem Landesschlüssel 01 bis 16.",
                                    en: "The municipality key must start with a state code 01 to 16.")
        }
        value = s
    }

    /// Checks that this AGS belongs to the given ARS (AGS = ARS[0..5] + ARS[9..12]).
    public func matches(_ ars: ARS) -> Bool { ars.ags == self }

    public var description: String { value }
    public static func < (a: AGS, b: AGS) -> Bool { a.value < b.value }

    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

