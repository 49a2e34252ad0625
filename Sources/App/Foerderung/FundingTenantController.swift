import Fluent
import Vapor
import Funding
import RathausCore

/// `/mandanten/<ARS>/foerderung`: the municipality's applications (led and joined), the open
/// calls, and a new application.
struct FundingTenantController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("mandanten", ":ars", "foerderung", use: page)
        app.post("mandanten", ":ars", "foerderung", use: create)
    }

    struct Row: Encodable { var id: String; var reference: String; var title: String; var status: String; var requested: String; var role: String; var action: String }
    struct CallRow: Encodable { var id: String; var title: String; var programme: String; var period: String; var demo: Bool; var categories: [String] }
    struct View: Encodable {
        var ars: String; var name: String; var rows: [Row]; var calls: [CallRow]; var callOptions: [FundingOption]; var categoryOptions: [FundingOption]
        var canApply: Bool; var eligible: Bool; var ineligibleReason: String; var form: [String: String]
    }

    static func openCalls(_ db: any Database, today: String = BusinessDate.today()) async throws -> [FundingCall] {
        try await FundingCall.query(on: db).filter(\.$opensOn <= today).filter(\.$closesOn >= today).sort(\.$closesOn).all()
    }

    func render(_ req: Request, _ g: Gebiet, form: [String: String] = [:], error: AppError? = nil) async throws -> Response {
        let db = req.db
        let english = req.lang == .en
        let own = try await FundingApplication.query(on: db).filter(\.$tenantARS == g.ars).sort(\.$createdAt, .descending).all()
        let joinedRows = try await FundingPartner.query(on: db).filter(\.$tenantARS == g.ars).all()
        let joined = joinedRows.isEmpty ? [] : try await FundingApplication.query(on: db).filter(\.$id ~~ joinedRows.map(\.applicationID)).all()
        let me = req.principal.staff?.userID.uuidString ?? ""
        func action(_ a: FundingApplication, lead: Bool) -> String {
            if lead {
                if a.state == .awaitingRelease && req.can(.fundingSign, tenant: g.ars) && a.authorID != me { return english ? "waiting for your release" : "wartet auf Ihre Freigabe" }
                if a.state == .query { return english ? "please answer the query" : "bitte Rückfrage beantworten" }
                if a.state == .changesRequested { return english ? "please revise" : "bitte überarbeiten" }
                if a.state == .approved { return english ? "proof of use due \(FundingFormat.day(a.proofDueOn))" : "Verwendungsnachweis bis \(FundingFormat.day(a.proofDueOn))" }
                return ""
            }
            let p = joinedRows.first { $0.applicationID == a.id }
            return p?.status == "eingeladen" ? (english ? "please confirm participation" : "bitte Beteiligung bestätigen") : ""
        }
        let rows = own.map { Row(id: $0.id?.uuidString ?? "", reference: $0.reference, title: $0.title, status: FundingFormat.status($0.status), requested: FundingFormat.money($0.requestedCents),
                                 role: english ? "lead" : "federführend", action: action($0, lead: true)) }
            + joined.map { Row(id: $0.id?.uuidString ?? "", reference: $0.reference, title: $0.title, status: FundingFormat.status($0.status), requested: FundingFormat.money($0.requestedCents),
                               role: english ? "partner of \($0.tenantName)" : "Partner von \($0.tenantName)", action: action($0, lead: false)) }
        let calls = try await Self.openCalls(db)
        let programmes = try await FundingProgramme.query(on: db).filter(\.$id ~~ Array(Set(calls.map(\.programmeID)))).all()
        let cats = try await FundingCategory.query(on: db).filter(\.$programmeID ~~ programmes.compactMap(\.id)).sort(\.$code).all()
        let progName = Dictionary(programmes.compactMap { p in p.id.map { ($0, p) } }, uniquingKeysWith: { a, _ in a })
        var eligible = true, reason = ""
        if let p = programmes.first {
            do { try Eligibility.applicant(ars: g.ars, level: FundingFormat.level(ofGebiet: g.level), name: g.name, stateKey: FundingService.stateKey, eligible: p.levelSet) } catch {
                eligible = false; reason = english ? error.english : error.description
            }
        }
        let view = View(
            ars: g.ars, name: g.name, rows: rows,
            calls: calls.map { c in CallRow(id: c.id?.uuidString ?? "", title: c.title, programme: progName[c.programmeID]?.title ?? "",
                                            period: "\(FundingFormat.day(c.opensOn)) – \(FundingFormat.day(c.closesOn))", demo: progName[c.programmeID]?.demo ?? false,
                                            categories: cats.filter { $0.programmeID == c.programmeID }.map { "\($0.code) \($0.title): \(FundingFormat.financing($0.rule))" }) },
            callOptions: calls.map { FundingOption(value: $0.id?.uuidString ?? "", label: $0.title, selected: form["aufruf"] == $0.id?.uuidString) },
            categoryOptions: cats.map { FundingOption(value: $0.id?.uuidString ?? "", label: "\($0.code) \($0.title)", selected: form["kategorie"] == $0.id?.uuidString) },
            canApply: req.can(.fundingApply, tenant: g.ars) && !calls.isEmpty, eligible: eligible, ineligibleReason: reason, form: form)
        if let error { return try await req.renderError("foerderung/mandant", title: req.t("fo_tenant_title"), view, error) }
        return try await req.render("foerderung/mandant", title: req.t("fo_tenant_title"), view, form: true)
    }

    @Sendable func page(req: Request) async throws -> Response {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.fundingView, tenant: g.ars)
        return try await render(req, g)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.fundingApply, tenant: g.ars)
        let f = FundingForm(req)
        do {
            let id = try await Self.createDraft(req.application, tenant: g, callID: f["aufruf"], categoryID: f["kategorie"], title: try f.text("titel", "den Projekttitel"),
                                                actor: req.principal)
            return req.redirect(to: "/foerderung/antraege/\(id)?ok=gespeichert", redirectType: .normal)
        } catch let e as AppError {
            return try await render(req, g, form: f.f, error: e)
        }
    }

    /// A new draft in an open call, for an eligible applicant; used by the page and the API.
    static func createDraft(_ app: Application, tenant g: Gebiet, callID: String, categoryID: String, title: String, summary: String = "",
                            startsOn: String? = nil, endsOn: String? = nil, actor: Principal, now: Date = Date()) async throws -> UUID {
        guard let cid = UUID(uuidString: callID), let call = try await FundingCall.find(cid, on: app.db) else {
            throw AppError.invalid("aufruf", de: "Bitte wählen Sie einen offenen Förderaufruf.", en: "Please choose an open call.")
        }
        guard let kid = UUID(uuidString: categoryID), let cat = try await FundingCategory.find(kid, on: app.db), cat.programmeID == call.programmeID else {
            throw AppError.invalid("kategorie", de: "Bitte wählen Sie einen Fördergegenstand dieses Aufrufs.", en: "Please choose a category of this call.")
        }
        guard let p = try await FundingProgramme.find(call.programmeID, on: app.db) else { throw AppError.notFound }
        do {
            try Eligibility.applicant(ars: g.ars, level: FundingFormat.level(ofGebiet: g.level), name: g.name, stateKey: FundingService.stateKey, eligible: p.levelSet)
            try Eligibility.callOpen(today: BusinessDate.today(now), opens: call.opensOn, closes: call.closesOn, show: { CalendarDay.display($0) })
        } catch {
            throw AppError(.conflict, "funding.eligibility", de: error.description, en: error.english)
        }
        let year = Int(BusinessDate.today(now).prefix(4)) ?? 2027
        let a = FundingApplication()
        a.id = UUID()
        a.programmeID = call.programmeID; a.callID = cid; a.categoryID = kid; a.tenantARS = g.ars; a.tenantName = g.name; a.title = title; a.summary = summary
        a.startsOn = startsOn ?? "\(year + 1)-01-01"; a.endsOn = endsOn ?? "\(year + 1)-12-31"; a.units = 0; a.ownShareCents = 0; a.otherFundingCents = 0; a.requestedCents = 0
        a.contactName = actor.staff?.name ?? ""; a.contactEmail = actor.staff?.email ?? ""; a.status = FundingStatus.draft.rawValue
        a.authorID = actor.staff?.userID.uuidString ?? actor.auditActor; a.authorName = actor.staff?.name ?? actor.auditActor
        a.contentCheckNote = ""; a.calcCheckNote = ""; a.earlyStartStatus = ""; a.earlyStartFrom = ""; a.earlyStartReason = ""; a.queryText = ""; a.queryDueOn = ""
        a.decisionText = ""; a.conditions = ""; a.legalRemedy = ""; a.proofDueOn = ""; a.proofReport = ""; a.proofCostsCents = 0; a.finalGrantCents = 0; a.reclaimCents = 0
        a.createdAt = now; a.updatedAt = now
        try await app.writeTransaction { db in
            _ = try await FundingService.lockBudget(db, call.programmeID)
            a.reference = try await FundingService.nextReference(db, now: now)
            try await a.create(on: db)
            try await FundingService.audit(db, actor, a, "draft.created", before: nil, after: "\(a.reference): \(title) (\(cat.code))")
        }
        return try a.requireID()
    }
}
