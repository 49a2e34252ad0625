import Fluent
import Foundation
import Procurement
import RathausCore
import SQLKit
import Vapor
import XRechnung

/// The provider's invoices to its members: XRechnung 3.0 (UBL) written by the platform's writer,
/// validated by the platform's validator before it leaves, and booked straight into the member's
/// e-invoice inbox through the normal intake — number, invoice, audit and the call-off's link in
/// one transaction, so the yearly sequence has no gaps and nothing is half-written.
enum ProcurementBilling {
    /// Why a member cannot be billed yet (German): shown as a task on its pages, and as the 409 reason.
    static func missing(_ db: any Database, tenant: String) async throws -> [String] {
        var out: [String] = []
        let leitweg = try await LeitwegEntry.query(on: db).filter(\.$tenantARS == tenant).filter(\.$active == true).first()
        if leitweg == nil {
            out.append("Es ist keine aktive Leitweg-ID hinterlegt: Rechnungen des IT-Dienstleisters können nicht zugestellt werden. Legen Sie unter „Leitweg-IDs“ eine an.")
        }
        let s = try await ProcurementSettings.find(tenant, on: db)
        if s == nil || s?.billingStreet.isEmpty == true || s?.billingPostCode.isEmpty == true || s?.billingCity.isEmpty == true {
            out.append("Die Rechnungsanschrift fehlt: Tragen Sie sie unter „Beschaffung: Einstellungen“ ein.")
        }
        return out
    }

    static func cents(_ c: Int64) -> DecimalValue { DecimalValue(Money(cents: c).decimalString)! }

    /// The invoice model for a call-off (number and dates given).
    static func invoice(number: String, issueDate: String, dueDate: String, seller p: ProviderBilling, buyerName: String, settings s: ProcurementSettings,
                        leitweg: String, callOff c: ProcurementCallOff?, lines: [ProcurementCallOffLine], frameworkReference: String?, deliveryDate: String,
                        typeCode: String = "380", quantities: [UUID: Int]? = nil, preceding: PrecedingInvoice? = nil, note: String? = nil) -> Invoice {
        var inv = Invoice(syntax: typeCode == "381" ? .ublCreditNote : .ublInvoice)
        inv.specificationID = Scenario.xrechnungID
        inv.processID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
        inv.number = number
        inv.issueDate = issueDate
        inv.typeCode = typeCode
        inv.currency = "EUR"
        inv.dueDate = typeCode == "381" ? nil : dueDate
        if let preceding { inv.precedingInvoices = [preceding] }
        if let note { inv.notes = [Note(subjectCode: nil, text: note)] }
        inv.buyerReference = leitweg
        inv.orderReference = c?.reference
        inv.contractReference = frameworkReference
        inv.paymentTerms = typeCode == "381" ? "Der Betrag wird bis \(CalendarDay.display(dueDate)) erstattet oder mit der nächsten Rechnung verrechnet."
            : "Zahlbar bis \(CalendarDay.display(dueDate)) ohne Abzug (\(p.paymentDays) Tage)."
        inv.seller.name = p.name
        inv.seller.vatID = p.vatID
        inv.seller.electronicAddress = Identifier(p.email, scheme: "EM")
        var sa = Address(); sa.line1 = p.street; sa.postCode = p.postCode; sa.city = p.city; sa.country = "DE"
        inv.seller.address = sa
        var contact = Contact(); contact.name = p.contactName; contact.phone = p.phone; contact.email = p.email
        inv.seller.contact = contact
        inv.buyer.name = buyerName
        inv.buyer.electronicAddress = Identifier(leitweg, scheme: "0204")
        var ba = Address(); ba.line1 = s.billingStreet; ba.postCode = s.billingPostCode; ba.city = s.billingCity; ba.country = "DE"
        inv.buyer.address = ba
        inv.delivery = Delivery(partyName: nil, locationID: nil, date: deliveryDate, address: nil)
        var pay = PaymentInstructions()
        pay.typeCode = "58"
        pay.remittanceInfo = number
        pay.creditTransfers = [CreditTransfer(accountID: p.iban.filter { !$0.isWhitespace }, accountName: p.name, providerID: nil)]
        inv.payment = [pay]
        // goods lines, then the provider's service fee for each item that carries one
        var n = 0
        var order: [OrderLine] = []
        // a credit note carries only the returned quantities
        let billed: [(ProcurementCallOffLine, Int)] = lines.map { ($0, quantities?[$0.id ?? UUID()] ?? (quantities == nil ? $0.quantity : 0)) }.filter { $0.1 > 0 }
        for (l, qty) in billed {
            n += 1
            var line = InvoiceLine()
            line.id = String(n)
            line.itemName = l.name
            line.sellersItemID = l.articleNumber
            line.quantity = DecimalValue(String(qty))
            line.unitCode = l.unitCode
            line.netPrice = cents(l.unitNetCents)
            line.netAmount = cents(Int64(qty) * l.unitNetCents)
            line.vatCategory = l.vatPercent == 0 ? "Z" : "S"
            line.vatRate = DecimalValue(String(l.vatPercent))
            inv.lines.append(line)
            order.append(OrderLine(articleNumber: l.articleNumber, name: l.name, quantity: qty, unitCode: l.unitCode, unitNetCents: l.unitNetCents, feeCents: l.feeCents, vatPercent: l.vatPercent))
        }
        for (l, qty) in billed where l.feeCents > 0 {
            n += 1
            var line = InvoiceLine()
            line.id = String(n)
            line.itemName = "Servicegebühr Beschaffung: \(l.name)"
            line.quantity = DecimalValue(String(qty))
            line.unitCode = l.unitCode
            line.netPrice = cents(l.feeCents)
            line.netAmount = cents(Int64(qty) * l.feeCents)
            line.vatCategory = l.vatPercent == 0 ? "Z" : "S"
            line.vatRate = DecimalValue(String(l.vatPercent))
            inv.lines.append(line)
        }
        let totals = OrderTotals(order)
        for r in totals.byRate {
            var b = VATBreakdown()
            b.category = r.percent == 0 ? "Z" : "S"
            b.rate = DecimalValue(String(r.percent))
            b.taxableAmount = cents(r.baseCents)
            b.taxAmount = cents(r.taxCents)
            inv.vatBreakdown.append(b)
        }
        inv.totals.lineNetSum = cents(totals.netCents)
        inv.totals.withoutVAT = cents(totals.netCents)
        inv.totals.vatTotal = cents(totals.vatCents)
        inv.totals.withVAT = cents(totals.grossCents)
        inv.totals.due = cents(totals.grossCents)
        return inv
    }

