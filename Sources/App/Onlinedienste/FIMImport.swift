import FIM
import Fluent
import Forms
import Foundation
import RathausCore
import SQLKit
import Vapor

/// One import of a FIM XDatenfelder schema by the Land: the draft online service it became and
/// the report (every element and what became of it). Publishing turns the draft into the next
/// version of the service in the catalogue (same path as the designer).
final class FIMImportRecord: Model, @unchecked Sendable {
    static let schema = "fim_imports"
    @ID(key: .id) var id: UUID?
    @Field(key: "schema_id") var schemaID: String
    @Field(key: "schema_version") var schemaVersion: String
    @Field(key: "xdf_version") var xdfVersion: String
    @Field(key: "slug") var slug: String
    @Field(key: "title") var title: String
    @Field(key: "definition") var definition: String
    @Field(key: "findings") var findings: String
    @Field(key: "error_count") var errorCount: Int
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "created_by") var createdBy: String
    @OptionalField(key: "published_version") var publishedVersion: Int?
    init() {}

    var decodedFindings: [ImportFinding] { (try? JSONDecoder().decode([ImportFinding].self, from: Data(findings.utf8))) ?? [] }
    func decodedDefinition() throws -> ServiceDefinition { try JSONDecoder().decode(ServiceDefinition.self, from: Data(definition.utf8)) }
}

struct M041CreateFIMImports: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(FIMImportRecord.schema)
            .id()
            .field("schema_id", .string, .required)
            .field("schema_version", .string, .required)
            .field("xdf_version", .string, .required)
            .field("slug", .string, .required)
            .field("title", .string, .required)
            .field("definition", .string, .required)
            .field("findings", .string, .required)
            .field("error_count", .int, .required)
            .field("created_at", .datetime, .required)
            .field("created_by", .string, .required)
            .field("published_version", .int)
            .create()
    }
    func revert(on database: any Database) async throws { try await database.schema(FIMImportRecord.schema).delete() }
}

/// The import itself, shared by the page and the API: read strictly, resolve code lists, build
/// the draft, store it with its report (audited). Nothing is written when the message is refused.
enum FIMImportService {
    static let maxCodeLists = 60

    struct Input {
        var schema: Data
        var codeLists: [(name: String, data: Data)]
        var slug: String
        var leika: String
        var trustLevel: String
    }

    static func run(_ input: Input, req: Request) async throws(XDFImportError) -> FIMImportRecord {
        guard input.codeLists.count <= maxCodeLists else { throw XDFImportError("codelisten", line: 0, "Höchstens \(maxCodeLists) Codelisten je Import.") }
        var lists: [GenericodeList] = []
        for f in input.codeLists { lists.append(try GenericodeList.parse(f.data, fileName: String(f.name.prefix(100)))) }
        let (schema, readFindings) = try XDFReader.read(input.schema)
        let slug = input.slug.isEmpty ? "fim-\(schema.id.lowercased())" : input.slug
        var result = FIMFormBuilder(codeLists: lists).build(schema, slug: slug, leika: input.leika, trustLevel: input.trustLevel)
        result.findings = readFindings + result.findings
        let record = FIMImportRecord()
        record.schemaID = schema.id
        record.schemaVersion = schema.version
        record.xdfVersion = schema.xdfVersion.rawValue
        record.slug = slug
        record.title = String(schema.title.prefix(300))
        record.definition = String(decoding: (try? JSONEncoder().encode(result.service)) ?? Data(), as: UTF8.self)
        record.findings = String(decoding: (try? JSONEncoder().encode(result.findings)) ?? Data("[]".utf8), as: UTF8.self)
        record.errorCount = result.findings.filter { $0.severity == .error }.count
        record.createdAt = Date()
        record.createdBy = req.principal.auditActor
        let actor = req.principal
        do {
            try await req.application.writeTransaction { db in
                try await record.create(on: db)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "onlinedienst.fim_import",
                                       objectType: "onlinedienst", objectID: slug, before: nil,
                                       after: "\(schema.id) V\(schema.version) (XDatenfelder \(schema.xdfVersion.rawValue)), \(record.errorCount) Fehler")
            }
        } catch {
            throw XDFImportError("speichern", line: 0, "Der Import konnte nicht gespeichert werden. Bitte versuchen Sie es erneut.")
        }
        return record
    }

    /// Problems that keep the draft from being published: error findings and the catalogue's checks.
    static func problems(_ r: FIMImportRecord) -> [String] {
        guard let d = try? r.decodedDefinition() else { return ["Der Entwurf ist nicht lesbar."] }
        return OnlineServiceCatalogue.problems(d)
    }
}

