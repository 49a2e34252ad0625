import Fluent
import SQLKit
import XCTVapor
import XCTest
import Funding
@testable import App

/// A funding programme, call and category, and applications in it, without the web (for the
/// concurrency test and the isolation walk).
enum FundingFixture {
    static func programme(_ app: Application, budget: [(Int, FundingSource, Int64)], title: String = "Testprogramm") async throws -> (FundingProgramme, FundingCall, FundingCategory) {
        let p = FundingProgramme()
        p.id = UUID(); p.title = title; p.guideline = ""; p.levels = "gemeinde,gemeindeverband,kreis"; p.demo = false; p.version = 1; p.budgetLock = 0
        p.createdBy = "test"; p.createdAt = Date(); p.updatedAt = Date()
        try await p.create(on: app.db)
        let c = FundingCategory()
        c.programmeID = try p.requireID(); c.code = "1"; c.title = "ISMS"; c.costTypes = "dienst,schulung"; c.financing = "anteil"; c.rateBasisPoints = 8000
        c.capCents = nil; c.unitCents = 0; c.unitLabel = ""; c.version = 1; c.updatedBy = "test"; c.updatedAt = Date()
        try await c.create(on: app.db)
        let call = FundingCall()
        call.programmeID = try p.requireID(); call.title = "Aufruf"; call.opensOn = "2000-01-01"; call.closesOn = "2099-12-31"; call.createdBy = "test"; call.createdAt = Date()
        try await call.create(on: app.db)
        for (y, s, cents) in budget {
            try await FundingService.book(app.db, programme: p.requireID(), key: BudgetKey(year: y, source: s), kind: .plan, cents: cents, application: nil, note: "Test", actor: "test")
        }
        return (p, call, c)
    }

    /// A submitted application with both checks done by two different people.
    static func submitted(_ app: Application, _ p: FundingProgramme, _ call: FundingCall, _ c: FundingCategory, tenant: String, cents: Int64, n: Int) async throws -> FundingApplication {
        let a = FundingApplication()
        a.id = UUID(); a.reference = "FÖ-TEST-\(String(format: "%05d", n))"; a.programmeID = try p.requireID(); a.callID = try call.requireID(); a.categoryID = try c.requireID()
        a.tenantARS = tenant; a.tenantName = "Kommune \(n) geheim-B"; a.title = "Vorhaben \(n)"; a.summary = ""; a.startsOn = "2027-01-01"; a.endsOn = "2027-12-31"; a.units = 0
        a.ownShareCents = 0; a.otherFundingCents = 0; a.requestedCents = cents; a.contactName = "K"; a.contactEmail = "k\(n)@test.de"; a.status = FundingStatus.submitted.rawValue
        a.authorID = "autor"; a.authorName = "Autor"; a.releasedBy = "Zeichnung"; a.contentCheckBy = "\(UUID().uuidString)|Prüferin A"; a.contentCheckNote = ""
        a.calcCheckBy = "\(UUID().uuidString)|Prüfer B"; a.calcCheckNote = ""; a.earlyStartStatus = ""; a.earlyStartFrom = ""; a.earlyStartReason = ""; a.queryText = ""; a.queryDueOn = ""
        a.decisionText = ""; a.conditions = ""; a.legalRemedy = ""; a.proofDueOn = ""; a.proofReport = ""; a.proofCostsCents = 0; a.finalGrantCents = 0; a.reclaimCents = 0
        a.submittedAt = Date(); a.createdAt = Date(); a.updatedAt = Date()
        try await a.create(on: app.db)
        return a
    }
}

final class FundingAppTests: XCTestCase {
    func demoUser(_ app: Application, _ email: String) async throws -> User {
        try await XCTUnwrapAsync(try await User.query(on: app.db).filter(\.$email == email).first())
    }

    func signedIn(_ app: Application, _ email: String) async throws -> Browser {
        let b = Browser(app)
        try await b.login(try await demoUser(app, email), password: DemoData.password)
        return b
    }

