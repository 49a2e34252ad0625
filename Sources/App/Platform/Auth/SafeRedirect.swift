import Foundation

/// The one check for every redirect target that comes from a request (`zurueck=`, `weiter=`):
/// only a same-origin path is accepted. Browsers forgive a lot — they drop tabs and newlines
/// inside URLs (`/\t/evil.example` becomes `//evil.example`), treat `\` as `/`, and follow
/// `//host` to another host — so the check rejects anything that a normalising browser could read
/// as another origin instead of trying to clean it.
enum SafeRedirect {
    static let maxLength = 500

    /// `raw` when it is a plain local path, else `fallback`.
    static func localPath(_ raw: String?, fallback: String) -> String {
        guard let raw, isLocalPath(raw) else { return fallback }
        return raw
    }

    static func isLocalPath(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= maxLength else { return false }
        // Check the text as given and once more percent-decoded (a second decoding by a proxy or
        // framework must not turn it into something else).
        guard plainPath(s, decoded: false) else { return false }
        if let decoded = s.removingPercentEncoding, decoded != s, !plainPath(decoded, decoded: true) { return false }
        return true
    }

    /// `decoded`: the text after one more percent-decoding, where an encoded space in a query
    /// (`?q=Hund%20anmelden`) is fine, but a slash, backslash or control character is not.
    private static func plainPath(_ s: String, decoded: Bool) -> Bool {
        let scalars = s.unicodeScalars
        guard scalars.first == "/" else { return false }
        // "//host" and "/\host" are another host to a browser
        if scalars.count > 1 {
            let second = scalars[scalars.index(after: scalars.startIndex)]
            if second == "/" || second == "\\" { return false }
        }
        for u in scalars {
            // control characters (tab, CR, LF, NUL …), backslash, and any kind of white space or
            // invisible formatting character that a browser may strip
            if u.value < 0x20 || u.value == 0x7F || u == "\\" { return false }
            if !decoded || u != " ", u.properties.isWhitespace || u.properties.generalCategory == .format { return false }
            if (0x80...0x9F).contains(u.value) { return false }
        }
        // A scheme can only come before the first "/", and there is none; still refuse a parse
        // that finds a host or a scheme.
        if let c = URLComponents(string: s), c.host != nil || c.scheme != nil { return false }
        return true
    }
}
