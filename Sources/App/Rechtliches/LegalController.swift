import Fluent
import Vapor

/// Public legal pages, the accessibility feedback form, and the editors for the operator
/// (installation-wide texts) and tenant admins (their own texts where they are the controller).
struct LegalController {
    func addRoutes(to web: any RoutesBuilder) {
        for kind in LegalKind.allCases {
            web.get(PathComponent(stringLiteral: kind.path)) { req in try await show(req, kind) }
        }
        web.post("barrierefreiheit", "rueckmeldung", use: feedback)
        web.get("betrieb", "rechtstexte", use: operatorEditor)
        web.post("betrieb", "rechtstexte", use: operatorSave)
        web.get("mandanten", ":ars", "rechtstexte", use: tenantEditor)
        web.post("mandanten", ":ars", "rechtstexte", use: tenantSave)
    }

    struct PageView: Encodable {
        var kind: String; var heading: String; var blocks: [LegalTexts.Block]; var videos: [LegalTexts.Video]
        var demo: Bool; var tenant: String; var updated: String; var feedback: Bool; var sent: Bool
        var form: FeedbackForm
    }
    struct FeedbackForm: Content { var nachricht: String?; var kontakt: String?; var seite: String?; var mandant: String? }

    /// `?mandant=ARS`: the tenant's own text where it has one.
    static func tenantParam(_ req: Request) -> String? {
        guard let t = req.query[String.self, at: "mandant"], t.count >= 2, t.count <= 12, t.allSatisfy(\.isNumber) else { return nil }
        return t
    }

    /// The page the person came from (same host only), so a reported barrier names its page.
    static func referringPage(_ req: Request) -> String? {
        guard let ref = req.headers.first(name: .referer), let url = URL(string: ref), url.host == req.headers.first(name: .host)?.split(separator: ":").first.map(String.init) else { return nil }
        let local = url.path + (url.query.map { "?" + $0 } ?? "")
        return SafeRedirect.isLocalPath(local) ? local : nil
    }

    func show(_ req: Request, _ kind: LegalKind, form: FeedbackForm = FeedbackForm(), errors: [FieldError] = [], status: HTTPResponseStatus = .ok) async throws -> Response {
        let tenant = Self.tenantParam(req) ?? form.mandant
        let cur = try await LegalTexts.current(kind, lang: req.lang, tenant: tenant, on: req.db)
        let view = PageView(kind: kind.rawValue, heading: kind.title(req.lang),
                            blocks: kind == .gebaerdensprache ? [] : LegalTexts.blocks(cur.body),
                            videos: kind == .gebaerdensprache ? LegalTexts.videos(cur.body) : [],
                            demo: cur.isDemo, tenant: cur.tenantARS,
                            updated: cur.updatedAt.map { GermanTime.format($0, english: req.lang == .en) } ?? "",
                            feedback: kind == .barrierefreiheit, sent: req.query[String.self, at: "gesendet"] == "1",
                            form: FeedbackForm(nachricht: form.nachricht, kontakt: form.kontakt, seite: form.seite ?? req.query[String.self, at: "seite"] ?? Self.referringPage(req), mandant: tenant))
        return try await req.render("rechtliches/seite", title: kind.title(req.lang), view, errors: errors, status: status, form: kind == .barrierefreiheit)
    }

    /// The feedback mechanism the accessibility statement must offer: stored, audited, mailed to
    /// the operator's address through the outbox.
    @Sendable func feedback(req: Request) async throws -> Response {
        let form = (try? req.content.decode(FeedbackForm.self)) ?? FeedbackForm()
        let message = (form.nachricht ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let contact = String((form.kontakt ?? "").trimmingCharacters(in: .whitespacesAndNewlines).prefix(200))
        let page = SafeRedirect.localPath(form.seite, fallback: "")
        var errors: [FieldError] = []
        if message.isEmpty { errors.append(FieldError(field: "nachricht", message: req.lang == .en ? "Please describe the barrier." : "Bitte beschreiben Sie die Barriere.")) }
        else if message.count > 5000 { errors.append(FieldError(field: "nachricht", message: req.lang == .en ? "At most 5,000 characters." : "Höchstens 5.000 Zeichen.")) }
        if message.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\r" && $0 != "\t" }) {
            errors.append(FieldError(field: "nachricht", message: req.lang == .en ? "The text contains control characters." : "Der Text enthält unzulässige Steuerzeichen."))
        }
        guard errors.isEmpty else { return try await show(req, .barrierefreiheit, form: form, errors: errors, status: .unprocessableEntity) }
        let tenant = form.mandant.flatMap { $0.count <= 12 && $0.allSatisfy(\.isNumber) ? $0 : nil } ?? ""
        let to = req.application.rathaus.mailFrom
        try await req.db.transaction { db in
            let f = AccessibilityFeedback()
            f.tenantARS = tenant; f.page = page; f.message = message; f.contact = contact; f.createdAt = Date()
            try await f.create(on: db)
            let id = try f.requireID().uuidString
            try await Audit.record(on: db, actor: "oeffentlich", actorID: nil, tenant: tenant.isEmpty ? nil : tenant, action: "barrierefreiheit.rueckmeldung",
                                   objectType: "rueckmeldung", objectID: id, before: nil, after: page)
            try await Outbox.enqueue(on: db, key: "barriere-\(id)", to: to, subject: "Rückmeldung zur Barrierefreiheit",
                                     body: "Seite: \(page.isEmpty ? "–" : page)\nKontakt: \(contact.isEmpty ? "–" : contact)\n\n\(message)")
        }
        return req.redirect(to: "/barrierefreiheit?gesendet=1" + (tenant.isEmpty ? "" : "&mandant=\(tenant)"), redirectType: .normal)
    }

