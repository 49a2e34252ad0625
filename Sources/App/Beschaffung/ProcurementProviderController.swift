import Fluent
import Forms
import Foundation
import Procurement
import RathausCore
import Vapor

/// The provider's purchasing (`/einkauf`, role `einkauf`): framework agreements, lots, price
/// sheets, the queue of members' call-offs, deliveries, billing and the seller's details.
struct ProcurementProviderController {
    func addRoutes(to app: any RoutesBuilder) {
        let e = app.grouped("einkauf")
        e.get(use: frameworks)
        e.post("rahmenvertraege", use: createFramework)
        e.get("rahmenvertraege", ":id", use: framework)
        e.post("rahmenvertraege", ":id", use: updateFramework)
        e.post("rahmenvertraege", ":id", "lose", use: addLot)
        e.on(.POST, "rahmenvertraege", ":id", "dokumente", body: .stream, use: uploadDocument)
        e.get("rahmenvertraege", ":id", "dokumente", ":doc", use: document)
        e.on(.POST, "lose", ":id", "preisblatt", body: .collect(maxSize: "3mb"), use: priceSheet)
        e.get("abrufe", use: callOffs)
        e.get("abrufe", ":id", use: callOff)
        e.get("abrufe", ":id", "bestellung.pdf", use: orderPDF)
        e.post("abrufe", ":id", "freigeben", use: release)
        e.post("abrufe", ":id", "ablehnen", use: reject)
        e.post("abrufe", ":id", "bestaetigen", use: confirm)
        e.post("abrufe", ":id", "lieferung", use: deliver)
        e.post("abrufe", ":id", "abrechnen", use: bill)
        e.post("abrufe", ":id", "gutschrift", use: credit)
        e.get("rechnungen", use: invoices)
        e.get("beitraege", use: contributions)
        e.post("beitraege", "abrechnen", use: billContributions)
        e.post("beitraege", ":ars", use: saveContribution)
        e.get("rechnungssteller", use: billing)
        e.post("rechnungssteller", use: saveBilling)
    }

    typealias Opt = ProcurementMemberController.Opt

    // MARK: frameworks

    struct FrameworkRow: Encodable { var id: String; var reference: String; var subject: String; var status: String; var term: String; var volume: String; var used: String; var link: String }
    struct FrameworksView: Encodable { var rows: [FrameworkRow]; var statuses: [Opt]; var form: [String: String]; var id = "" }

    static func statuses(_ en: Bool, selected: String) -> [Opt] {
        FrameworkStatus.allCases.map { Opt(value: $0.rawValue, label: en ? $0.english : $0.german, selected: $0.rawValue == selected) }
    }

    func renderFrameworks(_ req: Request, form: [String: String] = [:], error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let list = try await ProcurementFramework.query(on: req.db).sort(\.$reference).all()
        let rows = list.map { f in
            FrameworkRow(id: f.id!.uuidString, reference: f.reference, subject: f.subject, status: FrameworkStatus(rawValue: f.status).map { en ? $0.english : $0.german } ?? f.status,
                         term: "\(CalendarDay.display(f.startsOn, english: en)) – \(CalendarDay.display(f.endsOn, english: en))",
                         volume: f.maxVolumeCents > 0 ? Money(cents: f.maxVolumeCents).formatted : "–", used: Money(cents: f.releasedCents).formatted,
                         link: "/einkauf/rahmenvertraege/\(f.id!.uuidString)")
        }
        let v = FrameworksView(rows: rows, statuses: Self.statuses(en, selected: form["status"] ?? FrameworkStatus.preparation.rawValue), form: form)
        let title = req.t("pr_frameworks_title")
        if let error { return try await req.renderError("beschaffung/rahmenvertraege", title: title, v, error) }
        return try await req.render("beschaffung/rahmenvertraege", title: title, v, form: true)
    }

    @Sendable func frameworks(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        return try await renderFrameworks(req)
    }

