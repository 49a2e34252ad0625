import Fluent
import Vapor

/// The tenant's FIT-Connect page: its accesses to the Zustelldienst (secrets never shown), its
/// destinations with the public keys for the self-service portal, the applications its online
/// services delivered (status, attempts, verified event log) and the submissions it received
/// (case or the problem it was rejected for). Same action as activating online services.
struct FITConnectWebController {
    func addRoutes(to app: any RoutesBuilder) {
        let r = app.grouped("mandanten", ":ars", "fitconnect")
        r.get(use: page)
        r.post("zugang", use: saveAccount)
        r.get("zustellpunkte", ":id", "jwks.json", use: jwks)
    }

    struct AccountRow: Encodable { var role: String; var url: String; var tokenURL: String; var clientID: String; var updated: String; var by: String }
    struct DestinationRow: Encodable { var id: String; var office: String; var keys: String; var active: Bool; var created: String; var jwks: String }
    struct EventRow: Encodable { var kind: String; var at: String; var detail: String; var problem: Bool }
    struct OutboundRow: Encodable {
        var reference: String; var caseLink: String; var service: String; var destination: String; var status: String; var statusKey: String
        var attempts: Int; var next: String; var error: String; var submission: String; var events: [EventRow]; var created: String
    }
    struct InboundRow: Encodable {
        var submission: String; var destination: String; var status: String; var statusKey: String; var reference: String; var caseLink: String
        var problem: String; var reply: String; var at: String
    }
    struct ServiceRow: Encodable { var title: String; var target: String }
    struct Option: Encodable { var value: String; var label: String; var selected: Bool }
    struct View: Encodable {
        var ars: String; var name: String; var accounts: [AccountRow]; var roles: [Option]; var destinations: [DestinationRow]
        var outbound: [OutboundRow]; var inbound: [InboundRow]; var services: [ServiceRow]; var saved: Bool
        var form: Form
        struct Form: Encodable { var url = ""; var tokenURL = ""; var clientID = "" }
    }

    static func statusKey(_ status: String) -> String { "fc_status_" + status }

