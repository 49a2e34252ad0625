import RathausCore

/// One LeiKa service of the catalogue.
public struct CatalogueService: Sendable, Equatable {
    public let key: LeiKaKey
    public let name: String
    /// Typisierung as the catalogue writes it (`1`, `2/3`, `4`, `1, 2/3` …).
    public let typisierung: String
    public let legalBasis: String
    public let ozgID: String
    public let ozgName: String
    public let lebenslage: String
}

public enum LeikaCatalogue {
    /// Parses `leika_leistungen.csv` (+ `ozg_leistungen.csv` for the Lebenslage); rows without a
    /// valid 14-digit key ("nicht im LeiKa") are skipped.
    public static func parse(leistungen: String, ozg: String?) -> [CatalogueService] {
        var lebenslage: [String: String] = [:]
        if let ozg {
            for r in CSV.records(ozg).rows { lebenslage[r["ozg_id"] ?? ""] = r["lebenslage"] ?? "" }
        }
        var out: [CatalogueService] = []
        var seen: Set<String> = []
        for r in CSV.records(leistungen).rows {
            guard r["leika_schluessel_gueltig"] == "true", let key = try? LeiKaKey(r["leistungsschluessel"] ?? ""),
                  !seen.contains(key.value) else { continue }
            seen.insert(key.value)
            let ozgID = r["ozg_id"] ?? ""
            out.append(CatalogueService(key: key, name: r["bezeichnung"] ?? "", typisierung: r["typisierung"] ?? "",
                                        legalBasis: r["rechtsgrundlage"] ?? "", ozgID: ozgID, ozgName: r["ozg_leistung"] ?? "",
                                        lebenslage: lebenslage[ozgID] ?? ""))
        }
        return out.sorted { $0.key < $1.key }
    }

    /// LeiKa objects (first 8 digits) that citizens ask for most at a municipality; ranked first.
    public static let commonObjects: Set<String> = [
        "99008001", "99085001", "99115005", "99115003", "99102013", "99110009", "99050012", "99023001", "99023002",
        "99027002", "99059001", "99036008", "99012008", "99049001", "99001001", "99036009",
    ]

    /// Everyday words for official names. Query words on the left are read as the right side.
    public static let synonyms: [(String, String)] = [
        ("Perso", "Personalausweis"), ("Ausweis", "Personalausweis"), ("ID-Karte", "Personalausweis"),
        ("Ummeldung", "Wohnsitz Anmeldung"), ("Umzug", "Wohnsitz Anmeldung"), ("umziehen", "Wohnsitz Anmeldung"),
        ("Wohnung anmelden", "Wohnsitz Anmeldung"), ("Auto", "Kraftfahrzeug"), ("Kfz", "Kraftfahrzeug"), ("PKW", "Kraftfahrzeug"),
        ("Auto anmelden", "Kraftfahrzeug Zulassung"), ("Kennzeichen", "Kraftfahrzeugkennzeichen"), ("Pass", "Reisepass"),
        ("Heirat", "Eheschließung"), ("heiraten", "Eheschließung"), ("Gewerbeanmeldung", "Gewerbe Anmeldung"),
        ("Bauantrag", "Baugenehmigung"), ("Müll", "Abfall"), ("Hundemarke", "Hundesteuer"),
    ]

    /// Search documents for the catalogue: title = service name; extra = OZG service, Lebenslage.
    public static func documents(_ services: [CatalogueService]) -> [SearchDocument] {
        services.enumerated().map { i, s in
            var boost = 0.0
            if commonObjects.contains(String(s.key.value.prefix(8))) { boost += 1.0 }
            if ResponsibilityResolver.kind(forTypisierung: s.typisierung) == .executedLocally { boost += 0.2 }
            // the plain object ("Personalausweis") before its many special cases
            if s.key.value.hasSuffix("000000") { boost += 0.1 }
            return SearchDocument(id: i, title: s.name, extra: [s.ozgName, s.lebenslage], boost: boost)
        }
    }
}
