import Fluent
import Procurement
import Vapor
import RathausCore

/// The tenant's pages: membership state, survey answer, Beitrittsantrag, notice, API tokens.
/// Every handler resolves the tenant from the URL and asks the policy for it.
struct TenantWebController {
    func addRoutes(to web: any RoutesBuilder) {
        let t = web.grouped("mandanten", ":ars")
        t.get(use: home)
        t.get("umfragen", ":id", use: surveyForm)
        t.post("umfragen", ":id", use: surveySubmit)
        t.get("beitritt", use: applyForm)
        t.post("beitritt", use: applySubmit)
        t.post("rueckzug", use: withdraw)
        t.get("kuendigung", use: noticeForm)
        t.post("kuendigung", use: noticeSubmit)
        t.get("tokens", use: tokens)
        t.post("tokens", use: createToken)
        t.post("tokens", ":id", "widerruf", use: revokeToken)
    }

    struct HomeView: Encodable {
        var tenant: GebietDTO
        var membership: MembershipDTO
        var statusLabel: String
        var share: String?
        var openRounds: [RoundState]
        var hasRounds: Bool
        var canApply: Bool
        var canWithdraw: Bool
        var canNotice: Bool
        var canAnswer: Bool
        var canTokens: Bool
        var canFinder: Bool
        var canInvoices: Bool
        var canCases: Bool
        var canServices: Bool
        var canCash: Bool
        /// Open follow-up tasks from on-site visits (for those who follow them up) and visits to confirm.
        var openTasks: Int = 0
        var visitsToConfirm: Int = 0
        /// Procurement from the provider: usable frameworks, call-offs by state, invoices, tasks.
        var procurement: ProcurementSummary? = nil
    }

    struct ProcurementSummary: Encodable { var frameworks: Int; var open: Int; var waiting: Int; var invoices: Int; var tasks: [String] }

    struct RoundState: Encodable { var round: SurveyRoundDTO; var answered: Bool }

