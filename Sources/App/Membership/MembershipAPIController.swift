import Fluent
import Vapor
import RathausCore

struct MembershipDTO: Content {
    var ars: String
    var name: String
    var status: String
    var antragsdatum: String?
    var ratsbeschluss: String?
    var ratsbeschlussDatum: String?
    var anteilCent: Int64?
    var ansprechpartner: String?
    var entschiedenAm: String?
    var begruendung: String?
    var wirksamAb: String?
    var kuendigungZum: String?

    init(_ tenant: Gebiet, _ m: Membership?) {
        ars = tenant.ars; name = tenant.name; status = m?.status ?? MembershipStatus.none.rawValue
        antragsdatum = m?.appliedOn; ratsbeschluss = m?.councilResolution; ratsbeschlussDatum = m?.councilResolutionOn
        anteilCent = m?.shareCents; ansprechpartner = m?.contact; entschiedenAm = m?.decidedOn
        begruendung = m?.decisionReason; wirksamAb = m?.effectiveFrom; kuendigungZum = m?.effectiveUntil
    }
}

/// `/api/v1/mitgliedschaften` and `/api/v1/umfragen`.
struct MembershipAPIController {
    func addRoutes(to api: any RoutesBuilder) {
        let m = api.grouped("mitgliedschaften")
        m.get(use: list)
        m.get(":ars", use: show)
        m.post(":ars", "antrag", use: apply)
        m.post(":ars", "rueckzug", use: withdraw)
        m.post(":ars", "genehmigung", use: approve)
        m.post(":ars", "ablehnung", use: reject)
        m.post(":ars", "kuendigung", use: notice)

        let u = api.grouped("umfragen")
        u.get(use: rounds)
        u.post(use: openRound)
        u.get(":id", use: round)
        u.post(":id", "abschluss", use: closeRound)
        u.get(":id", "ergebnisse", use: results)
        u.get(":id", "antworten", ":ars", use: getAnswer)
        u.put(":id", "antworten", ":ars", use: putAnswer)
    }

    /// The overview: all tenants with their state (operator, Land), or the caller's own tenant.
    @Sendable func list(req: Request) async throws -> ListEnvelope<OverviewRow> {
        if case .anonymous = req.principal { throw AppError.unauthenticated }
        let paging = try Paging.from(req, defaultLimit: 100)
        let visible = Policy.visibleTenants(req.principal, for: .overviewView)
        var rows = try await Overview.rows(on: req.db, onlyTenants: visible)
        if let status = req.query[String.self, at: "status"] {
            guard MembershipStatus(rawValue: status) != nil else {
                throw AppError.invalid("status", de: "Unbekannter Status. Erlaubt: none, applied, member, rejected, notice_given.",
                                       en: "Unknown status.")
            }
            rows = rows.filter { $0.status == status }
        }
        if let kreis = req.query[String.self, at: "kreis"] {
            guard (try? ARS(kreis))?.level == .kreis else {
                throw AppError.invalid("kreis", de: "„kreis“ muss ein fünfstelliger Kreisschlüssel sein, z. B. 16051.", en: "kreis must be a 5-digit key.")
            }
            rows = rows.filter { $0.kreisArs == kreis }
        }
        let total = rows.count
        if let c = paging.cursor { rows = rows.filter { ($0.kreisArs, $0.ars) > Self.splitCursor(c) } }
        let page = Array(rows.prefix(paging.limit))
        let next = rows.count > paging.limit ? page.last.map { "\($0.kreisArs)-\($0.ars)" } : nil
        return ListEnvelope(items: page, total: total, next: next)
    }

    static func splitCursor(_ c: String) -> (String, String) {
        let p = c.split(separator: "-")
        return p.count == 2 ? (String(p[0]), String(p[1])) : (c, "")
    }

