import Crypto
import Fluent
import Foundation
import NIOCore
import SQLKit
import Vapor

/// Anchors the audit chain (issue 13): the hash chain alone detects an edited or deleted middle
/// row, but not the removal of the newest rows, nor an edit followed by recomputing every hash
/// after it. A checkpoint is the chain head (last sequence number, its hash, the row count),
/// signed with an Ed25519 key that lives **outside the database** (a file, `RATHAUS_AUDIT_KEY` or
/// `<data dir>/audit-signing.key`). Checkpoints are written to the database, appended to a log
/// file beside the key, printed by `rathaus audit checkpoint` for operators to publish or mail,
/// and `verify` checks the chain against every one of them: rows removed or rewritten up to a
/// checkpoint no longer match its signed head. Rows written after the newest checkpoint are only
/// protected by the chain itself until the next checkpoint (hourly, and on demand).
struct AuditCheckpoint: Sendable, Equatable {
    var seq: Int
    var count: Int
    var head: String
    var at: String
    var signature: String

    /// The signed text: fixed field order, nothing else.
    var message: String { "rathaus-audit-checkpoint v1 seq=\(seq) count=\(count) head=\(head) at=\(at)" }
    /// One line for publishing; `parse` reads it back.
    var line: String { "\(message) sig=\(signature)" }

    static func parse(_ line: String) -> AuditCheckpoint? {
        var fields: [String: String] = [:]
        for part in line.split(separator: " ") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            fields[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        guard line.hasPrefix("rathaus-audit-checkpoint v1 "), let seq = fields["seq"].flatMap(Int.init), let count = fields["count"].flatMap(Int.init),
              let head = fields["head"], let at = fields["at"], let sig = fields["sig"] else { return nil }
        return AuditCheckpoint(seq: seq, count: count, head: head, at: at, signature: sig)
    }
}

/// The signing key, read from (or, the first time, created in) a file outside the database.
struct AuditSigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey
    let path: String

    var publicKeyBase64: String { key.publicKey.rawRepresentation.base64EncodedString() }

    static func load(_ app: Application) throws -> AuditSigningKey {
        let path = app.rathaus.auditKeyPath
        do {
            let raw = try KeyFile.loadOrCreate(path, what: "Der Signaturschlüssel des Audit-Protokolls") {
                Curve25519.Signing.PrivateKey().rawRepresentation
            }
            return AuditSigningKey(key: try Curve25519.Signing.PrivateKey(rawRepresentation: raw), path: path)
        } catch {
            throw AppError(.internalServerError, "audit.key", de: "Der Signaturschlüssel des Audit-Protokolls (\(path)) ist unlesbar oder kann nicht angelegt werden.",
                           en: "The audit signing key (\(path)) cannot be read or created.")
        }
    }

    func verify(_ cp: AuditCheckpoint) -> Bool {
        guard let sig = Data(base64Encoded: cp.signature) else { return false }
        return key.publicKey.isValidSignature(sig, for: Data(cp.message.utf8))
    }
}

enum AuditCheckpoints {
    static let table = "audit_checkpoints"

    /// The log file beside the key: one line per checkpoint, appended, never rewritten.
    static func logPath(_ app: Application) -> String { app.rathaus.auditKeyPath + ".checkpoints" }

