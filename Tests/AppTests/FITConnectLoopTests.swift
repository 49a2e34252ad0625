import Fluent
import FITConnect
import Forms
import RathausCore
import Foundation
import JOSE
import TestFixtures
import XCTVapor
import XCTest
@testable import App

/// The whole FIT-Connect loop in one process: installation A's online service sends through the
/// offline Zustelldienst (`.ci/zustelldienst.py`, a separate process on 127.0.0.1) to a
/// destination of installation B; B's clerk gets the case, A sees `accept-submission`. Then an
/// outage of the Zustelldienst (delivered once afterwards) and a tampered attachment
/// (`reject-submission` with the hash problem on both sides).
final class FITConnectLoopTests: XCTestCase {
    struct RunningDouble {
        let process: Process
        let url: String
        func stop() { FITConnectLoopTests.end(process) }
    }

    /// Ends the double without `waitUntilExit` (which spins on Linux): SIGTERM, then SIGKILL.
    static func end(_ p: Process) {
        guard p.isRunning else { return }
        p.terminate()
        for _ in 0..<50 where p.isRunning { usleep(100_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }

    static func sqliteApp() async throws -> Application {
        let app = try await Application.make(.testing)
        var config = RathausConfig()
        config.bcryptCost = 4
        config.dataDirectory = nil
        config.demo = true
        // the identity its identification reports carry (B runs on the default)
        config.publicURL = "https://a.rathaus.test"
        do { try await configure(app, config) } catch {
            try? await app.shutdownOnce()
            throw error
        }
        return app
    }

    /// A port the kernel just handed out (bound to 0 and released): a random pick could be one
    /// another test's server is using at the same moment, and its answers would be taken for the double's.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return Int.random(in: 20000..<60000) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0 else { return Int.random(in: 20000..<60000) }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func startDouble(config: URL, app: Application) async throws -> RunningDouble {
        var lastError = ""
        for _ in 0..<5 {
            let port = Self.freePort()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", TestData.repository.appendingPathComponent(".ci/zustelldienst.py").path, "--port", "\(port)",
                           "--config", config.path, "--key", TestData.fixture("fitconnect/keys/zustelldienst-sig.pem").path]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let url = "http://127.0.0.1:\(port)"
            for _ in 0..<100 {
                if let res = try? await app.client.get(URI(string: url + "/v1/info")), res.status == .ok, p.isRunning {
                    // still running after answering: it bound the port (not another test's server)
                    try await Task.sleep(nanoseconds: 200_000_000)
                    if p.isRunning { return RunningDouble(process: p, url: url) }
                }
                if !p.isRunning { break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            Self.end(p)
            lastError = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        throw XCTSkip("Der Test-Zustelldienst startet nicht: \(lastError.prefix(300))")
    }

    func command(_ app: Application, _ args: [String]) async throws -> String {
        var context = CommandContext(console: app.console, input: CommandInput(arguments: ["rathaus"] + args))
        context.application = app
        try await FITConnectCommand().run(using: &context)
        return ""
    }

    func control(_ app: Application, _ url: String, _ path: String, _ body: String) async throws {
        let res = try await app.client.post(URI(string: url + path)) { req in
            req.headers.contentType = .json
            req.body = ByteBuffer(string: body)
        }
        XCTAssertEqual(res.status, .ok, path)
    }

    func stats(_ app: Application, _ url: String) async throws -> [String: Int] {
        let res = try await app.client.get(URI(string: url + "/_test/stats"))
        return try res.content.decode([String: Int].self)
    }

    /// A submitted application of tenant 16051 at A, with one file when `file` is given.
    func submit(_ app: Application, name: String, file: Data? = nil, slug: String = "meldebescheinigung", answers: Answers? = nil,
                identification: IdentificationReports.Session? = nil) async throws -> Antrag {
        let v = try await XCTUnwrapAsync(try await OnlineServiceCatalogue.latest(slug, on: app.db))
        let d = try v.decoded()
        let a = Antrag()
        a.tenantARS = "16051"; a.tenantName = "Erfurt"; a.slug = v.slug; a.version = v.version; a.serviceTitle = d.title.de
        a.applicantName = name; a.applicantEmail = "person@example.org"; a.officeName = "Bürgeramt Erfurt (Demo)"; a.status = Antrag.draft
        a.setAnswers(answers ?? ["vorname": .text(name), "nachname": .text("Muster"), "geburtsdatum": .text("1980-01-01"),
                                 "anschrift": .record(["strasse": "Anger", "hausnummer": "1", "plz": "99084", "ort": "Erfurt"]),
                                 "umfang": .text("einfach"), "zustellung": .text("postfach")])
        a.feeCents = 0; a.notifyByEmail = false; a.assigneeName = ""; a.createdAt = Date(); a.updatedAt = Date()
        try await a.create(on: app.db)
        if let file {
            let f = AntragFile()
            f.antragID = a.id!; f.field = "nachweis"; f.name = "nachweis.pdf"; f.kind = "pdf"; f.size = file.count
            f.sha256 = try await app.files.put(file); f.uploadedBy = "test"; f.createdAt = Date()
            try await f.create(on: app.db)
        }
        let act = try await ServiceActivation.of("16051", v.slug, on: app.db)
        return try await AntragService.submit(a.id!, definition: d, activation: act, app: app, actor: "test", actorID: nil, identification: identification)
    }

    /// A small FIM service (Hund anmelden's LeiKa key, for which Erfurt has an office in the demo):
    /// a step for the FIM group G1 with a text, a yes/no and a repeating group; published in
    /// both installations, as the Land would import the same schema everywhere.
    static func fimService() -> ServiceDefinition {
        var yes = FieldDefinition(id: "F2", type: .yesno, label: .init(de: "Schon einmal gemeldet"))
        yes.required = true
        var dogs = FieldDefinition(id: "G2", type: .group, label: .init(de: "Hunde"))
        dogs.fields = [FieldDefinition(id: "F3", type: .text, label: .init(de: "Rufname des Hundes")), FieldDefinition(id: "F4", type: .date, label: .init(de: "Geburtsdatum des Hundes"))]
        dogs.minItems = 1; dogs.maxItems = 3; dogs.itemLabel = .init(de: "Hund")
        var d = ServiceDefinition(slug: "fim-hund", leika: "99102013002000", version: 0, title: .init(de: "Hund anmelden (FIM)"),
                                  summary: .init(de: "Test"), trustLevel: "basisregistrierung", fee: .none,
                                  attachments: AttachmentLimits(maxFiles: 5, maxBytesPerFile: 1_000_000),
                                  form: FormDefinition(steps: [StepDefinition(id: "halter", title: .init(de: "Halter"),
                                                                              fields: [FieldDefinition(id: "F1", type: .text, label: .init(de: "Name der Halterin oder des Halters")), yes, dogs])]))
        d.fim = FIMOrigin(schemaID: "S99000001", version: "1.2", xdfVersion: "2.0", name: "Hundeanmeldung", stepGroups: ["halter": "G1"])
        return d
    }

    /// A destination moving to Rathaus keeps its keys: `keys` takes the existing private keys and
    /// seals them like new ones; `zustellpunkt` then registers them.
    func testExistingKeysAreImported() async throws {
        let app = try await makeTestApp(demo: true)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fitconnect-import-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let enc = TestData.fixture("fitconnect/keys/destination-enc.pem").path, sig = TestData.fixture("fitconnect/keys/destination-sig.pem").path
            do {
                _ = try await command(app, ["keys", "--name", "umzug", "--ausgabe", dir.path, "--verschluesselung", enc])
                XCTFail("both keys are needed")
            } catch {}
            do {
                _ = try await command(app, ["keys", "--name", "umzug", "--ausgabe", dir.path, "--verschluesselung", enc, "--signatur", enc])
                XCTFail("one key for both uses is refused")
            } catch {}
            _ = try await command(app, ["keys", "--name", "umzug", "--ausgabe", dir.path, "--verschluesselung", enc, "--signatur", sig])
            let jwks = try JSONDecoder().decode(JWKS.self, from: Data(contentsOf: dir.appendingPathComponent("umzug.jwks.json")))
            let published = try JSONDecoder().decode(JWK.self, from: Data(try TestData.text("fitconnect/keys/destination-enc.pub.jwk.json").utf8))
            XCTAssertEqual(jwks.keys.first { $0.keyOps == ["wrapKey"] }?.n, published.n, "the destination keeps its published key")
            let id = UUID().uuidString
            _ = try await command(app, ["zustellpunkt", "--mandant", "16051", "--id", id, "--schluessel", dir.appendingPathComponent("umzug.privat").path])
            let d = try await FITConnectDestination.query(on: app.db).filter(\.$destinationID == id.lowercased()).first()
            XCTAssertNotNil(d)
            XCTAssertNoThrow(try FITConnectReceiver.keys(try XCTUnwrap(d), app: app))
        } catch {
            try? await app.shutdownOnce()
            throw error
        }
        try await app.shutdownOnce()
    }

    func testLoopThroughTheOfflineZustelldienst() async throws {
        // python3 with jwcrypto runs the double; checked before anything is started
        let (probe, _) = try ExternalTool.run(["python3", "-c", "import jwcrypto"])
        guard probe == 0 else {
            print("FIT-Connect-Schleife übersprungen: python3 mit jwcrypto fehlt (pip install jwcrypto; .ci/run installiert es).")
            throw XCTSkip("jwcrypto fehlt")
        }
        // B (receiving, two pollers) runs on the test database — PostgreSQL when DATABASE_URL is
        // set; A is a second installation with its own in-memory SQLite
        let b = try await makeTestApp(demo: true)
        let a: Application
        do { a = try await Self.sqliteApp() } catch { try? await b.shutdownOnce(); throw error }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fitconnect-\(UUID().uuidString)")
        var double: RunningDouble?
        do {
            try await run(a, b, dir, &double)
        } catch {
            double?.stop(); try? await a.shutdownOnce(); try? await b.shutdownOnce(); try? FileManager.default.removeItem(at: dir)
            throw error
        }
        double?.stop(); try await a.shutdownOnce(); try await b.shutdownOnce(); try? FileManager.default.removeItem(at: dir)
    }

    func run(_ a: Application, _ b: Application, _ dir: URL, _ double: inout RunningDouble?) async throws {
        // B's keys, made by the command; the public JWKS goes to the Zustelldienst's configuration
        _ = try await command(b, ["keys", "--name", "erfurt-b", "--ausgabe", dir.path])
        let jwks = try JSONDecoder().decode(JWKS.self, from: Data(contentsOf: dir.appendingPathComponent("erfurt-b.jwks.json")))
        XCTAssertTrue(jwks.keys.allSatisfy { !$0.isPrivate }, "only public keys leave the installation")
        let sealed = try String(contentsOf: dir.appendingPathComponent("erfurt-b.privat"), encoding: .utf8)
        XCTAssertTrue(sealed.hasPrefix(SecretBox.prefix) && !sealed.contains("PRIVATE KEY"))
        do {
            _ = try await command(a, ["zustellpunkt", "--mandant", "16051", "--id", UUID().uuidString,
                                      "--schluessel", dir.appendingPathComponent("erfurt-b.privat").path])
            XCTFail("another installation cannot open B's private keys")
        } catch {}

        let destination = UUID().uuidString.lowercased()
        let leika = try await XCTUnwrapAsync(try await OnlineServiceCatalogue.latest("meldebescheinigung", on: a.db)).leika
        func key(_ use: String) throws -> Any {
            let k = try XCTUnwrap(jwks.keys.first { $0.keyOps == [use] })
            return try JSONSerialization.jsonObject(with: JSONEncoder().encode(k))
        }
        let config: [String: Any] = [
            "clients": [["id": "rathaus-a", "secret": "geheim-a", "role": "sender"],
                        ["id": "rathaus-b", "secret": "geheim-b", "role": "subscriber", "destinations": [destination]]],
            "destinations": [["id": destination, "status": "active", "encryptionKey": try key("wrapKey"), "signingKey": try key("verify"),
                              "services": [["identifier": "urn:de:fim:leika:leistung:\(leika)",
                                            "regions": ["urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:ars:160510000000"]]]]],
        ]
        let configURL = dir.appendingPathComponent("zustelldienst.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        double = try await startDouble(config: configURL, app: a)
        let url = try XCTUnwrap(double?.url)

        // A's tenant administrator sets up the sending access and the delivery on the web pages
        let adminA = try await createUser(a, email: "admin-fc@erfurt.example", role: .tenantAdmin, tenant: "16051")
        let webA = Browser(a)
        try await webA.login(adminA)
        let activation = ["aktiv": "ja", "zustellung": "routing", "zahlung": "keine"]
        var res = try await webA.post("/mandanten/16051/onlinedienste/meldebescheinigung", activation)
        XCTAssertEqual(res.status, .badRequest, "FIT-Connect delivery needs the sending access first")
        XCTAssertTrue(res.text.contains("Zugang für den Versand"), res.text)
        res = try await webA.post("/mandanten/16051/fitconnect/zugang", ["rolle": "sender", "url": "http://zustelldienst.example.org", "client_id": "rathaus-a", "secret": "geheim-a"])
        XCTAssertEqual(res.status, .badRequest, "plain HTTP only on the loopback interface")
        XCTAssertFalse(res.text.contains("geheim-a"), "the secret is never sent back")
        res = try await webA.post("/mandanten/16051/fitconnect/zugang", ["rolle": "sender", "url": url, "client_id": "rathaus-a", "secret": "geheim-a"])
        XCTAssertEqual(res.status, .seeOther, res.text)
        res = try await webA.post("/mandanten/16051/onlinedienste/meldebescheinigung", ["aktiv": "ja", "zustellung": "zustellpunkt", "zustellpunkt": "kein-uuid", "zahlung": "keine"])
        XCTAssertEqual(res.status, .badRequest)
        let unchanged = try await ServiceActivation.of("16051", "meldebescheinigung", on: a.db)
        XCTAssertNil(unchanged?.fitConnectDestination, "a refused form changes nothing")
        res = try await webA.post("/mandanten/16051/onlinedienste/meldebescheinigung", activation)
        XCTAssertEqual(res.status, .seeOther, res.text)
        let v0 = try await ServiceActivation.of("16051", "meldebescheinigung", on: a.db)?.fitConnectDestination
        XCTAssertEqual(v0, "routing")
        var pageA = try await webA.get("/mandanten/16051/fitconnect")
        XCTAssertEqual(pageA.status, .ok)
        XCTAssertTrue(pageA.text.contains("rathaus-a") && !pageA.text.contains("geheim-a"), pageA.text)
        let audit = try await AuditEntry.query(on: a.db).filter(\.$action ~~ ["fitconnect.account", "fitconnect.service"]).count()
        XCTAssertEqual(audit, 2)
        setenv("FITCONNECT_CLIENT_SECRET", "geheim-b", 1)
        _ = try await command(b, ["zugang", "--mandant", "16051", "--rolle", "subscriber", "--url", url, "--client-id", "rathaus-b"])
        unsetenv("FITCONNECT_CLIENT_SECRET")
        let stored = try await XCTUnwrapAsync(try await FITConnectAccount.query(on: a.db).first())
        XCTAssertFalse(stored.sealedSecret.contains("geheim-a"), "the client secret is stored sealed")
        _ = try await command(b, ["zustellpunkt", "--mandant", "16051", "--id", destination,
                                  "--schluessel", dir.appendingPathComponent("erfurt-b.privat").path])
        let dest = try await XCTUnwrapAsync(try await FITConnectDestination.query(on: b.db).first())
        XCTAssertFalse(dest.sealedEncryptionKey.contains("PRIVATE"), "private keys are stored sealed")

        // 1. A sends (destination found by routing, signature checked), B imports once with two pollers
        let identifiedAt = Date(timeIntervalSince1970: 1_796_000_000)
        let first = try await submit(a, name: "Erika", file: Data("%PDF-1.7 Nachweis".utf8),
                                     identification: .init(level: .substanziell, at: identifiedAt, via: "Test-eID"))
        var r = try await FITConnectSender.deliverDue(a)
        let firstError = try await FITConnectOutbound.query(on: a.db).first()?.lastError ?? ""
        XCTAssertEqual(r.delivered, 1, firstError)
        let out1 = try await XCTUnwrapAsync(try await FITConnectOutbound.query(on: a.db).filter(\.$antragID == first.id!).first())
        XCTAssertEqual(out1.destination, destination, "routing found B's destination")
        let v1 = try await stats(a, url)["submitted"]
        XCTAssertEqual(v1, 1)
        // B trusts A's identification reports: A's published key set, saved as a file by B's operator
        let jwksA = try await Browser(a).get(IdentificationReports.jwksPath)
        XCTAssertEqual(jwksA.status, .ok)
        XCTAssertEqual(jwksA.headers.contentType?.description.hasPrefix("application/jwk-set+json"), true)
        XCTAssertFalse(jwksA.text.contains("\"d\""), "only the public key")
        try Data(jwksA.text.utf8).write(to: dir.appendingPathComponent("a-idnachweis.jwks.json"))
        b.rathaus.identificationIssuers = ["https://a.rathaus.test": dir.appendingPathComponent("a-idnachweis.jwks.json").path]
        async let p1 = FITConnectReceiver.poll(b, instance: "b-1")
        async let p2 = FITConnectReceiver.poll(b, instance: "b-2")
        let (r1, r2) = try await (p1, p2)
        XCTAssertEqual(r1.accepted + r2.accepted, 1, "two pollers, one import")
        let cases = try await Antrag.query(on: b.db).filter(\.$status == CaseStatus.received.rawValue).all()
        let received = try XCTUnwrap(cases.first { $0.applicantName == "Erika" })
        XCTAssertEqual(received.slug, "meldebescheinigung", "B knows the service: the answers are shown with its labels")
        XCTAssertEqual(received.decodedAnswers()["vorname"], .text("Erika"))
        XCTAssertEqual(received.trustLevel, "substanziell", "A's signed identification report was verified")
        XCTAssertEqual(received.identifiedAt, identifiedAt)
        XCTAssertEqual(received.identifiedVia, "https://a.rathaus.test")
        let files = try await AntragFile.query(on: b.db).filter(\.$antragID == received.id!).all()
        XCTAssertEqual(Set(files.map(\.name)), ["nachweis.pdf", "Fachdaten.json"])
        let pdf = try await b.files.get(try XCTUnwrap(files.first { $0.name == "nachweis.pdf" }).sha256)
        XCTAssertEqual(pdf, Data("%PDF-1.7 Nachweis".utf8))
        let v2 = try await stats(a, url)["accepted"]
        XCTAssertEqual(v2, 1)
        // B's clerk sees the case in the inbox
        let clerk = try await createUser(b, email: "sb-fc@erfurt.example", role: .clerk, tenant: "16051")
        let web = Browser(b)
        try await web.login(clerk)
        let detail = try await web.get("/mandanten/16051/antraege/\(received.id!)")
        XCTAssertEqual(detail.status, .ok)
        XCTAssertTrue(detail.text.contains("Erika"), detail.text)
        XCTAssertTrue(detail.text.contains("E-Mail an person@example.org") && detail.text.contains("automatisch per E-Mail"), "the reply channel is shown")
        XCTAssertTrue(detail.text.contains("Identifikationsnachweis geprüft: Vertrauensniveau substanziell") && detail.text.contains("https://a.rathaus.test"),
                      "the clerk sees the verified level and who vouches for it")
        XCTAssertTrue(detail.text.contains("identifiziert am \(GermanTime.format(identifiedAt))"), "when, in German")
        // the clerk decides: the letter goes through the reply channel the sender named
        try await AntragService.transition(received, to: .inProgress, by: .office, text: nil, app: b, actor: "sb", actorID: nil, senderName: "Bürgeramt")
        try await AntragService.transition(received, to: .completed, by: .office, text: "Die Meldebescheinigung liegt bei.", app: b, actor: "sb", actorID: nil,
                                           senderName: "Bürgeramt")
        let replies = try await OutboxMail.query(on: b.db).filter(\.$recipient == "person@example.org").all()
        let letter = try XCTUnwrap(replies.first { $0.attachmentType == "application/pdf" }, "the decision letter is attached")
        XCTAssertTrue(letter.body.contains("Rückkanal") && letter.body.contains("Die Meldebescheinigung liegt bei."), letter.body)
        // B's administrator sees the received submission with its case
        let adminB = try await createUser(b, email: "admin-fc@erfurt.example", role: .tenantAdmin, tenant: "16051")
        let webB = Browser(b)
        try await webB.login(adminB)
        let pageB = try await webB.get("/mandanten/16051/fitconnect")
        XCTAssertEqual(pageB.status, .ok)
        XCTAssertTrue(pageB.text.contains(received.reference ?? "-") && pageB.text.contains("data-status=\"accepted\""), pageB.text)
        let jwksRes = try await webB.get("/mandanten/16051/fitconnect/zustellpunkte/\(destination)/jwks.json")
        XCTAssertEqual(jwksRes.status, .ok)
        XCTAssertFalse(jwksRes.text.contains("\"d\""), "only public key parts")
        let notB = try await webB.get("/mandanten/16052/fitconnect")
        XCTAssertEqual(notB.status, .forbidden, "another tenant's page")

        r = try await FITConnectSender.deliverDue(a)
        XCTAssertEqual(r.decided, 1)
        let after1 = try await XCTUnwrapAsync(try await FITConnectOutbound.find(out1.id, on: a.db))
        XCTAssertEqual(after1.status, "accepted")
        let kinds = try await FITConnectEvent.query(on: a.db).filter(\.$caseID == after1.caseID!).all().map(\.kind)
        XCTAssertEqual(Set(kinds), ["submit-submission", "accept-submission"], "A verified both SETs")
        let notice = try await PostboxMessage.query(on: a.db).filter(\.$antragID == first.id!).filter(\.$kind == "zustellung").first()
        XCTAssertEqual(notice?.subject.contains("zugestellt"), true)

        // 2. The Zustelldienst is down: the application stays accepted for the person, is retried and delivered once
        try await control(a, url, "/_test/outage", #"{"seconds": 600}"#)
        let second = try await submit(a, name: "Fritz", identification: .init(level: .hoch, at: Date(), via: "Test-eID"))
        r = try await FITConnectSender.deliverDue(a)
        XCTAssertEqual(r.delivered, 0)
        let waiting = try await XCTUnwrapAsync(try await FITConnectOutbound.query(on: a.db).filter(\.$antragID == second.id!).first())
        XCTAssertEqual(waiting.status, "pending")
        XCTAssertEqual(waiting.attempts, 1)
        XCTAssertTrue(waiting.lastError?.contains("503") == true, waiting.lastError ?? "")
        try await control(a, url, "/_test/outage", #"{"seconds": 0}"#)
        r = try await FITConnectSender.deliverDue(a, now: Date().addingTimeInterval(a.rathaus.fitConnectRetrySeconds + 1))
        XCTAssertEqual(r.delivered, 1)
        r = try await FITConnectSender.deliverDue(a, now: Date().addingTimeInterval(7200))
        XCTAssertEqual(r.delivered, 0, "nothing is sent twice")
        // B imports, but its acceptance cannot be sent (the Zustelldienst refuses events for now):
        // the case exists, the decision waits and is sent by the next run — never a second case
        // (ended explicitly, not by time: a slow machine must not let it run out before the poll)
        try await control(a, url, "/_test/outage", #"{"seconds": 600, "only": "POST /v1/cases/"}"#)
        // this time B does not trust A's reports: the level is shown as claimed, not taken over
        b.rathaus.identificationIssuers = [:]
        _ = try await FITConnectReceiver.poll(b, instance: "b-1")
        let fritz = try await XCTUnwrapAsync(try await Antrag.query(on: b.db).filter(\.$applicantName == "Fritz").first())
        XCTAssertNil(fritz.trustLevel, "an unverifiable report raises nothing")
        let fritzIn = try await XCTUnwrapAsync(try await FITConnectInbound.query(on: b.db).filter(\.$antragID == fritz.id!).first())
        XCTAssertEqual(fritzIn.identification?.hasPrefix("unverifiable|hoch|"), true, fritzIn.identification ?? "")
        let fritzPage = try await web.get("/mandanten/16051/antraege/\(fritz.id!)")
        XCTAssertTrue(fritzPage.text.contains("nicht prüfbar") && fritzPage.text.contains("class=\"notice\""), fritzPage.text)
        let waitingAccept = try await FITConnectInbound.query(on: b.db).filter(\.$status == "imported").count()
        XCTAssertEqual(waitingAccept, 1, "the stored acceptance waits")
        try await control(a, url, "/_test/outage", #"{"seconds": 0}"#)
        let resentAccept = try await FITConnectReceiver.poll(b, instance: "b-2")
        XCTAssertEqual(resentAccept.resent, 1)
        XCTAssertEqual(resentAccept.accepted, 0)
        let v3 = try await Antrag.query(on: b.db).filter(\.$applicantName == "Fritz").count()
        XCTAssertEqual(v3, 1)
        let v4 = try await stats(a, url)["accepted"]
        XCTAssertEqual(v4, 2)

        // 3. A tampered attachment: B rejects with the hash problem, A and the person see why
        let third = try await submit(a, name: "Gerda", file: Data("%PDF-1.7 echt".utf8))
        r = try await FITConnectSender.deliverDue(a)
        XCTAssertEqual(r.delivered, 1)
        let out3 = try await XCTUnwrapAsync(try await FITConnectOutbound.query(on: a.db).filter(\.$antragID == third.id!).first())
        try await control(a, url, "/_test/tamper", #"{"submissionId": "\#(out3.submissionID ?? "")"}"#)
        // the rejection cannot be sent at first either: it is kept and sent again, the same one
        try await control(a, url, "/_test/outage", #"{"seconds": 600, "only": "POST /v1/cases/"}"#)
        let rb = try await FITConnectReceiver.poll(b, instance: "b-1")
        XCTAssertEqual(rb.rejected, 1)
        let waitingReject = try await FITConnectInbound.query(on: b.db).filter(\.$status == "rejecting").count()
        XCTAssertEqual(waitingReject, 1, "the stored rejection waits")
        _ = try await FITConnectSender.deliverDue(a)
        let undecided = try await FITConnectOutbound.find(out3.id, on: a.db)?.status
        XCTAssertEqual(undecided, "submitted", "A has no decision yet")
        try await control(a, url, "/_test/outage", #"{"seconds": 0}"#)
        let resentReject = try await FITConnectReceiver.poll(b, instance: "b-2")
        XCTAssertEqual(resentReject.resent, 1)
        XCTAssertEqual(resentReject.rejected, 0, "not examined again")
        let v5 = try await Antrag.query(on: b.db).filter(\.$applicantName == "Gerda").count()
        XCTAssertEqual(v5, 0, "no case from a tampered submission")
        let inbound = try await XCTUnwrapAsync(try await FITConnectInbound.query(on: b.db).filter(\.$status == "rejected").first())
        XCTAssertTrue(inbound.problem?.contains("Hashwert") == true, inbound.problem ?? "")
        _ = try await FITConnectSender.deliverDue(a)
        let after3 = try await XCTUnwrapAsync(try await FITConnectOutbound.find(out3.id, on: a.db))
        XCTAssertEqual(after3.status, "rejected")
        let why = try await PostboxMessage.query(on: a.db).filter(\.$antragID == third.id!).filter(\.$kind == "zustellung").first()
        XCTAssertTrue(why?.body.contains("Hashwert") == true, why?.body ?? "")
        let v6 = try await stats(a, url)["rejected"]
        XCTAssertEqual(v6, 1)
        let v7 = try await AuditEntry.query(on: b.db).filter(\.$action == "fitconnect.reject").count()
        XCTAssertEqual(v7, 1)
        // A's page: status and the verified event log of every delivery, with the problem
        pageA = try await webA.get("/mandanten/16051/fitconnect")
        XCTAssertEqual(pageA.text.components(separatedBy: "data-status=\"accepted\"").count - 1, 2, pageA.text)
        XCTAssertEqual(pageA.text.components(separatedBy: "data-status=\"rejected\"").count - 1, 1)
        XCTAssertTrue(pageA.text.contains("Zurückgewiesen") && pageA.text.contains("Hashwert") && pageA.text.contains(first.reference ?? "-"))

        // An attachment larger than B accepts is not fetched whole: rejected with the limit named
        b.rathaus.fitConnectMaxPart = 64 * 1024
        let big = try await submit(a, name: "Hugo", file: Data(repeating: 0x25, count: 200 * 1024))
        r = try await FITConnectSender.deliverDue(a)
        XCTAssertEqual(r.delivered, 1)
        let rBig = try await FITConnectReceiver.poll(b, instance: "b-1")
        XCTAssertEqual(rBig.rejected, 1)
        b.rathaus.fitConnectMaxPart = 25 * 1024 * 1024
        _ = try await FITConnectSender.deliverDue(a)
        let bigOut = try await FITConnectOutbound.query(on: a.db).filter(\.$antragID == big.id!).first()
        XCTAssertEqual(bigOut?.status, "rejected")
        let bigWhy = try await PostboxMessage.query(on: a.db).filter(\.$antragID == big.id!).filter(\.$kind == "zustellung").first()
        XCTAssertTrue(bigWhy?.body.contains("größer als 64 KB") == true, bigWhy?.body ?? "")
        let v8 = try await Antrag.query(on: b.db).filter(\.$applicantName == "Hugo").count()
        XCTAssertEqual(v8, 0)

        // 4. A FIM service delivered to the destination named on A's activation form; B has
        //    imported the same schema: the data instance becomes answers with the FIM labels
        for app in [a, b] { _ = try await OnlineServiceCatalogue.publish(Self.fimService(), by: "test", actorID: nil, on: app.db) }
        res = try await webA.post("/mandanten/16051/onlinedienste/fim-hund", ["aktiv": "ja", "zustellung": "zustellpunkt", "zustellpunkt": destination.uppercased(), "zahlung": "keine"])
        XCTAssertEqual(res.status, .seeOther, res.text)
        let fimAnswers: Answers = ["F1": .text("Erika Hundt"), "F2": .text("nein"),
                                   "G2": .items([["F3": .text("Bello"), "F4": .text("2024-03-01")], ["F3": .text("Luna"), "F4": .text("2025-07-15")]])]
        let fimCase = try await submit(a, name: "Erika Hundt", slug: "fim-hund", answers: fimAnswers)
        r = try await FITConnectSender.deliverDue(a)
        XCTAssertEqual(r.delivered, 1)
        let outFIM = try await XCTUnwrapAsync(try await FITConnectOutbound.query(on: a.db).filter(\.$antragID == fimCase.id!).first())
        XCTAssertEqual(outFIM.destination, destination, "the destination of the activation, without routing")
        let rf = try await FITConnectReceiver.poll(b, instance: "b-2")
        XCTAssertEqual(rf.accepted, 1)
        let fimReceived = try await XCTUnwrapAsync(try await Antrag.query(on: b.db).filter(\.$slug == "fim-hund").first())
        XCTAssertEqual(fimReceived.decodedAnswers(), fimAnswers, "the FIM data instance read back into the answers")
        let fimFiles = try await AntragFile.query(on: b.db).filter(\.$antragID == fimReceived.id!).all().map(\.name)
        XCTAssertEqual(fimFiles, ["Fachdaten.xml"])
        let fimDetail = try await web.get("/mandanten/16051/antraege/\(fimReceived.id!)")
        XCTAssertTrue(fimDetail.text.contains("Rufname des Hundes") && fimDetail.text.contains("Luna") && fimDetail.text.contains("15.07.2025"), fimDetail.text)

        // 5. A figure for the note (printed, not asserted): 20 applications from A's commit to B's case
        let n = 20
        for i in 0..<n { _ = try await submit(a, name: "Lauf\(i)", file: Data("%PDF-1.7 \(i)".utf8)) }
        let start = Date()
        var imported = 0
        while imported < n, Date().timeIntervalSince(start) < 120 {
            _ = try await FITConnectSender.deliverDue(a, limit: n)
            imported += try await FITConnectReceiver.poll(b, instance: "b-1").accepted
        }
        XCTAssertEqual(imported, n)
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "FIT-Connect: %d Einreichungen mit je einer Anlage A → Zustelldienst → B in %.2f s = %.1f/s (Debug-Build, Verschlüsselung, Prüfung, Fall, SET)", n, seconds, Double(n) / seconds))
    }
}
