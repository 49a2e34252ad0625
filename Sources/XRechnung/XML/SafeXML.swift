import CLibXML2
import Foundation

/// Limits applied before and while parsing untrusted invoice files.
public struct XMLLimits: Sendable {
    /// Whole file including embedded attachments (issue 4: default 20 MB).
    public var maxBytes: Int
    /// Element nesting; UBL/CII invoices need about 12, libxml2's own hard limit is 256.
    public var maxDepth: Int
    /// Element count; a 3 MB real invoice has a few thousand.
    public var maxElements: Int

    public init(maxBytes: Int = 20 * 1024 * 1024, maxDepth: Int = 64, maxElements: Int = 500_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxElements = maxElements
    }
}

/// Why a file could not be read as XML at all. Each case carries a German and an English text
/// that tells the supplier what to change.
public enum XMLInputError: Error, Equatable, Sendable {
    case empty
    case tooLarge(limit: Int)
    case pdf
    /// A PDF whose embedded files exceed the request's budget (inflated bytes, objects examined).
    case pdfLimit(PDFInvoice.LimitKind)
    case notXML
    case doctype
    case wrongEncoding(String)
    case malformed(line: Int, detail: String)
    case tooDeep(limit: Int)
    case tooManyElements(limit: Int)

    public var rule: String {
        switch self {
        case .doctype: return "XML-DOCTYPE"
        case .tooLarge: return "XML-SIZE"
        case .pdf, .pdfLimit: return "XML-PDF"
        default: return "XML-WELLFORMED"
        }
    }

    public var messageDE: String {
        switch self {
        case .empty: return "Die Datei ist leer."
        case .tooLarge(let l): return "Die Datei ist größer als \(l / 1024 / 1024) MB (einschließlich eingebetteter Anlagen) und wird nicht angenommen."
        case .pdf: return "Die Datei ist ein PDF ohne eingebettete Rechnung im XML-Format. Ein reines PDF ist keine E-Rechnung: Bitte senden Sie die XRechnung als XML-Datei oder ein ZUGFeRD/Factur-X-PDF mit eingebetteter factur-x.xml."
        case .pdfLimit(let k): return k.messageDE
        case .notXML: return "Die Datei ist keine XML-Datei. Eine XRechnung ist eine XML-Datei (UBL oder CII)."
        case .doctype: return "Die Datei enthält eine DOCTYPE-Deklaration. XRechnungen dürfen keine DTD enthalten; bitte entfernen Sie die DOCTYPE-Zeile."
        case .wrongEncoding(let e): return "Die Datei ist in \(e) kodiert. XRechnungen müssen UTF-8 kodiert sein."
        case .malformed(let line, _): return "Die Datei ist kein wohlgeformtes XML (Fehler in Zeile \(line)). Bitte prüfen Sie, ob sie vollständig und unverändert übertragen wurde."
        case .tooDeep(let l): return "Die XML-Struktur ist tiefer als \(l) Ebenen verschachtelt; das ist keine Rechnung."
        case .tooManyElements(let l): return "Die Datei enthält mehr als \(l) Elemente und wird nicht verarbeitet."
        }
    }

