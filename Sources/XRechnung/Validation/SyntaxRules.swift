import Foundation

/// BR-CL-*: code lists, checked where the syntax carries the code.
enum CodeListRules {
    static let currencyContexts: Set<String> = ["Amount", "BaseAmount", "PriceAmount", "TaxAmount", "TaxableAmount", "LineExtensionAmount", "TaxExclusiveAmount",
                                                "TaxInclusiveAmount", "AllowanceTotalAmount", "ChargeTotalAmount", "PrepaidAmount", "PayableRoundingAmount", "PayableAmount"]
    static func run(_ c: RuleContext) {
        let inv = c.invoice
        let loc = c.root.xpath
        // BR-CL-01/04/05 as the artefacts state them: on every such element, after normalize-space
        // (an empty element is not a code and fails too).
        func code(_ e: XElement) -> String { XElement.normalizeSpace(e.text) }
        if c.isCII {
            for e in c.root.children("ExchangedDocument").flatMap({ $0.children("TypeCode") }) where !CodeLists.ciiDocumentTypes.contains(code(e)) {
                c.fail("BR-CL-01", e, de: "Der Rechnungstyp (BT-3) „\(code(e))“ ist kein zulässiger Code aus UNTDID 1001 (z. B. 380 Rechnung, 381 Gutschrift, 384 Rechnungskorrektur).")
            }
        } else {
            for e in c.root.children("InvoiceTypeCode") + c.named("CreditNoteTypeCode").filter({ $0.parent === c.root }) {
                let list = e.name == "InvoiceTypeCode" ? CodeLists.invoiceTypes : CodeLists.creditNoteTypes
                if !list.contains(code(e)) { c.fail("BR-CL-01", e, de: "Der Rechnungstyp (BT-3) „\(code(e))“ ist kein zulässiger Code aus UNTDID 1001 (z. B. 380 Rechnung, 381 Gutschrift, 384 Rechnungskorrektur).") }
            }
        }
        for e in c.named(c.isCII ? "InvoiceCurrencyCode" : "DocumentCurrencyCode") where !CodeLists.currencies.contains(code(e)) {
            c.fail("BR-CL-04", e, de: "Der Währungscode (BT-5) „\(code(e))“ ist kein ISO-4217-Code.")
        }
        for e in c.named("TaxCurrencyCode") where !CodeLists.currencies.contains(code(e)) {
            c.fail("BR-CL-05", e, de: "Der Steuerwährungscode (BT-6) „\(code(e))“ ist kein ISO-4217-Code.")
        }
        // UBL codes the VAT point date with UNTDID 2005 (3, 35, 432), CII with UNTDID 2475 (5, 29, 72).
        if let code = inv.invoicingPeriod?.descriptionCode, !(c.isCII ? CodeLists.taxPointCodesCII : CodeLists.taxPointCodes).contains(code) {
            c.fail("BR-CL-06", loc, de: "Der Code des Umsatzsteuerdatums (BT-8) „\(code)“ ist nicht zulässig (3, 35 oder 432).")
        }
        for n in inv.notes { if let s = n.subjectCode, !CodeLists.textSubjects.contains(s) { c.fail("BR-CL-08", loc, de: "Der Betreff-Code der Bemerkung (BT-21) „\(s)“ ist kein Code aus UNTDID 4451.") } }

        let ext = c.isExtension
        if c.isUBL {
            for e in c.named("PaymentMeansCode") where !CodeLists.paymentMeans.contains(e.normalizedText) {
                c.fail("BR-CL-16", e, de: "Der Zahlungsmittel-Code (BT-81) „\(e.normalizedText)“ ist kein Code aus UNCL 4461 (z. B. 58 SEPA-Überweisung).")
            }
            for e in c.named("IdentificationCode") {
                let parent = e.parent?.name
                if parent == "Country", !CodeLists.countries.contains(e.normalizedText) {
                    c.fail("BR-CL-14", e, de: "Der Ländercode „\(e.normalizedText)“ ist kein Code nach ISO 3166-1 (z. B. DE).")
                } else if parent == "OriginCountry", !CodeLists.countries.contains(e.normalizedText) {
                    c.fail("BR-CL-15", e, de: "Das Herkunftsland „\(e.normalizedText)“ ist kein Code nach ISO 3166-1.")
                }
            }
        } else {
            for e in c.named("TypeCode") where e.parent?.name == "SpecifiedTradeSettlementPaymentMeans" && !CodeLists.paymentMeans.contains(e.normalizedText) {
                c.fail("BR-CL-16", e, de: "Der Zahlungsmittel-Code (BT-81) „\(e.normalizedText)“ ist kein Code aus UNCL 4461 (z. B. 58 SEPA-Überweisung).")
            }
            for e in c.named("CountryID") where !CodeLists.countries.contains(e.normalizedText) {
                c.fail("BR-CL-14", e, de: "Der Ländercode „\(e.normalizedText)“ ist kein Code nach ISO 3166-1 (z. B. DE).")
            }
        }
        for e in c.attributed {
            // UBL: the amounts the artefact names; CII: TaxTotalAmount only (other CII amounts carry
            // no currency, CII-DT-031). The value is compared after normalize-space.
            if let cur = e.attribute("currencyID"), c.isCII ? e.name == "TaxTotalAmount" : Self.currencyContexts.contains(e.name),
               !CodeLists.currencies.contains(XElement.normalizeSpace(cur)) {
                c.fail("BR-CL-03", e, de: "Der Währungscode „\(cur)“ ist kein ISO-4217-Code.")
            }
            if let scheme = e.attribute("schemeID") {
                schemeRules(c, e, scheme: scheme, ext: ext)
            }
            if let list = e.attribute("listID"), e.name == "ItemClassificationCode" || e.name == "ClassCode" {
                if !CodeLists.itemClassification.contains(list) { c.fail("BR-CL-13", e, de: "Das Schema der Artikelklassifizierung (BT-158) „\(list)“ ist kein Code aus UNTDID 7143.") }
            }
            if let mime = e.attribute("mimeCode"), e.name == "EmbeddedDocumentBinaryObject" || e.name == "AttachmentBinaryObject" {
                if ext {
                    if !(CodeLists.mimeCodes.contains(mime) || mime == "application/xml") { c.fail("BR-DEX-01", e, de: "Der MIME-Code „\(mime)“ der Anlage (BT-125) ist nicht zulässig.") }
                    if !CodeLists.mimeCodes.contains(mime) { c.fail("BR-CL-24", e, de: "Der MIME-Code „\(mime)“ der Anlage (BT-125) ist nicht zulässig (PDF, PNG, JPEG, CSV, XLSX, ODS).") }
                } else if !CodeLists.mimeCodes.contains(mime) {
                    c.fail("BR-CL-24", e, de: "Der MIME-Code „\(mime)“ der Anlage (BT-125) ist nicht zulässig (PDF, PNG, JPEG, CSV, XLSX, ODS).")
                }
            }
        }
        objectSchemesAndUnits(c)
        // BR-CL-17/18 on every category element as the artefacts bind them (an empty one fails):
        // UBL 17 TaxCategory/ID, 18 ClassifiedTaxCategory/ID; CII 17 CategoryTradeTax, 18 ApplicableTradeTax.
        let bindings: [(String, String, String)] = c.isUBL
            ? [("BR-CL-17", "TaxCategory", "ID"), ("BR-CL-18", "ClassifiedTaxCategory", "ID")]
            : [("BR-CL-17", "CategoryTradeTax", "CategoryCode"), ("BR-CL-18", "ApplicableTradeTax", "CategoryCode")]
        for (rule, parent, child) in bindings {
            for e in c.named(parent).flatMap({ $0.children(child) }) where !CodeLists.vatCategories.contains(XElement.normalizeSpace(e.text)) {
                c.fail(rule, e, de: "Die Umsatzsteuerkategorie „\(XElement.normalizeSpace(e.text))“ ist kein Code aus UNCL 5305 (S, Z, E, AE, K, G, O, L, M, B).")
            }
        }
        // bound to the reason code of every allowance/charge whose indicator is false()/true() as
        // xs:boolean — without an indicator neither rule looks (measured); UBL also at price level
        let allowanceCharges = c.isUBL
            ? c.named("AllowanceCharge").map { ($0, $0.child("ChargeIndicator"), $0.children("AllowanceChargeReasonCode")) }
            : c.named("SpecifiedTradeAllowanceCharge").map { ($0, $0.child("ChargeIndicator")?.child("Indicator"), $0.children("ReasonCode")) }
        for (_, indicator, codes) in allowanceCharges {
            let v = indicator?.normalizedText
            guard let charge = (v == "true" || v == "1") ? true : ((v == "false" || v == "0") ? false : nil) else { continue }
            for e in codes {
                let r = XElement.normalizeSpace(e.text)
                if charge, !CodeLists.chargeReasons.contains(r) { c.fail("BR-CL-20", e, de: "Der Grund-Code des Zuschlags „\(r)“ ist kein Code aus UNCL 7161.") }
                if !charge, !CodeLists.allowanceReasons.contains(r) { c.fail("BR-CL-19", e, de: "Der Grund-Code des Nachlasses „\(r)“ ist kein Code aus UNCL 5189.") }
            }
        }
    }

