import Fluent
import XCTVapor
import XCTest
import RathausCore
@testable import App

/// The citizen journey end to end over HTTP: register (mail to a real SMTP sink), find the
/// service, fill a multi-step form with two dogs, upload, send, and the office's side up to the
/// decision in the postbox.
final class AntragJourneyTests: XCTestCase {
    static let erfurt = "160510000000"
    static let weimar = "160550000000"
    static let klettbach = "160715007043"  // in VG Kranichfeld, which has not switched the service on

    func deliver(_ app: Application, _ sink: SMTPSink) async throws {
        let sender = SMTPMailSender(host: "127.0.0.1", port: sink.port, from: "rathaus@test.local", heloName: "rathaus", threadPool: app.threadPool)
        try await Outbox.deliverDue(app: app, sender: sender)
    }

    static func link(_ prefix: String, in mail: String) -> String? {
        guard let r = mail.range(of: prefix) else { return nil }
        let rest = mail[r.lowerBound...]
        return String(rest.prefix { !$0.isWhitespace })
    }

    static let pdf = Data("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".utf8)

    func location(_ res: TestingHTTPResponse) -> String { res.headers.first(name: .location) ?? "" }

    func testCitizenJourneyFromRegistrationToDecision() async throws {
        let sink = try SMTPSink()
        defer { sink.stop() }
        let app = try await makeTestApp(demo: true)

        // 1. Registration with e-mail verification
        let c = Browser(app)
        try await c.get("/konto/registrieren")
        var r = try await c.post("/konto/registrieren", ["kontoart": "privat", "vorname": "Jana", "nachname": "Beispiel", "email": "jana@example.org",
                                                         "passwort": "kurz", "passwort2": "kurz", "datenschutz": "ja"])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("mindestens 10 Zeichen") && r.text.contains("value=\"Jana\""), "German error, answers kept")
        r = try await c.post("/konto/registrieren", ["kontoart": "privat", "vorname": "Jana", "nachname": "Beispiel", "email": "jana@example.org",
                                                     "passwort": "Sicheres-Passwort-1", "passwort2": "Sicheres-Passwort-1", "datenschutz": "ja"])
        XCTAssertEqual(r.status, .ok, r.text)
        try await c.get("/konto/anmelden")
        r = try await c.post("/konto/anmelden", ["email": "jana@example.org", "passwort": "Sicheres-Passwort-1"])
        XCTAssertEqual(r.status, .forbidden, "no login before the address is confirmed")
        XCTAssertTrue(r.text.contains("bestätigen Sie zuerst"))
        try await deliver(app, sink)
        let verifyMail = try XCTUnwrap(sink.messages.first { $0.to == ["<jana@example.org>"] })
        let verifyLink = try XCTUnwrap(Self.link("http://127.0.0.1:8080/konto/bestaetigen/", in: SMTPSink.body(verifyMail.data)))
        let verifyPath = String(verifyLink.dropFirst("http://127.0.0.1:8080".count))
        r = try await c.get(verifyPath)
        XCTAssertTrue(r.text.contains("E-Mail-Adresse bestätigt"), r.text)
        r = try await c.get(verifyPath)
        XCTAssertEqual(r.status, .gone, "a verification link works once")
        try await c.get("/konto/anmelden")
        r = try await c.post("/konto/anmelden", ["email": "jana@example.org", "passwort": "Sicheres-Passwort-1", "weiter": "/konto"])
        XCTAssertEqual(r.status, .seeOther, r.text)

        // 2. Find "Hund anmelden" where the municipality offers it
        let catalogue = try await api(app, .GET, "/api/v1/onlinedienste?ars=\(Self.erfurt)")
        let items = try XCTUnwrap(catalogue.json()["items"] as? [[String: Any]])
        let dog = try XCTUnwrap(items.first { $0["kennung"] as? String == "hund-anmelden" })
        XCTAssertEqual(dog["angeboten"] as? Bool, true)
        XCTAssertEqual(dog["leika"] as? String, "99102013002000")
        r = try await c.get("/onlinedienste/hund-anmelden?ars=\(Self.erfurt)")
        XCTAssertTrue(r.text.contains("Online beantragen ist hier möglich"), r.text)
        r = try await c.post("/onlinedienste/hund-anmelden/antrag", ["ars": Self.erfurt])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let stepURL = location(r)
        XCTAssertTrue(stepURL.hasSuffix("/schritt/halter"), stepURL)
        let base = String(stepURL.dropLast("/schritt/halter".count))
        let draftID = try XCTUnwrap(UUID(uuidString: String(base.split(separator: "/").last ?? "")))

