import Fluent
import SQLKit
import Vapor

/// A tenant's access to a FIT-Connect Zustelldienst: one as sender (its online services deliver)
/// and one as subscriber (its destinations receive). The OAuth client secret is sealed with the
/// installation's `SecretBox` (context `fitconnect-client:<ARS>:<role>`), never stored in clear.
final class FITConnectAccount: Model, @unchecked Sendable {
    static let schema = "fitconnect_accounts"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    /// `sender` | `subscriber`
    @Field(key: "role") var role: String
    @Field(key: "base_url") var baseURL: String
    @Field(key: "token_url") var tokenURL: String
    @Field(key: "client_id") var clientID: String
    @Field(key: "client_secret") var sealedSecret: String
    @Field(key: "updated_at") var updatedAt: Date
    @Field(key: "updated_by") var updatedBy: String
    init() {}

    static func context(_ ars: String, _ role: String) -> String { "fitconnect-client:\(ars):\(role)" }
}

/// A destination (Zustellpunkt) of a tenant: its id at the Zustelldienst, the office whose inbox
/// receives, and the private keys (encryption and signing, PKCS#8 PEM) sealed with the secret box
/// under the context `fitconnect-destination:<id>`.
final class FITConnectDestination: Model, @unchecked Sendable {
    static let schema = "fitconnect_destinations"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "destination_id") var destinationID: String
    @OptionalField(key: "office_id") var officeID: UUID?
    @Field(key: "encryption_kid") var encryptionKid: String
    @Field(key: "encryption_key") var sealedEncryptionKey: String
    @Field(key: "signing_kid") var signingKid: String
    @Field(key: "signing_key") var sealedSigningKey: String
    /// The public keys as JWKS, for the self-service portal of the Zustelldienst.
    @Field(key: "public_jwks") var publicJWKS: String
    @Field(key: "active") var active: Bool
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "created_by") var createdBy: String
    init() {}

    static func context(_ destination: String) -> String { "fitconnect-destination:\(destination.lowercased())" }
}