    @Sendable func createFramework(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let f = FundingForm(req)
        do {
            let id = try await ProcurementService.saveFramework(req.application, id: nil, input: try ProcurementService.readFramework(f), actor: req.principal)
            return req.redirect(to: "/einkauf/rahmenvertraege/\(id.uuidString)?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderFrameworks(req, form: f.f, error: e)
        }
    }

    struct LotView: Encodable { var id: String; var number: Int; var title: String; var supplier: String; var address: String; var vat: String; var email: String; var items: [ProcurementMemberController.ItemRow] }
    struct FrameworkView: Encodable {
        var id: String; var reference: String; var subject: String; var status: String; var used: String; var usedPermille: String; var lots: [LotView]
        var statuses: [Opt]; var form: [String: String]; var lotForm: [String: String]; var saved: Bool; var csvColumns: String
        var documents: [DocumentRow] = []; var documentKinds: [Opt] = []
    }
    struct DocumentRow: Encodable { var kind: String; var name: String; var size: String; var date: String; var link: String }

    func renderFramework(_ req: Request, _ fw: ProcurementFramework, form: [String: String]? = nil, lotForm: [String: String] = [:], error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let lots = try await ProcurementLot.query(on: req.db).filter(\.$frameworkID == fw.id!).sort(\.$number).all()
        let items = try await ProcurementItem.query(on: req.db).filter(\.$frameworkID == fw.id!).sort(\.$name).all()
        let ids = items.compactMap(\.id)
        let prices = ids.isEmpty ? [] : try await ProcurementPrice.query(on: req.db).filter(\.$itemID ~~ ids).all()
        let byItem = Dictionary(grouping: prices, by: \.itemID)
        let today = BusinessDate.today()
        let lotViews = lots.map { l in
            LotView(id: l.id!.uuidString, number: l.number, title: l.title, supplier: l.supplierName, address: l.supplierAddress, vat: l.supplierVATID, email: l.supplierEmail,
                    items: items.filter { $0.lotID == l.id }.map { it in
                        let points = (byItem[it.id!] ?? []).map { PricePoint(validFrom: $0.validFrom, netCents: $0.netCents) }
                        // today's price, or the first future one for a catalogue not yet in force
                        let p = PriceSchedule.price(on: today, points) ?? points.min { $0.validFrom < $1.validFrom }
                        var row = ProcurementMemberController.row(ProcurementService.CatalogueEntry(item: it, lot: l, framework: fw, price: p), en: en)
                        if let p { row.price += " (\(en ? "from" : "ab") \(CalendarDay.display(p.validFrom, english: en)))" }
                        if points.count > 1 { row.price += en ? ", \(points.count) prices" : ", \(points.count) Preisstände" }
                        return row
                    })
        }
        let defaultForm = ["aktenzeichen": fw.reference, "gegenstand": fw.subject, "beschreibung": fw.description, "beginn": CalendarDay.display(fw.startsOn),
                           "ende": CalendarDay.display(fw.endsOn), "verlaengerung": fw.extensionOptions,
                           "hoechstvolumen": fw.maxVolumeCents > 0 ? Money(cents: fw.maxVolumeCents).formattedDE.replacingOccurrences(of: " €", with: "") : "", "status": fw.status]
        let form = form ?? defaultForm
        let permille = FrameworkVolume.usedPermille(maxCents: fw.maxVolumeCents, releasedCents: fw.releasedCents)
        let v = FrameworkView(id: fw.id!.uuidString, reference: fw.reference, subject: fw.subject, status: FrameworkStatus(rawValue: fw.status).map { en ? $0.english : $0.german } ?? fw.status,
                              used: Money(cents: fw.releasedCents).formatted, usedPermille: fw.maxVolumeCents > 0 ? "\(permille / 10),\(permille % 10) %" : "",
                              lots: lotViews, statuses: Self.statuses(en, selected: form["status"] ?? fw.status), form: form, lotForm: lotForm,
                              saved: req.query[String.self, at: "ok"] != nil, csvColumns: PriceSheet.columns.joined(separator: ";"))
        var view = v
        view.documents = try await ProcurementDocument.query(on: req.db).filter(\.$frameworkID == fw.id!).sort(\.$createdAt).all().map { d in
            DocumentRow(kind: ProcurementDocument.kinds.first { $0.0 == d.kind }.map { en ? $0.2 : $0.1 } ?? d.kind, name: d.name,
                        size: d.size >= 1_048_576 ? "\(d.size / 1_048_576) MB" : "\(max(1, d.size / 1024)) KB", date: GermanTime.format(d.createdAt, english: en),
                        link: "/einkauf/rahmenvertraege/\(fw.id!.uuidString)/dokumente/\(d.id!.uuidString)")
        }
        view.documentKinds = ProcurementDocument.kinds.map { Opt(value: $0.0, label: en ? $0.2 : $0.1, selected: false) }
        let title = "\(req.t("pr_framework")) \(fw.reference)"
        if let error { return try await req.renderError("beschaffung/rahmenvertrag", title: title, view, error) }
        return try await req.render("beschaffung/rahmenvertrag", title: title, view, form: true)
    }

    static func framework(_ req: Request) async throws -> ProcurementFramework {
        try req.authorize(.procurementManage)
        guard let id = req.parameters.get("id", as: UUID.self), let fw = try await ProcurementFramework.find(id, on: req.db) else { throw AppError.notFound }
        return fw
    }

    @Sendable func framework(req: Request) async throws -> Response {
        try await renderFramework(req, try await Self.framework(req))
    }

    @Sendable func updateFramework(req: Request) async throws -> Response {
        let fw = try await Self.framework(req)
        let f = FundingForm(req)
        do {
            _ = try await ProcurementService.saveFramework(req.application, id: fw.id, input: try ProcurementService.readFramework(f), actor: req.principal)
            return req.redirect(to: "/einkauf/rahmenvertraege/\(fw.id!.uuidString)?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderFramework(req, fw, form: f.f, error: e)
        }
    }

    @Sendable func addLot(req: Request) async throws -> Response {
        let fw = try await Self.framework(req)
        let f = FundingForm(req)
        do {
            _ = try await ProcurementService.addLot(req.application, framework: fw.id!, input: try ProcurementService.readLot(f), actor: req.principal)
            return req.redirect(to: "/einkauf/rahmenvertraege/\(fw.id!.uuidString)?ok=1#lose", redirectType: .normal)
        } catch let e as AppError {
            return try await renderFramework(req, fw, lotForm: f.f, error: e)
        }
    }

    static let documentFileKinds: [FileKind] = [.pdf, .odt, .docx, .png, .jpeg]

    /// A document of the framework (PDF, ODT, DOCX, PNG, JPEG; at most 20 MB), streamed into the
    /// shared file store, checked by content, audited.
    @Sendable func uploadDocument(req: Request) async throws -> Response {
        let fw = try await Self.framework(req)
        func fail(_ de: String, _ en: String) async throws -> Response {
            try await renderFramework(req, fw, error: AppError(.unprocessableEntity, "beschaffung.dokument", de: de, en: en, field: "dokument"))
        }
        guard req.headers.contentType?.type == "multipart" else { return try await fail("Bitte wählen Sie eine Datei aus.", "Please choose a file.") }
        let form = try await StreamedUpload.read(req, maxFileBytes: 20 * 1024 * 1024, maxFiles: 1, accept: { $0 == "dokument" ? Self.documentFileKinds : nil })
        if let problem = form.files.compactMap(\.error).first { return try await fail(problem.message, problem.message) }
        guard let file = form.files.first, let sha = file.sha256, let kind = file.kind else {
            return try await fail("Bitte wählen Sie eine Datei aus (PDF, ODT, DOCX, PNG oder JPEG, höchstens 20 MB).", "Please choose a file (PDF, ODT, DOCX, PNG or JPEG, at most 20 MB).")
        }
        guard let docKind = form.fields["art"], ProcurementDocument.kinds.contains(where: { $0.0 == docKind }) else {
            return try await fail("Bitte wählen Sie die Art des Dokuments aus der Liste.", "Please choose the kind of document from the list.")
        }
        let actor = req.principal
        try await req.application.writeTransaction { db in
            guard try await ProcurementDocument.query(on: db).filter(\.$frameworkID == fw.id!).count() < 500 else {
                throw AppError(.unprocessableEntity, "beschaffung.dokumente", de: "Ein Rahmenvertrag kann höchstens 500 Dokumente haben.", en: "A framework can have at most 500 documents.")
            }
            let d = ProcurementDocument()
            d.id = UUID(); d.frameworkID = fw.id!; d.kind = docKind; d.name = String(file.name.prefix(200)); d.fileKind = kind.rawValue; d.size = file.size
            d.sha256 = sha; d.uploadedBy = actor.auditActor; d.createdAt = Date()
            try await d.create(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "beschaffung.dokument",
                                   objectType: "rahmenvertrag", objectID: fw.id!.uuidString, before: nil, after: "\(docKind): \(d.name) (\(d.size) Bytes, SHA-256 \(sha.prefix(16))…)")
        }
        return req.redirect(to: "/einkauf/rahmenvertraege/\(fw.id!.uuidString)?ok=1#dokumente", redirectType: .normal)
    }

    @Sendable func document(req: Request) async throws -> Response {
        let fw = try await Self.framework(req)
        guard let id = req.parameters.get("doc", as: UUID.self), let d = try await ProcurementDocument.find(id, on: req.db), d.frameworkID == fw.id else { throw AppError.notFound }
        return try await ApplicantController.download(req, sha256: d.sha256, kind: d.fileKind, name: d.name, fallback: "dokument")
    }

    struct Upload: Content { var datei: File? }

    @Sendable func priceSheet(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        guard let id = req.parameters.get("id", as: UUID.self), let lot = try await ProcurementLot.find(id, on: req.db),
              let fw = try await ProcurementFramework.find(lot.frameworkID, on: req.db) else { throw AppError.notFound }
        do {
            guard let file = (try? req.content.decode(Upload.self))?.datei, file.data.readableBytes > 0 else {
                throw AppError.invalid("datei", de: "Bitte wählen Sie eine CSV-Datei mit dem Preisblatt aus.", en: "Please choose a CSV file with the price sheet.")
            }
            let data = Data(buffer: file.data)
            let r = try await ProcurementService.importPriceSheet(req.application, lot: id, data: data, actor: req.principal)
            return req.redirect(to: "/einkauf/rahmenvertraege/\(fw.id!.uuidString)?ok=\(r.created)-\(r.updated)-\(r.prices)#los-\(lot.number)", redirectType: .normal)
        } catch let e as AppError {
            return try await renderFramework(req, fw, error: e)
        }
    }

    // MARK: call-offs

    struct QueueView: Encodable { var rows: [ProcurementMemberController.CallOffRow]; var filter: String; var filters: [Opt]; var tenants: [String: String] }

    @Sendable func callOffs(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let en = req.lang == .en
        let filter = req.query[String.self, at: "status"] ?? CallOffStatus.submitted.rawValue
        var q = ProcurementCallOff.query(on: req.db)
        if let s = CallOffStatus(rawValue: filter) { q = q.filter(\.$status == s.rawValue) }
        let list = try await q.sort(\.$createdAt).limit(500).all()
        let names = Dictionary(try await Gebiet.query(on: req.db).filter(\.$id ~~ Array(Set(list.map(\.tenantARS)))).all().map { ($0.ars, $0.name) }, uniquingKeysWith: { a, _ in a })
        var rows = try await ProcurementMemberController.callOffRows(req.db, list, en: en) { "/einkauf/abrufe/\($0.id?.uuidString ?? "")" }
        for i in rows.indices { rows[i].supplier = "\(names[list[i].tenantARS] ?? list[i].tenantARS) · \(rows[i].supplier)" }
        let filters = [Opt(value: "alle", label: en ? "all" : "alle", selected: filter == "alle")]
            + CallOffStatus.allCases.filter { $0 != .draft }.map { Opt(value: $0.rawValue, label: en ? $0.english : $0.german, selected: $0.rawValue == filter) }
        return try await req.render("beschaffung/einkauf-abrufe", title: req.t("pr_queue_title"), QueueView(rows: rows, filter: filter, filters: filters, tenants: names))
    }

    static func callOff(_ req: Request) async throws -> ProcurementCallOff {
        try req.authorize(.procurementManage)
        return try await ProcurementMemberController.callOff(req, tenant: nil)
    }

    func renderOne(_ req: Request, _ c: ProcurementCallOff, error: AppError? = nil) async throws -> Response {
        var v = try await ProcurementMemberController.view(req, c, provider: true)
        if let error, error.field?.hasPrefix("zurueck") == true { v.creditError = error.message(req.lang) }
        let title = "\(req.t("pr_calloff")) \(c.reference)"
        if let error { return try await req.renderError("beschaffung/abruf-detail", title: title, v, error) }
        return try await req.render("beschaffung/abruf-detail", title: title, v, form: true)
    }

    @Sendable func callOff(req: Request) async throws -> Response { try await renderOne(req, try await Self.callOff(req)) }

    @Sendable func orderPDF(req: Request) async throws -> Response { try await ProcurementMemberController.pdf(req, try await Self.callOff(req)) }

    func act(_ req: Request, _ body: @escaping (ProcurementCallOff) async throws -> Void) async throws -> Response {
        let c = try await Self.callOff(req)
        do {
            try await body(c)
            return req.redirect(to: "/einkauf/abrufe/\(c.id!.uuidString)?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderOne(req, try await Self.callOff(req), error: e)
        }
    }

    @Sendable func release(req: Request) async throws -> Response {
        try await act(req) { try await ProcurementService.release(req.application, $0, actor: req.principal) }
    }

    @Sendable func reject(req: Request) async throws -> Response {
        try await act(req) { c in
            let reason = try FundingForm(req).text("begruendung", "eine Begründung", max: 1000)
            try await ProcurementService.reject(req.application, c, reason: reason, byPurchasing: true, actor: req.principal)
        }
    }

    @Sendable func confirm(req: Request) async throws -> Response {
        try await act(req) { c in
            let ref = try FundingForm(req).text("auftragsnummer", "die Auftragsnummer des Lieferanten", max: 60)
            try await ProcurementService.confirm(req.application, c, supplierReference: ref, actor: req.principal)
        }
    }

    @Sendable func deliver(req: Request) async throws -> Response {
        try await act(req) { c in
            let f = FundingForm(req)
            var q: [UUID: Int] = [:]
            for (k, v) in f.f where k.hasPrefix("geliefert_") {
                let raw = v.trimmingCharacters(in: .whitespaces)
                if raw.isEmpty || raw == "0" { continue }
                guard let id = UUID(uuidString: String(k.dropFirst(10))), let n = Int(raw), n > 0 else {
                    throw AppError.invalid(k, de: "Die gelieferte Menge „\(String(raw.prefix(12)))“ ist keine ganze Zahl größer als 0.", en: "The delivered quantity must be a whole number greater than 0.")
                }
                q[id] = n
            }
            try await ProcurementService.deliver(req.application, c, quantities: q, actor: req.principal)
        }
    }

    @Sendable func bill(req: Request) async throws -> Response {
        try await act(req) { _ = try await ProcurementBilling.bill(req.application, $0, actor: req.principal) }
    }

    @Sendable func credit(req: Request) async throws -> Response {
        try await act(req) { c in
            let f = FundingForm(req)
            let reason = try f.text("grund", "den Grund der Rücksendung", max: 500)
            var q: [UUID: Int] = [:]
            for (k, v) in f.f where k.hasPrefix("zurueck_") {
                let raw = v.trimmingCharacters(in: .whitespaces)
                if raw.isEmpty || raw == "0" { continue }
                guard let id = UUID(uuidString: String(k.dropFirst(8))), let n = Int(raw), n > 0 else {
                    throw AppError.invalid(k, de: "Die zurückgegebene Menge „\(String(raw.prefix(12)))“ ist keine ganze Zahl größer als 0.", en: "The returned quantity must be a whole number greater than 0.")
                }
                q[id] = n
            }
            _ = try await ProcurementBilling.creditNote(req.application, c, quantities: q, reason: reason, actor: req.principal)
        }
    }

    // MARK: annual contributions

    struct FeeRow: Encodable { var ars: String; var name: String; var fee: String; var vat: [Opt]; var billed: String }
    struct FeesView: Encodable { var rows: [FeeRow]; var year: String; var result: String; var skipped: String }

    func renderContributions(_ req: Request, result: String = "", skipped: String = "", error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let today = BusinessDate.today()
        let members = try await Membership.query(on: req.db).filter(\.$status ~~ ["member", "notice_given"]).all().filter { MembershipService.isEffective($0, today: today) }
        let fees = Dictionary(try await ProcurementFee.query(on: req.db).all().compactMap { f in f.id.map { ($0, f) } }, uniquingKeysWith: { a, _ in a })
        let arsList = Array(Set(members.map(\.tenantARS)).union(fees.keys))
        let names = Dictionary(try await Gebiet.query(on: req.db).filter(\.$id ~~ arsList).all().map { ($0.ars, $0.name) }, uniquingKeysWith: { a, _ in a })
        let year = String(today.prefix(4))
        let billed = Dictionary(try await ProviderInvoice.query(on: req.db).filter(\.$kind == "beitrag-\(year)").all().map { ($0.tenantARS, $0.number) }, uniquingKeysWith: { a, _ in a })
        let rows = arsList.sorted { (names[$0] ?? $0) < (names[$1] ?? $1) }.map { ars in
            let f = fees[ars]
            return FeeRow(ars: ars, name: names[ars] ?? ars, fee: f.map { Money(cents: $0.annualCents).formattedDE.replacingOccurrences(of: " €", with: "") } ?? "",
                          vat: VATRate.allowed.map { Opt(value: String($0), label: "\($0) %", selected: (f?.vatPercent ?? 19) == $0) }, billed: billed[ars] ?? "")
        }
        let v = FeesView(rows: rows, year: year, result: result, skipped: skipped)
        let title = req.t("pr_fees_title")
        _ = en
        if let error { return try await req.renderError("beschaffung/beitraege", title: title, v, error) }
        return try await req.render("beschaffung/beitraege", title: title, v, form: true)
    }

    @Sendable func contributions(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        return try await renderContributions(req)
    }

    @Sendable func saveContribution(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        let f = FundingForm(req)
        do {
            let cents = try f.money("beitrag_\(g.ars)", "den Jahresbeitrag")
            guard let vat = Int(f["ust_\(g.ars)"]), VATRate.allowed.contains(vat) else {
                throw AppError.invalid("ust_\(g.ars)", de: "Bitte wählen Sie den Umsatzsteuersatz aus der Liste.", en: "Please choose the VAT rate from the list.")
            }
            try await req.application.writeTransaction { [actor = req.principal] db in
                let existing = try await ProcurementFee.find(g.ars, on: db)
                let fee = existing ?? ProcurementFee()
                let before = existing.map { "\(Money(cents: $0.annualCents).formattedDE), \($0.vatPercent) % USt." }
                fee.id = g.ars; fee.annualCents = cents; fee.vatPercent = vat; fee.updatedBy = actor.auditActor; fee.updatedAt = Date()
                if existing == nil { try await fee.create(on: db) } else { try await fee.save(on: db) }
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "beschaffung.beitrag_festgelegt",
                                       objectType: "mitgliedsbeitrag", objectID: g.ars, before: before, after: "\(Money(cents: cents).formattedDE), \(vat) % USt.")
            }
            return req.redirect(to: "/einkauf/beitraege", redirectType: .normal)
        } catch let e as AppError {
            return try await renderContributions(req, error: e)
        }
    }

    @Sendable func billContributions(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let f = FundingForm(req)
        do {
            let year = try f.int("jahr", "das Jahr", range: 2020...2200) ?? 0
            let r = try await ProcurementBilling.billContributions(req.application, year: year, actor: req.principal)
            let en = req.lang == .en
            let result = en ? "\(r.billed.count) contribution invoice(s) for \(year) delivered." : "\(r.billed.count) Beitragsrechnung(en) für \(year) zugestellt."
            let skipped = r.skipped.isEmpty ? "" : (en ? "Not billed (Leitweg-ID or billing address missing): " : "Nicht abgerechnet (Leitweg-ID oder Rechnungsanschrift fehlt): ") + r.skipped.joined(separator: ", ")
            return try await renderContributions(req, result: result, skipped: skipped)
        } catch let e as AppError {
            return try await renderContributions(req, error: e)
        }
    }

    // MARK: invoices and seller details

    struct InvoiceRow: Encodable { var number: String; var tenant: String; var date: String; var net: String; var gross: String; var callOff: String; var link: String }

    @Sendable func invoices(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let en = req.lang == .en
        let list = try await ProviderInvoice.query(on: req.db).sort(\.$number, .descending).limit(1000).all()
        let names = Dictionary(try await Gebiet.query(on: req.db).filter(\.$id ~~ Array(Set(list.map(\.tenantARS)))).all().map { ($0.ars, $0.name) }, uniquingKeysWith: { a, _ in a })
        let ids = list.compactMap(\.callOffID)
        let refs = ids.isEmpty ? [:] : Dictionary(try await ProcurementCallOff.query(on: req.db).filter(\.$id ~~ ids).all().map { ($0.id!, $0.reference) }, uniquingKeysWith: { a, _ in a })
        let rows = list.map { i in
            InvoiceRow(number: i.number, tenant: names[i.tenantARS] ?? i.tenantARS, date: CalendarDay.display(i.issuedOn, english: en), net: Money(cents: i.netCents).formatted,
                       gross: Money(cents: i.grossCents).formatted, callOff: i.callOffID.flatMap { refs[$0] } ?? "",
                       link: i.callOffID.map { "/einkauf/abrufe/\($0.uuidString)" } ?? "")
        }
        struct V: Encodable { var rows: [InvoiceRow] }
        return try await req.render("beschaffung/einkauf-rechnungen", title: req.t("pr_invoices_title"), V(rows: rows))
    }

    struct BillingView: Encodable { var form: [String: String]; var saved: Bool }

    func renderBilling(_ req: Request, form: [String: String], error: AppError? = nil) async throws -> Response {
        let v = BillingView(form: form, saved: req.query[String.self, at: "ok"] != nil)
        let title = req.t("pr_billing_title")
        if let error { return try await req.renderError("beschaffung/rechnungssteller", title: title, v, error) }
        return try await req.render("beschaffung/rechnungssteller", title: title, v, form: true)
    }

    @Sendable func billing(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let p = try await ProviderBilling.find("anbieter", on: req.db)
        return try await renderBilling(req, form: ["name": p?.name ?? "", "strasse": p?.street ?? "", "plz": p?.postCode ?? "", "ort": p?.city ?? "",
                                                  "ustid": p?.vatID ?? "", "iban": p?.iban ?? "", "kontakt": p?.contactName ?? "", "telefon": p?.phone ?? "",
                                                  "email": p?.email ?? "", "zahlungsziel": p.map { String($0.paymentDays) } ?? "30"])
    }

    @Sendable func saveBilling(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let f = FundingForm(req)
        do {
            let name = try f.text("name", "den Namen des Dienstleisters", max: 200)
            let street = try f.text("strasse", "Straße und Hausnummer", max: 200)
            let plz = f["plz"]
            guard plz.count == 5, plz.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw AppError.invalid("plz", de: "Bitte geben Sie die Postleitzahl mit fünf Ziffern an.", en: "Please enter the five-digit postcode.")
            }
            let city = try f.text("ort", "den Ort", max: 100)
            let vat = f["ustid"].uppercased().filter { !$0.isWhitespace }
            guard vat.count >= 4, vat.count <= 14, vat.prefix(2).allSatisfy(\.isLetter) else {
                throw AppError.invalid("ustid", de: "Die USt-IdNr. beginnt mit dem Ländercode, z. B. DE123456789.", en: "The VAT ID starts with the country code, e.g. DE123456789.")
            }
            let iban = f["iban"].uppercased().filter { !$0.isWhitespace }
            guard iban.count >= 15, IBAN.isValid(iban) else {
                throw AppError.invalid("iban", de: "Die IBAN ist nicht gültig. Bitte prüfen Sie Länge und Prüfziffer.", en: "The IBAN is not valid.")
            }
            let contact = try f.text("kontakt", "eine Ansprechperson", max: 100)
            let phone = try f.text("telefon", "eine Telefonnummer", max: 40)
            let mail = try TextInput.email(f["email"], field: "email") ?? ""
            let days = try f.int("zahlungsziel", "das Zahlungsziel in Tagen", range: 0...120) ?? 30
            try await req.application.writeTransaction { [actor = req.principal] db in
                let existing = try await ProviderBilling.find("anbieter", on: db)
                let p = existing ?? ProviderBilling()
                let fields: (ProviderBilling) -> [(String, String)] = {
                    [("Name", $0.name), ("Anschrift", "\($0.street), \($0.postCode) \($0.city)"), ("USt-IdNr.", $0.vatID), ("IBAN", $0.iban),
                     ("Ansprechperson", "\($0.contactName), \($0.phone), \($0.email)"), ("Zahlungsziel", "\($0.paymentDays) Tage")]
                }
                let before = existing.map { AuditFields.encode(fields($0)) }
                p.id = "anbieter"; p.name = name; p.street = street; p.postCode = plz; p.city = city; p.vatID = vat; p.iban = iban
                p.contactName = contact; p.phone = phone; p.email = mail; p.paymentDays = days; p.updatedBy = actor.auditActor; p.updatedAt = Date()
                if existing == nil { try await p.create(on: db) } else { try await p.save(on: db) }
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "beschaffung.rechnungssteller",
                                       objectType: "rechnungssteller", objectID: "anbieter", before: before, after: AuditFields.encode(fields(p)))
            }
            return req.redirect(to: "/einkauf/rechnungssteller?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderBilling(req, form: f.f, error: e)
        }
    }
}
