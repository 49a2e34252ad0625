import Fluent
import SQLKit
import Vapor
import RathausCore

/// The membership of one tenant in the shared provider. One row per tenant, created on the first
/// application; history lives in the audit trail.
final class Membership: Model, @unchecked Sendable {
    static let schema = "memberships"

    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "status") var status: String
    /// Beitrittsantrag: date, council resolution, share subscribed (integer cents).
    @OptionalField(key: "applied_on") var appliedOn: String?
    @OptionalField(key: "council_resolution") var councilResolution: String?
    @OptionalField(key: "council_resolution_on") var councilResolutionOn: String?
    @OptionalField(key: "share_cents") var shareCents: Int64?
    @OptionalField(key: "contact") var contact: String?
    @OptionalField(key: "decided_on") var decidedOn: String?
    @OptionalField(key: "decision_reason") var decisionReason: String?
    @OptionalField(key: "effective_from") var effectiveFrom: String?
    @OptionalField(key: "notice_given_on") var noticeGivenOn: String?
    @OptionalField(key: "effective_until") var effectiveUntil: String?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    init(tenantARS: String) {
        self.tenantARS = tenantARS
        self.status = MembershipStatus.none.rawValue
    }

    var state: MembershipStatus { MembershipStatus(rawValue: status) ?? .none }

    var summary: String {
        var parts = ["Status \(status)"]
        if let a = appliedOn { parts.append("Antrag \(a)") }
        if let s = shareCents { parts.append("Anteil \(Money(cents: s).formattedDE)") }
        if let e = effectiveFrom { parts.append("wirksam ab \(e)") }
        if let r = decisionReason { parts.append("Begründung: \(r)") }
        if let u = effectiveUntil { parts.append("endet \(u)") }
        return parts.joined(separator: ", ")
    }
}

final class SurveyRound: Model, @unchecked Sendable {
    static let schema = "survey_rounds"
    @ID(key: .id) var id: UUID?
    @Field(key: "title") var title: String
    @Field(key: "status") var status: String   // open | closed
    @Field(key: "opened_on") var openedOn: String
    @OptionalField(key: "closes_on") var closesOn: String?
    @Field(key: "created_by") var createdBy: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    init() {}
    var isOpen: Bool { status == "open" }
}

final class SurveyAnswer: Model, @unchecked Sendable {
    static let schema = "survey_answers"
    @ID(key: .id) var id: UUID?
    @Field(key: "round_id") var roundID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "interest") var interest: String
    /// Platform services of interest, `,`-separated codes from `PlatformService`.
    @Field(key: "services") var services: String
    @Field(key: "contact_name") var contactName: String
    @Field(key: "contact_email") var contactEmail: String
    @Field(key: "comment") var comment: String
    @Field(key: "answered_by") var answeredBy: String
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

/// The services of the shared provider a tenant can declare interest in.
enum PlatformService: String, CaseIterable, Codable, Sendable {
    case zustaendigkeitsfinder, onlinedienste, servicekonto, epayment, erechnung, foerderprogramm,
         veranstaltungen, vergabe, informationssicherheit
}

struct M007CreateMemberships: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Membership.schema)
            .id()
            .field("tenant_ars", .string, .required)
            .field("status", .string, .required)
            .field("applied_on", .string)
            .field("council_resolution", .string)
            .field("council_resolution_on", .string)
            .field("share_cents", .int64)
            .field("contact", .string)
            .field("decided_on", .string)
            .field("decision_reason", .string)
            .field("effective_from", .string)
            .field("notice_given_on", .string)
            .field("effective_until", .string)
            .field("updated_at", .datetime)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "memberships_tenant_uq").unique().on(Membership.schema).column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Membership.schema).delete()
    }
}

struct M008CreateSurveys: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(SurveyRound.schema)
            .id()
            .field("title", .string, .required)
            .field("status", .string, .required)
            .field("opened_on", .string, .required)
            .field("closes_on", .string)
            .field("created_by", .string, .required)
            .field("created_at", .datetime)
            .create()
        try await database.schema(SurveyAnswer.schema)
            .id()
            .field("round_id", .uuid, .required, .references(SurveyRound.schema, "id"))
            .field("tenant_ars", .string, .required)
            .field("interest", .string, .required)
            .field("services", .string, .required)
            .field("contact_name", .string, .required)
            .field("contact_email", .string, .required)
            .field("comment", .string, .required)
            .field("answered_by", .string, .required)
            .field("updated_at", .datetime)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "survey_answers_round_tenant_uq").unique().on(SurveyAnswer.schema)
            .column("round_id").column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(SurveyAnswer.schema).delete()
        try await database.schema(SurveyRound.schema).delete()
    }
}