    /// BR-CL-07 (scheme of the invoiced object, UNTDID 1153), BR-CL-22 (VATEX, compared
    /// upper-cased as the artefacts do), BR-CL-23 (units, UN/ECE Rec 20 + Rec 21) at the
    /// elements the syntax bindings name.
    static func objectSchemesAndUnits(_ c: RuleContext) {
        let norm = XElement.normalizeSpace
        if c.isUBL {
            for e in c.attributed where e.name == "ID" {
                guard let scheme = e.attribute("schemeID"), let p = e.parent, p.name == "AdditionalDocumentReference" || p.name == "DocumentReference",
                      p.child("DocumentTypeCode")?.text == "130" else { continue }
                if !CodeLists.objectIdentifierSchemes.contains(norm(scheme)) {
                    c.fail("BR-CL-07", e, de: "Das Schema der Objektkennung (BT-18-1) „\(scheme)“ ist kein Code aus UNTDID 1153 (z. B. AAG, ABZ).")
                }
            }
        } else {
            for e in c.named("ReferenceTypeCode") where !CodeLists.objectIdentifierSchemes.contains(e.normalizedText) {
                c.fail("BR-CL-07", e, de: "Das Schema der Objektkennung (BT-18-1) „\(e.normalizedText)“ ist kein Code aus UNTDID 1153 (z. B. AAG, ABZ).")
            }
        }
        for e in c.named(c.isUBL ? "TaxExemptionReasonCode" : "ExemptionReasonCode") where !CodeLists.vatex.contains(norm(e.text.uppercased())) {
            c.fail("BR-CL-22", e, de: "Der Befreiungsgrund-Code (BT-121) „\(e.normalizedText)“ ist nicht in der Liste CEF VATEX (z. B. VATEX-EU-AE, VATEX-EU-IC, VATEX-EU-132-1A).")
        }
        // (arrays of literals compared by identity first; a Set literal was built and hashed per call)
        let quantities = c.isUBL ? ["InvoicedQuantity", "BaseQuantity", "CreditedQuantity"] : ["BasisQuantity", "BilledQuantity"]
        for e in c.attributed where quantities.contains(e.name) {
            guard let unit = e.attribute("unitCode") else { continue }
            if !CodeLists.unitCodes.contains(norm(unit)) {
                c.fail("BR-CL-23", e, de: "Die Einheit „\(unit)“ ist kein Code nach UN/ECE-Empfehlung 20/21 (z. B. C62 Stück, H87 Stück, HUR Stunde, KGM Kilogramm, LS pauschal).")
            }
        }
    }

