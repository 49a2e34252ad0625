#!/usr/bin/env python3
"""FIM XDatenfelder import in the browser, axe-core on every page of Rathaus:
the Land uploads a message the standard does not allow (refused: the finding names the element and
its line), then the real Mutterschutz schema (S00000094) without its code lists (imported as a draft,
the report names every missing code list, publishing is refused) and again with its four genericode
lists (0 errors, published); Erfurt activates the service; a citizen fills the imported form and
submits it; the clerk downloads the submission as a data instance of the schema (XML, well-formed,
root S00000094, groups and fields by FIM id) and as JSON.

Usage: fim.py BASE_URL
"""
import glob
import importlib
import json
import os
import sys
import tempfile
import datetime
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.dirname(__file__))
import journey  # noqa: E402

allsvc = importlib.import_module("all-services")
BASE = journey.BASE
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests", "Fixtures", "fim")
ERFURT = "160510000000"
SLUG = "mutterschutz-meldung"
LEIKA = "99006028261000"


def upload(d, schema, lists=(), slug=SLUG, leika=LEIKA):
    d.get(BASE + "/land/onlinedienste/fim")
    journey.expect(d, "FIM-Stammdatenschema importieren", "fim import")
    d.find_element(By.ID, "schema").send_keys(schema)
    if lists:
        d.find_element(By.ID, "codelisten").send_keys("\n".join(lists))
    journey.fill(d, "kennung", slug)
    journey.fill(d, "leika", leika)
    journey.click(d, "form[action='/land/onlinedienste/fim'] button[type=submit]")


