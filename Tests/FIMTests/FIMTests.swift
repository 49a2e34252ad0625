import FIM
import Forms
import Foundation
import TestFixtures
import XCTest

final class FIMTests: XCTestCase {
    func data(_ path: String) throws -> Data { try Data(contentsOf: TestData.fixture("fim/" + path)) }

    func lists(_ folder: String) throws -> [GenericodeList] {
        let dir = TestData.fixture("fim/genericode/" + folder)
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map {
            try GenericodeList.parse(Data(contentsOf: dir.appendingPathComponent($0)), fileName: $0)
        }
    }

    func importSchema(_ path: String, lists: [GenericodeList] = []) throws -> (XDFSchema, FIMFormBuilder.Result) {
        let (schema, readFindings) = try XDFReader.read(data(path))
        var r = FIMFormBuilder(codeLists: lists).build(schema, slug: "fim-test", leika: "99000000000000")
        r.findings = readFindings + r.findings
        return (schema, r)
    }

    func testMutterschutzImportsCompletelyWithItsCodeLists() throws {
        let (schema, r) = try importSchema("xdatenfelder/v2-fim/S00000094V1.0_xdf2.xml", lists: lists("S00000094"))
        XCTAssertEqual(schema.id, "S00000094")
        XCTAssertEqual(schema.xdfVersion, .v2)
        XCTAssertEqual(r.findings.filter { $0.severity == .error }, [], "every code list was uploaded")
        // the 13 rules are listed for the Land, none is executed
        XCTAssertEqual(r.findings.filter { $0.element.hasPrefix("R") && $0.severity == .warning }.count, schema.rules.count)
        XCTAssertEqual(Set(schema.rules.map(\.id)).count, 13)
        let d = r.service
        XCTAssertEqual(d.fim?.schemaID, "S00000094")
        XCTAssertFalse(d.form.steps.isEmpty)
        // every select has its options, resolved from genericode (e.g. Art Beschäftigungsverhältnis: 9 values)
        func all(_ fs: [FieldDefinition]) -> [FieldDefinition] { fs.flatMap { [$0] + all($0.fields ?? []) } }
        let fields = all(d.form.steps.flatMap(\.fields))
        let selects = fields.filter { $0.type == .select }
        XCTAssertFalse(selects.isEmpty)
        XCTAssertTrue(selects.allSatisfy { !($0.options ?? []).isEmpty })
        XCTAssertTrue(selects.contains { $0.options?.count == 9 && $0.options?.first?.label.de == "Arbeitnehmerin" })
        XCTAssertTrue(fields.contains { $0.type == .date })
        XCTAssertTrue(fields.contains { $0.type == .yesno })
        XCTAssertTrue(fields.contains { $0.type == .number })
        // the report names every field and group of the schema
        let reported = Set(r.findings.map(\.element))
        for id in Set(fields.map { FIMOrigin.fimID($0.id) }) { XCTAssertTrue(reported.contains(id), id) }
        // the form engine accepts it as a publishable definition shape: unique step ids, labels
        XCTAssertEqual(Set(d.form.steps.map(\.id)).count, d.form.steps.count)
        XCTAssertTrue(fields.allSatisfy { !$0.label.de.isEmpty })
    }

