import Fluent
import Foundation
import ISMS
import RathausCore
import SQLKit
import Vapor

/// Security incidents: any staff member of a tenant reports, the provider's CERT gets it at once
/// (mail and list), everyone involved writes the timeline, the CERT closes with a report. A breach
/// of personal data carries the 72-hour deadline of Art. 33 GDPR until the tenant records the
/// notification to the supervisory authority.
enum ISMSIncidents {
    enum Status: String, CaseIterable {
        case reported = "gemeldet"
        case handling = "bearbeitung"
        case closed = "abgeschlossen"
        func label(_ en: Bool) -> String {
            switch self {
            case .reported: en ? "reported" : "gemeldet"
            case .handling: en ? "being handled" : "in Bearbeitung"
            case .closed: en ? "closed" : "abgeschlossen"
            }
        }
    }

    struct Report: Sendable {
        var title: String
        var description: String
        var category: IncidentCategory
        var assessment: IncidentAssessment
        var systems: String
        var personalData: Bool
        var occurredAt: Date
        var detectedAt: Date
    }

    /// "TT.MM.JJJJ" + "HH:MM" in German time.
    static func instant(_ f: FundingForm, day: String, time: String, label: String) throws -> Date {
        let iso = try f.day(day, label)
        let t = f[time].isEmpty ? "00:00" : f[time]
        guard let d = EventFormat.instant(day: iso, time: t) else {
            throw AppError.invalid(time, de: "Bitte geben Sie die Uhrzeit als SS:MM an, zum Beispiel 14:30.", en: "Please enter the time as HH:MM, for example 14:30.")
        }
        return d
    }

    static func read(_ f: FundingForm, now: Date) throws -> Report {
        let title = try f.text("titel", "eine kurze Bezeichnung des Vorfalls", max: 200)
        let description = try f.text("beschreibung", "was geschehen ist", max: 5_000)
        guard let category = IncidentCategory(rawValue: f["kategorie"]) else {
            throw AppError.invalid("kategorie", de: "Bitte wählen Sie die Art des Vorfalls.", en: "Please choose the kind of incident.")
        }
        guard let assessment = IncidentAssessment(rawValue: f["einschaetzung"]) else {
            throw AppError.invalid("einschaetzung", de: "Bitte schätzen Sie ein, wie schwer der Vorfall wiegt.", en: "Please assess how serious the incident is.")
        }
        let systems = try f.text("systeme", "die betroffenen Systeme", max: 1_000, required: false)
        guard ["ja", "nein"].contains(f["personenbezug"]) else {
            throw AppError.invalid("personenbezug", de: "Bitte geben Sie an, ob personenbezogene Daten betroffen sind.", en: "Please say whether personal data is affected.")
        }
        let occurred = try instant(f, day: "eingetreten", time: "eingetreten_zeit", label: "das Datum, an dem der Vorfall eintrat")
        let detected = try instant(f, day: "bemerkt", time: "bemerkt_zeit", label: "das Datum, an dem der Vorfall bemerkt wurde")
        if let r = IncidentCheck.times(occurred: occurred, detected: detected, now: now) {
            throw AppError(.unprocessableEntity, "isms.incident_time", de: r.german, en: r.english, field: r.field)
        }
        return Report(title: title, description: description, category: category, assessment: assessment, systems: systems,
                      personalData: f["personenbezug"] == "ja", occurredAt: occurred, detectedAt: detected)
    }

    /// Staff holding the CERT role (installation-wide) right now.
    static func cert(_ db: any Database) async throws -> [User] {
        let now = Date()
        let ids = try await RoleAssignment.query(on: db).filter(\.$role == Role.cert.rawValue).all().filter { $0.grant?.isCurrent(at: now) ?? false }.map(\.userID)
        guard !ids.isEmpty else { return [] }
        return try await User.query(on: db).filter(\.$id ~~ ids).all()
    }