    /// Numbers, validates and books one provider document inside the caller's transaction: the next
    /// number of the year's gap-free sequence, the XML from the platform's writer, its validator
    /// (invalid → 422: the transaction rolls back and the number stays free), the intake into the
    /// member's inbox, and the `ProviderInvoice` row. The one path of invoices, credit notes and contributions.
    static func book(_ db: any Database, ctx: IntakeContext, seller p: ProviderBilling, tenant: String, kind: String, callOff: UUID?, netCents: Int64?,
                     issue: String, now: Date, label: String, build: (String) -> Invoice) async throws -> (ProviderInvoice, EInvoice) {
        let year = String(issue.prefix(4))
        let number = "DL-\(year)-" + String(format: "%05d", try await Sequences.next("dienstleister-rechnung-\(year)", on: db))
        let inv = build(number)
        let xml = Data(UBLWriter.write(inv).utf8)
        let report = InvoiceIntake.validator.validate(xml)
        guard report.isValid, let parsed = report.invoice else {
            let rules = report.errors.prefix(10).map(\.rule).joined(separator: ", ")
            throw AppError(.unprocessableEntity, "beschaffung.rechnung_ungueltig",
                           de: "Die erzeugte \(label) verletzt Regeln der XRechnung (\(rules)) und wurde nicht versandt. Bitte prüfen Sie die Stammdaten des Rechnungsstellers.",
                           en: "The generated document breaks XRechnung rules (\(rules)) and was not sent.")
        }
        let (e, receipt) = try await InvoiceIntake.record(ctx, db: db, data: xml, invoice: parsed, report: report, channel: "dienstleister", supplierEmail: nil)
        try await InvoiceIntake.insert(e, on: db, ctx: ctx, channel: "dienstleister",
                                       summary: "\(p.name), \(label) Nr. \(number), \(Money(cents: e.amountDueCents).formattedDE)", receipt: receipt)
        let pi = ProviderInvoice()
        pi.id = UUID(); pi.number = number; pi.kind = kind; pi.tenantARS = tenant; pi.callOffID = callOff; pi.einvoiceID = e.id!
        pi.netCents = netCents ?? InvoiceIntake.cents(parsed.totals.withoutVAT); pi.grossCents = e.totalCents; pi.issuedOn = issue
        pi.createdBy = ctx.actor; pi.createdAt = now
        try await pi.create(on: db)
        return (pi, e)
    }

