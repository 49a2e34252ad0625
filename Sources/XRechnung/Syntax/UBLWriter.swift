import Foundation

/// Small XML writer: elements in the order they are added, text and attributes escaped.
struct XMLBuilder {
    var out = ""
    private var depth = 0

    static func escape(_ s: String, attribute: Bool = false) -> String {
        var r = ""
        r.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "\"" where attribute: r += "&quot;"
            case "\r": r += "&#13;"
            default: r.append(ch)
            }
        }
        return r
    }

    private func attrs(_ a: [(String, String?)]) -> String {
        a.compactMap { k, v in v.map { " \(k)=\"\(Self.escape($0, attribute: true))\"" } }.joined()
    }

    mutating func open(_ name: String, _ a: [(String, String?)] = []) {
        out += String(repeating: "  ", count: depth) + "<\(name)\(attrs(a))>\n"
        depth += 1
    }

    mutating func close(_ name: String) {
        depth -= 1
        out += String(repeating: "  ", count: depth) + "</\(name)>\n"
    }

    /// A leaf element; nothing is written for nil.
    mutating func leaf(_ name: String, _ text: String?, _ a: [(String, String?)] = []) {
        guard let text else { return }
        out += String(repeating: "  ", count: depth) + "<\(name)\(attrs(a))>\(Self.escape(text))</\(name)>\n"
    }

    mutating func group(_ name: String, _ a: [(String, String?)] = [], _ body: (inout XMLBuilder) -> Void) {
        open(name, a)
        body(&self)
        close(name)
    }
}

