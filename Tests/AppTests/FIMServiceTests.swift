import FIM
import TestFixtures
import Fluent
import Forms
import XCTest
import XCTVapor
@testable import App

/// File fields inside the items of repeating groups (FIM forms need them: "Nachweis" 0:* per
/// person) and the FIM import over the API, end to end over HTTP.
final class FIMServiceTests: XCTestCase {
    static let erfurt = "160510000000"

    func citizen(_ app: Application) async throws -> Browser {
        let hash = try await app.password.async.hash("Sicheres-Passwort-1")
        let u = User(email: "nachweise@example.org", name: "N", passwordHash: hash)
        u.kind = "citizen"; u.role = nil; u.emailVerifiedAt = Date()
        try await u.create(on: app.db)
        let b = Browser(app)
        try await b.get("/konto/anmelden")
        _ = try await b.post("/konto/anmelden", ["email": "nachweise@example.org", "passwort": "Sicheres-Passwort-1"])
        return b
    }

    func testFileFieldsInRepeatingGroupItems() async throws {
        let app = try await makeTestApp(demo: true)
        var file = FieldDefinition(id: "nachweis", type: .file, label: .init(de: "Nachweis"))
        file.required = true
        file.accept = ["pdf"]
        var group = FieldDefinition(id: "kinder", type: .group, label: .init(de: "Kinder"))
        group.fields = [FieldDefinition(id: "name", type: .text, label: .init(de: "Name")), file]
        group.minItems = 1; group.maxItems = 3; group.required = true; group.itemLabel = .init(de: "Kind")
        // the LeiKa key of "Hund anmelden", for which Erfurt has a responsible office in the demo
        let d = ServiceDefinition(slug: "nachweise-je-kind", leika: "99102013002000", version: 0, title: .init(de: "Nachweise je Kind"),
                                  summary: .init(de: "Test"), trustLevel: "basisregistrierung", fee: .none,
                                  attachments: AttachmentLimits(maxFiles: 5, maxBytesPerFile: 1_000_000),
                                  form: FormDefinition(steps: [StepDefinition(id: "kinder", title: .init(de: "Kinder"), fields: [group])]))
        _ = try await OnlineServiceCatalogue.publish(d, by: "test", actorID: nil, on: app.db)
        let act = ServiceActivation()
        act.tenantARS = "16051"; act.slug = d.slug; act.active = true; act.localText = ""; act.contact = ""; act.updatedAt = Date(); act.updatedBy = "test"
        try await act.create(on: app.db)

        let c = try await citizen(app)
        try await c.get("/onlinedienste/\(d.slug)?ars=\(Self.erfurt)")
        var r = try await c.post("/onlinedienste/\(d.slug)/antrag", ["ars": Self.erfurt])
        XCTAssertEqual(r.status, .seeOther, r.text)
        let step = try XCTUnwrap(r.headers.first(name: .location))
        let page = try await c.get(step)
        XCTAssertTrue(page.text.contains("enctype=\"multipart/form-data\""), "a file field inside a group makes the form multipart")
        let pdf = AntragJourneyTests.pdf
        // two items, each with its own file
        r = try await c.postMultipart(step, fields: ["kinder.count": "2", "kinder.0.name": "Anna", "kinder.1.name": "Ben", "aktion": "speichern"],
                                      files: [("kinder.0.nachweis", "anna.pdf", pdf), ("kinder.1.nachweis", "ben.pdf", pdf)])
        XCTAssertEqual(r.status, .ok, r.text)
        let id = try XCTUnwrap(UUID(uuidString: String(step.split(separator: "/")[2])))
        var a = try await XCTUnwrapAsync(try await Antrag.find(id, on: app.db))
        var items = a.decodedAnswers()["kinder"]?.items ?? []
        XCTAssertEqual(items.map { $0["nachweis"]?.record["name"] }, ["anna.pdf", "ben.pdf"])
        var files = try await AntragFile.query(on: app.db).filter(\.$antragID == id).all()
        XCTAssertEqual(Set(files.map(\.field)), ["kinder.0.nachweis", "kinder.1.nachweis"])
        // a post without files keeps them (names changed), and the step is complete
        r = try await c.postMultipart(step, fields: ["kinder.count": "2", "kinder.0.name": "Anna M.", "kinder.1.name": "Ben M.", "aktion": "weiter"], files: [])
        XCTAssertEqual(r.status, .seeOther, r.text)
        a = try await XCTUnwrapAsync(try await Antrag.find(id, on: app.db))
        items = a.decodedAnswers()["kinder"]?.items ?? []
        XCTAssertEqual(items.map { $0["name"]?.text }, ["Anna M.", "Ben M."])
        XCTAssertEqual(items.map { $0["nachweis"]?.record["name"] }, ["anna.pdf", "ben.pdf"])
        // a refused file type in the second item is reported at that item, nothing else is lost
        r = try await c.postMultipart(step, fields: ["kinder.count": "2", "kinder.0.name": "Anna M.", "kinder.1.name": "Ben M.", "aktion": "weiter"],
                                      files: [("kinder.1.nachweis", "ben.txt", Data("kein pdf".utf8))])
        XCTAssertEqual(r.status, .unprocessableEntity)
        // removing the first item deletes its file and moves the second one up
        r = try await c.postMultipart(step, fields: ["kinder.count": "2", "kinder.0.name": "Anna M.", "kinder.1.name": "Ben M.", "aktion": "remove:kinder:0"], files: [])
        XCTAssertEqual(r.status, .ok, r.text)
        a = try await XCTUnwrapAsync(try await Antrag.find(id, on: app.db))
        items = a.decodedAnswers()["kinder"]?.items ?? []
        XCTAssertEqual(items.map { $0["nachweis"]?.record["name"] }, ["ben.pdf"])
        files = try await AntragFile.query(on: app.db).filter(\.$antragID == id).all()
        XCTAssertEqual(files.map(\.field), ["kinder.0.nachweis"])
        XCTAssertEqual(files.map(\.name), ["ben.pdf"])
        // the required file of a new item is asked for at that item
        r = try await c.postMultipart(step, fields: ["kinder.count": "2", "kinder.0.name": "Ben M.", "kinder.1.name": "Clara", "aktion": "weiter"], files: [])
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertTrue(r.text.contains("href=\"#kinder.1.nachweis\""), "the error links to the second item's file input")
    }

