import Dispatch
import Foundation

public enum Severity: String, Sendable, Codable, Comparable {
    case error, warning, information

    public static func < (a: Severity, b: Severity) -> Bool {
        let order: [Severity] = [.error, .warning, .information]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }

    public var german: String {
        switch self {
        case .error: return "Fehler"
        case .warning: return "Warnung"
        case .information: return "Hinweis"
        }
    }

    public var english: String {
        switch self {
        case .error: return "Error"
        case .warning: return "Warning"
        case .information: return "Note"
        }
    }
}

/// One reported rule violation: the official rule id, the severity after the scenario's level
/// changes, where (XPath) and what to change.
public struct Finding: Sendable, Equatable, Codable {
    public let rule: String
    public let severity: Severity
    public let location: String
    public let messageDE: String
    public let messageEN: String
}

/// The scenarios of the official validator configuration (validator-configuration-xrechnung
/// 2026-01-31), selected by exact match of the specification identifier (BT-24) and the syntax.
public struct Scenario: Sendable, Equatable {
    public enum Profile: String, Sendable { case en16931, xrechnung, xrechnungExtension, cvd }
    public let profile: Profile
    public let syntax: Invoice.Syntax

    public static let xrechnungID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    public static let extensionID = xrechnungID + "#conformant#urn:xeinkauf.de:kosit:extension:xrechnung_3.0"
    public static let cvdID = xrechnungID + "#compliant#urn:xeinkauf.de:kosit:xrechnung:cvd_0.9"
    public static let en16931ID = "urn:cen.eu:en16931:2017"

    /// The official configuration matches the identifier text exactly (no trimming: " urn:…" has no
    /// scenario and is rejected) and takes the first scenario, in its order, that any of the
    /// document's identifier elements matches.
    public static func select(candidates: [String], syntax: Invoice.Syntax) -> Scenario? {
        let order: [String] = syntax == .ublCreditNote ? [xrechnungID, cvdID, en16931ID] : [xrechnungID, extensionID, cvdID, en16931ID]
        for id in order where candidates.contains(id) { return select(specificationID: id, syntax: syntax) }
        return nil
    }

    /// The raw texts of every specification identifier element (BT-24) of the document.
    public static func candidates(_ root: XElement, syntax: Invoice.Syntax) -> [String] {
        if syntax == .cii {
            return root.children("ExchangedDocumentContext").flatMap { $0.children("GuidelineSpecifiedDocumentContextParameter") }
                .flatMap { $0.children("ID") }.map(\.text)
        }
        return root.children("CustomizationID").map(\.text)
    }

    public static func select(specificationID: String?, syntax: Invoice.Syntax) -> Scenario? {
        guard let id = specificationID else { return nil }
        switch id {
        case xrechnungID: return Scenario(profile: .xrechnung, syntax: syntax)
        case extensionID: return syntax == .ublCreditNote ? nil : Scenario(profile: .xrechnungExtension, syntax: syntax)
        case cvdID: return Scenario(profile: .cvd, syntax: syntax)
        case en16931ID: return Scenario(profile: .en16931, syntax: syntax)
        default: return nil
        }
    }

    var syntaxLabel: String {
        switch syntax {
        case .ublInvoice: return "UBL Invoice"
        case .ublCreditNote: return "UBL CreditNote"
        case .cii: return "CII"
        }
    }

    /// The name the official configuration gives this scenario.
    public var name: String {
        switch profile {
        case .en16931: return "EN16931 (\(syntaxLabel))"
        case .xrechnung: return "EN16931 XRechnung (\(syntaxLabel))"
        case .xrechnungExtension: return "EN16931 XRechnung Extension (\(syntaxLabel))"
        case .cvd: return "EN16931 XRechnung CVD (\(syntaxLabel))"
        }
    }

