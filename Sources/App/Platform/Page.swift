import Vapor
import Fluent

/// The context every HTML page gets: language, texts, the signed-in person, CSRF token and
/// navigation decided by the policy. `content` is the page's own data.
struct Page<Content: Encodable>: Encodable {
    var lang: String
    var title: String
    var t: [String: String]
    var user: UserView?
    /// The signed-in Servicekonto holder, with the postbox's unread counter.
    var citizen: CitizenView?
    var nav: Nav
    var csrf: String
    var demo: Bool
    var path: String
    var otherLang: String
    var errors: [FieldError]
    var hasErrors: Bool
    /// First field in error and its message, for the inline message next to the field.
    var errorField: String
    var errorMessage: String
    var content: Content
}

struct UserView: Encodable {
    var name: String
    var email: String
    /// Every role held for the acting tenant, e.g. "Mandanten-Administration, Kasse".
    var roleLabel: String
    var tenantARS: String?
    /// The body the person acts for on this page, by name.
    var tenantName: String
    /// Further bodies to switch to (roles in several tenants).
    var tenants: [TenantChoice]
    var isDemo: Bool
}

struct TenantChoice: Encodable { var ars: String; var name: String; var selected: Bool }

struct CitizenView: Encodable {
    var name: String
    var unread: Int
}

struct Nav: Encodable {
    /// Everything the signed-in staff member may use (from the `Policy`).
    var links: [NavLink]
}

struct FieldError: Encodable, Sendable {
    var field: String
    var message: String
}

extension Request {
    func page<C: Encodable>(title: String, _ content: C, errors: [FieldError] = [], form: Bool = false) async throws -> Page<C> {
        var user: UserView? = nil
        if let s = principal.staff {
            let keys = s.tenants
            let names = keys.isEmpty ? [:] : Dictionary(try await Gebiet.query(on: db).filter(\.$id ~~ keys).all().compactMap { g in g.id.map { ($0, g.name) } },
                                                         uniquingKeysWith: { a, _ in a })
            user = UserView(name: s.name, email: s.email, roleLabel: s.rolesHere.map { t("role_\($0.rawValue)") }.joined(separator: ", "),
                            tenantARS: s.tenantARS, tenantName: s.tenantARS.map { names[$0] ?? $0 } ?? "",
                            tenants: keys.count > 1 ? keys.map { TenantChoice(ars: $0, name: names[$0] ?? $0, selected: $0 == s.tenantARS) } : [],
                            isDemo: s.isDemo)
        }
        var citizen: CitizenView? = nil
        if let c = principal.citizen {
            let unread = try await PostboxMessage.query(on: db).filter(\.$recipientID == c.userID).filter(\.$readAt == nil).count()
            citizen = CitizenView(name: c.name, unread: unread)
        }
        let nav = Nav(links: RoleNavigation.links(self))
        return Page(lang: lang.rawValue, title: title, t: lang.catalogue, user: user, citizen: citizen, nav: nav,
                    csrf: (form || user != nil || citizen != nil) ? csrfToken() : "", demo: application.rathaus.demo, path: Self.backLink(url),
                    otherLang: lang == .de ? "en" : "de", errors: errors, hasErrors: !errors.isEmpty,
                    errorField: errors.first?.field ?? "", errorMessage: errors.first?.message ?? "", content: content)
    }

    func render<C: Encodable>(_ template: String, title: String, _ content: C, errors: [FieldError] = [],
                              status: HTTPResponseStatus = .ok, form: Bool = false) async throws -> Response {
        let p = try await page(title: title, content, errors: errors, form: form || !errors.isEmpty)
        let res = try await view.render(template, p).encodeResponse(for: self)
        res.status = status
        return res
    }

    /// Renders a form again with an error summary for `error`.
    func renderError<C: Encodable>(_ template: String, title: String, _ content: C, _ error: AppError) async throws -> Response {
        try await render(template, title: title, content,
                         errors: [FieldError(field: error.field ?? "", message: error.message(lang))],
                         status: error.status)
    }
}

extension Request {
    /// The current page with its query, percent-encoded for a `zurueck=` parameter: the language
    /// switch returns to the same page and the same search.
    static func backLink(_ url: URI) -> String {
        var local = url.path.isEmpty ? "/" : url.path
        if let q = url.query, !q.isEmpty { local += "?" + q }
        guard local.utf8.count <= SafeRedirect.maxLength / 2 else { return url.path }
        return local.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? url.path
    }
}
