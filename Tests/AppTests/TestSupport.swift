import FluentPostgresDriver
import SQLKit
import XCTVapor
import XCTest
@testable import App

extension XCTestCase {
    /// Every database test runs on in-memory SQLite, or on PostgreSQL when `DATABASE_URL` is set
    /// (then with a fresh schema per test; run with `--no-parallel`). The app is shut down when the
    /// test ends, however it ends — see `shutdownOnce()`.
    func makeTestApp(demo: Bool = false) async throws -> Application {
        let app = try await startTestApp(demo: demo)
        addTeardownBlock { try await app.shutdownOnce() }
        return app
    }

    /// Another instance on the same PostgreSQL database (no reset), as a second server would be;
    /// shut down when the test ends.
    func makeSecondInstance(_ url: String) async throws -> Application {
        let app = try await startSecondInstance(url)
        addTeardownBlock { try await app.shutdownOnce() }
        return app
    }
}

extension Application {
    /// Shuts the app down unless that has happened or is happening. A test that throws, skips or
    /// fails an unwrap before its own shutdown would otherwise leave the app to `deinit`, where
    /// Vapor's ServeCommand asserts and kills the whole test process (SIGILL) before XCTest can
    /// report the failure — that is how a CI run once ended with "Executed 2 tests" and no reason.
    /// The teardown block makeTestApp registers and any explicit call in the test both land here;
    /// the claim under one lock lets exactly one of them run Vapor's shutdown.
    func shutdownOnce() async throws {
        let claimed = ShutdownClaims.shared.withLockedValue { claims -> Bool in
            let id = ObjectIdentifier(self)
            guard !self.didShutdown, !claims.contains(id) else { return false }
            claims.insert(id)
            return true
        }
        guard claimed else { return }
        defer { ShutdownClaims.shared.withLockedValue { _ = $0.remove(ObjectIdentifier(self)) } }
        try await asyncShutdown()
    }
}

private final class ShutdownClaims: @unchecked Sendable {
    static let shared = ShutdownClaims()
    private let lock = NSLock()
    private var claims: Set<ObjectIdentifier> = []
    func withLockedValue<T>(_ body: (inout Set<ObjectIdentifier>) -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        return body(&claims)
    }
}

private func startTestApp(demo: Bool) async throws -> Application {
    let app = try await Application.make(.testing)
    var config = RathausConfig()
    config.bcryptCost = 4
    config.dataDirectory = nil
    config.demo = demo
    config.trustForwardedFor = true
    if let url = Environment.get("DATABASE_URL"), !url.isEmpty {
        try await resetPostgres(url)
        config.databaseURL = url
    }
    do {
        try await configure(app, config)
    } catch {
        try? await app.asyncShutdown()
        throw error
    }
    return app
}

private func startSecondInstance(_ url: String) async throws -> Application {
    let app = try await Application.make(.testing)
    var config = RathausConfig()
    config.bcryptCost = 4
    config.dataDirectory = nil
    config.databaseURL = url
    do { try await configure(app, config) } catch {
        try? await app.asyncShutdown()
        throw error
    }
    return app
}

private func resetPostgres(_ url: String) async throws {
    let tmp = try await Application.make(.testing)
    tmp.databases.use(try .postgres(url: url), as: .psql)
    do {
        let sql = tmp.db as! any SQLDatabase
        try await sql.raw("DROP SCHEMA IF EXISTS public CASCADE").run()
        try await sql.raw("CREATE SCHEMA public").run()
    } catch {
        try? await tmp.asyncShutdown()
        throw error
    }
    try await tmp.asyncShutdown()
}

extension TestingHTTPResponse {
    var text: String { body.string }
    func json() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
    }
}

/// A test user with a known password (and TOTP secret where the role needs it).
@discardableResult
func createUser(_ app: Application, email: String, role: Role, tenant: String?, totp: Bool? = nil) async throws -> User {
    let u = User(email: email, name: "Test \(role.rawValue)", passwordHash: try await app.password.async.hash("Passwort-123"))
    if totp ?? role.requiresTOTP {
        u.totpSecret = TOTP.newSecret()
        u.totpEnabled = true
    }
    try await u.create(on: app.db)
    try await RoleAssignment(userID: u.requireID(), role: role, tenantARS: role == .operator ? nil : tenant, createdBy: "test").create(on: app.db)
    return u
}

