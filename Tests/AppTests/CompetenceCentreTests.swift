import Fluent
import SQLKit
import XCTVapor
import XCTest
import Events
@testable import App

/// The competence centre end to end over HTTP: a two-date ISB course with 12 seats and a quota
/// of 2 per municipality, registrations from three tenants with a waiting list and promotion,
/// check-in, certificates that verify publicly, a visit from request to task, and reach.
final class CompetenceCentreTests: XCTestCase {
    func staff(_ app: Application, _ email: String, _ name: String, _ role: Role, _ tenant: String?) async throws -> User {
        let u = try await createUser(app, email: email, role: role, tenant: tenant)
        u.name = name
        try await u.save(on: app.db)
        return u
    }

    func futureDay(_ days: Int) -> String {
        CalendarDayText.german(BusinessDate.today(Date().addingTimeInterval(Double(days) * 86400)))
    }

    func testCourseFromPublicationToCertificateVisitAndReach() async throws {
        let app = try await makeTestApp()
        let kz = try await staff(app, "kz@test.de", "Kira Kompetenz", .competenceCentre, nil)
        let erfurt = [try await staff(app, "a1@erfurt.test", "Anna Erfurt", .clerk, "16051"),
                      try await staff(app, "a2@erfurt.test", "Bernd Erfurt", .clerk, "16051"),
                      try await staff(app, "a3@erfurt.test", "Clara Erfurt", .cashOffice, "16051")]
        let gera = try await staff(app, "g1@gera.test", "Gero Gera", .clerk, "16052")
        let adminBerka = try await staff(app, "admin@bad-berka.test", "Berta Berka", .tenantAdmin, "160710003003")
        let berkaClerk = try await staff(app, "clerk@bad-berka.test", "Boris Berka", .clerk, "160710003003")
        let land = try await staff(app, "land@test.de", "Lena Land", .state, "16")

        // the competence centre publishes the course; a bad date is a German 422, nothing is written
        let k = Browser(app)
        try await k.login(kz)
        try await k.get("/kompetenzzentrum/veranstaltungen/neu")
        var form = ["titel": "ISB-Grundschulung", "art": "kurs", "beschreibung": "Zwei Tage", "ort": "Weimarplatz 4, 99423 Weimar",
                    "plaetze": "12", "kontingent": "2", "thema_informationssicherheit": "1", "qualifizierend": "1",
                    "qualifikation": "Informationssicherheitsbeauftragte/r", "datum1": "31.02.2027", "von1": "09:00", "bis1": "16:00",
                    "datum2": futureDay(21), "von2": "09:00", "bis2": "16:00", "pflicht1": "1", "pflicht2": "1"]
        let bad = try await k.post("/kompetenzzentrum/veranstaltungen", form)
        XCTAssertEqual(bad.status, .badRequest)
        XCTAssertTrue(bad.text.contains("kein gültiges Datum"), bad.text)
        let none = try await TrainingEvent.query(on: app.db).count()
        XCTAssertEqual(none, 0)
        form["datum1"] = futureDay(14)
        let created = try await k.post("/kompetenzzentrum/veranstaltungen", form)
        XCTAssertEqual(created.status, .seeOther, created.text)
        let event = try await XCTUnwrapAsync(try await TrainingEvent.query(on: app.db).first())
        let id = try event.requireID()
        let sessions = try await EventService.sessions(app.db, id)
        XCTAssertEqual(sessions.count, 2)

        // public catalogue, page and calendar
        let anon = Browser(app)
        let cat = try await anon.get("/veranstaltungen?thema=informationssicherheit&frei=1")
        XCTAssertTrue(cat.text.contains("ISB-Grundschulung"))
        let other = try await anon.get("/veranstaltungen?thema=e-rechnung")
        XCTAssertFalse(other.text.contains("ISB-Grundschulung"))
        let ics = try await anon.get("/veranstaltungen/\(id)/kalender.ics")
        XCTAssertEqual(ics.headers.contentType?.subType, "calendar")
        XCTAssertTrue(ics.text.contains("BEGIN:VEVENT") && ics.text.contains("TZID=Europe/Berlin"))
        XCTAssertEqual(ics.text.components(separatedBy: "BEGIN:VEVENT").count - 1, 2)
        let feed = try await anon.get("/veranstaltungen/themen/informationssicherheit/kalender.ics")
        XCTAssertTrue(feed.text.contains("ISB-Grundschulung"))
        let apiList = try await api(app, .GET, "/api/v1/veranstaltungen?thema=informationssicherheit")
        XCTAssertEqual(apiList.status, .ok)
        XCTAssertTrue(apiList.text.contains("\"freiePlaetze\":12"), apiList.text)
        let apiBad = try await api(app, .GET, "/api/v1/veranstaltungen?thema=%3Cscript%3E")
        XCTAssertEqual(apiBad.status, .badRequest)
        XCTAssertFalse(apiBad.text.contains("<script>"))

        // three tenants register; the third person of Erfurt waits because of the quota
        var browsers: [String: Browser] = [:]
        for u in erfurt + [gera, berkaClerk] {
            let b = Browser(app)
            try await b.login(u)
            try await b.get("/veranstaltungen/\(id)")
            let r = try await b.post("/veranstaltungen/\(id)/anmelden")
            XCTAssertEqual(r.status, .seeOther, r.text)
            browsers[u.email] = b
        }
        let clara = try await XCTUnwrapAsync(try await EventRegistration.query(on: app.db).filter(\.$email == "a3@erfurt.test").first())
        XCTAssertEqual(clara.status, "waiting")
        XCTAssertEqual(clara.waitReason, "kontingent")
        let page = try await browsers["a3@erfurt.test"]!.get("/veranstaltungen/\(id)")
        XCTAssertTrue(page.text.contains("Warteliste"))
        // a second click changes nothing
        let again = try await browsers["a1@erfurt.test"]!.post("/veranstaltungen/\(id)/anmelden")
        XCTAssertEqual(again.headers.first(name: .location), "/veranstaltungen/\(id)?ergebnis=unveraendert")
        // mails: confirmation with the calendar, waiting notice
        let annaMail = try await XCTUnwrapAsync(try await OutboxMail.query(on: app.db).filter(\.$recipient == "a1@erfurt.test").first())
        XCTAssertTrue(annaMail.subject.hasPrefix("Anmeldung bestätigt"))
        XCTAssertTrue(annaMail.attachment?.contains("BEGIN:VCALENDAR") ?? false)
        let claraMail = try await XCTUnwrapAsync(try await OutboxMail.query(on: app.db).filter(\.$recipient == "a3@erfurt.test").first())
        XCTAssertTrue(claraMail.body.contains("Kontingent"))

        // someone else's registration cannot be cancelled (404), Anna's own can; Clara moves up
        let annaReg = try await XCTUnwrapAsync(try await EventRegistration.query(on: app.db).filter(\.$email == "a1@erfurt.test").first())
        let foreign = try await browsers["g1@gera.test"]!.post("/anmeldungen/\(annaReg.requireID())/abmelden")
        XCTAssertEqual(foreign.status, .notFound)
        try await browsers["a1@erfurt.test"]!.get("/veranstaltungen/meine")
        let cancel = try await browsers["a1@erfurt.test"]!.post("/anmeldungen/\(annaReg.requireID())/abmelden")
        XCTAssertEqual(cancel.status, .seeOther)
        let claraAfter = try await EventRegistration.find(clara.id, on: app.db)
        XCTAssertEqual(claraAfter?.status, "confirmed")
        let promoted = try await OutboxMail.query(on: app.db).filter(\.$recipient == "a3@erfurt.test").all()
        XCTAssertTrue(promoted.contains { $0.subject.hasPrefix("Platz frei") })

        // the tenant admin of Bad Berka registers a colleague (herself) with one click
        let ab = Browser(app)
        try await ab.login(adminBerka)
        let evPage = try await ab.get("/veranstaltungen/\(id)")
        XCTAssertTrue(evPage.text.contains("Boris Berka (angemeldet)"), "colleagues show their status")
        let many = try await ab.post("/mandanten/160710003003/veranstaltungen/\(id)/anmelden", ["person_\(try adminBerka.requireID())": "1"])
        XCTAssertEqual(many.status, .seeOther, many.text)
        // not for a person of another tenant
        let sneaky = try await ab.post("/mandanten/160710003003/veranstaltungen/\(id)/anmelden", ["person_\(try gera.requireID())": "1"])
        XCTAssertEqual(sneaky.status, .forbidden)
        let confirmedNow = try await EventService.confirmedCount(app.db, id)
        XCTAssertEqual(confirmedNow, 5)   // Bernd, Clara, Gero, Boris, Berta

        // the course takes place: check-in per session (time moved back for the test)
        for s in sessions {
            s.startsAt = s.startsAt.addingTimeInterval(-30 * 86400); s.endsAt = s.endsAt.addingTimeInterval(-30 * 86400)
            try await s.save(on: app.db)
        }
        let regs = try await EventRegistration.query(on: app.db).filter(\.$eventID == id).filter(\.$status == "confirmed").all()
        try await k.get("/kompetenzzentrum/veranstaltungen/\(id)/termine/1")
        for r in regs where r.email != "g1@gera.test" {
            for n in [1, 2] where !(r.email == "clerk@bad-berka.test" && n == 2) {
                let m = try await k.post("/kompetenzzentrum/veranstaltungen/\(id)/termine/\(n)", ["anmeldung": try r.requireID().uuidString, "anwesend": "1"])
                XCTAssertEqual(m.status, .seeOther, m.text)
            }
        }
        let checkin = try await k.get("/kompetenzzentrum/veranstaltungen/\(id)/termine/2")
        XCTAssertTrue(checkin.text.contains("3 / 5"), "three of five present on day 2")
        let sheet = try await k.get("/kompetenzzentrum/veranstaltungen/\(id)/termine/1/liste.pdf")
        XCTAssertEqual(sheet.headers.contentType?.subType, "pdf")
        XCTAssertTrue(sheet.body.readableBytesView.starts(with: Array("%PDF".utf8)))
        let list = try await k.get("/kompetenzzentrum/veranstaltungen/\(id)")
        XCTAssertTrue(list.text.contains("nicht erschienen"), "Gero never came")

        // certificates for those present on both days only
        let issue = try await k.post("/kompetenzzentrum/veranstaltungen/\(id)/bescheinigungen")
        XCTAssertEqual(issue.headers.first(name: .location), "/kompetenzzentrum/veranstaltungen/\(id)?ok=bescheinigungen&n=3")
        let twice = try await k.post("/kompetenzzentrum/veranstaltungen/\(id)/bescheinigungen")
        XCTAssertEqual(twice.headers.first(name: .location), "/kompetenzzentrum/veranstaltungen/\(id)?ok=bescheinigungen&n=0")
        let clarasCert = try await XCTUnwrapAsync(try await EventCertificate.query(on: app.db).filter(\.$name == "Clara Erfurt").first())
        XCTAssertEqual(clarasCert.hours, "14 Stunden")
        XCTAssertEqual(clarasCert.qualification, "Informationssicherheitsbeauftragte/r")
        let pdf = try await browsers["a3@erfurt.test"]!.get("/bescheinigungen/\(clarasCert.requireID())")
        XCTAssertEqual(pdf.status, .ok)
        XCTAssertTrue(pdf.body.readableBytesView.starts(with: Array("%PDF".utf8)))
        let notHers = try await browsers["g1@gera.test"]!.get("/bescheinigungen/\(clarasCert.requireID())")
        XCTAssertEqual(notHers.status, .notFound)
        let code = VerificationCode.display(clarasCert.code)
        let verify = try await anon.get("/nachweis/\(code.lowercased())")
        XCTAssertEqual(verify.status, .ok)
        XCTAssertTrue(verify.text.contains("Clara Erfurt") && verify.text.contains("echt und gültig"))
        XCTAssertFalse(verify.text.contains("a3@erfurt.test"), "nothing else about the person")
        let apiVerify = try await api(app, .GET, "/api/v1/nachweise/\(code)")
        XCTAssertEqual(try apiVerify.json()["gueltig"] as? Bool, true)
        XCTAssertEqual(try apiVerify.json()["name"] as? String, "Clara Erfurt")
        // a typo is caught by the check character; an unknown valid code is 404
        var typo = Array(clarasCert.code)
        typo[0] = typo[0] == "A" ? "B" : "A"
        let wrong = try await api(app, .GET, "/api/v1/nachweise/\(String(typo))")
        XCTAssertEqual(wrong.status, .unprocessableEntity)
        let unknown = try await api(app, .GET, "/api/v1/nachweise/\(VerificationCode.generate().value)")
        XCTAssertEqual(unknown.status, .notFound)

        // feedback through the form engine: a missing answer is a German 422, then once only
        let cb = browsers["a3@erfurt.test"]!
        try await cb.get("/veranstaltungen/\(id)/rueckmeldung")
        let incomplete = try await cb.post("/veranstaltungen/\(id)/rueckmeldung", ["gesamt": "5", "inhalt": "4"])
        XCTAssertEqual(incomplete.status, .unprocessableEntity)
        XCTAssertTrue(incomplete.text.contains("Organisation und Ablauf"), "the missing question is named")
        let fb = try await cb.post("/veranstaltungen/\(id)/rueckmeldung", ["gesamt": "5", "inhalt": "4", "organisation": "4", "nutzen": "ja",
                                                                          "wuensche": "Notfallmanagement", "kommentar": "Sehr praxisnah"])
        XCTAssertEqual(fb.status, .seeOther, fb.text)
        let fb2 = try await cb.post("/veranstaltungen/\(id)/rueckmeldung", ["gesamt": "1", "inhalt": "1", "organisation": "1", "nutzen": "nein"])
        XCTAssertEqual(fb2.status, .conflict)
        let bernd = browsers["a2@erfurt.test"]!
        try await bernd.get("/veranstaltungen/\(id)/rueckmeldung")
        _ = try await bernd.post("/veranstaltungen/\(id)/rueckmeldung", ["gesamt": "4", "inhalt": "3", "organisation": "5", "nutzen": "teilweise"])
        let fbResults = try await k.get("/kompetenzzentrum/veranstaltungen/\(id)/rueckmeldungen")
        XCTAssertTrue(fbResults.text.contains("2 Rückmeldungen") && fbResults.text.contains("Mittelwert: 4,5"), "overall 5 and 4")
        XCTAssertTrue(fbResults.text.contains("Sehr praxisnah") && fbResults.text.contains("<svg"))
        XCTAssertFalse(fbResults.text.contains("Clara"), "feedback is shown without names")
        let outsider = try await browsers["a1@erfurt.test"]!.get("/veranstaltungen/\(id)/rueckmeldung")
        XCTAssertEqual(outsider.status, .forbidden, "Anna cancelled: no feedback form")

        // materials: uploaded by the competence centre, for participants after the event
        try await k.get("/kompetenzzentrum/veranstaltungen/\(id)")
        let slides = Data("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".utf8)
        let up = try await k.postMultipart("/kompetenzzentrum/veranstaltungen/\(id)/unterlagen", files: [("unterlage", "folien.pdf", slides)])
        XCTAssertEqual(up.status, .seeOther, up.text)
        let exe = try await k.postMultipart("/kompetenzzentrum/veranstaltungen/\(id)/unterlagen", files: [("unterlage", "folien.pdf", Data("MZ\u{90}binary".utf8))])
        XCTAssertEqual(exe.status, .badRequest)
        let material = try await XCTUnwrapAsync(try await EventMaterial.query(on: app.db).first())
        let mine = try await cb.get("/veranstaltungen/meine")
        XCTAssertTrue(mine.text.contains("folien.pdf"))
        let dl = try await cb.get("/veranstaltungen/\(id)/unterlagen/\(material.requireID())")
        XCTAssertEqual(dl.status, .ok)
        XCTAssertEqual(Data(dl.body.readableBytesView), slides)
        let notRegistered = try await browsers["a1@erfurt.test"]!.get("/veranstaltungen/\(id)/unterlagen/\(material.requireID())")
        XCTAssertEqual(notRegistered.status, .forbidden)

        // the certificate counts for the tenant: on Erfurt's training page
        let adminErfurt = try await staff(app, "admin@erfurt.test", "Erika Admin", .tenantAdmin, "16051")
        let ae = Browser(app)
        try await ae.login(adminErfurt)
        let profile = try await ae.get("/mandanten/16051/fortbildung")
        XCTAssertTrue(profile.text.contains("Clara Erfurt") && profile.text.contains("Informationssicherheitsbeauftragte/r"))

        // revoked: the public page says so
        try await k.get("/kompetenzzentrum/veranstaltungen/\(id)")
        let revoke = try await k.post("/kompetenzzentrum/bescheinigungen/\(clarasCert.requireID())/widerrufen", ["grund": "Irrtum"])
        XCTAssertEqual(revoke.status, .seeOther)
        let revoked = try await anon.get("/nachweis/\(code)")
        XCTAssertTrue(revoked.text.contains("widerrufen"))

        // a visit: requested, proposed, confirmed, documented with a task, done
        try await ae.get("/mandanten/16051/fortbildung")
        let noTopic = try await ae.post("/mandanten/16051/besuche", ["themen": "", "zeitraum": "KW 10"])
        XCTAssertEqual(noTopic.status, .badRequest)
        let req = try await ae.post("/mandanten/16051/besuche", ["themen": "ISMS-Einführung", "zeitraum": "KW 10 bis 12", "teilnehmende": "Bürgermeister, IT"])
        XCTAssertEqual(req.status, .seeOther)
        let visit = try await XCTUnwrapAsync(try await SiteVisit.query(on: app.db).first())
        let plan = try await k.get("/kompetenzzentrum/besuche")
        XCTAssertTrue(plan.text.contains("Erfurt") && plan.text.contains("ISMS-Einführung"))
        try await k.get("/kompetenzzentrum/besuche/\(visit.requireID())")
        let propose = try await k.post("/kompetenzzentrum/besuche/\(visit.requireID())/vorschlag", ["datum": futureDay(7), "uhrzeit": "10:00", "beratung": "Kira Kompetenz"])
        XCTAssertEqual(propose.status, .seeOther, propose.text)
        let planned = try await k.get("/kompetenzzentrum/besuche")
        XCTAssertTrue(planned.text.contains("KW "), "the plan groups by week")
        try await ae.get("/mandanten/16051/fortbildung")
        let confirm = try await ae.post("/mandanten/16051/besuche/\(visit.requireID())/bestaetigen")
        XCTAssertEqual(confirm.status, .seeOther)
        let v2 = try await XCTUnwrapAsync(try await SiteVisit.find(visit.id, on: app.db))
        XCTAssertEqual(v2.status, "confirmed")
        v2.proposedStart = Date().addingTimeInterval(-3600)
        try await v2.save(on: app.db)
        try await k.get("/kompetenzzentrum/besuche/\(visit.requireID())")
        let minutes = try await k.post("/kompetenzzentrum/besuche/\(visit.requireID())/protokoll",
                                       ["protokoll": "Sicherheitsleitlinie besprochen.", "aufgabe": "Leitlinie beschließen", "verantwortlich": "Bürgermeister",
                                        "faellig": futureDay(30)])
        XCTAssertEqual(minutes.status, .seeOther, minutes.text)
        let overview = try await ae.get("/mandanten/16051")
        XCTAssertTrue(overview.text.contains("1 offene Aufgaben aus Vor-Ort-Terminen"), "open tasks show on the tenant's overview")
        let withTask = try await ae.get("/mandanten/16051/fortbildung")
        XCTAssertTrue(withTask.text.contains("Leitlinie beschließen") && withTask.text.contains("1 offene Aufgaben"), withTask.text)
        let task = try await XCTUnwrapAsync(try await VisitTask.query(on: app.db).first())
        let done = try await ae.post("/mandanten/16051/aufgaben/\(task.requireID())/erledigt")
        XCTAssertEqual(done.status, .seeOther)
        let taskAfter = try await VisitTask.find(task.id, on: app.db)
        XCTAssertNotNil(taskAfter?.doneAt)

        // reach: the Land sees Erfurt, Bad Berka reached (Gera registered but never came), CSV
        let l = Browser(app)
        try await l.login(land)
        let reach = try await l.get("/kompetenzzentrum/reichweite")
        XCTAssertEqual(reach.status, .ok)
        XCTAssertTrue(reach.text.contains("<strong>2 von "), "Erfurt and Bad Berka")
        XCTAssertTrue(reach.text.contains("<svg"))
        let csv = try await l.get("/kompetenzzentrum/reichweite?format=csv")
        XCTAssertEqual(csv.headers.first(name: .contentType), "text/csv; charset=utf-8")
        let erfurtLine = csv.text.replacingOccurrences(of: "\"", with: "").split(whereSeparator: \.isNewline).first { $0.hasPrefix("16051;") }.map(String.init) ?? ""
        XCTAssertTrue(erfurtLine.hasPrefix("16051;Erfurt, Stadt;Erfurt, Stadt;"), erfurtLine)
        XCTAssertTrue(erfurtLine.contains(";1;2;1;1;"), "1 event, 2 people, 1 valid certificate (one revoked), 1 visit: \(erfurtLine)")
        // clerks do not see reach or the competence centre
        let clerkReach = try await browsers["a2@erfurt.test"]!.get("/kompetenzzentrum/reichweite")
        XCTAssertEqual(clerkReach.status, .forbidden)

        // everything audited
        let actions = Set(try await AuditEntry.query(on: app.db).all().map(\.action))
        for a in ["event.create", "event.register", "event.cancel", "event.promote", "event.attendance", "event.certificate", "event.certificate.revoke",
                  "visit.request", "visit.propose", "visit.confirm", "visit.document", "visit.task.done", "event.feedback", "event.material"] {
            XCTAssertTrue(actions.contains(a), a)
        }
    }

