import Fluent
import Foundation
import ISMS
import RathausCore
import Vapor

/// Measures (Maßnahmen) that close the gaps of a tenant's catalogue: owner, due date, status,
/// estimated cost; reminders before the due date; carried into a draft funding application.
enum ISMSMeasures {
    struct Input: Sendable {
        var requirementID: String
        var title: String
        var owner: UUID
        var dueOn: String
        var costCents: Int64
        var status: MeasureStatus
    }

    /// Reads and checks the measure form (German messages per field).
    static func read(_ f: FundingForm, staff: [User], catalogue: Catalogue, requireStatus: Bool) throws -> Input {
        guard catalogue.requirement(f["anforderung"]) != nil else {
            throw AppError.invalid("anforderung", de: "Bitte wählen Sie die Anforderung, zu der die Maßnahme gehört.", en: "Please choose the requirement the measure belongs to.")
        }
        let title = try f.text("titel", "die Maßnahme (was ist zu tun?)", max: 300)
        guard let owner = UUID(uuidString: f["verantwortlich"]), staff.contains(where: { $0.id == owner }) else {
            throw AppError.invalid("verantwortlich", de: "Bitte wählen Sie die verantwortliche Person aus der Liste.", en: "Please choose the person responsible from the list.")
        }
        let due = try f.day("faellig", "das Fälligkeitsdatum")
        let cost = try f.money("kosten", "die geschätzten Kosten", required: false)
        var status = MeasureStatus.planned
        if requireStatus {
            guard let s = MeasureStatus(rawValue: f["status"]) else {
                throw AppError.invalid("status", de: "Bitte wählen Sie den Stand der Maßnahme.", en: "Please choose the status of the measure.")
            }
            status = s
        }
        return Input(requirementID: f["anforderung"], title: title, owner: owner, dueOn: due, costCents: cost, status: status)
    }

    static func fields(_ m: ISMSMeasure, names: [UUID: String]) -> [(String, String)] {
        [("Anforderung", m.requirementID), ("Maßnahme", m.title), ("Verantwortlich", UUID(uuidString: m.owner).flatMap { names[$0] } ?? m.owner),
         ("Fällig", CalendarDay.display(m.dueOn)), ("Stand", MeasureStatus(rawValue: m.status)?.german ?? m.status),
         ("Kosten (geschätzt)", Money(cents: m.costCents).formattedDE)]
    }

