import Fluent
import SQLKit
import Vapor

/// One search in the Zuständigkeitsfinder, anonymous: the day, the service and place it resolved
/// to, the tenant responsible there, whether an online service was available. No IP, no time of
/// day, no user; a query text only when nothing was found, and then normalised. Aggregated per
/// day by the daily job and deleted after 30 days.
final class FinderSearchEvent: Model, @unchecked Sendable {
    static let schema = "finder_search_events"
    @ID(key: .id) var id: UUID?
    @Field(key: "day") var day: String
    @Field(key: "service_key") var serviceKey: String
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "kreis_ars") var kreisARS: String
    /// The state's catalogue has an online service for this service.
    @Field(key: "offerable") var offerable: Bool
    /// The responsible tenant offers it online.
    @Field(key: "available") var available: Bool
    /// Normalised query that found no service ("" otherwise).
    @Field(key: "query") var query: String
    @Field(key: "aggregated") var aggregated: Bool
    init() {}
}

/// Searches per day, service and responsible tenant (what the monitor reads).
final class FinderDemandDaily: Model, @unchecked Sendable {
    static let schema = "finder_demand_daily"
    @ID(key: .id) var id: UUID?
    @Field(key: "day") var day: String
    @Field(key: "service_key") var serviceKey: String
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "kreis_ars") var kreisARS: String
    @Field(key: "offerable") var offerable: Bool
    @Field(key: "searches") var searches: Int
    @Field(key: "without_online") var withoutOnline: Int
    init() {}
}

/// Queries that found no service, per day.
final class FinderUnfoundDaily: Model, @unchecked Sendable {
    static let schema = "finder_unfound_daily"
    @ID(key: .id) var id: UUID?
    @Field(key: "day") var day: String
    @Field(key: "query") var query: String
    @Field(key: "searches") var searches: Int
    init() {}
}

/// Share of tenants live per capability at the end of a month (or so far this month).
final class RolloutSnapshot: Model, @unchecked Sendable {
    static let schema = "rollout_snapshots"
    @ID(key: .id) var id: UUID?
    @Field(key: "month") var month: String
    @Field(key: "capability") var capability: String
    @Field(key: "live") var live: Int
    @Field(key: "total") var total: Int
    @Field(key: "taken_at") var takenAt: Date
    init() {}
}

/// A staff member who does not want the monthly digest of a tenant.
final class RolloutDigestOptOut: Model, @unchecked Sendable {
    static let schema = "rollout_digest_optouts"
    @ID(key: .id) var id: UUID?
    @Field(key: "user_id") var userID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// Everyday words the Land's editors added to the finder (on top of the shipped synonym list).
final class FinderSynonym: Model, @unchecked Sendable {
    static let schema = "finder_synonyms"
    @ID(key: .id) var id: UUID?
    @Field(key: "phrase") var phrase: String
    @Field(key: "replacement") var replacement: String
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

struct M030CreateRollout: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(FinderSearchEvent.schema).id()
            .field("day", .string, .required).field("service_key", .string, .required).field("tenant_ars", .string, .required)
            .field("kreis_ars", .string, .required).field("offerable", .bool, .required).field("available", .bool, .required)
            .field("query", .string, .required).field("aggregated", .bool, .required)
            .create()
        try await database.schema(FinderDemandDaily.schema).id()
            .field("day", .string, .required).field("service_key", .string, .required).field("tenant_ars", .string, .required)
            .field("kreis_ars", .string, .required).field("offerable", .bool, .required).field("searches", .int, .required)
            .field("without_online", .int, .required)
            .create()
        try await database.schema(FinderUnfoundDaily.schema).id()
            .field("day", .string, .required).field("query", .string, .required).field("searches", .int, .required)
            .create()
        try await database.schema(RolloutSnapshot.schema).id()
            .field("month", .string, .required).field("capability", .string, .required).field("live", .int, .required)
            .field("total", .int, .required).field("taken_at", .datetime, .required)
            .create()
        try await database.schema(RolloutDigestOptOut.schema).id()
            .field("user_id", .uuid, .required).field("tenant_ars", .string, .required).field("created_at", .datetime, .required)
            .create()
        try await database.schema(FinderSynonym.schema).id()
            .field("phrase", .string, .required).field("replacement", .string, .required).field("created_by", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "finder_search_events_open").on(FinderSearchEvent.schema).column("aggregated").run()
        try await sql.create(index: "finder_demand_daily_uq").unique().on(FinderDemandDaily.schema).column("day").column("service_key").column("tenant_ars").run()
        try await sql.create(index: "finder_unfound_daily_uq").unique().on(FinderUnfoundDaily.schema).column("day").column("query").run()
        try await sql.create(index: "rollout_snapshots_uq").unique().on(RolloutSnapshot.schema).column("month").column("capability").run()
        try await sql.create(index: "rollout_digest_optouts_uq").unique().on(RolloutDigestOptOut.schema).column("user_id").column("tenant_ars").run()
        try await sql.create(index: "finder_synonyms_uq").unique().on(FinderSynonym.schema).column("phrase").run()
    }

    func revert(on database: any Database) async throws {
        for s in [FinderSynonym.schema, RolloutDigestOptOut.schema, RolloutSnapshot.schema, FinderUnfoundDaily.schema, FinderDemandDaily.schema, FinderSearchEvent.schema] {
            try await database.schema(s).delete()
        }
    }
}
