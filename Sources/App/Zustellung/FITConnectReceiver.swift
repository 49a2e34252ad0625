import Crypto
import CryptoExtras
import Fluent
import FIM
import FITConnect
import Forms
import Foundation
import JOSE
import RathausCore
import SQLKit
import Vapor

/// Submissions built elsewhere arriving at the installation's destinations (scheduler job
/// `fitconnect-abholung`). Each is claimed once (unique submission id), decrypted, checked
/// (metadata schema, every hash), turned into a case in the office's inbox and answered with a
/// signed `accept-submission` — or answered with `reject-submission` naming the problem. The
/// decision is stored before it is sent, so a crash in between sends the same decision again,
/// never the other one.
enum FITConnectReceiver {

    struct Report: Sendable { var accepted = 0, rejected = 0, resent = 0 }

    struct Keys {
        let encryption: _RSA.Encryption.PrivateKey
        let encryptionKid: String
        let signing: _RSA.Signing.PrivateKey
        let signingKid: String
    }

    static func keys(_ d: FITConnectDestination, app: Application) throws -> Keys {
        let box = try app.secretBox()
        let ctx = FITConnectDestination.context(d.destinationID)
        let enc = try _RSA.Encryption.PrivateKey(pemRepresentation: box.openText(d.sealedEncryptionKey, context: ctx))
        let sig = try _RSA.Signing.PrivateKey(pemRepresentation: box.openText(d.sealedSigningKey, context: ctx))
        return Keys(encryption: enc, encryptionKid: d.encryptionKid, signing: sig, signingKid: d.signingKid)
    }

    static func poll(_ app: Application, now: Date = Date(), instance: String) async throws -> Report {
        var report = Report()
        for d in try await FITConnectDestination.query(on: app.db).filter(\.$active == true).all() {
            guard let client = try await FITConnectClient.load(app, tenant: d.tenantARS, role: "subscriber", on: app.db) else { continue }
            let keys = try keys(d, app: app)
            struct Page: Decodable {
                struct Item: Decodable { let submissionId: String; let caseId: String }
                let submissions: [Item]
            }
            let page = try await client.json(Page.self, client.api.pickupList(destination: d.destinationID, limit: 100, offset: 0))
            for item in page.submissions {
                guard UUID(uuidString: item.submissionId) != nil, UUID(uuidString: item.caseId) != nil else { continue }
                guard try await claim(app, submission: item.submissionId.lowercased(), case: item.caseId.lowercased(), destination: d, instance: instance, now: now) else { continue }
                let accepted = try await receive(item.submissionId.lowercased(), caseID: item.caseId.lowercased(), destination: d, keys: keys, client: client, app: app)
                if accepted { report.accepted += 1 } else { report.rejected += 1 }
            }
            report.resent += try await resendDecisions(app, destination: d, client: client)
        }
        return report
    }

    /// Exactly one instance gets a submission: the insert with the unique submission id, or the
    /// takeover of a claim older than ten minutes whose instance died before deciding.
    static func claim(_ app: Application, submission: String, case caseID: String, destination d: FITConnectDestination,
                      instance: String, now: Date) async throws -> Bool {
        try await app.writeTransaction { db -> Bool in
            struct R: Decodable { let id: UUID }
            let sql = db as! any SQLDatabase
            let inserted = try await sql.raw("""
                INSERT INTO fitconnect_inbound (id, submission_id, destination_id, tenant_ars, case_id, status, instance, claimed_at, updated_at)
                VALUES (\(bind: UUID()), \(bind: submission), \(bind: d.destinationID), \(bind: d.tenantARS), \(bind: caseID), 'claimed',
                        \(bind: instance), \(bind: now), \(bind: now))
                ON CONFLICT (submission_id) DO NOTHING RETURNING id
                """).all(decoding: R.self)
            if !inserted.isEmpty { return true }
            return !(try await sql.raw("""
                UPDATE fitconnect_inbound SET instance = \(bind: instance), claimed_at = \(bind: now), updated_at = \(bind: now)
                WHERE submission_id = \(bind: submission) AND status = 'claimed' AND claimed_at < \(bind: now.addingTimeInterval(-600)) RETURNING id
                """).all(decoding: R.self).isEmpty)
        }
    }

    static func size(_ bytes: Int) -> String { bytes >= 1024 * 1024 ? "\(bytes / 1024 / 1024) MB" : "\(bytes / 1024) KB" }

