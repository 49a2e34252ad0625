import Fluent
import SQLKit
import Vapor
import RathausCore

/// A tenant's payment settings: the Kassenzeichen prefix, expiry of unfinished payments and the
/// booking data used when a service or endpoint gives none.
final class PaymentSettings: Model, @unchecked Sendable {
    static let schema = "payment_settings"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "kassenzeichen_prefix") var prefix: String
    @Field(key: "expiry_minutes") var expiryMinutes: Int
    @Field(key: "haushaltsstelle") var haushaltsstelle: String
    @Field(key: "kostentraeger") var kostentraeger: String
    @Field(key: "objektnummer") var objektnummer: String
    /// The payment provider of the tenant's own online services (`test` in demo; ePayBL, epay21 … when configured).
    @OptionalField(key: "provider") var provider: String?
    init() {}

    static func defaultPrefix(_ ars: String) -> String {
        // the tenant key's last digits keep prefixes apart across the state
        "K" + String(ars.suffix(6))
    }

    static func forTenant(_ ars: String, on db: any Database) async throws -> PaymentSettings {
        if let s = try await PaymentSettings.query(on: db).filter(\.$tenantARS == ars).first() { return s }
        let s = PaymentSettings()
        s.tenantARS = ars; s.prefix = defaultPrefix(ars); s.expiryMinutes = 90; s.haushaltsstelle = ""; s.kostentraeger = ""; s.objektnummer = ""
        return s
    }
}

/// An XBezahldienste endpoint: which originator/endpoint pair belongs to which tenant, its webhook
/// and the booking data of what it sells.
final class PaymentEndpoint: Model, @unchecked Sendable {
    static let schema = "payment_endpoints"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "originator_id") var originatorID: String
    @Field(key: "endpoint_id") var endpointID: String
    @Field(key: "name") var name: String
    @Field(key: "provider") var provider: String
    @Field(key: "webhook_url") var webhookURL: String
    @Field(key: "webhook_secret") var webhookSecret: String
    @Field(key: "haushaltsstelle") var haushaltsstelle: String
    @Field(key: "kostentraeger") var kostentraeger: String
    @Field(key: "objektnummer") var objektnummer: String
    @Field(key: "active") var active: Bool
    init() {}
}

final class Payment: Model, @unchecked Sendable {
    static let schema = "payments"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @OptionalField(key: "endpoint_id") var endpointID: UUID?
    @Field(key: "originator") var originator: String
    @Field(key: "endpoint") var endpoint: String
    /// The client's requestId (idempotency), with a hash of the request to tell a retry from a clash.
    @OptionalField(key: "request_id") var requestID: String?
    @Field(key: "request_hash") var requestHash: String
    @Field(key: "kassenzeichen") var kassenzeichen: String
    @Field(key: "purpose") var purpose: String
    @Field(key: "description") var description: String
    @Field(key: "amount_cents") var amountCents: Int64
    @Field(key: "currency") var currency: String
    @Field(key: "status") var status: String
    @Field(key: "status_detail") var statusDetail: String
    @Field(key: "payment_method") var paymentMethod: String
    @Field(key: "provider") var provider: String
    @Field(key: "provider_ref") var providerRef: String
    @Field(key: "redirect_url") var redirectURL: String
    @OptionalField(key: "antrag_id") var antragID: UUID?
    @Field(key: "refunded_cents") var refundedCents: Int64
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    @OptionalField(key: "paid_at") var paidAt: Date?
    @Field(key: "expires_at") var expiresAt: Date
    init() {}

    var paymentStatus: PaymentStatus { PaymentStatus(rawValue: status) ?? .initial }
}

final class PaymentItem: Model, @unchecked Sendable {
    static let schema = "payment_items"
    @ID(key: .id) var id: UUID?
    @Field(key: "payment_id") var paymentID: UUID
    @Field(key: "position") var position: Int
    @Field(key: "description") var description: String
    @Field(key: "quantity") var quantity: Int
    @Field(key: "tax_rate_bp") var taxRateBasisPoints: Int
    @Field(key: "single_net_cents") var singleNetCents: Int64
    @Field(key: "single_tax_cents") var singleTaxCents: Int64
    @Field(key: "total_cents") var totalCents: Int64
    @Field(key: "haushaltsstelle") var haushaltsstelle: String
    @Field(key: "kostentraeger") var kostentraeger: String
    @Field(key: "objektnummer") var objektnummer: String
    init() {}
}

