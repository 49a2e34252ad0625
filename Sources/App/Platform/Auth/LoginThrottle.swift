import Fluent
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// Limits password and code guesses, counted in the database so every instance sees the same
/// numbers, and **reserved atomically before the check**: one `INSERT … ON CONFLICT DO UPDATE …
/// RETURNING` per key both counts the attempt and returns the new count, so 50 parallel guesses
/// for one account cannot all read "4 failures so far" (issue 13 measured 30 of 30 checked with
/// the old read-then-write).
///
/// - Per account: at most `perAccount` attempts in `window`; a success clears the account's count.
///   A hard limit is right here: it protects one account and inconveniences only its owner.
/// - Per client address: no hard lock (a town hall or a school behind one NAT address shares it).
///   The first `freePerAddress` failures in the window cost nothing; after that each attempt must
///   wait for a delay that doubles per further failure (1 s, 2 s, 4 s … at most `maxDelay`). The
///   reservation passes only when the delay is over, in the same statement, so a parallel burst
///   from one address gets one attempt per delay. A success gives its reservation back.
enum LoginThrottle {
    static let table = "auth_throttle"
    static let window: TimeInterval = 15 * 60
    static let perAccount = 5
    static let freePerAddress = 20
    static let maxDelay: TimeInterval = 60

    enum Decision: Equatable {
        case allowed
        case accountLocked
        case addressDelayed
    }

    static func accountKey(_ email: String) -> String { "konto:" + email.lowercased() }
    static func addressKey(_ ip: String) -> String { "adresse:" + ip }

    static func millis(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1000).rounded()) }

    /// Reserves one attempt for the account and the address; `.allowed` means the caller may check
    /// the password or code now and must report the outcome with `succeeded`.
    static func reserve(email: String, ip: String, on db: any Database, now: Date = Date()) async throws -> Decision {
        guard let sql = db as? any SQLDatabase else { return .allowed }
        let nowMs = millis(now), sinceMs = millis(now.addingTimeInterval(-window))
        let account = accountKey(email)
        let rows = try await sql.raw("""
            INSERT INTO auth_throttle (throttle_key, attempts, window_start, next_allowed) VALUES (\(bind: account), 1, \(bind: nowMs), 0)
            ON CONFLICT (throttle_key) DO UPDATE SET
              attempts = CASE WHEN auth_throttle.window_start < \(bind: sinceMs) THEN 1 ELSE auth_throttle.attempts + 1 END,
              window_start = CASE WHEN auth_throttle.window_start < \(bind: sinceMs) THEN \(bind: nowMs) ELSE auth_throttle.window_start END
            RETURNING attempts
            """).all()
        let count = try rows.first?.decode(column: "attempts", as: Int.self) ?? 1
        if count > perAccount { return .accountLocked }

        // The delay after the free failures: 1 s · 2^(n − free − 1), capped; as a CASE ladder of
        // constants, because SQLite has no POWER() in every build.
        var ladder = "CASE"
        var step = 0
        while Double(1 << step) < maxDelay {
            ladder += " WHEN auth_throttle.attempts + 1 - \(freePerAddress) = \(step + 1) THEN \(1000 << step)"
            step += 1
        }
        ladder += " WHEN auth_throttle.attempts + 1 - \(freePerAddress) > \(step) THEN \(Int64(maxDelay * 1000)) ELSE 0 END"
        let address = addressKey(ip)
        let passed = try await sql.raw("""
            INSERT INTO auth_throttle (throttle_key, attempts, window_start, next_allowed) VALUES (\(bind: address), 1, \(bind: nowMs), 0)
            ON CONFLICT (throttle_key) DO UPDATE SET
              attempts = CASE WHEN auth_throttle.window_start < \(bind: sinceMs) THEN 1 ELSE auth_throttle.attempts + 1 END,
              next_allowed = CASE WHEN auth_throttle.window_start < \(bind: sinceMs) THEN 0 ELSE \(bind: nowMs) + \(unsafeRaw: ladder) END,
              window_start = CASE WHEN auth_throttle.window_start < \(bind: sinceMs) THEN \(bind: nowMs) ELSE auth_throttle.window_start END
            WHERE auth_throttle.next_allowed <= \(bind: nowMs) OR auth_throttle.window_start < \(bind: sinceMs)
            RETURNING attempts
            """).all()
        if passed.isEmpty {
            // The account's reservation is given back: the attempt was not made.
            try await release(account, on: sql)
            return .addressDelayed
        }
        return .allowed
    }

    /// Reports the outcome of an allowed attempt. A success clears the account's count and gives
    /// the address its reservation back; a failure keeps both counted.
    static func succeeded(email: String, ip: String, on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.raw("DELETE FROM auth_throttle WHERE throttle_key = \(bind: accountKey(email))").run()
        try await release(addressKey(ip), on: sql)
    }

    static func release(_ key: String, on sql: any SQLDatabase) async throws {
        try await sql.raw("UPDATE auth_throttle SET attempts = attempts - 1 WHERE throttle_key = \(bind: key) AND attempts > 0").run()
    }

    /// Ends the address delay and the account lock of one account (tests, operators' support).
    static func clear(email: String, on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.raw("DELETE FROM auth_throttle WHERE throttle_key = \(bind: accountKey(email))").run()
    }
}

