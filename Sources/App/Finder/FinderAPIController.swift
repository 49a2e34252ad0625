import Fluent
import SQLKit
import Vapor
import Finder
import RathausCore

/// `/api/v1/leistungen`, `/api/v1/zustaendigkeiten`, offices and responsibilities of tenants.
struct FinderAPIController {
    func addRoutes(to api: any RoutesBuilder) {
        api.get("leistungen", use: services)
        api.get("leistungen", ":key", use: serviceDetail)
        api.get("zustaendigkeiten", use: resolve)
        api.get("organisationseinheiten", use: offices)
        api.get("organisationseinheiten", ":id", use: office)
        api.put("organisationseinheiten", ":id", use: updateOffice)
        api.delete("organisationseinheiten", ":id", use: deleteOffice)
        let t = api.grouped("mandanten", ":ars")
        t.post("organisationseinheiten", use: createOffice)
        t.get("zustaendigkeiten", use: entries)
        t.post("zustaendigkeiten", use: createEntry)
        t.delete("zustaendigkeiten", ":id", use: deleteEntry)
    }

    struct ServiceHit: Content {
        var leistungsschluessel: String
        var urn: String
        var bezeichnung: String
        var typisierung: String
        var relevanz: Double?
    }

    /// Ranked free-text search (`q`), or the whole catalogue by key with a cursor.
    @Sendable func services(req: Request) async throws -> ListEnvelope<ServiceHit> {
        let catalogue = req.application.finder.catalogue
        let paging = try Paging.from(req, defaultLimit: 20, maxLimit: 500)
        if let q = req.queryParams["q"], !q.trimmingCharacters(in: .whitespaces).isEmpty {
            guard q.count <= 200 else { throw AppError.invalid("q", de: "Der Suchbegriff darf höchstens 200 Zeichen lang sein.", en: "Query too long.") }
            let hits = catalogue.search.search(q, limit: paging.limit)
            let items = hits.map { h -> ServiceHit in
                let s = catalogue.services[h.id]
                return ServiceHit(leistungsschluessel: s.key.value, urn: s.key.urn, bezeichnung: s.name, typisierung: s.typisierung,
                                  relevanz: (h.score * 1000).rounded() / 1000)
            }
            return ListEnvelope(items: items, total: items.count, next: nil)
        }
        var list = catalogue.services
        if let c = paging.cursor { list = list.filter { $0.key.value > c } }
        let page = list.prefix(paging.limit)
        return ListEnvelope(items: page.map { ServiceHit(leistungsschluessel: $0.key.value, urn: $0.key.urn, bezeichnung: $0.name, typisierung: $0.typisierung, relevanz: nil) },
                            total: catalogue.services.count, next: list.count > paging.limit ? page.last?.key.value : nil)
    }

    struct TextDTO: Content { var modul: String; var text: String; var gebuehrVonCent: Int64?; var gebuehrBisCent: Int64?; var version: Int; var mandant: String? }
    struct ServiceDetail: Content { var leistung: LeistungDTO; var texte: [TextDTO] }

    @Sendable func serviceDetail(req: Request) async throws -> ServiceDetail {
        let snap = try await req.finderSnapshot()
        let (_, s) = try FinderService.service(req.parameters.get("key"), in: snap, field: "key")
        var tenants = [""]
        if let ars = req.query[String.self, at: "ars"], !ars.isEmpty {
            let area = try FinderService.place(ars: ars, plz: nil, name: nil, in: snap)
            // local texts of every body the place belongs to (Gemeinde, VG, Kreis, Land)
            tenants += snap.resolver.chain(of: area).map { snap.areas[Int($0)].ars }
        }
        let texts = try await ServiceTexts.current(for: s.key.value, tenants: tenants, on: req.db)
        return ServiceDetail(leistung: LeistungDTO(s), texte: texts.map {
            TextDTO(modul: $0.module, text: $0.text, gebuehrVonCent: $0.feeMinCents, gebuehrBisCent: $0.feeMaxCents, version: $0.version,
                    mandant: $0.tenantARS.isEmpty ? nil : $0.tenantARS)
        })
    }

    @Sendable func resolve(req: Request) async throws -> Response {
        let snap = try await req.finderSnapshot()
        let q = req.queryParams
        let (service, _) = try FinderService.service(q["leistung"], in: snap)
        do {
            let area = try FinderService.place(ars: q["ars"], plz: q["plz"], name: q["ort"], in: snap)
            let list = FinderService.resolve(snap, service: service, area: area)
            // the hottest endpoint: offices are pre-serialised per snapshot, the rest is written directly
            let res = Response(status: .ok, body: .init(string: FinderJSON.resolution(list, snap: snap)))
            res.headers.contentType = .json
            return res
        } catch let a as AmbiguousPlace {
            return a.response()
        }
    }

