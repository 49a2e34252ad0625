import Fluent
import Vapor
import Rollout
import RathausCore

/// E-payment column: a payment provider configured, payments in the last 90 days.
enum PaymentRollout {
    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "ebezahlen") { db, now, scope in
            let counts = try await RolloutSQL.grouped(db, """
                SELECT tenant_ars, CAST(SUM(c) AS BIGINT) AS configured, CAST(SUM(p) AS BIGINT) AS payments, CAST(SUM(a) AS BIGINT) AS cents FROM (
                  SELECT tenant_ars, 1 AS c, 0 AS p, 0 AS a FROM payment_settings WHERE provider IS NOT NULL AND provider <> '' AND tenant_ars LIKE \(bind: RolloutSQL.like(scope))
                  UNION ALL SELECT tenant_ars, 0 AS c, 1 AS p, amount_cents AS a FROM payments
                  WHERE status = \(bind: PaymentStatus.payed.rawValue) AND created_at >= \(bind: RolloutSQL.since(now, days: 90)) AND tenant_ars LIKE \(bind: RolloutSQL.like(scope))) x GROUP BY tenant_ars
                """, columns: ["configured", "payments", "cents"])
            var states: [String: CapabilityState] = [:]
            states.reserveCapacity(counts.count)
            for (t, c) in counts {
                states[t] = CapabilityState(live: c[0] > 0, detail: "\(c[1]) Zahlungen über \(Money(cents: c[2]).formattedDE) in 90 Tagen")
            }
            return [RolloutColumn(key: "ebezahlen", titleDE: "E-Payment", titleEN: "E-payment", states: states)]
        })
    }
}
