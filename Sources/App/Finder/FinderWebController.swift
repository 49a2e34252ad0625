import Fluent
import Vapor
import Finder
import RathausCore

/// The citizen's finder page, the embeddable snippet, service pages, and the tenant's pages for
/// offices and responsibilities.
struct FinderWebController {
    func addRoutes(to web: any RoutesBuilder) {
        web.get("finder", use: finder)
        web.get("einbetten", "finder", use: embed)
        web.get("leichte-sprache", "suche", use: easy)
        web.get("leistungen", ":key", use: servicePage)
        web.post("leistungen", ":key", "texte", use: saveText)
        let t = web.grouped("mandanten", ":ars")
        t.get("organisationseinheiten", use: offices)
        t.post("organisationseinheiten", use: createOffice)
        t.get("organisationseinheiten", ":id", use: editOffice)
        t.post("organisationseinheiten", ":id", use: updateOffice)
        t.get("zustaendigkeiten", use: entries)
        t.post("zustaendigkeiten", use: createEntry)
        t.post("zustaendigkeiten", ":id", "loeschen", use: deleteEntry)
    }

    struct ServiceLink: Encodable {
        var key: String; var name: String; var typisierung: String; var link: String
        /// The online service for this key at the chosen place, when the responsible tenant offers one.
        var online: OnlineLink? = nil
    }
    struct CandidateLink: Encodable { var name: String; var kreis: String; var link: String }
    struct HoursRow: Encodable { var day: String; var times: String }
    struct OfficeView: Encodable {
        var name: String; var kind: String; var street: String; var postalCode: String; var city: String
        var phone: String; var email: String; var website: String; var appointment: String; var accessibility: String
        var openNow: Bool; var nextOpening: String; var hours: [HoursRow]; var closures: [HoursRow]; var demo: Bool
        var areaName: String; var isDefault: Bool
    }
    struct TextView: Encodable { var label: String; var text: String }
    struct PathView: Encodable { var area: String; var level: String; var outcome: String }
    struct ResultView: Encodable {
        var service: ServiceLink
        var place: String
        var office: OfficeView?
        var contact: OfficeView?
        var texts: [TextView]
        var path: [PathView]
        /// The online service for this LeiKa key, when the responsible tenant has switched it on.
        var online: OnlineLink? = nil
    }
    struct OnlineLink: Encodable { var title: String; var link: String }
    struct FinderView: Encodable {
        var leistung: String
        var ort: String
        var services: [ServiceLink]
        var hasServices: Bool
        var candidates: [CandidateLink]
        var hasCandidates: Bool
        var result: ResultView?
        var message: String?
        var embed: Bool
    }

