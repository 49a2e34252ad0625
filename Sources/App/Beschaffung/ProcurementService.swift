import Fluent
import Foundation
import Procurement
import RathausCore
import SQLKit
import Vapor
import XRechnung

/// Every state change of procurement: validation, the change and its audit entry in one write
/// transaction (the one write path), German reasons for every refusal.
enum ProcurementService {
    // MARK: frameworks and catalogue

    struct FrameworkInput: Sendable {
        var reference: String; var subject: String; var description: String; var startsOn: String; var endsOn: String
        var extensionOptions: String; var maxVolumeCents: Int64; var status: FrameworkStatus
    }

    static func readFramework(_ f: FundingForm) throws -> FrameworkInput {
        let reference = try f.text("aktenzeichen", "das Aktenzeichen", max: 40)
        let subject = try f.text("gegenstand", "den Gegenstand", max: 200)
        let description = try f.text("beschreibung", "die Beschreibung", max: 4000, required: false)
        let starts = try f.day("beginn", "den Beginn der Laufzeit")
        let ends = try f.day("ende", "das Ende der Laufzeit")
        guard starts <= ends else {
            throw AppError.invalid("ende", de: "Das Ende der Laufzeit liegt vor ihrem Beginn.", en: "The end of the term is before its start.")
        }
        let ext = try f.text("verlaengerung", "die Verlängerungsoptionen", max: 300, required: false)
        let volume = try f.money("hoechstvolumen", "das Höchstvolumen", required: false)
        let status = FrameworkStatus(rawValue: f["status"].isEmpty ? FrameworkStatus.preparation.rawValue : f["status"])
        guard let status else { throw AppError.invalid("status", de: "Bitte wählen Sie einen Status aus der Liste.", en: "Please choose a status from the list.") }
        return FrameworkInput(reference: reference, subject: subject, description: description, startsOn: starts, endsOn: ends,
                              extensionOptions: ext, maxVolumeCents: volume, status: status)
    }

    static func fields(_ fw: ProcurementFramework) -> [(String, String)] {
        [("Aktenzeichen", fw.reference), ("Gegenstand", fw.subject), ("Status", FrameworkStatus(rawValue: fw.status)?.german ?? fw.status),
         ("Laufzeit", "\(CalendarDay.display(fw.startsOn)) – \(CalendarDay.display(fw.endsOn))"), ("Verlängerung", fw.extensionOptions),
         ("Höchstvolumen", fw.maxVolumeCents > 0 ? Money(cents: fw.maxVolumeCents).formattedDE : "keines")]
    }

