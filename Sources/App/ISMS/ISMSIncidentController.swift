import Fluent
import Foundation
import ISMS
import RathausCore
import Vapor

/// Security incidents: the tenant's list and report form (`/mandanten/<ARS>/sicherheitsvorfaelle`),
/// one incident with its timeline (`/sicherheitsvorfaelle/<id>`), the CERT's list of all
/// (`/betrieb/sicherheitsvorfaelle`).
struct ISMSIncidentController {
    func addRoutes(to app: any RoutesBuilder) {
        let t = app.grouped("mandanten", ":ars", "sicherheitsvorfaelle")
        t.get(use: tenantList)
        t.get("neu", use: form)
        t.post(use: report)
        let i = app.grouped("sicherheitsvorfaelle", ":id")
        i.get(use: show)
        i.post("eintrag", use: addEntry)
        i.post("aufsicht", use: authorityNotified)
        i.post("abschluss", use: close)
        app.get("betrieb", "sicherheitsvorfaelle", use: certList)
    }

    struct Row: Encodable {
        var id: String; var reference: String; var title: String; var tenant: String; var category: String; var assessment: String
        var status: String; var reported: String; var personal: Bool; var deadline: String; var deadlineOver: Bool
    }
    struct ListView: Encodable { var ars: String; var name: String; var rows: [Row]; var canReport: Bool; var cert: Bool; var ownOnly: Bool; var reported: String }

    static func rows(_ incidents: [ISMSIncident], names: [String: String], en: Bool, now: Date = Date()) -> [Row] {
        incidents.map { i in
            let d = BreachDeadline(detectedAt: i.detectedAt, notifiedAt: i.authorityNotifiedAt)
            return Row(id: i.id?.uuidString ?? "", reference: i.reference, title: i.title, tenant: names[i.tenantARS] ?? i.tenantARS,
                       category: IncidentCategory(rawValue: i.category).map { en ? $0.english : $0.german } ?? i.category,
                       assessment: IncidentAssessment(rawValue: i.assessment).map { en ? $0.english : $0.german } ?? i.assessment,
                       status: ISMSIncidents.Status(rawValue: i.status)?.label(en) ?? i.status, reported: GermanTime.format(i.reportedAt),
                       personal: i.personalData, deadline: i.personalData && !d.notified ? GermanTime.format(d.due) : "",
                       deadlineOver: i.personalData && !d.notified && d.hoursLeft(at: now) < 0)
        }
    }

