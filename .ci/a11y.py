#!/usr/bin/env python3
"""Accessibility check: crawls the running demo server as a visitor and as every demo role,
runs axe-core (WCAG 2.x A/AA rules) on each page in headless Chromium and fails on any violation.

Usage: a11y.py BASE_URL   (server started with `rathaus serve --demo`)
"""
import os
import sys
import time
from urllib.parse import urljoin, urlparse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from selenium_axe_python import Axe

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import journey  # noqa: E402  (the one sign-in helper)

BASE = sys.argv[1].rstrip("/")
PASSWORD = "Demo-Passwort-2026"
# pages a role reaches deep in its navigation that the crawl limit might not get to first:
# the audit trail (with its field diff) and an invoice with findings
EXTRA = {
    "betrieb@demo.rathaus.test": ["/betrieb/audit", "/betrieb/audit?aktion=office.update", "/betrieb/isms", "/isms/uebersicht"],
    "land@demo.rathaus.test": ["/isms/uebersicht", "/betrieb/isms"],
    "admin.bad-berka@demo.rathaus.test": ["/mandanten/160710003003/isms", "/mandanten/160710003003/isms/anforderungen/BACK-1",
                                          "/mandanten/160710003003/isms/anforderungen/DRUCK-2", "/mandanten/160710003003/isms/massnahmen",
                                          "/mandanten/160710003003/isms/struktur", "/mandanten/160710003003/sicherheitsvorfaelle",
                                          "/mandanten/160710003003/sicherheitsvorfaelle/neu"],
    "cert@demo.rathaus.test": ["/betrieb/sicherheitsvorfaelle"],
    "sachbearbeitung.erfurt@demo.rathaus.test": ["/mandanten/16051/rechnungen"],
    "admin.erfurt@demo.rathaus.test": ["/mandanten/16051/fitconnect"],
    "kasse.erfurt@demo.rathaus.test": ["/mandanten/16051/kasse", "/mandanten/16051/kasse/tagesbericht"],
    "einkauf@demo.rathaus.test": ["/einkauf", "/einkauf/abrufe", "/einkauf/abrufe?status=alle", "/einkauf/rechnungen", "/einkauf/rechnungssteller"],
    "beschaffung.bad-berka@demo.rathaus.test": ["/beschaffung", "/beschaffung?q=Notbook", "/mandanten/160710003003/beschaffung"],
}
ROLES = [
    "betrieb@demo.rathaus.test",
    "land@demo.rathaus.test",
    "admin.erfurt@demo.rathaus.test",
    "admin.vg-kranichfeld@demo.rathaus.test",
    "admin.bad-berka@demo.rathaus.test",   # three roles in one tenant (header shows all)
    "sachbearbeitung.erfurt@demo.rathaus.test",
    "kasse.erfurt@demo.rathaus.test",
    "kompetenzzentrum@demo.rathaus.test",
    "foerderung.vg-kranichfeld@demo.rathaus.test",
    "vorsitz.vg-kranichfeld@demo.rathaus.test",
    "bewilligung@demo.rathaus.test",
    "cert@demo.rathaus.test",
    "einkauf@demo.rathaus.test",
    "beschaffung.bad-berka@demo.rathaus.test",
]
CITIZENS = ["buerger@demo.rathaus.test", "firma@demo.rathaus.test"]
SKIP = ("/abmelden", "/api/", "/metrics", "/health", ".csv", "/css/", "/xzufi/", ".xsd", ".json", ".xml", "/dateien/", "/konto/daten")
MAX_PAGES = 12


def driver():
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    # axe-core runs as an async script; on a loaded machine a large page takes longer than the 30 s default
    d.set_script_timeout(90)
    return d


def normalise(url):
    p = urlparse(url)
    # one representative per page kind: drop paging and filters except the first variant
    return p.path + (("?" + p.query) if p.query and len(p.query) < 40 else "")


PASSES = [0]


