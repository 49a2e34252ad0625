import Fluent
import XCTVapor
import XCTest
import Forms
@testable import App

/// A Land user builds a small service in the designer, previews it with an error shown, fixes it
/// and publishes it — over HTTP with the same round trips a browser without JavaScript makes.
final class ServiceDesignerTests: XCTestCase {
    func testLandBuildsPreviewsFixesAndPublishesAService() async throws {
        let app = try await makeTestApp(demo: true)
        let land = try await createUser(app, email: "land@thueringen.test", role: .state, tenant: "16")
        let b = Browser(app)
        try await b.login(land)
        var r = try await b.get("/land/onlinedienste")
        XCTAssertTrue(r.text.contains("/land/onlinedienste/designer"))
        r = try await b.get("/land/onlinedienste/designer")
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.text.contains("name=\"s0.f0.label_de\"") && r.text.contains("Vorschau"), r.text)

        var form: [String: String] = [
            "schritte": "1", "titel_de": "Baumschnitt melden", "titel_en": "Report tree pruning", "slug": "baumschnitt",
            "kurz_de": "Melden Sie einen Rückschnitt.", "leika": "99093003001002", "niveau": "basisregistrierung", "gebuehr_art": "fest",
            "gebuehr_betrag": "12,50", "gebuehr_demo": "ja", "rechtsgrundlage_de": "Baumschutzsatzung", "anlagen_anzahl": "2", "anlagen_mb": "5",
            "s0.id": "angaben", "s0.titel_de": "Angaben", "s0.felder": "2",
            "s0.f0.id": "name", "s0.f0.typ": "text", "s0.f0.label_de": "Name", "s0.f0.pflicht": "ja",
            "s0.f1.id": "art", "s0.f1.typ": "select", "s0.f1.label_de": "Art des Schnitts", "s0.f1.pflicht": "ja",
        ]
        // add a field: one more (empty) row, nothing typed is lost
        r = try await b.post("/land/onlinedienste/designer", form.merging(["aktion": "feld_neu:0"]) { a, _ in a })
        XCTAssertEqual(r.status, .ok)
        XCTAssertTrue(r.text.contains("name=\"s0.f2.label_de\"") && r.text.contains("value=\"Baumschnitt melden\""))
        let draftID = try XCTUnwrap(r.text.components(separatedBy: "name=\"entwurf\" value=\"").dropFirst().first?.prefix(36)).description
        XCTAssertNotNil(UUID(uuidString: draftID), "the draft is kept on the server")
        form["entwurf"] = draftID

        // preview with an error: a list without answers
        r = try await b.post("/land/onlinedienste/designer", form.merging(["aktion": "pruefen"]) { a, _ in a })
        XCTAssertTrue(r.text.contains("Das Auswahlfeld „art“ hat keine Antworten."), r.text)
        XCTAssertTrue(r.text.contains("id=\"vorschau-name\"") && r.text.contains("Art des Schnitts"), "preview through the form engine")
        r = try await b.post("/land/onlinedienste/designer", form.merging(["aktion": "veroeffentlichen"]) { a, _ in a })
        XCTAssertEqual(r.status, .unprocessableEntity)
        let notYet = try await OnlineServiceCatalogue.latest("baumschnitt", on: app.db)
        XCTAssertNil(notYet, "nothing is published while a problem remains")

        // fixed: answers given; the draft reopens with them; publishing creates version 1
        form["s0.f1.optionen"] = "form|Formschnitt|Shaping\npflege|Pflegeschnitt|Maintenance"
        r = try await b.post("/land/onlinedienste/designer", form.merging(["aktion": "pruefen"]) { a, _ in a })
        XCTAssertTrue(r.text.contains("Keine Probleme gefunden"), r.text)
        XCTAssertTrue(r.text.contains("Formschnitt"), "the preview shows the answers")
        r = try await b.get("/land/onlinedienste/designer?entwurf=\(draftID)")
        XCTAssertTrue(r.text.contains("Pflegeschnitt"))
        r = try await b.post("/land/onlinedienste/designer", form.merging(["aktion": "veroeffentlichen"]) { a, _ in a })
        XCTAssertEqual(r.status, .seeOther, r.text)
        XCTAssertEqual(r.headers.first(name: .location), "/land/onlinedienste?veroeffentlicht=baumschnitt-1")
        let v = try await XCTUnwrapAsync(try await OnlineServiceCatalogue.latest("baumschnitt", on: app.db))
        let d = try v.decoded()
        XCTAssertEqual(d.fee.cents, 1250)
        XCTAssertEqual(d.form.steps.first?.fields.map(\.id), ["name", "art"])
        XCTAssertEqual(d.form.steps.first?.fields.last?.options?.last?.label.en, "Maintenance")
        let drafts = try await ServiceDraft.query(on: app.db).count()
        XCTAssertEqual(drafts, 0, "the published draft is gone")
        r = try await b.get("/onlinedienste/baumschnitt")
        XCTAssertTrue(r.text.contains("Baumschnitt melden") && r.text.contains("12,50") && r.text.contains("Demo-Betrag"))

        // opening the published service and publishing again creates version 2
        r = try await b.get("/land/onlinedienste/designer?dienst=baumschnitt")
        XCTAssertTrue(r.text.contains("value=\"Baumschnitt melden\""))

        // groups: a field placed in a group is nested; removal and reordering keep the rest
        form["s0.felder"] = "4"
        form["s0.f2.id"] = "baeume"; form["s0.f2.typ"] = "group"; form["s0.f2.label_de"] = "Bäume"; form["s0.f2.max"] = "5"
        form["s0.f3.id"] = "baumart"; form["s0.f3.typ"] = "text"; form["s0.f3.label_de"] = "Baumart"; form["s0.f3.gruppe"] = "baeume"
        r = try await b.post("/land/onlinedienste/designer", form.merging(["aktion": "feld_weg:0:0"]) { a, _ in a })
        XCTAssertFalse(r.text.contains("value=\"name\""), "field removed")
        r = try await b.post("/land/onlinedienste/designer", form.merging(["aktion": "veroeffentlichen"]) { a, _ in a })
        XCTAssertEqual(r.status, .seeOther)
        let v2 = try await XCTUnwrapAsync(try await OnlineServiceCatalogue.latest("baumschnitt", on: app.db))
        XCTAssertEqual(v2.version, 2)
        XCTAssertEqual(try v2.decoded().form.steps.first?.fields.last?.fields?.map(\.id), ["baumart"])

        // only the Land publishes
        let clerk = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let k = Browser(app)
        try await k.login(clerk)
        r = try await k.get("/land/onlinedienste/designer")
        XCTAssertEqual(r.status, .forbidden)
    }
}
