import Fluent
import SQLKit
import Vapor
import Events

/// An event of the competence centre (workshop, information event, course, webinar). Public:
/// the catalogue shows every published event to anyone.
final class TrainingEvent: Model, @unchecked Sendable {
    static let schema = "events"
    @ID(key: .id) var id: UUID?
    @Field(key: "title") var title: String
    @Field(key: "kind") var kind: String
    @Field(key: "description") var summary: String
    /// Topic keys, comma-separated (`EventTopic`).
    @Field(key: "topics") var topics: String
    /// Levels of the audience, comma-separated (gemeinde, vg, kreis); empty = all.
    @Field(key: "audience") var audience: String
    /// Address of the venue; empty for an online event.
    @Field(key: "place") var place: String
    @Field(key: "online") var online: Bool
    /// Sent to confirmed participants only, never shown on the public page.
    @Field(key: "online_link") var onlineLink: String
    @Field(key: "capacity") var capacity: Int
    @OptionalField(key: "quota_per_tenant") var quotaPerTenant: Int?
    @OptionalField(key: "deadline") var deadline: Date?
    /// A course whose certificate counts as a qualification of the tenant (e.g. ISB training).
    @Field(key: "qualifying") var qualifying: Bool
    @Field(key: "qualification") var qualification: String
    /// Participation fee in cents (0 = free), paid through the payment hub to the Land.
    @Field(key: "fee_cents") var feeCents: Int64
    /// Haushaltsstelle the fee is booked to (required when there is a fee).
    @Field(key: "fee_haushaltsstelle") var feeHaushaltsstelle: String
    /// published | cancelled
    @Field(key: "status") var status: String
    /// Bumped by every registration, cancellation and promotion: the one statement that takes
    /// the event's row lock, so seat decisions for one event happen one after the other on
    /// PostgreSQL (several instances) as they do on SQLite (one writer).
    @Field(key: "seat_lock") var seatLock: Int
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}

    var rules: SeatRules { SeatRules(capacity: capacity, quotaPerTenant: quotaPerTenant, deadline: deadline) }
    var eventKind: EventKind { EventKind(rawValue: kind) ?? .workshop }
    var topicList: [EventTopic] { topics.split(separator: ",").compactMap { EventTopic(rawValue: String($0)) } }
}

/// The topics events are tagged with (and the ICS feeds per topic).
enum EventTopic: String, CaseIterable, Sendable {
    case ozg, erechnung = "e-rechnung", informationssicherheit, foerderung, digitalisierung
    func label(_ english: Bool) -> String {
        switch self {
        case .ozg: english ? "Online access act (OZG)" : "OZG"
        case .erechnung: english ? "E-invoicing" : "E-Rechnung"
        case .informationssicherheit: english ? "Information security" : "Informationssicherheit"
        case .foerderung: english ? "Funding" : "Förderung"
        case .digitalisierung: english ? "Digital administration" : "Digitale Verwaltung"
        }
    }
}

/// One date of an event; `idx` counts from 0 in time order.
final class EventSessionRow: Model, @unchecked Sendable {
    static let schema = "event_sessions"
    @ID(key: .id) var id: UUID?
    @Field(key: "event_id") var eventID: UUID
    @Field(key: "idx") var idx: Int
    @Field(key: "starts_at") var startsAt: Date
    @Field(key: "ends_at") var endsAt: Date
    /// Attendance needed for the certificate.
    @Field(key: "required") var required: Bool
    init() {}
    var session: EventSession { EventSession(start: startsAt, end: endsAt) }
}

