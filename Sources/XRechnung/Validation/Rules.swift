import Foundation

/// The business rules, written from EN 16931-1, the XRechnung 3.0.2 specification and the
/// assertion texts of the pinned artefacts. Rules that are the same in both syntaxes work on
/// the semantic model; syntax rules (UBL-SR/CR, CII-SR) and the XRechnung CIUS rules, which
/// the official artefacts bind to concrete paths, work on the element tree.
enum Rules {
    static func run(_ c: RuleContext) {
        Core.run(c)
        TotalRules.run(c)
        VATRules.run(c)
        CodeListRules.run(c)
        DecimalRules.run(c)
        if c.isUBL { UBLSyntax.run(c) } else { CIISyntax.run(c) }
        CardinalityRules.run(c)
        if c.xr {
            XRechnungCIUS.run(c)
            Peppol.run(c)
        }
    }
}

// MARK: - helpers

/// XPath 2.0 `round(x * 100) div 100`: half rounds towards positive infinity.
func round2(_ x: Decimal) -> Decimal {
    // Two decimals or fewer already: nothing to round (NSDecimalRound divides even then).
    if x.exponent >= -2 { return x }
    var v = x
    var r = Decimal()
    // .plain rounds half away from zero; for a negative exact half XPath rounds up instead.
    NSDecimalRound(&r, &v, 2, .plain)
    if x < 0, r - x == minusHalfCent { r += cent }
    return r
}

private let cent = Decimal(sign: .plus, exponent: -2, significand: 1)
private let minusHalfCent = Decimal(sign: .minus, exponent: -3, significand: 5)

/// x / 100, exactly, by moving the decimal point: Foundation's Decimal division is a long
/// division with normalisation and was the largest single arithmetic cost of the rules.
func percent(_ x: Decimal) -> Decimal {
    if ExactDecimal.available, let p = ExactDecimal.parts(x),
       let r = ExactDecimal.make(negative: p.negative, exponent: p.exponent - 2, mantissa: p.mantissa) { return r }
    guard !x.isNaN, x.exponent > -120 else { return x / 100 }
    return Decimal(sign: x.sign, exponent: x.exponent - 2, significand: x.significand)
}

/// |tax| − 1 < expected < |tax| + 1 (with ≤ when not strict): the bound of BR-CO-17 and BR-S-09
/// (exact, without Foundation's variable-length arithmetic — see `ExactDecimal`).
func withinOne(_ tax: Decimal, of expected: Decimal, strict: Bool) -> Bool {
    let t = ExactDecimal.magnitude(tax)
    let low = ExactDecimal.subtract(t, 1), high = ExactDecimal.add(t, 1)
    return strict ? ExactDecimal.less(low, expected) && ExactDecimal.less(expected, high)
                  : !ExactDecimal.less(expected, low) && !ExactDecimal.less(high, expected)
}

func sum(_ xs: [DecimalValue?]) -> Decimal { total(xs.lazy.compactMap { $0?.value }) }

/// The sum of decimals, without adding to or with zero (Foundation normalises on every addition:
/// `reduce(0, +)` paid one more per sum, and an addition of nothing per missing value).
func total<S: Sequence>(_ xs: S) -> Decimal where S.Element == Decimal {
    var result: Decimal?
    for x in xs { result = result.map { ExactDecimal.add($0, x) } ?? x }
    return result ?? 0
}

extension Optional where Wrapped == String {
    /// nil, empty or only whitespace (byte scan; Foundation's trimming was a hot spot).
    var isBlank: Bool {
        guard let s = self else { return true }
        for b in s.utf8 where !(b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D) { return false }
        return true
    }
}

// MARK: - EN 16931 core (BR-01 … BR-65, BR-CO-03/04/09/17-26)

