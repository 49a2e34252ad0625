import Fluent
import Vapor
import Events
import RathausCore

/// On-site visits: the municipality asks, the competence centre plans by Kreis and week and
/// proposes a date, the municipality confirms, the visit's minutes and follow-up tasks stay with
/// the tenant. Also the tenant's training page (colleagues' registrations, certificates as evidence).
struct VisitController {
    func addRoutes(to web: any RoutesBuilder) {
        web.get("mandanten", ":ars", "fortbildung", use: tenantPage)
        web.post("mandanten", ":ars", "besuche", use: request)
        web.post("mandanten", ":ars", "besuche", ":id", "bestaetigen", use: confirm)
        web.post("mandanten", ":ars", "aufgaben", ":id", "erledigt", use: taskDone)
        web.get("kompetenzzentrum", "besuche", use: plan)
        web.get("kompetenzzentrum", "besuche", ":id", use: visit)
        web.post("kompetenzzentrum", "besuche", ":id", "vorschlag", use: propose)
        web.post("kompetenzzentrum", "besuche", ":id", "protokoll", use: document)
    }

    static func statusLabel(_ s: String, english: Bool) -> String {
        switch s {
        case "requested": english ? "requested" : "angefragt"
        case "proposed": english ? "date proposed" : "Termin vorgeschlagen"
        case "confirmed": english ? "confirmed" : "bestätigt"
        case "documented": english ? "held, minutes written" : "durchgeführt, Protokoll liegt vor"
        default: s
        }
    }

    struct TaskRow: Encodable { var id: String; var title: String; var owner: String; var due: String; var done: Bool; var overdue: Bool }
    struct VisitRow: Encodable {
        var id: String; var tenant: String; var tenantARS: String; var kreis: String; var topics: String; var preferred: String; var participants: String
        var notes: String; var status: String; var statusKey: String; var proposed: String; var advisor: String; var minutes: String; var tasks: [TaskRow]; var week: String
    }

    static func rows(_ visits: [SiteVisit], on db: any Database, english: Bool) async throws -> [VisitRow] {
        let ids = visits.compactMap(\.id)
        let tasks = ids.isEmpty ? [] : try await VisitTask.query(on: db).filter(\.$visitID ~~ ids).sort(\.$dueOn).all()
        let tenants = try await Gebiet.query(on: db).filter(\.$id ~~ Array(Set(visits.map(\.tenantARS)))).all()
        let kreise = try await CompetenceCentreController.tenantNames(Set(tenants.map(\.kreisARS)), on: db)
        let today = BusinessDate.today()
        return visits.map { v in
            let g = tenants.first { $0.id == v.tenantARS }
            return VisitRow(id: v.id?.uuidString ?? "", tenant: g?.name ?? v.tenantARS, tenantARS: v.tenantARS, kreis: g.flatMap { kreise[$0.kreisARS] } ?? "",
                            topics: v.topics, preferred: v.preferred, participants: v.participants, notes: v.notes,
                            status: statusLabel(v.status, english: english), statusKey: v.status, proposed: v.proposedStart.map { GermanTime.format($0) } ?? "",
                            advisor: v.advisor, minutes: v.minutes,
                            tasks: tasks.filter { $0.visitID == v.id }.map { t in
                                TaskRow(id: t.id?.uuidString ?? "", title: t.title, owner: t.owner, due: CalendarDay.display(t.dueOn, english: english),
                                        done: t.doneAt != nil, overdue: t.doneAt == nil && t.dueOn < today) },
                            week: v.proposedStart.map(Self.week) ?? "")
        }
    }

    /// "KW 11/2027" (ISO week, Europe/Berlin).
    static func week(_ d: Date) -> String {
        var cal = Calendar(identifier: .iso8601)
        cal.timeZone = GermanTime.calendar.timeZone
        let c = cal.dateComponents([.weekOfYear, .yearForWeekOfYear], from: d)
        return "KW \(c.weekOfYear ?? 0)/\(c.yearForWeekOfYear ?? 0)"
    }

    struct TenantView: Encodable {
        var ars: String; var name: String; var registrations: [EventController.MineRow]; var certificates: [CertRow]; var visits: [VisitRow]
        var openTasks: Int; var message: String; var form: RequestForm
    }
    struct CertRow: Encodable { var id: String; var person: String; var code: String; var title: String; var dates: String; var qualification: String; var revoked: Bool }
    struct RequestForm: Codable { var themen: String?; var zeitraum: String?; var teilnehmende: String?; var hinweise: String? }