    // MARK: editors

    struct Opt: Encodable { var value: String; var label: String; var selected: Bool }
    struct FeedbackRow: Encodable { var created: String; var page: String; var message: String; var contact: String }
    struct EditorView: Encodable {
        var action: String; var scope: String; var kinds: [Opt]; var langs: [Opt]; var body: String; var version: Int; var demo: Bool
        var saved: Bool; var feedback: [FeedbackRow]; var hasFeedback: Bool; var preview: String
    }
    struct EditForm: Content { var art: String?; var sprache: String?; var text: String? }

    func editor(_ req: Request, tenant: String, action: String, scope: String, form: EditForm? = nil, errors: [FieldError] = [], status: HTTPResponseStatus = .ok) async throws -> Response {
        let kind = LegalKind(rawValue: form?.art ?? req.query[String.self, at: "art"] ?? "") ?? .impressum
        let lang = (form?.sprache ?? req.query[String.self, at: "sprache"]) == "en" ? "en" : "de"
        let own = try await LegalText.query(on: req.db).filter(\.$tenantARS == tenant).filter(\.$kind == kind.rawValue)
            .filter(\.$lang == lang).sort(\.$version, .descending).first()
        let fallback = try await LegalTexts.current(kind, lang: lang == "en" ? .en : .de, tenant: tenant.isEmpty ? nil : tenant, on: req.db)
        var q = AccessibilityFeedback.query(on: req.db).sort(\.$createdAt, .descending).limit(20)
        if !tenant.isEmpty { q = q.filter(\.$tenantARS == tenant) }
        let fb = try await q.all().map {
            FeedbackRow(created: GermanTime.format($0.createdAt, english: req.lang == .en), page: $0.page, message: $0.message, contact: $0.contact)
        }
        let view = EditorView(action: action, scope: scope,
                              kinds: LegalKind.allCases.map { Opt(value: $0.rawValue, label: $0.title(req.lang), selected: $0 == kind) },
                              langs: [Opt(value: "de", label: "Deutsch", selected: lang == "de"), Opt(value: "en", label: "English", selected: lang == "en")],
                              body: form?.text ?? own?.body ?? fallback.body, version: own?.version ?? 0, demo: own == nil,
                              saved: req.query[String.self, at: "gespeichert"] == "1", feedback: fb, hasFeedback: !fb.isEmpty,
                              preview: "/\(kind.path)" + (tenant.isEmpty ? "" : "?mandant=\(tenant)"))
        return try await req.render("rechtliches/bearbeiten", title: req.t("legal_edit_title"), view, errors: errors, status: status, form: true)
    }

    func save(_ req: Request, tenant: String, back: String, action: String, scope: String) async throws -> Response {
        let form = (try? req.content.decode(EditForm.self)) ?? EditForm()
        guard let kind = LegalKind(rawValue: form.art ?? "") else {
            return try await editor(req, tenant: tenant, action: action, scope: scope, form: form,
                                    errors: [FieldError(field: "art", message: req.lang == .en ? "Please choose a page." : "Bitte wählen Sie eine Seite.")], status: .unprocessableEntity)
        }
        let lang = form.sprache == "en" ? "en" : "de"
        do {
            let text = try TextInput.required(form.text, field: "text", label: "den Text", max: 50_000)
            try await LegalTexts.save(req, kind: kind, lang: lang, tenant: tenant, body: text)
        } catch let e as AppError {
            return try await editor(req, tenant: tenant, action: action, scope: scope, form: form,
                                    errors: [FieldError(field: "text", message: req.lang == .en ? e.messageEN : e.messageDE)], status: e.status)
        }
        return req.redirect(to: "\(back)?art=\(kind.rawValue)&sprache=\(lang)&gespeichert=1", redirectType: .normal)
    }

    @Sendable func operatorEditor(req: Request) async throws -> Response {
        try req.authorize(.legalTextsEdit)
        return try await editor(req, tenant: "", action: "/betrieb/rechtstexte", scope: req.t("legal_scope_installation"))
    }

    @Sendable func operatorSave(req: Request) async throws -> Response {
        try req.authorize(.legalTextsEdit)
        return try await save(req, tenant: "", back: "/betrieb/rechtstexte", action: "/betrieb/rechtstexte", scope: req.t("legal_scope_installation"))
    }

    static func tenant(_ req: Request) async throws -> Gebiet {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(.legalTextsEdit, tenant: ars)
        guard let g = try await Gebiet.find(ars, on: req.db) else { throw AppError.notFound }
        return g
    }

    @Sendable func tenantEditor(req: Request) async throws -> Response {
        let g = try await Self.tenant(req)
        return try await editor(req, tenant: g.ars, action: "/mandanten/\(g.ars)/rechtstexte", scope: g.name)
    }

    @Sendable func tenantSave(req: Request) async throws -> Response {
        let g = try await Self.tenant(req)
        return try await save(req, tenant: g.ars, back: "/mandanten/\(g.ars)/rechtstexte", action: "/mandanten/\(g.ars)/rechtstexte", scope: g.name)
    }
}
