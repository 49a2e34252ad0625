/// Statuses of a received e-invoice in the municipal accounting inbox.
public enum InvoiceStatus: String, Sendable, Codable, CaseIterable {
    case received = "eingegangen"
    /// Same seller, number, issue date and total as an invoice already received, but other bytes
    /// (re-sent with other line endings, re-exported): held for a person to decide, neither booked
    /// twice silently nor refused silently.
    case possibleDuplicate = "moegliche_doublette"
    case factuallyChecked = "sachlich_geprueft"
    case arithmeticallyChecked = "rechnerisch_geprueft"
    case released = "freigegeben"
    case rejected = "zurueckgewiesen"

    public var german: String {
        switch self {
        case .received: "eingegangen"
        case .possibleDuplicate: "mögliche Doublette – bitte prüfen"
        case .factuallyChecked: "sachlich geprüft"
        case .arithmeticallyChecked: "rechnerisch geprüft"
        case .released: "zur Zahlung freigegeben"
        case .rejected: "zurückgewiesen"
        }
    }

    public var english: String {
        switch self {
        case .received: "received"
        case .possibleDuplicate: "possible duplicate – please check"
        case .factuallyChecked: "checked (content)"
        case .arithmeticallyChecked: "checked (arithmetic)"
        case .released: "released for payment"
        case .rejected: "rejected"
        }
    }

    public var isFinal: Bool { self == .released || self == .rejected }
}

/// Who did which step so far; the four-eyes rule compares against it.
public struct InvoiceSteps: Sendable, Equatable {
    public var factualBy: String?
    public var arithmeticBy: String?
    public init(factualBy: String? = nil, arithmeticBy: String? = nil) {
        self.factualBy = factualBy
        self.arithmeticBy = arithmeticBy
    }
}

/// The one place that knows the invoice workflow:
/// eingegangen → sachlich geprüft → rechnerisch geprüft → zur Zahlung freigegeben,
/// and zurückgewiesen (with a reason) from any open status.
/// With four eyes on, no person does two consecutive steps: the arithmetic check is not done by
/// the one who checked the content, the release not by the one who checked the arithmetic.
/// Two people can so bring an invoice to payment, and no step is confirmed by its own author.
public enum InvoiceWorkflow {
    public static func check(from: InvoiceStatus, to: InvoiceStatus, actor: String, steps: InvoiceSteps,
                             fourEyes: Bool, reason: String?) -> ValidationFailure? {
        let legal: Bool = switch (from, to) {
        case (.received, .factuallyChecked), (.factuallyChecked, .arithmeticallyChecked), (.arithmeticallyChecked, .released): true
        case (.received, .rejected), (.factuallyChecked, .rejected), (.arithmeticallyChecked, .rejected): true
        // a possible duplicate is either taken into the normal workflow or rejected (with a reason)
        case (.possibleDuplicate, .received), (.possibleDuplicate, .rejected): true
        default: false
        }
        guard legal else {
            return ValidationFailure(code: "rechnung.transition",
                                     de: "Eine Rechnung im Status „\(from.german)“ kann nicht auf „\(to.german)“ gesetzt werden.",
                                     en: "An invoice in status \(from.english) cannot become \(to.english).")
        }
        if to == .rejected {
            let r = reason?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if r.isEmpty {
                return ValidationFailure(code: "rechnung.reason", de: "Bitte geben Sie den Grund der Zurückweisung an; er wird dem Rechnungssteller mitgeteilt.",
                                         en: "Give the reason for the rejection; the supplier is told.")
            }
            if r.count > 1000 {
                return ValidationFailure(code: "rechnung.reason", de: "Der Grund darf höchstens 1000 Zeichen lang sein.", en: "At most 1000 characters.")
            }
            return nil
        }
        if fourEyes {
            let previous: String? = switch to {
            case .arithmeticallyChecked: steps.factualBy
            case .released: steps.arithmeticBy
            default: nil
            }
            if let previous, previous == actor {
                return ValidationFailure(code: "rechnung.four_eyes",
                                         de: "Vier-Augen-Prinzip: Diesen Schritt muss eine andere Person erledigen als den vorherigen Prüfschritt.",
                                         en: "Four-eyes principle: another person than in the previous step must do this step.")
            }
        }
        return nil
    }
}
