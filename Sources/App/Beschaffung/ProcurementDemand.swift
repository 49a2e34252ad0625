import Fluent
import Foundation
import Procurement
import RathausCore
import SQLKit
import Vapor

/// Demand bundling (Bedarfsabfrage): before tendering a new framework the provider asks members
/// for their expected quantities per item and year; results per Kreis and in total, CSV export.
final class DemandRound: Model, @unchecked Sendable {
    static let schema = "procurement_demand_rounds"
    @ID(key: .id) var id: UUID?
    @Field(key: "title") var title: String
    @Field(key: "description") var description: String
    @Field(key: "first_year") var firstYear: Int
    @Field(key: "last_year") var lastYear: Int
    @Field(key: "closes_on") var closesOn: String
    @Field(key: "status") var status: String       // offen | geschlossen
    @Field(key: "created_by") var createdBy: String
    @Field(key: "created_at") var createdAt: Date
    init() {}
    var years: [Int] { Array(firstYear...max(firstYear, lastYear)) }
    func isOpen(on day: String) -> Bool { status == "offen" && day <= closesOn }
}

final class DemandItem: Model, @unchecked Sendable {
    static let schema = "procurement_demand_items"
    @ID(key: .id) var id: UUID?
    @Field(key: "round_id") var roundID: UUID
    @Field(key: "position") var position: Int
    @Field(key: "name") var name: String
    @Field(key: "unit_code") var unitCode: String
    init() {}
}

final class DemandAnswer: Model, @unchecked Sendable {
    static let schema = "procurement_demand_answers"
    @ID(key: .id) var id: UUID?
    @Field(key: "round_id") var roundID: UUID
    @Field(key: "item_id") var itemID: UUID
    @Field(key: "tenant_ars") var tenantARS: String
    @Field(key: "year") var year: Int
    @Field(key: "quantity") var quantity: Int
    @Field(key: "answered_by") var answeredBy: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

struct M036CreateDemandRounds: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(DemandRound.schema)
            .id()
            .field("title", .string, .required).field("description", .string, .required).field("first_year", .int, .required)
            .field("last_year", .int, .required).field("closes_on", .string, .required).field("status", .string, .required)
            .field("created_by", .string, .required).field("created_at", .datetime, .required)
            .create()
        try await database.schema(DemandItem.schema)
            .id()
            .field("round_id", .uuid, .required).field("position", .int, .required).field("name", .string, .required).field("unit_code", .string, .required)
            .create()
        try await database.schema(DemandAnswer.schema)
            .id()
            .field("round_id", .uuid, .required).field("item_id", .uuid, .required).field("tenant_ars", .string, .required).field("year", .int, .required)
            .field("quantity", .int, .required).field("answered_by", .string, .required).field("updated_at", .datetime, .required)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "procurement_demand_items_idx").on(DemandItem.schema).column("round_id").run()
        try await sql.create(index: "procurement_demand_answers_uq").unique().on(DemandAnswer.schema)
            .column("round_id").column("item_id").column("tenant_ars").column("year").run()
    }

    func revert(on database: any Database) async throws {
        for s in [DemandAnswer.schema, DemandItem.schema, DemandRound.schema] { try await database.schema(s).delete() }
    }
}

enum ProcurementDemand {
    struct RoundInput: Sendable { var title: String; var description: String; var firstYear: Int; var lastYear: Int; var closesOn: String; var items: [(String, String)] }

