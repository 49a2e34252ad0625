/// The states of a funding application, from draft to closing. One type decides every change;
/// anything else is refused (HTTP 409 in the web part).
public enum FundingStatus: String, Sendable, CaseIterable, Codable {
    case draft = "entwurf"
    /// Written; waiting for the signatory's release (not the author).
    case awaitingRelease = "zur_freigabe"
    case submitted = "eingereicht"
    /// The Land asked something; the answer returns the case.
    case query = "rueckfrage"
    /// The Land sent it back for changes; editable, then released again.
    case changesRequested = "nachbesserung"
    case approved = "bewilligt"
    case rejected = "abgelehnt"
    case proofSubmitted = "nachweis_eingereicht"
    case closed = "abgeschlossen"
    case withdrawn = "zurueckgezogen"

    public var german: String {
        switch self {
        case .draft: "Entwurf"
        case .awaitingRelease: "wartet auf Freigabe"
        case .submitted: "eingereicht"
        case .query: "Rückfrage"
        case .changesRequested: "Nachbesserung erbeten"
        case .approved: "bewilligt"
        case .rejected: "abgelehnt"
        case .proofSubmitted: "Verwendungsnachweis eingereicht"
        case .closed: "abgeschlossen"
        case .withdrawn: "zurückgezogen"
        }
    }

    public var english: String {
        switch self {
        case .draft: "draft"
        case .awaitingRelease: "awaiting release"
        case .submitted: "submitted"
        case .query: "query"
        case .changesRequested: "changes requested"
        case .approved: "approved"
        case .rejected: "rejected"
        case .proofSubmitted: "proof of use submitted"
        case .closed: "closed"
        case .withdrawn: "withdrawn"
        }
    }

    /// The applicant may change the content.
    public var isEditable: Bool { self == .draft || self == .changesRequested }
    /// Waiting for the Land's decision (counts as demand on the budget).
    public var isPending: Bool { self == .submitted || self == .query }
    /// Money is committed.
    public var isApproved: Bool { self == .approved || self == .proofSubmitted || self == .closed }
}

public enum FundingStep: String, Sendable, CaseIterable {
    case requestRelease, returnToDraft, release, query, answer, requestChanges, approve, reject, submitProof, returnProof, close, withdraw
}

public struct IllegalTransition: Error, Sendable, Equatable, CustomStringConvertible {
    public var from: FundingStatus
    public var step: FundingStep
    public var description: String { "Im Status „\(from.german)“ ist dieser Schritt nicht möglich." }
    public var english: String { "This step is not possible in status '\(from.english)'." }
}

public enum FundingWorkflow {
    public static func next(_ from: FundingStatus, _ step: FundingStep) throws(IllegalTransition) -> FundingStatus {
        switch (from, step) {
        case (.draft, .requestRelease), (.changesRequested, .requestRelease): return .awaitingRelease
        case (.awaitingRelease, .returnToDraft): return .draft
        case (.awaitingRelease, .release): return .submitted
        case (.submitted, .query): return .query
        case (.query, .answer): return .submitted
        case (.submitted, .requestChanges), (.query, .requestChanges): return .changesRequested
        case (.submitted, .approve): return .approved
        case (.submitted, .reject), (.query, .reject): return .rejected
        case (.approved, .submitProof): return .proofSubmitted
        case (.proofSubmitted, .returnProof): return .approved
        case (.proofSubmitted, .close): return .closed
        case (.draft, .withdraw), (.awaitingRelease, .withdraw), (.submitted, .withdraw), (.query, .withdraw), (.changesRequested, .withdraw):
            return .withdrawn
        default: throw IllegalTransition(from: from, step: step)
        }
    }

    public static func allowed(_ from: FundingStatus) -> [FundingStep] {
        FundingStep.allCases.filter { (try? next(from, $0)) != nil }
    }
}

/// Who may do the steps that need two different people.
public enum FourEyes {
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        case signerIsAuthor, sameChecker, checksMissing
        public var description: String {
            switch self {
            case .signerIsAuthor: "Die Freigabe muss eine andere zeichnungsbefugte Person erteilen als die, die den Antrag geschrieben hat."
            case .sameChecker: "Sachliche und rechnerische Prüfung müssen zwei verschiedene Personen vornehmen."
            case .checksMissing: "Vor der Entscheidung müssen die sachliche und die rechnerische Prüfung vermerkt sein."
            }
        }
        public var english: String {
            switch self {
            case .signerIsAuthor: "The release must be given by an authorised signatory other than the author."
            case .sameChecker: "The content check and the calculation check must be done by two different people."
            case .checksMissing: "Both the content check and the calculation check must be recorded before the decision."
            }
        }
    }

    public static func release(author: String, signer: String) throws(Refusal) {
        if author == signer { throw .signerIsAuthor }
    }

    /// `other` is who did the other check (nil = not yet).
    public static func check(by person: String, other: String?) throws(Refusal) {
        if let other, other == person { throw .sameChecker }
    }

    public static func decide(contentBy: String?, calcBy: String?) throws(Refusal) {
        guard let c = contentBy, let r = calcBy else { throw .checksMissing }
        if c == r { throw .sameChecker }
    }
}
