import Crypto
import Fluent
import SQLKit
import XCTVapor
import XCTest
import RathausCore
@testable import App

/// Contract tests of the XBezahldienste endpoints: every field limit and every error code.
final class XBezahldiensteContractTests: XCTestCase {
    var app: Application!
    var token = ""
    let base = "/xbezahldienste/v1/paymenttransaction/stadt-erfurt/bewohnerparken"

    override func setUp() async throws {
        app = try await makeTestApp()
        token = try await createToken(app, tenant: "16051", scopes: [.payments])
        try await Self.endpoint(app, tenant: "16051", originator: "stadt-erfurt", endpoint: "bewohnerparken", haushaltsstelle: "1.1220.1100")
        try await Self.endpoint(app, tenant: "16051", originator: "stadt-erfurt", endpoint: "ohne-buchung", haushaltsstelle: "")
        try await Self.endpoint(app, tenant: "16052", originator: "stadt-gera", endpoint: "parken", haushaltsstelle: "1.1")
    }

    override func tearDown() async throws { try await app.shutdownOnce() }

    @discardableResult
    static func endpoint(_ app: Application, tenant: String, originator: String, endpoint: String, haushaltsstelle: String, webhook: String = "") async throws -> PaymentEndpoint {
        let e = PaymentEndpoint()
        e.tenantARS = tenant; e.originatorID = originator; e.endpointID = endpoint; e.name = endpoint; e.provider = "test"; e.webhookURL = webhook
        e.webhookSecret = "geheim-\(endpoint)"; e.haushaltsstelle = haushaltsstelle; e.kostentraeger = "KT-7"; e.objektnummer = ""; e.active = true
        try await e.create(on: app.db)
        return e
    }

