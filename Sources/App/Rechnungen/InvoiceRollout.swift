import Fluent
import Vapor
import Rollout

/// E-invoice column: a Leitweg-ID registered, invoices received in the last 90 days.
enum InvoiceRollout {
    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "erechnung") { db, now, scope in
            let counts = try await RolloutSQL.grouped(db, """
                SELECT tenant_ars, CAST(SUM(l) AS BIGINT) AS ids, CAST(SUM(i) AS BIGINT) AS invoices FROM (
                  SELECT tenant_ars, 1 AS l, 0 AS i FROM leitweg_ids WHERE active = \(bind: true) AND tenant_ars LIKE \(bind: RolloutSQL.like(scope))
                  UNION ALL SELECT tenant_ars, 0 AS l, 1 AS i FROM rechnungen WHERE received_at >= \(bind: RolloutSQL.since(now, days: 90)) AND tenant_ars LIKE \(bind: RolloutSQL.like(scope))) x GROUP BY tenant_ars
                """, columns: ["ids", "invoices"])
            var states: [String: CapabilityState] = [:]
            states.reserveCapacity(counts.count)
            for (t, c) in counts {
                states[t] = CapabilityState(live: c[0] > 0, detail: "\(c[0]) Leitweg-IDs, \(c[1]) Rechnungen in 90 Tagen")
            }
            return [RolloutColumn(key: "erechnung", titleDE: "E-Rechnung", titleEN: "E-invoicing", states: states)]
        })
    }
}
