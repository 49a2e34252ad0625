import Crypto
import CryptoExtras
import Foundation
import XCTest
import TestFixtures
@testable import JOSE

final class JOSETests: XCTestCase {
    struct Vector: Decodable { let source: String; let jwk: JWK; let compact: String; let plaintext: String? }

    static let vectors: [String: Vector] = {
        guard let data = try? Data(contentsOf: TestData.fixture("jose/rfc-vectors.json")),
              let v = try? JSONDecoder().decode([String: Vector].self, from: data) else { return [:] }
        return v
    }()

    /// Generating RSA-4096 keys takes a second each: one pair per kind for the whole class.
    nonisolated(unsafe) static var encKey: RSAKeyPair?
    nonisolated(unsafe) static var sigKey: RSAKeyPair?
    func keys() throws -> (enc: RSAKeyPair, sig: RSAKeyPair) {
        if Self.encKey == nil { Self.encKey = try RSAKeyPair.newEncryptionKey(kid: "rathaus-enc-1") }
        if Self.sigKey == nil { Self.sigKey = try RSAKeyPair.newSigningKey(kid: "rathaus-sig-1") }
        return (try XCTUnwrap(Self.encKey), try XCTUnwrap(Self.sigKey))
    }

    func vector(_ name: String) throws -> Vector { try XCTUnwrap(Self.vectors[name], "Fixture jose/rfc-vectors.json fehlt: \(name)") }