    static func request(id: String = "req-1", gros: String = "61.20", purpose: String = "Bewohnerparkausweis", items: String? = nil,
                        currency: String = "EUR", redirect: String? = "https://dienst.example/zurueck", description: String? = nil) -> String {
        let its = items ?? #"[{"description":"Bewohnerparkausweis 2 Jahre","quantity":2,"taxRate":0,"singleNetAmount":30.60,"singleTaxAmount":0,"totalNetAmount":61.20,"totalTaxAmount":0}]"#
        var fields = [#""requestId":"\#(id)""#, #""currency":"\#(currency)""#, #""grosAmount":\#(gros)"#, #""purpose":"\#(purpose)""#, #""items":\#(its)"#]
        if let redirect { fields.append(#""redirectUrl":"\#(redirect)""#) }
        if let description { fields.append(#""description":"\#(description)""#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    func post(_ body: String, path: String? = nil, token: String? = nil) async throws -> TestingHTTPResponse {
        try await api(app, .POST, path ?? base, token: token ?? self.token, json: body)
    }

    func assertError(_ r: TestingHTTPResponse, _ status: HTTPResponseStatus, _ code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(r.status, status, r.text, file: file, line: line)
        XCTAssertEqual(r.headers.contentType?.description.hasPrefix("application/problem+json"), true, file: file, line: line)
        XCTAssertEqual(try r.json()["code"] as? String, code, r.text, file: file, line: line)
        XCTAssertFalse((try r.json()["detail"] as? String ?? "").isEmpty, file: file, line: line)
    }

    func testCreateIsIdempotentByRequestId() async throws {
        let r = try await post(Self.request())
        XCTAssertEqual(r.status, .created, r.text)
        let j = try r.json()
        XCTAssertEqual(j["status"] as? String, "INITIAL")
        XCTAssertEqual(j["grosAmount"] as? Double, 61.2)
        let kz = try XCTUnwrap(j["transactionReference"] as? String)
        XCTAssertNoThrow(try Kassenzeichen(kz))
        let tid = try XCTUnwrap(j["transactionId"] as? String)
        XCTAssertTrue((j["transactionUrl"] as? String ?? "").contains("/bezahlen/test/"))
        let again = try await post(Self.request())
        XCTAssertEqual(again.status, .ok)
        XCTAssertEqual(try again.json()["transactionId"] as? String, tid, "same requestId, same transaction")
        try assertError(try await post(Self.request(gros: "30.60", items: #"[{"description":"1 Jahr","quantity":1,"singleNetAmount":30.60}]"#)), .conflict, "PAYMENT_EXISTS")
        let got = try await api(app, .GET, "\(base)/\(tid)", token: token)
        XCTAssertEqual(try got.json()["transactionReference"] as? String, kz)
        let count = try await Payment.query(on: app.db).count()
        XCTAssertEqual(count, 1)
        let items = try await PaymentItem.query(on: app.db).all()
        XCTAssertEqual(items.first?.haushaltsstelle, "1.1220.1100", "booking data from the endpoint")
        XCTAssertEqual(items.first?.totalCents, 6120)
    }

    func testAuthentication() async throws {
        let none = try await api(app, .POST, base, json: Self.request())
        XCTAssertEqual(none.status, .unauthorized)
        let wrongScope = try await createToken(app, tenant: "16051", scopes: [.finder])
        do { let r_ = try await post(Self.request(), token: wrongScope); XCTAssertEqual(r_.status, .forbidden) }
        let gera = try await createToken(app, tenant: "16052", scopes: [.payments])
        do { let r_ = try await post(Self.request(), token: gera); XCTAssertEqual(r_.status, .forbidden, "another tenant's endpoint") }
        do { let r_ = try await api(app, .GET, "/xbezahldienste/v1/status/stadt-erfurt/bewohnerparken"); XCTAssertEqual(r_.status, .unauthorized) }
        let st = try await api(app, .GET, "/xbezahldienste/v1/status/stadt-erfurt/bewohnerparken", token: token)
        XCTAssertEqual(try st.json()["status"] as? String, "AVAILABLE")
    }

    func testOriginatorAndEndpoint() async throws {
        try assertError(try await post(Self.request(), path: "/xbezahldienste/v1/paymenttransaction/stadt-erfurt/gibtsnicht"), .notFound, "NO_VALID_ORIGINATOR_OR_ENDPOINT")
        try assertError(try await post(Self.request(), path: "/xbezahldienste/v1/paymenttransaction/\(String(repeating: "o", count: 37))/bewohnerparken"), .notFound, "NO_VALID_ORIGINATOR_OR_ENDPOINT")
        try assertError(try await api(app, .GET, "/xbezahldienste/v1/status/x/y", token: token), .notFound, "NO_VALID_ORIGINATOR_OR_ENDPOINT")
    }

    func testFieldLimits() async throws {
        // requestId: 36 allowed, 37 and foreign characters not
        do { let r_ = try await post(Self.request(id: String(repeating: "a", count: 36))); XCTAssertEqual(r_.status, .created) }
        try assertError(try await post(Self.request(id: String(repeating: "a", count: 37))), .badRequest, "VALIDATION_ERROR")
        try assertError(try await post(Self.request(id: "mit leer")), .badRequest, "VALIDATION_ERROR")
        try assertError(try await post(Self.request(id: "")), .badRequest, "VALIDATION_ERROR")
        // purpose: 27 allowed, 28 not, missing not
        do { let r_ = try await post(Self.request(id: "p27", purpose: String(repeating: "p", count: 27))); XCTAssertEqual(r_.status, .created) }
        try assertError(try await post(Self.request(id: "p28", purpose: String(repeating: "p", count: 28))), .badRequest, "VALIDATION_ERROR")
        try assertError(try await post(Self.request(id: "p0", purpose: "")), .badRequest, "VALIDATION_ERROR")
        // description: 250 allowed, 251 not
        do { let r_ = try await post(Self.request(id: "d250", description: String(repeating: "d", count: 250))); XCTAssertEqual(r_.status, .created) }
        try assertError(try await post(Self.request(id: "d251", description: String(repeating: "d", count: 251))), .badRequest, "VALIDATION_ERROR")
        // items: 1..99
        let one = #"{"description":"Gebühr","quantity":1,"singleNetAmount":1.00}"#
        do { let r_ = try await post(Self.request(id: "i99", gros: "99", items: "[" + Array(repeating: one, count: 99).joined(separator: ",") + "]")); XCTAssertEqual(r_.status, .created) }
        try assertError(try await post(Self.request(id: "i100", gros: "100", items: "[" + Array(repeating: one, count: 100).joined(separator: ",") + "]")), .badRequest, "VALIDATION_ERROR")
        try assertError(try await post(Self.request(id: "i0", gros: "1", items: "[]")), .badRequest, "VALIDATION_ERROR")
        // EUR only; amounts with at most two decimals; a redirect address
        try assertError(try await post(Self.request(id: "usd", currency: "USD")), .badRequest, "VALIDATION_ERROR")
        try assertError(try await post(Self.request(id: "dec", gros: "1.005", items: #"[{"description":"x","quantity":1,"singleNetAmount":1.005}]"#)), .badRequest, "VALIDATION_ERROR")
        try assertError(try await post(Self.request(id: "nored", redirect: nil)), .badRequest, "VALIDATION_ERROR")
        try assertError(try await post(Self.request(id: "badred", redirect: "javascript:alert(1)")), .badRequest, "VALIDATION_ERROR")
        try assertError(try await post("{kaputt"), .badRequest, "VALIDATION_ERROR")
        try assertError(try await post(#"{"requestId":"q","currency":"EUR","grosAmount":"zehn","purpose":"x","items":[]}"#), .badRequest, "VALIDATION_ERROR")
    }

    func testCalculationAndBookingData() async throws {
        try assertError(try await post(Self.request(id: "c1", gros: "61.21")), .unprocessableEntity, "CALCULATION_ERROR")
        try assertError(try await post(Self.request(id: "c2", gros: "61.20", items: #"[{"description":"x","quantity":2,"singleNetAmount":30.60,"totalNetAmount":61.00}]"#)), .unprocessableEntity, "CALCULATION_ERROR")
        let withTax = #"[{"description":"x","quantity":1,"taxRate":19,"singleNetAmount":10.00,"singleTaxAmount":1.90,"totalNetAmount":10.00,"totalTaxAmount":1.90}]"#
        do { let r_ = try await post(Self.request(id: "c3", gros: "11.90", items: withTax)); XCTAssertEqual(r_.status, .created) }
        try assertError(try await post(Self.request(id: "b1"), path: "/xbezahldienste/v1/paymenttransaction/stadt-erfurt/ohne-buchung"), .unprocessableEntity, "BOOKING_DATA_MISSING")
        let booked = #"[{"description":"x","quantity":2,"singleNetAmount":30.60,"bookingData":{"haushaltsstelle":"1.1220.1101"}}]"#
        do { let r_ = try await post(Self.request(id: "b2", items: booked), path: "/xbezahldienste/v1/paymenttransaction/stadt-erfurt/ohne-buchung"); XCTAssertEqual(r_.status, .created) }
    }
}

struct BrokenProvider: PaymentProvider {
    let id = "kaputt"
    struct Down: Error {}
    func initiate(_ p: Payment, returnURL: String, on db: any Database) async throws -> (ref: String, payerURL: String) { throw Down() }
    func status(ref: String, on db: any Database) async throws -> (status: PaymentStatus, method: String) { throw Down() }
    func refund(ref: String, cents: Int64, on db: any Database) async throws -> String { throw Down() }
}

final class PaymentProviderDownTests: XCTestCase {
    func testAProviderThatIsDownFailsThePaymentVisibly() async throws {
        let app = try await makeTestApp()
        app.paymentProviders = ["test": TestPaymentProvider(), "kaputt": BrokenProvider()]
        let token = try await createToken(app, tenant: "16051", scopes: [.payments])
        let ep = try await XBezahldiensteContractTests.endpoint(app, tenant: "16051", originator: "stadt-erfurt", endpoint: "bewohnerparken", haushaltsstelle: "1.1")
        ep.provider = "kaputt"
        try await ep.save(on: app.db)
        let r = try await api(app, .POST, "/xbezahldienste/v1/paymenttransaction/stadt-erfurt/bewohnerparken", token: token, json: XBezahldiensteContractTests.request())
        XCTAssertEqual(r.status, .serviceUnavailable, r.text)
        XCTAssertEqual(try r.json()["code"] as? String, "PROVIDER_UNAVAILABLE")
        let p = try await XCTUnwrapAsync(try await Payment.query(on: app.db).first())
        XCTAssertEqual(p.status, "FAILED")
        XCTAssertEqual(p.statusDetail, "Zahlungsdienst nicht erreichbar")
    }
}

final class PaymentFlowTests: XCTestCase {
    func created(_ app: Application, token: String, id: String = "r1") async throws -> (UUID, String) {
        let r = try await api(app, .POST, "/xbezahldienste/v1/paymenttransaction/stadt-erfurt/bewohnerparken", token: token, json: XBezahldiensteContractTests.request(id: id))
        XCTAssertEqual(r.status, .created, r.text)
        let j = try r.json()
        return (UUID(uuidString: j["transactionId"] as! String)!, j["transactionUrl"] as! String)
    }

    func testTestProviderPagesAndCallbacksBookOnce() async throws {
        let app = try await makeTestApp()
        let sink = try HTTPSink()
        defer { sink.stop() }
        let token = try await createToken(app, tenant: "16051", scopes: [.payments])
        try await XBezahldiensteContractTests.endpoint(app, tenant: "16051", originator: "stadt-erfurt", endpoint: "bewohnerparken",
                                                      haushaltsstelle: "1.1220.1100", webhook: "http://127.0.0.1:\(sink.port)/hook")
        let (id, url) = try await created(app, token: token)
        let payer = Browser(app)
        let pagePath = String(url.dropFirst("http://127.0.0.1:8080".count))
        var r = try await payer.get(pagePath)
        XCTAssertTrue(r.text.contains("61,20") && r.text.contains("Bezahlen (Testkarte)"), r.text)
        r = try await payer.post(pagePath, ["aktion": "bezahlen"])
        XCTAssertEqual(r.status, .seeOther)
        XCTAssertEqual(r.headers.first(name: .location), "https://dienst.example/zurueck", "back to the service, no result in the URL")
        var p = try await XCTUnwrapAsync(try await Payment.find(id, on: app.db))
        XCTAssertEqual(p.status, "PAYED")
        XCTAssertEqual(p.paymentMethod, "CREDITCARD")
        // the provider's callback arrives again, and a late CANCELED after it: nothing changes
        let ref = p.providerRef
        let again = TestProviderController.CallbackIn(ref: ref, status: "PAYED", method: "CREDITCARD", event: "\(ref)-PAYED", signature: nil).signed()
        let late = TestProviderController.CallbackIn(ref: ref, status: "CANCELED", method: "", event: "\(ref)-CANCELED", signature: nil).signed()
        let enc = JSONEncoder()
        for c in [again, again, late] {
            let res = try await api(app, .POST, "/bezahlen/rueckmeldung/test", json: String(decoding: try enc.encode(c), as: UTF8.self))
            XCTAssertEqual(res.status, .noContent, res.text)
        }
        var forged = late; forged.signature = String(repeating: "0", count: 64)
        let bad = try await api(app, .POST, "/bezahlen/rueckmeldung/test", json: String(decoding: try enc.encode(forged), as: UTF8.self))
        XCTAssertEqual(bad.status, .unauthorized)
        p = try await XCTUnwrapAsync(try await Payment.find(id, on: app.db))
        XCTAssertEqual(p.status, "PAYED")
        let booked = try await AuditEntry.query(on: app.db).filter(\.$action == "zahlung.status").count()
        XCTAssertEqual(booked, 1, "booked once")
        // the webhook: signed, retried after a failure, delivered once
        sink.status = .internalServerError
        try await PaymentService.deliverWebhooks(app: app)
        XCTAssertEqual(sink.requests.count, 1)
        let job = try await XCTUnwrapAsync(try await PaymentJob.query(on: app.db).first())
        XCTAssertEqual(job.status, "pending")
        XCTAssertGreaterThan(job.nextAttemptAt, Date())
        sink.status = .ok
        try await PaymentService.deliverWebhooks(app: app, now: Date().addingTimeInterval(3600))
        try await PaymentService.deliverWebhooks(app: app, now: Date().addingTimeInterval(7200))
        XCTAssertEqual(sink.requests.count, 2)
        let hook = sink.requests[1]
        let mac = Data(HMAC<SHA256>.authenticationCode(for: Data(hook.body.utf8), using: SymmetricKey(data: Data("geheim-bewohnerparken".utf8))))
            .map { String(format: "%02x", $0) }.joined()
        XCTAssertEqual(hook.headers["x-rathaus-signatur"], "sha256=" + mac)
        XCTAssertTrue(hook.body.contains("\"status\":\"PAYED\""), hook.body)
        // refund, partial then too much
        try await PaymentService.refund(p, cents: 2000, reason: "Nur ein Jahr genutzt", app: app, actor: "test", actorID: nil)
        p = try await XCTUnwrapAsync(try await Payment.find(id, on: app.db))
        XCTAssertEqual(p.refundedCents, 2000)
        do {
            try await PaymentService.refund(p, cents: 5000, reason: "zu viel", app: app, actor: "test", actorID: nil)
            XCTFail("more than paid")
        } catch let e as AppError { XCTAssertTrue(e.messageDE.contains("höchstens 41,20")) }
    }

    func testDeclinedThenRetriedAndExpiryAsksTheProviderFirst() async throws {
        let app = try await makeTestApp()
        let token = try await createToken(app, tenant: "16051", scopes: [.payments])
        try await XBezahldiensteContractTests.endpoint(app, tenant: "16051", originator: "stadt-erfurt", endpoint: "bewohnerparken", haushaltsstelle: "1.1220.1100")
        let (declined, url) = try await created(app, token: token, id: "a")
        let b = Browser(app)
        let path = String(url.dropFirst("http://127.0.0.1:8080".count))
        try await b.get(path)
        _ = try await b.post(path, ["aktion": "ablehnen"])
        let d = try await XCTUnwrapAsync(try await Payment.find(declined, on: app.db))
        XCTAssertEqual(d.status, "FAILED")
        // unfinished: left on the provider's page
        let (left, _) = try await created(app, token: token, id: "b")
        // paid at the provider, but the callback never reached us (crash before our commit)
        let (lost, _) = try await created(app, token: token, id: "c")
        let lostPayment = try await XCTUnwrapAsync(try await Payment.find(lost, on: app.db))
        let ledger = try await XCTUnwrapAsync(try await TestProviderTransaction.query(on: app.db).filter(\.$ref == lostPayment.providerRef).first())
        ledger.status = "PAYED"; ledger.method = "GIROPAY"
        try await ledger.save(on: app.db)
        let n = try await PaymentService.sweep(app: app, now: Date().addingTimeInterval(2 * 3600))
        XCTAssertEqual(n, 2)
        let l = try await XCTUnwrapAsync(try await Payment.find(left, on: app.db))
        XCTAssertEqual(l.status, "CANCELED")
        XCTAssertEqual(l.statusDetail, "abgelaufen")
        let recovered = try await XCTUnwrapAsync(try await Payment.find(lost, on: app.db))
        XCTAssertEqual(recovered.status, "PAYED", "no lost payment")
        do { let n_ = try await PaymentService.sweep(app: app, now: Date().addingTimeInterval(3 * 3600)); XCTAssertEqual(n_, 0, "final states stay") }
    }

    /// Two instances on one PostgreSQL sweep at the same time: every expiry is processed once.
    func testTwoInstancesExpireEachPaymentOnce() async throws {
        guard let url = Environment.get("DATABASE_URL"), !url.isEmpty else { throw XCTSkip("two instances need PostgreSQL (CI runs this on PostgreSQL)") }
        let app = try await makeTestApp()
        let second = try await makeSecondInstance(url)
        let token = try await createToken(app, tenant: "16051", scopes: [.payments])
        try await XBezahldiensteContractTests.endpoint(app, tenant: "16051", originator: "stadt-erfurt", endpoint: "bewohnerparken", haushaltsstelle: "1.1220.1100")
        for i in 0..<20 { _ = try await created(app, token: token, id: "x\(i)") }
        let later = Date().addingTimeInterval(2 * 3600)
        async let a = PaymentService.sweep(app: app, now: later, limit: 7)
        async let b = PaymentService.sweep(app: second, now: later, limit: 7)
        let (na, nb) = try await (a, b)
        let rest = try await PaymentService.sweep(app: app, now: later)
        XCTAssertEqual(na + nb + rest, 20)
        let audits = try await AuditEntry.query(on: app.db).filter(\.$action == "zahlung.status").count()
        XCTAssertEqual(audits, 20, "each expiry once")
        let canceled = try await Payment.query(on: app.db).filter(\.$status == "CANCELED").count()
        XCTAssertEqual(canceled, 20)
    }

    /// Two instances deliver webhooks at the same time: each status change reaches the receiver once.
    func testTwoInstancesDeliverEachWebhookOnce() async throws {
        guard let url = Environment.get("DATABASE_URL"), !url.isEmpty else { throw XCTSkip("two instances need PostgreSQL (CI runs this on PostgreSQL)") }
        let app = try await makeTestApp()
        let second = try await makeSecondInstance(url)
        let sink = try HTTPSink()
        defer { sink.stop() }
        let token = try await createToken(app, tenant: "16051", scopes: [.payments])
        try await XBezahldiensteContractTests.endpoint(app, tenant: "16051", originator: "stadt-erfurt", endpoint: "bewohnerparken",
                                                      haushaltsstelle: "1.1220.1100", webhook: "http://127.0.0.1:\(sink.port)/hook")
        for i in 0..<12 {
            let (id, _) = try await created(app, token: token, id: "w\(i)")
            try await PaymentService.apply(paymentID: id, status: .payed, method: "CREDITCARD", detail: "", provider: "test", eventID: "w\(i)", app: app, actor: "test")
        }
        async let a = PaymentService.deliverWebhooks(app: app, limit: 5)
        async let b = PaymentService.deliverWebhooks(app: second, limit: 5)
        _ = try await (a, b)
        _ = try await PaymentService.deliverWebhooks(app: app)
        _ = try await PaymentService.deliverWebhooks(app: second)
        XCTAssertEqual(sink.requests.count, 12)
        XCTAssertEqual(Set(sink.requests.map { $0.headers["x-rathaus-ereignis"] ?? "" }).count, 12, "no webhook twice")
    }
}

/// The e-payment journey of the online services: resident parking permit in Erfurt (fee paid
/// before sending), a declined payment retried, the clerk and the cash office, a refund.
final class PaymentJourneyTests: XCTestCase {
    func testResidentParkingPermitPaidDeclinedRetriedAndRefunded() async throws {
        let app = try await makeTestApp(demo: true)
        let (_, c) = try await ServicekontoTests.citizen(app, "parken@example.org")
        try await c.get("/onlinedienste/bewohnerparkausweis?ars=160510000000")
        var r = try await c.post("/onlinedienste/bewohnerparkausweis/antrag", ["ars": "160510000000"])
        let step1 = try XCTUnwrap(r.headers.first(name: .location))
        let base = String(step1.dropLast("/schritt/person".count))
        let id = try XCTUnwrap(UUID(uuidString: String(base.split(separator: "/").last ?? "")))
        try await c.get(step1)
        r = try await c.postMultipart(step1, fields: ["vorname": "Paul", "nachname": "Parker", "anschrift.strasse": "Anger", "anschrift.hausnummer": "3",
                                                      "anschrift.plz": "99084", "anschrift.ort": "Erfurt", "aktion": "weiter"], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)
        try await c.get("\(base)/schritt/fahrzeug")
        r = try await c.postMultipart("\(base)/schritt/fahrzeug", fields: ["kennzeichen": "EF-AB 123", "halter": "eigen", "jahre": "2", "aktion": "weiter"],
                                      files: [("zulassung", "zb1.pdf", AntragJourneyTests.pdf)])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await c.get("\(base)/pruefen")
        XCTAssertTrue(r.text.contains("61,20") && r.text.contains("Bezahlen und absenden"), r.text)
        // sending without paying is not possible
        r = try await c.post("\(base)/absenden")
        XCTAssertEqual(r.headers.first(name: .location), "\(base)/pruefen")
        var draft = try await XCTUnwrapAsync(try await Antrag.find(id, on: app.db))
        XCTAssertTrue(draft.isDraft)

        // first attempt: declined at the provider
        r = try await c.post("\(base)/bezahlen", ["benachrichtigung": "email"])
        var payPage = try XCTUnwrap(r.headers.first(name: .location))
        XCTAssertTrue(payPage.hasPrefix("/bezahlen/test/"), payPage)
        try await c.get(payPage)
        r = try await c.post(payPage, ["aktion": "ablehnen"])
        XCTAssertEqual(r.headers.first(name: .location), "/konto/antraege/\(id)/zahlung", "back to the service, no result in the URL")
        r = try await c.get("/konto/antraege/\(id)/zahlung")
        XCTAssertEqual(r.headers.first(name: .location), "\(base)/pruefen")
        r = try await c.get("\(base)/pruefen")
        XCTAssertTrue(r.text.contains("Die Zahlung wurde nicht abgeschlossen (fehlgeschlagen)"), r.text)
        draft = try await XCTUnwrapAsync(try await Antrag.find(id, on: app.db))
        XCTAssertTrue(draft.isDraft, "the application is not lost")

        // second attempt: paid; the return reads the status on the server and sends
        r = try await c.post("\(base)/bezahlen", ["benachrichtigung": "email"])
        payPage = try XCTUnwrap(r.headers.first(name: .location))
        try await c.get(payPage)
        _ = try await c.post(payPage, ["aktion": "bezahlen"])
        r = try await c.get("/konto/antraege/\(id)/zahlung")
        XCTAssertEqual(r.headers.first(name: .location), "\(base)?gesendet=1")
        let sent = try await XCTUnwrapAsync(try await Antrag.find(id, on: app.db))
        let reference = try XCTUnwrap(sent.reference)
        XCTAssertEqual(sent.feeCents, 6120)
        let paid = try await XCTUnwrapAsync(try await Payment.query(on: app.db).filter(\.$antragID == id).filter(\.$status == "PAYED").first())
        XCTAssertTrue(paid.kassenzeichen.hasPrefix("EF"))
        r = try await c.get("/konto/postfach")
        XCTAssertTrue(r.text.contains("Zahlung eingegangen"), r.text)
        let payMsg = try await XCTUnwrapAsync(try await PostboxMessage.query(on: app.db).filter(\.$kind == "zahlung").first())
        XCTAssertTrue(payMsg.body.contains(paid.kassenzeichen))

        // the clerk sees it paid with the Kassenzeichen
        let clerk = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let k = Browser(app)
        try await k.login(clerk)
        r = try await k.get("/mandanten/16051/antraege/\(id)")
        XCTAssertTrue(r.text.contains(reference) && r.text.contains(paid.kassenzeichen) && r.text.contains("bezahlt"), r.text)
        XCTAssertTrue(r.text.contains("fehlgeschlagen"), "the declined attempt is visible too")

        // the cash office's daily report lists it under its Haushaltsstelle
        let kasse = try await createUser(app, email: "kasse@erfurt.test", role: .cashOffice, tenant: "16051")
        let ko = Browser(app)
        try await ko.login(kasse)
        r = try await ko.get("/mandanten/16051/kasse/tagesbericht")
        XCTAssertTrue(r.text.contains("1.1220.1100") && r.text.contains("61,20"), r.text)
        r = try await ko.get("/mandanten/16051/kasse/export.csv")
        XCTAssertTrue(r.text.contains(paid.kassenzeichen) && r.text.contains("\"1.1220.1100\"") && r.text.contains("\"12201\""), r.text)
        r = try await ko.get("/mandanten/16051/kasse/buchungsdatei")
        XCTAssertTrue(r.text.contains("\"6120\""), r.text)
        r = try await ko.get("/mandanten/16052/kasse")
        XCTAssertEqual(r.status, .forbidden, "another tenant's cash office")

        // a partial refund by the clerk, with a reason; both sides see it
        r = try await k.post("/mandanten/16051/kasse/\(paid.id!)/erstattung", ["betrag": "30,60", "grund": "Ausweis nur für ein Jahr", "zurueck": "antrag"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await k.post("/mandanten/16051/kasse/\(paid.id!)/erstattung", ["betrag": "40,00", "grund": "zu viel", "zurueck": "antrag"])
        XCTAssertEqual(r.status, .unprocessableEntity)
        r = try await c.get("/konto/antraege/\(id)")
        XCTAssertTrue(r.text.contains("30,60"), r.text)
        r = try await c.get("/konto/postfach")
        XCTAssertTrue(r.text.contains("Erstattung"), r.text)
        r = try await ko.get("/mandanten/16051/kasse/tagesbericht")
        XCTAssertTrue(r.text.contains("Ausweis nur für ein Jahr"), r.text)
        // names instead of the provider's codes; the refund by the clerk's name
        XCTAssertTrue(r.text.contains("Kreditkarte") && r.text.contains("Test-Zahlungsdienst"), r.text)
        XCTAssertFalse(r.text.contains(">CREDITCARD<") || r.text.contains("<td>test</td>"), r.text)
        r = try await ko.get("/mandanten/16051/kasse/\(paid.id!)")
        XCTAssertTrue(r.text.contains("<dd>Kreditkarte</dd>") && r.text.contains("bezahlt") && r.text.contains("Meldung des Zahlungsdienstes"), r.text)
        XCTAssertFalse(r.text.contains("user:") || r.text.contains("PAYED"), r.text)
        let audits = try await AuditEntry.query(on: app.db).filter(\.$action == "zahlung.refund").count()
        XCTAssertEqual(audits, 1)
    }
}

final class PaymentAfterDecisionTests: XCTestCase {
    func testClerkRequestsPaymentCitizenPaysFromThePostboxAfterADecline() async throws {
        let app = try await makeTestApp(demo: true)
        let (u, c) = try await ServicekontoTests.citizen(app, "bescheid@example.org")
        let a = try await AntragJourneyTests.submittedCase(app)
        a.applicantID = u.id
        try await a.save(on: app.db)
        let act = try await XCTUnwrapAsync(try await ServiceActivation.query(on: app.db).filter(\.$tenantARS == "16051").filter(\.$slug == "meldebescheinigung").first())
        act.feePolicy = "nach_bescheid"
        try await act.save(on: app.db)
        let clerk = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let k = Browser(app)
        try await k.login(clerk)
        let caseURL = "/mandanten/16051/antraege/\(a.id!)"
        var r = try await k.get(caseURL)
        XCTAssertTrue(r.text.contains("Zahlung anfordern"), r.text)
        r = try await k.post("\(caseURL)/zahlung-anfordern", ["betrag": "acht"])
        XCTAssertEqual(r.status, .badRequest)
        r = try await k.post("\(caseURL)/zahlung-anfordern", ["betrag": "8,00"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let requested = try await XCTUnwrapAsync(try await Payment.query(on: app.db).filter(\.$antragID == a.id!).first())
        XCTAssertGreaterThan(requested.expiresAt, Date().addingTimeInterval(13 * 86400), "open for days, not 90 minutes")
        r = try await c.get("/konto/postfach")
        let msg = try await XCTUnwrapAsync(try await PostboxMessage.query(on: app.db).filter(\.$body ~~ requested.kassenzeichen).first())
        r = try await c.get("/konto/postfach/\(msg.id!)")
        XCTAssertTrue(r.text.contains("8,00") && r.text.contains(requested.kassenzeichen), r.text)
        // pay from the case: declined, then again
        r = try await c.get("/konto/antraege/\(a.id!)")
        XCTAssertTrue(r.text.contains("jetzt bezahlen"), r.text)
        r = try await c.post("/konto/antraege/\(a.id!)/zahlungen/\(requested.id!)")
        let page = try XCTUnwrap(r.headers.first(name: .location))
        try await c.get(page)
        _ = try await c.post(page, ["aktion": "ablehnen"])
        r = try await c.post("/konto/antraege/\(a.id!)/zahlungen/\(requested.id!)")
        let page2 = try XCTUnwrap(r.headers.first(name: .location))
        XCTAssertNotEqual(page, page2, "a new payment for the retry")
        try await c.get(page2)
        r = try await c.post(page2, ["aktion": "bezahlen"])
        XCTAssertEqual(r.headers.first(name: .location), "/konto/antraege/\(a.id!)")
        let all = try await Payment.query(on: app.db).filter(\.$antragID == a.id!).sort(\.$createdAt).all()
        XCTAssertEqual(all.map(\.status), ["FAILED", "PAYED"])
        r = try await k.get(caseURL)
        XCTAssertTrue(r.text.contains(all[1].kassenzeichen) && r.text.contains("bezahlt"), r.text)
        r = try await c.get("/konto/postfach")
        XCTAssertTrue(r.text.contains("Zahlung eingegangen"), r.text)
    }
}

final class PayoutReconciliationTests: XCTestCase {
    func testCashOfficeReconcilesTheProviderPayout() async throws {
        let app = try await makeTestApp()
        let token = try await createToken(app, tenant: "16051", scopes: [.payments])
        try await XBezahldiensteContractTests.endpoint(app, tenant: "16051", originator: "stadt-erfurt", endpoint: "bewohnerparken", haushaltsstelle: "1.1220.1100")
        let r0 = try await api(app, .POST, "/xbezahldienste/v1/paymenttransaction/stadt-erfurt/bewohnerparken", token: token, json: XBezahldiensteContractTests.request(id: "z1"))
        let id = try XCTUnwrap(UUID(uuidString: try r0.json()["transactionId"] as! String))
        let p = try await XCTUnwrapAsync(try await Payment.find(id, on: app.db))
        try await PaymentService.apply(paymentID: id, status: .payed, method: "CREDITCARD", detail: "", provider: "test", eventID: "e1", app: app, actor: "test")
        _ = p
        let kasse = try await createUser(app, email: "kasse@erfurt.test", role: .cashOffice, tenant: "16051")
        let b = Browser(app)
        try await b.login(kasse)
        var r = try await b.get("/mandanten/16051/kasse/tagesbericht")
        XCTAssertTrue(r.text.contains("Auszahlungen der Zahlungsdienstleister") && r.text.contains("offen"), r.text)
        r = try await b.post("/mandanten/16051/kasse/abgleich", ["dienstleister": "test", "datum": BusinessDate.today(), "betrag": "61,00"])
        XCTAssertEqual(r.status, .seeOther)
        r = try await b.get("/mandanten/16051/kasse/tagesbericht")
        XCTAssertTrue(r.text.contains("Differenz") && r.text.contains("Nicht zuordenbar"), r.text)
        r = try await b.post("/mandanten/16051/kasse/abgleich", ["dienstleister": "test", "datum": BusinessDate.today(), "betrag": "61,20"])
        r = try await b.get("/mandanten/16051/kasse/tagesbericht")
        XCTAssertTrue(r.text.contains("abgeglichen"), r.text)
        XCTAssertFalse(r.text.contains("Differenz"), r.text)
        let clerk = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let k = Browser(app)
        try await k.login(clerk)
        r = try await k.get("/mandanten/16051/kasse/tagesbericht")
        XCTAssertEqual(r.status, .forbidden, "the clerk does not see the cash office")
    }
}

extension PayoutReconciliationTests {
    /// The daily report flags an earlier day whose payout is not reconciled yet (two-week look-back,
    /// a handful of queries for all fourteen days), and refunds appear in the report and as
    /// ERSTATTUNG lines of the booking file — only the tenant's own.
    func testLookBackAndRefundBookings() async throws {
        let app = try await makeTestApp()
        let token = try await createToken(app, tenant: "16051", scopes: [.payments])
        try await XBezahldiensteContractTests.endpoint(app, tenant: "16051", originator: "stadt-erfurt", endpoint: "bewohnerparken", haushaltsstelle: "1.1220.1100")
        let r0 = try await api(app, .POST, "/xbezahldienste/v1/paymenttransaction/stadt-erfurt/bewohnerparken", token: token, json: XBezahldiensteContractTests.request(id: "y1"))
        let id = try XCTUnwrap(UUID(uuidString: try r0.json()["transactionId"] as! String))
        try await PaymentService.apply(paymentID: id, status: .payed, method: "CREDITCARD", detail: "", provider: "test", eventID: "y-e1", app: app, actor: "test")
        // paid yesterday (10:00 Berlin)
        let today = try XCTUnwrap(GermanTime.startOfDay(BusinessDate.today()))
        let yesterday = today.addingTimeInterval(-86400)
        let yesterdayISO = String(Audit.timestamp(yesterday.addingTimeInterval(43200)).prefix(10))
        func germanDate(_ iso: String) -> String { iso.split(separator: "-").reversed().joined(separator: ".") }
        let p = try await XCTUnwrapAsync(try await Payment.find(id, on: app.db))
        p.paidAt = yesterday.addingTimeInterval(36000)
        try await p.save(on: app.db)

        let kasse = try await createUser(app, email: "kasse@erfurt.test", role: .cashOffice, tenant: "16051")
        let b = Browser(app)
        try await b.login(kasse)
        var r = try await b.get("/mandanten/16051/kasse/tagesbericht")
        XCTAssertTrue(r.text.contains("\(germanDate(yesterdayISO)): Auszahlung Test-Zahlungsdienst (Demo, kein echtes Geld) über 61,20 € noch nicht abgeglichen"), r.text)
        r = try await b.post("/mandanten/16051/kasse/abgleich", ["dienstleister": "test", "datum": yesterdayISO, "betrag": "61,20"])
        XCTAssertEqual(r.status, .seeOther)
        r = try await b.get("/mandanten/16051/kasse/tagesbericht")
        XCTAssertFalse(r.text.contains("noch nicht abgeglichen"), r.text)

        // a partial refund today: in today's report and booking file, booked on the first item
        r = try await b.post("/mandanten/16051/kasse/\(id)/erstattung", ["betrag": "10,00", "grund": "Kulanz"])
        XCTAssertEqual(r.status, .seeOther, r.text)
        r = try await b.get("/mandanten/16051/kasse/tagesbericht")
        XCTAssertTrue(r.text.contains("\(p.kassenzeichen): Kulanz") && r.text.contains("−10,00"), r.text)
        r = try await b.get("/mandanten/16051/kasse/buchungsdatei")
        XCTAssertTrue(r.text.contains("\"ERSTATTUNG\";\"\(BusinessDate.today())\";\"\(p.kassenzeichen)\";\"1.1220.1100\"") && r.text.contains(";\"-1000\";"), "a negative amount stays a number: \(r.text)")
        // formulas are defused, plain numbers are not
        XCTAssertEqual(CSV.document([["=HYPERLINK(\"x\")", "-1+2", "@SUM(A1)", "-1000", "-10,50"]], delimiter: ";"),
                       "\"'=HYPERLINK(\"\"x\"\")\";\"'-1+2\";\"'@SUM(A1)\";\"-1000\";\"-10,50\"\r\n")
        // another tenant's cash office sees neither the refund nor the look-back
        let weimar = try await createUser(app, email: "kasse@weimar.test", role: .cashOffice, tenant: "16055")
        let w = Browser(app)
        try await w.login(weimar)
        r = try await w.get("/mandanten/16055/kasse/buchungsdatei")
        XCTAssertFalse(r.text.contains("ERSTATTUNG"), r.text)
        r = try await w.get("/mandanten/16055/kasse/tagesbericht")
        XCTAssertFalse(r.text.contains("Kulanz") || r.text.contains("noch nicht abgeglichen"), r.text)
    }
}

final class PaymentSettingsTests: XCTestCase {
    func testTenantAdminSetsPrefixAndCreatesAnEndpoint() async throws {
        let app = try await makeTestApp()
        let admin = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        let b = Browser(app)
        try await b.login(admin)
        var r = try await b.get("/mandanten/16051/zahlungen")
        XCTAssertEqual(r.status, .ok)
        r = try await b.post("/mandanten/16051/zahlungen", ["praefix": "erfurt-1", "ablauf": "90", "dienstleister": "test"])
        XCTAssertEqual(r.status, .badRequest)
        XCTAssertTrue(r.text.contains("1 bis 8 Großbuchstaben"))
        r = try await b.post("/mandanten/16051/zahlungen", ["praefix": "ER", "ablauf": "60", "dienstleister": "test", "haushaltsstelle": "1.0000.1000"])
        XCTAssertEqual(r.status, .seeOther)
        r = try await b.post("/mandanten/16051/zahlungen/endpunkte", ["originator": "stadt erfurt", "endpunkt": "x"])
        XCTAssertEqual(r.status, .badRequest)
        r = try await b.post("/mandanten/16051/zahlungen/endpunkte", ["originator": "stadt-erfurt", "endpunkt": "hundesteuer", "name": "Hundesteuer-Verfahren"])
        XCTAssertTrue(r.text.contains("Webhook-Geheimnis"), r.text)
        r = try await b.post("/mandanten/16051/zahlungen/endpunkte", ["originator": "stadt-erfurt", "endpunkt": "hundesteuer"])
        XCTAssertEqual(r.status, .conflict)
        let token = try await createToken(app, tenant: "16051", scopes: [.payments])
        let res = try await api(app, .POST, "/xbezahldienste/v1/paymenttransaction/stadt-erfurt/hundesteuer", token: token, json: XBezahldiensteContractTests.request())
        XCTAssertEqual(res.status, .created, res.text)
        XCTAssertTrue((try res.json()["transactionReference"] as? String ?? "").hasPrefix("ER"))
        let p = try await XCTUnwrapAsync(try await Payment.query(on: app.db).first())
        XCTAssertLessThan(p.expiresAt.timeIntervalSinceNow, 61 * 60)
        let items = try await PaymentItem.query(on: app.db).all()
        XCTAssertEqual(items.first?.haushaltsstelle, "1.0000.1000", "tenant default when the endpoint has none")
        let clerk = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let k = Browser(app)
        try await k.login(clerk)
        let denied = try await k.get("/mandanten/16051/zahlungen")
        XCTAssertEqual(denied.status, .forbidden)
    }
}
