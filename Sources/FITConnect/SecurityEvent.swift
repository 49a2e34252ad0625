import Crypto
import CryptoExtras
import Foundation
import JOSE

/// Security Event Tokens of the FIT-Connect event log (RFC 8417 as FIT-Connect profiles them):
/// compact JWS, `PS512`, header `typ: secevent+jwt`, claims `iss`, `iat`, `jti`, `sub`
/// (`submission:<id>`), `txn` (`case:<id>`) and exactly one event under `events`.
public struct SecurityEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case submitSubmission = "submit-submission"
        case notifySubmission = "notify-submission"
        case forwardSubmission = "forward-submission"
        case acceptSubmission = "accept-submission"
        case rejectSubmission = "reject-submission"
        case deleteSubmission = "delete-submission"

        public static let base = "https://schema.fitko.de/fit-connect/events/"
        public var uri: String { Self.base + rawValue }

        /// For people: the event log on the tenant's page and in the citizen's account.
        public var germanName: String {
            switch self {
            case .submitSubmission: return "beim Zustelldienst eingereicht"
            case .notifySubmission: return "Empfänger benachrichtigt"
            case .forwardSubmission: return "an den Empfänger weitergeleitet"
            case .acceptSubmission: return "vom Empfänger angenommen"
            case .rejectSubmission: return "vom Empfänger zurückgewiesen"
            case .deleteSubmission: return "beim Zustelldienst gelöscht"
            }
        }
    }

    public let kind: Kind
    public let issuer: String
    public let issuedAt: Date
    public let id: String
    public let submissionID: String
    public let caseID: String
    /// The event's own members (`authenticationTags`, `problems` …) as JSON.
    public let payload: [String: JSONValue]

    public init(kind: Kind, issuer: String, submissionID: String, caseID: String,
                payload: [String: JSONValue] = [:], issuedAt: Date = Date(), id: String = UUID().uuidString.lowercased()) {
        self.kind = kind; self.issuer = issuer; self.issuedAt = issuedAt; self.id = id
        self.submissionID = submissionID.lowercased(); self.caseID = caseID.lowercased(); self.payload = payload
    }

    public func signed(with key: _RSA.Signing.PrivateKey, kid: String) throws -> String {
        let claims: [String: JSONValue] = [
            "iss": .string(issuer), "iat": .number(Double(Int(issuedAt.timeIntervalSince1970))), "jti": .string(id),
            "sub": .string("submission:" + submissionID), "txn": .string("case:" + caseID),
            "events": .object([kind.uri: .object(payload)]),
        ]
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try JWS.sign(enc.encode(JSONValue.object(claims)), header: .init(alg: .PS512, kid: kid, typ: "secevent+jwt"), key: key)
    }

    /// Verifies a SET against the signer's keys (the Zustelldienst's JWKS or a destination's
    /// signing key) and reads it. Anything else than one known event, PS512 and the FIT-Connect
    /// key rules is refused.
    public static func verify(_ token: String, keys: [JWK]) throws -> SecurityEvent {
        let verified = try JWS.verify(token, keys: keys, allowed: [.PS512], policy: .fitConnect, maxLength: 256 * 1024)
        guard verified.header.typ == "secevent+jwt" else { throw SecurityEventError.malformed("typ ist nicht secevent+jwt") }
        guard case .object(let claims)? = try? JSONDecoder().decode(JSONValue.self, from: verified.payload) else {
            throw SecurityEventError.malformed("kein JSON-Objekt")
        }
        guard case .string(let iss)? = claims["iss"], case .string(let jti)? = claims["jti"],
              case .number(let iat)? = claims["iat"], case .string(let sub)? = claims["sub"], sub.hasPrefix("submission:"),
              case .string(let txn)? = claims["txn"], txn.hasPrefix("case:"),
              case .object(let events)? = claims["events"], events.count == 1, let (uri, body) = events.first,
              uri.hasPrefix(Kind.base), let kind = Kind(rawValue: String(uri.dropFirst(Kind.base.count))) else {
            throw SecurityEventError.malformed("Pflichtangaben fehlen oder das Ereignis ist unbekannt")
        }
        guard case .object(let payload) = body else { throw SecurityEventError.malformed("Ereignisinhalt ist kein Objekt") }
        return SecurityEvent(kind: kind, issuer: iss, submissionID: String(sub.dropFirst("submission:".count)),
                             caseID: String(txn.dropFirst("case:".count)), payload: payload,
                             issuedAt: Date(timeIntervalSince1970: iat), id: jti)
    }
}

public enum SecurityEventError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    public var description: String {
        switch self { case .malformed(let why): return "Das Ereignis (SET) ist ungültig: \(why)." }
    }
}

/// The problems of a `reject-submission`, as FIT-Connect names them, with a German text for the
/// clerk and the citizen. The receiver picks one per failed check.
public enum RejectionProblem: String, Sendable, CaseIterable {
    case hashMismatch = "hash-mismatch"
    case schemaViolation = "schema-violation"
    case unsupportedMetadataVersion = "unsupported-metadata-schema"
    case decryptionFailed = "encryption-issue"
    case missingAttachment = "missing-attachment"

    public static let base = "https://schema.fitko.de/fit-connect/events/problems/"
    public var type: String { Self.base + rawValue }

    public var germanText: String {
        switch self {
        case .hashMismatch: return "Eine Anlage oder die Fachdaten stimmen nicht mit dem Hashwert in den Metadaten überein: sie wurden unterwegs verändert."
        case .schemaViolation: return "Die Metadaten oder die Fachdaten entsprechen nicht dem Schema."
        case .unsupportedMetadataVersion: return "Die Version der Metadaten wird vom Empfänger nicht unterstützt."
        case .decryptionFailed: return "Die Einreichung konnte nicht entschlüsselt werden."
        case .missingAttachment: return "Eine in den Metadaten genannte Anlage fehlt."
        }
    }

    /// The `problems` member of a `reject-submission` event.
    public func eventPayload(detail: String, instance: String = "metadata") -> [String: JSONValue] {
        ["problems": .array([.object(["type": .string(type), "title": .string(germanText), "detail": .string(detail), "instance": .string(instance)])])]
    }

    /// Reads the problems of a received `reject-submission` for display; unknown types keep
    /// their title.
    public static func texts(in event: SecurityEvent) -> [String] {
        guard case .array(let list)? = event.payload["problems"] else { return [] }
        return list.compactMap { item in
            guard case .object(let o) = item else { return nil }
            if case .string(let t)? = o["type"], t.hasPrefix(base), let known = RejectionProblem(rawValue: String(t.dropFirst(base.count))) {
                // the detail names the part (and for a size refusal the limit)
                if case .string(let d)? = o["detail"], !d.isEmpty { return known.germanText + " (" + String(d.prefix(300)) + ")" }
                return known.germanText
            }
            if case .string(let title)? = o["title"] { return title }
            return nil
        }
    }
}
