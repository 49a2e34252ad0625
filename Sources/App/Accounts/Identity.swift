import Crypto
import Fluent
import Foundation
import Vapor
import RathausCore

/// What an identity provider vouches for after an identification (e.g. with the online ID card).
struct VerifiedIdentity: Sendable {
    let provider: String
    let subject: String
    let level: TrustLevel
    let givenName: String?
    let familyName: String?
}

/// An identity provider the Servicekonto can send a person to for a higher trust level.
/// Shaped like an OIDC authorisation-code flow (redirect with `state`, callback with a code the
/// server checks), so a real broker (BundID via OIDC or SAML) is one more implementation and the
/// online services, which only see the session's `TrustLevel`, do not change.
protocol IdentityProvider: Sendable {
    var id: String { get }
    var displayName: String { get }
    /// Where the browser goes; `state` must come back unchanged to `callback`.
    func authorizationURL(state: String, requested: TrustLevel, callback: String) -> String
    /// Checks the provider's answer at the callback and returns the identity it vouches for.
    func complete(query: [String: String], expectedState: String) async throws -> VerifiedIdentity
}

/// Built-in test provider for development and tests: a hosted page where the developer picks the
/// level. Enabled only in demo mode and in the test environment, never in production. It signs its
/// answer with HMAC-SHA256 so the callback cannot be forged by editing the URL.
struct TestIdentityProvider: IdentityProvider {
    let id = "test"
    let displayName = "Test-Identitätsanbieter (nur Demo und Test)"
    /// Fixed on purpose: the provider exists only outside production, and several instances must agree.
    static let key = SymmetricKey(data: Data("rathaus-test-idp-nicht-fuer-produktion".utf8))

    func authorizationURL(state: String, requested: TrustLevel, callback: String) -> String {
        "/konto/identifizieren/testanbieter?state=\(state)&niveau=\(requested.rawValue)"
    }

    static func signature(state: String, level: String, subject: String) -> String {
        Signature.hmac(Data("\(state)|\(level)|\(subject)".utf8), key: key)
    }

    func complete(query: [String: String], expectedState: String) async throws -> VerifiedIdentity {
        guard let state = query["state"], constantTimeEqual(state, expectedState), let levelRaw = query["niveau"], let level = TrustLevel(rawValue: levelRaw),
              let sub = query["sub"], let code = query["code"], constantTimeEqual(code, Self.signature(state: state, level: levelRaw, subject: sub)) else {
            throw AppError(.badRequest, "idp.invalid", de: "Die Antwort des Identitätsanbieters ist ungültig oder abgelaufen. Bitte starten Sie die Identifizierung erneut.",
                           en: "The identity provider's answer is invalid. Please start again.")
        }
        return VerifiedIdentity(provider: id, subject: sub, level: level, givenName: query["vorname"], familyName: query["nachname"])
    }
}

struct IdentityProvidersKey: StorageKey { typealias Value = [any IdentityProvider] }

extension Application {
    var identityProviders: [any IdentityProvider] {
        get { storage[IdentityProvidersKey.self] ?? ((rathaus.demo || environment == .testing) ? [TestIdentityProvider()] : []) }
        set { storage[IdentityProvidersKey.self] = newValue }
    }
}

struct IdentityController {
    func addRoutes(to web: any RoutesBuilder) {
        web.get("konto", "identifizieren", use: page)
        web.post("konto", "identifizieren", use: begin)
        web.get("konto", "identifizieren", "rueckkehr", use: callback)
        web.get("konto", "identifizieren", "testanbieter", use: testPage)
        web.post("konto", "identifizieren", "testanbieter", use: testConfirm)
    }

    struct Provider: Encodable { var id: String; var name: String }
    struct PageView: Encodable { var current: String; var requested: String; var requestedLabel: String; var next: String; var providers: [Provider]; var none: Bool }

