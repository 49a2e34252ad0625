import RathausCore

/// Names of the codes an invoice carries, for people (the code stays in small type for clerks):
/// UNTDID 1001 invoice types, UNCL 5305 VAT categories, UNCL 4461 payment means and the UN/ECE
/// Recommendation 20 units an invoice to a municipality uses most. Names written for this project.
public enum CodeNames {
    public static var invoiceTypes: [String: String] { DisplayLanguage.english ? invoiceTypesEN : invoiceTypesDE }
    static let invoiceTypesDE: [String: String] = [
        "326": "Teilrechnung", "380": "Rechnung", "381": "Gutschrift", "384": "Rechnungskorrektur",
        "389": "Selbst ausgestellte Rechnung (Gutschriftverfahren)", "875": "Teilrechnung für Bauleistungen",
        "876": "Teilschlussrechnung für Bauleistungen", "877": "Schlussrechnung für Bauleistungen", "751": "Rechnungsinformation für Buchhaltungszwecke",
    ]
    public static var vatCategories: [String: String] { DisplayLanguage.english ? vatCategoriesEN : vatCategoriesDE }
    static let vatCategoriesDE: [String: String] = [
        "S": "Umsatzsteuer (Regel- oder ermäßigter Satz)", "Z": "Nullsatz", "E": "steuerbefreit", "AE": "Steuerschuldnerschaft des Leistungsempfängers",
        "K": "innergemeinschaftliche Lieferung", "G": "Ausfuhr aus der EU", "O": "nicht steuerbar", "L": "Kanarische Inseln (IGIC)", "M": "Ceuta und Melilla (IPSI)",
    ]
    public static var paymentMeans: [String: String] { DisplayLanguage.english ? paymentMeansEN : paymentMeansDE }
    static let paymentMeansDE: [String: String] = [
        "1": "nicht festgelegt", "10": "Barzahlung", "30": "Überweisung", "31": "Überweisung", "42": "Zahlung auf ein Bankkonto", "48": "Bankkarte",
        "49": "Lastschrift", "54": "Kreditkarte", "55": "Debitkarte", "57": "Dauerauftrag", "58": "SEPA-Überweisung", "59": "SEPA-Lastschrift",
        "68": "Online-Zahlungsdienst", "97": "Verrechnung",
    ]
    public static var units: [String: String] { DisplayLanguage.english ? unitsEN : unitsDE }
    static let unitsDE: [String: String] = [
        "C62": "Stück", "H87": "Stück", "XPP": "Packung", "XPK": "Packung", "HUR": "Stunden", "MIN": "Minuten", "DAY": "Tage", "WEE": "Wochen",
        "MON": "Monate", "ANN": "Jahre", "KGM": "kg", "TNE": "t", "MTR": "m", "KMT": "km", "MTK": "m²", "MTQ": "m³", "LTR": "l",
        "KWH": "kWh", "LS": "pauschal", "SET": "Satz", "P1": "%", "E48": "Leistungseinheiten", "EA": "Stück",
    ]

    static let invoiceTypesEN: [String: String] = [
        "326": "Partial invoice", "380": "Commercial invoice", "381": "Credit note", "384": "Corrected invoice",
        "389": "Self-billed invoice", "875": "Partial construction invoice", "876": "Partial final construction invoice",
        "877": "Final construction invoice", "751": "Invoice information for accounting purposes",
    ]
    static let vatCategoriesEN: [String: String] = [
        "S": "VAT (standard or reduced rate)", "Z": "Zero rated", "E": "Exempt from VAT", "AE": "Reverse charge",
        "K": "Intra-community supply", "G": "Export outside the EU", "O": "Not subject to VAT", "L": "Canary Islands (IGIC)", "M": "Ceuta and Melilla (IPSI)",
    ]
    static let paymentMeansEN: [String: String] = [
        "1": "not defined", "10": "Cash", "30": "Credit transfer", "31": "Credit transfer", "42": "Payment to bank account", "48": "Bank card",
        "49": "Direct debit", "54": "Credit card", "55": "Debit card", "57": "Standing order", "58": "SEPA credit transfer", "59": "SEPA direct debit",
        "68": "Online payment service", "97": "Clearing between partners",
    ]
    static let unitsEN: [String: String] = [
        "C62": "pieces", "H87": "pieces", "XPP": "packages", "XPK": "packages", "HUR": "hours", "MIN": "minutes", "DAY": "days", "WEE": "weeks",
        "MON": "months", "ANN": "years", "KGM": "kg", "TNE": "t", "MTR": "m", "KMT": "km", "MTK": "m²", "MTQ": "m³", "LTR": "l",
        "KWH": "kWh", "LS": "lump sum", "SET": "sets", "P1": "%", "E48": "service units", "EA": "pieces",
    ]

    /// "Rechnung (380)"; an unknown code stays as it is.
    public static func named(_ code: String?, in list: [String: String]) -> String? {
        guard let code, !code.isEmpty else { return nil }
        return list[code].map { "\($0) (\(code))" } ?? code
    }

    /// A decimal literal of the invoice as German amount: "1234.5" EUR → "1.234,50 €".
    public static func amount(_ literal: String, currency: String?) -> String { amount(literal, currency: currency, english: DisplayLanguage.english) }

    /// English: "1234.5" EUR → "€1,234.50". German findings pass `english: false`.
    public static func amount(_ literal: String, currency: String?, english: Bool) -> String {
        var s = literal
        var sign = ""
        if s.hasPrefix("-") { sign = "-"; s.removeFirst() } else if s.hasPrefix("+") { s.removeFirst() }
        let parts = s.split(separator: ".", maxSplits: 1)
        let whole = String(parts.first ?? "0")
        var fraction = parts.count > 1 ? String(parts[1]) : ""
        while fraction.count < 2 { fraction += "0" }
        var grouped = ""
        for (i, ch) in whole.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { grouped.append(english ? "," : ".") }
            grouped.append(ch)
        }
        if english {
            let number = String(grouped.reversed()) + "." + fraction
            return currency == nil || currency == "EUR" ? sign + "€" + number : sign + number + " " + (currency ?? "")
        }
        let number = sign + String(grouped.reversed()) + "," + fraction
        return currency == nil || currency == "EUR" ? number + " €" : number + " " + (currency ?? "")
    }

    /// "2026-03-15" → "15.03.2026".
    public static func date(_ iso: String?) -> String? { iso.map { CalendarDay.display($0, english: DisplayLanguage.english) } }
}
