import Fluent
import Forms
import Foundation
import RathausCore
import SQLKit
import Vapor

/// The Land's service designer: an online service is edited as a form in the browser (no
/// JavaScript needed; every button is a round trip), previewed through the same form engine the
/// applicants use, checked in German, and published as the next version. Drafts are kept on the
/// server after every round trip, so nothing typed is lost. JSON import/export stays for the API.
final class ServiceDraft: Model, @unchecked Sendable {
    static let schema = "service_drafts"
    @ID(key: .id) var id: UUID?
    @Field(key: "slug") var slug: String
    @Field(key: "definition") var definition: String
    @Field(key: "updated_at") var updatedAt: Date
    @Field(key: "updated_by") var updatedBy: String
    init() {}
}

struct M022CreateServiceDrafts: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ServiceDraft.schema)
            .id()
            .field("slug", .string, .required)
            .field("definition", .string, .required)
            .field("updated_at", .datetime, .required)
            .field("updated_by", .string, .required)
            .create()
    }
    func revert(on database: any Database) async throws { try await database.schema(ServiceDraft.schema).delete() }
}

/// The designer's form fields ⇄ a `ServiceDefinition`. Flat names: `titel_de`, `s0.titel_de`,
/// `s0.f2.typ`; a field with `gruppe` set belongs to the repeating group of that id in its step.
enum DesignerForm {
    struct FieldRow: Encodable {
        var index: Int
        var id = ""; var typ = "text"; var labelDE = ""; var labelEN = ""; var pflicht = false
        var hinweisDE = ""; var optionen = ""; var min = ""; var max = ""; var maxLaenge = ""; var muster = ""; var beispiel = ""
        var nichtVor = ""; var nichtNach = ""; var sichtbarFeld = ""; var sichtbarWert = ""; var gruppe = ""
        var typen: [Opt] = []
    }
    struct StepRow: Encodable { var index: Int; var id: String; var titelDE: String; var titelEN: String; var fields: [FieldRow] }
    struct Opt: Encodable { var value: String; var label: String; var selected: Bool }

    static let typeLabels: [(FieldType, String)] = [
        (.text, "Text (eine Zeile)"), (.multiline, "Text (mehrzeilig)"), (.number, "Ganze Zahl"), (.decimal, "Dezimalzahl"), (.date, "Datum"),
        (.select, "Auswahlliste"), (.radio, "Eine Antwort (Optionsfelder)"), (.checkbox, "Mehrere Antworten (Kästchen)"), (.yesno, "Ja/Nein"),
        (.email, "E-Mail-Adresse"), (.phone, "Telefon"), (.iban, "IBAN"), (.address, "Anschrift"), (.file, "Datei-Anlage"), (.group, "Wiederholbare Gruppe"),
        (.label, "Hinweistext (ohne Eingabe)"),
    ]