    func testAllFourRealSchemasImport() throws {
        for (file, folder, groups) in [("S00000094V1.0_xdf2.xml", "S00000094", true), ("S00000121V1.0_xdf2_BlaueKarte.xml", "", true),
                                       ("S00000186V1.0_xdf2.xml", "", true), ("S00000246V1.1_xdf2.xml", "S00000246", true)] {
            let (schema, r) = try importSchema("xdatenfelder/v2-fim/" + file, lists: folder.isEmpty ? [] : lists(folder))
            XCTAssertFalse(r.service.form.steps.isEmpty, file)
            XCTAssertEqual(groups, schema.children.contains { if case .group = $0.element { true } else { false } }, file)
            // a missing code list is a finding that names it, never a crash or a silent empty list
            for e in r.findings where e.severity == .error { XCTAssertTrue(e.message.contains("Codeliste"), "\(file): \(e.message)") }
        }
        // Asbest without its 14 code lists: one error finding per select field, each naming its list
        let (_, asbest) = try importSchema("xdatenfelder/v2-fim/S00000186V1.0_xdf2.xml")
        let missing = asbest.findings.filter { $0.severity == .error }
        XCTAssertFalse(missing.isEmpty)
        XCTAssertTrue(missing.allSatisfy { $0.message.contains("urn:") && $0.message.contains("fehlt") })
        // Aufenthaltserlaubnis: repeating file fields (0:*) become lists of file inputs
        let (_, stay) = try importSchema("xdatenfelder/v2-fim/S00000246V1.1_xdf2.xml", lists: lists("S00000246"))
        func all(_ fs: [FieldDefinition]) -> [FieldDefinition] { fs.flatMap { [$0] + all($0.fields ?? []) } }
        let fields = all(stay.service.form.steps.flatMap(\.fields))
        XCTAssertTrue(fields.contains { $0.type == .group && ($0.fields ?? []).contains { $0.type == .file } && ($0.maxItems ?? 0) > 1 },
                      "a file field inside a repeating group")
    }

    func testTheFiveNegativeMessagesAreRefusedWithElementAndLine() throws {
        let cases: [(String, String, String)] = [
            ("v2-synthetic/duplicate-required-value.xml", "name", "nur einmal"),
            ("v2-synthetic/unknown-namespace.xml", "xdatenfelder.stammdatenschema.0102", "Unbekannter Namensraum"),
            ("v3-synthetic/duplicate-id-node.xml", "id", "nur einmal"),
            ("v3-synthetic/unexpected-node.xml", "unknown", "nicht vorgesehen"),
            ("v3-synthetic/invalid-freigabestatus.xml", "code", "nicht in der Codeliste"),
        ]
        for (file, element, text) in cases {
            XCTAssertThrowsError(try XDFReader.read(data("xdatenfelder/" + file)), file) { error in
                guard let e = error as? XDFImportError, let f = e.findings.first else { return XCTFail("\(file): \(error)") }
                XCTAssertEqual(f.severity, .error)
                XCTAssertEqual(f.element, element, file)
                XCTAssertGreaterThan(f.line, 1, file)
                XCTAssertTrue(f.message.contains(text), "\(file): \(f.message)")
            }
        }
    }

    func testPositiveSyntheticMessagesRead() throws {
        for f in ["v2-synthetic/simple.xml", "v2-synthetic/minimal.xml", "v2-synthetic/select.xml", "v2-synthetic/label.xml", "v2-synthetic/rule.xml",
                  "v2-synthetic/data-field-rule.xml", "v2-synthetic/data-group-rule.xml", "v3-synthetic/simple.xml", "v3-synthetic/input.xml",
                  "v3-synthetic/stammdatenschema-xmlstruct.xml"] {
            XCTAssertNoThrow(try XDFReader.read(data("xdatenfelder/" + f)), f)
        }
        // XDatenfelder 3: precision as attributes
        let (schema, _) = try XDFReader.read(data("xdatenfelder/v3-synthetic/stammdatenschema-xmlstruct.xml"))
        XCTAssertEqual(schema.xdfVersion, .v3)
        guard case .group(let g) = schema.children.first?.element, case .field(let f) = g.children.first?.element else { return XCTFail("structure") }
        XCTAssertEqual(f.precision.maxLength, 1)
        XCTAssertEqual(f.precision.pattern, "test")
    }

