import Fluent
import Forms
import Vapor
import Funding
import RathausCore

/// The municipality's actions on its application: draft, cost plan, partners, attachments,
/// release, answers, early start.
extension FundingCaseController {
    // MARK: municipality

    @Sendable func saveBasics(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, f in
            guard a.state.isEditable else { throw notEditable(a) }
            let title = try f.text("titel", "den Projekttitel")
            let summary = try f.text("beschreibung", "eine Beschreibung des Vorhabens", max: 8000, required: false)
            let start = try f.day("beginn", "den Beginn des Vorhabens")
            let end = try f.day("ende", "das Ende des Vorhabens")
            guard start <= end else { throw AppError.invalid("ende", de: "Das Ende darf nicht vor dem Beginn liegen.", en: "The end must not be before the start.") }
            let units = try f.int("einheiten", "die Zahl der Einheiten", range: 0...100_000, required: false) ?? 0
            let own = try f.money("eigenanteil", "den Eigenanteil", required: false)
            let other = try f.money("drittmittel", "die anderen Fördermittel", required: false)
            let name = try f.text("kontakt_name", "den Namen der Ansprechperson", max: 120, required: false)
            let email = try TextInput.email(f["kontakt_email"], field: "kontakt_email", required: false) ?? ""
            let actor = req.principal
            let id = try a.requireID()
            try await req.application.writeTransaction { db in
                let x = try await FundingService.load(db, id)
                guard x.state.isEditable else { throw notEditable(x) }
                let before = "\(x.title), \(x.startsOn)–\(x.endsOn), \(Money(cents: x.requestedCents).formattedDE)"
                x.title = title; x.summary = summary; x.startsOn = start; x.endsOn = end; x.units = units; x.ownShareCents = own; x.otherFundingCents = other
                x.contactName = name; x.contactEmail = email; x.updatedAt = Date()
                try await FundingService.recompute(db, x)
                try await x.save(on: db)
                try await FundingService.audit(db, actor, x, "draft.saved", before: before, after: "\(title), \(start)–\(end), \(Money(cents: x.requestedCents).formattedDE)")
            }
            return "gespeichert"
        }
    }

    @Sendable func addCost(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, f in
            guard a.state.isEditable else { throw notEditable(a) }
            guard let year = try f.int("jahr", "das Haushaltsjahr der Ausgabe", range: 2000...2100) else { throw AppError.notFound }
            let type = f["kostenart"]
            guard FundingCostType(rawValue: type) != nil else { throw AppError.invalid("kostenart", de: "Bitte wählen Sie die Kostenart.", en: "Please choose the cost type.") }
            let label = try f.text("bezeichnung", "die Bezeichnung der Position", max: 200)
            let net = try f.money("netto", "den Nettobetrag")
            let gross = try f.money("brutto", "den Bruttobetrag")
            guard gross >= net, net > 0 else { throw AppError.invalid("brutto", de: "Der Bruttobetrag darf nicht kleiner als der Nettobetrag sein, und beide müssen größer als 0 € sein.", en: "Gross must not be below net, both above 0 €.") }
            let incurred = try f.day("datum", "das Datum der Beauftragung", required: false)
            let actor = req.principal
            let id = try a.requireID()
            try await req.application.writeTransaction { db in
                let x = try await FundingService.load(db, id)
                guard x.state.isEditable else { throw notEditable(x) }
                guard try await FundingCostItem.query(on: db).filter(\.$applicationID == id).count() < 200 else {
                    throw AppError(.unprocessableEntity, "funding.items", de: "Ein Kostenplan kann höchstens 200 Positionen haben.", en: "A cost plan can have at most 200 items.")
                }
                let i = FundingCostItem()
                i.applicationID = id; i.year = year; i.costType = type; i.label = label; i.netCents = net; i.grossCents = gross
                i.vatDeductible = !f["vorsteuer"].isEmpty; i.incurredOn = incurred; i.createdAt = Date()
                try await i.create(on: db)
                let before = x.requestedCents
                try await FundingService.recompute(db, x)
                x.updatedAt = Date()
                try await x.save(on: db)
                try await FundingService.audit(db, actor, x, "cost.added", before: Money(cents: before).formattedDE,
                                               after: "\(year) \(type) \(label): netto \(Money(cents: net).formattedDE), brutto \(Money(cents: gross).formattedDE) → beantragt \(Money(cents: x.requestedCents).formattedDE)")
            }
            return "position"
        }
    }

    @Sendable func removeCost(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, _ in
            guard a.state.isEditable else { throw notEditable(a) }
            guard let item = req.parameters.get("item").flatMap(UUID.init(uuidString:)) else { throw AppError.notFound }
            let actor = req.principal
            let id = try a.requireID()
            try await req.application.writeTransaction { db in
                guard let i = try await FundingCostItem.find(item, on: db), i.applicationID == id else { throw AppError.notFound }
                let x = try await FundingService.load(db, id)
                guard x.state.isEditable else { throw notEditable(x) }
                try await i.delete(on: db)
                try await FundingService.recompute(db, x)
                try await x.save(on: db)
                try await FundingService.audit(db, actor, x, "cost.removed", before: "\(i.year) \(i.label): \(Money(cents: i.grossCents).formattedDE)", after: "beantragt \(Money(cents: x.requestedCents).formattedDE)")
            }
            return "position"
        }
    }

    @Sendable func invitePartner(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, f in
            guard a.state.isEditable else { throw notEditable(a) }
            let ars = f["partner"]
            guard !ars.isEmpty else { throw AppError.invalid("partner", de: "Bitte wählen Sie die Partnerkommune.", en: "Please choose the partner municipality.") }
            let g = try await Tenants.tenant(ars, on: req.db)
            guard g.ars != a.tenantARS, g.ars.hasPrefix(FundingService.stateKey), g.level != "land" else {
                throw AppError.invalid("partner", de: "Partner kann jede andere Kommune des Landes sein.", en: "A partner can be any other municipality of the state.")
            }
            let share = try f.money("anteil", "den Kostenanteil des Partners")
            let actor = req.principal
            let id = try a.requireID()
            try await req.application.writeTransaction { db in
                if try await FundingPartner.query(on: db).filter(\.$applicationID == id).filter(\.$tenantARS == g.ars).first() != nil {
                    throw AppError(.conflict, "funding.partner_exists", de: "\(g.name) ist bereits Partner dieses Vorhabens.", en: "\(g.name) is already a partner.", field: "partner")
                }
                let p = FundingPartner()
                p.applicationID = id; p.tenantARS = g.ars; p.tenantName = g.name; p.shareCents = share; p.status = "eingeladen"; p.createdAt = Date()
                try await p.create(on: db)
                let x = try await FundingService.load(db, id)
                let signers = try await FundingService.people(db, role: .signatory, tenant: g.ars).map(\.email)
                _ = try await FundingService.post(db, app: req.application, a: x, direction: "kommune", kind: "hinweis", sender: x.tenantName,
                                                  subject: "\(g.name) ist eingeladen, sich am Vorhaben zu beteiligen",
                                                  body: "Kostenanteil: \(Money(cents: share).formattedDE). Eine zeichnungsbefugte Person von \(g.name) bestätigt die Beteiligung auf der Seite des Antrags.", mailTo: signers)
                try await FundingService.audit(db, actor, x, "partner.invited", before: nil, after: "\(g.name) (\(g.ars)), \(Money(cents: share).formattedDE)")
            }
            return "partner"
        }
    }

    @Sendable func removePartner(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, _ in
            guard a.state.isEditable else { throw notEditable(a) }
            let ars = req.parameters.get("ars") ?? ""
            let actor = req.principal
            let id = try a.requireID()
            try await req.application.writeTransaction { db in
                guard let p = try await FundingPartner.query(on: db).filter(\.$applicationID == id).filter(\.$tenantARS == ars).first() else { throw AppError.notFound }
                try await p.delete(on: db)
                try await FundingService.audit(db, actor, a, "partner.removed", before: "\(p.tenantName), \(p.status)", after: "entfernt")
            }
            return "partner"
        }
    }

    /// A partner's signatory confirms (or declines) for the tenant they act for.
    @Sendable func confirmPartner(req: Request) async throws -> Response {
        try await act(req, .fundingView) { a, partners, f in
            guard let p = partners.first(where: { req.can(.fundingSign, tenant: $0.tenantARS) && $0.tenantARS == (f["mandant"].isEmpty ? req.principal.staff?.tenantARS ?? "" : f["mandant"]) })
                    ?? partners.first(where: { req.can(.fundingSign, tenant: $0.tenantARS) }) else { throw AppError.forbidden }
            try await FundingService.confirmPartner(req.application, id: a.requireID(), tenant: p.tenantARS, confirm: f["entscheidung"] != "nein", actor: req.principal)
            return "beteiligung"
        }
    }

    @Sendable func upload(req: Request) async throws -> Response {
        let (a, partners) = try await FundingAccess.visible(req)
        try req.authorize(.fundingApply, tenant: a.tenantARS)
        let kinds: [FileKind] = [.pdf, .odt, .docx, .png, .jpeg]
        guard req.headers.contentType?.type == "multipart" else {
            return try await render(req, a, partners, error: AppError.invalid("datei", de: "Bitte wählen Sie eine Datei aus.", en: "Please choose a file."))
        }
        let form = try await StreamedUpload.read(req, maxFileBytes: 20 * 1024 * 1024, maxFiles: 1, accept: { $0 == "datei" ? kinds : nil })
        let kind = FundingAttachmentKind(rawValue: form.fields["art"] ?? "") ?? .sonstiges
        if let problem = form.files.compactMap(\.error).first {
            return try await render(req, a, partners, error: AppError(.unprocessableEntity, "funding.file", de: problem.message, en: problem.message, field: "datei"))
        }
        guard let file = form.files.first, let sha = file.sha256, let fk = file.kind else {
            return try await render(req, a, partners, error: AppError.invalid("datei", de: "Bitte wählen Sie eine Datei aus (PDF, ODT, DOCX, PNG oder JPEG, höchstens 20 MB).", en: "Please choose a file (PDF, ODT, DOCX, PNG or JPEG, at most 20 MB)."))
        }
        guard a.state != .closed, a.state != .rejected, a.state != .withdrawn else { return try await render(req, a, partners, error: notEditable(a)) }
        let row = FundingAttachment()
        row.applicationID = try a.requireID(); row.kind = kind.rawValue; row.name = String(file.name.prefix(200)); row.fileKind = fk.rawValue
        row.size = file.size; row.sha256 = sha; row.uploadedBy = req.principal.staff?.name ?? req.principal.auditActor; row.createdAt = Date()
        let actor = req.principal
        try await req.application.writeTransaction { db in
            try await row.create(on: db)
            try await FundingService.audit(db, actor, a, "attachment", before: nil, after: "\(kind.rawValue): \(row.name) (\(row.size) Bytes)")
        }
        return req.redirect(to: "/foerderung/antraege/\(try a.requireID())?ok=anlage#meldung", redirectType: .normal)
    }

    @Sendable func attachment(req: Request) async throws -> Response {
        let (a, _) = try await FundingAccess.visible(req)
        guard let fid = req.parameters.get("file").flatMap(UUID.init(uuidString:)), let f = try await FundingAttachment.find(fid, on: req.db), f.applicationID == a.id else { throw AppError.notFound }
        return try await ApplicantController.download(req, sha256: f.sha256, kind: f.fileKind, name: f.name, fallback: "anlage")
    }

    @Sendable func messageFile(req: Request) async throws -> Response {
        let (a, _) = try await FundingAccess.visible(req)
        guard let mid = req.parameters.get("msg").flatMap(UUID.init(uuidString:)), let m = try await FundingMessage.find(mid, on: req.db), m.applicationID == a.id,
              let sha = m.fileSHA else { throw AppError.notFound }
        return try await ApplicantController.download(req, sha256: sha, kind: FileKind.pdf.rawValue, name: m.fileName, fallback: "schreiben.pdf")
    }

    @Sendable func requestRelease(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, _ in
            try await FundingService.requestRelease(req.application, id: a.requireID(), actor: req.principal)
            return "freigabe_angefragt"
        }
    }

    @Sendable func release(req: Request) async throws -> Response {
        try await act(req, .fundingSign) { a, _, _ in
            try await FundingService.release(req.application, id: a.requireID(), actor: req.principal)
            return "eingereicht"
        }
    }

    @Sendable func returnToDraft(req: Request) async throws -> Response {
        try await act(req, .fundingSign) { a, _, f in
            let reason = try f.text("grund", "den Grund", max: 2000)
            try await FundingService.returnToDraft(req.application, id: a.requireID(), reason: reason, actor: req.principal)
            return "zurueck"
        }
    }

    @Sendable func answer(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, f in
            let text = try f.text("antwort", "Ihre Antwort", max: 8000)
            try await FundingService.answer(req.application, id: a.requireID(), text: text, actor: req.principal)
            return "antwort"
        }
    }

    @Sendable func withdraw(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, _ in
            try await FundingService.withdraw(req.application, id: a.requireID(), actor: req.principal)
            return "zurueckgezogen"
        }
    }

    @Sendable func earlyStart(req: Request) async throws -> Response {
        try await act(req, .fundingApply) { a, _, f in
            let from = try f.day("vorzeitig_ab", "den Tag, ab dem Sie beginnen möchten")
            let reason = try f.text("vorzeitig_grund", "die Begründung", max: 4000)
            try await FundingService.requestEarlyStart(req.application, id: a.requireID(), from: from, reason: reason, actor: req.principal)
            return "vorzeitig"
        }
    }
}
