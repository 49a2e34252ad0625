import Fluent
import Vapor
import RathausCore

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

    /// One line of the audit page: the moment in the installation's time zone, the person and the
    /// tenant by name, the action by its area, and what changed field by field where the entry
    /// recorded fields. The raw keys stay in small type (and in the API) for investigations.
    struct PageRow: Encodable {
        var seq: Int
        var at: String
        var who: String
        var whoDetail: String
        var tenant: String
        var tenantARS: String
        var area: String
        var action: String
        var object: String
        var objectID: String
        var changes: [AuditFields.Change]?
        var before: String
        var after: String
    }

    static let areas: [String: (String, String)] = [
        "antrag": ("Antrag", "application"), "auth": ("Anmeldung", "sign-in"), "barrierefreiheit": ("Barrierefreiheit", "accessibility"),
        "event": ("Veranstaltung", "event"), "finder": ("Zuständigkeitsfinder", "finder"), "funding": ("Förderprogramm", "funding"),
        "gebiete": ("Gebiete", "territories"), "invoice": ("E-Rechnung", "e-invoice"), "jobs": ("Hintergrundaufgaben", "background jobs"),
        "konto": ("Servicekonto", "citizen account"), "leitweg": ("Leitweg-ID", "Leitweg-ID"), "letterhead": ("Briefkopf", "letterhead"),
        "membership": ("Mitgliedschaft", "membership"), "office": ("Stelle", "office"), "onlinedienst": ("Onlinedienst", "online service"),
        "postfach": ("Postfach", "postbox"), "rechnung": ("E-Rechnung", "e-invoice"), "rechtstext": ("Rechtstexte", "legal texts"),
        "responsibility": ("Zuständigkeit", "responsibility"), "rollout": ("Roll-out", "roll-out"), "service_text": ("Leistungstext", "service text"),
        "staff": ("Personal und Rollen", "staff and roles"), "survey": ("Umfrage", "survey"), "token": ("API-Zugang", "API access"),
        "user": ("Benutzerkonto", "user account"), "visit": ("Vor-Ort-Termin", "on-site visit"), "xzufi": ("XZuFi-Import", "XZuFi import"),
        "zahlung": ("Zahlung", "payment"),
    ]

    static func area(_ action: String) -> String {
        let key = String(action.prefix { $0 != "." })
        guard let a = areas[key] else { return "" }
        return DisplayLanguage.english ? a.1 : a.0
    }

    static func rows(_ entries: [AuditEntry], on db: any Database) async throws -> [PageRow] {
        let people = try await ActorNames.load(entries.map(\.actor), on: db)
        let keys = Array(Set(entries.compactMap(\.tenantARS)))
        let names = keys.isEmpty ? [:] : Dictionary(try await Gebiet.query(on: db).filter(\.$id ~~ keys).all().compactMap { g in g.id.map { ($0, g.name) } },
                                                     uniquingKeysWith: { a, _ in a })
        return entries.map { e in
            let changes = AuditFields.changes(before: e.before, after: e.after)
            return PageRow(seq: e.seq, at: Audit.date(e.occurredAt).map(GermanTime.format) ?? e.occurredAt,
                           who: people.display(e.actor), whoDetail: people.detail(e.actor),
                           tenant: e.tenantARS.map { names[$0] ?? $0 } ?? "", tenantARS: e.tenantARS ?? "",
                           area: area(e.action), action: e.action, object: e.objectType,
                           objectID: UUID(uuidString: e.objectID) != nil ? String(e.objectID.prefix(8)) + "…" : e.objectID,
                           changes: changes, before: changes == nil ? (e.before ?? "") : "", after: changes == nil ? (e.after ?? "") : "")
        }
    }

    struct PageView: Encodable {
        var entries: [PageRow]
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
                                    PageView(entries: try await Self.rows(page, on: req.db), total: total, tenant: f.tenant ?? "",
                                             action: f.action ?? "", actor: f.actor ?? "", next: next, chainChecked: check, chainOK: chainOK))
    }
}
