import CLibXML2
import Foundation

/// Builds the element tree from libxml2's SAX2 events (see `SafeXML.parse`): no libxml2 tree is
/// made, and the limits stop the parser at the first element too many or too deep.
/// (The state is one struct changed by one mutating call per event, reached by the event
/// callbacks through its address: no reference count and no run-time exclusivity check per
/// event — through a class property both were measured at several per cent of validation.)
final class TreeBuilder {
    /// Allocated with the builder, freed with it; one parse on one thread uses it at a time.
    let state: UnsafeMutablePointer<TreeState>
    init(limits: XMLLimits) {
        state = .allocate(capacity: 1)
        state.initialize(to: TreeState(limits: limits))
    }
    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }
    /// What libxml2 passes back to the callbacks.
    var context: UnsafeMutableRawPointer { UnsafeMutableRawPointer(state) }
    @inline(__always) static func state(_ ctx: UnsafeMutableRawPointer) -> UnsafeMutablePointer<TreeState> {
        ctx.assumingMemoryBound(to: TreeState.self)
    }
    var failure: XMLInputError? { state.pointee.failure }
    var root: XElement? { state.pointee.root }
    var count: Int { state.pointee.count }
    var index: ElementIndex { state.pointee.index }
    var doctype: Bool { state.pointee.doctype }
}

struct TreeState {
    let limits: XMLLimits
    private(set) var count = 0
    /// Why the parse was stopped by a limit (checked before libxml2's own verdict).
    private(set) var failure: XMLInputError?
    /// A document type declaration was seen (the prolog check normally refuses it first).
    var doctype = false
    private(set) var root: XElement?
    let index = ElementIndex()
    /// The parser, for line numbers (set by `SAXRun` for the duration of the parse).
    var parser: xmlParserCtxtPtr?
    /// The start line of the element of the latest event: the schema validator reports an
    /// element's errors at its start or (missing children, a wrong value) at its end, and the
    /// line a supplier needs is where that element begins — as a validated tree gives it.
    var eventLine = 0

    /// The working buffers (lent by the parser session, see `TreeScratch`).
    var scratch = TreeScratch()
    /// The names converted so far, lent by the parser session (see `NameCaches`).
    var caches = NameCaches()
    private var lastNamespaceKey: UnsafeRawPointer?
    private var lastNamespace = ""

    init(limits: XMLLimits) {
        self.limits = limits
    }

    private mutating func stop(_ error: XMLInputError) {
        failure = error
        if let parser { xmlStopParser(parser) }
    }

    mutating func start(_ localname: UnsafePointer<xmlChar>, uri: UnsafePointer<xmlChar>?, attributeCount: Int,
               attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?) {
        guard failure == nil else { return }
        let depth = scratch.open.count + 1
        if depth > limits.maxDepth { return stop(.tooDeep(limit: limits.maxDepth)) }
        count += 1
        if count > limits.maxElements { return stop(.tooManyElements(limit: limits.maxElements)) }
        let namePtr = UnsafeRawPointer(localname)
        let info: SafeXML.NameInfo
        if let known = caches.names[namePtr] { info = known } else {
            let parsed = String(cString: localname)
            info = SafeXML.NameInfo(ElementNames.canonical[parsed] ?? parsed)
            caches.names[namePtr] = info
        }
        var ns = ""
        if let uri {
            let key = UnsafeRawPointer(uri)
            // (consecutive elements mostly share their namespace: the last one is tried first)
            if key == lastNamespaceKey { ns = lastNamespace } else if let known = caches.namespaces[key] {
                ns = known
                lastNamespaceKey = key
                lastNamespace = known
            } else {
                // the shared constant itself, so later comparisons with it take the identity fast path
                ns = XMLNamespaces.canonical(String(cString: uri))
                caches.namespaces[key] = ns
            }
        }
        // the line libxml2 is on when it reports the start tag (where its tree put the element)
        let line = parser.flatMap { $0.pointee.input.map { Int($0.pointee.line) } } ?? 0
        let el = XElement(name: info.name, namespace: ns, line: line)
        eventLine = line
        el.parent = scratch.open.last
        if info.slot >= 0 { index.add(el, slot: info.slot) }
        if info.isAmount { index.amounts.append(el) }
        if info.restriction >= 0 { index.restrictionCandidates.append(el, info.restriction) }
        if attributeCount > 0, let attributes {
            el.attributes.reserveCapacity(attributeCount)
            for k in 0..<attributeCount {
                // five pointers per attribute: local name, prefix, URI, value start, value end
                let a = attributes + 5 * k
                guard let lname = a[0], let start = a[3], let end = a[4] else { continue }
                let key = UnsafeRawPointer(lname)
                let aname: String
                if let known = caches.attributeNames[key] {
                    aname = known.0
                    if known.1 >= 0 { index.forbiddenAttributes.append(el, known.1) }
                } else {
                    aname = String(cString: lname)
                    let forbidden = SyntaxRestrictions.attributeIndex[aname] ?? -1
                    caches.attributeNames[key] = (aname, forbidden)
                    if forbidden >= 0 { index.forbiddenAttributes.append(el, forbidden) }
                }
                // the parser has already replaced references and normalised the value
                el.attributes.append((aname, String(decoding: UnsafeBufferPointer(start: start, count: end - start), as: UTF8.self)))
            }
            if !el.attributes.isEmpty { index.attributed.append(el) }
        }
        scratch.open.append(el)
        scratch.marks.append(scratch.pending.count)
        if scratch.texts.count < depth { scratch.texts.append([]) } else { scratch.texts[depth - 1].removeAll(keepingCapacity: true) }
    }

