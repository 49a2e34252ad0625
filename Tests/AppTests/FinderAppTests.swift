import Fluent
import XCTVapor
import XCTest
@testable import App

/// The Zuständigkeitsfinder over HTTP with the demo offices.
final class FinderAppTests: XCTestCase {
    func resolve(_ app: Application, _ query: String) async throws -> (TestingHTTPResponse, [String: Any]) {
        let res = try await api(app, .GET, "/api/v1/zustaendigkeiten?\(query)")
        return (res, (try? res.json()) ?? [:])
    }

    func firstOffice(_ body: [String: Any]) -> String? {
        ((body["items"] as? [[String: Any]])?.first?["organisationseinheit"] as? [String: Any])?["name"] as? String
    }

    func testHundAnmeldenInErfurtAndInAVerwaltungsgemeinschaft() async throws {
        let app = try await makeTestApp(demo: true)
        let search = try await api(app, .GET, "/api/v1/leistungen?q=Hund%20anmelden&limit=3")
        let hits = try XCTUnwrap(search.json()["items"] as? [[String: Any]])
        let key = try XCTUnwrap(hits.first?["leistungsschluessel"] as? String)
        XCTAssertEqual(hits.first?["bezeichnung"] as? String, "Hundehaltung Anmeldung")
        XCTAssertEqual(hits.first?["typisierung"] as? String, "2/3")

        let (erfurt, eb) = try await resolve(app, "leistung=\(key)&ort=Erfurt")
        XCTAssertEqual(erfurt.status, .ok)
        XCTAssertEqual(firstOffice(eb), "Bürgeramt Erfurt (Demo)")
        let office = try XCTUnwrap(((eb["items"] as? [[String: Any]])?.first?["organisationseinheit"]) as? [String: Any])
        XCTAssertNotNil(office["jetztGeoeffnet"] as? Bool)
        XCTAssertFalse(((office["oeffnungszeiten"] as? [String: Any])?["woche"] as? [Any] ?? []).isEmpty)

        let (vg, vb) = try await resolve(app, "leistung=\(key)&ars=160715007087")
        XCTAssertEqual(vg.status, .ok)
        XCTAssertEqual(firstOffice(vb), "Verwaltungsgemeinschaft Kranichfeld (Demo)")
        let item = try XCTUnwrap((vb["items"] as? [[String: Any]])?.first)
        XCTAssertEqual((item["gebiet"] as? [String: Any])?["ars"] as? String, "160715007")
        XCTAssertEqual(item["standard"] as? Bool, true)
        let path = try XCTUnwrap(item["pfad"] as? [[String: Any]]).map { $0["gebiet"] as? String }
        XCTAssertEqual(path, ["160715007087", "160715007", "16071", "16", "160715007"])

        // Landkreis services go to the Landratsamt by explicit entry
        let (kfz, kb) = try await resolve(app, "leistung=99036008007000&ars=160715007087")
        XCTAssertEqual(kfz.status, .ok)
        XCTAssertEqual(firstOffice(kb), "Landratsamt Weimarer Land (Demo)")
        XCTAssertEqual(((kb["items"] as? [[String: Any]])?.first?["standard"]) as? Bool, false)

        // web page and embeddable snippet
        let page = try await api(app, .GET, "/finder?leistung=Hund+anmelden&ort=Erfurt")
        XCTAssertTrue(page.text.contains("Zuständig: Bürgeramt Erfurt (Demo)"), page.text)
        XCTAssertTrue(page.text.contains("Öffnungszeiten"))
        let snippet = try await api(app, .GET, "/einbetten/finder?leistung=Hund+anmelden&ort=Tonndorf")
        XCTAssertTrue(snippet.text.contains("Verwaltungsgemeinschaft Kranichfeld (Demo)"))
        XCTAssertNil(snippet.headers.first(name: "X-Frame-Options"))
        XCTAssertTrue(snippet.headers.first(name: "Content-Security-Policy")?.contains("frame-ancestors *") ?? false)
        try await app.shutdownOnce()
    }

