import Fluent
import Vapor

/// Login with e-mail + password, TOTP second factor (mandatory for operator and tenant admins),
/// throttling per account and per IP, logout.
struct LoginController {
    static let window: TimeInterval = 15 * 60
    static let maxFailuresPerAccount = 5
    static let maxFailuresPerIP = 20

    func addRoutes(to web: any RoutesBuilder) {
        web.get("anmelden", use: form)
        web.post("anmelden", use: login)
        web.get("anmelden", "code", use: codeForm)
        web.post("anmelden", "code", use: code)
        web.get("anmelden", "einrichten", use: setupForm)
        web.post("anmelden", "einrichten", use: setup)
        web.post("abmelden", use: logout)
    }

    struct LoginView: Encodable {
        var email: String
        var demoAccounts: [DemoAccountView]
    }

    struct LoginInput: Content { var email: String?; var passwort: String? }

    func loginView(_ req: Request, email: String = "") -> LoginView {
        LoginView(email: email, demoAccounts: req.application.rathaus.demo ? DemoData.accounts.map(DemoAccountView.init) : [])
    }

    @Sendable func form(req: Request) async throws -> Response {
        try await req.render("login", title: req.t("login_title"), loginView(req), form: true)
    }

    /// Reserves one attempt for the account and the client address (atomically, see
    /// `LoginThrottle`), or refuses it. Every allowed attempt is followed by `recordAttempt`.
    static func checkThrottle(_ req: Request, email: String) async throws {
        switch try await LoginThrottle.reserve(email: email, ip: req.clientIP, on: req.db, now: req.application.throttleClock.now()) {
        case .allowed:
            return
        case .accountLocked:
            throw AppError(.tooManyRequests, "auth.throttled",
                           de: "Zu viele fehlgeschlagene Anmeldeversuche für dieses Konto. Bitte warten Sie 15 Minuten und versuchen Sie es dann erneut.",
                           en: "Too many failed sign-in attempts for this account. Please wait 15 minutes and try again.")
        case .addressDelayed:
            throw AppError(.tooManyRequests, "auth.slow_down",
                           de: "Von Ihrer Adresse kamen viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie einen Moment (höchstens eine Minute) und versuchen Sie es erneut.",
                           en: "Many failed sign-in attempts came from your address. Please wait a moment (at most a minute) and try again.")
        }
    }

    /// The outcome of an attempt that `checkThrottle` allowed; kept as history, and a success
    /// gives the throttle its reservation back.
    static func recordAttempt(_ req: Request, email: String, success: Bool) async throws {
        try await LoginAttempt(email: email, ip: req.clientIP, success: success, at: Date()).create(on: req.db)
        if success { try await LoginThrottle.succeeded(email: email, ip: req.clientIP, on: req.db) }
    }

