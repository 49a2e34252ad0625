import Crypto
import NIOCore
import Fluent
import SQLKit
import Vapor
import RathausCore

/// What a payment provider (ePayBL, epay21, pmPayment, a card acquirer, or the built-in test
/// provider) must do. Chosen per endpoint by configuration; the hub never trusts the browser's
/// return: the status always comes from `status` or a verified callback.
protocol PaymentProvider: Sendable {
    var id: String { get }
    /// Registers the payment with the provider; returns its reference and the page the payer opens.
    func initiate(_ p: Payment, returnURL: String, on db: any Database) async throws -> (ref: String, payerURL: String)
    /// Asks the provider for the state of a payment (status poll, expiry, crash recovery).
    func status(ref: String, on db: any Database) async throws -> (status: PaymentStatus, method: String)
    /// Pays back (part of) a payment; returns the provider's refund reference.
    func refund(ref: String, cents: Int64, on db: any Database) async throws -> String
}

struct PaymentProvidersKey: StorageKey { typealias Value = [String: any PaymentProvider] }

extension Application {
    var paymentProviders: [String: any PaymentProvider] {
        // the test provider moves no money: only in demo mode and tests, never in production
        get { storage[PaymentProvidersKey.self] ?? ((rathaus.demo || environment == .testing) ? ["test": TestPaymentProvider()] : [:]) }
        set { storage[PaymentProvidersKey.self] = newValue }
    }

    func paymentProvider(_ id: String) throws -> any PaymentProvider {
        guard let p = paymentProviders[id] else {
            throw AppError(.internalServerError, "zahlung.provider", de: "Der Zahlungsdienstleister „\(id)“ ist nicht eingerichtet.", en: "Payment provider not configured.")
        }
        return p
    }
}

/// The built-in test provider: its own ledger in the database and hosted pages at
/// `/bezahlen/test/{ref}` (pay, decline, cancel, or leave unfinished), so a whole journey works offline.
struct TestPaymentProvider: PaymentProvider {
    let id = "test"

    func initiate(_ p: Payment, returnURL: String, on db: any Database) async throws -> (ref: String, payerURL: String) {
        let ref = "T" + (p.id?.uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased() ?? UUID().uuidString)
        if try await TestProviderTransaction.query(on: db).filter(\.$ref == ref).first() == nil {
            let t = TestProviderTransaction()
            t.ref = ref; t.amountCents = p.amountCents; t.status = PaymentStatus.initial.rawValue; t.method = ""; t.returnURL = returnURL; t.updatedAt = Date()
            try await t.create(on: db)
        }
        return (ref, "/bezahlen/test/\(ref)")
    }

    func status(ref: String, on db: any Database) async throws -> (status: PaymentStatus, method: String) {
        guard let t = try await TestProviderTransaction.query(on: db).filter(\.$ref == ref).first() else { return (.initial, "") }
        return (PaymentStatus(rawValue: t.status) ?? .initial, t.method)
    }

    func refund(ref: String, cents: Int64, on db: any Database) async throws -> String { "R-\(ref)-\(UUID().uuidString.prefix(8))" }

    /// The provider's callback signature (a real provider's key comes from configuration).
    static let key = SymmetricKey(data: Data("rathaus-test-zahlung-nicht-fuer-produktion".utf8))
    static func sign(_ s: String) -> String {
        Signature.hmac(Data(s.utf8), key: key)
    }
}

enum PaymentService {
    struct NewPayment: Sendable {
        var tenantARS: String
        var endpointID: UUID?
        var originator: String
        var endpoint: String
        var requestID: String?
        var requestHash: String
        var purpose: String
        var description: String
        var amountCents: Int64
        var items: [XBezahldiensteRules.CheckedItem]
        var redirectURL: String
        var antragID: UUID?
        var provider: String
        var booking: (haushaltsstelle: String, kostentraeger: String, objektnummer: String)
        /// Payment requests after a decision stay open for days; default: the tenant's setting.
        var expiresIn: TimeInterval? = nil
    }

