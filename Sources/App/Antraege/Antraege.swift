import Fluent
import Forms
import SQLKit
import Vapor
import RathausCore

/// An application (Antrag): a draft while the person fills the form, a case once sent.
/// Answers are stored as JSON of the form version the draft started with.
final class Antrag: Model, @unchecked Sendable {
    static let schema = "antraege"
    @ID(key: .id) var id: UUID?
    /// Human-readable reference (`TH-2026-000123`), set when sent.
    @OptionalField(key: "reference") var reference: String?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "tenant_name") var tenantName: String
    @Field(key: "slug") var slug: String
    @Field(key: "version") var version: Int
    @Field(key: "service_title") var serviceTitle: String
    @OptionalField(key: "applicant_id") var applicantID: UUID?
    @Field(key: "applicant_name") var applicantName: String
    @Field(key: "applicant_email") var applicantEmail: String
    @OptionalField(key: "office_id") var officeID: UUID?
    @Field(key: "office_name") var officeName: String
    /// `entwurf` while a draft, then a `CaseStatus`.
    @Field(key: "status") var status: String
    @Field(key: "answers") var answers: String
    @Field(key: "fee_cents") var feeCents: Int
    @Field(key: "notify_email") var notifyByEmail: Bool
    @OptionalField(key: "assignee_id") var assigneeID: UUID?
    @Field(key: "assignee_name") var assigneeName: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    @OptionalField(key: "submitted_at") var submittedAt: Date?
    /// When specialist software confirmed it has taken the case over (API `empfangen`).
    @OptionalField(key: "fetched_at") var fetchedAt: Date?
    /// The trust level of the session that sent the application, when and through which
    /// identity provider it was reached (nil: sent without identification, or before M044).
    @OptionalField(key: "trust_level") var trustLevel: String?
    @OptionalField(key: "identified_at") var identifiedAt: Date?
    @OptionalField(key: "identified_via") var identifiedVia: String?
    init() {}

    static let draft = "entwurf"
    var isDraft: Bool { status == Self.draft }
    var caseStatus: CaseStatus? { CaseStatus(rawValue: status) }

    func decodedAnswers() -> Answers {
        (try? JSONDecoder().decode(Answers.self, from: Data(answers.utf8))) ?? [:]
    }

    func setAnswers(_ a: Answers) {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        answers = String(decoding: (try? enc.encode(a)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// A file belonging to an application: an answer's attachment, or one sent with a message.
final class AntragFile: Model, @unchecked Sendable {
    static let schema = "antrag_files"
    @ID(key: .id) var id: UUID?
    @Field(key: "antrag_id") var antragID: UUID
    @OptionalField(key: "message_id") var messageID: UUID?
    /// Form field path for answers (`nachweis`), empty for message attachments.
    @Field(key: "field") var field: String
    @Field(key: "name") var name: String
    @Field(key: "kind") var kind: String
    @Field(key: "size") var size: Int
    @Field(key: "sha256") var sha256: String
    @Field(key: "uploaded_by") var uploadedBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// A message in a person's postbox, always within one case. `direction` tells who wrote it.
final class PostboxMessage: Model, @unchecked Sendable {
    static let schema = "postbox_messages"
    @ID(key: .id) var id: UUID?
    @Field(key: "antrag_id") var antragID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @OptionalField(key: "recipient_id") var recipientID: UUID?
    /// `amt` (office → person) or `person` (reply from the postbox).
    @Field(key: "direction") var direction: String
    /// `eingang`, `status`, `rueckfrage`, `bescheid`, `nachricht`, `antwort`.
    @Field(key: "kind") var kind: String
    @Field(key: "sender") var sender: String
    @Field(key: "subject") var subject: String
    @Field(key: "body") var body: String
    @Field(key: "created_at") var createdAt: Date
    /// Read receipt: when the recipient opened it (office sees it).
    @OptionalField(key: "read_at") var readAt: Date?
    init() {}
}

struct M015CreateAntraege: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Antrag.schema)
            .id()
            .field("reference", .string)
            .field("tenant_ars", .string, .required)
            .field("tenant_name", .string, .required)
            .field("slug", .string, .required)
            .field("version", .int, .required)
            .field("service_title", .string, .required)
            .field("applicant_id", .uuid)
            .field("applicant_name", .string, .required)
            .field("applicant_email", .string, .required)
            .field("office_id", .uuid)
            .field("office_name", .string, .required)
            .field("status", .string, .required)
            .field("answers", .string, .required)
            .field("fee_cents", .int, .required)
            .field("notify_email", .bool, .required)
            .field("assignee_id", .uuid)
            .field("assignee_name", .string, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .field("submitted_at", .datetime)
            .field("fetched_at", .datetime)
            .create()
        try await database.schema(AntragFile.schema)
            .id()
            .field("antrag_id", .uuid, .required)
            .field("message_id", .uuid)
            .field("field", .string, .required)
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("size", .int, .required)
            .field("sha256", .string, .required)
            .field("uploaded_by", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema(PostboxMessage.schema)
            .id()
            .field("antrag_id", .uuid, .required)
            .field("tenant_ars", .string, .required)
            .field("recipient_id", .uuid)
            .field("direction", .string, .required)
            .field("kind", .string, .required)
            .field("sender", .string, .required)
            .field("subject", .string, .required)
            .field("body", .string, .required)
            .field("created_at", .datetime, .required)
            .field("read_at", .datetime)
            .create()
        try await database.schema("sequences")
            .field("name", .string, .required)
            .field("value", .int64, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "sequences_name_uq").unique().on("sequences").column("name").run()
        try await sql.create(index: "antraege_reference_uq").unique().on(Antrag.schema).column("reference").run()
        try await sql.create(index: "antraege_tenant_idx").on(Antrag.schema).column("tenant_ars").column("status").run()
        try await sql.create(index: "antraege_applicant_idx").on(Antrag.schema).column("applicant_id").run()
        try await sql.create(index: "antrag_files_antrag_idx").on(AntragFile.schema).column("antrag_id").run()
        try await sql.create(index: "postbox_recipient_idx").on(PostboxMessage.schema).column("recipient_id").column("read_at").run()
        try await sql.create(index: "postbox_antrag_idx").on(PostboxMessage.schema).column("antrag_id").run()
    }

    func revert(on database: any Database) async throws {
        for s in [PostboxMessage.schema, AntragFile.schema, Antrag.schema, "sequences"] { try await database.schema(s).delete() }
    }
}

/// Gap-free counters shared by all instances (a row per name, incremented inside the caller's
/// transaction; the row lock serialises concurrent senders on PostgreSQL, SQLite has one writer).
enum Sequences {
    static func next(_ name: String, on db: any Database) async throws -> Int64 {
        let sql = db as! any SQLDatabase
        try await sql.raw("INSERT INTO sequences (name, value) VALUES (\(bind: name), 0) ON CONFLICT (name) DO NOTHING").run()
        struct Row: Decodable { let value: Int64 }
        guard let row = try await sql.raw("UPDATE sequences SET value = value + 1 WHERE name = \(bind: name) RETURNING value")
            .first(decoding: Row.self) else {
            throw AppError(.internalServerError, "sequence", de: "Das Aktenzeichen konnte nicht vergeben werden.", en: "No reference could be assigned.")
        }
        return row.value
    }
}
