import Fluent
import Foundation
import ISMS
import RathausCore
import Vapor

/// The ISMS pages: the tenant's workspace and each requirement (`/mandanten/<ARS>/isms`), the
/// catalogue and the provider's controls (`/betrieb/isms`), the state-wide picture (`/isms/uebersicht`).
struct ISMSController {
    func addRoutes(to app: any RoutesBuilder) {
        let t = app.grouped("mandanten", ":ars", "isms")
        t.get(use: workspace)
        t.post("beauftragte", use: officers)
        t.get("anforderungen", ":req", use: requirement)
        t.post("anforderungen", ":req", use: answer)
        app.get("betrieb", "isms", use: manage)
        app.on(.POST, "betrieb", "isms", "katalog", body: .collect(maxSize: "3mb"), use: importCatalogue)
        app.post("betrieb", "isms", "startkatalog", use: importStarter)
        app.post("betrieb", "isms", "leistungen", use: declare)
        app.post("betrieb", "isms", "leistungen", ":id", "loeschen", use: undeclare)
        app.get("isms", "uebersicht", use: overview)
    }

    static func statusLabel(_ s: RequirementStatus) -> String { DisplayLanguage.english ? s.english : s.german }
    static func percent(_ permille: Int) -> String {
        let p = "\(permille / 10)\(DisplayLanguage.english ? "." : ",")\(permille % 10)"
        return DisplayLanguage.english ? "\(p) %" : "\(p) %"
    }

    // MARK: workspace

    struct Row: Encodable { var id: String; var title: String; var level: String; var status: String; var statusKey: String; var inherited: Bool; var changed: Bool; var link: String }
    struct TopicView: Encodable { var id: String; var title: String; var percent: String; var bar: Int; var y: Int; var labelY: Int; var criticalOpen: Int; var rows: [Row] }
    struct Person: Encodable { var id: String; var name: String; var selectedISB: Bool; var selectedDeputy: Bool }
    struct Change: Encodable { var id: String; var title: String }
    struct WorkspaceView: Encodable {
        var ars: String; var name: String; var hasCatalogue: Bool; var catalogueTitle: String; var version: Int; var demo: Bool; var source: String
        var isb: String; var deputy: String; var people: [Person]; var canEdit: Bool
        var percent: String; var total: Int; var applicable: Int; var fulfilled: Int; var inherited: Int; var criticalOpen: Int
        var topics: [TopicView]; var chartHeight: Int; var services: [String]
        var added: [Change]; var changed: [Change]; var removed: [Change]; var hasChanges: Bool; var saved: Bool
    }

    static func tenant(_ req: Request, _ action: Action) async throws -> Gebiet {
        let g = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(action, tenant: g.ars)
        return g
    }