    /// Identifier scheme codes: ISO 6523 ICD for party, legal, item and location identifiers,
    /// CEF EAS for electronic addresses; the extension scenario admits XR01–XR03 instead (BR-DEX-04…08).
    static func schemeRules(_ c: RuleContext, _ e: XElement, scheme: String, ext: Bool) {
        let parent = e.parent?.name ?? ""
        func inAncestors(_ name: String) -> Bool {
            var p = e.parent
            while let x = p { if x.name == name { return true }; p = x.parent }
            return false
        }
        if c.isUBL {
            switch (parent, e.name) {
            case ("PartyIdentification", "ID"):
                let sepaOK = scheme == "SEPA" && (inAncestors("AccountingSupplierParty") || inAncestors("PayeeParty"))
                if !(CodeLists.icd.contains(scheme) || sepaOK) { c.fail("BR-CL-10", e, de: "Das Schema „\(scheme)“ der Kennung ist nicht in der Liste ISO 6523 ICD.") }
                if ext, !(CodeLists.icdExtension.contains(scheme) || sepaOK) { c.fail("BR-DEX-04", e, de: "Das Schema „\(scheme)“ der Kennung ist nicht in der Liste ISO 6523 ICD (mit XR01–XR03).") }
            case ("PartyLegalEntity", "CompanyID"):
                if !CodeLists.icd.contains(scheme) { c.fail("BR-CL-11", e, de: "Das Schema „\(scheme)“ der Registernummer ist nicht in der Liste ISO 6523 ICD.") }
                if ext, !CodeLists.icdExtension.contains(scheme) { c.fail("BR-DEX-05", e, de: "Das Schema „\(scheme)“ der Registernummer ist nicht in der Liste ISO 6523 ICD (mit XR01–XR03).") }
            case ("StandardItemIdentification", "ID"):
                if !CodeLists.icd.contains(scheme) { c.fail("BR-CL-21", e, de: "Das Schema „\(scheme)“ der Artikelkennung (BT-157) ist nicht in der Liste ISO 6523 ICD (z. B. 0160 für GTIN).") }
                if ext, !CodeLists.icdExtension.contains(scheme) { c.fail("BR-DEX-06", e, de: "Das Schema „\(scheme)“ der Artikelkennung ist nicht in der Liste ISO 6523 ICD (mit XR01–XR03).") }
            case (_, "EndpointID"):
                if !CodeLists.eas.contains(scheme) { c.fail("BR-CL-25", e, de: "Das Schema „\(scheme)“ der elektronischen Adresse ist nicht in der CEF-EAS-Liste (z. B. EM für E-Mail, 0204 für die Leitweg-ID).") }
                if ext, !CodeLists.easExtension.contains(scheme) { c.fail("BR-DEX-07", e, de: "Das Schema „\(scheme)“ der elektronischen Adresse ist nicht in der CEF-EAS-Liste (mit XR01–XR03).") }
            case ("DeliveryLocation", "ID"):
                if !CodeLists.icd.contains(scheme) { c.fail("BR-CL-26", e, de: "Das Schema „\(scheme)“ der Lieferort-Kennung (BT-71) ist nicht in der Liste ISO 6523 ICD.") }
                if ext, !CodeLists.icdExtension.contains(scheme) { c.fail("BR-DEX-08", e, de: "Das Schema „\(scheme)“ der Lieferort-Kennung ist nicht in der Liste ISO 6523 ICD (mit XR01–XR03).") }
            default: break
            }
        } else {
            if ext {
                let code = scheme
                switch (parent, e.name) {
                case ("SpecifiedTradeProduct", "GlobalID"):
                    if !CodeLists.icdExtension.contains(code) { c.fail("BR-DEX-06", e, de: "Das Schema „\(code)“ der Artikelkennung ist nicht in der Liste ISO 6523 ICD (mit XR01–XR03).") }
                case ("ShipToTradeParty", "GlobalID"):
                    if !CodeLists.icdExtension.contains(code) { c.fail("BR-DEX-08", e, de: "Das Schema „\(code)“ der Lieferort-Kennung ist nicht in der Liste ISO 6523 ICD (mit XR01–XR03).") }
                case (_, "GlobalID"):
                    if !CodeLists.icdExtension.contains(code) { c.fail("BR-DEX-04", e, de: "Das Schema „\(code)“ der Kennung ist nicht in der Liste ISO 6523 ICD (mit XR01–XR03).") }
                case ("URIUniversalCommunication", "URIID"):
                    if !CodeLists.easExtension.contains(code) { c.fail("BR-DEX-07", e, de: "Das Schema „\(code)“ der elektronischen Adresse ist nicht in der CEF-EAS-Liste (mit XR01–XR03).") }
                case (_, "ID") where parent != "SpecifiedTaxRegistration":
                    if !CodeLists.icdExtension.contains(code) { c.fail("BR-DEX-05", e, de: "Das Schema „\(code)“ der Kennung ist nicht in der Liste ISO 6523 ICD (mit XR01–XR03).") }
                default: break
                }
            }
            switch (parent, e.name) {
            case (_, "GlobalID") where parent == "SpecifiedTradeProduct":
                if !CodeLists.icd.contains(scheme) { c.fail("BR-CL-21", e, de: "Das Schema „\(scheme)“ der Artikelkennung (BT-157) ist nicht in der Liste ISO 6523 ICD (z. B. 0160 für GTIN).") }
            case ("ShipToTradeParty", "GlobalID"):
                if !CodeLists.icd.contains(scheme) { c.fail("BR-CL-26", e, de: "Das Schema „\(scheme)“ der Lieferort-Kennung (BT-71) ist nicht in der Liste ISO 6523 ICD.") }
            case (_, "GlobalID"):
                if !CodeLists.icd.contains(scheme) { c.fail("BR-CL-10", e, de: "Das Schema „\(scheme)“ der Kennung ist nicht in der Liste ISO 6523 ICD.") }
            case (_, "ID") where parent != "SpecifiedTaxRegistration":
                // CII binds BR-CL-11 to every ram:ID with a scheme outside tax registrations.
                if !CodeLists.icd.contains(scheme) { c.fail("BR-CL-11", e, de: "Das Schema „\(scheme)“ der Kennung ist nicht in der Liste ISO 6523 ICD.") }
            case ("URIUniversalCommunication", "URIID"):
                if !CodeLists.eas.contains(scheme) { c.fail("BR-CL-25", e, de: "Das Schema „\(scheme)“ der elektronischen Adresse ist nicht in der CEF-EAS-Liste (z. B. EM für E-Mail, 0204 für die Leitweg-ID).") }
            default: break
            }
        }
    }
}

