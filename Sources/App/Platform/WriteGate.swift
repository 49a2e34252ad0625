import Fluent
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
    func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        guard let sql = db as? any SQLDatabase, sql.dialect.name == "sqlite", let gate = storage[WriteGateKey.self] else {
            return try await db.transaction(body)
        }
        await gate.enter()
        do {
            let result = try await db.transaction(body)
            await gate.leave()
            return result
        } catch {
            await gate.leave()
            throw error
        }
    }
}
