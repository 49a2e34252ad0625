import Foundation
import XCTest
@testable import Forms

final class FormsTests: XCTestCase {
    static let seedDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/App/Resources/onlinedienste").standardized

    func load(_ slug: String) throws -> ServiceDefinition {
        try JSONDecoder().decode(ServiceDefinition.self, from: Data(contentsOf: Self.seedDir.appendingPathComponent("\(slug).json")))
    }

    var dog: ServiceDefinition { get throws { try load("hund-anmelden") } }

    func engine() throws -> FormEngine { FormEngine(form: try dog.form, today: "2026-11-30") }

    func goodDogAnswers() -> Answers {
        [
            "vorname": .text("Erika"), "nachname": .text("Mustermann"), "geburtsdatum": .text("12.08.1984"),
            "anschrift": .record(["strasse": "Fischmarkt", "hausnummer": "1", "plz": "99084", "ort": "Erfurt"]),
            "telefon": .text("0361 6550"),
            "hunde": .items([
                ["name": .text("Bello"), "rasse": .text("Labrador"), "wurfdatum": .text("01.03.2024"), "haltungsbeginn": .text("01.06.2024"),
                 "herkunft": .text("kauf"), "chipnummer": .text("276098106543210"), "gefaehrlich": .text("nein")],
                ["name": .text("Luna"), "rasse": .text("Mischling"), "wurfdatum": .text("2025-01-10"), "haltungsbeginn": .text("2025-04-01"),
                 "herkunft": .text("tierheim"), "gefaehrlich": .text("nein")],
            ]),
            "lastschrift": .text("ja"), "iban": .text("DE02 1203 0000 0000 2020 51"), "kontoinhaber": .text("Erika Mustermann"),
            "nachweis": .record(["id": "x", "name": "kaufvertrag.pdf", "kind": "pdf", "size": "20000"]),
        ]
    }

