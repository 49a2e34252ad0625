import Crypto
import CryptoExtras
import Foundation
import JOSE

/// The identification report of FIT-Connect's `authenticationInformation` (type
/// `identificationReport`): a signed JWT whose claims follow the public "Identification Report"
/// JSON schema 2.0.0 (Governikus, the schema FIT-Connect's metadata points to). The account
/// service that identified the person signs it; the receiving authority can later prove that an
/// identification at this level took place for exactly these data.
///
/// Rathaus binds a report to one submission: `contextInformation` names the sender's reference
/// and the service, `documentReferences` carries the SHA-512 of the Fachdaten. A report copied
/// onto other data therefore no longer fits.
public struct IdentificationReport: Codable, Sendable, Equatable {
    public static let schemaURI = "https://raw.githubusercontent.com/Governikus/IdentificationReport/2.0.0/schema/identification-report.json"
    /// The version written into `authenticationInformation[].version`.
    public static let version = "2.0.0"

    public struct DocumentReference: Codable, Sendable, Equatable {
        public var documentId: String?
        public var documentName: String?
        public var digestAlgorithm: String?
        public var digest: String?
        public init(documentId: String?, documentName: String?, digestAlgorithm: String?, digest: String?) {
            self.documentId = documentId; self.documentName = documentName; self.digestAlgorithm = digestAlgorithm; self.digest = digest
        }
    }

    /// eIDAS levels of assurance as the schema lists them (notified schemes); the national BSI
    /// values are read as well.
    public enum Level: String, Sendable, CaseIterable {
        case low = "http://eidas.europa.eu/LoA/low"
        case substantial = "http://eidas.europa.eu/LoA/substantial"
        case high = "http://eidas.europa.eu/LoA/high"

        /// Reads any value of the schema's list; "NotNotified" and BSI values map to the same rank.
        public static func read(_ uri: String) -> Level? {
            if let l = Level(rawValue: uri) { return l }
            switch uri {
            case "http://eidas.europa.eu/NotNotified/LoA/low", "http://bsi.bund.de/eID/LoA/normal": return .low
            case "http://eidas.europa.eu/NotNotified/LoA/substantial", "http://bsi.bund.de/eID/LoA/substantiell": return .substantial
            case "http://eidas.europa.eu/NotNotified/LoA/high", "http://bsi.bund.de/eID/LoA/hoch": return .high
            default: return nil
            }
        }
        public var german: String {
            switch self { case .low: return "niedrig"; case .substantial: return "substanziell"; case .high: return "hoch" }
        }
    }

    public var schema: String
    public var reportId: String
    public var serverIdentity: String
    public var reportTime: String
    public var identificationTime: String
    public var idStatus: String?
    public var idStatement: String?
    public var trustFramework: String?
    public var contextInformation: [String]?
    public var documentReferences: [DocumentReference]?
    public var levelOfAssurance: String

    enum CodingKeys: String, CodingKey {
        case schema = "$schema", reportId, serverIdentity, reportTime, identificationTime, idStatus, idStatement, trustFramework
        case contextInformation, documentReferences, levelOfAssurance
    }

    public init(serverIdentity: String, identifiedAt: Date, level: Level, statement: String, trustFramework: String,
                context: [String], dataDigest: String?, reportTime: Date = Date(), reportId: String = UUID().uuidString.lowercased()) {
        let f = ISO8601DateFormatter()
        self.schema = Self.schemaURI
        self.reportId = reportId
        self.serverIdentity = serverIdentity
        self.reportTime = f.string(from: reportTime)
        self.identificationTime = f.string(from: identifiedAt)
        self.idStatus = "success"
        self.idStatement = statement
        self.trustFramework = trustFramework
        self.contextInformation = context
        self.documentReferences = dataDigest.map { [DocumentReference(documentId: "data", documentName: "Fachdaten", digestAlgorithm: "SHA-512", digest: $0)] }
        self.levelOfAssurance = level.rawValue
    }

