import Crypto
import CryptoExtras
import Foundation

/// Compact JWE (RFC 7516) in the one profile FIT-Connect uses: the content key wrapped with
/// RSA-OAEP-256 (RFC 7518 §4.3: OAEP with SHA-256 and MGF1-SHA-256), the content encrypted with
/// A256GCM, the protected header as additional authenticated data. `zip: DEF` is accepted on
/// receipt (inflated within the caller's limit) and never produced.
public enum JWE {
    public static let keyAlgorithm = "RSA-OAEP-256"
    public static let contentAlgorithm = "A256GCM"

    public struct Header: Codable, Sendable, Equatable {
        public var alg: String
        public var enc: String
        public var kid: String?
        public var cty: String?
        public var zip: String?
        public var typ: String?
        public var crit: [String]?
        public init(alg: String = JWE.keyAlgorithm, enc: String = JWE.contentAlgorithm, kid: String?, cty: String?) {
            self.alg = alg; self.enc = enc; self.kid = kid; self.cty = cty
        }
    }

    public struct Decrypted: Sendable {
        public let header: Header
        public let plaintext: Data
    }

    /// Encrypts for the recipient's public key (its `kid` goes into the header).
    public static func encrypt(_ plaintext: Data, for recipient: JWK, contentType: String? = nil, policy: KeyPolicy = .fitConnect) throws -> String {
        let key = try recipient.rsaEncryptionPublicKey(policy: policy)
        return try encrypt(plaintext, for: key, kid: recipient.kid ?? recipient.thumbprint, contentType: contentType)
    }

    public static func encrypt(_ plaintext: Data, for key: _RSA.Encryption.PublicKey, kid: String?, contentType: String?) throws -> String {
        let header = Header(kid: kid, cty: contentType)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let protected = Base64URL.encode(try enc.encode(header))
        let cek = SymmetricKey(size: .bits256)
        let wrapped = try cek.withUnsafeBytes { try key.encrypt(Data($0), padding: .PKCS1_OAEP_SHA256) }
        let nonce = AES.GCM.Nonce()
        let box = try AES.GCM.seal(plaintext, using: cek, nonce: nonce, authenticating: Data(protected.utf8))
        return [protected, Base64URL.encode(wrapped), Base64URL.encode(Data(nonce)), Base64URL.encode(box.ciphertext), Base64URL.encode(box.tag)]
            .joined(separator: ".")
    }

    /// Decrypts with a private JWK; refuses other algorithms, a foreign `kid`, tampering.
    public static func decrypt(_ compact: String, with key: JWK, policy: KeyPolicy = .fitConnect, maxPlaintext: Int) throws -> Decrypted {
        try decrypt(compact, with: key.rsaEncryptionPrivateKey(policy: policy), kid: key.kid, maxPlaintext: maxPlaintext)
    }

    /// Decrypts with a private key (e.g. read from the encrypted key store). `kid`: when given and
    /// the header names another key, the object was not meant for this key.
    public static func decrypt(_ compact: String, with key: _RSA.Encryption.PrivateKey, kid: String?, maxPlaintext: Int) throws -> Decrypted {
        // base64url grows by 4/3; header, key and tag add little — anything longer is refused unread
        guard compact.utf8.count <= maxPlaintext / 3 * 4 + 16 * 1024 else { throw JOSEError.tooLarge(limit: maxPlaintext) }
        let (parts, protected) = Base64URL.compactParts(compact)
        guard parts.count == 5 else { throw JOSEError.malformed("eine kompakte JWE hat fünf durch Punkte getrennte Teile, nicht \(parts.count)") }
        guard let headerData = parts[0], let header = try? JSONDecoder().decode(Header.self, from: headerData) else {
            throw JOSEError.malformed("der geschützte Kopf ist kein base64url-kodiertes JSON mit alg und enc")
        }
        guard header.alg == keyAlgorithm else { throw JOSEError.unsupportedAlgorithm(header.alg) }
        guard header.enc == contentAlgorithm else { throw JOSEError.unsupportedAlgorithm(header.enc) }
        if let zip = header.zip, zip != "DEF" { throw JOSEError.unsupportedAlgorithm("zip \(zip)") }
        if let crit = header.crit, !crit.isEmpty { throw JOSEError.unsupportedAlgorithm("crit \(crit.joined(separator: ", "))") }
        if let kid, let named = header.kid, named != kid { throw JOSEError.unknownKey(named) }
        guard let wrapped = parts[1], let iv = parts[2], let ciphertext = parts[3],
              let tag = parts[4] else { throw JOSEError.malformed("ein Teil ist kein base64url") }
        guard iv.count == 12 else { throw JOSEError.malformed("der Initialisierungsvektor hat \(iv.count) statt 12 Bytes") }
        guard tag.count == 16 else { throw JOSEError.malformed("das Authentifizierungs-Tag hat \(tag.count) statt 16 Bytes") }
        // one error for a wrong key and for tampering, so the answer is no oracle
        guard let cekData = try? key.decrypt(wrapped, padding: .PKCS1_OAEP_SHA256), cekData.count == 32 else { throw JOSEError.decryptionFailed }
        let plain = try openContent(cek: SymmetricKey(data: cekData), iv: iv, ciphertext: ciphertext, tag: tag, aad: protected)
        if header.zip == "DEF" {
            return Decrypted(header: header, plaintext: try RawInflate.inflate(plain, limit: maxPlaintext))
        }
        guard plain.count <= maxPlaintext else { throw JOSEError.tooLarge(limit: maxPlaintext) }
        return Decrypted(header: header, plaintext: plain)
    }

    /// The content layer alone (A256GCM with the header as AAD); separate so RFC 7516 A.1's
    /// vector, whose key wrapping (RSA-OAEP with SHA-1) this profile refuses, still checks it.
    static func openContent(cek: SymmetricKey, iv: Data, ciphertext: Data, tag: Data, aad: Data) throws -> Data {
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: iv), ciphertext: ciphertext, tag: tag)
            return try AES.GCM.open(box, using: cek, authenticating: aad)
        } catch { throw JOSEError.decryptionFailed }
    }

    /// The header of a compact JWE without decrypting (e.g. to pick the key by `kid`).
    public static func header(of compact: String) throws -> Header {
        guard let dot = compact.firstIndex(of: "."), let data = Base64URL.decode(compact[..<dot]),
              let h = try? JSONDecoder().decode(Header.self, from: data) else { throw JOSEError.malformed("kein lesbarer JWE-Kopf") }
        return h
    }
}
