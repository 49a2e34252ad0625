import Fluent
import SQLKit
import Vapor
import Funding

/// A funding programme of the Land (e.g. ThürEGovRL 2024). Changes bump `version` and are audited.
final class FundingProgramme: Model, @unchecked Sendable {
    static let schema = "funding_programmes"
    @ID(key: .id) var id: UUID?
    @Field(key: "title") var title: String
    @Field(key: "guideline") var guideline: String
    /// Eligible applicant levels, comma-separated (`ApplicantLevel`).
    @Field(key: "levels") var levels: String
    @Field(key: "demo") var demo: Bool
    @Field(key: "version") var version: Int
    /// Bumped by every booking that commits or releases money: the one statement that takes the
    /// programme's row lock, so budget checks of one programme happen one after the other on
    /// PostgreSQL (several instances) as they do on SQLite (one writer).
    @Field(key: "budget_lock") var budgetLock: Int
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}

    var levelSet: Set<ApplicantLevel> { Set(levels.split(separator: ",").compactMap { ApplicantLevel(rawValue: String($0)) }) }
}

/// A Fördergegenstand with its financing rule.
final class FundingCategory: Model, @unchecked Sendable {
    static let schema = "funding_categories"
    @ID(key: .id) var id: UUID?
    @Field(key: "programme_id") var programmeID: UUID
    /// "1a", "2", as the guideline numbers them.
    @Field(key: "code") var code: String
    @Field(key: "title") var title: String
    /// Eligible cost types, comma-separated (`FundingCostType`).
    @Field(key: "cost_types") var costTypes: String
    /// anteil | festbetrag
    @Field(key: "financing") var financing: String
    @Field(key: "rate_bp") var rateBasisPoints: Int
    @OptionalField(key: "cap_cents") var capCents: Int64?
    @Field(key: "unit_cents") var unitCents: Int64
    /// What a unit is ("geschulte Person"), for fixed amounts.
    @Field(key: "unit_label") var unitLabel: String
    @Field(key: "version") var version: Int
    @Field(key: "updated_by") var updatedBy: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}

    var rule: Financing {
        financing == "festbetrag" ? .fixed(amountPerUnitCents: unitCents) : .share(rateBasisPoints: rateBasisPoints, capCents: capCents)
    }
    var costTypeSet: Set<String> { Set(costTypes.split(separator: ",").map(String.init)) }
}

/// A Förderaufruf: a window in which applications may be submitted.
final class FundingCall: Model, @unchecked Sendable {
    static let schema = "funding_calls"
    @ID(key: .id) var id: UUID?
    @Field(key: "programme_id") var programmeID: UUID
    @Field(key: "title") var title: String
    /// ISO days, both inclusive.
    @Field(key: "opens_on") var opensOn: String
    @Field(key: "closes_on") var closesOn: String
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// One append-only line of the programme's budget ledger, integer cents. Never updated or deleted.
final class FundingBooking: Model, @unchecked Sendable {
    static let schema = "funding_bookings"
    @ID(key: .id) var id: UUID?
    @Field(key: "programme_id") var programmeID: UUID
    @Field(key: "year") var year: Int
    @Field(key: "source") var source: String
    @Field(key: "kind") var kind: String
    @Field(key: "cents") var cents: Int64
    /// A commitment appropriation for this later year (Verpflichtungsermächtigung), for plan lines.
    @Field(key: "ve") var ve: Bool
    @OptionalField(key: "application_id") var applicationID: UUID?
    @OptionalField(key: "payout_id") var payoutID: UUID?
    @Field(key: "note") var note: String
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}

    var booking: Booking? {
        guard let s = FundingSource(rawValue: source), let k = BookingKind(rawValue: kind) else { return nil }
        return Booking(year: year, source: s, kind: k, cents: cents)
    }
}

