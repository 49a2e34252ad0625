import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Leaf
import LeafKit
import SQLKit
import Vapor

/// Settings read once at start. Tests pass their own.
struct RathausConfig: Sendable {
    /// Seed clearly marked demo accounts (never in production unless asked for with `--demo`).
    var demo: Bool = false
    /// `DATABASE_URL` (PostgreSQL). Nil → SQLite in `dataDirectory`.
    var databaseURL: String? = nil
    /// SQLite file directory (`RATHAUS_DATA_DIR`, default `./rathaus-data`). Nil with no URL → in-memory.
    var dataDirectory: String? = "rathaus-data"
    /// bcrypt cost; tests lower it to keep the suite fast.
    var bcryptCost: Int = 12
    /// Mark cookies `Secure` (set when the platform is served over HTTPS: `RATHAUS_SECURE_COOKIES=1`).
    var secureCookies: Bool = false
    /// Take the client address from `X-Forwarded-For` (only behind the provider's own proxy:
    /// `RATHAUS_TRUST_PROXY=1`), otherwise a client could pick its own address for throttling.
    var trustForwardedFor: Bool = false
    /// Original documents (`RATHAUS_FILES_DIR`, default `<data dir>/dateien`). Nil with no data
    /// directory → a fresh temporary directory (tests). Shared storage when running several instances.
    var filesDirectory: String? = nil
    /// SMTP relay for outgoing mail (`RATHAUS_SMTP_HOST`, `RATHAUS_SMTP_PORT`); nil = mails stay
    /// in the outbox (in demo mode readable at /demo/postausgang).
    var smtpHost: String? = nil
    var smtpPort: Int = 25
    /// Sender address of outgoing mail (`RATHAUS_MAIL_FROM`).
    var mailFrom: String = "rathaus@localhost"
    /// Where vulnerabilities are reported (`RATHAUS_SECURITY_CONTACT`, mailto: or https:), published in security.txt.
    var securityContact: String? = nil
    /// Address of the platform as users reach it, for links in mails (`RATHAUS_PUBLIC_URL`).
    var publicURL: String = "http://127.0.0.1:8080"
    /// Public e-invoice intake: files per client address and 10 minutes (`RATHAUS_INTAKE_LIMIT`).
    var intakeLimit: Int = 300
    /// Addresses that may read `/metrics` without a token (`RATHAUS_METRICS_ALLOW`, comma-separated).
    var metricsAllow: Set<String> = []
    /// Ed25519 key that signs audit checkpoints, outside the database (`RATHAUS_AUDIT_KEY`).
    var auditKeyPath: String = FileManager.default.temporaryDirectory.appendingPathComponent("rathaus-audit-\(UUID().uuidString).key").path
    /// AES-256 key that seals secrets stored in the database (`RATHAUS_SECRET_KEY`).
    var secretKeyPath: String = FileManager.default.temporaryDirectory.appendingPathComponent("rathaus-secrets-\(UUID().uuidString).key").path
    /// Minutes between automatic audit checkpoints (`RATHAUS_AUDIT_CHECKPOINT_MINUTES`).
    var auditCheckpointMinutes: Int = 60
    /// Memory that concurrent invoice validations may use together (`RATHAUS_INTAKE_MEMORY_MB`).
    var intakeMemoryMB: Int = 256
    /// Load the shipped Thuringian territorial data on first start.
    var loadReferenceData: Bool = true
    /// Object storage shared by several machines (`RATHAUS_S3_ENDPOINT`, `_BUCKET`, `_REGION`,
    /// `_ACCESS_KEY`, `_SECRET_KEY`); nil = the local files directory.
    var s3: S3Config? = nil
    /// Sign-in through an OpenID Connect provider (`RATHAUS_OIDC_*`, see `OIDCConfig`); nil = off.
    var oidc: OIDCConfig? = nil
    /// First retry of a FIT-Connect delivery after this many seconds, doubled per attempt up to an
    /// hour (`RATHAUS_FITCONNECT_RETRY_SECONDS`).
    var fitConnectRetrySeconds: Double = 30
    /// Largest data part or attachment a destination accepts, in bytes
    /// (`RATHAUS_FITCONNECT_MAX_PART_MB`, default 25 MB); a larger one is rejected, never fetched whole.
    var fitConnectMaxPart: Int = 25 * 1024 * 1024
    /// Account services whose identification reports this installation trusts, by the
    /// `serverIdentity` they write: their public keys as a JWKS file or URL
    /// (`RATHAUS_IDENTIFICATION_ISSUERS="https://servicekonto.land.de=https://…/jwks.json,…"`).
    /// The installation's own reports are always trusted.
    var identificationIssuers: [String: String] = [:]

