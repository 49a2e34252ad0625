import Foundation
import XCTest
@testable import Events
import TestFixtures

final class SeatsTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func testDecisionByCapacityQuotaAndDeadline() throws {
        let rules = SeatRules(capacity: 12, quotaPerTenant: 2, deadline: now.addingTimeInterval(3600))
        XCTAssertEqual(try Seats.decide(rules, counts: SeatCounts(confirmed: 0, confirmedOfTenant: 0), at: now), .confirmed)
        XCTAssertEqual(try Seats.decide(rules, counts: SeatCounts(confirmed: 11, confirmedOfTenant: 1), at: now), .confirmed)
        XCTAssertEqual(try Seats.decide(rules, counts: SeatCounts(confirmed: 11, confirmedOfTenant: 2), at: now), .waitlisted(.tenantQuota))
        XCTAssertEqual(try Seats.decide(rules, counts: SeatCounts(confirmed: 12, confirmedOfTenant: 0), at: now), .waitlisted(.full))
        XCTAssertThrowsError(try Seats.decide(rules, counts: SeatCounts(confirmed: 0, confirmedOfTenant: 0), at: now.addingTimeInterval(3601))) {
            XCTAssertEqual($0 as? RegistrationRefusal, .deadlinePassed)
        }
        XCTAssertThrowsError(try Seats.decide(SeatRules(capacity: 0), counts: SeatCounts(confirmed: 0, confirmedOfTenant: 0), at: now))
        XCTAssertThrowsError(try Seats.decide(SeatRules(capacity: 3, quotaPerTenant: 0), counts: SeatCounts(confirmed: 0, confirmedOfTenant: 0), at: now))
    }

    func testPromotionSkipsATenantAtItsQuotaButKeepsItsPlace() {
        let rules = SeatRules(capacity: 3, quotaPerTenant: 2)
        let a = UUID(), b = UUID(), c = UUID()
        // Erfurt already has two confirmed; the first waiting person is from Erfurt too
        let waiting = [Seats.Waiting(id: a, tenant: "16051"), Seats.Waiting(id: b, tenant: "16055"), Seats.Waiting(id: c, tenant: "16056")]
        XCTAssertEqual(Seats.promotions(rules, confirmed: 2, confirmedByTenant: ["16051": 2], waiting: waiting), [b])
        // an Erfurt colleague cancels: the Erfurt person waiting first moves up
        XCTAssertEqual(Seats.promotions(rules, confirmed: 2, confirmedByTenant: ["16051": 1, "16055": 1], waiting: waiting), [a])
        XCTAssertEqual(Seats.promotions(rules, confirmed: 0, confirmedByTenant: [:], waiting: waiting), [a, b, c])
        XCTAssertEqual(Seats.promotions(rules, confirmed: 3, confirmedByTenant: [:], waiting: waiting), [])
    }

    /// Random registrations and cancellations: never more confirmed than seats or quota, and never a
    /// free seat while someone who could take it waits.
    func testInvariantsUnderRandomTraffic() throws {
        var rng = SplitMix(seed: 42)
        for _ in 0..<200 {
            let rules = SeatRules(capacity: Int.random(in: 1...6, using: &rng), quotaPerTenant: Bool.random(using: &rng) ? Int.random(in: 1...3, using: &rng) : nil)
            var confirmed: [(UUID, String)] = [], waiting: [Seats.Waiting] = []
            for _ in 0..<60 {
                let tenant = ["a", "b", "c", "d"][Int.random(in: 0..<4, using: &rng)]
                if Int.random(in: 0..<3, using: &rng) > 0 || confirmed.isEmpty {
                    let counts = SeatCounts(confirmed: confirmed.count, confirmedOfTenant: confirmed.filter { $0.1 == tenant }.count)
                    switch try Seats.decide(rules, counts: counts, at: now) {
                    case .confirmed: confirmed.append((UUID(), tenant))
                    case .waitlisted: waiting.append(.init(id: UUID(), tenant: tenant))
                    }
                } else {
                    confirmed.remove(at: Int.random(in: 0..<confirmed.count, using: &rng))
                    let byTenant = Dictionary(confirmed.map { ($0.1, 1) }, uniquingKeysWith: +)
                    for id in Seats.promotions(rules, confirmed: confirmed.count, confirmedByTenant: byTenant, waiting: waiting) {
                        let w = waiting.first { $0.id == id }!
                        waiting.removeAll { $0.id == id }
                        confirmed.append((id, w.tenant))
                    }
                }
                XCTAssertLessThanOrEqual(confirmed.count, rules.capacity)
                let byTenant = Dictionary(confirmed.map { ($0.1, 1) }, uniquingKeysWith: +)
                if let q = rules.quotaPerTenant { XCTAssertTrue(byTenant.values.allSatisfy { $0 <= q }) }
                if confirmed.count < rules.capacity {
                    XCTAssertTrue(waiting.allSatisfy { w in rules.quotaPerTenant.map { byTenant[w.tenant, default: 0] >= $0 } ?? false },
                                  "a free seat and someone who could take it waits")
                }
            }
        }
    }

    func testAttendanceAndHours() {
        let d = Date(timeIntervalSince1970: 1_800_000_000)
        let sessions = [EventSession(start: d, end: d.addingTimeInterval(4 * 3600)), EventSession(start: d.addingTimeInterval(86400), end: d.addingTimeInterval(86400 + 3.5 * 3600))]
        XCTAssertTrue(Attendance.qualifies(required: [0, 1], attended: [0, 1]))
        XCTAssertFalse(Attendance.qualifies(required: [0, 1], attended: [0]))
        XCTAssertFalse(Attendance.qualifies(required: [], attended: [0]))
        XCTAssertEqual(Attendance.hoursDE(sessions, attended: [0, 1]), "7,5 Stunden")
        XCTAssertEqual(Attendance.hoursDE(sessions, attended: [0]), "4 Stunden")
        XCTAssertEqual(Attendance.hoursDE([EventSession(start: d, end: d.addingTimeInterval(3600))], attended: [0]), "1 Stunde")
        XCTAssertEqual(Attendance.hoursDE([EventSession(start: d, end: d.addingTimeInterval(100 * 60))], attended: [0]), "1,75 Stunden")
    }
}

