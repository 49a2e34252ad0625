import Fluent
import Foundation
import Procurement
import RathausCore
import Vapor

/// `/api/v1/beschaffung/…`: frameworks and items (open data; the provider's token with scope
/// `beschaffung` of the 2-digit key writes them), call-offs (a member's token: its own; the
/// provider's token: all) and the OCDS-shaped release package of frameworks and released call-offs.
struct ProcurementAPIController {
    func addRoutes(to api: any RoutesBuilder) {
        let b = api.grouped("beschaffung")
        b.get("rahmenvertraege", use: frameworks)
        b.post("rahmenvertraege", use: createFramework)
        b.get("artikel", use: items)
        b.post("artikel", use: importItems)
        b.get("abrufe", use: callOffs)
        b.post("abrufe", use: createCallOff)
        b.get("ocds.json", use: ocds)
    }

    struct LotDTO: Content { var id: UUID; var los: Int; var titel: String; var lieferant: String; var ustId: String }
    struct FrameworkDTO: Content {
        var id: UUID; var aktenzeichen: String; var gegenstand: String; var status: String; var beginn: String; var ende: String
        var hoechstvolumenCent: Int64; var abgerufenCent: Int64; var lose: [LotDTO]
    }

    static func dto(_ f: ProcurementFramework, lots: [ProcurementLot]) -> FrameworkDTO {
        FrameworkDTO(id: f.id!, aktenzeichen: f.reference, gegenstand: f.subject, status: f.status, beginn: f.startsOn, ende: f.endsOn,
                     hoechstvolumenCent: f.maxVolumeCents, abgerufenCent: f.releasedCents,
                     lose: lots.filter { $0.frameworkID == f.id }.sorted { $0.number < $1.number }
                        .map { LotDTO(id: $0.id!, los: $0.number, titel: $0.title, lieferant: $0.supplierName, ustId: $0.supplierVATID) })
    }

    /// Frameworks in force or ended (those in preparation only for the provider).
    @Sendable func frameworks(req: Request) async throws -> ListEnvelope<FrameworkDTO> {
        var list = try await ProcurementFramework.query(on: req.db).sort(\.$reference).limit(1_000).all()
        if !req.can(.procurementManage) { list = list.filter { $0.status != FrameworkStatus.preparation.rawValue } }
        let lots = try await ProcurementLot.query(on: req.db).all()
        let items = list.map { Self.dto($0, lots: lots) }
        return ListEnvelope(items: items, total: items.count, next: nil)
    }

    struct FrameworkInput: Content {
        var aktenzeichen: String?; var gegenstand: String?; var beschreibung: String?; var beginn: String?; var ende: String?
        var verlaengerung: String?; var hoechstvolumenCent: Int64?; var status: String?
    }

    @Sendable func createFramework(req: Request) async throws -> Response {
        try req.authorize(.procurementManage)
        let b = try req.content.decode(FrameworkInput.self)
        let volume = b.hoechstvolumenCent ?? 0
        guard volume >= 0, volume <= 10_000_000_000 else {
            throw AppError.invalid("hoechstvolumenCent", de: "Das Höchstvolumen muss zwischen 0 und 100.000.000 € liegen.", en: "hoechstvolumenCent must be between 0 and 10000000000.")
        }
        let form = FundingForm(["aktenzeichen": b.aktenzeichen ?? "", "gegenstand": b.gegenstand ?? "", "beschreibung": b.beschreibung ?? "",
                                "beginn": b.beginn ?? "", "ende": b.ende ?? "", "verlaengerung": b.verlaengerung ?? "", "status": b.status ?? ""])
        var input = try ProcurementService.readFramework(form)
        input.maxVolumeCents = volume
        let id = try await ProcurementService.saveFramework(req.application, id: nil, input: input, actor: req.principal)
        guard let f = try await ProcurementFramework.find(id, on: req.db) else { throw AppError.notFound }
        let res = try await Self.dto(f, lots: []).encodeResponse(status: .created, for: req)
        res.headers.replaceOrAdd(name: .location, value: "/api/v1/beschaffung/rahmenvertraege")
        return res
    }

    struct ItemDTO: Content {
        var id: UUID; var rahmenvertrag: String; var los: Int; var losId: UUID; var lieferant: String; var artikelnummer: String; var bezeichnung: String
        var beschreibung: String; var kategorie: String; var einheit: String; var preisNettoCent: Int64?; var preisGueltigAb: String?; var servicegebuehrCent: Int64
        var ustSatz: Int; var mindestmenge: Int; var hoechstmenge: Int; var lieferzeitTage: Int
    }

