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

    // MARK: Land side

    enum Check: String { case content = "sachlich", calc = "rechnerisch" }

    static func recordCheck(_ app: Application, id: UUID, check: Check, note: String, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            guard a.state == .submitted else {
                throw conflict("check_state", "Geprüft wird ein eingereichter Antrag (jetzt: \(a.state.german)).", "Only submitted applications are checked (now: \(a.state.english)).")
            }
            guard let s = actor.staff else { throw AppError.forbidden }
            let me = s.userID.uuidString + "|" + s.name
            do { try FourEyes.check(by: s.userID.uuidString, other: (check == .content ? a.calcCheckBy : a.contentCheckBy)?.split(separator: "|").first.map(String.init)) } catch let error as FourEyes.Refusal {
                throw conflict("four_eyes", error.description, error.english)
            }
            if check == .content { a.contentCheckBy = me; a.contentCheckNote = note } else { a.calcCheckBy = me; a.calcCheckNote = note }
            a.updatedAt = Date()
            try await a.save(on: db)
            try await audit(db, actor, a, "check.\(check.rawValue)", before: nil, after: "\(check.rawValue) geprüft von \(s.name)\(note.isEmpty ? "" : ": \(note)")")
        }
    }

    static func query(_ app: Application, id: UUID, text: String, due: String, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let next = try step(a, .query)
            a.status = next.rawValue; a.queryText = text; a.queryDueOn = due; a.updatedAt = Date()
            try await a.save(on: db)
            let letter = try await FundingDocuments.letter(a, kind: .query, text: text + "\n\nBitte antworten Sie bis zum \(CalendarDay.display(due)).", clerk: actor.staff?.name ?? "", on: db, app: app)
            _ = try await post(db, app: app, a: a, direction: "land", kind: "rueckfrage", sender: "Bewilligungsbehörde", subject: "Rückfrage (Antwort bis \(CalendarDay.display(due)))",
                               body: text, file: letter, mailTo: [a.contactEmail])
            try await audit(db, actor, a, "query", before: FundingStatus.submitted.rawValue, after: "Rückfrage bis \(due): \(text)")
        }
    }

    static func requestChanges(_ app: Application, id: UUID, text: String, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let next = try step(a, .requestChanges)
            let before = a.status
            a.status = next.rawValue; a.updatedAt = Date(); a.contentCheckBy = nil; a.calcCheckBy = nil
            try await a.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "land", kind: "nachbesserung", sender: "Bewilligungsbehörde", subject: "Bitte überarbeiten Sie den Antrag",
                               body: text, mailTo: [a.contactEmail])
            try await audit(db, actor, a, "changes_requested", before: before, after: "\(next.rawValue): \(text)")
        }
    }

    static func setScore(_ app: Application, id: UUID, score: Int?, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let before = a.score.map(String.init)
            a.score = score; a.updatedAt = Date()
            try await a.save(on: db)
            try await audit(db, actor, a, "score", before: before, after: score.map(String.init) ?? "ohne Punktzahl")
        }
    }

    struct Decision: Sendable {
        var lines: [(BudgetKey, Int64)]
        var text: String
        var conditions: String
        var legalRemedy: String
        var proofDue: String
    }

    /// Approval (full or partial): checked against the budget of every year and source inside the
    /// programme lock; the Bescheid is written, stored and put into the case's postbox in the same
    /// transaction.
    static func approve(_ app: Application, id: UUID, decision d: Decision, actor: Principal, now: Date = Date()) async throws {
        guard let first = try await FundingApplication.find(id, on: app.db) else { throw AppError.notFound }
        try await app.writeTransaction { db in
            _ = try await lockBudget(db, first.programmeID)
            let a = try await load(db, id)
            let next = try step(a, .approve)
            do { try FourEyes.decide(contentBy: a.contentCheckBy?.split(separator: "|").first.map(String.init),
                                     calcBy: a.calcCheckBy?.split(separator: "|").first.map(String.init)) } catch let error as FourEyes.Refusal {
                throw conflict("four_eyes", error.description, error.english)
            }
            let total = d.lines.reduce(Int64(0)) { $0 + $1.1 }
            guard total > 0 else {
                throw AppError(.unprocessableEntity, "funding.amount", de: "Bitte geben Sie den bewilligten Betrag je Haushaltsjahr an.", en: "Please enter the approved amount per budget year.")
            }
            guard total <= a.requestedCents else {
                throw AppError(.unprocessableEntity, "funding.amount_high",
                               de: "Bewilligt werden können höchstens die beantragten \(Money(cents: a.requestedCents).formattedDE) (eingegeben: \(Money(cents: total).formattedDE)).",
                               en: "At most the requested \(Money(cents: a.requestedCents).formattedEN) can be approved.")
            }
            let positions = Ledger.positions(try await bookings(db, programme: a.programmeID))
            let short = Ledger.shortfalls(positions, commit: d.lines)
            if let s = short.first {
                throw AppError(.conflict, "funding.budget", de: short.map(\.description).joined(separator: " "), en: s.english)
            }
            for (k, c) in d.lines {
                try await book(db, programme: a.programmeID, key: k, kind: .commit, cents: c, application: id, note: "Bewilligung \(a.reference)", actor: actor.auditActor)
            }
            a.status = next.rawValue; a.decisionText = d.text; a.conditions = d.conditions; a.legalRemedy = d.legalRemedy; a.proofDueOn = d.proofDue
            a.decidedAt = now; a.updatedAt = now
            try await a.save(on: db)
            let partial = total < a.requestedCents
            let pdf = try await FundingDocuments.bescheid(a, lines: d.lines, partial: partial, clerk: actor.staff?.name ?? "", on: db, app: app)
            let partners = try await FundingPartner.query(on: db).filter(\.$applicationID == id).all()
            var mails = [a.contactEmail]
            for p in partners { mails += try await people(db, role: .signatory, tenant: p.tenantARS).map(\.email) }
            _ = try await post(db, app: app, a: a, direction: "land", kind: "bescheid", sender: "Bewilligungsbehörde",
                               subject: partial ? "Zuwendungsbescheid (teilweise Bewilligung)" : "Zuwendungsbescheid", body: "Bewilligt: \(Money(cents: total).formattedDE). Der Bescheid liegt als PDF bei.",
                               file: pdf, mailTo: mails)
            try await audit(db, actor, a, "approved", before: FundingStatus.submitted.rawValue,
                            after: "bewilligt \(Money(cents: total).formattedDE) (" + d.lines.map { "\($0.0.year) \($0.0.source.short): \(Money(cents: $0.1).formattedDE)" }.joined(separator: ", ") + ")")
        }
    }

    static func reject(_ app: Application, id: UUID, reason: String, legalRemedy: String, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let next = try step(a, .reject)
            let before = a.status
            a.status = next.rawValue; a.decisionText = reason; a.legalRemedy = legalRemedy; a.decidedAt = Date(); a.updatedAt = Date()
            try await a.save(on: db)
            let pdf = try await FundingDocuments.letter(a, kind: .rejection, text: reason, clerk: actor.staff?.name ?? "", on: db, app: app)
            _ = try await post(db, app: app, a: a, direction: "land", kind: "ablehnung", sender: "Bewilligungsbehörde", subject: "Ablehnung des Förderantrags",
                               body: reason, file: pdf, mailTo: [a.contactEmail])
            try await audit(db, actor, a, "rejected", before: before, after: "\(next.rawValue): \(reason)")
        }
    }

    // MARK: early start

    static func requestEarlyStart(_ app: Application, id: UUID, from: String, reason: String, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            guard !a.state.isApproved, a.state != .rejected, a.state != .withdrawn else {
                throw conflict("early_state", "Ein vorzeitiger Maßnahmebeginn kann nur vor der Bewilligung beantragt werden.", "An early start can only be requested before the approval.")
            }
            guard a.earlyStartStatus != "genehmigt" else {
                throw conflict("early_done", "Der vorzeitige Maßnahmebeginn ist bereits genehmigt.", "The early start is already approved.")
            }
            a.earlyStartStatus = "beantragt"; a.earlyStartFrom = from; a.earlyStartReason = reason; a.updatedAt = Date()
            try await a.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "kommune", kind: "hinweis", sender: actor.staff?.name ?? actor.auditActor,
                               subject: "Antrag auf vorzeitigen Maßnahmebeginn ab \(CalendarDay.display(from))", body: reason)
            try await audit(db, actor, a, "early_start.requested", before: nil, after: "ab \(from): \(reason)")
        }
    }

    static func decideEarlyStart(_ app: Application, id: UUID, approve: Bool, note: String, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            guard a.earlyStartStatus == "beantragt" else {
                throw conflict("early_none", "Es liegt kein offener Antrag auf vorzeitigen Maßnahmebeginn vor.", "There is no open request for an early start.")
            }
            a.earlyStartStatus = approve ? "genehmigt" : "abgelehnt"; a.updatedAt = Date()
            try await recompute(db, a)
            try await a.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "land", kind: "hinweis", sender: "Bewilligungsbehörde",
                               subject: approve ? "Vorzeitiger Maßnahmebeginn ab \(CalendarDay.display(a.earlyStartFrom)) genehmigt" : "Vorzeitiger Maßnahmebeginn abgelehnt",
                               body: (approve ? "Die Genehmigung begründet keinen Anspruch auf eine Förderung. " : "") + note, mailTo: [a.contactEmail])
            try await audit(db, actor, a, "early_start.decided", before: "beantragt", after: "\(a.earlyStartStatus)\(note.isEmpty ? "" : ": \(note)")")
        }
    }

    // MARK: money out

    /// A Mittelabruf with its evidence: invoices of the tenant that were released for payment,
    /// each usable for one project only (unique index; 409 with the project that holds it).
    static func requestPayout(_ app: Application, id: UUID, key: BudgetKey, cents: Int64, invoices: [UUID], actor: Principal) async throws -> UUID {
        guard let first = try await FundingApplication.find(id, on: app.db) else { throw AppError.notFound }
        return try await app.writeTransaction { db in
            _ = try await lockBudget(db, first.programmeID)
            let a = try await load(db, id)
            guard a.state == .approved else {
                throw conflict("payout_state", "Mittel können nur für einen bewilligten Antrag abgerufen werden, vor dem Verwendungsnachweis.",
                               "Funds can only be called off for an approved application before the proof of use.")
            }
            let line = Ledger.caseLines(try await caseBookings(db, application: id)).first { $0.key == key } ?? CaseLine(key: key)
            let pending = try await FundingPayout.query(on: db).filter(\.$applicationID == id).filter(\.$status == "beantragt")
                .filter(\.$year == key.year).filter(\.$source == key.source.rawValue).all().reduce(Int64(0)) { $0 + $1.cents }
            let left = line.payable - pending
            guard cents > 0, cents <= left else {
                throw AppError(.conflict, "funding.payout_high",
                               de: "Für \(key.year) (\(key.source.short)) können noch höchstens \(Money(cents: max(0, left)).formattedDE) abgerufen werden.",
                               en: "At most \(Money(cents: max(0, left)).formattedEN) can still be called off for \(key.year).")
            }
            let invs = invoices.isEmpty ? [] : try await EInvoice.query(on: db).filter(\.$id ~~ invoices).all()
            guard invs.count == Set(invoices).count, invs.allSatisfy({ $0.tenantARS == a.tenantARS }) else { throw AppError.notFound }
            if let notPaid = invs.first(where: { $0.status != InvoiceStatus.released.rawValue }) {
                throw conflict("invoice_state", "Die Rechnung \(notPaid.invoiceNumber) von \(notPaid.sellerName) ist noch nicht zur Zahlung freigegeben.",
                               "Invoice \(notPaid.invoiceNumber) has not been released for payment yet.")
            }
            let used = invoices.isEmpty ? [] : try await FundingInvoiceLink.query(on: db).filter(\.$invoiceID ~~ invoices).all()
            if let u = used.first, let inv = invs.first(where: { $0.id == u.invoiceID }) {
                let other = try await FundingApplication.find(u.applicationID, on: db)
                throw conflict("invoice_used", "Die Rechnung \(inv.invoiceNumber) von \(inv.sellerName) ist bereits als Nachweis für \(other?.reference ?? "einen anderen Antrag") verwendet; jede Rechnung zählt nur für ein Projekt.",
                               "Invoice \(inv.invoiceNumber) is already used as evidence for \(other?.reference ?? "another application"); each invoice counts for one project only.")
            }
            let p = FundingPayout()
            p.id = UUID()
            p.applicationID = id; p.tenantARS = a.tenantARS; p.year = key.year; p.source = key.source.rawValue; p.cents = cents; p.status = "beantragt"
            p.requestedBy = actor.staff?.name ?? actor.auditActor; p.requestedAt = Date(); p.note = ""
            try await p.create(on: db)
            for inv in invs {
                let l = FundingInvoiceLink()
                l.invoiceID = try inv.requireID(); l.applicationID = id; l.payoutID = try p.requireID(); l.tenantARS = a.tenantARS
                l.cents = inv.totalCents; l.createdAt = Date()
                try await l.create(on: db)
            }
            _ = try await post(db, app: app, a: a, direction: "kommune", kind: "hinweis", sender: p.requestedBy,
                               subject: "Mittelabruf über \(Money(cents: cents).formattedDE) (\(key.year))",
                               body: "Die Mittel werden innerhalb von zwei Monaten nach Auszahlung für fällige Zahlungen benötigt. Nachweise: " +
                                (invs.isEmpty ? "keine" : invs.map { "\($0.sellerName), Nr. \($0.invoiceNumber), \(Money(cents: $0.totalCents).formattedDE)" }.joined(separator: "; ")))
            try await audit(db, actor, a, "payout.requested", before: nil, after: "\(key.year) \(key.source.short): \(Money(cents: cents).formattedDE), \(invs.count) Rechnungen")
            return try p.requireID()
        }
    }

    /// The Land releases (or refuses) a payout; the ledger gets the payout line.
    static func decidePayout(_ app: Application, payoutID: UUID, release: Bool, note: String, actor: Principal) async throws {
        guard let p0 = try await FundingPayout.find(payoutID, on: app.db), let a0 = try await FundingApplication.find(p0.applicationID, on: app.db) else { throw AppError.notFound }
        try await app.writeTransaction { db in
            _ = try await lockBudget(db, a0.programmeID)
            guard let p = try await FundingPayout.find(payoutID, on: db), p.status == "beantragt" else {
                throw conflict("payout_done", "Über diesen Mittelabruf ist bereits entschieden.", "This call-off has already been decided.")
            }
            let a = try await load(db, p.applicationID)
            guard let source = FundingSource(rawValue: p.source) else { throw AppError.notFound }
            let key = BudgetKey(year: p.year, source: source)
            if release {
                let line = Ledger.caseLines(try await caseBookings(db, application: p.applicationID)).first { $0.key == key } ?? CaseLine(key: key)
                guard p.cents <= line.payable else {
                    throw conflict("payout_high", "Die Auszahlung würde den bewilligten Betrag für \(p.year) übersteigen (offen: \(Money(cents: line.payable).formattedDE)).",
                                   "The payout would exceed the approved amount for \(p.year).")
                }
                try await book(db, programme: a.programmeID, key: key, kind: .payout, cents: p.cents, application: p.applicationID, payout: payoutID,
                               note: "Auszahlung \(a.reference)", actor: actor.auditActor)
            } else {
                // a refused call-off frees its invoices for a new one
                try await FundingInvoiceLink.query(on: db).filter(\.$payoutID == payoutID).delete()
            }
            p.status = release ? "ausgezahlt" : "abgelehnt"; p.releasedBy = actor.staff?.name ?? actor.auditActor; p.releasedAt = Date(); p.note = note
            try await p.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "land", kind: "hinweis", sender: "Bewilligungsbehörde",
                               subject: release ? "Auszahlung über \(Money(cents: p.cents).formattedDE) freigegeben" : "Mittelabruf abgelehnt", body: note, mailTo: [a.contactEmail])
            try await audit(db, actor, a, release ? "payout.released" : "payout.refused", before: "beantragt",
                            after: "\(p.year) \(source.short): \(Money(cents: p.cents).formattedDE)\(note.isEmpty ? "" : ", \(note)")")
        }
    }

    // MARK: proof of use and closing

    static func submitProof(_ app: Application, id: UUID, report: String, costsCents: Int64, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let next = try step(a, .submitProof)
            a.status = next.rawValue; a.proofReport = report; a.proofCostsCents = costsCents; a.updatedAt = Date()
            try await a.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "kommune", kind: "nachweis", sender: actor.staff?.name ?? actor.auditActor,
                               subject: "Verwendungsnachweis eingereicht", body: "Zuwendungsfähige Ausgaben laut Nachweis: \(Money(cents: costsCents).formattedDE)\n\n\(report)")
            try await audit(db, actor, a, "proof.submitted", before: FundingStatus.approved.rawValue, after: "Ausgaben \(Money(cents: costsCents).formattedDE)")
        }
    }

    /// Checks the proof: the final grant is the rule applied to the recognised costs; unpaid
    /// commitments are released and what was paid beyond it is reclaimed (`Settlement`).
    static func close(_ app: Application, id: UUID, recognisedCents: Int64, note: String, actor: Principal) async throws -> Settlement {
        guard let first = try await FundingApplication.find(id, on: app.db) else { throw AppError.notFound }
        return try await app.writeTransaction { db in
            _ = try await lockBudget(db, first.programmeID)
            let a = try await load(db, id)
            let next = try step(a, .close)
            guard let c = try await FundingCategory.find(a.categoryID, on: db) else { throw AppError.notFound }
            let open = try await FundingPayout.query(on: db).filter(\.$applicationID == id).filter(\.$status == "beantragt").count()
            if open > 0 {
                throw conflict("payout_open", "Vor dem Abschluss muss über alle Mittelabrufe entschieden sein.", "All call-offs must be decided before closing.")
            }
            let grant = FundingCalculation.grant(c.rule, eligibleCents: recognisedCents, units: a.units, otherFundingCents: a.otherFundingCents)
            let lines = Ledger.caseLines(try await caseBookings(db, application: id))
            let s = Settlement.settle(lines, finalGrant: grant)
            for (k, v) in s.releases { try await book(db, programme: a.programmeID, key: k, kind: .release, cents: v, application: id, note: "Abschluss \(a.reference)", actor: actor.auditActor) }
            for (k, v) in s.refunds { try await book(db, programme: a.programmeID, key: k, kind: .refund, cents: v, application: id, note: "Rückforderung \(a.reference)", actor: actor.auditActor) }
            a.status = next.rawValue; a.finalGrantCents = s.finalGrant; a.reclaimCents = s.reclaimCents; a.updatedAt = Date()
            try await a.save(on: db)
            let pdf = try await FundingDocuments.closing(a, recognised: recognisedCents, settlement: s, note: note, clerk: actor.staff?.name ?? "", on: db, app: app)
            _ = try await post(db, app: app, a: a, direction: "land", kind: "bescheid", sender: "Bewilligungsbehörde",
                               subject: s.reclaimCents > 0 ? "Prüfung des Verwendungsnachweises: Rückforderung \(Money(cents: s.reclaimCents).formattedDE)" : "Prüfung des Verwendungsnachweises abgeschlossen",
                               body: note, file: pdf, mailTo: [a.contactEmail])
            try await audit(db, actor, a, "closed", before: FundingStatus.proofSubmitted.rawValue,
                            after: "anerkannt \(Money(cents: recognisedCents).formattedDE), Zuwendung \(Money(cents: s.finalGrant).formattedDE), Rückforderung \(Money(cents: s.reclaimCents).formattedDE)")
            return s
        }
    }

    static func returnProof(_ app: Application, id: UUID, note: String, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            let next = try step(a, .returnProof)
            a.status = next.rawValue; a.updatedAt = Date()
            try await a.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "land", kind: "nachbesserung", sender: "Bewilligungsbehörde", subject: "Verwendungsnachweis bitte ergänzen", body: note, mailTo: [a.contactEmail])
            try await audit(db, actor, a, "proof.returned", before: FundingStatus.proofSubmitted.rawValue, after: note)
        }
    }

    // MARK: changes after approval

    static func requestChange(_ app: Application, id: UUID, key: BudgetKey, newCents: Int64, newEnd: String, reason: String, actor: Principal) async throws {
        try await app.writeTransaction { db in
            let a = try await load(db, id)
            guard a.state == .approved else {
                throw conflict("change_state", "Ein Änderungsantrag ist nach der Bewilligung und vor dem Verwendungsnachweis möglich.", "A change request is possible after approval and before the proof of use.")
            }
            let open = try await FundingChange.query(on: db).filter(\.$applicationID == id).filter(\.$status == "beantragt").count()
            guard open == 0 else { throw conflict("change_open", "Es liegt bereits ein offener Änderungsantrag vor.", "There is already an open change request.") }
            let c = FundingChange()
            c.applicationID = id; c.tenantARS = a.tenantARS; c.reason = reason; c.newEndsOn = newEnd; c.year = key.year; c.source = key.source.rawValue
            c.newCents = newCents; c.status = "beantragt"; c.requestedBy = actor.staff?.name ?? actor.auditActor; c.createdAt = Date(); c.decisionNote = ""
            try await c.create(on: db)
            _ = try await post(db, app: app, a: a, direction: "kommune", kind: "hinweis", sender: c.requestedBy, subject: "Änderungsantrag", body: reason)
            try await audit(db, actor, a, "change.requested", before: nil, after: "\(key.year) \(key.source.short) → \(Money(cents: newCents).formattedDE), Ende \(newEnd): \(reason)")
        }
    }

    /// An approved change is booked like an approval: an increase must fit the budget of its year.
    static func decideChange(_ app: Application, changeID: UUID, approve: Bool, note: String, actor: Principal) async throws {
        guard let c0 = try await FundingChange.find(changeID, on: app.db), let a0 = try await FundingApplication.find(c0.applicationID, on: app.db) else { throw AppError.notFound }
        try await app.writeTransaction { db in
            _ = try await lockBudget(db, a0.programmeID)
            guard let c = try await FundingChange.find(changeID, on: db), c.status == "beantragt" else {
                throw conflict("change_done", "Über diesen Änderungsantrag ist bereits entschieden.", "This change request has already been decided.")
            }
            let a = try await load(db, c.applicationID)
            guard let source = FundingSource(rawValue: c.source) else { throw AppError.notFound }
            let key = BudgetKey(year: c.year, source: source)
            if approve {
                guard a.state == .approved else { throw conflict("change_state", "Der Antrag ist nicht mehr im Status „bewilligt“.", "The application is no longer approved.") }
                let line = Ledger.caseLines(try await caseBookings(db, application: a.requireID())).first { $0.key == key } ?? CaseLine(key: key)
                let delta = c.newCents - line.committed
                if delta > 0 {
                    let short = Ledger.shortfalls(Ledger.positions(try await bookings(db, programme: a.programmeID)), commit: [(key, delta)])
                    if let s = short.first { throw AppError(.conflict, "funding.budget", de: s.description, en: s.english) }
                    try await book(db, programme: a.programmeID, key: key, kind: .commit, cents: delta, application: a.id, note: "Änderung \(a.reference)", actor: actor.auditActor)
                } else if delta < 0 {
                    guard c.newCents >= line.paid else {
                        throw conflict("change_below_paid", "Der neue Betrag liegt unter dem bereits ausgezahlten (\(Money(cents: line.paid).formattedDE)).", "The new amount is below what was paid out.")
                    }
                    try await book(db, programme: a.programmeID, key: key, kind: .release, cents: -delta, application: a.id, note: "Änderung \(a.reference)", actor: actor.auditActor)
                }
                if !c.newEndsOn.isEmpty { a.endsOn = c.newEndsOn }
                a.updatedAt = Date()
                try await a.save(on: db)
            }
            c.status = approve ? "genehmigt" : "abgelehnt"; c.decidedBy = actor.staff?.name ?? actor.auditActor; c.decisionNote = note
            try await c.save(on: db)
            _ = try await post(db, app: app, a: a, direction: "land", kind: "hinweis", sender: "Bewilligungsbehörde",
                               subject: approve ? "Änderungsantrag genehmigt" : "Änderungsantrag abgelehnt", body: note, mailTo: [a.contactEmail])
            try await audit(db, actor, a, approve ? "change.approved" : "change.refused", before: "beantragt", after: "\(c.year) \(source.short) → \(Money(cents: c.newCents).formattedDE)")
        }
    }
}
