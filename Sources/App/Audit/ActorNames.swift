import Fluent
import Foundation
import RathausCore

/// People by name instead of the audit trail's actor keys. Steps of invoices, payments and the
/// audit trail store who acted as a stable key ("user:<e-mail>", "konto:<e-mail>", "token:<prefix>",
/// "system:<job>", "anonym") because a name can change and a key can be verified; screens show
/// the person's current name. One lookup per page for all keys on it.
struct ActorNames: Sendable {
    private var people: [String: String] = [:]   // e-mail (lowercased) → name
    private var tokens: [String: String] = [:]   // token prefix → token name

    static func load(_ actors: some Sequence<String>, on db: any Database) async throws -> ActorNames {
        var emails = Set<String>(), prefixes = Set<String>()
        for a in actors {
            if let e = Self.value(a, "user:") ?? Self.value(a, "konto:") { emails.insert(e.lowercased()) }
            if let p = Self.value(a, "token:") { prefixes.insert(p) }
        }
        var names = ActorNames()
        if !emails.isEmpty {
            for u in try await User.query(on: db).filter(\.$email ~~ Array(emails)).all() { names.people[u.email.lowercased()] = u.name }
        }
        if !prefixes.isEmpty {
            for t in try await APIToken.query(on: db).filter(\.$prefix ~~ Array(prefixes)).all() { names.tokens[t.prefix] = t.name }
        }
        return names
    }

    private static func value(_ actor: String, _ prefix: String) -> String? {
        actor.hasPrefix(prefix) ? String(actor.dropFirst(prefix.count)) : nil
    }

    /// "Erika Muster", "Max Bürger (Servicekonto)", "API-Zugang „Fachverfahren“", "System (Zahlungen)".
    /// A person no longer in the database keeps the e-mail address, so nothing is hidden.
    func display(_ actor: String) -> String {
        let en = DisplayLanguage.english
        if let e = Self.value(actor, "user:") { return people[e.lowercased()] ?? e }
        if let e = Self.value(actor, "konto:") {
            return "\(people[e.lowercased()] ?? e) (\(en ? "citizen account" : "Servicekonto"))"
        }
        if let p = Self.value(actor, "token:") {
            return en ? "API access “\(tokens[p] ?? p)”" : "API-Zugang „\(tokens[p] ?? p)“"
        }
        if let job = Self.value(actor, "system:") {
            let label = Self.jobs[job].map { en ? $0.1 : $0.0 } ?? job
            return en ? "system (\(label))" : "System (\(label))"
        }
        if actor == "anonym" { return en ? "anonymous" : "anonym" }
        return actor
    }

    /// The e-mail address or key behind a name, for the small print next to it.
    func detail(_ actor: String) -> String {
        Self.value(actor, "user:") ?? Self.value(actor, "konto:") ?? ""
    }

    private static let jobs: [String: (String, String)] = [
        "demo": ("Demodaten", "demo data"),
        "zahlungen": ("Zahlungsabgleich", "payment reconciliation"),
        "bereinigung": ("Bereinigung", "clean-up"),
        "referenzdaten": ("Referenzdaten", "reference data"),
        "import": ("Gebietsimport", "territory import"),
        "dokumente": ("Dokumente", "documents"),
        "katalog": ("Dienstekatalog", "service catalogue"),
    ]
}
