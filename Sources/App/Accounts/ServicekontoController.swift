import Fluent
import Forms
import Vapor
import RathausCore

/// The Servicekonto for citizens and businesses: registration with e-mail verification, login
/// (password, optional TOTP), password reset, overview, profile with consents, data export and
/// deletion. Staff keep their own login at /anmelden.
struct ServicekontoController {
    static let verifyLifetime: TimeInterval = 48 * 3600
    static let resetLifetime: TimeInterval = 3600

    func addRoutes(to web: any RoutesBuilder) {
        let k = web.grouped("konto")
        k.get(use: overview)
        k.get("registrieren", use: registerForm)
        k.post("registrieren", use: register)
        k.get("bestaetigen", ":token", use: verify)
        k.get("anmelden", use: loginForm)
        k.post("anmelden", use: login)
        k.get("passwort-vergessen", use: forgotForm)
        k.post("passwort-vergessen", use: forgot)
        k.get("passwort-neu", ":token", use: resetForm)
        k.post("passwort-neu", ":token", use: reset)
        k.get("profil", use: profileForm)
        k.post("profil", use: saveProfile)
        k.post("einwilligungen", ":slug", "widerrufen", use: withdrawConsent)
        k.get("daten", use: export)
        k.get("loeschen", use: deleteForm)
        k.post("loeschen", use: delete)
        k.post("unternehmen", "mitglieder", use: addMember)
        k.get("sicherheit", use: securityPage)
        k.post("sicherheit", use: security)
    }

    // MARK: helpers

