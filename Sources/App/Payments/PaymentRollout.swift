import Fluent
import Vapor
import Rollout
import RathausCore

/// E-payment column: a payment provider configured, payments in the last 90 days.
enum PaymentRollout {
    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "ebezahlen") { db, now in
            let configured = try await RolloutSQL.counts(db, "SELECT tenant_ars, COUNT(*) AS n FROM payment_settings WHERE provider IS NOT NULL AND provider <> '' GROUP BY tenant_ars")
            let paid = try await RolloutSQL.countSums(db, """
                SELECT tenant_ars, COUNT(*) AS n, CAST(SUM(amount_cents) AS BIGINT) AS total FROM payments
                WHERE status = \(bind: PaymentStatus.payed.rawValue) AND created_at >= \(bind: RolloutSQL.since(now, days: 90)) GROUP BY tenant_ars
                """)
            var states: [String: CapabilityState] = [:]
            for t in Set(configured.keys).union(paid.keys) {
                let (n, sum) = paid[t] ?? (0, 0)
                states[t] = CapabilityState(live: (configured[t] ?? 0) > 0, detail: "\(n) Zahlungen über \(Money(cents: sum).formattedDE) in 90 Tagen")
            }
            return [RolloutColumn(key: "ebezahlen", titleDE: "E-Payment", titleEN: "E-payment", states: states)]
        })
    }
}
