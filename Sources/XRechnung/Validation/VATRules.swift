import Foundation

/// The VAT category rule families of EN 16931 (BR-S, BR-Z, BR-E, BR-AE, BR-IC (K), BR-G, BR-O).
/// Each family follows the same pattern: breakdown present (-01), seller identification for
/// lines/allowances/charges (-02/-03/-04), rates (-05/-06/-07), taxable amount (-08), tax
/// amount (-09), exemption reason (-10).
enum VATRules {
    enum RateRule { case positive, zero, nonNegative }

    struct Family {
        let code: String
        let prefix: String
        let name: String
        let exactlyOneBreakdown: Bool
        let rate: RateRule
        var rateMustBeZero: Bool { rate == .zero }
        /// One breakdown per rate (S, L, M); the others have a single breakdown.
        var perRate: Bool { rate != .zero }
        let exemptionRequired: Bool?   // true: required, false: forbidden, nil: not checked
        let needsBuyerID: Bool
    }

    static let families: [Family] = [
        Family(code: "S", prefix: "BR-S", name: "Normalsatz (S)", exactlyOneBreakdown: false, rate: .positive, exemptionRequired: false, needsBuyerID: false),
        Family(code: "Z", prefix: "BR-Z", name: "Nullsatz (Z)", exactlyOneBreakdown: true, rate: .zero, exemptionRequired: false, needsBuyerID: false),
        Family(code: "E", prefix: "BR-E", name: "steuerbefreit (E)", exactlyOneBreakdown: true, rate: .zero, exemptionRequired: true, needsBuyerID: false),
        Family(code: "AE", prefix: "BR-AE", name: "Umkehrung der Steuerschuldnerschaft (AE)", exactlyOneBreakdown: true, rate: .zero, exemptionRequired: true, needsBuyerID: true),
        Family(code: "K", prefix: "BR-IC", name: "innergemeinschaftliche Lieferung (K)", exactlyOneBreakdown: true, rate: .zero, exemptionRequired: true, needsBuyerID: true),
        Family(code: "G", prefix: "BR-G", name: "Ausfuhr (G)", exactlyOneBreakdown: true, rate: .zero, exemptionRequired: true, needsBuyerID: false),
        // Canary Islands (IGIC, code L) and Ceuta/Melilla (IPSI, code M): rates from 0 upwards.
        Family(code: "L", prefix: "BR-AF", name: "IGIC (L)", exactlyOneBreakdown: false, rate: .nonNegative, exemptionRequired: false, needsBuyerID: false),
        Family(code: "M", prefix: "BR-AG", name: "IPSI (M)", exactlyOneBreakdown: false, rate: .nonNegative, exemptionRequired: false, needsBuyerID: false),
    ]

