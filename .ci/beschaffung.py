#!/usr/bin/env python3
"""Procurement as a service (issue 18) in a real browser against the demo server, axe-core on
every page: the provider's purchasing uploads a price sheet with a bad line (refused, German line
errors, nothing imported) and a good one (a new price from a later day); the public catalogue
finds an item with a typo; a Gemeinde whose membership ended is refused; Erfurt's procurement clerk
orders 10 notebooks above the threshold (a bad quantity first: refused, entries kept), cannot approve
them herself, Erfurt's administrator approves; purchasing releases it (the framework volume goes up by exactly its net value, the
order goes to the supplier's mailbox with a JSON attachment, the order PDF opens), records the
supplier's confirmation and two partial deliveries; the member confirms receipt; purchasing bills
it and the XRechnung lands in Erfurt's e-invoice inbox, where two clerks check and release it;
a return becomes a credit note; a demand survey collects Bad Berka's quantities (sums per Kreis,
CSV); the annual contribution is billed.

Usage: beschaffung.py BASE_URL   (server started with `rathaus serve --demo`)
"""
import datetime
import io
import os
import sys
import tempfile
from zoneinfo import ZoneInfo

from pypdf import PdfReader
from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.dirname(__file__))
import journey  # noqa: E402

BASE = journey.BASE
BERKA = "160710003003"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
login = journey.staff_login


def upload(d, lot_number, text):
    path = os.path.join(tempfile.mkdtemp(), "preise.csv")
    open(path, "w", encoding="utf-8").write(text)
    d.find_element(By.ID, f"datei-{lot_number}").send_keys(path)
    d.find_element(By.CSS_SELECTOR, f"form[action$='/preisblatt'] input#datei-{lot_number}").find_element(By.XPATH, "./ancestor::form//button").click()


