import Crypto
import Fluent
import Vapor
import RathausCore

/// Rathaus as an XBezahldienste 1.0 provider for the services it hosts and for outside online
/// services of member municipalities. Clients authenticate with an API token of scope `payments`
/// of the endpoint's tenant. Errors are RFC 7807 with the functional codes of the standard.
struct XBezahldiensteController {
    func addRoutes(to app: any RoutesBuilder) {
        let x = app.grouped("xbezahldienste", "v1")
        x.post("paymenttransaction", ":originatorId", ":endPointId", use: create)
        x.get("paymenttransaction", ":originatorId", ":endPointId", ":transactionId", use: get)
        x.get("status", ":originatorId", ":endPointId", use: status)
    }

    struct ItemIn: Decodable {
        var id: String?; var reference: String?; var description: String?; var taxRate: Decimal?; var quantity: Decimal?
        var totalNetAmount: Decimal?; var totalTaxAmount: Decimal?; var singleNetAmount: Decimal?; var singleTaxAmount: Decimal?
        var bookingData: [String: String]?
    }
    struct RequestIn: Decodable {
        var requestId: String?; var requestTimestamp: String?; var currency: String?; var grosAmount: Decimal?; var purpose: String?
        var description: String?; var redirectUrl: String?; var items: [ItemIn]?
    }

    struct TransactionOut: Content {
        var requestId: String?
        var transactionId: String
        var transactionUrl: String
        var transactionReference: String
        var transactionTimestamp: String
        var status: String
        var statusDetail: String?
        var paymentMethod: String?
        var grosAmount: Decimal
        var refundedAmount: Decimal?
        var currency: String
    }

    static func out(_ p: Payment, app: Application) -> TransactionOut {
        TransactionOut(requestId: p.requestID, transactionId: p.id?.uuidString.lowercased() ?? "", transactionUrl: PaymentService.payerURL(p, app: app),
                       transactionReference: p.kassenzeichen, transactionTimestamp: Audit.timestamp(p.updatedAt), status: p.status,
                       statusDetail: p.statusDetail.isEmpty ? nil : p.statusDetail, paymentMethod: p.paymentMethod.isEmpty ? nil : p.paymentMethod,
                       grosAmount: Decimal(string: Money(cents: p.amountCents).decimalString) ?? 0,
                       refundedAmount: p.refundedCents > 0 ? Decimal(string: Money(cents: p.refundedCents).decimalString) : nil, currency: p.currency)
    }

    static func err(_ status: HTTPResponseStatus, _ code: String, _ de: String, field: String? = nil) -> AppError {
        AppError(status, code, de: de, en: de, field: field)
    }

    /// The endpoint of the path, checked against the token: unknown → NO_VALID_ORIGINATOR_OR_ENDPOINT,
    /// another tenant's endpoint → 403 (the token is not allowed there).
    static func endpoint(_ req: Request) async throws -> PaymentEndpoint {
        guard case .apiClient = req.principal else { throw AppError.unauthenticated }
        let o = req.parameters.get("originatorId") ?? "", e = req.parameters.get("endPointId") ?? ""
        guard XBezahldiensteRules.idOK(o), XBezahldiensteRules.idOK(e),
              let ep = try await PaymentEndpoint.query(on: req.db).filter(\.$originatorID == o).filter(\.$endpointID == e).first(), ep.active else {
            throw err(.notFound, "NO_VALID_ORIGINATOR_OR_ENDPOINT", "Zu originatorId und endPointId ist kein aktiver Bezahl-Endpunkt eingerichtet.")
        }
        try req.authorize(.paymentInitiate, tenant: ep.tenantARS)
        return ep
    }