    /// Reads the posted form into a definition (never fails: what cannot be read stays empty and
    /// is reported by `OnlineServiceCatalogue.problems`).
    static func read(_ v: [String: String]) -> ServiceDefinition {
        func s(_ k: String) -> String { (v[k] ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        func opt(_ k: String) -> String? { let x = s(k); return x.isEmpty ? nil : x }
        func loc(_ de: String, _ en: String) -> LocalizedText { LocalizedText(de: s(de), en: opt(en)) }
        var steps: [StepDefinition] = []
        let stepCount = min(Int(s("schritte")) ?? 0, 30)
        for i in 0..<stepCount {
            var flat: [(FieldDefinition, String)] = []
            let n = min(Int(s("s\(i).felder")) ?? 0, 80)
            for j in 0..<n {
                let p = "s\(i).f\(j)."
                guard !s(p + "id").isEmpty || !s(p + "label_de").isEmpty else { continue }
                var f = FieldDefinition(id: s(p + "id"), type: FieldType(rawValue: s(p + "typ")) ?? .text, label: loc(p + "label_de", p + "label_en"))
                f.required = v[p + "pflicht"] == "ja" ? true : nil
                if let h = opt(p + "hinweis_de") { f.hint = LocalizedText(de: h) }
                let options = s(p + "optionen").split(whereSeparator: \.isNewline).compactMap { line -> FieldOption? in
                    let parts = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard let value = parts.first, !value.isEmpty else { return nil }
                    return FieldOption(value: value, label: LocalizedText(de: parts.count > 1 && !parts[1].isEmpty ? parts[1] : value,
                                                                          en: parts.count > 2 && !parts[2].isEmpty ? parts[2] : nil))
                }
                if !options.isEmpty { f.options = options }
                if [.select, .radio, .checkbox].contains(f.type), f.options == nil { f.options = [] }
                f.min = opt(p + "min"); f.max = opt(p + "max")
                f.maxLength = Int(s(p + "maxlaenge"))
                f.pattern = opt(p + "muster"); f.example = opt(p + "beispiel")
                f.notBefore = opt(p + "nicht_vor"); f.notAfter = opt(p + "nicht_nach")
                if let cf = opt(p + "sichtbar_feld") {
                    let value = s(p + "sichtbar_wert")
                    let c: Condition = value.isEmpty ? .filled(field: cf) : .equals(field: cf, value: value)
                    f.visibleIf = c
                    if f.required == true { f.required = nil; f.requiredIf = c }
                }
                if f.type == .file { f.accept = ["pdf", "jpeg", "png"]; f.maxBytes = 5 * 1024 * 1024 }
                if f.type == .group { f.fields = []; f.minItems = f.required == true ? 1 : 0; f.maxItems = Int(s(p + "max")) ?? 10; f.max = nil }
                flat.append((f, s(p + "gruppe")))
            }
            // nest the fields of repeating groups
            var fields: [FieldDefinition] = []
            for (f, group) in flat where group.isEmpty { fields.append(f) }
            for (f, group) in flat where !group.isEmpty {
                if let k = fields.firstIndex(where: { $0.id == group && $0.type == .group }) { fields[k].fields?.append(f) } else { fields.append(f) }
            }
            steps.append(StepDefinition(id: s("s\(i).id"), title: loc("s\(i).titel_de", "s\(i).titel_en"), fields: fields))
        }
        var fee = FeeRule(kind: s("gebuehr_art").isEmpty ? "keine" : s("gebuehr_art"))
        let cents = (try? Money(parsing: s("gebuehr_betrag")).cents).map { Int($0) }
        switch fee.kind {
        case "fest": fee.cents = cents
        case "pro_eintrag": fee.base = (try? Money(parsing: s("gebuehr_grund")).cents).map { Int($0) } ?? 0; fee.cents = cents; fee.group = opt("gebuehr_gruppe")
        case "formel": fee.formula = opt("gebuehr_formel")
        default: break
        }
        var d = ServiceDefinition(slug: s("slug"), leika: s("leika"), version: 1, title: loc("titel_de", "titel_en"), summary: loc("kurz_de", "kurz_en"),
                                  trustLevel: s("niveau").isEmpty ? "basisregistrierung" : s("niveau"), fee: fee,
                                  attachments: AttachmentLimits(maxFiles: Int(s("anlagen_anzahl")) ?? 5, maxBytesPerFile: (Int(s("anlagen_mb")) ?? 5) * 1024 * 1024),
                                  form: FormDefinition(steps: steps))
        let related = s("weitere_leika").split(whereSeparator: { $0 == " " || $0 == "," || $0.isNewline }).map(String.init)
        d.relatedLeika = related.isEmpty ? nil : related
        d.guestsAllowed = v["gaeste"] == "ja" ? true : nil
        d.feeIsDemo = v["gebuehr_demo"] == "ja" ? true : nil
        if let de = opt("rechtsgrundlage_de") { d.legalBasis = LocalizedText(de: de, en: opt("rechtsgrundlage_en")) }
        return d
    }

    /// The step rows the page shows for a definition (groups flattened, their fields marked).
    static func rows(_ d: ServiceDefinition) -> [StepRow] {
        d.form.steps.enumerated().map { i, step in
            var flat: [(FieldDefinition, String)] = []
            for f in step.fields {
                flat.append((f, ""))
                if f.type == .group { for sub in f.fields ?? [] { flat.append((sub, f.id)) } }
            }
            return StepRow(index: i, id: step.id, titelDE: step.title.de, titelEN: step.title.en ?? "", fields: flat.enumerated().map { j, pair in
                let (f, group) = pair
                var r = FieldRow(index: j, id: f.id, typ: f.type.rawValue, labelDE: f.label.de, labelEN: f.label.en ?? "",
                                 pflicht: f.required == true || f.requiredIf != nil, hinweisDE: f.hint?.de ?? "",
                                 optionen: (f.options ?? []).map { "\($0.value)|\($0.label.de)|\($0.label.en ?? "")" }.joined(separator: "\n"),
                                 min: f.min ?? "", max: f.type == .group ? (f.maxItems.map(String.init) ?? "") : (f.max ?? ""),
                                 maxLaenge: f.maxLength.map(String.init) ?? "", muster: f.pattern ?? "", beispiel: f.example ?? "",
                                 nichtVor: f.notBefore ?? "", nichtNach: f.notAfter ?? "", gruppe: group)
                switch f.visibleIf {
                case .equals(let field, let value)?: r.sichtbarFeld = field; r.sichtbarWert = value
                case .filled(let field)?: r.sichtbarFeld = field
                default: break
                }
                r.typen = typeLabels.map { Opt(value: $0.0.rawValue, label: $0.1, selected: $0.0 == f.type) }
                return r
            })
        }
    }

    static func emptyField(_ j: Int) -> FieldRow {
        var r = FieldRow(index: j)
        r.typen = typeLabels.map { Opt(value: $0.0.rawValue, label: $0.1, selected: $0.0 == .text) }
        return r
    }
}

struct ServiceDesignerController {
    func addRoutes(to web: any RoutesBuilder) {
        web.get("land", "onlinedienste", "designer", use: page)
        web.post("land", "onlinedienste", "designer", use: act)
    }

    struct Opt: Encodable { var value: String; var label: String; var selected: Bool }
    struct View: Encodable {
        var draftID: String
        var d: Meta
        var steps: [DesignerForm.StepRow]
        var stepCount: Int
        var levels: [Opt]
        var feeKinds: [Opt]
        var problems: [String]
        var checked: Bool
        var rows: [FormRow]
        var json: String
        var services: [Opt]
    }
    struct Meta: Encodable {
        var slug, leika, weitereLeika, titelDE, titelEN, kurzDE, kurzEN, rechtsgrundlageDE, rechtsgrundlageEN: String
        var gaeste, gebuehrDemo: Bool
        var gebuehrBetrag, gebuehrGrund, gebuehrGruppe, gebuehrFormel: String
        var anlagenAnzahl, anlagenMB: Int
    }

    static func skeleton() -> ServiceDefinition {
        var first = FieldDefinition(id: "vorname", type: .text, label: LocalizedText(de: "Vorname", en: "First name"))
        first.required = true; first.prefill = "vorname"
        return ServiceDefinition(slug: "", leika: "", version: 1, title: LocalizedText(de: ""), summary: LocalizedText(de: ""), trustLevel: "basisregistrierung",
                                 fee: .none, attachments: AttachmentLimits(maxFiles: 5, maxBytesPerFile: 5 * 1024 * 1024),
                                 form: FormDefinition(steps: [StepDefinition(id: "person", title: LocalizedText(de: "Ihre Angaben", en: "Your details"), fields: [first])]))
    }

    func render(_ req: Request, _ d: ServiceDefinition, draftID: String, extraField: Int? = nil, checked: Bool, json: String = "",
                status: HTTPResponseStatus = .ok) async throws -> Response {
        var steps = DesignerForm.rows(d)
        if let i = extraField, steps.indices.contains(i) { steps[i].fields.append(DesignerForm.emptyField(steps[i].fields.count)) }
        let problems = OnlineServiceCatalogue.problems(d)
        // the preview: every step through the same form engine and rows the applicants see
        let engine = AntragService.engine(d)
        var rows: [FormRow] = []
        for s in d.form.steps {
            rows.append(FormRow(kind: "step_heading", label: s.title.de))
            rows += FormRows.build(step: s, form: d.form, engine: engine, answers: [:], errors: [:], lang: "de", prefix: "vorschau-")
        }
        let fee = d.fee
        func euro(_ c: Int?) -> String { c.map { Money(cents: Int64($0)).decimalString.replacingOccurrences(of: ".", with: ",") } ?? "" }
        let meta = Meta(slug: d.slug, leika: d.leika, weitereLeika: (d.relatedLeika ?? []).joined(separator: " "), titelDE: d.title.de, titelEN: d.title.en ?? "",
                        kurzDE: d.summary.de, kurzEN: d.summary.en ?? "", rechtsgrundlageDE: d.legalBasis?.de ?? "", rechtsgrundlageEN: d.legalBasis?.en ?? "",
                        gaeste: d.guestsAllowed == true, gebuehrDemo: d.feeIsDemo == true, gebuehrBetrag: euro(fee.cents), gebuehrGrund: euro(fee.base),
                        gebuehrGruppe: fee.group ?? "", gebuehrFormel: fee.formula ?? "", anlagenAnzahl: d.attachments.maxFiles,
                        anlagenMB: d.attachments.maxBytesPerFile / (1024 * 1024))
        let levels = [("basisregistrierung", "Basisregistrierung"), ("substanziell", "substanziell"), ("hoch", "hoch")].map { Opt(value: $0.0, label: $0.1, selected: $0.0 == d.trustLevel) }
        let kinds = [("keine", "keine Gebühr"), ("fest", "fester Betrag"), ("pro_eintrag", "Grundbetrag und Betrag je Eintrag einer Gruppe"), ("formel", "Formel")]
            .map { Opt(value: $0.0, label: $0.1, selected: $0.0 == fee.kind) }
        let services = try await OnlineServiceCatalogue.latest(on: req.db).map { Opt(value: $0.slug, label: $0.title, selected: $0.slug == d.slug) }
        let exported = json.isEmpty ? String(decoding: (try? Self.encoder.encode(d)) ?? Data(), as: UTF8.self) : json
        let view = View(draftID: draftID, d: meta, steps: steps, stepCount: steps.count, levels: levels, feeKinds: kinds, problems: problems,
                        checked: checked, rows: rows, json: exported, services: services)
        return try await req.render("onlinedienste/designer", title: req.t("designer_title"), view, status: status, form: true)
    }

    static let encoder: JSONEncoder = { let e = JSONEncoder(); e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]; return e }()

    /// `?dienst=slug` starts from the newest published version, `?entwurf=id` reopens a draft.
    @Sendable func page(req: Request) async throws -> Response {
        try req.authorize(.servicePublish)
        if let id = req.query[String.self, at: "entwurf"].flatMap(UUID.init(uuidString:)), let draft = try await ServiceDraft.find(id, on: req.db),
           let d = try? JSONDecoder().decode(ServiceDefinition.self, from: Data(draft.definition.utf8)) {
            return try await render(req, d, draftID: id.uuidString, checked: true)
        }
        if let slug = req.query[String.self, at: "dienst"], let v = try await OnlineServiceCatalogue.latest(slug, on: req.db) {
            return try await render(req, try v.decoded(), draftID: "", checked: true)
        }
        return try await render(req, Self.skeleton(), draftID: "", checked: false)
    }

    @Sendable func act(req: Request) async throws -> Response {
        try req.authorize(.servicePublish)
        let raw = (try? req.content.decode([String: String].self)) ?? [:]
        guard raw.count <= 3000, raw.values.reduce(0, { $0 + $1.utf8.count }) <= 1_000_000 else {
            throw AppError(.payloadTooLarge, "designer.too_large", de: "Der Entwurf ist zu groß (höchstens 30 Schritte mit je 80 Feldern).", en: "Draft too large.")
        }
        var d = DesignerForm.read(raw)
        let action = raw["aktion"] ?? "pruefen"
        var extra: Int? = nil
        var json = ""
        let parts = action.split(separator: ":").map(String.init)
        switch parts.first ?? "" {
        case "schritt_neu":
            let n = d.form.steps.count + 1
            d.form.steps.append(StepDefinition(id: "schritt\(n)", title: LocalizedText(de: "Schritt \(n)"), fields: []))
        case "feld_neu": extra = parts.count > 1 ? Int(parts[1]) : nil
        case "schritt_weg":
            if let i = parts.count > 1 ? Int(parts[1]) : nil, d.form.steps.indices.contains(i) { d.form.steps.remove(at: i) }
        case "feld_weg", "feld_hoch":
            if parts.count > 2, let i = Int(parts[1]), let j = Int(parts[2]), d.form.steps.indices.contains(i) {
                // indices refer to the flattened rows (groups and their fields)
                var flat = DesignerForm.rows(d)[i].fields
                if flat.indices.contains(j) {
                    if parts[0] == "feld_weg" { flat.remove(at: j) } else if j > 0 { flat.swapAt(j, j - 1) }
                    var values = raw.filter { !$0.key.hasPrefix("s\(i).f") }
                    for (k, f) in flat.enumerated() { Self.write(f, step: i, index: k, into: &values) }
                    values["s\(i).felder"] = "\(flat.count)"
                    d = DesignerForm.read(values)
                }
            }
        case "json_laden":
            json = raw["json"] ?? ""
            do { d = try JSONDecoder().decode(ServiceDefinition.self, from: Data(json.utf8)); json = "" } catch {
                let view = try await render(req, d, draftID: raw["entwurf"] ?? "", checked: true, json: json, status: .unprocessableEntity)
                view.headers.replaceOrAdd(name: "X-Designer-Fehler", value: "json")
                return view
            }
        case "veroeffentlichen":
            let problems = OnlineServiceCatalogue.problems(d)
            if problems.isEmpty {
                let v = try await OnlineServiceCatalogue.publish(d, by: req.principal.auditActor, actorID: req.principal.actorID, on: req.db)
                if let id = raw["entwurf"].flatMap(UUID.init(uuidString:)) { try await ServiceDraft.find(id, on: req.db)?.delete(on: req.db) }
                return req.redirect(to: "/land/onlinedienste?veroeffentlicht=\(v.slug)-\(v.version)", redirectType: .normal)
            }
            let id = try await save(req, d, draftID: raw["entwurf"])
            return try await render(req, d, draftID: id, checked: true, status: .unprocessableEntity)
        default: break
        }
        let id = try await save(req, d, draftID: raw["entwurf"])
        return try await render(req, d, draftID: id, extraField: extra, checked: true)
    }

    /// Keeps the draft on the server after every round trip (one row per draft, audited once).
    func save(_ req: Request, _ d: ServiceDefinition, draftID: String?) async throws -> String {
        let text = String(decoding: try JSONEncoder().encode(d), as: UTF8.self)
        if let id = draftID.flatMap(UUID.init(uuidString:)), let draft = try await ServiceDraft.find(id, on: req.db) {
            draft.definition = text; draft.slug = d.slug; draft.updatedAt = Date(); draft.updatedBy = req.principal.auditActor
            try await draft.save(on: req.db)
            return id.uuidString
        }
        let draft = ServiceDraft()
        draft.slug = d.slug; draft.definition = text; draft.updatedAt = Date(); draft.updatedBy = req.principal.auditActor
        try await req.db.transaction { db in
            try await draft.create(on: db)
            try await req.audit(on: db, "onlinedienst.entwurf", tenant: nil, objectType: "onlinedienst", objectID: d.slug.isEmpty ? "neu" : d.slug, after: "Entwurf angelegt")
        }
        return try draft.requireID().uuidString
    }

    static func write(_ f: DesignerForm.FieldRow, step i: Int, index j: Int, into v: inout [String: String]) {
        let p = "s\(i).f\(j)."
        v[p + "id"] = f.id; v[p + "typ"] = f.typ; v[p + "label_de"] = f.labelDE; v[p + "label_en"] = f.labelEN
        v[p + "pflicht"] = f.pflicht ? "ja" : nil; v[p + "hinweis_de"] = f.hinweisDE; v[p + "optionen"] = f.optionen
        v[p + "min"] = f.min; v[p + "max"] = f.max; v[p + "maxlaenge"] = f.maxLaenge; v[p + "muster"] = f.muster; v[p + "beispiel"] = f.beispiel
        v[p + "nicht_vor"] = f.nichtVor; v[p + "nicht_nach"] = f.nichtNach; v[p + "sichtbar_feld"] = f.sichtbarFeld; v[p + "sichtbar_wert"] = f.sichtbarWert
        v[p + "gruppe"] = f.gruppe
    }
}