    /// The tenant's ISB and deputy.
    static func officers(_ db: any Database, tenant: String) async throws -> [User] {
        guard let o = try await ISMSOfficer.find(tenant, on: db) else { return [] }
        let ids = [o.isbUserID, o.deputyUserID].compactMap { $0 }
        guard !ids.isEmpty else { return [] }
        return try await User.query(on: db).filter(\.$id ~~ ids).all()
    }

    static func event(_ db: any Database, _ incident: UUID, _ kind: String, _ text: String, _ actor: String) async throws {
        let e = ISMSIncidentEvent()
        e.incidentID = incident; e.kind = kind; e.text = text; e.actor = actor; e.at = Date()
        try await e.create(on: db)
    }

    /// Files the report, writes the first timeline entry and queues the mail to the CERT and the
    /// tenant's ISB — all in one transaction: an acknowledged report is stored and on its way.
    /// `notify: false` only for demo data, which is not a report anyone has to act on.
    static func report(_ app: Application, tenant g: Gebiet, _ r: Report, actor: Principal, now: Date = Date(), notify: Bool = true) async throws -> ISMSIncident {
        let cert = try await cert(app.db)
        let officers = try await officers(app.db, tenant: g.ars)
        return try await app.writeTransaction { db in
            if let sql = db as? any SQLDatabase, sql.dialect.name == "postgresql" {
                // the reference counter is read-then-written: one reporter at a time across instances
                try await sql.raw("SELECT pg_advisory_xact_lock(190019)").run()
            }
            let prefix = "SV-\(BusinessDate.today(now).prefix(4))-"
            let last = try await ISMSIncident.query(on: db).filter(\.$reference >= prefix).filter(\.$reference < prefix + "99999").sort(\.$reference, .descending).first()
            let n = (last.flatMap { Int($0.reference.dropFirst(prefix.count)) } ?? 0) + 1
            let i = ISMSIncident()
            i.id = UUID(); i.reference = prefix + String(format: "%04d", n); i.tenantARS = g.ars; i.title = r.title; i.description = r.description
            i.category = r.category.rawValue; i.assessment = r.assessment.rawValue; i.systems = r.systems; i.personalData = r.personalData
            i.occurredAt = r.occurredAt; i.detectedAt = r.detectedAt; i.status = Status.reported.rawValue
            i.reportedBy = actor.auditActor; i.reportedAt = now; i.closingReport = ""; i.updatedAt = now
            try await i.create(on: db)
            let id = try i.requireID()
            try await event(db, id, "meldung", "Gemeldet: \(r.category.german), Einschätzung \(r.assessment.german)\(r.personalData ? ", personenbezogene Daten betroffen" : "")", actor.auditActor)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "isms.incident",
                                   objectType: "isms_incident", objectID: i.reference, before: nil,
                                   after: AuditFields.encode([("Vorfall", r.title), ("Art", r.category.german), ("Einschätzung", r.assessment.german),
                                                              ("Personenbezug", r.personalData ? "ja" : "nein")]))
            let deadline = r.personalData
                ? "\nPersonenbezogene Daten sind betroffen: Die Meldung an die Datenschutz-Aufsichtsbehörde ist bis \(GermanTime.format(BreachDeadline(detectedAt: r.detectedAt, notifiedAt: nil).due, english: false)) fällig (72 Stunden nach Bekanntwerden, Art. 33 DSGVO).\n"
                : ""
            for u in (cert + officers) where notify && !u.email.isEmpty {
                _ = try await Outbox.enqueue(on: db, key: "isms-vorfall-\(id.uuidString)-\(u.email)", to: u.email,
                                             subject: "Sicherheitsvorfall \(i.reference) gemeldet: \(g.name) – \(r.assessment.german)", body: """
                    Guten Tag,

                    \(g.name) hat einen Sicherheitsvorfall gemeldet: „\(r.title)“ (\(r.category.german), Einschätzung \(r.assessment.german)).
                    Bemerkt am \(GermanTime.format(r.detectedAt, english: false)).
                    \(deadline)
                    \(app.rathaus.publicURL)/sicherheitsvorfaelle/\(id.uuidString)

                    Diese Nachricht wurde automatisch erzeugt.
                    """)
            }
            return i
        }
    }

    /// Reminders of the 72-hour deadline: once when 24 hours or fewer remain, once when it has
    /// passed, to the ISB, the deputy, the reporter and the CERT (outbox keys make it once each).
    static func deadlineReminders(_ app: Application, now: Date) async throws -> Int {
        let open = try await ISMSIncident.query(on: app.db).filter(\.$personalData == true).filter(\.$authorityNotifiedAt == nil).all()
        guard !open.isEmpty else { return 0 }
        let cert = try await cert(app.db)
        var queued = 0
        for i in open {
            let d = BreachDeadline(detectedAt: i.detectedAt, notifiedAt: i.authorityNotifiedAt)
            guard d.remind(at: now) else { continue }
            let passed = d.hoursLeft(at: now) < 0
            var emails = Set((cert + (try await officers(app.db, tenant: i.tenantARS))).map(\.email))
            if i.reportedBy.hasPrefix("user:") { emails.insert(String(i.reportedBy.dropFirst(5))) }
            for email in emails.sorted() where !email.isEmpty {
                let key = "isms-72h-\(i.id?.uuidString ?? "")-\(passed ? "abgelaufen" : "24h")-\(email)"
                let sent = try await app.writeTransaction { db in
                    try await Outbox.enqueue(on: db, key: key, to: email, subject: "\(i.reference): Meldefrist an die Datenschutz-Aufsicht \(passed ? "abgelaufen" : "endet \(GermanTime.format(d.due, english: false))")", body: """
                        Guten Tag,

                        beim Sicherheitsvorfall \(i.reference) „\(i.title)“ sind personenbezogene Daten betroffen. Die Meldung an die Aufsichtsbehörde \(passed ? "war bis \(GermanTime.format(d.due, english: false)) fällig und ist noch nicht vermerkt" : "ist bis \(GermanTime.format(d.due, english: false)) fällig"). Ist sie erfolgt, vermerken Sie sie bitte beim Vorfall.

                        \(app.rathaus.publicURL)/sicherheitsvorfaelle/\(i.id?.uuidString ?? "")

                        Diese Erinnerung wurde automatisch erzeugt.
                        """)
                }
                if sent { queued += 1 }
            }
        }
        return queued
    }

    /// Anonymised counts for the Land: per category and month, no tenant, no text.
    static func counts(_ db: any Database) async throws -> [(month: String, category: IncidentCategory, count: Int)] {
        var by: [String: Int] = [:]
        for i in try await ISMSIncident.query(on: db).all() {
            let c = GermanTime.calendar.dateComponents([.year, .month], from: i.reportedAt)
            by[String(format: "%04d-%02d", c.year ?? 0, c.month ?? 0) + "|" + i.category, default: 0] += 1
        }
        return by.compactMap { k, v in
            let p = k.split(separator: "|").map(String.init)
            guard p.count == 2, let c = IncidentCategory(rawValue: p[1]) else { return nil }
            return (p[0], c, v)
        }.sorted { ($0.month, $0.category.rawValue) > ($1.month, $1.category.rawValue) }
    }

    /// Incidents of a tenant in the quarter of `now`.
    static func quarter(_ now: Date) -> (from: Date, to: Date) {
        let c = GermanTime.calendar.dateComponents([.year, .month], from: now)
        let q = ((c.month ?? 1) - 1) / 3
        var s = DateComponents(); s.year = c.year; s.month = q * 3 + 1; s.day = 1
        let from = GermanTime.calendar.date(from: s) ?? now
        return (from, GermanTime.calendar.date(byAdding: .month, value: 3, to: from) ?? now)
    }
}