enum Core {
    static func run(_ c: RuleContext) {
        let inv = c.invoice
        let r = c.root
        let ubl = c.isUBL
        let loc = r.xpath
        if inv.specificationID.isBlank { c.fail("BR-01", loc, de: "Die Spezifikationskennung (BT-24) fehlt.") }
        if inv.number.isBlank { c.fail("BR-02", loc, de: "Die Rechnungsnummer (BT-1) fehlt.") }
        // CII: only a DateTimeString with format 102 is a date (the artefact's test).
        let issueDate = ubl ? inv.issueDate : r.children("ExchangedDocument").flatMap { $0.children("IssueDateTime") }
            .flatMap { $0.children("DateTimeString") }.first { $0.attribute("format") == "102" }.map { XElement.normalizeSpace($0.text) }
        if issueDate.isBlank { c.fail("BR-03", loc, de: "Das Rechnungsdatum (BT-2) fehlt (in CII als DateTimeString mit format=\"102\").") }
        if inv.typeCode.isBlank { c.fail("BR-04", loc, de: "Der Rechnungstyp (BT-3) fehlt.") }
        if inv.currency.isBlank { c.fail("BR-05", loc, de: "Der Währungscode der Rechnung (BT-5) fehlt.") }
        if inv.seller.name.isBlank { c.fail("BR-06", loc, de: "Der Name des Verkäufers (BT-27) fehlt.") }
        if inv.buyer.name.isBlank { c.fail("BR-07", loc, de: "Der Name des Käufers (BT-44) fehlt.") }
        // The CII binding tests the country from the document root, so a missing address lacks
        // its country too; UBL tests it inside the address.
        if inv.seller.address == nil { c.fail("BR-08", loc, de: "Die Postanschrift des Verkäufers (BG-5) fehlt.") }
        if (ubl ? inv.seller.address != nil : true), inv.seller.address?.country.isBlank ?? true { c.fail("BR-09", loc, de: "Der Ländercode in der Anschrift des Verkäufers (BT-40) fehlt.") }
        if inv.buyer.address == nil { c.fail("BR-10", loc, de: "Die Postanschrift des Käufers (BG-8) fehlt.") }
        if (ubl ? inv.buyer.address != nil : true), inv.buyer.address?.country.isBlank ?? true { c.fail("BR-11", loc, de: "Der Ländercode in der Anschrift des Käufers (BT-55) fehlt.") }
        // BR-12…15 as bound: checked in each monetary summation element (none: nothing to check;
        // the XML schema or CII cardinality rules name a missing one), by the element's presence
        let totalsRequired: [(String, String, String)] = [
            ("BR-12", ubl ? "LineExtensionAmount" : "LineTotalAmount", "Die Summe der Nettobeträge der Positionen (BT-106) fehlt."),
            ("BR-13", ubl ? "TaxExclusiveAmount" : "TaxBasisTotalAmount", "Der Gesamtbetrag ohne Umsatzsteuer (BT-109) fehlt."),
            ("BR-14", ubl ? "TaxInclusiveAmount" : "GrandTotalAmount", "Der Gesamtbetrag mit Umsatzsteuer (BT-112) fehlt."),
            ("BR-15", ubl ? "PayableAmount" : "DuePayableAmount", "Der fällige Zahlungsbetrag (BT-115) fehlt."),
        ]
        // BR-54 as bound: every item attribute element has its name and value elements (an empty one passes)
        for e in c.named(ubl ? "AdditionalItemProperty" : "ApplicableProductCharacteristic")
        where e.children(ubl ? "Name" : "Description").isEmpty || e.children("Value").isEmpty {
            c.fail("BR-54", e, de: "Ein Artikelattribut braucht Name (BT-160) und Wert (BT-161).")
        }
        for sum in c.monetarySummations {
            for (rule, name, text) in totalsRequired where sum.children(name).isEmpty { c.fail(rule, sum, de: text) }
        }
        if inv.lines.isEmpty { c.fail("BR-16", loc, de: "Die Rechnung enthält keine Rechnungsposition (BG-25).") }
        // BR-17 as bound: the payee has a name element and neither its name nor its identifiers
        // equal the seller's (the payee is only given when it is someone else).
        func texts(_ l: some Sequence<XElement>) -> [String] { l.map(\.text) }
        func shares(_ a: [String], _ b: [String]) -> Bool { a.contains { b.contains($0) } }
        if ubl {
            let seller = r.children("AccountingSupplierParty").flatMap { $0.children("Party") }
            for p in r.children("PayeeParty") {
                let names = texts(p.children("PartyName").flatMap { $0.children("Name") })
                let ok = !names.isEmpty && !shares(names, texts(seller.flatMap { $0.children("PartyName") }.flatMap { $0.children("Name") }))
                    && !shares(texts(p.children("PartyIdentification").flatMap { $0.children("ID") }), texts(seller.flatMap { $0.children("PartyIdentification") }.flatMap { $0.children("ID") }))
                if !ok { c.fail("BR-17", p, de: "Der Name des Zahlungsempfängers (BT-59) fehlt, oder Name oder Kennung sind die des Verkäufers.") }
            }
        } else {
            for p in c.named("PayeeTradeParty") {
                let seller = p.parent?.parent?.children("ApplicableHeaderTradeAgreement").flatMap { $0.children("SellerTradeParty") } ?? []
                let names = texts(p.children("Name"))
                let ok = !names.isEmpty && !shares(names, texts(seller.flatMap { $0.children("Name") }))
                    && !shares(texts(p.children("ID")), texts(seller.flatMap { $0.children("ID") }))
                    && !shares(texts(p.children("SpecifiedLegalOrganization").flatMap { $0.children("ID") }), texts(seller.flatMap { $0.children("SpecifiedLegalOrganization") }.flatMap { $0.children("ID") }))
                if !ok { c.fail("BR-17", p, de: "Der Name des Zahlungsempfängers (BT-59) fehlt, oder Name oder Kennung sind die des Verkäufers.") }
            }
        }
        if c.isCII {
            // CII as bound: the elements' presence (an empty name or country code counts as given)
            for t in c.named("SellerTaxRepresentativeTradeParty") {
                if t.children("Name").isEmpty { c.fail("BR-18", t, de: "Der Name des Steuervertreters (BT-62) fehlt.") }
                let addresses = t.children("PostalTradeAddress")
                if addresses.isEmpty { c.fail("BR-19", t, de: "Die Anschrift des Steuervertreters (BG-12) fehlt.") }
                if !addresses.isEmpty, addresses.allSatisfy({ $0.children("CountryID").isEmpty }) { c.fail("BR-20", t, de: "Der Ländercode des Steuervertreters (BT-69) fehlt.") }
            }
        } else if let t = inv.taxRepresentative {
            if t.name.isBlank { c.fail("BR-18", loc, de: "Der Name des Steuervertreters (BT-62) fehlt.") }
            if t.address == nil { c.fail("BR-19", loc, de: "Die Anschrift des Steuervertreters (BG-12) fehlt.") }
            else if t.address?.country.isBlank ?? true { c.fail("BR-20", loc, de: "Der Ländercode des Steuervertreters (BT-69) fehlt.") }
        }
        // BR-56 as bound: UBL asks for a CompanyID element under a VAT-scheme PartyTaxScheme (scheme
        // compared upper-cased), CII for a non-empty ID with schemeID "VA".
        let representatives = ubl ? c.named("TaxRepresentativeParty") : c.named("SellerTaxRepresentativeTradeParty")
        for rep in representatives {
            let ok = ubl
                ? rep.children("PartyTaxScheme").contains { pts in VATSchemeRules.isVATScheme(pts) && !pts.children("CompanyID").isEmpty }
                : rep.children("SpecifiedTaxRegistration").flatMap { $0.children("ID") }.contains { $0.attribute("schemeID") == "VA" && !XElement.normalizeSpace($0.text).isEmpty }
            if !ok { c.fail("BR-56", rep, de: "Die Umsatzsteuer-Identifikationsnummer des Steuervertreters (BT-63) fehlt.") }
        }
        // BR-57 as bound: UBL asks for the element (exists(cac:Country/cbc:IdentificationCode)),
        // CII for a non-blank CountryID
        let bt80 = "Der Ländercode der Lieferanschrift (BT-80) fehlt."
        if ubl {
            for a in c.named("Delivery").flatMap({ $0.children("DeliveryLocation") }).flatMap({ $0.children("Address") })
            where a.children("Country").flatMap({ $0.children("IdentificationCode") }).isEmpty { c.fail("BR-57", a, de: bt80) }
        } else if let a = inv.delivery?.address, a.country.isBlank { c.fail("BR-57", loc, de: bt80) }
        for line in inv.lines { lineRules(c, line) }
        if ubl, let p = inv.invoicingPeriod, let s = p.start, let e = p.end, e < s {
            c.fail("BR-29", loc, de: "Das Ende des Abrechnungszeitraums (BT-74) liegt vor dessen Beginn (BT-73).")
        }
        if !ubl {
            // (End[@format='102']) >= (Start[@format='102']) as text, or one of them absent
            for (rule, parentName, text) in [("BR-29", "ApplicableHeaderTradeSettlement", "Das Ende des Abrechnungszeitraums (BT-74) liegt vor dessen Beginn (BT-73) oder ist kein Datum mit format=\"102\"."),
                                             ("BR-30", "SpecifiedLineTradeSettlement", "Das Ende des Leistungszeitraums der Position (BT-135) liegt vor dessen Beginn (BT-134) oder ist kein Datum mit format=\"102\".")] {
                for period in c.named(parentName).flatMap({ $0.children("BillingSpecifiedPeriod") }) {
                    let ends = period.children("EndDateTime"), starts = period.children("StartDateTime")
                    guard !ends.isEmpty, !starts.isEmpty else { continue }
                    func dates(_ l: some Sequence<XElement>) -> [String] { l.flatMap { $0.children("DateTimeString") }.filter { $0.attribute("format") == "102" }.map(\.text) }
                    let e = dates(ends), st = dates(starts)
                    if !e.contains(where: { a in st.contains { b in a >= b } }) { c.fail(rule, period, de: text) }
                }
            }
        }
        if let p = inv.invoicingPeriod, p.start == nil, p.end == nil, ubl || p.descriptionCode == nil {
            c.fail("BR-CO-19", loc, de: "Ein Abrechnungszeitraum (BG-14) braucht ein Anfangs- (BT-73) oder Enddatum (BT-74).")
        }
        for a in inv.allowances {
            if a.amount == nil { c.fail("BR-31", a.location, de: "Der Betrag des Nachlasses auf Dokumentenebene (BT-92) fehlt.") }
            if a.reason == nil && a.reasonCode == nil { // as bound: by presence (an empty reason counts)
                c.fail("BR-33", a.location, de: "Ein Nachlass auf Dokumentenebene braucht einen Grund (BT-97) oder Grund-Code (BT-98).")
                c.fail("BR-CO-21", a.location, de: "Ein Nachlass auf Dokumentenebene braucht einen Grund (BT-97) oder Grund-Code (BT-98).")
            }
        }
        for a in inv.charges {
            if a.amount == nil { c.fail("BR-36", a.location, de: "Der Betrag des Zuschlags auf Dokumentenebene (BT-99) fehlt.") }
            if a.reason == nil && a.reasonCode == nil { // as bound: by presence (an empty reason counts)
                c.fail("BR-38", a.location, de: "Ein Zuschlag auf Dokumentenebene braucht einen Grund (BT-104) oder Grund-Code (BT-105).")
                c.fail("BR-CO-22", a.location, de: "Ein Zuschlag auf Dokumentenebene braucht einen Grund (BT-104) oder Grund-Code (BT-105).")
            }
        }
        let shadowed = c.shadowedBreakdowns
        for b in inv.vatBreakdown where !shadowed.contains(b.location) {
            if b.taxableAmount == nil { c.fail("BR-45", b.location, de: "Die Bemessungsgrundlage der Umsatzsteueraufschlüsselung (BT-116) fehlt.") }
            if b.taxAmount == nil { c.fail("BR-46", b.location, de: "Der Steuerbetrag der Umsatzsteueraufschlüsselung (BT-117) fehlt.") }
        }
        VATSchemeRules.run(c)
        if inv.vatBreakdown.isEmpty { c.fail("BR-CO-18", loc, de: "Die Rechnung muss mindestens eine Umsatzsteueraufschlüsselung (BG-23) enthalten.") }
        // BR-49 as bound: each payment means element has its code element (present; an empty one passes)
        let means = c.isCII ? c.named("SpecifiedTradeSettlementPaymentMeans").map { ($0, "TypeCode") } : c.named("PaymentMeans").map { ($0, "PaymentMeansCode") }
        for (m, code) in means where m.children(code).isEmpty { c.fail("BR-49", m, de: "Der Code für das Zahlungsmittel (BT-81) fehlt.") }
        for p in inv.payment {
            // CII binds BR-50/BR-61 to the account element itself (see CIISyntax).
            guard ubl else { continue }
            for t in p.creditTransfers where t.accountID.isEmpty {
                c.fail("BR-50", loc, de: "Die Kennung des Zahlungskontos (BT-84) fehlt.")
            }
        }
        // BR-61 (UBL) as bound: a payment means with code 30 or 58 has a PayeeFinancialAccount/ID
        // element (an account without its id fails here as well as in BR-50)
        if ubl {
            for m in c.named("PaymentMeans") where ["30", "58"].contains(m.child("PaymentMeansCode")?.normalizedText ?? "")
                && m.children("PayeeFinancialAccount").flatMap({ $0.children("ID") }).isEmpty {
                c.fail("BR-61", m, de: "Bei Überweisung (Code 30 oder 58) muss die Kennung des Zahlungskontos (BT-84) angegeben sein.")
            }
        }
        // BR-51: at most the first 6 and the last 4 digits of a card number (PCI DSS), i.e. ≤ 10 characters.
        for card in c.isCII ? c.named("ApplicableTradeSettlementFinancialCard") : c.named("CardAccount") {
            if let pan = card.child(c.isCII ? "ID" : "PrimaryAccountNumberID"), pan.text.count > 10 {
                c.fail("BR-51", pan, de: "Die Kartennummer (BT-87) darf nicht vollständig in der Rechnung stehen: höchstens die ersten 6 und die letzten 4 Ziffern (z. B. „123456XXXX1234“ → „1234561234“).")
            }
        }
        // BR-52 as bound: every referenced document (CII: each AdditionalReferencedDocument, also
        // tender/object references; UBL: each AdditionalDocumentReference) needs a non-blank id
        let references = c.isCII ? c.named("AdditionalReferencedDocument").map { ($0, $0.child("IssuerAssignedID")) }
            : c.root.children("AdditionalDocumentReference").map { ($0, $0.child("ID")) }
        for (ref, id) in references where (id?.normalizedText ?? "").isEmpty {
            c.fail("BR-52", ref, de: "Jeder rechnungsbegründende Unterlage (BG-24) braucht eine Kennung (BT-122).")
        }
        // BR-53 as bound. UBL: for each tax currency code (exactly as written) some TaxAmount has
        // that currencyID. CII (per monetary summation): a TaxTotalAmount in the tax currency,
        // which must differ from the invoice currency.
        let bt53 = "Ist eine Steuerwährung (BT-6) angegeben, muss der Umsatzsteuergesamtbetrag in dieser Währung (BT-111) angegeben sein."
        if c.isUBL {
            let taxAmountCurrencies = Set(c.root.children("TaxTotal").flatMap { $0.children("TaxAmount") }.compactMap { $0.attribute("currencyID") })
            if c.root.children("TaxCurrencyCode").contains(where: { !taxAmountCurrencies.contains($0.text) }) { c.fail("BR-53", loc, de: bt53) }
        } else {
            let settlement = c.named("ApplicableHeaderTradeSettlement")
            let taxCodes = settlement.flatMap { $0.children("TaxCurrencyCode") }.map(\.text)
            let invoiceCodes = settlement.flatMap { $0.children("InvoiceCurrencyCode") }.map(\.text)
            if !taxCodes.isEmpty {
                for sum in c.monetarySummations {
                    let given = sum.children("TaxTotalAmount").compactMap { $0.attribute("currencyID") }
                    if !given.contains(where: taxCodes.contains) || taxCodes.contains(where: invoiceCodes.contains) {
                        c.fail("BR-53", sum, de: bt53)
                    }
                }
            }
        }
        for p in inv.precedingInvoices where p.number.isEmpty { c.fail("BR-55", loc, de: "Der Verweis auf eine vorausgegangene Rechnung braucht deren Nummer (BT-25).") }
        if ubl {
            if let e = inv.seller.electronicAddress, e.scheme == nil { c.fail("BR-62", loc, de: "Zur elektronischen Adresse des Verkäufers (BT-34) fehlt die Schema-Kennung.") }
            if let e = inv.buyer.electronicAddress, e.scheme == nil { c.fail("BR-63", loc, de: "Zur elektronischen Adresse des Käufers (BT-49) fehlt die Schema-Kennung.") }
        } else {
            // the scheme of the first URIUniversalCommunication's URIID, whenever the party has one
            let agreement = r.children("SupplyChainTradeTransaction").flatMap { $0.children("ApplicableHeaderTradeAgreement") }
            for (party, rule, text) in [("SellerTradeParty", "BR-62", "Zur elektronischen Adresse des Verkäufers (BT-34) fehlt die Schema-Kennung."),
                                        ("BuyerTradeParty", "BR-63", "Zur elektronischen Adresse des Käufers (BT-49) fehlt die Schema-Kennung.")] {
                let comms = agreement.flatMap { $0.children(party) }.flatMap { $0.children("URIUniversalCommunication") }
                guard !comms.isEmpty else { continue }
                let schemes = agreement.flatMap { $0.children(party) }.compactMap { $0.children("URIUniversalCommunication").first }
                    .flatMap { $0.children("URIID") }.compactMap { $0.attribute("schemeID") }
                if !schemes.contains(where: { !XElement.normalizeSpace($0).isEmpty }) { c.fail(rule, loc, de: text) }
            }
        }
        if inv.taxPointDate != nil, inv.invoicingPeriod?.descriptionCode != nil {
            c.fail("BR-CO-03", loc, de: "Umsatzsteuerdatum (BT-7) und dessen Code (BT-8) schließen einander aus.")
        }
        // BR-CO-09: VAT identifiers start with an ISO 3166-1 alpha-2 prefix (Greece: EL), tested as
        // the artefacts do: UBL looks for the first two characters anywhere in the list text (so
        // " D" passes and "1A" too), CII for " XX " with the first two characters as they are.
        if c.isUBL {
            for pts in c.named("PartyTaxScheme") where VATSchemeRules.isVATScheme(pts) {
                let prefix = String((pts.children("CompanyID").first?.text ?? "").prefix(2))
                if !prefix.isEmpty, !Self.co09UBLParts.contains(prefix) {
                    c.fail("BR-CO-09", pts, de: "Die Umsatzsteuer-Identifikationsnummer „\(pts.child("CompanyID")?.text ?? "")“ muss mit dem Ländercode nach ISO 3166-1 beginnen (z. B. DE).")
                }
            }
        } else {
            for reg in c.named("SpecifiedTaxRegistration") {
                for id in reg.children("ID") where id.attribute("schemeID") == "VA" && !Self.co09CIICodes.contains(String(id.text.prefix(2))) {
                    c.fail("BR-CO-09", id, de: "Die Umsatzsteuer-Identifikationsnummer „\(id.text)“ muss mit dem Ländercode nach ISO 3166-1 beginnen (z. B. DE).")
                }
            }
        }
        // The EN 16931 UBL binding applies BR-CO-25 to Invoice documents, not to CreditNote.
        // as bound, by presence: UBL any cbc:DueDate or a PaymentTerms/Note, CII a payment terms
        // element with a due date or a description (an empty one counts)
        let termsGiven = c.isUBL ? (!c.named("DueDate").isEmpty || c.named("PaymentTerms").contains { !$0.children("Note").isEmpty })
            : c.named("SpecifiedTradePaymentTerms").contains { !$0.children("DueDateDateTime").isEmpty || !$0.children("Description").isEmpty }
        if inv.syntax != .ublCreditNote, let due = inv.totals.due?.value, due > 0, !termsGiven {
            c.fail("BR-CO-25", loc, de: "Ist ein Betrag zu zahlen (BT-115 > 0), muss ein Fälligkeitsdatum (BT-9) oder Zahlungsbedingungen (BT-20) angegeben sein.")
        }
        let s = inv.seller
        // UBL as bound: a CompanyID of a PartyTaxScheme whose scheme is VAT, a PartyIdentification/ID
        // or a PartyLegalEntity/CompanyID (elements; the scheme compared upper-cased and trimmed)
        let sellerIdentified = ubl
            ? c.root.children("AccountingSupplierParty").flatMap { $0.children("Party") }.contains { party in
                party.children("PartyTaxScheme").contains { pts in
                    pts.children("TaxScheme").flatMap { $0.children("ID") }.contains { $0.normalizedText.uppercased() == "VAT" } && pts.child("CompanyID") != nil
                } || !party.children("PartyIdentification").flatMap { $0.children("ID") }.isEmpty
                  || !party.children("PartyLegalEntity").flatMap { $0.children("CompanyID") }.isEmpty
            }
            // CII as bound: (ram:ID) or (ram:GlobalID) or (SpecifiedLegalOrganization/ID) or a VA registration — presence
            // (bound to each SellerTradeParty: without one there is nothing to check)
            : c.named("SellerTradeParty").allSatisfy { p in
                !p.children("ID").isEmpty || !p.children("GlobalID").isEmpty
                    || !p.children("SpecifiedLegalOrganization").flatMap { $0.children("ID") }.isEmpty
                    || p.children("SpecifiedTaxRegistration").flatMap { $0.children("ID") }.contains { $0.attribute("schemeID") == "VA" }
            }
        if !sellerIdentified {
            c.fail("BR-CO-26", loc, de: "Für den Verkäufer muss eine Kennung (BT-29), eine Registernummer (BT-30) oder eine Umsatzsteuer-Identifikationsnummer (BT-31) angegeben sein.")
        }
    }

