import Fluent
import SQLKit
import Vapor

/// One imported version of the check catalogue (the whole catalogue as JSON; the newest is in force).
final class ISMSCatalogueVersion: Model, @unchecked Sendable {
    static let schema = "isms_catalogues"
    @ID(key: .id) var id: UUID?
    @Field(key: "version") var version: Int
    @Field(key: "title") var title: String
    @Field(key: "body") var body: String
    @Field(key: "demo") var demo: Bool
    @Field(key: "imported_by") var importedBy: String
    @Field(key: "imported_at") var importedAt: Date
    init() {}
}

/// A tenant's answer to one requirement (the current state; every change also lands in
/// `isms_answer_versions` and the audit trail).
final class ISMSAnswer: Model, @unchecked Sendable {
    static let schema = "isms_answers"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "requirement_id") var requirementID: String
    @Field(key: "status") var status: String
    @Field(key: "justification") var justification: String
    @Field(key: "note") var note: String
    @Field(key: "responsible") var responsible: String
    /// Catalogue version the answer was given under (a changed requirement asks for a look).
    @Field(key: "catalogue_version") var catalogueVersion: Int
    @Field(key: "revision") var revision: Int
    @Field(key: "updated_by") var updatedBy: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

/// Every state an answer had: who, when, what (append-only).
final class ISMSAnswerVersion: Model, @unchecked Sendable {
    static let schema = "isms_answer_versions"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "requirement_id") var requirementID: String
    @Field(key: "revision") var revision: Int
    @Field(key: "status") var status: String
    @Field(key: "justification") var justification: String
    @Field(key: "note") var note: String
    @Field(key: "responsible") var responsible: String
    @Field(key: "catalogue_version") var catalogueVersion: Int
    @Field(key: "changed_by") var changedBy: String
    @Field(key: "changed_at") var changedAt: Date
    init() {}
}

/// The tenant's information security officer and deputy (staff accounts; they hold the role `isb`).
final class ISMSOfficer: Model, @unchecked Sendable {
    static let schema = "isms_officers"
    @ID(custom: "tenant_ars", generatedBy: .user) var id: String?
    @OptionalField(key: "isb_user_id") var isbUserID: UUID?
    @OptionalField(key: "deputy_user_id") var deputyUserID: UUID?
    @Field(key: "updated_by") var updatedBy: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

/// The provider's declaration: a member using `service` has `requirement_id` fulfilled by the
/// provider, with the provider's evidence.
final class ISMSProviderControl: Model, @unchecked Sendable {
    static let schema = "isms_provider_controls"
    @ID(key: .id) var id: UUID?
    @Field(key: "service") var service: String
    @Field(key: "requirement_id") var requirementID: String
    @Field(key: "evidence") var evidence: String
    @Field(key: "declared_by") var declaredBy: String
    @Field(key: "declared_at") var declaredAt: Date
    init() {}
}

/// A measure to close a gap: owner, due date, status, estimated cost (integer cents).
final class ISMSMeasure: Model, @unchecked Sendable {
    static let schema = "isms_measures"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "requirement_id") var requirementID: String
    @Field(key: "title") var title: String
    @Field(key: "owner") var owner: String
    @Field(key: "due_on") var dueOn: String
    @Field(key: "status") var status: String
    @Field(key: "cost_cents") var costCents: Int64
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    /// The funding application a measure was carried into ("FÖ-2027-0003"), empty when none.
    @Field(key: "funding_reference") var fundingReference: String
    @Field(key: "updated_by") var updatedBy: String
    init() {}
}

