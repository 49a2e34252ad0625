import Foundation

/// Where a measure (Maßnahme) to close a gap stands.
public enum MeasureStatus: String, Codable, Sendable, CaseIterable {
    case planned = "geplant"
    case inProgress = "in_arbeit"
    case done = "erledigt"
    case dropped = "verworfen"

    public var german: String {
        switch self {
        case .planned: "geplant"
        case .inProgress: "in Arbeit"
        case .done: "erledigt"
        case .dropped: "verworfen"
        }
    }

    public var english: String {
        switch self {
        case .planned: "planned"
        case .inProgress: "in progress"
        case .done: "done"
        case .dropped: "dropped"
        }
    }

    /// Still someone's task (reminders, funding drafts).
    public var isOpen: Bool { self == .planned || self == .inProgress }
}

/// When a measure's owner is reminded: 14 and 3 days before the due date and once when overdue.
/// Each stage is sent once per measure and due date (a new due date starts over).
public enum MeasureReminder: String, Sendable, Equatable {
    case twoWeeks = "14"
    case threeDays = "3"
    case overdue = "ueberfaellig"

    public static func due(daysUntil d: Int) -> MeasureReminder? {
        if d < 0 { return .overdue }
        if d <= 3 { return .threeDays }
        if d <= 14 { return .twoWeeks }
        return nil
    }
}

/// Kinds of security incidents, for the report form and the Land's anonymised counts.
public enum IncidentCategory: String, Codable, Sendable, CaseIterable {
    case malware = "schadsoftware"
    case phishing = "phishing"
    case unauthorisedAccess = "unbefugter_zugriff"
    case dataLoss = "datenverlust"
    case deviceLoss = "geraeteverlust"
    case outage = "ausfall"
    case other = "sonstiges"

    public var german: String {
        switch self {
        case .malware: "Schadsoftware (z. B. Verschlüsselungstrojaner)"
        case .phishing: "Phishing oder Betrugsversuch"
        case .unauthorisedAccess: "Unbefugter Zugriff"
        case .dataLoss: "Datenverlust oder Datenabfluss"
        case .deviceLoss: "Verlust oder Diebstahl eines Geräts"
        case .outage: "Ausfall eines Systems"
        case .other: "Sonstiges"
        }
    }

    public var english: String {
        switch self {
        case .malware: "Malware (e.g. ransomware)"
        case .phishing: "Phishing or fraud attempt"
        case .unauthorisedAccess: "Unauthorised access"
        case .dataLoss: "Data loss or data leak"
        case .deviceLoss: "Lost or stolen device"
        case .outage: "System outage"
        case .other: "Other"
        }
    }
}

/// The reporter's first assessment of an incident.
public enum IncidentAssessment: String, Codable, Sendable, CaseIterable {
    case low = "niedrig"
    case medium = "mittel"
    case high = "hoch"
    case critical = "kritisch"

    public var german: String { rawValue }
    public var english: String {
        switch self {
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        case .critical: "critical"
        }
    }
}

/// The 72-hour deadline of Art. 33 GDPR: a personal-data breach is notified to the supervisory
/// authority without undue delay and where feasible within 72 hours after becoming aware of it.
public struct BreachDeadline: Sendable, Equatable {
    public static let hours = 72
    public var due: Date
    public var notified: Bool

    public init(detectedAt: Date, notifiedAt: Date?) {
        due = detectedAt.addingTimeInterval(TimeInterval(Self.hours * 3600))
        notified = notifiedAt != nil
    }

    /// Whole hours left (negative once passed), rounded down.
    public func hoursLeft(at now: Date) -> Int {
        Int((due.timeIntervalSince(now) / 3600).rounded(.down))
    }

    /// A reminder is due when the authority has not been told and 24 hours or fewer remain (or the deadline passed).
    public func remind(at now: Date) -> Bool { !notified && hoursLeft(at: now) < 24 }
}

/// Checks of an incident report: times in order and not in the future, texts bounded.
public enum IncidentCheck {
    public static func times(occurred: Date, detected: Date, now: Date) -> ISMSRefusal? {
        if occurred > now.addingTimeInterval(300) {
            return ISMSRefusal(field: "eingetreten", german: "Der Zeitpunkt des Vorfalls liegt in der Zukunft. Bitte prüfen Sie Datum und Uhrzeit.",
                               english: "The time of the incident is in the future. Please check date and time.")
        }
        if detected > now.addingTimeInterval(300) {
            return ISMSRefusal(field: "bemerkt", german: "Der Zeitpunkt, zu dem der Vorfall bemerkt wurde, liegt in der Zukunft.",
                               english: "The time the incident was noticed is in the future.")
        }
        if detected < occurred {
            return ISMSRefusal(field: "bemerkt", german: "Ein Vorfall kann nicht bemerkt worden sein, bevor er eingetreten ist.",
                               english: "An incident cannot have been noticed before it happened.")
        }
        return nil
    }
}
