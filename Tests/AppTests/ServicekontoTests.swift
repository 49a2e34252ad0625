import Fluent
import XCTVapor
import XCTest
import RathausCore
@testable import App

final class ServicekontoTests: XCTestCase {
    /// A verified citizen account, signed in through the Servicekonto login.
    static func citizen(_ app: Application, _ email: String, kind: AccountKind = .citizen) async throws -> (User, Browser) {
        let u = User(email: email, name: "Person \(email.prefix(4))", passwordHash: try await app.password.async.hash("Sicheres-Passwort-1"))
        u.kind = kind.rawValue; u.role = nil; u.emailVerifiedAt = Date()
        try await u.create(on: app.db)
        let p = Profile.empty(u.id!)
        p.vorname = "Erika"; p.nachname = "Mustermann"; p.geburtsdatum = "1984-08-12"; p.strasse = "Anger"; p.hausnummer = "5"; p.plz = "99084"; p.ort = "Erfurt"
        try await p.create(on: app.db)
        let b = Browser(app)
        try await b.get("/konto/anmelden")
        let r = try await b.post("/konto/anmelden", ["email": email, "passwort": "Sicheres-Passwort-1"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        return (u, b)
    }

    func testPasswordResetLinkWorksOnceAndEndsOtherSessions() async throws {
        let sink = try SMTPSink()
        defer { sink.stop() }
        let app = try await makeTestApp()
        let (_, other) = try await Self.citizen(app, "reset@example.org")
        var r = try await other.get("/konto")
        XCTAssertEqual(r.status, .ok)
        let b = Browser(app)
        try await b.get("/konto/passwort-vergessen")
        r = try await b.post("/konto/passwort-vergessen", ["email": "reset@example.org"])
        XCTAssertTrue(r.text.contains("Wenn zu dieser Adresse ein Servicekonto besteht"))
        let unknown = try await b.post("/konto/passwort-vergessen", ["email": "niemand@example.org"])
        XCTAssertTrue(unknown.text.contains("Wenn zu dieser Adresse ein Servicekonto besteht"), "same answer: accounts are not revealed")
        let sender = SMTPMailSender(host: "127.0.0.1", port: sink.port, from: "rathaus@test.local", heloName: "rathaus", threadPool: app.threadPool)
        try await Outbox.deliverDue(app: app, sender: sender)
        XCTAssertEqual(sink.messages.count, 1, "only the existing account gets a mail")
        let link = try XCTUnwrap(AntragJourneyTests.link("http://127.0.0.1:8080/konto/passwort-neu/", in: SMTPSink.body(sink.messages[0].data)))
        let path = String(link.dropFirst("http://127.0.0.1:8080".count))
        try await b.get(path)
        r = try await b.post(path, ["passwort": "Neues-Passwort-2026", "passwort2": "Anderes-Passwort"])
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("stimmen nicht überein"))
        // the session's "since" is second-precise; make sure the reset is later than the old login
        try await Task.sleep(nanoseconds: 1_100_000_000)
        r = try await b.post(path, ["passwort": "Neues-Passwort-2026", "passwort2": "Neues-Passwort-2026"])
        XCTAssertTrue(r.text.contains("Passwort geändert"), r.text)
        r = try await b.post(path, ["passwort": "Drittes-Passwort-26", "passwort2": "Drittes-Passwort-26"])
        XCTAssertEqual(r.status, .gone, "single use")
        r = try await other.get("/konto")
        XCTAssertEqual(r.status, .seeOther, "the old session ended with the reset")
        let fresh = Browser(app)
        try await fresh.get("/konto/anmelden")
        r = try await fresh.post("/konto/anmelden", ["email": "reset@example.org", "passwort": "Neues-Passwort-2026"])
        XCTAssertEqual(r.status, .seeOther)
        // an expired token is refused
        let u = try await XCTUnwrapAsync(try await User.query(on: app.db).filter(\.$email == "reset@example.org").first())
        let old = try await AccountToken.issue(on: app.db, user: u.id!, purpose: .reset, lifetime: -1)
        r = try await fresh.get("/konto/passwort-neu/\(old)")
        r = try await fresh.post("/konto/passwort-neu/\(old)", ["passwort": "Viertes-Passwort-26", "passwort2": "Viertes-Passwort-26"])
        XCTAssertEqual(r.status, .gone)
    }

    func testAccountsSeeOnlyTheirOwnCases() async throws {
        let app = try await makeTestApp(demo: true)
        let (_, a) = try await Self.citizen(app, "anna@example.org")
        let (_, b) = try await Self.citizen(app, "bert@example.org")
        try await a.get("/onlinedienste/hund-anmelden?ars=160510000000")
        let start = try await a.post("/onlinedienste/hund-anmelden/antrag", ["ars": "160510000000"])
        let draftPath = try XCTUnwrap(start.headers.first(name: .location))
        let id = String(draftPath.split(separator: "/")[2])
        try await b.get("/konto")  // a page with Bert's own form token
        // Bert walks every account route with Anna's ids: nothing but 404 or a redirect to his own login
        for route in app.routes.all where ("/" + route.path.map(\.description).joined(separator: "/")).hasPrefix("/konto/antraege") {
            let path = "/" + route.path.map { c -> String in
                guard case .parameter(let name) = c else { return c.description }
                return name == "id" ? id : name == "step" ? "halter" : UUID().uuidString
            }.joined(separator: "/")
            let r = route.method == .GET ? try await b.get(path) : try await b.postMultipart(path, fields: ["aktion": "weiter", "vorname": "gekapert"], files: [])
            XCTAssertEqual(r.status, .notFound, "\(route.method) \(path)")
        }
        let draft = try await XCTUnwrapAsync(try await Antrag.find(UUID(uuidString: id), on: app.db))
        XCTAssertNil(draft.decodedAnswers()["vorname"], "nothing was written into Anna's draft")
        let page = try await a.get(draftPath)
        XCTAssertEqual(page.status, .ok)
    }

    func testServiceRequiringSubstantialLevelSendsToIdentityProvider() async throws {
        let app = try await makeTestApp(demo: true)
        let (u, c) = try await Self.citizen(app, "id@example.org")
        try await c.get("/onlinedienste/meldebescheinigung?ars=160510000000")
        var r = try await c.post("/onlinedienste/meldebescheinigung/antrag", ["ars": "160510000000"])
        XCTAssertEqual(r.status, .seeOther)
        let idp = try XCTUnwrap(r.headers.first(name: .location))
        XCTAssertTrue(idp.hasPrefix("/konto/identifizieren?niveau=substanziell"), idp)
        r = try await c.get(idp)
        XCTAssertTrue(r.text.contains("Test-Identitätsanbieter"))
        r = try await c.post("/konto/identifizieren", ["anbieter": "test", "niveau": "substanziell", "weiter": "/onlinedienste/meldebescheinigung?ars=160510000000"])
        let hosted = try XCTUnwrap(r.headers.first(name: .location))
        try await c.get(hosted)
        // a forged callback (signature of another level) is refused
        let state = String(hosted.split(separator: "=")[1].split(separator: "&")[0])
        r = try await c.get("/konto/identifizieren/rueckkehr?state=\(state)&niveau=hoch&sub=x&code=\(String(repeating: "0", count: 64))")
        XCTAssertEqual(r.status, .badRequest)
        r = try await c.post("/konto/identifizieren/testanbieter", ["state": state, "niveau": "substanziell"])
        let back = try XCTUnwrap(r.headers.first(name: .location))
        r = try await c.get(back)
        XCTAssertEqual(r.headers.first(name: .location), "/onlinedienste/meldebescheinigung?ars=160510000000")
        let stored = try await XCTUnwrapAsync(try await User.find(u.id, on: app.db))
        XCTAssertEqual(stored.trustLevel, "substanziell")
        try await c.get("/onlinedienste/meldebescheinigung?ars=160510000000")
        r = try await c.post("/onlinedienste/meldebescheinigung/antrag", ["ars": "160510000000"])
        let step = r.headers.first(name: .location) ?? ""
        XCTAssertTrue(step.contains("/schritt/person"), "now the draft starts")
        // sent with this session: the clerk sees the level, when and through whom it was reached
        let id = try XCTUnwrap(step.split(separator: "/").first { UUID(uuidString: String($0)) != nil }.map(String.init))
        let draft = try await XCTUnwrapAsync(try await Antrag.find(UUID(uuidString: id), on: app.db))
        draft.setAnswers(["vorname": .text("Ida"), "nachname": .text("Muster"), "geburtsdatum": .text("1980-01-01"),
                          "anschrift": .record(["strasse": "Anger", "hausnummer": "1", "plz": "99084", "ort": "Erfurt"]),
                          "umfang": .text("einfach"), "zustellung": .text("postfach")])
        try await draft.save(on: app.db)
        // the fee is charged with the decision here, so sending needs no payment first
        let act = try await XCTUnwrapAsync(try await ServiceActivation.of("16051", "meldebescheinigung", on: app.db))
        act.feePolicy = "nach_bescheid"
        try await act.save(on: app.db)
        r = try await c.post("/konto/antraege/\(id)/absenden", [:])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let sent = try await XCTUnwrapAsync(try await Antrag.find(UUID(uuidString: id), on: app.db))
        XCTAssertEqual(sent.status, CaseStatus.received.rawValue, r.headers.first(name: .location) ?? "")
        XCTAssertEqual(sent.trustLevel, "substanziell")
        XCTAssertEqual(sent.identifiedVia, "Test-Identitätsanbieter (nur Demo und Test)")
        XCTAssertNotNil(sent.identifiedAt)
        let clerk = try await createUser(app, email: "sb-id@erfurt.example", role: .clerk, tenant: "16051")
        let office = Browser(app)
        try await office.login(clerk)
        let detail = try await office.get("/mandanten/16051/antraege/\(id)")
        XCTAssertTrue(detail.text.contains("Vertrauensniveau beim Absenden: substanziell") && detail.text.contains("über <span lang=\"de\">Test-Identitätsanbieter"), detail.text)
    }

    func testPrefillOnlyWithConsentAndConsentCanBeWithdrawn() async throws {
        let app = try await makeTestApp(demo: true)
        let (_, c) = try await Self.citizen(app, "prefill@example.org")
        try await c.get("/onlinedienste/hund-anmelden?ars=160510000000")
        var r = try await c.post("/onlinedienste/hund-anmelden/antrag", ["ars": "160510000000"])
        var page = try await c.get(try XCTUnwrap(r.headers.first(name: .location)))
        XCTAssertFalse(page.text.contains("value=\"Mustermann\""), "no consent, no prefill")
        try await c.get("/onlinedienste/hund-anmelden?ars=160510000000")
        r = try await c.post("/onlinedienste/hund-anmelden/antrag", ["ars": "160510000000", "vorausfuellen": "ja"])
        page = try await c.get(try XCTUnwrap(r.headers.first(name: .location)))
        XCTAssertTrue(page.text.contains("value=\"Mustermann\"") && page.text.contains("value=\"Anger\""), page.text)
        r = try await c.get("/konto/profil")
        XCTAssertTrue(r.text.contains("Hund anmelden"))
        r = try await c.post("/konto/einwilligungen/hund-anmelden/widerrufen")
        r = try await c.get("/konto/profil")
        XCTAssertTrue(r.text.contains("keinem Onlinedienst das Vorausfüllen erlaubt"))
        try await c.get("/onlinedienste/hund-anmelden?ars=160510000000")
        r = try await c.post("/onlinedienste/hund-anmelden/antrag", ["ars": "160510000000"])
        page = try await c.get(try XCTUnwrap(r.headers.first(name: .location)))
        XCTAssertFalse(page.text.contains("value=\"Mustermann\""), "withdrawn consent, no prefill")
    }

    func testExportAndDeletionKeepTheOfficesRecords() async throws {
        let app = try await makeTestApp(demo: true)
        let (u, c) = try await Self.citizen(app, "weg@example.org")
        let sent = try await AntragJourneyTests.submittedCase(app)
        sent.applicantID = u.id
        try await sent.save(on: app.db)
        try await c.get("/onlinedienste/hund-anmelden?ars=160510000000")
        _ = try await c.post("/onlinedienste/hund-anmelden/antrag", ["ars": "160510000000"])
        var r = try await c.get("/konto/daten")
        XCTAssertEqual(r.headers.contentType, .json)
        let doc = try r.json()
        XCTAssertEqual((doc["konto"] as? [String: Any])?["email"] as? String, "weg@example.org")
        XCTAssertEqual((doc["antraege"] as? [[String: Any]])?.count, 2)
        try await c.get("/konto/loeschen")
        r = try await c.post("/konto/loeschen", ["bestaetigung": "nein"])
        XCTAssertEqual(r.status, .badRequest)
        r = try await c.post("/konto/loeschen", ["bestaetigung": "LÖSCHEN"])
        XCTAssertTrue(r.text.contains("Konto gelöscht"), r.text)
        let gone = try await User.query(on: app.db).filter(\.$email == "weg@example.org").first()
        XCTAssertNil(gone, "the address is gone")
        let profiles = try await Profile.query(on: app.db).filter(\.$userID == u.id!).count()
        XCTAssertEqual(profiles, 0)
        let drafts = try await Antrag.query(on: app.db).filter(\.$status == Antrag.draft).count()
        XCTAssertEqual(drafts, 0, "drafts are deleted")
        let kept = try await XCTUnwrapAsync(try await Antrag.find(sent.id, on: app.db))
        XCTAssertNil(kept.applicantID, "the submitted case stays with the office, unlinked")
        r = try await c.get("/konto")
        XCTAssertEqual(r.status, .seeOther, "signed out")
    }

    func testBusinessAccountWithMembers() async throws {
        let app = try await makeTestApp()
        let b = Browser(app)
        try await b.get("/konto/registrieren")
        var r = try await b.post("/konto/registrieren", ["kontoart": "unternehmen", "vorname": "Max", "nachname": "Meister", "email": "chef@firma.test",
                                                         "passwort": "Sicheres-Passwort-1", "passwort2": "Sicheres-Passwort-1", "datenschutz": "ja", "firma": ""])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("Namen des Unternehmens"))
        r = try await b.post("/konto/registrieren", ["kontoart": "unternehmen", "vorname": "Max", "nachname": "Meister", "email": "chef@firma.test",
                                                     "passwort": "Sicheres-Passwort-1", "passwort2": "Sicheres-Passwort-1", "datenschutz": "ja",
                                                     "firma": "Meister Bau GmbH", "registernummer": "HRB 1234"])
        XCTAssertEqual(r.status, .ok)
        let owner = try await XCTUnwrapAsync(try await User.query(on: app.db).filter(\.$email == "chef@firma.test").first())
        XCTAssertEqual(owner.kind, "business")
        owner.emailVerifiedAt = Date()
        try await owner.save(on: app.db)
        try await b.get("/konto/anmelden")
        r = try await b.post("/konto/anmelden", ["email": "chef@firma.test", "passwort": "Sicheres-Passwort-1"])
        XCTAssertEqual(r.status, .seeOther)
        let (_, _) = try await Self.citizen(app, "geselle@example.org")
        try await b.get("/konto")
        r = try await b.post("/konto/unternehmen/mitglieder", ["email": "unbekannt@example.org", "rolle": "mitglied"])
        XCTAssertEqual(r.status, .unprocessableEntity)
        r = try await b.post("/konto/unternehmen/mitglieder", ["email": "geselle@example.org", "rolle": "mitglied"])
        XCTAssertEqual(r.status, .seeOther)
        r = try await b.get("/konto")
        XCTAssertTrue(r.text.contains("Meister Bau GmbH (HRB 1234)") && r.text.contains("geselle@example.org"), r.text)
        r = try await b.post("/konto/unternehmen/mitglieder", ["email": "geselle@example.org", "rolle": "mitglied"])
        XCTAssertEqual(r.status, .conflict)
    }