struct M031CreateISMS: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ISMSCatalogueVersion.schema).id()
            .field("version", .int, .required).field("title", .string, .required).field("body", .string, .required)
            .field("demo", .bool, .required).field("imported_by", .string, .required).field("imported_at", .datetime, .required)
            .create()
        try await database.schema(ISMSAnswer.schema).id()
            .field("tenant_ars", .string, .required).field("requirement_id", .string, .required).field("status", .string, .required)
            .field("justification", .string, .required).field("note", .string, .required).field("responsible", .string, .required)
            .field("catalogue_version", .int, .required).field("revision", .int, .required)
            .field("updated_by", .string, .required).field("updated_at", .datetime, .required)
            .create()
        try await database.schema(ISMSAnswerVersion.schema).id()
            .field("tenant_ars", .string, .required).field("requirement_id", .string, .required).field("revision", .int, .required)
            .field("status", .string, .required).field("justification", .string, .required).field("note", .string, .required)
            .field("responsible", .string, .required).field("catalogue_version", .int, .required)
            .field("changed_by", .string, .required).field("changed_at", .datetime, .required)
            .create()
        try await database.schema(ISMSOfficer.schema)
            .field("tenant_ars", .string, .identifier(auto: false))
            .field("isb_user_id", .uuid).field("deputy_user_id", .uuid)
            .field("updated_by", .string, .required).field("updated_at", .datetime, .required)
            .create()
        try await database.schema(ISMSProviderControl.schema).id()
            .field("service", .string, .required).field("requirement_id", .string, .required).field("evidence", .string, .required)
            .field("declared_by", .string, .required).field("declared_at", .datetime, .required)
            .create()
        try await database.schema(ISMSMeasure.schema).id()
            .field("tenant_ars", .string, .required).field("requirement_id", .string, .required).field("title", .string, .required)
            .field("owner", .string, .required).field("due_on", .string, .required).field("status", .string, .required)
            .field("cost_cents", .int64, .required).field("created_by", .string, .required)
            .field("created_at", .datetime, .required).field("updated_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "isms_catalogues_version_uq").unique().on(ISMSCatalogueVersion.schema).column("version").run()
        try await sql.create(index: "isms_answers_uq").unique().on(ISMSAnswer.schema).column("tenant_ars").column("requirement_id").run()
        try await sql.create(index: "isms_answer_versions_uq").unique().on(ISMSAnswerVersion.schema).column("tenant_ars").column("requirement_id").column("revision").run()
        try await sql.create(index: "isms_provider_controls_uq").unique().on(ISMSProviderControl.schema).column("service").column("requirement_id").run()
        try await sql.create(index: "isms_measures_tenant").on(ISMSMeasure.schema).column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        for s in [ISMSMeasure.schema, ISMSProviderControl.schema, ISMSOfficer.schema, ISMSAnswerVersion.schema, ISMSAnswer.schema, ISMSCatalogueVersion.schema] {
            try await database.schema(s).delete()
        }
    }
}

/// A security incident of a tenant (Sicherheitsvorfall): reported by any staff member, handled by
/// the provider's CERT, with the 72-hour deadline of a data-protection breach notification.
final class ISMSIncident: Model, @unchecked Sendable {
    static let schema = "isms_incidents"
    @ID(key: .id) var id: UUID?
    /// "SV-2026-0001", counted per calendar year over the installation.
    @Field(key: "reference") var reference: String
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "title") var title: String
    @Field(key: "description") var description: String
    /// `IncidentCategory` raw value.
    @Field(key: "category") var category: String
    /// `IncidentAssessment` raw value (the reporter's first assessment; the CERT may change it).
    @Field(key: "assessment") var assessment: String
    @Field(key: "systems") var systems: String
    @Field(key: "personal_data") var personalData: Bool
    @Field(key: "occurred_at") var occurredAt: Date
    @Field(key: "detected_at") var detectedAt: Date
    /// gemeldet | bearbeitung | abgeschlossen
    @Field(key: "status") var status: String
    @Field(key: "reported_by") var reportedBy: String
    @Field(key: "reported_at") var reportedAt: Date
    /// When the tenant told the data-protection authority (Art. 33 DSGVO), recorded by the tenant.
    @OptionalField(key: "authority_notified_at") var authorityNotifiedAt: Date?
    @Field(key: "closing_report") var closingReport: String
    @OptionalField(key: "closed_at") var closedAt: Date?
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

/// The timeline of an incident (append-only): report, actions, notification, closing.
final class ISMSIncidentEvent: Model, @unchecked Sendable {
    static let schema = "isms_incident_events"
    @ID(key: .id) var id: UUID?
    @Field(key: "incident_id") var incidentID: UUID
    @Field(key: "kind") var kind: String
    @Field(key: "text") var text: String
    @Field(key: "actor") var actor: String
    @Field(key: "at") var at: Date
    init() {}
}