    @Sendable func offices(req: Request) async throws -> ListEnvelope<OfficeDTO> {
        let snap = try await req.finderSnapshot()
        let paging = try Paging.from(req, defaultLimit: 50, maxLimit: 500)
        var list = snap.offices
        if let ars = req.query[String.self, at: "ars"], !ars.isEmpty {
            guard (try? ARS(ars)) != nil else { throw AppError.invalid("ars", de: "Der Regionalschlüssel ist ungültig.", en: "Invalid regional key.") }
            list = list.filter { $0.tenantARS == ars }
        }
        let total = list.count
        // snapshot offices are ordered by tenant and name; the cursor is the position
        if let c = paging.cursor {
            guard let start = Int(c), start >= 0 else { throw AppError.invalid("cursor", de: "Der Cursor ist ungültig. Verwenden Sie den Wert aus „next“.", en: "Invalid cursor.") }
            list = Array(list.dropFirst(start))
        }
        let offset = total - list.count
        let page = Array(list.prefix(paging.limit))
        return ListEnvelope(items: page.map { OfficeDTO($0) }, total: total, next: list.count > paging.limit ? String(offset + page.count) : nil)
    }

    static func officeRow(_ req: Request) async throws -> Office {
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)), let o = try await Office.find(id, on: req.db) else {
            throw AppError(.notFound, "office.unknown", de: "Diese Organisationseinheit gibt es nicht.", en: "This office does not exist.")
        }
        return o
    }

    @Sendable func office(req: Request) async throws -> OfficeDTO {
        OfficeDTO(Office.Snapshot(try await Self.officeRow(req)))
    }

    @Sendable func createOffice(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.finderManage, tenant: tenant.ars)
        let o = try await OfficeWrites.create(req, tenant: tenant.ars, try req.decodeJSON(OfficeInput.self))
        let res = try await OfficeDTO(Office.Snapshot(o)).encodeResponse(for: req)
        res.status = .created
        return res
    }

    @Sendable func updateOffice(req: Request) async throws -> OfficeDTO {
        let o = try await Self.officeRow(req)
        try req.authorize(.finderManage, tenant: o.tenantARS)
        return OfficeDTO(Office.Snapshot(try await OfficeWrites.update(req, o, try req.decodeJSON(OfficeInput.self))))
    }

    @Sendable func deleteOffice(req: Request) async throws -> HTTPStatus {
        let o = try await Self.officeRow(req)
        try req.authorize(.finderManage, tenant: o.tenantARS)
        try await OfficeWrites.delete(req, o)
        return .noContent
    }

    @Sendable func entries(req: Request) async throws -> ListEnvelope<ResponsibilityDTO> {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.finderManage, tenant: tenant.ars)
        let rows = try await Responsibility.query(on: req.db).filter(\.$tenantARS == tenant.ars).sort(\.$leikaKey).all()
        let catalogue = req.application.finder.catalogue
        return ListEnvelope(items: rows.map { ResponsibilityDTO(id: $0.id!, leistung: $0.leikaKey, bezeichnung: catalogue.service($0.leikaKey)?.name,
                                                               gebiet: $0.areaARS, rolle: $0.role, organisationseinheit: $0.officeID, mandant: $0.tenantARS) },
                            total: rows.count, next: nil)
    }

    @Sendable func createEntry(req: Request) async throws -> Response {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.finderManage, tenant: tenant.ars)
        let e = try await OfficeWrites.createEntry(req, tenant: tenant.ars, try req.decodeJSON(ResponsibilityInput.self))
        let res = try await ResponsibilityDTO(id: e.id!, leistung: e.leikaKey, bezeichnung: req.application.finder.catalogue.service(e.leikaKey)?.name,
                                              gebiet: e.areaARS, rolle: e.role, organisationseinheit: e.officeID, mandant: e.tenantARS).encodeResponse(for: req)
        res.status = .created
        return res
    }

    @Sendable func deleteEntry(req: Request) async throws -> HTTPStatus {
        let tenant = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(.finderManage, tenant: tenant.ars)
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)),
              let e = try await Responsibility.query(on: req.db).filter(\.$id == id).filter(\.$tenantARS == tenant.ars).first() else {
            throw AppError(.notFound, "responsibility.unknown", de: "Diesen Zuständigkeitseintrag gibt es bei diesem Mandanten nicht.", en: "No such entry.")
        }
        try await OfficeWrites.deleteEntry(req, e)
        return .noContent
    }
}
