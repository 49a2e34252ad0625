import Fluent
import XCTVapor
import XCTest
@testable import App

/// The same journey as a person clicks it: survey → application → approval → member, in HTML forms.
final class MembershipWebTests: XCTestCase {
    func testJourneyInTheBrowser() async throws {
        let app = try await makeTestApp()
        let opUser = try await createUser(app, email: "op@kiv.test", role: .operator, tenant: nil)
        let adminUser = try await createUser(app, email: "admin@bad-berka.test", role: .tenantAdmin, tenant: "160710003003")
        let stateUser = try await createUser(app, email: "land@tmik.test", role: .state, tenant: "16")
        let op = Browser(app), admin = Browser(app), state = Browser(app)
        try await op.login(opUser)
        try await admin.login(adminUser)
        try await state.login(stateUser)

        // operator opens a survey round in the form; an empty title is explained
        try await op.get("/betrieb/umfragen")
        let empty = try await op.post("/betrieb/umfragen", ["titel": "", "endetAm": ""])
        XCTAssertEqual(empty.status, .badRequest)
        XCTAssertTrue(empty.text.contains("class=\"error-summary\""))
        XCTAssertTrue(empty.text.contains("href=\"#titel\""))
        let opened = try await op.post("/betrieb/umfragen", ["titel": "Beitritt 2027", "endetAm": "2099-12-31"])
        XCTAssertEqual(opened.status, .seeOther)
        let resultsPath = try XCTUnwrap(opened.headers.first(name: .location))
        let roundID = String(resultsPath.split(separator: "/").last!)

        // the tenant admin sees the round and answers it
        let home = try await admin.get("/mandanten/160710003003")
        XCTAssertTrue(home.text.contains("Beitritt 2027"))
        try await admin.get("/mandanten/160710003003/umfragen/\(roundID)")
        let noChoice = try await admin.post("/mandanten/160710003003/umfragen/\(roundID)", ["ansprechpartner": "Herr B", "email": "it@bad-berka.de"])
        XCTAssertEqual(noChoice.status, .badRequest)
        XCTAssertTrue(noChoice.text.contains("Bitte wählen Sie, ob Interesse besteht"))
        XCTAssertTrue(noChoice.text.contains("value=\"Herr B\""), "input is kept")
        let answered = try await admin.post("/mandanten/160710003003/umfragen/\(roundID)",
                                            ["interesse": "yes", "dienste[]": "erechnung", "ansprechpartner": "Herr B", "email": "it@bad-berka.de"])
        XCTAssertEqual(answered.status, .seeOther, answered.text)

        // the results page shows table and chart, for the operator and for the Land
        for b in [op, state] {
            let results = try await b.get(resultsPath)
            XCTAssertEqual(results.status, .ok)
            XCTAssertTrue(results.text.contains("<svg"))
            XCTAssertTrue(results.text.contains("role=\"img\""))
            XCTAssertTrue(results.text.contains("Weimarer Land"))
            XCTAssertTrue(results.text.contains("100,0 %"))
        }

        // Beitrittsantrag with a German amount
        try await admin.get("/mandanten/160710003003/beitritt")
        let badAmount = try await admin.post("/mandanten/160710003003/beitritt",
                                             ["antragsdatum": "2026-01-15", "ratsbeschluss": "GR 2026/4", "ratsbeschlussDatum": "2026-01-12", "anteil": "zwei Euro"])
        XCTAssertEqual(badAmount.status, .badRequest)
        XCTAssertTrue(badAmount.text.contains("href=\"#anteil\""))
        let applied = try await admin.post("/mandanten/160710003003/beitritt",
                                           ["antragsdatum": "2026-01-15", "ratsbeschluss": "GR 2026/4", "ratsbeschlussDatum": "2026-01-12", "anteil": "1.250,50"])
        XCTAssertEqual(applied.status, .seeOther, applied.text)
        let m = try await Membership.query(on: app.db).filter(\.$tenantARS == "160710003003").first()
        XCTAssertEqual(m?.shareCents, 125_050)
        XCTAssertEqual(m?.status, "applied")

        // the operator sees it on the dashboard, rejects without reason (refused), then approves
        let dash = try await op.get("/betrieb")
        XCTAssertTrue(dash.text.contains("Bad Berka, Stadt"))
        let appPage = try await op.get("/betrieb/antraege/160710003003")
        XCTAssertTrue(appPage.text.contains("1.250,50 €"))
        let noReason = try await op.post("/betrieb/antraege/160710003003/ablehnen", ["begruendung": ""])
        XCTAssertEqual(noReason.status, .badRequest)
        let approved = try await op.post("/betrieb/antraege/160710003003/genehmigen", ["wirksamAb": "2026-03-01"])
        XCTAssertEqual(approved.status, .seeOther)
        let memberHome = try await admin.get("/mandanten/160710003003")
        XCTAssertTrue(memberHome.text.contains("status-member"))
        XCTAssertTrue(memberHome.text.contains("2026-03-01"))

        // overview, filter and CSV export
        let overview = try await state.get("/uebersicht?kreis=16071&status=member")
        XCTAssertEqual(overview.status, .ok)
        XCTAssertTrue(overview.text.contains("Bad Berka, Stadt"))
        XCTAssertFalse(overview.text.contains("Apolda, Stadt"))
        let csv = try await state.get("/uebersicht.csv?kreis=16071")
        XCTAssertEqual(csv.headers.contentType?.subType, "csv")
        let lines = csv.text.split(separator: "\r\n")
        XCTAssertTrue(lines.contains { $0.contains("\"160710003003\"") && $0.contains("\"member\"") && $0.contains("\"1250.50\"") })
        XCTAssertGreaterThan(lines.count, 20)
        let badFilter = try await state.get("/uebersicht?status=unsinn")
        XCTAssertEqual(badFilter.status, .badRequest)
        // the Land reads but does not decide
        let stateDecides = try await state.post("/betrieb/antraege/160710003003/ablehnen", ["begruendung": "x"])
        XCTAssertEqual(stateDecides.status, .forbidden)

        // the operator browses the audit trail
        let audit = try await op.get("/betrieb/audit?mandant=160710003003")
        XCTAssertTrue(audit.text.contains("membership.approve"))
        let check = try await op.get("/betrieb/audit?pruefen=1")
        XCTAssertTrue(check.text.contains("Kette in Ordnung"))
        let adminAudit = try await admin.get("/betrieb/audit")
        XCTAssertEqual(adminAudit.status, .forbidden)

        // notice in the form
        try await admin.get("/mandanten/160710003003/kuendigung")
        let past = try await admin.post("/mandanten/160710003003/kuendigung", ["kuendigungZum": "2020-01-01"])
        XCTAssertEqual(past.status, .badRequest)
        let notice = try await admin.post("/mandanten/160710003003/kuendigung", ["kuendigungZum": "2099-12-31", "begruendung": "Eigene Lösung"])
        XCTAssertEqual(notice.status, .seeOther)
        try await app.shutdownOnce()
    }

