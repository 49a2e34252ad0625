import Fluent
import SQLKit
import Vapor
import Finder
import RathausCore

enum FinderService {
    /// Parses a LeiKa key (14 digits or URN): 400 when malformed, 404 when not in the catalogue.
    static func service(_ raw: String?, in snap: FinderSnapshot, field: String = "leistung") throws -> (Int32, CatalogueService) {
        let key: LeiKaKey
        do { key = try LeiKaKey(raw ?? "") } catch { throw AppError(.badRequest, error, field: field) }
        guard let i = snap.catalogue.index[key.value] else {
            throw AppError(.notFound, "leika.unknown", de: "Die Leistung \(key.value) ist im Leistungskatalog nicht enthalten.",
                           en: "Service \(key.value) is not in the catalogue.")
        }
        return (i, snap.catalogue.services[Int(i)])
    }

    /// The place: a Gemeinde (or any unit) by ARS, a PLZ or a name. Several matches → 409 with the list.
    static func place(ars: String?, plz: String?, name: String?, in snap: FinderSnapshot) throws -> Int32 {
        if let ars, !ars.isEmpty {
            let key: ARS
            do { key = try ARS(ars) } catch { throw AppError(.badRequest, error, field: "ars") }
            guard let i = snap.areaIndex[key.value] else {
                throw AppError(.notFound, "ars.unknown", de: "Zum Regionalschlüssel \(key.value) ist keine Gebietseinheit bekannt.",
                               en: "No unit is known for regional key \(key.value).")
            }
            return i
        }
        let query: String
        if let plz, !plz.isEmpty {
            guard plz.count == 5, plz.allSatisfy(\.isNumber) else {
                throw AppError.invalid("plz", de: "Eine Postleitzahl hat fünf Ziffern.", en: "A postcode has five digits.")
            }
            query = plz
        } else if let name, !name.trimmingCharacters(in: .whitespaces).isEmpty {
            guard name.count <= 100 else { throw AppError.invalid("ort", de: "Der Ortsname ist zu lang.", en: "Place name too long.") }
            query = name
        } else {
            throw AppError.invalid("ars", de: "Bitte geben Sie den Ort an: ars, plz oder ort.", en: "Please give the place: ars, plz or ort.")
        }
        switch snap.places.find(query) {
        case .none:
            throw AppError(.notFound, "place.unknown", de: "Zu „\(String(query.prefix(40)))“ ist keine Gemeinde bekannt.",
                           en: "No municipality is known for this place.")
        case .one(let p):
            return snap.areaIndex[p.ars] ?? 0
        case .several(let list):
            throw AmbiguousPlace(candidates: list)
        }
    }

    static func step(_ s: ResponsibilityResolver.Step, _ snap: FinderSnapshot, typisierung: String) -> PathStepDTO {
        let a = snap.areas[Int(s.area)]
        let text: String
        let en = DisplayLanguage.english
        switch s.outcome {
        case .noEntry: text = en ? "no entry" : "kein Eintrag"
        case .explicit(let o): text = (en ? "entry: " : "Eintrag: ") + snap.offices[Int(o)].name
        case .defaultOffice(let o): text = (en ? "default for type \(typisierung): " : "Standard nach Typisierung \(typisierung): ") + snap.offices[Int(o)].name
        case .federal: text = en ? "type 1: federal authority, no municipal office" : "Typisierung 1: Bundesbehörde, keine kommunale Stelle"
        case .noDefaultOffice: text = en ? "no office recorded" : "keine Stelle hinterlegt"
        }
        return PathStepDTO(gebiet: a.ars, ebene: a.level, name: a.name, ergebnis: text)
    }

    static func resolve(_ snap: FinderSnapshot, service: Int32, area: Int32, now: Date = Date()) -> ResolutionList {
        let s = snap.catalogue.services[Int(service)]
        let place = snap.areas[Int(area)]
        var items: [ResolutionDTO] = []
        let responsible = snap.resolver.resolve(service: service, area: area, role: .responsible)
        let path = responsible.path.map { step($0, snap, typisierung: s.typisierung) }
        func item(_ r: ResponsibilityResolver.Resolution, role: String, path: [PathStepDTO]) -> ResolutionDTO {
            let a = snap.areas[Int(r.area)]
            return ResolutionDTO(rolle: role, organisationseinheit: OfficeDTO(snap.offices[Int(r.office)], now: now),
                                 gebiet: MatchedAreaDTO(ars: a.ars, ebene: a.level, name: a.name), standard: r.isDefault, pfad: path)
        }
        if responsible.office >= 0 { items.append(item(responsible, role: "zustaendig", path: path)) }
        // a contact point only counts when one is entered explicitly; defaults are the responsible office
        let contact = snap.resolver.resolve(service: service, area: area, role: .contact)
        if contact.office >= 0, !contact.isDefault {
            items.append(item(contact, role: "ansprechpunkt", path: contact.path.map { step($0, snap, typisierung: s.typisierung) }))
        }
        return ResolutionList(items: items, total: items.count, next: nil, leistung: LeistungDTO(s),
                              ort: MatchedAreaDTO(ars: place.ars, ebene: place.level, name: place.name), pfad: items.isEmpty ? path : nil)
    }
}

/// A PLZ or name that covers several Gemeinden: answered with the candidates, never a guess.
struct AmbiguousPlace: Error {
    let candidates: [Place]
}

struct CandidateDTO: Content { var ars: String; var name: String; var kreis: String }

struct AmbiguousProblem: Content {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var code: String
    var kandidaten: [CandidateDTO]
}

extension AmbiguousPlace {
    func response() -> Response {
        let body = AmbiguousProblem(type: "https://rathaus.example/probleme/place.ambiguous", title: "Conflict", status: 409,
                                    detail: "Der Ort ist nicht eindeutig: \(candidates.count) Gemeinden kommen in Frage. Bitte wählen Sie eine aus (Parameter ars).",
                                    code: "place.ambiguous",
                                    kandidaten: candidates.map { CandidateDTO(ars: $0.ars, name: $0.name, kreis: $0.kreis) })
        let res = Response(status: .conflict)
        res.headers.replaceOrAdd(name: .contentType, value: "application/problem+json; charset=utf-8")
        res.body = .init(data: (try? JSONEncoder().encode(body)) ?? Data())
        return res
    }
}