    public var messageEN: String {
        switch self {
        case .empty: return "The file is empty."
        case .tooLarge(let l): return "The file is larger than \(l / 1024 / 1024) MB (including embedded attachments) and is not accepted."
        case .pdf: return "The file is a PDF without an embedded XML invoice. Send the XRechnung XML or a ZUGFeRD/Factur-X PDF with embedded factur-x.xml."
        case .pdfLimit(let k): return k.messageEN
        case .notXML: return "The file is not XML. An XRechnung is an XML file (UBL or CII)."
        case .doctype: return "The file contains a DOCTYPE declaration. XRechnung files must not contain a DTD; remove the DOCTYPE line."
        case .wrongEncoding(let e): return "The file is encoded in \(e). XRechnung files must be UTF-8."
        case .malformed(let line, let detail): return "The file is not well-formed XML (line \(line): \(detail))."
        case .tooDeep(let l): return "The XML is nested deeper than \(l) levels; this is not an invoice."
        case .tooManyElements(let l): return "The file has more than \(l) elements and is not processed."
        }
    }
}

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
        @inline(__always) func ws(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D }
        var clean = true
        var previousSpace = true // a leading space is not clean
        for b in s.utf8 {
            if ws(b) {
                if previousSpace || b != 0x20 { clean = false; break }
                previousSpace = true
            } else {
                previousSpace = false
            }
        }
        if clean && (!previousSpace || s.isEmpty) { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var pending = false
        for b in s.utf8 {
            if ws(b) {
                pending = !out.isEmpty
            } else {
                if pending { out.append(0x20); pending = false }
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// XPath of this element with conventional prefixes, e.g. `/Invoice/cac:InvoiceLine[2]/cbc:ID`.
    /// (Built into one string: the readers give every line, allowance and VAT breakdown its
    /// location, so this runs a few hundred times per invoice.)
    public var xpath: String {
        var depth = 0
        var node: XElement? = self
        while let n = node { depth += 1; node = n.parent }
        // the ancestors on the stack (no array allocated per call), root first
        return withUnsafeTemporaryAllocation(of: Unmanaged<XElement>.self, capacity: depth) { chain in
            var k = depth
            var node: XElement? = self
            while let n = node, k > 0 { k -= 1; chain[k] = .passUnretained(n); node = n.parent }
            var out = ""
            out.reserveCapacity(depth * 28)
            for u in chain {
                let n = u.takeUnretainedValue()
                out += "/"
                let prefix = XMLNamespaces.prefix(for: n.namespace)
                if !prefix.isEmpty { out += prefix; out += ":" }
                out += n.name
                if n.repeated { out += "["; out += String(n.index); out += "]" }
            }
            return out
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

    static func prefix(for ns: String) -> String {
        switch ns {
        case cac: return "cac"
        case cbc: return "cbc"
        case ext: return "ext"
        case rsm: return "rsm"
        case ram: return "ram"
        case udt: return "udt"
        case qdt: return "qdt"
        case xrd: return "xrd"
        case ublInvoice, ublCreditNote, "": return ""
        default: return "*"
        }
    }
}

/// The children of one element that have one local name, in document order, found as they are
/// iterated. (Made as an array per call, this was the largest single allocation of validation.)
public struct ChildList: Collection, Sendable {
    @usableFromInline let all: [XElement]
    @usableFromInline let name: String
    @usableFromInline let length: Int

    init(_ all: [XElement], _ name: String) {
        self.all = all
        self.name = name
        self.length = name.utf8.count
    }

    public struct Index: Comparable, Sendable {
        @usableFromInline let position: Int
        public static func < (a: Index, b: Index) -> Bool { a.position < b.position }
    }

    @inline(__always) func next(from k: Int) -> Int {
        all.withUnsafeBufferPointer { buf in
            var k = k
            while k < buf.count {
                if buf[k].nameLength == length && buf[k].name == name { return k }
                k += 1
            }
            return buf.count
        }
    }

    /// No children (for `?? .empty` where an element is missing).
    public static let empty = ChildList([], "")

    public var startIndex: Index { Index(position: next(from: 0)) }
    public var endIndex: Index { Index(position: all.count) }
    public func index(after i: Index) -> Index { Index(position: next(from: i.position + 1)) }
    public subscript(i: Index) -> XElement { all[i.position] }
    public var isEmpty: Bool { next(from: 0) == all.count }
    public var first: XElement? {
        let k = next(from: 0)
        return k < all.count ? all[k] : nil
    }
    public var count: Int {
        all.withUnsafeBufferPointer { buf in
            var n = 0
            for i in buf.indices where buf[i].nameLength == length && buf[i].name == name { n += 1 }
            return n
        }
    }

    public struct Iterator: IteratorProtocol {
        let list: ChildList
        var k = 0
        public mutating func next() -> XElement? {
            k = list.next(from: k)
            guard k < list.all.count else { return nil }
            defer { k += 1 }
            return list.all[k]
        }
    }
    public func makeIterator() -> Iterator { Iterator(list: self) }
}

extension Sequence where Element == XElement {
    /// `flatMap` into the children views in one pass each (the generic one counts each view
    /// first to reserve space: a second walk over the children for every element).
    public func flatMap(_ transform: (XElement) throws -> ChildList) rethrows -> [XElement] {
        var out: [XElement] = []
        for e in self { for c in try transform(e) { out.append(c) } }
        return out
    }
}

/// A parsed document: the Swift element tree, and the XML schema's verdict when the schema was
/// checked while parsing (one pass: libxml2 builds no tree of its own, see `SafeXML.parse`).
public final class ParsedXML: @unchecked Sendable {
    public let root: XElement
    public let elementCount: Int
    /// What the rule checks look up, collected while the tree is built.
    let index: ElementIndex
    /// The bytes libxml2 parsed (large attachments replaced, see `Attachments`), kept so that a
    /// schema the parse did not check can still be checked (`SchemaSet.validate`).
    let input: Data
    /// The schema checked during the parse and its errors.
    var checked: (schema: xmlSchemaPtr, errors: [SchemaSet.SchemaError])?

    init(root: XElement, elementCount: Int, index: ElementIndex, input: Data) {
        self.root = root
        self.elementCount = elementCount
        self.index = index
        self.input = input
    }
}

public enum SafeXML {
    /// libxml2 must be initialised once before concurrent use; external loads are refused for good.
    static let initialised: Bool = {
        xmlInitParser()
        // Refuse every external entity or DTD fetch from documents; schemas are loaded from
        // files we ship (see SchemaSet), which go through this loader too and are allowed by path.
        xmlSetExternalEntityLoader { url, _, ctxt in
            guard let url else { return nil }
            let path = String(cString: url)
            if SchemaSet.allowedPath(path) {
                return xmlNewInputFromFile(ctxt, url)
            }
            return nil
        }
        return true
    }()

    /// Parses untrusted bytes. Checks size, PDF, encoding and DOCTYPE before libxml2 sees the
    /// bytes, so entity expansion (billion laughs) and external entities (XXE) cannot happen.
    ///
    /// One pass over the bytes: libxml2 reports elements and text (SAX) and this builds the Swift
    /// tree directly, with libxml2's XML schema validation plugged into the same event stream when
    /// `schemas` is given (the schema of the root element's name, seen in the prolog check). The
    /// earlier way — libxml2's own tree, validated, then copied into ours — allocated and freed
    /// every node twice and walked the document three times.
    public static func parse(_ data: Data, limits: XMLLimits = XMLLimits(), schemas: SchemaSet? = nil) throws(XMLInputError) -> ParsedXML {
        _ = initialised
        if data.isEmpty { throw .empty }
        if data.count > limits.maxBytes { throw .tooLarge(limit: limits.maxBytes) }
        // (a prolog longer than the check looks at — long licence comments of some examples —
        // is searched on for the root element, so its schema is still checked in the same pass)
        let rootName = try checkProlog(data) ?? rootElementName(data)

        // Large base64 attachments: checked here, handed to libxml2 as a short placeholder,
        // restored into the tree below (see `Attachments`).
        let (input, originals) = Attachments.substitute(data)
        let schema = rootName.flatMap(SchemaSet.Kind.init(rootName:)).flatMap { schemas?.schema($0) }
        let builder = TreeBuilder(limits: limits)
        let outcome = SAXRun.run(input, builder: builder, schema: schema)
        if let failure = builder.failure { throw failure }
        guard outcome.wellFormed else { throw .malformed(line: outcome.errorLine, detail: outcome.errorMessage) }
        if builder.doctype { throw .doctype }
        guard let root = builder.root else { throw .notXML }
        if !originals.isEmpty { Attachments.restore(builder.index.binaryObjects, originals, from: data) }
        let parsed = ParsedXML(root: root, elementCount: builder.count, index: builder.index, input: input)
        if let schema { parsed.checked = (schema, outcome.schemaErrors) }
        return parsed
    }

    /// Looks at the bytes before the root element: PDF magic, BOMs of other encodings,
    /// the declared encoding, and any DOCTYPE. Works on bytes; the prolog is tiny.
    /// Returns the local name of the root element when the prolog is short enough to see it.
    @discardableResult
    static func checkProlog(_ data: Data) throws(XMLInputError) -> String? {
        let bytes = [UInt8](data.prefix(4096))
        if bytes.starts(with: Array("%PDF-".utf8)) { throw .pdf }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) { throw .wrongEncoding("UTF-16") }
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
        while i < bytes.count, isSpace(bytes[i]) { i += 1 }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "<") else { throw .notXML }
        func find(_ needle: [UInt8], from: Int) -> Int? {
            guard needle.count <= bytes.count else { return nil }
            var k = from
            // (compared in place: an array per candidate position was most of this check's cost)
            outer: while k + needle.count <= bytes.count {
                for (o, b) in needle.enumerated() where bytes[k + o] != b { k += 1; continue outer }
                return k
            }
            return nil
        }
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "<"), i + 1 < bytes.count else {
                if isSpace(bytes[i]) { i += 1; continue }
                return nil
            }
            let next = bytes[i + 1]
            if next == UInt8(ascii: "?") {
                guard let end = find(Array("?>".utf8), from: i + 2) else { return nil }
                let pi = String(decoding: bytes[i + 1..<end], as: UTF8.self)
                if pi.hasPrefix("?xml ") || pi.hasPrefix("?xml\t") || pi.hasPrefix("?xml\n") || pi.hasPrefix("?xml\r") {
                    if let enc = declaredEncoding(pi), enc.uppercased() != "UTF-8" { throw .wrongEncoding(enc) }
                }
                i = end + 2
            } else if next == UInt8(ascii: "!") {
                if bytes[(i + 2)...].starts(with: Array("--".utf8)) {
                    guard let end = find(Array("-->".utf8), from: i + 4) else { return nil }
                    i = end + 3
                } else if String(decoding: bytes[(i + 2)..<min(bytes.count, i + 9)], as: UTF8.self).uppercased() == "DOCTYPE" {
                    throw .doctype
                } else {
                    throw .notXML
                }
            } else {
                // first element reached: its name up to the first space, `>` or `/`
                var j = i + 1
                var local = j
                while j < bytes.count, !isSpace(bytes[j]), bytes[j] != UInt8(ascii: ">"), bytes[j] != UInt8(ascii: "/") {
                    if bytes[j] == UInt8(ascii: ":") { local = j + 1 }
                    j += 1
                }
                return String(decoding: bytes[local..<j], as: UTF8.self)
            }
        }
        return nil
    }

    /// The local name of the first element after any comments and processing instructions, or
    /// nil (then the parse decides what the document is). Byte search; comments may hold `<`.
    static func rootElementName(_ data: Data) -> String? {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
            let b = raw.bindMemory(to: UInt8.self)
            guard let base = b.baseAddress else { return nil }
            let n = b.count
            /// Index just past the next occurrence of `needle` at or after `from`.
            func after(_ needle: [UInt8], _ from: Int) -> Int? {
                var k = from
                while k + needle.count <= n, let hit = memchr(base + k, Int32(needle[0]), n - k) {
                    k = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    guard k + needle.count <= n else { return nil }
                    if (1..<needle.count).allSatisfy({ b[k + $0] == needle[$0] }) { return k + needle.count }
                    k += 1
                }
                return nil
            }
            var i = 0
            while i < n, let hit = memchr(base + i, Int32(UInt8(ascii: "<")), n - i) {
                i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                guard i + 1 < n else { return nil }
                switch b[i + 1] {
                case UInt8(ascii: "?"):
                    guard let end = after(Array("?>".utf8), i + 2) else { return nil }
                    i = end
                case UInt8(ascii: "!"):
                    guard i + 3 < n, b[i + 2] == UInt8(ascii: "-"), b[i + 3] == UInt8(ascii: "-"),
                          let end = after(Array("-->".utf8), i + 4) else { return nil }
                    i = end
                default:
                    var j = i + 1
                    var local = j
                    while j < n, b[j] != 0x20, b[j] != 0x0A, b[j] != 0x0D, b[j] != 0x09, b[j] != UInt8(ascii: ">"), b[j] != UInt8(ascii: "/") {
                        if b[j] == UInt8(ascii: ":") { local = j + 1 }
                        j += 1
                    }
                    return String(decoding: UnsafeBufferPointer(rebasing: b[local..<j]), as: UTF8.self)
                }
            }
            return nil
        }
    }

    /// The value of `encoding="…"` in an XML declaration (byte scan, no Foundation search).
    static func declaredEncoding(_ decl: String) -> String? {
        let b = Array(decl.utf8)
        let key = Array("encoding".utf8)
        guard b.count > key.count else { return nil }
        var i = 0
        while i + key.count <= b.count {
            if b[i] == key[0], Array(b[i..<(i + key.count)]) == key {
                var j = i + key.count
                while j < b.count, b[j] == 0x20 || b[j] == UInt8(ascii: "=") || b[j] == 0x09 { j += 1 }
                guard j < b.count, b[j] == UInt8(ascii: "\"") || b[j] == UInt8(ascii: "'") else { return nil }
                let q = b[j]
                var k = j + 1
                while k < b.count, b[k] != q { k += 1 }
                return String(decoding: b[(j + 1)..<k], as: UTF8.self)
            }
            i += 1
        }
        return nil
    }

    /// What `TreeBuilder` needs to know about an element name, worked out once per name and document.
    struct NameInfo {
        let name: String
        /// Slot in `ElementIndex.named`, or -1.
        let slot: Int
        /// Ends in "Amount" but not "PriceAmount" (UBL-DT-01).
        let isAmount: Bool
        /// Index in `SyntaxRestrictions.lastNameIndex`, or -1.
        let restriction: Int32

        init(_ name: String) {
            self.name = name
            slot = ElementIndex.slot(of: name)
            isAmount = name.hasSuffix("Amount") && !name.hasSuffix("PriceAmount")
            restriction = SyntaxRestrictions.lastNameIndex[name] ?? -1
        }
    }
}

