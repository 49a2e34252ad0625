#!/usr/bin/env python3
"""The funding programme in a real browser (headless Chromium) against the demo server:
VG Kranichfeld writes a joint ISMS project with two member Gemeinden (a wrong date first: the
German error keeps what was typed), Kranichfeld and Klettbach confirm their participation, the VG's
signatory releases it, two people of the Land check it (content and calculation), the Land
approves it and the Zuwendungsbescheid (PDF, read back with pypdf) lies in the case's postbox, the
VG calls off funds with its two paid e-invoices (no longer offered afterwards: one project per
invoice), the Land releases the payout, the VG submits the proof of use and the Land closes the
case with a reclaim. The budget view is read after each step. axe-core checks every page.

Usage: foerderung.py BASE_URL   (server started with `rathaus serve --demo`)
"""
import io
import re
import sys
import time

from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

sys.path.insert(0, __import__("os").path.dirname(__file__))
import journey  # noqa: E402

BASE = journey.BASE
login = journey.staff_login
VG = "160715007"
CLERK = "foerderung.vg-kranichfeld@demo.rathaus.test"
TITLE = f"Gemeinsames ISMS Journey {int(time.time())}"


fetch = journey.fetch


def cents(text):
    """'1.234,56 €' → 123456"""
    return int(re.sub(r"[^0-9-]", "", text))


def budget_row(d, year="2027"):
    """The Landesmittel row of a year in the budget view: planned, VE, committed, paid, returned, available (cents)."""
    d.get(BASE + "/foerderung/haushalt")
    journey.expect(d, "Förderhaushalt", "haushalt")
    for tr in d.find_elements(By.CSS_SELECTOR, "table.data tbody tr"):
        cells = [c.text for c in tr.find_elements(By.CSS_SELECTOR, "th, td")]
        if cells[0] == year and cells[1] == "Landesmittel":
            return {k: cents(v) if v else 0 for k, v in zip(["planned", "ve", "committed", "paid", "returned", "available"], cells[2:])}
    raise AssertionError(f"no budget row for {year}")