/// Every provider message once (callbacks, poll results, refunds): the unique (provider, event)
/// key makes a callback delivered twice a no-op.
final class PaymentEvent: Model, @unchecked Sendable {
    static let schema = "payment_events"
    @ID(key: .id) var id: UUID?
    @Field(key: "payment_id") var paymentID: UUID
    @Field(key: "provider") var provider: String
    @Field(key: "event_id") var eventID: String
    @Field(key: "kind") var kind: String
    @Field(key: "status") var status: String
    @Field(key: "applied") var applied: Bool
    @Field(key: "received_at") var receivedAt: Date
    init() {}
}

final class Refund: Model, @unchecked Sendable {
    static let schema = "payment_refunds"
    @ID(key: .id) var id: UUID?
    @Field(key: "payment_id") var paymentID: UUID
    @Field(key: "amount_cents") var amountCents: Int64
    @Field(key: "reason") var reason: String
    @Field(key: "by") var by: String
    @Field(key: "provider_ref") var providerRef: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

/// Work after the commit (webhooks, status polls), written in the change's transaction and
/// claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL; idempotent by key.
final class PaymentJob: Model, @unchecked Sendable {
    static let schema = "payment_jobs"
    @ID(key: .id) var id: UUID?
    @Field(key: "job_key") var key: String
    @Field(key: "kind") var kind: String          // webhook | poll
    @Field(key: "payment_id") var paymentID: UUID
    @Field(key: "payload") var payload: String
    @Field(key: "status") var status: String      // pending | done | failed
    @Field(key: "attempts") var attempts: Int
    @Field(key: "next_attempt_at") var nextAttemptAt: Date
    @OptionalField(key: "last_error") var lastError: String?
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "done_at") var doneAt: Date?
    init() {}
}