    func budget(_ app: Application, _ programme: UUID, year: Int, source: FundingSource = .land) async throws -> BudgetPosition {
        let p = Ledger.positions(try await FundingService.bookings(app.db, programme: programme))
        return p.first { $0.key == BudgetKey(year: year, source: source) } ?? BudgetPosition(key: BudgetKey(year: year, source: source))
    }

    /// The journey of the issue over HTTP: VG Kranichfeld leads a joint project with two member
    /// Gemeinden, both confirm, the signatory releases, two Land staff check, the Land approves
    /// (Bescheid PDF in the postbox), funds are called off with two linked e-invoices (a second
    /// use is refused), the proof of use is submitted and a reclaim is booked.
    func testJointProjectFromDraftToReclaim() async throws {
        let app = try await makeTestApp(demo: true)
        let vg = "160715007"
        let programme = try await XCTUnwrapAsync(try await FundingProgramme.query(on: app.db).filter(\.$title == FundingDemoData.programmeTitle).first())
        let pid = try programme.requireID()
        let call = try await XCTUnwrapAsync(try await FundingCall.query(on: app.db).filter(\.$programmeID == pid).first())
        let joint = try await XCTUnwrapAsync(try await FundingCategory.query(on: app.db).filter(\.$programmeID == pid).filter(\.$code == "5").first())
        let year = 2027
        let before = try await budget(app, pid, year: year)
        try await FundingDemoData.seedInvoices(app)

        let clerk = try await signedIn(app, "foerderung.vg-kranichfeld@demo.rathaus.test")
        let list = try await clerk.get("/mandanten/\(vg)/foerderung")
        XCTAssertEqual(list.status, .ok)
        XCTAssertTrue(list.text.contains("ThürEGovRL 2024 (Demo)"), list.text)
        let created = try await clerk.post("/mandanten/\(vg)/foerderung", ["aufruf": try call.requireID().uuidString, "kategorie": try joint.requireID().uuidString,
                                                                            "titel": "Gemeinsames ISMS der VG Kranichfeld"])
        XCTAssertEqual(created.status, .seeOther, created.text)
        let a = try await XCTUnwrapAsync(try await FundingApplication.query(on: app.db).filter(\.$tenantARS == vg).first())
        let id = try a.requireID()
        let page = "/foerderung/antraege/\(id)"

        // a bad date: German 400, what was typed stays, nothing saved
        var basics = ["titel": "Gemeinsames ISMS der VG Kranichfeld und ihrer Gemeinden", "beschreibung": "Einführung eines gemeinsamen ISMS.",
                      "beginn": "31.02.2027", "ende": "31.12.2027", "eigenanteil": "5.000,00", "drittmittel": "0",
                      "kontakt_name": "Frau Förder", "kontakt_email": "foerderung@vg-kranichfeld.example"]
        let bad = try await clerk.post(page + "/angaben", basics)
        XCTAssertEqual(bad.status, .badRequest)
        XCTAssertTrue(bad.text.contains("kein gültiges Datum"), bad.text)
        XCTAssertTrue(bad.text.contains("und ihrer Gemeinden"), "the typed title is kept")
        let unchanged = try await FundingApplication.find(id, on: app.db)
        XCTAssertEqual(unchanged?.title, "Gemeinsames ISMS der VG Kranichfeld")
        basics["beginn"] = "01.01.2027"
        let saved = try await clerk.post(page + "/angaben", basics)
        XCTAssertEqual(saved.status, .seeOther, saved.text)

        // the cost plan; the requested amount is computed by the server (90 % of the gross, no input VAT deduction)
        for (type, label, net, gross) in [("dienst", "Beratung ISMS-Einführung", "40.000,00", "47.600,00"), ("schulung", "Schulungen", "2.000,00", "2.380,00")] {
            let r = try await clerk.post(page + "/kosten", ["jahr": "2027", "kostenart": type, "bezeichnung": label, "netto": net, "brutto": gross])
            XCTAssertEqual(r.status, .seeOther, r.text)
        }
        let wrongGross = try await clerk.post(page + "/kosten", ["jahr": "2027", "kostenart": "dienst", "bezeichnung": "x", "netto": "100,00", "brutto": "90,00"])
        XCTAssertEqual(wrongGross.status, .badRequest)
        var fresh = try await XCTUnwrapAsync(try await FundingApplication.find(id, on: app.db))
        XCTAssertEqual(fresh.requestedCents, 4_498_200)

        // partners: two member Gemeinden; submission waits for both
        for (ars, share) in [("160715007046", "10.000,00"), ("160715007043", "5.000,00")] {
            let r = try await clerk.post(page + "/partner", ["partner": ars, "anteil": share])
            XCTAssertEqual(r.status, .seeOther, r.text)
        }
        let dup = try await clerk.post(page + "/partner", ["partner": "160715007046", "anteil": "1,00"])
        XCTAssertEqual(dup.status, .conflict)
        let early = try await clerk.post(page + "/zur-freigabe")
        XCTAssertEqual(early.status, .conflict)
        XCTAssertTrue(early.text.contains("Noch nicht alle Partner"), early.text)
        for email in ["buergermeister.kranichfeld@demo.rathaus.test", "buergermeisterin.klettbach@demo.rathaus.test"] {
            let mayor = try await signedIn(app, email)
            let view = try await mayor.get(page)
            XCTAssertEqual(view.status, .ok, "a partner sees the joint application")
            let ars = email.contains("klettbach") ? "160715007043" : "160715007046"
            let ok = try await mayor.post(page + "/beteiligung", ["mandant": ars, "entscheidung": "ja"])
            XCTAssertEqual(ok.status, .seeOther, ok.text)
            // a partner cannot edit the lead's application
            let edit = try await mayor.post(page + "/angaben", basics)
            XCTAssertEqual(edit.status, .forbidden)
        }
        let requested = try await clerk.post(page + "/zur-freigabe")
        XCTAssertEqual(requested.status, .seeOther, requested.text)
        // the author cannot release; the signatory can
        let selfRelease = try await clerk.post(page + "/freigabe")
        XCTAssertEqual(selfRelease.status, .forbidden)
        let signatory = try await signedIn(app, "vorsitz.vg-kranichfeld@demo.rathaus.test")
        let released = try await signatory.post(page + "/freigabe")
        XCTAssertEqual(released.status, .seeOther, released.text)
        fresh = try await XCTUnwrapAsync(try await FundingApplication.find(id, on: app.db))
        XCTAssertEqual(fresh.state, .submitted)

        // two Land staff check; one person cannot do both, nothing is decided before both
        let land1 = try await signedIn(app, "bewilligung@demo.rathaus.test")
        let land2 = try await signedIn(app, "bewilligung2@demo.rathaus.test")
        let inbox = try await land1.get("/foerderung?kreis=16071")
        XCTAssertTrue(inbox.text.contains(fresh.reference), inbox.text)
        do { let r = try await land1.post(page + "/pruefung", ["art": "sachlich", "vermerk": "Vorhaben passt"]); XCTAssertEqual(r.status, .seeOther) }
        let approveEarly = try await land1.post(page + "/bewilligung", ["jahr1": "2027", "quelle1": "landesmittel", "betrag1": "44.982,00",
                                                                        "nebenbestimmungen": "ANBest-Gk", "rechtsbehelf": "Widerspruch", "nachweis_bis": "30.06.2028"])
        XCTAssertEqual(approveEarly.status, .conflict, "no decision before both checks")
        XCTAssertTrue(approveEarly.text.contains("sachliche und die rechnerische Prüfung"), approveEarly.text)
        let same = try await land1.post(page + "/pruefung", ["art": "rechnerisch"])
        XCTAssertEqual(same.status, .conflict)
        XCTAssertTrue(same.text.contains("zwei verschiedene Personen"), same.text)
        do { let r = try await land2.post(page + "/pruefung", ["art": "rechnerisch", "vermerk": "Kostenplan rechnerisch richtig"]); XCTAssertEqual(r.status, .seeOther) }
        // more than requested is refused; then the approval
        let tooMuch = try await land1.post(page + "/bewilligung", ["jahr1": "2027", "quelle1": "landesmittel", "betrag1": "50.000,00",
                                                                   "nebenbestimmungen": "ANBest-Gk", "rechtsbehelf": "Widerspruch", "nachweis_bis": "30.06.2028"])
        XCTAssertEqual(tooMuch.status, .unprocessableEntity)
        let approved = try await land1.post(page + "/bewilligung", ["jahr1": "2027", "quelle1": "landesmittel", "betrag1": "44.982,00",
                                                                    "nebenbestimmungen": "ANBest-Gk", "rechtsbehelf": "Widerspruch binnen eines Monats", "nachweis_bis": "30.06.2028"])
        XCTAssertEqual(approved.status, .seeOther, approved.text)
        let afterApproval = try await budget(app, pid, year: year)
        XCTAssertEqual(afterApproval.committed - before.committed, 4_498_200)
        XCTAssertEqual(afterApproval.available, before.available - 4_498_200)
        let bescheid = try await XCTUnwrapAsync(try await FundingMessage.query(on: app.db).filter(\.$applicationID == id).filter(\.$kind == "bescheid").first())
        let pdf = try await clerk.get(page + "/nachrichten/\(try bescheid.requireID())/datei")
        XCTAssertEqual(pdf.status, .ok)
        XCTAssertTrue(pdf.text.hasPrefix("%PDF-"))
        let caseView = try await clerk.get(page)
        XCTAssertTrue(caseView.text.contains("Zuwendungsbescheid"), "the notice is in the case's postbox")

        // call-off with two paid e-invoices of the VG
        let invoices = try await EInvoice.query(on: app.db).filter(\.$tenantARS == vg).filter(\.$status == "freigegeben").all()
        XCTAssertEqual(invoices.count, 2)
        var payout = ["linie": "2027|landesmittel", "abruf": "30.000,00", "erklaerung": "1"]
        for inv in invoices { payout["rechnung_\(try inv.requireID().uuidString)"] = "1" }
        let tooHigh = try await clerk.post(page + "/mittelabruf", payout.merging(["abruf": "50.000,00"]) { _, b in b })
        XCTAssertEqual(tooHigh.status, .conflict)
        let called = try await clerk.post(page + "/mittelabruf", payout)
        XCTAssertEqual(called.status, .seeOther, called.text)
        let again = try await clerk.post(page + "/mittelabruf", ["linie": "2027|landesmittel", "abruf": "1,00", "erklaerung": "1",
                                                                 "rechnung_\(try invoices[0].requireID().uuidString)": "1"])
        XCTAssertEqual(again.status, .conflict)
        XCTAssertTrue(again.text.contains("bereits als Nachweis"), again.text)
        let p = try await XCTUnwrapAsync(try await FundingPayout.query(on: app.db).filter(\.$applicationID == id).first())
        let paid = try await land2.post("/foerderung/auszahlungen/\(try p.requireID())/entscheidung", ["entscheidung": "ja"])
        XCTAssertEqual(paid.status, .seeOther, paid.text)
        let afterPayout = try await budget(app, pid, year: year)
        XCTAssertEqual(afterPayout.paidOut - before.paidOut, 3_000_000)
        let export = try await land1.get("/foerderung/auszahlungen.csv")
        XCTAssertTrue(export.text.contains("\"3000000\""), export.text)

        // proof of use, reclaim: 90 % of the recognised 30.000 € is 27.000 €, 3.000 € come back
        let proof = try await clerk.post(page + "/nachweis", ["sachbericht": "ISMS eingeführt, Leitlinie beschlossen.", "ausgaben": "30.000,00"])
        XCTAssertEqual(proof.status, .seeOther, proof.text)
        let closed = try await land1.post(page + "/abschluss", ["anerkannt": "30.000,00", "vermerk": "Schulungskosten nicht belegt"])
        XCTAssertEqual(closed.status, .seeOther, closed.text)
        fresh = try await XCTUnwrapAsync(try await FundingApplication.find(id, on: app.db))
        XCTAssertEqual(fresh.state, .closed)
        XCTAssertEqual(fresh.reclaimCents, 300_000)
        XCTAssertEqual(fresh.finalGrantCents, 2_700_000)
        let end = try await budget(app, pid, year: year)
        XCTAssertEqual(end.committed - before.committed, 2_700_000)
        XCTAssertEqual(end.returned - before.returned, 300_000)
        XCTAssertEqual(end.available, before.available - 2_700_000)
        let budgetPage = try await land1.get("/foerderung/haushalt")
        XCTAssertEqual(budgetPage.status, .ok)
        XCTAssertTrue(budgetPage.text.contains("3.000,00 €"), "returned money is shown")

        // open data
        let open = try await api(app, .GET, "/api/v1/foerderung/bewilligungen.json")
        XCTAssertTrue(open.text.contains("\"betragCent\":2700000"), open.text)
        let actions = Set(try await AuditEntry.query(on: app.db).filter(\.$objectID == fresh.reference).all().map(\.action))
        for act in ["funding.draft.created", "funding.partner", "funding.submitted", "funding.check.sachlich", "funding.check.rechnerisch", "funding.approved",
                    "funding.payout.requested", "funding.payout.released", "funding.proof.submitted", "funding.closed"] {
            XCTAssertTrue(actions.contains(act), act)
        }
        // the provider's advisor sees and comments, but cannot decide
        let op = try await createUser(app, email: "beratung@kiv.test", role: .operator, tenant: nil)
        let advisor = Browser(app)
        try await advisor.login(op)
        do { let r = try await advisor.get(page); XCTAssertEqual(r.status, .ok) }
        do { let r = try await advisor.post(page + "/kommentar", ["kommentar": "Gutes Beispiel für andere VG"]); XCTAssertEqual(r.status, .seeOther) }
        do { let r = try await advisor.post(page + "/pruefung", ["art": "sachlich"]); XCTAssertEqual(r.status, .forbidden) }
        // another municipality sees nothing of it
        let erfurt = try await signedIn(app, "admin.erfurt@demo.rathaus.test")
        do { let r = try await erfurt.get(page); XCTAssertEqual(r.status, .notFound) }
    }

