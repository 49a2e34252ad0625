import Foundation
import RathausCore

/// A problem with one answer. `path` is the flat field name (`hunde.1.chipnummer`), which is also
/// the HTML id of the input, so an error summary can link to it.
public struct FormIssue: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var code: String
    public var de: String
    public var en: String
    public var description: String { "\(path): \(de)" }
}

/// Validates and normalises answers against a form definition. Pure: the date of "today" is given.
public struct FormEngine: Sendable {
    public let form: FormDefinition
    /// Today as ISO date (yyyy-mm-dd), for relations like "not in the future".
    public let today: String

    public init(form: FormDefinition, today: String) {
        self.form = form
        self.today = today
    }

    // MARK: visibility

    private func lookup(_ field: String, item: [String: AnswerValue]?, root: Answers) -> AnswerValue? {
        if let item, let v = item[field] { return v }
        return root[field]
    }

    public func holds(_ c: Condition, item: [String: AnswerValue]? = nil, root: Answers) -> Bool {
        switch c {
        case .equals(let f, let v): return lookup(f, item: item, root: root)?.list.contains(v) ?? false
        case .notEquals(let f, let v): return !(lookup(f, item: item, root: root)?.list.contains(v) ?? false)
        case .oneOf(let f, let vs): return (lookup(f, item: item, root: root)?.list ?? []).contains { vs.contains($0) }
        case .filled(let f): return !(lookup(f, item: item, root: root)?.isEmpty ?? true)
        case .all(let l): return l.allSatisfy { holds($0, item: item, root: root) }
        case .any(let l): return l.contains { holds($0, item: item, root: root) }
        }
    }

    public func isVisible(_ f: FieldDefinition, item: [String: AnswerValue]? = nil, root: Answers) -> Bool {
        f.visibleIf.map { holds($0, item: item, root: root) } ?? true
    }

    public func isRequired(_ f: FieldDefinition, item: [String: AnswerValue]? = nil, root: Answers) -> Bool {
        if f.required == true { return true }
        return f.requiredIf.map { holds($0, item: item, root: root) } ?? false
    }

    // MARK: normalising

    /// Trims, writes dates as ISO, IBANs without spaces in capitals, decimals with a point, and
    /// drops answers of fields that are not visible (a hidden answer is never submitted).
    public func normalize(_ answers: Answers) -> Answers {
        normalize(form.steps.flatMap(\.fields), answers, item: nil, root: answers)
    }