def main():
    d = journey.driver()
    steps = []
    try:
        login(d, "bewilligung@demo.rathaus.test")
        start = budget_row(d)

        # the VG's funding clerk writes the application
        login(d, CLERK)
        d.get(BASE + f"/mandanten/{VG}/foerderung")
        journey.expect(d, "Offene Förderaufrufe", "förderung vg")
        Select(d.find_element(By.ID, "kategorie")).select_by_visible_text("5 Interkommunale Digitalisierungsvorhaben")
        journey.fill(d, "titel", TITLE)
        journey.click(d, f"form[action='/mandanten/{VG}/foerderung'] button[type=submit]")
        journey.expect(d, "Der Entwurf ist gespeichert", "entwurf angelegt")
        case = d.current_url.split("?")[0]
        journey.fill(d, "beschreibung", "Die VG und zwei Mitgliedsgemeinden führen ein gemeinsames ISMS ein.")
        journey.fill(d, "beginn", "31.02.2027")
        journey.fill(d, "ende", "31.12.2027")
        journey.fill(d, "eigenanteil", "5.000,00")
        journey.fill(d, "kontakt_name", "Frau Förder")
        journey.click(d, "form[action$='/angaben'] button[type=submit]")
        journey.expect(d, "kein gültiges Datum", "angaben fehler")
        assert "Die VG und zwei Mitgliedsgemeinden" in d.page_source, "the description typed is kept"
        journey.fill(d, "beginn", "01.01.2027")
        journey.click(d, "form[action$='/angaben'] button[type=submit]")
        journey.expect(d, "Der Entwurf ist gespeichert", "angaben")
        for typ, label, net, gross in [("dienst", "Beratung ISMS-Einführung", "40.000,00", "47.600,00"), ("schulung", "Schulungen", "2.000,00", "2.380,00")]:
            journey.fill(d, "jahr", "2027")
            Select(d.find_element(By.ID, "kostenart")).select_by_value(typ)
            journey.fill(d, "bezeichnung", label)
            journey.fill(d, "netto", net)
            journey.fill(d, "brutto", gross)
            journey.click(d, "form[action$='/kosten'] button[type=submit]")
            journey.expect(d, "Der Kostenplan ist gespeichert", "kosten")
        assert "44.982,00 €" in d.find_element(By.ID, "beantragt").text, d.find_element(By.ID, "beantragt").text
        for ars, share in [("160715007046", "10.000,00"), ("160715007043", "5.000,00")]:
            Select(d.find_element(By.ID, "partner")).select_by_value(ars)
            journey.fill(d, "anteil", share)
            journey.click(d, "form[action$='/partner'] button[type=submit]")
            journey.expect(d, "Die Partner sind gespeichert", "partner")
        journey.click(d, "form[action$='/zur-freigabe'] button[type=submit]")
        journey.expect(d, "Noch nicht alle Partner", "freigabe zu früh")
        steps.append("Entwurf mit Kostenplan und zwei Partnern")

        # both member Gemeinden confirm
        for mayor in ["buergermeister.kranichfeld@demo.rathaus.test", "buergermeisterin.klettbach@demo.rathaus.test"]:
            login(d, mayor)
            d.get(case)
            journey.expect(d, TITLE, f"partner ({mayor})")
            journey.click(d, "form[action$='/beteiligung'] button[type=submit]")
            journey.expect(d, "Ihre Entscheidung zur Beteiligung ist gespeichert", f"bestätigt ({mayor})")
        login(d, CLERK)
        d.get(case)
        journey.click(d, "form[action$='/zur-freigabe'] button[type=submit]")
        journey.expect(d, "zur Freigabe vor", "zur freigabe")
        assert not d.find_elements(By.CSS_SELECTOR, "form[action$='/freigabe'] button"), "the author cannot release"
        login(d, "vorsitz.vg-kranichfeld@demo.rathaus.test")
        d.get(case)
        journey.click(d, "form[action$='/freigabe'] button[type=submit]")
        journey.expect(d, "beim Land eingereicht", "eingereicht")
        reference = re.search(r"FÖ-\d{4}-\d{4}", d.find_element(By.TAG_NAME, "h1").text).group(0)
        steps.append(f"{reference} von beiden Partnern bestätigt und freigegeben")

        # two people of the Land check, one approves
        login(d, "bewilligung@demo.rathaus.test")
        d.get(BASE + "/foerderung?kreis=16071")
        journey.expect(d, reference, "eingang")
        d.get(case)
        Select(d.find_element(By.ID, "pruefart")).select_by_value("sachlich")
        journey.click(d, "form[action$='/pruefung'] button[type=submit]")
        journey.expect(d, "Die Prüfung ist vermerkt", "sachlich")
        login(d, "bewilligung2@demo.rathaus.test")
        d.get(case)
        Select(d.find_element(By.ID, "pruefart")).select_by_value("rechnerisch")
        journey.click(d, "form[action$='/pruefung'] button[type=submit]")
        journey.expect(d, "Die Prüfung ist vermerkt", "rechnerisch")
        login(d, "bewilligung@demo.rathaus.test")
        d.get(case)
        assert d.find_element(By.ID, "betrag1").get_attribute("value") == "44.982,00"
        journey.click(d, "form[action$='/bewilligung'] button[type=submit]")
        journey.expect(d, "Der Antrag ist bewilligt", "bewilligt")
        after_approval = budget_row(d)
        assert after_approval["committed"] - start["committed"] == 4498200, (start, after_approval)
        assert start["available"] - after_approval["available"] == 4498200
        steps.append("bewilligt 44.982,00 € (gebunden +44.982,00 €)")

        # the Bescheid in the postbox, as the municipality sees it
        login(d, CLERK)
        d.get(case)
        journey.expect(d, "Zuwendungsbescheid", "postfach")
        link = d.find_element(By.XPATH, "//a[contains(@href, '/datei') and contains(., 'Zuwendungsbescheid')]").get_attribute("href")
        pdf = fetch(d, link.replace(BASE, ""))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        for needle in ["Zuwendungsbescheid", "44.982,00 €", "Klettbach", "Kranichfeld, Stadt", "Rechtsbehelfsbelehrung", reference]:
            assert needle in text, f"{needle!r} not in the notice"

        # call-off with the two paid e-invoices
        Select(d.find_element(By.ID, "linie")).select_by_index(0)
        journey.fill(d, "abruf", "30.000,00")
        boxes = d.find_elements(By.CSS_SELECTOR, "#rechnungen input[type=checkbox]")
        assert len(boxes) >= 2, "the VG's two paid demo invoices are offered"
        for b in boxes[:2]:
            b.click()
        d.find_element(By.ID, "erklaerung").click()
        journey.click(d, "form[action$='/mittelabruf'] button[type=submit]")
        journey.expect(d, "Der Mittelabruf ist gesendet", "mittelabruf")
        assert len(d.find_elements(By.CSS_SELECTOR, "#rechnungen input[type=checkbox]")) == len(boxes) - 2, "linked invoices are not offered again"
        login(d, "bewilligung2@demo.rathaus.test")
        d.get(case)
        journey.click(d, "form[action*='/auszahlungen/'] button[value=ja]")
        journey.expect(d, "Die Entscheidung zur Auszahlung ist gebucht", "auszahlung")
        after_payout = budget_row(d)
        assert after_payout["paid"] - start["paid"] == 3000000, (start, after_payout)
        export = fetch(d, "/foerderung/auszahlungen.csv")
        assert export.headers["content-type"].startswith("text/csv") and reference in export.text
        steps.append("30.000,00 € mit 2 E-Rechnungen abgerufen und ausgezahlt")

        # proof of use (prefilled with the linked invoices) and closing with a reclaim
        login(d, CLERK)
        d.get(case)
        proof = d.find_element(By.ID, "ausgaben").get_attribute("value")
        journey.fill(d, "sachbericht", "Strukturanalyse und Schulung durchgeführt; Leitlinie beschlossen.")
        journey.click(d, "form[action$='/nachweis'] button[type=submit]")
        journey.expect(d, "Der Verwendungsnachweis ist gespeichert", "nachweis")
        login(d, "bewilligung@demo.rathaus.test")
        d.get(case)
        journey.click(d, "form[action$='/abschluss'] button[type=submit]")
        journey.expect(d, "Der Fall ist abgeschlossen", "abgeschlossen")
        reclaim = cents(d.find_element(By.ID, "rueckforderung").text)
        assert reclaim > 0, "less was spent than paid: a reclaim"
        end = budget_row(d)
        assert end["returned"] - start["returned"] == reclaim, (start, end, reclaim)
        assert end["committed"] - start["committed"] == 3000000 - reclaim
        euros = f"{reclaim // 100:,}".replace(",", ".") + f",{reclaim % 100:02d}"
        steps.append(f"Verwendungsnachweis über {proof} €, Rückforderung {euros} € gebucht")
        d.get(BASE + "/foerderung/programme")
        journey.expect(d, "ThürEGovRL 2024 (Demo)", "programme")
        d.find_element(By.PARTIAL_LINK_TEXT, "ThürEGovRL 2024").click()
        journey.expect(d, "Fördergegenstände", "programm")
    finally:
        d.quit()
    print(f"foerderung: {'; '.join(steps)}; {journey.PAGES[0]} Seiten mit axe geprüft, {len(journey.VIOLATIONS)} Verstöße")
    for v in journey.VIOLATIONS:
        print("  ", v)
    sys.exit(1 if journey.VIOLATIONS else 0)


if __name__ == "__main__":
    main()
