import Foundation

/// An amount of money in integer cents (EUR). Never a floating point number:
/// fees, shares and payments must add up to the cent.
public struct Money: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let cents: Int64
    public let currency: String

    public init(cents: Int64, currency: String = "EUR") {
        self.cents = cents
        self.currency = currency
    }

    public static let zero = Money(cents: 0)

    /// Parses what people type: `1234`, `1234,5`, `1.234,56`, `1234.56`, `12,00 €`.
    /// A single separator followed by exactly three digits is read as a thousands separator
    /// only when it is a dot (`1.234` = 1234 €); a comma is always the decimal separator.
    public init(parsing raw: String, currency: String = "EUR") throws(ValidationFailure) {
        var s = raw.replacingOccurrences(of: "€", with: "").replacingOccurrences(of: "EUR", with: "")
        s = s.filter { $0 != " " && $0 != "\u{00A0}" }
        let bad = ValidationFailure(code: "money.format",
                                    de: "Bitte geben Sie einen Betrag in Euro an, z. B. 1.234,56.",
                                    en: "Please enter an amount in euros, e.g. 1,234.56.")
        guard !s.isEmpty else { throw bad }
        var negative = false
        if s.hasPrefix("-") { negative = true; s.removeFirst() }
        var euros = s
        var fraction = ""
        if let comma = s.lastIndex(of: ",") {
            euros = String(s[..<comma]).replacingOccurrences(of: ".", with: "")
            fraction = String(s[s.index(after: comma)...])
        } else if let dot = s.lastIndex(of: ".") {
            let after = s[s.index(after: dot)...]
            if after.count == 3 || s.filter({ $0 == "." }).count > 1 {
                euros = s.replacingOccurrences(of: ".", with: "")
            } else {
                euros = String(s[..<dot])
                fraction = String(after)
            }
        }
        guard isASCIIDigits(euros), fraction.isEmpty || isASCIIDigits(fraction), fraction.count <= 2,
              euros.count <= 15 else { throw bad }
        if fraction.count == 1 { fraction += "0" }
        guard let e = Int64(euros), let f = fraction.isEmpty ? 0 : Int64(fraction) else { throw bad }
        let total = e * 100 + f
        self.init(cents: negative ? -total : total, currency: currency)
    }

    public static func + (a: Money, b: Money) -> Money { Money(cents: a.cents + b.cents, currency: a.currency) }
    public static func - (a: Money, b: Money) -> Money { Money(cents: a.cents - b.cents, currency: a.currency) }
    public static func * (a: Money, n: Int64) -> Money { Money(cents: a.cents * n, currency: a.currency) }
    public static func < (a: Money, b: Money) -> Bool { a.cents < b.cents }

    /// German notation: `1.234,56 €`.
    /// In the language of the page being rendered: "1.234,56 €" or "€1,234.56".
    public var formatted: String { DisplayLanguage.english ? formattedEN : formattedDE }

    /// "€1,234.56".
    public var formattedEN: String {
        let negative = cents < 0
        let absCents = cents.magnitude
        var grouped = ""
        for (i, ch) in String(absCents / 100).reversed().enumerated() {
            if i > 0 && i % 3 == 0 { grouped.append(",") }
            grouped.append(ch)
        }
        let rest = absCents % 100
        return (negative ? "-" : "") + "€" + String(grouped.reversed()) + "." + (rest < 10 ? "0\(rest)" : "\(rest)")
    }

    public var formattedDE: String {
        let negative = cents < 0
        let absCents = cents.magnitude
        let euros = String(absCents / 100)
        let rest = absCents % 100
        var grouped = ""
        for (i, ch) in euros.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { grouped.append(".") }
            grouped.append(ch)
        }
        let e = String(grouped.reversed())
        let c = rest < 10 ? "0\(rest)" : "\(rest)"
        return (negative ? "-" : "") + "\(e),\(c) €"
    }

    /// Plain decimal notation for machine formats: `1234.56`.
    public var decimalString: String {
        let absCents = cents.magnitude
        let rest = absCents % 100
        return (cents < 0 ? "-" : "") + "\(absCents / 100).\(rest < 10 ? "0" : "")\(rest)"
    }

    public var description: String { formattedDE }
}