/// A Förderantrag of a tenant (the lead, for joint projects).
final class FundingApplication: Model, @unchecked Sendable {
    static let schema = "funding_applications"
    @ID(key: .id) var id: UUID?
    /// "FÖ-2027-0001", given when the draft is created.
    @Field(key: "reference") var reference: String
    @Field(key: "programme_id") var programmeID: UUID
    @Field(key: "call_id") var callID: UUID
    @Field(key: "category_id") var categoryID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "tenant_name") var tenantName: String
    @Field(key: "title") var title: String
    @Field(key: "description") var summary: String
    /// ISO days.
    @Field(key: "starts_on") var startsOn: String
    @Field(key: "ends_on") var endsOn: String
    @Field(key: "units") var units: Int
    @Field(key: "own_share_cents") var ownShareCents: Int64
    @Field(key: "other_funding_cents") var otherFundingCents: Int64
    /// Recomputed by the server on every save from the cost plan and the category's rule.
    @Field(key: "requested_cents") var requestedCents: Int64
    @Field(key: "contact_name") var contactName: String
    @Field(key: "contact_email") var contactEmail: String
    @Field(key: "status") var status: String
    @Field(key: "author_id") var authorID: String
    @Field(key: "author_name") var authorName: String
    @OptionalField(key: "released_by") var releasedBy: String?
    @OptionalField(key: "content_check_by") var contentCheckBy: String?
    @Field(key: "content_check_note") var contentCheckNote: String
    @OptionalField(key: "calc_check_by") var calcCheckBy: String?
    @Field(key: "calc_check_note") var calcCheckNote: String
    @OptionalField(key: "score") var score: Int?
    /// "" | beantragt | genehmigt | abgelehnt
    @Field(key: "early_start_status") var earlyStartStatus: String
    @Field(key: "early_start_from") var earlyStartFrom: String
    @Field(key: "early_start_reason") var earlyStartReason: String
    @Field(key: "query_text") var queryText: String
    @Field(key: "query_due_on") var queryDueOn: String
    @Field(key: "decision_text") var decisionText: String
    @Field(key: "conditions") var conditions: String
    @Field(key: "legal_remedy") var legalRemedy: String
    @Field(key: "proof_due_on") var proofDueOn: String
    @Field(key: "proof_report") var proofReport: String
    @Field(key: "proof_costs_cents") var proofCostsCents: Int64
    @Field(key: "final_grant_cents") var finalGrantCents: Int64
    @Field(key: "reclaim_cents") var reclaimCents: Int64
    @OptionalField(key: "submitted_at") var submittedAt: Date?
    @OptionalField(key: "decided_at") var decidedAt: Date?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}

    var state: FundingStatus { FundingStatus(rawValue: status) ?? .draft }
    var earlyStartDay: String? { earlyStartStatus == "genehmigt" && !earlyStartFrom.isEmpty ? earlyStartFrom : nil }
}

final class FundingCostItem: Model, @unchecked Sendable {
    static let schema = "funding_cost_items"
    @ID(key: .id) var id: UUID?
    @Field(key: "application_id") var applicationID: UUID
    @Field(key: "year") var year: Int
    @Field(key: "cost_type") var costType: String
    @Field(key: "label") var label: String
    @Field(key: "net_cents") var netCents: Int64
    @Field(key: "gross_cents") var grossCents: Int64
    @Field(key: "vat_deductible") var vatDeductible: Bool
    @Field(key: "incurred_on") var incurredOn: String
    @Field(key: "created_at") var createdAt: Date
    init() {}

    var item: CostItem {
        CostItem(year: year, costType: costType, netCents: netCents, grossCents: grossCents, vatDeductible: vatDeductible,
                 incurredOn: incurredOn.isEmpty ? nil : incurredOn)
    }
}

