import Fluent
import SQLKit
import XCTVapor
import XCTest
@testable import App

final class AuditTests: XCTestCase {
    func seed(_ app: Application, _ n: Int) async throws { try await Self.seed(app, n) }

    static func seed(_ app: Application, _ n: Int) async throws {
        for i in 1...n {
            try await app.db.transaction { db in
                try await Audit.record(on: db, actor: "test", actorID: nil, tenant: "16051", action: "test.action",
                                       objectType: "thing", objectID: "\(i)", before: nil, after: "Wert \(i)")
            }
        }
    }

    func testChainVerifiesAndDetectsATamperedRow() async throws {
        let app = try await makeTestApp()
        try await seed(app, 5)
        let base = try await AuditEntry.query(on: app.db).count()
        let ok = try await Audit.verify(on: app.db)
        XCTAssertNil(ok.firstBroken)
        XCTAssertEqual(ok.checked, base)
        // change the content of one entry behind the application's back
        let target = base - 2
        let sql = app.db as! any SQLDatabase
        try await sql.raw("UPDATE audit_log SET after = 'Wert manipuliert' WHERE seq = \(bind: target)").run()
        let broken = try await Audit.verify(on: app.db)
        XCTAssertEqual(broken.firstBroken?.seq, target)
        XCTAssertEqual(broken.checked, target - 1)

        // the command exits non-zero naming the entry
        var context = CommandContext(console: app.console, input: CommandInput(arguments: ["rathaus", "verify"]))
        context.application = app
        do {
            try await AuditCommand().run(using: &context)
            XCTFail("verify must fail on a tampered chain")
        } catch {
            XCTAssertTrue(String(describing: error).contains("Eintrag \(target)"), "\(error)")
        }
        try await app.shutdownOnce()
    }

    func testChainDetectsADeletedRow() async throws {
        let app = try await makeTestApp()
        try await seed(app, 4)
        let sql = app.db as! any SQLDatabase
        try await sql.raw("DELETE FROM audit_log WHERE seq = 2").run()
        let broken = try await Audit.verify(on: app.db)
        XCTAssertEqual(broken.firstBroken?.seq, 2)
        try await app.shutdownOnce()
    }

    func testAPIListsNewestFirstForOperatorsOnly() async throws {
        let app = try await makeTestApp()
        try await seed(app, 3)
        let op = try await createToken(app, tenant: "16", scopes: [.operator])
        let tenant = try await createToken(app, tenant: "16051", scopes: [.membership])
        let res = try await api(app, .GET, "/api/v1/audit?aktion=test.&limit=2", token: op)
        XCTAssertEqual(res.status, .ok)
        let body = try res.json()
        XCTAssertEqual(body["total"] as? Int, 3)
        let items = try XCTUnwrap(body["items"] as? [[String: Any]])
        XCTAssertEqual(items.map { $0["objektId"] as? String }, ["3", "2"])
        let next = try XCTUnwrap(body["next"] as? String)
        let page2 = try await api(app, .GET, "/api/v1/audit?aktion=test.&limit=2&cursor=\(next)", token: op)
        XCTAssertEqual(try XCTUnwrap(page2.json()["items"] as? [[String: Any]]).map { $0["objektId"] as? String }, ["1"])
        let denied = try await api(app, .GET, "/api/v1/audit", token: tenant)
        XCTAssertEqual(denied.status, .forbidden)
        try await app.shutdownOnce()
    }
}

/// Issue 13, section 6: truncating the newest rows or rewriting the chain from a row onwards
/// (recomputing every hash after it) is detected against the signed checkpoints.
final class AuditCheckpointTests: XCTestCase {
    func verifyCommand(_ app: Application, extra: String? = nil) async throws -> String? {
        var args = ["rathaus", "verify"]
        if let extra { args += ["--pruefpunkt", extra] }
        var context = CommandContext(console: app.console, input: CommandInput(arguments: args))
        context.application = app
        do { try await AuditCommand().run(using: &context); return nil } catch { return String(describing: error) }
    }

    func testTruncationAfterACheckpointIsDetected() async throws {
        let app = try await makeTestApp()
        try await AuditTests.seed(app, 12)
        let cp = try await AuditCheckpoints.write(app)
        let rowCount = try await AuditEntry.query(on: app.db).count()
        XCTAssertEqual(cp.count, rowCount)
        let intact = try await verifyCommand(app)
        XCTAssertNil(intact)
        // delete the last five rows: the chain that is left is consistent in itself
        let sql = app.db as! any SQLDatabase
        try await sql.raw("DELETE FROM audit_log WHERE seq > \(bind: cp.seq - 5)").run()
        let chain = try await Audit.verify(on: app.db)
        XCTAssertNil(chain.firstBroken, "the chain alone cannot see it")
        let err = try await verifyCommand(app)
        XCTAssertNotNil(err)
        XCTAssertTrue(err?.contains("gelöscht") == true, err ?? "")
        try await app.shutdownOnce()
    }

    func testRewriteWithRecomputedHashesIsDetected() async throws {
        let app = try await makeTestApp()
        try await AuditTests.seed(app, 10)
        let cp = try await AuditCheckpoints.write(app)
        // edit row 3 and recompute every hash from there, as an attacker with database access would
        let rows = try await AuditEntry.query(on: app.db).sort(\.$seq).all()
        var prev = Audit.genesis
        for e in rows {
            if e.seq == 3 { e.after = "nachträglich geändert" }
            e.prevHash = prev
            e.hash = e.recomputedHash
            try await e.save(on: app.db)
            prev = e.hash
        }
        let chain = try await Audit.verify(on: app.db)
        XCTAssertNil(chain.firstBroken, "the chain alone cannot see it")
        let err = try await verifyCommand(app)
        XCTAssertTrue(err?.contains("neu berechnet") == true, err ?? "nicht erkannt")
        // deleting the checkpoints from the database does not help: the log file beside the key keeps them
        try await (app.db as! any SQLDatabase).raw("DELETE FROM audit_checkpoints").run()
        let err2 = try await verifyCommand(app)
        XCTAssertNotNil(err2)
        // and a published copy is checked as well
        try? FileManager.default.removeItem(atPath: AuditCheckpoints.logPath(app))
        let none = try await verifyCommand(app)
        XCTAssertNil(none, "without any checkpoint only the chain is checked")
        let err3 = try await verifyCommand(app, extra: cp.line)
        XCTAssertNotNil(err3)
        // a forged checkpoint (edited head, old signature) is refused
        var forged = cp
        forged.head = rows.last!.hash
        let err4 = try await verifyCommand(app, extra: forged.line)
        XCTAssertTrue(err4?.contains("Signatur ungültig") == true, err4 ?? "")
        try await app.shutdownOnce()
    }
}
