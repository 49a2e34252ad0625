#!/usr/bin/env python3
"""The competence centre in a real browser (headless Chromium) against the demo server:
the competence centre publishes a two-date ISB course with 12 seats and a quota of 2 per
municipality; staff of three tenants register (Erfurt's third person lands on the waiting list
and moves up when a colleague cancels; Erfurt's admin registers a colleague with one click);
the check-in list marks attendance per session; certificates are issued, the PDF carries the code
and the public page confirms it; Erfurt's profile shows the certificate as evidence; an on-site
visit is requested, proposed, confirmed and documented with a task that Erfurt marks as done;
the Land's reach dashboard counts it. axe-core checks every page on the way.

The course's first date is yesterday and the second today, so check-in and certificates can
happen in one run (registration stays open until the last session ends: walk-ins on the day).

Usage: kompetenzzentrum.py BASE_URL   (server started with `rathaus serve --demo`)
"""
import datetime
import io
import re
import sys
import time
from zoneinfo import ZoneInfo

import requests
from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, __import__("os").path.dirname(__file__))
import journey  # noqa: E402

BASE = journey.BASE
login = journey.staff_login
KZ = "kompetenzzentrum@demo.rathaus.test"
ERFURT = "16051"
TITLE = f"ISB-Grundschulung Journey {int(time.time())}"


fetch = journey.fetch


def register(d, email, event, expect_text):
    login(d, email)
    d.get(BASE + f"/veranstaltungen/{event}")
    journey.check(d, f"veranstaltung ({email})")
    journey.click(d, f"form[action='/veranstaltungen/{event}/anmelden'] button[type=submit]")
    journey.expect(d, expect_text, f"angemeldet ({email})")


