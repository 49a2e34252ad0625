import Fluent
import Forms
import Vapor
import RathausCore

/// Catalogue of online services (public), the service page with "apply online" or "go to this
/// office", activation by a municipality, and publication by the state.
struct OnlineServiceController {
    func addRoutes(api: any RoutesBuilder, web: any RoutesBuilder) {
        api.get("onlinedienste", use: apiList)
        api.get("onlinedienste", ":slug", use: apiDefinition)
        api.post("onlinedienste", ":slug", "pruefen", use: apiValidate)
        api.post("onlinedienste", use: apiPublish)
        web.get("onlinedienste", use: list)
        web.get("onlinedienste", ":slug", use: page)
        web.post("onlinedienste", ":slug", "antrag", use: start)
        web.post("onlinedienste", ":slug", "gast", use: startAsGuest)
        web.get("antraege", "gast", ":token", use: guestLink)
        web.get("mandanten", ":ars", "onlinedienste", use: tenantList)
        web.post("mandanten", ":ars", "onlinedienste", ":slug", use: tenantSave)
        web.get("land", "onlinedienste", use: stateList)
        web.post("land", "onlinedienste", use: statePublish)
    }

    // MARK: availability

    struct Availability {
        var version: ServiceVersion
        var definition: ServiceDefinition
        var responsibility: PlaceResponsibility?
        var activation: ServiceActivation?
        /// The office that receives online applications (the activation's choice or the responsible office).
        var receivingOffice: ResolvedOffice?
        var online: Bool { activation?.active == true && receivingOffice != nil }
    }

    static func availability(_ slug: String, placeARS: String?, req: Request) async throws -> Availability {
        guard let v = try await OnlineServiceCatalogue.latest(slug, on: req.db) else { throw AppError.notFound }
        let d = try v.decoded()
        var a = Availability(version: v, definition: d)
        guard let placeARS, !placeARS.isEmpty else { return a }
        let r = try await req.application.responsibility.responsibility(leika: d.leika, placeARS: placeARS, on: req)
        a.responsibility = r
        if let tenant = r.office?.tenantARS,
           let act = try await ServiceActivation.of(tenant, slug, on: req.db) {
            a.activation = act
            if let oid = act.officeID { a.receivingOffice = try await req.application.responsibility.office(oid, on: req) }
            if a.receivingOffice == nil { a.receivingOffice = r.office }
        }
        return a
    }

    // MARK: API

    struct ServiceDTO: Content {
        var kennung: String; var version: Int; var leika: String; var titel: String; var titelEN: String?; var beschreibung: String
        var vertrauensniveau: String; var gebuehr: FeeRule; var url: String
        var angeboten: Bool?; var mandant: String?; var behoerde: String?; var gebuehrCentOrt: Int?
    }
    struct ServiceList: Content { var items: [ServiceDTO]; var total: Int; var ars: String? }

    static func dto(_ v: ServiceVersion, _ d: ServiceDefinition, base: String) -> ServiceDTO {
        ServiceDTO(kennung: v.slug, version: v.version, leika: d.leika, titel: d.title.de, titelEN: d.title.en, beschreibung: d.summary.de,
                   vertrauensniveau: d.trustLevel, gebuehr: d.fee, url: "\(base)/onlinedienste/\(v.slug)")
    }

    /// `GET /api/v1/onlinedienste[?ars=]`: all services; with `ars`, what that place offers online.
    @Sendable func apiList(req: Request) async throws -> ServiceList {
        let ars = req.queryParams["ars"].flatMap { $0.isEmpty ? nil : $0 }
        if let ars { do { _ = try ARS(ars) } catch { throw AppError(.badRequest, error, field: "ars") } }
        let base = req.application.rathaus.publicURL
        var items: [ServiceDTO] = []
        for v in try await OnlineServiceCatalogue.latest(on: req.db) {
            let d = try v.decoded()
            var dto = Self.dto(v, d, base: base)
            if let ars {
                let a = try await Self.availability(v.slug, placeARS: ars, req: req)
                dto.angeboten = a.online
                dto.mandant = a.responsibility?.office?.tenantARS
                dto.behoerde = (a.online ? a.receivingOffice : a.responsibility?.office)?.name
                dto.gebuehrCentOrt = a.activation?.feeCents
                dto.url += "?ars=\(ars)"
                if req.queryParams["nurAngeboten"] == "true", !a.online { continue }
            }
            items.append(dto)
        }
        return ServiceList(items: items, total: items.count, ars: ars)
    }