    /// Items as lines "Bezeichnung;Einheit" (unit optional, default Stück).
    static func read(_ f: FundingForm) throws -> RoundInput {
        let title = try f.text("titel", "den Titel der Bedarfsabfrage", max: 200)
        let description = try f.text("beschreibung", "die Beschreibung", max: 4000, required: false)
        let first = try f.int("von", "das erste Jahr", range: 2000...2200) ?? 2027
        let last = try f.int("bis", "das letzte Jahr", range: 2000...2200) ?? first
        guard last >= first, last - first <= 5 else {
            throw AppError.invalid("bis", de: "Das letzte Jahr muss zwischen dem ersten und fünf Jahre danach liegen.", en: "The last year must be between the first and five years later.")
        }
        let closes = try f.day("frist", "die Antwortfrist")
        guard closes >= BusinessDate.today() else { throw AppError.invalid("frist", de: "Die Antwortfrist liegt in der Vergangenheit.", en: "The deadline is in the past.") }
        var items: [(String, String)] = []
        for (i, raw) in f["artikel"].split(whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let parts = line.split(separator: ";", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let unit = parts.count > 1 && !parts[1].isEmpty ? parts[1].uppercased() : "C62"
            guard !parts[0].isEmpty, parts[0].count <= 200, !parts[0].unicodeScalars.contains(where: { $0.value < 0x20 }) else {
                throw AppError.invalid("artikel", de: "Zeile \(i + 1): Die Bezeichnung fehlt oder ist länger als 200 Zeichen.", en: "Line \(i + 1): the name is missing or too long.")
            }
            guard UnitCode.isKnown(unit) else {
                throw AppError.invalid("artikel", de: "Zeile \(i + 1): Die Einheit „\(String(parts[1].prefix(10)))“ ist unbekannt; erlaubt sind \(UnitCode.all.map(\.code).joined(separator: ", ")).",
                                       en: "Line \(i + 1): unknown unit.")
            }
            items.append((parts[0], unit))
        }
        guard !items.isEmpty, items.count <= 100 else {
            throw AppError.invalid("artikel", de: "Bitte geben Sie 1 bis 100 Artikel an, je Zeile „Bezeichnung;Einheit“.", en: "Please give 1 to 100 items, one per line.")
        }
        return RoundInput(title: title, description: description, firstYear: first, lastYear: last, closesOn: closes, items: items)
    }

    static func create(_ app: Application, _ input: RoundInput, actor: any AuditActing) async throws -> UUID {
        try await app.writeTransaction { db in
            let r = DemandRound()
            r.id = UUID(); r.title = input.title; r.description = input.description; r.firstYear = input.firstYear; r.lastYear = input.lastYear
            r.closesOn = input.closesOn; r.status = "offen"; r.createdBy = actor.auditActor; r.createdAt = Date()
            try await r.create(on: db)
            for (i, it) in input.items.enumerated() {
                let item = DemandItem()
                item.id = UUID(); item.roundID = r.id!; item.position = i + 1; item.name = it.0; item.unitCode = it.1
                try await item.create(on: db)
            }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "beschaffung.bedarf", objectType: "bedarfsabfrage",
                                   objectID: r.id!.uuidString, before: nil,
                                   after: AuditFields.encode([("Titel", r.title), ("Jahre", "\(r.firstYear)–\(r.lastYear)"), ("Frist", CalendarDay.display(r.closesOn)), ("Artikel", "\(input.items.count)")]))
            return r.id!
        }
    }

