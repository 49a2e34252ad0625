import Foundation
import XCTest
@testable import Finder
@testable import RathausCore

final class SearchTests: XCTestCase {
    nonisolated(unsafe) static let services: [CatalogueService] = {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/App/Resources/leistungen")
        let l = try! String(contentsOf: dir.appendingPathComponent("leika_leistungen.csv"), encoding: .utf8)
        let o = try! String(contentsOf: dir.appendingPathComponent("ozg_leistungen.csv"), encoding: .utf8)
        return try! LeikaCatalogue.parse(leistungen: l, ozg: o)
    }()
    static let index = SearchIndex(documents: LeikaCatalogue.documents(services), synonyms: LeikaCatalogue.synonyms)

    func top(_ q: String, _ n: Int = 3) -> [String] {
        Self.index.search(q, limit: n).map { Self.services[$0.id].name }
    }

    func testCatalogueHasEveryValidKey() {
        XCTAssertEqual(Self.services.count, 4813)
        XCTAssertEqual(Self.services.first { $0.key.value == "99115005104000" }?.name, "Wohnsitz Anmeldung")
    }

    func testNormalisationFoldsUmlautsAndCase() {
        XCTAssertEqual(GermanText.normalize("Führerschein GROSSE Straße"), "fuehrerschein grosse strasse")
        XCTAssertEqual(GermanText.tokens("Bad Berka, Stadt"), ["bad", "berka", "stadt"])
        XCTAssertEqual(GermanText.normalize("Crostwitz/Chrósćicy"), "crostwitz chroscicy")
    }

    func testUmlautsWrittenAnyWay() {
        for q in ["Führerschein", "fuehrerschein", "FUHRERSCHEIN"] {
            XCTAssertEqual(top(q, 1), ["Führerschein"], q)
        }
    }

    func testSynonyms() {
        XCTAssertEqual(top("Perso", 1), ["Personalausweis"])
        XCTAssertEqual(top("Ummeldung", 1), ["Wohnsitz Anmeldung"])
        XCTAssertTrue(top("Auto anmelden", 3).contains { $0.hasPrefix("Kraftfahrzeug Zulassung") }, "\(top("Auto anmelden", 3))")
    }

    func testOneTypoInLongWords() {
        XCTAssertEqual(top("Persnalausweis", 1), ["Personalausweis"])
        XCTAssertEqual(top("Reisepas", 1), ["Reisepass"])
        XCTAssertEqual(top("Gebrutsurkunde", 1), ["Geburtsurkunde"], "swapped letters")
        XCTAssertEqual(top("Hnud", 1), ["Hundesteuer"], "four letters: a swapped or changed letter only")
        XCTAssertEqual(top("Hunt anmelden", 1), ["Hundehaltung Anmeldung"], "the close everyday word, not the generic verb")
    }

    func testCompoundsBothWays() {
        XCTAssertTrue(top("Hund", 5).contains("Hundesteuer"), "\(top("Hund", 5))")
        XCTAssertTrue(top("Hund", 8).contains("Hundehaltung"))
        XCTAssertEqual(top("Hundesteuer", 1), ["Hundesteuer"])
        XCTAssertTrue(top("Steuer Hund", 3).contains("Hundesteuer"), "\(top("Steuer Hund", 3))")
    }

    func testHundAnmeldenFindsTheDogRegistration() {
        let hits = top("Hund anmelden", 3)
        XCTAssertEqual(hits.first, "Hundehaltung Anmeldung", "\(hits)")
    }

    func testPrefixAsPeopleType() {
        XCTAssertEqual(top("Personalaus", 1), ["Personalausweis"])
        XCTAssertEqual(top("Wohnsitz an", 1), ["Wohnsitz Anmeldung"])
    }

    func testCommonServicesRankFirst() {
        XCTAssertEqual(top("Ausweis", 1), ["Personalausweis"])
        XCTAssertEqual(top("Gewerbe anmelden", 1), ["Gewerbe Anmeldung"])
    }

    func testGarbageFindsNothing() {
        XCTAssertEqual(top("xqzv", 5), [])
        XCTAssertEqual(top("", 5), [])
        XCTAssertEqual(top("und der ", 5), [])
    }

    func testWithinOneEdit() {
        let b = { (s: String) in Array(s.utf8) }
        XCTAssertTrue(GermanText.withinOneEdit(b("hund"), b("hunt")))
        XCTAssertTrue(GermanText.withinOneEdit(b("hund"), b("hnud")))
        XCTAssertTrue(GermanText.withinOneEdit(b("hund"), b("hunde")))
        XCTAssertTrue(GermanText.withinOneEdit(b("hunde"), b("hund")))
        XCTAssertFalse(GermanText.withinOneEdit(b("hund"), b("hand e")))
        XCTAssertFalse(GermanText.withinOneEdit(b("abcd"), b("badc")))
    }
}