def crawl(d, start_paths, label, results, limit=MAX_PAGES):
    seen, queue, pages = set(), list(start_paths), 0
    while queue and pages < limit:
        path = queue.pop(0)
        if path in seen or any(s in path for s in SKIP):
            continue
        seen.add(path)
        d.get(BASE + path)
        pages += 1
        axe = Axe(d)
        axe.inject()
        res = axe.run(options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
        PASSES[0] += len(res["passes"])
        for v in res["violations"]:
            results.append((label, path, v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]))
        for a in d.find_elements(By.CSS_SELECTOR, "a[href]"):
            href = a.get_attribute("href") or ""
            if urlparse(href).netloc != urlparse(BASE).netloc:
                continue
            n = normalise(href)
            if n not in seen and n not in queue:
                # pages of the signed-in role first, the public unit pages (all alike) last
                if n.startswith("/gebiete/"):
                    queue.append(n)
                else:
                    queue.insert(0, n)
        # the language switch leads to the English version of the same page; check that once too
    return pages


def login(d, email):
    journey.staff_login(d, email, password=PASSWORD, audit=False)


def main():
    d = driver()
    results, total = [], 0
    try:
        total += crawl(d, ["/", "/gebiete", "/gebiete/160715007", "/anmelden", "/gibt-es-nicht", "/gebiete?ebene=dorf",
                          "/finder?leistung=Hund+anmelden&ort=Erfurt", "/finder?leistung=Hund+anmelden&ort=99438",
                          "/leistungen/99008001000000", "/einbetten/finder?leistung=Perso&ort=Tonndorf",
                          "/rechnungen/einreichen", "/rechnungen/erfassen", "/onlinedienste", "/onlinedienste?ars=160510000000",
                          "/onlinedienste/hund-anmelden?ars=160510000000", "/onlinedienste/hund-anmelden?ars=160715007043",
                          "/konto/registrieren", "/konto/anmelden", "/konto/passwort-vergessen", "/?ort=Erfurt", "/?ort=99438", "/ueber",
                          "/impressum", "/datenschutz", "/barrierefreiheit", "/leichte-sprache", "/gebaerdensprache",
                          "/onlinedienste/hund-anmelden?ort=Atlantis", "/veranstaltungen", "/veranstaltungen?thema=e-rechnung&frei=1",
                          "/nachweis", "/nachweis/ABCD-EFGH-2", "/leichte-sprache/suche",
                          "/leichte-sprache/suche?leistung=Hund+anmelden&ort=Erfurt", "/leichte-sprache/suche?leistung=Hund+anmelden&ort=99438"],
                          "anonym", results, limit=56)
        d.get(BASE + "/sprache/en?zurueck=/gebiete")
        total += crawl(d, ["/gebiete", "/anmelden"], "anonym-en", results)
        d.get(BASE + "/sprache/de?zurueck=/")
        # a form with errors, as a user sees it after a mistake
        d.get(BASE + "/anmelden")
        d.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
        total += crawl(d, [], "x", results)
        axe = Axe(d); axe.inject()
        for v in axe.run()["violations"]:
            results.append(("anonym", "/anmelden (Fehler)", v["id"], v["help"], []))
        # the supplier's invoice form after a mistake: every field error shown at its field
        d.get(BASE + "/rechnungen/erfassen")
        d.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
        axe = Axe(d); axe.inject()
        for v in axe.run()["violations"]:
            results.append(("anonym", "/rechnungen/erfassen (Fehler)", v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]))
        for email in ROLES:
            login(d, email)
            start = urlparse(d.current_url).path
            total += crawl(d, [start, "/"] + EXTRA.get(email, []), email, results)
            time.sleep(0.2)
        for email in CITIZENS:
            d.delete_all_cookies()
            d.get(BASE + "/konto/anmelden")
            d.find_element(By.ID, "email").send_keys(email)
            d.find_element(By.ID, "passwort").send_keys(PASSWORD)
            d.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
            WebDriverWait(d, 10).until(lambda drv: "/konto/anmelden" not in drv.current_url)
            total += crawl(d, ["/konto", "/konto/profil", "/konto/postfach", "/konto/loeschen", "/konto/identifizieren",
                               "/onlinedienste/gewerbeanmeldung?ars=160510000000"], email, results)
    finally:
        d.quit()
    print(f"a11y: {total} Seiten geprüft, {PASSES[0]} bestandene Regelprüfungen, {len(results)} Verstöße")
    for r in results:
        print("  ", r)
    sys.exit(1 if results or total < 30 or PASSES[0] == 0 else 0)


if __name__ == "__main__":
    main()
