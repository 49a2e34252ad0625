import Crypto
import Fluent
import Foundation
import RathausCore
import SQLKit
import Vapor
import XRechnung

/// A received, valid e-invoice bound to a Leitweg-ID of a tenant. The original bytes live in the
/// file storage under their SHA-256; this row holds what the inbox filters and shows.
final class EInvoice: Model, @unchecked Sendable {
    static let schema = "rechnungen"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "leitweg_id") var leitwegID: String
    @Field(key: "channel") var channel: String            // upload | api | formular
    @Field(key: "syntax") var syntax: String
    @Field(key: "sha256") var sha256: String
    @Field(key: "size") var size: Int
    @Field(key: "seller_key") var sellerKey: String        // VAT id, else tax number, else name: the duplicate key
    @Field(key: "seller_name") var sellerName: String
    @Field(key: "invoice_number") var invoiceNumber: String
    @Field(key: "type_code") var typeCode: String
    @OptionalField(key: "issue_date") var issueDate: String?
    @OptionalField(key: "due_date") var dueDate: String?
    @Field(key: "currency") var currency: String
    @Field(key: "amount_due_cents") var amountDueCents: Int64
    @Field(key: "total_cents") var totalCents: Int64
    @Field(key: "status") var status: String
    @OptionalField(key: "rejection_reason") var rejectionReason: String?
    @OptionalField(key: "factual_by") var factualBy: String?
    @OptionalField(key: "arithmetic_by") var arithmeticBy: String?
    @OptionalField(key: "released_by") var releasedBy: String?
    @Field(key: "receipt_hash") var receiptHash: String    // SHA-256 of the supplier's status token
    @OptionalField(key: "supplier_email") var supplierEmail: String?
    /// The supplier's Servicekonto (business account) when it sent the invoice signed in: its "my invoices".
    @OptionalField(key: "supplier_account_id") var supplierAccountID: UUID?
    @Field(key: "warnings") var warnings: Int
    @Field(key: "received_at") var receivedAt: Date
    @OptionalField(key: "exported_at") var exportedAt: Date?
    /// SHA-256 of tenant, seller identifier, number, issue date and total (`InvoiceIntake.businessKey`).
    @OptionalField(key: "business_key") var businessKey: String?
    /// The invoice this one may duplicate (status `moegliche_doublette` until a clerk decides).
    @OptionalField(key: "duplicate_of") var duplicateOf: UUID?
    init() {}
}

/// Duplicates by business key (issue 13): two columns, one `.update()` each, and a partial unique
/// index so that of parallel arrivals with one key exactly one is the original.
struct M019InvoiceBusinessKey: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(EInvoice.schema).field("business_key", .string).update()
        try await database.schema(EInvoice.schema).field("duplicate_of", .uuid).update()
        guard let sql = database as? any SQLDatabase else { return }
        // Same statement on SQLite and PostgreSQL (both have partial indexes).
        try await sql.raw("CREATE UNIQUE INDEX rechnungen_business_key_uq ON rechnungen (tenant_ars, business_key) WHERE business_key IS NOT NULL AND duplicate_of IS NULL").run()
    }

    func revert(on database: any Database) async throws {
        if let sql = database as? any SQLDatabase { try await sql.raw("DROP INDEX rechnungen_business_key_uq").run() }
        try await database.schema(EInvoice.schema).deleteField("duplicate_of").update()
        try await database.schema(EInvoice.schema).deleteField("business_key").update()
    }
}

/// Per-tenant inbox settings; no row means the defaults (four eyes on).
final class InvoiceSettings: Model, @unchecked Sendable {
    static let schema = "rechnung_einstellungen"
    @ID(custom: "tenant_ars", generatedBy: .user) var id: String?
    @Field(key: "four_eyes") var fourEyes: Bool
    init() {}
}

