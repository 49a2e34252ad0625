import Fluent
import Vapor
import RathausCore

/// Demo mode: a few municipalities have switched services on, and a verified demo citizen exists.
enum OnlineServicesDemo {
    static let citizenEmail = "buerger@demo.rathaus.test"
    static let businessEmail = "firma@demo.rathaus.test"
    /// Tenant → services it offers online. Erfurt offers every shipped service (so each can be
    /// tried end to end); VG Kranichfeld offers none: its pages say where to go.
    static var activations: [(tenant: String, slugs: [String])] { [
        ("16051", OnlineServiceCatalogue.shippedSlugs()),
        ("160710003003", ["hund-anmelden", "bewohnerparkausweis", "gewerbeanmeldung"]),
        ("16055", ["hund-anmelden", "sondernutzung"]),
    ] }

    /// Demo booking data (Haushaltsstelle, Kostenträger) of Erfurt's fees.
    static let erfurtBooking: [String: (String, String)] = [
        "bewohnerparkausweis": ("1.1220.1100", "12201"), "sondernutzung": ("1.5410.1100", "54101"), "meldebescheinigung": ("1.1220.1000", "12200"),
    ]

    static func seed(_ app: Application) async throws {
        let db = app.db
        if try await ServiceActivation.query(on: db).count() == 0 {
            let offices = try await Office.query(on: db).filter(\.$isMain == true).all()
            try await db.transaction { tx in
                for (tenant, slugs) in activations {
                    guard let office = offices.first(where: { $0.tenantARS == tenant }) else { continue }
                    for slug in slugs {
                        let a = ServiceActivation()
                        a.tenantARS = tenant; a.slug = slug; a.active = true; a.officeID = office.id; a.feeCents = nil
                        a.localText = "Demo: Rückfragen beantwortet das Team von \(office.name) montags bis freitags."
                        a.contact = office.name
                        a.updatedAt = Date(); a.updatedBy = "system:demo"
                        // Erfurt collects fees online: resident parking and special use before sending
                        if tenant == "16051", let booking = Self.erfurtBooking[slug] {
                            a.feePolicy = "vor_absenden"; a.haushaltsstelle = booking.0; a.kostentraeger = booking.1; a.objektnummer = ""
                        }
                        try await a.create(on: tx)
                        try await Audit.record(on: tx, actor: "system:demo", actorID: nil, tenant: tenant, action: "onlinedienst.activate",
                                               objectType: "onlinedienst", objectID: slug, before: nil, after: "aktiv")
                    }
                }
            }
        }
        if try await PaymentSettings.query(on: db).filter(\.$tenantARS == "16051").first() == nil {
            let ps = PaymentSettings()
            ps.tenantARS = "16051"; ps.prefix = "EF"; ps.expiryMinutes = 90; ps.haushaltsstelle = "1.1220.1000"; ps.kostentraeger = "12200"; ps.objektnummer = ""
            try await ps.create(on: db)
            let ep = PaymentEndpoint()
            ep.tenantARS = "16051"; ep.originatorID = "stadt-erfurt"; ep.endpointID = "demo-fachverfahren"; ep.name = "Demo-Fachverfahren Erfurt"
            ep.provider = "test"; ep.webhookURL = ""; ep.webhookSecret = "demo-geheimnis"; ep.haushaltsstelle = "1.1220.1000"; ep.kostentraeger = "12200"
            ep.objektnummer = ""; ep.active = true
            try await ep.create(on: db)
        }
        let hash = try await app.password.async.hash(DemoData.password)
        for (email, name, kind) in [(citizenEmail, "Erika Mustermann (Demo)", AccountKind.citizen), (businessEmail, "Max Handwerk (Demo)", AccountKind.business)] {
            if try await User.query(on: db).filter(\.$email == email).first() != nil { continue }
            try await db.transaction { tx in
                let u = User()
                u.kind = kind.rawValue; u.email = email; u.name = name; u.passwordHash = hash; u.role = nil; u.tenantARS = nil; u.officeIDs = ""
                u.totpEnabled = false; u.totpLastStep = 0; u.isDemo = true; u.disabled = false; u.emailVerifiedAt = Date()
                try await u.create(on: tx)
                let p = Profile.empty(try u.requireID())
                p.vorname = kind == .citizen ? "Erika" : "Max"; p.nachname = kind == .citizen ? "Mustermann" : "Handwerk"
                p.geburtsdatum = "1984-08-12"; p.strasse = "Fischmarkt"; p.hausnummer = "1"; p.plz = "99084"; p.ort = "Erfurt"; p.telefon = "0361 6550"
                try await p.create(on: tx)
                if kind == .business {
                    let o = Organisation()
                    o.name = "Handwerk Demo GmbH"; o.registerNumber = "HRB 999999"; o.createdAt = Date()
                    try await o.create(on: tx)
                    let m = OrganisationMember()
                    m.organisationID = try o.requireID(); m.userID = try u.requireID(); m.role = "inhaber"; m.createdAt = Date()
                    try await m.create(on: tx)
                }
                try await Audit.record(on: tx, actor: "system:demo", actorID: nil, tenant: nil, action: "konto.register",
                                       objectType: "user", objectID: email, before: nil, after: "Demo-Konto")
            }
        }
    }
}
