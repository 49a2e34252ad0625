import Documents
import Fluent
import NIOConcurrencyHelpers
import Forms
import SQLKit
import Vapor
import RathausCore

/// A tenant's letterhead for official letters: set by its administration at
/// `/mandanten/<ARS>/briefkopf`; until then the letters use the office's own address.
final class TenantLetterhead: Model, @unchecked Sendable {
    static let schema = "tenant_letterheads"
    @ID(key: .id) var id: UUID?
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "organisation") var organisation: String
    @Field(key: "street") var street: String
    @Field(key: "postal_code") var postalCode: String
    @Field(key: "city") var city: String
    @Field(key: "phone") var phone: String
    @Field(key: "email") var email: String
    @Field(key: "website") var website: String
    @Field(key: "bank_name") var bankName: String
    @Field(key: "iban") var iban: String
    @Field(key: "bic") var bic: String
    @Field(key: "updated_by") var updatedBy: String
    @Field(key: "updated_at") var updatedAt: Date
    /// SHA-256 of the logo (PNG or JPEG) in the file store, nil without a logo.
    @OptionalField(key: "logo_sha") var logoSHA: String?
    init() {}
}

struct M026AddLetterheadLogo: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(TenantLetterhead.schema).field("logo_sha", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(TenantLetterhead.schema).deleteField("logo_sha").update()
    }
}

struct M025CreateTenantLetterheads: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(TenantLetterhead.schema)
            .id()
            .field("tenant_ars", .string, .required)
            .field("organisation", .string, .required)
            .field("street", .string, .required)
            .field("postal_code", .string, .required)
            .field("city", .string, .required)
            .field("phone", .string, .required)
            .field("email", .string, .required)
            .field("website", .string, .required)
            .field("bank_name", .string, .required)
            .field("iban", .string, .required)
            .field("bic", .string, .required)
            .field("updated_by", .string, .required)
            .field("updated_at", .datetime, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "tenant_letterheads_tenant_uq").unique().on(TenantLetterhead.schema).column("tenant_ars").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(TenantLetterhead.schema).delete()
    }
}

/// Decoded letterhead logos by SHA-256. Receipts are written inside the submission's transaction
/// (on SQLite the one writer), so the logo is not fetched from the object store and decoded again
/// for every submission; the store is content-addressed, so an entry never goes stale.
enum LogoCache {
    static let images = NIOLockedValueBox<[String: PDFImage]>([:])

    static func image(_ sha: String, files: any FileStorage) async throws -> PDFImage? {
        if let hit = images.withLockedValue({ $0[sha] }) { return hit }
        guard let data = try await files.get(sha), let img = try? PDFImage.load(data) else { return nil }
        images.withLockedValue { cache in
            if cache.count >= 256 { cache.removeAll() }  // a few hundred tenants' logos at most; no LRU needed
            cache[sha] = img
        }
        return img
    }
}

/// The PDFs of a case: the receipt every submission gets, and the letters of the office
/// (decision, refusal, query). Each is stored like an attachment of the postbox message that
/// announces it, so applicant and clerk find it where they read the message.
enum CaseDocuments {
    /// The letterhead of the tenant, completed from the handling office where fields are empty.
    static func letterhead(for a: Antrag, on db: any Database, files: any FileStorage) async throws -> Letterhead {
        var office: Office? = nil
        if let id = a.officeID { office = try await Office.find(id, on: db) }
        let own = try await TenantLetterhead.query(on: db).filter(\.$tenantARS == a.tenantARS).first()
        func pick(_ a: String?, _ b: String?) -> String { (a?.isEmpty == false ? a : b) ?? "" }
        let street = pick(own?.street, office?.street)
        let place = [pick(own?.postalCode, office?.postalCode), pick(own?.city, office?.city)].filter { !$0.isEmpty }.joined(separator: " ")
        var contact: [String] = []
        let phone = pick(own?.phone, office?.phone), email = pick(own?.email, office?.email), web = pick(own?.website, office?.website)
        if !phone.isEmpty { contact.append("Telefon \(phone)") }
        if !email.isEmpty { contact.append(email) }
        if !web.isEmpty { contact.append(web) }
        var bank: [String] = []
        if let own, !own.iban.isEmpty {
            if !own.bankName.isEmpty { bank.append(own.bankName) }
            bank.append("IBAN \(IBAN.formatted(own.iban))")
            if !own.bic.isEmpty { bank.append("BIC \(own.bic)") }
        }
        // the logo was checked when it was uploaded; a file that went missing from the store leaves it out
        var logo: PDFImage? = nil
        if let sha = own?.logoSHA { logo = try await LogoCache.image(sha, files: files) }
        return Letterhead(organisation: pick(own?.organisation, a.tenantName), office: a.officeName,
                          address: [street, place].filter { !$0.isEmpty }, contact: contact, bank: bank, logo: logo)
    }

