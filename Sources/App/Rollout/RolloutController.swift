import Fluent
import Vapor
import Rollout
import RathausCore

/// The roll-out monitor for the operator and the Land: matrix, map, time series, demand.
struct RolloutController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("rollout", use: matrix)
        app.get("rollout", "export.csv", use: exportCSV)
        app.get("rollout", "karte", use: map)
        app.get("rollout", "verlauf", use: series)
        app.get("rollout", "nachfrage", use: demand)
        app.post("rollout", "synonyme", use: addSynonym)
    }

    /// The columns every overview shows; the state's online services are summarised in one.
    static let core = ["mitglied", "finder", "onlinedienste", "erechnung", "ebezahlen", "foerderung", "fortbildung"]

    static func filter(_ req: Request) -> Filter {
        func q(_ k: String) -> String? { req.query[String.self, at: k].map { String($0.prefix(100)) } }
        return Filter(kreis: q("kreis"), level: q("ebene"), membership: q("status"), search: q("suche"))
    }

    struct Cell: Encodable { var live: Bool; var detail: String }
    struct Row: Encodable { var ars: String; var name: String; var kreis: String; var level: String; var membership: String; var cells: [Cell]; var services: Int }
    struct ShareRow: Encodable { var key: String; var title: String; var live: Int; var total: Int; var percent: Int; var bar: Int; var y: Int; var labelY: Int; var textX: Int }
    struct KreisRow: Encodable { var name: String; var tenants: Int; var cells: [String] }
    struct MatrixView: Encodable {
        var rows: [Row]; var headers: [String]; var shares: [ShareRow]; var serviceShares: [ShareRow]; var kreise: [KreisRow]
        var kreisOptions: [FundingOption]; var levelOptions: [FundingOption]; var statusOptions: [FundingOption]; var capabilityOptions: [FundingOption]
        var search: String; var query: String; var total: Int; var shown: Int; var page: Int; var pages: Int; var prev: String; var next: String; var chartHeight: Int
    }

    static func levelLabel(_ l: String, _ en: Bool) -> String {
        switch l { case "gemeinde": en ? "municipality" : "Gemeinde"; case "gemeindeverband": en ? "administrative community" : "Verwaltungsgemeinschaft"; case "kreis": en ? "district" : "Kreis"; default: l }
    }

    static func statusLabel(_ s: String, _ en: Bool) -> String {
        switch s {
        case "member": en ? "member" : "Mitglied"; case "applied": en ? "applied" : "beantragt"; case "notice_given": en ? "notice given" : "gekündigt"
        case "rejected": en ? "rejected" : "abgelehnt"; default: en ? "not a member" : "kein Mitglied"
        }
    }

    static func shareRows(_ keys: [(String, String)], _ total: [String: Share]) -> [ShareRow] {
        keys.enumerated().map { i, k in
            let s = total[k.0] ?? Share(live: 0, total: 0)
            return ShareRow(key: k.0, title: k.1, live: s.live, total: s.total, percent: s.percent, bar: s.percent * 4, y: i * 26 + 4, labelY: i * 26 + 18, textX: 230 + s.percent * 4 + 6)
        }
    }

    @Sendable func matrix(req: Request) async throws -> Response {
        try req.authorize(.rolloutView)
        let en = req.lang == .en
        let m = try await RolloutService.matrix(req.application)
        let f = Self.filter(req)
        let rows = RolloutAggregate.filter(m.rows, f)
        let allKeys = m.columns.map(\.key)
        let (total, perKreis) = RolloutAggregate.shares(rows, capabilities: allKeys)
        let coreCols = Self.core.compactMap { k in m.columns.first { $0.key == k } }
        let serviceCols = m.columns.filter { $0.key.hasPrefix("dienst:") }
        let pageSize = 100
        let pages = max(1, (rows.count + pageSize - 1) / pageSize)
        let page = min(max(1, req.query[Int.self, at: "seite"] ?? 1), pages)
        var params: [String] = []
        for (k, v) in [("kreis", f.kreis), ("ebene", f.level), ("status", f.membership), ("suche", f.search)] {
            if let v, !v.isEmpty { params.append("\(k)=\(v.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")") }
        }
        let query = params.joined(separator: "&")
        let kreisList = Dictionary(m.rows.map { ($0.kreisARS, $0.kreisName) }, uniquingKeysWith: { a, _ in a }).sorted { $0.value < $1.value }
        let view = MatrixView(
            rows: rows.dropFirst((page - 1) * pageSize).prefix(pageSize).map { r in
                Row(ars: r.ars, name: r.name, kreis: r.kreisName, level: Self.levelLabel(r.level, en), membership: Self.statusLabel(r.membership, en),
                    cells: coreCols.map { c in Cell(live: r.isLive(c.key), detail: r.states[c.key]?.detail ?? "") },
                    services: serviceCols.filter { r.isLive($0.key) }.count)
            },
            headers: coreCols.map { $0.title(en) },
            shares: Self.shareRows(coreCols.map { ($0.key, $0.title(en)) }, total),
            serviceShares: Self.shareRows(serviceCols.map { ($0.key, $0.title(en)) }, total).sorted { $0.percent > $1.percent },
            kreise: perKreis.map { k in KreisRow(name: k.kreisName, tenants: k.tenants, cells: coreCols.map { c in "\(k.shares[c.key]?.percent ?? 0) %" }) },
            kreisOptions: kreisList.map { FundingOption(value: $0.key, label: $0.value, selected: $0.key == f.kreis) },
            levelOptions: ["gemeinde", "gemeindeverband", "kreis"].map { FundingOption(value: $0, label: Self.levelLabel($0, en), selected: $0 == f.level) },
            statusOptions: ["member", "applied", "notice_given", "none"].map { FundingOption(value: $0, label: Self.statusLabel($0, en), selected: $0 == f.membership) },
            capabilityOptions: coreCols.map { FundingOption(value: $0.key, label: $0.title(en), selected: false) },
            search: f.search ?? "", query: query, total: rows.count, shown: min(pageSize, max(0, rows.count - (page - 1) * pageSize)), page: page, pages: pages,
            prev: page > 1 ? "/rollout?\(query)&seite=\(page - 1)" : "", next: page < pages ? "/rollout?\(query)&seite=\(page + 1)" : "",
            chartHeight: coreCols.count * 26 + 8)
        return try await req.render("rollout/matrix", title: req.t("ro_title"), view)
    }

    /// CSV of the filtered matrix with every column (each service with "seit …"), formula-safe.
    static func csv(_ m: RolloutService.Matrix, _ rows: [TenantRow]) -> String {
        var lines = [["ARS", "Name", "Ebene", "Kreis", "Mitgliedschaft"] + m.columns.flatMap { [$0.titleDE, "\($0.titleDE) (Angaben)"] }]
        for r in rows {
            lines.append([r.ars, r.name, levelLabel(r.level, false), r.kreisName, statusLabel(r.membership, false)]
                         + m.columns.flatMap { c in [r.isLive(c.key) ? "ja" : "nein", r.states[c.key]?.detail ?? ""] })
        }
        return CSV.document(lines, delimiter: ";")
    }

    @Sendable func exportCSV(req: Request) async throws -> Response {
        try req.authorize(.rolloutView)
        let m = try await RolloutService.matrix(req.application)
        let res = Response(status: .ok, body: .init(string: Self.csv(m, RolloutAggregate.filter(m.rows, Self.filter(req)))))
        res.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"rollout.csv\"")
        return res
    }

    // MARK: map

    struct Dot: Encodable { var x: String; var y: String; var live: Bool; var label: String }
    struct MapView: Encodable {
        var capability: String; var capabilityOptions: [FundingOption]; var dots: [Dot]; var width: Int; var height: Int
        var summary: String; var kreise: [KreisRow]; var missing: Int
    }

    @Sendable func map(req: Request) async throws -> Response {
        try req.authorize(.rolloutView)
        let en = req.lang == .en
        let m = try await RolloutService.matrix(req.application)
        let coreCols = Self.core.compactMap { k in m.columns.first { $0.key == k } }
        let chosen = coreCols.first { $0.key == req.query[String.self, at: "faehigkeit"] } ?? coreCols.first { $0.key == "erechnung" } ?? coreCols[0]
        // the Gemeinden have coordinates; VG and Kreise are shown through their Gemeinden
        let placed = m.rows.filter { $0.level == "gemeinde" && $0.latitude != nil && $0.longitude != nil }
        let proj = MapProjection(points: placed.compactMap { r in r.latitude.flatMap { lat in r.longitude.map { (lat, $0) } } }, width: 640)
        let dots = placed.compactMap { r -> Dot? in
            guard let proj, let lat = r.latitude, let lon = r.longitude else { return nil }
            let p = proj.project(lat: lat, lon: lon)
            let live = r.isLive(chosen.key)
            return Dot(x: String(format: "%.1f", p.x), y: String(format: "%.1f", p.y), live: live,
                       label: "\(r.name): \(live ? (en ? "live" : "in Betrieb") : (en ? "not live" : "nicht in Betrieb"))")
        }
        let (total, perKreis) = RolloutAggregate.shares(placed, capabilities: [chosen.key])
        let s = total[chosen.key] ?? Share(live: 0, total: 0)
        let view = MapView(capability: chosen.title(en),
                           capabilityOptions: coreCols.map { FundingOption(value: $0.key, label: $0.title(en), selected: $0.key == chosen.key) },
                           dots: dots, width: 640, height: Int((proj?.height ?? 400).rounded()),
                           summary: en ? "\(chosen.title(en)): \(s.english) municipalities live" : "\(chosen.title(en)): \(s.german) Gemeinden in Betrieb",
                           kreise: perKreis.map { k in KreisRow(name: k.kreisName, tenants: k.tenants, cells: [en ? (k.shares[chosen.key]?.english ?? "") : (k.shares[chosen.key]?.german ?? "")]) },
                           missing: m.rows.filter { $0.level == "gemeinde" }.count - placed.count)
        return try await req.render("rollout/karte", title: req.t("ro_map_title"), view)
    }

    // MARK: time series

    struct SeriesRow: Encodable { var month: String; var cells: [String] }
    struct SeriesView: Encodable {
        var capability: String; var capabilityOptions: [FundingOption]; var points: String; var labels: [Dot]; var rows: [SeriesRow]; var headers: [String]; var empty: Bool
    }

    @Sendable func series(req: Request) async throws -> Response {
        try req.authorize(.rolloutView)
        let en = req.lang == .en
        let m = try await RolloutService.matrix(req.application)
        let coreCols = Self.core.compactMap { k in m.columns.first { $0.key == k } }
        let chosen = coreCols.first { $0.key == req.query[String.self, at: "faehigkeit"] } ?? coreCols.first { $0.key == "erechnung" } ?? coreCols[0]
        let snaps = try await RolloutSnapshot.query(on: req.db).sort(\.$month).all()
        let months = Array(Set(snaps.map(\.month))).sorted().suffix(24)
        func pct(_ month: String, _ key: String) -> Int? {
            snaps.first { $0.month == month && $0.capability == key }.map { Share(live: $0.live, total: $0.total).percent }
        }
        let chosenSeries = months.map { pct($0, chosen.key) ?? 0 }
        let points = MonthlySeries.polyline(chosenSeries, width: 640, height: 240)
        let coords = points.split(separator: " ").map { $0.split(separator: ",") }
        let labels = zip(months, coords).map { m, c in Dot(x: String(c.first ?? "0"), y: "235", live: true, label: m.split(separator: "-").reversed().joined(separator: en ? "/" : ".")) }
        let view = SeriesView(capability: chosen.title(en),
                              capabilityOptions: coreCols.map { FundingOption(value: $0.key, label: $0.title(en), selected: $0.key == chosen.key) },
                              points: points, labels: labels,
                              rows: months.map { mo in SeriesRow(month: mo.split(separator: "-").reversed().joined(separator: en ? "/" : "."), cells: coreCols.map { c in pct(mo, c.key).map { "\($0) %" } ?? "–" }) },
                              headers: coreCols.map { $0.title(en) }, empty: months.isEmpty)
        return try await req.render("rollout/verlauf", title: req.t("ro_series_title"), view)
    }

    // MARK: demand

    struct SignalView: Encodable { var service: String; var key: String; var tenant: String; var kreis: String; var searches: Int; var offerable: Bool }
    struct QueryView: Encodable { var query: String; var count: Int; var n: Int }
    struct DemandView: Encodable {
        var signals: [SignalView]; var queries: [QueryView]; var canEditSynonyms: Bool; var kreisOptions: [FundingOption]; var message: String; var form: [String: String]
    }

    @Sendable func demand(req: Request) async throws -> Response {
        try req.authorize(.rolloutView)
        return try await renderDemand(req, message: req.query[String.self, at: "ok"] == "synonym" ? req.t("ro_synonym_saved") : "")
    }

    func renderDemand(_ req: Request, message: String = "", form: [String: String] = [:], error: AppError? = nil) async throws -> Response {
        let kreis = req.query[String.self, at: "kreis"].map { String($0.prefix(5)) }
        let signals = try await RolloutService.signals(req.application, kreis: kreis)
        let kreisNames = Dictionary(try await Gebiet.query(on: req.db).filter(\.$level == "kreis").filter(\.$landCode == FundingService.stateKey).all()
            .compactMap { g in g.id.map { ($0, g.name) } }, uniquingKeysWith: { a, _ in a })
        let view = DemandView(
            signals: signals.prefix(200).map { SignalView(service: $0.serviceName, key: $0.serviceKey, tenant: $0.tenantName, kreis: kreisNames[$0.kreis] ?? $0.kreis, searches: $0.searches, offerable: $0.slug != nil) },
            queries: try await RolloutService.unfound(req.application).prefix(100).enumerated().map { QueryView(query: $1.query, count: $1.count, n: $0) },
            canEditSynonyms: req.can(.serviceTextsEdit),
            kreisOptions: kreisNames.sorted { $0.value < $1.value }.map { FundingOption(value: $0.key, label: $0.value, selected: $0.key == kreis) },
            message: message, form: form)
        if let error { return try await req.renderError("rollout/nachfrage", title: req.t("ro_demand_title"), view, error) }
        return try await req.render("rollout/nachfrage", title: req.t("ro_demand_title"), view, form: true)
    }

    /// The Land's editors turn a query that found nothing into a synonym in one step.
    @Sendable func addSynonym(req: Request) async throws -> Response {
        try req.authorize(.serviceTextsEdit)
        let f = FundingForm(req)
        do {
            let phrase = Demand.normalise(try f.text("suchwort", "das Suchwort", max: 60))
            let replacement = try f.text("ersatz", "die Wörter, unter denen die Leistung zu finden ist", max: 120)
            guard !phrase.isEmpty else { throw AppError.invalid("suchwort", de: "Bitte geben Sie ein Suchwort an.", en: "Please enter a search word.") }
            let actor = req.principal
            try await req.application.writeTransaction { db in
                if try await FinderSynonym.query(on: db).filter(\.$phrase == phrase).first() != nil {
                    throw AppError(.conflict, "synonym.exists", de: "Für „\(phrase)“ gibt es bereits ein Synonym.", en: "There is already a synonym for this word.", field: "suchwort")
                }
                let s = FinderSynonym()
                s.phrase = phrase; s.replacement = replacement; s.createdBy = actor.auditActor; s.createdAt = Date()
                try await s.create(on: db)
                // every instance rebuilds its search index with the new word
                try await FinderStore.bump(on: db)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "finder.synonym",
                                       objectType: "finder_synonym", objectID: phrase, before: nil, after: "\(phrase) → \(replacement)")
            }
            return req.redirect(to: "/rollout/nachfrage?ok=synonym", redirectType: .normal)
        } catch let e as AppError {
            return try await renderDemand(req, form: f.f, error: e)
        }
    }
}