    func testCitizenWithSecondFactor() async throws {
        let app = try await makeTestApp()
        let u = User(email: "totp@example.org", name: "T", passwordHash: try await app.password.async.hash("Sicheres-Passwort-1"))
        u.kind = "citizen"; u.role = nil; u.emailVerifiedAt = Date(); u.totpSecret = TOTP.newSecret(); u.totpEnabled = true
        try await u.create(on: app.db)
        let b = Browser(app)
        try await b.get("/konto/anmelden")
        var r = try await b.post("/konto/anmelden", ["email": "totp@example.org", "passwort": "Sicheres-Passwort-1", "weiter": "/konto/postfach"])
        XCTAssertEqual(r.headers.first(name: .location), "/anmelden/code")
        r = try await b.get("/konto")
        XCTAssertEqual(r.status, .seeOther, "not signed in before the code")
        try await b.get("/anmelden/code")
        r = try await b.post("/anmelden/code", ["code": TOTP.code(secret: u.totpSecret!, step: TOTP.step(at: Date()))!])
        XCTAssertEqual(r.headers.first(name: .location), "/konto/postfach")
        r = try await b.get("/konto/postfach")
        XCTAssertEqual(r.status, .ok)
    }

    func testCitizenTurnsTheSecondFactorOnAndOff() async throws {
        let app = try await makeTestApp()
        let (u, b) = try await Self.citizen(app, "zwei@example.org")
        var r = try await b.get("/konto/sicherheit")
        let secret = try XCTUnwrap(r.text.range(of: "id=\"totp-secret\">").map { String(r.text[$0.upperBound...].prefix { $0 != "<" }) })
        r = try await b.post("/konto/sicherheit", ["code": "000000"])
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("passt nicht zum angezeigten Schlüssel"))
        r = try await b.post("/konto/sicherheit", ["code": TOTP.code(secret: secret, step: TOTP.step(at: Date()))!])
        XCTAssertEqual(r.headers.first(name: .location), "/konto/sicherheit?ok=an")
        let stored = try await XCTUnwrapAsync(try await User.find(u.id, on: app.db))
        XCTAssertTrue(stored.totpEnabled)
        let fresh = Browser(app)
        try await fresh.get("/konto/anmelden")
        r = try await fresh.post("/konto/anmelden", ["email": "zwei@example.org", "passwort": "Sicheres-Passwort-1"])
        XCTAssertEqual(r.headers.first(name: .location), "/anmelden/code", "now the code is asked for")
    }

    func testStaffCannotUseTheCitizenLoginAndCitizensCannotUseStaffPages() async throws {
        let app = try await makeTestApp()
        _ = try await createUser(app, email: "staff@erfurt.test", role: .clerk, tenant: "16051")
        let b = Browser(app)
        try await b.get("/konto/anmelden")
        let r = try await b.post("/konto/anmelden", ["email": "staff@erfurt.test", "passwort": "Passwort-123"])
        XCTAssertEqual(r.status, .unauthorized)
        let (_, c) = try await Self.citizen(app, "bürger@example.org".replacingOccurrences(of: "ü", with: "ue"))
        let staffPage = try await c.get("/mandanten/16051/antraege")
        XCTAssertEqual(staffPage.status, .forbidden)
    }
}
