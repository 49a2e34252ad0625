import Fluent
import Vapor
import Events
import RathausCore

/// The mails of the competence centre, all through the outbox (written in the transaction of
/// the change; the key makes each one unique, so a reminder goes out once even with two instances).
enum EventMails {
    static func calendar(_ app: Application, event e: TrainingEvent, sessions: [EventSessionRow], withLink: Bool) -> MailAttachment {
        let id = e.id?.uuidString ?? ""
        let url = app.rathaus.publicURL + "/veranstaltungen/" + id
        let entries = sessions.map { s in
            ICalendar.Entry(uid: "\(id)-\(s.idx)@rathaus", summary: e.title,
                            description: e.summary + (withLink && e.online && !e.onlineLink.isEmpty ? "\n\nZugang: \(e.onlineLink)" : ""),
                            location: e.online ? (withLink ? e.onlineLink : "online") : e.place, url: url, session: s.session,
                            cancelled: e.status == "cancelled")
        }
        return MailAttachment(name: "veranstaltung.ics", mediaType: "text/calendar; method=PUBLISH",
                              content: ICalendar.document(entries, name: e.title))
    }

    static func dates(_ sessions: [EventSessionRow]) -> String {
        sessions.map { "- " + EventFormat.session($0.session, english: false) }.joined(separator: "\n")
    }

    static func place(_ e: TrainingEvent, confirmed: Bool) -> String {
        if e.online { return confirmed && !e.onlineLink.isEmpty ? "Online, Zugang: \(e.onlineLink)" : "Online (den Zugang erhalten angemeldete Teilnehmende)" }
        return e.place
    }

    static func registration(_ db: any Database, app: Application, event e: TrainingEvent, sessions: [EventSessionRow], registration r: EventRegistration, now: Date) async throws {
        let rid = r.id?.uuidString ?? ""
        let stamp = Int(now.timeIntervalSince1970)
        if r.status == "confirmed" {
            try await Outbox.enqueue(on: db, key: "event-confirmed-\(rid)-\(stamp)", to: r.email, subject: "Anmeldung bestätigt: \(e.title)", body: """
                Guten Tag \(r.name),

                Ihre Anmeldung zu „\(e.title)“ ist bestätigt.

                Termine:
                \(dates(sessions))
                Ort: \(place(e, confirmed: true))

                \(e.feeCents > 0 ? "Die Teilnahmegebühr von \(Money(cents: e.feeCents).formattedDE) bezahlen Sie unter \(app.rathaus.publicURL)/veranstaltungen/meine.\n" : "")
                Die Termine finden Sie im Anhang für Ihren Kalender. Wenn Sie nicht teilnehmen können, melden Sie sich bitte ab,
                damit jemand von der Warteliste nachrücken kann: \(app.rathaus.publicURL)/veranstaltungen/meine

                Ihr Kompetenzzentrum
                """, attachment: calendar(app, event: e, sessions: sessions, withLink: true))
        } else {
            let why = r.waitReason == WaitReason.tenantQuota.rawValue
                ? "Ihre Kommune hat ihr Kontingent an Plätzen für diese Veranstaltung ausgeschöpft."
                : "Alle Plätze sind vergeben."
            try await Outbox.enqueue(on: db, key: "event-waiting-\(rid)-\(stamp)", to: r.email, subject: "Warteliste: \(e.title)", body: """
                Guten Tag \(r.name),

                \(why) Sie stehen auf der Warteliste für „\(e.title)“. Sobald ein Platz frei wird, rücken Sie automatisch nach
                und erhalten eine Bestätigung per E-Mail.

                Sie können die Warteliste jederzeit verlassen: \(app.rathaus.publicURL)/veranstaltungen/meine

                Ihr Kompetenzzentrum
                """)
        }
    }