    static func fileName(_ kind: String, _ ref: String) -> String { "\(kind)-\(ref).pdf" }

    /// Stores the PDF and records it as the message's attachment (inside the caller's transaction).
    static func store(_ data: Data, name: String, antrag a: Antrag, message: PostboxMessage, app: Application, on db: any Database) async throws {
        let sha = try await app.files.put(data)
        let row = AntragFile()
        row.antragID = try a.requireID()
        row.messageID = message.id
        row.field = ""
        row.name = name
        row.kind = FileKind.pdf.rawValue
        row.size = data.count
        row.sha256 = sha
        row.uploadedBy = "system:dokumente"
        row.createdAt = Date()
        try await row.create(on: db)
    }

    /// The receipt: what was sent, when, to which office, with which attachments.
    static func receipt(_ a: Antrag, lines: [SummaryLine], on db: any Database, files: any FileStorage) async throws -> Data {
        let ref = a.reference ?? ""
        let attachments = try await AntragFile.query(on: db).filter(\.$antragID == a.requireID()).filter(\.$messageID == nil).sort(\.$createdAt).all()
        let head = try await letterhead(for: a, on: db, files: files)
        var body: [Block] = [
            .facts([("Aktenzeichen", ref), ("Eingegangen am", a.submittedAt.map { GermanTime.format($0, english: false) } ?? ""),
                    ("Onlinedienst", a.serviceTitle), ("Zuständige Stelle", "\(a.officeName), \(a.tenantName)"),
                    ("Antragstellende Person", a.applicantName), ("Gebühr", a.feeCents > 0 ? Money(cents: Int64(a.feeCents)).formattedDE : "keine")]),
            .heading("Ihre Angaben"),
        ]
        var facts: [(String, String)] = []
        for l in lines {
            facts.append((l.level > 0 ? "   " + l.label : l.label, l.value))
        }
        body.append(facts.isEmpty ? .paragraph("Keine Angaben.") : .facts(facts))
        body.append(.heading("Anlagen"))
        if attachments.isEmpty {
            body.append(.paragraph("Keine Anlagen."))
        } else {
            body.append(.table(Table(columns: [.init("Datei", width: 0.5), .init("Feld", width: 0.2), .init("Größe", width: 0.12, alignment: .right),
                                               .init("Prüfsumme (SHA-256, Anfang)", width: 0.18)],
                                     rows: attachments.map { [$0.name, $0.field, sizeLabel($0.size), String($0.sha256.prefix(16))] })))
        }
        body.append(.paragraph("Diese Bestätigung wurde automatisch erstellt und ist ohne Unterschrift gültig. Bitte geben Sie bei Rückfragen das Aktenzeichen an."))
        let report = Report(title: "Eingangsbestätigung \(ref)", subtitle: "\(head.organisation) – \(a.officeName)", body: body,
                            footer: ([head.organisation] + head.address).joined(separator: " · "))
        return try PDFRenderer.render(report, info: DocumentInfo(title: "Eingangsbestätigung \(ref)", author: "\(head.organisation), \(a.officeName)",
                                                                 subject: a.serviceTitle, created: a.submittedAt ?? Date()))
    }

    static func sizeLabel(_ bytes: Int) -> String {
        bytes < 1024 ? "\(bytes) B" : bytes < 1_048_576 ? "\(bytes / 1024) KB" : String(format: "%.1f MB", Double(bytes) / 1_048_576).replacingOccurrences(of: ".", with: ",")
    }

    /// The applicant's postal address from the answers (field `anschrift`), when the form asks for one.
    static func address(_ a: Antrag) -> [String] {
        var lines = [a.applicantName]
        if case .record(let o)? = a.decodedAnswers()["anschrift"] {
            func s(_ k: String) -> String { o[k] ?? "" }
            let street = [s("strasse"), s("hausnummer")].filter { !$0.isEmpty }.joined(separator: " ")
            let place = [s("plz"), s("ort")].filter { !$0.isEmpty }.joined(separator: " ")
            lines += [street, place].filter { !$0.isEmpty }
        }
        return lines
    }

