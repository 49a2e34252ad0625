import Fluent
import Vapor
import RathausCore

/// The operator's pages: survey rounds and results, applications and decisions, the overview.
struct OperatorWebController {
    func addRoutes(to web: any RoutesBuilder) {
        let b = web.grouped("betrieb")
        b.get(use: dashboard)
        b.get("umfragen", use: rounds)
        b.post("umfragen", use: openRound)
        b.get("umfragen", ":id", use: results)
        b.post("umfragen", ":id", "abschluss", use: closeRound)
        b.get("antraege", ":ars", use: application)
        b.post("antraege", ":ars", "genehmigen", use: approve)
        b.post("antraege", ":ars", "ablehnen", use: reject)
        web.get("uebersicht", use: overview)
        web.get("uebersicht.csv", use: overviewCSV)
    }

    struct DashboardView: Encodable { var applications: [OverviewRow]; var hasApplications: Bool; var rounds: [SurveyRoundDTO]; var counts: Counts }

    @Sendable func dashboard(req: Request) async throws -> Response {
        try req.authorize(.membershipDecide)
        let rows = try await Overview.rows(on: req.db)
        let counts = Self.counts(rows)
        let applications = rows.filter { $0.status == "applied" }
        let rounds = try await SurveyRound.query(on: req.db).sort(\.$openedOn, .descending).all()
        return try await req.render("operator/dashboard", title: req.t("operator_title"),
                                    DashboardView(applications: applications, hasApplications: !applications.isEmpty, rounds: rounds.map(SurveyRoundDTO.init), counts: counts))
    }

    struct RoundsView: Encodable { var rounds: [SurveyRoundDTO]; var title: String; var until: String; var canManage: Bool = true }

    @Sendable func rounds(req: Request) async throws -> Response {
        // the Land reads the results; only the operator opens and closes rounds
        try req.authorize(.surveyResults)
        let rounds = try await SurveyRound.query(on: req.db).sort(\.$openedOn, .descending).all()
        return try await req.render("operator/rounds", title: req.t("rounds_title"), RoundsView(rounds: rounds.map(SurveyRoundDTO.init), title: "", until: "", canManage: req.can(.surveyManage)), form: true)
    }

    @Sendable func openRound(req: Request) async throws -> Response {
        try req.authorize(.surveyManage)
        let input = (try? req.content.decode(OpenSurveyInput.self)) ?? OpenSurveyInput()
        do {
            let r = try await SurveyService.open(req, input)
            return req.redirect(to: "/betrieb/umfragen/\(r.id?.uuidString ?? "")", redirectType: .normal)
        } catch let e as AppError {
            let rounds = try await SurveyRound.query(on: req.db).sort(\.$openedOn, .descending).all()
            return try await req.renderError("operator/rounds", title: req.t("rounds_title"),
                                             RoundsView(rounds: rounds.map(SurveyRoundDTO.init), title: input.titel ?? "", until: input.endetAm ?? ""), e)
        }
    }

    struct ResultsView: Encodable {
        var results: SurveyResultsDTO
        var svg: String
        var services: [ServiceCount]
        var canClose: Bool
    }
    struct ServiceCount: Encodable { var label: String; var count: Int }

    @Sendable func results(req: Request) async throws -> Response {
        try req.authorize(.surveyResults)
        let round = try await SurveyService.round(req.parameters.get("id"), on: req.db)
        let r = try await SurveyService.results(round, on: req.db)
        let svg = SurveyService.chartSVG(r, labels: (req.t("interest_yes"), req.t("interest_maybe"), req.t("interest_no"), req.t("interest_open")))
        let services = PlatformService.allCases.map { ServiceCount(label: req.t("service_\($0.rawValue)"), count: r.dienste[$0.rawValue] ?? 0) }
        return try await req.render("operator/results", title: round.title,
                                    ResultsView(results: r, svg: svg, services: services, canClose: round.isOpen && req.can(.surveyManage)))
    }

    @Sendable func closeRound(req: Request) async throws -> Response {
        try req.authorize(.surveyManage)
        let round = try await SurveyService.round(req.parameters.get("id"), on: req.db)
        _ = try await SurveyService.close(req, round)
        return req.redirect(to: "/betrieb/umfragen/\(round.id?.uuidString ?? "")", redirectType: .normal)
    }

    struct ApplicationView: Encodable {
        var tenant: GebietDTO
        var membership: MembershipDTO
        var statusLabel: String
        var share: String?
        var canDecide: Bool
        var wirksamAb: String
        var begruendung: String
    }

    func applicationPage(_ req: Request, _ tenant: Gebiet, error: AppError? = nil, wirksamAb: String? = nil, begruendung: String = "") async throws -> Response {
        let m = try await MembershipService.membership(of: tenant.ars, on: req.db)
        let view = ApplicationView(tenant: GebietDTO(tenant), membership: MembershipDTO(tenant, m),
                                   statusLabel: MembershipService.statusLabel(req, status: m?.status ?? "none", effectiveFrom: m?.effectiveFrom, effectiveUntil: m?.effectiveUntil), share: m?.shareCents.map { Money(cents: $0).formatted },
                                   canDecide: m?.state == .applied, wirksamAb: wirksamAb ?? BusinessDate.today(), begruendung: begruendung)
        if let error { return try await req.renderError("operator/application", title: tenant.name, view, error) }
        return try await req.render("operator/application", title: tenant.name, view, form: true)
    }

    @Sendable func application(req: Request) async throws -> Response {
        try req.authorize(.membershipDecide)
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        return try await applicationPage(req, tenant)
    }

