import Foundation
import XCTest
import TestFixtures
@testable import XRechnung

/// The invoice as people read it: names for codes (code in small type), German dates and amounts,
/// findings in plain German first with the technical details folded away.
final class RenderTests: XCTestCase {
    func testCodesHaveNamesDatesAndAmountsAreGerman() throws {
        XCTAssertEqual(CodeNames.amount("336.9", currency: "EUR"), "336,90 €")
        XCTAssertEqual(CodeNames.amount("-1234567.125", currency: "EUR"), "-1.234.567,125 €")
        XCTAssertEqual(CodeNames.amount("12", currency: "USD"), "12,00 USD")
        XCTAssertEqual(CodeNames.named("380", in: CodeNames.invoiceTypes), "Rechnung (380)")
        XCTAssertEqual(CodeNames.named("999", in: CodeNames.invoiceTypes), "999")
        let report = XRechnungValidator().validate(Data(try load("testsuite/business-cases/standard/01.01a-INVOICE_ubl.xml").utf8))
        let invoice = try XCTUnwrap(report.invoice)
        let html = InvoiceHTML.fragment(invoice, attachmentLink: nil)
        XCTAssertTrue(html.contains("Rechnung (380)"), html)
        XCTAssertFalse(html.contains(">380<"))
        XCTAssertTrue(html.range(of: #"\d{2}\.\d{2}\.\d{4}"#, options: .regularExpression) != nil, "German dates")
        XCTAssertTrue(html.contains(" €"), "amounts with the currency sign")
        XCTAssertFalse(html.range(of: #"\d\.\d{1,2} EUR"#, options: .regularExpression) != nil, "no English decimal point with EUR")
    }

    func testFindingsSpeakToSmallSuppliersFirst() {
        let bad = "<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"/>"
        let html = InvoiceHTML.reportSection(XRechnungValidator().validate(Data(bad.utf8)))
        XCTAssertTrue(html.contains("<details><summary>Technische Angaben für Softwarehersteller</summary>"), html)
        let plain = html.components(separatedBy: "<details>").first ?? ""
        XCTAssertTrue(plain.contains("Fehler:"), "the plain message before the technical part")
    }
}