    /// Signs the current head; when nothing was added since the last checkpoint, returns that one.
    @discardableResult
    static func write(_ app: Application) async throws -> AuditCheckpoint {
        let key = try AuditSigningKey.load(app)
        let db = app.db
        let last = try await AuditEntry.query(on: db).sort(\.$seq, .descending).first()
        let count = try await AuditEntry.query(on: db).count()
        if let newest = try await all(on: db).last, newest.seq == (last?.seq ?? 0), newest.head == (last?.hash ?? Audit.genesis) {
            return newest
        }
        var cp = AuditCheckpoint(seq: last?.seq ?? 0, count: count, head: last?.hash ?? Audit.genesis, at: Audit.timestamp(Date()), signature: "")
        cp.signature = try key.key.signature(for: Data(cp.message.utf8)).base64EncodedString()
        guard let sql = db as? any SQLDatabase else { return cp }
        try await sql.raw("INSERT INTO audit_checkpoints (seq, row_count, head, created_at, signature) VALUES (\(bind: cp.seq), \(bind: cp.count), \(bind: cp.head), \(bind: cp.at), \(bind: cp.signature))").run()
        let log = logPath(app)
        if !FileManager.default.fileExists(atPath: log) {
            FileManager.default.createFile(atPath: log, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        if let h = FileHandle(forWritingAtPath: log) {
            h.seekToEndOfFile()
            h.write(Data((cp.line + "\n").utf8))
            try? h.synchronize()
            h.closeFile()
        }
        return cp
    }

    static func all(on db: any Database) async throws -> [AuditCheckpoint] {
        guard let sql = db as? any SQLDatabase else { return [] }
        return try await sql.raw("SELECT seq, row_count, head, created_at, signature FROM audit_checkpoints ORDER BY seq, created_at").all().map {
            AuditCheckpoint(seq: try $0.decode(column: "seq", as: Int.self), count: try $0.decode(column: "row_count", as: Int.self),
                            head: try $0.decode(column: "head", as: String.self), at: try $0.decode(column: "created_at", as: String.self),
                            signature: try $0.decode(column: "signature", as: String.self))
        }
    }

    /// Checkpoints from the database, the log file beside the key, and any given by the operator
    /// (published copies). Each must carry a valid signature and match the chain as it is now.
    static func verify(_ app: Application, extra: [AuditCheckpoint] = []) async throws -> (checked: Int, problem: String?) {
        let key = try AuditSigningKey.load(app)
        var list = try await all(on: app.db)
        if let text = try? String(contentsOfFile: logPath(app), encoding: .utf8) {
            list += text.split(separator: "\n").compactMap { AuditCheckpoint.parse(String($0)) }
        }
        list += extra
        let maxSeq = try await AuditEntry.query(on: app.db).max(\.$seq) ?? 0
        var seen = Set<String>()
        var checked = 0
        for cp in list where seen.insert(cp.line).inserted {
            guard key.verify(cp) else {
                return (checked, "Prüfpunkt vom \(cp.at) (Eintrag \(cp.seq)): Signatur ungültig – er wurde nicht mit diesem Schlüssel erstellt oder verändert")
            }
            if cp.seq > maxSeq {
                return (checked, "Prüfpunkt vom \(cp.at) nennt \(cp.seq) Einträge, vorhanden sind nur \(maxSeq): die neuesten Einträge wurden gelöscht")
            }
            if cp.seq > 0 {
                guard let row = try await AuditEntry.query(on: app.db).filter(\.$seq == cp.seq).first() else {
                    return (checked, "Eintrag \(cp.seq) des Prüfpunkts vom \(cp.at) fehlt")
                }
                if row.hash != cp.head {
                    return (checked, "Eintrag \(cp.seq) hat nicht mehr den Hash des Prüfpunkts vom \(cp.at): die Kette wurde bis dahin neu berechnet")
                }
            }
            let count = try await AuditEntry.query(on: app.db).filter(\.$seq <= cp.seq).count()
            if count != cp.count {
                return (checked, "Bis Eintrag \(cp.seq) gibt es \(count) statt \(cp.count) Einträge (Prüfpunkt vom \(cp.at))")
            }
            checked += 1
        }
        return (checked, nil)
    }
}

struct M020CreateAuditCheckpoints: AsyncMigration {
    func prepare(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(table: AuditCheckpoints.table)
            .column("seq", type: .bigint, .notNull)
            .column("row_count", type: .bigint, .notNull)
            .column("head", type: .text, .notNull)
            .column("created_at", type: .text, .notNull)
            .column("signature", type: .text, .notNull)
            .run()
    }

    func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.drop(table: AuditCheckpoints.table).run()
    }
}
