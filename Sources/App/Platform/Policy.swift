import Vapor
import Fluent

/// Everything a principal may be asked permission for. One place decides; routes ask it,
/// templates receive what it answered.
enum Action: String, Sendable, CaseIterable {
    case surveyManage          // open and close survey rounds
    case surveyAnswer          // answer for a tenant
    case surveyResults         // read results per Kreis and overall
    case membershipApply       // file a Beitrittsantrag for a tenant
    case membershipDecide      // approve / reject
    case membershipNotice      // give notice for a tenant
    case membershipView        // read a tenant's membership
    case overviewView          // members / applicants / not joined, all tenants
    case auditView             // browse the audit trail
    case tokensManage          // create and revoke API tokens for a tenant
    case finderManage          // offices and responsibilities of a tenant
    case serviceTextsEdit      // statewide service texts (tenant = nil) or a tenant's local texts
    case leitwegManage         // a tenant's Leitweg-IDs (e-invoice addresses)
    case invoiceView           // read a tenant's received e-invoices, download originals
    case invoiceDecide         // check, release or reject a tenant's e-invoices
    case invoiceSettings       // a tenant's inbox settings (four eyes)
    case invoiceExport         // finance software pulls and acknowledges released invoices
    case servicePublish        // the state publishes online services (new versions) to the catalogue
    case serviceActivate       // a tenant switches an online service on or off with local settings
    case caseView              // read a tenant's submitted applications
    case caseHandle            // assign, ask, decide a tenant's applications; message the applicant
    case caseExport            // specialist software fetches applications and posts status changes
    case paymentInitiate       // an online service or specialist software starts payments (XBezahldienste)
    case paymentView           // the cash office lists payments and reports
    case paymentRefund         // refund a payment (cash office, clerk for their cases)
    case paymentSettings       // a tenant's Kassenzeichen scheme, endpoints, booking defaults
    case legalTextsEdit        // Impressum, Datenschutz, Barrierefreiheit … of the installation (tenant = nil) or a tenant
    case letterheadEdit        // a tenant's letterhead for official letters (PDF)
    case jobsManage            // see scheduled jobs and start one now (operator)
    case staffManage           // invite staff, give and end roles (tenant = nil: the operator's own staff)
    case eventsManage          // the competence centre: events, participants, check-in, certificates, visit planning
    case reachView             // reach of the competence centre per Kreis and tenant
    case eventRegister         // a municipal staff member registers themself for an event (tenant = their tenant)
    case tenantTraining        // a tenant admin registers colleagues, requests on-site visits, follows up their tasks
    case fundingView           // read funding applications (tenant = the applicant or a partner; nil = all), the budget
    case fundingApply          // write a tenant's funding applications, call off funds, submit the proof of use
    case fundingSign           // release a tenant's application, confirm a joint project's participation
    case fundingManage         // programmes, categories, calls and the budget (the Land)
    case fundingDecide         // check, query, decide, release payouts, close (the Land)
    case fundingAdvise         // the provider's advisors comment on applications (no decisions)
    case rolloutView           // the roll-out matrix, map, time series and demand signals of all tenants
    case cockpitView           // a tenant's own cockpit: what is live, usage, open set-up tasks, digest setting
    case ismsView              // a tenant's ISMS workspace: catalogue status, measures, incidents, report
    case ismsEdit              // answer requirements, name the ISB, plan measures (tenant admin, ISB)
    case ismsManage            // import check catalogues (Land, operator); declare the provider's controls (operator)
    case ismsOverview          // the state-wide picture of all tenants (Land, operator)
    case ismsControls          // declare which requirements the provider's services fulfil for members (operator)
    case ismsIncidentReport    // any staff member of a tenant reports a security incident and follows their own reports
    case ismsIncidentHandle    // the provider's CERT: every tenant's incidents, timeline, closing report
    case procurementManage     // the provider's purchasing: frameworks, catalogue, prices, releasing call-offs, deliveries, billing
    case procurementOrder      // a member builds, submits and receives its call-offs (and reads its own)
    case procurementApprove    // a second person of the member approves call-offs above the threshold
    case procurementSettings   // a member's approval threshold
}

