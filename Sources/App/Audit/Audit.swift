import Fluent
import SQLKit
import Vapor

/// One entry of the append-only, hash-chained audit trail.
final class AuditEntry: Model, @unchecked Sendable {
    static let schema = "audit_log"

    @ID(key: .id) var id: UUID?
    /// Position in the chain, 1-based, gapless.
    @Field(key: "seq") var seq: Int
    /// ISO 8601 with milliseconds, stored as text so the hashed value survives every engine unchanged.
    @Field(key: "occurred_at") var occurredAt: String
    @Field(key: "actor") var actor: String
    @OptionalField(key: "actor_id") var actorID: String?
    @OptionalField(key: "tenant_ars") var tenantARS: String?
    @Field(key: "action") var action: String
    @Field(key: "object_type") var objectType: String
    @Field(key: "object_id") var objectID: String
    @OptionalField(key: "before") var before: String?
    @OptionalField(key: "after") var after: String?
    @Field(key: "prev_hash") var prevHash: String
    @Field(key: "hash") var hash: String

    init() {}

    /// SHA-256 over the previous hash and every field, separated so no two entries can collide
    /// by shifting text between fields.
    static func computeHash(prev: String, seq: Int, occurredAt: String, actor: String, actorID: String?,
                            tenant: String?, action: String, objectType: String, objectID: String,
                            before: String?, after: String?) -> String {
        let fields: [String] = [prev, String(seq), occurredAt, actor, actorID ?? "", tenant ?? "", action,
                                objectType, objectID, before ?? "\u{1}", after ?? "\u{1}"]
        let joined = fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|")
        return SHA256.hash(data: Data(joined.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    var recomputedHash: String {
        Self.computeHash(prev: prevHash, seq: seq, occurredAt: occurredAt, actor: actor, actorID: actorID,
                         tenant: tenantARS, action: action, objectType: objectType, objectID: objectID,
                         before: before, after: after)
    }
}

struct M006CreateAuditLog: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(AuditEntry.schema)
            .id()
            .field("seq", .int, .required)
            .field("occurred_at", .string, .required)
            .field("actor", .string, .required)
            .field("actor_id", .string)
            .field("tenant_ars", .string)
            .field("action", .string, .required)
            .field("object_type", .string, .required)
            .field("object_id", .string, .required)
            .field("before", .string)
            .field("after", .string)
            .field("prev_hash", .string, .required)
            .field("hash", .string, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "audit_log_seq_uq").unique().on(AuditEntry.schema).column("seq").run()
        try await sql.create(index: "audit_log_tenant_idx").on(AuditEntry.schema).column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(AuditEntry.schema).delete()
    }
}

enum Audit {
    static let genesis = String(repeating: "0", count: 64)

    /// Appends one entry. Call it inside the transaction that makes the change, so the change and
    /// its trace commit together. On PostgreSQL a transaction-scoped advisory lock serialises
    /// writers of all instances; SQLite serialises writers by itself. The unique `seq` index
    /// refuses any fork that slips through.
    static func record(on db: any Database, actor: String, actorID: String?, tenant: String?, action: String,
                       objectType: String, objectID: String, before: String?, after: String?) async throws {
        if let sql = db as? any SQLDatabase, sql.dialect.name == "postgresql" {
            try await sql.raw("SELECT pg_advisory_xact_lock(7261001)").run()
        }
        let last = try await AuditEntry.query(on: db).sort(\.$seq, .descending).first()
        let e = AuditEntry()
        e.seq = (last?.seq ?? 0) + 1
        e.occurredAt = Self.timestamp(Date())
        e.actor = actor
        e.actorID = actorID
        e.tenantARS = tenant
        e.action = action
        e.objectType = objectType
        e.objectID = objectID
        e.before = before.map { String($0.prefix(2000)) }
        e.after = after.map { String($0.prefix(2000)) }
        e.prevHash = last?.hash ?? genesis
        e.hash = e.recomputedHash
        try await e.create(on: db)
    }

    /// Formatter creation is expensive; one shared instance (formatting is thread-safe).
    nonisolated(unsafe) private static let iso: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()

    static func timestamp(_ d: Date) -> String { iso.string(from: d) }
    /// The moment of an entry, for showing it in the installation's time zone.
    static func date(_ timestamp: String) -> Date? { iso.date(from: timestamp) }

    struct VerifyResult: Sendable {
        var checked: Int
        /// Hash of the last entry checked (the chain's head; the genesis value when empty).
        var head: String = ""
        /// First broken entry and why, nil when the chain is intact.
        var firstBroken: (seq: Int, reason: String)?
    }

    /// Recomputes the whole chain in order, in pages to bound memory.
    static func verify(on db: any Database) async throws -> VerifyResult {
        var prev = genesis
        var expectedSeq = 1
        var checked = 0
        let page = 1000
        while true {
            let rows = try await AuditEntry.query(on: db).filter(\.$seq >= expectedSeq).sort(\.$seq).limit(page).all()
            if rows.isEmpty { break }
            for e in rows {
                if e.seq != expectedSeq {
                    return VerifyResult(checked: checked, firstBroken: (expectedSeq, "Eintrag \(expectedSeq) fehlt (nächster vorhandener: \(e.seq))"))
                }
                if e.prevHash != prev {
                    return VerifyResult(checked: checked, firstBroken: (e.seq, "Verweis auf den Vorgänger stimmt nicht"))
                }
                if e.recomputedHash != e.hash {
                    return VerifyResult(checked: checked, firstBroken: (e.seq, "Inhalt wurde verändert (Hash stimmt nicht)"))
                }
                prev = e.hash
                expectedSeq += 1
                checked += 1
            }
        }
        return VerifyResult(checked: checked, head: prev, firstBroken: nil)
    }
}

extension Request {
    /// Audit a change made by the acting principal, inside the change's transaction.
    func audit(on db: any Database, _ action: String, tenant: String?, objectType: String, objectID: String,
               before: String? = nil, after: String? = nil) async throws {
        try await Audit.record(on: db, actor: principal.auditActor, actorID: principal.actorID, tenant: tenant,
                               action: action, objectType: objectType, objectID: objectID, before: before, after: after)
    }
}