    static func run(_ c: RuleContext) {
        let inv = c.invoice
        let loc = c.root.xpath
        let ids = TaxIdentifiers(c)
        taxAmountRules(c)
        standardRateBase(c)
        let ublCategories = c.isUBL ? UBLCategories(c) : nil
        let ciiCategories = c.isCII ? CIICategories(c) : nil
        for f in families {
            let lines = inv.lines.filter { $0.vatCategory == f.code }
            let allowances = inv.allowances.filter { $0.vatCategory == f.code }
            let charges = inv.charges.filter { $0.vatCategory == f.code }
            let breakdowns = inv.vatBreakdown.filter { $0.category == f.code }
            let present = ublCategories.map { ublFamilyPresence($0, f.code) } ?? ciiCategories.map { ciiFamilyPresence($0, f.code) } ?? true
            if !present {
                c.fail("\(f.prefix)-01", loc, de: "Positionen, Nachlässe oder Zuschläge mit Umsatzsteuerkategorie \(f.name) brauchen \(f.exactlyOneBreakdown ? "genau eine" : "eine") Umsatzsteueraufschlüsselung (BG-23) mit dieser Kategorie.")
            }
            let ok: Bool
            switch f.code {
            case "S", "Z", "E", "L", "M": ok = ids.sellerTax || ids.representativeVAT
            case "G": ok = ids.sellerVAT || ids.representativeVAT
            case "K": ok = (ids.sellerVAT || ids.representativeVAT) && ids.buyerVAT
            default: ok = (ids.sellerTax || ids.representativeVAT) && (ids.buyerVAT || ids.buyerLegal)
            }
            let who = f.needsBuyerID ? "die Umsatzsteuer-Identifikationsnummer des Verkäufers (BT-31 oder BT-63) und eine Kennung des Käufers (BT-48 oder BT-47)" : "eine Umsatzsteuer-Identifikationsnummer oder Steuernummer des Verkäufers (BT-31, BT-32) oder seines Steuervertreters (BT-63)"
            if c.isUBL && f.code == "S" {
                // UBL BR-S-02 as bound: its condition asks for an S line under the VAT scheme, its
                // escape for no S line at all — an S line under another scheme fails it
                let sLines = c.named("ClassifiedTaxCategory").filter { $0.child("ID")?.normalizedText == "S" }
                let underVAT = sLines.contains { $0.children("TaxScheme").flatMap { $0.children("ID") }.contains { $0.normalizedText.uppercased() == "VAT" } }
                if !sLines.isEmpty && (!underVAT || !ok) { c.fail("BR-S-02", loc, de: "Positionen mit Umsatzsteuerkategorie \(f.name) verlangen \(who).") }
            } else if (ublCategories.map { $0.line.contains { $0.vat && $0.norm.contains(f.code) } } ?? !lines.isEmpty) && !ok {
                // (UBL as bound: any ClassifiedTaxCategory under the VAT scheme, sub-lines included)
                c.fail("\(f.prefix)-02", loc, de: "Positionen mit Umsatzsteuerkategorie \(f.name) verlangen \(who).") }
            if !allowances.isEmpty && !ok { c.fail("\(f.prefix)-03", loc, de: "Nachlässe mit Umsatzsteuerkategorie \(f.name) verlangen \(who).") }
            if !charges.isEmpty && !ok { c.fail("\(f.prefix)-04", loc, de: "Zuschläge mit Umsatzsteuerkategorie \(f.name) verlangen \(who).") }
            func rateBad(_ r: DecimalValue?) -> Bool {
                // as bound: a missing rate fails every rate rule (the comparison with nothing is false)
                guard let r else { return true }
                // IGIC (L): the CII artefact asks for a rate above 0, the UBL one for 0 or more
                switch c.isCII && f.code == "L" ? .positive : f.rate {
                case .zero: return r.value != 0
                case .positive: return r.value <= 0
                case .nonNegative: return r.value < 0
                }
            }
            func rateText(_ id: String) -> String {
                f.rate == .zero ? "In Position \(id) mit Kategorie \(f.name) muss der Steuersatz (BT-152) 0 sein."
                    : (f.rate == .positive ? "In Position \(id) mit Kategorie \(f.name) muss der Steuersatz (BT-152) größer als 0 sein." : "In Position \(id) mit Kategorie \(f.name) muss ein Steuersatz (BT-152) von 0 oder mehr angegeben sein.")
            }
            if c.isUBL {
                // UBL as bound: every ClassifiedTaxCategory of a line's item with this code under
                // the VAT scheme (a second category of one item too), its own rate
                for cat in c.named("ClassifiedTaxCategory") {
                    guard let item = cat.parent, item.name == "Item", let line = item.parent,
                          line.name == "InvoiceLine" || line.name == "CreditNoteLine",
                          cat.child("ID")?.normalizedText == f.code, VATSchemeRules.isVATScheme(cat) else { continue }
                    let rate = cat.child("Percent").flatMap { DecimalValue($0.text) }
                    if rateBad(rate) { c.fail("\(f.prefix)-05", line.xpath, de: rateText(line.child("ID")?.normalizedText ?? "")) }
                }
            } else {
                for l in lines where rateBad(l.vatRate) { c.fail("\(f.prefix)-05", l.location, de: rateText(l.id)) }
            }
            for a in allowances where rateBad(a.vatRate) {
                c.fail("\(f.prefix)-06", a.location, de: "Der Steuersatz des Nachlasses (BT-96) passt nicht zur Kategorie \(f.name).")
            }
            for a in charges where rateBad(a.vatRate) {
                c.fail("\(f.prefix)-07", a.location, de: "Der Steuersatz des Zuschlags (BT-103) passt nicht zur Kategorie \(f.name).")
            }
            // (only for a family with breakdowns: most invoices use one or two of the nine)
            let bound = breakdowns.isEmpty ? nil : boundBreakdowns(c, f.code)
            for b in breakdowns where bound?.contains(b.location) ?? true {
                // (a missing BT-116 is an empty sequence in the official test: the comparison is
                // false and -08 fires; -09 and -10 do not depend on it)
                let base = b.taxableAmount?.value
                // UBL L and M: `every $rate in xs:decimal(cbc:Percent) satisfies …` holds without a rate
                let vacuous = c.isUBL && (f.code == "L" || f.code == "M") && b.rate == nil
                let rate = b.rate?.value
                func sameRate(_ r: DecimalValue?) -> Bool { !f.perRate || (r?.value ?? -1) == (rate ?? -2) }
                let expected = sum(lines.filter { sameRate($0.vatRate) }.map(\.netAmount))
                    + sum(charges.filter { sameRate($0.vatRate) }.map(\.amount))
                    - sum(allowances.filter { sameRate($0.vatRate) }.map(\.amount))
                // EN 16931 1.3.15 as bound: UBL compares exactly for Z, E, AE, K, G (and O), and
                // allows less than one currency unit for L and M; CII allows less than one unit
                // (`BasisAmount - 1 < sum and BasisAmount + 1 > sum`: a deviation of exactly 1 fails).
                // The CII artefact binds BR-AF-08/BR-AG-08 to the tax element and reads the rate
                // from its parent (`../ram:RateApplicablePercent`), which is always empty: they
                // never fire there, and neither do we.
                let unreachable = (c.isCII && (f.code == "L" || f.code == "M")) || f.code == "S" || vacuous  // S: standardRateBase
                let exact = !c.isCII && f.code != "L" && f.code != "M"
                if !unreachable, base == nil {
                    c.fail("\(f.prefix)-08", b.location, de: "Die Bemessungsgrundlage (BT-116) der Kategorie \(f.name)\(rate.map { " zu \($0) %" } ?? "") fehlt; sie muss Summe der Positionen − Nachlässe + Zuschläge dieser Kategorie sein (\(c.givenExpected(nil, expected))).", en: c.givenExpectedEN(nil, expected))
                }
                if !unreachable, let base, exact ? base != expected : abs(base - expected) >= 1 {
                    c.fail("\(f.prefix)-08", b.location, de: "Die Bemessungsgrundlage (BT-116) der Kategorie \(f.name)\(rate.map { " zu \($0) %" } ?? "") muss Summe der Positionen − Nachlässe + Zuschläge dieser Kategorie sein: \(c.givenExpected(base, expected)).", en: c.givenExpectedEN(base, expected))
                }
                if f.rateMustBeZero, b.taxAmount?.value != 0 {
                    c.fail("\(f.prefix)-09", b.location, de: "Der Steuerbetrag (BT-117) der Kategorie \(f.name) muss 0 sein.")
                }
                // as bound in both syntaxes: the elements' presence counts, an empty one too
                let hasExemption = b.exemptionReason != nil || b.exemptionCode != nil
                if f.exemptionRequired == true && !hasExemption {
                    c.fail("\(f.prefix)-10", b.location, de: "Für die Kategorie \(f.name) muss ein Befreiungsgrund (BT-120) oder Befreiungsgrund-Code (BT-121) angegeben sein.")
                }
                if f.exemptionRequired == false && hasExemption {
                    c.fail("\(f.prefix)-10", b.location, de: "Für die Kategorie \(f.name) darf kein Befreiungsgrund (BT-120, BT-121) angegeben sein.")
                }
            }
        }
        notSubjectToVAT(c, oPresent: ublCategories.map { ublFamilyPresence($0, "O") } ?? ciiCategories.map { ciiFamilyPresence($0, "O") } ?? true,
                        ublOLines: ublCategories.map { $0.line.contains { $0.vat && $0.norm.contains("O") } }, ids: ids)
        // BR-IC-11/12: an intra-community supply needs the delivery date or period and the country.
        if inv.vatBreakdown.contains(where: { $0.category == "K" }) {
            if inv.delivery?.date == nil && inv.invoicingPeriod.map({ $0.start != nil || $0.end != nil }) != true {
                c.fail("BR-IC-11", loc, de: "Bei innergemeinschaftlicher Lieferung (K) muss das Lieferdatum (BT-72) oder der Abrechnungszeitraum (BG-14) angegeben sein.")
            }
            if inv.delivery?.address?.country.isBlank ?? true {
                c.fail("BR-IC-12", loc, de: "Bei innergemeinschaftlicher Lieferung (K) muss das Land der Lieferanschrift (BT-80) angegeben sein.")
            }
        }
        // BR-B: split payment (code B) only in domestic Italian invoices, never mixed with S —
        // as bound, over the whole document and with exact string compares:
        // UBL  (not(//cbc:IdentificationCode != 'IT') and (//cac:TaxCategory/cbc:ID = 'B' or
        //       //cac:ClassifiedTaxCategory/cbc:ID = 'B')) or not(…);
        //      BR-B-02 looks for B in the VAT breakdown, document allowances/charges and lines,
        //      for S only in document allowances/charges and lines (its `TaxSubtotal/cbc:ID` names nothing);
        // CII  (not(//ram:CountryID != 'IT') and //ram:CategoryCode = 'B') or not(…), and B with S anywhere.
        if c.isCII {
            let codes = c.named("CategoryCode").map(\.text)
            if codes.contains("B") {
                if c.named("CountryID").contains(where: { $0.text != "IT" }) {
                    c.fail("BR-B-01", loc, de: "Die Kategorie „Split payment“ (B) ist nur in inländischen italienischen Rechnungen zulässig.")
                }
                if codes.contains("S") {
                    c.fail("BR-B-02", loc, de: "Eine Rechnung mit „Split payment“ (B) darf keine Position, keinen Nachlass und keinen Zuschlag mit Normalsatz (S) enthalten.")
                }
            }
        } else {
            func ids<S: Sequence>(_ list: S) -> [String] where S.Element == XElement { list.flatMap { $0.children("ID") }.map(\.text) }
            let lineIDs = ids(c.named("ClassifiedTaxCategory"))
            if (ids(c.named("TaxCategory")) + lineIDs).contains("B"), c.named("IdentificationCode").contains(where: { $0.text != "IT" }) {
                c.fail("BR-B-01", loc, de: "Die Kategorie „Split payment“ (B) ist nur in inländischen italienischen Rechnungen zulässig.")
            }
            let documentCharges = ids(c.root.children("AllowanceCharge").flatMap { $0.children("TaxCategory") })
            let breakdown = ids(c.root.children("TaxTotal").flatMap { $0.children("TaxSubtotal") }.flatMap { $0.children("TaxCategory") })
            if (breakdown + documentCharges + lineIDs).contains("B"), (documentCharges + lineIDs).contains("S") {
                c.fail("BR-B-02", loc, de: "Eine Rechnung mit „Split payment“ (B) darf keine Position, keinen Nachlass und keinen Zuschlag mit Normalsatz (S) enthalten.")
            }
        }
    }

