import Foundation

/// Any JSON value (claims of an ID token, members of FIT-Connect metadata we pass through).
public enum JSONValue: Codable, Sendable, Equatable {
    case string(String), number(Double), bool(Bool), null, array([JSONValue]), object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var number: Double? { if case .number(let n) = self { n } else { nil } }
    public var bool: Bool? {
        switch self { case .bool(let b): b; case .string(let s): s == "true" ? true : (s == "false" ? false : nil); default: nil }
    }
}

/// Why an ID token was refused (OpenID Connect Core 1.0 §3.1.3.7), with a German message.
public enum IDTokenError: Error, Equatable, Sendable, CustomStringConvertible {
    case jose(JOSEError)
    case wrongIssuer
    case wrongAudience
    case expired
    case issuedInTheFuture
    case nonceMismatch
    case missingSubject
    case notJSON

    public var code: String {
        switch self {
        case .jose(let e): e.code
        case .wrongIssuer: "oidc.issuer"
        case .wrongAudience: "oidc.audience"
        case .expired: "oidc.expired"
        case .issuedInTheFuture: "oidc.iat"
        case .nonceMismatch: "oidc.nonce"
        case .missingSubject: "oidc.sub"
        case .notJSON: "oidc.payload"
        }
    }

    public var description: String {
        switch self {
        case .jose(let e): e.description
        case .wrongIssuer: "Das ID-Token stammt nicht vom eingerichteten Identitätsanbieter."
        case .wrongAudience: "Das ID-Token ist nicht für Rathaus ausgestellt."
        case .expired: "Das ID-Token ist abgelaufen."
        case .issuedInTheFuture: "Das ID-Token trägt ein Ausstellungsdatum in der Zukunft."
        case .nonceMismatch: "Das ID-Token gehört nicht zu dieser Anmeldung (nonce)."
        case .missingSubject: "Das ID-Token nennt keine Kennung der Person (sub)."
        case .notJSON: "Das ID-Token enthält kein JSON-Objekt."
        }
    }
}

/// The checks a relying party owes an ID token before it believes it.
public struct IDTokenVerifier: Sendable {
    public var issuer: String
    public var clientID: String
    public var keys: [JWK]
    public var algorithms: Set<JWSAlgorithm>
    /// Clock skew tolerated between provider and Rathaus.
    public var leeway: TimeInterval = 60

    public init(issuer: String, clientID: String, keys: [JWK], algorithms: Set<JWSAlgorithm> = [.RS256, .PS256, .PS512, .ES256]) {
        self.issuer = issuer; self.clientID = clientID; self.keys = keys; self.algorithms = algorithms
    }

    public struct Verified: Sendable {
        public let subject: String
        public let claims: [String: JSONValue]
        public let header: JWS.Header
    }

    public func verify(_ token: String, nonce: String, now: Date = Date()) throws -> Verified {
        let signed: JWS.Verified
        do { signed = try JWS.verify(token, keys: keys, allowed: algorithms, policy: .openIDConnect, maxLength: 64 * 1024) }
        catch let e as JOSEError { throw IDTokenError.jose(e) }
        guard let claims = try? JSONDecoder().decode([String: JSONValue].self, from: signed.payload) else { throw IDTokenError.notJSON }
        guard claims["iss"]?.string == issuer else { throw IDTokenError.wrongIssuer }
        let audiences: [String]
        switch claims["aud"] {
        case .string(let s): audiences = [s]
        case .array(let a): audiences = a.compactMap(\.string)
        default: audiences = []
        }
        guard audiences.contains(clientID) else { throw IDTokenError.wrongAudience }
        if audiences.count > 1, claims["azp"]?.string != clientID { throw IDTokenError.wrongAudience }
        guard let exp = claims["exp"]?.number, now.timeIntervalSince1970 < exp + leeway else { throw IDTokenError.expired }
        if let iat = claims["iat"]?.number, iat > now.timeIntervalSince1970 + leeway { throw IDTokenError.issuedInTheFuture }
        guard let n = claims["nonce"]?.string, n == nonce else { throw IDTokenError.nonceMismatch }
        guard let sub = claims["sub"]?.string, !sub.isEmpty, sub.utf8.count <= 255 else { throw IDTokenError.missingSubject }
        return Verified(subject: sub, claims: claims, header: signed.header)
    }
}
