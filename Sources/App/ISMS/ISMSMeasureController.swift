import Documents
import Fluent
import Forms
import Foundation
import ISMS
import RathausCore
import Vapor

/// A tenant's measures (`/mandanten/<ARS>/isms/massnahmen`), the council report as PDF and the CSV
/// of its state (`/mandanten/<ARS>/isms/bericht.pdf`, `…/stand.csv`), and the structure inventory
/// (`/mandanten/<ARS>/isms/struktur`).
struct ISMSMeasureController {
    func addRoutes(to app: any RoutesBuilder) {
        let t = app.grouped("mandanten", ":ars", "isms")
        t.get("massnahmen", use: list)
        t.post("massnahmen", use: create)
        t.post("massnahmen", "foerderantrag", use: funding)
        t.get("massnahmen", ":id", use: show)
        t.post("massnahmen", ":id", use: update)
        t.get("bericht.pdf", use: report)
        t.get("stand.csv", use: csv)
        t.on(.POST, "anforderungen", ":req", "nachweise", body: .stream, use: uploadEvidence)
        t.get("nachweise", ":id", use: evidence)
        t.get("struktur", use: inventory)
        t.post("struktur", use: addInventory)
        t.post("struktur", ":id", "loeschen", use: removeInventory)
    }

    struct Opt: Encodable { var value: String; var label: String; var selected: Bool }
    struct MeasureRow: Encodable {
        var id: String; var requirement: String; var requirementTitle: String; var title: String; var owner: String; var due: String; var overdue: Bool
        var status: String; var open: Bool; var cost: String; var funding: String; var selectable: Bool; var link: String
    }
    struct ListView: Encodable {
        var ars: String; var name: String; var rows: [MeasureRow]; var canEdit: Bool; var canFund: Bool; var openCost: String; var openCount: Int
        var requirements: [Opt]; var people: [Opt]; var statuses: [Opt]; var form: [String: String]; var saved: Bool; var hasCatalogue: Bool
    }

