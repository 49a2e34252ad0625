import Foundation
import RathausCore

/// Units of measure a catalogue item may use: the UN/ECE Recommendation 20 codes the e-invoice
/// carries (BT-130), with the names people read.
public enum UnitCode {
    public static let all: [(code: String, de: String, en: String)] = [
        ("C62", "Stück", "piece"), ("H87", "Stück (Teil)", "piece (part)"), ("SET", "Satz", "set"), ("PK", "Packung", "pack"),
        ("HUR", "Stunde", "hour"), ("DAY", "Tag", "day"), ("MON", "Monat", "month"), ("ANN", "Jahr", "year"),
        ("KGM", "Kilogramm", "kilogram"), ("MTR", "Meter", "metre"), ("LTR", "Liter", "litre"), ("LS", "pauschal", "lump sum"),
    ]
    public static func isKnown(_ code: String) -> Bool { all.contains { $0.code == code } }
    public static func name(_ code: String, english: Bool = false) -> String {
        guard let u = all.first(where: { $0.code == code }) else { return code }
        return english ? u.en : u.de
    }
}

/// The VAT rates a catalogue item may carry (percent, integers; Germany: 19, 7, 0).
public enum VATRate {
    public static let allowed: [Int] = [19, 7, 0]
}

/// One price of an item from a day on; a price change adds a new point, older ones stay for
/// call-offs of their time.
public struct PricePoint: Sendable, Equatable, Codable {
    /// ISO day (yyyy-MM-dd) from which the price applies.
    public var validFrom: String
    public var netCents: Int64
    public init(validFrom: String, netCents: Int64) { self.validFrom = validFrom; self.netCents = netCents }
}

public enum PriceSchedule {
    /// The price valid on `day`: the latest point whose start is not after it; nil before the first.
    public static func price(on day: String, _ points: [PricePoint]) -> PricePoint? {
        points.filter { $0.validFrom <= day }.max { $0.validFrom < $1.validFrom }
    }
}

/// One line of a call-off as it is priced: quantity × unit price (+ the provider's fee per unit).
public struct OrderLine: Sendable, Equatable, Codable {
    public var articleNumber: String
    public var name: String
    public var quantity: Int
    public var unitCode: String
    public var unitNetCents: Int64
    public var feeCents: Int64
    public var vatPercent: Int
    public init(articleNumber: String, name: String, quantity: Int, unitCode: String, unitNetCents: Int64, feeCents: Int64 = 0, vatPercent: Int) {
        self.articleNumber = articleNumber; self.name = name; self.quantity = quantity; self.unitCode = unitCode
        self.unitNetCents = unitNetCents; self.feeCents = feeCents; self.vatPercent = vatPercent
    }
    /// Net of the goods (quantity × price); the fee is its own amount.
    public var netCents: Int64 { Int64(quantity) * unitNetCents }
    public var feeTotalCents: Int64 { Int64(quantity) * feeCents }
}

/// Sums of a call-off in integer cents: VAT is computed per rate on the sum of the lines of that
/// rate (as EN 16931 does: BT-117 = BT-116 × rate, rounded half up to the cent).
public struct OrderTotals: Sendable, Equatable {
    public struct RateSum: Sendable, Equatable { public var percent: Int; public var baseCents: Int64; public var taxCents: Int64 }
    public var goodsCents: Int64
    public var feeCents: Int64
    public var byRate: [RateSum]
    public var netCents: Int64 { goodsCents + feeCents }
    public var vatCents: Int64 { byRate.reduce(0) { $0 + $1.taxCents } }
    public var grossCents: Int64 { netCents + vatCents }

    public init(_ lines: [OrderLine]) {
        goodsCents = lines.reduce(0) { $0 + $1.netCents }
        feeCents = lines.reduce(0) { $0 + $1.feeTotalCents }
        var bases: [Int: Int64] = [:]
        for l in lines { bases[l.vatPercent, default: 0] += l.netCents + l.feeTotalCents }
        byRate = bases.keys.sorted(by: >).map { p in
            let base = bases[p] ?? 0
            return RateSum(percent: p, baseCents: base, taxCents: Self.tax(base, percent: p))
        }
    }

