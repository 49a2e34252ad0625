import Fluent
import SQLKit
import Vapor
import Rollout
import RathausCore

/// The monitor's reads (matrix, demand) and its daily work (aggregation, deletion, snapshots,
/// monthly digest). Everything reads SQL aggregates; no table is loaded row by row into models.
enum RolloutService {
    struct Matrix: Sendable {
        var rows: [TenantRow]
        var columns: [ColumnInfo]
    }

    struct ColumnInfo: Sendable {
        var key: String, titleDE: String, titleEN: String
        func title(_ english: Bool) -> String { english ? titleEN : titleDE }
    }

    struct TenantSQL: Decodable { var ars: String; var name: String; var level: String; var kreis_ars: String; var latitude: Double?; var longitude: Double? }

    /// Every tenant of the Land (Gemeinden, VG, Kreise) with every registered column; `scope`
    /// (an ARS prefix, e.g. one tenant for its cockpit) narrows every query.
    static func matrix(_ app: Application, land: String = FundingService.stateKey, scope: String? = nil, now: Date = Date()) async throws -> Matrix {
        guard let sql = app.db as? any SQLDatabase else { return Matrix(rows: [], columns: []) }
        let scope = scope ?? land
        let like = RolloutSQL.like(scope)
        let trace = Environment.get("RATHAUS_ROLLOUT_TRACE") != nil
        var mark = DispatchTime.now().uptimeNanoseconds
        func lap(_ what: String) {
            guard trace else { return }
            let t = DispatchTime.now().uptimeNanoseconds
            app.logger.notice("matrix \(what): \(Double(t - mark) / 1e6) ms")
            mark = t
        }
        let tenants = try await RolloutSQL.packed(app.db, """
            SELECT ars, name, level, kreis_ars, latitude, longitude FROM gebiete
            WHERE land_code = \(bind: land) AND joinable = \(bind: true) AND level <> 'land' AND ars LIKE \(bind: like)
            """, columns: ["ars", "name", "level", "kreis_ars", "latitude", "longitude"]).compactMap { r -> TenantSQL? in
                guard r.count == 6 else { return nil }
                return TenantSQL(ars: String(r[0]), name: String(r[1]), level: String(r[2]), kreis_ars: String(r[3]),
                                 latitude: Double(r[4]), longitude: Double(r[5]))
            }
        let kreisNames = Dictionary(try await sql.raw("SELECT ars, name FROM gebiete WHERE land_code = \(bind: land) AND level = 'kreis'")
            .all(decoding: NameRow.self).map { ($0.ars, $0.name) }, uniquingKeysWith: { a, _ in a })
        lap("tenants")
        // providers at once: on PostgreSQL their queries run side by side; on SQLite the one
        // connection takes them in turn while the others build their columns
        let providers = app.rollout.all
        let perProvider = try await withThrowingTaskGroup(of: (Int, [RolloutColumn]).self) { group in
            for (i, p) in providers.enumerated() { group.addTask { (i, try await p.columns(app.db, now, scope)) } }
            var out = [[RolloutColumn]](repeating: [], count: providers.count)
            for try await (i, c) in group { out[i] = c }
            return out
        }
        let columns = perProvider.flatMap { $0 }
        lap("providers")
        let memberStatus = Dictionary(try await sql.raw("SELECT tenant_ars AS ars, status AS name FROM memberships WHERE tenant_ars LIKE \(bind: like)")
            .all(decoding: NameRow.self).map { ($0.ars, $0.name) }, uniquingKeysWith: { a, _ in a })
        var rows: [TenantRow] = []
        rows.reserveCapacity(tenants.count)
        var index: [String: Int] = [:]
        index.reserveCapacity(tenants.count)
        for t in tenants {
            index[t.ars] = rows.count
            rows.append(TenantRow(ars: t.ars, name: t.name, level: t.level, kreisARS: t.kreis_ars, kreisName: kreisNames[t.kreis_ars] ?? t.kreis_ars,
                                  membership: memberStatus[t.ars] ?? "none", latitude: t.latitude, longitude: t.longitude,
                                  states: Dictionary(minimumCapacity: 8)))
        }
        lap("rows")
        // column by column over the tenants that have a value (most cells are empty), not
        // tenants × columns lookups
        for c in columns {
            for (ars, state) in c.states { if let i = index[ars] { rows[i].states[c.key] = state } }
        }
        lap("cells")
        rows.sort { $0.kreisName != $1.kreisName ? $0.kreisName < $1.kreisName : $0.name < $1.name }
        lap("sort")
        return Matrix(rows: rows, columns: columns.map { ColumnInfo(key: $0.key, titleDE: $0.titleDE, titleEN: $0.titleEN) })
    }

