import Foundation

/// Maps UBL 2.1 Invoice and CreditNote to the EN 16931 model (binding as in EN 16931-3-2).
enum UBLReader {
    static func read(_ root: XElement) -> Invoice {
        let isCN = root.name == "CreditNote"
        var inv = Invoice(syntax: isCN ? .ublCreditNote : .ublInvoice)
        inv.specificationID = root.child("CustomizationID")?.normalizedText
        inv.processID = root.child("ProfileID")?.normalizedText
        inv.number = root.child("ID")?.normalizedText
        inv.issueDate = root.child("IssueDate")?.normalizedText
        inv.typeCode = root.child(isCN ? "CreditNoteTypeCode" : "InvoiceTypeCode")?.normalizedText
        inv.currency = root.child("DocumentCurrencyCode")?.normalizedText
        inv.taxCurrency = root.child("TaxCurrencyCode")?.normalizedText
        inv.taxPointDate = root.child("TaxPointDate")?.normalizedText
        inv.dueDate = root.child("DueDate")?.normalizedText
            ?? root.all("PaymentMeans", "PaymentDueDate").first?.normalizedText
        inv.buyerReference = root.child("BuyerReference")?.normalizedText
        inv.buyerAccountingReference = root.child("AccountingCost")?.normalizedText
        inv.notes = root.children("Note").map { note in
            let t = note.text
            // EN 16931-3-2: "#CODE#text" carries the subject code (BT-21) in the note.
            if t.hasPrefix("#"), let end = t.dropFirst().firstIndex(of: "#") {
                let code = String(t[t.index(after: t.startIndex)..<end])
                if !code.isEmpty, code.count <= 3 {
                    return Note(subjectCode: code, text: String(t[t.index(after: end)...]))
                }
            }
            return Note(subjectCode: nil, text: t)
        }
        if let p = root.child("InvoicePeriod") {
            inv.invoicingPeriod = Period(start: p.child("StartDate")?.normalizedText, end: p.child("EndDate")?.normalizedText, descriptionCode: p.child("DescriptionCode")?.normalizedText)
        }
        inv.orderReference = root.first("OrderReference", "ID")?.normalizedText
        inv.salesOrderReference = root.first("OrderReference", "SalesOrderID")?.normalizedText
        inv.precedingInvoices = root.all("BillingReference", "InvoiceDocumentReference").map {
            PrecedingInvoice(number: $0.child("ID")?.normalizedText ?? "", issueDate: $0.child("IssueDate")?.normalizedText)
        }
        inv.despatchAdviceReference = root.first("DespatchDocumentReference", "ID")?.normalizedText
        inv.receivingAdviceReference = root.first("ReceiptDocumentReference", "ID")?.normalizedText
        inv.tenderReference = root.first("OriginatorDocumentReference", "ID")?.normalizedText
        inv.contractReference = root.first("ContractDocumentReference", "ID")?.normalizedText
        inv.projectReference = root.first("ProjectReference", "ID")?.normalizedText
        for ref in root.children("AdditionalDocumentReference") {
            let id = ref.child("ID")
            if ref.child("DocumentTypeCode")?.normalizedText == "130" {
                inv.invoicedObject = Identifier(id?.normalizedText ?? "", scheme: id?.attribute("schemeID"))
                continue
            }
            var a = Attachment(id: id?.normalizedText ?? "")
            a.description = ref.child("DocumentDescription")?.normalizedText
            if let att = ref.child("Attachment") {
                if let bin = att.child("EmbeddedDocumentBinaryObject") {
                    a.setContent(from: bin)
                    a.mimeCode = bin.attribute("mimeCode")
                    a.filename = bin.attribute("filename")
                }
                a.uri = att.first("ExternalReference", "URI")?.normalizedText
            }
            inv.attachments.append(a)
        }
        if let p = root.first("AccountingSupplierParty", "Party") { inv.seller = party(p) }
        if let p = root.first("AccountingCustomerParty", "Party") { inv.buyer = party(p) }
        if let p = root.child("PayeeParty") { inv.payee = party(p) }
        if let p = root.child("TaxRepresentativeParty") { inv.taxRepresentative = party(p) }
        if let d = root.child("Delivery") {
            var del = Delivery()
            del.date = d.child("ActualDeliveryDate")?.normalizedText
            if let loc = d.child("DeliveryLocation") {
                if let id = loc.child("ID") { del.locationID = Identifier(id.normalizedText, scheme: id.attribute("schemeID")) }
                if let a = loc.child("Address") { del.address = address(a) }
            }
            del.partyName = d.first("DeliveryParty", "PartyName", "Name")?.normalizedText
            inv.delivery = del
        }
        let creditorID = (root.all("AccountingSupplierParty", "Party", "PartyIdentification", "ID") + root.all("PayeeParty", "PartyIdentification", "ID"))
            .first { $0.attribute("schemeID") == "SEPA" }?.normalizedText
        for pm in root.children("PaymentMeans") {
            var p = PaymentInstructions()
            p.typeCode = pm.child("PaymentMeansCode")?.normalizedText
            p.typeText = pm.child("PaymentMeansCode")?.attribute("name")
            p.remittanceInfo = pm.child("PaymentID")?.normalizedText
            for acc in pm.children("PayeeFinancialAccount") {
                p.creditTransfers.append(CreditTransfer(accountID: acc.child("ID")?.normalizedText ?? "", accountName: acc.child("Name")?.normalizedText, providerID: acc.first("FinancialInstitutionBranch", "ID")?.normalizedText))
            }
            if let card = pm.child("CardAccount") {
                p.hasCard = true
                p.cardNumber = card.child("PrimaryAccountNumberID")?.normalizedText
                p.cardHolder = card.child("HolderName")?.normalizedText
            }
            if let m = pm.child("PaymentMandate") {
                p.mandateReference = m.child("ID")?.normalizedText
                p.debitedAccount = m.first("PayerFinancialAccount", "ID")?.normalizedText
            }
            p.creditorID = creditorID
            inv.payment.append(p)
        }
        if inv.payment.isEmpty, creditorID != nil {
            var p = PaymentInstructions()
            p.creditorID = creditorID
            inv.payment.append(p)
        }
        let terms = root.children("PaymentTerms").compactMap { $0.child("Note")?.text }
        if !terms.isEmpty { inv.paymentTerms = terms.joined(separator: "\n") }
        for ac in root.children("AllowanceCharge") {
            let x = allowanceCharge(ac)
            if x.isCharge { inv.charges.append(x) } else { inv.allowances.append(x) }
        }
        for tt in root.children("TaxTotal") {
            guard let amount = tt.child("TaxAmount") else { continue }
            let v = DecimalValue(amount.normalizedText, currency: amount.attribute("currencyID"))
            if v?.currency == inv.currency || (inv.currency == nil && inv.totals.vatTotal == nil) {
                if inv.totals.vatTotal == nil { inv.totals.vatTotal = v }
            } else if v?.currency == inv.taxCurrency {
                inv.totals.vatTotalTaxCurrency = v
            }
            for st in tt.children("TaxSubtotal") {
                var b = VATBreakdown()
                b.location = st.xpath
                b.taxableAmount = dec(st.child("TaxableAmount"))
                b.taxAmount = dec(st.child("TaxAmount"))
                if let cat = st.child("TaxCategory") {
                    b.category = cat.child("ID")?.normalizedText
                    b.rate = dec(cat.child("Percent"))
                    b.exemptionReason = cat.child("TaxExemptionReason")?.normalizedText
                    b.exemptionCode = cat.child("TaxExemptionReasonCode")?.normalizedText
                }
                inv.vatBreakdown.append(b)
            }
        }
        if let m = root.child("LegalMonetaryTotal") {
            inv.totals.lineNetSum = dec(m.child("LineExtensionAmount"))
            inv.totals.withoutVAT = dec(m.child("TaxExclusiveAmount"))
            inv.totals.withVAT = dec(m.child("TaxInclusiveAmount"))
            inv.totals.allowanceSum = dec(m.child("AllowanceTotalAmount"))
            inv.totals.chargeSum = dec(m.child("ChargeTotalAmount"))
            inv.totals.paid = dec(m.child("PrepaidAmount"))
            inv.totals.rounding = dec(m.child("PayableRoundingAmount"))
            inv.totals.due = dec(m.child("PayableAmount"))
        }
        for pp in root.children("PrepaidPayment") {
            inv.thirdPartyPayments.append(ThirdPartyPayment(type: pp.child("ID")?.normalizedText, amount: dec(pp.child("PaidAmount")), description: pp.child("InstructionID")?.normalizedText))
        }
        inv.lines = root.children(isCN ? "CreditNoteLine" : "InvoiceLine").map { line($0, isCN: isCN) }
        return inv
    }