def main():
    d = journey.driver()
    # The server decides by the date in Germany; a CI run at 23:30 UTC is already tomorrow there.
    today = datetime.datetime.now(ZoneInfo("Europe/Berlin")).date()
    fmt = lambda day: day.strftime("%d.%m.%Y")  # noqa: E731
    yesterday, in_two_weeks = today - datetime.timedelta(days=1), today + datetime.timedelta(days=14)
    try:
        # the competence centre publishes the course (a mistake first)
        login(d, KZ)
        d.get(BASE + "/kompetenzzentrum")
        journey.expect(d, "Kompetenzzentrum", "kompetenzzentrum start")
        d.get(BASE + "/kompetenzzentrum/veranstaltungen/neu")
        journey.check(d, "neue veranstaltung")
        Select(d.find_element(By.ID, "art")).select_by_value("kurs")
        journey.fill(d, "titel", TITLE)
        journey.fill(d, "plaetze", "zwölf")
        journey.fill(d, "kontingent", "2")
        journey.fill(d, "beschreibung", "Zwei Kurstage für angehende Informationssicherheitsbeauftragte.")
        journey.fill(d, "ort", "Thüringer Landesverwaltungsamt, Weimarplatz 4, 99423 Weimar")
        d.find_element(By.ID, "thema_informationssicherheit").click()
        d.find_element(By.ID, "qualifizierend").click()
        journey.fill(d, "qualifikation", "Informationssicherheitsbeauftragte/r (Grundschulung)")
        for n, (day, start, end) in enumerate([(yesterday, "09:00", "16:00"), (today, "00:00", "23:59")], start=1):
            journey.fill(d, f"datum{n}", fmt(day))
            journey.fill(d, f"von{n}", start)
            journey.fill(d, f"bis{n}", end)
        journey.click(d, "form.form button[type=submit]")
        journey.expect(d, "ganze Zahl", "neue veranstaltung (Fehler)")
        assert d.find_element(By.ID, "titel").get_attribute("value") == TITLE, "the form keeps what was typed"
        journey.fill(d, "plaetze", "12")
        journey.click(d, "form.form button[type=submit]")
        WebDriverWait(d, 10).until(lambda drv: "/kompetenzzentrum/veranstaltungen/" in drv.current_url and "/neu" not in drv.current_url)
        event = d.current_url.rstrip("/").split("/")[-1].split("?")[0]
        journey.expect(d, TITLE, "teilnehmende (leer)")

        # public catalogue and page
        d.delete_all_cookies()
        d.get(BASE + "/veranstaltungen?thema=informationssicherheit")
        journey.expect(d, TITLE, "katalog gefiltert")
        ics = requests.get(BASE + f"/veranstaltungen/{event}/kalender.ics", timeout=30)
        assert ics.text.count("BEGIN:VEVENT") == 2 and "TZID=Europe/Berlin" in ics.text, ics.text[:300]

        # staff of three tenants register; Erfurt's third person waits (quota 2)
        register(d, "admin.erfurt@demo.rathaus.test", event, "Sie sind angemeldet")
        register(d, "sachbearbeitung.erfurt@demo.rathaus.test", event, "Sie sind angemeldet")
        register(d, "kasse.erfurt@demo.rathaus.test", event, "Kontingent ausgeschöpft")
        register(d, "admin.bad-berka@demo.rathaus.test", event, "Sie sind angemeldet")
        register(d, "admin.vg-kranichfeld@demo.rathaus.test", event, "Sie sind angemeldet")

        # the clerk cancels: the cash office moves up and is told by mail
        login(d, "sachbearbeitung.erfurt@demo.rathaus.test")
        d.get(BASE + "/veranstaltungen/meine")
        journey.check(d, "meine veranstaltungen")
        rows = [r for r in d.find_elements(By.CSS_SELECTOR, "table.data tbody tr") if TITLE in r.text]
        assert rows, "registration not listed"
        rows[0].find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        journey.expect(d, "Sie sind abgemeldet", "abgemeldet")
        d.get(BASE + "/demo/postausgang")
        assert "Platz frei" in d.page_source, "promotion mail missing"
        login(d, "kasse.erfurt@demo.rathaus.test")
        d.get(BASE + f"/veranstaltungen/{event}")
        journey.expect(d, "Sie sind angemeldet.", "nachgerückt")

        # Erfurt's admin registers the clerk again with one click: quota used, so the waiting list
        login(d, "admin.erfurt@demo.rathaus.test")
        d.get(BASE + f"/veranstaltungen/{event}")
        boxes = [b for b in d.find_elements(By.CSS_SELECTOR, "#kollegen input[type=checkbox]") if b.is_enabled()]
        labels = [d.find_element(By.CSS_SELECTOR, f"label[for='{b.get_attribute('id')}']").text for b in boxes]
        clerk = next(b for b, label in zip(boxes, labels) if "Sachbearbeitung" in label)
        clerk.click()
        journey.click(d, f"form[action='/mandanten/{ERFURT}/veranstaltungen/{event}/anmelden'] button[type=submit]")
        journey.expect(d, "Die ausgewählten Personen", "kollegen angemeldet")
        assert "Sachbearbeitung Erfurt (Warteliste)" in d.page_source

        # check-in: everybody on day 1, VG Kranichfeld not on day 2
        login(d, KZ)
        for n in (1, 2):
            d.get(BASE + f"/kompetenzzentrum/veranstaltungen/{event}/termine/{n}")
            journey.check(d, f"anwesenheit termin {n}")
            while True:
                buttons = [li for li in d.find_elements(By.CSS_SELECTOR, "ul.checkin li")
                           if li.find_elements(By.CSS_SELECTOR, "input[name=anwesend][value='1']") and not (n == 2 and "Kranichfeld" in li.text)]
                if not buttons:
                    break
                button = buttons[0].find_element(By.CSS_SELECTOR, "button[type=submit]")
                button.click()
                WebDriverWait(d, 10).until(EC.staleness_of(button))
        assert "3 / 4" in d.page_source, "three of four present on day 2"
        sheet = fetch(d, f"/kompetenzzentrum/veranstaltungen/{event}/termine/1/liste.pdf")
        assert sheet.content.startswith(b"%PDF") and "Anwesenheitsliste" in PdfReader(io.BytesIO(sheet.content)).pages[0].extract_text()
        d.get(BASE + f"/kompetenzzentrum/veranstaltungen/{event}")
        journey.click(d, f"form[action='/kompetenzzentrum/veranstaltungen/{event}/bescheinigungen'] button[type=submit]")
        journey.expect(d, "3 Bescheinigungen ausgestellt", "bescheinigungen ausgestellt")

        # the cash office downloads its certificate; anyone can verify the code
        login(d, "kasse.erfurt@demo.rathaus.test")
        d.get(BASE + "/veranstaltungen/meine")
        journey.check(d, "meine bescheinigungen")
        link = next(a for a in d.find_elements(By.CSS_SELECTOR, "a[href^='/bescheinigungen/']") if TITLE in a.text)
        code = re.search(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]", link.find_element(By.XPATH, "..").text).group(0)
        pdf = fetch(d, link.get_attribute("href").replace(BASE, ""))
        text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
        assert "Teilnahmebescheinigung" in text and code in text and "Informationssicherheitsbeauftragte" in text, text[:400]
        # … and gives feedback (a missing answer first)
        d.get(BASE + f"/veranstaltungen/{event}/rueckmeldung")
        journey.check(d, "rückmeldung")
        d.find_element(By.CSS_SELECTOR, "input[name=gesamt][value='5']").click()
        journey.click(d, "form.form button[type=submit]")
        journey.expect(d, "error-summary", "rückmeldung (Fehler)")
        for name, value in (("gesamt", "5"), ("inhalt", "4"), ("organisation", "4"), ("nutzen", "ja")):
            box = d.find_element(By.CSS_SELECTOR, f"input[name={name}][value='{value}']")
            if not box.is_selected():
                box.click()
        journey.fill(d, "kommentar", "Sehr praxisnah, bitte mehr Übungen.")
        journey.click(d, "form.form button[type=submit]")
        journey.expect(d, "Vielen Dank für Ihre Rückmeldung", "rückmeldung gesendet")
        d.delete_all_cookies()
        d.get(BASE + "/nachweis")
        journey.fill(d, "code", code.lower().replace("-", " "))
        journey.click(d, "form.form button[type=submit]")
        journey.expect(d, "echt und gültig", "nachweis gültig")
        wrong = ("2" if code[0] != "2" else "3") + code[1:]
        d.get(BASE + f"/nachweis/{wrong}")
        journey.expect(d, "nicht gültig", "nachweis tippfehler (Fehler)")

        # the competence centre reads the feedback (table and chart, no names)
        login(d, KZ)
        d.get(BASE + f"/kompetenzzentrum/veranstaltungen/{event}/rueckmeldungen")
        journey.expect(d, "1 Rückmeldungen", "rückmeldungen auswertung")
        assert "Sehr praxisnah" in d.page_source and "Kasse" not in d.find_element(By.TAG_NAME, "main").text

        # Erfurt's profile shows the evidence; Erfurt asks for an on-site visit
        login(d, "admin.erfurt@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{ERFURT}/fortbildung")
        journey.expect(d, "Informationssicherheitsbeauftragte/r (Grundschulung)", "fortbildung erfurt")
        journey.click(d, f"form[action='/mandanten/{ERFURT}/besuche'] button[type=submit]")
        journey.expect(d, "Bitte geben Sie die Themen an", "besuch anfragen (Fehler)")
        journey.fill(d, "themen", "ISMS-Einführung und Notfallvorsorge")
        journey.fill(d, "zeitraum", "diese Woche, vormittags")
        journey.fill(d, "teilnehmende", "Oberbürgermeister, IT-Leitung")
        journey.click(d, f"form[action='/mandanten/{ERFURT}/besuche'] button[type=submit]")
        journey.expect(d, "Ihre Anfrage ist beim Kompetenzzentrum eingegangen", "besuch angefragt")

        # the competence centre plans it (today, late evening) …
        login(d, KZ)
        d.get(BASE + "/kompetenzzentrum/besuche")
        journey.check(d, "besuche planen")
        link = next(a for a in d.find_elements(By.CSS_SELECTOR, "a[href^='/kompetenzzentrum/besuche/']") if "Erfurt" in a.text)
        link.click()
        journey.expect(d, "ISMS-Einführung", "besuch")
        journey.fill(d, "datum", fmt(today))
        journey.fill(d, "uhrzeit", "23:59")
        journey.fill(d, "beratung", "Demo Kompetenzzentrum")
        journey.click(d, "form[action$='/vorschlag'] button[type=submit]")
        journey.expect(d, "Der Terminvorschlag ist gespeichert", "besuch vorgeschlagen")
        visit = d.current_url.split("?")[0]
        # … Erfurt confirms …
        login(d, "admin.erfurt@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{ERFURT}/fortbildung")
        journey.click(d, "form[action$='/bestaetigen'] button[type=submit]")
        journey.expect(d, "Der Termin ist bestätigt", "besuch bestätigt")
        # … the competence centre writes the minutes with a task …
        login(d, KZ)
        d.get(visit)
        journey.fill(d, "protokoll", "Sicherheitsleitlinie und Notfallhandbuch besprochen.")
        journey.fill(d, "aufgabe", "Sicherheitsleitlinie im Stadtrat beschließen")
        journey.fill(d, "verantwortlich", "Oberbürgermeister")
        journey.fill(d, "faellig", fmt(in_two_weeks))
        journey.click(d, "form[action$='/protokoll'] button[type=submit]")
        journey.expect(d, "Das Protokoll ist gespeichert", "protokoll")
        # … and Erfurt sees the task and marks it done
        login(d, "admin.erfurt@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{ERFURT}/fortbildung")
        journey.expect(d, "Sicherheitsleitlinie im Stadtrat beschließen", "aufgabe offen")
        journey.click(d, "form[action$='/erledigt'] button[type=submit]")
        journey.expect(d, "Die Aufgabe ist als erledigt gemeldet", "aufgabe erledigt")

        # the Land's reach dashboard
        login(d, "land@demo.rathaus.test")
        d.get(BASE + "/kompetenzzentrum/reichweite")
        journey.expect(d, "Kommunen erreicht", "reichweite")
        reached = int(re.search(r"<strong>(\d+) von (\d+)</strong>", d.page_source).group(1))
        assert reached >= 3, f"Erfurt, Bad Berka and VG Kranichfeld reached, dashboard says {reached}"
        csv = fetch(d, "/kompetenzzentrum/reichweite?format=csv")
        assert csv.headers["content-type"].startswith("text/csv") and "Erfurt" in csv.text
    finally:
        d.quit()
    print(f"kompetenzzentrum: Kurs „{TITLE}“ mit Warteliste, Nachrücken, Anwesenheit, 3 Bescheinigungen (Code {code} öffentlich geprüft), "
          f"Vor-Ort-Termin mit Aufgabe, Reichweite {reached} Kommunen; {journey.PAGES[0]} Seiten mit axe geprüft, {len(journey.VIOLATIONS)} Verstöße")
    for v in journey.VIOLATIONS:
        print("  ", v)
    sys.exit(1 if journey.VIOLATIONS else 0)


if __name__ == "__main__":
    main()
