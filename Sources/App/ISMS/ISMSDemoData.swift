import Fluent
import Vapor

/// Demo: the starter catalogue imported, and the provider's declarations for its services
/// (labelled in the evidence text as demo statements).
enum ISMSDemoData {
    static let controls: [(String, String, String)] = [
        ("plattform", "BACK-1", "Demo: tägliche Sicherung aller Rathaus-Daten im Rechenzentrum des Dienstleisters (Sicherungskonzept KIV, Stand 2026)"),
        ("plattform", "BACK-2", "Demo: unveränderbare Kopie in einem zweiten Brandabschnitt"),
        ("plattform", "RAUM-1", "Demo: Zutrittskontrolle Rechenzentrum, Prüfbericht 2026"),
        ("plattform", "RAUM-2", "Demo: USV und Klimatisierung, Wartungsnachweis 2026"),
        ("onlinedienste", "KRYPTO-2", "Demo: Onlinedienste nur über TLS 1.2+; Postfachnachrichten verschlüsselt übertragen"),
        ("onlinedienste", "FERN-1", "Demo: Fernwartung der Onlinedienste nur durch den Dienstleister, protokolliert"),
        ("e-rechnung", "DIENST-1", "Demo: Auftragsverarbeitungsvertrag E-Rechnungseingang"),
        ("e-payment", "DIENST-1", "Demo: Auftragsverarbeitungsvertrag E-Payment und PCI-DSS-Nachweis des Zahlungsdienstleisters"),
    ]

    static func seed(_ app: Application) async throws {
        if try await ISMSCatalogueVersion.query(on: app.db).count() == 0 {
            try await ISMSService.importStarter(app, actor: "system:demo", actorID: nil)
        }
        try await seedMeasureAndIncident(app)
        guard try await ISMSProviderControl.query(on: app.db).count() == 0 else { return }
        try await app.writeTransaction { db in
            for (service, rid, evidence) in controls {
                let c = ISMSProviderControl()
                c.service = service; c.requirementID = rid; c.evidence = evidence; c.declaredBy = "system:demo"; c.declaredAt = Date()
                try await c.create(on: db)
            }
            try await Audit.record(on: db, actor: "system:demo", actorID: nil, tenant: nil, action: "isms.control", objectType: "isms_control",
                                   objectID: "demo", before: nil, after: "\(controls.count) Demo-Erklärungen des Dienstleisters")
        }
    }

    /// Bad Berka: one planned measure with a cost estimate (for the funding draft) and one open
    /// incident with personal data (the 72-hour deadline), both marked as demo.
    static func seedMeasureAndIncident(_ app: Application) async throws {
        let berka = "160710003003"
        guard try await ISMSMeasure.query(on: app.db).filter(\.$tenantARS == berka).count() == 0,
              let isb = try await User.query(on: app.db).filter(\.$email == "isb.bad-berka@demo.rathaus.test").first(),
              let isbID = isb.id, let g = try await Gebiet.find(berka, on: app.db) else { return }
        let now = Date()
        try await app.writeTransaction { db in
            let m = ISMSMeasure()
            m.tenantARS = berka; m.requirementID = "BACK-3"; m.title = "Demo: Wiederherstellung der Meldedaten einmal jährlich üben (externe Begleitung)"
            m.owner = isbID.uuidString; m.dueOn = BusinessDate.today(now.addingTimeInterval(120 * 86400)); m.status = "geplant"; m.costCents = 240_000
            m.fundingReference = ""; m.createdBy = "system:demo"; m.createdAt = now; m.updatedBy = "system:demo"; m.updatedAt = now
            try await m.create(on: db)
        }
        let report = ISMSIncidents.Report(title: "Demo: Dienst-Notebook im Zug verloren", description: "Demo: Ein verschlüsseltes Notebook des Bürgerbüros wurde im Zug liegen gelassen; darauf liegen Listen mit Anschriften.",
                                          category: .deviceLoss, assessment: .medium, systems: "Notebook Bürgerbüro 3", personalData: true,
                                          occurredAt: now.addingTimeInterval(-8 * 3600), detectedAt: now.addingTimeInterval(-6 * 3600))
        _ = try await ISMSIncidents.report(app, tenant: g, report, actor: .staff(StaffPrincipal(userID: isbID, email: isb.email, name: isb.name, grants: [RoleGrant(role: .isb, tenantARS: berka)], memberTenants: [], tenantARS: berka, isDemo: true)), now: now, notify: false)
    }
}
