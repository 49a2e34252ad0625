import Fluent
import XCTVapor
import XCTest
@testable import App

/// Issue 14: the resident's way in over HTTP — the finder leads to the online service, places by
/// name or postcode, the residents' start page, the legal pages and their editors.
final class CitizenQualityTests: XCTestCase {
    /// Every shipped service is reachable from the finder by its everyday name and a typo of it,
    /// with its online offer at a place that switched it on (Erfurt in the demo data).
    func testEveryShippedServiceIsReachableFromTheFinder() async throws {
        let app = try await makeTestApp(demo: true)
        let everyday: [(slug: String, queries: [String])] = [
            ("hund-anmelden", ["Hund anmelden", "Hunt anmelden", "Hundesteuer"]),
            ("bewohnerparkausweis", ["Bewohnerparkausweis", "Anwohnerparkausweis", "Bewohnerparkausweiss"]),
            ("gewerbeanmeldung", ["Gewerbe anmelden", "Gewerbeanmeldng"]),
            ("meldebescheinigung", ["Meldebescheinigung", "Meldebescheinigng"]),
            ("sondernutzung", ["Sondernutzung", "Tische vor dem Café aufstellen", "Sondernutzungserlaubnis"]),
        ]
        let b = Browser(app)
        for (slug, queries) in everyday {
            for q in queries {
                let path = "/finder?leistung=\(q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&ort=Erfurt"
                let r = try await b.get(path)
                XCTAssertEqual(r.status, .ok)
                XCTAssertTrue(r.text.contains("/onlinedienste/\(slug)?ars=160510000000"), "\(q) → kein Link auf \(slug)")
            }
        }
        // the "no online service" note is not printed under an offered service
        let dog = try await b.get("/finder?leistung=Hund%20anmelden&ort=Erfurt")
        XCTAssertFalse(dog.text.contains("noch keinen Onlinedienst"), dog.text)
        // Hundesteuer and Hundehaltung together, each with its online offer
        XCTAssertTrue(dog.text.contains("Hundesteuer") && dog.text.contains("Hundehaltung Anmeldung"))
        // where the service is not switched on, the note is there and no button
        let elsewhere = try await b.get("/finder?leistung=Hund%20anmelden&ort=Gera")
        XCTAssertTrue(elsewhere.text.contains("noch keinen Onlinedienst"))
        XCTAssertFalse(elsewhere.text.contains("/onlinedienste/hund-anmelden"))
    }

