/// The restriction tables of the syntax bindings (EN 16931 validation artefacts 1.3.15), in the
/// format `SyntaxRestrictions(table:)` reads. UBL: every path is below the document element
/// (Invoice or CreditNote); `Line` is InvoiceLine or CreditNoteLine.
enum SyntaxRestrictionTables {
    static let cii = ""

    static let ubl = """
UBL-CR- 001 UBLExtensions
UBL-CR- 003 ProfileExecutionID CopyIndicator UUID IssueTime PricingCurrencyCode PaymentCurrencyCode PaymentAlternativeCurrencyCode AccountingCostCode LineCountNumeric
UBL-CR- 012 InvoicePeriod/ StartTime EndTime DurationMeasure Description
UBL-CR- 016 OrderReference/ CopyIndicator UUID IssueDate IssueTime CustomerReference OrderTypeCode DocumentReference
UBL-CR- 023 BillingReference/InvoiceDocumentReference/ CopyIndicator UUID IssueTime DocumentTypeCode DocumentType XPath LanguageID LocaleCode VersionID DocumentStatusCode DocumentDescription Attachment ValidityPeriod IssuerParty ResultOfVerification
UBL-CR- 038 BillingReference/ SelfBilledInvoiceDocumentReference CreditNoteDocumentReference SelfBilledCreditNoteDocumentReference DebitNoteDocumentReference ReminderDocumentReference AdditionalDocumentReference BillingReferenceLine
UBL-CR- 045 DespatchDocumentReference/ CopyIndicator UUID IssueDate IssueTime DocumentTypeCode DocumentType XPath LanguageID LocaleCode VersionID DocumentStatusCode DocumentDescription Attachment ValidityPeriod IssuerParty ResultOfVerification
UBL-CR- 061 ReceiptDocumentReference/ CopyIndicator UUID IssueDate IssueTime DocumentTypeCode DocumentType XPath LanguageID LocaleCode VersionID DocumentStatusCode DocumentDescription Attachment ValidityPeriod IssuerParty ResultOfVerification
UBL-CR- 077 StatementDocumentReference
UBL-CR- 078 OriginatorDocumentReference/ CopyIndicator UUID IssueDate IssueTime DocumentTypeCode DocumentType XPath LanguageID LocaleCode VersionID DocumentStatusCode DocumentDescription Attachment ValidityPeriod IssuerParty ResultOfVerification
UBL-CR- 094 ContractDocumentReference/ CopyIndicator UUID IssueDate IssueTime DocumentTypeCode DocumentType XPath LanguageID LocaleCode VersionID DocumentStatusCode DocumentDescription Attachment ValidityPeriod IssuerParty ResultOfVerification
UBL-CR- 110 AdditionalDocumentReference/ CopyIndicator UUID IssueDate IssueTime DocumentType XPath LanguageID LocaleCode VersionID DocumentStatusCode
UBL-CR- 121 AdditionalDocumentReference/Attachment/ExternalReference/ DocumentHash HashAlgorithmMethod ExpiryDate ExpiryTime MimeCode FormatCode EncodingCode CharacterSetCode FileName Description
UBL-CR- 131 AdditionalDocumentReference/ ValidityPeriod IssuerParty ResultOfVerification
UBL-CR- 134 ProjectReference/ UUID IssueDate WorkPhaseReference
UBL-CR- 137 Signature
UBL-CR- 138 AccountingSupplierParty/ CustomerAssignedAccountID AdditionalAccountID DataSendingCapability
UBL-CR- 141 AccountingSupplierParty/Party/ MarkCareIndicator MarkAttentionIndicator WebsiteURI LogoReferenceID IndustryClassificationCode Language
UBL-CR- 147 AccountingSupplierParty/Party/PostalAddress/ ID AddressTypeCode AddressFormatCode Postbox Floor Room BlockName BuildingName BuildingNumber InhouseMail Department MarkAttention MarkCare PlotIdentification CitySubdivisionName CountrySubentityCode Region District TimezoneOffset Country/Name LocationCoordinate
UBL-CR- 168 AccountingSupplierParty/Party/PhysicalLocation
UBL-CR- 169 AccountingSupplierParty/Party/PartyTaxScheme/ RegistrationName TaxLevelCode ExemptionReasonCode ExemptionReason RegistrationAddress TaxScheme/Name TaxScheme/TaxTypeCode TaxScheme/CurrencyCode TaxScheme/JurisdictionRegionAddress
UBL-CR- 178 AccountingSupplierParty/Party/PartyLegalEntity/ RegistrationDate RegistrationExpirationDate CompanyLegalFormCode SoleProprietorshipIndicator CompanyLiquidationStatusCode CorporateStockAmount FullyPaidSharesIndicator RegistrationAddress CorporateRegistrationScheme HeadOfficeParty ShareholderParty
UBL-CR- 189 AccountingSupplierParty/Party/Contact/ ID Telefax Note OtherCommunication
UBL-CR- 193 AccountingSupplierParty/Party/ Person AgentParty ServiceProviderParty PowerOfAttorney FinancialAccount
UBL-CR- 198 AccountingSupplierParty/ DespatchContact AccountingContact SellerContact
UBL-CR- 201 AccountingCustomerParty/ CustomerAssignedAccountID SupplierAssignedAccountID AdditionalAccountID
UBL-CR- 204 AccountingCustomerParty/Party/ MarkCareIndicator MarkAttentionIndicator WebsiteURI LogoReferenceID IndustryClassificationCode Language
UBL-CR- 210 AccountingCustomerParty/Party/PostalAddress/ ID AddressTypeCode AddressFormatCode Postbox Floor Room BlockName BuildingName BuildingNumber InhouseMail Department MarkAttention MarkCare PlotIdentification CitySubdivisionName CountrySubentityCode Region District TimezoneOffset Country/Name LocationCoordinate
UBL-CR- 231 AccountingCustomerParty/Party/PhysicalLocation
UBL-CR- 232 AccountingCustomerParty/Party/PartyTaxScheme/ RegistrationName TaxLevelCode ExemptionReasonCode ExemptionReason RegistrationAddress TaxScheme/Name TaxScheme/TaxTypeCode TaxScheme/CurrencyCode TaxScheme/JurisdictionRegionAddress
UBL-CR- 241 AccountingCustomerParty/Party/PartyLegalEntity/ RegistrationDate RegistrationExpirationDate CompanyLegalFormCode CompanyLegalForm SoleProprietorshipIndicator CompanyLiquidationStatusCode CorporateStockAmount FullyPaidSharesIndicator RegistrationAddress CorporateRegistrationScheme HeadOfficeParty ShareholderParty
UBL-CR- 253 AccountingCustomerParty/Party/Contact/ ID Telefax Note OtherCommunication
UBL-CR- 257 AccountingCustomerParty/Party/ Person AgentParty ServiceProviderParty PowerOfAttorney FinancialAccount
UBL-CR- 262 AccountingCustomerParty/ DeliveryContact AccountingContact BuyerContact
UBL-CR- 265 PayeeParty/ MarkCareIndicator MarkAttentionIndicator WebsiteURI LogoReferenceID EndpointID IndustryClassificationCode Language PostalAddress PhysicalLocation PartyTaxScheme
UBL-CR- 275 PayeeParty/PartyLegalEntity/ RegistrationName RegistrationDate RegistrationExpirationDate CompanyLegalFormCode CompanyLegalForm SoleProprietorshipIndicator CompanyLiquidationStatusCode CorporateStockAmount FullyPaidSharesIndicator RegistrationAddress CorporateRegistrationScheme HeadOfficeParty ShareholderParty
UBL-CR- 288 PayeeParty/ Contact Person AgentParty ServiceProviderParty PowerOfAttorney FinancialAccount
UBL-CR- 294 BuyerCustomerParty SellerSupplierParty
UBL-CR- 296 TaxRepresentativeParty/ MarkCareIndicator MarkAttentionIndicator WebsiteURI LogoReferenceID EndpointID IndustryClassificationCode PartyIdentification Language
UBL-CR- 304 TaxRepresentativeParty/PostalAddress/ ID AddressTypeCode AddressFormatCode Postbox Floor Room BlockName BuildingName BuildingNumber InhouseMail Department MarkAttention MarkCare PlotIdentification CitySubdivisionName CountrySubentityCode Region District TimezoneOffset Country/Name LocationCoordinate
UBL-CR- 325 TaxRepresentativeParty/PhysicalLocation
UBL-CR- 326 TaxRepresentativeParty/PartyTaxScheme/ RegistrationName TaxLevelCode ExemptionReasonCode ExemptionReason RegistrationAddress TaxScheme/Name TaxScheme/TaxTypeCode TaxScheme/CurrencyCode TaxScheme/JurisdictionRegionAddress
UBL-CR- 335 TaxRepresentativeParty/ PartyLegalEntity Contact Person AgentParty ServiceProviderParty PowerOfAttorney FinancialAccount
UBL-CR- 342 Delivery/ ID Quantity MinimumQuantity MaximumQuantity ActualDeliveryTime LatestDeliveryDate LatestDeliveryTime ReleaseID TrackingID
UBL-CR- 351 Delivery/DeliveryLocation/ Description Conditions CountrySubentity CountrySubentityCode LocationTypeCode InformationURI Name ValidityPeriod
UBL-CR- 359 Delivery/DeliveryLocation/Address/ ID AddressTypeCode AddressFormatCode Postbox Floor Room BlockName BuildingName BuildingNumber InhouseMail Department MarkAttention MarkCare PlotIdentification CitySubdivisionName CountrySubentityCode Region District TimezoneOffset Country/Name LocationCoordinate
UBL-CR- 380 Delivery/DeliveryLocation/ SubsidiaryLocation LocationCoordinate
UBL-CR- 382 Delivery/ AlternativeDeliveryLocation RequestedDeliveryPeriod EstimatedDeliveryPeriod CarrierParty
UBL-CR- 386 Delivery/DeliveryParty/ MarkCareIndicator MarkAttentionIndicator WebsiteURI LogoReferenceID EndpointID IndustryClassificationCode PartyIdentification Language PostalAddress PhysicalLocation PartyTaxScheme PartyLegalEntity Contact Person AgentParty ServiceProviderParty PowerOfAttorney FinancialAccount
UBL-CR- 404 Delivery/ NotifyParty Despatch DeliveryTerms MinimumDeliveryUnit MaximumDeliveryUnit Shipment
UBL-CR- 410 DeliveryTerms
UBL-CR- 411 PaymentMeans/ ID - PaymentChannelCode InstructionID
UBL-CR- 415 PaymentMeans/CardAccount/ CardTypeCode ValidityStartDate ExpiryDate
UBL-CR- 418 PaymentMeans/CardAccount/ IssuerID IssueNumberID CV2ID CardChipCode ChipApplicationID
UBL-CR- 424 PaymentMeans/PayeeFinancialAccount/ AliasName AccountTypeCode AccountFormatCode CurrencyCode PaymentNote FinancialInstitutionBranch/Name FinancialInstitutionBranch/FinancialInstitution/Name FinancialInstitutionBranch/FinancialInstitution/Address FinancialInstitutionBranch/Address Country
UBL-CR- 434 PaymentMeans/ CreditAccount
UBL-CR- 435 PaymentMeans/PaymentMandate/ MandateTypeCode MaximumPaymentInstructionsNumeric MaximumPaidAmount SignatureID PayerParty
UBL-CR- 440 PaymentMeans/PaymentMandate/PayerFinancialAccount/ Name AliasName AccountTypeCode AccountFormatCode CurrencyCode PaymentNote FinancialInstitutionBranch Country
UBL-CR- 448 PaymentMeans/PaymentMandate/ ValidityPeriod PaymentReversalPeriod Clause
UBL-CR- 451 PaymentMeans/TradeFinancing
UBL-CR- 452 PaymentTerms/ ID PaymentMeansID PrepaidPaymentReferenceID ReferenceEventCode SettlementDiscountPercent PenaltySurchargePercent PaymentPercent Amount SettlementDiscountAmount PenaltyAmount PaymentTermsDetailsURI PaymentDueDate InstallmentDueDate InvoicingPartyReference SettlementPeriod PenaltyPeriod ExchangeRate ValidityPeriod
UBL-CR- 470 PrepaidPayment
UBL-CR- 471 AllowanceCharge/ ID PrepaidIndicator SequenceNumeric AccountingCostCode AccountingCost PerUnitAmount
UBL-CR- 477 AllowanceCharge/TaxCategory/ Name BaseUnitMeasure PerUnitAmount TaxExemptionReasonCode TaxExemptionReason TierRange TierRatePercent TaxScheme/Name TaxScheme/TaxTypeCode TaxScheme/CurrencyCode TaxScheme/JurisdictionRegionAddress
UBL-CR- 488 AllowanceCharge/ TaxTotal PaymentMeans
UBL-CR- 490 TaxExchangeRate PricingExchangeRate PaymentExchangeRate PaymentAlternativeExchangeRate
UBL-CR- 494 TaxTotal/ RoundingAmount TaxEvidenceIndicator TaxIncludedIndicator
UBL-CR- 497 TaxTotal/TaxSubtotal/ CalculationSequenceNumeric TransactionCurrencyTaxAmount Percent BaseUnitMeasure PerUnitAmount TierRange TierRatePercent
UBL-CR- 504 TaxTotal/TaxSubtotal/TaxCategory/ Name BaseUnitMeasure PerUnitAmount TierRange TierRatePercent TaxScheme/Name TaxScheme/TaxTypeCode TaxScheme/CurrencyCode TaxScheme/JurisdictionRegionAddress
UBL-CR- 513 WithholdingTaxTotal
UBL-CR- 514 LegalMonetaryTotal/PayableAlternativeAmount
UBL-CR- 515 Line/ UUID TaxPointDate AccountingCostCode PaymentPurposeCode FreeOfChargeIndicator
UBL-CR- 520 Line/InvoicePeriod/ StartTime EndTime DurationMeasure DescriptionCode Description
UBL-CR- 525 Line/OrderLineReference/ SalesOrderLineID UUID LineStatusCode OrderReference
UBL-CR- 529 Line/ DespatchLineReference ReceiptLineReference BillingReference
UBL-CR- 532 Line/DocumentReference/ CopyIndicator UUID IssueDate IssueTime - DocumentType XPath LanguageID LocaleCode VersionID DocumentStatusCode DocumentDescription Attachment ValidityPeriod IssuerParty ResultOfVerification
UBL-CR- 548 Line/ PricingReference OriginatorParty Delivery PaymentTerms
UBL-CR- 552 Line/AllowanceCharge/ ID PrepaidIndicator SequenceNumeric AccountingCostCode AccountingCost PerUnitAmount TaxCategory TaxTotal PaymentMeans
UBL-CR- 561 Line/ TaxTotal WithholdingTaxTotal
UBL-CR- 563 Line/Item/ PackQuantity PackSizeNumeric CatalogueIndicator HazardousRiskIndicator AdditionalInformation Keyword BrandName ModelName
UBL-CR- 571 Line/Item/BuyersItemIdentification/ ExtendedID BarcodeSymbologyID PhysicalAttribute MeasurementDimension IssuerParty
UBL-CR- 576 Line/Item/SellersItemIdentification/ ExtendedID BarcodeSymbologyID PhysicalAttribute MeasurementDimension IssuerParty
UBL-CR- 581 Line/Item/ ManufacturersItemIdentification
UBL-CR- 582 Line/Item/StandardItemIdentification/ ExtendedID BarcodeSymbologyID PhysicalAttribute MeasurementDimension IssuerParty
UBL-CR- 587 Line/Item/ CatalogueItemIdentification AdditionalItemIdentification CatalogueDocumentReference ItemSpecificationDocumentReference OriginCountry/Name CommodityClassification/NatureCode CommodityClassification/CargoTypeCode CommodityClassification/CommodityCode TransactionConditions HazardousItem
UBL-CR- 597 Line/Item/ClassifiedTaxCategory/ Name BaseUnitMeasure PerUnitAmount TaxExemptionReasonCode TaxExemptionReason TierRange TierRatePercent TaxScheme/Name TaxScheme/TaxTypeCode TaxScheme/CurrencyCode TaxScheme/JurisdictionRegionAddress
UBL-CR- 608 Line/Item/AdditionalItemProperty/ ID NameCode TestMethod ValueQuantity ValueQualifier ImportanceCode ListValue UsabilityPeriod ItemPropertyGroup RangeDimension ItemPropertyRange
UBL-CR- 619 Line/Item/ ManufacturerParty InformationContentProviderParty OriginAddress ItemInstance Certificate Dimension
UBL-CR- 625 Line/Price/ PriceChangeReason PriceTypeCode PriceType OrderableUnitFactorRate ValidityPeriod PriceList OrderableUnitFactorRate
UBL-CR- 632 Line/Price/AllowanceCharge/ ID AllowanceChargeReasonCode AllowanceChargeReason MultiplierFactorNumeric PrepaidIndicator SequenceNumeric AccountingCostCode AccountingCost PerUnitAmount TaxCategory TaxTotal PaymentMeans
UBL-CR- 644 Line/ Price/PricingExchangeRate DeliveryTerms SubInvoiceLine ItemPriceExtension
UBL-CR- 648 CustomizationID/@schemeID ProfileID/@schemeID ID/@schemeID SalesOrderID/@schemeID //PartyTaxScheme/CompanyID/@schemeID PaymentMeans/PaymentID/@schemeID PaymentMeans/PayeeFinancialAccount/ID/@schemeID PaymentMeans/PayeeFinancialAccount/FinancialInstitutionBranch/ID/@schemeID
UBL-CR- 656 InvoiceTypeCode/@listID DocumentCurrencyCode/@listID TaxCurrencyCode/@listID AdditionalDocumentReference/DocumentTypeCode/@listID //Country/IdentificationCode/@listID PaymentMeans/PaymentMeansCode/@listID //AllowanceChargeReasonCode/@listID //@unitCodeListID //FinancialInstitution
UBL-CR- 667 //BuyersItemIdentification/ID/@schemeID //SellersItemIdentification/ID/@schemeID //Price/AllowanceCharge/AllowanceChargeReasonCode //Price/AllowanceCharge/AllowanceChargeReason //Price/AllowanceCharge/MultiplierFactorNumeric CreditNoteTypeCode/@listID
UBL-CR- 674 //PrimaryAccountNumber/@schemeID //CardAccount/NetworkID/@schemeID //PaymentMandate/ID/@schemeID //PaymentMandate/PayerFinancialAccount/ID/@schemeID //TaxCategory/ID/@schemeID //ClassifiedTaxCategory/ID/@schemeID //PaymentMeans/PayerFinancialAccount
UBL-DT- 08 //@schemeName //@schemeAgencyName //@schemeDataURI //@schemeURI //@format //@unitCodeListIdentifier //@unitCodeListAgencyIdentifier //@unitCodeListAgencyName //@listAgencyName //@listName
UBL-DT- 19 //@languageID //@listURI //@listSchemeURI //@languageLocaleID //@uri //@currencyCodeListVersionID //@characterSetCode //@encodingCode //@schemeAgencyID //@listAgencyID
"""
}

extension SyntaxRestrictions {
    static let ubl = SyntaxRestrictions(table: SyntaxRestrictionTables.ubl)
    static let cii = SyntaxRestrictions(table: SyntaxRestrictionTables.cii)
}
