import Vapor
import Leaf

/// Turns every error into either problem+json (API, or when the client asks for JSON) or an
/// HTML error page. Never echoes request details: Vapor's own messages for decoding errors
/// contain the offending keys and values, so unknown errors get a generic text by status.
struct RathausErrorMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch {
            return await render(error, for: request)
        }
    }

    static func appError(from error: any Error) -> AppError {
        if let e = error as? AppError { return e }
        if error is DecodingError {
            return AppError(.badRequest, "bad_request", de: "Die Anfrage konnte nicht gelesen werden. Bitte prüfen Sie Format und Pflichtfelder.",
                            en: "The request could not be read. Please check its format and required fields.")
        }
        if let abort = error as? any AbortError {
            return generic(abort.status)
        }
        return generic(.internalServerError)
    }

    static func generic(_ status: HTTPResponseStatus) -> AppError {
        switch status.code {
        case 400: return AppError(status, "bad_request", de: "Die Anfrage ist ungültig.", en: "The request is invalid.")
        case 401: return .unauthenticated
        case 403: return .forbidden
        case 404: return .notFound
        case 405: return AppError(status, "method_not_allowed", de: "Diese Methode ist hier nicht erlaubt.", en: "Method not allowed.")
        case 413: return AppError(status, "too_large", de: "Die Anfrage ist zu groß.", en: "The request is too large.")
        case 415: return AppError(status, "unsupported_media_type", de: "Dieses Datenformat wird nicht unterstützt. Bitte senden Sie JSON.", en: "Unsupported media type. Please send JSON.")
        case 422: return AppError(status, "unprocessable", de: "Die Angaben sind unvollständig oder ungültig.", en: "The input is incomplete or invalid.")
        case 429: return AppError(status, "too_many_requests", de: "Zu viele Anfragen. Bitte warten Sie einen Moment.", en: "Too many requests. Please wait a moment.")
        default:
            if status.code >= 400 && status.code < 500 {
                return AppError(status, "client_error", de: "Die Anfrage konnte nicht bearbeitet werden.", en: "The request could not be processed.")
            }
            return AppError(.internalServerError, "internal", de: "Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später erneut.",
                            en: "An internal error occurred. Please try again later.")
        }
    }

    static func wantsJSON(_ req: Request) -> Bool {
        if req.url.path.hasPrefix("/api/") || req.url.path.hasPrefix("/xbezahldienste/") || req.url.path.hasPrefix("/bezahlen/rueckmeldung/") || req.url.path == "/health" || req.url.path == "/metrics" { return true }
        let accept = req.headers.first(name: .accept) ?? ""
        return accept.contains("application/json") && !accept.contains("text/html")
    }

    func render(_ error: any Error, for req: Request) async -> Response {
        let e = Self.appError(from: error)
        if e.status.code >= 500 {
            req.logger.report(error: error)
        }
        if Self.wantsJSON(req) {
            return Self.problemResponse(e, lang: req.lang)
        }
        do {
            let page = try await req.page(title: req.t("error_title"), ErrorView(status: Int(e.status.code), message: e.message(req.lang)))
            let res = try await req.view.render("error", page).encodeResponse(for: req)
            res.status = e.status
            return res
        } catch {
            let res = Response(status: e.status, body: .init(string: e.message(req.lang)))
            res.headers.contentType = .plainText
            return res
        }
    }

    static func problemResponse(_ e: AppError, lang: Lang) -> Response {
        let problem = Problem(type: "https://rathaus.example/probleme/\(e.code)", title: e.status.reasonPhrase,
                              status: Int(e.status.code), detail: e.messageDE, code: e.code, field: e.field)
        let res = Response(status: e.status)
        res.headers.replaceOrAdd(name: .contentType, value: "application/problem+json; charset=utf-8")
        res.body = .init(data: (try? JSONEncoder().encode(problem)) ?? Data())
        if e.status == .unauthorized {
            res.headers.replaceOrAdd(name: .wwwAuthenticate, value: "Bearer realm=\"rathaus\"")
        }
        return res
    }
}

struct ErrorView: Encodable {
    var status: Int
    var message: String
}