    /// Key used in rules.tsv's `xr_custom_levels`.
    var levelKey: String? {
        switch profile {
        case .en16931: return nil
        case .xrechnung: return "XR(\(syntaxLabel))"
        case .xrechnungExtension: return "XR Extension(\(syntaxLabel))"
        case .cvd: return "XR CVD(\(syntaxLabel))"
        }
    }

    var runsXRechnungRules: Bool { profile != .en16931 }
}

/// The validation result for one file.
public struct ValidationReport: Sendable {
    public var syntax: Invoice.Syntax?
    public var scenario: Scenario?
    public var invoice: Invoice?
    public var findings: [Finding] = []
    /// Set when the invoice was taken from a ZUGFeRD/Factur-X PDF (name of the embedded file).
    public var extractedFromPDF: String?

    public var errors: [Finding] { findings.filter { $0.severity == .error } }
    public var warnings: [Finding] { findings.filter { $0.severity == .warning } }
    public var information: [Finding] { findings.filter { $0.severity == .information } }
    /// Accepted as the official validator accepts: a scenario matched and no error-level finding.
    public var isValid: Bool { scenario != nil && errors.isEmpty }
}

public struct ValidatorOptions: Sendable {
    public var limits = XMLLimits()
    /// Run the XRechnung CIUS rules even without a matching scenario (diagnostic only; the
    /// verdict stays "rejected").
    public var diagnoseWithoutScenario = true
    public init() {}
}

/// The pipeline: safe parse → syntax detection → scenario → XSD → rules.
public final class XRechnungValidator: Sendable {
    public let schemas: SchemaSet?
    public let catalogue: RuleCatalogue
    public let options: ValidatorOptions

    public init(schemas: SchemaSet? = SchemaSet.shared, catalogue: RuleCatalogue = .shared, options: ValidatorOptions = ValidatorOptions()) {
        self.schemas = schemas
        self.catalogue = catalogue
        self.options = options
    }

    /// The invoice model of a file (XML or Factur-X PDF) without validating it, e.g. to hand out
    /// an attachment of an invoice that was validated on receipt.
    public static func read(_ data: Data, limits: XMLLimits = XMLLimits()) -> Invoice? {
        if data.starts(with: Array("%PDF-".utf8)), let embedded = PDFInvoice.extract(data, maxBytes: limits.maxBytes) {
            return read(embedded.xml, limits: limits)
        }
        guard let parsed = try? SafeXML.parse(data, limits: limits) else { return nil }
        switch (parsed.root.name, parsed.root.namespace) {
        case ("Invoice", XMLNamespaces.ublInvoice), ("CreditNote", XMLNamespaces.ublCreditNote): return UBLReader.read(parsed.root)
        case ("CrossIndustryInvoice", XMLNamespaces.rsm): return CIIReader.read(parsed.root)
        default: return nil
        }
    }

    /// Seconds spent per phase over `inputs` (for the benchmark's breakdown). The schema is
    /// checked while parsing, so its share is the difference to a parse without it.
    public static func phaseTimes(_ inputs: [Data], rounds: Int) -> (parse: Double, xsd: Double, rules: Double) {
        let v = XRechnungValidator()
        var parse = 0.0, parseAndXSD = 0.0, rules = 0.0
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        for _ in 0..<rounds {
            for d in inputs {
                let t0 = now()
                _ = try? SafeXML.parse(d, limits: v.options.limits)
                parse += now() - t0
                let t1 = now()
                guard let parsed = try? SafeXML.parse(d, limits: v.options.limits, schemas: v.schemas) else { parseAndXSD += now() - t1; continue }
                let t2 = now()
                parseAndXSD += t2 - t1
                let cii = parsed.root.name == "CrossIndustryInvoice"
                let inv = cii ? CIIReader.read(parsed.root) : UBLReader.read(parsed.root)
                let scenario = Scenario.select(specificationID: inv.specificationID, syntax: inv.syntax) ?? Scenario(profile: .xrechnung, syntax: inv.syntax)
                Rules.run(RuleContext(root: parsed.root, invoice: inv, scenario: scenario, catalogue: v.catalogue, index: parsed.index))
                rules += now() - t2
            }
        }
        return (parse, max(0, parseAndXSD - parse), rules)
    }

