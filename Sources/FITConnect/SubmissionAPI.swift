import Foundation

/// Everything that depends on the version of the FIT-Connect Submission API lives behind this
/// protocol: paths, media types and the names of the JSON members of requests and answers.
/// JOSE, the metadata and the SETs do not change with the API line, so a newer line is a second
/// conforming type (`SubmissionAPIV1` is the published 1.x API, paths under `/v1`).
public protocol SubmissionAPI: Sendable {
    var version: String { get }
    func createSubmission() -> Endpoint
    func uploadAttachment(submission: String, attachment: String) -> Endpoint
    func submit(submission: String) -> Endpoint
    func pickupList(destination: String, limit: Int, offset: Int) -> Endpoint
    func submission(_ id: String) -> Endpoint
    func attachment(submission: String, attachment: String) -> Endpoint
    func events(case caseID: String) -> Endpoint
    func postEvent(case caseID: String) -> Endpoint
    func destination(_ id: String) -> Endpoint
    func destinationKey(destination: String, kid: String) -> Endpoint
    var jwks: Endpoint { get }

    /// The body of "create submission" (announce attachments).
    func createBody(destination: String, attachments: [String], serviceName: String, serviceIdentifier: String, caseID: String?) throws -> Data
    /// The body of "submit" (the encrypted metadata and data).
    func submitBody(encryptedMetadata: String, encryptedData: String?) throws -> Data
}

/// One HTTP call of the API: method, path relative to the Zustelldienst's base URL, and the
/// media type of the request body.
public struct Endpoint: Sendable, Equatable {
    public enum Method: String, Sendable { case GET, POST, PUT }
    public let method: Method
    public let path: String
    public let contentType: String?
    public init(_ method: Method, _ path: String, contentType: String? = nil) {
        self.method = method; self.path = path; self.contentType = contentType
    }
}

public struct SubmissionAPIV1: SubmissionAPI {
    public init() {}
    public var version: String { "1.1.3" }

    /// Ids go into paths; only UUIDs are accepted so nothing else can reach the path.
    private func id(_ s: String) -> String {
        UUID(uuidString: s).map { $0.uuidString.lowercased() } ?? "00000000-0000-0000-0000-000000000000"
    }

    public func createSubmission() -> Endpoint { Endpoint(.POST, "/v1/submissions", contentType: "application/json") }
    public func uploadAttachment(submission: String, attachment: String) -> Endpoint {
        Endpoint(.PUT, "/v1/submissions/\(id(submission))/attachments/\(id(attachment))", contentType: "application/jose")
    }
    public func submit(submission: String) -> Endpoint { Endpoint(.PUT, "/v1/submissions/\(id(submission))", contentType: "application/json") }
    public func pickupList(destination: String, limit: Int, offset: Int) -> Endpoint {
        Endpoint(.GET, "/v1/submissions?destinationId=\(id(destination))&limit=\(min(max(limit, 1), 500))&offset=\(max(offset, 0))")
    }
    public func submission(_ sid: String) -> Endpoint { Endpoint(.GET, "/v1/submissions/\(id(sid))") }
    public func attachment(submission: String, attachment: String) -> Endpoint {
        Endpoint(.GET, "/v1/submissions/\(id(submission))/attachments/\(id(attachment))")
    }
    public func events(case caseID: String) -> Endpoint { Endpoint(.GET, "/v1/cases/\(id(caseID))/events") }
    public func postEvent(case caseID: String) -> Endpoint { Endpoint(.POST, "/v1/cases/\(id(caseID))/events", contentType: "application/jose") }
    public func destination(_ did: String) -> Endpoint { Endpoint(.GET, "/v1/destinations/\(id(did))") }
    public func destinationKey(destination: String, kid: String) -> Endpoint {
        let safeKid = kid.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? ""
        return Endpoint(.GET, "/v1/destinations/\(id(destination))/keys/\(safeKid)")
    }
    public var jwks: Endpoint { Endpoint(.GET, "/.well-known/jwks.json") }

    struct Create: Encodable {
        struct ServiceType: Encodable { let name: String; let identifier: String }
        let destinationId: String
        let announcedAttachments: [String]
        let serviceType: ServiceType
        let caseId: String?
    }

    struct Submit: Encodable {
        let encryptedMetadata: String
        let encryptedData: String?
    }

    public func createBody(destination: String, attachments: [String], serviceName: String, serviceIdentifier: String, caseID: String?) throws -> Data {
        try JSONEncoder().encode(Create(destinationId: id(destination), announcedAttachments: attachments.map(id),
                                        serviceType: .init(name: serviceName, identifier: serviceIdentifier), caseId: caseID.map(id)))
    }

    public func submitBody(encryptedMetadata: String, encryptedData: String?) throws -> Data {
        try JSONEncoder().encode(Submit(encryptedMetadata: encryptedMetadata, encryptedData: encryptedData))
    }
}
