import Fluent
import Foundation
import ISMS
import RathausCore
import Vapor

/// `GET /api/v1/isms/stand` (a tenant's token with scope `isms`: its own state) and
/// `GET /api/v1/isms/uebersicht` (the Land's token or staff: every tenant's counts, no answers).
struct ISMSAPIController {
    func addRoutes(to api: any RoutesBuilder) {
        api.get("isms", "stand", use: state)
        api.get("isms", "uebersicht", use: overview)
    }

    struct TopicDTO: Content { var id: String; var titel: String; var erfuelltPromille: Int; var offeneBasisAnforderungen: Int }
    struct RequirementDTO: Content { var id: String; var thema: String; var stufe: String; var status: String; var durchDienstleister: Bool; var geaendertSeitAntwort: Bool }
    struct MeasureDTO: Content { var anforderung: String; var titel: String; var faellig: String; var status: String; var kostenCent: Int64; var foerderantrag: String }
    struct StateDTO: Content {
        var ars: String; var name: String; var katalog: String; var katalogVersion: Int; var isbBenannt: Bool; var vertretungBenannt: Bool
        var erfuelltPromille: Int; var anforderungen: Int; var zutreffend: Int; var erfuellt: Int; var durchDienstleister: Int; var offeneBasisAnforderungen: Int
        var themen: [TopicDTO]; var stand: [RequirementDTO]; var massnahmen: [MeasureDTO]; var offeneVorfaelle: Int
    }

    /// A token is bound to its tenant; staff name the tenant with `?ars=`.
    @Sendable func state(req: Request) async throws -> StateDTO {
        let ars: String
        if case .apiClient(let t) = req.principal { ars = t.tenantARS } else {
            guard let a = req.query[String.self, at: "ars"], a.count <= 12, a.allSatisfy(\.isNumber) else {
                if case .anonymous = req.principal { throw AppError.unauthenticated }
                throw AppError.invalid("ars", de: "Bitte geben Sie den Regionalschlüssel der Verwaltung an (ars=…).", en: "Please give the tenant's key (ars=…).")
            }
            ars = a
        }
        try req.authorize(.ismsView, tenant: ars)
        let g = try await Tenants.tenant(ars, on: req.db)
        guard let ws = try await ISMSService.workspace(req.db, tenant: g.ars) else {
            throw AppError(.conflict, "isms.no_catalogue", de: "Es ist noch kein Prüfkatalog eingespielt.", en: "No check catalogue has been imported yet.")
        }
        let officer = try await ISMSOfficer.find(g.ars, on: req.db)
        let measures = try await ISMSMeasure.query(on: req.db).filter(\.$tenantARS == g.ars).sort(\.$dueOn).limit(1_000).all()
        let open = try await ISMSIncident.query(on: req.db).filter(\.$tenantARS == g.ars).filter(\.$status != ISMSIncidents.Status.closed.rawValue).count()
        let p = ws.progress
        return StateDTO(
            ars: g.ars, name: g.name, katalog: ws.catalogue.title, katalogVersion: ws.version.version, isbBenannt: officer?.isbUserID != nil,
            vertretungBenannt: officer?.deputyUserID != nil, erfuelltPromille: p.permille, anforderungen: p.total, zutreffend: p.applicable, erfuellt: p.fulfilled,
            durchDienstleister: p.inherited, offeneBasisAnforderungen: p.criticalOpen,
            themen: ws.byTopic.map { TopicDTO(id: $0.0.id, titel: $0.0.title, erfuelltPromille: $0.1.permille, offeneBasisAnforderungen: $0.1.criticalOpen) },
            stand: ws.items.map { RequirementDTO(id: $0.requirement.id, thema: $0.topic.id, stufe: $0.requirement.level.rawValue, status: $0.effective.status.rawValue,
                                                 durchDienstleister: $0.effective.inherited, geaendertSeitAntwort: $0.changedSinceAnswer) },
            massnahmen: measures.map { MeasureDTO(anforderung: $0.requirementID, titel: $0.title, faellig: $0.dueOn, status: $0.status, kostenCent: $0.costCents, foerderantrag: $0.fundingReference) },
            offeneVorfaelle: open)
    }

    struct RowDTO: Content { var ars: String; var name: String; var kreis: String; var isbBenannt: Bool; var erfuelltPromille: Int; var offeneBasisAnforderungen: Int; var beantwortet: Int; var vorfaelleImQuartal: Int }
    struct CountDTO: Content { var monat: String; var art: String; var anzahl: Int }
    struct OverviewDTO: Content { var items: [RowDTO]; var total: Int; var ohneISB: Int; var vorfaelle: [CountDTO] }

    @Sendable func overview(req: Request) async throws -> OverviewDTO {
        try req.authorize(.ismsOverview)
        let kreis = req.query[String.self, at: "kreis"]
        if let kreis, !(kreis.count == 5 && kreis.allSatisfy(\.isNumber)) {
            throw AppError.invalid("kreis", de: "kreis ist der fünfstellige Kreisschlüssel.", en: "kreis is the five-digit district key.")
        }
        let rows = try await ISMSController.overviewRows(req.db, kreis: nil).filter { kreis == nil || $0.ars.hasPrefix(kreis ?? "") }
        return OverviewDTO(items: rows.map { RowDTO(ars: $0.ars, name: $0.name, kreis: $0.kreis, isbBenannt: $0.hasISB, erfuelltPromille: $0.permille,
                                                    offeneBasisAnforderungen: $0.criticalOpen, beantwortet: $0.answered, vorfaelleImQuartal: $0.incidents) },
                           total: rows.count, ohneISB: rows.filter { !$0.hasISB }.count,
                           vorfaelle: try await ISMSIncidents.counts(req.db).map { CountDTO(monat: $0.month, art: $0.category.rawValue, anzahl: $0.count) })
    }
}
