import Fluent
import SQLKit
import Vapor
import Events
import RathausCore

/// Seats, waiting list, attendance and certificates of the competence centre's events. Every
/// change of seats runs in one write transaction that starts by taking the event's row lock
/// (`lockSeats`), so the counts read next are final until the commit — on SQLite because there
/// is one writer, on PostgreSQL because every other transaction for the same event waits on
/// that row and, in READ COMMITTED, sees the committed rows once it continues.
enum EventService {
    struct Person: Sendable {
        var userID: UUID, tenantARS: String, name: String, email: String
        /// The person's current roles in that tenant (for an audience limited to roles).
        var roles: Set<Role> = []
    }

    enum Result: Sendable, Equatable {
        case confirmed, waitlisted(WaitReason)
        /// Already registered or waiting; nothing changed (a second click, a retried request).
        case unchanged(String)
    }

    static func lockSeats(_ db: any Database, _ eventID: UUID) async throws -> TrainingEvent {
        guard let sql = db as? any SQLDatabase else { throw AppError.notFound }
        try await sql.raw("UPDATE events SET seat_lock = seat_lock + 1 WHERE id = \(bind: eventID)").run()
        guard let e = try await TrainingEvent.find(eventID, on: db) else { throw AppError.notFound }
        return e
    }

    static func confirmedCount(_ db: any Database, _ eventID: UUID, tenant: String? = nil) async throws -> Int {
        var q = EventRegistration.query(on: db).filter(\.$eventID == eventID).filter(\.$status == "confirmed")
        if let tenant { q = q.filter(\.$tenantARS == tenant) }
        return try await q.count()
    }

