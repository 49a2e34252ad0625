import RathausCore
import Fluent
import Vapor

/// Resolves the acting principal: a bearer token on `/api`, the session elsewhere.
/// The API never reads the session cookie, so it needs no CSRF protection.
struct PrincipalMiddleware: AsyncMiddleware {
    static let sessionLifetime: TimeInterval = 8 * 3600

    func respond(to req: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if req.url.path.hasPrefix("/api/") || req.url.path.hasPrefix("/xbezahldienste/") || req.url.path == "/metrics" {
            if let bearer = req.headers.bearerAuthorization {
                let hash = APIToken.hash(bearer.token)
                guard let token = try await APIToken.query(on: req.db).filter(\.$tokenHash == hash).first(),
                      token.revokedAt == nil, let id = token.id else {
                    throw AppError(.unauthorized, "auth.token", de: "Der API-Token ist ungültig oder widerrufen.",
                                   en: "The API token is invalid or revoked.")
                }
                req.principal = .apiClient(TokenPrincipal(tokenID: id, prefix: token.prefix, tenantARS: token.tenantARS,
                                                          scopes: token.scopeSet))
            }
        } else if req.hasSession, let uid = req.session.data["uid"], req.session.data["auth"] == "full",
                  let id = UUID(uuidString: uid) {
            // absolute lifetime on the server side too: a copied cookie stops working after 8 hours
            let since = req.session.data["since"].flatMap(Double.init) ?? 0
            let user = Date().timeIntervalSince1970 - since > Self.sessionLifetime ? nil : try await User.find(id, on: req.db)
            if let user, !user.disabled, since >= (user.sessionsValidSince?.timeIntervalSince1970 ?? 0) {
                if user.kind == AccountKind.staff.rawValue {
                    // loaded on every request: an assignment that ended a second ago no longer counts
                    // a tenant's roles count only from its allowed networks (if it set any)
                    let all = try await RoleAssignment.current(of: id, on: req.db)
                    let grants = StaffSecurity.usable(all, from: req.clientIP, rules: try await StaffSecurity.rules(for: all, on: req.db))
                    // last use for the person's session list, to the minute (the session is written back anyway)
                    let minute = String(Int(Date().timeIntervalSince1970) / 60 * 60)
                    if req.session.data["seen"] != minute { req.session.data["seen"] = minute }
                    let members = try await StaffDirectory.memberTenants(of: grants, on: req.db)
                    req.principal = .staff(StaffPrincipal(userID: id, email: user.email, name: user.name, grants: grants, memberTenants: members,
                                                          tenantARS: StaffPrincipal.actingTenant(grants, chosen: req.session.data["tenant"]),
                                                          isDemo: user.isDemo))
                } else if let kind = AccountKind(rawValue: user.kind), kind != .staff {
                    let level = req.session.data["trust"].flatMap(TrustLevel.init(rawValue:)) ?? .basisregistrierung
                    req.principal = .citizen(CitizenPrincipal(userID: id, email: user.email, name: user.name, kind: kind, trustLevel: level))
                } else {
                    req.session.destroy()
                }
            } else {
                // expired, disabled, or ended by a password reset
                req.session.destroy()
            }
        }
        return try await next.respond(to: req)
    }
}

/// Every state-changing HTML form carries the session's CSRF token (`_csrf` field or
/// `X-CSRF-Token` header); requests without it are refused before any handler runs.
struct CSRFMiddleware: AsyncMiddleware {
    func respond(to req: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let changing: [HTTPMethod] = [.POST, .PUT, .PATCH, .DELETE]
        // the API and XBezahldienste never read the session cookie; provider callbacks are signed
        if changing.contains(req.method), !req.url.path.hasPrefix("/api/"), !req.url.path.hasPrefix("/xbezahldienste/"),
           !req.url.path.hasPrefix("/bezahlen/rueckmeldung/") {
            // File uploads arrive streamed; collect them (bounded) so the token field can be read.
            // Only the invoice upload takes large files; every other form stays at the 1 MB default.
            // Attachments of applications are streamed to storage by their handlers, which check
            // the token themselves from the form's first part before any file is stored.
            if req.headers.contentType?.type == "multipart", StreamedUpload.isStreamedPath(req.url.path) {
                return try await next.respond(to: req)
            }
            // streamed routes take plain forms too: collect those (bounded) so the token can be read
            if req.headers.contentType?.type != "multipart", req.body.data == nil {
                _ = try await req.body.collect(max: 1024 * 1024).get()
            }
            if req.headers.contentType?.type == "multipart", req.body.data == nil {
                // the invoice upload and price sheets (up to 2 MB of CSV) take more than the 1 MB default
                let max = req.url.path == "/rechnungen/einreichen" ? 50 * 1024 * 1024
                    : (req.url.path.hasPrefix("/einkauf/lose/") && req.url.path.hasSuffix("/preisblatt") ? 3 * 1024 * 1024 : 1024 * 1024)
                _ = try await req.body.collect(max: max).get()
            }
            let sent = req.headers.first(name: "X-CSRF-Token") ?? (try? req.content.get(String.self, at: "_csrf"))
            guard req.hasSession, let expected = req.session.data["csrf"], let sent,
                  constantTimeEqual(expected, sent) else {
                throw AppError.csrf
            }
        }
        return try await next.respond(to: req)
    }
}

/// Security headers for every response; no inline script is ever needed.
struct SecurityHeadersMiddleware: AsyncMiddleware {
    func respond(to req: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let res = try await next.respond(to: req)
        res.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        res.headers.replaceOrAdd(name: "Referrer-Policy", value: "same-origin")
        if req.url.path.hasPrefix("/einbetten") == false {
            res.headers.replaceOrAdd(name: "X-Frame-Options", value: "DENY")
        }
        // the finder snippet (/einbetten/…) may be framed by municipal websites, nothing else may
        let ancestors = req.url.path.hasPrefix("/einbetten") ? "*" : "'none'"
        // the sign-in forms post to Rathaus, which redirects to the identity provider: browsers
        // apply form-action to that redirect, so the provider's origin is allowed as a target
        let formAction = req.application.oidc.map { "'self' \($0.origin)" } ?? "'self'"
        res.headers.replaceOrAdd(name: "Content-Security-Policy",
                                 value: "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'none'; frame-ancestors \(ancestors); form-action \(formAction)")
        if res.headers.contentType?.type == "text" && res.headers.contentType?.subType == "html" {
            res.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        }
        return res
    }
}

extension Request {
    /// The session's CSRF token, created on first use.
    func csrfToken() -> String {
        if let t = session.data["csrf"] { return t }
        var bytes = [UInt8](repeating: 0, count: 24)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let t = Data(bytes).base64EncodedString()
        session.data["csrf"] = t
        // every session carries its start, so the nightly purge can end anonymous ones too
        if session.data["since"] == nil { session.data["since"] = String(Date().timeIntervalSince1970) }
        return t
    }

    var clientIP: String {
        // behind the provider's load balancer the first X-Forwarded-For hop is the client
        if application.rathaus.trustForwardedFor, let fwd = headers.first(name: .xForwardedFor)?.split(separator: ",").first {
            return fwd.trimmingCharacters(in: .whitespaces)
        }
        return remoteAddress?.ipAddress ?? "unbekannt"
    }
}
