import Fluent
import Forms
import SQLKit
import Vapor
import RathausCore

/// A provider's payout for one day as the cash office found it on the bank statement; matched
/// against what Rathaus booked for that provider and day (paid items less refunds).
final class Payout: Model, @unchecked Sendable {
    static let schema = "payouts"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "provider") var provider: String
    @Field(key: "payout_date") var date: String
    @Field(key: "expected_cents") var expectedCents: Int64
    @Field(key: "received_cents") var receivedCents: Int64
    @Field(key: "reconciled_by") var reconciledBy: String
    @Field(key: "reconciled_at") var reconciledAt: Date
    init() {}

    var matches: Bool { expectedCents == receivedCents }
}

struct M017CreatePayoutsAndSupplierAccounts: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Payout.schema).id()
            .field("tenant_ars", .string, .required).field("provider", .string, .required).field("payout_date", .string, .required)
            .field("expected_cents", .int64, .required).field("received_cents", .int64, .required).field("reconciled_by", .string, .required)
            .field("reconciled_at", .datetime, .required).create()
        try await database.schema(EInvoice.schema).field("supplier_account_id", .uuid).update()
        try await database.schema(PaymentSettings.schema).field("provider", .string).update()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "payouts_uq").unique().on(Payout.schema).column("tenant_ars").column("provider").column("payout_date").run()
        try await sql.create(index: "rechnungen_supplier_account_idx").on(EInvoice.schema).column("supplier_account_id").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Payout.schema).delete()
    }
}

extension CashOfficeController {
    /// Booked sum per provider for a day: paid items less refunds of that day.
    static func expectedPayouts(_ req: Request, ars: String, iso: String, from: Date, to: Date) async throws -> [String: Int64] {
        try await expectedPayouts(req, ars: ars, days: [from])[0]
    }

    /// Expected payout per provider for each day starting at `days` (24 h each): paid items minus
    /// refunds. Four queries for any number of days (the daily report looks back two weeks).
    static func expectedPayouts(_ req: Request, ars: String, days: [Date]) async throws -> [[String: Int64]] {
        guard let first = days.min(), let last = days.max() else { return [] }
        var sums = Array(repeating: [String: Int64](), count: days.count)
        func slot(_ d: Date?) -> Int? { guard let d else { return nil }; return days.firstIndex { d >= $0 && d < $0.addingTimeInterval(86400) } }
        for (p, i) in try await paidItems(req, ars: ars, from: first, to: last.addingTimeInterval(86400)) {
            if let k = slot(p.paidAt) { sums[k][p.provider, default: 0] += i.totalCents }
        }
        for (r, p) in try await refunds(req, ars: ars, from: first, to: last.addingTimeInterval(86400)) {
            if let k = slot(r.createdAt) { sums[k][p.provider, default: 0] -= r.amountCents }
        }
        return sums
    }

    /// Refunds made in [from, to) on payments of the tenant, with their payment (two queries).
    static func refunds(_ req: Request, ars: String, from: Date, to: Date) async throws -> [(Refund, Payment)] {
        let refunds = try await Refund.query(on: req.db).filter(\.$createdAt >= from).filter(\.$createdAt < to).sort(\.$createdAt).all()
        guard !refunds.isEmpty else { return [] }
        let payments = try await Payment.query(on: req.db).filter(\.$tenantARS == ars).filter(\.$id ~~ Array(Set(refunds.map(\.paymentID)))).all()
        let byID = Dictionary(uniqueKeysWithValues: payments.compactMap { p in p.id.map { ($0, p) } })
        return refunds.compactMap { r in byID[r.paymentID].map { (r, $0) } }
    }

    /// `POST /mandanten/{ars}/kasse/abgleich`: the amount on the bank statement for a provider and day.
    @Sendable func reconcile(req: Request) async throws -> Response {
        let ars = try Self.tenant(req, .paymentView)
        guard req.can(.paymentRefund, tenant: ars) else { throw AppError.forbidden }
        let iso = FormEngine.isoDate((try? req.content.get(String.self, at: "datum")) ?? "") ?? BusinessDate.today()
        let provider = (try? req.content.get(String.self, at: "dienstleister")) ?? ""
        let cents: Int64
        do { cents = try Money(parsing: (try? req.content.get(String.self, at: "betrag")) ?? "").cents } catch {
            throw AppError.invalid("betrag", de: "Bitte geben Sie den Betrag laut Kontoauszug an, z. B. 61,20.", en: "Please enter the amount.")
        }
        let start = GermanTime.startOfDay(iso) ?? Date()
        let expected = try await Self.expectedPayouts(req, ars: ars, iso: iso, from: start, to: start.addingTimeInterval(86400))[provider] ?? 0
        let actor = req.principal.auditActor, actorID = req.principal.actorID
        try await req.application.writeTransaction { db in
            let row = try await Payout.query(on: db).filter(\.$tenantARS == ars).filter(\.$provider == provider).filter(\.$date == iso).first() ?? Payout()
            row.tenantARS = ars; row.provider = provider; row.date = iso; row.expectedCents = expected; row.receivedCents = cents
            row.reconciledBy = actor; row.reconciledAt = Date()
            try await row.save(on: db)
            try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: ars, action: "zahlung.abgleich", objectType: "auszahlung",
                                   objectID: "\(provider) \(iso)", before: Money(cents: expected).formattedDE, after: Money(cents: cents).formattedDE)
        }
        return req.redirect(to: "/mandanten/\(ars)/kasse/tagesbericht?datum=\(iso)", redirectType: .normal)
    }
}
