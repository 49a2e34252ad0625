import Fluent
import Vapor

/// `/demo/postausgang`: in demo mode the developer reads the outgoing mails (sent or not) here.
/// Outside demo mode the page does not exist.
struct DemoMailController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("demo", "postausgang", use: page)
    }

    struct Row: Encodable { var n: Int; var to: String; var subject: String; var body: String; var status: String; var created: String }
    struct View: Encodable { var rows: [Row]; var hasRows: Bool }

    @Sendable func page(req: Request) async throws -> Response {
        guard req.application.rathaus.demo else { throw AppError.notFound }
        let mails = try await OutboxMail.query(on: req.db).sort(\.$createdAt, .descending).limit(50).all()
        let rows = mails.enumerated().map { i, m in Row(n: i + 1, to: m.recipient, subject: m.subject, body: m.body, status: m.status, created: GermanTime.format(m.createdAt)) }
        return try await req.render("demo/postausgang", title: req.t("demo_mail_title"), View(rows: rows, hasRows: !rows.isEmpty))
    }
}
