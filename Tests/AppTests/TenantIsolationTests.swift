import Fluent
import XCTVapor
import XCTest
import Finder
import RathausCore
@testable import App

/// Walks every registered route as staff (session) and as an API client of tenant A, aimed at
/// objects of tenant B, and expects 401/403/404 — never B's data, never a change to B.
final class TenantIsolationTests: XCTestCase {
    /// Routes anyone may call, and why.
    static let publicRoutes: Set<String> = [
        "GET /", "GET /health", "GET /api/v1/openapi.json",
        // RFC 9116: where to report a vulnerability is public by definition
        "GET /.well-known/security.txt",
        // the public key receivers need to check the installation's identification reports
        "GET /.well-known/rathaus/identifikationsnachweis.jwks.json",
        "GET /gebiete", "GET /gebiete/:ars", "GET /api/v1/gebiete", "GET /api/v1/gebiete/:ars",   // public reference data
        "GET /sprache/:lang", "GET /anmelden", "POST /anmelden", "GET /anmelden/code", "POST /anmelden/code",
        "GET /anmelden/einrichten", "POST /anmelden/einrichten", "POST /abmelden",                 // the login itself
        "GET /api/v1/umfragen", "GET /api/v1/umfragen/:id",    // statewide survey rounds, readable by every signed-in body
        "GET /api/v1/mitgliedschaften",                        // scoped list, checked separately below
        // the finder is public information: services, responsibilities, offices
        "GET /finder", "GET /einbetten/finder", "GET /leichte-sprache/suche", "GET /leistungen/:key", "GET /api/v1/leistungen", "GET /api/v1/leistungen/:key",
        "GET /api/v1/zustaendigkeiten", "GET /api/v1/organisationseinheiten", "GET /api/v1/organisationseinheiten/:id",
        // the Leitweg-ID lookup is public so suppliers can address invoices
        "GET /leitweg-ids", "GET /api/v1/leitweg-ids", "GET /api/v1/leitweg-ids/:id",
        // e-invoice intake is a public mailbox (validated, routed by Leitweg-ID); the supplier's
        // status needs the secret receipt token, which the walk cannot know
        "POST /api/v1/rechnungen", "GET /rechnungen/einreichen", "POST /rechnungen/einreichen",
        "GET /rechnungen/status/:token", "GET /api/v1/rechnungsstatus/:token", "GET /rechnungen/status/:token/xml",
        "GET /rechnungen/erfassen", "POST /rechnungen/erfassen",
        // the catalogue of online services and its validation are public information
        "GET /onlinedienste", "GET /onlinedienste/:slug", "GET /api/v1/onlinedienste", "GET /api/v1/onlinedienste/:slug",
        "POST /api/v1/onlinedienste/:slug/pruefen",
        // applying without an account: a draft for an e-mail address, reached by a one-time link
        "POST /onlinedienste/:slug/gast", "GET /antraege/gast/:token",
        // the payment provider's callback is authenticated by its signature, not by a session;
        // the test provider's pages need the secret provider reference
        "POST /bezahlen/rueckmeldung/test", "GET /bezahlen/test/:ref", "POST /bezahlen/test/:ref",
        "GET /api/v1/antraege",                                // scoped list, checked separately below
        // the provider's page and the legal pages every public site has; the accessibility
        // feedback is a public mailbox (stored and mailed to the operator)
        "GET /ueber", "GET /impressum", "GET /datenschutz", "GET /barrierefreiheit", "GET /leichte-sprache", "GET /gebaerdensprache",
        "POST /barrierefreiheit/rueckmeldung",
        // accepting an invitation needs the secret one-time token of the mail
        "GET /einladung/:token", "POST /einladung/:token",
        // the competence centre's catalogue, calendars and the public check of a certificate code
        "GET /veranstaltungen", "GET /veranstaltungen/:id", "GET /veranstaltungen/:id/kalender.ics", "GET /veranstaltungen/themen/:topic/kalender.ics",
        "GET /api/v1/veranstaltungen", "GET /nachweis", "GET /nachweis/:code", "GET /api/v1/nachweise/:code",
        // the Land publishes its funding programmes, calls and approvals (open data)
        "GET /api/v1/foerderung/programme", "GET /api/v1/foerderung/aufrufe",
        "GET /api/v1/foerderung/bewilligungen.csv", "GET /api/v1/foerderung/bewilligungen.json",
        // the provider's procurement catalogue (frameworks are tendered publicly; prices are the awarded ones)
        "GET /beschaffung", "GET /api/v1/beschaffung/rahmenvertraege", "GET /api/v1/beschaffung/artikel", "GET /api/v1/beschaffung/ocds.json",
    ]

