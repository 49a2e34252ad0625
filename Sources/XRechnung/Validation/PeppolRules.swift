import Foundation

/// The Peppol BIS rules that XRechnung 2.5.0 merges into its rule set.
enum Peppol {
    /// Peppol compares computed amounts with a slack of 0.02.
    static let slack = Decimal(string: "0.02")!
    /// Currencies Peppol treats as having no minor unit get a slack of half a unit.
    static let wholeUnitCurrencies: Set<String> = ["HUF", "JPY", "KRW", "ISK", "CLP", "PYG", "VND", "XAF", "XOF", "UGX", "RWF", "BIF", "DJF", "GNF", "KMF", "VUV", "XPF"]

    static func run(_ c: RuleContext) {
        let inv = c.invoice
        let r = c.root
        let slack = wholeUnitCurrencies.contains(inv.currency ?? "") ? Decimal(string: "0.5")! : Peppol.slack
        // R001 asks for the element (an empty one is R008's business)
        let hasProcess = c.isUBL ? !r.children("ProfileID").isEmpty
            : r.children("ExchangedDocumentContext").contains { !$0.children("BusinessProcessSpecifiedDocumentContextParameter").flatMap { $0.children("ID") }.isEmpty }
        if !hasProcess { c.fail("PEPPOL-EN16931-R001", r, de: "Die Prozesskennung (BT-23) fehlt, z. B. „urn:fdc:peppol.eu:2017:poacc:billing:01:1.0“.") }
        if let t = inv.taxCurrency, t == inv.currency { c.fail("PEPPOL-EN16931-R005", r, de: "Die Steuerwährung (BT-6) darf nur angegeben werden, wenn sie von der Rechnungswährung (BT-5) abweicht.") }
        if let e = c.firstEmptyLeaf { c.fail("PEPPOL-EN16931-R008", e, de: "Die Rechnung enthält leere Elemente (z. B. \(e.xpath)); leere Elemente bitte weglassen.") }
        // R010/R020 on each party element (no party, no finding): the address element must exist.
        let buyers = c.isUBL ? r.children("AccountingCustomerParty").flatMap { $0.children("Party") } : Array(c.named("BuyerTradeParty"))
        let sellers = c.isUBL ? r.children("AccountingSupplierParty").flatMap { $0.children("Party") } : Array(c.named("SellerTradeParty"))
        func hasAddress(_ p: XElement) -> Bool {
            c.isUBL ? !p.children("EndpointID").isEmpty : p.children("URIUniversalCommunication").contains { !$0.children("URIID").isEmpty }
        }
        for p in buyers where !hasAddress(p) { c.fail("PEPPOL-EN16931-R010", p, de: "Die elektronische Adresse des Käufers (BT-49) fehlt.") }
        for p in sellers where !hasAddress(p) { c.fail("PEPPOL-EN16931-R020", p, de: "Die elektronische Adresse des Verkäufers (BT-34) fehlt.") }
        for a in inv.allowances + inv.charges + inv.lines.flatMap({ $0.allowances + $0.charges }) {
            if let base = a.baseAmount?.value, let pct = a.percentage?.value, let amount = a.amount?.value, ExactDecimal.differ(amount, percent(ExactDecimal.multiply(base, pct)), byMoreThan: slack) {
                c.fail("PEPPOL-EN16931-R040", a.location, de: "Der Betrag des Nachlasses/Zuschlags muss Grundbetrag × Prozentsatz / 100 sein: \(c.givenExpected(amount, round2(percent(base * pct)))).", en: c.givenExpectedEN(amount, round2(percent(base * pct))))
            }
            if a.percentage != nil, a.baseAmount == nil { c.fail("PEPPOL-EN16931-R041", a.location, de: "Zum Prozentsatz eines Nachlasses/Zuschlags muss der Grundbetrag angegeben sein.") }
            if a.baseAmount != nil, a.percentage == nil { c.fail("PEPPOL-EN16931-R042", a.location, de: "Zum Grundbetrag eines Nachlasses/Zuschlags muss der Prozentsatz angegeben sein.") }
        }
        // R046 and R130 are bound to every price: of the lines, and (UBL) of the sub-lines of the
        // XRechnung extension
        func priceRules(_ l: InvoiceLine, _ what: String) {
            // UBL binds R046 to each price allowance (below); CII to the gross price, and a
            // missing net price compares as an empty sequence: the rule fails
            if !c.isUBL, let gross = l.grossPrice?.value {
                let discount = l.priceDiscount?.value ?? 0
                guard let net = l.netPrice?.value else {
                    c.fail("PEPPOL-EN16931-R046", l.location, de: "In \(what) \(l.id) ist ein Bruttopreis (BT-148) angegeben, aber kein Nettopreis (BT-146); der Nettopreis muss Bruttopreis − Rabatt sein.")
                    return
                }
                if net != gross - discount { c.fail("PEPPOL-EN16931-R046", l.location, de: "In \(what) \(l.id) muss der Nettopreis (BT-146) Bruttopreis (BT-148) − Rabatt (BT-147) sein: \(c.givenExpected(net, gross - discount)).", en: c.givenExpectedEN(net, gross - discount)) }
            }
            if c.isUBL, let bu = l.baseQuantityUnit, let u = l.unitCode, bu != u { c.fail("PEPPOL-EN16931-R130", l.location, de: "Die Einheit der Basismenge (BT-150) in \(what) \(l.id) muss die Einheit der Menge (BT-130) sein.") }
        }
        // every sub-line at any depth, each before its own sub-lines (no flattened copies: an
        // array per level copied every line below it again)
        func below(_ l: InvoiceLine) {
            for s in l.subLines {
                priceRules(s, "Unterposition")
                below(s)
            }
        }
        for l in inv.lines { below(l) }
        for l in inv.lines {
            priceRules(l, "Position")
            if let b = l.baseQuantity?.value, b <= 0 { c.fail("PEPPOL-EN16931-R121", l.location, de: "Die Basismenge des Preises in Position \(l.id) (BT-149) muss größer als 0 sein.") }
            if c.isUBL, let p = l.period, let ip = inv.invoicingPeriod {
                if let s = p.start, let is_ = ip.start, s < is_ { c.fail("PEPPOL-EN16931-R110", l.location, de: "Der Beginn des Leistungszeitraums der Position \(l.id) liegt vor dem Abrechnungszeitraum.") }
                if let e = p.end, let ie = ip.end, e > ie { c.fail("PEPPOL-EN16931-R111", l.location, de: "Das Ende des Leistungszeitraums der Position \(l.id) liegt nach dem Abrechnungszeitraum.") }
            }
        }
        // CII R110/R111 as bound: the date strings compared as strings (both sides untyped), as
        // written — a trailing space makes "20161231 " later than "20161231"
        if c.isCII {
            let header = c.named("ApplicableHeaderTradeSettlement").flatMap { $0.children("BillingSpecifiedPeriod") }
            func strings(_ periods: some Sequence<XElement>, _ name: String) -> [String] {
                periods.flatMap { $0.children(name) }.flatMap { $0.children("DateTimeString") }.map(\.text)
            }
            let headerStarts = strings(header, "StartDateTime"), headerEnds = strings(header, "EndDateTime")
            for settlement in c.named("SpecifiedLineTradeSettlement") {
                let periods = settlement.children("BillingSpecifiedPeriod")
                if !header.flatMap({ $0.children("StartDateTime") }).isEmpty {
                    for start in periods.flatMap({ $0.children("StartDateTime") })
                    where !start.children("DateTimeString").map(\.text).contains(where: { s in headerStarts.contains { s >= $0 } }) {
                        c.fail("PEPPOL-EN16931-R110", start, de: "Der Beginn des Leistungszeitraums einer Position liegt vor dem Abrechnungszeitraum.")
                    }
                }
                if !header.flatMap({ $0.children("EndDateTime") }).isEmpty {
                    for end in periods.flatMap({ $0.children("EndDateTime") })
                    where !end.children("DateTimeString").map(\.text).contains(where: { e in headerEnds.contains { e <= $0 } }) {
                        c.fail("PEPPOL-EN16931-R111", end, de: "Das Ende des Leistungszeitraums einer Position liegt nach dem Abrechnungszeitraum.")
                    }
                }
            }
        }
        // CII R130 as bound: every base quantity with a unit (net or gross price) names the unit of
        // the billed quantity — a line without one fails
        if c.isCII {
            for line in c.named("IncludedSupplyChainTradeLineItem") {
                let billed = line.children("SpecifiedLineTradeDelivery").flatMap { $0.children("BilledQuantity") }.compactMap { $0.attribute("unitCode") }
                let prices = line.children("SpecifiedLineTradeAgreement").flatMap { Array($0.children("NetPriceProductTradePrice")) + Array($0.children("GrossPriceProductTradePrice")) }
                for bq in prices.flatMap({ $0.children("BasisQuantity") }) {
                    if let u = bq.attribute("unitCode"), !billed.contains(u) {
                        c.fail("PEPPOL-EN16931-R130", bq, de: "Die Einheit der Basismenge (BT-150) muss die Einheit der Menge (BT-130) sein.")
                    }
                }
            }
        }
        if c.isUBL {
            let totals = r.children("TaxTotal")
            if totals.filter({ !$0.children("TaxSubtotal").isEmpty }).count != 1 { c.fail("PEPPOL-EN16931-R053", r, de: "Es muss genau ein TaxTotal mit Steueraufschlüsselung (TaxSubtotal) geben.") }
            let without = totals.filter { $0.children("TaxSubtotal").isEmpty }.count
            if without != (r.children("TaxCurrencyCode").isEmpty ? 0 : 1) {
                c.fail("PEPPOL-EN16931-R054", r, de: "Ein TaxTotal ohne Aufschlüsselung ist nur für die Umsatzsteuer in Steuerwährung (BT-111) erlaubt, und dann genau einmal.")
            }
            // Price level: only allowances (ChargeIndicator false), at most one (two make the official XPath fail).
            let lineName = c.scenario.syntax == .ublCreditNote ? "CreditNoteLine" : "InvoiceLine"
            // (the rules' context is every `cac:Price`, also in the sub-lines of the XRechnung extension)
            for price in c.named("Price") {
                let line = price.parent ?? price
                let acs = price.children("AllowanceCharge")
                // as bound: normalize-space(cbc:ChargeIndicator) = 'false' — anything else, also a missing one, fails
                if acs.contains(where: { ($0.child("ChargeIndicator")?.normalizedText ?? "") != "false" }) {
                    c.fail("PEPPOL-EN16931-R044", line, de: "Zuschläge auf Preisebene sind nicht erlaubt; nur Rabatte (ChargeIndicator false).")
                }
                // R046 per price allowance with a base amount: net = base − amount (each on its own,
                // so two equal allowances both hold — measured)
                for ac in acs where ac.child("BaseAmount") != nil {
                    let net = VATSchemeRules.decimal(price.child("PriceAmount"))
                    let base = VATSchemeRules.decimal(ac.child("BaseAmount")), amount = VATSchemeRules.decimal(ac.child("Amount"))
                    guard let net, let base, let amount else {
                        c.fail("PEPPOL-EN16931-R046", line, de: "In Position \(line.child("ID")?.normalizedText ?? "") fehlt zum Preisrabatt der Betrag oder der Nettopreis; der Nettopreis (BT-146) muss Bruttopreis (BT-148) − Rabatt (BT-147) sein.")
                        continue
                    }
                    if net != base - amount {
                        c.fail("PEPPOL-EN16931-R046", line, de: "In Position \(line.child("ID")?.normalizedText ?? "") muss der Nettopreis (BT-146) Bruttopreis (BT-148) − Rabatt (BT-147) sein: \(c.givenExpected(net, base - amount)).", en: c.givenExpectedEN(net, base - amount))
                    }
                }
            }
            for ac in r.all("AllowanceCharge") + r.children(lineName).flatMap({ $0.children("AllowanceCharge") }) {
                // R041/R042 take an allowance/charge with only a percentage or only a base amount
                // as their context first; Schematron then skips the later R040/R043 rule for it
                let percent = ac.child("MultiplierFactorNumeric") != nil, base = ac.child("BaseAmount") != nil
                if percent != base { continue }
                let v = ac.child("ChargeIndicator")?.normalizedText ?? ""
                if v != "true" && v != "false" { c.fail("PEPPOL-EN16931-R043", ac, de: "ChargeIndicator muss „true“ oder „false“ sein.") }
            }
        }
        if c.isCII {
            // R043 is split in the CII artefact: -1 for document and line level, -2 for price level.
            for (rule, name) in [("PEPPOL-EN16931-R043-1", "SpecifiedTradeAllowanceCharge"), ("PEPPOL-EN16931-R043-2", "AppliedTradeAllowanceCharge")] {
                for ac in c.named(name) {
                    // (as in UBL: an allowance/charge matched by R041/R042 is not seen by R043-1)
                    if name == "SpecifiedTradeAllowanceCharge", (ac.child("CalculationPercent") != nil) != (ac.child("BasisAmount") != nil) { continue }
                    let v = XElement.normalizeSpace(ac.first("ChargeIndicator", "Indicator")?.text ?? "")
                    if v != "true" && v != "false" { c.fail(rule, ac, de: "Das Kennzeichen Zuschlag/Nachlass (ChargeIndicator) muss „true“ oder „false“ sein, nicht „\(v)“.") }
                }
            }
        }
        // R120 as bound, on the elements: a missing amount counts as 0, a missing quantity or base
        // quantity (or one of 0) as 1, the line's allowances and charges by their indicator written
        // 'false'/'true', summed and rounded to cents; the unrounded result within the slack
        let lineElements = c.isCII ? (r.first("SupplyChainTradeTransaction")?.children("IncludedSupplyChainTradeLineItem") ?? .empty)
            : r.children(c.scenario.syntax == .ublCreditNote ? "CreditNoteLine" : "InvoiceLine")
        for line in lineElements {
            // nil: an element that is there but no decimal (the official rules stop with a runtime error)
            func value(_ e: XElement?, _ fallback: Decimal) -> Decimal? { e.map { VATSchemeRules.decimal($0) } ?? fallback }
            let settlement = line.child("SpecifiedLineTradeSettlement"), agreement = line.child("SpecifiedLineTradeAgreement")
            let extElement = c.isCII ? settlement?.child("SpecifiedTradeSettlementLineMonetarySummation")?.child("LineTotalAmount") : line.child("LineExtensionAmount")
            let qtyElement = c.isCII ? line.child("SpecifiedLineTradeDelivery")?.child("BilledQuantity")
                : line.child(c.scenario.syntax == .ublCreditNote ? "CreditedQuantity" : "InvoicedQuantity")
            let priceElement = c.isCII ? agreement?.child("NetPriceProductTradePrice")?.child("ChargeAmount") : line.child("Price")?.child("PriceAmount")
            let baseElements = c.isCII ? [agreement?.child("NetPriceProductTradePrice")?.child("BasisQuantity"), agreement?.child("GrossPriceProductTradePrice")?.child("BasisQuantity")]
                : [line.child("Price")?.child("BaseQuantity")]
            guard let ext = value(extElement, 0), let qty = value(qtyElement, 1), let price = value(priceElement, 0) else { continue }
            var base: Decimal = 1
            var broken = false
            for e in baseElements.compactMap({ $0 }) {
                guard let b = VATSchemeRules.decimal(e) else { broken = true; break }
                if b != 0 { base = b; break }
            }
            let acs = c.isCII ? (settlement?.children("SpecifiedTradeAllowanceCharge") ?? .empty) : line.children("AllowanceCharge")
            func total(_ indicator: String) -> Decimal? {
                var sum: Decimal = 0
                for ac in acs {
                    let i = c.isCII ? ac.child("ChargeIndicator")?.child("Indicator") : ac.child("ChargeIndicator")
                    guard XElement.normalizeSpace(i?.text ?? "") == indicator else { continue }
                    for a in ac.children(c.isCII ? "ActualAmount" : "Amount") {
                        guard let v = VATSchemeRules.decimal(a) else { return nil }
                        sum = ExactDecimal.add(sum, v)
                    }
                }
                return round2(sum)
            }
            guard !broken, let allowances = total("false"), let charges = total("true") else { continue }
            // (dividing by 1 is the common case and Foundation's Decimal division a long division)
            // (no-op additions of zero skipped, and |ext − expected| ≤ slack tested with one
            // subtraction: ext + slack ≥ expected and ext − slack ≤ expected, exact in Decimal —
            // Foundation normalises on every addition, a cost per line)
            var expected = ExactDecimal.multiply(qty, base == 1 ? price : price / base)
            if !charges.isZero { expected = ExactDecimal.add(expected, charges) }
            if !allowances.isZero { expected = ExactDecimal.subtract(expected, allowances) }
            if ExactDecimal.differ(ext, expected, byMoreThan: slack) {
                let id = c.isCII ? line.child("AssociatedDocumentLineDocument")?.child("LineID")?.normalizedText : line.child("ID")?.normalizedText
                c.fail("PEPPOL-EN16931-R120", line, de: "Der Nettobetrag der Position \(id ?? "") (BT-131) soll Menge × (Nettopreis / Basismenge) + Zuschläge − Nachlässe sein: \(c.givenExpected(ext, round2(expected))).", en: c.givenExpectedEN(ext, round2(expected)))
            }
        }
        // R101: a document reference on a line may only be the invoiced object (type 130).
        let lines = c.isCII ? (r.first("SupplyChainTradeTransaction")?.children("IncludedSupplyChainTradeLineItem") ?? .empty)
            : r.children(c.scenario.syntax == .ublCreditNote ? "CreditNoteLine" : "InvoiceLine")
        for line in lines {
            let refs = c.isCII ? (line.child("SpecifiedLineTradeSettlement")?.children("AdditionalReferencedDocument") ?? .empty) : line.children("DocumentReference")
            if !refs.isEmpty, !refs.contains(where: { $0.child(c.isCII ? "TypeCode" : "DocumentTypeCode")?.text == "130" }) {
                c.fail("PEPPOL-EN16931-R101", line, de: "Ein Dokumentverweis in einer Position ist nur als Objektkennung (Typ 130, BT-128) erlaubt.")
            }
        }
        if c.isCII, let settlement = r.first("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement") {
            // As the artefact: $documentCurrencyCode / $taxCurrencyCode are the raw element texts,
            // compared as XPath general comparisons (any pair), amounts as numbers.
            let docCodes = settlement.children("InvoiceCurrencyCode").map(\.text)
            let taxCodes = settlement.children("TaxCurrencyCode").map(\.text)
            let amounts = settlement.children("SpecifiedTradeSettlementHeaderMonetarySummation").flatMap { $0.children("TaxTotalAmount") }
            func cid(_ e: XElement) -> String? { e.attribute("currencyID") }
            let inDoc = amounts.filter { a in cid(a).map { id in docCodes.contains(id) } ?? false }
            let notDoc = amounts.filter { a in cid(a).map { id in docCodes.contains { $0 != id } } ?? false }
            let inTax = amounts.filter { a in cid(a).map { id in taxCodes.contains(id) } ?? false }
            let m = settlement.child("SpecifiedTradeSettlementHeaderMonetarySummation") ?? settlement
            if inDoc.count > 1 {
                c.fail("PEPPOL-EN16931-R053", m, de: "Der Umsatzsteuergesamtbetrag in Rechnungswährung (BT-110) darf nur einmal angegeben sein.")
            }
            if notDoc.count != (taxCodes.isEmpty ? 0 : 1) {
                c.fail("PEPPOL-EN16931-R054", m, de: taxCodes.isEmpty
                       ? "Ohne Steuerwährung (BT-6) darf der Umsatzsteuergesamtbetrag nur in Rechnungswährung angegeben sein."
                       : "Bei Angabe einer Steuerwährung (BT-6) muss die Umsatzsteuer in dieser Währung (BT-111) genau einmal angegeben sein.")
            }
            if !taxCodes.isEmpty, !inDoc.isEmpty {
                let t = inTax.map { Double(XElement.normalizeSpace($0.text)) ?? .nan }
                let d = inDoc.map { Double(XElement.normalizeSpace($0.text)) ?? .nan }
                let sameSign = (t.contains { $0 < 0 } && d.contains { $0 < 0 }) || (t.contains { $0 >= 0 } && d.contains { $0 >= 0 })
                if !sameSign { c.fail("PEPPOL-EN16931-R055", r, de: "Umsatzsteuer in Rechnungswährung (BT-110) und in Steuerwährung (BT-111) müssen dasselbe Vorzeichen haben.") }
            }
        }
        if c.isUBL {
            // not(TaxCurrencyCode) or (TaxAmount[tax] <= 0 and TaxAmount[doc] <= 0) or (… >= 0 and … >= 0)
            let taxCodes = r.children("TaxCurrencyCode").map { XElement.normalizeSpace($0.text) }
            let docCodes = r.children("DocumentCurrencyCode").map { XElement.normalizeSpace($0.text) }
            if !taxCodes.isEmpty {
                let amounts = r.children("TaxTotal").flatMap { $0.children("TaxAmount") }
                func values(_ codes: [String]) -> [Double] {
                    amounts.filter { a in a.attribute("currencyID").map { codes.contains($0) } ?? false }.map { Double(XElement.normalizeSpace($0.text)) ?? .nan }
                }
                let t = values(taxCodes), d = values(docCodes)
                let sameSign = (t.contains { $0 <= 0 } && d.contains { $0 <= 0 }) || (t.contains { $0 >= 0 } && d.contains { $0 >= 0 })
                if !sameSign { c.fail("PEPPOL-EN16931-R055", r, de: "Umsatzsteuer in Rechnungswährung (BT-110) und in Steuerwährung (BT-111) müssen dasselbe Vorzeichen haben.") }
            }
        }
        // R061: payment means 49 or 59 (direct debit) need a mandate reference element (BT-89).
        if c.isUBL {
            for pm in c.named("PaymentMeans") where pm.children("PaymentMeansCode").contains(where: { ["49", "59"].contains(XElement.normalizeSpace($0.text)) })
                && !pm.children("PaymentMandate").contains(where: { !$0.children("ID").isEmpty }) {
                c.fail("PEPPOL-EN16931-R061", pm, de: "Bei Lastschrift (Code 49 oder 59) muss die Mandatsreferenz (BT-89) angegeben sein.")
            }
        } else {
            for pm in c.named("SpecifiedTradeSettlementPaymentMeans") where pm.children("TypeCode").contains(where: { ["49", "59"].contains(XElement.normalizeSpace($0.text)) }) {
                let terms = pm.parent?.children("SpecifiedTradePaymentTerms") ?? .empty
                if !terms.contains(where: { !$0.children("DirectDebitMandateID").isEmpty }) {
                    c.fail("PEPPOL-EN16931-R061", pm, de: "Bei Lastschrift (Code 49 oder 59) muss die Mandatsreferenz (BT-89) angegeben sein.")
                }
            }
        }
    }
}
