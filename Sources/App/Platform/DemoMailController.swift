import Fluent
import Vapor

/// `/demo/postausgang`: in demo mode the developer reads the outgoing mails (sent or not) here.
/// Outside demo mode the page does not exist.
struct DemoMailController {
    func addRoutes(to app: any RoutesBuilder) {
        app.get("demo", "postausgang", use: page)
    }

    struct Row: Encodable { var to: String; var subject: String; var body: String; var status: String; var created: String }
    struct View: Encodable { var rows: [Row]; var hasRows: Bool }

    @Sendable func page(req: Request) async throws -> Response {
        guard req.application.rathaus.demo else { throw AppError.notFound }
        let mails = try await OutboxMail.query(on: req.db).sort(\.$createdAt, .descending).limit(50).all()
        let rows = mails.map { Row(to: $0.recipient, subject: $0.subject, body: $0.body, status: $0.status, created: GermanTime.format($0.createdAt)) }
        return try await req.render("demo/postausgang", title: req.t("demo_mail_title"), View(rows: rows, hasRows: !rows.isEmpty))
    }
}
