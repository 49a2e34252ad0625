import Crypto
import CryptoExtras
import Foundation

/// A JSON Web Key (RFC 7517) as FIT-Connect and OpenID Connect publish them: RSA keys with
/// `alg`, `key_ops`, `kid` and optionally an `x5c` chain; EC P-256 keys for identity providers that
/// sign with ES256. Private members (`d`, `p`, `q`, …) are present only in private keys.
public struct JWK: Codable, Sendable, Equatable {
    public var kty: String
    public var kid: String?
    public var alg: String?
    public var use: String?
    public var keyOps: [String]?
    public var n: String?
    public var e: String?
    public var d: String?
    public var p: String?
    public var q: String?
    public var dp: String?
    public var dq: String?
    public var qi: String?
    public var crv: String?
    public var x: String?
    public var y: String?
    /// Certificate chain (base64, not base64url, per RFC 7517 §4.7). Kept and passed on; checking
    /// the chain against a trust anchor is the caller's business.
    public var x5c: [String]?

    enum CodingKeys: String, CodingKey {
        case kty, kid, alg, use, n, e, d, p, q, dp, dq, qi, crv, x, y, x5c
        case keyOps = "key_ops"
    }

    public init(kty: String, kid: String? = nil, alg: String? = nil, use: String? = nil, keyOps: [String]? = nil,
                n: String? = nil, e: String? = nil) {
        self.kty = kty; self.kid = kid; self.alg = alg; self.use = use; self.keyOps = keyOps; self.n = n; self.e = e
    }

    public var isPrivate: Bool { d != nil }

    /// The same key without its private members (what may be published).
    public var publicKey: JWK {
        var k = self
        k.d = nil; k.p = nil; k.q = nil; k.dp = nil; k.dq = nil; k.qi = nil
        if let ops = keyOps {
            let map = ["unwrapKey": "wrapKey", "decrypt": "encrypt", "sign": "verify"]
            k.keyOps = ops.map { map[$0] ?? $0 }
        }
        return k
    }

    /// Length of the RSA modulus in bits, from `n` (leading zero bytes ignored).
    public var rsaModulusBits: Int? {
        guard kty == "RSA", let n, let bytes = Base64URL.decode(n) else { return nil }
        let trimmed = bytes.drop { $0 == 0 }
        guard let first = trimmed.first else { return 0 }
        return (trimmed.count - 1) * 8 + (8 - first.leadingZeroBitCount)
    }

    /// Public JWK of an RSA key.
    public static func rsa(modulus: Data, exponent: Data, kid: String, alg: String, keyOps: [String]) -> JWK {
        JWK(kty: "RSA", kid: kid, alg: alg, keyOps: keyOps, n: Base64URL.encode(modulus.drop { $0 == 0 }), e: Base64URL.encode(exponent.drop { $0 == 0 }))
    }

    /// Thumbprint (RFC 7638, SHA-256) — a stable `kid` for a key that has none.
    public var thumbprint: String? {
        guard kty == "RSA", let n, let e else { return nil }
        return Base64URL.encode(Data(SHA256.hash(data: Data("{\"e\":\"\(e)\",\"kty\":\"RSA\",\"n\":\"\(n)\"}".utf8))))
    }
}

/// A key set (RFC 7517 §5), e.g. an identity provider's `jwks_uri` or the Zustelldienst's SET keys.
public struct JWKS: Codable, Sendable, Equatable {
    public var keys: [JWK]
    public init(keys: [JWK]) { self.keys = keys }
}

/// What a use of a key demands. FIT-Connect: RSA keys of at least 4096 bits that name their
/// algorithm and operations. OpenID Connect providers commonly sign with 2048-bit RSA keys that do
/// not carry `alg` or `key_ops`.
public struct KeyPolicy: Sendable {
    public var minimumRSABits: Int
    public var requireAlgAndKeyOps: Bool
    public init(minimumRSABits: Int, requireAlgAndKeyOps: Bool) {
        self.minimumRSABits = minimumRSABits; self.requireAlgAndKeyOps = requireAlgAndKeyOps
    }
    public static let fitConnect = KeyPolicy(minimumRSABits: 4096, requireAlgAndKeyOps: true)
    public static let openIDConnect = KeyPolicy(minimumRSABits: 2048, requireAlgAndKeyOps: false)
    /// Private keys brought along: 4096 bits; `alg`/`key_ops` checked when the JWK has them.
    public static let imported = KeyPolicy(minimumRSABits: 4096, requireAlgAndKeyOps: false)
}

