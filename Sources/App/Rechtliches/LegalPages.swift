import Fluent
import SQLKit
import Vapor

/// The pages every public site must have: Impressum, Datenschutzerklärung, Erklärung zur
/// Barrierefreiheit (with the feedback mechanism and the enforcement procedure, § 12b BGG / BITV 2.0),
/// Leichte Sprache for the start page and the finder, and a page for sign-language videos.
/// Texts are kept per installation (operator) and per tenant where the tenant is the controller;
/// every save is a new version (audited). Until someone writes one, a built-in demo text is shown,
/// marked as demo.
enum LegalKind: String, CaseIterable, Codable, Sendable {
    case impressum, datenschutz, barrierefreiheit, leichteSprache = "leichte-sprache", gebaerdensprache

    var path: String { rawValue }
    func title(_ lang: Lang) -> String {
        switch (self, lang) {
        case (.impressum, .de): return "Impressum"
        case (.impressum, .en): return "Legal notice"
        case (.datenschutz, .de): return "Datenschutzerklärung"
        case (.datenschutz, .en): return "Privacy notice"
        case (.barrierefreiheit, .de): return "Erklärung zur Barrierefreiheit"
        case (.barrierefreiheit, .en): return "Accessibility statement"
        case (.leichteSprache, .de): return "Leichte Sprache"
        case (.leichteSprache, .en): return "Easy language"
        case (.gebaerdensprache, .de): return "Gebärdensprache"
        case (.gebaerdensprache, .en): return "Sign language"
        }
    }
}

final class LegalText: Model, @unchecked Sendable {
    static let schema = "legal_texts"
    @ID(key: .id) var id: UUID?
    /// "" = the whole installation (operator); else the tenant's ARS.
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "kind") var kind: String
    @Field(key: "lang") var lang: String
    @Field(key: "version") var version: Int
    @Field(key: "body") var body: String
    /// Sign-language page: one video link per line ("Titel | https://…").
    @Field(key: "updated_at") var updatedAt: Date
    @Field(key: "updated_by") var updatedBy: String
    init() {}
}

final class AccessibilityFeedback: Model, @unchecked Sendable {
    static let schema = "accessibility_feedback"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "page") var page: String
    @Field(key: "message") var message: String
    @Field(key: "contact") var contact: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
}

struct M021CreateLegalTexts: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(LegalText.schema)
            .id()
            .field("tenant_ars", .string, .required)
            .field("kind", .string, .required)
            .field("lang", .string, .required)
            .field("version", .int, .required)
            .field("body", .string, .required)
            .field("updated_at", .datetime, .required)
            .field("updated_by", .string, .required)
            .create()
        try await database.schema(AccessibilityFeedback.schema)
            .id()
            .field("tenant_ars", .string, .required)
            .field("page", .string, .required)
            .field("message", .string, .required)
            .field("contact", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        // two editors saving at once: one version number each, never the same twice
        try await sql.create(index: "legal_texts_uq").unique().on(LegalText.schema)
            .column("tenant_ars").column("kind").column("lang").column("version").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(AccessibilityFeedback.schema).delete()
        try await database.schema(LegalText.schema).delete()
    }
}

enum LegalTexts {
    struct Current { var body: String; var version: Int; var isDemo: Bool; var tenantARS: String; var updatedAt: Date? }

    /// The text shown: the tenant's own (when asked for a tenant and it has one), else the
    /// installation's, else the built-in demo text.
    static func current(_ kind: LegalKind, lang: Lang, tenant: String?, on db: any Database) async throws -> Current {
        for t in [tenant, ""].compactMap({ $0 }) {
            for l in lang == .en ? ["en", "de"] : ["de"] {
                if let row = try await LegalText.query(on: db).filter(\.$tenantARS == t).filter(\.$kind == kind.rawValue)
                    .filter(\.$lang == l).sort(\.$version, .descending).first() {
                    return Current(body: row.body, version: row.version, isDemo: false, tenantARS: t, updatedAt: row.updatedAt)
                }
            }
        }
        return Current(body: LegalDefaults.text(kind, lang: lang), version: 0, isDemo: true, tenantARS: "", updatedAt: nil)
    }

    /// Saves the next version. Audited.
    static func save(_ req: Request, kind: LegalKind, lang: String, tenant: String, body: String) async throws {
        let actor = req.principal.auditActor
        try await req.db.transaction { db in
            let last = try await LegalText.query(on: db).filter(\.$tenantARS == tenant).filter(\.$kind == kind.rawValue)
                .filter(\.$lang == lang).sort(\.$version, .descending).first()
            let row = LegalText()
            row.tenantARS = tenant; row.kind = kind.rawValue; row.lang = lang; row.version = (last?.version ?? 0) + 1
            row.body = body; row.updatedAt = Date(); row.updatedBy = actor
            try await row.create(on: db)
            try await req.audit(on: db, "rechtstext.save", tenant: tenant.isEmpty ? nil : tenant, objectType: "rechtstext",
                                objectID: "\(kind.rawValue)/\(lang)", before: last.map { "Version \($0.version)" }, after: "Version \(row.version)")
        }
    }

    /// Paragraphs of plain text; a line "## Überschrift" is a heading. Leaf escapes everything, so
    /// editors cannot inject markup.
    struct Block: Encodable { var heading: Bool; var text: String }
    static func blocks(_ body: String) -> [Block] {
        body.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n").compactMap { para in
            let p = para.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !p.isEmpty else { return nil }
            if p.hasPrefix("## ") { return Block(heading: true, text: String(p.dropFirst(3))) }
            return Block(heading: false, text: p)
        }
    }

    /// Sign-language page lines "Titel | https://…" → links (https only).
    struct Video: Encodable { var title: String; var url: String }
    static func videos(_ body: String) -> [Video] {
        body.split(whereSeparator: \.isNewline).compactMap { line in
            let parts = line.split(separator: "|", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[1].hasPrefix("https://"), !parts[1].contains(" ") else { return nil }
            return Video(title: parts[0], url: parts[1])
        }
    }
}
