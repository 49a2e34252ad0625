import Fluent
import NIOConcurrencyHelpers
import SQLKit
import XCTVapor
import XCTest
@testable import App

/// Counts how often each slot's handler ran, across instances.
final class SlotCounter: @unchecked Sendable {
    private let lock = NIOLock()
    private var counts: [Int: Int] = [:]
    func hit(_ slot: Int) { lock.withLock { counts[slot, default: 0] += 1 } }
    var all: [Int: Int] { lock.withLock { counts } }
}

final class SchedulerTests: XCTestCase {
    func countingJob(_ counter: SlotCounter, every seconds: Int = 60) -> ScheduledJob {
        ScheduledJob(name: "zaehler", titleDE: "Zähler", titleEN: "Counter", schedule: .every(seconds: seconds)) { _, now in
            counter.hit(Int(now.timeIntervalSince1970) / seconds)
            return JobOutcome(de: "gezählt", en: "counted")
        }
    }

    /// Two instances tick at the same moments over 100 slots: every slot runs exactly once.
    /// On PostgreSQL two applications share the database, as two servers would; on SQLite two
    /// schedulers of one process race on the same unique claim.
    func testTwoInstancesRunEverySlotExactlyOnce() async throws {
        let app = try await makeTestApp()
        var second: Application? = nil
        if let url = Environment.get("DATABASE_URL"), !url.isEmpty { second = try await makeSecondInstance(url) }
        let counter = SlotCounter()
        let a = Scheduler(jobs: [countingJob(counter)], instance: "a")
        let b = Scheduler(jobs: [countingJob(counter)], instance: "b")
        let appB = second ?? app
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for i in 0..<100 {
            // a few ticks per slot from both instances, at slightly different moments of the slot
            for offset in [0.0, 7.5, 59.0] {
                let now = start.addingTimeInterval(Double(i * 60) + offset)
                async let x = a.tick(app: app, now: now)
                async let y = b.tick(app: appB, now: now.addingTimeInterval(0.2))
                _ = try await (x, y)
            }
        }
        let counts = counter.all
        XCTAssertEqual(counts.count, 100, "every slot ran")
        XCTAssertTrue(counts.values.allSatisfy { $0 == 1 }, "no slot ran twice: \(counts.filter { $0.value != 1 })")
        let rows = try await JobRun.query(on: app.db).filter(\.$job == "zaehler").all()
        XCTAssertEqual(rows.count, 100)
        XCTAssertTrue(rows.allSatisfy { $0.status == "succeeded" })
        XCTAssertEqual(Set(rows.map(\.instance)).isSubset(of: ["a", "b"]), true)
        try await second?.shutdownOnce()
        try await app.shutdownOnce()
    }