    /// Items of the frameworks usable today with today's price; `los` filters one lot.
    @Sendable func items(req: Request) async throws -> ListEnvelope<ItemDTO> {
        var lot: UUID? = nil
        if let raw = req.query[String.self, at: "los"] {
            guard let id = UUID(uuidString: raw) else { throw AppError.invalid("los", de: "los ist die Kennung (UUID) eines Loses.", en: "los is the UUID of a lot.") }
            lot = id
        }
        let entries = try await ProcurementService.catalogue(req.db, day: BusinessDate.today(), lot: lot)
        let items = entries.prefix(5_000).map { e in
            ItemDTO(id: e.item.id!, rahmenvertrag: e.framework.reference, los: e.lot.number, losId: e.lot.id!, lieferant: e.lot.supplierName, artikelnummer: e.item.articleNumber,
                    bezeichnung: e.item.name, beschreibung: e.item.description, kategorie: e.item.category, einheit: e.item.unitCode, preisNettoCent: e.price?.netCents,
                    preisGueltigAb: e.price?.validFrom, servicegebuehrCent: e.item.feeCents, ustSatz: e.item.vatPercent, mindestmenge: e.item.minQuantity,
                    hoechstmenge: e.item.maxQuantity, lieferzeitTage: e.item.deliveryDays)
        }
        return ListEnvelope(items: Array(items), total: items.count, next: nil)
    }

    struct ImportInput: Content { var los: String?; var preisblatt: String? }
    struct ImportDTO: Content { var neu: Int; var geaendert: Int; var preise: Int }

    /// A price sheet for a lot (the CSV of the web form as a string): all lines or none.
    @Sendable func importItems(req: Request) async throws -> ImportDTO {
        try req.authorize(.procurementManage)
        let b = try req.content.decode(ImportInput.self)
        guard let lot = b.los.flatMap(UUID.init(uuidString:)) else {
            throw AppError.invalid("los", de: "los ist die Kennung (UUID) eines Loses.", en: "los is the UUID of a lot.")
        }
        guard let csv = b.preisblatt, !csv.isEmpty else {
            throw AppError.invalid("preisblatt", de: "Bitte geben Sie das Preisblatt als CSV-Text an.", en: "Please send the price sheet as CSV text.")
        }
        guard try await ProcurementLot.find(lot, on: req.db) != nil else { throw AppError.notFound }
        let r = try await ProcurementService.importPriceSheet(req.application, lot: lot, data: Data(csv.utf8), actor: req.principal)
        return ImportDTO(neu: r.created, geaendert: r.updated, preise: r.prices)
    }

    struct LineDTO: Content { var artikel: UUID; var artikelnummer: String; var bezeichnung: String; var menge: Int; var einheit: String; var preisNettoCent: Int64; var servicegebuehrCent: Int64; var ustSatz: Int; var geliefert: Int }
    struct CallOffDTO: Content {
        var id: UUID; var abruf: String; var ars: String; var status: String; var rahmenvertrag: UUID; var los: UUID; var nettoCent: Int64; var ustCent: Int64
        var lieferanschrift: String; var liefertermin: String; var haushaltsstelle: String; var angelegt: Date; var positionen: [LineDTO]
    }

    static func dto(_ c: ProcurementCallOff, lines: [ProcurementCallOffLine]) -> CallOffDTO {
        CallOffDTO(id: c.id!, abruf: c.reference, ars: c.tenantARS, status: c.status, rahmenvertrag: c.frameworkID, los: c.lotID, nettoCent: c.netCents, ustCent: c.vatCents,
                   lieferanschrift: c.deliveryAddress, liefertermin: c.deliveryDate, haushaltsstelle: c.costCentre, angelegt: c.createdAt,
                   positionen: lines.filter { $0.callOffID == c.id }.map { LineDTO(artikel: $0.itemID, artikelnummer: $0.articleNumber, bezeichnung: $0.name, menge: $0.quantity,
                                                                                 einheit: $0.unitCode, preisNettoCent: $0.unitNetCents, servicegebuehrCent: $0.feeCents,
                                                                                 ustSatz: $0.vatPercent, geliefert: $0.deliveredQuantity) })
    }

    /// A member's token lists its own call-offs, the provider's token all of them.
    @Sendable func callOffs(req: Request) async throws -> ListEnvelope<CallOffDTO> {
        if case .anonymous = req.principal { throw AppError.unauthenticated }
        var q = ProcurementCallOff.query(on: req.db)
        if !req.can(.procurementManage) {
            guard case .apiClient(let t) = req.principal, req.can(.procurementOrder, tenant: t.tenantARS) else {
                if case .staff(let s) = req.principal, let ars = s.tenantARS, req.can(.procurementOrder, tenant: ars) {
                    q = q.filter(\.$tenantARS == ars)
                    return try await Self.list(req, q)
                }
                throw AppError.forbidden
            }
            q = q.filter(\.$tenantARS == t.tenantARS)
        }
        return try await Self.list(req, q)
    }

