import Foundation
import XCTest
@testable import RathausCore

final class PaymentRulesTests: XCTestCase {
    func testKassenzeichenHasACheckDigitThatCatchesTypos() throws {
        let k = try Kassenzeichen.make(prefix: "EF", sequence: 123)
        XCTAssertTrue(k.value.hasPrefix("EF00000123"))
        XCTAssertEqual(k.value.count, 11)
        XCTAssertEqual(try Kassenzeichen(k.value.lowercased()).value, k.value)
        // every single-digit change and every swap of neighbours in the number part is noticed
        let chars = Array(k.value)
        for i in 2..<chars.count {
            for d in "0123456789" where d != chars[i] {
                var c = chars; c[i] = d
                XCTAssertThrowsError(try Kassenzeichen(String(c)), String(c))
            }
        }
        XCTAssertThrowsError(try Kassenzeichen.make(prefix: "ef", sequence: 1))
        XCTAssertThrowsError(try Kassenzeichen.make(prefix: "EF", sequence: 0))
        XCTAssertThrowsError(try Kassenzeichen.make(prefix: "TOOLONGPX", sequence: 1))
    }

    func testWorkflowIsFinalAndIdempotent() {
        XCTAssertEqual(PaymentWorkflow.check(from: .initial, to: .payed), .apply)
        XCTAssertEqual(PaymentWorkflow.check(from: .payed, to: .payed), .alreadyThere)
        if case .refused = PaymentWorkflow.check(from: .payed, to: .canceled) {} else { XCTFail("final") }
        if case .refused = PaymentWorkflow.check(from: .failed, to: .payed) {} else { XCTFail("final") }
    }

    func item(_ net: String, qty: Int = 1, tax: String = "0", totalNet: String? = nil) -> XBezahldiensteRules.Item {
        .init(description: "Gebühr", quantity: Decimal(qty), taxRate: 0, singleNetAmount: Decimal(string: net), singleTaxAmount: Decimal(string: tax),
              totalNetAmount: totalNet.flatMap { Decimal(string: $0) }, totalTaxAmount: nil, bookingData: ["haushaltsstelle": "1.1100.1100"])
    }

    func code(_ r: Result<(Int64, [XBezahldiensteRules.CheckedItem]), XBezahldiensteRules.Failure>) -> String {
        if case .failure(let f) = r { return f.code + ":" + f.field }
        return "OK"
    }

    func testFieldLimitsAndArithmetic() {
        let ok = XBezahldiensteRules.check(currency: "EUR", grosAmount: Decimal(string: "61.20"), purpose: "Bewohnerparkausweis", description: nil,
                                           items: [item("30.60", qty: 2, totalNet: "61.20")])
        guard case .success(let (cents, items)) = ok else { return XCTFail("\(ok)") }
        XCTAssertEqual(cents, 6120)
        XCTAssertEqual(items[0].totalCents, 6120)
        XCTAssertEqual(code(XBezahldiensteRules.check(currency: "USD", grosAmount: 1, purpose: "x", description: nil, items: [item("1")])), "VALIDATION_ERROR:currency")
        XCTAssertEqual(code(XBezahldiensteRules.check(currency: "EUR", grosAmount: 1, purpose: String(repeating: "p", count: 28), description: nil, items: [item("1")])), "VALIDATION_ERROR:purpose")
        XCTAssertEqual(code(XBezahldiensteRules.check(currency: "EUR", grosAmount: 1, purpose: String(repeating: "p", count: 27), description: nil, items: [item("1")])), "OK")
        XCTAssertEqual(code(XBezahldiensteRules.check(currency: "EUR", grosAmount: 1, purpose: "x", description: String(repeating: "d", count: 251), items: [item("1")])), "VALIDATION_ERROR:description")
        XCTAssertEqual(code(XBezahldiensteRules.check(currency: "EUR", grosAmount: 1, purpose: "x", description: nil, items: [])), "VALIDATION_ERROR:items")
        XCTAssertEqual(code(XBezahldiensteRules.check(currency: "EUR", grosAmount: 100, purpose: "x", description: nil, items: Array(repeating: item("1"), count: 100))), "VALIDATION_ERROR:items")
        XCTAssertEqual(code(XBezahldiensteRules.check(currency: "EUR", grosAmount: 99, purpose: "x", description: nil, items: Array(repeating: item("1"), count: 99))), "OK")
        XCTAssertEqual(code(XBezahldiensteRules.check(currency: "EUR", grosAmount: Decimal(string: "1.001"), purpose: "x", description: nil, items: [item("1")])), "VALIDATION_ERROR:grosAmount")
        XCTAssertEqual(code(XBezahldiensteRules.check(currency: "EUR", grosAmount: 2, purpose: "x", description: nil, items: [item("1")])), "CALCULATION_ERROR:grosAmount")
        XCTAssertEqual(code(XBezahldiensteRules.check(currency: "EUR", grosAmount: 2, purpose: "x", description: nil, items: [item("1", qty: 2, totalNet: "3")])), "CALCULATION_ERROR:items[0].totalNetAmount")
        XCTAssertTrue(XBezahldiensteRules.idOK("req-2026_01"))
        XCTAssertFalse(XBezahldiensteRules.idOK(String(repeating: "a", count: 37)))
        XCTAssertFalse(XBezahldiensteRules.idOK("mit leerzeichen"))
        XCTAssertFalse(XBezahldiensteRules.idOK("ümlaut"))
    }
}