    func testServicePageAsksForThePlaceByNameOrPostcode() async throws {
        let app = try await makeTestApp(demo: true)
        let b = Browser(app)
        var r = try await b.get("/onlinedienste/hund-anmelden?ort=Erfurt")
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.text.contains("Online beantragen ist hier möglich"), r.text)
        XCTAssertTrue(r.text.contains("ars%3D160510000000"), "the key travels on to the login and the application")
        XCTAssertFalse(r.text.contains("Regionalschlüssel Ihres Wohnorts"), "no 12-digit key asked of people")
        r = try await b.get("/onlinedienste/hund-anmelden?ort=99084")
        XCTAssertTrue(r.text.contains("Online beantragen ist hier möglich"), "postcode")
        r = try await b.get("/onlinedienste/hund-anmelden?ort=99438")
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.text.contains("href=\"?ars=") && r.text.contains("Bad Berka"), "several places: a choice, never a guess")
        r = try await b.get("/onlinedienste/hund-anmelden?ort=Atlantis")
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("keine Thüringer Gemeinde bekannt") && r.text.contains("value=\"Atlantis\""), "German error, input kept")
        r = try await b.get("/onlinedienste?ort=Erfurt")
        XCTAssertTrue(r.text.contains("Erfurt") && r.text.contains("/onlinedienste/hund-anmelden?ars=160510000000"))
    }

    func testStartPageIsTheResidentsDoor() async throws {
        let app = try await makeTestApp(demo: true)
        let b = Browser(app)
        var r = try await b.get("/")
        XCTAssertTrue(r.text.contains("action=\"/finder\"") && r.text.contains("/konto/anmelden") && r.text.contains("Stand meiner Anträge"))
        XCTAssertFalse(r.text.contains("openapi.json\">Programmierschnittstelle") && r.text.contains("Gemeinden</li>"), "provider figures moved")
        r = try await b.get("/?ort=Erfurt")
        XCTAssertTrue(r.text.contains("Onlinedienste für Erfurt"), r.text)
        XCTAssertEqual(r.text.components(separatedBy: "<h3><a href=\"/onlinedienste/").count - 1, HomeController.tiles, "the six most used services offered there")
        // the most used service of the place comes first: one submitted application moves it up
        let a = Antrag()
        a.tenantARS = "16051"; a.tenantName = "Erfurt"; a.slug = "wohngeld"; a.version = 1; a.serviceTitle = "Wohngeld"; a.applicantName = "x"
        a.applicantEmail = "x@example.org"; a.officeName = "x"; a.status = "eingegangen"; a.setAnswers([:]); a.feeCents = 0; a.notifyByEmail = false
        a.assigneeName = ""; a.createdAt = Date(); a.updatedAt = Date()
        try await a.create(on: app.db)
        r = try await b.get("/?ort=Erfurt")
        let first = r.text.range(of: "<ul class=\"cards\">").map { String(r.text[$0.upperBound...].prefix(300)) } ?? ""
        XCTAssertTrue(first.contains("/onlinedienste/wohngeld?ars=160510000000"), first)
        r = try await b.get("/?ort=Atlantis")
        XCTAssertEqual(r.status, .unprocessableEntity)
        r = try await b.get("/ueber")
        XCTAssertTrue(r.text.contains("Mitglieder") && r.text.contains("/gebiete"))
        // the language switch returns to the same page with the same search
        r = try await b.get("/finder?leistung=Hund&ort=Erfurt")
        XCTAssertTrue(r.text.contains("/sprache/en?zurueck=%2Ffinder%3Fleistung%3DHund%26ort%3DErfurt"), r.text)
        r = try await b.get("/sprache/en?zurueck=%2Ffinder%3Fleistung%3DHund%26ort%3DErfurt")
        XCTAssertEqual(r.headers.first(name: .location), "/finder?leistung=Hund&ort=Erfurt")
        // English pages: fees, trust levels and opening hours in English, also with a session
        for _ in 0..<3 {
            r = try await b.get("/onlinedienste/briefwahl?ars=160510000000&lang=en")
            XCTAssertTrue(r.text.contains("no fee") && !r.text.contains("keine Gebühr"), r.text)
            XCTAssertTrue(r.text.contains("basic registration"))
        }
        r = try await b.get("/onlinedienste/geburtsurkunde?lang=en")
        XCTAssertTrue(r.text.contains("calculated from your answers"))
    }

    func testLegalPagesTheirEditorsAndTheAccessibilityFeedback() async throws {
        let app = try await makeTestApp(demo: true)
        let visitor = Browser(app)
        for path in ["/impressum", "/datenschutz", "/barrierefreiheit", "/leichte-sprache", "/gebaerdensprache"] {
            let r = try await visitor.get(path)
            XCTAssertEqual(r.status, .ok, path)
            XCTAssertTrue(r.text.contains("Demo"), "\(path): the built-in text is marked as demo")
        }
        let home = try await visitor.get("/")
        for link in ["/impressum", "/datenschutz", "/barrierefreiheit", "/leichte-sprache", "/gebaerdensprache"] {
            XCTAssertTrue(home.text.contains("href=\"\(link)"), "footer links \(link)")
        }
        let statement = try await visitor.get("/barrierefreiheit")
        XCTAssertTrue(statement.text.contains("Durchsetzungsverfahren"))

        // feedback: empty is refused in German, a real one is stored, audited and mailed
        var r = try await visitor.post("/barrierefreiheit/rueckmeldung", ["nachricht": "  ", "seite": "/finder"])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("Bitte beschreiben Sie die Barriere"))
        r = try await visitor.post("/barrierefreiheit/rueckmeldung", ["nachricht": "Der Kontrast der Knöpfe ist zu schwach.", "seite": "/finder", "kontakt": "a@b.de"])
        XCTAssertEqual(r.status, .seeOther)
        let stored1 = try await AccessibilityFeedback.query(on: app.db).count()
        XCTAssertEqual(stored1, 1)
        let mails = try await OutboxMail.query(on: app.db).filter(\.$subject == "Rückmeldung zur Barrierefreiheit").count()
        XCTAssertEqual(mails, 1)
        r = try await visitor.post("/barrierefreiheit/rueckmeldung", ["nachricht": "x", "seite": "//evil.example"])
        let stored = try await AccessibilityFeedback.query(on: app.db).filter(\.$message == "x").first()
        XCTAssertEqual(stored?.page, "", "only local paths are kept")

        // the operator writes the installation's Impressum; a tenant admin writes the tenant's
        let op = try await createUser(app, email: "betrieb@test.de", role: .operator, tenant: nil)
        let o = Browser(app)
        try await o.login(op)
        r = try await o.get("/betrieb/rechtstexte?art=impressum")
        XCTAssertEqual(r.status, .ok)
        r = try await o.post("/betrieb/rechtstexte", ["art": "impressum", "sprache": "de", "text": "## Anbieter\n\nKommunaler IT-Dienstleister Thüringen"])
        XCTAssertEqual(r.status, .seeOther)
        r = try await visitor.get("/impressum")
        XCTAssertTrue(r.text.contains("Kommunaler IT-Dienstleister Thüringen") && !r.text.contains("Platzhalter"))
        r = try await o.post("/betrieb/rechtstexte", ["art": "impressum", "sprache": "de", "text": ""])
        XCTAssertEqual(r.status, .badRequest)
        r = try await o.post("/mandanten/16051/rechtstexte", ["art": "impressum", "sprache": "de", "text": "x"])
        XCTAssertEqual(r.status, .forbidden, "a municipality's texts are its own")
        let admin = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let a = Browser(app)
        try await a.login(admin)
        r = try await a.post("/mandanten/16051/rechtstexte", ["art": "datenschutz", "sprache": "de", "text": "Verantwortlich: Stadt Erfurt"])
        XCTAssertEqual(r.status, .seeOther)
        let own = try await visitor.get("/datenschutz?mandant=16051")
        XCTAssertTrue(own.text.contains("Verantwortlich: Stadt Erfurt"))
        let installation = try await visitor.get("/datenschutz")
        XCTAssertFalse(installation.text.contains("Verantwortlich: Stadt Erfurt"))
        r = try await a.post("/betrieb/rechtstexte", ["art": "impressum", "sprache": "de", "text": "x"])
        XCTAssertEqual(r.status, .forbidden)
        r = try await a.post("/mandanten/16052/rechtstexte", ["art": "impressum", "sprache": "de", "text": "x"])
        XCTAssertEqual(r.status, .forbidden)
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action == "rechtstext.save").count()
        XCTAssertEqual(audit, 2)
    }
}