final class PlaceTests: XCTestCase {
    let places = PlaceIndex([
        Place(ars: "160510000000", name: "Erfurt, Stadt", plz: ["99084", "99085"], kreis: "Erfurt"),
        Place(ars: "160710003003", name: "Bad Berka, Stadt", plz: ["99438"], kreis: "Weimarer Land"),
        Place(ars: "160715007087", name: "Tonndorf", plz: ["99438"], kreis: "Weimarer Land"),
        Place(ars: "160650001001", name: "Neustadt", plz: ["99762"], kreis: "Nordhausen"),
        Place(ars: "160705001001", name: "Neustadt", plz: ["98701"], kreis: "Ilm-Kreis"),
    ])

    func testByNamePLZAndARS() {
        XCTAssertEqual(places.find("erfurt"), .one(places.place(ars: "160510000000")!))
        XCTAssertEqual(places.find("Erfurt, Stadt"), .one(places.place(ars: "160510000000")!))
        XCTAssertEqual(places.find("99085"), .one(places.place(ars: "160510000000")!))
        XCTAssertEqual(places.find("160710003003"), .one(places.place(ars: "160710003003")!))
        XCTAssertEqual(places.find("Bad Ber"), .one(places.place(ars: "160710003003")!))
        XCTAssertEqual(places.find("00000"), .none)
    }

    func testAmbiguityIsReportedNeverGuessed() {
        guard case .several(let list) = places.find("99438") else { return XCTFail("PLZ 99438 covers two Gemeinden") }
        XCTAssertEqual(list.map(\.ars), ["160710003003", "160715007087"])
        guard case .several(let same) = places.find("Neustadt") else { return XCTFail("two Neustadt") }
        XCTAssertEqual(same.count, 2)
    }
}

final class ResolverTests: XCTestCase {
    // areas: 0 Land 16, 1 Kreis 16071, 2 VG 160715007, 3 Gemeinde Tonndorf (VG member), 4 Bad Berka (verbandsfrei), 5 Verband record of Bad Berka
    let chains: [[Int32]] = [[0], [1, 0], [2, 1, 0], [3, 2, 1, 0], [4, 5, 1, 0], [5, 1, 0]]
    let kreisIndex: [Int8] = [-1, 0, 1, 2, 2, 1]
    // services: 0 typ 2/3, 1 typ 1, 2 typ 6
    let kinds: [ResponsibilityResolver.Kind] = [.executedLocally, .federal, .other]
    let main: [Int32: Int32] = [1: 100, 2: 200, 4: 400]   // Landratsamt, VG office, Bad Berka

    func testDefaultsFollowTypisierung() {
        let r = ResponsibilityResolver(chains: chains, entries: [], mainOffices: main, kinds: kinds, kreisIndex: kreisIndex)
        XCTAssertEqual(r.resolve(service: 0, area: 3).office, 200, "VG member → VG office")
        XCTAssertEqual(r.resolve(service: 0, area: 4).office, 400, "verbandsfreie Gemeinde → own office")
        XCTAssertEqual(r.resolve(service: 1, area: 3).office, -1, "federal service → no municipal office")
        XCTAssertEqual(r.resolve(service: 2, area: 3).office, 100, "other → Landratsamt")
        XCTAssertEqual(r.resolve(service: 0, area: 3).path.map(\.area), [3, 2, 1, 0, 2])
        XCTAssertTrue(r.resolve(service: 0, area: 3).isDefault)
    }

    func testMostSpecificExplicitEntryWins() {
        let r = ResponsibilityResolver(chains: chains, entries: [(0, 1, .responsible, 101), (0, 3, .responsible, 301), (0, 0, .contact, 999)],
                                       mainOffices: main, kinds: kinds, kreisIndex: kreisIndex)
        let own = r.resolve(service: 0, area: 3)
        XCTAssertEqual(own.office, 301)
        XCTAssertEqual(own.area, 3)
        XCTAssertFalse(own.isDefault)
        let kreis = r.resolve(service: 0, area: 4)
        XCTAssertEqual(kreis.office, 101)
        XCTAssertEqual(kreis.path.map(\.area), [4, 5, 1])
        XCTAssertEqual(r.resolve(service: 0, area: 4, role: .contact).office, 999)
        XCTAssertEqual(r.office(service: 0, area: 4), 101)
        XCTAssertEqual(r.entryCount, 3)
    }

    func testTypisierungMapping() {
        XCTAssertEqual(ResponsibilityResolver.kind(forTypisierung: "2/3"), .executedLocally)
        XCTAssertEqual(ResponsibilityResolver.kind(forTypisierung: "1, 2/3"), .executedLocally)
        XCTAssertEqual(ResponsibilityResolver.kind(forTypisierung: "1"), .federal)
        XCTAssertEqual(ResponsibilityResolver.kind(forTypisierung: "6"), .other)
        XCTAssertEqual(ResponsibilityResolver.kind(forTypisierung: ""), .other)
    }
}

final class OpeningHoursTests: XCTestCase {
    func date(_ s: String) -> Date {
        let f = ISO8601DateFormatter()
        return f.date(from: s)!
    }

