import Fluent
import Forms
import Vapor
import Funding
import RathausCore

/// One page per application for everyone who may see it; the sections and buttons follow from
/// what the one `Policy` allows the person (author, signatory, partner, Land, advisor).
struct FundingCaseController {
    func addRoutes(to app: any RoutesBuilder) {
        let c = app.grouped("foerderung", "antraege", ":id")
        c.get(use: show)
        c.post("angaben", use: saveBasics)
        c.post("kosten", use: addCost)
        c.post("kosten", ":item", "loeschen", use: removeCost)
        c.post("partner", use: invitePartner)
        c.post("partner", ":ars", "entfernen", use: removePartner)
        c.post("beteiligung", use: confirmPartner)
        c.on(.POST, "anlagen", body: .stream, use: upload)
        c.get("anlagen", ":file", use: attachment)
        c.get("nachrichten", ":msg", "datei", use: messageFile)
        c.post("zur-freigabe", use: requestRelease)
        c.post("freigabe", use: release)
        c.post("zurueck", use: returnToDraft)
        c.post("antwort", use: answer)
        c.post("zurueckziehen", use: withdraw)
        c.post("vorzeitig", use: earlyStart)
        c.post("vorzeitig-entscheidung", use: decideEarlyStart)
        c.post("pruefung", use: check)
        c.post("rueckfrage", use: query)
        c.post("nachbesserung", use: requestChanges)
        c.post("bewertung", use: score)
        c.post("bewilligung", use: approve)
        c.post("ablehnung", use: reject)
        c.post("mittelabruf", use: requestPayout)
        c.post("nachweis", use: submitProof)
        c.post("abschluss", use: close)
        c.post("nachweis-zurueck", use: returnProof)
        c.post("aenderung", use: requestChange)
        c.post("kommentar", use: comment)
        app.post("foerderung", "auszahlungen", ":pid", "entscheidung", use: decidePayout)
        app.post("foerderung", "aenderungen", ":cid", "entscheidung", use: decideChange)
    }

    // MARK: view

    struct ItemRow: Encodable { var id: String; var year: Int; var costType: String; var label: String; var net: String; var gross: String; var vat: Bool; var incurred: String; var flag: String }
    struct PartnerRow: Encodable { var ars: String; var name: String; var share: String; var status: String; var confirmed: Bool; var by: String; var canConfirm: Bool }
    struct FileRow: Encodable { var id: String; var kind: String; var name: String; var size: String; var at: String }
    struct MessageRow: Encodable { var id: String; var kind: String; var subject: String; var body: String; var sender: String; var at: String; var file: String; var fileName: String; var fromLand: Bool }
    struct LineRow: Encodable { var key: String; var year: Int; var source: String; var committed: String; var paid: String; var payable: String }
    struct PayoutRow: Encodable { var id: String; var year: Int; var source: String; var amount: String; var status: String; var open: Bool; var invoices: [String]; var at: String }
    struct InvoiceOption: Encodable { var id: String; var label: String; var checked: Bool }
    struct ChangeRow: Encodable { var id: String; var what: String; var reason: String; var status: String; var open: Bool }
    struct ApprovalRow: Encodable { var n: Int; var year: String; var sources: [FundingOption]; var amount: String }

    struct CaseView: Encodable {
        var id: String; var reference: String; var title: String; var summary: String; var tenant: String; var tenantARS: String
        var status: String; var statusKey: String; var programme: String; var call: String; var category: String; var financing: String; var demo: Bool
        var startsOn: String; var endsOn: String; var units: String; var isFixed: Bool; var unitLabel: String
        var ownShare: String; var otherFunding: String; var requested: String; var eligible: String; var contactName: String; var contactEmail: String
        var author: String; var releasedBy: String; var submitted: String
        var editable: Bool; var canEdit: Bool; var canRequestRelease: Bool; var canRelease: Bool; var canAnswer: Bool; var canWithdraw: Bool
        var items: [ItemRow]; var costTypes: [FundingOption]; var hasItems: Bool
        var partners: [PartnerRow]; var hasPartners: Bool; var canInvite: Bool; var partnerOptions: [FundingOption]
        var files: [FileRow]; var fileKinds: [FundingOption]; var canUpload: Bool
        var earlyStatus: String; var earlyFrom: String; var earlyReason: String; var canRequestEarly: Bool; var canDecideEarly: Bool
        var messages: [MessageRow]
        var land: Bool; var contentBy: String; var contentNote: String; var calcBy: String; var calcNote: String; var canCheck: Bool; var canDecide: Bool
        var score: String; var approvalRows: [ApprovalRow]; var conditions: String; var legalRemedy: String; var proofDue: String
        var decisionText: String; var queryText: String; var queryDue: String; var inQuery: Bool
        var lines: [LineRow]; var hasLines: Bool; var lineOptions: [FundingOption]; var payouts: [PayoutRow]; var canRequestPayout: Bool; var invoices: [InvoiceOption]
        var canDecidePayout: Bool; var proofDueOn: String; var proofReport: String; var proofCosts: String; var proofPrefill: String; var canSubmitProof: Bool; var canClose: Bool
        var finalGrant: String; var reclaim: String; var closed: Bool
        var changes: [ChangeRow]; var canRequestChange: Bool; var canComment: Bool
        var form: [String: String]; var message: String
    }