    @Sendable func apiDefinition(req: Request) async throws -> Response {
        guard let v = try await OnlineServiceCatalogue.latest(req.parameters.get("slug") ?? "", on: req.db) else { throw AppError.notFound }
        let res = Response(status: .ok, body: .init(string: v.definition))
        res.headers.contentType = .json
        return res
    }

    struct ValidateResult: Content { var gueltig: Bool; var fehler: [Issue]; var gebuehrCent: Int?; struct Issue: Content { var feld: String; var code: String; var meldung: String } }

    /// `POST /api/v1/onlinedienste/{slug}/pruefen`: validates answers with the same engine the
    /// web form uses (for outside portals and specialist software).
    @Sendable func apiValidate(req: Request) async throws -> ValidateResult {
        guard let v = try await OnlineServiceCatalogue.latest(req.parameters.get("slug") ?? "", on: req.db) else { throw AppError.notFound }
        let d = try v.decoded()
        let answers: Answers
        do { answers = try req.content.decode(Answers.self) } catch {
            throw AppError(.badRequest, "bad_request", de: "Die Angaben müssen ein JSON-Objekt aus Feldkennungen und Antworten sein.", en: "Answers must be a JSON object.")
        }
        let e = AntragService.engine(d)
        let n = e.normalize(answers)
        let issues = e.validate(n)
        let fee = issues.isEmpty ? try? d.fee.cents(for: n) : nil
        return ValidateResult(gueltig: issues.isEmpty, fehler: issues.map { .init(feld: $0.path, code: $0.code, meldung: $0.de) }, gebuehrCent: fee)
    }

    /// `POST /api/v1/onlinedienste` (state editors' token with scope operator, or the Land's staff in
    /// the web): publishes a definition as the next version.
    @Sendable func apiPublish(req: Request) async throws -> Response {
        try req.authorize(.servicePublish)
        let d: ServiceDefinition
        do { d = try req.content.decode(ServiceDefinition.self) } catch {
            throw AppError(.badRequest, "bad_request", de: "Die Dienstbeschreibung ist kein gültiges JSON nach dem Schema der Onlinedienste.", en: "Not a valid service definition.")
        }
        let v = try await OnlineServiceCatalogue.publish(d, by: req.principal.auditActor, actorID: req.principal.actorID, on: req.db)
        let res = try await Self.dto(v, try v.decoded(), base: req.application.rathaus.publicURL).encodeResponse(status: .created, for: req)
        return res
    }

    // MARK: public pages

    struct ListRow: Encodable { var slug: String; var title: String; var summary: String; var leika: String; var offered: Bool; var office: String; var link: String }
    struct ListView: Encodable { var rows: [ListRow]; var ars: String; var place: String; var hasPlace: Bool; var choice: PlaceChoice }

    @Sendable func list(req: Request) async throws -> Response {
        let choice = try await PlaceChoice.from(req)
        let ars = choice.ars
        var rows: [ListRow] = []
        var place = ""
        for v in try await OnlineServiceCatalogue.latest(on: req.db) {
            let d = try v.decoded()
            var row = ListRow(slug: v.slug, title: d.title.text(req.lang.rawValue), summary: d.summary.text(req.lang.rawValue), leika: d.leika, offered: false, office: "",
                              link: "/onlinedienste/\(v.slug)")
            if !ars.isEmpty, let a = try? await Self.availability(v.slug, placeARS: ars, req: req) {
                row.offered = a.online
                row.office = (a.online ? a.receivingOffice : a.responsibility?.office)?.name ?? ""
                row.link += "?ars=\(ars)"
                place = a.responsibility?.placeName ?? ""
            }
            rows.append(row)
        }
        // offered services first once the place is known
        if !ars.isEmpty { rows.sort { $0.offered && !$1.offered } }
        let view = ListView(rows: rows, ars: ars, place: place, hasPlace: !place.isEmpty, choice: choice)
        if let e = choice.error {
            return try await req.render("onlinedienste/liste", title: req.t("os_list_title"), view, errors: [FieldError(field: "ort", message: e)], status: .unprocessableEntity)
        }
        return try await req.render("onlinedienste/liste", title: req.t("os_list_title"), view)
    }