    @Sendable func home(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipView, tenant: tenant.ars)
        let m = try await MembershipService.membership(of: tenant.ars, on: req.db)
        let state = m?.state ?? .none
        let rounds = try await SurveyRound.query(on: req.db).filter(\.$status == "open").all()
        var roundStates: [RoundState] = []
        for r in rounds {
            let answered = try await SurveyAnswer.query(on: req.db).filter(\.$roundID == r.requireID())
                .filter(\.$tenantARS == tenant.ars).count() > 0
            roundStates.append(RoundState(round: SurveyRoundDTO(r), answered: answered))
        }
        let mayApply = req.can(.membershipApply, tenant: tenant.ars)
        let view = HomeView(tenant: GebietDTO(tenant), membership: MembershipDTO(tenant, m),
                            statusLabel: MembershipService.statusLabel(req, status: state.rawValue, effectiveFrom: m?.effectiveFrom, effectiveUntil: m?.effectiveUntil), share: m?.shareCents.map { Money(cents: $0).formatted },
                            openRounds: roundStates, hasRounds: !roundStates.isEmpty,
                            canApply: mayApply && MembershipStateMachine.next(state, .apply) != nil,
                            canWithdraw: mayApply && MembershipStateMachine.next(state, .withdraw) != nil,
                            canNotice: req.can(.membershipNotice, tenant: tenant.ars) && MembershipStateMachine.next(state, .giveNotice) != nil,
                            canAnswer: req.can(.surveyAnswer, tenant: tenant.ars),
                            canTokens: req.can(.tokensManage, tenant: tenant.ars),
                            canFinder: req.can(.finderManage, tenant: tenant.ars),
                            canInvoices: req.can(.invoiceView, tenant: tenant.ars),
                            canCases: req.can(.caseView, tenant: tenant.ars), canServices: req.can(.serviceActivate, tenant: tenant.ars),
                            canCash: req.can(.paymentView, tenant: tenant.ars))
        var withTasks = view
        if req.can(.tenantTraining, tenant: tenant.ars) {
            withTasks.openTasks = try await VisitTask.query(on: req.db).filter(\.$tenantARS == tenant.ars).filter(\.$doneAt == nil).count()
            withTasks.visitsToConfirm = try await SiteVisit.query(on: req.db).filter(\.$tenantARS == tenant.ars).filter(\.$status == "proposed").count()
        }
        if req.can(.procurementOrder, tenant: tenant.ars) {
            let calloffs = try await ProcurementCallOff.query(on: req.db).filter(\.$tenantARS == tenant.ars).all()
            let done: Set<String> = [CallOffStatus.received.rawValue, CallOffStatus.rejected.rawValue, CallOffStatus.cancelled.rawValue]
            let entries = try await ProcurementService.catalogue(req.db, day: BusinessDate.today())
            var tasks = try await ProcurementBilling.missing(req.db, tenant: tenant.ars)
            if req.lang == .en { tasks = tasks.map { $0.hasPrefix("Es ist keine") ? "No active Leitweg-ID: the provider's invoices cannot be delivered." : "The billing address for the provider's invoices is missing." } }
            withTasks.procurement = ProcurementSummary(
                frameworks: Set(entries.compactMap(\.framework.id)).count, open: calloffs.filter { !done.contains($0.status) }.count,
                waiting: calloffs.filter { $0.status == CallOffStatus.awaitingApproval.rawValue }.count,
                invoices: try await ProviderInvoice.query(on: req.db).filter(\.$tenantARS == tenant.ars).count(), tasks: tasks)
        }
        return try await req.render("tenant/home", title: tenant.name, withTasks)
    }

    struct SurveyFormView: Encodable {
        var tenant: GebietDTO
        var round: SurveyRoundDTO
        var interest: String
        var services: [ServiceOption]
        var contact: String
        var email: String
        var comment: String
    }

    struct ServiceOption: Encodable { var code: String; var label: String; var checked: Bool }

    func surveyView(_ req: Request, _ tenant: Gebiet, _ round: SurveyRound, _ input: SurveyAnswerInput) -> SurveyFormView {
        let chosen = Set(input.dienste ?? [])
        return SurveyFormView(tenant: GebietDTO(tenant), round: SurveyRoundDTO(round), interest: input.interesse ?? "",
                              services: PlatformService.allCases.map { ServiceOption(code: $0.rawValue, label: req.t("service_\($0.rawValue)"), checked: chosen.contains($0.rawValue)) },
                              contact: input.ansprechpartner ?? "", email: input.email ?? "", comment: input.kommentar ?? "")
    }

    @Sendable func surveyForm(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.surveyAnswer, tenant: tenant.ars)
        let round = try await SurveyService.round(req.parameters.get("id"), on: req.db)
        var input = SurveyAnswerInput()
        if let a = try await SurveyAnswer.query(on: req.db).filter(\.$roundID == round.requireID()).filter(\.$tenantARS == tenant.ars).first() {
            input = SurveyAnswerInput(interesse: a.interest, dienste: a.services.split(separator: ",").map(String.init),
                                      ansprechpartner: a.contactName, email: a.contactEmail, kommentar: a.comment)
        }
        return try await req.render("tenant/survey", title: round.title, surveyView(req, tenant, round, input), form: true)
    }

    @Sendable func surveySubmit(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.surveyAnswer, tenant: tenant.ars)
        let round = try await SurveyService.round(req.parameters.get("id"), on: req.db)
        let input = (try? req.content.decode(SurveyAnswerInput.self)) ?? SurveyAnswerInput()
        do {
            _ = try await SurveyService.answer(req, round: round, tenant: tenant, input)
            return req.redirect(to: "/mandanten/\(tenant.ars)?gespeichert=umfrage", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("tenant/survey", title: round.title, surveyView(req, tenant, round, input), e)
        }
    }

    struct ApplyForm: Content {
        var antragsdatum: String?
        var ratsbeschluss: String?
        var ratsbeschlussDatum: String?
        var anteil: String?
        var ansprechpartner: String?
    }

    struct ApplyView: Encodable { var tenant: GebietDTO; var form: ApplyForm }

    @Sendable func applyForm(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipApply, tenant: tenant.ars)
        let form = ApplyForm(antragsdatum: BusinessDate.today(), ratsbeschluss: nil, ratsbeschlussDatum: nil, anteil: nil, ansprechpartner: req.principal.staff?.name)
        return try await req.render("tenant/apply", title: req.t("apply_title"), ApplyView(tenant: GebietDTO(tenant), form: form), form: true)
    }

    @Sendable func applySubmit(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipApply, tenant: tenant.ars)
        let form = (try? req.content.decode(ApplyForm.self)) ?? ApplyForm()
        do {
            var cents: Int64? = nil
            if let raw = form.anteil, !raw.trimmingCharacters(in: .whitespaces).isEmpty {
                do { cents = try Money(parsing: raw).cents } catch { throw AppError(.badRequest, error, field: "anteilCent") }
            }
            _ = try await MembershipService.apply(req, tenant: tenant, ApplicationInput(
                antragsdatum: form.antragsdatum, ratsbeschluss: form.ratsbeschluss, ratsbeschlussDatum: form.ratsbeschlussDatum,
                anteilCent: cents, ansprechpartner: form.ansprechpartner))
            return req.redirect(to: "/mandanten/\(tenant.ars)?gespeichert=antrag", redirectType: .normal)
        } catch var e as AppError {
            if e.field == "anteilCent" { e.field = "anteil" }
            return try await req.renderError("tenant/apply", title: req.t("apply_title"), ApplyView(tenant: GebietDTO(tenant), form: form), e)
        }
    }

    @Sendable func withdraw(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipApply, tenant: tenant.ars)
        _ = try await MembershipService.withdraw(req, tenant: tenant)
        return req.redirect(to: "/mandanten/\(tenant.ars)", redirectType: .normal)
    }

    struct NoticeView: Encodable { var tenant: GebietDTO; var until: String; var reason: String }

    @Sendable func noticeForm(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipNotice, tenant: tenant.ars)
        return try await req.render("tenant/notice", title: req.t("notice_title"), NoticeView(tenant: GebietDTO(tenant), until: "", reason: ""), form: true)
    }

    @Sendable func noticeSubmit(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipNotice, tenant: tenant.ars)
        let input = (try? req.content.decode(NoticeInput.self)) ?? NoticeInput()
        do {
            _ = try await MembershipService.giveNotice(req, tenant: tenant, input)
            return req.redirect(to: "/mandanten/\(tenant.ars)", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("tenant/notice", title: req.t("notice_title"),
                                             NoticeView(tenant: GebietDTO(tenant), until: input.kuendigungZum ?? "", reason: input.begruendung ?? ""), e)
        }
    }

    struct TokenRow: Encodable { var id: String; var name: String; var prefix: String; var scopes: String; var revoked: Bool }
    struct TokensView: Encodable { var tenant: GebietDTO; var tokens: [TokenRow]; var created: String?; var name: String }

    func tokensPage(_ req: Request, _ tenant: Gebiet, created: String? = nil, error: AppError? = nil, name: String = "") async throws -> Response {
        let all = try await APIToken.query(on: req.db).filter(\.$tenantARS == tenant.ars).sort(\.$createdAt, .descending).all()
        let view = TokensView(tenant: GebietDTO(tenant), tokens: all.map {
            TokenRow(id: $0.id?.uuidString ?? "", name: $0.name, prefix: $0.prefix, scopes: $0.scopes, revoked: $0.revokedAt != nil)
        }, created: created, name: name)
        if let error { return try await req.renderError("tenant/tokens", title: req.t("tokens_title"), view, error) }
        return try await req.render("tenant/tokens", title: req.t("tokens_title"), view, form: true)
    }

    @Sendable func tokens(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.tokensManage, tenant: tenant.ars)
        return try await tokensPage(req, tenant)
    }

    struct TokenInput: Content { var name: String?; var zweck: String? }

    /// Scopes a tenant admin may hand out: only tenant-bound ones.
    static let tenantScopes: [Scope] = [.membership, .finder, .rechnungen, .antraege]

    @Sendable func createToken(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.tokensManage, tenant: tenant.ars)
        let input = (try? req.content.decode(TokenInput.self)) ?? TokenInput()
        do {
            let name = try TextInput.required(input.name, field: "name", label: "eine Bezeichnung für den Token", max: 100)
            // tenant admins can only hand out scopes bound to their own tenant
            guard let scope = Scope(rawValue: input.zweck ?? "membership"), Self.tenantScopes.contains(scope) else {
                throw AppError.invalid("zweck", de: "Bitte wählen Sie, wofür der Token dient.", en: "Choose what the token is for.")
            }
            let (token, clear) = APIToken.generate(tenant: tenant.ars, scopes: [scope], name: name, createdBy: req.principal.auditActor)
            try await req.db.transaction { db in
                try await token.create(on: db)
                try await req.audit(on: db, "token.create", tenant: tenant.ars, objectType: "api_token", objectID: token.prefix, after: "Scopes \(token.scopes)")
            }
            return try await tokensPage(req, tenant, created: clear)
        } catch let e as AppError {
            return try await tokensPage(req, tenant, error: e, name: input.name ?? "")
        }
    }

    @Sendable func revokeToken(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.tokensManage, tenant: tenant.ars)
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)),
              let token = try await APIToken.query(on: req.db).filter(\.$id == id).filter(\.$tenantARS == tenant.ars).first() else {
            throw AppError.notFound
        }
        if token.revokedAt == nil {
            try await req.db.transaction { db in
                token.revokedAt = Date()
                try await token.save(on: db)
                try await req.audit(on: db, "token.revoke", tenant: tenant.ars, objectType: "api_token", objectID: token.prefix)
            }
        }
        return req.redirect(to: "/mandanten/\(tenant.ars)/tokens", redirectType: .normal)
    }
}