    func testEverySeedServiceIsAValidDefinition() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.seedDir.path).filter { $0.hasSuffix(".json") }
        XCTAssertGreaterThanOrEqual(files.count, 5)
        for f in files {
            let s = try load(String(f.dropLast(5)))
            XCTAssertEqual(s.leika.count, 14, f)
            var ids = Set<String>()
            for (_, field) in s.form.allFields { ids.insert(field.id); for sub in field.fields ?? [] { ids.insert(sub.id) } }
            XCTAssertNil(s.fee.validateDefinition(fields: ids), f)
            for (_, field) in s.form.allFields where [.select, .radio, .checkbox].contains(field.type) {
                XCTAssertFalse(s.form.options(of: field).isEmpty, "\(f): \(field.id) has no options")
            }
        }
    }

    func testCompleteDogRegistrationWithTwoDogsIsValid() throws {
        let e = try engine()
        let a = e.normalize(goodDogAnswers())
        XCTAssertEqual(e.validate(a), [])
        XCTAssertEqual(a["geburtsdatum"], .text("1984-08-12"))
        XCTAssertEqual(a["iban"], .text("DE02120300000000202051"))
        XCTAssertEqual(a["hunde"]?.items.count, 2)
        XCTAssertEqual(a["hunde"]?.items[0]["wurfdatum"], .text("2024-03-01"))
    }

    func testWrongIBANGetsAGermanMessageOnItsField() throws {
        let e = try engine()
        var a = goodDogAnswers()
        a["iban"] = .text("DE02 1203 0000 0000 2020 52")
        let issues = e.validate(e.normalize(a))
        XCTAssertEqual(issues.map(\.path), ["iban"])
        XCTAssertTrue(issues[0].de.contains("IBAN") && issues[0].de.contains("Prüfziffer"), issues[0].de)
        a["iban"] = .text("DE0212030000000020205")  // one digit short, checksum irrelevant
        XCTAssertEqual(e.validate(e.normalize(a)).map(\.code), ["iban"])
    }

    func testConditionalRequirednessAndHiddenAnswersAreDropped() throws {
        let e = try engine()
        var a = goodDogAnswers()
        a["iban"] = nil
        XCTAssertEqual(e.validate(e.normalize(a)).map(\.path), ["iban"])
        a["lastschrift"] = .text("nein")
        a["iban"] = .text("kaputt")
        let n = e.normalize(a)
        XCTAssertNil(n["iban"], "a hidden field's answer is not kept")
        XCTAssertEqual(e.validate(n), [])
    }

    func testGroupItemsAreCheckedWithPathAndItemNumber() throws {
        let e = try engine()
        var a = goodDogAnswers()
        var dogs = a["hunde"]!.items
        dogs[1]["haltungsbeginn"] = .text("01.01.2024")     // before the dog was born
        dogs[1]["gefaehrlich"] = .text("ja")               // needs the permit number
        dogs[0]["chipnummer"] = .text("12345")
        a["hunde"] = .items(dogs)
        let issues = e.validate(e.normalize(a))
        XCTAssertEqual(Set(issues.map(\.path)), ["hunde.1.haltungsbeginn", "hunde.1.erlaubnis_az", "hunde.0.chipnummer"])
        let before = try XCTUnwrap(issues.first { $0.path == "hunde.1.haltungsbeginn" })
        XCTAssertTrue(before.de.contains("(Hund 2)") && before.de.contains("nicht vor „Wurfdatum (ungefähr)“"), before.de)
        XCTAssertEqual(issues.first { $0.path == "hunde.0.chipnummer" }?.de, "Die Transpondernummer hat 15 Ziffern (ISO 11784), z. B. 276098106543210.")
    }

    func testRequiredGroupAndItemBounds() throws {
        let e = try engine()
        var a = goodDogAnswers()
        a["hunde"] = .items([])
        XCTAssertEqual(e.validate(e.normalize(a)).map(\.path), ["hunde"])
        let one = goodDogAnswers()["hunde"]!.items[0]
        a["hunde"] = .items(Array(repeating: one, count: 11))
        XCTAssertEqual(e.validate(e.normalize(a)).map(\.code), ["max_items"])
    }

    func testDatesAndAddresses() throws {
        XCTAssertEqual(FormEngine.isoDate("29.02.2024"), "2024-02-29")
        XCTAssertNil(FormEngine.isoDate("29.02.2025"))
        XCTAssertNil(FormEngine.isoDate("31.04.2025"))
        XCTAssertNil(FormEngine.isoDate("2025-4-01"))
        XCTAssertEqual(FormEngine.isoDate("1.4.2025"), "2025-04-01")
        XCTAssertTrue(FormEngine.plzOK("99084"))
        XCTAssertFalse(FormEngine.plzOK("05123"))
        XCTAssertFalse(FormEngine.plzOK("9908"))
        XCTAssertFalse(FormEngine.plzOK("9908a"))
        let e = try engine()
        var a = goodDogAnswers()
        a["geburtsdatum"] = .text("01.01.2015")  // a minor
        a["anschrift"] = .record(["strasse": "Fischmarkt", "hausnummer": "", "plz": "00123", "ort": "Erfurt"])
        let issues = e.validate(e.normalize(a))
        XCTAssertEqual(Set(issues.map(\.path)), ["geburtsdatum", "anschrift.hausnummer", "anschrift.plz"])
        XCTAssertTrue(issues.first { $0.path == "geburtsdatum" }!.de.contains("nicht nach dem 30.11.2008"), issues.description)
    }

    func testChoicesMustComeFromTheList() throws {
        let e = try engine()
        var a = goodDogAnswers()
        a["ermaessigung"] = .list(["blindenhund", "erfunden"])
        var dogs = a["hunde"]!.items
        dogs[0]["herkunft"] = .text("gestohlen")
        a["hunde"] = .items(dogs)
        XCTAssertEqual(Set(e.validate(e.normalize(a)).map(\.path)), ["ermaessigung", "hunde.0.herkunft", "nachweis_ermaessigung"])
    }

    func testFlatFormValuesBecomeAnswers() throws {
        let d = try dog
        let step = d.form.step("hunde")!
        let flat = ["hunde.count": "2", "hunde.0.name": " Bello ", "hunde.1.name": "Luna", "hunde.1.gefaehrlich": "ja"]
        let a = FlatAnswers.read(step.fields, from: flat)
        XCTAssertEqual(a["hunde"]?.items.count, 2)
        XCTAssertEqual(a["hunde"]?.items[0]["name"], .text("Bello"))
        XCTAssertEqual(a["hunde"]?.items[1]["gefaehrlich"], .text("ja"))
        let addr = FlatAnswers.read(d.form.step("halter")!.fields, from: ["anschrift.plz": "99084", "anschrift.ort": "Erfurt"])
        XCTAssertEqual(addr["anschrift"]?.record["plz"], "99084")
    }

    func testAnswersRoundTripThroughJSON() throws {
        let a = goodDogAnswers()
        let data = try JSONEncoder().encode(a)
        XCTAssertEqual(try JSONDecoder().decode(Answers.self, from: data), a)
    }

    func testFees() throws {
        XCTAssertEqual(try FeeRule.none.cents(for: [:]), 0)
        XCTAssertEqual(try FeeRule.fixed(800).cents(for: [:]), 800)
        let trade = try load("gewerbeanmeldung").fee
        XCTAssertEqual(try trade.cents(for: [:]), 2600)
        XCTAssertEqual(try trade.cents(for: ["weitere_betriebsstaetten": .items([[:], [:]])]), 2600 + 2 * 1300)
        let use = try load("sondernutzung").fee
        XCTAssertEqual(try use.cents(for: ["flaeche": .text("2.5"), "tage": .text("3")]), 2500, "minimum applies")
        XCTAssertEqual(try use.cents(for: ["flaeche": .text("12.5"), "tage": .text("7")]), 4375)
        XCTAssertEqual(try use.cents(for: ["flaeche": .text("0.33"), "tage": .text("200")]), 3300)
        let parking = try load("bewohnerparkausweis").fee
        XCTAssertEqual(try parking.cents(for: ["jahre": .text("2")]), 6120)
        let odd = FeeRule(kind: "formel", formula: "1000 / (tage - tage)")
        XCTAssertThrowsError(try odd.cents(for: ["tage": .text("2")]))
        XCTAssertEqual(FeeRule(kind: "formel", formula: "10 * ja(gefaehrlich) + 5").validateDefinition(fields: ["gefaehrlich"]), nil)
        XCTAssertNotNil(FeeRule(kind: "formel", formula: "10 * unbekannt").validateDefinition(fields: ["x"]))
        XCTAssertNotNil(FeeRule(kind: "formel", formula: "(10 * 2").validateDefinition(fields: []))
        XCTAssertNotNil(FeeRule(kind: "formel", formula: "system(1)").validateDefinition(fields: []))
        XCTAssertEqual(try FeeRule(kind: "formel", formula: "ja(x) * 1500 + anzahl(h) * 100").cents(for: ["x": .text("ja"), "h": .items([[:]])]), 1600)
    }

    func testFileKindsByContentNotByName() {
        XCTAssertEqual(FileKind.detect(Array("%PDF-1.7\n".utf8)), .pdf)
        XCTAssertEqual(FileKind.detect([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]), .png)
        XCTAssertEqual(FileKind.detect([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), .jpeg)
        XCTAssertNil(FileKind.detect(Array("MZ\u{90}\0 this is an exe".utf8)))
        XCTAssertNil(FileKind.detect(Array("Hallo, ich bin ein Text".utf8)))
        XCTAssertEqual(FileKind.detect(Array("\u{FEFF}<?xml version=\"1.0\"?><a/>".utf8)), .xml)
    }

    func testSummaryListsVisibleAnswersInOrder() throws {
        let e = try engine()
        let lines = e.summary(e.normalize(goodDogAnswers()))
        let labels = lines.map(\.label)
        XCTAssertEqual(labels.prefix(2), ["Vorname", "Nachname"])
        XCTAssertTrue(labels.contains("Hund 2"))
        XCTAssertTrue(lines.contains { $0.label == "IBAN" && $0.value == "DE02 1203 0000 0000 2020 51" })
        XCTAssertTrue(lines.contains { $0.label == "Geburtsdatum" && $0.value == "12.08.1984" })
        XCTAssertTrue(lines.contains { $0.value.hasPrefix("kaufvertrag.pdf (PDF") })
    }
}
