import Fluent
import Vapor
import RathausCore

struct DemoAccount: Sendable {
    let email: String
    let name: String
    let role: Role
    let tenant: String?
    /// Further roles of the same person (a small town's mayor is admin, clerk and cash office at once).
    var more: [(Role, String?)] = []
}

struct DemoAccountView: Encodable {
    var email: String
    var name: String
    var role: String
    var tenant: String?
    init(_ a: DemoAccount) { email = a.email; name = a.name; role = a.role.rawValue; tenant = a.tenant }
}

/// Clearly marked demo accounts for `rathaus serve --demo`, one per role. Never created otherwise.
/// Their TOTP secret is public on purpose: the second-factor page shows the current code for
/// demo accounts in demo mode, so a newcomer can click through every role.
enum DemoData {
    static let password = "Demo-Passwort-2026"
    static let totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    static let accounts: [DemoAccount] = [
        DemoAccount(email: "betrieb@demo.rathaus.test", name: "Demo Betrieb (KIV)", role: .operator, tenant: nil),
        DemoAccount(email: "land@demo.rathaus.test", name: "Demo Land Thüringen", role: .state, tenant: "16"),
        DemoAccount(email: "admin.erfurt@demo.rathaus.test", name: "Demo Admin Erfurt", role: .tenantAdmin, tenant: "16051"),
        DemoAccount(email: "admin.bad-berka@demo.rathaus.test", name: "Demo Admin Bad Berka", role: .tenantAdmin, tenant: "160710003003",
                    more: [(.clerk, "160710003003"), (.cashOffice, "160710003003")]),
        DemoAccount(email: "admin.vg-kranichfeld@demo.rathaus.test", name: "Demo Admin VG Kranichfeld", role: .tenantAdmin, tenant: "160715007"),
        DemoAccount(email: "sachbearbeitung.erfurt@demo.rathaus.test", name: "Demo Sachbearbeitung Erfurt", role: .clerk, tenant: "16051"),
        DemoAccount(email: "kasse.erfurt@demo.rathaus.test", name: "Demo Stadtkasse Erfurt", role: .cashOffice, tenant: "16051"),
        DemoAccount(email: "kompetenzzentrum@demo.rathaus.test", name: "Demo Kompetenzzentrum", role: .competenceCentre, tenant: nil),
        DemoAccount(email: "cert@demo.rathaus.test", name: "Demo CERT (IT-Dienstleister)", role: .cert, tenant: nil),
        DemoAccount(email: "foerderung.vg-kranichfeld@demo.rathaus.test", name: "Demo Fördermittel VG Kranichfeld", role: .fundingClerk, tenant: "160715007"),
        DemoAccount(email: "vorsitz.vg-kranichfeld@demo.rathaus.test", name: "Demo Gemeinschaftsvorsitz VG Kranichfeld", role: .signatory, tenant: "160715007"),
        DemoAccount(email: "buergermeister.kranichfeld@demo.rathaus.test", name: "Demo Bürgermeister Kranichfeld", role: .signatory, tenant: "160715007046"),
        DemoAccount(email: "buergermeisterin.klettbach@demo.rathaus.test", name: "Demo Bürgermeisterin Klettbach", role: .signatory, tenant: "160715007043"),
        DemoAccount(email: "bewilligung@demo.rathaus.test", name: "Demo Bewilligung (sachlich)", role: .fundingOfficer, tenant: "16"),
        DemoAccount(email: "bewilligung2@demo.rathaus.test", name: "Demo Bewilligung (rechnerisch)", role: .fundingOfficer, tenant: "16"),
        DemoAccount(email: "isb.bad-berka@demo.rathaus.test", name: "Demo Informationssicherheit Bad Berka", role: .isb, tenant: "160710003003"),
        DemoAccount(email: "einkauf@demo.rathaus.test", name: "Demo Einkauf (IT-Dienstleister)", role: .procurement, tenant: nil),
        DemoAccount(email: "beschaffung.bad-berka@demo.rathaus.test", name: "Demo Beschaffung Bad Berka", role: .procurementClerk, tenant: "160710003003"),
        DemoAccount(email: "beschaffung.erfurt@demo.rathaus.test", name: "Demo Beschaffung Erfurt", role: .procurementClerk, tenant: "16051"),
        DemoAccount(email: "beschaffung.kranichfeld@demo.rathaus.test", name: "Demo Beschaffung Kranichfeld", role: .procurementClerk, tenant: "160715007046"),
    ]

    static func seed(_ app: Application) async throws {
        let hash = try await app.password.async.hash(password)
        for a in accounts {
            if try await User.query(on: app.db).filter(\.$email == a.email).first() != nil { continue }
            let u = User(email: a.email, name: a.name, passwordHash: hash, isDemo: true)
            if a.role.requiresTOTP {
                u.totpSecret = totpSecret
                u.totpEnabled = true
            }
            try await app.db.transaction { db in
                try await u.create(on: db)
                for (role, tenant) in [(a.role, a.tenant)] + a.more {
                    try await RoleAssignment(userID: u.requireID(), role: role, tenantARS: tenant, createdBy: "system:demo").create(on: db)
                }
                try await Audit.record(on: db, actor: "system:demo", actorID: nil, tenant: a.tenant, action: "user.create",
                                       objectType: "user", objectID: a.email, before: nil, after: "Demo-Konto, Rolle \(a.role.rawValue)")
            }
        }
        if try await SurveyRound.query(on: app.db).count() == 0 {
            let r = SurveyRound()
            r.title = "Interessenbekundung Beitritt 2027 (Demo)"
            r.status = "open"
            r.openedOn = BusinessDate.today()
            r.closesOn = nil
            r.createdBy = "system:demo"
            try await app.db.transaction { db in
                try await r.create(on: db)
                try await Audit.record(on: db, actor: "system:demo", actorID: nil, tenant: nil, action: "survey.open",
                                       objectType: "survey_round", objectID: r.id?.uuidString ?? "", before: nil, after: r.title)
            }
        }
        // Leitweg-IDs so a supplier can send a demo invoice straight away.
        for (ars, fein, label) in [("16051", nil, "Stadtverwaltung Erfurt, Rechnungseingang"), ("16051", "KASSE", "Stadtkasse Erfurt"),
                                   ("160710003003", nil, "Stadt Bad Berka, Rechnungseingang")] as [(String, String?, String)] {
            guard let g = try await Gebiet.find(ars, on: app.db),
                  let id = try? LeitwegID.make(grob: LeitwegRegistry.coarse(for: g), fein: fein),
                  try await LeitwegEntry.query(on: app.db).filter(\.$leitwegID == id.description).first() == nil else { continue }
            let e = LeitwegEntry()
            e.tenantARS = ars
            e.leitwegID = id.description
            e.label = label
            e.active = true
            try await app.db.transaction { db in
                try await e.create(on: db)
                try await Audit.record(on: db, actor: "system:demo", actorID: nil, tenant: ars, action: "leitweg.create",
                                       objectType: "leitweg_id", objectID: e.leitwegID, before: nil, after: label)
            }
        }
        try await EventDemoData.seed(app)
        try await FundingDemoData.seed(app)
        try await ISMSDemoData.seed(app)
        try await ProcurementDemoData.seed(app)
        app.logger.notice("Demo-Modus: Demo-Konten angelegt (Passwort \(password)). Nicht für den Produktivbetrieb.")
    }
}