    static func names(_ people: [User]) -> [UUID: String] {
        Dictionary(people.compactMap { u in u.id.map { ($0, u.name) } }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: list and create

    @Sendable func list(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsView)
        var form: [String: String] = [:]
        if let r = req.query[String.self, at: "anforderung"] { form["anforderung"] = String(r.prefix(40)) }
        return try await render(req, g, form: form)
    }

    func render(_ req: Request, _ g: Gebiet, form: [String: String] = [:], error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let ws = try await ISMSService.workspace(req.db, tenant: g.ars)
        let people = try await ISMSService.staff(req.db, tenant: g.ars)
        let names = Self.names(people)
        let today = BusinessDate.today()
        let measures = try await ISMSMeasure.query(on: req.db).filter(\.$tenantARS == g.ars).sort(\.$dueOn).sort(\.$title).all()
        let titles = Dictionary((ws?.catalogue.requirements ?? []).map { ($0.id, $0.title) }, uniquingKeysWith: { a, _ in a })
        let rows = measures.map { m -> MeasureRow in
            let s = MeasureStatus(rawValue: m.status) ?? .planned
            return MeasureRow(id: m.id?.uuidString ?? "", requirement: m.requirementID, requirementTitle: titles[m.requirementID] ?? "", title: m.title,
                              owner: UUID(uuidString: m.owner).flatMap { names[$0] } ?? "–", due: CalendarDay.display(m.dueOn, english: en),
                              overdue: s.isOpen && m.dueOn < today, status: en ? s.english : s.german, open: s.isOpen,
                              cost: m.costCents > 0 ? Money(cents: m.costCents).formatted : "–", funding: m.fundingReference,
                              selectable: s.isOpen && m.costCents > 0 && m.fundingReference.isEmpty, link: "/mandanten/\(g.ars)/isms/massnahmen/\(m.id?.uuidString ?? "")")
        }
        // gaps first: requirements the tenant has not fulfilled and the provider does not cover
        let gaps = (ws?.items ?? []).filter { !$0.effective.inherited && [.open, .partly, .notFulfilled].contains($0.effective.status) }
        let open = measures.filter { MeasureStatus(rawValue: $0.status)?.isOpen == true }
        let view = ListView(
            ars: g.ars, name: g.name, rows: rows, canEdit: req.can(.ismsEdit, tenant: g.ars),
            canFund: req.can(.fundingApply, tenant: g.ars) && rows.contains { $0.selectable },
            openCost: Money(cents: open.reduce(0) { $0 + $1.costCents }).formatted, openCount: open.count,
            requirements: gaps.map { Opt(value: $0.requirement.id, label: "\($0.requirement.id) \($0.requirement.title)", selected: form["anforderung"] == $0.requirement.id) },
            people: people.map { Opt(value: $0.id?.uuidString ?? "", label: $0.name, selected: form["verantwortlich"] == $0.id?.uuidString) },
            statuses: MeasureStatus.allCases.map { Opt(value: $0.rawValue, label: en ? $0.english : $0.german, selected: form["status"] == $0.rawValue) },
            form: form, saved: req.query[String.self, at: "ok"] != nil, hasCatalogue: ws != nil)
        let title = req.t("is_measures_title")
        if let error { return try await req.renderError("isms/massnahmen", title: title, view, error) }
        return try await req.render("isms/massnahmen", title: title, view, form: true)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsEdit)
        let f = FundingForm(req)
        do {
            guard let (catalogue, _) = try await ISMSService.current(req.db) else { throw AppError.notFound }
            let people = try await ISMSService.staff(req.db, tenant: g.ars)
            let input = try ISMSMeasures.read(f, staff: people, catalogue: catalogue, requireStatus: false)
            _ = try await ISMSMeasures.save(req.application, tenant: g.ars, id: nil, input: input, names: Self.names(people), actor: req.principal)
            return req.redirect(to: "/mandanten/\(g.ars)/isms/massnahmen?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await render(req, g, form: f.f, error: e)
        }
    }

    struct FundingSelection: Content { var massnahme: [String]? }

    @Sendable func funding(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsEdit)
        try req.authorize(.fundingApply, tenant: g.ars)
        let chosen = ((try? req.content.decode(FundingSelection.self))?.massnahme ?? []).prefix(200)
        do {
            let ids = chosen.compactMap(UUID.init(uuidString:))
            guard !ids.isEmpty, ids.count == chosen.count else {
                throw AppError.invalid("massnahme", de: "Bitte wählen Sie mindestens eine Maßnahme für den Förderantrag aus.", en: "Please choose at least one measure for the funding application.")
            }
            let id = try await ISMSMeasures.draftFunding(req.application, tenant: g, measureIDs: ids, actor: req.principal)
            return req.redirect(to: "/foerderung/antraege/\(id)?ok=gespeichert", redirectType: .normal)
        } catch let e as AppError {
            return try await render(req, g, error: e)
        }
    }

    // MARK: one measure

    struct MeasureView: Encodable {
        var ars: String; var name: String; var id: String; var title: String; var requirement: String; var canEdit: Bool; var funding: String
        var requirements: [Opt]; var people: [Opt]; var statuses: [Opt]; var form: [String: String]; var saved: Bool
    }

    static func measure(_ req: Request, _ g: Gebiet) async throws -> ISMSMeasure {
        guard let id = req.parameters.get("id", as: UUID.self), let m = try await ISMSMeasure.find(id, on: req.db), m.tenantARS == g.ars else { throw AppError.notFound }
        return m
    }

