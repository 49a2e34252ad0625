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
}

struct ResponsibilityResolvingKey: StorageKey { typealias Value = any ResponsibilityResolving }

extension Application {
    var responsibility: any ResponsibilityResolving {
        get { storage[ResponsibilityResolvingKey.self] ?? FinderResponsibility() }
        set { storage[ResponsibilityResolvingKey.self] = newValue }
    }
}