    static func lineRules(_ c: RuleContext, _ l: InvoiceLine) {
        let loc = l.location
        if l.id.isEmpty { c.fail("BR-21", loc, de: "Die Positionsnummer (BT-126) fehlt.") }
        if l.quantity == nil { c.fail("BR-22", loc, de: "Die Menge der Position \(l.id) (BT-129) fehlt.") }
        if l.unitCode == nil { c.fail("BR-23", loc, de: "Die Einheit der Menge in Position \(l.id) (BT-130) fehlt.") }
        if l.netAmount == nil { c.fail("BR-24", loc, de: "Der Nettobetrag der Position \(l.id) (BT-131) fehlt.") }
        if l.itemName.isBlank { c.fail("BR-25", loc, de: "Der Artikelname der Position \(l.id) (BT-153) fehlt.") }
        if l.netPrice == nil { c.fail("BR-26", loc, de: "Der Nettopreis der Position \(l.id) (BT-146) fehlt.") }
        // (Price/PriceAmount) >= 0: a missing price fails too
        if l.netPrice.map({ $0.value < 0 }) ?? true { c.fail("BR-27", loc, de: "Der Nettopreis der Position \(l.id) (BT-146) darf nicht negativ sein.") }
        if let p = l.grossPrice?.value, p < 0 { c.fail("BR-28", loc, de: "Der Bruttopreis der Position \(l.id) (BT-148) darf nicht negativ sein.") }
        if let p = l.period {
            if c.isUBL, let s = p.start, let e = p.end, e < s { c.fail("BR-30", loc, de: "Das Ende des Leistungszeitraums der Position \(l.id) (BT-135) liegt vor dessen Beginn (BT-134).") }
            if p.start == nil, p.end == nil { c.fail("BR-CO-20", loc, de: "Ein Leistungszeitraum der Position \(l.id) (BG-26) braucht ein Anfangs- oder Enddatum.") }
        }
        for a in l.allowances {
            if a.amount == nil { c.fail("BR-41", a.location, de: "Der Betrag des Nachlasses in Position \(l.id) (BT-136) fehlt.") }
            if a.reason == nil && a.reasonCode == nil { // as bound: by presence (an empty reason counts)
                c.fail("BR-42", a.location, de: "Ein Nachlass in Position \(l.id) braucht einen Grund (BT-139) oder Grund-Code (BT-140).")
                c.fail("BR-CO-23", a.location, de: "Ein Nachlass in Position \(l.id) braucht einen Grund (BT-139) oder Grund-Code (BT-140).")
            }
        }
        for a in l.charges {
            if a.amount == nil { c.fail("BR-43", a.location, de: "Der Betrag des Zuschlags in Position \(l.id) (BT-141) fehlt.") }
            if a.reason == nil && a.reasonCode == nil { // as bound: by presence (an empty reason counts)
                c.fail("BR-44", a.location, de: "Ein Zuschlag in Position \(l.id) braucht einen Grund (BT-144) oder Grund-Code (BT-145).")
                c.fail("BR-CO-24", a.location, de: "Ein Zuschlag in Position \(l.id) braucht einen Grund (BT-144) oder Grund-Code (BT-145).")
            }
        }
        if let s = l.standardItemID, s.scheme.isBlank { c.fail("BR-64", loc, de: "Zur Artikelkennung nach Schema (BT-157) in Position \(l.id) fehlt die Schema-Kennung.") }
        for k in l.classifications where k.scheme.isBlank { c.fail("BR-65", loc, de: "Zur Artikelklassifizierung (BT-158) in Position \(l.id) fehlt die Schema-Kennung.") }
    }
}

