import Fluent
import Vapor

struct HomeController {
    func addRoutes(to web: any RoutesBuilder) {
        web.get(use: home)
        web.get("sprache", ":lang", use: language)
    }

    struct HomeView: Encodable {
        var gemeinden: Int
        var kreise: Int
        var verwaltungsgemeinschaften: Int
        var members: Int
    }

    @Sendable func home(req: Request) async throws -> Response {
        let g = try await Gebiet.query(on: req.db).filter(\.$landCode == "16").filter(\.$level == "gemeinde").filter(\.$dissolvedOn == nil).count()
        let k = try await Gebiet.query(on: req.db).filter(\.$landCode == "16").filter(\.$level == "kreis").count()
        let vg = try await Gebiet.query(on: req.db).filter(\.$landCode == "16").filter(\.$typeCode == "54").count()
        let m = try await Membership.query(on: req.db).filter(\.$status ~~ ["member", "notice_given"]).count()
        return try await req.render("home", title: req.t("home_title"), HomeView(gemeinden: g, kreise: k, verwaltungsgemeinschaften: vg, members: m))
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