    public func validate(_ data: Data) -> ValidationReport {
        // ZUGFeRD / Factur-X: validate the CII embedded in the PDF.
        if data.starts(with: Array("%PDF-".utf8)), data.count <= options.limits.maxBytes {
            // One inflation budget for the whole PDF (the size limit of an XML invoice).
            switch PDFInvoice.extractReporting(data, maxBytes: options.limits.maxBytes) {
            case .found(let embedded):
                var report = validate(embedded.xml)
                report.extractedFromPDF = embedded.name ?? "eingebettete XML-Datei"
                return report
            case .limit(let kind):
                var report = ValidationReport()
                let e = XMLInputError.pdfLimit(kind)
                report.findings.append(Finding(rule: e.rule, severity: .error, location: "/", messageDE: e.messageDE, messageEN: e.messageEN))
                return report
            case .notFound:
                break
            }
        }
        var report = ValidationReport()
        let parsed: ParsedXML
        do {
            parsed = try SafeXML.parse(data, limits: options.limits, schemas: schemas)
        } catch {
            report.findings.append(Finding(rule: error.rule, severity: .error, location: "/", messageDE: error.messageDE, messageEN: error.messageEN))
            return report
        }
        let root = parsed.root
        let syntax: Invoice.Syntax
        switch (root.name, root.namespace) {
        case ("Invoice", XMLNamespaces.ublInvoice): syntax = .ublInvoice
        case ("CreditNote", XMLNamespaces.ublCreditNote): syntax = .ublCreditNote
        case ("CrossIndustryInvoice", XMLNamespaces.rsm): syntax = .cii
        default:
            report.findings.append(Finding(rule: "XML-ROOT", severity: .error, location: "/" + root.name,
                messageDE: "Das Wurzelelement „\(root.name)“ ist keine Rechnung. Erwartet wird UBL Invoice, UBL CreditNote oder CII CrossIndustryInvoice (mit den Namensräumen aus XRechnung 3.0).",
                messageEN: "The root element '\(root.name)' is not an invoice. Expected UBL Invoice, UBL CreditNote or CII CrossIndustryInvoice."))
            return report
        }
        report.syntax = syntax
        let invoice = syntax == .cii ? CIIReader.read(root) : UBLReader.read(root)
        report.invoice = invoice
        let scenario = Scenario.select(candidates: Scenario.candidates(root, syntax: syntax), syntax: syntax)
        report.scenario = scenario
        if scenario == nil {
            let id = invoice.specificationID ?? "(fehlt)"
            report.findings.append(Finding(rule: "KOSIT-NO-SCENARIO", severity: .error, location: syntax == .cii ? "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID" : "/\(root.name)/cbc:CustomizationID",
                messageDE: "Die Spezifikationskennung (BT-24) „\(id)“ passt zu keinem angenommenen Format. Angenommen werden XRechnung 3.0 (\(Scenario.xrechnungID)), die XRechnung-Extension, XRechnung CVD und EN 16931 (\(Scenario.en16931ID)).",
                messageEN: "The specification identifier (BT-24) '\(id)' matches no accepted scenario (XRechnung 3.0, its extension, CVD, or EN 16931)."))
        }
        if let schemas {
            let kind: SchemaSet.Kind = syntax == .cii ? .cii : (syntax == .ublInvoice ? .ublInvoice : .ublCreditNote)
            let errs = schemas.validate(parsed, as: kind)
            if !errs.isEmpty {
                for e in errs.prefix(10) {
                    report.findings.append(Finding(rule: "XSD", severity: .error, location: "Zeile \(e.line)",
                        messageDE: "Die Datei entspricht nicht dem XML-Schema (\(syntax == .cii ? "CII D16B" : "UBL 2.1")), Zeile \(e.line): \(e.message)",
                        messageEN: "Schema violation at line \(e.line): \(e.message)"))
                }
                return report // like the official pipeline: no rule checks after an XSD failure
            }
        }
        guard scenario != nil || options.diagnoseWithoutScenario else { return report }
        let effective = scenario ?? Scenario(profile: .xrechnung, syntax: syntax)
        let ctx = RuleContext(root: root, invoice: invoice, scenario: effective, catalogue: catalogue, index: parsed.index)
        Rules.run(ctx)
        report.findings.append(contentsOf: Self.runtimeErrors(ctx))
        return report
    }

