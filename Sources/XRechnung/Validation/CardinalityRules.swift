import Foundation

/// Cardinality rules of the syntax bindings (UBL-SR-*, fatal CII-SR-*): business terms that the
/// XML schema allows to repeat but EN 16931 allows once.
enum CardinalityRules {
    static func run(_ c: RuleContext) {
        if c.isUBL { ubl(c) } else { cii(c) }
    }

    /// Reports `rule` when `elements` has more than `max` members.
    static func atMost(_ c: RuleContext, _ rule: String, _ elements: some Collection<XElement>, _ max: Int = 1, at: XElement?, _ term: String) {
        guard elements.count > max else { return }
        c.fail(rule, Array(elements)[max], de: "\(term) darf höchstens \(max == 1 ? "einmal" : "\(max)-mal") vorkommen, kommt aber \(elements.count)-mal vor.")
    }

    /// PartyTaxScheme[TaxScheme/upper-case(ID) = 'VAT']/CompanyID (raw ID, upper-cased).
    static func vatCompanyIDs(_ schemes: some Sequence<XElement>) -> [XElement] {
        schemes.filter { pts in pts.children("TaxScheme").flatMap { $0.children("ID") }.contains { VATSchemeRules.isVAT($0.text, normalize: false) } }
            .flatMap { $0.children("CompanyID") }
    }

