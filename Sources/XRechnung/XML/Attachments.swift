import CBase64Scan
import Foundation

/// Embedded attachments (BT-125: `cbc:EmbeddedDocumentBinaryObject`, `ram:AttachmentBinaryObject`)
/// are most of an invoice's bytes. libxml2 copies every byte while parsing and then runs its
/// xs:base64Binary check over it — measured as about a fifth of all validation time. So a large
/// attachment is checked here with exactly libxml2's rule (`xmlSchemaValAtomicType`, base64:
/// characters outside the alphabet are ignored, no alphabet character after `=`, at most two
/// `=`, the count and the last character's unused bits must fit the padding) and, when it
/// passes, libxml2 gets `AAAA` plus the same number of line breaks (line numbers stay right).
/// An attachment that fails the rule is left as it is, so libxml2 reports it in its own words.
/// The tree gets the original text back. Only plain content is replaced: no `&`, and the next
/// markup must be the element's end tag (no CDATA, comment or child).
enum Attachments {
    static let minSize = 2048
    /// Longer than any content left in place, so a real attachment is never taken for one.
    static let placeholder = [UInt8](repeating: UInt8(ascii: "A"), count: minSize + 4)
    static let names: [[UInt8]] = [Array("EmbeddedDocumentBinaryObject".utf8), Array("AttachmentBinaryObject".utf8)]

    struct Original { let range: Range<Int>; let line: Int; let newlines: Int }