    /// The compact JWS for `authenticationInformation[].content` (PS512, `typ: JWT`).
    public func signed(with key: _RSA.Signing.PrivateKey, kid: String) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try JWS.sign(enc.encode(self), header: .init(alg: .PS512, kid: kid, typ: "JWT"), key: key)
    }

    /// The metadata entry carrying this report.
    public func authenticationInformation(with key: _RSA.Signing.PrivateKey, kid: String) throws -> Metadata.AuthenticationInformation {
        .init(type: Metadata.AuthenticationInformation.identificationReport, version: Self.version, content: try signed(with: key, kid: kid))
    }

    /// What the receiver learns from one report.
    public struct Examination: Sendable, Equatable {
        public enum Verdict: String, Sendable {
            /// signature of a trusted issuer valid, identification successful, bound to these data
            case verified
            /// well-formed, but the issuer is not among the trusted ones: the level is a claim only
            case unverifiable
            /// signature wrong, not readable, not successful, or made for other data
            case invalid
        }
        public var verdict: Verdict
        public var level: Level?
        public var issuer: String?
        public var identifiedAt: Date?
        /// For people: why the verdict is what it is (German).
        public var reason: String
    }

    /// Checks a report against the trusted issuers (`serverIdentity` → their public keys) and the
    /// SHA-512 of the received Fachdaten. Never throws: a bad report is a verdict the clerk sees.
    public static func examine(_ info: Metadata.AuthenticationInformation, trusted: [String: [JWK]], dataDigest: String?) -> Examination {
        var out = Examination(verdict: .invalid, level: nil, issuer: nil, identifiedAt: nil, reason: "")
        guard info.type == Metadata.AuthenticationInformation.identificationReport else {
            out.reason = "Unbekannte Art von Identifikationsnachweis „\(info.type.prefix(60))“."
            return out
        }
        guard info.version.split(separator: ".").first == "2" || info.version.split(separator: ".").first == "1" else {
            out.reason = "Version \(info.version.prefix(20)) des Identifikationsnachweises wird nicht unterstützt."
            return out
        }
        // the claims are read before the signature only to find the issuer's keys
        let parts = info.content.split(separator: ".", omittingEmptySubsequences: false)
        guard info.content.utf8.count <= 64 * 1024, parts.count == 3, let raw = Base64URL.decode(parts[1]),
              let claimed = try? JSONDecoder().decode(IdentificationReport.self, from: raw) else {
            out.reason = "Der Identifikationsnachweis ist kein lesbares signiertes Dokument (JWT)."
            return out
        }
        out.issuer = String(claimed.serverIdentity.prefix(200))
        out.level = Level.read(claimed.levelOfAssurance)
        out.identifiedAt = ISO8601DateFormatter().date(from: claimed.identificationTime)
        guard let keys = trusted[claimed.serverIdentity], !keys.isEmpty else {
            out.verdict = .unverifiable
            out.reason = "Der Aussteller \(out.issuer ?? "") ist hier nicht als vertrauenswürdig eingerichtet; das Vertrauensniveau ist nur behauptet."
            return out
        }
        let verified: JWS.Verified
        do {
            verified = try JWS.verify(info.content, keys: keys, allowed: [.PS512, .PS256, .RS256], policy: .openIDConnect, maxLength: 64 * 1024)
        } catch {
            out.reason = "Die Signatur des Identifikationsnachweises ist ungültig (\(error))."
            return out
        }
        // from here on only the verified claims count
        guard let report = try? JSONDecoder().decode(IdentificationReport.self, from: verified.payload) else {
            out.reason = "Der Inhalt des Identifikationsnachweises ist nicht lesbar."
            return out
        }
        out.level = Level.read(report.levelOfAssurance)
        out.identifiedAt = ISO8601DateFormatter().date(from: report.identificationTime)
        guard report.idStatus == nil || report.idStatus == "success" else {
            out.reason = "Die Identifizierung war laut Nachweis nicht erfolgreich (\(report.idStatus ?? ""))."
            return out
        }
        guard out.level != nil else {
            out.reason = "Das Vertrauensniveau „\(report.levelOfAssurance.prefix(80))“ ist unbekannt."
            return out
        }
        let digests = (report.documentReferences ?? []).filter { ($0.digestAlgorithm ?? "").uppercased().replacingOccurrences(of: "-", with: "") == "SHA512" }
        if !digests.isEmpty {
            guard let dataDigest, digests.contains(where: { $0.digest?.lowercased() == dataDigest }) else {
                out.reason = "Der Identifikationsnachweis wurde für andere Fachdaten ausgestellt."
                return out
            }
        }
        out.verdict = .verified
        out.reason = digests.isEmpty ? "Signatur geprüft; der Nachweis nennt die Fachdaten nicht." : "Signatur geprüft und an diese Fachdaten gebunden."
        return out
    }
}
