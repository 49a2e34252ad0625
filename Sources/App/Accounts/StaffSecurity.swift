import Fluent
import Foundation
import RathausCore
import SQLKit
import Vapor

/// A tenant's sign-in rules for its staff: a second factor for everyone, and an optional list of
/// networks staff may sign in from (the roles of that tenant count only from there).
final class TenantSecurity: Model, @unchecked Sendable {
    static let schema = "tenant_security"
    @ID(custom: "tenant_ars", generatedBy: .user) var id: String?
    @Field(key: "totp_required") var totpRequired: Bool
    /// One CIDR network per line; empty = no restriction.
    @Field(key: "networks") var networks: String
    @Field(key: "updated_by") var updatedBy: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}

    var allowList: NetworkAllowList { (try? NetworkAllowList.parse(networks)) ?? NetworkAllowList(networks: []) }
}

struct M033CreateTenantSecurity: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(TenantSecurity.schema)
            .field("tenant_ars", .string, .identifier(auto: false))
            .field("totp_required", .bool, .required).field("networks", .string, .required)
            .field("updated_by", .string, .required).field("updated_at", .datetime, .required)
            .create()
    }
    func revert(on database: any Database) async throws { try await database.schema(TenantSecurity.schema).delete() }
}

enum StaffSecurity {
    /// The rules of the tenants these grants belong to.
    static func rules(for grants: [RoleGrant], on db: any Database) async throws -> [String: TenantSecurity] {
        let tenants = Array(Set(grants.compactMap(\.tenantARS)))
        guard !tenants.isEmpty else { return [:] }
        return Dictionary(try await TenantSecurity.query(on: db).filter(\.$id ~~ tenants).all().compactMap { r in r.id.map { ($0, r) } },
                          uniquingKeysWith: { a, _ in a })
    }

    /// The grants that count from this address: a tenant's roles only from its allowed networks.
    static func usable(_ grants: [RoleGrant], from ip: String, rules: [String: TenantSecurity]) -> [RoleGrant] {
        grants.filter { g in
            guard let t = g.tenantARS, let r = rules[t] else { return true }
            return r.allowList.allows(ip)
        }
    }

    static func totpRequired(_ grants: [RoleGrant], rules: [String: TenantSecurity]) -> Bool {
        grants.contains { g in g.role.requiresTOTP || (g.tenantARS.flatMap { rules[$0]?.totpRequired } ?? false) }
    }

    /// A short device name from the browser's user agent ("Firefox unter Windows").
    static func device(_ ua: String, english: Bool) -> String {
        let u = ua.lowercased()
        let browser = u.contains("edg/") ? "Edge" : u.contains("firefox") ? "Firefox" : u.contains("chrom") ? "Chrome/Chromium" : u.contains("safari") ? "Safari" : (english ? "other browser" : "anderer Browser")
        let os = u.contains("windows") ? "Windows" : u.contains("android") ? "Android" : u.contains("iphone") || u.contains("ipad") ? "iOS" : u.contains("mac os") ? "macOS" : u.contains("linux") ? "Linux" : ""
        if os.isEmpty { return browser }
        return english ? "\(browser) on \(os)" : "\(browser) unter \(os)"
    }

    /// The person's sessions (the data column holds the user id as text on both engines).
    static func sessions(of user: UUID, on db: any Database) async throws -> [SessionRecord] {
        guard let sql = db as? any SQLDatabase else { return [] }
        struct Row: Decodable { var id: UUID }
        let ids = try await sql.raw("SELECT id FROM _fluent_sessions WHERE CAST(data AS TEXT) LIKE \(bind: "%" + user.uuidString + "%")").all(decoding: Row.self).map(\.id)
        guard !ids.isEmpty else { return [] }
        return try await SessionRecord.query(on: db).filter(\.$id ~~ ids).all().filter { $0.data["uid"] == user.uuidString && $0.data["auth"] == "full" }
    }
}