/// Elements the rule checks look up by name, elements with attributes and the first empty leaf
/// (PEPPOL-EN16931-R008), collected in document order while the tree is built: the rules need
/// no walk of their own, and no element name is hashed as a string per element.
final class ElementIndex {
    /// The local names looked up through `RuleContext.named` (and the attachment elements,
    /// whose content `Attachments.restore` puts back). A name missing here is found by a walk.
    static let indexedNames: [String] = [
        "PostalAddress", "Address", "GlobalID", "ApplicableProductCharacteristic", "GrossPriceProductTradePrice",
        "NetPriceProductTradePrice", "SpecifiedTradeAllowanceCharge", "PaymentMeansCode", "IdentificationCode",
        "TypeCode", "CountryID", "PartyTaxScheme", "TaxCategory", "ClassifiedTaxCategory", "SubInvoiceLine",
        "TaxPointDate", "ParentLineID", "EmbeddedDocumentBinaryObject", "AttachmentBinaryObject",
        "ApplicableTradeSettlementFinancialCard", "CardAccount", "ReferenceTypeCode", "TaxExemptionReasonCode",
        "ExemptionReasonCode", "AppliedTradeAllowanceCharge", "DateTimeString", "Price", "PaymentMeans",
        "InvoiceCurrencyCode", "DocumentCurrencyCode", "TaxCurrencyCode", "CreditNoteTypeCode", "SpecifiedTaxRegistration", "CategoryCode", "SpecifiedTradeSettlementPaymentMeans", "TaxRepresentativeParty", "SellerTaxRepresentativeTradeParty", "PayeeTradeParty", "BuyerTradeParty", "SellerTradeParty",
        "SpecifiedTradeSettlementHeaderMonetarySummation", "AllowanceCharge", "ApplicableHeaderTradeSettlement", "SpecifiedLineTradeSettlement",
        "Delivery", "DueDate", "PaymentTerms", "SpecifiedTradePaymentTerms", "SpecifiedTradeProduct", "SpecifiedTradeSettlementLineMonetarySummation",
        "AdditionalItemProperty", "AccountingSupplierParty", "AccountingCustomerParty",
    ]
    /// Plus the elements the CII data type rules look at by name.
    static let allNames: [String] = {
        var seen = Set(indexedNames)
        var names = indexedNames
        let more = ["IncludedSupplyChainTradeLineItem", "ApplicableTradeTax", "AppliedTradeTax", "CategoryTradeTax", "IncludedTradeTax",
                    "SubtotalCalculatedTradeTax", "AdditionalDocumentReference"] + CIIRestrictions.referencedDocuments
        for n in more where seen.insert(n).inserted { names.append(n) }
        return names
    }()
    static let slots: [String: Int] = Dictionary(uniqueKeysWithValues: allNames.enumerated().map { ($1, $0) })
    static func slot(of name: String) -> Int { slots[name] ?? -1 }

