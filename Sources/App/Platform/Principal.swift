import Vapor
import Fluent
import RathausCore

/// Staff roles. Citizen and business accounts (Servicekonto) are further `AccountKind`s of the
/// same `users` table and get their own roles when that feature lands.
enum Role: String, Codable, Sendable, CaseIterable {
    /// Operator admin of the shared IT provider.
    case `operator`
    /// Staff of the Land (state ministry): reads results and overviews.
    case state
    /// Administrator of one tenant (Gemeinde, VG, Kreis).
    case tenantAdmin = "tenant-admin"
    /// Sachbearbeiter: clerk of one tenant, optionally limited to offices.
    case clerk
    /// Kasse: the cash office of one tenant (payments, daily reconciliation, refunds).
    case cashOffice = "kasse"
    /// Kompetenzzentrum: staff of the state's competence centre and the provider who run events,
    /// courses and on-site visits for all municipalities (installation-wide, no tenant).
    case competenceCentre = "kompetenzzentrum"
    /// Förderung: writes the tenant's funding applications, calls off funds, submits the proof of use.
    case fundingClerk = "foerderung"
    /// Zeichnungsbefugt: the mayor or a delegate who releases applications and confirms joint projects.
    case signatory = "zeichnung"
    /// Bewilligungsbehörde: the Land's funding staff (programmes, budget, checks, decisions, payouts).
    case fundingOfficer = "bewilligung"
    /// Informationssicherheitsbeauftragte(r) of one tenant (and the deputy): the tenant's ISMS workspace.
    case isb
    /// CERT of the provider: receives every tenant's security incidents, writes their timeline, closes them (installation-wide).
    case cert
    /// Einkauf of the provider: framework agreements, catalogue, releasing members' call-offs, billing (installation-wide).
    case procurement = "einkauf"
    /// Beschaffung of one tenant: builds call-offs from the provider's frameworks, approves colleagues' call-offs.
    case procurementClerk = "beschaffung"

    /// Roles that must use a second factor.
    var requiresTOTP: Bool { self == .operator || self == .tenantAdmin }
    /// Roles bound to one tenant.
    var isTenantBound: Bool { [.tenantAdmin, .clerk, .cashOffice, .fundingClerk, .signatory, .isb, .procurementClerk].contains(self) }
}

enum AccountKind: String, Codable, Sendable {
    case staff, citizen, business
}

/// Scopes of API tokens for machine clients.
enum Scope: String, Codable, Sendable, CaseIterable {
    /// Membership and survey actions of the token's own tenant.
    case membership
    /// Operator actions: open surveys, decide applications, read all tenants, audit.
    case `operator`
    /// Read the audit trail.
    case audit
    /// Payments (XBezahldienste), for the e-payment feature.
    case payments
    /// Offices, responsibilities and local service texts of the token's tenant (Zuständigkeitsfinder).
    case finder
    /// Received e-invoices of the token's tenant: list, download, acknowledge (finance software).
    case rechnungen
    /// Submitted applications (Anträge) of the token's tenant: fetch, acknowledge, post status (specialist software).
    case antraege
    /// Publish online services to the catalogue; only for tokens of the Land (tenant = the Land's 2-digit key).
    case onlinedienste
    /// Read `/metrics` (Prometheus); nothing else.
    case metrics
    /// Funding: a municipality's specialist software reads and writes its applications; a token of
    /// the Land (2-digit key) reads all and sets up programmes and calls.
    case foerderung
    /// The roll-out monitor's export; only for tokens of the Land (2-digit key).
    case rollout
    /// The ISMS state: a tenant's own (`/api/v1/isms/stand`); a Land or operator token the overview.
    case isms
    /// Procurement: a municipality's software reads frameworks and writes its call-offs; a token of
    /// the 2-digit key is the provider's purchasing (frameworks, catalogue, all call-offs).
    case beschaffung
}