    /// A letter of the office: decision, refusal or query, with the clerk's text.
    static func letter(_ a: Antrag, status: CaseStatus, text: String, clerk: String, on db: any Database, files: any FileStorage) async throws -> (name: String, data: Data) {
        let ref = a.reference ?? ""
        let head = try await letterhead(for: a, on: db, files: files)
        let (kind, subject): (String, String) = switch status {
        case .query: ("Rueckfrage", "Rückfrage zu Ihrem Antrag „\(a.serviceTitle)“")
        case .rejected: ("Ablehnung", "Ablehnung Ihres Antrags „\(a.serviceTitle)“")
        default: ("Bescheid", "Bescheid zu Ihrem Antrag „\(a.serviceTitle)“")
        }
        var body: [Block] = [.paragraph("Guten Tag \(a.applicantName),")]
        let intro: String = switch status {
        case .query: "zu Ihrem Antrag vom \(a.submittedAt.map { GermanTime.format($0, english: false) } ?? "") benötigen wir noch Folgendes:"
        case .rejected: "Ihren Antrag vom \(a.submittedAt.map { GermanTime.format($0, english: false) } ?? "") müssen wir leider ablehnen."
        default: "über Ihren Antrag vom \(a.submittedAt.map { GermanTime.format($0, english: false) } ?? "") haben wir entschieden."
        }
        body.append(.paragraph(intro))
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty {
            if status != .query { body.append(.heading(status == .rejected ? "Gründe" : "Entscheidung")) }
            body.append(.paragraph(trimmed))
        }
        if status == .query {
            body.append(.paragraph("Bitte antworten Sie über das Postfach Ihres Servicekontos oder unter Angabe des Aktenzeichens."))
        } else {
            body.append(.heading("Rechtsbehelfsbelehrung"))
            body.append(.paragraph("Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben werden. Der Widerspruch ist schriftlich, in elektronischer Form oder zur Niederschrift bei \(head.organisation), \(a.officeName)\(head.address.isEmpty ? "" : ", " + head.address.joined(separator: ", ")) einzulegen."))
        }
        body.append(.paragraph("Mit freundlichen Grüßen"))
        body.append(.paragraph("Im Auftrag\n\(clerk)"))
        let letter = Letter(letterhead: head, recipient: address(a),
                            information: [("Aktenzeichen", ref), ("Datum", CalendarDay.display(BusinessDate.today())), ("Bearbeitet von", clerk)],
                            subject: subject, body: body)
        let data = try PDFRenderer.render(letter, info: DocumentInfo(title: "\(subject) (\(ref))", author: "\(head.organisation), \(a.officeName)", subject: a.serviceTitle))
        return (fileName(kind, ref), data)
    }
}