    struct NameRow: Decodable { var ars: String; var name: String }

    // MARK: recording

    /// Records one finder search (called by the finder after it resolved service and place).
    static func record(_ app: Application, serviceKey: String?, tenant: String?, kreis: String, offerable: Bool, available: Bool, unfound: String?, now: Date = Date()) async {
        let e = FinderSearchEvent()
        e.day = BusinessDate.today(now); e.serviceKey = serviceKey ?? ""; e.tenantARS = tenant ?? ""; e.kreisARS = kreis
        e.offerable = offerable; e.available = available; e.query = unfound.map(Demand.normalise) ?? ""; e.aggregated = false
        guard !e.serviceKey.isEmpty || !e.query.isEmpty else { return }
        // statistics must never break a search: a failed write is logged and dropped
        do { try await app.writeTransaction { db in try await e.create(on: db) } } catch {
            app.logger.warning("Suchstatistik nicht gespeichert: \(String(describing: error))")
        }
    }

    // MARK: daily job

    struct DemandAgg: Decodable { var day: String; var service_key: String; var tenant_ars: String; var kreis_ars: String; var offerable: Bool; var n: Int; var without: Int }
    struct UnfoundAgg: Decodable { var day: String; var query: String; var n: Int }

    /// Adds every not yet aggregated search to the daily tables and marks it, in one transaction
    /// (a second run, or a second instance, finds nothing left to add); deletes raw searches older
    /// than 30 days; takes this month's snapshot.
    static func daily(_ app: Application, now: Date) async throws -> (events: Int, deleted: Int, snapshot: Int) {
        let (n, deleted) = try await app.writeTransaction { db -> (Int, Int) in
            guard let sql = db as? any SQLDatabase else { return (0, 0) }
            let demand = try await sql.raw("""
                SELECT day, service_key, tenant_ars, kreis_ars, offerable, COUNT(*) AS n,
                       CAST(SUM(CASE WHEN available THEN 0 ELSE 1 END) AS BIGINT) AS without
                FROM finder_search_events WHERE aggregated = \(bind: false) AND service_key <> ''
                GROUP BY day, service_key, tenant_ars, kreis_ars, offerable
                """).all(decoding: DemandAgg.self)
            for d in demand {
                if let row = try await FinderDemandDaily.query(on: db).filter(\.$day == d.day).filter(\.$serviceKey == d.service_key).filter(\.$tenantARS == d.tenant_ars).first() {
                    row.searches += d.n; row.withoutOnline += d.without; row.offerable = row.offerable || d.offerable
                    try await row.save(on: db)
                } else {
                    let row = FinderDemandDaily()
                    row.day = d.day; row.serviceKey = d.service_key; row.tenantARS = d.tenant_ars; row.kreisARS = d.kreis_ars; row.offerable = d.offerable
                    row.searches = d.n; row.withoutOnline = d.without
                    try await row.create(on: db)
                }
            }
            let unfound = try await sql.raw("""
                SELECT day, query, COUNT(*) AS n FROM finder_search_events WHERE aggregated = \(bind: false) AND query <> '' GROUP BY day, query
                """).all(decoding: UnfoundAgg.self)
            for u in unfound {
                if let row = try await FinderUnfoundDaily.query(on: db).filter(\.$day == u.day).filter(\.$query == u.query).first() {
                    row.searches += u.n
                    try await row.save(on: db)
                } else {
                    let row = FinderUnfoundDaily()
                    row.day = u.day; row.query = u.query; row.searches = u.n
                    try await row.create(on: db)
                }
            }
            let count = try await FinderSearchEvent.query(on: db).filter(\.$aggregated == false).count()
            try await FinderSearchEvent.query(on: db).filter(\.$aggregated == false).set(\.$aggregated, to: true).update()
            let cutoff = BusinessDate.today(now.addingTimeInterval(-30 * 86400))
            let old = try await FinderSearchEvent.query(on: db).filter(\.$day < cutoff).count()
            try await FinderSearchEvent.query(on: db).filter(\.$day < cutoff).delete()
            return (count, old)
        }
        let snapshot = try await takeSnapshot(app, now: now)
        return (n, deleted, snapshot)
    }