    struct PageView: Encodable {
        var slug: String; var title: String; var summary: String; var leika: String; var trust: String; var fee: String
        var documents: [String]; var ars: String; var hasPlace: Bool; var place: String
        var online: Bool; var office: ResolvedOffice?; var localText: String; var contact: String
        var loggedIn: Bool; var trustOK: Bool; var hasConsent: Bool; var prefillPossible: Bool
        var loginLink: String; var guests: Bool; var guestSent: Bool; var guestEmail: String
        var choice = PlaceChoice()
        var legalBasis = ""
        var feeIsDemo = false
    }

    static func feeText(_ d: ServiceDefinition, activation: ServiceActivation?) -> String {
        let en = DisplayLanguage.english
        func eur(_ c: Int?) -> String { Money(cents: Int64(c ?? 0)).formatted }
        if let c = activation?.feeCents { return eur(c) }
        switch d.fee.kind {
        case "keine": return en ? "no fee" : "keine Gebühr"
        case "fest": return eur(d.fee.cents)
        case "pro_eintrag": return en ? "\(eur(d.fee.base)) plus \(eur(d.fee.cents)) per further entry" : "\(eur(d.fee.base)) zuzüglich \(eur(d.fee.cents)) je weiterem Eintrag"
        default: return en ? "calculated from your answers; you see the amount before sending" : "nach Ihren Angaben berechnet; Sie sehen den Betrag vor dem Absenden"
        }
    }

    @Sendable func page(req: Request) async throws -> Response {
        let slug = req.parameters.get("slug") ?? ""
        let choice = try await PlaceChoice.from(req)
        let a = try await Self.availability(slug, placeARS: choice.ars.isEmpty ? nil : choice.ars, req: req)
        var v = try await view(req, a, ars: choice.ars)
        v.choice = choice
        if let e = choice.error {
            // an unknown place: the page without place, the field keeps what was typed, and why
            return try await req.render("onlinedienste/dienst", title: a.definition.title.text(req.lang.rawValue), v,
                                        errors: [FieldError(field: "ort", message: e)], status: .unprocessableEntity)
        }
        return try await req.render("onlinedienste/dienst", title: a.definition.title.text(req.lang.rawValue), v, form: true)
    }

