import Foundation

/// Writes the model as UN/CEFACT CII D16B in XSD element order (binding of EN 16931-3-3), so that
/// `CIIReader` gives the same model back.
public enum CIIWriter {
    public static func write(_ inv: Invoice) -> String {
        var x = XMLBuilder()
        x.out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x.open("rsm:CrossIndustryInvoice", [("xmlns:rsm", XMLNamespaces.rsm), ("xmlns:ram", XMLNamespaces.ram),
                                            ("xmlns:udt", XMLNamespaces.udt), ("xmlns:qdt", XMLNamespaces.qdt)])
        x.group("rsm:ExchangedDocumentContext") { x in
            if let p = inv.processID { x.group("ram:BusinessProcessSpecifiedDocumentContextParameter") { $0.leaf("ram:ID", p) } }
            x.group("ram:GuidelineSpecifiedDocumentContextParameter") { $0.leaf("ram:ID", inv.specificationID ?? "") }
        }
        x.group("rsm:ExchangedDocument") { x in
            x.leaf("ram:ID", inv.number)
            x.leaf("ram:TypeCode", inv.typeCode)
            if let d = inv.issueDate { x.group("ram:IssueDateTime") { $0.leaf("udt:DateTimeString", d102(d), [("format", "102")]) } }
            for n in inv.notes {
                x.group("ram:IncludedNote") { x in
                    x.leaf("ram:Content", n.text)
                    x.leaf("ram:SubjectCode", n.subjectCode)
                }
            }
        }
        x.group("rsm:SupplyChainTradeTransaction") { x in
            for l in inv.lines { line(&x, l) }
            x.group("ram:ApplicableHeaderTradeAgreement") { x in
                x.leaf("ram:BuyerReference", inv.buyerReference)
                x.group("ram:SellerTradeParty") { party(&$0, inv.seller) }
                x.group("ram:BuyerTradeParty") { party(&$0, inv.buyer) }
                if let t = inv.taxRepresentative { x.group("ram:SellerTaxRepresentativeTradeParty") { party(&$0, t) } }
                if let s = inv.salesOrderReference { x.group("ram:SellerOrderReferencedDocument") { $0.leaf("ram:IssuerAssignedID", s) } }
                if let o = inv.orderReference { x.group("ram:BuyerOrderReferencedDocument") { $0.leaf("ram:IssuerAssignedID", o) } }
                if let c = inv.contractReference { x.group("ram:ContractReferencedDocument") { $0.leaf("ram:IssuerAssignedID", c) } }
                for a in inv.attachments {
                    x.group("ram:AdditionalReferencedDocument") { x in
                        x.leaf("ram:IssuerAssignedID", a.id)
                        x.leaf("ram:URIID", a.uri)
                        x.leaf("ram:TypeCode", "916")
                        x.leaf("ram:Name", a.description)
                        x.leaf("ram:AttachmentBinaryObject", a.content, [("mimeCode", a.mimeCode), ("filename", a.filename)])
                    }
                }
                if let t = inv.tenderReference {
                    x.group("ram:AdditionalReferencedDocument") { x in
                        x.leaf("ram:IssuerAssignedID", t)
                        x.leaf("ram:TypeCode", "50")
                    }
                }
                if let o = inv.invoicedObject {
                    x.group("ram:AdditionalReferencedDocument") { x in
                        x.leaf("ram:IssuerAssignedID", o.value)
                        x.leaf("ram:TypeCode", "130")
                        x.leaf("ram:ReferenceTypeCode", o.scheme)
                    }
                }
                if let p = inv.projectReference {
                    x.group("ram:SpecifiedProcuringProject") { x in
                        x.leaf("ram:ID", p)
                        x.leaf("ram:Name", "Projekt")
                    }
                }
            }
            x.group("ram:ApplicableHeaderTradeDelivery") { x in
                if let d = inv.delivery {
                    if d.partyName != nil || d.locationID != nil || d.address != nil {
                        x.group("ram:ShipToTradeParty") { x in
                            if let l = d.locationID {
                                if let s = l.scheme { x.leaf("ram:GlobalID", l.value, [("schemeID", s)]) } else { x.leaf("ram:ID", l.value) }
                            }
                            x.leaf("ram:Name", d.partyName)
                            if let a = d.address { address(&x, a) }
                        }
                    }
                    if let date = d.date {
                        x.group("ram:ActualDeliverySupplyChainEvent") { $0.group("ram:OccurrenceDateTime") { $0.leaf("udt:DateTimeString", d102(date), [("format", "102")]) } }
                    }
                }
                if let d = inv.despatchAdviceReference { x.group("ram:DespatchAdviceReferencedDocument") { $0.leaf("ram:IssuerAssignedID", d) } }
                if let r = inv.receivingAdviceReference { x.group("ram:ReceivingAdviceReferencedDocument") { $0.leaf("ram:IssuerAssignedID", r) } }
            }
            x.group("ram:ApplicableHeaderTradeSettlement") { x in
                let pay = inv.payment
                x.leaf("ram:CreditorReferenceID", pay.compactMap(\.creditorID).first)
                x.leaf("ram:PaymentReference", pay.compactMap(\.remittanceInfo).first)
                x.leaf("ram:TaxCurrencyCode", inv.taxCurrency)
                x.leaf("ram:InvoiceCurrencyCode", inv.currency)
                if let p = inv.payee { x.group("ram:PayeeTradeParty") { party(&$0, p) } }
                for p in pay where p.typeCode != nil {
                    x.group("ram:SpecifiedTradeSettlementPaymentMeans") { x in
                        x.leaf("ram:TypeCode", p.typeCode)
                        x.leaf("ram:Information", p.typeText)
                        if p.hasCard {
                            x.group("ram:ApplicableTradeSettlementFinancialCard") { x in
                                x.leaf("ram:ID", p.cardNumber)
                                x.leaf("ram:CardholderName", p.cardHolder)
                            }
                        }
                        if let d = p.debitedAccount { x.group("ram:PayerPartyDebtorFinancialAccount") { $0.leaf("ram:IBANID", d) } }
                        for t in p.creditTransfers {
                            x.group("ram:PayeePartyCreditorFinancialAccount") { x in
                                x.leaf("ram:IBANID", t.accountID)
                                x.leaf("ram:AccountName", t.accountName)
                            }
                        }
                        if let bic = p.creditTransfers.compactMap(\.providerID).first {
                            x.group("ram:PayeeSpecifiedCreditorFinancialInstitution") { $0.leaf("ram:BICID", bic) }
                        }
                    }
                }
                for (i, b) in inv.vatBreakdown.enumerated() {
                    x.group("ram:ApplicableTradeTax") { x in
                        x.leaf("ram:CalculatedAmount", b.taxAmount?.literal)
                        x.leaf("ram:TypeCode", "VAT")
                        x.leaf("ram:ExemptionReason", b.exemptionReason)
                        x.leaf("ram:BasisAmount", b.taxableAmount?.literal)
                        x.leaf("ram:CategoryCode", b.category)
                        x.leaf("ram:ExemptionReasonCode", b.exemptionCode)
                        if i == 0, let t = inv.taxPointDate { x.group("ram:TaxPointDate") { $0.leaf("udt:DateString", d102(t), [("format", "102")]) } }
                        if i == 0 { x.leaf("ram:DueDateTypeCode", inv.invoicingPeriod?.descriptionCode) }
                        x.leaf("ram:RateApplicablePercent", b.rate?.literal)
                    }
                }
                if let p = inv.invoicingPeriod, p.start != nil || p.end != nil {
                    x.group("ram:BillingSpecifiedPeriod") { x in
                        if let s = p.start { x.group("ram:StartDateTime") { $0.leaf("udt:DateTimeString", d102(s), [("format", "102")]) } }
                        if let e = p.end { x.group("ram:EndDateTime") { $0.leaf("udt:DateTimeString", d102(e), [("format", "102")]) } }
                    }
                }
                for a in inv.allowances + inv.charges { allowanceCharge(&x, a, withTax: true) }
                let mandate = pay.compactMap(\.mandateReference).first
                if inv.paymentTerms != nil || inv.dueDate != nil || mandate != nil {
                    x.group("ram:SpecifiedTradePaymentTerms") { x in
                        x.leaf("ram:Description", inv.paymentTerms)
                        if let d = inv.dueDate { x.group("ram:DueDateDateTime") { $0.leaf("udt:DateTimeString", d102(d), [("format", "102")]) } }
                        x.leaf("ram:DirectDebitMandateID", mandate)
                    }
                }
                x.group("ram:SpecifiedTradeSettlementHeaderMonetarySummation") { x in
                    let t = inv.totals
                    func a(_ n: String, _ v: DecimalValue?) { x.leaf(n, v?.literal) }
                    a("ram:LineTotalAmount", t.lineNetSum)
                    a("ram:ChargeTotalAmount", t.chargeSum)
                    a("ram:AllowanceTotalAmount", t.allowanceSum)
                    a("ram:TaxBasisTotalAmount", t.withoutVAT)
                    // Only TaxTotalAmount carries a currency in CII (CII-DT-031): BT-110 and BT-111 are
                    // told apart by it; every other amount is in the invoice currency.
                    if let v = t.vatTotal { x.leaf("ram:TaxTotalAmount", v.literal, [("currencyID", v.currency)]) }
                    if let v = t.vatTotalTaxCurrency { x.leaf("ram:TaxTotalAmount", v.literal, [("currencyID", v.currency ?? inv.taxCurrency)]) }
                    a("ram:RoundingAmount", t.rounding)
                    a("ram:GrandTotalAmount", t.withVAT)
                    a("ram:TotalPrepaidAmount", t.paid)
                    a("ram:DuePayableAmount", t.due)
                }
                for p in inv.precedingInvoices {
                    x.group("ram:InvoiceReferencedDocument") { x in
                        x.leaf("ram:IssuerAssignedID", p.number)
                        if let d = p.issueDate { x.group("ram:FormattedIssueDateTime") { $0.leaf("qdt:DateTimeString", d102(d), [("format", "102")]) } }
                    }
                }
                if let r = inv.buyerAccountingReference { x.group("ram:ReceivableSpecifiedTradeAccountingAccount") { $0.leaf("ram:ID", r) } }
            }
        }
        x.close("rsm:CrossIndustryInvoice")
        return x.out
    }

