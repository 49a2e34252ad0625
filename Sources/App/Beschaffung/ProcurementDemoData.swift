import Fluent
import Foundation
import RathausCore
import Vapor

/// Demo procurement: the provider's billing details, one active framework with two lots whose
/// items come in through the same price-sheet import as a purchaser's upload, and Bad Berka as a
/// member with a billing address. Everything is marked "Demo".
extension ProcurementSettings {
    static func demo(_ ars: String, street: String, postCode: String, city: String, now: Date) throws -> ProcurementSettings {
        let s = ProcurementSettings()
        s.id = ars; s.approvalThresholdCents = 500_000; s.billingStreet = street; s.billingPostCode = postCode; s.billingCity = city
        s.updatedBy = "system:demo"; s.updatedAt = now
        return s
    }
}

enum ProcurementDemoData {
    static let hardwareSheet = """
        artikelnummer;bezeichnung;beschreibung;einheit;preis_netto;ust_satz;mindestmenge;hoechstmenge;lieferzeit_tage;servicegebuehr;gueltig_ab;kategorie
        NB-14;Demo: Notebook 14 Zoll;16 GB Arbeitsspeicher, 512 GB SSD, Windows 11 Pro;C62;899,00;19;1;50;10;25,00;01.01.2026;Hardware
        MON-24;Demo: Bildschirm 24 Zoll;höhenverstellbar, USB-C;C62;189,00;19;1;100;7;5,00;01.01.2026;Hardware
        DOCK-1;Demo: Dockingstation USB-C;;C62;149,00;19;1;100;7;;01.01.2026;Zubehör
        HS-1;Demo: Headset für Videokonferenzen;beidseitig, mit Geräuschunterdrückung;C62;59,90;19;1;200;5;;01.01.2026;Zubehör
        """
    static let softwareSheet = """
        artikelnummer;bezeichnung;beschreibung;einheit;preis_netto;ust_satz;mindestmenge;hoechstmenge;lieferzeit_tage;servicegebuehr;gueltig_ab;kategorie
        OFF-J;Demo: Bürosoftware je Arbeitsplatz und Jahr;;ANN;96,00;19;5;;2;;01.01.2026;Software
        EINR-H;Demo: Einrichtung vor Ort je Stunde;Techniker des Lieferanten;HUR;85,00;19;1;40;14;;01.01.2026;Dienstleistung
        """

    static func seed(_ app: Application) async throws {
        guard try await ProcurementFramework.query(on: app.db).count() == 0 else { return }
        let berka = "160710003003"
        let actor = SystemActor(auditActor: "system:demo")
        try await app.writeTransaction { db in
            let now = Date()
            let p = ProviderBilling()
            p.id = "anbieter"; p.name = "Demo IT-Dienstleister Kommunen Thüringen (AöR)"; p.street = "Demo-Straße 1"; p.postCode = "99084"
            p.city = "Erfurt"; p.vatID = "DE123456789"; p.iban = "DE02120300000000202051"; p.contactName = "Demo Einkauf"; p.phone = "0361 0000000"
            p.email = "einkauf@demo.rathaus.test"; p.paymentDays = 30; p.updatedBy = "system:demo"; p.updatedAt = now
            try await p.create(on: db)
            let s = ProcurementSettings()
            s.id = berka; s.approvalThresholdCents = 500_000; s.billingStreet = "Demo: Am Markt 10"; s.billingPostCode = "99438"; s.billingCity = "Bad Berka"
            s.updatedBy = "system:demo"; s.updatedAt = now
            try await s.create(on: db)
            let erfurt = try ProcurementSettings.demo("16051", street: "Demo: Fischmarkt 1", postCode: "99084", city: "Erfurt", now: now)
            try await erfurt.create(on: db)
            // Bad Berka and Erfurt are members since 01.01.2026; the Gemeinde Kranichfeld gave notice and
            // its membership ended on 01.01.2026 (the in-house rule refuses its call-offs)
            for (ars, status, until, text) in [(berka, "member", nil, "Demo: Mitglied ab 01.01.2026"), ("16051", "member", nil, "Demo: Mitglied ab 01.01.2026"),
                                               ("160715007046", "notice_given", "2026-01-01", "Demo: Mitglied 01.01.2020 bis 01.01.2026 (gekündigt)")] as [(String, String, String?, String)] {
                guard try await Membership.query(on: db).filter(\.$tenantARS == ars).first() == nil else { continue }
                let m = Membership(tenantARS: ars)
                m.status = status; m.appliedOn = "2025-10-01"; m.councilResolution = "Demo: Ratsbeschluss 2025/117"; m.councilResolutionOn = "2025-09-15"
                m.shareCents = 100_000; m.decidedOn = "2025-11-01"; m.effectiveFrom = until == nil ? "2026-01-01" : "2020-01-01"
                if let until { m.noticeGivenOn = "2025-06-30"; m.effectiveUntil = until }
                try await m.create(on: db)
                try await Audit.record(on: db, actor: "system:demo", actorID: nil, tenant: ars, action: "membership.approve",
                                       objectType: "membership", objectID: ars, before: nil, after: text)
            }
        }
        let year = Int(BusinessDate.today().prefix(4)) ?? 2026
        let fw = try await ProcurementService.saveFramework(app, id: nil, input: .init(
            reference: "RV-2026-001", subject: "Demo: Arbeitsplatz-IT für Kommunen",
            description: "Demo: Hardware, Zubehör, Bürosoftware und Einrichtung für die Arbeitsplätze der Mitglieder; europaweit ausgeschrieben, Zuschlag an zwei Lieferanten.",
            startsOn: "2026-01-01", endsOn: "\(year + 2)-12-31", extensionOptions: "zweimal um je 12 Monate", maxVolumeCents: 25_000_000, status: .active), actor: actor)
        let hw = try await ProcurementService.addLot(app, framework: fw, input: .init(number: 1, title: "Demo: Hardware und Zubehör", supplierName: "Demo Hardware GmbH",
                                                                                    supplierAddress: "Demo-Weg 5, 07743 Jena", supplierVATID: "DE987654321", supplierEmail: "lieferant.hardware@demo.rathaus.test"), actor: actor)
        let sw = try await ProcurementService.addLot(app, framework: fw, input: .init(number: 2, title: "Demo: Software und Einrichtung", supplierName: "Demo Software AG",
                                                                                    supplierAddress: "Demo-Allee 9, 99423 Weimar", supplierVATID: "DE111222333", supplierEmail: "lieferant.software@demo.rathaus.test"), actor: actor)
        _ = try await ProcurementService.importPriceSheet(app, lot: hw, data: Data(hardwareSheet.utf8), actor: actor)
        _ = try await ProcurementService.importPriceSheet(app, lot: sw, data: Data(softwareSheet.utf8), actor: actor)
    }
}
