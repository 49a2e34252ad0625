import Fluent
import Foundation
import RathausCore
import SQLKit
import Vapor
import XRechnung

// The clerk's page of one invoice: the document, the validation report, its history by name, the
// next workflow step (four eyes), a possible duplicate side by side, original and attachments.
extension InvoiceController {
    struct DetailView: Encodable {
        var tenantARS: String
        var id: String
        var number: String
        var seller: String
        var statusText: String
        var leitwegId: String
        var sha256: String
        var receivedAt: String
        var channel: String
        var history: [HistoryRow]
        var reason: String
        var next: [Option]
        var canDecide: Bool
        var open: Bool
        var fourEyes: Bool
        var withheldByFourEyes = false
        var invoiceHTML: String
        var reportHTML: String
        /// When the invoice may duplicate an earlier one: both side by side.
        var duplicate: DuplicateView?
    }

    /// One step of the invoice's way through the office: when, what, who (by name).
    struct HistoryRow: Encodable { var at: String; var what: String; var who: String; var whoDetail: String }

    /// The channel an invoice came in, for people.
    static func channelName(_ c: String) -> String {
        let en = DisplayLanguage.english
        switch c {
        case "upload": return en ? "upload" : "Hochladen"
        case "api": return en ? "interface (API)" : "Schnittstelle (API)"
        case "formular": return en ? "web form" : "Webformular"
        case "peppol": return "PEPPOL"
        case "email", "mail": return en ? "e-mail" : "E-Mail"
        case "dienstleister": return en ? "the IT provider's billing" : "Abrechnung des IT-Dienstleisters"
        default: return c
        }
    }

    /// Receipt, collection and every status step from the audit trail (the one record of who did
    /// what when), people by name.
    static func history(_ req: Request, _ e: EInvoice) async throws -> [HistoryRow] {
        let rows = try await AuditEntry.query(on: req.db).filter(\.$objectType == "rechnung").filter(\.$objectID == e.id!.uuidString)
            .filter(\.$tenantARS == e.tenantARS).sort(\.$seq).limit(200).all()
        let people = try await ActorNames.load(rows.map(\.actor), on: req.db)
        let en = DisplayLanguage.english
        return rows.map { r in
            let what: String
            switch r.action {
            case "rechnung.eingang": what = en ? "received" : "eingegangen"
            case "rechnung.abholung": what = en ? "collected by the specialist software" : "vom Fachverfahren abgeholt"
            case "rechnung.status":
                let after = r.after ?? ""
                let code = String(after.prefix { $0 != ":" })
                let label = InvoiceStatus(rawValue: code)?.label ?? code
                what = code == InvoiceStatus.rejected.rawValue && after.count > code.count + 2 ? "\(label): \(after.dropFirst(code.count + 2))" : label
            default: what = r.action
            }
            let at = Audit.date(r.occurredAt).map(GermanTime.format) ?? r.occurredAt
            return HistoryRow(at: at, what: what, who: people.display(r.actor), whoDetail: people.detail(r.actor))
        }
    }

    struct DuplicateColumn: Encodable {
        var id: String
        var number: String
        var seller: String
        var issueDate: String
        var total: String
        var receivedAt: String
        var channel: String
        var sha256: String
        var statusText: String
    }

    struct DuplicateView: Encodable {
        var this: DuplicateColumn
        var first: DuplicateColumn
        var sameBytes: Bool
    }

    static func germanDate(_ iso: String?) -> String {
        guard let iso, iso.count == 10 else { return iso ?? "" }
        let p = iso.split(separator: "-")
        return p.count == 3 ? "\(p[2]).\(p[1]).\(p[0])" : iso
    }

    static func column(_ e: EInvoice, _ lang: Lang) -> DuplicateColumn {
        let st = InvoiceStatus(rawValue: e.status)
        return DuplicateColumn(id: e.id?.uuidString ?? "", number: e.invoiceNumber, seller: e.sellerName, issueDate: germanDate(e.issueDate),
                               total: amount(e.totalCents, e.currency), receivedAt: GermanTime.format(e.receivedAt), channel: channelName(e.channel),
                               sha256: e.sha256, statusText: (lang == .en ? st?.english : st?.german) ?? e.status)
    }

    static func nextSteps(_ s: InvoiceStatus) -> [InvoiceStatus] {
        switch s {
        case .received: [.factuallyChecked, .rejected]
        case .possibleDuplicate: [.received, .rejected]
        case .factuallyChecked: [.arithmeticallyChecked, .rejected]
        case .arithmeticallyChecked: [.released, .rejected]
        case .released, .rejected: []
        }
    }

