import Foundation

/// Leitweg-ID of a public buyer, used to route XRechnung invoices (KoSIT "Format-
/// spezifikation Leitweg-ID" 2.0.x): `Grobadressierung-Feinadressierung-Prüfziffer`.
///
/// - Grobadressierung: 2 to 12 digits (starts with a Land code 01–16 or 99 for the Bund).
/// - Feinadressierung: optional, up to 30 characters `[A-Z0-9]`.
/// - Prüfziffer: two digits, ISO/IEC 7064 MOD 97-10 over Grob + Fein (letters A=10 … Z=35).
public struct LeitwegID: Hashable, Sendable, CustomStringConvertible, Codable {
    public let grob: String
    public let fein: String?
    public let pruefziffer: String

    public init(_ raw: String) throws(ValidationFailure) {
        let s = raw.trimmingCharacters(in: .whitespaces).uppercased()
        let parts = s.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw Self.failure("leitweg.format",
                               "Eine Leitweg-ID hat die Form Grobadressierung-Feinadressierung-Prüfziffer, z. B. 04011000-1234512345-06.",
                               "A Leitweg-ID has the form coarse-fine-check, e.g. 04011000-1234512345-06.")
        }
        let grob = parts[0]
        let fein: String? = parts.count == 3 ? parts[1] : nil
        let check = parts[parts.count - 1]
        guard isASCIIDigits(grob), (2...12).contains(grob.count) else {
            throw Self.failure("leitweg.grob", "Die Grobadressierung muss aus 2 bis 12 Ziffern bestehen.",
                               "The coarse address must consist of 2 to 12 digits.")
        }
        if let fein {
            guard !fein.isEmpty, fein.count <= 30,
                  fein.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) else {
                throw Self.failure("leitweg.fein", "Die Feinadressierung darf höchstens 30 Buchstaben (A–Z) oder Ziffern enthalten.",
                                   "The fine address may contain at most 30 letters (A–Z) or digits.")
            }
        }
        guard isASCIIDigits(check), check.count == 2 else {
            throw Self.failure("leitweg.pruefziffer.format", "Die Prüfziffer am Ende der Leitweg-ID besteht aus zwei Ziffern.",
                               "The check digits at the end of the Leitweg-ID are two digits.")
        }
        let expected = Self.checkDigits(grob + (fein ?? ""))
        guard expected == check else {
            throw Self.failure("leitweg.pruefziffer", "Die Prüfziffer der Leitweg-ID stimmt nicht (erwartet \(expected), angegeben \(check)). Bitte prüfen Sie die Angabe auf Tippfehler.",
                               "The check digits of the Leitweg-ID are wrong (expected \(expected), given \(check)).")
        }
        self.grob = grob
        self.fein = fein
        self.pruefziffer = check
    }

    /// Builds a Leitweg-ID with correct check digits.
    public static func make(grob: String, fein: String?) throws(ValidationFailure) -> LeitwegID {
        let body = grob + (fein.map { "-" + $0.uppercased() } ?? "")
        let check = checkDigits(grob + (fein?.uppercased() ?? ""))
        return try LeitwegID(body + "-" + check)
    }

    /// ISO/IEC 7064 MOD 97-10: the check digits c make `(value * 100 + c) mod 97 == 1`.
    public static func checkDigits(_ body: String) -> String {
        var remainder = 0
        for ch in body.unicodeScalars {
            let v: Int
            switch ch.value {
            case 0x30...0x39: v = Int(ch.value - 0x30)
            case 0x41...0x5A: v = Int(ch.value - 0x41 + 10)
            default: v = 0
            }
            // letters count as two digits, as in IBAN
            remainder = v >= 10 ? (remainder * 100 + v) % 97 : (remainder * 10 + v) % 97
        }
        let c = 98 - (remainder * 100) % 97
        return c < 10 ? "0\(c)" : "\(c)"
    }

    public var description: String {
        [grob, fein, pruefziffer].compactMap { $0 }.joined(separator: "-")
    }

    private static func failure(_ code: String, _ de: String, _ en: String) -> ValidationFailure {
        ValidationFailure(code: code, de: de, en: en)
    }

    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
