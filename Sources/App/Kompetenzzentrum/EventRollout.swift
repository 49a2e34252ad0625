import Fluent
import Vapor
import Rollout

/// Training column: staff of the tenant took part in an event within a year.
enum EventRollout {
    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "fortbildung") { db, now, scope in
            let people = try await RolloutSQL.counts(db, """
                SELECT tenant_ars, COUNT(DISTINCT user_id) AS n FROM event_registrations
                WHERE status = 'confirmed' AND created_at >= \(bind: RolloutSQL.since(now, days: 365)) AND tenant_ars LIKE \(bind: RolloutSQL.like(scope)) GROUP BY tenant_ars
                """)
            let certificates = try await RolloutSQL.counts(db, "SELECT tenant_ars, COUNT(*) AS n FROM event_certificates WHERE revoked_at IS NULL AND tenant_ars LIKE \(bind: RolloutSQL.like(scope)) GROUP BY tenant_ars")
            var states: [String: CapabilityState] = [:]
            for t in Set(people.keys).union(certificates.keys) {
                states[t] = CapabilityState(live: (people[t] ?? 0) > 0, detail: "\(people[t] ?? 0) Personen angemeldet, \(certificates[t] ?? 0) Bescheinigungen")
            }
            return [RolloutColumn(key: "fortbildung", titleDE: "Fortbildung", titleEN: "Training", states: states)]
        })
    }
}
