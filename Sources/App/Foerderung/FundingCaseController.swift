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
}
