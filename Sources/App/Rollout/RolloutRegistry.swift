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
    var columns: @Sendable (_ db: any Database, _ now: Date) async throws -> [RolloutColumn]
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

    static func since(_ now: Date, days: Int) -> Date { now.addingTimeInterval(-Double(days) * 86400) }

    /// Integer columns per tenant from one grouped query (`tenant_ars` plus `columns`), read
    /// column by column — a provider answers with one result set for all tenants.
    static func grouped(_ db: any Database, _ query: SQLQueryString, columns: [String]) async throws -> [String: [Int64]] {
        guard let sql = db as? any SQLDatabase else { return [:] }
        var out: [String: [Int64]] = [:]
        for row in try await sql.raw(query).all() {
            let t = try row.decode(column: "tenant_ars", as: String.self)
            out[t] = try columns.map { try row.decode(column: $0, as: Int64?.self) ?? 0 }
        }
        return out
    }
}
