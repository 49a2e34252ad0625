import RathausCore
import Vapor

/// Interface language: German first, English second.
enum Lang: String, Sendable, Codable {
    case de, en

    var catalogue: [String: String] { self == .en ? Texts.en : Texts.de }
}

extension Request {
    /// `?lang=` wins, then the `lang` cookie set by the switch, then `Accept-Language`, then German.
    var lang: Lang {
        if let q = try? query.get(String.self, at: "lang"), let l = Lang(rawValue: q) { return l }
        if let c = cookies["lang"]?.string, let l = Lang(rawValue: c) { return l }
        if let accept = headers.first(name: .acceptLanguage) {
            for part in accept.split(separator: ",") {
                let tag = part.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased()
                if tag.hasPrefix("de") { return .de }
                if tag.hasPrefix("en") { return .en }
            }
        }
        return .de
    }

    /// A text from the catalogue; a missing key shows itself so a test catches it.
    func t(_ key: String) -> String {
        lang.catalogue[key] ?? Texts.de[key] ?? key
    }
}

/// Makes the page's language known to everything that renders it (`DisplayLanguage`).
struct LanguageMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        try await DisplayLanguage.$english.withValue(request.lang == .en) { try await next.respond(to: request) }
    }
}
