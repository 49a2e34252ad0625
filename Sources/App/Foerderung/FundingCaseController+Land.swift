import Fluent
import Forms
import Vapor
import Funding
import RathausCore

/// The Land's actions (checks, query, decision, payouts, closing, changes) and the advisors'
/// comments; the municipality's call-off, proof and change request sit with the money steps.
extension FundingCaseController {
    // MARK: Land

    @Sendable func decideEarlyStart(req: Request) async throws -> Response {
        try await act(req, .fundingDecide, land: true) { a, _, f in
            try await FundingService.decideEarlyStart(req.application, id: a.requireID(), approve: f["entscheidung"] == "ja",
                                                      note: try f.text("vermerk", "einen Vermerk", max: 4000, required: false), actor: req.principal)
            return "vorzeitig"
        }
    }

    @Sendable func check(req: Request) async throws -> Response {
        try await act(req, .fundingDecide, land: true) { a, _, f in
            guard let kind = FundingService.Check(rawValue: f["art"]) else {
                throw AppError.invalid("art", de: "Bitte wählen Sie die Prüfung (sachlich oder rechnerisch).", en: "Please choose the check.")
            }
            try await FundingService.recordCheck(req.application, id: a.requireID(), check: kind, note: try f.text("vermerk", "einen Prüfvermerk", max: 4000, required: false), actor: req.principal)
            return "pruefung"
        }
    }

    @Sendable func query(req: Request) async throws -> Response {
        try await act(req, .fundingDecide, land: true) { a, _, f in
            let text = try f.text("frage", "die Rückfrage", max: 8000)
            let due = try f.day("frist", "die Antwortfrist")
            guard due >= BusinessDate.today() else { throw AppError.invalid("frist", de: "Die Frist darf nicht in der Vergangenheit liegen.", en: "The deadline must not be in the past.") }
            try await FundingService.query(req.application, id: a.requireID(), text: text, due: due, actor: req.principal)
            return "rueckfrage"
        }
    }

    @Sendable func requestChanges(req: Request) async throws -> Response {
        try await act(req, .fundingDecide, land: true) { a, _, f in
            try await FundingService.requestChanges(req.application, id: a.requireID(), text: try f.text("hinweise", "was zu ändern ist", max: 8000), actor: req.principal)
            return "nachbesserung"
        }
    }

    @Sendable func score(req: Request) async throws -> Response {
        try await act(req, .fundingDecide, land: true) { a, _, f in
            try await FundingService.setScore(req.application, id: a.requireID(), score: try f.int("punkte", "die Punktzahl", range: 0...100, required: false), actor: req.principal)
            return "bewertung"
        }
    }

    /// The approval rows `jahr<n>`, `quelle<n>`, `betrag<n>`.
    static func approvalLines(_ f: FundingForm) throws -> [(BudgetKey, Int64)] {
        var out: [(BudgetKey, Int64)] = []
        for n in 1...6 {
            let amount = f["betrag\(n)"], yearRaw = f["jahr\(n)"]
            if amount.isEmpty && yearRaw.isEmpty { continue }
            guard let year = try f.int("jahr\(n)", "das Haushaltsjahr in Zeile \(n)", range: 2000...2100) else { continue }
            let cents = try f.money("betrag\(n)", "den Betrag in Zeile \(n)", required: false)
            if cents == 0 { continue }
            out.append((BudgetKey(year: year, source: try f.source("quelle\(n)")), cents))
        }
        return out
    }

    @Sendable func approve(req: Request) async throws -> Response {
        try await act(req, .fundingDecide, land: true) { a, _, f in
            let lines = try Self.approvalLines(f)
            let d = FundingService.Decision(lines: lines, text: try f.text("begruendung", "eine Begründung", max: 8000, required: false),
                                            conditions: try f.text("nebenbestimmungen", "die Nebenbestimmungen", max: 20000),
                                            legalRemedy: try f.text("rechtsbehelf", "die Rechtsbehelfsbelehrung", max: 4000),
                                            proofDue: try f.day("nachweis_bis", "die Frist für den Verwendungsnachweis"))
            try await FundingService.approve(req.application, id: a.requireID(), decision: d, actor: req.principal)
            return "bewilligt"
        }
    }

    @Sendable func reject(req: Request) async throws -> Response {
        try await act(req, .fundingDecide, land: true) { a, _, f in
            try await FundingService.reject(req.application, id: a.requireID(), reason: try f.text("ablehnungsgrund", "den Grund der Ablehnung", max: 8000),
                                            legalRemedy: try f.text("rechtsbehelf", "die Rechtsbehelfsbelehrung", max: 4000, required: false), actor: req.principal)
            return "abgelehnt"
        }
    }

    // MARK: money

    static func key(_ raw: String, field: String) throws -> BudgetKey {
        let p = raw.split(separator: "|")
        guard p.count == 2, let y = Int(p[0]), let s = FundingSource(rawValue: String(p[1])) else {
            throw AppError.invalid(field, de: "Bitte wählen Sie Haushaltsjahr und Mittelherkunft.", en: "Please choose budget year and source.")
        }
        return BudgetKey(year: y, source: s)
    }

