import Fluent
import Vapor
import Funding
import RathausCore

/// `/api/v1/foerderung/…`: programmes and calls (public to read, the Land writes), applications
/// (a municipality's token: its own and joint ones; the Land's: all), and the open data of
/// approved projects as the Land publishes them.
struct FundingAPIController {
    func addRoutes(to api: any RoutesBuilder) {
        let f = api.grouped("foerderung")
        f.get("programme", use: listProgrammes)
        f.post("programme", use: createProgramme)
        f.get("aufrufe", use: listCalls)
        f.post("aufrufe", use: createCall)
        f.get("antraege", use: listApplications)
        f.post("antraege", use: createApplication)
        f.get("bewilligungen.csv", use: approvalsCSV)
        f.get("bewilligungen.json", use: approvalsJSON)
    }

    struct CategoryDTO: Content { var id: UUID; var nummer: String; var titel: String; var finanzierungsart: String; var foerdersatzProzent: Double?; var hoechstbetragCent: Int64?; var festbetragCent: Int64?; var kostenarten: [String] }
    struct ProgrammeDTO: Content { var id: UUID; var titel: String; var richtlinie: String; var antragsberechtigt: [String]; var version: Int; var demo: Bool; var foerdergegenstaende: [CategoryDTO] }
    struct ProgrammeInput: Content { var titel: String; var richtlinie: String?; var antragsberechtigt: [String] }

    @Sendable func listProgrammes(req: Request) async throws -> [ProgrammeDTO] {
        let ps = try await FundingProgramme.query(on: req.db).sort(\.$createdAt).all()
        let cats = try await FundingCategory.query(on: req.db).sort(\.$code).all()
        return ps.compactMap { p in
            guard let id = p.id else { return nil }
            return ProgrammeDTO(id: id, titel: p.title, richtlinie: p.guideline, antragsberechtigt: p.levelSet.map(\.rawValue).sorted(), version: p.version, demo: p.demo,
                                foerdergegenstaende: cats.filter { $0.programmeID == id }.compactMap { c in
                                    c.id.map { CategoryDTO(id: $0, nummer: c.code, titel: c.title, finanzierungsart: c.financing,
                                                           foerdersatzProzent: c.financing == "anteil" ? Double(c.rateBasisPoints) / 100 : nil, hoechstbetragCent: c.capCents,
                                                           festbetragCent: c.financing == "festbetrag" ? c.unitCents : nil, kostenarten: c.costTypeSet.sorted()) }
                                })
        }
    }

    @Sendable func createProgramme(req: Request) async throws -> Response {
        try req.authorize(.fundingManage)
        let input = try req.decodeJSON(ProgrammeInput.self)
        let title = try TextInput.required(input.titel, field: "titel", label: "den Titel", max: 200)
        let guideline = try TextInput.optional(input.richtlinie, field: "richtlinie", label: "die Richtlinie", max: 300) ?? ""
        let levels = input.antragsberechtigt.compactMap(ApplicantLevel.init(rawValue:))
        guard !levels.isEmpty, levels.count == input.antragsberechtigt.count else {
            throw AppError(.unprocessableEntity, "funding.levels", de: "antragsberechtigt muss eine nicht leere Liste aus gemeinde, gemeindeverband, kreis sein.", en: "antragsberechtigt must list gemeinde, gemeindeverband and/or kreis.")
        }
        let p = FundingProgramme()
        p.id = UUID(); p.title = title; p.guideline = guideline; p.levels = Set(levels).map(\.rawValue).sorted().joined(separator: ","); p.demo = false
        p.version = 1; p.budgetLock = 0; p.createdBy = req.principal.auditActor; p.createdAt = Date(); p.updatedAt = Date()
        let actor = req.principal
        try await req.application.writeTransaction { db in
            if try await FundingProgramme.query(on: db).filter(\.$title == title).first() != nil {
                throw AppError(.conflict, "funding.programme_exists", de: "Ein Programm mit diesem Titel gibt es bereits.", en: "A programme with this title exists already.")
            }
            try await p.create(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "funding.programme.create",
                                   objectType: "funding_programme", objectID: p.id?.uuidString ?? "", before: nil, after: "\(title) (\(p.levels))")
        }
        let dto = ProgrammeDTO(id: try p.requireID(), titel: p.title, richtlinie: p.guideline, antragsberechtigt: p.levelSet.map(\.rawValue).sorted(), version: 1, demo: false, foerdergegenstaende: [])
        return try await dto.encodeResponse(status: .created, for: req)
    }

    struct CallDTO: Content { var id: UUID; var programm: UUID; var titel: String; var oeffnet: String; var schliesst: String; var offen: Bool }
    struct CallInput: Content { var programm: UUID; var titel: String; var oeffnet: String; var schliesst: String }