    /// Returns the input for libxml2 and the original contents, in document order.
    static func substitute(_ data: Data) -> (Data, [Original]) {
        var ranges: [Original] = []
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let b = raw.bindMemory(to: UInt8.self)
            let n = b.count
            var i = 0
            var linesBefore = 0, counted = 0
            guard let base = b.baseAddress else { return }
            /// A byte that ends an element name in a tag.
            @inline(__always) func delimits(_ c: UInt8) -> Bool {
                c == UInt8(ascii: ">") || c == UInt8(ascii: "/") || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
            }
            // Both names end in "BinaryObject": found with memmem (at memory speed, no look at the
            // other tags), then the tag around it is checked as a name scan from its `<` would.
            let suffix = Array("BinaryObject".utf8)
            while i < n {
                let hit = i + suffix.withUnsafeBufferPointer { s in s.baseAddress.map { rathaus_find(base + i, n - i, $0, s.count) } ?? (n - i) }
                guard hit < n else { break }
                let j = hit + suffix.count
                // the local name is exactly one of the two (its start follows `<` or the prefix's `:`)
                var localStart = -1
                for name in names where hit - (name.count - suffix.count) >= 0 {
                    let from = hit - (name.count - suffix.count)
                    if zip(name, b[from..<hit]).allSatisfy({ $0 == $1 }) { localStart = from; break }
                }
                guard localStart > 0, j < n, delimits(b[j]) else { i = hit + 1; continue }
                // back to the tag's `<` over the prefix (no delimiter on the way)
                var tag = localStart - 1
                if b[tag] == UInt8(ascii: ":") {
                    while tag >= 0, b[tag] != UInt8(ascii: "<"), !delimits(b[tag]) { tag -= 1 }
                }
                guard tag >= 0, b[tag] == UInt8(ascii: "<"), b[tag + 1] != UInt8(ascii: "/"), b[tag + 1] != UInt8(ascii: "!"),
                      b[tag + 1] != UInt8(ascii: "?") else { i = hit + 1; continue }
                i = tag
                // end of the start tag (attribute values may not contain `<`, and `>` only quoted)
                var k = j
                var quote: UInt8 = 0
                while k < n {
                    let c = b[k]
                    if quote != 0 { if c == quote { quote = 0 } } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { quote = c } else if c == UInt8(ascii: ">") { break }
                    k += 1
                }
                guard k < n, b[k - 1] != UInt8(ascii: "/") else { i = k; continue }
                let start = k + 1
                // the content up to the next markup, checked on the way (content that fails is
                // left to libxml2, and the search for `<` goes on from its start)
                guard let content = scan(b, start..<n, plainOnly: true, untilMarkup: true) else { i = start; continue }
                let e = content.end
                // the next markup must be this element's end tag
                let endTag = e + 1 < n && b[e + 1] == UInt8(ascii: "/")
                if endTag, e - start >= minSize {
                    // line of the start tag as libxml2 counts it (\n, \r\n and a lone \r end a line)
                    linesBefore += lineBreaks(b, counted..<i)
                    counted = i
                    ranges.append(Original(range: start..<e, line: linesBefore + 1, newlines: content.newlines))
                }
                i = e
            }
        }
        guard !ranges.isEmpty else { return (data, []) }
        var out = Data()
        out.reserveCapacity(data.count / 4)
        var last = 0
        for o in ranges {
            out.append(data[data.startIndex + last ..< data.startIndex + o.range.lowerBound])
            out.append(contentsOf: placeholder)
            if o.newlines > 0 { out.append(contentsOf: [UInt8](repeating: 0x0A, count: o.newlines)) }
            last = o.range.upperBound
        }
        out.append(data[data.startIndex + last ..< data.endIndex])
        return (out, ranges)
    }

    static func lineBreaks(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int {
        guard let base = b.baseAddress, !r.isEmpty else { return 0 }
        var n = 0
        // \n by memchr; a \r only matters when not followed by \n (rare: checked only if present)
        var p = r.lowerBound
        while p < r.upperBound, let hit = memchr(base + p, 0x0A, r.upperBound - p) {
            n += 1
            p = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) + 1
        }
        if memchr(base + r.lowerBound, 0x0D, r.count) != nil {
            var q = r.lowerBound
            while q < r.upperBound {
                if b[q] == 0x0D, !(q + 1 < r.upperBound && b[q + 1] == 0x0A) { n += 1 }
                q += 1
            }
        }
        return n
    }

    /// Value of one base64 character as libxml2's `_xmlSchemaBase64Decode`: 0–63, 64 for `=`, -1 otherwise.
    @inline(__always) static func decode(_ c: UInt8) -> Int { Int(table[Int(c)]) }

    static let table: [Int8] = (0..<256).map { c -> Int8 in
        switch c {
        case 65...90: return Int8(c - 65)
        case 97...122: return Int8(c - 97 + 26)
        case 48...57: return Int8(c - 48 + 52)
        case 43: return 62
        case 47: return 63
        case 61: return 64
        default: return -1
        }
    }

    /// libxml2 2.9's xs:base64Binary acceptance (xmlschemastypes.c), on the raw content.
    /// Content without a single alphabet character is left to libxml2 (it may be an empty
    /// element in disguise, which PEPPOL-EN16931-R008 must see).
    static func base64OK(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        scan(b, r, plainOnly: false) != nil
    }

    /// One pass over an attachment's content: nil unless it passes libxml2's base64 rule (and,
    /// with `plainOnly`, has no `&`: references are left to libxml2), else its line breaks as
    /// libxml2 counts them (\n, \r\n, a lone \r) and where it ends. With `untilMarkup` the
    /// content ends at the first `<` (so the element's end is found in the same pass), else at the
    /// end of `r`. The runs of alphabet characters between line breaks — nearly all of an
    /// attachment — are found 16 bytes at a time (`rathaus_base64_alphabet_run`, C with SSE2);
    /// this check was the largest single cost of validating the testsuite.
    static func scan(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, plainOnly: Bool, untilMarkup: Bool = false) -> (newlines: Int, end: Int)? {
        guard let base = b.baseAddress, r.lowerBound >= 0, r.upperBound <= b.count else { return nil }
        var end = r.upperBound
        var cur = r.lowerBound
        var count = 0
        var newlines = 0
        var padding = false
        /// A byte outside the alphabet: false for `&` when only plain content is wanted.
        @inline(__always) func other(_ c: UInt8, _ at: Int) -> Bool {
            if c == 0x0A { newlines += 1 } else if c == 0x0D {
                if !(at + 1 < end && base[at + 1] == 0x0A) { newlines += 1 }
            } else if c == UInt8(ascii: "&"), plainOnly { return false }
            return true
        }
        outer: while cur < end {
            let run = rathaus_base64_alphabet_run(base + cur, end - cur)
            count += run
            cur += run
            guard cur < end else { break }
            let c = base[cur]
            if c == UInt8(ascii: "=") { padding = true; break outer }
            if untilMarkup, c == UInt8(ascii: "<") { end = cur; break outer }
            if !other(c, cur) { return nil }
            cur += 1
        }
        if count <= 0 { return nil }
        let firstPad = cur
        var pad = 0
        if padding {
            while cur < end {
                let c = base[cur]
                if untilMarkup, c == UInt8(ascii: "<") { end = cur; break }
                let d = decode(c)
                if d >= 0 && d < 64 { return nil }
                if d == 64 { pad += 1 } else if !other(c, cur) { return nil }
                cur += 1
            }
        }
        /// The last alphabet character before the padding.
        func lastValue() -> Int? {
            var p = firstPad - 1
            while p >= r.lowerBound {
                let d = decode(base[p])
                if d >= 0 && d < 64 { return d }
                p -= 1
            }
            return nil
        }
        let ok: Bool
        switch pad {
        case 0: ok = count % 4 == 0
        case 1: ok = count % 4 == 3 && (lastValue().map { $0 & ~0x3c == 0 } ?? false)
        case 2: ok = count % 4 == 2 && (lastValue().map { $0 & ~0x30 == 0 } ?? false)
        default: ok = false
        }
        return ok ? (newlines, end) : nil
    }

    /// Points the substituted elements back at their original content (document order, same
    /// line). The text is not copied: `XElement.text` and `Attachment.content` decode it from
    /// the input bytes when somebody asks (the HTML view, a download), not on every validation.
    static func restore(_ candidates: ElementList, _ originals: [Original], from data: Data) {
        var next = 0
        for e in candidates {
            guard next < originals.count else { return }
            let o = originals[next]
            // libxml2 keeps at most 65535 as an element's line without XML_PARSE_BIG_LINES
            if e.line == o.line || (o.line >= 65535 && e.line >= 65535), isPlaceholder(e.storedText, newlines: o.newlines) {
                e.lazyText = LazyText(data: data, range: o.range)
                next += 1
            }
        }
    }
}

