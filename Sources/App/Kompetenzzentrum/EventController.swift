import Fluent
import Vapor
import Events
import Documents
import RathausCore

/// The public catalogue of events, each event's page and calendar, registration by municipal
/// staff, their own registrations and certificates, and the public certificate check.
struct EventController {
    func addRoutes(api: any RoutesBuilder, web: any RoutesBuilder) {
        web.get("veranstaltungen", use: catalogue)
        web.get("veranstaltungen", "meine", use: mine)
        web.get("veranstaltungen", "themen", ":topic", "kalender.ics", use: topicFeed)
        web.get("veranstaltungen", ":id", use: show)
        web.get("veranstaltungen", ":id", "kalender.ics", use: ics)
        web.post("veranstaltungen", ":id", "anmelden", use: register)
        web.post("mandanten", ":ars", "veranstaltungen", ":id", "anmelden", use: registerColleagues)
        web.post("anmeldungen", ":id", "abmelden", use: cancel)
        web.post("anmeldungen", ":id", "bezahlen", use: pay)
        web.get("bescheinigungen", ":id", use: certificatePDF)
        web.get("nachweis", use: verifyForm)
        web.get("nachweis", ":code", use: verify)
        api.get("veranstaltungen", use: apiList)
        api.get("veranstaltungen", "anmeldungen", use: apiMine)
        api.get("nachweise", ":code", use: apiVerify)
    }

    // MARK: views

    struct Card: Encodable {
        var id: String, title: String, kind: String, topics: [String], dates: [String], place: String, online: Bool
        var audience: String
        /// "45,00 €", empty when free.
        var fee: String
        var capacity: Int, confirmed: Int, free: Int, waiting: Int, quota: Int?, deadline: String, open: Bool, cancelled: Bool, qualifying: Bool, qualification: String
        var summary: String
    }

    static func cards(_ events: [TrainingEvent], on db: any Database, now: Date = Date()) async throws -> [Card] {
        let ids = events.compactMap(\.id)
        guard !ids.isEmpty else { return [] }
        let sessions = try await EventSessionRow.query(on: db).filter(\.$eventID ~~ ids).sort(\.$idx).all()
        let regs = try await EventRegistration.query(on: db).filter(\.$eventID ~~ ids).filter(\.$status != "cancelled").all()
        let english = DisplayLanguage.english
        return events.compactMap { e -> Card? in
            guard let id = e.id else { return nil }
            let confirmed = regs.filter { $0.eventID == id && $0.status == "confirmed" }.count
            let waiting = regs.filter { $0.eventID == id && $0.status == "waiting" }.count
            return Card(id: id.uuidString, title: e.title, kind: english ? kindEN(e.eventKind) : e.eventKind.german,
                        topics: e.topicList.map { $0.label(english) },
                        dates: sessions.filter { $0.eventID == id }.map { EventFormat.session($0.session) },
                        place: e.online ? "Online" : e.place, online: e.online, audience: EventAudience.describe(e.audience, english: english),
                        fee: e.feeCents > 0 ? Money(cents: e.feeCents).formatted : "", capacity: e.capacity, confirmed: confirmed, free: max(0, e.capacity - confirmed),
                        waiting: waiting, quota: e.quotaPerTenant, deadline: e.deadline.map { GermanTime.format($0) } ?? "",
                        open: e.status == "published" && (e.deadline.map { now <= $0 } ?? true)
                            && (sessions.last { $0.eventID == id }.map { $0.endsAt > now } ?? false), cancelled: e.status == "cancelled",
                        qualifying: e.qualifying, qualification: e.qualification, summary: e.summary)
        }
    }

    static func kindEN(_ k: EventKind) -> String {
        switch k { case .workshop: "Workshop"; case .information: "Information event"; case .course: "Course"; case .webinar: "Webinar" }
    }

    struct Option: Encodable { var value: String; var label: String; var selected: Bool }
    struct CatalogueView: Encodable {
        var events: [Card]; var topics: [Option]; var months: [Option]; var place: String; var free: Bool; var feeds: [Option]
    }

