import Fluent
import SQLKit
import Vapor

/// The recurring work of the platform, all on the one `Scheduler`. Features add theirs here.
enum PlatformJobs {
    static func all(_ config: RathausConfig, mail: Bool) -> [ScheduledJob] {
        var jobs: [ScheduledJob] = [
            ScheduledJob(name: "zahlungen", titleDE: "Zahlungen abgleichen und Webhooks zustellen", titleEN: "Reconcile payments and deliver webhooks",
                         schedule: .every(seconds: 5), timeout: 120, maxAttempts: 1) { app, now in
                let checked = try await PaymentService.sweep(app: app, now: now)
                let delivered = try await PaymentService.deliverWebhooks(app: app, now: now)
                return JobOutcome(de: "\(checked) Zahlungen geprüft, \(delivered) Webhooks zugestellt", en: "\(checked) payments checked, \(delivered) webhooks delivered")
            },
            ScheduledJob(name: "audit-pruefpunkt", titleDE: "Prüfpunkt des Audit-Protokolls signieren", titleEN: "Sign an audit trail checkpoint",
                         schedule: .every(seconds: max(60, config.auditCheckpointMinutes * 60)), timeout: 300) { app, _ in
                let c = try await AuditCheckpoints.write(app)
                return JobOutcome(de: "Prüfpunkt bis Eintrag \(c.seq)", en: "checkpoint up to entry \(c.seq)")
            },
            ScheduledJob(name: "bereinigung", titleDE: "Abgelaufene Sitzungen, Einmal-Links und Gast-Entwürfe löschen",
                         titleEN: "Delete expired sessions, one-time links and guest drafts",
                         schedule: .daily(hour: 3, minute: 15), timeout: 900) { app, now in
                let r = try await purge(app, now: now)
                return JobOutcome(de: r.summaryDE, en: r.summaryEN)
            },
            ScheduledJob(name: "veranstaltungen-erinnerung", titleDE: "An Veranstaltungen und fällige Aufgaben aus Vor-Ort-Terminen erinnern",
                         titleEN: "Remind of events and due tasks from on-site visits",
                         schedule: .every(seconds: 900), timeout: 300) { app, now in
                let events = try await EventMails.reminders(app, now: now)
                let tasks = try await EventMails.taskReminders(app, now: now)
                return JobOutcome(de: "\(events) Erinnerungen an Veranstaltungen, \(tasks) an Aufgaben", en: "\(events) event reminders, \(tasks) task reminders")
            },
            ScheduledJob(name: "rollout-tagesauswertung", titleDE: "Suchanfragen des Tages zusammenfassen, alte löschen, Roll-out-Stand festhalten",
                         titleEN: "Aggregate the day's searches, delete old ones, record the roll-out state", schedule: .daily(hour: 2, minute: 30), timeout: 600) { app, now in
                let r = try await RolloutService.daily(app, now: now)
                return JobOutcome(de: "\(r.events) Suchen zusammengefasst, \(r.deleted) alte gelöscht, \(r.snapshot) Anteile festgehalten",
                                  en: "\(r.events) searches aggregated, \(r.deleted) old ones deleted, \(r.snapshot) shares recorded")
            },
            ScheduledJob(name: "rollout-monatsbericht", titleDE: "Monatsbericht an die Mandanten-Administration", titleEN: "Monthly digest to tenant administrators",
                         schedule: .daily(hour: 6, minute: 0), timeout: 900) { app, now in
                let n = try await RolloutService.digest(app, now: now)
                return JobOutcome(de: "\(n) Monatsberichte", en: "\(n) monthly digests")
            },
            ScheduledJob(name: "foerderung-fristen", titleDE: "An Fristen der Förderanträge erinnern (Verwendungsnachweis, Rückfragen)",
                         titleEN: "Remind of funding deadlines (proof of use, queries)", schedule: .daily(hour: 7, minute: 0), timeout: 300) { app, now in
                let n = try await FundingReminders.run(app, now: now)
                return JobOutcome(de: "\(n) Erinnerungen an Förderfristen", en: "\(n) funding deadline reminders")
            },
            ScheduledJob(name: "isms-fristen", titleDE: "An fällige ISMS-Maßnahmen und die 72-Stunden-Meldefrist bei Datenschutzvorfällen erinnern",
                         titleEN: "Remind of due ISMS measures and the 72-hour notification deadline of data breaches", schedule: .every(seconds: 900), timeout: 300) { app, now in
                let m = try await ISMSMeasures.reminders(app, now: now)
                let d = try await ISMSIncidents.deadlineReminders(app, now: now)
                return JobOutcome(de: "\(m) Erinnerungen an Maßnahmen, \(d) an Meldefristen", en: "\(m) measure reminders, \(d) deadline reminders")
            },
            ScheduledJob(name: "fitconnect-versand", titleDE: "Anträge über FIT-Connect zustellen und Ereignisse abrufen",
                         titleEN: "Deliver applications through FIT-Connect and fetch their events", schedule: .every(seconds: 5), timeout: 240, maxAttempts: 1) { app, now in
                let r = try await FITConnectSender.deliverDue(app, now: now)
                return JobOutcome(de: "\(r.delivered) zugestellt, \(r.failed) Fehlversuche, \(r.decided) Entscheidungen der Empfänger",
                                  en: "\(r.delivered) delivered, \(r.failed) failed attempts, \(r.decided) decisions by recipients")
            },
            ScheduledJob(name: "fitconnect-abholung", titleDE: "Einreichungen an FIT-Connect-Zustellpunkten abholen",
                         titleEN: "Pick up submissions at FIT-Connect destinations", schedule: .every(seconds: 5), timeout: 240, maxAttempts: 1) { app, now in
                let r = try await FITConnectReceiver.poll(app, now: now, instance: app.scheduler.instance)
                return JobOutcome(de: "\(r.accepted) angenommen, \(r.rejected) zurückgewiesen, \(r.resent) Entscheidungen erneut gesendet",
                                  en: "\(r.accepted) accepted, \(r.rejected) rejected, \(r.resent) decisions sent again")
            },
        ]
        if mail {
            jobs.append(ScheduledJob(name: "postausgang", titleDE: "E-Mails aus dem Postausgang senden", titleEN: "Send e-mails from the outbox",
                                     schedule: .every(seconds: 5), timeout: 120, maxAttempts: 1) { app, now in
                guard let sender = app.storage[MailSenderKey.self] else { return JobOutcome(de: "kein SMTP-Server eingerichtet", en: "no SMTP server configured") }
                let sent = try await Outbox.deliverDue(app: app, sender: sender, now: now)
                return JobOutcome(de: "\(sent) E-Mails gesendet", en: "\(sent) e-mails sent")
            })
        }
        return jobs
    }

