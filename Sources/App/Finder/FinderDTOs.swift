import Vapor
import Finder
import RathausCore

struct LeistungDTO: Content {
    var leistungsschluessel: String
    var urn: String
    var bezeichnung: String
    var typisierung: String
    var ozgLeistung: String?
    var lebenslage: String?
    var rechtsgrundlage: String?

    init(_ s: CatalogueService) {
        leistungsschluessel = s.key.value; urn = s.key.urn; bezeichnung = s.name; typisierung = s.typisierung
        ozgLeistung = s.ozgName.isEmpty ? nil : s.ozgName
        lebenslage = s.lebenslage.isEmpty ? nil : s.lebenslage
        rechtsgrundlage = s.legalBasis.isEmpty ? nil : s.legalBasis
    }
}

struct IntervalDTO: Content { var von: String; var bis: String }
struct DayDTO: Content { var wochentag: Int; var zeiten: [IntervalDTO] }
struct ExceptionDTO: Content { var datum: String; var zeiten: [IntervalDTO]; var hinweis: String? }

struct OpeningHoursDTO: Content {
    var woche: [DayDTO]
    var ausnahmen: [ExceptionDTO]

    init(_ h: OpeningHours) {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        func fmt(_ m: Int) -> String { two(m / 60) + ":" + two(m % 60) }
        woche = h.weekly.keys.sorted().map { d in DayDTO(wochentag: d, zeiten: (h.weekly[d] ?? []).map { IntervalDTO(von: fmt($0.from), bis: fmt($0.to)) }) }
        ausnahmen = h.exceptions.map { ExceptionDTO(datum: $0.date, zeiten: $0.intervals.map { IntervalDTO(von: fmt($0.from), bis: fmt($0.to)) }, hinweis: $0.note.isEmpty ? nil : $0.note) }
    }

    /// Validates and converts what a client sent.
    func model() throws -> OpeningHours {
        var weekly: [Int: [OpeningHours.Interval]] = [:]
        func iv(_ i: IntervalDTO) throws -> OpeningHours.Interval {
            guard let f = OpeningHours.Interval.minutes(i.von), let t = OpeningHours.Interval.minutes(i.bis) else {
                throw AppError.invalid("oeffnungszeiten", de: "Zeiten bitte als SS:MM angeben, z. B. 08:30.", en: "Times as HH:MM, e.g. 08:30.")
            }
            return OpeningHours.Interval(from: f, to: t)
        }
        for d in woche { weekly[d.wochentag, default: []] += try d.zeiten.map(iv) }
        var exc: [OpeningHours.Exception] = []
        for e in ausnahmen {
            let date = try BusinessDate.parse(e.datum, field: "oeffnungszeiten", label: "das Datum der Ausnahme")!
            exc.append(.init(date: date, intervals: try e.zeiten.map(iv), note: e.hinweis ?? ""))
        }
        let h = OpeningHours(weekly: weekly, exceptions: exc)
        if let msg = h.validate() { throw AppError.invalid("oeffnungszeiten", de: msg, en: "Invalid opening hours.") }
        return h
    }
}

/// An office as the API returns it: the static part (serialised once per snapshot for the hot
/// endpoint) plus the two fields that change by the minute, flattened into one JSON object.
struct OfficeDTO: Content {
    var office: OfficeStaticDTO
    var jetztGeoeffnet: Bool
    var naechsteOeffnung: String?

    var id: UUID { office.id }

    private enum Keys: String, CodingKey { case jetztGeoeffnet, naechsteOeffnung }

    init(_ o: Office.Snapshot, now: Date = Date()) {
        office = o.staticDTO
        let state = o.openState(at: now)
        jetztGeoeffnet = state.open
        naechsteOeffnung = state.next
    }

    init(from decoder: any Decoder) throws {
        office = try OfficeStaticDTO(from: decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        jetztGeoeffnet = try c.decode(Bool.self, forKey: .jetztGeoeffnet)
        naechsteOeffnung = try c.decodeIfPresent(String.self, forKey: .naechsteOeffnung)
    }

    func encode(to encoder: any Encoder) throws {
        try office.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(jetztGeoeffnet, forKey: .jetztGeoeffnet)
        try c.encodeIfPresent(naechsteOeffnung, forKey: .naechsteOeffnung)
    }
}

/// `OfficeDTO` without the fields that change by the minute; serialised once per snapshot.
struct OfficeStaticDTO: Codable, Sendable {
    var id: UUID
    var mandant: String
    var name: String
    var art: String
    var strasse: String
    var plz: String
    var ort: String
    var besucheradresse: String?
    var lat: Double?
    var lon: Double?
    var telefon: String?
    var email: String?
    var webseite: String?
    var oeffnungszeiten: OpeningHoursDTO
    var barrierefreiheit: String?
    var terminvereinbarung: String?
    var demo: Bool

