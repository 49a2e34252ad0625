import Fluent
import SQLKit
import XCTVapor
import XCTest
@testable import App

/// Several roles per person, deputies with an end, invitations, and the rules of who may give what.
final class RoleAssignmentTests: XCTestCase {
    /// A person with the roles given (the first one decides the name).
    func person(_ app: Application, _ email: String, _ roles: [(Role, String?, Date?, Date?)], totp: Bool = true) async throws -> User {
        let u = User(email: email, name: "Person \(email.prefix(5))", passwordHash: try await app.password.async.hash("Passwort-123"))
        if totp { u.totpSecret = TOTP.newSecret(); u.totpEnabled = true }
        try await u.create(on: app.db)
        for (role, tenant, from, until) in roles {
            try await RoleAssignment(userID: u.requireID(), role: role, tenantARS: tenant, validFrom: from, validUntil: until, createdBy: "test").create(on: app.db)
        }
        return u
    }

    func testMigrationCarriesEveryLegacyAccountOver() async throws {
        let app = try await makeTestApp()
        // the state before M023: one role column per account, no assignments table
        try await M023CreateRoleAssignments().revert(on: app.db)
        let legacy: [(String, String, String?)] = [("op@x.test", "operator", nil), ("land@x.test", "state", "16"),
                                                   ("adm@x.test", "tenant-admin", "16051"), ("sb@x.test", "clerk", "16051"), ("k@x.test", "kasse", "16052")]
        for (email, role, tenant) in legacy {
            let u = User(email: email, name: email, passwordHash: "x")
            u.role = role; u.tenantARS = tenant
            try await u.create(on: app.db)
        }
        let citizen = User(email: "buerger@x.test", name: "B", passwordHash: "x")
        citizen.kind = "citizen"
        try await citizen.create(on: app.db)
        try await M023CreateRoleAssignments().prepare(on: app.db)
        let rows = try await RoleAssignment.query(on: app.db).all()
        XCTAssertEqual(rows.count, 5, "one assignment per staff account, none for the citizen")
        for (email, role, tenant) in legacy {
            let u = try await XCTUnwrapAsync(try await User.query(on: app.db).filter(\.$email == email).first())
            let grants = try await RoleAssignment.current(of: u.requireID(), on: app.db)
            XCTAssertEqual(grants.map(\.role.rawValue), [role], email)
            XCTAssertEqual(grants.first?.tenantARS, tenant, email)
        }
        try await app.shutdownOnce()
    }

    func testThreeRolesInOneTenantOneInAnotherAndTheHeaderChoice() async throws {
        let app = try await makeTestApp()
        let mayor = try await person(app, "buergermeisterin@bad-berka.test", [
            (.tenantAdmin, "160710003003", nil, nil), (.clerk, "160710003003", nil, nil), (.cashOffice, "160710003003", nil, nil),
            (.clerk, "16051", nil, nil),
        ])
        let b = Browser(app)
        try await b.login(mayor)
        let home = try await b.get("/mandanten/160710003003")
        XCTAssertEqual(home.status, .ok)
        XCTAssertTrue(home.text.contains("Mandanten-Administration, Sachbearbeitung, Kasse"), "all roles for the acting tenant in the header")
        XCTAssertTrue(home.text.contains("handelt für Bad Berka, Stadt"), "the header says for whom the person acts")
        XCTAssertTrue(home.text.contains("<option value=\"16051\">Erfurt, Stadt</option>"), "the other tenant can be chosen")
        for path in ["/mandanten/160710003003/kasse", "/mandanten/160710003003/personal", "/mandanten/160710003003/antraege", "/mandanten/16051/antraege"] {
            let r = try await b.get(path)
            XCTAssertEqual(r.status, .ok, path)
        }
        for path in ["/mandanten/16051/personal", "/mandanten/16051/kasse", "/mandanten/16052/antraege", "/betrieb/personal", "/mandanten/16/personal"] {
            let r = try await b.get(path)
            XCTAssertEqual(r.status, .forbidden, path)
        }
        let sw = try await b.post("/handeln-fuer", ["mandant": "16051"])
        XCTAssertEqual(sw.headers.first(name: .location), "/mandanten/16051")
        let erfurt = try await b.get("/mandanten/16051")
        XCTAssertTrue(erfurt.text.contains("handelt für Erfurt, Stadt"))
        XCTAssertTrue(erfurt.text.contains("(Sachbearbeitung · handelt für Erfurt, Stadt)"))
        XCTAssertFalse(erfurt.text.contains("/mandanten/16051/personal"), "no staff page in the navigation where the person is clerk only")
        let foreign = try await b.post("/handeln-fuer", ["mandant": "16052"])
        XCTAssertEqual(foreign.status, .forbidden)
        try await app.shutdownOnce()
    }

