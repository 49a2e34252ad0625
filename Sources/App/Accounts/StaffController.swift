import Fluent
import SQLKit
import Vapor
import RathausCore

/// Lookups around staff and their roles that the middleware and the staff pages share.
enum StaffDirectory {
    /// Member Gemeinden of every Verwaltungsgemeinschaft (or other Gemeindeverband) the grants
    /// administer: their administrators may give VG staff roles there.
    static func memberTenants(of grants: [RoleGrant], on db: any Database) async throws -> Set<String> {
        let vgs = grants.compactMap { $0.role == .tenantAdmin ? $0.tenantARS : nil }.filter { $0.count == 9 }
        guard !vgs.isEmpty else { return [] }
        let members = try await Gebiet.query(on: db).filter(\.$parentARS ~~ vgs).filter(\.$level == "gemeinde").all()
        return Set(members.compactMap(\.id))
    }

    /// Staff who currently hold a role for `tenant` that allows `action` (e.g. colleagues a case can be assigned to), by name.
    static func people(of tenant: String, allowedTo action: Action, on db: any Database, now: Date = Date()) async throws -> [User] {
        let ids = try await RoleAssignment.query(on: db).filter(\.$tenantARS == tenant).all()
            .filter { a in a.grant.map { $0.isCurrent(at: now) && RoleCatalogue.allows($0.role, grantTenant: $0.tenantARS, action, tenant: tenant) } ?? false }
            .map(\.userID)
        guard !ids.isEmpty else { return [] }
        return try await User.query(on: db).filter(\.$id ~~ Array(Set(ids))).filter(\.$disabled == false).sort(\.$name).all()
    }

    /// The day a person writes as "bis" is the last day of the role: it ends at the following midnight (Berlin).
    static func endOfDay(_ iso: String) -> Date? {
        GermanTime.startOfDay(iso).flatMap { GermanTime.calendar.date(byAdding: .day, value: 1, to: $0) }
    }

    /// "15.08.2026" for an assignment ending at midnight before 16.08.2026.
    static func lastDay(_ end: Date) -> String {
        let c = GermanTime.calendar.dateComponents([.year, .month, .day], from: end.addingTimeInterval(-1))
        return CalendarDay.display(String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0), english: DisplayLanguage.english)
    }

    static func firstDay(_ start: Date) -> String {
        let c = GermanTime.calendar.dateComponents([.year, .month, .day], from: start)
        return CalendarDay.display(String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0), english: DisplayLanguage.english)
    }
}

/// Staff administration: `/mandanten/<ARS>/personal` for a tenant (the Land's key for Land staff)
/// and `/betrieb/personal` for the operator's own staff. Invitations by e-mail with a one-time
/// link, roles with optional start and end (deputies), the rules of `RoleCatalogue.mayGrant`.
struct StaffController {
    static let inviteLifetime: TimeInterval = 7 * 24 * 3600

    func addRoutes(to app: any RoutesBuilder) {
        for base in [app.grouped("mandanten", ":ars", "personal"), app.grouped("betrieb", "personal")] {
            base.get(use: list)
            base.post("einladen", use: invite)
            base.post("zuweisungen", ":id", "ende", use: setEnd)
            base.post("zuweisungen", ":id", "entfernen", use: remove)
        }
        app.get("einladung", ":token", use: acceptForm)
        app.post("einladung", ":token", use: accept)
    }

    /// nil = the installation (operators); otherwise a tenant's key.
    func scope(_ req: Request) async throws -> (tenant: String?, name: String) {
        guard let raw = req.parameters.get("ars") else {
            try req.authorize(.staffManage, tenant: nil)
            return (nil, req.t("staff_installation"))
        }
        let g = try await Tenants.tenant(raw, on: req.db)
        try req.authorize(.staffManage, tenant: g.ars)
        return (g.ars, g.name)
    }

    func base(_ tenant: String?) -> String { tenant.map { "/mandanten/\($0)/personal" } ?? "/betrieb/personal" }

    struct AssignmentRow: Encodable {
        var id: String; var role: String; var from: String; var until: String; var note: String
        var current: Bool; var status: String; var createdBy: String
    }
    struct PersonRow: Encodable {
        var name: String; var email: String; var lastLogin: String; var invited: Bool; var assignments: [AssignmentRow]
    }
    struct RoleOption: Encodable { var value: String; var label: String }
    struct ListView: Encodable {
        var tenant: String; var tenantName: String; var base: String
        var people: [PersonRow]; var roles: [RoleOption]
        var form: InviteForm; var done: String
    }
    struct InviteForm: Codable { var email: String?; var name: String?; var rolle: String?; var von: String?; var bis: String?; var vertretung: String? }