    static func save(_ app: Application, tenant: String, id: UUID?, input: Input, names: [UUID: String], actor: Principal) async throws -> UUID {
        try await app.writeTransaction { db in
            let existing: ISMSMeasure?
            if let id {
                guard let m = try await ISMSMeasure.find(id, on: db), m.tenantARS == tenant else { throw AppError.notFound }
                existing = m
            } else {
                guard try await ISMSMeasure.query(on: db).filter(\.$tenantARS == tenant).count() < 1_000 else {
                    throw AppError(.unprocessableEntity, "isms.measures", de: "Eine Verwaltung kann höchstens 1.000 Maßnahmen führen.", en: "A tenant can keep at most 1,000 measures.")
                }
                existing = nil
            }
            let m = existing ?? ISMSMeasure()
            let before = existing.map { AuditFields.encode(fields($0, names: names)) }
            if existing == nil {
                m.id = UUID(); m.tenantARS = tenant; m.createdBy = actor.auditActor; m.createdAt = Date(); m.fundingReference = ""
            }
            m.requirementID = input.requirementID; m.title = input.title; m.owner = input.owner.uuidString; m.dueOn = input.dueOn
            m.costCents = input.costCents; m.status = input.status.rawValue; m.updatedBy = actor.auditActor; m.updatedAt = Date()
            if existing == nil { try await m.create(on: db) } else { try await m.save(on: db) }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: tenant, action: existing == nil ? "isms.measure" : "isms.measure_changed",
                                   objectType: "isms_measure", objectID: try m.requireID().uuidString, before: before,
                                   after: AuditFields.encode(fields(m, names: names)))
            return try m.requireID()
        }
    }

    /// An open call of a programme with a category for introducing an ISMS, as of `today`.
    static func ismsCall(_ db: any Database, today: String) async throws -> (FundingCall, FundingCategory)? {
        let cats = try await FundingCategory.query(on: db).all().filter {
            let t = $0.title.lowercased()
            return t.contains("isms") || t.contains("informationssicherheit")
        }
        for c in cats {
            let calls = try await FundingCall.query(on: db).filter(\.$programmeID == c.programmeID).all()
            if let call = calls.first(where: { $0.opensOn <= today && today <= $0.closesOn }) { return (call, c) }
        }
        return nil
    }

    /// One click: the chosen open measures with a cost estimate become the cost plan of a new draft
    /// in the open ISMS call; each measure remembers the application it went into.
    static func draftFunding(_ app: Application, tenant g: Gebiet, measureIDs: [UUID], actor: Principal, now: Date = Date()) async throws -> UUID {
        let measures = try await ISMSMeasure.query(on: app.db).filter(\.$tenantARS == g.ars).filter(\.$id ~~ measureIDs).all()
            .filter { MeasureStatus(rawValue: $0.status)?.isOpen == true && $0.costCents > 0 && $0.fundingReference.isEmpty }
        guard !measures.isEmpty, measures.count == Set(measureIDs).count else {
            throw AppError.invalid("massnahme", de: "Bitte wählen Sie offene Maßnahmen mit geschätzten Kosten, die noch in keinem Förderantrag stehen.",
                                   en: "Please choose open measures with a cost estimate that are not yet in a funding application.")
        }
        guard let (call, category) = try await ismsCall(app.db, today: BusinessDate.today(now)) else {
            throw AppError(.conflict, "isms.no_call", de: "Zurzeit ist kein Förderaufruf für die Einführung eines ISMS offen. Der Entwurf kann angelegt werden, sobald das Land einen Aufruf öffnet.",
                           en: "No funding call for introducing an ISMS is open at the moment. The draft can be created once the Land opens a call.")
        }
        let sorted = measures.sorted { ($0.dueOn, $0.title) < ($1.dueOn, $1.title) }
        let summary = "Maßnahmen aus dem ISMS-Arbeitsbereich:\n" + sorted.map { "– \($0.requirementID) \($0.title) (fällig \(CalendarDay.display($0.dueOn)), \(Money(cents: $0.costCents).formattedDE))" }.joined(separator: "\n")
        let years = sorted.compactMap { Int($0.dueOn.prefix(4)) }
        let id = try await FundingTenantController.createDraft(app, tenant: g, callID: try call.requireID().uuidString, categoryID: try category.requireID().uuidString,
                                                               title: "Einführung eines ISMS: \(sorted.count) Maßnahme(n)", summary: String(summary.prefix(5_000)),
                                                               startsOn: years.min().map { "\($0)-01-01" }, endsOn: years.max().map { "\($0)-12-31" }, actor: actor, now: now)
        try await app.writeTransaction { db in
            let a = try await FundingService.load(db, id)
            for m in sorted {
                let i = FundingCostItem()
                i.applicationID = id; i.year = Int(m.dueOn.prefix(4)) ?? 2027; i.costType = category.costTypeSet.contains("dienst") ? "dienst" : (category.costTypeSet.first ?? "dienst")
                i.label = String("\(m.requirementID) \(m.title)".prefix(200)); i.netCents = m.costCents; i.grossCents = m.costCents; i.vatDeductible = false
                i.incurredOn = ""; i.createdAt = Date()
                try await i.create(on: db)
                m.fundingReference = a.reference; m.updatedBy = actor.auditActor; m.updatedAt = Date()
                try await m.save(on: db)
            }
            try await FundingService.recompute(db, a)
            a.updatedAt = Date()
            try await a.save(on: db)
            try await FundingService.audit(db, actor, a, "cost.added", before: nil, after: "\(sorted.count) Positionen aus ISMS-Maßnahmen → beantragt \(Money(cents: a.requestedCents).formattedDE)")
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "isms.measures_funding",
                                   objectType: "funding_application", objectID: id.uuidString, before: nil,
                                   after: "\(a.reference): " + sorted.map(\.requirementID).joined(separator: ", "))
        }
        return id
    }

    /// Reminders to the owner (and the ISB) 14 and 3 days before the due date and once overdue;
    /// the outbox key names measure, due date and stage, so two instances queue each mail once.
    static func reminders(_ app: Application, now: Date) async throws -> Int {
        let today = BusinessDate.today(now)
        let open = try await ISMSMeasure.query(on: app.db).filter(\.$status ~~ [MeasureStatus.planned.rawValue, MeasureStatus.inProgress.rawValue]).all()
        var queued = 0
        for m in open {
            guard let d = FundingReminders.days(from: today, to: m.dueOn), let stage = MeasureReminder.due(daysUntil: d) else { continue }
            var to: Set<String> = []
            if let owner = UUID(uuidString: m.owner), let u = try await User.find(owner, on: app.db) { to.insert(u.email) }
            if let o = try await ISMSOfficer.find(m.tenantARS, on: app.db), let isb = o.isbUserID, let u = try await User.find(isb, on: app.db) { to.insert(u.email) }
            let name = try await Gebiet.find(m.tenantARS, on: app.db)?.name ?? m.tenantARS
            let when = stage == .overdue ? "ist seit dem \(CalendarDay.display(m.dueOn)) überfällig" : "ist am \(CalendarDay.display(m.dueOn)) fällig (in \(d) Tagen)"
            for email in to.sorted() where !email.isEmpty {
                let key = "isms-massnahme-\(m.id?.uuidString ?? "")-\(m.dueOn)-\(stage.rawValue)-\(email)"
                let sent = try await app.writeTransaction { db in
                    try await Outbox.enqueue(on: db, key: key, to: email, subject: "ISMS-Maßnahme \(stage == .overdue ? "überfällig" : "fällig am \(CalendarDay.display(m.dueOn))"): \(m.title.prefix(80))", body: """
                        Guten Tag,

                        die Maßnahme „\(m.title)“ zur Anforderung \(m.requirementID) (\(name)) \(when).

                        \(app.rathaus.publicURL)/mandanten/\(m.tenantARS)/isms/massnahmen/\(m.id?.uuidString ?? "")

                        Diese Erinnerung wurde automatisch erzeugt.
                        """)
                }
                if sent { queued += 1 }
            }
        }
        return queued
    }
}