/// A partner tenant of a joint (inter-municipal) project.
final class FundingPartner: Model, @unchecked Sendable {
    static let schema = "funding_partners"
    @ID(key: .id) var id: UUID?
    @Field(key: "application_id") var applicationID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "tenant_name") var tenantName: String
    @Field(key: "share_cents") var shareCents: Int64
    /// eingeladen | bestaetigt | abgelehnt
    @Field(key: "status") var status: String
    @OptionalField(key: "confirmed_by") var confirmedBy: String?
    @OptionalField(key: "confirmed_at") var confirmedAt: Date?
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// A file of an application (council resolution, project description, offers, proof).
final class FundingAttachment: Model, @unchecked Sendable {
    static let schema = "funding_attachments"
    @ID(key: .id) var id: UUID?
    @Field(key: "application_id") var applicationID: UUID
    @Field(key: "kind") var kind: String
    @Field(key: "name") var name: String
    @Field(key: "file_kind") var fileKind: String
    @Field(key: "size") var size: Int
    @Field(key: "sha256") var sha256: String
    @Field(key: "uploaded_by") var uploadedBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// The case's postbox between the Land and the municipality (letters with their PDF, queries,
/// answers) and the advisors' comments.
final class FundingMessage: Model, @unchecked Sendable {
    static let schema = "funding_messages"
    @ID(key: .id) var id: UUID?
    @Field(key: "application_id") var applicationID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    /// land | kommune | beratung
    @Field(key: "direction") var direction: String
    /// bescheid | rueckfrage | antwort | nachbesserung | ablehnung | kommentar | hinweis
    @Field(key: "kind") var kind: String
    @Field(key: "sender") var sender: String
    @Field(key: "subject") var subject: String
    @Field(key: "body") var body: String
    @OptionalField(key: "file_sha") var fileSHA: String?
    @Field(key: "file_name") var fileName: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// A Mittelabruf: the municipality asks for (part of) the approved amount of one year and source.
final class FundingPayout: Model, @unchecked Sendable {
    static let schema = "funding_payouts"
    @ID(key: .id) var id: UUID?
    @Field(key: "application_id") var applicationID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "year") var year: Int
    @Field(key: "source") var source: String
    @Field(key: "cents") var cents: Int64
    /// beantragt | ausgezahlt | abgelehnt
    @Field(key: "status") var status: String
    @Field(key: "requested_by") var requestedBy: String
    @Field(key: "requested_at") var requestedAt: Date
    @OptionalField(key: "released_by") var releasedBy: String?
    @OptionalField(key: "released_at") var releasedAt: Date?
    @Field(key: "note") var note: String
    init() {}
}

/// A paid e-invoice of the tenant used as evidence; unique per invoice (one project only).
final class FundingInvoiceLink: Model, @unchecked Sendable {
    static let schema = "funding_invoice_links"
    @ID(key: .id) var id: UUID?
    @Field(key: "invoice_id") var invoiceID: UUID
    @Field(key: "application_id") var applicationID: UUID
    @Field(key: "payout_id") var payoutID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "cents") var cents: Int64
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// An Änderungsantrag after approval: new end, new amount for one year and source.
final class FundingChange: Model, @unchecked Sendable {
    static let schema = "funding_changes"
    @ID(key: .id) var id: UUID?
    @Field(key: "application_id") var applicationID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "reason") var reason: String
    @Field(key: "new_ends_on") var newEndsOn: String
    @Field(key: "year") var year: Int
    @Field(key: "source") var source: String
    /// The new committed amount of that year and source.
    @Field(key: "new_cents") var newCents: Int64
    /// beantragt | genehmigt | abgelehnt
    @Field(key: "status") var status: String
    @Field(key: "requested_by") var requestedBy: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "decided_by") var decidedBy: String?
    @Field(key: "decision_note") var decisionNote: String
    init() {}
}

