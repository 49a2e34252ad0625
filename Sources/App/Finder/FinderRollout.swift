import Fluent
import Vapor
import Rollout

/// The finder's column of the roll-out monitor: offices with opening hours, own responsibilities.
enum FinderRollout {
    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "finder") { db, _ in
            // an office has weekly hours when its JSON carries a non-empty "weekly" object
            let offices = try await RolloutSQL.countSums(db, """
                SELECT tenant_ars, COUNT(*) AS n, CAST(SUM(CASE WHEN opening_hours LIKE '%"weekly":{"%' THEN 1 ELSE 0 END) AS BIGINT) AS total
                FROM offices GROUP BY tenant_ars
                """)
            let own = try await RolloutSQL.counts(db, "SELECT tenant_ars, COUNT(*) AS n FROM responsibilities GROUP BY tenant_ars")
            var states: [String: CapabilityState] = [:]
            for t in Set(offices.keys).union(own.keys) {
                let (n, withHours) = offices[t] ?? (0, 0)
                let r = own[t] ?? 0
                states[t] = CapabilityState(live: withHours > 0, detail: "\(n) Stellen, \(withHours) mit Öffnungszeiten, \(r) eigene Zuständigkeiten")
            }
            return [RolloutColumn(key: "finder", titleDE: "Zuständigkeitsfinder", titleEN: "Service finder", states: states)]
        })
    }
}