    /// A tenant's quantities (item × year); empty fields count as 0. The whole answer replaces the previous one.
    static func answer(_ app: Application, round r: DemandRound, tenant: String, quantities: [UUID: [Int: Int]], actor: any AuditActing) async throws {
        guard r.isOpen(on: BusinessDate.today()) else {
            throw AppError(.conflict, "beschaffung.bedarf_geschlossen", de: "Die Bedarfsabfrage „\(r.title)“ ist geschlossen.", en: "The demand survey is closed.")
        }
        try await app.writeTransaction { db in
            let before = try await DemandAnswer.query(on: db).filter(\.$roundID == r.id!).filter(\.$tenantARS == tenant).all()
            let sum = { (rows: [(Int)]) in rows.reduce(0, +) }
            try await DemandAnswer.query(on: db).filter(\.$roundID == r.id!).filter(\.$tenantARS == tenant).delete()
            var total = 0
            for (item, byYear) in quantities {
                for (year, q) in byYear where q > 0 {
                    let a = DemandAnswer()
                    a.id = UUID(); a.roundID = r.id!; a.itemID = item; a.tenantARS = tenant; a.year = year; a.quantity = q
                    a.answeredBy = actor.auditActor; a.updatedAt = Date()
                    try await a.create(on: db)
                    total += q
                }
            }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: tenant, action: "beschaffung.bedarf_antwort",
                                   objectType: "bedarfsabfrage", objectID: r.id!.uuidString, before: before.isEmpty ? nil : "\(sum(before.map(\.quantity))) Einheiten",
                                   after: "\(total) Einheiten")
        }
    }

    struct ResultRow: Sendable { var item: DemandItem; var byYear: [Int: Int]; var total: Int }
    struct KreisRow: Sendable { var kreis: String; var name: String; var tenants: Int; var byItem: [UUID: Int] }

    static func results(_ db: any Database, round r: DemandRound) async throws -> (items: [ResultRow], kreise: [KreisRow], tenants: Int) {
        let items = try await DemandItem.query(on: db).filter(\.$roundID == r.id!).sort(\.$position).all()
        let answers = try await DemandAnswer.query(on: db).filter(\.$roundID == r.id!).all()
        let rows = items.map { it -> ResultRow in
            let mine = answers.filter { $0.itemID == it.id }
            var byYear: [Int: Int] = [:]
            for a in mine { byYear[a.year, default: 0] += a.quantity }
            return ResultRow(item: it, byYear: byYear, total: mine.reduce(0) { $0 + $1.quantity })
        }
        let byKreis = Dictionary(grouping: answers) { String($0.tenantARS.prefix(5)) }
        let names = Dictionary(try await Gebiet.query(on: db).filter(\.$id ~~ Array(byKreis.keys)).all().map { ($0.ars, $0.name) }, uniquingKeysWith: { a, _ in a })
        let kreise = byKreis.keys.sorted().map { k -> KreisRow in
            let list = byKreis[k] ?? []
            var byItem: [UUID: Int] = [:]
            for a in list { byItem[a.itemID, default: 0] += a.quantity }
            return KreisRow(kreis: k, name: names[k] ?? k, tenants: Set(list.map(\.tenantARS)).count, byItem: byItem)
        }
        return (rows, kreise, Set(answers.map(\.tenantARS)).count)
    }
}

struct ProcurementDemandController {
    func addRoutes(to app: any RoutesBuilder) {
        let e = app.grouped("einkauf", "bedarf")
        e.get(use: rounds)
        e.post(use: create)
        e.get(":id", use: results)
        e.get(":id", "ergebnis.csv", use: csv)
        e.post(":id", "schliessen", use: close)
        let t = app.grouped("mandanten", ":ars", "beschaffung", "bedarf")
        t.get(":id", use: form)
        t.post(":id", use: save)
    }

    typealias Opt = ProcurementMemberController.Opt

