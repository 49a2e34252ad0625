import Fluent
import Forms
import Vapor
import RathausCore

/// The cash office (Kasse) of a tenant: payments with filters, one payment with its items,
/// events and refunds, the daily reconciliation report, CSV export and the booking file.
struct CashOfficeController {
    func addRoutes(to web: any RoutesBuilder) {
        let k = web.grouped("mandanten", ":ars", "kasse")
        k.get(use: list)
        k.get("tagesbericht", use: daily)
        k.get("export.csv", use: exportCSV)
        k.get("buchungsdatei", use: bookingFile)
        k.post("abgleich", use: reconcile)
        k.get(":id", use: detail)
        k.post(":id", "erstattung", use: refund)
    }

    static func tenant(_ req: Request, _ action: Action) throws -> String {
        let ars = req.parameters.get("ars") ?? ""
        try req.authorize(action, tenant: ars)
        return ars
    }

    struct Row: Encodable { var id: String; var kassenzeichen: String; var date: String; var amount: String; var status: String; var method: String; var refunded: String; var purpose: String }
    struct Opt: Encodable { var value: String; var label: String; var selected: Bool }
    struct ListView: Encodable { var ars: String; var name: String; var rows: [Row]; var statuses: [Opt]; var q: String; var von: String; var bis: String; var total: String; var empty: Bool; var today: String }

    static func range(_ req: Request) -> (Date?, Date?) {
        let von = FormEngine.isoDate(req.queryParams["von"] ?? "").flatMap(GermanTime.startOfDay)
        let bis = FormEngine.isoDate(req.queryParams["bis"] ?? "").flatMap(GermanTime.startOfDay).map { $0.addingTimeInterval(86400) }
        return (von, bis)
    }

    @Sendable func list(req: Request) async throws -> Response {
        let ars = try Self.tenant(req, .paymentView)
        var q = Payment.query(on: req.db).filter(\.$tenantARS == ars).scoped(to: req.principal, for: .paymentView, tenantField: \.$tenantARS)
        if let s = req.queryParams["status"], let st = PaymentStatus(rawValue: s) { q = q.filter(\.$status == st.rawValue) }
        let (von, bis) = Self.range(req)
        if let von { q = q.filter(\.$createdAt >= von) }
        if let bis { q = q.filter(\.$createdAt < bis) }
        let text = (req.queryParams["q"] ?? "").trimmingCharacters(in: .whitespaces).uppercased()
        if !text.isEmpty { q = q.filter(\.$kassenzeichen == text) }
        let list = try await q.sort(\.$createdAt, .descending).limit(500).all()
        let rows = list.map { p in
            Row(id: p.id?.uuidString ?? "", kassenzeichen: p.kassenzeichen, date: GermanTime.format(p.paidAt ?? p.createdAt), amount: Money(cents: p.amountCents).formatted,
                status: p.paymentStatus.label, method: PaymentNames.method(p.paymentMethod), refunded: p.refundedCents > 0 ? Money(cents: p.refundedCents).formatted : "", purpose: p.purpose)
        }
        let paid = list.filter { $0.paymentStatus == .payed }.reduce(Int64(0)) { $0 + $1.amountCents - $1.refundedCents }
        return try await req.render("kasse/liste", title: req.t("cash_title"),
                                    ListView(ars: ars, name: try await req.application.responsibility.tenantName(ars, on: req), rows: rows,
                                             statuses: PaymentStatus.allCases.map { Opt(value: $0.rawValue, label: $0.label, selected: $0.rawValue == req.queryParams["status"]) },
                                             q: text, von: req.queryParams["von"] ?? "", bis: req.queryParams["bis"] ?? "", total: Money(cents: paid).formatted,
                                             empty: rows.isEmpty, today: BusinessDate.today()))
    }

    struct ItemRow: Encodable { var description: String; var quantity: Int; var amount: String; var haushaltsstelle: String; var kostentraeger: String; var objektnummer: String }
    struct RefundRow: Encodable { var amount: String; var reason: String; var by: String; var at: String }
    struct EventRow: Encodable { var at: String; var kind: String; var status: String; var applied: Bool }
    struct DetailView: Encodable {
        var ars: String; var id: String; var kassenzeichen: String; var amount: String; var status: String; var detail: String; var method: String; var provider: String
        var purpose: String; var created: String; var paid: String; var items: [ItemRow]; var refunds: [RefundRow]; var events: [EventRow]
        var refundable: String; var canRefund: Bool; var antragLink: String
    }