    func testBadAndAmbiguousInput() async throws {
        let app = try await makeTestApp(demo: true)
        let (malformed, mb) = try await resolve(app, "leistung=123&ars=160510000000")
        XCTAssertEqual(malformed.status, .badRequest)
        XCTAssertEqual(mb["code"] as? String, "leika.format")
        let (unknown, ub) = try await resolve(app, "leistung=99999999999999&ars=160510000000")
        XCTAssertEqual(unknown.status, .notFound)
        XCTAssertTrue((ub["detail"] as? String ?? "").contains("99999999999999"))
        let (noPlace, _) = try await resolve(app, "leistung=99110009104000&ars=160519999999")
        XCTAssertEqual(noPlace.status, .notFound)
        let (badPLZ, _) = try await resolve(app, "leistung=99110009104000&plz=123")
        XCTAssertEqual(badPLZ.status, .badRequest)
        let (several, sb) = try await resolve(app, "leistung=99110009104000&plz=99438")
        XCTAssertEqual(several.status, .conflict)
        let names = try XCTUnwrap(sb["kandidaten"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        XCTAssertTrue(names.contains("Bad Berka, Stadt") && names.contains("Tonndorf"), "\(names)")
        let page = try await api(app, .GET, "/finder?leistung=Hund+anmelden&ort=99438")
        XCTAssertTrue(page.text.contains("Bitte wählen Sie Ihre Gemeinde"))
        let (federal, fb) = try await resolve(app, "leistung=99029002000000&ars=160510000000")
        XCTAssertEqual(federal.status, .ok)
        XCTAssertEqual((fb["items"] as? [Any])?.count, 0, "type 1: no municipal office")
        XCTAssertTrue(((fb["pfad"] as? [[String: Any]])?.last?["ergebnis"] as? String ?? "").contains("Bundesbehörde"))
        try await app.shutdownOnce()
    }

    func testTenantMaintainsOfficesAndResponsibilitiesAndCannotTouchOthers() async throws {
        let app = try await makeTestApp(demo: true)
        let erfurt = try await createToken(app, tenant: "16051", scopes: [.finder])
        let kranichfeld = try await createToken(app, tenant: "160715007", scopes: [.finder])
        let officeJSON = #"{"name":"Bürgerservice Tonndorf","art":"Bürgerbüro","strasse":"Schloßstraße 1","plz":"99438","ort":"Tonndorf","oeffnungszeiten":{"woche":[{"wochentag":2,"zeiten":[{"von":"09:00","bis":"12:00"}]}],"ausnahmen":[]}}"#
        // bad input
        let badHours = try await api(app, .POST, "/api/v1/mandanten/160715007/organisationseinheiten", token: kranichfeld,
                                     json: #"{"name":"X","art":"Y","strasse":"Z 1","plz":"99438","ort":"T","oeffnungszeiten":{"woche":[{"wochentag":1,"zeiten":[{"von":"12:00","bis":"08:00"}]}],"ausnahmen":[]}}"#)
        XCTAssertEqual(badHours.status, .badRequest)
        XCTAssertEqual(try badHours.json()["field"] as? String, "oeffnungszeiten")
        let foreign = try await api(app, .POST, "/api/v1/mandanten/160715007/organisationseinheiten", token: erfurt, json: officeJSON)
        XCTAssertEqual(foreign.status, .forbidden)
        let created = try await api(app, .POST, "/api/v1/mandanten/160715007/organisationseinheiten", token: kranichfeld, json: officeJSON)
        XCTAssertEqual(created.status, .created, created.text)
        let officeID = try XCTUnwrap(created.json()["id"] as? String)

        // responsibility for one member Gemeinde: most specific entry wins
        let entry = #"{"leistung":"99110009104000","gebiet":"160715007087","organisationseinheit":"\#(officeID)"}"#
        let e1 = try await api(app, .POST, "/api/v1/mandanten/160715007/zustaendigkeiten", token: kranichfeld, json: entry)
        XCTAssertEqual(e1.status, .created, e1.text)
        let entryID = try XCTUnwrap(e1.json()["id"] as? String)
        let (after, ab) = try await resolve(app, "leistung=99110009104000&ars=160715007087")
        XCTAssertEqual(after.status, .ok)
        XCTAssertEqual(firstOffice(ab), "Bürgerservice Tonndorf")
        XCTAssertEqual(((ab["items"] as? [[String: Any]])?.first?["standard"]) as? Bool, false)
        // the neighbour in the same VG still goes to the VG office
        let (other, ob) = try await resolve(app, "leistung=99110009104000&ars=160715007046")
        XCTAssertEqual(other.status, .ok)
        XCTAssertEqual(firstOffice(ob), "Verwaltungsgemeinschaft Kranichfeld (Demo)")

        // a second office for the same service, area and role is refused
        let dup = try await api(app, .POST, "/api/v1/mandanten/160715007/zustaendigkeiten", token: kranichfeld, json: entry)
        XCTAssertEqual(dup.status, .conflict)
        XCTAssertTrue((try dup.json()["detail"] as? String ?? "").contains("bereits"))
        // outside its own area the VG cannot enter anything; Erfurt cannot change Kranichfeld's office
        let outside = try await api(app, .POST, "/api/v1/mandanten/160715007/zustaendigkeiten", token: kranichfeld,
                                    json: #"{"leistung":"99110009104000","gebiet":"160510000000","organisationseinheit":"\#(officeID)"}"#)
        XCTAssertEqual(outside.status, .forbidden)
        let change = try await api(app, .PUT, "/api/v1/organisationseinheiten/\(officeID)", token: erfurt, json: officeJSON)
        XCTAssertEqual(change.status, .forbidden)
        let del = try await api(app, .DELETE, "/api/v1/organisationseinheiten/\(officeID)", token: erfurt)
        XCTAssertEqual(del.status, .forbidden)
        let inUse = try await api(app, .DELETE, "/api/v1/organisationseinheiten/\(officeID)", token: kranichfeld)
        XCTAssertEqual(inUse.status, .conflict)

        // removing the entry restores the default
        let removed = try await api(app, .DELETE, "/api/v1/mandanten/160715007/zustaendigkeiten/\(entryID)", token: kranichfeld)
        XCTAssertEqual(removed.status, .noContent)
        let (back, bb) = try await resolve(app, "leistung=99110009104000&ars=160715007087")
        XCTAssertEqual(back.status, .ok)
        XCTAssertEqual(firstOffice(bb), "Verwaltungsgemeinschaft Kranichfeld (Demo)")
        let audit = try await AuditEntry.query(on: app.db).filter(\.$tenantARS == "160715007").all().map(\.action)
        XCTAssertEqual(audit.filter { $0.hasPrefix("office.") || $0.hasPrefix("responsibility.") },
                       ["office.create", "responsibility.create", "responsibility.delete"])
        try await app.shutdownOnce()
    }

    func testTenantAdminUsesTheForms() async throws {
        let app = try await makeTestApp(demo: true)
        let admin = try await createUser(app, email: "admin@bad-berka.test", role: .tenantAdmin, tenant: "160710003003")
        let b = Browser(app)
        try await b.login(admin)
        let list = try await b.get("/mandanten/160710003003/organisationseinheiten")
        XCTAssertTrue(list.text.contains("Bürgerbüro Bad Berka (Demo)"))
        let bad = try await b.post("/mandanten/160710003003/organisationseinheiten",
                                   ["name": "Standesamt Bad Berka", "art": "Standesamt", "strasse": "Goethestraße 1", "plz": "99438", "ort": "Bad Berka",
                                    "oeffnungszeiten": "Montag früh"])
        XCTAssertEqual(bad.status, .badRequest)
        XCTAssertTrue(bad.text.contains("href=\"#oeffnungszeiten\""))
        let ok = try await b.post("/mandanten/160710003003/organisationseinheiten",
                                  ["name": "Standesamt Bad Berka", "art": "Standesamt", "strasse": "Goethestraße 1", "plz": "99438", "ort": "Bad Berka",
                                   "oeffnungszeiten": "Mo 09:00-12:00\nDo 14:00-18:00\n2026-12-24 geschlossen"])
        XCTAssertEqual(ok.status, .seeOther, ok.text)
        let office = try await Office.query(on: app.db).filter(\.$name == "Standesamt Bad Berka").first()
        XCTAssertEqual(office?.openingHours.weekly[4], [.init("14:00", "18:00")])
        try await b.get("/mandanten/160710003003/zustaendigkeiten")
        let added = try await b.post("/mandanten/160710003003/zustaendigkeiten",
                                     ["leistung": "99059001104000", "gebiet": "160710003003", "organisationseinheit": office!.id!.uuidString, "rolle": "responsible"])
        XCTAssertEqual(added.status, .seeOther, added.text)
        let page = try await b.get("/finder?schluessel=99059001104000&ort=Bad+Berka")
        XCTAssertTrue(page.text.contains("Zuständig: Standesamt Bad Berka"), page.text)
        let foreign = try await b.get("/mandanten/16051/organisationseinheiten")
        XCTAssertEqual(foreign.status, .forbidden)
        try await app.shutdownOnce()
    }
}

final class FinderJSONTests: XCTestCase {
    /// The hand-written response decodes to exactly what the Codable DTOs would have produced.
    func testHandWrittenResolutionJSONMatchesTheDTOs() async throws {
        let app = try await makeTestApp(demo: true)
        let snap = try await app.finder.rebuild(on: app.db)
        let service = snap.catalogue.index["99110009104000"]!
        for ars in ["160715007087", "160510000000", "160710003003"] {
            let area = snap.areaIndex[ars]!
            let now = Date()
            let list = FinderService.resolve(snap, service: service, area: area, now: now)
            let manual = try JSONSerialization.jsonObject(with: Data(FinderJSON.resolution(list, snap: snap).utf8)) as? NSDictionary
            let viaCodable = try JSONSerialization.jsonObject(with: JSONEncoder().encode(list)) as? NSDictionary
            XCTAssertEqual(manual, viaCodable, ars)
        }
        let tricky = FinderJSON.string("a\"b\\c\nd\u{1}é")
        XCTAssertEqual(try JSONSerialization.jsonObject(with: Data("[\(tricky)]".utf8)) as? [String], ["a\"b\\c\nd\u{1}é"])
        try await app.shutdownOnce()
    }
}

final class ServiceTextWebTests: XCTestCase {
    func testStateEditorAndTenantAdminWriteVersionedTexts() async throws {
        let app = try await makeTestApp(demo: true)
        let state = try await createUser(app, email: "redaktion@tmik.test", role: .state, tenant: "16")
        let admin = try await createUser(app, email: "admin@bad-berka.test", role: .tenantAdmin, tenant: "160710003003")
        let sb = Browser(app), ab = Browser(app)
        try await sb.login(state)
        try await ab.login(admin)
        let page = try await sb.get("/leistungen/99008001012000")
        XCTAssertTrue(page.text.contains("landesweit (Landesredaktion)"))
        let bad = try await sb.post("/leistungen/99008001012000/texte", ["geltung": "land", "modul": "kosten", "text": "Gebühr", "gebuehrVon": "37,00", "gebuehrBis": "22,80"])
        XCTAssertEqual(bad.status, .badRequest)
        XCTAssertTrue(bad.text.contains("href=\"#gebuehrBis\""))
        let ok = try await sb.post("/leistungen/99008001012000/texte", ["geltung": "land", "modul": "kosten", "text": "Gebühr nach PAuswGebV", "gebuehrVon": "22,80", "gebuehrBis": "37,00"])
        XCTAssertEqual(ok.status, .seeOther, ok.text)
        try await sb.post("/leistungen/99008001012000/texte", ["geltung": "land", "modul": "kosten", "text": "Gebühr nach PAuswGebV, Stand 2026", "gebuehrVon": "22,80", "gebuehrBis": "37,00"])
        let versions = try await ServiceText.query(on: app.db).filter(\.$leikaKey == "99008001012000").sort(\.$version).all()
        XCTAssertEqual(versions.map(\.version), [1, 2], "every edit is a new version")
        XCTAssertEqual(versions.last?.feeMaxCents, 3700)
        // the tenant adds a local text; it may not write statewide ones
        let notState = try await ab.post("/leistungen/99008001012000/texte", ["geltung": "land", "modul": "kosten", "text": "x"])
        XCTAssertEqual(notState.status, .forbidden)
        let local = try await ab.post("/leistungen/99008001012000/texte", ["geltung": "160710003003", "modul": "unterlagen", "text": "Biometrisches Passfoto"])
        XCTAssertEqual(local.status, .seeOther)
        let foreign = try await ab.post("/leistungen/99008001012000/texte", ["geltung": "16051", "modul": "unterlagen", "text": "x"])
        XCTAssertEqual(foreign.status, .forbidden)
        let finder = try await api(app, .GET, "/finder?schluessel=99008001012000&ort=Bad+Berka")
        XCTAssertTrue(finder.text.contains("Biometrisches Passfoto"))
        XCTAssertTrue(finder.text.contains("22,80 € bis 37,00 €"))
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action == "service_text.write").count()
        XCTAssertEqual(audit, 3)
        try await app.shutdownOnce()
    }
}
