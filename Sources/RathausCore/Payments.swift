import Foundation

/// Kassenzeichen: the cash reference of one payment, usable as the bank transfer reference.
/// Scheme per tenant: prefix (1–8 of A–Z, 0–9) + sequence (8 digits) + one check digit
/// (Luhn over the digits, letters of the prefix counted as 10–35 like in IBANs).
public struct Kassenzeichen: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    public var description: String { value }

    public static func validPrefix(_ p: String) -> Bool {
        (1...8).contains(p.count) && p.allSatisfy { ($0.isASCII && $0.isUppercase && $0.isLetter) || ($0.isASCII && $0.isNumber) }
    }

    public static func make(prefix: String, sequence: Int64) throws(ValidationFailure) -> Kassenzeichen {
        guard validPrefix(prefix) else {
            throw ValidationFailure(code: "kassenzeichen.prefix", de: "Das Präfix des Kassenzeichens besteht aus 1 bis 8 Großbuchstaben oder Ziffern.",
                                    en: "The prefix has 1 to 8 capital letters or digits.")
        }
        guard sequence > 0, sequence < 100_000_000 else {
            throw ValidationFailure(code: "kassenzeichen.sequence", de: "Der Nummernkreis des Kassenzeichens ist erschöpft.", en: "The sequence is exhausted.")
        }
        let body = prefix + String(format: "%08lld", sequence)
        return Kassenzeichen(value: body + String(checkDigit(body)))
    }

    /// Parses and checks a Kassenzeichen (its check digit).
    public init(_ raw: String) throws(ValidationFailure) {
        let s = raw.filter { !$0.isWhitespace }.uppercased()
        guard s.count >= 10, s.count <= 17, let last = s.last, let digit = last.wholeNumberValue, s.allSatisfy({ $0.isASCII && ($0.isNumber || $0.isUppercase) }),
              Kassenzeichen.checkDigit(String(s.dropLast())) == digit else {
            throw ValidationFailure(code: "kassenzeichen.invalid", de: "„\(raw.prefix(40))“ ist kein gültiges Kassenzeichen (Prüfziffer falsch oder Format ungültig).",
                                    en: "Not a valid cash reference.")
        }
        value = s
    }

    private init(value: String) { self.value = value }

    static func checkDigit(_ body: String) -> Int {
        var digits: [Int] = []
        for ch in body {
            if let d = ch.wholeNumberValue, ch.isASCII { digits.append(d) }
            else if let a = ch.asciiValue, a >= 65, a <= 90 { let v = Int(a) - 55; digits.append(v / 10); digits.append(v % 10) }
        }
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            if i % 2 == 0 { let x = d * 2; sum += x > 9 ? x - 9 : x } else { sum += d }
        }
        return (10 - sum % 10) % 10
    }
}

/// Payment statuses exactly as XBezahldienste 1.0 names them. An unfinished payment that runs
/// out of time becomes CANCELED with the detail "abgelaufen" (after the provider was asked).
public enum PaymentStatus: String, Sendable, Codable, CaseIterable {
    case initial = "INITIAL"
    case payed = "PAYED"
    case failed = "FAILED"
    case canceled = "CANCELED"

    public var isFinal: Bool { self != .initial }

    public var german: String {
        switch self {
        case .initial: "offen"
        case .payed: "bezahlt"
        case .failed: "fehlgeschlagen"
        case .canceled: "abgebrochen"
        }
    }
}

/// The one place that knows the payment workflow: INITIAL → PAYED | FAILED | CANCELED; final
/// states never change. The same target again is an idempotent no-op (a callback delivered
/// twice), a different target on a final payment is refused (a late or out-of-order callback).
public enum PaymentWorkflow {
    public enum Outcome: Equatable, Sendable { case apply, alreadyThere, refused(ValidationFailure) }

    public static func check(from: PaymentStatus, to: PaymentStatus) -> Outcome {
        if from == to { return .alreadyThere }
        if from == .initial { return .apply }
        return .refused(ValidationFailure(code: "zahlung.final", de: "Die Zahlung ist bereits „\(from.german)“ und kann nicht mehr „\(to.german)“ werden.",
                                          en: "The payment is already \(from.rawValue)."))
    }
}

/// XBezahldienste request checks that need no database: field limits and the arithmetic.
/// Amounts are Decimal (exact from JSON) and become integer cents here.
public enum XBezahldiensteRules {
    public struct Item: Sendable, Equatable {
        public var description: String?
        public var quantity: Decimal?
        public var taxRate: Decimal?
        public var singleNetAmount: Decimal?
        public var singleTaxAmount: Decimal?
        public var totalNetAmount: Decimal?
        public var totalTaxAmount: Decimal?
        public var bookingData: [String: String]?
        public init(description: String? = nil, quantity: Decimal? = nil, taxRate: Decimal? = nil, singleNetAmount: Decimal? = nil, singleTaxAmount: Decimal? = nil,
                    totalNetAmount: Decimal? = nil, totalTaxAmount: Decimal? = nil, bookingData: [String: String]? = nil) {
            self.description = description; self.quantity = quantity; self.taxRate = taxRate; self.singleNetAmount = singleNetAmount
            self.singleTaxAmount = singleTaxAmount; self.totalNetAmount = totalNetAmount; self.totalTaxAmount = totalTaxAmount; self.bookingData = bookingData
        }
    }

    public struct Failure: Error, Equatable, Sendable {
        public let code: String      // VALIDATION_ERROR, CALCULATION_ERROR, …
        public let field: String
        public let de: String
    }

