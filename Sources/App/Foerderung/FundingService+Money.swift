import Fluent
import SQLKit
import Vapor
import Funding
import RathausCore

/// Money after the approval: call-offs with their invoices, payouts, the proof of use with
/// settlement and reclaim, and change requests (re-checked against the budget).
extension FundingService {
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