    static func register(_ app: Application, eventID: UUID, person: Person, actor: Principal, now: Date = Date()) async throws -> Result {
        try await app.writeTransaction { db in
            let e = try await lockSeats(db, eventID)
            guard e.status == "published" else {
                throw AppError(.conflict, "event.cancelled", de: "Diese Veranstaltung wurde abgesagt; eine Anmeldung ist nicht möglich.",
                               en: "This event was cancelled; registration is not possible.")
            }
            let existing = try await EventRegistration.query(on: db).filter(\.$eventID == eventID).filter(\.$userID == person.userID).first()
            if let existing, existing.status != "cancelled" { return .unchanged(existing.status) }
            // the audience by level of administration (Gemeinde, VG, Kreis), when the organiser chose one
            let audience = Set(e.audience.split(separator: ",").map(String.init))
            let levels = audience.filter { !$0.hasPrefix("rolle:") }
            let roles = Set(audience.filter { $0.hasPrefix("rolle:") }.compactMap { Role(rawValue: String($0.dropFirst(6))) })
            if !roles.isEmpty, roles.isDisjoint(with: person.roles) {
                throw AppError(.conflict, "event.audience_role",
                               de: "Diese Veranstaltung richtet sich an \(EventAudience.roleLabels(roles, english: false)); \(person.name) hat keine dieser Rollen.",
                               en: "This event is for \(EventAudience.roleLabels(roles, english: true)); \(person.name) has none of these roles.")
            }
            if !levels.isEmpty, let g = try await Gebiet.find(person.tenantARS, on: db), !levels.contains(EventAudience.key(forLevel: g.level)) {
                throw AppError(.conflict, "event.audience",
                               de: "Diese Veranstaltung richtet sich an \(EventAudience.labels(levels, english: false)); \(g.name) gehört nicht zur Zielgruppe.",
                               en: "This event is for \(EventAudience.labels(levels, english: true)); \(g.name) is not in the audience.")
            }
            // open until the last session ends (walk-ins on the day), unless the organiser set a deadline
            let sessions = try await sessions(db, eventID)
            if let last = sessions.last, last.endsAt <= now {
                throw AppError(.conflict, "event.over", de: "Die Veranstaltung ist vorbei; eine Anmeldung ist nicht mehr möglich.",
                               en: "The event is over; registration is no longer possible.")
            }
            let counts = SeatCounts(confirmed: try await confirmedCount(db, eventID),
                                    confirmedOfTenant: try await confirmedCount(db, eventID, tenant: person.tenantARS))
            let outcome: RegistrationOutcome
            do { outcome = try Seats.decide(e.rules, counts: counts, at: now) } catch let error as RegistrationRefusal {
                throw AppError(.conflict, "event.\(error == .deadlinePassed ? "deadline" : "rules")", de: error.description,
                               en: error == .deadlinePassed ? "The registration deadline has passed." : "The event has no valid number of seats.")
            }
            let r = existing ?? EventRegistration()
            if existing == nil { r.id = UUID(); r.createdAt = now; r.attended = "" }
            r.eventID = eventID; r.userID = person.userID; r.tenantARS = person.tenantARS; r.name = person.name; r.email = person.email
            r.queuedAt = now; r.updatedAt = now; r.registeredBy = actor.auditActor
            switch outcome {
            case .confirmed: r.status = "confirmed"; r.waitReason = ""
            case .waitlisted(let why): r.status = "waiting"; r.waitReason = why.rawValue
            }
            try await r.save(on: db)
            try await EventMails.registration(db, app: app, event: e, sessions: sessions, registration: r, now: now)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: person.tenantARS, action: "event.register",
                                   objectType: "event_registration", objectID: r.id?.uuidString ?? "", before: existing?.status,
                                   after: "\(e.title): \(person.name), \(r.status)\(r.waitReason.isEmpty ? "" : " (\(r.waitReason))")")
            switch outcome {
            case .confirmed: return .confirmed
            case .waitlisted(let why): return .waitlisted(why)
            }
        }
    }

    /// Cancels a registration (or leaves the waiting list); a freed seat goes to the first on the
    /// waiting list whose municipality is under its quota, who is told by mail.
    static func cancel(_ app: Application, registrationID: UUID, actor: Principal, now: Date = Date(),
                       authorize: @escaping @Sendable (EventRegistration) throws -> Void) async throws -> [EventRegistration] {
        try await app.writeTransaction { db in
            guard let first = try await EventRegistration.find(registrationID, on: db) else { throw AppError.notFound }
            try authorize(first)
            let e = try await lockSeats(db, first.eventID)
            guard let r = try await EventRegistration.find(registrationID, on: db), r.status != "cancelled" else { return [] }
            let before = r.status
            r.status = "cancelled"; r.waitReason = ""; r.updatedAt = now
            try await r.save(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: r.tenantARS, action: "event.cancel",
                                   objectType: "event_registration", objectID: registrationID.uuidString, before: before, after: "\(e.title): \(r.name), cancelled")
            return before == "confirmed" ? try await promote(db, app: app, event: e, actor: actor, now: now) : []
        }
    }

    /// Moves people up from the waiting list while seats are free (inside the seat lock).
    static func promote(_ db: any Database, app: Application, event e: TrainingEvent, actor: Principal, now: Date) async throws -> [EventRegistration] {
        let eventID = try e.requireID()
        let regs = try await EventRegistration.query(on: db).filter(\.$eventID == eventID).all()
        let confirmed = regs.filter { $0.status == "confirmed" }
        var byTenant: [String: Int] = [:]
        for r in confirmed { byTenant[r.tenantARS, default: 0] += 1 }
        let waiting = regs.filter { $0.status == "waiting" }.sorted { ($0.queuedAt, $0.createdAt) < ($1.queuedAt, $1.createdAt) }
        let ids = Seats.promotions(e.rules, confirmed: confirmed.count, confirmedByTenant: byTenant,
                                   waiting: waiting.compactMap { r in r.id.map { Seats.Waiting(id: $0, tenant: r.tenantARS) } })
        let sessions = try await sessions(db, eventID)
        var out: [EventRegistration] = []
        for id in ids {
            guard let r = waiting.first(where: { $0.id == id }) else { continue }
            r.status = "confirmed"; r.waitReason = ""; r.updatedAt = now
            try await r.save(on: db)
            try await EventMails.promoted(db, app: app, event: e, sessions: sessions, registration: r, now: now)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: r.tenantARS, action: "event.promote",
                                   objectType: "event_registration", objectID: id.uuidString, before: "waiting", after: "\(e.title): \(r.name), confirmed")
            out.append(r)
        }
        return out
    }

    static func sessions(_ db: any Database, _ eventID: UUID) async throws -> [EventSessionRow] {
        try await EventSessionRow.query(on: db).filter(\.$eventID == eventID).sort(\.$idx).all()
    }

    /// The organiser cancels the event: everyone registered or waiting is told, with a calendar
    /// update that removes the dates (STATUS:CANCELLED, same UIDs).
    static func cancelEvent(_ app: Application, eventID: UUID, reason: String, actor: Principal, now: Date = Date()) async throws -> Int {
        try await app.writeTransaction { db in
            let e = try await lockSeats(db, eventID)
            guard e.status == "published" else { return 0 }
            e.status = "cancelled"
            try await e.save(on: db)
            let sessions = try await sessions(db, eventID)
            let regs = try await EventRegistration.query(on: db).filter(\.$eventID == eventID).filter(\.$status ~~ ["confirmed", "waiting"]).all()
            for r in regs {
                try await Outbox.enqueue(on: db, key: "event-cancelled-\(r.id?.uuidString ?? "")", to: r.email, subject: "Abgesagt: \(e.title)", body: """
                    Guten Tag \(r.name),

                    die Veranstaltung „\(e.title)“ findet leider nicht statt.
                    Grund: \(reason)

                    Die Termine werden mit dem Anhang aus Ihrem Kalender entfernt. Über neue Termine informiert der Katalog:
                    \(app.rathaus.publicURL)/veranstaltungen

                    Ihr Kompetenzzentrum
                    """, attachment: EventMails.calendar(app, event: e, sessions: sessions, withLink: false))
            }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "event.cancelled", objectType: "event",
                                   objectID: eventID.uuidString, before: "published", after: "abgesagt (\(regs.count) benachrichtigt): \(reason)")
            return regs.count
        }
    }

    /// Issues certificates to everyone confirmed who attended every required session and has none yet.
    static func issueCertificates(_ app: Application, eventID: UUID, actor: Principal, now: Date = Date()) async throws -> Int {
        try await app.writeTransaction { db in
            let e = try await lockSeats(db, eventID)
            let sessions = try await sessions(db, eventID)
            guard let last = sessions.last, last.startsAt <= now else {
                throw AppError(.conflict, "event.not_held", de: "Bescheinigungen gibt es erst, wenn der letzte Termin begonnen hat.",
                               en: "Certificates can be issued once the last session has started.")
            }
            let required = Set(sessions.filter(\.required).map(\.idx))
            let have = Set(try await EventCertificate.query(on: db).filter(\.$eventID == eventID).all().map(\.registrationID))
            var issued = 0
            let confirmed = try await EventRegistration.query(on: db).filter(\.$eventID == eventID).filter(\.$status == "confirmed").all()
            let payments = try await EventFees.payments(confirmed, on: db)
            for r in confirmed {
                guard let rid = r.id, !have.contains(rid), Attendance.qualifies(required: required, attended: r.attendedSet) else { continue }
                // with a fee, the certificate follows the payment
                if e.feeCents > 0, r.paymentID.flatMap({ payments[$0] })?.status != PaymentStatus.payed.rawValue { continue }
                let c = EventCertificate()
                c.id = UUID()
                c.code = VerificationCode.generate().value
                c.registrationID = rid; c.eventID = eventID; c.userID = r.userID; c.tenantARS = r.tenantARS; c.name = r.name
                c.eventTitle = e.title
                c.dates = EventFormat.datesDE(sessions.filter { r.attendedSet.contains($0.idx) }.map(\.session))
                c.hours = Attendance.hoursDE(sessions.map(\.session), attended: r.attendedSet)
                c.qualification = e.qualifying ? e.qualification : ""
                c.issuedAt = now; c.issuedBy = actor.auditActor; c.revokedReason = ""
                try await c.create(on: db)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: r.tenantARS, action: "event.certificate",
                                       objectType: "event_certificate", objectID: c.code, before: nil, after: "\(e.title): \(r.name)")
                issued += 1
            }
            return issued
        }
    }
}