struct M011CreateInvoices: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(EInvoice.schema)
            .id()
            .field("tenant_ars", .string, .required)
            .field("leitweg_id", .string, .required)
            .field("channel", .string, .required)
            .field("syntax", .string, .required)
            .field("sha256", .string, .required)
            .field("size", .int, .required)
            .field("seller_key", .string, .required)
            .field("seller_name", .string, .required)
            .field("invoice_number", .string, .required)
            .field("type_code", .string, .required)
            .field("issue_date", .string)
            .field("due_date", .string)
            .field("currency", .string, .required)
            .field("amount_due_cents", .int64, .required)
            .field("total_cents", .int64, .required)
            .field("status", .string, .required)
            .field("rejection_reason", .string)
            .field("factual_by", .string)
            .field("arithmetic_by", .string)
            .field("released_by", .string)
            .field("receipt_hash", .string, .required)
            .field("supplier_email", .string)
            .field("warnings", .int, .required)
            .field("received_at", .datetime, .required)
            .field("exported_at", .datetime)
            .create()
        let sql = database as! any SQLDatabase
        // The same invoice (seller, number, bytes) is booked once, whatever instance receives it.
        try await sql.create(index: "rechnungen_dup_uq").unique().on(EInvoice.schema)
            .column("seller_key").column("invoice_number").column("sha256").run()
        try await sql.create(index: "rechnungen_tenant_idx").on(EInvoice.schema).column("tenant_ars").column("status").run()
        try await sql.create(index: "rechnungen_receipt_idx").on(EInvoice.schema).column("receipt_hash").run()
        try await database.schema(InvoiceSettings.schema)
            .field("tenant_ars", .string, .identifier(auto: false))
            .field("four_eyes", .bool, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(InvoiceSettings.schema).delete()
        try await database.schema(EInvoice.schema).delete()
    }
}

/// Who delivers an invoice and where it is stored: a web request, or a background channel.
struct IntakeContext: Sendable {
    let app: Application
    let db: any Database
    /// Audit actor, e.g. `anonym`, `token:rh_…`, `kanal:email`.
    let actor: String
    let actorID: String?
    /// The signed-in supplier's account, so the invoice shows in its "my invoices".
    var supplierAccountID: UUID? = nil
}

/// A way invoices arrive besides the web. E-mail (one mailbox per Leitweg-ID, IMAP or an SMTP
/// receiver) and Peppol (an access point handing over AS4 payloads) are planned as channels:
/// each fetches its messages and hands every XML, with an address for replies, to
/// `InvoiceIntake.receive(_:data:channel:supplierEmail:)`, then answers the sender with the
/// outcome. Nothing else in the portal changes when a channel is added.
protocol InvoiceChannel: Sendable {
    /// Stored with each invoice (`kanal`), e.g. "email", "peppol".
    var name: String { get }
    /// Fetches what arrived since the last call and delivers each document.
    func poll(_ ctx: IntakeContext, deliver: @Sendable (InboundDocument) async throws -> IntakeResult) async throws
}

struct InboundDocument: Sendable {
    var data: Data
    /// Where the sender wants the report (e-mail address, Peppol participant).
    var replyTo: String?
    /// The channel's own message id, so a redelivery can be recognised.
    var externalID: String
}

/// What an intake attempt produced.
enum IntakeResult: Sendable {
    case accepted(EInvoice, receipt: String, report: ValidationReport)
    case invalid(ValidationReport)
}

/// Receiving invoices from every channel: validate, route by BT-10, store durably, book once.
enum InvoiceIntake {
    static let validator = XRechnungValidator()

    /// Cents from a Decimal amount (two minor units; XRechnung amounts have at most two decimals).
    static func cents(_ v: DecimalValue?) -> Int64 {
        guard let v else { return 0 }
        var x = v.value * 100
        var r = Decimal()
        NSDecimalRound(&r, &x, 0, .bankers)
        return NSDecimalNumber(decimal: r).int64Value
    }