    @Sendable func create(req: Request) async throws -> Response {
        let ep = try await Self.endpoint(req)
        let body = req.body.data.map { Data($0.readableBytesView) } ?? Data()
        let input: RequestIn
        do { input = try JSONDecoder().decode(RequestIn.self, from: body) } catch {
            throw Self.err(.badRequest, "VALIDATION_ERROR", "Der PaymentRequest ist kein gültiges JSON nach XBezahldienste 1.0.")
        }
        guard let rid = input.requestId, XBezahldiensteRules.idOK(rid) else {
            throw Self.err(.badRequest, "VALIDATION_ERROR", "requestId ist Pflicht: 1 bis 36 Zeichen aus Buchstaben, Ziffern, _ und -.", field: "requestId")
        }
        guard let redirect = input.redirectUrl, redirect.count <= 2000, let u = URL(string: redirect), ["https", "http"].contains(u.scheme ?? ""), u.host != nil else {
            throw Self.err(.badRequest, "VALIDATION_ERROR", "redirectUrl ist Pflicht und eine absolute http(s)-Adresse.", field: "redirectUrl")
        }
        let items = (input.items ?? []).map {
            XBezahldiensteRules.Item(description: $0.description, quantity: $0.quantity, taxRate: $0.taxRate, singleNetAmount: $0.singleNetAmount,
                                     singleTaxAmount: $0.singleTaxAmount, totalNetAmount: $0.totalNetAmount, totalTaxAmount: $0.totalTaxAmount, bookingData: $0.bookingData)
        }
        let checked: (Int64, [XBezahldiensteRules.CheckedItem])
        switch XBezahldiensteRules.check(currency: input.currency, grosAmount: input.grosAmount, purpose: input.purpose, description: input.description,
                                         items: input.items == nil ? nil : items) {
        case .success(let r): checked = r
        case .failure(let f): throw Self.err(f.code == "CALCULATION_ERROR" ? .unprocessableEntity : .badRequest, f.code, f.de, field: f.field)
        }
        for (k, v) in checked.1.flatMap({ $0.bookingData }) where k.count > 40 || v.count > 60 {
            throw Self.err(.badRequest, "VALIDATION_ERROR", "bookingData: Schlüssel höchstens 40, Werte höchstens 60 Zeichen.", field: "items")
        }
        let hash = SHA256.hash(data: body).hex
        let (p, created) = try await PaymentService.create(
            .init(tenantARS: ep.tenantARS, endpointID: ep.id, originator: ep.originatorID, endpoint: ep.endpointID, requestID: rid, requestHash: hash,
                  purpose: input.purpose ?? "", description: input.description ?? "", amountCents: checked.0, items: checked.1, redirectURL: redirect,
                  antragID: nil, provider: ep.provider,
                  booking: try await Self.booking(ep, on: req.db)),
            app: req.application, actor: req.principal.auditActor, actorID: req.principal.actorID)
        return try await Self.out(p, app: req.application).encodeResponse(status: created ? .created : .ok, for: req)
    }

    /// The endpoint's booking data, completed by the tenant's defaults.
    static func booking(_ ep: PaymentEndpoint, on db: any Database) async throws -> (String, String, String) {
        let s = try await PaymentSettings.forTenant(ep.tenantARS, on: db)
        return (ep.haushaltsstelle.isEmpty ? s.haushaltsstelle : ep.haushaltsstelle, ep.kostentraeger.isEmpty ? s.kostentraeger : ep.kostentraeger,
                ep.objektnummer.isEmpty ? s.objektnummer : ep.objektnummer)
    }

    @Sendable func get(req: Request) async throws -> TransactionOut {
        let ep = try await Self.endpoint(req)
        guard let id = req.parameters.get("transactionId").flatMap(UUID.init(uuidString:)),
              let p = try await Payment.find(id, on: req.db), p.endpointID == ep.id else {
            throw Self.err(.notFound, "NOT_FOUND", "Zu dieser transactionId gibt es an diesem Endpunkt keine Zahlung.")
        }
        return Self.out(p, app: req.application)
    }

    struct StatusOut: Content { var originatorId: String; var endPointId: String; var status: String; var provider: String; var currency: String }

    @Sendable func status(req: Request) async throws -> StatusOut {
        let ep = try await Self.endpoint(req)
        return StatusOut(originatorId: ep.originatorID, endPointId: ep.endpointID, status: "AVAILABLE", provider: ep.provider, currency: "EUR")
    }
}

