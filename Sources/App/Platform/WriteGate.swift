import Fluent
import FluentSQLiteDriver
import SQLKit
import Vapor

/// SQLite allows one writer. Its transactions start deferred (they read first, then write), and
/// two such transactions that both upgrade to a write lock can make SQLite give up on one of them
/// ("database is locked") instead of waiting. On SQLite, Rathaus runs as a single process, so
/// write transactions of the features that take concurrent traffic (submissions, case changes)
/// pass this gate one at a time; on PostgreSQL it does nothing and row locks do the work.
actor WriteGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        if !busy { busy = true; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}

struct WriteGateKey: StorageKey { typealias Value = WriteGate }

extension Application {
    /// Runs `body` in a transaction; on SQLite one such transaction at a time.
    ///
    /// On a SQLite file a second process (the `rathaus` command line while the server runs) can
    /// commit between this transaction's first read and its first write; SQLite then refuses the
    /// write at once with SQLITE_BUSY_SNAPSHOT ("database is locked"; the busy timeout does not
    /// apply, the snapshot is stale) — seen in CI when `rathaus fitconnect zustellpunkt` ran
    /// while the server fetched submissions. Nothing was written then (the refused write is the
    /// first), so the whole transaction is rolled back and run again on a fresh snapshot, a few
    /// times with a short pause. PostgreSQL is not affected.
    func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        guard let sql = db as? any SQLDatabase, sql.dialect.name == "sqlite" else {
            return try await db.transaction(body)
        }
        let gate = storage[WriteGateKey.self]
        await gate?.enter()
        var attempt = 1
        while true {
            do {
                let result = try await db.transaction(body)
                await gate?.leave()
                return result
            } catch let error as SQLiteError where Self.anotherWriterCommitted(error) && attempt < 5 {
                logger.notice("SQLite: ein anderer Prozess hat zwischen Lesen und Schreiben geschrieben; Transaktion wird wiederholt (\(attempt + 1). Versuch)")
                try? await Task.sleep(nanoseconds: UInt64(attempt) * 25_000_000)
                attempt += 1
            } catch {
                await gate?.leave()
                throw error
            }
        }
    }

    /// SQLITE_BUSY_SNAPSHOT, or SQLITE_BUSY after the busy timeout: another connection holds or
    /// just took the write lock. Both leave nothing of the refused transaction behind.
    static func anotherWriterCommitted(_ error: SQLiteError) -> Bool {
        switch error.reason {
        case .busyInSnapshot, .busy: true
        default: false
        }
    }
}