    static func routingError(_ raw: String?) -> AppError {
        let id = raw?.trimmingCharacters(in: .whitespaces) ?? ""
        if id.isEmpty {
            return AppError(.unprocessableEntity, "rechnung.leitweg_missing",
                            de: "Die Rechnung enthält keine Käuferreferenz (BT-10). Tragen Sie dort die Leitweg-ID der Kommune ein; Sie finden sie unter /leitweg-ids.",
                            en: "The invoice has no buyer reference (BT-10). Put the municipality's Leitweg-ID there; see /leitweg-ids.")
        }
        return AppError(.unprocessableEntity, "rechnung.leitweg_unknown",
                        de: "Die Leitweg-ID „\(id)“ aus der Käuferreferenz (BT-10) ist bei keiner Kommune dieser Plattform aktiv. Bitte prüfen Sie die Leitweg-ID unter /leitweg-ids und senden Sie die Rechnung erneut.",
                        en: "The Leitweg-ID '\(id)' in the buyer reference (BT-10) is not active on this platform. Look it up at /leitweg-ids.")
    }

    /// Validates off the event loop, routes, stores the bytes, and commits the row and the audit
    /// entry in one transaction before returning: an accepted invoice is never lost.
    static func receive(_ req: Request, data: Data, channel: String, supplierEmail: String? = nil) async throws -> IntakeResult {
        try await receive(IntakeContext(app: req.application, db: req.db, actor: req.principal.auditActor, actorID: req.principal.actorID,
                                        supplierAccountID: req.principal.citizen?.userID),
                          data: data, channel: channel, supplierEmail: supplierEmail ?? req.principal.citizen?.email)
    }

    /// The one entry point of every channel (web, API, form; e-mail and Peppol later, see
    /// `InvoiceChannel`): it needs no HTTP request, only the database and who delivered.
    static func receive(_ ctx: IntakeContext, data: Data, channel: String, supplierEmail: String? = nil) async throws -> IntakeResult {
        let app = ctx.app
        let report = try await app.withIntakeMemory(for: data, inflationBudget: validator.options.limits.maxBytes) {
            try await app.threadPool.runIfActive { validator.validate(data) }
        }
        guard report.isValid, let inv = report.invoice else { return .invalid(report) }
        let (e, receipt) = try await record(ctx, db: ctx.db, data: data, invoice: inv, report: report, channel: channel, supplierEmail: supplierEmail)
        let sha = e.sha256
        let summary = "\(e.sellerName), Nr. \(e.invoiceNumber), \(InvoiceController.amount(e.amountDueCents, e.currency))"
        do {
            try await book(e, ctx: ctx, channel: channel, summary: summary, receipt: receipt)
        } catch where (error as? any DatabaseError)?.isConstraintFailure == true {
            // Another request (or instance) booked the same invoice a moment ago: the same bytes
            // are a duplicate (409); the same business key with other bytes is held for the clerk.
            if let existing = try await EInvoice.query(on: ctx.db).filter(\.$sellerKey == e.sellerKey)
                .filter(\.$invoiceNumber == e.invoiceNumber).filter(\.$sha256 == sha).first() {
                throw duplicate(existing)
            }
            guard e.duplicateOf == nil, let first = try await original(of: e, on: ctx.db) else { throw error }
            e.status = InvoiceStatus.possibleDuplicate.rawValue
            e.duplicateOf = first.id
            try await book(e, ctx: ctx, channel: channel, summary: summary, receipt: receipt)
        }
        return .accepted(e, receipt: receipt, report: report)
    }

