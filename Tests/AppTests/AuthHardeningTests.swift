import Fluent
import XCTVapor
import XCTest
@testable import App

/// Issue 13, section 4: the throttle and the one-time codes hold under parallel requests, redirect
/// targets are local paths only, tokens are revoked by their full text, `/metrics` is protected.
final class AuthHardeningTests: XCTestCase {
    /// 50 wrong passwords for one account at once: at most the limit (5) are checked at all.
    func testParallelGuessesForOneAccountAreCheckedAtMostFiveTimes() async throws {
        let app = try await makeTestApp()
        try await createUser(app, email: "clerk@erfurt.test", role: .clerk, tenant: "16051")
        var browsers: [Browser] = []
        for _ in 0..<50 {
            let b = Browser(app)
            b.ip = "198.51.100.\(browsers.count + 1)"   // 50 addresses: only the account limit applies
            try await b.get("/anmelden")
            browsers.append(b)
        }
        let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
            for b in browsers {
                group.addTask { try await b.post("/anmelden", ["email": "clerk@erfurt.test", "passwort": "falsch"]).status }
            }
            var all: [HTTPStatus] = []
            for try await s in group { all.append(s) }
            return all
        }
        let checked = statuses.filter { $0 == .unauthorized }.count
        XCTAssertLessThanOrEqual(checked, LoginThrottle.perAccount, "\(statuses)")
        XCTAssertEqual(statuses.filter { $0 == .tooManyRequests }.count, 50 - checked)
        let audited = try await AuditEntry.query(on: app.db).filter(\.$action == "auth.login_failed").count()
        XCTAssertEqual(audited, checked, "every checked attempt is audited, the refused ones were never checked")
        try await app.shutdownOnce()
    }

    /// 50 guesses from one address for 50 accounts at once: the free 20, then one per delay.
    func testParallelGuessesFromOneAddressAreSlowedNotLocked() async throws {
        let app = try await makeTestApp()
        // The burst is one instant on the throttle's clock however slow the machine is; the
        // delay is then passed by moving the clock, not by sleeping.
        app.throttleClock.freeze()
        var browsers: [Browser] = []
        for _ in 0..<50 {
            let b = Browser(app)
            b.ip = "192.0.2.7"
            try await b.get("/anmelden")
            browsers.append(b)
        }
        let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
            for (i, b) in browsers.enumerated() {
                group.addTask { try await b.post("/anmelden", ["email": "person\(i)@x.test", "passwort": "falsch"]).status }
            }
            var all: [HTTPStatus] = []
            for try await s in group { all.append(s) }
            return all
        }
        let checked = statuses.filter { $0 == .unauthorized }.count
        XCTAssertGreaterThanOrEqual(checked, LoginThrottle.freePerAddress)
        XCTAssertLessThanOrEqual(checked, LoginThrottle.freePerAddress + 1, "after the free attempts one per delay")
        // another address is not affected; the delayed address gets in again after the delay
        let other = Browser(app)
        other.ip = "192.0.2.8"
        try await other.get("/anmelden")
        let res = try await other.post("/anmelden", ["email": "person0@x.test", "passwort": "falsch"])
        XCTAssertEqual(res.status, .unauthorized)
        let delayed = try await browsers[0].post("/anmelden", ["email": "someone@x.test", "passwort": "falsch"])
        XCTAssertEqual(delayed.status, .tooManyRequests)
        XCTAssertTrue(delayed.text.contains("Bitte warten Sie einen Moment"))
        app.throttleClock.advance(by: 1.2)
        let later = try await browsers[0].post("/anmelden", ["email": "someone@x.test", "passwort": "falsch"])
        XCTAssertEqual(later.status, .unauthorized, "after the delay the address may try again: no hard lock")
        try await app.shutdownOnce()
    }

    /// One TOTP code in eight sessions at once: exactly one signs in.
    func testOneTOTPCodeSignsInExactlyOneOfEightParallelSessions() async throws {
        let app = try await makeTestApp()
        let op = try await createUser(app, email: "op@kiv.test", role: .operator, tenant: nil)
        var browsers: [Browser] = []
        for _ in 0..<8 {
            let b = Browser(app)
            try await b.get("/anmelden")
            let r = try await b.post("/anmelden", ["email": "op@kiv.test", "passwort": "Passwort-123"])
            XCTAssertEqual(r.headers.first(name: .location), "/anmelden/code")
            try await b.get("/anmelden/code")
            browsers.append(b)
        }
        // a code of the step after the current one is valid for the whole test (clock tolerance)
        let code = try XCTUnwrap(TOTP.code(secret: try XCTUnwrap(op.totpSecret), step: TOTP.step(at: Date()) + 1))
        let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
            for b in browsers { group.addTask { try await b.post("/anmelden/code", ["code": code]).status } }
            var all: [HTTPStatus] = []
            for try await s in group { all.append(s) }
            return all
        }
        XCTAssertEqual(statuses.filter { $0 == .seeOther }.count, 1, "\(statuses)")
        // the others are refused: the code was used (401) or the account's five attempts are spent (429)
        XCTAssertEqual(statuses.filter { $0 == .unauthorized || $0 == .tooManyRequests }.count, 7)
        let logins = try await AuditEntry.query(on: app.db).filter(\.$action == "auth.login").count()
        XCTAssertEqual(logins, 1)
        try await app.shutdownOnce()
    }

    /// Known open-redirect payloads all end on a local page; plain local paths still work.
    func testRedirectTargetsAreLocalPathsOnly() async throws {
        let bad = ["//evil.example", "/\t/evil.example", "/%09/evil.example", "/\\evil.example", "\\\\evil.example",
                   "https://evil.example", "http:evil.example", "javascript:alert(1)", "/%2F%2Fevil.example", "%2F%2Fevil.example",
                   "/%5Cevil.example", "/\r\nSet-Cookie: x=1", "/\n/evil.example", " /evil", "/\u{3000}/evil.example",
                   "/\u{200B}/evil.example", "///evil.example", "/%0d%0aLocation:%20//evil.example", "evil.example", ""]
        for p in bad {
            XCTAssertFalse(SafeRedirect.isLocalPath(p), "accepted: \(p.debugDescription)")
            XCTAssertEqual(SafeRedirect.localPath(p, fallback: "/"), "/")
        }
        for p in ["/", "/konto", "/onlinedienste/hund-anmelden?schritt=2", "/finder?q=Hund%20anmelden&ort=Erfurt"] {
            XCTAssertTrue(SafeRedirect.isLocalPath(p), p)
        }
        let app = try await makeTestApp()
        for p in ["/%09/evil.example", "//evil.example", "/%5Cevil.example", "https:%2F%2Fevil.example"] {
            let res = try await app.testable().sendRequest(.GET, "/sprache/en?zurueck=\(p)")
            XCTAssertEqual(res.headers.first(name: .location), "/", p)
        }
        let ok = try await app.testable().sendRequest(.GET, "/sprache/en?zurueck=/finder")
        XCTAssertEqual(ok.headers.first(name: .location), "/finder")
        let login = try await app.testable().sendRequest(.GET, "/konto/anmelden?weiter=/%09/evil.example")
        XCTAssertFalse(login.text.contains("evil.example"), "the login form does not carry the target on")
        try await app.shutdownOnce()
    }

    /// `/metrics` needs a token with scope metrics (or an allowed address).
    func testMetricsAreProtected() async throws {
        let app = try await makeTestApp()
        let anonymous = try await api(app, .GET, "/metrics")
        XCTAssertEqual(anonymous.status, .unauthorized)
        XCTAssertFalse(anonymous.text.contains("http_requests_total"))
        let other = try await createToken(app, tenant: "16051", scopes: [.rechnungen])
        let r1 = try await api(app, .GET, "/metrics", token: other)
        XCTAssertEqual(r1.status, .forbidden)
        let token = try await createToken(app, tenant: "16", scopes: [.metrics])
        let res = try await api(app, .GET, "/metrics", token: token)
        XCTAssertEqual(res.status, .ok)
        XCTAssertTrue(res.text.contains("rathaus_db_up"))
        try await app.shutdownOnce()
    }

    /// `token revoke` takes the whole token as pasted, or its first 10+ characters.
    func testTokenRevokeAcceptsTheFullToken() async throws {
        let app = try await makeTestApp()
        let token = try await createToken(app, tenant: "16051", scopes: [.rechnungen])
        let r2 = try await api(app, .GET, "/api/v1/rechnungen", token: token)
        XCTAssertEqual(r2.status, .ok)
        try await revoke(app, token)
        let r3 = try await api(app, .GET, "/api/v1/rechnungen", token: token)
        XCTAssertEqual(r3.status, .unauthorized)
        let second = try await createToken(app, tenant: "16051", scopes: [.rechnungen])
        try await revoke(app, String(second.prefix(14)))
        let r4 = try await api(app, .GET, "/api/v1/rechnungen", token: second)
        XCTAssertEqual(r4.status, .unauthorized)
        try await app.shutdownOnce()
    }

    func revoke(_ app: Application, _ text: String) async throws {
        var context = CommandContext(console: app.console, input: CommandInput(arguments: ["rathaus", "revoke", "--prefix", text]))
        context.application = app
        try await TokenCommand().run(using: &context)
    }
}
