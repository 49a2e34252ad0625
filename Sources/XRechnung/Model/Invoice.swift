import Foundation

/// An amount or quantity as written in the file: the exact Decimal plus the literal, because
/// rules such as BR-DEC-* count decimal places of the literal and a round trip must keep it.
public struct DecimalValue: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let value: Decimal
    public let literal: String
    public var currency: String?
    /// Characters after the first "." of the text as written, spaces included: the BR-DEC rules
    /// test `string-length(substring-after(., '.')) <= 2` on the unnormalised text.
    public let rawFraction: Int

    public init?(_ literal: String, currency: String? = nil) {
        let t = XElement.normalizeSpace(literal)
        guard let v = DecimalValue.parse(t) else { return nil }
        self.value = v
        self.literal = t
        self.currency = currency
        // (on bytes: the text parsed as a decimal, so it is ASCII digits, sign, dot and XML
        // whitespace only — a Character search and count here was measured at 1 % of validation)
        var raw = literal
        self.rawFraction = raw.withUTF8 { b in
            guard let dot = b.firstIndex(of: UInt8(ascii: ".")) else { return 0 }
            return b.count - dot - 1
        }
    }

    /// xs:decimal lexical form → Decimal, exactly, without Foundation's locale-aware parser
    /// (which dominated validation time). Up to 38 significant digits, in one pass: the first 19
    /// in a UInt64 (no array, no Decimal arithmetic for the common amounts), more in a Decimal.
    static func parse(_ s: String) -> Decimal? {
        var negative = false
        var sawDot = false
        var first = true
        var anyDigit = false
        var scale = 0
        var significant = 0
        var m: UInt64 = 0
        var long: Decimal?
        var s = s
        // (on the contiguous bytes: iterating `String.UTF8View` cost several times more per byte)
        let ok: Bool = s.withUTF8 { bytes in
            for b in bytes {
                defer { first = false }
                switch b {
                case UInt8(ascii: "+") where first: continue
                case UInt8(ascii: "-") where first: negative = true
                case UInt8(ascii: "."):
                    if sawDot { return false }
                    sawDot = true
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    anyDigit = true
                    if sawDot { scale += 1 }
                    let d = b - UInt8(ascii: "0")
                    if significant == 0 && d == 0 { continue } // leading zeros
                    significant += 1
                    if significant > 38 { return false }
                    if significant <= 19 {
                        m = m * 10 + UInt64(d)
                    } else {
                        long = (long ?? Decimal(m)) * 10 + Decimal(Int(d))
                    }
                default:
                    return false
                }
            }
            return true
        }
        guard ok, anyDigit else { return nil }
        var result = long ?? Decimal(m)
        if scale > 0 { result = Decimal(sign: .plus, exponent: -scale, significand: result) }
        return negative ? -result : result
    }

    public init(_ value: Decimal, currency: String? = nil) {
        self.value = value
        let text = NSDecimalNumber(decimal: value).stringValue
        self.literal = text
        self.currency = currency
        self.rawFraction = text.firstIndex(of: ".").map { text.distance(from: $0, to: text.endIndex) - 1 } ?? 0
    }

    public var description: String { literal }

    /// Digits after the decimal point as written.
    public var fractionDigits: Int { rawFraction }


}

public struct Identifier: Sendable, Equatable, Hashable {
    public var value: String
    public var scheme: String?
    public var schemeVersion: String?
    public init(_ value: String, scheme: String? = nil, schemeVersion: String? = nil) {
        self.value = value
        self.scheme = scheme
        self.schemeVersion = schemeVersion
    }
}

public struct Address: Sendable, Equatable {
    public var line1: String?        // BT-35 / BT-50 / BT-64 / BT-75
    public var line2: String?        // BT-36
    public var line3: String?        // BT-162
    public var city: String?         // BT-37
    public var postCode: String?     // BT-38
    public var subdivision: String?  // BT-39
    public var country: String?      // BT-40
    public init() {}
}

public struct Contact: Sendable, Equatable {
    public var name: String?   // BT-41 / BT-56
    public var phone: String?  // BT-42 / BT-57
    public var email: String?  // BT-43 / BT-58
    public init() {}
}