    func testDeputyEndsTheSameSecondItsEndPasses() async throws {
        let app = try await makeTestApp()
        let admin = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let deputy = try await person(app, "vertretung@erfurt.test", [(.clerk, "16051", nil, Date().addingTimeInterval(3600))], totp: false)
        let b = Browser(app)
        try await b.login(deputy)
        let before = try await b.get("/mandanten/16051/antraege")
        XCTAssertEqual(before.status, .ok)

        // the administrator sets the last day to yesterday: the role has ended
        let a = Browser(app)
        try await a.login(admin)
        let row = try await XCTUnwrapAsync(try await RoleAssignment.query(on: app.db).filter(\.$userID == deputy.requireID()).first())
        let yesterday = GermanTime.calendar.date(byAdding: .day, value: -1, to: Date())!
        let c = GermanTime.calendar.dateComponents([.year, .month, .day], from: yesterday)
        let end = try await a.post("/mandanten/16051/personal/zuweisungen/\(row.requireID())/ende",
                                   ["bis": String(format: "%02d.%02d.%04d", c.day!, c.month!, c.year!)])
        XCTAssertEqual(end.status, .seeOther, end.text)
        let after = try await b.get("/mandanten/16051/antraege")
        XCTAssertEqual(after.status, .forbidden, "the same session is refused once the role has ended")
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action == "staff.role_end_set").first()
        XCTAssertEqual(audit?.objectID, "vertretung@erfurt.test")

        // a deputy whose end passes during the session: refused on the next request, no job needed
        let second = try await person(app, "vertretung2@erfurt.test", [(.clerk, "16051", nil, Date().addingTimeInterval(2))], totp: false)
        let s = Browser(app)
        try await s.login(second)
        let ok = try await s.get("/mandanten/16051/antraege")
        XCTAssertEqual(ok.status, .ok)
        let row2 = try await XCTUnwrapAsync(try await RoleAssignment.query(on: app.db).filter(\.$userID == second.requireID()).first())
        row2.validUntil = Date().addingTimeInterval(-0.001)
        try await row2.save(on: app.db)
        let refused = try await s.get("/mandanten/16051/antraege")
        XCTAssertEqual(refused.status, .forbidden)
        // and it cannot sign in again
        let again = Browser(app)
        try await again.get("/anmelden")
        let login = try await again.post("/anmelden", ["email": second.email, "passwort": "Passwort-123"])
        XCTAssertEqual(login.status, .unauthorized)