    func testOpenNowAndNextOpening() {
        var h = OpeningHours.typicalCitizenOffice
        // Tuesday 2026-12-01 10:00 Berlin = 09:00 UTC
        XCTAssertTrue(h.isOpen(at: date("2026-12-01T09:00:00Z")))
        XCTAssertFalse(h.isOpen(at: date("2026-12-01T11:30:00Z")), "lunch break 12–13")
        // Wednesday afternoon closed → Thursday 08:00
        let next = h.nextOpening(after: date("2026-12-02T13:00:00Z"))
        XCTAssertEqual(next, date("2026-12-03T07:00:00Z"))
        // a holiday closes the office
        h.exceptions = [.init(date: "2026-12-03", intervals: [], note: "Betriebsausflug")]
        XCTAssertEqual(h.nextOpening(after: date("2026-12-02T13:00:00Z")), date("2026-12-04T07:00:00Z"))
        // summer time: 08:00 Berlin = 06:00 UTC
        XCTAssertTrue(h.isOpen(at: date("2026-07-06T06:00:00Z")))
        XCTAssertNil(h.validate())
        XCTAssertNotNil(OpeningHours(weekly: [1: [.init("12:00", "11:00")]]).validate())
        XCTAssertNotNil(OpeningHours(weekly: [1: [.init("08:00", "12:00"), .init("11:00", "13:00")]]).validate())
    }
}

final class XZuFiTests: XCTestCase {
    func sample() -> XZuFi.Message {
        var hours = OpeningHours.typicalCitizenOffice
        hours.exceptions = [.init(date: "2026-12-24", intervals: [], note: "Heiligabend & Ruhe <zu>")]
        return XZuFi.Message(
            messageID: "m1", created: "2026-11-29T10:00:00Z",
            services: [XZuFi.Service(id: "land-99008001000000", agency: "", leikaKey: "99008001000000", name: "Personalausweis", typisierung: "2/3",
                                     texts: [XZuFi.Text(module: "06", text: "Der Ausweis \"für\" alle"), XZuFi.Text(module: "kosten", text: "37 Euro", feeMinCents: 3700, feeMaxCents: 3700),
                                             XZuFi.Text(module: "synonyme", text: "Perso, Ausweis")])],
            offices: [XZuFi.Office(id: "A5D5E1D2-0F7B-4C55-9E0A-4B1C2D3E4F50", agency: "16051", name: "Bürgeramt Erfurt", kind: "Bürgeramt", street: "Bürgermeister-Wagner-Straße 1",
                                   postalCode: "99084", city: "Erfurt", areaARS: "16051", phone: "0361 6550", email: "buergeramt@erfurt.de",
                                   website: "https://www.erfurt.de", appointmentURL: "", accessibility: "barrierefrei", latitude: 50.97, longitude: 11.03,
                                   hours: hours, isMain: true,
                                   responsibilities: [XZuFi.Responsibility(id: "r1", leikaKey: "99110009104000", areaARS: "160510000000", role: "01")])],
            deletions: [XZuFi.Deletion(klasse: "Organisationseinheit", id: "alt-1", agency: "16051")])
    }

    func testRoundTripIsIdentity() throws {
        let m = sample()
        let xml = XZuFi.render(m)
        XCTAssertTrue(xml.contains("xmlns:xzufi=\"http://xoev.de/schemata/xzufi/2_2_0\""))
        var back = try XZuFi.parse(Data(xml.utf8))
        back.services[0].texts.sort { $0.module < $1.module }
        var expected = m
        expected.services[0].texts.sort { $0.module < $1.module }
        XCTAssertEqual(back, expected)
    }

    func testHostileInputIsRefused() {
        let xxe = #"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>"#
        XCTAssertThrowsError(try XZuFi.parse(Data(xxe.utf8)))
        XCTAssertThrowsError(try XZuFi.parse(Data("kein xml".utf8)))
        XCTAssertThrowsError(try XZuFi.parse(Data(#"<a xmlns="urn:other"/>"#.utf8)))
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        XCTAssertThrowsError(try XZuFi.parse(Data(deep.utf8))) { XCTAssertTrue(($0 as? XZuFi.ParseError)?.messageDE.contains("tiefer") ?? false) }
        XCTAssertThrowsError(try XZuFi.parse(Data(repeating: 0x20, count: 2000), maxBytes: 1000))
    }

    func testOpeningHoursTextForm() throws {
        let h = try OpeningHours.parse("Mo 08:00-12:00, 13:00-15:30\nDo: 09:00-18:00\n2026-12-24 geschlossen").get()
        XCTAssertEqual(h.weekly[1]?.count, 2)
        XCTAssertEqual(h.exceptions.first?.intervals, [])
        XCTAssertEqual(try OpeningHours.parse(h.text).get(), h)
        if case .success = OpeningHours.parse("Montag bis Freitag") { XCTFail("no times") }
        if case .success = OpeningHours.parse("Mo 12:00-08:00") { XCTFail("reversed") }
    }
}
