#!/usr/bin/env python3
"""The roll-out monitor in a real browser (headless Chromium) against the demo server: a resident
searches the finder for a service Bad Berka does not offer online; the operator runs the daily
job from the jobs page, filters the matrix to Weimarer Land and exports it, opens the map and the
time series (checked for their text alternatives) and finds the search as a demand signal; Bad
Berka's admin sees the task in the cockpit, follows it, activates the service, and task and signal
are gone. axe-core checks every page.

Usage: rollout.py BASE_URL   (server started with `rathaus serve --demo`)
"""
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

sys.path.insert(0, __import__("os").path.dirname(__file__))
import journey  # noqa: E402

BASE = journey.BASE
login = journey.staff_login
BERKA = "160710003003"


fetch = journey.fetch


def signal_rows(d):
    d.get(BASE + "/rollout/nachfrage?kreis=16071")
    journey.expect(d, "Nachfrage nach Onlinediensten", "nachfrage")
    rows = []
    for tr in d.find_elements(By.CSS_SELECTOR, "table.data tbody tr"):
        cells = [c.text for c in tr.find_elements(By.CSS_SELECTOR, "th, td")]
        rows.append(cells)
    return rows


def main():
    d = journey.driver()
    try:
        # a resident looks for a service Bad Berka does not offer online
        d.delete_all_cookies()
        for _ in range(3):
            d.get(BASE + "/finder?leistung=Hund+abmelden&ort=Bad+Berka")
        journey.expect(d, "Bad Berka", "finder")

        # the operator runs the day's aggregation and reads the monitor
        login(d, "betrieb@demo.rathaus.test")
        d.get(BASE + "/betrieb/jobs")
        journey.expect(d, "rollout-tagesauswertung", "jobs")
        journey.click(d, "form[action='/betrieb/jobs/rollout-tagesauswertung/ausfuehren'] button[type=submit]")
        journey.expect(d, "Suchen zusammengefasst", "job gelaufen")
        d.get(BASE + "/rollout")
        journey.expect(d, "Roll-out-Monitor", "matrix")
        Select(d.find_element(By.ID, "kreis")).select_by_value("16071")
        journey.click(d, "form.filter button[type=submit]")
        journey.expect(d, f">{BERKA}<", "matrix weimarer land")
        assert ">16052<" not in d.page_source, "only Weimarer Land"
        for tag in ["<figcaption>", "aria-labelledby=\"shares-title\"", "<title id=\"shares-title\">"]:
            assert tag in d.page_source, tag
        link = d.find_element(By.PARTIAL_LINK_TEXT, "CSV").get_attribute("href")
        csv = fetch(d, link.replace(BASE, ""))
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv"), csv.status_code
        assert "Bad Berka" in csv.text and "Gera" not in csv.text, "export of the filtered matrix"
        d.get(BASE + "/rollout/karte?faehigkeit=onlinedienste")
        journey.expect(d, "Gefüllter grüner Punkt", "karte")
        assert d.page_source.count("<circle") > 500, "one dot per Gemeinde"
        assert "aria-labelledby=\"map-title\"" in d.page_source and "Gemeinden je Kreis" in d.page_source, "map with its text alternative"
        d.get(BASE + "/rollout/verlauf?faehigkeit=erechnung")
        journey.expect(d, "Anteil in Betrieb je Monat", "verlauf")
        assert "<polyline" in d.page_source
        rows = signal_rows(d)
        berka = [r for r in rows if len(r) >= 4 and "Bad Berka" in r[1]]
        assert berka, f"the search is a demand signal: {rows}"
        service = berka[0][0]

        # Bad Berka's admin: the task, the fix, and both gone
        login(d, "admin.bad-berka@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{BERKA}/cockpit")
        journey.expect(d, "Offene Aufgaben", "cockpit")
        task = f"Suchen nach „{service}“"
        assert task in d.find_element(By.ID, "aufgaben").text, d.find_element(By.ID, "aufgaben").text
        d.find_element(By.PARTIAL_LINK_TEXT, task).click()
        journey.expect(d, "hund-abmelden", "onlinedienste")
        d.find_element(By.ID, "hund-abmelden-aktiv-ja").click()
        journey.click(d, "form[action$='/onlinedienste/hund-abmelden'] button[type=submit]")
        journey.expect(d, "hund-abmelden", "aktiviert")
        d.get(BASE + f"/mandanten/{BERKA}/cockpit")
        journey.expect(d, "Offene Aufgaben", "cockpit danach")
        assert task not in d.page_source, "the task disappears once the service is offered"
        login(d, "betrieb@demo.rathaus.test")
        rows = signal_rows(d)
        assert not [r for r in rows if len(r) >= 4 and "Bad Berka" in r[1] and r[0] == service], "the signal disappears"
    finally:
        d.quit()
    print(f"rollout: Matrix gefiltert und exportiert, Karte und Verlauf mit Textalternative, Nachfrage „{service}“ in Bad Berka als Aufgabe erledigt; "
          f"{journey.PAGES[0]} Seiten mit axe geprüft, {len(journey.VIOLATIONS)} Verstöße")
    for v in journey.VIOLATIONS:
        print("  ", v)
    sys.exit(1 if journey.VIOLATIONS else 0)


if __name__ == "__main__":
    main()