    static func promoted(_ db: any Database, app: Application, event e: TrainingEvent, sessions: [EventSessionRow], registration r: EventRegistration, now: Date) async throws {
        try await Outbox.enqueue(on: db, key: "event-promoted-\(r.id?.uuidString ?? "")-\(Int(now.timeIntervalSince1970))", to: r.email,
                                 subject: "Platz frei: Sie sind angemeldet für \(e.title)", body: """
            Guten Tag \(r.name),

            für „\(e.title)“ ist ein Platz frei geworden. Sie sind von der Warteliste nachgerückt und jetzt verbindlich angemeldet.

            Termine:
            \(dates(sessions))
            Ort: \(place(e, confirmed: true))

            Wenn Sie nicht teilnehmen können, melden Sie sich bitte ab: \(app.rathaus.publicURL)/veranstaltungen/meine

            Ihr Kompetenzzentrum
            """, attachment: calendar(app, event: e, sessions: sessions, withLink: true))
    }

    /// Reminders 7 days and 1 day before the first session, to everyone confirmed who registered
    /// before that point; each at most once (the outbox key).
    static func reminders(_ app: Application, now: Date) async throws -> Int {
        let soon = now.addingTimeInterval(7 * 86400)
        let upcoming = try await EventSessionRow.query(on: app.db).filter(\.$idx == 0).filter(\.$startsAt > now).filter(\.$startsAt <= soon).all()
        var queued = 0
        for first in upcoming {
            guard let e = try await TrainingEvent.find(first.eventID, on: app.db), e.status == "published" else { continue }
            let sessions = try await EventService.sessions(app.db, first.eventID)
            let oneDay = first.startsAt.addingTimeInterval(-86400), sevenDays = first.startsAt.addingTimeInterval(-7 * 86400)
            let (kind, point): (String, Date) = now >= oneDay ? ("1", oneDay) : ("7", sevenDays)
            let regs = try await EventRegistration.query(on: app.db).filter(\.$eventID == first.eventID).filter(\.$status == "confirmed").all()
            for r in regs where r.createdAt < point {
                let key = "event-reminder\(kind)-\(r.id?.uuidString ?? "")"
                let when = kind == "1" ? "morgen" : "in einer Woche"
                let wrote = try await app.writeTransaction { db -> Bool in
                    try await Outbox.enqueue(on: db, key: key, to: r.email, subject: "Erinnerung: \(e.title) \(when)", body: """
                        Guten Tag \(r.name),

                        wir erinnern Sie an „\(e.title)“.

                        Termine:
                        \(dates(sessions))
                        Ort: \(place(e, confirmed: true))

                        Wenn Sie nicht teilnehmen können, melden Sie sich bitte ab: \(app.rathaus.publicURL)/veranstaltungen/meine

                        Ihr Kompetenzzentrum
                        """, attachment: calendar(app, event: e, sessions: sessions, withLink: true))
                }
                if wrote { queued += 1 }
            }
        }
        return queued
    }

    /// Open follow-up tasks of visits due within three days (or overdue) are reminded once per due date
    /// to the person who requested the visit.
    static func taskReminders(_ app: Application, now: Date) async throws -> Int {
        let horizon = BusinessDate.today(now.addingTimeInterval(3 * 86400))
        let tasks = try await VisitTask.query(on: app.db).filter(\.$doneAt == nil).filter(\.$dueOn <= horizon).all()
        var queued = 0
        for t in tasks {
            guard let v = try await SiteVisit.find(t.visitID, on: app.db), v.requestedBy.contains("@") else { continue }
            let to = v.requestedBy.hasPrefix("user:") ? String(v.requestedBy.dropFirst(5)) : v.requestedBy
            let key = "visit-task-\(t.id?.uuidString ?? "")-\(t.dueOn)"
            let wrote = try await app.writeTransaction { db -> Bool in
                try await Outbox.enqueue(on: db, key: key, to: to, subject: "Aufgabe aus dem Vor-Ort-Termin fällig: \(t.title)", body: """
                    Guten Tag,

                    die beim Vor-Ort-Termin vereinbarte Aufgabe „\(t.title)“ (verantwortlich: \(t.owner)) ist am \(EventFormat.day(GermanTime.startOfDay(t.dueOn) ?? now, english: false)) fällig.
                    Sie können sie erledigt melden unter \(app.rathaus.publicURL)/mandanten/\(t.tenantARS)/fortbildung

                    Ihr Kompetenzzentrum
                    """)
            }
            if wrote { queued += 1 }
        }
        return queued
    }
}