    /// Fifty people of fifty municipalities ask for the last seat at once: exactly one gets it.
    /// On PostgreSQL the requests are split over two instances on the one database.
    func testFiftyParallelRegistrationsForOneSeat() async throws {
        let app = try await makeTestApp()
        var second: Application? = nil
        if let url = Environment.get("DATABASE_URL"), !url.isEmpty { second = try await makeSecondInstance(url) }
        let e = TrainingEvent()
        e.id = UUID(); e.title = "Letzter Platz"; e.kind = "workshop"; e.summary = ""; e.topics = ""; e.audience = ""; e.place = "Erfurt"; e.online = false
        e.onlineLink = ""; e.capacity = 1; e.quotaPerTenant = 1; e.qualifying = false; e.qualification = ""; e.feeCents = 0; e.feeHaushaltsstelle = ""; e.status = "published"; e.seatLock = 0
        e.createdBy = "test"; e.createdAt = Date()
        try await e.create(on: app.db)
        let s = EventSessionRow()
        s.eventID = try e.requireID(); s.idx = 0; s.startsAt = Date().addingTimeInterval(86400 * 10); s.endsAt = s.startsAt.addingTimeInterval(3600); s.required = true
        try await s.create(on: app.db)
        let tenants = try await Gebiet.query(on: app.db).filter(\.$level == "gemeinde").limit(50).all().map(\.ars)
        XCTAssertEqual(tenants.count, 50)
        let eventID = try e.requireID()
        let apps = [app] + (second.map { [$0] } ?? [])
        let results = try await withThrowingTaskGroup(of: EventService.Result.self) { group in
            for (i, t) in tenants.enumerated() {
                let target = apps[i % apps.count]
                group.addTask {
                    try await EventService.register(target, eventID: eventID,
                                                    person: .init(userID: UUID(), tenantARS: t, name: "Person \(i)", email: "p\(i)@test.de"), actor: .anonymous)
                }
            }
            var out: [EventService.Result] = []
            for try await r in group { out.append(r) }
            return out
        }
        XCTAssertEqual(results.filter { $0 == .confirmed }.count, 1)
        XCTAssertEqual(results.filter { $0 == .waitlisted(.full) }.count, 49)
        let confirmed = try await EventService.confirmedCount(app.db, eventID)
        XCTAssertEqual(confirmed, 1)
    }

