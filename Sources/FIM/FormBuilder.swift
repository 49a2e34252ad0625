import Forms
import Foundation

/// Turns an XDatenfelder schema into a draft online service of the form engine, and says for
/// every element what became of it. Nothing is silently dropped: hidden fields, rules and
/// unresolved code lists are findings the Land sees before it publishes.
public struct FIMFormBuilder {
    public var codeLists: [GenericodeList]
    public init(codeLists: [GenericodeList]) { self.codeLists = codeLists }

    public struct Result: Sendable {
        public var service: ServiceDefinition
        public var findings: [ImportFinding]
    }

    public func build(_ schema: XDFSchema, slug: String, leika: String, trustLevel: String = "basisregistrierung") -> Result {
        var b = Builder(codeLists: codeLists)
        var steps: [StepDefinition] = []
        var stepGroups: [String: String] = [:]
        var usedSteps = Set<String>()
        var loose: [FieldDefinition] = []
        var topIDs = Set<String>()
        func flushLoose() {
            guard !loose.isEmpty else { return }
            let id = Builder.unique("angaben", &usedSteps)
            steps.append(StepDefinition(id: id, title: LocalizedText(de: "Allgemeine Angaben", en: "General details"), fields: loose))
            stepGroups[id] = ""
            loose = []
        }
        for child in schema.children {
            switch child.element {
            case .field:
                if let f = b.map(child, siblings: &topIDs) { loose.append(f) }
            case .group(let g):
                flushLoose()
                let id = Builder.unique(g.id, &usedSteps)
                var step: StepDefinition
                if child.cardinality == Cardinality(min: 1, max: 1) {
                    // a group that occurs exactly once is a step of its own; its children are the step's fields
                    var fields: [FieldDefinition] = []
                    for c in g.children { if let f = b.map(c, siblings: &topIDs) { fields.append(f) } }
                    step = StepDefinition(id: id, title: LocalizedText(de: g.label), fields: fields)
                    b.findings.append(ImportFinding(.info, g.id, line: g.line, "Gruppe „\(g.label)“ (1:1) → Schritt „\(g.label)“ mit \(fields.count) Einträgen."))
                } else {
                    let f = b.map(child, siblings: &topIDs)
                    step = StepDefinition(id: id, title: LocalizedText(de: g.label), fields: f.map { [$0] } ?? [])
                }
                if !g.hint.isEmpty { step.intro = LocalizedText(de: g.hint) }
                if step.fields.isEmpty {
                    b.findings.append(ImportFinding(.warning, g.id, line: g.line, "Gruppe „\(g.label)“ enthält nichts Anzeigbares und wird kein Schritt."))
                    continue
                }
                steps.append(step)
                stepGroups[id] = g.id
            }
        }
        flushLoose()
        for r in schema.rules {
            let what = r.definition.isEmpty ? r.name : r.definition
            b.findings.append(ImportFinding(.warning, r.id, line: r.line,
                "Regel „\(r.name.isEmpty ? r.id : r.name)“ (zu \(r.owner)) wird nicht ausgeführt: \(what.prefix(300)) — bitte als Bedingung im Formular abbilden (Sichtbar-wenn / Pflicht-wenn)."))
        }
        for list in codeLists where !b.usedLists.contains(list.canonicalVersionURI) {
            b.findings.append(ImportFinding(.warning, list.canonicalVersionURI, line: 0, "Die hochgeladene Codeliste „\(list.shortName.isEmpty ? list.canonicalURI : list.shortName)“ wird von keinem Feld verwendet."))
        }
        var service = ServiceDefinition(slug: slug, leika: leika, version: 0, title: LocalizedText(de: schema.title),
                                        summary: LocalizedText(de: schema.name.isEmpty ? schema.title : schema.name), trustLevel: trustLevel,
                                        fee: .none, attachments: AttachmentLimits(maxFiles: 20, maxBytesPerFile: 10 * 1024 * 1024),
                                        form: FormDefinition(steps: steps))
        if !schema.legalBasis.isEmpty { service.legalBasis = LocalizedText(de: String(schema.legalBasis.prefix(500))) }
        service.fim = FIMOrigin(schemaID: schema.id, version: schema.version, xdfVersion: schema.xdfVersion.rawValue, name: schema.name, stepGroups: stepGroups)
        return Result(service: service, findings: b.findings)
    }

    struct Builder {
        let codeLists: [GenericodeList]
        var findings: [ImportFinding] = []
        var usedLists = Set<String>()

        static func unique(_ id: String, _ used: inout Set<String>) -> String {
            if used.insert(id).inserted { return id }
            var n = 2
            while !used.insert("\(id)__\(n)").inserted { n += 1 }
            return "\(id)__\(n)"
        }

