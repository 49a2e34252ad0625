import Fluent
import Forms
import Vapor
import RathausCore

/// The applicant's side: form steps (saved per step), summary, sending, the case page with its
/// messages, withdrawal, files, and the postbox.
struct ApplicantController {
    func addRoutes(to web: any RoutesBuilder) {
        let k = web.grouped("konto")
        k.get("antraege", ":id", "weiter", use: resume)
        k.get("antraege", ":id", "schritt", ":step", use: stepPage)
        k.on(.POST, "antraege", ":id", "schritt", ":step", body: .stream, use: saveStep)
        k.get("antraege", ":id", "pruefen", use: summary)
        k.post("antraege", ":id", "absenden", use: send)
        k.post("antraege", ":id", "bezahlen", use: pay)
        k.get("antraege", ":id", "zahlung", use: paymentReturn)
        k.post("antraege", ":id", "zahlungen", ":pid", use: payRequested)
        k.get("antraege", ":id", use: detail)
        k.post("antraege", ":id", "zurueckziehen", use: withdraw)
        k.get("antraege", ":id", "dateien", ":file", use: file)
        k.get("postfach", use: postbox)
        k.get("postfach", ":msg", use: message)
        k.on(.POST, "postfach", ":msg", "antwort", body: .stream, use: reply)
    }

    /// Who is applying: a Servicekonto holder, or a guest who opened the one-time link of a
    /// service that allows applying without an account (the draft id is then held by the session).
    struct Applicant {
        var userID: UUID?
        var email: String
        var name: String
        var actor: String { userID == nil ? "gast:\(email)" : "konto:\(email)" }
        var actorID: String? { userID?.uuidString }
    }

    static func guestDrafts(_ req: Request) -> [String] {
        guard req.hasSession else { return [] }
        return (req.session.data["gast"] ?? "").split(separator: ",").map(String.init)
    }

