import XCTest
@testable import Rollout

final class RolloutTests: XCTestCase {
    /// 11,000 generated municipalities in 400 Kreise: the shares add up per Kreis and for the state.
    func testSharesOnGeneratedNationalData() {
        var rows: [TenantRow] = []
        for i in 0..<11_000 {
            let kreis = String(format: "%05d", i % 400)
            rows.append(TenantRow(ars: kreis + String(format: "%07d", i), name: "Gemeinde \(i)", level: "gemeinde", kreisARS: kreis, kreisName: "Kreis \(kreis)",
                                  membership: i % 3 == 0 ? "member" : "none",
                                  states: ["erechnung": CapabilityState(live: i % 2 == 0), "ebezahlen": CapabilityState(live: i % 5 == 0)]))
        }
        let (total, perKreis) = RolloutAggregate.shares(rows, capabilities: ["erechnung", "ebezahlen", "unbekannt"])
        XCTAssertEqual(total["erechnung"], Share(live: 5_500, total: 11_000))
        XCTAssertEqual(total["ebezahlen"], Share(live: 2_200, total: 11_000))
        XCTAssertEqual(total["unbekannt"]?.live, 0)
        XCTAssertEqual(perKreis.count, 400)
        XCTAssertEqual(perKreis.reduce(0) { $0 + $1.tenants }, 11_000)
        XCTAssertEqual(perKreis.reduce(0) { $0 + ($1.shares["erechnung"]?.live ?? 0) }, 5_500)
        XCTAssertEqual(Share(live: 1, total: 3).percent, 33)
        XCTAssertEqual(Share(live: 1, total: 8).percent, 13)
        XCTAssertEqual(Share(live: 0, total: 0).percent, 0)
        XCTAssertEqual(Share(live: 12, total: 40).german, "12 von 40 (30 %)")
    }

    func testFilterByKreisLevelMembershipAndSearch() {
        let rows = [TenantRow(ars: "160710003003", name: "Bad Berka, Stadt", level: "gemeinde", kreisARS: "16071", kreisName: "Weimarer Land", membership: "member"),
                    TenantRow(ars: "160685008054", name: "Kölleda, Stadt", level: "gemeinde", kreisARS: "16068", kreisName: "Sömmerda", membership: "none"),
                    TenantRow(ars: "160715007", name: "Kranichfeld", level: "gemeindeverband", kreisARS: "16071", kreisName: "Weimarer Land", membership: "applied")]
        XCTAssertEqual(RolloutAggregate.filter(rows, Filter(kreis: "16071")).map(\.ars), ["160710003003", "160715007"])
        XCTAssertEqual(RolloutAggregate.filter(rows, Filter(level: "gemeindeverband")).count, 1)
        XCTAssertEqual(RolloutAggregate.filter(rows, Filter(membership: "member")).count, 1)
        XCTAssertEqual(RolloutAggregate.filter(rows, Filter(search: "kolleda")).map(\.name), ["Kölleda, Stadt"])
        XCTAssertEqual(RolloutAggregate.filter(rows, Filter(search: "Koelleda")).map(\.name), ["Kölleda, Stadt"])
        XCTAssertEqual(RolloutAggregate.filter(rows, Filter(search: "16071")).count, 2)
    }

    func testMapKeepsNorthUpAndTheStateInside() throws {
        // Thuringia roughly 50.2–51.65 N, 9.9–12.65 E
        let p = try XCTUnwrap(MapProjection(points: [(50.2, 9.9), (51.65, 12.65), (50.98, 11.03)], width: 600))
        let north = p.project(lat: 51.65, lon: 11), south = p.project(lat: 50.2, lon: 11)
        XCTAssertLessThan(north.y, south.y)
        let west = p.project(lat: 51, lon: 9.9), east = p.project(lat: 51, lon: 12.65)
        XCTAssertEqual(west.x, 10, accuracy: 0.001)
        XCTAssertEqual(east.x, 590, accuracy: 0.001)
        // 1.45° of latitude against 2.75° of longitude shortened by cos(50.9°): 20 + 580 × 1.45 / 1.733
        XCTAssertEqual(p.height, 20 + 580 * 1.45 / (2.75 * cos(50.925 * .pi / 180)), accuracy: 0.5)
        XCTAssertNil(MapProjection(points: [], width: 600))
    }

    func testDemandNormalisesAndHidesRareQueries() {
        XCTAssertEqual(Demand.normalise("  Hund   ANMELDEN!! "), "hund anmelden")
        XCTAssertEqual(Demand.normalise("Müll-Tonne, gelb"), "müll tonne gelb")
        XCTAssertEqual(Demand.normalise(String(repeating: "a", count: 200)).count, 60)
        let v = Demand.visible(["selten": 4, "hundemarke": 7, "kita platz": 12, "": 99])
        XCTAssertEqual(v.map(\.query), ["kita platz", "hundemarke"])
        let r = Demand.rank([.init(serviceKey: "A", tenant: "1", searches: 3), .init(serviceKey: "A", tenant: "1", searches: 4),
                             .init(serviceKey: "B", tenant: "1", searches: 9), .init(serviceKey: "A", tenant: "2", searches: 1)], offeredNow: ["B|1"])
        XCTAssertEqual(r, [.init(serviceKey: "A", tenant: "1", searches: 7), .init(serviceKey: "A", tenant: "2", searches: 1)])
    }

    func testTasksFollowTheMissingFacts() {
        var f = SetupTasks.Facts()
        f.offices = 2; f.officesWithoutHours = ["Bürgerbüro"]; f.ownResponsibilities = 0; f.leitwegIDs = 0
        f.activationsWithoutOffice = ["Hund anmelden"]; f.demand = [("Bewohnerparkausweis", "bewohnerparken", 6)]
        let t = SetupTasks.tasks(f, tenant: "160710003003")
        XCTAssertEqual(t.map(\.kind), ["oeffnungszeiten", "zustaendigkeiten", "leitweg", "eingang", "nachfrage"])
        XCTAssertTrue(t.allSatisfy { $0.link.hasPrefix("/mandanten/160710003003/") })
        f.officesWithoutHours = []; f.ownResponsibilities = 3; f.leitwegIDs = 1; f.activationsWithoutOffice = []; f.demand = []
        XCTAssertEqual(SetupTasks.tasks(f, tenant: "1"), [])
        XCTAssertEqual(MonthlySeries.polyline([0, 100], width: 200, height: 120), "40.0,100.0 190.0,10.0")
    }
}
