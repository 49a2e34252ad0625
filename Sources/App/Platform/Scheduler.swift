import Fluent
import SQLKit
import Vapor
import NIOCore
import NIOConcurrencyHelpers
import Metrics

/// When a recurring job is due. Each due moment is a *slot* with a stable name, so every instance
/// computes the same slot for the same moment and the database decides which one runs it.
enum JobSchedule: Sendable, Equatable {
    /// Every `seconds`, aligned to the epoch (slot "e<seconds>-<n>").
    case every(seconds: Int)
    /// Once a day at this time in Europe/Berlin (slot = the calendar day).
    case daily(hour: Int, minute: Int)

    /// The slot that is due at `now`, or nil when none is (a daily job before its time).
    func slot(at now: Date) -> String? {
        switch self {
        case .every(let s):
            return "e\(s)-\(Int(now.timeIntervalSince1970) / max(1, s))"
        case .daily(let h, let m):
            let c = GermanTime.calendar.dateComponents([.year, .month, .day, .hour, .minute], from: now)
            guard (c.hour ?? 0) * 60 + (c.minute ?? 0) >= h * 60 + m else { return nil }
            return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
        }
    }

    /// When the next slot after `now` begins.
    func next(after now: Date) -> Date {
        switch self {
        case .every(let s):
            let n = Int(now.timeIntervalSince1970) / max(1, s) + 1
            return Date(timeIntervalSince1970: TimeInterval(n * s))
        case .daily(let h, let m):
            let cal = GermanTime.calendar
            var c = cal.dateComponents([.year, .month, .day], from: now)
            c.hour = h; c.minute = m
            let today = cal.date(from: c) ?? now
            return today > now ? today : (cal.date(byAdding: .day, value: 1, to: today) ?? now)
        }
    }

    var labelDE: String {
        switch self {
        case .every(let s): s % 3600 == 0 ? "stündlich\(s == 3600 ? "" : " (alle \(s / 3600) Stunden)")" : s % 60 == 0 ? "alle \(s / 60) Minuten" : "alle \(s) Sekunden"
        case .daily(let h, let m): String(format: "täglich um %02d:%02d Uhr", h, m)
        }
    }

    var labelEN: String {
        switch self {
        case .every(let s): s % 3600 == 0 ? "every \(s / 3600) hour(s)" : s % 60 == 0 ? "every \(s / 60) minutes" : "every \(s) seconds"
        case .daily(let h, let m): String(format: "daily at %02d:%02d", h, m)
        }
    }
}

/// What a run did, in both interface languages.
struct JobOutcome: Sendable {
    var de: String
    var en: String
}

/// A recurring job: the handler returns a short summary of what it did.
struct ScheduledJob: Sendable {
    let name: String
    let titleDE: String
    let titleEN: String
    let schedule: JobSchedule
    var timeout: TimeInterval = 300
    var maxAttempts: Int = 3
    /// First retry after this many seconds, doubled per attempt.
    var retryBase: TimeInterval = 30
    let handler: @Sendable (Application, Date) async throws -> JobOutcome
}

/// One claimed slot of a job. The unique index on (job, slot) is the claim: of all instances
/// that insert the same slot, exactly one succeeds, on SQLite and PostgreSQL alike.
final class JobRun: Model, @unchecked Sendable {
    static let schema = "job_runs"
    @ID(key: .id) var id: UUID?
    @Field(key: "job") var job: String
    @Field(key: "slot") var slot: String
    /// running | succeeded | failed | skipped
    @Field(key: "status") var status: String
    @Field(key: "attempt") var attempt: Int
    @Field(key: "instance") var instance: String
    /// schedule | manual:<actor>
    @Field(key: "trigger") var trigger: String
    @Field(key: "started_at") var startedAt: Date
    @OptionalField(key: "finished_at") var finishedAt: Date?
    @OptionalField(key: "duration_ms") var durationMS: Int?
    @Field(key: "result") var result: String
    @Field(key: "result_en") var resultEN: String
    @OptionalField(key: "error") var error: String?
    @OptionalField(key: "retry_at") var retryAt: Date?
    init() {}
}

