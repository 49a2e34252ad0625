import Crypto
import Fluent
import Foundation
import JOSE
import RathausCore
import SQLKit
import Vapor

/// Sign-in through an OpenID Connect provider (the Land's Servicekonto, a BundID broker that
/// speaks OIDC): Rathaus is the relying party with the authorisation-code flow, PKCE (S256),
/// `state` bound to the browser's session and usable once, `nonce` in the ID token, and the ID
/// token's signature checked against the provider's JWKS. Configured per installation:
///
///     RATHAUS_OIDC_ISSUER=https://servicekonto.example   (discovery: <issuer>/.well-known/openid-configuration)
///     RATHAUS_OIDC_CLIENT_ID=rathaus   RATHAUS_OIDC_CLIENT_SECRET=…
///     RATHAUS_OIDC_NAME="Servicekonto Thüringen"
///     RATHAUS_OIDC_TRUST_CLAIM=acr      (the claim with the trust level)
///     RATHAUS_OIDC_TRUST_LEVELS="STORK-QAA-Level-3=substanziell,STORK-QAA-Level-4=hoch"
///     RATHAUS_OIDC_CLAIMS="vorname=given_name,nachname=family_name,geburtsdatum=birthdate"
struct OIDCConfig: Sendable {
    var issuer: String
    var clientID: String
    var clientSecret: String
    var name: String = "Servicekonto"
    var scopes: String = "openid profile email"
    var trustClaim: String = "acr"
    /// Claim value → Rathaus trust level. Defaults: the eIDAS/STORK levels BundID reports and plain words.
    var trustLevels: [String: TrustLevel] = OIDCConfig.defaultTrustLevels
    /// Profile field → claim, for the prefill the person consents to.
    var claims: [(field: String, claim: String)] = [("vorname", "given_name"), ("nachname", "family_name"), ("geburtsdatum", "birthdate")]

    static let defaultTrustLevels: [String: TrustLevel] = [
        "STORK-QAA-Level-1": .basisregistrierung, "STORK-QAA-Level-2": .basisregistrierung,
        "STORK-QAA-Level-3": .substanziell, "STORK-QAA-Level-4": .hoch,
        "low": .basisregistrierung, "basic": .basisregistrierung, "substantial": .substanziell, "high": .hoch,
    ]
    static let profileFields: Set<String> = ["vorname", "nachname", "geburtsdatum", "telefon"]

    static func fromEnvironment() -> OIDCConfig? {
        guard let issuer = Environment.get("RATHAUS_OIDC_ISSUER"), !issuer.isEmpty,
              let id = Environment.get("RATHAUS_OIDC_CLIENT_ID"), !id.isEmpty else { return nil }
        var c = OIDCConfig(issuer: issuer, clientID: id, clientSecret: Environment.get("RATHAUS_OIDC_CLIENT_SECRET") ?? "")
        if let n = Environment.get("RATHAUS_OIDC_NAME"), !n.isEmpty { c.name = n }
        if let s = Environment.get("RATHAUS_OIDC_SCOPES"), s.contains("openid") { c.scopes = s }
        if let t = Environment.get("RATHAUS_OIDC_TRUST_CLAIM"), !t.isEmpty { c.trustClaim = t }
        if let m = Environment.get("RATHAUS_OIDC_TRUST_LEVELS"), !m.isEmpty {
            c.trustLevels = Dictionary(pairs(m).compactMap { k, v in TrustLevel(rawValue: v).map { (k, $0) } }, uniquingKeysWith: { a, _ in a })
        }
        if let m = Environment.get("RATHAUS_OIDC_CLAIMS"), !m.isEmpty {
            c.claims = pairs(m).filter { profileFields.contains($0.0) }.map { (field: $0.0, claim: $0.1) }
        }
        return c
    }

    private static func pairs(_ s: String) -> [(String, String)] {
        s.split(separator: ",").compactMap { p in
            let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return kv.count == 2 && !kv[0].isEmpty && !kv[1].isEmpty ? (kv[0], kv[1]) : nil
        }
    }

    /// Scheme, host and port of the issuer (for the CSP's form-action).
    var origin: String {
        guard let u = URLComponents(string: issuer), let scheme = u.scheme, let host = u.host else { return "'none'" }
        return "\(scheme)://\(host)" + (u.port.map { ":\($0)" } ?? "")
    }

    func trustLevel(_ claims: [String: JSONValue]) -> TrustLevel {
        guard let v = claims[trustClaim]?.string else { return .basisregistrierung }
        return trustLevels[v] ?? .basisregistrierung
    }

    /// HTTPS, except for a provider on this machine (tests, a local broker).
    static func acceptableURL(_ s: String) -> Bool {
        guard let u = URL(string: s), let host = u.host else { return false }
        if u.scheme == "https" { return true }
        return u.scheme == "http" && ["127.0.0.1", "localhost", "::1"].contains(host)
    }
}