final class VerificationCodeTests: XCTestCase {
    func testEverySingleTypoAndNeighbourSwapIsCaught() throws {
        var rng = SplitMix(seed: 7)
        for _ in 0..<300 {
            let code = VerificationCode.generate(using: &rng)
            XCTAssertEqual(try VerificationCode(code.description).value, code.value)
            XCTAssertEqual(try VerificationCode(code.description.lowercased().replacingOccurrences(of: "-", with: " ")).value, code.value)
            let chars = Array(code.value)
            for i in 0..<9 {
                for s in VerificationCode.symbols where s != chars[i] {
                    var t = chars; t[i] = s
                    XCTAssertThrowsError(try VerificationCode(String(t)), "typo at \(i) in \(code)")
                }
                if i < 8, chars[i] != chars[i + 1] {
                    var t = chars; t.swapAt(i, i + 1)
                    XCTAssertThrowsError(try VerificationCode(String(t)), "swap at \(i) in \(code)")
                }
            }
        }
        XCTAssertThrowsError(try VerificationCode("ABCD-EFGH")) { XCTAssertEqual($0 as? VerificationCode.CodeError, .malformed) }
        XCTAssertThrowsError(try VerificationCode("ABCD-EFG0-1")) { XCTAssertEqual($0 as? VerificationCode.CodeError, .malformed) }
        XCTAssertTrue(VerificationCode.generate().description.range(of: #"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]$"#, options: .regularExpression) != nil)
    }
}

final class ICalendarTests: XCTestCase {
    func berlin(_ y: Int, _ m: Int, _ d: Int, _ h: Int, _ min: Int = 0) -> Date {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "Europe/Berlin")!
        return cal.date(from: DateComponents(year: y, month: m, day: d, hour: h, minute: min))!
    }

    func testLinesFoldedTextEscapedLocalTimesInBerlin() throws {
        let summer = EventSession(start: berlin(2027, 6, 14, 9), end: berlin(2027, 6, 14, 16, 30))
        let winter = EventSession(start: berlin(2027, 1, 18, 9), end: berlin(2027, 1, 18, 12))
        let long = "Schulung für Informationssicherheitsbeauftragte (ISB) der Thüringer Kommunen; Teil 1, Grundlagen – Organisation, Rollen, Leitlinie, Notfallvorsorge"
        let ics = ICalendar.document([
            ICalendar.Entry(uid: "kurs-1-0@rathaus.test", summary: long, description: "Zeile eins\nZeile zwei, mit Komma; und Semikolon \\ Backslash",
                            location: "Landratsamt Weimarer Land, Bahnhofstraße 28, 99510 Apolda", url: "https://rathaus.test/veranstaltungen/1", session: summer),
            ICalendar.Entry(uid: "kurs-1-1@rathaus.test", summary: "Teil 2", session: winter, cancelled: true),
        ], name: "Kompetenzzentrum: Informationssicherheit", stamp: Date(timeIntervalSince1970: 1_800_000_000))
        let lines = ics.components(separatedBy: "\r\n")
        XCTAssertEqual(lines.last, "")
        XCTAssertTrue(lines.allSatisfy { $0.utf8.count <= 75 }, "every line at most 75 octets")
        XCTAssertFalse(ics.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        XCTAssertTrue(ics.contains("DTSTART;TZID=Europe/Berlin:20270614T090000"))
        XCTAssertTrue(ics.contains("DTSTART;TZID=Europe/Berlin:20270118T090000"))
        let unfolded = ics.replacingOccurrences(of: "\r\n ", with: "")
        XCTAssertTrue(unfolded.contains("SUMMARY:" + long.replacingOccurrences(of: ",", with: "\\,").replacingOccurrences(of: ";", with: "\\;")))

        // read back by an independent parser
        let (rc0, _) = try ExternalTool.run(["python3", "-c", "import icalendar"])
        guard rc0 == 0 else {
            print("ÜBERSPRUNGEN (nur die Prüfung mit fremdem Parser): bitte installieren: pip install icalendar")
            return
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rathaus-\(UUID().uuidString).ics")
        try Data(ics.utf8).write(to: path)
        let (rc, json) = try ExternalTool.run(["python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("icscheck.py").path, path.path])
        XCTAssertEqual(rc, 0, json)
        let events = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: String]])
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events[0]["summary"], long)
        XCTAssertEqual(events[0]["description"], "Zeile eins\nZeile zwei, mit Komma; und Semikolon \\ Backslash")
        XCTAssertEqual(events[0]["location"], "Landratsamt Weimarer Land, Bahnhofstraße 28, 99510 Apolda")
        XCTAssertEqual(events[0]["start"], "2027-06-14T07:00:00Z", "summer time: UTC+2")
        XCTAssertEqual(events[0]["end"], "2027-06-14T14:30:00Z")
        XCTAssertEqual(events[1]["start"], "2027-01-18T08:00:00Z", "winter time: UTC+1")
        XCTAssertEqual(events[1]["status"], "CANCELLED")
        XCTAssertEqual(events[0]["tz"], "Europe/Berlin")
    }
}

/// A seeded generator so the random traffic is the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