    /// BR-S-08 as bound. UBL, per VAT-scheme subtotal category S and each of its rates (none: the
    /// rule holds): some line or allowance/charge has category S at that rate, and the taxable
    /// amount is within one unit of the lines' net amounts + charges − allowances at that rate.
    /// CII, per header tax S and its rate: BasisAmount equals the sum of line totals, charges and
    /// allowances at that rate, each rounded to cents, exactly.
    static func standardRateBase(_ c: RuleContext) {
        let d = VATSchemeRules.decimal
        func hasS(_ cats: some Sequence<XElement>, _ child: String, rate: Decimal) -> Bool {
            cats.contains { $0.children(child).contains { XElement.normalizeSpace($0.text) == "S" } } && cats.contains { $0.children("Percent").contains { d($0) == rate } }
        }
        let fail = "Die Bemessungsgrundlage (BT-116) des Normalsatzes muss Summe der Positionen − Nachlässe + Zuschläge mit diesem Satz sein."
        if c.isUBL {
            let lines = c.root.children.filter { $0.name == "InvoiceLine" || $0.name == "CreditNoteLine" }
            let acs = c.root.children("AllowanceCharge")
            for st in c.root.children("TaxTotal").flatMap({ $0.children("TaxSubtotal") }) {
                for cat in st.children("TaxCategory") where VATSchemeRules.isVATScheme(cat) && cat.children("ID").contains(where: { XElement.normalizeSpace($0.text) == "S" }) {
                    for rate in cat.children("Percent").compactMap(d) {
                        let l = lines.filter { hasS($0.children("Item").flatMap { $0.children("ClassifiedTaxCategory") }, "ID", rate: rate) }
                        func indicator(_ ac: XElement) -> Bool? {
                            let v = ac.children("ChargeIndicator").map { XElement.normalizeSpace($0.text) }
                            if v.contains(where: { $0 == "true" || $0 == "1" }) { return true }
                            if v.contains(where: { $0 == "false" || $0 == "0" }) { return false }
                            return nil
                        }
                        let a = acs.filter { hasS($0.children("TaxCategory"), "ID", rate: rate) }
                        let anyUse = !l.isEmpty || c.named("AllowanceCharge").contains { hasS($0.children("TaxCategory"), "ID", rate: rate) }
                        let sum = total(l.compactMap { d($0.child("LineExtensionAmount")) })
                            + total(a.filter { indicator($0) == true }.compactMap { d($0.child("Amount")) })
                            - total(a.filter { indicator($0) == false }.compactMap { d($0.child("Amount")) })
                        let ok = anyUse && (d(st.child("TaxableAmount")).map { $0 - 1 < sum && $0 + 1 > sum } ?? false)
                        if !ok { c.fail("BR-S-08", st, de: fail) }
                    }
                }
            }
        } else {
            let lineSettlements = c.named("SpecifiedLineTradeSettlement")
            let acs = c.named("SpecifiedTradeAllowanceCharge").filter { $0.parent?.name == "ApplicableHeaderTradeSettlement" }
            for tax in c.named("ApplicableTradeTax") where tax.parent?.name == "ApplicableHeaderTradeSettlement" {
                for _ in tax.children("CategoryCode").filter({ $0.text == "S" }) {
                    for rate in tax.children("RateApplicablePercent").compactMap(d) {
                        func atRate(_ taxes: some Sequence<XElement>) -> Bool {
                            taxes.contains { $0.children("CategoryCode").contains { $0.text == "S" } } && taxes.contains { $0.children("RateApplicablePercent").contains { d($0) == rate } }
                        }
                        let lines = total(lineSettlements.filter { atRate($0.children("ApplicableTradeTax")) }
                            .flatMap { $0.children("SpecifiedTradeSettlementLineMonetarySummation") }.compactMap { d($0.child("LineTotalAmount")) })
                        func acSum(_ charge: Bool) -> Decimal {
                            total(acs.filter { ac in ac.children("ChargeIndicator").flatMap { $0.children("Indicator") }.contains { ["true", "1"].contains(XElement.normalizeSpace($0.text)) == charge }
                                && atRate(ac.children("CategoryTradeTax")) }.compactMap { d($0.child("ActualAmount")) })
                        }
                        let expected = round2(lines) + round2(acSum(true)) - round2(acSum(false))
                        if !tax.children("BasisAmount").contains(where: { d($0) == expected }) { c.fail("BR-S-08", tax, de: fail) }
                    }
                }
            }
        }
    }

