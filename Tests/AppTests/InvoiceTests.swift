import Fluent
import Foundation
import RathausCore
import TestFixtures
import XCTest
import XCTVapor
@testable import App
import XRechnung

/// E-Rechnungsportal end to end over HTTP: intake by API and upload, routing by Leitweg-ID,
/// duplicates, the inbox with the four-eyes workflow, supplier status, finance pull API.
final class InvoiceTests: XCTestCase {
    /// An official test invoice committed under Tests/Fixtures (source and licence in its README).
    static let sample = TestData.fixture("xrechnung/testsuite/business-cases/standard/01.01a-INVOICE_ubl.xml")

    /// A valid official test invoice addressed to `leitweg` (BT-10), optionally with another number.
    func invoice(to leitweg: String, number: String? = nil) throws -> Data {
        try Self.invoice(to: leitweg, number: number)
    }

    static func invoice(to leitweg: String, number: String? = nil) throws -> Data {
        var s = try String(contentsOf: Self.sample, encoding: .utf8)
        s = s.replacingOccurrences(of: "<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>", with: "<cbc:BuyerReference>\(leitweg)</cbc:BuyerReference>")
        if let number { s = s.replacingOccurrences(of: "<cbc:ID>123456XX</cbc:ID>", with: "<cbc:ID>\(number)</cbc:ID>") }
        return Data(s.utf8)
    }

    func post(_ app: Application, _ data: Data, contentType: String = "application/xml") async throws -> TestingHTTPResponse {
        try await Self.post(app, data, contentType: contentType)
    }

    static func post(_ app: Application, _ data: Data, contentType: String = "application/xml") async throws -> TestingHTTPResponse {
        var h = HTTPHeaders()
        h.replaceOrAdd(name: .contentType, value: contentType)
        return try await app.testable().sendRequest(.POST, "/api/v1/rechnungen", headers: h, body: ByteBuffer(data: data))
    }


    func testIntakeRoutingDuplicatesAndReport() async throws {
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)
        XCTAssertNoThrow(try LeitwegID(lid))

        let data = try invoice(to: lid)
        let res = try await post(app, data)
        XCTAssertEqual(res.status, .created, res.text)
        let body = try res.json()
        let id = try XCTUnwrap(body["id"] as? String)
        XCTAssertEqual(body["status"] as? String, "eingegangen")
        XCTAssertEqual(body["leitwegId"] as? String, lid)
        let statusURL = try XCTUnwrap(body["statusUrl"] as? String)

