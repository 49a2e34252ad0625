import Fluent
import SQLKit
import Vapor

/// A framework agreement (Rahmenvereinbarung) the provider tendered once for all members.
final class ProcurementFramework: Model, @unchecked Sendable {
    static let schema = "procurement_frameworks"
    @ID(key: .id) var id: UUID?
    /// The provider's reference number, e.g. "RV-2026-003".
    @Field(key: "reference") var reference: String
    @Field(key: "subject") var subject: String
    @Field(key: "description") var description: String
    /// `FrameworkStatus` raw value.
    @Field(key: "status") var status: String
    @Field(key: "starts_on") var startsOn: String
    @Field(key: "ends_on") var endsOn: String
    /// Extension options as agreed (free text, e.g. "zweimal um je 12 Monate").
    @Field(key: "extension") var extensionOptions: String
    /// Maximum volume (net, cents; 0 = none) and what released call-offs used: changed only by one
    /// conditional UPDATE per release (`ProcurementService.release`).
    @Field(key: "max_volume_cents") var maxVolumeCents: Int64
    @Field(key: "released_cents") var releasedCents: Int64
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

/// A lot of a framework with its supplier (one supplier per lot; several lots = several suppliers).
final class ProcurementLot: Model, @unchecked Sendable {
    static let schema = "procurement_lots"
    @ID(key: .id) var id: UUID?
    @Field(key: "framework_id") var frameworkID: UUID
    @Field(key: "number") var number: Int
    @Field(key: "title") var title: String
    @Field(key: "supplier_name") var supplierName: String
    @Field(key: "supplier_address") var supplierAddress: String
    @Field(key: "supplier_vat_id") var supplierVATID: String
    /// Where orders go (e-mail through the outbox).
    @Field(key: "supplier_email") var supplierEmail: String
    init() {}
}

/// A catalogue item of a lot; its prices are `ProcurementPrice` rows (versioned by day).
final class ProcurementItem: Model, @unchecked Sendable {
    static let schema = "procurement_items"
    @ID(key: .id) var id: UUID?
    @Field(key: "framework_id") var frameworkID: UUID
    @Field(key: "lot_id") var lotID: UUID
    @Field(key: "article_number") var articleNumber: String
    @Field(key: "name") var name: String
    @Field(key: "description") var description: String
    @Field(key: "category") var category: String
    /// UN/ECE Rec 20 code (`UnitCode`).
    @Field(key: "unit_code") var unitCode: String
    @Field(key: "vat_percent") var vatPercent: Int
    @Field(key: "min_quantity") var minQuantity: Int
    /// 0 = no maximum.
    @Field(key: "max_quantity") var maxQuantity: Int
    @Field(key: "delivery_days") var deliveryDays: Int
    /// The provider's service fee per unit (net cents).
    @Field(key: "fee_cents") var feeCents: Int64
    init() {}
}

/// A net unit price from a day on.
final class ProcurementPrice: Model, @unchecked Sendable {
    static let schema = "procurement_prices"
    @ID(key: .id) var id: UUID?
    @Field(key: "item_id") var itemID: UUID
    @Field(key: "valid_from") var validFrom: String
    @Field(key: "net_cents") var netCents: Int64
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// A member's call-off (Abruf) from one lot of a framework.
final class ProcurementCallOff: Model, @unchecked Sendable {
    static let schema = "procurement_calloffs"
    @ID(key: .id) var id: UUID?
    /// "AB-2026-00012", from a gap-free sequence per year.
    @Field(key: "reference") var reference: String
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "framework_id") var frameworkID: UUID
    @Field(key: "lot_id") var lotID: UUID
    /// `CallOffStatus` raw value.
    @Field(key: "status") var status: String
    @Field(key: "requested_by") var requestedBy: String
    @Field(key: "approved_by") var approvedBy: String
    @Field(key: "delivery_address") var deliveryAddress: String
    @Field(key: "delivery_date") var deliveryDate: String
    /// Kostenstelle / Haushaltsstelle of the member.
    @Field(key: "cost_centre") var costCentre: String
    @Field(key: "note") var note: String
    @Field(key: "reason") var reason: String
    @Field(key: "goods_cents") var goodsCents: Int64
    @Field(key: "fee_cents") var feeCents: Int64
    @Field(key: "vat_cents") var vatCents: Int64
    /// The day whose prices apply (the submission day).
    @Field(key: "price_day") var priceDay: String
    @OptionalField(key: "submitted_at") var submittedAt: Date?
    @OptionalField(key: "released_at") var releasedAt: Date?
    @Field(key: "released_by") var releasedBy: String
    @Field(key: "supplier_reference") var supplierReference: String
    @OptionalField(key: "received_at") var receivedAt: Date?
    /// The provider's invoice for it (`ProviderInvoice`), once billed.
    @OptionalField(key: "invoice_id") var invoiceID: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
    var netCents: Int64 { goodsCents + feeCents }
}

final class ProcurementCallOffLine: Model, @unchecked Sendable {
    static let schema = "procurement_calloff_lines"
    @ID(key: .id) var id: UUID?
    @Field(key: "calloff_id") var callOffID: UUID
    @Field(key: "item_id") var itemID: UUID
    @Field(key: "article_number") var articleNumber: String
    @Field(key: "name") var name: String
    @Field(key: "unit_code") var unitCode: String
    @Field(key: "quantity") var quantity: Int
    @Field(key: "unit_net_cents") var unitNetCents: Int64
    @Field(key: "fee_cents") var feeCents: Int64
    @Field(key: "vat_percent") var vatPercent: Int
    @Field(key: "delivered_quantity") var deliveredQuantity: Int
    init() {}
}

/// A member's own procurement settings: above this net value a second person approves.
final class ProcurementSettings: Model, @unchecked Sendable {
    static let schema = "procurement_settings"
    @ID(custom: "tenant_ars", generatedBy: .user) var id: String?
    @Field(key: "approval_threshold_cents") var approvalThresholdCents: Int64
    /// Billing address of the member (BT-50, BT-52, BT-53 of the provider's invoices).
    @Field(key: "billing_street") var billingStreet: String
    @Field(key: "billing_post_code") var billingPostCode: String
    @Field(key: "billing_city") var billingCity: String
    @Field(key: "updated_by") var updatedBy: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
    static let defaultThresholdCents: Int64 = 500_000
}

/// The provider as seller on its invoices to members (one row, id "anbieter").
final class ProviderBilling: Model, @unchecked Sendable {
    static let schema = "procurement_provider"
    @ID(custom: "key", generatedBy: .user) var id: String?
    @Field(key: "name") var name: String
    @Field(key: "street") var street: String
    @Field(key: "post_code") var postCode: String
    @Field(key: "city") var city: String
    @Field(key: "vat_id") var vatID: String
    @Field(key: "iban") var iban: String
    @Field(key: "contact_name") var contactName: String
    @Field(key: "phone") var phone: String
    @Field(key: "email") var email: String
    @Field(key: "payment_days") var paymentDays: Int
    @Field(key: "updated_by") var updatedBy: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

/// An invoice (or credit note) of the provider to a member, delivered into the member's e-invoice inbox.
final class ProviderInvoice: Model, @unchecked Sendable {
    static let schema = "procurement_invoices"
    @ID(key: .id) var id: UUID?
    /// "KIV-2026-00001": gap-free per year (the number is taken in the transaction that books the invoice).
    @Field(key: "number") var number: String
    @Field(key: "kind") var kind: String          // rechnung | gutschrift
    @Field(key: "tenant_ars") var tenantARS: String
    @OptionalField(key: "calloff_id") var callOffID: UUID?
    /// The row in the member's inbox (`EInvoice`).
    @Field(key: "einvoice_id") var einvoiceID: UUID
    @Field(key: "net_cents") var netCents: Int64
    @Field(key: "gross_cents") var grossCents: Int64
    @Field(key: "issued_on") var issuedOn: String
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

struct M035CreateProcurement: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ProcurementFramework.schema)
            .id()
            .field("reference", .string, .required).field("subject", .string, .required).field("description", .string, .required)
            .field("status", .string, .required).field("starts_on", .string, .required).field("ends_on", .string, .required)
            .field("extension", .string, .required).field("max_volume_cents", .int64, .required).field("released_cents", .int64, .required)
            .field("created_by", .string, .required).field("created_at", .datetime, .required).field("updated_at", .datetime, .required)
            .create()
        try await database.schema(ProcurementLot.schema)
            .id()
            .field("framework_id", .uuid, .required).field("number", .int, .required).field("title", .string, .required)
            .field("supplier_name", .string, .required).field("supplier_address", .string, .required)
            .field("supplier_vat_id", .string, .required).field("supplier_email", .string, .required)
            .create()
        try await database.schema(ProcurementItem.schema)
            .id()
            .field("framework_id", .uuid, .required).field("lot_id", .uuid, .required).field("article_number", .string, .required)
            .field("name", .string, .required).field("description", .string, .required).field("category", .string, .required)
            .field("unit_code", .string, .required).field("vat_percent", .int, .required).field("min_quantity", .int, .required)
            .field("max_quantity", .int, .required).field("delivery_days", .int, .required).field("fee_cents", .int64, .required)
            .create()
        try await database.schema(ProcurementPrice.schema)
            .id()
            .field("item_id", .uuid, .required).field("valid_from", .string, .required).field("net_cents", .int64, .required)
            .field("created_by", .string, .required).field("created_at", .datetime, .required)
            .create()
        try await database.schema(ProcurementCallOff.schema)
            .id()
            .field("reference", .string, .required).field("tenant_ars", .string, .required).field("framework_id", .uuid, .required)
            .field("lot_id", .uuid, .required).field("status", .string, .required).field("requested_by", .string, .required)
            .field("approved_by", .string, .required).field("delivery_address", .string, .required).field("delivery_date", .string, .required)
            .field("cost_centre", .string, .required).field("note", .string, .required).field("reason", .string, .required)
            .field("goods_cents", .int64, .required).field("fee_cents", .int64, .required).field("vat_cents", .int64, .required)
            .field("price_day", .string, .required).field("submitted_at", .datetime).field("released_at", .datetime)
            .field("released_by", .string, .required).field("supplier_reference", .string, .required).field("received_at", .datetime)
            .field("invoice_id", .uuid).field("created_at", .datetime, .required).field("updated_at", .datetime, .required)
            .create()
        try await database.schema(ProcurementCallOffLine.schema)
            .id()
            .field("calloff_id", .uuid, .required).field("item_id", .uuid, .required).field("article_number", .string, .required)
            .field("name", .string, .required).field("unit_code", .string, .required).field("quantity", .int, .required)
            .field("unit_net_cents", .int64, .required).field("fee_cents", .int64, .required).field("vat_percent", .int, .required)
            .field("delivered_quantity", .int, .required)
            .create()
        try await database.schema(ProcurementSettings.schema)
            .field("tenant_ars", .string, .identifier(auto: false))
            .field("approval_threshold_cents", .int64, .required)
            .field("billing_street", .string, .required).field("billing_post_code", .string, .required).field("billing_city", .string, .required)
            .field("updated_by", .string, .required).field("updated_at", .datetime, .required)
            .create()
        try await database.schema(ProviderBilling.schema)
            .field("key", .string, .identifier(auto: false))
            .field("name", .string, .required).field("street", .string, .required).field("post_code", .string, .required)
            .field("city", .string, .required).field("vat_id", .string, .required).field("iban", .string, .required)
            .field("contact_name", .string, .required).field("phone", .string, .required).field("email", .string, .required)
            .field("payment_days", .int, .required).field("updated_by", .string, .required).field("updated_at", .datetime, .required)
            .create()
        try await database.schema(ProviderInvoice.schema)
            .id()
            .field("number", .string, .required).field("kind", .string, .required).field("tenant_ars", .string, .required)
            .field("calloff_id", .uuid).field("einvoice_id", .uuid, .required).field("net_cents", .int64, .required)
            .field("gross_cents", .int64, .required).field("issued_on", .string, .required).field("created_by", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "procurement_frameworks_ref_uq").unique().on(ProcurementFramework.schema).column("reference").run()
        try await sql.create(index: "procurement_lots_uq").unique().on(ProcurementLot.schema).column("framework_id").column("number").run()
        try await sql.create(index: "procurement_items_uq").unique().on(ProcurementItem.schema).column("lot_id").column("article_number").run()
        try await sql.create(index: "procurement_items_fw_idx").on(ProcurementItem.schema).column("framework_id").run()
        try await sql.create(index: "procurement_prices_uq").unique().on(ProcurementPrice.schema).column("item_id").column("valid_from").run()
        try await sql.create(index: "procurement_calloffs_ref_uq").unique().on(ProcurementCallOff.schema).column("reference").run()
        try await sql.create(index: "procurement_calloffs_tenant_idx").on(ProcurementCallOff.schema).column("tenant_ars").column("status").run()
        try await sql.create(index: "procurement_calloff_lines_idx").on(ProcurementCallOffLine.schema).column("calloff_id").run()
        try await sql.create(index: "procurement_invoices_number_uq").unique().on(ProviderInvoice.schema).column("number").run()
        // a call-off is billed once (NULL for recurring fees and credit notes without call-off … which are kind-distinguished)
        try await sql.create(index: "procurement_invoices_calloff_uq").unique().on(ProviderInvoice.schema).column("calloff_id").column("kind").run()
    }