    /// Routes a valid invoice by BT-10, stores its bytes and builds its row (not yet saved): the
    /// part of the intake every channel shares, also the provider's own invoices to members, which
    /// book it inside their own transaction (`insert`).
    static func record(_ ctx: IntakeContext, db: any Database, data: Data, invoice inv: Invoice, report: ValidationReport,
                       channel: String, supplierEmail: String?) async throws -> (EInvoice, String) {
        let app = ctx.app

        // Routing: BT-10 carries the Leitweg-ID.
        let raw = inv.buyerReference ?? ""
        guard let lid = try? LeitwegID(raw),
              let entry = try await LeitwegEntry.query(on: db).filter(\.$leitwegID == lid.description).filter(\.$active == true).first() else {
            throw routingError(raw)
        }
        let sellerKey = [inv.seller.vatID, inv.seller.taxRegistrationID, inv.seller.name].compactMap { $0 }.first { !$0.isEmpty } ?? "unbekannt"
        let number = inv.number ?? ""
        let sha = try await app.files.put(data)
        if let existing = try await EInvoice.query(on: db).filter(\.$sellerKey == sellerKey)
            .filter(\.$invoiceNumber == number).filter(\.$sha256 == sha).first() {
            throw duplicate(existing)
        }
        var token = [UInt8](repeating: 0, count: 24)
        for i in token.indices { token[i] = UInt8.random(in: 0...255) }
        let receipt = Data(token).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let e = EInvoice()
        e.id = UUID()
        e.tenantARS = entry.tenantARS
        e.leitwegID = entry.leitwegID
        e.channel = channel
        e.syntax = inv.syntax.rawValue
        e.sha256 = sha
        e.size = data.count
        e.sellerKey = String(sellerKey.prefix(200))
        e.sellerName = String((inv.seller.name ?? "").prefix(300))
        e.invoiceNumber = String(number.prefix(200))
        e.typeCode = inv.typeCode ?? ""
        e.issueDate = inv.issueDate
        e.dueDate = inv.dueDate
        e.currency = inv.currency ?? "EUR"
        e.amountDueCents = cents(inv.totals.due)
        e.totalCents = cents(inv.totals.withVAT)
        e.status = InvoiceStatus.received.rawValue
        e.receiptHash = LocalFileStorage.hex(Data(receipt.utf8))
        e.supplierEmail = supplierEmail
        e.supplierAccountID = ctx.supplierAccountID
        e.warnings = report.warnings.count
        e.receivedAt = Date()
        e.businessKey = businessKey(tenant: entry.tenantARS, invoice: inv, totalCents: e.totalCents)
        if let first = try await original(of: e, on: db) {
            e.status = InvoiceStatus.possibleDuplicate.rawValue
            e.duplicateOf = first.id
        }
        return (e, receipt)
    }

