import RathausCore

/// Where the money of a programme comes from.
public enum FundingSource: String, Sendable, CaseIterable, Codable {
    /// Landesmittel from the state budget.
    case land = "landesmittel"
    /// The Land's share of the federal digitalisation budget (FITKO).
    case bund = "bund"

    public var german: String { self == .land ? "Landesmittel" : "Bundesmittel (Digitalisierungsbudget, Anteil des Landes)" }
    public var english: String { self == .land ? "State funds" : "Federal funds (digitalisation budget, the state's share)" }
    public var short: String { self == .land ? "Landesmittel" : "Bundesmittel" }
}

/// One append-only booking line. The budget is what these lines add up to, never a stored total.
public enum BookingKind: String, Sendable, CaseIterable, Codable {
    /// Budget of a year and source (Haushaltsansatz), or a commitment appropriation for a later
    /// year (Verpflichtungsermächtigung, `plan` with the flag set where it is stored).
    case plan = "ansatz"
    /// An approval or an increase commits money.
    case commit = "bindung"
    /// A reduction, a closing or a reclaim releases committed money.
    case release = "freigabe"
    /// Money paid out to the municipality.
    case payout = "auszahlung"
    /// Money paid back after a reclaim (Rückforderung).
    case refund = "rueckzahlung"
}

public struct Booking: Sendable, Equatable {
    public var year: Int
    public var source: FundingSource
    public var kind: BookingKind
    public var cents: Int64
    public init(year: Int, source: FundingSource, kind: BookingKind, cents: Int64) {
        self.year = year; self.source = source; self.kind = kind; self.cents = cents
    }
}

/// Key of a budget line.
public struct BudgetKey: Hashable, Sendable, Comparable {
    public var year: Int
    public var source: FundingSource
    public init(year: Int, source: FundingSource) { self.year = year; self.source = source }
    public static func < (a: BudgetKey, b: BudgetKey) -> Bool {
        a.year != b.year ? a.year < b.year : a.source.rawValue > b.source.rawValue
    }
}

/// The state of one year and source, derived from the lines.
public struct BudgetPosition: Sendable, Equatable {
    public var key: BudgetKey
    public var planned: Int64 = 0
    public var committed: Int64 = 0
    public var paidOut: Int64 = 0
    public var returned: Int64 = 0
    public init(key: BudgetKey) { self.key = key }
    /// What can still be committed.
    public var available: Int64 { planned - committed }
}

/// "Im Haushaltsjahr 2027 (Landesmittel) fehlen 1.234,56 €."
public struct Shortfall: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: BudgetKey
    public var missingCents: Int64
    public var description: String {
        "Im Haushaltsjahr \(key.year) (\(key.source.short)) fehlen \(Money(cents: missingCents).formattedDE); verfügbar sind dort nur noch die im Haushalt angezeigten Mittel."
    }
    public var english: String {
        "In budget year \(key.year) (\(key.source.english)) \(Money(cents: missingCents).formattedEN) are missing."
    }
}

public enum Ledger {
    public static func positions(_ bookings: [Booking]) -> [BudgetPosition] {
        var by: [BudgetKey: BudgetPosition] = [:]
        for b in bookings {
            let k = BudgetKey(year: b.year, source: b.source)
            var p = by[k] ?? BudgetPosition(key: k)
            switch b.kind {
            case .plan: p.planned += b.cents
            case .commit: p.committed += b.cents
            case .release: p.committed -= b.cents
            case .payout: p.paidOut += b.cents
            case .refund: p.returned += b.cents
            }
            by[k] = p
        }
        return by.values.sorted { $0.key < $1.key }
    }

    /// The shortfalls a commitment of `amounts` would cause (empty = it fits). Amounts for the same
    /// key are added first, so one approval cannot slip past by splitting a year into two lines.
    public static func shortfalls(_ positions: [BudgetPosition], commit amounts: [(BudgetKey, Int64)]) -> [Shortfall] {
        var want: [BudgetKey: Int64] = [:]
        for (k, c) in amounts where c > 0 { want[k, default: 0] += c }
        let avail = Dictionary(positions.map { ($0.key, $0.available) }, uniquingKeysWith: +)
        return want.keys.sorted().compactMap { k in
            let missing = (want[k] ?? 0) - (avail[k] ?? 0)
            return missing > 0 ? Shortfall(key: k, missingCents: missing) : nil
        }
    }

    /// Per key, what one application has committed (net) and been paid (net of refunds).
    public static func caseLines(_ bookings: [Booking]) -> [CaseLine] {
        var by: [BudgetKey: CaseLine] = [:]
        for b in bookings {
            let k = BudgetKey(year: b.year, source: b.source)
            var l = by[k] ?? CaseLine(key: k)
            switch b.kind {
            case .commit: l.committed += b.cents
            case .release: l.committed -= b.cents
            case .payout: l.paid += b.cents
            case .refund: l.paid -= b.cents
            case .plan: break
            }
            by[k] = l
        }
        return by.values.sorted { $0.key < $1.key }
    }
}

/// What one application holds on one year and source.
public struct CaseLine: Sendable, Equatable {
    public var key: BudgetKey
    public var committed: Int64 = 0
    /// Paid out, less what came back.
    public var paid: Int64 = 0
    public init(key: BudgetKey, committed: Int64 = 0, paid: Int64 = 0) { self.key = key; self.committed = committed; self.paid = paid }
    public var payable: Int64 { max(0, committed - paid) }
}

/// Closing a case after the Verwendungsnachweis: the grant is what the final eligible costs
/// allow (never more than approved). Unpaid commitments are released; what was paid beyond the
/// final grant is reclaimed (latest years first) and the commitment reduced by the same amount.
public struct Settlement: Sendable, Equatable {
    public var finalGrant: Int64
    public var releases: [BudgetKey: Int64]
    public var refunds: [BudgetKey: Int64]
    public var reclaimCents: Int64 { refunds.values.reduce(0, +) }

    public static func settle(_ lines: [CaseLine], finalGrant wanted: Int64) -> Settlement {
        let approved = lines.reduce(0) { $0 + $1.committed }
        let finalGrant = max(0, min(wanted, approved))
        var target = Dictionary(lines.map { ($0.key, max(0, $0.paid)) }, uniquingKeysWith: +)
        let paid = target.values.reduce(0, +)
        var refunds: [BudgetKey: Int64] = [:]
        var over = paid - finalGrant
        for k in target.keys.sorted(by: >) where over > 0 {
            let take = min(over, target[k] ?? 0)
            if take > 0 { refunds[k] = take; target[k] = (target[k] ?? 0) - take; over -= take }
        }
        var releases: [BudgetKey: Int64] = [:]
        for l in lines {
            let r = l.committed - (target[l.key] ?? 0)
            if r > 0 { releases[l.key] = r }
        }
        return Settlement(finalGrant: min(finalGrant, paid), releases: releases, refunds: refunds)
    }
}
