import Fluent
import SQLKit
import Vapor
import Events
import Documents
import RathausCore
import Forms

/// The competence centre's own pages: events with participants, waiting list, check-in,
/// sign-in sheets, certificates and bulk mail.
struct CompetenceCentreController {
    func addRoutes(to web: any RoutesBuilder) {
        let kz = web.grouped("kompetenzzentrum")
        kz.get(use: dashboard)
        kz.get("veranstaltungen", "neu", use: newForm)
        kz.post("veranstaltungen", use: create)
        kz.get("veranstaltungen", ":id", use: participants)
        kz.post("veranstaltungen", ":id", "plaetze", use: capacity)
        kz.get("veranstaltungen", ":id", "termine", ":n", use: checkIn)
        kz.post("veranstaltungen", ":id", "termine", ":n", use: markAttendance)
        kz.get("veranstaltungen", ":id", "termine", ":n", "liste.pdf", use: signInSheet)
        kz.post("veranstaltungen", ":id", "bescheinigungen", use: issue)
        kz.post("veranstaltungen", ":id", "rundmail", use: bulkMail)
        kz.post("bescheinigungen", ":id", "widerrufen", use: revoke)
        kz.post("veranstaltungen", ":id", "absagen", use: cancelEvent)
    }

    struct Row: Encodable { var card: EventController.Card; var confirmed: Int }
    struct DashboardView: Encodable { var events: [EventController.Card]; var openVisits: Int }

    @Sendable func dashboard(req: Request) async throws -> Response {
        try req.authorize(.eventsManage)
        let events = try await EventController.upcoming(on: req.db)
        let past = try await TrainingEvent.query(on: req.db).all().filter { e in !events.contains { $0.id == e.id } }
        let cards = try await EventController.cards(events + past, on: req.db)
        let open = try await SiteVisit.query(on: req.db).filter(\.$status ~~ ["requested", "proposed"]).count()
        return try await req.render("kompetenzzentrum/uebersicht", title: req.t("kz_title"), DashboardView(events: cards, openVisits: open))
    }

    struct Form: Codable {
        var titel: String?; var art: String?; var beschreibung: String?; var ort: String?; var online: String?; var zugang: String?
        var plaetze: String?; var kontingent: String?; var anmeldeschluss: String?; var qualifizierend: String?; var qualifikation: String?
        var datum1: String?; var von1: String?; var bis1: String?; var datum2: String?; var von2: String?; var bis2: String?
        var datum3: String?; var von3: String?; var bis3: String?
        var thema_ozg: String?; var thema_erechnung: String?; var thema_informationssicherheit: String?; var thema_foerderung: String?; var thema_digitalisierung: String?
        var ebene_gemeinde: String?; var ebene_vg: String?; var ebene_kreis: String?
        var rolle_admin: String?; var rolle_sachbearbeitung: String?; var rolle_kasse: String?
        /// Sessions required for the certificate (all, unless unticked).
        var pflicht1: String?; var pflicht2: String?; var pflicht3: String?
        var gebuehr: String?; var haushaltsstelle: String?
    }
    struct FormView: Encodable { var form: Form; var kinds: [EventController.Option]; var topics: [EventController.Option] }

    /// A new form: every session required.
    static let fresh = Form(pflicht1: "1", pflicht2: "1", pflicht3: "1")

    func formView(_ f: Form, _ req: Request) -> FormView {
        let english = req.lang == .en
        let chosen: [EventTopic: String?] = [.ozg: f.thema_ozg, .erechnung: f.thema_erechnung, .informationssicherheit: f.thema_informationssicherheit,
                                             .foerderung: f.thema_foerderung, .digitalisierung: f.thema_digitalisierung]
        return FormView(form: f, kinds: EventKind.allCases.map { EventController.Option(value: $0.rawValue, label: english ? EventController.kindEN($0) : $0.german,
                                                                                           selected: $0.rawValue == (f.art ?? "kurs")) },
                        topics: EventTopic.allCases.map { EventController.Option(value: $0.rawValue.replacingOccurrences(of: "-", with: ""), label: $0.label(english),
                                                                                  selected: (chosen[$0] ?? nil) != nil) })
    }