    func testDTDAndGarbageAreRefused() throws {
        let dtd = Data("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><xdf:xdatenfelder.stammdatenschema.0102 xmlns:xdf=\"urn:xoev-de:fim:standard:xdatenfelder_2\"/>".utf8)
        XCTAssertThrowsError(try XDFReader.read(dtd)) { XCTAssertEqual(($0 as? XDFImportError)?.findings.first?.element, "DOCTYPE") }
        XCTAssertThrowsError(try XDFReader.read(Data("kein xml".utf8)))
        XCTAssertThrowsError(try XDFReader.read(Data("<a><b></a>".utf8))) { XCTAssertEqual(($0 as? XDFImportError)?.findings.first?.element, "XML") }
        XCTAssertThrowsError(try GenericodeList.parse(Data("<x/>".utf8), fileName: "liste.xml")) {
            XCTAssertEqual(($0 as? XDFImportError)?.findings.first?.element, "liste.xml")
        }
    }

    func testDataInstanceMirrorsTheSchema() throws {
        let (_, r) = try importSchema("xdatenfelder/v2-synthetic/simple.xml")
        let d = r.service
        XCTAssertEqual(d.form.steps.map(\.id), ["G00000082"])
        let answers: Answers = ["F60000227": .text("Müller & Söhne <GmbH>")]
        let xml = try XCTUnwrap(FIMDataInstance.xml(d, answers: answers))
        XCTAssertTrue(xml.contains("<T1234 xmlns=\"urn:rathaus:fim:dateninstanz\" schemaVersion=\"1.0\" xdatenfelderVersion=\"2.0\">"), xml)
        XCTAssertTrue(xml.contains("<G00000082>\n    <F60000227>Müller &amp; Söhne &lt;GmbH&gt;</F60000227>\n  </G00000082>"), xml)
        let json = try XCTUnwrap(FIMDataInstance.json(d, answers: answers))
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: Any])
        XCTAssertEqual(obj["schema"] as? String, "T1234")
        XCTAssertEqual(((obj["daten"] as? [String: Any])?["G00000082"] as? [String: Any])?["F60000227"] as? String, "Müller & Söhne <GmbH>")
        // repeating groups repeat, yes/no is a boolean
        var g = FieldDefinition(id: "G1", type: .group, label: .init(de: "Kind"))
        var yes = FieldDefinition(id: "F2", type: .yesno, label: .init(de: "Schulpflichtig"))
        yes.required = true
        g.fields = [FieldDefinition(id: "F1", type: .text, label: .init(de: "Name")), yes]
        g.maxItems = 5
        var s = d
        s.form.steps = [StepDefinition(id: "angaben", title: .init(de: "Angaben"), fields: [g])]
        s.fim?.stepGroups = ["angaben": ""]
        let a: Answers = ["G1": .items([["F1": .text("Anna"), "F2": .text("ja")], ["F1": .text("Ben"), "F2": .text("nein")]])]
        let x2 = try XCTUnwrap(FIMDataInstance.xml(s, answers: a))
        XCTAssertEqual(x2.components(separatedBy: "<G1>").count - 1, 2)
        XCTAssertTrue(x2.contains("<F2>true</F2>") && x2.contains("<F2>false</F2>"))
        let j2 = try XCTUnwrap(JSONSerialization.jsonObject(with: XCTUnwrap(FIMDataInstance.json(s, answers: a))) as? [String: Any])
        XCTAssertEqual(((j2["daten"] as? [String: Any])?["G1"] as? [[String: Any]])?.count, 2)
        // read back (a submission received through FIT-Connect): the same answers
        XCTAssertEqual(try FIMDataInstance.answers(xml: Data(x2.utf8), service: s), a)
        XCTAssertEqual(try FIMDataInstance.answers(xml: Data(xml.utf8), service: d), answers)
        XCTAssertThrowsError(try FIMDataInstance.answers(xml: Data("<?xml version=\"1.0\"?><!DOCTYPE T1234 [<!ENTITY a \"a\">]><T1234/>".utf8), service: d))
        XCTAssertThrowsError(try FIMDataInstance.answers(xml: Data("<X xmlns=\"urn:rathaus:fim:dateninstanz\"/>".utf8), service: d)) {
            XCTAssertEqual($0 as? FIMDataInstance.DataInstanceError, .otherSchema("X"))
        }
    }
}
