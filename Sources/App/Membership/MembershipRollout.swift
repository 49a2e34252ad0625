import Fluent
import SQLKit
import Vapor
import Rollout
import RathausCore

/// Membership column: a member (also while notice runs) is live.
enum MembershipRollout {
    struct Row: Decodable { var tenant_ars: String; var status: String; var effective_from: String? }

    static func register(_ r: RolloutRegistry) {
        r.register(RolloutProvider(name: "mitgliedschaft") { db, _, scope in
            guard let sql = db as? any SQLDatabase else { return [] }
            var states: [String: CapabilityState] = [:]
            for m in try await sql.raw("SELECT tenant_ars, status, effective_from FROM memberships WHERE tenant_ars LIKE \(bind: RolloutSQL.like(scope))").all(decoding: Row.self) {
                let live = m.status == "member" || m.status == "notice_given"
                states[m.tenant_ars] = CapabilityState(live: live, detail: live ? "seit \(m.effective_from.map { CalendarDay.display($0, english: false) } ?? "")" : "")
            }
            return [RolloutColumn(key: "mitglied", titleDE: "Mitglied", titleEN: "Member", states: states)]
        })
    }
}
