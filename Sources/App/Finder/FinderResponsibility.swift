import Finder
import RathausCore
import Vapor

/// The finder's answer to `ResponsibilityResolving`, from the in-memory snapshot.
struct FinderResponsibility: ResponsibilityResolving {
    func resolved(_ o: Office.Snapshot, _ snap: FinderSnapshot) -> ResolvedOffice {
        let tenantName = snap.areaIndex[o.tenantARS].map { snap.areas[Int($0)].name } ?? o.tenantARS
        return ResolvedOffice(id: o.id, tenantARS: o.tenantARS, tenantName: tenantName, name: o.name, street: o.street, postalCode: o.postalCode,
                              city: o.city, phone: o.phone, email: o.email, hours: o.hours.text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("20") },
                              appointmentURL: o.appointmentURL)
    }

    func responsibility(leika: String, placeARS: String, on req: Request) async throws -> PlaceResponsibility {
        let snap = try await req.finderSnapshot()
        let area = try FinderService.place(ars: placeARS, plz: nil, name: nil, in: snap)
        let (service, _) = try FinderService.service(leika, in: snap)
        let r = snap.resolver.resolve(service: service, area: area, role: .responsible)
        let place = snap.areas[Int(area)]
        return PlaceResponsibility(placeARS: place.ars, placeName: place.name, office: r.office >= 0 ? resolved(snap.offices[Int(r.office)], snap) : nil)
    }

    func office(_ id: UUID, on req: Request) async throws -> ResolvedOffice? {
        let snap = try await req.finderSnapshot()
        return snap.officeIndex[id].map { resolved(snap.offices[Int($0)], snap) }
    }

    func offices(ofTenant ars: String, on req: Request) async throws -> [ResolvedOffice] {
        let snap = try await req.finderSnapshot()
        return snap.offices.filter { $0.tenantARS == ars }.map { resolved($0, snap) }
    }

    func tenantName(_ ars: String, on req: Request) async throws -> String {
        let snap = try await req.finderSnapshot()
        return snap.areaIndex[ars].map { snap.areas[Int($0)].name } ?? ars
    }

    func findPlace(_ text: String, on req: Request) async throws -> PlaceLookup {
        let snap = try await req.finderSnapshot()
        func candidate(_ p: Place) -> PlaceCandidate { PlaceCandidate(ars: p.ars, name: p.name, kreis: p.kreis) }
        switch snap.places.find(text) {
        case .none: return .none
        case .one(let p): return .one(candidate(p))
        case .several(let list): return .several(list.map(candidate))
        }
    }
}
