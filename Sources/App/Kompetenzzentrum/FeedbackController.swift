import Fluent
import Vapor
import Forms
import RathausCore

/// After an event: the feedback form (through the same form engine and form partial as the
/// online services), the organiser's results as a table and a chart, and the materials that are
/// released to participants when the event is over.
struct FeedbackController {
    func addRoutes(to web: any RoutesBuilder) {
        web.get("veranstaltungen", ":id", "rueckmeldung", use: form)
        web.post("veranstaltungen", ":id", "rueckmeldung", use: submit)
        web.get("veranstaltungen", ":id", "unterlagen", ":file", use: material)
        web.get("kompetenzzentrum", "veranstaltungen", ":id", "rueckmeldungen", use: results)
        web.on(.POST, "kompetenzzentrum", "veranstaltungen", ":id", "unterlagen", body: .stream, use: upload)
    }

    static func scale(_ id: String, _ de: String, _ en: String) -> FieldDefinition {
        var f = FieldDefinition(id: id, type: .radio, label: LocalizedText(de: de, en: en))
        f.required = true
        f.options = [("5", "sehr gut", "very good"), ("4", "gut", "good"), ("3", "befriedigend", "satisfactory"),
                     ("2", "ausreichend", "sufficient"), ("1", "mangelhaft", "poor")].map { FieldOption(value: $0.0, label: LocalizedText(de: $0.1, en: $0.2)) }
        return f
    }

    /// The competence centre's standard feedback form.
    static let definition: FormDefinition = {
        var useful = FieldDefinition(id: "nutzen", type: .radio, label: LocalizedText(de: "Können Sie das Gelernte in Ihrer Arbeit anwenden?", en: "Can you apply what you learned in your work?"))
        useful.required = true
        useful.options = [FieldOption(value: "ja", label: LocalizedText(de: "ja", en: "yes")), FieldOption(value: "teilweise", label: LocalizedText(de: "teilweise", en: "partly")),
                          FieldOption(value: "nein", label: LocalizedText(de: "nein", en: "no"))]
        var wishes = FieldDefinition(id: "wuensche", type: .multiline, label: LocalizedText(de: "Welche Themen wünschen Sie sich als Nächstes?", en: "Which topics would you like next?"))
        wishes.maxLength = 2000
        var comment = FieldDefinition(id: "kommentar", type: .multiline, label: LocalizedText(de: "Was möchten Sie uns noch mitteilen?", en: "Anything else you would like to tell us?"))
        comment.maxLength = 2000
        return FormDefinition(steps: [StepDefinition(id: "rueckmeldung", title: LocalizedText(de: "Rückmeldung", en: "Feedback"), fields: [
            scale("gesamt", "Wie zufrieden sind Sie insgesamt mit der Veranstaltung?", "How satisfied are you with the event overall?"),
            scale("inhalt", "Wie bewerten Sie die Inhalte?", "How do you rate the content?"),
            scale("organisation", "Wie bewerten Sie Organisation und Ablauf?", "How do you rate the organisation?"),
            useful, wishes, comment,
        ])])
    }()

    /// The caller's confirmed registration for an event that has begun.
    static func participation(_ req: Request) async throws -> (TrainingEvent, EventRegistration, [EventSessionRow]) {
        guard let s = req.principal.staff else { throw AppError.unauthenticated }
        let e = try await EventController.event(req)
        let id = try e.requireID()
        guard let r = try await EventRegistration.query(on: req.db).filter(\.$eventID == id).filter(\.$userID == s.userID).filter(\.$status == "confirmed").first() else {
            throw AppError(.forbidden, "event.not_participant", de: "Rückmeldungen und Unterlagen gibt es für angemeldete Teilnehmende dieser Veranstaltung.",
                           en: "Feedback and materials are for registered participants of this event.")
        }
        return (e, r, try await EventService.sessions(req.db, id))
    }

    struct FormView: Encodable { var eventID: String; var title: String; var rows: [FormRow]; var done: Bool }

