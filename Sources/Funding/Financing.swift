import RathausCore

/// How a funding category computes the grant (Zuwendung) from the eligible costs.
public enum Financing: Sendable, Equatable {
    /// Anteilfinanzierung: a share of the eligible costs, at most `rateBasisPoints` / 10,000,
    /// optionally capped per project.
    case share(rateBasisPoints: Int, capCents: Int64?)
    /// Festbetragsfinanzierung: a fixed amount per unit (per trained person, per interface …).
    case fixed(amountPerUnitCents: Int64)

    /// "80 % der zuwendungsfähigen Ausgaben, höchstens 50.000,00 €" / "2.500,00 € je Einheit".
    public var descriptionDE: String {
        switch self {
        case .share(let bp, let cap):
            return "\(Financing.percent(bp)) der zuwendungsfähigen Ausgaben" + (cap.map { ", höchstens \(Money(cents: $0).formattedDE)" } ?? "")
        case .fixed(let c):
            return "Festbetrag \(Money(cents: c).formattedDE) je Einheit"
        }
    }

    public var descriptionEN: String {
        switch self {
        case .share(let bp, let cap):
            return "\(Financing.percent(bp)) of the eligible costs" + (cap.map { ", at most \(Money(cents: $0).formattedEN)" } ?? "")
        case .fixed(let c):
            return "fixed amount of \(Money(cents: c).formattedEN) per unit"
        }
    }

    /// 8000 → "80 %", 7550 → "75,5 %".
    public static func percent(_ bp: Int) -> String {
        let whole = bp / 100, frac = bp % 100
        if frac == 0 { return "\(whole) %" }
        let f = frac % 10 == 0 ? "\(frac / 10)" : String(format: "%02d", frac)
        return "\(whole),\(f) %"
    }
}

/// One line of a cost plan.
public struct CostItem: Sendable, Equatable {
    public var year: Int
    public var costType: String
    public var netCents: Int64
    public var grossCents: Int64
    /// A municipality entitled to deduct input VAT gets the net amount funded, otherwise the gross.
    public var vatDeductible: Bool
    /// ISO day the cost was or will be incurred (order placed); nil = within the project.
    public var incurredOn: String?

    public init(year: Int, costType: String, netCents: Int64, grossCents: Int64, vatDeductible: Bool, incurredOn: String? = nil) {
        self.year = year; self.costType = costType; self.netCents = netCents; self.grossCents = grossCents
        self.vatDeductible = vatDeductible; self.incurredOn = incurredOn
    }

    public var fundableCents: Int64 { vatDeductible ? netCents : grossCents }
}

/// Why a cost item does not count.
public enum CostFlag: String, Sendable, Equatable {
    /// Cost type not eligible in this category.
    case costType = "kostenart"
    /// Incurred before the project start without an approved early start (förderschädlicher Beginn).
    case beforeStart = "vor_beginn"

    public var german: String {
        switch self {
        case .costType: "Kostenart in diesem Fördergegenstand nicht zuwendungsfähig"
        case .beforeStart: "vor Maßnahmebeginn ohne genehmigten vorzeitigen Maßnahmebeginn – nicht zuwendungsfähig"
        }
    }

    public var english: String {
        switch self {
        case .costType: "cost type not eligible in this category"
        case .beforeStart: "incurred before the project start without an approved early start – not eligible"
        }
    }
}

public enum FundingCalculation {
    /// The flag of an item, nil when it counts. `earlyStart` is the day an approved early start
    /// allows costs from (nil = none approved). ISO days compare as strings.
    public static func flag(_ item: CostItem, eligibleCostTypes: Set<String>, projectStart: String, earlyStart: String?) -> CostFlag? {
        if !eligibleCostTypes.isEmpty, !eligibleCostTypes.contains(item.costType) { return .costType }
        if let day = item.incurredOn, !day.isEmpty, day < projectStart {
            guard let early = earlyStart, day >= early else { return .beforeStart }
        }
        return nil
    }

    /// Sum of the amounts that count.
    public static func eligibleCents(_ items: [CostItem], eligibleCostTypes: Set<String>, projectStart: String, earlyStart: String?) -> Int64 {
        items.filter { flag($0, eligibleCostTypes: eligibleCostTypes, projectStart: projectStart, earlyStart: earlyStart) == nil }
            .reduce(0) { $0 + $1.fundableCents }
    }

    /// The grant: the category's rule on the eligible costs, never more than the costs left after
    /// other funding (no over-financing), never negative. Shares round down to the cent.
    public static func grant(_ financing: Financing, eligibleCents: Int64, units: Int, otherFundingCents: Int64) -> Int64 {
        let gap = max(0, eligibleCents - max(0, otherFundingCents))
        let raw: Int64
        switch financing {
        case .share(let bp, let cap):
            var v = eligibleCents.multipliedReportingOverflow(by: Int64(bp)).partialValue / 10_000
            if let cap { v = min(v, cap) }
            raw = v
        case .fixed(let perUnit):
            raw = perUnit * Int64(max(0, units))
        }
        return max(0, min(raw, gap))
    }

    /// Splits `total` over years in proportion to `weights` (largest remainder, so the parts add
    /// up to the cent); years without weight get nothing. All weights 0 → everything in the first year.
    public static func split(_ total: Int64, weights: [Int: Int64]) -> [Int: Int64] {
        let years = weights.keys.sorted()
        guard let first = years.first else { return [:] }
        let sum = weights.values.reduce(0, +)
        guard sum > 0 else { return [first: total] }
        var parts: [Int: Int64] = [:]
        var remainders: [(Int, Int64)] = []
        var given: Int64 = 0
        for y in years {
            let w = weights[y] ?? 0
            let product = total.multipliedFullWidth(by: w)
            let (q, r) = sum.dividingFullWidth(product)
            parts[y] = q
            given += q
            remainders.append((y, r))
        }
        var left = total - given
        for (y, _) in remainders.sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }) where left > 0 {
            parts[y, default: 0] += 1
            left -= 1
        }
        return parts
    }
}
