import Fluent
import XCTVapor
import XCTest
@testable import App
import RathausCore

final class LeitwegTests: XCTestCase {
    func testTenantRegistersLeitwegIDsAndSuppliersLookThemUp() async throws {
        let app = try await makeTestApp()
        let op = try await createToken(app, tenant: "16", scopes: [.operator])
        let erfurtAdmin = try await createUser(app, email: "admin@erfurt.test", role: .tenantAdmin, tenant: "16051")
        // API: coarse address from the key, check digits computed
        let kreis = try await api(app, .POST, "/api/v1/mandanten/16051/leitweg-ids", token: op, json: #"{"fein":"kasse01","bezeichnung":"Stadtkasse Erfurt"}"#)
        XCTAssertEqual(kreis.status, .created, kreis.text)
        XCTAssertEqual(try kreis.json()["leitwegId"] as? String, "16051-KASSE01-" + LeitwegID.checkDigits("16051KASSE01"))
        let gemeinde = try await api(app, .POST, "/api/v1/mandanten/160710003003/leitweg-ids", token: op, json: #"{"bezeichnung":"Stadtverwaltung Bad Berka"}"#)
        let gid = try XCTUnwrap(gemeinde.json()["leitwegId"] as? String)
        XCTAssertTrue(gid.hasPrefix("16071003-"), "a Gemeinde's coarse address is its AGS: \(gid)")
        let dup = try await api(app, .POST, "/api/v1/mandanten/160710003003/leitweg-ids", token: op, json: #"{"bezeichnung":"nochmal"}"#)
        XCTAssertEqual(dup.status, .conflict)
        let badFine = try await api(app, .POST, "/api/v1/mandanten/16051/leitweg-ids", token: op, json: #"{"fein":"ÄMTER","bezeichnung":"x"}"#)
        XCTAssertEqual(badFine.status, .badRequest)
        let tenantToken = try await createToken(app, tenant: "16051", scopes: [.membership, .finder])
        let noScope = try await api(app, .POST, "/api/v1/mandanten/16051/leitweg-ids", token: tenantToken, json: #"{"bezeichnung":"x"}"#)
        XCTAssertEqual(noScope.status, .forbidden)

        // public lookup and check
        let byName = try await api(app, .GET, "/api/v1/leitweg-ids?name=erfurt")
        let items = try XCTUnwrap(byName.json()["items"] as? [[String: Any]])
        XCTAssertEqual(items.first?["bezeichnung"] as? String, "Stadtkasse Erfurt")
        let check = try await api(app, .GET, "/api/v1/leitweg-ids/\(gid)")
        XCTAssertEqual(try check.json()["gueltig"] as? Bool, true)
        let wrong = try await api(app, .GET, "/api/v1/leitweg-ids/04011000-1234512345-07")
        XCTAssertEqual(wrong.status, .badRequest)
        XCTAssertTrue((try wrong.json()["detail"] as? String ?? "").contains("Prüfziffer"))
        let notHere = try await api(app, .GET, "/api/v1/leitweg-ids/04011000-1234512345-06")
        XCTAssertEqual(notHere.status, .notFound)
        let page = try await api(app, .GET, "/leitweg-ids?q=Bad+Berka")
        XCTAssertTrue(page.text.contains(gid))

        // the tenant admin manages its own in the browser, deactivation is checked by suppliers
        let b = Browser(app)
        try await b.login(erfurtAdmin)
        let own = try await b.get("/mandanten/16051/leitweg-ids")
        XCTAssertTrue(own.text.contains("Stadtkasse Erfurt"))
        let created = try await b.post("/mandanten/16051/leitweg-ids", ["fein": "BAUAMT", "bezeichnung": "Bauamt"])
        XCTAssertEqual(created.status, .seeOther)
        let bauamt = "16051-BAUAMT-" + LeitwegID.checkDigits("16051BAUAMT")
        try await b.get("/mandanten/16051/leitweg-ids")
        let off = try await b.post("/mandanten/16051/leitweg-ids/\(bauamt)/deaktivierung")
        XCTAssertEqual(off.status, .seeOther)
        let after = try await api(app, .GET, "/api/v1/leitweg-ids/\(bauamt)")
        XCTAssertEqual(try after.json()["gueltig"] as? Bool, false)
        let foreign = try await b.get("/mandanten/160710003003/leitweg-ids")
        XCTAssertEqual(foreign.status, .forbidden)
        try await app.shutdownOnce()
    }
}
