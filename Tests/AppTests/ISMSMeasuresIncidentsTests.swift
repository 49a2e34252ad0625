import Fluent
import XCTVapor
import XCTest
import ISMS
import RathausCore
@testable import App

extension Browser {
    /// A form with repeated keys (checkbox lists: `massnahme[]=a&massnahme[]=b`).
    @discardableResult
    func postPairs(_ path: String, _ pairs: [(String, String)]) async throws -> TestingHTTPResponse {
        var all = pairs
        if let token = csrf { all.append(("_csrf", token)) }
        func enc(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }
        let body = all.map { "\(enc($0.0))=\(enc($0.1))" }.joined(separator: "&")
        var h = headers()
        h.contentType = .urlEncodedForm
        let res = try await app.testable().sendRequest(.POST, path, headers: h, body: ByteBuffer(string: body))
        remember(res)
        return res
    }
}

/// Issue 19, second part over HTTP: measures with reminders and the funding draft, the council
/// report and the CSV, the structure inventory, incidents with the CERT and the 72-hour deadline,
/// the Land's anonymised counts, the API, security.txt and backup/restore.
final class ISMSMeasuresIncidentsTests: XCTestCase {
    let berka = "160710003003"

    func testMeasuresRemindersFundingDraftReportAndInventory() async throws {
        let app = try await makeTestApp(demo: true)
        let admin = try await createUser(app, email: "admin@berka.test", role: .tenantAdmin, tenant: berka)
        admin.name = "Berta Berka"
        try await admin.save(on: app.db)
        let a = Browser(app)
        try await a.login(admin)
        var r = try await a.get("/mandanten/\(berka)/isms/massnahmen?anforderung=ORG-1")
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.text.contains("<option value=\"ORG-1\" selected>"), "the requirement page's link preselects the gap")
        // a bad date and a stranger as owner: German messages, the input kept, nothing stored
        r = try await a.post("/mandanten/\(berka)/isms/massnahmen", ["anforderung": "ORG-1", "titel": "ISB schriftlich benennen", "verantwortlich": admin.id!.uuidString, "faellig": "31.02.2027"])
        XCTAssertEqual(r.status, .badRequest, r.text)
        XCTAssertTrue(r.text.contains("ISB schriftlich benennen"), "input kept")
        r = try await a.post("/mandanten/\(berka)/isms/massnahmen", ["anforderung": "ORG-1", "titel": "ISB schriftlich benennen", "verantwortlich": UUID().uuidString, "faellig": "31.03.2027"])
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("verantwortliche Person aus der Liste"), r.text)
        let demoMeasures = try await ISMSMeasure.query(on: app.db).count()
        var count = try await ISMSMeasure.query(on: app.db).count()
        XCTAssertEqual(count, demoMeasures, "nothing stored")
        let today = BusinessDate.today()
        let inTen = CalendarDay.display(BusinessDate.today(Date().addingTimeInterval(10 * 86400)))
        r = try await a.post("/mandanten/\(berka)/isms/massnahmen", ["anforderung": "ORG-1", "titel": "ISB schriftlich benennen", "verantwortlich": admin.id!.uuidString, "faellig": inTen])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await a.post("/mandanten/\(berka)/isms/massnahmen", ["anforderung": "BACK-3", "titel": "Sicherungskonzept mit externer Beratung", "verantwortlich": admin.id!.uuidString,
                                                                     "faellig": "30.06.2027", "kosten": "4.800,00"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await a.post("/mandanten/\(berka)/isms/massnahmen", ["anforderung": "NOTFALL-2", "titel": "Schulung Datensicherung", "verantwortlich": admin.id!.uuidString,
                                                                     "faellig": "30.09.2027", "kosten": "1.250,50"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await a.get("/mandanten/\(berka)/isms/massnahmen")
        XCTAssertTrue(r.text.contains("8.450,50 €") && r.text.contains(inTen) && r.text.contains("Berta Berka"), r.text)

        // reminders: 14 days before, once, even when the job runs twice (two instances)
        var queued = try await ISMSMeasures.reminders(app, now: Date())
        XCTAssertEqual(queued, 1)
        queued = try await ISMSMeasures.reminders(app, now: Date())
        XCTAssertEqual(queued, 0)
        let mail = try await OutboxMail.query(on: app.db).filter(\.$key ~~ "isms-massnahme").all()
        XCTAssertEqual(mail.map(\.recipient), ["admin@berka.test"])
        XCTAssertTrue(mail.first?.subject.contains("ISMS-Maßnahme fällig am \(inTen)") == true, mail.first?.subject ?? "")
        _ = today

        // status change, audited with before/after
        let first = try await XCTUnwrapAsync(try await ISMSMeasure.query(on: app.db).filter(\.$requirementID == "ORG-1").first())
        r = try await a.post("/mandanten/\(berka)/isms/massnahmen/\(first.id!)", ["anforderung": "ORG-1", "titel": "ISB schriftlich benennen", "verantwortlich": admin.id!.uuidString, "faellig": inTen, "status": "erledigt"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let changed = try await AuditEntry.query(on: app.db).filter(\.$action == "isms.measure_changed").first()
        XCTAssertTrue(changed?.before?.contains("geplant") == true && changed?.after?.contains("erledigt") == true)

        // one click: the two measures with costs become a draft funding application in the open ISMS call
        let costly = try await ISMSMeasure.query(on: app.db).filter(\.$costCents > 0).filter(\.$createdBy == "user:admin@berka.test").all()
        r = try await a.postPairs("/mandanten/\(berka)/isms/massnahmen/foerderantrag", [])
        XCTAssertEqual(r.status, .badRequest)
        r = try await a.postPairs("/mandanten/\(berka)/isms/massnahmen/foerderantrag", costly.map { ("massnahme[]", $0.id!.uuidString) })
        XCTAssertEqual(r.status, .seeOther, r.text)
        let app1 = try await XCTUnwrapAsync(try await FundingApplication.query(on: app.db).filter(\.$tenantARS == berka).filter(\.$title ~~ "ISMS").first())
        XCTAssertEqual(app1.status, "entwurf")
        let items = try await FundingCostItem.query(on: app.db).filter(\.$applicationID == app1.id!).all()
        XCTAssertEqual(items.map(\.netCents).reduce(0, +), 605_050)
        XCTAssertEqual(app1.requestedCents, 484_040, "80 % of the eligible costs")
        let refs = try await ISMSMeasure.query(on: app.db).filter(\.$costCents > 0).filter(\.$createdBy == "user:admin@berka.test").all().map(\.fundingReference)
        XCTAssertEqual(Set(refs), [app1.reference])
        r = try await a.postPairs("/mandanten/\(berka)/isms/massnahmen/foerderantrag", costly.map { ("massnahme[]", $0.id!.uuidString) })
        XCTAssertEqual(r.status, .badRequest, "a measure goes into one application only")

        // the council report (PDF) and the CSV
        r = try await a.get("/mandanten/\(berka)/isms/bericht.pdf")
        XCTAssertEqual(r.status, .ok)
        XCTAssertEqual(r.headers.contentType?.subType, "pdf")
        XCTAssertTrue(r.body.readableBytesView.starts(with: Array("%PDF-".utf8)))
        r = try await a.get("/mandanten/\(berka)/isms/stand.csv")
        XCTAssertTrue(r.text.contains("\"BACK-3\"") && r.text.contains("Sicherungskonzept mit externer Beratung (geplant, fällig 30.06.2027)"), r.text)

        // an evidence file for a requirement: checked by content, listed, downloadable, audited
        r = try await a.get("/mandanten/\(berka)/isms/anforderungen/BACK-3")
        r = try await a.postMultipart("/mandanten/\(berka)/isms/anforderungen/BACK-3/nachweise", files: [("nachweis", "uebung.exe", Data("MZ kein PDF".utf8))])
        XCTAssertEqual(r.status, .unprocessableEntity, r.text)
        r = try await a.get("/mandanten/\(berka)/isms/anforderungen/BACK-3")
        r = try await a.postMultipart("/mandanten/\(berka)/isms/anforderungen/BACK-3/nachweise", files: [("nachweis", "Wiederherstellungstest 2026.pdf", Data("%PDF-1.4\n% Protokoll\n%%EOF\n".utf8))])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await a.get("/mandanten/\(berka)/isms/anforderungen/BACK-3")
        XCTAssertTrue(r.text.contains("Wiederherstellungstest 2026.pdf") && r.text.contains("Berta Berka"), r.text)
        let ev = try await XCTUnwrapAsync(try await ISMSEvidence.query(on: app.db).filter(\.$tenantARS == berka).first())
        r = try await a.get("/mandanten/\(berka)/isms/nachweise/\(ev.id!)")
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.body.string.hasPrefix("%PDF-1.4"))

        // structure inventory: the provider's services automatically, own entries with topics
        r = try await a.get("/mandanten/\(berka)/isms/struktur")
        XCTAssertTrue(r.text.contains("Plattform Rathaus") && r.text.contains("betrieben vom IT-Dienstleister"), r.text)
        r = try await a.postPairs("/mandanten/\(berka)/isms/struktur", [("art", "standort"), ("name", "Rathaus, Markt 1"), ("beschreibung", "")])
        XCTAssertEqual(r.status, .badRequest, "at least one topic")
        XCTAssertTrue(r.text.contains("mindestens ein Thema"), r.text)
        r = try await a.postPairs("/mandanten/\(berka)/isms/struktur", [("art", "standort"), ("name", "Rathaus, Markt 1"), ("thema[]", "RAUM"), ("thema[]", "ORG")])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await a.get("/mandanten/\(berka)/isms/struktur")
        XCTAssertTrue(r.text.contains("Rathaus, Markt 1"), r.text)

        // another tenant sees none of it
        let erfurt = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let e = Browser(app)
        try await e.login(erfurt)
        for path in ["/mandanten/\(berka)/isms/massnahmen", "/mandanten/\(berka)/isms/bericht.pdf", "/mandanten/\(berka)/isms/stand.csv",
                     "/mandanten/\(berka)/isms/struktur", "/mandanten/\(berka)/isms/massnahmen/\(first.id!)", "/mandanten/\(berka)/isms/nachweise/\(ev.id!)"] {
            let s = try await e.get(path).status
            XCTAssertEqual(s, .forbidden, path)
        }
        let s = try await e.get("/mandanten/16051/isms/massnahmen/\(first.id!)").status
        XCTAssertEqual(s, .notFound, "Berka's measure under Erfurt's key does not exist")
        count = try await ISMSMeasure.query(on: app.db).count()
        XCTAssertEqual(count, demoMeasures + 3)
    }

    func testIncidentReachesCERTWithDeadlineAndLandSeesOnlyCounts() async throws {
        let app = try await makeTestApp(demo: true)
        let clerk = try await createUser(app, email: "kasse@berka.test", role: .cashOffice, tenant: berka)
        let cert = try await createUser(app, email: "cert@kiv.test", role: .cert, tenant: nil)
        let isbUser = try await createUser(app, email: "isb@berka.test", role: .isb, tenant: berka)
        let c = Browser(app)
        try await c.login(clerk)
        var r = try await c.get("/mandanten/\(berka)/sicherheitsvorfaelle/neu")
        XCTAssertEqual(r.status, .ok)
        let now = Date()
        let day = CalendarDay.display(BusinessDate.today(now))
        var form = ["titel": "Phishing-Mail geöffnet", "beschreibung": "Eine Beschäftigte hat den Anhang einer gefälschten Rechnung geöffnet.",
                    "kategorie": "phishing", "einschaetzung": "hoch", "systeme": "Arbeitsplatz Kasse 2", "personenbezug": "ja",
                    "eingetreten": day, "eingetreten_zeit": "00:05", "bemerkt": CalendarDay.display(BusinessDate.today(now.addingTimeInterval(2 * 86400))), "bemerkt_zeit": "00:10"]
        r = try await c.post("/mandanten/\(berka)/sicherheitsvorfaelle", form)
        XCTAssertEqual(r.status, .unprocessableEntity, "noticed in the future")
        XCTAssertTrue(r.text.contains("liegt in der Zukunft") && r.text.contains("Phishing-Mail geöffnet"), r.text)
        form["bemerkt"] = day
        form["personenbezug"] = ""
        r = try await c.post("/mandanten/\(berka)/sicherheitsvorfaelle", form)
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("personenbezogene Daten betroffen sind"), r.text)
        form["personenbezug"] = "ja"
        r = try await c.post("/mandanten/\(berka)/sicherheitsvorfaelle", form)
        XCTAssertEqual(r.status, .seeOther, r.text)
        let incident = try await XCTUnwrapAsync(try await ISMSIncident.query(on: app.db).filter(\.$title == "Phishing-Mail geöffnet").first())
        XCTAssertTrue(incident.reference.hasPrefix("SV-"))
        // at once to the CERT (mail) with the deadline
        let mails = try await OutboxMail.query(on: app.db).filter(\.$key ~~ "isms-vorfall-\(incident.id!.uuidString)").all()
        XCTAssertEqual(Set(mails.map(\.recipient)), ["cert@kiv.test", "cert@demo.rathaus.test"], "every CERT member; Bad Berka has no ISB yet")
        XCTAssertTrue(mails.first?.body.contains("72 Stunden") == true)
        r = try await c.get("/sicherheitsvorfaelle/\(incident.id!)?ok=gemeldet")
        XCTAssertTrue(r.text.contains("Meldefrist an die Datenschutz-Aufsicht") && r.text.contains(GermanTime.format(incident.detectedAt.addingTimeInterval(72 * 3600), english: false)), r.text)
        XCTAssertFalse(r.text.contains("action=\"/sicherheitsvorfaelle/\(incident.id!)/eintrag\""), "a reporter without ISMS rights reads only")

        // the CERT's list and timeline; closing needs a real report
        let k = Browser(app)
        try await k.login(cert)
        r = try await k.get("/betrieb/sicherheitsvorfaelle")
        XCTAssertTrue(r.text.contains(incident.reference) && r.text.contains("Bad Berka"), r.text)
        r = try await k.get("/sicherheitsvorfaelle/\(incident.id!)")
        r = try await k.post("/sicherheitsvorfaelle/\(incident.id!)/eintrag", ["eintrag": "Arbeitsplatz vom Netz genommen, Passwort zurückgesetzt."])
        XCTAssertEqual(r.status, .seeOther, r.text)
        var x = try await XCTUnwrapAsync(try await ISMSIncident.find(incident.id, on: app.db))
        XCTAssertEqual(x.status, "bearbeitung")

        // 24 hours before the end the reminder goes out once
        func reminders() async throws -> Int { try await OutboxMail.query(on: app.db).filter(\.$key ~~ "isms-72h-\(incident.id!.uuidString)").count() }
        _ = try await ISMSIncidents.deadlineReminders(app, now: incident.detectedAt.addingTimeInterval(50 * 3600))
        let first = try await reminders()
        XCTAssertGreaterThanOrEqual(first, 3, "both CERT members and the reporter")
        var n = first
        _ = try await ISMSIncidents.deadlineReminders(app, now: incident.detectedAt.addingTimeInterval(51 * 3600))
        n = try await reminders()
        XCTAssertEqual(n, first, "once")

        // the ISB records the notification; then no more reminders
        let i = Browser(app)
        try await i.login(isbUser)
        r = try await i.get("/sicherheitsvorfaelle/\(incident.id!)")
        r = try await i.post("/sicherheitsvorfaelle/\(incident.id!)/aufsicht", ["aktenzeichen": "TLfDI Meldung 2026-117"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        _ = try await ISMSIncidents.deadlineReminders(app, now: incident.detectedAt.addingTimeInterval(80 * 3600))
        n = try await reminders()
        XCTAssertEqual(n, first, "no reminder once the notification is recorded")

        r = try await k.get("/sicherheitsvorfaelle/\(incident.id!)")
        r = try await k.post("/sicherheitsvorfaelle/\(incident.id!)/abschluss", ["abschlussbericht": "erledigt"])
        XCTAssertEqual(r.status, .badRequest)
        r = try await k.post("/sicherheitsvorfaelle/\(incident.id!)/abschluss", ["abschlussbericht": "Ursache: gefälschte Rechnung; Schadsoftware nicht ausgeführt; Schulung aller Beschäftigten geplant."])
        XCTAssertEqual(r.status, .seeOther, r.text)
        x = try await XCTUnwrapAsync(try await ISMSIncident.find(incident.id, on: app.db))
        XCTAssertEqual(x.status, "abgeschlossen")
        r = try await k.post("/sicherheitsvorfaelle/\(incident.id!)/eintrag", ["eintrag": "noch etwas"])
        XCTAssertEqual(r.status, .conflict)

        // another tenant: the incident does not exist; the Land: counts only
        let erfurt = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let e = Browser(app)
        try await e.login(erfurt)
        var s = try await e.get("/sicherheitsvorfaelle/\(incident.id!)").status
        XCTAssertEqual(s, .notFound)
        s = try await e.get("/mandanten/\(berka)/sicherheitsvorfaelle").status
        XCTAssertEqual(s, .forbidden)
        s = try await e.get("/betrieb/sicherheitsvorfaelle").status
        XCTAssertEqual(s, .forbidden)
        let land = try await createUser(app, email: "land@test.de", role: .state, tenant: "16")
        let l = Browser(app)
        try await l.login(land)
        r = try await l.get("/isms/uebersicht")
        XCTAssertTrue(r.text.contains("Phishing oder Betrugsversuch") && !r.text.contains("Phishing-Mail geöffnet"), r.text)
        s = try await l.get("/sicherheitsvorfaelle/\(incident.id!)").status
        XCTAssertEqual(s, .notFound, "the Land sees no incident itself")
        let events = try await ISMSIncidentEvent.query(on: app.db).filter(\.$incidentID == incident.id!).count()
        XCTAssertEqual(events, 4)
    }

    func testAPISecurityTxtAndBackupRestore() async throws {
        let app = try await makeTestApp(demo: true)
        let berkaToken = try await createToken(app, tenant: berka, scopes: [.isms])
        let landToken = try await createToken(app, tenant: "16", scopes: [.isms])
        var r = try await api(app, .GET, "/api/v1/isms/stand", token: berkaToken)
        XCTAssertEqual(r.status, .ok, r.body.string)
        let body = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any]
        XCTAssertEqual(body?["ars"] as? String, berka)
        XCTAssertEqual((body?["stand"] as? [Any])?.count, 32)
        r = try await api(app, .GET, "/api/v1/isms/uebersicht", token: berkaToken)
        XCTAssertEqual(r.status, .forbidden)
        r = try await api(app, .GET, "/api/v1/isms/uebersicht", token: landToken)
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.body.string.contains("\"ohneISB\""))
        r = try await api(app, .GET, "/api/v1/isms/uebersicht?kreis=abc", token: landToken)
        XCTAssertEqual(r.status, .badRequest)
        r = try await api(app, .GET, "/api/v1/isms/stand")
        XCTAssertEqual(r.status, .unauthorized)
        let other = try await createToken(app, tenant: berka, scopes: [.finder])
        r = try await api(app, .GET, "/api/v1/isms/stand", token: other)
        XCTAssertEqual(r.status, .forbidden)
        r = try await app.testable().sendRequest(.GET, "/.well-known/security.txt")
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.body.string.contains("Contact: mailto:") && r.body.string.contains("Expires: 20"), r.body.string)
    }

    /// `rathaus backup` while the app runs, `restore` into an empty directory: the same audit head.
    func testBackupAndRestoreKeepTheAuditHead() async throws {
        if let url = Environment.get("DATABASE_URL"), !url.isEmpty {
            throw XCTSkip("Sicherung und Wiederherstellung gelten für SQLite; mit PostgreSQL pg_dump (README).")
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rathaus-sicherung-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        func make(_ dir: String) async throws -> Application {
            let app = try await Application.make(.testing)
            var config = RathausConfig()
            config.bcryptCost = 4
            config.dataDirectory = root.appendingPathComponent(dir).path
            config.auditKeyPath = root.appendingPathComponent(dir).appendingPathComponent("audit-signing.key").path
            config.loadReferenceData = false
            do { try await configure(app, config) } catch { try? await app.shutdownOnce(); throw error }
            return app
        }
        let app = try await make("live")
        var failed: (any Error)?
        do {
            for n in 1...5 {
                try await Audit.record(on: app.db, actor: "user:test@example.org", actorID: nil, tenant: nil, action: "test.step", objectType: "t", objectID: "\(n)", before: nil, after: "Schritt \(n)")
            }
            _ = try await app.files.put(Data("Nachweis".utf8))
            let live = try await Audit.verify(on: app.db)
            let m = try await BackupRestore.backup(app, to: root.appendingPathComponent("sicherung").path)
            XCTAssertEqual(m.auditHead, live.head)
            XCTAssertEqual(m.auditEntries, live.checked)
            XCTAssertEqual(m.files, 1)
            var target = RathausConfig()
            target.dataDirectory = root.appendingPathComponent("neu").path
            target.auditKeyPath = root.appendingPathComponent("neu/audit-signing.key").path
            let head = try BackupRestore.restoreFiles(from: root.appendingPathComponent("sicherung").path, into: target)
            XCTAssertEqual(head, live.head)
            XCTAssertThrowsError(try BackupRestore.restoreFiles(from: root.appendingPathComponent("sicherung").path, into: target), "never over an existing database")
        } catch { failed = error }
        try await app.shutdownOnce()
        if let failed { throw failed }
        let restored = try await make("neu")
        do {
            let v = try await Audit.verify(on: restored.db)
            let live = try String(contentsOf: root.appendingPathComponent("sicherung/rathaus-sicherung.json"), encoding: .utf8)
            XCTAssertNil(v.firstBroken)
            XCTAssertTrue(live.contains(v.head), "the restored chain ends in the backup's head")
            let files = try FileManager.default.subpathsOfDirectory(atPath: root.appendingPathComponent("neu/dateien").path).count
            XCTAssertGreaterThan(files, 0)
        } catch { failed = error }
        try await restored.shutdownOnce()
        if let failed { throw failed }
    }
}
