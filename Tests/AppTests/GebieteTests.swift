import Fluent
import TestFixtures
import XCTVapor
import XCTest
@testable import App
@testable import RathausCore

final class GebieteTests: XCTestCase {
    func testThuringiaIsLoadedOnFirstStart() async throws {
        let app = try await makeTestApp()
        func total(_ q: String) async throws -> Int {
            let res = try await api(app, .GET, "/api/v1/gebiete?\(q)")
            XCTAssertEqual(res.status, .ok, q)
            return try res.json()["total"] as? Int ?? -1
        }
        let gemeinden = try await total("land=16&ebene=gemeinde")
        let kreise = try await total("land=16&ebene=kreis")
        let land = try await total("ebene=land")
        XCTAssertEqual(gemeinden, 631)
        XCTAssertEqual(kreise, 22)
        XCTAssertEqual(land, 1)
        let vgs = try await Gebiet.query(on: app.db).filter(\.$typeCode == "54").count()
        XCTAssertEqual(vgs, 43)
        try await app.shutdownOnce()
    }

    func testCursorPagingWalksEveryGemeindeOnce() async throws {
        let app = try await makeTestApp()
        var seen: [String] = []
        var cursor: String? = nil
        repeat {
            let res = try await api(app, .GET, "/api/v1/gebiete?ebene=gemeinde&limit=200" + (cursor.map { "&cursor=\($0)" } ?? ""))
            XCTAssertEqual(res.status, .ok)
            let body = try res.json()
            XCTAssertEqual(body["total"] as? Int, 631)
            let items = try XCTUnwrap(body["items"] as? [[String: Any]])
            seen += items.compactMap { $0["ars"] as? String }
            cursor = body["next"] as? String
            XCTAssertTrue(body.keys.contains("next"), "next is always present, null at the end")
        } while cursor != nil
        XCTAssertEqual(seen.count, 631)
        XCTAssertEqual(Set(seen).count, 631)
        XCTAssertEqual(seen, seen.sorted())
        try await app.shutdownOnce()
    }

