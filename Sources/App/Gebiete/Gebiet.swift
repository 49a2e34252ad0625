import Fluent
import SQLKit
import Vapor
import RathausCore

/// A territorial unit (Land, Kreis, Gemeindeverband, Gemeinde …) keyed by its natural-length ARS.
/// Units are never deleted: a dissolved unit keeps its row with date and successor, so tenants
/// with members, users or data stay intact.
final class Gebiet: Model, @unchecked Sendable {
    static let schema = "gebiete"

    @ID(custom: "ars", generatedBy: .user) var id: String?
    @Field(key: "level") var level: String
    @Field(key: "ars12") var ars12: String
    @OptionalField(key: "ags") var ags: String?
    @Field(key: "name") var name: String
    @OptionalField(key: "type_code") var typeCode: String?
    @Field(key: "type_name") var typeName: String
    @OptionalField(key: "seat") var seat: String?
    @OptionalField(key: "parent_ars") var parentARS: String?
    /// Kreis (5 digits) the unit lies in; the Land for the Land itself. Used for grouping.
    @Field(key: "kreis_ars") var kreisARS: String
    @Field(key: "land_code") var landCode: String
    @OptionalField(key: "population") var population: Int?
    @OptionalField(key: "area_ha") var areaHa: Int?
    @OptionalField(key: "plz") var plz: String?
    /// All PLZ, `;`-separated.
    @Field(key: "plz_list") var plzList: String
    @OptionalField(key: "latitude") var latitude: Double?
    @OptionalField(key: "longitude") var longitude: Double?
    @Field(key: "as_of") var asOf: String
    @Field(key: "joinable") var joinable: Bool
    @OptionalField(key: "dissolved_on") var dissolvedOn: String?
    @OptionalField(key: "successor_ars") var successorARS: String?

    init() {}

    init(_ r: GebietRecord) {
        id = r.ars.value
        apply(r)
    }

    func apply(_ r: GebietRecord) {
        level = r.level.rawValue
        ars12 = r.ars.padded12
        ags = r.ags
        name = r.name
        typeCode = r.typeCode
        typeName = r.typeName
        seat = r.seat
        parentARS = r.parentARS?.value
        kreisARS = r.ars.kreisKey ?? r.ars.value
        landCode = r.ars.landCode
        population = r.population
        areaHa = r.areaHa
        plz = r.plz
        plzList = r.plzList.joined(separator: ";")
        latitude = r.latitude
        longitude = r.longitude
        asOf = r.asOf
        joinable = r.isJoinable
    }

    var ars: String { id ?? "" }
}

struct M001CreateGebiete: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Gebiet.schema)
            .field("ars", .string, .identifier(auto: false))
            .field("level", .string, .required)
            .field("ars12", .string, .required)
            .field("ags", .string)
            .field("name", .string, .required)
            .field("type_code", .string)
            .field("type_name", .string, .required)
            .field("seat", .string)
            .field("parent_ars", .string)
            .field("kreis_ars", .string, .required)
            .field("land_code", .string, .required)
            .field("population", .int)
            .field("area_ha", .int)
            .field("plz", .string)
            .field("plz_list", .string, .required)
            .field("latitude", .double)
            .field("longitude", .double)
            .field("as_of", .string, .required)
            .field("joinable", .bool, .required)
            .field("dissolved_on", .string)
            .field("successor_ars", .string)
            .create()
        let sql = database as! any SQLDatabase
        try await sql.create(index: "gebiete_parent_idx").on(Gebiet.schema).column("parent_ars").run()
        try await sql.create(index: "gebiete_level_land_idx").on(Gebiet.schema).column("land_code").column("level").column("ars").run()
        try await sql.create(index: "gebiete_kreis_idx").on(Gebiet.schema).column("kreis_ars").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Gebiet.schema).delete()
    }
}

/// JSON shape of a unit in the API.
struct GebietDTO: Content {
    var ars: String
    var ars12: String
    var ags: String?
    var ebene: String
    var name: String
    var typ: String
    var typCode: String?
    var sitz: String?
    var parentArs: String?
    var kreisArs: String
    var einwohner: Int?
    var flaecheHa: Int?
    var plz: [String]
    var lat: Double?
    var lon: Double?
    var gebietsstand: String
    var mandantFaehig: Bool
    var aufgeloestAm: String?
    var nachfolgerArs: String?

    init(_ g: Gebiet) {
        ars = g.ars; ars12 = g.ars12; ags = g.ags; ebene = g.level; name = g.name; typ = g.typeName
        typCode = g.typeCode; sitz = g.seat; parentArs = g.parentARS; kreisArs = g.kreisARS
        einwohner = g.population; flaecheHa = g.areaHa
        plz = g.plzList.split(separator: ";").map(String.init)
        lat = g.latitude; lon = g.longitude; gebietsstand = g.asOf; mandantFaehig = g.joinable
        aufgeloestAm = g.dissolvedOn; nachfolgerArs = g.successorARS
    }
}