/// A person's registration: confirmed, waiting or cancelled. One row per person and event
/// (unique), so a second click or a retried request finds the first.
final class EventRegistration: Model, @unchecked Sendable {
    static let schema = "event_registrations"
    @ID(key: .id) var id: UUID?
    @Field(key: "event_id") var eventID: UUID
    @Field(key: "user_id") var userID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "name") var name: String
    @Field(key: "email") var email: String
    /// confirmed | waiting | cancelled
    @Field(key: "status") var status: String
    @Field(key: "wait_reason") var waitReason: String
    /// Order of the waiting list (time of the registration or of joining the list).
    @Field(key: "queued_at") var queuedAt: Date
    /// Indexes of the sessions attended, comma-separated.
    @Field(key: "attended") var attended: String
    @Field(key: "registered_by") var registeredBy: String
    /// The payment of the fee (latest attempt), when the event has one.
    @OptionalField(key: "payment_id") var paymentID: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}

    var attendedSet: Set<Int> { Set(attended.split(separator: ",").compactMap { Int($0) }) }
}

/// A certificate of attendance. The code is public on the certificate; the public page confirms
/// name, event, dates and issuer, and nothing else about the person.
final class EventCertificate: Model, @unchecked Sendable {
    static let schema = "event_certificates"
    @ID(key: .id) var id: UUID?
    @Field(key: "code") var code: String
    @Field(key: "registration_id") var registrationID: UUID
    @Field(key: "event_id") var eventID: UUID
    @Field(key: "user_id") var userID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "name") var name: String
    @Field(key: "event_title") var eventTitle: String
    /// "12.03.2027 und 19.03.2027", as printed.
    @Field(key: "dates") var dates: String
    @Field(key: "hours") var hours: String
    @Field(key: "qualification") var qualification: String
    @Field(key: "issued_at") var issuedAt: Date
    @Field(key: "issued_by") var issuedBy: String
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @Field(key: "revoked_reason") var revokedReason: String
    init() {}
}

/// An on-site appointment (Vor-Ort-Termin) a tenant asked for.
final class SiteVisit: Model, @unchecked Sendable {
    static let schema = "site_visits"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "topics") var topics: String
    /// What the municipality wrote about suitable periods.
    @Field(key: "preferred") var preferred: String
    @Field(key: "participants") var participants: String
    @Field(key: "notes") var notes: String
    /// requested | proposed | confirmed | documented | cancelled
    @Field(key: "status") var status: String
    @OptionalField(key: "proposed_start") var proposedStart: Date?
    @Field(key: "advisor") var advisor: String
    @Field(key: "minutes") var minutes: String
    @Field(key: "requested_by") var requestedBy: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