    @Sendable func page(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return ServicekontoController.loginRedirect(req) }
        let requested = TrustLevel(rawValue: req.queryParams["niveau"] ?? "") ?? .substanziell
        // provider names are their own (German) names, except the built-in test provider
        let providers = req.application.identityProviders.map {
            Provider(id: $0.id, name: $0.id == "test" && req.lang == .en ? "Test identity provider (demo and tests only)" : $0.displayName)
        }
        return try await req.render("konto/identifizieren", title: req.t("sk_identify_title"),
                                    PageView(current: me.trustLevel.label, requested: requested.rawValue, requestedLabel: requested.label,
                                             next: ServicekontoController.safeNext(req.queryParams["weiter"]), providers: providers, none: providers.isEmpty), form: true)
    }

    @Sendable func begin(req: Request) async throws -> Response {
        guard req.principal.citizen != nil else { throw AppError.unauthenticated }
        let pid = (try? req.content.get(String.self, at: "anbieter")) ?? ""
        guard let p = req.application.identityProviders.first(where: { $0.id == pid }) else {
            throw AppError.invalid("anbieter", de: "Bitte wählen Sie einen Identitätsanbieter aus der Liste.", en: "Please choose a provider.")
        }
        let level = TrustLevel(rawValue: (try? req.content.get(String.self, at: "niveau")) ?? "") ?? .substanziell
        let state = AccountToken.randomToken()
        req.session.data["idp_state"] = state
        req.session.data["idp_provider"] = p.id
        req.session.data["idp_next"] = ServicekontoController.safeNext(try? req.content.get(String.self, at: "weiter"))
        return req.redirect(to: p.authorizationURL(state: state, requested: level, callback: "/konto/identifizieren/rueckkehr"), redirectType: .normal)
    }

    @Sendable func callback(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { throw AppError.unauthenticated }
        guard let expected = req.session.data["idp_state"], let pid = req.session.data["idp_provider"],
              let p = req.application.identityProviders.first(where: { $0.id == pid }) else {
            throw AppError(.badRequest, "idp.no_state", de: "Es läuft keine Identifizierung. Bitte starten Sie sie erneut.", en: "No identification in progress.")
        }
        let identity = try await p.complete(query: req.queryParams, expectedState: expected)
        req.session.data["idp_state"] = nil
        req.session.data["trust"] = identity.level.rawValue
        IdentificationReports.remember(req, level: identity.level, via: p.displayName)
        try await req.db.transaction { db in
            if let u = try await User.find(me.userID, on: db) {
                let old = TrustLevel(rawValue: u.trustLevel ?? "") ?? .basisregistrierung
                if identity.level > old { u.trustLevel = identity.level.rawValue; try await u.save(on: db) }
            }
            try await Audit.record(on: db, actor: "konto:\(me.email)", actorID: me.userID.uuidString, tenant: nil, action: "konto.identified",
                                   objectType: "user", objectID: me.email, before: me.trustLevel.rawValue, after: "\(identity.level.rawValue) über \(identity.provider)")
        }
        return req.redirect(to: req.session.data["idp_next"] ?? "/konto", redirectType: .normal)
    }

    // MARK: test provider's hosted page

    struct TestView: Encodable { var state: String; var levels: [Opt]; struct Opt: Encodable { var value: String; var label: String; var selected: Bool } }

    @Sendable func testPage(req: Request) async throws -> Response {
        guard req.application.identityProviders.contains(where: { $0.id == "test" }) else { throw AppError.notFound }
        let requested = req.queryParams["niveau"] ?? TrustLevel.substanziell.rawValue
        return try await req.render("konto/testanbieter", title: "Test-Identitätsanbieter",
                                    TestView(state: String((req.queryParams["state"] ?? "").prefix(100)),
                                             levels: TrustLevel.allCases.map { .init(value: $0.rawValue, label: $0.label, selected: $0.rawValue == requested) }), form: true)
    }

    @Sendable func testConfirm(req: Request) async throws -> Response {
        guard req.application.identityProviders.contains(where: { $0.id == "test" }), let me = req.principal.citizen else { throw AppError.notFound }
        let state = (try? req.content.get(String.self, at: "state")) ?? ""
        let level = TrustLevel(rawValue: (try? req.content.get(String.self, at: "niveau")) ?? "") ?? .substanziell
        let sub = "test-" + me.userID.uuidString.lowercased()
        let code = TestIdentityProvider.signature(state: state, level: level.rawValue, subject: sub)
        return req.redirect(to: "/konto/identifizieren/rueckkehr?state=\(state)&niveau=\(level.rawValue)&sub=\(sub)&code=\(code)", redirectType: .normal)
    }
}