    /// The official pipeline runs the EN 16931 and the XRechnung rules as two XSLT transformations;
    /// some single-valued CII totals given twice make an XPath cast in one of them fail at run time,
    /// and the validator then reports `XSLT-RUNTIME-ERROR` instead of that transformation's findings
    /// (the invoice is rejected). Measured against the official pipeline by duplicating each
    /// element of the monetary summation: TaxBasisTotal, GrandTotal, DuePayable, Rounding and
    /// TotalPrepaid, ChargeTotal, AllowanceTotal and LineTotal break the EN 16931 transformation
    /// (LineTotal only that one: checked on all 41 CII invoices of the testsuite); so do two BasisAmount or CalculatedAmount in one VAT breakdown, two specification
    /// identifier parameters and two names of one item; two net or gross prices in one line break
    /// the XRechnung transformation; two net amounts of one line or two amounts of one allowance or
    /// charge break both.
    static func runtimeErrors(_ ctx: RuleContext) -> [Finding] {
        guard ctx.isCII else {
            // UBL: BR-06/BR-07 normalise the seller's and buyer's registration name; two of them
            // (two PartyLegalEntity) stop the EN 16931 transformation (measured). So does BR-18 on
            // two names of the seller's tax representative (normalize-space of two nodes).
            let root = ctx.root
            let names = ["AccountingSupplierParty", "AccountingCustomerParty"].contains { party in
                root.children(party).flatMap { $0.children("Party") }.flatMap { $0.children("PartyLegalEntity") }
                    .flatMap { $0.children("RegistrationName") }.count > 1
            } || root.children("TaxRepresentativeParty").contains { $0.children("PartyName").flatMap { $0.children("Name") }.count > 1 }
            // Peppol R110/R111 cast the document's period start/end date with xs:date for every
            // line period date: two document periods with that date stop the XRechnung
            // transformation, once a line has its own (measured by duplicating each element).
            let periods = root.children("InvoicePeriod")
            let lines = root.children(ctx.scenario.syntax == .ublCreditNote ? "CreditNoteLine" : "InvoiceLine").flatMap { $0.children("InvoicePeriod") }
            let periodDates = ["StartDate", "EndDate"].contains { date in
                periods.flatMap { $0.children(date) }.count > 1 && lines.contains { !$0.children(date).isEmpty }
            }
            let skonto = XRechnungCIUS.skontoOverSeveralTerms(ctx) == true
            guard names || periodDates || skonto else { return ctx.findings }
            return dropped(ctx, breaksEN: names, breaksXR: periodDates || skonto, at: root.xpath)
        }
        let sums = ctx.named("SpecifiedTradeSettlementHeaderMonetarySummation")
        func twice(_ name: String) -> Bool { sums.contains { $0.children(name).count > 1 } }
        let headerTaxes = ctx.named("ApplicableTradeTax").filter { $0.parent?.name == "ApplicableHeaderTradeSettlement" }
        // per line: the item name, the line's net amount, and the amount of an allowance or charge
        // (line or document level) given twice (measured element by element on two testsuite
        // invoices, with one EN 16931 and one XRechnung finding planted to see which transformation stops)
        let lineNames = ctx.named("SpecifiedTradeProduct").contains { $0.children("Name").count > 1 }
        let lineTotals = ctx.named("SpecifiedTradeSettlementLineMonetarySummation").contains { $0.children("LineTotalAmount").count > 1 }
        let allowanceAmounts = ctx.named("SpecifiedTradeAllowanceCharge").contains { $0.children("ActualAmount").count > 1 }
        // BR-56 normalises the tax representative's VA identifier: two of them stop EN 16931
        let representativeIDs = ctx.named("SellerTaxRepresentativeTradeParty").contains {
            $0.children("SpecifiedTaxRegistration").flatMap { $0.children("ID") }.filter { $0.attribute("schemeID") == "VA" }.count > 1
        }
        // R046 passes AppliedTradeAllowanceCharge/ActualAmount[1] — the first amount of each
        // allowance — to a one-value function: two allowances on a gross price stop XRechnung
        let priceAllowances = ctx.named("GrossPriceProductTradePrice").contains { g in
            !g.children("ChargeAmount").isEmpty && g.children("AppliedTradeAllowanceCharge").filter { !$0.children("ActualAmount").isEmpty }.count > 1
        }
        let breaksEN = ["TaxBasisTotalAmount", "GrandTotalAmount", "DuePayableAmount", "RoundingAmount", "TotalPrepaidAmount", "LineTotalAmount",
                        "ChargeTotalAmount", "AllowanceTotalAmount"].contains(where: twice)
            // (not in a breakdown of category O: its rules compare without casting — measured on all
            // 150 breakdowns of the testsuite and the EN 16931 examples)
            || headerTaxes.contains { ($0.children("BasisAmount").count > 1 || $0.children("CalculatedAmount").count > 1)
                && $0.child("CategoryCode")?.normalizedText != "O" }
            || ctx.root.children("ExchangedDocumentContext").contains { $0.children("GuidelineSpecifiedDocumentContextParameter").count > 1 }
            || lineNames || lineTotals || allowanceAmounts || representativeIDs
        let breaksXR = lineTotals || allowanceAmounts || priceAllowances || XRechnungCIUS.skontoOverSeveralTerms(ctx) == true
            || ctx.named("NetPriceProductTradePrice").contains { $0.children("ChargeAmount").count > 1 }
            || ctx.named("GrossPriceProductTradePrice").contains { $0.children("ChargeAmount").count > 1 }
        guard breaksEN || breaksXR else { return ctx.findings }
        return dropped(ctx, breaksEN: breaksEN, breaksXR: breaksXR, at: sums.first?.xpath ?? "/")
    }