struct M024CreateJobRuns: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(JobRun.schema)
            .id()
            .field("job", .string, .required)
            .field("slot", .string, .required)
            .field("status", .string, .required)
            .field("attempt", .int, .required)
            .field("instance", .string, .required)
            .field("trigger", .string, .required)
            .field("started_at", .datetime, .required)
            .field("finished_at", .datetime)
            .field("duration_ms", .int)
            .field("result", .string, .required)
            .field("result_en", .string, .required)
            .field("error", .string)
            .field("retry_at", .datetime)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "job_runs_slot_uq").unique().on(JobRun.schema).column("job").column("slot").run()
        try await sql.create(index: "job_runs_status_idx").on(JobRun.schema).column("status").column("retry_at").run()
        try await sql.create(index: "job_runs_started_idx").on(JobRun.schema).column("job").column("started_at").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(JobRun.schema).delete()
    }
}

/// The one scheduler of the installation. Every instance runs `tick` once a second; the database
/// makes sure each slot runs once, a job never overlaps itself, failures are retried with back-off
/// and a run that exceeds its timeout is ended as failed. Tests drive `tick` with their own clock.
final class Scheduler: @unchecked Sendable {
    let jobs: [ScheduledJob]
    /// Names this process in `job_runs.instance`.
    let instance: String
    private let lock = NIOLock()
    private var running: Set<String> = []

