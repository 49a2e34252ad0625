import Fluent
import Procurement
import RathausCore
import SQLKit
import XCTVapor
import XCTest
import XRechnung
@testable import App

/// Procurement end to end over HTTP: the provider's purchasing sets up a framework, a member
/// calls off (in-house rule, four eyes above the threshold), purchasing releases (volume counted
/// once), records deliveries, and bills the member into its e-invoice inbox.
final class ProcurementAppTests: XCTestCase {
    static let erfurt = "16051"
    static let gera = "16052"

    /// Framework with one lot and two items through the purchasing pages; returns (framework, lot, items by article).
    static func setUpFramework(_ app: Application, buyer: Browser, maxVolume: String = "100.000,00") async throws -> (UUID, UUID, [String: UUID]) {
        try await buyer.get("/einkauf")
        var r = try await buyer.post("/einkauf/rahmenvertraege", ["aktenzeichen": "RV-T-1", "gegenstand": "Arbeitsplatz-IT", "beginn": "01.01.2026",
                                                                  "ende": "31.12.2099", "hoechstvolumen": maxVolume, "status": "aktiv"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let fw = try await XCTUnwrapAsync(try await ProcurementFramework.query(on: app.db).filter(\.$reference == "RV-T-1").first())
        try await buyer.get("/einkauf/rahmenvertraege/\(fw.id!.uuidString)")
        r = try await buyer.post("/einkauf/rahmenvertraege/\(fw.id!.uuidString)/lose", ["los": "1", "titel": "Hardware", "lieferant": "Hardware GmbH",
                                                                                        "anschrift": "Weg 5, 07743 Jena", "ustid": "DE987654321", "bestell_email": "bestellung@hardware.test"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let lot = try await XCTUnwrapAsync(try await ProcurementLot.query(on: app.db).filter(\.$frameworkID == fw.id!).first())
        let sheet = """
            artikelnummer;bezeichnung;einheit;preis_netto;ust_satz;mindestmenge;hoechstmenge;servicegebuehr;gueltig_ab;kategorie
            NB-14;Notebook 14 Zoll;C62;899,00;19;1;50;25,00;01.01.2026;Hardware
            MON-24;Bildschirm 24 Zoll;C62;189,00;19;1;100;;01.01.2026;Hardware
            """
        let fwPage = try await buyer.get("/einkauf/rahmenvertraege/\(fw.id!.uuidString)")
        XCTAssertEqual(fwPage.status, .ok, fwPage.text)
        r = try await buyer.postMultipart("/einkauf/lose/\(lot.id!.uuidString)/preisblatt", files: [("datei", "preise.csv", Data(sheet.utf8))])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let items = try await ProcurementItem.query(on: app.db).filter(\.$lotID == lot.id!).all()
        return (fw.id!, lot.id!, Dictionary(items.map { ($0.articleNumber, $0.id!) }, uniquingKeysWith: { a, _ in a }))
    }

    static func member(_ app: Application, _ ars: String, from: String = "2026-01-01", until: String? = nil) async throws {
        let m = Membership(tenantARS: ars)
        m.status = until == nil ? "member" : "notice_given"; m.effectiveFrom = from; m.effectiveUntil = until
        try await m.create(on: app.db)
    }

    func testCallOffFromCartToInvoiceInTheMembersInbox() async throws {
        let app = try await makeTestApp()
        let buyerUser = try await createUser(app, email: "einkauf@kiv.test", role: .procurement, tenant: nil)
        let clerkUser = try await createUser(app, email: "beschaffung@erfurt.test", role: .procurementClerk, tenant: Self.erfurt)
        let adminUser = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: Self.erfurt)
        let geraUser = try await createUser(app, email: "beschaffung@gera.test", role: .procurementClerk, tenant: Self.gera)
        let buyer = Browser(app); try await buyer.login(buyerUser)
        let (fwID, lotID, items) = try await Self.setUpFramework(app, buyer: buyer)
        XCTAssertEqual(items.count, 2)
        try await Self.member(app, Self.erfurt)

        // the public catalogue finds the notebook with a typo and shows German amounts
        let cat = try await Browser(app).get("/beschaffung?q=Notbook")
        XCTAssertEqual(cat.status, .ok)
        XCTAssertTrue(cat.text.contains("Notebook 14 Zoll") && !cat.text.contains("Bildschirm 24 Zoll"), cat.text)
        XCTAssertTrue(cat.text.contains("899,00 €"))

        // Gera is not a member: 403 with the in-house reason, nothing written
        let gera = Browser(app); try await gera.login(geraUser)
        var r = try await gera.get("/mandanten/\(Self.gera)/beschaffung/abruf?los=\(lotID.uuidString)")
        XCTAssertEqual(r.status, .forbidden)
        XCTAssertTrue(r.text.contains("Inhouse-Vergabe"), r.text)

        // Erfurt's clerk: bad quantity → 400 in German, the typed values kept, nothing written
        let clerk = Browser(app); try await clerk.login(clerkUser)
        try await clerk.get("/mandanten/\(Self.erfurt)/beschaffung/abruf?los=\(lotID.uuidString)")
        let nb = items["NB-14"]!.uuidString, mon = items["MON-24"]!.uuidString
        let future = CalendarDay.display(BusinessDate.today(Date().addingTimeInterval(14 * 86400)))
        var form = ["los": lotID.uuidString, "menge_\(nb)": "zwei", "lieferanschrift": "Fischmarkt 1, 99084 Erfurt", "liefertermin": future, "haushaltsstelle": "1.1.2.01"]
        r = try await clerk.post("/mandanten/\(Self.erfurt)/beschaffung/abrufe", form)
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("ist keine ganze Zahl größer als 0"), r.text)
        XCTAssertTrue(r.text.contains("Fischmarkt 1, 99084 Erfurt"))
        form["menge_\(nb)"] = "51"
        r = try await clerk.post("/mandanten/\(Self.erfurt)/beschaffung/abrufe", form)
        XCTAssertTrue(r.text.contains("muss 1 bis 50 Stück betragen"), r.text)
        let none = try await ProcurementCallOff.query(on: app.db).count()
        XCTAssertEqual(none, 0)

        // 6 notebooks + 2 screens = 6 × 924 + 2 × 189 = 5,922 € net > 5,000 € → waits for a second person
        form["menge_\(nb)"] = "6"; form["menge_\(mon)"] = "2"
        r = try await clerk.post("/mandanten/\(Self.erfurt)/beschaffung/abrufe", form)
        XCTAssertEqual(r.status, .seeOther, r.text)
        var c = try await XCTUnwrapAsync(try await ProcurementCallOff.query(on: app.db).first())
        XCTAssertEqual(c.status, CallOffStatus.awaitingApproval.rawValue)
        XCTAssertEqual(c.goodsCents, 6 * 89_900 + 2 * 18_900)
        XCTAssertEqual(c.feeCents, 6 * 2_500)
        XCTAssertEqual(c.vatCents, OrderTotals.tax(c.netCents, percent: 19))
        XCTAssertTrue(c.reference.hasPrefix("AB-"))
        let page = try await clerk.get("/mandanten/\(Self.erfurt)/beschaffung/abrufe/\(c.id!.uuidString)")
        XCTAssertTrue(page.text.contains("5.922,00 €"), page.text)
        // the membership page sums it up: one framework, one call-off waiting for approval
        let home = try await clerk.get("/mandanten/\(Self.erfurt)")
        XCTAssertEqual(home.status, .ok, home.text)
        XCTAssertTrue(home.text.contains("Laufende Abrufe: 1 (davon warten auf Genehmigung: 1)"), home.text)
        // the requester cannot approve it
        r = try await clerk.post("/mandanten/\(Self.erfurt)/beschaffung/abrufe/\(c.id!.uuidString)/genehmigen")
        XCTAssertEqual(r.status, .forbidden)
        XCTAssertTrue(r.text.contains("muss eine andere Person genehmigen"), r.text)
        let admin = Browser(app); try await admin.login(adminUser)
        try await admin.get("/mandanten/\(Self.erfurt)/beschaffung/abrufe/\(c.id!.uuidString)")
        r = try await admin.post("/mandanten/\(Self.erfurt)/beschaffung/abrufe/\(c.id!.uuidString)/genehmigen")
        XCTAssertEqual(r.status, .seeOther, r.text)

        // purchasing releases: volume counted once, the order mailed to the supplier with JSON
        try await buyer.get("/einkauf/abrufe/\(c.id!.uuidString)")
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/freigeben")
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/freigeben")
        XCTAssertEqual(r.status, .conflict)
        let fw = try await ProcurementFramework.find(fwID, on: app.db)
        XCTAssertEqual(fw?.releasedCents, c.netCents)
        let mail = try await XCTUnwrapAsync(try await OutboxMail.query(on: app.db).filter(\.$recipient == "bestellung@hardware.test").first())
        XCTAssertTrue(mail.body.contains("6 Stück Notebook 14 Zoll"), mail.body)
        let order = try JSONSerialization.jsonObject(with: Data((mail.attachment ?? "").utf8)) as? [String: Any]
        XCTAssertEqual(order?["orderNumber"] as? String, c.reference)
        XCTAssertEqual(order?["buyerARS"] as? String, Self.erfurt)
        // the order PDF travels with the mail: stored beside the JSON, rendered as a second MIME part
        let more = try await OutboxAttachment.query(on: app.db).filter(\.$mailKey == mail.key).all()
        XCTAssertEqual(more.count, 1)
        XCTAssertEqual(Data(base64Encoded: more.first?.content ?? "")?.prefix(5), Data("%PDF-".utf8))
        let raw = SMTPMailSender.render(MailMessage(to: mail.recipient, subject: mail.subject, body: mail.body, messageID: mail.key,
                                                    attachment: MailAttachment(name: "b.json", mediaType: "application/json", content: mail.attachment ?? ""),
                                                    more: more.map { MailAttachment(name: $0.name, mediaType: $0.mediaType, content: $0.content, base64: $0.base64) }), from: "rathaus@test")
        XCTAssertTrue(raw.contains("Content-Type: application/pdf\r\n") && raw.contains("Content-Type: application/json; charset=utf-8"), raw.prefix(2000).description)
        XCTAssertTrue(raw.contains("filename=\"bestellung-\(c.reference).pdf\""))
        let pdf = try await buyer.get("/einkauf/abrufe/\(c.id!.uuidString)/bestellung.pdf")
        XCTAssertEqual(pdf.headers.contentType?.subType, "pdf")

        // confirmation and two partial deliveries; then the member confirms receipt
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/bestaetigen", ["auftragsnummer": "HW-4711"])
        XCTAssertEqual(r.status, .seeOther)
        let lines = try await ProcurementCallOffLine.query(on: app.db).filter(\.$callOffID == c.id!).all()
        let nbLine = lines.first { $0.articleNumber == "NB-14" }!, monLine = lines.first { $0.articleNumber == "MON-24" }!
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/lieferung", ["geliefert_\(nbLine.id!.uuidString)": "7"])
        XCTAssertTrue(r.text.contains("sind nur noch 6 offen"), r.text)
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/lieferung", ["geliefert_\(nbLine.id!.uuidString)": "4"])
        c = try await XCTUnwrapAsync(try await ProcurementCallOff.find(c.id, on: app.db))
        XCTAssertEqual(c.status, CallOffStatus.partlyDelivered.rawValue)
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/lieferung", ["geliefert_\(nbLine.id!.uuidString)": "2", "geliefert_\(monLine.id!.uuidString)": "2"])
        c = try await XCTUnwrapAsync(try await ProcurementCallOff.find(c.id, on: app.db))
        XCTAssertEqual(c.status, CallOffStatus.delivered.rawValue)
        r = try await clerk.post("/mandanten/\(Self.erfurt)/beschaffung/abrufe/\(c.id!.uuidString)/abnehmen")
        XCTAssertEqual(r.status, .seeOther)

        // billing: without seller details, Leitweg-ID and billing address → 409 with German reasons; the member sees its tasks
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/abrechnen")
        XCTAssertEqual(r.status, .conflict)
        XCTAssertTrue(r.text.contains("Stammdaten des Rechnungsstellers"), r.text)
        try await buyer.get("/einkauf/rechnungssteller")
        r = try await buyer.post("/einkauf/rechnungssteller", ["name": "KIV", "strasse": "Weg 1", "plz": "99084", "ort": "Erfurt", "ustid": "DE123456789",
                                                             "iban": "DE02 1203 0000 0000 2020 51", "kontakt": "Einkauf", "telefon": "0361 1", "email": "einkauf@kiv.test", "zahlungsziel": "30"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/abrechnen")
        XCTAssertEqual(r.status, .conflict)
        XCTAssertTrue(r.text.contains("keine aktive Leitweg-ID"), r.text)
        var overview = try await clerk.get("/mandanten/\(Self.erfurt)/beschaffung")
        XCTAssertTrue(overview.text.contains("keine aktive Leitweg-ID") && overview.text.contains("Rechnungsanschrift fehlt"), overview.text)
        let lw = LeitwegEntry()
        lw.tenantARS = Self.erfurt; lw.leitwegID = try LeitwegID.make(grob: "16051", fein: nil).description; lw.label = "Erfurt"; lw.active = true
        try await lw.create(on: app.db)
        try await admin.get("/mandanten/\(Self.erfurt)/beschaffung/einstellungen")
        r = try await admin.post("/mandanten/\(Self.erfurt)/beschaffung/einstellungen", ["schwelle": "5.000,00", "strasse": "Fischmarkt 1", "plz": "9908", "ort": "Erfurt"])
        XCTAssertEqual(r.status, .badRequest)
        r = try await admin.post("/mandanten/\(Self.erfurt)/beschaffung/einstellungen", ["schwelle": "5.000,00", "strasse": "Fischmarkt 1", "plz": "99084", "ort": "Erfurt"])
        XCTAssertEqual(r.status, .seeOther)
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/abrechnen")
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/abrechnen")
        XCTAssertEqual(r.status, .conflict)
        let invoices = try await ProviderInvoice.query(on: app.db).all()
        XCTAssertEqual(invoices.count, 1)
        let year = BusinessDate.today().prefix(4)
        XCTAssertEqual(invoices.first?.number, "DL-\(year)-00001")
        // the invoice sits in Erfurt's inbox like any supplier's, valid XRechnung with BT-10 = Leitweg-ID
        let e = try await XCTUnwrapAsync(try await EInvoice.find(invoices.first?.einvoiceID, on: app.db))
        XCTAssertEqual(e.tenantARS, Self.erfurt)
        XCTAssertEqual(e.channel, "dienstleister")
        XCTAssertEqual(e.totalCents, c.netCents + c.vatCents)
        let xml = try await XCTUnwrapAsync(try await app.files.get(e.sha256))
        let report = XRechnungValidator().validate(xml)
        XCTAssertTrue(report.isValid, report.errors.map { "\($0.rule) \($0.messageDE)" }.joined(separator: "\n"))
        XCTAssertEqual(report.invoice?.buyerReference, lw.leitwegID)
        XCTAssertEqual(report.invoice?.orderReference, c.reference)
        overview = try await admin.get("/mandanten/\(Self.erfurt)/beschaffung")
        XCTAssertTrue(overview.text.contains("DL-\(year)-00001"), overview.text)
        let inbox = try await admin.get("/mandanten/\(Self.erfurt)/rechnungen")
        XCTAssertTrue(inbox.text.contains("DL-\(year)-00001"), inbox.text)
        // a returned notebook: credit note 381 referring to the invoice, next number of the same sequence
        try await buyer.get("/einkauf/abrufe/\(c.id!.uuidString)")
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/gutschrift", ["zurueck_\(nbLine.id!.uuidString)": "7", "grund": "defekt"])
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("wurden nur 6 geliefert"), r.text)
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/gutschrift", ["zurueck_\(nbLine.id!.uuidString)": "1", "grund": "Display defekt"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let credit = try await XCTUnwrapAsync(try await ProviderInvoice.query(on: app.db).filter(\.$kind == "gutschrift").first())
        XCTAssertEqual(credit.number, "DL-\(year)-00002")
        let ce = try await XCTUnwrapAsync(try await EInvoice.find(credit.einvoiceID, on: app.db))
        XCTAssertEqual(ce.typeCode, "381")
        XCTAssertEqual(ce.totalCents, OrderTotals([OrderLine(articleNumber: "NB-14", name: "", quantity: 1, unitCode: "C62", unitNetCents: 89_900, feeCents: 2_500, vatPercent: 19)]).grossCents)
        let cxml = try await XCTUnwrapAsync(try await app.files.get(ce.sha256))
        let creport = XRechnungValidator().validate(cxml)
        XCTAssertTrue(creport.isValid, creport.errors.map { "\($0.rule) \($0.messageDE)" }.joined(separator: "\n"))
        XCTAssertEqual(creport.invoice?.precedingInvoices.first?.number, "DL-\(year)-00001")
        r = try await buyer.post("/einkauf/abrufe/\(c.id!.uuidString)/gutschrift", ["zurueck_\(nbLine.id!.uuidString)": "1", "grund": "noch einer"])
        XCTAssertEqual(r.status, .conflict)
        let trail = try await AuditEntry.query(on: app.db).filter(\.$action ~~ ["beschaffung.abruf", "beschaffung.abruf_genehmigt", "beschaffung.abruf_freigegeben",
                                                                                 "beschaffung.lieferung", "beschaffung.abnahme", "beschaffung.rechnung"]).count()
        XCTAssertEqual(trail, 1 + 1 + 1 + 2 + 1 + 1)
        let creditAudit = try await AuditEntry.query(on: app.db).filter(\.$action == "beschaffung.gutschrift").count()
        XCTAssertEqual(creditAudit, 1)
        try await app.shutdownOnce()
    }

    func testPriceSheetIsAllOrNothingAndPricesAreVersioned() async throws {
        let app = try await makeTestApp()
        let buyerUser = try await createUser(app, email: "einkauf@kiv.test", role: .procurement, tenant: nil)
        let buyer = Browser(app); try await buyer.login(buyerUser)
        let (fwID, lotID, items) = try await Self.setUpFramework(app, buyer: buyer)
        let bad = """
            artikelnummer;bezeichnung;einheit;preis_netto;ust_satz;gueltig_ab
            NB-14;Notebook 14 Zoll;C62;949,00;19;01.07.2026
            NEU-1;Neu;Kiste;10;19;01.07.2026
            """
        let r = try await buyer.postMultipart("/einkauf/lose/\(lotID.uuidString)/preisblatt", files: [("datei", "preise.csv", Data(bad.utf8))])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("Zeile 3: Die Einheit „Kiste“ ist unbekannt"), r.text)
        var prices = try await ProcurementPrice.query(on: app.db).filter(\.$itemID == items["NB-14"]!).count()
        XCTAssertEqual(prices, 1, "nothing imported from a sheet with a bad line")
        let good = """
            artikelnummer;bezeichnung;einheit;preis_netto;ust_satz;gueltig_ab
            NB-14;Notebook 14 Zoll;C62;949,00;19;01.07.2099
            """
        let ok = try await buyer.postMultipart("/einkauf/lose/\(lotID.uuidString)/preisblatt", files: [("datei", "preise.csv", Data(good.utf8))])
        XCTAssertEqual(ok.status, .seeOther, ok.text)
        prices = try await ProcurementPrice.query(on: app.db).filter(\.$itemID == items["NB-14"]!).count()
        XCTAssertEqual(prices, 2)
        // today the old price applies, from 2099 the new one
        let today = try await ProcurementService.catalogue(app.db, day: BusinessDate.today(), framework: fwID).first { $0.item.articleNumber == "NB-14" }
        XCTAssertEqual(today?.price?.netCents, 89_900)
        let later = try await ProcurementService.catalogue(app.db, day: "2099-07-01", framework: fwID).first { $0.item.articleNumber == "NB-14" }
        XCTAssertEqual(later?.price?.netCents, 94_900)
        // columns the second sheet left out (fee, quantities, category) keep their values
        XCTAssertEqual(later?.item.feeCents, 2_500)
        XCTAssertEqual(later?.item.maxQuantity, 50)
        XCTAssertEqual(later?.item.category, "Hardware")
        // documents of the framework: checked by content, downloadable, audited
        try await buyer.get("/einkauf/rahmenvertraege/\(fwID.uuidString)")
        let fake = try await buyer.postMultipart("/einkauf/rahmenvertraege/\(fwID.uuidString)/dokumente", fields: ["art": "vertrag"],
                                                 files: [("dokument", "vertrag.pdf", Data("kein PDF".utf8))])
        XCTAssertEqual(fake.status, .unprocessableEntity, fake.text)
        let pdfData = Data("%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".utf8)
        let up = try await buyer.postMultipart("/einkauf/rahmenvertraege/\(fwID.uuidString)/dokumente", fields: ["art": "vertrag"],
                                               files: [("dokument", "Rahmenvertrag.pdf", pdfData)])
        XCTAssertEqual(up.status, .seeOther, up.text)
        let doc = try await XCTUnwrapAsync(try await ProcurementDocument.query(on: app.db).first())
        XCTAssertEqual(doc.kind, "vertrag")
        let dl = try await buyer.get("/einkauf/rahmenvertraege/\(fwID.uuidString)/dokumente/\(doc.id!.uuidString)")
        XCTAssertEqual(dl.status, .ok)
        XCTAssertEqual(Data(buffer: dl.body), pdfData)
        // a member that may call off from the framework reads its documents too; another member's path is 403
        try await Self.member(app, Self.erfurt)
        let clerkUser = try await createUser(app, email: "beschaffung@erfurt.test", role: .procurementClerk, tenant: Self.erfurt)
        let clerk = Browser(app); try await clerk.login(clerkUser)
        let overview = try await clerk.get("/mandanten/\(Self.erfurt)/beschaffung")
        let memberLink = "/mandanten/\(Self.erfurt)/beschaffung/rahmenvertraege/\(fwID.uuidString)/dokumente/\(doc.id!.uuidString)"
        XCTAssertTrue(overview.text.contains(memberLink), overview.text)
        let memberDL = try await clerk.get(memberLink)
        XCTAssertEqual(Data(buffer: memberDL.body), pdfData)
        let foreign = try await clerk.get("/mandanten/\(Self.gera)/beschaffung/rahmenvertraege/\(fwID.uuidString)/dokumente/\(doc.id!.uuidString)")
        XCTAssertEqual(foreign.status, .forbidden)
        // a duplicate reference is 409
        try await buyer.get("/einkauf")
        let dup = try await buyer.post("/einkauf/rahmenvertraege", ["aktenzeichen": "RV-T-1", "gegenstand": "X", "beginn": "01.01.2026", "ende": "31.12.2026"])
        XCTAssertEqual(dup.status, .conflict)
        XCTAssertTrue(dup.text.contains("ist schon vergeben"))
        try await app.shutdownOnce()
    }

    /// 50 call-offs of 1/10 of the volume released at once → exactly 10 released, the volume is
    /// never exceeded, every other release is a 409 with the German reason. On PostgreSQL the
    /// releases are split over two instances on the one database.
    func testParallelReleasesNeverExceedTheFrameworkVolume() async throws {
        let app = try await makeTestApp()
        var second: Application? = nil
        if let url = Environment.get("DATABASE_URL"), !url.isEmpty { second = try await makeSecondInstance(url) }
        let buyerUser = try await createUser(app, email: "einkauf@kiv.test", role: .procurement, tenant: nil)
        let buyer = Browser(app); try await buyer.login(buyerUser)
        // one notebook = 924 € net (price + fee): the volume fits ten
        let (fwID, lotID, items) = try await Self.setUpFramework(app, buyer: buyer, maxVolume: "9.240,00")
        try await Self.member(app, Self.erfurt)
        let g = try await XCTUnwrapAsync(try await Gebiet.find(Self.erfurt, on: app.db))
        let actor = SystemActor(auditActor: "user:test@erfurt.test")
        var ids: [UUID] = []
        for _ in 0..<50 {
            let c = try await ProcurementService.submit(app, tenant: g, input: .init(lot: lotID, quantities: [items["NB-14"]!: 1], deliveryAddress: "Erfurt",
                                                                                     deliveryDate: BusinessDate.today(), costCentre: "1", note: ""), actor: actor)
            ids.append(c.id!)
        }
        let apps = [app] + (second.map { [$0] } ?? [])
        let results = await withTaskGroup(of: String.self) { group in
            for (i, id) in ids.enumerated() {
                let target = apps[i % apps.count]
                group.addTask {
                    guard let c = try? await ProcurementCallOff.find(id, on: target.db) else { return "missing" }
                    do { try await ProcurementService.release(target, c, actor: SystemActor(auditActor: "user:einkauf@kiv.test")); return "ok" }
                    catch let e as AppError { return e.code } catch { return "\(error)" }
                }
            }
            var out: [String] = []
            for await r in group { out.append(r) }
            return out
        }
        XCTAssertEqual(results.filter { $0 == "ok" }.count, 10, "\(Set(results))")
        XCTAssertEqual(results.filter { $0 == "beschaffung.volumen" }.count, 40, "\(Set(results))")
        let released = try await ProcurementCallOff.query(on: app.db).filter(\.$status == CallOffStatus.released.rawValue).count()
        XCTAssertEqual(released, 10)
        let stillWaiting = try await ProcurementCallOff.query(on: app.db).filter(\.$status == CallOffStatus.submitted.rawValue).count()
        XCTAssertEqual(stillWaiting, 40, "a refused release leaves the call-off with purchasing")
        let fw = try await ProcurementFramework.find(fwID, on: app.db)
        XCTAssertEqual(fw?.releasedCents, 924_000)
        let mails = try await OutboxMail.query(on: app.db).filter(\.$recipient == "bestellung@hardware.test").count()
        XCTAssertEqual(mails, 10)
        if let second { try await second.shutdownOnce() }
        try await app.shutdownOnce()
    }

    /// A member that gave notice loses access on the effective date.
    func testNoticeEndsAccessOnTheEffectiveDate() async throws {
        let app = try await makeTestApp()
        let g = try await XCTUnwrapAsync(try await Gebiet.find(Self.erfurt, on: app.db))
        let today = BusinessDate.today()
        try await Self.member(app, Self.erfurt, from: "2020-01-01", until: today)
        do {
            try await ProcurementService.requireMember(app.db, tenant: g, day: today)
            XCTFail("a membership that ends today no longer allows call-offs")
        } catch let e as AppError {
            XCTAssertEqual(e.status, .forbidden)
            XCTAssertTrue(e.message(.de).contains("endete am \(CalendarDay.display(today))"), e.message(.de))
        }
        try await ProcurementService.requireMember(app.db, tenant: g, day: BusinessDate.today(Date().addingTimeInterval(-86400)))
        try await app.shutdownOnce()
    }

    func testAPIFrameworksItemsCallOffsAndOCDS() async throws {
        let app = try await makeTestApp()
        let provider = try await createToken(app, tenant: "16", scopes: [.beschaffung])
        let erfurtToken = try await createToken(app, tenant: Self.erfurt, scopes: [.beschaffung])
        let geraToken = try await createToken(app, tenant: Self.gera, scopes: [.beschaffung])
        try await Self.member(app, Self.erfurt)
        try await Self.member(app, Self.gera)
        // a member's token cannot create frameworks
        var r = try await api(app, .POST, "/api/v1/beschaffung/rahmenvertraege", token: erfurtToken, json: #"{"aktenzeichen":"RV-A","gegenstand":"X","beginn":"01.01.2026","ende":"31.12.2099"}"#)
        XCTAssertEqual(r.status, .forbidden)
        r = try await api(app, .POST, "/api/v1/beschaffung/rahmenvertraege", token: provider,
                          json: #"{"aktenzeichen":"RV-A","gegenstand":"Drucker","beginn":"01.01.2026","ende":"31.12.2099","hoechstvolumenCent":1000000,"status":"aktiv"}"#)
        XCTAssertEqual(r.status, .created, r.body.string)
        r = try await api(app, .POST, "/api/v1/beschaffung/rahmenvertraege", token: provider, json: #"{"aktenzeichen":"RV-A","gegenstand":"Drucker","beginn":"01.01.2026","ende":"31.12.2099"}"#)
        XCTAssertEqual(r.status, .conflict)
        r = try await api(app, .POST, "/api/v1/beschaffung/rahmenvertraege", token: provider, json: #"{"aktenzeichen":"RV-B","gegenstand":"Drucker","beginn":"31.02.2026","ende":"31.12.2099"}"#)
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertEqual(r.headers.contentType?.description.hasPrefix("application/problem+json"), true)
        let fw = try await XCTUnwrapAsync(try await ProcurementFramework.query(on: app.db).filter(\.$reference == "RV-A").first())
        let lot = try await ProcurementService.addLot(app, framework: fw.id!, input: .init(number: 1, title: "Drucker", supplierName: "Druck AG", supplierAddress: "Jena",
                                                                                        supplierVATID: "DE111111111", supplierEmail: "auftrag@druck.test"), actor: SystemActor(auditActor: "test"))
        r = try await api(app, .POST, "/api/v1/beschaffung/artikel", token: provider, json: #"{"los":"\#(lot.uuidString)","preisblatt":"artikelnummer;bezeichnung;einheit;preis_netto;ust_satz;gueltig_ab\nD1;Drucker A4;C62;abc;19;01.01.2026\n"}"#)
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.body.string.contains("Zeile 2: Der Nettopreis"), r.body.string)
        r = try await api(app, .POST, "/api/v1/beschaffung/artikel", token: provider, json: #"{"los":"\#(lot.uuidString)","preisblatt":"artikelnummer;bezeichnung;einheit;preis_netto;ust_satz;gueltig_ab\nD1;Drucker A4;C62;300,00;19;01.01.2026\n"}"#)
        XCTAssertEqual(r.status, .ok, r.body.string)
        // items are open data
        r = try await api(app, .GET, "/api/v1/beschaffung/artikel?los=\(lot.uuidString)")
        let items = try r.json()["items"] as? [[String: Any]]
        XCTAssertEqual(items?.first?["preisNettoCent"] as? Int, 30_000)
        let item = try XCTUnwrap(items?.first?["id"] as? String)
        r = try await api(app, .GET, "/api/v1/beschaffung/artikel?los=kaputt")
        XCTAssertEqual(r.status, .badRequest)
        // Erfurt calls off through its software; Gera sees none of it
        r = try await api(app, .POST, "/api/v1/beschaffung/abrufe", token: erfurtToken,
                          json: #"{"los":"\#(lot.uuidString)","positionen":[{"artikel":"\#(item)","menge":3}],"lieferanschrift":"Fischmarkt 1","liefertermin":"\#(BusinessDate.today())","haushaltsstelle":"1.2"}"#)
        XCTAssertEqual(r.status, .created, r.body.string)
        XCTAssertEqual(try r.json()["nettoCent"] as? Int, 90_000)
        XCTAssertEqual(try r.json()["status"] as? String, "eingereicht")
        r = try await api(app, .GET, "/api/v1/beschaffung/abrufe", token: geraToken)
        XCTAssertEqual(try r.json()["total"] as? Int, 0)
        r = try await api(app, .GET, "/api/v1/beschaffung/abrufe", token: erfurtToken)
        XCTAssertEqual(try r.json()["total"] as? Int, 1)
        r = try await api(app, .GET, "/api/v1/beschaffung/abrufe")
        XCTAssertEqual(r.status, .unauthorized)
        // released call-offs appear in the OCDS package with the member as buyer
        let c = try await XCTUnwrapAsync(try await ProcurementCallOff.query(on: app.db).first())
        try await ProcurementService.release(app, c, actor: SystemActor(auditActor: "test"))
        r = try await api(app, .GET, "/api/v1/beschaffung/ocds.json")
        XCTAssertEqual(r.status, .ok)
        let releases = try XCTUnwrap(try r.json()["releases"] as? [[String: Any]])
        let impl = try XCTUnwrap(releases.first { ($0["tag"] as? [String]) == ["implementation"] })
        XCTAssertEqual((impl["buyer"] as? [String: Any])?["id"] as? String, "DE-ARS-\(Self.erfurt)")
        XCTAssertEqual(impl["ocid"] as? String, "ocds-rathaus-RV-A")
        XCTAssertTrue(releases.contains { ($0["tag"] as? [String]) == ["contract"] })
        try await app.shutdownOnce()
    }

    func testDemandSurveyPerKreisAndTotalWithCSV() async throws {
        let app = try await makeTestApp()
        let buyerUser = try await createUser(app, email: "einkauf@kiv.test", role: .procurement, tenant: nil)
        let erfurtUser = try await createUser(app, email: "beschaffung@erfurt.test", role: .procurementClerk, tenant: Self.erfurt)
        let geraUser = try await createUser(app, email: "beschaffung@gera.test", role: .procurementClerk, tenant: Self.gera)
        let buyer = Browser(app); try await buyer.login(buyerUser)
        try await buyer.get("/einkauf/bedarf")
        let deadline = CalendarDay.display(BusinessDate.today(Date().addingTimeInterval(30 * 86400)))
        var form = ["titel": "Drucker 2027", "von": "2027", "bis": "2028", "frist": deadline, "artikel": "Drucker A4;C62\nToner;Kiste"]
        var r = try await buyer.post("/einkauf/bedarf", form)
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("Zeile 2: Die Einheit „Kiste“ ist unbekannt"), r.text)
        form["artikel"] = "Drucker A4;C62\nToner;PK"
        r = try await buyer.post("/einkauf/bedarf", form)
        XCTAssertEqual(r.status, .seeOther, r.text)
        let round = try await XCTUnwrapAsync(try await DemandRound.query(on: app.db).first())
        let items = try await DemandItem.query(on: app.db).filter(\.$roundID == round.id!).sort(\.$position).all()
        XCTAssertEqual(items.map(\.unitCode), ["C62", "PK"])
        let erfurt = Browser(app); try await erfurt.login(erfurtUser)
        let overview = try await erfurt.get("/mandanten/\(Self.erfurt)/beschaffung")
        XCTAssertTrue(overview.text.contains("Drucker 2027"), overview.text)
        let path = "/mandanten/\(Self.erfurt)/beschaffung/bedarf/\(round.id!.uuidString)"
        try await erfurt.get(path)
        let k = { (i: Int, y: Int) in "menge_\(items[i].id!.uuidString)_\(y)" }
        r = try await erfurt.post(path, [k(0, 2027): "zehn"])
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("ist keine ganze Zahl"), r.text)
        r = try await erfurt.post(path, [k(0, 2027): "10", k(0, 2028): "5", k(1, 2027): "40"])
        XCTAssertEqual(r.status, .seeOther)
        // a second answer replaces the first
        r = try await erfurt.post(path, [k(0, 2027): "12", k(0, 2028): "5", k(1, 2027): "40"])
        let gera = Browser(app); try await gera.login(geraUser)
        try await gera.get("/mandanten/\(Self.gera)/beschaffung/bedarf/\(round.id!.uuidString)")
        r = try await gera.post("/mandanten/\(Self.gera)/beschaffung/bedarf/\(round.id!.uuidString)", [k(0, 2027): "3"])
        XCTAssertEqual(r.status, .seeOther)
        // Gera's clerk cannot answer for Erfurt
        r = try await gera.post(path, [k(0, 2027): "999"])
        XCTAssertEqual(r.status, .forbidden)
        let results = try await ProcurementDemand.results(app.db, round: round)
        XCTAssertEqual(results.items[0].byYear[2027], 15)
        XCTAssertEqual(results.items[0].total, 20)
        XCTAssertEqual(results.items[1].total, 40)
        XCTAssertEqual(results.kreise.map(\.kreis), ["16051", "16052"])
        XCTAssertEqual(results.tenants, 2)
        let page = try await buyer.get("/einkauf/bedarf/\(round.id!.uuidString)")
        XCTAssertTrue(page.text.contains("Erfurt") && page.text.contains("Gera"), page.text)
        let csv = try await buyer.get("/einkauf/bedarf/\(round.id!.uuidString)/ergebnis.csv")
        XCTAssertTrue(csv.text.contains("\"Gesamt\";\"\";\"\";\"Drucker A4\";\"Stück\";\"alle\";\"20\""), csv.text)
        try await buyer.get("/einkauf/bedarf/\(round.id!.uuidString)")
        r = try await buyer.post("/einkauf/bedarf/\(round.id!.uuidString)/schliessen")
        XCTAssertEqual(r.status, .seeOther)
        r = try await erfurt.post(path, [k(0, 2027): "1"])
        XCTAssertEqual(r.status, .conflict)
        XCTAssertTrue(r.text.contains("ist geschlossen"), r.text)
        try await app.shutdownOnce()
    }

    func testAnnualContributionsBilledOncePerMemberAndYear() async throws {
        let app = try await makeTestApp()
        let buyerUser = try await createUser(app, email: "einkauf@kiv.test", role: .procurement, tenant: nil)
        let buyer = Browser(app); try await buyer.login(buyerUser)
        try await Self.member(app, Self.erfurt)
        try await Self.member(app, Self.gera)
        try await buyer.get("/einkauf/rechnungssteller")
        _ = try await buyer.post("/einkauf/rechnungssteller", ["name": "KIV", "strasse": "Weg 1", "plz": "99084", "ort": "Erfurt", "ustid": "DE123456789",
                                                             "iban": "DE02120300000000202051", "kontakt": "Einkauf", "telefon": "0361 1", "email": "einkauf@kiv.test", "zahlungsziel": "14"])
        let lw = LeitwegEntry()
        lw.tenantARS = Self.erfurt; lw.leitwegID = try LeitwegID.make(grob: "16051", fein: nil).description; lw.label = "Erfurt"; lw.active = true
        try await lw.create(on: app.db)
        let st = ProcurementSettings()
        st.id = Self.erfurt; st.approvalThresholdCents = 500_000; st.billingStreet = "Fischmarkt 1"; st.billingPostCode = "99084"; st.billingCity = "Erfurt"
        st.updatedBy = "test"; st.updatedAt = Date()
        try await st.create(on: app.db)
        let page = try await buyer.get("/einkauf/beitraege")
        XCTAssertTrue(page.text.contains("Erfurt") && page.text.contains("Gera"), page.text)
        var r = try await buyer.post("/einkauf/beitraege/\(Self.erfurt)", ["beitrag_\(Self.erfurt)": "zwölf", "ust_\(Self.erfurt)": "19"])
        XCTAssertEqual(r.status, .badRequest)
        r = try await buyer.post("/einkauf/beitraege/\(Self.erfurt)", ["beitrag_\(Self.erfurt)": "12.000,00", "ust_\(Self.erfurt)": "19"])
        XCTAssertEqual(r.status, .seeOther)
        r = try await buyer.post("/einkauf/beitraege/\(Self.gera)", ["beitrag_\(Self.gera)": "8.000,00", "ust_\(Self.gera)": "19"])
        XCTAssertEqual(r.status, .seeOther)
        let year = String(BusinessDate.today().prefix(4))
        r = try await buyer.post("/einkauf/beitraege/abrechnen", ["jahr": year])
        XCTAssertTrue(r.text.contains("1 Beitragsrechnung(en) für \(year) zugestellt"), r.text)
        XCTAssertTrue(r.text.contains("Nicht abgerechnet") && r.text.contains("Gera"), r.text)
        r = try await buyer.post("/einkauf/beitraege/abrechnen", ["jahr": year])
        XCTAssertTrue(r.text.contains("0 Beitragsrechnung(en)"), r.text)
        let invoices = try await ProviderInvoice.query(on: app.db).filter(\.$kind == "beitrag-\(year)").all()
        XCTAssertEqual(invoices.map(\.tenantARS), [Self.erfurt])
        let e = try await XCTUnwrapAsync(try await EInvoice.find(invoices.first?.einvoiceID, on: app.db))
        XCTAssertEqual(e.totalCents, 1_428_000)
        let xml = try await XCTUnwrapAsync(try await app.files.get(e.sha256))
        let report = XRechnungValidator().validate(xml)
        XCTAssertTrue(report.isValid, report.errors.map { "\($0.rule) \($0.messageDE)" }.joined(separator: "\n"))
        XCTAssertEqual(report.invoice?.invoicingPeriod?.start, "\(year)-01-01")
        try await app.shutdownOnce()
    }
}