    /// ISO date → CII format 102 (CCYYMMDD).
    static func d102(_ iso: String) -> String { iso.replacingOccurrences(of: "-", with: "") }

    static func address(_ x: inout XMLBuilder, _ a: Address) {
        x.group("ram:PostalTradeAddress") { x in
            x.leaf("ram:PostcodeCode", a.postCode)
            x.leaf("ram:LineOne", a.line1)
            x.leaf("ram:LineTwo", a.line2)
            x.leaf("ram:LineThree", a.line3)
            x.leaf("ram:CityName", a.city)
            x.leaf("ram:CountryID", a.country)
            x.leaf("ram:CountrySubDivisionName", a.subdivision)
        }
    }

    static func party(_ x: inout XMLBuilder, _ p: Party) {
        for i in p.identifiers where i.scheme == nil { x.leaf("ram:ID", i.value) }
        for i in p.identifiers where i.scheme != nil { x.leaf("ram:GlobalID", i.value, [("schemeID", i.scheme)]) }
        x.leaf("ram:Name", p.name)
        x.leaf("ram:Description", p.legalInfo)
        if p.legalRegistration != nil || p.tradingName != nil {
            x.group("ram:SpecifiedLegalOrganization") { x in
                if let r = p.legalRegistration { x.leaf("ram:ID", r.value, [("schemeID", r.scheme)]) }
                x.leaf("ram:TradingBusinessName", p.tradingName)
            }
        }
        if let c = p.contact {
            x.group("ram:DefinedTradeContact") { x in
                x.leaf("ram:PersonName", c.name)
                if let ph = c.phone { x.group("ram:TelephoneUniversalCommunication") { $0.leaf("ram:CompleteNumber", ph) } }
                if let m = c.email { x.group("ram:EmailURIUniversalCommunication") { $0.leaf("ram:URIID", m) } }
            }
        }
        if let a = p.address { address(&x, a) }
        if let e = p.electronicAddress { x.group("ram:URIUniversalCommunication") { $0.leaf("ram:URIID", e.value, [("schemeID", e.scheme)]) } }
        if let v = p.vatID { x.group("ram:SpecifiedTaxRegistration") { $0.leaf("ram:ID", v, [("schemeID", "VA")]) } }
        if let t = p.taxRegistrationID { x.group("ram:SpecifiedTaxRegistration") { $0.leaf("ram:ID", t, [("schemeID", "FC")]) } }
    }

