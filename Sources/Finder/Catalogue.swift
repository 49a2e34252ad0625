import Foundation
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
    public static func parse(leistungen: String, ozg: String?) throws(CSV.FormatError) -> [CatalogueService] {
        var lebenslage: [String: String] = [:]
        if let ozg {
            for r in try CSV.records(ozg).rows { lebenslage[r["ozg_id"] ?? ""] = r["lebenslage"] ?? "" }
        }
        var out: [CatalogueService] = []
        var seen: Set<String> = []
        for r in try CSV.records(leistungen).rows {
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

    /// Everyday words for official names (`Resources/synonyme.tsv`). Query words on the left are read as the right side.
    public static let synonyms: [(String, String)] = Vocabulary.pairs("synonyme")

    /// Everyday words per key prefix (`Resources/stichwoerter.tsv`).
    public static let keywords: [(String, String)] = Vocabulary.pairs("stichwoerter")

    /// Search documents for the catalogue: title = service name; keywords = everyday words of its
    /// object (and Verrichtung); extra = OZG service, Lebenslage.
    public static func documents(_ services: [CatalogueService], keywords: [(String, String)] = keywords) -> [SearchDocument] {
        var byPrefix: [String: [String]] = [:]
        for (k, words) in keywords { byPrefix[k, default: []].append(words) }
        return services.enumerated().map { i, s in
            var boost = 0.0
            if commonObjects.contains(String(s.key.value.prefix(8))) { boost += 1.0 }
            if ResponsibilityResolver.kind(forTypisierung: s.typisierung) == .executedLocally { boost += 0.2 }
            // the plain object ("Personalausweis") before its many special cases
            if s.key.value.hasSuffix("000000") { boost += 0.1 }
            let k = s.key.value
            let words = (byPrefix[String(k.prefix(8))] ?? []) + (byPrefix[String(k.prefix(11))] ?? []) + (byPrefix[k] ?? [])
            return SearchDocument(id: i, title: s.name, keywords: words, extra: [s.ozgName, s.lebenslage], boost: boost)
        }
    }
}

/// Tab-separated vocabulary files shipped with the library; `#` starts a comment line.
public enum Vocabulary {
    public static func pairs(_ name: String) -> [(String, String)] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "tsv", subdirectory: "Resources")
                ?? Bundle.module.url(forResource: name, withExtension: "tsv"),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return parse(text)
    }

    public static func parse(_ text: String) -> [(String, String)] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            if line.hasPrefix("#") { return nil }
            let cols = line.split(separator: "\t", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cols.count == 2, !cols[0].isEmpty, !cols[1].isEmpty else { return nil }
            return (cols[0], cols[1])
        }
    }
}