    /// The findings without those of the transformation(s) that stopped, plus the runtime error.
    static func dropped(_ ctx: RuleContext, breaksEN: Bool, breaksXR xrFailure: Bool, at location: String) -> [Finding] {
        // the EN 16931 scenario does not run the XRechnung transformation: nothing there can stop
        // (measured: two net prices of an EN 16931 invoice are no runtime error)
        let breaksXR = xrFailure && ctx.scenario.profile != .en16931
        guard breaksEN || breaksXR else { return ctx.findings }
        var kept = ctx.findings.filter { f in
            let xr = ctx.catalogue.entries[f.rule]?.isXRechnung ?? false
            return xr ? !breaksXR : !breaksEN
        }
        kept.append(Finding(rule: "XSLT-RUNTIME-ERROR", severity: .error, location: location,
                            messageDE: "Ein Feld, das nur einmal vorkommen darf (z. B. eine Summe, ein Betrag der Umsatzsteueraufschlüsselung oder die Spezifikationskennung), ist mehrfach angegeben. Die amtlichen Prüfregeln brechen daran ab; die Rechnung wird nicht angenommen. Bitte geben Sie jedes dieser Felder genau einmal an.",
                            messageEN: "A total of the invoice is given more than once; the official rules stop at it and the invoice is rejected."))
        return kept
    }
}