    func view(_ req: Request, _ a: Availability, ars: String) async throws -> PageView {
        let d = a.definition
        let lang = req.lang.rawValue
        let me = req.principal.citizen
        let required = TrustLevel(rawValue: d.trustLevel) ?? .basisregistrierung
        var consent = false
        if let me {
            consent = try await Consent.query(on: req.db).filter(\.$userID == me.userID).filter(\.$serviceSlug == d.slug).filter(\.$withdrawnAt == nil).first() != nil
        }
        let back = "/onlinedienste/\(d.slug)" + (ars.isEmpty ? "" : "?ars=\(ars)")
        return PageView(slug: d.slug, title: d.title.text(lang), summary: d.summary.text(lang), leika: d.leika, trust: required.label,
                        fee: Self.feeText(d, activation: a.activation), documents: (d.documents ?? []).map { $0.text(lang) }, ars: ars,
                        hasPlace: a.responsibility != nil, place: a.responsibility?.placeName ?? "", online: a.online,
                        office: a.online ? a.receivingOffice : a.responsibility?.office, localText: a.activation?.localText ?? "",
                        contact: a.activation?.contact ?? "", loggedIn: me != nil, trustOK: (me?.trustLevel ?? .basisregistrierung) >= required,
                        hasConsent: consent, prefillPossible: d.form.allFields.contains { $0.field.prefill != nil },
                        loginLink: "/konto/anmelden?weiter=" + (back.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"),
                        guests: d.guestsAllowed == true && required == .basisregistrierung, guestSent: req.queryParams["link"] == "gesendet", guestEmail: "",
                        choice: PlaceChoice(text: a.responsibility?.placeName ?? "", ars: ars, name: a.responsibility?.placeName ?? ""),
                        legalBasis: d.legalBasis?.text(lang) ?? "", feeIsDemo: d.feeIsDemo == true && a.activation?.feeCents == nil)
    }

    /// Starts a draft for the signed-in person at the office that receives this service's
    /// applications for the chosen place.
    @Sendable func start(req: Request) async throws -> Response {
        let slug = req.parameters.get("slug") ?? ""
        let ars = ((try? req.content.get(String.self, at: "ars")) ?? "").trimmingCharacters(in: .whitespaces)
        guard let me = req.principal.citizen else {
            return req.redirect(to: "/konto/anmelden?weiter=" + ("/onlinedienste/\(slug)?ars=\(ars)".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"), redirectType: .normal)
        }
        let a = try await Self.availability(slug, placeARS: ars, req: req)
        guard a.online, let office = a.receivingOffice else {
            throw AppError(.conflict, "onlinedienst.not_offered", de: "Dieser Onlinedienst wird für \(a.responsibility?.placeName ?? "diesen Ort") nicht online angeboten. Bitte wenden Sie sich an die angegebene Stelle.",
                           en: "This service is not offered online for this place.")
        }
        let required = TrustLevel(rawValue: a.definition.trustLevel) ?? .basisregistrierung
        guard me.trustLevel >= required else {
            return req.redirect(to: "/konto/identifizieren?niveau=\(required.rawValue)&weiter=" + ("/onlinedienste/\(slug)?ars=\(ars)".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"), redirectType: .normal)
        }
        let wantsPrefill = (try? req.content.get(String.self, at: "vorausfuellen")) == "ja"
        let d = a.definition
        let draft = try await req.db.transaction { db -> Antrag in
            var answers: Answers = [:]
            var consent = try await Consent.query(on: db).filter(\.$userID == me.userID).filter(\.$serviceSlug == slug).filter(\.$withdrawnAt == nil).first()
            if wantsPrefill, consent == nil {
                let c = Consent()
                c.userID = me.userID; c.serviceSlug = slug; c.grantedAt = Date()
                try await c.create(on: db)
                consent = c
                try await Audit.record(on: db, actor: "konto:\(me.email)", actorID: me.userID.uuidString, tenant: nil, action: "konto.consent_grant",
                                       objectType: "einwilligung", objectID: slug, before: nil, after: "erteilt")
            }
            if consent != nil, let p = try await Profile.query(on: db).filter(\.$userID == me.userID).first() {
                for (_, f) in d.form.allFields {
                    guard let key = f.prefill, let seed = p.value(key) else { continue }
                    switch seed {
                    case .text(let t): answers[f.id] = .text(t)
                    case .record(let r): answers[f.id] = .record(r)
                    }
                }
            }
            let x = Antrag()
            x.tenantARS = office.tenantARS
            x.tenantName = office.tenantName
            x.slug = slug
            x.version = a.version.version
            x.serviceTitle = d.title.de
            x.applicantID = me.userID
            x.applicantName = me.name
            x.applicantEmail = me.email
            x.officeID = office.id
            x.officeName = office.name
            x.status = Antrag.draft
            x.setAnswers(answers)
            x.feeCents = 0
            x.notifyByEmail = true
            x.assigneeName = ""
            x.createdAt = Date()
            x.updatedAt = Date()
            try await x.create(on: db)
            return x
        }
        return req.redirect(to: "/konto/antraege/\(try draft.requireID())/schritt/\(d.form.steps.first?.id ?? "")", redirectType: .normal)
    }

    // MARK: applying without an account

    /// Services that allow it can be applied for without a Servicekonto: the draft is created for
    /// the e-mail address and reached by a single-use link (48 hours) sent there. Asking again for
    /// the same service and address re-sends a link to the open draft instead of making a new one.
    @Sendable func startAsGuest(req: Request) async throws -> Response {
        let slug = req.parameters.get("slug") ?? ""
        let ars = ((try? req.content.get(String.self, at: "ars")) ?? "").trimmingCharacters(in: .whitespaces)
        let email = ((try? req.content.get(String.self, at: "email")) ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let a = try await Self.availability(slug, placeARS: ars, req: req)
        guard a.definition.guestsAllowed == true, (TrustLevel(rawValue: a.definition.trustLevel) ?? .hoch) == .basisregistrierung else {
            throw AppError(.forbidden, "onlinedienst.account_required", de: "Für diesen Onlinedienst brauchen Sie ein Servicekonto.", en: "This service needs an account.")
        }
        guard a.online, let office = a.receivingOffice else {
            throw AppError(.conflict, "onlinedienst.not_offered", de: "Dieser Onlinedienst wird für \(a.responsibility?.placeName ?? "diesen Ort") nicht online angeboten. Bitte wenden Sie sich an die angegebene Stelle.",
                           en: "This service is not offered online for this place.")
        }
        guard FormEngine.emailOK(email) else {
            var v = try await view(req, a, ars: ars)
            v.guestEmail = email
            return try await req.render("onlinedienste/dienst", title: a.definition.title.text(req.lang.rawValue), v,
                                        errors: [FieldError(field: "gast-email", message: "Bitte geben Sie eine gültige E-Mail-Adresse an, z. B. name@beispiel.de.")],
                                        status: .unprocessableEntity, form: true)
        }
        let base = req.application.rathaus.publicURL
        let d = a.definition, version = a.version.version
        try await req.db.transaction { db in
            let existing = try await Antrag.query(on: db).filter(\.$applicantID == nil).filter(\.$applicantEmail == email)
                .filter(\.$slug == slug).filter(\.$status == Antrag.draft).first()
            let draft: Antrag
            if let existing { draft = existing } else {
                draft = Antrag()
                draft.tenantARS = office.tenantARS; draft.tenantName = office.tenantName; draft.slug = slug; draft.version = version
                draft.serviceTitle = d.title.de; draft.applicantID = nil; draft.applicantName = email; draft.applicantEmail = email
                draft.officeID = office.id; draft.officeName = office.name; draft.status = Antrag.draft; draft.setAnswers([:])
                draft.feeCents = 0; draft.notifyByEmail = true; draft.assigneeName = ""; draft.createdAt = Date(); draft.updatedAt = Date()
                try await draft.create(on: db)
            }
            let token = try await AccountToken.issue(on: db, user: try draft.requireID(), purpose: .draft, lifetime: ServicekontoController.verifyLifetime)
            try await Outbox.enqueue(on: db, key: "gast-\(token.prefix(16))", to: email, subject: "Ihr Antrag: \(d.title.de)",
                                     body: "Guten Tag,\n\nüber diesen Link setzen Sie Ihren Antrag „\(d.title.de)“ bei \(office.name) fort (48 Stunden gültig, einmal verwendbar):\n\(base)/antraege/gast/\(token)\n\nFalls Sie das nicht angefordert haben, ignorieren Sie diese Nachricht.\n\nDiese Nachricht wurde automatisch erstellt.")
        }
        return req.redirect(to: "/onlinedienste/\(slug)?ars=\(ars)&link=gesendet", redirectType: .normal)
    }

    /// The guest's one-time link: binds the draft to this browser session.
    @Sendable func guestLink(req: Request) async throws -> Response {
        let token = req.parameters.get("token") ?? ""
        guard let id = try await req.db.transaction({ db in try await AccountToken.redeem(on: db, token, purpose: .draft) }),
              let draft = try await Antrag.find(id, on: req.db), draft.applicantID == nil else {
            return try await req.render("konto/hinweis", title: req.t("sk_verify_invalid_title"),
                                        ServicekontoController.Notice(heading: req.t("sk_verify_invalid_title"), text: req.t("os_guest_link_invalid"),
                                                                      link: "/onlinedienste", linkText: req.t("os_list_title")), status: .gone)
        }
        var list = ApplicantController.guestDrafts(req).filter { $0 != id.uuidString }
        list.append(id.uuidString)
        req.session.data["gast"] = list.suffix(10).joined(separator: ",")
        return req.redirect(to: "/konto/antraege/\(id)/weiter", redirectType: .normal)
    }

    // MARK: tenant activation

    struct ActRow: Encodable {
        var slug: String; var title: String; var leika: String; var version: Int; var active: Bool; var officeOptions: [Opt]
        var fee: String; var stateFee: String; var localText: String; var contact: String
        var policies: [Opt]; var haushaltsstelle: String; var kostentraeger: String; var objektnummer: String
        /// Where applications go: own inbox, FIT-Connect through routing, or a FIT-Connect destination.
        var delivery: [Opt] = []; var destinationID: String = ""
        struct Opt: Encodable { var id: String; var name: String; var selected: Bool }
    }
    struct TenantView: Encodable { var ars: String; var name: String; var rows: [ActRow]; var saved: String }

    @Sendable func tenantList(req: Request) async throws -> Response {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(.serviceActivate, tenant: ars)
        return try await req.render("onlinedienste/mandant", title: req.t("os_tenant_title"), try await tenantView(req, ars: ars), form: true)
    }

    func tenantView(_ req: Request, ars: String) async throws -> TenantView {
        let offices = try await req.application.responsibility.offices(ofTenant: ars, on: req)
        let acts = try await ServiceActivation.query(on: req.db).filter(\.$tenantARS == ars).all()
        var rows: [ActRow] = []
        for v in try await OnlineServiceCatalogue.latest(on: req.db) {
            let d = try v.decoded()
            let act = acts.first { $0.slug == v.slug }
            rows.append(ActRow(slug: v.slug, title: d.title.text(req.lang.rawValue), leika: d.leika, version: v.version, active: act?.active ?? false,
                               officeOptions: offices.map { .init(id: $0.id.uuidString, name: $0.name, selected: $0.id == act?.officeID) },
                               fee: act?.feeCents.map { Money(cents: Int64($0)).formatted.replacingOccurrences(of: " €", with: "") } ?? "",
                               stateFee: Self.feeText(d, activation: nil), localText: act?.localText ?? "", contact: act?.contact ?? "",
                               policies: [("keine", "keine Online-Zahlung"), ("vor_absenden", "vor dem Absenden"), ("nach_bescheid", "nach dem Bescheid")]
                                .map { .init(id: $0.0, name: $0.1, selected: $0.0 == (act?.policy ?? "keine")) },
                               haushaltsstelle: act?.haushaltsstelle ?? "", kostentraeger: act?.kostentraeger ?? "", objektnummer: act?.objektnummer ?? "",
                               delivery: [("posteingang", req.t("os_delivery_inbox")), ("routing", req.t("os_delivery_routing")), ("zustellpunkt", req.t("os_delivery_destination"))]
                                .map { .init(id: $0.0, name: $0.1, selected: $0.0 == Self.deliveryKind(act?.fitConnectDestination)) },
                               destinationID: act?.fitConnectDestination.flatMap { $0 == "routing" ? nil : $0 } ?? ""))
        }
        return TenantView(ars: ars, name: try await req.application.responsibility.tenantName(ars, on: req), rows: rows,
                          saved: req.queryParams["gespeichert"] ?? "")
    }

    static func deliveryKind(_ target: String?) -> String { target == nil ? "posteingang" : target == "routing" ? "routing" : "zustellpunkt" }

    @Sendable func tenantSave(req: Request) async throws -> Response {
        let ars = req.parameters.get("ars") ?? ""
        let slug = req.parameters.get("slug") ?? ""
        try req.authorize(.serviceActivate, tenant: ars)
        guard try await OnlineServiceCatalogue.latest(slug, on: req.db) != nil else { throw AppError.notFound }
        func s(_ k: String) -> String { ((try? req.content.get(String.self, at: k)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let active = s("aktiv") == "ja"
        var officeID: UUID? = nil
        if !s("behoerde").isEmpty {
            guard let id = UUID(uuidString: s("behoerde")), try await req.application.responsibility.offices(ofTenant: ars, on: req).contains(where: { $0.id == id }) else {
                throw AppError.invalid("behoerde", de: "Bitte wählen Sie eine Stelle Ihrer Verwaltung aus der Liste.", en: "Please choose one of your offices.")
            }
            officeID = id
        }
        var fee: Int? = nil
        if !s("gebuehr").isEmpty {
            do { fee = Int(try Money(parsing: s("gebuehr")).cents) } catch {
                throw AppError.invalid("gebuehr", de: "Die Gebühr ist kein Betrag. Bitte z. B. 12,50 eingeben oder leer lassen.", en: "The fee is not an amount.")
            }
            guard let f = fee, f >= 0, f <= 10_000_000 else { throw AppError.invalid("gebuehr", de: "Die Gebühr muss zwischen 0 und 100.000 € liegen.", en: "Fee out of range.") }
        }
        guard s("text").count <= 2000, s("kontakt").count <= 500 else { throw AppError.invalid("text", de: "Der Hinweistext ist zu lang (höchstens 2000 Zeichen).", en: "Too long.") }
        let actor = req.principal.auditActor, actorID = req.principal.actorID
        let text = s("text"), contact = s("kontakt")
        let office = officeID, localFee = fee
        let policy = ["keine", "vor_absenden", "nach_bescheid"].contains(s("zahlung")) ? s("zahlung") : "keine"
        let hh = String(s("haushaltsstelle").prefix(40)), kt = String(s("kostentraeger").prefix(40)), on = String(s("objektnummer").prefix(40))
        if policy != "keine", hh.isEmpty, (try await PaymentSettings.forTenant(ars, on: req.db)).haushaltsstelle.isEmpty {
            throw AppError.invalid("haushaltsstelle", de: "Für die Online-Zahlung braucht die Kasse eine Haushaltsstelle. Bitte tragen Sie sie ein.", en: "A budget item is needed for online payment.")
        }
        let delivery: String?
        switch s("zustellung") {
        case "", "posteingang": delivery = nil
        case "routing": delivery = "routing"
        case "zustellpunkt":
            guard !s("zustellpunkt").isEmpty else {
                throw AppError.invalid("zustellpunkt", de: "Bitte geben Sie die Zustellpunkt-ID der Empfangsstelle an.", en: "Please enter the destination id.")
            }
            delivery = try FITConnectSetup.target(s("zustellpunkt"))
        default:
            throw AppError.invalid("zustellung", de: "Bitte wählen Sie einen Zustellweg aus der Liste.", en: "Please choose a delivery from the list.")
        }
        if delivery != nil { try await FITConnectSetup.requireSender(ars, on: req.db) }
        try await req.db.transaction { db in
            let act = try await ServiceActivation.of(ars, slug, on: db) ?? ServiceActivation()
            let before = act.id == nil ? nil : (act.active ? "aktiv" : "inaktiv")
            let deliveryBefore = act.id == nil ? nil : act.fitConnectDestination
            act.fitConnectDestination = delivery
            act.tenantARS = ars; act.slug = slug; act.active = active; act.officeID = office; act.feeCents = localFee
            act.localText = text; act.contact = contact; act.updatedAt = Date(); act.updatedBy = actor
            act.feePolicy = policy; act.haushaltsstelle = hh; act.kostentraeger = kt; act.objektnummer = on
            try await act.save(on: db)
            try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: ars, action: active ? "onlinedienst.activate" : "onlinedienst.deactivate",
                                   objectType: "onlinedienst", objectID: slug, before: before, after: active ? "aktiv" : "inaktiv")
            if deliveryBefore != delivery {
                try await Audit.record(on: db, actor: actor, actorID: actorID, tenant: ars, action: "fitconnect.service", objectType: "onlinedienst",
                                       objectID: slug, before: deliveryBefore ?? "Posteingang", after: delivery ?? "Posteingang")
            }
        }
        return req.redirect(to: "/mandanten/\(ars)/onlinedienste?gespeichert=\(slug)", redirectType: .normal)
    }

    // MARK: state publication

    struct StateRow: Encodable { var slug: String; var title: String; var version: Int; var published: String; var by: String; var activations: Int }
    struct StateView: Encodable { var rows: [StateRow]; var json: String; var done: String }

    @Sendable func stateList(req: Request) async throws -> Response {
        try req.authorize(.servicePublish)
        return try await req.render("onlinedienste/land", title: req.t("os_state_title"), try await stateView(req, json: ""), form: true)
    }

    func stateView(_ req: Request, json: String) async throws -> StateView {
        var rows: [StateRow] = []
        for v in try await OnlineServiceCatalogue.latest(on: req.db) {
            let n = try await ServiceActivation.query(on: req.db).filter(\.$slug == v.slug).filter(\.$active == true).count()
            rows.append(StateRow(slug: v.slug, title: ((try? v.decoded())?.title.text(req.lang.rawValue)) ?? v.title, version: v.version, published: GermanTime.format(v.publishedAt), by: v.publishedBy, activations: n))
        }
        return StateView(rows: rows, json: json, done: req.queryParams["veroeffentlicht"] ?? "")
    }

    @Sendable func statePublish(req: Request) async throws -> Response {
        try req.authorize(.servicePublish)
        let json = (try? req.content.get(String.self, at: "definition")) ?? ""
        do {
            let d: ServiceDefinition
            do { d = try JSONDecoder().decode(ServiceDefinition.self, from: Data(json.utf8)) } catch {
                throw AppError.invalid("definition", de: "Die Dienstbeschreibung ist kein gültiges JSON nach dem Schema der Onlinedienste (siehe GET /api/v1/onlinedienste/{kennung}).", en: "Not a valid definition.")
            }
            let v = try await OnlineServiceCatalogue.publish(d, by: req.principal.auditActor, actorID: req.principal.actorID, on: req.db)
            return req.redirect(to: "/land/onlinedienste?veroeffentlicht=\(v.slug)-\(v.version)", redirectType: .normal)
        } catch var e as AppError {
            e.field = "definition"
            return try await req.renderError("onlinedienste/land", title: req.t("os_state_title"), try await stateView(req, json: json), e)
        }
    }
}