/// BR-47, BR-48, BR-CO-17 and BR-CO-04 as the artefacts bind them: only a tax category whose tax
/// scheme is VAT counts (UBL `TaxScheme/ID` upper-cased and space-normalised = "VAT", CII
/// `TypeCode` upper-cased = "VAT"); `VA` or `H87` there means the category is missing. BR-47 and
/// BR-CO-04 ask only that the element exists (an empty one is PEPPOL-R008's business).
extension Core {
    /// The prefix lists of BR-CO-09 as the two artefacts write them (they differ: AN, SS).
    static let co09UBL = " 1A AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH EL ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XI YE YT ZA ZM ZW "
    /// `contains($list, substring(., 1, 2))` of the UBL artefact as a set: every one- and
    /// two-character piece of the list (a substring search per identifier was 3 % of the rules).
    static let co09UBLParts: Set<String> = {
        let chars = Array(co09UBL)
        var parts = Set(chars.map { String($0) })
        for i in 0..<(chars.count - 1) { parts.insert(String(chars[i...i + 1])) }
        return parts
    }()
    /// `contains($list, concat(' ', substring(., 1, 2), ' '))` of the CII artefact: the codes
    /// themselves (every code has two characters, so no other text sits between two spaces).
    static let co09CIICodes: Set<String> = Set(co09CII.split(separator: " ").map(String.init))
    static let co09CII = " 1A AD AE AF AG AI AL AM AN AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BL BJ BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH EL ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XI YE YT ZA ZM ZW "
}

