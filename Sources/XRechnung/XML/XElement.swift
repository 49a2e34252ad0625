import Foundation

/// One element of a parsed document. Immutable after parsing; text is the concatenated
/// direct character data (not of descendants), attributes keep their order.
public final class XElement: @unchecked Sendable {
    public let name: String
    public let namespace: String
    public let line: Int
    // (The stored properties below are written only while the tree is built, by one thread, and
    // read afterwards: their run-time exclusivity checks — each access a call into the runtime,
    // measured at ~5 % of a validation — are switched off for them alone.)
    @exclusivity(unchecked) public internal(set) var attributes: [(name: String, value: String)] = []
    /// The element's own text. Large attachments keep theirs in the input bytes (`lazyText`)
    /// until read, so validating an invoice does not copy megabytes of base64.
    public internal(set) var text: String {
        get { lazyText?.string ?? storedText }
        set { storedText = newValue; lazyText = nil }
    }
    @exclusivity(unchecked) var storedText: String = ""
    /// Set by `Attachments.restore` for large base64 content.
    @exclusivity(unchecked) public internal(set) var lazyText: LazyText?
    @exclusivity(unchecked) public internal(set) var children: [XElement] = []
    /// The parent keeps its children alive and the document keeps the root, so an unowned
    /// reference suffices; a weak one would give every element a side table (measured: ~10 %).
    @exclusivity(unchecked) public internal(set) unowned(unsafe) var parent: XElement?
    /// Position among siblings with the same name and namespace (1-based), for XPath locations.
    @exclusivity(unchecked) public internal(set) var index: Int = 1
    /// Whether a sibling has the same name (then the XPath step needs `[index]`).
    @exclusivity(unchecked) public internal(set) var repeated = false

    let nameLength: Int

    init(name: String, namespace: String, line: Int) {
        self.name = name
        self.nameLength = name.utf8.count
        self.namespace = namespace
        self.line = line
    }

    public func attribute(_ name: String) -> String? {
        for a in attributes where a.name == name { return a.value }
        return nil
    }

    /// First child with that local name (namespaces are fixed per syntax; the reader checks them once).
    /// (Lengths are compared first: most siblings differ in length, and a length is a stored
    /// field while a string comparison is a runtime call — measured ~3 % of validation.)
    public func child(_ name: String) -> XElement? {
        let n = name.utf8.count
        // (by index into the buffer: a child is retained only when it is the one)
        return children.withUnsafeBufferPointer { buf in
            for i in buf.indices where buf[i].nameLength == n && buf[i].name == name { return buf[i] }
            return nil
        }
    }

    /// The children with that local name, as a view (no array is made: the rules ask this
    /// hundreds of times per invoice, mostly to test presence, count or take the first).
    public func children(_ name: String) -> ChildList { ChildList(children, name) }

    /// `first` for two and three steps without the array a variadic call makes (the readers
    /// call these a few hundred times per invoice).
    public func first(_ a: String) -> XElement? { child(a) }
    public func first(_ a: String, _ b: String) -> XElement? { child(a)?.child(b) }
    public func first(_ a: String, _ b: String, _ c: String) -> XElement? { child(a)?.child(b)?.child(c) }

    /// Follows a path of local names, taking the first match at each step.
    public func first(_ path: String...) -> XElement? {
        var node: XElement? = self
        for step in path { node = node?.child(step) }
        return node
    }

    public func all(_ a: String) -> [XElement] { Array(children(a)) }
    /// `all` for two steps without the variadic array and the intermediate arrays.
    public func all(_ a: String, _ b: String) -> [XElement] {
        var out: [XElement] = []
        for x in children(a) { for y in x.children(b) { out.append(y) } }
        return out
    }

    /// All elements reached by a path of local names (every match at every step).
    public func all(_ path: String...) -> [XElement] {
        var nodes = [self]
        for step in path { nodes = nodes.flatMap { $0.children(step) } }
        return nodes
    }

    @exclusivity(unchecked) private var normalizedCache: String?

    /// Text with XPath `normalize-space` semantics; computed once per element. Works on UTF-8
    /// bytes: comparing Characters would cost more than everything else of a validation.
    public var normalizedText: String {
        if let n = normalizedCache { return n }
        let n = XElement.normalizeSpace(text)
        normalizedCache = n
        return n
    }

    /// True when the element's own text is empty or whitespace (early exit on the first other byte).
    public var isBlankText: Bool {
        for b in text.utf8 where !(b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D) { return false }
        return true
    }

