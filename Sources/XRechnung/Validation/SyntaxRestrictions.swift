import Foundation

/// The syntax restrictions of the EN 16931 bindings: elements and attributes of UBL 2.1 and
/// CII D16B that lie outside EN 16931 ("should not be present", UBL-CR-*, UBL-DT-08…28,
/// CII-SR-*, CII-DT-*). They are data, not code: each is a path relative to a context (the
/// document or, in CII, an element such as SpecifiedTradeProduct) that must not exist. The
/// paths are those of the validation artefacts' syntax bindings (EN 16931 1.3.15); the few
/// restrictions with a condition are written out in `UBLSyntax`/`CIISyntax`.
///
/// Matching goes upwards: while the tree is built, every element whose name ends some
/// restriction's path is noted (`ElementIndex.restrictionCandidates`); each candidate's
/// ancestors are then compared with the paths ending in its name, most of them failing at the
/// parent's stored name length. A walk down a trie from each context (visiting most of the tree
/// and hashing every name on the way) cost 11 % of a validation; this costs about 1.5 % (perf).
struct SyntaxRestrictions: Sendable {
    struct Rule: Sendable {
        let id: String
        /// Local name of the context element; nil for the document element.
        let context: String?
        /// The path below the context, as written in the table (for the message).
        let path: String
        /// Reported once per document (a `//` path), not once per context element.
        let oncePerDocument: Bool
    }

    /// One path of a rule, read from its last element upwards. (A class: the paths are read in
    /// place per candidate element, and a struct of arrays and strings was copied there —
    /// retaining and releasing each field — despite `borrowing`, measured in perf.)
    final class Path: Sendable {
        let rule: Int
        /// The element names above the last one, nearest first (the last step is the key).
        let ancestors: [String]
        let lengths: [Int]
        /// The context element's name; nil: the document element itself.
        let context: String?
        let attribute: String?

        init(rule: Int, ancestors: [String], lengths: [Int], context: String?, attribute: String?) {
            self.rule = rule
            self.ancestors = ancestors
            self.lengths = lengths
            self.context = context
            self.attribute = attribute
        }
    }

    private(set) var rules: [Rule] = []
    /// Paths by the name of their last element. A path that ends at its context element itself
    /// (`//FinancialInstitution`) is keyed by that name, with no ancestors.
    private(set) var byLastName: [String: [Path]] = [:]
    /// `//@attribute` restrictions: any element carrying the attribute.
    private(set) var anyAttribute: [(rule: Int, attribute: String)] = []

    /// Element names whose elements must be looked at (the last step of some path).
    var lastNames: Set<String> { Set(byLastName.keys) }

    /// Parses the table format (see `SyntaxRestrictionTables`): one group per line,
    /// `<prefix> <first number> [<context>[|<context>…]:] [<path prefix>/] <path> <path> …` — consecutive
    /// numbers for the paths in order, `-` skips a number. A path starting with `//` is
    /// searched anywhere (its first step becomes the context), `@name` ends in an attribute,
    /// `Line` stands for InvoiceLine and CreditNoteLine.
    init(table: String) {
        // Split on bytes: Character-wise splitting of this table was most of the start-up (measured).
        for raw in table.utf8.split(separator: UInt8(ascii: "\n")) {
            var fields = raw.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            guard fields.count >= 3 else { continue }
            let prefix = fields.removeFirst()
            let start = fields.removeFirst()
            let width = start.count
            guard var number = Int(start) else { continue }
            var context: String?
            if let f = fields.first, f.hasSuffix(":") { context = String(f.dropLast()); fields.removeFirst() }
            var pathPrefix = ""
            if let f = fields.first, f.hasSuffix("/"), fields.count > 1 { pathPrefix = f; fields.removeFirst() }
            for token in fields {
                defer { number += 1 }
                if token == "-" { continue }
                let digits = String(number)
                let id = prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits
                add(id: id, context: context, path: pathPrefix + token)
            }
        }
    }

    /// A context may name several elements (`A|B|C`, e.g. every …ReferencedDocument).
    private mutating func add(id: String, context: String?, path: String) {
        guard let context, context.contains("|") else { return addOne(id: id, context: context, path: path) }
        for one in context.split(separator: "|") { addOne(id: id, context: String(one), path: path) }
    }

    private mutating func addOne(id: String, context: String?, path: String) {
        // (names as the rules' literals where there is one: compared with element names by identity)
        var steps = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            .map { ElementNames.literal[$0] ?? $0 }
        var ctx = context.map { ElementNames.literal[$0] ?? $0 }
        var once = false
        if path.hasPrefix("//") {
            steps.removeFirst(2)
            once = true
            if steps.count == 1, steps[0].hasPrefix("@") {
                rules.append(Rule(id: id, context: nil, path: path, oncePerDocument: true))
                anyAttribute.append((rules.count - 1, String(steps[0].dropFirst())))
                return
            }
            ctx = steps.removeFirst()
        }
        var attribute: String?
        if let last = steps.last, last.hasPrefix("@") { attribute = String(last.dropFirst()); steps.removeLast() }
        rules.append(Rule(id: id, context: ctx, path: path, oncePerDocument: once))
        let ruleIndex = rules.count - 1
        // `Line` is the invoice or credit note line: one path each.
        let expansions: [[String]] = steps.contains("Line")
            ? [steps.map { $0 == "Line" ? "InvoiceLine" : $0 }, steps.map { $0 == "Line" ? "CreditNoteLine" : $0 }]
            : [steps]
        for s in expansions {
            if let last = s.last {
                byLastName[last, default: []].append(Path(rule: ruleIndex, ancestors: s.dropLast().reversed(), lengths: s.dropLast().reversed().map(\.utf8.count), context: ctx, attribute: attribute))
            } else if let ctx {
                // the context element itself is forbidden (`//FinancialInstitution`)
                byLastName[ctx, default: []].append(Path(rule: ruleIndex, ancestors: [], lengths: [], context: nil, attribute: attribute))
                byLastNameAnywhere.insert(ctx)
            }
        }
    }