    static func ubl(_ c: RuleContext) {
        let r = c.root
        let lineName = c.scenario.syntax == .ublCreditNote ? "CreditNoteLine" : "InvoiceLine"
        atMost(c, "UBL-SR-01", r.children("ContractDocumentReference"), at: r, "Die Vertragsnummer (BT-12)")
        atMost(c, "UBL-SR-02", r.children("ReceiptDocumentReference"), at: r, "Die Wareneingangsmeldung (BT-15)")
        atMost(c, "UBL-SR-03", r.children("DespatchDocumentReference"), at: r, "Die Versandanzeige (BT-16)")
        atMost(c, "UBL-SR-04", r.children("AdditionalDocumentReference").filter { $0.child("DocumentTypeCode")?.normalizedText == "130" }, at: r, "Die Objektkennung (BT-18)")
        atMost(c, "UBL-SR-05", r.children("PaymentTerms").flatMap { $0.children("Note") }, at: r, "Die Zahlungsbedingungen (BT-20)")
        for b in r.children("BillingReference") {
            atMost(c, "UBL-SR-06", b.children("InvoiceDocumentReference"), at: b, "Der Verweis auf eine vorausgegangene Rechnung je BillingReference (BG-3)")
            if b.first("InvoiceDocumentReference", "ID") == nil {
                c.fail("UBL-SR-07", b, de: "Zum Verweis auf eine vorausgegangene Rechnung (BG-3) fehlt deren Nummer (BT-25).")
            }
        }
        atMost(c, "UBL-SR-08", r.children("InvoicePeriod"), at: r, "Der Abrechnungszeitraum (BG-14)")
        if let s = r.first("AccountingSupplierParty", "Party") {
            atMost(c, "UBL-SR-09", s.all("PartyLegalEntity", "RegistrationName"), at: s, "Der Name des Verkäufers (BT-27)")
            atMost(c, "UBL-SR-10", s.all("PartyName", "Name"), at: s, "Der Handelsname des Verkäufers (BT-28)")
            atMost(c, "UBL-SR-11", s.all("PartyLegalEntity", "CompanyID"), at: s, "Die Registernummer des Verkäufers (BT-30)")
            let schemes = s.children("PartyTaxScheme")
            atMost(c, "UBL-SR-12", Self.vatCompanyIDs(schemes), at: s, "Die Umsatzsteuer-Identifikationsnummer des Verkäufers (BT-31)")
            // PartyTaxScheme[TaxScheme/upper-case(ID) != 'VAT']/CompanyID: the raw ID, any one differing
            atMost(c, "UBL-SR-13", schemes.filter { pts in pts.children("TaxScheme").contains { ts in
                // `cac:TaxScheme/upper-case(cbc:ID) != 'VAT'`: a scheme without ID gives "" and counts
                let ids = ts.children("ID")
                return ids.isEmpty || ids.contains { !VATSchemeRules.isVAT($0.text, normalize: false) }
            } }
                .flatMap { $0.children("CompanyID") }, at: s, "Die Steuernummer des Verkäufers (BT-32)")
            atMost(c, "UBL-SR-14", s.all("PartyLegalEntity", "CompanyLegalForm"), at: s, "Die weiteren rechtlichen Informationen (BT-33)")
            atMost(c, "UBL-SR-42", schemes, 2, at: s, "Das Steuerschema des Verkäufers (PartyTaxScheme)")
        }
        if let b = r.first("AccountingCustomerParty", "Party") {
            atMost(c, "UBL-SR-15", b.all("PartyLegalEntity", "RegistrationName"), at: b, "Der Name des Käufers (BT-44)")
            atMost(c, "UBL-SR-16", b.all("PartyIdentification", "ID"), at: b, "Die Kennung des Käufers (BT-46)")
            atMost(c, "UBL-SR-17", b.all("PartyLegalEntity", "CompanyID"), at: b, "Die Registernummer des Käufers (BT-47)")
            atMost(c, "UBL-SR-18", Self.vatCompanyIDs(b.children("PartyTaxScheme")),
                   at: b, "Die Umsatzsteuer-Identifikationsnummer des Käufers (BT-48)")
            atMost(c, "UBL-SR-40", b.all("PartyName", "Name"), at: b, "Der Handelsname des Käufers (BT-45)")
        }
        for p in r.children("PayeeParty") {
            // each of the three also asks that the payee's name differs from the seller's
            // registration name (an XPath general comparison: false when either is missing)
            let names = p.children("PartyName").flatMap { $0.children("Name") }.map(\.text)
            let sellerNames = r.children("AccountingSupplierParty").flatMap { $0.children("Party") }.flatMap { $0.children("PartyLegalEntity") }
                .flatMap { $0.children("RegistrationName") }.map(\.text)
            let differs = names.contains { n in sellerNames.contains { $0 != n } }
            let same = "Der Zahlungsempfänger (BG-10) wird nur angegeben, wenn er nicht der Verkäufer ist; sein Name (BT-59) muss sich vom Namen des Verkäufers (BT-27) unterscheiden."
            // `upper-case(@schemeID) != 'SEPA'`: upper-case of a missing attribute is "", so an ID
            // without a scheme counts (measured: two such IDs fire UBL-SR-20)
            let ids = p.children("PartyIdentification").flatMap { $0.children("ID") }.filter { $0.attribute("schemeID").map { $0.uppercased() != "SEPA" } ?? true }
            for (rule, list, term) in [("UBL-SR-19", p.children("PartyName").flatMap { $0.children("Name") }, "Der Name des Zahlungsempfängers (BT-59)"),
                                       ("UBL-SR-20", ids, "Die Kennung des Zahlungsempfängers (BT-60)"),
                                       ("UBL-SR-21", p.children("PartyLegalEntity").flatMap { $0.children("CompanyID") }, "Die Registernummer des Zahlungsempfängers (BT-61)")] {
                if list.count > 1 { atMost(c, rule, list, at: p, term) } else if !differs { c.fail(rule, p, de: same) }
            }
        }
        if let t = r.child("TaxRepresentativeParty") {
            atMost(c, "UBL-SR-22", t.all("PartyName", "Name"), at: t, "Der Name des Steuervertreters (BT-62)")
            // UBL-SR-23 counts cac:Party/cac:PartyTaxScheme/cbc:CompanyID below TaxRepresentativeParty,
            // a path that cannot occur there: the artefact never reports it, neither do we.
        }
        atMost(c, "UBL-SR-24", r.children("Delivery"), at: r, "Die Lieferinformation (BG-13)")
        for d in r.children("Delivery") {
            atMost(c, "UBL-SR-25", d.children("DeliveryParty").flatMap { $0.children("PartyName") }.flatMap { $0.children("Name") }, at: d, "Der Name des Empfängers der Lieferung (BT-70)")
        }
        let means = r.children("PaymentMeans")
        for pm in means {
            atMost(c, "UBL-SR-26", pm.children("PaymentID"), at: pm, "Der Verwendungszweck (BT-83)")
            // The binding counts PaymentMeansCode (its @name is BT-82); UBL 2.1's schema already allows only one.
            atMost(c, "UBL-SR-27", pm.children("PaymentMeansCode"), at: pm, "Der Zahlungsmittel-Code mit Text (BT-81/BT-82)")
            atMost(c, "UBL-SR-28", pm.all("PaymentMandate", "ID"), at: pm, "Die Mandatsreferenz (BT-89)")
        }
        let paymentIDs = Set(means.compactMap { $0.child("PaymentID")?.normalizedText })
        if paymentIDs.count > 1 { c.fail("UBL-SR-44", r, de: "Eine Rechnung hat genau einen Verwendungszweck (BT-83); in mehreren Zahlungsarten muss er gleich sein.") }
        // as bound: count(cac:PaymentMeans/cbc:PaymentMeansCode/@name) <= 1 — two equal texts count twice
        let meansTexts = means.compactMap { $0.child("PaymentMeansCode")?.attribute("name") }
        if meansTexts.count > 1 { c.fail("UBL-SR-46", r, de: "Der Text zur Zahlungsart (BT-82) darf nur einmal (einheitlich) angegeben sein.") }
        // as bound: distinct values of every PaymentMeansCode, compared as written (" 58 " ≠ "58")
        let codes = Set(c.named("PaymentMeansCode").map(\.text))
        if codes.count > 1 { c.fail("UBL-SR-47", r, de: "Bei mehreren Zahlungsarten muss der Zahlungsart-Code (BT-81) überall gleich sein.") }
        let sepa = (r.all("AccountingSupplierParty", "Party", "PartyIdentification", "ID") + r.all("PayeeParty", "PartyIdentification", "ID")).filter { $0.attribute("schemeID") == "SEPA" }
        atMost(c, "UBL-SR-29", sepa, at: r, "Die Gläubiger-Identifikationsnummer (BT-90)")
        // bound to every cac:AllowanceCharge (document, line and price level), the indicator
        // compared as xs:boolean ("true"/"1", "false"/"0"; the schema allows nothing else)
        for ac in c.named("AllowanceCharge") {
            let indicator = ac.child("ChargeIndicator")?.normalizedText
            guard let charge = indicator == "true" || indicator == "1" ? true : (indicator == "false" || indicator == "0" ? false : nil) else { continue }
            atMost(c, charge ? "UBL-SR-31" : "UBL-SR-30", ac.children("AllowanceChargeReason"), at: ac, charge ? "Der Grund des Zuschlags (BT-104)" : "Der Grund des Nachlasses (BT-97)")
        }
        for cat in r.all("TaxTotal", "TaxSubtotal", "TaxCategory") {
            atMost(c, "UBL-SR-32", cat.children("TaxExemptionReason"), at: cat, "Der Befreiungsgrund (BT-120)")
        }
        // (the artefact's context is every cac:AdditionalDocumentReference)
        for ref in c.named("AdditionalDocumentReference") where ref.namespace == XMLNamespaces.cac {
            atMost(c, "UBL-SR-33", ref.children("DocumentDescription"), at: ref, "Die Beschreibung der Unterlage (BT-123)")
            // as bound: a code as written of 130 (CreditNote also 50), or neither a scheme
            // identifier nor a code — a reference with any other code fails, scheme or not
            let codes = ref.children("DocumentTypeCode").map(\.text)
            let ok = codes.contains("130") || (r.name == "CreditNote" && codes.contains("50"))
                || (!ref.children("ID").contains { $0.attribute("schemeID") != nil } && codes.isEmpty)
            if !ok {
                c.fail("UBL-SR-43", ref, de: "Eine Schema-Kennung (schemeID) ist nur bei der Objektkennung (DocumentTypeCode 130) erlaubt.")
            }
        }
        for line in r.children(lineName) {
            atMost(c, "UBL-SR-34", line.children("Note"), at: line, "Die Bemerkung zur Position (BT-127)")
            atMost(c, "UBL-SR-35", line.children("OrderLineReference"), at: line, "Der Verweis auf die Bestellposition (BT-132)")
            atMost(c, "UBL-SR-36", line.children("InvoicePeriod"), at: line, "Der Leistungszeitraum der Position (BG-26)")
            atMost(c, "UBL-SR-37", line.all("Price", "AllowanceCharge"), at: line, "Der Rabatt auf den Artikelpreis (BT-147)")
            atMost(c, "UBL-SR-50", line.all("Item", "Description"), at: line, "Die Artikelbeschreibung (BT-154)")
            atMost(c, "UBL-SR-52", line.children("DocumentReference"), at: line, "Der Verweis auf ein Objekt in der Position (BT-128)")
        }
        atMost(c, "UBL-SR-39", r.children("ProjectReference"), at: r, "Die Projektreferenz (BT-11)")
        atMost(c, "UBL-SR-45", r.children("DueDate") + r.all("PaymentMeans", "PaymentDueDate"), at: r, "Das Fälligkeitsdatum (BT-9)")
        atMost(c, "UBL-SR-49", r.children("TaxPointDate"), at: r, "Das Umsatzsteuerdatum (BT-7)")
        atMost(c, "UBL-SR-54", r.all("PaymentMeans", "CardAccount"), at: r, "Die Kartenangabe (BG-18)")
        atMost(c, "UBL-SR-55", r.all("PaymentMeans", "PaymentMandate"), at: r, "Das Lastschriftmandat (BG-19)")
        for e in Array(c.named("PostalAddress")) + Array(c.named("Address")) {
            atMost(c, "UBL-SR-51", e.children("AddressLine"), at: e, "Die dritte Adresszeile (BT-162)")
        }
    }

