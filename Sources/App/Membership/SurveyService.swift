import Fluent
import Vapor
import RathausCore

struct OpenSurveyInput: Content { var titel: String?; var endetAm: String? }

struct SurveyAnswerInput: Content {
    var interesse: String?
    var dienste: [String]?
    var ansprechpartner: String?
    var email: String?
    var kommentar: String?
}

struct SurveyRoundDTO: Content {
    var id: UUID
    var titel: String
    var status: String
    var geoeffnetAm: String
    var endetAm: String?

    init(_ r: SurveyRound) {
        id = r.id ?? UUID(); titel = r.title; status = r.status; geoeffnetAm = r.openedOn; endetAm = r.closesOn
    }
}

struct SurveyAnswerDTO: Content {
    var umfrageId: UUID
    var ars: String
    var interesse: String
    var dienste: [String]
    var ansprechpartner: String
    var email: String
    var kommentar: String

    init(_ a: SurveyAnswer) {
        umfrageId = a.roundID; ars = a.tenantARS; interesse = a.interest
        dienste = a.services.split(separator: ",").map(String.init)
        ansprechpartner = a.contactName; email = a.contactEmail; kommentar = a.comment
    }
}

struct TallyDTO: Content {
    var schluessel: String
    var name: String
    var berechtigt: Int
    var ja: Int
    var vielleicht: Int
    var nein: Int
    var beantwortet: Int
    var zustimmungProzent: String
    var ruecklaufProzent: String
}

struct SurveyResultsDTO: Content {
    var umfrage: SurveyRoundDTO
    var gesamt: TallyDTO
    var kreise: [TallyDTO]
    var dienste: [String: Int]
}

enum SurveyService {
    static func round(_ raw: String?, on db: any Database) async throws -> SurveyRound {
        guard let raw, let id = UUID(uuidString: raw), let r = try await SurveyRound.find(id, on: db) else {
            throw AppError(.notFound, "survey.unknown", de: "Diese Umfragerunde gibt es nicht.", en: "This survey round does not exist.")
        }
        return r
    }

    static func open(_ req: Request, _ input: OpenSurveyInput) async throws -> SurveyRound {
        let title = try TextInput.required(input.titel, field: "titel", label: "einen Titel", max: 200)
        let closes = try BusinessDate.parse(input.endetAm, field: "endetAm", label: "das Enddatum", required: false)
        let today = BusinessDate.today()
        if let closes, closes < today {
            throw AppError.invalid("endetAm", de: "Das Enddatum darf nicht in der Vergangenheit liegen.", en: "The end date must not be in the past.")
        }
        return try await req.db.transaction { db in
            if try await SurveyRound.query(on: db).filter(\.$status == "open").count() > 0 {
                throw AppError(.conflict, "survey.open_exists", de: "Es läuft bereits eine Umfragerunde. Schließen Sie sie, bevor Sie eine neue öffnen.",
                               en: "A survey round is already open. Close it before opening a new one.")
            }
            let r = SurveyRound()
            r.title = title
            r.status = "open"
            r.openedOn = today
            r.closesOn = closes
            r.createdBy = req.principal.auditActor
            try await r.create(on: db)
            try await req.audit(on: db, "survey.open", tenant: nil, objectType: "survey_round", objectID: r.id?.uuidString ?? "",
                                after: "„\(title)“ offen bis \(closes ?? "auf Weiteres")")
            return r
        }
    }

    static func close(_ req: Request, _ round: SurveyRound) async throws -> SurveyRound {
        guard round.isOpen else {
            throw AppError(.conflict, "survey.closed", de: "Diese Umfragerunde ist bereits geschlossen.", en: "This survey round is already closed.")
        }
        return try await req.db.transaction { db in
            round.status = "closed"
            round.closesOn = BusinessDate.today()
            try await round.save(on: db)
            try await req.audit(on: db, "survey.close", tenant: nil, objectType: "survey_round", objectID: round.id?.uuidString ?? "",
                                before: "offen", after: "geschlossen")
            return round
        }
    }

    /// Creates or replaces the tenant's answer while the round is open.
    static func answer(_ req: Request, round: SurveyRound, tenant: Gebiet, _ input: SurveyAnswerInput) async throws -> SurveyAnswer {
        guard round.isOpen, (round.closesOn ?? "9999-12-31") >= BusinessDate.today() else {
            throw AppError(.conflict, "survey.closed", de: "Diese Umfragerunde ist geschlossen; Antworten sind nicht mehr möglich.",
                           en: "This survey round is closed; answers are no longer accepted.")
        }
        guard let interest = SurveyInterest(rawValue: input.interesse ?? "") else {
            throw AppError.invalid("interesse", de: "Bitte wählen Sie, ob Interesse besteht: ja, vielleicht oder nein.",
                                   en: "Please choose whether there is interest: yes, maybe or no.")
        }
        var services: [String] = []
        for s in input.dienste ?? [] where !s.isEmpty {
            guard let p = PlatformService(rawValue: s) else {
                throw AppError.invalid("dienste", de: "Unbekannter Dienst in der Auswahl. Bitte wählen Sie aus der Liste.",
                                       en: "Unknown service selected. Please choose from the list.")
            }
            if !services.contains(p.rawValue) { services.append(p.rawValue) }
        }
        let contact = try TextInput.required(input.ansprechpartner, field: "ansprechpartner", label: "eine Ansprechperson", max: 200)
        let email = try TextInput.email(input.email, field: "email")!
        let comment = try TextInput.optional(input.kommentar, field: "kommentar", label: "der Kommentar", max: 4000) ?? ""
        let roundID = try round.requireID()
        let chosen = services.joined(separator: ",")
        return try await req.db.transaction { db in
            let existing = try await SurveyAnswer.query(on: db).filter(\.$roundID == roundID)
                .filter(\.$tenantARS == tenant.ars).first()
            let a = existing ?? SurveyAnswer()
            let before = existing.map { "\($0.interest) [\($0.services)]" }
            a.roundID = roundID
            a.tenantARS = tenant.ars
            a.interest = interest.rawValue
            a.services = chosen
            a.contactName = contact
            a.contactEmail = email
            a.comment = comment
            a.answeredBy = req.principal.auditActor
            try await a.save(on: db)
            try await req.audit(on: db, "survey.answer", tenant: tenant.ars, objectType: "survey_answer",
                                objectID: "\(roundID.uuidString)/\(tenant.ars)", before: before,
                                after: "\(interest.rawValue) [\(a.services)]")
            return a
        }
    }

