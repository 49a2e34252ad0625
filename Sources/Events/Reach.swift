import Foundation

/// Reach of the competence centre: which municipalities its events and visits reached, per
/// tenant and per Kreis. Works on plain rows so it can be tested with generated data.
public enum Reach {
    public struct Tenant: Sendable, Equatable {
        public var ars: String, name: String, kreisARS: String, kreisName: String
        public init(ars: String, name: String, kreisARS: String, kreisName: String) {
            self.ars = ars; self.name = name; self.kreisARS = kreisARS; self.kreisName = kreisName
        }
    }

    /// One confirmed registration of an event inside the period and topic filter.
    public struct Participation: Sendable, Equatable {
        public var tenant: String, person: UUID, event: UUID, date: Date, attended: Bool, certified: Bool
        public init(tenant: String, person: UUID, event: UUID, date: Date, attended: Bool, certified: Bool) {
            self.tenant = tenant; self.person = person; self.event = event; self.date = date; self.attended = attended; self.certified = certified
        }
    }

    /// A visit that took place (documented) or is confirmed.
    public struct Contact: Sendable, Equatable {
        public var tenant: String, date: Date
        public init(tenant: String, date: Date) { self.tenant = tenant; self.date = date }
    }

    public struct TenantRow: Sendable, Equatable {
        public var tenant: Tenant
        public var events = 0, people = 0, certificates = 0, visits = 0
        public var lastContact: Date?
        public var reached: Bool { events > 0 || visits > 0 }
    }

    public struct KreisRow: Sendable, Equatable {
        public var kreisARS: String, kreisName: String
        public var tenants = 0, reached = 0, events = 0, people = 0, certificates = 0, visits = 0
        /// Share of the Kreis's tenants reached, in per mille (integer arithmetic, no rounding drift).
        public var reachedPerMille: Int { tenants == 0 ? 0 : reached * 1000 / tenants }
    }

    public struct Summary: Sendable, Equatable {
        public var tenants: [TenantRow]
        public var kreise: [KreisRow]
        public var reached: Int { tenants.filter(\.reached).count }
        public var people: Int
        public var certificates: Int
    }

    /// Events attended (distinct events with at least one person present), people trained
    /// (distinct persons present), certificates, visits and the last contact per tenant.
    /// Participations of tenants not in `tenants` are ignored (e.g. a dissolved Gemeinde).
    public static func summarize(tenants: [Tenant], participations: [Participation], contacts: [Contact]) -> Summary {
        var index: [String: Int] = [:]
        var rows = tenants.enumerated().map { i, t in index[t.ars] = i; return TenantRow(tenant: t) }
        var events: [Int: Set<UUID>] = [:], people: [Int: Set<UUID>] = [:]
        var allPeople = Set<UUID>(), certificates = 0
        for p in participations {
            guard let i = index[p.tenant], p.attended else { continue }
            events[i, default: []].insert(p.event)
            people[i, default: []].insert(p.person)
            allPeople.insert(p.person)
            if p.certified { rows[i].certificates += 1; certificates += 1 }
            rows[i].lastContact = max(rows[i].lastContact ?? p.date, p.date)
        }
        for c in contacts {
            guard let i = index[c.tenant] else { continue }
            rows[i].visits += 1
            rows[i].lastContact = max(rows[i].lastContact ?? c.date, c.date)
        }
        for (i, e) in events { rows[i].events = e.count }
        for (i, p) in people { rows[i].people = p.count }
        var kreise: [String: KreisRow] = [:]
        for r in rows {
            var k = kreise[r.tenant.kreisARS] ?? KreisRow(kreisARS: r.tenant.kreisARS, kreisName: r.tenant.kreisName)
            k.tenants += 1
            if r.reached { k.reached += 1 }
            k.events += r.events; k.people += r.people; k.certificates += r.certificates; k.visits += r.visits
            kreise[r.tenant.kreisARS] = k
        }
        return Summary(tenants: rows, kreise: kreise.values.sorted { $0.kreisARS < $1.kreisARS }, people: allPeople.count, certificates: certificates)
    }
}