    static func allowanceCharge(_ x: inout XMLBuilder, _ a: AllowanceCharge, withTax: Bool) {
        x.group("ram:SpecifiedTradeAllowanceCharge") { x in
            x.group("ram:ChargeIndicator") { $0.leaf("udt:Indicator", a.isCharge ? "true" : "false") }
            x.leaf("ram:CalculationPercent", a.percentage?.literal)
            x.leaf("ram:BasisAmount", a.baseAmount?.literal)
            x.leaf("ram:ActualAmount", a.amount?.literal)
            x.leaf("ram:ReasonCode", a.reasonCode)
            x.leaf("ram:Reason", a.reason)
            if withTax, a.vatCategory != nil || a.vatRate != nil {
                x.group("ram:CategoryTradeTax") { x in
                    x.leaf("ram:TypeCode", "VAT")
                    x.leaf("ram:CategoryCode", a.vatCategory)
                    x.leaf("ram:RateApplicablePercent", a.vatRate?.literal)
                }
            }
        }
    }

    static func line(_ x: inout XMLBuilder, _ l: InvoiceLine) {
        x.group("ram:IncludedSupplyChainTradeLineItem") { x in
            x.group("ram:AssociatedDocumentLineDocument") { x in
                x.leaf("ram:LineID", l.id)
                if let n = l.note { x.group("ram:IncludedNote") { $0.leaf("ram:Content", n) } }
            }
            x.group("ram:SpecifiedTradeProduct") { x in
                if let s = l.standardItemID { x.leaf("ram:GlobalID", s.value, [("schemeID", s.scheme)]) }
                x.leaf("ram:SellerAssignedID", l.sellersItemID)
                x.leaf("ram:BuyerAssignedID", l.buyersItemID)
                x.leaf("ram:Name", l.itemName)
                x.leaf("ram:Description", l.itemDescription)
                for a in l.attributes {
                    x.group("ram:ApplicableProductCharacteristic") { x in
                        x.leaf("ram:Description", a.name)
                        x.leaf("ram:Value", a.value)
                    }
                }
                for c in l.classifications {
                    x.group("ram:DesignatedProductClassification") { $0.leaf("ram:ClassCode", c.value, [("listID", c.scheme), ("listVersionID", c.schemeVersion)]) }
                }
                if let o = l.originCountry { x.group("ram:OriginTradeCountry") { $0.leaf("ram:ID", o) } }
            }
            x.group("ram:SpecifiedLineTradeAgreement") { x in
                if let o = l.orderLineReference { x.group("ram:BuyerOrderReferencedDocument") { $0.leaf("ram:LineID", o) } }
                if l.grossPrice != nil || l.priceDiscount != nil {
                    x.group("ram:GrossPriceProductTradePrice") { x in
                        x.leaf("ram:ChargeAmount", l.grossPrice?.literal)
                        if let b = l.baseQuantity { x.leaf("ram:BasisQuantity", b.literal, [("unitCode", l.baseQuantityUnit)]) }
                        if let d = l.priceDiscount {
                            x.group("ram:AppliedTradeAllowanceCharge") { x in
                                x.group("ram:ChargeIndicator") { $0.leaf("udt:Indicator", "false") }
                                x.leaf("ram:ActualAmount", d.literal)
                            }
                        }
                    }
                }
                x.group("ram:NetPriceProductTradePrice") { x in
                    x.leaf("ram:ChargeAmount", l.netPrice?.literal ?? "0")
                    if let b = l.baseQuantity { x.leaf("ram:BasisQuantity", b.literal, [("unitCode", l.baseQuantityUnit)]) }
                }
            }
            x.group("ram:SpecifiedLineTradeDelivery") { x in
                x.leaf("ram:BilledQuantity", l.quantity?.literal ?? "0", [("unitCode", l.unitCode)])
            }
            x.group("ram:SpecifiedLineTradeSettlement") { x in
                x.group("ram:ApplicableTradeTax") { x in
                    x.leaf("ram:TypeCode", "VAT")
                    x.leaf("ram:CategoryCode", l.vatCategory)
                    x.leaf("ram:RateApplicablePercent", l.vatRate?.literal)
                }
                if let p = l.period {
                    x.group("ram:BillingSpecifiedPeriod") { x in
                        if let s = p.start { x.group("ram:StartDateTime") { $0.leaf("udt:DateTimeString", d102(s), [("format", "102")]) } }
                        if let e = p.end { x.group("ram:EndDateTime") { $0.leaf("udt:DateTimeString", d102(e), [("format", "102")]) } }
                    }
                }
                for a in l.allowances + l.charges { allowanceCharge(&x, a, withTax: true) }
                x.group("ram:SpecifiedTradeSettlementLineMonetarySummation") { $0.leaf("ram:LineTotalAmount", l.netAmount?.literal) }
                if let o = l.objectID {
                    x.group("ram:AdditionalReferencedDocument") { x in
                        x.leaf("ram:IssuerAssignedID", o.value)
                        x.leaf("ram:TypeCode", "130")
                        x.leaf("ram:ReferenceTypeCode", o.scheme)
                    }
                }
                if let r = l.accountingReference { x.group("ram:ReceivableSpecifiedTradeAccountingAccount") { $0.leaf("ram:ID", r) } }
            }
        }
    }
}
