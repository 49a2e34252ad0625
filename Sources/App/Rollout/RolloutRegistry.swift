import Fluent
import NIOConcurrencyHelpers
import SQLKit
import Vapor
import Rollout

/// A column of the roll-out matrix: a capability and, per tenant, whether it is live.
struct RolloutColumn: Sendable {
    var key: String
    var titleDE: String
    var titleEN: String
    var states: [String: CapabilityState]
    func title(_ english: Bool) -> String { english ? titleEN : titleDE }
}

/// What a feature contributes to the monitor: columns computed with SQL aggregates over all
/// tenants at once (never one Fluent model per row).
struct RolloutProvider: Sendable {
    var name: String
    /// `scope` is an ARS prefix ("16" for the Land, a tenant's full ARS for its cockpit): every
    /// query filters on it, so a cockpit reads one tenant's rows, not the whole installation's.
    var columns: @Sendable (_ db: any Database, _ now: Date, _ scope: String) async throws -> [RolloutColumn]
}

/// The registration point: each feature registers its provider in `configure`, so the monitor
/// shows later capabilities without importing the features' internals.
final class RolloutRegistry: Sendable {
    private let providers = NIOLockedValueBox<[RolloutProvider]>([])
    func register(_ p: RolloutProvider) { providers.withLockedValue { $0.append(p) } }
    var all: [RolloutProvider] { providers.withLockedValue { $0 } }
}

struct RolloutRegistryKey: StorageKey { typealias Value = RolloutRegistry }

extension Application {
    var rollout: RolloutRegistry {
        if let r = storage[RolloutRegistryKey.self] { return r }
        let r = RolloutRegistry()
        storage[RolloutRegistryKey.self] = r
        return r
    }
}

/// Small SQL helpers for the providers: counts per tenant.
enum RolloutSQL {
    struct Count: Decodable { var tenant_ars: String; var n: Int }
    struct CountSum: Decodable { var tenant_ars: String; var n: Int; var total: Int64? }

    static func counts(_ db: any Database, _ query: SQLQueryString) async throws -> [String: Int] {
        guard let sql = db as? any SQLDatabase else { return [:] }
        return Dictionary(try await sql.raw(query).all(decoding: Count.self).map { ($0.tenant_ars, $0.n) }, uniquingKeysWith: +)
    }

    static func countSums(_ db: any Database, _ query: SQLQueryString) async throws -> [String: (Int, Int64)] {
        guard let sql = db as? any SQLDatabase else { return [:] }
        return Dictionary(try await sql.raw(query).all(decoding: CountSum.self).map { ($0.tenant_ars, ($0.n, $0.total ?? 0)) }, uniquingKeysWith: { a, _ in a })
    }

    /// The LIKE pattern of a scope (ARS digits only, so no wildcard can be smuggled in).
    static func like(_ scope: String) -> String { String(scope.filter(\.isNumber).prefix(12)) + "%" }

    static func since(_ now: Date, days: Int) -> Date { now.addingTimeInterval(-Double(days) * 86400) }

    /// Integer columns per tenant from one grouped query (`tenant_ars` plus `columns`) — a
    /// provider answers with one result set for all tenants, read packed (see `packed`).
    static func grouped(_ db: any Database, _ query: SQLQueryString, columns: [String]) async throws -> [String: [Int64]] {
        var out: [String: [Int64]] = [:]
        let rows = try await packed(db, query, columns: ["tenant_ars"] + columns)
        out.reserveCapacity(rows.count)
        for r in rows where r.count == columns.count + 1 {
            out[String(r[0])] = r.dropFirst().map { Int64($0) ?? 0 }
        }
        return out
    }

    /// A timestamp column as epoch seconds: SQLite keeps Fluent dates as REAL seconds already,
    /// PostgreSQL as timestamptz.
    static func epochSeconds(_ sql: any SQLDatabase, _ column: String) -> SQLQueryString {
        sql.dialect.name == "sqlite" ? "\(ident: column)" : "EXTRACT(EPOCH FROM \(ident: column))"
    }

    static let unitSeparator = "\u{1F}", recordSeparator = "\u{1E}"

    /// Many rows read as one value: the database joins the selected columns as text (unit
    /// separator between values, record separator between rows) and Swift splits the one string.
    /// Decoding through SQLKit row by row costs about 1 µs per value — the 11,000-tenant matrix
    /// spent 50 ms on the tenant list alone and ~45 ms per provider (measured with
    /// `RATHAUS_ROLLOUT_TRACE=1 rathaus bench rollout`). NULL becomes "". The separators are
    /// control characters no name or number of the tables read here contains.
    static func packed(_ db: any Database, _ query: SQLQueryString, columns: [String]) async throws -> [[Substring]] {
        guard let sql = db as? any SQLDatabase, !columns.isEmpty else { return [] }
        let aggregate = sql.dialect.name == "sqlite" ? "group_concat" : "string_agg"
        var row: SQLQueryString = ""
        for (i, c) in columns.enumerated() {
            if i > 0 { row += " || \(literal: unitSeparator) || " }
            row += "COALESCE(CAST(\(ident: c) AS TEXT), '')"
        }
        let packedQuery: SQLQueryString = "SELECT \(unsafeRaw: aggregate)(\(row), \(literal: recordSeparator)) AS packed FROM (\(query)) packed_rows"
        let t0 = DispatchTime.now().uptimeNanoseconds
        guard let text = try await sql.raw(packedQuery).first()?.decode(column: "packed", as: String?.self) else { return [] }
        let t1 = DispatchTime.now().uptimeNanoseconds
        // split on bytes: both separators are ASCII, and Character-wise splitting (grapheme
        // clusters) of a 400 KB string is slower than the query
        var rows: [[Substring]] = []
        var fields: [Substring] = []
        var start = text.utf8.startIndex
        var i = start
        let utf8 = text.utf8
        while i != utf8.endIndex {
            let b = utf8[i]
            if b == 0x1F || b == 0x1E {
                fields.append(Substring(text[start..<i]))
                if b == 0x1E { rows.append(fields); fields.removeAll(keepingCapacity: true) }
                start = utf8.index(after: i)
            }
            i = utf8.index(after: i)
        }
        fields.append(Substring(text[start..<utf8.endIndex]))
        rows.append(fields)
        if Environment.get("RATHAUS_ROLLOUT_TRACE") != nil {
            let t2 = DispatchTime.now().uptimeNanoseconds
            print("packed \(columns.first ?? ""): query \(Double(t1 - t0) / 1e6) ms, split \(Double(t2 - t1) / 1e6) ms, \(rows.count) rows")
        }
        return rows
    }
}