        // Committed and stored unchanged before the answer.
        let row = try await XCTUnwrapAsync(try await EInvoice.find(UUID(uuidString: id), on: app.db))
        XCTAssertEqual(row.tenantARS, "16051")
        let stored = try await app.files.get(row.sha256)
        XCTAssertEqual(stored, data)
        XCTAssertEqual(row.invoiceNumber, "123456XX")
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action == "rechnung.eingang").count()
        XCTAssertEqual(audit, 1)

        // The same file again: recognised, not booked twice.
        let dup = try await post(app, data)
        XCTAssertEqual(dup.status, .conflict, dup.text)
        XCTAssertTrue(dup.text.contains("bereits am"), dup.text)
        let count = try await EInvoice.query(on: app.db).count()
        XCTAssertEqual(count, 1)

        // Unknown Leitweg-ID: named in the answer with the lookup.
        let unknown = try await post(app, try invoice(to: "04011000-12345-03", number: "X-2"))
        XCTAssertEqual(unknown.status, .unprocessableEntity, unknown.text)
        XCTAssertTrue(unknown.text.contains("04011000-12345-03") && unknown.text.contains("/leitweg-ids"), unknown.text)

        // A broken invoice: 422 with each rule in plain German, nothing stored.
        var broken = String(decoding: try invoice(to: lid, number: "X-3"), as: UTF8.self)
        broken = broken.replacingOccurrences(of: "<cbc:BuyerReference>\(lid)</cbc:BuyerReference>", with: "")
        broken = broken.replacingOccurrences(of: "<cbc:PayableAmount currencyID=\"EUR\">", with: "<cbc:PayableAmount currencyID=\"EUR\">1")
        let bad = try await post(app, Data(broken.utf8))
        XCTAssertEqual(bad.status, .unprocessableEntity, bad.text)
        XCTAssertEqual(bad.headers.contentType?.description.hasPrefix("application/problem+json"), true)
        let rules = ((try bad.json()["fehler"] as? [[String: Any]]) ?? []).compactMap { $0["regel"] as? String }
        XCTAssertTrue(rules.contains("BR-DE-15"), "\(rules)")
        XCTAssertTrue(rules.contains("BR-CO-16"), "\(rules)")
        XCTAssertTrue(bad.text.contains("Käuferreferenz (BT-10) fehlt"), bad.text)
        let after = try await EInvoice.query(on: app.db).count()
        XCTAssertEqual(after, 1)

        // Hostile and wrong input.
        let xxe = try await post(app, Data("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><Invoice>&e;</Invoice>".utf8))
        XCTAssertEqual(xxe.status, .unprocessableEntity)
        XCTAssertTrue(xxe.text.contains("XML-DOCTYPE"))
        XCTAssertFalse(xxe.text.contains("root:"))
        let wrongType = try await post(app, data, contentType: "application/json")
        XCTAssertEqual(wrongType.status, .unsupportedMediaType)

        // Supplier's status page.
        let status = try await app.testable().sendRequest(.GET, statusURL)
        XCTAssertEqual(status.status, .ok)
        XCTAssertTrue(status.text.contains("eingegangen") && status.text.contains("123456XX"))
        let wrong = try await app.testable().sendRequest(.GET, "/rechnungen/status/abcdefghijklmnopqrstuvwxyz")
        XCTAssertEqual(wrong.status, .notFound)
    }

    func testInboxFourEyesExportAndIsolation() async throws {
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)
        let created = try await post(app, try invoice(to: lid))
        XCTAssertEqual(created.status, .created, created.text)
        let id = try XCTUnwrap(try created.json()["id"] as? String)
        let statusURL = try XCTUnwrap(try created.json()["statusUrl"] as? String)

        let anna = try await createUser(app, email: "anna@erfurt.test", role: .clerk, tenant: "16051")
        let ben = try await createUser(app, email: "ben@erfurt.test", role: .clerk, tenant: "16051")
        let foreign = try await createUser(app, email: "clerk@bad-berka.test", role: .clerk, tenant: "160710003003")

        let a = Browser(app)
        try await a.login(anna)
        let inbox = try await a.get("/mandanten/16051/rechnungen")
        XCTAssertEqual(inbox.status, .ok)
        XCTAssertTrue(inbox.text.contains("123456XX"), inbox.text)
        let filtered = try await a.get("/mandanten/16051/rechnungen?status=freigegeben")
        XCTAssertFalse(filtered.text.contains("123456XX"))
        let germanFilter = try await a.get("/mandanten/16051/rechnungen?von=1.1.1900")
        XCTAssertEqual(germanFilter.status, .ok, "TT.MM.JJJJ is accepted like ISO")
        XCTAssertTrue(germanFilter.text.contains("123456XX"), germanFilter.text)
        let badFilter = try await a.get("/mandanten/16051/rechnungen?von=31.13.2026")
        XCTAssertEqual(badFilter.status, .badRequest)
        XCTAssertTrue(badFilter.text.contains("kein gültiges Datum"))
        let detail = try await a.get("/mandanten/16051/rechnungen/\(id)")
        XCTAssertEqual(detail.status, .ok)
        XCTAssertTrue(detail.text.contains("Gültig") && detail.text.contains("Positionen"), detail.text)
        let xml = try await a.get("/mandanten/16051/rechnungen/\(id)/xml")
        XCTAssertEqual(xml.status, .ok)
        XCTAssertTrue(xml.text.contains("<cbc:ID>123456XX</cbc:ID>"))

        // Step 1 by Anna; step 2 by Anna again is refused (four eyes), by Ben accepted.
        var r = try await a.post("/mandanten/16051/rechnungen/\(id)/status", ["ziel": "sachlich_geprueft"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let afterOwnStep = try await a.get("/mandanten/16051/rechnungen/\(id)")
        XCTAssertFalse(afterOwnStep.text.contains("value=\"rechnerisch_geprueft\""), "the step is not offered to the one who did the previous one")
        XCTAssertTrue(afterOwnStep.text.contains("den nächsten übernimmt eine andere Person"), "and the page says why")
        r = try await a.post("/mandanten/16051/rechnungen/\(id)/status", ["ziel": "rechnerisch_geprueft"])
        XCTAssertEqual(r.status, .forbidden)
        XCTAssertTrue(r.text.contains("Vier-Augen-Prinzip"), r.text)
        // Skipping a step is refused too.
        r = try await a.post("/mandanten/16051/rechnungen/\(id)/status", ["ziel": "freigegeben"])
        XCTAssertEqual(r.status, .conflict)

        let b = Browser(app)
        try await b.login(ben)
        try await b.get("/mandanten/16051/rechnungen/\(id)")
        r = try await b.post("/mandanten/16051/rechnungen/\(id)/status", ["ziel": "rechnerisch_geprueft"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        try await a.get("/mandanten/16051/rechnungen/\(id)")
        r = try await a.post("/mandanten/16051/rechnungen/\(id)/status", ["ziel": "freigegeben"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let row = try await XCTUnwrapAsync(try await EInvoice.find(UUID(uuidString: id), on: app.db))
        XCTAssertEqual(row.status, "freigegeben")
        XCTAssertEqual(row.factualBy, "user:anna@erfurt.test")
        XCTAssertEqual(row.arithmeticBy, "user:ben@erfurt.test")
        let steps = try await AuditEntry.query(on: app.db).filter(\.$action == "rechnung.status").count()
        XCTAssertEqual(steps, 3)
        let supplierView = try await app.testable().sendRequest(.GET, statusURL)
        XCTAssertTrue(supplierView.text.contains("zur Zahlung freigegeben"))

        // Another municipality's clerk sees nothing of it.
        let f = Browser(app)
        try await f.login(foreign)
        let s1 = try await f.get("/mandanten/16051/rechnungen")
        XCTAssertEqual(s1.status, .forbidden)
        let s2 = try await f.get("/mandanten/160710003003/rechnungen/\(id)")
        XCTAssertEqual(s2.status, .notFound)
        let s3 = try await f.get("/mandanten/160710003003/rechnungen/\(id)/xml")
        XCTAssertEqual(s3.status, .notFound)
        let own = try await f.get("/mandanten/160710003003/rechnungen")
        XCTAssertFalse(own.text.contains("123456XX"))

        // Finance software: pull released, not yet acknowledged; acknowledge; gone from the list.
        let token = try await createToken(app, tenant: "16051", scopes: [.rechnungen])
        var list = try await api(app, .GET, "/api/v1/rechnungen?status=freigegeben&abgeholt=nein", token: token)
        XCTAssertEqual(list.status, .ok, list.text)
        XCTAssertEqual((try list.json()["items"] as? [[String: Any]])?.count, 1)
        let dl = try await api(app, .GET, "/api/v1/rechnungen/\(id)/xml", token: token)
        XCTAssertEqual(dl.status, .ok)
        XCTAssertNotNil(dl.headers.first(name: "Digest"))
        let ack = try await api(app, .POST, "/api/v1/rechnungen/\(id)/abholung", token: token)
        XCTAssertEqual(ack.status, .ok, ack.text)
        let ack2 = try await api(app, .POST, "/api/v1/rechnungen/\(id)/abholung", token: token)
        XCTAssertEqual(ack2.status, .ok)
        list = try await api(app, .GET, "/api/v1/rechnungen?status=freigegeben&abgeholt=nein", token: token)
        XCTAssertEqual((try list.json()["items"] as? [[String: Any]])?.count, 0)
        let acks = try await AuditEntry.query(on: app.db).filter(\.$action == "rechnung.abholung").count()
        XCTAssertEqual(acks, 1)
        let otherToken = try await createToken(app, tenant: "160710003003", scopes: [.rechnungen])
        let s4 = try await api(app, .GET, "/api/v1/rechnungen/\(id)", token: otherToken)
        XCTAssertEqual(s4.status, .notFound)
        let s5 = try await api(app, .GET, "/api/v1/rechnungen", token: nil)
        XCTAssertEqual(s5.status, .unauthorized)
        let membershipToken = try await createToken(app, tenant: "16051", scopes: [.membership])
        let s6 = try await api(app, .GET, "/api/v1/rechnungen", token: membershipToken)
        XCTAssertEqual(s6.status, .forbidden)
    }

    func testRejectionReasonReachesSupplierAndUploadForm() async throws {
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)

        // Web upload: one valid, one broken file in one go.
        let supplier = Browser(app)
        let page = try await supplier.get("/rechnungen/einreichen")
        XCTAssertEqual(page.status, .ok)
        let res = try await supplier.postMultipart("/rechnungen/einreichen", fields: ["email": "buchhaltung@lieferant.test"], files: [
            ("dateien[]", "gut.xml", try invoice(to: lid, number: "U-1")),
            ("dateien[]", "kaputt.xml", Data("<Invoice>".utf8)),
        ])
        XCTAssertEqual(res.status, .ok, res.text)
        XCTAssertTrue(res.text.contains("Angenommen"), res.text)
        XCTAssertTrue(res.text.contains("kein wohlgeformtes XML"), res.text)
        let link = try XCTUnwrap(res.text.range(of: "/rechnungen/status/").map { r -> String in
            String(res.text[r.lowerBound...].prefix { $0 != "\"" })
        })
        let withoutCSRF = Browser(app)
        let refused = try await withoutCSRF.postMultipart("/rechnungen/einreichen", files: [("dateien[]", "gut.xml", try invoice(to: lid, number: "U-2"))])
        XCTAssertEqual(refused.status, .forbidden)
        let stored = try await EInvoice.query(on: app.db).count()
        XCTAssertEqual(stored, 1)

        let clerk = try await createUser(app, email: "clara@erfurt.test", role: .clerk, tenant: "16051")
        let c = Browser(app)
        try await c.login(clerk)
        let e = try await XCTUnwrapAsync(try await EInvoice.query(on: app.db).first())
        try await c.get("/mandanten/16051/rechnungen/\(e.id!.uuidString)")
        var r = try await c.post("/mandanten/16051/rechnungen/\(e.id!.uuidString)/status", ["ziel": "zurueckgewiesen", "grund": ""])
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("Grund der Zurückweisung"), r.text)
        r = try await c.post("/mandanten/16051/rechnungen/\(e.id!.uuidString)/status", ["ziel": "zurueckgewiesen", "grund": "Leistung nicht bestellt <b>"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let status = try await app.testable().sendRequest(.GET, link)
        XCTAssertTrue(status.text.contains("zurückgewiesen"), status.text)
        XCTAssertTrue(status.text.contains("Leistung nicht bestellt &lt;b&gt;"), status.text)
        r = try await c.post("/mandanten/16051/rechnungen/\(e.id!.uuidString)/status", ["ziel": "sachlich_geprueft"])
        XCTAssertEqual(r.status, .conflict)
    }
}

func XCTUnwrapAsync<T>(_ value: @autoclosure () async throws -> T?, file: StaticString = #filePath, line: UInt = #line) async throws -> T {
    let v = try await value()
    return try XCTUnwrap(v, file: file, line: line)
}

/// The web form for suppliers without software: German errors keep every answer; a correct
/// form becomes a valid XRechnung that lands in the municipality's inbox.
final class InvoiceFormTests: XCTestCase {
    func form(_ lid: String) -> [String: String] {
        ["leitweg": lid, "nummer": "RE-2026-17", "datum": "2026-11-20", "leistungsdatum": "2026-11-18", "faellig": "2026-12-20",
         "v_name": "Malerbetrieb Müller & Söhne", "v_strasse": "Anger 5", "v_plz": "99084", "v_ort": "Erfurt", "v_ustid": "DE123456789",
         "v_kontakt": "Eva Müller", "v_telefon": "0361 123456", "v_email": "rechnung@maler-mueller.de",
         "iban": "DE02 1203 0000 0000 2020 51", "kontoinhaber": "Malerbetrieb Müller",
         "k_name": "Stadtverwaltung Erfurt", "k_strasse": "Fischmarkt 1", "k_plz": "99084", "k_ort": "Erfurt",
         "zeile1_text": "Malerarbeiten Schulflur", "zeile1_menge": "2", "zeile1_einheit": "HUR", "zeile1_preis": "120,00", "zeile1_satz": "19",
         "zeile2_text": "Farbe", "zeile2_menge": "1,5", "zeile2_einheit": "C62", "zeile2_preis": "13,33", "zeile2_satz": "7"]
    }

    func testFormBuildsValidXRechnungAndKeepsAnswersOnErrors() async throws {
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)
        let b = Browser(app)
        let page = try await b.get("/rechnungen/erfassen?leitweg=\(lid)")
        XCTAssertEqual(page.status, .ok)
        XCTAssertTrue(page.text.contains("value=\"\(lid)\""))

        var bad = form(lid)
        bad["iban"] = "DE02 1203 0000 0000 2020 52"
        bad["zeile2_menge"] = "viel"
        bad["v_plz"] = "9908"
        let r1 = try await b.post("/rechnungen/erfassen", bad)
        XCTAssertEqual(r1.status, .badRequest)
        XCTAssertTrue(r1.text.contains("Die IBAN ist nicht gültig"), r1.text)
        XCTAssertTrue(r1.text.contains("Die Menge in Zeile 2 muss eine Zahl"))
        XCTAssertTrue(r1.text.contains("Postleitzahl mit fünf Ziffern"))
        XCTAssertTrue(r1.text.contains("Malerarbeiten Schulflur") && r1.text.contains("Malerbetrieb Müller &amp; Söhne"), "answers are kept")
        var unknown = form("04011000-12345-03")
        unknown["nummer"] = "RE-X"
        let r2 = try await b.post("/rechnungen/erfassen", unknown)
        XCTAssertEqual(r2.status, .badRequest)
        XCTAssertTrue(r2.text.contains("04011000-12345-03"))
        let none = try await EInvoice.query(on: app.db).count()
        XCTAssertEqual(none, 0)

        let ok = try await b.post("/rechnungen/erfassen", form(lid))
        XCTAssertEqual(ok.status, .ok, ok.text)
        XCTAssertTrue(ok.text.contains("Ihre Rechnung ist eingegangen"), ok.text)
        // 2 h × 120,00 = 240,00 + 19 % = 45,60; 1,5 × 13,33 = 20,00 (19,995 rounded) + 7 % = 1,40 → 307,00
        XCTAssertTrue(ok.text.contains("307,00"), ok.text)
        let e = try await XCTUnwrapAsync(try await EInvoice.query(on: app.db).first())
        XCTAssertEqual(e.channel, "formular")
        XCTAssertEqual(e.tenantARS, "16051")
        XCTAssertEqual(e.amountDueCents, 30700)
        let link = try XCTUnwrap(ok.text.range(of: "/rechnungen/status/").map { r in String(ok.text[r.lowerBound...].prefix { $0 != "\"" }) })
        let xml = try await app.testable().sendRequest(.GET, link.hasSuffix("/xml") ? link : link + "/xml")
        XCTAssertEqual(xml.status, .ok)
        let report = XRechnungValidator().validate(Data(xml.body.readableBytesView))
        XCTAssertTrue(report.isValid, report.findings.map { $0.rule + " " + $0.messageDE }.joined(separator: "\n"))
        XCTAssertEqual(report.invoice?.buyerReference, lid)
        XCTAssertEqual(report.scenario?.name, "EN16931 XRechnung (UBL Invoice)")
        // Sending the same form twice books it once.
        let again = try await b.post("/rechnungen/erfassen", form(lid))
        XCTAssertEqual(again.status, .conflict)
        let count = try await EInvoice.query(on: app.db).count()
        XCTAssertEqual(count, 1)
    }
}

final class IntakeLimitTests: XCTestCase {
    func testPublicIntakeIsRateLimitedPerAddress() async throws {
        let app = try await makeTestApp()
        app.storage[IntakeLimiterKey.self] = IntakeLimiter(limit: 2)
        var h = HTTPHeaders()
        h.replaceOrAdd(name: .contentType, value: "application/xml")
        h.replaceOrAdd(name: .xForwardedFor, value: "198.51.100.7")
        for _ in 0..<2 {
            let r = try await app.testable().sendRequest(.POST, "/api/v1/rechnungen", headers: h, body: ByteBuffer(string: "<Invoice/>"))
            XCTAssertEqual(r.status, .unprocessableEntity)
        }
        let third = try await app.testable().sendRequest(.POST, "/api/v1/rechnungen", headers: h, body: ByteBuffer(string: "<Invoice/>"))
        XCTAssertEqual(third.status, .tooManyRequests)
        XCTAssertTrue(third.text.contains("zu viele Rechnungen"), third.text)
        h.replaceOrAdd(name: .xForwardedFor, value: "198.51.100.8")
        let other = try await app.testable().sendRequest(.POST, "/api/v1/rechnungen", headers: h, body: ByteBuffer(string: "<Invoice/>"))
        XCTAssertEqual(other.status, .unprocessableEntity, "another address is not affected")
    }
}

/// A channel without HTTP (as e-mail or Peppol will be) books through the same entry point.
final class InvoiceChannelTests: XCTestCase {
    struct FakeMailbox: InvoiceChannel {
        let name = "email"
        let documents: [InboundDocument]
        func poll(_ ctx: IntakeContext, deliver: @Sendable (InboundDocument) async throws -> IntakeResult) async throws {
            for d in documents { _ = try await deliver(d) }
        }
    }

    func testChannelDeliversThroughTheSameIntake() async throws {
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)
        var xml = try String(contentsOf: InvoiceTests.sample, encoding: .utf8)
        xml = xml.replacingOccurrences(of: "<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>", with: "<cbc:BuyerReference>\(lid)</cbc:BuyerReference>")
        let channel = FakeMailbox(documents: [InboundDocument(data: Data(xml.utf8), replyTo: "rechnung@lieferant.test", externalID: "<1@mail>")])
        let ctx = IntakeContext(app: app, db: app.db, actor: "kanal:email", actorID: nil)
        try await channel.poll(ctx) { doc in
            try await InvoiceIntake.receive(ctx, data: doc.data, channel: channel.name, supplierEmail: doc.replyTo)
        }
        let e = try await XCTUnwrapAsync(try await EInvoice.query(on: app.db).first())
        XCTAssertEqual(e.channel, "email")
        XCTAssertEqual(e.supplierEmail, "rechnung@lieferant.test")
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action == "rechnung.eingang").first()
        XCTAssertEqual(audit?.actor, "kanal:email")
    }
}

/// Mails to suppliers go through the outbox, written in the change's transaction, and are
/// delivered over SMTP to a real (local) server; a failing server means a retry, not a loss.
final class InvoiceMailTests: XCTestCase {
    func testSupplierGetsReceiptAndRejectionByMail() async throws {
        let sink = try SMTPSink()
        defer { sink.stop() }
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)
        var xml = try String(contentsOf: InvoiceTests.sample, encoding: .utf8)
        xml = xml.replacingOccurrences(of: "<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>", with: "<cbc:BuyerReference>\(lid)</cbc:BuyerReference>")

        let supplier = Browser(app)
        try await supplier.get("/rechnungen/einreichen")
        let up = try await supplier.postMultipart("/rechnungen/einreichen", fields: ["email": "buchhaltung@lieferant.test"], files: [("dateien[]", "r.xml", Data(xml.utf8))])
        XCTAssertEqual(up.status, .ok, up.text)
        let queued = try await OutboxMail.query(on: app.db).count()
        XCTAssertEqual(queued, 1)

        // No server listening: the attempt fails, the mail stays and is retried later.
        let dead = SMTPMailSender(host: "127.0.0.1", port: 1, from: "rathaus@test.local", heloName: "rathaus", threadPool: app.threadPool)
        let none = try await Outbox.deliverDue(app: app, sender: dead)
        XCTAssertEqual(none, 0)
        let afterFailure = try await XCTUnwrapAsync(try await OutboxMail.query(on: app.db).first())
        XCTAssertEqual(afterFailure.status, "pending")
        XCTAssertEqual(afterFailure.attempts, 1)
        XCTAssertGreaterThan(afterFailure.nextAttemptAt, Date())

        let sender = SMTPMailSender(host: "127.0.0.1", port: sink.port, from: "rathaus@test.local", heloName: "rathaus", threadPool: app.threadPool)
        let sent = try await Outbox.deliverDue(app: app, sender: sender, now: Date().addingTimeInterval(3600))
        XCTAssertEqual(sent, 1)
        XCTAssertEqual(sink.messages.count, 1)
        let receipt = try XCTUnwrap(sink.messages.first)
        XCTAssertEqual(receipt.to, ["<buchhaltung@lieferant.test>"])
        XCTAssertTrue(receipt.data.contains("Subject: =?UTF-8?B?"), receipt.data)
        let body = SMTPSink.body(receipt.data)
        XCTAssertTrue(body.contains("Ihre Rechnung 123456XX ist am"), body)
        XCTAssertTrue(body.contains("/rechnungen/status/"), body)
        // Sending again sends nothing twice.
        let again = try await Outbox.deliverDue(app: app, sender: sender, now: Date().addingTimeInterval(7200))
        XCTAssertEqual(again, 0)

        // The clerk rejects; the reason reaches the supplier by mail.
        let clerk = try await createUser(app, email: "dora@erfurt.test", role: .clerk, tenant: "16051")
        let c = Browser(app)
        try await c.login(clerk)
        let e = try await XCTUnwrapAsync(try await EInvoice.query(on: app.db).first())
        try await c.get("/mandanten/16051/rechnungen/\(e.id!.uuidString)")
        let r = try await c.post("/mandanten/16051/rechnungen/\(e.id!.uuidString)/status", ["ziel": "zurueckgewiesen", "grund": "Bestellnummer fehlt"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        _ = try await Outbox.deliverDue(app: app, sender: sender)
        XCTAssertEqual(sink.messages.count, 2)
        let rejection = SMTPSink.body(sink.messages[1].data)
        XCTAssertTrue(rejection.contains("zurückgewiesen") && rejection.contains("Grund: Bestellnummer fehlt"), rejection)

        // Demo mode shows the outgoing mails to the developer.
        let page = try await app.testable().sendRequest(.GET, "/demo/postausgang")
        XCTAssertEqual(page.status, .ok)
        XCTAssertTrue(page.text.contains("Rechnung 123456XX zurückgewiesen"), page.text)
    }

    func testOutboxPageDoesNotExistOutsideDemo() async throws {
        let app = try await makeTestApp()
        let page = try await app.testable().sendRequest(.GET, "/demo/postausgang")
        XCTAssertEqual(page.status, .notFound)
    }
}

final class OutboxConcurrencyTests: XCTestCase {
    actor Recorder {
        var sent: [String] = []
        func add(_ k: String) { sent.append(k) }
    }

    struct SlowSender: MailSender {
        let recorder: Recorder
        func send(_ mail: MailMessage) async throws {
            try await Task.sleep(nanoseconds: 5_000_000)
            await recorder.add(mail.messageID)
        }
    }

    /// Two workers (as two instances would) never send one mail twice.
    func testTwoWorkersSendEachMailOnce() async throws {
        // SQLite has one writer and one worker by design; the claim with row locks is PostgreSQL's.
        guard Environment.get("DATABASE_URL") != nil else { throw XCTSkip("two workers need PostgreSQL (CI runs this on PostgreSQL)") }
        let app = try await makeTestApp()
        for i in 0..<12 {
            try await Outbox.enqueue(on: app.db, key: "k\(i)", to: "a\(i)@test.local", subject: "s", body: "b")
        }
        try await Outbox.enqueue(on: app.db, key: "k0", to: "a0@test.local", subject: "s", body: "b")  // same key: once
        let count = try await OutboxMail.query(on: app.db).count()
        XCTAssertEqual(count, 12)
        let recorder = Recorder()
        let sender = SlowSender(recorder: recorder)
        async let a = Outbox.deliverDue(app: app, sender: sender, limit: 8)
        async let b = Outbox.deliverDue(app: app, sender: sender, limit: 8)
        let (na, nb) = try await (a, b)
        _ = try await Outbox.deliverDue(app: app, sender: sender)
        let sent = await recorder.sent
        XCTAssertEqual(sent.count, 12, "\(na) + \(nb)")
        XCTAssertEqual(Set(sent).count, 12)
    }
}