/// `/mandanten/<ARS>/briefkopf`: the letterhead data of the tenant's letters.
struct LetterheadController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("mandanten", ":ars", "briefkopf", use: form)
        app.post("mandanten", ":ars", "briefkopf", use: save)
        app.get("mandanten", ":ars", "briefkopf", "logo", use: logo)
        app.post("mandanten", ":ars", "briefkopf", "logo", use: uploadLogo)
        app.post("mandanten", ":ars", "briefkopf", "logo", "entfernen", use: removeLogo)
    }

    struct Form: Codable {
        var organisation: String?; var strasse: String?; var plz: String?; var ort: String?; var telefon: String?
        var email: String?; var website: String?; var bank: String?; var iban: String?; var bic: String?
    }
    struct View: Encodable { var ars: String; var name: String; var form: Form; var saved: Bool; var logo: String? }

    /// "PNG, 90 × 40 Bildpunkte" for the page, nil without a logo.
    func logoLabel(_ l: TenantLetterhead?, _ req: Request) async throws -> String? {
        guard let sha = l?.logoSHA, let data = try await req.application.files.get(sha), let img = try? PDFImage.load(data) else { return nil }
        return "\(img.format == .png ? "PNG" : "JPEG"), \(img.width) × \(img.height) \(req.lang == .en ? "pixels" : "Bildpunkte")"
    }

    func view(_ req: Request, _ g: Gebiet, form f: Form? = nil, saved: Bool = false) async throws -> View {
        let l = try await TenantLetterhead.query(on: req.db).filter(\.$tenantARS == g.ars).first()
        let form = f ?? Form(organisation: l?.organisation ?? g.name, strasse: l?.street, plz: l?.postalCode, ort: l?.city, telefon: l?.phone, email: l?.email,
                             website: l?.website, bank: l?.bankName, iban: l.map { IBAN.formatted($0.iban) }, bic: l?.bic)
        return View(ars: g.ars, name: g.name, form: form, saved: saved, logo: try await logoLabel(l, req))
    }

    func tenant(_ req: Request) async throws -> Gebiet {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.letterheadEdit, tenant: g.ars)
        return g
    }

    @Sendable func form(req: Request) async throws -> Response {
        let g = try await tenant(req)
        return try await req.render("tenant/briefkopf", title: req.t("letterhead_title"), view(req, g, saved: req.query[String.self, at: "gespeichert"] != nil), form: true)
    }

    @Sendable func save(req: Request) async throws -> Response {
        let g = try await tenant(req)
        let f = (try? req.content.decode(Form.self)) ?? Form()
        do {
            let org = try TextInput.required(f.organisation, field: "organisation", label: "Name der Behörde", max: 120)
            let street = try TextInput.optional(f.strasse, field: "strasse", label: "Straße und Hausnummer", max: 120) ?? ""
            let plz = (f.plz ?? "").trimmingCharacters(in: .whitespaces)
            guard plz.isEmpty || (plz.count == 5 && plz.allSatisfy({ $0.isASCII && $0.isNumber })) else {
                throw AppError.invalid("plz", de: "Die Postleitzahl hat fünf Ziffern, zum Beispiel 99084.", en: "The postcode has five digits.")
            }
            let city = try TextInput.optional(f.ort, field: "ort", label: "Ort", max: 80) ?? ""
            let phone = try TextInput.optional(f.telefon, field: "telefon", label: "Telefon", max: 40) ?? ""
            let email = try TextInput.email(f.email, field: "email", required: false) ?? ""
            let web = try TextInput.optional(f.website, field: "website", label: "Internetseite", max: 200) ?? ""
            let bank = try TextInput.optional(f.bank, field: "bank", label: "Kreditinstitut", max: 80) ?? ""
            let iban = (f.iban ?? "").replacingOccurrences(of: " ", with: "").uppercased()
            guard iban.isEmpty || IBAN.isValid(iban) else {
                throw AppError.invalid("iban", de: "Die IBAN ist nicht gültig (Prüfziffer). Bitte prüfen Sie die Eingabe, zum Beispiel DE02 1203 0000 0000 2020 51.", en: "The IBAN is not valid.")
            }
            let bic = (f.bic ?? "").replacingOccurrences(of: " ", with: "").uppercased()
            guard bic.isEmpty || ([8, 11].contains(bic.count) && bic.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })) else {
                throw AppError.invalid("bic", de: "Die BIC hat 8 oder 11 Zeichen, zum Beispiel HELADEF1WEM.", en: "The BIC has 8 or 11 characters.")
            }
            let existing = try await TenantLetterhead.query(on: req.db).filter(\.$tenantARS == g.ars).first()
            let l = existing ?? TenantLetterhead()
            let before = existing.map { "\($0.organisation), \($0.street), \($0.postalCode) \($0.city), IBAN \($0.iban)" }
            l.tenantARS = g.ars; l.organisation = org; l.street = street; l.postalCode = plz; l.city = city; l.phone = phone; l.email = email
            l.website = web; l.bankName = bank; l.iban = iban; l.bic = bic; l.updatedBy = req.principal.auditActor; l.updatedAt = Date()
            try await req.application.writeTransaction { db in
                try await l.save(on: db)
                try await Audit.record(on: db, actor: req.principal.auditActor, actorID: req.principal.actorID, tenant: g.ars, action: "letterhead.save",
                                       objectType: "briefkopf", objectID: g.ars, before: before, after: "\(org), \(street), \(plz) \(city), IBAN \(iban)")
            }
            return req.redirect(to: "/mandanten/\(g.ars)/briefkopf?gespeichert=1", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("tenant/briefkopf", title: req.t("letterhead_title"), view(req, g, form: f), e)
        }
    }

    /// The stored logo as it is, for the preview on the settings page.
    @Sendable func logo(req: Request) async throws -> Response {
        let g = try await tenant(req)
        guard let sha = try await TenantLetterhead.query(on: req.db).filter(\.$tenantARS == g.ars).first()?.logoSHA,
              let data = try await req.application.files.get(sha), let img = try? PDFImage.load(data) else { throw AppError.notFound }
        let res = Response(status: .ok, body: .init(data: data))
        res.headers.replaceOrAdd(name: .contentType, value: img.format == .png ? "image/png" : "image/jpeg")
        res.headers.replaceOrAdd(name: .cacheControl, value: "private, no-store")
        return res
    }

    struct LogoForm: Content { var logo: File? }

    /// A PNG or JPEG of at most 1 MB that the PDF library can embed; anything else is refused
    /// with the reason, and nothing is stored.
    @Sendable func uploadLogo(req: Request) async throws -> Response {
        let g = try await tenant(req)
        do {
            guard let file = (try? req.content.decode(LogoForm.self))?.logo, file.data.readableBytes > 0 else {
                throw AppError.invalid("logo", de: "Bitte wählen Sie eine Bilddatei (PNG oder JPEG) aus.", en: "Please choose an image file (PNG or JPEG).")
            }
            guard file.data.readableBytes <= Self.maxLogoBytes else {
                throw AppError(.payloadTooLarge, "letterhead.logo_size", de: "Das Logo ist zu groß: höchstens 1 MB.", en: "The logo is too large: at most 1 MB.", field: "logo")
            }
            let data = Data(buffer: file.data)
            let img: PDFImage
            do { img = try PDFImage.load(data) } catch {
                throw AppError(.unprocessableEntity, "letterhead.logo_format", de: error.description,
                               en: "The image cannot be embedded (allowed: PNG with 8 bits per channel, not interlaced; JPEG in greyscale or RGB).", field: "logo")
            }
            let sha = try await req.application.files.put(data)
            try await req.application.writeTransaction { db in
                let existing = try await TenantLetterhead.query(on: db).filter(\.$tenantARS == g.ars).first()
                let l = existing ?? Self.empty(g, by: req.principal.auditActor)
                let before = l.logoSHA
                l.logoSHA = sha; l.updatedBy = req.principal.auditActor; l.updatedAt = Date()
                try await l.save(on: db)
                try await Audit.record(on: db, actor: req.principal.auditActor, actorID: req.principal.actorID, tenant: g.ars, action: "letterhead.logo",
                                       objectType: "briefkopf", objectID: g.ars, before: before.map { "Logo \($0.prefix(12))" },
                                       after: "Logo \(sha.prefix(12)) (\(img.width) × \(img.height))")
            }
            return req.redirect(to: "/mandanten/\(g.ars)/briefkopf?gespeichert=1", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("tenant/briefkopf", title: req.t("letterhead_title"), view(req, g), e)
        }
    }

    @Sendable func removeLogo(req: Request) async throws -> Response {
        let g = try await tenant(req)
        try await req.application.writeTransaction { db in
            guard let l = try await TenantLetterhead.query(on: db).filter(\.$tenantARS == g.ars).first(), let before = l.logoSHA else { return }
            l.logoSHA = nil; l.updatedBy = req.principal.auditActor; l.updatedAt = Date()
            try await l.save(on: db)
            try await Audit.record(on: db, actor: req.principal.auditActor, actorID: req.principal.actorID, tenant: g.ars, action: "letterhead.logo_removed",
                                   objectType: "briefkopf", objectID: g.ars, before: "Logo \(before.prefix(12))", after: nil)
        }
        return req.redirect(to: "/mandanten/\(g.ars)/briefkopf?gespeichert=1", redirectType: .normal)
    }

    static let maxLogoBytes = 1024 * 1024

    /// A letterhead row before the administration filled in the text fields (only the logo so far).
    static func empty(_ g: Gebiet, by actor: String) -> TenantLetterhead {
        let l = TenantLetterhead()
        l.tenantARS = g.ars; l.organisation = g.name; l.street = ""; l.postalCode = ""; l.city = ""; l.phone = ""; l.email = ""
        l.website = ""; l.bankName = ""; l.iban = ""; l.bic = ""; l.updatedBy = actor; l.updatedAt = Date()
        return l
    }
}
