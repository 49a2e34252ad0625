import Fluent
import Foundation
import RathausCore
import SQLKit
import Vapor
import XRechnung

/// E-Rechnungsportal: intake (API, web upload), the supplier's status view, the municipal
/// accounting inbox with the four-eyes workflow, and the pull API for finance software.
struct InvoiceController {
    /// XRechnung files may embed attachments; 20 MB per file is the validator's own bound.
    static let maxInvoiceBytes = 20 * 1024 * 1024

    func addRoutes(api: any RoutesBuilder, web: any RoutesBuilder) {
        api.on(.POST, "rechnungen", body: .collect(maxSize: "21mb"), use: apiReceive)
        api.get("rechnungen", use: apiList)
        api.get("rechnungen", ":id", use: apiShow)
        api.get("rechnungen", ":id", "xml", use: apiXML)
        api.post("rechnungen", ":id", "abholung", use: apiAcknowledge)
        api.get("rechnungsstatus", ":token", use: apiStatus)
        web.get("rechnungen", "einreichen", use: uploadPage)
        web.on(.POST, "rechnungen", "einreichen", body: .collect(maxSize: "50mb"), use: upload)
        web.get("rechnungen", "status", ":token", use: statusPage)
        web.get("mandanten", ":ars", "rechnungen", use: inbox)
        web.post("mandanten", ":ars", "rechnungen", "einstellungen", use: saveSettings)
        web.get("mandanten", ":ars", "rechnungen", ":id", use: detail)
        web.post("mandanten", ":ars", "rechnungen", ":id", "status", use: step)
        web.get("mandanten", ":ars", "rechnungen", ":id", "xml", use: webXML)
        web.get("mandanten", ":ars", "rechnungen", ":id", "anlagen", ":n", use: attachment)
    }

    // MARK: - API

    struct AcceptedDTO: Content {
        var id: UUID
        var status: String
        var statusText: String
        var leitwegId: String
        var mandant: String
        var statusUrl: String
        var warnungen: [FindingDTO]
    }

    struct FindingDTO: Content {
        var regel: String
        var art: String
        var stelle: String
        var meldung: String
        init(_ f: Finding) { regel = f.rule; art = f.severity.rawValue; stelle = f.location; meldung = f.messageDE }
    }

    struct RejectedProblem: Content {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var code: String
        var syntax: String?
        var fehler: [FindingDTO]
        var warnungen: [FindingDTO]
    }

    /// `POST /api/v1/rechnungen`: body is the XML. 201 with id and status, 422 with the report,
    /// 409 for a duplicate. The row is committed before the answer.
    @Sendable func apiReceive(req: Request) async throws -> Response {
        guard let ct = req.headers.contentType,
              ((ct.type == "application" || ct.type == "text") && ct.subType == "xml") || (ct.type == "application" && ct.subType == "pdf") else {
            throw AppError(.unsupportedMediaType, "unsupported_media_type", de: "Bitte senden Sie die Rechnung als XML (Content-Type: application/xml) oder als ZUGFeRD/Factur-X-PDF (application/pdf).",
                           en: "Send the invoice as XML (Content-Type: application/xml) or as ZUGFeRD/Factur-X PDF (application/pdf).")
        }
        guard let buffer = req.body.data, buffer.readableBytes > 0 else {
            throw AppError(.badRequest, "rechnung.empty", de: "Der Inhalt der Anfrage ist leer. Senden Sie die XRechnung als XML im Inhalt.", en: "Empty body.")
        }
        try await req.admitInvoices(1)
        let data = Data(buffer: buffer)
        switch try await InvoiceIntake.receive(req, data: data, channel: "api") {
        case .accepted(let e, let receipt, let report):
            let dto = AcceptedDTO(id: e.id!, status: e.status, statusText: InvoiceStatus.received.german, leitwegId: e.leitwegID, mandant: e.tenantARS,
                                  statusUrl: "/rechnungen/status/\(receipt)", warnungen: report.warnings.map(FindingDTO.init))
            let res = try await dto.encodeResponse(status: .created, for: req)
            res.headers.replaceOrAdd(name: .location, value: "/api/v1/rechnungsstatus/\(receipt)")
            return res
        case .invalid(let report):
            return try Self.problem422(report)
        }
    }

