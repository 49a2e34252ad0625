import Fluent
import Vapor
import RathausCore

/// Business dates are stored as ISO `YYYY-MM-DD` strings (no time zone can shift them between
/// engines); people may type them as TT.MM.JJJJ or ISO (`CalendarDay`).
enum BusinessDate {
    static func parse(_ raw: String?, field: String, label: String, required: Bool = true) throws -> String? {
        let s = (raw ?? "").trimmingCharacters(in: .whitespaces)
        if s.isEmpty {
            if required {
                throw AppError.invalid(field, de: "Bitte geben Sie \(label) an.", en: "Please enter \(field).")
            }
            return nil
        }
        guard let iso = CalendarDay.iso(s) else {
            throw AppError.invalid(field, de: "\(label.prefix(1).uppercased() + label.dropFirst()) ist kein gültiges Datum (Format TT.MM.JJJJ, z. B. 31.03.2026).",
                                   en: "\(field) is not a valid date (format DD.MM.YYYY, e.g. 31.03.2026).")
        }
        return iso
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func today(_ now: Date = Date()) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "Europe/Berlin") ?? .current
        let c = cal.dateComponents([.year, .month, .day], from: now)
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }
}

/// Text input rules shared by forms and API.
enum TextInput {
    static func required(_ raw: String?, field: String, label: String, max: Int) throws -> String {
        let s = (raw ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !s.isEmpty else {
            throw AppError.invalid(field, de: "Bitte geben Sie \(label) an.", en: "Please enter \(field).")
        }
        return try optional(s, field: field, label: label, max: max) ?? s
    }

    static func optional(_ raw: String?, field: String, label: String, max: Int) throws -> String? {
        let s = (raw ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if s.isEmpty { return nil }
        guard s.count <= max else {
            throw AppError.invalid(field, de: "\(label.prefix(1).uppercased() + label.dropFirst()) darf höchstens \(max) Zeichen lang sein.",
                                   en: "\(field) may be at most \(max) characters long.")
        }
        guard !s.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\r" && $0 != "\t" }) else {
            throw AppError.invalid(field, de: "\(label.prefix(1).uppercased() + label.dropFirst()) enthält unzulässige Steuerzeichen.",
                                   en: "\(field) contains control characters.")
        }
        return s
    }

    static func email(_ raw: String?, field: String, required: Bool = true) throws -> String? {
        let s = (raw ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        if s.isEmpty {
            if required { throw AppError.invalid(field, de: "Bitte geben Sie eine E-Mail-Adresse an.", en: "Please enter an e-mail address.") }
            return nil
        }
        let parts = s.split(separator: "@")
        guard s.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !s.contains(" "), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else {
            throw AppError.invalid(field, de: "Die E-Mail-Adresse ist ungültig (Beispiel: name@gemeinde.de).",
                                   en: "The e-mail address is invalid (example: name@example.org).")
        }
        return s
    }
}

/// Looks up tenants and units by key, with the platform's messages for bad keys.
enum Tenants {
    /// 400 for a malformed key, 404 for an unknown one.
    static func gebiet(_ raw: String?, on db: any Database) async throws -> Gebiet {
        let ars: ARS
        do { ars = try ARS(raw ?? "") } catch {
            throw AppError(.badRequest, error, field: "ars")
        }
        guard let g = try await Gebiet.find(ars.value, on: db) else {
            throw AppError(.notFound, "ars.unknown", de: "Zum Regionalschlüssel \(ars.value) ist keine Gebietseinheit bekannt.",
                           en: "No territorial unit is known for regional key \(ars.value).")
        }
        return g
    }

    /// A unit that can be a tenant (Land, Kreis, Verwaltungsgemeinschaft, Gemeinde), not dissolved.
    static func tenant(_ raw: String?, on db: any Database) async throws -> Gebiet {
        let g = try await gebiet(raw, on: db)
        guard g.joinable else {
            throw AppError(.notFound, "tenant.unknown", de: "\(g.name) (\(g.ars)) ist kein Mandant der Plattform; Mandanten sind Land, Kreise, Verwaltungsgemeinschaften und Gemeinden.",
                           en: "\(g.ars) is not a tenant of the platform.")
        }
        return g
    }
}
