import Foundation

/// How a service's fee is computed, always in integer cents:
/// - `keine`: no fee
/// - `fest`: `cents`
/// - `pro_eintrag`: `base` + `cents` × number of items of the repeating group `group`
/// - `formel`: a small formula over form fields, e.g. `max(2500, flaeche * tage * 50)`:
///   integers and decimal fields, + − × ÷, parentheses, `anzahl(gruppe)`, `ja(feld)` (1 or 0),
///   `min(a, b)`, `max(a, b)`; the result is rounded to whole cents (half up).
public struct FeeRule: Codable, Sendable, Hashable {
    public var kind: String
    public var cents: Int?
    public var base: Int?
    public var group: String?
    public var formula: String?

    public init(kind: String, cents: Int? = nil, base: Int? = nil, group: String? = nil, formula: String? = nil) {
        self.kind = kind; self.cents = cents; self.base = base; self.group = group; self.formula = formula
    }

    public static let none = FeeRule(kind: "keine")
    public static func fixed(_ cents: Int) -> FeeRule { FeeRule(kind: "fest", cents: cents) }

    public struct Failure: Error, Equatable, Sendable { public let de: String }

    /// The fee for these (normalised) answers in cents.
    public func cents(for answers: Answers) throws -> Int {
        switch kind {
        case "keine": return 0
        case "fest": return cents ?? 0
        case "pro_eintrag":
            let n = group.map { answers[$0]?.items.count ?? 0 } ?? 0
            return (base ?? 0) + (cents ?? 0) * n
        case "formel":
            var p = FormulaParser(Array((formula ?? "").utf8), answers: answers)
            let v = try p.parse()
            var x = v, r = Decimal()
            NSDecimalRound(&r, &x, 0, .plain)
            guard r >= 0 else { throw Failure(de: "Die Gebühr wäre negativ; bitte prüfen Sie Ihre Angaben.") }
            return NSDecimalNumber(decimal: r).intValue
        default:
            throw Failure(de: "Unbekannte Gebührenart „\(kind)“.")
        }
    }

    /// Checks a formula once when a service is published, so a typo never reaches an applicant.
    public func validateDefinition(fields: Set<String>) -> String? {
        guard kind == "formel" else { return ["keine", "fest", "pro_eintrag"].contains(kind) ? nil : "Unbekannte Gebührenart „\(kind)“." }
        var p = FormulaParser(Array((formula ?? "").utf8), answers: [:], known: fields)
        do { _ = try p.parse(); return nil } catch let f as Failure { return f.de } catch { return "\(error)" }
    }
}

/// Recursive-descent parser and evaluator of fee formulas.
struct FormulaParser {
    let s: [UInt8]
    var i = 0
    let answers: Answers
    /// When set, identifiers are only checked against this set (definition check, values are 0).
    let known: Set<String>?
    var depth = 0

    init(_ s: [UInt8], answers: Answers, known: Set<String>? = nil) {
        self.s = s; self.answers = answers; self.known = known
    }

    mutating func parse() throws -> Decimal {
        guard s.count <= 500 else { throw FeeRule.Failure(de: "Die Gebührenformel ist zu lang.") }
        let v = try expr()
        skip()
        guard i == s.count else { throw FeeRule.Failure(de: "Die Gebührenformel ist an Stelle \(i + 1) fehlerhaft.") }
        return v
    }

    mutating func skip() { while i < s.count, s[i] == 0x20 { i += 1 } }

    mutating func expr() throws -> Decimal {
        var v = try term()
        while true {
            skip()
            guard i < s.count, s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") else { return v }
            let op = s[i]; i += 1
            let r = try term()
            v = op == UInt8(ascii: "+") ? v + r : v - r
        }
    }