/// Seller (BG-4), Buyer (BG-7), Payee (BG-10) and tax representative (BG-11) share this shape;
/// which terms a role may carry is checked by the rules.
public struct Party: Sendable, Equatable {
    public var name: String?                    // BT-27 / BT-44 / BT-59 / BT-62
    public var tradingName: String?             // BT-28 / BT-45
    public var identifiers: [Identifier] = []   // BT-29 / BT-46 / BT-60
    public var legalRegistration: Identifier?   // BT-30 / BT-47 / BT-61
    public var vatID: String?                   // BT-31 / BT-48 / BT-63
    public var taxRegistrationID: String?       // BT-32 (FC)
    public var legalInfo: String?               // BT-33
    public var electronicAddress: Identifier?   // BT-34 / BT-49
    public var address: Address?                // BG-5 / BG-8 / BG-12
    public var contact: Contact?                // BG-6 / BG-9
    public init() {}
}

public struct PrecedingInvoice: Sendable, Equatable {
    public var number: String     // BT-25
    public var issueDate: String? // BT-26
    public init(number: String, issueDate: String?) { self.number = number; self.issueDate = issueDate }
}

public struct Note: Sendable, Equatable {
    public var subjectCode: String? // BT-21
    public var text: String         // BT-22
    public init(subjectCode: String?, text: String) { self.subjectCode = subjectCode; self.text = text }
}

public struct Period: Sendable, Equatable {
    public var start: String?          // BT-73 / BT-134
    public var end: String?            // BT-74 / BT-135
    public var descriptionCode: String? // BT-8
    public init(start: String? = nil, end: String? = nil, descriptionCode: String? = nil) { self.start = start; self.end = end; self.descriptionCode = descriptionCode }
}

public struct Delivery: Sendable, Equatable {
    public var partyName: String?      // BT-70
    public var locationID: Identifier? // BT-71
    public var date: String?           // BT-72
    public var address: Address?       // BG-15
    public init(partyName: String? = nil, locationID: Identifier? = nil, date: String? = nil, address: Address? = nil) {
        self.partyName = partyName; self.locationID = locationID; self.date = date; self.address = address
    }
}

public struct CreditTransfer: Sendable, Equatable {
    public var accountID: String        // BT-84
    public var accountName: String?     // BT-85
    public var providerID: String?      // BT-86
    public init(accountID: String, accountName: String?, providerID: String?) { self.accountID = accountID; self.accountName = accountName; self.providerID = providerID }
}

public struct PaymentInstructions: Sendable, Equatable {
    public var typeCode: String?        // BT-81
    public var typeText: String?        // BT-82
    public var remittanceInfo: String?  // BT-83
    public var creditTransfers: [CreditTransfer] = [] // BG-17
    public var cardNumber: String?      // BT-87 (BG-18)
    public var cardHolder: String?      // BT-88
    public var hasCard = false
    public var mandateReference: String? // BT-89 (BG-19)
    public var creditorID: String?       // BT-90
    public var debitedAccount: String?   // BT-91
    public var hasDirectDebit: Bool { mandateReference != nil || creditorID != nil || debitedAccount != nil }
    public init() {}
}

/// Document level allowance (BG-20) or charge (BG-21), also line level (BG-27 / BG-28).
public struct AllowanceCharge: Sendable, Equatable {
    public var isCharge: Bool
    public var amount: DecimalValue?       // BT-92 / BT-99 / BT-136 / BT-141
    public var baseAmount: DecimalValue?   // BT-93 / BT-100 / BT-137 / BT-142
    public var percentage: DecimalValue?   // BT-94 / BT-101 / BT-138 / BT-143
    public var vatCategory: String?        // BT-95 / BT-102
    public var vatRate: DecimalValue?      // BT-96 / BT-103
    public var reason: String?             // BT-97 / BT-104 / BT-139 / BT-144
    public var reasonCode: String?         // BT-98 / BT-105 / BT-140 / BT-145
    public var location: String = ""
    public init(isCharge: Bool) { self.isCharge = isCharge }
}

public struct Totals: Sendable, Equatable {
    public var lineNetSum: DecimalValue?       // BT-106
    public var allowanceSum: DecimalValue?     // BT-107
    public var chargeSum: DecimalValue?        // BT-108
    public var withoutVAT: DecimalValue?       // BT-109
    public var vatTotal: DecimalValue?         // BT-110 (in invoice currency)
    public var vatTotalTaxCurrency: DecimalValue? // BT-111
    public var withVAT: DecimalValue?          // BT-112
    public var paid: DecimalValue?             // BT-113
    public var rounding: DecimalValue?         // BT-114
    public var due: DecimalValue?              // BT-115
    public init() {}
}

public struct VATBreakdown: Sendable, Equatable {
    public var taxableAmount: DecimalValue?  // BT-116
    public var taxAmount: DecimalValue?      // BT-117
    public var category: String?             // BT-118
    public var rate: DecimalValue?           // BT-119
    public var exemptionReason: String?      // BT-120
    public var exemptionCode: String?        // BT-121
    public var location: String = ""
    public init() {}
}

