import Fluent
import Forms
import Vapor
import RathausCore

/// Machine clients (specialist software of the office) with an API token of scope `antraege`:
/// fetch new submissions, download them and their files, confirm receipt, post status changes.
struct AntragAPIController {
    func addRoutes(to api: any RoutesBuilder) {
        let a = api.grouped("antraege")
        a.get(use: list)
        a.get(":id", use: one)
        a.get(":id", "xml", use: xml)
        a.get(":id", "dateien", ":file", use: file)
        a.post(":id", "empfangen", use: received)
        a.post(":id", "status", use: status)
    }

    struct Item: Content { var id: UUID; var aktenzeichen: String; var onlinedienst: String; var status: String; var eingegangen: String; var abgeholt: String?; var url: String }
    struct Page: Content { var items: [Item]; var total: Int }

    static func tenant(_ req: Request, _ action: Action) throws -> String {
        guard case .apiClient(let t) = req.principal else { throw AppError.unauthenticated }
        try req.authorize(action, tenant: t.tenantARS)
        return t.tenantARS
    }

    static func load(_ req: Request, _ action: Action) async throws -> Antrag {
        let ars = try tenant(req, action)
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)),
              let a = try await Antrag.query(on: req.db).filter(\.$id == id).filter(\.$tenantARS == ars)
                .scoped(to: req.principal, for: action, tenantField: \.$tenantARS).first(), !a.isDraft else { throw AppError.notFound }
        return a
    }

    /// `GET /api/v1/antraege?neu=true&status=…&limit=`: newest first; `neu=true` only what has not been confirmed yet.
    @Sendable func list(req: Request) async throws -> Page {
        let ars = try Self.tenant(req, .caseView)
        var q = Antrag.query(on: req.db).filter(\.$tenantARS == ars).filter(\.$status != Antrag.draft)
            .scoped(to: req.principal, for: .caseView, tenantField: \.$tenantARS)
        if req.queryParams["neu"] == "true" { q = q.filter(\.$fetchedAt == nil) }
        if let s = req.queryParams["status"], !s.isEmpty {
            guard let st = CaseStatus(rawValue: s) else {
                throw AppError.invalid("status", de: "Unbekannter Status. Erlaubt: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", ")).", en: "Unknown status.")
            }
            q = q.filter(\.$status == st.rawValue)
        }
        let limit = min(max(Int(req.queryParams["limit"] ?? "") ?? 100, 1), 500)
        let list = try await q.sort(\.$submittedAt, .ascending).limit(limit).all()
        let items = list.map { Item(id: $0.id ?? UUID(), aktenzeichen: $0.reference ?? "", onlinedienst: $0.slug, status: $0.status,
                                    eingegangen: $0.submittedAt.map(Audit.timestamp) ?? "", abgeholt: $0.fetchedAt.map(Audit.timestamp),
                                    url: "/api/v1/antraege/\($0.id?.uuidString ?? "")") }
        return Page(items: items, total: items.count)
    }

    @Sendable func one(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseView)
        return try await AntragExport.jsonResponse(a, req: req, fileBase: "/api/v1/antraege/\(try a.requireID())/dateien")
    }

    @Sendable func xml(req: Request) async throws -> Response {
        try await AntragExport.xmlResponse(try await Self.load(req, .caseView), req: req)
    }

    @Sendable func file(req: Request) async throws -> Response {
        try await ApplicantController.stream(req, antrag: try await Self.load(req, .caseView))
    }

    /// Confirms the software has taken the case over; repeated calls change nothing.
    @Sendable func received(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseExport)
        if a.fetchedAt == nil {
            let actor = req.principal.auditActor, actorID = req.principal.actorID
            try await req.db.transaction { db in
                a.fetchedAt = Date()
                try await a.save(on: db)
                try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: a.tenantARS, action: "antrag.fetched",
                                       objectType: "antrag", objectID: a.reference ?? "", before: nil, after: nil)
            }
        }
        return try await AntragExport.jsonResponse(a, req: req, fileBase: "/api/v1/antraege/\(try a.requireID())/dateien")
    }

    struct StatusInput: Content { var status: String?; var text: String? }

    @Sendable func status(req: Request) async throws -> Response {
        let a = try await Self.load(req, .caseExport)
        let input: StatusInput
        do { input = try req.content.decode(StatusInput.self) } catch {
            throw AppError(.badRequest, "bad_request", de: "Bitte senden Sie JSON mit „status“ und gegebenenfalls „text“.", en: "Send JSON with status and text.")
        }
        guard let target = CaseStatus(rawValue: input.status ?? "") else {
            throw AppError.invalid("status", de: "Unbekannter Status. Erlaubt: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", ")).", en: "Unknown status.")
        }
        guard (input.text ?? "").count <= 5000 else { throw AppError.invalid("text", de: "Der Text darf höchstens 5000 Zeichen lang sein.", en: "At most 5000 characters.") }
        try await AntragService.transition(a, to: target, by: .office, text: input.text, app: req.application,
                                           actor: req.principal.auditActor, actorID: req.principal.actorID, senderName: a.officeName)
        return try await AntragExport.jsonResponse(a, req: req, fileBase: "/api/v1/antraege/\(try a.requireID())/dateien")
    }
}
