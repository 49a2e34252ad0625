import Fluent
import XCTVapor
import XCTest
@testable import App
import TestFixtures

/// Receipts and letters of a case as PDF: generated on submission and decision, stored with the
/// case, delivered to the postbox, downloaded by the applicant; checked with qpdf and pypdf.
final class CaseDocumentsTests: XCTestCase {
    static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("DocumentsTests")

    /// qpdf's verdict and pypdf's text, or nil when the tools are not installed (one line printed).
    func independentRead(_ pdf: Data) throws -> String? {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fall-\(UUID().uuidString).pdf").path
        try pdf.write(to: URL(fileURLWithPath: path))
        let run = ExternalTool.run
        guard try run(["qpdf", "--version"]).0 == 0, try run(["python3", "-c", "import pypdf"]).0 == 0 else {
            print("ÜBERSPRUNGEN: PDF-Prüfung mit qpdf/pypdf – bitte installieren: apt-get install qpdf; pip install pypdf")
            return nil
        }
        let (rc, check) = try run(["qpdf", "--check", path])
        XCTAssertEqual(rc, 0, check)
        let (prc, json) = try run(["python3", Self.tools.appendingPathComponent("pdfcheck.py").path, path])
        XCTAssertEqual(prc, 0, json)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(obj["pdfa_part"] as? String, "2")
        return (obj["text"] as? [String] ?? []).joined(separator: "\n").split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    func testReceiptAndDecisionLetterReachTheApplicantAsPDF() async throws {
        let app = try await makeTestApp(demo: true)
        // the administration sets the letterhead; a wrong IBAN is refused in German
        let admin = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let a = Browser(app)
        try await a.login(admin)
        var r = try await a.get("/mandanten/16051/briefkopf")
        XCTAssertEqual(r.status, .ok)
        let fields = ["organisation": "Landeshauptstadt Erfurt", "strasse": "Fischmarkt 1", "plz": "99084", "ort": "Erfurt", "telefon": "0361 655-0",
                      "email": "buergeramt@erfurt.de", "website": "www.erfurt.de", "bank": "Sparkasse Mittelthüringen", "bic": "HELADEF1WEM"]
        r = try await a.post("/mandanten/16051/briefkopf", fields.merging(["iban": "DE02 1203 0000 0000 2020 52"]) { x, _ in x })
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("Die IBAN ist nicht gültig"))
        r = try await a.post("/mandanten/16051/briefkopf", fields.merging(["iban": "DE02 1203 0000 0000 2020 51"]) { x, _ in x })
        XCTAssertEqual(r.status, .seeOther, r.text)
        let clerkOnly = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let k = Browser(app)
        try await k.login(clerkOnly)
        r = try await k.get("/mandanten/16051/briefkopf")
        XCTAssertEqual(r.status, .forbidden, "the letterhead is the administration's")

        // the logo: files the PDF cannot embed are refused with the reason and nothing is stored
        let images = Self.tools.deletingLastPathComponent().appendingPathComponent("Fixtures/images")
        let png = try Data(contentsOf: images.appendingPathComponent("wappen-rgba.png"))
        try await a.get("/mandanten/16051/briefkopf")
        r = try await a.postMultipart("/mandanten/16051/briefkopf/logo", files: [("logo", "wappen.gif", Data("GIF89a\u{1}\u{0}".utf8))])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("kein PNG oder JPEG"), r.text)
        r = try await a.postMultipart("/mandanten/16051/briefkopf/logo", files: [("logo", "wappen.png", try Data(contentsOf: images.appendingPathComponent("wappen-zeilensprung.png")))])
        XCTAssertEqual(r.status, .unprocessableEntity)
        r = try await a.postMultipart("/mandanten/16051/briefkopf/logo", files: [])
        XCTAssertEqual(r.status, .badRequest)
        let unchanged = try await TenantLetterhead.query(on: app.db).filter(\.$tenantARS == "16051").first()?.logoSHA
        XCTAssertNil(unchanged)
        try await k.get("/mandanten/16051")
        r = try await k.postMultipart("/mandanten/16051/briefkopf/logo", files: [("logo", "wappen.png", png)])
        XCTAssertEqual(r.status, .forbidden, "a clerk may not change the logo")
        r = try await a.postMultipart("/mandanten/16051/briefkopf/logo", files: [("logo", "wappen.png", png)])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await a.get("/mandanten/16051/briefkopf")
        XCTAssertTrue(r.text.contains("PNG, 90 × 40 Bildpunkte"), r.text)
        r = try await a.get("/mandanten/16051/briefkopf/logo")
        XCTAssertEqual(r.headers.contentType?.description, "image/png")
        XCTAssertEqual(Data(r.body.readableBytesView), png)
        r = try await k.get("/mandanten/16051/briefkopf/logo")
        XCTAssertEqual(r.status, .forbidden)

