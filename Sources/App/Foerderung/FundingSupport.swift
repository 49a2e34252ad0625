import Fluent
import Vapor
import Funding
import RathausCore

/// Reading the funding forms: every field with its German message, nothing echoed back raw.
struct FundingForm {
    var f: [String: String]

    init(_ req: Request) { f = (try? req.content.decode([String: String].self)) ?? [:] }
    init(_ f: [String: String]) { self.f = f }

    subscript(_ key: String) -> String { (f[key] ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }

    /// The platform's one text rule (`TextInput`): trimmed, bounded, no control characters.
    func text(_ key: String, _ label: String, max: Int = 200, required: Bool = true) throws -> String {
        required ? try TextInput.required(f[key], field: key, label: label, max: max)
                 : try TextInput.optional(f[key], field: key, label: label, max: max) ?? ""
    }

    func money(_ key: String, _ label: String, required: Bool = true) throws -> Int64 {
        let v = self[key]
        if v.isEmpty {
            if required { throw AppError.invalid(key, de: "Bitte geben Sie \(label) in Euro an.", en: "Please enter \(key) in euros.") }
            return 0
        }
        let m: Money
        do { m = try Money(parsing: v) } catch {
            throw AppError.invalid(key, de: "\(label.prefix(1).uppercased() + label.dropFirst()): \(error.messageDE)", en: "\(key): \(error.messageEN)")
        }
        guard m.cents >= 0, m.cents <= 10_000_000_000 else {
            throw AppError.invalid(key, de: "\(label.prefix(1).uppercased() + label.dropFirst()) muss zwischen 0 und 100.000.000 € liegen.", en: "\(key) must be between 0 and 100,000,000 €.")
        }
        return m.cents
    }

    func day(_ key: String, _ label: String, required: Bool = true) throws -> String {
        try BusinessDate.parse(self[key], field: key, label: label, required: required) ?? ""
    }

    func int(_ key: String, _ label: String, range: ClosedRange<Int>, required: Bool = true) throws -> Int? {
        let v = self[key]
        if v.isEmpty {
            if required { throw AppError.invalid(key, de: "Bitte geben Sie \(label) an.", en: "Please fill in \(key).") }
            return nil
        }
        guard let n = Int(v), range.contains(n) else {
            throw AppError.invalid(key, de: "\(label.prefix(1).uppercased() + label.dropFirst()) muss eine ganze Zahl von \(range.lowerBound) bis \(range.upperBound) sein.",
                                   en: "\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound).")
        }
        return n
    }

    func source(_ key: String) throws -> FundingSource {
        guard let s = FundingSource(rawValue: self[key]) else {
            throw AppError.invalid(key, de: "Bitte wählen Sie die Mittelherkunft (Landes- oder Bundesmittel).", en: "Please choose the source of funds.")
        }
        return s
    }
}

/// Who may see an application: its tenant, a partner tenant, or everyone who sees all (the Land,
/// the provider's advisors). Others get 404, so the existence of a case is not revealed.
enum FundingAccess {
    static func visible(_ req: Request, _ raw: String? = nil) async throws -> (FundingApplication, [FundingPartner]) {
        if case .anonymous = req.principal { throw AppError.unauthenticated }
        guard let id = (raw ?? req.parameters.get("id")).flatMap(UUID.init(uuidString:)),
              let a = try await FundingApplication.find(id, on: req.db) else { throw AppError.notFound }
        let partners = try await FundingPartner.query(on: req.db).filter(\.$applicationID == id).sort(\.$tenantName).all()
        guard req.can(.fundingView, tenant: a.tenantARS) || partners.contains(where: { req.can(.fundingView, tenant: $0.tenantARS) }) else {
            throw AppError.notFound
        }
        return (a, partners)
    }

    /// Applications a principal may list: led by or joined by its tenants; nil = all.
    static func visibleIDs(_ req: Request) async throws -> [UUID]? {
        guard let tenants = Policy.visibleTenants(req.principal, for: .fundingView) else { return nil }
        guard !tenants.isEmpty else { return [] }
        let own = try await FundingApplication.query(on: req.db).filter(\.$tenantARS ~~ Array(tenants)).all().compactMap(\.id)
        let joined = try await FundingPartner.query(on: req.db).filter(\.$tenantARS ~~ Array(tenants)).all().map(\.applicationID)
        return Array(Set(own + joined))
    }
}

enum FundingFormat {
    static func money(_ cents: Int64) -> String { Money(cents: cents).formatted }
    static func day(_ iso: String) -> String { iso.isEmpty ? "" : CalendarDay.display(iso, english: DisplayLanguage.english) }
    static func status(_ s: String) -> String {
        let st = FundingStatus(rawValue: s)
        return DisplayLanguage.english ? (st?.english ?? s) : (st?.german ?? s)
    }
    static func source(_ s: FundingSource) -> String { DisplayLanguage.english ? s.english : s.short }
    static func financing(_ f: Financing) -> String { DisplayLanguage.english ? f.descriptionEN : f.descriptionDE }
    static func level(_ l: ApplicantLevel) -> String { DisplayLanguage.english ? l.english : l.german }
    static func costType(_ raw: String) -> String { FundingCostType(rawValue: raw)?.label(DisplayLanguage.english) ?? raw }
    static func partnerStatus(_ s: String) -> String {
        switch s {
        case "bestaetigt": DisplayLanguage.english ? "confirmed" : "bestätigt"
        case "abgelehnt": DisplayLanguage.english ? "declined" : "abgelehnt"
        default: DisplayLanguage.english ? "invited, not confirmed yet" : "eingeladen, noch nicht bestätigt"
        }
    }
    static func decision(_ s: String) -> String {
        switch s {
        case "beantragt": DisplayLanguage.english ? "requested" : "beantragt"
        case "genehmigt": DisplayLanguage.english ? "approved" : "genehmigt"
        case "ausgezahlt": DisplayLanguage.english ? "paid out" : "ausgezahlt"
        case "abgelehnt": DisplayLanguage.english ? "refused" : "abgelehnt"
        default: s
        }
    }
    static func level(ofGebiet level: String) -> ApplicantLevel? { ApplicantLevel(rawValue: level) }
}

struct FundingOption: Encodable { var value: String; var label: String; var selected: Bool }