    /// The slots of the names longer than 15 bytes by the address of their literal's bytes: the
    /// rules pass the same literals (equal literals are one constant in the binary), so
    /// `RuleContext.named` finds most slots without hashing the name. Only constants' addresses
    /// are keys (no heap string can have one); a miss falls back to `slots`.
    private static let literalTable: (keys: [UInt], values: [Int], mask: Int) = {
        let capacity = 256
        var keys = [UInt](repeating: 0, count: capacity), values = [Int](repeating: -1, count: capacity)
        for (slot, name) in allNames.enumerated() {
            guard let address = literalAddress(name) else { continue }
            var i = Int(truncatingIfNeeded: (address >> 3) &* 0x9E37_79B9) & (capacity - 1)
            while keys[i] != 0 && keys[i] != address { i = (i + 1) & (capacity - 1) }
            keys[i] = address
            values[i] = slot
        }
        return (keys, values, capacity - 1)
    }()

    /// The address of a long string's bytes (short strings live inline and have none that lasts).
    @inline(__always) private static func literalAddress(_ name: String) -> UInt? {
        guard name.utf8.count > 15 else { return nil }
        return name.utf8.withContiguousStorageIfAvailable { UInt(bitPattern: $0.baseAddress) }
    }

    /// Names of up to 15 bytes by their bytes packed into two words (no hashing of a String).
    private static let shortTable: (keys: [(UInt64, UInt64)], values: [Int], mask: Int) = {
        let capacity = 256
        var keys = [(UInt64, UInt64)](repeating: (0, 0), count: capacity), values = [Int](repeating: -1, count: capacity)
        for (slot, name) in allNames.enumerated() {
            guard let key = shortKey(name) else { continue }
            var i = shortHome(key, capacity - 1)
            while values[i] >= 0 && keys[i] != key { i = (i + 1) & (capacity - 1) }
            keys[i] = key
            values[i] = slot
        }
        return (keys, values, capacity - 1)
    }()

