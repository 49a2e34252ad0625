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
}