enum Policy {
    /// May `principal` do `action` on an object of `tenant` (nil = not tenant-specific)?
    static func allows(_ principal: Principal, _ action: Action, tenant: String?) -> Bool {
        switch principal {
        case .anonymous, .citizen:
            // citizens act on their own objects only; ownership is checked where they are loaded
            return false
        case .staff(let s):
            // any role in force allows it (the list holds only current assignments, see `StaffPrincipal`)
            if s.grants.contains(where: { RoleCatalogue.allows($0.role, grantTenant: $0.tenantARS, action, tenant: tenant) }) { return true }
            // a VG's administrators give roles in its member Gemeinden (nothing else there)
            if action == .staffManage, let tenant, s.memberTenants.contains(tenant) { return true }
            return false
        case .apiClient(let t):
            if t.scopes.contains(.operator),
               [.surveyManage, .surveyResults, .membershipDecide, .membershipView, .overviewView, .auditView].contains(action) {
                return true
            }
            if t.scopes.contains(.audit), action == .auditView { return true }
            if t.scopes.contains(.operator), [.finderManage, .serviceTextsEdit, .leitwegManage].contains(action) { return true }
            if t.scopes.contains(.finder), let tenant, tenant == t.tenantARS, [.finderManage, .serviceTextsEdit].contains(action) {
                return true
            }
            // Invoices are the municipality's own business: no operator access, only its own tokens.
            if t.scopes.contains(.rechnungen), let tenant, tenant == t.tenantARS, [.invoiceView, .invoiceExport].contains(action) {
                return true
            }
            if t.scopes.contains(.payments), let tenant, tenant == t.tenantARS, [.paymentInitiate].contains(action) { return true }
            if t.scopes.contains(.onlinedienste), t.tenantARS.count == 2, action == .servicePublish { return true }
            if t.scopes.contains(.antraege), let tenant, tenant == t.tenantARS, [.caseView, .caseExport].contains(action) {
                return true
            }
            if t.scopes.contains(.rollout), t.tenantARS.count == 2, action == .rolloutView { return true }
            if t.scopes.contains(.isms) {
                // the Land's token reads the state-wide picture, a tenant's token its own state
                if t.tenantARS.count == 2, action == .ismsOverview { return true }
                if let tenant, tenant == t.tenantARS, action == .ismsView { return true }
            }
            if t.scopes.contains(.foerderung) {
                // the Land's token reads everything and sets up programmes; a municipality's its own applications
                if t.tenantARS.count == 2 { return [.fundingView, .fundingManage].contains(action) }
                if let tenant, tenant == t.tenantARS, [.fundingView, .fundingApply].contains(action) { return true }
            }
            if t.scopes.contains(.beschaffung) {
                // the 2-digit key is the provider's purchasing; a member's token its own call-offs
                if t.tenantARS.count == 2 { return action == .procurementManage }
                if let tenant, tenant == t.tenantARS, action == .procurementOrder { return true }
            }
            if t.scopes.contains(.membership), let tenant, tenant == t.tenantARS,
               [.surveyAnswer, .membershipApply, .membershipNotice, .membershipView].contains(action) {
                return true
            }
            return false
        }
    }

    /// Tenants whose objects the principal may list; nil = all.
    static func visibleTenants(_ principal: Principal, for action: Action) -> Set<String>? {
        switch principal {
        case .anonymous, .citizen: return []
        case .staff(let s):
            if allows(principal, action, tenant: nil) { return nil }
            return Set(s.tenants.filter { allows(principal, action, tenant: $0) })
        case .apiClient(let t):
            if allows(principal, action, tenant: nil) { return nil }
            return [t.tenantARS]
        }
    }
}

extension Request {
    /// Throws 401 for anonymous callers and 403 when the policy says no.
    func authorize(_ action: Action, tenant: String? = nil) throws {
        if case .anonymous = principal { throw AppError.unauthenticated }
        guard Policy.allows(principal, action, tenant: tenant) else { throw AppError.forbidden }
    }

    func can(_ action: Action, tenant: String? = nil) -> Bool {
        Policy.allows(principal, action, tenant: tenant)
    }
}

extension QueryBuilder {
    /// The one tenant condition for tenant-owned tables: limits a query to the tenants the
    /// principal may see for `action`.
    func scoped(to principal: Principal, for action: Action, tenantField: KeyPath<Model, FieldProperty<Model, String>>) -> Self {
        guard let tenants = Policy.visibleTenants(principal, for: action) else { return self }
        return self.filter(tenantField ~~ Array(tenants))
    }
}
