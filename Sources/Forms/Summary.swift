import Foundation
import RathausCore

/// One line of the summary page before sending (and of the clerk's view).
public struct SummaryLine: Sendable, Equatable, Encodable {
    public var step: String
    public var stepID: String
    public var label: String
    public var value: String
    /// Nesting: 0 = field, 1 = field of a group item; heading lines name the item.
    public var level: Int
    public var isHeading: Bool
}

extension FormEngine {
    /// The visible answers in form order, as a person reads them.
    public func summary(_ answers: Answers, lang: String = "de") -> [SummaryLine] {
        var out: [SummaryLine] = []
        for s in form.steps {
            lines(s.fields, answers, item: nil, step: s, lang: lang, level: 0, into: &out)
        }
        return out
    }

    private func lines(_ fields: [FieldDefinition], _ answers: [String: AnswerValue], item: [String: AnswerValue]?, step: StepDefinition,
                       lang: String, level: Int, into out: inout [SummaryLine]) {
        let root = item == nil ? answers : answers
        for f in fields where isVisible(f, item: item, root: item == nil ? answers : root) {
            guard let v = answers[f.id], !v.isEmpty else { continue }
            let label = f.label.text(lang)
            func add(_ value: String, heading: Bool = false) {
                out.append(SummaryLine(step: step.title.text(lang), stepID: step.id, label: label, value: value, level: level, isHeading: heading))
            }
            switch f.type {
            case .group:
                for (i, it) in v.items.enumerated() {
                    out.append(SummaryLine(step: step.title.text(lang), stepID: step.id, label: "\((f.itemLabel ?? f.label).text(lang)) \(i + 1)",
                                           value: "", level: level, isHeading: true))
                    lines(f.fields ?? [], it, item: it, step: step, lang: lang, level: level + 1, into: &out)
                }
            case .address:
                let r = v.record
                add("\(r["strasse"] ?? "") \(r["hausnummer"] ?? ""), \(r["plz"] ?? "") \(r["ort"] ?? "")")
            case .file:
                let r = v.record
                add("\(r["name"] ?? "") (\(FileKind(rawValue: r["kind"] ?? "")?.label ?? ""), \(FormEngine.megabytesExact(Int(r["size"] ?? "") ?? 0)))")
            case .checkbox, .select, .radio, .yesno:
                let opts = form.options(of: f)
                add(v.list.map { val in opts.first { $0.value == val }?.label.text(lang) ?? val }.joined(separator: ", "))
            case .date:
                add(FormEngine.germanDate(v.text ?? ""))
            case .iban:
                add(IBAN.formatted(v.text ?? ""))
            case .decimal:
                add((v.text ?? "").replacingOccurrences(of: ".", with: ","))
            default:
                add(v.text ?? "")
            }
        }
    }

    static func megabytesExact(_ bytes: Int) -> String {
        if bytes >= 1_048_576 { return String(format: "%.1f MB", Double(bytes) / 1_048_576).replacingOccurrences(of: ".", with: ",") }
        return "\(max((bytes + 1023) / 1024, 1)) KB"
    }
}
