import RathausCore

/// Names for the codes payment providers send (XBezahldienste `paymentMethod`, provider ids,
/// event kinds), in the page's language. The code stays in the data, the CSV and the booking file;
/// screens show the name. An unknown code is shown as it is rather than hidden.
enum PaymentNames {
    private static let methods: [String: (String, String)] = [
        "CREDITCARD": ("Kreditkarte", "credit card"),
        "GIROPAY": ("giropay", "giropay"),
        "PAYDIRECT": ("paydirekt", "paydirekt"),
        "PAYPAL": ("PayPal", "PayPal"),
        "SEPA_DIRECT_DEBIT": ("SEPA-Lastschrift", "SEPA direct debit"),
        "DIRECT_DEBIT": ("Lastschrift", "direct debit"),
        "SEPA_CREDIT_TRANSFER": ("Überweisung", "bank transfer"),
        "TRANSFER": ("Überweisung", "bank transfer"),
        "INVOICE": ("Rechnung", "invoice"),
        "APPLEPAY": ("Apple Pay", "Apple Pay"),
        "GOOGLEPAY": ("Google Pay", "Google Pay"),
        "WERO": ("Wero", "Wero"),
    ]

    /// "Kreditkarte"; "–" when the provider has not told the method (yet).
    static func method(_ code: String) -> String {
        if code.isEmpty { return "–" }
        guard let n = methods[code.uppercased()] else { return code }
        return DisplayLanguage.english ? n.1 : n.0
    }

    /// A provider id as configured; the built-in test provider is named as what it is.
    static func provider(_ id: String) -> String {
        switch id {
        case "test": DisplayLanguage.english ? "test provider (demo, no real money)" : "Test-Zahlungsdienst (Demo, kein echtes Geld)"
        case "": "–"
        default: id
        }
    }

    /// What a payment event was: a message of the provider, or the platform's own check.
    static func eventKind(_ kind: String) -> String {
        let en = DisplayLanguage.english
        switch kind {
        case "status": return en ? "message from the provider" : "Meldung des Zahlungsdienstes"
        case "sweep": return en ? "status check by the platform" : "Statusabfrage der Plattform"
        case "refund", "erstattung": return en ? "refund" : "Erstattung"
        default: return kind
        }
    }

    /// A status code as the payment's status name ("bezahlt"), else as it came.
    static func status(_ code: String) -> String {
        PaymentStatus(rawValue: code)?.label ?? code
    }
}