/// Writes the model as UBL 2.1 Invoice in XSD element order, so that reading the result gives
/// the same model again (`UBLReader`), and a valid model gives a valid XRechnung.
public enum UBLWriter {
    public static func write(_ inv: Invoice) -> String {
        var x = XMLBuilder()
        x.out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        // a UBL CreditNote differs in its root, the type code element, the place of the tax point
        // date, no header due date (BT-9 is optional there) and its lines (CreditNoteLine, CreditedQuantity)
        let credit = inv.syntax == .ublCreditNote
        let root = credit ? "ubl:CreditNote" : "ubl:Invoice"
        x.open(root, [("xmlns:ubl", credit ? XMLNamespaces.ublCreditNote : XMLNamespaces.ublInvoice), ("xmlns:cac", XMLNamespaces.cac), ("xmlns:cbc", XMLNamespaces.cbc)])
        x.leaf("cbc:CustomizationID", inv.specificationID)
        x.leaf("cbc:ProfileID", inv.processID)
        x.leaf("cbc:ID", inv.number)
        x.leaf("cbc:IssueDate", inv.issueDate)
        if credit {
            x.leaf("cbc:TaxPointDate", inv.taxPointDate)
            x.leaf("cbc:CreditNoteTypeCode", inv.typeCode)
        } else {
            x.leaf("cbc:DueDate", inv.dueDate)
            x.leaf("cbc:InvoiceTypeCode", inv.typeCode)
        }
        for n in inv.notes { x.leaf("cbc:Note", n.subjectCode.map { "#\($0)#" + n.text } ?? n.text) }
        if !credit { x.leaf("cbc:TaxPointDate", inv.taxPointDate) }
        x.leaf("cbc:DocumentCurrencyCode", inv.currency)
        x.leaf("cbc:TaxCurrencyCode", inv.taxCurrency)
        x.leaf("cbc:AccountingCost", inv.buyerAccountingReference)
        x.leaf("cbc:BuyerReference", inv.buyerReference)
        if let p = inv.invoicingPeriod { period(&x, p) }
        if inv.orderReference != nil || inv.salesOrderReference != nil {
            x.group("cac:OrderReference") { x in
                x.leaf("cbc:ID", inv.orderReference ?? "NA")
                x.leaf("cbc:SalesOrderID", inv.salesOrderReference)
            }
        }
        for p in inv.precedingInvoices {
            x.group("cac:BillingReference") { x in
                x.group("cac:InvoiceDocumentReference") { x in
                    x.leaf("cbc:ID", p.number)
                    x.leaf("cbc:IssueDate", p.issueDate)
                }
            }
        }
        if let d = inv.despatchAdviceReference { x.group("cac:DespatchDocumentReference") { $0.leaf("cbc:ID", d) } }
        if let d = inv.receivingAdviceReference { x.group("cac:ReceiptDocumentReference") { $0.leaf("cbc:ID", d) } }
        if let d = inv.tenderReference { x.group("cac:OriginatorDocumentReference") { $0.leaf("cbc:ID", d) } }
        if let d = inv.contractReference { x.group("cac:ContractDocumentReference") { $0.leaf("cbc:ID", d) } }
        if let o = inv.invoicedObject {
            x.group("cac:AdditionalDocumentReference") { x in
                x.leaf("cbc:ID", o.value, [("schemeID", o.scheme)])
                x.leaf("cbc:DocumentTypeCode", "130")
            }
        }
        for a in inv.attachments {
            x.group("cac:AdditionalDocumentReference") { x in
                x.leaf("cbc:ID", a.id)
                x.leaf("cbc:DocumentDescription", a.description)
                if a.content != nil || a.uri != nil {
                    x.group("cac:Attachment") { x in
                        x.leaf("cbc:EmbeddedDocumentBinaryObject", a.content, [("mimeCode", a.mimeCode), ("filename", a.filename)])
                        if let u = a.uri { x.group("cac:ExternalReference") { $0.leaf("cbc:URI", u) } }
                    }
                }
            }
        }
        if let p = inv.projectReference { x.group("cac:ProjectReference") { $0.leaf("cbc:ID", p) } }
        let creditor = inv.payment.compactMap(\.creditorID).first
        x.group("cac:AccountingSupplierParty") { x in party(&x, inv.seller, role: .seller, creditorID: inv.payee == nil ? creditor : nil) }
        x.group("cac:AccountingCustomerParty") { x in party(&x, inv.buyer, role: .buyer, creditorID: nil) }
        if let p = inv.payee { x.group("cac:PayeeParty") { x in partyContent(&x, p, role: .payee, creditorID: creditor) } }
        if let t = inv.taxRepresentative { x.group("cac:TaxRepresentativeParty") { x in partyContent(&x, t, role: .taxRepresentative, creditorID: nil) } }
        if let d = inv.delivery {
            x.group("cac:Delivery") { x in
                x.leaf("cbc:ActualDeliveryDate", d.date)
                if d.locationID != nil || d.address != nil {
                    x.group("cac:DeliveryLocation") { x in
                        if let l = d.locationID { x.leaf("cbc:ID", l.value, [("schemeID", l.scheme)]) }
                        if let a = d.address { address(&x, a, element: "cac:Address") }
                    }
                }
                if let n = d.partyName { x.group("cac:DeliveryParty") { $0.group("cac:PartyName") { $0.leaf("cbc:Name", n) } } }
            }
        }
        for p in inv.payment where p.typeCode != nil {
            x.group("cac:PaymentMeans") { x in
                x.leaf("cbc:PaymentMeansCode", p.typeCode, [("name", p.typeText)])
                x.leaf("cbc:PaymentID", p.remittanceInfo)
                if p.hasCard {
                    x.group("cac:CardAccount") { x in
                        x.leaf("cbc:PrimaryAccountNumberID", p.cardNumber)
                        x.leaf("cbc:NetworkID", "NA")
                        x.leaf("cbc:HolderName", p.cardHolder)
                    }
                }
                for t in p.creditTransfers {
                    x.group("cac:PayeeFinancialAccount") { x in
                        x.leaf("cbc:ID", t.accountID)
                        x.leaf("cbc:Name", t.accountName)
                        if let b = t.providerID { x.group("cac:FinancialInstitutionBranch") { $0.leaf("cbc:ID", b) } }
                    }
                }
                if p.mandateReference != nil || p.debitedAccount != nil {
                    x.group("cac:PaymentMandate") { x in
                        x.leaf("cbc:ID", p.mandateReference)
                        if let d = p.debitedAccount { x.group("cac:PayerFinancialAccount") { $0.leaf("cbc:ID", d) } }
                    }
                }
            }
        }
        if let t = inv.paymentTerms { x.group("cac:PaymentTerms") { $0.leaf("cbc:Note", t) } }
        for tp in inv.thirdPartyPayments {
            x.group("cac:PrepaidPayment") { x in
                x.leaf("cbc:ID", tp.type)
                amount(&x, "cbc:PaidAmount", tp.amount, inv.currency)
                x.leaf("cbc:InstructionID", tp.description)
            }
        }
        for a in inv.allowances + inv.charges { allowanceCharge(&x, a, inv.currency, documentLevel: true) }
        x.group("cac:TaxTotal") { x in
            amount(&x, "cbc:TaxAmount", inv.totals.vatTotal, inv.currency)
            for b in inv.vatBreakdown {
                x.group("cac:TaxSubtotal") { x in
                    amount(&x, "cbc:TaxableAmount", b.taxableAmount, inv.currency)
                    amount(&x, "cbc:TaxAmount", b.taxAmount, inv.currency)
                    x.group("cac:TaxCategory") { x in
                        x.leaf("cbc:ID", b.category)
                        x.leaf("cbc:Percent", b.rate?.literal)
                        x.leaf("cbc:TaxExemptionReasonCode", b.exemptionCode)
                        x.leaf("cbc:TaxExemptionReason", b.exemptionReason)
                        x.group("cac:TaxScheme") { $0.leaf("cbc:ID", "VAT") }
                    }
                }
            }
        }
        if let t = inv.totals.vatTotalTaxCurrency {
            x.group("cac:TaxTotal") { x in amount(&x, "cbc:TaxAmount", t, inv.taxCurrency) }
        }
        x.group("cac:LegalMonetaryTotal") { x in
            let t = inv.totals
            amount(&x, "cbc:LineExtensionAmount", t.lineNetSum, inv.currency)
            amount(&x, "cbc:TaxExclusiveAmount", t.withoutVAT, inv.currency)
            amount(&x, "cbc:TaxInclusiveAmount", t.withVAT, inv.currency)
            amount(&x, "cbc:AllowanceTotalAmount", t.allowanceSum, inv.currency)
            amount(&x, "cbc:ChargeTotalAmount", t.chargeSum, inv.currency)
            amount(&x, "cbc:PrepaidAmount", t.paid, inv.currency)
            amount(&x, "cbc:PayableRoundingAmount", t.rounding, inv.currency)
            amount(&x, "cbc:PayableAmount", t.due, inv.currency)
        }
        for l in inv.lines { line(&x, l, inv.currency, element: credit ? "cac:CreditNoteLine" : "cac:InvoiceLine") }
        x.close(root)
        return x.out
    }