    func testImportOverTheAPI() async throws {
        let app = try await makeTestApp(demo: true)
        let token = try await createToken(app, tenant: "16", scopes: [.onlinedienste])
        let xml = try String(contentsOf: TestData.fixture("fim/xdatenfelder/v2-fim/S00000094V1.0_xdf2.xml"), encoding: .utf8)
        var r = try await app.testable().sendRequest(.POST, "/api/v1/onlinedienste/import/xdatenfelder?leika=99006028261000",
                                                     headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/xml"], body: .init(string: xml))
        XCTAssertEqual(r.status, .created, r.body.string)
        let j = try r.json()
        XCTAssertEqual(j["schema"] as? String, "S00000094")
        XCTAssertEqual(j["fehler"] as? Int, 4, "the four code lists were not sent")
        XCTAssertEqual(j["veroeffentlichbar"] as? Bool, false)
        let bad = try String(contentsOf: TestData.fixture("fim/xdatenfelder/v2-synthetic/duplicate-required-value.xml"), encoding: .utf8)
        r = try await app.testable().sendRequest(.POST, "/api/v1/onlinedienste/import/xdatenfelder",
                                                 headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/xml"], body: .init(string: bad))
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertEqual(r.headers.contentType?.description.hasPrefix("application/problem+json"), true)
        let befund = try XCTUnwrap((try r.json()["befunde"] as? [[String: Any]])?.first)
        XCTAssertEqual(befund["element"] as? String, "name")
        XCTAssertEqual(befund["zeile"] as? Int, 13)
        let count = try await FIMImportRecord.query(on: app.db).count()
        XCTAssertEqual(count, 1, "a refused message writes nothing")
        // a DTD is refused; a tenant's token may not import
        r = try await app.testable().sendRequest(.POST, "/api/v1/onlinedienste/import/xdatenfelder",
                                                 headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/xml"],
                                                 body: .init(string: "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"))
        XCTAssertEqual(r.status, .unprocessableEntity)
        XCTAssertFalse(r.body.string.contains("root:"))
        let tenantToken = try await createToken(app, tenant: "16051", scopes: [.onlinedienste])
        r = try await app.testable().sendRequest(.POST, "/api/v1/onlinedienste/import/xdatenfelder",
                                                 headers: ["Authorization": "Bearer \(tenantToken)", "Content-Type": "application/xml"], body: .init(string: xml))
        XCTAssertEqual(r.status, .forbidden)
    }
}
