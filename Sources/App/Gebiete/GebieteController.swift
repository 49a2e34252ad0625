import Fluent
import SQLKit
import Vapor
import RathausCore

/// Territorial units: `/api/v1/gebiete` and the public pages `/gebiete`.
struct GebieteController {
    func addRoutes(api: any RoutesBuilder, web: any RoutesBuilder) {
        api.get("gebiete", use: apiList)
        api.get("gebiete", ":ars", use: apiShow)
        web.get("gebiete", use: page)
        web.get("gebiete", ":ars", use: detail)
    }

    struct Filter {
        var land: String
        var level: ARS.Level?
        var kreis: String?
        var q: String?
    }

    static func filter(_ req: Request) throws -> Filter {
        var f = Filter(land: "16")
        if let land = req.query[String.self, at: "land"], !land.isEmpty {
            guard land.count == 2, let n = Int(land), (1...16).contains(n) else {
                throw AppError.invalid("land", de: "„land“ ist der zweistellige Landesschlüssel 01 bis 16, z. B. 16 für Thüringen.",
                                       en: "land is the two-digit state key 01 to 16.")
            }
            f.land = land
        }
        if let e = req.query[String.self, at: "ebene"], !e.isEmpty {
            guard let level = ARS.Level(rawValue: e) else {
                throw AppError.invalid("ebene", de: "„ebene“ muss land, kreis, gemeindeverband oder gemeinde sein.",
                                       en: "ebene must be land, kreis, gemeindeverband or gemeinde.")
            }
            f.level = level
        }
        if let k = req.query[String.self, at: "kreis"], !k.isEmpty {
            guard (try? ARS(k))?.level == .kreis else {
                throw AppError.invalid("kreis", de: "„kreis“ muss ein fünfstelliger Kreisschlüssel sein, z. B. 16051.", en: "kreis must be a 5-digit key.")
            }
            f.kreis = k
        }
        if let q = req.query[String.self, at: "q"]?.trimmingCharacters(in: .whitespaces), !q.isEmpty {
            guard q.count <= 100 else {
                throw AppError.invalid("q", de: "Der Suchbegriff darf höchstens 100 Zeichen lang sein.", en: "The search term may be at most 100 characters.")
            }
            f.q = q
        }
        return f
    }

    static func query(_ f: Filter, on db: any Database) -> QueryBuilder<Gebiet> {
        var q = Gebiet.query(on: db).filter(\.$landCode == f.land)
        if let l = f.level { q = q.filter(\.$level == l.rawValue) }
        if let k = f.kreis { q = q.filter(\.$kreisARS == k) }
        if let s = f.q {
            if s.allSatisfy(\.isNumber) {
                q = q.group(.or) { $0.filter(\.$id =~ s).filter(\.$plzList ~~ s) }
            } else {
                // case-insensitive on both engines: SQLite's LIKE already is (for ASCII), PostgreSQL needs ILIKE
                if let sql = db as? any SQLDatabase, sql.dialect.name == "postgresql" {
                    q = q.filter(\.$name, .custom("ILIKE"), "%\(s)%")
                } else {
                    q = q.filter(\.$name ~~ s)
                }
            }
        }
        return q
    }

    @Sendable func apiList(req: Request) async throws -> ListEnvelope<GebietDTO> {
        let f = try Self.filter(req)
        let paging = try Paging.from(req, defaultLimit: 100)
        let total = try await Self.query(f, on: req.db).count()
        var q = Self.query(f, on: req.db).sort(\.$id)
        if let c = paging.cursor { q = q.filter(\.$id > c) }
        let rows = try await q.limit(paging.limit + 1).all()
        let page = Array(rows.prefix(paging.limit))
        return ListEnvelope(items: page.map(GebietDTO.init), total: total,
                            next: rows.count > paging.limit ? page.last?.ars : nil)
    }

    @Sendable func apiShow(req: Request) async throws -> GebietDTO {
        GebietDTO(try await Tenants.gebiet(req.parameters.get("ars"), on: req.db))
    }

    struct ListView: Encodable {
        var rows: [GebietDTO]
        var total: Int
        var kreise: [GebietDTO]
        var ebene: String
        var kreis: String
        var q: String
        var pageNo: Int
        var pages: Int
        var prev: String?
        var next: String?
    }

    @Sendable func page(req: Request) async throws -> Response {
        let f: Filter
        do { f = try Self.filter(req) } catch let e as AppError {
            return try await req.renderError("gebiete/list", title: req.t("gebiete_title"),
                                             ListView(rows: [], total: 0, kreise: [], ebene: "", kreis: "", q: "", pageNo: 1, pages: 1), e)
        }
        var filter = f
        if filter.level == nil && filter.kreis == nil && filter.q == nil { filter.level = .gemeinde }
        let per = 50
        let pageNo = max(1, req.query[Int.self, at: "seite"] ?? 1)
        let total = try await Self.query(filter, on: req.db).count()
        let rows = try await Self.query(filter, on: req.db).sort(\.$id).range(((pageNo - 1) * per)..<(pageNo * per)).all()
        let kreise = try await Gebiet.query(on: req.db).filter(\.$landCode == filter.land).filter(\.$level == "kreis").sort(\.$name).all()
        let pages = max(1, (total + per - 1) / per)
        func link(_ p: Int) -> String {
            var parts = ["seite=\(p)"]
            if let l = filter.level { parts.append("ebene=\(l.rawValue)") }
            if let k = filter.kreis { parts.append("kreis=\(k)") }
            if let q = filter.q { parts.append("q=\(q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")") }
            return "/gebiete?" + parts.joined(separator: "&")
        }
        let view = ListView(rows: rows.map(GebietDTO.init), total: total, kreise: kreise.map(GebietDTO.init),
                            ebene: filter.level?.rawValue ?? "", kreis: filter.kreis ?? "", q: filter.q ?? "",
                            pageNo: pageNo, pages: pages, prev: pageNo > 1 ? link(pageNo - 1) : nil,
                            next: pageNo < pages ? link(pageNo + 1) : nil)
        return try await req.render("gebiete/list", title: req.t("gebiete_title"), view)
    }

    struct DetailView: Encodable {
        var g: GebietDTO
        var parents: [GebietDTO]
        var children: [GebietDTO]
        var hasChildren: Bool
        var membership: String?
        var canManage: Bool
    }

    @Sendable func detail(req: Request) async throws -> Response {
        let g = try await Tenants.gebiet(req.parameters.get("ars"), on: req.db)
        var parents: [GebietDTO] = []
        var p = g.parentARS
        while let key = p, let parent = try await Gebiet.find(key, on: req.db) {
            parents.insert(GebietDTO(parent), at: 0)
            p = parent.parentARS
        }
        let children = try await Gebiet.query(on: req.db).filter(\.$parentARS == g.ars).sort(\.$id).limit(500).all()
        let m = g.joinable ? try await MembershipService.membership(of: g.ars, on: req.db) : nil
        let view = DetailView(g: GebietDTO(g), parents: parents, children: children.map(GebietDTO.init),
                              hasChildren: !children.isEmpty, membership: g.joinable ? req.t("status_\(m?.status ?? "none")") : nil,
                              canManage: req.can(.membershipView, tenant: g.ars))
        return try await req.render("gebiete/detail", title: g.name, view)
    }
}
