import Fluent
import XCTVapor
import XCTest
@testable import App

final class AuthTests: XCTestCase {
    func testClerkLogsInWithPasswordAndGetsHttpOnlyLaxCookie() async throws {
        let app = try await makeTestApp()
        let clerk = try await createUser(app, email: "clerk@erfurt.test", role: .clerk, tenant: "16051")
        let b = Browser(app)
        try await b.get("/anmelden")
        let res = try await b.post("/anmelden", ["email": "CLERK@erfurt.test", "passwort": "Passwort-123"])
        XCTAssertEqual(res.status, .seeOther)
        XCTAssertEqual(res.headers.first(name: .location), "/mandanten/16051")
        let cookie = try XCTUnwrap(res.headers.setCookie?["rathaus_session"])
        XCTAssertTrue(cookie.isHTTPOnly)
        XCTAssertEqual(cookie.sameSite, .lax)
        let home = try await b.get("/mandanten/16051")
        XCTAssertEqual(home.status, .ok)
        XCTAssertTrue(home.text.contains(clerk.name))
        XCTAssertFalse(home.text.contains("/beitritt\""), "a clerk may not apply")
        try await b.post("/abmelden")
        let after = try await b.get("/mandanten/16051")
        XCTAssertEqual(after.status, .unauthorized)
        try await app.shutdownOnce()
    }

    func testSessionsExpireOnTheServerAfterEightHours() async throws {
        let app = try await makeTestApp()
        let clerk = try await createUser(app, email: "clerk@erfurt.test", role: .clerk, tenant: "16051")
        let b = Browser(app)
        try await b.login(clerk)
        let ok = try await b.get("/mandanten/16051")
        XCTAssertEqual(ok.status, .ok)
        let record = try await SessionRecord.query(on: app.db).filter(\.$key == SessionID(string: b.cookie!)).first()
        let stored = try XCTUnwrap(record)
        stored.data["since"] = String(Date().timeIntervalSince1970 - 9 * 3600)
        try await stored.save(on: app.db)
        let expired = try await b.get("/mandanten/16051")
        XCTAssertEqual(expired.status, .unauthorized)
        try await app.shutdownOnce()
    }

    func testWrongPasswordAndThrottlingPerAccount() async throws {
        let app = try await makeTestApp()
        try await createUser(app, email: "clerk@erfurt.test", role: .clerk, tenant: "16051")
        let b = Browser(app)
        try await b.get("/anmelden")
        for _ in 0..<5 {
            let res = try await b.post("/anmelden", ["email": "clerk@erfurt.test", "passwort": "falsch"])
            XCTAssertEqual(res.status, .unauthorized)
            XCTAssertTrue(res.text.contains("E-Mail-Adresse oder Passwort ist falsch."))
            XCTAssertTrue(res.text.contains("href=\"#email\""), "error summary links to the field")
        }
        // even the right password is refused now, from another address too
        let other = Browser(app)
        try await other.get("/anmelden")
        let locked = try await other.post("/anmelden", ["email": "clerk@erfurt.test", "passwort": "Passwort-123"])
        XCTAssertEqual(locked.status, .tooManyRequests)
        XCTAssertTrue(locked.text.contains("Zu viele fehlgeschlagene Anmeldeversuche"))
        let failures = try await AuditEntry.query(on: app.db).filter(\.$action == "auth.login_failed").count()
        XCTAssertEqual(failures, 5)
        try await app.shutdownOnce()
    }

    func testThrottlingPerIP() async throws {
        let app = try await makeTestApp()
        let b = Browser(app)
        try await b.get("/anmelden")
        for i in 0..<20 {
            let res = try await b.post("/anmelden", ["email": "niemand\(i)@x.test", "passwort": "falsch"])
            XCTAssertEqual(res.status, .unauthorized)
        }
        // no hard lock per address (many people share one NAT address): the 21st attempt is
        // checked, the next one right after it has to wait for the growing delay
        let res = try await b.post("/anmelden", ["email": "noch.einer@x.test", "passwort": "falsch"])
        XCTAssertEqual(res.status, .unauthorized)
        let next = try await b.post("/anmelden", ["email": "und.noch.einer@x.test", "passwort": "falsch"])
        XCTAssertEqual(next.status, .tooManyRequests)
        try await app.shutdownOnce()
    }

    func testFormsWithoutCSRFTokenAreRefused() async throws {
        let app = try await makeTestApp()
        try await createUser(app, email: "clerk@erfurt.test", role: .clerk, tenant: "16051")
        let b = Browser(app)
        try await b.get("/anmelden")
        let res = try await b.post("/anmelden", ["email": "clerk@erfurt.test", "passwort": "Passwort-123"], csrf: false)
        XCTAssertEqual(res.status, .forbidden)
        XCTAssertTrue(res.text.contains("Formular ist abgelaufen"))
        let forged = try await b.post("/anmelden", ["email": "clerk@erfurt.test", "passwort": "Passwort-123", "_csrf": "geraten"], csrf: false)
        XCTAssertEqual(forged.status, .forbidden)
        try await app.shutdownOnce()
    }