    init(jobs: [ScheduledJob], instance: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))") {
        self.jobs = jobs
        self.instance = instance
    }

    func job(_ name: String) -> ScheduledJob? { jobs.first { $0.name == name } }

    /// Claims and runs whatever is due at `now`: new slots first, then retries of failed runs.
    /// Returns the number of runs this call executed.
    /// `background`: each run in its own task, so a long job does not hold up the others (serve);
    /// tests run them one after the other.
    @discardableResult
    func tick(app: Application, now: Date = Date(), background: Bool = false) async throws -> Int {
        var ran = 0
        for job in jobs {
            var runs: [JobRun] = []
            if let slot = job.schedule.slot(at: now), let run = try await claim(job, slot: slot, app: app, now: now, trigger: "schedule") {
                runs.append(run)
            } else if let run = try await claimRetry(job, app: app, now: now) {
                runs.append(run)
            }
            for run in runs {
                ran += 1
                if background {
                    lock.withLock { _ = running.insert(job.name) }
                    Task { try? await self.execute(job, run, app: app, now: now, marked: true) }
                } else {
                    try await execute(job, run, app: app, now: now)
                }
            }
        }
        return ran
    }

    /// Inserts the (job, slot) row. A unique violation means another instance (or an earlier tick)
    /// has it. While the job still runs elsewhere, the slot is recorded as skipped: never overlapping.
    func claim(_ job: ScheduledJob, slot: String, app: Application, now: Date, trigger: String) async throws -> JobRun? {
        let sql = app.db as! any SQLDatabase
        struct Row: Decodable { let id: UUID }
        let busy = try await sql.raw("""
            SELECT id FROM job_runs WHERE job = \(bind: job.name) AND status = 'running' AND started_at > \(bind: now.addingTimeInterval(-job.timeout)) LIMIT 1
            """).all(decoding: Row.self)
        let run = JobRun()
        run.id = UUID()
        run.job = job.name; run.slot = slot; run.attempt = 1; run.instance = instance; run.trigger = trigger
        run.startedAt = now; run.result = ""; run.resultEN = ""
        run.status = busy.isEmpty && !isRunningHere(job.name) ? "running" : "skipped"
        if run.status == "skipped" {
            run.finishedAt = now; run.result = "übersprungen: der vorige Lauf war noch nicht fertig"; run.resultEN = "skipped: the previous run had not finished"
        }
        do {
            let inserted = try await app.writeTransaction { db in
                let rows = try await (db as! any SQLDatabase).raw("""
                    INSERT INTO job_runs (id, job, slot, status, attempt, instance, \(ident: "trigger"), started_at, finished_at, result, result_en)
                    VALUES (\(bind: run.id!), \(bind: run.job), \(bind: run.slot), \(bind: run.status), 1, \(bind: run.instance), \(bind: run.trigger),
                            \(bind: now), \(bind: run.finishedAt), \(bind: run.result), \(bind: run.resultEN))
                    ON CONFLICT (job, slot) DO NOTHING RETURNING id
                    """).all(decoding: Row.self)
                return !rows.isEmpty
            }
            guard inserted, run.status == "running" else { return nil }
            run.$id.exists = true
            return run
        }
    }

    /// Takes over a failed run whose back-off has passed, or a run whose instance stopped answering
    /// (still "running" after its timeout). PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two instances
    /// never take the same row; SQLite has one writer and the conditional UPDATE is enough.
    func claimRetry(_ job: ScheduledJob, app: Application, now: Date) async throws -> JobRun? {
        let sql = app.db as! any SQLDatabase
        struct Row: Decodable { let id: UUID }
        let stale = now.addingTimeInterval(-job.timeout - 60)
        let lock: SQLQueryString = sql.dialect.name == "postgresql" ? "FOR UPDATE SKIP LOCKED" : ""
        let rows = try await app.writeTransaction { db in
            try await (db as! any SQLDatabase).raw("""
                UPDATE job_runs SET status = 'running', attempt = attempt + 1, instance = \(bind: self.instance), started_at = \(bind: now),
                       finished_at = NULL, retry_at = NULL
                WHERE id = (SELECT id FROM job_runs WHERE job = \(bind: job.name) AND attempt < \(bind: job.maxAttempts)
                            AND ((status = 'failed' AND retry_at <= \(bind: now)) OR (status = 'running' AND started_at < \(bind: stale)))
                            ORDER BY started_at LIMIT 1 \(lock))
                RETURNING id
                """).all(decoding: Row.self)
        }
        guard let id = rows.first?.id, !isRunningHere(job.name) else { return nil }
        return try await JobRun.find(id, on: app.db)
    }

    private func isRunningHere(_ name: String) -> Bool { lock.withLock { running.contains(name) } }

    /// Runs the handler with the job's timeout and records the outcome.
    func execute(_ job: ScheduledJob, _ run: JobRun, app: Application, now: Date, marked: Bool = false) async throws {
        if !marked { lock.withLock { _ = running.insert(job.name) } }
        defer { lock.withLock { _ = running.remove(job.name) } }
        let started = ContinuousClock.now
        var result = JobOutcome(de: "", en: ""), failure: String? = nil
        do {
            result = try await withThrowingTaskGroup(of: JobOutcome.self) { group in
                group.addTask { try await job.handler(app, now) }
                group.addTask {
                    try await Task.sleep(for: .seconds(job.timeout))
                    throw JobTimeout(seconds: job.timeout)
                }
                let first = try await group.next() ?? JobOutcome(de: "", en: "")
                group.cancelAll()
                return first
            }
        } catch let t as JobTimeout {
            failure = "Zeitüberschreitung nach \(Int(t.seconds)) Sekunden"
        } catch {
            failure = String(describing: error).prefix(500).description
        }
        let elapsed = ContinuousClock.now - started
        let ms = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        run.finishedAt = now.addingTimeInterval(Double(ms) / 1000)
        run.durationMS = ms
        run.result = String(result.de.prefix(500))
        run.resultEN = String(result.en.prefix(500))
        Counter(label: "rathaus_job_runs_total", dimensions: [("job", job.name), ("status", failure == nil ? "succeeded" : "failed")]).increment()
        Timer(label: "rathaus_job_duration_seconds", dimensions: [("job", job.name)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(ms) * 1_000_000)
        if let failure {
            run.status = "failed"
            run.error = failure
            run.retryAt = run.attempt < job.maxAttempts ? now.addingTimeInterval(job.retryBase * pow(2, Double(run.attempt - 1))) : nil
            app.logger.warning("Job \(job.name) \(run.slot) Versuch \(run.attempt): \(failure)")
        } else {
            run.status = "succeeded"
            run.error = nil
        }
        try await app.writeTransaction { db in try await run.save(on: db) }
    }

    /// Runs a job now, outside its schedule (operator button, `rathaus jobs run`). Refused while it runs.
    func runNow(_ name: String, app: Application, actor: String, now: Date = Date()) async throws -> JobRun {
        guard let job = job(name) else {
            throw AppError(.notFound, "jobs.unknown", de: "Eine Aufgabe „\(name)“ gibt es nicht.", en: "There is no job named \(name).")
        }
        guard let run = try await claim(job, slot: "manuell-\(UUID().uuidString)", app: app, now: now, trigger: "manual:\(actor)") else {
            throw AppError(.conflict, "jobs.busy", de: "„\(job.titleDE)“ läuft gerade. Bitte warten Sie, bis der Lauf beendet ist.",
                           en: "\(job.titleEN) is running right now. Please wait until it has finished.")
        }
        try await execute(job, run, app: app, now: now)
        return run
    }
}

