import Crypto
import CryptoExtras
import Foundation

/// Signature algorithms (RFC 7518 §3). FIT-Connect signs with PS512 only; identity providers
/// commonly use RS256, PS256 or ES256. Which ones a caller accepts is its explicit choice.
public enum JWSAlgorithm: String, Sendable, CaseIterable, Codable {
    case RS256, PS256, PS384, PS512, ES256
}

/// Compact JWS (RFC 7515).
public enum JWS {
    public struct Header: Codable, Sendable, Equatable {
        public var alg: String
        public var kid: String?
        public var typ: String?
        public var cty: String?
        public var crit: [String]?
        public init(alg: JWSAlgorithm, kid: String?, typ: String? = nil, cty: String? = nil) {
            self.alg = alg.rawValue; self.kid = kid; self.typ = typ; self.cty = cty
        }
    }

    public struct Verified: Sendable {
        public let header: Header
        public let payload: Data
        public let key: JWK
    }

    /// The unverified header, to choose the key by `kid` before verifying. Nothing in it may be
    /// trusted until `verify` has passed.
    public static func header(of compact: String) throws -> Header {
        guard compact.utf8.count <= 1 << 20, let first = compact.split(separator: ".", omittingEmptySubsequences: false).first,
              let raw = Base64URL.decode(first), let h = try? JSONDecoder().decode(Header.self, from: raw) else {
            throw JOSEError.malformed("Kopf der JWS unlesbar")
        }
        return h
    }

    /// Signs with an RSA private key (PS256/PS384/PS512: RSASSA-PSS, MGF1 with the same hash,
    /// salt as long as the hash — swift-crypto's `.PSS`; RS256: PKCS#1 v1.5).
    public static func sign(_ payload: Data, header: Header, key: _RSA.Signing.PrivateKey) throws -> String {
        guard let alg = JWSAlgorithm(rawValue: header.alg), alg != .ES256 else { throw JOSEError.unsupportedAlgorithm(header.alg) }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let input = Base64URL.encode(try enc.encode(header)) + "." + Base64URL.encode(payload)
        let data = Data(input.utf8)
        let sig: _RSA.Signing.RSASignature
        switch alg {
        case .RS256: sig = try key.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
        case .PS256: sig = try key.signature(for: SHA256.hash(data: data), padding: .PSS)
        case .PS384: sig = try key.signature(for: SHA384.hash(data: data), padding: .PSS)
        case .PS512: sig = try key.signature(for: SHA512.hash(data: data), padding: .PSS)
        case .ES256: throw JOSEError.unsupportedAlgorithm(alg.rawValue)
        }
        return input + "." + Base64URL.encode(sig.rawRepresentation)
    }

    /// Signs with a private JWK (checks its `alg`, `key_ops` and size first).
    public static func sign(_ payload: Data, header: Header, key: JWK, policy: KeyPolicy = .fitConnect) throws -> String {
        guard let alg = JWSAlgorithm(rawValue: header.alg) else { throw JOSEError.unsupportedAlgorithm(header.alg) }
        return try sign(payload, header: header, key: key.rsaSigningPrivateKey(alg: alg, policy: policy))
    }

    /// Verifies against a key set: the header's `alg` must be allowed, its `kid` must name a key of
    /// the set (without `kid` only a set of one key is unambiguous), the key must permit the use.
    public static func verify(_ compact: String, keys: [JWK], allowed: Set<JWSAlgorithm>, policy: KeyPolicy, maxLength: Int = 1 << 20) throws -> Verified {
        guard compact.utf8.count <= maxLength else { throw JOSEError.tooLarge(limit: maxLength) }
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw JOSEError.malformed("eine kompakte JWS hat drei durch Punkte getrennte Teile, nicht \(parts.count)") }
        guard let headerData = Base64URL.decode(parts[0]), let header = try? JSONDecoder().decode(Header.self, from: headerData) else {
            throw JOSEError.malformed("der geschützte Kopf ist kein base64url-kodiertes JSON mit alg")
        }
        guard let alg = JWSAlgorithm(rawValue: header.alg), allowed.contains(alg) else { throw JOSEError.unsupportedAlgorithm(header.alg) }
        if let crit = header.crit, !crit.isEmpty { throw JOSEError.unsupportedAlgorithm("crit \(crit.joined(separator: ", "))") }
        guard let payload = Base64URL.decode(parts[1]), let signature = Base64URL.decode(parts[2]) else { throw JOSEError.malformed("ein Teil ist kein base64url") }
        let key: JWK
        if let kid = header.kid {
            guard let k = keys.first(where: { $0.kid == kid }) else { throw JOSEError.unknownKey(kid) }
            key = k
        } else {
            guard keys.count == 1, let k = keys.first else { throw JOSEError.unknownKey("(ohne kid)") }
            key = k
        }
        let input = Data(parts[0].utf8) + Data(".".utf8) + Data(parts[1].utf8)
        let ok: Bool
        switch alg {
        case .ES256:
            guard key.kty == "EC", key.crv == "P-256", let x = key.x.flatMap(Base64URL.decode), let y = key.y.flatMap(Base64URL.decode),
                  x.count == 32, y.count == 32 else { throw JOSEError.invalidKey("kein P-256-Schlüssel") }
            if let a = key.alg, a != alg.rawValue { throw JOSEError.keyNotAllowed("der Schlüssel ist für \(a) bestimmt") }
            guard let pub = try? P256.Signing.PublicKey(rawRepresentation: x + y) else { throw JOSEError.invalidKey("P-256-Punkt ungültig") }
            guard signature.count == 64, let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { throw JOSEError.signatureInvalid }
            ok = pub.isValidSignature(sig, for: SHA256.hash(data: input))
        default:
            let pub = try key.rsaSigningPublicKey(alg: alg, policy: policy)
            let sig = _RSA.Signing.RSASignature(rawRepresentation: signature)
            switch alg {
            case .RS256: ok = pub.isValidSignature(sig, for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
            case .PS256: ok = pub.isValidSignature(sig, for: SHA256.hash(data: input), padding: .PSS)
            case .PS384: ok = pub.isValidSignature(sig, for: SHA384.hash(data: input), padding: .PSS)
            case .PS512: ok = pub.isValidSignature(sig, for: SHA512.hash(data: input), padding: .PSS)
            case .ES256: ok = false
            }
        }
        guard ok else { throw JOSEError.signatureInvalid }
        return Verified(header: header, payload: payload, key: key)
    }
}

/// SHA-512 of content as FIT-Connect's metadata carries it (hex, lower case).
public enum ContentHash {
    public static func sha512Hex<D: DataProtocol>(_ data: D) -> String {
        SHA512.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