    func view(_ req: Request, tenant: String?, name: String, form: InviteForm = InviteForm(), done: String = "") async throws -> ListView {
        let query = RoleAssignment.query(on: req.db)
        if let tenant { query.filter(\.$tenantARS == tenant) } else { query.filter(\.$tenantARS == nil) }
        let assignments = try await query.sort(\.$createdAt).all()
        let users = try await User.query(on: req.db).filter(\.$id ~~ Array(Set(assignments.map(\.userID)))).sort(\.$name).all()
        let now = Date()
        var people: [PersonRow] = []
        for u in users {
            guard let uid = u.id else { continue }
            let last = try await LoginAttempt.query(on: req.db).filter(\.$email == u.email).filter(\.$success == true).sort(\.$at, .descending).first()
            let rows = assignments.filter { $0.userID == uid }.compactMap { a -> AssignmentRow? in
                guard let g = a.grant, let id = a.id else { return nil }
                let status: String
                if g.isCurrent(at: now) { status = req.t("staff_status_current") }
                else if let f = g.validFrom, f > now { status = req.t("staff_status_future") }
                else { status = req.t("staff_status_ended") }
                return AssignmentRow(id: id.uuidString, role: req.t("role_\(g.role.rawValue)"),
                                     from: g.validFrom.map(StaffDirectory.firstDay) ?? "", until: g.validUntil.map(StaffDirectory.lastDay) ?? "",
                                     note: a.note, current: g.isCurrent(at: now), status: status, createdBy: a.createdBy)
            }
            people.append(PersonRow(name: u.name, email: u.email, lastLogin: last.map { GermanTime.format($0.at) } ?? req.t("staff_never"),
                                    invited: u.emailVerifiedAt == nil && last == nil, assignments: rows))
        }
        let s = req.principal.staff
        let roles = RoleCatalogue.roles(for: tenant).filter {
            RoleCatalogue.mayGrant(s?.grants ?? [], memberTenants: s?.memberTenants ?? [], role: $0, tenant: tenant)
        }.map { RoleOption(value: $0.rawValue, label: req.t("role_\($0.rawValue)")) }
        return ListView(tenant: tenant ?? "", tenantName: name, base: base(tenant), people: people, roles: roles, form: form, done: done)
    }

    @Sendable func list(req: Request) async throws -> Response {
        let (tenant, name) = try await scope(req)
        let done = req.query[String.self, at: "erledigt"].flatMap { ["eingeladen", "hinzugefuegt", "beendet", "entfernt"].contains($0) ? req.t("staff_done_\($0)") : nil } ?? ""
        return try await req.render("tenant/personal", title: req.t("staff_title"), view(req, tenant: tenant, name: name, done: done), form: true)
    }

