import XCTest
@testable import RathausCore

final class KeysTests: XCTestCase {
    func testARSLevelsAndParts() throws {
        let erfurt = try ARS("160510000000")
        XCTAssertEqual(erfurt.level, .gemeinde)
        XCTAssertEqual(erfurt.ags?.value, "16051000")
        XCTAssertEqual(erfurt.kreisKey, "16051")
        XCTAssertEqual(try ARS("16051").level, .kreis)
        XCTAssertEqual(try ARS("160715007").level, .gemeindeverband)
        XCTAssertEqual(try ARS("16").level, .land)
        XCTAssertEqual(try ARS("160715007046").ancestors.map(\.value), ["160715007", "16071", "16"])
        XCTAssertEqual(try ARS("16051").padded12, "160510000000")
    }

    func testARSRejectsMalformedKeysWithGermanMessages() {
        for (raw, code) in [("", "ars.empty"), ("16a51", "ars.digits"), ("160510", "ars.length"),
                            ("1605100000000", "ars.length"), ("170510000000", "ars.land"), ("000510000000", "ars.land")] {
            XCTAssertThrowsError(try ARS(raw), raw) { error in
                let f = error as? ValidationFailure
                XCTAssertEqual(f?.code, code, raw)
                XCTAssertFalse(f?.messageDE.isEmpty ?? true)
            }
        }
    }

    func testRegionKeyOfFourDigitsIsAccepted() throws {
        XCTAssertEqual(try ARS("0811").level, .region)
    }

    func testAGSRulesAgainstEveryThuringianGemeinde() throws {
        let text = try String(contentsOf: Fixtures.resource("gemeinden_th.csv"), encoding: .utf8)
        let (_, rows) = try CSV.records(text)
        XCTAssertEqual(rows.count, 631)
        for r in rows {
            let ars = try ARS(r["ars"]!)
            let ags = try AGS(r["ags"]!)
            XCTAssertTrue(ags.matches(ars), "\(ars) / \(ags)")
            XCTAssertEqual(ars.ags, ags)
        }
        XCTAssertFalse(try AGS("16051001").matches(try ARS("160510000000")))
        XCTAssertThrowsError(try AGS("1605100"))
        XCTAssertThrowsError(try AGS("99051000"))
    }

    func testLeitwegIDCheckDigits() throws {
        // examples of the KoSIT format specification and of the official XRechnung test suite
        for valid in ["04011000-1234512345-06", "991-33333TEST-33", "04011000-12348-91", "90000000-03083-72",
                      "992-90009-96", "04011000-900X999-08", "09564000-NUE0001-49"] {
            XCTAssertNoThrow(try LeitwegID(valid), valid)
        }
        XCTAssertEqual(try LeitwegID("991-33333test-33").description, "991-33333TEST-33")
        XCTAssertThrowsError(try LeitwegID("04011000-1234512345-07"))
        XCTAssertThrowsError(try LeitwegID("90000000-03083-12")) { XCTAssertEqual(($0 as? ValidationFailure)?.code, "leitweg.pruefziffer") }
        XCTAssertThrowsError(try LeitwegID("0401100012345")) { XCTAssertEqual(($0 as? ValidationFailure)?.code, "leitweg.format") }
        XCTAssertThrowsError(try LeitwegID("0-12345-03")) { XCTAssertEqual(($0 as? ValidationFailure)?.code, "leitweg.grob") }
        XCTAssertThrowsError(try LeitwegID("04011000-12_45-03")) { XCTAssertEqual(($0 as? ValidationFailure)?.code, "leitweg.fein") }
        XCTAssertThrowsError(try LeitwegID("04011000-12345-3")) { XCTAssertEqual(($0 as? ValidationFailure)?.code, "leitweg.pruefziffer.format") }
        let made = try LeitwegID.make(grob: "16051000", fein: "KASSE01")
        XCTAssertEqual(try LeitwegID(made.description), made)
    }

    func testMoneyParsesGermanInputExactly() throws {
        XCTAssertEqual(try Money(parsing: "1.234,56").cents, 123_456)
        XCTAssertEqual(try Money(parsing: "1234.56").cents, 123_456)
        XCTAssertEqual(try Money(parsing: "2.500").cents, 250_000)
        XCTAssertEqual(try Money(parsing: "12,5 €").cents, 1_250)
        XCTAssertEqual(try Money(parsing: "0,10").cents, 10)
        XCTAssertEqual(try Money(parsing: "-3,00").cents, -300)
        for bad in ["", "abc", "1,234", "1,2,3", "12.345,678", "€"] {
            XCTAssertThrowsError(try Money(parsing: bad), bad)
        }
        XCTAssertEqual(Money(cents: 123_456_789).formattedDE, "1.234.567,89 €")
        XCTAssertEqual(Money(cents: -5).formattedDE, "-0,05 €")
        XCTAssertEqual(Money(cents: 250_000).decimalString, "2500.00")
        XCTAssertEqual((Money(cents: 10) + Money(cents: 20)) * 3, Money(cents: 90))
    }

    func testLeiKaKey() throws {
        XCTAssertEqual(try LeiKaKey("99108001000000").urn, "urn:de:fim:leika:leistung:99108001000000")
        XCTAssertEqual(try LeiKaKey("urn:de:fim:leika:leistung:99108001000000").value, "99108001000000")
        XCTAssertThrowsError(try LeiKaKey("9910800100000"))
        XCTAssertThrowsError(try LeiKaKey("9910800100000x"))
    }

    func testBase32RFC4648Vectors() {
        let vectors = ["": "", "f": "MY", "fo": "MZXQ", "foo": "MZXW6", "foob": "MZXW6YQ", "fooba": "MZXW6YTB", "foobar": "MZXW6YTBOI"]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base32.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base32.decode(encoded).map { String(decoding: $0, as: UTF8.self) }, plain)
        }
        XCTAssertNil(Base32.decode("MZ1W"))
    }
}

enum Fixtures {
    /// Files shipped in `Sources/App/Resources/gebiete`.
    static func resource(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/App/Resources/gebiete/\(name)")
    }
}
