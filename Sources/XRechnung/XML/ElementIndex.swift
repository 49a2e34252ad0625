/// Elements the rule checks look up by name, elements with attributes and the first empty leaf
/// (PEPPOL-EN16931-R008), collected in document order while the tree is built: the rules need
/// no walk of their own, and no element name is hashed as a string per element.
final class ElementIndex {
    /// The local names looked up through `RuleContext.named` (and the attachment elements,
    /// whose content `Attachments.restore` puts back). A name missing here is found by a walk.
    static let indexedNames: [String] = [
        "PostalAddress", "Address", "GlobalID", "ApplicableProductCharacteristic", "GrossPriceProductTradePrice",
        "NetPriceProductTradePrice", "SpecifiedTradeAllowanceCharge", "PaymentMeansCode", "IdentificationCode",
        "TypeCode", "CountryID", "PartyTaxScheme", "TaxCategory", "ClassifiedTaxCategory", "SubInvoiceLine",
        "TaxPointDate", "ParentLineID", "EmbeddedDocumentBinaryObject", "AttachmentBinaryObject",
        "ApplicableTradeSettlementFinancialCard", "CardAccount", "ReferenceTypeCode", "TaxExemptionReasonCode",
        "ExemptionReasonCode", "AppliedTradeAllowanceCharge", "DateTimeString", "Price", "PaymentMeans",
        "InvoiceCurrencyCode", "DocumentCurrencyCode", "TaxCurrencyCode", "CreditNoteTypeCode", "SpecifiedTaxRegistration", "CategoryCode", "SpecifiedTradeSettlementPaymentMeans", "TaxRepresentativeParty", "SellerTaxRepresentativeTradeParty", "PayeeTradeParty", "BuyerTradeParty", "SellerTradeParty",
        "SpecifiedTradeSettlementHeaderMonetarySummation", "AllowanceCharge", "ApplicableHeaderTradeSettlement", "SpecifiedLineTradeSettlement",
        "Delivery", "DueDate", "PaymentTerms", "SpecifiedTradePaymentTerms", "SpecifiedTradeProduct", "SpecifiedTradeSettlementLineMonetarySummation",
        "AdditionalItemProperty", "AccountingSupplierParty", "AccountingCustomerParty",
    ]
    /// Plus the elements the CII data type rules look at by name.
    static let allNames: [String] = {
        var seen = Set(indexedNames)
        var names = indexedNames
        let more = ["IncludedSupplyChainTradeLineItem", "ApplicableTradeTax", "AppliedTradeTax", "CategoryTradeTax", "IncludedTradeTax",
                    "SubtotalCalculatedTradeTax", "AdditionalDocumentReference"] + CIIRestrictions.referencedDocuments
        for n in more where seen.insert(n).inserted { names.append(n) }
        return names
    }()
    static let slots: [String: Int] = Dictionary(uniqueKeysWithValues: allNames.enumerated().map { ($1, $0) })
    static func slot(of name: String) -> Int { slots[name] ?? -1 }

    /// The slots of the names longer than 15 bytes by the address of their literal's bytes: the
    /// rules pass the same literals (equal literals are one constant in the binary), so
    /// `RuleContext.named` finds most slots without hashing the name. Only constants' addresses
    /// are keys (no heap string can have one); a miss falls back to `slots`.
    private static let literalTable: (keys: [UInt], values: [Int], mask: Int) = {
        let capacity = 256
        var keys = [UInt](repeating: 0, count: capacity), values = [Int](repeating: -1, count: capacity)
        for (slot, name) in allNames.enumerated() {
            guard let address = literalAddress(name) else { continue }
            var i = Int(truncatingIfNeeded: (address >> 3) &* 0x9E37_79B9) & (capacity - 1)
            while keys[i] != 0 && keys[i] != address { i = (i + 1) & (capacity - 1) }
            keys[i] = address
            values[i] = slot
        }
        return (keys, values, capacity - 1)
    }()

    /// The address of a long string's bytes (short strings live inline and have none that lasts).
    @inline(__always) private static func literalAddress(_ name: String) -> UInt? {
        guard name.utf8.count > 15 else { return nil }
        return name.utf8.withContiguousStorageIfAvailable { UInt(bitPattern: $0.baseAddress) }
    }

    /// Names of up to 15 bytes by their bytes packed into two words (no hashing of a String).
    private static let shortTable: (keys: [(UInt64, UInt64)], values: [Int], mask: Int) = {
        let capacity = 256
        var keys = [(UInt64, UInt64)](repeating: (0, 0), count: capacity), values = [Int](repeating: -1, count: capacity)
        for (slot, name) in allNames.enumerated() {
            guard let key = shortKey(name) else { continue }
            var i = shortHome(key, capacity - 1)
            while values[i] >= 0 && keys[i] != key { i = (i + 1) & (capacity - 1) }
            keys[i] = key
            values[i] = slot
        }
        return (keys, values, capacity - 1)
    }()