    /// Results per Kreis and for the whole Land. Every tenant of a Kreis counts as eligible;
    /// the Land and tenants directly under it form their own group.
    static func results(_ round: SurveyRound, on db: any Database, land: String = "16") async throws -> SurveyResultsDTO {
        let roundID = try round.requireID()
        let tenants = try await Gebiet.query(on: db).filter(\.$landCode == land).filter(\.$joinable == true)
            .filter(\.$dissolvedOn == nil).all()
        let kreise = try await Gebiet.query(on: db).filter(\.$landCode == land).filter(\.$level == "kreis").sort(\.$id).all()
        let answers = try await SurveyAnswer.query(on: db).filter(\.$roundID == roundID).all()
        var kreisOf: [String: String] = [:]
        var tallies: [String: SurveyTally] = [:]
        var total = SurveyTally()
        for t in tenants {
            kreisOf[t.ars] = t.kreisARS
            tallies[t.kreisARS, default: SurveyTally()].eligible += 1
            total.eligible += 1
        }
        var services: [String: Int] = [:]
        for s in PlatformService.allCases { services[s.rawValue] = 0 }
        for a in answers {
            guard let interest = SurveyInterest(rawValue: a.interest), let k = kreisOf[a.tenantARS] else { continue }
            tallies[k, default: SurveyTally()].add(interest)
            total.add(interest)
            for s in a.services.split(separator: ",") { services[String(s), default: 0] += 1 }
        }
        func dto(_ key: String, _ name: String, _ t: SurveyTally) -> TallyDTO {
            TallyDTO(schluessel: key, name: name, berechtigt: t.eligible, ja: t.yes, vielleicht: t.maybe, nein: t.no,
                     beantwortet: t.answered, zustimmungProzent: SurveyTally.percentDE(t.inFavourPermille),
                     ruecklaufProzent: SurveyTally.percentDE(t.responsePermille))
        }
        var rows = kreise.map { dto($0.ars, $0.name, tallies[$0.ars] ?? SurveyTally()) }
        if let landTally = tallies[land] { rows.insert(dto(land, "Land (landesweite Stellen)", landTally), at: 0) }
        return SurveyResultsDTO(umfrage: SurveyRoundDTO(round), gesamt: dto(land, "Gesamt", total), kreise: rows, dienste: services)
    }

    /// Horizontal stacked bars per Kreis as inline SVG; the table next to it carries the same
    /// numbers for screen readers, so the chart itself is marked as an image with a summary.
    static func chartSVG(_ r: SurveyResultsDTO, labels: (yes: String, maybe: String, no: String, open: String)) -> String {
        let rowH = 22, labelW = 230, barW = 420, top = 30
        let height = top + r.kreise.count * rowH + 10
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"chart-title\" width=\"\(labelW + barW + 20)\" height=\(quote(height)) viewBox=\"0 0 \(labelW + barW + 20) \(height)\" class=\"chart\">"
        svg += "<title id=\"chart-title\">\(esc(r.gesamt.name)): \(r.gesamt.ja) \(esc(labels.yes)), \(r.gesamt.vielleicht) \(esc(labels.maybe)), \(r.gesamt.nein) \(esc(labels.no)) von \(r.gesamt.berechtigt)</title>"
        let legend = [(labels.yes, "#1b6e3a"), (labels.maybe, "#b36b00"), (labels.no, "#a31621"), (labels.open, "#d9d9d9")]
        for (i, l) in legend.enumerated() {
            let x = labelW + i * 105
            svg += "<rect x=\"\(x)\" y=\"6\" width=\"12\" height=\"12\" fill=\"\(l.1)\"/><text x=\"\(x + 16)\" y=\"17\" font-size=\"12\" fill=\"#1a1a1a\">\(esc(l.0))</text>"
        }
        for (i, k) in r.kreise.enumerated() {
            let y = top + i * rowH
            svg += "<text x=\"0\" y=\"\(y + 14)\" font-size=\"12\" fill=\"#1a1a1a\">\(esc(String(k.name.prefix(34))))</text>"
            let total = max(k.berechtigt, 1)
            var x = labelW
            for (count, color) in [(k.ja, "#1b6e3a"), (k.vielleicht, "#b36b00"), (k.nein, "#a31621"), (k.berechtigt - k.beantwortet, "#d9d9d9")] {
                let w = barW * max(count, 0) / total
                if w > 0 { svg += "<rect x=\"\(x)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"15\" fill=\"\(color)\"/>" }
                x += w
            }
        }
        return svg + "</svg>"
    }

    private static func quote(_ n: Int) -> String { "\"\(n)\"" }
    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
