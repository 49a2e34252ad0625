/// The language of the page being rendered. Set once per web request (a task-local value, so
/// concurrent requests never see each other's); labels and dates shown to people follow it,
/// while mails, files and the API keep their fixed German wording.
public enum DisplayLanguage {
    @TaskLocal public static var english = false
}

/// A value with a German and an English name for people.
public protocol BilingualLabel {
    var german: String { get }
    var english: String { get }
}

extension BilingualLabel {
    /// The name in the language of the page being rendered.
    public var label: String { DisplayLanguage.english ? english : german }
}

extension CaseStatus: BilingualLabel {}
extension InvoiceStatus: BilingualLabel {}
extension PaymentStatus: BilingualLabel {
    public var english: String {
        switch self {
        case .initial: "open"
        case .payed: "paid"
        case .failed: "failed"
        case .canceled: "cancelled"
        }
    }
}

extension TrustLevel: BilingualLabel {
    public var english: String {
        switch self {
        case .basisregistrierung: "basic registration (e-mail and password)"
        case .substanziell: "substantial (e.g. ELSTER certificate)"
        case .hoch: "high (online ID card)"
        }
    }
}
