import Fluent
import Vapor
import Funding
import RathausCore
import XRechnung

/// The demo programme (labelled "Demo"), its budget with the federal figures the issue names, an
/// open call, and two paid e-invoices of VG Kranichfeld to link as evidence. Only with `--demo`.
enum FundingDemoData {
    static let programmeTitle = "ThürEGovRL 2024 (Demo)"
    static let vgKranichfeld = "160715007"

    static let categories: [(String, String, [FundingCostType], Financing, String)] = [
        ("1", "Einführung eines Informationssicherheitsmanagements (ISMS)", [.dienst, .schulung, .lizenz], .share(rateBasisPoints: 8000, capCents: 5_000_000), ""),
        ("2", "Einführung von E-Rechnung und Dokumentenmanagement (DMS)", [.sach, .dienst, .lizenz, .schulung], .share(rateBasisPoints: 7500, capCents: 10_000_000), ""),
        ("3", "Standardschnittstellen zu Fachverfahren", [.dienst, .lizenz], .share(rateBasisPoints: 7000, capCents: 7_500_000), ""),
        ("4", "Schulung der Beschäftigten", [.schulung], .fixed(amountPerUnitCents: 50_000), "je geschulte Person"),
        ("5", "Interkommunale Digitalisierungsvorhaben", [.sach, .dienst, .lizenz, .schulung], .share(rateBasisPoints: 9000, capCents: 20_000_000), ""),
    ]

    static func seed(_ app: Application) async throws {
        guard try await FundingProgramme.query(on: app.db).count() == 0 else { return }
        let now = Date()
        let p = FundingProgramme()
        p.id = UUID(); p.title = programmeTitle
        p.guideline = "Richtlinie zur Förderung der Digitalisierung der Kommunalverwaltungen (Demo-Fassung, nicht die amtliche Richtlinie)"
        p.levels = ApplicantLevel.allCases.map(\.rawValue).joined(separator: ","); p.demo = true; p.version = 1; p.budgetLock = 0
        p.createdBy = "system:demo"; p.createdAt = now; p.updatedAt = now
        let pid = try p.requireID()
        let year = Int(BusinessDate.today(now).prefix(4)) ?? 2026
        try await app.db.transaction { db in
            try await p.create(on: db)
            for (code, title, types, rule, unit) in categories {
                let c = FundingCategory()
                c.programmeID = pid; c.code = code; c.title = title; c.costTypes = types.map(\.rawValue).joined(separator: ","); c.version = 1
                c.updatedBy = "system:demo"; c.updatedAt = now; c.unitLabel = unit
                switch rule {
                case .share(let bp, let cap): c.financing = "anteil"; c.rateBasisPoints = bp; c.capCents = cap; c.unitCents = 0
                case .fixed(let u): c.financing = "festbetrag"; c.rateBasisPoints = 0; c.capCents = nil; c.unitCents = u
                }
                try await c.create(on: db)
            }
            let call = FundingCall()
            call.programmeID = pid; call.title = "Förderaufruf \(year + 1) (Demo)"
            call.opensOn = BusinessDate.today(now.addingTimeInterval(-30 * 86400)); call.closesOn = BusinessDate.today(now.addingTimeInterval(180 * 86400))
            call.createdBy = "system:demo"; call.createdAt = now
            try await call.create(on: db)
            // the Land's share of the federal digitalisation budget 2020–2022: 3.1 M€, 946,431 € in 2020
            let plan: [(Int, FundingSource, Int64, Bool, String)] = [
                (2020, .bund, 94_643_100, false, "Anteil des Landes am Digitalisierungsbudget 2020"),
                (2021, .bund, 107_678_500, false, "Anteil des Landes am Digitalisierungsbudget 2021"),
                (2022, .bund, 107_678_400, false, "Anteil des Landes am Digitalisierungsbudget 2022"),
                (year, .land, 150_000_000, false, "Haushaltsansatz \(year)"),
                (year + 1, .land, 150_000_000, true, "Verpflichtungsermächtigung für \(year + 1)"),
                (year + 2, .land, 100_000_000, true, "Verpflichtungsermächtigung für \(year + 2)"),
            ]
            for (y, s, c, ve, note) in plan {
                try await FundingService.book(db, programme: pid, key: BudgetKey(year: y, source: s), kind: .plan, cents: c, application: nil, note: note, actor: "system:demo", ve: ve)
            }
            try await Audit.record(on: db, actor: "system:demo", actorID: nil, tenant: nil, action: "funding.programme.create", objectType: "funding_programme",
                                   objectID: pid.uuidString, before: nil, after: "\(programmeTitle): 5 Fördergegenstände, 1 Aufruf, 6 Haushaltsansätze")
        }
        // tests that count a tenant's invoices start from an empty inbox; the funding tests seed these themselves
        if app.environment != .testing { try await seedInvoices(app) }
    }