    /// Bills a released call-off once: the invoice lands in the member's inbox like any supplier's.
    static func bill(_ app: Application, _ c: ProcurementCallOff, actor: any AuditActing, now: Date = Date()) async throws -> ProviderInvoice {
        guard CallOffStatus(rawValue: c.status)?.isOrdered == true else {
            throw AppError(.conflict, "beschaffung.rechnung_status", de: "Abgerechnet wird ein Abruf erst, wenn er beim Lieferanten bestellt ist.",
                           en: "A call-off is billed once it has been ordered from the supplier.")
        }
        guard c.invoiceID == nil else {
            throw AppError(.conflict, "beschaffung.rechnung_doppelt", de: "Der Abruf \(c.reference) ist schon abgerechnet.", en: "Call-off \(c.reference) has already been billed.")
        }
        guard let p = try await ProviderBilling.find("anbieter", on: app.db) else {
            throw AppError(.conflict, "beschaffung.rechnungssteller", de: "Die Stammdaten des Rechnungsstellers (Name, Anschrift, USt-IdNr., IBAN) fehlen. Bitte zuerst unter „Rechnungssteller“ eintragen.",
                           en: "The provider's billing details are missing; enter them under 'Billing details' first.")
        }
        let problems = try await missing(app.db, tenant: c.tenantARS)
        guard problems.isEmpty, let s = try await ProcurementSettings.find(c.tenantARS, on: app.db),
              let leitweg = try await LeitwegEntry.query(on: app.db).filter(\.$tenantARS == c.tenantARS).filter(\.$active == true).sort(\.$leitwegID).first(),
              let tenant = try await Gebiet.find(c.tenantARS, on: app.db) else {
            throw AppError(.conflict, "beschaffung.rechnungsempfaenger", de: "Dem Mitglied kann noch keine Rechnung zugestellt werden: " + problems.joined(separator: " "),
                           en: "The member cannot receive invoices yet (Leitweg-ID or billing address missing).")
        }
        guard let fw = try await ProcurementFramework.find(c.frameworkID, on: app.db) else { throw AppError.notFound }
        let lines = try await ProcurementCallOffLine.query(on: app.db).filter(\.$callOffID == c.id!).all()
        let issue = BusinessDate.today(now)
        let due = BusinessDate.today(now.addingTimeInterval(Double(p.paymentDays) * 86_400))
        let delivery = c.releasedAt.map { BusinessDate.today($0) } ?? issue
        let ctx = IntakeContext(app: app, db: app.db, actor: actor.auditActor, actorID: actor.actorID)
        do {
            return try await app.writeTransaction { db in
                let (pi, e) = try await book(db, ctx: ctx, seller: p, tenant: c.tenantARS, kind: "rechnung", callOff: c.id, netCents: c.netCents, issue: issue, now: now,
                                             label: "Rechnung") { number in
                    invoice(number: number, issueDate: issue, dueDate: due, seller: p, buyerName: tenant.name, settings: s, leitweg: leitweg.leitwegID,
                            callOff: c, lines: lines, frameworkReference: fw.reference, deliveryDate: delivery)
                }
                let number = pi.number
                guard let fresh = try await ProcurementCallOff.find(c.id!, on: db), fresh.invoiceID == nil else {
                    throw AppError(.conflict, "beschaffung.rechnung_doppelt", de: "Der Abruf \(c.reference) ist schon abgerechnet.", en: "Call-off \(c.reference) has already been billed.")
                }
                fresh.invoiceID = pi.id
                try await fresh.save(on: db)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: c.tenantARS, action: "beschaffung.rechnung",
                                       objectType: "abruf", objectID: c.id!.uuidString, before: nil,
                                       after: AuditFields.encode([("Rechnung", number), ("Empfänger", "\(tenant.name), Leitweg-ID \(leitweg.leitwegID)"),
                                                                  ("Brutto", Money(cents: e.totalCents).formattedDE)]))
                return pi
            }
        } catch where (error as? any DatabaseError)?.isConstraintFailure == true {
            throw AppError(.conflict, "beschaffung.rechnung_doppelt", de: "Der Abruf \(c.reference) ist schon abgerechnet.", en: "Call-off \(c.reference) has already been billed.")
        }
    }

    /// A credit note (type 381) for goods the member returned: the returned quantities at the
    /// billed prices (and fees), referring to the invoice (BG-3), through the same gap-free number
    /// sequence, validation and intake as the invoice. One credit note per call-off.
    static func creditNote(_ app: Application, _ c: ProcurementCallOff, quantities: [UUID: Int], reason: String, actor: any AuditActing, now: Date = Date()) async throws -> ProviderInvoice {
        guard let invoiceID = c.invoiceID, let original = try await ProviderInvoice.find(invoiceID, on: app.db) else {
            throw AppError(.conflict, "beschaffung.gutschrift_ohne_rechnung", de: "Eine Gutschrift gibt es erst, wenn der Abruf abgerechnet ist.", en: "A credit note needs the call-off to be billed first.")
        }
        guard let p = try await ProviderBilling.find("anbieter", on: app.db), let s = try await ProcurementSettings.find(c.tenantARS, on: app.db),
              let leitweg = try await LeitwegEntry.query(on: app.db).filter(\.$tenantARS == c.tenantARS).filter(\.$active == true).sort(\.$leitwegID).first(),
              let tenant = try await Gebiet.find(c.tenantARS, on: app.db), let fw = try await ProcurementFramework.find(c.frameworkID, on: app.db) else {
            throw AppError(.conflict, "beschaffung.rechnungsempfaenger", de: "Dem Mitglied kann derzeit keine Gutschrift zugestellt werden (Leitweg-ID oder Rechnungsanschrift fehlt).",
                           en: "The member cannot receive a credit note at the moment.")
        }
        let lines = try await ProcurementCallOffLine.query(on: app.db).filter(\.$callOffID == c.id!).all()
        for l in lines {
            guard let q = quantities[l.id!], q > 0 else { continue }
            guard q <= l.deliveredQuantity else {
                throw AppError.invalid("zurueck_\(l.id!.uuidString)", de: "Von „\(l.name)“ wurden nur \(l.deliveredQuantity) geliefert.", en: "Only \(l.deliveredQuantity) of \(l.name) were delivered.")
            }
        }
        guard quantities.values.contains(where: { $0 > 0 }) else {
            throw AppError.invalid("zurueck", de: "Bitte geben Sie mindestens eine zurückgegebene Menge an.", en: "Please enter at least one returned quantity.")
        }
        let issue = BusinessDate.today(now)
        let due = BusinessDate.today(now.addingTimeInterval(Double(p.paymentDays) * 86_400))
        let ctx = IntakeContext(app: app, db: app.db, actor: actor.auditActor, actorID: actor.actorID)
        do {
            return try await app.writeTransaction { db in
                let (pi, e) = try await book(db, ctx: ctx, seller: p, tenant: c.tenantARS, kind: "gutschrift", callOff: c.id, netCents: nil, issue: issue, now: now,
                                             label: "Gutschrift") { number in
                    invoice(number: number, issueDate: issue, dueDate: due, seller: p, buyerName: tenant.name, settings: s, leitweg: leitweg.leitwegID,
                            callOff: c, lines: lines, frameworkReference: fw.reference, deliveryDate: issue, typeCode: "381", quantities: quantities,
                            preceding: PrecedingInvoice(number: original.number, issueDate: original.issuedOn), note: "Gutschrift für Rücksendung: \(reason)")
                }
                let number = pi.number
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: c.tenantARS, action: "beschaffung.gutschrift",
                                       objectType: "abruf", objectID: c.id!.uuidString, before: nil,
                                       after: AuditFields.encode([("Gutschrift", number), ("zu Rechnung", original.number), ("Grund", reason), ("Brutto", Money(cents: e.totalCents).formattedDE)]))
                return pi
            }
        } catch where (error as? any DatabaseError)?.isConstraintFailure == true {
            throw AppError(.conflict, "beschaffung.gutschrift_doppelt", de: "Zu diesem Abruf gibt es schon eine Gutschrift.", en: "This call-off already has a credit note.")
        }
    }

    /// The annual membership contributions of `year`: one invoice per member in force that year
    /// with a contribution, at most once per member and year (unique index), each in its own
    /// transaction; members without Leitweg-ID or billing address are listed, not billed.
    static func billContributions(_ app: Application, year: Int, actor: any AuditActing, now: Date = Date()) async throws -> (billed: [String], skipped: [String]) {
        guard let p = try await ProviderBilling.find("anbieter", on: app.db) else {
            throw AppError(.conflict, "beschaffung.rechnungssteller", de: "Die Stammdaten des Rechnungsstellers fehlen. Bitte zuerst unter „Rechnungssteller“ eintragen.",
                           en: "The provider's billing details are missing.")
        }
        let fees = try await ProcurementFee.query(on: app.db).filter(\.$annualCents > 0).all()
        var billed: [String] = [], skipped: [String] = []
        for fee in fees {
            guard let ars = fee.id, let tenant = try await Gebiet.find(ars, on: app.db) else { continue }
            let m = try await MembershipService.membership(of: ars, on: app.db)
            let inForce = m.map { InHouse.mayCallOff(status: $0.state, effectiveFrom: $0.effectiveFrom, effectiveUntil: $0.effectiveUntil, on: "\(year)-12-31")
                || InHouse.mayCallOff(status: $0.state, effectiveFrom: $0.effectiveFrom, effectiveUntil: $0.effectiveUntil, on: "\(year)-01-01") } ?? false
            guard inForce else { continue }
            let kind = "beitrag-\(year)"
            if try await ProviderInvoice.query(on: app.db).filter(\.$tenantARS == ars).filter(\.$kind == kind).first() != nil { continue }
            guard try await missing(app.db, tenant: ars).isEmpty, let s = try await ProcurementSettings.find(ars, on: app.db),
                  let leitweg = try await LeitwegEntry.query(on: app.db).filter(\.$tenantARS == ars).filter(\.$active == true).sort(\.$leitwegID).first() else {
                skipped.append(tenant.name); continue
            }
            let line = ProcurementCallOffLine()
            line.id = UUID(); line.articleNumber = "BEITRAG-\(year)"; line.name = "Mitgliedsbeitrag \(year)"; line.unitCode = "ANN"; line.quantity = 1
            line.unitNetCents = fee.annualCents; line.feeCents = 0; line.vatPercent = fee.vatPercent; line.deliveredQuantity = 0
            let issue = BusinessDate.today(now)
            let due = BusinessDate.today(now.addingTimeInterval(Double(p.paymentDays) * 86_400))
            let ctx = IntakeContext(app: app, db: app.db, actor: actor.auditActor, actorID: actor.actorID)
            do {
                try await app.writeTransaction { db in
                    let (pi, e) = try await book(db, ctx: ctx, seller: p, tenant: ars, kind: kind, callOff: nil, netCents: fee.annualCents, issue: issue, now: now,
                                                 label: "Beitragsrechnung") { number in
                        var inv = invoice(number: number, issueDate: issue, dueDate: due, seller: p, buyerName: tenant.name, settings: s, leitweg: leitweg.leitwegID,
                                          callOff: nil, lines: [line], frameworkReference: nil, deliveryDate: issue)
                        inv.invoicingPeriod = Period(start: "\(year)-01-01", end: "\(year)-12-31", descriptionCode: nil)
                        return inv
                    }
                    let number = pi.number
                    try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: ars, action: "beschaffung.beitrag",
                                           objectType: "mitgliedsbeitrag", objectID: "\(ars)-\(year)", before: nil,
                                           after: AuditFields.encode([("Rechnung", number), ("Mitgliedsbeitrag", "\(year)"), ("Brutto", Money(cents: e.totalCents).formattedDE)]))
                }
                billed.append(tenant.name)
            } catch where (error as? any DatabaseError)?.isConstraintFailure == true {
                continue   // another instance billed this member a moment ago
            }
        }
        return (billed, skipped)
    }
}

/// The annual contribution the provider charges a member (set by purchasing).
final class ProcurementFee: Model, @unchecked Sendable {
    static let schema = "procurement_fees"
    @ID(custom: "tenant_ars", generatedBy: .user) var id: String?
    @Field(key: "annual_cents") var annualCents: Int64
    @Field(key: "vat_percent") var vatPercent: Int
    @Field(key: "updated_by") var updatedBy: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

struct M037CreateProcurementFees: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ProcurementFee.schema)
            .field("tenant_ars", .string, .identifier(auto: false))
            .field("annual_cents", .int64, .required).field("vat_percent", .int, .required)
            .field("updated_by", .string, .required).field("updated_at", .datetime, .required)
            .create()
        // one contribution invoice per member and year (kind "beitrag-<year>", no call-off)
        let sql = database as! any SQLDatabase
        try await sql.raw("CREATE UNIQUE INDEX procurement_invoices_period_uq ON procurement_invoices (tenant_ars, kind) WHERE calloff_id IS NULL").run()
    }

    func revert(on database: any Database) async throws {
        try await (database as! any SQLDatabase).raw("DROP INDEX procurement_invoices_period_uq").run()
        try await database.schema(ProcurementFee.schema).delete()
    }
}