    /// The authentication tags of every JWE of the submission (the last part of the compact
    /// form), which `accept-submission` confirms.
    static func tag(_ jwe: String) -> String { jwe.split(separator: ".", omittingEmptySubsequences: false).last.map(String.init) ?? "" }

    static func receive(_ sid: String, caseID: String, destination d: FITConnectDestination, keys: Keys, client: FITConnectClient, app: Application) async throws -> Bool {
        var service: String?
        struct Sub: Decodable {
            let submissionId: String; let caseId: String; let attachments: [String]?
            let encryptedMetadata: String?; let encryptedData: String?
            struct ServiceType: Decodable { let name: String?; let identifier: String? }
            let serviceType: ServiceType?
        }
        // a part's JWE is its plaintext in base64url plus the header: larger answers are not read
        let maxPart = app.rathaus.fitConnectMaxPart
        var limited = client
        limited.maxAnswer = maxPart / 3 * 4 + 64 * 1024
        var decision: SecurityEvent
        var antragID: UUID?
        var problem: String?
        do {
            let sub: Sub
            do { sub = try await limited.json(Sub.self, limited.api.submission(sid)) } catch let f as FITConnectFailure where f.tooLarge {
                throw Envelope.Refusal(problem: .decryptionFailed, detail: "Die Fachdaten sind größer als \(Self.size(maxPart)) und werden von dieser Empfangsstelle nicht angenommen", instance: "data")
            }
            service = sub.serviceType?.name
            var encrypted: [String: String] = [:]
            for aid in (sub.attachments ?? []).prefix(200) {
                let raw: Data
                do { raw = try await limited.call(limited.api.attachment(submission: sid, attachment: aid)) } catch let f as FITConnectFailure where f.tooLarge {
                    throw Envelope.Refusal(problem: .decryptionFailed,
                                           detail: "Anlage \(aid) ist größer als \(Self.size(maxPart)) und wird von dieser Empfangsstelle nicht angenommen",
                                           instance: "attachment:\(aid.lowercased())")
                }
                encrypted[aid.lowercased()] = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let meta = sub.encryptedMetadata else { throw Envelope.Refusal(problem: .schemaViolation, detail: "Metadaten fehlen") }
            let opened = try Envelope.open(encryptedMetadata: meta, encryptedData: sub.encryptedData, attachments: encrypted,
                                           key: keys.encryption, kid: keys.encryptionKid, limit: maxPart)
            var tags: [String: JSONValue] = ["metadata": .string(tag(meta))]
            if let data = sub.encryptedData { tags["data"] = .string(tag(data)) }
            if !encrypted.isEmpty { tags["attachments"] = .object(encrypted.mapValues { .string(tag($0)) }) }
            decision = SecurityEvent(kind: .acceptSubmission, issuer: d.destinationID, submissionID: sid, caseID: caseID,
                                     payload: ["authenticationTags": .object(tags)])
            antragID = try await createCase(opened, submission: sid, caseID: caseID, service: service, destination: d, app: app,
                                            decision: decision, keys: keys)
        } catch let r as Envelope.Refusal {
            problem = r.problem.germanText + " (" + String(r.detail.prefix(200)) + ")"
            decision = SecurityEvent(kind: .rejectSubmission, issuer: d.destinationID, submissionID: sid, caseID: caseID,
                                     payload: r.problem.eventPayload(detail: String(r.detail.prefix(200)), instance: r.instance))
            let token = try decision.signed(with: keys.signing, kid: keys.signingKid)
            let p = problem
            try await app.writeTransaction { db in
                try await FITConnectInbound.query(on: db).filter(\.$submissionID == sid)
                    .set(\.$status, to: "rejecting").set(\.$problem, to: p).set(\.$decision, to: token).set(\.$updatedAt, to: Date()).update()
                try await Audit.record(on: db, actor: "system:fitconnect", actorID: nil, tenant: d.tenantARS, action: "fitconnect.reject",
                                       objectType: "fitconnect-einreichung", objectID: sid, before: "claimed", after: r.problem.rawValue)
            }
        }
        try await send(decision, destination: d, keys: keys, client: client, app: app, antrag: antragID)
        return decision.kind == .acceptSubmission
    }

    /// The case in the office's inbox, its files, the audit entry and the stored decision: one
    /// transaction.
    static func createCase(_ o: Envelope.Opened, submission sid: String, caseID: String, service: String?, destination d: FITConnectDestination,
                           app: Application, decision: SecurityEvent, keys: Keys) async throws -> UUID {
        // Rathaus's own format carries the service and the answers; anything else stays a file
        let rathaus = o.metadata.contentStructure.data?.submissionSchema.schemaUri == FITConnectSender.dataSchemaURI
            ? o.data.flatMap { try? JSONDecoder().decode(AntragExport.AntragDTO.self, from: $0) } : nil
        let office: Office? = if let oid = d.officeID { try await Office.find(oid, on: app.db) } else {
            try await Office.query(on: app.db).filter(\.$tenantARS == d.tenantARS).sort(\.$name).first()
        }
        let tenantName = try await Gebiet.find(d.tenantARS, on: app.db)?.name ?? d.tenantARS
        var stored: [(name: String, kind: String, size: Int, sha: String)] = []
        for (meta, content) in o.attachments {
            let sha = try await app.files.put(content)
            stored.append((meta.filename ?? "anlage", FileKind.detect(Array(content.prefix(16)))?.rawValue ?? "datei", content.count, sha))
        }
        if let data = o.data {
            let xml = o.metadata.contentStructure.data?.submissionSchema.mimeType == "application/xml"
            stored.append((xml ? "Fachdaten.xml" : "Fachdaten.json", xml ? FileKind.xml.rawValue : "datei", data.count, try await app.files.put(data)))
        }
        let token = try decision.signed(with: keys.signing, kid: keys.signingKid)
        let files = stored
        var known: ServiceVersion? = if let r = rathaus { try await OnlineServiceCatalogue.version(r.onlinedienst.kennung, r.onlinedienst.version, on: app.db) } else { nil }
        var answers: Answers = known != nil ? (rathaus?.angaben ?? [:]) : [:]
        // a FIM data instance of a schema this installation has imported as well: the answers
        // with the schema's labels (the XML stays with the case either way)
        if rathaus == nil, let data = o.data, let fim = try await fimService(o.metadata.contentStructure.data?.submissionSchema, on: app.db) {
            if let read = try? FIMDataInstance.answers(xml: data, service: fim.definition) { known = fim.version; answers = read }
        }
        let title = rathaus?.onlinedienst.titel ?? known.flatMap { try? $0.decoded().title.de } ?? service ?? o.metadata.publicServiceType?.name ?? "FIT-Connect-Einreichung"
        let reply = o.metadata.replyChannel?.kindAndAddress.map { "\($0.kind)|\($0.address)" }
        // an identification report is examined, never a reason to refuse: the clerk sees the verdict
        var examination: IdentificationReport.Examination?
        if let reports = o.metadata.authenticationInformation, !reports.isEmpty {
            let trusted = await IdentificationReports.trustedKeys(app)
            let digest = o.data.map { ContentHash.sha512Hex($0) }
            let all = reports.prefix(5).map { IdentificationReport.examine($0, trusted: trusted, dataDigest: digest) }
            examination = all.first { $0.verdict == .verified } ?? all.first { $0.verdict == .invalid } ?? all.first
        }
        let identification = examination.map(IdentificationReports.stored)
        let proven = examination.flatMap { $0.verdict == .verified ? $0 : nil }
        let verdict = examination.map { ", Identifikationsnachweis \($0.verdict.rawValue)" } ?? ""
        let readAnswers = answers
        let knownService = known.map { (slug: $0.slug, version: $0.version) }
        return try await app.writeTransaction { db -> UUID in
            let now = Date()
            let year = Calendar(identifier: .gregorian).component(.year, from: now)
            let ref = AntragService.reference(year: year, number: try await Sequences.next("antrag-\(year)", on: db))
            let a = Antrag()
            a.reference = ref
            a.tenantARS = d.tenantARS; a.tenantName = tenantName
            a.slug = knownService?.slug ?? "fitconnect"; a.version = knownService?.version ?? 0
            a.serviceTitle = String(title.prefix(200))
            a.applicantID = nil
            a.applicantName = rathaus?.antragsteller.name ?? o.metadata.replyChannel?.eMail?.address ?? "über FIT-Connect"
            // mails go only where the sender named plain e-mail as the reply channel (Rathaus cannot encrypt with PGP)
            a.applicantEmail = o.metadata.replyChannel?.eMail.flatMap { $0.pgpPublicKey == nil ? $0.address : nil } ?? ""
            a.officeID = office?.id; a.officeName = office?.name ?? tenantName
            a.status = CaseStatus.received.rawValue
            a.setAnswers(readAnswers)
            a.feeCents = 0; a.notifyByEmail = true; a.assigneeName = ""
            a.createdAt = now; a.updatedAt = now; a.submittedAt = now
            if let p = proven, let level = p.level {
                a.trustLevel = IdentificationReports.trustLevel(level).rawValue; a.identifiedAt = p.identifiedAt; a.identifiedVia = p.issuer
            }
            try await a.create(on: db)
            let aid = try a.requireID()
            for f in files {
                let row = AntragFile()
                row.antragID = aid; row.messageID = nil; row.field = "fitconnect"; row.name = String(f.name.prefix(200)); row.kind = f.kind
                row.size = f.size; row.sha256 = f.sha; row.uploadedBy = "system:fitconnect"; row.createdAt = now
                try await row.create(on: db)
            }
            try await FITConnectInbound.query(on: db).filter(\.$submissionID == sid)
                .set(\.$status, to: "imported").set(\.$antragID, to: aid).set(\.$decision, to: token).set(\.$replyChannel, to: reply)
                .set(\.$identification, to: identification).set(\.$updatedAt, to: now).update()
            try await Audit.record(on: db, actor: "system:fitconnect", actorID: nil, tenant: d.tenantARS, action: "fitconnect.receive",
                                   objectType: "antrag", objectID: ref, before: nil,
                                   after: "Einreichung \(sid), \(o.attachments.count) Anlagen" + verdict)
            return aid
        }
    }

    /// The imported FIM service whose schema id and version the data names
    /// (`urn:xoev-de:fim:datenfeldgruppe:<id>:<version>`, as `FITConnectSender` writes it).
    static func fimService(_ schema: Metadata.SubmissionSchema?, on db: any Database) async throws -> (version: ServiceVersion, definition: ServiceDefinition)? {
        let prefix = FITConnectSender.fimSchemaPrefix
        guard let schema, schema.mimeType == "application/xml", schema.schemaUri.hasPrefix(prefix) else { return nil }
        let rest = schema.schemaUri.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let id = rest[..<colon].lowercased(), version = String(rest[rest.index(after: colon)...])
        for v in try await OnlineServiceCatalogue.latest(on: db) {
            guard let d = try? v.decoded(), let fim = d.fim, fim.schemaID.lowercased() == id, fim.version == version else { continue }
            return (v, d)
        }
        return nil
    }

    /// Sends the stored decision. 409 means the Zustelldienst already has a decision for this
    /// submission (an earlier attempt whose answer got lost): the same one, since it is stored.
    static func send(_ decision: SecurityEvent, destination d: FITConnectDestination, keys: Keys, client: FITConnectClient, app: Application, antrag: UUID?) async throws {
        guard let row = try await FITConnectInbound.query(on: app.db).filter(\.$submissionID == decision.submissionID).first(),
              let token = row.decision else { return }
        do {
            _ = try await client.call(client.api.postEvent(case: row.caseID), body: Data(token.utf8))
        } catch let f as FITConnectFailure where f.status == 409 {
        } catch { return }  // sent again by `resendDecisions`
        let final = decision.kind == .acceptSubmission ? "accepted" : "rejected"
        _ = try await FITConnectSender.record([decision], tenant: d.tenantARS, antrag: antrag, app: app, outbound: nil)
        try await app.writeTransaction { db in
            try await FITConnectInbound.query(on: db).filter(\.$submissionID == decision.submissionID)
                .set(\.$status, to: final).set(\.$updatedAt, to: Date()).update()
        }
    }

    /// Decisions stored but not confirmed by the Zustelldienst (crash or outage after the case
    /// was created) are sent again.
    static func resendDecisions(_ app: Application, destination d: FITConnectDestination, client: FITConnectClient) async throws -> Int {
        // both stored decisions wait here until the Zustelldienst took them: an accept
        // (`imported`) and a reject (`rejecting`)
        let pending = try await FITConnectInbound.query(on: app.db).filter(\.$destinationID == d.destinationID)
            .filter(\.$status ~~ ["imported", "rejecting"]).limit(50).all()
        var n = 0
        for row in pending {
            guard let token = row.decision, let rowID = row.id else { continue }
            do {
                _ = try await client.call(client.api.postEvent(case: row.caseID), body: Data(token.utf8))
            } catch let f as FITConnectFailure where f.status == 409 {
            } catch { continue }
            try await app.writeTransaction { db in
                try await FITConnectInbound.query(on: db).filter(\.$id == rowID)
                    .set(\.$status, to: row.status == "imported" ? "accepted" : "rejected").set(\.$updatedAt, to: Date()).update()
            }
            n += 1
        }
        return n
    }
}
