import Fluent
import SQLKit
import Vapor
import Funding
import RathausCore

/// The funding workflow. Every change runs in one write transaction; every change of money
/// starts by taking the programme's row lock (`lockBudget`), so the ledger read next is final
/// until the commit — on SQLite because there is one writer, on PostgreSQL because every other
/// transaction of the same programme waits on that row and, in READ COMMITTED, sees the committed
/// lines once it continues.
enum FundingService {
    static let stateKey = "16"

    static func lockBudget(_ db: any Database, _ programmeID: UUID) async throws -> FundingProgramme {
        guard let sql = db as? any SQLDatabase else { throw AppError.notFound }
        try await sql.raw("UPDATE funding_programmes SET budget_lock = budget_lock + 1 WHERE id = \(bind: programmeID)").run()
        guard let p = try await FundingProgramme.find(programmeID, on: db) else { throw AppError.notFound }
        return p
    }

    struct LedgerSum: Decodable { var year: Int; var source: String; var kind: String; var ve: Bool; var total: Int64 }

    /// The programme's ledger summed per year, source, kind (and VE flag) by the database: the
    /// budget is always derived from the lines, and an approval reads a few dozen sums instead of
    /// every line (100,000 lines: see `rathaus bench foerderung`).
    static func ledgerSums(_ db: any Database, programme: UUID) async throws -> [LedgerSum] {
        guard let sql = db as? any SQLDatabase else { return [] }
        return try await sql.raw("""
            SELECT year, source, kind, ve, CAST(SUM(cents) AS BIGINT) AS total FROM funding_bookings
            WHERE programme_id = \(bind: programme) GROUP BY year, source, kind, ve
            """).all(decoding: LedgerSum.self)
    }

    static func bookings(_ db: any Database, programme: UUID) async throws -> [Booking] {
        try await ledgerSums(db, programme: programme).compactMap { r in
            guard let s = FundingSource(rawValue: r.source), let k = BookingKind(rawValue: r.kind) else { return nil }
            return Booking(year: r.year, source: s, kind: k, cents: r.total)
        }
    }

    static func caseBookings(_ db: any Database, application: UUID) async throws -> [Booking] {
        try await FundingBooking.query(on: db).filter(\.$applicationID == application).all().compactMap(\.booking)
    }

    static func book(_ db: any Database, programme: UUID, key: BudgetKey, kind: BookingKind, cents: Int64, application: UUID?,
                     payout: UUID? = nil, note: String, actor: String, ve: Bool = false) async throws {
        guard cents > 0 else { return }
        let b = FundingBooking()
        b.programmeID = programme; b.year = key.year; b.source = key.source.rawValue; b.kind = kind.rawValue; b.cents = cents
        b.ve = ve; b.applicationID = application; b.payoutID = payout; b.note = String(note.prefix(300)); b.createdBy = actor; b.createdAt = Date()
        try await b.create(on: db)
    }

    static func conflict(_ code: String, _ de: String, _ en: String) -> AppError { AppError(.conflict, "funding.\(code)", de: de, en: en) }

    static func illegal(_ e: IllegalTransition) -> AppError { AppError(.conflict, "funding.transition", de: e.description, en: e.english) }

    static func step(_ a: FundingApplication, _ s: FundingStep) throws -> FundingStatus {
        do { return try FundingWorkflow.next(a.state, s) } catch let e as IllegalTransition { throw illegal(e) }
    }

    static func load(_ db: any Database, _ id: UUID) async throws -> FundingApplication {
        guard let a = try await FundingApplication.find(id, on: db) else { throw AppError.notFound }
        return a
    }

    // MARK: drafts

    /// The server's own computation of the requested amount (the page shows it live, too).
    static func recompute(_ a: FundingApplication, category c: FundingCategory, items: [FundingCostItem]) {
        let eligible = FundingCalculation.eligibleCents(items.map(\.item), eligibleCostTypes: c.costTypeSet, projectStart: a.startsOn, earlyStart: a.earlyStartDay)
        a.requestedCents = FundingCalculation.grant(c.rule, eligibleCents: eligible, units: a.units, otherFundingCents: a.otherFundingCents)
    }

    static func recompute(_ db: any Database, _ a: FundingApplication) async throws {
        guard let c = try await FundingCategory.find(a.categoryID, on: db) else { throw AppError.notFound }
        let items = try await FundingCostItem.query(on: db).filter(\.$applicationID == a.requireID()).all()
        recompute(a, category: c, items: items)
    }