    /// Sends anonymous visitors to the login and back afterwards.
    static func loginRedirect(_ req: Request) -> Response {
        let back = req.url.path + (req.url.query.map { "?" + $0 } ?? "")
        return req.redirect(to: "/konto/anmelden?weiter=" + (back.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/konto"), redirectType: .normal)
    }

    /// Only local paths, never another host.
    static func safeNext(_ raw: String?) -> String {
        SafeRedirect.localPath(raw, fallback: "/konto")
    }

    static func passwordProblem(_ pw: String, email: String) -> String? {
        if pw.count < 10 { return "Das Passwort muss mindestens 10 Zeichen lang sein." }
        if pw.count > 200 { return "Das Passwort darf höchstens 200 Zeichen lang sein." }
        let lower = pw.lowercased()
        if lower == email || ["passwort123", "password123", "1234567890", "qwertzuiop", "0987654321"].contains(lower) {
            return "Dieses Passwort ist zu leicht zu erraten. Bitte wählen Sie ein anderes."
        }
        if Set(pw).count < 4 { return "Das Passwort muss mindestens vier verschiedene Zeichen enthalten." }
        return nil
    }

    // MARK: registration

    struct RegisterView: Encodable {
        var vorname = "", nachname = "", email = "", kontoart = "privat", firma = "", registernummer = ""
        var done = false
        var err: [String: String] = [:]
    }

    @Sendable func registerForm(req: Request) async throws -> Response {
        try await req.render("konto/registrieren", title: req.t("sk_register_title"), RegisterView(), form: true)
    }

    @Sendable func register(req: Request) async throws -> Response {
        func s(_ k: String) -> String { ((try? req.content.get(String.self, at: k)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        var v = RegisterView(vorname: s("vorname"), nachname: s("nachname"), email: s("email").lowercased(),
                             kontoart: s("kontoart") == "unternehmen" ? "unternehmen" : "privat", firma: s("firma"), registernummer: s("registernummer"))
        let pw = (try? req.content.get(String.self, at: "passwort")) ?? ""
        let pw2 = (try? req.content.get(String.self, at: "passwort2")) ?? ""
        var errors: [FieldError] = []
        if v.vorname.isEmpty || v.vorname.count > 100 { errors.append(FieldError(field: "vorname", message: "Bitte geben Sie Ihren Vornamen an (höchstens 100 Zeichen).")) }
        if v.nachname.isEmpty || v.nachname.count > 100 { errors.append(FieldError(field: "nachname", message: "Bitte geben Sie Ihren Nachnamen an (höchstens 100 Zeichen).")) }
        if !FormEngine.emailOK(v.email) { errors.append(FieldError(field: "email", message: "Bitte geben Sie eine gültige E-Mail-Adresse an, z. B. name@beispiel.de.")) }
        if let p = Self.passwordProblem(pw, email: v.email) { errors.append(FieldError(field: "passwort", message: p)) }
        else if pw != pw2 { errors.append(FieldError(field: "passwort2", message: "Die beiden Passwörter stimmen nicht überein.")) }
        if v.kontoart == "unternehmen" {
            if v.firma.isEmpty || v.firma.count > 150 { errors.append(FieldError(field: "firma", message: "Bitte geben Sie den Namen des Unternehmens an.")) }
            if v.registernummer.count > 40 { errors.append(FieldError(field: "registernummer", message: "Die Registernummer ist zu lang.")) }
        }
        if s("datenschutz") != "ja" { errors.append(FieldError(field: "datenschutz", message: "Bitte bestätigen Sie, dass Sie die Datenschutzhinweise gelesen haben.")) }
        guard errors.isEmpty else {
            v.err = Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
            return try await req.render("konto/registrieren", title: req.t("sk_register_title"), v, errors: errors, status: .unprocessableEntity, form: true)
        }
        let hash = try await req.password.async.hash(pw)
        let app = req.application
        let base = app.rathaus.publicURL
        let email = v.email, name = "\(v.vorname) \(v.nachname)", kind = v.kontoart, firma = v.firma, reg = v.registernummer
        let vorname = v.vorname, nachname = v.nachname
        do {
        try await req.db.transaction { db in
            if try await User.query(on: db).filter(\.$email == email).first() != nil {
                // Same answer as for a new address, so the form does not reveal who has an account;
                // the owner learns about the attempt by mail.
                try await Outbox.enqueue(on: db, key: "konto-doppelt-\(email)-\(Int(Date().timeIntervalSince1970 / 600))", to: email,
                                         subject: "Registrierung mit Ihrer E-Mail-Adresse",
                                         body: "Guten Tag,\n\njemand hat versucht, mit dieser E-Mail-Adresse ein Servicekonto anzulegen. Sie haben bereits ein Konto.\nFalls Sie Ihr Passwort vergessen haben: \(base)/konto/passwort-vergessen\n\nDiese Nachricht wurde automatisch erstellt.")
                return
            }
            let u = User()
            u.kind = kind == "unternehmen" ? AccountKind.business.rawValue : AccountKind.citizen.rawValue
            u.email = email
            u.name = name
            u.passwordHash = hash
            u.role = nil
            u.tenantARS = nil
            u.officeIDs = ""
            u.totpEnabled = false
            u.totpLastStep = 0
            u.isDemo = false
            u.disabled = false
            try await u.create(on: db)
            let uid = try u.requireID()
            let p = Profile.empty(uid)
            p.vorname = vorname
            p.nachname = nachname
            try await p.create(on: db)
            if kind == "unternehmen" {
                let o = Organisation()
                o.name = firma; o.registerNumber = reg; o.createdAt = Date()
                try await o.create(on: db)
                let m = OrganisationMember()
                m.organisationID = try o.requireID(); m.userID = uid; m.role = "inhaber"; m.createdAt = Date()
                try await m.create(on: db)
            }
            let token = try await AccountToken.issue(on: db, user: uid, purpose: .verify, lifetime: Self.verifyLifetime)
            try await Outbox.enqueue(on: db, key: "konto-bestaetigen-\(uid.uuidString)", to: email, subject: "Bitte bestätigen Sie Ihre E-Mail-Adresse",
                                     body: "Guten Tag \(name),\n\nbitte bestätigen Sie Ihre E-Mail-Adresse für Ihr Servicekonto, indem Sie diesen Link öffnen (48 Stunden gültig):\n\(base)/konto/bestaetigen/\(token)\n\nFalls Sie sich nicht registriert haben, ignorieren Sie diese Nachricht.\n\nDiese Nachricht wurde automatisch erstellt.")
            try await Audit.record(on: db, actor: "konto:\(email)", actorID: uid.uuidString, tenant: nil, action: "konto.register",
                                   objectType: "user", objectID: email, before: nil, after: kind)
        }
        } catch {
            // a parallel registration of the same address won the unique index: same neutral answer
            guard try await User.query(on: req.db).filter(\.$email == email).first() != nil else { throw error }
        }
        return try await req.render("konto/hinweis", title: req.t("sk_register_title"),
                                    Notice(heading: req.t("sk_register_sent_title"), text: req.t("sk_register_sent_text"), link: "/konto/anmelden", linkText: req.t("sk_to_login")))
    }

    struct Notice: Encodable { var heading: String; var text: String; var link: String; var linkText: String }

    @Sendable func verify(req: Request) async throws -> Response {
        let token = req.parameters.get("token") ?? ""
        let ok = try await req.db.transaction { db -> Bool in
            guard let uid = try await AccountToken.redeem(on: db, token, purpose: .verify), let u = try await User.find(uid, on: db) else { return false }
            u.emailVerifiedAt = Date()
            try await u.save(on: db)
            try await Audit.record(on: db, actor: "konto:\(u.email)", actorID: uid.uuidString, tenant: nil, action: "konto.verify",
                                   objectType: "user", objectID: u.email, before: nil, after: nil)
            return true
        }
        if !ok {
            return try await req.render("konto/hinweis", title: req.t("sk_verify_title"),
                                        Notice(heading: req.t("sk_verify_invalid_title"), text: req.t("sk_verify_invalid_text"), link: "/konto/registrieren", linkText: req.t("sk_register_title")),
                                        status: .gone)
        }
        return try await req.render("konto/hinweis", title: req.t("sk_verify_title"),
                                    Notice(heading: req.t("sk_verify_done_title"), text: req.t("sk_verify_done_text"), link: "/konto/anmelden", linkText: req.t("sk_to_login")))
    }

    // MARK: login

    struct LoginView: Encodable { var email: String; var next: String; var oidc: String = "" }

    @Sendable func loginForm(req: Request) async throws -> Response {
        try await req.render("konto/anmelden", title: req.t("sk_login_title"),
                             LoginView(email: "", next: Self.safeNext(req.query[String.self, at: "weiter"]), oidc: req.application.oidc?.name ?? ""), form: true)
    }

    @Sendable func login(req: Request) async throws -> Response {
        let email = ((try? req.content.get(String.self, at: "email")) ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let password = (try? req.content.get(String.self, at: "passwort")) ?? ""
        let next = Self.safeNext(try? req.content.get(String.self, at: "weiter"))
        let view = LoginView(email: email, next: next, oidc: req.application.oidc?.name ?? "")
        do {
            guard !email.isEmpty, email.count <= 254, !password.isEmpty, password.count <= 200 else {
                throw AppError.invalid("email", de: "Bitte geben Sie E-Mail-Adresse und Passwort an.", en: "Please enter e-mail and password.")
            }
            try await LoginController.checkThrottle(req, email: email)
            let user = try await User.query(on: req.db).filter(\.$email == email).first()
            let hash = user?.passwordHash ?? req.application.storage[DummyPasswordHashKey.self] ?? ""
            let ok = (try? await req.password.async.verify(password, created: hash)) ?? false
            guard ok, let user, !user.disabled, user.kind != AccountKind.staff.rawValue, let id = user.id else {
                try await LoginController.recordAttempt(req, email: email, success: false)
                throw AppError(.unauthorized, "auth.invalid", de: "E-Mail-Adresse oder Passwort ist falsch.", en: "E-mail address or password is wrong.", field: "email")
            }
            guard user.emailVerifiedAt != nil else {
                // the password was right: the attempt does not count against the account
                try await LoginController.recordAttempt(req, email: email, success: true)
                throw AppError(.forbidden, "konto.unverified", de: "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse über den Link in der E-Mail, die wir Ihnen geschickt haben.",
                               en: "Please confirm your e-mail address first, using the link we sent you.", field: "email")
            }
            try await LoginController.recordAttempt(req, email: email, success: true)
            try await LoginController.rotateSession(req)
            req.session.data["uid"] = id.uuidString
            req.session.data["trust"] = TrustLevel.basisregistrierung.rawValue
            IdentificationReports.remember(req, level: .basisregistrierung, via: nil)
            req.session.data["weiter"] = next
            if user.totpEnabled {
                req.session.data["auth"] = "pending"
                return req.redirect(to: "/anmelden/code", redirectType: .normal)
            }
            req.session.data["auth"] = "full"
            try await req.db.transaction { db in
                try await Audit.record(on: db, actor: "konto:\(email)", actorID: id.uuidString, tenant: nil, action: "auth.login",
                                       objectType: "user", objectID: email, before: nil, after: "IP \(req.clientIP)")
            }
            return req.redirect(to: next, redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("konto/anmelden", title: req.t("sk_login_title"), view, e)
        }
    }

    // MARK: password reset

    @Sendable func forgotForm(req: Request) async throws -> Response {
        try await req.render("konto/passwort-vergessen", title: req.t("sk_forgot_title"), LoginView(email: "", next: ""), form: true)
    }

    @Sendable func forgot(req: Request) async throws -> Response {
        let email = ((try? req.content.get(String.self, at: "email")) ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        guard FormEngine.emailOK(email) else {
            return try await req.renderError("konto/passwort-vergessen", title: req.t("sk_forgot_title"), LoginView(email: email, next: ""),
                                             AppError.invalid("email", de: "Bitte geben Sie eine gültige E-Mail-Adresse an.", en: "Please enter a valid e-mail address."))
        }
        let base = req.application.rathaus.publicURL
        try await req.db.transaction { db in
            guard let u = try await User.query(on: db).filter(\.$email == email).first(), u.kind != AccountKind.staff.rawValue, !u.disabled, let uid = u.id else { return }
            let token = try await AccountToken.issue(on: db, user: uid, purpose: .reset, lifetime: Self.resetLifetime)
            try await Outbox.enqueue(on: db, key: "konto-reset-\(token.prefix(16))", to: email, subject: "Neues Passwort für Ihr Servicekonto",
                                     body: "Guten Tag,\n\nüber diesen Link können Sie ein neues Passwort festlegen (eine Stunde gültig, nur einmal verwendbar):\n\(base)/konto/passwort-neu/\(token)\n\nFalls Sie das nicht angefordert haben, ignorieren Sie diese Nachricht; Ihr Passwort bleibt unverändert.\n\nDiese Nachricht wurde automatisch erstellt.")
            try await Audit.record(on: db, actor: "anonym", actorID: nil, tenant: nil, action: "konto.reset_requested", objectType: "user", objectID: email,
                                   before: nil, after: "IP \(req.clientIP)")
        }
        // the same answer whether or not the address has an account
        return try await req.render("konto/hinweis", title: req.t("sk_forgot_title"),
                                    Notice(heading: req.t("sk_forgot_sent_title"), text: req.t("sk_forgot_sent_text"), link: "/konto/anmelden", linkText: req.t("sk_to_login")))
    }

    struct ResetView: Encodable { var token: String }

    @Sendable func resetForm(req: Request) async throws -> Response {
        try await req.render("konto/passwort-neu", title: req.t("sk_reset_title"), ResetView(token: req.parameters.get("token") ?? ""), form: true)
    }

    @Sendable func reset(req: Request) async throws -> Response {
        let token = req.parameters.get("token") ?? ""
        let pw = (try? req.content.get(String.self, at: "passwort")) ?? ""
        let pw2 = (try? req.content.get(String.self, at: "passwort2")) ?? ""
        if let p = Self.passwordProblem(pw, email: "") {
            return try await req.renderError("konto/passwort-neu", title: req.t("sk_reset_title"), ResetView(token: token), AppError.invalid("passwort", de: p, en: "Please choose another password."))
        }
        guard pw == pw2 else {
            return try await req.renderError("konto/passwort-neu", title: req.t("sk_reset_title"), ResetView(token: token),
                                             AppError.invalid("passwort2", de: "Die beiden Passwörter stimmen nicht überein.", en: "The passwords do not match."))
        }
        let hash = try await req.password.async.hash(pw)
        let ok = try await req.db.transaction { db -> Bool in
            guard let uid = try await AccountToken.redeem(on: db, token, purpose: .reset), let u = try await User.find(uid, on: db) else { return false }
            u.passwordHash = hash
            // a reset also proves the address
            if u.emailVerifiedAt == nil { u.emailVerifiedAt = Date() }
            // every other session of the account ends (sessions older than this are refused)
            u.sessionsValidSince = Date()
            try await u.save(on: db)
            try await Audit.record(on: db, actor: "konto:\(u.email)", actorID: uid.uuidString, tenant: nil, action: "konto.password_reset",
                                   objectType: "user", objectID: u.email, before: nil, after: nil)
            return true
        }
        guard ok else {
            return try await req.render("konto/hinweis", title: req.t("sk_reset_title"),
                                        Notice(heading: req.t("sk_reset_invalid_title"), text: req.t("sk_reset_invalid_text"), link: "/konto/passwort-vergessen", linkText: req.t("sk_forgot_title")),
                                        status: .gone)
        }
        return try await req.render("konto/hinweis", title: req.t("sk_reset_title"),
                                    Notice(heading: req.t("sk_reset_done_title"), text: req.t("sk_reset_done_text"), link: "/konto/anmelden", linkText: req.t("sk_to_login")))
    }

    // MARK: overview

    struct CaseRow: Encodable { var id: String; var title: String; var reference: String; var status: String; var place: String; var date: String; var draft: Bool; var link: String }
    struct OverviewView: Encodable {
        var name: String; var email: String; var trust: String; var unread: Int
        var drafts: [CaseRow]; var cases: [CaseRow]; var hasDrafts: Bool; var hasCases: Bool
        var business: Bool; var company: String; var members: [MemberRow]; var isOwner: Bool
    }
    struct MemberRow: Encodable { var name: String; var email: String; var role: String }

    @Sendable func overview(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return Self.loginRedirect(req) }
        let all = try await Antrag.query(on: req.db).filter(\.$applicantID == me.userID).sort(\.$updatedAt, .descending).all()
        func row(_ a: Antrag) -> CaseRow {
            let id = a.id?.uuidString ?? ""
            return CaseRow(id: id, title: a.serviceTitle, reference: a.reference ?? "", status: a.caseStatus?.label ?? (DisplayLanguage.english ? "Draft" : "Entwurf"), place: a.tenantName,
                           date: GermanTime.format(a.submittedAt ?? a.updatedAt), draft: a.isDraft,
                           link: a.isDraft ? "/konto/antraege/\(id)/weiter" : "/konto/antraege/\(id)")
        }
        let unread = try await PostboxMessage.query(on: req.db).filter(\.$recipientID == me.userID).filter(\.$readAt == nil).count()
        var company = "", members: [MemberRow] = [], owner = false
        if me.kind == .business, let m = try await OrganisationMember.query(on: req.db).filter(\.$userID == me.userID).first(),
           let org = try await Organisation.find(m.organisationID, on: req.db) {
            company = org.name + (org.registerNumber.isEmpty ? "" : " (\(org.registerNumber))")
            owner = m.role == "inhaber"
            for mm in try await OrganisationMember.query(on: req.db).filter(\.$organisationID == m.organisationID).all() {
                if let u = try await User.find(mm.userID, on: req.db) { members.append(MemberRow(name: u.name, email: u.email, role: mm.role)) }
            }
        }
        let drafts = all.filter(\.isDraft).map(row), cases = all.filter { !$0.isDraft }.map(row)
        return try await req.render("konto/uebersicht", title: req.t("sk_overview_title"),
                                    OverviewView(name: me.name, email: me.email, trust: me.trustLevel.label, unread: unread, drafts: drafts, cases: cases,
                                                 hasDrafts: !drafts.isEmpty, hasCases: !cases.isEmpty, business: me.kind == .business, company: company,
                                                 members: members, isOwner: owner), form: true)
    }

    /// The owner of a business account adds another (verified) Servicekonto as a member.
    @Sendable func addMember(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return Self.loginRedirect(req) }
        guard let mine = try await OrganisationMember.query(on: req.db).filter(\.$userID == me.userID).first(), mine.role == "inhaber" else { throw AppError.forbidden }
        let email = ((try? req.content.get(String.self, at: "email")) ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let role = (try? req.content.get(String.self, at: "rolle")) == "inhaber" ? "inhaber" : "mitglied"
        guard let u = try await User.query(on: req.db).filter(\.$email == email).first(), u.kind != AccountKind.staff.rawValue, u.emailVerifiedAt != nil, let uid = u.id else {
            throw AppError(.unprocessableEntity, "konto.member_unknown", de: "Zu dieser E-Mail-Adresse gibt es kein bestätigtes Servicekonto. Die Person muss sich zuerst registrieren.",
                           en: "There is no confirmed account for this address.", field: "email")
        }
        if try await OrganisationMember.query(on: req.db).filter(\.$organisationID == mine.organisationID).filter(\.$userID == uid).first() != nil {
            throw AppError(.conflict, "konto.member_exists", de: "Diese Person ist bereits Mitglied des Unternehmenskontos.", en: "Already a member.", field: "email")
        }
        try await req.db.transaction { db in
            let m = OrganisationMember()
            m.organisationID = mine.organisationID; m.userID = uid; m.role = role; m.createdAt = Date()
            try await m.create(on: db)
            try await Audit.record(on: db, actor: "konto:\(me.email)", actorID: me.userID.uuidString, tenant: nil, action: "konto.member_add",
                                   objectType: "organisation", objectID: mine.organisationID.uuidString, before: nil, after: "\(email) als \(role)")
        }
        return req.redirect(to: "/konto", redirectType: .normal)
    }

    // MARK: profile and consents

    struct ConsentRow: Encodable { var slug: String; var title: String; var since: String }
    struct ProfileView: Encodable {
        var p: [String: String]; var consents: [ConsentRow]; var hasConsents: Bool; var saved: Bool; var err: [String: String]
    }

    func profileView(_ req: Request, _ p: Profile, saved: Bool = false, errors: [FieldError] = []) async throws -> ProfileView {
        let consents = try await Consent.query(on: req.db).filter(\.$userID == p.userID).filter(\.$withdrawnAt == nil).all()
        var rows: [ConsentRow] = []
        for c in consents {
            let title = try await OnlineServiceCatalogue.latest(c.serviceSlug, on: req.db)?.title ?? c.serviceSlug
            rows.append(ConsentRow(slug: c.serviceSlug, title: title, since: GermanTime.format(c.grantedAt)))
        }
        let dict = ["vorname": p.vorname, "nachname": p.nachname, "geburtsdatum": p.geburtsdatum.isEmpty ? "" : FormEngine.germanDate(p.geburtsdatum),
                    "strasse": p.strasse, "hausnummer": p.hausnummer, "plz": p.plz, "ort": p.ort, "telefon": p.telefon]
        return ProfileView(p: dict, consents: rows, hasConsents: !rows.isEmpty, saved: saved,
                           err: Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a }))
    }

    static func profile(of user: UUID, on db: any Database) async throws -> Profile {
        try await Profile.query(on: db).filter(\.$userID == user).first() ?? Profile.empty(user)
    }

    @Sendable func profileForm(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return Self.loginRedirect(req) }
        let p = try await Self.profile(of: me.userID, on: req.db)
        return try await req.render("konto/profil", title: req.t("sk_profile_title"), try await profileView(req, p, saved: req.query[String.self, at: "gespeichert"] != nil), form: true)
    }

    @Sendable func saveProfile(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return Self.loginRedirect(req) }
        func s(_ k: String) -> String { ((try? req.content.get(String.self, at: k)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let p = try await Self.profile(of: me.userID, on: req.db)
        p.vorname = String(s("vorname").prefix(100)); p.nachname = String(s("nachname").prefix(100))
        p.strasse = String(s("strasse").prefix(100)); p.hausnummer = String(s("hausnummer").prefix(12)); p.plz = s("plz"); p.ort = String(s("ort").prefix(100))
        p.telefon = String(s("telefon").prefix(30))
        var errors: [FieldError] = []
        let birth = s("geburtsdatum")
        if birth.isEmpty { p.geburtsdatum = "" } else if let iso = FormEngine.isoDate(birth), iso <= BusinessDate.today() { p.geburtsdatum = iso } else {
            errors.append(FieldError(field: "geburtsdatum", message: "Das Geburtsdatum ist kein gültiges Datum (TT.MM.JJJJ)."))
        }
        if !p.plz.isEmpty, !FormEngine.plzOK(p.plz) { errors.append(FieldError(field: "plz", message: "Die Postleitzahl hat fünf Ziffern, z. B. 99084.")) }
        guard errors.isEmpty else {
            return try await req.render("konto/profil", title: req.t("sk_profile_title"), try await profileView(req, p, errors: errors), errors: errors, status: .unprocessableEntity, form: true)
        }
        p.updatedAt = Date()
        try await req.db.transaction { db in
            try await p.save(on: db)
            try await Audit.record(on: db, actor: "konto:\(me.email)", actorID: me.userID.uuidString, tenant: nil, action: "konto.profile",
                                   objectType: "user", objectID: me.email, before: nil, after: nil)
        }
        return req.redirect(to: "/konto/profil?gespeichert=1", redirectType: .normal)
    }

    @Sendable func withdrawConsent(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return Self.loginRedirect(req) }
        let slug = req.parameters.get("slug") ?? ""
        try await req.db.transaction { db in
            for c in try await Consent.query(on: db).filter(\.$userID == me.userID).filter(\.$serviceSlug == slug).filter(\.$withdrawnAt == nil).all() {
                c.withdrawnAt = Date()
                try await c.save(on: db)
                try await Audit.record(on: db, actor: "konto:\(me.email)", actorID: me.userID.uuidString, tenant: nil, action: "konto.consent_withdraw",
                                       objectType: "einwilligung", objectID: slug, before: "erteilt", after: "widerrufen")
            }
        }
        return req.redirect(to: "/konto/profil", redirectType: .normal)
    }

    // MARK: second factor (optional for Servicekonto holders)

    struct SecurityView: Encodable {
        var enabled: Bool; var secret: String; var uri: String; var done: String
        /// Sign-in through the installation's OpenID Connect provider, if one is set up.
        var oidc: Bool = false; var oidcName: String = ""; var oidcLinked: Bool = false; var oidcSince: String = ""; var oidcFields: String = ""
    }

    @Sendable func securityPage(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return Self.loginRedirect(req) }
        guard let u = try await User.find(me.userID, on: req.db) else { throw AppError.notFound }
        return try await req.render("konto/sicherheit", title: req.t("sk_security_title"), await securityView(req, u), form: true)
    }

    func securityView(_ req: Request, _ u: User) async throws -> SecurityView {
        var v: SecurityView
        if u.totpEnabled { v = SecurityView(enabled: true, secret: "", uri: "", done: req.queryParams["ok"] ?? "") } else {
            let secret = req.session.data["konto_totp"] ?? TOTP.newSecret()
            req.session.data["konto_totp"] = secret
            v = SecurityView(enabled: false, secret: secret, uri: TOTP.otpauthURI(secret: secret, account: u.email), done: req.queryParams["ok"] ?? "")
        }
        if let config = req.application.oidc, let uid = u.id {
            v.oidc = true
            v.oidcName = config.name
            if let link = try await ExternalIdentity.query(on: req.db).filter(\.$userID == uid).filter(\.$issuer == config.issuer).first() {
                v.oidcLinked = true
                v.oidcSince = GermanTime.format(link.createdAt)
                v.oidcFields = link.prefilledFields.split(separator: ",").map { OIDCController.label(String($0), req) }.joined(separator: ", ")
            }
        }
        return v
    }

    /// Turns the second factor on (with a code from the app for the shown key) or off (with a current code).
    @Sendable func security(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return Self.loginRedirect(req) }
        guard let u = try await User.find(me.userID, on: req.db) else { throw AppError.notFound }
        let code = ((try? req.content.get(String.self, at: "code")) ?? "").trimmingCharacters(in: .whitespaces)
        do {
            try await LoginController.checkThrottle(req, email: u.email)
            if u.totpEnabled {
                guard let secret = u.totpSecret, let step = TOTP.verify(code: code, secret: secret, at: Date(), after: u.totpLastStep),
                      try await TOTPReplay.claim(userID: me.userID, step: step, on: req.db) else {
                    try await LoginController.recordAttempt(req, email: u.email, success: false)
                    throw AppError.invalid("code", de: "Der Code ist falsch oder abgelaufen. Bitte geben Sie den aktuellen Code aus Ihrer App ein.", en: "Wrong code.")
                }
                u.totpEnabled = false; u.totpSecret = nil; u.totpLastStep = step
            } else {
                guard let secret = req.session.data["konto_totp"], let step = TOTP.verify(code: code, secret: secret, at: Date(), after: 0),
                      try await TOTPReplay.claim(userID: me.userID, step: step, on: req.db) else {
                    try await LoginController.recordAttempt(req, email: u.email, success: false)
                    throw AppError.invalid("code", de: "Der Code passt nicht zum angezeigten Schlüssel. Prüfen Sie die Uhrzeit Ihres Geräts.", en: "The code does not match.")
                }
                u.totpSecret = secret; u.totpEnabled = true; u.totpLastStep = step
                req.session.data["konto_totp"] = nil
            }
            try await LoginController.recordAttempt(req, email: u.email, success: true)
            let on = u.totpEnabled
            try await req.db.transaction { db in
                try await u.save(on: db)
                try await Audit.record(on: db, actor: "konto:\(u.email)", actorID: me.userID.uuidString, tenant: nil, action: on ? "auth.totp_enrolled" : "auth.totp_removed",
                                       objectType: "user", objectID: u.email, before: nil, after: nil)
            }
            return req.redirect(to: "/konto/sicherheit?ok=\(on ? "an" : "aus")", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("konto/sicherheit", title: req.t("sk_security_title"), await securityView(req, u), e)
        }
    }

    // MARK: data rights

    /// GDPR Art. 15/20: everything stored about the person, as JSON.
    @Sendable func export(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return Self.loginRedirect(req) }
        guard let u = try await User.find(me.userID, on: req.db) else { throw AppError.notFound }
        let p = try await Self.profile(of: me.userID, on: req.db)
        let cases = try await Antrag.query(on: req.db).filter(\.$applicantID == me.userID).all()
        var caseDicts: [[String: Any]] = []
        for a in cases {
            let files = try await AntragFile.query(on: req.db).filter(\.$antragID == a.requireID()).all()
            let msgs = try await PostboxMessage.query(on: req.db).filter(\.$antragID == a.requireID()).sort(\.$createdAt).all()
            caseDicts.append([
                "id": a.id?.uuidString ?? "", "aktenzeichen": a.reference ?? "", "leistung": a.serviceTitle, "onlinedienst": a.slug, "version": a.version,
                "behoerde": a.officeName, "mandant": a.tenantARS, "status": a.status, "gebuehrCent": a.feeCents,
                "erstellt": Audit.timestamp(a.createdAt), "gesendet": a.submittedAt.map(Audit.timestamp) ?? "",
                "angaben": (try? JSONSerialization.jsonObject(with: Data(a.answers.utf8))) ?? [:],
                "dateien": files.map { ["name": $0.name, "art": $0.kind, "groesse": $0.size, "sha256": $0.sha256] },
                "nachrichten": msgs.map { ["von": $0.sender, "richtung": $0.direction, "betreff": $0.subject, "text": $0.body,
                                           "zeit": Audit.timestamp($0.createdAt), "gelesen": $0.readAt.map(Audit.timestamp) ?? ""] },
            ])
        }
        let consents = try await Consent.query(on: req.db).filter(\.$userID == me.userID).all()
        let doc: [String: Any] = [
            "erstellt": Audit.timestamp(Date()),
            "konto": ["email": u.email, "name": u.name, "art": u.kind, "registriert": u.createdAt.map(Audit.timestamp) ?? "",
                      "emailBestaetigt": u.emailVerifiedAt.map(Audit.timestamp) ?? "", "vertrauensniveau": u.trustLevel ?? TrustLevel.basisregistrierung.rawValue,
                      "zweiFaktor": u.totpEnabled],
            "profil": ["vorname": p.vorname, "nachname": p.nachname, "geburtsdatum": p.geburtsdatum, "strasse": p.strasse, "hausnummer": p.hausnummer,
                       "plz": p.plz, "ort": p.ort, "telefon": p.telefon],
            "einwilligungen": consents.map { ["onlinedienst": $0.serviceSlug, "erteilt": Audit.timestamp($0.grantedAt), "widerrufen": $0.withdrawnAt.map(Audit.timestamp) ?? ""] },
            "antraege": caseDicts,
        ]
        let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
        try await req.db.transaction { db in
            try await Audit.record(on: db, actor: "konto:\(me.email)", actorID: me.userID.uuidString, tenant: nil, action: "konto.export",
                                   objectType: "user", objectID: me.email, before: nil, after: nil)
        }
        let res = Response(status: .ok, body: .init(data: data))
        res.headers.contentType = .json
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"servicekonto-daten.json\"")
        return res
    }

    struct DeleteView: Encodable { var openCases: Int }

    @Sendable func deleteForm(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return Self.loginRedirect(req) }
        let open = try await Antrag.query(on: req.db).filter(\.$applicantID == me.userID)
            .filter(\.$status ~~ [CaseStatus.received.rawValue, CaseStatus.inProgress.rawValue, CaseStatus.query.rawValue]).count()
        return try await req.render("konto/loeschen", title: req.t("sk_delete_title"), DeleteView(openCases: open), form: true)
    }

    /// Deletes the account. The rule (documented in the README): the login, profile, consents and
    /// drafts are removed at once; submitted applications stay with the office as part of its
    /// files (they are the authority's records, kept under its retention rules), but they lose
    /// the link to the account, and postbox messages are no longer addressed to anyone.
    @Sendable func delete(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return Self.loginRedirect(req) }
        let confirm = (try? req.content.get(String.self, at: "bestaetigung")) ?? ""
        guard confirm.uppercased() == "LÖSCHEN" else {
            return try await req.renderError("konto/loeschen", title: req.t("sk_delete_title"), DeleteView(openCases: 0),
                                             AppError.invalid("bestaetigung", de: "Bitte geben Sie zur Bestätigung LÖSCHEN ein.", en: "Please type LÖSCHEN to confirm."))
        }
        let uid = me.userID
        try await req.db.transaction { db in
            guard let u = try await User.find(uid, on: db) else { return }
            for d in try await Antrag.query(on: db).filter(\.$applicantID == uid).filter(\.$status == Antrag.draft).all() {
                try await AntragFile.query(on: db).filter(\.$antragID == d.requireID()).delete()
                try await d.delete(on: db)
            }
            for a in try await Antrag.query(on: db).filter(\.$applicantID == uid).all() {
                a.applicantID = nil
                try await a.save(on: db)
            }
            try await PostboxMessage.query(on: db).filter(\.$recipientID == uid).set(\.$recipientID, to: nil).update()
            try await Profile.query(on: db).filter(\.$userID == uid).delete()
            try await Consent.query(on: db).filter(\.$userID == uid).delete()
            try await OrganisationMember.query(on: db).filter(\.$userID == uid).delete()
            try await AccountToken.query(on: db).filter(\.$userID == uid).delete()
            try await ExternalIdentity.query(on: db).filter(\.$userID == uid).delete()
            let old = u.email
            u.email = "geloescht-\(uid.uuidString.lowercased())@konto.invalid"
            u.name = "gelöschtes Konto"
            u.passwordHash = "!"
            u.totpSecret = nil
            u.totpEnabled = false
            u.disabled = true
            u.sessionsValidSince = Date()
            try await u.save(on: db)
            try await Audit.record(on: db, actor: "konto:\(old)", actorID: uid.uuidString, tenant: nil, action: "konto.delete",
                                   objectType: "user", objectID: uid.uuidString, before: nil, after: "personenbezogene Daten gelöscht")
        }
        req.session.destroy()
        return try await req.render("konto/hinweis", title: req.t("sk_delete_title"),
                                    Notice(heading: req.t("sk_delete_done_title"), text: req.t("sk_delete_done_text"), link: "/", linkText: req.t("nav_home")))
    }
}