    static func dec(_ e: XElement?) -> DecimalValue? {
        guard let e else { return nil }
        // the raw text: DecimalValue normalises the value itself and keeps the written fraction
        return DecimalValue(e.text, currency: e.attribute("currencyID"))
    }

    static func address(_ a: XElement) -> Address {
        var x = Address()
        x.line1 = a.child("StreetName")?.normalizedText
        x.line2 = a.child("AdditionalStreetName")?.normalizedText
        x.line3 = a.first("AddressLine", "Line")?.normalizedText
        x.city = a.child("CityName")?.normalizedText
        x.postCode = a.child("PostalZone")?.normalizedText
        x.subdivision = a.child("CountrySubentity")?.normalizedText
        x.country = a.first("Country", "IdentificationCode")?.normalizedText
        return x
    }

    static func party(_ p: XElement) -> Party {
        var x = Party()
        if let e = p.child("EndpointID") { x.electronicAddress = Identifier(e.normalizedText, scheme: e.attribute("schemeID")) }
        x.identifiers = p.all("PartyIdentification", "ID").filter { $0.attribute("schemeID") != "SEPA" }.map { Identifier($0.normalizedText, scheme: $0.attribute("schemeID")) }
        x.tradingName = p.first("PartyName", "Name")?.normalizedText
        if let a = p.child("PostalAddress") { x.address = address(a) }
        for ts in p.children("PartyTaxScheme") {
            let id = ts.child("CompanyID")?.normalizedText
            if ts.first("TaxScheme", "ID")?.normalizedText == "VAT" { x.vatID = id } else { x.taxRegistrationID = id }
        }
        if let le = p.child("PartyLegalEntity") {
            x.name = le.child("RegistrationName")?.normalizedText
            if let c = le.child("CompanyID") { x.legalRegistration = Identifier(c.normalizedText, scheme: c.attribute("schemeID")) }
            x.legalInfo = le.child("CompanyLegalForm")?.normalizedText
        }
        // Payee (BT-59) and tax representative (BT-62) carry their name in PartyName.
        if x.name == nil, let n = x.tradingName, p.name != "Party" {
            x.name = n
            x.tradingName = nil
        }
        if let c = p.child("Contact") {
            var k = Contact()
            k.name = c.child("Name")?.normalizedText
            k.phone = c.child("Telephone")?.normalizedText
            k.email = c.child("ElectronicMail")?.normalizedText
            x.contact = k
        }
        return x
    }