public struct Attachment: Sendable, Equatable {
    public var id: String                 // BT-122
    public var description: String?       // BT-123
    public var uri: String?               // BT-124
    /// BT-125, base64 as in the file. Large content stays in the input bytes until read.
    public var content: String? {
        get { storedContent ?? lazyContent?.string }
        set { storedContent = newValue; lazyContent = nil }
    }
    public var hasContent: Bool { storedContent != nil || lazyContent != nil }
    var storedContent: String?
    var lazyContent: LazyText?
    public var mimeCode: String?
    public var filename: String?
    public init(id: String) { self.id = id }

    /// Takes the content of an attachment element without copying large base64 text.
    mutating func setContent(from element: XElement) {
        if let lazy = element.lazyText { lazyContent = lazy; storedContent = nil } else { content = element.text }
    }

    public static func == (a: Attachment, b: Attachment) -> Bool {
        a.id == b.id && a.description == b.description && a.uri == b.uri && a.mimeCode == b.mimeCode
            && a.filename == b.filename && a.content == b.content
    }
}

public struct ItemAttribute: Sendable, Equatable {
    public var name: String   // BT-160
    public var value: String  // BT-161
    public init(name: String, value: String) { self.name = name; self.value = value }
}

public struct InvoiceLine: Sendable, Equatable {
    // The fields live in one copy-on-write box: the rules go through the lines many times per
    // invoice, and each copy of 28 separate fields was ~30 reference-count operations (about
    // 1 % of a validation, measured with callgrind; and intermediate arrays of lines held ~1 KB
    // per line). Value semantics are unchanged: a shared box is copied before a change.
    struct Fields: Sendable, Equatable {
        var id: String = "" // BT-126
        var note: String? // BT-127
        var objectID: Identifier? // BT-128
        var quantity: DecimalValue? // BT-129
        var unitCode: String? // BT-130
        var netAmount: DecimalValue? // BT-131
        var orderLineReference: String? // BT-132
        var accountingReference: String? // BT-133
        var period: Period? // BG-26
        var allowances: [AllowanceCharge] = [] // BG-27
        var charges: [AllowanceCharge] = [] // BG-28
        var netPrice: DecimalValue? // BT-146
        var priceDiscount: DecimalValue? // BT-147
        var grossPrice: DecimalValue? // BT-148
        var baseQuantity: DecimalValue? // BT-149
        var baseQuantityUnit: String? // BT-150
        var vatCategory: String? // BT-151
        var vatRate: DecimalValue? // BT-152
        var itemName: String? // BT-153
        var itemDescription: String? // BT-154
        var sellersItemID: String? // BT-155
        var buyersItemID: String? // BT-156
        var standardItemID: Identifier? // BT-157
        var classifications: [Identifier] = [] // BT-158
        var originCountry: String? // BT-159
        var attributes: [ItemAttribute] = [] // BG-32
        var subLines: [InvoiceLine] = [] // XRechnung extension BG-DEX-01
        var location: String = ""
    }

    private final class Box: @unchecked Sendable { // changed only while uniquely referenced
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box = Box(Fields())

    /// The fields for changing: a box shared with another value is copied first.
    private var fields: Fields {
        get { box.fields }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            yield &box.fields
        }
    }