    @Sendable func listCalls(req: Request) async throws -> [CallDTO] {
        let today = BusinessDate.today()
        return try await FundingCall.query(on: req.db).sort(\.$opensOn).all().compactMap { c in
            c.id.map { CallDTO(id: $0, programm: c.programmeID, titel: c.title, oeffnet: c.opensOn, schliesst: c.closesOn, offen: c.opensOn <= today && today <= c.closesOn) }
        }
    }

    @Sendable func createCall(req: Request) async throws -> Response {
        try req.authorize(.fundingManage)
        let input = try req.decodeJSON(CallInput.self)
        guard try await FundingProgramme.find(input.programm, on: req.db) != nil else { throw AppError.notFound }
        let title = try TextInput.required(input.titel, field: "titel", label: "den Titel", max: 200)
        guard let o = CalendarDay.iso(input.oeffnet), let s = CalendarDay.iso(input.schliesst), o <= s else {
            throw AppError(.unprocessableEntity, "funding.dates", de: "oeffnet und schliesst müssen gültige Daten sein (JJJJ-MM-TT oder TT.MM.JJJJ), schliesst nicht vor oeffnet.", en: "oeffnet and schliesst must be valid dates, schliesst not before oeffnet.")
        }
        let c = FundingCall()
        c.id = UUID(); c.programmeID = input.programm; c.title = title; c.opensOn = o; c.closesOn = s; c.createdBy = req.principal.auditActor; c.createdAt = Date()
        let actor = req.principal
        try await req.application.writeTransaction { db in
            try await c.create(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "funding.call.create",
                                   objectType: "funding_call", objectID: c.id?.uuidString ?? "", before: nil, after: "\(title): \(o) bis \(s)")
        }
        let today = BusinessDate.today()
        return try await CallDTO(id: try c.requireID(), programm: c.programmeID, titel: title, oeffnet: o, schliesst: s, offen: o <= today && today <= s).encodeResponse(status: .created, for: req)
    }

    struct ApplicationDTO: Content {
        var id: UUID; var aktenzeichen: String; var ars: String; var antragsteller: String; var titel: String; var status: String; var statusText: String
        var aufruf: UUID; var foerdergegenstand: UUID; var beginn: String; var ende: String; var beantragtCent: Int64; var bewilligtCent: Int64; var ausgezahltCent: Int64
        var partner: [String]
    }
    struct ApplicationInput: Content { var aufruf: String; var foerdergegenstand: String; var titel: String; var beschreibung: String?; var beginn: String?; var ende: String? }

    @Sendable func listApplications(req: Request) async throws -> [ApplicationDTO] {
        if case .anonymous = req.principal { throw AppError.unauthenticated }
        // the Land's token and staff see all; a municipality's token needs the scope for its own tenant
        if case .apiClient(let t) = req.principal, !req.can(.fundingView), !req.can(.fundingView, tenant: t.tenantARS) { throw AppError.forbidden }
        let ids = try await FundingAccess.visibleIDs(req)
        var q = FundingApplication.query(on: req.db).sort(\.$createdAt, .descending).limit(1000)
        if let ids { q = q.filter(\.$id ~~ ids) }
        let apps = try await q.all()
        let appIDs = apps.compactMap(\.id)
        let partners = appIDs.isEmpty ? [] : try await FundingPartner.query(on: req.db).filter(\.$applicationID ~~ appIDs).all()
        let books = appIDs.isEmpty ? [] : try await FundingBooking.query(on: req.db).filter(\.$applicationID ~~ appIDs).all()
        return apps.compactMap { a in
            guard let id = a.id else { return nil }
            let lines = Ledger.caseLines(books.filter { $0.applicationID == id }.compactMap(\.booking))
            return ApplicationDTO(id: id, aktenzeichen: a.reference, ars: a.tenantARS, antragsteller: a.tenantName, titel: a.title, status: a.status,
                                  statusText: a.state.german, aufruf: a.callID, foerdergegenstand: a.categoryID, beginn: a.startsOn, ende: a.endsOn,
                                  beantragtCent: a.requestedCents, bewilligtCent: lines.reduce(0) { $0 + $1.committed }, ausgezahltCent: lines.reduce(0) { $0 + $1.paid },
                                  partner: partners.filter { $0.applicationID == id }.map(\.tenantARS))
        }
    }