    func testFailuresAreRetriedWithBackoffAndATimeoutEndsARun() async throws {
        let app = try await makeTestApp()
        let attempts = SlotCounter()
        let flaky = ScheduledJob(name: "wackelig", titleDE: "Wackelig", titleEN: "Flaky", schedule: .daily(hour: 3, minute: 0),
                                 maxAttempts: 3, retryBase: 30) { _, _ in
            attempts.hit(0)
            if attempts.all[0, default: 0] < 3 { throw AppError(.serviceUnavailable, "test", de: "Gegenstelle antwortet nicht", en: "down") }
            return JobOutcome(de: "geschafft", en: "done")
        }
        let s = Scheduler(jobs: [flaky], instance: "a")
        // 02:00 Berlin: nothing due yet
        let day = GermanTime.startOfDay("2026-12-03")!
        try await s.tick(app: app, now: day.addingTimeInterval(2 * 3600))
        XCTAssertEqual(attempts.all[0], nil)
        let t0 = day.addingTimeInterval(3 * 3600 + 5)
        try await s.tick(app: app, now: t0)
        var run = try await XCTUnwrapAsync(try await JobRun.query(on: app.db).filter(\.$job == "wackelig").first())
        XCTAssertEqual(run.status, "failed")
        XCTAssertTrue(run.error?.contains("Gegenstelle antwortet nicht") == true, run.error ?? "")
        XCTAssertEqual(run.retryAt?.timeIntervalSince1970 ?? 0, t0.addingTimeInterval(30).timeIntervalSince1970, accuracy: 0.01)
        try await s.tick(app: app, now: t0.addingTimeInterval(10))
        XCTAssertEqual(attempts.all[0], 1, "no retry before the back-off has passed")
        try await s.tick(app: app, now: t0.addingTimeInterval(31))
        XCTAssertEqual(attempts.all[0], 2)
        run = try await XCTUnwrapAsync(try await JobRun.query(on: app.db).filter(\.$job == "wackelig").first())
        XCTAssertEqual(run.attempt, 2)
        XCTAssertEqual(run.retryAt?.timeIntervalSince1970 ?? 0, t0.addingTimeInterval(31 + 60).timeIntervalSince1970, accuracy: 0.01, "doubled")
        try await s.tick(app: app, now: t0.addingTimeInterval(95))
        run = try await XCTUnwrapAsync(try await JobRun.query(on: app.db).filter(\.$job == "wackelig").first())
        XCTAssertEqual(run.status, "succeeded")
        XCTAssertEqual(run.attempt, 3)
        XCTAssertEqual(run.result, "geschafft")
        let total = try await JobRun.query(on: app.db).filter(\.$job == "wackelig").count()
        XCTAssertEqual(total, 1, "the same day's slot, retried in its own row")

        let slow = ScheduledJob(name: "langsam", titleDE: "Langsam", titleEN: "Slow", schedule: .every(seconds: 3600), timeout: 0.2, maxAttempts: 1) { _, _ in
            try await Task.sleep(for: .seconds(5))
            return JobOutcome(de: "nie", en: "never")
        }
        let t = Scheduler(jobs: [slow], instance: "a")
        let began = Date()
        try await t.tick(app: app, now: Date())
        XCTAssertLessThan(Date().timeIntervalSince(began), 3, "the timeout ended the run")
        let timedOut = try await XCTUnwrapAsync(try await JobRun.query(on: app.db).filter(\.$job == "langsam").first())
        XCTAssertEqual(timedOut.status, "failed")
        XCTAssertEqual(timedOut.error, "Zeitüberschreitung nach 0 Sekunden")
        XCTAssertNil(timedOut.retryAt, "no retry after the last attempt")
        try await app.shutdownOnce()
    }

    func testAJobNeverOverlapsItself() async throws {
        let app = try await makeTestApp()
        let gate = SlotCounter()
        let long = ScheduledJob(name: "lang", titleDE: "Lang", titleEN: "Long", schedule: .every(seconds: 10), timeout: 60) { _, _ in
            gate.hit(0)
            try await Task.sleep(for: .milliseconds(600))
            return JobOutcome(de: "fertig", en: "finished")
        }
        let s = Scheduler(jobs: [long], instance: "a")
        let other = Scheduler(jobs: [long], instance: "b")
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        try await s.tick(app: app, now: now, background: true)
        try await Task.sleep(for: .milliseconds(100))
        // the next slot comes while the first run is still going, here and on the other instance
        try await s.tick(app: app, now: now.addingTimeInterval(10), background: true)
        try await other.tick(app: app, now: now.addingTimeInterval(10.5))
        try await Task.sleep(for: .milliseconds(900))
        XCTAssertEqual(gate.all[0], 1)
        let rows = try await JobRun.query(on: app.db).filter(\.$job == "lang").sort(\.$slot).all()
        XCTAssertEqual(rows.map(\.status), ["succeeded", "skipped"])
        try await app.shutdownOnce()
    }