extension Attachments {
    /// Whether an element's text is the placeholder with `newlines` line breaks after it: compared
    /// with memcmp (the generic comparison of a string's UTF-8 view with an array went byte by byte
    /// through the collection protocols: ~1 % of a validation over the testsuite, measured).
    static func isPlaceholder(_ text: String, newlines: Int) -> Bool {
        var text = text
        return text.withUTF8 { t in
            guard t.count == placeholder.count + newlines, let tb = t.baseAddress else { return false }
            return placeholder.withUnsafeBufferPointer { p in
                guard let pb = p.baseAddress else { return false }
                return memcmp(tb, pb, p.count) == 0
            }
        }
    }
}

/// Element content that stays in the input bytes until it is read. Line ends are normalised
/// as libxml2 does (\r\n and a lone \r become \n).
public struct LazyText: Sendable {
    let data: Data
    let range: Range<Int>

    public var string: String {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String in
            let all = raw.bindMemory(to: UInt8.self)
            let bytes = UnsafeBufferPointer(rebasing: all[range])
            guard bytes.contains(0x0D) else { return String(decoding: bytes, as: UTF8.self) }
            var norm: [UInt8] = []
            norm.reserveCapacity(bytes.count)
            var prevCR = false
            for c in bytes {
                if c == 0x0D { norm.append(0x0A); prevCR = true; continue }
                if c == 0x0A, prevCR { prevCR = false; continue }
                prevCR = false
                norm.append(c)
            }
            return String(decoding: norm, as: UTF8.self)
        }
    }
}
