import Fluent
import XCTVapor
import XCTest
import Forms
@testable import App

final class OnlineServiceTests: XCTestCase {
    func testMunicipalityActivatesWithLocalSettingsAndDeactivates() async throws {
        let app = try await makeTestApp(demo: true)
        let admin = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let b = Browser(app)
        try await b.login(admin)
        var r = try await b.get("/mandanten/16051/onlinedienste")
        XCTAssertTrue(r.text.contains("Sondernutzung öffentlicher Verkehrsflächen") && r.text.contains("99108012005001"), r.text)
        r = try await b.post("/mandanten/16051/onlinedienste/sondernutzung", ["aktiv": "nein"])
        XCTAssertEqual(r.status, .seeOther)
        r = try await b.get("/onlinedienste/sondernutzung?ars=160510000000")
        XCTAssertTrue(r.text.contains("bietet diesen Dienst nicht online an"))
        r = try await b.post("/mandanten/16051/onlinedienste/sondernutzung", ["aktiv": "ja", "gebuehr": "zwölf"])
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("kein Betrag"), r.text)
        r = try await b.post("/mandanten/16051/onlinedienste/sondernutzung", ["aktiv": "ja", "gebuehr": "12,50", "text": "Bitte zwei Wochen vorher beantragen."])
        XCTAssertEqual(r.status, .seeOther)
        let list = try await api(app, .GET, "/api/v1/onlinedienste?ars=160510000000&nurAngeboten=true")
        let item = try XCTUnwrap((try list.json()["items"] as? [[String: Any]])?.first { $0["kennung"] as? String == "sondernutzung" })
        XCTAssertEqual(item["gebuehrCentOrt"] as? Int, 1250)
        r = try await b.get("/onlinedienste/sondernutzung?ars=160510000000")
        XCTAssertTrue(r.text.contains("12,50") && r.text.contains("zwei Wochen vorher"), r.text)
        let audit = try await AuditEntry.query(on: app.db).filter(\.$objectID == "sondernutzung").filter(\.$tenantARS == "16051").count()
        XCTAssertEqual(audit, 3, "seed + off + on")
        // another tenant's admin cannot switch Erfurt's services
        let other = try await createUser(app, email: "admin@gera.test", role: .tenantAdmin, tenant: "16052")
        let o = Browser(app)
        try await o.login(other)
        r = try await o.post("/mandanten/16051/onlinedienste/sondernutzung", ["aktiv": "nein"])
        XCTAssertEqual(r.status, .forbidden)
    }

    func testStatePublishesNewVersionDraftsKeepTheirs() async throws {
        let app = try await makeTestApp(demo: true)
        let (_, c) = try await ServicekontoTests.citizen(app, "v@example.org")
        try await c.get("/onlinedienste/hund-anmelden?ars=160510000000")
        let started = try await c.post("/onlinedienste/hund-anmelden/antrag", ["ars": "160510000000"])
        let oldDraft = try XCTUnwrap(started.headers.first(name: .location))

        let land = try await createUser(app, email: "land@thueringen.test", role: .state, tenant: "16")
        let b = Browser(app)
        try await b.login(land)
        var r = try await b.get("/land/onlinedienste")
        XCTAssertTrue(r.text.contains("hund-anmelden"))
        r = try await b.post("/land/onlinedienste", ["definition": "{kaputt"])
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("kein gültiges JSON"))
        let v1 = try await XCTUnwrapAsync(try await OnlineServiceCatalogue.latest("hund-anmelden", on: app.db))
        var d = try v1.decoded()
        d.title = LocalizedText(de: "Hund anmelden (Hundesteuer) – neu", en: nil)
        d.form.steps[0].fields.append(FieldDefinition(id: "email", type: .email, label: LocalizedText(de: "E-Mail für Rückfragen")))
        var bad = d
        bad.leika = "123"
        let enc = JSONEncoder()
        r = try await b.post("/land/onlinedienste", ["definition": String(decoding: try enc.encode(bad), as: UTF8.self)])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("LeiKa-Schlüssel"), r.text)
        r = try await b.post("/land/onlinedienste", ["definition": String(decoding: try enc.encode(d), as: UTF8.self)])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let v2 = try await XCTUnwrapAsync(try await OnlineServiceCatalogue.latest("hund-anmelden", on: app.db))
        XCTAssertEqual(v2.version, 2)

        // the activation follows the new version, the started draft stays on version 1
        r = try await c.get("/onlinedienste/hund-anmelden?ars=160510000000")
        XCTAssertTrue(r.text.contains("– neu"))
        r = try await c.get(oldDraft)
        XCTAssertFalse(r.text.contains("E-Mail für Rückfragen"), "in-flight draft keeps its form version")
        let newStart = try await c.post("/onlinedienste/hund-anmelden/antrag", ["ars": "160510000000"])
        r = try await c.get(try XCTUnwrap(newStart.headers.first(name: .location)))
        XCTAssertTrue(r.text.contains("E-Mail für Rückfragen"))

        // API publication needs a Land token with scope onlinedienste
        let tenantToken = try await createToken(app, tenant: "16051", scopes: [.onlinedienste])
        let json = String(decoding: try enc.encode(d), as: UTF8.self)
        var res = try await api(app, .POST, "/api/v1/onlinedienste", token: tenantToken, json: json)
        XCTAssertEqual(res.status, .forbidden)
        let landToken = try await createToken(app, tenant: "16", scopes: [.onlinedienste])
        res = try await api(app, .POST, "/api/v1/onlinedienste", token: landToken, json: json)
        XCTAssertEqual(res.status, .created, res.text)
        XCTAssertEqual(try res.json()["version"] as? Int, 3)
        res = try await api(app, .POST, "/api/v1/onlinedienste", token: landToken, json: #"{"slug":"x"}"#)
        XCTAssertEqual(res.status, .badRequest)
        // a clerk cannot publish
        let clerk = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let k = Browser(app)
        try await k.login(clerk)
        r = try await k.get("/land/onlinedienste")
        XCTAssertEqual(r.status, .forbidden)
    }

    func testFinderLinksToTheOnlineServiceWhereOffered() async throws {
        let app = try await makeTestApp(demo: true)
        var r = try await app.testable().sendRequest(.GET, "/finder?schluessel=99102013002000&ars=160510000000")
        XCTAssertTrue(r.text.contains("/onlinedienste/hund-anmelden?ars=160510000000"), r.text)
        r = try await app.testable().sendRequest(.GET, "/finder?schluessel=99102013002000&ars=160715007043")
        XCTAssertFalse(r.text.contains("/onlinedienste/hund-anmelden"), "not offered in VG Kranichfeld")
    }
}