    /// Fifty approvals at once against a budget that fits ten: exactly ten are approved. On
    /// PostgreSQL the requests are split over two instances on the one database.
    func testFiftyParallelApprovalsOverBudgetForTen() async throws {
        let app = try await makeTestApp()
        var second: Application? = nil
        if let url = Environment.get("DATABASE_URL"), !url.isEmpty { second = try await makeSecondInstance(url) }
        let (p, call, c) = try await FundingFixture.programme(app, budget: [(2027, .land, 10 * 1_000_000)])
        var ids: [UUID] = []
        for n in 0..<50 { ids.append(try await FundingFixture.submitted(app, p, call, c, tenant: "16051", cents: 1_000_000, n: n).requireID()) }
        let apps = [app] + (second.map { [$0] } ?? [])
        let landUser = try await createUser(app, email: "land@test.de", role: .fundingOfficer, tenant: "16")
        let actor = Principal.staff(StaffPrincipal(userID: try landUser.requireID(), email: landUser.email, name: "Lena Land",
                                                   grants: [RoleGrant(role: .fundingOfficer, tenantARS: "16")], memberTenants: [], tenantARS: "16", isDemo: false))
        let results = try await withThrowingTaskGroup(of: (Bool, Double).self) { group in
            for (i, id) in ids.enumerated() {
                let target = apps[i % apps.count]
                group.addTask {
                    let start = Date()
                    do {
                        try await FundingService.approve(target, id: id, decision: .init(lines: [(BudgetKey(year: 2027, source: .land), Int64(1_000_000))], text: "", conditions: "ANBest-Gk",
                                                                                        legalRemedy: "Widerspruch", proofDue: "2028-06-30"), actor: actor)
                        return (true, Date().timeIntervalSince(start))
                    } catch let e as AppError where e.code == "funding.budget" {
                        XCTAssertTrue(e.messageDE.contains("Haushaltsjahr 2027"), e.messageDE)
                        return (false, Date().timeIntervalSince(start))
                    }
                }
            }
            var out: [(Bool, Double)] = []
            for try await r in group { out.append(r) }
            return out
        }
        XCTAssertEqual(results.filter { $0.0 }.count, 10)
        let pos = Ledger.positions(try await FundingService.bookings(app.db, programme: p.requireID()))
        XCTAssertEqual(pos.first?.committed, 10 * 1_000_000)
        XCTAssertEqual(pos.first?.available, 0)
        let approvedCount = try await FundingApplication.query(on: app.db).filter(\.$status == "bewilligt").count()
        XCTAssertEqual(approvedCount, 10)
        let latencies = results.map { $0.1 }.sorted()
        let p99 = latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))]
        print("foerderung: 50 parallele Bewilligungen (\(apps.count) Instanz(en)), 10 bewilligt, p99 \(String(format: "%.1f", p99 * 1000)) ms, max \(String(format: "%.1f", (latencies.last ?? 0) * 1000)) ms")
    }

    /// The API: a municipality's token writes drafts for its own tenant only; the Land's token
    /// sets up programmes; bad input is a German 400/422, a duplicate 409; reminders go out once.
    func testAPIAndReminders() async throws {
        let app = try await makeTestApp()
        let (p, call, c) = try await FundingFixture.programme(app, budget: [(2027, .land, 5_000_000)])
        let land = try await createToken(app, tenant: "16", scopes: [.foerderung])
        let weimar = try await createToken(app, tenant: "16055", scopes: [.foerderung])
        let erfurt = try await createToken(app, tenant: "16051", scopes: [.foerderung])
        let noScope = try await createToken(app, tenant: "16051", scopes: [.antraege])

        let created = try await api(app, .POST, "/api/v1/foerderung/programme", token: land, json: #"{"titel":"ThürEGovRL 2026","antragsberechtigt":["gemeinde","kreis"]}"#)
        XCTAssertEqual(created.status, .created, created.text)
        let dup = try await api(app, .POST, "/api/v1/foerderung/programme", token: land, json: #"{"titel":"ThürEGovRL 2026","antragsberechtigt":["gemeinde"]}"#)
        XCTAssertEqual(dup.status, .conflict)
        let badLevel = try await api(app, .POST, "/api/v1/foerderung/programme", token: land, json: #"{"titel":"X","antragsberechtigt":["bund"]}"#)
        XCTAssertEqual(badLevel.status, .unprocessableEntity)
        do { let r = try await api(app, .POST, "/api/v1/foerderung/programme", token: erfurt, json: #"{"titel":"X","antragsberechtigt":["gemeinde"]}"#); XCTAssertEqual(r.status, .forbidden) }
        let garbage = try await api(app, .POST, "/api/v1/foerderung/antraege", token: erfurt, json: #"{"titel": 5"#)
        XCTAssertEqual(garbage.status, .badRequest)
        XCTAssertFalse(garbage.text.contains("titel\": 5"))

        let body = #"{"aufruf":"\#(try call.requireID())","foerdergegenstand":"\#(try c.requireID())","titel":"ISMS Weimar","beginn":"01.03.2027","ende":"2027-12-31"}"#
        let draft = try await api(app, .POST, "/api/v1/foerderung/antraege", token: weimar, json: body)
        XCTAssertEqual(draft.status, .created, draft.text)
        XCTAssertEqual(try draft.json()["ars"] as? String, "16055")
        let unknownCall = try await api(app, .POST, "/api/v1/foerderung/antraege", token: weimar,
                                        json: #"{"aufruf":"x","foerdergegenstand":"\#(try c.requireID())","titel":"X"}"#)
        XCTAssertEqual(unknownCall.status, .unprocessableEntity)
        do { let r = try await api(app, .GET, "/api/v1/foerderung/antraege", token: noScope); XCTAssertEqual(r.status, .forbidden) }
        let erfurtList = try await api(app, .GET, "/api/v1/foerderung/antraege", token: erfurt)
        XCTAssertEqual(erfurtList.status, .ok)
        XCTAssertFalse(erfurtList.text.contains("ISMS Weimar"), "Erfurt's software never lists Weimar's applications")
        let landList = try await api(app, .GET, "/api/v1/foerderung/antraege", token: land)
        XCTAssertTrue(landList.text.contains("ISMS Weimar"))
        let calls = try await api(app, .GET, "/api/v1/foerderung/aufrufe")
        XCTAssertTrue(calls.text.contains("\"offen\":true"))

        // reminders: 7 days before the proof deadline, once — also when the job runs twice
        let a = try await FundingFixture.submitted(app, p, call, c, tenant: "16055", cents: 1_000, n: 1)
        a.status = FundingStatus.approved.rawValue
        a.proofDueOn = BusinessDate.today(Date().addingTimeInterval(7 * 86400))
        try await a.save(on: app.db)
        let first = try await FundingReminders.run(app, now: Date())
        let second = try await FundingReminders.run(app, now: Date())
        XCTAssertEqual(first, 1)
        XCTAssertEqual(second, 0)
        let mails = try await OutboxMail.query(on: app.db).filter(\.$recipient == "k1@test.de").all()
        XCTAssertEqual(mails.count, 1)
        XCTAssertTrue(mails.first?.subject.contains("Verwendungsnachweis") ?? false)
    }

    /// Early start and flagged costs, an attachment, a query with its answer, changes requested
    /// and a second release, an illegal step (409), and a rejection with its letter.
    func testEarlyStartQueryChangesAndRejection() async throws {
        let app = try await makeTestApp(demo: true)
        let vg = "160715007"
        let programme = try await XCTUnwrapAsync(try await FundingProgramme.query(on: app.db).filter(\.$title == FundingDemoData.programmeTitle).first())
        let call = try await XCTUnwrapAsync(try await FundingCall.query(on: app.db).filter(\.$programmeID == programme.requireID()).first())
        let isms = try await XCTUnwrapAsync(try await FundingCategory.query(on: app.db).filter(\.$programmeID == programme.requireID()).filter(\.$code == "1").first())
        let clerk = try await signedIn(app, "foerderung.vg-kranichfeld@demo.rathaus.test")
        _ = try await clerk.get("/mandanten/\(vg)/foerderung")
        let created = try await clerk.post("/mandanten/\(vg)/foerderung", ["aufruf": try call.requireID().uuidString, "kategorie": try isms.requireID().uuidString, "titel": "ISMS VG"])
        XCTAssertEqual(created.status, .seeOther)
        let a = try await XCTUnwrapAsync(try await FundingApplication.query(on: app.db).filter(\.$tenantARS == vg).first())
        let id = try a.requireID()
        let page = "/foerderung/antraege/\(id)"
        _ = try await clerk.post(page + "/angaben", ["titel": "ISMS VG", "beschreibung": "x", "beginn": "01.01.2027", "ende": "31.12.2027",
                                                     "kontakt_name": "K", "kontakt_email": "k@vg.example"])
        // ordered before the start: flagged and not counted …
        let early = try await clerk.post(page + "/kosten", ["jahr": "2027", "kostenart": "dienst", "bezeichnung": "Vorab beauftragt", "netto": "1.000,00",
                                                            "brutto": "1.190,00", "vorsteuer": "1", "datum": "15.12.2026"])
        XCTAssertEqual(early.status, .seeOther)
        var view = try await clerk.get(page)
        XCTAssertTrue(view.text.contains("vor Maßnahmebeginn"), "the item is flagged")
        var fresh = try await XCTUnwrapAsync(try await FundingApplication.find(id, on: app.db))
        XCTAssertEqual(fresh.requestedCents, 0)
        // … until an early start from 01.12.2026 is approved (80 % of the net 1.000 €)
        do { let r = try await clerk.post(page + "/vorzeitig", ["vorzeitig_ab": "01.12.2026", "vorzeitig_grund": "Angebot gilt nur bis Jahresende"]); XCTAssertEqual(r.status, .seeOther) }
        let land = try await signedIn(app, "bewilligung@demo.rathaus.test")
        do { let r = try await land.post(page + "/vorzeitig-entscheidung", ["entscheidung": "ja"]); XCTAssertEqual(r.status, .seeOther) }
        fresh = try await XCTUnwrapAsync(try await FundingApplication.find(id, on: app.db))
        XCTAssertEqual(fresh.requestedCents, 80_000)
        XCTAssertEqual(fresh.earlyStartStatus, "genehmigt")
        // an attachment (a real PDF); a file of another kind is refused with the reason
        view = try await clerk.get(page)
        let pdf = Data("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".utf8)
        let up = try await clerk.postMultipart(page + "/anlagen", fields: ["art": "beschluss"], files: [("datei", "beschluss.pdf", pdf)])
        XCTAssertEqual(up.status, .seeOther, up.text)
        _ = try await clerk.get(page)
        let bad = try await clerk.postMultipart(page + "/anlagen", fields: ["art": "angebot"], files: [("datei", "angebot.exe", Data("MZ\u{0}binary".utf8))])
        XCTAssertEqual(bad.status, .unprocessableEntity, bad.text)
        let files = try await FundingAttachment.query(on: app.db).filter(\.$applicationID == id).all()
        XCTAssertEqual(files.map(\.name), ["beschluss.pdf"])
        let download = try await clerk.get(page + "/anlagen/\(try files[0].requireID())")
        XCTAssertEqual(download.status, .ok)

        // release, query with deadline, answer, changes requested, release again
        _ = try await clerk.get(page)
        do { let r = try await clerk.post(page + "/zur-freigabe"); XCTAssertEqual(r.status, .seeOther) }
        let twice = try await clerk.post(page + "/zur-freigabe")
        XCTAssertEqual(twice.status, .conflict, "an illegal step is a 409")
        let signatory = try await signedIn(app, "vorsitz.vg-kranichfeld@demo.rathaus.test")
        do { let r = try await signatory.post(page + "/freigabe"); XCTAssertEqual(r.status, .seeOther) }
        _ = try await land.get(page)
        let pastDeadline = try await land.post(page + "/rueckfrage", ["frage": "Bitte Angebot nachreichen", "frist": "01.01.2020"])
        XCTAssertEqual(pastDeadline.status, .badRequest)
        do { let r = try await land.post(page + "/rueckfrage", ["frage": "Bitte Angebot nachreichen", "frist": "31.12.2099"]); XCTAssertEqual(r.status, .seeOther) }
        do { let r = try await FundingApplication.find(id, on: app.db); XCTAssertEqual(r?.state, .query) }
        let mail = try await OutboxMail.query(on: app.db).filter(\.$recipient == "k@vg.example").all()
        XCTAssertTrue(mail.contains { $0.subject.contains("Rückfrage") }, "the query is mailed")
        _ = try await clerk.get(page)
        do { let r = try await clerk.post(page + "/antwort", ["antwort": "Angebot liegt bei"]); XCTAssertEqual(r.status, .seeOther) }
        do { let r = try await FundingApplication.find(id, on: app.db); XCTAssertEqual(r?.state, .submitted) }
        do { let r = try await land.post(page + "/nachbesserung", ["hinweise": "Kostenplan aufschlüsseln"]); XCTAssertEqual(r.status, .seeOther) }
        do { let r = try await FundingApplication.find(id, on: app.db); XCTAssertEqual(r?.state, .changesRequested) }
        do { let r = try await clerk.post(page + "/kosten", ["jahr": "2027", "kostenart": "schulung", "bezeichnung": "Schulung", "netto": "500,00", "brutto": "595,00", "vorsteuer": "1"]); XCTAssertEqual(r.status, .seeOther) }
        do { let r = try await clerk.post(page + "/zur-freigabe"); XCTAssertEqual(r.status, .seeOther) }
        do { let r = try await signatory.post(page + "/freigabe"); XCTAssertEqual(r.status, .seeOther) }
        // rejection: the letter lands in the postbox
        let rejected = try await land.post(page + "/ablehnung", ["ablehnungsgrund": "Mittel des Aufrufs erschöpft", "rechtsbehelf": "Widerspruch"])
        XCTAssertEqual(rejected.status, .seeOther, rejected.text)
        do { let r = try await FundingApplication.find(id, on: app.db); XCTAssertEqual(r?.state, .rejected) }
        let letter = try await XCTUnwrapAsync(try await FundingMessage.query(on: app.db).filter(\.$applicationID == id).filter(\.$kind == "ablehnung").first())
        XCTAssertNotNil(letter.fileSHA)
        let after = try await clerk.post(page + "/angaben", ["titel": "x", "beginn": "01.01.2027", "ende": "31.12.2027"])
        XCTAssertEqual(after.status, .conflict, "a rejected application cannot be edited")
    }
}