    func revert(on database: any Database) async throws {
        for s in [ProviderInvoice.schema, ProviderBilling.schema, ProcurementSettings.schema, ProcurementCallOffLine.schema, ProcurementCallOff.schema,
                  ProcurementPrice.schema, ProcurementItem.schema, ProcurementLot.schema, ProcurementFramework.schema] {
            try await database.schema(s).delete()
        }
    }
}

/// Who a procurement change is written down for in the audit trail: a person or client
/// (`Principal`), or the system itself (demo data, jobs).
protocol AuditActing: Sendable {
    var auditActor: String { get }
    var actorID: String? { get }
}

extension Principal: AuditActing {}

struct SystemActor: AuditActing {
    let auditActor: String
    var actorID: String? { nil }
}

/// A document of a framework agreement (the award, the contract, price sheets, other), stored by
/// content hash in the shared file store; the row names it.
final class ProcurementDocument: Model, @unchecked Sendable {
    static let schema = "procurement_documents"
    @ID(key: .id) var id: UUID?
    @Field(key: "framework_id") var frameworkID: UUID
    /// zuschlag | vertrag | preisblatt | sonstiges
    @Field(key: "kind") var kind: String
    @Field(key: "name") var name: String
    @Field(key: "file_kind") var fileKind: String
    @Field(key: "size") var size: Int
    @Field(key: "sha256") var sha256: String
    @Field(key: "uploaded_by") var uploadedBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}

    static let kinds: [(String, String, String)] = [("zuschlag", "Zuschlag", "Award"), ("vertrag", "Vertrag", "Contract"),
                                                    ("preisblatt", "Preisblatt", "Price sheet"), ("sonstiges", "Sonstiges", "Other")]
}

struct M039CreateProcurementDocuments: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ProcurementDocument.schema)
            .id()
            .field("framework_id", .uuid, .required).field("kind", .string, .required).field("name", .string, .required)
            .field("file_kind", .string, .required).field("size", .int, .required).field("sha256", .string, .required)
            .field("uploaded_by", .string, .required).field("created_at", .datetime, .required)
            .create()
        try await (database as! any SQLDatabase).create(index: "procurement_documents_fw_idx").on(ProcurementDocument.schema).column("framework_id").run()
    }

    func revert(on database: any Database) async throws { try await database.schema(ProcurementDocument.schema).delete() }
}