        func list(for ref: CodeListReference) -> (GenericodeList, exact: Bool)? {
            if let l = codeLists.first(where: { !ref.canonicalVersionURI.isEmpty && $0.canonicalVersionURI == ref.canonicalVersionURI }) { return (l, true) }
            if let l = codeLists.first(where: { !ref.canonicalURI.isEmpty && $0.canonicalURI == ref.canonicalURI }) { return (l, false) }
            return nil
        }

        mutating func map(_ child: XDFChild, siblings: inout Set<String>) -> FieldDefinition? {
            let card = child.cardinality
            switch child.element {
            case .group(let g):
                var used = Set<String>()
                let fields = g.children.compactMap { map($0, siblings: &used) }
                guard !fields.isEmpty else {
                    findings.append(ImportFinding(.warning, g.id, line: g.line, "Gruppe „\(g.label)“ enthält nichts Anzeigbares und wird ausgelassen."))
                    return nil
                }
                var f = FieldDefinition(id: Builder.unique(g.id, &siblings), type: .group, label: LocalizedText(de: g.label))
                f.fields = fields
                f.minItems = card.min
                f.maxItems = card.max ?? 50
                f.required = card.min >= 1 ? true : nil
                f.itemLabel = LocalizedText(de: g.label)
                if !g.hint.isEmpty { f.hint = LocalizedText(de: g.hint) }
                findings.append(ImportFinding(.info, g.id, line: g.line, "Gruppe „\(g.label)“ (\(card.text)) → Gruppe mit \(card.min) bis \(card.max.map(String.init) ?? "50") Einträgen."))
                return f
            case .field(let x):
                guard var f = field(x, required: card.min >= 1) else { return nil }
                f.id = Builder.unique(x.id, &siblings)
                guard card.repeats, f.type != .label else { return f }
                // a field that repeats becomes a group of one field, so each value has its own input
                var inner = f
                inner.id = x.id
                inner.required = true
                var g = FieldDefinition(id: f.id, type: .group, label: f.label)
                g.fields = [inner]
                g.minItems = card.min
                g.maxItems = card.max ?? 50
                g.required = card.min >= 1 ? true : nil
                g.itemLabel = f.label
                findings.append(ImportFinding(.info, x.id, line: x.line, "Das Feld wiederholt sich (\(card.text)): als Liste mit \(card.min) bis \(card.max.map(String.init) ?? "50") Einträgen."))
                return g
            }
        }

