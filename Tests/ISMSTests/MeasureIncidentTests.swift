import XCTest
@testable import ISMS

final class MeasureIncidentTests: XCTestCase {
    func testReminderStages() {
        XCTAssertNil(MeasureReminder.due(daysUntil: 15))
        XCTAssertEqual(MeasureReminder.due(daysUntil: 14), .twoWeeks)
        XCTAssertEqual(MeasureReminder.due(daysUntil: 4), .twoWeeks)
        XCTAssertEqual(MeasureReminder.due(daysUntil: 3), .threeDays)
        XCTAssertEqual(MeasureReminder.due(daysUntil: 0), .threeDays)
        XCTAssertEqual(MeasureReminder.due(daysUntil: -1), .overdue)
        XCTAssertTrue(MeasureStatus.planned.isOpen)
        XCTAssertFalse(MeasureStatus.done.isOpen)
        XCTAssertFalse(MeasureStatus.dropped.isOpen)
    }

    func testBreachDeadlineIs72HoursAfterDetection() {
        let detected = Date(timeIntervalSince1970: 1_800_000_000)
        let d = BreachDeadline(detectedAt: detected, notifiedAt: nil)
        XCTAssertEqual(d.due.timeIntervalSince(detected), 72 * 3600)
        XCTAssertEqual(d.hoursLeft(at: detected), 72)
        XCTAssertEqual(d.hoursLeft(at: detected.addingTimeInterval(3600 * 50 + 60)), 21)
        XCTAssertFalse(d.remind(at: detected.addingTimeInterval(3600 * 47)))
        XCTAssertTrue(d.remind(at: detected.addingTimeInterval(3600 * 49)))
        XCTAssertTrue(d.remind(at: detected.addingTimeInterval(3600 * 80)), "still reminded once passed")
        XCTAssertLessThan(d.hoursLeft(at: detected.addingTimeInterval(3600 * 80)), 0)
        let told = BreachDeadline(detectedAt: detected, notifiedAt: detected.addingTimeInterval(3600))
        XCTAssertFalse(told.remind(at: detected.addingTimeInterval(3600 * 70)))
    }

    func testIncidentTimesMustBeInOrderAndNotInTheFuture() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        XCTAssertNil(IncidentCheck.times(occurred: now.addingTimeInterval(-7200), detected: now.addingTimeInterval(-3600), now: now))
        XCTAssertEqual(IncidentCheck.times(occurred: now.addingTimeInterval(-3600), detected: now.addingTimeInterval(-7200), now: now)?.field, "bemerkt")
        XCTAssertEqual(IncidentCheck.times(occurred: now.addingTimeInterval(86400), detected: now.addingTimeInterval(86400), now: now)?.field, "eingetreten")
        XCTAssertEqual(IncidentCheck.times(occurred: now.addingTimeInterval(-60), detected: now.addingTimeInterval(3600), now: now)?.field, "bemerkt")
        XCTAssertEqual(IncidentCategory.allCases.count, Set(IncidentCategory.allCases.map(\.german)).count)
    }
}