    /// A Leitweg-ID for VG Kranichfeld and two supplier invoices, released for payment.
    static func seedInvoices(_ app: Application) async throws {
        guard let g = try await Gebiet.find(vgKranichfeld, on: app.db), let lid = try? LeitwegID.make(grob: LeitwegRegistry.coarse(for: g), fein: nil) else { return }
        if try await LeitwegEntry.query(on: app.db).filter(\.$leitwegID == lid.description).first() == nil {
            let e = LeitwegEntry()
            e.tenantARS = vgKranichfeld; e.leitwegID = lid.description; e.label = "VG Kranichfeld, Rechnungseingang"; e.active = true
            try await e.create(on: app.db)
        }
        let invoices: [(String, String, String, String, String)] = [
            ("ISMS-2027-001", "Beratung ISMS-Einführung, Strukturanalyse", "40", "HUR", "120,00"),
            ("ISMS-2027-002", "Schulung Informationssicherheit für Beschäftigte", "2", "DAY", "1.450,00"),
        ]
        for (number, text, qty, unit, price) in invoices {
            var f = InvoiceFormController.FormInput()
            f.leitweg = lid.description; f.nummer = number; f.datum = BusinessDate.today(); f.leistungsdatum = BusinessDate.today(); f.faellig = BusinessDate.today(Date().addingTimeInterval(30 * 86400))
            f.v_name = "Sicherheitsberatung Thüringen GmbH (Demo)"; f.v_strasse = "Juri-Gagarin-Ring 10"; f.v_plz = "99084"; f.v_ort = "Erfurt"; f.v_ustid = "DE811234567"
            f.v_kontakt = "Demo Vertrieb"; f.v_telefon = "0361 555000"; f.v_email = "rechnung@sicherheitsberatung.example"
            f.iban = "DE02 1203 0000 0000 2020 51"; f.kontoinhaber = "Sicherheitsberatung Thüringen GmbH"
            f.k_name = "Verwaltungsgemeinschaft Kranichfeld"; f.k_strasse = "Ritterstraße 3"; f.k_plz = "99448"; f.k_ort = "Kranichfeld"
            f.zeilen = [.init(text: text, menge: qty, einheit: unit, preis: price, satz: "19")]
            let built = InvoiceFormController.build(f, buyerName: g.name)
            guard built.errors.isEmpty else { app.logger.warning("Demo-Rechnung \(number): \(built.errors.map(\.message))"); continue }
            let xml = Data(UBLWriter.write(built.invoice).utf8)
            let r = try await InvoiceIntake.receive(IntakeContext(app: app, db: app.db, actor: "system:demo", actorID: nil), data: xml, channel: "formular", supplierEmail: nil)
            guard case .accepted(let e, _, _) = r else { continue }
            try await app.db.transaction { db in
                guard let inv = try await EInvoice.find(e.id, on: db) else { return }
                inv.status = InvoiceStatus.released.rawValue; inv.factualBy = "system:demo"; inv.arithmeticBy = "system:demo"; inv.releasedBy = "system:demo"
                try await inv.save(on: db)
                try await Audit.record(on: db, actor: "system:demo", actorID: nil, tenant: vgKranichfeld, action: "invoice.release", objectType: "invoice",
                                       objectID: inv.id?.uuidString ?? "", before: "eingegangen", after: "freigegeben (Demo)")
            }
        }
    }
}
