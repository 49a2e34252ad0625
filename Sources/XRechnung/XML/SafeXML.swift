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