struct FIMImportController {
    func addRoutes(api: any RoutesBuilder, web: any RoutesBuilder) {
        api.on(.POST, "onlinedienste", "import", "xdatenfelder", body: .collect(maxSize: "12mb"), use: apiImport)
        web.get("land", "onlinedienste", "fim", use: page)
        web.on(.POST, "land", "onlinedienste", "fim", body: .collect(maxSize: "12mb"), use: upload)
        web.get("land", "onlinedienste", "fim", ":id", use: report)
        web.post("land", "onlinedienste", "fim", ":id", "veroeffentlichen", use: publish)
    }

    struct Opt: Encodable { var value: String; var label: String; var selected: Bool }
    struct ImportRow: Encodable { var id: String; var title: String; var schema: String; var at: String; var by: String; var errors: Int; var published: String }
    struct PageView: Encodable {
        var slug: String; var leika: String; var levels: [Opt]; var imports: [ImportRow]; var hasImports: Bool
        var refused: [FindingRow]; var hasRefused: Bool
    }
    struct FindingRow: Encodable { var element: String; var line: String; var message: String; var kind: String; var css: String }

    static func rows(_ fs: [ImportFinding], en: Bool) -> [FindingRow] {
        fs.map { f in
            let kind: String
            switch f.severity {
            case .error: kind = en ? "Error" : "Fehler"
            case .warning: kind = en ? "Note" : "Hinweis"
            case .info: kind = en ? "Imported" : "Übernommen"
            }
            return FindingRow(element: f.element, line: f.line > 0 ? "\(f.line)" : "–", message: f.message, kind: kind, css: f.severity.rawValue)
        }
    }

    func view(_ req: Request, slug: String = "", leika: String = "", level: String = "basisregistrierung", refused: [ImportFinding] = []) async throws -> PageView {
        let recent = try await FIMImportRecord.query(on: req.db).sort(\.$createdAt, .descending).limit(20).all()
        let en = req.lang == .en
        return PageView(slug: slug, leika: leika,
                        levels: TrustLevel.allCases.map { Opt(value: $0.rawValue, label: $0.label, selected: $0.rawValue == level) },
                        imports: recent.map { ImportRow(id: $0.id?.uuidString ?? "", title: $0.title, schema: "\($0.schemaID) V\($0.schemaVersion)",
                                                        at: GermanTime.format($0.createdAt), by: $0.createdBy, errors: $0.errorCount,
                                                        published: $0.publishedVersion.map { en ? "version \($0)" : "Version \($0)" } ?? "") },
                        hasImports: !recent.isEmpty, refused: Self.rows(refused, en: en), hasRefused: !refused.isEmpty)
    }

    @Sendable func page(req: Request) async throws -> Response {
        try req.authorize(.servicePublish)
        return try await req.render("onlinedienste/fim", title: req.t("os_fim_title"), try await view(req), form: true)
    }

    struct UploadForm: Content {
        var schema: File?
        var codelisten: [File]?
        var kennung: String?
        var leika: String?
        var niveau: String?
    }