enum VATSchemeRules {
    /// xs:decimal of an element's text; nil when absent or not a decimal (the artefact would stop
    /// with a runtime error there, which is reported elsewhere).
    static func decimal(_ e: XElement?) -> Decimal? {
        guard let e else { return nil }
        // the xs:decimal lexical form, parsed without Foundation's locale-aware parser
        return DecimalValue.parse(XElement.normalizeSpace(e.text))
    }

    static let half = Decimal(sign: .plus, exponent: -1, significand: 5)
    static let minusHalf = Decimal(sign: .minus, exponent: -1, significand: 5)

    static func isVATScheme(_ category: XElement) -> Bool {
        for ts in category.children where ts.name == "TaxScheme" {
            for id in ts.children where id.name == "ID" && isVAT(id.text, normalize: true) { return true }
        }
        return false
    }

    /// upper-case(x) = 'VAT' (or normalize-space(upper-case(x)) = 'VAT'), on bytes: this runs for
    /// every tax category of every invoice and String.uppercased() allocated each time.
    static func isVAT(_ text: String, normalize: Bool) -> Bool {
        var letters: [UInt8] = []
        for b in text.utf8 {
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
                if normalize, letters.isEmpty || letters.count == 3 { continue }
                return false
            }
            letters.append(b & 0xDF)  // ASCII letters to upper case; anything else stays unequal
            if letters.count > 3 { return false }
        }
        return letters == [0x56, 0x41, 0x54]
    }

    /// (abs(t) − 1 < round(abs(base) × rate / 100 × 100) / 100 < abs(t) + 1), or rate and amount both
    /// round to 0, or there is no rate and the amount rounds to 0.
    static func co17(rate: Decimal?, tax: Decimal?, base: Decimal?, strict: Bool) -> Bool {
        // without a VAT rate (category O, or no VAT scheme) the amount must round to 0
        // round(x) = 0 exactly when −0.5 ≤ x < 0.5 (XPath rounds halves up)
        func roundsToZero(_ x: Decimal) -> Bool { x >= minusHalf && x < half }
        guard let rate else { return tax.map(roundsToZero) ?? false }
        if roundsToZero(rate) { return tax.map(roundsToZero) ?? false }
        guard let tax, let base else { return false }
        // round(abs(base) × rate/100 × 100) div 100, with the exact /100 and the fast cent rounding
        let expected = round2(ExactDecimal.multiply(ExactDecimal.magnitude(base), percent(rate)))
        return withinOne(tax, of: expected, strict: strict)
    }

    static func run(_ c: RuleContext) {
        let co17Text = "Der Steuerbetrag (BT-117) muss Bemessungsgrundlage (BT-116) × Steuersatz (BT-119) / 100 sein, auf zwei Stellen gerundet; der Steuersatz zählt nur bei einer Steuerkategorie des Steuerschemas „VAT“."
        if c.isUBL {
            for st in c.root.children("TaxTotal").flatMap({ $0.children("TaxSubtotal") }) {
                let vat = st.children("TaxCategory").filter(isVATScheme)
                if !vat.contains(where: { !$0.children("ID").isEmpty }) {
                    c.fail("BR-47", st, de: "Die Umsatzsteuerkategorie der Aufschlüsselung (BT-118) fehlt (oder ihr Steuerschema ist nicht „VAT“).")
                }
                let hasRate = vat.contains { !$0.children("Percent").isEmpty }
                let isO = vat.contains { cat in cat.children("ID").contains { XElement.normalizeSpace($0.text) == "O" } }
                if !hasRate && !isO { c.fail("BR-48", st, de: "Der Steuersatz der Umsatzsteueraufschlüsselung (BT-119) fehlt.") }
                let rates = vat.flatMap { $0.children("Percent") }
                guard rates.count <= 1, st.children("TaxAmount").count <= 1, st.children("TaxableAmount").count <= 1 else { continue }
                if !co17(rate: decimal(rates.first), tax: decimal(st.child("TaxAmount")), base: decimal(st.child("TaxableAmount")), strict: true) {
                    c.fail("BR-CO-17", st, de: co17Text)
                }
            }
            // BR-32/37: a document-level allowance/charge needs a category of the VAT scheme
            for ac in c.root.children("AllowanceCharge") {
                let indicator = ac.children("ChargeIndicator").map { XElement.normalizeSpace($0.text) }
                let isCharge = indicator.contains { $0 == "true" || $0 == "1" }, isAllowance = indicator.contains { $0 == "false" || $0 == "0" }
                let ok = ac.children("TaxCategory").filter(isVATScheme).contains { !$0.children("ID").isEmpty }
                if isAllowance, !ok { c.fail("BR-32", ac, de: "Die Umsatzsteuerkategorie des Nachlasses (BT-95) fehlt (oder ihr Steuerschema ist nicht „VAT“).") }
                if isCharge, !ok { c.fail("BR-37", ac, de: "Die Umsatzsteuerkategorie des Zuschlags (BT-102) fehlt (oder ihr Steuerschema ist nicht „VAT“).") }
            }
            let lineName = c.scenario.syntax == .ublCreditNote ? "CreditNoteLine" : "InvoiceLine"
            for line in c.root.children where line.name == lineName {
                var ok = false
                // loops instead of filtered arrays: this runs for every line
                items: for item in line.children where item.name == "Item" {
                    for cat in item.children where cat.name == "ClassifiedTaxCategory" && isVATScheme(cat) {
                        if cat.children.contains(where: { $0.name == "ID" }) { ok = true; break items }
                    }
                }
                if !ok { c.fail("BR-CO-04", line, de: "Die Umsatzsteuerkategorie der Position \(line.child("ID")?.normalizedText ?? "") (BT-151) fehlt (oder ihr Steuerschema ist nicht „VAT“).") }
            }
        } else {
            let shadowed = c.shadowedBreakdowns
            for tax in c.named("ApplicableTradeTax") where tax.parent?.name == "ApplicableHeaderTradeSettlement" && !shadowed.contains(tax.xpath) {
                let vat = tax.children("TypeCode").contains { VATSchemeRules.isVAT($0.text, normalize: false) }
                if !(vat && !tax.children("CategoryCode").isEmpty) {
                    c.fail("BR-47", tax, de: "Die Umsatzsteuerkategorie der Aufschlüsselung (BT-118) fehlt (oder die Steuerart ist nicht „VAT“).")
                }
                if !(vat && (!tax.children("RateApplicablePercent").isEmpty || tax.children("CategoryCode").contains { $0.text == "O" })) {
                    c.fail("BR-48", tax, de: "Der Steuersatz der Umsatzsteueraufschlüsselung (BT-119) fehlt.")
                }
                let vatNorm = tax.children("TypeCode").contains { VATSchemeRules.isVAT($0.text, normalize: true) }
                let rates = vatNorm ? tax.children("RateApplicablePercent") : .empty
                guard rates.count <= 1, tax.children("CalculatedAmount").count <= 1, tax.children("BasisAmount").count <= 1 else { continue }
                if !co17(rate: decimal(rates.first), tax: decimal(tax.child("CalculatedAmount")), base: decimal(tax.child("BasisAmount")), strict: false) {
                    c.fail("BR-CO-17", tax, de: co17Text)
                }
            }
            for ac in c.named("SpecifiedTradeAllowanceCharge") where ac.parent?.name == "ApplicableHeaderTradeSettlement" {
                let indicators = ac.children("ChargeIndicator").flatMap { $0.children("Indicator") }.map(\.text)
                let ok = ac.children("CategoryTradeTax").contains { t in t.children("TypeCode").contains { VATSchemeRules.isVAT($0.text, normalize: false) } && !t.children("CategoryCode").isEmpty }
                if indicators.contains("false"), !ok { c.fail("BR-32", ac, de: "Die Umsatzsteuerkategorie des Nachlasses (BT-95) fehlt (oder die Steuerart ist nicht „VAT“).") }
                if indicators.contains("true"), !ok { c.fail("BR-37", ac, de: "Die Umsatzsteuerkategorie des Zuschlags (BT-102) fehlt (oder die Steuerart ist nicht „VAT“).") }
            }
            for item in c.named("IncludedSupplyChainTradeLineItem") {
                var ok = false
                settlements: for st in item.children where st.name == "SpecifiedLineTradeSettlement" {
                    for t in st.children where t.name == "ApplicableTradeTax" {
                        let vat = t.children.contains { $0.name == "TypeCode" && isVAT($0.text, normalize: false) }
                        if vat, t.children.contains(where: { $0.name == "CategoryCode" }) { ok = true; break settlements }
                    }
                }
                if !ok { c.fail("BR-CO-04", item, de: "Die Umsatzsteuerkategorie der Position (BT-151) fehlt (oder die Steuerart ist nicht „VAT“).") }
            }
        }
    }
}