final class MembershipEffectiveDateTests: XCTestCase {
    /// An approved membership that takes effect later is not counted as a member before that day.
    func testStatusFollowsTheEffectiveDate() async throws {
        let app = try await makeTestApp()
        let op = try await createToken(app, tenant: "16", scopes: [.operator])
        let erfurt = try await createToken(app, tenant: "16051", scopes: [.membership])
        var r = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/antrag", token: erfurt,
                              json: #"{"antragsdatum":"2026-01-15","ratsbeschluss":"Beschluss 12/2026","ratsbeschlussDatum":"2026-01-10","anteilCent":100000}"#)
        XCTAssertEqual(r.status, .created, r.body.string)
        r = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/genehmigung", token: op, json: #"{"wirksamAb":"2099-01-01"}"#)
        XCTAssertEqual(r.status, .ok, r.body.string)
        let operatorUser = try await createUser(app, email: "betrieb@test.de", role: .operator, tenant: nil)
        let b = Browser(app)
        try await b.login(operatorUser)
        let overview = try await b.get("/uebersicht?q=Erfurt")
        XCTAssertTrue(overview.text.contains("Beitritt genehmigt, Mitglied ab 01.01.2099"), overview.text)
        let members = try await MembershipService.currentMemberCount(on: app.db)
        XCTAssertEqual(members, 0)
        let later = try await MembershipService.currentMemberCount(on: app.db, today: "2099-01-01")
        XCTAssertEqual(later, 1)
        let about = try await b.get("/ueber")
        XCTAssertTrue(about.text.contains("<strong>0</strong>"), "not yet a member on the provider's page")
    }
}