    static func problem422(_ report: ValidationReport) throws -> Response {
        let errs = report.errors
        let p = RejectedProblem(type: "https://rathaus.example/probleme/rechnung.invalid", title: "Unprocessable Entity", status: 422,
                                detail: "Die Rechnung ist nicht gültig (\(errs.count) Fehler) und wurde nicht angenommen. Die Befunde nennen je Regel, was zu ändern ist.",
                                code: "rechnung.invalid", syntax: report.syntax?.rawValue,
                                fehler: errs.map(FindingDTO.init), warnungen: report.warnings.map(FindingDTO.init))
        let res = Response(status: .unprocessableEntity)
        res.headers.replaceOrAdd(name: .contentType, value: "application/problem+json; charset=utf-8")
        res.body = .init(data: try JSONEncoder().encode(p))
        return res
    }

    struct StatusDTO: Content {
        var rechnungsnummer: String
        var leitwegId: String
        var status: String
        var statusText: String
        var eingegangenAm: Date
        var zurueckweisungsgrund: String?
    }

    static func byReceipt(_ req: Request) async throws -> EInvoice {
        let token = req.parameters.get("token") ?? ""
        guard token.count >= 20, token.count <= 64, token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }),
              let e = try await EInvoice.query(on: req.db).filter(\.$receiptHash == LocalFileStorage.hex(Data(token.utf8))).first() else {
            throw AppError(.notFound, "rechnung.unknown", de: "Zu diesem Link gibt es keine Rechnung. Bitte prüfen Sie den Link aus der Eingangsbestätigung.",
                           en: "No invoice for this link.")
        }
        return e
    }

    /// The supplier's view: status and, when rejected, the reason. Only with the receipt token.
    @Sendable func apiStatus(req: Request) async throws -> StatusDTO {
        let e = try await Self.byReceipt(req)
        return StatusDTO(rechnungsnummer: e.invoiceNumber, leitwegId: e.leitwegID, status: e.status,
                         statusText: InvoiceStatus(rawValue: e.status)?.german ?? e.status, eingegangenAm: e.receivedAt, zurueckweisungsgrund: e.rejectionReason)
    }

    static func own(_ req: Request, _ action: Action) async throws -> EInvoice {
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)), let e = try await EInvoice.find(id, on: req.db) else {
            if case .anonymous = req.principal { throw AppError.unauthenticated }
            throw AppError(.notFound, "rechnung.unknown", de: "Diese Rechnung gibt es nicht.", en: "No such invoice.")
        }
        if let ars = req.parameters.get("ars"), ars != e.tenantARS {
            throw AppError(.notFound, "rechnung.unknown", de: "Diese Rechnung gibt es nicht.", en: "No such invoice.")
        }
        // Another tenant's invoice looks exactly like a missing one.
        if case .anonymous = req.principal { throw AppError.unauthenticated }
        guard req.can(action, tenant: e.tenantARS) else {
            throw AppError(.notFound, "rechnung.unknown", de: "Diese Rechnung gibt es nicht.", en: "No such invoice.")
        }
        return e
    }

    struct Filter {
        var status: InvoiceStatus?
        var supplier: String?
        var from: String?
        var to: String?
        var dueBefore: String?
        var minCents: Int64?
        var maxCents: Int64?
        var exported: Bool?

        static func parse(_ req: Request) throws -> Filter {
            var f = Filter()
            let q = req.queryParams
            if let s = q["status"], !s.isEmpty {
                guard let st = InvoiceStatus(rawValue: s) else {
                    throw AppError.invalid("status", de: "Unbekannter Status. Möglich: \(InvoiceStatus.allCases.map(\.rawValue).joined(separator: ", ")).", en: "Unknown status.")
                }
                f.status = st
            }
            if let s = q["lieferant"], !s.trimmingCharacters(in: .whitespaces).isEmpty {
                guard s.count <= 100 else { throw AppError.invalid("lieferant", de: "Der Suchbegriff ist zu lang.", en: "Too long.") }
                f.supplier = s.trimmingCharacters(in: .whitespaces)
            }
            func date(_ key: String) throws -> String? {
                try BusinessDate.parse(q[key], field: key, label: "das Datum", required: false)
            }
            f.from = try date("von")
            f.to = try date("bis")
            f.dueBefore = try date("faellig_bis")
            func amount(_ key: String) throws -> Int64? {
                guard let v = q[key], !v.isEmpty else { return nil }
                do { return try Money(parsing: v).cents } catch {
                    throw AppError.invalid(key, de: "Bitte geben Sie den Betrag als Zahl an, z. B. 1.250,00.", en: "Give the amount as a number.")
                }
            }
            f.minCents = try amount("betrag_ab")
            f.maxCents = try amount("betrag_bis")
            if let a = q["abgeholt"], !a.isEmpty {
                switch a { case "ja", "true": f.exported = true; case "nein", "false": f.exported = false
                default: throw AppError.invalid("abgeholt", de: "„abgeholt“ ist ja oder nein.", en: "abgeholt is ja or nein.") }
            }
            return f
        }

        func apply(_ q: QueryBuilder<EInvoice>, db: any Database) -> QueryBuilder<EInvoice> {
            var q = q
            if let status { q = q.filter(\.$status == status.rawValue) }
            if let supplier {
                if let sql = db as? any SQLDatabase, sql.dialect.name == "postgresql" {
                    q = q.filter(\.$sellerName, .custom("ILIKE"), "%\(supplier)%")
                } else {
                    q = q.filter(\.$sellerName ~~ supplier)
                }
            }
            if let from { q = q.filter(\.$issueDate >= from) }
            if let to { q = q.filter(\.$issueDate <= to) }
            if let dueBefore { q = q.filter(\.$dueDate <= dueBefore) }
            if let minCents { q = q.filter(\.$amountDueCents >= minCents) }
            if let maxCents { q = q.filter(\.$amountDueCents <= maxCents) }
            if let exported { q = exported ? q.filter(\.$exportedAt != nil) : q.filter(\.$exportedAt == nil) }
            return q
        }
    }

    /// `GET /api/v1/rechnungen?status=freigegeben&abgeholt=nein`: the token's tenant only.
    @Sendable func apiList(req: Request) async throws -> ListEnvelope<InvoiceDTO> {
        try req.authorize(.invoiceView, tenant: req.principal.token?.tenantARS ?? req.principal.staff?.tenantARS)
        let filter = try Filter.parse(req)
        let paging = try Paging.from(req, defaultLimit: 100, maxLimit: 500)
        let offset = try paging.cursor.map { c -> Int in
            guard let n = Int(c), n >= 0 else { throw AppError.invalid("cursor", de: "Der Cursor ist ungültig.", en: "Invalid cursor.") }
            return n
        } ?? 0
        let base = filter.apply(EInvoice.query(on: req.db).scoped(to: req.principal, for: .invoiceView, tenantField: \.$tenantARS), db: req.db)
        let total = try await base.copy().count()
        let rows = try await base.sort(\.$receivedAt).sort(\.$id).range(offset..<(offset + paging.limit)).all()
        let next = offset + rows.count < total ? String(offset + rows.count) : nil
        return ListEnvelope(items: rows.map(InvoiceDTO.init), total: total, next: next)
    }

    @Sendable func apiShow(req: Request) async throws -> InvoiceDTO {
        InvoiceDTO(try await Self.own(req, .invoiceView))
    }

    @Sendable func apiXML(req: Request) async throws -> Response {
        let e = try await Self.own(req, .invoiceView)
        return Self.xmlResponse(try await InvoiceIntake.original(req, e), e)
    }

    static func xmlResponse(_ data: Data, _ e: EInvoice) -> Response {
        let res = Response(status: .ok, body: .init(data: data))
        // The original as received: XML, or the ZUGFeRD/Factur-X PDF it came in.
        let pdf = data.starts(with: Array("%PDF-".utf8))
        res.headers.replaceOrAdd(name: .contentType, value: pdf ? "application/pdf" : "application/xml")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"rechnung-\(e.id!.uuidString).\(pdf ? "pdf" : "xml")\"")
        res.headers.replaceOrAdd(name: "Digest", value: "sha-256=\(Data(hexString: e.sha256)?.base64EncodedString() ?? "")")
        return res
    }

    /// Finance software marks an invoice as taken over; idempotent, audited once.
    @Sendable func apiAcknowledge(req: Request) async throws -> InvoiceDTO {
        let e = try await Self.own(req, .invoiceExport)
        guard req.can(.invoiceExport, tenant: e.tenantARS) else { throw AppError.forbidden }
        if e.exportedAt == nil {
            let tenant = e.tenantARS
            try await req.db.transaction { db in
                e.exportedAt = Date()
                try await e.save(on: db)
                try await req.audit(on: db, "rechnung.abholung", tenant: tenant, objectType: "rechnung", objectID: e.id!.uuidString, after: "abgeholt")
            }
        }
        return InvoiceDTO(e)
    }

    // MARK: - supplier pages

    struct UploadView: Encodable {
        var results: [UploadResult]
        var hasResults: Bool
        var email: String
    }

    struct UploadResult: Encodable {
        var file: String
        var accepted: Bool
        var statusURL: String
        var leitwegId: String
        var message: String
        var findings: [FindingDTO]
        var hasFindings: Bool
    }

    @Sendable func uploadPage(req: Request) async throws -> Response {
        try await req.render("rechnungen/einreichen", title: req.t("inv_upload_title"), UploadView(results: [], hasResults: false, email: ""), form: true)
    }

    struct UploadForm: Content {
        var dateien: [File]?
        var email: String?
    }

    @Sendable func upload(req: Request) async throws -> Response {
        let form = try? req.content.decode(UploadForm.self)
        let files = (form?.dateien ?? []).filter { $0.data.readableBytes > 0 }
        let email = form?.email?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !files.isEmpty else {
            return try await req.renderError("rechnungen/einreichen", title: req.t("inv_upload_title"), UploadView(results: [], hasResults: false, email: email),
                                             AppError.invalid("dateien", de: "Bitte wählen Sie mindestens eine XML-Datei aus.", en: "Choose at least one XML file."))
        }
        if !email.isEmpty, email.count > 200 || !email.contains("@") {
            return try await req.renderError("rechnungen/einreichen", title: req.t("inv_upload_title"), UploadView(results: [], hasResults: false, email: email),
                                             AppError.invalid("email", de: "Bitte geben Sie eine gültige E-Mail-Adresse an oder lassen Sie das Feld leer.", en: "Invalid e-mail."))
        }
        do { try await req.admitInvoices(min(files.count, 20)) } catch let e as AppError {
            return try await req.renderError("rechnungen/einreichen", title: req.t("inv_upload_title"), UploadView(results: [], hasResults: false, email: email), e)
        }
        var results: [UploadResult] = []
        for f in files.prefix(20) {
            let name = String(f.filename.prefix(200))
            do {
                switch try await InvoiceIntake.receive(req, data: Data(buffer: f.data), channel: "upload", supplierEmail: email.isEmpty ? nil : email) {
                case .accepted(let e, let receipt, let report):
                    results.append(UploadResult(file: name, accepted: true, statusURL: "/rechnungen/status/\(receipt)", leitwegId: e.leitwegID,
                                                message: req.t("inv_accepted"), findings: report.warnings.map(FindingDTO.init), hasFindings: !report.warnings.isEmpty))
                case .invalid(let report):
                    results.append(UploadResult(file: name, accepted: false, statusURL: "", leitwegId: "",
                                                message: req.t("inv_rejected"), findings: report.errors.map(FindingDTO.init), hasFindings: true))
                }
            } catch let e as AppError {
                results.append(UploadResult(file: name, accepted: false, statusURL: "", leitwegId: "", message: e.message(req.lang), findings: [], hasFindings: false))
            }
        }
        let anyAccepted = results.contains { $0.accepted }
        return try await req.render("rechnungen/einreichen", title: req.t("inv_upload_title"), UploadView(results: results, hasResults: true, email: email),
                                    status: anyAccepted ? .ok : .unprocessableEntity, form: true)
    }

    struct StatusView: Encodable {
        var number: String
        var leitwegId: String
        var statusText: String
        var receivedAt: String
        var reason: String
        var rejected: Bool
    }

    @Sendable func statusPage(req: Request) async throws -> Response {
        let e = try await Self.byReceipt(req)
        let st = InvoiceStatus(rawValue: e.status)
        return try await req.render("rechnungen/status", title: req.t("inv_status_title"),
                                    StatusView(number: e.invoiceNumber, leitwegId: e.leitwegID, statusText: req.lang == .en ? (st?.english ?? e.status) : (st?.german ?? e.status),
                                               receivedAt: GermanTime.format(e.receivedAt), reason: e.rejectionReason ?? "", rejected: st == .rejected))
    }

    // MARK: - inbox

    struct InboxRow: Encodable {
        var id: String
        var number: String
        var seller: String
        var issueDate: String
        var dueDate: String
        var amount: String
        var statusText: String
        var receivedAt: String
        var leitwegId: String
    }

    struct InboxView: Encodable {
        var tenant: GebietDTO
        var rows: [InboxRow]
        var hasRows: Bool
        var total: Int
        var statuses: [Option]
        var q: [String: String]
        var fourEyes: Bool
        var canSettings: Bool
    }

    struct Option: Encodable { var value: String; var label: String; var selected: Bool }

    static func amount(_ cents: Int64, _ currency: String) -> String {
        let m = Money(cents: cents, currency: currency)
        return currency == "EUR" ? m.formatted : "\(m.decimalString) \(currency)"
    }

    @Sendable func inbox(req: Request) async throws -> Response {
        let tenant = try await FinderWebController.tenant(req, for: .invoiceView)
        var q: [String: String] = [:]
        for k in ["status", "lieferant", "von", "bis", "faellig_bis", "betrag_ab", "betrag_bis"] { q[k] = req.queryParams[k] ?? "" }
        let fourEyes = try await InvoiceIntake.settings(req.db, tenant.ars)
        func view(_ rows: [EInvoice], total: Int) -> InboxView {
            InboxView(tenant: GebietDTO(tenant), rows: rows.map {
                InboxRow(id: $0.id!.uuidString, number: $0.invoiceNumber, seller: $0.sellerName, issueDate: $0.issueDate ?? "", dueDate: $0.dueDate ?? "",
                         amount: Self.amount($0.amountDueCents, $0.currency), statusText: InvoiceStatus(rawValue: $0.status)?.label ?? $0.status,
                         receivedAt: GermanTime.format($0.receivedAt), leitwegId: $0.leitwegID)
            }, hasRows: !rows.isEmpty, total: total,
            statuses: InvoiceStatus.allCases.map { Option(value: $0.rawValue, label: $0.label, selected: q["status"] == $0.rawValue) },
            q: q, fourEyes: fourEyes, canSettings: req.can(.invoiceSettings, tenant: tenant.ars))
        }
        do {
            let filter = try Filter.parse(req)
            let base = filter.apply(EInvoice.query(on: req.db).filter(\.$tenantARS == tenant.ars), db: req.db)
            let total = try await base.copy().count()
            let rows = try await base.sort(\.$receivedAt, .descending).limit(200).all()
            return try await req.render("rechnungen/inbox", title: req.t("inv_inbox"), view(rows, total: total), form: true)
        } catch let e as AppError {
            return try await req.renderError("rechnungen/inbox", title: req.t("inv_inbox"), view([], total: 0), e)
        }
    }

    struct SettingsForm: Content { var vier_augen: String? }

    @Sendable func saveSettings(req: Request) async throws -> Response {
        let tenant = try await FinderWebController.tenant(req, for: .invoiceSettings)
        let on = (try? req.content.decode(SettingsForm.self))?.vier_augen == "ja"
        let before = try await InvoiceIntake.settings(req.db, tenant.ars)
        if before != on {
            let ars = tenant.ars
            try await req.db.transaction { db in
                let s = try await InvoiceSettings.find(ars, on: db) ?? { let x = InvoiceSettings(); x.id = ars; return x }()
                s.fourEyes = on
                try await s.save(on: db)
                try await req.audit(on: db, "rechnung.einstellungen", tenant: ars, objectType: "rechnung_einstellungen", objectID: ars,
                                    before: before ? "vier_augen" : "ohne", after: on ? "vier_augen" : "ohne")
            }
        }
        return req.redirect(to: "/mandanten/\(tenant.ars)/rechnungen", redirectType: .normal)
    }
}

extension Data {
    init?(hexString: String) {
        var bytes: [UInt8] = []
        var it = hexString.makeIterator()
        while let a = it.next() {
            guard let b = it.next(), let v = UInt8(String([a, b]), radix: 16) else { return nil }
            bytes.append(v)
        }
        self.init(bytes)
    }
}
