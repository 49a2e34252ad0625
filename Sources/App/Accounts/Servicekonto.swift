import Fluent
import SQLKit
import Vapor
import RathausCore

/// Single-use links sent by mail: e-mail verification, password reset, a guest's draft.
/// Only the SHA-256 of the token is stored; a token expires and can be used once.
final class AccountToken: Model, @unchecked Sendable {
    static let schema = "account_tokens"
    @ID(key: .id) var id: UUID?
    @Field(key: "user_id") var userID: UUID
    @Field(key: "purpose") var purpose: String        // verify | reset | invite | draft (then user_id holds the draft's id)
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "used_at") var usedAt: Date?
    @Field(key: "created_at") var createdAt: Date
    init() {}

    enum Purpose: String { case verify, reset, invite, draft }

    /// Creates a token row and returns the clear token for the link.
    static func issue(on db: any Database, user: UUID, purpose: Purpose, lifetime: TimeInterval) async throws -> String {
        let clear = randomToken()
        let t = AccountToken()
        t.userID = user
        t.purpose = purpose.rawValue
        t.tokenHash = APIToken.hash(clear)
        t.expiresAt = Date().addingTimeInterval(lifetime)
        t.createdAt = Date()
        try await t.create(on: db)
        return clear
    }

    /// Marks a valid token used (atomically: a second use in parallel finds it used) and returns its user.
    static func redeem(on db: any Database, _ clear: String, purpose: Purpose) async throws -> UUID? {
        guard clear.count >= 20, clear.count <= 100 else { return nil }
        let hash = APIToken.hash(clear)
        guard let t = try await AccountToken.query(on: db).filter(\.$tokenHash == hash).filter(\.$purpose == purpose.rawValue).first(),
              t.usedAt == nil, t.expiresAt > Date(), let id = t.id else { return nil }
        let sql = db as! any SQLDatabase
        struct Row: Decodable { let user_id: UUID }
        let rows = try await sql.raw("UPDATE account_tokens SET used_at = \(bind: Date()) WHERE id = \(bind: id) AND used_at IS NULL RETURNING user_id")
            .all(decoding: Row.self)
        return rows.first?.user_id
    }

    static func randomToken() -> String { randomURLToken() }
}

/// Profile data a person may let services prefill (only with consent per service).
final class Profile: Model, @unchecked Sendable {
    static let schema = "profiles"
    @ID(key: .id) var id: UUID?
    @Field(key: "user_id") var userID: UUID
    @Field(key: "vorname") var vorname: String
    @Field(key: "nachname") var nachname: String
    @Field(key: "geburtsdatum") var geburtsdatum: String
    @Field(key: "strasse") var strasse: String
    @Field(key: "hausnummer") var hausnummer: String
    @Field(key: "plz") var plz: String
    @Field(key: "ort") var ort: String
    @Field(key: "telefon") var telefon: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}

    static func empty(_ user: UUID) -> Profile {
        let p = Profile()
        p.userID = user; p.vorname = ""; p.nachname = ""; p.geburtsdatum = ""; p.strasse = ""; p.hausnummer = ""
        p.plz = ""; p.ort = ""; p.telefon = ""; p.updatedAt = Date()
        return p
    }

    /// The value a form field with `prefill: key` receives.
    func value(_ key: String) -> AnswerSeed? {
        switch key {
        case "vorname": vorname.isEmpty ? nil : .text(vorname)
        case "nachname": nachname.isEmpty ? nil : .text(nachname)
        case "geburtsdatum": geburtsdatum.isEmpty ? nil : .text(geburtsdatum)
        case "telefon": telefon.isEmpty ? nil : .text(telefon)
        case "anschrift": strasse.isEmpty ? nil : .record(["strasse": strasse, "hausnummer": hausnummer, "plz": plz, "ort": ort])
        default: nil
        }
    }

    enum AnswerSeed { case text(String), record([String: String]) }
}

/// A person's consent that one online service may prefill its form from the profile.
final class Consent: Model, @unchecked Sendable {
    static let schema = "consents"
    @ID(key: .id) var id: UUID?
    @Field(key: "user_id") var userID: UUID
    @Field(key: "service_slug") var serviceSlug: String
    @Field(key: "granted_at") var grantedAt: Date
    @OptionalField(key: "withdrawn_at") var withdrawnAt: Date?
    init() {}
}

/// A business account (Unternehmenskonto): a company with several member accounts and roles.
final class Organisation: Model, @unchecked Sendable {
    static let schema = "organisations"
    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "register_number") var registerNumber: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

final class OrganisationMember: Model, @unchecked Sendable {
    static let schema = "organisation_members"
    @ID(key: .id) var id: UUID?
    @Field(key: "organisation_id") var organisationID: UUID
    @Field(key: "user_id") var userID: UUID
    /// `inhaber` (manages members) or `mitglied` (applies on behalf of the company).
    @Field(key: "role") var role: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

struct M013CreateServicekonto: AsyncMigration {
    func prepare(on database: any Database) async throws {
        // one column per update: SQLite cannot add several in one statement
        try await database.schema(User.schema).field("email_verified_at", .datetime).update()
        try await database.schema(User.schema).field("trust_level", .string).update()
        try await database.schema(User.schema).field("sessions_valid_since", .datetime).update()
        try await database.schema(AccountToken.schema)
            .id()
            .field("user_id", .uuid, .required)
            .field("purpose", .string, .required)
            .field("token_hash", .string, .required)
            .field("expires_at", .datetime, .required)
            .field("used_at", .datetime)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema(Profile.schema)
            .id()
            .field("user_id", .uuid, .required)
            .field("vorname", .string, .required)
            .field("nachname", .string, .required)
            .field("geburtsdatum", .string, .required)
            .field("strasse", .string, .required)
            .field("hausnummer", .string, .required)
            .field("plz", .string, .required)
            .field("ort", .string, .required)
            .field("telefon", .string, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await database.schema(Consent.schema)
            .id()
            .field("user_id", .uuid, .required)
            .field("service_slug", .string, .required)
            .field("granted_at", .datetime, .required)
            .field("withdrawn_at", .datetime)
            .create()
        try await database.schema(Organisation.schema)
            .id()
            .field("name", .string, .required)
            .field("register_number", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema(OrganisationMember.schema)
            .id()
            .field("organisation_id", .uuid, .required)
            .field("user_id", .uuid, .required)
            .field("role", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "account_tokens_hash_uq").unique().on(AccountToken.schema).column("token_hash").run()
        try await sql.create(index: "profiles_user_uq").unique().on(Profile.schema).column("user_id").run()
        try await sql.create(index: "consents_user_idx").on(Consent.schema).column("user_id").run()
        try await sql.create(index: "org_members_uq").unique().on(OrganisationMember.schema).column("organisation_id").column("user_id").run()
        try await sql.create(index: "org_members_user_idx").on(OrganisationMember.schema).column("user_id").run()
    }

    func revert(on database: any Database) async throws {
        for s in [OrganisationMember.schema, Organisation.schema, Consent.schema, Profile.schema, AccountToken.schema] {
            try await database.schema(s).delete()
        }
    }
}