    /// BR-S-09, BR-AF-09, BR-AG-09 as bound: |BT-117| within one unit of round(|BT-116| × rate / 100)
    /// to cents, with absolute values (a credit with negative amounts passes); a missing amount or
    /// rate fails. UBL: per VAT-scheme subtotal category S, L, M; CII: per header tax with category
    /// S (the CII artefact's L and M tests are `true()`).
    static func taxAmountRules(_ c: RuleContext) {
        func within(_ tax: Decimal?, _ base: Decimal?, _ rate: Decimal?) -> Bool {
            guard let tax, let base, let rate else { return false }
            let expected = round2(ExactDecimal.multiply(ExactDecimal.magnitude(base), percent(rate)))
            return withinOne(tax, of: expected, strict: true)
        }
        let d = VATSchemeRules.decimal
        if c.isUBL {
            for st in c.root.children("TaxTotal").flatMap({ $0.children("TaxSubtotal") }) {
                for cat in st.children("TaxCategory") where VATSchemeRules.isVATScheme(cat) {
                    for (code, prefix) in [("S", "BR-S"), ("L", "BR-AF"), ("M", "BR-AG")]
                    where cat.children("ID").contains(where: { XElement.normalizeSpace($0.text) == code }) {
                        if !within(d(st.child("TaxAmount")), d(st.child("TaxableAmount")), d(cat.child("Percent"))) {
                            c.fail("\(prefix)-09", st, de: "Der Steuerbetrag (BT-117) muss Bemessungsgrundlage (BT-116) × Steuersatz (BT-119) / 100 sein (auf eine Einheit genau).")
                        }
                    }
                }
            }
        } else {
            for tax in c.named("ApplicableTradeTax") where tax.parent?.name == "ApplicableHeaderTradeSettlement" && tax.children("CategoryCode").contains(where: { $0.text == "S" }) {
                if !within(d(tax.child("CalculatedAmount")), d(tax.child("BasisAmount")), d(tax.child("RateApplicablePercent"))) {
                    c.fail("BR-S-09", tax, de: "Der Steuerbetrag (BT-117) muss Bemessungsgrundlage (BT-116) × Steuersatz (BT-119) / 100 sein (auf eine Einheit genau).")
                }
            }
        }
    }

