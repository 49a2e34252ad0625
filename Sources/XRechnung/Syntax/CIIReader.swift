import Foundation

/// Maps UN/CEFACT CII D16B to the EN 16931 model (binding as in EN 16931-3-3).
enum CIIReader {
    static func read(_ root: XElement) -> Invoice {
        var inv = Invoice(syntax: .cii)
        let ctx = root.child("ExchangedDocumentContext")
        inv.processID = ctx?.first("BusinessProcessSpecifiedDocumentContextParameter", "ID")?.normalizedText
        inv.specificationID = ctx?.first("GuidelineSpecifiedDocumentContextParameter", "ID")?.normalizedText
        let doc = root.child("ExchangedDocument")
        inv.number = doc?.child("ID")?.normalizedText
        inv.typeCode = doc?.child("TypeCode")?.normalizedText
        inv.issueDate = date(doc?.first("IssueDateTime", "DateTimeString"))
        inv.notes = doc?.children("IncludedNote").map { Note(subjectCode: $0.child("SubjectCode")?.normalizedText, text: $0.child("Content")?.text ?? "") } ?? []

        guard let tx = root.child("SupplyChainTradeTransaction") else { return inv }
        if let ag = tx.child("ApplicableHeaderTradeAgreement") {
            inv.buyerReference = ag.child("BuyerReference")?.normalizedText
            if let p = ag.child("SellerTradeParty") { inv.seller = party(p) }
            if let p = ag.child("BuyerTradeParty") { inv.buyer = party(p) }
            if let p = ag.child("SellerTaxRepresentativeTradeParty") { inv.taxRepresentative = party(p) }
            inv.salesOrderReference = ag.first("SellerOrderReferencedDocument", "IssuerAssignedID")?.normalizedText
            inv.orderReference = ag.first("BuyerOrderReferencedDocument", "IssuerAssignedID")?.normalizedText
            inv.contractReference = ag.first("ContractReferencedDocument", "IssuerAssignedID")?.normalizedText
            inv.projectReference = ag.first("SpecifiedProcuringProject", "ID")?.normalizedText
            for ref in ag.children("AdditionalReferencedDocument") {
                let id = ref.child("IssuerAssignedID")?.normalizedText ?? ""
                switch ref.child("TypeCode")?.normalizedText {
                case "130":
                    inv.invoicedObject = Identifier(id, scheme: ref.child("ReferenceTypeCode")?.normalizedText)
                case "50":
                    inv.tenderReference = id
                default:
                    var a = Attachment(id: id)
                    a.description = ref.child("Name")?.normalizedText
                    a.uri = ref.child("URIID")?.normalizedText
                    if let bin = ref.child("AttachmentBinaryObject") {
                        a.setContent(from: bin)
                        a.mimeCode = bin.attribute("mimeCode")
                        a.filename = bin.attribute("filename")
                    }
                    inv.attachments.append(a)
                }
            }
        }
        if let dl = tx.child("ApplicableHeaderTradeDelivery") {
            var d = Delivery()
            if let st = dl.child("ShipToTradeParty") {
                d.partyName = st.child("Name")?.normalizedText
                if let g = st.child("GlobalID") {
                    d.locationID = Identifier(g.normalizedText, scheme: g.attribute("schemeID"))
                } else if let i = st.child("ID") {
                    d.locationID = Identifier(i.normalizedText)
                }
                if let a = st.child("PostalTradeAddress") { d.address = address(a) }
            }
            d.date = date(dl.first("ActualDeliverySupplyChainEvent", "OccurrenceDateTime", "DateTimeString"))
            if d != Delivery() { inv.delivery = d }
            inv.despatchAdviceReference = dl.first("DespatchAdviceReferencedDocument", "IssuerAssignedID")?.normalizedText
            inv.receivingAdviceReference = dl.first("ReceivingAdviceReferencedDocument", "IssuerAssignedID")?.normalizedText
        }
        if let st = tx.child("ApplicableHeaderTradeSettlement") {
            inv.currency = st.child("InvoiceCurrencyCode")?.normalizedText
            inv.taxCurrency = st.child("TaxCurrencyCode")?.normalizedText
            if let p = st.child("PayeeTradeParty") { inv.payee = party(p) }
            let creditor = st.child("CreditorReferenceID")?.normalizedText
            let remittance = st.child("PaymentReference")?.normalizedText
            let terms = st.children("SpecifiedTradePaymentTerms")
            let mandate = terms.compactMap { $0.child("DirectDebitMandateID")?.normalizedText }.first
            for pm in st.children("SpecifiedTradeSettlementPaymentMeans") {
                var p = PaymentInstructions()
                p.typeCode = pm.child("TypeCode")?.normalizedText
                p.typeText = pm.child("Information")?.normalizedText
                p.remittanceInfo = remittance
                for acc in pm.children("PayeePartyCreditorFinancialAccount") {
                    let id = acc.child("IBANID")?.normalizedText ?? acc.child("ProprietaryID")?.normalizedText ?? ""
                    p.creditTransfers.append(CreditTransfer(accountID: id, accountName: acc.child("AccountName")?.normalizedText, providerID: pm.first("PayeeSpecifiedCreditorFinancialInstitution", "BICID")?.normalizedText))
                }
                if let card = pm.child("ApplicableTradeSettlementFinancialCard") {
                    p.hasCard = true
                    p.cardNumber = card.child("ID")?.normalizedText
                    p.cardHolder = card.child("CardholderName")?.normalizedText
                }
                p.debitedAccount = pm.first("PayerPartyDebtorFinancialAccount", "IBANID")?.normalizedText
                p.creditorID = creditor
                p.mandateReference = mandate
                inv.payment.append(p)
            }
            if inv.payment.isEmpty, creditor != nil || mandate != nil {
                var p = PaymentInstructions()
                p.creditorID = creditor
                p.mandateReference = mandate
                p.remittanceInfo = remittance
                inv.payment.append(p)
            }
            for tax in st.children("ApplicableTradeTax") {
                var b = VATBreakdown()
                b.location = tax.xpath
                b.taxAmount = dec(tax.child("CalculatedAmount"))
                b.taxableAmount = dec(tax.child("BasisAmount"))
                b.category = tax.child("CategoryCode")?.normalizedText
                b.rate = dec(tax.child("RateApplicablePercent"))
                b.exemptionReason = tax.child("ExemptionReason")?.normalizedText
                b.exemptionCode = tax.child("ExemptionReasonCode")?.normalizedText
                inv.vatBreakdown.append(b)
                if inv.taxPointDate == nil { inv.taxPointDate = date(tax.first("TaxPointDate", "DateString")) }
                if let code = tax.child("DueDateTypeCode")?.normalizedText {
                    inv.invoicingPeriod = inv.invoicingPeriod ?? Period()
                    inv.invoicingPeriod?.descriptionCode = code
                }
            }
            if let p = st.child("BillingSpecifiedPeriod") {
                var per = inv.invoicingPeriod ?? Period()
                per.start = date(p.first("StartDateTime", "DateTimeString"))
                per.end = date(p.first("EndDateTime", "DateTimeString"))
                inv.invoicingPeriod = per
            }
            for ac in st.children("SpecifiedTradeAllowanceCharge") {
                let x = allowanceCharge(ac)
                if x.isCharge { inv.charges.append(x) } else { inv.allowances.append(x) }
            }
            let descs = terms.compactMap { $0.child("Description")?.text }
            if !descs.isEmpty { inv.paymentTerms = descs.joined(separator: "\n") }
            inv.dueDate = terms.compactMap { date($0.first("DueDateDateTime", "DateTimeString")) }.first
            if let m = st.child("SpecifiedTradeSettlementHeaderMonetarySummation") {
                inv.totals.lineNetSum = dec(m.child("LineTotalAmount"))
                inv.totals.chargeSum = dec(m.child("ChargeTotalAmount"))
                inv.totals.allowanceSum = dec(m.child("AllowanceTotalAmount"))
                inv.totals.withoutVAT = dec(m.child("TaxBasisTotalAmount"))
                for t in m.children("TaxTotalAmount") {
                    let v = dec(t)
                    if t.attribute("currencyID") == inv.currency || (t.attribute("currencyID") == nil && inv.totals.vatTotal == nil) {
                        if inv.totals.vatTotal == nil { inv.totals.vatTotal = v }
                    } else if t.attribute("currencyID") == inv.taxCurrency {
                        inv.totals.vatTotalTaxCurrency = v
                    }
                }
                inv.totals.rounding = dec(m.child("RoundingAmount"))
                inv.totals.withVAT = dec(m.child("GrandTotalAmount"))
                inv.totals.paid = dec(m.child("TotalPrepaidAmount"))
                inv.totals.due = dec(m.child("DuePayableAmount"))
            }
            inv.precedingInvoices = st.children("InvoiceReferencedDocument").map {
                PrecedingInvoice(number: $0.child("IssuerAssignedID")?.normalizedText ?? "", issueDate: date($0.first("FormattedIssueDateTime", "DateTimeString")))
            }
            inv.buyerAccountingReference = st.first("ReceivableSpecifiedTradeAccountingAccount", "ID")?.normalizedText
        }
        inv.lines = tx.children("IncludedSupplyChainTradeLineItem").map(line)
        return inv
    }

