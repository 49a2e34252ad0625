import Fluent
import Foundation
import SQLKit
import NIOCore
import Vapor

/// An e-mail waiting to be sent. Written in the same transaction as the change it reports, so a
/// committed change always has its mail, and a rolled-back one never sends one. Idempotent by key.
final class OutboxMail: Model, @unchecked Sendable {
    static let schema = "outbox_mails"
    @ID(key: .id) var id: UUID?
    @Field(key: "idempotency_key") var key: String
    @Field(key: "recipient") var recipient: String
    @Field(key: "subject") var subject: String
    @Field(key: "body") var body: String
    @Field(key: "status") var status: String          // pending | sent | failed
    @Field(key: "attempts") var attempts: Int
    @Field(key: "next_attempt_at") var nextAttemptAt: Date
    @OptionalField(key: "last_error") var lastError: String?
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "sent_at") var sentAt: Date?
    /// One text attachment (an invitation as iCalendar): file name, media type, content.
    @OptionalField(key: "attachment_name") var attachmentName: String?
    @OptionalField(key: "attachment_type") var attachmentType: String?
    @OptionalField(key: "attachment") var attachment: String?
    init() {}
}

/// Mails may carry one text attachment (the .ics of an event); one column per update so the
/// migration runs on SQLite as on PostgreSQL.
struct M028OutboxAttachment: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(OutboxMail.schema).field("attachment_name", .string).update()
        try await database.schema(OutboxMail.schema).field("attachment_type", .string).update()
        try await database.schema(OutboxMail.schema).field("attachment", .string).update()
    }
    func revert(on database: any Database) async throws {
        try await database.schema(OutboxMail.schema).deleteField("attachment").update()
        try await database.schema(OutboxMail.schema).deleteField("attachment_type").update()
        try await database.schema(OutboxMail.schema).deleteField("attachment_name").update()
    }
}

/// A file sent with a mail: text as it is, or binary (a PDF) as base64 (`base64 == true`).
struct MailAttachment: Sendable, Equatable {
    var name: String
    var mediaType: String
    var content: String
    var base64: Bool = false

    static func binary(name: String, mediaType: String, data: Data) -> MailAttachment {
        MailAttachment(name: name, mediaType: mediaType, content: data.base64EncodedString(), base64: true)
    }
}

/// Further attachments of a mail (the first stays in `outbox_mails` for older rows), keyed by the
/// mail's idempotency key and written in the same transaction as the mail.
final class OutboxAttachment: Model, @unchecked Sendable {
    static let schema = "outbox_attachments"
    @ID(key: .id) var id: UUID?
    @Field(key: "mail_key") var mailKey: String
    @Field(key: "position") var position: Int
    @Field(key: "name") var name: String
    @Field(key: "media_type") var mediaType: String
    /// Base64 for binary files, the text itself otherwise.
    @Field(key: "content") var content: String
    @Field(key: "base64") var base64: Bool
    init() {}
}

struct M038CreateOutboxAttachments: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(OutboxAttachment.schema)
            .id()
            .field("mail_key", .string, .required).field("position", .int, .required).field("name", .string, .required)
            .field("media_type", .string, .required).field("content", .string, .required).field("base64", .bool, .required)
            .create()
        try await (database as! any SQLDatabase).create(index: "outbox_attachments_key_idx").on(OutboxAttachment.schema).column("mail_key").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(OutboxAttachment.schema).delete()
    }
}

struct M012CreateOutbox: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(OutboxMail.schema)
            .id()
            .field("idempotency_key", .string, .required)
            .field("recipient", .string, .required)
            .field("subject", .string, .required)
            .field("body", .string, .required)
            .field("status", .string, .required)
            .field("attempts", .int, .required)
            .field("next_attempt_at", .datetime, .required)
            .field("last_error", .string)
            .field("created_at", .datetime, .required)
            .field("sent_at", .datetime)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "outbox_mails_key_uq").unique().on(OutboxMail.schema).column("idempotency_key").run()
        try await sql.create(index: "outbox_mails_due_idx").on(OutboxMail.schema).column("status").column("next_attempt_at").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(OutboxMail.schema).delete()
    }
}