    static func cii(_ c: RuleContext) {
        let r = c.root
        if let ctx = r.child("ExchangedDocumentContext") {
            let g = ctx.children("GuidelineSpecifiedDocumentContextParameter")
            if g.count != 1 { c.fail("CII-SR-009", ctx, de: "Die Spezifikationskennung (GuidelineSpecifiedDocumentContextParameter) muss genau einmal vorkommen.") }
            // as bound: count(GuidelineSpecifiedDocumentContextParameter/ID) = 1 over the context
            if g.flatMap({ $0.children("ID") }).count != 1 {
                c.fail("CII-SR-010", ctx, de: "Die Spezifikationskennung (BT-24) muss genau einmal angegeben sein.")
            }
        }
        if let doc = r.child("ExchangedDocument"), doc.children("TypeCode").count != 1 {
            c.fail("CII-SR-014", doc, de: "Der Rechnungstyp (BT-3) muss genau einmal angegeben sein.")
        }
        for e in c.named("GlobalID") where e.attribute("schemeID") == nil {
            c.fail("CII-SR-046", e, de: "Zu einer globalen Kennung (GlobalID) muss die Schema-Kennung (schemeID) angegeben sein.")
        }
        for e in c.named("ApplicableProductCharacteristic") {
            // as bound: count(ram:Description) = 1 — exactly one name per attribute
            if e.children("Description").count != 1 { c.fail("CII-SR-069", e, de: "Ein Artikelattribut braucht genau einen Namen (BT-160).") }
            if e.children("Value").count != 1 { c.fail("CII-SR-072", e, de: "Ein Artikelattribut braucht genau einen Wert (BT-161).") }
        }
        // As the artefact binds them: 439 (exactly one) and 441 (at most one) both count the net
        // price per line agreement; 440 the discount amount per price allowance.
        for e in c.named("GrossPriceProductTradePrice") {
            for ac in e.children("AppliedTradeAllowanceCharge") {
                atMost(c, "CII-SR-440", ac.children("ActualAmount"), at: ac, "Der Rabatt auf den Artikelpreis (BT-147)")
            }
        }
        for line in c.named("IncludedSupplyChainTradeLineItem") {
            for agreement in line.children("SpecifiedLineTradeAgreement") {
                let net = agreement.children("NetPriceProductTradePrice").flatMap { $0.children("ChargeAmount") }
                if net.count != 1 { c.fail("CII-SR-439", agreement, de: "Der Nettopreis (BT-146) muss in jeder Position genau einmal angegeben sein.") }
                atMost(c, "CII-SR-441", net, at: agreement, "Der Nettopreis (BT-146)")
            }
        }
        for e in c.named("SpecifiedTradeAllowanceCharge") where e.child("ChargeIndicator") == nil {
            c.fail("CII-SR-463", e, de: "Jeder Nachlass oder Zuschlag braucht die Angabe, ob es ein Zuschlag ist (ChargeIndicator).")
        }
        let agreement = r.first("SupplyChainTradeTransaction", "ApplicableHeaderTradeAgreement")
        if let s = agreement?.child("SellerTradeParty") {
            atMost(c, "CII-SR-455", s.children("DefinedTradeContact"), at: s, "Die Kontaktangabe des Verkäufers (BG-6)")
            atMost(c, "CII-SR-459", s.children("URIUniversalCommunication"), at: s, "Die elektronische Adresse des Verkäufers (BT-34)")
        }
        if let b = agreement?.child("BuyerTradeParty") {
            atMost(c, "CII-SR-456", b.children("DefinedTradeContact"), at: b, "Die Kontaktangabe des Käufers (BG-9)")
            atMost(c, "CII-SR-460", b.children("URIUniversalCommunication"), at: b, "Die elektronische Adresse des Käufers (BT-49)")
        }
        let settlement = r.first("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement")
        // as bound: every DueDateTypeCode of every tax element has the same value (repeating it is fine)
        if Set(c.named("ApplicableTradeTax").flatMap { $0.children("DueDateTypeCode") }.map(\.text)).count > 1 {
            c.fail("CII-SR-462", settlement ?? c.root, de: "Der Code des Umsatzsteuerdatums (BT-8) muss überall denselben Wert haben.")
        }
    }
}