    func tenantView(_ req: Request, _ g: Gebiet, form: RequestForm = RequestForm(), message: String = "") async throws -> TenantView {
        let english = req.lang == .en
        let regs = try await EventRegistration.query(on: req.db).filter(\.$tenantARS == g.ars).filter(\.$status != "cancelled").all()
        let events = try await TrainingEvent.query(on: req.db).filter(\.$id ~~ Array(Set(regs.map(\.eventID)))).all()
        let cards = try await EventController.cards(events, on: req.db)
        let rows = regs.compactMap { r -> EventController.MineRow? in
            guard let c = cards.first(where: { $0.id == r.eventID.uuidString }) else { return nil }
            return EventController.MineRow(id: r.id?.uuidString ?? "", eventID: c.id, title: c.title + " – " + r.name, dates: c.dates,
                                           status: EventController.statusLabel(r.status, english: english), waiting: r.status == "waiting", place: c.place, link: "")
        }
        let certs = try await EventCertificate.query(on: req.db).filter(\.$tenantARS == g.ars).sort(\.$issuedAt, .descending).all()
        let visits = try await Self.rows(try await SiteVisit.query(on: req.db).filter(\.$tenantARS == g.ars).sort(\.$createdAt, .descending).all(), on: req.db, english: english)
        return TenantView(ars: g.ars, name: g.name, registrations: rows,
                          certificates: certs.map { CertRow(id: $0.id?.uuidString ?? "", person: $0.name, code: VerificationCode.display($0.code), title: $0.eventTitle,
                                                            dates: $0.dates, qualification: $0.qualification, revoked: $0.revokedAt != nil) },
                          visits: visits, openTasks: visits.flatMap(\.tasks).filter { !$0.done }.count, message: message, form: form)
    }

