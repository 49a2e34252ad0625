#!/usr/bin/env python3
"""Information security (issue 19) in a real browser against the demo server, axe-core on every
page: Bad Berka's administrator names the ISB and a deputy; the ISB answers requirements (one
"not applicable" without a reason is refused with a German message), sees what the provider
fulfils for it and loses one inherited requirement when the tenant deactivates its e-invoice
address; plans a measure and turns it into a draft funding application with one click; fetches
the council report (PDF); a staff member reports an incident with personal data (72-hour deadline
shown) and the provider's CERT finds it in its list; the Land's overview shows Bad Berka's
progress and lists tenants without ISB first; the Land imports a new catalogue version and Bad
Berka keeps its surviving answers and sees what changed.

Usage: isms.py BASE_URL   (server started with `rathaus serve --demo`)
"""
import datetime
import io
import json
import os
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support import expected_conditions as EC

sys.path.insert(0, os.path.dirname(__file__))
import journey  # noqa: E402

BASE = journey.BASE
BERKA = "160710003003"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
login = journey.staff_login


def status_of(d, req):
    d.get(BASE + f"/mandanten/{BERKA}/isms/anforderungen/{req}")
    journey.expect(d, req, "anforderung " + req)
    return d.find_element(By.ID, "status").text


def answer(d, req, status, reason=""):
    d.get(BASE + f"/mandanten/{BERKA}/isms/anforderungen/{req}")
    journey.expect(d, "Ihre Antwort", "antwort " + req)
    d.find_element(By.ID, "status-" + status).click()
    journey.fill(d, "begruendung", reason)
    journey.click(d, "form.form button[type=submit]")


