import Foundation

/// Why a JOSE object or key was refused. Each case has a German message for people (clerks see it
/// in a FIT-Connect case, citizens in a sign-in error) and a stable code for logs and problem+json.
public enum JOSEError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a compact serialisation, bad base64url, unreadable JSON header.
    case malformed(String)
    /// `alg`, `enc` or `zip` outside what the profile allows.
    case unsupportedAlgorithm(String)
    /// An RSA key shorter than the profile's minimum (FIT-Connect: 4096 bits).
    case keyTooSmall(bits: Int, minimum: Int)
    /// The key's `alg` or `key_ops` forbids this use.
    case keyNotAllowed(String)
    /// A key the JWK cannot describe (kty, missing members).
    case invalidKey(String)
    /// No key in the set has the `kid` the object names.
    case unknownKey(String)
    /// Wrong key, tampered encrypted key, IV, ciphertext, tag or header.
    case decryptionFailed
    /// The signature does not verify with the key.
    case signatureInvalid
    /// The object or its inflated content exceeds the caller's limit.
    case tooLarge(limit: Int)

    public var code: String {
        switch self {
        case .malformed: "jose.malformed"
        case .unsupportedAlgorithm: "jose.unsupported_algorithm"
        case .keyTooSmall: "jose.key_too_small"
        case .keyNotAllowed: "jose.key_not_allowed"
        case .invalidKey: "jose.invalid_key"
        case .unknownKey: "jose.unknown_key"
        case .decryptionFailed: "jose.decryption_failed"
        case .signatureInvalid: "jose.signature_invalid"
        case .tooLarge: "jose.too_large"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let what): "Das JOSE-Objekt ist nicht lesbar: \(what)."
        case .unsupportedAlgorithm(let a): "Das Verfahren „\(a)“ ist nicht zugelassen."
        case .keyTooSmall(let bits, let min): "Der Schlüssel hat \(bits) Bit; verlangt sind mindestens \(min) Bit."
        case .keyNotAllowed(let why): "Der Schlüssel darf dafür nicht verwendet werden: \(why)."
        case .invalidKey(let why): "Der Schlüssel ist ungültig: \(why)."
        case .unknownKey(let kid): "Kein bekannter Schlüssel hat die Kennung „\(kid)“."
        case .decryptionFailed: "Die Entschlüsselung ist fehlgeschlagen (falscher Schlüssel oder veränderte Daten)."
        case .signatureInvalid: "Die Signatur ist ungültig."
        case .tooLarge(let limit): "Der Inhalt ist größer als erlaubt (höchstens \(limit) Bytes)."
        }
    }
}