    /// The bytes of a name of up to 15 bytes and its length, packed (none is all zero: the length is in).
    @inline(__always) private static func shortKey(_ name: String) -> (UInt64, UInt64)? {
        let n = name.utf8.count
        guard n <= 15 else { return nil }
        var lo: UInt64 = 0, hi = UInt64(n) << 56
        var i: UInt64 = 0
        for b in name.utf8 {
            if i < 8 { lo |= UInt64(b) << (8 * i) } else { hi |= UInt64(b) << (8 * (i - 8)) }
            i += 1
        }
        return (lo, hi)
    }

    @inline(__always) private static func shortHome(_ key: (UInt64, UInt64), _ mask: Int) -> Int {
        Int(truncatingIfNeeded: ((key.0 ^ (key.1 &* 0x9E37_79B9_7F4A_7C15)) &* 0xBF58_476D_1CE4_E5B9) >> 40) & mask
    }

    static func shortSlot(_ name: String) -> Int? {
        guard let key = shortKey(name) else { return nil }
        return shortTable.keys.withUnsafeBufferPointer { keys in
            shortTable.values.withUnsafeBufferPointer { values in
                var i = shortHome(key, shortTable.mask)
                while values[i] >= 0 {
                    if keys[i] == key { return values[i] }
                    i = (i + 1) & shortTable.mask
                }
                return nil
            }
        }
    }

    static func literalSlot(_ name: String) -> Int? {
        guard let address = literalAddress(name), address != 0 else { return nil }
        let t = literalTable
        var i = Int(truncatingIfNeeded: (address >> 3) &* 0x9E37_79B9) & t.mask
        while t.keys[i] != 0 {
            if t.keys[i] == address { return t.values[i] }
            i = (i + 1) & t.mask
        }
        return nil
    }
    /// (Two slots compared directly: a Set lookup hashed the slot of every indexed element.)
    static let embeddedSlot = slots["EmbeddedDocumentBinaryObject"] ?? -1
    static let attachmentSlot = slots["AttachmentBinaryObject"] ?? -1

    // The lists hold their elements unretained: the tree owns them and every holder of an index
    // (ParsedXML, RuleContext) holds the tree's root as well. Retaining each element once more
    // and releasing it again with the index was 2–3 % of a validation (measured).
    // (filled while the tree is built, read afterwards: no run-time exclusivity checks, as XElement)
    @exclusivity(unchecked) var named: [ElementList] = Array(repeating: ElementList(), count: ElementIndex.allNames.count)
    @exclusivity(unchecked) var attributed = ElementList()
    @exclusivity(unchecked) var firstEmptyLeaf: XElement?
    /// Both attachment element kinds in document order.
    @exclusivity(unchecked) var binaryObjects = ElementList()
    /// Elements whose name ends in "Amount" but not "PriceAmount" (UBL-DT-01).
    @exclusivity(unchecked) var amounts = ElementList()
    /// Elements whose name ends the path of a syntax restriction, with the name's index
    /// (`SyntaxRestrictions.lastNameIndex`), and elements carrying an attribute that is never
    /// allowed (`SyntaxRestrictions.attributeIndex`).
    @exclusivity(unchecked) var restrictionCandidates = TaggedElementList()
    @exclusivity(unchecked) var forbiddenAttributes = TaggedElementList()

    func add(_ e: XElement, slot: Int) {
        named[slot].append(e)
        if slot == ElementIndex.embeddedSlot || slot == ElementIndex.attachmentSlot { binaryObjects.append(e) }
    }
}

/// Elements of one tree in document order, held without retaining them (see `ElementIndex`).
struct ElementList: RandomAccessCollection {
    private var items: [Unmanaged<XElement>] = []
    init() {}
    var startIndex: Int { 0 }
    var endIndex: Int { items.count }
    subscript(i: Int) -> XElement { items[i].takeUnretainedValue() }
    mutating func append(_ e: XElement) { items.append(.passUnretained(e)) }
}

/// Elements with a number (an index into a table), held like `ElementList`.
struct TaggedElementList: RandomAccessCollection {
    private var items: [(Unmanaged<XElement>, Int32)] = []
    init() {}
    var startIndex: Int { 0 }
    var endIndex: Int { items.count }
    subscript(i: Int) -> (XElement, Int32) { (items[i].0.takeUnretainedValue(), items[i].1) }
    mutating func append(_ e: XElement, _ tag: Int32) { items.append((.passUnretained(e), tag)) }
}