/// The time the throttle sees: real time in operation. Tests freeze it and move it on, so that a
/// parallel burst on a slow, busy machine is still one instant and "after the delay" is exact
/// (CI measured a burst of 50 taking longer than the first 1-second delay).
final class ThrottleClock: Sendable {
    private let frozen = NIOLockedValueBox<Date?>(nil)
    func now() -> Date { frozen.withLockedValue { $0 } ?? Date() }
    func freeze(at date: Date = Date()) { frozen.withLockedValue { $0 = date } }
    func advance(by seconds: TimeInterval) { frozen.withLockedValue { $0 = ($0 ?? Date()).addingTimeInterval(seconds) } }
}

struct ThrottleClockKey: StorageKey { typealias Value = ThrottleClock }

extension Application {
    /// Set once in `configure`; read from any request.
    var throttleClock: ThrottleClock {
        get { storage[ThrottleClockKey.self] ?? ThrottleClock() }
        set { storage[ThrottleClockKey.self] = newValue }
    }
}

/// One row per throttled key; timestamps in milliseconds since 1970 (integers on both engines).
struct M018CreateAuthThrottle: AsyncMigration {
    func prepare(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(table: LoginThrottle.table)
            .column("throttle_key", type: .text, .primaryKey(autoIncrement: false))
            .column("attempts", type: .bigint, .notNull)
            .column("window_start", type: .bigint, .notNull)
            .column("next_allowed", type: .bigint, .notNull)
            .run()
        // TOTP codes used, one row per account and 30-second step: the unique key lets exactly
        // one of several parallel sign-ins with the same code win.
        try await sql.create(table: TOTPReplay.table)
            .column("user_id", type: .text, .notNull)
            .column("step", type: .bigint, .notNull)
            .column("used_at", type: .bigint, .notNull)
            .run()
        try await sql.create(index: "totp_used_codes_unique").unique().on(TOTPReplay.table).column("user_id").column("step").run()
    }

    func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.drop(table: TOTPReplay.table).run()
        try await sql.drop(table: LoginThrottle.table).run()
    }
}

/// A TOTP code may be used once: `claim` inserts (account, step); of parallel requests with the
/// same code exactly one insert succeeds, the others hit the unique key and are refused.
enum TOTPReplay {
    static let table = "totp_used_codes"

    static func claim(userID: UUID, step: Int, on db: any Database) async throws -> Bool {
        guard let sql = db as? any SQLDatabase else { return true }
        do {
            try await sql.raw("INSERT INTO totp_used_codes (user_id, step, used_at) VALUES (\(bind: userID.uuidString), \(bind: Int64(step)), \(bind: LoginThrottle.millis(Date())))").run()
        } catch where (error as? any DatabaseError)?.isConstraintFailure == true {
            return false
        }
        // Old rows are worthless after the verification window; keep the table small.
        try await sql.raw("DELETE FROM totp_used_codes WHERE user_id = \(bind: userID.uuidString) AND step < \(bind: Int64(step - 10))").run()
        return true
    }
}