enum Outbox {
    /// Queues a mail inside the caller's transaction. The same key twice queues it once; the
    /// result says whether this call queued it. One atomic statement (`ON CONFLICT DO NOTHING`,
    /// both engines): two instances queuing the same key at once never fail on the unique index.
    @discardableResult
    static func enqueue(on db: any Database, key: String, to: String, subject: String, body: String, attachment: MailAttachment? = nil,
                        more: [MailAttachment] = []) async throws -> Bool {
        guard let sql = db as? any SQLDatabase else { throw AppError.notFound }
        let now = Date()
        let rows = try await sql.raw("""
            INSERT INTO outbox_mails (id, idempotency_key, recipient, subject, body, status, attempts, next_attempt_at, created_at,
                                      attachment_name, attachment_type, attachment)
            VALUES (\(bind: UUID()), \(bind: key), \(bind: to), \(bind: subject), \(bind: body), 'pending', 0, \(bind: now), \(bind: now),
                    \(bind: attachment?.name), \(bind: attachment?.mediaType), \(bind: attachment?.content))
            ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
            """).all()
        if !rows.isEmpty {
            for (i, a) in more.enumerated() {
                let row = OutboxAttachment()
                row.id = UUID(); row.mailKey = key; row.position = i + 1; row.name = a.name; row.mediaType = a.mediaType
                row.content = a.content; row.base64 = a.base64
                try await row.create(on: db)
            }
        }
        return !rows.isEmpty
    }

    /// Sends what is due, at most `limit` mails. On PostgreSQL the rows are claimed with
    /// `FOR UPDATE SKIP LOCKED`, so two instances never send the same mail; SQLite has one writer.
    /// Failures are retried with back-off (30 s, 1 min, 2 min … up to 1 h), after 10 attempts the
    /// mail is marked failed and stays visible.
    @discardableResult
    static func deliverDue(app: Application, sender: any MailSender, limit: Int = 20, now: Date = Date()) async throws -> Int {
        if let sql = app.db as? any SQLDatabase, sql.dialect.name == "postgresql" {
            // Rows stay locked while they are sent; another instance skips them.
            return try await app.db.transaction { db -> Int in
                struct Row: Decodable { let id: UUID }
                let ids = try await (db as! any SQLDatabase).raw("""
                    SELECT id FROM outbox_mails WHERE status = 'pending' AND next_attempt_at <= \(bind: now)
                    ORDER BY created_at LIMIT \(literal: limit) FOR UPDATE SKIP LOCKED
                    """).all(decoding: Row.self).map(\.id)
                var delivered = 0
                for id in ids {
                    guard let m = try await OutboxMail.find(id, on: db) else { continue }
                    if try await attempt(m, sender: sender, now: now, db: db) { delivered += 1 }
                    try await m.save(on: db)
                }
                return delivered
            }
        }
        // SQLite: one instance, one worker; no transaction around network I/O, because SQLite
        // has a single writer and a slow mail server must not block the web requests.
        let due = try await OutboxMail.query(on: app.db).filter(\.$status == "pending").filter(\.$nextAttemptAt <= now)
            .sort(\.$createdAt).limit(limit).all()
        var delivered = 0
        for m in due {
            if try await attempt(m, sender: sender, now: now, db: app.db) { delivered += 1 }
            try await m.save(on: app.db)
        }
        return delivered
    }

    /// One delivery attempt; updates the row's state (the caller saves it).
    private static func attempt(_ m: OutboxMail, sender: any MailSender, now: Date, db: any Database) async throws -> Bool {
        let more = try await OutboxAttachment.query(on: db).filter(\.$mailKey == m.key).sort(\.$position).all()
            .map { MailAttachment(name: $0.name, mediaType: $0.mediaType, content: $0.content, base64: $0.base64) }
        do {
            try await sender.send(MailMessage(to: m.recipient, subject: m.subject, body: m.body, messageID: m.key,
                                                 attachment: m.attachment.map { MailAttachment(name: m.attachmentName ?? "anhang.txt", mediaType: m.attachmentType ?? "text/plain", content: $0) },
                                                 more: more))
            m.status = "sent"
            m.sentAt = Date()
            m.lastError = nil
            return true
        } catch {
            m.attempts += 1
            m.lastError = String(String(describing: error).prefix(500))
            if m.attempts >= 10 {
                m.status = "failed"
            } else {
                m.nextAttemptAt = now.addingTimeInterval(min(3600, 30 * pow(2, Double(m.attempts - 1))))
            }
            return false
        }
    }
}

struct MailMessage: Sendable {
    var to: String
    var subject: String
    var body: String
    /// Stable id (the outbox key) so a receiving system can drop a duplicate after a retry.
    var messageID: String
    var attachment: MailAttachment? = nil
    /// Further attachments (e.g. the order as PDF beside its JSON).
    var more: [MailAttachment] = []
}

protocol MailSender: Sendable {
    func send(_ mail: MailMessage) async throws
}

struct MailSenderKey: StorageKey { typealias Value = any MailSender }

