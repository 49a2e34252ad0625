import Fluent
import Foundation
import ISMS
import RathausCore
import Vapor

/// The ISMS workspace of each tenant on the one check catalogue in force, with the controls the
/// provider covers for the members that use its services.
enum ISMSService {
    /// The provider's services a member can use, and how Rathaus knows it uses them.
    static let services = ["plattform", "onlinedienste", "e-rechnung", "e-payment"]

    static func serviceName(_ key: String) -> String {
        let en = DisplayLanguage.english
        switch key {
        case "plattform": return en ? "Rathaus platform (accounts, data, audit trail)" : "Plattform Rathaus (Konten, Daten, Protokoll)"
        case "onlinedienste": return en ? "Online services" : "Onlinedienste"
        case "e-rechnung": return en ? "E-invoice inbox" : "E-Rechnungseingang"
        case "e-payment": return en ? "E-payment" : "E-Payment"
        default: return key
        }
    }

    static let starterURL = Bundle.module.url(forResource: "startkatalog", withExtension: "json", subdirectory: "Resources/isms")
        ?? Bundle.module.bundleURL.appendingPathComponent("Resources/isms/startkatalog.json")

    // MARK: catalogue

    /// The catalogue in force (newest version) and its row.
    static func current(_ db: any Database) async throws -> (Catalogue, ISMSCatalogueVersion)? {
        guard let row = try await ISMSCatalogueVersion.query(on: db).sort(\.$version, .descending).first(),
              let c = try? JSONDecoder().decode(Catalogue.self, from: Data(row.body.utf8)) else { return nil }
        return (c, row)
    }

    static func version(_ db: any Database, _ v: Int) async throws -> Catalogue? {
        guard let row = try await ISMSCatalogueVersion.query(on: db).filter(\.$version == v).first() else { return nil }
        return try? JSONDecoder().decode(Catalogue.self, from: Data(row.body.utf8))
    }

