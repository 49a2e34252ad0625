import Foundation

/// The syntax restrictions of the EN 16931 bindings: elements and attributes of UBL 2.1 and
/// CII D16B that lie outside EN 16931 ("should not be present", UBL-CR-*, UBL-DT-08…28,
/// CII-SR-*, CII-DT-*). They are data, not code: each is a path relative to a context (the
/// document or, in CII, an element such as SpecifiedTradeProduct) that must not exist. The
/// paths are those of the validation artefacts' syntax bindings (EN 16931 1.3.15); the few
/// restrictions with a condition are written out in `UBLSyntax`/`CIISyntax`.
///
/// Matching walks the tree once per context along a trie of the paths, so an invoice costs
/// one pass over the elements that share a prefix with some restriction, not one per rule.
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

    struct Node: Sendable {
        var children: [String: Int] = [:]
        /// Rules that end at this element (attribute nil) or at one of its attributes.
        var ends: [(rule: Int, attribute: String?)] = []
    }

    private(set) var rules: [Rule] = []
    /// One trie per context name ("" = document element).
    private(set) var tries: [String: [Node]] = [:]
    /// `//@attribute` restrictions: any element carrying the attribute.
    private(set) var anyAttribute: [(rule: Int, attribute: String)] = []

    /// Context element names that `RuleContext.named` must find without a walk.
    var contextNames: [String] { tries.keys.filter { !$0.isEmpty }.sorted() }

    /// Parses the table format (see `SyntaxRestrictionTables`): one group per line,
    /// `<prefix> <first number> [<context>[|<context>…]:] [<path prefix>/] <path> <path> …` — consecutive
    /// numbers for the paths in order, `-` skips a number. A path starting with `//` is
    /// searched anywhere (its first step becomes the context), `@name` ends in an attribute,
    /// `Line` stands for InvoiceLine and CreditNoteLine.
    init(table: String) {
        for raw in table.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var fields = line.split(separator: " ").map(String.init)
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
        var steps = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var ctx = context
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
        // `Line` is the invoice or credit note line: one branch each.
        let expansions: [[String]] = steps.contains("Line")
            ? [steps.map { $0 == "Line" ? "InvoiceLine" : $0 }, steps.map { $0 == "Line" ? "CreditNoteLine" : $0 }]
            : [steps]
        var trie = tries[ctx ?? "", default: [Node()]]
        for s in expansions {
            var node = 0
            for step in s {
                if let next = trie[node].children[step] { node = next } else {
                    trie.append(Node())
                    trie[node].children[step] = trie.count - 1
                    node = trie.count - 1
                }
            }
            trie[node].ends.append((ruleIndex, attribute))
        }
        tries[ctx ?? ""] = trie
    }

    /// Every restriction the document breaks: (rule, first offending element).
    func violations(root: XElement, named: (String) -> [XElement]) -> [(rule: Rule, element: XElement)] {
        var out: [(rule: Rule, element: XElement)] = []
        var firedOnce = Set<Int>()
        func report(_ r: Int, _ e: XElement, fired: inout Set<Int>) {
            let rule = rules[r]
            if rule.oncePerDocument {
                guard firedOnce.insert(r).inserted else { return }
            } else {
                guard fired.insert(r).inserted else { return }
            }
            out.append((rule, e))
        }
        func walk(_ e: XElement, _ node: Int, _ trie: [Node], fired: inout Set<Int>) {
            let n = trie[node]
            for end in n.ends where end.attribute == nil || e.attribute(end.attribute!) != nil {
                report(end.rule, e, fired: &fired)
            }
            guard !n.children.isEmpty else { return }
            for c in e.children {
                if let next = n.children[c.name] { walk(c, next, trie, fired: &fired) }
            }
        }
        for (context, trie) in tries {
            if context.isEmpty {
                var fired = Set<Int>()
                walk(root, 0, trie, fired: &fired)
            } else {
                for e in named(context) {
                    var fired = Set<Int>() // once per context element
                    walk(e, 0, trie, fired: &fired)
                }
            }
        }
        return out
    }

    /// `//@attribute` restrictions over the elements that carry attributes.
    func attributeViolations(_ attributed: [XElement]) -> [(rule: Rule, element: XElement)] {
        var out: [(rule: Rule, element: XElement)] = []
        for (r, name) in anyAttribute {
            if let e = attributed.first(where: { $0.attribute(name) != nil }) { out.append((rules[r], e)) }
        }
        return out
    }
}
