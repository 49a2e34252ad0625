import Fluent
import SQLKit
import Vapor
import Finder

/// An Organisationseinheit (office) of a tenant.
final class Office: Model, @unchecked Sendable {
    static let schema = "offices"

    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "name") var name: String
    /// Bürgeramt, Ordnungsamt, Landratsamt, Verwaltungsgemeinschaft, …
    @Field(key: "kind") var kind: String
    @Field(key: "street") var street: String
    @Field(key: "postal_code") var postalCode: String
    @Field(key: "city") var city: String
    @Field(key: "visitor_address") var visitorAddress: String
    @OptionalField(key: "latitude") var latitude: Double?
    @OptionalField(key: "longitude") var longitude: Double?
    @Field(key: "phone") var phone: String
    @Field(key: "email") var email: String
    @Field(key: "website") var website: String
    /// `OpeningHours` as JSON.
    @Field(key: "opening_hours") var openingHoursJSON: String
    @Field(key: "accessibility") var accessibility: String
    @Field(key: "appointment_url") var appointmentURL: String
    /// The main office of the tenant's body: the default for services without an explicit entry.
    @Field(key: "is_main") var isMain: Bool
    @Field(key: "is_demo") var isDemo: Bool
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    var openingHours: OpeningHours {
        get { (try? JSONDecoder().decode(OpeningHours.self, from: Data(openingHoursJSON.utf8))) ?? OpeningHours() }
        set {
            let e = JSONEncoder()
            e.outputFormatting = .sortedKeys
            openingHoursJSON = (try? String(decoding: e.encode(newValue), as: UTF8.self)) ?? "{}"
        }
    }
}

/// Zuständigkeit: service × area × role → office.
final class Responsibility: Model, @unchecked Sendable {
    static let schema = "responsibilities"
    @ID(key: .id) var id: UUID?
    @Field(key: "leika_key") var leikaKey: String
    @Field(key: "area_ars") var areaARS: String
    @Field(key: "role") var role: String       // responsible | contact
    @Field(key: "office_id") var officeID: UUID
    /// Tenant that owns the entry (the office's tenant).
    @Field(key: "tenant_ars") var tenantARS: String
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

/// Text modules of a service page (XZuFi Leistungstextmodule). Statewide texts have tenant "";
/// every edit appends a new version, the newest is shown.
final class ServiceText: Model, @unchecked Sendable {
    static let schema = "service_texts"
    @ID(key: .id) var id: UUID?
    @Field(key: "leika_key") var leikaKey: String
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "module") var module: String
    @Field(key: "text") var text: String
    @OptionalField(key: "fee_min_cents") var feeMinCents: Int64?
    @OptionalField(key: "fee_max_cents") var feeMaxCents: Int64?
    @Field(key: "version") var version: Int
    @Field(key: "edited_by") var editedBy: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    init() {}
}

/// One row whose counter every change of offices or responsibilities increments, so other
/// instances notice and rebuild their in-memory index.
final class FinderState: Model, @unchecked Sendable {
    static let schema = "finder_state"
    @ID(custom: "id", generatedBy: .user) var id: Int?
    @Field(key: "version") var version: Int
    init() {}
}

/// The text modules a service page carries (XZuFi Leistungstextmodul codes in brackets).
enum TextModule: String, CaseIterable, Codable {
    case description = "beschreibung"          // 03 Volltext
    case documents = "unterlagen"              // 05 Erforderliche Unterlagen
    case fees = "kosten"                       // 09 Kosten (Gebühren)
    case deadlines = "fristen"                 // 13 Fristen
    case processingTime = "bearbeitungsdauer"  // 15 Bearbeitungsdauer
    case legalBasis = "rechtsgrundlage"        // 04 Rechtsgrundlage(n)
    case forms = "formulare"                   // 06 Formulare / Onlinedienst
    case synonyms = "synonyme"                 // Begriffe im Kontext
}

struct M009CreateFinder: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Office.schema)
            .id()
            .field("tenant_ars", .string, .required)
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("street", .string, .required)
            .field("postal_code", .string, .required)
            .field("city", .string, .required)
            .field("visitor_address", .string, .required)
            .field("latitude", .double)
            .field("longitude", .double)
            .field("phone", .string, .required)
            .field("email", .string, .required)
            .field("website", .string, .required)
            .field("opening_hours", .string, .required)
            .field("accessibility", .string, .required)
            .field("appointment_url", .string, .required)
            .field("is_main", .bool, .required)
            .field("is_demo", .bool, .required)
            .field("updated_at", .datetime)
            .create()
        try await database.schema(Responsibility.schema)
            .id()
            .field("leika_key", .string, .required)
            .field("area_ars", .string, .required)
            .field("role", .string, .required)
            .field("office_id", .uuid, .required, .references(Office.schema, "id"))
            .field("tenant_ars", .string, .required)
            .field("updated_at", .datetime)
            .create()
        try await database.schema(ServiceText.schema)
            .id()
            .field("leika_key", .string, .required)
            .field("tenant_ars", .string, .required)
            .field("module", .string, .required)
            .field("text", .string, .required)
            .field("fee_min_cents", .int64)
            .field("fee_max_cents", .int64)
            .field("version", .int, .required)
            .field("edited_by", .string, .required)
            .field("created_at", .datetime)
            .create()
        try await database.schema(FinderState.schema)
            .field("id", .int, .identifier(auto: false))
            .field("version", .int, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "offices_tenant_idx").on(Office.schema).column("tenant_ars").run()
        try await sql.create(index: "responsibilities_uq").unique().on(Responsibility.schema)
            .column("leika_key").column("area_ars").column("role").run()
        try await sql.create(index: "responsibilities_tenant_idx").on(Responsibility.schema).column("tenant_ars").run()
        try await sql.create(index: "service_texts_uq").unique().on(ServiceText.schema)
            .column("leika_key").column("tenant_ars").column("module").column("version").run()
        let state = FinderState()
        state.id = 1
        state.version = 0
        try await state.create(on: database)
    }

    func revert(on database: any Database) async throws {
        for s in [ServiceText.schema, Responsibility.schema, Office.schema, FinderState.schema] {
            try await database.schema(s).delete()
        }
    }
}