    /// This month's share per capability (replaced on every run of the month, so the last run counts).
    static func takeSnapshot(_ app: Application, now: Date) async throws -> Int {
        let m = try await matrix(app, now: now)
        let month = String(BusinessDate.today(now).prefix(7))
        let (total, _) = RolloutAggregate.shares(m.rows, capabilities: m.columns.map(\.key))
        try await app.writeTransaction { db in
            try await RolloutSnapshot.query(on: db).filter(\.$month == month).delete()
            for (k, s) in total {
                let r = RolloutSnapshot()
                r.month = month; r.capability = k; r.live = s.live; r.total = s.total; r.takenAt = now
                try await r.create(on: db)
            }
        }
        return total.count
    }

    // MARK: demand

    struct SignalRow: Sendable { var serviceKey: String; var serviceName: String; var tenant: String; var tenantName: String; var kreis: String; var searches: Int; var slug: String? }

    struct DemandSQL: Decodable { var service_key: String; var tenant_ars: String; var n: Int }

    /// Searches of the last 90 days for services the responsible tenant does not offer online,
    /// without those it offers now, most searched first.
    static func signals(_ app: Application, tenant: String? = nil, kreis: String? = nil, now: Date = Date()) async throws -> [SignalRow] {
        guard let sql = app.db as? any SQLDatabase else { return [] }
        let from = BusinessDate.today(now.addingTimeInterval(-90 * 86400))
        var q = SQLQueryString("SELECT service_key, tenant_ars, CAST(SUM(without_online) AS BIGINT) AS n FROM finder_demand_daily WHERE day >= \(bind: from) AND tenant_ars <> ''")
        if let tenant { q = q + " AND tenant_ars = \(bind: tenant)" }
        if let kreis, !kreis.isEmpty { q = q + " AND kreis_ars = \(bind: kreis)" }
        q = q + " GROUP BY service_key, tenant_ars"
        let raw = try await sql.raw(q).all(decoding: DemandSQL.self).filter { $0.n > 0 }
        guard !raw.isEmpty else { return [] }
        let offers = try await OnlineServiceCatalogue.byLeika(on: app.db)
        let active = try await ServiceActivation.query(on: app.db).filter(\.$active == true).filter(\.$tenantARS ~~ Array(Set(raw.map(\.tenant_ars)))).all()
        let activeSet = Set(active.map { $0.tenantARS + "|" + $0.slug })
        var offeredNow = Set<String>()
        for r in raw where (offers[r.service_key] ?? []).contains(where: { activeSet.contains(r.tenant_ars + "|" + $0.slug) }) {
            offeredNow.insert(r.service_key + "|" + r.tenant_ars)
        }
        let ranked = Demand.rank(raw.map { .init(serviceKey: $0.service_key, tenant: $0.tenant_ars, searches: $0.n) }, offeredNow: offeredNow)
        let catalogue = app.finder.catalogue
        let names = try await Gebiet.query(on: app.db).filter(\.$id ~~ Array(Set(ranked.map(\.tenant)))).all()
        let nameOf = Dictionary(names.compactMap { g in g.id.map { ($0, (g.name, g.kreisARS)) } }, uniquingKeysWith: { a, _ in a })
        return ranked.map { s in
            SignalRow(serviceKey: s.serviceKey, serviceName: catalogue.service(s.serviceKey)?.name ?? s.serviceKey, tenant: s.tenant,
                      tenantName: nameOf[s.tenant]?.0 ?? s.tenant, kreis: nameOf[s.tenant]?.1 ?? "", searches: s.searches, slug: offers[s.serviceKey]?.first?.slug)
        }
    }