    static func fail(_ status: HTTPResponseStatus, _ code: String, _ de: String, field: String? = nil) -> AppError {
        AppError(status, code, de: de, en: de, field: field)
    }

    /// Creates a payment (Kassenzeichen from the tenant's sequence) and registers it with the provider.
    /// The same requestId with the same request returns the existing payment (`created == false`);
    /// with a different request it is PAYMENT_EXISTS.
    static func create(_ n: NewPayment, app: Application, actor: String, actorID: String?) async throws -> (Payment, Bool) {
        for item in n.items where (item.bookingData["haushaltsstelle"] ?? n.booking.haushaltsstelle).isEmpty {
            throw fail(.unprocessableEntity, "BOOKING_DATA_MISSING", "Für „\(item.description)“ fehlt die Haushaltsstelle; die Kasse kann die Zahlung sonst nicht buchen. Bitte geben Sie bookingData.haushaltsstelle an oder hinterlegen Sie sie am Endpunkt.", field: "items")
        }
        if let rid = n.requestID, let existing = try await Payment.query(on: app.db).filter(\.$originator == n.originator)
            .filter(\.$endpoint == n.endpoint).filter(\.$requestID == rid).first() {
            guard existing.requestHash == n.requestHash else {
                throw fail(.conflict, "PAYMENT_EXISTS", "Zur requestId „\(rid)“ gibt es bereits eine andere Zahlung.", field: "requestId")
            }
            return (existing, false)
        }
        let settings = try await PaymentSettings.forTenant(n.tenantARS, on: app.db)
        let payment: Payment
        do {
            payment = try await app.writeTransaction { db in
                let seq = try await Sequences.next("kassenzeichen-\(n.tenantARS)", on: db)
                let kz = try Kassenzeichen.make(prefix: settings.prefix, sequence: seq)
                let p = Payment()
                p.id = UUID()
                p.tenantARS = n.tenantARS; p.endpointID = n.endpointID; p.originator = n.originator; p.endpoint = n.endpoint
                p.requestID = n.requestID; p.requestHash = n.requestHash; p.kassenzeichen = kz.value; p.purpose = n.purpose; p.description = n.description
                p.amountCents = n.amountCents; p.currency = "EUR"; p.status = PaymentStatus.initial.rawValue; p.statusDetail = ""; p.paymentMethod = ""
                p.provider = n.provider; p.providerRef = ""; p.redirectURL = n.redirectURL; p.antragID = n.antragID; p.refundedCents = 0
                p.createdAt = Date(); p.updatedAt = Date(); p.expiresAt = Date().addingTimeInterval(n.expiresIn ?? TimeInterval(settings.expiryMinutes * 60))
                try await p.create(on: db)
                for (i, it) in n.items.enumerated() {
                    let row = PaymentItem()
                    row.paymentID = p.id!; row.position = i + 1; row.description = it.description; row.quantity = it.quantity
                    row.taxRateBasisPoints = it.taxRateBasisPoints; row.singleNetCents = it.singleNetCents; row.singleTaxCents = it.singleTaxCents
                    row.totalCents = it.totalCents
                    row.haushaltsstelle = it.bookingData["haushaltsstelle"] ?? n.booking.haushaltsstelle
                    row.kostentraeger = it.bookingData["kostentraeger"] ?? n.booking.kostentraeger
                    row.objektnummer = it.bookingData["objektnummer"] ?? n.booking.objektnummer
                    try await row.create(on: db)
                }
                try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: n.tenantARS, action: "zahlung.create", objectType: "zahlung",
                                       objectID: kz.value, before: nil, after: "\(Money(cents: n.amountCents).formattedDE), \(n.originator)/\(n.endpoint)")
                return p
            }
        } catch let e as AppError { throw e } catch {
            // a parallel request with the same requestId won the unique index
            if let rid = n.requestID, let existing = try await Payment.query(on: app.db).filter(\.$originator == n.originator)
                .filter(\.$endpoint == n.endpoint).filter(\.$requestID == rid).first() {
                guard existing.requestHash == n.requestHash else {
                    throw fail(.conflict, "PAYMENT_EXISTS", "Zur requestId „\(rid)“ gibt es bereits eine andere Zahlung.", field: "requestId")
                }
                return (existing, false)
            }
            throw error
        }
        let provider = try app.paymentProvider(n.provider)
        do {
            let (ref, _) = try await provider.initiate(payment, returnURL: n.redirectURL, on: app.db)
            payment.providerRef = ref
            try await payment.save(on: app.db)
        } catch {
            // the provider did not take the payment: it fails visibly instead of waiting for expiry
            try await apply(paymentID: try payment.requireID(), status: .failed, method: "", detail: "Zahlungsdienst nicht erreichbar", provider: n.provider,
                            eventID: "initiate-\(payment.id?.uuidString ?? "")", app: app, actor: "system:zahlungen")
            throw fail(.serviceUnavailable, "PROVIDER_UNAVAILABLE", "Der Zahlungsdienst ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Minuten erneut.")
        }
        return (payment, true)
    }

    /// The payer's page on this server (for redirects of the platform's own services).
    static func payerPath(_ p: Payment) -> String {
        p.provider == "test" ? "/bezahlen/test/\(p.providerRef)" : "/bezahlen/\(p.id?.uuidString ?? "")"
    }

    /// A payment for an application of an online service (fee before sending, or requested after
    /// the decision): one item over the fee, booking data from the activation, else the tenant's.
    static func createForCase(_ a: Antrag, cents: Int64, purpose: String, returnTo: String, expiresIn: TimeInterval? = nil,
                              app: Application, actor: String, actorID: String?) async throws -> Payment {
        let act = try await ServiceActivation.of(a.tenantARS, a.slug, on: app.db)
        let settings = try await PaymentSettings.forTenant(a.tenantARS, on: app.db)
        func pick(_ v: String?, _ fallback: String) -> String { (v?.isEmpty == false ? v : nil) ?? fallback }
        let item = XBezahldiensteRules.CheckedItem(description: a.serviceTitle, quantity: 1, taxRateBasisPoints: 0, singleNetCents: cents,
                                                   singleTaxCents: 0, totalCents: cents, bookingData: [:])
        let (p, _) = try await create(
            .init(tenantARS: a.tenantARS, endpointID: nil, originator: "rathaus", endpoint: "onlinedienst-\(a.slug)", requestID: nil, requestHash: "",
                  purpose: String(purpose.prefix(27)), description: a.serviceTitle, amountCents: cents, items: [item], redirectURL: returnTo,
                  antragID: try a.requireID(), provider: settings.provider ?? "test",
                  booking: (pick(act?.haushaltsstelle, settings.haushaltsstelle), pick(act?.kostentraeger, settings.kostentraeger),
                            pick(act?.objektnummer, settings.objektnummer)), expiresIn: expiresIn),
            app: app, actor: actor, actorID: actorID)
        return p
    }

    static func payerURL(_ p: Payment, app: Application) -> String {
        p.provider == "test" ? "\(app.rathaus.publicURL)/bezahlen/test/\(p.providerRef)" : "\(app.rathaus.publicURL)/bezahlen/\(p.id?.uuidString ?? "")"
    }

    /// Applies a provider's statement about a payment, exactly once per (provider, event id).
    /// Final states never change; a late or out-of-order message is recorded and ignored.
    @discardableResult
    static func apply(paymentID: UUID, status target: PaymentStatus, method: String, detail: String, provider: String, eventID: String,
                      app: Application, actor: String) async throws -> Payment {
        if try await PaymentEvent.query(on: app.db).filter(\.$provider == provider).filter(\.$eventID == eventID).first() != nil {
            guard let p = try await Payment.find(paymentID, on: app.db) else { throw AppError.notFound }
            return p
        }
        do {
            return try await app.writeTransaction { db in
                if let sql = db as? any SQLDatabase, sql.dialect.name == "postgresql" {
                    try await sql.raw("SELECT id FROM payments WHERE id = \(bind: paymentID) FOR UPDATE").run()
                }
                guard let p = try await Payment.find(paymentID, on: db) else { throw AppError.notFound }
                let e = PaymentEvent()
                e.paymentID = paymentID; e.provider = provider; e.eventID = eventID; e.kind = "status"; e.status = target.rawValue; e.receivedAt = Date()
                switch PaymentWorkflow.check(from: p.paymentStatus, to: target) {
                case .alreadyThere, .refused:
                    e.applied = false
                    try await e.create(on: db)
                    return p
                case .apply:
                    e.applied = true
                    try await e.create(on: db)
                }
                let before = p.status
                p.status = target.rawValue
                p.statusDetail = detail
                if !method.isEmpty { p.paymentMethod = method }
                p.updatedAt = Date()
                if target == .payed { p.paidAt = Date() }
                try await p.save(on: db)
                try await Audit.record(on: db, actor: actor, actorID: nil, tenant: p.tenantARS, action: "zahlung.status", objectType: "zahlung",
                                       objectID: p.kassenzeichen, before: before, after: target.rawValue + (detail.isEmpty ? "" : " (\(detail))"))
                try await enqueueWebhook(p, on: db)
                if target == .payed, let aid = p.antragID, let a = try await Antrag.find(aid, on: db), !a.isDraft {
                    try await AntragService.postMessage(on: db, antrag: a, direction: "amt", kind: "zahlung", sender: a.officeName,
                                                        subject: "\(a.reference ?? ""): Zahlung eingegangen",
                                                        body: "Ihre Zahlung über \(Money(cents: p.amountCents).formattedDE) ist eingegangen. Kassenzeichen: \(p.kassenzeichen).")
                }
                return p
            }
        } catch let e as AppError { throw e } catch {
            // the same event arrived in parallel and was stored first
            if try await PaymentEvent.query(on: app.db).filter(\.$provider == provider).filter(\.$eventID == eventID).first() != nil,
               let p = try await Payment.find(paymentID, on: app.db) { return p }
            throw error
        }
    }

    static func enqueueWebhook(_ p: Payment, on db: any Database) async throws {
        guard let eid = p.endpointID, let ep = try await PaymentEndpoint.find(eid, on: db), !ep.webhookURL.isEmpty, let pid = p.id else { return }
        let key = "webhook-\(pid.uuidString)-\(p.status)-\(p.refundedCents)"
        if try await PaymentJob.query(on: db).filter(\.$key == key).first() != nil { return }
        let body: [String: Any] = ["transactionId": pid.uuidString, "transactionReference": p.kassenzeichen, "requestId": p.requestID ?? "",
                                   "status": p.status, "statusDetail": p.statusDetail, "grosAmount": Money(cents: p.amountCents).decimalString,
                                   "refundedAmount": Money(cents: p.refundedCents).decimalString, "timestamp": Audit.timestamp(p.updatedAt)]
        let j = PaymentJob()
        j.key = key; j.kind = "webhook"; j.paymentID = pid
        j.payload = String(decoding: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), as: UTF8.self)
        j.status = "pending"; j.attempts = 0; j.nextAttemptAt = Date(); j.createdAt = Date()
        try await j.create(on: db)
    }

    /// Unfinished payments past their time: the provider is asked first (a payment it has taken is
    /// booked PAYED, never lost), otherwise CANCELED "abgelaufen". Also the status poll for
    /// payments the provider finished but whose callback never arrived (crash before our commit).
    /// On PostgreSQL the rows are claimed with SKIP LOCKED: two instances never take the same one.
    @discardableResult
    static func sweep(app: Application, now: Date = Date(), pollAfter: TimeInterval = 120, limit: Int = 50) async throws -> Int {
        let due: [UUID]
        if let sql = app.db as? any SQLDatabase, sql.dialect.name == "postgresql" {
            return try await app.db.transaction { db in
                struct Row: Decodable { let id: UUID }
                let ids = try await (db as! any SQLDatabase).raw("""
                    SELECT id FROM payments WHERE status = 'INITIAL' AND (expires_at <= \(bind: now) OR updated_at <= \(bind: now.addingTimeInterval(-pollAfter)))
                    ORDER BY created_at LIMIT \(literal: limit) FOR UPDATE SKIP LOCKED
                    """).all(decoding: Row.self).map(\.id)
                var n = 0
                for id in ids { if try await settle(id, now: now, on: db, app: app) { n += 1 } }
                return n
            }
        } else {
            due = try await Payment.query(on: app.db).filter(\.$status == PaymentStatus.initial.rawValue)
                .group(.or) { $0.filter(\.$expiresAt <= now).filter(\.$updatedAt <= now.addingTimeInterval(-pollAfter)) }
                .sort(\.$createdAt).limit(limit).all().compactMap(\.id)
        }
        var n = 0
        for id in due {
            let changed = try await app.writeTransaction { db in try await settle(id, now: now, on: db, app: app) }
            if changed { n += 1 }
        }
        return n
    }

    /// One payment of the sweep, inside the caller's transaction (row already claimed on PostgreSQL).
    static func settle(_ id: UUID, now: Date, on db: any Database, app: Application) async throws -> Bool {
        guard let p = try await Payment.find(id, on: db), p.paymentStatus == .initial else { return false }
        let provider = try app.paymentProvider(p.provider)
        let (st, method) = try await provider.status(ref: p.providerRef, on: db)
        let target: PaymentStatus
        var detail = ""
        if st != .initial { target = st; detail = "per Statusabfrage" } else if p.expiresAt <= now { target = .canceled; detail = "abgelaufen" } else {
            // still open at the provider: ask again after `pollAfter`, not on every sweep
            p.updatedAt = now
            try await p.save(on: db)
            return false
        }
        let eventID = "sweep-\(id.uuidString)-\(target.rawValue)"
        if try await PaymentEvent.query(on: db).filter(\.$provider == p.provider).filter(\.$eventID == eventID).first() != nil { return false }
        let e = PaymentEvent()
        e.paymentID = id; e.provider = p.provider; e.eventID = eventID; e.kind = "sweep"; e.status = target.rawValue; e.applied = true; e.receivedAt = Date()
        try await e.create(on: db)
        p.status = target.rawValue; p.statusDetail = detail; p.updatedAt = Date()
        if !method.isEmpty { p.paymentMethod = method }
        if target == .payed { p.paidAt = Date() }
        try await p.save(on: db)
        try await Audit.record(on: db, actor: "system:zahlungen", actorID: nil, tenant: p.tenantARS, action: "zahlung.status", objectType: "zahlung",
                               objectID: p.kassenzeichen, before: PaymentStatus.initial.rawValue, after: "\(target.rawValue) (\(detail))")
        try await enqueueWebhook(p, on: db)
        return true
    }

    /// Full or partial refund with a reason; shown to the payer in the case's postbox.
    static func refund(_ p: Payment, cents: Int64, reason: String, app: Application, actor: String, actorID: String?) async throws {
        guard p.paymentStatus == .payed else {
            throw fail(.conflict, "zahlung.not_payed", "Nur bezahlte Zahlungen können erstattet werden.", field: "betrag")
        }
        guard cents > 0, cents <= p.amountCents - p.refundedCents else {
            throw fail(.unprocessableEntity, "zahlung.refund_amount", "Der Erstattungsbetrag muss größer als 0 sein und darf höchstens \(Money(cents: p.amountCents - p.refundedCents).formattedDE) betragen.", field: "betrag")
        }
        let r = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !r.isEmpty, r.count <= 500 else { throw fail(.unprocessableEntity, "zahlung.refund_reason", "Bitte geben Sie einen Grund für die Erstattung an (höchstens 500 Zeichen).", field: "grund") }
        let ref = try await app.paymentProvider(p.provider).refund(ref: p.providerRef, cents: cents, on: app.db)
        let pid = try p.requireID()
        try await app.writeTransaction { db in
            // re-read under the gate/lock: two refunds at once never exceed the amount
            if let sql = db as? any SQLDatabase, sql.dialect.name == "postgresql" {
                try await sql.raw("SELECT id FROM payments WHERE id = \(bind: pid) FOR UPDATE").run()
            }
            guard let fresh = try await Payment.find(pid, on: db), cents <= fresh.amountCents - fresh.refundedCents else {
                throw fail(.conflict, "zahlung.refund_amount", "Der Betrag wurde inzwischen schon erstattet.", field: "betrag")
            }
            let row = Refund()
            row.paymentID = pid; row.amountCents = cents; row.reason = r; row.by = actor; row.providerRef = ref; row.createdAt = Date()
            try await row.create(on: db)
            fresh.refundedCents += cents
            fresh.updatedAt = Date()
            try await fresh.save(on: db)
            try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: fresh.tenantARS, action: "zahlung.refund", objectType: "zahlung",
                                   objectID: fresh.kassenzeichen, before: nil, after: "\(Money(cents: cents).formattedDE): \(r)")
            try await enqueueWebhook(fresh, on: db)
            if let aid = fresh.antragID, let a = try await Antrag.find(aid, on: db), !a.isDraft {
                try await AntragService.postMessage(on: db, antrag: a, direction: "amt", kind: "zahlung", sender: a.officeName,
                                                    subject: "\(a.reference ?? ""): Erstattung",
                                                    body: "Wir erstatten Ihnen \(Money(cents: cents).formattedDE) (Kassenzeichen \(fresh.kassenzeichen)). Grund: \(r)")
            }
        }
    }

    /// Signed webhooks: POST JSON with `X-Rathaus-Signatur: sha256=<HMAC of the body>`, retried with
    /// back-off until the receiver answers 2xx; rows claimed with SKIP LOCKED on PostgreSQL.
    @discardableResult
    static func deliverWebhooks(app: Application, now: Date = Date(), limit: Int = 20) async throws -> Int {
        let isPG = (app.db as? any SQLDatabase)?.dialect.name == "postgresql"
        if isPG {
            return try await app.db.transaction { db in
                struct Row: Decodable { let id: UUID }
                let ids = try await (db as! any SQLDatabase).raw("""
                    SELECT id FROM payment_jobs WHERE status = 'pending' AND next_attempt_at <= \(bind: now)
                    ORDER BY created_at LIMIT \(literal: limit) FOR UPDATE SKIP LOCKED
                    """).all(decoding: Row.self).map(\.id)
                var n = 0
                for id in ids { if try await deliver(id, on: db, app: app, now: now) { n += 1 } }
                return n
            }
        }
        let ids = try await PaymentJob.query(on: app.db).filter(\.$status == "pending").filter(\.$nextAttemptAt <= now).limit(limit).all().compactMap(\.id)
        var n = 0
        for id in ids { if try await deliver(id, on: app.db, app: app, now: now) { n += 1 } }
        return n
    }

    static func deliver(_ id: UUID, on db: any Database, app: Application, now: Date) async throws -> Bool {
        guard let j = try await PaymentJob.find(id, on: db), j.status == "pending", let p = try await Payment.find(j.paymentID, on: db),
              let eid = p.endpointID, let ep = try await PaymentEndpoint.find(eid, on: db) else { return false }
        let signature = "sha256=" + Signature.hmac(Data(j.payload.utf8), key: SymmetricKey(data: Data(ep.webhookSecret.utf8)))
        var ok = false
        var error = ""
        do {
            var headers = HTTPHeaders()
            headers.contentType = .json
            headers.add(name: "X-Rathaus-Signatur", value: signature)
            headers.add(name: "X-Rathaus-Ereignis", value: j.key)
            let res = try await app.client.post(URI(string: ep.webhookURL), headers: headers) { $0.body = ByteBuffer(string: j.payload) }
            ok = (200..<300).contains(res.status.code)
            if !ok { error = "HTTP \(res.status.code)" }
        } catch let e { error = String(describing: e).prefix(200).description }
        j.attempts += 1
        if ok { j.status = "done"; j.doneAt = now; j.lastError = nil } else {
            j.lastError = error
            if j.attempts >= 15 { j.status = "failed" } else { j.nextAttemptAt = now.addingTimeInterval(min(30 * pow(2, Double(j.attempts - 1)), 3600)) }
        }
        try await j.save(on: db)
        return ok
    }
}

