import Fluent
import SQLKit
import XCTVapor
import XCTest
@testable import App

final class AuditTests: XCTestCase {
    func seed(_ app: Application, _ n: Int) async throws {
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
        try await app.asyncShutdown()
    }

    func testChainDetectsADeletedRow() async throws {
        let app = try await makeTestApp()
        try await seed(app, 4)
        let sql = app.db as! any SQLDatabase
        try await sql.raw("DELETE FROM audit_log WHERE seq = 2").run()
        let broken = try await Audit.verify(on: app.db)
        XCTAssertEqual(broken.firstBroken?.seq, 2)
        try await app.asyncShutdown()
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
        try await app.asyncShutdown()
    }
}