    struct UnfoundSQL: Decodable { var query: String; var n: Int }

    static func unfound(_ app: Application, now: Date = Date()) async throws -> [(query: String, count: Int)] {
        guard let sql = app.db as? any SQLDatabase else { return [] }
        let from = BusinessDate.today(now.addingTimeInterval(-90 * 86400))
        let rows = try await sql.raw("SELECT query, CAST(SUM(searches) AS BIGINT) AS n FROM finder_unfound_daily WHERE day >= \(bind: from) GROUP BY query").all(decoding: UnfoundSQL.self)
        return Demand.visible(Dictionary(rows.map { ($0.query, $0.n) }, uniquingKeysWith: +))
    }

    // MARK: cockpit facts and tasks

    static func tasks(_ app: Application, tenant ars: String) async throws -> [SetupTasks.Task] {
        let db = app.db
        var f = SetupTasks.Facts()
        let offices = try await Office.query(on: db).filter(\.$tenantARS == ars).all()
        f.offices = offices.count
        f.officesWithoutHours = offices.filter { $0.openingHours.weekly.values.allSatisfy(\.isEmpty) }.map(\.name)
        f.ownResponsibilities = try await Responsibility.query(on: db).filter(\.$tenantARS == ars).count()
        f.leitwegIDs = try await LeitwegEntry.query(on: db).filter(\.$tenantARS == ars).filter(\.$active == true).count()
        let activations = try await ServiceActivation.query(on: db).filter(\.$tenantARS == ars).filter(\.$active == true).all()
        let titles = Dictionary(try await OnlineServiceCatalogue.latest(on: db).map { ($0.slug, $0.title) }, uniquingKeysWith: { a, _ in a })
        f.activationsWithoutOffice = activations.filter { $0.officeID == nil }.map { titles[$0.slug] ?? $0.slug }
        let settings = try await PaymentSettings.query(on: db).filter(\.$tenantARS == ars).first()
        let feeServices = activations.filter { ($0.feePolicy ?? "keine") != "keine" }
        f.paymentProviderMissing = !feeServices.isEmpty && (settings?.provider ?? "").isEmpty
        f.feeServicesWithoutBooking = feeServices.filter { ($0.haushaltsstelle ?? "").isEmpty && (settings?.haushaltsstelle ?? "").isEmpty }.map { titles[$0.slug] ?? $0.slug }
        f.demand = try await signals(app, tenant: ars).prefix(5).map { ($0.serviceName, $0.slug, $0.searches) }
        // a municipality whose offices and responsibilities live with its VG (member Gemeinden) has no finder tasks of its own
        if f.offices == 0, let g = try await Gebiet.find(ars, on: db), let parent = g.parentARS, parent.count == 9 {
            f.offices = 1; f.ownResponsibilities = max(f.ownResponsibilities, 1)
        }
        return SetupTasks.tasks(f, tenant: ars)
    }

    struct MonthCount: Decodable { var month: String; var n: Int; var total: Int64? }