    static let dayNames = ["", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
    static let dayNamesEN = ["", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    static func officeView(_ o: Office.Snapshot, area: String, isDefault: Bool, now: Date) -> OfficeView {
        let en = DisplayLanguage.english
        let closed = en ? "closed" : "geschlossen"
        let hours = (1...7).map { d in
            HoursRow(day: (en ? dayNamesEN : dayNames)[d], times: (o.hours.weekly[d] ?? []).isEmpty ? closed : (o.hours.weekly[d] ?? []).map(\.text).joined(separator: ", "))
        }
        let today = BusinessDate.today(now)
        let closures = o.hours.exceptions.filter { $0.date >= today }.prefix(5).map {
            HoursRow(day: CalendarDay.display($0.date, english: en) + ($0.note.isEmpty ? "" : " (\($0.note))"), times: $0.intervals.isEmpty ? closed : $0.intervals.map(\.text).joined(separator: ", "))
        }
        var next = ""
        if let n = o.hours.nextOpening(after: now), !o.hours.isOpen(at: now) {
            let f = DateFormatter()
            f.locale = Locale(identifier: "de_DE")
            f.timeZone = TimeZone(identifier: "Europe/Berlin")
            if en { f.locale = Locale(identifier: "en_GB") }
            f.dateFormat = en ? "EEEE, d MMMM, HH:mm" : "EEEE, d. MMMM, HH:mm 'Uhr'"
            next = f.string(from: n)
        }
        return OfficeView(name: o.name, kind: o.kind, street: o.street, postalCode: o.postalCode, city: o.city, phone: o.phone,
                          email: o.email, website: o.website, appointment: o.appointmentURL, accessibility: o.accessibility,
                          openNow: o.hours.isOpen(at: now), nextOpening: next, hours: hours, closures: Array(closures), demo: o.isDemo,
                          areaName: area, isDefault: isDefault)
    }

    /// `base`: the page the links of the result lead to (the finder, the embedded finder or the
    /// finder in Leichte Sprache — one search for all three).
    func build(_ req: Request, embed: Bool, base: String? = nil) async throws -> FinderView {
        let snap = try await req.finderSnapshot()
        let leistung = String((req.query[String.self, at: "leistung"] ?? "").prefix(200))
        let ort = String((req.query[String.self, at: "ort"] ?? "").prefix(100))
        let explicitKey = req.query[String.self, at: "schluessel"]
        let explicitARS = req.query[String.self, at: "ars"]
        var view = FinderView(leistung: leistung, ort: ort, services: [], hasServices: false, candidates: [], hasCandidates: false,
                              result: nil, message: nil, embed: embed)
        func link(key: String, ars: String?) -> String {
            var q = ["schluessel=\(key)", "leistung=\(enc(leistung))", "ort=\(enc(ort))"]
            if let ars { q.append("ars=\(ars)") }
            return (base ?? (embed ? "/einbetten/finder?" : "/finder?")) + q.joined(separator: "&")
        }
        var chosen: Int32? = nil
        if let k = explicitKey, let i = snap.catalogue.index[k] { chosen = i }
        if !leistung.isEmpty {
            let hits = snap.catalogue.search.search(leistung, limit: 8)
            view.services = hits.map { h in
                let s = snap.catalogue.services[h.id]
                return ServiceLink(key: s.key.value, name: s.name, typisierung: s.typisierung, link: link(key: s.key.value, ars: explicitARS))
            }
            view.hasServices = !hits.isEmpty
            if chosen == nil, let first = hits.first { chosen = Int32(first.id) }
            if hits.isEmpty {
                view.message = req.t("finder_no_service")
                // what people look for and do not find, normalised and anonymous (roll-out monitor)
                await RolloutService.record(req.application, serviceKey: nil, tenant: nil, kreis: "", offerable: false, available: false, unfound: leistung)
            }
        }
        guard let service = chosen else { return view }
        let s = snap.catalogue.services[Int(service)]
        var area: Int32? = nil
        if let a = explicitARS, let i = snap.areaIndex[a] { area = i }
        else if !ort.isEmpty {
            switch snap.places.find(ort) {
            case .none: view.message = req.t("finder_no_place")
            case .one(let p): area = snap.areaIndex[p.ars]
            case .several(let list):
                view.candidates = list.map { CandidateLink(name: $0.name, kreis: $0.kreis, link: link(key: s.key.value, ars: $0.ars)) }
                view.hasCandidates = true
            }
        }
        guard let area else { return view }
        let now = Date()
        // every listed service with its online offer at this place: a search for "Hund" shows
        // Hundesteuer and Hundehaltung together, each with the service that handles it
        let offers = try await OnlineServiceCatalogue.byLeika(on: req.db)
        let placeARS = snap.areas[Int(area)].ars
        func onlineLink(_ service: Int32) async throws -> OnlineLink? {
            let r = snap.resolver.resolve(service: service, area: area, role: .responsible)
            guard r.office >= 0,
                  let offer = try await OnlineServiceCatalogue.offering(leika: snap.catalogue.services[Int(service)].key.value,
                                                                         tenant: snap.offices[Int(r.office)].tenantARS, index: offers, on: req.db) else { return nil }
            let title = (try? offer.decoded())?.title.text(req.lang.rawValue) ?? offer.title
            return OnlineLink(title: title, link: "/onlinedienste/\(offer.slug)?ars=\(placeARS)")
        }
        for i in view.services.indices {
            if let idx = snap.catalogue.index[view.services[i].key] { view.services[i].online = try await onlineLink(idx) }
            view.services[i].link = link(key: view.services[i].key, ars: placeARS)
        }
        let list = FinderService.resolve(snap, service: service, area: area, now: now)
        let responsible = snap.resolver.resolve(service: service, area: area, role: .responsible)
        let contact = snap.resolver.resolve(service: service, area: area, role: .contact)
        let tenants = [""] + snap.resolver.chain(of: area).map { snap.areas[Int($0)].ars }
        let texts = try await ServiceTexts.current(for: s.key.value, tenants: tenants, on: req.db)
        view.result = ResultView(
            service: ServiceLink(key: s.key.value, name: s.name, typisierung: s.typisierung, link: "/leistungen/\(s.key.value)"),
            place: snap.areas[Int(area)].name,
            office: responsible.office >= 0 ? Self.officeView(snap.offices[Int(responsible.office)], area: snap.areas[Int(responsible.area)].name, isDefault: responsible.isDefault, now: now) : nil,
            contact: contact.office >= 0 && !contact.isDefault ? Self.officeView(snap.offices[Int(contact.office)], area: snap.areas[Int(contact.area)].name, isDefault: false, now: now) : nil,
            texts: texts.map { TextView(label: req.t("module_\($0.module)"), text: $0.text + Self.fee($0)) },
            path: (list.items.first?.pfad ?? list.pfad ?? []).map { PathView(area: "\($0.name) (\($0.gebiet))", level: req.t("level_one_\($0.ebene)"), outcome: $0.ergebnis) })
        view.result?.online = try await onlineLink(service)
        if !leistung.isEmpty {
            // anonymous demand signal: service, place's Kreis, responsible tenant, online or not
            await RolloutService.record(req.application, serviceKey: s.key.value, tenant: responsible.office >= 0 ? snap.offices[Int(responsible.office)].tenantARS : nil,
                                        kreis: String(placeARS.prefix(5)), offerable: !(offers[s.key.value] ?? []).isEmpty, available: view.result?.online != nil, unfound: nil)
        }
        return view
    }

    static func fee(_ t: ServiceText) -> String {
        guard let min = t.feeMinCents else { return "" }
        let max = t.feeMaxCents ?? min
        return min == max ? " (\(Money(cents: min).formatted))" : " (\(Money(cents: min).formatted) bis \(Money(cents: max).formatted))"
    }

    private func enc(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "" }

    @Sendable func finder(req: Request) async throws -> Response {
        try await req.render("finder/search", title: req.t("finder_title"), try await build(req, embed: false))
    }

    /// The finder in Leichte Sprache: the same search, short sentences, one step at a time.
    @Sendable func easy(req: Request) async throws -> Response {
        try await req.render("finder/leicht", title: req.t("easy_search_title"), try await build(req, embed: false, base: "/leichte-sprache/suche?"))
    }

    /// A plain HTML fragment for municipal websites (no layout, frameable, no cookies needed).
    @Sendable func embed(req: Request) async throws -> Response {
        let page = try await req.page(title: req.t("finder_title"), try await build(req, embed: true))
        let res = try await req.view.render("finder/embed", page).encodeResponse(for: req)
        return res
    }

    struct ModuleOption: Encodable { var code: String; var label: String; var selected: Bool }
    struct ScopeOption: Encodable { var value: String; var label: String }
    struct TextForm: Content { var modul: String?; var geltung: String?; var text: String?; var gebuehrVon: String?; var gebuehrBis: String? }
    struct ServicePageView: Encodable {
        var service: LeistungDTO
        var texts: [TextView]
        var canEdit: Bool
        var modules: [ModuleOption]
        var scopes: [ScopeOption]
        var form: TextForm
        var saved: Bool
    }

    /// Where the signed-in person may write texts: statewide (state editors, operator) and/or their tenant.
    static func scopes(_ req: Request) -> [ScopeOption] {
        var out: [ScopeOption] = []
        if req.can(.serviceTextsEdit) { out.append(ScopeOption(value: "land", label: req.t("texts_statewide"))) }
        if let t = req.principal.staff?.tenantARS, req.can(.serviceTextsEdit, tenant: t) {
            out.append(ScopeOption(value: t, label: req.t("texts_local") + " " + t))
        }
        return out
    }

    func servicePageResponse(_ req: Request, form: TextForm = TextForm(), saved: Bool = false, error: AppError? = nil) async throws -> Response {
        let snap = try await req.finderSnapshot()
        let (_, s) = try FinderService.service(req.parameters.get("key"), in: snap, field: "key")
        var tenants = [""]
        if let t = req.principal.staff?.tenantARS { tenants.append(t) }
        let texts = try await ServiceTexts.current(for: s.key.value, tenants: tenants, on: req.db)
        let scopes = Self.scopes(req)
        let view = ServicePageView(service: LeistungDTO(s), texts: texts.map {
            TextView(label: req.t("module_\($0.module)") + ($0.tenantARS.isEmpty ? "" : " (\(req.t("texts_local")) \($0.tenantARS))"),
                     text: $0.text + Self.fee($0) + " · Version \($0.version)")
        }, canEdit: !scopes.isEmpty, modules: TextModule.allCases.map {
            ModuleOption(code: $0.rawValue, label: req.t("module_\($0.rawValue)"), selected: $0.rawValue == form.modul)
        }, scopes: scopes, form: form, saved: saved)
        if let error { return try await req.renderError("finder/service", title: s.name, view, error) }
        return try await req.render("finder/service", title: s.name, view, form: !scopes.isEmpty)
    }

    @Sendable func servicePage(req: Request) async throws -> Response {
        try await servicePageResponse(req, saved: req.query[String.self, at: "gespeichert"] == "1")
    }

    @Sendable func saveText(req: Request) async throws -> Response {
        let snap = try await req.finderSnapshot()
        let (_, s) = try FinderService.service(req.parameters.get("key"), in: snap, field: "key")
        let form = (try? req.content.decode(TextForm.self)) ?? TextForm()
        let scope = form.geltung ?? ""
        if scope == "land" { try req.authorize(.serviceTextsEdit) } else {
            guard !scope.isEmpty, req.principal.staff?.tenantARS == scope else { throw AppError.forbidden }
            try req.authorize(.serviceTextsEdit, tenant: scope)
        }
        do {
            guard let module = form.modul, TextModule(rawValue: module) != nil else {
                throw AppError.invalid("modul", de: "Bitte wählen Sie ein Textmodul.", en: "Please choose a text module.")
            }
            let text = try TextInput.required(form.text, field: "text", label: "den Text", max: 20_000)
            var min: Int64? = nil, max: Int64? = nil
            if let v = form.gebuehrVon, !v.trimmingCharacters(in: .whitespaces).isEmpty {
                do { min = try Money(parsing: v).cents } catch { throw AppError(.badRequest, error, field: "gebuehrVon") }
            }
            if let v = form.gebuehrBis, !v.trimmingCharacters(in: .whitespaces).isEmpty {
                do { max = try Money(parsing: v).cents } catch { throw AppError(.badRequest, error, field: "gebuehrBis") }
            }
            if let lo = min, let hi = max, hi < lo {
                throw AppError.invalid("gebuehrBis", de: "Der Höchstbetrag darf nicht unter dem Mindestbetrag liegen.", en: "Maximum below minimum.")
            }
            if min == nil, max != nil { throw AppError.invalid("gebuehrVon", de: "Bitte auch den Mindestbetrag angeben.", en: "Please give the minimum too.") }
            if let lo = min, lo < 0 { throw AppError.invalid("gebuehrVon", de: "Gebühren können nicht negativ sein.", en: "Fees cannot be negative.") }
            let tenant = scope == "land" ? "" : scope
            let key = s.key.value
            let actor = req.principal.auditActor
            let (feeMin, feeMax) = (min, max)
            try await req.db.transaction { db in
                if try await ServiceTextWrites.write(db: db, key: key, tenant: tenant, module: module, text: text, feeMin: feeMin, feeMax: feeMax, editor: actor) {
                    try await req.audit(on: db, "service_text.write", tenant: tenant.isEmpty ? nil : tenant, objectType: "service_text",
                                        objectID: "\(key)/\(module)", after: String(text.prefix(200)))
                }
            }
            return req.redirect(to: "/leistungen/\(key)?gespeichert=1", redirectType: .normal)
        } catch let e as AppError {
            return try await servicePageResponse(req, form: form, error: e)
        }
    }

    // MARK: tenant pages

    struct OfficeRow: Encodable { var id: String; var name: String; var kind: String; var address: String; var main: Bool; var demo: Bool }
    struct OfficesView: Encodable { var tenant: GebietDTO; var offices: [OfficeRow]; var form: OfficeForm; var editing: String? }
    struct OfficeForm: Content {
        var name: String?; var art: String?; var strasse: String?; var plz: String?; var ort: String?; var telefon: String?
        var email: String?; var webseite: String?; var terminvereinbarung: String?; var barrierefreiheit: String?
        var oeffnungszeiten: String?; var hauptsitz: String?

        func input() throws -> OfficeInput {
            var hours: OpeningHoursDTO? = nil
            if let text = oeffnungszeiten, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                switch OpeningHours.parse(text) {
                case .success(let h): hours = OpeningHoursDTO(h)
                case .failure(let e): throw AppError.invalid("oeffnungszeiten", de: e.message, en: "Opening hours: \(e.message)")
                }
            }
            return OfficeInput(name: name, art: art, strasse: strasse, plz: plz, ort: ort, besucheradresse: nil, lat: nil, lon: nil,
                               telefon: telefon, email: email, webseite: webseite, oeffnungszeiten: hours, barrierefreiheit: barrierefreiheit,
                               terminvereinbarung: terminvereinbarung, hauptsitz: hauptsitz == "1")
        }

        static func from(_ o: Office) -> OfficeForm {
            OfficeForm(name: o.name, art: o.kind, strasse: o.street, plz: o.postalCode, ort: o.city, telefon: o.phone, email: o.email,
                       webseite: o.website, terminvereinbarung: o.appointmentURL, barrierefreiheit: o.accessibility,
                       oeffnungszeiten: o.openingHours.text, hauptsitz: o.isMain ? "1" : nil)
        }
    }

    func officesPage(_ req: Request, _ tenant: Gebiet, form: OfficeForm = OfficeForm(), editing: String? = nil, error: AppError? = nil) async throws -> Response {
        let rows = try await Office.query(on: req.db).filter(\.$tenantARS == tenant.ars).sort(\.$name).all()
        let view = OfficesView(tenant: GebietDTO(tenant), offices: rows.map {
            OfficeRow(id: $0.id?.uuidString ?? "", name: $0.name, kind: $0.kind, address: "\($0.street), \($0.postalCode) \($0.city)", main: $0.isMain, demo: $0.isDemo)
        }, form: form, editing: editing)
        if let error { return try await req.renderError("finder/offices", title: req.t("offices_title"), view, error) }
        return try await req.render("finder/offices", title: req.t("offices_title"), view, form: true)
    }

    static func tenant(_ req: Request, for action: Action = .finderManage) async throws -> Gebiet {
        let t = try await Tenants.tenant(req.parameters.get("ars"), on: req.db)
        try req.authorize(action, tenant: t.ars)
        return t
    }

    @Sendable func offices(req: Request) async throws -> Response {
        try await officesPage(req, try await Self.tenant(req), form: OfficeForm(oeffnungszeiten: OpeningHours.typicalCitizenOffice.text))
    }

    @Sendable func createOffice(req: Request) async throws -> Response {
        let tenant = try await Self.tenant(req)
        let form = (try? req.content.decode(OfficeForm.self)) ?? OfficeForm()
        do {
            _ = try await OfficeWrites.create(req, tenant: tenant.ars, try form.input())
            return req.redirect(to: "/mandanten/\(tenant.ars)/organisationseinheiten", redirectType: .normal)
        } catch let e as AppError {
            return try await officesPage(req, tenant, form: form, error: e)
        }
    }

    static func ownOffice(_ req: Request, _ tenant: Gebiet) async throws -> Office {
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)),
              let o = try await Office.query(on: req.db).filter(\.$id == id).filter(\.$tenantARS == tenant.ars).first() else {
            throw AppError(.notFound, "office.unknown", de: "Diese Organisationseinheit gibt es bei diesem Mandanten nicht.", en: "No such office.")
        }
        return o
    }

    @Sendable func editOffice(req: Request) async throws -> Response {
        let tenant = try await Self.tenant(req)
        let o = try await Self.ownOffice(req, tenant)
        return try await officesPage(req, tenant, form: .from(o), editing: o.id?.uuidString)
    }

    @Sendable func updateOffice(req: Request) async throws -> Response {
        let tenant = try await Self.tenant(req)
        let o = try await Self.ownOffice(req, tenant)
        let form = (try? req.content.decode(OfficeForm.self)) ?? OfficeForm()
        do {
            var input = try form.input()
            // the form does not show the coordinates and the visitor address (they come from the
            // API or the XZuFi import); an edit in the form keeps them instead of erasing them
            if input.lat == nil && input.lon == nil { input.lat = o.latitude; input.lon = o.longitude }
            if input.besucheradresse == nil { input.besucheradresse = o.visitorAddress }
            _ = try await OfficeWrites.update(req, o, input)
            return req.redirect(to: "/mandanten/\(tenant.ars)/organisationseinheiten", redirectType: .normal)
        } catch let e as AppError {
            return try await officesPage(req, tenant, form: form, editing: o.id?.uuidString, error: e)
        }
    }

    struct EntryRow: Encodable { var id: String; var key: String; var service: String; var area: String; var role: String; var office: String }
    struct OfficeOption: Encodable { var id: String; var name: String }
    struct EntriesView: Encodable { var tenant: GebietDTO; var entries: [EntryRow]; var hasEntries: Bool; var offices: [OfficeOption]; var form: ResponsibilityForm }
    struct ResponsibilityForm: Content { var leistung: String?; var gebiet: String?; var organisationseinheit: String?; var rolle: String? }

    func entriesPage(_ req: Request, _ tenant: Gebiet, form: ResponsibilityForm? = nil, error: AppError? = nil) async throws -> Response {
        let rows = try await Responsibility.query(on: req.db).filter(\.$tenantARS == tenant.ars).sort(\.$leikaKey).limit(500).all()
        let offices = try await Office.query(on: req.db).filter(\.$tenantARS == tenant.ars).sort(\.$name).all()
        var names: [UUID: String] = [:]
        for o in offices { names[o.id!] = o.name }
        let catalogue = req.application.finder.catalogue
        let view = EntriesView(tenant: GebietDTO(tenant), entries: rows.map {
            EntryRow(id: $0.id?.uuidString ?? "", key: $0.leikaKey, service: catalogue.service($0.leikaKey)?.name ?? "", area: $0.areaARS,
                     role: req.t("role_entry_\($0.role)"), office: names[$0.officeID] ?? "")
        }, hasEntries: !rows.isEmpty, offices: offices.map { OfficeOption(id: $0.id!.uuidString, name: $0.name) },
           form: form ?? ResponsibilityForm(leistung: nil, gebiet: tenant.ars, organisationseinheit: nil, rolle: "responsible"))
        if let error { return try await req.renderError("finder/entries", title: req.t("entries_title"), view, error) }
        return try await req.render("finder/entries", title: req.t("entries_title"), view, form: true)
    }

    @Sendable func entries(req: Request) async throws -> Response {
        try await entriesPage(req, try await Self.tenant(req))
    }

    @Sendable func createEntry(req: Request) async throws -> Response {
        let tenant = try await Self.tenant(req)
        let form = (try? req.content.decode(ResponsibilityForm.self)) ?? ResponsibilityForm()
        do {
            _ = try await OfficeWrites.createEntry(req, tenant: tenant.ars, ResponsibilityInput(
                leistung: form.leistung, gebiet: form.gebiet, organisationseinheit: form.organisationseinheit.flatMap(UUID.init(uuidString:)), rolle: form.rolle))
            return req.redirect(to: "/mandanten/\(tenant.ars)/zustaendigkeiten", redirectType: .normal)
        } catch let e as AppError {
            return try await entriesPage(req, tenant, form: form, error: e)
        }
    }

    @Sendable func deleteEntry(req: Request) async throws -> Response {
        let tenant = try await Self.tenant(req)
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)),
              let e = try await Responsibility.query(on: req.db).filter(\.$id == id).filter(\.$tenantARS == tenant.ars).first() else {
            throw AppError(.notFound, "responsibility.unknown", de: "Diesen Eintrag gibt es bei diesem Mandanten nicht.", en: "No such entry.")
        }
        try await OfficeWrites.deleteEntry(req, e)
        return req.redirect(to: "/mandanten/\(tenant.ars)/zustaendigkeiten", redirectType: .normal)
    }
}