    func render(_ req: Request, _ e: TrainingEvent, answers: Answers, issues: [FormIssue], done: Bool, status: HTTPResponseStatus = .ok) async throws -> Response {
        let engine = FormEngine(form: Self.definition, today: BusinessDate.today())
        let lang = req.lang.rawValue
        let errors = Dictionary(issues.map { ($0.path, lang == "en" ? $0.en : $0.de) }, uniquingKeysWith: { a, _ in a })
        let rows = Self.definition.steps.flatMap { FormRows.build(step: $0, form: Self.definition, engine: engine, answers: answers, errors: errors, lang: lang) }
        return try await req.render("veranstaltungen/rueckmeldung", title: req.t("fb_title"), FormView(eventID: try e.requireID().uuidString, title: e.title, rows: rows, done: done),
                                    errors: issues.map { FieldError(field: $0.path, message: lang == "en" ? $0.en : $0.de) }, status: status, form: true)
    }

    @Sendable func form(req: Request) async throws -> Response {
        let (e, r, sessions) = try await Self.participation(req)
        guard let first = sessions.first, first.startsAt <= Date() else {
            throw AppError(.conflict, "feedback.early", de: "Die Rückmeldung ist möglich, sobald die Veranstaltung begonnen hat.", en: "Feedback is possible once the event has begun.")
        }
        let done = try await EventFeedback.query(on: req.db).filter(\.$registrationID == r.requireID()).first() != nil
        return try await render(req, e, answers: [:], issues: [], done: done)
    }

