import Fluent
import SQLKit
import Vapor
import RathausCore

/// A Leitweg-ID of a tenant: coarse address from its key, optional fine address per department or
/// municipal enterprise, check digits computed by Rathaus, bound to a receiving office.
final class LeitwegEntry: Model, @unchecked Sendable {
    static let schema = "leitweg_ids"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "leitweg_id") var leitwegID: String
    @Field(key: "label") var label: String
    @OptionalField(key: "office_id") var officeID: UUID?
    @Field(key: "active") var active: Bool
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    init() {}
}

struct M010CreateLeitwegIDs: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(LeitwegEntry.schema)
            .id()
            .field("tenant_ars", .string, .required)
            .field("leitweg_id", .string, .required)
            .field("label", .string, .required)
            .field("office_id", .uuid)
            .field("active", .bool, .required)
            .field("created_at", .datetime)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "leitweg_ids_uq").unique().on(LeitwegEntry.schema).column("leitweg_id").run()
        try await sql.create(index: "leitweg_ids_tenant_idx").on(LeitwegEntry.schema).column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(LeitwegEntry.schema).delete()
    }
}

enum LeitwegRegistry {
    /// Coarse address of a tenant (Leitweg-ID format specification): Land 2 digits, Kreis 5,
    /// Gemeinde its 8-digit AGS, an association its 9-digit regional key.
    static func coarse(for tenant: Gebiet) -> String {
        switch tenant.level {
        case "gemeinde": return tenant.ags ?? String(tenant.ars.prefix(5)) + String(tenant.ars.suffix(3))
        default: return tenant.ars
        }
    }

    static func create(_ req: Request, tenant: Gebiet, fein rawFein: String?, label rawLabel: String?, office: UUID?) async throws -> LeitwegEntry {
        let label = try TextInput.required(rawLabel, field: "bezeichnung", label: "eine Bezeichnung (Amt, Eigenbetrieb)", max: 200)
        let fein = (rawFein ?? "").trimmingCharacters(in: .whitespaces).uppercased()
        let id: LeitwegID
        do { id = try LeitwegID.make(grob: coarse(for: tenant), fein: fein.isEmpty ? nil : fein) } catch {
            throw AppError(.badRequest, error, field: "fein")
        }
        if let office {
            guard let o = try await Office.find(office, on: req.db), o.tenantARS == tenant.ars else {
                throw AppError.invalid("organisationseinheit", de: "Bitte wählen Sie eine Organisationseinheit des eigenen Mandanten.", en: "Choose an own office.")
            }
        }
        if try await LeitwegEntry.query(on: req.db).filter(\.$leitwegID == id.description).first() != nil {
            throw AppError(.conflict, "leitweg.exists", de: "Die Leitweg-ID \(id.description) ist bereits vergeben.", en: "This Leitweg-ID exists already.")
        }
        let e = LeitwegEntry()
        e.tenantARS = tenant.ars
        e.leitwegID = id.description
        e.label = label
        e.officeID = office
        e.active = true
        let tenantARS = tenant.ars
        do {
            try await req.db.transaction { db in
                try await e.create(on: db)
                try await req.audit(on: db, "leitweg.create", tenant: tenantARS, objectType: "leitweg_id", objectID: e.leitwegID, after: label)
            }
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw AppError(.conflict, "leitweg.exists", de: "Die Leitweg-ID \(id.description) ist bereits vergeben.", en: "This Leitweg-ID exists already.")
        }
        return e
    }

    static func deactivate(_ req: Request, _ e: LeitwegEntry) async throws {
        guard e.active else { return }
        try await req.db.transaction { db in
            e.active = false
            try await e.save(on: db)
            try await req.audit(on: db, "leitweg.deactivate", tenant: e.tenantARS, objectType: "leitweg_id", objectID: e.leitwegID, before: "aktiv", after: "inaktiv")
        }
    }
}

struct LeitwegDTO: Content {
    var leitwegId: String
    var mandant: String
    var mandantName: String?
    var bezeichnung: String
    var organisationseinheit: UUID?
    var aktiv: Bool
}

struct LeitwegInput: Content { var fein: String?; var bezeichnung: String?; var organisationseinheit: UUID? }

struct LeitwegCheckDTO: Content {
    var leitwegId: String
    var gueltig: Bool
    var grund: String?
    var eintrag: LeitwegDTO?
}

