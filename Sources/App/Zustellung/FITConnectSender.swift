import Fluent
import FITConnect
import FIM
import Forms
import Foundation
import JOSE
import RathausCore
import SQLKit
import Vapor

/// Rathaus online services delivering to a FIT-Connect destination. `enqueue` runs inside the
/// transaction that accepts the application; `deliverDue` (scheduler job `fitconnect-versand`)
/// sends, retries with back-off and then follows the case's event log until the destination
/// accepted or rejected it. Exactly once: the row is the promise, the stored submission id makes
/// a retry continue the same submission, and only a submission that never reached `submit` is
/// ever created again (the Zustelldienst drops incomplete ones).
enum FITConnectSender {
    /// Schema of the form answers Rathaus sends as `data` for its own services.
    static let dataSchemaURI = "urn:rathaus:antrag:1"
    /// FIM data instances name their schema as `<prefix><schema id>:<version>` (read back by the receiver).
    static let fimSchemaPrefix = "urn:xoev-de:fim:datenfeldgruppe:"

    static func enqueue(on db: any Database, antrag a: Antrag, destination: String) async throws {
        let sql = db as! any SQLDatabase
        let now = Date()
        try await sql.raw("""
            INSERT INTO fitconnect_outbound (id, antrag_id, tenant_ars, destination, status, attempts, next_attempt_at, created_at, updated_at)
            VALUES (\(bind: UUID()), \(bind: try a.requireID()), \(bind: a.tenantARS), \(bind: destination), 'pending', 0, \(bind: now), \(bind: now), \(bind: now))
            ON CONFLICT (antrag_id) DO NOTHING
            """).run()
    }

    static func retryDelay(_ app: Application, attempts: Int) -> TimeInterval {
        min(3600, app.rathaus.fitConnectRetrySeconds * pow(2, Double(max(0, attempts - 1))))
    }

    struct Report: Sendable { var delivered = 0, failed = 0, decided = 0 }

    static func deliverDue(_ app: Application, now: Date = Date(), limit: Int = 20) async throws -> Report {
        var report = Report()
        let due = try await FITConnectOutbound.query(on: app.db).filter(\.$status == "pending").filter(\.$nextAttemptAt <= now)
            .sort(\.$createdAt).limit(limit).all()
        for row in due {
            // claim for five minutes: a second instance skips it, a crashed one releases it
            let id = try row.requireID()
            let claimed = try await app.writeTransaction { db -> Bool in
                struct R: Decodable { let id: UUID }
                return !(try await (db as! any SQLDatabase).raw("""
                    UPDATE fitconnect_outbound SET claimed_until = \(bind: now.addingTimeInterval(300)), updated_at = \(bind: now)
                    WHERE id = \(bind: id) AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < \(bind: now)) RETURNING id
                    """).all(decoding: R.self).isEmpty)
            }
            guard claimed, let fresh = try await FITConnectOutbound.find(id, on: app.db) else { continue }
            do {
                try await deliver(fresh, app: app)
                report.delivered += 1
            } catch {
                report.failed += 1
                let text = String(String(describing: error).prefix(500))
                try await app.writeTransaction { db in
                    guard let r = try await FITConnectOutbound.find(id, on: db) else { return }
                    r.attempts += 1
                    r.lastError = text
                    r.claimedUntil = nil
                    r.updatedAt = Date()
                    if r.attempts >= 12 {
                        r.status = "failed"
                        try await Audit.record(on: db, actor: "system:fitconnect", actorID: nil, tenant: r.tenantARS, action: "fitconnect.send.failed",
                                               objectType: "antrag", objectID: r.antragID.uuidString, before: "pending", after: text)
                    } else {
                        r.nextAttemptAt = now.addingTimeInterval(retryDelay(app, attempts: r.attempts))
                    }
                    try await r.save(on: db)
                }
            }
        }
        report.decided = try await followEvents(app, now: now)
        return report
    }

    struct DestinationInfo: Decodable { let destinationId: String; let status: String?; let encryptionKid: String? }