    func testOperatorNeedsTOTPAndSessionIsRotated() async throws {
        let app = try await makeTestApp()
        let op = try await createUser(app, email: "op@kiv.test", role: .operator, tenant: nil)
        let b = Browser(app)
        try await b.get("/anmelden")
        let before = b.cookie
        let res = try await b.post("/anmelden", ["email": "op@kiv.test", "passwort": "Passwort-123"])
        XCTAssertEqual(res.headers.first(name: .location), "/anmelden/code")
        XCTAssertNotEqual(b.cookie, before, "new session id after the password step")
        // the password alone does not open operator pages
        let blocked = try await b.get("/betrieb")
        XCTAssertEqual(blocked.status, .unauthorized)
        try await b.get("/anmelden/code")
        let wrong = try await b.post("/anmelden/code", ["code": "000000"])
        XCTAssertEqual(wrong.status, .unauthorized)
        XCTAssertTrue(wrong.text.contains("Sicherheitscode ist falsch"))
        let step = TOTP.step(at: Date())
        let code = TOTP.code(secret: op.totpSecret!, step: step)!
        let ok = try await b.post("/anmelden/code", ["code": code])
        XCTAssertEqual(ok.headers.first(name: .location), "/betrieb")
        let page = try await b.get("/betrieb")
        XCTAssertEqual(page.status, .ok)
        // the same code cannot be used twice
        let again = Browser(app)
        try await again.get("/anmelden")
        try await again.post("/anmelden", ["email": "op@kiv.test", "passwort": "Passwort-123"])
        try await again.get("/anmelden/code")
        let replay = try await again.post("/anmelden/code", ["code": code])
        XCTAssertEqual(replay.status, .unauthorized)
        try await app.shutdownOnce()
    }

    func testTenantAdminEnrolsTOTPOnFirstLogin() async throws {
        let app = try await makeTestApp()
        try await createUser(app, email: "admin@bad-berka.test", role: .tenantAdmin, tenant: "160710003003", totp: false)
        let b = Browser(app)
        try await b.get("/anmelden")
        let res = try await b.post("/anmelden", ["email": "admin@bad-berka.test", "passwort": "Passwort-123"])
        XCTAssertEqual(res.headers.first(name: .location), "/anmelden/einrichten")
        let setup = try await b.get("/anmelden/einrichten")
        XCTAssertTrue(setup.text.contains("otpauth://totp/"))
        let r = try XCTUnwrap(setup.text.range(of: "id=\"totp-secret\">"))
        let secret = String(setup.text[r.upperBound...].prefix { $0 != "<" })
        let bad = try await b.post("/anmelden/einrichten", ["code": "123"])
        XCTAssertEqual(bad.status, .badRequest)
        let code = TOTP.code(secret: secret, step: TOTP.step(at: Date()))!
        let ok = try await b.post("/anmelden/einrichten", ["code": code])
        XCTAssertEqual(ok.headers.first(name: .location), "/mandanten/160710003003")
        let user = try await User.query(on: app.db).filter(\.$email == "admin@bad-berka.test").first()
        XCTAssertEqual(user?.totpEnabled, true)
        XCTAssertEqual(user?.totpSecret, secret)
        let home = try await b.get("/mandanten/160710003003")
        XCTAssertEqual(home.status, .ok)
        try await app.shutdownOnce()
    }

    func testTOTPMatchesRFC6238Vector() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 s → 94287082 (8 digits) → 287082
        let secret = Base32Helper.encode("12345678901234567890")
        XCTAssertEqual(TOTP.code(secret: secret, step: 1), "287082")
        XCTAssertEqual(TOTP.code(secret: secret, step: 1111111109 / 30), "081804")
    }

    func testAPITokensAreScopedHashedAndRevocable() async throws {
        let app = try await makeTestApp()
        let token = try await createToken(app, tenant: "16051", scopes: [.membership])
        let stored = try await APIToken.query(on: app.db).first()
        XCTAssertNotEqual(stored?.tokenHash, token)
        XCTAssertFalse(stored?.tokenHash.contains(token) ?? true)
        let own = try await api(app, .GET, "/api/v1/mitgliedschaften/16051", token: token)
        XCTAssertEqual(own.status, .ok)
        let foreign = try await api(app, .GET, "/api/v1/mitgliedschaften/16052", token: token)
        XCTAssertEqual(foreign.status, .forbidden)
        let decide = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/genehmigung", token: token, json: "{\"wirksamAb\":\"2026-01-01\"}")
        XCTAssertEqual(decide.status, .forbidden)
        let garbage = try await api(app, .GET, "/api/v1/mitgliedschaften/16051", token: "rh_falsch")
        XCTAssertEqual(garbage.status, .unauthorized)
        stored?.revokedAt = Date()
        try await stored?.save(on: app.db)
        let revoked = try await api(app, .GET, "/api/v1/mitgliedschaften/16051", token: token)
        XCTAssertEqual(revoked.status, .unauthorized)
        try await app.shutdownOnce()
    }
}

enum Base32Helper {
    static func encode(_ s: String) -> String { RathausCoreBase32.encode(Array(s.utf8)) }
}
