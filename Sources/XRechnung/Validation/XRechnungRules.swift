import RathausCore
import Foundation

/// XRechnung 3.0.2 CIUS rules (BR-DE-*, BR-TMP-*), bound to the syntax as the XRechnung
/// schematron binds them. Only run in the XRechnung scenarios.
public enum XRechnungCIUS {
    static func run(_ c: RuleContext) {
        let inv = c.invoice
        let r = c.root
        let ubl = c.isUBL
        let settlement = r.first("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement")

        if ubl ? r.child("PaymentMeans") == nil : settlement?.child("SpecifiedTradeSettlementPaymentMeans") == nil {
            c.fail("BR-DE-1", r, de: "Die Zahlungsanweisungen (BG-16, z. B. Zahlungsart und IBAN) fehlen.")
        }
        if inv.buyerReference.isBlank {
            c.fail("BR-DE-15", r, de: "Die Käuferreferenz (BT-10) fehlt. Bei öffentlichen Auftraggebern ist das die Leitweg-ID.")
        }
        // BR-DE-16: VAT categories S, Z, E, AE, K, G, L, M require the seller's tax number or a tax representative.
        let supported = XRechnungCIUS.supportedCategories
        let usesSupported: Bool
        let hasTaxID: Bool
        if ubl {
            // UBL as bound: the codes as written (" S" is none of them) of the lines and of the
            // document allowances/charges whose indicator reads "false" or "true"; any non-blank
            // CompanyID of the seller's tax schemes, or a tax representative
            let charges = r.children("AllowanceCharge").filter { $0.children("ChargeIndicator").contains { $0.text == "false" || $0.text == "true" } }
            let codes = charges.flatMap { $0.children("TaxCategory") }.flatMap { $0.children("ID") }
                + (Array(r.children("InvoiceLine")) + Array(r.children("CreditNoteLine"))).flatMap { $0.children("Item") }.flatMap { $0.children("ClassifiedTaxCategory") }.flatMap { $0.children("ID") }
            usesSupported = codes.contains { supported.contains($0.text) }
            hasTaxID = r.child("TaxRepresentativeParty") != nil
                || r.all("AccountingSupplierParty", "Party", "PartyTaxScheme", "CompanyID").contains { !$0.normalizedText.isEmpty }
        } else {
            let used = inv.lines.compactMap(\.vatCategory) + inv.allowances.compactMap(\.vatCategory) + inv.charges.compactMap(\.vatCategory)
            usesSupported = used.contains(where: supported.contains)
            hasTaxID = !inv.seller.vatID.isBlank || !inv.seller.taxRegistrationID.isBlank || inv.taxRepresentative != nil
        }
        if usesSupported {
            if !hasTaxID {
                c.fail("BR-DE-16", r, de: "Bei Umsatzsteuerkategorien S, Z, E, AE, K, G, L oder M muss die Umsatzsteuer-Identifikationsnummer (BT-31) oder Steuernummer (BT-32) des Verkäufers oder ein Steuervertreter (BG-11) angegeben sein.")
            }
        }
        if let t = inv.typeCode, !["326", "380", "384", "389", "381", "875", "876", "877"].contains(t) {
            c.fail("BR-DE-17", r, de: "Der Rechnungstyp (BT-3) soll 326, 380, 384, 389, 381, 875, 876 oder 877 sein, nicht „\(t)“.")
        } else if inv.typeCode == nil {
            // as bound: a missing code normalises to "" and is none of them
            c.fail("BR-DE-17", r, de: "Der Rechnungstyp (BT-3) fehlt; er soll 326, 380, 384, 389, 381, 875, 876 oder 877 sein.")
        }
        let firstTerms: XElement? = ubl ? r.child("PaymentTerms")?.child("Note") : settlement?.child("SpecifiedTradePaymentTerms")?.child("Description")
        if let several = skontoOverSeveralTerms(c) {
            // several payment terms: the official rule stops at run time unless its first Skonto line fails
            if !several, let note = firstTerms {
                c.fail("BR-DE-18", note, de: "Die Skonto-Angabe in den Zahlungsbedingungen (BT-20) hat nicht das XRechnung-Format. Richtig ist je Zeile z. B. „#SKONTO#TAGE=14#PROZENT=2.00#“ (optional „#BASISBETRAG=100.00#“), in Großbuchstaben, ohne Leerzeichen, jede Skonto-Zeile mit einem Zeilenumbruch abgeschlossen.")
            }
        } else if let note = firstTerms, !skontoOK(note.text) {
            c.fail("BR-DE-18", note, de: "Die Skonto-Angabe in den Zahlungsbedingungen (BT-20) hat nicht das XRechnung-Format. Richtig ist je Zeile z. B. „#SKONTO#TAGE=14#PROZENT=2.00#“ (optional „#BASISBETRAG=100.00#“), in Großbuchstaben, ohne Leerzeichen, jede Skonto-Zeile mit einem Zeilenumbruch abgeschlossen.")
        }
        if c.isCII, let s = settlement, s.children("SpecifiedTradePaymentTerms").contains(where: { $0.children("Description").count > 1 }) {
            c.fail("BR-DE-18-a", s, de: "Die Zahlungsbedingungen (BT-20) dürfen nur einmal angegeben sein.")
        }
        // BR-DE-21 as bound: the identifier as written (" urn:…" is not it), UBL at the root,
        // CII in each document context
        let xrIDs = XRechnungCIUS.xrechnungIDs
        if ubl, !r.children("CustomizationID").contains(where: { xrIDs.contains($0.text) }) {
            c.fail("BR-DE-21", r, de: "Die Spezifikationskennung (BT-24) soll die Kennung von XRechnung 3.0 sein.")
        }
        if c.isCII {
            for context in r.children("ExchangedDocumentContext")
            where !context.children("GuidelineSpecifiedDocumentContextParameter").flatMap({ $0.children("ID") }).contains(where: { xrIDs.contains($0.text) }) {
                c.fail("BR-DE-21", context, de: "Die Spezifikationskennung (BT-24) soll die Kennung von XRechnung 3.0 sein.")
            }
        }
        let filenames = inv.attachments.compactMap(\.filename)
        if Set(filenames).count != filenames.count {
            c.fail("BR-DE-22", r, de: "Die Dateinamen der eingebetteten Anlagen (BT-125, Attribut filename) müssen eindeutig sein.")
        }
        if inv.typeCode == "384", inv.precedingInvoices.isEmpty {
            c.fail("BR-DE-26", r, de: "Eine Rechnungskorrektur (Code 384) soll auf die vorausgegangene Rechnung (BG-3) verweisen.")
        }
        // Seller contact and addresses.
        let sellerParty = ubl ? r.first("AccountingSupplierParty", "Party") : r.first("SupplyChainTradeTransaction", "ApplicableHeaderTradeAgreement", "SellerTradeParty")
        // UBL BR-DE-2 is bound to AccountingSupplierParty: without its Party the contact is missing too
        if ubl, sellerParty == nil, let asp = r.child("AccountingSupplierParty") {
            c.fail("BR-DE-2", asp, de: "Die Kontaktangaben des Verkäufers (BG-6) fehlen.")
        }
        if let sp = sellerParty {
            let contact = ubl ? sp.child("Contact") : sp.child("DefinedTradeContact")
            if contact == nil { c.fail("BR-DE-2", sp, de: "Die Kontaktangaben des Verkäufers (BG-6) fehlen.") }
            if let k = contact {
                let name = ubl ? k.child("Name") : (k.child("PersonName") ?? k.child("DepartmentName"))
                let nameOK = ubl ? !(name?.normalizedText.isEmpty ?? true) : [k.child("PersonName"), k.child("DepartmentName")].contains { !($0?.normalizedText.isEmpty ?? true) }
                if !nameOK { c.fail("BR-DE-5", k, de: "Der Ansprechpartner des Verkäufers (BT-41) fehlt.") }
                let phone = ubl ? k.child("Telephone") : k.first("TelephoneUniversalCommunication", "CompleteNumber")
                let mail = ubl ? k.child("ElectronicMail") : k.first("EmailURIUniversalCommunication", "URIID")
                if phone?.normalizedText.isEmpty ?? true { c.fail("BR-DE-6", k, de: "Die Telefonnummer des Ansprechpartners (BT-42) fehlt.") }
                if mail?.normalizedText.isEmpty ?? true { c.fail("BR-DE-7", k, de: "Die E-Mail-Adresse des Ansprechpartners (BT-43) fehlt.") }
                if (phone?.normalizedText ?? "").utf8.filter({ $0 >= 48 && $0 <= 57 }).count < 3 { c.fail("BR-DE-27", k, de: "Die Telefonnummer (BT-42) soll mindestens drei Ziffern enthalten.") }
                if !emailOK(mail?.normalizedText ?? "") { c.fail("BR-DE-28", k, de: "Die E-Mail-Adresse (BT-43) soll genau ein @ mit mindestens zwei Zeichen davor und danach enthalten.") }
            }
            let addr = ubl ? sp.child("PostalAddress") : sp.child("PostalTradeAddress")
            if let a = addr {
                if (a.child("CityName")?.normalizedText ?? "").isEmpty { c.fail("BR-DE-3", a, de: "Der Ort des Verkäufers (BT-37) fehlt.") }
                if (a.child(ubl ? "PostalZone" : "PostcodeCode")?.normalizedText ?? "").isEmpty { c.fail("BR-DE-4", a, de: "Die Postleitzahl des Verkäufers (BT-38) fehlt.") }
            }
        }
        let buyerParty = ubl ? r.first("AccountingCustomerParty", "Party") : r.first("SupplyChainTradeTransaction", "ApplicableHeaderTradeAgreement", "BuyerTradeParty")
        if let a = ubl ? buyerParty?.child("PostalAddress") : buyerParty?.child("PostalTradeAddress") {
            if (a.child("CityName")?.normalizedText ?? "").isEmpty { c.fail("BR-DE-8", a, de: "Der Ort des Käufers (BT-52) fehlt.") }
            if (a.child(ubl ? "PostalZone" : "PostcodeCode")?.normalizedText ?? "").isEmpty { c.fail("BR-DE-9", a, de: "Die Postleitzahl des Käufers (BT-53) fehlt.") }
        }
        let deliveryAddress = ubl ? r.first("Delivery", "DeliveryLocation", "Address") : r.first("SupplyChainTradeTransaction", "ApplicableHeaderTradeDelivery", "ShipToTradeParty", "PostalTradeAddress")
        if let a = deliveryAddress {
            if (a.child("CityName")?.normalizedText ?? "").isEmpty { c.fail("BR-DE-10", a, de: "Der Ort der Lieferanschrift (BT-77) fehlt.") }
            if (a.child(ubl ? "PostalZone" : "PostcodeCode")?.normalizedText ?? "").isEmpty { c.fail("BR-DE-11", a, de: "Die Postleitzahl der Lieferanschrift (BT-78) fehlt.") }
        }
        for b in inv.vatBreakdown where b.rate == nil {
            c.fail("BR-DE-14", b.location, de: "Der Steuersatz der Umsatzsteueraufschlüsselung (BT-119) fehlt.")
        }
        paymentMeans(c)
        // BR-DE-TMP-32: a delivery date, an invoicing period, or a period on every line.
        let hasDate: Bool
        if ubl {
            let lines = r.children(c.scenario.syntax == .ublCreditNote ? "CreditNoteLine" : "InvoiceLine")
            hasDate = r.first("Delivery", "ActualDeliveryDate") != nil || r.child("InvoicePeriod") != nil || lines.allSatisfy { $0.child("InvoicePeriod") != nil }
        } else {
            let tx = r.child("SupplyChainTradeTransaction")
            let lines = tx?.children("IncludedSupplyChainTradeLineItem") ?? .empty
            hasDate = tx?.first("ApplicableHeaderTradeDelivery", "ActualDeliverySupplyChainEvent", "OccurrenceDateTime") != nil
                || settlement?.child("BillingSpecifiedPeriod") != nil
                || lines.allSatisfy { $0.first("SpecifiedLineTradeSettlement", "BillingSpecifiedPeriod") != nil }
        }
        if !hasDate {
            c.fail("BR-DE-TMP-32", r, de: "Die Rechnung sollte das Liefer-/Leistungsdatum enthalten: Lieferdatum (BT-72), Abrechnungszeitraum (BG-14) oder in jeder Position einen Leistungszeitraum (BG-26).")
        }
        for a in inv.attachments {
            if let u = a.uri, ubl, !urlOK(u) { c.fail("BR-TMP-2", r, de: "Der Speicherort der externen Unterlage (BT-124) „\(u)“ muss eine absolute URL sein (z. B. https://…).") }
        }
        if c.isCVD { cvd(c) }
    }

