import Fluent
import SQLKit
import Vapor
import RathausCore

/// One role of one person for one tenant, optionally limited in time (a deputy during holidays:
/// Vertretung). A person holds any number of them; the `Policy` asks whether any *current*
/// assignment allows an action, so an assignment whose end has passed stops working the same
/// second, without a job having to remove it.
final class RoleAssignment: Model, @unchecked Sendable {
    static let schema = "role_assignments"
    @ID(key: .id) var id: UUID?
    @Field(key: "user_id") var userID: UUID
    @Field(key: "role") var role: String
    /// ARS of the tenant; nil for the operator (the installation itself). The Land's staff act for the Land's key.
    @OptionalField(key: "tenant_ars") var tenantARS: String?
    /// Start (inclusive) and end (exclusive) as instants; nil = open.
    @OptionalField(key: "valid_from") var validFrom: Date?
    @OptionalField(key: "valid_until") var validUntil: Date?
    /// For a deputy: whom they stand in for (free text, shown in the staff list).
    @Field(key: "note") var note: String
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}

    init(userID: UUID, role: Role, tenantARS: String?, validFrom: Date? = nil, validUntil: Date? = nil, note: String = "", createdBy: String) {
        self.userID = userID
        self.role = role.rawValue
        self.tenantARS = tenantARS
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.note = note
        self.createdBy = createdBy
        self.createdAt = Date()
    }

    var grant: RoleGrant? {
        Role(rawValue: role).map { RoleGrant(role: $0, tenantARS: tenantARS, validFrom: validFrom, validUntil: validUntil) }
    }

    /// Every assignment of a person, current or not.
    static func all(of user: UUID, on db: any Database) async throws -> [RoleGrant] {
        try await RoleAssignment.query(on: db).filter(\.$userID == user).all().compactMap(\.grant)
    }

    /// The assignments that are in force at `now`.
    static func current(of user: UUID, on db: any Database, now: Date = Date()) async throws -> [RoleGrant] {
        try await all(of: user, on: db).filter { $0.isCurrent(at: now) }
    }
}

/// A role for a tenant as the policy sees it.
struct RoleGrant: Sendable, Hashable {
    let role: Role
    let tenantARS: String?
    var validFrom: Date? = nil
    var validUntil: Date? = nil

    func isCurrent(at now: Date) -> Bool {
        (validFrom.map { $0 <= now } ?? true) && (validUntil.map { now < $0 } ?? true)
    }
}

/// The one catalogue of staff roles: what each role may do, whether it needs a second factor,
/// and who may hand it out. `Policy` decides with it; the staff pages offer what it allows.
enum RoleCatalogue {
    /// Actions a tenant-bound role allows on objects of its own tenant.
    static func tenantActions(_ role: Role) -> Set<Action> {
        switch role {
        case .tenantAdmin:
            [.surveyAnswer, .membershipApply, .membershipNotice, .membershipView, .tokensManage, .finderManage, .serviceTextsEdit,
             .leitwegManage, .invoiceView, .invoiceDecide, .invoiceSettings, .serviceActivate, .caseView, .caseHandle, .paymentView,
             .paymentSettings, .legalTextsEdit, .staffManage, .letterheadEdit, .eventRegister, .tenantTraining, .fundingView, .fundingApply, .cockpitView,
             .ismsView, .ismsEdit, .ismsIncidentReport, .procurementOrder, .procurementApprove, .procurementSettings]
        case .procurementClerk:
            [.membershipView, .procurementOrder, .procurementApprove, .eventRegister, .ismsIncidentReport]
        case .clerk:
            [.membershipView, .invoiceView, .invoiceDecide, .caseView, .caseHandle, .paymentRefund, .eventRegister, .ismsIncidentReport]
        case .cashOffice:
            [.paymentView, .paymentRefund, .caseView, .eventRegister, .ismsIncidentReport]
        case .fundingClerk:
            [.fundingView, .fundingApply, .eventRegister, .ismsIncidentReport]
        case .signatory:
            [.fundingView, .fundingSign, .eventRegister, .ismsIncidentReport]
        case .isb:
            [.ismsView, .ismsEdit, .eventRegister, .membershipView, .ismsIncidentReport]
        case .operator, .state, .competenceCentre, .fundingOfficer, .cert, .procurement:
            []
        }
    }

