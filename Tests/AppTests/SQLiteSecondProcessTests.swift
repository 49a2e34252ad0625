@testable import App
import Fluent
import Foundation
import Vapor
import XCTest

/// Two applications on one SQLite file stand for the server and the `rathaus` command line, two
/// processes with a connection each. CI saw the command line fail with "busyInSnapshot: database
/// is locked" when the server committed between its transaction's first read and first write.
final class SQLiteSecondProcessTests: XCTestCase {
    actor Attempts {
        var count = 0
        func next() -> Int { count += 1; return count }
    }

    func testACommitOfTheOtherProcessBetweenReadAndWriteIsRetriedNotRefused() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rathaus-zweiter-prozess-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        func make() async throws -> Application {
            let app = try await Application.make(.testing)
            var config = RathausConfig()
            config.bcryptCost = 4
            config.databaseURL = nil
            config.dataDirectory = root.path
            config.auditKeyPath = root.appendingPathComponent("audit-signing.key").path
            config.loadReferenceData = false
            do { try await configure(app, config) } catch { try? await app.shutdownOnce(); throw error }
            return app
        }
        let server = try await make()
        var failed: (any Error)?
        do {
            let cli = try await make()
            do {
                let attempts = Attempts()
                try await cli.writeTransaction { db in
                    let n = await attempts.next()
                    // the first read opens this connection's snapshot
                    _ = try await AuditEntry.query(on: db).count()
                    if n == 1 {
                        // the other process writes and commits now (WAL lets it)
                        try await Audit.record(on: server.db, actor: "system:test", actorID: nil, tenant: nil, action: "test.server",
                                               objectType: "t", objectID: "1", before: nil, after: "Server")
                    }
                    // the first write of a stale snapshot: SQLITE_BUSY_SNAPSHOT without the retry
                    try await Audit.record(on: db, actor: "cli", actorID: nil, tenant: nil, action: "test.cli",
                                           objectType: "t", objectID: "2", before: nil, after: "Kommandozeile")
                }
                let tries = await attempts.count
                XCTAssertEqual(tries, 2, "refused once on the stale snapshot, then committed on a fresh one")
                let actions = try await AuditEntry.query(on: server.db).sort(\.$seq).all().map(\.action)
                XCTAssertEqual(actions.suffix(2), ["test.server", "test.cli"], "both writes kept, in commit order")
                let verified = try await Audit.verify(on: server.db)
                XCTAssertNil(verified.firstBroken, "the retried entry chains onto the other process's entry")
            } catch { failed = error }
            try await cli.shutdownOnce()
        } catch { failed = failed ?? error }
        try await server.shutdownOnce()
        if let failed { throw failed }
    }
}