    /// BR-DE-19 … BR-DE-25, BR-DE-29 … BR-DE-31: payment means and the groups they require.
    static func paymentMeans(_ c: RuleContext) {
        let r = c.root
        if c.isUBL {
            for pm in r.children("PaymentMeans") {
                let code = pm.child("PaymentMeansCode")?.normalizedText ?? ""
                let ct = pm.child("PayeeFinancialAccount") != nil
                let card = pm.child("CardAccount") != nil
                let dd = pm.child("PaymentMandate") != nil
                check(c, pm, code: code, creditTransfer: ct, card: card, directDebit: dd,
                      iban: pm.first("PayeeFinancialAccount", "ID")?.normalizedText, debitIBAN: pm.first("PaymentMandate", "PayerFinancialAccount", "ID")?.normalizedText)
            }
            let mandates = r.all("PaymentMeans", "PaymentMandate")
            if !mandates.isEmpty {
                let creditor = (r.all("AccountingSupplierParty", "Party", "PartyIdentification", "ID") + r.all("PayeeParty", "PartyIdentification", "ID")).contains { $0.attribute("schemeID") == "SEPA" }
                if !creditor { c.fail("BR-DE-30", r, de: "Bei Lastschrift (BG-19) muss die Gläubiger-Identifikationsnummer (BT-90) angegeben sein.") }
                if r.all("PaymentMeans", "PaymentMandate", "PayerFinancialAccount", "ID").isEmpty {
                    c.fail("BR-DE-31", r, de: "Bei Lastschrift (BG-19) muss die IBAN des belasteten Kontos (BT-91) angegeben sein.")
                }
            }
        } else {
            guard let s = r.first("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement") else { return }
            let mandate = s.all("SpecifiedTradePaymentTerms", "DirectDebitMandateID").first != nil
            let creditor = s.child("CreditorReferenceID") != nil
            let debtor = !s.all("SpecifiedTradeSettlementPaymentMeans", "PayerPartyDebtorFinancialAccount", "IBANID").isEmpty
            for pm in s.children("SpecifiedTradeSettlementPaymentMeans") {
                let code = pm.child("TypeCode")?.normalizedText ?? ""
                let ddHere = mandate || creditor || pm.first("PayerPartyDebtorFinancialAccount", "IBANID") != nil
                // BR-DE-25-b also forbids the payment service provider (BT-86) in either CII path.
                let bt86 = pm.child("PayeeSpecifiedCreditorFinancialInstitution") != nil || pm.child("PayerSpecifiedDebtorFinancialInstitution") != nil
                check(c, pm, code: code, creditTransfer: pm.child("PayeePartyCreditorFinancialAccount") != nil,
                      card: pm.child("ApplicableTradeSettlementFinancialCard") != nil, directDebit: ddHere, creditTransferParts: bt86,
                      iban: pm.first("PayeePartyCreditorFinancialAccount", "IBANID")?.normalizedText,
                      debitIBAN: pm.first("PayerPartyDebtorFinancialAccount", "IBANID")?.normalizedText)
            }
            // CII has no element for BG-19: it exists when one of BT-89, BT-90, BT-91 does,
            // and then the others must be there too.
            if mandate || creditor || debtor {
                if !((mandate || debtor) && creditor) { c.fail("BR-DE-30", s, de: "Bei Lastschrift (BG-19) müssen die Gläubiger-Identifikationsnummer (BT-90) und Mandatsreferenz (BT-89) bzw. IBAN des belasteten Kontos (BT-91) angegeben sein.") }
                if !((mandate || creditor) && debtor) { c.fail("BR-DE-31", s, de: "Bei Lastschrift (BG-19) muss die IBAN des belasteten Kontos (BT-91) angegeben sein.") }
            }
        }
    }

