import Fluent
import Vapor
import RathausCore

/// `rathaus zahlung einstellungen --tenant ARS [--praefix EF] [--ablauf 90] [--haushaltsstelle …] [--kostentraeger …]`
/// `rathaus zahlung endpunkt --tenant ARS --originator ID --endpunkt ID [--name …] [--haushaltsstelle …] [--webhook URL]`
/// (prints the webhook secret once).
struct PaymentCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "aktion", help: "einstellungen | endpunkt")
        var action: String
        @Option(name: "tenant", help: "ARS des Mandanten")
        var tenant: String?
        @Option(name: "praefix", help: "Präfix der Kassenzeichen (1–8 Großbuchstaben/Ziffern)")
        var prefix: String?
        @Option(name: "ablauf", help: "Minuten bis eine unfertige Zahlung abläuft (Standard 90)")
        var expiry: Int?
        @Option(name: "haushaltsstelle", help: "Haushaltsstelle")
        var haushaltsstelle: String?
        @Option(name: "kostentraeger", help: "Kostenträger")
        var kostentraeger: String?
        @Option(name: "objektnummer", help: "Objektnummer")
        var objektnummer: String?
        @Option(name: "originator", help: "originatorId (XBezahldienste)")
        var originator: String?
        @Option(name: "endpunkt", help: "endPointId (XBezahldienste)")
        var endpoint: String?
        @Option(name: "name", help: "Bezeichnung")
        var name: String?
        @Option(name: "webhook", help: "Adresse für signierte Statusmeldungen (https://…)")
        var webhook: String?
        @Option(name: "dienstleister", help: "Zahlungsdienstleister (eingerichtete: test im Demo-Modus)")
        var provider: String?
    }

    var help: String { "Richtet Kassenzeichen, Buchungsdaten und XBezahldienste-Endpunkte eines Mandanten ein." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let db = context.application.db
        guard let t = signature.tenant else { throw CommandFailure(message: "--tenant <ARS> fehlt.") }
        let tenant: Gebiet
        do { tenant = try await Tenants.tenant(t, on: db) } catch let e as AppError { throw CommandFailure(message: e.messageDE) }
        switch signature.action {
        case "einstellungen":
            let s = try await PaymentSettings.forTenant(tenant.ars, on: db)
            if let p = signature.prefix {
                guard Kassenzeichen.validPrefix(p) else { throw CommandFailure(message: "Das Präfix besteht aus 1 bis 8 Großbuchstaben oder Ziffern.") }
                s.prefix = p
            }
            if let m = signature.expiry {
                guard (5...43200).contains(m) else { throw CommandFailure(message: "--ablauf liegt zwischen 5 und 43200 Minuten.") }
                s.expiryMinutes = m
            }
            if let h = signature.haushaltsstelle { s.haushaltsstelle = String(h.prefix(40)) }
            if let k = signature.kostentraeger { s.kostentraeger = String(k.prefix(40)) }
            if let o = signature.objektnummer { s.objektnummer = String(o.prefix(40)) }
            if let p = signature.provider {
                guard context.application.paymentProviders[p] != nil else {
                    throw CommandFailure(message: "Der Zahlungsdienstleister „\(p)“ ist auf dieser Installation nicht eingerichtet (vorhanden: \(context.application.paymentProviders.keys.sorted().joined(separator: ", "))).")
                }
                s.provider = p
            }
            try await db.transaction { tx in
                try await s.save(on: tx)
                try await Audit.record(on: tx, actor: "cli:zahlung", actorID: nil, tenant: tenant.ars, action: "zahlung.settings", objectType: "mandant",
                                       objectID: tenant.ars, before: nil, after: "Präfix \(s.prefix), Ablauf \(s.expiryMinutes) min, HHSt \(s.haushaltsstelle)")
            }
            context.console.print("Zahlungseinstellungen für \(tenant.name): Präfix \(s.prefix), Ablauf \(s.expiryMinutes) Minuten, Haushaltsstelle \(s.haushaltsstelle.isEmpty ? "–" : s.haushaltsstelle).")
        case "endpunkt":
            guard let o = signature.originator, let e = signature.endpoint, XBezahldiensteRules.idOK(o), XBezahldiensteRules.idOK(e) else {
                throw CommandFailure(message: "--originator und --endpunkt: je 1 bis 36 Zeichen aus Buchstaben, Ziffern, _ und -.")
            }
            if let p = signature.provider, context.application.paymentProviders[p] == nil {
                throw CommandFailure(message: "Der Zahlungsdienstleister „\(p)“ ist auf dieser Installation nicht eingerichtet.")
            }
            if let w = signature.webhook, !(w.hasPrefix("https://") || w.hasPrefix("http://")) {
                throw CommandFailure(message: "--webhook muss eine http(s)-Adresse sein.")
            }
            if try await PaymentEndpoint.query(on: db).filter(\.$originatorID == o).filter(\.$endpointID == e).first() != nil {
                throw CommandFailure(message: "Den Endpunkt \(o)/\(e) gibt es bereits.")
            }
            let secret = AccountToken.randomToken()
            let ep = PaymentEndpoint()
            ep.tenantARS = tenant.ars; ep.originatorID = o; ep.endpointID = e; ep.name = signature.name ?? e; ep.provider = signature.provider ?? "test"
            ep.webhookURL = signature.webhook ?? ""; ep.webhookSecret = secret; ep.haushaltsstelle = signature.haushaltsstelle ?? ""
            ep.kostentraeger = signature.kostentraeger ?? ""; ep.objektnummer = signature.objektnummer ?? ""; ep.active = true
            try await db.transaction { tx in
                try await ep.create(on: tx)
                try await Audit.record(on: tx, actor: "cli:zahlung", actorID: nil, tenant: tenant.ars, action: "zahlung.endpoint", objectType: "endpunkt",
                                       objectID: "\(o)/\(e)", before: nil, after: ep.webhookURL)
            }
            context.console.print("Endpunkt \(o)/\(e) für \(tenant.name) eingerichtet (Zahlungsdienst: \(ep.provider)). Webhook-Geheimnis (nur jetzt angezeigt):")
            context.console.print(secret)
        default:
            throw CommandFailure(message: "Unbekannte Aktion „\(signature.action)“. Möglich: einstellungen, endpunkt")
        }
    }
}