/// An API token with the given scopes, created the way the CLI creates it.
func createToken(_ app: Application, tenant: String, scopes: [Scope]) async throws -> String {
    let (t, clear) = APIToken.generate(tenant: tenant, scopes: scopes, name: "test", createdBy: "test")
    try await t.create(on: app.db)
    return clear
}

/// A cookie-keeping client that fills in the CSRF token like a browser submitting the page's form.
final class Browser: @unchecked Sendable {
    let app: Application
    var cookie: String?
    var csrf: String?
    var ip = "203.0.113.\(Int.random(in: 1...250))"

    init(_ app: Application) { self.app = app }

    func headers() -> HTTPHeaders {
        var h = HTTPHeaders()
        if let c = cookie { h.add(name: .cookie, value: "rathaus_session=\(c)") }
        h.add(name: .xForwardedFor, value: ip)
        return h
    }

    func remember(_ res: TestingHTTPResponse) {
        if let c = res.headers.setCookie?["rathaus_session"] { cookie = c.string }
        if let r = res.text.range(of: "name=\"_csrf\" value=\"") {
            let rest = res.text[r.upperBound...]
            if let end = rest.firstIndex(of: "\"") { csrf = String(rest[..<end]) }
        }
    }

    @discardableResult
    func get(_ path: String, headers extra: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var h = headers()
        for (n, v) in extra { h.replaceOrAdd(name: n, value: v) }
        let res = try await app.testable().sendRequest(.GET, path, headers: h)
        remember(res)
        return res
    }

    @discardableResult
    func post(_ path: String, _ form: [String: String] = [:], csrf: Bool = true) async throws -> TestingHTTPResponse {
        var fields = form
        if csrf, let token = self.csrf { fields["_csrf"] = token }
        let body = fields.map { "\(enc($0.key))=\(enc($0.value))" }.joined(separator: "&")
        var h = headers()
        h.contentType = .urlEncodedForm
        let res = try await app.testable().sendRequest(.POST, path, headers: h, body: ByteBuffer(string: body))
        remember(res)
        return res
    }

    private func enc(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
    }

    /// Signs in through the login form (and the TOTP step when the user has one).
    func login(_ user: User, password: String = "Passwort-123") async throws {
        try await get("/anmelden")
        let res = try await post("/anmelden", ["email": user.email, "passwort": password])
        XCTAssertEqual(res.status, .seeOther, res.text)
        if let loc = res.headers.first(name: .location), loc == "/anmelden/code" {
            try await get("/anmelden/code")
            let code = TOTP.code(secret: user.totpSecret!, step: TOTP.step(at: Date()))!
            let r2 = try await post("/anmelden/code", ["code": code])
            XCTAssertEqual(r2.status, .seeOther, r2.text)
        }
        try await get("/")
    }
}

func api(_ app: Application, _ method: HTTPMethod, _ path: String, token: String? = nil, json: String? = nil) async throws -> TestingHTTPResponse {
    var h = HTTPHeaders()
    if let token { h.bearerAuthorization = BearerAuthorization(token: token) }
    var body: ByteBuffer? = nil
    if let json {
        h.contentType = .json
        body = ByteBuffer(string: json)
    }
    return try await app.testable().sendRequest(method, path, headers: h, body: body)
}

extension Browser {
    /// Submits a multipart form with files, like a browser's file upload.
    @discardableResult
    func postMultipart(_ path: String, fields: [String: String] = [:], files: [(field: String, name: String, data: Data)]) async throws -> TestingHTTPResponse {
        let boundary = "----rathaus-test-\(UUID().uuidString)"
        var body = Data()
        var all = fields
        if let token = csrf { all["_csrf"] = token }
        for (k, v) in all {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(k)\"\r\n\r\n\(v)\r\n".utf8))
        }
        for f in files {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(f.field)\"; filename=\"\(f.name)\"\r\nContent-Type: application/xml\r\n\r\n".utf8))
            body.append(f.data)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        var h = headers()
        h.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=\(boundary)")
        let res = try await app.testable().sendRequest(.POST, path, headers: h, body: ByteBuffer(data: body))
        remember(res)
        return res
    }
}