    /// CII dates use format 102 (CCYYMMDD); the model keeps ISO 8601 dates like UBL.
    static func date(_ e: XElement?) -> String? {
        guard let t = e?.normalizedText else { return nil }
        if t.count == 8, t.allSatisfy(\.isNumber) {
            let a = t.startIndex
            return "\(t[a..<t.index(a, offsetBy: 4)])-\(t[t.index(a, offsetBy: 4)..<t.index(a, offsetBy: 6)])-\(t[t.index(a, offsetBy: 6)...])"
        }
        return t
    }

    static func dec(_ e: XElement?) -> DecimalValue? {
        guard let e else { return nil }
        // the raw text: DecimalValue normalises the value itself and keeps the written fraction
        return DecimalValue(e.text, currency: e.attribute("currencyID"))
    }

    static func address(_ a: XElement) -> Address {
        var x = Address()
        x.line1 = a.child("LineOne")?.normalizedText
        x.line2 = a.child("LineTwo")?.normalizedText
        x.line3 = a.child("LineThree")?.normalizedText
        x.city = a.child("CityName")?.normalizedText
        x.postCode = a.child("PostcodeCode")?.normalizedText
        x.subdivision = a.child("CountrySubDivisionName")?.normalizedText
        x.country = a.child("CountryID")?.normalizedText
        return x
    }

