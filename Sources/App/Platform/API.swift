import Vapor

/// The list shape of every `/api/v1` collection: `{"items": [...], "total": N, "next": "<cursor>"|null}`.
struct ListEnvelope<Item: Content>: Content {
    var items: [Item]
    var total: Int
    var next: String?

    enum CodingKeys: String, CodingKey { case items, total, next }

    init(items: [Item], total: Int, next: String?) {
        self.items = items; self.total = total; self.next = next
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(total, forKey: .total)
        try c.encode(next, forKey: .next) // explicit null, as the convention promises
    }
}

/// Paging parameters shared by API lists.
struct Paging {
    var limit: Int
    var cursor: String?

    static func from(_ req: Request, defaultLimit: Int = 50, maxLimit: Int = 1000) throws -> Paging {
        var limit = defaultLimit
        if let raw = req.query[String.self, at: "limit"] {
            guard let n = Int(raw), (1...maxLimit).contains(n) else {
                throw AppError.invalid("limit", de: "„limit“ muss eine ganze Zahl von 1 bis \(maxLimit) sein.",
                                       en: "limit must be an integer from 1 to \(maxLimit).")
            }
            limit = n
        }
        let cursor = req.query[String.self, at: "cursor"].flatMap { $0.isEmpty ? nil : $0 }
        if let cursor, cursor.count > 64 || !cursor.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) {
            throw AppError.invalid("cursor", de: "Der Cursor ist ungültig. Verwenden Sie den Wert aus „next“ der vorigen Antwort.",
                                   en: "Invalid cursor. Use the value of next from the previous response.")
        }
        return Paging(limit: limit, cursor: cursor)
    }
}

extension Request {
    /// Decodes a JSON body; anything unreadable is a 400 with a German message that echoes nothing.
    func decodeJSON<T: Decodable>(_ type: T.Type) throws -> T {
        guard let ct = headers.contentType, ct.type == "application", ct.subType == "json" else {
            throw AppError(.unsupportedMediaType, "unsupported_media_type",
                           de: "Bitte senden Sie die Daten als JSON (Content-Type: application/json).",
                           en: "Please send the data as JSON (Content-Type: application/json).")
        }
        do { return try content.decode(T.self) } catch {
            throw AppError(.badRequest, "bad_request", de: "Der Inhalt der Anfrage ist kein gültiges JSON dieses Formats. Bitte prüfen Sie Feldnamen und Datentypen.",
                           en: "The request body is not valid JSON of the expected shape.")
        }
    }
}