        // a role that starts tomorrow does not count today
        let future = try await person(app, "spaeter@erfurt.test", [(.clerk, "16051", Date().addingTimeInterval(86400), nil), (.clerk, "160710003003", nil, nil)], totp: false)
        let f = Browser(app)
        try await f.login(future)
        let notYet = try await f.get("/mandanten/16051/antraege")
        XCTAssertEqual(notYet.status, .forbidden)
        try await app.shutdownOnce()
    }

    func testInvitationSetsPasswordThenTOTPAtFirstSignIn() async throws {
        let app = try await makeTestApp()
        let admin = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let a = Browser(app)
        try await a.login(admin)
        let bad = try await a.post("/mandanten/16051/personal/einladen", ["email": "neu@erfurt.test", "name": "Neue Kollegin", "rolle": "tenant-admin", "bis": "31.02.2027"])
        XCTAssertEqual(bad.status, .badRequest)
        XCTAssertTrue(bad.text.contains("Bitte geben Sie das Ende als Datum an"))
        let noName = try await a.post("/mandanten/16051/personal/einladen", ["email": "neu@erfurt.test", "rolle": "clerk"])
        XCTAssertEqual(noName.status, .badRequest)
        let sent = try await a.post("/mandanten/16051/personal/einladen", ["email": "neu@erfurt.test", "name": "Neue Kollegin", "rolle": "tenant-admin", "vertretung": "Frau Muster"])
        XCTAssertEqual(sent.status, .seeOther, sent.text)
        let list = try await a.get("/mandanten/16051/personal")
        XCTAssertTrue(list.text.contains("Neue Kollegin") && list.text.contains("Einladung offen") && list.text.contains("Vertretung für Frau Muster"))
        XCTAssertTrue(list.text.contains("noch nie"))
        let dup = try await a.post("/mandanten/16051/personal/einladen", ["email": "neu@erfurt.test", "rolle": "tenant-admin"])
        XCTAssertEqual(dup.status, .conflict)

        let mail = try await XCTUnwrapAsync(try await OutboxMail.query(on: app.db).filter(\.$recipient == "neu@erfurt.test").first())
        let link = try XCTUnwrap(mail.body.range(of: "/einladung/"))
        let token = String(mail.body[link.upperBound...].prefix { !$0.isWhitespace })
        XCTAssertTrue(mail.body.contains("zweiten Faktor"))

        // the invitee: no password yet, so no sign-in
        let n = Browser(app)
        try await n.get("/anmelden")
        let early = try await n.post("/anmelden", ["email": "neu@erfurt.test", "passwort": "!invited:"])
        XCTAssertEqual(early.status, .unauthorized)
        try await n.get("/einladung/\(token)")
        let weak = try await n.post("/einladung/\(token)", ["passwort": "kurz", "passwort2": "kurz"])
        XCTAssertEqual(weak.status, .badRequest)
        let set = try await n.post("/einladung/\(token)", ["passwort": "Ein-gutes-Passwort-42", "passwort2": "Ein-gutes-Passwort-42"])
        XCTAssertEqual(set.status, .ok)
        let reuse = try await n.post("/einladung/\(token)", ["passwort": "Ein-gutes-Passwort-43", "passwort2": "Ein-gutes-Passwort-43"])
        XCTAssertEqual(reuse.status, .gone, "the link works once")

        try await n.get("/anmelden")
        let pw = try await n.post("/anmelden", ["email": "neu@erfurt.test", "passwort": "Ein-gutes-Passwort-42"])
        XCTAssertEqual(pw.headers.first(name: .location), "/anmelden/einrichten", "an administrator sets up the second factor first")
        let setup = try await n.get("/anmelden/einrichten")
        let r = try XCTUnwrap(setup.text.range(of: "id=\"totp-secret\">"))
        let secret = String(setup.text[r.upperBound...].prefix { $0 != "<" })
        let code = try XCTUnwrap(TOTP.code(secret: secret, step: TOTP.step(at: Date())))
        let done = try await n.post("/anmelden/einrichten", ["code": code])
        XCTAssertEqual(done.headers.first(name: .location), "/mandanten/16051")
        let page = try await n.get("/mandanten/16051/personal")
        XCTAssertEqual(page.status, .ok)
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action ~~ ["staff.invited", "staff.invitation_accepted", "auth.totp_enrolled"]).count()
        XCTAssertEqual(audit, 3)
        try await app.shutdownOnce()
    }

    func testWhoMayGiveWhatAndNobodyLocksTheTenantOut() async throws {
        let app = try await makeTestApp()
        let admin = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let op = try await createUser(app, email: "op@kiv.test", role: .operator, tenant: nil)
        let land = try await createUser(app, email: "land@th.test", role: .state, tenant: "16")
        let vg = try await createUser(app, email: "admin@vg-kranichfeld.test", role: .tenantAdmin, tenant: "160715007")
        let citizen = User(email: "buerger@example.org", name: "B", passwordHash: "x")
        citizen.kind = "citizen"
        try await citizen.create(on: app.db)

        let a = Browser(app)
        try await a.login(admin)
        // only the operator creates operators, only the Land creates Land staff
        let opPage = try await a.post("/betrieb/personal/einladen", ["email": "x@erfurt.test", "name": "X", "rolle": "operator"])
        XCTAssertEqual(opPage.status, .forbidden)
        let landPage = try await a.post("/mandanten/16/personal/einladen", ["email": "x@erfurt.test", "name": "X", "rolle": "state"])
        XCTAssertEqual(landPage.status, .forbidden)
        let wrongRole = try await a.post("/mandanten/16051/personal/einladen", ["email": "x@erfurt.test", "name": "X", "rolle": "operator"])
        XCTAssertEqual(wrongRole.status, .badRequest)
        let citizenMail = try await a.post("/mandanten/16051/personal/einladen", ["email": "buerger@example.org", "name": "X", "rolle": "clerk"])
        XCTAssertEqual(citizenMail.status, .conflict)
        // the last administrator can neither be removed nor end, not even by themselves
        let own = try await XCTUnwrapAsync(try await RoleAssignment.query(on: app.db).filter(\.$userID == admin.requireID()).first())
        let removeSelf = try await a.post("/mandanten/16051/personal/zuweisungen/\(own.requireID())/entfernen")
        XCTAssertEqual(removeSelf.status, .conflict)
        XCTAssertTrue(removeSelf.text.contains("letzte unbefristete Administrationsrolle"))
        let endSelf = try await a.post("/mandanten/16051/personal/zuweisungen/\(own.requireID())/ende", ["bis": "31.12.2099"])
        XCTAssertEqual(endSelf.status, .conflict)
        // an assignment of another tenant is not found through this tenant's page
        let foreign = try await RoleAssignment.query(on: app.db).filter(\.$userID == vg.requireID()).first()
        let cross = try await a.post("/mandanten/16051/personal/zuweisungen/\(try XCTUnwrap(foreign?.id))/entfernen")
        XCTAssertEqual(cross.status, .notFound)

        // the operator creates a second operator; the Land creates Land staff
        let o = Browser(app)
        try await o.login(op)
        let newOp = try await o.post("/betrieb/personal/einladen", ["email": "op2@kiv.test", "name": "Zweiter Betrieb", "rolle": "operator"])
        XCTAssertEqual(newOp.status, .seeOther, newOp.text)
        let opLand = try await o.post("/mandanten/16/personal/einladen", ["email": "x@th.test", "name": "X", "rolle": "state"])
        XCTAssertEqual(opLand.status, .forbidden, "the operator does not create Land staff")
        let l = Browser(app)
        try await l.login(land)
        let newLand = try await l.post("/mandanten/16/personal/einladen", ["email": "land2@th.test", "name": "Referentin", "rolle": "state"])
        XCTAssertEqual(newLand.status, .seeOther, newLand.text)

        // the VG's administrator gives a VG clerk a role in the member Gemeinde Hohenfelden, not elsewhere
        let v = Browser(app)
        try await v.login(vg)
        let member = try await v.post("/mandanten/160715007032/personal/einladen", ["email": "sb@vg-kranichfeld.test", "name": "VG-Sachbearbeitung", "rolle": "clerk"])
        XCTAssertEqual(member.status, .seeOther, member.text)
        let notMember = try await v.post("/mandanten/16051/personal/einladen", ["email": "sb@vg-kranichfeld.test", "name": "X", "rolle": "clerk"])
        XCTAssertEqual(notMember.status, .forbidden)
        let memberCases = try await v.get("/mandanten/160715007032/antraege")
        XCTAssertEqual(memberCases.status, .forbidden, "giving roles there is all the VG admin may do in a member Gemeinde")
        try await app.shutdownOnce()
    }
}
