import Fluent
import Vapor
import Rollout
import RathausCore

/// `/mandanten/<ARS>/cockpit`: one page that says what is live, how it is used and what is left to do.
struct CockpitController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("mandanten", ":ars", "cockpit", use: page)
        app.post("mandanten", ":ars", "cockpit", "monatsbericht", use: digestSetting)
    }

    struct Live: Encodable { var title: String; var live: Bool; var detail: String }
    struct Task: Encodable { var text: String; var link: String }
    struct UsageRow: Encodable { var month: String; var applications: Int; var invoices: Int; var invoiceSum: String; var payments: Int; var paymentSum: String; var bar: Int; var y: Int; var labelY: Int }
    struct View: Encodable {
        var ars: String; var name: String; var membership: String; var since: String; var share: String; var notice: String
        var live: [Live]; var services: [String]; var tasks: [Task]; var usage: [UsageRow]; var chartHeight: Int; var digest: Bool; var saved: Bool
    }

    @Sendable func page(req: Request) async throws -> Response {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.cockpitView, tenant: g.ars)
        let en = req.lang == .en
        let m = try await RolloutService.matrix(req.application, scope: g.ars)
        let row = m.rows.first { $0.ars == g.ars }
        let membership = try await Membership.query(on: req.db).filter(\.$tenantARS == g.ars).first()
        let tasks = try await RolloutService.tasks(req.application, tenant: g.ars)
        let usage = try await RolloutService.usage(req.application, tenant: g.ars)
        let maxApps = max(1, usage.map { $0.applications + $0.invoices + $0.payments }.max() ?? 1)
        var digest = true
        if let s = req.principal.staff {
            digest = try await RolloutDigestOptOut.query(on: req.db).filter(\.$userID == s.userID).filter(\.$tenantARS == g.ars).first() == nil
        }
        let view = View(
            ars: g.ars, name: g.name, membership: RolloutController.statusLabel(membership?.status ?? "none", en),
            since: membership?.effectiveFrom.map { CalendarDay.display($0, english: en) } ?? "",
            share: membership?.shareCents.map { Money(cents: $0).formatted } ?? "",
            notice: membership?.effectiveUntil.map { CalendarDay.display($0, english: en) } ?? "",
            live: RolloutController.core.filter { $0 != "mitglied" }.compactMap { k in
                m.columns.first { $0.key == k }.map { c in Live(title: en ? c.titleEN : c.titleDE, live: row?.isLive(k) ?? false, detail: row?.states[k]?.detail ?? "") }
            },
            services: m.columns.filter { $0.key.hasPrefix("dienst:") && (row?.isLive($0.key) ?? false) }.map { "\(en ? $0.titleEN : $0.titleDE) (\(row?.states[$0.key]?.detail ?? ""))" },
            tasks: tasks.map { Task(text: en ? $0.en : $0.de, link: $0.link) },
            usage: usage.enumerated().map { i, u in
                UsageRow(month: u.month.split(separator: "-").reversed().joined(separator: en ? "/" : "."), applications: u.applications, invoices: u.invoices,
                         invoiceSum: Money(cents: u.invoiceCents).formatted, payments: u.payments, paymentSum: Money(cents: u.paymentCents).formatted,
                         bar: (u.applications + u.invoices + u.payments) * 400 / maxApps, y: i * 22 + 4, labelY: i * 22 + 17)
            },
            chartHeight: usage.count * 22 + 8, digest: digest, saved: req.query[String.self, at: "ok"] != nil)
        return try await req.render("rollout/cockpit", title: req.t("ro_cockpit_title"), view, form: true)
    }

    /// Each person decides for themself whether the monthly digest comes by mail.
    @Sendable func digestSetting(req: Request) async throws -> Response {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.cockpitView, tenant: g.ars)
        guard let s = req.principal.staff else { throw AppError.forbidden }
        let wants = FundingForm(req)["monatsbericht"] == "1"
        let actor = req.principal
        try await req.application.writeTransaction { db in
            let existing = try await RolloutDigestOptOut.query(on: db).filter(\.$userID == s.userID).filter(\.$tenantARS == g.ars).first()
            if wants, let existing { try await existing.delete(on: db) }
            if !wants, existing == nil {
                let o = RolloutDigestOptOut()
                o.userID = s.userID; o.tenantARS = g.ars; o.createdAt = Date()
                try await o.create(on: db)
            }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "rollout.digest",
                                   objectType: "user", objectID: s.email, before: nil, after: wants ? "Monatsbericht an" : "Monatsbericht abbestellt")
        }
        return req.redirect(to: "/mandanten/\(g.ars)/cockpit?ok=1", redirectType: .normal)
    }
}
