/// Levels of local government that may apply (the guideline: Gemeinden and Gemeindeverbände,
/// which include Landkreise and Verwaltungsgemeinschaften).
public enum ApplicantLevel: String, Sendable, CaseIterable, Codable {
    case gemeinde
    case gemeindeverband
    case kreis

    public var german: String {
        switch self {
        case .gemeinde: "Gemeinden und Städte"
        case .gemeindeverband: "Verwaltungsgemeinschaften und erfüllende Gemeinden"
        case .kreis: "Landkreise und kreisfreie Städte"
        }
    }

    public var english: String {
        switch self {
        case .gemeinde: "municipalities and towns"
        case .gemeindeverband: "administrative communities"
        case .kreis: "districts and district-free cities"
        }
    }
}

public enum Eligibility {
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        case otherState, level(String), callNotOpen(opens: String, closes: String), callClosed(String)
        public var description: String {
            switch self {
            case .otherState: "Antragsberechtigt sind nur Kommunen dieses Landes."
            case .level(let name): "\(name) gehört nicht zu den Antragsberechtigten dieses Programms."
            case .callNotOpen(let o, _): "Der Förderaufruf ist noch nicht geöffnet; Anträge sind ab dem \(o) möglich."
            case .callClosed(let c): "Der Förderaufruf ist seit dem \(c) geschlossen."
            }
        }
        public var english: String {
            switch self {
            case .otherState: "Only municipalities of this state may apply."
            case .level(let name): "\(name) is not eligible in this programme."
            case .callNotOpen(let o, _): "The call is not open yet; applications from \(o)."
            case .callClosed(let c): "The call closed on \(c)."
            }
        }
    }

    /// `ars` of the applicant, `level` its level, `stateKey` the Land's two digits.
    public static func applicant(ars: String, level: ApplicantLevel?, name: String, stateKey: String, eligible: Set<ApplicantLevel>) throws(Refusal) {
        guard ars.hasPrefix(stateKey), ars.count > stateKey.count else { throw .otherState }
        guard let level, eligible.contains(level) else { throw .level(name) }
    }

    /// ISO days; `show` turns one into TT.MM.JJJJ for the message.
    public static func callOpen(today: String, opens: String, closes: String, show: (String) -> String) throws(Refusal) {
        if today < opens { throw .callNotOpen(opens: show(opens), closes: show(closes)) }
        if today > closes { throw .callClosed(show(closes)) }
    }
}

/// When a call has more demand than money, the Land ranks the pending applications by score
/// (then by submission) and approves down the list while the money lasts.
public enum Ranking {
    public struct Candidate: Sendable, Equatable {
        public var id: String
        public var score: Int?
        public var submittedAt: Double
        public var cents: Int64
        public init(id: String, score: Int?, submittedAt: Double, cents: Int64) {
            self.id = id; self.score = score; self.submittedAt = submittedAt; self.cents = cents
        }
    }

    public struct Place: Sendable, Equatable {
        public var id: String
        public var rank: Int
        public var cumulativeCents: Int64
        /// Fits into what is available when everything ranked above it is approved.
        public var fits: Bool
    }

    public static func rank(_ candidates: [Candidate], availableCents: Int64) -> [Place] {
        let sorted = candidates.sorted {
            let a = $0.score ?? Int.min, b = $1.score ?? Int.min
            return a != b ? a > b : ($0.submittedAt, $0.id) < ($1.submittedAt, $1.id)
        }
        var sum: Int64 = 0
        var used: Int64 = 0
        return sorted.enumerated().map { i, c in
            sum += c.cents
            let fits = used + c.cents <= availableCents
            if fits { used += c.cents }
            return Place(id: c.id, rank: i + 1, cumulativeCents: sum, fits: fits)
        }
    }
}

/// Reminders before a deadline: 30 and 7 days ahead and once it has passed.
public enum ReminderStage: String, Sendable, CaseIterable {
    case days30 = "30", days7 = "7", overdue = "ueberfaellig"

    /// The stage that is due on `today` (ISO days, counted by `daysUntil`), nil when none.
    public static func due(daysUntil: Int) -> ReminderStage? {
        if daysUntil < 0 { return .overdue }
        if daysUntil <= 7 { return .days7 }
        if daysUntil <= 30 { return .days30 }
        return nil
    }
}