    /// Reminders 7 days and 1 day before the first session, each once, only to people registered
    /// before that point; the mail reaches an SMTP server as multipart with the .ics attached.
    func testRemindersGoOutOnceWithTheCalendarAttached() async throws {
        let app = try await makeTestApp()
        let sink = try SMTPSink()
        defer { sink.stop() }
        let start = Date().addingTimeInterval(30 * 86400)
        let e = TrainingEvent()
        e.id = UUID(); e.title = "Webinar E-Rechnung"; e.kind = "webinar"; e.summary = "Eingang und Freigabe"; e.topics = "e-rechnung"; e.audience = ""
        e.place = ""; e.online = true; e.onlineLink = "https://konferenz.example.org/raum-7"; e.capacity = 10; e.qualifying = false; e.qualification = ""; e.feeCents = 0; e.feeHaushaltsstelle = ""
        e.status = "published"; e.seatLock = 0; e.createdBy = "test"; e.createdAt = Date()
        try await e.create(on: app.db)
        let s = EventSessionRow()
        s.eventID = try e.requireID(); s.idx = 0; s.startsAt = start; s.endsAt = start.addingTimeInterval(5400); s.required = true
        try await s.create(on: app.db)
        let early = try await EventService.register(app, eventID: e.requireID(), person: .init(userID: UUID(), tenantARS: "16051", name: "Frühe Anmeldung", email: "frueh@test.de"),
                                                    actor: .anonymous, now: start.addingTimeInterval(-20 * 86400))
        let late = try await EventService.register(app, eventID: e.requireID(), person: .init(userID: UUID(), tenantARS: "16052", name: "Späte Anmeldung", email: "spaet@test.de"),
                                                   actor: .anonymous, now: start.addingTimeInterval(-3 * 86400))
        XCTAssertEqual(early, .confirmed); XCTAssertEqual(late, .confirmed)
        // the rows were written with the real clock; move creation to the registration times
        for r in try await EventRegistration.query(on: app.db).all() {
            r.createdAt = r.email == "frueh@test.de" ? start.addingTimeInterval(-20 * 86400) : start.addingTimeInterval(-3 * 86400)
            try await r.save(on: app.db)
        }
        let sixDaysBefore = try await EventMails.reminders(app, now: start.addingTimeInterval(-6 * 86400))
        XCTAssertEqual(sixDaysBefore, 1, "only the early registration gets the one-week reminder")
        let again = try await EventMails.reminders(app, now: start.addingTimeInterval(-6 * 86400 + 900))
        XCTAssertEqual(again, 0, "each reminder once")
        let dayBefore = try await EventMails.reminders(app, now: start.addingTimeInterval(-20 * 3600))
        XCTAssertEqual(dayBefore, 2, "both get the reminder the day before")
        let keys = try await OutboxMail.query(on: app.db).all().map(\.key).filter { $0.hasPrefix("event-reminder") }
        XCTAssertEqual(keys.count, 3)
        // delivered over SMTP: text and the calendar with the access link, both base64
        let sender = SMTPMailSender(host: "127.0.0.1", port: sink.port, from: "rathaus@test.local", heloName: "rathaus", threadPool: app.threadPool)
        try await Outbox.deliverDue(app: app, sender: sender, limit: 50)
        let mail = try XCTUnwrap(sink.messages.first { $0.to.contains { $0.contains("frueh@test.de") } && $0.data.contains("multipart/mixed") })
        XCTAssertTrue(mail.data.contains("Content-Type: text/calendar; method=PUBLISH; charset=utf-8"))
        XCTAssertTrue(mail.data.contains("filename=\"veranstaltung.ics\""))
        let parts = mail.data.components(separatedBy: "\r\n\r\n")
        let decoded = parts.compactMap { p -> String? in
            let b64 = p.components(separatedBy: "\r\n--").first?.replacingOccurrences(of: "\r\n", with: "") ?? ""
            return Data(base64Encoded: b64).map { String(decoding: $0, as: UTF8.self) }
        }
        XCTAssertTrue(decoded.contains { $0.contains("BEGIN:VCALENDAR") && $0.contains("konferenz.example.org/raum-7") }, "the confirmed participant's calendar carries the link")
        XCTAssertTrue(decoded.contains { $0.contains("Guten Tag Frühe Anmeldung") })
    }