    @Sendable func approve(req: Request) async throws -> Response {
        try req.authorize(.membershipDecide)
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        let input = (try? req.content.decode(ApprovalInput.self)) ?? ApprovalInput()
        do {
            _ = try await MembershipService.approve(req, tenant: tenant, input)
            return req.redirect(to: "/betrieb/antraege/\(tenant.ars)", redirectType: .normal)
        } catch let e as AppError {
            return try await applicationPage(req, tenant, error: e, wirksamAb: input.wirksamAb)
        }
    }

    @Sendable func reject(req: Request) async throws -> Response {
        try req.authorize(.membershipDecide)
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        let input = (try? req.content.decode(RejectionInput.self)) ?? RejectionInput()
        do {
            _ = try await MembershipService.reject(req, tenant: tenant, input)
            return req.redirect(to: "/betrieb/antraege/\(tenant.ars)", redirectType: .normal)
        } catch let e as AppError {
            return try await applicationPage(req, tenant, error: e, begruendung: input.begruendung ?? "")
        }
    }

    struct OverviewView: Encodable {
        var rows: [Row]
        var kreise: [GebietDTO]
        var kreis: String
        var status: String
        var q: String
        var counts: Counts
        var byKreis: [KreisCount]
        var csvLink: String
        var canDecide: Bool
    }
    struct Row: Encodable { var r: OverviewRow; var statusLabel: String }
    struct Counts: Encodable { var total: Int; var member: Int; var applied: Int; var none: Int }
    struct KreisCount: Encodable { var ars: String; var name: String; var counts: Counts }

    /// Members are counted from the day their membership takes effect until it ends; an approved
    /// membership that starts later counts with the pending ones.
    static func counts(_ rows: [OverviewRow], today: String = BusinessDate.today()) -> Counts {
        let effective = { (r: OverviewRow) -> Bool in
            (r.status == "member" || r.status == "notice_given") && (r.wirksamAb ?? "") <= today && (r.kuendigungZum.map { $0 > today } ?? true)
        }
        let pending = { (r: OverviewRow) -> Bool in r.status == "member" && (r.wirksamAb ?? "") > today }
        return Counts(total: rows.count, member: rows.filter(effective).count,
               applied: rows.filter { $0.status == "applied" || pending($0) }.count,
               none: rows.filter { $0.status == "none" || $0.status == "rejected" }.count)
    }

    struct OverviewFilter { var kreis: String?; var status: String?; var q: String? }

    static func overviewFilter(_ req: Request) throws -> OverviewFilter {
        var f = OverviewFilter()
        if let k = req.query[String.self, at: "kreis"], !k.isEmpty {
            guard (try? ARS(k))?.level == .kreis else {
                throw AppError.invalid("kreis", de: "Bitte wählen Sie einen Kreis aus der Liste.", en: "Please choose a district from the list.")
            }
            f.kreis = k
        }
        if let s = req.query[String.self, at: "status"], !s.isEmpty {
            guard MembershipStatus(rawValue: s) != nil else {
                throw AppError.invalid("status", de: "Bitte wählen Sie einen Status aus der Liste.", en: "Please choose a status from the list.")
            }
            f.status = s
        }
        if let q = req.query[String.self, at: "q"], !q.isEmpty { f.q = String(q.prefix(100)) }
        return f
    }

    func filteredRows(_ req: Request, _ f: OverviewFilter) async throws -> [OverviewRow] {
        var rows = try await Overview.rows(on: req.db)
        if let k = f.kreis { rows = rows.filter { $0.kreisArs == k } }
        if let s = f.status { rows = rows.filter { $0.status == s } }
        if let q = f.q?.lowercased() { rows = rows.filter { $0.name.lowercased().contains(q) || $0.ars.hasPrefix(q) } }
        return rows
    }

    @Sendable func overview(req: Request) async throws -> Response {
        try req.authorize(.overviewView)
        let f = try Self.overviewFilter(req)
        let rows = try await filteredRows(req, f)
        let kreise = try await Gebiet.query(on: req.db).filter(\.$landCode == "16").filter(\.$level == "kreis").sort(\.$name).all()
        var query: [String] = []
        if let k = f.kreis { query.append("kreis=\(k)") }
        if let s = f.status { query.append("status=\(s)") }
        if let q = f.q { query.append("q=\(q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")") }
        let counts = Self.counts(rows)
        // members / applicants / not joined per Kreis, over all tenants (filters narrow only the list)
        let all = try await Overview.rows(on: req.db)
        var groups: [String: [OverviewRow]] = [:]
        for r in all { groups[r.kreisArs, default: []].append(r) }
        let byKreis = groups.keys.sorted().map { k in
            KreisCount(ars: k, name: groups[k]?.first?.kreisName ?? k, counts: Self.counts(groups[k] ?? []))
        }
        let view = OverviewView(rows: rows.map { Row(r: $0, statusLabel: MembershipService.statusLabel(req, status: $0.status, effectiveFrom: $0.wirksamAb, effectiveUntil: $0.kuendigungZum)) }, kreise: kreise.map(GebietDTO.init),
                                kreis: f.kreis ?? "", status: f.status ?? "", q: f.q ?? "", counts: counts, byKreis: byKreis,
                                csvLink: "/uebersicht.csv" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")),
                                canDecide: req.can(.membershipDecide))
        return try await req.render("operator/overview", title: req.t("overview_title"), view)
    }

    @Sendable func overviewCSV(req: Request) async throws -> Response {
        try req.authorize(.overviewView)
        let rows = try await filteredRows(req, try Self.overviewFilter(req))
        let res = Response(status: .ok, body: .init(string: "\u{FEFF}" + Overview.csv(rows)))
        res.headers.contentType = HTTPMediaType(type: "text", subType: "csv", parameters: ["charset": "utf-8"])
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"mitgliedschaften-\(BusinessDate.today()).csv\"")
        return res
    }
}
