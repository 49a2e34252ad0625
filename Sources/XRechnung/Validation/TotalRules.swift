import Foundation

// The document totals (BR-CO-10 … BR-CO-16), split from Rules.swift: they are bound to
// the monetary summation elements, not to the lines or the VAT breakdown.

enum TotalRules {
    static func run(_ c: RuleContext) {
        let inv = c.invoice
        let t = inv.totals
        let loc = c.isUBL ? "\(c.root.xpath)/cac:LegalMonetaryTotal" : "\(c.root.xpath)/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
        if c.isUBL, let m = c.root.child("LegalMonetaryTotal"), m.child("LineExtensionAmount") == nil {
            // bound to LegalMonetaryTotal: a missing BT-106 compares as empty and fails
            c.fail("BR-CO-10", loc, de: "Die Summe der Nettobeträge der Positionen (BT-106) fehlt; sie muss die Summe der Positionsbeträge sein.")
        }
        if c.isCII {
            // bound to each monetary summation: a missing BT-106 compares as empty and fails
            for m in c.named("SpecifiedTradeSettlementHeaderMonetarySummation") where m.children("LineTotalAmount").isEmpty {
                c.fail("BR-CO-10", m, de: "Die Summe der Nettobeträge der Positionen (BT-106) fehlt; sie muss die Summe der Positionsbeträge sein.")
            }
        }
        if let v = t.lineNetSum?.value, v != round2(sum(inv.lines.map(\.netAmount))) {
            c.fail("BR-CO-10", loc, de: "Die Summe der Nettobeträge der Positionen (BT-106) stimmt nicht mit der Summe der Positionsbeträge überein: \(c.givenExpected(v, round2(sum(inv.lines.map(\.netAmount))))).", en: c.givenExpectedEN(v, round2(sum(inv.lines.map(\.netAmount)))))
        }
        // BR-CO-11/12 as bound: the total must equal the rounded sum, and may only be left out
        // when there is no allowance (charge) on document level — also one of 0 needs its total
        let summation = c.monetarySummations
        func absent(_ name: String) -> Bool { !summation.isEmpty && summation.allSatisfy { $0.children(name).isEmpty } }
        // CII counts only allowances/charges whose indicator is false()/true() as xs:boolean: one
        // without an indicator is neither (measured)
        func ciiAmounts(charge: Bool) -> [DecimalValue?] {
            c.named("SpecifiedTradeAllowanceCharge").filter { $0.parent?.name == "ApplicableHeaderTradeSettlement" }.filter { ac in
                let v = ac.child("ChargeIndicator")?.child("Indicator")?.normalizedText
                return charge ? (v == "true" || v == "1") : (v == "false" || v == "0")
            }.map { CIIReader.dec($0.child("ActualAmount")) }
        }
        let allowanceAmounts = c.isCII ? ciiAmounts(charge: false) : inv.allowances.map(\.amount)
        let chargeAmounts = c.isCII ? ciiAmounts(charge: true) : inv.charges.map(\.amount)
        if let v = t.allowanceSum?.value, v != round2(sum(allowanceAmounts)) {
            c.fail("BR-CO-11", loc, de: "Die Summe der Nachlässe (BT-107) stimmt nicht mit der Summe der einzelnen Nachlässe (BT-92) überein.")
        } else if !allowanceAmounts.isEmpty, absent("AllowanceTotalAmount") {
            c.fail("BR-CO-11", loc, de: "Die Summe der Nachlässe (BT-107) fehlt, obwohl die Rechnung Nachlässe auf Dokumentebene (BG-20) enthält.")
        }
        if let v = t.chargeSum?.value, v != round2(sum(chargeAmounts)) {
            c.fail("BR-CO-12", loc, de: "Die Summe der Zuschläge (BT-108) stimmt nicht mit der Summe der einzelnen Zuschläge (BT-99) überein.")
        } else if !chargeAmounts.isEmpty, absent("ChargeTotalAmount") {
            c.fail("BR-CO-12", loc, de: "Die Summe der Zuschläge (BT-108) fehlt, obwohl die Rechnung Zuschläge auf Dokumentebene (BG-21) enthält.")
        }
        // BR-CO-13 as bound: fails as well when BT-109 or BT-106 is missing; UBL compares without
        // rounding when there is neither an allowance nor a charge total
        if !summation.isEmpty {
            if let without = t.withoutVAT?.value, let lines = t.lineNetSum?.value {
                let unrounded = c.isUBL && t.chargeSum == nil && t.allowanceSum == nil
                let expected = unrounded ? lines : round2(lines + (t.chargeSum?.value ?? 0) - (t.allowanceSum?.value ?? 0))
                if without != expected {
                    c.fail("BR-CO-13", loc, de: "Der Gesamtbetrag ohne Umsatzsteuer (BT-109) muss Summe der Positionen (BT-106) − Nachlässe (BT-107) + Zuschläge (BT-108) sein: \(c.givenExpected(without, expected)).", en: c.givenExpectedEN(without, expected))
                }
            } else {
                c.fail("BR-CO-13", loc, de: "Der Gesamtbetrag ohne Umsatzsteuer (BT-109) lässt sich nicht prüfen: er oder die Summe der Positionen (BT-106) fehlt.")
            }
        }
        if c.isUBL {
            // UBL: each TaxTotal with subtotals must add up; the total with VAT uses every
            // TaxTotal amount in the invoice currency.
            let totals = c.root.children("TaxTotal")
            for tt in totals where !tt.children("TaxSubtotal").isEmpty {
                guard let v = UBLReader.dec(tt.child("TaxAmount"))?.value else { continue }
                let expected = round2(sum(tt.children("TaxSubtotal").map { UBLReader.dec($0.child("TaxAmount")) }))
                if v != expected {
                    c.fail("BR-CO-14", tt, de: "Der Umsatzsteuergesamtbetrag (BT-110) muss die Summe der Steuerbeträge der Aufschlüsselung (BT-117) sein: \(c.givenExpected(v, expected)).", en: c.givenExpectedEN(v, expected))
                }
            }
            // BR-CO-15 as the artefact: for every DocumentCurrencyCode exactly one TaxTotal amount in
            // that currency, and BT-112 = round(BT-109 + that amount) to cents.
            let m = c.root.children("LegalMonetaryTotal")
            let with = m.flatMap { $0.children("TaxInclusiveAmount") }.compactMap { VATSchemeRules.decimal($0) }
            let without = m.flatMap { $0.children("TaxExclusiveAmount") }.compactMap { VATSchemeRules.decimal($0) }
            for code in c.root.children("DocumentCurrencyCode").map(\.text) {
                let vat = totals.flatMap { $0.children("TaxAmount") }.filter { $0.attribute("currencyID") == code }
                let ok = vat.count == 1 && without.count == 1 && VATSchemeRules.decimal(vat[0]).map { v in with.contains(round2(without[0] + v)) } == true
                if !ok {
                    c.fail("BR-CO-15", loc, de: vat.count != 1
                        ? "Der Umsatzsteuergesamtbetrag (BT-110) muss genau einmal in der Rechnungswährung „\(code)“ angegeben sein."
                        : "Der Gesamtbetrag mit Umsatzsteuer (BT-112) muss Gesamtbetrag ohne Umsatzsteuer (BT-109) + Umsatzsteuer (BT-110) sein.")
                    break
                }
            }
        } else {
            // as bound: every BT-110 whose currencyID is the invoice currency equals the rounded sum
            // of the breakdowns' tax amounts (none: 0)
            let currencies = Set(c.named("InvoiceCurrencyCode").filter { $0.parent?.name == "ApplicableHeaderTradeSettlement" }.map(\.text))
            let taxes = c.named("ApplicableTradeTax").filter { $0.parent?.name == "ApplicableHeaderTradeSettlement" }
            let expected = round2(taxes.flatMap { $0.children("CalculatedAmount") }.reduce(Decimal(0)) { $0 + (VATSchemeRules.decimal($1) ?? 0) })
            for m in c.named("SpecifiedTradeSettlementHeaderMonetarySummation") {
                for total in m.children("TaxTotalAmount") where total.attribute("currencyID").map(currencies.contains) ?? false {
                    let vat = VATSchemeRules.decimal(total)
                    if vat != expected {
                        c.fail("BR-CO-14", total, de: "Der Umsatzsteuergesamtbetrag (BT-110) muss die Summe der Steuerbeträge der Aufschlüsselung (BT-117) sein: \(c.givenExpected(vat, expected)).", en: c.givenExpectedEN(vat, expected))
                    }
                }
            }
            // CII: exactly one BT-110 in the invoice currency and BT-112 = BT-109 + BT-110,
            // or BT-112 = BT-109 (as the EN 16931 CII binding states it).
            // BR-CO-15 as the CII artefact: for every InvoiceCurrencyCode, (exactly one BT-110 in it and
            // BT-112 = round(BT-109 + BT-110)) or BT-112 = BT-109.
            let settlement = c.root.children("SupplyChainTradeTransaction").flatMap { $0.children("ApplicableHeaderTradeSettlement") }
            let sums = c.named("SpecifiedTradeSettlementHeaderMonetarySummation")
            let grand = sums.flatMap { $0.children("GrandTotalAmount") }.compactMap { VATSchemeRules.decimal($0) }
            let basis = sums.flatMap { $0.children("TaxBasisTotalAmount") }.compactMap { VATSchemeRules.decimal($0) }
            for code in settlement.flatMap({ $0.children("InvoiceCurrencyCode") }).map(\.text) {
                let inCurrency = settlement.flatMap { $0.children("SpecifiedTradeSettlementHeaderMonetarySummation") }
                    .flatMap { $0.children("TaxTotalAmount") }.filter { $0.attribute("currencyID") == code }
                let anyTTA = sums.flatMap { $0.children("TaxTotalAmount") }.filter { $0.attribute("currencyID") == code }.compactMap { VATSchemeRules.decimal($0) }
                let sumOK = inCurrency.count == 1 && basis.count == 1 && anyTTA.count == 1 && grand.contains(round2(basis[0] + anyTTA[0]))
                let plainOK = grand.contains { g in basis.contains(g) }
                if !(sumOK || plainOK) {
                    c.fail("BR-CO-15", loc, de: inCurrency.count > 1
                        ? "Der Umsatzsteuergesamtbetrag in Rechnungswährung (BT-110) darf nur einmal angegeben sein; der Gesamtbetrag mit Umsatzsteuer (BT-112) lässt sich so nicht prüfen."
                        : "Der Gesamtbetrag mit Umsatzsteuer (BT-112) muss Gesamtbetrag ohne Umsatzsteuer (BT-109) + Umsatzsteuer (BT-110) sein.")
                    break
                }
            }
        }
        if c.isExtension && c.isUBL, c.root.child("LegalMonetaryTotal") != nil {
            // BR-DEX-09 replaces BR-CO-16: third party payments reduce the amount due. As bound, a
            // missing amount due or total with VAT is an empty sequence and the comparison fails.
            let paid: Decimal = t.paid?.value ?? 0
            let rounding: Decimal = t.rounding?.value ?? 0
            let third = sum(inv.thirdPartyPayments.map(\.amount))
            var ok = false
            if let due = t.due?.value, let with = t.withVAT?.value { ok = round2(due - rounding) == round2(with - paid + third) }
            if !ok {
                c.fail("BR-DEX-09", loc, de: "Der fällige Betrag (BT-115) muss Gesamtbetrag mit Umsatzsteuer (BT-112) − gezahlter Betrag (BT-113) + Rundungsbetrag (BT-114) + Summe der Zahlungen Dritter (BT-DEX-002) sein.")
            }
        }
        if c.isUBL, let m = c.root.child("LegalMonetaryTotal") {
            // UBL BR-CO-16 as bound, clause by the presence of BT-113 and BT-114; a missing
            // amount due or total with VAT fails every clause (compared with an empty sequence)
            let d = VATSchemeRules.decimal(m.child("PayableAmount")), g = VATSchemeRules.decimal(m.child("TaxInclusiveAmount"))
            let pe = m.child("PrepaidAmount"), re = m.child("PayableRoundingAmount")
            let p = VATSchemeRules.decimal(pe), r = VATSchemeRules.decimal(re)
            var ok = false
            if let d, let g {
                switch (pe != nil, re != nil) {
                case (true, false): if let p { ok = d == round2(g - p) }
                case (false, false): ok = d == g
                case (true, true): if let p, let r { ok = round2(d - r) == round2(g - p) }
                case (false, true): if let r { ok = round2(d - r) == g }
                }
            }
            if !ok {
                if let d, let g {
                    let expected = round2(g - (p ?? 0) + (r ?? 0))
                    c.fail("BR-CO-16", loc, de: "Der fällige Betrag (BT-115) muss Gesamtbetrag mit Umsatzsteuer (BT-112) − gezahlter Betrag (BT-113) + Rundungsbetrag (BT-114) sein: \(c.givenExpected(d, expected)).", en: c.givenExpectedEN(d, expected))
                } else {
                    c.fail("BR-CO-16", loc, de: "Der fällige Betrag (BT-115) lässt sich nicht prüfen: \(d == nil ? "der fällige Betrag (BT-115)" : "der Gesamtbetrag mit Umsatzsteuer (BT-112)") fehlt. Er muss Gesamtbetrag mit Umsatzsteuer − gezahlter Betrag (BT-113) + Rundungsbetrag (BT-114) sein.")
                }
            }
        }
        if c.isCII {
            // The CII artefact per summation, without rounding: D = G − P + R, or D = G + R without
            // P, or D = G − P without R, or D = G without both ("without" = absent or zero);
            // a missing due or grand total fails every clause.
            for m in c.named("SpecifiedTradeSettlementHeaderMonetarySummation") {
                func value(_ name: String) -> Decimal? {
                    let l = m.children(name)
                    return l.count == 1 ? l.first.flatMap(VATSchemeRules.decimal) : nil
                }
                let d = value("DuePayableAmount"), g = value("GrandTotalAmount"), p = value("TotalPrepaidAmount"), r = value("RoundingAmount")
                let noP = p.map { $0 == 0 } ?? true, noR = r.map { $0 == 0 } ?? true
                var ok = false
                if let d, let g {
                    if let p, let r, d == g - p + r { ok = true }
                    if let r, noP, d == g + r { ok = true }
                    if let p, noR, d == g - p { ok = true }
                    if noP, noR, d == g { ok = true }
                }
                if !ok { c.fail("BR-CO-16", m, de: "Der fällige Betrag (BT-115) muss Gesamtbetrag mit Umsatzsteuer (BT-112) − gezahlter Betrag (BT-113) + Rundungsbetrag (BT-114) sein.") }
            }
        }
    }
}
