/// Normalisation of German text as people type it: case- and accent-insensitive, umlauts folded
/// the way Germans write them without umlauts (ä→ae, ö→oe, ü→ue, ß→ss), everything else that is
/// not a letter or digit becomes a separator.
public enum GermanText {
    public static func normalize(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        out.reserveCapacity(s.unicodeScalars.count)
        for ch in s.lowercased().unicodeScalars {
            switch ch {
            case "ä": out.append("a"); out.append("e")
            case "ö": out.append("o"); out.append("e")
            case "ü": out.append("u"); out.append("e")
            case "ß": out.append("s"); out.append("s")
            case "a"..."z", "0"..."9": out.append(ch)
            default:
                if let folded = fold[ch] { out.append(folded) } else { out.append(" ") }
            }
        }
        return String(out)
    }

    /// Accented letters of neighbouring languages that appear in German names (Sorbian place names, …).
    static let fold: [Unicode.Scalar: Unicode.Scalar] = {
        var m: [Unicode.Scalar: Unicode.Scalar] = [:]
        let groups: [(String, Unicode.Scalar)] = [("àáâãåāăąǎ", "a"), ("çćĉċč", "c"), ("ďđ", "d"), ("èéêëēĕėęě", "e"),
                                                  ("ĝğġģ", "g"), ("ìíîïĩīĭįı", "i"), ("ķ", "k"), ("ĺļľŀł", "l"), ("ñńņňŉ", "n"),
                                                  ("òóôõøōŏő", "o"), ("ŕŗř", "r"), ("śŝşš", "s"), ("ţťŧ", "t"),
                                                  ("ùúûũūŭůűų", "u"), ("ýÿŷ", "y"), ("źżž", "z")]
        for (chars, base) in groups { for c in chars.unicodeScalars { m[c] = base } }
        return m
    }()

    /// Normalised words, in order.
    public static func tokens(_ s: String) -> [String] {
        normalize(s).split(separator: " ").map(String.init)
    }

    /// A light stemmer for matching inflections (`anmelden`, `anmeldung` → `anmeld`; `hunde` → `hund`).
    /// Deliberately conservative: it only strips common endings and keeps at least four letters.
    public static func stem(_ w: String) -> String {
        var word = w
        for suffix in ["ungen", "ung", "en", "er", "es", "e", "n", "s"] where word.count - suffix.count >= 4 && word.hasSuffix(suffix) {
            word.removeLast(suffix.count)
            break
        }
        return word
    }

    /// True when `a` and `b` differ by at most one edit: one substitution, insertion, deletion,
    /// or a swap of two neighbouring letters (the typical typing slip).
    public static func withinOneEdit(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a == b { return true }
        let (n, m) = (a.count, b.count)
        if abs(n - m) > 1 { return false }
        var i = 0
        while i < min(n, m) && a[i] == b[i] { i += 1 }
        if n == m {
            // substitution at i, or transposition of i and i+1
            if a[(i + 1)...] == b[(i + 1)...] { return true }
            return i + 1 < n && a[i] == b[i + 1] && a[i + 1] == b[i] && a[(i + 2)...] == b[(i + 2)...]
        }
        // insertion / deletion at i
        return n > m ? a[(i + 1)...] == b[i...] : a[i...] == b[(i + 1)...]
    }
}
