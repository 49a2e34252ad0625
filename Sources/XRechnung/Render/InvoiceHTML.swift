import Foundation

/// Readable, accessible HTML of an invoice and its validation report, grouped like the official
/// visualisation: overview, seller, buyer, payee/tax representative, delivery, lines,
/// allowances/charges, VAT breakdown, totals, payment instructions, attachments.
public enum InvoiceHTML {
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
        var h = "<section aria-labelledby=\"pruefung\"><h2 id=\"pruefung\">Prüfergebnis</h2>"
        if let pdf = report.extractedFromPDF {
            h += "<p>Aus dem ZUGFeRD/Factur-X-PDF entnommen: <code>\(escape(pdf))</code>. Geprüft wird die eingebettete XML-Rechnung.</p>"
        }
        if report.isValid {
            h += "<p class=\"ok\"><strong>Gültig</strong>\(report.scenario.map { " nach „\(escape($0.name))“" } ?? "").</p>"
        } else {
            h += "<p class=\"bad\"><strong>Nicht gültig.</strong> \(report.errors.count) Fehler – bitte korrigieren und erneut senden.</p>"
        }
        if !report.findings.isEmpty {
            // what is wrong, in plain German first; the rule, its BT number and the XPath are for
            // the supplier's software vendor, folded away
            h += "<h3>Befunde</h3><ol class=\"findings\">"
            for f in report.findings.sorted(by: { $0.severity < $1.severity }) {
                h += "<li><p><strong>\(f.severity.german):</strong> \(escape(f.messageDE))</p>"
                h += "<details><summary>Technische Angaben für Softwarehersteller</summary><dl><dt>Regel</dt><dd><code>\(escape(f.rule))</code></dd>"
                h += "<dt>Stelle (XPath)</dt><dd><code>\(escape(f.location))</code></dd></dl></details></li>"
            }
            h += "</ol>"
        }
        return h + "</section>"
    }

    static func row(_ label: String, _ bt: String, _ value: String?) -> String {
        guard let v = value, !v.isEmpty else { return "" }
        return "<dt>\(escape(label)) <small>(\(bt))</small></dt><dd>\(escape(v))</dd>"
    }

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
        h += row("Name", "BT-27/44", p.name)
        h += row("Handelsname", "BT-28/45", p.tradingName)
        h += row("Kennung", "BT-29/46", p.identifiers.map { $0.value + ($0.scheme.map { " (\($0))" } ?? "") }.joined(separator: "; "))
        h += row("Registernummer", "BT-30/47", p.legalRegistration?.value)
        h += row("USt-IdNr.", "BT-31/48", p.vatID)
        h += row("Steuernummer", "BT-32", p.taxRegistrationID)
        h += row("Weitere rechtliche Informationen", "BT-33", p.legalInfo)
        h += row("Elektronische Adresse", "BT-34/49", p.electronicAddress.map { $0.value + ($0.scheme.map { " (\($0))" } ?? "") })
        h += row("Anschrift", "BG-5/8", address(p.address))
        h += row("Ansprechpartner", "BT-41/56", p.contact?.name)
        h += row("Telefon", "BT-42/57", p.contact?.phone)
        h += row("E-Mail", "BT-43/58", p.contact?.email)
        return h + "</dl></section>"
    }

    /// The invoice content. `attachmentLink` maps an attachment index to a download URL (web view).
    public static func fragment(_ inv: Invoice, attachmentLink: ((Int) -> String)?) -> String {
        let cur = inv.currency
        var h = "<section aria-labelledby=\"uebersicht\"><h2 id=\"uebersicht\">Übersicht</h2><dl>"
        h += row("Rechnungsnummer", "BT-1", inv.number)
        h += row("Rechnungsdatum", "BT-2", CodeNames.date(inv.issueDate))
        h += row("Rechnungstyp", "BT-3", CodeNames.named(inv.typeCode, in: CodeNames.invoiceTypes))
        h += row("Währung", "BT-5", inv.currency)
        h += row("Fälligkeitsdatum", "BT-9", CodeNames.date(inv.dueDate))
        h += row("Käuferreferenz / Leitweg-ID", "BT-10", inv.buyerReference)
        h += row("Projekt", "BT-11", inv.projectReference)
        h += row("Vertrag", "BT-12", inv.contractReference)
        h += row("Bestellung", "BT-13", inv.orderReference)
        h += row("Vergabe/Los", "BT-17", inv.tenderReference)
        h += row("Buchungsreferenz", "BT-19", inv.buyerAccountingReference)
        h += row("Zahlungsbedingungen", "BT-20", inv.paymentTerms)
        h += row("Abrechnungszeitraum", "BG-14", inv.invoicingPeriod.map { "\(CodeNames.date($0.start) ?? "…") bis \(CodeNames.date($0.end) ?? "…")" })
        h += row("Lieferdatum", "BT-72", CodeNames.date(inv.delivery?.date))
        h += row("Prozess", "BT-23", inv.processID)
        h += row("Spezifikation", "BT-24", inv.specificationID)
        for p in inv.precedingInvoices { h += row("Vorausgegangene Rechnung", "BT-25/26", p.number + (CodeNames.date(p.issueDate).map { " vom \($0)" } ?? "")) }
        for n in inv.notes { h += row("Bemerkung", "BT-22", n.text) }
        h += "</dl></section>"
        h += party("Verkäufer", "verkaeufer", inv.seller)
        h += party("Käufer", "kaeufer", inv.buyer)
        if let p = inv.payee { h += party("Zahlungsempfänger", "empfaenger", p) }
        if let p = inv.taxRepresentative { h += party("Steuervertreter", "steuervertreter", p) }
        if let d = inv.delivery, d.partyName != nil || d.address != nil || d.locationID != nil {
            h += "<section aria-labelledby=\"lieferung\"><h2 id=\"lieferung\">Lieferung</h2><dl>"
            h += row("Empfänger", "BT-70", d.partyName) + row("Lieferort", "BT-71", d.locationID?.value) + row("Lieferanschrift", "BG-15", address(d.address))
            h += "</dl></section>"
        }
        h += "<section aria-labelledby=\"positionen\"><h2 id=\"positionen\">Positionen</h2><table><thead><tr><th scope=\"col\">Nr.</th><th scope=\"col\">Artikel</th><th scope=\"col\">Menge</th><th scope=\"col\">Nettopreis</th><th scope=\"col\">USt</th><th scope=\"col\">Nettobetrag</th></tr></thead><tbody>"
        for l in inv.lines {
            let name = [l.itemName, l.itemDescription].compactMap { $0 }.map(escape).joined(separator: "<br>")
            h += "<tr><td>\(escape(l.id))</td><td>\(name)</td><td class=\"num\">\(escape(l.quantity?.literal.replacingOccurrences(of: ".", with: ",") ?? "")) \(escape(l.unitCode.map { CodeNames.units[$0] ?? $0 } ?? ""))</td><td class=\"num\">\(escape(money(l.netPrice, cur) ?? ""))</td><td>\(escape(l.vatRate.map { $0.literal.replacingOccurrences(of: ".", with: ",") + " %" } ?? "")) <small>\(escape(l.vatCategory ?? ""))</small></td><td class=\"num\">\(escape(money(l.netAmount, cur) ?? ""))</td></tr>"
        }
        h += "</tbody></table></section>"
        if !inv.allowances.isEmpty || !inv.charges.isEmpty {
            h += "<section aria-labelledby=\"nachlaesse\"><h2 id=\"nachlaesse\">Nachlässe und Zuschläge</h2><table><thead><tr><th scope=\"col\">Art</th><th scope=\"col\">Grund</th><th scope=\"col\">USt</th><th scope=\"col\">Betrag</th></tr></thead><tbody>"
            for a in inv.allowances + inv.charges {
                h += "<tr><td>\(a.isCharge ? "Zuschlag" : "Nachlass")</td><td>\(escape(a.reason ?? a.reasonCode ?? ""))</td><td>\(escape(a.vatCategory ?? "")) \(escape(a.vatRate.map { $0.literal + " %" } ?? ""))</td><td class=\"num\">\(escape(money(a.amount, cur) ?? ""))</td></tr>"
            }
            h += "</tbody></table></section>"
        }
        h += "<section aria-labelledby=\"ust\"><h2 id=\"ust\">Umsatzsteuer</h2><table><thead><tr><th scope=\"col\">Kategorie</th><th scope=\"col\">Satz</th><th scope=\"col\">Bemessungsgrundlage</th><th scope=\"col\">Steuerbetrag</th><th scope=\"col\">Befreiungsgrund</th></tr></thead><tbody>"
        for b in inv.vatBreakdown {
            h += "<tr><td>\(escape(CodeNames.named(b.category, in: CodeNames.vatCategories) ?? ""))</td><td class=\"num\">\(escape(b.rate.map { $0.literal + " %" } ?? ""))</td><td class=\"num\">\(escape(money(b.taxableAmount, cur) ?? ""))</td><td class=\"num\">\(escape(money(b.taxAmount, cur) ?? ""))</td><td>\(escape(b.exemptionReason ?? b.exemptionCode ?? ""))</td></tr>"
        }
        h += "</tbody></table></section>"
        let t = inv.totals
        h += "<section aria-labelledby=\"summen\"><h2 id=\"summen\">Summen</h2><dl>"
        h += row("Summe der Positionen", "BT-106", money(t.lineNetSum, cur))
        h += row("Summe der Nachlässe", "BT-107", money(t.allowanceSum, cur))
        h += row("Summe der Zuschläge", "BT-108", money(t.chargeSum, cur))
        h += row("Gesamt ohne USt", "BT-109", money(t.withoutVAT, cur))
        h += row("Umsatzsteuer", "BT-110", money(t.vatTotal, cur))
        h += row("Gesamt mit USt", "BT-112", money(t.withVAT, cur))
        h += row("Bereits gezahlt", "BT-113", money(t.paid, cur))
        h += row("Rundung", "BT-114", money(t.rounding, cur))
        h += row("Fälliger Betrag", "BT-115", money(t.due, cur))
        h += "</dl></section>"
        if !inv.payment.isEmpty {
            h += "<section aria-labelledby=\"zahlung\"><h2 id=\"zahlung\">Zahlungsanweisungen</h2><dl>"
            for p in inv.payment {
                h += row("Zahlungsart", "BT-81/82", [CodeNames.named(p.typeCode, in: CodeNames.paymentMeans), p.typeText].compactMap { $0 }.joined(separator: " – "))
                h += row("Verwendungszweck", "BT-83", p.remittanceInfo)
                for ct in p.creditTransfers { h += row("Konto (IBAN)", "BT-84", ct.accountID + (ct.accountName.map { ", \($0)" } ?? "") + (ct.providerID.map { ", BIC \($0)" } ?? "")) }
                h += row("Karte", "BT-87", p.cardNumber)
                h += row("Mandatsreferenz", "BT-89", p.mandateReference)
                h += row("Gläubiger-ID", "BT-90", p.creditorID)
                h += row("Belastetes Konto", "BT-91", p.debitedAccount)
            }
            h += "</dl></section>"
        }
        if !inv.attachments.isEmpty {
            h += "<section aria-labelledby=\"anlagen\"><h2 id=\"anlagen\">Anlagen</h2><ul>"
            for (i, a) in inv.attachments.enumerated() {
                let label = escape([a.id, a.description, a.filename].compactMap { $0 }.joined(separator: " – "))
                if a.hasContent, let link = attachmentLink?(i) {
                    h += "<li><a href=\"\(escape(link))\">\(label)</a> (\(escape(a.mimeCode ?? "")))</li>"
                } else if let uri = a.uri {
                    h += "<li>\(label): \(escape(uri))</li>"
                } else {
                    h += "<li>\(label)\(a.hasContent ? " (eingebettet, \(escape(a.mimeCode ?? "")))" : "")</li>"
                }
            }
            h += "</ul></section>"
        }
        return h
    }
}