    func testBase64URLIsStrict() {
        XCTAssertEqual(Base64URL.encode(Data([0xfb, 0xff])), "-_8")
        XCTAssertEqual(Base64URL.decode("-_8"), Data([0xfb, 0xff]))
        for s in ["-_8=", "+/8", "a b", "A", "Zm9v\n", "Zm9vä", "Zm9\u{0}"] { XCTAssertNil(Base64URL.decode(s), s) }
        // compact serialisations are split on the bytes; an empty part is empty, not missing
        let (parts, first) = Base64URL.compactParts("Zm9v..YmFy.-_8.")
        XCTAssertEqual(parts, [Data("foo".utf8), Data(), Data("bar".utf8), Data([0xfb, 0xff]), Data()])
        XCTAssertEqual(first, Data("Zm9v".utf8))
        XCTAssertEqual(Base64URL.compactParts("Zm9v").parts, [Data("foo".utf8)])
        XCTAssertEqual(Base64URL.compactParts("Zm9v.a+b").parts.last, .some(nil), "a bad part stays recognisable")
        for n in 0..<40 {
            let d = Data((0..<n).map { UInt8(($0 * 37 + n) & 0xff) })
            XCTAssertEqual(Base64URL.decode(Base64URL.encode(d)), d)
            XCTAssertEqual(Base64URL.encode(d), d.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: ""))
        }
    }

    // MARK: RFC test vectors

    func testRFC7515A2RS256() throws {
        let v = try vector("rfc7515_A2_RS256")
        let pub = v.jwk.publicKey
        let ok = try JWS.verify(v.compact, keys: [pub], allowed: [.RS256], policy: .openIDConnect)
        XCTAssertTrue(String(decoding: ok.payload, as: UTF8.self).contains("\"iss\":\"joe\""))
        // the FIT-Connect profile neither allows RS256 nor 2048-bit keys
        XCTAssertThrowsError(try JWS.verify(v.compact, keys: [pub], allowed: [.PS512], policy: .fitConnect)) {
            XCTAssertEqual($0 as? JOSEError, .unsupportedAlgorithm("RS256"))
        }
        XCTAssertThrowsError(try JWS.verify(v.compact, keys: [pub], allowed: [.RS256], policy: .fitConnect)) {
            XCTAssertEqual($0 as? JOSEError, .keyNotAllowed("der Schlüssel nennt kein Verfahren (alg)"))
        }
        var labelled = pub; labelled.alg = "RS256"; labelled.keyOps = ["verify"]
        XCTAssertThrowsError(try JWS.verify(v.compact, keys: [labelled], allowed: [.RS256], policy: .fitConnect)) {
            XCTAssertEqual($0 as? JOSEError, .keyTooSmall(bits: 2048, minimum: 4096))
        }
        var parts = v.compact.split(separator: ".").map(String.init)
        parts[1] = Base64URL.encode(Data("{\"iss\":\"mallory\"}".utf8))
        XCTAssertThrowsError(try JWS.verify(parts.joined(separator: "."), keys: [pub], allowed: [.RS256], policy: .openIDConnect)) {
            XCTAssertEqual($0 as? JOSEError, .signatureInvalid)
        }
    }

    func testRFC7520Section4_2PS384() throws {
        let v = try vector("rfc7520_4_2_PS384")
        let ok = try JWS.verify(v.compact, keys: [v.jwk], allowed: [.PS384], policy: .openIDConnect)
        XCTAssertTrue(String(decoding: ok.payload, as: UTF8.self).hasPrefix("It’s a dangerous business, Frodo"))
        XCTAssertEqual(ok.header.kid, "bilbo.baggins@hobbiton.example")
    }

    func testRFC7516A1ContentLayerAndRefusedKeyWrapping() throws {
        let v = try vector("rfc7516_A1_RSA_OAEP_A256GCM")
        // RSA-OAEP (SHA-1) is not the profile's key wrapping: refused with a typed error …
        XCTAssertThrowsError(try JWE.decrypt(v.compact, with: v.jwk, policy: .openIDConnect, maxPlaintext: 1000)) {
            XCTAssertEqual($0 as? JOSEError, .unsupportedAlgorithm("RSA-OAEP"))
        }
        var labelled = v.jwk; labelled.alg = "RSA-OAEP"
        XCTAssertThrowsError(try JWE.decrypt(v.compact, with: labelled, policy: .openIDConnect, maxPlaintext: 1000)) {
            XCTAssertEqual($0 as? JOSEError, .keyNotAllowed("der Schlüssel ist für RSA-OAEP bestimmt, nicht für RSA-OAEP-256"))
        }
        // … while its A256GCM content layer is checked against the vector: unwrap the key with SHA-1 OAEP here
        let p = v.compact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let d = { (s: String?) in Base64URL.decode(s ?? "") ?? Data() }
        let priv = try _RSA.Encryption.PrivateKey(n: d(v.jwk.n), e: d(v.jwk.e), d: d(v.jwk.d), p: d(v.jwk.p), q: d(v.jwk.q))
        let cek = try priv.decrypt(d(p[1]), padding: .PKCS1_OAEP)
        let plain = try JWE.openContent(cek: SymmetricKey(data: cek), iv: d(p[2]), ciphertext: d(p[3]), tag: d(p[4]), aad: Data(p[0].utf8))
        XCTAssertEqual(String(decoding: plain, as: UTF8.self), v.plaintext)
        var tag = d(p[4]); tag[0] ^= 1
        XCTAssertThrowsError(try JWE.openContent(cek: SymmetricKey(data: cek), iv: d(p[2]), ciphertext: d(p[3]), tag: tag, aad: Data(p[0].utf8)))
    }

    // MARK: round trips and every tampering

    func testJWERoundTripAndTampering() throws {
        let (enc, _) = try keys()
        let priv = try _RSA.Encryption.PrivateKey(pemRepresentation: enc.privateKeyPEM)
        let message = Data("{\"antrag\":\"Mutterschutz\",\"betrag\":\"1.234,56 €\"}".utf8)
        let jwe = try JWE.encrypt(message, for: enc.publicJWK, contentType: "application/json")
        let header = try JWE.header(of: jwe)
        XCTAssertEqual(header, JWE.Header(kid: "rathaus-enc-1", cty: "application/json"))
        XCTAssertNil(header.zip, "Rathaus never sends zip")
        XCTAssertEqual(try JWE.decrypt(jwe, with: priv, kid: "rathaus-enc-1", maxPlaintext: 1000).plaintext, message)
        XCTAssertThrowsError(try JWE.decrypt(jwe, with: priv, kid: "rathaus-enc-1", maxPlaintext: 10)) { XCTAssertEqual($0 as? JOSEError, .tooLarge(limit: 10)) }

        let parts = jwe.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func flip(_ i: Int) -> String {
            var raw = Base64URL.decode(parts[i]) ?? Data()
            raw[raw.count / 2] ^= 0x01
            var p = parts; p[i] = Base64URL.encode(raw)
            return p.joined(separator: ".")
        }
        // a changed header is authenticated data: the tag no longer matches
        var hdr = parts; hdr[0] = Base64URL.encode(Data("{\"alg\":\"RSA-OAEP-256\",\"cty\":\"text/plain\",\"enc\":\"A256GCM\",\"kid\":\"rathaus-enc-1\"}".utf8))
        for (name, tampered) in [("Kopf", hdr.joined(separator: ".")), ("Schlüssel", flip(1)), ("IV", flip(2)), ("Chiffrat", flip(3)), ("Tag", flip(4))] {
            XCTAssertThrowsError(try JWE.decrypt(tampered, with: priv, kid: "rathaus-enc-1", maxPlaintext: 1000), name) {
                XCTAssertEqual($0 as? JOSEError, .decryptionFailed, name)
            }
        }
        // malformed shapes
        for bad in ["", "a.b.c", parts.prefix(4).joined(separator: "."), "!!." + parts.dropFirst().joined(separator: "."),
                    parts[0] + "." + parts[1] + ".AAAA." + parts[3] + "." + parts[4]] {
            XCTAssertThrowsError(try JWE.decrypt(bad, with: priv, kid: nil, maxPlaintext: 1000)) {
                guard case .malformed = $0 as? JOSEError else { return XCTFail("\(bad.prefix(20)): \($0)") }
            }
        }
        // foreign kid, other algorithms
        XCTAssertThrowsError(try JWE.decrypt(jwe, with: priv, kid: "anderer-schluessel", maxPlaintext: 1000)) { XCTAssertEqual($0 as? JOSEError, .unknownKey("rathaus-enc-1")) }
        for (h, refused) in [("{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}", "RSA1_5"), ("{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A128CBC-HS256\"}", "A128CBC-HS256"),
                             ("{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"zip\":\"GZIP\"}", "zip GZIP"), ("{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", "dir")] {
            var p = parts; p[0] = Base64URL.encode(Data(h.utf8))
            XCTAssertThrowsError(try JWE.decrypt(p.joined(separator: "."), with: priv, kid: nil, maxPlaintext: 1000)) { XCTAssertEqual($0 as? JOSEError, .unsupportedAlgorithm(refused)) }
        }
        // the wrong private key
        let other = try _RSA.Encryption.PrivateKey(keySize: .bits2048)
        XCTAssertThrowsError(try JWE.decrypt(jwe, with: other, kid: nil, maxPlaintext: 1000)) { XCTAssertEqual($0 as? JOSEError, .decryptionFailed) }
    }

    func testRecipientKeyRules() throws {
        let (enc, sig) = try keys()
        let small = try _RSA.Encryption.PrivateKey(keySize: .bits2048).publicKey.getKeyPrimitives()
        let smallJWK = JWK.rsa(modulus: small.modulus, exponent: small.publicExponent, kid: "klein", alg: "RSA-OAEP-256", keyOps: ["wrapKey"])
        XCTAssertThrowsError(try JWE.encrypt(Data(), for: smallJWK)) { XCTAssertEqual($0 as? JOSEError, .keyTooSmall(bits: 2048, minimum: 4096)) }
        XCTAssertThrowsError(try JWE.encrypt(Data(), for: sig.publicJWK)) {
            XCTAssertEqual($0 as? JOSEError, .keyNotAllowed("der Schlüssel ist für PS512 bestimmt, nicht für RSA-OAEP-256"))
        }
        var noOps = enc.publicJWK; noOps.keyOps = ["encrypt"]
        XCTAssertThrowsError(try JWE.encrypt(Data(), for: noOps)) { XCTAssertEqual($0 as? JOSEError, .keyNotAllowed("key_ops erlaubt „wrapKey“ nicht")) }
        var unnamed = enc.publicJWK; unnamed.alg = nil
        XCTAssertThrowsError(try JWE.encrypt(Data(), for: unnamed)) { XCTAssertEqual($0 as? JOSEError, .keyNotAllowed("der Schlüssel nennt kein Verfahren (alg)")) }
        var ec = enc.publicJWK; ec.kty = "EC"
        XCTAssertThrowsError(try JWE.encrypt(Data(), for: ec)) { XCTAssertEqual($0 as? JOSEError, .invalidKey("Schlüsseltyp EC statt RSA")) }
        // JSON shape of the published key
        let json = String(decoding: try JSONEncoder().encode(enc.publicJWK), as: UTF8.self)
        XCTAssertTrue(json.contains("\"key_ops\":[\"wrapKey\"]"), json)
        XCTAssertEqual(enc.publicJWK.rsaModulusBits, 4096)
    }

    /// Keys a destination brings from other software: PEM or private JWK, 4096 bits, fit for the use.
    func testImportingExistingPrivateKeys() throws {
        let pem = try TestData.text("fitconnect/keys/destination-enc.pem")
        let published = try JSONDecoder().decode(JWK.self, from: Data(try TestData.text("fitconnect/keys/destination-enc.pub.jwk.json").utf8))
        let imported = try RSAKeyPair.importEncryptionKey(pem, kid: "neu-enc")
        XCTAssertEqual(imported.publicJWK.n, published.n, "the same key")
        XCTAssertEqual(imported.publicJWK.keyOps, ["wrapKey"])
        XCTAssertEqual(imported.publicJWK.kid, "neu-enc")
        // it decrypts what was encrypted for the published key
        let jwe = try JWE.encrypt(Data("Antrag".utf8), for: imported.publicJWK)
        XCTAssertEqual(try JWE.decrypt(jwe, with: _RSA.Encryption.PrivateKey(pemRepresentation: imported.privateKeyPEM), kid: "neu-enc", maxPlaintext: 1024).plaintext,
                       Data("Antrag".utf8))
        let sig = try RSAKeyPair.importSigningKey(try TestData.text("fitconnect/keys/destination-sig.pem"), kid: "neu-sig")
        XCTAssertEqual(sig.publicJWK.alg, "PS512")
        // refused: a short key, a public JWK, a JWK meant for signing used for encryption, garbage
        let small = try _RSA.Encryption.PrivateKey(keySize: .bits2048)
        XCTAssertThrowsError(try RSAKeyPair.importEncryptionKey(small.pemRepresentation, kid: "k")) {
            XCTAssertEqual($0 as? JOSEError, .keyTooSmall(bits: 2048, minimum: 4096))
        }
        let publicOnly = String(decoding: try JSONEncoder().encode(published), as: UTF8.self)
        XCTAssertThrowsError(try RSAKeyPair.importEncryptionKey(publicOnly, kid: "k")) {
            XCTAssertEqual($0 as? JOSEError, .invalidKey("der JWK enthält keinen privaten Schlüssel (d fehlt)"))
        }
        XCTAssertThrowsError(try RSAKeyPair.importEncryptionKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", kid: "k"))
    }

    func testZipDEFIsAcceptedOnReceiptWithinTheLimit() throws {
        let (enc, _) = try keys()
        let priv = try _RSA.Encryption.PrivateKey(pemRepresentation: enc.privateKeyPEM)
        let pub = try enc.publicJWK.rsaEncryptionPublicKey(policy: .fitConnect)
        func sealed(_ plaintext: Data, zip: Bool, alreadyCompressed: Bool = false) throws -> String {
            let h = zip ? "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"kid\":\"rathaus-enc-1\",\"zip\":\"DEF\"}" : "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}"
            let protected = Base64URL.encode(Data(h.utf8))
            let cek = SymmetricKey(size: .bits256)
            let wrapped = try cek.withUnsafeBytes { try pub.encrypt(Data($0), padding: .PKCS1_OAEP_SHA256) }
            let body = zip && !alreadyCompressed ? try Self.rawDeflate(plaintext) : plaintext
            let box = try AES.GCM.seal(body, using: cek, authenticating: Data(protected.utf8))
            return [protected, Base64URL.encode(wrapped), Base64URL.encode(Data(box.nonce)), Base64URL.encode(box.ciphertext), Base64URL.encode(box.tag)].joined(separator: ".")
        }
        let text = Data(String(repeating: "Antrag auf Mutterschaftsleistungen. ", count: 200).utf8)
        XCTAssertEqual(try JWE.decrypt(sealed(text, zip: true), with: priv, kid: "rathaus-enc-1", maxPlaintext: 10_000).plaintext, text)
        // 50 MB of zeros compress to ~50 kB: refused at the limit, never inflated whole
        let bomb = try sealed(Data(count: 50_000_000), zip: true)
        XCTAssertLessThan(bomb.count, 200_000)
        XCTAssertThrowsError(try JWE.decrypt(bomb, with: priv, kid: nil, maxPlaintext: 1_000_000)) { XCTAssertEqual($0 as? JOSEError, .tooLarge(limit: 1_000_000)) }
        // garbage that claims to be DEFLATE
        XCTAssertThrowsError(try JWE.decrypt(sealed(Data([0xff, 0xfe, 0xfd, 0x00, 0x11]), zip: true, alreadyCompressed: true), with: priv, kid: nil, maxPlaintext: 1000)) {
            guard case .malformed = $0 as? JOSEError else { return XCTFail("\($0)") }
        }
    }

    /// zlib's format minus its 2-byte header and 4-byte Adler-32 trailer is raw DEFLATE.
    static func rawDeflate(_ data: Data) throws -> Data {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("jose-\(UUID().uuidString)")
        try data.write(to: tmp)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let (rc, out) = try ExternalTool.run(["python3", "-c", "import sys,zlib,base64; c=zlib.compressobj(9, zlib.DEFLATED, -15); d=open(sys.argv[1],'rb').read(); sys.stdout.write(base64.b64encode(c.compress(d)+c.flush()).decode())", tmp.path])
        guard rc == 0, let raw = Data(base64Encoded: out.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw XCTSkip("python3 fehlt") }
        return raw
    }

    func testJWSPS512RoundTripAndRefusals() throws {
        let (enc, sig) = try keys()
        let priv = try _RSA.Signing.PrivateKey(pemRepresentation: sig.privateKeyPEM)
        let payload = Data("{\"events\":{\"https://schema.fitko.de/fit-connect/events/accept-submission\":{}}}".utf8)
        let jws = try JWS.sign(payload, header: .init(alg: .PS512, kid: "rathaus-sig-1", typ: "secevent+jwt"), key: priv)
        let ok = try JWS.verify(jws, keys: [enc.publicJWK, sig.publicJWK], allowed: [.PS512], policy: .fitConnect)
        XCTAssertEqual(ok.payload, payload)
        XCTAssertEqual(ok.header.typ, "secevent+jwt")
        // PSS is randomised: two signatures differ, both verify
        XCTAssertNotEqual(jws, try JWS.sign(payload, header: .init(alg: .PS512, kid: "rathaus-sig-1"), key: priv))
        var p = jws.split(separator: ".").map(String.init)
        p[1] = Base64URL.encode(Data("{\"events\":{}}".utf8))
        XCTAssertThrowsError(try JWS.verify(p.joined(separator: "."), keys: [sig.publicJWK], allowed: [.PS512], policy: .fitConnect)) { XCTAssertEqual($0 as? JOSEError, .signatureInvalid) }
        XCTAssertThrowsError(try JWS.verify(jws, keys: [enc.publicJWK], allowed: [.PS512], policy: .fitConnect)) { XCTAssertEqual($0 as? JOSEError, .unknownKey("rathaus-sig-1")) }
        var wrongUse = enc.publicJWK; wrongUse.kid = "rathaus-sig-1"
        XCTAssertThrowsError(try JWS.verify(jws, keys: [wrongUse], allowed: [.PS512], policy: .fitConnect)) {
            XCTAssertEqual($0 as? JOSEError, .keyNotAllowed("der Schlüssel ist für RSA-OAEP-256 bestimmt, nicht für PS512"))
        }
        // "alg":"none" and algorithm confusion are refused before any key is touched
        let none = Base64URL.encode(Data("{\"alg\":\"none\"}".utf8)) + "." + p[1] + "."
        XCTAssertThrowsError(try JWS.verify(none, keys: [sig.publicJWK], allowed: [.PS512], policy: .fitConnect)) { XCTAssertEqual($0 as? JOSEError, .unsupportedAlgorithm("none")) }
        let hs = Base64URL.encode(Data("{\"alg\":\"HS256\",\"kid\":\"rathaus-sig-1\"}".utf8)) + "." + p[1] + ".AAAA"
        XCTAssertThrowsError(try JWS.verify(hs, keys: [sig.publicJWK], allowed: [.PS512], policy: .fitConnect)) { XCTAssertEqual($0 as? JOSEError, .unsupportedAlgorithm("HS256")) }
    }

    // MARK: interoperability with an independent implementation (jwcrypto)

    func testInteroperabilityWithJwcrypto() throws {
        let (probe, _) = try ExternalTool.run(["python3", "-c", "import jwcrypto"])
        if probe != 0 {
            print("ÜBERSPRUNGEN (nur die Gegenprobe mit jwcrypto): bitte installieren: pip install jwcrypto")
            return
        }
        let (enc, sig) = try keys()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jose-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // 1 MB of varied bytes (not only text) so padding and block boundaries are exercised
        var message = Data(count: 1_000_003)
        message.withUnsafeMutableBytes { for i in 0..<$0.count { $0[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) } }
        func write(_ name: String, _ data: Data) throws { try data.write(to: dir.appendingPathComponent(name)) }
        try write("message.bin", message)
        try write("enc_priv.pem", Data(enc.privateKeyPEM.utf8))
        try write("enc_pub.jwk.json", JSONEncoder().encode(enc.publicJWK))
        try write("sig_pub.jwk.json", JSONEncoder().encode(sig.publicJWK))
        try write("rathaus.jwe", Data(JWE.encrypt(message, for: enc.publicJWK, contentType: "application/octet-stream").utf8))
        try write("rathaus.jws", Data(JWS.sign(message, header: .init(alg: .PS512, kid: "rathaus-sig-1"), key: _RSA.Signing.PrivateKey(pemRepresentation: sig.privateKeyPEM)).utf8))

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("interop.py")
        let (rc, out) = try ExternalTool.run(["python3", script.path, dir.path])
        XCTAssertEqual(rc, 0, out)
        struct Result: Decodable { let rathaus_jwe_decrypted: Bool; let rathaus_jws_verified: Bool; let tampered_jws_refused: Bool; let rathaus_jwe_header: [String: String] }
        let line = try XCTUnwrap(out.split(separator: "\n").last)
        let r = try JSONDecoder().decode(Result.self, from: Data(line.utf8))
        XCTAssertTrue(r.rathaus_jwe_decrypted, "jwcrypto decrypts Rathaus's JWE")
        XCTAssertTrue(r.rathaus_jws_verified, "jwcrypto verifies Rathaus's PS512 signature")
        XCTAssertTrue(r.tampered_jws_refused)
        XCTAssertEqual(r.rathaus_jwe_header["alg"], "RSA-OAEP-256")
        XCTAssertEqual(r.rathaus_jwe_header["enc"], "A256GCM")

        func read(_ name: String) throws -> String { try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) }
        let priv = try _RSA.Encryption.PrivateKey(pemRepresentation: enc.privateKeyPEM)
        XCTAssertEqual(try JWE.decrypt(read("python.jwe"), with: priv, kid: "rathaus-enc-1", maxPlaintext: 2_000_000).plaintext, message, "Rathaus decrypts jwcrypto's JWE")
        let zipped = try JWE.decrypt(read("python_zip.jwe"), with: priv, kid: "rathaus-enc-1", maxPlaintext: 2_000_000)
        XCTAssertEqual(zipped.header.zip, "DEF")
        XCTAssertEqual(zipped.plaintext, message, "Rathaus inflates jwcrypto's zip DEF")
        let pyPub = try JSONDecoder().decode(JWK.self, from: Data(read("py_sig_pub.jwk.json").utf8))
        XCTAssertEqual(try JWS.verify(read("python.jws"), keys: [pyPub], allowed: [.PS512], policy: .fitConnect, maxLength: 4_000_000).payload, message,
                       "Rathaus verifies jwcrypto's PS512 signature")
        let pyPriv = try JSONDecoder().decode(JWK.self, from: Data(read("py_enc_priv.jwk.json").utf8))
        XCTAssertTrue(pyPriv.isPrivate)
        XCTAssertEqual(try JWE.decrypt(read("python_own.jwe"), with: pyPriv, maxPlaintext: 2_000_000).plaintext, message, "private JWK from jwcrypto imports")
    }
}