    @Sendable func submit(req: Request) async throws -> Response {
        let (e, r, sessions) = try await Self.participation(req)
        guard let first = sessions.first, first.startsAt <= Date() else {
            throw AppError(.conflict, "feedback.early", de: "Die Rückmeldung ist möglich, sobald die Veranstaltung begonnen hat.", en: "Feedback is possible once the event has begun.")
        }
        let flat = (try? req.content.decode([String: String].self)) ?? [:]
        let engine = FormEngine(form: Self.definition, today: BusinessDate.today())
        let answers = engine.normalize(FlatAnswers.read(Self.definition.steps[0].fields, from: flat))
        let issues = engine.validate(answers)
        guard issues.isEmpty else { return try await render(req, e, answers: answers, issues: issues, done: false, status: .unprocessableEntity) }
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        let json = String(decoding: try enc.encode(answers), as: UTF8.self)
        let rid = try r.requireID(), eventID = try e.requireID()
        let actor = req.principal
        try await req.application.writeTransaction { db in
            // one per person: a second submission is refused by the unique index, checked here for a clear message
            guard try await EventFeedback.query(on: db).filter(\.$registrationID == rid).first() == nil else {
                throw AppError(.conflict, "feedback.twice", de: "Sie haben Ihre Rückmeldung zu dieser Veranstaltung bereits gegeben. Vielen Dank!",
                               en: "You have already given your feedback on this event. Thank you!")
            }
            let f = EventFeedback()
            f.eventID = eventID; f.registrationID = rid; f.answers = json; f.createdAt = Date()
            try await f.create(on: db)
            // the audit names the event, not the answers: feedback is read without names
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: r.tenantARS, action: "event.feedback",
                                   objectType: "event", objectID: eventID.uuidString, before: nil, after: "Rückmeldung abgegeben")
        }
        return req.redirect(to: "/veranstaltungen/\(eventID)/rueckmeldung", redirectType: .normal)
    }

    struct Bar: Encodable { var label: String; var count: Int; var percent: String; var width: Int; var y: Int; var labelY: Int; var textX: Int }
    struct Question: Encodable { var label: String; var bars: [Bar]; var average: String; var chartHeight: Int }
    struct ResultsView: Encodable { var eventID: String; var title: String; var count: Int; var questions: [Question]; var wishes: [String]; var comments: [String] }

    @Sendable func results(req: Request) async throws -> Response {
        try req.authorize(.eventsManage)
        let e = try await EventController.event(req)
        let id = try e.requireID()
        let all = try await EventFeedback.query(on: req.db).filter(\.$eventID == id).all()
            .map { (try? JSONDecoder().decode(Answers.self, from: Data($0.answers.utf8))) ?? [:] }
        let lang = req.lang.rawValue
        var questions: [Question] = []
        for f in Self.definition.steps[0].fields where f.type == .radio {
            let options = Self.definition.options(of: f)
            let given = all.compactMap { $0[f.id]?.text }
            let bars = options.enumerated().map { i, o -> Bar in
                let n = given.filter { $0 == o.value }.count
                let perMille = given.isEmpty ? 0 : n * 1000 / given.count
                return Bar(label: o.label.text(lang), count: n, percent: "\(perMille / 10)\(lang == "en" ? "." : ",")\(perMille % 10) %",
                           width: perMille * 300 / 1000, y: i * 22, labelY: i * 22 + 14, textX: 160 + perMille * 300 / 1000 + 6)
            }
            // the mean of a 1–5 scale, one decimal, integer arithmetic
            let numbers = given.compactMap(Int.init)
            let avg = numbers.isEmpty || numbers.count != given.count ? "" : {
                let tenths = (numbers.reduce(0, +) * 10 + numbers.count / 2) / numbers.count
                return "\(tenths / 10)\(lang == "en" ? "." : ",")\(tenths % 10)"
            }()
            questions.append(Question(label: f.label.text(lang), bars: bars, average: avg, chartHeight: options.count * 22))
        }
        let texts = { (key: String) in all.compactMap { $0[key]?.text }.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty } }
        return try await req.render("kompetenzzentrum/rueckmeldungen", title: req.t("fb_results_title"),
                                    ResultsView(eventID: id.uuidString, title: e.title, count: all.count, questions: questions, wishes: texts("wuensche"), comments: texts("kommentar")))
    }

    /// Materials: uploaded by the competence centre (PDF, ODT, DOCX, images; 20 MB each).
    @Sendable func upload(req: Request) async throws -> Response {
        try req.authorize(.eventsManage)
        let e = try await EventController.event(req)
        let id = try e.requireID()
        guard req.headers.contentType?.type == "multipart" else {
            throw AppError.invalid("unterlage", de: "Bitte wählen Sie eine Datei aus.", en: "Please choose a file.")
        }
        let kinds: [FileKind] = [.pdf, .odt, .docx, .png, .jpeg]
        let form = try await StreamedUpload.read(req, maxFileBytes: 20 * 1024 * 1024, maxFiles: 1, accept: { $0 == "unterlage" ? kinds : nil })
        if let problem = form.files.compactMap(\.error).first { throw AppError.invalid("unterlage", de: problem.message, en: problem.message) }
        guard let file = form.files.first, let sha = file.sha256, let kind = file.kind else {
            throw AppError.invalid("unterlage", de: "Bitte wählen Sie eine Datei aus (PDF, ODT, DOCX, PNG oder JPEG).", en: "Please choose a file (PDF, ODT, DOCX, PNG or JPEG).")
        }
        let m = EventMaterial()
        m.eventID = id; m.name = String(file.name.prefix(200)); m.kind = kind.rawValue; m.size = file.size; m.sha256 = sha
        m.uploadedBy = req.principal.auditActor; m.createdAt = Date()
        let actor = req.principal
        try await req.application.writeTransaction { db in
            try await m.create(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "event.material", objectType: "event",
                                   objectID: id.uuidString, before: nil, after: "\(m.name) (\(m.size) Bytes)")
        }
        return req.redirect(to: "/kompetenzzentrum/veranstaltungen/\(id)?ok=unterlage", redirectType: .normal)
    }

    /// A material for a confirmed participant once the last session has ended (the organiser any time).
    @Sendable func material(req: Request) async throws -> Response {
        guard req.principal.staff != nil else { throw AppError.unauthenticated }
        let e = try await EventController.event(req)
        let id = try e.requireID()
        if !req.can(.eventsManage) {
            let (_, _, sessions) = try await Self.participation(req)
            guard let last = sessions.last, last.endsAt <= Date() else {
                throw AppError(.forbidden, "material.early", de: "Die Unterlagen werden nach der Veranstaltung freigegeben.", en: "Materials are released after the event.")
            }
        }
        guard let fid = req.parameters.get("file", as: UUID.self), let m = try await EventMaterial.find(fid, on: req.db), m.eventID == id else {
            throw AppError.notFound
        }
        return try await ApplicantController.download(req, sha256: m.sha256, kind: m.kind, name: m.name, fallback: "unterlage")
    }
}
