import Foundation

/// Statuses of a submitted application (Antrag) as the office handles it.
public enum CaseStatus: String, Sendable, Codable, CaseIterable {
    case received = "eingegangen"
    case inProgress = "in_bearbeitung"
    case query = "rueckfrage"
    case completed = "abgeschlossen"
    case rejected = "abgelehnt"
    case withdrawn = "zurueckgezogen"

    public var german: String {
        switch self {
        case .received: "eingegangen"
        case .inProgress: "in Bearbeitung"
        case .query: "Rückfrage"
        // a decision says how it ended: granted ("stattgegeben") or "abgelehnt"
        case .completed: "abgeschlossen – stattgegeben"
        case .rejected: "abgelehnt"
        case .withdrawn: "zurückgezogen"
        }
    }

    public var english: String {
        switch self {
        case .received: "received"
        case .inProgress: "in progress"
        case .query: "query to applicant"
        case .completed: "completed – granted"
        case .rejected: "rejected"
        case .withdrawn: "withdrawn"
        }
    }

    public var isFinal: Bool { self == .completed || self == .rejected || self == .withdrawn }
}

/// Who asks for a status change.
public enum CaseActor: Sendable { case office, applicant }

/// The one place that knows the case workflow:
/// eingegangen → in Bearbeitung → Rückfrage ⇄ in Bearbeitung → abgeschlossen | abgelehnt,
/// and zurückgezogen by the applicant from any open status. The office cannot withdraw for the
/// applicant, the applicant cannot decide. A query and a rejection need a text for the applicant;
/// the applicant's answer to a query brings the case back to "in Bearbeitung".
public enum CaseWorkflow {
    public static func check(from: CaseStatus, to: CaseStatus, by actor: CaseActor, text: String?) -> ValidationFailure? {
        if from.isFinal {
            return ValidationFailure(code: "antrag.final", de: "Der Antrag ist bereits „\(from.german)“; sein Status kann nicht mehr geändert werden.",
                                     en: "The application is already \(from.english); its status cannot change any more.")
        }
        let legal: Bool
        switch actor {
        case .office:
            legal = switch (from, to) {
            case (.received, .inProgress), (.inProgress, .query), (.query, .inProgress),
                 (.inProgress, .completed), (.inProgress, .rejected), (.received, .rejected): true
            default: false
            }
        case .applicant:
            legal = to == .withdrawn || (from == .query && to == .inProgress)
        }
        guard legal else {
            return ValidationFailure(code: "antrag.transition",
                                     de: "Ein Antrag im Status „\(from.german)“ kann nicht auf „\(to.german)“ gesetzt werden.",
                                     en: "An application in status \(from.english) cannot become \(to.english).")
        }
        let blank = (text ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        if actor == .office, to == .query || to == .rejected, blank {
            return ValidationFailure(code: "antrag.text_required",
                                     de: to == .query ? "Bitte schreiben Sie Ihre Rückfrage an die antragstellende Person." : "Bitte begründen Sie die Ablehnung.",
                                     en: to == .query ? "Please write your question to the applicant." : "Please give the reason for the rejection.")
        }
        return nil
    }

    /// Targets the office may choose from `from` (for the clerk's buttons).
    public static func officeTargets(from: CaseStatus) -> [CaseStatus] {
        CaseStatus.allCases.filter { check(from: from, to: $0, by: .office, text: "x") == nil }
    }
}