    static func list(_ req: Request, _ q: QueryBuilder<ProcurementCallOff>) async throws -> ListEnvelope<CallOffDTO> {
        let list = try await q.sort(\.$createdAt, .descending).limit(1_000).all()
        let ids = list.compactMap(\.id)
        let lines = ids.isEmpty ? [] : try await ProcurementCallOffLine.query(on: req.db).filter(\.$callOffID ~~ ids).all()
        let items = list.map { dto($0, lines: lines) }
        return ListEnvelope(items: items, total: items.count, next: nil)
    }

    struct PositionInput: Content { var artikel: String?; var menge: Int? }
    struct CallOffInput: Content {
        var los: String?; var positionen: [PositionInput]?; var lieferanschrift: String?; var liefertermin: String?; var haushaltsstelle: String?; var hinweis: String?
    }

    /// A member's specialist software submits a call-off (same rules as the web form).
    @Sendable func createCallOff(req: Request) async throws -> Response {
        guard case .apiClient(let t) = req.principal else {
            if case .anonymous = req.principal { throw AppError.unauthenticated }
            throw AppError.forbidden
        }
        try req.authorize(.procurementOrder, tenant: t.tenantARS)
        let g = try await Tenants.tenant(t.tenantARS, on: req.db)
        let b = try req.content.decode(CallOffInput.self)
        let positions = b.positionen ?? []
        guard positions.count <= 200 else { throw AppError.invalid("positionen", de: "Ein Abruf hat höchstens 200 Positionen.", en: "A call-off has at most 200 lines.") }
        var form: [String: String] = ["los": b.los ?? "", "lieferanschrift": b.lieferanschrift ?? "", "liefertermin": b.liefertermin ?? "",
                                      "haushaltsstelle": b.haushaltsstelle ?? "", "hinweis": b.hinweis ?? ""]
        for p in positions {
            guard let a = p.artikel.flatMap(UUID.init(uuidString:)), let m = p.menge else {
                throw AppError.invalid("positionen", de: "Jede Position braucht artikel (UUID) und menge (ganze Zahl).", en: "Every line needs artikel (UUID) and menge (integer).")
            }
            form["menge_\(a.uuidString)"] = String(m)
        }
        let input = try ProcurementService.readCallOff(FundingForm(form))
        let c = try await ProcurementService.submit(req.application, tenant: g, input: input, actor: req.principal)
        let lines = try await ProcurementCallOffLine.query(on: req.db).filter(\.$callOffID == c.id!).all()
        let res = try await Self.dto(c, lines: lines).encodeResponse(status: .created, for: req)
        res.headers.replaceOrAdd(name: .location, value: "/api/v1/beschaffung/abrufe")
        return res
    }

    // MARK: OCDS

    struct OCDSValue: Content { var amount: Decimal; var currency: String }
    struct OCDSParty: Content { var id: String; var name: String; var roles: [String] }
    struct OCDSOrg: Content { var id: String; var name: String }
    struct OCDSItem: Content { var id: String; var description: String; var quantity: Int; var unit: OCDSUnit }
    struct OCDSUnit: Content { var id: String; var name: String; var value: OCDSValue }
    struct OCDSTender: Content { var id: String; var title: String; var status: String; var value: OCDSValue? }
    struct OCDSPeriod: Content { var startDate: String; var endDate: String }
    struct OCDSContract: Content {
        var id: String; var awardID: String; var title: String; var status: String; var period: OCDSPeriod?; var value: OCDSValue; var items: [OCDSItem]?
    }
    struct OCDSAward: Content { var id: String; var status: String; var suppliers: [OCDSOrg] }
    struct OCDSRelease: Content {
        var ocid: String; var id: String; var date: String; var tag: [String]; var initiationType: String; var language: String
        var parties: [OCDSParty]; var buyer: OCDSOrg; var tender: OCDSTender; var awards: [OCDSAward]; var contracts: [OCDSContract]
    }
    struct OCDSPackage: Content {
        var uri: String; var version: String; var publishedDate: String; var publisher: OCDSOrg; var releases: [OCDSRelease]
    }

    static func value(_ cents: Int64) -> OCDSValue { OCDSValue(amount: Decimal(cents) / 100, currency: "EUR") }

