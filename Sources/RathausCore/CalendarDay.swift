import Foundation

/// A calendar day as people write it and as the database stores it. Every date field of the
/// platform accepts `TT.MM.JJJJ` (also `T.M.JJJJ`) and ISO `JJJJ-MM-TT`; it is stored as ISO (no
/// time zone can shift a day between engines) and shown as `TT.MM.JJJJ` (English: `DD/MM/YYYY`).
public enum CalendarDay {
    /// "TT.MM.JJJJ", "T.M.JJJJ" or "JJJJ-MM-TT" → "JJJJ-MM-TT" when it is a real calendar day.
    public static func iso(_ raw: String) -> String? {
        let s = raw.trimmingCharacters(in: .whitespaces)
        var y = 0, m = 0, d = 0
        let dot = s.split(separator: ".", omittingEmptySubsequences: false)
        let dash = s.split(separator: "-", omittingEmptySubsequences: false)
        if dot.count == 3, dot[2].count == 4, (1...2).contains(dot[0].count), (1...2).contains(dot[1].count),
           dot.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }), let dd = Int(dot[0]), let mm = Int(dot[1]), let yy = Int(dot[2]) {
            (y, m, d) = (yy, mm, dd)
        } else if dash.count == 3, dash[0].count == 4, dash[1].count == 2, dash[2].count == 2,
                  dash.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }), let yy = Int(dash[0]), let mm = Int(dash[1]), let dd = Int(dash[2]) {
            (y, m, d) = (yy, mm, dd)
        } else { return nil }
        guard y >= 1850, y <= 2200, (1...12).contains(m), (1...daysIn(month: m, year: y)).contains(d) else { return nil }
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// "2026-03-15" → "15.03.2026" (German) or "15/03/2026" (English); anything else unchanged.
    public static func display(_ iso: String, english: Bool = false) -> String {
        let p = iso.prefix(10).split(separator: "-")
        guard p.count == 3, p[0].count == 4 else { return iso }
        return english ? "\(p[2])/\(p[1])/\(p[0])" : "\(p[2]).\(p[1]).\(p[0])"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