    /// Last names of paths that match wherever the element is (a bare `//Name`).
    private(set) var byLastNameAnywhere: Set<String> = []

    /// `byLastName` as an array in the numbering of `SyntaxRestrictions.lastNameIndex`, each
    /// name's paths split by the length of the parent's name they need (`parentLengthBuckets`
    /// buckets; the last holds the paths without ancestors and those of longer parent names,
    /// which are checked for every element). Many paths end in the same name (`ID`, `Name`):
    /// one element is then compared with only the few whose parent could be its parent.
    private(set) var pathsByName: [[[Path]]] = []
    static let parentLengthBuckets = 64

    mutating func numberPaths(_ index: [String: Int32]) {
        let general = Self.parentLengthBuckets - 1
        pathsByName = Array(repeating: Array(repeating: [], count: Self.parentLengthBuckets), count: index.count)
        for (name, i) in index {
            // (the table's order within each bucket, so reports keep their order per element)
            for path in byLastName[name] ?? [] {
                let bucket = path.lengths.first.map { $0 < general ? $0 : general } ?? general
                pathsByName[Int(i)][bucket].append(path)
            }
        }
    }

    /// Every restriction the candidates break: (rule, offending element), once per rule and
    /// context element (once per document for `//` paths).
    func violations(_ candidates: TaggedElementList) -> [(rule: Rule, element: XElement)] {
        var out: [(rule: Rule, element: XElement)] = []
        var seen = Set<Int>()            // oncePerDocument rules
        var seenInContext = Set<Pair>()  // rule × context element
        // The paths are read in place (through buffer pointers), not copied per candidate: a copy
        // of a Path retains and releases its four arrays and strings — measured as most of the
        // cost of this function.
        let general = Self.parentLengthBuckets - 1
        pathsByName.withUnsafeBufferPointer { byName in
            for (e, nameIndex) in candidates {
                byName[Int(nameIndex)].withUnsafeBufferPointer { buckets in
                    let parentLength = e.parent?.nameLength ?? -1
                    // Most paths fail at the parent: only those needing a parent name of its length.
                    if parentLength >= 0, parentLength < general {
                        buckets[parentLength].withUnsafeBufferPointer { paths in
                            for i in paths.indices { check(paths[i], e, &out, &seen, &seenInContext) }
                        }
                    }
                    buckets[general].withUnsafeBufferPointer { paths in
                        for i in paths.indices {
                            if let first = paths[i].lengths.first, first != parentLength { continue }
                            check(paths[i], e, &out, &seen, &seenInContext)
                        }
                    }
                }
            }
        }
        return out
    }

    @inline(__always)
    private func check(_ p: Path, _ e: XElement, _ out: inout [(rule: Rule, element: XElement)], _ seen: inout Set<Int>, _ seenInContext: inout Set<Pair>) {
        // climb the ancestors named in the path (lengths first: a stored field each); the tree
        // owns every node, so the climb holds them unretained (a retain and release per step
        // was most of this function's cost, measured with callgrind)
        unowned(unsafe) var node: XElement? = e.parent
        var k = 0
        while k < p.ancestors.count {
            guard let n = node, n.nameLength == p.lengths[k], n.name == p.ancestors[k] else { return }
            node = n.parent
            k += 1
        }
        if let a = p.attribute, e.attribute(a) == nil { return }
        let contextElement: XElement
        if p.ancestors.isEmpty, p.context == nil, byLastNameAnywhere.contains(e.name), rules[p.rule].oncePerDocument {
            contextElement = e // `//Name`: the element itself, anywhere
        } else if let ctx = p.context {
            guard let n = node, n.nameLength == ctx.utf8.count, n.name == ctx else { return }
            contextElement = n
        } else {
            // anchored at the document element
            guard let n = node, n.parent == nil else { return }
            contextElement = n
        }
        if rules[p.rule].oncePerDocument {
            guard seen.insert(p.rule).inserted else { return }
        } else {
            guard seenInContext.insert(Pair(rule: p.rule, context: ObjectIdentifier(contextElement))).inserted else { return }
        }
        out.append((rules[p.rule], e))
    }

    struct Pair: Hashable { let rule: Int; let context: ObjectIdentifier }

    /// `//@attribute` restrictions: the elements noted while building carry one of those
    /// attributes (`attributeIndex` numbering); each rule is reported once per document.
    func attributeViolations(_ noted: TaggedElementList) -> [(rule: Rule, element: XElement)] {
        guard !noted.isEmpty else { return [] }
        var out: [(rule: Rule, element: XElement)] = []
        var seen = Set<Int>()
        for (e, i) in noted {
            for r in rulesByAttribute[Int(i)] where seen.insert(r).inserted { out.append((rules[r], e)) }
        }
        return out
    }

    /// `anyAttribute` in the numbering of `SyntaxRestrictions.attributeIndex`.
    private(set) var rulesByAttribute: [[Int]] = []

    mutating func numberAttributes(_ index: [String: Int32]) {
        rulesByAttribute = Array(repeating: [], count: index.count)
        for (r, name) in anyAttribute { if let i = index[name] { rulesByAttribute[Int(i)].append(r) } }
    }
}
