import Fluent
import Vapor
import RathausCore

/// A tenant admin's payment settings: Kassenzeichen prefix, expiry, provider, default booking
/// data, and the XBezahldienste endpoints of outside online services (webhook secret shown once).
struct PaymentSettingsController {
    func addRoutes(to web: any RoutesBuilder) {
        let z = web.grouped("mandanten", ":ars", "zahlungen")
        z.get(use: page)
        z.post(use: save)
        z.post("endpunkte", use: addEndpoint)
    }

    struct EndpointRow: Encodable { var originator: String; var endpoint: String; var name: String; var webhook: String; var haushaltsstelle: String; var provider: String }
    struct Opt: Encodable { var value: String; var label: String; var selected: Bool }
    struct View: Encodable {
        var ars: String; var name: String; var prefix: String; var expiry: Int; var haushaltsstelle: String; var kostentraeger: String; var objektnummer: String
        var providers: [Opt]; var endpoints: [EndpointRow]; var saved: Bool; var secret: String; var newEndpoint: String
    }

    func view(_ req: Request, ars: String, secret: String = "", newEndpoint: String = "") async throws -> View {
        let s = try await PaymentSettings.forTenant(ars, on: req.db)
        let eps = try await PaymentEndpoint.query(on: req.db).filter(\.$tenantARS == ars).sort(\.$originatorID).all()
        let current = s.provider ?? "test"
        return View(ars: ars, name: try await req.application.responsibility.tenantName(ars, on: req), prefix: s.prefix, expiry: s.expiryMinutes,
                    haushaltsstelle: s.haushaltsstelle, kostentraeger: s.kostentraeger, objektnummer: s.objektnummer,
                    providers: req.application.paymentProviders.keys.sorted().map { Opt(value: $0, label: PaymentNames.provider($0), selected: $0 == current) },
                    endpoints: eps.map { EndpointRow(originator: $0.originatorID, endpoint: $0.endpointID, name: $0.name, webhook: $0.webhookURL,
                                                     haushaltsstelle: $0.haushaltsstelle, provider: PaymentNames.provider($0.provider)) },
                    saved: req.queryParams["gespeichert"] != nil, secret: secret, newEndpoint: newEndpoint)
    }

    @Sendable func page(req: Request) async throws -> Response {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(.paymentSettings, tenant: ars)
        return try await req.render("kasse/einstellungen", title: req.t("payset_title"), try await view(req, ars: ars), form: true)
    }

    @Sendable func save(req: Request) async throws -> Response {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(.paymentSettings, tenant: ars)
        func f(_ k: String) -> String { ((try? req.content.get(String.self, at: k)) ?? "").trimmingCharacters(in: .whitespaces) }
        do {
            let prefix = f("praefix").uppercased()
            guard Kassenzeichen.validPrefix(prefix) else {
                throw AppError.invalid("praefix", de: "Das Präfix des Kassenzeichens besteht aus 1 bis 8 Großbuchstaben oder Ziffern, z. B. EF.", en: "1–8 capital letters or digits.")
            }
            guard let expiry = Int(f("ablauf")), (5...43200).contains(expiry) else {
                throw AppError.invalid("ablauf", de: "Der Ablauf liegt zwischen 5 und 43200 Minuten (30 Tage).", en: "Between 5 and 43200 minutes.")
            }
            let provider = f("dienstleister")
            guard req.application.paymentProviders[provider] != nil else {
                throw AppError.invalid("dienstleister", de: "Bitte wählen Sie einen eingerichteten Zahlungsdienstleister.", en: "Please choose a configured provider.")
            }
            let s = try await PaymentSettings.forTenant(ars, on: req.db)
            let before = "\(s.prefix), \(s.expiryMinutes) min"
            s.prefix = prefix; s.expiryMinutes = expiry; s.provider = provider
            s.haushaltsstelle = String(f("haushaltsstelle").prefix(40)); s.kostentraeger = String(f("kostentraeger").prefix(40)); s.objektnummer = String(f("objektnummer").prefix(40))
            let actor = req.principal.auditActor, actorID = req.principal.actorID
            try await req.db.transaction { db in
                try await s.save(on: db)
                try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: ars, action: "zahlung.settings", objectType: "mandant", objectID: ars,
                                       before: before, after: "\(s.prefix), \(s.expiryMinutes) min, \(provider), HHSt \(s.haushaltsstelle)")
            }
            return req.redirect(to: "/mandanten/\(ars)/zahlungen?gespeichert=1", redirectType: .normal)
        } catch let e as AppError {
            return try await req.renderError("kasse/einstellungen", title: req.t("payset_title"), try await view(req, ars: ars), e)
        }
    }

    @Sendable func addEndpoint(req: Request) async throws -> Response {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(.paymentSettings, tenant: ars)
        func f(_ k: String) -> String { ((try? req.content.get(String.self, at: k)) ?? "").trimmingCharacters(in: .whitespaces) }
        do {
            let o = f("originator"), e = f("endpunkt"), hook = f("webhook")
            guard XBezahldiensteRules.idOK(o) else { throw AppError.invalid("originator", de: "originatorId: 1 bis 36 Zeichen aus Buchstaben, Ziffern, _ und -.", en: "Invalid originatorId.") }
            guard XBezahldiensteRules.idOK(e) else { throw AppError.invalid("endpunkt", de: "endPointId: 1 bis 36 Zeichen aus Buchstaben, Ziffern, _ und -.", en: "Invalid endPointId.") }
            if !hook.isEmpty {
                guard hook.count <= 500, let u = URL(string: hook), u.scheme == "https" || u.scheme == "http", u.host != nil else {
                    throw AppError.invalid("webhook", de: "Die Webhook-Adresse muss eine http(s)-Adresse sein.", en: "The webhook must be an http(s) URL.")
                }
            }
            if try await PaymentEndpoint.query(on: req.db).filter(\.$originatorID == o).filter(\.$endpointID == e).first() != nil {
                throw AppError(.conflict, "zahlung.endpoint_exists", de: "Den Endpunkt \(o)/\(e) gibt es bereits.", en: "Endpoint exists.", field: "endpunkt")
            }
            let settings = try await PaymentSettings.forTenant(ars, on: req.db)
            let secret = AccountToken.randomToken()
            let ep = PaymentEndpoint()
            ep.tenantARS = ars; ep.originatorID = o; ep.endpointID = e; ep.name = String((f("name").isEmpty ? e : f("name")).prefix(100))
            ep.provider = settings.provider ?? "test"; ep.webhookURL = hook; ep.webhookSecret = secret
            ep.haushaltsstelle = String(f("haushaltsstelle").prefix(40)); ep.kostentraeger = String(f("kostentraeger").prefix(40)); ep.objektnummer = ""
            ep.active = true
            let actor = req.principal.auditActor, actorID = req.principal.actorID
            try await req.db.transaction { db in
                try await ep.create(on: db)
                try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: ars, action: "zahlung.endpoint", objectType: "endpunkt",
                                       objectID: "\(o)/\(e)", before: nil, after: hook)
            }
            return try await req.render("kasse/einstellungen", title: req.t("payset_title"), try await view(req, ars: ars, secret: secret, newEndpoint: "\(o)/\(e)"), form: true)
        } catch let e as AppError {
            return try await req.renderError("kasse/einstellungen", title: req.t("payset_title"), try await view(req, ars: ars), e)
        }
    }
}