    static func allowanceCharge(_ ac: XElement) -> AllowanceCharge {
        var x = AllowanceCharge(isCharge: ac.child("ChargeIndicator")?.normalizedText == "true")
        x.location = ac.xpath
        x.amount = dec(ac.child("Amount"))
        x.baseAmount = dec(ac.child("BaseAmount"))
        x.percentage = dec(ac.child("MultiplierFactorNumeric"))
        x.reason = ac.child("AllowanceChargeReason")?.normalizedText
        x.reasonCode = ac.child("AllowanceChargeReasonCode")?.normalizedText
        if let cat = ac.child("TaxCategory") {
            x.vatCategory = cat.child("ID")?.normalizedText
            x.vatRate = dec(cat.child("Percent"))
        }
        return x
    }

    static func line(_ l: XElement, isCN: Bool) -> InvoiceLine {
        var x = InvoiceLine()
        x.location = l.xpath
        x.id = l.child("ID")?.normalizedText ?? ""
        x.note = l.child("Note")?.normalizedText
        if let q = l.child(isCN ? "CreditedQuantity" : "InvoicedQuantity") {
            x.quantity = DecimalValue(q.normalizedText)
            x.unitCode = q.attribute("unitCode")
        }
        x.netAmount = dec(l.child("LineExtensionAmount"))
        x.accountingReference = l.child("AccountingCost")?.normalizedText
        if let p = l.child("InvoicePeriod") {
            x.period = Period(start: p.child("StartDate")?.normalizedText, end: p.child("EndDate")?.normalizedText, descriptionCode: nil)
        }
        x.orderLineReference = l.first("OrderLineReference", "LineID")?.normalizedText
        if let d = l.children("DocumentReference").first(where: { $0.child("DocumentTypeCode")?.normalizedText == "130" }), let id = d.child("ID") {
            x.objectID = Identifier(id.normalizedText, scheme: id.attribute("schemeID"))
        }
        for ac in l.children("AllowanceCharge") {
            let a = allowanceCharge(ac)
            if a.isCharge { x.charges.append(a) } else { x.allowances.append(a) }
        }
        if let item = l.child("Item") {
            x.itemName = item.child("Name")?.normalizedText
            x.itemDescription = item.child("Description")?.normalizedText
            x.buyersItemID = item.first("BuyersItemIdentification", "ID")?.normalizedText
            x.sellersItemID = item.first("SellersItemIdentification", "ID")?.normalizedText
            if let s = item.first("StandardItemIdentification", "ID") { x.standardItemID = Identifier(s.normalizedText, scheme: s.attribute("schemeID")) }
            x.originCountry = item.first("OriginCountry", "IdentificationCode")?.normalizedText
            x.classifications = item.all("CommodityClassification", "ItemClassificationCode").map {
                Identifier($0.normalizedText, scheme: $0.attribute("listID"), schemeVersion: $0.attribute("listVersionID"))
            }
            if let cat = item.child("ClassifiedTaxCategory") {
                x.vatCategory = cat.child("ID")?.normalizedText
                x.vatRate = dec(cat.child("Percent"))
            }
            x.attributes = item.children("AdditionalItemProperty").map {
                ItemAttribute(name: $0.child("Name")?.normalizedText ?? "", value: $0.child("Value")?.normalizedText ?? "")
            }
        }
        if let price = l.child("Price") {
            x.netPrice = dec(price.child("PriceAmount"))
            if let bq = price.child("BaseQuantity") {
                x.baseQuantity = DecimalValue(bq.normalizedText)
                x.baseQuantityUnit = bq.attribute("unitCode")
            }
            if let ac = price.child("AllowanceCharge") {
                x.priceDiscount = dec(ac.child("Amount"))
                x.grossPrice = dec(ac.child("BaseAmount"))
            }
        }
        x.subLines = l.children("SubInvoiceLine").map { line($0, isCN: false) }
        return x
    }
}
