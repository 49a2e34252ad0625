import Fluent
import Vapor

struct AuditEntryDTO: Content {
    var seq: Int
    var zeitpunkt: String
    var akteur: String
    var mandant: String?
    var aktion: String
    var objektTyp: String
    var objektId: String
    var vorher: String?
    var nachher: String?
    var hash: String

    init(_ e: AuditEntry) {
        seq = e.seq; zeitpunkt = e.occurredAt; akteur = e.actor; mandant = e.tenantARS; aktion = e.action
        objektTyp = e.objectType; objektId = e.objectID; vorher = e.before; nachher = e.after; hash = e.hash
    }
}

/// Browse and filter the audit trail (operator): `/betrieb/audit` and `/api/v1/audit`.
struct AuditController {
    func addRoutes(api: any RoutesBuilder, web: any RoutesBuilder) {
        api.get("audit", use: apiList)
        web.get("betrieb", "audit", use: page)
    }

    struct Filter { var tenant: String?; var action: String?; var actor: String?; var before: Int? }

    static func filter(_ req: Request) throws -> Filter {
        var f = Filter()
        f.tenant = req.query[String.self, at: "mandant"].flatMap { $0.isEmpty ? nil : String($0.prefix(12)) }
        f.action = req.query[String.self, at: "aktion"].flatMap { $0.isEmpty ? nil : String($0.prefix(64)) }
        f.actor = req.query[String.self, at: "akteur"].flatMap { $0.isEmpty ? nil : String($0.prefix(254)) }
        if let c = req.query[String.self, at: "cursor"], !c.isEmpty {
            guard let n = Int(c), n > 0 else {
                throw AppError.invalid("cursor", de: "Der Cursor ist ungültig. Verwenden Sie den Wert aus „next“.", en: "Invalid cursor.")
            }
            f.before = n
        }
        return f
    }

    static func query(_ f: Filter, on db: any Database) -> QueryBuilder<AuditEntry> {
        var q = AuditEntry.query(on: db)
        if let t = f.tenant { q = q.filter(\.$tenantARS == t) }
        if let a = f.action { q = q.filter(\.$action =~ a) }
        if let a = f.actor { q = q.filter(\.$actor ~~ a) }
        return q
    }

    @Sendable func apiList(req: Request) async throws -> ListEnvelope<AuditEntryDTO> {
        try req.authorize(.auditView)
        let f = try Self.filter(req)
        let paging = try Paging.from(req, defaultLimit: 100)
        let total = try await Self.query(f, on: req.db).count()
        var q = Self.query(f, on: req.db).sort(\.$seq, .descending)
        if let b = f.before { q = q.filter(\.$seq < b) }
        let rows = try await q.limit(paging.limit + 1).all()
        let page = Array(rows.prefix(paging.limit))
        return ListEnvelope(items: page.map(AuditEntryDTO.init), total: total,
                            next: rows.count > paging.limit ? page.last.map { String($0.seq) } : nil)
    }

    struct PageView: Encodable {
        var entries: [AuditEntryDTO]
        var total: Int
        var tenant: String
        var action: String
        var actor: String
        var next: String?
        var chainChecked: Bool
        var chainOK: Bool
    }

    @Sendable func page(req: Request) async throws -> Response {
        try req.authorize(.auditView)
        let f = try Self.filter(req)
        let total = try await Self.query(f, on: req.db).count()
        var q = Self.query(f, on: req.db).sort(\.$seq, .descending)
        if let b = f.before { q = q.filter(\.$seq < b) }
        let rows = try await q.limit(51).all()
        let page = Array(rows.prefix(50))
        var next: String? = nil
        if rows.count > 50, let last = page.last {
            var parts = ["cursor=\(last.seq)"]
            if let t = f.tenant { parts.append("mandant=\(t)") }
            if let a = f.action { parts.append("aktion=\(a.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")") }
            if let a = f.actor { parts.append("akteur=\(a.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")") }
            next = "/betrieb/audit?" + parts.joined(separator: "&")
        }
        let check = req.query[String.self, at: "pruefen"] == "1"
        let chainOK = check ? (try await Audit.verify(on: req.db).firstBroken == nil) : false
        return try await req.render("operator/audit", title: req.t("audit_title"),
                                    PageView(entries: page.map(AuditEntryDTO.init), total: total, tenant: f.tenant ?? "",
                                             action: f.action ?? "", actor: f.actor ?? "", next: next, chainChecked: check, chainOK: chainOK))
    }
}
