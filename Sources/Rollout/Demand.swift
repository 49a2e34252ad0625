/// What citizens looked for: normalised queries, the privacy threshold, ranked signals.
public enum Demand {
    /// Lowercase, letters and digits only, single spaces, at most 60 characters — no free text
    /// beyond that is kept.
    public static func normalise(_ query: String) -> String {
        var out = ""
        var space = false
        for ch in query.lowercased() {
            if ch.isLetter || ch.isNumber {
                if space && !out.isEmpty { out.append(" ") }
                out.append(ch); space = false
            } else { space = true }
            if out.count >= 60 { break }
        }
        return out
    }

    /// Queries shown to staff: only those at least `minimum` people typed (privacy), most first.
    public static func visible(_ counts: [String: Int], minimum: Int = 5) -> [(query: String, count: Int)] {
        counts.filter { $0.value >= minimum && !$0.key.isEmpty }.map { ($0.key, $0.value) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }

    public struct Signal: Sendable, Equatable {
        public var serviceKey: String
        public var tenant: String
        public var searches: Int
        public init(serviceKey: String, tenant: String, searches: Int) { self.serviceKey = serviceKey; self.tenant = tenant; self.searches = searches }
    }

    /// Searches for a service at places whose responsible tenant does not offer it online,
    /// summed per (service, tenant), without those offered now, most searched first.
    public static func rank(_ signals: [Signal], offeredNow: Set<String>) -> [Signal] {
        var sum: [String: Signal] = [:]
        for s in signals {
            let k = s.serviceKey + "|" + s.tenant
            if offeredNow.contains(k) { continue }
            sum[k, default: Signal(serviceKey: s.serviceKey, tenant: s.tenant, searches: 0)].searches += s.searches
        }
        return sum.values.sorted { $0.searches != $1.searches ? $0.searches > $1.searches : ($0.serviceKey, $0.tenant) < ($1.serviceKey, $1.tenant) }
    }
}

/// The tenant's open set-up tasks, generated from what is missing. Each links to the page that
/// fixes it and disappears once the fact behind it changes.
public enum SetupTasks {
    public struct Facts: Sendable {
        public var offices: Int = 0
        public var officesWithoutHours: [String] = []
        public var ownResponsibilities: Int = 0
        public var leitwegIDs: Int = 0
        public var activationsWithoutOffice: [String] = []
        public var feeServicesWithoutBooking: [String] = []
        public var paymentProviderMissing = false
        /// (service name, activation slug when the state offers one, searches)
        public var demand: [(String, String?, Int)] = []
        public init() {}
    }

    public struct Task: Sendable, Equatable {
        public var kind: String
        public var de: String
        public var en: String
        public var link: String
    }

    public static func tasks(_ f: Facts, tenant ars: String) -> [Task] {
        var out: [Task] = []
        let base = "/mandanten/\(ars)"
        if f.offices == 0 {
            out.append(Task(kind: "stellen", de: "Legen Sie Ihre Dienststellen mit Anschrift und Öffnungszeiten an.", en: "Add your offices with address and opening hours.", link: base + "/organisationseinheiten"))
        }
        for name in f.officesWithoutHours {
            out.append(Task(kind: "oeffnungszeiten", de: "Für „\(name)“ sind keine Öffnungszeiten hinterlegt.", en: "No opening hours for \(name).", link: base + "/organisationseinheiten"))
        }
        if f.ownResponsibilities == 0 {
            out.append(Task(kind: "zustaendigkeiten", de: "Der Zuständigkeitsfinder nutzt für Sie nur Standardregeln; tragen Sie Ihre Zuständigkeiten ein.",
                            en: "The finder uses default rules only for you; enter your responsibilities.", link: base + "/zustaendigkeiten"))
        }
        if f.leitwegIDs == 0 {
            out.append(Task(kind: "leitweg", de: "Es ist keine Leitweg-ID registriert; Lieferanten können Ihnen keine E-Rechnung senden.",
                            en: "No Leitweg-ID registered; suppliers cannot send you e-invoices.", link: base + "/leitweg-ids"))
        }
        for s in f.activationsWithoutOffice {
            out.append(Task(kind: "eingang", de: "Der Onlinedienst „\(s)“ ist aktiviert, aber keiner Dienststelle zugeordnet, die die Anträge empfängt.",
                            en: "The online service \(s) is active but has no receiving office.", link: base + "/onlinedienste"))
        }
        if f.paymentProviderMissing {
            out.append(Task(kind: "zahlung", de: "Es ist kein Zahlungsanbieter eingerichtet; Gebühren können nicht online bezahlt werden.",
                            en: "No payment provider is set up; fees cannot be paid online.", link: base + "/zahlungen"))
        }
        for s in f.feeServicesWithoutBooking {
            out.append(Task(kind: "buchung", de: "Für die Gebühren von „\(s)“ fehlen die Buchungsdaten (Haushaltsstelle).",
                            en: "Booking data (Haushaltsstelle) missing for the fees of \(s).", link: base + "/onlinedienste"))
        }
        for (name, slug, n) in f.demand {
            out.append(Task(kind: "nachfrage", de: "\(n) Suchen nach „\(name)“ an Ihrem Ort fanden keinen Onlinedienst\(slug == nil ? " (das Land bietet dafür noch keinen an)" : "; Sie können ihn aktivieren").",
                            en: "\(n) searches for \(name) at your place found no online service\(slug == nil ? " (the state does not offer one yet)" : "; you can activate it").",
                            link: base + "/onlinedienste"))
        }
        return out
    }
}