    private func normalize(_ fields: [FieldDefinition], _ answers: [String: AnswerValue], item: [String: AnswerValue]?, root: Answers) -> [String: AnswerValue] {
        var out: [String: AnswerValue] = [:]
        for f in fields {
            guard let v = answers[f.id] else { continue }
            guard isVisible(f, item: item, root: root) else { continue }
            switch f.type {
            case .group:
                out[f.id] = .items(v.items.map { normalize(f.fields ?? [], $0, item: $0, root: root) })
            case .date:
                let s = v.text ?? ""
                out[f.id] = .text(Self.isoDate(s) ?? s.trimmingCharacters(in: .whitespaces))
            case .iban:
                out[f.id] = .text((v.text ?? "").filter { !$0.isWhitespace }.uppercased())
            case .decimal:
                let s = (v.text ?? "").trimmingCharacters(in: .whitespaces)
                out[f.id] = .text(Self.decimal(s).map { "\($0)" } ?? s)
            case .email:
                out[f.id] = .text((v.text ?? "").trimmingCharacters(in: .whitespaces).lowercased())
            case .text, .multiline, .number, .select, .radio, .yesno, .phone:
                out[f.id] = .text((v.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
            case .checkbox, .address, .file:
                out[f.id] = v
            case .label:
                continue   // shown, never answered
            }
        }
        return out
    }

    // MARK: validation

    /// Checks the answers of the given steps (all when nil). Answers must be normalised first.
    public func validate(_ answers: Answers, steps: [String]? = nil) -> [FormIssue] {
        var issues: [FormIssue] = []
        for s in form.steps where steps == nil || steps!.contains(s.id) {
            check(s.fields, answers, item: nil, root: answers, prefix: "", context: "", into: &issues)
        }
        return issues
    }

    private func check(_ fields: [FieldDefinition], _ answers: [String: AnswerValue], item: [String: AnswerValue]?, root: Answers,
                       prefix: String, context: String, into issues: inout [FormIssue]) {
        for f in fields where isVisible(f, item: item, root: root) && f.type != .label {
            let path = prefix + f.id
            let label = "„\(f.label.de)“\(context)"
            let labelEN = "\"\(f.label.en ?? f.label.de)\"\(context)"
            func fail(_ code: String, _ de: String, _ en: String) { issues.append(FormIssue(path: path, code: code, de: de, en: en)) }
            let value = answers[f.id]
            let empty = value?.isEmpty ?? true
            if empty {
                if isRequired(f, item: item, root: root) {
                    switch f.type {
                    case .file: fail("required", "Bitte laden Sie \(label) hoch.", "Please upload \(labelEN).")
                    case .group:
                        let min = max(f.minItems ?? 1, 1)
                        fail("required", "Bitte geben Sie mindestens \(min) Eintrag/Einträge bei \(label) an.", "Please add at least \(min) item(s) to \(labelEN).")
                    case .select, .radio, .yesno, .checkbox: fail("required", "Bitte wählen Sie bei \(label) eine Antwort aus.", "Please choose an answer for \(labelEN).")
                    default: fail("required", "Bitte geben Sie \(label) an.", "Please enter \(labelEN).")
                    }
                }
                continue
            }
            guard let value else { continue }
            switch f.type {
            case .group:
                let items = value.items
                if let min = f.minItems, items.count < min {
                    fail("min_items", "Bitte geben Sie mindestens \(min) Einträge bei \(label) an.", "Please add at least \(min) items to \(labelEN).")
                }
                if let max = f.maxItems, items.count > max {
                    fail("max_items", "Höchstens \(max) Einträge sind bei \(label) möglich.", "At most \(max) items are allowed for \(labelEN).")
                }
                let name = f.itemLabel?.de ?? f.label.de
                for (i, it) in items.enumerated() {
                    check(f.fields ?? [], it, item: it, root: root, prefix: "\(path).\(i).", context: " (\(name) \(i + 1))", into: &issues)
                }
            case .address:
                let r = value.record
                let parts: [(AddressPart, String, String)] = [(.strasse, "die Straße", "the street"), (.hausnummer, "die Hausnummer", "the house number"),
                                                              (.plz, "die Postleitzahl", "the postcode"), (.ort, "den Ort", "the town")]
                for (p, de, en) in parts where (r[p.rawValue] ?? "").isEmpty {
                    issues.append(FormIssue(path: "\(path).\(p.rawValue)", code: "required", de: "Bitte geben Sie bei \(label) \(de) an.", en: "Please enter \(en) for \(labelEN)."))
                }
                if let plz = r["plz"], !plz.isEmpty, !Self.plzOK(plz) {
                    issues.append(FormIssue(path: "\(path).plz", code: "plz", de: "Die Postleitzahl bei \(label) ist nicht gültig: deutsche Postleitzahlen haben fünf Ziffern, z. B. 99084.",
                                            en: "The postcode for \(labelEN) is not valid: German postcodes have five digits, e.g. 99084."))
                }
                if let n = r["hausnummer"], n.count > 12 {
                    issues.append(FormIssue(path: "\(path).hausnummer", code: "length", de: "Die Hausnummer bei \(label) ist zu lang.", en: "The house number is too long."))
                }
                for p in [AddressPart.strasse, .ort] where (r[p.rawValue] ?? "").count > 100 {
                    issues.append(FormIssue(path: "\(path).\(p.rawValue)", code: "length", de: "Die Angabe bei \(label) ist zu lang (höchstens 100 Zeichen).", en: "Too long (at most 100 characters)."))
                }
            case .checkbox:
                let allowed = Set(form.options(of: f).map(\.value))
                if value.list.contains(where: { !allowed.contains($0) }) {
                    fail("option", "Bitte wählen Sie bei \(label) nur Antworten aus der Liste.", "Please choose only listed answers for \(labelEN).")
                }
            case .file:
                let r = value.record
                if let accept = f.accept, let kind = r["kind"], !accept.contains(kind) {
                    fail("file_kind", "Die Datei bei \(label) hat ein nicht zugelassenes Format.", "The file for \(labelEN) has a format that is not accepted.")
                }
                if let max = f.maxBytes, let size = Int(r["size"] ?? ""), size > max {
                    fail("file_size", "Die Datei bei \(label) ist zu groß (höchstens \(Self.megabytes(max))).", "The file for \(labelEN) is too large (at most \(Self.megabytes(max))).")
                }
            default:
                let s = value.text ?? ""
                checkText(f, s, label: label, labelEN: labelEN, item: item, root: root, fail: fail)
            }
        }
    }

    private func checkText(_ f: FieldDefinition, _ s: String, label: String, labelEN: String, item: [String: AnswerValue]?, root: Answers,
                           fail: (String, String, String) -> Void) {
        if let min = f.minLength, s.count < min { fail("min_length", "\(label) muss mindestens \(min) Zeichen lang sein.", "\(labelEN) must have at least \(min) characters.") }
        let maxLen = f.maxLength ?? (f.type == .multiline ? 4000 : 200)
        if s.count > maxLen { fail("max_length", "\(label) darf höchstens \(maxLen) Zeichen lang sein.", "\(labelEN) may have at most \(maxLen) characters.") }
        if let p = f.pattern, let re = try? NSRegularExpression(pattern: "^(?:" + p + ")$") {
            let range = NSRange(s.startIndex..., in: s)
            if re.firstMatch(in: s, range: range) == nil {
                fail("pattern", f.patternMessage?.de ?? "\(label) hat nicht das erwartete Format.", f.patternMessage?.en ?? "\(labelEN) does not have the expected format.")
            }
        }
        switch f.type {
        case .number, .decimal:
            let d: Decimal?
            if f.type == .number {
                let digits = s.hasPrefix("-") ? String(s.dropFirst()) : s
                d = (!digits.isEmpty && digits.count <= 12 && digits.allSatisfy(\.isASCIIDigit)) ? Decimal(string: s) : nil
                if d == nil { fail("number", "\(label) muss eine ganze Zahl sein, z. B. 3.", "\(labelEN) must be a whole number, e.g. 3."); return }
            } else {
                d = Self.decimal(s)
                if d == nil { fail("decimal", "\(label) muss eine Zahl sein, z. B. 12,5.", "\(labelEN) must be a number, e.g. 12.5."); return }
            }
            if let d, let min = f.min.flatMap({ Decimal(string: $0) }), d < min {
                fail("min", "\(label) muss mindestens \(Self.german(min)) sein.", "\(labelEN) must be at least \(min).")
            }
            if let d, let max = f.max.flatMap({ Decimal(string: $0) }), d > max {
                fail("max", "\(label) darf höchstens \(Self.german(max)) sein.", "\(labelEN) may be at most \(max).")
            }
        case .date:
            guard Self.isoDate(s) == s else {
                fail("date", "\(label) ist kein gültiges Datum. Bitte im Format TT.MM.JJJJ eingeben, z. B. 01.03.2024.",
                     "\(labelEN) is not a valid date. Please use DD.MM.YYYY, e.g. 01.03.2024.")
                return
            }
            if let nb = f.notBefore, let (bound, what) = dateBound(nb, item: item, root: root), s < bound {
                fail("date_before", "\(label) darf nicht vor \(what) liegen.", "\(labelEN) must not be before \(what).")
            }
            if let na = f.notAfter, let (bound, what) = dateBound(na, item: item, root: root), s > bound {
                fail("date_after", "\(label) darf nicht nach \(what) liegen.", "\(labelEN) must not be after \(what).")
            }
        case .select, .radio, .yesno:
            if !form.options(of: f).contains(where: { $0.value == s }) {
                fail("option", "Bitte wählen Sie bei \(label) eine Antwort aus der Liste.", "Please choose a listed answer for \(labelEN).")
            }
        case .email:
            if !Self.emailOK(s) { fail("email", "\(label) ist keine gültige E-Mail-Adresse, z. B. name@beispiel.de.", "\(labelEN) is not a valid e-mail address.") }
        case .phone:
            let digits = s.filter(\.isASCIIDigit).count
            if digits < 6 || s.count > 30 || !s.allSatisfy({ $0.isASCIIDigit || " +-/()".contains($0) }) {
                fail("phone", "\(label) ist keine gültige Telefonnummer. Erlaubt sind Ziffern, Leerzeichen und + - / ( ), z. B. 0361 123456.",
                     "\(labelEN) is not a valid phone number.")
            }
        case .iban:
            if !IBAN.isValidAccount(s) {
                fail("iban", "Die IBAN bei \(label) ist nicht gültig. Bitte prüfen Sie Länge und Prüfziffer (eine deutsche IBAN hat 22 Zeichen, z. B. DE02 1203 0000 0000 2020 51).",
                     "The IBAN for \(labelEN) is not valid. Please check its length and check digits.")
            }
        default: break
        }
    }

    /// A date bound: "heute", "heute+N"/"heute-N" days, or another date field (sibling first).
    private func dateBound(_ spec: String, item: [String: AnswerValue]?, root: Answers) -> (String, String)? {
        if spec.hasPrefix("heute") {
            var rest = spec.dropFirst(5)
            let years = rest.hasSuffix("j")
            if years { rest = rest.dropLast() }
            let n = Int(rest.hasPrefix("+") ? String(rest.dropFirst()) : String(rest)) ?? 0
            guard let d = Self.addDays(today, n, years: years) else { return nil }
            return (d, n == 0 ? "heute" : "dem \(Self.germanDate(d))")
        }
        guard let other = lookup(spec, item: item, root: root)?.text, Self.isoDate(other) == other else { return nil }
        let label = form.allFields.lazy.compactMap { pair -> String? in
            if pair.field.id == spec { return pair.field.label.de }
            return pair.field.fields?.first { $0.id == spec }?.label.de
        }.first ?? spec
        return (other, "„\(label)“ (\(Self.germanDate(other)))")
    }

    // MARK: value helpers

    /// "TT.MM.JJJJ", "T.M.JJJJ" or "JJJJ-MM-TT" → "JJJJ-MM-TT" when it is a real calendar day.
    public static func isoDate(_ raw: String) -> String? { CalendarDay.iso(raw) }

    public static func germanDate(_ iso: String) -> String {
        let p = iso.split(separator: "-")
        guard p.count == 3 else { return iso }
        return "\(p[2]).\(p[1]).\(p[0])"
    }

    public static func addDays(_ iso: String, _ days: Int, years: Bool = false) -> String? {
        let p = iso.split(separator: "-").compactMap { Int($0) }
        guard p.count == 3 else { return nil }
        var c = DateComponents(); c.year = p[0]; c.month = p[1]; c.day = p[2]
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        guard let d = cal.date(from: c), let r = cal.date(byAdding: years ? .year : .day, value: days, to: d) else { return nil }
        let rc = cal.dateComponents([.year, .month, .day], from: r)
        return String(format: "%04d-%02d-%02d", rc.year ?? 0, rc.month ?? 0, rc.day ?? 0)
    }

    /// German ("1.234,5") or plain ("1234.5") decimal → Decimal.
    public static func decimal(_ raw: String) -> Decimal? {
        var s = raw.trimmingCharacters(in: .whitespaces)
        if s.contains(",") { s = s.replacingOccurrences(of: ".", with: "").replacingOccurrences(of: ",", with: ".") }
        let body = s.hasPrefix("-") ? s.dropFirst() : Substring(s)
        guard !body.isEmpty, body.count <= 20, body.allSatisfy({ $0.isASCIIDigit || $0 == "." }), body.filter({ $0 == "." }).count <= 1,
              body.first != ".", body.last != "." else { return nil }
        return Decimal(string: s, locale: Locale(identifier: "en_US_POSIX"))
    }

    static func german(_ d: Decimal) -> String { "\(d)".replacingOccurrences(of: ".", with: ",") }

    static func megabytes(_ bytes: Int) -> String {
        bytes >= 1_048_576 ? "\(bytes / 1_048_576) MB" : "\(max(bytes / 1024, 1)) KB"
    }

    /// German postcode: five digits in an assigned Leitregion (00, 05, 11, 43 and 62 are not assigned).
    public static func plzOK(_ s: String) -> Bool {
        guard s.count == 5, s.allSatisfy(\.isASCIIDigit) else { return false }
        return !["00", "05", "11", "43", "62"].contains(String(s.prefix(2)))
    }

    public static func emailOK(_ s: String) -> Bool {
        guard s.count <= 254, !s.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," || $0 == ";" }) else { return false }
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") } && (labels.last?.count ?? 0) >= 2
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
