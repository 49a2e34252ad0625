import Foundation

/// The inventory of rule ids the official pipeline can report (rules.tsv: EN 16931 validation
/// artefacts 1.3.15 and XRechnung schematron 2.5.0 with merged Peppol rules), with the declared
/// flag, the scenario level changes and the rule's own assertion text (used as English message).
public struct RuleCatalogue: Sendable {
    public struct Entry: Sendable {
        public let id: String
        public let ruleset: String
        public let syntaxes: String
        public let flag: Severity
        public let customLevels: [String: Severity]
        public let description: String
        public var isXRechnung: Bool { ruleset.hasPrefix("XRechnung") }
    }

    public let entries: [String: Entry]

    public static let shared: RuleCatalogue = {
        guard let url = Optional(Bundle.module.bundleURL.appendingPathComponent("Resources/rules/rules.tsv")),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return RuleCatalogue(entries: [:]) }
        return RuleCatalogue(tsv: text)
    }()

    init(entries: [String: Entry]) { self.entries = entries }

    public init(tsv: String) {
        var map: [String: Entry] = [:]
        // Split on bytes, not Characters: this ran at every start of the command line (measured).
        for (i, line) in tsv.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).enumerated() where i > 0 {
            let f = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard f.count >= 7 else { continue }
            var levels: [String: Severity] = [:]
            for part in f[5].split(separator: ";") {
                let kv = part.split(separator: "=")
                guard kv.count == 2 else { continue }
                levels[String(kv[0])] = Severity.parse(String(kv[1]))
            }
            map[f[0]] = Entry(id: f[0], ruleset: f[2], syntaxes: f[3], flag: Severity.parse(f[4]), customLevels: levels, description: f[6])
        }
        entries = map
    }

    public var count: Int { entries.count }
}

extension Severity {
    static func parse(_ s: String) -> Severity {
        // Only BR-51 is declared differently by the two syntax bindings ("fatal+warning"); the
        // abstract EN 16931 rule and its wording ("should never include") make it a warning.
        if s.contains("+") { return s.split(separator: "+").map { parse(String($0)) }.max() ?? .error } // max = weakest
        switch s {
        case "warning": return .warning
        case "information": return .information
        default: return .error // "fatal" and "error"
        }
    }
}

/// What a rule check sees: the element tree (for syntax rules), the semantic model (for
/// business rules), the scenario; it collects findings with the scenario's levels applied.
public final class RuleContext {
    public let root: XElement
    public let invoice: Invoice
    public let scenario: Scenario
    let catalogue: RuleCatalogue
    /// (Appended to by the rules of one validation, on one thread: no run-time exclusivity checks.)
    @exclusivity(unchecked) public private(set) var findings: [Finding] = []

    /// Elements by local name, elements with attributes, the first empty leaf (PEPPOL-R008):
    /// collected while the tree was built (`ElementIndex`), so the rules need no walks of their own.
    let index: ElementIndex
    var attributed: ElementList { index.attributed }
    var firstEmptyLeaf: XElement? { index.firstEmptyLeaf }

    init(root: XElement, invoice: Invoice, scenario: Scenario, catalogue: RuleCatalogue, index: ElementIndex) {
        self.root = root
        self.invoice = invoice
        self.scenario = scenario
        self.catalogue = catalogue
        self.index = index
    }

    /// Every element with this local name, in document order (no copy: the index's own list).
    func named(_ name: String) -> ElementList {
        // (short names by their packed bytes, long ones by their literal's address, else hashed)
        if let slot = ElementIndex.shortSlot(name) ?? ElementIndex.literalSlot(name) ?? ElementIndex.slots[name] { return index.named[slot] }
        // Not indexed: walk (a rule added without adding its name to `ElementIndex.indexedNames`).
        var found = ElementList()
        func visit(_ e: XElement) { if e.name == name { found.append(e) }; for c in e.children { visit(c) } }
        visit(root)
        return found
    }

    /// An amount as a person reads it in a finding: "1.234,50 €" (invoice currency).
    func money(_ d: Decimal) -> String { CodeNames.amount("\(d)", currency: invoice.currency, english: false) }