    /// The CII artefact's BR-x-01 tests, counting ApplicableTradeTax/CategoryTradeTax elements by their
    /// CategoryCode text (exactly, not trimmed): S, L, M — (line + header ≥ 2 or no line) and
    /// (document allowance/charge + header ≥ 2 or none); Z, E, AE, K, G — none anywhere, or exactly one
    /// in the header and at least one on a line or allowance/charge; O — no header one, or exactly one
    /// with at least one on a line or allowance/charge.
    static func ciiFamilyPresence(_ c: RuleContext, _ code: String) -> Bool {
        ciiFamilyPresence(CIICategories(c), code)
    }

    /// How many line, header and document-level tax elements carry each category code, counted
    /// once for the ten BR-x-01 tests (an element with the code twice counts once, as in XPath).
    struct CIICategories {
        var line: [String: Int] = [:], header: [String: Int] = [:], document: [String: Int] = [:]
        init(_ c: RuleContext) {
            for tax in c.named("ApplicableTradeTax") {
                let parent = tax.parent?.name
                guard parent == "SpecifiedLineTradeSettlement" || parent == "ApplicableHeaderTradeSettlement" else { continue }
                for code in Set(tax.children("CategoryCode").map(\.text)) {
                    if parent == "SpecifiedLineTradeSettlement" { line[code, default: 0] += 1 } else { header[code, default: 0] += 1 }
                }
            }
            for tax in c.named("CategoryTradeTax") {
                for code in Set(tax.children("CategoryCode").map(\.text)) { document[code, default: 0] += 1 }
            }
        }
    }

    static func ciiFamilyPresence(_ k: CIICategories, _ code: String) -> Bool {
        let line = k.line[code] ?? 0, header = k.header[code] ?? 0, doc = k.document[code] ?? 0
        switch code {
        case "S", "L", "M": return (line + header >= 2 || line == 0) && (doc + header >= 2 || doc == 0)
        case "O": return header == 0 || (header == 1 && (line > 0 || doc > 0))
        default: return (header == 0 && line == 0 && doc == 0) || (header == 1 && (line > 0 || doc > 0))
        }
    }

    /// The UBL artefact's BR-x-01 tests: S counts categories without looking at the tax scheme and
    /// asks for at least one breakdown; L and M count VAT-scheme categories (their breakdown count
    /// once compares the ID unnormalised, as written there); Z, E, AE, K, G and O ask for exactly one
    /// VAT-scheme breakdown whenever any VAT-scheme category (breakdowns included) has the code.
    static func ublFamilyPresence(_ c: RuleContext, _ code: String) -> Bool {
        ublFamilyPresence(UBLCategories(c), code)
    }

    /// Every tax category element of a UBL invoice, read once for the ten BR-x-01 tests.
    struct UBLCategories {
        struct Cat { let norm: [String]; let raw: [String]; let vat: Bool }
        let allowanceCharge: [Cat], line: [Cat], subtotal: [Cat], anyTaxCategory: [Cat]
        init(_ c: RuleContext) {
            func cat(_ e: XElement) -> Cat {
                let ids = e.children("ID")
                return Cat(norm: ids.map { XElement.normalizeSpace($0.text) }, raw: ids.map(\.text), vat: VATSchemeRules.isVATScheme(e))
            }
            allowanceCharge = c.named("AllowanceCharge").flatMap { $0.children("TaxCategory") }.map(cat)
            line = c.named("ClassifiedTaxCategory").map(cat)
            subtotal = c.root.children("TaxTotal").flatMap { $0.children("TaxSubtotal") }.flatMap { $0.children("TaxCategory") }.map(cat)
            anyTaxCategory = c.named("TaxCategory").map(cat)
        }
    }

    static func ublFamilyPresence(_ k: UBLCategories, _ code: String) -> Bool {
        func norm(_ x: UBLCategories.Cat) -> Bool { x.norm.contains(code) }
        func raw(_ x: UBLCategories.Cat) -> Bool { x.raw.contains(code) }
        switch code {
        case "S":
            let a = k.allowanceCharge.lazy.filter(norm).count + k.line.lazy.filter(norm).count
            let b = k.subtotal.lazy.filter(norm).count
            return (a > 0 && b > 0) || (a == 0 && b == 0)
        case "L", "M":
            let a = k.allowanceCharge.lazy.filter { norm($0) && $0.vat }.count + k.line.lazy.filter { norm($0) && $0.vat }.count
            let first = code == "L" ? k.subtotal.lazy.filter(raw).count : k.subtotal.lazy.filter { raw($0) && $0.vat }.count
            let second = k.subtotal.lazy.filter { norm($0) && $0.vat }.count
            return (a > 0 && first > 0) || (a == 0 && second == 0)
        default:
            let anyCat = k.anyTaxCategory.contains { $0.vat && norm($0) } || k.line.contains { $0.vat && norm($0) }
            let b = k.subtotal.lazy.filter { $0.vat && norm($0) }.count
            return (anyCat && b == 1) || !anyCat
        }
    }

    /// The xpaths of the VAT breakdowns the category's -08/-09/-10 rules see, as bound. CII: the
    /// category code exactly as written and, except for S and Z, a tax type VAT
    /// (`upper-case(TypeCode) = 'VAT'`: an empty or other type hides the breakdown; measured).
    /// UBL: subtotals whose TaxCategory has the code under the VAT scheme. (An array: there are a
    /// few, and a Set hashed every xpath twice.)
    static func boundBreakdowns(_ c: RuleContext, _ code: String) -> [String]? {
        guard c.isCII else {
            // UBL: the subtotals whose TaxCategory has this code and the VAT scheme
            // (`TaxCategory[normalize-space(cbc:ID) = '…'][cac:TaxScheme/…='VAT']`)
            var out: [String] = []
            for st in c.root.children("TaxTotal").flatMap({ $0.children("TaxSubtotal") })
            where st.children("TaxCategory").contains(where: { cat in cat.children("ID").contains { $0.normalizedText == code } && VATSchemeRules.isVATScheme(cat) }) {
                out.append(st.xpath)
            }
            return out
        }
        var out: [String] = []
        for tax in c.named("ApplicableTradeTax") where tax.parent?.name == "ApplicableHeaderTradeSettlement" {
            guard tax.children("CategoryCode").contains(where: { $0.text == code }) else { continue }
            if code != "S" && code != "Z" {
                let types = tax.children("TypeCode")
                guard types.count == 1, types.first?.text.uppercased() == "VAT" else { continue }
            }
            out.append(tax.xpath)
        }
        return out
    }