/// The provider's metadata and keys, fetched on demand and kept for an hour; an unknown `kid`
/// fetches the keys again once (key rotation).
actor OIDCProviderCache {
    struct Metadata: Decodable, Sendable {
        let issuer: String
        let authorization_endpoint: String
        let token_endpoint: String
        let jwks_uri: String
        let id_token_signing_alg_values_supported: [String]?
    }
    private var metadata: (Metadata, Date)?
    private var keys: (JWKS, Date)?

    func metadata(_ config: OIDCConfig, client: any Client) async throws -> Metadata {
        if let (m, at) = metadata, Date().timeIntervalSince(at) < 3600 { return m }
        let url = config.issuer.reversed().drop(while: { $0 == "/" }).reversed().map(String.init).joined() + "/.well-known/openid-configuration"
        let res = try await client.get(URI(string: url))
        guard res.status == .ok, let m = try? res.content.decode(Metadata.self) else { throw OIDCError.providerUnavailable }
        // OpenID Connect Discovery §4.3: the issuer in the document must be exactly the configured one
        guard m.issuer == config.issuer else { throw OIDCError.misconfigured("issuer der Discovery-Antwort weicht ab") }
        guard [m.authorization_endpoint, m.token_endpoint, m.jwks_uri].allSatisfy(OIDCConfig.acceptableURL) else {
            throw OIDCError.misconfigured("Endpunkte ohne HTTPS")
        }
        metadata = (m, Date())
        return m
    }

    func keys(_ m: Metadata, client: any Client, refresh: Bool) async throws -> [JWK] {
        if !refresh, let (k, at) = keys, Date().timeIntervalSince(at) < 3600 { return k.keys }
        let res = try await client.get(URI(string: m.jwks_uri))
        guard res.status == .ok, let body = res.body, body.readableBytes < 256 * 1024,
              let set = try? JSONDecoder().decode(JWKS.self, from: Data(buffer: body)) else { throw OIDCError.providerUnavailable }
        keys = (set, Date())
        return set.keys
    }
}

enum OIDCError: Error {
    case providerUnavailable
    case misconfigured(String)

    var appError: AppError {
        switch self {
        case .providerUnavailable:
            AppError(.badGateway, "oidc.unavailable", de: "Der Identitätsanbieter ist gerade nicht erreichbar. Bitte versuchen Sie es später erneut oder melden Sie sich mit E-Mail-Adresse und Passwort an.",
                     en: "The identity provider cannot be reached. Please try again later or sign in with e-mail and password.")
        case .misconfigured:
            AppError(.badGateway, "oidc.misconfigured", de: "Die Anbindung des Identitätsanbieters ist fehlerhaft eingerichtet. Bitte wenden Sie sich an den Betrieb.",
                     en: "The identity provider is not set up correctly. Please contact the operator.")
        }
    }
}

struct OIDCConfigKey: StorageKey { typealias Value = OIDCConfig }
struct OIDCCacheKey: StorageKey { typealias Value = OIDCProviderCache }

extension Application {
    var oidc: OIDCConfig? {
        get { storage[OIDCConfigKey.self] }
        set { storage[OIDCConfigKey.self] = newValue; storage[OIDCCacheKey.self] = OIDCProviderCache() }
    }
    var oidcCache: OIDCProviderCache {
        if let c = storage[OIDCCacheKey.self] { return c }
        let c = OIDCProviderCache(); storage[OIDCCacheKey.self] = c; return c
    }
}

/// One started sign-in: the `state` (hashed), the `nonce` and the PKCE verifier. Used once:
/// the callback claims the row with one conditional UPDATE, so a replayed callback finds it used.
final class OIDCLogin: Model, @unchecked Sendable {
    static let schema = "oidc_logins"
    @ID(key: .id) var id: UUID?
    @Field(key: "state_hash") var stateHash: String
    @Field(key: "nonce") var nonce: String
    @Field(key: "verifier") var verifier: String
    @Field(key: "next") var next: String
    /// Set when a signed-in person links the account instead of signing in.
    @OptionalField(key: "link_user_id") var linkUserID: UUID?
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "used_at") var usedAt: Date?
    init() {}
}

/// A Servicekonto's link to an identity at a provider (issuer + subject, unique).
final class ExternalIdentity: Model, @unchecked Sendable {
    static let schema = "external_identities"
    @ID(key: .id) var id: UUID?
    @Field(key: "issuer") var issuer: String
    @Field(key: "subject") var subject: String
    @Field(key: "user_id") var userID: UUID
    @Field(key: "trust_level") var trustLevel: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "last_login_at") var lastLoginAt: Date
    /// Profile fields last taken over from the provider (comma-separated), with the person's consent.
    @Field(key: "prefilled_fields") var prefilledFields: String
    @OptionalField(key: "prefilled_at") var prefilledAt: Date?
    init() {}
}

struct M040CreateOIDC: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(OIDCLogin.schema)
            .id()
            .field("state_hash", .string, .required)
            .field("nonce", .string, .required)
            .field("verifier", .string, .required)
            .field("next", .string, .required)
            .field("link_user_id", .uuid)
            .field("created_at", .datetime, .required)
            .field("used_at", .datetime)
            .create()
        try await database.schema(ExternalIdentity.schema)
            .id()
            .field("issuer", .string, .required)
            .field("subject", .string, .required)
            .field("user_id", .uuid, .required, .references(User.schema, "id", onDelete: .cascade))
            .field("trust_level", .string, .required)
            .field("created_at", .datetime, .required)
            .field("last_login_at", .datetime, .required)
            .field("prefilled_fields", .string, .required)
            .field("prefilled_at", .datetime)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "oidc_logins_state_uq").unique().on(OIDCLogin.schema).column("state_hash").run()
        try await sql.create(index: "external_identities_uq").unique().on(ExternalIdentity.schema).column("issuer").column("subject").run()
        try await sql.create(index: "external_identities_user").on(ExternalIdentity.schema).column("user_id").run()
    }
    func revert(on database: any Database) async throws {
        try await database.schema(ExternalIdentity.schema).delete()
        try await database.schema(OIDCLogin.schema).delete()
    }
}