    /// libxml2's limit for one text node (XML_MAX_TEXT_LENGTH), which its tree builder enforced:
    /// more text in one element is refused as not well-formed, as before — it bounds what one
    /// request holds (the PDF bombs of the intake embed 19 MB of text in one element).
    static let maxTextLength = 10_000_000

    mutating func characters(_ ch: UnsafePointer<xmlChar>, _ length: Int) {
        guard failure == nil, !scratch.open.isEmpty, length > 0 else { return }
        let depth = scratch.open.count - 1
        if scratch.texts[depth].count + length > Self.maxTextLength {
            let line = parser.flatMap { $0.pointee.input.map { Int($0.pointee.line) } } ?? 0
            return stop(.malformed(line: line, detail: "xmlSAX2Characters: huge text node"))
        }
        scratch.texts[depth].append(contentsOf: UnsafeBufferPointer(start: ch, count: length))
    }

    mutating func end() {
        guard failure == nil, let el = scratch.open.popLast(), let mark = scratch.marks.popLast() else { return }
        eventLine = el.line
        let hasChildren = scratch.pending.count > mark
        if hasChildren {
            el.children = Array(scratch.pending[mark...])
            scratch.pending.removeSubrange(mark...)
        }
        var blankText = true
        scratch.texts.withUnsafeBufferPointer { all in
            let text = all[scratch.open.count]
            guard !text.isEmpty else { return }
            // Whitespace between child elements is layout, not content (libxml2's NOBLANKS
            // dropped it from its tree before): an element with children and only blank text has none.
            blankText = !text.contains { !($0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D) }
            if !(hasChildren && blankText) { el.storedText = String(decoding: text, as: UTF8.self) }
        }
        // Leaves complete in document order, so the first one seen is the first in the document.
        // CII requires ApplicableHeaderTradeDelivery even when there is nothing to say.
        if index.firstEmptyLeaf == nil, !hasChildren, blankText, el.name != "ApplicableHeaderTradeDelivery" {
            index.firstEmptyLeaf = el
        }
        guard let parentMark = scratch.marks.last else {
            root = el
            return
        }
        // Same-named siblings are usually adjacent (lines, notes): the backward scan is short.
        var k = scratch.pending.count - 1
        while k >= parentMark {
            let prev = scratch.pending[k]
            if prev.nameLength == el.nameLength, prev.name == el.name, prev.namespace == el.namespace {
                el.index = prev.index + 1
                prev.repeated = true
                el.repeated = true
                break
            }
            k -= 1
        }
        scratch.pending.append(el)
    }
}