    /// An event for Gemeinden only refuses a Kreis with a German reason; a cancelled event tells
    /// everyone and removes the dates from their calendars.
    func testAudienceAndCancellation() async throws {
        let app = try await makeTestApp()
        let kz = try await staff(app, "kz@test.de", "Kira Kompetenz", .competenceCentre, nil)
        let erfurt = try await staff(app, "c@erfurt.test", "Carl Erfurt", .clerk, "16051")
        let berka = try await staff(app, "c@bad-berka.test", "Boris Berka", .clerk, "160710003003")
        let k = Browser(app)
        try await k.login(kz)
        try await k.get("/kompetenzzentrum/veranstaltungen/neu")
        let created = try await k.post("/kompetenzzentrum/veranstaltungen", ["titel": "Gemeindeforum", "art": "workshop", "ort": "Weimar", "plaetze": "30",
                                                                          "ebene_gemeinde": "1", "datum1": futureDay(20), "von1": "10:00", "bis1": "12:00"])
        XCTAssertEqual(created.status, .badRequest, "no required session: no certificate possible")
        XCTAssertTrue(created.text.contains("Mindestens ein Termin"))
        let createdOK = try await k.post("/kompetenzzentrum/veranstaltungen", ["titel": "Gemeindeforum", "art": "workshop", "ort": "Weimar", "plaetze": "30",
                                                                            "ebene_gemeinde": "1", "datum1": futureDay(20), "von1": "10:00", "bis1": "12:00", "pflicht1": "1"])
        XCTAssertEqual(createdOK.status, .seeOther, createdOK.text)
        let id = try await XCTUnwrapAsync(try await TrainingEvent.query(on: app.db).first()).requireID()
        let page = try await Browser(app).get("/veranstaltungen/\(id)")
        XCTAssertTrue(page.text.contains("Zielgruppe") && page.text.contains("Gemeinden"))
        let e = Browser(app)
        try await e.login(erfurt)
        try await e.get("/veranstaltungen/\(id)")
        let refused = try await e.post("/veranstaltungen/\(id)/anmelden")
        XCTAssertEqual(refused.status, .conflict)
        XCTAssertTrue(refused.text.contains("richtet sich an Gemeinden"), refused.text)
        let b = Browser(app)
        try await b.login(berka)
        try await b.get("/veranstaltungen/\(id)")
        let ok = try await b.post("/veranstaltungen/\(id)/anmelden")
        XCTAssertEqual(ok.headers.first(name: .location), "/veranstaltungen/\(id)?ergebnis=bestaetigt")

        // an audience by role: a workshop for tenant administrators refuses a clerk
        try await k.get("/kompetenzzentrum/veranstaltungen/neu")
        _ = try await k.post("/kompetenzzentrum/veranstaltungen", ["titel": "Admin-Werkstatt", "art": "workshop", "ort": "Erfurt", "plaetze": "10",
                                                                "rolle_admin": "1", "datum1": futureDay(25), "von1": "10:00", "bis1": "12:00", "pflicht1": "1"])
        let adminOnly = try await XCTUnwrapAsync(try await TrainingEvent.query(on: app.db).filter(\.$title == "Admin-Werkstatt").first()).requireID()
        try await b.get("/veranstaltungen/\(adminOnly)")
        let clerkRefused = try await b.post("/veranstaltungen/\(adminOnly)/anmelden")
        XCTAssertEqual(clerkRefused.status, .conflict)
        XCTAssertTrue(clerkRefused.text.contains("richtet sich an Mandanten-Administration"), clerkRefused.text)

        // bulk mail to participants, at most one per event every ten minutes
        try await k.get("/kompetenzzentrum/veranstaltungen/\(id)")
        let bulk = try await k.post("/kompetenzzentrum/veranstaltungen/\(id)/rundmail", ["an": "teilnehmende", "betreff": "Raumänderung", "text": "Wir treffen uns in Raum 2."])
        XCTAssertEqual(bulk.status, .seeOther, bulk.text)
        let bulkMails = try await OutboxMail.query(on: app.db).filter(\.$subject == "Raumänderung").all()
        XCTAssertEqual(bulkMails.map(\.recipient), ["c@bad-berka.test"])
        try await k.get("/kompetenzzentrum/veranstaltungen/\(id)")
        let bulk2 = try await k.post("/kompetenzzentrum/veranstaltungen/\(id)/rundmail", ["an": "teilnehmende", "betreff": "Noch eine", "text": "x"])
        XCTAssertEqual(bulk2.status, .tooManyRequests)
        try await k.get("/kompetenzzentrum/veranstaltungen/\(id)")
        let noReason = try await k.post("/kompetenzzentrum/veranstaltungen/\(id)/absagen", ["grund": " "])
        XCTAssertEqual(noReason.status, .badRequest)
        let stillOn = try await TrainingEvent.find(id, on: app.db)
        XCTAssertEqual(stillOn?.status, "published")
        let cancel = try await k.post("/kompetenzzentrum/veranstaltungen/\(id)/absagen", ["grund": "Referentin erkrankt"])
        XCTAssertEqual(cancel.headers.first(name: .location), "/kompetenzzentrum/veranstaltungen/\(id)?ok=abgesagt&n=1")
        let mail = try await XCTUnwrapAsync(try await OutboxMail.query(on: app.db).filter(\.$subject == "Abgesagt: Gemeindeforum").first())
        XCTAssertEqual(mail.recipient, "c@bad-berka.test")
        XCTAssertTrue(mail.body.contains("Referentin erkrankt"))
        XCTAssertTrue(mail.attachment?.contains("STATUS:CANCELLED") ?? false)
        let catalogue = try await Browser(app).get("/veranstaltungen")
        XCTAssertFalse(catalogue.text.contains("Gemeindeforum"))
        try await b.get("/veranstaltungen/\(id)")
        let late = try await b.post("/veranstaltungen/\(id)/anmelden")
        XCTAssertEqual(late.status, .conflict)
    }

