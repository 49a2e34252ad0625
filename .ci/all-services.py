#!/usr/bin/env python3
"""Every published online service is filled and submitted once in the browser.

Usage: all-services.py BASE_URL   (server started with `rathaus serve --demo`; Erfurt offers every
shipped service there). The demo citizen identifies once at level "hoch" with the test identity
provider; each form is filled from its definition (GET /api/v1/onlinedienste/{slug}) the way a
person would: typing into fields, clicking radio buttons and checkboxes, attaching a PDF. Fees
Erfurt collects before sending are paid with the test payment provider. Every page is checked
with axe-core. Prints one line per service and a summary; exits 1 when a service could not be sent.
"""
import datetime
from zoneinfo import ZoneInfo
import json
import os
import sys
import tempfile
import urllib.request

from selenium.common.exceptions import NoSuchElementException, ElementNotInteractableException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

import journey
from journey import BASE, check, click, driver

ERFURT = "160510000000"


def bound(spec, today, dates):
    if not spec:
        return None
    if spec.startswith("heute"):
        rest = spec[5:]
        years = rest.endswith("j")
        if years:
            rest = rest[:-1]
        n = int(rest) if rest else 0
        if years:
            try:
                return today.replace(year=today.year + n)
            except ValueError:
                return today.replace(year=today.year + n, day=28)
        return today + datetime.timedelta(days=n)
    return dates.get(spec)


def type_into(d, el_id, value):
    try:
        el = d.find_element(By.ID, el_id)
        el.clear()
        el.send_keys(value)
    except (NoSuchElementException, ElementNotInteractableException):
        pass  # a field shown only under a condition that does not hold


def tick(d, el_id):
    try:
        el = d.find_element(By.ID, el_id)
        if not el.is_selected():
            el.click()
    except (NoSuchElementException, ElementNotInteractableException):
        pass


def fill_field(d, f, name, form, today, dates, pdf):
    t = f["type"]
    if t in ("text", "multiline"):
        text = "Beispielangabe zum Antrag"[: int(f.get("maxLength", 200))]
        type_into(d, name, f.get("example") or (text if "pattern" not in f else ""))
    elif t == "number":
        type_into(d, name, f.get("min", "1"))
    elif t == "decimal":
        type_into(d, name, f.get("min", "1").replace(".", ","))
    elif t == "date":
        lo, hi = bound(f.get("notBefore"), today, dates), bound(f.get("notAfter"), today, dates)
        pick = today - datetime.timedelta(days=30 * 365)
        if lo and pick < lo:
            pick = lo
        if hi and pick > hi:
            pick = hi
        dates[f["id"]] = pick
        type_into(d, name, pick.strftime("%d.%m.%Y"))
    elif t == "select":
        try:
            Select(d.find_element(By.ID, name)).select_by_index(1)
        except (NoSuchElementException, ElementNotInteractableException):
            pass
    elif t in ("radio", "checkbox"):
        tick(d, f"{name}-0")
    elif t == "yesno":
        tick(d, f"{name}-1")
    elif t == "email":
        type_into(d, name, "erika@example.org")
    elif t == "phone":
        type_into(d, name, "0361 6550")
    elif t == "iban":
        type_into(d, name, "DE02120300000000202051")
    elif t == "address":
        for k, v in (("strasse", "Fischmarkt"), ("hausnummer", "1"), ("plz", "99084"), ("ort", "Erfurt")):
            type_into(d, f"{name}.{k}", v)
    elif t == "file":
        try:
            d.find_element(By.ID, name).send_keys(pdf)
        except (NoSuchElementException, ElementNotInteractableException):
            pass
    elif t == "group":
        for sub in f.get("fields", []):
            fill_field(d, sub, f"{name}.0.{sub['id']}", form, today, dates, pdf)


def designer(d):
    """The Land builds a small service, sees a problem in the preview, fixes it and publishes."""
    journey.staff_login(d, "land@demo.rathaus.test", audit=False)
    d.get(BASE + "/land/onlinedienste")
    click(d, "a[href='/land/onlinedienste/designer']")
    WebDriverWait(d, 10).until(lambda drv: "/designer" in drv.current_url)
    check(d, "designer")
    journey.fill(d, "titel_de", "Baumschnitt melden (Browsertest)")
    journey.fill(d, "titel_en", "Report tree pruning")
    journey.fill(d, "slug", "baumschnitt-browsertest")
    journey.fill(d, "kurz_de", "Melden Sie einen Rückschnitt an Bäumen auf Ihrem Grundstück.")
    journey.fill(d, "leika", "99093003001002")
    journey.fill(d, "rechtsgrundlage_de", "Baumschutzsatzung der Gemeinde")
    click(d, "button[value='feld_neu:0']")
    WebDriverWait(d, 10).until(lambda drv: drv.find_elements(By.ID, "s0.f1.label_de"))
    journey.fill(d, "s0.f1.label_de", "Art des Schnitts")
    journey.fill(d, "s0.f1.id", "art")
    Select(d.find_element(By.ID, "s0.f1.typ")).select_by_value("select")
    click(d, "button[value=pruefen]")
    WebDriverWait(d, 10).until(lambda drv: "hat keine Antworten" in drv.page_source)
    check(d, "designer mit Problem")
    assert "Art des Schnitts" in d.find_element(By.CSS_SELECTOR, "section.preview").text, "preview shows the new field"
    d.find_element(By.XPATH, "//textarea[@id='s0.f1.optionen']/ancestor::details/summary").click()
    journey.fill(d, "s0.f1.optionen", "form|Formschnitt|Shaping\npflege|Pflegeschnitt|Maintenance")
    click(d, "button[value=pruefen]")
    WebDriverWait(d, 10).until(lambda drv: "Keine Probleme gefunden" in drv.page_source)
    check(d, "designer ohne Problem")
    click(d, "button[value=veroeffentlichen]")
    WebDriverWait(d, 10).until(lambda drv: "veroeffentlicht=baumschnitt-browsertest-1" in drv.current_url)
    d.get(BASE + "/onlinedienste/baumschnitt-browsertest")
    assert "Baumschnitt melden (Browsertest)" in d.page_source
    print("  designer: Dienst gebaut, Problem in der Vorschau gesehen, behoben und als Version 1 veröffentlicht")