/// `/sitzungen`: a staff member's active sessions (device, IP, last use) with "end";
/// `/mandanten/<ARS>/sicherheit`: the tenant's sign-in rules (second factor, networks).
struct StaffSecurityController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("sitzungen", use: sessions)
        app.post("sitzungen", ":id", "beenden", use: end)
        app.post("sitzungen", "andere-beenden", use: endOthers)
        app.get("mandanten", ":ars", "sicherheit", use: rules)
        app.post("mandanten", ":ars", "sicherheit", use: saveRules)
    }

    struct SessionRow: Encodable { var id: String; var device: String; var ip: String; var since: String; var seen: String; var current: Bool }
    struct SessionsView: Encodable { var rows: [SessionRow]; var others: Int; var ended: Bool }

    static func me(_ req: Request) throws -> StaffPrincipal {
        guard case .staff(let s) = req.principal else {
            if case .anonymous = req.principal { throw AppError.unauthenticated }
            throw AppError.forbidden
        }
        return s
    }

    @Sendable func sessions(req: Request) async throws -> Response {
        let me = try Self.me(req)
        let en = req.lang == .en
        let current = req.session.id?.string
        let list = try await StaffSecurity.sessions(of: me.userID, on: req.db)
        func time(_ s: String?) -> String { s.flatMap(Double.init).map { GermanTime.format(Date(timeIntervalSince1970: $0)) } ?? "–" }
        let rows = list.map { s in
            SessionRow(id: s.id?.uuidString ?? "", device: StaffSecurity.device(s.data["ua"] ?? "", english: en), ip: s.data["ip"] ?? "–",
                       since: time(s.data["since"]), seen: time(s.data["seen"] ?? s.data["since"]), current: s.key.string == current)
        }.sorted { ($0.current ? 0 : 1, $1.seen) < ($1.current ? 0 : 1, $0.seen) }
        return try await req.render("sitzungen", title: req.t("sessions_title"),
                                    SessionsView(rows: rows, others: rows.filter { !$0.current }.count, ended: req.query[String.self, at: "beendet"] != nil), form: true)
    }

    @Sendable func end(req: Request) async throws -> Response {
        let me = try Self.me(req)
        guard let id = req.parameters.get("id", as: UUID.self) else { throw AppError.notFound }
        let mine = try await StaffSecurity.sessions(of: me.userID, on: req.db)
        guard let s = mine.first(where: { $0.id == id }) else { throw AppError.notFound }
        let actor = req.principal
        try await req.application.writeTransaction { db in
            try await SessionRecord.query(on: db).filter(\.$id == id).delete()
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "auth.session_ended",
                                   objectType: "session", objectID: id.uuidString, before: "\(s.data["ip"] ?? "") \(StaffSecurity.device(s.data["ua"] ?? "", english: false))", after: nil)
        }
        if s.key.string == req.session.id?.string { req.session.destroy(); return req.redirect(to: "/anmelden", redirectType: .normal) }
        return req.redirect(to: "/sitzungen?beendet=1", redirectType: .normal)
    }

    @Sendable func endOthers(req: Request) async throws -> Response {
        let me = try Self.me(req)
        let current = req.session.id?.string
        let others = try await StaffSecurity.sessions(of: me.userID, on: req.db).filter { $0.key.string != current }.compactMap(\.id)
        let actor = req.principal
        try await req.application.writeTransaction { db in
            if !others.isEmpty { try await SessionRecord.query(on: db).filter(\.$id ~~ others).delete() }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "auth.sessions_ended",
                                   objectType: "session", objectID: me.email, before: nil, after: "\(others.count) andere Sitzungen beendet")
        }
        return req.redirect(to: "/sitzungen?beendet=1", redirectType: .normal)
    }

    // MARK: the tenant's rules

    struct RulesView: Encodable { var ars: String; var name: String; var totp: Bool; var networks: String; var ip: String; var saved: Bool }

    @Sendable func rules(req: Request) async throws -> Response {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.staffManage, tenant: g.ars)
        let r = try await TenantSecurity.find(g.ars, on: req.db)
        return try await render(req, g, totp: r?.totpRequired ?? false, networks: r?.networks ?? "")
    }

    func render(_ req: Request, _ g: Gebiet, totp: Bool, networks: String, error: AppError? = nil) async throws -> Response {
        let view = RulesView(ars: g.ars, name: g.name, totp: totp, networks: networks, ip: req.clientIP, saved: req.query[String.self, at: "ok"] != nil)
        if let error { return try await req.renderError("tenant/sicherheit", title: req.t("sec_title"), view, error) }
        return try await req.render("tenant/sicherheit", title: req.t("sec_title"), view, form: true)
    }

    @Sendable func saveRules(req: Request) async throws -> Response {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.staffManage, tenant: g.ars)
        let f = FundingForm(req)
        let totp = !f["zweiter_faktor"].isEmpty
        let raw = f.f["netze"] ?? ""
        do {
            guard raw.count <= 5_000 else { throw AppError.invalid("netze", de: "Die Liste der Netze darf höchstens 5.000 Zeichen lang sein.", en: "The list of networks may have at most 5,000 characters.") }
            let list: NetworkAllowList
            do { list = try NetworkAllowList.parse(raw) } catch let e as NetworkAllowList.ParseError {
                throw AppError.invalid("netze", de: e.german, en: e.english)
            }
            // nobody locks themself out: the address saving the list must be in it
            if !list.isEmpty, !list.allows(req.clientIP) {
                throw AppError(.unprocessableEntity, "security.lockout", de: "Ihre eigene Adresse \(req.clientIP) liegt in keinem der Netze. Sie würden sich selbst aussperren; bitte nehmen Sie Ihr Netz auf.",
                               en: "Your own address \(req.clientIP) is in none of the networks. You would lock yourself out; please add your network.", field: "netze")
            }
            let actor = req.principal
            try await req.application.writeTransaction { db in
                let r = try await TenantSecurity.find(g.ars, on: db) ?? TenantSecurity()
                let isNew = r.id == nil
                let before = isNew ? nil : AuditFields.encode([("Zweiter Faktor für alle", r.totpRequired ? "ja" : "nein"), ("Netze", r.networks.isEmpty ? "keine Einschränkung" : r.networks)])
                r.id = g.ars; r.totpRequired = totp; r.networks = list.text; r.updatedBy = actor.auditActor; r.updatedAt = Date()
                if isNew { try await r.create(on: db) } else { try await r.save(on: db) }
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "security.rules", objectType: "tenant_security",
                                       objectID: g.ars, before: before,
                                       after: AuditFields.encode([("Zweiter Faktor für alle", totp ? "ja" : "nein"), ("Netze", list.isEmpty ? "keine Einschränkung" : list.text)]))
            }
            return req.redirect(to: "/mandanten/\(g.ars)/sicherheit?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await render(req, g, totp: totp, networks: String(raw.prefix(5_000)), error: e)
        }
    }
}