    @Sendable func login(req: Request) async throws -> Response {
        let input = try? req.content.decode(LoginInput.self)
        let email = (input?.email ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let password = input?.passwort ?? ""
        do {
            guard !email.isEmpty, email.count <= 254 else {
                throw AppError.invalid("email", de: "Bitte geben Sie Ihre E-Mail-Adresse an.", en: "Please enter your e-mail address.")
            }
            guard !password.isEmpty, password.count <= 200 else {
                throw AppError.invalid("passwort", de: "Bitte geben Sie Ihr Passwort an.", en: "Please enter your password.")
            }
            try await Self.checkThrottle(req, email: email)
            let user = try await User.query(on: req.db).filter(\.$email == email).first()
            // verify against a fixed hash when the account does not exist, so timing tells nothing
            let hash = user?.passwordHash ?? req.application.storage[DummyPasswordHashKey.self] ?? ""
            let ok = (try? await req.password.async.verify(password, created: hash)) ?? false
            var grants: [RoleGrant] = []
            if let uid = user?.id { grants = try await RoleAssignment.all(of: uid, on: req.db) }
            let now = Date()
            guard ok, let user, !user.disabled, user.kind == AccountKind.staff.rawValue, grants.contains(where: { $0.isCurrent(at: now) }),
                  let id = user.id else {
                try await Self.recordAttempt(req, email: email, success: false)
                try await req.db.transaction { db in
                    try await Audit.record(on: db, actor: "anonym", actorID: nil, tenant: nil, action: "auth.login_failed",
                                           objectType: "user", objectID: email, before: nil, after: "IP \(req.clientIP)")
                }
                throw AppError(.unauthorized, "auth.invalid", de: "E-Mail-Adresse oder Passwort ist falsch.",
                               en: "E-mail address or password is wrong.", field: "email")
            }
            let rules = try await StaffSecurity.rules(for: grants, on: req.db)
            guard StaffSecurity.usable(grants.filter { $0.isCurrent(at: now) }, from: req.clientIP, rules: rules).count > 0 else {
                try await Self.recordAttempt(req, email: email, success: false)
                try await req.db.transaction { db in
                    try await Audit.record(on: db, actor: "user:\(email)", actorID: id.uuidString, tenant: nil, action: "auth.login_network",
                                           objectType: "user", objectID: email, before: nil, after: "IP \(req.clientIP) außerhalb der erlaubten Netze")
                }
                throw AppError(.forbidden, "auth.network", de: "Ihre Verwaltung erlaubt die Anmeldung nur aus ihren eigenen Netzen. Bitte melden Sie sich vom Arbeitsplatz oder über das Verwaltungsnetz an.",
                               en: "Your administration only allows sign-in from its own networks. Please sign in from your workplace or through the administration's network.", field: "email")
            }
            try await Self.recordAttempt(req, email: email, success: true)
            try await Self.rotateSession(req)
            req.session.data["uid"] = id.uuidString
            req.session.data["ip"] = String(req.clientIP.prefix(45))
            req.session.data["ua"] = String((req.headers.first(name: .userAgent) ?? "").prefix(300))
            // a second factor when any role the person holds (or will hold) needs one, or their tenant asks for it
            if StaffSecurity.totpRequired(grants, rules: rules) {
                req.session.data["auth"] = "pending"
                return req.redirect(to: user.totpEnabled ? "/anmelden/code" : "/anmelden/einrichten", redirectType: .normal)
            }
            req.session.data["auth"] = "full"
            try await req.db.transaction { db in
                try await Audit.record(on: db, actor: "user:\(email)", actorID: id.uuidString, tenant: nil,
                                       action: "auth.login", objectType: "user", objectID: email, before: nil, after: "IP \(req.clientIP)")
            }
            return req.redirect(to: Self.home(grants.filter { $0.isCurrent(at: now) }), redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("login", title: req.t("login_title"), loginView(req, email: email), e)
        }
    }

    /// A new session id after the password check, so a planted session id is worth nothing.
    static func rotateSession(_ req: Request) async throws {
        if let old = req.session.id {
            try await SessionRecord.query(on: req.db).filter(\.$key == old).delete()
        }
        req.session.id = nil
        req.session.data["csrf"] = nil
        req.session.data["since"] = String(Date().timeIntervalSince1970)
    }

    /// The start page for a person's current roles (the highest-ranking one decides).
    static func home(_ grants: [RoleGrant]) -> String {
        let tenant = StaffPrincipal.actingTenant(grants, chosen: nil)
        guard let role = RoleCatalogue.rank.first(where: { r in grants.contains { $0.role == r } }) else { return "/" }
        return home(role: role, tenant: tenant)
    }

    static func home(role: Role, tenant: String?) -> String {
        switch role {
        case .operator: "/betrieb"
        case .state: "/uebersicht"
        case .competenceCentre: "/kompetenzzentrum"
        case .cert: "/betrieb/sicherheitsvorfaelle"
        case .tenantAdmin, .clerk: tenant.map { "/mandanten/\($0)" } ?? "/"
        case .cashOffice: tenant.map { "/mandanten/\($0)/kasse" } ?? "/"
        case .fundingOfficer: "/foerderung"
        case .fundingClerk, .signatory: tenant.map { "/mandanten/\($0)/foerderung" } ?? "/"
        case .isb: tenant.map { "/mandanten/\($0)/isms" } ?? "/"
        case .procurement: "/einkauf"
        case .procurementClerk: tenant.map { "/mandanten/\($0)/beschaffung" } ?? "/"
        }
    }

    /// The user who passed the password step and still owes the second factor.
    func pendingUser(_ req: Request) async throws -> User {
        guard req.hasSession, req.session.data["auth"] == "pending", let uid = req.session.data["uid"],
              let id = UUID(uuidString: uid), let user = try await User.find(id, on: req.db) else {
            throw AppError(.unauthorized, "auth.pending_missing", de: "Bitte melden Sie sich zuerst mit E-Mail-Adresse und Passwort an.",
                           en: "Please sign in with e-mail and password first.")
        }
        return user
    }

    struct CodeView: Encodable {
        var demoCode: String?
        var demoNote: String?
        var secret: String?
        var uri: String?
    }

    func codeView(_ req: Request, _ user: User, secret: String? = nil) -> CodeView {
        var demoCode: String? = nil
        let s = secret ?? user.totpSecret
        var demoNote: String? = nil
        if req.application.rathaus.demo, user.isDemo, let s {
            let now = Date()
            let step = TOTP.step(at: now)
            if secret == nil, step <= user.totpLastStep {
                // The shown code was just used; the next one is accepted already (one step of clock
                // tolerance) and becomes the current one in a few seconds.
                let seconds = Int(Double((step + 1) * 30) - now.timeIntervalSince1970) + 1
                demoCode = TOTP.code(secret: s, step: user.totpLastStep + 1)
                demoNote = req.lang == .en
                    ? "The previous code was just used. Use this next code; it becomes the current one in \(seconds) seconds."
                    : "Der vorige Code wurde gerade verwendet. Nutzen Sie diesen nächsten Code; er ist in \(seconds) Sekunden der aktuelle."
            } else {
                demoCode = TOTP.code(secret: s, step: step)
            }
        }
        return CodeView(demoCode: demoCode, demoNote: demoNote, secret: secret, uri: secret.map { TOTP.otpauthURI(secret: $0, account: user.email) })
    }

    @Sendable func codeForm(req: Request) async throws -> Response {
        let user = try await pendingUser(req)
        guard user.totpEnabled else { return req.redirect(to: "/anmelden/einrichten") }
        return try await req.render("login-code", title: req.t("login_code_title"), codeView(req, user), form: true)
    }

    struct CodeInput: Content { var code: String? }

    @Sendable func code(req: Request) async throws -> Response {
        let user = try await pendingUser(req)
        let code = (try? req.content.decode(CodeInput.self))?.code ?? ""
        do {
            try await Self.checkThrottle(req, email: user.email)
            guard let secret = user.totpSecret, user.totpEnabled, let id = user.id,
                  let step = TOTP.verify(code: code, secret: secret, at: Date(), after: user.totpLastStep),
                  try await TOTPReplay.claim(userID: id, step: step, on: req.db) else {
                try await Self.recordAttempt(req, email: user.email, success: false)
                throw AppError(.unauthorized, "auth.totp_invalid", de: "Der Sicherheitscode ist falsch, abgelaufen oder wurde schon verwendet. Bitte geben Sie den aktuellen sechsstelligen Code aus Ihrer Authenticator-App ein.",
                               en: "The security code is wrong, expired or already used. Enter the current six-digit code from your authenticator app.", field: "code")
            }
            try await Self.recordAttempt(req, email: user.email, success: true)
            try await finish(req, user, step: step, action: "auth.login")
            // Servicekonto holders with a second factor return to where they were going
            let target = user.kind == AccountKind.staff.rawValue
                ? Self.home(try await RoleAssignment.current(of: user.requireID(), on: req.db))
                : SafeRedirect.localPath(req.session.data["weiter"], fallback: "/konto")
            return req.redirect(to: target, redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("login-code", title: req.t("login_code_title"), codeView(req, user), e)
        }
    }

    func finish(_ req: Request, _ user: User, step: Int, action: String) async throws {
        user.totpLastStep = step
        try await req.db.transaction { db in
            try await user.save(on: db)
            try await Audit.record(on: db, actor: "user:\(user.email)", actorID: user.id?.uuidString, tenant: nil,
                                   action: action, objectType: "user", objectID: user.email, before: nil, after: "IP \(req.clientIP), 2FA")
        }
        req.session.data["auth"] = "full"
        req.session.data["totp_setup"] = nil
    }

    @Sendable func setupForm(req: Request) async throws -> Response {
        let user = try await pendingUser(req)
        guard !user.totpEnabled else { return req.redirect(to: "/anmelden/code") }
        let secret = req.session.data["totp_setup"] ?? (user.isDemo ? user.totpSecret : nil) ?? TOTP.newSecret()
        req.session.data["totp_setup"] = secret
        return try await req.render("login-setup", title: req.t("login_setup_title"), codeView(req, user, secret: secret), form: true)
    }

    @Sendable func setup(req: Request) async throws -> Response {
        let user = try await pendingUser(req)
        guard !user.totpEnabled else { return req.redirect(to: "/anmelden/code") }
        guard let secret = req.session.data["totp_setup"] else { return req.redirect(to: "/anmelden/einrichten") }
        let code = (try? req.content.decode(CodeInput.self))?.code ?? ""
        do {
            try await Self.checkThrottle(req, email: user.email)
            guard let id = user.id, let step = TOTP.verify(code: code, secret: secret, at: Date(), after: 0),
                  try await TOTPReplay.claim(userID: id, step: step, on: req.db) else {
                try await Self.recordAttempt(req, email: user.email, success: false)
                throw AppError(.badRequest, "auth.totp_invalid", de: "Der Code passt nicht zum angezeigten Schlüssel. Prüfen Sie die Uhrzeit Ihres Geräts und geben Sie den aktuellen Code ein.",
                               en: "The code does not match the key shown. Check your device's clock and enter the current code.", field: "code")
            }
            user.totpSecret = secret
            user.totpEnabled = true
            try await Self.recordAttempt(req, email: user.email, success: true)
            try await finish(req, user, step: step, action: "auth.totp_enrolled")
            return req.redirect(to: Self.home(try await RoleAssignment.current(of: id, on: req.db)), redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("login-setup", title: req.t("login_setup_title"), codeView(req, user, secret: secret), e)
        }
    }

    @Sendable func logout(req: Request) async throws -> Response {
        if let old = req.session.id {
            try await SessionRecord.query(on: req.db).filter(\.$key == old).delete()
        }
        req.session.destroy()
        return req.redirect(to: "/", redirectType: .normal)
    }
}
