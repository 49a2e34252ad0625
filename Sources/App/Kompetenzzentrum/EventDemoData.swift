import Fluent
import Vapor
import Events

/// Demo events of the competence centre (marked "Demo" in the title), relative to today so the
/// catalogue is never empty and never in the past.
enum EventDemoData {
    static func seed(_ app: Application) async throws {
        guard try await TrainingEvent.query(on: app.db).count() == 0 else { return }
        @Sendable func day(_ offset: Int) -> String { BusinessDate.today(Date().addingTimeInterval(Double(offset) * 86400)) }
        let demos: [(String, EventKind, String, String, Bool, Int, Int?, [(Int, String, String)], Bool, String)] = [
            ("Grundschulung Informationssicherheitsbeauftragte (Demo)", .course, "informationssicherheit",
             "Zwei Kurstage für angehende Informationssicherheitsbeauftragte: Aufgaben, Basis-Absicherung, Notfallvorsorge.",
             false, 12, 2, [(21, "09:00", "16:00"), (28, "09:00", "16:00")], true, "Informationssicherheitsbeauftragte/r (Grundschulung)"),
            ("E-Rechnung in der Kommune: Eingang, Prüfung, Freigabe (Demo)", .webinar, "e-rechnung",
             "Wie Rechnungen über die Leitweg-ID eingehen und im Vier-Augen-Prinzip freigegeben werden.",
             true, 100, nil, [(10, "10:00", "11:30")], false, ""),
            ("Anforderungsworkshop Onlinedienste 2027 (Demo)", .workshop, "ozg,digitalisierung",
             "Welche Onlinedienste brauchen die Kommunen als Nächstes? Gemeinsame Priorisierung.",
             false, 20, 3, [(35, "13:00", "17:00")], false, ""),
        ]
        for (title, kind, topics, summary, online, capacity, quota, sessions, qualifying, qualification) in demos {
            let e = TrainingEvent()
            e.id = UUID(); e.title = title; e.kind = kind.rawValue; e.summary = summary; e.topics = topics; e.audience = ""
            e.place = online ? "" : "Thüringer Landesverwaltungsamt, Weimarplatz 4, 99423 Weimar"; e.online = online
            e.onlineLink = online ? "https://konferenz.example.org/demo-e-rechnung" : ""; e.capacity = capacity; e.quotaPerTenant = quota
            e.deadline = EventFormat.instant(day: day(sessions[0].0 - 3), time: "23:59"); e.qualifying = qualifying; e.qualification = qualification
            e.feeCents = 0; e.feeHaushaltsstelle = ""
            e.status = "published"; e.seatLock = 0; e.createdBy = "system:demo"; e.createdAt = Date()
            try await app.db.transaction { db in
                try await e.create(on: db)
                for (i, s) in sessions.enumerated() {
                    guard let start = EventFormat.instant(day: day(s.0), time: s.1), let end = EventFormat.instant(day: day(s.0), time: s.2) else { continue }
                    let row = EventSessionRow()
                    row.eventID = try e.requireID(); row.idx = i; row.startsAt = start; row.endsAt = end; row.required = true
                    try await row.create(on: db)
                }
                try await Audit.record(on: db, actor: "system:demo", actorID: nil, tenant: nil, action: "event.create", objectType: "event",
                                       objectID: e.id?.uuidString ?? "", before: nil, after: title)
            }
        }
    }
}