def main():
    d = journey.driver()
    today = datetime.datetime.now(ZoneInfo("Europe/Berlin"))
    try:
        # the administrator names the ISB and the deputy
        login(d, "admin.bad-berka@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{BERKA}/isms")
        journey.expect(d, "Rathaus-Startkatalog", "arbeitsbereich")
        Select(d.find_element(By.ID, "isb")).select_by_visible_text("Demo Informationssicherheit Bad Berka")
        Select(d.find_element(By.ID, "vertretung")).select_by_visible_text("Demo Admin Bad Berka")
        journey.click(d, "form[action$='/isms/beauftragte'] button[type=submit]")
        journey.expect(d, "Gespeichert", "isb benannt")

        # the ISB answers; "not applicable" needs a reason
        login(d, "isb.bad-berka@demo.rathaus.test")
        answer(d, "DRUCK-2", "entbehrlich", "passt nicht")
        journey.expect(d, "nur mit Begründung entbehrlich", "entbehrlich ohne begründung")
        answer(d, "DRUCK-2", "entbehrlich", "Wir drucken nur auf einem Gerät im abgeschlossenen Büro der Kämmerei.")
        journey.expect(d, "Gespeichert", "entbehrlich mit begründung")
        answer(d, "ORG-1", "erfuellt")
        journey.expect(d, "Gespeichert", "org-1 erfüllt")
        pdf_path = os.path.join(tempfile.mkdtemp(), "Benennung-ISB.pdf")
        open(pdf_path, "wb").write(b"%PDF-1.4\n% Benennung der ISB durch den Buergermeister\n%%EOF\n")
        d.get(BASE + f"/mandanten/{BERKA}/isms/anforderungen/ORG-1")
        journey.expect(d, "Nachweise", "nachweise")
        d.find_element(By.ID, "nachweis").send_keys(pdf_path)
        journey.click(d, "form[action$='/nachweise'] button[type=submit]")
        journey.expect(d, "Benennung-ISB.pdf", "nachweis hochgeladen")
        assert status_of(d, "DIENST-1") == "durch den IT-Dienstleister erfüllt", "e-invoice inbox in use: inherited"

        # the tenant stops using the e-invoice inbox: DIENST-1 is its own task again
        login(d, "admin.bad-berka@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{BERKA}/leitweg-ids")
        journey.expect(d, "Leitweg", "leitweg-ids")
        for _ in range(10):
            forms = d.find_elements(By.CSS_SELECTOR, "form[action$='/deaktivierung'] button[type=submit]")
            if not forms:
                break
            button = forms[0]
            try:
                button.click()
            except StaleElementReferenceException:
                continue  # the previous answer replaced the page meanwhile: look again
            # wait for the answer page (the URL is the same before and after the click)
            WebDriverWait(d, 10).until(EC.staleness_of(button))
        assert status_of(d, "DIENST-1") == "offen", "inheritance ends with the service"

        # a measure for the gap, then one click to a draft funding application
        d.get(BASE + f"/mandanten/{BERKA}/isms/massnahmen?anforderung=DIENST-1")
        journey.expect(d, "Neue Maßnahme", "massnahmen")
        journey.fill(d, "titel", "Auftragsverarbeitung für den Rechnungseingang selbst regeln")
        Select(d.find_element(By.ID, "verantwortlich")).select_by_visible_text("Demo Informationssicherheit Bad Berka")
        journey.fill(d, "faellig", "31.13.2027")
        journey.fill(d, "kosten", "1.800,00")
        journey.click(d, "form[action$='/isms/massnahmen'] button[type=submit]")
        journey.expect(d, "Fälligkeitsdatum", "maßnahme mit falschem datum")
        assert d.find_element(By.ID, "titel").get_attribute("value").startswith("Auftragsverarbeitung"), "input kept"
        journey.fill(d, "faellig", (today + datetime.timedelta(days=200)).strftime("%d.%m.%Y"))
        journey.click(d, "form[action$='/isms/massnahmen'] button[type=submit]")
        journey.expect(d, "1.800,00 €", "maßnahme gespeichert")
        for box in d.find_elements(By.CSS_SELECTOR, "input[name='massnahme[]']"):
            box.click()
        journey.click(d, "form[action$='/massnahmen/foerderantrag'] button[type=submit]")
        WebDriverWait(d, 15).until(lambda drv: "/foerderung/antraege/" in drv.current_url)
        journey.expect(d, "Einführung eines ISMS", "förderantrag-entwurf")

        # the council report
        pdf = journey.fetch(d, f"/mandanten/{BERKA}/isms/bericht.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-"), pdf.status_code
        text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "Bericht zur Informationssicherheit" in text and "Bad Berka" in text and "Auftragsverarbeitung" in text, text[:400]

        # an incident with personal data: deadline shown, the CERT has it
        d.get(BASE + f"/mandanten/{BERKA}/sicherheitsvorfaelle/neu")
        journey.expect(d, "Sicherheitsvorfall melden", "vorfall melden")
        title = f"USB-Stick mit Meldedaten verloren {int(time.time())}"
        journey.fill(d, "titel", title)
        journey.fill(d, "beschreibung", "Ein unverschlüsselter USB-Stick mit einer Liste von Anschriften ist nicht mehr auffindbar.")
        Select(d.find_element(By.ID, "kategorie")).select_by_value("geraeteverlust")
        Select(d.find_element(By.ID, "einschaetzung")).select_by_value("hoch")
        d.find_element(By.ID, "personenbezug-ja").click()
        journey.click(d, "form.form button[type=submit]")
        WebDriverWait(d, 15).until(lambda drv: "/sicherheitsvorfaelle/" in drv.current_url and "/neu" not in drv.current_url)
        journey.expect(d, "Meldefrist an die Datenschutz-Aufsicht", "vorfall mit frist")
        reference = d.find_element(By.TAG_NAME, "h1").text.split(" ")[1].rstrip(":")
        login(d, "cert@demo.rathaus.test")
        d.get(BASE + "/betrieb/sicherheitsvorfaelle")
        journey.expect(d, reference, "cert-liste")
        d.find_element(By.LINK_TEXT, reference).click()
        journey.expect(d, title, "cert vorfall")
        journey.fill(d, "eintrag", "Rückruf bei der Stadt, Sperrung der betroffenen Konten veranlasst.")
        journey.click(d, "form[action$='/eintrag'] button[type=submit]")
        journey.expect(d, "in Bearbeitung", "cert eintrag")

        # the Land: Bad Berka's progress, tenants without ISB first, then a new catalogue version
        login(d, "land@demo.rathaus.test")
        d.get(BASE + "/isms/uebersicht")
        journey.expect(d, "Bad Berka", "landesübersicht")
        rows = [[c.text for c in tr.find_elements(By.CSS_SELECTOR, "td")] for tr in d.find_elements(By.CSS_SELECTOR, "table.data tbody tr")]
        rows = [r for r in rows if len(r) >= 7]
        berka = next(r for r in rows if r[0].startswith("Bad Berka"))
        assert berka[2] == "ja" and berka[3] != "0,0 %", berka
        assert rows[0][2] == "nein", "tenants without ISB come first"
        catalogue = json.load(open(os.path.join(ROOT, "Sources/App/Resources/isms/startkatalog.json"), encoding="utf-8"))
        lines = ["thema_id;thema;anforderung_id;titel;text;stufe;hinweise;nachweise"]
        for t in catalogue["topics"]:
            for r in t["requirements"]:
                if r["id"] == "DRUCK-1":
                    continue
                text = r["text"] + (" Die Vertretung ist schriftlich geregelt." if r["id"] == "ORG-1" else "")
                lines.append(";".join('"' + str(v).replace('"', '""') + '"' for v in [t["id"], t["title"], r["id"], r["title"], text, r["level"], r["hints"], r["evidence"]]))
        lines.append('"ORG";"Organisation und Personal";"ORG-9";"Mittel für Informationssicherheit einplanen";"Der Haushalt sieht jährlich Mittel für Informationssicherheit vor.";"standard";"";"Haushaltsstelle"')
        path = os.path.join(tempfile.mkdtemp(), "katalog.csv")
        open(path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
        d.get(BASE + "/betrieb/isms")
        journey.expect(d, "Neue Version einspielen", "katalog")
        d.find_element(By.ID, "datei").send_keys(path)
        journey.click(d, "form[enctype='multipart/form-data'] button[type=submit]")
        journey.expect(d, "(1 neu, 1 geändert, 1 entfallen)", "katalog eingespielt")

        # Bad Berka keeps ORG-1 and sees what changed
        login(d, "isb.bad-berka@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{BERKA}/isms")
        journey.expect(d, "Neue Anforderungen", "arbeitsbereich nach update")
        assert "ORG-9" in d.page_source and "DRUCK-1" in d.page_source and "geändert – bitte prüfen" in d.page_source
        assert status_of(d, "ORG-1") == "erfüllt", "the surviving answer is kept"
        for path in [f"/mandanten/{BERKA}/isms/struktur", f"/mandanten/{BERKA}/sicherheitsvorfaelle"]:
            d.get(BASE + path)
            journey.check(d, path)
    finally:
        d.quit()
    if journey.VIOLATIONS:
        for v in journey.VIOLATIONS:
            print("axe:", v)
        raise SystemExit(f"{len(journey.VIOLATIONS)} axe-Verstöße")
    print(f"isms: ISB benannt, Nachweis hochgeladen, Antworten (entbehrlich ohne Begründung abgewiesen), Vererbung endet mit dem Dienst, Maßnahme → Förderantrag-Entwurf, "
          f"Bericht (PDF), Vorfall {reference} mit 72-Stunden-Frist beim CERT, Landesübersicht, Katalog-Update mit erhaltenen Antworten; "
          f"{journey.PAGES[0]} Seiten mit axe geprüft, 0 Verstöße")


if __name__ == "__main__":
    main()
