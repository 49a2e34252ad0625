import Foundation

/// What kind of event the competence centre offers.
public enum EventKind: String, Sendable, Codable, CaseIterable {
    case workshop
    case information = "informationsveranstaltung"
    /// Several dates; a certificate needs the required ones.
    case course = "kurs"
    /// The online link goes to confirmed participants only.
    case webinar

    public var german: String {
        switch self {
        case .workshop: "Workshop"
        case .information: "Informationsveranstaltung"
        case .course: "Kurs"
        case .webinar: "Webinar"
        }
    }
}

/// Seats of an event: capacity, optional quota per tenant, registration deadline.
public struct SeatRules: Sendable, Equatable {
    public var capacity: Int
    /// At most this many confirmed people per municipality (nil: no quota).
    public var quotaPerTenant: Int?
    /// Last moment a registration is accepted.
    public var deadline: Date?

    public init(capacity: Int, quotaPerTenant: Int? = nil, deadline: Date? = nil) {
        self.capacity = capacity; self.quotaPerTenant = quotaPerTenant; self.deadline = deadline
    }
}

/// The counts a decision needs, read in the same statement that writes the registration.
public struct SeatCounts: Sendable, Equatable {
    public var confirmed: Int
    public var confirmedOfTenant: Int
    public init(confirmed: Int, confirmedOfTenant: Int) { self.confirmed = confirmed; self.confirmedOfTenant = confirmedOfTenant }
}

public enum WaitReason: String, Sendable, Equatable {
    /// every seat is taken
    case full
    /// the municipality has used its quota
    case tenantQuota = "kontingent"
}

public enum RegistrationRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case deadlinePassed
    case invalidRules

    public var description: String {
        switch self {
        case .deadlinePassed: "Die Anmeldefrist ist abgelaufen."
        case .invalidRules: "Die Veranstaltung hat keine gültige Platzzahl."
        }
    }
}

public enum RegistrationOutcome: Sendable, Equatable {
    case confirmed
    case waitlisted(WaitReason)
}

public enum Seats {
    /// Confirmed while a seat is free and the tenant's quota allows it, otherwise on the waiting list.
    public static func decide(_ rules: SeatRules, counts: SeatCounts, at now: Date) throws(RegistrationRefusal) -> RegistrationOutcome {
        guard rules.capacity > 0, rules.quotaPerTenant.map({ $0 > 0 }) ?? true else { throw .invalidRules }
        if let d = rules.deadline, now > d { throw .deadlinePassed }
        if counts.confirmed >= rules.capacity { return .waitlisted(.full) }
        if let q = rules.quotaPerTenant, counts.confirmedOfTenant >= q { return .waitlisted(.tenantQuota) }
        return .confirmed
    }

    /// One waiting registration, in the order of the list.
    public struct Waiting: Sendable, Equatable {
        public var id: UUID
        public var tenant: String
        public init(id: UUID, tenant: String) { self.id = id; self.tenant = tenant }
    }

    /// Who moves up when seats become free: the first on the list whose municipality is still
    /// under its quota, as often as there are free seats. A person blocked by the quota keeps
    /// their place for when a colleague of the same municipality cancels.
    public static func promotions(_ rules: SeatRules, confirmed: Int, confirmedByTenant: [String: Int], waiting: [Waiting]) -> [UUID] {
        var free = rules.capacity - confirmed
        var byTenant = confirmedByTenant
        var out: [UUID] = []
        for w in waiting where free > 0 {
            if let q = rules.quotaPerTenant, byTenant[w.tenant, default: 0] >= q { continue }
            out.append(w.id)
            byTenant[w.tenant, default: 0] += 1
            free -= 1
        }
        return out
    }
}

/// One date of an event (a course has several), Europe/Berlin local times stored as instants.
public struct EventSession: Sendable, Equatable {
    public var start: Date
    public var end: Date
    public init(start: Date, end: Date) { self.start = start; self.end = end }
    public var minutes: Int { max(0, Int(end.timeIntervalSince(start) / 60)) }
}

/// Who gets a certificate of attendance: everyone present at every required session.
public enum Attendance {
    public static func qualifies(required: Set<Int>, attended: Set<Int>) -> Bool {
        !required.isEmpty && required.isSubset(of: attended)
    }

    /// "7,5 Stunden", "1 Stunde" — the hours of the attended sessions for the certificate.
    public static func hoursDE(_ sessions: [EventSession], attended: Set<Int>) -> String {
        let minutes = sessions.enumerated().filter { attended.contains($0.offset) }.reduce(0) { $0 + $1.element.minutes }
        let whole = minutes / 60, rest = minutes % 60
        if rest == 0 { return whole == 1 ? "1 Stunde" : "\(whole) Stunden" }
        // quarter hours are what certificates show
        let quarters = Int((Double(rest) / 15).rounded())
        let fraction = ["", "25", "5", "75", ""][quarters]
        let w = quarters == 4 ? whole + 1 : whole
        return fraction.isEmpty ? "\(w) Stunden" : "\(w),\(fraction) Stunden"
    }
}