    /// Next reference of the year, inside the programme lock (unique index as the last guard).
    static func nextReference(_ db: any Database, now: Date) async throws -> String {
        let year = String(BusinessDate.today(now).prefix(4))
        let prefix = "FÖ-\(year)-"
        let last = try await FundingApplication.query(on: db).filter(\.$reference >= prefix).filter(\.$reference < prefix + "9999999")
            .sort(\.$reference, .descending).first()
        let n = (last.flatMap { Int($0.reference.dropFirst(prefix.count)) } ?? 0) + 1
        return prefix + String(format: "%04d", n)
    }

    // MARK: messages

    static func post(_ db: any Database, app: Application, a: FundingApplication, direction: String, kind: String, sender: String,
                     subject: String, body: String, file: (name: String, data: Data)? = nil, mailTo: [String] = []) async throws -> FundingMessage {
        let m = FundingMessage()
        m.id = UUID()
        m.applicationID = try a.requireID(); m.tenantARS = a.tenantARS; m.direction = direction; m.kind = kind; m.sender = sender
        m.subject = String(subject.prefix(300)); m.body = body; m.fileName = file?.name ?? ""; m.createdAt = Date()
        if let file { m.fileSHA = try await app.files.put(file.data) }
        try await m.create(on: db)
        for to in Set(mailTo.filter { !$0.isEmpty }) {
            _ = try await Outbox.enqueue(on: db, key: "foerderung-\(m.id?.uuidString ?? "")-\(to)", to: to, subject: "\(a.reference): \(subject)", body: """
                Guten Tag,

                zum Förderantrag \(a.reference) „\(a.title)“ (\(a.tenantName)) gibt es Neues:

                \(subject)

                Sie finden die Nachricht\(file == nil ? "" : " und das Schreiben als PDF") im Postfach des Antrags:
                \(app.rathaus.publicURL)/foerderung/antraege/\(a.id?.uuidString ?? "")

                Diese Nachricht wurde automatisch erzeugt.
                """)
        }
        return m
    }

    /// E-mail addresses of the people holding `role` for `tenant` now.
    static func people(_ db: any Database, role: Role, tenant: String) async throws -> [User] {
        let now = Date()
        let grants = try await RoleAssignment.query(on: db).filter(\.$tenantARS == tenant).all()
            .filter { $0.grant.map { $0.role == role && $0.isCurrent(at: now) } ?? false }
        guard !grants.isEmpty else { return [] }
        return try await User.query(on: db).filter(\.$id ~~ grants.map(\.userID)).all()
    }