/// UBL syntax rules (UBL-SR-*, UBL-CR-*) that concern elements the semantic model drops.
enum UBLSyntax {
    /// German hints for restrictions whose generic message would say too little.
    static let hints: [String: String] = [
        "UBL-CR-470": "PrepaidPayment gehört nicht in eine Rechnung nach EN 16931 (nur in der XRechnung-Extension als Zahlung Dritter).",
        "UBL-CR-646": "Unterpositionen (SubInvoiceLine) sind nur in der XRechnung-Extension erlaubt.",
        "UBL-CR-680": "PaymentMeans/PayerFinancialAccount gehört nicht in eine XRechnung; das belastete Konto (BT-91) steht in PaymentMandate/PayerFinancialAccount.",
    ]

    static func run(_ c: RuleContext) {
        let r = c.root
        // as bound: exists(cac:TaxScheme/cbc:ID) and exists(cbc:CompanyID) — either missing fails
        for e in c.named("PartyTaxScheme") where e.child("CompanyID") == nil || e.first("TaxScheme", "ID") == nil {
            c.fail("UBL-SR-53", e, de: "Zu einem Steuerschema (PartyTaxScheme) muss die Steuernummer bzw. Umsatzsteuer-Identifikationsnummer (CompanyID) angegeben sein; sonst das ganze PartyTaxScheme weglassen.")
        }
        // Elements and attributes outside EN 16931 (UBL-CR-*, UBL-DT-08…28; warnings), from the table.
        let table = SyntaxRestrictions.ubl
        for (rule, e) in table.violations(c.index.restrictionCandidates) + table.attributeViolations(c.index.forbiddenAttributes) {
            c.fail(rule.id, e, de: hints[rule.id] ?? "„\(rule.path.replacingOccurrences(of: "Line/", with: "InvoiceLine/"))“ gehört nicht zu EN 16931 und wird nicht verarbeitet; bitte weglassen.")
        }
        if let v = r.child("UBLVersionID"), v.normalizedText != "2.1" {
            c.fail("UBL-CR-002", v, de: "Die UBL-Version (UBLVersionID) soll fehlen oder 2.1 sein.")
        }
        // UBL-CR-412: a payment due date in PaymentMeans only in a credit note.
        if c.scenario.syntax != .ublCreditNote, let d = r.children("PaymentMeans").compactMap({ $0.child("PaymentDueDate") }).first {
            c.fail("UBL-CR-412", d, de: "PaymentMeans/PaymentDueDate gehört nicht in eine Rechnung; das Fälligkeitsdatum (BT-9) steht in cbc:DueDate.")
        }
        // UBL-CR-665/666/673: a scheme, an attachment or a description only where they belong.
        for ref in c.named("AdditionalDocumentReference") {
            let isObject = ref.child("DocumentTypeCode")?.text == "130"
            if !isObject, let id = ref.child("ID"), id.attribute("schemeID") != nil {
                c.fail("UBL-CR-665", id, de: "Ein schemeID an der Kennung einer rechnungsbegründenden Unterlage ist nur für die Objektkennung (Typ 130) vorgesehen.")
            }
            if isObject, let a = ref.child("Attachment") {
                c.fail("UBL-CR-666", a, de: "Eine Objektkennung (Typ 130, BT-18) darf keine Anlage enthalten; Anlagen gehören in eine eigene AdditionalDocumentReference.")
            }
            if isObject, let d = ref.child("DocumentDescription") {
                c.fail("UBL-CR-673", d, de: "Eine Objektkennung (Typ 130, BT-18) darf keine Beschreibung enthalten.")
            }
        }
        // UBL-DT-18: @name only on PaymentMeansCode (the payment means text, BT-82).
        if let e = c.attributed.first(where: { $0.attribute("name") != nil && $0.name != "PaymentMeansCode" }) {
            c.fail("UBL-DT-18", e, de: "Das Attribut name ist nur am Zahlungsmittel-Code (BT-82) vorgesehen.")
        }
        UBLDataTypes.run(c)
        let lineName = c.scenario.syntax == .ublCreditNote ? "CreditNoteLine" : "InvoiceLine"
        for line in r.children(lineName) {
            if (line.child("Item")?.children("ClassifiedTaxCategory").count ?? 0) != 1 {
                c.fail("UBL-SR-48", line, de: "Jede Position muss genau eine Steuerkategorie (ClassifiedTaxCategory) haben.")
            }
        }
        if c.isExtension {
            // BR-DEX-03: every sub invoice line carries exactly one VAT category.
            let bad = c.named("SubInvoiceLine").contains { ($0.child("Item")?.children("ClassifiedTaxCategory").count ?? 0) != 1 }
            if bad { c.fail("BR-DEX-03", r, de: "Jede Unterposition (BG-DEX-01) muss genau eine Umsatzsteuerangabe (BG-DEX-06) enthalten.") }
            // BR-DEX-02 (warning): a line with sub lines carries the sum of their net amounts.
            func subLineSums(_ l: InvoiceLine) {
                if !l.subLines.isEmpty, let net = l.netAmount?.value, net != sum(l.subLines.map(\.netAmount)) {
                    c.fail("BR-DEX-02", l.location, de: "Der Nettobetrag (BT-131) der Position \(l.id) soll die Summe der Nettobeträge ihrer direkten Unterpositionen sein (\(sum(l.subLines.map(\.netAmount)))).")
                }
                for s in l.subLines { subLineSums(s) }
            }
            if c.isUBL { for l in c.invoice.lines { subLineSums(l) } }
            for p in r.children("PrepaidPayment") {
                if p.child("ID")?.normalizedText.isEmpty ?? true { c.fail("BR-DEX-10", p, de: "Die Art der Zahlung eines Dritten (BT-DEX-001) fehlt.") }
                if p.child("PaidAmount")?.normalizedText.isEmpty ?? true { c.fail("BR-DEX-11", p, de: "Der Betrag der Zahlung eines Dritten (BT-DEX-002) fehlt.") }
                if p.child("InstructionID")?.normalizedText.isEmpty ?? true { c.fail("BR-DEX-12", p, de: "Die Beschreibung der Zahlung eines Dritten (BT-DEX-003) fehlt.") }
                // as bound: substring-after the raw text's first '.', whitespace included
                if let a = p.child("PaidAmount"), let dot = a.text.firstIndex(of: "."), a.text[dot...].count - 1 > 2 {
                    c.fail("BR-DEX-13", p, de: "Der Betrag der Zahlung eines Dritten (BT-DEX-002) hat mehr als zwei Nachkommastellen.")
                }
                if p.child("PaidAmount")?.attribute("currencyID") != c.invoice.currency {
                    c.fail("BR-DEX-14", p, de: "Die Währung der Zahlung eines Dritten (BT-DEX-002) muss die Rechnungswährung (BT-5) sein.")
                }
            }
        }
    }
}

