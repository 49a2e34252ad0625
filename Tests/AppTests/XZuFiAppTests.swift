import Fluent
import XCTVapor
import XCTest
@testable import App
import Finder

final class XZuFiAppTests: XCTestCase {
    /// Answers for a sample of services in every Thuringian Gemeinde, computed from the in-memory index.
    func answers(_ app: Application) async throws -> [String] {
        let snap = try await app.finder.rebuild(on: app.db)
        let keys = ["99110009104000", "99008001012000", "99036008007000", "99012008001000", "99059001104000", "99102013000000", "99029002000000"]
        var out: [String] = []
        for area in snap.areas.indices where snap.areas[area].level == "gemeinde" {
            for key in keys {
                let r = snap.resolver.resolve(service: snap.catalogue.index[key]!, area: Int32(area))
                let office = r.office >= 0 ? snap.offices[Int(r.office)] : nil
                out.append("\(key)@\(snap.areas[area].ars)=\(office.map { "\($0.name)|\($0.street)|\($0.postalCode)|\($0.hours.text)" } ?? "-")@\(r.area >= 0 ? snap.areas[Int(r.area)].ars : "-")")
            }
        }
        return out
    }

    func testExportThenImportIntoAnEmptyDatabaseGivesTheSameAnswers() async throws {
        let first = try await makeTestApp(demo: true)
        let op = try await createToken(first, tenant: "16", scopes: [.operator])
        let vg = try await createToken(first, tenant: "160715007", scopes: [.finder])
        // some non-default data: an own office with an explicit entry, a contact point, texts
        let created = try await api(first, .POST, "/api/v1/mandanten/160715007/organisationseinheiten", token: vg,
                                    json: #"{"name":"Bürgerservice Tonndorf","art":"Bürgerbüro","strasse":"Schloßstraße 1","plz":"99438","ort":"Tonndorf","oeffnungszeiten":{"woche":[{"wochentag":2,"zeiten":[{"von":"09:00","bis":"12:00"}]}],"ausnahmen":[{"datum":"2026-12-31","zeiten":[],"hinweis":"Silvester"}]}}"#)
        let officeID = try XCTUnwrap(created.json()["id"] as? String)
        let e = try await api(first, .POST, "/api/v1/mandanten/160715007/zustaendigkeiten", token: vg,
                              json: #"{"leistung":"99110009104000","gebiet":"160715007087","organisationseinheit":"\#(officeID)"}"#)
        XCTAssertEqual(e.status, .created)
        let text = try await api(first, .PUT, "/api/v1/leistungen/99008001012000/texte/kosten", token: op,
                                 json: #"{"text":"Gebühr nach Personalausweisgebührenverordnung","gebuehrVonCent":2280,"gebuehrBisCent":3700}"#)
        XCTAssertEqual(text.status, .ok, text.text)
        let local = try await api(first, .PUT, "/api/v1/leistungen/99110009104000/texte/unterlagen?ars=160715007", token: vg,
                                  json: #"{"text":"Nachweis der Haftpflichtversicherung"}"#)
        XCTAssertEqual(try local.json()["version"] as? Int, 1)
        let statewideByTenant = try await api(first, .PUT, "/api/v1/leistungen/99110009104000/texte/unterlagen", token: vg, json: #"{"text":"x"}"#)
        XCTAssertEqual(statewideByTenant.status, .forbidden)
        let expected = try await answers(first)
        let exportRes = try await api(first, .GET, "/api/v1/xzufi/export", token: op)
        XCTAssertEqual(exportRes.status, .ok)
        XCTAssertEqual(exportRes.headers.contentType?.subType, "xml")
        let xml = exportRes.text
        XCTAssertTrue(xml.contains("Bürgerservice Tonndorf"))
        let tenantExport = try await api(first, .GET, "/api/v1/xzufi/export?ars=160715007", token: vg)
        XCTAssertEqual(tenantExport.status, .ok)
        XCTAssertFalse(tenantExport.text.contains("Bürgeramt Erfurt"), "a tenant exports its own objects only")
        let foreignExport = try await api(first, .GET, "/api/v1/xzufi/export?ars=16051", token: vg)
        XCTAssertEqual(foreignExport.status, .forbidden)
        try await first.shutdownOnce()

        // a fresh database without demo data: nothing resolves to an office
        let second = try await makeTestApp(demo: false)
        let op2 = try await createToken(second, tenant: "16", scopes: [.operator])
        let empty = try await answers(second)
        XCTAssertNotEqual(empty, expected)
        func send(_ body: String, token: String) async throws -> TestingHTTPResponse {
            var h = HTTPHeaders()
            h.bearerAuthorization = BearerAuthorization(token: token)
            h.contentType = .xml
            return try await second.testable().sendRequest(.POST, "/api/v1/xzufi/import", headers: h, body: ByteBuffer(string: body))
        }
        let imported = try await send(xml, token: op2)
        XCTAssertEqual(imported.status, .ok, imported.text)
        XCTAssertEqual(try imported.json()["organisationseinheitenGeschrieben"] as? Int, 210)
        let after = try await answers(second)
        XCTAssertEqual(after.count, expected.count)
        XCTAssertEqual(zip(after, expected).filter { $0 != $1 }.prefix(5).map { "\($0.0) ≠ \($0.1)" }, [])
        let texts = try await api(second, .GET, "/api/v1/leistungen/99110009104000?ars=160715007087")
        XCTAssertTrue(texts.text.contains("Haftpflichtversicherung"))

        // idempotent: the same message again changes nothing
        let again = try await send(xml, token: op2)
        let r = try again.json()
        XCTAssertEqual(r["organisationseinheitenGeschrieben"] as? Int, 0)
        XCTAssertEqual(r["zustaendigkeitenGeschrieben"] as? Int, 0)
        XCTAssertEqual(r["leistungstexteGeschrieben"] as? Int, 0)
        XCTAssertGreaterThan(r["unveraendert"] as? Int ?? 0, 200)

        // deletions of unknown objects are counted, not failed
        let del = #"<?xml version="1.0"?><xzufi:transfer.operation.040101 xmlns:xzufi="http://xoev.de/schemata/xzufi/2_2_0"><xzufi:loesche klasse="Organisationseinheit"><xzufi:id schemeAgencyID="16051">gibt-es-nicht</xzufi:id></xzufi:loesche></xzufi:transfer.operation.040101>"#
        let d = try await send(del, token: op2)
        XCTAssertEqual(d.status, .ok)
        XCTAssertEqual(try d.json()["unbekannteLoeschungenIgnoriert"] as? Int, 1)

        // hostile or foreign input: refused, nothing written
        let tenantToken = try await createToken(second, tenant: "160715007", scopes: [.finder])
        let foreign = try await send(xml, token: tenantToken)
        XCTAssertEqual(foreign.status, .forbidden)
        let xxe = try await send(#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>"#, token: op2)
        XCTAssertEqual(xxe.status, .badRequest)
        XCTAssertTrue((try xxe.json()["detail"] as? String ?? "").contains("DOCTYPE"))
        let garbage = try await send("{}", token: op2)
        XCTAssertEqual(garbage.status, .badRequest)
        let anon = try await second.testable().sendRequest(.POST, "/api/v1/xzufi/import", headers: ["Content-Type": "application/xml"], body: ByteBuffer(string: xml))
        XCTAssertEqual(anon.status, .unauthorized)
        try await second.shutdownOnce()
    }
}
