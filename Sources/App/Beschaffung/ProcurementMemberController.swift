import Documents
import Fluent
import Finder
import Foundation
import Procurement
import RathausCore
import Vapor

/// The public catalogue (`/beschaffung`) and a member's procurement (`/mandanten/<ARS>/beschaffung`):
/// call-offs from the provider's frameworks, approvals, receipt, the provider's invoices, settings.
struct ProcurementMemberController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("beschaffung", use: catalogue)
        let t = app.grouped("mandanten", ":ars", "beschaffung")
        t.get(use: overview)
        t.get("abruf", use: cart)
        t.post("abrufe", use: submit)
        t.get("abrufe.csv", use: csv)
        t.get("abrufe", ":id", use: show)
        t.get("abrufe", ":id", "bestellung.pdf", use: orderPDF)
        t.post("abrufe", ":id", "genehmigen", use: approve)
        t.post("abrufe", ":id", "ablehnen", use: reject)
        t.post("abrufe", ":id", "stornieren", use: cancel)
        t.post("abrufe", ":id", "abnehmen", use: receive)
        t.get("rahmenvertraege", ":id", "dokumente", ":doc", use: document)
        t.get("einstellungen", use: settings)
        t.post("einstellungen", use: saveSettings)
    }

    struct Opt: Encodable { var value: String; var label: String; var selected: Bool }

    static func tenant(_ req: Request, _ action: Action) async throws -> Gebiet {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(action, tenant: g.ars)
        return g
    }

    // MARK: catalogue

    struct ItemRow: Encodable {
        var id: String; var article: String; var name: String; var description: String; var category: String; var unit: String
        var price: String; var fee: String; var vat: String; var quantities: String; var delivery: String; var lot: String; var supplier: String
        var framework: String; var lotID: String; var qty: String = ""
    }
    struct CatalogueView: Encodable {
        var q: String; var rows: [ItemRow]; var lots: [Opt]; var categories: [Opt]; var suppliers: [Opt]; var count: Int; var orderTenant: String?
    }

    static func row(_ e: ProcurementService.CatalogueEntry, en: Bool) -> ItemRow {
        let it = e.item
        let q = it.maxQuantity > 0 ? "\(it.minQuantity)–\(it.maxQuantity)" : (en ? "from \(it.minQuantity)" : "ab \(it.minQuantity)")
        return ItemRow(id: it.id?.uuidString ?? "", article: it.articleNumber, name: it.name, description: it.description, category: it.category,
                       unit: UnitCode.name(it.unitCode, english: en), price: e.price.map { Money(cents: $0.netCents).formatted } ?? "–",
                       fee: it.feeCents > 0 ? Money(cents: it.feeCents).formatted : "–", vat: "\(it.vatPercent) %", quantities: q,
                       delivery: it.deliveryDays > 0 ? (en ? "\(it.deliveryDays) days" : "\(it.deliveryDays) Tage") : "–",
                       lot: "\(e.lot.number): \(e.lot.title)", supplier: e.lot.supplierName, framework: "\(e.framework.reference) \(e.framework.subject)",
                       lotID: e.lot.id?.uuidString ?? "")
    }

    /// The catalogue of every active framework with the prices of today; search with the finder's
    /// German search (umlauts, typos, compounds), filters by lot, category and supplier.
    @Sendable func catalogue(req: Request) async throws -> Response {
        let en = req.lang == .en
        let q = String((req.query[String.self, at: "q"] ?? "").prefix(200)).trimmingCharacters(in: .whitespaces)
        let lotFilter = req.query[String.self, at: "los"] ?? ""
        let catFilter = String((req.query[String.self, at: "kategorie"] ?? "").prefix(100))
        let supFilter = String((req.query[String.self, at: "lieferant"] ?? "").prefix(200))
        let all = try await ProcurementService.catalogue(req.db, day: BusinessDate.today())
        var entries = all
        if let l = UUID(uuidString: lotFilter) { entries = entries.filter { $0.lot.id == l } }
        if !catFilter.isEmpty { entries = entries.filter { $0.item.category == catFilter } }
        if !supFilter.isEmpty { entries = entries.filter { $0.lot.supplierName == supFilter } }
        if !q.isEmpty {
            let docs = entries.enumerated().map { i, e in
                SearchDocument(id: i, title: e.item.name, keywords: [e.item.category, e.item.articleNumber], extra: [e.item.description, e.lot.title, e.lot.supplierName])
            }
            let hits = SearchIndex(documents: docs).search(q, limit: 200)
            entries = hits.map { entries[$0.id] }
        }
        var lots: [String: String] = [:]
        for e in all { lots[e.lot.id?.uuidString ?? ""] = "\(e.framework.reference) – \(req.t("pr_lot")) \(e.lot.number): \(e.lot.title)" }
        let orderTenant: String? = {
            guard case .staff(let s) = req.principal, let ars = s.tenantARS, req.can(.procurementOrder, tenant: ars) else { return nil }
            return ars
        }()
        let view = CatalogueView(
            q: q, rows: entries.map { Self.row($0, en: en) },
            lots: lots.sorted { $0.value < $1.value }.map { Opt(value: $0.key, label: $0.value, selected: $0.key == lotFilter) },
            categories: Set(all.map(\.item.category)).filter { !$0.isEmpty }.sorted().map { Opt(value: $0, label: $0, selected: $0 == catFilter) },
            suppliers: Set(all.map(\.lot.supplierName)).sorted().map { Opt(value: $0, label: $0, selected: $0 == supFilter) },
            count: entries.count, orderTenant: orderTenant)
        return try await req.render("beschaffung/katalog", title: req.t("pr_catalogue_title"), view)
    }

    // MARK: a member's overview

    struct CallOffRow: Encodable { var id: String; var reference: String; var date: String; var supplier: String; var net: String; var status: String; var link: String; var waiting: Bool }
    struct InvoiceRow: Encodable { var number: String; var date: String; var gross: String; var link: String }
    struct DocLink: Encodable { var label: String; var link: String }
    struct FrameworkRow: Encodable { var reference: String; var subject: String; var term: String; var lots: [Opt]; var documents: [DocLink] = [] }
    struct OverviewView: Encodable {
        var ars: String; var name: String; var member: Bool; var memberNote: String; var tasks: [String]; var frameworks: [FrameworkRow]
        var calloffs: [CallOffRow]; var invoices: [InvoiceRow]; var canOrder: Bool; var threshold: String; var waiting: Int
        var demands: [ProcurementDemandController.RoundRow]
    }

    static func callOffRows(_ db: any Database, _ list: [ProcurementCallOff], en: Bool, link: (ProcurementCallOff) -> String) async throws -> [CallOffRow] {
        let lots = try await ProcurementLot.query(on: db).all()
        let supplier = Dictionary(lots.compactMap { l in l.id.map { ($0, l.supplierName) } }, uniquingKeysWith: { a, _ in a })
        return list.map { c in
            let s = CallOffStatus(rawValue: c.status)
            return CallOffRow(id: c.id?.uuidString ?? "", reference: c.reference, date: GermanTime.format(c.createdAt, english: en), supplier: supplier[c.lotID] ?? "",
                              net: Money(cents: c.netCents).formatted, status: (en ? s?.english : s?.german) ?? c.status, link: link(c), waiting: s == .awaitingApproval)
        }
    }

    @Sendable func overview(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .procurementOrder)
        let en = req.lang == .en
        let day = BusinessDate.today()
        var member = true, memberNote = ""
        do { try await ProcurementService.requireMember(req.db, tenant: g, day: day) } catch let e as AppError { member = false; memberNote = e.message(req.lang) }
        var tasks = try await ProcurementBilling.missing(req.db, tenant: g.ars)
        let list = try await ProcurementCallOff.query(on: req.db).filter(\.$tenantARS == g.ars).sort(\.$createdAt, .descending).limit(500).all()
        let waiting = list.filter { $0.status == CallOffStatus.awaitingApproval.rawValue }
        if !waiting.isEmpty {
            tasks.append(en ? "\(waiting.count) call-off(s) await approval by a second person." : "\(waiting.count) Abruf/Abrufe warten auf die Genehmigung durch eine zweite Person.")
        }
        if en { tasks = tasks.map { $0.hasPrefix("Es ist keine") ? "No active Leitweg-ID: the provider's invoices cannot be delivered. Create one under 'Leitweg-IDs'." : ($0.hasPrefix("Die Rechnungsanschrift") ? "The billing address is missing: enter it under 'Procurement settings'." : $0) } }
        let entries = try await ProcurementService.catalogue(req.db, day: day)
        var fws: [UUID: FrameworkRow] = [:]
        for e in entries {
            guard let id = e.framework.id else { continue }
            var row = fws[id] ?? FrameworkRow(reference: e.framework.reference, subject: e.framework.subject,
                                              term: "\(CalendarDay.display(e.framework.startsOn, english: en)) – \(CalendarDay.display(e.framework.endsOn, english: en))", lots: [])
            let lid = e.lot.id?.uuidString ?? ""
            if !row.lots.contains(where: { $0.value == lid }) { row.lots.append(Opt(value: lid, label: "\(e.lot.number): \(e.lot.title) (\(e.lot.supplierName))", selected: false)) }
            fws[id] = row
        }
        // the framework's documents (award, contract, price sheets) are open to the members who call off from it
        let fwIDs = Array(fws.keys)
        let docs = fwIDs.isEmpty ? [] : try await ProcurementDocument.query(on: req.db).filter(\.$frameworkID ~~ fwIDs).sort(\.$createdAt).all()
        for d in docs {
            let kind = ProcurementDocument.kinds.first { $0.0 == d.kind }.map { en ? $0.2 : $0.1 } ?? d.kind
            fws[d.frameworkID]?.documents.append(DocLink(label: "\(kind): \(d.name)", link: "/mandanten/\(g.ars)/beschaffung/rahmenvertraege/\(d.frameworkID.uuidString)/dokumente/\(d.id!.uuidString)"))
        }
        let invoices = try await ProviderInvoice.query(on: req.db).filter(\.$tenantARS == g.ars).sort(\.$createdAt, .descending).limit(200).all()
        let threshold = try await ProcurementSettings.find(g.ars, on: req.db)?.approvalThresholdCents ?? ProcurementSettings.defaultThresholdCents
        let view = OverviewView(
            ars: g.ars, name: g.name, member: member, memberNote: memberNote, tasks: tasks, frameworks: fws.values.sorted { $0.reference < $1.reference },
            calloffs: try await Self.callOffRows(req.db, list, en: en) { "/mandanten/\(g.ars)/beschaffung/abrufe/\($0.id?.uuidString ?? "")" },
            invoices: invoices.map { InvoiceRow(number: $0.number, date: CalendarDay.display($0.issuedOn, english: en), gross: Money(cents: $0.grossCents).formatted,
                                                link: req.can(.invoiceView, tenant: g.ars) ? "/mandanten/\(g.ars)/rechnungen/\($0.einvoiceID.uuidString)" : "") },
            canOrder: member, threshold: Money(cents: threshold).formatted, waiting: waiting.count,
            demands: try await DemandRound.query(on: req.db).filter(\.$status == "offen").filter(\.$closesOn >= day).sort(\.$closesOn).all()
                .map { ProcurementDemandController.row($0, en: en, link: "/mandanten/\(g.ars)/beschaffung/bedarf/\($0.id!.uuidString)") })
        return try await req.render("beschaffung/mandant", title: "\(req.t("pr_member_title")): \(g.name)", view)
    }

    /// A document of a framework the member may call off from today.
    @Sendable func document(req: Request) async throws -> Response {
        _ = try await Self.tenant(req, .procurementOrder)
        guard let fwID = req.parameters.get("id", as: UUID.self), let docID = req.parameters.get("doc", as: UUID.self),
              let fw = try await ProcurementFramework.find(fwID, on: req.db),
              FrameworkStatus.usable(FrameworkStatus(rawValue: fw.status) ?? .preparation, startsOn: fw.startsOn, endsOn: fw.endsOn, on: BusinessDate.today()),
              let d = try await ProcurementDocument.find(docID, on: req.db), d.frameworkID == fwID else { throw AppError.notFound }
        return try await ApplicantController.download(req, sha256: d.sha256, kind: d.fileKind, name: d.name, fallback: "dokument")
    }

    // MARK: the cart

    struct CartView: Encodable {
        var ars: String; var name: String; var lot: String; var lotTitle: String; var supplier: String; var framework: String
        var rows: [ItemRow]; var form: [String: String]; var threshold: String
    }

    func renderCart(_ req: Request, _ g: Gebiet, lot: UUID, form: [String: String], error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let entries = try await ProcurementService.catalogue(req.db, day: BusinessDate.today(), lot: lot)
        guard let first = entries.first else {
            throw AppError(.notFound, "beschaffung.los", de: "Dieses Los ist heute nicht abrufbar.", en: "This lot cannot be called off today.")
        }
        let threshold = try await ProcurementSettings.find(g.ars, on: req.db)?.approvalThresholdCents ?? ProcurementSettings.defaultThresholdCents
        let view = CartView(ars: g.ars, name: g.name, lot: lot.uuidString, lotTitle: "\(first.lot.number): \(first.lot.title)", supplier: first.lot.supplierName,
                            framework: "\(first.framework.reference) \(first.framework.subject)", rows: entries.map { e in var r = Self.row(e, en: en); r.qty = form["menge_\(r.id)"] ?? ""; return r }, form: form,
                            threshold: Money(cents: threshold).formatted)
        let title = req.t("pr_cart_title")
        if let error { return try await req.renderError("beschaffung/abruf", title: title, view, error) }
        return try await req.render("beschaffung/abruf", title: title, view, form: true)
    }

    @Sendable func cart(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .procurementOrder)
        guard let lot = (req.query[String.self, at: "los"]).flatMap(UUID.init(uuidString:)) else {
            throw AppError.invalid("los", de: "Bitte wählen Sie ein Los aus dem Katalog.", en: "Please choose a lot from the catalogue.")
        }
        try await ProcurementService.requireMember(req.db, tenant: g, day: BusinessDate.today())
        return try await renderCart(req, g, lot: lot, form: ["los": lot.uuidString])
    }

    @Sendable func submit(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .procurementOrder)
        let f = FundingForm(req)
        do {
            let input = try ProcurementService.readCallOff(f)
            let c = try await ProcurementService.submit(req.application, tenant: g, input: input, actor: req.principal)
            return req.redirect(to: "/mandanten/\(g.ars)/beschaffung/abrufe/\(c.id!.uuidString)?ok=1", redirectType: .normal)
        } catch let e as AppError where e.status != .forbidden && e.status != .notFound {
            guard let lot = UUID(uuidString: f["los"]) else { throw e }
            return try await renderCart(req, g, lot: lot, form: f.f, error: e)
        }
    }

    // MARK: one call-off

    struct LineRow: Encodable { var id: String; var article: String; var name: String; var quantity: Int; var unit: String; var price: String; var fee: String; var net: String; var delivered: Int; var open: Int }
    struct CallOffView: Encodable {
        var ars: String; var tenantName: String; var id: String; var reference: String; var status: String; var framework: String; var lot: String; var supplier: String
        var lines: [LineRow]; var goods: String; var fees: String; var net: String; var vat: String; var gross: String
        var deliveryAddress: String; var deliveryDate: String; var costCentre: String; var note: String; var reason: String
        var requestedBy: String; var approvedBy: String; var created: String; var supplierReference: String; var invoice: String; var invoiceLink: String
        var canApprove: Bool; var canCancel: Bool; var canReceive: Bool; var saved: Bool; var provider: Bool
        var canRelease: Bool; var canConfirm: Bool; var canDeliver: Bool; var canBill: Bool; var pdf: String; var back: String
        var canCredit: Bool; var creditNote: String; var creditLink: String; var creditError = ""
    }

    static func view(_ req: Request, _ c: ProcurementCallOff, provider: Bool) async throws -> CallOffView {
        let en = req.lang == .en
        let s = CallOffStatus(rawValue: c.status) ?? .draft
        let lines = try await ProcurementCallOffLine.query(on: req.db).filter(\.$callOffID == c.id!).sort(\.$name).all()
        let lot = try await ProcurementLot.find(c.lotID, on: req.db)
        let fw = try await ProcurementFramework.find(c.frameworkID, on: req.db)
        let tenant = try await Gebiet.find(c.tenantARS, on: req.db)
        let names = try await ActorNames.load([c.requestedBy, c.approvedBy].filter { !$0.isEmpty }, on: req.db)
        let invoice = try await c.invoiceID.asyncMap { try await ProviderInvoice.find($0, on: req.db) }
        let credit = try await ProviderInvoice.query(on: req.db).filter(\.$callOffID == c.id!).filter(\.$kind == "gutschrift").first()
        let me = req.principal.auditActor
        let order = lines.map { OrderLine(articleNumber: $0.articleNumber, name: $0.name, quantity: $0.quantity, unitCode: $0.unitCode, unitNetCents: $0.unitNetCents, feeCents: $0.feeCents, vatPercent: $0.vatPercent) }
        let totals = OrderTotals(order)
        let base = provider ? "/einkauf/abrufe/\(c.id!.uuidString)" : "/mandanten/\(c.tenantARS)/beschaffung/abrufe/\(c.id!.uuidString)"
        return CallOffView(
            ars: c.tenantARS, tenantName: tenant?.name ?? c.tenantARS, id: c.id!.uuidString, reference: c.reference, status: en ? s.english : s.german,
            framework: fw.map { "\($0.reference) \($0.subject)" } ?? "", lot: lot.map { "\($0.number): \($0.title)" } ?? "", supplier: lot?.supplierName ?? "",
            lines: lines.map { LineRow(id: $0.id!.uuidString, article: $0.articleNumber, name: $0.name, quantity: $0.quantity, unit: UnitCode.name($0.unitCode, english: en),
                                       price: Money(cents: $0.unitNetCents).formatted, fee: $0.feeCents > 0 ? Money(cents: $0.feeCents).formatted : "–",
                                       net: Money(cents: Int64($0.quantity) * ($0.unitNetCents + $0.feeCents)).formatted, delivered: $0.deliveredQuantity,
                                       open: $0.quantity - $0.deliveredQuantity) },
            goods: Money(cents: totals.goodsCents).formatted, fees: Money(cents: totals.feeCents).formatted, net: Money(cents: totals.netCents).formatted,
            vat: Money(cents: totals.vatCents).formatted, gross: Money(cents: totals.grossCents).formatted,
            deliveryAddress: c.deliveryAddress, deliveryDate: CalendarDay.display(c.deliveryDate, english: en), costCentre: c.costCentre, note: c.note, reason: c.reason,
            requestedBy: names.display(c.requestedBy), approvedBy: c.approvedBy.isEmpty ? "" : names.display(c.approvedBy),
            created: GermanTime.format(c.createdAt, english: en), supplierReference: c.supplierReference, invoice: invoice?.number ?? "",
            invoiceLink: invoice.flatMap { req.can(.invoiceView, tenant: c.tenantARS) ? "/mandanten/\(c.tenantARS)/rechnungen/\($0.einvoiceID.uuidString)" : nil } ?? "",
            canApprove: !provider && s == .awaitingApproval && req.can(.procurementApprove, tenant: c.tenantARS) && c.requestedBy != me,
            canCancel: !provider && [.awaitingApproval, .submitted].contains(s) && req.can(.procurementOrder, tenant: c.tenantARS),
            canReceive: !provider && s == .delivered && req.can(.procurementOrder, tenant: c.tenantARS),
            saved: req.query[String.self, at: "ok"] != nil, provider: provider,
            canRelease: provider && s == .submitted, canConfirm: provider && s == .released,
            canDeliver: provider && [.released, .confirmed, .partlyDelivered].contains(s), canBill: provider && s.isOrdered && c.invoiceID == nil,
            pdf: base + "/bestellung.pdf", back: provider ? "/einkauf/abrufe" : "/mandanten/\(c.tenantARS)/beschaffung",
            canCredit: provider && invoice != nil && credit == nil && lines.contains { $0.deliveredQuantity > 0 }, creditNote: credit?.number ?? "",
            creditLink: credit.flatMap { req.can(.invoiceView, tenant: c.tenantARS) ? "/mandanten/\(c.tenantARS)/rechnungen/\($0.einvoiceID.uuidString)" : nil } ?? "")
    }

    static func callOff(_ req: Request, tenant: String?) async throws -> ProcurementCallOff {
        guard let id = req.parameters.get("id", as: UUID.self), let c = try await ProcurementCallOff.find(id, on: req.db) else { throw AppError.notFound }
        if let tenant, c.tenantARS != tenant { throw AppError.notFound }
        return c
    }

    func renderOne(_ req: Request, _ c: ProcurementCallOff, error: AppError? = nil) async throws -> Response {
        let v = try await Self.view(req, c, provider: false)
        let title = "\(req.t("pr_calloff")) \(c.reference)"
        if let error { return try await req.renderError("beschaffung/abruf-detail", title: title, v, error) }
        return try await req.render("beschaffung/abruf-detail", title: title, v, form: true)
    }

    @Sendable func show(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .procurementOrder)
        return try await renderOne(req, try await Self.callOff(req, tenant: g.ars))
    }

    func act(_ req: Request, _ action: Action, _ body: @escaping (ProcurementCallOff) async throws -> Void) async throws -> Response {
        let g = try await Self.tenant(req, action)
        let c = try await Self.callOff(req, tenant: g.ars)
        do {
            try await body(c)
            return req.redirect(to: "/mandanten/\(g.ars)/beschaffung/abrufe/\(c.id!.uuidString)?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderOne(req, try await Self.callOff(req, tenant: g.ars), error: e)
        }
    }

    @Sendable func approve(req: Request) async throws -> Response {
        try await act(req, .procurementApprove) { try await ProcurementService.approve(req.application, $0, actor: req.principal) }
    }

    @Sendable func reject(req: Request) async throws -> Response {
        try await act(req, .procurementApprove) { c in
            let reason = try FundingForm(req).text("begruendung", "eine Begründung", max: 1000)
            try await ProcurementService.reject(req.application, c, reason: reason, byPurchasing: false, actor: req.principal)
        }
    }

    @Sendable func cancel(req: Request) async throws -> Response {
        try await act(req, .procurementOrder) { try await ProcurementService.cancel(req.application, $0, actor: req.principal) }
    }

    @Sendable func receive(req: Request) async throws -> Response {
        try await act(req, .procurementOrder) { try await ProcurementService.receive(req.application, $0, actor: req.principal) }
    }

    @Sendable func orderPDF(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .procurementOrder)
        return try await Self.pdf(req, try await Self.callOff(req, tenant: g.ars))
    }

    /// The order as a DIN 5008 letter of the provider to the supplier.
    static func pdf(_ req: Request, _ c: ProcurementCallOff) async throws -> Response {
        let data = try await orderDocument(req.db, c)
        let res = Response(status: .ok, body: .init(data: data))
        res.headers.contentType = .init(type: "application", subType: "pdf")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "inline; filename=\"bestellung-\(c.reference).pdf\"")
        return res
    }

    /// The order document (also mailed to the supplier at release, then with `releasedAt`).
    static func orderDocument(_ db: any Database, _ c: ProcurementCallOff, releasedAt: Date? = nil) async throws -> Data {
        let p = try await ProviderBilling.find("anbieter", on: db)
        let lot = try await ProcurementLot.find(c.lotID, on: db)
        let fw = try await ProcurementFramework.find(c.frameworkID, on: db)
        let tenant = try await Gebiet.find(c.tenantARS, on: db)
        let lines = try await ProcurementCallOffLine.query(on: db).filter(\.$callOffID == c.id!).sort(\.$name).all()
        let head = Letterhead(organisation: p?.name ?? "IT-Dienstleister", office: "Einkauf", address: [p?.street ?? "", "\(p?.postCode ?? "") \(p?.city ?? "")"],
                              contact: [p?.phone ?? "", p?.email ?? ""].filter { !$0.isEmpty }, bank: p.map { ["IBAN \($0.iban)", "USt-IdNr. \($0.vatID)"] } ?? [])
        let status = releasedAt != nil ? CallOffStatus.released : (CallOffStatus(rawValue: c.status) ?? .draft)
        let body: [Block] = [
            .paragraph("Im Rahmenvertrag \(fw?.reference ?? "") „\(fw?.subject ?? "")“, Los \(lot?.number ?? 0) „\(lot?.title ?? "")“, bestellen wir für \(tenant?.name ?? c.tenantARS):"),
            .table(Table(columns: [.init("Art.-Nr.", width: 0.14), .init("Artikel", width: 0.42), .init("Menge", width: 0.16, alignment: .right),
                                   .init("Einzelpreis", width: 0.14, alignment: .right), .init("Netto", width: 0.14, alignment: .right)],
                         rows: lines.map { [$0.articleNumber, $0.name, "\($0.quantity) \(UnitCode.name($0.unitCode))", Money(cents: $0.unitNetCents).formattedDE,
                                            Money(cents: Int64($0.quantity) * $0.unitNetCents).formattedDE] })),
            .facts([("Warenwert netto", Money(cents: c.goodsCents).formattedDE), ("Lieferanschrift", c.deliveryAddress),
                    ("Liefertermin", CalendarDay.display(c.deliveryDate)), ("Kostenstelle des Mitglieds", c.costCentre), ("Stand", status.german)]),
            .paragraph("Bitte bestätigen Sie die Bestellung unter Angabe der Bestellnummer. Ihre Rechnung richten Sie an den IT-Dienstleister."),
        ]
        let letter = Letter(letterhead: head, recipient: [lot?.supplierName ?? ""] + (lot?.supplierAddress ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
                            information: [("Bestellnummer", c.reference), ("Datum", GermanTime.format(releasedAt ?? c.releasedAt ?? c.createdAt, english: false).prefix(10).description)],
                            subject: "Bestellung \(c.reference)", body: body)
        return try PDFRenderer.render(letter, info: DocumentInfo(title: "Bestellung \(c.reference)", author: p?.name ?? "IT-Dienstleister"))
    }

    /// Every call-off of the member for its own records (semicolon CSV, German amounts).
    @Sendable func csv(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .procurementOrder)
        let list = try await ProcurementCallOff.query(on: req.db).filter(\.$tenantARS == g.ars).sort(\.$createdAt).all()
        let lots = Dictionary(try await ProcurementLot.query(on: req.db).all().compactMap { l in l.id.map { ($0, l) } }, uniquingKeysWith: { a, _ in a })
        var rows = [["Abruf", "Angelegt", "Lieferant", "Los", "Netto", "Umsatzsteuer", "Brutto", "Haushaltsstelle", "Status"]]
        for c in list {
            rows.append([c.reference, GermanTime.format(c.createdAt, english: false), lots[c.lotID]?.supplierName ?? "", lots[c.lotID].map { "\($0.number) \($0.title)" } ?? "",
                         Money(cents: c.netCents).formattedDE, Money(cents: c.vatCents).formattedDE, Money(cents: c.netCents + c.vatCents).formattedDE,
                         c.costCentre, CallOffStatus(rawValue: c.status)?.german ?? c.status])
        }
        let res = Response(status: .ok, body: .init(string: CSV.document(rows, delimiter: ";")))
        res.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"abrufe-\(g.ars).csv\"")
        return res
    }

    // MARK: settings

    struct SettingsView: Encodable { var ars: String; var name: String; var form: [String: String]; var saved: Bool }

    func renderSettings(_ req: Request, _ g: Gebiet, form: [String: String], error: AppError? = nil) async throws -> Response {
        let v = SettingsView(ars: g.ars, name: g.name, form: form, saved: req.query[String.self, at: "ok"] != nil)
        let title = req.t("pr_settings_title")
        if let error { return try await req.renderError("beschaffung/einstellungen", title: title, v, error) }
        return try await req.render("beschaffung/einstellungen", title: title, v, form: true)
    }

    @Sendable func settings(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .procurementSettings)
        let s = try await ProcurementSettings.find(g.ars, on: req.db)
        let threshold = s?.approvalThresholdCents ?? ProcurementSettings.defaultThresholdCents
        return try await renderSettings(req, g, form: ["schwelle": Money(cents: threshold).formattedDE.replacingOccurrences(of: " €", with: ""),
                                                      "strasse": s?.billingStreet ?? "", "plz": s?.billingPostCode ?? "", "ort": s?.billingCity ?? ""])
    }

    @Sendable func saveSettings(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .procurementSettings)
        let f = FundingForm(req)
        do {
            let threshold = try f.money("schwelle", "die Wertgrenze")
            let street = try f.text("strasse", "die Straße der Rechnungsanschrift", max: 200)
            let plz = f["plz"]
            guard plz.count == 5, plz.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw AppError.invalid("plz", de: "Bitte geben Sie die Postleitzahl mit fünf Ziffern an.", en: "Please enter the five-digit postcode.")
            }
            let city = try f.text("ort", "den Ort der Rechnungsanschrift", max: 100)
            try await req.application.writeTransaction { [actor = req.principal] db in
                let existing = try await ProcurementSettings.find(g.ars, on: db)
                let s = existing ?? ProcurementSettings()
                let fields: (ProcurementSettings) -> [(String, String)] = {
                    [("Wertgrenze für die Genehmigung", Money(cents: $0.approvalThresholdCents).formattedDE), ("Rechnungsanschrift", "\($0.billingStreet), \($0.billingPostCode) \($0.billingCity)")]
                }
                let before = existing.map { AuditFields.encode(fields($0)) }
                s.id = g.ars; s.approvalThresholdCents = threshold; s.billingStreet = street; s.billingPostCode = plz; s.billingCity = city
                s.updatedBy = actor.auditActor; s.updatedAt = Date()
                if existing == nil { try await s.create(on: db) } else { try await s.save(on: db) }
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "beschaffung.einstellungen",
                                       objectType: "beschaffung_einstellungen", objectID: g.ars, before: before, after: AuditFields.encode(fields(s)))
            }
            return req.redirect(to: "/mandanten/\(g.ars)/beschaffung/einstellungen?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderSettings(req, g, form: f.f, error: e)
        }
    }
}
