import Crypto
import CryptoExtras
import FITConnect
import Foundation
import JOSE
import TestFixtures
import XCTest

/// The transport-free core of FIT-Connect: sealing and opening a submission (every hash checked,
/// one problem per refusal), the metadata against the published schema 1.0.0 (checked by an
/// independent validator), Security Event Tokens, and the API version adapter.
final class FITConnectTests: XCTestCase {
    /// The committed test keys (Tests/Fixtures/fitconnect/keys): RSA-4096 generation takes seconds.
    func keys() throws -> (enc: RSAKeyPair, sig: RSAKeyPair) {
        func pair(_ name: String) throws -> RSAKeyPair {
            RSAKeyPair(privateKeyPEM: try TestData.text("fitconnect/keys/\(name).pem"),
                       publicJWK: try JSONDecoder().decode(JWK.self, from: Data(try TestData.text("fitconnect/keys/\(name).pub.jwk.json").utf8)))
        }
        return (try pair("destination-enc"), try pair("destination-sig"))
    }

    let service = Metadata.PublicServiceType.leika("99107004018000", name: "Bewohnerparkausweis")
    let schema = Metadata.SubmissionSchema(schemaUri: "https://rathaus.example/schemas/bewohnerparken.json", mimeType: "application/json")

    func sealed(payment: Metadata.PaymentInformation? = nil) throws -> (Envelope.Sealed, Data, [Envelope.PlainAttachment]) {
        let data = Data(#"{"kennzeichen":"EF-AB 123","zone":"B"}"#.utf8)
        let files = [
            Envelope.PlainAttachment(filename: "Fahrzeugschein.pdf", mimeType: "application/pdf", content: Data("%PDF-1.7 Schein".utf8)),
            Envelope.PlainAttachment(filename: "Meldebescheinigung.pdf", mimeType: "application/pdf", content: Data("%PDF-1.7 Meldung".utf8)),
        ]
        let s = try Envelope.seal(data: data, dataSchema: schema, attachments: files, service: service, payment: payment,
                                  reply: .init(eMail: "erika@example.org"),
                                  reference: .init(senderReference: "TH-2026-000001", applicationDate: "2026-12-06"),
                                  for: try keys().enc.publicJWK)
        return (s, data, files)
    }

    func open(_ s: Envelope.Sealed, attachments: [String: String]? = nil, data: String?? = nil) throws -> Envelope.Opened {
        let k = try keys().enc
        let priv = try _RSA.Encryption.PrivateKey(pemRepresentation: k.privateKeyPEM)
        let atts = attachments ?? Dictionary(uniqueKeysWithValues: s.encryptedAttachments.map { ($0.id, $0.jwe) })
        return try Envelope.open(encryptedMetadata: s.encryptedMetadata, encryptedData: data ?? s.encryptedData,
                                 attachments: atts, key: priv, kid: "test-ziel-enc-1", limit: 1 << 20)
    }

    func testSealAndOpenRoundTrip() throws {
        let (s, data, files) = try sealed()
        let o = try open(s)
        XCTAssertEqual(o.data, data)
        XCTAssertEqual(o.attachments.map(\.content), files.map(\.content))
        XCTAssertEqual(o.metadata.publicServiceType?.identifier, "urn:de:fim:leika:leistung:99107004018000")
        XCTAssertEqual(o.metadata.contentStructure.attachments[0].hash.content, ContentHash.sha512Hex(files[0].content))
        XCTAssertEqual(o.metadata.replyChannel?.eMail?.address, "erika@example.org")
    }

    func testEveryBrokenPartIsRefusedWithItsProblem() throws {
        let (s, _, files) = try sealed()
        func problem(_ body: () throws -> Envelope.Opened) -> RejectionProblem? {
            do { _ = try body(); return nil } catch let r as Envelope.Refusal { return r.problem } catch { return nil }
        }
        let enc = try keys().enc.publicJWK
        // an attachment swapped for another one encrypted correctly: only the hash shows it
        var atts = Dictionary(uniqueKeysWithValues: s.encryptedAttachments.map { ($0.id, $0.jwe) })
        atts[files[0].id] = try JWE.encrypt(Data("%PDF-1.7 gefälscht".utf8), for: enc, contentType: "application/pdf")
        XCTAssertEqual(problem { try open(s, attachments: atts) }, .hashMismatch)
        do { _ = try open(s, attachments: atts); XCTFail("swapped attachment opened") } catch let r as Envelope.Refusal {
            XCTAssertEqual(r.instance, "attachment:\(files[0].id.lowercased())", "the problem names the part")
        }
        // data swapped
        XCTAssertEqual(problem { try open(s, data: .some(try JWE.encrypt(Data("{}".utf8), for: enc))) }, .hashMismatch)
        // data missing although described
        XCTAssertEqual(problem { try open(s, data: .some(nil)) }, .schemaViolation)
        // attachment missing
        atts = Dictionary(uniqueKeysWithValues: s.encryptedAttachments.map { ($0.id, $0.jwe) })
        atts[files[1].id] = nil
        XCTAssertEqual(problem { try open(s, attachments: atts) }, .missingAttachment)
        // an attachment nobody described
        atts = Dictionary(uniqueKeysWithValues: s.encryptedAttachments.map { ($0.id, $0.jwe) })
        atts[UUID().uuidString.lowercased()] = s.encryptedAttachments[0].jwe
        XCTAssertEqual(problem { try open(s, attachments: atts) }, .schemaViolation)
        // tampered ciphertext of an attachment: decryption fails (GCM tag), no oracle
        atts = Dictionary(uniqueKeysWithValues: s.encryptedAttachments.map { ($0.id, $0.jwe) })
        var parts = s.encryptedAttachments[0].jwe.split(separator: ".").map(String.init)
        parts[3] = String(parts[3].reversed())
        atts[files[0].id] = parts.joined(separator: ".")
        XCTAssertEqual(problem { try open(s, attachments: atts) }, .decryptionFailed)
        // metadata for another key
        let other = try RSAKeyPair.newEncryptionKey(kid: "fremd")
        let foreign = try Envelope.seal(data: nil, dataSchema: nil, attachments: [], service: service, for: other.publicJWK)
        XCTAssertEqual(problem { try open(Envelope.Sealed(metadata: foreign.metadata, encryptedMetadata: foreign.encryptedMetadata, encryptedData: nil, encryptedAttachments: [])) }, .decryptionFailed)
        // metadata that is JSON but not 1.0.0 (hash algorithm, attachment id)
        let bad = #"{"contentStructure":{"attachments":[{"hash":{"type":"sha256","content":"ab"},"purpose":"attachment","mimeType":"application/pdf","attachmentId":"x"}]}}"#
        let badMeta = try JWE.encrypt(Data(bad.utf8), for: enc, contentType: "application/json")
        XCTAssertEqual(problem { try open(Envelope.Sealed(metadata: s.metadata, encryptedMetadata: badMeta, encryptedData: nil, encryptedAttachments: [])) }, .schemaViolation)
        XCTAssertEqual(RejectionProblem.hashMismatch.eventPayload(detail: "Anlage").keys.sorted(), ["problems"])
    }

    func testSealRefusesMetadataTheSchemaForbids() throws {
        let enc = try keys().enc.publicJWK
        XCTAssertThrowsError(try Envelope.seal(data: nil, dataSchema: nil, attachments: [], service: .init(name: "x", identifier: "keine urn"), for: enc)) {
            guard case MetadataError.problems(let p)? = $0 as? MetadataError else { return XCTFail("\($0)") }
            XCTAssertTrue(p[0].contains("keine gültige URN"), "\(p)")
        }
        let payment = Metadata.PaymentInformation(transactionId: "ungültig/id", transactionReference: "EF000000017", paymentMethod: .CREDITCARD, status: .BOOKED, grossAmountCents: 0)
        XCTAssertThrowsError(try Envelope.seal(data: nil, dataSchema: nil, attachments: [], service: service, payment: payment, for: enc))
        // keys under 4096 bits are refused by the JOSE policy
        let small = try _RSA.Encryption.PrivateKey(keySize: .bits2048).publicKey.getKeyPrimitives()
        let weak = JWK.rsa(modulus: small.modulus, exponent: small.publicExponent, kid: "klein", alg: "RSA-OAEP-256", keyOps: ["wrapKey"])
        XCTAssertThrowsError(try Envelope.seal(data: nil, dataSchema: nil, attachments: [], service: service, for: weak))
    }

    /// The metadata Rathaus writes is valid against the published schema, checked by PyPI
    /// jsonschema; and documents the schema refuses are refused by `problems()` as well.
    func testMetadataAgainstThePublishedSchema() throws {
        let (probe, _) = try ExternalTool.run(["python3", "-c", "import jsonschema"])
        if probe != 0 {
            print("ÜBERSPRUNGEN (nur die Gegenprobe mit jsonschema): bitte installieren: pip install jsonschema")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fitconnect-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let payment = Metadata.PaymentInformation(transactionId: "9xxd-432x-6543", transactionReference: "EF000000017", paymentMethod: .CREDITCARD,
                                                  status: .BOOKED, grossAmountCents: 3050, transactionTimestamp: Date(timeIntervalSince1970: 1_796_000_000))
        let (s, _, _) = try sealed(payment: payment)
        try s.metadata.encoded().write(to: dir.appendingPathComponent("rathaus.json"))
        let minimal = Metadata(contentStructure: .init(data: nil, attachments: []))
        try minimal.encoded().write(to: dir.appendingPathComponent("minimal.json"))
        var broken = s.metadata
        broken.contentStructure.attachments[0].hash = .init(type: "sha512", content: String(repeating: "A", count: 128))
        broken.publicServiceType = .init(name: nil, identifier: "leika:123")
        try broken.encoded().write(to: dir.appendingPathComponent("broken.json"))
        XCTAssertEqual(broken.problems().count, 2, "\(broken.problems())")
        // every reply channel of the schema: FINK postbox and ELSTER account are valid, two channels or a short ELSTER id not
        var channels: [String: (Metadata.ReplyChannel, Int)] = [
            "fink.json": (.init(fink: .init(finkPostfachRef: "th/ef/12345", host: "https://servicekonto.example.org/")), 0),
            "elster.json": (.init(elster: .init(accountId: "1234567890", geschaeftszeichen: "AZ-1")), 0),
            "elster-kurz.json": (.init(elster: .init(accountId: "123456789")), 1),
            "fink-gross.json": (.init(fink: .init(finkPostfachRef: "TH/EF 1")), 1),
        ]
        var pgp = Metadata.ReplyChannel(eMail: "erika@example.org")
        pgp.eMail?.pgpPublicKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGR\n-----END PGP PUBLIC KEY BLOCK-----"
        channels["pgp.json"] = (pgp, 0)
        XCTAssertEqual(pgp.kindAndAddress?.kind, "eMailPGP", "encrypted mail only: not the plain e-mail channel")
        var badPGP = pgp
        badPGP.eMail?.pgpPublicKey = "kein Schlüssel"
        channels["pgp-kaputt.json"] = (badPGP, 1)
        var two = Metadata.ReplyChannel(eMail: "erika@example.org")
        two.fink = .init(finkPostfachRef: "th/ef/1")
        channels["zwei.json"] = (two, 1)
        for (name, (channel, expected)) in channels {
            var m = minimal
            m.replyChannel = channel
            XCTAssertEqual(m.problems().count, expected, "\(name): \(m.problems())")
            try m.encoded().write(to: dir.appendingPathComponent(name))
        }

        // identification reports: a signed one is valid; an empty list, another type, a short version are not
        let sig = try keys().sig
        let report = try IdentificationReport(serverIdentity: "https://rathaus.example", identifiedAt: Date(), level: .high, statement: "Test",
                                              trustFramework: "eid", context: ["Aktenzeichen: TH-2026-000001"], dataDigest: nil)
            .authenticationInformation(with: _RSA.Signing.PrivateKey(pemRepresentation: sig.privateKeyPEM), kid: "test-ziel-sig-1")
        let reports: [String: ([Metadata.AuthenticationInformation], Int)] = [
            "nachweis.json": ([report], 0), "nachweis-leer.json": ([], 1),
            "nachweis-art.json": ([.init(type: "eid", version: "2.0.0", content: report.content)], 1),
            "nachweis-version.json": ([.init(type: "identificationReport", version: "2.0", content: report.content)], 1),
        ]
        for (name, (list, expected)) in reports {
            var m = minimal
            m.authenticationInformation = list
            XCTAssertEqual(m.problems().count, expected, "\(name): \(m.problems())")
            try m.encoded().write(to: dir.appendingPathComponent(name))
            channels[name] = (Metadata.ReplyChannel(eMail: "x@example.org"), expected)  // only for the loop over verdicts below
        }

        let (rc, out) = try ExternalTool.run(["python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("schemacheck.py").path,
                                              TestData.fixture("fitconnect/metadata.schema.v1.0.0.json").path,
                                              dir.appendingPathComponent("rathaus.json").path, dir.appendingPathComponent("minimal.json").path,
                                              dir.appendingPathComponent("broken.json").path] + channels.keys.sorted().map { dir.appendingPathComponent($0).path })
        XCTAssertEqual(rc, 0, out)
        let verdicts = try JSONDecoder().decode([String: [String]].self, from: Data(try XCTUnwrap(out.split(separator: "\n").last).utf8))
        XCTAssertEqual(verdicts["rathaus.json"], [], "the metadata Rathaus writes is valid")
        XCTAssertEqual(verdicts["minimal.json"], [])
        XCTAssertEqual(verdicts["broken.json"]?.count, 2, "the independent validator refuses the same two problems: \(verdicts)")
        for (name, (_, expected)) in channels {
            XCTAssertEqual(verdicts[name]?.count, expected, "\(name): the independent validator agrees: \(verdicts[name] ?? [])")
        }
        // amounts leave as exact decimals
        XCTAssertTrue(String(decoding: try s.metadata.encoded(), as: UTF8.self).contains(#""grossAmount":30.5"#))
    }

    /// The identification report: signed by the account service, bound to the Fachdaten, and read
    /// back into a verdict — verified, unverifiable (issuer unknown) or invalid (every attack).
    func testIdentificationReports() throws {
        let k = try keys().sig
        let priv = try _RSA.Signing.PrivateKey(pemRepresentation: k.privateKeyPEM)
        let data = Data(#"{"kennzeichen":"EF-AB 123"}"#.utf8)
        let digest = ContentHash.sha512Hex(data)
        let identified = Date(timeIntervalSince1970: 1_796_000_000)
        let report = IdentificationReport(serverIdentity: "https://servicekonto.example", identifiedAt: identified, level: .substantial,
                                          statement: "Identifiziert über ELSTER", trustFramework: "eid", context: ["Aktenzeichen: TH-1"], dataDigest: digest)
        let info = try report.authenticationInformation(with: priv, kid: k.publicJWK.kid ?? "")
        XCTAssertEqual(info.type, "identificationReport")
        XCTAssertEqual(info.version, "2.0.0")
        // the claims follow the public schema's names
        let claims = try JSONSerialization.jsonObject(with: XCTUnwrap(Base64URL.decode(info.content.split(separator: ".")[1]))) as? [String: Any]
        XCTAssertEqual(claims?["levelOfAssurance"] as? String, "http://eidas.europa.eu/LoA/substantial")
        XCTAssertEqual(claims?["$schema"] as? String, IdentificationReport.schemaURI)
        XCTAssertNotNil(claims?["reportId"]); XCTAssertNotNil(claims?["identificationTime"]); XCTAssertNotNil(claims?["serverIdentity"])

        let trusted = ["https://servicekonto.example": [k.publicJWK]]
        let ok = IdentificationReport.examine(info, trusted: trusted, dataDigest: digest)
        XCTAssertEqual(ok.verdict, .verified, ok.reason)
        XCTAssertEqual(ok.level, .substantial)
        XCTAssertEqual(ok.identifiedAt, identified)
        XCTAssertEqual(ok.issuer, "https://servicekonto.example")

        // issuer not configured: a claim, not a proof
        XCTAssertEqual(IdentificationReport.examine(info, trusted: [:], dataDigest: digest).verdict, .unverifiable)
        // copied onto other data
        let other = IdentificationReport.examine(info, trusted: trusted, dataDigest: ContentHash.sha512Hex(Data("anders".utf8)))
        XCTAssertEqual(other.verdict, .invalid)
        XCTAssertTrue(other.reason.contains("andere Fachdaten"), other.reason)
        // signed by someone else under the trusted issuer's name
        let stranger = try _RSA.Signing.PrivateKey(pemRepresentation: keys().enc.privateKeyPEM)
        let forged = try report.authenticationInformation(with: stranger, kid: k.publicJWK.kid ?? "")
        XCTAssertEqual(IdentificationReport.examine(forged, trusted: trusted, dataDigest: digest).verdict, .invalid)
        // the level raised after signing
        var parts = info.content.split(separator: ".").map(String.init)
        var raised = claims ?? [:]
        raised["levelOfAssurance"] = "http://eidas.europa.eu/LoA/high"
        parts[1] = Base64URL.encode(try JSONSerialization.data(withJSONObject: raised))
        let tampered = Metadata.AuthenticationInformation(type: info.type, version: info.version, content: parts.joined(separator: "."))
        let t = IdentificationReport.examine(tampered, trusted: trusted, dataDigest: digest)
        XCTAssertEqual(t.verdict, .invalid, t.reason)
        // not a JWT, another type, an unsupported version
        XCTAssertEqual(IdentificationReport.examine(.init(type: info.type, version: "2.0.0", content: "abc"), trusted: trusted, dataDigest: digest).verdict, .invalid)
        XCTAssertEqual(IdentificationReport.examine(.init(type: "eid", version: "2.0.0", content: info.content), trusted: trusted, dataDigest: digest).verdict, .invalid)
        XCTAssertEqual(IdentificationReport.examine(.init(type: info.type, version: "9.0.0", content: info.content), trusted: trusted, dataDigest: digest).verdict, .invalid)
        // a failed identification is no proof
        var failed = report
        failed.idStatus = "failure"
        let f = try failed.authenticationInformation(with: priv, kid: k.publicJWK.kid ?? "")
        XCTAssertEqual(IdentificationReport.examine(f, trusted: trusted, dataDigest: digest).verdict, .invalid)
        // it travels sealed in the metadata and comes out unchanged
        let s = try Envelope.seal(data: data, dataSchema: schema, attachments: [], service: service, authentication: [info], for: keys().enc.publicJWK)
        let opened = try open(s)
        XCTAssertEqual(opened.metadata.authenticationInformation, [info])
    }

    func testSecurityEventTokens() throws {
        let sig = try keys().sig
        let priv = try _RSA.Signing.PrivateKey(pemRepresentation: sig.privateKeyPEM)
        let sid = UUID().uuidString, cid = UUID().uuidString
        let event = SecurityEvent(kind: .rejectSubmission, issuer: "ziel", submissionID: sid, caseID: cid,
                                  payload: RejectionProblem.hashMismatch.eventPayload(detail: "Anlage Fahrzeugschein.pdf"))
        let token = try event.signed(with: priv, kid: "test-ziel-sig-1")
        let read = try SecurityEvent.verify(token, keys: [sig.publicJWK])
        XCTAssertEqual(read.kind, .rejectSubmission)
        XCTAssertEqual(read.submissionID, sid.lowercased())
        XCTAssertEqual(read.caseID, cid.lowercased())
        XCTAssertEqual(RejectionProblem.texts(in: read), [RejectionProblem.hashMismatch.germanText + " (Anlage Fahrzeugschein.pdf)"], "the problem with the part it names")
        XCTAssertEqual(read.kind.germanName, "vom Empfänger zurückgewiesen")
        // another key, a swapped payload, a plain JWT type: refused
        let other = try RSAKeyPair.newSigningKey(kid: "test-ziel-sig-1")
        XCTAssertThrowsError(try SecurityEvent.verify(token, keys: [other.publicJWK]))
        var parts = token.split(separator: ".").map(String.init)
        parts[1] = Base64URL.encode(Data(#"{"iss":"x"}"#.utf8))
        XCTAssertThrowsError(try SecurityEvent.verify(parts.joined(separator: "."), keys: [sig.publicJWK]))
        let jwt = try JWS.sign(Data(#"{"iss":"x","jti":"1","iat":1,"sub":"submission:a","txn":"case:b","events":{}}"#.utf8),
                               header: .init(alg: .PS512, kid: "test-ziel-sig-1", typ: "JWT"), key: priv)
        XCTAssertThrowsError(try SecurityEvent.verify(jwt, keys: [sig.publicJWK])) { XCTAssertEqual($0 as? SecurityEventError, .malformed("typ ist nicht secevent+jwt")) }
    }

    func testAPIVersionAdapterKeepsIdsOutOfPaths() throws {
        let api: any SubmissionAPI = SubmissionAPIV1()
        let sid = "6F1C2E1B-2A3B-4C5D-8E9F-0A1B2C3D4E5F"
        XCTAssertEqual(api.submit(submission: sid), Endpoint(.PUT, "/v1/submissions/6f1c2e1b-2a3b-4c5d-8e9f-0a1b2c3d4e5f", contentType: "application/json"))
        XCTAssertEqual(api.uploadAttachment(submission: sid, attachment: sid).contentType, "application/jose")
        XCTAssertEqual(api.submission("../../admin").path, "/v1/submissions/00000000-0000-0000-0000-000000000000", "no path traversal through ids")
        XCTAssertEqual(api.pickupList(destination: sid, limit: 9999, offset: -3).path, "/v1/submissions?destinationId=6f1c2e1b-2a3b-4c5d-8e9f-0a1b2c3d4e5f&limit=500&offset=0")
        let body = try JSONSerialization.jsonObject(with: api.createBody(destination: sid, attachments: [sid], serviceName: "Bewohnerparkausweis",
                                                                          serviceIdentifier: "urn:de:fim:leika:leistung:99107004018000", caseID: nil)) as? [String: Any]
        XCTAssertEqual(body?["destinationId"] as? String, sid.lowercased())
        XCTAssertEqual((body?["serviceType"] as? [String: Any])?["identifier"] as? String, "urn:de:fim:leika:leistung:99107004018000")
        XCTAssertNil(body?["caseId"])
    }
}
