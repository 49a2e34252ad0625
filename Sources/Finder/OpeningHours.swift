import Foundation

public struct HoursError: Error, Equatable, Sendable {
    public let line: Int
    public let message: String
}

/// Opening hours as structured weekly rules plus dated exceptions (holidays, closures, special
/// hours), so a client can ask "open now?" and "when next?". Times are local (Europe/Berlin).
public struct OpeningHours: Codable, Sendable, Equatable {
    /// Minutes since midnight, `from` inclusive, `to` exclusive.
    public struct Interval: Codable, Sendable, Equatable {
        public var from: Int
        public var to: Int
        public init(from: Int, to: Int) { self.from = from; self.to = to }
        public init(_ from: String, _ to: String) {
            self.from = Interval.minutes(from) ?? 0
            self.to = Interval.minutes(to) ?? 0
        }
        /// `08:30` → 510.
        public static func minutes(_ hhmm: String) -> Int? {
            let p = hhmm.split(separator: ":")
            guard p.count == 2, let h = Int(p[0]), let m = Int(p[1]), (0...24).contains(h), (0..<60).contains(m), h * 60 + m <= 1440 else { return nil }
            return h * 60 + m
        }
        public var text: String { String(format: "%02d:%02d–%02d:%02d", from / 60, from % 60, to / 60, to % 60) }
    }

    public struct Exception: Codable, Sendable, Equatable {
        /// `YYYY-MM-DD`.
        public var date: String
        /// Empty = closed all day.
        public var intervals: [Interval]
        public var note: String
        public init(date: String, intervals: [Interval] = [], note: String = "") {
            self.date = date; self.intervals = intervals; self.note = note
        }
    }

    /// ISO weekday 1 (Monday) … 7 (Sunday) → intervals.
    public var weekly: [Int: [Interval]]
    public var exceptions: [Exception]

    public init(weekly: [Int: [Interval]] = [:], exceptions: [Exception] = []) {
        self.weekly = weekly; self.exceptions = exceptions
    }

    /// Checks the rules a clerk entered: intervals inside the day, from before to, no overlaps.
    public func validate() -> String? {
        for (day, list) in weekly {
            guard (1...7).contains(day) else { return "Wochentag \(day) gibt es nicht (1 = Montag … 7 = Sonntag)." }
            if let msg = Self.check(list) { return msg }
        }
        for e in exceptions {
            if let msg = Self.check(e.intervals) { return "\(e.date): \(msg)" }
        }
        return nil
    }

    static func check(_ list: [Interval]) -> String? {
        let sorted = list.sorted { $0.from < $1.from }
        for (i, iv) in sorted.enumerated() {
            guard iv.from >= 0, iv.to <= 1440, iv.from < iv.to else { return "Öffnungszeit \(iv.text) ist ungültig." }
            if i > 0, sorted[i - 1].to > iv.from { return "Öffnungszeiten \(sorted[i - 1].text) und \(iv.text) überschneiden sich." }
        }
        return nil
    }

    static let berlin: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "Europe/Berlin") ?? TimeZone(secondsFromGMT: 3600)!
        return c
    }()

    static func local(_ date: Date) -> (day: String, weekday: Int, minute: Int) {
        let c = berlin.dateComponents([.year, .month, .day, .weekday, .hour, .minute], from: date)
        let iso = ((c.weekday ?? 1) + 5) % 7 + 1   // Calendar: 1 = Sunday
        let day = String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
        return (day, iso, (c.hour ?? 0) * 60 + (c.minute ?? 0))
    }

    public func intervals(onDay day: String, weekday: Int) -> [Interval] {
        if let e = exceptions.first(where: { $0.date == day }) { return e.intervals }
        return (weekly[weekday] ?? []).sorted { $0.from < $1.from }
    }

    public func isOpen(at date: Date) -> Bool {
        let l = Self.local(date)
        return intervals(onDay: l.day, weekday: l.weekday).contains { $0.from <= l.minute && l.minute < $0.to }
    }

    /// The next moment the office opens (or `date` itself when open), looking up to 60 days ahead.
    public func nextOpening(after date: Date) -> Date? {
        if isOpen(at: date) { return date }
        for offset in 0..<60 {
            guard let d = Self.berlin.date(byAdding: .day, value: offset, to: date) else { return nil }
            let l = Self.local(d)
            for iv in intervals(onDay: l.day, weekday: l.weekday) where offset > 0 || iv.from > l.minute {
                let start = Self.berlin.startOfDay(for: d)
                return Self.berlin.date(byAdding: .minute, value: iv.from, to: start)
            }
        }
        return nil
    }

    static let dayNames = ["mo": 1, "di": 2, "mi": 3, "do": 4, "fr": 5, "sa": 6, "so": 7]

    /// Reads the plain form clerks type, one day per line:
    /// `Mo 08:00-12:00, 13:00-15:30` … and exceptions `2026-12-24 geschlossen` or `2026-12-31 09:00-12:00`.
    public static func parse(_ text: String) -> Result<OpeningHours, HoursError> {
        var h = OpeningHours()
        for (n, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            let head = parts[0].lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ":."))
            let rest = parts.count > 1 ? parts[1] : ""
            var intervals: [Interval] = []
            // "geschlossen" (or "closed" as the English form says) means no opening time that day
            if !rest.lowercased().contains("geschlossen") && !rest.lowercased().contains("closed") {
                for piece in rest.split(separator: ",") {
                    let t = piece.split(whereSeparator: { $0 == "-" || $0 == "–" }).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard t.count == 2, let f = Interval.minutes(t[0]), let to = Interval.minutes(t[1]) else {
                        return .failure(HoursError(line: n + 1, message: "Zeile \(n + 1): Zeiten bitte als 08:00-12:00 angeben."))
                    }
                    intervals.append(Interval(from: f, to: to))
                }
            }
            if let d = dayNames[String(head.prefix(2))], head.count <= 10, !head.first!.isNumber {
                h.weekly[d, default: []] += intervals
            } else if head.count == 10, head.split(separator: "-").count == 3 {
                h.exceptions.append(Exception(date: head, intervals: intervals, note: ""))
            } else {
                return .failure(HoursError(line: n + 1, message: "Zeile \(n + 1): beginnt nicht mit einem Wochentag (Mo … So) oder Datum (JJJJ-MM-TT)."))
            }
        }
        if let msg = h.validate() { return .failure(HoursError(line: 0, message: msg)) }
        return .success(h)
    }

    /// The plain form, as `parse` reads it.
    public var text: String {
        let names = ["", "Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"]
        var lines = weekly.keys.sorted().map { d in names[d] + " " + (weekly[d] ?? []).sorted { $0.from < $1.from }.map { $0.text.replacingOccurrences(of: "–", with: "-") }.joined(separator: ", ") }
        lines += exceptions.map { $0.date + " " + ($0.intervals.isEmpty ? "geschlossen" : $0.intervals.map { $0.text.replacingOccurrences(of: "–", with: "-") }.joined(separator: ", ")) }
        return lines.joined(separator: "\n")
    }

    /// Typical hours of a German Bürgeramt, used for the demo offices.
    public static let typicalCitizenOffice = OpeningHours(weekly: [
        1: [Interval("08:00", "12:00"), Interval("13:00", "15:30")],
        2: [Interval("08:00", "12:00"), Interval("13:00", "18:00")],
        3: [Interval("08:00", "12:00")],
        4: [Interval("08:00", "12:00"), Interval("13:00", "18:00")],
        5: [Interval("08:00", "12:00")],
    ])
}