    /// BR-O: "Not subject to VAT" excludes VAT identifiers, rates and other categories.
    static func notSubjectToVAT(_ c: RuleContext, oPresent: Bool, ublOLines: Bool?, ids: TaxIdentifiers) {
        let inv = c.invoice
        let loc = c.root.xpath
        let lines = inv.lines.filter { $0.vatCategory == "O" }
        let allowances = inv.allowances.filter { $0.vatCategory == "O" }
        let charges = inv.charges.filter { $0.vatCategory == "O" }
        let breakdowns = inv.vatBreakdown.filter { $0.category == "O" }
        let anyVATID = !inv.seller.vatID.isBlank || !(inv.taxRepresentative?.vatID.isBlank ?? true) || !inv.buyer.vatID.isBlank
        if !oPresent {
            c.fail("BR-O-01", loc, de: "Positionen, Nachlässe oder Zuschläge „nicht steuerbar“ (O) brauchen genau eine Umsatzsteueraufschlüsselung mit Kategorie O.")
        }
        // BR-O-02 as bound: an O line (UBL: any ClassifiedTaxCategory O under the VAT scheme, also
        // in sub-lines) and a VAT identifier element of seller, tax representative or buyer
        if ublOLines ?? !lines.isEmpty, ids.sellerVAT || ids.representativeVAT || ids.buyerVAT { c.fail("BR-O-02", loc, de: "Eine Rechnung mit Positionen „nicht steuerbar“ (O) darf keine Umsatzsteuer-Identifikationsnummer von Verkäufer (BT-31), Steuervertreter (BT-63) oder Käufer (BT-48) enthalten.") }
        if !allowances.isEmpty && anyVATID { c.fail("BR-O-03", loc, de: "Eine Rechnung mit Nachlässen „nicht steuerbar“ (O) darf keine Umsatzsteuer-Identifikationsnummern enthalten.") }
        if !charges.isEmpty && anyVATID { c.fail("BR-O-04", loc, de: "Eine Rechnung mit Zuschlägen „nicht steuerbar“ (O) darf keine Umsatzsteuer-Identifikationsnummern enthalten.") }
        for l in lines where l.vatRate != nil { c.fail("BR-O-05", l.location, de: "Position \(l.id) „nicht steuerbar“ (O) darf keinen Steuersatz (BT-152) enthalten.") }
        for a in allowances where a.vatRate != nil { c.fail("BR-O-06", a.location, de: "Ein Nachlass „nicht steuerbar“ (O) darf keinen Steuersatz (BT-96) enthalten.") }
        for a in charges where a.vatRate != nil { c.fail("BR-O-07", a.location, de: "Ein Zuschlag „nicht steuerbar“ (O) darf keinen Steuersatz (BT-103) enthalten.") }
        // (UBL needs the bound breakdowns only for its O breakdowns; CII below as well)
        let bound = breakdowns.isEmpty && !c.isCII ? nil : boundBreakdowns(c, "O")
        for b in breakdowns where bound?.contains(b.location) ?? true {
            let expected = sum(lines.map(\.netAmount)) - sum(allowances.map(\.amount)) + sum(charges.map(\.amount))
            if b.taxableAmount == nil {
                // compared as an empty sequence: a breakdown O without BT-116 fails (measured)
                c.fail("BR-O-08", b.location, de: "Die Bemessungsgrundlage (BT-116) der Kategorie „nicht steuerbar“ fehlt; sie muss Summe der Positionen − Nachlässe + Zuschläge dieser Kategorie sein (\(c.givenExpected(nil, round2(expected)))).", en: c.givenExpectedEN(nil, round2(expected)))
            }
            if let base = b.taxableAmount?.value {
                if base != round2(expected) { c.fail("BR-O-08", b.location, de: "Die Bemessungsgrundlage (BT-116) der Kategorie „nicht steuerbar“ muss Summe der Positionen − Nachlässe + Zuschläge dieser Kategorie sein: \(c.givenExpected(base, round2(expected))).", en: c.givenExpectedEN(base, round2(expected))) }
            }
            if let t = b.taxAmount?.value, t != 0 { c.fail("BR-O-09", b.location, de: "Der Steuerbetrag (BT-117) der Kategorie „nicht steuerbar“ muss 0 sein.") }
            if b.exemptionReason == nil && b.exemptionCode == nil { c.fail("BR-O-10", b.location, de: "Für „nicht steuerbar“ (O) muss ein Befreiungsgrund (BT-120) oder dessen Code (BT-121) angegeben sein.") }
        }
        if c.isUBL {
            // UBL as bound: a breakdown category O under the VAT scheme, and categories under the
            // VAT scheme with another code (a missing code counts as another) — in the breakdown
            // (O-11), on any item anywhere (O-12), on any allowance (O-13) or charge (O-14),
            // those of lines and prices included
            func code(_ e: XElement) -> String { e.child("ID")?.normalizedText ?? "" }
            let categories = c.root.all("TaxTotal", "TaxSubtotal", "TaxCategory").filter(VATSchemeRules.isVATScheme)
            if categories.contains(where: { $0.children("ID").contains { $0.normalizedText == "O" } }) {
                if categories.contains(where: { code($0) != "O" }) { c.fail("BR-O-11", loc, de: "Eine Rechnung mit der Kategorie „nicht steuerbar“ (O) darf keine andere Umsatzsteuerkategorie in der Aufschlüsselung enthalten.") }
                if c.named("ClassifiedTaxCategory").contains(where: { code($0) != "O" && VATSchemeRules.isVATScheme($0) }) { c.fail("BR-O-12", loc, de: "Eine Rechnung mit der Kategorie „nicht steuerbar“ (O) darf keine Position mit anderer Umsatzsteuerkategorie enthalten.") }
                func other(charge: Bool) -> Bool {
                    c.named("AllowanceCharge").contains { ac in
                        // `cbc:ChargeIndicator = false()`: the text as xs:boolean
                        let v = ac.child("ChargeIndicator")?.normalizedText
                        let isCharge: Bool? = v == "true" || v == "1" ? true : (v == "false" || v == "0" ? false : nil)
                        return isCharge == charge && ac.children("TaxCategory").contains { code($0) != "O" && VATSchemeRules.isVATScheme($0) }
                    }
                }
                if other(charge: false) { c.fail("BR-O-13", loc, de: "Eine Rechnung mit der Kategorie „nicht steuerbar“ (O) darf keinen Nachlass mit anderer Umsatzsteuerkategorie enthalten.") }
                if other(charge: true) { c.fail("BR-O-14", loc, de: "Eine Rechnung mit der Kategorie „nicht steuerbar“ (O) darf keinen Zuschlag mit anderer Umsatzsteuerkategorie enthalten.") }
            }
        }
        // (CII: bound to the O breakdowns of tax type VAT, as the -08 rules above)
        if c.isCII, !(bound?.isEmpty ?? true) {
            let otherCategory = c.isCII
                ? c.named("ApplicableTradeTax").contains { $0.children("CategoryCode").contains { $0.text != "O" } }
                : inv.vatBreakdown.contains(where: { $0.category != "O" })
            if otherCategory { c.fail("BR-O-11", loc, de: "Eine Rechnung mit der Kategorie „nicht steuerbar“ (O) darf keine andere Umsatzsteuerkategorie in der Aufschlüsselung enthalten.") }
            // CII as bound: BR-O-12 looks at every ApplicableTradeTax (as BR-O-11 does), BR-O-13
            // and BR-O-14 both at every CategoryTradeTax (allowances and charges alike)
            let ciiAllowanceOther = c.isCII && c.named("CategoryTradeTax").contains { $0.children("CategoryCode").contains { $0.text != "O" } }
            if c.isCII ? otherCategory : inv.lines.contains(where: { $0.vatCategory != "O" }) { c.fail("BR-O-12", loc, de: "Eine Rechnung mit der Kategorie „nicht steuerbar“ (O) darf keine Position mit anderer Umsatzsteuerkategorie enthalten.") }
            if c.isCII ? ciiAllowanceOther : inv.allowances.contains(where: { $0.vatCategory != "O" }) { c.fail("BR-O-13", loc, de: "Eine Rechnung mit der Kategorie „nicht steuerbar“ (O) darf keinen Nachlass mit anderer Umsatzsteuerkategorie enthalten.") }
            if c.isCII ? ciiAllowanceOther : inv.charges.contains(where: { $0.vatCategory != "O" }) { c.fail("BR-O-14", loc, de: "Eine Rechnung mit der Kategorie „nicht steuerbar“ (O) darf keinen Zuschlag mit anderer Umsatzsteuerkategorie enthalten.") }
        }
    }
}