    /// 12345 → "12.345" (German) or "12,345" (English).
    static func grouped(_ x: Int, english: Bool) -> String {
        let digits = String(abs(x))
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(english ? "," : ".") }
            out.append(ch)
        }
        return (x < 0 ? "-" : "") + out
    }
    struct RoundRow: Encodable { var id: String; var title: String; var years: String; var closes: String; var status: String; var link: String }
    struct RoundsView: Encodable { var rows: [RoundRow]; var form: [String: String] }

    static func row(_ r: DemandRound, en: Bool, link: String) -> RoundRow {
        RoundRow(id: r.id!.uuidString, title: r.title, years: "\(r.firstYear)–\(r.lastYear)", closes: CalendarDay.display(r.closesOn, english: en),
                 status: r.isOpen(on: BusinessDate.today()) ? (en ? "open" : "offen") : (en ? "closed" : "geschlossen"), link: link)
    }

    func renderRounds(_ req: Request, form: [String: String] = [:], error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let list = try await DemandRound.query(on: req.db).sort(\.$createdAt, .descending).all()
        let v = RoundsView(rows: list.map { Self.row($0, en: en, link: "/einkauf/bedarf/\($0.id!.uuidString)") }, form: form)
        let title = req.t("pr_demand_title")
        if let error { return try await req.renderError("beschaffung/bedarf", title: title, v, error) }
        return try await req.render("beschaffung/bedarf", title: title, v, form: true)
    }

    @Sendable func rounds(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        return try await renderRounds(req, form: ["von": String((Int(BusinessDate.today().prefix(4)) ?? 2026) + 1), "bis": String((Int(BusinessDate.today().prefix(4)) ?? 2026) + 3)])
    }

    @Sendable func create(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let f = FundingForm(req)
        do {
            let id = try await ProcurementDemand.create(req.application, try ProcurementDemand.read(f), actor: req.principal)
            return req.redirect(to: "/einkauf/bedarf/\(id.uuidString)", redirectType: .normal)
        } catch let e as AppError {
            return try await renderRounds(req, form: f.f, error: e)
        }
    }

    static func round(_ req: Request) async throws -> DemandRound {
        guard let id = req.parameters.get("id", as: UUID.self), let r = try await DemandRound.find(id, on: req.db) else { throw AppError.notFound }
        return r
    }

    struct ItemResult: Encodable { var name: String; var unit: String; var years: [String]; var total: String }
    struct KreisResult: Encodable { var name: String; var tenants: Int; var quantities: [String] }
    struct ResultsView: Encodable {
        var id: String; var title: String; var description: String; var status: String; var closes: String; var open: Bool; var years: [String]
        var items: [ItemResult]; var itemNames: [String]; var kreise: [KreisResult]; var tenants: Int
    }

    @Sendable func results(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let r = try await Self.round(req)
        let en = req.lang == .en
        let res = try await ProcurementDemand.results(req.db, round: r)
        func n(_ x: Int) -> String { Self.grouped(x, english: en) }
        let v = ResultsView(
            id: r.id!.uuidString, title: r.title, description: r.description, status: Self.row(r, en: en, link: "").status, closes: CalendarDay.display(r.closesOn, english: en),
            open: r.status == "offen", years: r.years.map(String.init),
            items: res.items.map { row in ItemResult(name: row.item.name, unit: UnitCode.name(row.item.unitCode, english: en), years: r.years.map { y in n(row.byYear[y] ?? 0) }, total: n(row.total)) },
            itemNames: res.items.map(\.item.name),
            kreise: res.kreise.map { k in KreisResult(name: k.name, tenants: k.tenants, quantities: res.items.map { n(k.byItem[$0.item.id!] ?? 0) }) },
            tenants: res.tenants)
        return try await req.render("beschaffung/bedarf-ergebnis", title: "\(req.t("pr_demand_title")): \(r.title)", v, form: true)
    }

    @Sendable func csv(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let r = try await Self.round(req)
        let res = try await ProcurementDemand.results(req.db, round: r)
        let answers = try await DemandAnswer.query(on: req.db).filter(\.$roundID == r.id!).sort(\.$tenantARS).all()
        let names = Dictionary(try await Gebiet.query(on: req.db).filter(\.$id ~~ Array(Set(answers.map(\.tenantARS) + answers.map { String($0.tenantARS.prefix(5)) }))).all()
            .map { ($0.ars, $0.name) }, uniquingKeysWith: { a, _ in a })
        let items = Dictionary(res.items.map { ($0.item.id!, $0.item) }, uniquingKeysWith: { a, _ in a })
        var rows = [["Kreis", "Verwaltung", "ARS", "Artikel", "Einheit", "Jahr", "Menge"]]
        for a in answers {
            guard let it = items[a.itemID] else { continue }
            rows.append([names[String(a.tenantARS.prefix(5))] ?? "", names[a.tenantARS] ?? a.tenantARS, a.tenantARS, it.name, UnitCode.name(it.unitCode), String(a.year), String(a.quantity)])
        }
        for it in res.items { rows.append(["Gesamt", "", "", it.item.name, UnitCode.name(it.item.unitCode), "alle", String(it.total)]) }
        let out = Response(status: .ok, body: .init(string: CSV.document(rows, delimiter: ";")))
        out.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
        out.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"bedarf.csv\"")
        return out
    }

    @Sendable func close(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let r = try await Self.round(req)
        try await req.application.writeTransaction { [actor = req.principal] db in
            guard let fresh = try await DemandRound.find(r.id, on: db), fresh.status == "offen" else { return }
            fresh.status = "geschlossen"
            try await fresh.save(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "beschaffung.bedarf_geschlossen",
                                   objectType: "bedarfsabfrage", objectID: r.id!.uuidString, before: "offen", after: "geschlossen")
        }
        return req.redirect(to: "/einkauf/bedarf/\(r.id!.uuidString)", redirectType: .normal)
    }

    // MARK: members answer

    struct Cell: Encodable { var name: String; var value: String; var label: String }
    struct AnswerRow: Encodable { var name: String; var unit: String; var cells: [Cell] }
    struct AnswerView: Encodable {
        var ars: String; var tenantName: String; var id: String; var title: String; var description: String; var closes: String; var open: Bool
        var years: [String]; var rows: [AnswerRow]; var saved: Bool
    }

    func renderForm(_ req: Request, _ g: Gebiet, _ r: DemandRound, values: [String: String]? = nil, error: AppError? = nil) async throws -> Response {
        let en = req.lang == .en
        let items = try await DemandItem.query(on: req.db).filter(\.$roundID == r.id!).sort(\.$position).all()
        var current: [String: String] = [:]
        for a in try await DemandAnswer.query(on: req.db).filter(\.$roundID == r.id!).filter(\.$tenantARS == g.ars).all() {
            current["menge_\(a.itemID.uuidString)_\(a.year)"] = String(a.quantity)
        }
        let vals = values ?? current
        let v = AnswerView(ars: g.ars, tenantName: g.name, id: r.id!.uuidString, title: r.title, description: r.description, closes: CalendarDay.display(r.closesOn, english: en),
                           open: r.isOpen(on: BusinessDate.today()), years: r.years.map(String.init),
                           rows: items.map { it in AnswerRow(name: it.name, unit: UnitCode.name(it.unitCode, english: en), cells: r.years.map { y in
                               let name = "menge_\(it.id!.uuidString)_\(y)"
                               return Cell(name: name, value: vals[name] ?? "", label: "\(it.name) \(y)") }) },
                           saved: req.query[String.self, at: "ok"] != nil)
        let title = "\(req.t("pr_demand_title")): \(r.title)"
        if let error { return try await req.renderError("beschaffung/bedarf-antwort", title: title, v, error) }
        return try await req.render("beschaffung/bedarf-antwort", title: title, v, form: true)
    }

    @Sendable func form(req: Request) async throws -> Response {
        let g = try await ProcurementMemberController.tenant(req, .procurementOrder)
        return try await renderForm(req, g, try await Self.round(req))
    }

    @Sendable func save(req: Request) async throws -> Response {
        let g = try await ProcurementMemberController.tenant(req, .procurementOrder)
        let r = try await Self.round(req)
        let f = FundingForm(req)
        do {
            let items = try await DemandItem.query(on: req.db).filter(\.$roundID == r.id!).all()
            var q: [UUID: [Int: Int]] = [:]
            for it in items {
                for y in r.years {
                    let key = "menge_\(it.id!.uuidString)_\(y)"
                    let raw = f[key]
                    if raw.isEmpty { continue }
                    guard let n = Int(raw.replacingOccurrences(of: ".", with: "")), n >= 0, n <= 10_000_000 else {
                        throw AppError.invalid(key, de: "Die Menge für „\(it.name)“ im Jahr \(y) ist keine ganze Zahl (0 bis 10.000.000).", en: "The quantity for \(it.name) in \(y) is not a whole number.")
                    }
                    q[it.id!, default: [:]][y] = n
                }
            }
            try await ProcurementDemand.answer(req.application, round: r, tenant: g.ars, quantities: q, actor: req.principal)
            return req.redirect(to: "/mandanten/\(g.ars)/beschaffung/bedarf/\(r.id!.uuidString)?ok=1", redirectType: .normal)
        } catch let e as AppError {
            return try await renderForm(req, g, r, values: f.f, error: e)
        }
    }
}
