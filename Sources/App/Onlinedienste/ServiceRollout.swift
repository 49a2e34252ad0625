import Fluent
import NIOConcurrencyHelpers
import SQLKit
import Vapor
import Rollout
import RathausCore

/// One column per online service of the state (offered yes/no, since when) and one for "any".
enum ServiceRollout {
    struct Row: Decodable { var tenant_ars: String; var slug: String; var updated_at: Date }
    struct VersionRow: Decodable { var slug: String; var version: Int; var title: String }

    /// English titles of published versions (a version never changes once published).
    static let titlesEN = NIOLockedValueBox<[String: String]>([:])

    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "onlinedienste") { db, _, scope in
            guard let sql = db as? any SQLDatabase else { return [] }
            var any: [String: Int] = [:]
            var bySlug: [String: [String: CapabilityState]] = [:]
            var dayCache: [Int: String] = [:]
            // read packed (one value for all rows), the time as epoch seconds on both engines
            for r in try await RolloutSQL.packed(db, """
                SELECT tenant_ars, slug, \(RolloutSQL.epochSeconds(sql, "updated_at")) AS at FROM service_activations
                WHERE active = \(bind: true) AND tenant_ars LIKE \(bind: RolloutSQL.like(scope))
                """, columns: ["tenant_ars", "slug", "at"]) where r.count == 3 {
                let tenant = String(r[0]), slug = String(r[1])
                let at = Date(timeIntervalSince1970: Double(r[2]) ?? 0)
                // one formatted day per calendar day, not per row
                let key = Int(at.timeIntervalSince1970 / 86400)
                let day = dayCache[key] ?? { let d = "seit " + CalendarDay.display(BusinessDate.today(at), english: false); dayCache[key] = d; return d }()
                any[tenant, default: 0] += 1
                bySlug[slug, default: [:]][tenant] = CapabilityState(live: true, detail: day)
            }
            var columns = [RolloutColumn(key: "onlinedienste", titleDE: "Onlinedienste (mindestens einer)", titleEN: "Online services (at least one)",
                                         states: any.mapValues { CapabilityState(live: true, detail: "\($0) Onlinedienste aktiv") })]
            // the newest version of each service, without loading the definitions
            let versions = try await sql.raw("SELECT slug, version, title FROM service_versions ORDER BY slug, version DESC").all(decoding: VersionRow.self)
            var seen = Set<String>()
            for v in versions where seen.insert(v.slug).inserted {
                let cacheKey = "\(v.slug)@\(v.version)"
                var en = titlesEN.withLockedValue { $0[cacheKey] }
                if en == nil, let full = try await OnlineServiceCatalogue.version(v.slug, v.version, on: db) {
                    en = (try? full.decoded())?.title.text("en") ?? v.title
                    titlesEN.withLockedValue { $0[cacheKey] = en }
                }
                columns.append(RolloutColumn(key: "dienst:\(v.slug)", titleDE: v.title, titleEN: en ?? v.title, states: bySlug[v.slug] ?? [:]))
            }
            return columns
        })
    }
}