/// Issue 14: screens speak to people — names instead of keys and codes, the audit trail readable
/// field by field, the finder in Leichte Sprache.
final class PresentationTests: XCTestCase {
    func testAuditShowsPeopleByNameAndWhatChangedFieldByField() async throws {
        let app = try await makeTestApp(demo: true)
        let ada = try await createUser(app, email: "ada@erfurt.test", role: .tenantAdmin, tenant: "16051")
        ada.name = "Ada Ahorn"
        try await ada.save(on: app.db)
        let office = try await XCTUnwrapAsync(try await Office.query(on: app.db).filter(\.$tenantARS == "16051").first())
        let a = Browser(app)
        try await a.login(ada)
        try await a.get("/mandanten/16051/organisationseinheiten/\(try office.requireID())")
        var form = FinderWebController.OfficeForm.from(office)
        let oldPhone = office.phone
        form.telefon = "0361 655-4711"
        let fields = try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONEncoder().encode(form)) as? [String: String])
        let r = try await a.post("/mandanten/16051/organisationseinheiten/\(try office.requireID())", fields)
        XCTAssertEqual(r.status, .seeOther, r.text)

        let op = try await createUser(app, email: "op@kiv.test", role: .operator, tenant: nil)
        let b = Browser(app)
        try await b.login(op)
        let audit = try await b.get("/betrieb/audit?aktion=office.update")
        XCTAssertEqual(audit.status, .ok)
        XCTAssertTrue(audit.text.contains("Ada Ahorn") && audit.text.contains("ada@erfurt.test"), "the person by name, the address in small type")
        XCTAssertTrue(audit.text.contains("Erfurt, Stadt"), "the tenant by name")
        let before = oldPhone.isEmpty ? "" : "<del>\(oldPhone)</del> → "
        XCTAssertTrue(audit.text.contains("<dt>Telefon</dt><dd>\(before)<ins>0361 655-4711</ins></dd>"), audit.text)
        XCTAssertFalse(audit.text.contains("<dt>Koordinaten</dt>"), "an edit in the form keeps the coordinates")
        XCTAssertFalse(audit.text.contains("<dt>Name</dt>"), "unchanged fields are not listed")
        XCTAssertFalse(audit.text.contains("user:ada@"), "no raw actor key on the page")
        // local time in German format, not the stored UTC timestamp
        XCTAssertNotNil(audit.text.range(of: #"\d{2}\.\d{2}\.\d{4} um \d{2}:\d{2} Uhr"#, options: .regularExpression))
        XCTAssertNil(audit.text.range(of: #"\d{4}-\d{2}-\d{2}T\d{2}:"#, options: .regularExpression), "no raw ISO timestamp")
        // the API keeps the stable keys
        let token = try await createToken(app, tenant: "16", scopes: [.operator])
        let json = try await api(app, .GET, "/api/v1/audit?aktion=office.update", token: token)
        XCTAssertTrue(json.body.string.contains("user:ada@erfurt.test"), json.body.string)
    }

    func testInvoiceHistoryByNameEnglishViewAndFindingsWithAmounts() async throws {
        let app = try await makeTestApp(demo: true)
        let lid = try await XCTUnwrapAsync(try await LeitwegEntry.query(on: app.db).filter(\.$tenantARS == "16051").filter(\.$active == true).first()).leitwegID
        // an invoice whose second line does not add up: a warning with the value given and the one expected
        let xml = String(decoding: try InvoiceTests.invoice(to: lid), as: UTF8.self)
            .replacingOccurrences(of: "<cbc:PriceAmount currencyID=\"EUR\">26.07</cbc:PriceAmount>", with: "<cbc:PriceAmount currencyID=\"EUR\">1026.07</cbc:PriceAmount>")
        let created = try await InvoiceTests.post(app, Data(xml.utf8))
        XCTAssertEqual(created.status, .created, created.body.string)
        XCTAssertTrue(created.body.string.contains("angegeben 26,07 €, erwartet 1.026,07 €"), created.body.string)
        let id = try XCTUnwrap(try created.json()["id"] as? String)

        let anna = try await createUser(app, email: "anna@erfurt.test", role: .clerk, tenant: "16051")
        anna.name = "Anna Amsel"
        try await anna.save(on: app.db)
        let a = Browser(app)
        try await a.login(anna)
        try await a.get("/mandanten/16051/rechnungen/\(id)")
        let step = try await a.post("/mandanten/16051/rechnungen/\(id)/status", ["ziel": "sachlich_geprueft"])
        XCTAssertEqual(step.status, .seeOther, step.text)
        let de = try await a.get("/mandanten/16051/rechnungen/\(id)")
        XCTAssertTrue(de.text.contains("Bearbeitungsverlauf"))
        XCTAssertTrue(de.text.contains("<td>sachlich geprüft</td><td>Anna Amsel <small>anna@erfurt.test</small></td>"), de.text)
        XCTAssertFalse(de.text.contains("user:anna"), "no raw actor key")
        XCTAssertTrue(de.text.contains("Schnittstelle (API)"), "the channel by name")

        let en = try await a.get("/mandanten/16051/rechnungen/\(id)?lang=en")
        XCTAssertTrue(en.text.contains("Invoice number") && en.text.contains("Validation result") && en.text.contains("Commercial invoice (380)"), en.text)
        XCTAssertTrue(en.text.contains("<td>checked (content)</td>"), "status step in English")
        XCTAssertTrue(en.text.contains("(given €26.07, expected €1,026.07)"), "the official English rule text with the amounts")
        XCTAssertTrue(en.text.contains("An invoice should state the delivery or service date"), "German-only rule texts have an English text")
        XCTAssertFalse(en.text.contains("Rechnungsnummer") || en.text.contains("Prüfergebnis") || en.text.contains("Befunde"), "no German labels")
    }

    func testFinderInLeichterSprache() async throws {
        let app = try await makeTestApp(demo: true)
        let b = Browser(app)
        let start = try await b.get("/leichte-sprache")
        XCTAssertTrue(start.text.contains("href=\"/leichte-sprache/suche\""), "the easy-language page leads to the search")
        let empty = try await b.get("/leichte-sprache/suche")
        XCTAssertEqual(empty.status, .ok)
        XCTAssertTrue(empty.text.contains("Was wollen Sie machen?") && empty.text.contains("Wo wohnen Sie?"))
        let dog = try await b.get("/leichte-sprache/suche?leistung=Hund%20anmelden&ort=Erfurt")
        XCTAssertTrue(dog.text.contains("Sie können den Antrag im Internet stellen"), dog.text)
        XCTAssertTrue(dog.text.contains("/onlinedienste/hund-anmelden?ars=160510000000"))
        XCTAssertTrue(dog.text.contains("Dieses Amt hilft Ihnen"))
        let gera = try await b.get("/leichte-sprache/suche?leistung=Hund%20anmelden&ort=Gera")
        XCTAssertTrue(gera.text.contains("noch nicht im Internet stellen"), gera.text)
        let several = try await b.get("/leichte-sprache/suche?leistung=Hund%20anmelden&ort=99438")
        XCTAssertTrue(several.text.contains("Welcher Ort ist Ihr Ort?") && several.text.contains("/leichte-sprache/suche?"), several.text)
    }
}