    enum Role { case seller, buyer, payee, taxRepresentative }

    static func amount(_ x: inout XMLBuilder, _ name: String, _ v: DecimalValue?, _ currency: String?) {
        guard let v else { return }
        x.leaf(name, v.literal, [("currencyID", v.currency ?? currency)])
    }

    static func period(_ x: inout XMLBuilder, _ p: Period) {
        x.group("cac:InvoicePeriod") { x in
            x.leaf("cbc:StartDate", p.start)
            x.leaf("cbc:EndDate", p.end)
            x.leaf("cbc:DescriptionCode", p.descriptionCode)
        }
    }

    static func address(_ x: inout XMLBuilder, _ a: Address, element: String) {
        x.group(element) { x in
            x.leaf("cbc:StreetName", a.line1)
            x.leaf("cbc:AdditionalStreetName", a.line2)
            x.leaf("cbc:CityName", a.city)
            x.leaf("cbc:PostalZone", a.postCode)
            x.leaf("cbc:CountrySubentity", a.subdivision)
            if let l = a.line3 { x.group("cac:AddressLine") { $0.leaf("cbc:Line", l) } }
            if let c = a.country { x.group("cac:Country") { $0.leaf("cbc:IdentificationCode", c) } }
        }
    }

    static func party(_ x: inout XMLBuilder, _ p: Party, role: Role, creditorID: String?) {
        x.group("cac:Party") { x in partyContent(&x, p, role: role, creditorID: creditorID) }
    }