    /// Invites a new person, or gives a person who already has a staff account a further role.
    @Sendable func invite(req: Request) async throws -> Response {
        let (tenant, name) = try await scope(req)
        let form = (try? req.content.decode(InviteForm.self)) ?? InviteForm()
        guard let me = req.principal.staff else { throw AppError.forbidden }
        do {
            let email = try TextInput.email(form.email, field: "email")!
            guard let role = form.rolle.flatMap(Role.init(rawValue:)), RoleCatalogue.roles(for: tenant).contains(role) else {
                throw AppError.invalid("rolle", de: "Bitte wählen Sie eine Rolle aus der Liste.", en: "Please choose a role from the list.")
            }
            guard RoleCatalogue.mayGrant(me.grants, memberTenants: me.memberTenants, role: role, tenant: tenant) else {
                throw AppError(.forbidden, "staff.grant_forbidden",
                               de: "Diese Rolle dürfen Sie nicht vergeben: Betriebskonten legt nur der Betrieb an, Konten des Landes nur das Land, Rollen eines Mandanten nur seine Administration.",
                               en: "You may not give this role.", field: "rolle")
            }
            var from: Date? = nil, until: Date? = nil
            if let raw = form.von?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
                guard let iso = CalendarDay.iso(raw), let d = GermanTime.startOfDay(iso) else {
                    throw AppError.invalid("von", de: "Bitte geben Sie den Beginn als Datum an, zum Beispiel 01.07.2026.", en: "Please enter the start as a date, e.g. 01/07/2026.")
                }
                from = d
            }
            if let raw = form.bis?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
                guard let iso = CalendarDay.iso(raw), let d = StaffDirectory.endOfDay(iso) else {
                    throw AppError.invalid("bis", de: "Bitte geben Sie das Ende als Datum an, zum Beispiel 31.08.2026.", en: "Please enter the end as a date, e.g. 31/08/2026.")
                }
                guard d > (from ?? .distantPast), d > Date() else {
                    throw AppError.invalid("bis", de: "Das Ende muss nach dem Beginn und in der Zukunft liegen.", en: "The end must be after the start and in the future.")
                }
                until = d
            }
            let note = try TextInput.optional(form.vertretung, field: "vertretung", label: "Vertretung für", max: 200) ?? ""
            let existing = try await User.query(on: req.db).filter(\.$email == email).first()
            if let existing, existing.kind != AccountKind.staff.rawValue {
                throw AppError(.conflict, "staff.citizen_account",
                               de: "Zu dieser E-Mail-Adresse gibt es ein Servicekonto von Bürgerinnen, Bürgern oder Unternehmen. Dienstkonten brauchen eine eigene, dienstliche Adresse.",
                               en: "This address belongs to a citizen or business account; staff accounts need their own work address.", field: "email")
            }
            if existing == nil, (form.name ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                throw AppError.invalid("name", de: "Bitte geben Sie den Namen der Person an, die Sie einladen.", en: "Please enter the name of the person you invite.")
            }
            let personName = try TextInput.optional(form.name, field: "name", label: "Name", max: 120) ?? existing?.name ?? email
            if let existing, let uid = existing.id {
                let held = try await RoleAssignment.query(on: req.db).filter(\.$userID == uid).filter(\.$role == role.rawValue).all()
                    .filter { $0.tenantARS == tenant && ($0.grant?.validUntil.map { $0 > Date() } ?? true) }
                if !held.isEmpty {
                    throw AppError(.conflict, "staff.duplicate", de: "\(existing.name) hat diese Rolle hier bereits. Ändern Sie dort das Ende, statt sie doppelt zu vergeben.",
                                   en: "This person already holds this role here.", field: "rolle")
                }
            }
            let publicURL = req.application.rathaus.publicURL
            let (start, end) = (from, until)
            let actor = req.principal.auditActor
            let result = try await req.db.transaction { db -> String in
                let user: User
                var token: String? = nil
                if let existing {
                    user = existing
                } else {
                    // no usable password until the invitee sets one through the link
                    user = User(email: email, name: personName, passwordHash: "!invited:" + randomURLToken())
                    try await user.create(on: db)
                    token = try await AccountToken.issue(on: db, user: user.requireID(), purpose: .invite, lifetime: Self.inviteLifetime)
                }
                let a = RoleAssignment(userID: try user.requireID(), role: role, tenantARS: tenant, validFrom: start, validUntil: end, note: note, createdBy: actor)
                try await a.create(on: db)
                let period = [start.map { "ab \(StaffDirectory.firstDay($0))" }, end.map { "bis \(StaffDirectory.lastDay($0))" }].compactMap { $0 }.joined(separator: " ")
                let roleDE = TextsDE.all["role_\(role.rawValue)"] ?? role.rawValue
                if let token {
                    try await Outbox.enqueue(on: db, key: "einladung-\(token.prefix(16))", to: email, subject: "Einladung zu Rathaus: \(name)",
                                             body: "Guten Tag \(personName),\n\n\(me.name) lädt Sie als „\(roleDE)“ für \(name) zu Rathaus ein\(period.isEmpty ? "" : " (\(period))").\n\nÜber diesen Link legen Sie Ihr Passwort fest (sieben Tage gültig, nur einmal verwendbar):\n\(publicURL)/einladung/\(token)\n\(role.requiresTOTP ? "\nBei der ersten Anmeldung richten Sie zusätzlich einen zweiten Faktor (Authenticator-App) ein.\n" : "")\nDiese Nachricht wurde automatisch erstellt.")
                } else {
                    try await Outbox.enqueue(on: db, key: "rolle-\(try a.requireID().uuidString)", to: email, subject: "Neue Rolle in Rathaus: \(name)",
                                             body: "Guten Tag \(user.name),\n\n\(me.name) hat Ihnen die Rolle „\(roleDE)“ für \(name) gegeben\(period.isEmpty ? "" : " (\(period))"). Wenn Sie für mehrere Stellen arbeiten, wählen Sie oben auf jeder Seite, für wen Sie handeln.\n\nDiese Nachricht wurde automatisch erstellt.")
                }
                try await Audit.record(on: db, actor: actor, actorID: req.principal.actorID, tenant: tenant, action: token == nil ? "staff.role_added" : "staff.invited",
                                       objectType: "user", objectID: email, before: nil,
                                       after: "Rolle \(role.rawValue)\(period.isEmpty ? "" : ", \(period)")\(note.isEmpty ? "" : ", Vertretung für \(note)")")
                return token == nil ? "hinzugefuegt" : "eingeladen"
            }
            return req.redirect(to: base(tenant) + "?erledigt=" + result, redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("tenant/personal", title: req.t("staff_title"), view(req, tenant: tenant, name: name, form: form), e)
        }
    }

    /// The assignment of the route, within the scope of the page.
    func assignment(_ req: Request, tenant: String?) async throws -> RoleAssignment {
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)), let a = try await RoleAssignment.find(id, on: req.db),
              a.tenantARS == tenant else { throw AppError.notFound }
        return a
    }

    /// Refuses a change that would leave the scope without an administrator or lock the acting person out.
    func checkStillAdministered(_ req: Request, _ a: RoleAssignment, tenant: String?, newEnd: Date?) async throws {
        guard let g = a.grant, let me = req.principal.staff else { return }
        let adminRole: Role = tenant == nil ? .operator : (tenant?.count == 2 ? .state : .tenantAdmin)
        guard g.role == adminRole else { return }
        let query = RoleAssignment.query(on: req.db).filter(\.$role == adminRole.rawValue)
        if let tenant { query.filter(\.$tenantARS == tenant) } else { query.filter(\.$tenantARS == nil) }
        let now = Date()
        let others = try await query.all().filter { $0.id != a.id }.compactMap(\.grant).filter { $0.isCurrent(at: now) && $0.validUntil == nil }
        if others.isEmpty {
            throw AppError(.conflict, "staff.last_admin",
                           de: "Das ist die letzte unbefristete Administrationsrolle hier. Geben Sie zuerst einer zweiten Person diese Rolle, damit die Stelle verwaltet bleibt.",
                           en: "This is the last open-ended administrator role here. Give the role to a second person first.")
        }
        if a.userID == me.userID, newEnd.map({ $0 <= now }) ?? true,
           !me.grants.contains(where: { $0 != g && RoleCatalogue.allows($0.role, grantTenant: $0.tenantARS, .staffManage, tenant: tenant) }) {
            throw AppError(.conflict, "staff.self_lockout",
                           de: "Damit würden Sie sich selbst die Verwaltung des Personals entziehen. Bitten Sie eine andere Administratorin oder einen anderen Administrator darum.",
                           en: "This would lock you out of staff administration. Ask another administrator.")
        }
    }

    struct EndForm: Content { var bis: String? }

    @Sendable func setEnd(req: Request) async throws -> Response {
        let (tenant, name) = try await scope(req)
        let a = try await assignment(req, tenant: tenant)
        do {
            guard let raw = (try? req.content.decode(EndForm.self))?.bis, let iso = CalendarDay.iso(raw), let end = StaffDirectory.endOfDay(iso) else {
                throw AppError.invalid("bis-\(a.id?.uuidString ?? "")", de: "Bitte geben Sie den letzten Tag der Rolle als Datum an, zum Beispiel 31.08.2026.",
                                       en: "Please enter the role's last day as a date, e.g. 31/08/2026.")
            }
            guard end > (a.validFrom ?? .distantPast) else {
                throw AppError.invalid("bis-\(a.id?.uuidString ?? "")", de: "Das Ende muss nach dem Beginn der Rolle liegen.", en: "The end must be after the role's start.")
            }
            try await checkStillAdministered(req, a, tenant: tenant, newEnd: end)
            let before = a.validUntil.map(StaffDirectory.lastDay) ?? "unbefristet"
            a.validUntil = end
            let email = try await User.find(a.userID, on: req.db)?.email ?? a.userID.uuidString
            try await req.db.transaction { db in
                try await a.save(on: db)
                try await Audit.record(on: db, actor: req.principal.auditActor, actorID: req.principal.actorID, tenant: tenant, action: "staff.role_end_set",
                                       objectType: "user", objectID: email, before: "Rolle \(a.role) bis \(before)", after: "Rolle \(a.role) bis \(StaffDirectory.lastDay(end))")
            }
            return req.redirect(to: base(tenant) + "?erledigt=beendet", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("tenant/personal", title: req.t("staff_title"), view(req, tenant: tenant, name: name), e)
        }
    }

    @Sendable func remove(req: Request) async throws -> Response {
        let (tenant, name) = try await scope(req)
        let a = try await assignment(req, tenant: tenant)
        do {
            try await checkStillAdministered(req, a, tenant: tenant, newEnd: nil)
            let email = try await User.find(a.userID, on: req.db)?.email ?? a.userID.uuidString
            try await req.db.transaction { db in
                try await a.delete(on: db)
                try await Audit.record(on: db, actor: req.principal.auditActor, actorID: req.principal.actorID, tenant: tenant, action: "staff.role_removed",
                                       objectType: "user", objectID: email, before: "Rolle \(a.role)", after: nil)
            }
            return req.redirect(to: base(tenant) + "?erledigt=entfernt", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("tenant/personal", title: req.t("staff_title"), view(req, tenant: tenant, name: name), e)
        }
    }

    // MARK: accepting an invitation

    struct AcceptView: Encodable { var token: String }

    @Sendable func acceptForm(req: Request) async throws -> Response {
        try await req.render("einladung", title: req.t("invite_title"), AcceptView(token: req.parameters.get("token") ?? ""), form: true)
    }

    @Sendable func accept(req: Request) async throws -> Response {
        let token = req.parameters.get("token") ?? ""
        let pw = (try? req.content.get(String.self, at: "passwort")) ?? ""
        let pw2 = (try? req.content.get(String.self, at: "passwort2")) ?? ""
        if let p = ServicekontoController.passwordProblem(pw, email: "") {
            return try await req.renderError("einladung", title: req.t("invite_title"), AcceptView(token: token), AppError.invalid("passwort", de: p, en: "Please choose another password (at least 10 characters)."))
        }
        guard pw == pw2 else {
            return try await req.renderError("einladung", title: req.t("invite_title"), AcceptView(token: token),
                                             AppError.invalid("passwort2", de: "Die beiden Passwörter stimmen nicht überein.", en: "The passwords do not match."))
        }
        let hash = try await req.password.async.hash(pw)
        let ok = try await req.db.transaction { db -> Bool in
            guard let uid = try await AccountToken.redeem(on: db, token, purpose: .invite), let u = try await User.find(uid, on: db),
                  u.kind == AccountKind.staff.rawValue else { return false }
            u.passwordHash = hash
            u.emailVerifiedAt = Date()
            u.sessionsValidSince = Date()
            try await u.save(on: db)
            try await Audit.record(on: db, actor: "user:\(u.email)", actorID: uid.uuidString, tenant: nil, action: "staff.invitation_accepted",
                                   objectType: "user", objectID: u.email, before: nil, after: nil)
            return true
        }
        guard ok else {
            return try await req.render("konto/hinweis", title: req.t("invite_title"),
                                        ServicekontoController.Notice(heading: req.t("invite_invalid_title"), text: req.t("invite_invalid_text"), link: "/anmelden", linkText: req.t("login_title")),
                                        status: .gone)
        }
        return try await req.render("konto/hinweis", title: req.t("invite_title"),
                                    ServicekontoController.Notice(heading: req.t("invite_done_title"), text: req.t("invite_done_text"), link: "/anmelden", linkText: req.t("login_title")))
    }
}

/// The header's choice of the tenant a person with roles in several tenants acts for.
struct ActingTenantController {
    func addRoutes(to app: any RoutesBuilder) {
        app.post("handeln-fuer", use: choose)
    }

    @Sendable func choose(req: Request) async throws -> Response {
        guard let s = req.principal.staff else { throw AppError.unauthenticated }
        let chosen = (try? req.content.get(String.self, at: "mandant")) ?? ""
        guard s.tenants.contains(chosen) else {
            throw AppError(.forbidden, "staff.no_role_here", de: "Für diese Stelle haben Sie keine Rolle.", en: "You hold no role for this body.")
        }
        req.session.data["tenant"] = chosen
        let grants = s.grants.filter { $0.tenantARS == chosen }
        return req.redirect(to: LoginController.home(grants), redirectType: .normal)
    }
}