    static func check(_ c: RuleContext, _ pm: XElement, code: String, creditTransfer: Bool, card: Bool, directDebit: Bool,
                      creditTransferParts: Bool = false, iban: String?, debitIBAN: String?) {
        switch code {
        case "30", "58":
            if code == "58", !ibanOK(iban ?? "") { c.fail("BR-DE-19", pm, de: "Die IBAN (BT-84) „\(iban ?? "")“ ist keine gültige IBAN (Prüfziffer falsch oder Format ungültig).") }
            if !creditTransfer { c.fail("BR-DE-23-a", pm, de: "Bei Überweisung (Code 30 oder 58) müssen die Kontoangaben (BG-17, IBAN) angegeben sein.") }
            if card || directDebit { c.fail("BR-DE-23-b", pm, de: "Bei Überweisung (Code 30 oder 58) dürfen keine Karten- (BG-18) oder Lastschriftangaben (BG-19) enthalten sein.") }
        case "48", "54", "55":
            if !card { c.fail("BR-DE-24-a", pm, de: "Bei Kartenzahlung (Code 48, 54, 55) müssen die Kartenangaben (BG-18) angegeben sein.") }
            if creditTransfer || directDebit { c.fail("BR-DE-24-b", pm, de: "Bei Kartenzahlung dürfen keine Überweisungs- (BG-17) oder Lastschriftangaben (BG-19) enthalten sein.") }
        case "59":
            if !ibanOK(debitIBAN ?? "") { c.fail("BR-DE-20", pm, de: "Die IBAN des belasteten Kontos (BT-91) „\(debitIBAN ?? "")“ ist keine gültige IBAN.") }
            if !directDebit { c.fail("BR-DE-25-a", pm, de: "Bei Lastschrift (Code 59) müssen die Lastschriftangaben (BG-19) angegeben sein.") }
            if creditTransfer || creditTransferParts || card { c.fail("BR-DE-25-b", pm, de: "Bei Lastschrift (Code 59) dürfen keine Überweisungs- (BG-17) oder Kartenangaben (BG-18) enthalten sein.") }
        default: break
        }
    }