    /// Seller and buyer carry their legal name in PartyLegalEntity and a trading name in
    /// PartyName; payee and tax representative carry their name in PartyName.
    static func partyContent(_ x: inout XMLBuilder, _ p: Party, role: Role, creditorID: String?) {
        if let e = p.electronicAddress { x.leaf("cbc:EndpointID", e.value, [("schemeID", e.scheme)]) }
        for i in p.identifiers { x.group("cac:PartyIdentification") { $0.leaf("cbc:ID", i.value, [("schemeID", i.scheme)]) } }
        if let c = creditorID { x.group("cac:PartyIdentification") { $0.leaf("cbc:ID", c, [("schemeID", "SEPA")]) } }
        let nameInPartyName = role == .payee || role == .taxRepresentative
        if nameInPartyName {
            if let n = p.name { x.group("cac:PartyName") { $0.leaf("cbc:Name", n) } }
        } else if let t = p.tradingName {
            x.group("cac:PartyName") { $0.leaf("cbc:Name", t) }
        }
        if let a = p.address { address(&x, a, element: "cac:PostalAddress") }
        if let v = p.vatID {
            x.group("cac:PartyTaxScheme") { x in
                x.leaf("cbc:CompanyID", v)
                x.group("cac:TaxScheme") { $0.leaf("cbc:ID", "VAT") }
            }
        }
        if let t = p.taxRegistrationID {
            x.group("cac:PartyTaxScheme") { x in
                x.leaf("cbc:CompanyID", t)
                x.group("cac:TaxScheme") { $0.leaf("cbc:ID", "FC") }
            }
        }
        let hasLegal = (!nameInPartyName && p.name != nil) || p.legalRegistration != nil || p.legalInfo != nil
        if hasLegal {
            x.group("cac:PartyLegalEntity") { x in
                x.leaf("cbc:RegistrationName", nameInPartyName ? nil : p.name)
                if let r = p.legalRegistration { x.leaf("cbc:CompanyID", r.value, [("schemeID", r.scheme)]) }
                x.leaf("cbc:CompanyLegalForm", p.legalInfo)
            }
        }
        if let c = p.contact {
            x.group("cac:Contact") { x in
                x.leaf("cbc:Name", c.name)
                x.leaf("cbc:Telephone", c.phone)
                x.leaf("cbc:ElectronicMail", c.email)
            }
        }
    }

    static func allowanceCharge(_ x: inout XMLBuilder, _ a: AllowanceCharge, _ currency: String?, documentLevel: Bool) {
        x.group("cac:AllowanceCharge") { x in
            x.leaf("cbc:ChargeIndicator", a.isCharge ? "true" : "false")
            x.leaf("cbc:AllowanceChargeReasonCode", a.reasonCode)
            x.leaf("cbc:AllowanceChargeReason", a.reason)
            x.leaf("cbc:MultiplierFactorNumeric", a.percentage?.literal)
            amount(&x, "cbc:Amount", a.amount, currency)
            amount(&x, "cbc:BaseAmount", a.baseAmount, currency)
            if documentLevel, a.vatCategory != nil || a.vatRate != nil {
                x.group("cac:TaxCategory") { x in
                    x.leaf("cbc:ID", a.vatCategory)
                    x.leaf("cbc:Percent", a.vatRate?.literal)
                    x.group("cac:TaxScheme") { $0.leaf("cbc:ID", "VAT") }
                }
            }
        }
    }