        // a person with an account submits
        let (person, c) = try await ServicekontoTests.citizen(app, "max@example.org")
        let v = try await XCTUnwrapAsync(try await OnlineServiceCatalogue.latest("meldebescheinigung", on: app.db))
        let d = try v.decoded()
        let draft = Antrag()
        draft.tenantARS = "16051"; draft.tenantName = "Erfurt"; draft.slug = v.slug; draft.version = v.version; draft.serviceTitle = d.title.de
        draft.applicantID = person.id; draft.applicantName = "Max Muster"; draft.applicantEmail = "max@example.org"; draft.officeName = "Bürgeramt Erfurt"
        draft.status = Antrag.draft
        draft.setAnswers(["vorname": .text("Max"), "nachname": .text("Muster"), "geburtsdatum": .text("1980-01-01"),
                          "anschrift": .record(["strasse": "Anger", "hausnummer": "1", "plz": "99084", "ort": "Erfurt"]),
                          "umfang": .text("einfach"), "zustellung": .text("postfach")])
        draft.feeCents = 0; draft.notifyByEmail = false; draft.assigneeName = ""; draft.createdAt = Date(); draft.updatedAt = Date()
        try await draft.create(on: app.db)
        let sent = try await AntragService.submit(draft.id!, definition: d, activation: nil, app: app, actor: "konto:max@example.org", actorID: nil)
        let ref = try XCTUnwrap(sent.reference)

        let receiptMsg = try await XCTUnwrapAsync(try await PostboxMessage.query(on: app.db).filter(\.$kind == "eingang").filter(\.$antragID == sent.id!).first())
        r = try await c.get("/konto/postfach/\(receiptMsg.id!)")
        XCTAssertTrue(r.text.contains("Eingangsbestaetigung-\(ref).pdf"), r.text)
        let receiptRow = try await XCTUnwrapAsync(try await AntragFile.query(on: app.db).filter(\.$name == "Eingangsbestaetigung-\(ref).pdf").first())
        r = try await c.get("/konto/antraege/\(sent.id!)/dateien/\(receiptRow.id!)")
        XCTAssertEqual(r.status, .ok)
        XCTAssertEqual(r.headers.contentType?.subType, "pdf")
        let receipt = Data(r.body.readableBytesView)
        XCTAssertTrue(receipt.starts(with: Data("%PDF-1.7".utf8)))
        if let text = try independentRead(receipt) {
            for s in ["Eingangsbestätigung \(ref)", "Bürgeramt Erfurt", "Landeshauptstadt Erfurt", "Max Muster", "Anger", "Keine Anlagen."] {
                XCTAssertTrue(text.contains(s), "\(s) in \(text)")
            }
        }

        // the clerk decides: the letter with the letterhead is stored with the case and delivered
        try await k.get("/mandanten/16051/antraege/\(sent.id!)")
        r = try await k.postMultipart("/mandanten/16051/antraege/\(sent.id!)/status", fields: ["ziel": "in_bearbeitung"], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await k.postMultipart("/mandanten/16051/antraege/\(sent.id!)/status",
                                      fields: ["ziel": "abgeschlossen", "text": "Die Meldebescheinigung wird Ihnen zugestellt."], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let letterRow = try await XCTUnwrapAsync(try await AntragFile.query(on: app.db).filter(\.$name == "Bescheid-\(ref).pdf").first())
        XCTAssertNotNil(letterRow.messageID)
        r = try await c.get("/konto/postfach/\(letterRow.messageID!)")
        XCTAssertTrue(r.text.contains("Bescheid-\(ref).pdf"))
        r = try await c.get("/konto/antraege/\(sent.id!)/dateien/\(letterRow.id!)")
        XCTAssertEqual(r.status, .ok)
        let letterPDF = Data(r.body.readableBytesView)
        XCTAssertNotNil(letterPDF.range(of: Data("/SMask".utf8)), "the logo (with its transparency) is in the letter")
        if let text = try independentRead(letterPDF) {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("logo-\(UUID().uuidString).pdf")
            try letterPDF.write(to: path)
            let out = try ExternalTool.run(["python3", Self.tools.appendingPathComponent("imagecheck.py").path, path.path,
                                            images.appendingPathComponent("wappen-rgba.png").path]).output
            XCTAssertTrue(out.contains("\"max_difference\": 0"), "pypdf reads the tenant's logo back unchanged: \(out)")
            for s in ["Landeshauptstadt Erfurt", "Anger 1", "99084 Erfurt", ref, "Die Meldebescheinigung wird Ihnen zugestellt.",
                      "Rechtsbehelfsbelehrung", "IBAN DE02 1203 0000 0000 2020 51", "Test clerk", "Seite 1 von 1"] {
                XCTAssertTrue(text.contains(s), "\(s) in \(text)")
            }
        }
        // the clerk finds it in the case too; another person does not
        r = try await k.get("/mandanten/16051/antraege/\(sent.id!)/dateien/\(letterRow.id!)")
        XCTAssertEqual(r.status, .ok)
        let (_, stranger) = try await ServicekontoTests.citizen(app, "fremd@example.org")
        r = try await stranger.get("/konto/antraege/\(sent.id!)/dateien/\(letterRow.id!)")
        XCTAssertNotEqual(r.status, .ok)
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action == "letterhead.save").count()
        XCTAssertEqual(audit, 1)
        let logoAudit = try await AuditEntry.query(on: app.db).filter(\.$action == "letterhead.logo").count()
        XCTAssertEqual(logoAudit, 1)
        // removed, the next letters go without it
        try await a.get("/mandanten/16051/briefkopf")
        r = try await a.post("/mandanten/16051/briefkopf/logo/entfernen", [:])
        XCTAssertEqual(r.status, .seeOther)
        let removed = try await TenantLetterhead.query(on: app.db).filter(\.$tenantARS == "16051").first()?.logoSHA
        XCTAssertNil(removed)
    }
}