    static func cvd(_ c: RuleContext) {
        let inv = c.invoice
        let r = c.root
        if inv.tenderReference.isBlank { c.fail("BR-DE-CVD-02", r, de: "Bei CVD-Rechnungen muss die Vergabe- oder Losnummer (BT-17) angegeben sein.") }
        if inv.contractReference.isBlank { c.fail("BR-DE-CVD-01", r, de: "Bei CVD-Rechnungen muss die Vertragsnummer (BT-12) angegeben sein.") }
        let hasCVD = inv.lines.contains { l in l.classifications.contains { $0.scheme == "CVD" } && l.attributes.contains { $0.name == "cva" } }
        if !hasCVD { c.fail("BR-DE-CVD-03", r, de: "Eine CVD-Rechnung braucht mindestens eine Position mit Klassifizierung „CVD“ (BT-158) und Attribut „cva“ (BT-160).") }
        for l in inv.lines {
            let cvdCount = l.classifications.filter { $0.scheme == "CVD" }.count
            let cvaCount = l.attributes.filter { $0.name == "cva" }.count
            if cvdCount > 0 && cvaCount != 1 { c.fail("BR-DE-CVD-06-a", l.location, de: "Position \(l.id) mit Klassifizierung „CVD“ braucht genau ein Attribut „cva“.") }
            if cvaCount > 0 && cvdCount != 1 { c.fail("BR-DE-CVD-06-b", l.location, de: "Position \(l.id) mit Attribut „cva“ braucht genau eine Klassifizierung „CVD“.") }
            for k in l.classifications {
                if k.scheme == "CVD", !cvdVehicleCategories.contains(k.value) {
                    c.fail("BR-DE-CVD-04", l.location, de: "Die Fahrzeugkategorie „\(k.value)“ in Position \(l.id) (BT-158, Schema „CVD“) ist nicht zulässig; erlaubt sind M1, M2, M3, N1, N2, N3.")
                }
                if let s = k.scheme, s != "CVD", !CodeLists.itemClassificationXRechnung.contains(s) {
                    c.fail("BR-TMP-CVD-01", l.location, de: "Das Schema „\(s)“ der Artikelklassifizierung (BT-158) in Position \(l.id) ist weder „CVD“ noch ein Code aus UNTDID 7143.")
                }
            }
            for a in l.attributes where a.name == "cva" && !cvaValues.contains(a.value) {
                c.fail("BR-DE-CVD-05", l.location, de: "Der Wert „\(a.value)“ des Attributs „cva“ (BT-161) in Position \(l.id) ist nicht zulässig; erlaubt sind clean, zero-emission, other.")
            }
        }
    }

