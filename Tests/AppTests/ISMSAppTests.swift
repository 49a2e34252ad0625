import Fluent
import XCTVapor
import XCTest
import ISMS
@testable import App

/// Issue 19 over HTTP: the starter catalogue in the demo data, Bad Berka names its ISB, answers
/// (not applicable without reason refused), inherits the provider's controls and loses one when
/// it stops using the service, a catalogue update keeps surviving answers and shows the changes,
/// the Land's overview, and who may see what.
final class ISMSAppTests: XCTestCase {
    let berka = "160710003003"

    func testWorkspaceAnswersInheritanceCatalogueUpdateAndOverview() async throws {
        let app = try await makeTestApp(demo: true)
        let admin = try await createUser(app, email: "admin@berka.test", role: .tenantAdmin, tenant: berka)
        admin.name = "Berta Berka"
        try await admin.save(on: app.db)
        let it = try await createUser(app, email: "it@berka.test", role: .clerk, tenant: berka)
        it.name = "Ivo Technik"
        try await it.save(on: app.db)
        let a = Browser(app)
        try await a.login(admin)

        var r = try await a.get("/mandanten/\(berka)/isms")
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.text.contains("Rathaus-Startkatalog Basis-Absicherung (Demo)") && r.text.contains("niemand benannt"), r.text)
        // ISB and deputy: two people of the tenant; the ISB gets the role isb
        r = try await a.post("/mandanten/\(berka)/isms/beauftragte", ["isb": it.id!.uuidString, "vertretung": it.id!.uuidString])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("zwei verschiedene Personen"), r.text)
        r = try await a.post("/mandanten/\(berka)/isms/beauftragte", ["isb": it.id!.uuidString, "vertretung": admin.id!.uuidString])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let roles = try await RoleAssignment.query(on: app.db).filter(\.$userID == it.id!).filter(\.$role == "isb").count()
        XCTAssertEqual(roles, 1)
        r = try await a.get("/mandanten/\(berka)/isms")
        XCTAssertTrue(r.text.contains("Ivo Technik"), r.text)

        // the ISB signs in and lands on the workspace
        let isb = Browser(app)
        try await isb.login(it)
        r = try await isb.get("/mandanten/\(berka)/isms/anforderungen/RAUM-1")
        XCTAssertTrue(r.text.contains("durch den IT-Dienstleister erfüllt") && r.text.contains("Zutrittskontrolle Rechenzentrum"), "inherited from the platform")
        // not applicable without a reason: a German 422, nothing stored, the input kept
        r = try await isb.post("/mandanten/\(berka)/isms/anforderungen/DRUCK-2", ["status": "entbehrlich", "begruendung": "passt nicht", "notiz": "Notiz bleibt"])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("nur mit Begründung entbehrlich") && r.text.contains("Notiz bleibt"), r.text)
        var stored = try await ISMSAnswer.query(on: app.db).filter(\.$tenantARS == berka).count()
        XCTAssertEqual(stored, 0)
        r = try await isb.post("/mandanten/\(berka)/isms/anforderungen/DRUCK-2", ["status": "entbehrlich", "begruendung": "Wir drucken nur auf einem Gerät im abgeschlossenen Büro der Kämmerei."])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await isb.post("/mandanten/\(berka)/isms/anforderungen/ORG-1", ["status": "erfuellt", "verantwortlich": "Bürgermeisterin"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await isb.post("/mandanten/\(berka)/isms/anforderungen/ORG-1", ["status": "teilweise", "notiz": "Vertretung fehlt noch schriftlich"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await isb.get("/mandanten/\(berka)/isms/anforderungen/ORG-1")
        XCTAssertTrue(r.text.contains("teilweise erfüllt") && r.text.contains("Ivo Technik"), "history by name")
        let revisions = try await ISMSAnswerVersion.query(on: app.db).filter(\.$requirementID == "ORG-1").count()
        XCTAssertEqual(revisions, 2)
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action == "isms.answer").count()
        XCTAssertEqual(audit, 3)

        // inheritance follows the use of the service: without an active Leitweg-ID, DIENST-1 is the tenant's again
        var ws = try await XCTUnwrapAsync(try await ISMSService.workspace(app.db, tenant: berka))
        XCTAssertTrue(ws.items.first { $0.requirement.id == "DIENST-1" }!.effective.inherited)
        for e in try await LeitwegEntry.query(on: app.db).filter(\.$tenantARS == berka).all() { e.active = false; try await e.save(on: app.db) }
        ws = try await XCTUnwrapAsync(try await ISMSService.workspace(app.db, tenant: berka))
        XCTAssertFalse(ws.items.first { $0.requirement.id == "DIENST-1" }!.effective.inherited)
        XCTAssertFalse(ws.used.contains("e-rechnung"))
        let before = ws.progress

        // the Land imports version 2: ORG-1 reworded, DRUCK-2 removed, one new requirement; a bad file first
        let land = try await createUser(app, email: "land@test.de", role: .state, tenant: "16")
        let l = Browser(app)
        try await l.login(land)
        try await l.get("/betrieb/isms")
        var csv = "thema_id;thema;anforderung_id;titel;text;stufe;hinweise;nachweise\n"
        for t in ws.catalogue.topics {
            for q in t.requirements where q.id != "DRUCK-2" {
                let text = q.id == "ORG-1" ? q.text + " Die Benennung wird im Amtsblatt bekannt gemacht." : q.text
                csv += [t.id, t.title, q.id, q.title, text, q.level.rawValue, q.hints, q.evidence].map { "\"\($0)\"" }.joined(separator: ";") + "\n"
            }
        }
        let bad = csv + "ORG;Organisation und Personal;ORG-9;;Text;hoch;;\n"
        r = try await l.postMultipart("/betrieb/isms/katalog", fields: ["titel": "Katalog 2027"], files: [("datei", "katalog.csv", Data(bad.utf8))])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("Zeile 33: Die Stufe „hoch“ ist unbekannt"), r.text)
        var versions = try await ISMSCatalogueVersion.query(on: app.db).count()
        XCTAssertEqual(versions, 1, "nothing imported")
        csv += "ORG;Organisation und Personal;ORG-4;Informationssicherheit im Haushalt einplanen;Die Verwaltung plant jährlich Mittel für Informationssicherheit ein.;standard;;Haushaltsstelle\n"
        r = try await l.postMultipart("/betrieb/isms/katalog", fields: ["titel": "Katalog 2027"], files: [("datei", "katalog.csv", Data(csv.utf8))])
        XCTAssertEqual(r.status, .ok, r.text)
        XCTAssertTrue(r.text.contains("Version 2 übernommen: 32 Anforderungen (1 neu, 1 geändert, 1 entfallen)"), r.text)
        versions = try await ISMSCatalogueVersion.query(on: app.db).count()
        XCTAssertEqual(versions, 2)
        r = try await isb.get("/mandanten/\(berka)/isms")
        XCTAssertTrue(r.text.contains("Neue Anforderungen") && r.text.contains("ORG-4") && r.text.contains("Entfallene Anforderungen") && r.text.contains("DRUCK-2"), r.text)
        XCTAssertTrue(r.text.contains("geändert – bitte prüfen"), "the answered, changed requirement is flagged")
        ws = try await XCTUnwrapAsync(try await ISMSService.workspace(app.db, tenant: berka))
        XCTAssertEqual(ws.items.first { $0.requirement.id == "ORG-1" }?.answer?.status, "teilweise", "the surviving answer is kept")
        XCTAssertEqual(ws.orphaned.map(\.requirementID), ["DRUCK-2"])
        XCTAssertEqual(before.total, 32)

        // the Land's overview: Bad Berka with ISB and its share; tenants without ISB first; CSV
        r = try await l.get("/isms/uebersicht")
        XCTAssertEqual(r.status, .ok)
        let berkaRow = try XCTUnwrap(r.text.range(of: "Bad Berka, Stadt"))
        let erfurtRow = try XCTUnwrap(r.text.range(of: "<td lang=\"de\">Erfurt, Stadt</td>"))
        XCTAssertLessThan(erfurtRow.lowerBound, berkaRow.lowerBound, "without ISB first")
        let csvOut = try await l.get("/isms/uebersicht?format=csv")
        XCTAssertTrue(csvOut.text.contains("\"160710003003\";\"Bad Berka, Stadt\";\"Weimarer Land\";\"ja\";"), csvOut.text)

        // who may see what
        let erfurt = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let e = Browser(app)
        try await e.login(erfurt)
        let s1 = try await e.get("/mandanten/\(berka)/isms").status
        XCTAssertEqual(s1, .forbidden)
        let s2 = try await e.get("/isms/uebersicht").status
        XCTAssertEqual(s2, .forbidden)
        let s3 = try await l.get("/mandanten/\(berka)/isms").status
        XCTAssertEqual(s3, .forbidden, "the Land sees the overview, not a tenant's answers")
        r = try await l.post("/betrieb/isms/leistungen", ["leistung": "plattform", "anforderung": "NETZ-1", "nachweis": "x"])
        XCTAssertEqual(r.status, .forbidden, "only the operator declares the provider's controls")
        stored = try await ISMSAnswer.query(on: app.db).filter(\.$tenantARS == berka).count()
        XCTAssertEqual(stored, 2)
    }

    func testOperatorDeclaresControlsOnce() async throws {
        let app = try await makeTestApp(demo: true)
        let op = try await createUser(app, email: "op@kiv.test", role: .operator, tenant: nil)
        let b = Browser(app)
        try await b.login(op)
        try await b.get("/betrieb/isms")
        var r = try await b.post("/betrieb/isms/leistungen", ["leistung": "onlinedienste", "anforderung": "NETZ-1", "nachweis": "Firewall des Rechenzentrums, Prüfbericht 2026"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await b.post("/betrieb/isms/leistungen", ["leistung": "onlinedienste", "anforderung": "NETZ-1", "nachweis": "noch einmal"])
        XCTAssertEqual(r.status, .conflict)
        r = try await b.post("/betrieb/isms/leistungen", ["leistung": "kaffeemaschine", "anforderung": "NETZ-1", "nachweis": "x"])
        XCTAssertEqual(r.status, .badRequest)
        r = try await b.post("/betrieb/isms/leistungen", ["leistung": "onlinedienste", "anforderung": "GIBT-ES-NICHT", "nachweis": "x"])
        XCTAssertEqual(r.status, .badRequest)
        let ws = try await XCTUnwrapAsync(try await ISMSService.workspace(app.db, tenant: "16051"))
        XCTAssertTrue(ws.items.first { $0.requirement.id == "NETZ-1" }!.effective.inherited, "Erfurt offers online services")
        let s4 = try await b.get("/mandanten/16051/isms").status
        XCTAssertEqual(s4, .forbidden, "the provider does not read a tenant's ISMS")
    }
}