    struct PurgeReport: Sendable {
        var sessions = 0, links = 0, drafts = 0, loginAttempts = 0, jobRuns = 0
        var summaryDE: String {
            "\(sessions) Sitzungen, \(links) Einmal-Links, \(drafts) Gast-Entwürfe, \(loginAttempts) Anmeldeversuche, \(jobRuns) alte Job-Läufe gelöscht"
        }
        var summaryEN: String {
            "deleted \(sessions) sessions, \(links) one-time links, \(drafts) guest drafts, \(loginAttempts) sign-in attempts, \(jobRuns) old job runs"
        }
    }

    /// Guest drafts nobody can reach any more (the link lived 48 hours, the session 8).
    static let guestDraftAge: TimeInterval = 7 * 86400
    /// Login history kept for the throttle and for questions about an account.
    static let loginHistoryAge: TimeInterval = 90 * 86400
    /// Successful runs of frequent jobs are kept this long; failures stay until the next purge after 30 days.
    static let jobRunAge: TimeInterval = 3 * 86400

    static func purge(_ app: Application, now: Date) async throws -> PurgeReport {
        var r = PurgeReport()
        let db = app.db
        // sessions: older than their absolute lifetime, judged by the "since" every session carries
        let limit = now.timeIntervalSince1970 - PrincipalMiddleware.sessionLifetime
        var expired: [UUID] = []
        for s in try await SessionRecord.query(on: db).all() {
            let since = s.data["since"].flatMap(Double.init) ?? 0
            if since < limit, let id = s.id { expired.append(id) }
        }
        for chunk in stride(from: 0, to: expired.count, by: 500) {
            let ids = Array(expired[chunk..<min(chunk + 500, expired.count)])
            try await app.writeTransaction { db in try await SessionRecord.query(on: db).filter(\.$id ~~ ids).delete() }
        }
        r.sessions = expired.count
        // one-time links: expired or used (a used link is kept a day for the "already used" answer)
        let links = try await AccountToken.query(on: db).group(.or) { $0.filter(\.$expiresAt < now).filter(\.$usedAt < now.addingTimeInterval(-86400)) }.all()
        let linkIDs = links.compactMap(\.id)
        // guest drafts: no account, never submitted, untouched for a week
        let drafts = try await Antrag.query(on: db).filter(\.$status == Antrag.draft).filter(\.$applicantID == nil)
            .filter(\.$updatedAt < now.addingTimeInterval(-guestDraftAge)).all()
        let draftIDs = drafts.compactMap(\.id)
        try await app.writeTransaction { db in
            if !linkIDs.isEmpty { try await AccountToken.query(on: db).filter(\.$id ~~ linkIDs).delete() }
            if !draftIDs.isEmpty {
                try await AntragFile.query(on: db).filter(\.$antragID ~~ draftIDs).delete()
                try await Antrag.query(on: db).filter(\.$id ~~ draftIDs).delete()
            }
            try await Audit.record(on: db, actor: "system:bereinigung", actorID: nil, tenant: nil, action: "jobs.purge", objectType: "system",
                                   objectID: "bereinigung", before: nil, after: "\(linkIDs.count) Einmal-Links, \(draftIDs.count) Gast-Entwürfe")
        }
        r.links = linkIDs.count
        r.drafts = draftIDs.count
        r.loginAttempts = try await app.writeTransaction { db in
            let old = try await LoginAttempt.query(on: db).filter(\.$at < now.addingTimeInterval(-loginHistoryAge)).count()
            try await LoginAttempt.query(on: db).filter(\.$at < now.addingTimeInterval(-loginHistoryAge)).delete()
            return old
        }
        r.jobRuns = try await app.writeTransaction { db in
            func old() -> QueryBuilder<JobRun> {
                JobRun.query(on: db).group(.or) {
                    $0.group(.and) { $0.filter(\.$status ~~ ["succeeded", "skipped"]).filter(\.$startedAt < now.addingTimeInterval(-jobRunAge)) }
                      .filter(\.$startedAt < now.addingTimeInterval(-30 * 86400))
                }
            }
            let n = try await old().count()
            try await old().delete()
            return n
        }
        return r
    }
}