/// BR-DEC-*: amounts carry at most two decimals.
enum DecimalRules {
    static func run(_ c: RuleContext) {
        let inv = c.invoice
        // (the term names the line: built only for a finding, not for every amount checked)
        func check(_ v: DecimalValue?, _ rule: String, _ term: @autoclosure () -> String, _ loc: String) {
            if let v, v.fractionDigits > 2 { c.fail(rule, loc, de: "\(term()) „\(v.literal)“ hat mehr als zwei Nachkommastellen.") }
        }
        for a in inv.allowances {
            check(a.amount, "BR-DEC-01", "Der Betrag des Nachlasses (BT-92)", a.location)
            check(a.baseAmount, "BR-DEC-02", "Der Grundbetrag des Nachlasses (BT-93)", a.location)
        }
        for a in inv.charges {
            check(a.amount, "BR-DEC-05", "Der Betrag des Zuschlags (BT-99)", a.location)
            check(a.baseAmount, "BR-DEC-06", "Der Grundbetrag des Zuschlags (BT-100)", a.location)
        }
        let t = inv.totals
        let loc = c.root.xpath
        check(t.lineNetSum, "BR-DEC-09", "Die Summe der Positionen (BT-106)", loc)
        check(t.allowanceSum, "BR-DEC-10", "Die Summe der Nachlässe (BT-107)", loc)
        check(t.chargeSum, "BR-DEC-11", "Die Summe der Zuschläge (BT-108)", loc)
        check(t.withoutVAT, "BR-DEC-12", "Der Gesamtbetrag ohne Umsatzsteuer (BT-109)", loc)
        // BR-DEC-13/15: in UBL the artefact's predicate compares @currencyID with a child of the
        // amount (always empty), so the rules never fire there; in CII they compare values: some
        // VAT total in that currency must equal itself rounded to cents.
        if c.isCII {
            let settlement = c.root.children("SupplyChainTradeTransaction").flatMap { $0.children("ApplicableHeaderTradeSettlement") }
            let docCodes = settlement.flatMap { $0.children("InvoiceCurrencyCode") }.map(\.text)
            let taxCodes = settlement.flatMap { $0.children("TaxCurrencyCode") }.map(\.text)
            for m in c.named("SpecifiedTradeSettlementHeaderMonetarySummation") {
                let amounts = m.children("TaxTotalAmount")
                guard !amounts.isEmpty else { continue }
                func exact(_ e: XElement) -> Bool { VATSchemeRules.decimal(e).map { round2($0) == $0 } ?? false }
                func inList(_ e: XElement, _ codes: [String]) -> Bool { e.attribute("currencyID").map { codes.contains($0) } ?? false }
                if !amounts.contains(where: { (inList($0, docCodes) && exact($0)) || !inList($0, docCodes) }) {
                    c.fail("BR-DEC-13", m, de: "Die Umsatzsteuer (BT-110) darf höchstens zwei Nachkommastellen haben.")
                }
                if !taxCodes.isEmpty, !amounts.contains(where: { inList($0, taxCodes) && exact($0) }) {
                    c.fail("BR-DEC-15", m, de: "Die Umsatzsteuer in Steuerwährung (BT-111) muss angegeben sein und darf höchstens zwei Nachkommastellen haben.")
                }
            }
        }
        check(t.withVAT, "BR-DEC-14", "Der Gesamtbetrag mit Umsatzsteuer (BT-112)", loc)
        check(t.paid, "BR-DEC-16", "Der gezahlte Betrag (BT-113)", loc)
        check(t.rounding, "BR-DEC-17", "Der Rundungsbetrag (BT-114)", loc)
        check(t.due, "BR-DEC-18", "Der fällige Betrag (BT-115)", loc)
        let shadowed = c.shadowedBreakdowns
        for b in inv.vatBreakdown where !shadowed.contains(b.location) {
            check(b.taxableAmount, "BR-DEC-19", "Die Bemessungsgrundlage (BT-116)", b.location)
            check(b.taxAmount, "BR-DEC-20", "Der Steuerbetrag (BT-117)", b.location)
        }
        for l in inv.lines {
            check(l.netAmount, "BR-DEC-23", "Der Nettobetrag der Position \(l.id) (BT-131)", l.location)
            for a in l.allowances {
                check(a.amount, "BR-DEC-24", "Der Nachlass in Position \(l.id) (BT-136)", a.location)
                check(a.baseAmount, "BR-DEC-25", "Der Grundbetrag des Nachlasses in Position \(l.id) (BT-137)", a.location)
            }
            for a in l.charges {
                check(a.amount, "BR-DEC-27", "Der Zuschlag in Position \(l.id) (BT-141)", a.location)
                check(a.baseAmount, "BR-DEC-28", "Der Grundbetrag des Zuschlags in Position \(l.id) (BT-142)", a.location)
            }
        }
    }
}