    mutating func term() throws -> Decimal {
        var v = try factor()
        while true {
            skip()
            guard i < s.count, s[i] == UInt8(ascii: "*") || s[i] == UInt8(ascii: "/") else { return v }
            let op = s[i]; i += 1
            let r = try factor()
            if op == UInt8(ascii: "*") { v *= r } else {
                guard r != 0 else {
                    if known != nil { continue }
                    throw FeeRule.Failure(de: "Die Gebühr kann nicht berechnet werden (Division durch null); bitte prüfen Sie Ihre Angaben.")
                }
                v /= r
            }
        }
    }

    mutating func factor() throws -> Decimal {
        depth += 1
        defer { depth -= 1 }
        guard depth < 32 else { throw FeeRule.Failure(de: "Die Gebührenformel ist zu tief verschachtelt.") }
        skip()
        guard i < s.count else { throw FeeRule.Failure(de: "Die Gebührenformel endet unerwartet.") }
        let c = s[i]
        if c == UInt8(ascii: "-") { i += 1; return -(try factor()) }
        if c == UInt8(ascii: "(") {
            i += 1
            let v = try expr()
            skip()
            guard i < s.count, s[i] == UInt8(ascii: ")") else { throw FeeRule.Failure(de: "In der Gebührenformel fehlt eine schließende Klammer.") }
            i += 1
            return v
        }
        if c >= 0x30 && c <= 0x39 {
            let start = i
            while i < s.count, (s[i] >= 0x30 && s[i] <= 0x39) || s[i] == UInt8(ascii: ".") { i += 1 }
            return Decimal(string: String(decoding: s[start..<i], as: UTF8.self), locale: Locale(identifier: "en_US_POSIX")) ?? 0
        }
        let start = i
        while i < s.count, (s[i] >= 0x61 && s[i] <= 0x7A) || (s[i] >= 0x30 && s[i] <= 0x39) || s[i] == UInt8(ascii: "_") { i += 1 }
        guard i > start else { throw FeeRule.Failure(de: "Die Gebührenformel enthält ein unerwartetes Zeichen an Stelle \(i + 1).") }
        let name = String(decoding: s[start..<i], as: UTF8.self)
        skip()
        if i < s.count, s[i] == UInt8(ascii: "(") {
            i += 1
            var args: [String] = []
            var values: [Decimal] = []
            if name == "anzahl" || name == "ja" {
                skip()
                let a = i
                while i < s.count, (s[i] >= 0x61 && s[i] <= 0x7A) || (s[i] >= 0x30 && s[i] <= 0x39) || s[i] == UInt8(ascii: "_") { i += 1 }
                args.append(String(decoding: s[a..<i], as: UTF8.self))
            } else {
                values.append(try expr())
                skip()
                while i < s.count, s[i] == UInt8(ascii: ",") { i += 1; values.append(try expr()); skip() }
            }
            skip()
            guard i < s.count, s[i] == UInt8(ascii: ")") else { throw FeeRule.Failure(de: "In der Gebührenformel fehlt nach „\(name)(“ eine schließende Klammer.") }
            i += 1
            switch name {
            case "anzahl":
                try checkKnown(args[0])
                return Decimal(answers[args[0]]?.items.count ?? 0)
            case "ja":
                try checkKnown(args[0])
                return answers[args[0]]?.text == "ja" ? 1 : 0
            case "min": guard let m = values.min() else { return 0 }; return m
            case "max": guard let m = values.max() else { return 0 }; return m
            default: throw FeeRule.Failure(de: "Die Gebührenformel kennt die Funktion „\(name)“ nicht.")
            }
        }
        try checkKnown(name)
        guard let raw = answers[name]?.text, !raw.isEmpty else { return 0 }
        guard let d = FormEngine.decimal(raw) else { throw FeeRule.Failure(de: "Die Gebühr kann nicht berechnet werden: „\(name)“ ist keine Zahl.") }
        return d
    }

    func checkKnown(_ name: String) throws {
        if let known, !known.contains(name) { throw FeeRule.Failure(de: "Die Gebührenformel nennt das Feld „\(name)“, das im Formular nicht vorkommt.") }
    }
}
