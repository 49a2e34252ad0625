import Foundation
import RathausCore
import XCTest
@testable import Procurement

final class ProcurementTests: XCTestCase {
    func testPriceValidOnTheCallOffDate() {
        let points = [PricePoint(validFrom: "2026-01-01", netCents: 1_000), PricePoint(validFrom: "2027-01-01", netCents: 1_100),
                      PricePoint(validFrom: "2026-07-01", netCents: 1_050)]
        XCTAssertNil(PriceSchedule.price(on: "2025-12-31", points))
        XCTAssertEqual(PriceSchedule.price(on: "2026-01-01", points)?.netCents, 1_000)
        XCTAssertEqual(PriceSchedule.price(on: "2026-06-30", points)?.netCents, 1_000)
        XCTAssertEqual(PriceSchedule.price(on: "2026-07-01", points)?.netCents, 1_050)
        XCTAssertEqual(PriceSchedule.price(on: "2028-03-01", points)?.netCents, 1_100)
    }

    func testTotalsPerRateInCents() {
        let lines = [
            OrderLine(articleNumber: "A", name: "Notebook", quantity: 3, unitCode: "C62", unitNetCents: 89_999, feeCents: 1_500, vatPercent: 19),
            OrderLine(articleNumber: "B", name: "Fachbuch", quantity: 7, unitCode: "C62", unitNetCents: 1_999, vatPercent: 7),
            OrderLine(articleNumber: "C", name: "Maus", quantity: 1, unitCode: "C62", unitNetCents: 1, vatPercent: 19),
        ]
        let t = OrderTotals(lines)
        XCTAssertEqual(t.goodsCents, 3 * 89_999 + 7 * 1_999 + 1)
        XCTAssertEqual(t.feeCents, 4_500)
        // 19 %: base 269,997 + 4,500 + 1 = 274,498 → 52,154.62 → 52,155 (half up)
        XCTAssertEqual(t.byRate.first?.baseCents, 274_498)
        XCTAssertEqual(t.byRate.first?.taxCents, 52_155)
        // 7 %: 13,993 × 0.07 = 979.51 → 980
        XCTAssertEqual(t.byRate.last?.taxCents, 980)
        XCTAssertEqual(t.grossCents, t.netCents + 52_155 + 980)
        XCTAssertEqual(OrderTotals.tax(50, percent: 19), 10)   // 9.5 → 10
        XCTAssertEqual(OrderTotals.tax(-50, percent: 19), -10)
    }

    func testApprovalInHouseAndVolume() {
        XCTAssertFalse(ApprovalRule.needsSecondPerson(netCents: 500_000, thresholdCents: 500_000))
        XCTAssertTrue(ApprovalRule.needsSecondPerson(netCents: 500_001, thresholdCents: 500_000))
        XCTAssertFalse(ApprovalRule.mayApprove(requester: "user:a", approver: "user:a"))
        XCTAssertTrue(InHouse.mayCallOff(status: .member, effectiveFrom: "2026-01-01", effectiveUntil: nil, on: "2026-12-06"))
        XCTAssertFalse(InHouse.mayCallOff(status: .member, effectiveFrom: "2027-01-01", effectiveUntil: nil, on: "2026-12-06"))
        XCTAssertTrue(InHouse.mayCallOff(status: .noticeGiven, effectiveFrom: "2020-01-01", effectiveUntil: "2026-12-31", on: "2026-12-30"))
        XCTAssertFalse(InHouse.mayCallOff(status: .noticeGiven, effectiveFrom: "2020-01-01", effectiveUntil: "2026-12-31", on: "2026-12-31"))
        XCTAssertFalse(InHouse.mayCallOff(status: .applied, effectiveFrom: nil, effectiveUntil: nil, on: "2026-12-06"))
        XCTAssertTrue(FrameworkVolume.fits(maxCents: 1_000, releasedCents: 900, addCents: 100))
        XCTAssertFalse(FrameworkVolume.fits(maxCents: 1_000, releasedCents: 901, addCents: 100))
        XCTAssertTrue(FrameworkVolume.fits(maxCents: 0, releasedCents: 10_000, addCents: 1))
        XCTAssertEqual(FrameworkVolume.usedPermille(maxCents: 3_000, releasedCents: 1_000), 333)
        XCTAssertTrue(FrameworkStatus.usable(.active, startsOn: "2026-01-01", endsOn: "2026-12-31", on: "2026-12-31"))
        XCTAssertFalse(FrameworkStatus.usable(.active, startsOn: "2026-01-01", endsOn: "2026-12-31", on: "2027-01-01"))
        XCTAssertFalse(FrameworkStatus.usable(.preparation, startsOn: "2026-01-01", endsOn: "2026-12-31", on: "2026-06-01"))
    }

    func testPriceSheetImportsAllOrNothingWithGermanLineErrors() throws {
        let good = """
            artikelnummer;bezeichnung;beschreibung;einheit;preis_netto;ust_satz;mindestmenge;hoechstmenge;lieferzeit_tage;servicegebuehr;gueltig_ab;kategorie
            NB-14;Notebook 14 Zoll;"16 GB; 512 GB SSD";C62;899,99;19;1;50;10;15,00;01.01.2027;Hardware
            SUP-H;Support-Stunde;;hur;95;19;;;;;2027-01-01;Dienstleistung

            """
        guard case .success(let rows) = PriceSheet.parse(Data(good.utf8)) else { return XCTFail("good sheet refused") }
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0].description, "16 GB; 512 GB SSD")
        XCTAssertEqual(rows[0].netCents, 89_999)
        XCTAssertEqual(rows[0].feeCents, 1_500)
        XCTAssertEqual(rows[1].unitCode, "HUR")
        XCTAssertEqual(rows[1].validFrom, "2027-01-01")
        let bad = """
            artikelnummer,bezeichnung,einheit,preis_netto,ust_satz,gueltig_ab
            A1,Gut,C62,10,19,01.01.2027
            A2,Schlecht,Kiste,zehn,16,31.02.2027
            A1,Doppelt,C62,1,19,01.01.2027
            """
        guard case .failure(let problems) = PriceSheet.parse(Data(bad.utf8)) else { return XCTFail("bad sheet imported") }
        let text = problems.problems.map(\.description)
        XCTAssertTrue(text.contains { $0.hasPrefix("Zeile 3: Die Einheit „Kiste“ ist unbekannt") }, "\(text)")
        XCTAssertTrue(text.contains("Zeile 3: Der Nettopreis „zehn“ ist kein Betrag (z. B. 1.234,56)."), "\(text)")
        XCTAssertTrue(text.contains { $0.hasPrefix("Zeile 3: Der Umsatzsteuersatz „16“") }, "\(text)")
        XCTAssertTrue(text.contains("Zeile 3: „gültig ab“ ist kein Datum (TT.MM.JJJJ)."), "\(text)")
        XCTAssertTrue(text.contains("Zeile 4: Die Artikelnummer „A1“ steht schon in Zeile 2."), "\(text)")
        guard case .failure(let header) = PriceSheet.parse(Data("a;b\n1;2\n".utf8)) else { return XCTFail() }
        XCTAssertTrue(header.problems[0].description.contains("Es fehlen die Spalten artikelnummer"))
        guard case .failure(let big) = PriceSheet.parse(Data(repeating: 0x41, count: 2_000_001)) else { return XCTFail() }
        XCTAssertEqual(big.problems.first?.message, "Die Datei ist größer als 2 MB.")
    }
}