/// Which tax identifiers the BR-x-02/03/04 rules see, as bound: by the elements' presence (an
/// empty one counts), with the scheme attribute (CII) or the tax scheme (UBL) they demand.
/// CII: seller tax = a SpecifiedTaxRegistration/ID with schemeID VA or FC, VAT = VA only.
/// UBL: seller tax = any PartyTaxScheme/CompanyID of the seller, VAT = one under the VAT scheme.
struct TaxIdentifiers {
    var sellerTax = false, sellerVAT = false, representativeVAT = false, buyerVAT = false, buyerLegal = false

    init(_ c: RuleContext) {
        if c.isCII {
            func registrations(_ party: String, _ schemes: Set<String>) -> Bool {
                c.named(party).flatMap { $0.children("SpecifiedTaxRegistration") }.flatMap { $0.children("ID") }
                    .contains { schemes.contains($0.attribute("schemeID") ?? "") }
            }
            sellerTax = registrations("SellerTradeParty", ["VA", "FC"])
            sellerVAT = registrations("SellerTradeParty", ["VA"])
            representativeVAT = registrations("SellerTaxRepresentativeTradeParty", ["VA"])
            buyerVAT = registrations("BuyerTradeParty", ["VA"])
            buyerLegal = !c.named("BuyerTradeParty").flatMap { $0.children("SpecifiedLegalOrganization") }.flatMap { $0.children("ID") }.isEmpty
        } else {
            func parties(_ role: String) -> [XElement] { c.named(role).flatMap { $0.children("Party") } }
            func companyIDs(_ schemes: some Sequence<XElement>, vatOnly: Bool) -> Bool {
                schemes.contains { pts in
                    pts.child("CompanyID") != nil && (!vatOnly || pts.children("TaxScheme").flatMap { $0.children("ID") }.contains { $0.normalizedText.uppercased() == "VAT" })
                }
            }
            let seller = parties("AccountingSupplierParty").flatMap { $0.children("PartyTaxScheme") }
            sellerTax = companyIDs(seller, vatOnly: false)
            sellerVAT = companyIDs(seller, vatOnly: true)
            representativeVAT = companyIDs(c.named("TaxRepresentativeParty").flatMap { $0.children("PartyTaxScheme") }, vatOnly: true)
            let buyer = parties("AccountingCustomerParty")
            buyerVAT = companyIDs(buyer.flatMap { $0.children("PartyTaxScheme") }, vatOnly: true)
            buyerLegal = !buyer.flatMap { $0.children("PartyLegalEntity") }.flatMap { $0.children("CompanyID") }.isEmpty
        }
    }
}
