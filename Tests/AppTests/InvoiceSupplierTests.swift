import Fluent
import Foundation
import RathausCore
import TestFixtures
import XCTest
import XCTVapor
@testable import App
import XRechnung


// Intake seen from the supplier's side: Factur-X PDFs, business accounts, duplicates by business key.
final class FacturXIntakeTests: XCTestCase {
    func testZUGFeRDPDFIsAcceptedAndKeptAsReceived() async throws {
        let url = URL(fileURLWithPath: InvoiceTests.sample.path.replacingOccurrences(of: "01.01a-INVOICE_ubl.xml", with: "01.01a-INVOICE_uncefact.xml"))
        var xml = try String(contentsOf: url, encoding: .utf8)
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)
        xml = xml.replacingOccurrences(of: "<ram:BuyerReference>04011000-12345-03</ram:BuyerReference>", with: "<ram:BuyerReference>\(lid)</ram:BuyerReference>")
        let z = PDFInvoice.deflate(Array(xml.utf8))
        var pdf = Data("%PDF-1.7\n1 0 obj\n<< /Type /EmbeddedFile /Subtype /text#2Fxml /Filter /FlateDecode /Length \(z.count) >>\nstream\n".utf8)
        pdf.append(contentsOf: z)
        pdf.append(Data("\nendstream\nendobj\n2 0 obj\n<< /Type /Filespec /F (factur-x.xml) /EF << /F 1 0 R >> >>\nendobj\n%%EOF\n".utf8))
        var h = HTTPHeaders()
        h.replaceOrAdd(name: .contentType, value: "application/pdf")
        let res = try await app.testable().sendRequest(.POST, "/api/v1/rechnungen", headers: h, body: ByteBuffer(data: pdf))
        XCTAssertEqual(res.status, .created, res.text)
        let id = try XCTUnwrap(try res.json()["id"] as? String)
        let token = try await createToken(app, tenant: "16051", scopes: [.rechnungen])
        let original = try await api(app, .GET, "/api/v1/rechnungen/\(id)/xml", token: token)
        XCTAssertEqual(original.headers.contentType?.description, "application/pdf")
        XCTAssertEqual(Data(original.body.readableBytesView), pdf, "the original is kept as received")
    }
}

/// The demo Leitweg-ID of Erfurt's invoice inbox (seeded in demo mode).
extension InvoiceTests {
    /// Suppliers send at the same moment: six different invoices and the first one twice more.
    /// Every acknowledged invoice is stored once with its audit entry, the repeats are 409, the
    /// audit chain stays intact — on SQLite (one writer, the write gate) and on PostgreSQL.
    func testParallelIntakeBooksEachInvoiceOnce() async throws {
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)
        let bodies = try (1...6).map { try invoice(to: lid, number: "P-\($0)") } + [try invoice(to: lid, number: "P-1"), try invoice(to: lid, number: "P-1")]
        let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
            for b in bodies { group.addTask { try await InvoiceTests.post(app, b).status.code } }
            var out: [UInt] = []
            for try await s in group { out.append(s) }
            return out
        }
        XCTAssertEqual(statuses.filter { $0 == 201 }.count, 6, "\(statuses)")
        XCTAssertEqual(statuses.filter { $0 == 409 }.count, 2, "\(statuses)")
        let stored = try await EInvoice.query(on: app.db).filter(\.$invoiceNumber ~~ (1...6).map { "P-\($0)" }).count()
        XCTAssertEqual(stored, 6)
        let audited = try await AuditEntry.query(on: app.db).filter(\.$action == "rechnung.eingang").count()
        XCTAssertEqual(audited, 6)
        let chain = try await Audit.verify(on: app.db)
        XCTAssertNil(chain.firstBroken.map { "\($0.seq): \($0.reason)" })
    }
}

func erfurtLeitweg(_ app: Application) async throws -> String {
    let e = try await LeitwegEntry.query(on: app.db).filter(\.$tenantARS == "16051").filter(\.$label == "Stadtverwaltung Erfurt, Rechnungseingang").first()
    return try XCTUnwrap(e?.leitwegID)
}

final class SupplierAccountTests: XCTestCase {
    /// A supplier with a business account sees the invoices it sent while signed in ("Meine Rechnungen"),
    /// and so do the other members of its company; nobody else does.
    func testBusinessAccountSeesItsInvoices() async throws {
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)
        var xml = try String(contentsOf: InvoiceTests.sample, encoding: .utf8)
        xml = xml.replacingOccurrences(of: "<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>", with: "<cbc:BuyerReference>\(lid)</cbc:BuyerReference>")
        let (owner, b) = try await ServicekontoTests.citizen(app, "chef@lieferant.test", kind: .business)
        let (colleague, c) = try await ServicekontoTests.citizen(app, "buchhaltung@lieferant.test", kind: .business)
        let org = Organisation()
        org.name = "Lieferant GmbH"; org.registerNumber = "HRB 1"; org.createdAt = Date()
        try await org.create(on: app.db)
        for (u, role) in [(owner, "inhaber"), (colleague, "mitglied")] {
            let m = OrganisationMember()
            m.organisationID = org.id!; m.userID = u.id!; m.role = role; m.createdAt = Date()
            try await m.create(on: app.db)
        }
        try await b.get("/rechnungen/einreichen")
        let up = try await b.postMultipart("/rechnungen/einreichen", fields: [:], files: [("dateien[]", "r.xml", Data(xml.utf8))])
        XCTAssertEqual(up.status, .ok, up.text)
        var r = try await b.get("/konto/rechnungen")
        XCTAssertTrue(r.text.contains("123456XX") && r.text.contains(lid), r.text)
        r = try await c.get("/konto/rechnungen")
        XCTAssertTrue(r.text.contains("123456XX"), "the colleague sees the company's invoices")
        let (_, stranger) = try await ServicekontoTests.citizen(app, "fremd@example.org")
        r = try await stranger.get("/konto/rechnungen")
        XCTAssertFalse(r.text.contains("123456XX"))
        let e = try await XCTUnwrapAsync(try await EInvoice.query(on: app.db).first())
        XCTAssertEqual(e.supplierAccountID, owner.id)
        XCTAssertEqual(e.supplierEmail, "chef@lieferant.test", "the receipt goes to the account's address")
    }
}