    public var id: String { get { box.fields.id } _modify { yield &fields.id } }
    public var note: String? { get { box.fields.note } _modify { yield &fields.note } }
    public var objectID: Identifier? { get { box.fields.objectID } _modify { yield &fields.objectID } }
    public var quantity: DecimalValue? { get { box.fields.quantity } _modify { yield &fields.quantity } }
    public var unitCode: String? { get { box.fields.unitCode } _modify { yield &fields.unitCode } }
    public var netAmount: DecimalValue? { get { box.fields.netAmount } _modify { yield &fields.netAmount } }
    public var orderLineReference: String? { get { box.fields.orderLineReference } _modify { yield &fields.orderLineReference } }
    public var accountingReference: String? { get { box.fields.accountingReference } _modify { yield &fields.accountingReference } }
    public var period: Period? { get { box.fields.period } _modify { yield &fields.period } }
    public var allowances: [AllowanceCharge] { get { box.fields.allowances } _modify { yield &fields.allowances } }
    public var charges: [AllowanceCharge] { get { box.fields.charges } _modify { yield &fields.charges } }
    public var netPrice: DecimalValue? { get { box.fields.netPrice } _modify { yield &fields.netPrice } }
    public var priceDiscount: DecimalValue? { get { box.fields.priceDiscount } _modify { yield &fields.priceDiscount } }
    public var grossPrice: DecimalValue? { get { box.fields.grossPrice } _modify { yield &fields.grossPrice } }
    public var baseQuantity: DecimalValue? { get { box.fields.baseQuantity } _modify { yield &fields.baseQuantity } }
    public var baseQuantityUnit: String? { get { box.fields.baseQuantityUnit } _modify { yield &fields.baseQuantityUnit } }
    public var vatCategory: String? { get { box.fields.vatCategory } _modify { yield &fields.vatCategory } }
    public var vatRate: DecimalValue? { get { box.fields.vatRate } _modify { yield &fields.vatRate } }
    public var itemName: String? { get { box.fields.itemName } _modify { yield &fields.itemName } }
    public var itemDescription: String? { get { box.fields.itemDescription } _modify { yield &fields.itemDescription } }
    public var sellersItemID: String? { get { box.fields.sellersItemID } _modify { yield &fields.sellersItemID } }
    public var buyersItemID: String? { get { box.fields.buyersItemID } _modify { yield &fields.buyersItemID } }
    public var standardItemID: Identifier? { get { box.fields.standardItemID } _modify { yield &fields.standardItemID } }
    public var classifications: [Identifier] { get { box.fields.classifications } _modify { yield &fields.classifications } }
    public var originCountry: String? { get { box.fields.originCountry } _modify { yield &fields.originCountry } }
    public var attributes: [ItemAttribute] { get { box.fields.attributes } _modify { yield &fields.attributes } }
    public var subLines: [InvoiceLine] { get { box.fields.subLines } _modify { yield &fields.subLines } }
    public var location: String { get { box.fields.location } _modify { yield &fields.location } }
    public init() {}

    public static func == (a: InvoiceLine, b: InvoiceLine) -> Bool { a.box === b.box || a.box.fields == b.box.fields }
}

/// The semantic model of EN 16931-1 (BT-1 … BT-165, BG-1 … BG-32) shared by both syntaxes.
public struct Invoice: Sendable, Equatable {
    public enum Syntax: String, Sendable { case ublInvoice = "UBL-Invoice", ublCreditNote = "UBL-CreditNote", cii = "CII" }

    public var syntax: Syntax
    public var number: String?                  // BT-1
    public var issueDate: String?               // BT-2
    public var typeCode: String?                // BT-3
    public var currency: String?                // BT-5
    public var taxCurrency: String?             // BT-6
    public var taxPointDate: String?            // BT-7
    public var dueDate: String?                 // BT-9
    public var buyerReference: String?          // BT-10 (Leitweg-ID in XRechnung)
    public var projectReference: String?        // BT-11
    public var contractReference: String?       // BT-12
    public var orderReference: String?          // BT-13
    public var salesOrderReference: String?     // BT-14
    public var receivingAdviceReference: String? // BT-15
    public var despatchAdviceReference: String?  // BT-16
    public var tenderReference: String?         // BT-17
    public var invoicedObject: Identifier?      // BT-18
    public var buyerAccountingReference: String? // BT-19
    public var paymentTerms: String?            // BT-20
    public var notes: [Note] = []               // BG-1
    public var processID: String?               // BT-23
    public var specificationID: String?         // BT-24
    public var precedingInvoices: [PrecedingInvoice] = [] // BG-3
    public var seller = Party()                 // BG-4
    public var buyer = Party()                  // BG-7
    public var payee: Party?                    // BG-10
    public var taxRepresentative: Party?        // BG-11
    public var delivery: Delivery?              // BG-13
    public var invoicingPeriod: Period?         // BG-14
    public var payment: [PaymentInstructions] = [] // BG-16 (UBL may repeat PaymentMeans)
    public var allowances: [AllowanceCharge] = [] // BG-20
    public var charges: [AllowanceCharge] = []    // BG-21
    public var totals = Totals()                // BG-22
    public var vatBreakdown: [VATBreakdown] = [] // BG-23
    public var attachments: [Attachment] = []   // BG-24
    public var lines: [InvoiceLine] = []        // BG-25
    /// XRechnung extension: third party payments (BG-DEX-09).
    public var thirdPartyPayments: [ThirdPartyPayment] = []

    public init(syntax: Syntax) { self.syntax = syntax }
}

public struct ThirdPartyPayment: Sendable, Equatable {
    public var type: String?             // BT-DEX-001
    public var amount: DecimalValue?     // BT-DEX-002
    public var description: String?      // BT-DEX-003
    public init(type: String?, amount: DecimalValue?, description: String?) { self.type = type; self.amount = amount; self.description = description }
}