    /// Published events whose last session has not ended, by first date.
    static func upcoming(on db: any Database, now: Date = Date()) async throws -> [TrainingEvent] {
        let last = try await EventSessionRow.query(on: db).filter(\.$endsAt >= now).all()
        let ids = Array(Set(last.map(\.eventID)))
        guard !ids.isEmpty else { return [] }
        let first = Dictionary(try await EventSessionRow.query(on: db).filter(\.$eventID ~~ ids).filter(\.$idx == 0).all().map { ($0.eventID, $0.startsAt) },
                               uniquingKeysWith: { a, _ in a })
        return try await TrainingEvent.query(on: db).filter(\.$id ~~ ids).filter(\.$status == "published").all()
            .sorted { (first[$0.id ?? UUID()] ?? .distantFuture, $0.title) < (first[$1.id ?? UUID()] ?? .distantFuture, $1.title) }
    }

    @Sendable func catalogue(req: Request) async throws -> Response {
        let topic = req.query[String.self, at: "thema"].flatMap { EventTopic(rawValue: $0) }
        let month = req.query[String.self, at: "monat"] ?? ""
        let place = req.query[String.self, at: "ort"] ?? ""
        let freeOnly = req.query[String.self, at: "frei"] == "1"
        var events = try await Self.upcoming(on: req.db)
        if let topic { events = events.filter { $0.topicList.contains(topic) } }
        if place == "online" { events = events.filter(\.online) } else if place == "vor-ort" { events = events.filter { !$0.online } }
        var cards = try await Self.cards(events, on: req.db)
        let sessions = events.isEmpty ? [] : try await EventSessionRow.query(on: req.db).filter(\.$eventID ~~ events.compactMap(\.id)).filter(\.$idx == 0).all()
        let monthOf = Dictionary(sessions.map { ($0.eventID.uuidString, String(BusinessDate.today($0.startsAt).prefix(7))) }, uniquingKeysWith: { a, _ in a })
        let months = Array(Set(cards.compactMap { monthOf[$0.id] })).sorted()
        if !month.isEmpty { cards = cards.filter { monthOf[$0.id] == month } }
        if freeOnly { cards = cards.filter { $0.free > 0 && $0.open } }
        let english = req.lang == .en
        let monthNames = english ? ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
            : ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"]
        let monthOptions = months.map { m -> Option in
            let p = m.split(separator: "-"); let n = Int(p.last ?? "") ?? 1
            return Option(value: m, label: "\(monthNames[max(0, min(11, n - 1))]) \(p.first ?? "")", selected: m == month)
        }
        let view = CatalogueView(events: cards, topics: EventTopic.allCases.map { Option(value: $0.rawValue, label: $0.label(english), selected: $0 == topic) },
                                 months: monthOptions, place: place, free: freeOnly,
                                 feeds: EventTopic.allCases.map { Option(value: $0.rawValue, label: $0.label(english), selected: false) })
        return try await req.render("veranstaltungen/katalog", title: req.t("ev_catalogue_title"), view)
    }

    struct Colleague: Encodable { var id: String; var name: String; var status: String }
    struct EventView: Encodable {
        var event: Card
        var signedIn: Bool; var canRegister: Bool; var myStatus: String; var myRegistration: String; var waitReason: String
        var tenantName: String; var tenantARS: String; var colleagues: [Colleague]; var canRegisterOthers: Bool
        var result: String; var canManage: Bool
    }

    static func event(_ req: Request) async throws -> TrainingEvent {
        guard let id = req.parameters.get("id", as: UUID.self), let e = try await TrainingEvent.find(id, on: req.db) else { throw AppError.notFound }
        return e
    }

