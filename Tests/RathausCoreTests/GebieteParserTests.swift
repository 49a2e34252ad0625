import TestFixtures
import XCTest
@testable import RathausCore

final class GebieteParserTests: XCTestCase {
    func testShippedThuringiaHasTheOfficialCounts() throws {
        var records = try GebieteParser.parseGebieteCSV(String(contentsOf: Fixtures.resource("gebiete_th.csv"), encoding: .utf8))
        GebieteParser.enrich(&records, with: try GebieteParser.parseGemeindenCSV(try String(contentsOf: Fixtures.resource("gemeinden_th.csv"), encoding: .utf8)))
        XCTAssertEqual(records.count, 846)
        XCTAssertEqual(records.filter { $0.level == .gemeinde }.count, 631)
        XCTAssertEqual(records.filter { $0.level == .kreis }.count, 22)
        XCTAssertEqual(records.filter { $0.typeCode == "54" }.count, 43)
        XCTAssertEqual(records.filter { $0.typeCode == "44" }.count, 17)
        let erfurt = try XCTUnwrap(records.first { $0.ars.value == "160510000000" })
        XCTAssertEqual(erfurt.plzList.count, 14)
        XCTAssertNotNil(erfurt.latitude)
        XCTAssertFalse(erfurt.isJoinable, "a kreisfreie Stadt joins as its Kreis record")
        XCTAssertTrue(try XCTUnwrap(records.first { $0.ars.value == "16051" }).isJoinable)
        XCTAssertTrue(try XCTUnwrap(records.first { $0.ars.value == "160715007" }).isJoinable, "a VG is a tenant")
        XCTAssertFalse(try XCTUnwrap(records.first { $0.ars.value == "160610045" }).isJoinable, "verbandsfreie Gemeinde joins as the Gemeinde")
        XCTAssertEqual(records.filter { $0.level == .gemeinde }.reduce(0) { $0 + ($1.population ?? 0) }, 2_120_237)
    }

    /// The official fixed-width file must give exactly what the prepared CSV says, for all of Germany.
    func testGV100ADAgreesWithThePreparedCSVForEveryUnit() throws {
        let asc = try TestData.corpus("gemeinden/gv100ad/GV100AD_301121.ASC")
        let csv = try TestData.corpus("gemeinden/gebiete_de.csv")
        try agree(asc: asc, csv: csv, count: 16_060)
    }

    /// The same comparison for Thuringia from the committed extract and the shipped CSV (always runs).
    func testGV100ADAgreesWithTheShippedThuringianCSV() throws {
        try agree(asc: TestData.fixture("gemeinden/GV100AD_301121_TH.ASC"), csv: Fixtures.resource("gebiete_th.csv"), count: 846)
    }

    func agree(asc: URL, csv: URL, count: Int) throws {
        let fromASC = try GebieteParser.parseGV100AD(String(contentsOf: asc, encoding: .utf8))
        let fromCSV = try GebieteParser.parseGebieteCSV(String(contentsOf: csv, encoding: .utf8))
        XCTAssertEqual(fromASC.count, count)
        XCTAssertEqual(fromCSV.count, count)
        var csvByKey: [String: GebietRecord] = [:]
        for r in fromCSV { csvByKey[r.ars.value] = r }
        var mismatches: [String] = []
        for a in fromASC {
            guard let c = csvByKey[a.ars.value] else { mismatches.append("\(a.ars) fehlt in CSV"); continue }
            if a.name != c.name { mismatches.append("\(a.ars) Name \(a.name) ≠ \(c.name)") }
            if a.level != c.level { mismatches.append("\(a.ars) Ebene") }
            if a.parentARS != c.parentARS { mismatches.append("\(a.ars) parent \(a.parentARS?.value ?? "-") ≠ \(c.parentARS?.value ?? "-")") }
            if a.level == .gemeinde {
                if a.population != c.population { mismatches.append("\(a.ars) Einwohner") }
                if a.plz != c.plz { mismatches.append("\(a.ars) PLZ") }
                if a.ags != c.ags { mismatches.append("\(a.ars) AGS") }
            }
            if [.kreis, .gemeindeverband, .gemeinde].contains(a.level), a.typeCode != c.typeCode { mismatches.append("\(a.ars) Typ") }
        }
        XCTAssertEqual(mismatches.prefix(20), [], "\(mismatches.count) Abweichungen")
    }

    func testGV100ADRejectsGarbage() {
        XCTAssertThrowsError(try GebieteParser.parseGV100AD("hallo welt")) { error in
            XCTAssertEqual((error as? ImportLineError)?.line, 1)
        }
        XCTAssertEqual(GebieteFormat.detect("\"ebene\",\"ars\""), .gebieteCSV)
        XCTAssertNil(GebieteFormat.detect("foo,bar"))
    }
}
