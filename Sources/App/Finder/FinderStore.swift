import Fluent
import SQLKit
import NIOConcurrencyHelpers
import Vapor
import Finder
import RathausCore

/// What the finder knows about a territorial unit.
struct AreaInfo: Sendable {
    let ars: String
    let name: String
    let level: String
    let typeCode: String?
}

/// An immutable, in-memory picture of catalogue, places, offices and responsibilities.
/// Requests read a snapshot without touching the database; changes build a new one.
final class FinderSnapshot: Sendable {
    let catalogue: FinderCatalogue
    let version: Int
    let areas: [AreaInfo]
    let areaIndex: [String: Int32]
    let offices: [Office.Snapshot]
    let officeIndex: [UUID: Int32]
    let places: PlaceIndex
    let resolver: ResponsibilityResolver

    init(catalogue: FinderCatalogue, version: Int, gebiete: [Gebiet], offices: [Office], entries: [Responsibility]) {
        self.catalogue = catalogue
        self.version = version
        var areaIndex: [String: Int32] = [:]
        var areas: [AreaInfo] = []
        for g in gebiete {
            areaIndex[g.ars] = Int32(areas.count)
            areas.append(AreaInfo(ars: g.ars, name: g.name, level: g.level, typeCode: g.typeCode))
        }
        var parent = [Int32](repeating: -1, count: areas.count)
        for g in gebiete {
            if let p = g.parentARS, let pi = areaIndex[p] { parent[Int(areaIndex[g.ars]!)] = pi }
        }
        var chains: [[Int32]] = []
        var kreisPos: [Int8] = []
        chains.reserveCapacity(areas.count)
        for i in 0..<areas.count {
            var chain: [Int32] = [Int32(i)]
            var p = parent[i]
            while p >= 0, chain.count < 8 {
                // Regierungsbezirke and planning regions are no bodies with offices; skip them
                if areas[Int(p)].level != "regierungsbezirk" && areas[Int(p)].level != "region" { chain.append(p) }
                p = parent[Int(p)]
            }
            chains.append(chain)
            kreisPos.append(Int8(chain.firstIndex { areas[Int($0)].level == "kreis" } ?? -1))
        }
        var officeIndex: [UUID: Int32] = [:]
        var snaps: [Office.Snapshot] = []
        var main: [Int32: Int32] = [:]
        for o in offices {
            guard let id = o.id else { continue }
            officeIndex[id] = Int32(snaps.count)
            if o.isMain, let a = areaIndex[o.tenantARS], main[a] == nil { main[a] = Int32(snaps.count) }
            snaps.append(Office.Snapshot(o))
        }
        // an erfüllende Gemeinde administers its Verband: GV100AD names the Verband after it
        for g in gebiete where g.level == "gemeindeverband" && g.typeCode == "58" {
            guard let v = areaIndex[g.ars], main[v] == nil else { continue }
            let key = PlaceIndex.nameKey(g.name)
            if let member = gebiete.first(where: { $0.parentARS == g.ars && PlaceIndex.nameKey($0.name) == key }),
               let m = areaIndex[member.ars], let office = main[m] {
                main[v] = office
            }
        }
        var resolved: [(service: Int32, area: Int32, role: ResponsibilityResolver.Role, office: Int32)] = []
        resolved.reserveCapacity(entries.count)
        for e in entries {
            guard let s = catalogue.index[e.leikaKey], let a = areaIndex[e.areaARS], let o = officeIndex[e.officeID] else { continue }
            resolved.append((s, a, e.role == "contact" ? .contact : .responsible, o))
        }
        resolver = ResponsibilityResolver(chains: chains, entries: resolved, mainOffices: main,
                                          kinds: catalogue.services.map { ResponsibilityResolver.kind(forTypisierung: $0.typisierung) },
                                          kreisIndex: kreisPos)
        var kreisName: [String: String] = [:]
        for g in gebiete where g.level == "kreis" { kreisName[g.ars] = g.name }
        places = PlaceIndex(gebiete.filter { $0.level == "gemeinde" && $0.dissolvedOn == nil }.map {
            Place(ars: $0.ars, name: $0.name, plz: $0.plzList.split(separator: ";").map(String.init), kreis: kreisName[$0.kreisARS] ?? "")
        })
        self.areas = areas
        self.areaIndex = areaIndex
        self.offices = snaps
        self.officeIndex = officeIndex
    }
}