    /// Open data: one release per framework (tag "contract": the framework with its lots and
    /// suppliers) and one per released call-off (tag "implementation": buyer = the member by ARS,
    /// supplier, value in EUR, items).
    @Sendable func ocds(req: Request) async throws -> OCDSPackage {
        let prefix = "ocds-rathaus-"
        let frameworks = try await ProcurementFramework.query(on: req.db).filter(\.$status != FrameworkStatus.preparation.rawValue).sort(\.$reference).limit(1_000).all()
        let lots = try await ProcurementLot.query(on: req.db).all()
        let lotByID = Dictionary(lots.compactMap { l in l.id.map { ($0, l) } }, uniquingKeysWith: { a, _ in a })
        let fwByID = Dictionary(frameworks.compactMap { f in f.id.map { ($0, f) } }, uniquingKeysWith: { a, _ in a })
        let provider = try await ProviderBilling.find("anbieter", on: req.db)
        let providerOrg = OCDSOrg(id: "DE-PROVIDER", name: provider?.name ?? "IT-Dienstleister")
        var releases: [OCDSRelease] = []
        for f in frameworks {
            let fl = lots.filter { $0.frameworkID == f.id }.sorted { $0.number < $1.number }
            let suppliers = fl.map { OCDSOrg(id: "DE-VAT-\($0.supplierVATID.isEmpty ? $0.id!.uuidString : $0.supplierVATID)", name: $0.supplierName) }
            releases.append(OCDSRelease(
                ocid: prefix + f.reference, id: "\(f.reference)-rahmenvertrag", date: Audit.timestamp(f.updatedAt), tag: ["contract"], initiationType: "tender", language: "de",
                parties: [OCDSParty(id: providerOrg.id, name: providerOrg.name, roles: ["buyer", "procuringEntity"])] + suppliers.map { OCDSParty(id: $0.id, name: $0.name, roles: ["supplier"]) },
                buyer: providerOrg, tender: OCDSTender(id: f.reference, title: f.subject, status: "complete", value: f.maxVolumeCents > 0 ? Self.value(f.maxVolumeCents) : nil),
                awards: fl.map { OCDSAward(id: "\(f.reference)-los-\($0.number)", status: "active", suppliers: [OCDSOrg(id: "DE-VAT-\($0.supplierVATID.isEmpty ? $0.id!.uuidString : $0.supplierVATID)", name: $0.supplierName)]) },
                contracts: fl.map { OCDSContract(id: "\(f.reference)-los-\($0.number)", awardID: "\(f.reference)-los-\($0.number)", title: $0.title,
                                                 status: f.status == FrameworkStatus.active.rawValue ? "active" : "terminated", period: OCDSPeriod(startDate: f.startsOn + "T00:00:00Z", endDate: f.endsOn + "T23:59:59Z"),
                                                 value: Self.value(f.maxVolumeCents), items: nil) }))
        }
        let ordered = CallOffStatus.allCases.filter(\.isOrdered).map(\.rawValue)
        let calloffs = try await ProcurementCallOff.query(on: req.db).filter(\.$status ~~ ordered).sort(\.$releasedAt).limit(10_000).all()
        let ids = calloffs.compactMap(\.id)
        let lines = ids.isEmpty ? [] : try await ProcurementCallOffLine.query(on: req.db).filter(\.$callOffID ~~ ids).all()
        let names = Dictionary(try await Gebiet.query(on: req.db).filter(\.$id ~~ Array(Set(calloffs.map(\.tenantARS)))).all().map { ($0.ars, $0.name) }, uniquingKeysWith: { a, _ in a })
        for c in calloffs {
            guard let f = fwByID[c.frameworkID], let l = lotByID[c.lotID] else { continue }
            let buyer = OCDSOrg(id: "DE-ARS-\(c.tenantARS)", name: names[c.tenantARS] ?? c.tenantARS)
            let supplier = OCDSOrg(id: "DE-VAT-\(l.supplierVATID.isEmpty ? l.id!.uuidString : l.supplierVATID)", name: l.supplierName)
            releases.append(OCDSRelease(
                ocid: prefix + f.reference, id: c.reference, date: Audit.timestamp(c.releasedAt ?? c.updatedAt), tag: ["implementation"], initiationType: "tender", language: "de",
                parties: [OCDSParty(id: buyer.id, name: buyer.name, roles: ["buyer"]), OCDSParty(id: supplier.id, name: supplier.name, roles: ["supplier"])],
                buyer: buyer, tender: OCDSTender(id: f.reference, title: f.subject, status: "complete", value: nil),
                awards: [OCDSAward(id: "\(f.reference)-los-\(l.number)", status: "active", suppliers: [supplier])],
                contracts: [OCDSContract(id: c.reference, awardID: "\(f.reference)-los-\(l.number)", title: "Abruf \(c.reference)", status: "active", period: nil,
                                         value: Self.value(c.goodsCents),
                                         items: lines.filter { $0.callOffID == c.id }.map { OCDSItem(id: $0.articleNumber, description: $0.name, quantity: $0.quantity,
                                                                                                         unit: OCDSUnit(id: $0.unitCode, name: UnitCode.name($0.unitCode), value: Self.value($0.unitNetCents))) })]))
        }
        return OCDSPackage(uri: req.application.rathaus.publicURL + "/api/v1/beschaffung/ocds.json", version: "1.1", publishedDate: Audit.timestamp(Date()),
                           publisher: providerOrg, releases: releases)
    }
}