    @Sendable func workspace(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .ismsView)
        return try await renderWorkspace(req, g)
    }

    func renderWorkspace(_ req: Request, _ g: Gebiet, error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let ws = try await ISMSService.workspace(req.db, tenant: g.ars)
        let officer = try await ISMSOfficer.find(g.ars, on: req.db)
        let people = try await ISMSService.staff(req.db, tenant: g.ars)
        func name(_ id: UUID?) -> String { id.flatMap { i in people.first { $0.id == i }?.name } ?? "" }
        var topics: [TopicView] = []
        var added: [Change] = [], changed: [Change] = [], removed: [Change] = []
        if let ws {
            let byTopic = Dictionary(grouping: ws.items, by: { $0.topic.id })
            for (i, (t, p)) in ws.byTopic.enumerated() {
                let rows = (byTopic[t.id] ?? []).map { it in
                    Row(id: it.requirement.id, title: it.requirement.title, level: en ? it.requirement.level.english : it.requirement.level.german,
                        status: it.effective.inherited ? req.t("is_inherited_status") : Self.statusLabel(it.effective.status),
                        statusKey: it.effective.status.rawValue, inherited: it.effective.inherited, changed: it.changedSinceAnswer,
                        link: "/mandanten/\(g.ars)/isms/anforderungen/\(it.requirement.id)")
                }
                topics.append(TopicView(id: t.id, title: t.title, percent: Self.percent(p.permille), bar: p.permille * 400 / 1000,
                                        y: i * 22 + 4, labelY: i * 22 + 17, criticalOpen: p.criticalOpen, rows: rows))
            }
            if ws.version.version > 1, let old = try await ISMSService.version(req.db, ws.version.version - 1) {
                let d = CatalogueDiff(from: old, to: ws.catalogue)
                added = d.added.compactMap { id in ws.catalogue.requirement(id).map { Change(id: id, title: $0.title) } }
                changed = d.changed.compactMap { id in ws.catalogue.requirement(id).map { Change(id: id, title: $0.title) } }
                removed = d.removed.compactMap { id in old.requirement(id).map { Change(id: id, title: $0.title) } }
            }
        }
        let p = ws?.progress ?? CatalogueProgress()
        let view = WorkspaceView(
            ars: g.ars, name: g.name, hasCatalogue: ws != nil, catalogueTitle: ws?.catalogue.title ?? "", version: ws?.version.version ?? 0,
            demo: ws?.version.demo ?? false, source: ws?.catalogue.source ?? "",
            isb: name(officer?.isbUserID), deputy: name(officer?.deputyUserID),
            people: people.map { Person(id: $0.id?.uuidString ?? "", name: $0.name, selectedISB: $0.id == officer?.isbUserID, selectedDeputy: $0.id == officer?.deputyUserID) },
            canEdit: req.can(.ismsEdit, tenant: g.ars),
            percent: Self.percent(p.permille), total: p.total, applicable: p.applicable, fulfilled: p.fulfilled, inherited: p.inherited, criticalOpen: p.criticalOpen,
            topics: topics, chartHeight: topics.count * 22 + 8, services: (ws?.used ?? []).sorted().map(ISMSService.serviceName),
            added: added, changed: changed, removed: removed, hasChanges: !(added.isEmpty && changed.isEmpty && removed.isEmpty),
            saved: req.query[String.self, at: "ok"] != nil)
        let title = req.t("is_title")
        if let error { return try await req.renderError("isms/arbeitsbereich", title: title, view, error) }
        return try await req.render("isms/arbeitsbereich", title: title, view, form: true)
    }

    @Sendable func officers(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .ismsEdit)
        let f = FundingForm(req)
        do {
            func id(_ key: String) throws -> UUID? {
                let v = f[key]
                if v.isEmpty { return nil }
                guard let u = UUID(uuidString: v) else { throw AppError.invalid(key, de: "Bitte wählen Sie eine Person aus der Liste.", en: "Please choose a person from the list.") }
                return u
            }
            let isb = try id("isb")
            guard isb != nil else { throw AppError.invalid("isb", de: "Bitte wählen Sie die oder den Informationssicherheitsbeauftragten aus.", en: "Please choose the information security officer.") }
            try await ISMSService.setOfficers(req.application, tenant: g.ars, isb: isb, deputy: try id("vertretung"), actor: req.principal)
            return req.redirect(to: "/mandanten/\(g.ars)/isms?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderWorkspace(req, g, error: e)
        }
    }

    // MARK: requirement

    struct HistoryRow: Encodable { var revision: Int; var at: String; var who: String; var status: String; var justification: String; var note: String }
    struct Control: Encodable { var service: String; var evidence: String }
    struct StatusOption: Encodable { var value: String; var label: String; var checked: Bool }
    struct RequirementView: Encodable {
        var ars: String; var name: String; var id: String; var title: String; var text: String; var hints: String; var evidence: String
        var level: String; var topic: String; var status: String; var inherited: Bool; var controls: [Control]; var changed: Bool
        var options: [StatusOption]; var justification: String; var note: String; var responsible: String; var canEdit: Bool
        var history: [HistoryRow]; var saved: Bool; var files: [EvidenceRow]
    }
    struct EvidenceRow: Encodable { var id: String; var name: String; var size: String; var at: String; var who: String }

    @Sendable func requirement(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .ismsView)
        return try await renderRequirement(req, g, form: nil)
    }

    func renderRequirement(_ req: Request, _ g: Gebiet, form: FundingForm?, error: AppError? = nil) async throws -> Response {
        guard let ws = try await ISMSService.workspace(req.db, tenant: g.ars),
              let it = ws.items.first(where: { $0.requirement.id == req.parameters.get("req") }) else { throw AppError.notFound }
        let en = req.lang == .en
        let versions = try await ISMSAnswerVersion.query(on: req.db).filter(\.$tenantARS == g.ars).filter(\.$requirementID == it.requirement.id)
            .sort(\.$revision, .descending).limit(100).all()
        let files = try await ISMSEvidence.query(on: req.db).filter(\.$tenantARS == g.ars).filter(\.$requirementID == it.requirement.id).sort(\.$createdAt, .descending).limit(200).all()
        let people = try await ActorNames.load(versions.map(\.changedBy) + files.map(\.uploadedBy), on: req.db)
        let own = it.answer.flatMap { RequirementStatus(rawValue: $0.status) }
        let chosen = form.map { $0["status"] } ?? own?.rawValue ?? ""
        let view = RequirementView(
            ars: g.ars, name: g.name, id: it.requirement.id, title: it.requirement.title, text: it.requirement.text, hints: it.requirement.hints,
            evidence: it.requirement.evidence, level: en ? it.requirement.level.english : it.requirement.level.german, topic: it.topic.title,
            status: it.effective.inherited ? req.t("is_inherited_status") : Self.statusLabel(it.effective.status), inherited: it.effective.inherited,
            controls: it.inheritedFrom.map { Control(service: ISMSService.serviceName($0.service), evidence: $0.evidence) }, changed: it.changedSinceAnswer,
            options: RequirementStatus.allCases.map { StatusOption(value: $0.rawValue, label: Self.statusLabel($0), checked: $0.rawValue == chosen) },
            justification: form?["begruendung"] ?? it.answer?.justification ?? "", note: form?["notiz"] ?? it.answer?.note ?? "",
            responsible: form?["verantwortlich"] ?? it.answer?.responsible ?? "", canEdit: req.can(.ismsEdit, tenant: g.ars),
            history: versions.map { v in
                HistoryRow(revision: v.revision, at: GermanTime.format(v.changedAt), who: people.display(v.changedBy),
                           status: RequirementStatus(rawValue: v.status).map(Self.statusLabel) ?? v.status, justification: v.justification, note: v.note)
            },
            saved: req.query[String.self, at: "ok"] != nil,
            files: files.map { f in
                EvidenceRow(id: f.id?.uuidString ?? "", name: f.name, size: f.size >= 1_048_576 ? "\(f.size / 1_048_576) MB" : "\(max(1, f.size / 1024)) KB",
                            at: GermanTime.format(f.createdAt), who: people.display(f.uploadedBy))
            })
        let title = "\(it.requirement.id) \(it.requirement.title)"
        if let error { return try await req.renderError("isms/anforderung", title: title, view, error) }
        return try await req.render("isms/anforderung", title: title, view, form: true)
    }

    @Sendable func answer(req: Request) async throws -> Response {
        let g = try await Self.tenant(req, .ismsEdit)
        let f = FundingForm(req)
        guard let (catalogue, row) = try await ISMSService.current(req.db),
              let r = catalogue.requirement(req.parameters.get("req") ?? "") else { throw AppError.notFound }
        do {
            guard let status = RequirementStatus(rawValue: f["status"]) else {
                throw AppError.invalid("status", de: "Bitte wählen Sie aus, wie weit die Anforderung erfüllt ist.", en: "Please choose how far the requirement is met.")
            }
            try await ISMSService.answer(req.application, tenant: g.ars, requirement: r, catalogueVersion: row.version, status: status,
                                         justification: f.f["begruendung"] ?? "", note: f.f["notiz"] ?? "", responsible: f.f["verantwortlich"] ?? "", actor: req.principal)
            return req.redirect(to: "/mandanten/\(g.ars)/isms/anforderungen/\(r.id)?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderRequirement(req, g, form: f, error: e)
        }
    }

    // MARK: catalogue and the provider's controls

    struct VersionRow: Encodable { var version: Int; var title: String; var at: String; var by: String; var count: Int; var demo: Bool }
    struct ControlRow: Encodable { var id: String; var service: String; var requirement: String; var evidence: String }
    struct Opt: Encodable { var value: String; var label: String }
    struct ManageView: Encodable {
        var versions: [VersionRow]; var hasCatalogue: Bool; var problems: [String]; var imported: String
        var canControls: Bool; var controls: [ControlRow]; var services: [Opt]; var requirements: [Opt]; var form: [String: String]
    }

    @Sendable func manage(req: Request) async throws -> Response {
        try req.authorize(.ismsManage)
        return try await renderManage(req)
    }

    func renderManage(_ req: Request, problems: [String] = [], imported: String = "", form: [String: String] = [:], error: AppError? = nil) async throws -> Response {
        let rows = try await ISMSCatalogueVersion.query(on: req.db).sort(\.$version, .descending).all()
        let people = try await ActorNames.load(rows.map(\.importedBy), on: req.db)
        let current = try await ISMSService.current(req.db)
        let canControls = req.can(.ismsControls)
        let controls = canControls ? try await ISMSProviderControl.query(on: req.db).sort(\.$service).sort(\.$requirementID).all() : []
        let view = ManageView(
            versions: rows.map { r in
                let count = (try? JSONDecoder().decode(Catalogue.self, from: Data(r.body.utf8)))?.requirements.count ?? 0
                return VersionRow(version: r.version, title: r.title, at: GermanTime.format(r.importedAt), by: people.display(r.importedBy), count: count, demo: r.demo)
            },
            hasCatalogue: current != nil, problems: problems, imported: imported, canControls: canControls,
            controls: controls.map { c in
                ControlRow(id: c.id?.uuidString ?? "", service: ISMSService.serviceName(c.service),
                           requirement: "\(c.requirementID) \(current?.0.requirement(c.requirementID)?.title ?? "")", evidence: c.evidence)
            },
            services: ISMSService.services.map { Opt(value: $0, label: ISMSService.serviceName($0)) },
            requirements: (current?.0.requirements ?? []).map { Opt(value: $0.id, label: "\($0.id) \($0.title)") }, form: form)
        let title = req.t("is_manage_title")
        if let error { return try await req.renderError("isms/katalog", title: title, view, error) }
        return try await req.render("isms/katalog", title: title, view, form: true)
    }

    struct ImportForm: Content { var datei: File?; var titel: String? }

    @Sendable func importCatalogue(req: Request) async throws -> Response {
        try req.authorize(.ismsManage)
        let form = try? req.content.decode(ImportForm.self)
        guard let file = form?.datei, file.data.readableBytes > 0 else {
            return try await renderManage(req, error: AppError.invalid("datei", de: "Bitte wählen Sie eine Katalogdatei (JSON oder CSV) aus.", en: "Please choose a catalogue file (JSON or CSV)."))
        }
        do {
            let (c, diff) = try await ISMSService.importCatalogue(req.application, data: Data(buffer: file.data), filename: file.filename,
                                                                  title: String((form?.titel ?? "").prefix(200)), demo: false,
                                                                  actor: req.principal.auditActor, actorID: req.principal.actorID)
            let msg = req.lang == .en
                ? "Version \(c.version) imported: \(c.requirements.count) requirements (\(diff.added.count) new, \(diff.changed.count) changed, \(diff.removed.count) removed)."
                : "Version \(c.version) übernommen: \(c.requirements.count) Anforderungen (\(diff.added.count) neu, \(diff.changed.count) geändert, \(diff.removed.count) entfallen)."
            return try await renderManage(req, imported: msg)
        } catch let e as ISMSImportError {
            let lines = e.problems.prefix(200).map(\.description)
            return try await renderManage(req, problems: Array(lines),
                                          error: AppError(.unprocessableEntity, "isms.import", de: "Der Katalog wurde nicht übernommen: \(e.problems.count) Problem(e), siehe Liste.",
                                                          en: "The catalogue was not imported: \(e.problems.count) problem(s), see the list.", field: "datei"))
        }
    }

    @Sendable func importStarter(req: Request) async throws -> Response {
        try req.authorize(.ismsManage)
        try await ISMSService.importStarter(req.application, actor: req.principal.auditActor, actorID: req.principal.actorID)
        return req.redirect(to: "/betrieb/isms", redirectType: .normal)
    }

    @Sendable func declare(req: Request) async throws -> Response {
        try req.authorize(.ismsControls)
        let f = FundingForm(req)
        do {
            guard ISMSService.services.contains(f["leistung"]) else {
                throw AppError.invalid("leistung", de: "Bitte wählen Sie eine Leistung des Dienstleisters aus der Liste.", en: "Please choose one of the provider's services.")
            }
            guard let (c, _) = try await ISMSService.current(req.db), c.requirement(f["anforderung"]) != nil else {
                throw AppError.invalid("anforderung", de: "Bitte wählen Sie eine Anforderung des geltenden Katalogs aus.", en: "Please choose a requirement of the catalogue in force.")
            }
            let evidence = try f.text("nachweis", "den Nachweis des Dienstleisters (z. B. Zertifikat, Prüfbericht)", max: 1000)
            let actor = req.principal
            let service = f["leistung"], rid = f["anforderung"]
            try await req.application.writeTransaction { db in
                if try await ISMSProviderControl.query(on: db).filter(\.$service == service).filter(\.$requirementID == rid).first() != nil {
                    throw AppError(.conflict, "isms.control_duplicate", de: "Diese Anforderung ist für diese Leistung bereits erklärt.", en: "This requirement is already declared for this service.", field: "anforderung")
                }
                let c = ISMSProviderControl()
                c.service = service; c.requirementID = rid; c.evidence = evidence; c.declaredBy = actor.auditActor; c.declaredAt = Date()
                try await c.create(on: db)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "isms.control",
                                       objectType: "isms_control", objectID: "\(service)/\(rid)", before: nil, after: evidence)
            }
            return req.redirect(to: "/betrieb/isms", redirectType: .normal)
        } catch let e as AppError {
            return try await renderManage(req, form: f.f, error: e)
        }
    }

    @Sendable func undeclare(req: Request) async throws -> Response {
        try req.authorize(.ismsControls)
        guard let id = req.parameters.get("id", as: UUID.self) else { throw AppError.notFound }
        let actor = req.principal
        try await req.application.writeTransaction { db in
            guard let c = try await ISMSProviderControl.find(id, on: db) else { throw AppError.notFound }
            try await c.delete(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "isms.control_removed",
                                   objectType: "isms_control", objectID: "\(c.service)/\(c.requirementID)", before: c.evidence, after: nil)
        }
        return req.redirect(to: "/betrieb/isms", redirectType: .normal)
    }

    // MARK: state-wide picture

    struct OverviewRow: Encodable { var ars: String; var name: String; var kreis: String; var hasISB: Bool; var percent: String; var permille: Int; var criticalOpen: Int; var answered: Int; var incidents: Int }
    struct CountRow: Encodable { var month: String; var category: String; var count: Int }
    struct KreisRow: Encodable { var name: String; var tenants: Int; var withISB: Int; var percent: String; var criticalOpen: Int; var incidents: Int }
    struct OverviewView: Encodable { var byKreis: [KreisRow]; var rows: [OverviewRow]; var withoutISB: Int; var total: Int; var kreise: [Opt]; var kreis: String; var hasCatalogue: Bool; var counts: [CountRow] }

    /// Every tenant that works in Rathaus (a staff role) or has ISMS data: ISB yes/no, progress,
    /// open critical gaps; those without an ISB first. Counts only — no tenant's answers.
    static func overviewRows(_ db: any Database, kreis: String?) async throws -> [OverviewRow] {
        let tenants = Set(try await RoleAssignment.query(on: db).all().compactMap(\.tenantARS).filter { $0.count > 2 })
            .union(try await ISMSOfficer.query(on: db).all().compactMap(\.id))
            .union(try await ISMSAnswer.query(on: db).all().map(\.tenantARS))
        let q = ISMSIncidents.quarter(Date())
        let incidents = Dictionary(grouping: try await ISMSIncident.query(on: db).filter(\.$reportedAt >= q.from).filter(\.$reportedAt < q.to).all(), by: \.tenantARS)
        let gebiete = try await Gebiet.query(on: db).filter(\.$id ~~ Array(tenants)).all()
        let kreisNames = Dictionary(try await Gebiet.query(on: db).filter(\.$id ~~ Array(Set(gebiete.map(\.kreisARS)))).all().compactMap { g in g.id.map { ($0, g.name) } },
                                    uniquingKeysWith: { a, _ in a })
        let officers = Dictionary(try await ISMSOfficer.query(on: db).all().compactMap { o in o.id.map { ($0, o) } }, uniquingKeysWith: { a, _ in a })
        var rows: [OverviewRow] = []
        for g in gebiete where kreis == nil || g.kreisARS == kreis {
            let ws = try await ISMSService.workspace(db, tenant: g.ars)
            let p = ws?.progress ?? CatalogueProgress()
            rows.append(OverviewRow(ars: g.ars, name: g.name, kreis: kreisNames[g.kreisARS] ?? g.kreisARS, hasISB: officers[g.ars]?.isbUserID != nil,
                                    percent: percent(p.permille), permille: p.permille, criticalOpen: p.criticalOpen,
                                    answered: ws?.items.filter { $0.answer != nil }.count ?? 0, incidents: incidents[g.ars]?.count ?? 0))
        }
        return rows.sorted { ($0.hasISB ? 1 : 0, $0.kreis, $0.name) < ($1.hasISB ? 1 : 0, $1.kreis, $1.name) }
    }

    /// "2026-12" → "Dezember 2026" / "December 2026".
    static func month(_ ym: String, english: Bool) -> String {
        let de = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"]
        let en = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        let p = ym.split(separator: "-")
        guard p.count == 2, let m = Int(p[1]), (1...12).contains(m) else { return ym }
        return "\((english ? en : de)[m - 1]) \(p[0])"
    }

    @Sendable func overview(req: Request) async throws -> Response {
        try req.authorize(.ismsOverview)
        let kreis = req.query[String.self, at: "kreis"].flatMap { $0.isEmpty ? nil : String($0.prefix(5)) }
        let all = try await Self.overviewRows(req.db, kreis: nil)
        let rows = kreis.map { k in all.filter { $0.ars.hasPrefix(k) } } ?? all
        if req.query[String.self, at: "format"] == "csv" {
            var lines = [["ARS", "Name", "Kreis", "ISB benannt", "Erfüllt (Promille)", "Offene kritische Anforderungen", "Beantwortet", "Sicherheitsvorfälle im Quartal"]]
            for r in rows { lines.append([r.ars, r.name, r.kreis, r.hasISB ? "ja" : "nein", "\(r.permille)", "\(r.criticalOpen)", "\(r.answered)", "\(r.incidents)"]) }
            let csv = CSV.document(lines, delimiter: ";")
            let res = Response(status: .ok, body: .init(string: csv))
            res.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
            res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"isms-uebersicht.csv\"")
            return res
        }
        let kreise = Dictionary(all.map { (String($0.ars.prefix(5)), $0.kreis) }, uniquingKeysWith: { a, _ in a }).sorted { $0.value < $1.value }
        // per Kreis: how many work with an ISB, the mean fulfilled share, open basic requirements, incidents
        let byKreis = Dictionary(grouping: all, by: \.kreis).map { k, rs in
            KreisRow(name: k, tenants: rs.count, withISB: rs.filter(\.hasISB).count, percent: Self.percent(rs.map(\.permille).reduce(0, +) / max(1, rs.count)),
                     criticalOpen: rs.map(\.criticalOpen).reduce(0, +), incidents: rs.map(\.incidents).reduce(0, +))
        }.sorted { $0.name < $1.name }
        let view = OverviewView(byKreis: byKreis, rows: rows, withoutISB: rows.filter { !$0.hasISB }.count, total: rows.count,
                                kreise: kreise.map { Opt(value: $0.key, label: $0.value) }, kreis: kreis ?? "",
                                hasCatalogue: try await ISMSService.current(req.db) != nil,
                                counts: try await ISMSIncidents.counts(req.db).prefix(120).map { c in
                                    CountRow(month: Self.month(c.month, english: req.lang == .en), category: req.lang == .en ? c.category.english : c.category.german, count: c.count)
                                })
        return try await req.render("isms/uebersicht", title: req.t("is_overview_title"), view)
    }
}
