import Fluent
import Vapor
import Funding
import RathausCore

/// Reminders of the deadlines of a case (the Verwendungsnachweis, the answer to a query): 30 and
/// 7 days before and once overdue, through the mail outbox. The outbox key names the case, the
/// deadline and the stage, so each reminder is queued once — also when two instances run the job.
enum FundingReminders {
    static func days(from today: String, to due: String) -> Int? {
        guard let a = EventFormat.instant(day: today, time: "12:00"), let b = EventFormat.instant(day: due, time: "12:00") else { return nil }
        return Int(((b.timeIntervalSince(a)) / 86400).rounded())
    }

    static func run(_ app: Application, now: Date) async throws -> Int {
        let today = BusinessDate.today(now)
        let open = try await FundingApplication.query(on: app.db).filter(\.$status ~~ [FundingStatus.approved.rawValue, FundingStatus.query.rawValue]).all()
        var queued = 0
        for a in open {
            let (due, what) = a.state == .query ? (a.queryDueOn, "Antwort auf die Rückfrage") : (a.proofDueOn, "Verwendungsnachweis")
            guard !due.isEmpty, let d = days(from: today, to: due), let stage = ReminderStage.due(daysUntil: d) else { continue }
            let recipients = Set([a.contactEmail] + (try await FundingService.people(app.db, role: .fundingClerk, tenant: a.tenantARS)).map(\.email)).filter { !$0.isEmpty }
            let when = stage == .overdue ? "ist seit dem \(CalendarDay.display(due)) überfällig" : "ist am \(CalendarDay.display(due)) fällig (in \(d) Tagen)"
            for to in recipients.sorted() {
                let key = "foerderung-frist-\(a.id?.uuidString ?? "")-\(a.state.rawValue)-\(due)-\(stage.rawValue)-\(to)"
                let sent = try await app.writeTransaction { db in
                    try await Outbox.enqueue(on: db, key: key, to: to, subject: "\(a.reference): \(what) \(stage == .overdue ? "überfällig" : "fällig am \(CalendarDay.display(due))")", body: """
                        Guten Tag,

                        für den Förderantrag \(a.reference) „\(a.title)“ (\(a.tenantName)) gilt: \(what) \(when).

                        \(app.rathaus.publicURL)/foerderung/antraege/\(a.id?.uuidString ?? "")

                        Diese Erinnerung wurde automatisch erzeugt.
                        """)
                }
                if sent { queued += 1 }
            }
        }
        return queued
    }
}
