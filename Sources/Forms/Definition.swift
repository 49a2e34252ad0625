import Foundation

/// A text in German (always) and English (optional; German is shown when missing).
public struct LocalizedText: Codable, Sendable, Hashable {
    public var de: String
    public var en: String?
    public init(de: String, en: String? = nil) { self.de = de; self.en = en }
    public func text(_ lang: String) -> String { lang == "en" ? (en ?? de) : de }
}

public enum FieldType: String, Codable, Sendable, CaseIterable {
    case text, multiline, number, decimal, date, select, radio, checkbox, yesno, email, phone, iban, address, file, group
    /// Text shown in the form without an input (FIM `feldart label`, `obj`): never answered.
    case label
}

public struct FieldOption: Codable, Sendable, Hashable {
    public var value: String
    public var label: LocalizedText
    public init(value: String, label: LocalizedText) { self.value = value; self.label = label }
}

/// When a field is shown or required, depending on other answers. A `field` is looked up in the
/// same repeating-group item first, then among the top-level answers.
public indirect enum Condition: Codable, Sendable, Hashable {
    case equals(field: String, value: String)
    case notEquals(field: String, value: String)
    case oneOf(field: String, values: [String])
    case filled(field: String)
    case all([Condition])
    case any([Condition])

    private enum Keys: String, CodingKey { case field, equals, notEquals, oneOf, filled, all, any }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        if let all = try c.decodeIfPresent([Condition].self, forKey: .all) { self = .all(all); return }
        if let any = try c.decodeIfPresent([Condition].self, forKey: .any) { self = .any(any); return }
        let field = try c.decode(String.self, forKey: .field)
        if let v = try c.decodeIfPresent(String.self, forKey: .equals) { self = .equals(field: field, value: v) }
        else if let v = try c.decodeIfPresent(String.self, forKey: .notEquals) { self = .notEquals(field: field, value: v) }
        else if let v = try c.decodeIfPresent([String].self, forKey: .oneOf) { self = .oneOf(field: field, values: v) }
        else { self = .filled(field: field) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .equals(let f, let v): try c.encode(f, forKey: .field); try c.encode(v, forKey: .equals)
        case .notEquals(let f, let v): try c.encode(f, forKey: .field); try c.encode(v, forKey: .notEquals)
        case .oneOf(let f, let v): try c.encode(f, forKey: .field); try c.encode(v, forKey: .oneOf)
        case .filled(let f): try c.encode(f, forKey: .field); try c.encode(true, forKey: .filled)
        case .all(let l): try c.encode(l, forKey: .all)
        case .any(let l): try c.encode(l, forKey: .any)
        }
    }
}

/// One field of a form. Which properties apply depends on `type`; the validator ignores the rest.
public struct FieldDefinition: Codable, Sendable, Hashable {
    public var id: String
    public var type: FieldType
    public var label: LocalizedText
    public var hint: LocalizedText?
    public var required: Bool?
    public var requiredIf: Condition?
    public var visibleIf: Condition?
    public var minLength: Int?
    public var maxLength: Int?
    /// Regular expression the whole answer must match, with the message shown when it does not.
    public var pattern: String?
    public var patternMessage: LocalizedText?
    /// A valid example answer ("EF-AB 123"): shown as a placeholder, checked against `pattern`
    /// when the service is published, and used by the automatic tests of every service.
    public var example: String?
    /// Bounds for number and decimal fields, as decimal literals ("0", "12.5").
    public var min: String?
    public var max: String?
    /// Date relations: "heute", "heute+30", "heute-36500" (days) or the id of another date field.
    public var notBefore: String?
    public var notAfter: String?
    public var options: [FieldOption]?
    /// Name of a code list of the form (instead of inline options).
    public var codeList: String?
    /// Repeating group: the fields of one item and how many items are allowed.
    public var fields: [FieldDefinition]?
    public var minItems: Int?
    public var maxItems: Int?
    /// Singular name of one item ("Hund"), for "add another" buttons and headings.
    public var itemLabel: LocalizedText?
    /// File fields: accepted kinds (see `FileKind`) and the largest file in bytes.
    public var accept: [String]?
    public var maxBytes: Int?
    /// Profile attribute the field may be prefilled from, with the person's consent.
    public var prefill: String?

    public init(id: String, type: FieldType, label: LocalizedText) {
        self.id = id; self.type = type; self.label = label
    }
}

