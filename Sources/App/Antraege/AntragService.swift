import Fluent
import Forms
import SQLKit
import Vapor
import RathausCore

/// The application's state changes. Each one is a single transaction: the change, its audit
/// entry, the postbox message and the outgoing mail commit together or not at all.
enum AntragService {
    static func engine(_ d: ServiceDefinition) -> FormEngine {
        FormEngine(form: d.form, today: BusinessDate.today())
    }

    static func reference(year: Int, number: Int64) -> String {
        String(format: "TH-%04d-%06lld", year, number)
    }

    /// Sends a draft. Idempotent: a draft that was already sent is returned as it is (double
    /// click, retried request); two parallel sends are serialised by the conditional update, so
    /// exactly one assigns the reference.
    static func submit(_ antragID: UUID, definition d: ServiceDefinition, activation: ServiceActivation?, app: Application,
                       actor: String, actorID: String?, identification: IdentificationReports.Session? = nil) async throws -> Antrag {
        try await app.writeTransaction { db in
            guard let a = try await Antrag.find(antragID, on: db) else { throw AppError.notFound }
            if !a.isDraft { return a }
            let e = engine(d)
            let answers = e.normalize(a.decodedAnswers())
            let issues = e.validate(answers)
            guard issues.isEmpty else {
                throw AppError(.unprocessableEntity, "antrag.incomplete", de: "Der Antrag ist noch nicht vollständig: " + issues.prefix(3).map(\.de).joined(separator: " "),
                               en: "The application is not complete yet.", field: issues.first?.path)
            }
            let fee: Int
            do { fee = try OnlineServiceCatalogue.fee(d, activation: activation, answers: answers) } catch let f as FeeRule.Failure {
                throw AppError(.unprocessableEntity, "antrag.fee", de: f.de, en: "The fee cannot be computed.")
            }
            let now = Date()
            let year = Calendar(identifier: .gregorian).component(.year, from: now)
            let number = try await Sequences.next("antrag-\(year)", on: db)
            let ref = reference(year: year, number: number)
            let sql = db as! any SQLDatabase
            struct Row: Decodable { let id: UUID }
            // only a draft becomes a case; a parallel send finds no draft any more
            let claimed = try await sql.raw("""
                UPDATE antraege SET status = \(bind: CaseStatus.received.rawValue), reference = \(bind: ref), submitted_at = \(bind: now),
                updated_at = \(bind: now), fee_cents = \(bind: fee) WHERE id = \(bind: antragID) AND status = \(bind: Antrag.draft) RETURNING id
                """).all(decoding: Row.self)
            guard !claimed.isEmpty else {
                guard let sent = try await Antrag.find(antragID, on: db) else { throw AppError.notFound }
                return sent
            }
            a.setAnswers(answers)
            a.status = CaseStatus.received.rawValue
            a.reference = ref
            a.submittedAt = now
            a.feeCents = fee
            // how the sender was identified when sending: shown to the clerk, and the basis of
            // the identification report a FIT-Connect delivery carries
            if let i = identification {
                a.trustLevel = i.level.rawValue; a.identifiedAt = i.at; a.identifiedVia = i.via
            }
            try await a.save(on: db)
            try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: a.tenantARS, action: "antrag.submit",
                                   objectType: "antrag", objectID: ref, before: Antrag.draft, after: "\(a.slug) v\(a.version), \(a.officeName)")
            let body = """
                Guten Tag \(a.applicantName),

                Ihr Antrag „\(a.serviceTitle)“ ist am \(GermanTime.format(now, english: false)) bei \(a.officeName) (\(a.tenantName)) eingegangen.
                Aktenzeichen: \(ref)
                \(fee > 0 ? "Gebühr: \(Money(cents: Int64(fee)).formattedDE)\n" : "")
                Nachrichten der Behörde zu Ihrem Antrag finden Sie in Ihrem Postfach: \(app.rathaus.publicURL)/konto/postfach

                Diese Nachricht wurde automatisch erstellt.
                """
            let receipt = try await postMessage(on: db, antrag: a, direction: "amt", kind: "eingang", sender: a.officeName,
                                                subject: "Eingangsbestätigung \(ref): \(a.serviceTitle)",
                                                body: body + "\n\nDie Eingangsbestätigung als PDF ist dieser Nachricht angehängt.")
            // the receipt as PDF/A, committed with the submission it confirms
            let pdf = try await CaseDocuments.receipt(a, lines: e.summary(answers), on: db, files: app.files)
            try await CaseDocuments.store(pdf, name: CaseDocuments.fileName("Eingangsbestaetigung", ref), antrag: a, message: receipt, app: app, on: db)
            for p in try await Payment.query(on: db).filter(\.$antragID == antragID).filter(\.$status == PaymentStatus.payed.rawValue).all() {
                try await postMessage(on: db, antrag: a, direction: "amt", kind: "zahlung", sender: a.officeName, subject: "\(ref): Zahlung eingegangen",
                                      body: "Ihre Zahlung über \(Money(cents: p.amountCents).formattedDE) ist eingegangen. Kassenzeichen: \(p.kassenzeichen).")
            }
            try await Outbox.enqueue(on: db, key: "antrag-eingang-\(antragID.uuidString)", to: a.applicantEmail,
                                     subject: "Eingangsbestätigung \(ref): \(a.serviceTitle)", body: body)
            // delivery through FIT-Connect is promised in the same transaction as the receipt
            if let destination = activation?.fitConnectDestination, !destination.isEmpty {
                try await FITConnectSender.enqueue(on: db, antrag: a, destination: destination)
            }
            return a
        }
    }

    /// The mail about news in a case. Account holders read the content in their postbox (the mail
    /// only says there is news); guests have no postbox, so their mail carries the text.
    static func notice(_ a: Antrag, ref: String, what: String, text: String, app: Application, letterAttached: Bool = false) -> String {
        if letterAttached {
            return "Guten Tag,\n\nzu Ihrem Antrag \(ref) (\(a.serviceTitle)) bei \(a.officeName) gibt es Neues (\(what)):\n\n\(text)\n\nDas Schreiben ist dieser E-Mail als PDF angehängt. Sie erhalten diese Nachricht an die Adresse, die bei der Einreichung über FIT-Connect als Rückkanal angegeben wurde. Bitte antworten Sie der Behörde unter Angabe des Aktenzeichens.\n\nDiese Nachricht wurde automatisch erstellt."
        }
        if a.applicantID == nil {
            return "Guten Tag,\n\nzu Ihrem Antrag \(ref) (\(a.serviceTitle)) bei \(a.officeName) gibt es Neues (\(what)):\n\n\(text)\n\nAnlagen erhalten Sie auf Nachfrage bei der Behörde. Bitte antworten Sie der Behörde unter Angabe des Aktenzeichens.\n\nDiese Nachricht wurde automatisch erstellt."
        }
        return "Guten Tag,\n\nzu Ihrem Antrag \(ref) (\(a.serviceTitle)) gibt es eine neue Nachricht (\(what)).\nSie finden sie in Ihrem Postfach: \(app.rathaus.publicURL)/konto/postfach\n\nDiese Nachricht wurde automatisch erstellt."
    }

    @discardableResult
    static func postMessage(on db: any Database, antrag a: Antrag, direction: String, kind: String, sender: String,
                            subject: String, body: String) async throws -> PostboxMessage {
        let m = PostboxMessage()
        m.antragID = try a.requireID()
        m.tenantARS = a.tenantARS
        m.recipientID = direction == "amt" ? a.applicantID : nil
        m.direction = direction
        m.kind = kind
        m.sender = sender
        m.subject = String(subject.prefix(200))
        m.body = body
        m.createdAt = Date()
        try await m.create(on: db)
        return m
    }

    /// Files of a message, recorded in the same transaction as the message.
    static func attach(_ files: [UploadedFile], to a: Antrag, message: PostboxMessage?, by actor: String, on db: any Database) async throws {
        for f in files {
            guard let sha = f.sha256, let kind = f.kind else { continue }
            let row = AntragFile()
            row.antragID = try a.requireID()
            row.messageID = message?.id
            row.field = message == nil ? f.field : ""
            row.name = f.name
            row.kind = kind.rawValue
            row.size = f.size
            row.sha256 = sha
            row.uploadedBy = actor
            row.createdAt = Date()
            try await row.create(on: db)
        }
    }

    /// A status change by the office (with a text for the applicant where the workflow needs one)
    /// or by the applicant (withdrawal, answer to a query). Announced in the postbox and, when the
    /// person chose it, by mail (the mail only says there is news: the content stays in the postbox).
    static func transition(_ a: Antrag, to target: CaseStatus, by who: CaseActor, text: String?, files: [UploadedFile] = [],
                           app: Application, actor: String, actorID: String?, senderName: String, clerkName: String? = nil) async throws {
        guard let from = a.caseStatus else { throw AppError.notFound }
        if let failure = CaseWorkflow.check(from: from, to: target, by: who, text: text) {
            throw AppError(.conflict, failure, field: "text")
        }
        try await app.writeTransaction { db in
            a.status = target.rawValue
            a.updatedAt = Date()
            try await a.save(on: db)
            let ref = a.reference ?? ""
            try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: a.tenantARS, action: "antrag.status",
                                   objectType: "antrag", objectID: ref, before: from.rawValue, after: target.rawValue)
            let kind: String = switch target {
            case .query: "rueckfrage"
            case .completed, .rejected: "bescheid"
            default: "status"
            }
            let message: PostboxMessage
            if who == .office {
                var body = "Ihr Antrag \(ref) (\(a.serviceTitle)) hat jetzt den Status „\(target.german)“."
                if let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { body += "\n\n" + text }
                if target == .query { body += "\n\nBitte antworten Sie über Ihr Postfach." }
                if kind != "status" { body += "\n\nDas Schreiben als PDF ist dieser Nachricht angehängt." }
                message = try await postMessage(on: db, antrag: a, direction: "amt", kind: kind, sender: senderName,
                                                subject: "\(ref): \(target == .query ? "Rückfrage" : target == .completed ? "Bescheid" : target == .rejected ? "Ablehnung" : "Status \(target.german)")",
                                                body: body)
                // decision, refusal and query become a letter with the tenant's letterhead, stored with the case
                var letterPDF: MailAttachment?
                if kind != "status" {
                    let letter = try await CaseDocuments.letter(a, status: target, text: text ?? "", clerk: clerkName ?? senderName, on: db, files: app.files)
                    try await CaseDocuments.store(letter.data, name: letter.name, antrag: a, message: message, app: app, on: db)
                    letterPDF = .binary(name: letter.name, mediaType: "application/pdf", data: letter.data)
                }
                if a.notifyByEmail || a.applicantID == nil, !a.applicantEmail.isEmpty {
                    // received through FIT-Connect with an e-mail reply channel: the sender has no
                    // postbox here, so the letter itself goes along (the channel the sender named)
                    let viaFITConnect = a.applicantID == nil && letterPDF != nil
                        ? try await FITConnectInbound.query(on: db).filter(\.$antragID == a.requireID()).filter(\.$replyChannel ~~ ["eMail|\(a.applicantEmail)"]).first() != nil
                        : false
                    try await Outbox.enqueue(on: db, key: "antrag-\(message.id?.uuidString ?? UUID().uuidString)", to: a.applicantEmail,
                                             subject: "Neue Nachricht zu Ihrem Antrag \(ref)",
                                             body: notice(a, ref: ref, what: "Status „\(target.german)“", text: body, app: app, letterAttached: viaFITConnect),
                                             attachment: viaFITConnect ? letterPDF : nil)
                }
            } else {
                let body = (text?.isEmpty == false ? text! : (target == .withdrawn ? "Ich ziehe meinen Antrag zurück." : ""))
                message = try await postMessage(on: db, antrag: a, direction: "person", kind: target == .withdrawn ? "status" : "antwort",
                                                sender: a.applicantName, subject: "\(ref): \(target == .withdrawn ? "Antrag zurückgezogen" : "Antwort auf Rückfrage")", body: body)
            }
            try await attach(files, to: a, message: message, by: actor, on: db)
        }
    }

    /// A message within a case without status change (office → person or the person's reply).
    static func message(_ a: Antrag, fromOffice: Bool, text: String, files: [UploadedFile], app: Application,
                        actor: String, actorID: String?, senderName: String) async throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty || files.contains(where: { $0.sha256 != nil }) else {
            throw AppError.invalid("text", de: "Bitte schreiben Sie eine Nachricht oder fügen Sie eine Datei an.", en: "Please write a message or attach a file.")
        }
        guard trimmed.count <= 5000 else { throw AppError.invalid("text", de: "Die Nachricht darf höchstens 5000 Zeichen lang sein.", en: "At most 5000 characters.") }
        guard let status = a.caseStatus, !status.isFinal || fromOffice else {
            throw AppError(.conflict, "antrag.closed", de: "Der Antrag ist abgeschlossen; Antworten sind nicht mehr möglich.", en: "The case is closed.")
        }
        try await app.writeTransaction { db in
            let ref = a.reference ?? ""
            let m = try await postMessage(on: db, antrag: a, direction: fromOffice ? "amt" : "person", kind: fromOffice ? "nachricht" : "antwort",
                                          sender: senderName, subject: "\(ref): \(fromOffice ? "Nachricht" : "Antwort") zu \(a.serviceTitle)", body: trimmed)
            try await attach(files, to: a, message: m, by: actor, on: db)
            a.updatedAt = Date()
            try await a.save(on: db)
            try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: a.tenantARS, action: fromOffice ? "antrag.message" : "antrag.reply",
                                   objectType: "antrag", objectID: ref, before: nil, after: "\(files.filter { $0.sha256 != nil }.count) Anlage(n)")
            if fromOffice, a.notifyByEmail || a.applicantID == nil, !a.applicantEmail.isEmpty {
                try await Outbox.enqueue(on: db, key: "antrag-\(m.id?.uuidString ?? UUID().uuidString)", to: a.applicantEmail,
                                         subject: "Neue Nachricht zu Ihrem Antrag \(ref)",
                                         body: notice(a, ref: ref, what: "Nachricht", text: trimmed, app: app))
            }
        }
    }
}