def main():
    d = journey.driver()
    schema = os.path.join(FIX, "xdatenfelder", "v2-fim", "S00000094V1.0_xdf2.xml")
    lists = sorted(glob.glob(os.path.join(FIX, "genericode", "S00000094", "*.xml")))
    try:
        journey.staff_login(d, "land@demo.rathaus.test")
        d.get(BASE + "/land/onlinedienste")
        journey.click(d, "a[href='/land/onlinedienste/fim']")
        # a message the standard does not allow: refused, the finding names element and line
        upload(d, os.path.join(FIX, "xdatenfelder", "v3-synthetic", "unexpected-node.xml"))
        journey.expect(d, "nicht vorgesehen", "fim abgewiesen")
        rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "table.data tbody tr")]
        assert any("unknown" in r and " 11 " in f" {r} " for r in rows), rows[:3]
        print("Unzulässige Nachricht abgewiesen: Element „unknown“ in Zeile 11 genannt")

        # the real schema without its code lists: a draft whose report names each missing list
        upload(d, schema)
        WebDriverWait(d, 20).until(lambda drv: "/land/onlinedienste/fim/" in drv.current_url)
        journey.expect(d, "Importbericht", "fim bericht ohne codelisten")
        errors = int(d.find_element(By.ID, "fehler").text)
        assert errors == 4, f"4 fehlende Codelisten erwartet, {errors}"
        assert "urn:de:fim:codeliste:artbeschäftigungsverhältnis_2018-05-09" in d.page_source
        assert not d.find_elements(By.ID, "veroeffentlichen"), "without its code lists the draft cannot be published"
        assert "hat keine Antworten" in d.find_element(By.ID, "probleme").text
        print(f"Ohne Codelisten: Entwurf mit {errors} Fehlern, jede fehlende Codeliste genannt, Veröffentlichen gesperrt")

        # with the four genericode lists: no error, 13 rules listed as notes, published
        upload(d, schema, lists)
        WebDriverWait(d, 20).until(lambda drv: "/land/onlinedienste/fim/" in drv.current_url)
        journey.expect(d, "Importbericht", "fim bericht mit codelisten")
        assert d.find_element(By.ID, "fehler").text == "0"
        rules = [r for r in d.find_elements(By.CSS_SELECTOR, "table.data tbody tr.hinweis") if "wird nicht ausgeführt" in r.text]
        assert len(rules) == 13, len(rules)
        steps, fields = d.find_element(By.ID, "schritte").text, d.find_element(By.ID, "felder").text
        d.find_element(By.ID, "veroeffentlichen").click()
        WebDriverWait(d, 20).until(lambda drv: f"veroeffentlicht={SLUG}-" in drv.current_url)
        journey.check(d, "land nach veröffentlichung")
        print(f"Mit 4 Codelisten: 0 Fehler, 13 Regeln als Hinweis, {steps} Schritte, {fields} Felder/Gruppen, veröffentlicht")

        # Erfurt offers it
        journey.staff_login(d, "admin.erfurt@demo.rathaus.test")
        d.get(BASE + "/mandanten/16051/onlinedienste")
        journey.expect(d, "Benachrichtigung über die Beschäftigung", "erfurt onlinedienste")
        d.find_element(By.ID, f"{SLUG}-aktiv-ja").click()
        d.find_element(By.CSS_SELECTOR, f"form[action='/mandanten/16051/onlinedienste/{SLUG}'] button[type=submit]").click()
        WebDriverWait(d, 20).until(lambda drv: f"gespeichert={SLUG}" in drv.current_url)

        # a citizen fills the imported form and submits it
        import urllib.request
        with urllib.request.urlopen(f"{BASE}/api/v1/onlinedienste/{SLUG}") as r:
            definition = json.load(r)
        d.delete_all_cookies()
        d.get(BASE + "/konto/anmelden")
        journey.fill(d, "email", "buerger@demo.rathaus.test")
        journey.fill(d, "passwort", "Demo-Passwort-2026")
        journey.click(d, "form.form button[type=submit]")
        WebDriverWait(d, 10).until(lambda drv: "/konto/anmelden" not in drv.current_url)
        d.get(f"{BASE}/onlinedienste/{SLUG}?ars={ERFURT}")
        journey.expect(d, "Benachrichtigung über die Beschäftigung", "dienstseite")
        journey.click(d, "form[action$='/antrag'] button[type=submit]")
        pdf = os.path.join(tempfile.mkdtemp(), "nachweis.pdf")
        open(pdf, "wb").write(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
        today = datetime.datetime.now(ZoneInfo("Europe/Berlin")).date()
        dates = {}
        for step in definition["form"]["steps"]:
            WebDriverWait(d, 10).until(lambda drv: f"/schritt/{step['id']}" in drv.current_url)
            before = d.current_url
            for attempt in range(4):
                # optional groups (0:1) are added once so their fields are filled too
                for b in d.find_elements(By.CSS_SELECTOR, "button[value^='add:']"):
                    if attempt == 0 and b.get_attribute("value").count(".") == 0:
                        b.click()
                        WebDriverWait(d, 10).until(lambda drv: drv.find_elements(By.CSS_SELECTOR, "button[value=weiter]"))
                        break
                for f in step["fields"]:
                    allsvc.fill_field(d, f, f["id"], definition["form"], today, dates, pdf)
                journey.check(d, f"mutterschutz/{step['id']}")
                journey.click(d, "button[value=weiter]")
                WebDriverWait(d, 10).until(lambda drv: drv.current_url != before or "error-message" in drv.page_source)
                if d.current_url != before:
                    break
            if d.current_url == before:
                raise SystemExit(f"Schritt {step['id']}: " + " | ".join(e.text for e in d.find_elements(By.CSS_SELECTOR, ".error-message"))[:800])
        WebDriverWait(d, 10).until(lambda drv: "/pruefen" in drv.current_url)
        journey.check(d, "mutterschutz/pruefen")
        journey.click(d, "form[action$='/absenden'] button[type=submit]")
        WebDriverWait(d, 10).until(lambda drv: "Ihr Antrag ist eingegangen" in drv.page_source)
        ref = d.find_element(By.CSS_SELECTOR, "strong.reference").text
        print(f"Bürgerin hat das importierte Formular ({len(definition['form']['steps'])} Schritte) ausgefüllt und gesendet: {ref}")

        # the clerk exports the case as a data instance of the schema
        journey.staff_login(d, "sachbearbeitung.erfurt@demo.rathaus.test")
        d.get(BASE + f"/mandanten/16051/antraege?q={ref}")
        journey.expect(d, ref, "eingang")
        d.find_element(By.PARTIAL_LINK_TEXT, ref).click()
        journey.expect(d, "Dateninstanz nach FIM-Schema", "fall mit fim-export")
        xml_path = d.find_element(By.ID, "fim-xml").get_attribute("href").replace(BASE, "")
        json_path = d.find_element(By.ID, "fim-json").get_attribute("href").replace(BASE, "")
        x = journey.fetch(d, xml_path)
        assert x.status_code == 200, x.status_code
        root = ET.fromstring(x.content)
        assert root.tag == "{urn:rathaus:fim:dateninstanz}S00000094", root.tag
        groups = [c.tag.split("}")[1] for c in root]
        assert any(g.startswith("G") for g in groups) and all(g[0] in "GF" for g in groups), groups
        leaves = [e for e in root.iter() if len(e) == 0 and (e.text or "").strip()]
        assert len(leaves) >= 5, len(leaves)
        j = journey.fetch(d, json_path).json()
        assert j["schema"] == "S00000094" and set(j["daten"]) == set(groups), (j.get("schema"), list(j.get("daten", {}))[:5])
        print(f"Export: XML mit Wurzel S00000094, {len(groups)} Elemente der obersten Ebene, {len(leaves)} Werte; JSON mit derselben Struktur")
    finally:
        d.quit()
    print(f"{journey.PAGES[0]} Seiten mit axe geprüft, {len(journey.VIOLATIONS)} Verstöße")
    for v in journey.VIOLATIONS:
        print("  ", v)
    if journey.VIOLATIONS:
        sys.exit(1)


if __name__ == "__main__":
    main()