struct JobTimeout: Error { let seconds: TimeInterval }

struct SchedulerKey: StorageKey { typealias Value = Scheduler }

extension Application {
    var scheduler: Scheduler {
        get { storage[SchedulerKey.self] ?? Scheduler(jobs: []) }
        set { storage[SchedulerKey.self] = newValue }
    }
}

/// Ticks the scheduler once a second; registered only for `serve` (see `configure`).
struct SchedulerService: LifecycleHandler {
    final class Box: @unchecked Sendable { var task: RepeatedTask? }
    let box = Box()

    func didBootAsync(_ app: Application) async throws {
        let scheduler = app.scheduler
        box.task = app.eventLoopGroup.next().scheduleRepeatedAsyncTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            app.eventLoopGroup.next().makeFutureWithTask {
                do { try await scheduler.tick(app: app, background: true) } catch { app.logger.warning("Planer: \(error)") }
            }
        }
    }

    func shutdownAsync(_ app: Application) async { box.task?.cancel() }
}

/// `/betrieb/jobs`: every job with its last run, duration, result, next run and recent failures;
/// operators start one now (audited).
struct JobsController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("betrieb", "jobs", use: list)
        app.post("betrieb", "jobs", ":name", "ausfuehren", use: runNow)
    }

    struct Failure: Encodable { var at: String; var attempt: Int; var error: String }
    struct Row: Encodable {
        var name: String; var title: String; var schedule: String; var lastRun: String; var duration: String
        var status: String; var ok: Bool; var result: String; var next: String; var failures: [Failure]; var running: Bool
    }
    struct ListView: Encodable { var rows: [Row]; var done: String }

    static func statusLabel(_ s: String, english: Bool) -> String {
        switch s {
        case "succeeded": english ? "succeeded" : "erfolgreich"
        case "failed": english ? "failed" : "fehlgeschlagen"
        case "running": english ? "running" : "läuft"
        case "skipped": english ? "skipped (previous run not finished)" : "übersprungen (voriger Lauf nicht fertig)"
        default: s
        }
    }

    @Sendable func list(req: Request) async throws -> Response {
        try req.authorize(.jobsManage)
        let english = req.lang == .en
        let now = Date()
        var rows: [Row] = []
        for job in req.application.scheduler.jobs {
            let last = try await JobRun.query(on: req.db).filter(\.$job == job.name).filter(\.$status != "skipped").sort(\.$startedAt, .descending).first()
            let failures = try await JobRun.query(on: req.db).filter(\.$job == job.name).filter(\.$status == "failed")
                .sort(\.$startedAt, .descending).limit(5).all()
            let ms = last?.durationMS ?? 0
            rows.append(Row(name: job.name, title: english ? job.titleEN : job.titleDE, schedule: english ? job.schedule.labelEN : job.schedule.labelDE,
                            lastRun: last.map { GermanTime.format($0.startedAt) } ?? (english ? "not yet" : "noch nie"),
                            duration: last?.durationMS == nil ? "" : (ms < 1000 ? "\(ms) ms" : String(format: english ? "%.1f s" : "%.1f s", Double(ms) / 1000).replacingOccurrences(of: ".", with: english ? "." : ",")),
                            status: last.map { Self.statusLabel($0.status, english: english) } ?? "", ok: last?.status != "failed",
                            result: last?.status == "failed" ? (last?.error ?? "") : ((english ? last?.resultEN : last?.result) ?? ""),
                            next: GermanTime.format(job.schedule.next(after: now)),
                            failures: failures.map { Failure(at: GermanTime.format($0.startedAt), attempt: $0.attempt, error: $0.error ?? "") },
                            running: last?.status == "running"))
        }
        let done = req.query[String.self, at: "gestartet"].flatMap { n in req.application.scheduler.job(n).map { english ? "\($0.titleEN): run finished." : "\($0.titleDE): Lauf beendet." } } ?? ""
        return try await req.render("operator/jobs", title: req.t("jobs_title"), ListView(rows: rows, done: done), form: true)
    }

    @Sendable func runNow(req: Request) async throws -> Response {
        try req.authorize(.jobsManage)
        let name = req.parameters.get("name") ?? ""
        let run = try await req.application.scheduler.runNow(name, app: req.application, actor: req.principal.auditActor)
        try await req.application.writeTransaction { db in
            try await Audit.record(on: db, actor: req.principal.auditActor, actorID: req.principal.actorID, tenant: nil, action: "jobs.run_now",
                                   objectType: "job", objectID: name, before: nil,
                                   after: run.status == "failed" ? "fehlgeschlagen: \(run.error ?? "")" : run.result)
        }
        return req.redirect(to: "/betrieb/jobs?gestartet=\(name)", redirectType: .normal)
    }
}

