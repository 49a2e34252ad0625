import Fluent
import Vapor
import RathausCore

/// Participation fees through the payment hub. The payee is the Land, whose competence centre
/// runs the events; its cash office (role `kasse` for the Land's key) sees and refunds them at
/// `/mandanten/16/kasse` like any tenant's payments.
enum EventFees {
    static let payeeARS = "16"

    /// Payments of registrations by id, for status columns.
    static func payments(_ regs: [EventRegistration], on db: any Database) async throws -> [UUID: Payment] {
        let ids = regs.compactMap(\.paymentID)
        guard !ids.isEmpty else { return [:] }
        return Dictionary(try await Payment.query(on: db).filter(\.$id ~~ ids).all().compactMap { p in p.id.map { ($0, p) } }, uniquingKeysWith: { a, _ in a })
    }

    static func statusLabel(_ p: Payment?, english: Bool) -> String {
        switch p.flatMap({ PaymentStatus(rawValue: $0.status) }) {
        case .payed?: english ? "paid" : "bezahlt"
        case .failed?, .canceled?: english ? "not paid (attempt failed)" : "nicht bezahlt (Versuch abgebrochen)"
        case .initial?: english ? "payment started" : "Zahlung begonnen"
        case nil: english ? "open" : "offen"
        }
    }

    /// Starts (or resumes) the payment of a confirmed registration's fee; returns the payer's page.
    static func pay(_ req: Request, registrationID: UUID) async throws -> String {
        guard let s = req.principal.staff else { throw AppError.unauthenticated }
        guard let r = try await EventRegistration.find(registrationID, on: req.db), r.userID == s.userID else { throw AppError.notFound }
        guard let e = try await TrainingEvent.find(r.eventID, on: req.db), e.feeCents > 0, r.status == "confirmed" else {
            throw AppError(.conflict, "event.no_fee", de: "Für diese Anmeldung ist keine Gebühr zu bezahlen.", en: "There is no fee to pay for this registration.")
        }
        if let pid = r.paymentID, let p = try await Payment.find(pid, on: req.db) {
            if p.status == PaymentStatus.payed.rawValue { return "/veranstaltungen/meine" }
            if p.status == PaymentStatus.initial.rawValue, p.expiresAt > Date() { return PaymentService.payerPath(p) }
        }
        let settings = try await PaymentSettings.forTenant(payeeARS, on: req.db)
        let title = String(e.title.prefix(250))
        let item = XBezahldiensteRules.CheckedItem(description: title, quantity: 1, taxRateBasisPoints: 0, singleNetCents: e.feeCents,
                                                   singleTaxCents: 0, totalCents: e.feeCents, bookingData: [:])
        let (p, _) = try await PaymentService.create(
            .init(tenantARS: payeeARS, endpointID: nil, originator: "rathaus", endpoint: "veranstaltung", requestID: nil, requestHash: "",
                  purpose: "Teilnahmegebühr", description: title, amountCents: e.feeCents, items: [item],
                  redirectURL: req.application.rathaus.publicURL + "/veranstaltungen/meine?zahlung=1", antragID: nil,
                  provider: settings.provider ?? "test", booking: (e.feeHaushaltsstelle, "", ""), expiresIn: nil),
            app: req.application, actor: req.principal.auditActor, actorID: req.principal.actorID)
        let pid = try p.requireID()
        let actor = req.principal
        try await req.application.writeTransaction { db in
            guard let r = try await EventRegistration.find(registrationID, on: db) else { throw AppError.notFound }
            r.paymentID = pid
            r.updatedAt = Date()
            try await r.save(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: r.tenantARS, action: "event.fee", objectType: "event_registration",
                                   objectID: registrationID.uuidString, before: nil, after: "Zahlung \(p.kassenzeichen) über \(Money(cents: e.feeCents).formattedDE)")
        }
        return PaymentService.payerPath(p)
    }
}
