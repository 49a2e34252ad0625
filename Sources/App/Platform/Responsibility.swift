import Vapor

/// An office as other features need it: where to send a case, where to send a person.
struct ResolvedOffice: Sendable, Encodable {
    var id: UUID
    var tenantARS: String
    var tenantName: String
    var name: String
    var street: String
    var postalCode: String
    var city: String
    var phone: String
    var email: String
    var hours: [String]
    var appointmentURL: String
}

/// The place a person lives in and the office responsible there for a LeiKa service.
struct PlaceResponsibility: Sendable {
    var placeARS: String
    var placeName: String
    var office: ResolvedOffice?
}

/// How online services ask "which office is responsible for this service at this place?"
/// without reaching into the finder's tables (the finder implements it).
protocol ResponsibilityResolving: Sendable {
    func responsibility(leika: String, placeARS: String, on req: Request) async throws -> PlaceResponsibility
    func office(_ id: UUID, on req: Request) async throws -> ResolvedOffice?
    func offices(ofTenant ars: String, on req: Request) async throws -> [ResolvedOffice]
    func tenantName(_ ars: String, on req: Request) async throws -> String
    /// A place as a person types it: name (umlauts, "Bad Berka" or "Bad Berka, Stadt"), postcode
    /// or, for links and the API, the 12-digit key. Several matches are returned, never guessed.
    func findPlace(_ text: String, on req: Request) async throws -> PlaceLookup
}

struct PlaceCandidate: Sendable, Encodable, Equatable { var ars: String; var name: String; var kreis: String }

enum PlaceLookup: Sendable, Equatable {
    case none
    case one(PlaceCandidate)
    case several([PlaceCandidate])
}

/// One way for every page that asks a person for a place: the field `ort` (name or postcode),
/// with `ars` for links once the place is known. German messages; keys are never asked of people.
struct PlaceChoice: Encodable {
    /// What the person typed (or the chosen place's name).
    var text: String = ""
    /// The chosen place's key, once unambiguous.
    var ars: String = ""
    var name: String = ""
    var candidates: [PlaceCandidate] = []
    var hasCandidates = false
    var error: String? = nil

    /// Reads `ars` (from a link) or `ort` (typed) from the query.
    static func from(_ req: Request) async throws -> PlaceChoice {
        let ars = (req.query[String.self, at: "ars"] ?? "").trimmingCharacters(in: .whitespaces)
        let text = String((req.query[String.self, at: "ort"] ?? "").trimmingCharacters(in: .whitespaces).prefix(100))
        var c = PlaceChoice(text: text)
        let lookup = ars.isEmpty ? text : ars
        guard !lookup.isEmpty else { return c }
        if !ars.isEmpty, !(ars.count == 12 && ars.allSatisfy(\.isNumber)) {
            c.error = req.lang == .en ? "Please enter your place by name or postcode." : "Bitte geben Sie Ihren Ort mit Namen oder Postleitzahl an."
            return c
        }
        switch try await req.application.responsibility.findPlace(lookup, on: req) {
        case .none:
            c.error = req.lang == .en ? "No municipality in Thuringia is known by “\(String(lookup.prefix(40)))”. Please check the name or postcode."
                : "Zu „\(String(lookup.prefix(40)))“ ist keine Thüringer Gemeinde bekannt. Bitte prüfen Sie Namen oder Postleitzahl."
        case .one(let p):
            c.ars = p.ars; c.name = p.name
            if c.text.isEmpty { c.text = p.name }
        case .several(let list):
            c.candidates = list
            c.hasCandidates = true
        }
        return c
    }
}

struct ResponsibilityResolvingKey: StorageKey { typealias Value = any ResponsibilityResolving }

extension Application {
    var responsibility: any ResponsibilityResolving {
        get { storage[ResponsibilityResolvingKey.self] ?? FinderResponsibility() }
        set { storage[ResponsibilityResolvingKey.self] = newValue }
    }
}
