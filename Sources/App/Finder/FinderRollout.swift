import Fluent
import Vapor
import Rollout

/// The finder's column of the roll-out monitor: offices with opening hours, own responsibilities.
enum FinderRollout {
    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "finder") { db, _, scope in
            // one pass: offices (and those whose JSON carries a non-empty "weekly" object) and own responsibilities
            let counts = try await RolloutSQL.grouped(db, """
                SELECT tenant_ars, CAST(SUM(o) AS BIGINT) AS offices, CAST(SUM(h) AS BIGINT) AS hours, CAST(SUM(r) AS BIGINT) AS own FROM (
                  SELECT tenant_ars, 1 AS o, CASE WHEN opening_hours LIKE '%"weekly":{"%' THEN 1 ELSE 0 END AS h, 0 AS r FROM offices WHERE tenant_ars LIKE \(bind: RolloutSQL.like(scope))
                  UNION ALL SELECT tenant_ars, 0 AS o, 0 AS h, 1 AS r FROM responsibilities WHERE tenant_ars LIKE \(bind: RolloutSQL.like(scope))) x GROUP BY tenant_ars
                """, columns: ["offices", "hours", "own"])
            var states: [String: CapabilityState] = [:]
            states.reserveCapacity(counts.count)
            for (t, c) in counts {
                states[t] = CapabilityState(live: c[1] > 0, detail: "\(c[0]) Stellen, \(c[1]) mit Öffnungszeiten, \(c[2]) eigene Zuständigkeiten")
            }
            return [RolloutColumn(key: "finder", titleDE: "Zuständigkeitsfinder", titleEN: "Service finder", states: states)]
        })
    }
}
