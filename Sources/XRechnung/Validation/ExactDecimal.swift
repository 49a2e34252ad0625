import Foundation

/// Addition, subtraction, multiplication and comparison of Foundation `Decimal`s for the values
/// invoices carry (up to 19 significant digits, exponents close together), with the result
/// Foundation gives, bit for bit — but without its variable-length arithmetic, which allocates
/// arrays on every operation: one addition was ~4,000 instructions, and the rules add, multiply
/// and compare a few dozen times per invoice (about 4 % of a validation, measured with callgrind).
///
/// Works on the value's stored form (exponent, sign, up to eight 16-bit mantissa words); the
/// form is checked once against Foundation's own results (`available`), and every case this
/// does not cover — longer mantissas, exponents far apart, a zero or NaN operand, a zero result,
/// an overflow — is handed to Foundation's operator. `ExactDecimalTests` compares both on
/// random operands.
enum ExactDecimal {
    /// A finite, non-zero decimal whose mantissa fits 64 bits.
    struct Parts {
        var negative: Bool
        var exponent: Int
        var mantissa: UInt64
    }

    // Stored form of swift-foundation's Decimal (20 bytes): byte 0 the exponent (Int8), byte 1
    // length << 4 | isNegative << 3 | isCompact << 2, bytes 2–3 reserved, bytes 4–19 the mantissa
    // as eight little-endian UInt16 words, `length` of them in use.
    @inline(__always) static func parts(_ d: Decimal) -> Parts? {
        withUnsafeBytes(of: d) { raw -> Parts? in
            let flags = raw[1]
            let length = Int(flags >> 4)
            guard length >= 1, length <= 4 else { return nil }
            var m: UInt64 = 0
            for i in 0..<length { m |= UInt64(raw[4 + 2 * i]) << (16 * i) | UInt64(raw[5 + 2 * i]) << (16 * i + 8) }
            guard m != 0 else { return nil }
            return Parts(negative: flags & 0x08 != 0, exponent: Int(Int8(bitPattern: raw[0])), mantissa: m)
        }
    }

    /// The compact decimal ±mantissa × 10^exponent (trailing zeros moved into the exponent, as
    /// Foundation leaves its results), or nil when the exponent does not fit.
    @inline(__always) static func make(negative: Bool, exponent: Int, mantissa: UInt64) -> Decimal? {
        guard mantissa != 0 else { return nil }
        var m = mantissa, e = exponent
        while e < 127, m % 10 == 0 { m /= 10; e += 1 }
        guard e >= -128, e <= 127 else { return nil }
        let length = m > 0xFFFF_FFFF_FFFF ? 4 : m > 0xFFFF_FFFF ? 3 : m > 0xFFFF ? 2 : 1
        var d = Decimal()
        withUnsafeMutableBytes(of: &d) { raw in
            raw[0] = UInt8(bitPattern: Int8(e))
            raw[1] = UInt8(length << 4) | (negative ? 0x08 : 0) | 0x04
            raw[2] = 0
            raw[3] = 0
            for i in 0..<8 {
                let word = i < 4 ? UInt16(truncatingIfNeeded: m >> (16 * i)) : 0
                raw[4 + 2 * i] = UInt8(truncatingIfNeeded: word)
                raw[5 + 2 * i] = UInt8(truncatingIfNeeded: word >> 8)
            }
        }
        return d
    }

    private static let powers: [UInt64] = (0...19).map { k in (0..<k).reduce(1) { r, _ in r * 10 } }

    /// Both mantissas on the smaller exponent, or nil when that overflows 64 bits.
    @inline(__always) private static func aligned(_ x: Parts, _ y: Parts) -> (x: UInt64, y: UInt64, exponent: Int)? {
        let e = min(x.exponent, y.exponent)
        let dx = x.exponent - e, dy = y.exponent - e
        guard dx <= 19, dy <= 19 else { return nil }
        let (sx, ox) = x.mantissa.multipliedReportingOverflow(by: powers[dx])
        let (sy, oy) = y.mantissa.multipliedReportingOverflow(by: powers[dy])
        guard !ox, !oy else { return nil }
        return (sx, sy, e)
    }