/// CII syntax rules (CII-SR-*) and the CII-only XRechnung rules.
enum CIISyntax {
    static func run(_ c: RuleContext) {
        let r = c.root
        CIIRestrictions.run(c)
        if c.named("TaxPointDate").count > 1 { c.fail("CII-SR-461", r, de: "Das Umsatzsteuerdatum (BT-7, TaxPointDate) darf nur einmal vorkommen.") }
        let agreement = r.first("SupplyChainTradeTransaction", "ApplicableHeaderTradeAgreement")
        // as bound: not(Party/DefinedTradeContact/PersonName and Party/DefinedTradeContact/DepartmentName)
        // — a person and a department name among the party's contacts (two contacts with a name each pass)
        func contactNames(_ party: XElement?) -> Int {
            guard let party else { return 0 }
            let contacts = party.children("DefinedTradeContact")
            return contacts.contains { !$0.children("PersonName").isEmpty } && contacts.contains { !$0.children("DepartmentName").isEmpty } ? 2 : 0
        }
        if contactNames(agreement?.child("SellerTradeParty")) > 1 {
            c.fail("CII-SR-465", agreement?.child("SellerTradeParty"), de: "Für den Ansprechpartner des Verkäufers (BT-41) ist nur ein Element erlaubt (PersonName oder DepartmentName).")
        }
        if contactNames(agreement?.child("BuyerTradeParty")) > 1 {
            c.fail("CII-SR-466", agreement?.child("BuyerTradeParty"), de: "Für den Ansprechpartner des Käufers (BT-56) ist nur ein Element erlaubt (PersonName oder DepartmentName).")
        }
        // BR-50 / BR-61 in CII: a creditor account must carry IBANID or ProprietaryID.
        for pm in r.all("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement", "SpecifiedTradeSettlementPaymentMeans") {
            let code = pm.child("TypeCode")?.normalizedText ?? ""
            for acc in pm.children("PayeePartyCreditorFinancialAccount") where acc.child("IBANID") == nil && acc.child("ProprietaryID") == nil {
                c.fail("BR-50", acc, de: "Die Kennung des Zahlungskontos (BT-84, IBAN) fehlt.")
                if code == "30" || code == "58" {
                    c.fail("BR-61", acc, de: "Bei Überweisung (Code 30 oder 58) muss die Kennung des Zahlungskontos (BT-84) angegeben sein.")
                }
            }
        }
        if c.isExtension, r.first("SupplyChainTradeTransaction") != nil {
            if !c.named("ParentLineID").isEmpty {
                c.fail("BR-DEX-15", r, de: "Diese CII-Datei verwendet anscheinend Unterpositionen (ParentLineID); XRechnung unterstützt sie in CII nicht.")
            }
        }
        if c.xr {
            for item in r.all("SupplyChainTradeTransaction", "IncludedSupplyChainTradeLineItem") {
                guard let ag = item.child("SpecifiedLineTradeAgreement") else { continue }
                let gross = ag.child("GrossPriceProductTradePrice")?.child("BasisQuantity")
                let net = ag.child("NetPriceProductTradePrice")?.child("BasisQuantity")
                var bad = false
                if let g = gross, let n = net, DecimalValue(g.normalizedText)?.value != DecimalValue(n.normalizedText)?.value { bad = true }
                if let n = net, let unit = n.attribute("unitCode"), gross?.attribute("unitCode") != unit, gross != nil { bad = true }
                if bad { c.fail("BR-TMP-3", item, de: "Die Basismenge des Preises (BT-149) und ihre Einheit (BT-150) müssen beim Brutto- und beim Nettopreis gleich sein.") }
                if item.child("SpecifiedLineTradeSettlement")?.children("ApplicableTradeTax").count != 1 {
                    c.fail("BR-TMP-1", item, de: "Jede Position darf genau eine Umsatzsteuerangabe (BG-30) enthalten.")
                }
            }
        }
    }
}

