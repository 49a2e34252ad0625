import Crypto
import Forms
import Fluent
import Foundation
import JOSE
import RathausCore
import SQLKit
import Vapor

/// Routes of the OpenID Connect sign-in. The first sign-in creates the Servicekonto (or, started
/// from the security page, links the signed-in account); later sign-ins find it by issuer +
/// subject. What the provider sent is shown to the person, who decides whether it goes into the
/// profile that online services may prefill from (with the per-service consent as before).
struct OIDCController {
    /// A started sign-in is good for ten minutes.
    static let lifetime: TimeInterval = 600

    func addRoutes(to web: any RoutesBuilder) {
        web.post("konto", "oidc", "anmelden", use: start)
        web.get("konto", "oidc", "rueckkehr", use: callback)
        web.get("konto", "oidc", "angaben", use: claimsPage)
        web.post("konto", "oidc", "angaben", use: takeOver)
    }

    static func problem(_ code: String, de: String, en: String, status: HTTPResponseStatus = .badRequest) -> AppError {
        AppError(status, code, de: de, en: en)
    }

    static let restart = problem("oidc.state", de: "Diese Anmeldung ist abgelaufen oder wurde schon verwendet. Bitte starten Sie die Anmeldung erneut.",
                                 en: "This sign-in has expired or was already used. Please start again.")