    /// The tenant's incidents: all of them for the ISB and the administrators, one's own reports for everyone else.
    @Sendable func tenantList(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsIncidentReport)
        let all = req.can(.ismsView, tenant: g.ars)
        var q = ISMSIncident.query(on: req.db).filter(\.$tenantARS == g.ars)
        if !all { q = q.filter(\.$reportedBy == req.principal.auditActor) }
        let incidents = try await q.sort(\.$reportedAt, .descending).limit(500).all()
        let view = ListView(ars: g.ars, name: g.name, rows: Self.rows(incidents, names: [g.ars: g.name], en: req.lang == .en), canReport: true, cert: false,
                            ownOnly: !all, reported: req.query[String.self, at: "gemeldet"].map { String($0.prefix(20)) } ?? "")
        return try await req.render("isms/vorfaelle", title: req.t("is_incidents_title"), view)
    }

    @Sendable func certList(req: Request) async throws -> Response {
        try req.authorize(.ismsIncidentHandle)
        let incidents = try await ISMSIncident.query(on: req.db).sort(\.$reportedAt, .descending).limit(1_000).all()
        let names = Dictionary(try await Gebiet.query(on: req.db).filter(\.$id ~~ Array(Set(incidents.map(\.tenantARS)))).all().compactMap { g in g.id.map { ($0, g.name) } },
                               uniquingKeysWith: { a, _ in a })
        // open first, then newest
        let sorted = incidents.sorted { ($0.status == ISMSIncidents.Status.closed.rawValue ? 1 : 0, -$0.reportedAt.timeIntervalSince1970) < ($1.status == ISMSIncidents.Status.closed.rawValue ? 1 : 0, -$1.reportedAt.timeIntervalSince1970) }
        let view = ListView(ars: "", name: "", rows: Self.rows(sorted, names: names, en: req.lang == .en), canReport: false, cert: true, ownOnly: false, reported: "")
        return try await req.render("isms/vorfaelle", title: req.t("is_incidents_cert_title"), view)
    }

    // MARK: report

    struct Opt: Encodable { var value: String; var label: String; var selected: Bool }
    struct FormView: Encodable { var ars: String; var name: String; var categories: [Opt]; var assessments: [Opt]; var form: [String: String] }

    @Sendable func form(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsIncidentReport)
        let now = Date()
        let today = CalendarDay.display(BusinessDate.today(now))
        let c = GermanTime.calendar.dateComponents([.hour, .minute], from: now)
        let time = String(format: "%02d:%02d", c.hour ?? 0, c.minute ?? 0)
        return try await renderForm(req, g, form: ["eingetreten": today, "eingetreten_zeit": time, "bemerkt": today, "bemerkt_zeit": time])
    }

    func renderForm(_ req: Request, _ g: Gebiet, form: [String: String], error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let view = FormView(ars: g.ars, name: g.name,
                            categories: IncidentCategory.allCases.map { Opt(value: $0.rawValue, label: en ? $0.english : $0.german, selected: form["kategorie"] == $0.rawValue) },
                            assessments: IncidentAssessment.allCases.map { Opt(value: $0.rawValue, label: en ? $0.english : $0.german, selected: form["einschaetzung"] == $0.rawValue) },
                            form: form)
        let title = req.t("is_incident_new")
        if let error { return try await req.renderError("isms/vorfall-neu", title: title, view, error) }
        return try await req.render("isms/vorfall-neu", title: title, view, form: true)
    }

    @Sendable func report(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsIncidentReport)
        let f = FundingForm(req)
        do {
            let r = try ISMSIncidents.read(f, now: Date())
            let i = try await ISMSIncidents.report(req.application, tenant: g, r, actor: req.principal)
            return req.redirect(to: "/sicherheitsvorfaelle/\(i.id?.uuidString ?? "")?ok=gemeldet", redirectType: .normal)
        } catch let e as AppError {
            return try await renderForm(req, g, form: f.f, error: e)
        }
    }

    // MARK: one incident

    /// The incident if the caller may see it: the CERT all, the tenant's ISB and administrators
    /// their tenant's, every other reporter their own.
    static func visible(_ req: Request) async throws -> (ISMSIncident, Gebiet) {
        guard let id = req.parameters.get("id", as: UUID.self), let i = try await ISMSIncident.find(id, on: req.db) else { throw AppError.notFound }
        if case .anonymous = req.principal { throw AppError.unauthenticated }
        let mayView = req.can(.ismsIncidentHandle) || req.can(.ismsView, tenant: i.tenantARS)
            || (req.can(.ismsIncidentReport, tenant: i.tenantARS) && i.reportedBy == req.principal.auditActor)
        // another tenant's incident does not exist for the caller
        guard mayView else { throw AppError.notFound }
        let g = try await Tenants.tenant(i.tenantARS, on: req.db)
        return (i, g)
    }

    struct Entry: Encodable { var at: String; var who: String; var kind: String; var text: String }
    struct IncidentView: Encodable {
        var id: String; var reference: String; var title: String; var description: String; var tenant: String; var ars: String
        var category: String; var assessment: String; var systems: String; var personal: Bool; var occurred: String; var detected: String
        var status: String; var closed: Bool; var reporter: String; var reportedAt: String
        var deadline: String; var hoursLeft: Int; var deadlineOver: Bool; var notified: String; var closingReport: String
        var entries: [Entry]; var canWrite: Bool; var canNotify: Bool; var cert: Bool; var ok: String; var form: [String: String]
    }

    static func kindLabel(_ k: String, _ en: Bool) -> String {
        switch k {
        case "meldung": en ? "reported" : "Meldung"
        case "aufsicht": en ? "authority notified" : "Meldung an die Aufsicht"
        case "abschluss": en ? "closed" : "Abschluss"
        case "status": en ? "status" : "Stand"
        default: en ? "action" : "Maßnahme"
        }
    }

    @Sendable func show(req: Request) async throws -> Response {
        let (i, g) = try await Self.visible(req)
        return try await render(req, i, g, form: [:])
    }

    func render(_ req: Request, _ i: ISMSIncident, _ g: Gebiet, form: [String: String], error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let id = try i.requireID()
        let events = try await ISMSIncidentEvent.query(on: req.db).filter(\.$incidentID == id).sort(\.$at).all()
        let people = try await ActorNames.load(events.map(\.actor) + [i.reportedBy], on: req.db)
        let d = BreachDeadline(detectedAt: i.detectedAt, notifiedAt: i.authorityNotifiedAt)
        let closed = i.status == ISMSIncidents.Status.closed.rawValue
        let cert = req.can(.ismsIncidentHandle)
        let view = IncidentView(
            id: id.uuidString, reference: i.reference, title: i.title, description: i.description, tenant: g.name, ars: g.ars,
            category: IncidentCategory(rawValue: i.category).map { en ? $0.english : $0.german } ?? i.category,
            assessment: IncidentAssessment(rawValue: i.assessment).map { en ? $0.english : $0.german } ?? i.assessment,
            systems: i.systems, personal: i.personalData, occurred: GermanTime.format(i.occurredAt), detected: GermanTime.format(i.detectedAt),
            status: ISMSIncidents.Status(rawValue: i.status)?.label(en) ?? i.status, closed: closed, reporter: people.display(i.reportedBy),
            reportedAt: GermanTime.format(i.reportedAt), deadline: GermanTime.format(d.due), hoursLeft: max(0, d.hoursLeft(at: Date())),
            deadlineOver: d.hoursLeft(at: Date()) < 0, notified: i.authorityNotifiedAt.map { GermanTime.format($0) } ?? "", closingReport: i.closingReport,
            entries: events.map { Entry(at: GermanTime.format($0.at), who: people.display($0.actor), kind: Self.kindLabel($0.kind, en), text: $0.text) },
            canWrite: !closed && (cert || req.can(.ismsEdit, tenant: i.tenantARS)),
            canNotify: i.personalData && i.authorityNotifiedAt == nil && req.can(.ismsEdit, tenant: i.tenantARS),
            cert: cert && !closed, ok: req.query[String.self, at: "ok"].map { String($0.prefix(20)) } ?? "", form: form)
        let title = "\(req.t("is_incident")) \(i.reference)"
        if let error { return try await req.renderError("isms/vorfall", title: title, view, error) }
        return try await req.render("isms/vorfall", title: title, view, form: true)
    }

    /// Writes one change under the incident's row; closed incidents take no more entries.
    func change(_ req: Request, ok: String, _ body: @escaping @Sendable (ISMSIncident, any Database, FundingForm, Principal) async throws -> Void) async throws -> Response {
        let (i, g) = try await Self.visible(req)
        let f = FundingForm(req)
        let actor = req.principal
        let id = try i.requireID()
        do {
            try await req.application.writeTransaction { db in
                guard let x = try await ISMSIncident.find(id, on: db) else { throw AppError.notFound }
                guard x.status != ISMSIncidents.Status.closed.rawValue else {
                    throw AppError(.conflict, "isms.incident_closed", de: "Der Vorfall ist abgeschlossen; es können keine Einträge mehr hinzugefügt werden.", en: "The incident is closed; no more entries can be added.")
                }
                try await body(x, db, f, actor)
                x.updatedAt = Date()
                try await x.save(on: db)
            }
            return req.redirect(to: "/sicherheitsvorfaelle/\(id.uuidString)?ok=\(ok)", redirectType: .normal)
        } catch let e as AppError {
            return try await render(req, i, g, form: f.f, error: e)
        }
    }

    @Sendable func addEntry(req: Request) async throws -> Response {
        let (i, _) = try await Self.visible(req)
        guard req.can(.ismsIncidentHandle) || req.can(.ismsEdit, tenant: i.tenantARS) else { throw AppError.forbidden }
        let cert = req.can(.ismsIncidentHandle)
        return try await change(req, ok: "eintrag") { x, db, f, actor in
            let text = try f.text("eintrag", "was getan wurde", max: 2_000)
            try await ISMSIncidents.event(db, try x.requireID(), "massnahme", text, actor.auditActor)
            if cert, x.status == ISMSIncidents.Status.reported.rawValue { x.status = ISMSIncidents.Status.handling.rawValue }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: x.tenantARS, action: "isms.incident_entry",
                                   objectType: "isms_incident", objectID: x.reference, before: nil, after: text)
        }
    }

    @Sendable func authorityNotified(req: Request) async throws -> Response {
        let (i, _) = try await Self.visible(req)
        try req.authorize(.ismsEdit, tenant: i.tenantARS)
        return try await change(req, ok: "aufsicht") { x, db, f, actor in
            guard x.personalData, x.authorityNotifiedAt == nil else {
                throw AppError(.conflict, "isms.incident_notified", de: "Die Meldung an die Aufsicht ist bereits vermerkt oder nicht nötig.", en: "The notification is already recorded or not needed.")
            }
            let note = try f.text("aktenzeichen", "das Aktenzeichen oder den Weg der Meldung", max: 300)
            let now = Date()
            x.authorityNotifiedAt = now
            let late = BreachDeadline(detectedAt: x.detectedAt, notifiedAt: nil).hoursLeft(at: now) < 0
            try await ISMSIncidents.event(db, try x.requireID(), "aufsicht", "Aufsichtsbehörde benachrichtigt\(late ? " (nach Ablauf der 72 Stunden)" : ""): \(note)", actor.auditActor)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: x.tenantARS, action: "isms.incident_authority",
                                   objectType: "isms_incident", objectID: x.reference, before: nil, after: note)
        }
    }

    @Sendable func close(req: Request) async throws -> Response {
        try req.authorize(.ismsIncidentHandle)
        return try await change(req, ok: "abgeschlossen") { x, db, f, actor in
            let text = try f.text("abschlussbericht", "den Abschlussbericht (Ursache, Wirkung, was künftig verhindert)", max: 10_000)
            guard text.count >= 30 else {
                throw AppError.invalid("abschlussbericht", de: "Der Abschlussbericht braucht mindestens 30 Zeichen: Ursache, Auswirkung und was künftig vorbeugt.", en: "The closing report needs at least 30 characters: cause, impact, prevention.")
            }
            x.closingReport = text; x.status = ISMSIncidents.Status.closed.rawValue; x.closedAt = Date()
            try await ISMSIncidents.event(db, try x.requireID(), "abschluss", text, actor.auditActor)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: x.tenantARS, action: "isms.incident_closed",
                                   objectType: "isms_incident", objectID: x.reference, before: nil, after: text)
        }
    }
}
