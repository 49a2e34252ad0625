import Fluent
import XCTVapor
import XCTest
import Rollout
@testable import App

/// The roll-out monitor over HTTP: the matrix filtered to one Kreis and exported; a finder search
/// for a service Bad Berka does not offer becomes a demand signal after the daily job; Bad
/// Berka's admin sees the task, activates the service, task and signal disappear; queries that
/// found nothing appear from five searches on and become a synonym in one step; the monthly
/// digest is queued once per person, also from two instances, and reaches an SMTP server once.
final class RolloutAppTests: XCTestCase {
    func demo(_ app: Application, _ email: String) async throws -> Browser {
        let u = try await XCTUnwrapAsync(try await User.query(on: app.db).filter(\.$email == email).first())
        if let secret = u.totpSecret { _ = secret }
        let b = Browser(app)
        try await b.login(u, password: DemoData.password)
        return b
    }

    func testMatrixDemandTasksSynonymAndDigest() async throws {
        let app = try await makeTestApp(demo: true)
        var second: Application? = nil
        if let url = Environment.get("DATABASE_URL"), !url.isEmpty { second = try await makeSecondInstance(url) }
        let berka = "160710003003"

        // the matrix, filtered to Weimarer Land, and its export
        let op = try await demo(app, "betrieb@demo.rathaus.test")
        let all = try await op.get("/rollout")
        XCTAssertEqual(all.status, .ok)
        XCTAssertTrue(all.text.contains("Erfurt"))
        let weimarerLand = try await op.get("/rollout?kreis=16071")
        XCTAssertTrue(weimarerLand.text.contains("Bad Berka"))
        XCTAssertFalse(weimarerLand.text.contains(">16052<"), "other Kreise are filtered out")
        XCTAssertTrue(weimarerLand.text.contains(">\(berka)<"))
        let csv = try await op.get("/rollout/export.csv?kreis=16071")
        XCTAssertEqual(csv.headers.contentType?.description.hasPrefix("text/csv"), true)
        XCTAssertTrue(csv.text.contains("\"Bad Berka, Stadt\""), csv.text.prefix(300).description)
        XCTAssertFalse(csv.text.contains("Gera"))
        for page in ["/rollout/karte?faehigkeit=erechnung", "/rollout/verlauf", "/rollout/nachfrage"] {
            let r = try await op.get(page)
            XCTAssertEqual(r.status, .ok, page)
        }
        let map = try await op.get("/rollout/karte?faehigkeit=onlinedienste")
        XCTAssertTrue(map.text.contains("<circle"), "one dot per Gemeinde")
        XCTAssertTrue(map.text.contains("aria-labelledby=\"map-title\""))

        // the API: the Land's token with scope rollout; JSON and CSV; others refused
        let land = try await createToken(app, tenant: "16", scopes: [.rollout])
        let erfurt = try await createToken(app, tenant: "16051", scopes: [.rollout])
        let json = try await api(app, .GET, "/api/v1/rollout?kreis=16071", token: land)
        XCTAssertEqual(json.status, .ok)
        let items = try XCTUnwrap(json.json()["items"] as? [[String: Any]])
        XCTAssertTrue(items.allSatisfy { ($0["kreis"] as? String) == "16071" })
        XCTAssertTrue(items.contains { ($0["ars"] as? String) == berka })
        do { let r = try await api(app, .GET, "/api/v1/rollout?format=csv", token: land); XCTAssertTrue(r.text.hasPrefix("\"ARS\"")) }
        do { let r = try await api(app, .GET, "/api/v1/rollout?format=xml", token: land); XCTAssertEqual(r.status, .badRequest) }
        do { let r = try await api(app, .GET, "/api/v1/rollout", token: erfurt); XCTAssertEqual(r.status, .forbidden, "only the Land's token") }
        do { let r = try await api(app, .GET, "/api/v1/rollout"); XCTAssertEqual(r.status, .unauthorized) }

        // a resident searches for a service Bad Berka does not offer online
        let anon = Browser(app)
        for _ in 0..<3 { _ = try await anon.get("/finder?leistung=Hund+abmelden&ort=Bad+Berka") }
        for _ in 0..<5 { _ = try await anon.get("/finder?leistung=Schnurzelwurzel&ort=Erfurt") }
        for _ in 0..<4 { _ = try await anon.get("/finder?leistung=Seltenwort&ort=Erfurt") }
        let before = try await RolloutService.signals(app, tenant: berka)
        XCTAssertTrue(before.isEmpty, "signals come from the daily aggregation")
        let first = try await RolloutService.daily(app, now: Date())
        XCTAssertEqual(first.events, 12)
        let again = try await RolloutService.daily(app, now: Date())
        XCTAssertEqual(again.events, 0, "each search is counted once")
        let signals = try await RolloutService.signals(app, tenant: berka)
        let hund = try XCTUnwrap(signals.first { $0.slug == "hund-abmelden" }, "\(signals)")
        XCTAssertEqual(hund.searches, 3)
        let demandPage = try await op.get("/rollout/nachfrage?kreis=16071")
        XCTAssertTrue(demandPage.text.contains(hund.serviceName))
        XCTAssertTrue(demandPage.text.contains("schnurzelwurzel"), "five searches: shown")
        XCTAssertFalse(demandPage.text.contains("seltenwort"), "four searches: not shown (privacy)")
        let raw = try await FinderSearchEvent.query(on: app.db).all()
        XCTAssertTrue(raw.allSatisfy { $0.query.isEmpty || $0.query == "schnurzelwurzel" || $0.query == "seltenwort" }, "no free text beyond the normalised query")

        // Bad Berka's admin sees the task, activates the service: task and signal are gone
        let admin = try await demo(app, "admin.bad-berka@demo.rathaus.test")
        let cockpit = try await admin.get("/mandanten/\(berka)/cockpit")
        XCTAssertEqual(cockpit.status, .ok)
        XCTAssertTrue(cockpit.text.contains("Suchen nach „\(hund.serviceName)“"), cockpit.text)
        _ = try await admin.get("/mandanten/\(berka)/onlinedienste")
        let office = try await XCTUnwrapAsync(try await Office.query(on: app.db).filter(\.$tenantARS == berka).first())
        let activated = try await admin.post("/mandanten/\(berka)/onlinedienste/hund-abmelden", ["aktiv": "ja", "behoerde": try office.requireID().uuidString])
        XCTAssertLessThan(activated.status.code, 400, activated.text)
        let after = try await admin.get("/mandanten/\(berka)/cockpit")
        XCTAssertFalse(after.text.contains("Suchen nach „\(hund.serviceName)“"), "the task disappears once the service is offered")
        let signalsAfter = try await RolloutService.signals(app, tenant: berka)
        XCTAssertNil(signalsAfter.first { $0.slug == "hund-abmelden" })
        // another tenant's cockpit is refused
        do { let r = try await admin.get("/mandanten/16051/cockpit"); XCTAssertEqual(r.status, .forbidden) }

        // the Land's editors add the query as a synonym; the finder finds it at once
        let state = try await demo(app, "land@demo.rathaus.test")
        _ = try await state.get("/rollout/nachfrage")
        let syn = try await state.post("/rollout/synonyme", ["suchwort": "schnurzelwurzel", "ersatz": "Hund abmelden"])
        XCTAssertEqual(syn.status, .seeOther, syn.text)
        let dup = try await state.post("/rollout/synonyme", ["suchwort": "schnurzelwurzel", "ersatz": "Hund"])
        XCTAssertEqual(dup.status, .conflict)
        _ = try await app.finder.rebuild(on: app.db)
        let found = try await anon.get("/finder?leistung=Schnurzelwurzel&ort=Bad+Berka")
        XCTAssertTrue(found.text.contains("Hund"), "the synonym leads to the service")
        do { let r = try await admin.post("/rollout/synonyme", ["suchwort": "x", "ersatz": "y"]); XCTAssertEqual(r.status, .forbidden, "a municipality does not edit the Land's catalogue") }

        // the monthly digest: once per admin and month, also from two instances; opt-out respected
        let sink = try SMTPSink()
        defer { sink.stop() }
        let apps = [app] + (second.map { [$0] } ?? [])
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for a in apps + apps { group.addTask { try await RolloutService.digest(a, now: Date()) } }
            var out: [Int] = []
            for try await n in group { out.append(n) }
            return out
        }
        let admins = try await RoleAssignment.query(on: app.db).filter(\.$role == Role.tenantAdmin.rawValue).count()
        XCTAssertEqual(counts.reduce(0, +), admins, "one digest per admin, however often and wherever the job runs")
        let sender = SMTPMailSender(host: "127.0.0.1", port: sink.port, from: "rathaus@test.local", heloName: "rathaus", threadPool: app.threadPool)
        try await Outbox.deliverDue(app: app, sender: sender, limit: 100)
        let berkaMails = sink.messages.filter { $0.to.contains { $0.contains("admin.bad-berka") } && $0.data.contains("Monatsbericht") }
        XCTAssertEqual(berkaMails.count, 1)
        do { let r = try await admin.post("/mandanten/\(berka)/cockpit/monatsbericht", [:]); XCTAssertEqual(r.status, .seeOther) }
        let nextMonth = Date().addingTimeInterval(32 * 86400)
        _ = try await RolloutService.digest(app, now: nextMonth)
        let keys = try await OutboxMail.query(on: app.db).all().map(\.key).filter { $0.hasPrefix("rollout-digest-\(berka)") }
        XCTAssertEqual(keys.count, 1, "opted out: no digest next month")

        // the time series has this month's snapshot
        let snaps = try await RolloutSnapshot.query(on: app.db).count()
        XCTAssertGreaterThan(snaps, 5)
        let series = try await op.get("/rollout/verlauf?faehigkeit=erechnung")
        XCTAssertTrue(series.text.contains("<polyline"))
    }
}