    /// Does one role, held for `grantTenant`, allow `action` on an object of `tenant`?
    static func allows(_ role: Role, grantTenant: String?, _ action: Action, tenant: String?) -> Bool {
        switch role {
        case .operator:
            // the installation's legal texts; a municipality writes its own
            if action == .legalTextsEdit { return tenant == nil }
            // the operator sets up the first administrators of a tenant and the operator's own staff
            if action == .staffManage { return true }
            // the operator decides, it does not speak for a municipality,
            // and it does not read the municipalities' invoices or their citizens' applications; events and visits are
            // the competence centre's work (its own role), the operator sees their reach
            return ![.surveyAnswer, .membershipApply, .membershipNotice, .invoiceView, .invoiceDecide, .invoiceSettings, .invoiceExport,
                     .serviceActivate, .caseView, .caseHandle, .caseExport, .servicePublish,
                     .paymentInitiate, .paymentView, .paymentRefund, .paymentSettings, .letterheadEdit,
                     .eventRegister, .tenantTraining, .eventsManage,
                     // the provider's advisors see every funding case and comment; the Land decides
                     .fundingApply, .fundingSign, .fundingManage, .fundingDecide, .cockpitView,
                     // the provider is not the municipality's ISB: it declares its own controls and sees the
                     // state-wide picture, a tenant's answers stay the tenant's
                     .ismsView, .ismsEdit,
                     // incidents are reported by the municipality and handled by the CERT (its own role)
                     .ismsIncidentReport, .ismsIncidentHandle,
                     // purchasing is its own role; the member orders and approves for itself
                     .procurementManage, .procurementOrder, .procurementApprove, .procurementSettings].contains(action)
        case .procurement:
            // the provider's purchasing: frameworks, catalogue, releases and billing for every member
            return action == .procurementManage
        case .competenceCentre:
            // runs events and visits for every municipality and sees their reach; nothing else
            return [.eventsManage, .reachView].contains(action)
        case .cert:
            // the provider's CERT sees every tenant's incidents (and the state-wide picture they feed)
            return [.ismsIncidentHandle, .ismsOverview].contains(action)
        case .state:
            // the state's editors maintain the statewide service texts
            if action == .serviceTextsEdit && tenant == nil { return true }
            // the state builds online services once for all ("Einer für Alle")
            if action == .servicePublish { return true }
            // the Land manages its own staff
            if action == .staffManage { return tenant != nil && tenant == grantTenant }
            // the Land imports check catalogues and sees the state-wide ISMS picture, no tenant's details
            return [.surveyResults, .overviewView, .membershipView, .reachView, .fundingView, .rolloutView, .ismsManage, .ismsOverview].contains(action)
        case .fundingOfficer:
            // the Bewilligungsbehörde: all applications of the state, its programmes and budget
            return [.fundingView, .fundingManage, .fundingDecide].contains(action)
        case .tenantAdmin, .clerk, .cashOffice, .fundingClerk, .signatory, .isb, .procurementClerk:
            guard let tenant, tenant == grantTenant else { return false }
            return tenantActions(role).contains(action)
        }
    }

    /// Roles that may be held for a tenant of this kind: the installation (nil), the Land (2 digits), any other tenant.
    static func roles(for tenant: String?) -> [Role] {
        guard let tenant else { return [.operator, .competenceCentre, .cert, .procurement] }
        // the Land has its staff and a cash office (it collects the competence centre's fees)
        return tenant.count == 2 ? [.state, .cashOffice, .fundingOfficer] : [.tenantAdmin, .clerk, .cashOffice, .fundingClerk, .signatory, .isb, .procurementClerk]
    }

    /// May someone holding `grants` (and administering the members of a Verwaltungsgemeinschaft
    /// `memberTenants`) give `role` for `tenant`? Only the operator creates operators, only the Land
    /// creates Land staff, a tenant admin hands out the roles of its tenant (and of the member
    /// Gemeinden of its VG, so VG staff can work for them).
    static func mayGrant(_ grants: [RoleGrant], memberTenants: Set<String>, role: Role, tenant: String?) -> Bool {
        guard roles(for: tenant).contains(role) else { return false }
        switch role {
        case .operator, .competenceCentre, .cert, .procurement:
            return grants.contains { $0.role == .operator }
        case .state, .fundingOfficer:
            return grants.contains { $0.role == .state && $0.tenantARS == tenant }
        case .tenantAdmin, .clerk, .cashOffice, .fundingClerk, .signatory, .isb, .procurementClerk:
            guard let tenant else { return false }
            return grants.contains { $0.role == .operator || ($0.role == .tenantAdmin && $0.tenantARS == tenant)
                || (role == .cashOffice && $0.role == .state && $0.tenantARS == tenant) }
                || memberTenants.contains(tenant)
        }
    }

    /// Order in which a person's roles name them in the header and choose their start page.
    static let rank: [Role] = [.operator, .state, .fundingOfficer, .competenceCentre, .cert, .procurement, .tenantAdmin, .clerk, .cashOffice, .signatory, .fundingClerk, .isb, .procurementClerk]
}

/// Carries every staff account's single role over to an assignment; the old `role` and
/// `tenant_ars` columns stay (SQLite cannot drop columns portably) but are no longer read.
struct M023CreateRoleAssignments: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(RoleAssignment.schema)
            .id()
            .field("user_id", .uuid, .required)
            .field("role", .string, .required)
            .field("tenant_ars", .string)
            .field("valid_from", .datetime)
            .field("valid_until", .datetime)
            .field("note", .string, .required)
            .field("created_by", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "role_assignments_user_idx").on(RoleAssignment.schema).column("user_id").run()
        try await sql.create(index: "role_assignments_tenant_idx").on(RoleAssignment.schema).column("tenant_ars").run()
        for u in try await User.query(on: database).filter(\.$kind == AccountKind.staff.rawValue).all() {
            guard let id = u.id, let roleName = u.role, let role = Role(rawValue: roleName) else { continue }
            let a = RoleAssignment(userID: id, role: role, tenantARS: role == .operator ? nil : u.tenantARS, createdBy: "migration:M023")
            a.createdAt = u.createdAt ?? Date()
            try await a.create(on: database)
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema(RoleAssignment.schema).delete()
    }
}