/// Levels of administration an event is for (stored keys: gemeinde, vg, kreis).
enum EventAudience {
    static func key(forLevel level: String) -> String {
        // the Land itself (its cash office may register) belongs to no municipal level
        switch level { case "gemeindeverband": "vg"; case "kreis": "kreis"; case "gemeinde": "gemeinde"; default: level }
    }

    static func labels(_ keys: Set<String>, english: Bool) -> String {
        [("gemeinde", "Gemeinden", "municipalities"), ("vg", "Verwaltungsgemeinschaften", "administrative communities"),
         ("kreis", "Landkreise und kreisfreie Städte", "districts and district-free cities")]
            .filter { keys.contains($0.0) }.map { english ? $0.2 : $0.1 }.joined(separator: english ? " and " : " und ")
    }

    static func roleLabels(_ roles: Set<Role>, english: Bool) -> String {
        [(Role.tenantAdmin, "Mandanten-Administration", "tenant administrators"), (.clerk, "Sachbearbeitung", "clerks"), (.cashOffice, "Kasse", "cash offices")]
            .filter { roles.contains($0.0) }.map { english ? $0.2 : $0.1 }.joined(separator: english ? " and " : " und ")
    }

    /// "Gemeinden; Sachbearbeitung" for the event page.
    static func describe(_ audience: String, english: Bool) -> String {
        let all = Set(audience.split(separator: ",").map(String.init))
        let roles = Set(all.filter { $0.hasPrefix("rolle:") }.compactMap { Role(rawValue: String($0.dropFirst(6))) })
        return [labels(all, english: english), roleLabels(roles, english: english)].filter { !$0.isEmpty }.joined(separator: "; ")
    }
}