    func testSingleUnitAndBadKeys() async throws {
        let app = try await makeTestApp()
        let ok = try await api(app, .GET, "/api/v1/gebiete/160715007046")
        XCTAssertEqual(ok.status, .ok)
        let g = try ok.json()
        XCTAssertEqual(g["name"] as? String, "Kranichfeld, Stadt")
        XCTAssertEqual(g["ags"] as? String, "16071046")
        XCTAssertEqual(g["parentArs"] as? String, "160715007")
        for (key, status, code) in [("16O51", 400, "ars.digits"), ("1605", 404, "ars.unknown"), ("160515", 400, "ars.length"),
                                    ("99051", 400, "ars.land"), ("160519999999", 404, "ars.unknown")] {
            let res = try await api(app, .GET, "/api/v1/gebiete/\(key)")
            XCTAssertEqual(Int(res.status.code), status, key)
            let p = try res.json()
            XCTAssertEqual(p["code"] as? String, code, key)
            XCTAssertFalse((p["detail"] as? String ?? "").isEmpty)
        }
        for q in ["ebene=dorf", "limit=0", "limit=5000", "land=17", "kreis=123", "cursor=%27%3B"] {
            let res = try await api(app, .GET, "/api/v1/gebiete?\(q)")
            XCTAssertEqual(res.status, .badRequest, q)
        }
        let lower = try await api(app, .GET, "/api/v1/gebiete?q=kranichfeld&ebene=gemeinde")
        XCTAssertEqual(try lower.json()["total"] as? Int, 1, "name search ignores case on every engine")
        let byPLZ = try await api(app, .GET, "/api/v1/gebiete?q=99438")
        let names = try XCTUnwrap(byPLZ.json()["items"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        XCTAssertTrue(names.contains("Bad Berka, Stadt"), "\(names)")
        try await app.shutdownOnce()
    }

    func testBrowsePages() async throws {
        let app = try await makeTestApp()
        let list = try await api(app, .GET, "/gebiete?kreis=16071&ebene=gemeinde")
        XCTAssertEqual(list.status, .ok)
        XCTAssertTrue(list.text.contains("Bad Berka, Stadt"))
        XCTAssertFalse(list.text.contains("Erfurt, Stadt</a>"))
        let detail = try await api(app, .GET, "/gebiete/160715007")
        XCTAssertEqual(detail.status, .ok)
        XCTAssertTrue(detail.text.contains("Kranichfeld, Stadt"), "children of the VG are listed")
        XCTAssertTrue(detail.text.contains("Weimarer Land"), "breadcrumb shows the Kreis")
        let bad = try await api(app, .GET, "/gebiete?ebene=dorf")
        XCTAssertEqual(bad.status, .badRequest)
        XCTAssertTrue(bad.text.contains("error-summary"))
        try await app.shutdownOnce()
    }

    /// Re-importing the official GV100AD file of the same stand changes nothing; a newer stand with
    /// a merger marks the dissolved Gemeinde (never deletes it) and keeps its membership.
    func testGV100ADReimportAndMerger() async throws {
        // Thuringia's lines of the official file, committed (Tests/Fixtures/gemeinden).
        let asc = TestData.fixture("gemeinden/GV100AD_301121_TH.ASC")
        let app = try await makeTestApp()
        let records = try GebieteParser.parseGV100AD(String(contentsOf: asc, encoding: .utf8), landFilter: "16")
        let same = try await GebieteImporter().run(records, on: app.db, dryRun: true)
        XCTAssertEqual(same.added.count, 0)
        XCTAssertEqual(same.changed.map { "\($0.ars) \($0.details)" }, [])
        XCTAssertEqual(same.dissolved.count, 0)

        // a tenant with a membership that is merged into its neighbour in the newer stand
        let m = Membership(tenantARS: "160715007087")
        m.status = "member"
        try await m.create(on: app.db)
        var newer = records.filter { $0.ars.value != "160715007087" }
        for i in newer.indices {
            newer[i].asOf = "2024-01-01"
            if newer[i].ars.value == "160715007046" { newer[i].name = "Kranichfeld, Stadt (neu)"; newer[i].population = 4000 }
        }
        let dry = try await GebieteImporter().run(newer, on: app.db, dryRun: true, successors: ["160715007087": "160715007046"])
        XCTAssertEqual(dry.dissolved.map(\.ars), ["160715007087"])
        XCTAssertTrue(dry.dissolved[0].details.contains("160715007046"))
        XCTAssertEqual(dry.changed.map(\.ars), ["160715007046"])
        let untouched = try await Gebiet.find("160715007087", on: app.db)
        XCTAssertNil(untouched?.dissolvedOn, "dry run writes nothing")

        let report = try await GebieteImporter().run(newer, on: app.db, successors: ["160715007087": "160715007046"])
        XCTAssertEqual(report.dissolved.count, 1)
        let goneRow = try await Gebiet.find("160715007087", on: app.db)
        let gone = try XCTUnwrap(goneRow)
        XCTAssertEqual(gone.dissolvedOn, "2024-01-01")
        XCTAssertEqual(gone.successorARS, "160715007046")
        let merged = try await Gebiet.find("160715007046", on: app.db)
        XCTAssertEqual(merged?.name, "Kranichfeld, Stadt (neu)")
        let erfurt = try await Gebiet.find("160510000000", on: app.db)
        XCTAssertEqual(erfurt?.plzList.split(separator: ";").count, 14, "enrichments the official file lacks are kept")
        let kept = try await Membership.query(on: app.db).filter(\.$tenantARS == "160715007087").first()
        XCTAssertNotNil(kept)
        let api1 = try await api(app, .GET, "/api/v1/gebiete/160715007087")
        XCTAssertEqual(try api1.json()["nachfolgerArs"] as? String, "160715007046")
        let verify = try await Audit.verify(on: app.db)
        XCTAssertNil(verify.firstBroken)
        try await app.shutdownOnce()
    }

    func testWholeGermanyImports() async throws {
        // Whole-corpus run: looks for the data before the app starts, so a skip leaves nothing running.
        let csv = try TestData.corpus("gemeinden/gebiete_de.csv")
        let app = try await makeTestApp()
        let records = try GebieteParser.parseGebieteCSV(String(contentsOf: csv, encoding: .utf8))
        let report = try await GebieteImporter().run(records, on: app.db)
        XCTAssertEqual(report.added.count, 16_060 - 846)
        XCTAssertEqual(report.dissolved.count, 0)
        let count = try await Gebiet.query(on: app.db).count()
        XCTAssertEqual(count, 16_060)
        let bayern = try await api(app, .GET, "/api/v1/gebiete?land=09&ebene=kreis&limit=1")
        XCTAssertEqual(try bayern.json()["total"] as? Int, 96)
        try await app.shutdownOnce()
    }
}
