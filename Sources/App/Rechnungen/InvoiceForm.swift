import Fluent
import Foundation
import RathausCore
import Vapor
import XRechnung

/// Web form for small suppliers without accounting software: the form becomes an EN 16931
/// model, Rathaus writes it as XRechnung (UBL), validates it with the same validator as every
/// other invoice, and takes it in. Amounts are computed in integer cents.
struct InvoiceFormController {
    func addRoutes(web: any RoutesBuilder) {
        web.get("rechnungen", "erfassen", use: page)
        web.post("rechnungen", "erfassen", use: submit)
        web.get("rechnungen", "status", ":token", "xml", use: download)
    }

    static let lineCount = 5
    static let units: [(String, String)] = [("C62", "Stück"), ("HUR", "Stunde"), ("DAY", "Tag"), ("KGM", "Kilogramm"), ("MTR", "Meter"), ("LS", "pauschal")]
    static let rates: [(String, String)] = [("19", "19 %"), ("7", "7 %"), ("ku", "0 % – Kleinunternehmer (§ 19 UStG)")]

    struct LineInput: Codable {
        var text: String = ""
        var menge: String = ""
        var einheit: String = "C62"
        var preis: String = ""
        var satz: String = "19"
    }

    struct FormInput: Codable {
        var leitweg: String = ""
        var nummer: String = ""
        var datum: String = ""
        var leistungsdatum: String = ""
        var faellig: String = ""
        var v_name: String = ""
        var v_strasse: String = ""
        var v_plz: String = ""
        var v_ort: String = ""
        var v_ustid: String = ""
        var v_steuernr: String = ""
        var v_kontakt: String = ""
        var v_telefon: String = ""
        var v_email: String = ""
        var iban: String = ""
        var kontoinhaber: String = ""
        var k_name: String = ""
        var k_strasse: String = ""
        var k_plz: String = ""
        var k_ort: String = ""
        var zeilen: [LineInput] = []
    }

    struct Option: Encodable { var value: String; var label: String; var selected: Bool }
    struct LineView: Encodable { var n: Int; var text: String; var menge: String; var preis: String; var units: [Option]; var rates: [Option] }
    struct FormView: Encodable {
        var f: FormInput
        var lines: [LineView]
        var receipt: String
        var accepted: Bool
        var number: String
        var leitweg: String
        var total: String
        var findings: [InvoiceController.FindingDTO]
        var hasFindings: Bool
        /// Message per field, so every field in error shows its own message.
        var err: [String: String]
    }

