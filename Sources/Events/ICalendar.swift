import Foundation

/// iCalendar (RFC 5545) for event pages, feeds per topic and mail attachments: local times in
/// Europe/Berlin with its VTIMEZONE, text escaped, lines folded at 75 octets without splitting a
/// UTF-8 character, CRLF line ends.
public enum ICalendar {
    public struct Entry: Sendable {
        /// Stable across downloads, so a calendar updates the entry instead of adding a second one.
        public var uid: String
        public var summary: String
        public var description: String
        public var location: String
        public var url: String
        public var session: EventSession
        /// A cancelled event is sent with STATUS:CANCELLED so calendars remove it.
        public var cancelled: Bool
        public init(uid: String, summary: String, description: String = "", location: String = "", url: String = "", session: EventSession, cancelled: Bool = false) {
            self.uid = uid; self.summary = summary; self.description = description; self.location = location; self.url = url
            self.session = session; self.cancelled = cancelled
        }
    }

    // tzdata is part of every supported system; the fallbacks only keep the code free of traps
    static let berlin = TimeZone(identifier: "Europe/Berlin") ?? TimeZone(secondsFromGMT: 3600) ?? .current
    static let utcZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? .current

    public static func document(_ entries: [Entry], name: String, stamp: Date = Date()) -> String {
        var lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Rathaus//Kompetenzzentrum//DE", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
                     "X-WR-CALNAME:" + escape(name), "X-WR-TIMEZONE:Europe/Berlin"]
        lines += [
            "BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
            "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
            "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
            "END:VTIMEZONE",
        ]
        for e in entries {
            lines += ["BEGIN:VEVENT", "UID:" + escape(e.uid), "DTSTAMP:" + utc(stamp),
                      "DTSTART;TZID=Europe/Berlin:" + local(e.session.start), "DTEND;TZID=Europe/Berlin:" + local(e.session.end),
                      "SUMMARY:" + escape(e.summary)]
            if !e.description.isEmpty { lines.append("DESCRIPTION:" + escape(e.description)) }
            if !e.location.isEmpty { lines.append("LOCATION:" + escape(e.location)) }
            if !e.url.isEmpty { lines.append("URL:" + e.url) }
            lines.append("STATUS:" + (e.cancelled ? "CANCELLED" : "CONFIRMED"))
            lines.append("END:VEVENT")
        }
        lines.append("END:VCALENDAR")
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }

    /// TEXT values: backslash, semicolon, comma and line breaks escaped (RFC 5545, 3.3.11).
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n", "\r\n": out += "\\n"
            case "\r": continue
            default: out.append(ch)
            }
        }
        return out
    }

    /// Lines longer than 75 octets continue on the next line after a space (3.1).
    static func fold(_ line: String) -> String {
        var out = "", count = 0
        for ch in line {
            let n = String(ch).utf8.count
            if count + n > 75 { out += "\r\n "; count = 1 }
            out.append(ch); count += n
        }
        return out
    }

    static func utc(_ d: Date) -> String { format(d, utcZone) + "Z" }
    static func local(_ d: Date) -> String { format(d, berlin) }

    static func format(_ d: Date, _ tz: TimeZone) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = tz
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: d)
        return String(format: "%04d%02d%02dT%02d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }
}
