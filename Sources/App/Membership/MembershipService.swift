import Fluent
import SQLKit
import Vapor
import RathausCore

/// Input of a Beitrittsantrag, the same for form and API.
struct ApplicationInput: Content {
    var antragsdatum: String?
    var ratsbeschluss: String?
    var ratsbeschlussDatum: String?
    var anteilCent: Int64?
    var ansprechpartner: String?
}

struct ApprovalInput: Content { var wirksamAb: String? }
struct RejectionInput: Content { var begruendung: String? }
struct NoticeInput: Content { var kuendigungZum: String?; var begruendung: String? }

/// All membership and survey state changes go through here: validation, the state machine,
/// the change and its audit entry in one transaction.
enum MembershipService {
    /// Members on `today`: approved (or under notice) and effective — a membership "wirksam ab
    /// 01.01.2027" counts from that day, one under notice until the day it ends.
    static func currentMemberCount(on db: any Database, today: String = BusinessDate.today()) async throws -> Int {
        let rows = try await Membership.query(on: db).filter(\.$status ~~ ["member", "notice_given"]).all()
        return rows.filter { isEffective($0, today: today) }.count
    }

    /// The status as people read it: an approved membership that takes effect later says so
    /// ("Beitritt genehmigt, wirksam ab 01.01.2027"), one under notice says until when.
    static func statusLabel(_ req: Request, status: String, effectiveFrom: String?, effectiveUntil: String?,
                            today: String = BusinessDate.today()) -> String {
        let en = req.lang == .en
        if status == "member", let from = effectiveFrom, from > today {
            return (en ? "approved, member from " : "Beitritt genehmigt, Mitglied ab ") + CalendarDay.display(from, english: en)
        }
        if status == "notice_given", let until = effectiveUntil {
            return until > today ? (en ? "notice given, member until " : "gekündigt, Mitglied bis ") + CalendarDay.display(until, english: en)
                : (en ? "membership ended on " : "Mitgliedschaft beendet am ") + CalendarDay.display(until, english: en)
        }
        return req.t("status_\(status)")
    }

    static func isEffective(_ m: Membership, today: String = BusinessDate.today()) -> Bool {
        guard m.status == "member" || m.status == "notice_given" else { return false }
        if let from = m.effectiveFrom, from > today { return false }
        if let until = m.effectiveUntil, until <= today { return false }
        return true
    }

    static func membership(of ars: String, on db: any Database) async throws -> Membership? {
        try await Membership.query(on: db).filter(\.$tenantARS == ars).first()
    }

    /// Runs `event` for `tenant`, after `mutate` has validated and applied the event's data.
    static func transition(_ req: Request, tenant: Gebiet, event: MembershipEvent,
                           mutate: @escaping @Sendable (Membership) throws -> Void) async throws -> Membership {
        let ars = tenant.ars
        let dissolved = tenant.dissolvedOn
        return try await req.db.transaction { db in
            if let sql = db as? any SQLDatabase, sql.dialect.name == "postgresql" {
                // serialise concurrent decisions on the same tenant across instances
                try await sql.raw("SELECT pg_advisory_xact_lock(hashtext(\(bind: "membership:" + ars)))").run()
            }
            let m = try await membership(of: ars, on: db) ?? Membership(tenantARS: ars)
            let before = m.id == nil ? "Status none" : m.summary
            guard let next = MembershipStateMachine.next(m.state, event) else {
                throw AppError(.conflict, MembershipStateMachine.refusal(m.state, event))
            }
            if event == .apply, dissolved != nil {
                throw AppError(.conflict, "tenant.dissolved", de: "Diese Gebietseinheit ist aufgelöst und kann keinen Antrag stellen.",
                               en: "This unit has been dissolved and cannot apply.")
            }
            try mutate(m)
            m.status = next.rawValue
            try await m.save(on: db)
            try await req.audit(on: db, "membership.\(event.rawValue)", tenant: ars, objectType: "membership",
                                objectID: ars, before: before, after: m.summary)
            return m
        }
    }

    static func apply(_ req: Request, tenant: Gebiet, _ input: ApplicationInput) async throws -> Membership {
        let today = BusinessDate.today()
        let applied = try BusinessDate.parse(input.antragsdatum, field: "antragsdatum", label: "das Antragsdatum")!
        let resolution = try TextInput.required(input.ratsbeschluss, field: "ratsbeschluss",
                                                label: "den Beschluss des Gemeinderats (Nummer oder Bezeichnung)", max: 300)
        let resolutionOn = try BusinessDate.parse(input.ratsbeschlussDatum, field: "ratsbeschlussDatum", label: "das Datum des Ratsbeschlusses")!
        guard let share = input.anteilCent else {
            throw AppError.invalid("anteilCent", de: "Bitte geben Sie den gezeichneten Geschäftsanteil an.", en: "Please enter the share subscribed.")
        }
        guard share > 0, share <= 100_000_000_00 else {
            throw AppError.invalid("anteilCent", de: "Der Geschäftsanteil muss größer als 0 € und höchstens 100.000.000 € sein.",
                                   en: "The share must be above 0 € and at most 100,000,000 €.")
        }
        let contact = try TextInput.optional(input.ansprechpartner, field: "ansprechpartner", label: "die Ansprechperson", max: 200)
        guard applied <= today else {
            throw AppError.invalid("antragsdatum", de: "Das Antragsdatum darf nicht in der Zukunft liegen.", en: "The application date must not be in the future.")
        }
        guard resolutionOn <= applied else {
            throw AppError.invalid("ratsbeschlussDatum", de: "Der Ratsbeschluss muss vor oder am Antragsdatum gefasst worden sein.",
                                   en: "The council resolution must not be later than the application date.")
        }
        return try await transition(req, tenant: tenant, event: .apply) { m in
            m.appliedOn = applied
            m.councilResolution = resolution
            m.councilResolutionOn = resolutionOn
            m.shareCents = share
            m.contact = contact
            m.decidedOn = nil
            m.decisionReason = nil
            m.effectiveFrom = nil
        }
    }