    /// XRechnung CVD 0.9 (schematron 2.5.0, common.sch): vehicle categories and values of "cva".
    static let cvdVehicleCategories: Set<String> = ["M1", "M2", "M3", "N1", "N2", "N3"]
    static let cvaValues: Set<String> = ["clean", "zero-emission", "other"]

    /// BR-DE-18: every line of the first payment terms starting with '#' must be a Skonto entry,
    /// and the text after the last entry must begin with a line break.
    /// BR-DE-18 reads the first note of every payment terms element: for each Skonto line (in
    /// document order) it checks the line, then the text after the last `#…#` of *all* those notes
    /// with a one-value function. Two or more non-empty notes therefore stop the XRechnung
    /// transformation at the first Skonto line that passes (measured); a failing first line ends
    /// the rule before that (BR-DE-18). nil: fewer than two notes, or no Skonto line — checked
    /// as usual; true: the runtime error; false: BR-DE-18.
    static func skontoOverSeveralTerms(_ c: RuleContext) -> Bool? {
        let notes: [XElement] = c.isUBL
            ? c.root.children("PaymentTerms").compactMap { $0.children("Note").first }
            : (c.root.first("SupplyChainTradeTransaction", "ApplicableHeaderTradeSettlement")?.children("SpecifiedTradePaymentTerms") ?? .empty)
                .compactMap { $0.children("Description").first }
        guard notes.filter({ !$0.text.isEmpty }).count >= 2 else { return nil }
        let lines = notes.flatMap { n in
            n.text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        }
        guard let first = lines.map({ XElement.normalizeSpace(String($0)) }).first(where: { $0.hasPrefix("#") }) else { return nil }
        return skontoLine(first)
    }