    func view(_ f: FormInput, accepted: Bool = false, receipt: String = "", total: String = "", findings: [InvoiceController.FindingDTO] = [], errors: [FieldError] = []) -> FormView {
        var rows = f.zeilen
        while rows.count < Self.lineCount { rows.append(LineInput()) }
        let lines = rows.prefix(Self.lineCount).enumerated().map { i, l in
            LineView(n: i + 1, text: l.text, menge: l.menge, preis: l.preis,
                     units: Self.units.map { Option(value: $0.0, label: $0.1, selected: $0.0 == l.einheit) },
                     rates: Self.rates.map { Option(value: $0.0, label: $0.1, selected: $0.0 == l.satz) })
        }
        return FormView(f: f, lines: Array(lines), receipt: receipt, accepted: accepted, number: f.nummer, leitweg: f.leitweg, total: total,
                        findings: findings, hasFindings: !findings.isEmpty,
                        err: Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a }))
    }

    @Sendable func page(req: Request) async throws -> Response {
        var f = FormInput()
        f.datum = CalendarDay.display(BusinessDate.today())
        f.leitweg = String((req.queryParams["leitweg"] ?? "").prefix(60))
        return try await req.render("rechnungen/erfassen", title: req.t("inv_form_title"), view(f), form: true)
    }

    /// Reads the flat form fields (`zeile1_text` …) into the input.
    static func decode(_ req: Request) -> FormInput {
        var f = FormInput()
        func s(_ k: String) -> String { ((try? req.content.get(String.self, at: k)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        f.leitweg = s("leitweg").uppercased(); f.nummer = s("nummer"); f.datum = s("datum"); f.leistungsdatum = s("leistungsdatum"); f.faellig = s("faellig")
        f.v_name = s("v_name"); f.v_strasse = s("v_strasse"); f.v_plz = s("v_plz"); f.v_ort = s("v_ort"); f.v_ustid = s("v_ustid").uppercased()
        f.v_steuernr = s("v_steuernr"); f.v_kontakt = s("v_kontakt"); f.v_telefon = s("v_telefon"); f.v_email = s("v_email")
        f.iban = s("iban").uppercased(); f.kontoinhaber = s("kontoinhaber")
        f.k_name = s("k_name"); f.k_strasse = s("k_strasse"); f.k_plz = s("k_plz"); f.k_ort = s("k_ort")
        for i in 1...lineCount {
            f.zeilen.append(LineInput(text: s("zeile\(i)_text"), menge: s("zeile\(i)_menge"), einheit: s("zeile\(i)_einheit").isEmpty ? "C62" : s("zeile\(i)_einheit"),
                                      preis: s("zeile\(i)_preis"), satz: s("zeile\(i)_satz").isEmpty ? "19" : s("zeile\(i)_satz")))
        }
        return f
    }

    /// German decimal quantity ("1,5", "2") → Decimal with at most 4 decimals.
    static func quantity(_ raw: String) -> Decimal? {
        let s = raw.replacingOccurrences(of: ".", with: "").replacingOccurrences(of: ",", with: ".")
        guard !s.isEmpty, s.allSatisfy({ $0.isNumber || $0 == "." }), s.filter({ $0 == "." }).count <= 1,
              (s.split(separator: ".").dropFirst().first?.count ?? 0) <= 4, let d = Decimal(string: s, locale: Locale(identifier: "en_US_POSIX")), d > 0 else { return nil }
        return d
    }

    static func cents(_ c: Int64) -> DecimalValue { DecimalValue(Money(cents: c).decimalString)! }

    struct Built { var invoice: Invoice; var errors: [FieldError]; var totalCents: Int64 }

    /// Validates the form (German messages per field) and builds the model.
    static func build(_ f: FormInput, buyerName: String) -> Built {
        var errors: [FieldError] = []
        // messages in the page's language; the German text is the reference
        let en = DisplayLanguage.english
        func m(_ de: String, _ english: String) -> String { en ? english : de }
        func need(_ v: String, _ field: String, _ label: String, _ labelEN: String, max: Int = 200) {
            if v.isEmpty { errors.append(FieldError(field: field, message: m("Bitte geben Sie \(label) an.", "Please enter \(labelEN)."))) }
            else if v.count > max {
                errors.append(FieldError(field: field, message: m("\(label.prefix(1).uppercased() + label.dropFirst()) darf höchstens \(max) Zeichen lang sein.",
                                                                   "\(labelEN.prefix(1).uppercased() + labelEN.dropFirst()) may have at most \(max) characters.")))
            }
        }
        need(f.nummer, "nummer", "die Rechnungsnummer", "the invoice number", max: 50)
        var f = f
        // German or ISO as typed; the invoice carries ISO
        for (path, field, label) in [(\FormInput.datum, "datum", "das Rechnungsdatum"), (\FormInput.leistungsdatum, "leistungsdatum", "das Leistungsdatum"), (\FormInput.faellig, "faellig", "das Fälligkeitsdatum")] {
            do { f[keyPath: path] = try BusinessDate.parse(f[keyPath: path], field: field, label: label, required: true) ?? "" } catch let e as AppError {
                errors.append(FieldError(field: field, message: e.message(en ? .en : .de)))
            } catch {}
        }
        need(f.v_name, "v_name", "Ihren Namen oder Firmennamen", "your name or company name")
        need(f.v_strasse, "v_strasse", "Ihre Straße und Hausnummer", "your street and number")
        if f.v_plz.count != 5 || !f.v_plz.allSatisfy(\.isNumber) { errors.append(FieldError(field: "v_plz", message: m("Bitte geben Sie Ihre Postleitzahl mit fünf Ziffern an.", "Please enter your five-digit postcode."))) }
        need(f.v_ort, "v_ort", "Ihren Ort", "your town")
        if f.v_ustid.isEmpty && f.v_steuernr.isEmpty {
            errors.append(FieldError(field: "v_ustid", message: m("Bitte geben Sie Ihre Umsatzsteuer-Identifikationsnummer oder Ihre Steuernummer an.", "Please enter your VAT ID or your tax number.")))
        } else if !f.v_ustid.isEmpty && !(f.v_ustid.count >= 4 && f.v_ustid.count <= 14 && f.v_ustid.prefix(2).allSatisfy(\.isLetter)) {
            errors.append(FieldError(field: "v_ustid", message: m("Die Umsatzsteuer-Identifikationsnummer beginnt mit dem Ländercode, z. B. DE123456789.", "The VAT ID starts with the country code, e.g. DE123456789.")))
        }
        need(f.v_kontakt, "v_kontakt", "eine Ansprechperson", "a contact person")
        if f.v_telefon.filter(\.isNumber).count < 3 { errors.append(FieldError(field: "v_telefon", message: m("Bitte geben Sie eine Telefonnummer mit mindestens drei Ziffern an.", "Please enter a phone number with at least three digits."))) }
        let mailParts = f.v_email.split(separator: "@")
        if mailParts.count != 2 || !mailParts[1].contains(".") || f.v_email.count > 200 { errors.append(FieldError(field: "v_email", message: m("Bitte geben Sie eine gültige E-Mail-Adresse an, z. B. rechnung@firma.de.", "Please enter a valid e-mail address, e.g. invoices@company.com."))) }
        let iban = f.iban.filter { !$0.isWhitespace }
        if iban.count < 15 || !XRechnungCIUS.ibanOK(iban) { errors.append(FieldError(field: "iban", message: m("Die IBAN ist nicht gültig. Bitte prüfen Sie Länge und Prüfziffer (z. B. DE02 1203 0000 0000 2020 51).", "The IBAN is not valid. Please check its length and check digits (e.g. DE02 1203 0000 0000 2020 51)."))) }
        need(f.k_name, "k_name", "den Namen der Kommune oder Dienststelle", "the name of the municipality or office")
        need(f.k_strasse, "k_strasse", "die Straße der Rechnungsanschrift", "the street of the billing address")
        if f.k_plz.count != 5 || !f.k_plz.allSatisfy(\.isNumber) { errors.append(FieldError(field: "k_plz", message: m("Bitte geben Sie die Postleitzahl der Kommune mit fünf Ziffern an.", "Please enter the municipality's five-digit postcode."))) }
        need(f.k_ort, "k_ort", "den Ort der Kommune", "the municipality's town")

        var inv = Invoice(syntax: .ublInvoice)
        inv.specificationID = Scenario.xrechnungID
        inv.processID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
        inv.number = f.nummer
        inv.issueDate = f.datum
        inv.typeCode = "380"
        inv.currency = "EUR"
        inv.dueDate = f.faellig
        inv.buyerReference = f.leitweg
        inv.seller.name = f.v_name
        inv.seller.vatID = f.v_ustid.isEmpty ? nil : f.v_ustid
        inv.seller.taxRegistrationID = f.v_steuernr.isEmpty ? nil : f.v_steuernr
        inv.seller.electronicAddress = Identifier(f.v_email, scheme: "EM")
        var sa = Address(); sa.line1 = f.v_strasse; sa.postCode = f.v_plz; sa.city = f.v_ort; sa.country = "DE"
        inv.seller.address = sa
        var c = Contact(); c.name = f.v_kontakt; c.phone = f.v_telefon; c.email = f.v_email
        inv.seller.contact = c
        inv.buyer.name = f.k_name.isEmpty ? buyerName : f.k_name
        inv.buyer.electronicAddress = Identifier(f.leitweg, scheme: "0204")
        var ba = Address(); ba.line1 = f.k_strasse; ba.postCode = f.k_plz; ba.city = f.k_ort; ba.country = "DE"
        inv.buyer.address = ba
        inv.delivery = Delivery(partyName: nil, locationID: nil, date: f.leistungsdatum, address: nil)
        var pay = PaymentInstructions()
        pay.typeCode = "58"
        pay.creditTransfers = [CreditTransfer(accountID: iban, accountName: f.kontoinhaber.isEmpty ? nil : f.kontoinhaber, providerID: nil)]
        inv.payment = [pay]

        // Lines: net per line = quantity × price, rounded to cents; VAT per rate on the sums.
        var lineTotals: [(cat: String, rate: String, cents: Int64)] = []
        var used = 0
        for (i, l) in f.zeilen.enumerated() {
            let n = i + 1
            let empty = l.text.isEmpty && l.menge.isEmpty && l.preis.isEmpty
            if empty { continue }
            used += 1
            if l.text.isEmpty || l.text.count > 200 { errors.append(FieldError(field: "zeile\(n)_text", message: m("Bitte beschreiben Sie die Leistung in Zeile \(n) (höchstens 200 Zeichen).", "Please describe the service in line \(n) (at most 200 characters)."))) }
            guard let q = quantity(l.menge) else {
                errors.append(FieldError(field: "zeile\(n)_menge", message: m("Die Menge in Zeile \(n) muss eine Zahl größer als 0 sein, z. B. 2 oder 1,5.", "The quantity in line \(n) must be a number greater than 0, e.g. 2 or 1,5."))); continue
            }
            let price: Money
            do { price = try Money(parsing: l.preis) } catch {
                errors.append(FieldError(field: "zeile\(n)_preis", message: m("Der Einzelpreis in Zeile \(n) ist kein Betrag. Bitte z. B. 120,00 eingeben.", "The unit price in line \(n) is not an amount. Please enter e.g. 120,00."))); continue
            }
            guard price.cents >= 0 else { errors.append(FieldError(field: "zeile\(n)_preis", message: m("Der Einzelpreis in Zeile \(n) darf nicht negativ sein.", "The unit price in line \(n) must not be negative."))); continue }
            guard Self.units.contains(where: { $0.0 == l.einheit }), Self.rates.contains(where: { $0.0 == l.satz }) else {
                errors.append(FieldError(field: "zeile\(n)_einheit", message: m("Bitte wählen Sie Einheit und Steuersatz in Zeile \(n) aus der Liste.", "Please choose unit and VAT rate in line \(n) from the list."))); continue
            }
            var raw = q * Decimal(price.cents)
            var rounded = Decimal()
            NSDecimalRound(&rounded, &raw, 0, .plain)
            let net = NSDecimalNumber(decimal: rounded).int64Value
            let (cat, rate) = l.satz == "ku" ? ("E", "0") : ("S", l.satz)
            var line = InvoiceLine()
            line.id = String(n)
            line.itemName = l.text
            line.quantity = DecimalValue("\(q)")
            line.unitCode = l.einheit
            line.netAmount = cents(net)
            line.netPrice = cents(price.cents)
            line.vatCategory = cat
            line.vatRate = DecimalValue(rate)
            inv.lines.append(line)
            lineTotals.append((cat, rate, net))
        }
        if used == 0 { errors.append(FieldError(field: "zeile1_text", message: m("Bitte geben Sie mindestens eine Rechnungszeile an.", "Please enter at least one invoice line."))) }
        let cats = Set(lineTotals.map(\.cat))
        if cats.count > 1 { errors.append(FieldError(field: "zeile1_satz", message: m("Kleinunternehmer-Zeilen (§ 19 UStG) und Zeilen mit Umsatzsteuer können nicht in einer Rechnung stehen.", "Small-business lines (§ 19 UStG) and lines with VAT cannot be in one invoice."))) }
        var vatCents: Int64 = 0
        for key in Set(lineTotals.map { "\($0.cat)|\($0.rate)" }).sorted() {
            let parts = key.split(separator: "|").map(String.init)
            let base = lineTotals.filter { $0.cat == parts[0] && $0.rate == parts[1] }.reduce(Int64(0)) { $0 + $1.cents }
            let rate = Int64(parts[1]) ?? 0
            // half up on cents: base × rate / 100
            let tax = (base * rate * 2 + 100) / 200
            vatCents += tax
            var b = VATBreakdown()
            b.category = parts[0]
            b.rate = DecimalValue(parts[1])
            b.taxableAmount = cents(base)
            b.taxAmount = cents(tax)
            if parts[0] == "E" {
                b.exemptionReason = "Kein Ausweis von Umsatzsteuer, da Kleinunternehmer gemäß § 19 UStG"
            }
            inv.vatBreakdown.append(b)
        }
        let netSum = lineTotals.reduce(Int64(0)) { $0 + $1.cents }
        inv.totals.lineNetSum = cents(netSum)
        inv.totals.withoutVAT = cents(netSum)
        inv.totals.vatTotal = cents(vatCents)
        inv.totals.withVAT = cents(netSum + vatCents)
        inv.totals.due = cents(netSum + vatCents)
        return Built(invoice: inv, errors: errors, totalCents: netSum + vatCents)
    }

    @Sendable func submit(req: Request) async throws -> Response {
        let f = Self.decode(req)
        // The Leitweg-ID decides the recipient; check it first so the message names it.
        var errors: [FieldError] = []
        var buyerName = ""
        if let lid = try? LeitwegID(f.leitweg),
           let entry = try await LeitwegEntry.query(on: req.db).filter(\.$leitwegID == lid.description).filter(\.$active == true).first() {
            buyerName = try await Gebiet.find(entry.tenantARS, on: req.db)?.name ?? ""
        } else {
            errors.append(FieldError(field: "leitweg", message: InvoiceIntake.routingError(f.leitweg).message(req.lang)))
        }
        let built = Self.build(f, buyerName: buyerName)
        errors += built.errors
        if !errors.isEmpty {
            return try await req.render("rechnungen/erfassen", title: req.t("inv_form_title"), view(f, errors: errors), errors: errors, status: .badRequest, form: true)
        }
        let xml = Data(UBLWriter.write(built.invoice).utf8)
        do {
            try await req.admitInvoices(1)
            switch try await InvoiceIntake.receive(req, data: xml, channel: "formular", supplierEmail: f.v_email) {
            case .accepted(_, let receipt, _):
                return try await req.render("rechnungen/erfassen", title: req.t("inv_form_title"),
                                            view(f, accepted: true, receipt: receipt, total: Money(cents: built.totalCents).formatted), form: true)
            case .invalid(let report):
                // Should not happen for a form we built; show what the validator says rather than hide it.
                return try await req.render("rechnungen/erfassen", title: req.t("inv_form_title"),
                                            view(f, findings: report.errors.map(InvoiceController.FindingDTO.init)),
                                            errors: [FieldError(field: "", message: req.lang == .en ? "The invoice built from your entries is not valid; please check them." : "Die erzeugte Rechnung ist nicht gültig; bitte prüfen Sie die Angaben.")],
                                            status: .unprocessableEntity, form: true)
            }
        } catch let e as AppError {
            let fe = [FieldError(field: e.code == "rechnung.duplicate" ? "nummer" : "leitweg", message: e.message(req.lang))]
            return try await req.render("rechnungen/erfassen", title: req.t("inv_form_title"), view(f, errors: fe), errors: fe, status: e.status, form: true)
        }
    }

    /// The supplier downloads the invoice as received (e.g. the XRechnung the form generated).
    @Sendable func download(req: Request) async throws -> Response {
        let e = try await InvoiceController.byReceipt(req)
        return InvoiceController.xmlResponse(try await InvoiceIntake.original(req, e), e)
    }
}