/// UBL data type rules: amounts with at most two decimals (UBL-DT-01), binary objects with MIME
/// code and file name (UBL-DT-06/07).
enum UBLDataTypes {
    static func run(_ c: RuleContext) {
        for e in c.index.amounts where !insidePriceAllowance(e) {
            // XPath string-length(substring-after(., '.')) <= 2, on the text as written
            if let dot = e.text.utf8.firstIndex(of: UInt8(ascii: ".")), e.text.utf8[e.text.utf8.index(after: dot)...].count > 2 {
                c.fail("UBL-DT-01", e, de: "Der Betrag „\(e.normalizedText)“ hat mehr als zwei Nachkommastellen; Beträge bitte auf Cent angeben.")
            }
        }
        for e in c.index.binaryObjects {
            if e.attribute("mimeCode") == nil { c.fail("UBL-DT-06", e, de: "Die eingebettete Anlage braucht einen MIME-Code (Attribut mimeCode).") }
            if e.attribute("filename") == nil { c.fail("UBL-DT-07", e, de: "Die eingebettete Anlage braucht einen Dateinamen (Attribut filename).") }
        }
    }

    /// Amounts of a price allowance (BT-147, BT-148) have their own precision.
    static func insidePriceAllowance(_ e: XElement) -> Bool {
        var p = e.parent
        while let x = p {
            if x.name == "AllowanceCharge", x.parent?.name == "Price" { return true }
            p = x.parent
        }
        return false
    }
}

/// CII-SR-* and CII-DT-* of the CII binding: the table (`SyntaxRestrictionTables.cii`) plus the
/// restrictions with a count or a condition. In the artefacts all of them sit in one pattern,
/// where a node is checked by the first rule whose context matches; so ExchangedDocument/TypeCode
/// is a TypeCodeType (DT-008/009) and never reaches CII-DT-010…012, which are therefore not checked;
/// CII-SR-464 ("A or B or (not A and not B)") is always true and is not checked either.
enum CIIRestrictions {
    static func run(_ c: RuleContext) {
        let table = SyntaxRestrictions.cii
        for (rule, e) in table.violations(c.index.restrictionCandidates) {
            c.fail(rule.id, e, de: "„\(e.name)“ (\(rule.path)) gehört nicht zu EN 16931 und wird nicht verarbeitet; bitte weglassen.")
        }
        counts(c)
        dataTypes(c)
    }

    static func atMostOnce(_ c: RuleContext, _ rule: String, _ elements: some Collection<XElement>, at: XElement, _ what: String) {
        if elements.count > 1, let second = elements.dropFirst().first { c.fail(rule, second, de: "\(what) darf höchstens einmal vorkommen.") }
    }

    static func counts(_ c: RuleContext) {
        let r = c.root
        if let ctx = r.child("ExchangedDocumentContext") {
            atMostOnce(c, "CII-SR-003", ctx.children("BusinessProcessSpecifiedDocumentContextParameter"), at: ctx, "Die Prozesskennung (BusinessProcessSpecifiedDocumentContextParameter)")
        }
        for note in r.child("ExchangedDocument")?.children("IncludedNote") ?? .empty {
            atMostOnce(c, "CII-SR-030", note.children("Content"), at: note, "Der Text einer Bemerkung (Content)")
        }
        let tx = r.child("SupplyChainTradeTransaction")
        for line in tx?.children("IncludedSupplyChainTradeLineItem") ?? .empty {
            if let doc = line.child("AssociatedDocumentLineDocument") {
                let notes = doc.children("IncludedNote")
                atMostOnce(c, "CII-SR-039", notes, at: doc, "Die Bemerkung zur Position (IncludedNote)")
                atMostOnce(c, "CII-SR-040", notes.flatMap { $0.children("Content") }, at: doc, "Der Text der Bemerkung zur Position (Content)")
            }
            if let settlement = line.child("SpecifiedLineTradeSettlement"), settlement.children("ApplicableTradeTax").count != 1 {
                c.fail("CII-SR-454", settlement, de: "Jede Position braucht genau eine Umsatzsteuerangabe (ApplicableTradeTax, BG-30).")
            }
            if let product = line.child("SpecifiedTradeProduct"), let origin = product.children("OriginTradeCountry").first,
               product.children("OriginTradeCountry").flatMap({ $0.children("ID") }).count != 1 {
                c.fail("CII-SR-090", origin, de: "Das Herkunftsland (BT-159) braucht genau einen Ländercode (ID).")
            }
            if let gross = line.child("SpecifiedLineTradeAgreement")?.child("GrossPriceProductTradePrice") {
                // CII-SR-119: a price allowance needs ChargeIndicator false and an amount, or neither.
                let acs = gross.children("AppliedTradeAllowanceCharge")
                let indicators = acs.compactMap { $0.child("ChargeIndicator") }
                let amounts = acs.flatMap { $0.children("ActualAmount") }
                let falseIndicator = indicators.contains { XElement.normalizeSpace($0.child("Indicator")?.text ?? "") == "false" }
                if !((falseIndicator && !amounts.isEmpty) || (indicators.isEmpty && amounts.isEmpty)) {
                    c.fail("CII-SR-119", gross, de: "Am Bruttopreis sind nur Rabatte erlaubt (ChargeIndicator false mit Betrag).")
                }
            }
        }
        let agreement = tx?.child("ApplicableHeaderTradeAgreement")
        let delivery = tx?.child("ApplicableHeaderTradeDelivery")
        let settlement = tx?.child("ApplicableHeaderTradeSettlement")
        // CII-SR-449/450/451: a party identifier either as ID or as GlobalID, not both.
        for (rule, party, what) in [("CII-SR-449", delivery?.child("ShipToTradeParty"), "Lieferort"), ("CII-SR-450", agreement?.child("BuyerTradeParty"), "Käufer"),
                                    ("CII-SR-451", settlement?.child("PayeeTradeParty"), "Zahlungsempfänger")] {
            if let p = party, p.child("ID") != nil, p.child("GlobalID") != nil {
                c.fail(rule, p, de: "Für den \(what) bitte nur eine Kennung angeben: ID oder GlobalID.")
            }
        }
        if let s = settlement {
            let terms = s.children("SpecifiedTradePaymentTerms")
            atMostOnce(c, "CII-SR-452", terms, at: s, "Die Zahlungsbedingungen (SpecifiedTradePaymentTerms)")
            atMostOnce(c, "CII-SR-453", terms.flatMap { $0.children("Description") }, at: s, "Der Text der Zahlungsbedingungen (BT-20)")
        }
        if let a = agreement {
            let refs = a.children("AdditionalReferencedDocument")
            atMostOnce(c, "CII-SR-457", refs.filter { $0.child("TypeCode")?.text == "50" }, at: a, "Die Ausschreibungs- oder Loskennung (BT-17, TypeCode 50)")
            atMostOnce(c, "CII-SR-458", refs.filter { $0.child("TypeCode")?.text == "130" }, at: a, "Die Objektkennung (BT-18, TypeCode 130)")
        }
    }

