/// The element names longer than 15 bytes that the readers and rules look for, written as the
/// same literals: the compiler and linker keep one copy of equal string literals, so an element
/// whose name is taken from here compares equal to the rules' literal by identity, without
/// comparing its bytes (Swift stores names of up to 15 bytes inline, where that is free anyway).
/// A name missing here still compares correctly, only byte by byte. (Generated from the names
/// the sources use that the UBL and CII schemas declare.)
enum ElementNames {
    static let literals: [String] = [
        "AccountingCustomerParty", "AccountingSupplierParty", "ActualDeliveryDate", "ActualDeliverySupplyChainEvent",
        "AdditionalDocumentReference", "AdditionalItemProperty", "AdditionalReferenceReferencedDocument",
        "AdditionalReferencedDocument", "AdditionalStreetName", "AllowanceChargeReason", "AllowanceChargeReasonCode",
        "AllowanceTotalAmount", "ApplicableHeaderTradeAgreement", "ApplicableHeaderTradeDelivery",
        "ApplicableHeaderTradeSettlement", "ApplicableProductCharacteristic", "ApplicableTradeSettlementFinancialCard",
        "ApplicableTradeTax", "AppliedTradeAllowanceCharge", "AssociatedDocumentLineDocument",
        "AssociatedReferencedDocument", "AttachmentBinaryObject", "BillingReference", "BillingSpecifiedPeriod",
        "BusinessProcessSpecifiedDocumentContextParameter", "BuyerOrderReferencedDocument", "BuyersItemIdentification",
        "CalculatedAmount", "CalculationPercent", "CategoryTradeTax",
        "CertificationEvidenceReferenceReferencedDocument", "ChargeTotalAmount", "ClassifiedTaxCategory",
        "CommodityClassification", "CompanyLegalForm", "ConsumptionReportReferencedDocument",
        "ContractDocumentReference", "ContractReferencedDocument", "CountrySubDivisionName", "CountrySubentity",
        "CreditNoteTypeCode", "CreditedQuantity", "CreditorReferenceID", "CrossIndustryInvoice", "DefinedTradeContact",
        "DeliveryLocation", "DeliveryNoteReferencedDocument", "DemandForecastReferencedDocument",
        "DesignatedProductClassification", "DespatchAdviceReferencedDocument", "DespatchDocumentReference",
        "DirectDebitMandateID", "DocumentCurrencyCode", "DocumentDescription", "DocumentReference", "DocumentTypeCode",
        "DuePayableAmount", "EmailURIUniversalCommunication", "EmbeddedDocumentBinaryObject", "ExchangedDocument",
        "ExchangedDocumentContext", "ExemptionReasonCode", "ExternalReference", "FactoringAgreementReferencedDocument",
        "FactoringListReferencedDocument", "FinancialInstitutionBranch", "FormattedIssueDateTime", "GrandTotalAmount",
        "GrossPriceProductTradePrice", "GuidelineSpecifiedDocumentContextParameter", "IdentificationCode",
        "IncludedSupplyChainTradeLineItem", "IncludedTradeTax", "InspectionReferenceReferencedDocument",
        "InvoiceCurrencyCode", "InvoiceDocumentReference", "InvoiceReferenceReferencedDocument",
        "InvoiceReferencedDocument", "InvoicedQuantity", "IssuerAssignedID", "ItemClassificationCode",
        "LegalMonetaryTotal", "LetterOfCreditReferencedDocument", "LineExtensionAmount",
        "MSDSReferenceReferencedDocument", "MultiplierFactorNumeric", "NetPriceProductTradePrice", "OccurrenceDateTime",
        "OrderLineReference", "OrderResponseReferencedDocument", "OriginTradeCountry", "OriginatorDocumentReference",
        "PackingListReferencedDocument", "PartyIdentification", "PartyLegalEntity", "PayableRoundingAmount",
        "PayeeFinancialAccount", "PayeePartyCreditorFinancialAccount", "PayeeSpecifiedCreditorFinancialInstitution",
        "PayerFinancialAccount", "PayerPartyDebtorFinancialAccount", "PayerSpecifiedDebtorFinancialInstitution",
        "PaymentMeansCode", "PaymentReference", "PostalTradeAddress", "PriceListReferencedDocument",
        "PrimaryAccountNumberID", "ProFormaInvoiceReferencedDocument", "ProjectReference",
        "PromotionalDealReferencedDocument", "PurchaseConditionsReferencedDocument", "QuotationReferencedDocument",
        "RateApplicablePercent", "ReceiptDocumentReference", "ReceivableSpecifiedTradeAccountingAccount",
        "ReceivingAdviceReferencedDocument", "ReferenceTypeCode", "RegistrationName", "RequisitionerReferencedDocument",
        "SellerAssignedID", "SellerOrderReferencedDocument", "SellerTaxRepresentativeTradeParty", "SellerTradeParty",
        "SellersItemIdentification", "ShipToTradeParty", "SpecifiedLegalOrganization", "SpecifiedLineTradeAgreement",
        "SpecifiedLineTradeDelivery", "SpecifiedLineTradeSettlement", "SpecifiedProcuringProject",
        "SpecifiedTaxRegistration", "SpecifiedTradeAllowanceCharge", "SpecifiedTradePaymentTerms",
        "SpecifiedTradeProduct", "SpecifiedTradeSettlementHeaderMonetarySummation",
        "SpecifiedTradeSettlementLineMonetarySummation", "SpecifiedTradeSettlementPaymentMeans",
        "StandardItemIdentification", "SubtotalCalculatedTradeTax", "SupplyChainTradeTransaction",
        "SupplyInstructionReferencedDocument", "TaxBasisTotalAmount", "TaxExclusiveAmount", "TaxExemptionReason",
        "TaxExemptionReasonCode", "TaxInclusiveAmount", "TaxRepresentativeParty", "TelephoneUniversalCommunication",
        "TotalPrepaidAmount", "TradingBusinessName", "TransportContractReferencedDocument", "URIUniversalCommunication",
        "UltimateCustomerOrderReferencedDocument",
    ]

    /// The literal equal to a name, if there is one (the syntax-restriction tables take their
    /// names from here too).
    static let literal: [String: String] = Dictionary(literals.map { ($0, $0) }, uniquingKeysWith: { a, _ in a })

    /// The one instance of each known name: the literals, then the names of the syntax-restriction
    /// paths (whose ancestors are compared with every candidate element's ancestors).
    static let canonical: [String: String] = {
        var all = literal
        for name in SyntaxRestrictions.tableNames where all[name] == nil { all[name] = name }
        return all
    }()
}