    var json: String { FinderJSON.encoded(self) }
}

/// Input for creating or changing an office.
struct OfficeInput: Content {
    var name: String?
    var art: String?
    var strasse: String?
    var plz: String?
    var ort: String?
    var besucheradresse: String?
    var lat: Double?
    var lon: Double?
    var telefon: String?
    var email: String?
    var webseite: String?
    var oeffnungszeiten: OpeningHoursDTO?
    var barrierefreiheit: String?
    var terminvereinbarung: String?
    var hauptsitz: Bool?

    func apply(to o: Office) throws {
        o.name = try TextInput.required(name, field: "name", label: "den Namen der Stelle", max: 200)
        o.kind = try TextInput.required(art, field: "art", label: "die Art der Stelle (z. B. Bürgeramt)", max: 100)
        o.street = try TextInput.required(strasse, field: "strasse", label: "Straße und Hausnummer", max: 200)
        let p = (plz ?? "").trimmingCharacters(in: .whitespaces)
        guard p.count == 5, p.allSatisfy(\.isNumber) else {
            throw AppError.invalid("plz", de: "Die Postleitzahl hat fünf Ziffern.", en: "The postcode has five digits.")
        }
        o.postalCode = p
        o.city = try TextInput.required(ort, field: "ort", label: "den Ort", max: 100)
        o.visitorAddress = try TextInput.optional(besucheradresse, field: "besucheradresse", label: "die Besucheradresse", max: 300) ?? ""
        if let lat, !(-90...90).contains(lat) { throw AppError.invalid("lat", de: "Breitengrad zwischen -90 und 90.", en: "Latitude -90…90.") }
        if let lon, !(-180...180).contains(lon) { throw AppError.invalid("lon", de: "Längengrad zwischen -180 und 180.", en: "Longitude -180…180.") }
        o.latitude = lat
        o.longitude = lon
        o.phone = try TextInput.optional(telefon, field: "telefon", label: "die Telefonnummer", max: 50) ?? ""
        o.email = try TextInput.email(email, field: "email", required: false) ?? ""
        o.website = try Self.url(webseite, field: "webseite")
        o.appointmentURL = try Self.url(terminvereinbarung, field: "terminvereinbarung")
        o.accessibility = try TextInput.optional(barrierefreiheit, field: "barrierefreiheit", label: "die Hinweise zur Barrierefreiheit", max: 1000) ?? ""
        o.openingHours = try oeffnungszeiten?.model() ?? OpeningHours()
        o.isMain = hauptsitz ?? false
    }

    static func url(_ raw: String?, field: String) throws -> String {
        let s = (raw ?? "").trimmingCharacters(in: .whitespaces)
        if s.isEmpty { return "" }
        guard s.count <= 500, let u = URL(string: s), ["https", "http"].contains(u.scheme ?? ""), u.host != nil else {
            throw AppError.invalid(field, de: "Bitte eine vollständige Web-Adresse mit https:// angeben.", en: "Please give a full https:// address.")
        }
        return s
    }
}

struct ResponsibilityInput: Content {
    var leistung: String?
    var gebiet: String?
    var organisationseinheit: UUID?
    var rolle: String?
}

struct ResponsibilityDTO: Content {
    var id: UUID
    var leistung: String
    var bezeichnung: String?
    var gebiet: String
    var rolle: String
    var organisationseinheit: UUID
    var mandant: String
}

struct PathStepDTO: Content {
    var gebiet: String
    var ebene: String
    var name: String
    var ergebnis: String
}

struct MatchedAreaDTO: Content { var ars: String; var ebene: String; var name: String }

struct ResolutionDTO: Content {
    var rolle: String
    var organisationseinheit: OfficeDTO
    var gebiet: MatchedAreaDTO
    var standard: Bool
    var pfad: [PathStepDTO]
}

struct ResolutionList: Content {
    var items: [ResolutionDTO]
    var total: Int
    var next: String?
    var leistung: LeistungDTO
    var ort: MatchedAreaDTO
    /// The path tried; at the top level only when no office was found (each item carries its own).
    var pfad: [PathStepDTO]?

    func encode(to encoder: any Encoder) throws {
        enum K: String, CodingKey { case items, total, next, leistung, ort, pfad }
        var c = encoder.container(keyedBy: K.self)
        try c.encode(items, forKey: .items); try c.encode(total, forKey: .total); try c.encode(next, forKey: .next)
        try c.encode(leistung, forKey: .leistung); try c.encode(ort, forKey: .ort)
        try c.encodeIfPresent(pfad, forKey: .pfad)
    }
}