    static func withdraw(_ req: Request, tenant: Gebiet) async throws -> Membership {
        try await transition(req, tenant: tenant, event: .withdraw) { _ in }
    }

    static func approve(_ req: Request, tenant: Gebiet, _ input: ApprovalInput) async throws -> Membership {
        let from = try BusinessDate.parse(input.wirksamAb, field: "wirksamAb", label: "das Datum, ab dem die Mitgliedschaft wirksam wird")!
        let today = BusinessDate.today()
        return try await transition(req, tenant: tenant, event: .approve) { m in
            if let applied = m.appliedOn, from < applied {
                throw AppError.invalid("wirksamAb", de: "Die Mitgliedschaft kann nicht vor dem Antragsdatum (\(applied)) wirksam werden.",
                                       en: "Membership cannot take effect before the application date.")
            }
            m.decidedOn = today
            m.decisionReason = nil
            m.effectiveFrom = from
        }
    }

    static func reject(_ req: Request, tenant: Gebiet, _ input: RejectionInput) async throws -> Membership {
        let reason = try TextInput.required(input.begruendung, field: "begruendung", label: "eine Begründung für die Ablehnung", max: 2000)
        let today = BusinessDate.today()
        return try await transition(req, tenant: tenant, event: .reject) { m in
            m.decidedOn = today
            m.decisionReason = reason
        }
    }

    static func giveNotice(_ req: Request, tenant: Gebiet, _ input: NoticeInput) async throws -> Membership {
        let until = try BusinessDate.parse(input.kuendigungZum, field: "kuendigungZum", label: "das Datum, zu dem die Mitgliedschaft endet")!
        let reason = try TextInput.optional(input.begruendung, field: "begruendung", label: "die Begründung", max: 2000)
        let today = BusinessDate.today()
        return try await transition(req, tenant: tenant, event: .giveNotice) { m in
            guard until > today, until > (m.effectiveFrom ?? "") else {
                throw AppError.invalid("kuendigungZum", de: "Die Kündigung muss zu einem Datum in der Zukunft und nach Beginn der Mitgliedschaft wirken.",
                                       en: "Notice must take effect on a future date after the membership began.")
            }
            m.noticeGivenOn = today
            m.effectiveUntil = until
            if let reason { m.decisionReason = reason }
        }
    }
}

/// One row of the operator overview: every tenant with its membership state.
struct OverviewRow: Content {
    var ars: String
    var name: String
    var ebene: String
    var typ: String
    var kreisArs: String
    var kreisName: String
    var status: String
    var antragsdatum: String?
    var ratsbeschluss: String?
    var ratsbeschlussDatum: String?
    var anteilCent: Int64?
    var wirksamAb: String?
    var entscheidungsgrund: String?
    var kuendigungZum: String?
}

enum Overview {
    /// All tenants of the Land (not dissolved), with membership, sorted by Kreis and ARS.
    static func rows(on db: any Database, land: String = "16", onlyTenants: Set<String>? = nil) async throws -> [OverviewRow] {
        var q = Gebiet.query(on: db).filter(\.$landCode == land).filter(\.$joinable == true).filter(\.$dissolvedOn == nil)
        if let only = onlyTenants { q = q.filter(\.$id ~~ Array(only)) }
        let units = try await q.sort(\.$id).all()
        let kreise = try await Gebiet.query(on: db).filter(\.$landCode == land).filter(\.$level == "kreis").all()
        var kreisName: [String: String] = [:]
        for k in kreise { kreisName[k.ars] = k.name }
        var mq = Membership.query(on: db)
        if let only = onlyTenants { mq = mq.filter(\.$tenantARS ~~ Array(only)) }
        var byTenant: [String: Membership] = [:]
        for m in try await mq.all() { byTenant[m.tenantARS] = m }
        return units.map { g in
            let m = byTenant[g.ars]
            return OverviewRow(ars: g.ars, name: g.name, ebene: g.level, typ: g.typeName, kreisArs: g.kreisARS,
                               kreisName: g.level == "land" ? g.name : (kreisName[g.kreisARS] ?? g.kreisARS),
                               status: m?.status ?? MembershipStatus.none.rawValue, antragsdatum: m?.appliedOn,
                               ratsbeschluss: m?.councilResolution, ratsbeschlussDatum: m?.councilResolutionOn,
                               anteilCent: m?.shareCents, wirksamAb: m?.effectiveFrom,
                               entscheidungsgrund: m?.decisionReason, kuendigungZum: m?.effectiveUntil)
        }.sorted { ($0.kreisArs, $0.ars) < ($1.kreisArs, $1.ars) }
    }

    static func csv(_ rows: [OverviewRow]) -> String {
        let header = ["ars", "name", "ebene", "typ", "kreis_ars", "kreis_name", "status", "antragsdatum", "ratsbeschluss",
                      "ratsbeschluss_datum", "anteil_eur", "wirksam_ab", "kuendigung_zum"]
        return CSV.document([header] + rows.map { r in
            [r.ars, r.name, r.ebene, r.typ, r.kreisArs, r.kreisName, r.status, r.antragsdatum ?? "",
             r.ratsbeschluss ?? "", r.ratsbeschlussDatum ?? "",
             r.anteilCent.map { Money(cents: $0).decimalString } ?? "", r.wirksamAb ?? "", r.kuendigungZum ?? ""]
        })
    }
}