    /// The bytes of a name of up to 15 bytes and its length, packed (none is all zero: the length is in).
    @inline(__always) private static func shortKey(_ name: String) -> (UInt64, UInt64)? {
        let n = name.utf8.count
        guard n <= 15 else { return nil }
        var lo: UInt64 = 0, hi = UInt64(n) << 56
        var i: UInt64 = 0
        for b in name.utf8 {
            if i < 8 { lo |= UInt64(b) << (8 * i) } else { hi |= UInt64(b) << (8 * (i - 8)) }
            i += 1
        }
        return (lo, hi)
    }

    @inline(__always) private static func shortHome(_ key: (UInt64, UInt64), _ mask: Int) -> Int {
        Int(truncatingIfNeeded: ((key.0 ^ (key.1 &* 0x9E37_79B9_7F4A_7C15)) &* 0xBF58_476D_1CE4_E5B9) >> 40) & mask
    }

    static func shortSlot(_ name: String) -> Int? {
        guard let key = shortKey(name) else { return nil }
        return shortTable.keys.withUnsafeBufferPointer { keys in
            shortTable.values.withUnsafeBufferPointer { values in
                var i = shortHome(key, shortTable.mask)
                while values[i] >= 0 {
                    if keys[i] == key { return values[i] }
                    i = (i + 1) & shortTable.mask
                }
                return nil
            }
        }
    }

