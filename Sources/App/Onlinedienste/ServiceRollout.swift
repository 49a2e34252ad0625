import Fluent
import SQLKit
import Vapor
import Rollout

/// One column per online service of the state (offered yes/no, since when) and one for "any".
enum ServiceRollout {
    struct Row: Decodable { var tenant_ars: String; var slug: String; var updated_at: Date }

    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "onlinedienste") { db, _ in
            guard let sql = db as? any SQLDatabase else { return [] }
            let active = try await sql.raw("SELECT tenant_ars, slug, updated_at FROM service_activations WHERE active = \(bind: true)").all(decoding: Row.self)
            var any: [String: Int] = [:]
            var bySlug: [String: [String: CapabilityState]] = [:]
            for a in active {
                any[a.tenant_ars, default: 0] += 1
                bySlug[a.slug, default: [:]][a.tenant_ars] = CapabilityState(live: true, detail: "seit \(BusinessDate.today(a.updated_at).split(separator: "-").reversed().joined(separator: "."))")
            }
            var columns = [RolloutColumn(key: "onlinedienste", titleDE: "Onlinedienste (mindestens einer)", titleEN: "Online services (at least one)",
                                         states: any.mapValues { CapabilityState(live: true, detail: "\($0) Onlinedienste aktiv") })]
            for v in try await OnlineServiceCatalogue.latest(on: db) {
                let title = (try? v.decoded())?.title
                columns.append(RolloutColumn(key: "dienst:\(v.slug)", titleDE: title?.text("de") ?? v.title, titleEN: title?.text("en") ?? v.title, states: bySlug[v.slug] ?? [:]))
            }
            return columns
        })
    }
}
