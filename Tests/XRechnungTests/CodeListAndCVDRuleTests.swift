import Foundation
import XCTest
@testable import XRechnung

/// The rules the official corpus never triggers (BR-CL-07/22/23, BR-51, the CVD value lists,
/// BR-TMP-CVD-01, BR-DEX-02, PEPPOL-EN16931-R043-1/-2 and R101): each is broken on
/// purpose in an official test invoice that is valid before the change.
final class CodeListAndCVDRuleTests: XCTestCase {
    let v = XRechnungValidator()

    /// Validates the file before and after `change`; returns the findings of `rule` afterwards.
    func findings(_ rel: String, _ rule: String, change: (String) -> String) throws -> (ValidationReport, [Finding]) {
        let original = try load(rel)
        let before = v.validate(Data(original.utf8))
        XCTAssertFalse(before.findings.contains { $0.rule == rule }, "\(rule) already in the unchanged file")
        let changed = change(original)
        XCTAssertNotEqual(changed, original, "the change applied")
        let after = v.validate(Data(changed.utf8))
        return (after, after.findings.filter { $0.rule == rule })
    }

    let ublCIUS = "testsuite/technical-cases/cius/01.03_comprehensive_test_ubl.xml"
    let ciiCIUS = "testsuite/technical-cases/cius/01.01_comprehensive_test_uncefact.xml"
    let ublCVD = "testsuite/technical-cases/cvd/02.01a-cvd_INVOICE_ubl.xml"
    let ciiCVD = "testsuite/technical-cases/cvd/02.01a-cvd_INVOICE_uncefact.xml"

    func testUnitCodeOutsideRec20IsAWarningInXRechnung() throws {
        let uses = try load(ublCIUS).components(separatedBy: "unitCode=\"XPP\"").count - 1
        let (r, f) = try findings(ublCIUS, "BR-CL-23") { $0.replacingOccurrences(of: "unitCode=\"XPP\"", with: "unitCode=\"STUECK\"") }
        XCTAssertEqual(f.count, uses, "one finding per quantity with that unit")
        XCTAssertEqual(f.first?.severity, .warning, "XRechnung lowers BR-CL-23 to a warning")
        XCTAssertTrue(f.first?.messageDE.contains("„STUECK“") ?? false)
        XCTAssertTrue(r.isValid, "a warning does not reject the invoice")
        // Rec 21 packaging codes (X…) and Rec 20 codes are accepted, padded with spaces too
        let (_, ok) = try findings(ublCIUS, "BR-CL-23") { $0.replacingOccurrences(of: "unitCode=\"XPP\"", with: "unitCode=\" H87 \"") }
        XCTAssertTrue(ok.isEmpty)
        let (_, cii) = try findings(ciiCIUS, "BR-CL-23") { $0.replacingOccurrences(of: "unitCode=\"", with: "unitCode=\"Q") }
        XCTAssertFalse(cii.isEmpty, "CII BilledQuantity/BasisQuantity")
    }