/// Issue 13, section 5: the same invoice with other bytes (trailing newline, CRLF) is not booked
/// again silently: it is held as a possible duplicate, shown with the first side by side.
final class BusinessKeyDuplicateTests: XCTestCase {
    func testOtherBytesSameBusinessKeyIsHeldAsPossibleDuplicate() async throws {
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)
        let original = try InvoiceTests.invoice(to: lid, number: "DUP-1")
        let first = try await InvoiceTests.post(app, original)
        XCTAssertEqual(first.status, .created, first.text)
        XCTAssertEqual(try first.json()["status"] as? String, "eingegangen")
        let firstID = try XCTUnwrap(try first.json()["id"] as? String)

        let text = String(decoding: original, as: UTF8.self)
        var ids: [String] = []
        for variant in [text + "\n", text.replacingOccurrences(of: "\n", with: "\r\n")] {
            let res = try await InvoiceTests.post(app, Data(variant.utf8))
            XCTAssertEqual(res.status, .created, res.text)
            XCTAssertEqual(try res.json()["status"] as? String, "moegliche_doublette", res.text)
            ids.append(try XCTUnwrap(try res.json()["id"] as? String))
        }
        // the same bytes once more: still a plain duplicate, refused
        let again = try await InvoiceTests.post(app, Data((text + "\n").utf8))
        XCTAssertEqual(again.status, .conflict)
        let held = try await EInvoice.query(on: app.db).filter(\.$status == "moegliche_doublette").all()
        XCTAssertEqual(held.count, 2)
        XCTAssertTrue(held.allSatisfy { $0.duplicateOf?.uuidString == firstID })
        let booked = try await EInvoice.query(on: app.db).filter(\.$status == "eingegangen").filter(\.$invoiceNumber == "DUP-1").count()
        XCTAssertEqual(booked, 1)

        // the clerk sees both side by side and decides
        let clerk = try await createUser(app, email: "dup.clerk@erfurt.test", role: .clerk, tenant: "16051")
        let b = Browser(app)
        try await b.login(clerk)
        let page = try await b.get("/mandanten/16051/rechnungen/\(ids[0])")
        XCTAssertEqual(page.status, .ok)
        XCTAssertTrue(page.text.contains("Mögliche Doublette"), page.text)
        XCTAssertTrue(page.text.contains("Bereits eingegangen"))
        XCTAssertTrue(page.text.contains("/mandanten/16051/rechnungen/\(firstID)/xml"))
        let reject = try await b.post("/mandanten/16051/rechnungen/\(ids[0])/status", ["ziel": "zurueckgewiesen", "grund": "Doublette der Rechnung DUP-1"])
        XCTAssertEqual(reject.status, .seeOther, reject.text)
        try await b.get("/mandanten/16051/rechnungen/\(ids[1])")
        let take = try await b.post("/mandanten/16051/rechnungen/\(ids[1])/status", ["ziel": "eingegangen"])
        XCTAssertEqual(take.status, .seeOther, take.text)
        let taken = try await EInvoice.find(UUID(uuidString: ids[1]), on: app.db)
        XCTAssertEqual(taken?.status, "eingegangen")
    }

    /// Six variants of one invoice at once: exactly one is the original, five are held.
    func testParallelVariantsBookOneOriginal() async throws {
        let app = try await makeTestApp(demo: true)
        let lid = try await erfurtLeitweg(app)
        let text = String(decoding: try InvoiceTests.invoice(to: lid, number: "DUP-P"), as: UTF8.self)
        let variants = (0..<6).map { text + String(repeating: "\n", count: $0 + 1) }
        let statuses = try await withThrowingTaskGroup(of: String.self) { group in
            for v in variants {
                group.addTask {
                    let res = try await InvoiceTests.post(app, Data(v.utf8))
                    return (try? res.json()["status"] as? String) ?? "\(res.status.code)"
                }
            }
            var all: [String] = []
            for try await s in group { all.append(s) }
            return all
        }
        XCTAssertEqual(statuses.filter { $0 == "eingegangen" }.count, 1, "\(statuses)")
        XCTAssertEqual(statuses.filter { $0 == "moegliche_doublette" }.count, 5, "\(statuses)")
        let originals = try await EInvoice.query(on: app.db).filter(\.$invoiceNumber == "DUP-P").filter(\.$duplicateOf == nil).count()
        XCTAssertEqual(originals, 1)
        let verify = try await Audit.verify(on: app.db)
        XCTAssertNil(verify.firstBroken)
    }
}