    @Sendable func createApplication(req: Request) async throws -> Response {
        guard case .apiClient(let t) = req.principal else {
            if case .anonymous = req.principal { throw AppError.unauthenticated }
            throw AppError.forbidden
        }
        try req.authorize(.fundingApply, tenant: t.tenantARS)
        let input = try req.decodeJSON(ApplicationInput.self)
        let title = try TextInput.required(input.titel, field: "titel", label: "den Titel", max: 200)
        let summary = try TextInput.optional(input.beschreibung, field: "beschreibung", label: "die Beschreibung", max: 8000) ?? ""
        var start: String? = nil, end: String? = nil
        if let b = input.beginn { guard let d = CalendarDay.iso(b) else { throw AppError(.unprocessableEntity, "funding.dates", de: "beginn ist kein gültiges Datum.", en: "beginn is not a valid date.") }; start = d }
        if let e = input.ende { guard let d = CalendarDay.iso(e) else { throw AppError(.unprocessableEntity, "funding.dates", de: "ende ist kein gültiges Datum.", en: "ende is not a valid date.") }; end = d }
        if let s = start, let e = end, e < s { throw AppError(.unprocessableEntity, "funding.dates", de: "ende darf nicht vor beginn liegen.", en: "ende must not be before beginn.") }
        let g = try await Tenants.tenant(t.tenantARS, on: req.db)
        let id: UUID
        do {
            id = try await FundingTenantController.createDraft(req.application, tenant: g, callID: input.aufruf, categoryID: input.foerdergegenstand, title: title,
                                                               summary: summary, startsOn: start, endsOn: end, actor: req.principal)
        } catch let e as AppError where e.status == .badRequest {
            throw AppError(.unprocessableEntity, e.code, de: e.messageDE, en: e.messageEN)
        }
        guard let a = try await FundingApplication.find(id, on: req.db) else { throw AppError.notFound }
        let dto = ApplicationDTO(id: id, aktenzeichen: a.reference, ars: a.tenantARS, antragsteller: a.tenantName, titel: a.title, status: a.status, statusText: a.state.german,
                                 aufruf: a.callID, foerdergegenstand: a.categoryID, beginn: a.startsOn, ende: a.endsOn, beantragtCent: 0, bewilligtCent: 0, ausgezahltCent: 0, partner: [])
        let res = try await dto.encodeResponse(status: .created, for: req)
        res.headers.replaceOrAdd(name: .location, value: "/foerderung/antraege/\(id)")
        return res
    }

    // MARK: open data

    struct ApprovalDTO: Content { var aktenzeichen: String; var empfaenger: String; var ars: String; var foerdergegenstand: String; var vorhaben: String; var haushaltsjahr: Int; var betragCent: Int64; var betrag: String; var interkommunal: Bool }

    /// Approved projects, one line per year: the final amount (commitment less releases).
    static func approvals(_ db: any Database) async throws -> [ApprovalDTO] {
        let apps = try await FundingApplication.query(on: db).filter(\.$status ~~ [FundingStatus.approved.rawValue, FundingStatus.proofSubmitted.rawValue, FundingStatus.closed.rawValue])
            .sort(\.$reference).all()
        let ids = apps.compactMap(\.id)
        guard !ids.isEmpty else { return [] }
        let books = try await FundingBooking.query(on: db).filter(\.$applicationID ~~ ids).all()
        let cats = Dictionary(try await FundingCategory.query(on: db).all().compactMap { c in c.id.map { ($0, "\(c.code) \(c.title)") } }, uniquingKeysWith: { a, _ in a })
        let joint = Set(try await FundingPartner.query(on: db).filter(\.$applicationID ~~ ids).all().map(\.applicationID))
        var out: [ApprovalDTO] = []
        for a in apps {
            guard let id = a.id else { continue }
            var byYear: [Int: Int64] = [:]
            for l in Ledger.caseLines(books.filter { $0.applicationID == id }.compactMap(\.booking)) { byYear[l.key.year, default: 0] += l.committed }
            for (y, c) in byYear.sorted(by: { $0.key < $1.key }) where c > 0 {
                out.append(ApprovalDTO(aktenzeichen: a.reference, empfaenger: a.tenantName, ars: a.tenantARS, foerdergegenstand: cats[a.categoryID] ?? "", vorhaben: a.title,
                                       haushaltsjahr: y, betragCent: c, betrag: Money(cents: c).decimalString, interkommunal: joint.contains(id)))
            }
        }
        return out
    }

    @Sendable func approvalsJSON(req: Request) async throws -> [ApprovalDTO] { try await Self.approvals(req.db) }

    @Sendable func approvalsCSV(req: Request) async throws -> Response {
        let rows = try await Self.approvals(req.db)
        let lines = [["Aktenzeichen", "Empfaenger", "ARS", "Foerdergegenstand", "Vorhaben", "Haushaltsjahr", "Betrag_Cent", "Betrag_EUR", "Interkommunal"]]
            + rows.map { [$0.aktenzeichen, $0.empfaenger, $0.ars, $0.foerdergegenstand, $0.vorhaben, String($0.haushaltsjahr), String($0.betragCent), $0.betrag, $0.interkommunal ? "ja" : "nein"] }
        let res = Response(status: .ok, body: .init(string: CSV.document(lines, delimiter: ";")))
        res.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"foerderung-bewilligungen.csv\"")
        return res
    }
}