/// The LeiKa catalogue and its search index: reference data, built once per process.
final class FinderCatalogue: Sendable {
    let services: [CatalogueService]
    let index: [String: Int32]
    let search: SearchIndex

    /// `extraSynonyms`: words the Land's editors added (`FinderSynonym`), on top of the shipped list.
    init(services: [CatalogueService], extraSynonyms: [(String, String)] = []) {
        self.services = services
        var idx: [String: Int32] = [:]
        for (i, s) in services.enumerated() { idx[s.key.value] = Int32(i) }
        index = idx
        search = SearchIndex(documents: LeikaCatalogue.documents(services), synonyms: LeikaCatalogue.synonyms + extraSynonyms)
    }

    /// Reference data does not change while the process runs; tests and instances share one copy.
    private static let cached: FinderCatalogue? = try? load()

    static func shared() throws -> FinderCatalogue {
        if let c = cached { return c }
        return try load()
    }

    static func load() throws -> FinderCatalogue {
        let dir = Bundle.module.bundleURL.appendingPathComponent("Resources/leistungen")
        let l = try String(contentsOf: dir.appendingPathComponent("leika_leistungen.csv"), encoding: .utf8)
        let o = try String(contentsOf: dir.appendingPathComponent("ozg_leistungen.csv"), encoding: .utf8)
        return FinderCatalogue(services: try LeikaCatalogue.parse(leistungen: l, ozg: o))
    }

    func service(_ key: String) -> CatalogueService? { index[key].map { services[Int($0)] } }
}

extension Office {
    /// The fields the finder answers with, detached from the database row.
    struct Snapshot: Sendable {
        let id: UUID
        let tenantARS: String
        let name: String
        let kind: String
        let street: String
        let postalCode: String
        let city: String
        let visitorAddress: String
        let latitude: Double?
        let longitude: Double?
        let phone: String
        let email: String
        let website: String
        let hours: OpeningHours
        let accessibility: String
        let appointmentURL: String
        let isDemo: Bool
        /// The office without the per-minute fields (`jetztGeoeffnet`, `naechsteOeffnung`), and as JSON.
        let staticDTO: OfficeStaticDTO
        let staticJSON: String
        /// "open now / next opening" changes once a minute; remembered for the current minute.
        private let openCache = NIOLockedValueBox<(minute: Int, open: Bool, next: String?)>((-1, false, nil))

        func openState(at now: Date) -> (open: Bool, next: String?) {
            let minute = Int(now.timeIntervalSince1970 / 60)
            if let hit = openCache.withLockedValue({ $0.minute == minute ? ($0.open, $0.next) : nil }) { return hit }
            let open = hours.isOpen(at: now)
            let next = hours.nextOpening(after: now).map { Audit.timestamp($0) }
            openCache.withLockedValue { $0 = (minute, open, next) }
            return (open, next)
        }

        init(_ o: Office) {
            id = o.id ?? UUID(); tenantARS = o.tenantARS; name = o.name; kind = o.kind; street = o.street
            postalCode = o.postalCode; city = o.city; visitorAddress = o.visitorAddress; latitude = o.latitude
            longitude = o.longitude; phone = o.phone; email = o.email; website = o.website; hours = o.openingHours
            accessibility = o.accessibility; appointmentURL = o.appointmentURL; isDemo = o.isDemo
            // computed once per snapshot: the API sends the same office data on every request
            let hoursDTO = OpeningHoursDTO(hours)
            staticDTO = OfficeStaticDTO(id: id, mandant: tenantARS, name: name, art: kind, strasse: street, plz: postalCode, ort: city,
                                         besucheradresse: visitorAddress.isEmpty ? nil : visitorAddress, lat: latitude, lon: longitude,
                                         telefon: phone.isEmpty ? nil : phone, email: email.isEmpty ? nil : email,
                                         webseite: website.isEmpty ? nil : website, oeffnungszeiten: hoursDTO,
                                         barrierefreiheit: accessibility.isEmpty ? nil : accessibility,
                                         terminvereinbarung: appointmentURL.isEmpty ? nil : appointmentURL, demo: isDemo)
            staticJSON = staticDTO.json
        }
    }
}