    @Sendable func show(req: Request) async throws -> MembershipDTO {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipView, tenant: tenant.ars)
        return MembershipDTO(tenant, try await MembershipService.membership(of: tenant.ars, on: req.db))
    }

    @Sendable func apply(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipApply, tenant: tenant.ars)
        let m = try await MembershipService.apply(req, tenant: tenant, try req.decodeJSON(ApplicationInput.self))
        let res = try await MembershipDTO(tenant, m).encodeResponse(for: req)
        res.status = .created
        return res
    }

    @Sendable func withdraw(req: Request) async throws -> MembershipDTO {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipApply, tenant: tenant.ars)
        return MembershipDTO(tenant, try await MembershipService.withdraw(req, tenant: tenant))
    }

    @Sendable func approve(req: Request) async throws -> MembershipDTO {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipDecide, tenant: tenant.ars)
        return MembershipDTO(tenant, try await MembershipService.approve(req, tenant: tenant, try req.decodeJSON(ApprovalInput.self)))
    }

    @Sendable func reject(req: Request) async throws -> MembershipDTO {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipDecide, tenant: tenant.ars)
        return MembershipDTO(tenant, try await MembershipService.reject(req, tenant: tenant, try req.decodeJSON(RejectionInput.self)))
    }

    @Sendable func notice(req: Request) async throws -> MembershipDTO {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.membershipNotice, tenant: tenant.ars)
        return MembershipDTO(tenant, try await MembershipService.giveNotice(req, tenant: tenant, try req.decodeJSON(NoticeInput.self)))
    }

    @Sendable func rounds(req: Request) async throws -> ListEnvelope<SurveyRoundDTO> {
        if case .anonymous = req.principal { throw AppError.unauthenticated }
        let all = try await SurveyRound.query(on: req.db).sort(\.$openedOn, .descending).all()
        return ListEnvelope(items: all.map(SurveyRoundDTO.init), total: all.count, next: nil)
    }

    @Sendable func openRound(req: Request) async throws -> Response {
        try req.authorize(.surveyManage)
        let r = try await SurveyService.open(req, try req.decodeJSON(OpenSurveyInput.self))
        let res = try await SurveyRoundDTO(r).encodeResponse(for: req)
        res.status = .created
        return res
    }

    @Sendable func round(req: Request) async throws -> SurveyRoundDTO {
        if case .anonymous = req.principal { throw AppError.unauthenticated }
        return SurveyRoundDTO(try await SurveyService.round(req.parameters.get("id"), on: req.db))
    }

    @Sendable func closeRound(req: Request) async throws -> SurveyRoundDTO {
        try req.authorize(.surveyManage)
        let r = try await SurveyService.round(req.parameters.get("id"), on: req.db)
        return SurveyRoundDTO(try await SurveyService.close(req, r))
    }

    @Sendable func results(req: Request) async throws -> SurveyResultsDTO {
        try req.authorize(.surveyResults)
        let r = try await SurveyService.round(req.parameters.get("id"), on: req.db)
        return try await SurveyService.results(r, on: req.db)
    }

    @Sendable func getAnswer(req: Request) async throws -> SurveyAnswerDTO {
        let r = try await SurveyService.round(req.parameters.get("id"), on: req.db)
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        guard req.can(.surveyAnswer, tenant: tenant.ars) || req.can(.surveyResults) else {
            try req.authorize(.surveyAnswer, tenant: tenant.ars)
            throw AppError.forbidden
        }
        guard let a = try await SurveyAnswer.query(on: req.db).filter(\.$roundID == r.requireID())
            .filter(\.$tenantARS == tenant.ars).first() else {
            throw AppError(.notFound, "survey.no_answer", de: "Für diesen Mandanten liegt in dieser Runde keine Antwort vor.",
                           en: "No answer from this tenant in this round.")
        }
        return SurveyAnswerDTO(a)
    }

    @Sendable func putAnswer(req: Request) async throws -> SurveyAnswerDTO {
        let r = try await SurveyService.round(req.parameters.get("id"), on: req.db)
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.surveyAnswer, tenant: tenant.ars)
        return SurveyAnswerDTO(try await SurveyService.answer(req, round: r, tenant: tenant, try req.decodeJSON(SurveyAnswerInput.self)))
    }
}
