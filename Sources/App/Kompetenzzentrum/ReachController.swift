import Fluent
import Vapor
import Events
import RathausCore

/// Reach of the competence centre for its staff, the Land and the operator: per Kreis and per
/// tenant, events attended, people trained, certificates, visits, last contact, never reached.
struct ReachController {
    func addRoutes(to web: any RoutesBuilder) {
        web.get("kompetenzzentrum", "reichweite", use: show)
    }

    struct KreisView: Encodable { var name: String; var tenants: Int; var reached: Int; var percent: String; var events: Int; var people: Int; var certificates: Int; var visits: Int; var bar: Int; var textX: Int; var y: Int; var labelY: Int }
    struct TenantView: Encodable { var name: String; var kreis: String; var events: Int; var people: Int; var certificates: Int; var visits: Int; var last: String }
    struct View: Encodable {
        var kreise: [KreisView]; var reachedTenants: [TenantView]; var never: [TenantView]; var neverCount: Int; var total: Int; var reached: Int
        var people: Int; var certificates: Int; var topics: [EventController.Option]; var from: String; var to: String; var query: String; var chartHeight: Int
    }

    @Sendable func show(req: Request) async throws -> Response {
        try req.authorize(.reachView)
        let topic = req.query[String.self, at: "thema"].flatMap { EventTopic(rawValue: $0) }
        let from = try BusinessDate.parse(req.query[String.self, at: "von"], field: "von", label: "den Beginn des Zeitraums", required: false)
        let to = try BusinessDate.parse(req.query[String.self, at: "bis"], field: "bis", label: "das Ende des Zeitraums", required: false)
        let fromDate = from.flatMap(GermanTime.startOfDay) ?? .distantPast
        let toDate = to.flatMap(GermanTime.startOfDay)?.addingTimeInterval(86400) ?? .distantFuture
        let summary = try await Self.summary(on: req.db, topic: topic, from: fromDate, to: toDate)
        let english = req.lang == .en
        if req.query[String.self, at: "format"] == "csv" {
            var lines = [["ARS", "Kommune", "Kreis", "Veranstaltungen", "Personen geschult", "Bescheinigungen", "Vor-Ort-Termine", "Letzter Kontakt"]]
            for r in summary.tenants {
                lines.append([r.tenant.ars, r.tenant.name, r.tenant.kreisName, "\(r.events)", "\(r.people)", "\(r.certificates)", "\(r.visits)",
                              r.lastContact.map { EventFormat.day($0, english: false) } ?? "nie"])
            }
            let res = Response(status: .ok, body: .init(string: CSV.document(lines, delimiter: ";")))
            res.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
            res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"reichweite.csv\"")
            return res
        }
        func tv(_ r: Reach.TenantRow) -> TenantView {
            TenantView(name: r.tenant.name, kreis: r.tenant.kreisName, events: r.events, people: r.people, certificates: r.certificates, visits: r.visits,
                       last: r.lastContact.map { EventFormat.day($0) } ?? "")
        }
        let kreise = summary.kreise.enumerated().map { i, k in
            KreisView(name: k.kreisName, tenants: k.tenants, reached: k.reached,
                      percent: "\(k.reachedPerMille / 10)\(english ? "." : ",")\(k.reachedPerMille % 10) %",
                      events: k.events, people: k.people, certificates: k.certificates, visits: k.visits,
                      bar: k.reachedPerMille * 400 / 1000, textX: 246 + k.reachedPerMille * 400 / 1000, y: i * 22, labelY: i * 22 + 14)
        }
        let never = summary.tenants.filter { !$0.reached }
        var q: [String] = []
        if let topic { q.append("thema=\(topic.rawValue)") }
        if let from { q.append("von=\(from)") }
        if let to { q.append("bis=\(to)") }
        let view = View(kreise: kreise, reachedTenants: summary.tenants.filter(\.reached).map(tv), never: never.prefix(200).map(tv), neverCount: never.count,
                        total: summary.tenants.count, reached: summary.reached, people: summary.people, certificates: summary.certificates,
                        topics: EventTopic.allCases.map { EventController.Option(value: $0.rawValue, label: $0.label(english), selected: $0 == topic) },
                        from: from.map { CalendarDay.display($0, english: english) } ?? "", to: to.map { CalendarDay.display($0, english: english) } ?? "",
                        query: q.joined(separator: "&"), chartHeight: max(22, kreise.count * 22))
        return try await req.render("kompetenzzentrum/reichweite", title: req.t("reach_title"), view)
    }

    /// Every tenant of the Land (not dissolved) with what reached it in the period.
    static func summary(on db: any Database, topic: EventTopic?, from: Date, to: Date) async throws -> Reach.Summary {
        let tenants = try await Overview.rows(on: db).filter { $0.ebene != "land" }
            .map { Reach.Tenant(ars: $0.ars, name: $0.name, kreisARS: $0.kreisArs, kreisName: $0.kreisName) }
        var events = try await TrainingEvent.query(on: db).all()
        if let topic { events = events.filter { $0.topicList.contains(topic) } }
        let ids = events.compactMap(\.id)
        var participations: [Reach.Participation] = []
        if !ids.isEmpty {
            let firstDay = Dictionary(try await EventSessionRow.query(on: db).filter(\.$eventID ~~ ids).filter(\.$idx == 0).all().map { ($0.eventID, $0.startsAt) },
                                      uniquingKeysWith: { a, _ in a })
            let certified = Set(try await EventCertificate.query(on: db).filter(\.$eventID ~~ ids).filter(\.$revokedAt == nil).all().map(\.registrationID))
            for r in try await EventRegistration.query(on: db).filter(\.$eventID ~~ ids).filter(\.$status == "confirmed").all() {
                guard let day = firstDay[r.eventID], day >= from, day < to, let rid = r.id else { continue }
                participations.append(Reach.Participation(tenant: r.tenantARS, person: r.userID, event: r.eventID, date: day,
                                                          attended: !r.attendedSet.isEmpty, certified: certified.contains(rid)))
            }
        }
        // a visit counts when it took place (documented); topics of visits are free text, so the topic filter leaves them out
        var contacts: [Reach.Contact] = []
        if topic == nil {
            for v in try await SiteVisit.query(on: db).filter(\.$status == "documented").all() {
                guard let d = v.proposedStart, d >= from, d < to else { continue }
                contacts.append(Reach.Contact(tenant: v.tenantARS, date: d))
            }
        }
        return Reach.summarize(tenants: tenants, participations: participations, contacts: contacts)
    }
}