    static func party(_ p: XElement) -> Party {
        var x = Party()
        x.identifiers = p.children("ID").map { Identifier($0.normalizedText) }
            + p.children("GlobalID").map { Identifier($0.normalizedText, scheme: $0.attribute("schemeID")) }
        x.name = p.child("Name")?.normalizedText
        x.legalInfo = p.child("Description")?.normalizedText
        if let lo = p.child("SpecifiedLegalOrganization") {
            if let id = lo.child("ID") { x.legalRegistration = Identifier(id.normalizedText, scheme: id.attribute("schemeID")) }
            x.tradingName = lo.child("TradingBusinessName")?.normalizedText
        }
        if let c = p.child("DefinedTradeContact") {
            var k = Contact()
            k.name = c.child("PersonName")?.normalizedText ?? c.child("DepartmentName")?.normalizedText
            k.phone = c.first("TelephoneUniversalCommunication", "CompleteNumber")?.normalizedText
            k.email = c.first("EmailURIUniversalCommunication", "URIID")?.normalizedText
            x.contact = k
        }
        if let a = p.child("PostalTradeAddress") { x.address = address(a) }
        if let u = p.first("URIUniversalCommunication", "URIID") { x.electronicAddress = Identifier(u.normalizedText, scheme: u.attribute("schemeID")) }
        for reg in p.children("SpecifiedTaxRegistration") {
            guard let id = reg.child("ID") else { continue }
            switch id.attribute("schemeID") {
            case "VA": x.vatID = id.normalizedText
            case "FC": x.taxRegistrationID = id.normalizedText
            default: break
            }
        }
        return x
    }