/// Dates and times of events as people read them.
enum EventFormat {
    static var calendar: Calendar { GermanTime.calendar }

    static func day(_ d: Date, english: Bool = DisplayLanguage.english) -> String {
        let c = calendar.dateComponents([.year, .month, .day], from: d)
        let dd = String(format: "%02d", c.day ?? 0), mm = String(format: "%02d", c.month ?? 0)
        return english ? "\(dd)/\(mm)/\(c.year ?? 0)" : "\(dd).\(mm).\(c.year ?? 0)"
    }

    static func time(_ d: Date) -> String {
        let c = calendar.dateComponents([.hour, .minute], from: d)
        return String(format: "%02d:%02d", c.hour ?? 0, c.minute ?? 0)
    }

    /// "12.03.2027, 09:00–16:00 Uhr"
    static func session(_ s: EventSession, english: Bool = DisplayLanguage.english) -> String {
        "\(day(s.start, english: english)), \(time(s.start))–\(time(s.end))\(english ? "" : " Uhr")"
    }

    /// "12.03.2027 und 19.03.2027" for certificates (always German).
    static func datesDE(_ sessions: [EventSession]) -> String {
        let days = sessions.map { day($0.start, english: false) }
        guard days.count > 1 else { return days.first ?? "" }
        return days.dropLast().joined(separator: ", ") + " und " + (days.last ?? "")
    }

    /// Parses "TT.MM.JJJJ" + "HH:MM" in Europe/Berlin.
    static func instant(day iso: String, time: String) -> Date? {
        let t = time.split(separator: ":").compactMap { Int($0) }
        let d = iso.split(separator: "-").compactMap { Int($0) }
        guard t.count == 2, d.count == 3, (0...23).contains(t[0]), (0...59).contains(t[1]) else { return nil }
        var c = DateComponents(); c.year = d[0]; c.month = d[1]; c.day = d[2]; c.hour = t[0]; c.minute = t[1]
        return calendar.date(from: c)
    }
}