/// A follow-up task agreed at a visit, owned by the tenant.
final class VisitTask: Model, @unchecked Sendable {
    static let schema = "visit_tasks"
    @ID(key: .id) var id: UUID?
    @Field(key: "visit_id") var visitID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "title") var title: String
    @Field(key: "owner") var owner: String
    /// ISO day.
    @Field(key: "due_on") var dueOn: String
    @OptionalField(key: "done_at") var doneAt: Date?
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// One participant's answers to the feedback form (form engine answers as JSON). The results
/// show only counts and comments, never who wrote them; the registration makes it one per person.
final class EventFeedback: Model, @unchecked Sendable {
    static let schema = "event_feedback"
    @ID(key: .id) var id: UUID?
    @Field(key: "event_id") var eventID: UUID
    @Field(key: "registration_id") var registrationID: UUID
    @Field(key: "answers") var answers: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// A file for participants (slides, handouts), released when the event is over.
final class EventMaterial: Model, @unchecked Sendable {
    static let schema = "event_materials"
    @ID(key: .id) var id: UUID?
    @Field(key: "event_id") var eventID: UUID
    @Field(key: "name") var name: String
    @Field(key: "kind") var kind: String
    @Field(key: "size") var size: Int
    @Field(key: "sha256") var sha256: String
    @Field(key: "uploaded_by") var uploadedBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

struct M027CreateCompetenceCentre: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(TrainingEvent.schema)
            .id()
            .field("title", .string, .required)
            .field("kind", .string, .required)
            .field("description", .string, .required)
            .field("topics", .string, .required)
            .field("audience", .string, .required)
            .field("place", .string, .required)
            .field("online", .bool, .required)
            .field("online_link", .string, .required)
            .field("capacity", .int, .required)
            .field("quota_per_tenant", .int)
            .field("deadline", .datetime)
            .field("qualifying", .bool, .required)
            .field("qualification", .string, .required)
            .field("fee_cents", .int64, .required)
            .field("fee_haushaltsstelle", .string, .required)
            .field("status", .string, .required)
            .field("seat_lock", .int, .required)
            .field("created_by", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema(EventSessionRow.schema)
            .id()
            .field("event_id", .uuid, .required)
            .field("idx", .int, .required)
            .field("starts_at", .datetime, .required)
            .field("ends_at", .datetime, .required)
            .field("required", .bool, .required)
            .create()
        try await database.schema(EventRegistration.schema)
            .id()
            .field("event_id", .uuid, .required)
            .field("user_id", .uuid, .required)
            .field("tenant_ars", .string, .required)
            .field("name", .string, .required)
            .field("email", .string, .required)
            .field("status", .string, .required)
            .field("wait_reason", .string, .required)
            .field("queued_at", .datetime, .required)
            .field("attended", .string, .required)
            .field("registered_by", .string, .required)
            .field("payment_id", .uuid)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await database.schema(EventCertificate.schema)
            .id()
            .field("code", .string, .required)
            .field("registration_id", .uuid, .required)
            .field("event_id", .uuid, .required)
            .field("user_id", .uuid, .required)
            .field("tenant_ars", .string, .required)
            .field("name", .string, .required)
            .field("event_title", .string, .required)
            .field("dates", .string, .required)
            .field("hours", .string, .required)
            .field("qualification", .string, .required)
            .field("issued_at", .datetime, .required)
            .field("issued_by", .string, .required)
            .field("revoked_at", .datetime)
            .field("revoked_reason", .string, .required)
            .create()
        try await database.schema(SiteVisit.schema)
            .id()
            .field("tenant_ars", .string, .required)
            .field("topics", .string, .required)
            .field("preferred", .string, .required)
            .field("participants", .string, .required)
            .field("notes", .string, .required)
            .field("status", .string, .required)
            .field("proposed_start", .datetime)
            .field("advisor", .string, .required)
            .field("minutes", .string, .required)
            .field("requested_by", .string, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await database.schema(VisitTask.schema)
            .id()
            .field("visit_id", .uuid, .required)
            .field("tenant_ars", .string, .required)
            .field("title", .string, .required)
            .field("owner", .string, .required)
            .field("due_on", .string, .required)
            .field("done_at", .datetime)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema(EventFeedback.schema)
            .id()
            .field("event_id", .uuid, .required)
            .field("registration_id", .uuid, .required)
            .field("answers", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema(EventMaterial.schema)
            .id()
            .field("event_id", .uuid, .required)
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("size", .int, .required)
            .field("sha256", .string, .required)
            .field("uploaded_by", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "event_feedback_registration_uq").unique().on(EventFeedback.schema).column("registration_id").run()
        try await sql.create(index: "event_materials_event_idx").on(EventMaterial.schema).column("event_id").run()
        try await sql.create(index: "event_sessions_event_idx").on(EventSessionRow.schema).column("event_id").run()
        try await sql.create(index: "event_registrations_person_uq").unique().on(EventRegistration.schema).column("event_id").column("user_id").run()
        try await sql.create(index: "event_registrations_tenant_idx").on(EventRegistration.schema).column("tenant_ars").run()
        try await sql.create(index: "event_certificates_code_uq").unique().on(EventCertificate.schema).column("code").run()
        try await sql.create(index: "event_certificates_registration_uq").unique().on(EventCertificate.schema).column("registration_id").run()
        try await sql.create(index: "site_visits_tenant_idx").on(SiteVisit.schema).column("tenant_ars").run()
        try await sql.create(index: "visit_tasks_tenant_idx").on(VisitTask.schema).column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        for s in [EventMaterial.schema, EventFeedback.schema, VisitTask.schema, SiteVisit.schema, EventCertificate.schema, EventRegistration.schema, EventSessionRow.schema, TrainingEvent.schema] {
            try await database.schema(s).delete()
        }
    }
}