    /// Applications, invoices and payments per month of the last 12 months.
    static func usage(_ app: Application, tenant ars: String, now: Date = Date()) async throws -> [(month: String, applications: Int, invoices: Int, invoiceCents: Int64, payments: Int, paymentCents: Int64)] {
        guard let sql = app.db as? any SQLDatabase else { return [] }
        let from = now.addingTimeInterval(-366 * 86400)
        // months are cut in Swift (the engines format dates differently); only the rows of one tenant and year are read
        struct D: Decodable { var at: Date; var cents: Int64? }
        let apps = try await sql.raw("SELECT submitted_at AS at, CAST(NULL AS BIGINT) AS cents FROM antraege WHERE tenant_ars = \(bind: ars) AND submitted_at >= \(bind: from)").all(decoding: D.self)
        let invs = try await sql.raw("SELECT received_at AS at, total_cents AS cents FROM rechnungen WHERE tenant_ars = \(bind: ars) AND received_at >= \(bind: from)").all(decoding: D.self)
        let pays = try await sql.raw("SELECT created_at AS at, amount_cents AS cents FROM payments WHERE tenant_ars = \(bind: ars) AND status = \(bind: PaymentStatus.payed.rawValue) AND created_at >= \(bind: from)").all(decoding: D.self)
        var months: [String] = []
        var c = Calendar(identifier: .gregorian); c.timeZone = TimeZone(identifier: "Europe/Berlin") ?? .current
        for i in (0..<12).reversed() {
            if let d = c.date(byAdding: .month, value: -i, to: now) { months.append(String(BusinessDate.today(d).prefix(7))) }
        }
        func month(_ d: Date) -> String { String(BusinessDate.today(d).prefix(7)) }
        return months.map { m in
            let i = invs.filter { month($0.at) == m }, p = pays.filter { month($0.at) == m }
            return (m, apps.filter { month($0.at) == m }.count, i.count, i.reduce(0) { $0 + ($1.cents ?? 0) }, p.count, p.reduce(0) { $0 + ($1.cents ?? 0) })
        }
    }

    // MARK: monthly digest

    /// The digest for the month before `now`, to every tenant admin who did not opt out; the
    /// outbox key names tenant, month and person, so each digest is queued once.
    static func digest(_ app: Application, now: Date) async throws -> Int {
        let month = String(BusinessDate.today(Calendar(identifier: .gregorian).date(byAdding: .month, value: -1, to: now) ?? now).prefix(7))
        let grants = try await RoleAssignment.query(on: app.db).all().filter { $0.grant.map { $0.role == .tenantAdmin && $0.isCurrent(at: now) } ?? false }
        let optOuts = Set(try await RolloutDigestOptOut.query(on: app.db).all().map { "\($0.userID)|\($0.tenantARS)" })
        var byTenant: [String: [UUID]] = [:]
        for g in grants { if let t = g.tenantARS, !optOuts.contains("\(g.userID)|\(t)") { byTenant[t, default: []].append(g.userID) } }
        let users = Dictionary(try await User.query(on: app.db).filter(\.$id ~~ Array(Set(grants.map(\.userID)))).all().compactMap { u in u.id.map { ($0, u) } },
                               uniquingKeysWith: { a, _ in a })
        var queued = 0
        for (ars, ids) in byTenant.sorted(by: { $0.key < $1.key }) {
            let name = try await Gebiet.find(ars, on: app.db)?.name ?? ars
            let tasks = try await tasks(app, tenant: ars)
            let use = try await usage(app, tenant: ars, now: now).first { $0.month == month }
            let monthLabel = month.split(separator: "-").reversed().joined(separator: ".")
            let body = """
                Guten Tag,

                der Monatsbericht \(monthLabel) für \(name):

                Anträge: \(use?.applications ?? 0)
                E-Rechnungen: \(use?.invoices ?? 0) über \(Money(cents: use?.invoiceCents ?? 0).formattedDE)
                Zahlungen: \(use?.payments ?? 0) über \(Money(cents: use?.paymentCents ?? 0).formattedDE)

                Offene Aufgaben (\(tasks.count)):
                \(tasks.isEmpty ? "keine" : tasks.map { "- \($0.de)\n  \(app.rathaus.publicURL)\($0.link)" }.joined(separator: "\n"))

                Ihre Übersicht: \(app.rathaus.publicURL)/mandanten/\(ars)/cockpit
                Diesen Bericht abbestellen können Sie dort mit einem Klick.
                """
            for id in ids {
                guard let u = users[id] else { continue }
                let sent = try await app.writeTransaction { db in
                    try await Outbox.enqueue(on: db, key: "rollout-digest-\(ars)-\(month)-\(id)", to: u.email, subject: "Monatsbericht \(monthLabel): \(name)", body: body)
                }
                if sent { queued += 1 }
            }
        }
        return queued
    }
}