def main():
    d = journey.driver()
    today = datetime.datetime.now(ZoneInfo("Europe/Berlin")).date()
    later = today + datetime.timedelta(days=400)
    try:
        # purchasing: the framework, a bad price sheet (nothing imported), then a new price from a later day
        login(d, "einkauf@demo.rathaus.test")
        d.get(BASE + "/einkauf")
        journey.expect(d, "RV-2026-001", "rahmenvertraege")
        d.find_element(By.LINK_TEXT, "RV-2026-001").click()
        journey.expect(d, "Demo Hardware GmbH", "rahmenvertrag")
        used_before = d.find_element(By.ID, "abgerufen").text
        upload(d, 1, "artikelnummer;bezeichnung;einheit;preis_netto;ust_satz;gueltig_ab\n"
                     "NB-14;Demo: Notebook 14 Zoll;C62;949,00;19;01.01.2026\nX-1;Kiste Papier;Kiste;zehn;19;01.01.2026\n")
        journey.expect(d, "Zeile 3: Die Einheit „Kiste“ ist unbekannt", "preisblatt fehler")
        assert "Kiste Papier" not in d.find_element(By.ID, "los-1").find_element(By.XPATH, "..").text
        upload(d, 1, "artikelnummer;bezeichnung;einheit;preis_netto;ust_satz;gueltig_ab\n"
                     f"NB-14;Demo: Notebook 14 Zoll;C62;949,00;19;{later.strftime('%d.%m.%Y')}\n")
        journey.expect(d, "2 Preisstände", "preisblatt neuer preis")
        # the signed contract as a document of the framework
        doc = os.path.join(tempfile.mkdtemp(), "Rahmenvertrag-RV-2026-001.pdf")
        open(doc, "wb").write(b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
        from selenium.webdriver.support.ui import Select
        Select(d.find_element(By.ID, "art")).select_by_value("vertrag")
        d.find_element(By.ID, "dokument").send_keys(doc)
        journey.click(d, "form[action$='/dokumente'] button[type=submit]")
        journey.expect(d, "Rahmenvertrag-RV-2026-001.pdf", "dokument abgelegt")
        got = journey.fetch(d, d.find_element(By.LINK_TEXT, "Rahmenvertrag-RV-2026-001.pdf").get_attribute("href").replace(BASE, ""))
        assert got.content.startswith(b"%PDF-1.7"), got.status_code

        # the public catalogue: a typo finds the notebook, today's price applies
        d.delete_all_cookies()
        d.get(BASE + "/beschaffung?q=Notbook")
        journey.expect(d, "Demo: Notebook 14 Zoll", "katalog suche")
        assert "899,00 €" in d.page_source and "949,00" not in d.page_source, "today's price, not the later one"

        # a Gemeinde whose membership ended is refused (in-house rule)
        login(d, "beschaffung.kranichfeld@demo.rathaus.test")
        d.get(BASE + "/mandanten/160715007046/beschaffung")
        journey.expect(d, "endete am 01.01.2026", "ehemaliges mitglied")
        lot1 = None
        # Erfurt's procurement clerk: a bad quantity first, then 10 notebooks (9.240,00 € net > 5.000,00 €)
        login(d, "beschaffung.erfurt@demo.rathaus.test")
        d.get(BASE + "/mandanten/16051/beschaffung")
        journey.expect(d, "RV-2026-001", "mitglied uebersicht")
        d.find_elements(By.PARTIAL_LINK_TEXT, "Aus diesem Los abrufen")[0].click()
        journey.expect(d, "Abruf zusammenstellen", "warenkorb")
        lot1 = d.current_url.split("los=")[1]
        rows = {r.find_element(By.TAG_NAME, "strong").text: r for r in d.find_elements(By.CSS_SELECTOR, "table.data tbody tr")}
        rows["Demo: Notebook 14 Zoll"].find_element(By.TAG_NAME, "input").send_keys("zehn")
        journey.fill(d, "lieferanschrift", "Stadtverwaltung Erfurt, Fischmarkt 1, 99084 Erfurt")
        journey.fill(d, "liefertermin", (today + datetime.timedelta(days=21)).strftime("%d.%m.%Y"))
        journey.fill(d, "haushaltsstelle", "1.1.1.00.5200")
        journey.click(d, "form.form button[type=submit]")
        journey.expect(d, "ist keine ganze Zahl größer als 0", "warenkorb fehler")
        assert d.find_element(By.ID, "lieferanschrift").get_attribute("value").startswith("Stadtverwaltung Erfurt"), "entries kept"
        rows = {r.find_element(By.TAG_NAME, "strong").text: r for r in d.find_elements(By.CSS_SELECTOR, "table.data tbody tr")}
        nb = rows["Demo: Notebook 14 Zoll"].find_element(By.TAG_NAME, "input")
        nb.clear(); nb.send_keys("10")
        journey.click(d, "form.form button[type=submit]")
        journey.expect(d, "wartet auf Genehmigung", "abruf angelegt")
        reference = d.find_element(By.TAG_NAME, "h1").text.split()[-1]
        callout_url = d.current_url.split("?")[0]
        # 10 × (899,00 + 25,00 service fee) = 9.240,00 € net
        assert d.find_element(By.ID, "netto").text == "9.240,00 €", d.find_element(By.ID, "netto").text
        assert not d.find_elements(By.ID, "genehmigen"), "the requester is not offered the approval"
        # the Kranichfeld clerk cannot open Erfurt's cart either, and its own is refused
        login(d, "beschaffung.kranichfeld@demo.rathaus.test")
        r = journey.fetch(d, f"/mandanten/160715007046/beschaffung/abruf?los={lot1}")
        assert r.status_code == 403 and "Inhouse-Vergabe" in r.text, r.status_code

        # a second Erfurt user (the administrator) approves
        login(d, "admin.erfurt@demo.rathaus.test")
        d.get(callout_url)
        journey.expect(d, reference, "abruf genehmigen")
        journey.click(d, "#genehmigen")
        journey.expect(d, "beim Einkauf des Dienstleisters", "abruf genehmigt")

        # purchasing releases: volume up by exactly the net value, the supplier gets the order
        login(d, "einkauf@demo.rathaus.test")
        d.get(BASE + "/einkauf/abrufe")
        journey.expect(d, reference, "einkauf warteschlange")
        d.find_element(By.LINK_TEXT, reference).click()
        journey.expect(d, "Beim Lieferanten bestellen", "einkauf abruf")
        journey.click(d, "#freigeben")
        journey.expect(d, "bestellt beim Lieferanten", "freigegeben")
        pdf = journey.fetch(d, d.find_element(By.PARTIAL_LINK_TEXT, "Bestellung als PDF").get_attribute("href").replace(BASE, ""))
        assert pdf.headers["Content-Type"].startswith("application/pdf")
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert reference in text and "Demo: Notebook 14 Zoll" in text, text[:400]
        d.get(BASE + "/demo/postausgang")
        journey.expect(d, f"Bestellung {reference}", "postausgang lieferant")
        assert "lieferant.hardware@demo.rathaus.test" in d.page_source
        d.get(BASE + "/einkauf")
        d.find_element(By.LINK_TEXT, "RV-2026-001").click()
        journey.expect(d, "Demo Hardware GmbH", "rahmenvertrag nach freigabe")
        used_after = d.find_element(By.ID, "abgerufen").text
        def cents(s):
            return int(s.replace("€", "").replace(".", "").replace(",", "").strip())
        assert cents(used_after) - cents(used_before) == 924000, (used_before, used_after)

        # confirmation, two partial deliveries
        einkauf_url = callout_url.replace("/mandanten/16051/beschaffung", "/einkauf")
        d.get(einkauf_url)
        journey.fill(d, "auftragsnummer", "HW-2026-4711")
        journey.click(d, "form[action$='/bestaetigen'] button[type=submit]")
        journey.expect(d, "vom Lieferanten bestätigt", "bestaetigt")
        d.find_elements(By.CSS_SELECTOR, "input[name^='geliefert_']")[0].send_keys("4")
        journey.click(d, "form[action$='/lieferung'] button[type=submit]")
        journey.expect(d, "teilweise geliefert", "teillieferung")
        d.find_elements(By.CSS_SELECTOR, "input[name^='geliefert_']")[0].send_keys("6")
        journey.click(d, "form[action$='/lieferung'] button[type=submit]")
        journey.expect(d, "<dd id=\"status\">geliefert", "geliefert")

        # the member confirms receipt
        login(d, "beschaffung.erfurt@demo.rathaus.test")
        d.get(callout_url)
        journey.click(d, "#abnehmen")
        journey.expect(d, "Empfang bestätigt", "abgenommen")

        # purchasing bills: the XRechnung lands in Erfurt's inbox
        login(d, "einkauf@demo.rathaus.test")
        d.get(einkauf_url)
        journey.click(d, "#abrechnen")
        journey.expect(d, f"DL-{today.year}-", "abgerechnet")
        number = d.find_element(By.ID, "rechnung").text
        d.get(BASE + "/einkauf/rechnungen")
        journey.expect(d, number, "rechnungen an mitglieder")

        # two Erfurt clerks approve it in the four-eyes workflow like any supplier's invoice
        def invoice_step(email, target, label):
            login(d, email)
            d.get(BASE + "/mandanten/16051/rechnungen")
            journey.expect(d, number, "posteingang " + label)
            d.find_element(By.PARTIAL_LINK_TEXT, number).click()
            journey.expect(d, "Demo IT-Dienstleister Kommunen Thüringen", "rechnung " + label)
            d.find_element(By.ID, "ziel-" + target).click()
            journey.click(d, f"form[action$='/status'] button[type=submit]")
        invoice_step("sachbearbeitung.erfurt@demo.rathaus.test", "sachlich_geprueft", "sachlich")
        journey.expect(d, "sachlich geprüft", "sachlich geprueft")
        invoice_step("admin.erfurt@demo.rathaus.test", "rechnerisch_geprueft", "rechnerisch")
        journey.expect(d, "rechnerisch geprüft", "rechnerisch geprueft")
        invoice_step("sachbearbeitung.erfurt@demo.rathaus.test", "freigegeben", "freigabe")
        journey.expect(d, "zur Zahlung freigegeben", "zur zahlung freigegeben")
        login(d, "admin.erfurt@demo.rathaus.test")
        d.get(BASE + "/mandanten/16051/beschaffung")
        journey.expect(d, number, "mitglied rechnungen")
        d.get(BASE + "/mandanten/16051/beschaffung/einstellungen")
        journey.expect(d, "Wertgrenze", "einstellungen")

        # a returned notebook becomes a credit note (UBL CreditNote 381) in the member's inbox
        login(d, "einkauf@demo.rathaus.test")
        d.get(einkauf_url)
        journey.expect(d, "Rücksendung gutschreiben", "gutschrift formular")
        d.find_elements(By.CSS_SELECTOR, "input[name^='zurueck_']")[0].send_keys("99")
        journey.fill(d, "grund", "Display defekt")
        journey.click(d, "#gutschreiben")
        journey.expect(d, "geliefert", "gutschrift zu viel")
        assert "wurden nur" in d.page_source, "more than delivered is refused"
        for el in d.find_elements(By.CSS_SELECTOR, "input[name^='zurueck_']"):
            el.clear()
        d.find_elements(By.CSS_SELECTOR, "input[name^='zurueck_']")[0].send_keys("1")
        journey.fill(d, "grund", "Display defekt")
        journey.click(d, "#gutschreiben")
        journey.expect(d, "id=\"gutschrift\"", "gutschrift erstellt")
        credit = d.find_element(By.ID, "gutschrift").text
        assert credit.startswith(f"DL-{today.year}-") and credit != number, credit

        # demand bundling: purchasing asks, Bad Berka answers, purchasing sees the sums
        d.get(BASE + "/einkauf/bedarf")
        journey.expect(d, "Neue Bedarfsabfrage", "bedarf")
        journey.fill(d, "titel", "Demo: Multifunktionsdrucker 2027–2028")
        journey.fill(d, "von", str(today.year + 1))
        journey.fill(d, "bis", str(today.year + 2))
        journey.fill(d, "frist", (today + datetime.timedelta(days=30)).strftime("%d.%m.%Y"))
        journey.fill(d, "artikel", "Multifunktionsdrucker A4;C62\nToner schwarz;Kiste")
        journey.click(d, "form[action='/einkauf/bedarf'] button[type=submit]")
        journey.expect(d, "Zeile 2: Die Einheit", "bedarf fehler")
        journey.fill(d, "artikel", "Multifunktionsdrucker A4;C62\nToner schwarz;PK")
        journey.click(d, "form[action='/einkauf/bedarf'] button[type=submit]")
        journey.expect(d, "Summen je Artikel und Jahr", "bedarf ergebnis leer")
        round_url = d.current_url
        login(d, "beschaffung.bad-berka@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{BERKA}/beschaffung")
        journey.expect(d, "Offene Bedarfsabfragen", "mitglied bedarf offen")
        d.find_element(By.PARTIAL_LINK_TEXT, "Multifunktionsdrucker").click()
        journey.expect(d, "Bedarf melden", "bedarf antwort")
        cells = d.find_elements(By.CSS_SELECTOR, "input[name^='menge_']")
        cells[0].send_keys("4"); cells[1].send_keys("2"); cells[2].send_keys("30")
        journey.click(d, "form[action*='/beschaffung/bedarf/'] button[type=submit]")
        journey.expect(d, "Gespeichert", "bedarf gespeichert")
        login(d, "einkauf@demo.rathaus.test")
        d.get(round_url)
        journey.expect(d, "Je Kreis", "bedarf ergebnis")
        assert d.find_element(By.ID, "antworten").text == "1"
        assert "Weimarer Land" in d.find_element(By.ID, "kreise").text, d.find_element(By.ID, "kreise").text
        csv = journey.fetch(d, round_url.replace(BASE, "") + "/ergebnis.csv").text
        assert "Bad Berka" in csv and "Multifunktionsdrucker A4" in csv, csv[:300]

        # annual contributions: set Erfurt's and bill the year once (Bad Berka's e-invoice address was
        # switched off by the ISMS journey before this one, so it would be listed as not billable)
        d.get(BASE + "/einkauf/beitraege")
        journey.expect(d, "Mitgliedsbeiträge", "beitraege")
        journey.fill(d, "beitrag_16051", "12.000,00")
        journey.click(d, "form[action='/einkauf/beitraege/16051'] button[type=submit]")
        journey.expect(d, "Jahresbeiträge abrechnen", "beitrag gesetzt")
        journey.fill(d, "jahr", str(today.year))
        journey.click(d, "#beitraege-abrechnen")
        journey.expect(d, f"Beitragsrechnung(en) für {today.year} zugestellt", "beitraege abgerechnet")
        assert d.find_element(By.ID, "beitrag-ergebnis").text.startswith("1 "), d.find_element(By.ID, "beitrag-ergebnis").text

        # the open-data export validates against the OCDS 1.1 release schema (shipped in Tests/Fixtures/ocds)
        import json
        import jsonschema
        import requests
        schema = json.load(open(os.path.join(ROOT, "Tests", "Fixtures", "ocds", "release-schema.json"), encoding="utf-8"))
        package = requests.get(BASE + "/api/v1/beschaffung/ocds.json", timeout=30).json()
        validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
        problems = [(r.get("id"), list(e.path), e.message) for r in package["releases"] for e in validator.iter_errors(r)]
        assert not problems, problems[:5]
        tags = sorted({t for r in package["releases"] for t in r["tag"]})
        assert tags == ["contract", "implementation"], tags
        assert any(r["buyer"]["id"] == "DE-ARS-16051" for r in package["releases"]), "Erfurt's call-off is in the export"
        ocds_releases = len(package["releases"])
    finally:
        d.quit()
    if journey.VIOLATIONS:
        for v in journey.VIOLATIONS:
            print("axe:", v)
        raise SystemExit(f"{len(journey.VIOLATIONS)} axe-Verstöße")
    print(f"beschaffung: Preisblatt (fehlerhaft abgewiesen, neuer Preis ab {later.strftime('%d.%m.%Y')}), Katalogsuche mit Tippfehler, Abruf {reference} "
          f"(Erfurt, 10 Notebooks) über der Wertgrenze, Genehmigung durch zweite Person, ehemaliges Mitglied abgewiesen, Freigabe (+9.240,00 € Volumen), "
          f"Bestellung (PDF, E-Mail), Teillieferungen, Abnahme, Rechnung {number} von zwei Erfurter Sachbearbeitern freigegeben, Gutschrift {credit}, Bedarfsabfrage mit Summen je Kreis, Jahresbeitrag abgerechnet, "
          f"OCDS-Export ({ocds_releases} Releases) gültig gegen das OCDS-1.1-Release-Schema; "
          f"{journey.PAGES[0]} Seiten mit axe geprüft, 0 Verstöße")


if __name__ == "__main__":
    main()
