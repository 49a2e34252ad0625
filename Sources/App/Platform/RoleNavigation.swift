import Vapor

struct NavLink: Encodable { var label: String; var path: String }

/// The staff navigation: every page a person may use, derived from the one `Policy` — a link
/// appears exactly when the policy allows its action, so navigation and authorisation cannot drift.
enum RoleNavigation {
    /// (text key, path, action, tenant-scoped). Tenant-scoped paths use `{ars}`.
    static let entries: [(String, String, Action, Bool)] = [
        ("nav_tenant", "/mandanten/{ars}", .membershipView, true),
        ("nav_cases", "/mandanten/{ars}/antraege", .caseView, true),
        ("nav_invoices", "/mandanten/{ars}/rechnungen", .invoiceView, true),
        ("nav_cash", "/mandanten/{ars}/kasse", .paymentView, true),
        ("nav_tenant_services", "/mandanten/{ars}/onlinedienste", .serviceActivate, true),
        ("nav_fitconnect", "/mandanten/{ars}/fitconnect", .serviceActivate, true),
        ("nav_offices", "/mandanten/{ars}/organisationseinheiten", .finderManage, true),
        ("nav_responsibilities", "/mandanten/{ars}/zustaendigkeiten", .finderManage, true),
        ("nav_leitweg_tenant", "/mandanten/{ars}/leitweg-ids", .leitwegManage, true),
        ("nav_payment_settings", "/mandanten/{ars}/zahlungen", .paymentSettings, true),
        ("nav_tokens", "/mandanten/{ars}/tokens", .tokensManage, true),
        ("nav_legal", "/mandanten/{ars}/rechtstexte", .legalTextsEdit, true),
        ("nav_staff", "/mandanten/{ars}/personal", .staffManage, true),
        ("nav_login_security", "/mandanten/{ars}/sicherheit", .staffManage, true),
        ("nav_letterhead", "/mandanten/{ars}/briefkopf", .letterheadEdit, true),
        ("nav_training", "/mandanten/{ars}/fortbildung", .tenantTraining, true),
        ("nav_my_events", "/veranstaltungen/meine", .eventRegister, true),
        ("nav_funding_tenant", "/mandanten/{ars}/foerderung", .fundingView, true),
        ("nav_cockpit", "/mandanten/{ars}/cockpit", .cockpitView, true),
        ("nav_isms", "/mandanten/{ars}/isms", .ismsView, true),
        ("nav_isms_measures", "/mandanten/{ars}/isms/massnahmen", .ismsView, true),
        ("nav_isms_inventory", "/mandanten/{ars}/isms/struktur", .ismsView, true),
        ("nav_incidents", "/mandanten/{ars}/sicherheitsvorfaelle", .ismsIncidentReport, true),
        ("nav_procurement_tenant", "/mandanten/{ars}/beschaffung", .procurementOrder, true),
        ("nav_procurement_settings", "/mandanten/{ars}/beschaffung/einstellungen", .procurementSettings, true),
        ("nav_operator", "/betrieb", .surveyManage, false),
        ("nav_rounds", "/betrieb/umfragen", .surveyResults, false),
        ("nav_overview", "/uebersicht", .overviewView, false),
        ("nav_state_services", "/land/onlinedienste", .servicePublish, false),
        ("nav_state_fim", "/land/onlinedienste/fim", .servicePublish, false),
        ("nav_audit", "/betrieb/audit", .auditView, false),
        ("nav_legal", "/betrieb/rechtstexte", .legalTextsEdit, false),
        ("nav_staff", "/betrieb/personal", .staffManage, false),
        ("nav_jobs", "/betrieb/jobs", .jobsManage, false),
        ("nav_kz", "/kompetenzzentrum", .eventsManage, false),
        ("nav_kz_visits", "/kompetenzzentrum/besuche", .eventsManage, false),
        ("nav_reach", "/kompetenzzentrum/reichweite", .reachView, false),
        ("nav_rollout", "/rollout", .rolloutView, false),
        ("nav_rollout_demand", "/rollout/nachfrage", .rolloutView, false),
        ("nav_funding", "/foerderung", .fundingView, false),
        ("nav_funding_budget", "/foerderung/haushalt", .fundingView, false),
        ("nav_funding_programmes", "/foerderung/programme", .fundingManage, false),
        ("nav_isms_overview", "/isms/uebersicht", .ismsOverview, false),
        ("nav_isms_catalogue", "/betrieb/isms", .ismsManage, false),
        ("nav_incidents_cert", "/betrieb/sicherheitsvorfaelle", .ismsIncidentHandle, false),
        ("nav_procurement", "/einkauf", .procurementManage, false),
        ("nav_procurement_calloffs", "/einkauf/abrufe", .procurementManage, false),
        ("nav_procurement_invoices", "/einkauf/rechnungen", .procurementManage, false),
        ("nav_procurement_demand", "/einkauf/bedarf", .procurementManage, false),
        ("nav_procurement_fees", "/einkauf/beitraege", .procurementManage, false),
        ("nav_procurement_billing", "/einkauf/rechnungssteller", .procurementManage, false),
    ]

    static func links(_ req: Request) -> [NavLink] {
        guard case .staff(let s) = req.principal else { return [] }
        var out: [NavLink] = []
        for (key, path, action, scoped) in entries {
            if scoped {
                // the acting tenant's pages; the Land's key only for the Land's own staff page
                guard let ars = s.tenantARS, s.grants.contains(where: { $0.tenantARS == ars && ($0.role.isTenantBound || action == .staffManage) }),
                      req.can(action, tenant: ars) else { continue }
                out.append(NavLink(label: req.t(key), path: path.replacingOccurrences(of: "{ars}", with: ars)))
            } else if req.can(action) {
                out.append(NavLink(label: req.t(key), path: path))
            }
        }
        return out
    }
}
