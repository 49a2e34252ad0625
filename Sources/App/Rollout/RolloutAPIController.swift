import Fluent
import Vapor
import Rollout

/// `GET /api/v1/rollout`: the matrix with the same filters, as JSON (default) or CSV.
struct RolloutAPIController {
    func addRoutes(to api: any RoutesBuilder) {
        api.get("rollout", use: list)
    }

    struct Column: Content { var schluessel: String; var titel: String }
    struct Cell: Content { var schluessel: String; var inBetrieb: Bool; var angaben: String }
    struct Item: Content { var ars: String; var name: String; var ebene: String; var kreis: String; var kreisName: String; var mitgliedschaft: String; var faehigkeiten: [Cell] }
    struct Share: Content { var schluessel: String; var inBetrieb: Int; var gesamt: Int; var prozent: Int }
    struct Body: Content { var spalten: [Column]; var items: [Item]; var total: Int; var anteile: [Share] }

    @Sendable func list(req: Request) async throws -> Response {
        try req.authorize(.rolloutView)
        let m = try await RolloutService.matrix(req.application)
        let rows = RolloutAggregate.filter(m.rows, RolloutController.filter(req))
        let format = req.query[String.self, at: "format"] ?? "json"
        guard ["json", "csv"].contains(format) else {
            throw AppError.invalid("format", de: "format ist json oder csv.", en: "format is json or csv.")
        }
        if format == "csv" {
            let res = Response(status: .ok, body: .init(string: RolloutController.csv(m, rows)))
            res.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
            return res
        }
        let (total, _) = RolloutAggregate.shares(rows, capabilities: m.columns.map(\.key))
        let body = Body(spalten: m.columns.map { Column(schluessel: $0.key, titel: $0.titleDE) },
                        items: rows.map { r in Item(ars: r.ars, name: r.name, ebene: r.level, kreis: r.kreisARS, kreisName: r.kreisName, mitgliedschaft: r.membership,
                                                    faehigkeiten: m.columns.map { c in Cell(schluessel: c.key, inBetrieb: r.isLive(c.key), angaben: r.states[c.key]?.detail ?? "") }) },
                        total: rows.count,
                        anteile: m.columns.map { c in Share(schluessel: c.key, inBetrieb: total[c.key]?.live ?? 0, gesamt: total[c.key]?.total ?? 0, prozent: total[c.key]?.percent ?? 0) })
        return try await body.encodeResponse(for: req)
    }
}