    /// Routes of a person's own Servicekonto: no tenant in them, ownership checked per object
    /// (walked across two accounts in `ServicekontoTests.testAccountsSeeOnlyTheirOwnCases`).
    static func isAccountRoute(_ key: String) -> Bool {
        key.contains(" /konto") || key == "POST /onlinedienste/:slug/antrag"
            // a staff member's own registrations (by user id, no tenant in the path)
            || key == "GET /veranstaltungen/meine"
            // a staff member's own sessions (by user id; someone else's session is 404, see StaffSecurityTests)
            || key.contains(" /sitzungen")
    }

    func testForeignTenantIsRefusedOnEveryRoute() async throws {
        let app = try await makeTestApp()
        let victim = "16052"  // Gera
        let adminA = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let clerkA = try await createUser(app, email: "clerk@erfurt.test", role: .clerk, tenant: "16051")
        let tokenA = try await createToken(app, tenant: "16051", scopes: [.membership, .finder, .antraege])
        // B's objects
        let mB = Membership(tenantARS: victim)
        mB.status = "applied"; mB.appliedOn = "2026-01-10"; mB.councilResolution = "SR"; mB.councilResolutionOn = "2026-01-05"; mB.shareCents = 100
        try await mB.create(on: app.db)
        let (tB, _) = APIToken.generate(tenant: victim, scopes: [.membership], name: "B", createdBy: "test")
        try await tB.create(on: app.db)
        let round = SurveyRound()
        round.title = "R"; round.status = "open"; round.openedOn = "2026-01-01"; round.createdBy = "test"
        try await round.create(on: app.db)
        let ansB = SurveyAnswer()
        ansB.roundID = try round.requireID(); ansB.tenantARS = victim; ansB.interest = "no"; ansB.services = ""
        ansB.contactName = "B"; ansB.contactEmail = "b@gera.de"; ansB.comment = "geheim-B"; ansB.answeredBy = "test"
        try await ansB.create(on: app.db)
        let officeB = Office()
        officeB.tenantARS = victim; officeB.name = "Bürgeramt Gera"; officeB.kind = "Bürgeramt"; officeB.street = "Markt 1"
        officeB.postalCode = "07545"; officeB.city = "Gera"; officeB.visitorAddress = ""; officeB.phone = ""; officeB.email = ""
        officeB.website = ""; officeB.openingHoursJSON = "{}"; officeB.accessibility = ""; officeB.appointmentURL = ""
        officeB.isMain = true; officeB.isDemo = false
        try await officeB.create(on: app.db)
        let entryB = Responsibility()
        entryB.leikaKey = "99110009104000"; entryB.areaARS = victim; entryB.role = "responsible"
        entryB.officeID = try officeB.requireID(); entryB.tenantARS = victim
        try await entryB.create(on: app.db)
        let officeA = Office()
        officeA.tenantARS = "16051"; officeA.name = "Bürgeramt Erfurt"; officeA.kind = "Bürgeramt"; officeA.street = "Markt 1"
        officeA.postalCode = "99084"; officeA.city = "Erfurt"; officeA.visitorAddress = ""; officeA.phone = ""; officeA.email = ""
        officeA.website = ""; officeA.openingHoursJSON = "{}"; officeA.accessibility = ""; officeA.appointmentURL = ""
        officeA.isMain = true; officeA.isDemo = false
        try await officeA.create(on: app.db)
        let leitwegB = LeitwegEntry()
        leitwegB.tenantARS = victim; leitwegB.leitwegID = "16052-KASSE-15"; leitwegB.label = "Stadtkasse Gera"; leitwegB.active = true
        leitwegB.leitwegID = try LeitwegID.make(grob: "16052", fein: "KASSE").description
        try await leitwegB.create(on: app.db)
        let invoiceB = EInvoice()
        invoiceB.id = UUID(); invoiceB.tenantARS = victim; invoiceB.leitwegID = leitwegB.leitwegID; invoiceB.channel = "api"
        invoiceB.syntax = "CII"; invoiceB.sha256 = String(repeating: "a", count: 64); invoiceB.size = 1; invoiceB.sellerKey = "DE1"
        invoiceB.sellerName = "geheim-B Lieferant"; invoiceB.invoiceNumber = "geheim-B-1"; invoiceB.typeCode = "380"; invoiceB.currency = "EUR"
        invoiceB.amountDueCents = 100; invoiceB.totalCents = 100; invoiceB.status = "eingegangen"; invoiceB.receiptHash = String(repeating: "b", count: 64)
        invoiceB.warnings = 0; invoiceB.receivedAt = Date()
        try await invoiceB.create(on: app.db)
        let antragB = Antrag()
        antragB.id = UUID(); antragB.reference = "TH-2026-999999"; antragB.tenantARS = victim; antragB.tenantName = "Gera"; antragB.slug = "hund-anmelden"
        antragB.version = 1; antragB.serviceTitle = "Hund anmelden"; antragB.applicantName = "geheim-B Person"; antragB.applicantEmail = "b@gera.test"
        antragB.officeName = "Bürgeramt Gera"; antragB.status = "eingegangen"; antragB.answers = #"{"vorname":"geheim-B"}"#; antragB.feeCents = 0
        antragB.notifyByEmail = false; antragB.assigneeName = ""; antragB.createdAt = Date(); antragB.updatedAt = Date(); antragB.submittedAt = Date()
        try await antragB.create(on: app.db)
        // B's funding application with a payout request and a change request
        let (progB, callB, catB) = try await FundingFixture.programme(app, budget: [(2027, .land, 1_000_000)], title: "Programm B")
        let fundB = try await FundingFixture.submitted(app, progB, callB, catB, tenant: victim, cents: 1_000, n: 99)
        let payoutB = FundingPayout()
        payoutB.applicationID = try fundB.requireID(); payoutB.tenantARS = victim; payoutB.year = 2027; payoutB.source = "landesmittel"; payoutB.cents = 1
        payoutB.status = "beantragt"; payoutB.requestedBy = "B"; payoutB.requestedAt = Date(); payoutB.note = ""
        try await payoutB.create(on: app.db)
        let changeB = FundingChange()
        changeB.applicationID = try fundB.requireID(); changeB.tenantARS = victim; changeB.reason = "geheim-B"; changeB.newEndsOn = ""; changeB.year = 2027
        changeB.source = "landesmittel"; changeB.newCents = 5; changeB.status = "beantragt"; changeB.requestedBy = "B"; changeB.createdAt = Date(); changeB.decisionNote = ""
        try await changeB.create(on: app.db)
        let fileB = AntragFile()
        fileB.antragID = antragB.id!; fileB.field = "nachweis"; fileB.name = "geheim-B.pdf"; fileB.kind = "pdf"; fileB.size = 9
        fileB.sha256 = try await app.files.put(Data("%PDF-geheim-B".utf8)); fileB.uploadedBy = "test"; fileB.createdAt = Date()
        try await fileB.create(on: app.db)
        let msgB = PostboxMessage()
        msgB.antragID = antragB.id!; msgB.tenantARS = victim; msgB.direction = "amt"; msgB.kind = "eingang"; msgB.sender = "Gera"
        msgB.subject = "geheim-B"; msgB.body = "geheim-B"; msgB.createdAt = Date()
        try await msgB.create(on: app.db)
        // B's competence-centre objects: a registration, its certificate, a visit with a task
        let eventB = TrainingEvent()
        eventB.id = UUID(); eventB.title = "Kurs"; eventB.kind = "kurs"; eventB.summary = ""; eventB.topics = ""; eventB.audience = ""; eventB.place = "Gera"
        eventB.online = false; eventB.onlineLink = ""; eventB.capacity = 5; eventB.qualifying = false; eventB.qualification = ""; eventB.feeCents = 0; eventB.feeHaushaltsstelle = ""; eventB.status = "published"
        eventB.seatLock = 0; eventB.createdBy = "test"; eventB.createdAt = Date()
        try await eventB.create(on: app.db)
        let regB = EventRegistration()
        regB.id = UUID(); regB.eventID = eventB.id!; regB.userID = UUID(); regB.tenantARS = victim; regB.name = "geheim-B Teilnehmerin"; regB.email = "b@gera.test"
        regB.status = "confirmed"; regB.waitReason = ""; regB.queuedAt = Date(); regB.attended = "0"; regB.registeredBy = "test"; regB.createdAt = Date(); regB.updatedAt = Date()
        try await regB.create(on: app.db)
        let certB = EventCertificate()
        certB.id = UUID(); certB.code = "ABCDEFGH2"; certB.registrationID = regB.id!; certB.eventID = eventB.id!; certB.userID = regB.userID; certB.tenantARS = victim
        certB.name = "geheim-B Teilnehmerin"; certB.eventTitle = "Kurs"; certB.dates = "01.01.2027"; certB.hours = "1 Stunde"; certB.qualification = ""
        certB.issuedAt = Date(); certB.issuedBy = "test"; certB.revokedReason = ""
        try await certB.create(on: app.db)
        let visitB = SiteVisit()
        visitB.id = UUID(); visitB.tenantARS = victim; visitB.topics = "geheim-B Thema"; visitB.preferred = "x"; visitB.participants = ""; visitB.notes = ""
        visitB.status = "proposed"; visitB.proposedStart = Date().addingTimeInterval(86400); visitB.advisor = ""; visitB.minutes = ""; visitB.requestedBy = "user:b@gera.test"
        visitB.createdAt = Date(); visitB.updatedAt = Date()
        try await visitB.create(on: app.db)
        let taskB = VisitTask()
        taskB.id = UUID(); taskB.visitID = visitB.id!; taskB.tenantARS = victim; taskB.title = "geheim-B Aufgabe"; taskB.owner = "B"; taskB.dueOn = "2027-01-01"; taskB.createdAt = Date()
        try await taskB.create(on: app.db)
        let auditBefore = try await AuditEntry.query(on: app.db).count()

        let bodies: [String: String] = [
            "antrag": #"{"antragsdatum":"2026-01-15","ratsbeschluss":"x","ratsbeschlussDatum":"2026-01-10","anteilCent":100}"#,
            "genehmigung": #"{"wirksamAb":"2026-02-01"}"#, "ablehnung": #"{"begruendung":"x"}"#,
            "kuendigung": #"{"kuendigungZum":"2099-12-31"}"#, "umfragen": #"{"titel":"x"}"#,
            "organisationseinheiten": #"{"name":"X","art":"Y","strasse":"Z 1","plz":"07545","ort":"Gera"}"#,
            "zustaendigkeiten": #"{"leistung":"99008001000000","gebiet":"16052","organisationseinheit":"\#(officeA.id!.uuidString)"}"#,
            ":ars": #"{"interesse":"yes","ansprechpartner":"A","email":"a@b.de"}"#,
        ]
        let forms: [String: String] = ["titel": "x", "wirksamAb": "2026-02-01", "begruendung": "x", "kuendigungZum": "2099-12-31",
                                       "antragsdatum": "2026-01-15", "ratsbeschluss": "x", "ratsbeschlussDatum": "2026-01-10",
                                       "anteil": "1,00", "interesse": "yes", "ansprechpartner": "A", "email": "a@b.de", "name": "x",
                                       "art": "Y", "strasse": "Z 1", "plz": "07545", "ort": "Gera", "leistung": "99008001000000",
                                       "gebiet": "16052", "organisationseinheit": officeA.id!.uuidString, "rolle": "responsible", "mandant": victim,
                                       "bis": "31.12.2099"]
        var checked = 0
        // a person with three roles in A and one in a third tenant, and a deputy of B whose role
        // ended a second ago: the walk refuses them on B's objects exactly like A's plain accounts
        let multi = try await createUser(app, email: "multi@erfurt.test", role: .tenantAdmin, tenant: "16051")
        for (role, tenant) in [(Role.clerk, "16051"), (.cashOffice, "16051"), (.clerk, "160710003003")] {
            try await RoleAssignment(userID: multi.requireID(), role: role, tenantARS: tenant, createdBy: "test").create(on: app.db)
        }
        let adminB = try await createUser(app, email: "admin@gera.test", role: .tenantAdmin, tenant: victim)
        let assignmentB = try await XCTUnwrapAsync(try await RoleAssignment.query(on: app.db).filter(\.$userID == adminB.requireID()).first())
        let deputy = try await createUser(app, email: "vertretung@gera.test", role: .clerk, tenant: "16051", totp: true)
        try await RoleAssignment(userID: deputy.requireID(), role: .tenantAdmin, tenantARS: victim, validUntil: Date().addingTimeInterval(3600),
                                 note: "Urlaub", createdBy: "test").create(on: app.db)
        for user in [adminA, clerkA, multi, deputy] {
            let b = Browser(app)
            try await b.login(user)
            if user.email == deputy.email {
                // the deputy's role for B works until its end …
                let during = try await b.get("/mandanten/\(victim)/personal")
                XCTAssertEqual(during.status, .ok)
                // … and not a second after it
                let row = try await RoleAssignment.query(on: app.db).filter(\.$tenantARS == victim).filter(\.$userID == deputy.requireID()).first()
                row?.validUntil = Date().addingTimeInterval(-1)
                try await row?.save(on: app.db)
            }
            for route in app.routes.all {
                let pattern = "/" + route.path.map(\.description).joined(separator: "/")
                let key = "\(route.method.rawValue) \(pattern == "/" ? "/" : pattern)"
                if Self.publicRoutes.contains(key) || Self.isAccountRoute(key) { continue }
                let path = "/" + route.path.map { c -> String in
                    guard case .parameter(let name) = c else { return c.description }
                    switch name {
                    case "ars": return victim
                    case "key": return "99110009104000"
                    case "modul": return "unterlagen"
                    case "n": return "0"
                    case "slug": return "hund-anmelden"
                    case "token": return "x"
                    case "file": return fileB.id!.uuidString
                    case "msg": return msgB.id!.uuidString
                    case "pid": return payoutB.id!.uuidString
                    case "cid": return changeB.id!.uuidString
                    case "item": return "x"
                    case "id":
                        if pattern.contains("foerderung/antraege") { return fundB.id!.uuidString }
                        if pattern.contains("foerderung/programme") { return progB.id!.uuidString }
                        if pattern.contains("foerderung/aufrufe") { return callB.id!.uuidString }
                        if pattern.contains("anmeldungen") { return regB.id!.uuidString }
                        if pattern.contains("bescheinigungen") { return certB.id!.uuidString }
                        if pattern.contains("besuche") { return visitB.id!.uuidString }
                        if pattern.contains("aufgaben") { return taskB.id!.uuidString }
                        if pattern.contains("zuweisungen") { return assignmentB.id!.uuidString }
                        if pattern.contains("antraege") { return antragB.id!.uuidString }
                        if pattern.contains("tokens") { return tB.id!.uuidString }
                        if pattern.contains("organisationseinheiten") { return officeB.id!.uuidString }
                        if pattern.contains("zustaendigkeiten") { return entryB.id!.uuidString }
                        if pattern.contains("leitweg") { return leitwegB.leitwegID }
                        if pattern.contains("rechnungen") { return invoiceB.id!.uuidString }
                        return round.id!.uuidString
                    default: return "x"
                    }
                }.joined(separator: "/")
                let res: TestingHTTPResponse
                if pattern.hasPrefix("/api/") {
                    let last = route.path.last.map(\.description) ?? ""
                    let bodyKey = route.path.dropLast().last.map(\.description) == ":ars" || route.path.count < 4 ? last : (route.path.dropLast().last?.description ?? last)
                    if last == "import" {
                        // an XZuFi message that writes an office for tenant B
                        let xml = XZuFi.render(XZuFi.Message(messageID: "walk", created: "2026-01-01T00:00:00Z", offices: [
                            XZuFi.Office(id: officeB.id!.uuidString, agency: victim, name: "Übernommen", kind: "X", street: "Y 1", postalCode: "07545",
                                         city: "Gera", areaARS: victim, phone: "", email: "", website: "", appointmentURL: "", accessibility: "",
                                         latitude: nil, longitude: nil, hours: OpeningHours(), isMain: true, responsibilities: [])]))
                        var h = HTTPHeaders()
                        h.bearerAuthorization = BearerAuthorization(token: tokenA)
                        h.contentType = .xml
                        res = try await app.testable().sendRequest(route.method, path, headers: h, body: ByteBuffer(string: xml))
                    } else {
                        res = try await api(app, route.method, path, token: tokenA, json: route.method == .GET ? nil : bodies[last] ?? bodies[bodyKey] ?? #"{"text":"x"}"#)
                    }
                } else if route.method == .GET {
                    res = try await b.get(path)
                } else {
                    res = try await b.post(path, forms)
                    XCTAssertFalse(res.text.contains("Formular ist abgelaufen"), "\(key): refused by CSRF, not by the policy")
                }
                XCTAssertTrue([401, 403, 404].contains(res.status.code), "\(user.email) \(key) → \(res.status.code)")
                XCTAssertFalse(res.text.contains("geheim-B"), key)
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 40)

        // the scoped list shows A only
        let list = try await api(app, .GET, "/api/v1/mitgliedschaften?limit=1000", token: tokenA)
        let arsList = try XCTUnwrap(list.json()["items"] as? [[String: Any]]).compactMap { $0["ars"] as? String }
        XCTAssertEqual(arsList, ["16051"])
        let cases = try await api(app, .GET, "/api/v1/antraege", token: tokenA)
        XCTAssertEqual(cases.status, .ok)
        XCTAssertFalse(cases.text.contains("TH-2026-999999"), "A's specialist software never lists B's applications")
        let antragAfter = try await Antrag.find(antragB.id, on: app.db)
        XCTAssertEqual(antragAfter?.status, "eingegangen")
        XCTAssertNil(antragAfter?.fetchedAt)
        let msgCount = try await PostboxMessage.query(on: app.db).count()
        XCTAssertEqual(msgCount, 1, "no message was written into B's case")

        // nothing of B changed, and no audit entry was written by the attempts
        let mAfter = try await Membership.query(on: app.db).filter(\.$tenantARS == victim).first()
        XCTAssertEqual(mAfter?.status, "applied")
        let officeAfter = try await Office.find(officeB.id, on: app.db)
        XCTAssertEqual(officeAfter?.name, "Bürgeramt Gera")
        let entryAfter = try await Responsibility.find(entryB.id, on: app.db)
        XCTAssertNotNil(entryAfter)
        let lwAfter = try await LeitwegEntry.find(leitwegB.id, on: app.db)
        XCTAssertEqual(lwAfter?.active, true)
        let lwCount = try await LeitwegEntry.query(on: app.db).count()
        XCTAssertEqual(lwCount, 1, "no Leitweg-ID created for B")
        let assignmentAfter = try await RoleAssignment.find(assignmentB.id, on: app.db)
        XCTAssertNotNil(assignmentAfter, "B's administrator keeps the role")
        XCTAssertNil(assignmentAfter?.validUntil)
        let tAfter = try await APIToken.find(tB.id, on: app.db)
        XCTAssertNil(tAfter?.revokedAt)
        let ansAfter = try await SurveyAnswer.find(ansB.id, on: app.db)
        XCTAssertEqual(ansAfter?.interest, "no")
        let auditAfter = try await AuditEntry.query(on: app.db).filter(\.$action != "auth.login").count()
        XCTAssertEqual(auditAfter, auditBefore)
        let regAfter = try await EventRegistration.find(regB.id, on: app.db)
        XCTAssertEqual(regAfter?.status, "confirmed", "B's registration was not cancelled")
        XCTAssertEqual(regAfter?.attended, "0")
        let certAfter = try await EventCertificate.find(certB.id, on: app.db)
        XCTAssertNil(certAfter?.revokedAt)
        let visitAfter = try await SiteVisit.find(visitB.id, on: app.db)
        XCTAssertEqual(visitAfter?.status, "proposed")
        let taskAfter = try await VisitTask.find(taskB.id, on: app.db)
        XCTAssertNil(taskAfter?.doneAt)
        let fundAfter = try await FundingApplication.find(fundB.id, on: app.db)
        XCTAssertEqual(fundAfter?.status, "eingereicht", "B's funding application was not touched")
        let payoutAfter = try await FundingPayout.find(payoutB.id, on: app.db)
        XCTAssertEqual(payoutAfter?.status, "beantragt")
        let fundMessages = try await FundingMessage.query(on: app.db).count()
        XCTAssertEqual(fundMessages, 0)
        let invoiceAfter = try await EInvoice.find(invoiceB.id, on: app.db)
        XCTAssertEqual(invoiceAfter?.status, "eingegangen")
        XCTAssertNil(invoiceAfter?.exportedAt)
        try await app.shutdownOnce()
    }
}