/// Cost types of the cost plan.
enum FundingCostType: String, CaseIterable {
    case sach, dienst, lizenz, schulung, personal
    func label(_ english: Bool) -> String {
        switch self {
        case .sach: english ? "Hardware and equipment" : "Sachausgaben (Hardware, Ausstattung)"
        case .dienst: english ? "External services" : "Dienstleistungen Dritter"
        case .lizenz: english ? "Software licences" : "Softwarelizenzen"
        case .schulung: english ? "Training" : "Schulungen"
        case .personal: english ? "Own staff" : "eigenes Personal"
        }
    }
}

/// Kinds of attachments.
enum FundingAttachmentKind: String, CaseIterable {
    case beschluss, beschreibung, angebot, nachweis, sonstiges
    func label(_ english: Bool) -> String {
        switch self {
        case .beschluss: english ? "Council resolution" : "Beschluss des Gemeinderats / Kreistags"
        case .beschreibung: english ? "Project description" : "Projektbeschreibung"
        case .angebot: english ? "Offer" : "Angebot"
        case .nachweis: english ? "Proof" : "Nachweis"
        case .sonstiges: english ? "Other" : "Sonstiges"
        }
    }
}

struct M029CreateFunding: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(FundingProgramme.schema).id()
            .field("title", .string, .required).field("guideline", .string, .required).field("levels", .string, .required)
            .field("demo", .bool, .required).field("version", .int, .required).field("budget_lock", .int, .required)
            .field("created_by", .string, .required).field("created_at", .datetime, .required).field("updated_at", .datetime, .required)
            .create()
        try await database.schema(FundingCategory.schema).id()
            .field("programme_id", .uuid, .required).field("code", .string, .required).field("title", .string, .required)
            .field("cost_types", .string, .required).field("financing", .string, .required).field("rate_bp", .int, .required)
            .field("cap_cents", .int64).field("unit_cents", .int64, .required).field("unit_label", .string, .required)
            .field("version", .int, .required).field("updated_by", .string, .required).field("updated_at", .datetime, .required)
            .create()
        try await database.schema(FundingCall.schema).id()
            .field("programme_id", .uuid, .required).field("title", .string, .required).field("opens_on", .string, .required)
            .field("closes_on", .string, .required).field("created_by", .string, .required).field("created_at", .datetime, .required)
            .create()
        try await database.schema(FundingBooking.schema).id()
            .field("programme_id", .uuid, .required).field("year", .int, .required).field("source", .string, .required)
            .field("kind", .string, .required).field("cents", .int64, .required).field("ve", .bool, .required)
            .field("application_id", .uuid).field("payout_id", .uuid).field("note", .string, .required)
            .field("created_by", .string, .required).field("created_at", .datetime, .required)
            .create()
        try await database.schema(FundingApplication.schema).id()
            .field("reference", .string, .required).field("programme_id", .uuid, .required).field("call_id", .uuid, .required)
            .field("category_id", .uuid, .required).field("tenant_ars", .string, .required).field("tenant_name", .string, .required)
            .field("title", .string, .required).field("description", .string, .required).field("starts_on", .string, .required)
            .field("ends_on", .string, .required).field("units", .int, .required).field("own_share_cents", .int64, .required)
            .field("other_funding_cents", .int64, .required).field("requested_cents", .int64, .required)
            .field("contact_name", .string, .required).field("contact_email", .string, .required).field("status", .string, .required)
            .field("author_id", .string, .required).field("author_name", .string, .required).field("released_by", .string)
            .field("content_check_by", .string).field("content_check_note", .string, .required).field("calc_check_by", .string)
            .field("calc_check_note", .string, .required).field("score", .int).field("early_start_status", .string, .required)
            .field("early_start_from", .string, .required).field("early_start_reason", .string, .required)
            .field("query_text", .string, .required).field("query_due_on", .string, .required).field("decision_text", .string, .required)
            .field("conditions", .string, .required).field("legal_remedy", .string, .required).field("proof_due_on", .string, .required)
            .field("proof_report", .string, .required).field("proof_costs_cents", .int64, .required)
            .field("final_grant_cents", .int64, .required).field("reclaim_cents", .int64, .required)
            .field("submitted_at", .datetime).field("decided_at", .datetime)
            .field("created_at", .datetime, .required).field("updated_at", .datetime, .required)
            .create()
        try await database.schema(FundingCostItem.schema).id()
            .field("application_id", .uuid, .required).field("year", .int, .required).field("cost_type", .string, .required)
            .field("label", .string, .required).field("net_cents", .int64, .required).field("gross_cents", .int64, .required)
            .field("vat_deductible", .bool, .required).field("incurred_on", .string, .required).field("created_at", .datetime, .required)
            .create()
        try await database.schema(FundingPartner.schema).id()
            .field("application_id", .uuid, .required).field("tenant_ars", .string, .required).field("tenant_name", .string, .required)
            .field("share_cents", .int64, .required).field("status", .string, .required).field("confirmed_by", .string)
            .field("confirmed_at", .datetime).field("created_at", .datetime, .required)
            .create()
        try await database.schema(FundingAttachment.schema).id()
            .field("application_id", .uuid, .required).field("kind", .string, .required).field("name", .string, .required)
            .field("file_kind", .string, .required).field("size", .int, .required).field("sha256", .string, .required)
            .field("uploaded_by", .string, .required).field("created_at", .datetime, .required)
            .create()
        try await database.schema(FundingMessage.schema).id()
            .field("application_id", .uuid, .required).field("tenant_ars", .string, .required).field("direction", .string, .required)
            .field("kind", .string, .required).field("sender", .string, .required).field("subject", .string, .required)
            .field("body", .string, .required).field("file_sha", .string).field("file_name", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema(FundingPayout.schema).id()
            .field("application_id", .uuid, .required).field("tenant_ars", .string, .required).field("year", .int, .required)
            .field("source", .string, .required).field("cents", .int64, .required).field("status", .string, .required)
            .field("requested_by", .string, .required).field("requested_at", .datetime, .required).field("released_by", .string)
            .field("released_at", .datetime).field("note", .string, .required)
            .create()
        try await database.schema(FundingInvoiceLink.schema).id()
            .field("invoice_id", .uuid, .required).field("application_id", .uuid, .required).field("payout_id", .uuid, .required)
            .field("tenant_ars", .string, .required).field("cents", .int64, .required).field("created_at", .datetime, .required)
            .create()
        try await database.schema(FundingChange.schema).id()
            .field("application_id", .uuid, .required).field("tenant_ars", .string, .required).field("reason", .string, .required)
            .field("new_ends_on", .string, .required).field("year", .int, .required).field("source", .string, .required)
            .field("new_cents", .int64, .required).field("status", .string, .required).field("requested_by", .string, .required)
            .field("created_at", .datetime, .required).field("decided_by", .string).field("decision_note", .string, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        // one invoice serves one project only; one reference per application; one partner row per tenant
        try await sql.create(index: "funding_invoice_links_invoice_uq").unique().on(FundingInvoiceLink.schema).column("invoice_id").run()
        try await sql.create(index: "funding_applications_reference_uq").unique().on(FundingApplication.schema).column("reference").run()
        try await sql.create(index: "funding_partners_uq").unique().on(FundingPartner.schema).column("application_id").column("tenant_ars").run()
        try await sql.create(index: "funding_bookings_programme").on(FundingBooking.schema).column("programme_id").run()
        try await sql.create(index: "funding_bookings_application").on(FundingBooking.schema).column("application_id").run()
        try await sql.create(index: "funding_applications_tenant").on(FundingApplication.schema).column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        for s in [FundingChange.schema, FundingInvoiceLink.schema, FundingPayout.schema, FundingMessage.schema, FundingAttachment.schema,
                  FundingPartner.schema, FundingCostItem.schema, FundingApplication.schema, FundingBooking.schema, FundingCall.schema,
                  FundingCategory.schema, FundingProgramme.schema] {
            try await database.schema(s).delete()
        }
    }
}
