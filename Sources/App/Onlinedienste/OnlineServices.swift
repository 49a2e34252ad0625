import Fluent
import Forms
import SQLKit
import Vapor
import RathausCore

/// One published version of an online service. Versions are never changed: a new definition is
/// a new row; activations follow the newest version, drafts keep the version they started with.
final class ServiceVersion: Model, @unchecked Sendable {
    static let schema = "service_versions"
    @ID(key: .id) var id: UUID?
    @Field(key: "slug") var slug: String
    @Field(key: "version") var version: Int
    @Field(key: "leika") var leika: String
    @Field(key: "title") var title: String
    @Field(key: "definition") var definition: String
    @Field(key: "published_at") var publishedAt: Date
    @Field(key: "published_by") var publishedBy: String
    init() {}

    func decoded() throws -> ServiceDefinition {
        try JSONDecoder().decode(ServiceDefinition.self, from: Data(definition.utf8))
    }
}

/// A tenant's switch for one service: on/off, receiving office, local fee, texts and contact.
final class ServiceActivation: Model, @unchecked Sendable {
    static let schema = "service_activations"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "slug") var slug: String
    @Field(key: "active") var active: Bool
    @OptionalField(key: "office_id") var officeID: UUID?
    /// Local fee in cents replacing the state's fixed fee (nil = the state's rule).
    @OptionalField(key: "fee_cents") var feeCents: Int?
    @Field(key: "local_text") var localText: String
    @Field(key: "contact") var contact: String
    @Field(key: "updated_at") var updatedAt: Date
    @Field(key: "updated_by") var updatedBy: String
    /// When the fee is paid: `keine` (no online payment), `vor_absenden` (send only after PAYED),
    /// `nach_bescheid` (the clerk requests payment; the person pays from the postbox).
    @OptionalField(key: "fee_policy") var feePolicy: String?
    /// Booking data of this service's fees for the cash office.
    @OptionalField(key: "haushaltsstelle") var haushaltsstelle: String?
    @OptionalField(key: "kostentraeger") var kostentraeger: String?
    @OptionalField(key: "objektnummer") var objektnummer: String?
    /// Delivery through FIT-Connect instead of the in-house inbox: a destination id, or
    /// `routing` (found by LeiKa key and ARS through the Routing API). Nil = in-house inbox.
    @OptionalField(key: "fitconnect_destination") var fitConnectDestination: String?
    init() {}

    var policy: String { feePolicy ?? "keine" }

    /// A tenant's activation of a service, if it has one.
    static func of(_ tenant: String, _ slug: String, on db: any Database) async throws -> ServiceActivation? {
        try await ServiceActivation.query(on: db).filter(\.$tenantARS == tenant).filter(\.$slug == slug).first()
    }
}

struct M014CreateOnlineServices: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ServiceVersion.schema)
            .id()
            .field("slug", .string, .required)
            .field("version", .int, .required)
            .field("leika", .string, .required)
            .field("title", .string, .required)
            .field("definition", .string, .required)
            .field("published_at", .datetime, .required)
            .field("published_by", .string, .required)
            .create()
        try await database.schema(ServiceActivation.schema)
            .id()
            .field("tenant_ars", .string, .required)
            .field("slug", .string, .required)
            .field("active", .bool, .required)
            .field("office_id", .uuid)
            .field("fee_cents", .int)
            .field("local_text", .string, .required)
            .field("contact", .string, .required)
            .field("updated_at", .datetime, .required)
            .field("updated_by", .string, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "service_versions_uq").unique().on(ServiceVersion.schema).column("slug").column("version").run()
        try await sql.create(index: "service_activations_uq").unique().on(ServiceActivation.schema).column("tenant_ars").column("slug").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ServiceActivation.schema).delete()
        try await database.schema(ServiceVersion.schema).delete()
    }
}

/// Reads and publishes service definitions.
enum OnlineServiceCatalogue {
    /// The newest version of every service.
    static func latest(on db: any Database) async throws -> [ServiceVersion] {
        let all = try await ServiceVersion.query(on: db).sort(\.$slug).sort(\.$version, .descending).all()
        var seen = Set<String>()
        return all.filter { seen.insert($0.slug).inserted }
    }

    static func latest(_ slug: String, on db: any Database) async throws -> ServiceVersion? {
        try await ServiceVersion.query(on: db).filter(\.$slug == slug).sort(\.$version, .descending).first()
    }

    static func version(_ slug: String, _ version: Int, on db: any Database) async throws -> ServiceVersion? {
        try await ServiceVersion.query(on: db).filter(\.$slug == slug).filter(\.$version == version).first()
    }