/// Who is acting on this request.
enum Principal: Sendable {
    case anonymous
    case staff(StaffPrincipal)
    /// A person or business with a Servicekonto. Acts only on its own objects (ownership is
    /// checked where the object is loaded: `Application.ownedBy`), never on a tenant's.
    case citizen(CitizenPrincipal)
    case apiClient(TokenPrincipal)

    /// Label written into the audit trail.
    var auditActor: String {
        switch self {
        case .anonymous: "anonym"
        case .staff(let s): "user:\(s.email)"
        case .citizen(let c): "konto:\(c.email)"
        case .apiClient(let t): "token:\(t.prefix)"
        }
    }

    var actorID: String? {
        switch self {
        case .anonymous: nil
        case .staff(let s): s.userID.uuidString
        case .citizen(let c): c.userID.uuidString
        case .apiClient(let t): t.tokenID.uuidString
        }
    }

    var staff: StaffPrincipal? {
        if case .staff(let s) = self { return s }
        return nil
    }

    var citizen: CitizenPrincipal? {
        if case .citizen(let c) = self { return c }
        return nil
    }

    var token: TokenPrincipal? {
        if case .apiClient(let t) = self { return t }
        return nil
    }
}

struct StaffPrincipal: Sendable {
    let userID: UUID
    let email: String
    let name: String
    /// The assignments in force for this request (ended or future ones are not loaded).
    let grants: [RoleGrant]
    /// Member Gemeinden of the Verwaltungsgemeinschaften this person administers.
    let memberTenants: Set<String>
    /// The tenant the person acts for (chosen in the header when they hold roles in several).
    let tenantARS: String?
    let isDemo: Bool

    /// Tenants the person holds a role for (the Land's key for Land staff), in a stable order.
    var tenants: [String] { Array(Set(grants.compactMap(\.tenantARS))).sorted() }

    /// The role that names the person for the acting tenant (the highest-ranking one).
    var role: Role {
        let here = grants.filter { !$0.role.isTenantBound || $0.tenantARS == tenantARS }.map(\.role)
        return RoleCatalogue.rank.first { here.contains($0) } ?? RoleCatalogue.rank.first { r in grants.contains { $0.role == r } } ?? .clerk
    }

    /// All roles held for the acting tenant (and the tenant-independent ones), for the header.
    var rolesHere: [Role] {
        let here = Set(grants.filter { !$0.role.isTenantBound || $0.tenantARS == tenantARS }.map(\.role))
        return RoleCatalogue.rank.filter { here.contains($0) }
    }

    /// The tenant a person acts for: the chosen one if they hold a role there, otherwise their first.
    static func actingTenant(_ grants: [RoleGrant], chosen: String?) -> String? {
        let bound = Set(grants.compactMap { $0.role.isTenantBound ? $0.tenantARS : nil })
        if let chosen, bound.contains(chosen) { return chosen }
        // otherwise where the person holds their highest-ranking role (the mayor's own town before the VG's clerk work)
        for r in RoleCatalogue.rank {
            if let t = grants.filter({ $0.role == r && $0.role.isTenantBound }).compactMap(\.tenantARS).sorted().first { return t }
        }
        return grants.first { $0.role == .state }?.tenantARS
    }
}

struct CitizenPrincipal: Sendable {
    let userID: UUID
    let email: String
    let name: String
    let kind: AccountKind
    /// Trust level of this login (not of the account): a password login is `basisregistrierung`,
    /// an identification through an identity provider raises it for the session.
    let trustLevel: TrustLevel
}

struct TokenPrincipal: Sendable {
    let tokenID: UUID
    let prefix: String
    let tenantARS: String
    let scopes: Set<Scope>
}

struct PrincipalKey: StorageKey {
    typealias Value = Principal
}

extension Request {
    var principal: Principal {
        get { storage[PrincipalKey.self] ?? .anonymous }
        set { storage[PrincipalKey.self] = newValue }
    }
}