extension JWK {
    /// Checks kty, the declared algorithm, the permitted operation and the key size.
    func check(alg expected: String, operation: String, policy: KeyPolicy) throws {
        guard kty == "RSA" else { throw JOSEError.invalidKey("Schlüsseltyp \(kty) statt RSA") }
        if let alg, alg != expected { throw JOSEError.keyNotAllowed("der Schlüssel ist für \(alg) bestimmt, nicht für \(expected)") }
        if policy.requireAlgAndKeyOps && alg == nil { throw JOSEError.keyNotAllowed("der Schlüssel nennt kein Verfahren (alg)") }
        if let ops = keyOps {
            guard ops.contains(operation) else { throw JOSEError.keyNotAllowed("key_ops erlaubt „\(operation)“ nicht") }
        } else if policy.requireAlgAndKeyOps {
            throw JOSEError.keyNotAllowed("der Schlüssel nennt keine erlaubten Operationen (key_ops)")
        }
        guard let bits = rsaModulusBits else { throw JOSEError.invalidKey("Modulus n fehlt oder ist kein base64url") }
        guard bits >= policy.minimumRSABits else { throw JOSEError.keyTooSmall(bits: bits, minimum: policy.minimumRSABits) }
    }

    func member(_ value: String?, _ name: String) throws -> Data {
        guard let value, let data = Base64URL.decode(value), !data.isEmpty else { throw JOSEError.invalidKey("\(name) fehlt oder ist kein base64url") }
        return data
    }

    public func rsaEncryptionPublicKey(policy: KeyPolicy) throws -> _RSA.Encryption.PublicKey {
        try check(alg: JWE.keyAlgorithm, operation: "wrapKey", policy: policy)
        do { return try _RSA.Encryption.PublicKey(n: member(n, "n"), e: member(e, "e")) } catch let e as JOSEError { throw e } catch {
            throw JOSEError.invalidKey("RSA-Schlüssel nicht lesbar")
        }
    }

    public func rsaEncryptionPrivateKey(policy: KeyPolicy) throws -> _RSA.Encryption.PrivateKey {
        try check(alg: JWE.keyAlgorithm, operation: "unwrapKey", policy: policy)
        do { return try _RSA.Encryption.PrivateKey(n: member(n, "n"), e: member(e, "e"), d: member(d, "d"), p: member(p, "p"), q: member(q, "q")) }
        catch let e as JOSEError { throw e } catch { throw JOSEError.invalidKey("privater RSA-Schlüssel nicht lesbar") }
    }

    public func rsaSigningPublicKey(alg: JWSAlgorithm, policy: KeyPolicy) throws -> _RSA.Signing.PublicKey {
        try check(alg: alg.rawValue, operation: "verify", policy: policy)
        do { return try _RSA.Signing.PublicKey(n: member(n, "n"), e: member(e, "e")) } catch let e as JOSEError { throw e } catch {
            throw JOSEError.invalidKey("RSA-Schlüssel nicht lesbar")
        }
    }

    public func rsaSigningPrivateKey(alg: JWSAlgorithm, policy: KeyPolicy) throws -> _RSA.Signing.PrivateKey {
        try check(alg: alg.rawValue, operation: "sign", policy: policy)
        do { return try _RSA.Signing.PrivateKey(n: member(n, "n"), e: member(e, "e"), d: member(d, "d"), p: member(p, "p"), q: member(q, "q")) }
        catch let e as JOSEError { throw e } catch { throw JOSEError.invalidKey("privater RSA-Schlüssel nicht lesbar") }
    }
}

/// A key pair Rathaus generates (FIT-Connect destination keys, the test Zustelldienst's SET key):
/// the private key as PKCS#8 PEM (stored encrypted by the caller) and its public JWK.
public struct RSAKeyPair: Sendable {
    public let privateKeyPEM: String
    public let publicJWK: JWK