        // 3. Step 1: owner (an error first: nothing is lost)
        try await c.get(stepURL)
        r = try await c.postMultipart(stepURL, fields: ["vorname": "Jana", "nachname": "Beispiel", "geburtsdatum": "31.02.1990",
                                                        "anschrift.strasse": "Fischmarkt", "anschrift.hausnummer": "1", "anschrift.plz": "99084", "anschrift.ort": "Erfurt", "aktion": "weiter"], files: [])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("kein gültiges Datum"), r.text)
        XCTAssertTrue(r.text.contains("value=\"Fischmarkt\""), "the other answers stay")
        r = try await c.postMultipart(stepURL, fields: ["vorname": "Jana", "nachname": "Beispiel", "geburtsdatum": "12.08.1984",
                                                        "anschrift.strasse": "Fischmarkt", "anschrift.hausnummer": "1", "anschrift.plz": "99084", "anschrift.ort": "Erfurt",
                                                        "telefon": "0361 655 0", "aktion": "weiter"], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)
        XCTAssertEqual(location(r), "\(base)/schritt/hunde")

        // 4. Step 2: two dogs (the second added with the "add" button)
        let dog1 = ["hunde.0.name": "Bello", "hunde.0.rasse": "Labrador", "hunde.0.wurfdatum": "01.03.2024", "hunde.0.haltungsbeginn": "01.06.2024",
                    "hunde.0.herkunft": "kauf", "hunde.0.chipnummer": "276098106543210", "hunde.0.gefaehrlich": "nein"]
        try await c.get("\(base)/schritt/hunde")
        r = try await c.postMultipart("\(base)/schritt/hunde", fields: dog1.merging(["hunde.count": "1", "aktion": "add:hunde"]) { a, _ in a }, files: [])
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.text.contains("Hund 2") && r.text.contains("value=\"Bello\""), r.text)
        let dog2 = ["hunde.1.name": "Luna", "hunde.1.rasse": "Mischling", "hunde.1.wurfdatum": "10.01.2025", "hunde.1.haltungsbeginn": "01.04.2025",
                    "hunde.1.herkunft": "tierheim", "hunde.1.gefaehrlich": "nein"]
        r = try await c.postMultipart("\(base)/schritt/hunde", fields: dog1.merging(dog2) { a, _ in a }.merging(["hunde.count": "2", "aktion": "weiter"]) { a, _ in a }, files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)

        // 5. Step 3: a wrong IBAN gets a German error and loses nothing
        try await c.get("\(base)/schritt/steuer")
        r = try await c.postMultipart("\(base)/schritt/steuer", fields: ["lastschrift": "ja", "iban": "DE02 1203 0000 0000 2020 52", "kontoinhaber": "Jana Beispiel", "aktion": "weiter"], files: [])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("Die IBAN bei „IBAN“ ist nicht gültig"), r.text)
        XCTAssertTrue(r.text.contains("value=\"Jana Beispiel\""))
        var saved = try await XCTUnwrapAsync(try await Antrag.find(draftID, on: app.db))
        XCTAssertEqual(saved.decodedAnswers()["kontoinhaber"]?.text, "Jana Beispiel", "answers are saved even when the step has an error")
        XCTAssertEqual(saved.decodedAnswers()["hunde"]?.items.count, 2)
        r = try await c.postMultipart("\(base)/schritt/steuer", fields: ["lastschrift": "ja", "iban": "DE02 1203 0000 0000 2020 51", "kontoinhaber": "Jana Beispiel", "aktion": "weiter"], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)

        // 6. Step 4: a file that lies about its kind, a too-large file, then the real document
        try await c.get("\(base)/schritt/nachweise")
        r = try await c.postMultipart("\(base)/schritt/nachweise", fields: ["bemerkung": "Luna ist scheu.", "aktion": "weiter"],
                                      files: [("nachweis", "kaufvertrag.pdf", Data("MZ\u{90}\u{0}Dies ist kein PDF".utf8))])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("ist keine zugelassene Datei") && r.text.contains("der Inhalt ist aber kein PDF"), r.text)
        XCTAssertTrue(r.text.contains("Luna ist scheu."), "the remark typed on the same page stays")
        var big = Self.pdf
        big.append(Data(repeating: 0x20, count: 5 * 1024 * 1024 + 10))
        r = try await c.postMultipart("\(base)/schritt/nachweise", fields: ["bemerkung": "Luna ist scheu.", "aktion": "weiter"], files: [("nachweis", "gross.pdf", big)])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("ist zu groß: höchstens 5 MB"), r.text)
        saved = try await XCTUnwrapAsync(try await Antrag.find(draftID, on: app.db))
        XCTAssertEqual(saved.decodedAnswers()["bemerkung"]?.text, "Luna ist scheu.")
        XCTAssertEqual(saved.decodedAnswers()["hunde"]?.items.count, 2, "earlier steps untouched")
        let filesSoFar = try await AntragFile.query(on: app.db).count()
        XCTAssertEqual(filesSoFar, 0, "refused files are not kept")
        r = try await c.postMultipart("\(base)/schritt/nachweise", fields: ["bemerkung": "Luna ist scheu.", "aktion": "weiter"], files: [("nachweis", "kaufvertrag.pdf", Self.pdf)])
        XCTAssertEqual(r.status, .seeOther, r.text)
        XCTAssertEqual(location(r), "\(base)/pruefen")

        // 7. Summary and a double send
        r = try await c.get("\(base)/pruefen")
        XCTAssertTrue(r.text.contains("Bello") && r.text.contains("Luna") && r.text.contains("DE02 1203 0000 0000 2020 51") && r.text.contains("kaufvertrag.pdf"), r.text)
        let send1 = try await c.post("\(base)/absenden", ["benachrichtigung": "email"])
        let send2 = try await c.post("\(base)/absenden", ["benachrichtigung": "email"])
        XCTAssertEqual(send1.status, .seeOther)
        XCTAssertEqual(send2.status, .seeOther)
        let sent = try await Antrag.query(on: app.db).filter(\.$reference != nil).all()
        XCTAssertEqual(sent.count, 1, "a double send creates one submission")
        let reference = try XCTUnwrap(sent.first?.reference)
        XCTAssertTrue(reference.hasPrefix("TH-2026-") || reference.hasPrefix("TH-20"), reference)
        r = try await c.get(location(send1))
        XCTAssertTrue(r.text.contains("Ihr Antrag ist eingegangen") && r.text.contains(reference), r.text)
        try await deliver(app, sink)
        XCTAssertTrue(sink.messages.contains { SMTPSink.body($0.data).contains("Aktenzeichen: \(reference)") }, "confirmation mail")

        // 8. The clerk of Erfurt sees it; a clerk of another municipality sees nothing of it
        let clerk = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let k = Browser(app)
        try await k.login(clerk)
        r = try await k.get("/mandanten/16051/antraege")
        XCTAssertTrue(r.text.contains(reference) && r.text.contains("Jana Beispiel"), r.text)
        r = try await k.get("/mandanten/16051/antraege?q=beispiel&dienst=hund-anmelden&status=eingegangen")
        XCTAssertTrue(r.text.contains(reference))
        r = try await k.get("/mandanten/16051/antraege?status=abgelehnt")
        XCTAssertFalse(r.text.contains(reference))
        let caseURL = "/mandanten/16051/antraege/\(draftID)"
        r = try await k.get(caseURL)
        XCTAssertTrue(r.text.contains("Bello") && r.text.contains("Luna") && r.text.contains("kaufvertrag.pdf"), r.text)
        let other = try await createUser(app, email: "sb@gera.test", role: .clerk, tenant: "16052")
        let o = Browser(app)
        try await o.login(other)
        r = try await o.get("/mandanten/16052/antraege")
        XCTAssertFalse(r.text.contains(reference))
        r = try await o.get("/mandanten/16052/antraege/\(draftID)")
        XCTAssertEqual(r.status, .notFound)
        r = try await o.get(caseURL)
        XCTAssertEqual(r.status, .forbidden)

        // downloads for specialist software
        r = try await k.get("\(caseURL)/antrag.json")
        XCTAssertTrue(r.text.contains("\"aktenzeichen\" : \"\(reference)\"") && r.text.contains("Luna"), r.text)
        r = try await k.get("\(caseURL)/antrag.xml")
        XCTAssertTrue(r.text.contains("<Antrag xmlns=\"urn:rathaus:antrag:1\"") && r.text.contains("<Gruppe feld=\"hunde\">"), r.text)

        // 9. Question to the citizen, answer from the postbox
        r = try await k.postMultipart("\(caseURL)/status", fields: ["ziel": "in_bearbeitung"], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await k.get(caseURL)
        r = try await k.postMultipart("\(caseURL)/status", fields: ["ziel": "rueckfrage", "text": ""], files: [])
        XCTAssertEqual(r.status, .conflict, "a query needs a text")
        r = try await k.postMultipart("\(caseURL)/status", fields: ["ziel": "rueckfrage", "text": "Bitte nennen Sie die Chipnummer von Luna."], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await c.get("/konto/postfach")
        XCTAssertTrue(r.text.contains("Rückfrage") && r.text.contains("ungelesen"), r.text)
        let query = try await XCTUnwrapAsync(try await PostboxMessage.query(on: app.db).filter(\.$kind == "rueckfrage").first())
        r = try await c.get("/konto/postfach/\(query.id!)")
        XCTAssertTrue(r.text.contains("Chipnummer von Luna"), r.text)
        r = try await c.postMultipart("/konto/postfach/\(query.id!)/antwort", fields: ["text": "Die Chipnummer ist 276098106543211."], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)
        var stored = try await XCTUnwrapAsync(try await Antrag.find(draftID, on: app.db))
        XCTAssertEqual(stored.status, "in_bearbeitung", "the answer brings the case back")
        r = try await k.get(caseURL)
        XCTAssertTrue(r.text.contains("276098106543211") && r.text.contains("gelesen am"), "reply and read receipt visible to the office")

        // 10. Decision with a document
        let decision = Data("%PDF-1.7\nBescheid Hundesteuer\n%%EOF\n".utf8)
        r = try await k.postMultipart("\(caseURL)/status", fields: ["ziel": "abgeschlossen", "text": "Die Hunde sind angemeldet; der Steuerbescheid liegt bei."],
                                      files: [("datei", "bescheid.pdf", decision)])
        XCTAssertEqual(r.status, .seeOther, r.text)
        stored = try await XCTUnwrapAsync(try await Antrag.find(draftID, on: app.db))
        XCTAssertEqual(stored.status, "abgeschlossen")
        let bescheid = try await XCTUnwrapAsync(try await PostboxMessage.query(on: app.db).filter(\.$kind == "bescheid").first())
        r = try await c.get("/konto/postfach/\(bescheid.id!)")
        XCTAssertTrue(r.text.contains("bescheid.pdf") && r.text.contains("Steuerbescheid liegt bei"), r.text)
        let docRow = try await XCTUnwrapAsync(try await AntragFile.query(on: app.db).filter(\.$name == "bescheid.pdf").first())
        r = try await c.get("/konto/antraege/\(draftID)/dateien/\(docRow.id!)")
        XCTAssertEqual(r.status, .ok)
        XCTAssertEqual(Data(r.body.readableBytesView), decision)
        r = try await o.get("\(caseURL)/dateien/\(docRow.id!)")
        XCTAssertNotEqual(r.status, .ok)
        try await deliver(app, sink)
        XCTAssertTrue(sink.messages.contains { $0.to == ["<jana@example.org>"] && SMTPSink.body($0.data).contains("neue Nachricht") }, "mail about news (content stays in the postbox)")

        // every change is in the audit trail
        let actions = try await AuditEntry.query(on: app.db).filter(\.$objectID == reference).all().map(\.action)
        XCTAssertEqual(actions.filter { $0 == "antrag.status" }.count, 4)
        XCTAssertTrue(actions.contains("antrag.submit"))
    }

    func testGuestAppliesWithAOneTimeLink() async throws {
        let sink = try SMTPSink()
        defer { sink.stop() }
        let app = try await makeTestApp(demo: true)
        // Weimar offers special use without online payment (Erfurt collects the fee first)
        let g = Browser(app)
        var r = try await g.get("/onlinedienste/sondernutzung?ars=\(Self.weimar)")
        XCTAssertTrue(r.text.contains("Ohne Servicekonto beantragen"), r.text)
        r = try await g.post("/onlinedienste/sondernutzung/gast", ["ars": Self.weimar, "email": "kein-at"])
        XCTAssertEqual(r.status, .unprocessableEntity)
        r = try await g.post("/onlinedienste/gewerbeanmeldung/gast", ["ars": Self.weimar, "email": "gast@firma.test"])
        XCTAssertEqual(r.status, .forbidden, "services without guest access need an account")
        r = try await g.post("/onlinedienste/sondernutzung/gast", ["ars": Self.weimar, "email": "gast@firma.test"])
        XCTAssertEqual(r.status, .seeOther)
        try await deliver(app, sink)
        let mail = SMTPSink.body(try XCTUnwrap(sink.messages.last).data)
        let link = try XCTUnwrap(Self.link("http://127.0.0.1:8080/antraege/gast/", in: mail))
        let path = String(link.dropFirst("http://127.0.0.1:8080".count))
        r = try await g.get(path)
        XCTAssertEqual(r.status, .seeOther)
        let resume = location(r)
        let id = String(resume.split(separator: "/")[2])
        r = try await g.get(path)
        XCTAssertEqual(r.status, .gone, "the link works once")
        let stranger = Browser(app)
        r = try await stranger.get("/konto/antraege/\(id)/schritt/antragsteller")
        XCTAssertEqual(r.status, .seeOther, "without the link's session: to the login")
        let base = "/konto/antraege/\(id)"
        try await g.get("\(base)/schritt/antragsteller")
        r = try await g.postMultipart("\(base)/schritt/antragsteller", fields: ["name": "Gerüstbau Muster GmbH", "anschrift.strasse": "Weg", "anschrift.hausnummer": "2",
                                                                              "anschrift.plz": "99086", "anschrift.ort": "Erfurt", "telefon": "0361 1234", "email": "gast@firma.test", "aktion": "weiter"], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let today = Date()
        let f = DateFormatter(); f.dateFormat = "dd.MM.yyyy"; f.timeZone = TimeZone(identifier: "Europe/Berlin")
        let begin = f.string(from: today.addingTimeInterval(10 * 86400)), end = f.string(from: today.addingTimeInterval(16 * 86400))
        try await g.get("\(base)/schritt/nutzung")
        r = try await g.postMultipart("\(base)/schritt/nutzung", fields: ["art": "geruest", "ort.strasse": "Anger", "ort.hausnummer": "7", "ort.plz": "99084", "ort.ort": "Erfurt",
                                                                         "flaeche": "12,5", "beginn": end, "ende": begin, "tage": "7", "aktion": "weiter"],
                                      files: [("lageplan", "plan.png", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]))])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("darf nicht vor „Beginn“"), r.text)
        XCTAssertTrue(r.text.contains("plan.png"), "the accepted upload is kept while the dates are fixed")
        r = try await g.postMultipart("\(base)/schritt/nutzung", fields: ["art": "geruest", "ort.strasse": "Anger", "ort.hausnummer": "7", "ort.plz": "99084", "ort.ort": "Erfurt",
                                                                         "flaeche": "12,5", "beginn": begin, "ende": end, "tage": "7", "aktion": "weiter"], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await g.get("\(base)/pruefen")
        XCTAssertTrue(r.text.contains("43,75"), "fee from the formula: max(25 €, 12,5 m² × 7 Tage × 0,50 €)")
        r = try await g.post("\(base)/absenden")
        XCTAssertEqual(r.status, .seeOther)
        r = try await g.get(location(r))
        XCTAssertTrue(r.text.contains("Ihr Antrag ist eingegangen"), r.text)
        let stored = try await XCTUnwrapAsync(try await Antrag.find(UUID(uuidString: id), on: app.db))
        XCTAssertNil(stored.applicantID)
        XCTAssertEqual(stored.feeCents, 4375)
        // guests have no postbox: the office's query reaches them with its text by mail
        try await AntragService.transition(stored, to: .inProgress, by: .office, text: nil, app: app, actor: "test", actorID: nil, senderName: "Amt")
        try await AntragService.transition(stored, to: .query, by: .office, text: "Bitte Statik des Gerüsts nachreichen.", app: app, actor: "test", actorID: nil, senderName: "Amt")
        try await deliver(app, sink)
        XCTAssertTrue(sink.messages.contains { SMTPSink.body($0.data).contains("Bitte Statik des Gerüsts nachreichen.") })
    }

    func testInactiveMunicipalityPointsToTheOffice() async throws {
        let app = try await makeTestApp(demo: true)
        let r = try await app.testable().sendRequest(.GET, "/onlinedienste/hund-anmelden?ars=\(Self.klettbach)")
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.text.contains("bietet diesen Dienst nicht online an"), r.text)
        XCTAssertTrue(r.text.contains("Kranichfeld (Demo)"), "the office to go to")
        let list = try await api(app, .GET, "/api/v1/onlinedienste?ars=\(Self.klettbach)")
        let items = try XCTUnwrap(list.json()["items"] as? [[String: Any]])
        XCTAssertTrue(items.allSatisfy { $0["angeboten"] as? Bool == false })
        XCTAssertTrue(items.contains { ($0["behoerde"] as? String ?? "").contains("Kranichfeld") })
        // starting anyway is refused
        let hash = try await app.password.async.hash("Sicheres-Passwort-1")
        let u = User(email: "k@example.org", name: "K", passwordHash: hash)
        u.kind = "citizen"; u.role = nil; u.emailVerifiedAt = Date()
        try await u.create(on: app.db)
        let b = Browser(app)
        try await b.get("/konto/anmelden")
        _ = try await b.post("/konto/anmelden", ["email": "k@example.org", "passwort": "Sicheres-Passwort-1"])
        try await b.get("/onlinedienste/hund-anmelden?ars=\(Self.klettbach)")
        let start = try await b.post("/onlinedienste/hund-anmelden/antrag", ["ars": Self.klettbach])
        XCTAssertEqual(start.status, .conflict)
        XCTAssertTrue(start.text.contains("nicht online angeboten"))
    }

    func testSpecialistSoftwareFetchesAcknowledgesAndAnswers() async throws {
        let app = try await makeTestApp(demo: true)
        let a = try await Self.submittedCase(app)
        let token = try await createToken(app, tenant: "16051", scopes: [.antraege])
        let none = try await api(app, .GET, "/api/v1/antraege")
        XCTAssertEqual(none.status, .unauthorized)
        let wrongScope = try await createToken(app, tenant: "16051", scopes: [.rechnungen])
        let refused = try await api(app, .GET, "/api/v1/antraege", token: wrongScope)
        XCTAssertEqual(refused.status, .forbidden)
        let foreign = try await createToken(app, tenant: "16052", scopes: [.antraege])
        let hidden = try await api(app, .GET, "/api/v1/antraege/\(a.id!)", token: foreign)
        XCTAssertEqual(hidden.status, .notFound)
        var list = try await api(app, .GET, "/api/v1/antraege?neu=true", token: token)
        XCTAssertEqual((try list.json()["items"] as? [[String: Any]])?.count, 1)
        let one = try await api(app, .GET, "/api/v1/antraege/\(a.id!)", token: token)
        XCTAssertEqual(try one.json()["aktenzeichen"] as? String, a.reference)
        let xml = try await api(app, .GET, "/api/v1/antraege/\(a.id!)/xml", token: token)
        XCTAssertTrue(xml.text.contains("<Aktenzeichen>\(a.reference!)</Aktenzeichen>"))
        let ack1 = try await api(app, .POST, "/api/v1/antraege/\(a.id!)/empfangen", token: token)
        let ack2 = try await api(app, .POST, "/api/v1/antraege/\(a.id!)/empfangen", token: token)
        XCTAssertEqual(ack1.status, .ok)
        XCTAssertEqual(ack2.status, .ok, "idempotent")
        list = try await api(app, .GET, "/api/v1/antraege?neu=true", token: token)
        XCTAssertEqual((try list.json()["items"] as? [[String: Any]])?.count, 0)
        var s = try await api(app, .POST, "/api/v1/antraege/\(a.id!)/status", token: token, json: #"{"status":"abgeschlossen"}"#)
        XCTAssertEqual(s.status, .conflict, "eingegangen → abgeschlossen skips the work")
        XCTAssertTrue(s.text.contains("kann nicht auf"), s.text)
        s = try await api(app, .POST, "/api/v1/antraege/\(a.id!)/status", token: token, json: #"{"status":"fantasie"}"#)
        XCTAssertEqual(s.status, .badRequest)
        s = try await api(app, .POST, "/api/v1/antraege/\(a.id!)/status", token: token, json: #"{"status":"in_bearbeitung"}"#)
        XCTAssertEqual(s.status, .ok, s.text)
        s = try await api(app, .POST, "/api/v1/antraege/\(a.id!)/status", token: token, json: #"{"status":"abgelehnt"}"#)
        XCTAssertEqual(s.status, .conflict, "a rejection needs a reason")
        s = try await api(app, .POST, "/api/v1/antraege/\(a.id!)/status", token: token, json: "{nope")
        XCTAssertEqual(s.status, .badRequest)
        let check = try await api(app, .POST, "/api/v1/onlinedienste/hund-anmelden/pruefen", json: #"{"vorname":"A","iban":"DE00"}"#)
        XCTAssertEqual(check.status, .ok)
        XCTAssertEqual(try check.json()["gueltig"] as? Bool, false)
    }

    func testParallelSendsOfOneDraftAssignOneReference() async throws {
        let app = try await makeTestApp(demo: true)
        let v = try await XCTUnwrapAsync(try await OnlineServiceCatalogue.latest("meldebescheinigung", on: app.db))
        let d = try v.decoded()
        var ids: [UUID] = []
        for i in 0..<3 {
            let a = Antrag()
            a.tenantARS = "16051"; a.tenantName = "Erfurt"; a.slug = v.slug; a.version = v.version; a.serviceTitle = d.title.de
            a.applicantName = "P\(i)"; a.applicantEmail = "p\(i)@example.org"; a.officeName = "Bürgeramt"; a.status = Antrag.draft
            a.setAnswers(["vorname": .text("P"), "nachname": .text("\(i)"), "geburtsdatum": .text("1980-01-01"),
                          "anschrift": .record(["strasse": "Anger", "hausnummer": "1", "plz": "99084", "ort": "Erfurt"]),
                          "umfang": .text("einfach"), "zustellung": .text("postfach")])
            a.feeCents = 0; a.notifyByEmail = false; a.assigneeName = ""; a.createdAt = Date(); a.updatedAt = Date()
            try await a.create(on: app.db)
            ids.append(a.id!)
        }
        // the same draft sent four times at once, and two other drafts alongside
        let results = try await withThrowingTaskGroup(of: (UUID, String).self) { group in
            for id in [ids[0], ids[0], ids[0], ids[0], ids[1], ids[2]] {
                group.addTask { let r = try await AntragService.submit(id, definition: d, activation: nil, app: app, actor: "test", actorID: nil); return (id, r.reference ?? "") }
            }
            var out: [(UUID, String)] = []
            for try await r in group { out.append(r) }
            return out
        }
        XCTAssertEqual(Set(results.filter { $0.0 == ids[0] }.map(\.1)).count, 1, "one reference for one draft")
        XCTAssertEqual(Set(results.map(\.1)).count, 3, "three drafts, three references")
        let submits = try await AuditEntry.query(on: app.db).filter(\.$action == "antrag.submit").count()
        XCTAssertEqual(submits, 3)
        let mails = try await PostboxMessage.query(on: app.db).filter(\.$kind == "eingang").count()
        XCTAssertEqual(mails, 3, "one confirmation per submission")
    }

    /// A case submitted through the service layer (the HTTP journey is tested above).
    static func submittedCase(_ app: Application, tenant: String = "16051") async throws -> Antrag {
        let v = try await XCTUnwrapAsync(try await OnlineServiceCatalogue.latest("meldebescheinigung", on: app.db))
        let d = try v.decoded()
        let a = Antrag()
        a.tenantARS = tenant; a.tenantName = "Erfurt"; a.slug = v.slug; a.version = v.version; a.serviceTitle = d.title.de
        a.applicantName = "Max Muster"; a.applicantEmail = "max@example.org"; a.officeName = "Bürgeramt Erfurt (Demo)"; a.status = Antrag.draft
        a.setAnswers(["vorname": .text("Max"), "nachname": .text("Muster"), "geburtsdatum": .text("1980-01-01"),
                      "anschrift": .record(["strasse": "Anger", "hausnummer": "1", "plz": "99084", "ort": "Erfurt"]),
                      "umfang": .text("einfach"), "zustellung": .text("postfach")])
        a.feeCents = 0; a.notifyByEmail = false; a.assigneeName = ""; a.createdAt = Date(); a.updatedAt = Date()
        try await a.create(on: app.db)
        return try await AntragService.submit(a.id!, definition: d, activation: nil, app: app, actor: "test", actorID: nil)
    }
}

final class InboxTests: XCTestCase {
    func testAssignAndFilterByAssigneeAndDate() async throws {
        let app = try await makeTestApp(demo: true)
        let one = try await AntragJourneyTests.submittedCase(app)
        let two = try await AntragJourneyTests.submittedCase(app)
        let clerk = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let other = try await createUser(app, email: "sb2@erfurt.test", role: .clerk, tenant: "16051")
        let foreign = try await createUser(app, email: "sb@gera.test", role: .clerk, tenant: "16052")
        let k = Browser(app)
        try await k.login(clerk)
        try await k.get("/mandanten/16051/antraege/\(one.id!)")
        var r = try await k.post("/mandanten/16051/antraege/\(one.id!)/zuweisen", ["bearbeiter": clerk.id!.uuidString])
        XCTAssertEqual(r.status, .seeOther)
        r = try await k.post("/mandanten/16051/antraege/\(two.id!)/zuweisen", ["bearbeiter": foreign.id!.uuidString])
        XCTAssertEqual(r.status, .badRequest, "only colleagues of the same tenant")
        r = try await k.post("/mandanten/16051/antraege/\(two.id!)/zuweisen", ["bearbeiter": other.id!.uuidString])
        r = try await k.get("/mandanten/16051/antraege?zugewiesen=ich")
        XCTAssertTrue(r.text.contains(one.reference!) && !r.text.contains(two.reference!), r.text)
        r = try await k.get("/mandanten/16051/antraege?zugewiesen=\(other.id!.uuidString)")
        XCTAssertTrue(r.text.contains(two.reference!) && !r.text.contains(one.reference!))
        let f = DateFormatter(); f.dateFormat = "dd.MM.yyyy"; f.timeZone = TimeZone(identifier: "Europe/Berlin")
        r = try await k.get("/mandanten/16051/antraege?von=\(f.string(from: Date()))&bis=\(f.string(from: Date()))&sortierung=aelteste")
        XCTAssertTrue(r.text.contains(one.reference!) && r.text.contains(two.reference!))
        let oneAt = r.text.range(of: one.reference!)!.lowerBound, twoAt = r.text.range(of: two.reference!)!.lowerBound
        XCTAssertLessThan(oneAt, twoAt, "oldest first")
        r = try await k.get("/mandanten/16051/antraege?bis=01.01.2020")
        XCTAssertFalse(r.text.contains(one.reference!))
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action == "antrag.assign").count()
        XCTAssertEqual(audit, 2)
    }
}