    /// The business key of an invoice for one receiving tenant: seller identifier (VAT id, else
    /// tax number, else name; case and spaces ignored), invoice number (spaces at the ends
    /// ignored), issue date and total in cents. Equal keys with different bytes are a possible duplicate.
    static func businessKey(tenant: String, invoice inv: Invoice, totalCents: Int64) -> String {
        let seller = ([inv.seller.vatID, inv.seller.taxRegistrationID, inv.seller.name].compactMap { $0 }.first { !$0.isEmpty } ?? "")
            .uppercased().filter { !$0.isWhitespace }
        let number = (inv.number ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let text = [tenant, seller, number, inv.issueDate ?? "", String(totalCents)].joined(separator: "\u{1F}")
        return SHA256.hash(data: Data(text.utf8)).hex
    }

    /// The first invoice of this tenant with the same business key, if any.
    static func original(of e: EInvoice, on db: any Database) async throws -> EInvoice? {
        guard let key = e.businessKey else { return nil }
        return try await EInvoice.query(on: db).filter(\.$tenantARS == e.tenantARS).filter(\.$businessKey == key)
            .filter(\.$duplicateOf == nil).first()
    }

    /// Writes the invoice, its audit entry and the receipt mail in one transaction.
    static func book(_ e: EInvoice, ctx: IntakeContext, channel: String, summary: String, receipt: String) async throws {
        // the write gate: on SQLite one writer at a time (the audit chain reads, then writes)
        try await ctx.app.writeTransaction { db in
            try await insert(e, on: db, ctx: ctx, channel: channel, summary: summary, receipt: receipt)
        }
    }

    /// The row, its audit entry and the receipt mail, inside the caller's transaction.
    static func insert(_ e: EInvoice, on db: any Database, ctx: IntakeContext, channel: String, summary: String, receipt: String) async throws {
        let note = e.duplicateOf.map { " (mögliche Doublette von \($0.uuidString))" } ?? ""
        try await e.create(on: db)
        try await Audit.record(on: db, actor: ctx.actor, actorID: ctx.actorID, tenant: e.tenantARS, action: "rechnung.eingang",
                               objectType: "rechnung", objectID: e.id!.uuidString, before: nil, after: "\(channel): \(summary)\(note)")
        if let to = e.supplierEmail {
            try await Outbox.enqueue(on: db, key: "rechnung-eingang-\(e.id!.uuidString)", to: to,
                                     subject: "Eingangsbestätigung: Rechnung \(e.invoiceNumber)",
                                     body: InvoiceMails.received(e, statusURL: "\(ctx.app.rathaus.publicURL)/rechnungen/status/\(receipt)"))
        }
    }

    static func duplicate(_ existing: EInvoice) -> AppError {
        let date = GermanTime.format(existing.receivedAt, english: false)
        return AppError(.conflict, "rechnung.duplicate",
                        de: "Diese Rechnung (Nr. \(existing.invoiceNumber)) ist bereits am \(date) eingegangen und wird nicht doppelt gebucht.",
                        en: "This invoice (no. \(existing.invoiceNumber)) was already received on \(date); it is not booked twice.")
    }

    static func settings(_ db: any Database, _ tenant: String) async throws -> Bool {
        try await InvoiceSettings.find(tenant, on: db)?.fourEyes ?? true
    }

    /// One workflow step by the signed-in person; four eyes per tenant setting; audited.
    static func transition(_ req: Request, _ e: EInvoice, to target: InvoiceStatus, reason: String?) async throws {
        guard let from = InvoiceStatus(rawValue: e.status) else { throw AppError.notFound }
        let actor = req.principal.auditActor
        let fourEyes = try await settings(req.db, e.tenantARS)
        let steps = InvoiceSteps(factualBy: e.factualBy, arithmeticBy: e.arithmeticBy)
        if let refusal = InvoiceWorkflow.check(from: from, to: target, actor: actor, steps: steps, fourEyes: fourEyes, reason: reason) {
            throw AppError(refusal.code == "rechnung.transition" ? .conflict : (refusal.code == "rechnung.four_eyes" ? .forbidden : .badRequest), refusal, field: "grund")
        }
        let id = e.id!
        let tenant = e.tenantARS
        let trimmed = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        try await req.application.writeTransaction { db in
            // Re-read inside the transaction so two clerks cannot both move the same invoice.
            guard let fresh = try await EInvoice.find(id, on: db), fresh.status == from.rawValue else {
                throw AppError(.conflict, "rechnung.changed", de: "Die Rechnung wurde inzwischen von jemand anderem bearbeitet. Bitte laden Sie die Seite neu.",
                               en: "The invoice was changed meanwhile. Reload the page.")
            }
            fresh.status = target.rawValue
            switch target {
            case .factuallyChecked: fresh.factualBy = actor
            case .arithmeticallyChecked: fresh.arithmeticBy = actor
            case .released: fresh.releasedBy = actor
            case .rejected: fresh.rejectionReason = trimmed
            case .received, .possibleDuplicate: break
            }
            try await fresh.save(on: db)
            try await req.audit(on: db, "rechnung.status", tenant: tenant, objectType: "rechnung", objectID: id.uuidString,
                                before: from.rawValue, after: target == .rejected ? "\(target.rawValue): \(trimmed ?? "")" : target.rawValue)
            // The supplier hears of the outcome: rejected (with the reason) or released for payment.
            if let to = fresh.supplierEmail, target == .rejected || target == .released {
                try await Outbox.enqueue(on: db, key: "rechnung-\(target.rawValue)-\(id.uuidString)", to: to,
                                         subject: target == .rejected ? "Rechnung \(fresh.invoiceNumber) zurückgewiesen" : "Rechnung \(fresh.invoiceNumber) zur Zahlung freigegeben",
                                         body: InvoiceMails.decided(fresh, status: target))
            }
            e.status = fresh.status
            e.factualBy = fresh.factualBy
            e.arithmeticBy = fresh.arithmeticBy
            e.releasedBy = fresh.releasedBy
            e.rejectionReason = fresh.rejectionReason
        }
    }

    /// The stored original, checked against its hash before it is handed out.
    static func original(_ req: Request, _ e: EInvoice) async throws -> Data {
        guard let data = try? await req.application.files.get(e.sha256), LocalFileStorage.hex(data) == e.sha256 else {
            throw AppError(.internalServerError, "rechnung.storage", de: "Die Originaldatei ist nicht lesbar. Der Betrieb wurde informiert.", en: "The original file cannot be read.")
        }
        return data
    }
}

/// Texts of the mails to suppliers (German; the portal's working language).
enum InvoiceMails {
    static func received(_ e: EInvoice, statusURL: String) -> String {
        """
        Guten Tag,

        Ihre Rechnung \(e.invoiceNumber) ist am \(GermanTime.format(e.receivedAt, english: false)) bei der Kommune eingegangen
        (Leitweg-ID \(e.leitwegID)). Sie wurde geprüft und ist gültig.

        Den Bearbeitungsstand sehen Sie hier:
        \(statusURL)

        Diese Nachricht wurde automatisch erstellt.
        """
    }