        mutating func field(_ x: XDFField, required: Bool) -> FieldDefinition? {
            var f = FieldDefinition(id: x.id, type: .text, label: LocalizedText(de: x.label))
            if !x.hint.isEmpty { f.hint = LocalizedText(de: String(x.hint.prefix(1000))) }
            f.required = required ? true : nil
            var what: String
            switch (x.kind, x.dataType) {
            case ("hidden", _):
                findings.append(ImportFinding(.warning, x.id, line: x.line, "Feld „\(x.label)“ ist verborgen (feldart hidden) und wird nicht angezeigt\(x.content.isEmpty ? "" : "; Vorgabewert „\(x.content.prefix(60))“")."))
                return nil
            case ("label", _), (_, "obj"):
                f.type = .label
                f.required = nil
                if !x.content.isEmpty { f.hint = LocalizedText(de: String(x.content.prefix(2000))) }
                what = "Hinweistext"
            case ("locked", _):
                f.type = .label
                f.required = nil
                f.hint = LocalizedText(de: x.content.isEmpty ? "(fester Wert)" : x.content)
                findings.append(ImportFinding(.warning, x.id, line: x.line, "Feld „\(x.label)“ ist gesperrt (feldart locked): wird als fester Text angezeigt, nicht eingegeben."))
                what = "fester Text"
            case ("select", _):
                f.type = .select
                if let ref = x.codeList {
                    if let (l, exact) = list(for: ref) {
                        usedLists.insert(l.canonicalVersionURI)
                        f.options = l.rows.map { FieldOption(value: $0.code, label: LocalizedText(de: $0.name)) }
                        if !exact {
                            findings.append(ImportFinding(.warning, x.id, line: x.line, "Codeliste \(ref.canonicalVersionURI) nicht in dieser Version hochgeladen; verwendet wird \(l.canonicalVersionURI)."))
                        }
                        what = "Auswahlliste (\(l.rows.count) Werte aus \(l.canonicalVersionURI))"
                    } else {
                        findings.append(ImportFinding(.error, x.id, line: x.line,
                            "Die Codeliste \(ref.id.isEmpty ? "" : ref.id + " ")„\(ref.canonicalVersionURI.isEmpty ? ref.canonicalURI : ref.canonicalVersionURI)“ für das Feld „\(x.label)“ fehlt. Bitte laden Sie ihre genericode-Datei mit hoch; ohne sie kann der Dienst nicht veröffentlicht werden."))
                        f.options = []
                        what = "Auswahlliste ohne Werte"
                    }
                } else if x.dataType == "bool" {
                    f.type = .yesno; what = "Ja/Nein"
                } else {
                    findings.append(ImportFinding(.error, x.id, line: x.line, "Auswahlfeld „\(x.label)“ ohne Codeliste: bitte Werte im Designer ergänzen."))
                    f.options = []
                    what = "Auswahlliste ohne Werte"
                }
            default:
                switch x.dataType {
                case "date": f.type = .date; what = "Datum"
                case "time":
                    f.pattern = "([01][0-9]|2[0-3]):[0-5][0-9]"; f.patternMessage = LocalizedText(de: "Bitte geben Sie die Uhrzeit als SS:MM an, z. B. 14:30.", en: "Please enter the time as HH:MM.")
                    f.example = "14:30"; what = "Uhrzeit"
                case "datetime":
                    f.pattern = "[0-3][0-9]\\.[01][0-9]\\.[0-9]{4} ([01][0-9]|2[0-3]):[0-5][0-9]"
                    f.patternMessage = LocalizedText(de: "Bitte geben Sie Datum und Uhrzeit als TT.MM.JJJJ SS:MM an, z. B. 01.03.2026 14:30.", en: "Please enter date and time as DD.MM.YYYY HH:MM.")
                    f.example = "01.03.2026 14:30"; what = "Datum und Uhrzeit"
                case "bool": f.type = .yesno; what = "Ja/Nein"
                case "num": f.type = .decimal; what = "Zahl"
                case "num_int": f.type = .number; what = "ganze Zahl"
                case "num_currency":
                    f.type = .decimal; what = "Betrag in Euro"
                    if f.hint == nil { f.hint = LocalizedText(de: "Betrag in Euro, z. B. 1.234,56", en: "Amount in euros") }
                case "file":
                    f.type = .file; what = "Datei-Anlage"
                    let kinds = x.mediaTypes.compactMap { m in FileKind.allCases.first { $0.mediaType == m }?.rawValue }
                    if !kinds.isEmpty { f.accept = kinds }
                    if let kb = x.maxSize, kb > 0, kb <= 50 * 1024 { f.maxBytes = kb * 1024 }
                default:
                    what = x.dataType == "text_latin" ? "Text (lateinische Schrift)" : "Text"
                    if let max = x.precision.maxLength, max > 200 { f.type = .multiline }
                }
            }
            if [.text, .multiline].contains(f.type) {
                if let n = x.precision.minLength, n > 0 { f.minLength = n }
                if let n = x.precision.maxLength, n > 0 { f.maxLength = min(n, 4000) }
                if let p = x.precision.pattern, !p.isEmpty {
                    if (try? NSRegularExpression(pattern: "^(?:" + p + ")$")) != nil {
                        f.pattern = p
                        f.patternMessage = LocalizedText(de: "„\(x.label)“ hat nicht das verlangte Format.")
                    } else {
                        findings.append(ImportFinding(.warning, x.id, line: x.line, "Das Muster von „\(x.label)“ ist kein regulärer Ausdruck, den Rathaus prüfen kann; es wird nicht übernommen."))
                    }
                }
            }
            if [.number, .decimal].contains(f.type) {
                f.min = x.precision.minValue.flatMap { Decimal(string: $0) != nil ? $0 : nil }
                f.max = x.precision.maxValue.flatMap { Decimal(string: $0) != nil ? $0 : nil }
            }
            if f.type == .text && f.pattern == nil && f.example == nil {
                // an example the automatic test of every service can type (within the length rules)
                let len = max(f.minLength ?? 0, 8)
                f.example = String(String(repeating: "Beispiel ", count: len / 9 + 1).prefix(min(len, f.maxLength ?? 200))).trimmingCharacters(in: .whitespaces)
                if let min = f.minLength, f.example!.count < min { f.example = String(repeating: "x", count: min) }
            }
            var notes: [String] = [what]
            if f.required == true { notes.append("Pflichtfeld") }
            if let n = f.maxLength { notes.append("höchstens \(n) Zeichen") }
            if let n = f.minLength { notes.append("mindestens \(n) Zeichen") }
            if f.pattern != nil, x.precision.pattern != nil { notes.append("Muster") }
            if !x.hint.isEmpty { notes.append("Hilfetext") }
            findings.append(ImportFinding(.info, x.id, line: x.line, "Feld „\(x.label)“ (\(x.kind)/\(x.dataType)) → \(notes.joined(separator: ", "))."))
            return f
        }
    }
}
