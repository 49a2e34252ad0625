import Foundation
import RathausCore

/// Readable, accessible HTML of an invoice and its validation report, grouped like the official
/// visualisation: overview, seller, buyer, payee/tax representative, delivery, lines,
/// allowances/charges, VAT breakdown, totals, payment instructions, attachments.
public enum InvoiceHTML {
    /// A label in the language of the page being rendered (the CLI renders German).
    static func L(_ de: String, _ en: String) -> String { DisplayLanguage.english ? en : de }

    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// A full standalone page (CLI `--html`).
    public static func render(report: ValidationReport, title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="de"><head><meta charset="utf-8"><title>\(escape(title)) – Prüfbericht</title>
        <style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
        table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}
        td.num{text-align:right}.ok{color:#0a5d1a}.bad{color:#a00}dt{font-weight:bold}dd{margin:0 0 .4rem 0}</style></head>
        <body><main><h1>\(escape(title))</h1>
        \(reportSection(report))
        \(report.invoice.map { fragment($0, attachmentLink: nil) } ?? "")
        </main></body></html>
        """
    }

    /// The validation verdict and findings as an HTML fragment.
    public static func reportSection(_ report: ValidationReport) -> String {
        var h = "<section aria-labelledby=\"pruefung\"><h2 id=\"pruefung\">\(L("Prüfergebnis", "Validation result"))</h2>"
        if let pdf = report.extractedFromPDF {
            h += "<p>" + L("Aus dem ZUGFeRD/Factur-X-PDF entnommen: ", "Taken from the ZUGFeRD/Factur-X PDF: ") + "<code>\(escape(pdf))</code>. "
                + L("Geprüft wird die eingebettete XML-Rechnung.", "The embedded XML invoice is validated.") + "</p>"
        }
        if report.isValid {
            h += "<p class=\"ok\"><strong>\(L("Gültig", "Valid"))</strong>\(report.scenario.map { L(" nach „\(escape($0.name))“", " according to “\(escape($0.name))”") } ?? "").</p>"
        } else {
            h += "<p class=\"bad\"><strong>\(L("Nicht gültig.", "Not valid."))</strong> "
                + L("\(report.errors.count) Fehler – bitte korrigieren und erneut senden.", "\(report.errors.count) error(s) – please correct the invoice and send it again.") + "</p>"
        }
        if !report.findings.isEmpty {
            // what is wrong, in plain language first (German, or the rule's official English text);
            // the rule, its BT number and the XPath are for the supplier's software vendor, folded away
            h += "<h3>\(L("Befunde", "Findings"))</h3><ol class=\"findings\">"
            for f in report.findings.sorted(by: { $0.severity < $1.severity }) {
                let severity = DisplayLanguage.english ? f.severity.english : f.severity.german
                h += "<li><p><strong>\(severity):</strong> \(escape(DisplayLanguage.english ? englishMessage(f) : f.messageDE))</p>"
                h += "<details><summary>\(L("Technische Angaben für Softwarehersteller", "Technical details for software vendors"))</summary><dl><dt>\(L("Regel", "Rule"))</dt><dd><code>\(escape(f.rule))</code></dd>"
                h += "<dt>\(L("Stelle (XPath)", "Location (XPath)"))</dt><dd><code>\(escape(f.location))</code></dd></dl></details></li>"
            }
            h += "</ol>"
        }
        return h + "</section>"
    }

    /// The official English rule text without its "[BR-CO-13]-" prefix (the rule id is in the details).
    static func englishMessage(_ f: Finding) -> String {
        var m = f.messageEN
        if m.hasPrefix("["), let close = m.firstIndex(of: "]") {
            m = String(m[m.index(after: close)...])
            if m.hasPrefix("-") { m.removeFirst() }
        }
        m = m.trimmingCharacters(in: .whitespaces)
        return m.isEmpty || m == f.rule ? "Rule \(f.rule) is violated." : m
    }

    /// `text`: free text of the invoice (names, notes, terms), written by the supplier, mostly in
    /// German — marked as such on English pages so screen readers pronounce it right.
    static func row(_ label: String, _ bt: String, _ value: String?, text: Bool = false) -> String {
        guard let v = value, !v.isEmpty else { return "" }
        return "<dt>\(escape(label)) <small>(\(bt))</small></dt><dd\(text ? dataLang : "")>\(escape(v))</dd>"
    }

    /// ` lang="de"` on English pages for the supplier's free text; nothing on German pages.
    static var dataLang: String { DisplayLanguage.english ? " lang=\"de\"" : "" }

    static func money(_ v: DecimalValue?, _ currency: String?) -> String? {
        guard let v else { return nil }
        return CodeNames.amount(v.literal, currency: currency)
    }

    static func address(_ a: Address?) -> String? {
        guard let a else { return nil }
        return [a.line1, a.line2, a.line3, [a.postCode, a.city].compactMap { $0 }.joined(separator: " "), a.subdivision, a.country]
            .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
    }

    static func party(_ title: String, _ id: String, _ p: Party) -> String {
        var h = "<section aria-labelledby=\"\(id)\"><h2 id=\"\(id)\">\(escape(title))</h2><dl>"
        h += row(L("Name", "Name"), "BT-27/44", p.name, text: true)
        h += row(L("Handelsname", "Trading name"), "BT-28/45", p.tradingName, text: true)
        h += row(L("Kennung", "Identifier"), "BT-29/46", p.identifiers.map { $0.value + ($0.scheme.map { " (\($0))" } ?? "") }.joined(separator: "; "))
        h += row(L("Registernummer", "Registration number"), "BT-30/47", p.legalRegistration?.value)
        h += row(L("USt-IdNr.", "VAT ID"), "BT-31/48", p.vatID)
        h += row(L("Steuernummer", "Tax number"), "BT-32", p.taxRegistrationID)
        h += row(L("Weitere rechtliche Informationen", "Additional legal information"), "BT-33", p.legalInfo, text: true)
        h += row(L("Elektronische Adresse", "Electronic address"), "BT-34/49", p.electronicAddress.map { $0.value + ($0.scheme.map { " (\($0))" } ?? "") })
        h += row(L("Anschrift", "Address"), "BG-5/8", address(p.address), text: true)
        h += row(L("Ansprechpartner", "Contact"), "BT-41/56", p.contact?.name, text: true)
        h += row(L("Telefon", "Phone"), "BT-42/57", p.contact?.phone)
        h += row(L("E-Mail", "E-mail"), "BT-43/58", p.contact?.email)
        return h + "</dl></section>"
    }

    /// The invoice content. `attachmentLink` maps an attachment index to a download URL (web view).
    public static func fragment(_ inv: Invoice, attachmentLink: ((Int) -> String)?) -> String {
        let cur = inv.currency
        var h = "<section aria-labelledby=\"uebersicht\"><h2 id=\"uebersicht\">\(L("Übersicht", "Overview"))</h2><dl>"
        h += row(L("Rechnungsnummer", "Invoice number"), "BT-1", inv.number)
        h += row(L("Rechnungsdatum", "Invoice date"), "BT-2", CodeNames.date(inv.issueDate))
        h += row(L("Rechnungstyp", "Invoice type"), "BT-3", CodeNames.named(inv.typeCode, in: CodeNames.invoiceTypes))
        h += row(L("Währung", "Currency"), "BT-5", inv.currency)
        h += row(L("Fälligkeitsdatum", "Due date"), "BT-9", CodeNames.date(inv.dueDate))
        h += row(L("Käuferreferenz / Leitweg-ID", "Buyer reference / Leitweg-ID"), "BT-10", inv.buyerReference)
        h += row(L("Projekt", "Project"), "BT-11", inv.projectReference, text: true)
        h += row(L("Vertrag", "Contract"), "BT-12", inv.contractReference)
        h += row(L("Bestellung", "Purchase order"), "BT-13", inv.orderReference)
        h += row(L("Vergabe/Los", "Tender/lot"), "BT-17", inv.tenderReference)
        h += row(L("Buchungsreferenz", "Buyer accounting reference"), "BT-19", inv.buyerAccountingReference)
        h += row(L("Zahlungsbedingungen", "Payment terms"), "BT-20", inv.paymentTerms, text: true)
        h += row(L("Abrechnungszeitraum", "Invoicing period"), "BG-14", inv.invoicingPeriod.map { "\(CodeNames.date($0.start) ?? "…") \(L("bis", "to")) \(CodeNames.date($0.end) ?? "…")" })
        h += row(L("Lieferdatum", "Delivery date"), "BT-72", CodeNames.date(inv.delivery?.date))
        h += row(L("Prozess", "Business process"), "BT-23", inv.processID)
        h += row(L("Spezifikation", "Specification"), "BT-24", inv.specificationID)
        for p in inv.precedingInvoices { h += row(L("Vorausgegangene Rechnung", "Preceding invoice"), "BT-25/26", p.number + (CodeNames.date(p.issueDate).map { L(" vom \($0)", " of \($0)") } ?? "")) }
        for n in inv.notes { h += row(L("Bemerkung", "Note"), "BT-22", n.text, text: true) }
        h += "</dl></section>"
        h += party(L("Verkäufer", "Seller"), "verkaeufer", inv.seller)
        h += party(L("Käufer", "Buyer"), "kaeufer", inv.buyer)
        if let p = inv.payee { h += party(L("Zahlungsempfänger", "Payee"), "empfaenger", p) }
        if let p = inv.taxRepresentative { h += party(L("Steuervertreter", "Tax representative"), "steuervertreter", p) }
        if let d = inv.delivery, d.partyName != nil || d.address != nil || d.locationID != nil {
            h += "<section aria-labelledby=\"lieferung\"><h2 id=\"lieferung\">\(L("Lieferung", "Delivery"))</h2><dl>"
            h += row(L("Empfänger", "Recipient"), "BT-70", d.partyName, text: true) + row(L("Lieferort", "Delivery location"), "BT-71", d.locationID?.value) + row(L("Lieferanschrift", "Delivery address"), "BG-15", address(d.address), text: true)
            h += "</dl></section>"
        }
        h += "<section aria-labelledby=\"positionen\"><h2 id=\"positionen\">\(L("Positionen", "Invoice lines"))</h2><table><thead><tr><th scope=\"col\">\(L("Nr.", "No."))</th><th scope=\"col\">\(L("Artikel", "Item"))</th><th scope=\"col\">\(L("Menge", "Quantity"))</th><th scope=\"col\">\(L("Nettopreis", "Net price"))</th><th scope=\"col\">\(L("USt", "VAT"))</th><th scope=\"col\">\(L("Nettobetrag", "Net amount"))</th></tr></thead><tbody>"
        for l in inv.lines {
            let name = [l.itemName, l.itemDescription].compactMap { $0 }.map(escape).joined(separator: "<br>")
            h += "<tr><td>\(escape(l.id))</td><td\(dataLang)>\(name)</td><td class=\"num\">\(escape(l.quantity?.literal.replacingOccurrences(of: ".", with: DisplayLanguage.english ? "." : ",") ?? "")) \(escape(l.unitCode.map { CodeNames.units[$0] ?? $0 } ?? ""))</td><td class=\"num\">\(escape(money(l.netPrice, cur) ?? ""))</td><td>\(escape(l.vatRate.map { $0.literal.replacingOccurrences(of: ".", with: DisplayLanguage.english ? "." : ",") + " %" } ?? "")) <small>\(escape(l.vatCategory ?? ""))</small></td><td class=\"num\">\(escape(money(l.netAmount, cur) ?? ""))</td></tr>"
        }
        h += "</tbody></table></section>"
        if !inv.allowances.isEmpty || !inv.charges.isEmpty {
            h += "<section aria-labelledby=\"nachlaesse\"><h2 id=\"nachlaesse\">\(L("Nachlässe und Zuschläge", "Allowances and charges"))</h2><table><thead><tr><th scope=\"col\">\(L("Art", "Type"))</th><th scope=\"col\">\(L("Grund", "Reason"))</th><th scope=\"col\">\(L("USt", "VAT"))</th><th scope=\"col\">\(L("Betrag", "Amount"))</th></tr></thead><tbody>"
            for a in inv.allowances + inv.charges {
                h += "<tr><td>\(a.isCharge ? L("Zuschlag", "Charge") : L("Nachlass", "Allowance"))</td><td\(dataLang)>\(escape(a.reason ?? a.reasonCode ?? ""))</td><td>\(escape(a.vatCategory ?? "")) \(escape(a.vatRate.map { $0.literal + " %" } ?? ""))</td><td class=\"num\">\(escape(money(a.amount, cur) ?? ""))</td></tr>"
            }
            h += "</tbody></table></section>"
        }
        h += "<section aria-labelledby=\"ust\"><h2 id=\"ust\">\(L("Umsatzsteuer", "VAT"))</h2><table><thead><tr><th scope=\"col\">\(L("Kategorie", "Category"))</th><th scope=\"col\">\(L("Satz", "Rate"))</th><th scope=\"col\">\(L("Bemessungsgrundlage", "Taxable amount"))</th><th scope=\"col\">\(L("Steuerbetrag", "Tax amount"))</th><th scope=\"col\">\(L("Befreiungsgrund", "Exemption reason"))</th></tr></thead><tbody>"
        for b in inv.vatBreakdown {
            h += "<tr><td>\(escape(CodeNames.named(b.category, in: CodeNames.vatCategories) ?? ""))</td><td class=\"num\">\(escape(b.rate.map { $0.literal + " %" } ?? ""))</td><td class=\"num\">\(escape(money(b.taxableAmount, cur) ?? ""))</td><td class=\"num\">\(escape(money(b.taxAmount, cur) ?? ""))</td><td\(dataLang)>\(escape(b.exemptionReason ?? b.exemptionCode ?? ""))</td></tr>"
        }
        h += "</tbody></table></section>"
        let t = inv.totals
        h += "<section aria-labelledby=\"summen\"><h2 id=\"summen\">\(L("Summen", "Totals"))</h2><dl>"
        h += row(L("Summe der Positionen", "Sum of line net amounts"), "BT-106", money(t.lineNetSum, cur))
        h += row(L("Summe der Nachlässe", "Sum of allowances"), "BT-107", money(t.allowanceSum, cur))
        h += row(L("Summe der Zuschläge", "Sum of charges"), "BT-108", money(t.chargeSum, cur))
        h += row(L("Gesamt ohne USt", "Total without VAT"), "BT-109", money(t.withoutVAT, cur))
        h += row(L("Umsatzsteuer", "VAT"), "BT-110", money(t.vatTotal, cur))
        h += row(L("Gesamt mit USt", "Total with VAT"), "BT-112", money(t.withVAT, cur))
        h += row(L("Bereits gezahlt", "Paid amount"), "BT-113", money(t.paid, cur))
        h += row(L("Rundung", "Rounding"), "BT-114", money(t.rounding, cur))
        h += row(L("Fälliger Betrag", "Amount due"), "BT-115", money(t.due, cur))
        h += "</dl></section>"
        if !inv.payment.isEmpty {
            h += "<section aria-labelledby=\"zahlung\"><h2 id=\"zahlung\">\(L("Zahlungsanweisungen", "Payment instructions"))</h2><dl>"
            for p in inv.payment {
                h += row(L("Zahlungsart", "Payment means"), "BT-81/82", [CodeNames.named(p.typeCode, in: CodeNames.paymentMeans), p.typeText].compactMap { $0 }.joined(separator: " – "))
                h += row(L("Verwendungszweck", "Remittance information"), "BT-83", p.remittanceInfo, text: true)
                for ct in p.creditTransfers { h += row(L("Konto (IBAN)", "Account (IBAN)"), "BT-84", ct.accountID + (ct.accountName.map { ", \($0)" } ?? "") + (ct.providerID.map { ", BIC \($0)" } ?? "")) }
                h += row(L("Karte", "Card"), "BT-87", p.cardNumber)
                h += row(L("Mandatsreferenz", "Mandate reference"), "BT-89", p.mandateReference)
                h += row(L("Gläubiger-ID", "Creditor ID"), "BT-90", p.creditorID)
                h += row(L("Belastetes Konto", "Debited account"), "BT-91", p.debitedAccount)
            }
            h += "</dl></section>"
        }
        if !inv.attachments.isEmpty {
            h += "<section aria-labelledby=\"anlagen\"><h2 id=\"anlagen\">\(L("Anlagen", "Attachments"))</h2><ul>"
            for (i, a) in inv.attachments.enumerated() {
                let label = escape([a.id, a.description, a.filename].compactMap { $0 }.joined(separator: " – "))
                if a.hasContent, let link = attachmentLink?(i) {
                    h += "<li><a href=\"\(escape(link))\">\(label)</a> (\(escape(a.mimeCode ?? "")))</li>"
                } else if let uri = a.uri {
                    h += "<li>\(label): \(escape(uri))</li>"
                } else {
                    h += "<li>\(label)\(a.hasContent ? " (\(L("eingebettet", "embedded")), \(escape(a.mimeCode ?? "")))" : "")</li>"
                }
            }
            h += "</ul></section>"
        }
        return h
    }
}
