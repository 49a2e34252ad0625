import FIM
import Fluent
import Forms
import SQLKit
import Vapor
import RathausCore

/// The office's side: inbox with filters, the case with answers, files and messages (with read
/// receipts), assignment, status changes and messages with attachments, downloads as JSON and XML.
/// Every route is tenant-scoped through the policy; a case of another tenant is 404.
struct OfficeController {
    func addRoutes(to web: any RoutesBuilder) {
        let m = web.grouped("mandanten", ":ars", "antraege")
        m.get(use: inbox)
        m.get(":id", use: detail)
        m.post(":id", "zuweisen", use: assign)
        m.on(.POST, ":id", "status", body: .stream, use: status)
        m.on(.POST, ":id", "nachricht", body: .stream, use: message)
        m.get(":id", "antrag.json", use: json)
        m.get(":id", "antrag.xml", use: xml)
        m.get(":id", "fim.xml", use: fimXML)
        m.get(":id", "fim.json", use: fimJSON)
        m.get(":id", "dateien", ":file", use: file)
        m.post(":id", "zahlung-anfordern", use: requestPayment)
    }

    /// The tenant's case, or 404 (a foreign tenant's case does not exist for this clerk).
    static func load(_ req: Request, _ action: Action) async throws -> Antrag {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(action, tenant: ars)
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)),
              let a = try await Antrag.query(on: req.db).filter(\.$id == id).filter(\.$tenantARS == ars)
                .scoped(to: req.principal, for: action, tenantField: \.$tenantARS).first(), !a.isDraft else { throw AppError.notFound }
        return a
    }

    // MARK: inbox

    struct Row: Encodable { var id: String; var reference: String; var service: String; var applicant: String; var status: String; var statusCode: String
                            var submitted: String; var assignee: String; var unreadReplies: Int }
    struct Opt: Encodable { var value: String; var label: String; var selected: Bool }
    struct InboxView: Encodable {
        var ars: String; var name: String; var rows: [Row]; var total: Int; var services: [Opt]; var statuses: [Opt]; var assignees: [Opt]; var sorts: [Opt]
        var q: String; var von: String; var bis: String; var empty: Bool
    }

    @Sendable func inbox(req: Request) async throws -> Response {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(.caseView, tenant: ars)
        let p = req.queryParams
        var query = Antrag.query(on: req.db).filter(\.$tenantARS == ars).filter(\.$status != Antrag.draft)
            .scoped(to: req.principal, for: .caseView, tenantField: \.$tenantARS)
        if let s = p["dienst"], !s.isEmpty { query = query.filter(\.$slug == s) }
        if let s = p["status"], let st = CaseStatus(rawValue: s) { query = query.filter(\.$status == st.rawValue) }
        if let s = p["zugewiesen"], !s.isEmpty {
            if s == "niemand" { query = query.filter(\.$assigneeID == nil) }
            else if s == "ich", let me = req.principal.staff { query = query.filter(\.$assigneeID == me.userID) }
            else if let id = UUID(uuidString: s) { query = query.filter(\.$assigneeID == id) }
        }
        let von = p["von"] ?? "", bis = p["bis"] ?? ""
        if let iso = FormEngine.isoDate(von), let d = GermanTime.startOfDay(iso) { query = query.filter(\.$submittedAt >= d) }
        if let iso = FormEngine.isoDate(bis), let d = GermanTime.startOfDay(iso) { query = query.filter(\.$submittedAt < d.addingTimeInterval(86400)) }
        let q = (p["q"] ?? "").trimmingCharacters(in: .whitespaces)
        if !q.isEmpty {
            // full text over reference and applicant name (case-insensitive on both engines)
            let needle = "%" + q.lowercased().replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "") + "%"
            query = query.group(.or) { g in
                g.filter(.sql(unsafeRaw: "LOWER(reference)"), .custom("LIKE"), .bind(needle))
                g.filter(.sql(unsafeRaw: "LOWER(applicant_name)"), .custom("LIKE"), .bind(needle))
                g.filter(.sql(unsafeRaw: "LOWER(applicant_email)"), .custom("LIKE"), .bind(needle))
            }
        }
        let sort = p["sortierung"] ?? "neueste"
        switch sort {
        case "aelteste": query = query.sort(\.$submittedAt, .ascending)
        case "status": query = query.sort(\.$status).sort(\.$submittedAt, .descending)
        case "aktenzeichen": query = query.sort(\.$reference)
        default: query = query.sort(\.$submittedAt, .descending)
        }
        let list = try await query.limit(500).all()
        let ids = list.compactMap(\.id)
        let replies = ids.isEmpty ? [] : try await PostboxMessage.query(on: req.db).filter(\.$antragID ~~ ids).filter(\.$direction == "person").all()
        let rows = list.map { a in
            Row(id: a.id?.uuidString ?? "", reference: a.reference ?? "", service: a.serviceTitle, applicant: a.applicantName, status: a.caseStatus?.label ?? a.status,
                statusCode: a.status, submitted: a.submittedAt.map(GermanTime.format) ?? "", assignee: a.assigneeName,
                unreadReplies: replies.filter { $0.antragID == a.id && $0.createdAt > a.updatedAt.addingTimeInterval(-1) }.count)
        }
        let services = try await OnlineServiceCatalogue.latest(on: req.db).map { Opt(value: $0.slug, label: $0.title, selected: $0.slug == p["dienst"]) }
        let statuses = CaseStatus.allCases.map { Opt(value: $0.rawValue, label: $0.label, selected: $0.rawValue == p["status"]) }
        var assignees = [Opt(value: "ich", label: "mir", selected: p["zugewiesen"] == "ich"), Opt(value: "niemand", label: "niemandem", selected: p["zugewiesen"] == "niemand")]
        for u in try await StaffDirectory.people(of: ars, allowedTo: .caseHandle, on: req.db) {
            assignees.append(Opt(value: u.id?.uuidString ?? "", label: u.name, selected: u.id?.uuidString == p["zugewiesen"]))
        }
        let sorts = [("neueste", "neueste zuerst"), ("aelteste", "älteste zuerst"), ("status", "nach Status"), ("aktenzeichen", "nach Aktenzeichen")]
            .map { Opt(value: $0.0, label: $0.1, selected: $0.0 == sort) }
        return try await req.render("antraege/eingang", title: req.t("ap_inbox_title"),
                                    InboxView(ars: ars, name: try await req.application.responsibility.tenantName(ars, on: req), rows: rows, total: rows.count,
                                              services: services, statuses: statuses, assignees: assignees, sorts: sorts, q: q, von: von, bis: bis, empty: rows.isEmpty))
    }

    // MARK: case

    struct Target: Encodable { var value: String; var label: String }
    struct Clerk: Encodable { var id: String; var name: String; var selected: Bool }
    struct DetailView: Encodable {
        var ars: String; var id: String; var reference: String; var service: String; var version: Int; var applicant: String; var email: String
        var office: String; var status: String; var submitted: String; var fee: String; var hasFee: Bool; var fetched: String
        var lines: [SummaryLine]; var files: [ApplicantController.FileRow]; var messages: [ApplicantController.MessageRow]
        var targets: [Target]; var clerks: [Clerk]; var assignee: String; var open: Bool; var canHandle: Bool
        var payments: [PaymentRow]; var hasPayments: Bool
        var canRequestPayment: Bool; var suggestedFee: String
        /// The service came from a FIM schema: the data instance can be downloaded.
        var fim: Bool = false
        /// Received through FIT-Connect: the submission id and the reply channel the sender named.
        var fcSubmission: String = ""
        var fcReply: String = ""
        var fcReplyByMail: Bool = false
        /// How the sender was identified (own cases) or what their identification report proved.
        var identity: String = ""
        var identityWarning: Bool = false
        var identityVia: String = ""
    }
    struct PaymentRow: Encodable { var id: String; var kassenzeichen: String; var amount: String; var status: String; var paid: Bool; var refunded: String; var canRefund: Bool; var payable: Bool }

    static func paymentRows(_ req: Request, antrag id: UUID, ars: String) async throws -> [PaymentRow] {
        try await Payment.query(on: req.db).filter(\.$antragID == id).sort(\.$createdAt).all().map { p in
            PaymentRow(id: p.id?.uuidString ?? "", kassenzeichen: p.kassenzeichen, amount: Money(cents: p.amountCents).formatted,
                       status: p.paymentStatus.label + (p.statusDetail.isEmpty ? "" : " (\(p.statusDetail))"), paid: p.paymentStatus == .payed,
                       refunded: p.refundedCents > 0 ? Money(cents: p.refundedCents).formatted : "",
                       canRefund: p.paymentStatus == .payed && p.refundedCents < p.amountCents && req.can(.paymentRefund, tenant: ars),
                       payable: p.paymentStatus != .payed)
        }
    }

    @Sendable func detail(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseView)
        let ars = a.tenantARS
        let id = try a.requireID()
        let v = try await OnlineServiceCatalogue.version(a.slug, a.version, on: req.db)
        let d = try v?.decoded()
        let files = try await AntragFile.query(on: req.db).filter(\.$antragID == id).all()
        let msgs = try await PostboxMessage.query(on: req.db).filter(\.$antragID == id).sort(\.$createdAt).all()
        let base = "/mandanten/\(ars)/antraege/\(id)"
        let status = a.caseStatus ?? .received
        let payments = try await Self.paymentRows(req, antrag: id, ars: ars)
        let act = try await ServiceActivation.of(ars, a.slug, on: req.db)
        let clerks = try await StaffDirectory.people(of: ars, allowedTo: .caseHandle, on: req.db)
            .map { Clerk(id: $0.id?.uuidString ?? "", name: $0.name, selected: $0.id == a.assigneeID) }
        var view = DetailView(ars: ars, id: id.uuidString, reference: a.reference ?? "", service: a.serviceTitle, version: a.version,
                                               applicant: a.applicantName, email: a.applicantEmail, office: a.officeName, status: status.label,
                                               submitted: a.submittedAt.map(GermanTime.format) ?? "", fee: Money(cents: Int64(a.feeCents)).formatted,
                                               hasFee: a.feeCents > 0, fetched: a.fetchedAt.map(GermanTime.format) ?? "",
                                               lines: d.map { AntragService.engine($0).summary(a.decodedAnswers()) } ?? [],
                                               files: ApplicantController.fileRows(files.filter { $0.messageID == nil }, base: base),
                                               messages: ApplicantController.messageRows(msgs, files: files, base: base),
                                               targets: CaseWorkflow.officeTargets(from: status).map { Target(value: $0.rawValue, label: $0.label) },
                                               clerks: clerks, assignee: a.assigneeName, open: !status.isFinal, canHandle: req.can(.caseHandle, tenant: ars),
                                               payments: payments, hasPayments: !payments.isEmpty,
                                               canRequestPayment: act?.policy == "nach_bescheid" && req.can(.caseHandle, tenant: ars) && status != .rejected && status != .withdrawn,
                                               suggestedFee: Money(cents: Int64(a.feeCents)).formatted.replacingOccurrences(of: " €", with: ""), fim: d?.fim != nil)
        if let t = a.trustLevel.flatMap(TrustLevel.init(rawValue:)) {
            view.identity = req.t("id_session") + " " + t.label + (a.identifiedAt.map { " · " + req.t("id_report_at") + " " + GermanTime.format($0) } ?? "")
            // the provider's name is data (as the installation calls it), marked as German text
            view.identityVia = a.identifiedVia ?? ""
        }
        if let fc = try await FITConnectInbound.query(on: req.db).filter(\.$antragID == id).filter(\.$tenantARS == ars).first() {
            view.fcSubmission = fc.submissionID
            if let i = fc.identification {
                (view.identity, view.identityWarning) = IdentificationReports.describe(i, req: req)
                view.identityVia = ""
            } else {
                view.identity = req.t("id_report_none")
            }
            if let r = fc.replyChannel, let bar = r.firstIndex(of: "|") {
                let kind = String(r[..<bar])
                view.fcReply = req.t("fc_reply_" + kind) + " " + r[r.index(after: bar)...]
                view.fcReplyByMail = kind == "eMail"
            }
        }
        return try await req.render("antraege/fall", title: "\(a.reference ?? "") – \(a.serviceTitle)", view, form: true)
    }

    @Sendable func assign(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseHandle)
        let raw = (try? req.content.get(String.self, at: "bearbeiter")) ?? ""
        var assignee: User? = nil
        if !raw.isEmpty {
            guard let id = UUID(uuidString: raw), let u = try await StaffDirectory.people(of: a.tenantARS, allowedTo: .caseHandle, on: req.db).first(where: { $0.id == id }) else {
                throw AppError.invalid("bearbeiter", de: "Bitte wählen Sie eine Person Ihrer Verwaltung aus der Liste.", en: "Please choose a colleague from the list.")
            }
            assignee = u
        }
        let before = a.assigneeName
        a.assigneeID = assignee?.id
        a.assigneeName = assignee?.name ?? ""
        a.updatedAt = Date()
        let actor = req.principal.auditActor, actorID = req.principal.actorID
        try await req.db.transaction { db in
            try await a.save(on: db)
            try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: a.tenantARS, action: "antrag.assign",
                                   objectType: "antrag", objectID: a.reference ?? "", before: before, after: a.assigneeName)
        }
        return req.redirect(to: "/mandanten/\(a.tenantARS)/antraege/\(try a.requireID())", redirectType: .normal)
    }

    static let officeFileKinds: [FileKind] = [.pdf, .jpeg, .png, .odt, .docx]

    static func readForm(_ req: Request) async throws -> StreamedForm {
        if req.headers.contentType?.type == "multipart" {
            let kinds = officeFileKinds
            return try await StreamedUpload.read(req, maxFileBytes: 20 * 1024 * 1024, maxFiles: 5, accept: { $0 == "datei" ? kinds : nil })
        }
        var f = StreamedForm()
        if let dict = try? req.content.decode([String: String].self) { f.fields = dict }
        return f
    }

    func senderName(_ req: Request, _ a: Antrag) -> String {
        "\(a.officeName)" + (req.principal.staff.map { " (\($0.name))" } ?? "")
    }

    /// Status change with a text and, for a decision, the decision document.
    @Sendable func status(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseHandle)
        let form = try await Self.readForm(req)
        if let bad = form.files.compactMap(\.error).first { throw AppError(.unprocessableEntity, "upload", de: bad.message, en: bad.message, field: "datei") }
        guard let target = CaseStatus(rawValue: form.fields["ziel"] ?? "") else {
            throw AppError.invalid("ziel", de: "Bitte wählen Sie den neuen Status aus der Liste.", en: "Please choose the new status.")
        }
        let text = (form.fields["text"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count <= 5000 else { throw AppError.invalid("text", de: "Der Text darf höchstens 5000 Zeichen lang sein.", en: "At most 5000 characters.") }
        try await AntragService.transition(a, to: target, by: .office, text: text, files: form.files, app: req.application,
                                           actor: req.principal.auditActor, actorID: req.principal.actorID, senderName: senderName(req, a),
                                           clerkName: req.principal.staff?.name)
        return req.redirect(to: "/mandanten/\(a.tenantARS)/antraege/\(try a.requireID())", redirectType: .normal)
    }

    @Sendable func message(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseHandle)
        let form = try await Self.readForm(req)
        if let bad = form.files.compactMap(\.error).first { throw AppError(.unprocessableEntity, "upload", de: bad.message, en: bad.message, field: "datei") }
        try await AntragService.message(a, fromOffice: true, text: form.fields["text"] ?? "", files: form.files, app: req.application,
                                        actor: req.principal.auditActor, actorID: req.principal.actorID, senderName: senderName(req, a))
        return req.redirect(to: "/mandanten/\(a.tenantARS)/antraege/\(try a.requireID())", redirectType: .normal)
    }

    /// Fee policy "after decision": the clerk requests the payment; the person pays from the postbox
    /// (open for 14 days, retryable).
    @Sendable func requestPayment(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseHandle)
        let id = try a.requireID()
        let raw = (try? req.content.get(String.self, at: "betrag")) ?? ""
        let cents: Int64
        do { cents = try Money(parsing: raw).cents } catch {
            throw AppError.invalid("betrag", de: "Der Betrag ist kein Geldbetrag, z. B. 45,00.", en: "Not an amount.")
        }
        guard cents > 0, cents <= 10_000_000 else { throw AppError.invalid("betrag", de: "Der Betrag muss zwischen 0,01 € und 100.000 € liegen.", en: "Out of range.") }
        let p = try await PaymentService.createForCase(a, cents: cents, purpose: "Gebühr \(a.reference ?? "")", returnTo: "/konto/antraege/\(id)",
                                                       expiresIn: 14 * 86400, app: req.application, actor: req.principal.auditActor,
                                                       actorID: req.principal.actorID)
        try await AntragService.message(a, fromOffice: true,
                                        text: "Bitte bezahlen Sie die Gebühr von \(Money(cents: cents).formatted) (Kassenzeichen \(p.kassenzeichen)) innerhalb von 14 Tagen online über Ihren Antrag: /konto/antraege/\(id)",
                                        files: [], app: req.application, actor: req.principal.auditActor, actorID: req.principal.actorID,
                                        senderName: a.officeName)
        return req.redirect(to: "/mandanten/\(a.tenantARS)/antraege/\(id)", redirectType: .normal)
    }

    @Sendable func json(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseView)
        return try await AntragExport.jsonResponse(a, req: req, fileBase: "/mandanten/\(a.tenantARS)/antraege/\(try a.requireID())/dateien")
    }

    @Sendable func xml(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseView)
        return try await AntragExport.xmlResponse(a, req: req)
    }

    /// The submission as a data instance of the FIM schema the service was imported from.
    func fimExport(_ req: Request, json: Bool) async throws -> Response {
        let a = try await Self.load(req, .caseView)
        guard let d = try await OnlineServiceCatalogue.version(a.slug, a.version, on: req.db)?.decoded(), d.fim != nil else { throw AppError.notFound }
        let answers = a.decodedAnswers()
        let body: Data? = json ? FIMDataInstance.json(d, answers: answers) : FIMDataInstance.xml(d, answers: answers).map { Data($0.utf8) }
        guard let body else { throw AppError.notFound }
        let res = Response(status: .ok, body: .init(data: body))
        res.headers.contentType = json ? .json : HTTPMediaType(type: "application", subType: "xml", parameters: ["charset": "utf-8"])
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(a.reference ?? "antrag")-fim.\(json ? "json" : "xml")\"")
        return res
    }

    @Sendable func fimXML(req: Request) async throws -> Response { try await fimExport(req, json: false) }
    @Sendable func fimJSON(req: Request) async throws -> Response { try await fimExport(req, json: true) }

    @Sendable func file(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseView)
        return try await ApplicantController.stream(req, antrag: a)
    }
}
