import Foundation

/// Where a requirement stands for one tenant.
public enum RequirementStatus: String, Codable, Sendable, CaseIterable {
    case open = "offen"
    case fulfilled = "erfuellt"
    case partly = "teilweise"
    case notFulfilled = "nicht_erfuellt"
    case notApplicable = "entbehrlich"

    public var german: String {
        switch self {
        case .open: "offen"
        case .fulfilled: "erfüllt"
        case .partly: "teilweise erfüllt"
        case .notFulfilled: "nicht erfüllt"
        case .notApplicable: "entbehrlich"
        }
    }

    public var english: String {
        switch self {
        case .open: "open"
        case .fulfilled: "fulfilled"
        case .partly: "partly fulfilled"
        case .notFulfilled: "not fulfilled"
        case .notApplicable: "not applicable"
        }
    }
}

/// A typed refusal with the German text shown to people (and an English one).
public struct ISMSRefusal: Error, Sendable, Equatable {
    public var field: String
    public var german: String
    public var english: String
}

public enum Answering {
    /// Minimum length of the reason why a requirement does not apply (a word or two is no reason).
    public static let minJustification = 20

    /// "Not applicable" needs a justification a reviewer can follow; everything is bounded.
    public static func check(status: RequirementStatus, justification: String, note: String) -> ISMSRefusal? {
        let j = justification.trimmingCharacters(in: .whitespacesAndNewlines)
        if status == .notApplicable && j.count < minJustification {
            return ISMSRefusal(field: "begruendung",
                               german: "Eine Anforderung ist nur mit Begründung entbehrlich: Bitte schreiben Sie in mindestens \(minJustification) Zeichen, warum sie bei Ihnen nicht zutrifft.",
                               english: "A requirement can only be marked not applicable with a justification: please explain in at least \(minJustification) characters why it does not apply.")
        }
        if j.count > 2_000 { return ISMSRefusal(field: "begruendung", german: "Die Begründung darf höchstens 2.000 Zeichen lang sein.", english: "The justification may have at most 2,000 characters.") }
        if note.count > 5_000 { return ISMSRefusal(field: "notiz", german: "Die Notiz darf höchstens 5.000 Zeichen lang sein.", english: "The note may have at most 5,000 characters.") }
        return nil
    }
}

/// The provider's declaration: using `service` fulfils these requirements for the member.
public struct ProviderControl: Sendable, Equatable {
    public var service: String
    public var requirementID: String
    public var evidence: String
    public init(service: String, requirementID: String, evidence: String) { self.service = service; self.requirementID = requirementID; self.evidence = evidence }
}

public enum Inheritance {
    /// Requirement id → the controls that fulfil it for a tenant using `services`. A tenant that
    /// stops using a service loses what only that service gave it, the moment it stops.
    public static func inherited(_ controls: [ProviderControl], using services: Set<String>) -> [String: [ProviderControl]] {
        Dictionary(grouping: controls.filter { services.contains($0.service) }, by: \.requirementID)
    }
}

/// One requirement as the tenant sees it: its own answer, or fulfilled by the provider.
public struct EffectiveStatus: Sendable, Equatable {
    public var status: RequirementStatus
    public var inherited: Bool
    public init(status: RequirementStatus, inherited: Bool) { self.status = status; self.inherited = inherited }

    /// The provider's control wins over an own "open"/"partly"/"not fulfilled"; an own
    /// "fulfilled" or "not applicable" stays the tenant's statement.
    public static func of(own: RequirementStatus?, inherited: Bool) -> EffectiveStatus {
        if inherited, own == nil || own == .open || own == .partly || own == .notFulfilled {
            return EffectiveStatus(status: .fulfilled, inherited: true)
        }
        return EffectiveStatus(status: own ?? .open, inherited: false)
    }
}

public struct CatalogueProgress: Sendable, Equatable {
    public var total: Int
    public var applicable: Int
    public var fulfilled: Int
    public var partly: Int
    public var inherited: Int
    /// basic-level requirements that are open or not fulfilled
    public var criticalOpen: Int

    /// Fulfilled share of the applicable requirements in per mille (integer arithmetic; a half
    /// fulfilled requirement counts half).
    public var permille: Int { applicable == 0 ? 1000 : (fulfilled * 1000 + partly * 500) / applicable }

    public init(total: Int = 0, applicable: Int = 0, fulfilled: Int = 0, partly: Int = 0, inherited: Int = 0, criticalOpen: Int = 0) {
        self.total = total; self.applicable = applicable; self.fulfilled = fulfilled; self.partly = partly; self.inherited = inherited; self.criticalOpen = criticalOpen
    }

    public static func of(_ items: [(Requirement, EffectiveStatus)]) -> CatalogueProgress {
        var p = CatalogueProgress()
        for (r, s) in items {
            p.total += 1
            if s.status == .notApplicable { continue }
            p.applicable += 1
            switch s.status {
            case .fulfilled: p.fulfilled += 1; if s.inherited { p.inherited += 1 }
            case .partly: p.partly += 1
            case .open, .notFulfilled: if r.level == .basic { p.criticalOpen += 1 }
            case .notApplicable: break
            }
        }
        return p
    }

    public static func + (a: CatalogueProgress, b: CatalogueProgress) -> CatalogueProgress {
        CatalogueProgress(total: a.total + b.total, applicable: a.applicable + b.applicable, fulfilled: a.fulfilled + b.fulfilled,
                 partly: a.partly + b.partly, inherited: a.inherited + b.inherited, criticalOpen: a.criticalOpen + b.criticalOpen)
    }
}