    static func decided(_ e: EInvoice, status: InvoiceStatus) -> String {
        if status == .rejected {
            return """
            Guten Tag,

            Ihre Rechnung \(e.invoiceNumber) (Leitweg-ID \(e.leitwegID)) wurde von der Kommune zurückgewiesen.

            Grund: \(e.rejectionReason ?? "")

            Bitte stellen Sie bei Bedarf eine berichtigte Rechnung aus. Den Verlauf sehen Sie über den Link
            aus der Eingangsbestätigung.

            Diese Nachricht wurde automatisch erstellt.
            """
        }
        return """
        Guten Tag,

        Ihre Rechnung \(e.invoiceNumber) (Leitweg-ID \(e.leitwegID)) wurde sachlich und rechnerisch geprüft und
        zur Zahlung freigegeben.

        Diese Nachricht wurde automatisch erstellt.
        """
    }
}

/// "30.11.2026 um 14:05 Uhr" in Berlin time. Calendar is a value type: no shared formatter,
/// no formatter built per inbox row.
enum GermanTime {
    static let calendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "Europe/Berlin") ?? .current
        return c
    }()

    /// A moment in the installation's time zone: "15.03.2026 um 14:03 Uhr" (English "15/03/2026, 14:03").
    /// In the language of the page being rendered.
    static func format(_ d: Date) -> String { format(d, english: DisplayLanguage.english) }

    static func format(_ d: Date, english: Bool) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: d)
        func two(_ n: Int?) -> String { let v = n ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        if english { return "\(two(c.day))/\(two(c.month))/\(c.year ?? 0), \(two(c.hour)):\(two(c.minute))" }
        return "\(two(c.day)).\(two(c.month)).\(c.year ?? 0) um \(two(c.hour)):\(two(c.minute)) Uhr"
    }

    /// Midnight (Europe/Berlin) of an ISO date, for "from/to" filters.
    static func startOfDay(_ iso: String) -> Date? {
        let p = iso.split(separator: "-").compactMap { Int($0) }
        guard p.count == 3 else { return nil }
        var c = DateComponents(); c.year = p[0]; c.month = p[1]; c.day = p[2]
        return calendar.date(from: c)
    }
}

struct InvoiceDTO: Content {
    var id: UUID
    var mandant: String
    var leitwegId: String
    var status: String
    var statusText: String
    var rechnungsnummer: String
    var verkaeufer: String
    var rechnungsdatum: String?
    var faelligAm: String?
    var waehrung: String
    var faelligerBetragCent: Int64
    var gesamtbetragCent: Int64
    var syntax: String
    var sha256: String
    var kanal: String
    var eingegangenAm: Date
    var abgeholtAm: Date?
    var zurueckweisungsgrund: String?

    init(_ e: EInvoice) {
        id = e.id!
        mandant = e.tenantARS
        leitwegId = e.leitwegID
        status = e.status
        statusText = InvoiceStatus(rawValue: e.status)?.german ?? e.status
        rechnungsnummer = e.invoiceNumber
        verkaeufer = e.sellerName
        rechnungsdatum = e.issueDate
        faelligAm = e.dueDate
        waehrung = e.currency
        faelligerBetragCent = e.amountDueCents
        gesamtbetragCent = e.totalCents
        syntax = e.syntax
        sha256 = e.sha256
        kanal = e.channel
        eingegangenAm = e.receivedAt
        abgeholtAm = e.exportedAt
        zurueckweisungsgrund = e.rejectionReason
    }
}