/// `/api/v1/leitweg-ids` (public lookup and check) and the tenant's management, API and pages.
struct LeitwegController {
    func addRoutes(api: any RoutesBuilder, web: any RoutesBuilder) {
        api.get("leitweg-ids", use: lookup)
        api.get("leitweg-ids", ":id", use: check)
        api.post("mandanten", ":ars", "leitweg-ids", use: create)
        api.post("mandanten", ":ars", "leitweg-ids", ":id", "deaktivierung", use: deactivate)
        web.get("leitweg-ids", use: lookupPage)
        web.get("mandanten", ":ars", "leitweg-ids", use: tenantPage)
        web.post("mandanten", ":ars", "leitweg-ids", use: tenantCreate)
        web.post("mandanten", ":ars", "leitweg-ids", ":id", "deaktivierung", use: tenantDeactivate)
    }

    static func dto(_ e: LeitwegEntry, name: String?) -> LeitwegDTO {
        LeitwegDTO(leitwegId: e.leitwegID, mandant: e.tenantARS, mandantName: name, bezeichnung: e.label, organisationseinheit: e.officeID, aktiv: e.active)
    }

    /// Public: the active Leitweg-IDs of a municipality (by ARS or name), so suppliers address invoices right.
    @Sendable func lookup(req: Request) async throws -> ListEnvelope<LeitwegDTO> {
        let rows = try await Self.search(req, req.queryParams["ars"], req.queryParams["name"])
        return ListEnvelope(items: rows, total: rows.count, next: nil)
    }

    static func search(_ req: Request, _ ars: String?, _ name: String?) async throws -> [LeitwegDTO] {
        var tenants: [Gebiet] = []
        if let ars, !ars.isEmpty {
            tenants = [try await Tenants.gebiet(ars, on: req.db)]
        } else if let name, !name.trimmingCharacters(in: .whitespaces).isEmpty {
            guard name.count <= 100 else { throw AppError.invalid("name", de: "Der Name ist zu lang.", en: "Name too long.") }
            var q = Gebiet.query(on: req.db).filter(\.$joinable == true)
            if let sql = req.db as? any SQLDatabase, sql.dialect.name == "postgresql" {
                q = q.filter(\.$name, .custom("ILIKE"), "%\(name)%")
            } else {
                q = q.filter(\.$name ~~ name)
            }
            tenants = try await q.limit(50).all()
        } else {
            throw AppError.invalid("ars", de: "Bitte geben Sie den Regionalschlüssel (ars) oder den Namen (name) der Kommune an.", en: "Give ars or name.")
        }
        var names: [String: String] = [:]
        for t in tenants { names[t.ars] = t.name }
        let rows = try await LeitwegEntry.query(on: req.db).filter(\.$tenantARS ~~ tenants.map(\.ars)).filter(\.$active == true)
            .sort(\.$leitwegID).all()
        return rows.map { dto($0, name: names[$0.tenantARS]) }
    }

    /// Checks a Leitweg-ID (format and check digits) and says whether it is registered and active.
    @Sendable func check(req: Request) async throws -> LeitwegCheckDTO {
        let raw = req.parameters.get("id") ?? ""
        let id: LeitwegID
        do { id = try LeitwegID(raw) } catch {
            throw AppError(.badRequest, error, field: "id")
        }
        guard let e = try await LeitwegEntry.query(on: req.db).filter(\.$leitwegID == id.description).first() else {
            throw AppError(.notFound, "leitweg.unknown", de: "Die Leitweg-ID \(id.description) ist formal gültig, aber bei keiner Kommune der Plattform vergeben. Suchen Sie die richtige unter /leitweg-ids.",
                           en: "Valid, but not registered on this platform.")
        }
        let name = try await Gebiet.find(e.tenantARS, on: req.db)?.name
        return LeitwegCheckDTO(leitwegId: id.description, gueltig: e.active, grund: e.active ? nil : "Die Leitweg-ID ist deaktiviert.", eintrag: Self.dto(e, name: name))
    }

