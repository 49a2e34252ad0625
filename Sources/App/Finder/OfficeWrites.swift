import Fluent
import SQLKit
import Vapor
import Finder
import RathausCore

/// Every change to offices and responsibilities: validation, conflict check, the change, its audit
/// entry and the finder version bump in one transaction; then the local index is rebuilt.
enum OfficeWrites {
    static func create(_ req: Request, tenant: String, _ input: OfficeInput) async throws -> Office {
        let o = Office()
        o.tenantARS = tenant
        o.isDemo = false
        try input.apply(to: o)
        try await req.db.transaction { db in
            if o.isMain { try await clearMain(tenant: tenant, except: nil, on: db) }
            try await o.create(on: db)
            try await FinderStore.bump(on: db)
            try await req.audit(on: db, "office.create", tenant: tenant, objectType: "office", objectID: o.id?.uuidString ?? "",
                                after: AuditFields.encode(auditFields(o)))
        }
        try await req.application.finder.rebuild(on: req.db)
        return o
    }

    static func update(_ req: Request, _ o: Office, _ input: OfficeInput) async throws -> Office {
        let before = AuditFields.encode(auditFields(o))
        try input.apply(to: o)
        o.isDemo = false
        let tenant = o.tenantARS
        try await req.db.transaction { db in
            if o.isMain { try await clearMain(tenant: tenant, except: o.id, on: db) }
            try await o.save(on: db)
            try await FinderStore.bump(on: db)
            try await req.audit(on: db, "office.update", tenant: tenant, objectType: "office", objectID: o.id?.uuidString ?? "",
                                before: before, after: AuditFields.encode(auditFields(o)))
        }
        try await req.application.finder.rebuild(on: req.db)
        return o
    }

    /// An office as the audit trail records it, field by field (German labels: the trail is the
    /// installation's record, not a page).
    static func auditFields(_ o: Office) -> [(String, String)] {
        let h = o.openingHours
        let hours = (1...7).compactMap { d -> String? in
            guard let iv = h.weekly[d], !iv.isEmpty else { return nil }
            return "\(FinderWebController.dayNames[d].prefix(2)) " + iv.map(\.text).joined(separator: ", ")
        }.joined(separator: "; ")
        return [("Name", o.name), ("Art", o.kind), ("Straße", o.street), ("PLZ", o.postalCode), ("Ort", o.city),
                ("Besucheradresse", o.visitorAddress), ("Telefon", o.phone), ("E-Mail", o.email), ("Webseite", o.website),
                ("Terminvereinbarung", o.appointmentURL), ("Barrierefreiheit", o.accessibility), ("Öffnungszeiten", hours),
                ("Ausnahmen", h.exceptions.isEmpty ? "" : "\(h.exceptions.count)"), ("Hauptsitz", o.isMain ? "ja" : "nein"),
                ("Koordinaten", o.latitude.map { la in o.longitude.map { "\(la), \($0)" } ?? "" } ?? "")]
    }

    /// One main office per tenant.
    static func clearMain(tenant: String, except: UUID?, on db: any Database) async throws {
        var q = Office.query(on: db).filter(\.$tenantARS == tenant).filter(\.$isMain == true)
        if let except { q = q.filter(\.$id != except) }
        try await q.set(\.$isMain, to: false).update()
    }

    static func delete(_ req: Request, _ o: Office) async throws {
        let id = try o.requireID()
        let used = try await Responsibility.query(on: req.db).filter(\.$officeID == id).count()
        guard used == 0 else {
            throw AppError(.conflict, "office.in_use", de: "Diese Stelle ist noch für \(used) Leistung(en) als zuständig eingetragen. Bitte übertragen oder löschen Sie diese Einträge zuerst.",
                           en: "This office is still responsible for \(used) service(s).")
        }
        let tenant = o.tenantARS
        try await req.db.transaction { db in
            try await o.delete(on: db)
            try await FinderStore.bump(on: db)
            try await req.audit(on: db, "office.delete", tenant: tenant, objectType: "office", objectID: id.uuidString, before: o.name)
        }
        try await req.application.finder.rebuild(on: req.db)
    }

