/// IBAN check (ISO 13616): country letters, two check digits, alphanumeric account part,
/// MOD 97 over the rearranged number = 1. Spaces are ignored; German IBANs have 22 characters.
public enum IBAN {
    public static func isValid(_ raw: String) -> Bool {
        let b = Array(raw.utf8.filter { !($0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D) })
        func upper(_ c: UInt8) -> Bool { c >= 65 && c <= 90 }
        func digit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func alnum(_ c: UInt8) -> Bool { upper(c) || digit(c) || (c >= 97 && c <= 122) }
        guard b.count >= 4, b.count <= 34, upper(b[0]), upper(b[1]), digit(b[2]), digit(b[3]), b[4...].allSatisfy(alnum) else { return false }
        var rem = 0
        for c in b[4...] + b[0..<4] {
            let v = digit(c) ? Int(c - 48) : Int((c >= 97 ? c - 32 : c) - 55)
            rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97
        }
        return rem == 1
    }

    /// Lengths of the SEPA countries most often seen here; other countries are checked by MOD 97 only.
    static let lengths: [String: Int] = ["DE": 22, "AT": 20, "CH": 21, "NL": 18, "BE": 16, "FR": 27, "LU": 20, "PL": 28,
                                         "CZ": 24, "DK": 18, "IT": 27, "ES": 24, "GB": 22, "LI": 21, "SK": 24, "HU": 28]

    /// Check digits and, for the countries in `lengths`, the exact length (forms ask for this;
    /// the XRechnung rules check only what BR-DE-19 checks).
    public static func isValidAccount(_ raw: String) -> Bool {
        let s = raw.filter { !$0.isWhitespace }.uppercased()
        guard isValid(s) else { return false }
        if let n = lengths[String(s.prefix(2))] { return s.count == n }
        return true
    }

    /// Groups of four for display: `DE02 1203 0000 0000 2020 51`.
    public static func formatted(_ raw: String) -> String {
        let s = raw.filter { !$0.isWhitespace }.uppercased()
        var out = ""
        for (i, c) in s.enumerated() {
            if i > 0 && i % 4 == 0 { out.append(" ") }
            out.append(c)
        }
        return out
    }
}

/// eIDAS-aligned trust levels as BundID uses them. Ordered: a service that needs `substanziell`
/// accepts `substanziell` and `hoch`.
public enum TrustLevel: String, Sendable, Codable, CaseIterable, Comparable {
    case basisregistrierung
    case substanziell
    case hoch

    private var rank: Int {
        switch self { case .basisregistrierung: 0; case .substanziell: 1; case .hoch: 2 }
    }
    public static func < (a: TrustLevel, b: TrustLevel) -> Bool { a.rank < b.rank }

    public var german: String {
        switch self {
        case .basisregistrierung: "Basisregistrierung (E-Mail und Passwort)"
        case .substanziell: "substanziell (z. B. ELSTER-Zertifikat)"
        case .hoch: "hoch (Online-Ausweis)"
        }
    }
}
