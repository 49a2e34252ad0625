import Fluent
import Vapor
import Rollout

/// Funding column: the tenant leads or joins an approved project.
enum FundingRollout {
    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "foerderung") { db, _, scope in
            let lead = try await RolloutSQL.counts(db, """
                SELECT tenant_ars, COUNT(*) AS n FROM funding_applications WHERE status IN ('bewilligt', 'nachweis_eingereicht', 'abgeschlossen') AND tenant_ars LIKE \(bind: RolloutSQL.like(scope)) GROUP BY tenant_ars
                """)
            let partner = try await RolloutSQL.counts(db, """
                SELECT p.tenant_ars AS tenant_ars, COUNT(*) AS n FROM funding_partners p JOIN funding_applications a ON a.id = p.application_id
                WHERE a.status IN ('bewilligt', 'nachweis_eingereicht', 'abgeschlossen') AND p.tenant_ars LIKE \(bind: RolloutSQL.like(scope)) GROUP BY p.tenant_ars
                """)
            var states: [String: CapabilityState] = [:]
            for t in Set(lead.keys).union(partner.keys) {
                states[t] = CapabilityState(live: true, detail: "\(lead[t] ?? 0) eigene, \(partner[t] ?? 0) gemeinsame geförderte Vorhaben")
            }
            return [RolloutColumn(key: "foerderung", titleDE: "Förderung", titleEN: "Funding", states: states)]
        })
    }
}