/// Holds the current snapshot. Writers bump `finder_state.version` in their transaction and
/// rebuild; other instances notice the new version (checked at most every two seconds) and
/// rebuild too, so nothing depends on state only one instance has.
final class FinderStore: Sendable {
    private struct State { var snapshot: FinderSnapshot?; var checkedAt: Date = .distantPast; var rebuilding = false }
    private let state = NIOLockedValueBox(State())
    let catalogue: FinderCatalogue

    /// The catalogue with the editors' synonyms, rebuilt only when they change.
    private let withSynonyms = NIOLockedValueBox<(key: String, catalogue: FinderCatalogue)?>(nil)

    init(catalogue: FinderCatalogue) { self.catalogue = catalogue }

    func catalogue(on db: any Database) async throws -> FinderCatalogue {
        let rows = try await FinderSynonym.query(on: db).sort(\.$phrase).all()
        guard !rows.isEmpty else { return catalogue }
        let key = rows.map { "\($0.phrase)=\($0.replacement)" }.joined(separator: "|")
        if let cached = withSynonyms.withLockedValue({ $0 }), cached.key == key { return cached.catalogue }
        let c = FinderCatalogue(services: catalogue.services, extraSynonyms: rows.map { ($0.phrase, $0.replacement) })
        withSynonyms.withLockedValue { $0 = (key, c) }
        return c
    }

    func current(on db: any Database) async throws -> FinderSnapshot {
        let (snap, due) = state.withLockedValue { s -> (FinderSnapshot?, Bool) in
            let due = Date().timeIntervalSince(s.checkedAt) > 2 && !s.rebuilding
            if due { s.checkedAt = Date() }
            return (s.snapshot, due)
        }
        if let snap, !due { return snap }
        let version = try await FinderState.find(1, on: db)?.version ?? 0
        if let snap, snap.version == version { return snap }
        return try await rebuild(on: db)
    }

    @discardableResult
    func rebuild(on db: any Database) async throws -> FinderSnapshot {
        state.withLockedValue { $0.rebuilding = true }
        defer { state.withLockedValue { $0.rebuilding = false } }
        let version = try await FinderState.find(1, on: db)?.version ?? 0
        let gebiete = try await Gebiet.query(on: db).all()
        let offices = try await Office.query(on: db).sort(\.$tenantARS).sort(\.$name).all()
        let entries = try await Responsibility.query(on: db).all()
        let snap = FinderSnapshot(catalogue: try await catalogue(on: db), version: version, gebiete: gebiete, offices: offices, entries: entries)
        state.withLockedValue { $0.snapshot = snap; $0.checkedAt = Date() }
        return snap
    }

    /// Call inside the transaction of every change to offices or responsibilities.
    static func bump(on db: any Database) async throws {
        // one atomic statement, so two instances writing at once both move the counter
        try await (db as! any SQLDatabase).raw("UPDATE finder_state SET version = version + 1 WHERE id = 1").run()
    }
}

struct FinderStoreKey: StorageKey { typealias Value = FinderStore }

extension Application {
    var finder: FinderStore {
        guard let f = storage[FinderStoreKey.self] else { fatalError("FinderStore not configured") }
        return f
    }
}

extension Request {
    func finderSnapshot() async throws -> FinderSnapshot { try await application.finder.current(on: db) }
}