/// ID-token checks of a relying party (OpenID Connect Core §3.1.3.7) with real RS256 signatures.
final class IDTokenTests: XCTestCase {
    nonisolated(unsafe) static var key: _RSA.Signing.PrivateKey?
    func signer() throws -> (_RSA.Signing.PrivateKey, JWK) {
        if Self.key == nil { Self.key = try _RSA.Signing.PrivateKey(keySize: .bits2048) }
        let k = try XCTUnwrap(Self.key)
        let prim = try k.publicKey.getKeyPrimitives()
        return (k, JWK(kty: "RSA", kid: "idp-1", n: Base64URL.encode(prim.modulus), e: Base64URL.encode(prim.publicExponent)))
    }

    func token(_ claims: [String: Any], alg: JWSAlgorithm = .RS256, kid: String = "idp-1", key: _RSA.Signing.PrivateKey? = nil) throws -> String {
        let payload = try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])
        return try JWS.sign(payload, header: .init(alg: alg, kid: kid, typ: "JWT"), key: key ?? signer().0)
    }

    let now = Date(timeIntervalSince1970: 1_796_000_000)
    var good: [String: Any] {
        ["iss": "http://127.0.0.1:9400", "aud": "rathaus", "sub": "erika", "nonce": "n-123", "iat": 1_796_000_000 - 5, "exp": 1_796_000_000 + 300,
         "given_name": "Erika", "acr": "STORK-QAA-Level-3"]
    }

    func verifier() throws -> IDTokenVerifier { IDTokenVerifier(issuer: "http://127.0.0.1:9400", clientID: "rathaus", keys: [try signer().1]) }

    func refused(_ claims: [String: Any], _ expected: IDTokenError, nonce: String = "n-123", file: StaticString = #filePath, line: UInt = #line) throws {
        let t = try token(claims)
        XCTAssertThrowsError(try verifier().verify(t, nonce: nonce, now: now), file: file, line: line) { XCTAssertEqual($0 as? IDTokenError, expected, file: file, line: line) }
    }

    func testAGoodTokenIsAccepted() throws {
        let v = try verifier().verify(try token(good), nonce: "n-123", now: now)
        XCTAssertEqual(v.subject, "erika")
        XCTAssertEqual(v.claims["acr"]?.string, "STORK-QAA-Level-3")
        var multi = good; multi["aud"] = ["rathaus", "andere"]; multi["azp"] = "rathaus"
        XCTAssertEqual(try verifier().verify(try token(multi), nonce: "n-123", now: now).subject, "erika")
    }

    func testEveryCheckRefuses() throws {
        var c = good; c["iss"] = "http://127.0.0.1:9401"; try refused(c, .wrongIssuer)
        c = good; c["iss"] = "http://127.0.0.1:9400/"; try refused(c, .wrongIssuer)
        c = good; c["aud"] = "fremder-client"; try refused(c, .wrongAudience)
        c = good; c["aud"] = ["rathaus", "andere"]; try refused(c, .wrongAudience)   // several audiences need azp
        c = good; c["exp"] = 1_796_000_000 - 61; try refused(c, .expired)
        c = good; c.removeValue(forKey: "exp"); try refused(c, .expired)
        c = good; c["iat"] = 1_796_000_000 + 3600; try refused(c, .issuedInTheFuture)
        try refused(good, .nonceMismatch, nonce: "n-anderer")
        c = good; c.removeValue(forKey: "nonce"); try refused(c, .nonceMismatch)
        c = good; c["sub"] = ""; try refused(c, .missingSubject)
    }

    func testSignatureKeyAndAlgorithmAreChecked() throws {
        let stranger = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        XCTAssertThrowsError(try verifier().verify(try token(good, key: stranger), nonce: "n-123", now: now)) { XCTAssertEqual($0 as? IDTokenError, .jose(.signatureInvalid)) }
        XCTAssertThrowsError(try verifier().verify(try token(good, kid: "idp-2"), nonce: "n-123", now: now)) { XCTAssertEqual($0 as? IDTokenError, .jose(.unknownKey("idp-2"))) }
        var v = try verifier(); v.algorithms = [.ES256]
        XCTAssertThrowsError(try v.verify(try token(good), nonce: "n-123", now: now)) { XCTAssertEqual($0 as? IDTokenError, .jose(.unsupportedAlgorithm("RS256"))) }
        // a token whose payload was swapped after signing
        var parts = try token(good).split(separator: ".").map(String.init)
        var evil = good; evil["sub"] = "mallory"
        parts[1] = Base64URL.encode(try JSONSerialization.data(withJSONObject: evil))
        XCTAssertThrowsError(try verifier().verify(parts.joined(separator: "."), nonce: "n-123", now: now)) { XCTAssertEqual($0 as? IDTokenError, .jose(.signatureInvalid)) }
    }
}