    /// `[\w-]{1,36}` in ASCII.
    public static func idOK(_ s: String) -> Bool {
        (1...36).contains(s.count) && s.unicodeScalars.allSatisfy { ($0.value >= 48 && $0.value <= 57) || ($0.value >= 65 && $0.value <= 90) || ($0.value >= 97 && $0.value <= 122) || $0 == "_" || $0 == "-" }
    }

    /// Exact cents of an amount with at most two decimals, or nil.
    public static func cents(_ d: Decimal) -> Int64? {
        var x = d * 100, r = Decimal()
        NSDecimalRound(&r, &x, 0, .plain)
        guard r == d * 100, r >= 0, r < 100_000_000_000 else { return nil }
        return NSDecimalNumber(decimal: r).int64Value
    }

    public struct CheckedItem: Sendable, Equatable {
        public var description: String
        public var quantity: Int
        public var taxRateBasisPoints: Int
        public var singleNetCents: Int64
        public var singleTaxCents: Int64
        public var totalCents: Int64
        public var bookingData: [String: String]
        public init(description: String, quantity: Int, taxRateBasisPoints: Int, singleNetCents: Int64, singleTaxCents: Int64, totalCents: Int64, bookingData: [String: String]) {
            self.description = description; self.quantity = quantity; self.taxRateBasisPoints = taxRateBasisPoints; self.singleNetCents = singleNetCents
            self.singleTaxCents = singleTaxCents; self.totalCents = totalCents; self.bookingData = bookingData
        }
    }

    /// Checks items, currency, purpose, description and the sum. Returns items in cents.
    public static func check(currency: String?, grosAmount: Decimal?, purpose: String?, description: String?, items: [Item]?) -> Result<(Int64, [CheckedItem]), Failure> {
        func v(_ field: String, _ de: String) -> Result<(Int64, [CheckedItem]), Failure> { .failure(Failure(code: "VALIDATION_ERROR", field: field, de: de)) }
        func c(_ field: String, _ de: String) -> Result<(Int64, [CheckedItem]), Failure> { .failure(Failure(code: "CALCULATION_ERROR", field: field, de: de)) }
        guard currency == "EUR" else { return v("currency", "Nur die Währung EUR ist möglich.") }
        guard let purpose, !purpose.trimmingCharacters(in: .whitespaces).isEmpty, purpose.count <= 27 else {
            return v("purpose", "Der Verwendungszweck (purpose) ist Pflicht und hat höchstens 27 Zeichen.")
        }
        if let description, description.count > 250 { return v("description", "Die Beschreibung (description) hat höchstens 250 Zeichen.") }
        guard let items, (1...99).contains(items.count) else { return v("items", "Eine Zahlung hat 1 bis 99 Positionen (items).") }
        guard let gros = grosAmount else { return v("grosAmount", "Der Gesamtbetrag (grosAmount) fehlt.") }
        guard let grosCents = cents(gros), grosCents > 0 else { return v("grosAmount", "Der Gesamtbetrag (grosAmount) muss größer als 0 sein und höchstens zwei Nachkommastellen haben.") }
        var out: [CheckedItem] = []
        var sum: Int64 = 0
        for (i, it) in items.enumerated() {
            let f = "items[\(i)]"
            guard let d = it.description, !d.isEmpty, d.count <= 250 else { return v("\(f).description", "Position \(i + 1): Die Beschreibung ist Pflicht und hat höchstens 250 Zeichen.") }
            guard let q = it.quantity, q >= 1, q <= 9999, q == q.rounded0 else { return v("\(f).quantity", "Position \(i + 1): Die Menge ist eine ganze Zahl von 1 bis 9999.") }
            let rate = it.taxRate ?? 0
            guard rate >= 0, rate <= 100, let rateBP = cents(rate) else { return v("\(f).taxRate", "Position \(i + 1): Der Steuersatz liegt zwischen 0 und 100 Prozent.") }
            guard let sn = it.singleNetAmount.flatMap(cents), let st = (it.singleTaxAmount ?? 0).asCents else {
                return v("\(f).singleNetAmount", "Position \(i + 1): Einzelbeträge sind nicht negativ und haben höchstens zwei Nachkommastellen.")
            }
            let qi = NSDecimalNumber(decimal: q).int64Value
            if let tn = it.totalNetAmount {
                guard let tnc = cents(tn), tnc == sn * qi else { return c("\(f).totalNetAmount", "Position \(i + 1): Der Nettobetrag ist nicht Menge × Einzelpreis.") }
            }
            if let tt = it.totalTaxAmount {
                guard let ttc = cents(tt), ttc == st * qi else { return c("\(f).totalTaxAmount", "Position \(i + 1): Der Steuerbetrag ist nicht Menge × Einzelsteuer.") }
            }
            let total = (sn + st) * qi
            sum += total
            out.append(CheckedItem(description: d, quantity: Int(qi), taxRateBasisPoints: Int(rateBP), singleNetCents: sn, singleTaxCents: st,
                                   totalCents: total, bookingData: it.bookingData ?? [:]))
        }
        guard sum == grosCents else {
            return c("grosAmount", "Der Gesamtbetrag \(gros) EUR stimmt nicht mit der Summe der Positionen (\(Money(cents: sum).decimalString) EUR) überein.")
        }
        return .success((grosCents, out))
    }
}

extension Decimal {
    var rounded0: Decimal { var x = self, r = Decimal(); NSDecimalRound(&r, &x, 0, .plain); return r }
    var asCents: Int64? { XBezahldiensteRules.cents(self) }
}