    func render(_ req: Request, _ a: FundingApplication, _ partners: [FundingPartner], form: [String: String] = [:], error: AppError? = nil, message: String = "") async throws -> Response {
        let id = try a.requireID()
        let db = req.db
        let english = req.lang == .en
        let cat = try await FundingCategory.find(a.categoryID, on: db)
        let prog = try await FundingProgramme.find(a.programmeID, on: db)
        let call = try await FundingCall.find(a.callID, on: db)
        let items = try await FundingCostItem.query(on: db).filter(\.$applicationID == id).sort(\.$year).sort(\.$createdAt).all()
        let files = try await FundingAttachment.query(on: db).filter(\.$applicationID == id).sort(\.$createdAt).all()
        let msgs = try await FundingMessage.query(on: db).filter(\.$applicationID == id).sort(\.$createdAt, .descending).all()
        let lines = Ledger.caseLines(try await FundingService.caseBookings(db, application: id)).filter { $0.committed != 0 || $0.paid != 0 }
        let payouts = try await FundingPayout.query(on: db).filter(\.$applicationID == id).sort(\.$requestedAt).all()
        let links = try await FundingInvoiceLink.query(on: db).filter(\.$applicationID == id).all()
        let changes = try await FundingChange.query(on: db).filter(\.$applicationID == id).sort(\.$createdAt).all()
        let linkedInvoices = links.isEmpty ? [] : try await EInvoice.query(on: db).filter(\.$id ~~ links.map(\.invoiceID)).all()

        let st = a.state
        let canApply = req.can(.fundingApply, tenant: a.tenantARS)
        let canSign = req.can(.fundingSign, tenant: a.tenantARS)
        let decide = req.can(.fundingDecide)
        let me = req.principal.staff?.userID.uuidString ?? ""
        let editable = st.isEditable && canApply
        let flags = items.map { FundingCalculation.flag($0.item, eligibleCostTypes: cat?.costTypeSet ?? [], projectStart: a.startsOn, earlyStart: a.earlyStartDay) }
        let eligible = FundingCalculation.eligibleCents(items.map(\.item), eligibleCostTypes: cat?.costTypeSet ?? [], projectStart: a.startsOn, earlyStart: a.earlyStartDay)

        // partner tenants the lead may invite: the members of its VG, else the other municipalities of its Kreis
        var partnerOptions: [FundingOption] = []
        if editable {
            let taken = Set(partners.map(\.tenantARS) + [a.tenantARS])
            let members = try await Gebiet.query(on: db).filter(\.$parentARS == a.tenantARS).sort(\.$name).all()
            let pool = members.isEmpty ? try await Gebiet.query(on: db).filter(\.$kreisARS == String(a.tenantARS.prefix(5))).filter(\.$joinable == true).sort(\.$name).limit(400).all() : members
            partnerOptions = pool.filter { !taken.contains($0.ars) }.map { FundingOption(value: $0.ars, label: $0.name, selected: form["partner"] == $0.ars) }
        }
        // the tenant's invoices released for payment and not used for any project yet
        var invoiceOptions: [InvoiceOption] = []
        if st == .approved && canApply {
            let used = Set(try await FundingInvoiceLink.query(on: db).filter(\.$tenantARS == a.tenantARS).all().map(\.invoiceID))
            invoiceOptions = try await EInvoice.query(on: db).filter(\.$tenantARS == a.tenantARS).filter(\.$status == InvoiceStatus.released.rawValue)
                .sort(\.$receivedAt, .descending).limit(200).all()
                .filter { !used.contains($0.id ?? UUID()) }
                .map { InvoiceOption(id: $0.id?.uuidString ?? "", label: "\($0.sellerName), Nr. \($0.invoiceNumber)\($0.issueDate.map { ", " + FundingFormat.day($0) } ?? ""), \(FundingFormat.money($0.totalCents))",
                                     checked: form["rechnung_\($0.id?.uuidString ?? "")"] != nil) }
        }
        let years = Array(Set(items.map(\.year))).sorted()
        let split = FundingCalculation.split(a.requestedCents, weights: Dictionary(items.filter { i in
            FundingCalculation.flag(i.item, eligibleCostTypes: cat?.costTypeSet ?? [], projectStart: a.startsOn, earlyStart: a.earlyStartDay) == nil
        }.map { ($0.year, $0.item.fundableCents) }, uniquingKeysWith: +))
        var approvalRows: [ApprovalRow] = []
        let defaultYears = years.isEmpty ? [Int(a.startsOn.prefix(4)) ?? 2027] : years
        for n in 1...max(3, defaultYears.count) {
            let y = n <= defaultYears.count ? defaultYears[n - 1] : nil
            let chosen = form["quelle\(n)"] ?? FundingSource.land.rawValue
            approvalRows.append(ApprovalRow(n: n, year: form["jahr\(n)"] ?? y.map(String.init) ?? "",
                                            sources: FundingSource.allCases.map { FundingOption(value: $0.rawValue, label: FundingFormat.source($0), selected: $0.rawValue == chosen) },
                                            amount: form["betrag\(n)"] ?? y.flatMap { split[$0] }.map { Money(cents: $0).formattedDE.replacingOccurrences(of: " €", with: "") } ?? ""))
        }
        func checker(_ s: String?) -> String { s.map { String($0.split(separator: "|").last ?? "") } ?? "" }
        let proofPrefill = linkedInvoices.reduce(Int64(0)) { $0 + $1.totalCents }
        let view = CaseView(
            id: id.uuidString, reference: a.reference, title: form["titel"] ?? a.title, summary: form["beschreibung"] ?? a.summary, tenant: a.tenantName, tenantARS: a.tenantARS,
            status: FundingFormat.status(a.status), statusKey: a.status, programme: prog?.title ?? "", call: call?.title ?? "",
            category: cat.map { "\($0.code) \($0.title)" } ?? "", financing: cat.map { FundingFormat.financing($0.rule) } ?? "", demo: prog?.demo ?? false,
            startsOn: form["beginn"] ?? FundingFormat.day(a.startsOn), endsOn: form["ende"] ?? FundingFormat.day(a.endsOn), units: form["einheiten"] ?? String(a.units),
            isFixed: cat?.financing == "festbetrag", unitLabel: cat?.unitLabel ?? "",
            ownShare: form["eigenanteil"] ?? Money(cents: a.ownShareCents).formattedDE.replacingOccurrences(of: " €", with: ""),
            otherFunding: form["drittmittel"] ?? Money(cents: a.otherFundingCents).formattedDE.replacingOccurrences(of: " €", with: ""),
            requested: FundingFormat.money(a.requestedCents), eligible: FundingFormat.money(eligible),
            contactName: form["kontakt_name"] ?? a.contactName, contactEmail: form["kontakt_email"] ?? a.contactEmail,
            author: a.authorName, releasedBy: a.releasedBy ?? "", submitted: a.submittedAt.map { GermanTime.format($0) } ?? "",
            editable: editable, canEdit: canApply, canRequestRelease: editable, canRelease: st == .awaitingRelease && canSign && a.authorID != me,
            canAnswer: st == .query && canApply, canWithdraw: canApply && (try? FundingWorkflow.next(st, .withdraw)) != nil,
            items: zip(items, flags).map { i, fl in
                ItemRow(id: i.id?.uuidString ?? "", year: i.year, costType: FundingFormat.costType(i.costType), label: i.label, net: FundingFormat.money(i.netCents),
                        gross: FundingFormat.money(i.grossCents), vat: i.vatDeductible, incurred: FundingFormat.day(i.incurredOn), flag: fl.map { english ? $0.english : $0.german } ?? "")
            },
            costTypes: (cat?.costTypeSet.sorted() ?? []).map { FundingOption(value: $0, label: FundingFormat.costType($0), selected: form["kostenart"] == $0) },
            hasItems: !items.isEmpty,
            partners: partners.map { p in
                PartnerRow(ars: p.tenantARS, name: p.tenantName, share: FundingFormat.money(p.shareCents), status: FundingFormat.partnerStatus(p.status), confirmed: p.status == "bestaetigt",
                           by: p.confirmedBy ?? "", canConfirm: (st.isEditable || st == .awaitingRelease) && req.can(.fundingSign, tenant: p.tenantARS))
            },
            hasPartners: !partners.isEmpty, canInvite: editable, partnerOptions: partnerOptions,
            files: files.map { FileRow(id: $0.id?.uuidString ?? "", kind: FundingAttachmentKind(rawValue: $0.kind)?.label(english) ?? $0.kind, name: $0.name,
                                       size: CaseDocuments.sizeLabel($0.size), at: GermanTime.format($0.createdAt)) },
            fileKinds: FundingAttachmentKind.allCases.map { FundingOption(value: $0.rawValue, label: $0.label(english), selected: false) },
            canUpload: canApply && !st.isApproved || (canApply && st == .approved),
            earlyStatus: FundingFormat.decision(a.earlyStartStatus), earlyFrom: FundingFormat.day(a.earlyStartFrom), earlyReason: a.earlyStartReason,
            canRequestEarly: canApply && !st.isApproved && st != .rejected && st != .withdrawn && a.earlyStartStatus != "genehmigt" && a.earlyStartStatus != "beantragt",
            canDecideEarly: decide && a.earlyStartStatus == "beantragt",
            messages: msgs.filter { $0.kind != "kommentar" || req.can(.fundingDecide) || req.can(.fundingAdvise) || req.can(.fundingView) }.map { m in
                MessageRow(id: m.id?.uuidString ?? "", kind: m.kind, subject: m.subject, body: m.body, sender: m.sender, at: GermanTime.format(m.createdAt),
                           file: m.fileSHA == nil ? "" : "/foerderung/antraege/\(id)/nachrichten/\(m.id?.uuidString ?? "")/datei", fileName: m.fileName, fromLand: m.direction == "land")
            },
            land: decide, contentBy: checker(a.contentCheckBy), contentNote: a.contentCheckNote, calcBy: checker(a.calcCheckBy), calcNote: a.calcCheckNote,
            canCheck: decide && st == .submitted, canDecide: decide && st == .submitted && a.contentCheckBy != nil && a.calcCheckBy != nil,
            score: form["punkte"] ?? a.score.map(String.init) ?? "", approvalRows: approvalRows,
            conditions: form["nebenbestimmungen"] ?? (a.conditions.isEmpty ? FundingDocuments.defaultConditions : a.conditions),
            legalRemedy: form["rechtsbehelf"] ?? (a.legalRemedy.isEmpty ? FundingDocuments.defaultLegalRemedy : a.legalRemedy),
            proofDue: form["nachweis_bis"] ?? FundingFormat.day(a.proofDueOn.isEmpty ? Self.defaultProofDue(a.endsOn) : a.proofDueOn),
            decisionText: a.decisionText, queryText: a.queryText, queryDue: FundingFormat.day(a.queryDueOn), inQuery: st == .query,
            lines: lines.map { LineRow(key: "\($0.key.year)|\($0.key.source.rawValue)", year: $0.key.year, source: FundingFormat.source($0.key.source),
                                       committed: FundingFormat.money($0.committed), paid: FundingFormat.money($0.paid), payable: FundingFormat.money($0.payable)) },
            hasLines: !lines.isEmpty,
            lineOptions: lines.map { FundingOption(value: "\($0.key.year)|\($0.key.source.rawValue)", label: "\($0.key.year), \(FundingFormat.source($0.key.source)) (\(english ? "open" : "offen"): \(FundingFormat.money($0.payable)))",
                                                   selected: form["linie"] == "\($0.key.year)|\($0.key.source.rawValue)") },
            payouts: payouts.map { p in
                PayoutRow(id: p.id?.uuidString ?? "", year: p.year, source: FundingSource(rawValue: p.source).map(FundingFormat.source) ?? p.source, amount: FundingFormat.money(p.cents),
                          status: FundingFormat.decision(p.status), open: p.status == "beantragt",
                          invoices: links.filter { $0.payoutID == p.id }.compactMap { l in linkedInvoices.first { $0.id == l.invoiceID }.map { "\($0.sellerName), Nr. \($0.invoiceNumber), \(FundingFormat.money($0.totalCents))" } },
                          at: GermanTime.format(p.requestedAt))
            },
            canRequestPayout: st == .approved && canApply, invoices: invoiceOptions, canDecidePayout: decide,
            proofDueOn: FundingFormat.day(a.proofDueOn), proofReport: form["sachbericht"] ?? a.proofReport,
            proofCosts: form["ausgaben"] ?? (a.proofCostsCents > 0 ? Money(cents: a.proofCostsCents).formattedDE.replacingOccurrences(of: " €", with: "") : Money(cents: proofPrefill).formattedDE.replacingOccurrences(of: " €", with: "")),
            proofPrefill: FundingFormat.money(proofPrefill), canSubmitProof: st == .approved && canApply, canClose: decide && st == .proofSubmitted,
            finalGrant: FundingFormat.money(a.finalGrantCents), reclaim: FundingFormat.money(a.reclaimCents), closed: st == .closed,
            changes: changes.map { c in
                ChangeRow(id: c.id?.uuidString ?? "", what: "\(c.year) \(FundingSource(rawValue: c.source).map(FundingFormat.source) ?? c.source): \(FundingFormat.money(c.newCents))\(c.newEndsOn.isEmpty ? "" : ", \(english ? "end" : "Ende") \(FundingFormat.day(c.newEndsOn))")",
                          reason: c.reason, status: FundingFormat.decision(c.status), open: c.status == "beantragt")
            },
            canRequestChange: st == .approved && canApply, canComment: req.can(.fundingAdvise) || decide,
            form: form, message: message)
        if let error { return try await req.renderError("foerderung/antrag", title: "\(a.reference) \(a.title)", view, error) }
        return try await req.render("foerderung/antrag", title: "\(a.reference) \(a.title)", view, form: true)
    }