    /// "angegeben 330,00 €, erwartet 336,90 €": the value in the invoice next to the one the rule expects.
    func givenExpected(_ given: Decimal?, _ expected: Decimal) -> String {
        (given.map { "angegeben \(money($0)), " } ?? "") + "erwartet \(money(expected))"
    }

    /// The same in English, appended to the official rule text: "(given €330.00, expected €336.90)".
    func givenExpectedEN(_ given: Decimal?, _ expected: Decimal) -> String {
        let m = { (d: Decimal) in CodeNames.amount("\(d)", currency: self.invoice.currency, english: true) }
        return "(" + (given.map { "given \(m($0)), " } ?? "") + "expected \(m(expected)))"
    }

    /// CII: the xpaths of the VAT breakdowns the general breakdown rule never sees. In the EN 16931
    /// model pattern the rules for categories L, M and O take the breakdown itself as context, and
    /// Schematron lets only the first matching rule of a pattern fire on a node — so BR-45…48,
    /// BR-CO-17 and BR-DEC-19/20 (the later general rule) skip those breakdowns (measured: a
    /// breakdown O without BT-116 gives BR-O-08, not BR-45). Empty for UBL, whose category
    /// rules take the TaxCategory child as context.
    var shadowedBreakdowns: Set<String> {
        guard isCII else { return [] }
        var out: Set<String> = []
        for tax in named("ApplicableTradeTax") where tax.parent?.name == "ApplicableHeaderTradeSettlement" {
            let types = tax.children("TypeCode")
            guard types.count == 1, types.first?.text.uppercased() == "VAT",
                  tax.children("CategoryCode").contains(where: { ["L", "M", "O"].contains($0.text) }) else { continue }
            out.insert(tax.xpath)
        }
        return out
    }

    var isUBL: Bool { scenario.syntax != .cii }
    var isCII: Bool { scenario.syntax == .cii }
    /// The document totals as the rules are bound to them (UBL `cac:LegalMonetaryTotal`, CII every
    /// `ram:SpecifiedTradeSettlementHeaderMonetarySummation`): none means nothing to check there.
    var monetarySummations: [XElement] {
        isUBL ? Array(root.children("LegalMonetaryTotal")) : Array(named("SpecifiedTradeSettlementHeaderMonetarySummation"))
    }
    var xr: Bool { scenario.runsXRechnungRules }
    var isExtension: Bool { scenario.profile == .xrechnungExtension }
    var isCVD: Bool { scenario.profile == .cvd }

    /// Reports a violation of `rule` at `location`. XRechnung/Peppol rules are dropped in the
    /// plain EN 16931 scenario; the level comes from the catalogue and the scenario.
    /// Location and message are only built for findings that are reported.
    func fail(_ rule: String, _ location: @autoclosure () -> String, de: @autoclosure () -> String, en: @autoclosure () -> String = "") {
        // Only rules of the pinned artefacts are reported (e.g. BR-DE-29 is not part of 2.5.0).
        guard let entry = catalogue.entries[rule] else {
            if catalogue.entries.isEmpty { appendUnknown(rule, location(), de()) }
            return
        }
        if entry.isXRechnung, !xr { return }
        var severity = entry.flag
        if let key = scenario.levelKey, let custom = entry.customLevels[key] { severity = custom }
        findings.append(Finding(rule: rule, severity: severity, location: location(), messageDE: de(),
                                messageEN: [RuleTextsEN.text(rule) ?? entry.description, en()].filter { !$0.isEmpty }.joined(separator: " ")))
    }

    /// Without a catalogue (should not happen: it ships in the bundle) every finding is an error.
    private func appendUnknown(_ rule: String, _ location: String, _ de: String) {
        findings.append(Finding(rule: rule, severity: .error, location: location, messageDE: de, messageEN: rule))
    }

    func fail(_ rule: String, _ element: XElement?, de: @autoclosure () -> String, en: @autoclosure () -> String = "") {
        fail(rule, element?.xpath ?? root.xpath, de: de(), en: en())
    }
}