    /// A fee is paid through the payment hub to the Land; its cash office sees it; the certificate
    /// follows the payment.
    func testFeeThroughThePaymentHub() async throws {
        let app = try await makeTestApp()
        let kz = try await staff(app, "kz@test.de", "Kira Kompetenz", .competenceCentre, nil)
        let payer = try await staff(app, "c@bad-berka.test", "Boris Berka", .clerk, "160710003003")
        let other = try await staff(app, "c@erfurt.test", "Carl Erfurt", .clerk, "16051")
        let landKasse = try await staff(app, "kasse@land.test", "Landeskasse", .cashOffice, "16")
        let k = Browser(app)
        try await k.login(kz)
        try await k.get("/kompetenzzentrum/veranstaltungen/neu")
        var form = ["titel": "Vertiefung IT-Grundschutz", "art": "workshop", "ort": "Erfurt", "plaetze": "10", "gebuehr": "45,00",
                    "datum1": futureDay(12), "von1": "09:00", "bis1": "15:00", "pflicht1": "1"]
        let noBudget = try await k.post("/kompetenzzentrum/veranstaltungen", form)
        XCTAssertEqual(noBudget.status, .badRequest)
        XCTAssertTrue(noBudget.text.contains("Haushaltsstelle"))
        form["haushaltsstelle"] = "1.2000.5100"
        let created = try await k.post("/kompetenzzentrum/veranstaltungen", form)
        XCTAssertEqual(created.status, .seeOther, created.text)
        let id = try await XCTUnwrapAsync(try await TrainingEvent.query(on: app.db).first()).requireID()
        let page = try await Browser(app).get("/veranstaltungen/\(id)")
        XCTAssertTrue(page.text.contains("45,00 €"))

        var browsers: [Browser] = []
        for u in [payer, other] {
            let b = Browser(app)
            try await b.login(u)
            try await b.get("/veranstaltungen/\(id)")
            _ = try await b.post("/veranstaltungen/\(id)/anmelden")
            browsers.append(b)
        }
        let confirmation = try await XCTUnwrapAsync(try await OutboxMail.query(on: app.db).filter(\.$recipient == "c@bad-berka.test").first())
        XCTAssertTrue(confirmation.body.contains("Teilnahmegebühr von 45,00 €"))
        let b = browsers[0]
        let mine = try await b.get("/veranstaltungen/meine")
        XCTAssertTrue(mine.text.contains("Gebühr bezahlen") && mine.text.contains("offen"))
        let reg = try await XCTUnwrapAsync(try await EventRegistration.query(on: app.db).filter(\.$email == "c@bad-berka.test").first())
        let start = try await b.post("/anmeldungen/\(reg.requireID())/bezahlen")
        let payPage = try XCTUnwrap(start.headers.first(name: .location))
        XCTAssertTrue(payPage.hasPrefix("/bezahlen/test/"), payPage)
        // somebody else cannot pay (or see) this registration's payment
        let foreign = try await browsers[1].post("/anmeldungen/\(reg.requireID())/bezahlen")
        XCTAssertEqual(foreign.status, .notFound)
        try await b.get(payPage)
        let paid = try await b.post(payPage, ["aktion": "bezahlen"])
        XCTAssertEqual(paid.headers.first(name: .location), "http://127.0.0.1:8080/veranstaltungen/meine?zahlung=1")
        let after = try await b.get("/veranstaltungen/meine")
        XCTAssertTrue(after.text.contains("bezahlt"))
        XCTAssertFalse(after.text.contains("Gebühr bezahlen"))
        let payment = try await XCTUnwrapAsync(try await Payment.query(on: app.db).filter(\.$status == "PAYED").first())
        XCTAssertEqual(payment.tenantARS, "16")
        XCTAssertEqual(payment.amountCents, 4500)
        let item = try await XCTUnwrapAsync(try await PaymentItem.query(on: app.db).filter(\.$paymentID == payment.requireID()).first())
        XCTAssertEqual(item.haushaltsstelle, "1.2000.5100")
        // paying again changes nothing
        try await b.get("/veranstaltungen/meine")
        let again = try await b.post("/anmeldungen/\(reg.requireID())/bezahlen")
        XCTAssertEqual(again.headers.first(name: .location), "/veranstaltungen/meine")
        let payments = try await Payment.query(on: app.db).count()
        XCTAssertEqual(payments, 1)

        // the Land's cash office sees the payment
        let lk = Browser(app)
        try await lk.login(landKasse)
        let cash = try await lk.get("/mandanten/16/kasse")
        XCTAssertEqual(cash.status, .ok)
        XCTAssertTrue(cash.text.contains(payment.kassenzeichen))

        // both attend; only the payer gets the certificate
        for s in try await EventService.sessions(app.db, id) {
            s.startsAt = s.startsAt.addingTimeInterval(-30 * 86400); s.endsAt = s.endsAt.addingTimeInterval(-30 * 86400)
            try await s.save(on: app.db)
        }
        for r in try await EventRegistration.query(on: app.db).filter(\.$eventID == id).all() {
            r.attended = "0"
            try await r.save(on: app.db)
        }
        try await k.get("/kompetenzzentrum/veranstaltungen/\(id)")
        let issue = try await k.post("/kompetenzzentrum/veranstaltungen/\(id)/bescheinigungen")
        XCTAssertEqual(issue.headers.first(name: .location), "/kompetenzzentrum/veranstaltungen/\(id)?ok=bescheinigungen&n=1")
        let certs = try await EventCertificate.query(on: app.db).all().map(\.name)
        XCTAssertEqual(certs, ["Boris Berka"])
    }