    static let idAttributes = ["schemeName", "schemeAgencyName", "schemeDataURI", "schemeURI"]

    static func dataTypes(_ c: RuleContext) {
        let r = c.root
        let tx = r.child("SupplyChainTradeTransaction")
        // CII-DT-013/014 on the document element
        if r.attribute("languageID") != nil { c.fail("CII-DT-013", r, de: "Das Attribut languageID gehört nicht an das Dokument.") }
        if r.attribute("languageLocaleID") != nil { c.fail("CII-DT-014", r, de: "Das Attribut languageLocaleID gehört nicht an das Dokument.") }
        // Identifiers without any scheme attribute (DT-001…007) and other identifiers (DT-101…104).
        var plainIDs: [XElement] = []
        if let id = r.child("ExchangedDocumentContext")?.child("GuidelineSpecifiedDocumentContextParameter")?.child("ID") { plainIDs.append(id) }
        if let id = r.child("ExchangedDocument")?.child("ID") { plainIDs.append(id) }
        for line in tx?.children("IncludedSupplyChainTradeLineItem") ?? .empty {
            if let id = line.child("AssociatedDocumentLineDocument")?.child("LineID") { plainIDs.append(id) }
            if let id = line.child("SpecifiedTradeProduct")?.child("SellerAssignedID") { plainIDs.append(id) }
        }
        let plain = Set(plainIDs.map(ObjectIdentifier.init))
        for e in plainIDs {
            for (n, a) in (idAttributes + ["schemeID", "schemeAgencyID", "schemeVersionID"]).enumerated() where e.attribute(a) != nil {
                c.fail("CII-DT-00\(n + 1)", e, de: "Das Attribut \(a) gehört nicht an \(e.name).")
            }
        }
        let lineCategoryCodes = Set((tx?.children("IncludedSupplyChainTradeLineItem") ?? .empty).compactMap { $0.child("SpecifiedLineTradeSettlement")?.child("ApplicableTradeTax")?.child("CategoryCode") }.map(ObjectIdentifier.init))
        let anyBilledUnit = (tx?.children("IncludedSupplyChainTradeLineItem") ?? .empty).contains { $0.child("SpecifiedLineTradeDelivery")?.child("BilledQuantity")?.attribute("unitCode") != nil }
        for e in c.attributed where e.namespace == XMLNamespaces.ram {
            let name = e.name
            if name.hasSuffix("ID"), !plain.contains(ObjectIdentifier(e)) {
                for (n, a) in idAttributes.enumerated() where e.attribute(a) != nil { c.fail("CII-DT-10\(n + 1)", e, de: "Das Attribut \(a) gehört nicht an \(name).") }
            }
            if name == "TypeCode" {
                if e.attribute("name") != nil { c.fail("CII-DT-008", e, de: "Das Attribut name gehört nicht an TypeCode.") }
                if e.attribute("listURI") != nil { c.fail("CII-DT-009", e, de: "Das Attribut listURI gehört nicht an TypeCode.") }
            }
            if name == "CategoryCode", lineCategoryCodes.contains(ObjectIdentifier(e)) {
                for (n, a) in ["listID", "listAgencyID", "listVersionID", "listURI"].enumerated() where e.attribute(a) != nil {
                    c.fail("CII-DT-04\(n + 5)", e, de: "Das Attribut \(a) gehört nicht an die Steuerkategorie der Position.")
                }
            }
            if name.hasSuffix("Amount"), name != "TaxTotalAmount" {
                if e.attribute("currencyID") != nil { c.fail("CII-DT-031", e, de: "Nur der Steuergesamtbetrag (TaxTotalAmount) trägt eine Währung; an \(name) bitte kein currencyID.") }
                if e.attribute("currencyCodeListVersionID") != nil { c.fail("CII-DT-032", e, de: "Das Attribut currencyCodeListVersionID gehört nicht an \(name).") }
            }
            if name.hasSuffix("Quantity") {
                if e.attribute("unitCode") != nil, !anyBilledUnit { c.fail("CII-DT-033", e, de: "Eine Einheit (unitCode) ohne Einheit an der Menge der Positionen ist nicht vorgesehen.") }
                for (n, a) in ["unitCodeListID", "unitCodeListAgencyID", "unitCodeListAgencyName"].enumerated() where e.attribute(a) != nil {
                    c.fail("CII-DT-03\(n + 4)", e, de: "Das Attribut \(a) gehört nicht an \(name).")
                }
            }
        }
        // Referenced documents: elements only some of them may carry.
        for name in referencedDocuments {
            for d in c.named(name) {
                let additional = name == "AdditionalReferencedDocument"
                let type = d.child("TypeCode")?.text
                if d.child("URIID") != nil, !(additional && type == "916") { c.fail("CII-DT-015", d, de: "URIID (BT-124) ist nur an einer rechnungsbegründenden Unterlage (TypeCode 916) vorgesehen.") }
                if d.child("TypeCode") != nil, !(additional && ["50", "130", "916"].contains(type ?? "")) { c.fail("CII-DT-018", d, de: "TypeCode ist nur an AdditionalReferencedDocument mit 50, 130 oder 916 vorgesehen.") }
                if d.child("Name") != nil, !(additional && type == "916") { c.fail("CII-DT-021", d, de: "Name (BT-123) ist nur an einer rechnungsbegründenden Unterlage (TypeCode 916) vorgesehen.") }
                if d.child("AttachmentBinaryObject") != nil, !(additional && type == "916") { c.fail("CII-DT-022", d, de: "Eine Anlage (BT-125) ist nur an einer rechnungsbegründenden Unterlage (TypeCode 916) vorgesehen.") }
                if d.child("ReferenceTypeCode") != nil, !(additional && type == "130") { c.fail("CII-DT-024", d, de: "ReferenceTypeCode (BT-18-1) ist nur an der Objektkennung (TypeCode 130) vorgesehen.") }
                if d.child("FormattedIssueDateTime") != nil, name != "InvoiceReferencedDocument" { c.fail("CII-DT-027", d, de: "Ein Datum (FormattedIssueDateTime) ist nur am Verweis auf eine frühere Rechnung (BT-26) vorgesehen.") }
            }
        }
        // (bound to udt:DateTimeString only: the qdt one of a referenced invoice's date is not checked)
        for d in c.named("DateTimeString") where d.namespace == XMLNamespaces.udt && d.attribute("format") == "102" && !dateOK(d.text) {
            c.fail("CII-DT-097", d, de: "Das Datum „\(d.normalizedText)“ muss im Format JJJJMMTT angegeben sein (z. B. 20260131).")
        }
        // Taxes: VAT only; some elements only at document level or in ApplicableTradeTax.
        for name in ["ApplicableTradeTax", "AppliedTradeTax", "CategoryTradeTax", "IncludedTradeTax", "SubtotalCalculatedTradeTax"] {
            for t in c.named(name) {
                let header = isInHeaderSettlement(t)
                if let code = t.child("TypeCode"), code.text != "VAT" { c.fail("CII-DT-037", code, de: "Die Steuerart (TypeCode) muss „VAT“ sein.") }
                if t.child("BasisAmount") != nil, !header { c.fail("CII-DT-041", t, de: "BasisAmount ist nur in der Steueraufschlüsselung auf Dokumentebene vorgesehen.") }
                if t.child("ExemptionReasonCode") != nil, name != "ApplicableTradeTax" { c.fail("CII-DT-052", t, de: "ExemptionReasonCode ist nur in ApplicableTradeTax vorgesehen.") }
                if t.child("ExemptionReason") != nil, name != "ApplicableTradeTax" { c.fail("CII-DT-098", t, de: "ExemptionReason ist nur in ApplicableTradeTax vorgesehen.") }
                if t.child("TaxPointDate") != nil, !header { c.fail("CII-DT-054", t, de: "TaxPointDate (BT-7) ist nur auf Dokumentebene vorgesehen.") }
                if t.child("DueDateTypeCode") != nil, !header { c.fail("CII-DT-058", t, de: "DueDateTypeCode (BT-8) ist nur auf Dokumentebene vorgesehen.") }
            }
        }
    }