    static func saveFramework(_ app: Application, id: UUID?, input: FrameworkInput, actor: any AuditActing) async throws -> UUID {
        do {
            return try await app.writeTransaction { db in
                let existing = try await id.asyncMap { try await ProcurementFramework.find($0, on: db) }
                if id != nil && existing == nil { throw AppError.notFound }
                let fw = existing ?? ProcurementFramework()
                let before = existing.map { AuditFields.encode(fields($0)) }
                if existing == nil { fw.id = UUID(); fw.releasedCents = 0; fw.createdBy = actor.auditActor; fw.createdAt = Date() }
                fw.reference = input.reference; fw.subject = input.subject; fw.description = input.description; fw.startsOn = input.startsOn
                fw.endsOn = input.endsOn; fw.extensionOptions = input.extensionOptions; fw.status = input.status.rawValue; fw.updatedAt = Date()
                if let existing, input.maxVolumeCents > 0, input.maxVolumeCents < existing.releasedCents {
                    throw AppError.invalid("hoechstvolumen", de: "Das Höchstvolumen kann nicht unter dem bereits abgerufenen Wert (\(Money(cents: existing.releasedCents).formattedDE)) liegen.",
                                           en: "The maximum volume cannot be below what was already called off.")
                }
                fw.maxVolumeCents = input.maxVolumeCents
                if existing == nil { try await fw.create(on: db) } else { try await fw.save(on: db) }
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil,
                                       action: existing == nil ? "beschaffung.rahmenvertrag" : "beschaffung.rahmenvertrag_geaendert",
                                       objectType: "rahmenvertrag", objectID: try fw.requireID().uuidString, before: before, after: AuditFields.encode(fields(fw)))
                return try fw.requireID()
            }
        } catch where (error as? any DatabaseError)?.isConstraintFailure == true {
            throw AppError(.conflict, "beschaffung.aktenzeichen", de: "Das Aktenzeichen „\(input.reference)“ ist schon vergeben.",
                           en: "The reference '\(input.reference)' is already in use.", field: "aktenzeichen")
        }
    }

    struct LotInput: Sendable { var number: Int; var title: String; var supplierName: String; var supplierAddress: String; var supplierVATID: String; var supplierEmail: String }

    static func readLot(_ f: FundingForm) throws -> LotInput {
        let n = try f.int("los", "die Losnummer", range: 1...99) ?? 1
        let title = try f.text("titel", "den Titel des Loses", max: 200)
        let name = try f.text("lieferant", "den Namen des Lieferanten", max: 200)
        let address = try f.text("anschrift", "die Anschrift des Lieferanten", max: 300)
        let vat = try f.text("ustid", "die USt-IdNr. des Lieferanten", max: 20, required: false).uppercased().filter { !$0.isWhitespace }
        if !vat.isEmpty, !(vat.count >= 4 && vat.prefix(2).allSatisfy(\.isLetter)) {
            throw AppError.invalid("ustid", de: "Die USt-IdNr. beginnt mit dem Ländercode, z. B. DE123456789.", en: "The VAT ID starts with the country code, e.g. DE123456789.")
        }
        let mail = try TextInput.email(f["bestell_email"], field: "bestell_email") ?? ""
        return LotInput(number: n, title: title, supplierName: name, supplierAddress: address, supplierVATID: vat, supplierEmail: mail)
    }

    static func addLot(_ app: Application, framework: UUID, input: LotInput, actor: any AuditActing) async throws -> UUID {
        do {
            return try await app.writeTransaction { db in
                guard try await ProcurementFramework.find(framework, on: db) != nil else { throw AppError.notFound }
                let lot = ProcurementLot()
                lot.id = UUID(); lot.frameworkID = framework; lot.number = input.number; lot.title = input.title; lot.supplierName = input.supplierName
                lot.supplierAddress = input.supplierAddress; lot.supplierVATID = input.supplierVATID; lot.supplierEmail = input.supplierEmail
                try await lot.create(on: db)
                try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "beschaffung.los",
                                       objectType: "rahmenvertrag", objectID: framework.uuidString, before: nil,
                                       after: AuditFields.encode([("Los", "\(input.number) \(input.title)"), ("Lieferant", input.supplierName), ("Bestellungen an", input.supplierEmail)]))
                return try lot.requireID()
            }
        } catch where (error as? any DatabaseError)?.isConstraintFailure == true {
            throw AppError(.conflict, "beschaffung.los", de: "Los \(input.number) gibt es in diesem Rahmenvertrag schon.", en: "Lot \(input.number) already exists in this framework.", field: "los")
        }
    }

    /// A price sheet for one lot: new items are created, known ones (same article number) updated,
    /// and each line's price is a price point from its "gültig ab" (a later price does not change
    /// earlier call-offs). All lines or none.
    static func importPriceSheet(_ app: Application, lot lotID: UUID, data: Data, actor: any AuditActing) async throws -> (created: Int, updated: Int, prices: Int) {
        let rows: [PriceSheet.Row]
        switch PriceSheet.parse(data) {
        case .success(let r): rows = r
        case .failure(let f):
            let shown = f.problems.prefix(50).map(\.description)
            let more = f.problems.count > 50 ? " … und \(f.problems.count - 50) weitere" : ""
            throw AppError(.unprocessableEntity, "beschaffung.preisblatt",
                           de: "Das Preisblatt wurde nicht übernommen (\(f.problems.count) Fehler): " + shown.joined(separator: " · ") + more,
                           en: "The price sheet was not imported (\(f.problems.count) problems): " + shown.joined(separator: " · ") + more, field: "datei")
        }
        return try await app.writeTransaction { db in
            guard let lot = try await ProcurementLot.find(lotID, on: db) else { throw AppError.notFound }
            let existing = try await ProcurementItem.query(on: db).filter(\.$lotID == lotID).all()
            let byArticle = Dictionary(existing.map { ($0.articleNumber, $0) }, uniquingKeysWith: { a, _ in a })
            var created = 0, updated = 0, prices = 0
            for r in rows {
                let item = byArticle[r.articleNumber] ?? ProcurementItem()
                let isNew = item.id == nil
                if isNew { item.id = UUID(); item.frameworkID = lot.frameworkID; item.lotID = lotID; item.articleNumber = r.articleNumber }
                // a column the sheet leaves out keeps the item's value (a sheet with only new prices changes nothing else)
                func keep(_ c: String) -> Bool { !isNew && r.absent.contains(c) }
                item.name = r.name; item.unitCode = r.unitCode; item.vatPercent = r.vatPercent
                if !keep("beschreibung") { item.description = r.description }
                if !keep("kategorie") { item.category = r.category }
                if !keep("mindestmenge") { item.minQuantity = r.minQuantity }
                if !keep("hoechstmenge") { item.maxQuantity = r.maxQuantity }
                if !keep("lieferzeit_tage") { item.deliveryDays = r.deliveryDays }
                if !keep("servicegebuehr") { item.feeCents = r.feeCents }
                if isNew { try await item.create(on: db); created += 1 } else { try await item.save(on: db); updated += 1 }
                let itemID = try item.requireID()
                if let p = try await ProcurementPrice.query(on: db).filter(\.$itemID == itemID).filter(\.$validFrom == r.validFrom).first() {
                    if p.netCents != r.netCents { p.netCents = r.netCents; p.createdBy = actor.auditActor; p.createdAt = Date(); try await p.save(on: db); prices += 1 }
                } else {
                    let p = ProcurementPrice()
                    p.id = UUID(); p.itemID = itemID; p.validFrom = r.validFrom; p.netCents = r.netCents; p.createdBy = actor.auditActor; p.createdAt = Date()
                    try await p.create(on: db); prices += 1
                }
            }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: nil, action: "beschaffung.preisblatt",
                                   objectType: "rahmenvertrag", objectID: lot.frameworkID.uuidString, before: nil,
                                   after: "Los \(lot.number): \(rows.count) Zeilen, \(created) neu, \(updated) geändert, \(prices) Preise")
            return (created, updated, prices)
        }
    }

    // MARK: the catalogue as members see it

    struct CatalogueEntry: Sendable {
        var item: ProcurementItem; var lot: ProcurementLot; var framework: ProcurementFramework; var price: PricePoint?
    }

    /// Items of frameworks usable on `day`, with the price valid that day; optional filters.
    static func catalogue(_ db: any Database, day: String, lot: UUID? = nil, framework: UUID? = nil) async throws -> [CatalogueEntry] {
        let frameworks = try await ProcurementFramework.query(on: db).filter(\.$status == FrameworkStatus.active.rawValue).all()
            .filter { FrameworkStatus.usable(.active, startsOn: $0.startsOn, endsOn: $0.endsOn, on: day) && (framework == nil || $0.id == framework) }
        guard !frameworks.isEmpty else { return [] }
        let fwByID = Dictionary(frameworks.compactMap { f in f.id.map { ($0, f) } }, uniquingKeysWith: { a, _ in a })
        let lots = try await ProcurementLot.query(on: db).filter(\.$frameworkID ~~ Array(fwByID.keys)).all()
        let lotByID = Dictionary(lots.compactMap { l in l.id.map { ($0, l) } }, uniquingKeysWith: { a, _ in a })
        var q = ProcurementItem.query(on: db).filter(\.$frameworkID ~~ Array(fwByID.keys))
        if let lot { q = q.filter(\.$lotID == lot) }
        let items = try await q.sort(\.$name).all()
        let ids = items.compactMap(\.id)
        let prices = ids.isEmpty ? [] : try await ProcurementPrice.query(on: db).filter(\.$itemID ~~ ids).all()
        let pricesByItem = Dictionary(grouping: prices, by: \.itemID)
        return items.compactMap { it in
            guard let l = lotByID[it.lotID], let f = fwByID[it.frameworkID], let id = it.id else { return nil }
            let p = PriceSchedule.price(on: day, (pricesByItem[id] ?? []).map { PricePoint(validFrom: $0.validFrom, netCents: $0.netCents) })
            return CatalogueEntry(item: it, lot: l, framework: f, price: p)
        }
    }

    // MARK: call-offs

    static func settings(_ db: any Database, tenant: String) async throws -> ProcurementSettings? {
        try await ProcurementSettings.find(tenant, on: db)
    }

    /// The in-house rule as a German refusal: 403 when the tenant is not a member on `day`.
    static func requireMember(_ db: any Database, tenant: Gebiet, day: String) async throws {
        let m = try await MembershipService.membership(of: tenant.ars, on: db)
        let ok = m.map { InHouse.mayCallOff(status: $0.state, effectiveFrom: $0.effectiveFrom, effectiveUntil: $0.effectiveUntil, on: day) } ?? false
        guard ok else {
            var why = "\(tenant.name) ist am \(CalendarDay.display(day)) kein Mitglied des IT-Dienstleisters."
            if let m, m.state == .noticeGiven, let until = m.effectiveUntil { why = "Die Mitgliedschaft von \(tenant.name) endete am \(CalendarDay.display(until))." }
            else if let m, m.state == .member, let from = m.effectiveFrom { why = "Die Mitgliedschaft von \(tenant.name) beginnt erst am \(CalendarDay.display(from))." }
            throw AppError(.forbidden, "beschaffung.inhouse",
                           de: "\(why) Abrufe aus den Rahmenverträgen sind nur Mitgliedern erlaubt (Inhouse-Vergabe).",
                           en: "\(tenant.ars) is not a member of the provider on \(day); only members may call off from its frameworks (in-house award).")
        }
    }

    struct CallOffInput: Sendable {
        var lot: UUID; var quantities: [UUID: Int]; var deliveryAddress: String; var deliveryDate: String; var costCentre: String; var note: String
    }

    static func readCallOff(_ f: FundingForm) throws -> CallOffInput {
        guard let lot = UUID(uuidString: f["los"]) else {
            throw AppError.invalid("los", de: "Bitte wählen Sie zuerst ein Los aus dem Katalog.", en: "Please choose a lot from the catalogue first.")
        }
        var quantities: [UUID: Int] = [:]
        for (k, v) in f.f where k.hasPrefix("menge_") {
            let raw = v.trimmingCharacters(in: .whitespaces)
            if raw.isEmpty || raw == "0" { continue }
            guard let id = UUID(uuidString: String(k.dropFirst(6))) else { continue }
            guard let n = Int(raw), n > 0, n <= 1_000_000 else {
                throw AppError.invalid(k, de: "Die Menge „\(String(raw.prefix(12)))“ ist keine ganze Zahl größer als 0.", en: "The quantity must be a whole number greater than 0.")
            }
            quantities[id] = n
        }
        guard !quantities.isEmpty else {
            throw AppError.invalid("positionen", de: "Bitte geben Sie für mindestens einen Artikel eine Menge an.", en: "Please enter a quantity for at least one item.")
        }
        guard quantities.count <= 200 else { throw AppError.invalid("positionen", de: "Ein Abruf hat höchstens 200 Positionen.", en: "A call-off has at most 200 lines.") }
        let address = try f.text("lieferanschrift", "die Lieferanschrift", max: 300)
        let date = try f.day("liefertermin", "den gewünschten Liefertermin")
        guard date >= BusinessDate.today() else {
            throw AppError.invalid("liefertermin", de: "Der Liefertermin liegt in der Vergangenheit.", en: "The delivery date is in the past.")
        }
        let cost = try f.text("haushaltsstelle", "die Kostenstelle oder Haushaltsstelle", max: 60)
        let note = try f.text("hinweis", "den Hinweis", max: 1000, required: false)
        return CallOffInput(lot: lot, quantities: quantities, deliveryAddress: address, deliveryDate: date, costCentre: cost, note: note)
    }

    /// A member's call-off: the in-house rule, the framework's term, every item of the chosen lot
    /// within its order quantities and with a price on the day; above the tenant's threshold it
    /// waits for a second person, otherwise it goes to the provider's purchasing.
    static func submit(_ app: Application, tenant: Gebiet, input: CallOffInput, actor: any AuditActing, now: Date = Date()) async throws -> ProcurementCallOff {
        let day = BusinessDate.today(now)
        try await requireMember(app.db, tenant: tenant, day: day)
        guard let lot = try await ProcurementLot.find(input.lot, on: app.db),
              let fw = try await ProcurementFramework.find(lot.frameworkID, on: app.db) else { throw AppError.notFound }
        guard FrameworkStatus.usable(FrameworkStatus(rawValue: fw.status) ?? .preparation, startsOn: fw.startsOn, endsOn: fw.endsOn, on: day) else {
            throw AppError(.conflict, "beschaffung.laufzeit", de: "Aus dem Rahmenvertrag „\(fw.subject)“ kann am \(CalendarDay.display(day)) nicht abgerufen werden (Status oder Laufzeit).",
                           en: "The framework cannot be called off today (status or term).")
        }
        let entries = try await catalogue(app.db, day: day, lot: input.lot)
        var lines: [(ProcurementItem, OrderLine)] = []
        for (id, qty) in input.quantities.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            guard let e = entries.first(where: { $0.item.id == id }) else {
                throw AppError.invalid("menge_\(id.uuidString)", de: "Ein Artikel gehört nicht zu diesem Los.", en: "An item does not belong to this lot.")
            }
            guard let price = e.price else {
                throw AppError.invalid("menge_\(id.uuidString)", de: "Für „\(e.item.name)“ gilt heute noch kein Preis.", en: "\(e.item.name) has no price today.")
            }
            if qty < e.item.minQuantity || (e.item.maxQuantity > 0 && qty > e.item.maxQuantity) {
                let range = e.item.maxQuantity > 0 ? "\(e.item.minQuantity) bis \(e.item.maxQuantity)" : "mindestens \(e.item.minQuantity)"
                throw AppError.invalid("menge_\(id.uuidString)", de: "Die Menge für „\(e.item.name)“ muss \(range) \(UnitCode.name(e.item.unitCode)) betragen.",
                                       en: "The quantity of \(e.item.name) must be \(range).")
            }
            lines.append((e.item, OrderLine(articleNumber: e.item.articleNumber, name: e.item.name, quantity: qty, unitCode: e.item.unitCode,
                                            unitNetCents: price.netCents, feeCents: e.item.feeCents, vatPercent: e.item.vatPercent)))
        }
        let totals = OrderTotals(lines.map(\.1))
        let threshold = try await settings(app.db, tenant: tenant.ars)?.approvalThresholdCents ?? ProcurementSettings.defaultThresholdCents
        let priced = lines
        let status: CallOffStatus = ApprovalRule.needsSecondPerson(netCents: totals.netCents, thresholdCents: threshold) ? .awaitingApproval : .submitted
        return try await app.writeTransaction { db in
            let c = ProcurementCallOff()
            c.id = UUID()
            c.reference = "AB-\(day.prefix(4))-" + String(format: "%05d", try await Sequences.next("abruf-\(day.prefix(4))", on: db))
            c.tenantARS = tenant.ars; c.frameworkID = fw.id!; c.lotID = input.lot; c.status = status.rawValue
            c.requestedBy = actor.auditActor; c.approvedBy = ""; c.deliveryAddress = input.deliveryAddress; c.deliveryDate = input.deliveryDate
            c.costCentre = input.costCentre; c.note = input.note; c.reason = ""; c.goodsCents = totals.goodsCents; c.feeCents = totals.feeCents
            c.vatCents = totals.vatCents; c.priceDay = day; c.submittedAt = now; c.releasedBy = ""; c.supplierReference = ""
            c.createdAt = now; c.updatedAt = now
            try await c.create(on: db)
            for (item, l) in priced {
                let row = ProcurementCallOffLine()
                row.id = UUID(); row.callOffID = c.id!; row.itemID = item.id!; row.articleNumber = l.articleNumber; row.name = l.name; row.unitCode = l.unitCode
                row.quantity = l.quantity; row.unitNetCents = l.unitNetCents; row.feeCents = l.feeCents; row.vatPercent = l.vatPercent; row.deliveredQuantity = 0
                try await row.create(on: db)
            }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: tenant.ars, action: "beschaffung.abruf",
                                   objectType: "abruf", objectID: c.id!.uuidString, before: nil,
                                   after: AuditFields.encode([("Abruf", c.reference), ("Rahmenvertrag", fw.reference), ("Los", "\(lot.number) \(lot.title)"),
                                                              ("Positionen", "\(priced.count)"), ("Netto", Money(cents: totals.netCents).formattedDE),
                                                              ("Status", status.german)]))
            return c
        }
    }

    /// Moves a call-off from one status to another with one conditional UPDATE: of two people (or
    /// instances) acting at once exactly one wins, the other gets 409.
    static func move(_ db: any Database, _ id: UUID, from: [CallOffStatus], to: CallOffStatus, set extra: [(String, SQLExpression)] = []) async throws -> Bool {
        let sql = db as! any SQLDatabase
        var q = sql.update(ProcurementCallOff.schema).set("status", to: to.rawValue).set("updated_at", to: Date())
        for (k, v) in extra { q = q.set(SQLIdentifier(k), to: v) }
        let rows = try await q.where("id", .equal, id).where("status", .in, from.map(\.rawValue)).returning("id").all()
        return !rows.isEmpty
    }

    static func conflict(_ c: ProcurementCallOff) -> AppError {
        AppError(.conflict, "beschaffung.status", de: "Der Abruf \(c.reference) hat inzwischen einen anderen Stand. Bitte laden Sie die Seite neu.",
                 en: "Call-off \(c.reference) has changed meanwhile. Please reload the page.")
    }

    static func approve(_ app: Application, _ c: ProcurementCallOff, actor: any AuditActing) async throws {
        guard ApprovalRule.mayApprove(requester: c.requestedBy, approver: actor.auditActor) else {
            throw AppError(.forbidden, "beschaffung.vier_augen", de: "Einen Abruf, den Sie selbst angelegt haben, muss eine andere Person genehmigen.",
                           en: "A call-off you created must be approved by someone else.")
        }
        try await app.writeTransaction { db in
            guard try await move(db, c.id!, from: [.awaitingApproval], to: .submitted, set: [("approved_by", SQLBind(actor.auditActor))]) else { throw conflict(c) }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: c.tenantARS, action: "beschaffung.abruf_genehmigt",
                                   objectType: "abruf", objectID: c.id!.uuidString, before: CallOffStatus.awaitingApproval.german, after: CallOffStatus.submitted.german)
        }
    }

    static func reject(_ app: Application, _ c: ProcurementCallOff, reason: String, byPurchasing: Bool, actor: any AuditActing) async throws {
        let from: [CallOffStatus] = byPurchasing ? [.submitted] : [.awaitingApproval]
        if !byPurchasing, !ApprovalRule.mayApprove(requester: c.requestedBy, approver: actor.auditActor) {
            throw AppError(.forbidden, "beschaffung.vier_augen", de: "Einen Abruf, den Sie selbst angelegt haben, muss eine andere Person ablehnen; Sie können ihn stornieren.",
                           en: "A call-off you created must be rejected by someone else; you can cancel it.")
        }
        try await app.writeTransaction { db in
            guard try await move(db, c.id!, from: from, to: .rejected, set: [("reason", SQLBind(reason))]) else { throw conflict(c) }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: c.tenantARS, action: "beschaffung.abruf_abgelehnt",
                                   objectType: "abruf", objectID: c.id!.uuidString, before: CallOffStatus(rawValue: c.status)?.german, after: "abgelehnt: \(reason)")
        }
    }

    static func cancel(_ app: Application, _ c: ProcurementCallOff, actor: any AuditActing) async throws {
        try await app.writeTransaction { db in
            guard try await move(db, c.id!, from: [.awaitingApproval, .submitted], to: .cancelled) else { throw conflict(c) }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: c.tenantARS, action: "beschaffung.abruf_storniert",
                                   objectType: "abruf", objectID: c.id!.uuidString, before: CallOffStatus(rawValue: c.status)?.german, after: CallOffStatus.cancelled.german)
        }
    }

    /// The provider's purchasing releases a call-off to the supplier: the call-off's status and the
    /// framework's remaining volume change in one transaction, each by one conditional UPDATE, so a
    /// call-off is counted exactly once and the volume is never exceeded, also with several
    /// instances on one PostgreSQL. The order goes to the supplier through the outbox.
    static func release(_ app: Application, _ c: ProcurementCallOff, actor: any AuditActing, now: Date = Date()) async throws {
        guard let tenant = try await Gebiet.find(c.tenantARS, on: app.db) else { throw AppError.notFound }
        try await requireMember(app.db, tenant: tenant, day: BusinessDate.today(now))
        guard let fw = try await ProcurementFramework.find(c.frameworkID, on: app.db), let lot = try await ProcurementLot.find(c.lotID, on: app.db) else { throw AppError.notFound }
        let lines = try await ProcurementCallOffLine.query(on: app.db).filter(\.$callOffID == c.id!).all()
        let net = c.netCents
        let order = orderJSON(c, lines: lines, framework: fw, lot: lot, tenant: tenant)
        let pdf = try await ProcurementMemberController.orderDocument(app.db, c, releasedAt: now)
        try await app.writeTransaction { db in
            guard try await move(db, c.id!, from: [.submitted], to: .released,
                                 set: [("released_by", SQLBind(actor.auditActor)), ("released_at", SQLBind(now))]) else { throw conflict(c) }
            let sql = db as! any SQLDatabase
            let used = try await sql.raw("""
                UPDATE procurement_frameworks SET released_cents = released_cents + \(bind: net)
                WHERE id = \(bind: fw.id!) AND (max_volume_cents = 0 OR released_cents + \(bind: net) <= max_volume_cents) RETURNING released_cents
                """).all()
            guard !used.isEmpty else {
                // the transaction rolls back: the call-off stays with purchasing
                throw AppError(.conflict, "beschaffung.volumen",
                               de: "Der Abruf \(c.reference) (\(Money(cents: net).formattedDE) netto) übersteigt das verbleibende Volumen des Rahmenvertrags \(fw.reference). Bitte verringern Sie die Menge oder nutzen Sie einen anderen Rahmenvertrag.",
                               en: "Call-off \(c.reference) exceeds the framework's remaining volume.")
            }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: c.tenantARS, action: "beschaffung.abruf_freigegeben",
                                   objectType: "abruf", objectID: c.id!.uuidString, before: CallOffStatus.submitted.german,
                                   after: "bestellt bei \(lot.supplierName), \(Money(cents: net).formattedDE) netto")
            _ = try await Outbox.enqueue(on: db, key: "abruf-bestellung-\(c.id!.uuidString)", to: lot.supplierEmail,
                                         subject: "Bestellung \(c.reference) aus Rahmenvertrag \(fw.reference)",
                                         body: orderMail(c, lines: lines, framework: fw, lot: lot, tenant: tenant),
                                         attachment: MailAttachment(name: "bestellung-\(c.reference).json", mediaType: "application/json", content: order),
                                         more: [.binary(name: "bestellung-\(c.reference).pdf", mediaType: "application/pdf", data: pdf)])
        }
    }

    /// Supplier's confirmation (with its order number) and deliveries, recorded by purchasing.
    static func confirm(_ app: Application, _ c: ProcurementCallOff, supplierReference: String, actor: any AuditActing) async throws {
        try await app.writeTransaction { db in
            guard try await move(db, c.id!, from: [.released], to: .confirmed, set: [("supplier_reference", SQLBind(supplierReference))]) else { throw conflict(c) }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: c.tenantARS, action: "beschaffung.abruf_bestaetigt",
                                   objectType: "abruf", objectID: c.id!.uuidString, before: CallOffStatus.released.german, after: "bestätigt, Auftragsnummer \(supplierReference)")
        }
    }

    /// Delivered quantities per line (added to what was delivered before); all delivered → "geliefert".
    static func deliver(_ app: Application, _ c: ProcurementCallOff, quantities: [UUID: Int], actor: any AuditActing) async throws {
        try await app.writeTransaction { db in
            let lines = try await ProcurementCallOffLine.query(on: db).filter(\.$callOffID == c.id!).all()
            var changes: [(String, String)] = []
            for l in lines {
                guard let add = quantities[l.id!], add > 0 else { continue }
                guard l.deliveredQuantity + add <= l.quantity else {
                    throw AppError.invalid("geliefert_\(l.id!.uuidString)", de: "Für „\(l.name)“ sind nur noch \(l.quantity - l.deliveredQuantity) offen.", en: "Only \(l.quantity - l.deliveredQuantity) of \(l.name) are open.")
                }
                l.deliveredQuantity += add
                try await l.save(on: db)
                changes.append((l.name, "\(l.deliveredQuantity) von \(l.quantity)"))
            }
            guard !changes.isEmpty else {
                throw AppError.invalid("geliefert", de: "Bitte geben Sie mindestens eine gelieferte Menge an.", en: "Please enter at least one delivered quantity.")
            }
            let complete = lines.allSatisfy { $0.deliveredQuantity == $0.quantity }
            guard try await move(db, c.id!, from: [.released, .confirmed, .partlyDelivered], to: complete ? .delivered : .partlyDelivered) else { throw conflict(c) }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: c.tenantARS, action: "beschaffung.lieferung",
                                   objectType: "abruf", objectID: c.id!.uuidString, before: nil, after: AuditFields.encode(changes))
        }
    }

    static func receive(_ app: Application, _ c: ProcurementCallOff, actor: any AuditActing, now: Date = Date()) async throws {
        try await app.writeTransaction { db in
            guard try await move(db, c.id!, from: [.delivered], to: .received, set: [("received_at", SQLBind(now))]) else { throw conflict(c) }
            try await Audit.record(on: db, actor: actor.auditActor, actorID: actor.actorID, tenant: c.tenantARS, action: "beschaffung.abnahme",
                                   objectType: "abruf", objectID: c.id!.uuidString, before: CallOffStatus.delivered.german, after: CallOffStatus.received.german)
        }
    }

    // MARK: order document

    static func orderMail(_ c: ProcurementCallOff, lines: [ProcurementCallOffLine], framework fw: ProcurementFramework, lot: ProcurementLot, tenant: Gebiet) -> String {
        var s = """
            Guten Tag,

            im Rahmenvertrag \(fw.reference) („\(fw.subject)“), Los \(lot.number) „\(lot.title)“, bestellen wir für \(tenant.name):

            """
        for l in lines {
            s += "- \(l.quantity) \(UnitCode.name(l.unitCode)) \(l.name) (Art.-Nr. \(l.articleNumber)) zu \(Money(cents: l.unitNetCents).formattedDE) netto\n"
        }
        s += """

            Bestellnummer: \(c.reference)
            Lieferanschrift: \(c.deliveryAddress)
            Gewünschter Liefertermin: \(CalendarDay.display(c.deliveryDate))
            Warenwert netto: \(Money(cents: c.goodsCents).formattedDE)

            Bitte bestätigen Sie die Bestellung unter Angabe der Bestellnummer. Die Bestellung liegt als PDF und als strukturierte Daten (JSON) bei.
            Ihre Rechnung richten Sie bitte an den IT-Dienstleister, nicht an die Kommune.
            """
        return s
    }

    static func orderJSON(_ c: ProcurementCallOff, lines: [ProcurementCallOffLine], framework fw: ProcurementFramework, lot: ProcurementLot, tenant: Gebiet) -> String {
        struct Line: Encodable { var articleNumber: String; var name: String; var quantity: Int; var unitCode: String; var unitNetPrice: String; var vatPercent: Int }
        struct Order: Encodable {
            var orderNumber: String; var framework: String; var lot: Int; var buyer: String; var buyerARS: String; var deliveryAddress: String
            var deliveryDate: String; var costCentre: String; var currency = "EUR"; var goodsNet: String; var lines: [Line]; var note: String
        }
        let o = Order(orderNumber: c.reference, framework: fw.reference, lot: lot.number, buyer: tenant.name, buyerARS: tenant.ars,
                      deliveryAddress: c.deliveryAddress, deliveryDate: c.deliveryDate, costCentre: c.costCentre,
                      goodsNet: Money(cents: c.goodsCents).decimalString,
                      lines: lines.map { Line(articleNumber: $0.articleNumber, name: $0.name, quantity: $0.quantity, unitCode: $0.unitCode,
                                               unitNetPrice: Money(cents: $0.unitNetCents).decimalString, vatPercent: $0.vatPercent) }, note: c.note)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? enc.encode(o)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}

extension Optional {
    func asyncMap<T>(_ f: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let v = self else { return nil }
        return try await f(v)
    }
}
