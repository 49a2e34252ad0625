import Documents
import Fluent
import Vapor
import Funding
import RathausCore

/// The letters of the Bewilligungsbehörde as PDF/A: Zuwendungsbescheid, query, rejection and the
/// result of the proof-of-use check. The Land's letterhead (`/mandanten/16/briefkopf`) is used
/// when it is set, the name of the authority otherwise.
enum FundingDocuments {
    static let authority = "Thüringer Landesverwaltungsamt"
    static let office = "Bewilligungsbehörde E-Government-Förderung"

    static let defaultLegalRemedy = """
        Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben werden. Der Widerspruch ist schriftlich, \
        in elektronischer Form oder zur Niederschrift beim Thüringer Landesverwaltungsamt, Weimarplatz 4, 99423 Weimar, einzulegen.
        """

    static let defaultConditions = """
        1. Die Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung an Gemeinden (ANBest-Gk) sind Bestandteil dieses Bescheids.
        2. Die Zuwendung ist wirtschaftlich und sparsam zu verwenden; abgerufene Mittel sind innerhalb von zwei Monaten nach Auszahlung für fällige Zahlungen zu verwenden.
        3. Änderungen des Zeitplans, des Kostenplans oder der Finanzierung sind unverzüglich anzuzeigen.
        """

    static func letterhead(_ db: any Database, app: Application) async throws -> Letterhead {
        let own = try await TenantLetterhead.query(on: db).filter(\.$tenantARS == FundingService.stateKey).first()
        var logo: PDFImage? = nil
        if let sha = own?.logoSHA { logo = try await LogoCache.image(sha, files: app.files) }
        guard let own else { return Letterhead(organisation: authority, office: office, address: ["Weimarplatz 4", "99423 Weimar"]) }
        var contact: [String] = []
        if !own.phone.isEmpty { contact.append("Telefon \(own.phone)") }
        if !own.email.isEmpty { contact.append(own.email) }
        return Letterhead(organisation: own.organisation, office: office, address: [own.street, "\(own.postalCode) \(own.city)"].filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty },
                          contact: contact, logo: logo)
    }

    /// The municipality's address: its own letterhead, else its name and postcode.
    static func recipient(_ a: FundingApplication, on db: any Database) async throws -> [String] {
        if let l = try await TenantLetterhead.query(on: db).filter(\.$tenantARS == a.tenantARS).first() {
            return [l.organisation, "z. Hd. \(a.contactName)", l.street, "\(l.postalCode) \(l.city)"].filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
        let g = try await Gebiet.find(a.tenantARS, on: db)
        return [a.tenantName, "z. Hd. \(a.contactName)", [g?.plz ?? "", g?.seat ?? g?.name ?? ""].filter { !$0.isEmpty }.joined(separator: " ")]
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    static func render(_ a: FundingApplication, subject: String, body: [Block], clerk: String, on db: any Database, app: Application) async throws -> Data {
        let head = try await letterhead(db, app: app)
        let letter = Letter(letterhead: head, recipient: try await recipient(a, on: db),
                            information: [("Aktenzeichen", a.reference), ("Datum", CalendarDay.display(BusinessDate.today())), ("Bearbeitet von", clerk)],
                            subject: subject, body: body)
        return try PDFRenderer.render(letter, info: DocumentInfo(title: "\(subject) (\(a.reference))", author: "\(head.organisation), \(office)", subject: a.title))
    }

    static func fileName(_ kind: String, _ a: FundingApplication) -> String {
        "\(kind)-\(a.reference.replacingOccurrences(of: "Ö", with: "OE")).pdf"
    }

    static func bescheid(_ a: FundingApplication, lines: [(BudgetKey, Int64)], partial: Bool, clerk: String, on db: any Database, app: Application) async throws -> (name: String, data: Data) {
        let id = try a.requireID()
        let category = try await FundingCategory.find(a.categoryID, on: db)
        let programme = try await FundingProgramme.find(a.programmeID, on: db)
        let partners = try await FundingPartner.query(on: db).filter(\.$applicationID == id).sort(\.$tenantName).all()
        let total = lines.reduce(Int64(0)) { $0 + $1.1 }
        var body: [Block] = [
            .paragraph("Sehr geehrte Damen und Herren,"),
            .paragraph("auf Ihren Antrag vom \(a.submittedAt.map { GermanTime.format($0, english: false) } ?? "") ergeht folgender"),
            .bold(partial ? "Zuwendungsbescheid (teilweise Bewilligung)" : "Zuwendungsbescheid"),
            .paragraph("1. Ihnen wird für das Vorhaben „\(a.title)“ eine Zuwendung in Höhe von \(Money(cents: total).formattedDE) als nicht rückzahlbarer Zuschuss bewilligt\(partial ? " (beantragt waren \(Money(cents: a.requestedCents).formattedDE))" : "")."),
            .facts([("Förderprogramm", programme?.title ?? ""), ("Fördergegenstand", category.map { "\($0.code) \($0.title)" } ?? ""),
                    ("Finanzierungsart", category.map { $0.rule.descriptionDE } ?? ""),
                    ("Bewilligungszeitraum", "\(CalendarDay.display(a.startsOn)) bis \(CalendarDay.display(a.endsOn))"),
                    ("Verwendungsnachweis bis", CalendarDay.display(a.proofDueOn))]),
            .heading("Bewilligte Mittel je Haushaltsjahr"),
            .table(Table(columns: [.init("Haushaltsjahr", width: 0.25), .init("Mittelherkunft", width: 0.45), .init("Betrag", width: 0.3, alignment: .right)],
                         rows: lines.sorted { $0.0 < $1.0 }.map { [String($0.0.year), $0.0.source.german, Money(cents: $0.1).formattedDE] }
                            + [["Summe", "", Money(cents: total).formattedDE]])),
        ]
        if !partners.isEmpty {
            body.append(.heading("Interkommunales Vorhaben"))
            body.append(.paragraph("Antragstellerin und Zuwendungsempfängerin ist \(a.tenantName) als federführende Kommune. Beteiligt sind:"))
            body.append(.table(Table(columns: [.init("Kommune", width: 0.55), .init("Kostenanteil", width: 0.25, alignment: .right), .init("bestätigt am", width: 0.2)],
                                     rows: partners.map { [$0.tenantName, Money(cents: $0.shareCents).formattedDE, $0.confirmedAt.map { GermanTime.format($0, english: false) } ?? ""] })))
        }
        if !a.decisionText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            body.append(.heading("Begründung"))
            body.append(.paragraph(a.decisionText))
        }
        body.append(.heading("Nebenbestimmungen"))
        body.append(.paragraph(a.conditions.isEmpty ? defaultConditions : a.conditions))
        body.append(.heading("Rechtsbehelfsbelehrung"))
        body.append(.paragraph(a.legalRemedy.isEmpty ? defaultLegalRemedy : a.legalRemedy))
        body.append(.paragraph("Mit freundlichen Grüßen"))
        body.append(.paragraph("Im Auftrag\n\(clerk)"))
        return (fileName("Zuwendungsbescheid", a), try await render(a, subject: "Zuwendungsbescheid zum Vorhaben „\(a.title)“", body: body, clerk: clerk, on: db, app: app))
    }

    enum Kind { case query, rejection }

    static func letter(_ a: FundingApplication, kind: Kind, text: String, clerk: String, on db: any Database, app: Application) async throws -> (name: String, data: Data) {
        var body: [Block] = [.paragraph("Sehr geehrte Damen und Herren,")]
        switch kind {
        case .query:
            body.append(.paragraph("zu Ihrem Antrag „\(a.title)“ benötigen wir noch Folgendes:"))
            body.append(.paragraph(text))
            body.append(.paragraph("Bitte antworten Sie im Postfach des Antrags in Rathaus."))
        case .rejection:
            body.append(.paragraph("Ihren Antrag „\(a.title)“ über \(Money(cents: a.requestedCents).formattedDE) müssen wir leider ablehnen."))
            body.append(.heading("Gründe"))
            body.append(.paragraph(text))
            body.append(.heading("Rechtsbehelfsbelehrung"))
            body.append(.paragraph(a.legalRemedy.isEmpty ? defaultLegalRemedy : a.legalRemedy))
        }
        body.append(.paragraph("Mit freundlichen Grüßen"))
        body.append(.paragraph("Im Auftrag\n\(clerk)"))
        let subject = kind == .query ? "Rückfrage zu Ihrem Förderantrag" : "Ablehnung Ihres Förderantrags"
        return (fileName(kind == .query ? "Rueckfrage" : "Ablehnung", a), try await render(a, subject: subject, body: body, clerk: clerk, on: db, app: app))
    }

    static func closing(_ a: FundingApplication, recognised: Int64, settlement s: Settlement, note: String, clerk: String, on db: any Database, app: Application) async throws -> (name: String, data: Data) {
        var body: [Block] = [
            .paragraph("Sehr geehrte Damen und Herren,"),
            .paragraph("wir haben den Verwendungsnachweis zum Vorhaben „\(a.title)“ geprüft."),
            .facts([("Anerkannte zuwendungsfähige Ausgaben", Money(cents: recognised).formattedDE), ("Endgültige Zuwendung", Money(cents: s.finalGrant).formattedDE),
                    ("Rückforderung", Money(cents: s.reclaimCents).formattedDE)]),
        ]
        if s.reclaimCents > 0 {
            body.append(.paragraph("Der Zuwendungsbescheid wird insoweit teilweise widerrufen. Bitte überweisen Sie \(Money(cents: s.reclaimCents).formattedDE) innerhalb eines Monats unter Angabe des Aktenzeichens \(a.reference) an die Landeshauptkasse."))
        }
        if !note.isEmpty { body.append(.heading("Hinweise")); body.append(.paragraph(note)) }
        body.append(.heading("Rechtsbehelfsbelehrung"))
        body.append(.paragraph(a.legalRemedy.isEmpty ? defaultLegalRemedy : a.legalRemedy))
        body.append(.paragraph("Mit freundlichen Grüßen"))
        body.append(.paragraph("Im Auftrag\n\(clerk)"))
        let subject = s.reclaimCents > 0 ? "Prüfung des Verwendungsnachweises und Rückforderung" : "Prüfung des Verwendungsnachweises"
        return (fileName(s.reclaimCents > 0 ? "Rueckforderung" : "Pruefmitteilung", a), try await render(a, subject: subject, body: body, clerk: clerk, on: db, app: app))
    }
}
