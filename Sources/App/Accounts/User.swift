import Fluent
import SQLKit
import Vapor
import RathausCore

/// An account. Staff now; citizen and business accounts of the Servicekonto are further
/// `kind`s of the same table, so sessions, login throttling and audit work for them unchanged.
final class User: Model, @unchecked Sendable {
    static let schema = "users"

    @ID(key: .id) var id: UUID?
    @Field(key: "kind") var kind: String
    @Field(key: "email") var email: String
    @Field(key: "name") var name: String
    @Field(key: "password_hash") var passwordHash: String
    /// Legacy single role and tenant, read only by `M023CreateRoleAssignments`; roles are `RoleAssignment`s now.
    @OptionalField(key: "role") var role: String?
    @OptionalField(key: "tenant_ars") var tenantARS: String?
    /// Offices a clerk is limited to (`;`-separated ids), empty = all offices of the tenant.
    @Field(key: "office_ids") var officeIDs: String
    @OptionalField(key: "totp_secret") var totpSecret: String?
    @Field(key: "totp_enabled") var totpEnabled: Bool
    /// Last accepted TOTP time step, so a code cannot be replayed.
    @Field(key: "totp_last_step") var totpLastStep: Int
    @Field(key: "is_demo") var isDemo: Bool
    @Field(key: "disabled") var disabled: Bool
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    /// Servicekonto: when the e-mail address was confirmed (login only afterwards).
    @OptionalField(key: "email_verified_at") var emailVerifiedAt: Date?
    /// Servicekonto: highest trust level an identity provider confirmed for this account.
    @OptionalField(key: "trust_level") var trustLevel: String?
    /// Sessions started before this moment are void (password reset, deletion).
    @OptionalField(key: "sessions_valid_since") var sessionsValidSince: Date?

    init() {}

    /// A staff account; its roles are `RoleAssignment`s.
    init(email: String, name: String, passwordHash: String, isDemo: Bool = false) {
        self.kind = AccountKind.staff.rawValue
        self.email = email.lowercased()
        self.name = name
        self.passwordHash = passwordHash
        self.role = nil
        self.tenantARS = nil
        self.officeIDs = ""
        self.totpEnabled = false
        self.totpLastStep = 0
        self.isDemo = isDemo
        self.disabled = false
    }
}

struct M002CreateUsers: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(User.schema)
            .id()
            .field("kind", .string, .required)
            .field("email", .string, .required)
            .field("name", .string, .required)
            .field("password_hash", .string, .required)
            .field("role", .string)
            .field("tenant_ars", .string)
            .field("office_ids", .string, .required)
            .field("totp_secret", .string)
            .field("totp_enabled", .bool, .required)
            .field("totp_last_step", .int, .required)
            .field("is_demo", .bool, .required)
            .field("disabled", .bool, .required)
            .field("created_at", .datetime)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "users_email_uq").unique().on(User.schema).column("email").run()
        try await sql.create(index: "users_tenant_idx").on(User.schema).column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(User.schema).delete()
    }
}

/// Every login attempt, for throttling per account and per IP across all instances.
final class LoginAttempt: Model, @unchecked Sendable {
    static let schema = "login_attempts"
    @ID(key: .id) var id: UUID?
    @Field(key: "email") var email: String
    @Field(key: "ip") var ip: String
    @Field(key: "success") var success: Bool
    @Field(key: "at") var at: Date
    init() {}
    init(email: String, ip: String, success: Bool, at: Date) {
        self.email = email; self.ip = ip; self.success = success; self.at = at
    }
}

struct M004CreateLoginAttempts: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(LoginAttempt.schema)
            .id()
            .field("email", .string, .required)
            .field("ip", .string, .required)
            .field("success", .bool, .required)
            .field("at", .datetime, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "login_attempts_email_idx").on(LoginAttempt.schema).column("email").column("at").run()
        try await sql.create(index: "login_attempts_ip_idx").on(LoginAttempt.schema).column("ip").column("at").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(LoginAttempt.schema).delete()
    }
}

/// API token for machine clients: shown once, stored as SHA-256 (the token has 256 bits of
/// entropy, so a slow hash adds nothing), scoped to a tenant and permissions, revocable.
final class APIToken: Model, @unchecked Sendable {
    static let schema = "api_tokens"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "scopes") var scopes: String
    @Field(key: "token_hash") var tokenHash: String
    /// First characters, to recognise a token in lists and the audit trail.
    @Field(key: "prefix") var prefix: String
    @Field(key: "name") var name: String
    @Field(key: "created_by") var createdBy: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    init() {}

    var scopeSet: Set<Scope> { Set(scopes.split(separator: ",").compactMap { Scope(rawValue: String($0)) }) }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).hex
    }

    /// Characters kept in clear (`rh_` and 7 more) to recognise a token in lists and the audit trail.
    static let prefixLength = 10

    /// Creates a token and returns it with its clear text (to be shown once).
    static func generate(tenant: String, scopes: [Scope], name: String, createdBy: String) -> (APIToken, String) {
        let clear = "rh_" + randomURLToken()
        let t = APIToken()
        t.tenantARS = tenant
        t.scopes = scopes.map(\.rawValue).sorted().joined(separator: ",")
        t.tokenHash = hash(clear)
        t.prefix = String(clear.prefix(prefixLength))
        t.name = name
        t.createdBy = createdBy
        return (t, clear)
    }
}

struct M005CreateAPITokens: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(APIToken.schema)
            .id()
            .field("tenant_ars", .string, .required)
            .field("scopes", .string, .required)
            .field("token_hash", .string, .required)
            .field("prefix", .string, .required)
            .field("name", .string, .required)
            .field("created_by", .string, .required)
            .field("created_at", .datetime)
            .field("revoked_at", .datetime)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "api_tokens_hash_uq").unique().on(APIToken.schema).column("token_hash").run()
        try await sql.create(index: "api_tokens_tenant_idx").on(APIToken.schema).column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(APIToken.schema).delete()
    }
}