    func view(_ req: Request, ars: String, form: View.Form = .init()) async throws -> View {
        let en = req.lang == .en
        let accounts = try await FITConnectAccount.query(on: req.db).filter(\.$tenantARS == ars).sort(\.$role).all().map {
            AccountRow(role: req.t("fc_role_" + $0.role), url: $0.baseURL, tokenURL: $0.tokenURL, clientID: $0.clientID,
                       updated: GermanTime.format($0.updatedAt, english: en), by: $0.updatedBy)
        }
        let offices = try await req.application.responsibility.offices(ofTenant: ars, on: req)
        let destinations = try await FITConnectDestination.query(on: req.db).filter(\.$tenantARS == ars).sort(\.$createdAt).all().map { d in
            DestinationRow(id: d.destinationID, office: offices.first { $0.id == d.officeID }?.name ?? req.t("fc_first_office"),
                           keys: "\(d.encryptionKid), \(d.signingKid)", active: d.active, created: GermanTime.format(d.createdAt, english: en),
                           jwks: "/mandanten/\(ars)/fitconnect/zustellpunkte/\(d.destinationID)/jwks.json")
        }
        let out = try await FITConnectOutbound.query(on: req.db).filter(\.$tenantARS == ars).sort(\.$createdAt, .descending).limit(100).all()
        let inn = try await FITConnectInbound.query(on: req.db).filter(\.$tenantARS == ars).sort(\.$claimedAt, .descending).limit(100).all()
        let caseIDs = out.map(\.antragID) + inn.compactMap(\.antragID)
        let cases = caseIDs.isEmpty ? [] : try await Antrag.query(on: req.db).filter(\.$id ~~ caseIDs).filter(\.$tenantARS == ars).all()
        func ref(_ id: UUID?) -> (String, String) {
            guard let id, let a = cases.first(where: { $0.id == id }) else { return ("", "") }
            return (a.reference ?? "", "/mandanten/\(ars)/antraege/\(id)")
        }
        let outIDs = out.map(\.antragID)
        let events = outIDs.isEmpty ? [] : try await FITConnectEvent.query(on: req.db).filter(\.$tenantARS == ars).filter(\.$antragID ~~ outIDs)
            .sort(\.$issuedAt).all()
        let outbound = out.map { o -> OutboundRow in
            let (r, link) = ref(o.antragID)
            let evs = events.filter { $0.antragID == o.antragID }.map {
                EventRow(kind: req.t("fc_event_" + $0.kind), at: GermanTime.format($0.issuedAt, english: en), detail: $0.detail,
                         problem: $0.kind == "reject-submission")
            }
            return OutboundRow(reference: r, caseLink: link, service: cases.first { $0.id == o.antragID }?.serviceTitle ?? "",
                               destination: o.destination == "routing" ? req.t("fc_via_routing") : o.destination,
                               status: req.t(Self.statusKey(o.status)), statusKey: o.status, attempts: o.attempts,
                               next: o.status == "pending" || o.status == "submitted" ? GermanTime.format(o.nextAttemptAt, english: en) : "",
                               error: o.lastError ?? "", submission: o.submissionID ?? "", events: evs,
                               created: GermanTime.format(o.createdAt, english: en))
        }
        let inbound = inn.map { i -> InboundRow in
            let (r, link) = ref(i.antragID)
            var reply = ""
            if let rc = i.replyChannel, let bar = rc.firstIndex(of: "|") {
                reply = req.t("fc_reply_" + rc[..<bar]) + " " + rc[rc.index(after: bar)...]
            }
            return InboundRow(submission: i.submissionID, destination: i.destinationID, status: req.t("fc_in_" + i.status), statusKey: i.status,
                              reference: r, caseLink: link, problem: i.problem ?? "", reply: reply, at: GermanTime.format(i.claimedAt, english: en))
        }
        var services: [ServiceRow] = []
        for act in try await ServiceActivation.query(on: req.db).filter(\.$tenantARS == ars).filter(\.$fitConnectDestination != nil).all() {
            let title = try await OnlineServiceCatalogue.latest(act.slug, on: req.db).flatMap { try? $0.decoded().title.text(req.lang.rawValue) } ?? act.slug
            services.append(ServiceRow(title: title, target: act.fitConnectDestination == "routing" ? req.t("fc_via_routing") : act.fitConnectDestination ?? ""))
        }
        return View(ars: ars, name: try await req.application.responsibility.tenantName(ars, on: req), accounts: accounts,
                    roles: FITConnectSetup.roles.map { Option(value: $0, label: req.t("fc_role_" + $0), selected: false) },
                    destinations: destinations, outbound: outbound, inbound: inbound, services: services,
                    saved: req.queryParams["gespeichert"] != nil, form: form)
    }

    @Sendable func page(req: Request) async throws -> Response {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(.serviceActivate, tenant: ars)
        return try await req.render("zustellung/fitconnect", title: req.t("fc_title"), try await view(req, ars: ars), form: true)
    }

    @Sendable func saveAccount(req: Request) async throws -> Response {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(.serviceActivate, tenant: ars)
        func s(_ k: String) -> String { ((try? req.content.get(String.self, at: k)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let form = View.Form(url: String(s("url").prefix(300)), tokenURL: String(s("token_url").prefix(300)), clientID: String(s("client_id").prefix(200)))
        do {
            try await FITConnectSetup.saveAccount(req.application, tenant: ars, role: s("rolle"), url: s("url"), tokenURL: s("token_url"),
                                                  clientID: s("client_id"), secret: s("secret"),
                                                  actor: req.principal.auditActor, actorID: req.principal.actorID)
        } catch let e as AppError {
            // the secret is never sent back into the form
            return try await req.renderError("zustellung/fitconnect", title: req.t("fc_title"), try await view(req, ars: ars, form: form), e)
        }
        return req.redirect(to: "/mandanten/\(ars)/fitconnect?gespeichert=1", redirectType: .normal)
    }

    /// The destination's public keys (JWKS) for the Zustelldienst's self-service portal.
    @Sendable func jwks(req: Request) async throws -> Response {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(.serviceActivate, tenant: ars)
        let id = (req.parameters.get("id") ?? "").lowercased()
        guard let d = try await FITConnectDestination.query(on: req.db).filter(\.$destinationID == id).filter(\.$tenantARS == ars).first() else {
            throw AppError.notFound
        }
        let r = Response(status: .ok, body: .init(string: d.publicJWKS))
        r.headers.contentType = .json
        r.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"zustellpunkt-\(d.destinationID).jwks.json\"")
        return r
    }
}
