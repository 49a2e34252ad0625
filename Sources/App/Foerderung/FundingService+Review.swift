import Fluent
import SQLKit
import Vapor
import Funding
import RathausCore

/// The Land's side of the workflow: the two checks, queries, changes requested, score,
/// approval within the budget, rejection, and the early start decision.
extension FundingService {
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
}
