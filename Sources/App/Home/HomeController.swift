import Fluent
import Vapor

/// The residents' and businesses' door (`/`): the finder, the online services most used where the
/// person lives, the Servicekonto and the state of one's applications. The provider's own story
/// (figures, territorial data, API) is on `/ueber`.
struct HomeController {
    func addRoutes(to web: any RoutesBuilder) {
        web.get(use: home)
        web.get("ueber", use: about)
        web.get("sprache", ":lang", use: language)
    }

    struct ServiceTile: Encodable { var title: String; var summary: String; var link: String; var offered: Bool; var uses: Int }
    struct HomeView: Encodable {
        var choice: PlaceChoice
        var services: [ServiceTile]
        var hasPlace: Bool
        var placeName: String
        var signedIn: Bool
    }

    /// At most this many services on the start page; the full list is one click away.
    static let tiles = 6

    @Sendable func home(req: Request) async throws -> Response {
        let choice = try await PlaceChoice.from(req)
        let lang = req.lang.rawValue
        // how often each service was applied for (submitted, not drafts), at the place's office or overall
        var tiles: [ServiceTile] = []
        var placeName = ""
        for v in try await OnlineServiceCatalogue.latest(on: req.db) {
            guard let d = try? v.decoded() else { continue }
            var tile = ServiceTile(title: d.title.text(lang), summary: d.summary.text(lang), link: "/onlinedienste/\(v.slug)", offered: false, uses: 0)
            var uses = Antrag.query(on: req.db).filter(\.$slug == v.slug).filter(\.$status != Antrag.draft)
            if !choice.ars.isEmpty {
                let a = try await OnlineServiceController.availability(v.slug, placeARS: choice.ars, req: req)
                placeName = a.responsibility?.placeName ?? choice.name
                guard a.online, let office = a.receivingOffice else { continue }
                tile.offered = true
                tile.link += "?ars=\(choice.ars)"
                uses = uses.filter(\.$tenantARS == office.tenantARS)
            }
            tile.uses = try await uses.count()
            tiles.append(tile)
        }
        tiles.sort { $0.uses != $1.uses ? $0.uses > $1.uses : $0.title < $1.title }
        let view = HomeView(choice: choice, services: Array(tiles.prefix(Self.tiles)), hasPlace: !choice.ars.isEmpty,
                            placeName: placeName.isEmpty ? choice.name : placeName, signedIn: req.principal.citizen != nil)
        if let e = choice.error {
            return try await req.render("home", title: req.t("home_title"), view, errors: [FieldError(field: "ort", message: e)], status: .unprocessableEntity)
        }
        return try await req.render("home", title: req.t("home_title"), view)
    }

    struct AboutView: Encodable {
        var gemeinden: Int
        var kreise: Int
        var verwaltungsgemeinschaften: Int
        var members: Int
    }

    /// The provider's page: who runs the platform, how many municipalities take part, the data and the API.
    @Sendable func about(req: Request) async throws -> Response {
        let g = try await Gebiet.query(on: req.db).filter(\.$landCode == "16").filter(\.$level == "gemeinde").filter(\.$dissolvedOn == nil).count()
        let k = try await Gebiet.query(on: req.db).filter(\.$landCode == "16").filter(\.$level == "kreis").count()
        let vg = try await Gebiet.query(on: req.db).filter(\.$landCode == "16").filter(\.$typeCode == "54").count()
        let m = try await MembershipService.currentMemberCount(on: req.db)
        return try await req.render("ueber", title: req.t("about_title"), AboutView(gemeinden: g, kreise: k, verwaltungsgemeinschaften: vg, members: m))
    }

    /// Language switch: remembers the choice in a cookie and goes back to the page.
    @Sendable func language(req: Request) async throws -> Response {
        guard let l = req.parameters.get("lang").flatMap(Lang.init(rawValue:)) else { throw AppError.notFound }
        // only local paths, never another host
        let back = SafeRedirect.localPath(req.query[String.self, at: "zurueck"], fallback: "/")
        let res = req.redirect(to: back, redirectType: .normal)
        res.cookies["lang"] = HTTPCookies.Value(string: l.rawValue, maxAge: 365 * 24 * 3600, path: "/", isHTTPOnly: true, sameSite: .lax)
        return res
    }
}
