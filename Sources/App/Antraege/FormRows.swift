import Forms
import Foundation

/// A step of a form flattened into rows for one Leaf loop (Leaf has no recursive partials):
/// fields, and the opening and closing of repeating groups and their items.
struct FormRow: Encodable {
    var kind: String           // field | group_open | item_open | item_close | group_close
    var name: String = ""      // flat form name, also the HTML id
    var label: String = ""
    var hint: String = ""
    var error: String = ""
    var value: String = ""
    var required = false
    var control = ""           // text | textarea | select | radio | checkbox | file | address | email | tel | number
    var inputmode = ""
    var autocomplete = ""
    var options: [Choice] = []
    var parts: [Part] = []
    var fileName = ""
    var groupName = ""
    var itemLabel = ""
    var itemIndex = 0
    var count = 0
    var canAdd = false
    var canRemove = false
    var maxLength = 200

    struct Choice: Encodable { var value: String; var label: String; var selected: Bool; var id: String }
    struct Part: Encodable { var name: String; var label: String; var value: String; var error: String; var autocomplete: String; var short: Bool }
}

enum FormRows {
    static func build(step: StepDefinition, form: FormDefinition, engine: FormEngine, answers: Answers, errors: [String: String], lang: String,
                      prefix: String = "") -> [FormRow] {
        var rows: [FormRow] = []
        add(step.fields, form: form, engine: engine, values: answers, item: nil, root: answers, prefix: prefix, errors: errors, lang: lang, into: &rows)
        return rows
    }

    private static func add(_ fields: [FieldDefinition], form: FormDefinition, engine: FormEngine, values: [String: AnswerValue], item: [String: AnswerValue]?,
                            root: Answers, prefix: String, errors: [String: String], lang: String, into rows: inout [FormRow]) {
        for f in fields {
            // Conditional fields are shown when their condition holds on the saved answers; after
            // saving, the page is shown again so a newly relevant field appears (no script needed).
            guard engine.isVisible(f, item: item, root: root) else { continue }
            let name = prefix + f.id
            let v = values[f.id]
            var r = FormRow(kind: "field", name: name, label: f.label.text(lang), hint: f.hint?.text(lang) ?? "", error: errors[name] ?? "",
                            required: engine.isRequired(f, item: item, root: root))
            r.maxLength = f.maxLength ?? (f.type == .multiline ? 4000 : 200)
            switch f.type {
            case .group:
                let items = v?.items ?? []
                let shown = items.isEmpty && (f.required == true || (f.minItems ?? 0) > 0) ? [[:]] : items
                rows.append(FormRow(kind: "group_open", name: name, label: f.label.text(lang), hint: f.hint?.text(lang) ?? "", error: errors[name] ?? "",
                                    groupName: name, itemLabel: (f.itemLabel ?? f.label).text(lang), count: shown.count,
                                    canAdd: shown.count < (f.maxItems ?? 50)))
                for (i, it) in shown.enumerated() {
                    rows.append(FormRow(kind: "item_open", name: "\(name).\(i)", groupName: name, itemLabel: "\((f.itemLabel ?? f.label).text(lang)) \(i + 1)",
                                        itemIndex: i, canRemove: shown.count > max(f.minItems ?? 0, 1)))
                    add(f.fields ?? [], form: form, engine: engine, values: it, item: it, root: root, prefix: "\(name).\(i).", errors: errors, lang: lang, into: &rows)
                    rows.append(FormRow(kind: "item_close", name: "\(name).\(i)", groupName: name, itemIndex: i))
                }
                rows.append(FormRow(kind: "group_close", name: name, groupName: name, itemLabel: (f.itemLabel ?? f.label).text(lang), count: shown.count,
                                    canAdd: shown.count < (f.maxItems ?? 50)))
                continue
            case .address:
                r.control = "address"
                let rec = v?.record ?? [:]
                let de = lang != "en"
                r.parts = [
                    .init(name: "\(name).strasse", label: de ? "Straße" : "Street", value: rec["strasse"] ?? "", error: errors["\(name).strasse"] ?? "", autocomplete: "address-line1", short: false),
                    .init(name: "\(name).hausnummer", label: de ? "Hausnummer" : "No.", value: rec["hausnummer"] ?? "", error: errors["\(name).hausnummer"] ?? "", autocomplete: "off", short: true),
                    .init(name: "\(name).plz", label: de ? "Postleitzahl" : "Postcode", value: rec["plz"] ?? "", error: errors["\(name).plz"] ?? "", autocomplete: "postal-code", short: true),
                    .init(name: "\(name).ort", label: de ? "Ort" : "Town", value: rec["ort"] ?? "", error: errors["\(name).ort"] ?? "", autocomplete: "address-level2", short: false),
                ]
                if r.error.isEmpty { r.error = r.parts.first { !$0.error.isEmpty }?.error ?? "" }
            case .select, .radio, .yesno, .checkbox:
                r.control = f.type == .select ? "select" : f.type == .checkbox ? "checkbox" : "radio"
                let chosen = v?.list ?? []
                r.options = form.options(of: f).enumerated().map { i, o in
                    .init(value: o.value, label: o.label.text(lang), selected: chosen.contains(o.value), id: "\(name)-\(i)")
                }
            case .file:
                r.control = "file"
                r.fileName = v?.record["name"] ?? ""
                let kinds = (f.accept ?? []).compactMap { FileKind(rawValue: $0)?.mediaType }
                r.value = kinds.joined(separator: ",")
            case .multiline:
                r.control = "textarea"
                r.value = v?.text ?? ""
            case .date:
                r.control = "text"
                r.value = (v?.text).map { FormEngine.isoDate($0) == $0 ? FormEngine.germanDate($0) : $0 } ?? ""
                r.inputmode = "numeric"
            case .email:
                r.control = "email"; r.value = v?.text ?? ""; r.autocomplete = "email"
            case .phone:
                r.control = "tel"; r.value = v?.text ?? ""; r.autocomplete = "tel"
            case .number:
                r.control = "text"; r.value = v?.text ?? ""; r.inputmode = "numeric"
            case .decimal:
                r.control = "text"; r.value = (v?.text ?? "").replacingOccurrences(of: ".", with: ","); r.inputmode = "decimal"
            case .iban:
                r.control = "text"; r.value = v?.text ?? ""; r.autocomplete = "off"
            case .label:
                rows.append(FormRow(kind: "note", name: name, label: f.label.text(lang), hint: f.hint?.text(lang) ?? ""))
                continue
            case .text:
                r.control = "text"; r.value = v?.text ?? ""
                if let p = f.prefill { r.autocomplete = ["vorname": "given-name", "nachname": "family-name"][p] ?? "" }
            }
            rows.append(r)
        }
    }
}