    func testTenantAdminManagesOwnAPITokens() async throws {
        let app = try await makeTestApp()
        let adminUser = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let b = Browser(app)
        try await b.login(adminUser)
        try await b.get("/mandanten/16051/tokens")
        let created = try await b.post("/mandanten/16051/tokens", ["name": "Fachverfahren"])
        XCTAssertEqual(created.status, .ok)
        let r = try XCTUnwrap(created.text.range(of: "id=\"neuer-token\">"))
        let token = String(created.text[r.upperBound...].prefix { $0 != "<" })
        XCTAssertTrue(token.hasPrefix("rh_"))
        let use = try await api(app, .GET, "/api/v1/mitgliedschaften/16051", token: token)
        XCTAssertEqual(use.status, .ok)
        let list = try await b.get("/mandanten/16051/tokens")
        XCTAssertFalse(list.text.contains(token), "shown once only")
        let stored = try await APIToken.query(on: app.db).filter(\.$tenantARS == "16051").first()
        let id = try XCTUnwrap(stored?.id?.uuidString)
        try await b.post("/mandanten/16051/tokens/\(id)/widerruf")
        let after = try await api(app, .GET, "/api/v1/mitgliedschaften/16051", token: token)
        XCTAssertEqual(after.status, .unauthorized)
        try await app.shutdownOnce()
    }

    func testDemoModeSeedsEveryRoleAndShowsTheirCode() async throws {
        let app = try await makeTestApp(demo: true)
        let users = try await User.query(on: app.db).filter(\.$isDemo == true).all()
        let roles = try await RoleAssignment.query(on: app.db).filter(\.$userID ~~ users.compactMap(\.id)).all()
        XCTAssertEqual(Set(roles.map(\.role)), Set(Role.allCases.map(\.rawValue)))
        let b = Browser(app)
        let login = try await b.get("/anmelden")
        XCTAssertTrue(login.text.contains("betrieb@demo.rathaus.test"))
        try await b.post("/anmelden", ["email": "betrieb@demo.rathaus.test", "passwort": DemoData.password])
        let code = try await b.get("/anmelden/code")
        let r = try XCTUnwrap(code.text.range(of: "id=\"demo-code\">"))
        let shown = String(code.text[r.upperBound...].prefix { $0 != "<" })
        let ok = try await b.post("/anmelden/code", ["code": shown])
        XCTAssertEqual(ok.headers.first(name: .location), "/betrieb")
        try await app.shutdownOnce()
        // production never creates demo accounts
        let prod = try await makeTestApp(demo: false)
        let none = try await User.query(on: prod.db).count()
        XCTAssertEqual(none, 0)
        try await prod.shutdownOnce()
    }
}