    static func check(slug: String, leika: String, level: String) throws {
        if !slug.isEmpty && (slug.count > 60 || !slug.allSatisfy({ ($0.isLetter && $0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "-" })) {
            throw AppError.invalid("kennung", de: "Die Kennung besteht aus Kleinbuchstaben, Ziffern und Bindestrichen (höchstens 60 Zeichen), z. B. mutterschutz-meldung.",
                                   en: "The identifier consists of lower-case letters, digits and hyphens.")
        }
        if !leika.isEmpty && (try? LeiKaKey(leika)) == nil {
            throw AppError.invalid("leika", de: "Der LeiKa-Schlüssel hat 14 Ziffern, z. B. 99006028261000.", en: "The LeiKa key has 14 digits.")
        }
        if TrustLevel(rawValue: level) == nil {
            throw AppError.invalid("niveau", de: "Bitte wählen Sie ein Vertrauensniveau aus der Liste.", en: "Please choose a trust level.")
        }
    }

    @Sendable func upload(req: Request) async throws -> Response {
        try req.authorize(.servicePublish)
        let form = try? req.content.decode(UploadForm.self)
        let slug = (form?.kennung ?? "").trimmingCharacters(in: .whitespaces), leika = (form?.leika ?? "").filter { !$0.isWhitespace }
        let level = form?.niveau ?? TrustLevel.basisregistrierung.rawValue
        do {
            try Self.check(slug: slug, leika: leika, level: level)
            guard let file = form?.schema, file.data.readableBytes > 0 else {
                throw AppError.invalid("schema", de: "Bitte wählen Sie die XDatenfelder-Datei (Stammdatenschema, XML) aus.", en: "Please choose the XDatenfelder file.")
            }
            let lists = (form?.codelisten ?? []).filter { $0.data.readableBytes > 0 }.map { (name: $0.filename, data: Data(buffer: $0.data)) }
            let outcome: Result<FIMImportRecord, XDFImportError>
            do { outcome = .success(try await FIMImportService.run(.init(schema: Data(buffer: file.data), codeLists: lists, slug: slug, leika: leika, trustLevel: level), req: req)) }
            catch { outcome = .failure(error) }
            switch outcome {
            case .success(let r):
                return req.redirect(to: "/land/onlinedienste/fim/\(try r.requireID().uuidString)", redirectType: .normal)
            case .failure(let error):
                let v = try await view(req, slug: slug, leika: leika, level: level, refused: error.findings)
                let e = AppError(.unprocessableEntity, "fim.refused", de: "Die Datei wurde nicht übernommen: \(error.summary)",
                                 en: "The file was not imported; see the findings.", field: "schema")
                return try await req.renderError("onlinedienste/fim", title: req.t("os_fim_title"), v, e)
            }
        } catch let e as AppError {
            return try await req.renderError("onlinedienste/fim", title: req.t("os_fim_title"), try await view(req, slug: slug, leika: leika, level: level), e)
        }
    }

    struct ReportView: Encodable {
        var id: String; var title: String; var schema: String; var xdf: String; var slug: String; var leika: String
        var steps: Int; var fields: Int; var errors: Int; var warnings: Int; var findings: [FindingRow]
        var problems: [String]; var publishable: Bool; var published: String
    }

    func load(_ req: Request) async throws -> FIMImportRecord {
        try req.authorize(.servicePublish)
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)), let r = try await FIMImportRecord.find(id, on: req.db) else { throw AppError.notFound }
        return r
    }

    func reportView(_ req: Request, _ r: FIMImportRecord) throws -> ReportView {
        let d = try r.decodedDefinition()
        let fs = r.decodedFindings
        func count(_ f: [FieldDefinition]) -> Int { f.reduce(0) { $0 + 1 + count($1.fields ?? []) } }
        let problems = FIMImportService.problems(r)
        return ReportView(id: try r.requireID().uuidString, title: r.title, schema: "\(r.schemaID) V\(r.schemaVersion)", xdf: r.xdfVersion, slug: r.slug,
                          leika: d.leika, steps: d.form.steps.count, fields: count(d.form.steps.flatMap(\.fields)),
                          errors: fs.filter { $0.severity == .error }.count, warnings: fs.filter { $0.severity == .warning }.count,
                          findings: Self.rows(fs, en: req.lang == .en), problems: problems, publishable: problems.isEmpty && r.publishedVersion == nil,
                          published: r.publishedVersion.map { "\($0)" } ?? "")
    }

    @Sendable func report(req: Request) async throws -> Response {
        let r = try await load(req)
        return try await req.render("onlinedienste/fim-bericht", title: req.t("os_fim_report_title"), try reportView(req, r), form: true)
    }

    @Sendable func publish(req: Request) async throws -> Response {
        let r = try await load(req)
        guard r.publishedVersion == nil else {
            throw AppError(.conflict, "fim.published", de: "Dieser Import ist bereits veröffentlicht.", en: "This import is already published.")
        }
        let problems = FIMImportService.problems(r)
        guard problems.isEmpty else {
            return try await req.renderError("onlinedienste/fim-bericht", title: req.t("os_fim_report_title"), try reportView(req, r),
                                             AppError(.unprocessableEntity, "fim.not_publishable", de: "Der Entwurf kann noch nicht veröffentlicht werden: \(problems.joined(separator: " "))",
                                                      en: "The draft cannot be published yet."))
        }
        let d = try r.decodedDefinition()
        let actor = req.principal
        let id = try r.requireID()
        let v = try await req.application.writeTransaction { db -> ServiceVersion in
            // claim the import first: two clicks publish one version
            struct Row: Decodable { let id: UUID }
            let claimed = try await (db as! any SQLDatabase).raw("UPDATE fim_imports SET published_version = 0 WHERE id = \(bind: id) AND published_version IS NULL RETURNING id")
                .all(decoding: Row.self)
            guard !claimed.isEmpty else { throw AppError(.conflict, "fim.published", de: "Dieser Import ist bereits veröffentlicht.", en: "Already published.") }
            let v = try await OnlineServiceCatalogue.publish(d, by: actor.auditActor, actorID: actor.actorID, on: db)
            try await (db as! any SQLDatabase).raw("UPDATE fim_imports SET published_version = \(bind: v.version) WHERE id = \(bind: id)").run()
            return v
        }
        return req.redirect(to: "/land/onlinedienste?veroeffentlicht=\(v.slug)-\(v.version)", redirectType: .normal)
    }

    // MARK: API

    struct FindingDTO: Content { var art: String; var element: String; var zeile: Int; var meldung: String }
    struct ImportDTO: Content {
        var id: UUID; var kennung: String; var schema: String; var schemaVersion: String; var xdatenfelderVersion: String; var titel: String
        var fehler: Int; var veroeffentlichbar: Bool; var probleme: [String]; var befunde: [FindingDTO]; var bericht: String
    }

    @Sendable func apiImport(req: Request) async throws -> Response {
        try req.authorize(.servicePublish)
        var schema: Data
        var lists: [(name: String, data: Data)] = []
        var slug = "", leika = "", level = TrustLevel.basisregistrierung.rawValue
        guard let ct = req.headers.contentType else {
            throw AppError(.unsupportedMediaType, "unsupported_media_type", de: "Bitte senden Sie die Nachricht als XML (application/xml) oder als multipart/form-data mit „schema“ und „codelisten[]“.",
                           en: "Send the message as application/xml or multipart/form-data.")
        }
        if ct.type == "multipart" {
            guard let form = try? req.content.decode(UploadForm.self), let f = form.schema, f.data.readableBytes > 0 else {
                throw AppError.invalid("schema", de: "Der Teil „schema“ (XDatenfelder-XML) fehlt.", en: "The part schema is missing.")
            }
            schema = Data(buffer: f.data)
            lists = (form.codelisten ?? []).map { (name: $0.filename, data: Data(buffer: $0.data)) }
            slug = form.kennung ?? ""; leika = form.leika ?? ""; level = form.niveau ?? level
        } else if ct.subType == "xml" {
            guard let b = req.body.data, b.readableBytes > 0 else { throw AppError.invalid("body", de: "Die Anfrage enthält keine Daten.", en: "Empty body.") }
            schema = Data(buffer: b)
            slug = req.query[String.self, at: "kennung"] ?? ""; leika = req.query[String.self, at: "leika"] ?? ""; level = req.query[String.self, at: "niveau"] ?? level
        } else {
            throw AppError(.unsupportedMediaType, "unsupported_media_type", de: "Bitte senden Sie die Nachricht als XML (application/xml) oder als multipart/form-data.",
                           en: "Send the message as application/xml or multipart/form-data.")
        }
        try Self.check(slug: slug, leika: leika, level: level)
        do {
            let r = try await FIMImportService.run(.init(schema: schema, codeLists: lists, slug: slug, leika: leika, trustLevel: level), req: req)
            let problems = FIMImportService.problems(r)
            let dto = ImportDTO(id: try r.requireID(), kennung: r.slug, schema: r.schemaID, schemaVersion: r.schemaVersion, xdatenfelderVersion: r.xdfVersion,
                                titel: r.title, fehler: r.errorCount, veroeffentlichbar: problems.isEmpty, probleme: problems,
                                befunde: r.decodedFindings.map { FindingDTO(art: $0.severity.rawValue, element: $0.element, zeile: $0.line, meldung: $0.message) },
                                bericht: "/land/onlinedienste/fim/\(try r.requireID().uuidString)")
            let res = try await dto.encodeResponse(status: .created, for: req)
            return res
        } catch let e as XDFImportError {
            struct Refusal: Content { var type: String; var title: String; var status: Int; var detail: String; var code: String; var befunde: [FindingDTO] }
            let body = Refusal(type: "about:blank", title: "Die Nachricht wurde nicht übernommen", status: 422, detail: e.summary, code: "fim.refused",
                               befunde: e.findings.map { FindingDTO(art: $0.severity.rawValue, element: $0.element, zeile: $0.line, meldung: $0.message) })
            let res = try await body.encodeResponse(status: .unprocessableEntity, for: req)
            res.headers.contentType = HTTPMediaType(type: "application", subType: "problem+json")
            return res
        }
    }
}
