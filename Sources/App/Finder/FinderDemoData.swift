import Fluent
import Vapor
import Finder
import RathausCore

/// Clearly labelled demo offices so every Thuringian place resolves out of the box (demo mode only):
/// one per Landratsamt, per Verwaltungsgemeinschaft and per municipality with its own
/// administration (kreisfreie Stadt, verbandsfreie and erfüllende Gemeinde), at the seat's PLZ,
/// with typical opening hours. Responsibilities follow the Typisierung defaults; on top, the
/// services Thuringia assigns to the Landkreise (driving licences, vehicle registration, building
/// permits) are entered explicitly for every Landkreis.
enum FinderDemoData {
    static let kreisObjects = ["99023001", "99023002", "99036008", "99036009", "99012008"]

    static func seed(_ app: Application) async throws {
        let db = app.db
        guard try await Office.query(on: db).count() == 0 else { return }
        let gebiete = try await Gebiet.query(on: db).filter(\.$landCode == "16").filter(\.$dissolvedOn == nil).all()
        var byARS: [String: Gebiet] = [:]
        for g in gebiete { byARS[g.ars] = g }
        let gemeinden = gebiete.filter { $0.level == "gemeinde" }
        /// PLZ and coordinates of the Gemeinde that is the seat (`sitz`) of a Kreis or Verband.
        func seat(_ unit: Gebiet) -> Gebiet? {
            let key = PlaceIndex.nameKey(unit.seat ?? unit.name)
            let inside = gemeinden.filter { $0.ars.hasPrefix(unit.ars) }
            return inside.first { PlaceIndex.nameKey($0.name) == key } ?? inside.max { ($0.population ?? 0) < ($1.population ?? 0) }
        }
        var offices: [Office] = []
        func office(tenant: String, name: String, kind: String, at place: Gebiet?, landratsamt: Bool = false) {
            let o = Office()
            o.tenantARS = tenant
            o.name = name + " (Demo)"
            o.kind = kind
            o.street = landratsamt ? "Landratsamt, Hauptstraße 1" : "Marktplatz 1"
            o.postalCode = place?.plz ?? ""
            o.city = place?.name.split(separator: ",").first.map(String.init) ?? ""
            o.visitorAddress = ""
            o.latitude = place?.latitude
            o.longitude = place?.longitude
            o.phone = ""
            o.email = ""
            o.website = ""
            var hours = OpeningHours.typicalCitizenOffice
            if landratsamt { hours.weekly[3] = [.init("08:00", "12:00"), .init("13:00", "15:00")] }
            hours.exceptions = [.init(date: "2026-12-24", note: "Heiligabend"), .init(date: "2026-12-25", note: "1. Weihnachtstag"),
                                .init(date: "2026-12-26", note: "2. Weihnachtstag"), .init(date: "2026-12-31", note: "Silvester"),
                                .init(date: "2027-01-01", note: "Neujahr")]
            o.openingHours = hours
            o.accessibility = "Demo-Angabe: Zugang ebenerdig, Aufzug vorhanden."
            o.appointmentURL = ""
            o.isMain = true
            o.isDemo = true
            offices.append(o)
        }
        for k in gebiete where k.level == "kreis" {
            if k.typeCode == "41" {
                office(tenant: k.ars, name: "Bürgeramt \(k.name.split(separator: ",").first ?? "")", kind: "Bürgeramt", at: seat(k))
            } else {
                office(tenant: k.ars, name: "Landratsamt \(k.name)", kind: "Landratsamt", at: seat(k), landratsamt: true)
            }
        }
        for v in gebiete where v.level == "gemeindeverband" {
            switch v.typeCode {
            case "54", "55", "56", "57":
                office(tenant: v.ars, name: "Verwaltungsgemeinschaft \(v.name)", kind: "Verwaltungsgemeinschaft", at: seat(v))
            case "50", "58":
                // the Gemeinde with its own administration: the only member (verbandsfrei) or the fulfilling one
                let key = PlaceIndex.nameKey(v.name)
                let members = gemeinden.filter { $0.parentARS == v.ars }
                guard let g = members.count == 1 ? members.first : members.first(where: { PlaceIndex.nameKey($0.name) == key }),
                      g.typeCode != "61" else { continue }
                office(tenant: g.ars, name: "Bürgerbüro \(g.name.split(separator: ",").first ?? "")", kind: "Bürgeramt", at: g)
            default: continue
            }
        }
        let created = offices
        try await db.transaction { tx in
            let offices = created
            for chunk in stride(from: 0, to: offices.count, by: 100) {
                try await Array(offices[chunk..<min(chunk + 100, offices.count)]).create(on: tx)
            }
            // Landkreis-level services, entered explicitly for every Landkreis
            let catalogue = app.finder.catalogue
            let keys = catalogue.services.filter { kreisObjects.contains(String($0.key.value.prefix(8))) }.map(\.key.value)
            var entries: [Responsibility] = []
            for o in offices where o.kind == "Landratsamt" {
                for key in keys {
                    let e = Responsibility()
                    e.leikaKey = key; e.areaARS = o.tenantARS; e.role = "responsible"; e.officeID = try o.requireID(); e.tenantARS = o.tenantARS
                    entries.append(e)
                }
            }
            for chunk in stride(from: 0, to: entries.count, by: 200) {
                try await Array(entries[chunk..<min(chunk + 200, entries.count)]).create(on: tx)
            }
            try await FinderStore.bump(on: tx)
            try await Audit.record(on: tx, actor: "system:demo", actorID: nil, tenant: nil, action: "office.demo_seed", objectType: "offices",
                                   objectID: "16", before: nil, after: "\(offices.count) Demo-Stellen, \(entries.count) Zuständigkeiten")
        }
        app.logger.notice("Demo-Modus: \(created.count) Demo-Organisationseinheiten angelegt.")
    }
}
