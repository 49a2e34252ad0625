import Foundation
import XCTest
@testable import ISMS

final class ISMSTests: XCTestCase {
    let header = "thema_id;thema;anforderung_id;titel;text;stufe;hinweise;nachweise\n"

    func testCSVImportReportsEveryBadLineAndImportsNothing() {
        let csv = header
            + "ORG;Organisation;ORG-1;ISB benennen;Die Leitung benennt eine ISB.;basis;;Bestellung\n"
            + "ORG;Organisation;ORG-1;Doppelt;Noch einmal.;basis;;\n"            // line 3: duplicate id
            + "ORG;Organisation;ORG 2;Leerzeichen;Text;standard;;\n"            // line 4: invalid id
            + "BACK;Datensicherung;BACK-1;;Text;basis;;\n"                      // line 5: no title
            + "BACK;Datensicherung;BACK-2;Titel;Text;hoch;;\n"                  // line 6: unknown level
            + "\"NETZ\";\"Netze\";NETZ-1;\"Titel; mit Semikolon\";\"Text über\nzwei Zeilen\";basis;;\n" // lines 7-8: fine
            + ";Ohne;X-1;T;Text;basis;;\n"                                       // line 9: no topic id
        guard case .failure(let f) = CatalogueImport.parse(Data(csv.utf8), filename: "k.csv", id: "k", version: 2, title: "K") else {
            return XCTFail("a file with bad lines must be refused")
        }
        let lines = f.problems.map(\.line)
        XCTAssertEqual(Set(lines), [3, 4, 5, 6, 9], f.problems.map(\.description).joined(separator: "\n"))
        XCTAssertTrue(f.problems.contains { $0.description == "Zeile 6: Die Stufe „hoch“ ist unbekannt; erlaubt sind „basis“ und „standard“." })
    }

    func testCSVWithQuotesAndLineBreaksAndMissingColumns() throws {
        let csv = header + "\"NETZ\";\"Netze\";NETZ-1;\"Titel; mit Semikolon\";\"Text über\r\nzwei Zeilen\";basis;;Plan\r\n"
        let c = try CatalogueImport.parse(Data(csv.utf8), filename: "k.csv", id: "k", version: 1, title: "K").get()
        XCTAssertEqual(c.requirements.first?.title, "Titel; mit Semikolon")
        XCTAssertEqual(c.requirements.first?.text, "Text über\r\nzwei Zeilen")
        guard case .failure(let f) = CatalogueImport.parse(Data("a;b\n1;2\n".utf8), filename: "k.csv", id: "k", version: 1, title: "K") else { return XCTFail() }
        XCTAssertTrue(f.problems[0].message.hasPrefix("Es fehlen die Spalten thema_id, thema, anforderung_id"), f.problems[0].message)
        guard case .failure(let big) = CatalogueImport.parse(Data(count: CatalogueImport.maxBytes + 1), filename: "k.csv", id: "k", version: 1, title: "K") else { return XCTFail() }
        XCTAssertEqual(big.problems.count, 1)
    }

    func testDiffKeepsSurvivingIdsAndNamesChanges() throws {
        let r1 = Requirement(id: "A-1", title: "A", text: "a", level: .basic)
        let r2 = Requirement(id: "A-2", title: "B", text: "b", level: .standard)
        let old = Catalogue(id: "k", version: 1, title: "K", source: "", topics: [Topic(id: "A", title: "A", requirements: [r1, r2])])
        var r1b = r1; r1b.text = "a, genauer"
        let r3 = Requirement(id: "A-3", title: "C", text: "c", level: .basic)
        let new = Catalogue(id: "k", version: 2, title: "K", source: "", topics: [Topic(id: "A", title: "A", requirements: [r1b, r3])])
        let d = CatalogueDiff(from: old, to: new)
        XCTAssertEqual(d.added, ["A-3"]); XCTAssertEqual(d.changed, ["A-1"]); XCTAssertEqual(d.removed, ["A-2"])
        XCTAssertTrue(CatalogueDiff(from: new, to: new).isEmpty)
    }

    func testInheritanceProgressAndJustification() {
        let controls = [ProviderControl(service: "plattform", requirementID: "B-1", evidence: "x"),
                        ProviderControl(service: "e-rechnung", requirementID: "D-1", evidence: "y")]
        XCTAssertEqual(Set(Inheritance.inherited(controls, using: ["plattform", "e-rechnung"]).keys), ["B-1", "D-1"])
        XCTAssertEqual(Set(Inheritance.inherited(controls, using: ["plattform"]).keys), ["B-1"], "a service no longer used gives nothing")
        // the provider's control wins over an own open/partly answer, not over the tenant's own statement
        XCTAssertEqual(EffectiveStatus.of(own: .partly, inherited: true), EffectiveStatus(status: .fulfilled, inherited: true))
        XCTAssertEqual(EffectiveStatus.of(own: .notApplicable, inherited: true), EffectiveStatus(status: .notApplicable, inherited: false))
        XCTAssertEqual(EffectiveStatus.of(own: nil, inherited: false), EffectiveStatus(status: .open, inherited: false))
        let basic = Requirement(id: "x", title: "x", text: "x", level: .basic), std = Requirement(id: "y", title: "y", text: "y", level: .standard)
        let p = CatalogueProgress.of([(basic, .init(status: .fulfilled, inherited: true)), (basic, .init(status: .open, inherited: false)),
                                      (std, .init(status: .partly, inherited: false)), (std, .init(status: .notApplicable, inherited: false)),
                                      (basic, .init(status: .notFulfilled, inherited: false))])
        XCTAssertEqual(p.total, 5); XCTAssertEqual(p.applicable, 4); XCTAssertEqual(p.fulfilled, 1); XCTAssertEqual(p.inherited, 1)
        XCTAssertEqual(p.criticalOpen, 2)
        XCTAssertEqual(p.permille, 375, "(1 + 0.5) of 4")
        XCTAssertNotNil(Answering.check(status: .notApplicable, justification: "passt nicht", note: ""))
        XCTAssertNil(Answering.check(status: .notApplicable, justification: "Wir betreiben keinen eigenen Serverraum.", note: ""))
        XCTAssertNil(Answering.check(status: .open, justification: "", note: ""))
    }
}