def sign_in_citizen(d, base):
    """The demo citizen signs in and identifies at level "hoch" with the test identity provider."""
    d.delete_all_cookies()
    d.get(base + "/konto/anmelden")
    journey.fill(d, "email", "buerger@demo.rathaus.test")
    journey.fill(d, "passwort", "Demo-Passwort-2026")
    click(d, "form.form button[type=submit]")
    WebDriverWait(d, 10).until(lambda drv: "/konto/anmelden" not in drv.current_url)
    d.get(base + "/konto/identifizieren?niveau=hoch&weiter=%2Fkonto")
    click(d, "form[action='/konto/identifizieren'] button[type=submit]")
    WebDriverWait(d, 10).until(lambda drv: "testanbieter" in drv.current_url)
    click(d, "form[action='/konto/identifizieren/testanbieter'] button[type=submit]")
    WebDriverWait(d, 10).until(lambda drv: "testanbieter" not in drv.current_url)


def replaced(element):
    """True once the browser shows a new document: the old page's element is gone (Chrome says
    so with a stale-element error or, during navigation, an inspector error)."""
    try:
        element.is_enabled()
        return False
    except WebDriverException:
        return True


def apply(d, base, slug, pdf, today, ars=ERFURT):
    """Fills the service's form from its definition the way a person would and sends it (paying
    with the test provider when the fee is due first). Returns the reference (Aktenzeichen)."""
    with urllib.request.urlopen(f"{base}/api/v1/onlinedienste/{slug}") as r:
        definition = json.load(r)
    d.get(f"{base}/onlinedienste/{slug}?ars={ars}")
    click(d, "form[action$='/antrag'] button[type=submit]")
    dates = {}
    for step in definition["form"]["steps"]:
        WebDriverWait(d, 10).until(lambda drv: f"/schritt/{step['id']}" in drv.current_url)
        before = d.current_url
        # a field shown only after an answer on the same page (no JavaScript: the
        # page comes back with it and a message) is filled on the second round
        for attempt in range(3):
            for f in step["fields"]:
                fill_field(d, f, f["id"], definition["form"], today, dates, pdf)
            check(d, f"{slug}/{step['id']}")
            page = d.find_element(By.TAG_NAME, "html")
            click(d, "button[value=weiter]")
            # wait for the new document first: the old page may itself carry an error message
            # from the round before, and reading it would race the form's answer
            WebDriverWait(d, 20).until(lambda drv: replaced(page))
            WebDriverWait(d, 10).until(lambda drv: drv.current_url != before or "error-message" in drv.page_source)
            if d.current_url != before:
                break
        if d.current_url == before:
            raise RuntimeError(f"Schritt {step['id']}: " + " | ".join(e.text for e in d.find_elements(By.CSS_SELECTOR, ".error-message")))
    WebDriverWait(d, 10).until(lambda drv: "/pruefen" in drv.current_url)
    check(d, f"{slug}/pruefen")
    if d.find_elements(By.CSS_SELECTOR, "form[action$='/bezahlen'] button[type=submit]"):
        click(d, "form[action$='/bezahlen'] button[type=submit]")
        WebDriverWait(d, 10).until(lambda drv: "/bezahlen/test/" in drv.current_url)
        click(d, "button[value=bezahlen]")
    else:
        click(d, "form[action$='/absenden'] button[type=submit]")
    WebDriverWait(d, 10).until(lambda drv: "Ihr Antrag ist eingegangen" in drv.page_source)
    return d.find_element(By.CSS_SELECTOR, "strong.reference").text


def main():
    pdf = os.path.join(tempfile.mkdtemp(), "nachweis.pdf")
    with open(pdf, "wb") as fh:
        fh.write(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    with urllib.request.urlopen(BASE + "/api/v1/onlinedienste") as r:
        slugs = [i["kennung"] for i in json.load(r)["items"]]
    d = driver()
    sent, failed = [], []
    try:
        sign_in_citizen(d, BASE)
        today = datetime.datetime.now(ZoneInfo("Europe/Berlin")).date()  # the server's calendar
        for slug in slugs:
            try:
                ref = apply(d, BASE, slug, pdf, today)
                sent.append(slug)
                print(f"  {slug}: eingereicht, Aktenzeichen {ref}")
            except Exception as e:  # noqa: BLE001 – report every service, then fail
                failed.append(slug)
                print(f"  {slug}: FEHLER {str(e)[:300]} (Seite {d.current_url})")
        designer(d)
    finally:
        d.quit()
    print(f"all-services: {len(sent)} von {len(slugs)} Onlinediensten im Browser eingereicht; "
          f"{journey.PAGES[0]} Seiten mit axe geprüft, {len(journey.VIOLATIONS)} Verstöße")
    for v in journey.VIOLATIONS:
        print("  ", v)
    sys.exit(1 if failed or journey.VIOLATIONS or len(slugs) < 35 else 0)


if __name__ == "__main__":
    main()