    /// Finds the destination for a LeiKa key and an ARS through the Routing API and checks the
    /// Zustelldienst's signature over the destination parameters before trusting them.
    static func route(_ client: FITConnectClient, leika: String, ars: String) async throws -> String {
        struct Routes: Decodable {
            struct Route: Decodable { let destinationId: String; let destinationSignature: String }
            let routes: [Route]
        }
        // the Routing API asks for the twelve-digit ARS; a district's or city's shorter key is padded
        let ars12 = String(ars.filter(\.isNumber).prefix(12)).padding(toLength: 12, withPad: "0", startingAt: 0)
        let q = "/v1/routes?leikaKey=\(leika.filter(\.isNumber))&ars=\(ars12)"
        let routes = try await client.json(Routes.self, Endpoint(.GET, q), authorised: false)
        let keys = try await client.zustelldienstKeys()
        for r in routes.routes {
            guard let v = try? JWS.verify(r.destinationSignature, keys: keys, allowed: [.PS512], policy: .fitConnect),
                  let params = try? JSONDecoder().decode(DestinationInfo.self, from: v.payload),
                  params.destinationId.lowercased() == r.destinationId.lowercased() else { continue }
            return params.destinationId.lowercased()
        }
        throw FITConnectFailure(status: 404, text: "Kein Zustellpunkt mit gültiger Signatur für Leistung \(leika) und ARS \(ars) gefunden")
    }