    static func line(_ x: inout XMLBuilder, _ l: InvoiceLine, _ currency: String?, element: String) {
        x.group(element) { x in
            x.leaf("cbc:ID", l.id)
            x.leaf("cbc:Note", l.note)
            if let q = l.quantity { x.leaf(element == "cac:CreditNoteLine" ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity", q.literal, [("unitCode", l.unitCode)]) }
            amount(&x, "cbc:LineExtensionAmount", l.netAmount, currency)
            x.leaf("cbc:AccountingCost", l.accountingReference)
            if let p = l.period {
                x.group("cac:InvoicePeriod") { x in
                    x.leaf("cbc:StartDate", p.start)
                    x.leaf("cbc:EndDate", p.end)
                }
            }
            if let o = l.orderLineReference { x.group("cac:OrderLineReference") { $0.leaf("cbc:LineID", o) } }
            if let o = l.objectID {
                x.group("cac:DocumentReference") { x in
                    x.leaf("cbc:ID", o.value, [("schemeID", o.scheme)])
                    x.leaf("cbc:DocumentTypeCode", "130")
                }
            }
            for a in l.allowances + l.charges { allowanceCharge(&x, a, currency, documentLevel: false) }
            x.group("cac:Item") { x in
                x.leaf("cbc:Description", l.itemDescription)
                x.leaf("cbc:Name", l.itemName)
                if let b = l.buyersItemID { x.group("cac:BuyersItemIdentification") { $0.leaf("cbc:ID", b) } }
                if let s = l.sellersItemID { x.group("cac:SellersItemIdentification") { $0.leaf("cbc:ID", s) } }
                if let s = l.standardItemID { x.group("cac:StandardItemIdentification") { $0.leaf("cbc:ID", s.value, [("schemeID", s.scheme)]) } }
                if let o = l.originCountry { x.group("cac:OriginCountry") { $0.leaf("cbc:IdentificationCode", o) } }
                for c in l.classifications {
                    x.group("cac:CommodityClassification") { $0.leaf("cbc:ItemClassificationCode", c.value, [("listID", c.scheme), ("listVersionID", c.schemeVersion)]) }
                }
                if l.vatCategory != nil || l.vatRate != nil {
                    x.group("cac:ClassifiedTaxCategory") { x in
                        x.leaf("cbc:ID", l.vatCategory)
                        x.leaf("cbc:Percent", l.vatRate?.literal)
                        x.group("cac:TaxScheme") { $0.leaf("cbc:ID", "VAT") }
                    }
                }
                for a in l.attributes {
                    x.group("cac:AdditionalItemProperty") { x in
                        x.leaf("cbc:Name", a.name)
                        x.leaf("cbc:Value", a.value)
                    }
                }
            }
            if l.netPrice != nil || l.baseQuantity != nil || l.grossPrice != nil || l.priceDiscount != nil {
                x.group("cac:Price") { x in
                    amount(&x, "cbc:PriceAmount", l.netPrice, currency)
                    if let b = l.baseQuantity { x.leaf("cbc:BaseQuantity", b.literal, [("unitCode", l.baseQuantityUnit)]) }
                    if l.grossPrice != nil || l.priceDiscount != nil {
                        x.group("cac:AllowanceCharge") { x in
                            x.leaf("cbc:ChargeIndicator", "false")
                            amount(&x, "cbc:Amount", l.priceDiscount ?? DecimalValue("0"), currency)
                            amount(&x, "cbc:BaseAmount", l.grossPrice, currency)
                        }
                    }
                }
            }
            for s in l.subLines { line(&x, s, currency, element: "cac:SubInvoiceLine") }
        }
    }
}
