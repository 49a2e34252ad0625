/// States of a tenant's membership in the shared IT provider.
public enum MembershipStatus: String, Sendable, Codable, CaseIterable {
    /// Not joined (also after a withdrawn application).
    case none
    /// Beitrittsantrag filed, waiting for the operator's decision.
    case applied
    /// Member since `effectiveFrom`.
    case member
    /// Application rejected with a reason; may apply again.
    case rejected
    /// Member that has given notice; membership ends on `effectiveUntil`.
    case noticeGiven = "notice_given"
}

public enum MembershipEvent: String, Sendable, Codable, CaseIterable {
    case apply, withdraw, approve, reject, giveNotice = "give_notice"
}

/// The one place that knows which transitions are legal.
public enum MembershipStateMachine {
    public static func next(_ from: MembershipStatus, _ event: MembershipEvent) -> MembershipStatus? {
        switch (from, event) {
        case (.none, .apply), (.rejected, .apply): .applied
        case (.applied, .withdraw): MembershipStatus.none
        case (.applied, .approve): .member
        case (.applied, .reject): .rejected
        case (.member, .giveNotice): .noticeGiven
        default: nil
        }
    }

    /// Why a transition is refused, in German and English.
    public static func refusal(_ from: MembershipStatus, _ event: MembershipEvent) -> ValidationFailure {
        let state: String = switch from {
        case .none: "nicht beigetreten"
        case .applied: "Antrag gestellt"
        case .member: "Mitglied"
        case .rejected: "Antrag abgelehnt"
        case .noticeGiven: "gekündigt"
        }
        let what: String = switch event {
        case .apply: "einen Beitrittsantrag stellen"
        case .withdraw: "den Antrag zurückziehen"
        case .approve: "den Antrag genehmigen"
        case .reject: "den Antrag ablehnen"
        case .giveNotice: "die Mitgliedschaft kündigen"
        }
        return ValidationFailure(code: "membership.transition",
                                 de: "Im Status „\(state)“ kann man nicht \(what).",
                                 en: "In state \(from.rawValue) the action \(event.rawValue) is not possible.")
    }
}

/// Answer options of the interest survey.
public enum SurveyInterest: String, Sendable, Codable, CaseIterable {
    case yes, maybe, no
}

/// Tally of one group of tenants (a Kreis or the whole Land).
public struct SurveyTally: Sendable, Equatable, Codable {
    public var eligible: Int
    public var yes: Int
    public var maybe: Int
    public var no: Int
    public var answered: Int { yes + maybe + no }

    public init(eligible: Int = 0, yes: Int = 0, maybe: Int = 0, no: Int = 0) {
        self.eligible = eligible; self.yes = yes; self.maybe = maybe; self.no = no
    }

    public mutating func add(_ i: SurveyInterest) {
        switch i { case .yes: yes += 1; case .maybe: maybe += 1; case .no: no += 1 }
    }

    /// Share in favour among those who answered, in whole per mille to stay exact; nil if nobody answered.
    public var inFavourPermille: Int? { answered == 0 ? nil : (yes * 1000 + answered / 2) / answered }
    /// Share of eligible tenants that answered, per mille.
    public var responsePermille: Int? { eligible == 0 ? nil : (answered * 1000 + eligible / 2) / eligible }

    /// `62,5 %` style.
    public static func percentDE(_ permille: Int?) -> String {
        guard let p = permille else { return "–" }
        return "\(p / 10),\(p % 10) %"
    }
}