    static func skontoOK(_ note: String) -> Bool {
        // Without a "#" there is no Skonto entry to check (most notes; a byte scan).
        guard note.utf8.contains(UInt8(ascii: "#")) else { return true }
        let lines = note.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        let entries = lines.map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).joined(separator: " ") }.filter { $0.hasPrefix("#") }
        if entries.isEmpty { return true }
        for e in entries where !skontoLine(e) { return false }
        // Text after the last "#…#" on its line must start with optional whitespace and a newline.
        guard let lastHashLine = lines.lastIndex(where: { $0.contains("#") && $0.filter { $0 == "#" }.count >= 2 }) else { return true }
        let line = lines[lastHashLine]
        guard let lastHash = line.lastIndex(of: "#") else { return true }
        let tail = line[line.index(after: lastHash)...]
        guard tail.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) else { return false }
        return lastHashLine < lines.count - 1
    }

    /// The whole line is `#SKONTO#TAGE=n#PROZENT=n.nn#`, optionally with `BASISBETRAG=-n.nn#`.
    static func skontoLine(_ line: String) -> Bool {
        guard line.hasPrefix("#SKONTO#TAGE=") else { return false }
        var rest = Substring(line).dropFirst("#SKONTO#TAGE=".count)
        return matchEntry(&rest)
    }

    private static func matchEntry(_ rest: inout Substring) -> Bool {
        func digits(_ s: inout Substring) -> Bool {
            let d = s.prefix(while: { $0.isASCII && $0.isNumber })
            s = s.dropFirst(d.count)
            return !d.isEmpty
        }
        func amount(_ s: inout Substring) -> Bool {
            guard digits(&s), s.first == "." else { return false }
            s = s.dropFirst()
            let d = s.prefix(while: { $0.isASCII && $0.isNumber })
            guard d.count == 2 else { return false }
            s = s.dropFirst(2)
            return true
        }
        guard digits(&rest), rest.hasPrefix("#PROZENT=") else { return false }
        rest = rest.dropFirst("#PROZENT=".count)
        guard amount(&rest) else { return false }
        if rest.hasPrefix("#BASISBETRAG=") {
            var t = rest.dropFirst("#BASISBETRAG=".count)
            if t.first == "-" { t = t.dropFirst() }
            if amount(&t), t == "#" { return true }
        }
        return rest == "#"
    }

    /// IBAN check as BR-DE-19/20 define it (the one implementation lives in RathausCore).
    public static func ibanOK(_ raw: String) -> Bool { IBAN.isValid(raw) }

    /// The XRechnung e-mail pattern: one @, dot-separated atoms of allowed characters before it,
    /// a domain of labels (letters, digits, inner hyphens) with at least one dot after it.
    static let supportedCategories: Set<String> = ["S", "Z", "E", "AE", "K", "G", "L", "M"]
    static let xrechnungIDs: Set<String> = [Scenario.xrechnungID, Scenario.extensionID, Scenario.cvdID]

    /// The characters allowed in the local part of an e-mail address, by byte (a table made once:
    /// building a Set of them per address was measured at 4 % of the rules on small invoices).
    static let emailLocalAllowed: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&\"*+/=?^_`{|}~-".utf8 { t[Int(c)] = true }
        return t
    }()

    static func emailOK(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let at = b.firstIndex(of: UInt8(ascii: "@")), b.lastIndex(of: UInt8(ascii: "@")) == at else { return false }
        let local = b[..<at], domain = b[(at + 1)...]
        let allowed = emailLocalAllowed
        let localOK = !local.isEmpty && local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0.allSatisfy { allowed[Int($0)] } }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        func alnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        let domainOK = labels.count >= 2 && labels.allSatisfy { l in
            guard let f = l.first, let e = l.last else { return false }
            return alnum(f) && alnum(e) && l.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
        }
        return localOK && domainOK
    }

    static func urlOK(_ s: String) -> Bool {
        guard let colon = s.firstIndex(of: ":") else { return false }
        let scheme = s[..<colon]
        guard scheme.count >= 2, let f = scheme.first, f.isASCII, f.isLetter else { return false }
        return scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "." || $0 == "-") }
    }
}

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
            if let base = a.baseAmount?.value, let pct = a.percentage?.value, let amount = a.amount?.value, abs(amount - percent(base * pct)) > slack {
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
                        sum += v
                    }
                }
                return round2(sum)
            }
            guard !broken, let allowances = total("false"), let charges = total("true") else { continue }
            // (dividing by 1 is the common case and Foundation's Decimal division a long division)
            // (no-op additions of zero skipped, and |ext − expected| ≤ slack tested with one
            // subtraction: ext + slack ≥ expected and ext − slack ≤ expected, exact in Decimal —
            // Foundation normalises on every addition, a cost per line)
            var expected = qty * (base == 1 ? price : price / base)
            if !charges.isZero { expected += charges }
            if !allowances.isZero { expected -= allowances }
            if abs(ext - expected) > slack {
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