    @Sendable func show(req: Request) async throws -> Response {
        let e = try await Self.event(req)
        let id = try e.requireID()
        guard let card = try await Self.cards([e], on: req.db).first else { throw AppError.notFound }
        var myStatus = "", myReg = "", waitReason = "", tenantName = "", tenantARS = "", colleagues: [Colleague] = [], canRegister = false, others = false
        if let s = req.principal.staff, let ars = s.tenantARS, req.can(.eventRegister, tenant: ars) {
            canRegister = true
            tenantARS = ars
            tenantName = try await Gebiet.find(ars, on: req.db)?.name ?? ars
            if let r = try await EventRegistration.query(on: req.db).filter(\.$eventID == id).filter(\.$userID == s.userID).first(), r.status != "cancelled" {
                myStatus = r.status; myReg = r.id?.uuidString ?? ""; waitReason = r.waitReason
            }
            if req.can(.tenantTraining, tenant: ars) {
                others = true
                colleagues = try await Self.colleagues(ars, eventID: id, on: req.db, english: req.lang == .en)
            }
        }
        let result = req.query[String.self, at: "ergebnis"] ?? ""
        let view = EventView(event: card, signedIn: req.principal.staff != nil, canRegister: canRegister, myStatus: myStatus, myRegistration: myReg,
                             waitReason: waitReason, tenantName: tenantName, tenantARS: tenantARS, colleagues: colleagues, canRegisterOthers: others,
                             result: ["bestaetigt", "warteliste", "kontingent", "unveraendert", "abgemeldet", "kollegen"].contains(result) ? result : "",
                             canManage: req.can(.eventsManage))
        return try await req.render("veranstaltungen/veranstaltung", title: e.title, view, form: canRegister)
    }

    /// Staff of a tenant (anyone holding a role there now) with their status for this event.
    static func colleagues(_ ars: String, eventID: UUID, on db: any Database, english: Bool) async throws -> [Colleague] {
        let now = Date()
        let assignments = try await RoleAssignment.query(on: db).filter(\.$tenantARS == ars).all().filter { $0.grant?.isCurrent(at: now) ?? false }
        let ids = Array(Set(assignments.map(\.userID)))
        guard !ids.isEmpty else { return [] }
        let users = try await User.query(on: db).filter(\.$id ~~ ids).all()
        let regs = try await EventRegistration.query(on: db).filter(\.$eventID == eventID).filter(\.$userID ~~ ids).all()
        return users.compactMap { u in
            guard let id = u.id else { return nil }
            let st = regs.first { $0.userID == id }?.status ?? ""
            return Colleague(id: id.uuidString, name: u.name, status: statusLabel(st == "cancelled" ? "" : st, english: english))
        }.sorted { $0.name < $1.name }
    }

    static func statusLabel(_ s: String, english: Bool) -> String {
        switch s {
        case "confirmed": english ? "registered" : "angemeldet"
        case "waiting": english ? "waiting list" : "Warteliste"
        case "cancelled": english ? "cancelled" : "abgemeldet"
        default: ""
        }
    }

    @Sendable func register(req: Request) async throws -> Response {
        guard let s = req.principal.staff else { throw AppError.unauthenticated }
        guard let ars = s.tenantARS else { throw AppError.forbidden }
        try req.authorize(.eventRegister, tenant: ars)
        let e = try await Self.event(req)
        let person = EventService.Person(userID: s.userID, tenantARS: ars, name: s.name, email: s.email,
                                         roles: Set(s.grants.filter { $0.tenantARS == ars }.map(\.role)))
        let result = try await EventService.register(req.application, eventID: try e.requireID(), person: person, actor: req.principal)
        let code: String
        switch result {
        case .confirmed: code = "bestaetigt"
        case .waitlisted(.full): code = "warteliste"
        case .waitlisted(.tenantQuota): code = "kontingent"
        case .unchanged: code = "unveraendert"
        }
        return req.redirect(to: "/veranstaltungen/\(try e.requireID())?ergebnis=\(code)", redirectType: .normal)
    }