/// The test provider's hosted pages and the provider callback.
struct TestProviderController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("bezahlen", "test", ":ref", use: page)
        app.post("bezahlen", "test", ":ref", use: act)
        app.post("bezahlen", "rueckmeldung", "test", use: callback)
    }

    struct PageView: Encodable { var ref: String; var amount: String; var purpose: String; var kassenzeichen: String; var open: Bool; var status: String; var back: String }

    @Sendable func page(req: Request) async throws -> Response {
        guard req.application.paymentProviders["test"] != nil else { throw AppError.notFound }
        let ref = req.parameters.get("ref") ?? ""
        guard let t = try await TestProviderTransaction.query(on: req.db).filter(\.$ref == ref).first(),
              let p = try await Payment.query(on: req.db).filter(\.$providerRef == ref).first() else { throw AppError.notFound }
        return try await req.render("bezahlen/test", title: "Test-Zahlungsdienst",
                                    PageView(ref: ref, amount: Money(cents: t.amountCents).formattedDE, purpose: p.purpose, kassenzeichen: p.kassenzeichen,
                                             open: t.status == PaymentStatus.initial.rawValue, status: (PaymentStatus(rawValue: t.status) ?? .initial).german,
                                             back: t.returnURL), form: true)
    }

    /// The payer's choice changes the provider's own ledger, then the provider tells the hub by its
    /// signed callback, and the browser goes back to the service — without the result in the URL.
    @Sendable func act(req: Request) async throws -> Response {
        guard req.application.paymentProviders["test"] != nil else { throw AppError.notFound }
        let ref = req.parameters.get("ref") ?? ""
        let action = (try? req.content.get(String.self, at: "aktion")) ?? ""
        guard let t = try await TestProviderTransaction.query(on: req.db).filter(\.$ref == ref).first() else { throw AppError.notFound }
        let target: PaymentStatus? = switch action {
        case "bezahlen": .payed
        case "ablehnen": .failed
        case "abbrechen": .canceled
        default: nil
        }
        if let target, t.status == PaymentStatus.initial.rawValue {
            t.status = target.rawValue
            t.method = target == .payed ? "CREDITCARD" : ""
            t.updatedAt = Date()
            try await t.save(on: req.db)
            let payload = CallbackIn(ref: ref, status: target.rawValue, method: t.method, event: "\(ref)-\(target.rawValue)", signature: nil)
            try await Self.handle(payload.signed(), app: req.application)
        }
        return req.redirect(to: t.returnURL, redirectType: .normal)
    }

    struct CallbackIn: Content {
        var ref: String; var status: String; var method: String; var event: String; var signature: String?
        var canonical: String { "\(ref)|\(status)|\(method)|\(event)" }
        func signed() -> CallbackIn { var c = self; c.signature = TestPaymentProvider.sign(canonical); return c }
    }

    static func handle(_ c: CallbackIn, app: Application) async throws {
        guard app.paymentProviders["test"] != nil else { throw AppError.notFound }
        guard let sig = c.signature, constantTimeEqual(sig, TestPaymentProvider.sign(c.canonical)) else {
            throw AppError(.unauthorized, "zahlung.callback_signature", de: "Die Rückmeldung des Zahlungsdienstes ist nicht gültig signiert.", en: "Invalid callback signature.")
        }
        guard let status = PaymentStatus(rawValue: c.status), c.event.count <= 100 else {
            throw AppError(.badRequest, "zahlung.callback", de: "Die Rückmeldung nennt keinen gültigen Status.", en: "Invalid status.")
        }
        guard let p = try await Payment.query(on: app.db).filter(\.$provider == "test").filter(\.$providerRef == c.ref).first(), let id = p.id else {
            throw AppError.notFound
        }
        try await PaymentService.apply(paymentID: id, status: status, method: c.method, detail: "", provider: "test", eventID: c.event,
                                       app: app, actor: "zahlungsdienst:test")
    }

    /// `POST /bezahlen/rueckmeldung/test`: the provider's server-to-server callback (signed).
    @Sendable func callback(req: Request) async throws -> HTTPStatus {
        let c: CallbackIn
        do { c = try req.content.decode(CallbackIn.self) } catch {
            throw AppError(.badRequest, "zahlung.callback", de: "Die Rückmeldung des Zahlungsdienstes ist unvollständig.", en: "Incomplete callback.")
        }
        try await Self.handle(c, app: req.application)
        return .noContent
    }
}