    @Sendable func show(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsView)
        let m = try await Self.measure(req, g)
        let f = ["anforderung": m.requirementID, "titel": m.title, "verantwortlich": m.owner, "faellig": CalendarDay.display(m.dueOn),
                 "kosten": m.costCents > 0 ? Money(cents: m.costCents).formattedDE.replacingOccurrences(of: " €", with: "") : "", "status": m.status]
        return try await renderOne(req, g, m, form: f)
    }

    func renderOne(_ req: Request, _ g: Gebiet, _ m: ISMSMeasure, form: [String: String], error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let catalogue = try await ISMSService.current(req.db)?.0
        let people = try await ISMSService.staff(req.db, tenant: g.ars)
        let view = MeasureView(
            ars: g.ars, name: g.name, id: m.id?.uuidString ?? "", title: m.title, requirement: m.requirementID, canEdit: req.can(.ismsEdit, tenant: g.ars),
            funding: m.fundingReference,
            requirements: (catalogue?.requirements ?? []).map { Opt(value: $0.id, label: "\($0.id) \($0.title)", selected: form["anforderung"] == $0.id) },
            people: people.map { Opt(value: $0.id?.uuidString ?? "", label: $0.name, selected: form["verantwortlich"] == $0.id?.uuidString) },
            statuses: MeasureStatus.allCases.map { Opt(value: $0.rawValue, label: en ? $0.english : $0.german, selected: form["status"] == $0.rawValue) },
            form: form, saved: req.query[String.self, at: "ok"] != nil)
        let title = "\(req.t("is_measure")): \(m.title)"
        if let error { return try await req.renderError("isms/massnahme", title: title, view, error) }
        return try await req.render("isms/massnahme", title: title, view, form: true)
    }

    @Sendable func update(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsEdit)
        let m = try await Self.measure(req, g)
        let f = FundingForm(req)
        do {
            guard let (catalogue, _) = try await ISMSService.current(req.db) else { throw AppError.notFound }
            let people = try await ISMSService.staff(req.db, tenant: g.ars)
            let input = try ISMSMeasures.read(f, staff: people, catalogue: catalogue, requireStatus: true)
            _ = try await ISMSMeasures.save(req.application, tenant: g.ars, id: m.id, input: input, names: Self.names(people), actor: req.principal)
            return req.redirect(to: "/mandanten/\(g.ars)/isms/massnahmen/\(m.id?.uuidString ?? "")?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderOne(req, g, m, form: f.f, error: e)
        }
    }

    // MARK: report and CSV

    /// The council report (Gemeinderat): state, progress per topic, open basic requirements,
    /// measures with owners and costs — German, A4, PDF/A like every document of the platform.
    @Sendable func report(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsView)
        guard let ws = try await ISMSService.workspace(req.db, tenant: g.ars) else { throw AppError.notFound }
        let people = try await ISMSService.staff(req.db, tenant: g.ars)
        let names = Self.names(people)
        let officer = try await ISMSOfficer.find(g.ars, on: req.db)
        let measures = try await ISMSMeasure.query(on: req.db).filter(\.$tenantARS == g.ars).sort(\.$dueOn).all()
        @Sendable func pct(_ p: CatalogueProgress) -> String { "\(p.permille / 10),\(p.permille % 10) %" }
        var body: [Block] = [
            .facts([("Verwaltung", g.name), ("Stand vom", CalendarDay.display(BusinessDate.today())),
                    ("Prüfkatalog", "\(ws.catalogue.title), Version \(ws.version.version)"),
                    ("Informationssicherheitsbeauftragte(r)", officer?.isbUserID.flatMap { names[$0] } ?? "nicht benannt"),
                    ("Vertretung", officer?.deputyUserID.flatMap { names[$0] } ?? "nicht benannt"),
                    ("Erfüllt", "\(pct(ws.progress)) (\(ws.progress.fulfilled) von \(ws.progress.applicable) zutreffenden Anforderungen)"),
                    ("Davon durch den IT-Dienstleister", "\(ws.progress.inherited)"),
                    ("Offene Basis-Anforderungen", "\(ws.progress.criticalOpen)")]),
            .spacer(8), .heading("Stand je Thema"),
            .table(Table(columns: [.init("Thema", width: 0.6), .init("Erfüllt", width: 0.2, alignment: .right), .init("Offene Basis-Anf.", width: 0.2, alignment: .right)],
                         rows: ws.byTopic.map { [$0.0.title, pct($0.1), "\($0.1.criticalOpen)"] })),
        ]
        let gaps = ws.items.filter { !$0.effective.inherited && $0.requirement.level == .basic && [.open, .partly, .notFulfilled].contains($0.effective.status) }
        body.append(.spacer(8)); body.append(.heading("Offene Basis-Anforderungen"))
        if gaps.isEmpty { body.append(.paragraph("Keine – alle Basis-Anforderungen sind erfüllt oder entbehrlich.")) } else {
            body.append(.table(Table(columns: [.init("Kennung", width: 0.15), .init("Anforderung", width: 0.6), .init("Stand", width: 0.25)],
                                     rows: gaps.map { [$0.requirement.id, $0.requirement.title, $0.effective.status.german] })))
        }
        body.append(.spacer(8)); body.append(.heading("Maßnahmen"))
        if measures.isEmpty { body.append(.paragraph("Noch keine Maßnahmen geplant.")) } else {
            body.append(.table(Table(columns: [.init("Maßnahme", width: 0.38), .init("Verantwortlich", width: 0.2), .init("Fällig", width: 0.13), .init("Stand", width: 0.13), .init("Kosten", width: 0.16, alignment: .right)],
                                     rows: measures.map { m in ["\(m.requirementID): \(m.title)", UUID(uuidString: m.owner).flatMap { names[$0] } ?? "–", CalendarDay.display(m.dueOn),
                                                                MeasureStatus(rawValue: m.status)?.german ?? m.status, m.costCents > 0 ? Money(cents: m.costCents).formattedDE : "–"] })))
            let open = measures.filter { MeasureStatus(rawValue: $0.status)?.isOpen == true }.reduce(Int64(0)) { $0 + $1.costCents }
            body.append(.paragraph("Geschätzte Kosten der offenen Maßnahmen: \(Money(cents: open).formattedDE)"))
        }
        let r = Report(title: "Bericht zur Informationssicherheit", subtitle: "\(g.name) – Vorlage für den Gemeinderat", body: body,
                       footer: "Erstellt mit Rathaus am \(CalendarDay.display(BusinessDate.today()))")
        let pdf = try PDFRenderer.render(r, info: DocumentInfo(title: "Bericht zur Informationssicherheit \(g.name)", author: g.name))
        try await req.application.writeTransaction { [actor = req.principal] db in
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "isms.report",
                                   objectType: "isms_report", objectID: g.ars, before: nil, after: "Bericht für den Gemeinderat (\(pct(ws.progress)))")
        }
        let res = Response(status: .ok, body: .init(data: pdf))
        res.headers.contentType = .init(type: "application", subType: "pdf")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "inline; filename=\"isms-bericht-\(g.ars).pdf\"")
        return res
    }

    /// Every requirement with its status, who answered and the measures: for the tenant's own records.
    @Sendable func csv(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsView)
        guard let ws = try await ISMSService.workspace(req.db, tenant: g.ars) else { throw AppError.notFound }
        let measures = Dictionary(grouping: try await ISMSMeasure.query(on: req.db).filter(\.$tenantARS == g.ars).all(), by: \.requirementID)
        var lines = [["Thema", "Kennung", "Anforderung", "Stufe", "Stand", "Durch Dienstleister", "Begründung", "Verantwortlich", "Geändert am", "Maßnahmen"]]
        for it in ws.items {
            lines.append([it.topic.title, it.requirement.id, it.requirement.title, it.requirement.level.german, it.effective.status.german,
                          it.effective.inherited ? "ja" : "nein", it.answer?.justification ?? "", it.answer?.responsible ?? "",
                          it.answer.map { GermanTime.format($0.updatedAt, english: false) } ?? "",
                          (measures[it.requirement.id] ?? []).map { "\($0.title) (\(MeasureStatus(rawValue: $0.status)?.german ?? $0.status), fällig \(CalendarDay.display($0.dueOn)))" }.joined(separator: "; ")])
        }
        let res = Response(status: .ok, body: .init(string: CSV.document(lines, delimiter: ";")))
        res.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"isms-stand-\(g.ars).csv\"")
        return res
    }

    // MARK: evidence files

    static let evidenceKinds: [FileKind] = [.pdf, .odt, .docx, .png, .jpeg]

    /// An evidence file for a requirement (PDF, ODT, DOCX, PNG, JPEG; at most 20 MB), streamed into
    /// the shared file store, listed on the requirement's page, audited.
    @Sendable func uploadEvidence(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsEdit)
        guard let (catalogue, _) = try await ISMSService.current(req.db), let r = catalogue.requirement(req.parameters.get("req") ?? "") else { throw AppError.notFound }
        func fail(_ de: String, _ en: String) async throws -> Response {
            try await ISMSController().renderRequirement(req, g, form: nil, error: AppError(.unprocessableEntity, "isms.evidence", de: de, en: en, field: "nachweis"))
        }
        guard req.headers.contentType?.type == "multipart" else { return try await fail("Bitte wählen Sie eine Datei aus.", "Please choose a file.") }
        let form = try await StreamedUpload.read(req, maxFileBytes: 20 * 1024 * 1024, maxFiles: 1, accept: { $0 == "nachweis" ? Self.evidenceKinds : nil })
        if let problem = form.files.compactMap(\.error).first { return try await fail(problem.message, problem.message) }
        guard let file = form.files.first, let sha = file.sha256, let kind = file.kind else {
            return try await fail("Bitte wählen Sie eine Datei aus (PDF, ODT, DOCX, PNG oder JPEG, höchstens 20 MB).", "Please choose a file (PDF, ODT, DOCX, PNG or JPEG, at most 20 MB).")
        }
        let actor = req.principal
        try await req.application.writeTransaction { db in
            guard try await ISMSEvidence.query(on: db).filter(\.$tenantARS == g.ars).count() < 2_000 else {
                throw AppError(.unprocessableEntity, "isms.evidence_count", de: "Eine Verwaltung kann höchstens 2.000 Nachweise ablegen.", en: "A tenant can keep at most 2,000 evidence files.")
            }
            let e = ISMSEvidence()
            e.tenantARS = g.ars; e.requirementID = r.id; e.name = String(file.name.prefix(200)); e.fileKind = kind.rawValue; e.size = file.size
            e.sha256 = sha; e.uploadedBy = actor.auditActor; e.createdAt = Date()
            try await e.create(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "isms.evidence",
                                   objectType: "isms_requirement", objectID: r.id, before: nil, after: "\(e.name) (\(e.size) Bytes, SHA-256 \(sha.prefix(16))…)")
        }
        return req.redirect(to: "/mandanten/\(g.ars)/isms/anforderungen/\(r.id)?ok=1#nachweise", redirectType: .normal)
    }

    @Sendable func evidence(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsView)
        guard let id = req.parameters.get("id", as: UUID.self), let e = try await ISMSEvidence.find(id, on: req.db), e.tenantARS == g.ars else { throw AppError.notFound }
        return try await ApplicantController.download(req, sha256: e.sha256, kind: e.fileKind, name: e.name, fallback: "nachweis")
    }

    // MARK: structure inventory

    static let kinds = ["standort", "system", "anwendung"]
    static func kindLabel(_ k: String, _ en: Bool) -> String {
        switch k {
        case "standort": en ? "Location" : "Standort"
        case "system": en ? "IT system" : "IT-System"
        default: en ? "Application" : "Anwendung"
        }
    }

    struct InventoryRow: Encodable { var id: String; var kind: String; var name: String; var description: String; var topics: String; var provider: Bool }
    struct TopicOpt: Encodable { var id: String; var title: String; var checked: Bool }
    struct InventoryView: Encodable {
        var ars: String; var name: String; var rows: [InventoryRow]; var canEdit: Bool; var kinds: [Opt]; var topics: [TopicOpt]; var form: [String: String]; var saved: Bool
    }

    @Sendable func inventory(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsView)
        return try await renderInventory(req, g)
    }

    func renderInventory(_ req: Request, _ g: Gebiet, form: [String: String] = [:], topics chosen: Set<String> = [], error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let catalogue = try await ISMSService.current(req.db)?.0
        let topicTitle = Dictionary((catalogue?.topics ?? []).map { ($0.id, $0.title) }, uniquingKeysWith: { a, _ in a })
        func titles(_ ids: [String]) -> String { ids.map { topicTitle[$0] ?? $0 }.joined(separator: ", ") }
        // what the provider runs for the tenant, live from what it uses; its topics are those of the declared controls
        let used = try await ISMSService.usedServices(req.db, tenant: g.ars)
        let controls = try await ISMSService.controls(req.db)
        var rows: [InventoryRow] = used.sorted().map { s in
            let topics = Set(controls.filter { $0.service == s }.compactMap { c in catalogue?.topics.first { $0.requirements.contains { $0.id == c.requirementID } }?.id })
            return InventoryRow(id: "", kind: Self.kindLabel("anwendung", en), name: ISMSService.serviceName(s),
                                description: en ? "run by the IT service provider" : "betrieben vom IT-Dienstleister", topics: titles(topics.sorted()), provider: true)
        }
        for i in try await ISMSInventoryItem.query(on: req.db).filter(\.$tenantARS == g.ars).sort(\.$kind).sort(\.$name).all() {
            rows.append(InventoryRow(id: i.id?.uuidString ?? "", kind: Self.kindLabel(i.kind, en), name: i.name, description: i.description,
                                     topics: titles(i.topics.split(separator: ",").map(String.init)), provider: false))
        }
        let view = InventoryView(ars: g.ars, name: g.name, rows: rows, canEdit: req.can(.ismsEdit, tenant: g.ars),
                                 kinds: Self.kinds.map { Opt(value: $0, label: Self.kindLabel($0, en), selected: form["art"] == $0) },
                                 topics: (catalogue?.topics ?? []).map { TopicOpt(id: $0.id, title: $0.title, checked: chosen.contains($0.id)) },
                                 form: form, saved: req.query[String.self, at: "ok"] != nil)
        let title = req.t("is_inventory_title")
        if let error { return try await req.renderError("isms/struktur", title: title, view, error) }
        return try await req.render("isms/struktur", title: title, view, form: true)
    }

    struct InventoryForm: Content { var art: String?; var name: String?; var beschreibung: String?; var thema: [String]? }

    @Sendable func addInventory(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsEdit)
        let input = (try? req.content.decode(InventoryForm.self)) ?? InventoryForm()
        let f = FundingForm(["art": input.art ?? "", "name": input.name ?? "", "beschreibung": input.beschreibung ?? ""])
        let chosen = Set((input.thema ?? []).prefix(100))
        do {
            guard Self.kinds.contains(f["art"]) else { throw AppError.invalid("art", de: "Bitte wählen Sie, ob es ein Standort, ein IT-System oder eine Anwendung ist.", en: "Please choose location, IT system or application.") }
            let name = try f.text("name", "den Namen", max: 200)
            let description = try f.text("beschreibung", "die Beschreibung", max: 1_000, required: false)
            let catalogue = try await ISMSService.current(req.db)?.0
            let valid = Set((catalogue?.topics ?? []).map(\.id))
            guard !chosen.isEmpty, chosen.isSubset(of: valid) else {
                throw AppError.invalid("thema", de: "Bitte wählen Sie mindestens ein Thema des Katalogs, das für diesen Eintrag gilt.", en: "Please choose at least one catalogue topic that applies.")
            }
            let actor = req.principal
            try await req.application.writeTransaction { db in
                guard try await ISMSInventoryItem.query(on: db).filter(\.$tenantARS == g.ars).count() < 500 else {
                    throw AppError(.unprocessableEntity, "isms.inventory", de: "Die Strukturübersicht kann höchstens 500 Einträge haben.", en: "The inventory can have at most 500 entries.")
                }
                let i = ISMSInventoryItem()
                i.tenantARS = g.ars; i.kind = f["art"]; i.name = name; i.description = description; i.topics = chosen.sorted().joined(separator: ",")
                i.createdBy = actor.auditActor; i.createdAt = Date()
                try await i.create(on: db)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "isms.inventory",
                                       objectType: "isms_inventory", objectID: try i.requireID().uuidString, before: nil,
                                       after: AuditFields.encode([("Art", Self.kindLabel(i.kind, false)), ("Name", name), ("Themen", i.topics)]))
            }
            return req.redirect(to: "/mandanten/\(g.ars)/isms/struktur?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderInventory(req, g, form: f.f, topics: chosen, error: e)
        }
    }

    @Sendable func removeInventory(req: Request) async throws -> Response {
        let g = try await ISMSController.tenant(req, .ismsEdit)
        guard let id = req.parameters.get("id", as: UUID.self) else { throw AppError.notFound }
        let actor = req.principal
        try await req.application.writeTransaction { db in
            guard let i = try await ISMSInventoryItem.find(id, on: db), i.tenantARS == g.ars else { throw AppError.notFound }
            try await i.delete(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: g.ars, action: "isms.inventory_removed",
                                   objectType: "isms_inventory", objectID: id.uuidString, before: i.name, after: nil)
        }
        return req.redirect(to: "/mandanten/\(g.ars)/isms/struktur?ok=1", redirectType: .normal)
    }
}