    static func audit(_ db: any Database, _ actor: Principal, _ a: FundingApplication, _ action: String, before: String?, after: String) async throws {
        try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: a.tenantARS, action: "funding.\(action)",
                               objectType: "funding_application", objectID: a.reference, before: before, after: after)
    }

    // MARK: municipality side

    /// Author → signatory: everything must be complete, every partner must have confirmed.
    static func requestRelease(_ app: Application, id: UUID, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let next = try step(a, .requestRelease)
            var missing: [String] = []
            if a.title.isEmpty { missing.append("Projekttitel") }
            if a.summary.isEmpty { missing.append("Beschreibung") }
            if a.contactName.isEmpty || a.contactEmail.isEmpty { missing.append("Ansprechperson mit E-Mail-Adresse") }
            let items = try await FundingCostItem.query(on: db).filter(\.$applicationID == id).count()
            if items == 0 { missing.append("mindestens eine Position im Kostenplan") }
            try await recompute(db, a)
            if a.requestedCents <= 0 { missing.append("ein zuwendungsfähiger Betrag (der beantragte Betrag ist 0,00 €)") }
            if !missing.isEmpty {
                throw AppError(.unprocessableEntity, "funding.incomplete", de: "Der Antrag ist noch nicht vollständig: \(missing.joined(separator: ", ")).",
                               en: "The application is not complete yet: \(missing.joined(separator: ", ")).")
            }
            let partners = try await FundingPartner.query(on: db).filter(\.$applicationID == id).all()
            let open = partners.filter { $0.status != "bestaetigt" }
            if !open.isEmpty {
                throw conflict("partners", "Noch nicht alle Partner haben ihre Beteiligung bestätigt: \(open.map(\.tenantName).joined(separator: ", ")).",
                              "Not all partners have confirmed their participation yet: \(open.map(\.tenantName).joined(separator: ", ")).")
            }
            let before = a.status
            a.status = next.rawValue; a.updatedAt = Date()
            try await a.save(on: db)
            let signers = try await people(db, role: .signatory, tenant: a.tenantARS).map(\.email)
            _ = try await post(db, app: app, a: a, direction: "kommune", kind: "hinweis", sender: actor.staff?.name ?? actor.auditActor,
                               subject: "Antrag wartet auf Ihre Freigabe", body: "Der Antrag „\(a.title)“ über \(Money(cents: a.requestedCents).formattedDE) ist fertig und wartet auf die Freigabe durch eine zeichnungsbefugte Person.",
                               mailTo: signers)
            try await audit(db, actor, a, "release_requested", before: before, after: next.rawValue)
        }
    }

    static func returnToDraft(_ app: Application, id: UUID, reason: String, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let next = try step(a, .returnToDraft)
            a.status = next.rawValue; a.updatedAt = Date()
            try await a.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "kommune", kind: "hinweis", sender: actor.staff?.name ?? actor.auditActor,
                               subject: "Freigabe verweigert, zurück in den Entwurf", body: reason, mailTo: [a.contactEmail])
            try await audit(db, actor, a, "release_returned", before: FundingStatus.awaitingRelease.rawValue, after: "\(next.rawValue): \(reason)")
        }
    }

    /// The signatory releases: the application is submitted to the Land.
    static func release(_ app: Application, id: UUID, actor: Principal, now: Date = Date()) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let next = try step(a, .release)
            guard let s = actor.staff else { throw AppError.forbidden }
            do { try FourEyes.release(author: a.authorID, signer: s.userID.uuidString) } catch let error as FourEyes.Refusal {
                throw conflict("four_eyes", error.description, error.english)
            }
            guard let call = try await FundingCall.find(a.callID, on: db) else { throw AppError.notFound }
            do { try Eligibility.callOpen(today: BusinessDate.today(now), opens: call.opensOn, closes: call.closesOn, show: { CalendarDay.display($0) }) } catch let error as Eligibility.Refusal {
                throw conflict("call", error.description, error.english)
            }
            try await recompute(db, a)
            let before = a.status
            a.status = next.rawValue; a.releasedBy = s.name; a.submittedAt = now; a.updatedAt = now
            a.contentCheckBy = nil; a.calcCheckBy = nil; a.contentCheckNote = ""; a.calcCheckNote = ""
            try await a.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "kommune", kind: "eingang", sender: s.name,
                               subject: "Antrag eingereicht", body: "Freigegeben von \(s.name) am \(GermanTime.format(now, english: false)); beantragt: \(Money(cents: a.requestedCents).formattedDE).",
                               mailTo: [a.contactEmail])
            try await audit(db, actor, a, "submitted", before: before, after: "\(next.rawValue): \(Money(cents: a.requestedCents).formattedDE), freigegeben von \(s.name)")
        }
    }

    static func answer(_ app: Application, id: UUID, text: String, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let next = try step(a, .answer)
            a.status = next.rawValue; a.updatedAt = Date()
            try await a.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "kommune", kind: "antwort", sender: actor.staff?.name ?? actor.auditActor,
                               subject: "Antwort auf die Rückfrage", body: text)
            try await audit(db, actor, a, "answered", before: FundingStatus.query.rawValue, after: next.rawValue)
        }
    }

    static func withdraw(_ app: Application, id: UUID, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let next = try step(a, .withdraw)
            let before = a.status
            a.status = next.rawValue; a.updatedAt = Date()
            try await a.save(on: db)
            try await audit(db, actor, a, "withdrawn", before: before, after: next.rawValue)
        }
    }

    static func confirmPartner(_ app: Application, id: UUID, tenant: String, confirm: Bool, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            guard a.state.isEditable || a.state == .awaitingRelease else {
                throw conflict("partner_late", "Die Beteiligung kann nur bestätigt werden, solange der Antrag nicht eingereicht ist.",
                               "Participation can only be confirmed before the application is submitted.")
            }
            guard let p = try await FundingPartner.query(on: db).filter(\.$applicationID == id).filter(\.$tenantARS == tenant).first() else { throw AppError.notFound }
            let before = p.status
            p.status = confirm ? "bestaetigt" : "abgelehnt"; p.confirmedBy = actor.staff?.name ?? actor.auditActor; p.confirmedAt = Date()
            try await p.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "kommune", kind: "hinweis", sender: "\(p.tenantName): \(p.confirmedBy ?? "")",
                               subject: confirm ? "\(p.tenantName) bestätigt die Beteiligung" : "\(p.tenantName) lehnt die Beteiligung ab",
                               body: "Anteil: \(Money(cents: p.shareCents).formattedDE)", mailTo: [a.contactEmail])
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: tenant, action: "funding.partner",
                                   objectType: "funding_application", objectID: a.reference, before: before, after: "\(p.status): \(Money(cents: p.shareCents).formattedDE)")
        }
    }
}