    /// CII-DT-097: a date with format 102 is YYYYMMDD (month 01–12, day 01–31), spaces around allowed.
    static func dateOK(_ text: String) -> Bool {
        let b = Array(XElement.normalizeSpace(text).utf8)
        guard b.count == 8, b.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        let month = Int(b[4] - 0x30) * 10 + Int(b[5] - 0x30), day = Int(b[6] - 0x30) * 10 + Int(b[7] - 0x30)
        return (1...12).contains(month) && (1...31).contains(day)
    }

    /// Every …ReferencedDocument element of CII D16B (the binding's ReferencedDocumentType).
    static let referencedDocuments = ["AdditionalReferencedDocument", "InvoiceReferencedDocument", "BuyerOrderReferencedDocument", "ContractReferencedDocument",
        "DespatchAdviceReferencedDocument", "ReceivingAdviceReferencedDocument", "SellerOrderReferencedDocument",
        "AdditionalReferenceReferencedDocument", "AssociatedReferencedDocument", "CertificationEvidenceReferenceReferencedDocument",
        "ConsumptionReportReferencedDocument", "DeliveryNoteReferencedDocument", "DemandForecastReferencedDocument", "FactoringAgreementReferencedDocument",
        "FactoringListReferencedDocument", "InspectionReferenceReferencedDocument", "InvoiceReferenceReferencedDocument", "LetterOfCreditReferencedDocument",
        "MSDSReferenceReferencedDocument", "OrderResponseReferencedDocument", "PackingListReferencedDocument", "PriceListReferencedDocument",
        "ProFormaInvoiceReferencedDocument", "PromotionalDealReferencedDocument", "PurchaseConditionsReferencedDocument", "QuotationReferencedDocument",
        "RequisitionerReferencedDocument", "SupplyInstructionReferencedDocument", "TransportContractReferencedDocument", "UltimateCustomerOrderReferencedDocument"]

    static func isInHeaderSettlement(_ e: XElement) -> Bool {
        var p = e.parent
        while let x = p { if x.name == "ApplicableHeaderTradeSettlement" { return true }; p = x.parent }
        return false
    }
}
