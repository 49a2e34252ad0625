import Fluent
import Vapor
import Rollout

/// E-invoice column: a Leitweg-ID registered, invoices received in the last 90 days.
enum InvoiceRollout {
    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "erechnung") { db, now in
            let ids = try await RolloutSQL.counts(db, "SELECT tenant_ars, COUNT(*) AS n FROM leitweg_ids WHERE active = \(bind: true) GROUP BY tenant_ars")
            let received = try await RolloutSQL.counts(db, "SELECT tenant_ars, COUNT(*) AS n FROM rechnungen WHERE received_at >= \(bind: RolloutSQL.since(now, days: 90)) GROUP BY tenant_ars")
            var states: [String: CapabilityState] = [:]
            for t in Set(ids.keys).union(received.keys) {
                states[t] = CapabilityState(live: (ids[t] ?? 0) > 0, detail: "\(ids[t] ?? 0) Leitweg-IDs, \(received[t] ?? 0) Rechnungen in 90 Tagen")
            }
            return [RolloutColumn(key: "erechnung", titleDE: "E-Rechnung", titleEN: "E-invoicing", states: states)]
        })
    }
}
