import Crypto
import CryptoExtras
import Fluent
import FITConnect
import Foundation
import JOSE
import RathausCore
import SQLKit
import Vapor

/// Identification reports of the Servicekonto: what a FIT-Connect delivery carries in
/// `authenticationInformation` when the person who sent the application had identified
/// themselves (trust level substanziell or hoch), and how a received report is checked.
///
/// Rathaus signs as the account service of the installation: one RSA-4096 key (PS512), made on
/// first use, kept sealed in the database (`installation_keys`, so every instance behind the load
/// balancer signs with the same key) and published as JWKS at
/// `/.well-known/rathaus/identifikationsnachweis.jwks.json` for receivers to trust.
enum IdentificationReports {
    static let jwksPath = "/.well-known/rathaus/identifikationsnachweis.jwks.json"
    static let keyName = "identification-report"

    /// The session's identification: level, when it was reached, through which provider.
    struct Session: Sendable {
        let level: TrustLevel
        let at: Date?
        let via: String?
    }

    /// Called wherever the session's trust level is set (password login: basisregistrierung).
    static func remember(_ req: Request, level: TrustLevel, via: String?) {
        req.session.data["trust_at"] = level > .basisregistrierung ? Audit.timestamp(Date()) : nil
        req.session.data["trust_via"] = level > .basisregistrierung ? via.map { String($0.prefix(120)) } : nil
    }

    static func session(_ req: Request) -> Session? {
        guard let me = req.principal.citizen else { return nil }
        let at = req.session.data["trust_at"].flatMap(Audit.date)
        return Session(level: me.trustLevel, at: at, via: req.session.data["trust_via"])
    }

    /// The eIDAS level a Rathaus trust level stands for; basisregistrierung is no identification.
    static func level(_ t: TrustLevel) -> IdentificationReport.Level? {
        switch t {
        case .basisregistrierung: return nil
        case .substanziell: return .substantial
        case .hoch: return .high
        }
    }

    static func trustLevel(_ l: IdentificationReport.Level) -> TrustLevel {
        switch l { case .low: return .basisregistrierung; case .substantial: return .substanziell; case .high: return .hoch }
    }

