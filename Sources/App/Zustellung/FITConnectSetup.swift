import Fluent
import Foundation
import Vapor

/// What a tenant sets up for FIT-Connect, shared by the tenant page and `rathaus fitconnect`:
/// one place for the rules (HTTPS only, secret sealed, audit entry), whichever way it is done.
enum FITConnectSetup {
    static let roles = ["sender", "subscriber"]

    /// An address of the Zustelldienst: HTTPS, or HTTP on the loopback interface (the offline
    /// test Zustelldienst). A trailing slash is dropped.
    static func serviceURL(_ s: String, field: String) throws -> String {
        guard let u = URL(string: s), let scheme = u.scheme, let host = u.host, !host.isEmpty, s.count <= 300 else {
            throw AppError.invalid(field, de: "Bitte geben Sie eine Adresse an (https://…).", en: "Please enter an address (https://…).")
        }
        let loopback = host == "127.0.0.1" || host == "localhost" || host == "::1"
        guard scheme == "https" || (scheme == "http" && loopback) else {
            throw AppError.invalid(field, de: "Nur HTTPS-Adressen sind erlaubt (HTTP nur für 127.0.0.1, etwa den Test-Zustelldienst).",
                                   en: "Only HTTPS addresses are allowed (HTTP only for 127.0.0.1).")
        }
        return String(s.reversed().drop(while: { $0 == "/" }).reversed())
    }

    /// Stores (or replaces) the tenant's access for one role; the client secret is sealed with
    /// the installation's secret box and never shown again.
    static func saveAccount(_ app: Application, tenant ars: String, role: String, url: String, tokenURL: String?, clientID: String,
                            secret: String, actor: String, actorID: String?) async throws {
        guard roles.contains(role) else {
            throw AppError.invalid("rolle", de: "Bitte wählen Sie Versand oder Empfang.", en: "Please choose sending or receiving.")
        }
        let base = try serviceURL(url, field: "url")
        let token = try serviceURL((tokenURL?.isEmpty ?? true) ? base + "/token" : tokenURL ?? "", field: "token_url")
        let cid = clientID.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !cid.isEmpty, cid.count <= 200 else {
            throw AppError.invalid("client_id", de: "Bitte geben Sie die Client-ID aus dem Self-Service-Portal an (höchstens 200 Zeichen).",
                                   en: "Please enter the client id from the self-service portal (at most 200 characters).")
        }
        guard !secret.isEmpty, secret.count <= 500 else {
            throw AppError.invalid("secret", de: "Bitte geben Sie das Client-Secret an (höchstens 500 Zeichen).", en: "Please enter the client secret (at most 500 characters).")
        }
        let sealed = try app.secretBox().seal(secret, context: FITConnectAccount.context(ars, role))
        try await app.writeTransaction { db in
            let acc = try await FITConnectAccount.query(on: db).filter(\.$tenantARS == ars).filter(\.$role == role).first() ?? FITConnectAccount()
            let before = acc.id == nil ? nil : "\(acc.clientID) @ \(acc.baseURL)"
            acc.tenantARS = ars; acc.role = role; acc.baseURL = base; acc.tokenURL = token; acc.clientID = cid; acc.sealedSecret = sealed
            acc.updatedAt = Date(); acc.updatedBy = actor
            try await acc.save(on: db)
            try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: ars, action: "fitconnect.account", objectType: "fitconnect-zugang",
                                   objectID: role, before: before, after: "\(cid) @ \(base)")
        }
    }

    /// The delivery target of an activation: `nil` (own inbox), `routing`, or a destination id.
    static func target(_ raw: String) throws -> String? {
        switch raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() {
        case "", "aus", "posteingang": return nil
        case "routing": return "routing"
        case let t:
            guard let u = UUID(uuidString: t) else {
                throw AppError.invalid("zustellpunkt", de: "Die Zustellpunkt-ID ist keine UUID (z. B. 4f0a…-…). Sie steht im Self-Service-Portal der Empfangsstelle.",
                                       en: "The destination id is not a UUID.")
            }
            return u.uuidString.lowercased()
        }
    }

    /// Sending through FIT-Connect needs the tenant's sender access first.
    static func requireSender(_ ars: String, on db: any Database) async throws {
        guard try await FITConnectAccount.query(on: db).filter(\.$tenantARS == ars).filter(\.$role == "sender").first() != nil else {
            throw AppError.invalid("zustellung", de: "Für die Zustellung über FIT-Connect fehlt der Zugang für den Versand. Bitte richten Sie ihn zuerst auf der Seite „FIT-Connect“ ein.",
                                   en: "Delivery through FIT-Connect needs the sending access first (page “FIT-Connect”).")
        }
    }
}
