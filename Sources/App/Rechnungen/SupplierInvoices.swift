import Fluent
import Vapor
import RathausCore

/// "Meine Rechnungen": the invoices a supplier sent while signed in with its Servicekonto
/// (for business accounts: those of every member of the company), with their processing status.
struct SupplierInvoicesController {
    func addRoutes(to web: any RoutesBuilder) {
        web.get("konto", "rechnungen", use: list)
    }

    struct Row: Encodable { var number: String; var leitweg: String; var received: String; var amount: String; var status: String; var reason: String }
    struct ListView: Encodable { var rows: [Row]; var empty: Bool; var company: String }

    @Sendable func list(req: Request) async throws -> Response {
        guard let me = req.principal.citizen else { return ServicekontoController.loginRedirect(req) }
        var accounts = [me.userID]
        var company = ""
        if let m = try await OrganisationMember.query(on: req.db).filter(\.$userID == me.userID).first() {
            accounts = try await OrganisationMember.query(on: req.db).filter(\.$organisationID == m.organisationID).all().map(\.userID)
            company = try await Organisation.find(m.organisationID, on: req.db)?.name ?? ""
        }
        let list = try await EInvoice.query(on: req.db).filter(\.$supplierAccountID ~~ accounts).sort(\.$receivedAt, .descending).limit(500).all()
        let rows = list.map { e in
            Row(number: e.invoiceNumber, leitweg: e.leitwegID, received: GermanTime.format(e.receivedAt), amount: Money(cents: e.amountDueCents).formatted,
                status: InvoiceStatus(rawValue: e.status)?.label ?? e.status, reason: e.rejectionReason ?? "")
        }
        return try await req.render("rechnungen/meine", title: req.t("inv_mine_title"), ListView(rows: rows, empty: rows.isEmpty, company: company))
    }
}