    @Sendable func detail(req: Request) async throws -> Response {
        let ars = try Self.tenant(req, .paymentView)
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)), let p = try await Payment.query(on: req.db).filter(\.$id == id)
            .filter(\.$tenantARS == ars).first() else { throw AppError.notFound }
        return try await req.render("kasse/zahlung", title: p.kassenzeichen, try await Self.detailView(req, p, ars: ars), form: true)
    }

    static func detailView(_ req: Request, _ p: Payment, ars: String) async throws -> DetailView {
        let id = try p.requireID()
        let items = try await PaymentItem.query(on: req.db).filter(\.$paymentID == id).sort(\.$position).all()
        let refunds = try await Refund.query(on: req.db).filter(\.$paymentID == id).sort(\.$createdAt).all()
        let events = try await PaymentEvent.query(on: req.db).filter(\.$paymentID == id).sort(\.$receivedAt).all()
        let people = try await ActorNames.load(refunds.map(\.by), on: req.db)
        return DetailView(ars: ars, id: id.uuidString, kassenzeichen: p.kassenzeichen, amount: Money(cents: p.amountCents).formatted, status: p.paymentStatus.label,
                          detail: p.statusDetail, method: PaymentNames.method(p.paymentMethod), provider: PaymentNames.provider(p.provider), purpose: p.purpose, created: GermanTime.format(p.createdAt),
                          paid: p.paidAt.map(GermanTime.format) ?? "",
                          items: items.map { ItemRow(description: $0.description, quantity: $0.quantity, amount: Money(cents: $0.totalCents).formatted,
                                                     haushaltsstelle: $0.haushaltsstelle, kostentraeger: $0.kostentraeger, objektnummer: $0.objektnummer) },
                          refunds: refunds.map { RefundRow(amount: Money(cents: $0.amountCents).formatted, reason: $0.reason, by: people.display($0.by), at: GermanTime.format($0.createdAt)) },
                          events: events.map { EventRow(at: GermanTime.format($0.receivedAt), kind: PaymentNames.eventKind($0.kind), status: PaymentNames.status($0.status), applied: $0.applied) },
                          refundable: Money(cents: p.amountCents - p.refundedCents).formatted,
                          canRefund: p.paymentStatus == .payed && p.refundedCents < p.amountCents && req.can(.paymentRefund, tenant: ars),
                          antragLink: p.antragID.map { "/mandanten/\(ars)/antraege/\($0.uuidString)" } ?? "")
    }

    /// Full or partial refund with a reason (cash office, or the clerk from the case page).
    @Sendable func refund(req: Request) async throws -> Response {
        let ars = try Self.tenant(req, .paymentRefund)
        guard let id = req.parameters.get("id").flatMap(UUID.init(uuidString:)), let p = try await Payment.query(on: req.db).filter(\.$id == id)
            .filter(\.$tenantARS == ars).first() else { throw AppError.notFound }
        let rawAmount = (try? req.content.get(String.self, at: "betrag")) ?? ""
        let reason = (try? req.content.get(String.self, at: "grund")) ?? ""
        let back = (try? req.content.get(String.self, at: "zurueck")) == "antrag" && p.antragID != nil
            ? "/mandanten/\(ars)/antraege/\(p.antragID!.uuidString)" : "/mandanten/\(ars)/kasse/\(id.uuidString)"
        do {
            let cents: Int64
            do { cents = rawAmount.isEmpty ? p.amountCents - p.refundedCents : try Money(parsing: rawAmount).cents } catch {
                throw AppError.invalid("betrag", de: "Der Betrag ist kein Geldbetrag. Bitte z. B. 20,00 eingeben oder leer lassen (ganzer Betrag).", en: "Not an amount.")
            }
            try await PaymentService.refund(p, cents: cents, reason: reason, app: req.application, actor: req.principal.auditActor, actorID: req.principal.actorID)
        } catch let e as AppError where e.status.code < 500 && !back.contains("/antraege/") {
            return try await req.renderError("kasse/zahlung", title: p.kassenzeichen, try await Self.detailView(req, p, ars: ars), e)
        }
        return req.redirect(to: back, redirectType: .normal)
    }

    // MARK: reconciliation

    struct Sum: Encodable { var key: String; var count: Int; var amount: String }
    struct DailyView: Encodable {
        var ars: String; var date: String; var dateISO: String; var byHaushaltsstelle: [Sum]; var byMethod: [Sum]; var byProvider: [Sum]
        var refunds: [Sum]; var total: String; var count: Int; var unmatched: [String]; var empty: Bool
        var payouts: [PayoutRow]; var canReconcile: Bool
    }
    struct PayoutRow: Encodable { var provider: String; var providerName: String; var expected: String; var received: String; var state: String; var done: Bool; var ok: Bool }

    /// Items of payments paid on `day` (Europe/Berlin), with their payment.
    static func paidItems(_ req: Request, ars: String, from: Date, to: Date) async throws -> [(Payment, PaymentItem)] {
        let payments = try await Payment.query(on: req.db).filter(\.$tenantARS == ars).filter(\.$status == PaymentStatus.payed.rawValue)
            .filter(\.$paidAt >= from).filter(\.$paidAt < to).sort(\.$paidAt).all()
        guard !payments.isEmpty else { return [] }
        let items = try await PaymentItem.query(on: req.db).filter(\.$paymentID ~~ payments.compactMap(\.id)).sort(\.$position).all()
        return items.compactMap { i in payments.first { $0.id == i.paymentID }.map { ($0, i) } }
    }

    static func day(_ req: Request) -> (String, Date, Date) {
        let iso = FormEngine.isoDate(req.queryParams["datum"] ?? "") ?? BusinessDate.today()
        let start = GermanTime.startOfDay(iso) ?? Date()
        return (iso, start, start.addingTimeInterval(86400))
    }

    @Sendable func daily(req: Request) async throws -> Response {
        let ars = try Self.tenant(req, .paymentView)
        let (iso, from, to) = Self.day(req)
        let rows = try await Self.paidItems(req, ars: ars, from: from, to: to)
        func group(_ key: ((Payment, PaymentItem)) -> String) -> [Sum] {
            Dictionary(grouping: rows, by: key).map { k, v in Sum(key: k.isEmpty ? "–" : k, count: v.count, amount: Money(cents: v.reduce(0) { $0 + $1.1.totalCents }).formatted) }
                .sorted { $0.key < $1.key }
        }
        let refundSums = try await Self.refunds(req, ars: ars, from: from, to: to).map { r, p in
            Sum(key: "\(p.kassenzeichen): \(r.reason)", count: 1, amount: "−" + Money(cents: r.amountCents).formatted)
        }
        // a paid payment without items, or an item without Haushaltsstelle, cannot be booked: flagged
        var unmatched = rows.filter { $0.1.haushaltsstelle.isEmpty }.map { "\($0.0.kassenzeichen): Position ohne Haushaltsstelle" }
        let paidIDs = Set(rows.map { $0.0.id })
        for p in try await Payment.query(on: req.db).filter(\.$tenantARS == ars).filter(\.$status == PaymentStatus.payed.rawValue)
            .filter(\.$paidAt >= from).filter(\.$paidAt < to).all() where !paidIDs.contains(p.id) {
            unmatched.append("\(p.kassenzeichen): keine Positionen")
        }
        let total = rows.reduce(Int64(0)) { $0 + $1.1.totalCents }
        let expected = try await Self.expectedPayouts(req, ars: ars, iso: iso, from: from, to: to)
        let stored = try await Payout.query(on: req.db).filter(\.$tenantARS == ars).filter(\.$date == iso).all()
        let payouts = Set(expected.keys).union(stored.map(\.provider)).sorted().map { prov -> PayoutRow in
            let exp = expected[prov] ?? 0
            if let s = stored.first(where: { $0.provider == prov }) {
                let ok = s.receivedCents == exp
                return PayoutRow(provider: prov, providerName: PaymentNames.provider(prov), expected: Money(cents: exp).formatted, received: Money(cents: s.receivedCents).formatted,
                                 state: ok ? (DisplayLanguage.english ? "reconciled" : "abgeglichen") : (DisplayLanguage.english ? "difference " : "Differenz ") + Money(cents: s.receivedCents - exp).formatted, done: true, ok: ok)
            }
            return PayoutRow(provider: prov, providerName: PaymentNames.provider(prov), expected: Money(cents: exp).formatted, received: "", state: DisplayLanguage.english ? "open" : "offen", done: false, ok: false)
        }
        for p in payouts where p.done && !p.ok { unmatched.append("Auszahlung \(p.providerName): \(p.state)") }
        // earlier days (two weeks) with payments whose payout has not been reconciled: the
        // expected payouts of all fourteen days and their reconciliations in a few queries
        let earlier = (1...14).map { from.addingTimeInterval(-Double($0) * 86400) }
        let earlierISO = earlier.map { String(Audit.timestamp($0.addingTimeInterval(3600 * 12)).prefix(10)) }
        let expectedEarlier = try await Self.expectedPayouts(req, ars: ars, days: earlier)
        let reconciled = try await Payout.query(on: req.db).filter(\.$tenantARS == ars).filter(\.$date ~~ earlierISO).all()
        for (k, dayISO) in earlierISO.enumerated() {
            let done = reconciled.filter { $0.date == dayISO }.map(\.provider)
            for (prov, cents) in expectedEarlier[k].sorted(by: { $0.key < $1.key }) where cents != 0 && !done.contains(prov) {
                unmatched.append("\(FormEngine.germanDate(dayISO)): Auszahlung \(PaymentNames.provider(prov)) über \(Money(cents: cents).formatted) noch nicht abgeglichen")
            }
        }
        return try await req.render("kasse/tagesbericht", title: req.t("cash_daily"),
                                    DailyView(ars: ars, date: FormEngine.germanDate(iso), dateISO: iso, byHaushaltsstelle: group { $0.1.haushaltsstelle },
                                              byMethod: group { PaymentNames.method($0.0.paymentMethod) }, byProvider: group { PaymentNames.provider($0.0.provider) }, refunds: refundSums,
                                              total: Money(cents: total).formatted, count: Set(rows.map { $0.0.id }).count, unmatched: unmatched, empty: rows.isEmpty,
                                              payouts: payouts, canReconcile: req.can(.paymentRefund, tenant: ars)))
    }

    @Sendable func exportCSV(req: Request) async throws -> Response {
        let ars = try Self.tenant(req, .paymentView)
        let (von, bis) = Self.range(req)
        let rows = try await Self.paidItems(req, ars: ars, from: von ?? Date(timeIntervalSince1970: 0), to: bis ?? Date().addingTimeInterval(86400))
        var lines = [["Datum", "Kassenzeichen", "Haushaltsstelle", "Kostentraeger", "Objektnummer", "Betrag", "Zahlart", "Dienstleister", "Verwendungszweck", "Erstattet"]]
        for (p, i) in rows {
            lines.append([GermanTime.format(p.paidAt ?? p.createdAt, english: false), p.kassenzeichen, i.haushaltsstelle, i.kostentraeger, i.objektnummer,
                          Money(cents: i.totalCents).decimalString.replacingOccurrences(of: ".", with: ","), p.paymentMethod, p.provider, p.purpose,
                          Money(cents: p.refundedCents).decimalString.replacingOccurrences(of: ".", with: ",")])
        }
        let res = Response(status: .ok, body: .init(string: CSV.document(lines, delimiter: ";")))
        res.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"zahlungen-\(ars).csv\"")
        return res
    }

    /// One booking line per item of the day, amounts in cents, for import into the finance software.
    @Sendable func bookingFile(req: Request) async throws -> Response {
        let ars = try Self.tenant(req, .paymentView)
        let (iso, from, to) = Self.day(req)
        let rows = try await Self.paidItems(req, ars: ars, from: from, to: to)
        var lines = [["Satzart", "Buchungsdatum", "Kassenzeichen", "Haushaltsstelle", "Kostentraeger", "Objektnummer", "BetragCent", "Buchungstext"]]
        for (p, i) in rows {
            lines.append(["IST", iso, p.kassenzeichen, i.haushaltsstelle, i.kostentraeger, i.objektnummer, String(i.totalCents), "\(p.purpose) \(i.description)"])
        }
        let refunds = try await Self.refunds(req, ars: ars, from: from, to: to)
        // a refund is booked on the payment's first item (its Haushaltsstelle)
        let items = refunds.isEmpty ? [] : try await PaymentItem.query(on: req.db).filter(\.$paymentID ~~ Array(Set(refunds.map { $0.0.paymentID })))
            .sort(\.$position).all()
        for (r, p) in refunds {
            guard let first = items.first(where: { $0.paymentID == r.paymentID }) else { continue }
            lines.append(["ERSTATTUNG", iso, p.kassenzeichen, first.haushaltsstelle, first.kostentraeger, first.objektnummer, String(-r.amountCents), r.reason])
        }
        let res = Response(status: .ok, body: .init(string: CSV.document(lines, delimiter: ";")))
        res.headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
        res.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"buchungsdatei-\(ars)-\(iso).csv\"")
        return res
    }
}