/// One submission to deliver through FIT-Connect, written in the transaction that accepted the
/// application: what the citizen saw as accepted is always delivered (`Outbox` pattern for
/// submissions). The submission id is stored as soon as the Zustelldienst gave it, so a retry
/// continues that submission instead of creating a second one.
final class FITConnectOutbound: Model, @unchecked Sendable {
    static let schema = "fitconnect_outbound"
    @ID(key: .id) var id: UUID?
    @Field(key: "antrag_id") var antragID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    /// A destination id, or `routing` (found through the Routing API by LeiKa key and ARS).
    @Field(key: "destination") var destination: String
    /// pending | submitted | accepted | rejected | failed
    @Field(key: "status") var status: String
    @OptionalField(key: "submission_id") var submissionID: String?
    @OptionalField(key: "case_id") var caseID: String?
    @Field(key: "attempts") var attempts: Int
    @Field(key: "next_attempt_at") var nextAttemptAt: Date
    @OptionalField(key: "claimed_until") var claimedUntil: Date?
    @OptionalField(key: "last_error") var lastError: String?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

/// One submission picked up at one of the installation's destinations. The unique submission id
/// is the claim: of two instances polling at once exactly one inserts the row and imports it.
final class FITConnectInbound: Model, @unchecked Sendable {
    static let schema = "fitconnect_inbound"
    @ID(key: .id) var id: UUID?
    @Field(key: "submission_id") var submissionID: String
    @Field(key: "destination_id") var destinationID: String
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "case_id") var caseID: String
    /// claimed | imported (case created, accept not yet sent) | rejecting (reject not yet sent) | accepted | rejected
    @Field(key: "status") var status: String
    @OptionalField(key: "antrag_id") var antragID: UUID?
    @OptionalField(key: "problem") var problem: String?
    /// The accept/reject SET, kept until the Zustelldienst took it (sent again after a crash).
    @OptionalField(key: "decision") var decision: String?
    @Field(key: "instance") var instance: String
    /// The reply channel the sender named, `<kind>|<address>` (kind `eMail`, `deMail`, `fink`, `elster`), shown with the case.
    @OptionalField(key: "reply_channel") var replyChannel: String?
    /// The examined identification report (`IdentificationReports.stored`), nil without one.
    @OptionalField(key: "identification") var identification: String?
    @Field(key: "claimed_at") var claimedAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

/// The verified event log of a FIT-Connect case as this installation saw it (both directions).
final class FITConnectEvent: Model, @unchecked Sendable {
    static let schema = "fitconnect_events"
    @ID(key: .id) var id: UUID?
    @Field(key: "case_id") var caseID: String
    @Field(key: "jti") var jti: String
    @Field(key: "tenant_ars") var tenantARS: String
    @OptionalField(key: "antrag_id") var antragID: UUID?
    @Field(key: "kind") var kind: String
    @Field(key: "issuer") var issuer: String
    @Field(key: "issued_at") var issuedAt: Date
    /// Problems of a `reject-submission`, in German, one per line.
    @Field(key: "detail") var detail: String
    init() {}
}

struct M042CreateFITConnect: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = database as! any SQLDatabase
        try await database.schema(FITConnectAccount.schema).id()
            .field("tenant_ars", .string, .required).field("role", .string, .required).field("base_url", .string, .required)
            .field("token_url", .string, .required).field("client_id", .string, .required).field("client_secret", .string, .required)
            .field("updated_at", .datetime, .required).field("updated_by", .string, .required).create()
        try await sql.create(index: "fitconnect_accounts_uq").unique().on(FITConnectAccount.schema).column("tenant_ars").column("role").run()
        try await database.schema(FITConnectDestination.schema).id()
            .field("tenant_ars", .string, .required).field("destination_id", .string, .required).field("office_id", .uuid)
            .field("encryption_kid", .string, .required).field("encryption_key", .string, .required)
            .field("signing_kid", .string, .required).field("signing_key", .string, .required).field("public_jwks", .string, .required)
            .field("active", .bool, .required).field("created_at", .datetime, .required).field("created_by", .string, .required).create()
        try await sql.create(index: "fitconnect_destinations_uq").unique().on(FITConnectDestination.schema).column("destination_id").run()
        try await database.schema(FITConnectOutbound.schema).id()
            .field("antrag_id", .uuid, .required).field("tenant_ars", .string, .required).field("destination", .string, .required)
            .field("status", .string, .required).field("submission_id", .string).field("case_id", .string)
            .field("attempts", .int, .required).field("next_attempt_at", .datetime, .required).field("claimed_until", .datetime)
            .field("last_error", .string).field("created_at", .datetime, .required).field("updated_at", .datetime, .required).create()
        try await sql.create(index: "fitconnect_outbound_antrag_uq").unique().on(FITConnectOutbound.schema).column("antrag_id").run()
        try await sql.create(index: "fitconnect_outbound_due_idx").on(FITConnectOutbound.schema).column("status").column("next_attempt_at").run()
        try await database.schema(FITConnectInbound.schema).id()
            .field("submission_id", .string, .required).field("destination_id", .string, .required).field("tenant_ars", .string, .required)
            .field("case_id", .string, .required).field("status", .string, .required).field("antrag_id", .uuid).field("problem", .string)
            .field("decision", .string).field("instance", .string, .required).field("claimed_at", .datetime, .required)
            .field("updated_at", .datetime, .required).create()
        try await sql.create(index: "fitconnect_inbound_submission_uq").unique().on(FITConnectInbound.schema).column("submission_id").run()
        try await database.schema(FITConnectEvent.schema).id()
            .field("case_id", .string, .required).field("jti", .string, .required).field("tenant_ars", .string, .required)
            .field("antrag_id", .uuid).field("kind", .string, .required).field("issuer", .string, .required)
            .field("issued_at", .datetime, .required).field("detail", .string, .required).create()
        try await sql.create(index: "fitconnect_events_uq").unique().on(FITConnectEvent.schema).column("case_id").column("jti").column("tenant_ars").run()
        // an activation may deliver through FIT-Connect instead of the in-house inbox
        try await database.schema(ServiceActivation.schema).field("fitconnect_destination", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ServiceActivation.schema).deleteField("fitconnect_destination").update()
        for s in [FITConnectEvent.schema, FITConnectInbound.schema, FITConnectOutbound.schema, FITConnectDestination.schema, FITConnectAccount.schema] {
            try await database.schema(s).delete()
        }
    }
}

/// The reply channel a received submission named, kept with the case (the metadata itself is
/// not stored).
struct M043FITConnectReplyChannel: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(FITConnectInbound.schema).field("reply_channel", .string).update()
    }
    func revert(on database: any Database) async throws {
        try await database.schema(FITConnectInbound.schema).deleteField("reply_channel").update()
    }
}