    /// Imports a catalogue file as the next version; refused as a whole with the line-by-line
    /// German report when any line is bad. Returns what changed against the version before.
    static func importCatalogue(_ app: Application, data: Data, filename: String, title: String, demo: Bool, actor: String, actorID: String?) async throws -> (Catalogue, CatalogueDiff) {
        try await app.writeTransaction { db in
            let before = try await current(db)
            let next = (before?.1.version ?? 0) + 1
            let cleanTitle = title.trimmingCharacters(in: .whitespacesAndNewlines)
            switch CatalogueImport.parse(data, filename: filename, id: before?.0.id ?? "katalog", version: next,
                                         title: cleanTitle.isEmpty ? (before?.0.title ?? "Prüfkatalog") : cleanTitle) {
            case .failure(let failure):
                throw ISMSImportError(problems: failure.problems)
            case .success(var c):
                if !cleanTitle.isEmpty { c.title = String(cleanTitle.prefix(200)) }
                let diff = CatalogueDiff(from: before?.0, to: c)
                let row = ISMSCatalogueVersion()
                row.version = next; row.title = c.title; row.demo = demo
                row.body = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
                row.importedBy = actor; row.importedAt = Date()
                try await row.create(on: db)
                try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: nil, action: "isms.catalogue",
                                       objectType: "isms_catalogue", objectID: "\(next)", before: before.map { "Version \($0.1.version)" },
                                       after: "Version \(next): \(c.requirements.count) Anforderungen (\(diff.added.count) neu, \(diff.changed.count) geändert, \(diff.removed.count) entfallen)")
                return (c, diff)
            }
        }
    }

    /// The shipped starter catalogue (demo data, and the button "Startkatalog übernehmen").
    static func importStarter(_ app: Application, actor: String, actorID: String?) async throws {
        let data = try Data(contentsOf: starterURL)
        _ = try await importCatalogue(app, data: data, filename: "startkatalog.json", title: "", demo: true, actor: actor, actorID: actorID)
    }

    // MARK: tenant

    /// The provider's services this tenant uses right now (read live: a deactivated service ends
    /// the inheritance the same second).
    static func usedServices(_ db: any Database, tenant: String) async throws -> Set<String> {
        var used: Set<String> = ["plattform"]
        if try await ServiceActivation.query(on: db).filter(\.$tenantARS == tenant).filter(\.$active == true).count() > 0 { used.insert("onlinedienste") }
        if try await LeitwegEntry.query(on: db).filter(\.$tenantARS == tenant).filter(\.$active == true).count() > 0 { used.insert("e-rechnung") }
        if try await PaymentEndpoint.query(on: db).filter(\.$tenantARS == tenant).filter(\.$active == true).count() > 0 { used.insert("e-payment") }
        return used
    }

    static func controls(_ db: any Database) async throws -> [ProviderControl] {
        try await ISMSProviderControl.query(on: db).sort(\.$service).sort(\.$requirementID).all()
            .map { ProviderControl(service: $0.service, requirementID: $0.requirementID, evidence: $0.evidence) }
    }

    struct Item: Sendable {
        var requirement: Requirement
        var topic: Topic
        var answer: ISMSAnswer?
        var effective: EffectiveStatus
        var inheritedFrom: [ProviderControl]
        /// the requirement changed in a catalogue version after the answer was given
        var changedSinceAnswer: Bool
    }

    struct Workspace: Sendable {
        var catalogue: Catalogue
        var version: ISMSCatalogueVersion
        var items: [Item]
        var progress: CatalogueProgress
        var byTopic: [(Topic, CatalogueProgress)]
        var used: Set<String>
        /// answers to requirements the catalogue in force no longer has
        var orphaned: [ISMSAnswer]
    }

    static func workspace(_ db: any Database, tenant: String) async throws -> Workspace? {
        guard let (catalogue, row) = try await current(db) else { return nil }
        let answers = try await ISMSAnswer.query(on: db).filter(\.$tenantARS == tenant).all()
        let byID = Dictionary(answers.map { ($0.requirementID, $0) }, uniquingKeysWith: { a, _ in a })
        let used = try await usedServices(db, tenant: tenant)
        let inherited = Inheritance.inherited(try await controls(db), using: used)
        // requirements changed since the version an answer was given under
        var changed = Set<String>()
        let versions = Set(answers.map(\.catalogueVersion)).filter { $0 < row.version }
        for v in versions {
            if let old = try await version(db, v) {
                let diff = CatalogueDiff(from: old, to: catalogue)
                for a in answers where a.catalogueVersion == v && diff.changed.contains(a.requirementID) { changed.insert(a.requirementID) }
            }
        }
        var items: [Item] = []
        var byTopic: [(Topic, CatalogueProgress)] = []
        for t in catalogue.topics {
            var pairs: [(Requirement, EffectiveStatus)] = []
            for r in t.requirements {
                let a = byID[r.id]
                let from = inherited[r.id] ?? []
                let eff = EffectiveStatus.of(own: a.flatMap { RequirementStatus(rawValue: $0.status) }, inherited: !from.isEmpty)
                items.append(Item(requirement: r, topic: t, answer: a, effective: eff, inheritedFrom: from, changedSinceAnswer: changed.contains(r.id)))
                pairs.append((r, eff))
            }
            byTopic.append((t, CatalogueProgress.of(pairs)))
        }
        let ids = Set(catalogue.requirements.map(\.id))
        return Workspace(catalogue: catalogue, version: row, items: items, progress: byTopic.reduce(CatalogueProgress()) { $0 + $1.1 },
                         byTopic: byTopic, used: used, orphaned: answers.filter { !ids.contains($0.requirementID) })
    }

    /// One answer: checked, written with its next revision, the old state kept in the history and
    /// the audit trail (field by field).
    static func answer(_ app: Application, tenant: String, requirement: Requirement, catalogueVersion: Int, status: RequirementStatus,
                       justification: String, note: String, responsible: String, actor: Principal) async throws {
        if let refusal = Answering.check(status: status, justification: justification, note: note) {
            throw AppError(.unprocessableEntity, "isms.answer", de: refusal.german, en: refusal.english, field: refusal.field)
        }
        guard responsible.count <= 200 else {
            throw AppError(.unprocessableEntity, "isms.responsible", de: "Die verantwortliche Person darf höchstens 200 Zeichen lang sein.", en: "The responsible person may have at most 200 characters.", field: "verantwortlich")
        }
        let j = justification.trimmingCharacters(in: .whitespacesAndNewlines)
        try await app.writeTransaction { db in
            let existing = try await ISMSAnswer.query(on: db).filter(\.$tenantARS == tenant).filter(\.$requirementID == requirement.id).first()
            let a = existing ?? ISMSAnswer()
            let before = existing.map { fields($0) }
            if existing == nil { a.tenantARS = tenant; a.requirementID = requirement.id; a.revision = 0 }
            a.status = status.rawValue; a.justification = j; a.note = note.trimmingCharacters(in: .whitespacesAndNewlines)
            a.responsible = responsible.trimmingCharacters(in: .whitespacesAndNewlines); a.catalogueVersion = catalogueVersion
            a.revision += 1; a.updatedBy = actor.auditActor; a.updatedAt = Date()
            if existing == nil { try await a.create(on: db) } else { try await a.save(on: db) }
            let v = ISMSAnswerVersion()
            v.tenantARS = tenant; v.requirementID = requirement.id; v.revision = a.revision; v.status = a.status; v.justification = a.justification
            v.note = a.note; v.responsible = a.responsible; v.catalogueVersion = catalogueVersion; v.changedBy = actor.auditActor; v.changedAt = a.updatedAt
            try await v.create(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: tenant, action: "isms.answer",
                                   objectType: "isms_requirement", objectID: requirement.id, before: before.map(AuditFields.encode),
                                   after: AuditFields.encode(fields(a)))
        }
    }

    static func fields(_ a: ISMSAnswer) -> [(String, String)] {
        [("Status", RequirementStatus(rawValue: a.status)?.german ?? a.status), ("Begründung", a.justification), ("Notiz", a.note), ("Verantwortlich", a.responsible)]
    }

    /// People who hold a current role in the tenant (candidates for ISB and deputy).
    static func staff(_ db: any Database, tenant: String) async throws -> [User] {
        let now = Date()
        let ids = Set(try await RoleAssignment.query(on: db).filter(\.$tenantARS == tenant).all().filter { $0.grant?.isCurrent(at: now) ?? false }.map(\.userID))
        guard !ids.isEmpty else { return [] }
        return try await User.query(on: db).filter(\.$id ~~ Array(ids)).sort(\.$name).all()
    }

    /// Names the ISB and the deputy; both get the role `isb` for the tenant, a replaced one loses it.
    static func setOfficers(_ app: Application, tenant: String, isb: UUID?, deputy: UUID?, actor: Principal) async throws {
        if let isb, let deputy, isb == deputy {
            throw AppError(.unprocessableEntity, "isms.officers", de: "ISB und Vertretung müssen zwei verschiedene Personen sein.", en: "The ISB and the deputy must be two different people.", field: "vertretung")
        }
        let candidates = Set(try await staff(app.db, tenant: tenant).compactMap(\.id))
        for (id, field) in [(isb, "isb"), (deputy, "vertretung")] {
            if let id, !candidates.contains(id) {
                throw AppError(.unprocessableEntity, "isms.officer_unknown", de: "Diese Person hat keine Rolle in Ihrer Verwaltung. Geben Sie ihr zuerst eine Rolle unter „Personal“.",
                               en: "This person has no role in your administration. Give them a role under “Staff” first.", field: field)
            }
        }
        try await app.writeTransaction { db in
            let o = try await ISMSOfficer.find(tenant, on: db) ?? ISMSOfficer()
            let before = o.id == nil ? nil : "ISB \(o.isbUserID?.uuidString ?? "–"), Vertretung \(o.deputyUserID?.uuidString ?? "–")"
            let old = Set([o.isbUserID, o.deputyUserID].compactMap { $0 })
            let isNew = o.id == nil
            o.id = tenant; o.isbUserID = isb; o.deputyUserID = deputy; o.updatedBy = actor.auditActor; o.updatedAt = Date()
            if isNew { try await o.create(on: db) } else { try await o.save(on: db) }
            let now = Set([isb, deputy].compactMap { $0 })
            let roles = try await RoleAssignment.query(on: db).filter(\.$tenantARS == tenant).filter(\.$role == Role.isb.rawValue).all()
            for r in roles where old.contains(r.userID) && !now.contains(r.userID) && r.createdBy == "isms" { try await r.delete(on: db) }
            for (id, note) in [(isb, "ISB"), (deputy, "Vertretung der ISB")] {
                guard let id, !roles.contains(where: { $0.userID == id && $0.grant?.isCurrent(at: Date()) == true }) else { continue }
                try await RoleAssignment(userID: id, role: .isb, tenantARS: tenant, note: note, createdBy: "isms").create(on: db)
            }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: tenant, action: "isms.officers",
                                   objectType: "isms_officers", objectID: tenant, before: before,
                                   after: "ISB \(isb?.uuidString ?? "–"), Vertretung \(deputy?.uuidString ?? "–")")
        }
    }
}

/// A catalogue file with problems: every line's German message, nothing imported.
struct ISMSImportError: Error { var problems: [CatalogueImport.Problem] }