    func testVATEXIsCheckedCaseInsensitively() throws {
        let (r, f) = try findings(ublCIUS, "BR-CL-22") { $0.replacingOccurrences(of: ">VATEX-EU-132-1A<", with: ">VATEX-EU-999<") }
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.severity, .error)
        XCTAssertFalse(r.isValid)
        let (_, lower) = try findings(ublCIUS, "BR-CL-22") { $0.replacingOccurrences(of: ">VATEX-EU-132-1A<", with: ">vatex-eu-132-1a<") }
        XCTAssertTrue(lower.isEmpty, "the artefacts compare upper-cased")
        let (_, cii) = try findings(ciiCIUS, "BR-CL-22") { $0.replacingOccurrences(of: ">VATEX-EU-132-1A<", with: ">EXEMPT<") }
        XCTAssertEqual(cii.count, 1)
    }

    func testObjectIdentifierSchemeMustBeUNTDID1153() throws {
        let (r, f) = try findings(ublCIUS, "BR-CL-07") { $0.replacingOccurrences(of: "schemeID=\"ABZ\"", with: "schemeID=\"XYZ1\"") }
        XCTAssertEqual(f.count, 1)
        XCTAssertFalse(r.isValid)
        let (_, cii) = try findings(ciiCIUS, "BR-CL-07") { $0.replacingOccurrences(of: "<ram:ReferenceTypeCode>ABZ<", with: "<ram:ReferenceTypeCode>Q9<") }
        XCTAssertEqual(cii.count, 1)
    }

    func testFullCardNumberIsAWarning() throws {
        let (r, f) = try findings(ublCIUS, "BR-51") { $0.replacingOccurrences(of: ">6789</cbc:PrimaryAccountNumberID>", with: ">4111111111111111</cbc:PrimaryAccountNumberID>") }
        XCTAssertEqual(f.count, 1)
        XCTAssertEqual(f.first?.severity, .warning)
        XCTAssertTrue(r.isValid)
        XCTAssertTrue(f.first?.location.hasSuffix("cbc:PrimaryAccountNumberID") ?? false, f.first?.location ?? "")
        let (_, cii) = try findings("testsuite/business-cases/standard/03.03a-INVOICE_uncefact.xml", "BR-51") {
            $0.replacingOccurrences(of: "<ram:ID>41234</ram:ID>", with: "<ram:ID>12345612345678</ram:ID>")
        }
        XCTAssertEqual(cii.count, 1)
    }

    func testCleanVehicleValueLists() throws {
        for file in [ublCVD, ciiCVD] {
            let (r4, f4) = try findings(file, "BR-DE-CVD-04") { $0.replacingOccurrences(of: ">M2<", with: ">M5<") }
            XCTAssertEqual(f4.count, 1, file)
            XCTAssertFalse(r4.isValid)
            let (_, f5) = try findings(file, "BR-DE-CVD-05") { $0.replacingOccurrences(of: ">clean<", with: ">dirty<") }
            XCTAssertEqual(f5.count, 1, file)
            let (_, ok) = try findings(file, "BR-DE-CVD-05") { $0.replacingOccurrences(of: ">clean<", with: ">zero-emission<") }
            XCTAssertTrue(ok.isEmpty, file)
        }
        let (_, tmp) = try findings(ublCVD, "BR-TMP-CVD-01") { $0.replacingOccurrences(of: "listID=\"IB\"", with: "listID=\"XY\"") }
        XCTAssertEqual(tmp.count, 1)
        // outside the CVD scenario the rule does not apply
        let (_, plain) = try findings(ublCIUS, "BR-TMP-CVD-01") { $0.replacingOccurrences(of: "schemeID=\"ABZ\"", with: "schemeID=\"AAG\"") }
        XCTAssertTrue(plain.isEmpty)
    }

    func testChargeIndicatorMustBeTrueOrFalseInCII() throws {
        let (r, f) = try findings(ciiCIUS, "PEPPOL-EN16931-R043-2") {
            $0.replacingOccurrences(of: "<ram:AppliedTradeAllowanceCharge>\n                        <ram:ChargeIndicator>\n                            <udt:Indicator>false</udt:Indicator>",
                                    with: "<ram:AppliedTradeAllowanceCharge>\n                        <ram:ChargeIndicator>\n                            <udt:Indicator>0</udt:Indicator>")
        }
        XCTAssertEqual(f.count, 1, "xs:boolean admits 0, Peppol does not")
        XCTAssertFalse(r.isValid)
        let (_, f1) = try findings(ciiCIUS, "PEPPOL-EN16931-R043-1") {
            $0.replacingOccurrences(of: "<udt:Indicator>true</udt:Indicator>", with: "<udt:Indicator>1</udt:Indicator>")
        }
        XCTAssertFalse(f1.isEmpty)
    }

    func testLineDocumentReferenceOnlyForTheInvoicedObject() throws {
        let (r, f) = try findings(ublCIUS, "PEPPOL-EN16931-R101") {
            $0.replacingOccurrences(of: "<cbc:ID schemeID=\"ABZ\">ANG987654321</cbc:ID>\n      <cbc:DocumentTypeCode>130</cbc:DocumentTypeCode>",
                                    with: "<cbc:ID schemeID=\"ABZ\">ANG987654321</cbc:ID>\n      <cbc:DocumentTypeCode>916</cbc:DocumentTypeCode>")
        }
        XCTAssertEqual(f.count, 1)
        XCTAssertFalse(r.isValid)
    }

    func testSubLineSumsInTheExtension() throws {
        let file = "testsuite/business-cases/extension/04.01a-INVOICE_ubl.xml"
        let s = try load(file)
        // the first sub invoice line's net amount changes: its parent no longer adds up
        guard let sub = s.range(of: "<cac:SubInvoiceLine>"), let amount = s.range(of: "<cbc:LineExtensionAmount currencyID=\"EUR\">", range: sub.upperBound..<s.endIndex),
              let end = s.range(of: "</cbc:LineExtensionAmount>", range: amount.upperBound..<s.endIndex) else { return XCTFail("no sub line") }
        let (r, f) = try findings(file, "BR-DEX-02") { _ in s.replacingCharacters(in: amount.upperBound..<end.lowerBound, with: "99999.99") }
        XCTAssertGreaterThanOrEqual(f.count, 1, r.findings.map(\.rule).joined(separator: " "))
        XCTAssertTrue(f.allSatisfy { $0.severity == .warning })
    }
}