    @Sendable func newForm(req: Request) async throws -> Response {
        try req.authorize(.eventsManage)
        return try await req.render("kompetenzzentrum/veranstaltung-neu", title: req.t("kz_new_title"), formView(Self.fresh, req), form: true)
    }

    static func number(_ raw: String?, field: String, label: String, range: ClosedRange<Int>, required: Bool) throws -> Int? {
        let s = (raw ?? "").trimmingCharacters(in: .whitespaces)
        if s.isEmpty {
            if required { throw AppError.invalid(field, de: "Bitte geben Sie \(label) an.", en: "Please enter \(field).") }
            return nil
        }
        guard let n = Int(s), range.contains(n) else {
            throw AppError.invalid(field, de: "\(label) muss eine ganze Zahl von \(range.lowerBound) bis \(range.upperBound) sein.",
                                   en: "\(field) must be a whole number from \(range.lowerBound) to \(range.upperBound).")
        }
        return n
    }

    @Sendable func create(req: Request) async throws -> Response {
        try req.authorize(.eventsManage)
        let f = (try? req.content.decode(Form.self)) ?? Form()
        do {
            let title = try TextInput.required(f.titel, field: "titel", label: "den Titel", max: 160)
            guard let kind = EventKind(rawValue: f.art ?? "") else {
                throw AppError.invalid("art", de: "Bitte wählen Sie die Art der Veranstaltung.", en: "Please choose the kind of event.")
            }
            let summary = try TextInput.optional(f.beschreibung, field: "beschreibung", label: "die Beschreibung", max: 4000) ?? ""
            let online = f.online == "1" || kind == .webinar
            let place = try TextInput.optional(f.ort, field: "ort", label: "den Ort", max: 200) ?? ""
            if !online && place.isEmpty {
                throw AppError.invalid("ort", de: "Bitte geben Sie den Ort an (Anschrift) oder wählen Sie „online“.", en: "Please enter the venue or choose online.")
            }
            let link = try TextInput.optional(f.zugang, field: "zugang", label: "den Zugangslink", max: 500) ?? ""
            if online && !(link.hasPrefix("https://")) {
                throw AppError.invalid("zugang", de: "Für eine Online-Veranstaltung brauchen wir den Zugangslink (beginnt mit https://). Er geht nur an angemeldete Teilnehmende.",
                                       en: "An online event needs its access link (starting with https://).")
            }
            let capacity = try Self.number(f.plaetze, field: "plaetze", label: "Die Platzzahl", range: 1...2000, required: true) ?? 1
            let quota = try Self.number(f.kontingent, field: "kontingent", label: "Das Kontingent je Kommune", range: 1...2000, required: false)
            var sessions: [EventSession] = []
            var required: [Bool] = []
            for (i, (d, from, to, must)) in [(f.datum1, f.von1, f.bis1, f.pflicht1), (f.datum2, f.von2, f.bis2, f.pflicht2), (f.datum3, f.von3, f.bis3, f.pflicht3)].enumerated() {
                let n = i + 1
                if i > 0 && (d ?? "").trimmingCharacters(in: .whitespaces).isEmpty { continue }
                guard let day = try BusinessDate.parse(d, field: "datum\(n)", label: "das Datum des \(n). Termins") else { continue }
                guard let start = EventFormat.instant(day: day, time: (from ?? "").trimmingCharacters(in: .whitespaces)) else {
                    throw AppError.invalid("von\(n)", de: "Bitte geben Sie den Beginn des \(n). Termins als Uhrzeit an, zum Beispiel 09:00.", en: "Please enter the start time of session \(n), e.g. 09:00.")
                }
                guard let end = EventFormat.instant(day: day, time: (to ?? "").trimmingCharacters(in: .whitespaces)), end > start else {
                    throw AppError.invalid("bis\(n)", de: "Das Ende des \(n). Termins muss eine Uhrzeit nach dem Beginn sein, zum Beispiel 16:00.", en: "The end of session \(n) must be a time after its start.")
                }
                if let prev = sessions.last, start < prev.end {
                    throw AppError.invalid("datum\(n)", de: "Der \(n). Termin muss nach dem vorigen liegen.", en: "Session \(n) must come after the previous one.")
                }
                sessions.append(EventSession(start: start, end: end))
                required.append(must != nil)
            }
            guard required.contains(true) else {
                throw AppError.invalid("pflicht1", de: "Mindestens ein Termin muss für die Teilnahmebescheinigung erforderlich sein.",
                                       en: "At least one session must be required for the certificate.")
            }
            if kind != .course && sessions.count > 1 {
                throw AppError.invalid("datum2", de: "Mehrere Termine hat nur ein Kurs. Bitte wählen Sie die Art „Kurs“ oder lassen Sie den 2. Termin leer.",
                                       en: "Only a course has several sessions.")
            }
            var deadline: Date? = nil
            if let d = try BusinessDate.parse(f.anmeldeschluss, field: "anmeldeschluss", label: "den Anmeldeschluss", required: false) {
                // registrations are accepted through the whole day of the deadline
                deadline = EventFormat.instant(day: d, time: "23:59")
                if let dl = deadline, let first = sessions.first, dl > first.start.addingTimeInterval(86400) {
                    throw AppError.invalid("anmeldeschluss", de: "Der Anmeldeschluss darf nicht nach dem ersten Termin liegen.", en: "The deadline may not be after the first session.")
                }
            }
            var fee: Int64 = 0
            if let raw = f.gebuehr, !raw.trimmingCharacters(in: .whitespaces).isEmpty {
                do { fee = try Money(parsing: raw).cents } catch { throw AppError(.badRequest, error, field: "gebuehr") }
                guard fee >= 0, fee <= 1_000_000 else {
                    throw AppError.invalid("gebuehr", de: "Die Gebühr liegt zwischen 0,00 € und 10.000,00 €.", en: "The fee is between €0.00 and €10,000.00.")
                }
            }
            let budget = try TextInput.optional(f.haushaltsstelle, field: "haushaltsstelle", label: "die Haushaltsstelle", max: 40) ?? ""
            if fee > 0 && budget.isEmpty {
                throw AppError.invalid("haushaltsstelle", de: "Für eine Gebühr braucht die Kasse die Haushaltsstelle, auf die sie gebucht wird.",
                                       en: "A fee needs the budget line it is booked to.")
            }
            let qualifying = f.qualifizierend == "1"
            let qualification = try TextInput.optional(f.qualifikation, field: "qualifikation", label: "die Qualifikation", max: 160) ?? ""
            if qualifying && qualification.isEmpty {
                throw AppError.invalid("qualifikation", de: "Bitte nennen Sie, wofür die Bescheinigung als Nachweis gilt (zum Beispiel Informationssicherheitsbeauftragte/r).",
                                       en: "Please name the qualification the certificate proves.")
            }
            let topicFlags: [(EventTopic, String?)] = [(.ozg, f.thema_ozg), (.erechnung, f.thema_erechnung), (.informationssicherheit, f.thema_informationssicherheit),
                                                      (.foerderung, f.thema_foerderung), (.digitalisierung, f.thema_digitalisierung)]
            let topics = topicFlags.filter { $0.1 != nil }.map(\.0.rawValue)
            let levels = [("gemeinde", f.ebene_gemeinde), ("vg", f.ebene_vg), ("kreis", f.ebene_kreis)].filter { $0.1 != nil }.map(\.0)
                + [(Role.tenantAdmin, f.rolle_admin), (.clerk, f.rolle_sachbearbeitung), (.cashOffice, f.rolle_kasse)].filter { $0.1 != nil }.map { "rolle:" + $0.0.rawValue }
            let e = TrainingEvent()
            e.id = UUID(); e.title = title; e.kind = kind.rawValue; e.summary = summary; e.topics = topics.joined(separator: ","); e.audience = levels.joined(separator: ",")
            e.place = online ? "" : place; e.online = online; e.onlineLink = online ? link : ""; e.capacity = capacity; e.quotaPerTenant = quota; e.deadline = deadline
            e.qualifying = qualifying; e.qualification = qualifying ? qualification : ""; e.status = "published"; e.seatLock = 0
            e.feeCents = fee; e.feeHaushaltsstelle = fee > 0 ? budget : ""
            e.createdBy = req.principal.auditActor; e.createdAt = Date()
            let actor = req.principal
            let planned = sessions, mandatory = required
            try await req.application.writeTransaction { db in
                try await e.create(on: db)
                for (i, s) in planned.enumerated() {
                    let row = EventSessionRow()
                    row.eventID = try e.requireID(); row.idx = i; row.startsAt = s.start; row.endsAt = s.end; row.required = mandatory[i]
                    try await row.create(on: db)
                }
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "event.create", objectType: "event",
                                       objectID: e.id?.uuidString ?? "", before: nil, after: "\(title), \(kind.german), \(capacity) Plätze, \(planned.count) Termine")
            }
            return req.redirect(to: "/kompetenzzentrum/veranstaltungen/\(try e.requireID())", redirectType: .normal)
        } catch let error as AppError {
            return try await req.renderError("kompetenzzentrum/veranstaltung-neu", title: req.t("kz_new_title"), formView(f, req), error)
        }
    }

    struct Person: Encodable {
        var id: String; var name: String; var email: String; var tenant: String; var status: String; var reason: String; var attended: [Bool]
        var certificate: String; var certificateID: String; var revoked: Bool; var noShow: Bool
        var fee: String
    }
    struct SessionLink: Encodable { var n: Int; var label: String; var present: Int; var past: Bool }
    struct ParticipantsView: Encodable {
        var event: EventController.Card; var id: String; var confirmed: [Person]; var waiting: [Person]; var sessions: [SessionLink]
        var issued: Int; var message: String; var materials: [MaterialRow]; var feedback: Int
    }
    struct MaterialRow: Encodable { var id: String; var name: String; var kind: String; var size: String }

    static func materials(_ eventID: UUID, on db: any Database) async throws -> [MaterialRow] {
        try await EventMaterial.query(on: db).filter(\.$eventID == eventID).sort(\.$createdAt).all().map {
            MaterialRow(id: $0.id?.uuidString ?? "", name: $0.name, kind: FileKind(rawValue: $0.kind)?.label ?? $0.kind, size: StreamedUpload.megabytes($0.size))
        }
    }

    static func event(_ req: Request) async throws -> TrainingEvent {
        try req.authorize(.eventsManage)
        return try await EventController.event(req)
    }

    @Sendable func participants(req: Request) async throws -> Response {
        let e = try await Self.event(req)
        let id = try e.requireID()
        guard let card = try await EventController.cards([e], on: req.db).first else { throw AppError.notFound }
        let sessions = try await EventService.sessions(req.db, id)
        let regs = try await EventRegistration.query(on: req.db).filter(\.$eventID == id).filter(\.$status != "cancelled").sort(\.$queuedAt).all()
        let certs = try await EventCertificate.query(on: req.db).filter(\.$eventID == id).all()
        let names = try await Self.tenantNames(Set(regs.map(\.tenantARS)), on: req.db)
        let now = Date()
        let english = req.lang == .en
        let payments = try await EventFees.payments(regs, on: req.db)
        func person(_ r: EventRegistration) -> Person {
            let c = certs.first { $0.registrationID == r.id }
            let att = r.attendedSet
            let noShow = sessions.contains { $0.startsAt < now } && att.isEmpty && r.status == "confirmed"
            return Person(id: r.id?.uuidString ?? "", name: r.name, email: r.email, tenant: names[r.tenantARS] ?? r.tenantARS,
                          status: EventController.statusLabel(r.status, english: english),
                          reason: r.waitReason == "kontingent" ? req.t("ev_reason_quota") : (r.waitReason.isEmpty ? "" : req.t("ev_reason_full")),
                          attended: sessions.map { att.contains($0.idx) }, certificate: c.map { VerificationCode.display($0.code) } ?? "",
                          certificateID: c?.id?.uuidString ?? "", revoked: c?.revokedAt != nil, noShow: noShow,
                          fee: e.feeCents > 0 && r.status == "confirmed" ? EventFees.statusLabel(r.paymentID.flatMap { payments[$0] }, english: english) : "")
        }
        let confirmed = regs.filter { $0.status == "confirmed" }
        let view = ParticipantsView(event: card, id: id.uuidString, confirmed: confirmed.map(person), waiting: regs.filter { $0.status == "waiting" }.map(person),
                                    sessions: sessions.map { s in SessionLink(n: s.idx + 1, label: EventFormat.session(s.session),
                                                                              present: confirmed.filter { $0.attendedSet.contains(s.idx) }.count, past: s.startsAt <= now) },
                                    issued: certs.count, message: Self.message(req), materials: try await Self.materials(id, on: req.db),
                                    feedback: try await EventFeedback.query(on: req.db).filter(\.$eventID == id).count())
        return try await req.render("kompetenzzentrum/teilnehmende", title: e.title, view, form: true)
    }

    static func message(_ req: Request) -> String {
        switch req.query[String.self, at: "ok"] ?? "" {
        case "plaetze": req.t("kz_msg_capacity")
        case "bescheinigungen": req.t("kz_msg_certificates").replacingOccurrences(of: "{n}", with: req.query[String.self, at: "n"].flatMap(Int.init).map(String.init) ?? "0")
        case "rundmail": req.t("kz_msg_bulk")
        case "widerrufen": req.t("kz_msg_revoked")
        case "unterlage": req.t("kz_msg_material")
        case "abgesagt": req.t("kz_msg_cancelled").replacingOccurrences(of: "{n}", with: req.query[String.self, at: "n"].flatMap(Int.init).map(String.init) ?? "0")
        default: ""
        }
    }

    static func tenantNames(_ keys: Set<String>, on db: any Database) async throws -> [String: String] {
        guard !keys.isEmpty else { return [:] }
        return Dictionary(try await Gebiet.query(on: db).filter(\.$id ~~ Array(keys)).all().compactMap { g in g.id.map { ($0, g.name) } }, uniquingKeysWith: { a, _ in a })
    }

    struct CapacityForm: Codable { var plaetze: String? }

    /// More seats promote from the waiting list at once; fewer than confirmed are refused.
    @Sendable func capacity(req: Request) async throws -> Response {
        let e = try await Self.event(req)
        let id = try e.requireID()
        let f = (try? req.content.decode(CapacityForm.self)) ?? CapacityForm()
        let n = try Self.number(f.plaetze, field: "plaetze", label: "Die Platzzahl", range: 1...2000, required: true) ?? e.capacity
        let actor = req.principal
        let app = req.application
        try await app.writeTransaction { db in
            let e = try await EventService.lockSeats(db, id)
            let confirmed = try await EventService.confirmedCount(db, id)
            guard n >= confirmed else {
                throw AppError(.conflict, "event.capacity", de: "Es sind bereits \(confirmed) Personen angemeldet; die Platzzahl kann nicht darunter sinken. Bitte melden Sie zuerst Personen ab.",
                               en: "\(confirmed) people are already registered; the capacity cannot go below that.", field: "plaetze")
            }
            let before = e.capacity
            e.capacity = n
            try await e.save(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "event.capacity", objectType: "event",
                                   objectID: id.uuidString, before: "\(before)", after: "\(n)")
            _ = try await EventService.promote(db, app: app, event: e, actor: actor, now: Date())
        }
        return req.redirect(to: "/kompetenzzentrum/veranstaltungen/\(id)?ok=plaetze", redirectType: .normal)
    }

    static func session(_ req: Request, _ id: UUID) async throws -> EventSessionRow {
        guard let n = req.parameters.get("n", as: Int.self), n >= 1,
              let s = try await EventSessionRow.query(on: req.db).filter(\.$eventID == id).filter(\.$idx == n - 1).first() else { throw AppError.notFound }
        return s
    }

    struct CheckInRow: Encodable { var id: String; var name: String; var tenant: String; var present: Bool }
    struct CheckInView: Encodable { var eventID: String; var title: String; var n: Int; var label: String; var rows: [CheckInRow]; var present: Int }

    @Sendable func checkIn(req: Request) async throws -> Response {
        let e = try await Self.event(req)
        let id = try e.requireID()
        let s = try await Self.session(req, id)
        let regs = try await EventRegistration.query(on: req.db).filter(\.$eventID == id).filter(\.$status == "confirmed").sort(\.$name).all()
        let names = try await Self.tenantNames(Set(regs.map(\.tenantARS)), on: req.db)
        let rows = regs.map { CheckInRow(id: $0.id?.uuidString ?? "", name: $0.name, tenant: names[$0.tenantARS] ?? $0.tenantARS, present: $0.attendedSet.contains(s.idx)) }
        return try await req.render("kompetenzzentrum/anwesenheit", title: req.t("kz_checkin_title"),
                                    CheckInView(eventID: id.uuidString, title: e.title, n: s.idx + 1, label: EventFormat.session(s.session), rows: rows,
                                                present: rows.filter(\.present).count), form: true)
    }

    struct MarkForm: Codable { var anmeldung: String?; var anwesend: String? }

    @Sendable func markAttendance(req: Request) async throws -> Response {
        let e = try await Self.event(req)
        let id = try e.requireID()
        let s = try await Self.session(req, id)
        let f = (try? req.content.decode(MarkForm.self)) ?? MarkForm()
        guard let rid = f.anmeldung.flatMap(UUID.init(uuidString:)) else {
            throw AppError.invalid("anmeldung", de: "Bitte wählen Sie eine angemeldete Person.", en: "Please choose a registered person.")
        }
        let present = f.anwesend == "1"
        let actor = req.principal
        try await req.application.writeTransaction { db in
            guard let r = try await EventRegistration.find(rid, on: db), r.eventID == id, r.status == "confirmed" else { throw AppError.notFound }
            var set = r.attendedSet
            let before = r.attended
            if present { set.insert(s.idx) } else { set.remove(s.idx) }
            r.attended = set.sorted().map(String.init).joined(separator: ",")
            r.updatedAt = Date()
            try await r.save(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: r.tenantARS, action: "event.attendance",
                                   objectType: "event_registration", objectID: rid.uuidString, before: before, after: "Termin \(s.idx + 1): \(present ? "anwesend" : "nicht anwesend")")
        }
        return req.redirect(to: "/kompetenzzentrum/veranstaltungen/\(id)/termine/\(s.idx + 1)#p-\(rid)", redirectType: .normal)
    }

    /// The printable sign-in sheet: one line per confirmed person with a signature column.
    @Sendable func signInSheet(req: Request) async throws -> Response {
        let e = try await Self.event(req)
        let id = try e.requireID()
        let s = try await Self.session(req, id)
        let regs = try await EventRegistration.query(on: req.db).filter(\.$eventID == id).filter(\.$status == "confirmed").sort(\.$name).all()
        let names = try await Self.tenantNames(Set(regs.map(\.tenantARS)), on: req.db)
        let table = Table(columns: [.init("Nr.", width: 0.07, alignment: .right), .init("Name", width: 0.3), .init("Kommune", width: 0.3), .init("Unterschrift", width: 0.33)],
                          rows: regs.enumerated().map { i, r in ["\(i + 1)", r.name, names[r.tenantARS] ?? r.tenantARS, ""] })
        let report = Report(title: "Anwesenheitsliste", subtitle: "\(e.title) – Termin \(s.idx + 1): \(EventFormat.session(s.session, english: false))",
                            body: [.facts([("Ort", e.online ? "online" : e.place), ("Angemeldet", "\(regs.count) von \(e.capacity) Plätzen")]), .spacer(6), .table(table)],
                            footer: "Kompetenzzentrum Digitale Verwaltung Thüringen")
        let pdf = try PDFRenderer.render(report, info: DocumentInfo(title: "Anwesenheitsliste \(e.title)", author: "Kompetenzzentrum"))
        let res = Response(status: .ok, body: .init(data: pdf))
        res.headers.contentType = .init(type: "application", subType: "pdf")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "inline; filename=\"anwesenheitsliste-termin-\(s.idx + 1).pdf\"")
        return res
    }

    @Sendable func issue(req: Request) async throws -> Response {
        let e = try await Self.event(req)
        let id = try e.requireID()
        let n = try await EventService.issueCertificates(req.application, eventID: id, actor: req.principal)
        return req.redirect(to: "/kompetenzzentrum/veranstaltungen/\(id)?ok=bescheinigungen&n=\(n)", redirectType: .normal)
    }

    @Sendable func cancelEvent(req: Request) async throws -> Response {
        let e = try await Self.event(req)
        let id = try e.requireID()
        let f = (try? req.content.decode(RevokeForm.self)) ?? RevokeForm()
        let reason = try TextInput.required(f.grund, field: "absagegrund", label: "den Grund der Absage", max: 300)
        let n = try await EventService.cancelEvent(req.application, eventID: id, reason: reason, actor: req.principal)
        return req.redirect(to: "/kompetenzzentrum/veranstaltungen/\(id)?ok=abgesagt&n=\(n)", redirectType: .normal)
    }

    struct RevokeForm: Codable { var grund: String? }

    @Sendable func revoke(req: Request) async throws -> Response {
        try req.authorize(.eventsManage)
        guard let cid = req.parameters.get("id", as: UUID.self) else { throw AppError.notFound }
        let f = (try? req.content.decode(RevokeForm.self)) ?? RevokeForm()
        let reason = try TextInput.required(f.grund, field: "grund", label: "den Grund des Widerrufs", max: 300)
        let actor = req.principal
        let eventID = try await req.application.writeTransaction { db -> UUID in
            guard let c = try await EventCertificate.find(cid, on: db) else { throw AppError.notFound }
            if c.revokedAt == nil {
                c.revokedAt = Date(); c.revokedReason = reason
                try await c.save(on: db)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: c.tenantARS, action: "event.certificate.revoke",
                                       objectType: "event_certificate", objectID: c.code, before: "gültig", after: "widerrufen: \(reason)")
            }
            return c.eventID
        }
        return req.redirect(to: "/kompetenzzentrum/veranstaltungen/\(eventID)?ok=widerrufen", redirectType: .normal)
    }

    struct BulkForm: Codable { var an: String?; var betreff: String?; var text: String? }

    /// One mail to all participants or all waiting, through the outbox; at most one per event
    /// every ten minutes (checked under the event's seat lock, so two clicks send once).
    @Sendable func bulkMail(req: Request) async throws -> Response {
        let e = try await Self.event(req)
        let id = try e.requireID()
        let f = (try? req.content.decode(BulkForm.self)) ?? BulkForm()
        guard let group = f.an, ["teilnehmende", "warteliste"].contains(group) else {
            throw AppError.invalid("an", de: "Bitte wählen Sie, wer die Nachricht erhält.", en: "Please choose the recipients.")
        }
        let subject = try TextInput.required(f.betreff, field: "betreff", label: "den Betreff", max: 160)
        let text = try TextInput.required(f.text, field: "text", label: "den Text", max: 8000)
        let actor = req.principal
        let n = try await req.application.writeTransaction { db -> Int in
            _ = try await EventService.lockSeats(db, id)
            let recent = try await AuditEntry.query(on: db).filter(\.$action == "event.bulkmail").filter(\.$objectID == id.uuidString)
                .filter(\.$occurredAt >= Audit.timestamp(Date().addingTimeInterval(-600))).count()
            guard recent == 0 else {
                throw AppError(.tooManyRequests, "event.bulkmail", de: "Für diese Veranstaltung wurde gerade eine Rundmail verschickt. Die nächste ist in zehn Minuten möglich.",
                               en: "A bulk mail was just sent for this event. The next is possible in ten minutes.")
            }
            let regs = try await EventRegistration.query(on: db).filter(\.$eventID == id).filter(\.$status == (group == "teilnehmende" ? "confirmed" : "waiting")).all()
            let batch = UUID().uuidString
            for r in regs {
                try await Outbox.enqueue(on: db, key: "event-bulk-\(batch)-\(r.id?.uuidString ?? "")", to: r.email, subject: subject,
                                         body: "Guten Tag \(r.name),\n\n\(text)\n\nIhr Kompetenzzentrum\n(Nachricht zu „\(e.title)“)")
            }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "event.bulkmail", objectType: "event",
                                   objectID: id.uuidString, before: nil, after: "\(group): \(regs.count) Empfänger, Betreff \(subject)")
            return regs.count
        }
        req.logger.info("Rundmail an \(n) Empfänger")
        return req.redirect(to: "/kompetenzzentrum/veranstaltungen/\(id)?ok=rundmail", redirectType: .normal)
    }
}