    /// base × percent / 100, half away from zero.
    public static func tax(_ base: Int64, percent: Int) -> Int64 {
        let x = base * Int64(percent)
        return x >= 0 ? (x * 2 + 100) / 200 : -((-x * 2 + 100) / 200)
    }
}

/// Who must agree before a call-off goes to the provider.
public enum ApprovalRule {
    /// Above the tenant's threshold (net, goods and fees) a second person of the tenant approves.
    public static func needsSecondPerson(netCents: Int64, thresholdCents: Int64) -> Bool { netCents > thresholdCents }
    /// The approver is never the requester.
    public static func mayApprove(requester: String, approver: String) -> Bool { requester != approver }
}

/// The in-house rule: only a member may order from its own provider without a tender, and only
/// while its membership is in force on the call-off date.
public enum InHouse {
    public static func mayCallOff(status: MembershipStatus, effectiveFrom: String?, effectiveUntil: String?, on day: String) -> Bool {
        guard status == .member || status == .noticeGiven else { return false }
        if let from = effectiveFrom, from > day { return false }
        if let until = effectiveUntil, until <= day { return false }
        return true
    }
}

/// The framework's maximum volume: what released call-offs used and what is left.
public enum FrameworkVolume {
    public static func fits(maxCents: Int64, releasedCents: Int64, addCents: Int64) -> Bool {
        maxCents <= 0 || releasedCents + addCents <= maxCents
    }
    /// Share used in per mille (0 when no maximum is set).
    public static func usedPermille(maxCents: Int64, releasedCents: Int64) -> Int {
        maxCents <= 0 ? 0 : Int(min(1000, releasedCents * 1000 / maxCents))
    }
}

/// States of a call-off (Abruf) and who moves it.
public enum CallOffStatus: String, Sendable, CaseIterable, Codable {
    case draft = "entwurf"
    case awaitingApproval = "zur_genehmigung"
    case submitted = "eingereicht"          // waiting for the provider's purchasing
    case released = "freigegeben"           // ordered from the supplier
    case confirmed = "bestaetigt"           // the supplier confirmed the order
    case partlyDelivered = "teilgeliefert"
    case delivered = "geliefert"
    case received = "abgenommen"            // the member confirmed receipt
    case rejected = "abgelehnt"             // by the approver or by purchasing, with a reason
    case cancelled = "storniert"

    public var german: String {
        switch self {
        case .draft: "Entwurf"
        case .awaitingApproval: "wartet auf Genehmigung"
        case .submitted: "beim Einkauf des Dienstleisters"
        case .released: "bestellt beim Lieferanten"
        case .confirmed: "vom Lieferanten bestätigt"
        case .partlyDelivered: "teilweise geliefert"
        case .delivered: "geliefert"
        case .received: "Empfang bestätigt"
        case .rejected: "abgelehnt"
        case .cancelled: "storniert"
        }
    }
    public var english: String {
        switch self {
        case .draft: "draft"
        case .awaitingApproval: "awaiting approval"
        case .submitted: "with the provider's purchasing"
        case .released: "ordered from the supplier"
        case .confirmed: "confirmed by the supplier"
        case .partlyDelivered: "partly delivered"
        case .delivered: "delivered"
        case .received: "receipt confirmed"
        case .rejected: "rejected"
        case .cancelled: "cancelled"
        }
    }
    /// Released and later: the framework volume counts it.
    public var isOrdered: Bool { [.released, .confirmed, .partlyDelivered, .delivered, .received].contains(self) }
}

/// States of a framework agreement.
public enum FrameworkStatus: String, Sendable, CaseIterable, Codable {
    case preparation = "in_vorbereitung", active = "aktiv", expired = "abgelaufen", terminated = "gekuendigt"
    public var german: String {
        switch self { case .preparation: "in Vorbereitung"; case .active: "aktiv"; case .expired: "abgelaufen"; case .terminated: "gekündigt" }
    }
    public var english: String {
        switch self { case .preparation: "in preparation"; case .active: "active"; case .expired: "expired"; case .terminated: "terminated" }
    }
    /// May members call off on `day`?
    public static func usable(_ s: FrameworkStatus, startsOn: String, endsOn: String, on day: String) -> Bool {
        s == .active && startsOn <= day && day <= endsOn
    }
}