    func detailResponse(_ req: Request, _ e: EInvoice, error: AppError? = nil) async throws -> Response {
        let data = try await InvoiceIntake.original(req, e)
        let report = try await req.application.threadPool.runIfActive { InvoiceIntake.validator.validate(data) }
        let st = InvoiceStatus(rawValue: e.status) ?? .received
        let base = "/mandanten/\(e.tenantARS)/rechnungen/\(e.id!.uuidString)"
        let html = report.invoice.map { InvoiceHTML.fragment($0, attachmentLink: { "\(base)/anlagen/\($0)" }) } ?? ""
        // only the steps this person may take; a step the four-eyes rule keeps for someone else is
        // not offered, and the page says why
        let fourEyesOn = try await InvoiceIntake.settings(req.db, e.tenantARS)
        let done = InvoiceSteps(factualBy: e.factualBy, arithmeticBy: e.arithmeticBy)
        let offered = Self.nextSteps(st).filter {
            InvoiceWorkflow.check(from: st, to: $0, actor: req.principal.auditActor, steps: done, fourEyes: fourEyesOn, reason: "–") == nil
        }
        let withheld = Self.nextSteps(st).count > offered.count
        let v = DetailView(tenantARS: e.tenantARS, id: e.id!.uuidString, number: e.invoiceNumber, seller: e.sellerName, statusText: st.label,
                           leitwegId: e.leitwegID, sha256: e.sha256, receivedAt: GermanTime.format(e.receivedAt), channel: Self.channelName(e.channel),
                           history: try await Self.history(req, e), reason: e.rejectionReason ?? "",
                           next: offered.map {
                               // from a possible duplicate, "received" means: not a duplicate, check it normally
                               Option(value: $0.rawValue, label: st == .possibleDuplicate && $0 == .received ? req.t("inv_dup_not") : $0.label, selected: false)
                           },
                           canDecide: req.can(.invoiceDecide, tenant: e.tenantARS), open: !st.isFinal,
                           fourEyes: fourEyesOn, withheldByFourEyes: withheld,
                           invoiceHTML: html, reportHTML: InvoiceHTML.reportSection(report),
                           duplicate: try await duplicateView(req, e))
        if let error { return try await req.renderError("rechnungen/detail", title: "\(req.t("inv_invoice")) \(e.invoiceNumber)", v, error) }
        return try await req.render("rechnungen/detail", title: "\(req.t("inv_invoice")) \(e.invoiceNumber)", v, form: true)
    }

    /// The earlier invoice with the same business key, read within the same tenant only.
    func duplicateView(_ req: Request, _ e: EInvoice) async throws -> DuplicateView? {
        guard let firstID = e.duplicateOf,
              let first = try await EInvoice.query(on: req.db).filter(\.$id == firstID).filter(\.$tenantARS == e.tenantARS).first() else { return nil }
        return DuplicateView(this: Self.column(e, req.lang), first: Self.column(first, req.lang), sameBytes: first.sha256 == e.sha256)
    }

    @Sendable func detail(req: Request) async throws -> Response {
        try await detailResponse(req, try await Self.own(req, .invoiceView))
    }

    struct StepForm: Content { var ziel: String?; var grund: String? }

    @Sendable func step(req: Request) async throws -> Response {
        let e = try await Self.own(req, .invoiceDecide)
        let form = (try? req.content.decode(StepForm.self)) ?? StepForm()
        guard let target = form.ziel.flatMap(InvoiceStatus.init(rawValue:)) else {
            return try await detailResponse(req, e, error: AppError.invalid("ziel", de: "Bitte wählen Sie den nächsten Schritt.", en: "Choose the next step."))
        }
        do {
            try await InvoiceIntake.transition(req, e, to: target, reason: form.grund)
        } catch let err as AppError {
            return try await detailResponse(req, e, error: err)
        }
        return req.redirect(to: "/mandanten/\(e.tenantARS)/rechnungen/\(e.id!.uuidString)", redirectType: .normal)
    }

    @Sendable func webXML(req: Request) async throws -> Response {
        let e = try await Self.own(req, .invoiceView)
        return Self.xmlResponse(try await InvoiceIntake.original(req, e), e)
    }

    /// An embedded attachment (BT-125), decoded from the stored original, served as a download.
    @Sendable func attachment(req: Request) async throws -> Response {
        let e = try await Self.own(req, .invoiceView)
        let data = try await InvoiceIntake.original(req, e)
        let invoice = try await req.application.threadPool.runIfActive { XRechnungValidator.read(data) }
        guard let n = req.parameters.get("n").flatMap(Int.init), let atts = invoice?.attachments, atts.indices.contains(n),
              let content = atts[n].content, let bytes = Data(base64Encoded: content, options: .ignoreUnknownCharacters) else {
            throw AppError(.notFound, "rechnung.attachment", de: "Diese Anlage gibt es nicht.", en: "No such attachment.")
        }
        let a = atts[n]
        let allowed = ["application/pdf", "image/png", "image/jpeg", "text/csv", "application/xml",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.oasis.opendocument.spreadsheet"]
        let mime = allowed.contains(a.mimeCode ?? "") ? a.mimeCode! : "application/octet-stream"
        let safeName = String((a.filename ?? "anlage-\(n)").map { $0.isASCII && ($0.isLetter || $0.isNumber || ".-_".contains($0)) ? $0 : "_" }.prefix(100))
        let res = Response(status: .ok, body: .init(data: bytes))
        res.headers.replaceOrAdd(name: .contentType, value: mime)
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(safeName)\"")
        return res
    }
}