/// `rathaus jobs list` and `rathaus jobs run NAME`.
struct JobsCommand: AsyncCommandGroup {
    var help: String { "Geplante Aufgaben: anzeigen (list) oder sofort ausführen (run NAME), einmal, auch wenn mehrere Server laufen." }
    var commands: [String: any AnyAsyncCommand] { ["list": JobsListCommand(), "run": JobsRunCommand()] }
}

struct JobsListCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Zeigt jede Aufgabe mit Zeitplan, letztem Lauf und nächstem Termin." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        for job in app.scheduler.jobs {
            let last = try await JobRun.query(on: app.db).filter(\.$job == job.name).filter(\.$status != "skipped").sort(\.$startedAt, .descending).first()
            let lastText = last.map { "\(GermanTime.format($0.startedAt, english: false)), \(JobsController.statusLabel($0.status, english: false))\($0.durationMS.map { ", \($0) ms" } ?? ""): \($0.error ?? $0.result)" } ?? "noch nie gelaufen"
            context.console.print("\(job.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(job.schedule.labelDE); zuletzt \(lastText); nächster Lauf \(GermanTime.format(job.schedule.next(after: Date()), english: false))")
        }
    }
}

struct JobsRunCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "name", help: "Name der Aufgabe (siehe rathaus jobs list)")
        var name: String
    }
    var help: String { "Führt eine Aufgabe sofort aus (protokolliert)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let name = signature.name
        do {
            let run = try await app.scheduler.runNow(name, app: app, actor: "cli:jobs")
            try await app.writeTransaction { db in
                try await Audit.record(on: db, actor: "cli:jobs", actorID: nil, tenant: nil, action: "jobs.run_now", objectType: "job", objectID: name,
                                       before: nil, after: run.status == "failed" ? "fehlgeschlagen: \(run.error ?? "")" : run.result)
            }
            context.console.print("\(name): \(JobsController.statusLabel(run.status, english: false)) in \(run.durationMS ?? 0) ms – \(run.error ?? run.result)")
            if run.status == "failed" { throw CommandFailure(message: "Der Lauf ist fehlgeschlagen.") }
        } catch let e as AppError {
            throw CommandFailure(message: e.messageDE)
        }
    }
}