    static func tenant(_ req: Request) async throws -> Gebiet {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.tenantTraining, tenant: g.ars)
        return g
    }

    @Sendable func tenantPage(req: Request) async throws -> Response {
        let g = try await Self.tenant(req)
        let msg: String = switch req.query[String.self, at: "ok"] ?? "" {
        case "angefragt": req.t("visit_msg_requested")
        case "bestaetigt": req.t("visit_msg_confirmed")
        case "erledigt": req.t("visit_msg_task_done")
        default: ""
        }
        return try await req.render("kompetenzzentrum/fortbildung", title: req.t("training_title"), tenantView(req, g, message: msg), form: true)
    }

    @Sendable func request(req: Request) async throws -> Response {
        let g = try await Self.tenant(req)
        let f = (try? req.content.decode(RequestForm.self)) ?? RequestForm()
        do {
            let topics = try TextInput.required(f.themen, field: "themen", label: "die Themen", max: 500)
            let period = try TextInput.required(f.zeitraum, field: "zeitraum", label: "passende Zeiträume", max: 500)
            let people = try TextInput.optional(f.teilnehmende, field: "teilnehmende", label: "die Teilnehmenden", max: 500) ?? ""
            let notes = try TextInput.optional(f.hinweise, field: "hinweise", label: "die Hinweise", max: 2000) ?? ""
            let v = SiteVisit()
            v.id = UUID(); v.tenantARS = g.ars; v.topics = topics; v.preferred = period; v.participants = people; v.notes = notes; v.status = "requested"
            v.advisor = ""; v.minutes = ""; v.requestedBy = req.principal.staff.map { "user:\($0.email)" } ?? req.principal.auditActor
            v.createdAt = Date(); v.updatedAt = Date()
            let actor = req.principal
            try await req.application.writeTransaction { db in
                try await v.create(on: db)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "visit.request", objectType: "site_visit",
                                       objectID: v.id?.uuidString ?? "", before: nil, after: "\(g.name): \(topics)")
            }
            return req.redirect(to: "/mandanten/\(g.ars)/fortbildung?ok=angefragt", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("kompetenzzentrum/fortbildung", title: req.t("training_title"), tenantView(req, g, form: f), e)
        }
    }

    @Sendable func confirm(req: Request) async throws -> Response {
        let g = try await Self.tenant(req)
        guard let id = req.parameters.get("id", as: UUID.self) else { throw AppError.notFound }
        let actor = req.principal
        try await req.application.writeTransaction { db in
            guard let v = try await SiteVisit.find(id, on: db), v.tenantARS == g.ars else { throw AppError.notFound }
            guard v.status == "proposed", let when = v.proposedStart else {
                throw AppError(.conflict, "visit.not_proposed", de: "Für diesen Besuch liegt kein Terminvorschlag vor.", en: "No date has been proposed for this visit.")
            }
            v.status = "confirmed"; v.updatedAt = Date()
            try await v.save(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "visit.confirm", objectType: "site_visit",
                                   objectID: id.uuidString, before: "proposed", after: "bestätigt für \(GermanTime.format(when, english: false))")
        }
        return req.redirect(to: "/mandanten/\(g.ars)/fortbildung?ok=bestaetigt", redirectType: .normal)
    }

    @Sendable func taskDone(req: Request) async throws -> Response {
        let g = try await Self.tenant(req)
        guard let id = req.parameters.get("id", as: UUID.self) else { throw AppError.notFound }
        let actor = req.principal
        try await req.application.writeTransaction { db in
            guard let t = try await VisitTask.find(id, on: db), t.tenantARS == g.ars else { throw AppError.notFound }
            guard t.doneAt == nil else { return }
            t.doneAt = Date()
            try await t.save(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "visit.task.done", objectType: "visit_task",
                                   objectID: id.uuidString, before: "offen", after: "erledigt: \(t.title)")
        }
        return req.redirect(to: "/mandanten/\(g.ars)/fortbildung?ok=erledigt", redirectType: .normal)
    }

    // MARK: competence centre

    struct PlanCell: Encodable { var week: String; var visits: [VisitRow] }
    struct PlanKreis: Encodable { var kreis: String; var weeks: [PlanCell] }
    struct PlanView: Encodable { var open: [VisitRow]; var plan: [PlanKreis]; var done: [VisitRow] }

    @Sendable func plan(req: Request) async throws -> Response {
        try req.authorize(.eventsManage)
        let rows = try await Self.rows(try await SiteVisit.query(on: req.db).sort(\.$createdAt).all(), on: req.db, english: req.lang == .en)
        let scheduled = rows.filter { ["proposed", "confirmed"].contains($0.statusKey) }
        var plan: [PlanKreis] = []
        for kreis in Array(Set(scheduled.map(\.kreis))).sorted() {
            let inKreis = scheduled.filter { $0.kreis == kreis }
            plan.append(PlanKreis(kreis: kreis, weeks: Array(Set(inKreis.map(\.week))).sorted().map { w in PlanCell(week: w, visits: inKreis.filter { $0.week == w }) }))
        }
        return try await req.render("kompetenzzentrum/besuche", title: req.t("visit_plan_title"),
                                    PlanView(open: rows.filter { $0.statusKey == "requested" }, plan: plan, done: rows.filter { $0.statusKey == "documented" }))
    }

    struct VisitView: Encodable { var visit: VisitRow; var message: String }

    static func visitRow(_ req: Request) async throws -> (SiteVisit, VisitRow) {
        try req.authorize(.eventsManage)
        guard let id = req.parameters.get("id", as: UUID.self), let v = try await SiteVisit.find(id, on: req.db),
              let row = try await rows([v], on: req.db, english: req.lang == .en).first else { throw AppError.notFound }
        return (v, row)
    }

    @Sendable func visit(req: Request) async throws -> Response {
        let (_, row) = try await Self.visitRow(req)
        let msg = req.query[String.self, at: "ok"] == "vorschlag" ? req.t("visit_msg_proposed") : (req.query[String.self, at: "ok"] == "protokoll" ? req.t("visit_msg_documented") : "")
        return try await req.render("kompetenzzentrum/besuch", title: req.t("visit_title"), VisitView(visit: row, message: msg), form: true)
    }

    struct ProposeForm: Codable { var datum: String?; var uhrzeit: String?; var beratung: String? }

    @Sendable func propose(req: Request) async throws -> Response {
        let (v, row) = try await Self.visitRow(req)
        let f = (try? req.content.decode(ProposeForm.self)) ?? ProposeForm()
        do {
            guard let day = try BusinessDate.parse(f.datum, field: "datum", label: "das Datum") else { throw AppError.notFound }
            guard let when = EventFormat.instant(day: day, time: (f.uhrzeit ?? "").trimmingCharacters(in: .whitespaces)) else {
                throw AppError.invalid("uhrzeit", de: "Bitte geben Sie die Uhrzeit an, zum Beispiel 10:00.", en: "Please enter the time, e.g. 10:00.")
            }
            guard when > Date() else { throw AppError.invalid("datum", de: "Der Termin muss in der Zukunft liegen.", en: "The date must be in the future.") }
            let advisor = try TextInput.required(f.beratung, field: "beratung", label: "wer den Termin wahrnimmt", max: 120)
            guard ["requested", "proposed"].contains(v.status) else {
                throw AppError(.conflict, "visit.state", de: "Dieser Besuch ist bereits bestätigt oder durchgeführt.", en: "This visit is already confirmed or held.")
            }
            let actor = req.principal
            let id = try v.requireID()
            try await req.application.writeTransaction { db in
                guard let v = try await SiteVisit.find(id, on: db) else { throw AppError.notFound }
                let before = v.status
                v.status = "proposed"; v.proposedStart = when; v.advisor = advisor; v.updatedAt = Date()
                try await v.save(on: db)
                let to = v.requestedBy.hasPrefix("user:") ? String(v.requestedBy.dropFirst(5)) : ""
                if to.contains("@") {
                    try await Outbox.enqueue(on: db, key: "visit-proposed-\(id)-\(Int(when.timeIntervalSince1970))", to: to, subject: "Terminvorschlag für Ihren Vor-Ort-Termin",
                                             body: """
                        Guten Tag,

                        für den Vor-Ort-Termin (\(v.topics)) schlagen wir den \(GermanTime.format(when, english: false)) vor; es kommt \(advisor).
                        Bitte bestätigen Sie den Termin: \(req.application.rathaus.publicURL)/mandanten/\(v.tenantARS)/fortbildung

                        Ihr Kompetenzzentrum
                        """)
                }
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: v.tenantARS, action: "visit.propose", objectType: "site_visit",
                                       objectID: id.uuidString, before: before, after: "\(GermanTime.format(when, english: false)), \(advisor)")
            }
            return req.redirect(to: "/kompetenzzentrum/besuche/\(id)?ok=vorschlag", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("kompetenzzentrum/besuch", title: req.t("visit_title"), VisitView(visit: row, message: ""), e)
        }
    }

    struct MinutesForm: Codable { var protokoll: String?; var aufgabe: String?; var verantwortlich: String?; var faellig: String? }

    @Sendable func document(req: Request) async throws -> Response {
        let (v, row) = try await Self.visitRow(req)
        let f = (try? req.content.decode(MinutesForm.self)) ?? MinutesForm()
        do {
            let minutes = try TextInput.required(f.protokoll, field: "protokoll", label: "das Protokoll", max: 8000)
            let taskTitle = try TextInput.optional(f.aufgabe, field: "aufgabe", label: "die Aufgabe", max: 200)
            var owner = "", due = ""
            if taskTitle != nil {
                owner = try TextInput.required(f.verantwortlich, field: "verantwortlich", label: "wer die Aufgabe übernimmt", max: 120)
                due = try BusinessDate.parse(f.faellig, field: "faellig", label: "das Fälligkeitsdatum") ?? ""
            }
            // from the day of the visit on (Europe/Berlin)
            guard ["confirmed", "documented"].contains(v.status), let when = v.proposedStart,
                  (GermanTime.startOfDay(BusinessDate.today(when)) ?? when) <= Date() else {
                throw AppError(.conflict, "visit.not_held", de: "Ein Protokoll gibt es für bestätigte Termine ab dem Besuchstag.",
                               en: "Minutes can be written for confirmed visits from the day of the visit.")
            }
            let actor = req.principal
            let id = try v.requireID()
            let (owner_, due_) = (owner, due)
            try await req.application.writeTransaction { db in
                let (owner, due) = (owner_, due_)
                guard let v = try await SiteVisit.find(id, on: db) else { throw AppError.notFound }
                let before = v.status
                v.status = "documented"; v.minutes = minutes; v.updatedAt = Date()
                try await v.save(on: db)
                if let taskTitle {
                    let t = VisitTask()
                    t.visitID = id; t.tenantARS = v.tenantARS; t.title = taskTitle; t.owner = owner; t.dueOn = due; t.createdAt = Date()
                    try await t.create(on: db)
                }
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: v.tenantARS, action: "visit.document", objectType: "site_visit",
                                       objectID: id.uuidString, before: before, after: "Protokoll\(taskTitle.map { ", Aufgabe: \($0) bis \(due)" } ?? "")")
            }
            return req.redirect(to: "/kompetenzzentrum/besuche/\(id)?ok=protokoll", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("kompetenzzentrum/besuch", title: req.t("visit_title"), VisitView(visit: row, message: ""), e)
        }
    }
}