    static func deliver(_ row: FITConnectOutbound, app: Application) async throws {
        let rowID = try row.requireID()
        guard let a = try await Antrag.find(row.antragID, on: app.db) else { throw FITConnectFailure(status: 404, text: "Antrag fehlt") }
        guard let client = try await FITConnectClient.load(app, tenant: row.tenantARS, role: "sender", on: app.db) else {
            throw FITConnectFailure(status: 0, text: "Für diesen Mandanten ist kein FIT-Connect-Zugang (Sender) eingerichtet")
        }
        let version = try await OnlineServiceCatalogue.version(a.slug, a.version, on: app.db)
        let definition = try version?.decoded()
        let leika = version?.leika ?? ""
        var destination = row.destination
        if destination == "routing" {
            destination = try await route(client, leika: leika, ars: a.tenantARS)
            let d = destination
            try await app.writeTransaction { db in
                try await FITConnectOutbound.query(on: db).filter(\.$id == rowID).set(\.$destination, to: d).update()
            }
        }
        let info = try await client.json(DestinationInfo.self, client.api.destination(destination))
        guard (info.status ?? "active") == "active", let kid = info.encryptionKid else {
            throw FITConnectFailure(status: 422, text: "Der Zustellpunkt ist nicht aktiv")
        }
        let key = try await client.destinationKey(destination, kid: kid)

        // what is sent: the form answers (as the FIM data instance when the service came from FIM)
        let dto = try await AntragExport.dto(a, on: app.db, fileBase: "")
        var data: Data, schema: Metadata.SubmissionSchema
        if let d = definition, let fim = d.fim, let xml = FIMDataInstance.xml(d, answers: a.decodedAnswers()) {
            data = Data(xml.utf8)
            schema = .init(schemaUri: "\(Self.fimSchemaPrefix)\(fim.schemaID.lowercased()):\(fim.version)", mimeType: "application/xml")
        } else {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            data = try enc.encode(dto)
            schema = .init(schemaUri: dataSchemaURI, mimeType: "application/json")
        }
        let files = try await AntragFile.query(on: app.db).filter(\.$antragID == row.antragID).filter(\.$messageID == nil).sort(\.$createdAt).all()
        var attachments: [Envelope.PlainAttachment] = []
        for f in files {
            guard let content = try await app.files.get(f.sha256) else { throw FITConnectFailure(status: 0, text: "Datei \(f.name) nicht lesbar") }
            attachments.append(.init(id: try f.requireID().uuidString.lowercased(), filename: f.name, mimeType: FileKind(rawValue: f.kind)?.mediaType ?? "application/octet-stream", content: content))
        }
        var payment: Metadata.PaymentInformation?
        if let p = try await Payment.query(on: app.db).filter(\.$antragID == row.antragID).filter(\.$status == PaymentStatus.payed.rawValue).first() {
            payment = .init(transactionId: String(p.kassenzeichen.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(36)),
                            transactionReference: p.kassenzeichen, paymentMethod: .OTHER, status: .BOOKED, grossAmountCents: Int(p.amountCents))
        }
        let service = Metadata.PublicServiceType.leika(leika.isEmpty ? "99000000000000" : leika, name: a.serviceTitle)
        // an identified sender: the Servicekonto's signed report, bound to these Fachdaten
        let identification = try await IdentificationReports.issue(for: a, dataDigest: ContentHash.sha512Hex(data),
                                                                    serviceURN: service.identifier, app: app)
        let sealed = try Envelope.seal(
            data: data, dataSchema: schema, attachments: attachments,
            service: service, payment: payment,
            reply: a.applicantEmail.contains("@") ? .init(eMail: a.applicantEmail) : nil,
            reference: .init(senderReference: a.reference, applicationDate: a.submittedAt.map { String(Audit.timestamp($0).prefix(10)) }),
            authentication: identification.map { [$0] }, for: key)

        var submissionID = row.submissionID
        if submissionID == nil {
            struct Created: Decodable { let submissionId: String; let caseId: String }
            let body = try client.api.createBody(destination: destination, attachments: attachments.map(\.id), serviceName: a.serviceTitle,
                                                 serviceIdentifier: sealed.metadata.publicServiceType?.identifier ?? "", caseID: String?.none)
            let created = try await client.json(Created.self, client.api.createSubmission(), body: body)
            submissionID = created.submissionId.lowercased()
            try await app.writeTransaction { db in
                try await FITConnectOutbound.query(on: db).filter(\.$id == rowID)
                    .set(\.$submissionID, to: created.submissionId.lowercased()).set(\.$caseID, to: created.caseId.lowercased()).update()
            }
        }
        guard let sid = submissionID else { return }
        let target = destination
        do {
            for att in sealed.encryptedAttachments {
                _ = try await client.call(client.api.uploadAttachment(submission: sid, attachment: att.id), body: Data(att.jwe.utf8))
            }
            _ = try await client.call(client.api.submit(submission: sid), body: try client.api.submitBody(encryptedMetadata: sealed.encryptedMetadata, encryptedData: sealed.encryptedData))
        } catch let f as FITConnectFailure where f.status == 404 {
            // the incomplete submission expired at the Zustelldienst: start a new one next time
            try await app.writeTransaction { db in
                try await FITConnectOutbound.query(on: db).filter(\.$id == rowID).set(\.$submissionID, to: nil).set(\.$caseID, to: nil).update()
            }
            throw f
        } catch let f as FITConnectFailure where f.status == 422 {
            // an earlier attempt may have submitted before its answer got lost
            struct State: Decodable { let status: String? }
            let s = try await client.json(State.self, client.api.submission(sid))
            guard let st = s.status, st != "incomplete" else { throw f }
        }
        try await app.writeTransaction { db in
            guard let r = try await FITConnectOutbound.find(row.id, on: db) else { return }
            r.status = "submitted"
            r.claimedUntil = nil
            r.lastError = nil
            r.updatedAt = Date()
            try await r.save(on: db)
            try await Audit.record(on: db, actor: "system:fitconnect", actorID: nil, tenant: r.tenantARS, action: "fitconnect.send",
                                   objectType: "antrag", objectID: a.reference ?? r.antragID.uuidString, before: "pending", after: "Einreichung \(sid) an \(target)")
        }
    }