/// The syntax restriction tables (UBL-CR-*, UBL-DT-*, CII-SR-*): elements outside EN 16931 in
/// places the schema allows, each reported under the official rule id, the invoice still valid
/// where the rule is a warning.
final class SyntaxRestrictionTests: XCTestCase {
    let v = XRechnungValidator()

    func rules(_ s: String) -> [String: Severity] {
        var out: [String: Severity] = [:]
        for f in v.validate(Data(s.utf8)).findings { out[f.rule] = f.severity }
        return out
    }

    func testUBLElementsAndAttributesOutsideEN16931() throws {
        let original = try load("testsuite/business-cases/standard/01.01a-INVOICE_ubl.xml")
        XCTAssertTrue(v.validate(Data(original.utf8)).isValid)
        var s = original
        // seller postal address: a post box (UBL-CR-150), the invoice number with a scheme
        // name (UBL-DT-08), a payment due date in PaymentMeans of an invoice (UBL-CR-412)
        s = s.replacingOccurrences(of: "<cbc:StreetName>[Seller address line 1]", with: "<cbc:Postbox>12 34</cbc:Postbox><cbc:StreetName>[Seller address line 1]")
        s = s.replacingOccurrences(of: "<cbc:ID>123456XX</cbc:ID>", with: "<cbc:ID schemeName=\"intern\">123456XX</cbc:ID>")
        s = s.replacingOccurrences(of: "<cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>", with: "<cbc:PaymentMeansCode>58</cbc:PaymentMeansCode><cbc:PaymentDueDate>2024-01-01</cbc:PaymentDueDate>")
        let found = rules(s)
        XCTAssertEqual(found["UBL-CR-150"], .warning, found.keys.sorted().joined(separator: " "))
        XCTAssertEqual(found["UBL-DT-08"], .warning)
        XCTAssertEqual(found["UBL-CR-412"], .warning)
        XCTAssertNil(found["UBL-CR-213"], "the buyer's address is untouched")
        XCTAssertTrue(v.validate(Data(s.utf8)).isValid, "warnings only")
        let f = try XCTUnwrap(v.validate(Data(s.utf8)).findings.first { $0.rule == "UBL-CR-150" })
        XCTAssertTrue(f.location.hasSuffix("cbc:Postbox"), f.location)
        XCTAssertTrue(f.messageDE.contains("AccountingSupplierParty/Party/PostalAddress/Postbox"), f.messageDE)
    }

    func testUBLAmountsWithMoreThanTwoDecimalsAreFatal() throws {
        let s = try load("testsuite/business-cases/standard/01.01a-INVOICE_ubl.xml")
            .replacingOccurrences(of: "<cbc:PayableAmount currencyID=\"EUR\">336.9<", with: "<cbc:PayableAmount currencyID=\"EUR\">336.900<")
        let found = rules(s)
        XCTAssertEqual(found["UBL-DT-01"], .error, "same value, three decimals")
    }