/// The buffers one parse works in, kept by the parser session for its next document (emptied,
/// with their capacity): allocating and growing them again for every document was ~45
/// allocations per invoice of the testsuite (measured with callgrind).
struct TreeScratch {
    /// The open elements, innermost last.
    var open: [XElement] = []
    /// The text of each open element so far, by depth; the buffers are reused by the next
    /// element at the same depth, so collecting text allocates only for the final string.
    var texts: [[UInt8]] = []
    /// Finished children of all open elements, flat: `marks[d]` is where those of `open[d]` begin.
    /// Each element then gets its children array at once, in its final size.
    var pending: [XElement] = []
    var marks: [Int] = []

    /// Empty for the next document; a buffer that held a long text is let go (it would keep
    /// its megabytes for the life of the session).
    mutating func reset() {
        open.removeAll(keepingCapacity: true)
        pending.removeAll(keepingCapacity: true)
        marks.removeAll(keepingCapacity: true)
        for i in texts.indices where texts[i].capacity > 65_536 { texts[i] = [] }
    }
}

/// libxml2 interns element and attribute names and namespace URIs in its parser's dictionary:
/// each pointer is converted once (long names would otherwise be a heap allocation per element)
/// together with its slot in the index, so no element name is hashed as a string. The parser
/// and its dictionary are kept between documents (`ParserSession`), and so are these tables:
/// the names of the second invoice onwards are all known.
struct NameCaches {
    var names = PointerMap<SafeXML.NameInfo>()
    /// Attribute names, likewise, with their index among the forbidden attributes (or -1).
    var attributeNames = PointerMap<(String, Int32)>()
    var namespaces = PointerMap<String>()
}

/// A map from the addresses libxml2 interned names at to what was worked out for them: open
/// addressing with linear probing and a multiplicative hash of the address. (A `Dictionary` with
/// pointer keys hashed every lookup with SipHash: ~1.5 % of a validation's instructions for
/// about one lookup per element, measured with callgrind.)
struct PointerMap<Value> {
    private var keys: [UInt]
    private var values: [Value?]
    private var shift: UInt64
    private(set) var count = 0

    /// Empty, without storage: every parse starts with an empty set that is swapped for the
    /// session's, so the empty one must cost nothing (no table allocated and cleared per document).
    init() {
        keys = []
        values = []
        shift = 64 - 8
    }