    /// A tenant admin registers several colleagues at once (checkboxes `person_<id>`).
    @Sendable func registerColleagues(req: Request) async throws -> Response {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.tenantTraining, tenant: g.ars)
        let e = try await Self.event(req)
        let eventID = try e.requireID()
        let form = (try? req.content.decode([String: String].self)) ?? [:]
        let chosen = form.keys.filter { $0.hasPrefix("person_") }.compactMap { UUID(uuidString: String($0.dropFirst(7))) }
        guard !chosen.isEmpty else {
            throw AppError.invalid("kollegen", de: "Bitte wählen Sie mindestens eine Person aus.", en: "Please choose at least one person.")
        }
        guard chosen.count <= 50 else {
            throw AppError.invalid("kollegen", de: "Bitte melden Sie höchstens 50 Personen auf einmal an.", en: "Please register at most 50 people at once.")
        }
        // only people who hold a role in this tenant now
        let now = Date()
        let grantsHere = try await RoleAssignment.query(on: req.db).filter(\.$tenantARS == g.ars).filter(\.$userID ~~ chosen).all()
            .filter { $0.grant?.isCurrent(at: now) ?? false }
        let staffHere = Set(grantsHere.map(\.userID))
        guard staffHere.count == Set(chosen).count else { throw AppError.forbidden }
        for u in try await User.query(on: req.db).filter(\.$id ~~ Array(staffHere)).sort(\.$name).all() {
            guard let uid = u.id else { continue }
            _ = try await EventService.register(req.application, eventID: eventID,
                                                person: .init(userID: uid, tenantARS: g.ars, name: u.name, email: u.email,
                                                              roles: Set(grantsHere.filter { $0.userID == uid }.compactMap { $0.grant?.role })),
                                                actor: req.principal)
        }
        return req.redirect(to: "/veranstaltungen/\(eventID)?ergebnis=kollegen", redirectType: .normal)
    }

    /// The person themself, the tenant's admin, or the competence centre.
    static func mayHandle(_ r: EventRegistration, _ p: Principal) -> Bool {
        if let s = p.staff, s.userID == r.userID { return true }
        return Policy.allows(p, .tenantTraining, tenant: r.tenantARS) || Policy.allows(p, .eventsManage, tenant: nil)
    }

    @Sendable func cancel(req: Request) async throws -> Response {
        guard req.principal.staff != nil else { throw AppError.unauthenticated }
        guard let id = req.parameters.get("id", as: UUID.self) else { throw AppError.notFound }
        let principal = req.principal
        let before = try await EventRegistration.find(id, on: req.db)
        _ = try await EventService.cancel(req.application, registrationID: id, actor: principal) { r in
            // someone else's registration is not found, rather than forbidden: it does not reveal who registered
            guard Self.mayHandle(r, principal) else { throw AppError.notFound }
        }
        let back = req.query[String.self, at: "zurueck"] ?? ""
        if back == "kz", let e = before?.eventID { return req.redirect(to: "/kompetenzzentrum/veranstaltungen/\(e)", redirectType: .normal) }
        if back == "mandant", let t = before?.tenantARS { return req.redirect(to: "/mandanten/\(t)/fortbildung", redirectType: .normal) }
        return req.redirect(to: "/veranstaltungen/meine?abgemeldet=1", redirectType: .normal)
    }

    struct MineRow: Encodable {
        var id: String; var eventID: String; var title: String; var dates: [String]; var status: String; var waiting: Bool; var place: String; var link: String
        var feedback: Bool = false; var materials: [CompetenceCentreController.MaterialRow] = []
        var fee: String = ""; var feeStatus: String = ""; var canPay: Bool = false
    }
    struct CertRow: Encodable { var id: String; var code: String; var title: String; var dates: String; var revoked: Bool; var qualification: String }
    struct MineView: Encodable { var rows: [MineRow]; var certificates: [CertRow]; var cancelled: Bool }

    @Sendable func mine(req: Request) async throws -> Response {
        guard let s = req.principal.staff else { throw AppError.unauthenticated }
        let regs = try await EventRegistration.query(on: req.db).filter(\.$userID == s.userID).filter(\.$status != "cancelled").all()
        let events = try await TrainingEvent.query(on: req.db).filter(\.$id ~~ regs.map(\.eventID)).all()
        let cards = try await Self.cards(events, on: req.db)
        let english = req.lang == .en
        let sessions = regs.isEmpty ? [] : try await EventSessionRow.query(on: req.db).filter(\.$eventID ~~ regs.map(\.eventID)).all()
        let now = Date()
        var rows: [MineRow] = []
        let payments = try await EventFees.payments(regs, on: req.db)
        for r in regs {
            guard let c = cards.first(where: { $0.id == r.eventID.uuidString }), let e = events.first(where: { $0.id == r.eventID }) else { continue }
            let mine = sessions.filter { $0.eventID == r.eventID }
            let begun = mine.contains { $0.startsAt <= now }, over = !mine.isEmpty && mine.allSatisfy { $0.endsAt <= now }
            let confirmed = r.status == "confirmed"
            rows.append(MineRow(id: r.id?.uuidString ?? "", eventID: c.id, title: c.title, dates: c.dates, status: Self.statusLabel(r.status, english: english),
                                waiting: r.status == "waiting", place: c.place, link: confirmed && e.online ? e.onlineLink : "",
                                feedback: confirmed && begun,
                                materials: confirmed && over ? try await CompetenceCentreController.materials(r.eventID, on: req.db) : [],
                                fee: c.fee, feeStatus: confirmed && e.feeCents > 0 ? EventFees.statusLabel(r.paymentID.flatMap { payments[$0] }, english: english) : "",
                                canPay: confirmed && e.feeCents > 0 && r.paymentID.flatMap { payments[$0] }?.status != PaymentStatus.payed.rawValue))
        }
        let certs = try await EventCertificate.query(on: req.db).filter(\.$userID == s.userID).sort(\.$issuedAt, .descending).all()
        return try await req.render("veranstaltungen/meine", title: req.t("ev_mine_title"),
                                    MineView(rows: rows, certificates: certs.map(Self.certRow), cancelled: req.query[String.self, at: "abgemeldet"] != nil), form: true)
    }

    static func certRow(_ c: EventCertificate) -> CertRow {
        CertRow(id: c.id?.uuidString ?? "", code: VerificationCode.display(c.code), title: c.eventTitle, dates: c.dates, revoked: c.revokedAt != nil,
                qualification: c.qualification)
    }

    // MARK: calendar

    @Sendable func ics(req: Request) async throws -> Response {
        let e = try await Self.event(req)
        let sessions = try await EventService.sessions(req.db, try e.requireID())
        // the public calendar never carries the online link
        let a = EventMails.calendar(req.application, event: e, sessions: sessions, withLink: false)
        return Self.calendarResponse(a.content, filename: "veranstaltung.ics")
    }

    @Sendable func topicFeed(req: Request) async throws -> Response {
        guard let topic = req.parameters.get("topic").flatMap({ EventTopic(rawValue: $0) }) else { throw AppError.notFound }
        let events = try await Self.upcoming(on: req.db).filter { $0.topicList.contains(topic) }
        var entries: [ICalendar.Entry] = []
        for e in events {
            guard let id = e.id else { continue }
            for s in try await EventService.sessions(req.db, id) {
                entries.append(ICalendar.Entry(uid: "\(id.uuidString)-\(s.idx)@rathaus", summary: e.title, description: e.summary,
                                               location: e.online ? "online" : e.place, url: req.application.rathaus.publicURL + "/veranstaltungen/" + id.uuidString,
                                               session: s.session))
            }
        }
        return Self.calendarResponse(ICalendar.document(entries, name: "Kompetenzzentrum: " + topic.label(false)), filename: "\(topic.rawValue).ics")
    }

    static func calendarResponse(_ body: String, filename: String) -> Response {
        let res = Response(status: .ok, body: .init(string: body))
        res.headers.contentType = HTTPMediaType(type: "text", subType: "calendar", parameters: ["charset": "utf-8"])
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(filename)\"")
        return res
    }

    // MARK: certificates

    @Sendable func certificatePDF(req: Request) async throws -> Response {
        guard req.principal.staff != nil else { throw AppError.unauthenticated }
        guard let id = req.parameters.get("id", as: UUID.self), let c = try await EventCertificate.find(id, on: req.db) else { throw AppError.notFound }
        let mine = req.principal.staff?.userID == c.userID
        guard mine || req.can(.tenantTraining, tenant: c.tenantARS) || req.can(.eventsManage) else { throw AppError.notFound }
        let code = VerificationCode.display(c.code)
        let url = req.application.rathaus.publicURL + "/nachweis/" + code
        var lines = ["hat an der Veranstaltung", "„\(c.eventTitle)“", "am \(c.dates) teilgenommen (\(c.hours))."]
        if let e = try await TrainingEvent.find(c.eventID, on: req.db), !e.topicList.isEmpty {
            lines.append("Themen: " + e.topicList.map { $0.label(false) }.joined(separator: ", "))
        }
        if !c.qualification.isEmpty { lines.append("Die Teilnahme gilt als Nachweis: \(c.qualification).") }
        if c.revokedAt != nil { lines.append("WIDERRUFEN – diese Bescheinigung ist nicht mehr gültig.") }
        let cert = Certificate(issuer: "Kompetenzzentrum Digitale Verwaltung Thüringen", title: "Teilnahmebescheinigung", recipient: c.name, lines: lines,
                               placeAndDate: "Erfurt, \(EventFormat.day(c.issuedAt, english: false))", verificationURL: url, code: code)
        let pdf = try PDFRenderer.render(cert, info: DocumentInfo(title: "Teilnahmebescheinigung \(code)", author: "Kompetenzzentrum", subject: c.eventTitle))
        let res = Response(status: .ok, body: .init(data: pdf))
        res.headers.contentType = .init(type: "application", subType: "pdf")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "inline; filename=\"teilnahmebescheinigung-\(c.code).pdf\"")
        return res
    }

    @Sendable func pay(req: Request) async throws -> Response {
        guard let id = req.parameters.get("id", as: UUID.self) else { throw AppError.notFound }
        return req.redirect(to: try await EventFees.pay(req, registrationID: id), redirectType: .normal)
    }

    struct VerifyView: Encodable {
        var code: String; var found: Bool; var valid: Bool; var name: String; var title: String; var dates: String; var hours: String
        var qualification: String; var issued: String; var revoked: String
    }

    @Sendable func verifyForm(req: Request) async throws -> Response {
        if let code = req.query[String.self, at: "code"], !code.isEmpty {
            let normal = code.uppercased().filter { $0.isLetter || $0.isNumber }
            return req.redirect(to: "/nachweis/" + String(normal.prefix(20)), redirectType: .normal)
        }
        return try await req.render("veranstaltungen/nachweis", title: req.t("ev_verify_title"),
                                    VerifyView(code: "", found: false, valid: false, name: "", title: "", dates: "", hours: "", qualification: "", issued: "", revoked: ""))
    }

    static func lookup(_ raw: String?, on db: any Database) async throws -> EventCertificate {
        let code: VerificationCode
        do { code = try VerificationCode(raw ?? "") } catch {
            throw AppError(.unprocessableEntity, "certificate.code", de: error.description,
                           en: error == .malformed ? "The code has the form ABCD-EFGH-J: nine characters of the digits 2 to 9 and letters (without I and O)."
                               : "The code is not valid. Please check it character by character.", field: "code")
        }
        guard let c = try await EventCertificate.query(on: db).filter(\.$code == code.value).first() else {
            throw AppError(.notFound, "certificate.unknown", de: "Zu diesem Code gibt es keine Teilnahmebescheinigung.",
                           en: "There is no certificate with this code.", field: "code")
        }
        return c
    }

    @Sendable func verify(req: Request) async throws -> Response {
        let raw = req.parameters.get("code")
        do {
            let c = try await Self.lookup(raw, on: req.db)
            return try await req.render("veranstaltungen/nachweis", title: req.t("ev_verify_title"),
                                        VerifyView(code: VerificationCode.display(c.code), found: true, valid: c.revokedAt == nil, name: c.name, title: c.eventTitle,
                                                   dates: c.dates, hours: c.hours, qualification: c.qualification, issued: EventFormat.day(c.issuedAt),
                                                   revoked: c.revokedAt.map { EventFormat.day($0) } ?? ""))
        } catch let e as AppError {
            return try await req.renderError("veranstaltungen/nachweis", title: req.t("ev_verify_title"),
                                             VerifyView(code: String((raw ?? "").prefix(20)), found: false, valid: false, name: "", title: "", dates: "", hours: "",
                                                        qualification: "", issued: "", revoked: ""), e)
        }
    }

    // MARK: API

    struct EventDTO: Content {
        var id: UUID; var titel: String; var art: String; var themen: [String]; var termine: [SessionDTO]; var ort: String; var online: Bool
        var plaetze: Int; var freiePlaetze: Int; var kontingentProMandant: Int?; var anmeldeschluss: String?; var qualifizierend: Bool; var beschreibung: String
        /// Participation fee in cents (0 = free).
        var gebuehrCent: Int64
    }
    /// Times as RFC 3339 with the Berlin offset, e.g. 2027-03-12T09:00:00+01:00.
    struct SessionDTO: Content { var beginn: String; var ende: String; var pflicht: Bool }

    static func rfc3339(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = GermanTime.calendar.timeZone
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }
    struct ListDTO: Content { var items: [EventDTO] }

    @Sendable func apiList(req: Request) async throws -> ListDTO {
        let topic = req.query[String.self, at: "thema"]
        if let topic, EventTopic(rawValue: topic) == nil {
            throw AppError.invalid("thema", de: "Unbekanntes Thema. Erlaubt: \(EventTopic.allCases.map(\.rawValue).joined(separator: ", ")).",
                                   en: "Unknown topic. Allowed: \(EventTopic.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        var events = try await Self.upcoming(on: req.db)
        if let t = topic.flatMap(EventTopic.init(rawValue:)) { events = events.filter { $0.topicList.contains(t) } }
        let ids = events.compactMap(\.id)
        let sessions = ids.isEmpty ? [] : try await EventSessionRow.query(on: req.db).filter(\.$eventID ~~ ids).sort(\.$idx).all()
        let confirmed = ids.isEmpty ? [] : try await EventRegistration.query(on: req.db).filter(\.$eventID ~~ ids).filter(\.$status == "confirmed").all()
        return ListDTO(items: events.compactMap { e in
            guard let id = e.id else { return nil }
            return EventDTO(id: id, titel: e.title, art: e.kind, themen: e.topicList.map(\.rawValue),
                            termine: sessions.filter { $0.eventID == id }.map { SessionDTO(beginn: Self.rfc3339($0.startsAt), ende: Self.rfc3339($0.endsAt), pflicht: $0.required) },
                            ort: e.online ? "online" : e.place, online: e.online, plaetze: e.capacity,
                            freiePlaetze: max(0, e.capacity - confirmed.filter { $0.eventID == id }.count), kontingentProMandant: e.quotaPerTenant,
                            anmeldeschluss: e.deadline.map(Self.rfc3339), qualifizierend: e.qualifying, beschreibung: e.summary, gebuehrCent: e.feeCents)
        })
    }

    struct MineDTO: Content { var items: [RegistrationDTO] }
    struct RegistrationDTO: Content { var id: UUID; var veranstaltung: UUID; var titel: String; var status: String; var mandant: String; var grund: String? }

    @Sendable func apiMine(req: Request) async throws -> MineDTO {
        guard let s = req.principal.staff else { throw AppError.unauthenticated }
        let regs = try await EventRegistration.query(on: req.db).filter(\.$userID == s.userID).filter(\.$status != "cancelled").all()
        let titles = Dictionary(try await TrainingEvent.query(on: req.db).filter(\.$id ~~ regs.map(\.eventID)).all().compactMap { e in e.id.map { ($0, e.title) } },
                                uniquingKeysWith: { a, _ in a })
        return MineDTO(items: regs.compactMap { r in
            r.id.map { RegistrationDTO(id: $0, veranstaltung: r.eventID, titel: titles[r.eventID] ?? "", status: r.status == "confirmed" ? "angemeldet" : "warteliste",
                                       mandant: r.tenantARS, grund: r.waitReason.isEmpty ? nil : r.waitReason) }
        })
    }

    struct VerifyDTO: Content { var code: String; var gueltig: Bool; var name: String; var veranstaltung: String; var termine: String; var stunden: String; var ausgestelltAm: String; var widerrufenAm: String? }

    /// Confirms a certificate: the name on it, the event and dates — nothing else about the person.
    @Sendable func apiVerify(req: Request) async throws -> VerifyDTO {
        let c = try await Self.lookup(req.parameters.get("code"), on: req.db)
        return VerifyDTO(code: VerificationCode.display(c.code), gueltig: c.revokedAt == nil, name: c.name, veranstaltung: c.eventTitle, termine: c.dates,
                         stunden: c.hours, ausgestelltAm: BusinessDate.today(c.issuedAt), widerrufenAm: c.revokedAt.map { BusinessDate.today($0) })
    }
}

extension VerificationCode {
    /// `ABCD-EFGH-J` for a stored code.
    static func display(_ stored: String) -> String {
        (try? VerificationCode(stored))?.description ?? stored
    }
}