    /// Loads the application for its applicant, or nil when nobody is signed in (→ login);
    /// another person's case is 404 (never 403: it does not exist for them).
    static func owned(_ req: Request) async throws -> (Antrag, Applicant)? {
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)) else { throw AppError.notFound }
        if let me = req.principal.citizen {
            guard let a = try await Antrag.find(id, on: req.db), a.applicantID == me.userID else { throw AppError.notFound }
            return (a, Applicant(userID: me.userID, email: me.email, name: me.name))
        }
        if guestDrafts(req).contains(id.uuidString) {
            guard let a = try await Antrag.find(id, on: req.db), a.applicantID == nil else { throw AppError.notFound }
            return (a, Applicant(userID: nil, email: a.applicantEmail, name: a.applicantName))
        }
        return nil
    }

    static func own(_ req: Request) async throws -> (Antrag, Applicant) {
        guard let found = try await owned(req) else { throw AppError.unauthenticated }
        return found
    }

    static func definition(_ a: Antrag, on db: any Database) async throws -> ServiceDefinition {
        guard let v = try await OnlineServiceCatalogue.version(a.slug, a.version, on: db) else { throw AppError.notFound }
        return try v.decoded()
    }

    // MARK: steps

    struct StepNav: Encodable { var id: String; var title: String; var current: Bool; var n: Int }
    struct StepView: Encodable {
        var id: String; var serviceTitle: String; var office: String; var place: String
        var stepID: String; var stepTitle: String; var intro: String; var n: Int; var total: Int
        var rows: [FormRow]; var steps: [StepNav]; var isFirst: Bool; var hasFiles: Bool; var saved: Bool
    }

    func stepView(_ req: Request, _ a: Antrag, _ d: ServiceDefinition, step: StepDefinition, answers: Answers, errors: [FormIssue], fileErrors: [FieldError] = [], saved: Bool = false) -> StepView {
        let lang = req.lang.rawValue
        var errs = Dictionary(errors.map { ($0.path, lang == "en" ? $0.en : $0.de) }, uniquingKeysWith: { a, _ in a })
        for f in fileErrors { errs[f.field] = f.message }
        let idx = d.form.steps.firstIndex { $0.id == step.id } ?? 0
        return StepView(id: a.id?.uuidString ?? "", serviceTitle: d.title.text(lang), office: a.officeName, place: a.tenantName,
                        stepID: step.id, stepTitle: step.title.text(lang), intro: step.intro?.text(lang) ?? "", n: idx + 1, total: d.form.steps.count,
                        rows: FormRows.build(step: step, form: d.form, engine: AntragService.engine(d), answers: answers, errors: errs, lang: lang),
                        steps: d.form.steps.enumerated().map { StepNav(id: $1.id, title: $1.title.text(lang), current: $1.id == step.id, n: $0 + 1) },
                        isFirst: idx == 0, hasFiles: Self.hasFileField(step.fields), saved: saved)
    }

    @Sendable func resume(req: Request) async throws -> Response {
        guard let (a, _) = try await Self.owned(req) else { return ServicekontoController.loginRedirect(req) }
        let id = try a.requireID()
        guard a.isDraft else { return req.redirect(to: "/konto/antraege/\(id)", redirectType: .normal) }
        let d = try await Self.definition(a, on: req.db)
        let e = AntragService.engine(d)
        let answers = e.normalize(a.decodedAnswers())
        for s in d.form.steps where !e.validate(answers, steps: [s.id]).isEmpty {
            return req.redirect(to: "/konto/antraege/\(id)/schritt/\(s.id)", redirectType: .normal)
        }
        return req.redirect(to: "/konto/antraege/\(id)/pruefen", redirectType: .normal)
    }

    /// Whether a step has a file field anywhere (also inside group items): the form is then multipart.
    static func hasFileField(_ fields: [FieldDefinition]) -> Bool {
        fields.contains { $0.type == .file || hasFileField($0.fields ?? []) }
    }

    @Sendable func stepPage(req: Request) async throws -> Response {
        guard let (a, _) = try await Self.owned(req) else { return ServicekontoController.loginRedirect(req) }
        guard a.isDraft else { return req.redirect(to: "/konto/antraege/\(try a.requireID())", redirectType: .normal) }
        let d = try await Self.definition(a, on: req.db)
        guard let step = d.form.step(req.parameters.get("step") ?? "") else { throw AppError.notFound }
        let v = stepView(req, a, d, step: step, answers: a.decodedAnswers(), errors: [], saved: req.queryParams["gespeichert"] != nil)
        return try await req.render("antraege/schritt", title: "\(v.stepTitle) – \(v.serviceTitle)", v, form: true)
    }

    /// Saves the step's answers first, whatever is wrong with them, then checks: a wrong IBAN or a
    /// refused file never costs the person the other answers.
    @Sendable func saveStep(req: Request) async throws -> Response {
        let (a, me) = try await Self.own(req)
        let id = try a.requireID()
        guard a.isDraft else { return req.redirect(to: "/konto/antraege/\(id)", redirectType: .normal) }
        let d = try await Self.definition(a, on: req.db)
        guard let step = d.form.step(req.parameters.get("step") ?? "") else { throw AppError.notFound }
        // file fields anywhere in the step, also inside the items of (nested) groups: a part's
        // name is the field's flat name (`G1.0.F2`), resolved against the step's definition
        let stepFields = step.fields
        let maxPerFile = d.attachments.maxBytesPerFile
        @Sendable func fileField(_ name: String) -> FieldDefinition? {
            guard let f = FlatAnswers.field(at: name, in: stepFields), f.type == .file else { return nil }
            return f
        }
        @Sendable func limit(_ name: String) -> Int? { fileField(name).map { min($0.maxBytes ?? maxPerFile, maxPerFile) } }
        func allFiles(_ fs: [FieldDefinition]) -> [FieldDefinition] { fs.flatMap { $0.type == .file ? [$0] : allFiles($0.fields ?? []) } }
        let largest = allFiles(stepFields).map { min($0.maxBytes ?? maxPerFile, maxPerFile) }.max()
        let existingFiles = try await AntragFile.query(on: req.db).filter(\.$antragID == id).filter(\.$messageID == nil).all()
        let form: StreamedForm
        if req.headers.contentType?.type == "multipart" {
            form = try await StreamedUpload.read(req, maxFileBytes: largest ?? maxPerFile, maxFiles: max(d.attachments.maxFiles, 1),
                                                 accept: { name in fileField(name).map { ($0.accept ?? FileKind.allCases.map(\.rawValue)).compactMap(FileKind.init(rawValue:)) } })
        } else {
            // plain form post (no file fields on the page); the CSRF middleware has checked the token
            var f = StreamedForm()
            if let dict = try? req.content.decode([String: String].self) { f.fields = dict }
            form = f
        }
        var fileErrors = form.files.compactMap(\.error)
        var answers = a.decodedAnswers()
        var stepAnswers = FlatAnswers.read(step.fields, from: form.fields, lists: form.lists)
        FlatAnswers.carryFiles(step.fields, from: answers, into: &stepAnswers)
        for (k, v) in stepAnswers { answers[k] = v }
        var newFiles: [AntragFile] = []
        for f in form.files where f.sha256 != nil {
            if let limit = limit(f.field), f.size > limit {
                fileErrors.append(FieldError(field: f.field, message: "Die Datei „\(f.name)“ ist zu groß: höchstens \(StreamedUpload.megabytes(limit)) sind erlaubt."))
                continue
            }
            let row = AntragFile()
            row.id = UUID()
            row.antragID = id; row.field = f.field; row.name = f.name; row.kind = f.kind?.rawValue ?? ""; row.size = f.size
            row.sha256 = f.sha256 ?? ""; row.uploadedBy = me.actor; row.createdAt = Date()
            newFiles.append(row)
            FlatAnswers.set(.record(["id": row.id!.uuidString, "name": f.name, "kind": row.kind, "size": String(f.size)]), at: f.field, in: &answers)
        }
        let others = existingFiles.filter { e in !newFiles.contains { $0.field == e.field } }
        if others.count + newFiles.count > d.attachments.maxFiles {
            fileErrors.append(FieldError(field: newFiles.first?.field ?? "", message: "Für diesen Antrag sind höchstens \(d.attachments.maxFiles) Dateien möglich."))
            for f in newFiles {
                FlatAnswers.set(existingFiles.first { $0.field == f.field }.map { .record(["id": $0.id?.uuidString ?? "", "name": $0.name, "kind": $0.kind, "size": String($0.size)]) },
                                at: f.field, in: &answers)
            }
            newFiles = []
        }
        // actions that change the number of group items
        let action = form.fields["aktion"] ?? "weiter"
        var removedFiles: [AntragFile] = []
        var renamedFiles: [(AntragFile, String)] = []
        if action.hasPrefix("add:") || action.hasPrefix("remove:") {
            // the group may sit inside an item of another group: its name is a flat path
            let parts = action.split(separator: ":").map(String.init)
            if parts.count >= 2, let g = FlatAnswers.field(at: parts[1], in: step.fields), g.type == .group {
                var items = FlatAnswers.value(at: parts[1], in: answers)?.items ?? []
                if parts[0] == "add", items.count < (g.maxItems ?? 50) {
                    if items.isEmpty { items.append([:]) }
                    items.append([:])
                }
                if parts[0] == "remove", parts.count == 3, let i = Int(parts[2]), items.indices.contains(i) {
                    items.remove(at: i)
                    // files of the removed item go; those of later items move up one place
                    let prefix = parts[1] + "."
                    for e in existingFiles where e.field.hasPrefix(prefix) {
                        let rest = e.field.dropFirst(prefix.count)
                        guard let dot = rest.firstIndex(of: "."), let n = Int(rest[..<dot]) else { continue }
                        if n == i { removedFiles.append(e) } else if n > i { renamedFiles.append((e, prefix + "\(n - 1)" + rest[dot...])) }
                    }
                }
                FlatAnswers.set(.items(items), at: parts[1], in: &answers)
            }
        }
        let replaced = existingFiles.filter { e in newFiles.contains { $0.field == e.field } } + removedFiles
        let toStore = answers, filesToCreate = newFiles, renames = renamedFiles
        try await req.db.transaction { db in
            for r in replaced { try await r.delete(on: db) }
            for f in filesToCreate { try await f.create(on: db) }
            for (f, field) in renames { f.field = field; try await f.save(on: db) }
            a.setAnswers(toStore)
            a.updatedAt = Date()
            try await a.save(on: db)
        }
        let e = AntragService.engine(d)
        let idx = d.form.steps.firstIndex { $0.id == step.id } ?? 0
        if action == "zurueck", idx > 0 {
            return req.redirect(to: "/konto/antraege/\(id)/schritt/\(d.form.steps[idx - 1].id)", redirectType: .normal)
        }
        if action == "speichern" || action.hasPrefix("add:") || action.hasPrefix("remove:") {
            let v = stepView(req, a, d, step: step, answers: answers, errors: [], fileErrors: fileErrors, saved: action == "speichern")
            return try await req.render("antraege/schritt", title: "\(v.stepTitle) – \(v.serviceTitle)", v,
                                        errors: fileErrors, status: fileErrors.isEmpty ? .ok : .unprocessableEntity, form: true)
        }
        let issues = e.validate(e.normalize(answers), steps: [step.id]).filter { i in !fileErrors.contains { $0.field == i.path } }
        if !issues.isEmpty || !fileErrors.isEmpty {
            let v = stepView(req, a, d, step: step, answers: answers, errors: issues, fileErrors: fileErrors)
            let summary = fileErrors + issues.map { FieldError(field: $0.path, message: req.lang == .en ? $0.en : $0.de) }
            return try await req.render("antraege/schritt", title: "\(v.stepTitle) – \(v.serviceTitle)", v, errors: summary, status: .unprocessableEntity, form: true)
        }
        if idx + 1 < d.form.steps.count {
            return req.redirect(to: "/konto/antraege/\(id)/schritt/\(d.form.steps[idx + 1].id)", redirectType: .normal)
        }
        return req.redirect(to: "/konto/antraege/\(id)/pruefen", redirectType: .normal)
    }

    // MARK: summary and sending

    struct SummaryView: Encodable {
        var id: String; var serviceTitle: String; var office: String; var place: String; var lines: [SummaryLine]; var fee: String; var hasFee: Bool
        var problems: [FieldError]; var complete: Bool; var notify: Bool; var firstStep: String
        /// Fee policy "before submission": pay first, then send.
        var payFirst: Bool; var paid: Bool; var kassenzeichen: String; var paymentProblem: String
    }

    @Sendable func summary(req: Request) async throws -> Response {
        guard let (a, _) = try await Self.owned(req) else { return ServicekontoController.loginRedirect(req) }
        let id = try a.requireID()
        guard a.isDraft else { return req.redirect(to: "/konto/antraege/\(id)", redirectType: .normal) }
        let d = try await Self.definition(a, on: req.db)
        let e = AntragService.engine(d)
        let answers = e.normalize(a.decodedAnswers())
        let issues = e.validate(answers)
        let act = try await ServiceActivation.of(a.tenantARS, a.slug, on: req.db)
        let fee = issues.isEmpty ? (try? OnlineServiceCatalogue.fee(d, activation: act, answers: answers)) : nil
        let problems = issues.map { i in FieldError(field: i.path, message: i.de) }
        let stepOf = issues.first.flatMap { i in d.form.steps.first { s in s.fields.contains { i.path == $0.id || i.path.hasPrefix($0.id + ".") } }?.id }
        let payFirst = act?.policy == "vor_absenden" && (fee ?? 0) > 0
        let paid = payFirst ? try await Self.paidPayment(a, cents: fee ?? 0, on: req.db) : nil
        var paymentProblem = ""
        if payFirst, paid == nil, let last = try await Payment.query(on: req.db).filter(\.$antragID == id).sort(\.$createdAt, .descending).first(),
           last.paymentStatus == .failed || last.paymentStatus == .canceled {
            paymentProblem = "Die Zahlung wurde nicht abgeschlossen (\(last.paymentStatus.label)\(last.statusDetail.isEmpty ? "" : ", \(last.statusDetail)")). Ihr Antrag ist gespeichert; Sie können es erneut versuchen, auch mit einer anderen Zahlungsart."
        }
        return try await req.render("antraege/pruefen", title: req.t("ap_summary_title"),
                                    SummaryView(id: id.uuidString, serviceTitle: d.title.text(req.lang.rawValue), office: a.officeName, place: a.tenantName,
                                                lines: e.summary(answers, lang: req.lang.rawValue), fee: fee.map { Money(cents: Int64($0)).formatted } ?? "",
                                                hasFee: (fee ?? 0) > 0, problems: problems, complete: issues.isEmpty, notify: a.notifyByEmail,
                                                firstStep: stepOf ?? d.form.steps.first?.id ?? "", payFirst: payFirst, paid: paid != nil,
                                                kassenzeichen: paid?.kassenzeichen ?? "", paymentProblem: paymentProblem),
                                    errors: paymentProblem.isEmpty ? [] : [FieldError(field: "", message: paymentProblem)], form: true)
    }

    /// A PAYED payment of this application over exactly the fee, if any.
    static func paidPayment(_ a: Antrag, cents: Int, on db: any Database) async throws -> Payment? {
        guard let id = a.id else { return nil }
        return try await Payment.query(on: db).filter(\.$antragID == id).filter(\.$status == PaymentStatus.payed.rawValue)
            .filter(\.$amountCents == Int64(cents)).first()
    }

    /// Fee policy "before submission": creates (or reuses) the payment for the fee and sends the
    /// person to the provider. The application stays a draft until the payment is PAYED.
    @Sendable func pay(req: Request) async throws -> Response {
        let (a, me) = try await Self.own(req)
        let id = try a.requireID()
        if !a.isDraft { return req.redirect(to: "/konto/antraege/\(id)", redirectType: .normal) }
        let d = try await Self.definition(a, on: req.db)
        let e = AntragService.engine(d)
        let answers = e.normalize(a.decodedAnswers())
        guard e.validate(answers).isEmpty else { return req.redirect(to: "/konto/antraege/\(id)/pruefen", redirectType: .normal) }
        let notify = (try? req.content.get(String.self, at: "benachrichtigung")) == "email"
        if a.notifyByEmail != notify { a.notifyByEmail = notify; try await a.save(on: req.db) }
        guard let act = try await ServiceActivation.of(a.tenantARS, a.slug, on: req.db),
              act.active, act.policy == "vor_absenden" else {
            return req.redirect(to: "/konto/antraege/\(id)/pruefen", redirectType: .normal)
        }
        let fee = try OnlineServiceCatalogue.fee(d, activation: act, answers: answers)
        if try await Self.paidPayment(a, cents: fee, on: req.db) != nil { return req.redirect(to: "/konto/antraege/\(id)/zahlung", redirectType: .normal) }
        // a double click reuses the open payment
        if let open = try await Payment.query(on: req.db).filter(\.$antragID == id).filter(\.$status == PaymentStatus.initial.rawValue)
            .filter(\.$amountCents == Int64(fee)).first(), open.expiresAt > Date() {
            return req.redirect(to: PaymentService.payerPath(open), redirectType: .normal)
        }
        let p = try await PaymentService.createForCase(a, cents: Int64(fee), purpose: "Gebühr \(d.title.de)", returnTo: "/konto/antraege/\(id)/zahlung",
                                                       app: req.application, actor: me.actor, actorID: me.actorID)
        return req.redirect(to: PaymentService.payerPath(p), redirectType: .normal)
    }

    /// Pays a payment the office requested after its decision; a declined or cancelled one is
    /// paid again as a new payment over the same items (a new Kassenzeichen, the old one stays visible).
    @Sendable func payRequested(req: Request) async throws -> Response {
        let (a, me) = try await Self.own(req)
        let id = try a.requireID()
        guard let pid = req.parameters.get("pid").flatMap(UUID.init(uuidString:)), let p = try await Payment.find(pid, on: req.db), p.antragID == id else {
            throw AppError.notFound
        }
        switch p.paymentStatus {
        case .initial:
            return req.redirect(to: PaymentService.payerPath(p), redirectType: .normal)
        case .payed:
            return req.redirect(to: "/konto/antraege/\(id)", redirectType: .normal)
        case .failed, .canceled:
            // a retry only when nothing newer is open or paid for the same amount
            if let newer = try await Payment.query(on: req.db).filter(\.$antragID == id).filter(\.$amountCents == p.amountCents)
                .filter(\.$createdAt > p.createdAt).first(), newer.paymentStatus == .initial || newer.paymentStatus == .payed {
                return req.redirect(to: newer.paymentStatus == .initial ? PaymentService.payerPath(newer) : "/konto/antraege/\(id)", redirectType: .normal)
            }
            let items = try await PaymentItem.query(on: req.db).filter(\.$paymentID == pid).sort(\.$position).all()
            let checked = items.map { XBezahldiensteRules.CheckedItem(description: $0.description, quantity: $0.quantity, taxRateBasisPoints: $0.taxRateBasisPoints,
                                                                     singleNetCents: $0.singleNetCents, singleTaxCents: $0.singleTaxCents, totalCents: $0.totalCents,
                                                                     bookingData: ["haushaltsstelle": $0.haushaltsstelle, "kostentraeger": $0.kostentraeger, "objektnummer": $0.objektnummer]) }
            let (n, _) = try await PaymentService.create(
                .init(tenantARS: p.tenantARS, endpointID: nil, originator: p.originator, endpoint: p.endpoint, requestID: nil, requestHash: "", purpose: p.purpose,
                      description: p.description, amountCents: p.amountCents, items: checked, redirectURL: "/konto/antraege/\(id)", antragID: id,
                      provider: p.provider, booking: ("", "", ""), expiresIn: 14 * 86400),
                app: req.application, actor: me.actor, actorID: me.actorID)
            return req.redirect(to: PaymentService.payerPath(n), redirectType: .normal)
        }
    }

    /// Where the provider sends the person back. The result is never taken from the URL: the
    /// payment is read on the server (and the provider asked when no callback has arrived yet).
    /// PAYED → the application is sent; otherwise back to the summary with a clear message.
    @Sendable func paymentReturn(req: Request) async throws -> Response {
        guard let (a, me) = try await Self.owned(req) else { return ServicekontoController.loginRedirect(req) }
        let id = try a.requireID()
        if !a.isDraft { return req.redirect(to: "/konto/antraege/\(id)?gesendet=1", redirectType: .normal) }
        guard let last = try await Payment.query(on: req.db).filter(\.$antragID == id).sort(\.$createdAt, .descending).first(), let pid = last.id else {
            return req.redirect(to: "/konto/antraege/\(id)/pruefen", redirectType: .normal)
        }
        var p = last
        if p.paymentStatus == .initial {
            let (st, method) = try await req.application.paymentProvider(p.provider).status(ref: p.providerRef, on: req.db)
            if st != .initial {
                p = try await PaymentService.apply(paymentID: pid, status: st, method: method, detail: "per Statusabfrage", provider: p.provider,
                                                   eventID: "poll-\(pid.uuidString)-\(st.rawValue)", app: req.application, actor: "system:zahlungen")
            }
        }
        guard p.paymentStatus == .payed else { return req.redirect(to: "/konto/antraege/\(id)/pruefen", redirectType: .normal) }
        let d = try await Self.definition(a, on: req.db)
        let act = try await ServiceActivation.of(a.tenantARS, a.slug, on: req.db)
        _ = try await AntragService.submit(id, definition: d, activation: act, app: req.application, actor: me.actor, actorID: me.actorID,
                                               identification: IdentificationReports.session(req))
        return req.redirect(to: "/konto/antraege/\(id)?gesendet=1", redirectType: .normal)
    }

    /// Sends the draft. The draft id is the idempotency key: a second click finds the case
    /// already sent and shows its confirmation.
    @Sendable func send(req: Request) async throws -> Response {
        let (a, me) = try await Self.own(req)
        let id = try a.requireID()
        if !a.isDraft { return req.redirect(to: "/konto/antraege/\(id)?gesendet=1", redirectType: .normal) }
        let d = try await Self.definition(a, on: req.db)
        let notify = (try? req.content.get(String.self, at: "benachrichtigung")) == "email"
        if a.notifyByEmail != notify {
            a.notifyByEmail = notify
            try await a.save(on: req.db)
        }
        let act = try await ServiceActivation.of(a.tenantARS, a.slug, on: req.db)
        guard act?.active == true else {
            throw AppError(.conflict, "onlinedienst.deactivated", de: "Die Gemeinde hat diesen Onlinedienst inzwischen abgeschaltet. Ihr Entwurf bleibt gespeichert; bitte wenden Sie sich an \(a.officeName).",
                           en: "The municipality has switched this service off.")
        }
        if act?.policy == "vor_absenden" {
            let answers = AntragService.engine(d).normalize(a.decodedAnswers())
            if let fee = try? OnlineServiceCatalogue.fee(d, activation: act, answers: answers), fee > 0,
               try await Self.paidPayment(a, cents: fee, on: req.db) == nil {
                // the fee is paid before sending: no way around the payment
                return req.redirect(to: "/konto/antraege/\(id)/pruefen", redirectType: .normal)
            }
        }
        do {
            _ = try await AntragService.submit(id, definition: d, activation: act, app: req.application, actor: me.actor, actorID: me.actorID,
                                               identification: IdentificationReports.session(req))
        } catch let e as AppError where e.code == "antrag.incomplete" {
            return req.redirect(to: "/konto/antraege/\(id)/pruefen", redirectType: .normal)
        }
        return req.redirect(to: "/konto/antraege/\(id)?gesendet=1", redirectType: .normal)
    }

    // MARK: the case

    struct MessageRow: Encodable {
        var id: String; var fromOffice: Bool; var sender: String; var subject: String; var body: String; var at: String; var read: String
        var files: [FileRow]; var kind: String; var hasFiles: Bool
    }
    struct FileRow: Encodable { var name: String; var kind: String; var size: String; var link: String; var field: String }
    struct DetailView: Encodable {
        var id: String; var reference: String; var serviceTitle: String; var office: String; var place: String; var status: String; var statusCode: String
        var submitted: String; var fee: String; var hasFee: Bool; var lines: [SummaryLine]; var messages: [MessageRow]; var files: [FileRow]
        var justSent: Bool; var open: Bool; var inQuery: Bool
        var payments: [OfficeController.PaymentRow]; var hasPayments: Bool
    }

    static func fileRows(_ files: [AntragFile], base: String) -> [FileRow] {
        files.map { FileRow(name: $0.name, kind: FileKind(rawValue: $0.kind)?.label ?? $0.kind, size: StreamedUpload.megabytes(max($0.size, 1024)),
                            link: "\(base)/dateien/\($0.id?.uuidString ?? "")", field: $0.field) }
    }

    static func messageRows(_ msgs: [PostboxMessage], files: [AntragFile], base: String) -> [MessageRow] {
        msgs.map { m in
            MessageRow(id: m.id?.uuidString ?? "", fromOffice: m.direction == "amt", sender: m.sender, subject: m.subject, body: m.body,
                       at: GermanTime.format(m.createdAt), read: m.readAt.map(GermanTime.format) ?? "",
                       files: fileRows(files.filter { $0.messageID == m.id && m.id != nil }, base: base), kind: m.kind,
                       hasFiles: files.contains { $0.messageID == m.id && m.id != nil })
        }
    }

    @Sendable func detail(req: Request) async throws -> Response {
        guard let (a, _) = try await Self.owned(req) else { return ServicekontoController.loginRedirect(req) }
        let id = try a.requireID()
        if a.isDraft { return req.redirect(to: "/konto/antraege/\(id)/weiter", redirectType: .normal) }
        let d = try await Self.definition(a, on: req.db)
        let files = try await AntragFile.query(on: req.db).filter(\.$antragID == id).all()
        let msgs = try await PostboxMessage.query(on: req.db).filter(\.$antragID == id).sort(\.$createdAt).all()
        let base = "/konto/antraege/\(id)"
        let status = a.caseStatus ?? .received
        let e = AntragService.engine(d)
        let payments = try await OfficeController.paymentRows(req, antrag: id, ars: a.tenantARS)
        return try await req.render("antraege/antrag", title: "\(a.reference ?? "") – \(a.serviceTitle)",
                                    DetailView(id: id.uuidString, reference: a.reference ?? "", serviceTitle: a.serviceTitle, office: a.officeName, place: a.tenantName,
                                               status: status.label, statusCode: status.rawValue, submitted: a.submittedAt.map(GermanTime.format) ?? "",
                                               fee: Money(cents: Int64(a.feeCents)).formatted, hasFee: a.feeCents > 0,
                                               lines: e.summary(a.decodedAnswers(), lang: req.lang.rawValue),
                                               messages: Self.messageRows(msgs, files: files, base: base),
                                               files: Self.fileRows(files.filter { $0.messageID == nil }, base: base),
                                               justSent: req.queryParams["gesendet"] != nil, open: !status.isFinal, inQuery: status == .query,
                                               payments: payments, hasPayments: !payments.isEmpty), form: true)
    }

    @Sendable func withdraw(req: Request) async throws -> Response {
        let (a, me) = try await Self.own(req)
        try await AntragService.transition(a, to: .withdrawn, by: .applicant, text: (try? req.content.get(String.self, at: "text")) ?? nil,
                                           app: req.application, actor: me.actor, actorID: me.actorID, senderName: me.name)
        return req.redirect(to: "/konto/antraege/\(try a.requireID())", redirectType: .normal)
    }

    @Sendable func file(req: Request) async throws -> Response {
        let (a, _) = try await Self.own(req)
        return try await Self.stream(req, antrag: a)
    }

    /// Streams one file of the case from storage (never loaded whole), as a download.
    static func stream(_ req: Request, antrag a: Antrag) async throws -> Response {
        guard let fid = req.parameters.get("file").flatMap(UUID.init(uuidString:)),
              let f = try await AntragFile.find(fid, on: req.db), f.antragID == a.id else { throw AppError.notFound }
        return try await download(req, sha256: f.sha256, kind: f.kind, name: f.name, fallback: "datei")
    }

    /// A stored file as a download: media type from its checked kind, an ASCII-only file name.
    static func download(_ req: Request, sha256: String, kind: String, name: String, fallback: String) async throws -> Response {
        guard let res = try await req.application.files.response(sha256, for: req) else { throw AppError.notFound }
        let media = (FileKind(rawValue: kind)?.mediaType ?? "application/octet-stream").split(separator: "/").map(String.init)
        res.headers.contentType = media.count == 2 ? HTTPMediaType(type: media[0], subType: media[1]) : .binary
        let ascii = name.filter { $0.isASCII && $0 != "\"" && $0 != "\\" && !$0.isNewline }
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(ascii.isEmpty ? fallback : ascii)\"")
        return res
    }

    // MARK: postbox

    struct PostboxRow: Encodable { var id: String; var subject: String; var sender: String; var at: String; var unread: Bool; var reference: String }
    struct PostboxView: Encodable { var rows: [PostboxRow]; var unread: Int; var empty: Bool }

    @Sendable func postbox(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return ServicekontoController.loginRedirect(req) }
        let msgs = try await PostboxMessage.query(on: req.db).filter(\.$recipientID == me.userID).sort(\.$createdAt, .descending).limit(500).all()
        var refs: [UUID: String] = [:]
        for a in try await Antrag.query(on: req.db).filter(\.$applicantID == me.userID).all() { if let id = a.id { refs[id] = a.reference ?? "" } }
        let rows = msgs.map { PostboxRow(id: $0.id?.uuidString ?? "", subject: $0.subject, sender: $0.sender, at: GermanTime.format($0.createdAt),
                                         unread: $0.readAt == nil, reference: refs[$0.antragID] ?? "") }
        return try await req.render("konto/postfach", title: req.t("sk_postbox_title"),
                                    PostboxView(rows: rows, unread: rows.filter(\.unread).count, empty: rows.isEmpty))
    }

    struct MessageView: Encodable { var m: MessageRow; var caseLink: String; var reference: String; var canReply: Bool; var inQuery: Bool; var maxMB: String; var draft: String }

    func ownMessage(_ req: Request, _ me: CitizenPrincipal) async throws -> (PostboxMessage, Antrag) {
        guard let mid = req.parameters.get("msg").flatMap(UUID.init(uuidString:)), let m = try await PostboxMessage.find(mid, on: req.db),
              m.recipientID == me.userID, let a = try await Antrag.find(m.antragID, on: req.db), a.applicantID == me.userID else { throw AppError.notFound }
        return (m, a)
    }

    /// Opening a message writes the read receipt the office sees.
    @Sendable func message(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return ServicekontoController.loginRedirect(req) }
        let (m, a) = try await ownMessage(req, me)
        if m.readAt == nil {
            m.readAt = Date()
            try await req.db.transaction { db in
                try await m.save(on: db)
                try await Audit.record(on: db, actor: "konto:\(me.email)", actorID: me.userID.uuidString, tenant: a.tenantARS, action: "postfach.read",
                                       objectType: "nachricht", objectID: m.id?.uuidString ?? "", before: nil, after: a.reference)
            }
        }
        let files = try await AntragFile.query(on: req.db).filter(\.$messageID == m.id).all()
        let row = Self.messageRows([m], files: files, base: "/konto/antraege/\(try a.requireID())")[0]
        let status = a.caseStatus ?? .received
        return try await req.render("konto/nachricht", title: m.subject,
                                    MessageView(m: row, caseLink: "/konto/antraege/\(try a.requireID())", reference: a.reference ?? "", canReply: !status.isFinal,
                                                inQuery: status == .query, maxMB: "10 MB", draft: ""), form: true)
    }

    /// A reply within the case; the answer to a query brings the case back to "in Bearbeitung".
    @Sendable func reply(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { throw AppError.unauthenticated }
        let (m, a) = try await ownMessage(req, me)
        let form: StreamedForm
        if req.headers.contentType?.type == "multipart" {
            let kinds: [FileKind] = [.pdf, .jpeg, .png]
            form = try await StreamedUpload.read(req, maxFileBytes: 10 * 1024 * 1024, maxFiles: 3, accept: { $0 == "datei" ? kinds : nil })
        } else {
            var f = StreamedForm()
            if let dict = try? req.content.decode([String: String].self) { f.fields = dict }
            form = f
        }
        let text = (form.fields["text"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            if let bad = form.files.compactMap(\.error).first { throw AppError(.unprocessableEntity, "upload", de: bad.message, en: bad.message, field: "datei") }
            if a.caseStatus == .query {
                guard !text.isEmpty else { throw AppError.invalid("text", de: "Bitte schreiben Sie Ihre Antwort auf die Rückfrage.", en: "Please write your answer.") }
                guard text.count <= 5000 else { throw AppError.invalid("text", de: "Die Antwort darf höchstens 5000 Zeichen lang sein.", en: "At most 5000 characters.") }
                try await AntragService.transition(a, to: .inProgress, by: .applicant, text: text, files: form.files, app: req.application,
                                                   actor: "konto:\(me.email)", actorID: me.userID.uuidString, senderName: me.name)
            } else {
                try await AntragService.message(a, fromOffice: false, text: text, files: form.files, app: req.application,
                                                actor: "konto:\(me.email)", actorID: me.userID.uuidString, senderName: me.name)
            }
        } catch let e as AppError {
            let files = try await AntragFile.query(on: req.db).filter(\.$messageID == m.id).all()
            let row = Self.messageRows([m], files: files, base: "/konto/antraege/\(try a.requireID())")[0]
            // the typed answer stays in the field
            let view = MessageView(m: row, caseLink: "/konto/antraege/\(try a.requireID())", reference: a.reference ?? "", canReply: true,
                                   inQuery: a.caseStatus == .query, maxMB: "10 MB", draft: text)
            return try await req.renderError("konto/nachricht", title: m.subject, view, e)
        }
        return req.redirect(to: "/konto/antraege/\(try a.requireID())?beantwortet=1", redirectType: .normal)
    }
}