    @Sendable func create(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.leitwegManage, tenant: tenant.ars)
        let input = try req.decodeJSON(LeitwegInput.self)
        let e = try await LeitwegRegistry.create(req, tenant: tenant, fein: input.fein, label: input.bezeichnung, office: input.organisationseinheit)
        let res = try await Self.dto(e, name: tenant.name).encodeResponse(for: req)
        res.status = .created
        return res
    }

    static func own(_ req: Request, _ tenant: Gebiet) async throws -> LeitwegEntry {
        guard let raw = req.parameters.get("id"), let e = try await LeitwegEntry.query(on: req.db).filter(\.$tenantARS == tenant.ars)
            .filter(\.$leitwegID == raw.uppercased()).first() else {
            throw AppError(.notFound, "leitweg.unknown", de: "Diese Leitweg-ID gibt es bei diesem Mandanten nicht.", en: "No such Leitweg-ID for this tenant.")
        }
        return e
    }

    @Sendable func deactivate(req: Request) async throws -> LeitwegDTO {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.leitwegManage, tenant: tenant.ars)
        let e = try await Self.own(req, tenant)
        try await LeitwegRegistry.deactivate(req, e)
        return Self.dto(e, name: tenant.name)
    }

    struct LookupView: Encodable { var q: String; var rows: [LeitwegDTO]; var searched: Bool; var hasRows: Bool }

    @Sendable func lookupPage(req: Request) async throws -> Response {
        let q = String((req.queryParams["q"] ?? "").prefix(100))
        var rows: [LeitwegDTO] = []
        if !q.trimmingCharacters(in: .whitespaces).isEmpty {
            let digits = q.allSatisfy(\.isNumber)
            do { rows = try await Self.search(req, digits ? q : nil, digits ? nil : q) } catch let e as AppError {
                return try await req.renderError("rechnungen/lookup", title: req.t("leitweg_title"), LookupView(q: q, rows: [], searched: true, hasRows: false), e)
            }
        }
        return try await req.render("rechnungen/lookup", title: req.t("leitweg_title"), LookupView(q: q, rows: rows, searched: !q.isEmpty, hasRows: !rows.isEmpty))
    }

    struct TenantView: Encodable { var tenant: GebietDTO; var coarse: String; var rows: [LeitwegDTO]; var offices: [FinderWebController.OfficeOption]; var fein: String; var bezeichnung: String }
    struct TenantForm: Content { var fein: String?; var bezeichnung: String?; var organisationseinheit: String? }

    func tenantPageResponse(_ req: Request, _ tenant: Gebiet, form: TenantForm = TenantForm(), error: AppError? = nil) async throws -> Response {
        let rows = try await LeitwegEntry.query(on: req.db).filter(\.$tenantARS == tenant.ars).sort(\.$leitwegID).all()
        let offices = try await Office.query(on: req.db).filter(\.$tenantARS == tenant.ars).sort(\.$name).all()
        let view = TenantView(tenant: GebietDTO(tenant), coarse: LeitwegRegistry.coarse(for: tenant), rows: rows.map { Self.dto($0, name: tenant.name) },
                              offices: offices.map { FinderWebController.OfficeOption(id: $0.id!.uuidString, name: $0.name) },
                              fein: form.fein ?? "", bezeichnung: form.bezeichnung ?? "")
        if let error { return try await req.renderError("rechnungen/tenant", title: req.t("leitweg_title"), view, error) }
        return try await req.render("rechnungen/tenant", title: req.t("leitweg_title"), view, form: true)
    }

    @Sendable func tenantPage(req: Request) async throws -> Response {
        let tenant = try await FinderWebController.tenant(req, for: .leitwegManage)
        return try await tenantPageResponse(req, tenant)
    }

    @Sendable func tenantCreate(req: Request) async throws -> Response {
        let tenant = try await FinderWebController.tenant(req, for: .leitwegManage)
        let form = (try? req.content.decode(TenantForm.self)) ?? TenantForm()
        do {
            _ = try await LeitwegRegistry.create(req, tenant: tenant, fein: form.fein, label: form.bezeichnung,
                                                 office: form.organisationseinheit.flatMap { $0.isEmpty ? nil : UUID(uuidString: $0) })
            return req.redirect(to: "/mandanten/\(tenant.ars)/leitweg-ids", redirectType: .normal)
        } catch let e as AppError {
            return try await tenantPageResponse(req, tenant, form: form, error: e)
        }
    }

    @Sendable func tenantDeactivate(req: Request) async throws -> Response {
        let tenant = try await FinderWebController.tenant(req, for: .leitwegManage)
        try await LeitwegRegistry.deactivate(req, try await Self.own(req, tenant))
        return req.redirect(to: "/mandanten/\(tenant.ars)/leitweg-ids", redirectType: .normal)
    }
}