    /// Checks a definition the state wants to publish: slug, LeiKa key, unique field ids, options,
    /// fee formula. Returns German messages; empty = publishable.
    static func problems(_ d: ServiceDefinition) -> [String] {
        var out: [String] = []
        if d.slug.isEmpty || d.slug.count > 60 || !d.slug.allSatisfy({ ($0.isLetter && $0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "-" }) {
            out.append("Die Kurzbezeichnung (slug) besteht aus Kleinbuchstaben, Ziffern und Bindestrichen, höchstens 60 Zeichen.")
        }
        for k in d.allLeika where (try? LeiKaKey(k)) == nil { out.append("Der LeiKa-Schlüssel „\(String(k.prefix(40)))“ ist ungültig (14 Ziffern).") }
        if (d.relatedLeika ?? []).count > 20 { out.append("Höchstens 20 weitere LeiKa-Schlüssel je Onlinedienst.") }
        if TrustLevel(rawValue: d.trustLevel) == nil { out.append("Das Vertrauensniveau muss basisregistrierung, substanziell oder hoch sein.") }
        if d.title.de.trimmingCharacters(in: .whitespaces).isEmpty { out.append("Bitte geben Sie dem Onlinedienst einen Titel.") }
        if d.form.steps.isEmpty { out.append("Das Formular hat keinen Schritt.") }
        var stepIDs = Set<String>()
        for (n, s) in d.form.steps.enumerated() {
            if s.id.isEmpty || !s.id.allSatisfy({ ($0.isLetter && $0.isASCII) || $0.isNumber || $0 == "-" || $0 == "_" }) {
                out.append("Schritt \(n + 1): Die Kennung besteht aus Buchstaben, Ziffern, - und _ (z. B. „person“).")
            } else if !stepIDs.insert(s.id).inserted { out.append("Die Schrittkennung „\(s.id)“ kommt mehrfach vor.") }
            if s.title.de.trimmingCharacters(in: .whitespaces).isEmpty { out.append("Schritt \(n + 1) hat keinen Titel.") }
            if s.fields.isEmpty { out.append("Schritt „\(s.title.de.isEmpty ? s.id : s.title.de)“ hat keine Felder.") }
        }
        var ids = Set<String>()
        var all = Set<String>()
        for (_, f) in d.form.allFields {
            if !ids.insert(f.id).inserted { out.append("Die Feldkennung „\(f.id)“ kommt mehrfach vor.") }
            all.insert(f.id)
            for sub in f.fields ?? [] { all.insert(sub.id) }
            if f.id.contains(".") || f.id.isEmpty { out.append("Die Feldkennung „\(f.id)“ darf keinen Punkt enthalten.") }
            if [.select, .radio, .checkbox].contains(f.type), d.form.options(of: f).isEmpty { out.append("Das Auswahlfeld „\(f.id)“ hat keine Antworten.") }
            if f.type == .group, (f.fields ?? []).isEmpty { out.append("Die Gruppe „\(f.id)“ hat keine Felder.") }
            if f.label.de.trimmingCharacters(in: .whitespaces).isEmpty { out.append("Das Feld „\(f.id)“ hat keine Beschriftung.") }
            for sub in f.fields ?? [] where sub.label.de.trimmingCharacters(in: .whitespaces).isEmpty { out.append("Das Feld „\(sub.id)“ hat keine Beschriftung.") }
            if let p = f.pattern, (try? NSRegularExpression(pattern: p)) == nil { out.append("Das Muster von „\(f.id)“ ist kein gültiger regulärer Ausdruck.") }
            if let p = f.pattern, let ex = f.example, let re = try? NSRegularExpression(pattern: "^(?:" + p + ")$"),
               re.firstMatch(in: ex, range: NSRange(ex.startIndex..., in: ex)) == nil {
                out.append("Das Beispiel „\(ex.prefix(40))“ von „\(f.id)“ passt nicht zum Muster.")
            }
        }
        func referenced(_ c: Condition?) -> [String] {
            switch c {
            case .equals(let f, _)?, .notEquals(let f, _)?, .oneOf(let f, _)?, .filled(let f)?: return [f]
            case .all(let l)?, .any(let l)?: return l.flatMap { referenced($0) }
            case nil: return []
            }
        }
        for (_, f) in d.form.allFields {
            for sub in [f] + (f.fields ?? []) {
                for r in referenced(sub.visibleIf) + referenced(sub.requiredIf) where !all.contains(r) {
                    out.append("Die Bedingung von „\(sub.id)“ nennt das Feld „\(r)“, das es nicht gibt.")
                }
            }
        }
        if let e = d.fee.validateDefinition(fields: all) { out.append(e) }
        if d.attachments.maxFiles < 0 || d.attachments.maxFiles > 20 || d.attachments.maxBytesPerFile > 50 * 1024 * 1024 {
            out.append("Anlagen: höchstens 20 Dateien zu je höchstens 50 MB.")
        }
        return out
    }

    /// Publishes a definition as the next version of its slug. Audited; the version number is
    /// assigned here, never taken from the input.
    static func publish(_ d: ServiceDefinition, by actor: String, actorID: String?, on db: any Database) async throws -> ServiceVersion {
        let problems = problems(d)
        guard problems.isEmpty else {
            throw AppError(.unprocessableEntity, "onlinedienst.invalid", de: problems.joined(separator: " "), en: "The service definition is not valid.")
        }
        return try await db.transaction { tx in
            let next = (try await latest(d.slug, on: tx)?.version ?? 0) + 1
            var def = d
            def.version = next
            let v = ServiceVersion()
            v.slug = d.slug
            v.version = next
            v.leika = d.leika
            v.title = d.title.de
            v.definition = String(decoding: try JSONEncoder().encode(def), as: UTF8.self)
            v.publishedAt = Date()
            v.publishedBy = actor
            try await v.create(on: tx)
            try await Audit.record(on: tx, actor: actor, actorID: actorID, tenant: nil, action: "onlinedienst.publish",
                                   objectType: "onlinedienst", objectID: d.slug, before: next > 1 ? "Version \(next - 1)" : nil, after: "Version \(next)")
            return v
        }
    }

    /// The shipped services (Resources/onlinedienste): published on first start; a shipped file
    /// that changed since is published as the next version on the next start, but only while the
    /// newest version is still the shipped one — a version the Land published itself is never
    /// overwritten by an update of the software.
    static func seed(_ app: Application) async throws {
        let dir = Bundle.module.bundleURL.appendingPathComponent("Resources/onlinedienste")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        for f in files {
            let d = try JSONDecoder().decode(ServiceDefinition.self, from: Data(contentsOf: dir.appendingPathComponent(f)))
            if let current = try await latest(d.slug, on: app.db) {
                guard current.publishedBy == shippedBy, var published = try? current.decoded() else { continue }
                published.version = d.version
                if published == d { continue }
            }
            // two instances starting at once: the unique (slug, version) index lets one win
            do { _ = try await publish(d, by: shippedBy, actorID: nil, on: app.db) } catch {
                app.logger.warning("Onlinedienst \(d.slug) nicht veröffentlicht: \(String(describing: error).prefix(200))")
            }
        }
    }

    static let shippedBy = "system:katalog"

    /// The slugs of the services shipped with the software, sorted.
    static func shippedSlugs() -> [String] {
        let dir = Bundle.module.bundleURL.appendingPathComponent("Resources/onlinedienste")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(5)) }.sorted()
    }

    /// The newest version of every service by each LeiKa key it serves (main and related keys).
    static func byLeika(on db: any Database) async throws -> [String: [ServiceVersion]] {
        var out: [String: [ServiceVersion]] = [:]
        for v in try await latest(on: db) {
            guard let d = try? v.decoded() else { continue }
            for k in d.allLeika { out[k, default: []].append(v) }
        }
        return out
    }

    /// The service a tenant offers online for a LeiKa key (the finder links to it): any service
    /// that declares the key, switched on by that tenant.
    static func offering(leika: String, tenant: String, on db: any Database) async throws -> ServiceVersion? {
        try await offering(leika: leika, tenant: tenant, index: byLeika(on: db), on: db)
    }

    static func offering(leika: String, tenant: String, index: [String: [ServiceVersion]], on db: any Database) async throws -> ServiceVersion? {
        guard let candidates = index[leika], !candidates.isEmpty else { return nil }
        let active = try await ServiceActivation.query(on: db).filter(\.$tenantARS == tenant)
            .filter(\.$slug ~~ candidates.map(\.slug)).filter(\.$active == true).all()
        // the service filed under this key first, then those that also serve it
        let offered = candidates.filter { c in active.contains { $0.slug == c.slug } }
        return offered.first { $0.leika == leika } ?? offered.first
    }

    /// Fee in cents for an activation: the tenant's local fixed fee when set, else the state's rule.
    static func fee(_ d: ServiceDefinition, activation: ServiceActivation?, answers: Answers) throws -> Int {
        if let local = activation?.feeCents { return local }
        return try d.fee.cents(for: answers)
    }
}