    static func fromEnvironment(demo: Bool) -> RathausConfig {
        var c = RathausConfig()
        c.demo = demo
        c.databaseURL = Environment.get("DATABASE_URL").flatMap { $0.isEmpty ? nil : $0 }
        c.dataDirectory = Environment.get("RATHAUS_DATA_DIR").flatMap { $0.isEmpty ? nil : $0 } ?? "rathaus-data"
        if let cost = Environment.get("RATHAUS_BCRYPT_COST").flatMap(Int.init), (4...31).contains(cost) { c.bcryptCost = cost }
        c.filesDirectory = Environment.get("RATHAUS_FILES_DIR").flatMap { $0.isEmpty ? nil : $0 }
        if let n = Environment.get("RATHAUS_INTAKE_LIMIT").flatMap(Int.init), n > 0 { c.intakeLimit = n }
        if let k = Environment.get("RATHAUS_AUDIT_KEY"), !k.isEmpty {
            c.auditKeyPath = k
        } else if let dir = c.dataDirectory {
            c.auditKeyPath = dir + "/audit-signing.key"
        }
        if let k = Environment.get("RATHAUS_SECRET_KEY"), !k.isEmpty {
            c.secretKeyPath = k
        } else if let dir = c.dataDirectory {
            c.secretKeyPath = dir + "/secrets.key"
        }
        if let r = Environment.get("RATHAUS_FITCONNECT_RETRY_SECONDS").flatMap(Double.init), r >= 1 { c.fitConnectRetrySeconds = r }
        if let m = Environment.get("RATHAUS_FITCONNECT_MAX_PART_MB").flatMap(Int.init), (1...500).contains(m) { c.fitConnectMaxPart = m * 1024 * 1024 }
        if let m = Environment.get("RATHAUS_AUDIT_CHECKPOINT_MINUTES").flatMap(Int.init), m >= 1 { c.auditCheckpointMinutes = m }
        c.metricsAllow = Set((Environment.get("RATHAUS_METRICS_ALLOW") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        if let n = Environment.get("RATHAUS_INTAKE_MEMORY_MB").flatMap(Int.init), n >= 32 { c.intakeMemoryMB = n }
        c.smtpHost = Environment.get("RATHAUS_SMTP_HOST").flatMap { $0.isEmpty ? nil : $0 }
        if let p = Environment.get("RATHAUS_SMTP_PORT").flatMap(Int.init), (1...65535).contains(p) { c.smtpPort = p }
        if let f = Environment.get("RATHAUS_MAIL_FROM"), f.contains("@") { c.mailFrom = f }
        if let s = Environment.get("RATHAUS_SECURITY_CONTACT"), s.hasPrefix("mailto:") || s.hasPrefix("https://") { c.securityContact = s }
        if let u = Environment.get("RATHAUS_PUBLIC_URL"), u.hasPrefix("http") { c.publicURL = String(u.reversed().drop(while: { $0 == "/" }).reversed()) }
        c.secureCookies = Environment.get("RATHAUS_SECURE_COOKIES") == "1"
        c.trustForwardedFor = Environment.get("RATHAUS_TRUST_PROXY") == "1"
        c.oidc = OIDCConfig.fromEnvironment()
        c.identificationIssuers = IdentificationReports.parseIssuers(Environment.get("RATHAUS_IDENTIFICATION_ISSUERS") ?? "")
        if let endpoint = Environment.get("RATHAUS_S3_ENDPOINT"), !endpoint.isEmpty {
            c.s3 = S3Config(endpoint: endpoint, bucket: Environment.get("RATHAUS_S3_BUCKET") ?? "rathaus",
                            region: Environment.get("RATHAUS_S3_REGION") ?? "eu-central-1",
                            accessKey: Environment.get("RATHAUS_S3_ACCESS_KEY") ?? "", secretKey: Environment.get("RATHAUS_S3_SECRET_KEY") ?? "")
        }
        return c
    }
}

struct RathausConfigKey: StorageKey { typealias Value = RathausConfig }
struct DummyPasswordHashKey: StorageKey { typealias Value = String }

extension Application {
    var rathaus: RathausConfig {
        get { storage[RathausConfigKey.self] ?? RathausConfig() }
        set { storage[RathausConfigKey.self] = newValue }
    }
}

/// The one configuration that the executable and the tests call.
public func configure(_ app: Application, demo: Bool) async throws {
    try await configure(app, RathausConfig.fromEnvironment(demo: demo))
}

func configure(_ app: Application, _ config: RathausConfig) async throws {
    app.rathaus = config
    if let oidc = config.oidc { app.oidc = oidc }

    // Database: PostgreSQL when DATABASE_URL is set, else embedded SQLite.
    if let url = config.databaseURL {
        app.databases.use(try .postgres(url: url, maxConnectionsPerEventLoop: 4), as: .psql)
    } else if let dir = config.dataDirectory {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        app.databases.use(.singleConnectionSQLite(.file(dir + "/rathaus.sqlite")), as: .sqlite)
    } else {
        app.databases.use(.singleConnectionSQLite(.memory), as: .sqlite)
    }

    app.migrations.add(M001CreateGebiete())
    app.migrations.add(M002CreateUsers())
    app.migrations.add(SessionRecord.migration)
    app.migrations.add(M004CreateLoginAttempts())
    app.migrations.add(M005CreateAPITokens())
    app.migrations.add(M006CreateAuditLog())
    app.migrations.add(M007CreateMemberships())
    app.migrations.add(M008CreateSurveys())
    app.migrations.add(M009CreateFinder())
    app.migrations.add(M010CreateLeitwegIDs())
    app.migrations.add(M011CreateInvoices())
    app.migrations.add(M012CreateOutbox())
    app.migrations.add(M013CreateServicekonto())
    app.migrations.add(M014CreateOnlineServices())
    app.migrations.add(M015CreateAntraege())
    app.migrations.add(M016CreatePayments())
    app.migrations.add(M017CreatePayoutsAndSupplierAccounts())
    app.migrations.add(M018CreateAuthThrottle())
    app.migrations.add(M019InvoiceBusinessKey())
    app.migrations.add(M020CreateAuditCheckpoints())
    app.migrations.add(M021CreateLegalTexts())
    app.migrations.add(M022CreateServiceDrafts())
    app.migrations.add(M023CreateRoleAssignments())
    app.migrations.add(M024CreateJobRuns())
    app.migrations.add(M025CreateTenantLetterheads())
    app.migrations.add(M026AddLetterheadLogo())
    app.migrations.add(M027CreateCompetenceCentre())
    app.migrations.add(M028OutboxAttachment())
    app.migrations.add(M029CreateFunding())
    app.migrations.add(M030CreateRollout())
    app.migrations.add(M031CreateISMS())
    app.migrations.add(M032ISMSMeasuresIncidents())
    app.migrations.add(M033CreateTenantSecurity())
    app.migrations.add(M034CreateISMSEvidence())
    app.migrations.add(M035CreateProcurement())
    app.migrations.add(M036CreateDemandRounds())
    app.migrations.add(M037CreateProcurementFees())
    app.migrations.add(M038CreateOutboxAttachments())
    app.migrations.add(M039CreateProcurementDocuments())
    app.migrations.add(M040CreateOIDC())
    app.migrations.add(M041CreateFIMImports())
    app.migrations.add(M042CreateFITConnect())
    app.migrations.add(M043FITConnectReplyChannel())
    app.migrations.add(M044IdentificationReports())
    // the roll-out monitor's columns: each feature registers what it contributes
    MembershipRollout.register(app.rollout)
    FinderRollout.register(app.rollout)
    ServiceRollout.register(app.rollout)
    InvoiceRollout.register(app.rollout)
    PaymentRollout.register(app.rollout)
    FundingRollout.register(app.rollout)
    EventRollout.register(app.rollout)
    let filesDir = config.filesDirectory ?? config.dataDirectory.map { $0 + "/dateien" }
        ?? FileManager.default.temporaryDirectory.appendingPathComponent("rathaus-dateien-\(UUID().uuidString)").path
    if let s3 = config.s3 {
        // uploads are spooled locally while they arrive, then sent to the store
        let storage = try S3FileStorage(config: s3, client: app.http.client.shared, spool: URL(fileURLWithPath: filesDir).appendingPathComponent(".spool"))
        do { try await storage.checkBucket() } catch {
            throw FileStorageError(description: "Objektspeicher \(s3.endpoint), Bucket \(s3.bucket) nicht erreichbar: \(error)")
        }
        app.files = storage
    } else {
        app.files = try LocalFileStorage(root: URL(fileURLWithPath: filesDir))
    }
    app.storage[IntakeLimiterKey.self] = IntakeLimiter(limit: config.intakeLimit)
    app.storage[IntakeMemoryGateKey.self] = IntakeMemoryGate(capacityBytes: config.intakeMemoryMB << 20)
    app.storage[WriteGateKey.self] = WriteGate()
    app.storage[ThrottleClockKey.self] = ThrottleClock()
    if let host = config.smtpHost {
        app.storage[MailSenderKey.self] = SMTPMailSender(host: host, port: config.smtpPort, from: config.mailFrom,
                                                         heloName: "rathaus", threadPool: app.threadPool)
    }
    app.storage[FinderStoreKey.self] = FinderStore(catalogue: try FinderCatalogue.shared())
    // one scheduler for all recurring work: each slot runs once across instances (job_runs);
    // tests drive `app.scheduler.tick(app:now:)` with their own clock
    app.scheduler = Scheduler(jobs: PlatformJobs.all(config, mail: config.smtpHost != nil))
    // only a server runs the jobs: `rathaus bench`, `audit verify`, `migrate` … must not send mail
    // or sweep payments as a side effect (serve is also the default command, flags first)
    let command = app.environment.arguments.dropFirst().first
    if app.environment != .testing, command == nil || command == "serve" || command?.hasPrefix("-") == true {
        app.lifecycle.use(SchedulerService())
    }

    app.passwords.use(.bcrypt(cost: config.bcryptCost))
    // compared against when an account does not exist, so response time does not reveal accounts
    app.storage[DummyPasswordHashKey.self] = try Bcrypt.hash("rathaus-kein-konto", cost: config.bcryptCost)

    // Sessions live in the database so several instances share them.
    app.sessions.use(.fluent)
    let secure = config.secureCookies
    app.sessions.configuration = SessionsConfiguration(cookieName: "rathaus_session") { id in
        HTTPCookies.Value(string: id.string, expires: Date().addingTimeInterval(8 * 3600), maxAge: 8 * 3600,
                          path: "/", isSecure: secure, isHTTPOnly: true, sameSite: .lax)
    }

    // Views ship inside the module's resources, so the binary works from any directory.
    let views = Bundle.module.bundleURL.appendingPathComponent("Resources/Views").path + "/"
    app.leaf.configuration.rootDirectory = views
    // the default limits refuse any path with a hidden component, and SwiftPM builds into `.build/`
    app.leaf.sources = .singleSource(NIOLeafFiles(fileio: app.fileio, limits: [.toSandbox, .requireExtensions],
                                                  sandboxDirectory: views, viewDirectory: views))
    app.leaf.cache.isEnabled = app.environment.isRelease
    app.views.use(.leaf)

    // Bounded request bodies; forms and API payloads of this feature are small.
    app.routes.defaultMaxBodySize = "1mb"

    RathausMetrics.bootstrap()
    app.middleware = Middlewares()
    app.middleware.use(SecurityHeadersMiddleware())
    app.middleware.use(RathausErrorMiddleware())
    app.middleware.use(FileMiddleware(publicDirectory: Bundle.module.bundleURL.appendingPathComponent("Resources/Public").path + "/"))
    app.middleware.use(app.sessions.middleware)
    app.middleware.use(PrincipalMiddleware())
    app.middleware.use(CSRFMiddleware())
    // last before the routes: a task-local value reaches the handler only when no middleware
    // between here and the route hops to an event-loop callback (the sessions middleware does)
    app.middleware.use(LanguageMiddleware())

    try routes(app)

    app.asyncCommands.use(ImportCommand(), as: "import")
    app.asyncCommands.use(UserCommand(), as: "user")
    app.asyncCommands.use(TokenCommand(), as: "token")
    app.asyncCommands.use(AuditCommand(), as: "audit")
    app.asyncCommands.use(BenchCommand(), as: "bench")
    app.asyncCommands.use(LeitwegCommand(), as: "leitweg-id")
    app.asyncCommands.use(PaymentCommand(), as: "zahlung")
    app.asyncCommands.use(JobsCommand(), as: "jobs")
    app.asyncCommands.use(FilesCommand(), as: "dateien")
    app.asyncCommands.use(BackupCommand(), as: "backup")
    app.asyncCommands.use(FITConnectCommand(), as: "fitconnect")
    // our migrate also takes the cross-instance lock and loads reference data
    app.commands.commands.removeValue(forKey: "migrate")
    app.asyncCommands.use(MigrateCommand(), as: "migrate")

    try await prepareDatabase(app)
}

/// Migrates and loads reference data. On PostgreSQL a session advisory lock makes instances that
/// start at the same time take turns; the second finds everything done.
func prepareDatabase(_ app: Application) async throws {
    if let pg = app.db as? any PostgresDatabase {
        try await pg.withConnection { conn in
            conn.query("SELECT pg_advisory_lock(7261000)").flatMap { _ in
                app.eventLoopGroup.any().makeFutureWithTask {
                    try await migrateAndSeed(app)
                }.flatMap { _ in conn.query("SELECT pg_advisory_unlock(7261000)").map { _ in () } }
                .flatMapError { error in conn.query("SELECT pg_advisory_unlock(7261000)").flatMapThrowing { _ in throw error } }
            }
        }.get()
    } else {
        try await app.prepareSQLite()
        try await migrateAndSeed(app)
    }
}

private func migrateAndSeed(_ app: Application) async throws {
    try await app.autoMigrate()
    if app.rathaus.loadReferenceData {
        try await ReferenceData.loadIfEmpty(on: app.db, logger: app.logger)
    }
    // the state's catalogue of online services ships with the product
    try await OnlineServiceCatalogue.seed(app)
    if app.rathaus.demo {
        try await DemoData.seed(app)
        try await FinderDemoData.seed(app)
        try await OnlineServicesDemo.seed(app)
    }
    try await app.finder.rebuild(on: app.db)
}