    func testOperatorSeesJobsAndRunsOneNow() async throws {
        let app = try await makeTestApp()
        let op = try await createUser(app, email: "op@kiv.test", role: .operator, tenant: nil)
        let clerk = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let b = Browser(app)
        try await b.login(op)
        let page = try await b.get("/betrieb/jobs")
        XCTAssertEqual(page.status, .ok)
        for name in ["zahlungen", "audit-pruefpunkt", "bereinigung"] { XCTAssertTrue(page.text.contains("<code lang=\"de\">\(name)</code>"), name) }
        XCTAssertTrue(page.text.contains("täglich um 03:15 Uhr"))
        let run = try await b.post("/betrieb/jobs/bereinigung/ausfuehren")
        XCTAssertEqual(run.headers.first(name: .location), "/betrieb/jobs?gestartet=bereinigung")
        let after = try await b.get("/betrieb/jobs?gestartet=bereinigung")
        XCTAssertTrue(after.text.contains("Lauf beendet"))
        XCTAssertTrue(after.text.contains("erfolgreich"))
        XCTAssertTrue(after.text.contains("Gast-Entwürfe"), "the result of the run is shown")
        let audit = try await AuditEntry.query(on: app.db).filter(\.$action == "jobs.run_now").first()
        XCTAssertEqual(audit?.actor, "user:op@kiv.test")
        let unknown = try await b.post("/betrieb/jobs/gibtsnicht/ausfuehren")
        XCTAssertEqual(unknown.status, .notFound)
        let c = Browser(app)
        try await c.login(clerk)
        let refused = try await c.get("/betrieb/jobs")
        XCTAssertEqual(refused.status, .forbidden)
        let refusedRun = try await c.post("/betrieb/jobs/bereinigung/ausfuehren")
        XCTAssertEqual(refusedRun.status, .forbidden)
        try await app.shutdownOnce()
    }

    func testPurgeRemovesExpiredSessionsLinksAndAbandonedGuestDrafts() async throws {
        let app = try await makeTestApp()
        let now = Date()
        let user = try await createUser(app, email: "sb@erfurt.test", role: .clerk, tenant: "16051")
        let uid = try user.requireID()
        _ = try await AccountToken.issue(on: app.db, user: uid, purpose: .reset, lifetime: -10)       // expired
        let fresh = try await AccountToken.issue(on: app.db, user: uid, purpose: .reset, lifetime: 3600)
        func draft(_ age: TimeInterval, applicant: UUID?) async throws -> Antrag {
            let a = Antrag()
            a.tenantARS = "16051"; a.tenantName = "Erfurt"; a.slug = "hund-anmelden"; a.version = 1; a.serviceTitle = "Hund"
            a.applicantID = applicant; a.applicantName = ""; a.applicantEmail = "gast@example.org"; a.officeName = ""; a.status = Antrag.draft
            a.answers = "{}"; a.feeCents = 0; a.notifyByEmail = false; a.assigneeName = ""
            a.createdAt = now.addingTimeInterval(-age); a.updatedAt = now.addingTimeInterval(-age)
            try await a.create(on: app.db)
            return a
        }
        let old = try await draft(10 * 86400, applicant: nil)
        let recent = try await draft(86400, applicant: nil)
        let accountDraft = try await draft(60 * 86400, applicant: uid)
        let oldSession = SessionRecord(key: SessionID(string: "alt"), data: SessionData(initialData: ["since": String(now.timeIntervalSince1970 - 9 * 3600)]))
        try await oldSession.create(on: app.db)
        let liveSession = SessionRecord(key: SessionID(string: "neu"), data: SessionData(initialData: ["since": String(now.timeIntervalSince1970 - 60)]))
        try await liveSession.create(on: app.db)

        let report = try await PlatformJobs.purge(app, now: now)
        XCTAssertEqual(report.links, 1)
        XCTAssertEqual(report.drafts, 1)
        XCTAssertEqual(report.sessions, 1)
        let gone = try await Antrag.find(old.id, on: app.db)
        XCTAssertNil(gone)
        for kept in [recent, accountDraft] {
            let k = try await Antrag.find(kept.id, on: app.db)
            XCTAssertNotNil(k, "recent guest drafts and drafts of accounts stay")
        }
        let stillValid = try await AccountToken.redeem(on: app.db, fresh, purpose: .reset)
        XCTAssertEqual(stillValid, uid)
        let sessions = try await SessionRecord.query(on: app.db).all().map(\.key.string)
        XCTAssertEqual(sessions, ["neu"])
        try await app.shutdownOnce()
    }
}
