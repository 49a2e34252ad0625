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
        case .pdf: return "XML-PDF"
        default: return "XML-WELLFORMED"
        }
    }

    public var messageDE: String {
        switch self {
        case .empty: return "Die Datei ist leer."
        case .tooLarge(let l): return "Die Datei ist größer als \(l / 1024 / 1024) MB (einschließlich eingebetteter Anlagen) und wird nicht angenommen."
        case .pdf: return "Die Datei ist ein PDF. Bitte laden Sie die XRechnung als XML-Datei hoch; bei ZUGFeRD/Factur-X die im PDF eingebettete XML-Datei (factur-x.xml, zugferd-invoice.xml oder xrechnung.xml)."
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
        case .pdf: return "The file is a PDF. Upload the XRechnung XML; for ZUGFeRD/Factur-X the XML embedded in the PDF."
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
    public internal(set) var attributes: [(name: String, value: String)] = []
    public internal(set) var text: String = ""
    public internal(set) var children: [XElement] = []
    public internal(set) weak var parent: XElement?
    /// Position among siblings with the same name (1-based), for XPath locations.
    public internal(set) var index: Int = 1

    init(name: String, namespace: String, line: Int) {
        self.name = name
        self.namespace = namespace
        self.line = line
    }

    public func attribute(_ name: String) -> String? {
        for a in attributes where a.name == name { return a.value }
        return nil
    }

    /// First child with that local name (namespaces are fixed per syntax; the reader checks them once).
    public func child(_ name: String) -> XElement? {
        for c in children where c.name == name { return c }
        return nil
    }

    public func children(_ name: String) -> [XElement] {
        children.filter { $0.name == name }
    }

    /// Follows a path of local names, taking the first match at each step.
    public func first(_ path: String...) -> XElement? {
        var node: XElement? = self
        for step in path { node = node?.child(step) }
        return node
    }

    /// All elements reached by a path of local names (every match at every step).
    public func all(_ path: String...) -> [XElement] {
        var nodes = [self]
        for step in path { nodes = nodes.flatMap { $0.children(step) } }
        return nodes
    }

    /// Text with XPath `normalize-space` semantics.
    public var normalizedText: String {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
    }

    /// XPath of this element with conventional prefixes, e.g. `/Invoice/cac:InvoiceLine[2]/cbc:ID`.
    public var xpath: String {
        var parts: [String] = []
        var node: XElement? = self
        while let n = node {
            let prefix = XMLNamespaces.prefix(for: n.namespace)
            let qname = prefix.isEmpty ? n.name : "\(prefix):\(n.name)"
            if n.parent == nil {
                parts.append(qname)
            } else {
                let same = n.parent?.children.filter { $0.name == n.name && $0.namespace == n.namespace }.count ?? 1
                parts.append(same > 1 ? "\(qname)[\(n.index)]" : qname)
            }
            node = n.parent
        }
        return "/" + parts.reversed().joined(separator: "/")
    }

    /// Depth-first walk including self.
    public func walk(_ body: (XElement) -> Void) {
        body(self)
        for c in children { c.walk(body) }
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

/// A parsed document: the Swift element tree plus the libxml2 document for XSD validation.
public final class ParsedXML: @unchecked Sendable {
    public let root: XElement
    public let elementCount: Int
    let doc: xmlDocPtr

    init(root: XElement, elementCount: Int, doc: xmlDocPtr) {
        self.root = root
        self.elementCount = elementCount
        self.doc = doc
    }

    deinit { xmlFreeDoc(doc) }
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
    public static func parse(_ data: Data, limits: XMLLimits = XMLLimits()) throws(XMLInputError) -> ParsedXML {
        _ = initialised
        if data.isEmpty { throw .empty }
        if data.count > limits.maxBytes { throw .tooLarge(limit: limits.maxBytes) }
        try checkProlog(data)

        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue | XML_PARSE_NOBLANKS.rawValue | XML_PARSE_NOCDATA.rawValue | XML_PARSE_COMPACT.rawValue)
        guard let ctxt = xmlNewParserCtxt() else { throw .malformed(line: 0, detail: "parser") }
        defer { xmlFreeParserCtxt(ctxt) }
        let parsed: xmlDocPtr? = data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return nil }
            return xmlCtxtReadMemory(ctxt, base.assumingMemoryBound(to: CChar.self), Int32(raw.count), "invoice.xml", "UTF-8", options)
        }
        guard let doc = parsed, ctxt.pointee.wellFormed != 0 else {
            if let d = parsed { xmlFreeDoc(d) }
            let err = xmlCtxtGetLastError(ctxt)
            let line = Int(err?.pointee.line ?? 0)
            let msg = err.flatMap { $0.pointee.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } } ?? "unbekannt"
            throw .malformed(line: line, detail: msg)
        }
        if doc.pointee.intSubset != nil || doc.pointee.extSubset != nil {
            xmlFreeDoc(doc)
            throw .doctype
        }
        guard let rootNode = xmlDocGetRootElement(doc) else {
            xmlFreeDoc(doc)
            throw .notXML
        }
        var count = 0
        do {
            let root = try build(rootNode, parent: nil, depth: 1, count: &count, limits: limits)
            return ParsedXML(root: root, elementCount: count, doc: doc)
        } catch {
            xmlFreeDoc(doc)
            throw error
        }
    }

    /// Looks at the bytes before the root element: PDF magic, BOMs of other encodings,
    /// the declared encoding, and any DOCTYPE.
    static func checkProlog(_ data: Data) throws(XMLInputError) {
        let head = data.prefix(4096)
        let bytes = [UInt8](head)
        if bytes.starts(with: Array("%PDF-".utf8)) { throw .pdf }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) { throw .wrongEncoding("UTF-16") }
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        // Skip whitespace; the first significant byte of XML is '<'.
        while start < bytes.count, bytes[start] == 0x20 || bytes[start] == 0x0A || bytes[start] == 0x0D || bytes[start] == 0x09 { start += 1 }
        guard start < bytes.count, bytes[start] == UInt8(ascii: "<") else { throw .notXML }
        // Scan the prolog (XML declaration, comments, PIs, DOCTYPE) up to the first element.
        let prolog = String(decoding: bytes[start...], as: UTF8.self)
        var rest = Substring(prolog)
        while let lt = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: lt)...]
            if after.hasPrefix("?") {
                guard let end = after.range(of: "?>") else { return }
                let pi = after[..<end.lowerBound]
                if pi.hasPrefix("?xml ") || pi.hasPrefix("?xml\t") {
                    if let enc = declaredEncoding(String(pi)), enc.uppercased() != "UTF-8" {
                        throw .wrongEncoding(enc)
                    }
                }
                rest = after[end.upperBound...]
            } else if after.hasPrefix("!--") {
                guard let end = after.range(of: "-->") else { return }
                rest = after[end.upperBound...]
            } else if after.hasPrefix("!") {
                if after.uppercased().hasPrefix("!DOCTYPE") { throw .doctype }
                throw .notXML
            } else {
                return // first element reached
            }
        }
    }

    static func declaredEncoding(_ decl: String) -> String? {
        guard let r = decl.range(of: "encoding") else { return nil }
        let tail = decl[r.upperBound...].drop(while: { $0 == " " || $0 == "=" })
        guard let q = tail.first, q == "\"" || q == "'" else { return nil }
        let value = tail.dropFirst().prefix(while: { $0 != q })
        return String(value)
    }

    private static func build(_ node: xmlNodePtr, parent: XElement?, depth: Int, count: inout Int, limits: XMLLimits) throws(XMLInputError) -> XElement {
        if depth > limits.maxDepth { throw .tooDeep(limit: limits.maxDepth) }
        count += 1
        if count > limits.maxElements { throw .tooManyElements(limit: limits.maxElements) }
        let name = String(cString: node.pointee.name)
        let ns = node.pointee.ns.flatMap { $0.pointee.href.map { String(cString: $0) } } ?? ""
        let el = XElement(name: name, namespace: ns, line: Int(xmlGetLineNo(node)))
        el.parent = parent
        var attr = node.pointee.properties
        while let a = attr {
            let aname = String(cString: a.pointee.name)
            // Without a DTD an attribute value is plain text nodes (no entity references).
            var value = ""
            var t = a.pointee.children
            while let tn = t {
                if let content = tn.pointee.content { value += String(cString: content) }
                t = tn.pointee.next
            }
            el.attributes.append((aname, value))
            attr = a.pointee.next
        }
        var text = ""
        var child = node.pointee.children
        var seen: [String: Int] = [:]
        while let c = child {
            switch c.pointee.type {
            case XML_ELEMENT_NODE:
                let ce = try build(c, parent: el, depth: depth + 1, count: &count, limits: limits)
                let k = ce.namespace + " " + ce.name
                let n = (seen[k] ?? 0) + 1
                seen[k] = n
                ce.index = n
                el.children.append(ce)
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = c.pointee.content { text += String(cString: content) }
            default:
                break
            }
            child = c.pointee.next
        }
        el.text = text
        return el
    }
}