    @Sendable func requestPayout(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, f in
            let key = try Self.key(f["linie"], field: "linie")
            let cents = try f.money("abruf", "den Betrag des Mittelabrufs")
            guard !f["erklaerung"].isEmpty else {
                throw AppError.invalid("erklaerung", de: "Bitte bestätigen Sie, dass die Mittel innerhalb von zwei Monaten nach Auszahlung benötigt werden.", en: "Please confirm that the funds are needed within two months.")
            }
            let invoices = f.f.keys.filter { $0.hasPrefix("rechnung_") }.compactMap { UUID(uuidString: String($0.dropFirst(9))) }
            guard invoices.count <= 100 else { throw AppError.invalid("linie", de: "Bitte verknüpfen Sie höchstens 100 Rechnungen je Mittelabruf.", en: "At most 100 invoices per call-off.") }
            _ = try await FundingService.requestPayout(req.application, id: a.requireID(), key: key, cents: cents, invoices: invoices, actor: req.principal)
            return "mittelabruf"
        }
    }

    @Sendable func decidePayout(req: Request) async throws -> Response {
        try req.authorize(.fundingDecide)
        guard let pid = req.parameters.get("pid").flatMap(UUID.init(uuidString:)), let p = try await FundingPayout.find(pid, on: req.db) else { throw AppError.notFound }
        let f = FundingForm(req)
        guard let a = try await FundingApplication.find(p.applicationID, on: req.db) else { throw AppError.notFound }
        do {
            try await FundingService.decidePayout(req.application, payoutID: pid, release: f["entscheidung"] != "nein",
                                                  note: try f.text("vermerk", "einen Vermerk", max: 2000, required: false), actor: req.principal)
        } catch let e as AppError {
            let partners = try await FundingPartner.query(on: req.db).filter(\.$applicationID == p.applicationID).all()
            return try await render(req, a, partners, form: f.f, error: e)
        }
        return req.redirect(to: "/foerderung/antraege/\(p.applicationID)?ok=auszahlung#meldung", redirectType: .normal)
    }

    @Sendable func submitProof(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, f in
            let report = try f.text("sachbericht", "den Sachbericht", max: 20000)
            let costs = try f.money("ausgaben", "die zuwendungsfähigen Ausgaben")
            try await FundingService.submitProof(req.application, id: a.requireID(), report: report, costsCents: costs, actor: req.principal)
            return "nachweis"
        }
    }

    @Sendable func close(req: Request) async throws -> Response {
        try await act(req, .fundingDecide, land: true) { a, _, f in
            let recognised = try f.money("anerkannt", "die anerkannten zuwendungsfähigen Ausgaben")
            _ = try await FundingService.close(req.application, id: a.requireID(), recognisedCents: recognised, note: try f.text("vermerk", "einen Vermerk", max: 4000, required: false), actor: req.principal)
            return "abgeschlossen"
        }
    }

    @Sendable func returnProof(req: Request) async throws -> Response {
        try await act(req, .fundingDecide, land: true) { a, _, f in
            try await FundingService.returnProof(req.application, id: a.requireID(), note: try f.text("vermerk", "was zu ergänzen ist", max: 4000), actor: req.principal)
            return "nachweis"
        }
    }

    @Sendable func requestChange(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, f in
            let key = try Self.key(f["aenderung_linie"], field: "aenderung_linie")
            let cents = try f.money("aenderung_betrag", "den neuen Betrag")
            let end = try f.day("aenderung_ende", "das neue Ende", required: false)
            let reason = try f.text("aenderung_grund", "den Grund der Änderung", max: 4000)
            try await FundingService.requestChange(req.application, id: a.requireID(), key: key, newCents: cents, newEnd: end, reason: reason, actor: req.principal)
            return "aenderung"
        }
    }

    @Sendable func decideChange(req: Request) async throws -> Response {
        try req.authorize(.fundingDecide)
        guard let cid = req.parameters.get("cid").flatMap(UUID.init(uuidString:)), let c = try await FundingChange.find(cid, on: req.db),
              let a = try await FundingApplication.find(c.applicationID, on: req.db) else { throw AppError.notFound }
        let f = FundingForm(req)
        do {
            try await FundingService.decideChange(req.application, changeID: cid, approve: f["entscheidung"] == "ja",
                                                  note: try f.text("vermerk", "einen Vermerk", max: 2000, required: false), actor: req.principal)
        } catch let e as AppError {
            let partners = try await FundingPartner.query(on: req.db).filter(\.$applicationID == c.applicationID).all()
            return try await render(req, a, partners, form: f.f, error: e)
        }
        return req.redirect(to: "/foerderung/antraege/\(c.applicationID)?ok=aenderung#meldung", redirectType: .normal)
    }

    /// The provider's advisors (and the Land) leave a note on the case; advisors cannot decide.
    @Sendable func comment(req: Request) async throws -> Response {
        try await act(req, .fundingView) { a, _, f in
            guard req.can(.fundingAdvise) || req.can(.fundingDecide) else { throw AppError.forbidden }
            let text = try f.text("kommentar", "Ihren Kommentar", max: 4000)
            let actor = req.principal
            let land = req.can(.fundingDecide)
            try await req.application.writeTransaction { db in
                _ = try await FundingService.post(db, app: req.application, a: a, direction: land ? "land" : "beratung", kind: "kommentar",
                                                  sender: actor.staff?.name ?? actor.auditActor, subject: land ? "Vermerk der Bewilligungsbehörde" : "Hinweis der Beratung", body: text)
                try await FundingService.audit(db, actor, a, "comment", before: nil, after: text)
            }
            return "kommentar"
        }
    }
}