    static func allowanceCharge(_ ac: XElement) -> AllowanceCharge {
        var x = AllowanceCharge(isCharge: ac.first("ChargeIndicator", "Indicator")?.normalizedText == "true")
        x.location = ac.xpath
        x.amount = dec(ac.child("ActualAmount"))
        x.baseAmount = dec(ac.child("BasisAmount"))
        x.percentage = dec(ac.child("CalculationPercent"))
        x.reason = ac.child("Reason")?.normalizedText
        x.reasonCode = ac.child("ReasonCode")?.normalizedText
        if let t = ac.child("CategoryTradeTax") {
            x.vatCategory = t.child("CategoryCode")?.normalizedText
            x.vatRate = dec(t.child("RateApplicablePercent"))
        }
        return x
    }

    static func line(_ l: XElement) -> InvoiceLine {
        var x = InvoiceLine()
        x.location = l.xpath
        let doc = l.child("AssociatedDocumentLineDocument")
        x.id = doc?.child("LineID")?.normalizedText ?? ""
        x.note = doc?.first("IncludedNote", "Content")?.normalizedText
        if let p = l.child("SpecifiedTradeProduct") {
            if let g = p.child("GlobalID") { x.standardItemID = Identifier(g.normalizedText, scheme: g.attribute("schemeID")) }
            x.sellersItemID = p.child("SellerAssignedID")?.normalizedText
            x.buyersItemID = p.child("BuyerAssignedID")?.normalizedText
            x.itemName = p.child("Name")?.normalizedText
            x.itemDescription = p.child("Description")?.normalizedText
            x.attributes = p.children("ApplicableProductCharacteristic").map {
                ItemAttribute(name: $0.child("Description")?.normalizedText ?? "", value: $0.child("Value")?.normalizedText ?? "")
            }
            x.classifications = p.all("DesignatedProductClassification", "ClassCode").map {
                Identifier($0.normalizedText, scheme: $0.attribute("listID"), schemeVersion: $0.attribute("listVersionID"))
            }
            x.originCountry = p.first("OriginTradeCountry", "ID")?.normalizedText
        }
        if let ag = l.child("SpecifiedLineTradeAgreement") {
            x.orderLineReference = ag.first("BuyerOrderReferencedDocument", "LineID")?.normalizedText
            if let g = ag.child("GrossPriceProductTradePrice") {
                x.grossPrice = dec(g.child("ChargeAmount"))
                x.priceDiscount = dec(g.first("AppliedTradeAllowanceCharge", "ActualAmount"))
                if x.baseQuantity == nil, let bq = g.child("BasisQuantity") {
                    x.baseQuantity = DecimalValue(bq.normalizedText)
                    x.baseQuantityUnit = bq.attribute("unitCode")
                }
            }
            if let n = ag.child("NetPriceProductTradePrice") {
                x.netPrice = dec(n.child("ChargeAmount"))
                if let bq = n.child("BasisQuantity") {
                    x.baseQuantity = DecimalValue(bq.normalizedText)
                    x.baseQuantityUnit = bq.attribute("unitCode")
                }
            }
        }
        if let q = l.first("SpecifiedLineTradeDelivery", "BilledQuantity") {
            x.quantity = DecimalValue(q.normalizedText)
            x.unitCode = q.attribute("unitCode")
        }
        if let st = l.child("SpecifiedLineTradeSettlement") {
            if let t = st.child("ApplicableTradeTax") {
                x.vatCategory = t.child("CategoryCode")?.normalizedText
                x.vatRate = dec(t.child("RateApplicablePercent"))
            }
            if let p = st.child("BillingSpecifiedPeriod") {
                x.period = Period(start: date(p.first("StartDateTime", "DateTimeString")), end: date(p.first("EndDateTime", "DateTimeString")), descriptionCode: nil)
            }
            for ac in st.children("SpecifiedTradeAllowanceCharge") {
                let a = allowanceCharge(ac)
                if a.isCharge { x.charges.append(a) } else { x.allowances.append(a) }
            }
            x.netAmount = dec(st.first("SpecifiedTradeSettlementLineMonetarySummation", "LineTotalAmount"))
            if let d = st.children("AdditionalReferencedDocument").first(where: { $0.child("TypeCode")?.normalizedText == "130" }) {
                x.objectID = Identifier(d.child("IssuerAssignedID")?.normalizedText ?? "", scheme: d.child("ReferenceTypeCode")?.normalizedText)
            }
            x.accountingReference = st.first("ReceivableSpecifiedTradeAccountingAccount", "ID")?.normalizedText
        }
        return x
    }
}