    /// Reads the event log of every submitted case (50 per run, the longest unchecked first) and
    /// records each verified event once; accept/reject end the delivery and tell the person.
    static func followEvents(_ app: Application, now: Date) async throws -> Int {
        let open = try await FITConnectOutbound.query(on: app.db).filter(\.$status == "submitted").sort(\.$updatedAt).limit(50).all()
        var decided = 0
        for row in open {
            guard let caseID = row.caseID, let client = try await FITConnectClient.load(app, tenant: row.tenantARS, role: "sender", on: app.db) else { continue }
            let log: (events: [SecurityEvent], unverified: Int)
            do { log = try await client.eventLog(case: caseID, destination: row.destination) } catch { continue }
            let id = try row.requireID()
            if try await record(log.events, tenant: row.tenantARS, antrag: row.antragID, app: app, outbound: id) { decided += 1 }
        }
        return decided
    }

    /// Stores new events; for the first accept/reject of the submission the status changes and the
    /// applicant and the case get a message (in the same transaction).
    static func record(_ events: [SecurityEvent], tenant: String, antrag: UUID?, app: Application, outbound: UUID?) async throws -> Bool {
        try await app.writeTransaction { db -> Bool in
            var decided = false
            let sql = db as! any SQLDatabase
            for e in events {
                struct R: Decodable { let id: UUID }
                let problems = RejectionProblem.texts(in: e)
                let inserted = try await sql.raw("""
                    INSERT INTO fitconnect_events (id, case_id, jti, tenant_ars, antrag_id, kind, issuer, issued_at, detail)
                    VALUES (\(bind: UUID()), \(bind: e.caseID), \(bind: e.id), \(bind: tenant), \(bind: antrag), \(bind: e.kind.rawValue), \(bind: e.issuer),
                            \(bind: e.issuedAt), \(bind: problems.joined(separator: "\n")))
                    ON CONFLICT (case_id, jti, tenant_ars) DO NOTHING RETURNING id
                    """).all(decoding: R.self)
                guard !inserted.isEmpty, let outbound, e.kind == .acceptSubmission || e.kind == .rejectSubmission,
                      let row = try await FITConnectOutbound.find(outbound, on: db), row.status == "submitted",
                      let a = try await Antrag.find(row.antragID, on: db) else { continue }
                row.status = e.kind == .acceptSubmission ? "accepted" : "rejected"
                row.updatedAt = Date()
                try await row.save(on: db)
                let ref = a.reference ?? ""
                if e.kind == .acceptSubmission {
                    try await AntragService.postMessage(on: db, antrag: a, direction: "amt", kind: "zustellung", sender: a.officeName,
                                                        subject: "\(ref): Antrag zugestellt",
                                                        body: "Ihr Antrag wurde am \(GermanTime.format(e.issuedAt, english: false)) über FIT-Connect an die zuständige Stelle zugestellt und dort angenommen.")
                } else {
                    let why = problems.isEmpty ? "Die Empfangsstelle hat keinen Grund genannt." : problems.joined(separator: " ")
                    try await AntragService.postMessage(on: db, antrag: a, direction: "amt", kind: "zustellung", sender: a.officeName,
                                                        subject: "\(ref): Zustellung zurückgewiesen",
                                                        body: "Die Empfangsstelle hat Ihren Antrag nicht angenommen: \(why)\nBitte wenden Sie sich an \(a.officeName) (\(a.tenantName)).")
                    try await Outbox.enqueue(on: db, key: "fitconnect-abgelehnt-\(row.antragID.uuidString)", to: a.applicantEmail,
                                             subject: "\(ref): Zustellung Ihres Antrags zurückgewiesen",
                                             body: "Guten Tag,\n\nIhr Antrag „\(a.serviceTitle)“ (\(ref)) wurde von der Empfangsstelle nicht angenommen: \(why)\n\nBitte wenden Sie sich an \(a.officeName) (\(a.tenantName)).\n\nDiese Nachricht wurde automatisch erstellt.")
                }
                try await Audit.record(on: db, actor: "system:fitconnect", actorID: nil, tenant: tenant, action: "fitconnect.\(e.kind.rawValue)",
                                       objectType: "antrag", objectID: ref, before: "submitted", after: row.status)
                decided = true
            }
            return decided
        }
    }
}