    @Sendable func start(req: Request) async throws -> Response {
        guard let config = req.application.oidc else { throw AppError.notFound }
        let link = (try? req.content.get(String.self, at: "verknuepfen")) == "1"
        let linkUser = link ? req.principal.citizen?.userID : nil
        if link && linkUser == nil { return ServicekontoController.loginRedirect(req) }
        let meta: OIDCProviderCache.Metadata
        do { meta = try await req.application.oidcCache.metadata(config, client: req.client) }
        catch let e as OIDCError { throw e.appError } catch { throw OIDCError.providerUnavailable.appError }
        let state = randomURLToken(), nonce = randomURLToken(), verifier = randomURLToken() + randomURLToken()
        let challenge = Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8))))
        let row = OIDCLogin()
        row.stateHash = APIToken.hash(state)
        row.nonce = nonce
        row.verifier = verifier
        row.next = link ? "/konto/sicherheit" : ServicekontoController.safeNext(try? req.content.get(String.self, at: "weiter"))
        row.linkUserID = linkUser
        row.createdAt = Date()
        try await req.application.writeTransaction { db in try await row.create(on: db) }
        // bound to this browser: a callback with a state started elsewhere is refused (login CSRF)
        req.session.data["oidc_state"] = state
        var q = URLComponents()
        q.queryItems = [
            .init(name: "response_type", value: "code"), .init(name: "client_id", value: config.clientID),
            .init(name: "redirect_uri", value: Self.redirectURI(req)), .init(name: "scope", value: config.scopes),
            .init(name: "state", value: state), .init(name: "nonce", value: nonce),
            .init(name: "code_challenge", value: challenge), .init(name: "code_challenge_method", value: "S256"),
        ]
        let sep = meta.authorization_endpoint.contains("?") ? "&" : "?"
        return req.redirect(to: meta.authorization_endpoint + sep + (q.percentEncodedQuery ?? ""), redirectType: .normal)
    }

    static func redirectURI(_ req: Request) -> String { req.application.rathaus.publicURL + "/konto/oidc/rueckkehr" }

    struct TokenResponse: Decodable { let id_token: String?; let token_type: String? }

    @Sendable func callback(req: Request) async throws -> Response {
        guard let config = req.application.oidc else { throw AppError.notFound }
        do {
            return try await complete(req, config)
        } catch let e as AppError {
            return try await req.renderError("konto/oidc-fehler", title: req.t("sk_oidc_error_title"), ErrorView(name: config.name), e)
        }
    }

    struct ErrorView: Encodable { var name: String }

    func complete(_ req: Request, _ config: OIDCConfig) async throws -> Response {
        let state = req.queryParams["state"] ?? ""
        guard state.count >= 20, state.count <= 200, let expected = req.session.data["oidc_state"], constantTimeEqual(state, expected) else {
            throw Self.restart
        }
        // one conditional UPDATE claims the started sign-in: a replayed callback finds it used
        struct Claimed: Decodable { let nonce: String; let verifier: String; let next: String; let link_user_id: UUID? }
        let sql = req.db as! any SQLDatabase
        let hash = APIToken.hash(state)
        let cutoff = Date().addingTimeInterval(-Self.lifetime)
        let claimed = try await req.application.writeTransaction { db in
            try await (db as! any SQLDatabase).raw("UPDATE oidc_logins SET used_at = \(bind: Date()) WHERE state_hash = \(bind: hash) AND used_at IS NULL AND created_at > \(bind: cutoff) RETURNING nonce, verifier, next, link_user_id")
                .all(decoding: Claimed.self).first
        }
        _ = sql
        req.session.data["oidc_state"] = nil
        guard let login = claimed else { throw Self.restart }
        if let err = req.queryParams["error"] {
            throw Self.problem("oidc.denied", de: err == "access_denied" ? "Die Anmeldung wurde beim Identitätsanbieter abgebrochen." : "Der Identitätsanbieter hat die Anmeldung abgelehnt.",
                               en: err == "access_denied" ? "The sign-in was cancelled at the identity provider." : "The identity provider refused the sign-in.")
        }
        guard let code = req.queryParams["code"], !code.isEmpty, code.count <= 2000 else {
            throw Self.problem("oidc.code", de: "Die Antwort des Identitätsanbieters enthält keinen Code.", en: "The identity provider's answer has no code.")
        }
        let cache = req.application.oidcCache
        let meta: OIDCProviderCache.Metadata
        do { meta = try await cache.metadata(config, client: req.client) } catch let e as OIDCError { throw e.appError } catch { throw OIDCError.providerUnavailable.appError }
        // the code for tokens, authenticated with the client secret (client_secret_basic)
        let res: ClientResponse
        do {
            res = try await req.client.post(URI(string: meta.token_endpoint)) { r in
                let user = config.clientID.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? config.clientID
                let pass = config.clientSecret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? config.clientSecret
                r.headers.basicAuthorization = BasicAuthorization(username: user, password: pass)
                try r.content.encode(["grant_type": "authorization_code", "code": code, "redirect_uri": Self.redirectURI(req), "code_verifier": login.verifier],
                                     as: .urlEncodedForm)
            }
        } catch { throw OIDCError.providerUnavailable.appError }
        guard res.status == .ok, let body = res.body, body.readableBytes < 256 * 1024,
              let tokens = try? JSONDecoder().decode(TokenResponse.self, from: Data(buffer: body)), let idToken = tokens.id_token else {
            throw Self.problem("oidc.token", de: "Der Identitätsanbieter hat die Anmeldung nicht bestätigt. Bitte starten Sie sie erneut.",
                               en: "The identity provider did not confirm the sign-in. Please start again.", status: .badGateway)
        }
        let verified = try await verify(idToken, nonce: login.nonce, config: config, meta: meta, cache: cache, client: req.client)
        return try await signIn(req, config, verified, login: (next: login.next, linkUser: login.link_user_id))
    }

    func verify(_ token: String, nonce: String, config: OIDCConfig, meta: OIDCProviderCache.Metadata, cache: OIDCProviderCache, client: any Client) async throws -> IDTokenVerifier.Verified {
        var algs: Set<JWSAlgorithm> = [.RS256, .PS256, .PS512, .ES256]
        if let offered = meta.id_token_signing_alg_values_supported { algs = algs.intersection(offered.compactMap(JWSAlgorithm.init(rawValue:))) }
        func attempt(refresh: Bool) async throws -> IDTokenVerifier.Verified {
            let keys: [JWK]
            do { keys = try await cache.keys(meta, client: client, refresh: refresh) } catch { throw OIDCError.providerUnavailable.appError }
            return try IDTokenVerifier(issuer: config.issuer, clientID: config.clientID, keys: keys, algorithms: algs).verify(token, nonce: nonce)
        }
        do {
            do { return try await attempt(refresh: false) }
            catch IDTokenError.jose(.unknownKey) { return try await attempt(refresh: true) }   // the provider rotated its keys
        } catch let e as IDTokenError {
            req_log(e)
            throw Self.problem(e.code, de: "Die Anmeldung konnte nicht bestätigt werden: \(e.description) Bitte starten Sie sie erneut.",
                               en: "The sign-in could not be confirmed (\(e.code)). Please start again.", status: .badRequest)
        }
    }

    private func req_log(_ e: IDTokenError) { Logger(label: "rathaus.oidc").warning("ID-Token abgelehnt: \(e.code)") }

    /// Finds, links or creates the account and starts the session.
    func signIn(_ req: Request, _ config: OIDCConfig, _ id: IDTokenVerifier.Verified, login: (next: String, linkUser: UUID?)) async throws -> Response {
        let level = config.trustLevel(id.claims)
        let issuer = config.issuer, sub = id.subject
        let email = (id.claims["email"]?.string ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let given = id.claims["given_name"]?.string ?? "", family = id.claims["family_name"]?.string ?? ""
        let display = [given, family].filter { !$0.isEmpty }.joined(separator: " ")
        let uid: UUID = try await req.application.writeTransaction { db in
            let existing = try await ExternalIdentity.query(on: db).filter(\.$issuer == issuer).filter(\.$subject == sub).first()
            let user: User
            if let linkUser = login.linkUser {
                if let existing, existing.userID != linkUser {
                    throw Self.problem("oidc.linked_elsewhere", de: "Diese Identität ist bereits mit einem anderen Servicekonto verknüpft.",
                                       en: "This identity is already linked to another account.", status: .conflict)
                }
                guard let u = try await User.find(linkUser, on: db) else { throw AppError.unauthenticated }
                user = u
            } else if let existing {
                guard let u = try await User.find(existing.userID, on: db), !u.disabled else {
                    throw Self.problem("oidc.disabled", de: "Dieses Servicekonto ist gesperrt.", en: "This account is disabled.", status: .forbidden)
                }
                user = u
            } else {
                guard email.contains("@"), email.count <= 254 else {
                    throw Self.problem("oidc.no_email", de: "Der Identitätsanbieter hat keine E-Mail-Adresse übermittelt. Ohne sie kann kein Servicekonto angelegt werden.",
                                       en: "The identity provider sent no e-mail address; no account can be created without one.", status: .unprocessableEntity)
                }
                if try await User.query(on: db).filter(\.$email == email).first() != nil {
                    // never take over an account by its e-mail address: the owner links it after a password sign-in
                    throw Self.problem("oidc.email_taken", de: "Zu dieser E-Mail-Adresse gibt es bereits ein Servicekonto. Bitte melden Sie sich mit E-Mail-Adresse und Passwort an und verknüpfen Sie es dann unter „Sicherheit“ mit dem Identitätsanbieter.",
                                       en: "There is already an account with this e-mail address. Please sign in with your password and link it under “Security”.", status: .conflict)
                }
                let u = User()
                u.kind = AccountKind.citizen.rawValue
                u.email = email
                u.name = display.isEmpty ? email : String(display.prefix(200))
                u.passwordHash = "!"   // no password: sign-in through the provider (a password can be set with "Passwort vergessen")
                u.officeIDs = ""; u.totpEnabled = false; u.totpLastStep = 0; u.isDemo = false; u.disabled = false
                u.emailVerifiedAt = Date()
                try await u.create(on: db)
                try await Profile.empty(try u.requireID()).create(on: db)
                try await Audit.record(on: db, actor: "konto:\(email)", actorID: try u.requireID().uuidString, tenant: nil, action: "konto.register",
                                       objectType: "user", objectID: email, before: nil, after: "über \(config.name)")
                user = u
            }
            let userID = try user.requireID()
            if let existing {
                existing.lastLoginAt = Date(); existing.trustLevel = level.rawValue
                try await existing.save(on: db)
            } else {
                let link = ExternalIdentity()
                link.issuer = issuer; link.subject = sub; link.userID = userID; link.trustLevel = level.rawValue
                link.createdAt = Date(); link.lastLoginAt = Date(); link.prefilledFields = ""
                try await link.create(on: db)
                try await Audit.record(on: db, actor: "konto:\(user.email)", actorID: userID.uuidString, tenant: nil, action: "konto.oidc.linked",
                                       objectType: "user", objectID: user.email, before: nil, after: "\(config.name) (\(issuer))")
            }
            let old = TrustLevel(rawValue: user.trustLevel ?? "") ?? .basisregistrierung
            if level > old { user.trustLevel = level.rawValue; try await user.save(on: db) }
            try await Audit.record(on: db, actor: "konto:\(user.email)", actorID: userID.uuidString, tenant: nil, action: "auth.login",
                                   objectType: "user", objectID: user.email, before: nil, after: "über \(config.name), Vertrauensniveau \(level.rawValue), IP \(req.clientIP)")
            return userID
        }
        if login.linkUser == nil {
            try await LoginController.rotateSession(req)
            req.session.data["uid"] = uid.uuidString
            req.session.data["auth"] = "full"
        }
        req.session.data["trust"] = level.rawValue
        IdentificationReports.remember(req, level: level, via: "OpenID Connect (\(config.name))")
        // what the provider sent, shown to the person before anything goes into the profile
        var offered: [String: String] = [:]
        for (field, claim) in config.claims {
            guard var v = id.claims[claim]?.string?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty, v.count <= 200 else { continue }
            if field == "geburtsdatum" {
                guard let d = Self.isoDate(v) else { continue }
                v = d
            }
            offered[field] = v
        }
        req.session.data["oidc_next"] = login.next
        guard !offered.isEmpty, let json = try? JSONEncoder().encode(offered) else { return req.redirect(to: login.next, redirectType: .normal) }
        req.session.data["oidc_claims"] = String(decoding: json, as: UTF8.self)
        req.session.data["oidc_trust"] = level.rawValue
        return req.redirect(to: "/konto/oidc/angaben", redirectType: .normal)
    }

    /// `YYYY-MM-DD` (OIDC's `birthdate`) if it is a real date, else nil.
    static func isoDate(_ s: String) -> String? {
        let parts = s.split(separator: "-")
        guard s.count == 10, parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), y > 1850, (1...12).contains(m), (1...31).contains(d) else { return nil }
        var c = DateComponents(); c.year = y; c.month = m; c.day = d
        guard let date = GermanTime.calendar.date(from: c), GermanTime.calendar.component(.day, from: date) == d else { return nil }
        return s
    }

    struct Row: Encodable { var label: String; var value: String }
    struct ClaimsView: Encodable { var name: String; var rows: [Row]; var trust: String; var next: String }

    static func label(_ field: String, _ req: Request) -> String {
        ["vorname": req.t("sk_first_name"), "nachname": req.t("sk_last_name"), "geburtsdatum": req.t("sk_oidc_birth"), "telefon": req.t("sk_oidc_phone")][field] ?? field
    }

    func offered(_ req: Request) -> [String: String]? {
        guard let s = req.session.data["oidc_claims"], let d = try? JSONDecoder().decode([String: String].self, from: Data(s.utf8)) else { return nil }
        return d
    }

    @Sendable func claimsPage(req: Request) async throws -> Response {
        guard let config = req.application.oidc, req.principal.citizen != nil, let offered = offered(req) else { return req.redirect(to: "/konto", redirectType: .normal) }
        let order = ["vorname", "nachname", "geburtsdatum", "telefon"]
        let rows = order.compactMap { f in offered[f].map { Row(label: Self.label(f, req), value: f == "geburtsdatum" ? FormEngine.germanDate($0) : $0) } }
        let trust = TrustLevel(rawValue: req.session.data["oidc_trust"] ?? "") ?? .basisregistrierung
        return try await req.render("konto/oidc-angaben", title: req.t("sk_oidc_claims_title"),
                                    ClaimsView(name: config.name, rows: rows, trust: trust.label, next: req.session.data["oidc_next"] ?? "/konto"), form: true)
    }

    @Sendable func takeOver(req: Request) async throws -> Response {
        guard let config = req.application.oidc, let me = req.principal.citizen else { throw AppError.unauthenticated }
        let next = req.session.data["oidc_next"] ?? "/konto"
        guard let offered = offered(req) else { return req.redirect(to: next, redirectType: .normal) }
        req.session.data["oidc_claims"] = nil
        guard (try? req.content.get(String.self, at: "uebernehmen")) == "ja" else { return req.redirect(to: next, redirectType: .normal) }
        let issuer = config.issuer, name = config.name
        try await req.application.writeTransaction { db in
            let p = try await ServicekontoController.profile(of: me.userID, on: db)
            let before = [p.vorname, p.nachname, p.geburtsdatum].joined(separator: "|")
            if let v = offered["vorname"] { p.vorname = v }
            if let v = offered["nachname"] { p.nachname = v }
            if let v = offered["geburtsdatum"] { p.geburtsdatum = v }
            if let v = offered["telefon"] { p.telefon = v }
            p.updatedAt = Date()
            try await p.save(on: db)
            if let link = try await ExternalIdentity.query(on: db).filter(\.$userID == me.userID).filter(\.$issuer == issuer).first() {
                link.prefilledFields = offered.keys.sorted().joined(separator: ",")
                link.prefilledAt = Date()
                try await link.save(on: db)
            }
            try await Audit.record(on: db, actor: "konto:\(me.email)", actorID: me.userID.uuidString, tenant: nil, action: "konto.profile.from_idp",
                                   objectType: "user", objectID: me.email, before: before, after: "Felder \(offered.keys.sorted().joined(separator: ", ")) von \(name)")
        }
        return req.redirect(to: next, redirectType: .normal)
    }
}