    /// Six months after the end of the project.
    static func defaultProofDue(_ end: String) -> String {
        let p = end.split(separator: "-").compactMap { Int($0) }
        guard p.count == 3 else { return "" }
        var y = p[0], m = p[1] + 6
        if m > 12 { m -= 12; y += 1 }
        return String(format: "%04d-%02d-%02d", y, m, min(p[2], CalendarDay.daysIn(month: m, year: y)))
    }

    static let messages: Set<String> = ["gespeichert", "position", "partner", "beteiligung", "anlage", "freigabe_angefragt", "eingereicht", "zurueck", "antwort",
                                        "zurueckgezogen", "vorzeitig", "pruefung", "rueckfrage", "nachbesserung", "bewertung", "bewilligt", "abgelehnt",
                                        "mittelabruf", "auszahlung", "nachweis", "abgeschlossen", "aenderung", "kommentar"]

    @Sendable func show(req: Request) async throws -> Response {
        let (a, partners) = try await FundingAccess.visible(req)
        let ok = req.query[String.self, at: "ok"] ?? ""
        return try await render(req, a, partners, message: Self.messages.contains(ok) ? req.t("fo_ok_\(ok)") : "")
    }

    /// Runs a form action: on a typed error the page comes back with the message and everything typed.
    func act(_ req: Request, _ action: Action, land: Bool = false,
             _ body: @escaping (FundingApplication, [FundingPartner], FundingForm) async throws -> String) async throws -> Response {
        let (a, partners) = try await FundingAccess.visible(req)
        if land { try req.authorize(action) } else if action != .fundingView { try req.authorize(action, tenant: a.tenantARS) }
        let f = FundingForm(req)
        do {
            let ok = try await body(a, partners, f)
            return req.redirect(to: "/foerderung/antraege/\(try a.requireID())?ok=\(ok)#meldung", redirectType: .normal)
        } catch let e as AppError {
            guard let fresh = try await FundingApplication.find(a.id, on: req.db) else { throw e }
            let p = try await FundingPartner.query(on: req.db).filter(\.$applicationID == a.requireID()).sort(\.$tenantName).all()
            return try await render(req, fresh, p, form: f.f, error: e)
        }
    }

    func notEditable(_ a: FundingApplication) -> AppError {
        AppError(.conflict, "funding.not_editable", de: "Im Status „\(a.state.german)“ kann der Antrag nicht geändert werden.", en: "The application cannot be changed in status '\(a.state.english)'.")
    }

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
        try await act(req, .fundingApply) { a, partners, f in
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
            _ = partners
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
        let (a, _) = try await FundingAccess.visible(req)
        guard req.can(.fundingAdvise) || req.can(.fundingDecide) else { throw AppError.forbidden }
        return try await act(req, .fundingView) { a, _, f in
            let text = try f.text("kommentar", "Ihren Kommentar", max: 4000)
            let actor = req.principal
            try await req.application.writeTransaction { db in
                _ = try await FundingService.post(db, app: req.application, a: a, direction: req.can(.fundingDecide) ? "land" : "beratung", kind: "kommentar",
                                                  sender: actor.staff?.name ?? actor.auditActor, subject: req.can(.fundingDecide) ? "Vermerk der Bewilligungsbehörde" : "Hinweis der Beratung", body: text)
                try await FundingService.audit(db, actor, a, "comment", before: nil, after: text)
            }
            _ = a
            return "kommentar"
        }
    }
}
