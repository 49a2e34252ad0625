import Fluent
import SQLKit
import Vapor
import Finder
import RathausCore

/// XZuFi 2.2 export and import of services (texts), offices and responsibilities, and editing of
/// service texts (versioned).
struct XZuFiController {
    func addRoutes(to api: any RoutesBuilder) {
        api.get("xzufi", "export", use: export)
        api.on(.POST, "xzufi", "import", body: .collect(maxSize: "50mb"), use: importMessage)
        api.put("leistungen", ":key", "texte", ":modul", use: putText)
    }

    /// App module name ↔ XZuFi text module code (or the dedicated module for fees, deadlines, …).
    static let moduleCodes: [String: String] = [
        "beschreibung": "06", "unterlagen": "08", "rechtsgrundlage": "07", "formulare": "14",
        "kosten": "kosten", "fristen": "fristen", "bearbeitungsdauer": "bearbeitungsdauer", "synonyme": "synonyme",
    ]
    static let codeModules: [String: String] = Dictionary(uniqueKeysWithValues: moduleCodes.map { ($0.value, $0.key) })

    /// Export of one tenant (`ars`) or, for operators, of everything.
    @Sendable func export(req: Request) async throws -> Response {
        let ars = req.query[String.self, at: "ars"].flatMap { $0.isEmpty ? nil : $0 }
        if let ars {
            let t = try await Tenants.tenant(ars, on: req.db)
            try req.authorize(.finderManage, tenant: t.ars)
        } else {
            try req.authorize(.finderManage)
        }
        var officeQuery = Office.query(on: req.db)
        var entryQuery = Responsibility.query(on: req.db)
        var textQuery = ServiceText.query(on: req.db)
        if let ars {
            officeQuery = officeQuery.filter(\.$tenantARS == ars)
            entryQuery = entryQuery.filter(\.$tenantARS == ars)
            textQuery = textQuery.filter(\.$tenantARS == ars)
        }
        let offices = try await officeQuery.sort(\.$tenantARS).sort(\.$name).all()
        let entries = try await entryQuery.sort(\.$leikaKey).sort(\.$areaARS).all()
        var byOffice: [UUID: [Responsibility]] = [:]
        for e in entries { byOffice[e.officeID, default: []].append(e) }
        let catalogue = req.application.finder.catalogue
        var services: [XZuFi.Service] = []
        let texts = try await textQuery.sort(\.$leikaKey).sort(\.$version, .descending).all()
        var newest: [String: [ServiceText]] = [:]
        var seen: Set<String> = []
        for t in texts where !seen.contains("\(t.leikaKey)/\(t.tenantARS)/\(t.module)") {
            seen.insert("\(t.leikaKey)/\(t.tenantARS)/\(t.module)")
            newest["\(t.tenantARS)/\(t.leikaKey)", default: []].append(t)
        }
        for key in newest.keys.sorted() {
            let list = newest[key]!
            let first = list[0]
            let s = catalogue.service(first.leikaKey)
            services.append(XZuFi.Service(id: "\(first.tenantARS.isEmpty ? "land" : first.tenantARS)-\(first.leikaKey)", agency: first.tenantARS,
                                          leikaKey: first.leikaKey, name: s?.name ?? "", typisierung: s?.typisierung ?? "",
                                          texts: list.sorted { $0.module < $1.module }.map {
                                              XZuFi.Text(module: Self.moduleCodes[$0.module] ?? $0.module, text: $0.text,
                                                         feeMinCents: $0.feeMinCents, feeMaxCents: $0.feeMaxCents)
                                          }))
        }
        let message = XZuFi.Message(
            messageID: UUID().uuidString, created: Audit.timestamp(Date()), services: services,
            offices: offices.map { o in
                XZuFi.Office(id: o.id!.uuidString, agency: o.tenantARS, name: o.name, kind: o.kind, street: o.street, postalCode: o.postalCode,
                             city: o.city, areaARS: o.tenantARS, phone: o.phone, email: o.email, website: o.website,
                             appointmentURL: o.appointmentURL, accessibility: o.accessibility, latitude: o.latitude, longitude: o.longitude,
                             hours: o.openingHours, isMain: o.isMain,
                             responsibilities: (byOffice[o.id!] ?? []).map {
                                 XZuFi.Responsibility(id: $0.id!.uuidString, leikaKey: $0.leikaKey, areaARS: $0.areaARS, role: $0.role == "contact" ? "02" : "01")
                             })
            })
        let res = Response(status: .ok, body: .init(string: XZuFi.render(message)))
        res.headers.contentType = HTTPMediaType(type: "application", subType: "xml", parameters: ["charset": "utf-8"])
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"xzufi-\(ars ?? "alle").xml\"")
        return res
    }

    struct ImportReport: Content {
        var organisationseinheitenGeschrieben: Int
        var zustaendigkeitenGeschrieben: Int
        var leistungstexteGeschrieben: Int
        var unveraendert: Int
        var geloescht: Int
        var unbekannteLoeschungenIgnoriert: Int
    }

    /// Stable UUID for a foreign id (another editorial system's OE id): SHA-256 of agency and id.
    static func uuid(for id: String, agency: String) -> UUID {
        if let u = UUID(uuidString: id) { return u }
        var b = Array(SHA256.hash(data: Data("\(agency):\(id)".utf8)).prefix(16))
        b[6] = (b[6] & 0x0f) | 0x50
        b[8] = (b[8] & 0x3f) | 0x80
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }

    @Sendable func importMessage(req: Request) async throws -> ImportReport {
        if case .anonymous = req.principal { throw AppError.unauthenticated }
        guard let ct = req.headers.contentType, ct.subType == "xml" else {
            throw AppError(.unsupportedMediaType, "unsupported_media_type", de: "Bitte senden Sie die XZuFi-Nachricht als XML (Content-Type: application/xml).",
                           en: "Please send the XZuFi message as XML.")
        }
        guard let buffer = req.body.data else { throw AppError.invalid("body", de: "Die Anfrage enthält keine Daten.", en: "Empty body.") }
        let message: XZuFi.Message
        do { message = try XZuFi.parse(Data(buffer.readableBytesView)) } catch let e as XZuFi.ParseError {
            throw AppError(.badRequest, "xzufi.parse", de: e.messageDE, en: "The XZuFi message could not be read.")
        }
        let snap = try await req.finderSnapshot()
        // everything is checked before anything is written: one bad object refuses the whole message
        for o in message.offices {
            guard (try? ARS(o.agency)) != nil, snap.areaIndex[o.agency] != nil else {
                throw AppError.invalid("organisationseinheit", de: "Organisationseinheit „\(o.name.prefix(80))“: schemeAgencyID muss der Regionalschlüssel eines Mandanten sein.", en: "Invalid agency.")
            }
            try req.authorize(.finderManage, tenant: o.agency)
            for r in o.responsibilities {
                guard snap.catalogue.index[r.leikaKey] != nil else {
                    throw AppError.invalid("zustaendigkeit", de: "Zuständigkeit \(r.id.prefix(40)): Leistung \(r.leikaKey.prefix(20)) ist nicht im Katalog.", en: "Unknown service.")
                }
                guard let area = snap.areaIndex[r.areaARS], let tenantArea = snap.areaIndex[o.agency], snap.resolverChain(area).contains(tenantArea) else {
                    throw AppError(.forbidden, "responsibility.foreign_area", de: "Zuständigkeit \(r.id.prefix(40)): Gebiet \(r.areaARS.prefix(12)) liegt nicht im Gebiet von \(o.agency).", en: "Area outside the tenant.")
                }
                guard ["01", "02"].contains(r.role) else {
                    throw AppError.invalid("zustaendigkeit", de: "Zuständigkeit \(r.id.prefix(40)): Rolle muss 01 (zuständige Stelle) oder 02 (Ansprechpunkt) sein.", en: "Invalid role.")
                }
            }
            var input = OfficeInput(name: o.name, art: o.kind, strasse: o.street, plz: o.postalCode, ort: o.city, besucheradresse: nil, lat: o.latitude,
                                    lon: o.longitude, telefon: o.phone, email: o.email, webseite: o.website, oeffnungszeiten: OpeningHoursDTO(o.hours),
                                    barrierefreiheit: o.accessibility, terminvereinbarung: o.appointmentURL, hauptsitz: o.isMain)
            if input.art?.isEmpty ?? true { input.art = "Organisationseinheit" }
            try input.apply(to: Office())
        }
        for s in message.services {
            try req.authorize(.serviceTextsEdit, tenant: s.agency.isEmpty ? nil : s.agency)
            guard snap.catalogue.index[s.leikaKey] != nil else {
                throw AppError.invalid("leistung", de: "Leistung \(s.leikaKey.prefix(20)) ist nicht im Katalog.", en: "Unknown service.")
            }
        }
        for d in message.deletions where !d.agency.isEmpty && d.agency != "land" {
            try req.authorize(.finderManage, tenant: d.agency)
        }
        let actor = req.principal
        let report = try await req.db.transaction { db -> ImportReport in
            var r = ImportReport(organisationseinheitenGeschrieben: 0, zustaendigkeitenGeschrieben: 0, leistungstexteGeschrieben: 0,
                                 unveraendert: 0, geloescht: 0, unbekannteLoeschungenIgnoriert: 0)
            for o in message.offices {
                let id = Self.uuid(for: o.id, agency: o.agency)
                let existing = try await Office.find(id, on: db)
                let row = existing ?? Office()
                let before = existing.map(Self.fingerprint)
                row.id = id
                row.tenantARS = o.agency
                row.isDemo = existing?.isDemo ?? false
                var input = OfficeInput(name: o.name, art: o.kind.isEmpty ? "Organisationseinheit" : o.kind, strasse: o.street, plz: o.postalCode, ort: o.city,
                                        besucheradresse: nil, lat: o.latitude, lon: o.longitude, telefon: o.phone, email: o.email, webseite: o.website,
                                        oeffnungszeiten: OpeningHoursDTO(o.hours), barrierefreiheit: o.accessibility,
                                        terminvereinbarung: o.appointmentURL, hauptsitz: o.isMain)
                input.besucheradresse = existing?.visitorAddress
                try input.apply(to: row)
                let after = Self.fingerprint(row)
                if existing == nil {
                    if row.isMain { try await OfficeWrites.clearMain(tenant: o.agency, except: nil, on: db) }
                    try await row.create(on: db)
                    r.organisationseinheitenGeschrieben += 1
                } else if before != after {
                    if row.isMain { try await OfficeWrites.clearMain(tenant: o.agency, except: id, on: db) }
                    try await row.save(on: db)
                    r.organisationseinheitenGeschrieben += 1
                } else {
                    r.unveraendert += 1
                }
                // schreibe replaces the object: its responsibilities are exactly those listed
                let listed = Set(o.responsibilities.map { "\($0.leikaKey)/\($0.areaARS)/\($0.role == "02" ? "contact" : "responsible")" })
                for old in try await Responsibility.query(on: db).filter(\.$officeID == id).all()
                where !listed.contains("\(old.leikaKey)/\(old.areaARS)/\(old.role)") {
                    try await old.delete(on: db)
                    r.geloescht += 1
                }
                for z in o.responsibilities {
                    let role = z.role == "02" ? "contact" : "responsible"
                    if let cur = try await Responsibility.query(on: db).filter(\.$leikaKey == z.leikaKey).filter(\.$areaARS == z.areaARS)
                        .filter(\.$role == role).first() {
                        if cur.officeID == id { r.unveraendert += 1; continue }
                        guard cur.tenantARS == o.agency else {
                            throw AppError(.conflict, "responsibility.conflict", de: "Für Leistung \(z.leikaKey) in \(z.areaARS) ist bereits eine Stelle eines anderen Mandanten eingetragen.",
                                           en: "Conflicting responsibility.")
                        }
                        cur.officeID = id
                        try await cur.save(on: db)
                    } else {
                        let e = Responsibility()
                        e.id = Self.uuid(for: z.id.isEmpty ? "\(z.leikaKey)/\(z.areaARS)/\(role)" : z.id, agency: o.agency)
                        if try await Responsibility.find(e.id, on: db) != nil { e.id = UUID() }
                        e.leikaKey = z.leikaKey; e.areaARS = z.areaARS; e.role = role; e.officeID = id; e.tenantARS = o.agency
                        try await e.create(on: db)
                    }
                    r.zustaendigkeitenGeschrieben += 1
                }
            }
            for s in message.services {
                for t in s.texts {
                    guard let module = Self.codeModules[t.module] else { continue }
                    if try await ServiceTextWrites.write(db: db, key: s.leikaKey, tenant: s.agency, module: module, text: t.text,
                                                         feeMin: t.feeMinCents, feeMax: t.feeMaxCents, editor: actor.auditActor) {
                        r.leistungstexteGeschrieben += 1
                    } else {
                        r.unveraendert += 1
                    }
                }
            }
            for d in message.deletions {
                switch d.klasse {
                case "Organisationseinheit":
                    let id = Self.uuid(for: d.id, agency: d.agency)
                    if let o = try await Office.find(id, on: db) {
                        guard Policy.allows(actor, .finderManage, tenant: o.tenantARS) else { throw AppError.forbidden }
                        try await Responsibility.query(on: db).filter(\.$officeID == id).delete()
                        try await o.delete(on: db)
                        r.geloescht += 1
                    } else { r.unbekannteLoeschungenIgnoriert += 1 }
                case "Zustaendigkeit":
                    let id = Self.uuid(for: d.id, agency: d.agency)
                    if let e = try await Responsibility.find(id, on: db) {
                        guard Policy.allows(actor, .finderManage, tenant: e.tenantARS) else { throw AppError.forbidden }
                        try await e.delete(on: db)
                        r.geloescht += 1
                    } else { r.unbekannteLoeschungenIgnoriert += 1 }
                default:
                    r.unbekannteLoeschungenIgnoriert += 1
                }
            }
            try await FinderStore.bump(on: db)
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: message.offices.first?.agency,
                                   action: "xzufi.import", objectType: "xzufi", objectID: String(message.messageID.prefix(64)), before: nil,
                                   after: "OE \(r.organisationseinheitenGeschrieben), Zuständigkeiten \(r.zustaendigkeitenGeschrieben), Texte \(r.leistungstexteGeschrieben), unverändert \(r.unveraendert), gelöscht \(r.geloescht), unbekannt \(r.unbekannteLoeschungenIgnoriert)")
            return r
        }
        try await req.application.finder.rebuild(on: req.db)
        return report
    }

    /// What an import compares to decide "unchanged" (opening hours by value, not by JSON text).
    static func fingerprint(_ o: Office) -> [String] {
        [o.name, o.kind, o.street, o.postalCode, o.city, String(o.isMain), o.phone, o.email, o.website, o.appointmentURL,
         o.accessibility, o.latitude.map { String($0) } ?? "", o.longitude.map { String($0) } ?? "", o.openingHours.text]
    }

    struct TextInputDTO: Content { var text: String?; var gebuehrVonCent: Int64?; var gebuehrBisCent: Int64? }
    struct TextResult: Content { var leistung: String; var modul: String; var mandant: String?; var version: Int; var text: String }

    /// Statewide text (no `ars`, the state's editors) or a tenant's local text and fee (`ars`).
    @Sendable func putText(req: Request) async throws -> TextResult {
        let snap = try await req.finderSnapshot()
        let (_, service) = try FinderService.service(req.parameters.get("key"), in: snap, field: "key")
        guard let module = req.parameters.get("modul"), TextModule(rawValue: module) != nil else {
            throw AppError(.notFound, "module.unknown", de: "Unbekanntes Textmodul. Möglich: \(TextModule.allCases.map(\.rawValue).joined(separator: ", ")).", en: "Unknown module.")
        }
        var tenant = ""
        if let ars = req.query[String.self, at: "ars"], !ars.isEmpty {
            tenant = try await Tenants.tenant(ars, on: req.db).ars
            try req.authorize(.serviceTextsEdit, tenant: tenant)
        } else {
            try req.authorize(.serviceTextsEdit)
        }
        let input = try req.decodeJSON(TextInputDTO.self)
        let text = try TextInput.required(input.text, field: "text", label: "den Text", max: 20_000)
        if let min = input.gebuehrVonCent {
            guard min >= 0, (input.gebuehrBisCent ?? min) >= min, (input.gebuehrBisCent ?? min) <= 100_000_000 else {
                throw AppError.invalid("gebuehrVonCent", de: "Gebühren in Cent, von ≥ 0 und bis ≥ von.", en: "Fees in cents, from ≥ 0 and to ≥ from.")
            }
        } else if input.gebuehrBisCent != nil {
            throw AppError.invalid("gebuehrVonCent", de: "Bitte auch den Mindestbetrag angeben.", en: "Please give the minimum fee too.")
        }
        let actor = req.principal.auditActor
        let key = service.key.value
        let owner = tenant
        let version = try await req.db.transaction { db -> Int in
            let tenant = owner
            _ = try await ServiceTextWrites.write(db: db, key: key, tenant: tenant, module: module, text: text,
                                                  feeMin: input.gebuehrVonCent, feeMax: input.gebuehrBisCent, editor: actor)
            let v = try await ServiceText.query(on: db).filter(\.$leikaKey == key).filter(\.$tenantARS == tenant)
                .filter(\.$module == module).sort(\.$version, .descending).first()?.version ?? 1
            try await req.audit(on: db, "service_text.write", tenant: tenant.isEmpty ? nil : tenant, objectType: "service_text",
                                objectID: "\(key)/\(module)", after: "Version \(v)")
            return v
        }
        return TextResult(leistung: key, modul: module, mandant: owner.isEmpty ? nil : owner, version: version, text: text)
    }
}

enum ServiceTextWrites {
    /// Appends a new version when the text or fee differs from the newest one; returns whether it wrote.
    static func write(db: any Database, key: String, tenant: String, module: String, text: String,
                      feeMin: Int64?, feeMax: Int64?, editor: String) async throws -> Bool {
        let cur = try await ServiceText.query(on: db).filter(\.$leikaKey == key).filter(\.$tenantARS == tenant)
            .filter(\.$module == module).sort(\.$version, .descending).first()
        if let cur, cur.text == text, cur.feeMinCents == feeMin, cur.feeMaxCents == (feeMin == nil ? nil : (feeMax ?? feeMin)) { return false }
        let t = ServiceText()
        t.leikaKey = key; t.tenantARS = tenant; t.module = module; t.text = text
        t.feeMinCents = feeMin; t.feeMaxCents = feeMin == nil ? nil : (feeMax ?? feeMin)
        t.version = (cur?.version ?? 0) + 1
        t.editedBy = editor
        try await t.create(on: db)
        return true
    }
}
