import Crypto
import CryptoExtras
import FIM
import Foundation
import JOSE
import Vapor

/// `rathaus bench jose` and `rathaus bench fim [datei.xml …]`: figures for the note, printed (no
/// assertions). JOSE: a 20 MB attachment encrypted and decrypted as compact JWE (RSA-OAEP-256 +
/// A256GCM) several times, MB/s of each direction, and PS512 signatures per second. FIM: reading
/// and mapping XDatenfelder schemas (default: the four real schemas of the test fixtures), median
/// of repeated runs per file.
enum ExchangeBench {
    static func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.isEmpty ? 0 : s[s.count / 2] }

    static func jose(_ console: any Console, seconds: Double) throws {
        let started = Date()
        let enc = try RSAKeyPair.newEncryptionKey(kid: "bench-enc")
        let sig = try RSAKeyPair.newSigningKey(kid: "bench-sig")
        console.print("Zwei RSA-4096-Schlüssel erzeugt in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        let priv = try _RSA.Encryption.PrivateKey(pemRepresentation: enc.privateKeyPEM)
        var plain = Data(count: 20 * 1024 * 1024)
        plain.withUnsafeMutableBytes { b in for i in stride(from: 0, to: b.count, by: 7) { b[i] = UInt8(truncatingIfNeeded: i >> 3) } }
        var encT: [Double] = [], decT: [Double] = []
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            var t = Date()
            let jwe = try JWE.encrypt(plain, for: enc.publicJWK, contentType: "application/pdf")
            encT.append(Date().timeIntervalSince(t))
            t = Date()
            let out = try JWE.decrypt(jwe, with: priv, kid: "bench-enc", maxPlaintext: 25 * 1024 * 1024)
            decT.append(Date().timeIntervalSince(t))
            guard out.plaintext.count == plain.count else { throw CommandFailure(message: "Rundreise fehlerhaft") }
        } while Date() < deadline || encT.count < 3
        let mb = Double(plain.count) / 1_048_576
        console.print("JWE 20 MB (\(encT.count) Läufe, Median): verschlüsseln \(String(format: "%.0f", mb / median(encT))) MB/s (\(String(format: "%.0f", median(encT) * 1000)) ms), entschlüsseln \(String(format: "%.0f", mb / median(decT))) MB/s (\(String(format: "%.0f", median(decT) * 1000)) ms)")
        let sk = try _RSA.Signing.PrivateKey(pemRepresentation: sig.privateKeyPEM)
        var n = 0
        let t0 = Date()
        while Date().timeIntervalSince(t0) < 1 {
            _ = try JWS.sign(Data("{\"jti\":\"\(n)\"}".utf8), header: .init(alg: .PS512, kid: "bench-sig", typ: "secevent+jwt"), key: sk)
            n += 1
        }
        console.print("PS512-Signaturen (RSA-4096): \(Int(Double(n) / Date().timeIntervalSince(t0)))/s")
    }

    static func fim(_ console: any Console, files: [String]) throws {
        var paths = files
        if paths.isEmpty {
            let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/fim/xdatenfelder/v2-fim")
            paths = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted().map { dir.appendingPathComponent($0).path }
        }
        guard !paths.isEmpty else { throw CommandFailure(message: "Keine XDatenfelder-Datei angegeben.") }
        for p in paths {
            let data = try Data(contentsOf: URL(fileURLWithPath: p))
            var times: [Double] = []
            var summary = ""
            for _ in 0..<15 {
                let t = Date()
                do {
                    let (schema, _) = try XDFReader.read(data)
                    let r = FIMFormBuilder(codeLists: []).build(schema, slug: "bench", leika: "")
                    summary = "\(schema.id): \(r.service.form.steps.count) Schritte, \(r.findings.count) Berichtszeilen"
                } catch { summary = "abgewiesen: \(error.summary)" }
                times.append(Date().timeIntervalSince(t))
            }
            console.print("\(URL(fileURLWithPath: p).lastPathComponent) (\(data.count / 1024) KB): \(String(format: "%.1f", median(times) * 1000)) ms (Median von 15) – \(summary)")
        }
    }
}