    static func literalSlot(_ name: String) -> Int? {
        guard let address = literalAddress(name), address != 0 else { return nil }
        let t = literalTable
        var i = Int(truncatingIfNeeded: (address >> 3) &* 0x9E37_79B9) & t.mask
        while t.keys[i] != 0 {
            if t.keys[i] == address { return t.values[i] }
            i = (i + 1) & t.mask
        }
        return nil
    }
    /// (Two slots compared directly: a Set lookup hashed the slot of every indexed element.)
    static let embeddedSlot = slots["EmbeddedDocumentBinaryObject"] ?? -1
    static let attachmentSlot = slots["AttachmentBinaryObject"] ?? -1

    // The lists hold their elements unretained: the tree owns them and every holder of an index
    // (ParsedXML, RuleContext) holds the tree's root as well. Retaining each element once more
    // and releasing it again with the index was 2–3 % of a validation (measured).
    // (filled while the tree is built, read afterwards: no run-time exclusivity checks, as XElement)
    @exclusivity(unchecked) var named: [ElementList] = Array(repeating: ElementList(), count: ElementIndex.allNames.count)
    @exclusivity(unchecked) var attributed = ElementList()
    @exclusivity(unchecked) var firstEmptyLeaf: XElement?
    /// Both attachment element kinds in document order.
    @exclusivity(unchecked) var binaryObjects = ElementList()
    /// Elements whose name ends in "Amount" but not "PriceAmount" (UBL-DT-01).
    @exclusivity(unchecked) var amounts = ElementList()
    /// Elements whose name ends the path of a syntax restriction, with the name's index
    /// (`SyntaxRestrictions.lastNameIndex`), and elements carrying an attribute that is never
    /// allowed (`SyntaxRestrictions.attributeIndex`).
    @exclusivity(unchecked) var restrictionCandidates = TaggedElementList()
    @exclusivity(unchecked) var forbiddenAttributes = TaggedElementList()

    func add(_ e: XElement, slot: Int) {
        named[slot].append(e)
        if slot == ElementIndex.embeddedSlot || slot == ElementIndex.attachmentSlot { binaryObjects.append(e) }
    }
}

/// Elements of one tree in document order, held without retaining them (see `ElementIndex`).
struct ElementList: RandomAccessCollection {
    private var items: [Unmanaged<XElement>] = []
    init() {}
    var startIndex: Int { 0 }
    var endIndex: Int { items.count }
    subscript(i: Int) -> XElement { items[i].takeUnretainedValue() }
    mutating func append(_ e: XElement) { items.append(.passUnretained(e)) }
}

/// Elements with a number (an index into a table), held like `ElementList`.
struct TaggedElementList: RandomAccessCollection {
    private var items: [(Unmanaged<XElement>, Int32)] = []
    init() {}
    var startIndex: Int { 0 }
    var endIndex: Int { items.count }
    subscript(i: Int) -> (XElement, Int32) { (items[i].0.takeUnretainedValue(), items[i].1) }
    mutating func append(_ e: XElement, _ tag: Int32) { items.append((.passUnretained(e), tag)) }
}
