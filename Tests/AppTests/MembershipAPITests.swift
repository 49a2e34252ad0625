import Fluent
import XCTVapor
import XCTest
@testable import App

/// The membership journey through the API: survey → answer → results → application → approval → member.
final class MembershipAPITests: XCTestCase {
    func testJourneyThroughTheAPI() async throws {
        let app = try await makeTestApp()
        let op = try await createToken(app, tenant: "16", scopes: [.operator])
        let erfurt = try await createToken(app, tenant: "16051", scopes: [.membership])
        let berka = try await createToken(app, tenant: "160710003003", scopes: [.membership])

        // operator opens a survey round; a second one is refused while it runs
        let open = try await api(app, .POST, "/api/v1/umfragen", token: op, json: #"{"titel":"Interessenbekundung 2027"}"#)
        XCTAssertEqual(open.status, .created)
        let roundID = try XCTUnwrap(open.json()["id"] as? String)
        let second = try await api(app, .POST, "/api/v1/umfragen", token: op, json: #"{"titel":"Noch eine"}"#)
        XCTAssertEqual(second.status, .conflict)
        let byTenant = try await api(app, .POST, "/api/v1/umfragen", token: erfurt, json: #"{"titel":"x"}"#)
        XCTAssertEqual(byTenant.status, .forbidden)

        // tenants answer; bad answers are refused with a German message
        let bad = try await api(app, .PUT, "/api/v1/umfragen/\(roundID)/antworten/16051", token: erfurt,
                                json: #"{"interesse":"sehr","ansprechpartner":"A","email":"a@b.de"}"#)
        XCTAssertEqual(bad.status, .badRequest)
        XCTAssertEqual(try bad.json()["field"] as? String, "interesse")
        let badMail = try await api(app, .PUT, "/api/v1/umfragen/\(roundID)/antworten/16051", token: erfurt,
                                    json: #"{"interesse":"yes","ansprechpartner":"A","email":"kein-at"}"#)
        XCTAssertEqual(try badMail.json()["field"] as? String, "email")
        let a1 = try await api(app, .PUT, "/api/v1/umfragen/\(roundID)/antworten/16051", token: erfurt,
                               json: #"{"interesse":"yes","dienste":["erechnung","epayment"],"ansprechpartner":"Frau Amt","email":"it@erfurt.de"}"#)
        XCTAssertEqual(a1.status, .ok, a1.text)
        let a2 = try await api(app, .PUT, "/api/v1/umfragen/\(roundID)/antworten/160710003003", token: berka,
                               json: #"{"interesse":"maybe","dienste":["erechnung"],"ansprechpartner":"Herr Berka","email":"it@bad-berka.de"}"#)
        XCTAssertEqual(a2.status, .ok)
        // answering for somebody else is refused
        let foreign = try await api(app, .PUT, "/api/v1/umfragen/\(roundID)/antworten/16052", token: erfurt,
                                    json: #"{"interesse":"no","ansprechpartner":"X","email":"x@y.de"}"#)
        XCTAssertEqual(foreign.status, .forbidden)
        // changing an answer replaces it
        let a3 = try await api(app, .PUT, "/api/v1/umfragen/\(roundID)/antworten/160710003003", token: berka,
                               json: #"{"interesse":"yes","ansprechpartner":"Herr Berka","email":"it@bad-berka.de"}"#)
        XCTAssertEqual(try a3.json()["interesse"] as? String, "yes")

        let results = try await api(app, .GET, "/api/v1/umfragen/\(roundID)/ergebnisse", token: op)
        XCTAssertEqual(results.status, .ok)
        let r = try results.json()
        let total = try XCTUnwrap(r["gesamt"] as? [String: Any])
        XCTAssertEqual(total["ja"] as? Int, 2)
        XCTAssertEqual(total["beantwortet"] as? Int, 2)
        XCTAssertEqual(total["zustimmungProzent"] as? String, "100,0 %")
        let kreise = try XCTUnwrap(r["kreise"] as? [[String: Any]])
        let weimarerLand = try XCTUnwrap(kreise.first { $0["schluessel"] as? String == "16071" })
        XCTAssertEqual(weimarerLand["ja"] as? Int, 1)
        XCTAssertGreaterThan(weimarerLand["berechtigt"] as? Int ?? 0, 20)
        XCTAssertEqual((r["dienste"] as? [String: Int])?["erechnung"], 1)
        let notForTenants = try await api(app, .GET, "/api/v1/umfragen/\(roundID)/ergebnisse", token: erfurt)
        XCTAssertEqual(notForTenants.status, .forbidden)

        // close: no more answers
        let close = try await api(app, .POST, "/api/v1/umfragen/\(roundID)/abschluss", token: op)
        XCTAssertEqual(close.status, .ok)
        let late = try await api(app, .PUT, "/api/v1/umfragen/\(roundID)/antworten/16051", token: erfurt,
                                 json: #"{"interesse":"no","ansprechpartner":"A","email":"a@b.de"}"#)
        XCTAssertEqual(late.status, .conflict)

        // application with validation
        let missing = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/antrag", token: erfurt,
                                    json: #"{"antragsdatum":"2026-02-30","ratsbeschluss":"SR-1","ratsbeschlussDatum":"2026-01-10","anteilCent":250000}"#)
        XCTAssertEqual(missing.status, .badRequest)
        XCTAssertEqual(try missing.json()["field"] as? String, "antragsdatum")
        let order = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/antrag", token: erfurt,
                                  json: #"{"antragsdatum":"2026-01-05","ratsbeschluss":"SR-1","ratsbeschlussDatum":"2026-01-10","anteilCent":250000}"#)
        XCTAssertEqual(try order.json()["field"] as? String, "ratsbeschlussDatum")
        let noShare = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/antrag", token: erfurt,
                                    json: #"{"antragsdatum":"2026-01-15","ratsbeschluss":"SR-1","ratsbeschlussDatum":"2026-01-10","anteilCent":0}"#)
        XCTAssertEqual(try noShare.json()["field"] as? String, "anteilCent")
        let rows = try await Membership.query(on: app.db).count()
        XCTAssertEqual(rows, 0, "nothing half-written after refused input")

        let apply = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/antrag", token: erfurt,
                                  json: #"{"antragsdatum":"2026-01-15","ratsbeschluss":"Stadtratsbeschluss 2026/011","ratsbeschlussDatum":"2026-01-10","anteilCent":250000,"ansprechpartner":"Frau Amt"}"#)
        XCTAssertEqual(apply.status, .created, apply.text)
        XCTAssertEqual(try apply.json()["status"] as? String, "applied")
        let twice = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/antrag", token: erfurt,
                                  json: #"{"antragsdatum":"2026-01-15","ratsbeschluss":"x","ratsbeschlussDatum":"2026-01-10","anteilCent":250000}"#)
        XCTAssertEqual(twice.status, .conflict)
        XCTAssertTrue((try twice.json()["detail"] as? String ?? "").contains("Antrag gestellt"))
        // a tenant cannot approve itself, a notice before membership is illegal
        let selfApprove = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/genehmigung", token: erfurt, json: #"{"wirksamAb":"2026-02-01"}"#)
        XCTAssertEqual(selfApprove.status, .forbidden)
        let earlyNotice = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/kuendigung", token: erfurt, json: #"{"kuendigungZum":"2030-12-31"}"#)
        XCTAssertEqual(earlyNotice.status, .conflict)

        // reject needs a reason; then the tenant may apply again; approval makes it a member
        let noReason = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/ablehnung", token: op, json: #"{"begruendung":"  "}"#)
        XCTAssertEqual(noReason.status, .badRequest)
        let reject = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/ablehnung", token: op, json: #"{"begruendung":"Ratsbeschluss fehlt als Anlage"}"#)
        XCTAssertEqual(try reject.json()["status"] as? String, "rejected")
        let reapply = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/antrag", token: erfurt,
                                    json: #"{"antragsdatum":"2026-01-20","ratsbeschluss":"Stadtratsbeschluss 2026/011","ratsbeschlussDatum":"2026-01-10","anteilCent":250000}"#)
        XCTAssertEqual(reapply.status, .created)
        let tooEarly = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/genehmigung", token: op, json: #"{"wirksamAb":"2026-01-01"}"#)
        XCTAssertEqual(tooEarly.status, .badRequest)
        let approve = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/genehmigung", token: op, json: #"{"wirksamAb":"2026-02-01"}"#)
        XCTAssertEqual(approve.status, .ok)
        XCTAssertEqual(try approve.json()["status"] as? String, "member")
        XCTAssertEqual(try approve.json()["wirksamAb"] as? String, "2026-02-01")
        let again = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/genehmigung", token: op, json: #"{"wirksamAb":"2026-02-01"}"#)
        XCTAssertEqual(again.status, .conflict)

        // overview for the operator, own row only for the tenant
        let all = try await api(app, .GET, "/api/v1/mitgliedschaften?status=member", token: op)
        XCTAssertEqual(try all.json()["total"] as? Int, 1)
        let everyone = try await api(app, .GET, "/api/v1/mitgliedschaften?limit=1000", token: op)
        XCTAssertGreaterThan(try everyone.json()["total"] as? Int ?? 0, 650)
        let mine = try await api(app, .GET, "/api/v1/mitgliedschaften", token: berka)
        let mineItems = try XCTUnwrap(mine.json()["items"] as? [[String: Any]])
        XCTAssertEqual(mineItems.map { $0["ars"] as? String }, ["160710003003"])

        // notice
        let notice = try await api(app, .POST, "/api/v1/mitgliedschaften/16051/kuendigung", token: erfurt, json: #"{"kuendigungZum":"2099-12-31"}"#)
        XCTAssertEqual(try notice.json()["status"] as? String, "notice_given")

        // every transition is in the audit trail, the chain holds
        let actions = try await AuditEntry.query(on: app.db).filter(\.$tenantARS == "16051").sort(\.$seq).all().map(\.action)
        XCTAssertEqual(actions.filter { $0.hasPrefix("membership.") },
                       ["membership.apply", "membership.reject", "membership.apply", "membership.approve", "membership.give_notice"])
        let chain = try await Audit.verify(on: app.db)
        XCTAssertNil(chain.firstBroken)
        try await app.shutdownOnce()
    }

    func testUnknownOrNonTenantKeys() async throws {
        let app = try await makeTestApp()
        let op = try await createToken(app, tenant: "16", scopes: [.operator])
        let malformed = try await api(app, .GET, "/api/v1/mitgliedschaften/16x", token: op)
        XCTAssertEqual(malformed.status, .badRequest)
        let unknown = try await api(app, .GET, "/api/v1/mitgliedschaften/160519999999", token: op)
        XCTAssertEqual(unknown.status, .notFound)
        let notATenant = try await api(app, .GET, "/api/v1/mitgliedschaften/160610045", token: op)
        XCTAssertEqual(notATenant.status, .notFound)
        XCTAssertTrue((try notATenant.json()["detail"] as? String ?? "").contains("kein Mandant"))
        let anonymous = try await api(app, .GET, "/api/v1/mitgliedschaften")
        XCTAssertEqual(anonymous.status, .unauthorized)
        XCTAssertNotNil(anonymous.headers.first(name: .wwwAuthenticate))
        let badRound = try await api(app, .GET, "/api/v1/umfragen/nicht-da", token: op)
        XCTAssertEqual(badRound.status, .notFound)
        try await app.shutdownOnce()
    }
}
