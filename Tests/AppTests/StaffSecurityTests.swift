import Fluent
import XCTVapor
import XCTest
@testable import App

/// Issue 19, platform hardening: the session list (end one, end the others), a tenant that
/// requires a second factor for all staff, and a tenant's allow-list of networks.
final class StaffSecurityTests: XCTestCase {
    let berka = "160710003003"

    func testSessionsTOTPRequirementAndNetworks() async throws {
        let app = try await makeTestApp(demo: true)
        let admin = try await createUser(app, email: "admin@berka.test", role: .tenantAdmin, tenant: berka)
        let clerk = try await createUser(app, email: "clerk@berka.test", role: .clerk, tenant: berka)

        // two sessions of the clerk; the first sees both and ends the other
        let one = Browser(app), two = Browser(app)
        one.ip = "198.51.100.10"; two.ip = "203.0.113.77"
        try await one.login(clerk)
        try await two.login(clerk)
        var r = try await one.get("/sitzungen")
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.text.contains("198.51.100.10") && r.text.contains("203.0.113.77") && r.text.contains("diese Sitzung"), r.text)
        r = try await one.post("/sitzungen/andere-beenden")
        XCTAssertEqual(r.status, .seeOther)
        let s2 = try await two.get("/mandanten/\(berka)/antraege").status
        XCTAssertEqual(s2, .unauthorized, "the other session is gone")
        let s1 = try await one.get("/mandanten/\(berka)/antraege").status
        XCTAssertEqual(s1, .ok)
        // someone else's session cannot be ended
        let a = Browser(app)
        try await a.login(admin)
        let mine = try await StaffSecurity.sessions(of: clerk.id!, on: app.db)
        r = try await a.post("/sitzungen/\(mine[0].id!)/beenden")
        XCTAssertEqual(r.status, .notFound)

        // the admin requires a second factor: the clerk has to set one up at the next sign-in
        r = try await a.get("/mandanten/\(berka)/sicherheit")
        XCTAssertEqual(r.status, .ok)
        r = try await a.post("/mandanten/\(berka)/sicherheit", ["zweiter_faktor": "1", "netze": "10.0.0.0/8\nkein netz"])
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("Zeile 2: „kein netz“ ist kein Netz"), r.text)
        r = try await a.post("/mandanten/\(berka)/sicherheit", ["zweiter_faktor": "1", "netze": "10.0.0.0/8"])
        XCTAssertEqual(r.status, .unprocessableEntity, "the admin would lock themself out")
        XCTAssertTrue(r.text.contains("aussperren"), r.text)
        r = try await a.post("/mandanten/\(berka)/sicherheit", ["zweiter_faktor": "1", "netze": ""])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let c = Browser(app)
        try await c.get("/anmelden")
        r = try await c.post("/anmelden", ["email": "clerk@berka.test", "passwort": "Passwort-123"])
        XCTAssertEqual(r.headers.first(name: .location), "/anmelden/einrichten")

        // networks: from outside the tenant's roles do not count, sign-in is refused with a German reason
        r = try await a.post("/mandanten/\(berka)/sicherheit", ["zweiter_faktor": "", "netze": "\(a.ip)/32\n192.0.2.0/24"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let outside = Browser(app)
        outside.ip = "203.0.113.5"
        try await outside.get("/anmelden")
        r = try await outside.post("/anmelden", ["email": "clerk@berka.test", "passwort": "Passwort-123"])
        XCTAssertEqual(r.status, .forbidden)
        XCTAssertTrue(r.text.contains("nur aus ihren eigenen Netzen"), r.text)
        let inside = Browser(app)
        inside.ip = "192.0.2.44"
        try await inside.login(clerk)
        let s3 = try await inside.get("/mandanten/\(berka)/antraege").status
        XCTAssertEqual(s3, .ok)
        // the session that moves outside loses the tenant's roles
        inside.ip = "203.0.113.9"
        let s4 = try await inside.get("/mandanten/\(berka)/antraege").status
        XCTAssertEqual(s4, .forbidden)
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action == "security.rules").count()
        XCTAssertEqual(audit, 2)
    }
}