    func testReachSummaryOnGeneratedMunicipalities() {
        // 10,000 generated municipalities in 400 Kreise; every 7th reached by an event, every 11th by a visit
        let tenants = (0..<10_000).map { i in Reach.Tenant(ars: String(format: "%05d%07d", i / 25, i), name: "G\(i)", kreisARS: String(format: "%05d", i / 25), kreisName: "K\(i / 25)") }
        let day = Date(timeIntervalSince1970: 1_800_000_000)
        let parts = stride(from: 0, to: 10_000, by: 7).map { i in
            Reach.Participation(tenant: tenants[i].ars, person: UUID(), event: UUID(), date: day, attended: true, certified: i % 2 == 0)
        }
        let contacts = stride(from: 0, to: 10_000, by: 11).map { Reach.Contact(tenant: tenants[$0].ars, date: day.addingTimeInterval(86400)) }
        let s = Reach.summarize(tenants: tenants, participations: parts, contacts: contacts)
        let reachedByRule = (0..<10_000).filter { $0 % 7 == 0 || $0 % 11 == 0 }.count
        XCTAssertEqual(s.reached, reachedByRule)
        XCTAssertEqual(s.kreise.count, 400)
        XCTAssertEqual(s.kreise.map(\.tenants).reduce(0, +), 10_000)
        XCTAssertEqual(s.people, parts.count)
        XCTAssertEqual(s.certificates, parts.filter(\.certified).count)
        XCTAssertEqual(s.tenants[77].lastContact, day.addingTimeInterval(86400), "77 = 7·11: the later of event and visit")
    }
}

/// TT.MM.JJJJ for form input in tests.
enum CalendarDayText {
    static func german(_ iso: String) -> String {
        let p = iso.split(separator: "-")
        return "\(p[2]).\(p[1]).\(p[0])"
    }
}