/// The light structure inventory of a tenant: locations, IT systems, applications, each mapped to
/// the catalogue topics that apply. What the provider runs for the tenant is added live, not stored.
final class ISMSInventoryItem: Model, @unchecked Sendable {
    static let schema = "isms_inventory"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    /// standort | system | anwendung
    @Field(key: "kind") var kind: String
    @Field(key: "name") var name: String
    @Field(key: "description") var description: String
    /// Topic ids of the catalogue, comma-separated.
    @Field(key: "topics") var topics: String
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

struct M032ISMSMeasuresIncidents: AsyncMigration {
    func prepare(on database: any Database) async throws {
        // one column per update (SQLite)
        try await database.schema(ISMSMeasure.schema).field("funding_reference", .string, .required, .sql(.default(""))).update()
        try await database.schema(ISMSMeasure.schema).field("updated_by", .string, .required, .sql(.default(""))).update()
        try await database.schema(ISMSIncident.schema).id()
            .field("reference", .string, .required).field("tenant_ars", .string, .required).field("title", .string, .required)
            .field("description", .string, .required).field("category", .string, .required).field("assessment", .string, .required)
            .field("systems", .string, .required).field("personal_data", .bool, .required)
            .field("occurred_at", .datetime, .required).field("detected_at", .datetime, .required).field("status", .string, .required)
            .field("reported_by", .string, .required).field("reported_at", .datetime, .required).field("authority_notified_at", .datetime)
            .field("closing_report", .string, .required).field("closed_at", .datetime).field("updated_at", .datetime, .required)
            .create()
        try await database.schema(ISMSIncidentEvent.schema).id()
            .field("incident_id", .uuid, .required).field("kind", .string, .required).field("text", .string, .required)
            .field("actor", .string, .required).field("at", .datetime, .required)
            .create()
        try await database.schema(ISMSInventoryItem.schema).id()
            .field("tenant_ars", .string, .required).field("kind", .string, .required).field("name", .string, .required)
            .field("description", .string, .required).field("topics", .string, .required)
            .field("created_by", .string, .required).field("created_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "isms_incidents_reference_uq").unique().on(ISMSIncident.schema).column("reference").run()
        try await sql.create(index: "isms_incidents_tenant").on(ISMSIncident.schema).column("tenant_ars").run()
        try await sql.create(index: "isms_incident_events_incident").on(ISMSIncidentEvent.schema).column("incident_id").run()
        try await sql.create(index: "isms_inventory_tenant").on(ISMSInventoryItem.schema).column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        for s in [ISMSInventoryItem.schema, ISMSIncidentEvent.schema, ISMSIncident.schema] { try await database.schema(s).delete() }
        try await database.schema(ISMSMeasure.schema).deleteField("updated_by").update()
        try await database.schema(ISMSMeasure.schema).deleteField("funding_reference").update()
    }
}

/// An evidence file of a tenant for one requirement (the bytes in the shared file store).
final class ISMSEvidence: Model, @unchecked Sendable {
    static let schema = "isms_evidence"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "requirement_id") var requirementID: String
    @Field(key: "name") var name: String
    @Field(key: "file_kind") var fileKind: String
    @Field(key: "size") var size: Int
    @Field(key: "sha256") var sha256: String
    @Field(key: "uploaded_by") var uploadedBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

struct M034CreateISMSEvidence: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ISMSEvidence.schema).id()
            .field("tenant_ars", .string, .required).field("requirement_id", .string, .required).field("name", .string, .required)
            .field("file_kind", .string, .required).field("size", .int, .required).field("sha256", .string, .required)
            .field("uploaded_by", .string, .required).field("created_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "isms_evidence_tenant").on(ISMSEvidence.schema).column("tenant_ars").column("requirement_id").run()
    }
    func revert(on database: any Database) async throws { try await database.schema(ISMSEvidence.schema).delete() }
}
