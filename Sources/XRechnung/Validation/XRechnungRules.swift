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
