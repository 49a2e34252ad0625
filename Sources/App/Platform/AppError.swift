import Vapor
import RathausCore

/// The one error type features throw for things a user can fix or must be told about.
/// Carries the HTTP status, a stable code and the message in German and English.
/// Rendered as RFC 7807 problem+json for the API and as an error page / summary in HTML.
struct AppError: Error, AbortError, Sendable {
    let status: HTTPResponseStatus
    let code: String
    let messageDE: String
    let messageEN: String
    /// Form field the error belongs to, for the error summary's link.
    var field: String? = nil

    init(_ status: HTTPResponseStatus, _ code: String, de: String, en: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.messageDE = de
        self.messageEN = en
        self.field = field
    }

    init(_ status: HTTPResponseStatus, _ failure: ValidationFailure, field: String? = nil) {
        self.init(status, failure.code, de: failure.messageDE, en: failure.messageEN, field: field)
    }

    var reason: String { messageDE }
    func message(_ lang: Lang) -> String { lang == .en ? messageEN : messageDE }

    static let unauthenticated = AppError(.unauthorized, "auth.required",
        de: "Bitte melden Sie sich an.", en: "Please sign in.")
    static let forbidden = AppError(.forbidden, "auth.forbidden",
        de: "Sie sind für diese Aktion nicht berechtigt.", en: "You are not allowed to do this.")
    static let notFound = AppError(.notFound, "not_found",
        de: "Die angeforderte Seite oder Ressource gibt es nicht.", en: "The requested page or resource does not exist.")
    static let csrf = AppError(.forbidden, "csrf",
        de: "Das Formular ist abgelaufen oder ungültig. Bitte laden Sie die Seite neu und senden Sie es erneut.",
        en: "The form has expired or is invalid. Please reload the page and submit it again.")
    static func invalid(_ field: String, de: String, en: String) -> AppError {
        AppError(.badRequest, "validation", de: de, en: en, field: field)
    }
}

/// RFC 7807 body. `detail` is German, as the API convention of the platform says.
struct Problem: Content {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var code: String
    var field: String?
}