    static func createEntry(_ req: Request, tenant: String, _ input: ResponsibilityInput) async throws -> Responsibility {
        let snap = try await req.finderSnapshot()
        let (_, service) = try FinderService.service(input.leistung, in: snap)
        let areaKey: ARS
        do { areaKey = try ARS(input.gebiet ?? "") } catch { throw AppError(.badRequest, error, field: "gebiet") }
        guard let area = snap.areaIndex[areaKey.value], let tenantArea = snap.areaIndex[tenant] else {
            throw AppError(.notFound, "ars.unknown", de: "Zum Regionalschlüssel \(areaKey.value) ist keine Gebietseinheit bekannt.", en: "Unknown area.")
        }
        // a tenant speaks for its own territory only: the area must lie within the tenant's area
        guard snap.resolverChain(area).contains(tenantArea) else {
            throw AppError(.forbidden, "responsibility.foreign_area", de: "Zuständigkeiten können nur für das eigene Gebiet und darin liegende Gebiete eingetragen werden.",
                           en: "Responsibilities can only be entered for the tenant's own area.", field: "gebiet")
        }
        let role = input.rolle ?? "responsible"
        guard ["responsible", "contact"].contains(role) else {
            throw AppError.invalid("rolle", de: "Die Rolle ist „responsible“ (zuständige Stelle) oder „contact“ (Ansprechpunkt).", en: "Role is responsible or contact.")
        }
        guard let officeID = input.organisationseinheit, let office = try await Office.find(officeID, on: req.db), office.tenantARS == tenant else {
            throw AppError.invalid("organisationseinheit", de: "Bitte wählen Sie eine Organisationseinheit des eigenen Mandanten.", en: "Choose an office of your own tenant.")
        }
        if let existing = try await Responsibility.query(on: req.db).filter(\.$leikaKey == service.key.value)
            .filter(\.$areaARS == areaKey.value).filter(\.$role == role).first() {
            throw conflict(service, areaKey.value, existing, on: req.db, snap: snap)
        }
        let e = Responsibility()
        e.leikaKey = service.key.value
        e.areaARS = areaKey.value
        e.role = role
        e.officeID = officeID
        e.tenantARS = tenant
        do {
            try await req.db.transaction { db in
                try await e.create(on: db)
                try await FinderStore.bump(on: db)
                try await req.audit(on: db, "responsibility.create", tenant: tenant, objectType: "responsibility", objectID: e.id?.uuidString ?? "",
                                    after: "\(service.key.value) \(service.name) in \(areaKey.value) → \(office.name) (\(role))")
            }
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // a concurrent request entered the same pair first
            throw AppError(.conflict, "responsibility.conflict", de: "Für diese Leistung, dieses Gebiet und diese Rolle ist bereits eine Stelle eingetragen.",
                           en: "An office is already entered for this service, area and role.")
        }
        try await req.application.finder.rebuild(on: req.db)
        return e
    }

    static func conflict(_ service: CatalogueService, _ area: String, _ existing: Responsibility, on db: any Database, snap: FinderSnapshot) -> AppError {
        let officeName = snap.officeIndex[existing.officeID].map { snap.offices[Int($0)].name } ?? "eine andere Stelle"
        let areaName = snap.areaIndex[area].map { snap.areas[Int($0)].name } ?? area
        return AppError(.conflict, "responsibility.conflict",
                        de: "Für „\(service.name)“ ist in \(areaName) bereits \(officeName) eingetragen. Ändern oder löschen Sie den vorhandenen Eintrag, statt einen zweiten anzulegen.",
                        en: "An office is already entered for this service and area.")
    }

    static func deleteEntry(_ req: Request, _ e: Responsibility) async throws {
        let tenant = e.tenantARS
        try await req.db.transaction { db in
            try await e.delete(on: db)
            try await FinderStore.bump(on: db)
            try await req.audit(on: db, "responsibility.delete", tenant: tenant, objectType: "responsibility", objectID: e.id?.uuidString ?? "",
                                before: "\(e.leikaKey) in \(e.areaARS) (\(e.role))")
        }
        try await req.application.finder.rebuild(on: req.db)
    }
}

extension FinderSnapshot {
    /// The area's chain (itself up to the Land) from the resolver's point of view.
    func resolverChain(_ area: Int32) -> [Int32] {
        resolver.chain(of: area)
    }
}

enum ServiceTexts {
    /// Newest version of each module, statewide ("") first, then the given tenants' own texts.
    static func current(for key: String, tenants: [String], on db: any Database) async throws -> [ServiceText] {
        let rows = try await ServiceText.query(on: db).filter(\.$leikaKey == key).filter(\.$tenantARS ~~ tenants)
            .sort(\.$version, .descending).all()
        var seen: Set<String> = []
        var out: [ServiceText] = []
        for r in rows where !seen.contains(r.tenantARS + "/" + r.module) {
            seen.insert(r.tenantARS + "/" + r.module)
            out.append(r)
        }
        return out.sorted { ($0.tenantARS, $0.module) < ($1.tenantARS, $1.module) }
    }
}