    @inline(__always) private func slot(_ key: UInt) -> Int {
        // (addresses are 8-byte aligned; the golden-ratio multiplier spreads the rest)
        Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    subscript(_ pointer: UnsafeRawPointer) -> Value? {
        get {
            let key = UInt(bitPattern: pointer)
            let mask = keys.count - 1
            guard mask > 0 else { return nil }
            var i = slot(key)
            while true {
                let k = keys[i]
                if k == key { return values[i] }
                if k == 0 { return nil }
                i = (i + 1) & mask
            }
        }
        set {
            // (only ever set, never removed: a name stays known while its dictionary lives)
            guard let newValue else { return }
            let key = UInt(bitPattern: pointer)
            if (count + 1) * 2 > keys.count { grow() }
            let mask = keys.count - 1
            var i = slot(key)
            while keys[i] != 0 && keys[i] != key { i = (i + 1) & mask }
            if keys[i] == 0 { count += 1 }
            keys[i] = key
            values[i] = newValue
        }
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        let size = max(256, oldKeys.count * 2)
        keys = Array(repeating: 0, count: size)
        values = Array(repeating: nil, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        count = 0
        for (k, v) in zip(oldKeys, oldValues) where k != 0 {
            if let v, let p = UnsafeRawPointer(bitPattern: k) { self[p] = v }
        }
    }
}

/// A libxml2 parser context with its dictionary, reused for the next document (one per
/// concurrent parse, from a small pool). Creating and freeing the context and its dictionary
/// and converting every name again was measured at several per cent of a validation.
final class ParserSession {
    let ctxt: xmlParserCtxtPtr
    private let ownSAX: xmlSAXHandlerPtr?
    let handler: UnsafeMutablePointer<xmlSAXHandler>
    var caches = NameCaches()
    var scratch = TreeScratch()

    /// A dictionary beyond this many names (a document with invented names) is not kept.
    static let maxNames = 20_000
    private static let lock = NSLock()
    nonisolated(unsafe) private static var idle: [ParserSession] = []

    private init?() {
        guard let ctxt = xmlNewParserCtxt() else { return nil }
        self.ctxt = ctxt
        ownSAX = ctxt.pointee.sax
        handler = .allocate(capacity: 1)
        handler.initialize(to: xmlSAXHandler())
        ctxt.pointee.sax = handler
    }

    deinit {
        // libxml2 frees the handler it made, not ours
        ctxt.pointee.sax = ownSAX
        xmlFreeParserCtxt(ctxt)
        handler.deallocate()
    }

    static func take() -> ParserSession? {
        lock.lock()
        let s = idle.popLast()
        lock.unlock()
        return s ?? ParserSession()
    }

    /// Back to the pool after a complete parse; after a stopped or failed one, or with a grown
    /// dictionary, the session is dropped (a fresh one costs only the time saved).
    static func give(_ s: ParserSession) {
        guard let dict = s.ctxt.pointee.dict, xmlDictSize(dict) < maxNames else { return }
        lock.lock()
        defer { lock.unlock() }
        if idle.count < 16 { idle.append(s) }
    }
}

/// One run of libxml2's parser over bytes with SAX2 events: into a `TreeBuilder`, into the XML
/// schema validator, or both at once (the validator plugged into the event stream).
enum SAXRun {
    struct Outcome {
        var wellFormed = false
        var errorLine = 0
        var errorMessage = "unbekannt"
        var schemaErrors: [SchemaSet.SchemaError] = []
    }

    /// No network, no messages on stderr, CDATA as text. Not NOBLANKS: libxml2 would install its
    /// own tree-building whitespace handler; `TreeBuilder` drops layout whitespace itself.
    static let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue | XML_PARSE_NOCDATA.rawValue)

    private final class Collector {
        var errors: [SchemaSet.SchemaError] = []
    }

    private final class LineSource {
        let parser: xmlParserCtxtPtr
        let builder: TreeBuilder?
        init(parser: xmlParserCtxtPtr, builder: TreeBuilder?) {
            self.parser = parser
            self.builder = builder
        }
    }

    static func run(_ input: Data, builder: TreeBuilder?, schema: xmlSchemaPtr?) -> Outcome {
        var outcome = Outcome()
        guard input.count < Int(Int32.max), let session = ParserSession.take() else { return outcome }
        let ctxt = session.ctxt
        var reusable = false
        do {
            xmlCtxtReset(ctxt)
            let h = session.handler
            h.initialize(to: xmlSAXHandler())
            defer {
                // frees the input; the dictionary stays for the next document
                xmlCtxtReset(ctxt)
                if reusable { ParserSession.give(session) }
            }
            h.pointee.initialized = UInt32(0xDEED_BEAF) // XML_SAX2_MAGIC
            if let builder {
                swap(&builder.state.pointee.caches, &session.caches)
                swap(&builder.state.pointee.scratch, &session.scratch)
                h.pointee.startElementNs = { ctx, localname, _, uri, _, _, attributeCount, _, attributes in
                    guard let ctx, let localname else { return }
                    TreeBuilder.state(ctx).pointee.start(localname, uri: uri, attributeCount: Int(attributeCount), attributes: attributes)
                }
                h.pointee.endElementNs = { ctx, _, _, _ in
                    guard let ctx else { return }
                    TreeBuilder.state(ctx).pointee.end()
                }
                h.pointee.internalSubset = { ctx, _, _, _ in
                    guard let ctx else { return }
                    TreeBuilder.state(ctx).pointee.doctype = true
                }
                h.pointee.externalSubset = h.pointee.internalSubset
                ctxt.pointee.userData = builder.context
                builder.state.pointee.parser = ctxt
            } else {
                ctxt.pointee.userData = nil
            }
            defer {
                if let builder {
                    swap(&builder.state.pointee.caches, &session.caches)
                    swap(&builder.state.pointee.scratch, &session.scratch)
                    session.scratch.reset()
                }
            }
            _ = xmlCtxtUseOptions(ctxt, options)
            if builder != nil {
                // (after the options: NOCDATA clears the CDATA handler so CDATA comes as text)
                let text: charactersSAXFunc = { ctx, ch, length in
                    guard let ctx, let ch else { return }
                    TreeBuilder.state(ctx).pointee.characters(ch, Int(length))
                }
                h.pointee.characters = text
                // the same function for both: libxml2 then does not guess which blanks are ignorable
                h.pointee.ignorableWhitespace = text
            }
            defer { builder?.state.pointee.parser = nil }
            let pushed: Bool = input.withUnsafeBytes { raw in
                guard let base = raw.baseAddress,
                      let buffer = xmlParserInputBufferCreateMem(base.assumingMemoryBound(to: CChar.self), Int32(raw.count), XML_CHAR_ENCODING_NONE)
                else { return false }
                guard let stream = xmlNewIOInputStream(ctxt, buffer, XML_CHAR_ENCODING_NONE) else {
                    xmlFreeParserInputBuffer(buffer)
                    return false
                }
                return inputPush(ctxt, stream) >= 0
            }
            guard pushed else { return outcome }

            let collector = Collector()
            let lines = LineSource(parser: ctxt, builder: builder)
            var validation: xmlSchemaValidCtxtPtr?
            var plug: xmlSchemaSAXPlugPtr?
            if let schema, let v = xmlSchemaNewValidCtxt(schema) {
                validation = v
                xmlSchemaSetValidStructuredErrors(v, { ctx, err in
                    guard let ctx, let err else { return }
                    let c = Unmanaged<Collector>.fromOpaque(ctx).takeUnretainedValue()
                    guard c.errors.count < 50 else { return }
                    let msg = err.pointee.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
                    c.errors.append(SchemaSet.SchemaError(line: Int(err.pointee.line), message: msg))
                }, Unmanaged.passUnretained(collector).toOpaque())
                // The validator has no tree to take lines from: the start line of the element of
                // the current event when a tree is built, else the parser's current line.
                xmlSchemaValidateSetLocator(v, { ctx, file, line in
                    guard let ctx else { return -1 }
                    let source = Unmanaged<LineSource>.fromOpaque(ctx).takeUnretainedValue()
                    file?.pointee = nil
                    let eventLine = source.builder?.state.pointee.eventLine ?? 0
                    line?.pointee = UInt(eventLine > 0 ? eventLine : max(0, Int(source.parser.pointee.input?.pointee.line ?? 0)))
                    return 0
                }, Unmanaged.passUnretained(lines).toOpaque())
                // The plug swaps the parser's handler and user data for its own and calls ours
                // from there; it keeps the addresses of both fields to put them back when unplugged.
                let raw = UnsafeMutableRawPointer(ctxt)
                guard let saxOffset = MemoryLayout<xmlParserCtxt>.offset(of: \.sax),
                      let dataOffset = MemoryLayout<xmlParserCtxt>.offset(of: \.userData) else { return outcome }
                plug = xmlSchemaSAXPlug(v, (raw + saxOffset).assumingMemoryBound(to: xmlSAXHandlerPtr?.self),
                                        (raw + dataOffset).assumingMemoryBound(to: UnsafeMutableRawPointer?.self))
            }
            defer { if let validation { xmlSchemaFreeValidCtxt(validation) } }
            if schema != nil, plug == nil {
                outcome.schemaErrors = [SchemaSet.SchemaError(line: 0, message: "validator unavailable")]
            }
            _ = xmlParseDocument(ctxt)
            if let plug { _ = xmlSchemaSAXUnplug(plug) }
            withExtendedLifetime(lines) {}
            outcome.wellFormed = ctxt.pointee.wellFormed != 0
            reusable = outcome.wellFormed && builder?.failure == nil
            if !outcome.wellFormed, let err = xmlCtxtGetLastError(ctxt) {
                outcome.errorLine = Int(err.pointee.line)
                if let m = err.pointee.message { outcome.errorMessage = String(cString: m).trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            if let validation, plug != nil {
                outcome.schemaErrors = collector.errors
                if outcome.schemaErrors.isEmpty, xmlSchemaIsValid(validation) != 1 {
                    outcome.schemaErrors = [SchemaSet.SchemaError(line: 0, message: "schema validation failed")]
                }
            }
        }
        return outcome
    }
}