    /// Whether Foundation's stored form is the one assumed above (checked once per process on
    /// values whose form is known; if not, every operation goes to Foundation).
    static let available: Bool = {
        let samples: [(Decimal, Bool, Int, UInt64)] = [
            (Decimal(sign: .minus, exponent: -2, significand: 12345), true, -2, 12345),
            (Decimal(sign: .plus, exponent: -1, significand: 15), false, -1, 15),
            (Decimal(sign: .plus, exponent: 3, significand: Decimal(UInt64(0x1234_5678_9ABC))), false, 3, 0x1234_5678_9ABC),
        ]
        for (d, negative, exponent, mantissa) in samples {
            guard let p = parts(d), p.negative == negative, p.exponent == exponent, p.mantissa == mantissa,
                  let back = make(negative: negative, exponent: exponent, mantissa: mantissa), back == d,
                  withUnsafeBytes(of: back, { Array($0) }) == withUnsafeBytes(of: d, { Array($0) })
            else { return false }
        }
        return parts(Decimal(0)) == nil && parts(Decimal.nan) == nil
    }()

    static func add(_ a: Decimal, _ b: Decimal) -> Decimal {
        guard available, let x = parts(a), let y = parts(b) else { return a + b }
        return sum(x, y) ?? a + b
    }

    static func subtract(_ a: Decimal, _ b: Decimal) -> Decimal {
        guard available, let x = parts(a), var y = parts(b) else { return a - b }
        y.negative.toggle()
        return sum(x, y) ?? a - b
    }

    /// x + y, or nil when Foundation must do it (overflow, or a zero result: Foundation's zero
    /// keeps an exponent that depends on how it came about).
    @inline(__always) private static func sum(_ x: Parts, _ y: Parts) -> Decimal? {
        guard let s = aligned(x, y) else { return nil }
        if x.negative == y.negative {
            let (r, o) = s.x.addingReportingOverflow(s.y)
            guard !o else { return nil }
            return make(negative: x.negative, exponent: s.exponent, mantissa: r)
        }
        if s.x == s.y { return nil }
        return s.x > s.y ? make(negative: x.negative, exponent: s.exponent, mantissa: s.x - s.y)
                         : make(negative: y.negative, exponent: s.exponent, mantissa: s.y - s.x)
    }

    static func multiply(_ a: Decimal, _ b: Decimal) -> Decimal {
        guard available, let x = parts(a), let y = parts(b) else { return a * b }
        let (m, o) = x.mantissa.multipliedReportingOverflow(by: y.mantissa)
        guard !o else { return a * b }
        return make(negative: x.negative != y.negative, exponent: x.exponent + y.exponent, mantissa: m) ?? a * b
    }

    /// |a|
    static func magnitude(_ a: Decimal) -> Decimal {
        guard available, let x = parts(a) else { return abs(a) }
        guard x.negative else { return a }
        return make(negative: false, exponent: x.exponent, mantissa: x.mantissa) ?? abs(a)
    }

    /// |a − b| > slack, tested as a > b + slack or a < b − slack: the equal amounts of a correct
    /// invoice then need no zero difference (which Foundation alone represents).
    static func differ(_ a: Decimal, _ b: Decimal, byMoreThan slack: Decimal) -> Bool {
        less(add(b, slack), a) || less(a, subtract(b, slack))
    }

    /// a < b (zeros and far-apart exponents go to Foundation).
    static func less(_ a: Decimal, _ b: Decimal) -> Bool {
        guard available, let x = parts(a), let y = parts(b) else { return a < b }
        if x.negative != y.negative { return x.negative }
        guard let s = aligned(x, y) else { return a < b }
        return x.negative ? s.x > s.y : s.x < s.y
    }

    static func equal(_ a: Decimal, _ b: Decimal) -> Bool {
        guard available, let x = parts(a), let y = parts(b) else { return a == b }
        guard x.negative == y.negative, let s = aligned(x, y) else { return a == b }
        return s.x == s.y
    }
}