    /// `serverIdentity=source,…` where source is a JWKS file or an http(s) URL.
    static func parseIssuers(_ raw: String) -> [String: String] {
        var out: [String: String] = [:]
        for item in raw.split(separator: ",") {
            // the identity may itself contain "=" only after its scheme's "//": split at the last "="
            guard let eq = item.lastIndex(of: "=") else { continue }
            let id = item[..<eq].trimmingCharacters(in: .whitespaces), src = item[item.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if !id.isEmpty, !src.isEmpty { out[id] = src }
        }
        return out
    }

    // MARK: the installation's signing key

    struct SigningKey {
        let key: _RSA.Signing.PrivateKey
        let kid: String
        let publicJWK: JWK
    }

    /// The key, made once per installation. Two instances starting together both try to insert;
    /// the unique name lets exactly one win, and both read the winner.
    static func signingKey(_ app: Application) async throws -> SigningKey {
        if let k = try await loadKey(app) { return k }
        let kid = "rathaus-idnachweis-" + String(UUID().uuidString.lowercased().prefix(8))
        let pair = try RSAKeyPair.newSigningKey(kid: kid)
        let sealed = try app.secretBox().seal(pair.privateKeyPEM, context: "installation-key:\(keyName)")
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let jwk = String(decoding: try enc.encode(pair.publicJWK), as: UTF8.self)
        try await app.writeTransaction { db in
            let sql = db as! any SQLDatabase
            try await sql.raw("""
                INSERT INTO installation_keys (id, name, kid, sealed_private_key, public_jwk, created_at)
                VALUES (\(bind: UUID()), \(bind: keyName), \(bind: kid), \(bind: sealed), \(bind: jwk), \(bind: Date()))
                ON CONFLICT (name) DO NOTHING
                """).run()
        }
        guard let k = try await loadKey(app) else { throw Abort(.internalServerError, reason: "Signaturschlüssel nicht gespeichert") }
        return k
    }

    /// Only the public key (checking a report, publishing the set): the private key stays sealed.
    static func publicKey(_ app: Application) async throws -> JWK? {
        guard let row = try await InstallationKey.query(on: app.db).filter(\.$name == keyName).first() else { return nil }
        return try JSONDecoder().decode(JWK.self, from: Data(row.publicJWK.utf8))
    }

    static func loadKey(_ app: Application) async throws -> SigningKey? {
        guard let row = try await InstallationKey.query(on: app.db).filter(\.$name == keyName).first() else { return nil }
        let pem = try app.secretBox().openText(row.sealedPrivateKey, context: "installation-key:\(keyName)")
        let jwk = try JSONDecoder().decode(JWK.self, from: Data(row.publicJWK.utf8))
        return SigningKey(key: try _RSA.Signing.PrivateKey(pemRepresentation: pem), kid: row.kid, publicJWK: jwk)
    }

    // MARK: sending

    /// The report for a case sent by an identified person, bound to its Fachdaten; nil when the
    /// person had not identified themselves beyond the basic registration.
    static func issue(for a: Antrag, dataDigest: String, serviceURN: String, app: Application) async throws -> Metadata.AuthenticationInformation? {
        guard let raw = a.trustLevel, let t = TrustLevel(rawValue: raw), let level = level(t) else { return nil }
        let k = try await signingKey(app)
        let report = IdentificationReport(
            serverIdentity: app.rathaus.publicURL, identifiedAt: a.identifiedAt ?? a.submittedAt ?? Date(), level: level,
            statement: "Identifiziert im Servicekonto" + (a.identifiedVia.map { " über \($0)" } ?? ""),
            trustFramework: a.identifiedVia?.hasPrefix("OpenID Connect") == true ? "oidc" : "eid",
            context: ["Aktenzeichen: \(a.reference ?? "")", "Leistung: \(serviceURN)"], dataDigest: dataDigest)
        return try report.authenticationInformation(with: k.key, kid: k.kid)
    }

    // MARK: receiving

    /// The issuers this installation trusts with their keys: itself, and the configured ones.
    /// A source that cannot be read is left out (its reports then count as unverifiable).
    static func trustedKeys(_ app: Application) async -> [String: [JWK]] {
        var out: [String: [JWK]] = [:]
        if let own = try? await publicKey(app) { out[app.rathaus.publicURL] = [own] }
        for (issuer, source) in app.rathaus.identificationIssuers {
            var raw: Data?
            if source.hasPrefix("https://") || source.hasPrefix("http://127.0.0.1") || source.hasPrefix("http://localhost") {
                if let res = try? await app.client.get(URI(string: source)), res.status == .ok, var body = res.body, body.readableBytes <= 256 * 1024 {
                    raw = body.readData(length: body.readableBytes)
                }
            } else {
                raw = FileManager.default.contents(atPath: source).flatMap { $0.count <= 256 * 1024 ? $0 : nil }
            }
            if let raw, let set = try? JSONDecoder().decode(JWKS.self, from: raw) {
                out[issuer, default: []] += set.keys.filter { !$0.isPrivate }
            }
        }
        return out
    }

    /// The stored form on the received submission: `verdict|level|identifiedAt|issuer|reason`.
    static func stored(_ e: IdentificationReport.Examination) -> String {
        [e.verdict.rawValue, e.level.map { trustLevel($0).rawValue } ?? "", e.identifiedAt.map(Audit.timestamp) ?? "",
         String((e.issuer ?? "").replacingOccurrences(of: "|", with: "/").prefix(200)),
         String(e.reason.replacingOccurrences(of: "|", with: "/").prefix(300))].joined(separator: "|")
    }

    /// For the case page: one line in the request's language.
    static func describe(_ stored: String, req: Request) -> (text: String, warning: Bool) {
        let p = stored.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard p.count == 5 else { return ("", false) }
        let level = TrustLevel(rawValue: p[1])?.label ?? "–"
        let at = Audit.date(p[2]).map(GermanTime.format) ?? ""
        let when = at.isEmpty ? "" : " · " + req.t("id_report_at") + " " + at
        switch p[0] {
        case "verified": return (req.t("id_report_verified") + " " + level + when + " · " + req.t("id_report_issuer") + " " + p[3], false)
        case "unverifiable": return (req.t("id_report_unverifiable") + " " + level + when + " · " + req.t("id_report_issuer") + " " + p[3] + ". " + p[4], true)
        default: return (req.t("id_report_invalid") + " " + p[4], true)
        }
    }
}

/// Keys that belong to the installation rather than a tenant (sealed with the secret box).
final class InstallationKey: Model, @unchecked Sendable {
    static let schema = "installation_keys"
    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "kid") var kid: String
    @Field(key: "sealed_private_key") var sealedPrivateKey: String
    @Field(key: "public_jwk") var publicJWK: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// The identification with an application (level, time, provider), the examined report of a
/// received submission, and the installation's keys.
struct M044IdentificationReports: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Antrag.schema).field("trust_level", .string).update()
        try await database.schema(Antrag.schema).field("identified_at", .datetime).update()
        try await database.schema(Antrag.schema).field("identified_via", .string).update()
        try await database.schema(FITConnectInbound.schema).field("identification", .string).update()
        try await database.schema(InstallationKey.schema).id()
            .field("name", .string, .required).field("kid", .string, .required).field("sealed_private_key", .string, .required)
            .field("public_jwk", .string, .required).field("created_at", .datetime, .required).create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "installation_keys_name_uq").unique().on(InstallationKey.schema).column("name").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(InstallationKey.schema).delete()
        try await database.schema(FITConnectInbound.schema).deleteField("identification").update()
        for f in ["identified_via", "identified_at", "trust_level"] { try await database.schema(Antrag.schema).deleteField(.string(f)).update() }
    }
}

/// The public key set receivers configure to trust this installation's reports.
struct IdentificationReportController {
    func addRoutes(to app: Application) {
        app.get(".well-known", "rathaus", "identifikationsnachweis.jwks.json") { req async throws -> Response in
            // made on first use, like the first report would
            let key: JWK
            if let k = try await IdentificationReports.publicKey(req.application) { key = k } else {
                key = try await IdentificationReports.signingKey(req.application).publicJWK
            }
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let res = Response(status: .ok, body: .init(data: try enc.encode(JWKS(keys: [key]))))
            res.headers.replaceOrAdd(name: .contentType, value: "application/jwk-set+json")
            res.headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=3600")
            return res
        }
    }
}
