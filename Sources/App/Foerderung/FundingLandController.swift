import Fluent
import SQLKit
import Vapor
import Funding
import RathausCore

/// The Land's side: programmes with categories, calls and budget lines; the budget view; the
/// inbox of applications; the ranking of an oversubscribed call; the payout booking export.
struct FundingLandController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("foerderung", use: inbox)
        app.get("foerderung", "haushalt", use: budget)
        app.get("foerderung", "programme", use: programmes)
        app.post("foerderung", "programme", use: createProgramme)
        app.get("foerderung", "programme", ":id", use: programme)
        app.post("foerderung", "programme", ":id", use: updateProgramme)
        app.post("foerderung", "programme", ":id", "kategorien", use: addCategory)
        app.post("foerderung", "programme", ":id", "aufrufe", use: addCall)
        app.post("foerderung", "programme", ":id", "ansaetze", use: addBudget)
        app.get("foerderung", "aufrufe", ":id", "rangfolge", use: ranking)
        app.get("foerderung", "auszahlungen.csv", use: payoutExport)
    }

    // MARK: inbox

    struct Row: Encodable {
        var id: String; var reference: String; var tenant: String; var kreis: String; var title: String; var category: String
        var requested: String; var status: String; var submitted: String; var joint: Bool
    }
    struct InboxView: Encodable {
        var rows: [Row]; var calls: [FundingOption]; var categories: [FundingOption]; var kreise: [FundingOption]; var statuses: [FundingOption]
        var canManage: Bool; var canDecide: Bool; var total: Int; var openPayouts: Int
    }

    @Sendable func inbox(req: Request) async throws -> Response {
        if case .anonymous = req.principal { throw AppError.unauthenticated }
        // municipal staff have their tenant's page
        // municipal staff use their tenant's page (`/mandanten/<ARS>/foerderung`), reached from their navigation
        try req.authorize(.fundingView)
        let q = req.query
        var query = FundingApplication.query(on: req.db).filter(\.$status != FundingStatus.draft.rawValue)
        let callID = q[String.self, at: "aufruf"].flatMap(UUID.init(uuidString:))
        let catID = q[String.self, at: "kategorie"].flatMap(UUID.init(uuidString:))
        let status = q[String.self, at: "status"].flatMap(FundingStatus.init(rawValue:))
        let kreis = (q[String.self, at: "kreis"] ?? "").filter(\.isNumber)
        if let callID { query = query.filter(\.$callID == callID) }
        if let catID { query = query.filter(\.$categoryID == catID) }
        if let status { query = query.filter(\.$status == status.rawValue) }
        if !kreis.isEmpty { query = query.filter(\.$tenantARS >= kreis).filter(\.$tenantARS < kreis + "~") }
        let apps = try await query.sort(\.$submittedAt, .descending).limit(1000).all()
        let cats = try await FundingCategory.query(on: req.db).sort(\.$code).all()
        let calls = try await FundingCall.query(on: req.db).sort(\.$opensOn, .descending).all()
        let kreisList = try await Gebiet.query(on: req.db).filter(\.$level == "kreis").filter(\.$landCode == FundingService.stateKey).sort(\.$name).all()
        let kreisName = Dictionary(kreisList.compactMap { g in g.id.map { ($0, g.name) } }, uniquingKeysWith: { a, _ in a })
        let joint = Set(try await FundingPartner.query(on: req.db).all().map(\.applicationID))
        let catName = Dictionary(cats.compactMap { c in c.id.map { ($0, "\(c.code) \(c.title)") } }, uniquingKeysWith: { a, _ in a })
        let rows = apps.map { a in
            Row(id: a.id?.uuidString ?? "", reference: a.reference, tenant: a.tenantName, kreis: kreisName[String(a.tenantARS.prefix(5))] ?? "",
                title: a.title, category: catName[a.categoryID] ?? "", requested: FundingFormat.money(a.requestedCents), status: FundingFormat.status(a.status),
                submitted: a.submittedAt.map { GermanTime.format($0) } ?? "", joint: a.id.map { joint.contains($0) } ?? false)
        }
        let openPayouts = try await FundingPayout.query(on: req.db).filter(\.$status == "beantragt").count()
        let view = InboxView(rows: rows,
                             calls: calls.map { FundingOption(value: $0.id?.uuidString ?? "", label: $0.title, selected: $0.id == callID) },
                             categories: cats.map { FundingOption(value: $0.id?.uuidString ?? "", label: "\($0.code) \($0.title)", selected: $0.id == catID) },
                             kreise: kreisList.map { FundingOption(value: $0.ars, label: $0.name, selected: $0.ars == kreis) },
                             statuses: FundingStatus.allCases.filter { $0 != .draft }.map { FundingOption(value: $0.rawValue, label: FundingFormat.status($0.rawValue), selected: $0 == status) },
                             canManage: req.can(.fundingManage), canDecide: req.can(.fundingDecide), total: rows.count, openPayouts: openPayouts)
        return try await req.render("foerderung/eingang", title: req.t("fo_inbox_title"), view)
    }

    // MARK: budget

    struct BudgetRow: Encodable {
        var year: Int; var source: String; var planned: String; var ve: String; var committed: String; var paidOut: String; var returned: String
        var available: String; var negative: Bool
        /// Bar geometry in SVG user units (0…600).
        var y: Int; var labelY: Int; var paidW: Int; var unpaidW: Int; var availW: Int; var availX: Int; var unpaidX: Int; var label: String
    }
    struct BudgetView: Encodable {
        var programmes: [FundingOption]; var programme: String; var demo: Bool; var rows: [BudgetRow]; var totals: [String: String]
        var chartHeight: Int; var pending: String; var pendingCount: Int; var lines: Int; var hasRows: Bool; var summary: String
    }

    static func positions(_ db: any Database, programme: UUID) async throws -> (positions: [BudgetPosition], ve: [BudgetKey: Int64], lines: Int) {
        let sums = try await FundingService.ledgerSums(db, programme: programme)
        var ve: [BudgetKey: Int64] = [:]
        for r in sums where r.ve && r.kind == BookingKind.plan.rawValue {
            if let s = FundingSource(rawValue: r.source) { ve[BudgetKey(year: r.year, source: s), default: 0] += r.total }
        }
        let bookings = sums.compactMap { r -> Booking? in
            guard let s = FundingSource(rawValue: r.source), let k = BookingKind(rawValue: r.kind) else { return nil }
            return Booking(year: r.year, source: s, kind: k, cents: r.total)
        }
        let lines = try await FundingBooking.query(on: db).filter(\.$programmeID == programme).count()
        return (Ledger.positions(bookings), ve, lines)
    }

    struct Demand: Decodable { var n: Int; var total: Int64? }

    /// Pending applications of a programme: how many, how much they ask for.
    static func demand(_ db: any Database, programme: UUID) async throws -> (count: Int, cents: Int64) {
        guard let sql = db as? any SQLDatabase else { return (0, 0) }
        let r = try await sql.raw("""
            SELECT COUNT(*) AS n, CAST(SUM(requested_cents) AS BIGINT) AS total FROM funding_applications
            WHERE programme_id = \(bind: programme) AND status IN (\(bind: FundingStatus.submitted.rawValue), \(bind: FundingStatus.query.rawValue))
            """).first(decoding: Demand.self)
        return (r?.n ?? 0, r?.total ?? 0)
    }

    static func chosenProgramme(_ req: Request) async throws -> FundingProgramme? {
        if let id = req.query[String.self, at: "programm"].flatMap(UUID.init(uuidString:)), let p = try await FundingProgramme.find(id, on: req.db) { return p }
        return try await FundingProgramme.query(on: req.db).sort(\.$createdAt, .descending).first()
    }

    @Sendable func budget(req: Request) async throws -> Response {
        try req.authorize(.fundingView)
        let all = try await FundingProgramme.query(on: req.db).sort(\.$createdAt, .descending).all()
        guard let p = try await Self.chosenProgramme(req), let pid = p.id else {
            return try await req.render("foerderung/haushalt", title: req.t("fo_budget_title"),
                                        BudgetView(programmes: [], programme: "", demo: false, rows: [], totals: [:], chartHeight: 0, pending: "", pendingCount: 0, lines: 0, hasRows: false, summary: ""))
        }
        let (positions, ve, lines) = try await Self.positions(req.db, programme: pid)
        let scale = max(1, positions.map { max($0.planned, $0.committed) }.max() ?? 1)
        func w(_ c: Int64) -> Int { Int((Double(max(0, c)) / Double(scale) * 600).rounded()) }
        let rows = positions.enumerated().map { i, p -> BudgetRow in
            let paidNet = p.paidOut - p.returned
            let paidW = w(min(paidNet, p.committed)), unpaidW = w(max(0, p.committed - max(0, paidNet))), availW = w(p.available)
            return BudgetRow(year: p.key.year, source: FundingFormat.source(p.key.source), planned: FundingFormat.money(p.planned), ve: ve[p.key].map(FundingFormat.money) ?? "",
                             committed: FundingFormat.money(p.committed), paidOut: FundingFormat.money(p.paidOut), returned: FundingFormat.money(p.returned),
                             available: FundingFormat.money(p.available), negative: p.available < 0, y: i * 34 + 4, labelY: i * 34 + 21, paidW: paidW, unpaidW: unpaidW, availW: availW,
                             availX: 130 + paidW + unpaidW, unpaidX: 130 + paidW, label: "\(p.key.year) \(FundingFormat.source(p.key.source))")
        }
        func sum(_ k: KeyPath<BudgetPosition, Int64>) -> String { FundingFormat.money(positions.reduce(0) { $0 + $1[keyPath: k] }) }
        let (pendingCount, demand) = try await Self.demand(req.db, programme: pid)
        let available = positions.reduce(0) { $0 + $1.available }
        let english = req.lang == .en
        let summary = english
            ? "\(pendingCount) pending applications ask for \(FundingFormat.money(demand)); \(FundingFormat.money(available)) are available in all years."
            : "\(pendingCount) offene Anträge fragen \(FundingFormat.money(demand)) an; verfügbar sind über alle Jahre \(FundingFormat.money(available))."
        let view = BudgetView(programmes: all.map { FundingOption(value: $0.id?.uuidString ?? "", label: $0.title, selected: $0.id == pid) }, programme: p.title, demo: p.demo,
                              rows: rows, totals: ["planned": sum(\.planned), "committed": sum(\.committed), "paidOut": sum(\.paidOut), "returned": sum(\.returned),
                                                   "available": FundingFormat.money(available)],
                              chartHeight: rows.count * 34 + 8, pending: FundingFormat.money(demand), pendingCount: pendingCount, lines: lines, hasRows: !rows.isEmpty,
                              summary: summary)
        return try await req.render("foerderung/haushalt", title: req.t("fo_budget_title"), view)
    }

    // MARK: programmes

    struct ProgrammeRow: Encodable { var id: String; var title: String; var version: Int; var demo: Bool; var levels: String; var categories: Int; var calls: Int }
    struct ProgrammesView: Encodable { var rows: [ProgrammeRow]; var levels: [FundingOption]; var form: [String: String] }

    @Sendable func programmes(req: Request) async throws -> Response {
        try req.authorize(.fundingManage)
        return try await renderProgrammes(req)
    }

    func renderProgrammes(_ req: Request, form: [String: String] = [:], error: AppError? = nil) async throws -> Response {
        let ps = try await FundingProgramme.query(on: req.db).sort(\.$createdAt, .descending).all()
        var rows: [ProgrammeRow] = []
        for p in ps {
            guard let id = p.id else { continue }
            rows.append(ProgrammeRow(id: id.uuidString, title: p.title, version: p.version, demo: p.demo,
                                     levels: p.levelSet.sorted { $0.rawValue < $1.rawValue }.map(FundingFormat.level).joined(separator: ", "),
                                     categories: try await FundingCategory.query(on: req.db).filter(\.$programmeID == id).count(),
                                     calls: try await FundingCall.query(on: req.db).filter(\.$programmeID == id).count()))
        }
        let view = ProgrammesView(rows: rows, levels: ApplicantLevel.allCases.map { FundingOption(value: $0.rawValue, label: FundingFormat.level($0), selected: form.isEmpty || form["ebene_\($0.rawValue)"] != nil) },
                                  form: form)
        if let error { return try await req.renderError("foerderung/programme", title: req.t("fo_programmes_title"), view, error) }
        return try await req.render("foerderung/programme", title: req.t("fo_programmes_title"), view, form: true)
    }

    static func levels(_ f: FundingForm) throws -> String {
        let chosen = ApplicantLevel.allCases.filter { !f["ebene_\($0.rawValue)"].isEmpty }
        guard !chosen.isEmpty else { throw AppError.invalid("ebene_gemeinde", de: "Bitte wählen Sie mindestens eine antragsberechtigte Ebene.", en: "Please choose at least one eligible level.") }
        return chosen.map(\.rawValue).joined(separator: ",")
    }

    @Sendable func createProgramme(req: Request) async throws -> Response {
        try req.authorize(.fundingManage)
        let f = FundingForm(req)
        do {
            let title = try f.text("titel", "den Titel des Programms")
            let guideline = try f.text("richtlinie", "die Förderrichtlinie", max: 300, required: false)
            let levels = try Self.levels(f)
            let p = FundingProgramme()
            p.id = UUID(); p.title = title; p.guideline = guideline; p.levels = levels; p.demo = false; p.version = 1; p.budgetLock = 0
            p.createdBy = req.principal.auditActor; p.createdAt = Date(); p.updatedAt = Date()
            let actor = req.principal
            try await req.application.writeTransaction { db in
                if try await FundingProgramme.query(on: db).filter(\.$title == title).first() != nil {
                    throw AppError(.conflict, "funding.programme_exists", de: "Ein Programm „\(title)“ gibt es bereits.", en: "A programme with this title exists already.", field: "titel")
                }
                try await p.create(on: db)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "funding.programme.create",
                                       objectType: "funding_programme", objectID: p.id?.uuidString ?? "", before: nil, after: "\(title) (\(levels))")
            }
            return req.redirect(to: "/foerderung/programme/\(p.id?.uuidString ?? "")", redirectType: .normal)
        } catch let e as AppError {
            return try await renderProgrammes(req, form: f.f, error: e)
        }
    }

    struct CategoryRow: Encodable { var code: String; var title: String; var financing: String; var costTypes: String; var version: Int }
    struct CallRow: Encodable { var id: String; var title: String; var opens: String; var closes: String; var open: Bool; var applications: Int }
    struct PlanRow: Encodable { var year: Int; var source: String; var amount: String; var ve: Bool; var note: String; var at: String }
    struct ProgrammeView: Encodable {
        var id: String; var title: String; var guideline: String; var version: Int; var demo: Bool
        var levels: [FundingOption]; var categories: [CategoryRow]; var calls: [CallRow]; var plan: [PlanRow]
        var costTypes: [FundingOption]; var sources: [FundingOption]; var form: [String: String]; var message: String
    }

    func programmeOr404(_ req: Request) async throws -> FundingProgramme {
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)), let p = try await FundingProgramme.find(id, on: req.db) else { throw AppError.notFound }
        return p
    }

    @Sendable func programme(req: Request) async throws -> Response {
        try req.authorize(.fundingManage)
        let p = try await programmeOr404(req)
        let ok = req.query[String.self, at: "ok"] ?? ""
        return try await renderProgramme(req, p, message: ["gespeichert", "kategorie", "aufruf", "ansatz"].contains(ok) ? req.t("fo_saved_\(ok)") : "")
    }

    func renderProgramme(_ req: Request, _ p: FundingProgramme, form: [String: String] = [:], message: String = "", error: AppError? = nil) async throws -> Response {
        let pid = try p.requireID()
        let cats = try await FundingCategory.query(on: req.db).filter(\.$programmeID == pid).sort(\.$code).all()
        let calls = try await FundingCall.query(on: req.db).filter(\.$programmeID == pid).sort(\.$opensOn).all()
        let plan = try await FundingBooking.query(on: req.db).filter(\.$programmeID == pid).filter(\.$kind == BookingKind.plan.rawValue).sort(\.$year).sort(\.$createdAt).all()
        let today = BusinessDate.today()
        var callRows: [CallRow] = []
        for c in calls {
            callRows.append(CallRow(id: c.id?.uuidString ?? "", title: c.title, opens: FundingFormat.day(c.opensOn), closes: FundingFormat.day(c.closesOn),
                                    open: c.opensOn <= today && today <= c.closesOn,
                                    applications: try await FundingApplication.query(on: req.db).filter(\.$callID == c.requireID()).count()))
        }
        let view = ProgrammeView(
            id: pid.uuidString, title: p.title, guideline: p.guideline, version: p.version, demo: p.demo,
            levels: ApplicantLevel.allCases.map { FundingOption(value: $0.rawValue, label: FundingFormat.level($0), selected: p.levelSet.contains($0)) },
            categories: cats.map { CategoryRow(code: $0.code, title: $0.title, financing: FundingFormat.financing($0.rule),
                                               costTypes: $0.costTypeSet.sorted().map(FundingFormat.costType).joined(separator: ", "), version: $0.version) },
            calls: callRows,
            plan: plan.compactMap { b in FundingSource(rawValue: b.source).map { PlanRow(year: b.year, source: FundingFormat.source($0), amount: FundingFormat.money(b.cents), ve: b.ve, note: b.note, at: GermanTime.format(b.createdAt)) } },
            costTypes: FundingCostType.allCases.map { FundingOption(value: $0.rawValue, label: $0.label(req.lang == .en), selected: form["kostenart_\($0.rawValue)"] != nil) },
            sources: FundingSource.allCases.map { FundingOption(value: $0.rawValue, label: FundingFormat.source($0), selected: form["quelle"] == $0.rawValue) },
            form: form, message: message)
        if let error { return try await req.renderError("foerderung/programm", title: p.title, view, error) }
        return try await req.render("foerderung/programm", title: p.title, view, form: true)
    }

    /// Every change of a programme or its parts is audited with before and after and bumps the version.
    func bump(_ db: any Database, _ p: FundingProgramme) async throws {
        p.version += 1; p.updatedAt = Date()
        try await p.save(on: db)
    }

    @Sendable func updateProgramme(req: Request) async throws -> Response {
        try req.authorize(.fundingManage)
        let p = try await programmeOr404(req)
        let f = FundingForm(req)
        do {
            let title = try f.text("titel", "den Titel des Programms")
            let guideline = try f.text("richtlinie", "die Förderrichtlinie", max: 300, required: false)
            let levels = try Self.levels(f)
            let actor = req.principal
            let before = "\(p.title) (\(p.levels))"
            try await req.application.writeTransaction { db in
                guard let q = try await FundingProgramme.find(p.id, on: db) else { throw AppError.notFound }
                q.title = title; q.guideline = guideline; q.levels = levels
                try await bump(db, q)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "funding.programme.update",
                                       objectType: "funding_programme", objectID: q.id?.uuidString ?? "", before: before, after: "v\(q.version): \(title) (\(levels))")
            }
            return req.redirect(to: "/foerderung/programme/\(p.id?.uuidString ?? "")?ok=gespeichert", redirectType: .normal)
        } catch let e as AppError { return try await renderProgramme(req, p, form: f.f, error: e) }
    }

    @Sendable func addCategory(req: Request) async throws -> Response {
        try req.authorize(.fundingManage)
        let p = try await programmeOr404(req)
        let f = FundingForm(req)
        do {
            let code = try f.text("code", "die Nummer des Fördergegenstands", max: 10)
            let title = try f.text("kat_titel", "den Titel des Fördergegenstands")
            let types = FundingCostType.allCases.filter { !f["kostenart_\($0.rawValue)"].isEmpty }.map(\.rawValue)
            guard !types.isEmpty else { throw AppError.invalid("kostenart_sach", de: "Bitte wählen Sie mindestens eine zuwendungsfähige Kostenart.", en: "Please choose at least one eligible cost type.") }
            let c = FundingCategory()
            c.programmeID = try p.requireID(); c.code = code; c.title = title; c.costTypes = types.joined(separator: ","); c.version = 1
            c.updatedBy = req.principal.auditActor; c.updatedAt = Date(); c.unitLabel = ""
            switch f["finanzierung"] {
            case "anteil":
                guard let pct = Self.percent(f["satz"]) else {
                    throw AppError.invalid("satz", de: "Bitte geben Sie den Fördersatz in Prozent an (1 bis 100, z. B. 80 oder 75,5).", en: "Please enter the rate in percent (1 to 100).")
                }
                c.financing = "anteil"; c.rateBasisPoints = pct; c.unitCents = 0
                let cap = try f.money("hoechstbetrag", "den Höchstbetrag", required: false)
                c.capCents = cap > 0 ? cap : nil
            case "festbetrag":
                let unit = try f.money("festbetrag", "den Festbetrag je Einheit")
                guard unit > 0 else { throw AppError.invalid("festbetrag", de: "Der Festbetrag je Einheit muss größer als 0 € sein.", en: "The fixed amount must be above 0 €.") }
                c.financing = "festbetrag"; c.rateBasisPoints = 0; c.unitCents = unit; c.capCents = nil
                c.unitLabel = try f.text("einheit", "wofür der Festbetrag gezahlt wird (z. B. je geschulte Person)", max: 80)
            default:
                throw AppError.invalid("finanzierung", de: "Bitte wählen Sie die Finanzierungsart (Anteil- oder Festbetragsfinanzierung).", en: "Please choose the type of financing.")
            }
            let actor = req.principal
            try await req.application.writeTransaction { db in
                if try await FundingCategory.query(on: db).filter(\.$programmeID == c.programmeID).filter(\.$code == code).first() != nil {
                    throw AppError(.conflict, "funding.category_exists", de: "Den Fördergegenstand \(code) gibt es in diesem Programm bereits.", en: "This category number exists already.", field: "code")
                }
                try await c.create(on: db)
                if let q = try await FundingProgramme.find(c.programmeID, on: db) { try await bump(db, q) }
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "funding.category.create",
                                       objectType: "funding_category", objectID: c.id?.uuidString ?? "", before: nil, after: "\(code) \(title): \(c.rule.descriptionDE)")
            }
            return req.redirect(to: "/foerderung/programme/\(p.id?.uuidString ?? "")?ok=kategorie", redirectType: .normal)
        } catch let e as AppError { return try await renderProgramme(req, p, form: f.f, error: e) }
    }

    /// "80", "75,5", "75.5" → basis points.
    static func percent(_ raw: String) -> Int? {
        let s = raw.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: ",", with: ".").trimmingCharacters(in: .whitespaces)
        guard let d = Decimal(string: s, locale: Locale(identifier: "en_US_POSIX")), d > 0, d <= 100 else { return nil }
        var bp = d * 100, rounded = Decimal()
        NSDecimalRound(&rounded, &bp, 0, .plain)
        guard rounded == bp else { return nil }
        return NSDecimalNumber(decimal: rounded).intValue
    }

    @Sendable func addCall(req: Request) async throws -> Response {
        try req.authorize(.fundingManage)
        let p = try await programmeOr404(req)
        let f = FundingForm(req)
        do {
            let title = try f.text("aufruf_titel", "den Titel des Aufrufs")
            let opens = try f.day("oeffnet", "den ersten Tag")
            let closes = try f.day("schliesst", "den letzten Tag")
            guard opens <= closes else { throw AppError.invalid("schliesst", de: "Der letzte Tag darf nicht vor dem ersten liegen.", en: "The last day must not be before the first.") }
            let c = FundingCall()
            c.programmeID = try p.requireID(); c.title = title; c.opensOn = opens; c.closesOn = closes; c.createdBy = req.principal.auditActor; c.createdAt = Date()
            let actor = req.principal
            try await req.application.writeTransaction { db in
                try await c.create(on: db)
                if let q = try await FundingProgramme.find(c.programmeID, on: db) { try await bump(db, q) }
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "funding.call.create",
                                       objectType: "funding_call", objectID: c.id?.uuidString ?? "", before: nil, after: "\(title): \(opens) bis \(closes)")
            }
            return req.redirect(to: "/foerderung/programme/\(p.id?.uuidString ?? "")?ok=aufruf", redirectType: .normal)
        } catch let e as AppError { return try await renderProgramme(req, p, form: f.f, error: e) }
    }

    @Sendable func addBudget(req: Request) async throws -> Response {
        try req.authorize(.fundingManage)
        let p = try await programmeOr404(req)
        let f = FundingForm(req)
        do {
            guard let year = try f.int("jahr", "das Haushaltsjahr", range: 2000...2100) else { throw AppError.notFound }
            let source = try f.source("quelle")
            let cents = try f.money("betrag", "den Betrag")
            guard cents > 0 else { throw AppError.invalid("betrag", de: "Der Ansatz muss größer als 0 € sein.", en: "The amount must be above 0 €.") }
            let ve = !f["ve"].isEmpty
            let note = try f.text("vermerk", "einen Vermerk", max: 200, required: false)
            let actor = req.principal
            let pid = try p.requireID()
            try await req.application.writeTransaction { db in
                _ = try await FundingService.lockBudget(db, pid)
                try await FundingService.book(db, programme: pid, key: BudgetKey(year: year, source: source), kind: .plan, cents: cents, application: nil,
                                              note: note.isEmpty ? (ve ? "Verpflichtungsermächtigung" : "Haushaltsansatz") : note, actor: actor.auditActor, ve: ve)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "funding.budget.plan",
                                       objectType: "funding_programme", objectID: pid.uuidString, before: nil,
                                       after: "\(year) \(source.short): \(Money(cents: cents).formattedDE)\(ve ? " (VE)" : "")")
            }
            return req.redirect(to: "/foerderung/programme/\(pid)?ok=ansatz", redirectType: .normal)
        } catch let e as AppError { return try await renderProgramme(req, p, form: f.f, error: e) }
    }

    // MARK: ranking

    struct RankRow: Encodable { var id: String; var rank: Int; var reference: String; var tenant: String; var title: String; var score: String; var amount: String; var cumulative: String; var fits: Bool }
    struct RankingView: Encodable { var call: String; var available: String; var rows: [RankRow]; var demand: String; var oversubscribed: Bool }

    @Sendable func ranking(req: Request) async throws -> Response {
        try req.authorize(.fundingDecide)
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)), let call = try await FundingCall.find(id, on: req.db) else { throw AppError.notFound }
        let pending = try await FundingApplication.query(on: req.db).filter(\.$callID == id)
            .filter(\.$status ~~ [FundingStatus.submitted.rawValue, FundingStatus.query.rawValue]).all()
        let (positions, _, _) = try await Self.positions(req.db, programme: call.programmeID)
        let available = positions.reduce(Int64(0)) { $0 + max(0, $1.available) }
        let places = Ranking.rank(pending.compactMap { a in a.id.map { Ranking.Candidate(id: $0.uuidString, score: a.score, submittedAt: a.submittedAt?.timeIntervalSince1970 ?? 0, cents: a.requestedCents) } },
                                  availableCents: available)
        let byID = Dictionary(pending.compactMap { a in a.id.map { ($0.uuidString, a) } }, uniquingKeysWith: { a, _ in a })
        let rows = places.compactMap { pl -> RankRow? in
            guard let a = byID[pl.id] else { return nil }
            return RankRow(id: pl.id, rank: pl.rank, reference: a.reference, tenant: a.tenantName, title: a.title, score: a.score.map(String.init) ?? "–",
                           amount: FundingFormat.money(a.requestedCents), cumulative: FundingFormat.money(pl.cumulativeCents), fits: pl.fits)
        }
        let demand = pending.reduce(Int64(0)) { $0 + $1.requestedCents }
        return try await req.render("foerderung/rangfolge", title: req.t("fo_ranking_title"),
                                    RankingView(call: call.title, available: FundingFormat.money(available), rows: rows, demand: FundingFormat.money(demand), oversubscribed: demand > available))
    }

    // MARK: export

    /// Released payouts for the state cash office: integer cents and euros, formula-safe (`CSV.document`).
    @Sendable func payoutExport(req: Request) async throws -> Response {
        try req.authorize(.fundingDecide)
        let payouts = try await FundingPayout.query(on: req.db).filter(\.$status == "ausgezahlt").sort(\.$releasedAt).all()
        let apps = try await FundingApplication.query(on: req.db).filter(\.$id ~~ payouts.map(\.applicationID)).all()
        let byID = Dictionary(apps.compactMap { a in a.id.map { ($0, a) } }, uniquingKeysWith: { a, _ in a })
        var lines: [[String]] = [["Aktenzeichen", "Empfänger", "ARS", "Haushaltsjahr", "Mittelherkunft", "Betrag_Cent", "Betrag_EUR", "Freigegeben_am", "Freigegeben_von", "Zweck"]]
        for p in payouts {
            guard let a = byID[p.applicationID] else { continue }
            lines.append([a.reference, a.tenantName, a.tenantARS, String(p.year), FundingSource(rawValue: p.source)?.short ?? p.source, String(p.cents),
                          Money(cents: p.cents).decimalString.replacingOccurrences(of: ".", with: ","), p.releasedAt.map { GermanTime.format($0, english: false) } ?? "", p.releasedBy ?? "", "Zuwendung \(a.reference) \(a.title)"])
        }
        let res = Response(status: .ok, body: .init(string: CSV.document(lines, delimiter: ";")))
        res.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"foerderung-auszahlungen.csv\"")
        return res
    }
}