/// The built-in test provider's own ledger (it plays an external payment service).
final class TestProviderTransaction: Model, @unchecked Sendable {
    static let schema = "testprovider_transactions"
    @ID(key: .id) var id: UUID?
    @Field(key: "ref") var ref: String
    @Field(key: "amount_cents") var amountCents: Int64
    @Field(key: "status") var status: String
    @Field(key: "method") var method: String
    @Field(key: "return_url") var returnURL: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

struct M016CreatePayments: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(PaymentSettings.schema).id()
            .field("tenant_ars", .string, .required).field("kassenzeichen_prefix", .string, .required).field("expiry_minutes", .int, .required)
            .field("haushaltsstelle", .string, .required).field("kostentraeger", .string, .required).field("objektnummer", .string, .required).create()
        try await database.schema(PaymentEndpoint.schema).id()
            .field("tenant_ars", .string, .required).field("originator_id", .string, .required).field("endpoint_id", .string, .required)
            .field("name", .string, .required).field("provider", .string, .required).field("webhook_url", .string, .required)
            .field("webhook_secret", .string, .required).field("haushaltsstelle", .string, .required).field("kostentraeger", .string, .required)
            .field("objektnummer", .string, .required).field("active", .bool, .required).create()
        try await database.schema(Payment.schema).id()
            .field("tenant_ars", .string, .required).field("endpoint_id", .uuid).field("originator", .string, .required).field("endpoint", .string, .required)
            .field("request_id", .string).field("request_hash", .string, .required).field("kassenzeichen", .string, .required)
            .field("purpose", .string, .required).field("description", .string, .required).field("amount_cents", .int64, .required)
            .field("currency", .string, .required).field("status", .string, .required).field("status_detail", .string, .required)
            .field("payment_method", .string, .required).field("provider", .string, .required).field("provider_ref", .string, .required)
            .field("redirect_url", .string, .required).field("antrag_id", .uuid).field("refunded_cents", .int64, .required)
            .field("created_at", .datetime, .required).field("updated_at", .datetime, .required).field("paid_at", .datetime)
            .field("expires_at", .datetime, .required).create()
        try await database.schema(PaymentItem.schema).id()
            .field("payment_id", .uuid, .required).field("position", .int, .required).field("description", .string, .required)
            .field("quantity", .int, .required).field("tax_rate_bp", .int, .required).field("single_net_cents", .int64, .required)
            .field("single_tax_cents", .int64, .required).field("total_cents", .int64, .required).field("haushaltsstelle", .string, .required)
            .field("kostentraeger", .string, .required).field("objektnummer", .string, .required).create()
        try await database.schema(PaymentEvent.schema).id()
            .field("payment_id", .uuid, .required).field("provider", .string, .required).field("event_id", .string, .required)
            .field("kind", .string, .required).field("status", .string, .required).field("applied", .bool, .required)
            .field("received_at", .datetime, .required).create()
        try await database.schema(Refund.schema).id()
            .field("payment_id", .uuid, .required).field("amount_cents", .int64, .required).field("reason", .string, .required)
            .field("by", .string, .required).field("provider_ref", .string, .required).field("created_at", .datetime, .required).create()
        try await database.schema(PaymentJob.schema).id()
            .field("job_key", .string, .required).field("kind", .string, .required).field("payment_id", .uuid, .required)
            .field("payload", .string, .required).field("status", .string, .required).field("attempts", .int, .required)
            .field("next_attempt_at", .datetime, .required).field("last_error", .string).field("created_at", .datetime, .required)
            .field("done_at", .datetime).create()
        try await database.schema(TestProviderTransaction.schema).id()
            .field("ref", .string, .required).field("amount_cents", .int64, .required).field("status", .string, .required)
            .field("method", .string, .required).field("return_url", .string, .required).field("updated_at", .datetime, .required).create()
        // online services: who pays when, and where it is booked
        try await database.schema(ServiceActivation.schema).field("fee_policy", .string).update()
        try await database.schema(ServiceActivation.schema).field("haushaltsstelle", .string).update()
        try await database.schema(ServiceActivation.schema).field("kostentraeger", .string).update()
        try await database.schema(ServiceActivation.schema).field("objektnummer", .string).update()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "payment_settings_tenant_uq").unique().on(PaymentSettings.schema).column("tenant_ars").run()
        try await sql.create(index: "payment_endpoints_uq").unique().on(PaymentEndpoint.schema).column("originator_id").column("endpoint_id").run()
        try await sql.create(index: "payments_kassenzeichen_uq").unique().on(Payment.schema).column("tenant_ars").column("kassenzeichen").run()
        try await sql.create(index: "payments_request_uq").unique().on(Payment.schema).column("originator").column("endpoint").column("request_id").run()
        try await sql.create(index: "payments_status_idx").on(Payment.schema).column("status").column("expires_at").run()
        try await sql.create(index: "payments_tenant_idx").on(Payment.schema).column("tenant_ars").column("paid_at").run()
        try await sql.create(index: "payments_antrag_idx").on(Payment.schema).column("antrag_id").run()
        try await sql.create(index: "payment_items_payment_idx").on(PaymentItem.schema).column("payment_id").run()
        try await sql.create(index: "payment_events_uq").unique().on(PaymentEvent.schema).column("provider").column("event_id").run()
        try await sql.create(index: "payment_refunds_payment_idx").on(Refund.schema).column("payment_id").run()
        try await sql.create(index: "payment_jobs_key_uq").unique().on(PaymentJob.schema).column("job_key").run()
        try await sql.create(index: "payment_jobs_due_idx").on(PaymentJob.schema).column("status").column("next_attempt_at").run()
        try await sql.create(index: "testprovider_ref_uq").unique().on(TestProviderTransaction.schema).column("ref").run()
    }

    func revert(on database: any Database) async throws {
        for s in [TestProviderTransaction.schema, PaymentJob.schema, Refund.schema, PaymentEvent.schema, PaymentItem.schema, Payment.schema,
                  PaymentEndpoint.schema, PaymentSettings.schema] { try await database.schema(s).delete() }
    }
}