    func testUBLAttachmentWithoutFileName() throws {
        var s = try load("testsuite/business-cases/standard/01.15a-INVOICE_ubl.xml")
        XCTAssertTrue(v.validate(Data(s.utf8)).isValid)
        s = s.replacingOccurrences(of: #" filename="[^"]*""#, with: "", options: .regularExpression)
        XCTAssertEqual(rules(s)["UBL-DT-07"], .error)
    }
}

extension SyntaxRestrictionTests {
    func testCIIElementsOutsideEN16931AndDataTypeRules() throws {
        let original = try load("testsuite/business-cases/standard/01.01a-INVOICE_uncefact.xml")
        XCTAssertTrue(v.validate(Data(original.utf8)).isValid)
        var s = original
        // a document name (CII-SR-013, warning), a post office box (CII-DT-083, fatal), a
        // currency on a line total (CII-DT-031, fatal), an impossible date (CII-DT-097, fatal)
        s = s.replacingOccurrences(of: "<ram:TypeCode>380</ram:TypeCode>", with: "<ram:Name>Rechnung</ram:Name><ram:TypeCode>380</ram:TypeCode>")
        s = s.replacingOccurrences(of: "<ram:LineOne>[Seller address line 1]", with: "<ram:PostOfficeBox>12 34</ram:PostOfficeBox><ram:LineOne>[Seller address line 1]")
        s = s.replacingOccurrences(of: "<udt:DateTimeString format=\"102\">20161231<", with: "<udt:DateTimeString format=\"102\">20161331<")
        let found = rules(s)
        XCTAssertEqual(found["CII-SR-013"], .warning, found.keys.sorted().joined(separator: " "))
        XCTAssertEqual(found["CII-DT-083"], .error)
        XCTAssertEqual(found["CII-DT-097"], .error)
        XCTAssertFalse(v.validate(Data(s.utf8)).isValid)
        let withCurrency = original.replacingOccurrences(of: "<ram:LineTotalAmount>", with: "<ram:LineTotalAmount currencyID=\"EUR\">")
        XCTAssertEqual(rules(withCurrency)["CII-DT-031"], .error)
        XCTAssertEqual(CIIRestrictions.dateOK(" 20240229 "), true)
        XCTAssertEqual(CIIRestrictions.dateOK("2024-02-29"), false)
    }

    /// Every UBL-CR, UBL-DT, CII-SR and CII-DT id of the pinned artefacts is checked somewhere:
    /// in the restriction tables or by name in the rule code (the rest is listed with the reason).
    func testEverySyntaxRuleOfTheCatalogueIsCovered() throws {
        let tableIDs = Set(SyntaxRestrictions.ubl.rules.map(\.id) + SyntaxRestrictions.cii.rules.map(\.id))
        let notCheckable: Set<String> = ["CII-DT-010", "CII-DT-011", "CII-DT-012", "CII-SR-464"] // unreachable in the artefacts
        let src = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/XRechnung/Validation")
        var code = ""
        for f in (try? FileManager.default.contentsOfDirectory(atPath: src.path)) ?? [] {
            code += (try? String(contentsOf: src.appendingPathComponent(f), encoding: .utf8)) ?? ""
        }
        XCTAssertFalse(code.isEmpty, "rule sources found at \(src.path)")
        var missing: [String] = []
        for (id, _) in RuleCatalogue.shared.entries where id.hasPrefix("UBL-CR") || id.hasPrefix("UBL-DT") || id.hasPrefix("CII-SR") || id.hasPrefix("CII-DT") {
            if tableIDs.contains(id) || notCheckable.contains(id) || code.contains("\"\(id)\"") { continue }
            // ids formed in code from a base and a number (CII-DT-00\(n + 1) …)
            if ["CII-DT-00", "CII-DT-10", "CII-DT-04", "CII-DT-03"].contains(where: { id.hasPrefix($0) && code.contains("\"\($0)\\(n") }) { continue }
            missing.append(id)
        }
        XCTAssertEqual(missing.sorted(), [], "syntax rules without a check")
    }
}