    static func normalizeSpace(_ s: String) -> String {
        // On the contiguous UTF-8 bytes (iterating `String.UTF8View` cost several times more per
        // byte; this runs about 200 times per invoice), one allocation when something changes.
        var s = s
        let changed: String? = s.withUTF8 { b in
            @inline(__always) func ws(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D }
            var clean = true
            var previousSpace = true // a leading space is not clean
            for c in b {
                if ws(c) {
                    if previousSpace || c != 0x20 { clean = false; break }
                    previousSpace = true
                } else {
                    previousSpace = false
                }
            }
            if clean && (!previousSpace || b.isEmpty) { return nil }
            return String(unsafeUninitializedCapacity: b.count) { out in
                var n = 0
                var pending = false
                for c in b {
                    if ws(c) {
                        pending = n > 0
                    } else {
                        if pending { out[n] = 0x20; n += 1; pending = false }
                        out[n] = c
                        n += 1
                    }
                }
                return n
            }
        }
        return changed ?? s
    }

    /// XPath of this element with conventional prefixes, e.g. `/Invoice/cac:InvoiceLine[2]/cbc:ID`.
    /// (Built into one string: the readers give every line, allowance and VAT breakdown its
    /// location, so this runs a few hundred times per invoice.)
    public var xpath: String {
        var depth = 0
        var node: XElement? = self
        var length = 0
        while let n = node {
            depth += 1
            let prefix = XMLNamespaces.prefixBytes(for: n.namespace)
            length += 1 + (prefix.isEmpty ? 0 : prefix.count + 1) + n.nameLength
            if n.repeated { length += 2 + String(n.index).utf8.count }
            node = n.parent
        }
        // The ancestors on the stack (no array per call), root first; the string is written as
        // bytes in one allocation: `String.append` checks every join for grapheme breaks, which
        // made this ~5,000 instructions per call (measured, callgrind) — a few hundred per invoice.
        return withUnsafeTemporaryAllocation(of: Unmanaged<XElement>.self, capacity: depth) { chain in
            var k = depth
            var node: XElement? = self
            while let n = node, k > 0 { k -= 1; chain[k] = .passUnretained(n); node = n.parent }
            return String(unsafeUninitializedCapacity: length) { out in
                var p = 0
                @inline(__always) func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                    for b in bytes { out[p] = b; p += 1 }
                }
                for u in chain {
                    let n = u.takeUnretainedValue()
                    out[p] = UInt8(ascii: "/"); p += 1
                    let prefix = XMLNamespaces.prefixBytes(for: n.namespace)
                    if !prefix.isEmpty {
                        prefix.withUnsafeBufferPointer(put)
                        out[p] = UInt8(ascii: ":"); p += 1
                    }
                    var name = n.name
                    name.withUTF8(put)
                    if n.repeated {
                        out[p] = UInt8(ascii: "["); p += 1
                        var digits = String(n.index)
                        digits.withUTF8(put)
                        out[p] = UInt8(ascii: "]"); p += 1
                    }
                }
                return p
            }
        }
    }

}

public enum XMLNamespaces {
    public static let ublInvoice = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    public static let ublCreditNote = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
    public static let cac = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    public static let cbc = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    public static let ext = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
    public static let rsm = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    public static let ram = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
    public static let udt = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
    public static let qdt = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
    public static let xrd = "urn:ce.eu:en16931:2017:xoev-de:kosit:extension:xrechnung_3.0"

    static let all = [ublInvoice, ublCreditNote, cac, cbc, ext, rsm, ram, udt, qdt, xrd]

    /// The constant equal to `ns`, if there is one (one string instance per namespace).
    static func canonical(_ ns: String) -> String { all.first { $0 == ns } ?? ns }

    /// The conventional prefix of a namespace in XPath locations ("" for the documents' own, "*"
    /// for any other). Lengths are compared before the text (several namespaces share a long
    /// common beginning, so a text comparison first was the expensive part).
    private static let prefixes: [(ns: String, count: Int, prefix: [UInt8])] = [
        (cac, cac.utf8.count, Array("cac".utf8)), (cbc, cbc.utf8.count, Array("cbc".utf8)),
        (ext, ext.utf8.count, Array("ext".utf8)), (rsm, rsm.utf8.count, Array("rsm".utf8)),
        (ram, ram.utf8.count, Array("ram".utf8)), (udt, udt.utf8.count, Array("udt".utf8)),
        (qdt, qdt.utf8.count, Array("qdt".utf8)), (xrd, xrd.utf8.count, Array("xrd".utf8)),
        (ublInvoice, ublInvoice.utf8.count, []), (ublCreditNote, ublCreditNote.utf8.count, []),
    ]
    private static let anyPrefix = Array("*".utf8)

    static func prefixBytes(for ns: String) -> [UInt8] {
        if ns.isEmpty { return [] }
        let n = ns.utf8.count
        for p in prefixes where p.count == n && p.ns == ns { return p.prefix }
        return anyPrefix
    }
}