    /// An existing pair (imported keys, test fixtures).
    public init(privateKeyPEM: String, publicJWK: JWK) {
        self.privateKeyPEM = privateKeyPEM; self.publicJWK = publicJWK
    }

    /// A new RSA-4096 key for RSA-OAEP-256 key wrapping (`key_ops: wrapKey`).
    public static func newEncryptionKey(kid: String) throws -> RSAKeyPair {
        let k = try _RSA.Encryption.PrivateKey(keySize: .bits4096)
        let p = try k.publicKey.getKeyPrimitives()
        return try pair(k.pkcs8PEMRepresentation, bits: k.keySizeInBits, p.modulus, p.publicExponent, kid: kid, alg: JWE.keyAlgorithm, keyOps: ["wrapKey"])
    }

    /// A new RSA-4096 key for PS512 signatures (`key_ops: verify` in the public JWK).
    public static func newSigningKey(kid: String) throws -> RSAKeyPair {
        let k = try _RSA.Signing.PrivateKey(keySize: .bits4096)
        let p = try k.publicKey.getKeyPrimitives()
        return try pair(k.pkcs8PEMRepresentation, bits: k.keySizeInBits, p.modulus, p.publicExponent, kid: kid, alg: JWSAlgorithm.PS512.rawValue, keyOps: ["verify"])
    }

    /// An existing private key brought along (a destination moved from other software): PEM
    /// (PKCS#8 or PKCS#1) or a private JWK; RSA with at least 4096 bits, a JWK's own `alg` and
    /// `key_ops` must fit the use. The public JWK gets this `kid` unless the JWK has one.
    public static func importEncryptionKey(_ text: String, kid: String) throws -> RSAKeyPair {
        let jwk = try privateJWK(text)
        let k = try jwk?.rsaEncryptionPrivateKey(policy: .imported) ?? pem { try _RSA.Encryption.PrivateKey(pemRepresentation: text) }
        let p = try k.publicKey.getKeyPrimitives()
        return try pair(k.pkcs8PEMRepresentation, bits: k.keySizeInBits, p.modulus, p.publicExponent, kid: jwk?.kid ?? kid,
                        alg: JWE.keyAlgorithm, keyOps: ["wrapKey"])
    }

    public static func importSigningKey(_ text: String, kid: String) throws -> RSAKeyPair {
        let jwk = try privateJWK(text)
        let k = try jwk?.rsaSigningPrivateKey(alg: .PS512, policy: .imported) ?? pem { try _RSA.Signing.PrivateKey(pemRepresentation: text) }
        let p = try k.publicKey.getKeyPrimitives()
        return try pair(k.pkcs8PEMRepresentation, bits: k.keySizeInBits, p.modulus, p.publicExponent, kid: jwk?.kid ?? kid,
                        alg: JWSAlgorithm.PS512.rawValue, keyOps: ["verify"])
    }

    /// The one place a key pair is assembled: the FIT-Connect minimum size, the public JWK with its use.
    static func pair(_ privatePEM: String, bits: Int, _ modulus: Data, _ exponent: Data, kid: String, alg: String,
                     keyOps: [String]) throws -> RSAKeyPair {
        guard bits >= 4096 else { throw JOSEError.keyTooSmall(bits: bits, minimum: 4096) }
        return RSAKeyPair(privateKeyPEM: privatePEM,
                          publicJWK: .rsa(modulus: modulus, exponent: exponent, kid: kid, alg: alg, keyOps: keyOps))
    }

    static func pem<K>(_ read: () throws -> K) throws -> K {
        do { return try read() } catch { throw JOSEError.invalidKey("kein privater RSA-Schlüssel (PEM oder JWK)") }
    }

    static func privateJWK(_ text: String) throws -> JWK? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix("{") else { return nil }
        guard let jwk = try? JSONDecoder().decode(JWK.self, from: Data(t.utf8)) else { throw JOSEError.invalidKey("JWK nicht lesbar") }
        guard jwk.isPrivate else { throw JOSEError.invalidKey("der JWK enthält keinen privaten Schlüssel (d fehlt)") }
        return jwk
    }
}
