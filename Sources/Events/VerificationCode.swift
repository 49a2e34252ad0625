import Foundation

/// The short code printed on a certificate and encoded in its QR code: eight random characters
/// (40 bits) from 32 symbols without the look-alikes 0/O and 1/I, then one check character
/// (Damm's method over the field GF(32)), which catches every single wrong character and every
/// swap of two neighbours. Luhn mod 32 was tried first and misses the swap of the first and
/// last symbol ("2Z" ↔ "Z2"), as Luhn misses "09" ↔ "90"; the test found it.
/// Shown as `ABCD-EFGH-J`; reading ignores case, spaces and dashes.
public struct VerificationCode: Sendable, Hashable, CustomStringConvertible {
    /// Digits 2–9 and the 24 letters without I and O.
    public static let symbols: [Character] = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")

    /// The nine characters without separators.
    public let value: String

    public var description: String {
        let c = Array(value)
        return String(c[0..<4]) + "-" + String(c[4..<8]) + "-" + String(c[8])
    }

    public enum CodeError: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed, checkFailed
        public var description: String {
            switch self {
            case .malformed: "Der Nachweiscode hat die Form ABCD-EFGH-J: neun Zeichen aus den Ziffern 2 bis 9 und Buchstaben (ohne I und O)."
            case .checkFailed: "Der Nachweiscode ist nicht gültig. Bitte prüfen Sie die Eingabe Zeichen für Zeichen."
            }
        }
    }

    public static func generate<G: RandomNumberGenerator>(using rng: inout G) -> VerificationCode {
        var body = ""
        for _ in 0..<8 { body.append(symbols[Int.random(in: 0..<symbols.count, using: &rng)]) }
        return VerificationCode(unchecked: body + String(checkCharacter(body)))
    }

    public static func generate() -> VerificationCode {
        var rng = SystemRandomNumberGenerator()
        return generate(using: &rng)
    }

    init(unchecked: String) { value = unchecked }

    /// Parses what a person typed or a QR code carried.
    public init(_ input: String) throws(CodeError) {
        let s = String(input.uppercased().filter { $0 != "-" && $0 != " " })
        guard s.count == 9, s.allSatisfy({ Self.symbols.contains($0) }) else { throw .malformed }
        guard Self.checkCharacter(String(s.prefix(8))) == s.last else { throw .checkFailed }
        value = s
    }

    /// Damm's check with the quasigroup x ∘ y = 2·x + y in GF(2⁵): it is totally anti-symmetric
    /// because 2 ≠ 1, so (c∘x)∘y = (c∘y)∘x only when x = y. The check character brings the
    /// interim value to 0 (in characteristic 2, −v = v).
    static func checkCharacter(_ body: String) -> Character {
        symbols[Int(interim(body))]
    }

    static func interim(_ s: String) -> UInt8 {
        var v: UInt8 = 0
        for ch in s { v = times2(v) ^ UInt8(symbols.firstIndex(of: ch) ?? 0) }
        return times2(v)
    }

    /// Multiplication by x in GF(2⁵) modulo x⁵ + x² + 1.
    static func times2(_ v: UInt8) -> UInt8 {
        let shifted = v << 1
        return shifted & 0x20 != 0 ? (shifted ^ 0x25) : shifted
    }
}