public struct StepDefinition: Codable, Sendable, Hashable {
    public var id: String
    public var title: LocalizedText
    public var intro: LocalizedText?
    public var fields: [FieldDefinition]
    public init(id: String, title: LocalizedText, fields: [FieldDefinition]) { self.id = id; self.title = title; self.fields = fields }
}

public struct FormDefinition: Codable, Sendable, Hashable {
    public var steps: [StepDefinition]
    public var codeLists: [String: [FieldOption]]?
    public init(steps: [StepDefinition], codeLists: [String: [FieldOption]]? = nil) { self.steps = steps; self.codeLists = codeLists }

    public func options(of f: FieldDefinition) -> [FieldOption] {
        if let o = f.options { return o }
        if let name = f.codeList { return codeLists?[name] ?? [] }
        if f.type == .yesno { return [FieldOption(value: "ja", label: .init(de: "Ja", en: "Yes")), FieldOption(value: "nein", label: .init(de: "Nein", en: "No"))] }
        return []
    }

    /// All fields of all steps, with their step.
    public var allFields: [(step: StepDefinition, field: FieldDefinition)] {
        steps.flatMap { s in s.fields.map { (s, $0) } }
    }

    public func step(_ id: String) -> StepDefinition? { steps.first { $0.id == id } }
}

/// Where an imported form came from. Field ids are the FIM ids of the data fields and groups
/// (a second occurrence at the same level gets `__2`, `__3` …); `stepGroups` names the top-level
/// group a step stands for ("" for top-level fields that are in no group).
public struct FIMOrigin: Codable, Sendable, Hashable {
    public var schemaID: String
    public var version: String
    public var xdfVersion: String
    public var name: String
    public var stepGroups: [String: String]
    public init(schemaID: String, version: String, xdfVersion: String, name: String, stepGroups: [String: String]) {
        self.schemaID = schemaID; self.version = version; self.xdfVersion = xdfVersion; self.name = name; self.stepGroups = stepGroups
    }

    /// The FIM id an answer key stands for (`F60000227__2` → `F60000227`).
    public static func fimID(_ key: String) -> String {
        guard let r = key.range(of: "__") else { return key }
        return String(key[..<r.lowerBound])
    }
}

/// How large and how many files a service accepts in total.
public struct AttachmentLimits: Codable, Sendable, Hashable {
    public var maxFiles: Int
    public var maxBytesPerFile: Int
    public init(maxFiles: Int, maxBytesPerFile: Int) { self.maxFiles = maxFiles; self.maxBytesPerFile = maxBytesPerFile }
}

/// An online service as the state publishes it: versioned data, not code.
public struct ServiceDefinition: Codable, Sendable, Hashable {
    public var slug: String
    /// The LeiKa key the service is filed under (the responsible office is resolved for it).
    public var leika: String
    /// Further LeiKa keys the service serves: "Hund anmelden" is Hundesteuer Festsetzung and
    /// Hundehaltung Anmeldung. The finder offers the service for any of them.
    public var relatedLeika: [String]?
    public var version: Int
    public var title: LocalizedText
    public var summary: LocalizedText
    /// Minimum trust level of the login (`basisregistrierung`, `substanziell`, `hoch`).
    public var trustLevel: String
    /// Whether people may apply without a Servicekonto (the draft is then reached by a one-time
    /// link sent by e-mail). Only for services at `basisregistrierung`.
    public var guestsAllowed: Bool?
    public var fee: FeeRule
    public var attachments: AttachmentLimits
    /// Documents the applicant must have ready, as a list for the service page.
    public var documents: [LocalizedText]?
    /// The law the service rests on ("§ 17 Bundesmeldegesetz"), shown on the service page.
    public var legalBasis: LocalizedText?
    /// The fee figures are demo values (municipal fees differ by statute): the page says so.
    public var feeIsDemo: Bool?
    public var form: FormDefinition
    /// Set when the form was imported from a FIM XDatenfelder schema: the answers can then be
    /// exported as a data instance of that schema.
    public var fim: FIMOrigin?

    public init(slug: String, leika: String, version: Int, title: LocalizedText, summary: LocalizedText, trustLevel: String,
                fee: FeeRule, attachments: AttachmentLimits, form: FormDefinition) {
        self.slug = slug; self.leika = leika; self.version = version; self.title = title; self.summary = summary
        self.trustLevel = trustLevel; self.fee = fee; self.attachments = attachments; self.form = form
    }

    /// Every LeiKa key the service serves, the main one first, without repeats.
    public var allLeika: [String] {
        var seen = Set<String>()
        return ([leika] + (relatedLeika ?? [])).filter { seen.insert($0).inserted }
    }
}
