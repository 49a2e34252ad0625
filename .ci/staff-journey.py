#!/usr/bin/env python3
"""Staff roles in a real browser (headless Chromium) against the demo server:
Erfurt's tenant admin invites a colleague as tenant admin and gives the Bad Berka admin (who holds
three roles there) a deputy role in Erfurt until tomorrow; a duplicate is refused with a German message.
The colleague sets a password through the one-time link, sets up TOTP (the code is computed here from
the secret the page shows, as an authenticator app would) and lands on Erfurt's start page.
The Bad Berka admin sees the roles and the tenant she acts for in the header, switches to Erfurt,
works there as clerk but may not manage Erfurt's staff; when Erfurt removes the deputy role, the next
page for Erfurt is refused at once. axe-core checks every page on the way.

Usage: staff-journey.py BASE_URL   (server started with `rathaus serve --demo`)
"""
import base64
import datetime
from zoneinfo import ZoneInfo
import hashlib
import hmac
import re
import struct
import sys
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, __import__("os").path.dirname(__file__))
import journey  # noqa: E402  (driver, axe check and helpers shared with the citizen journey)

BASE = journey.BASE
ERFURT = "16051"
BAD_BERKA = "160710003003"
NEW = f"petra.neu.{int(time.time())}@example.org"
PASSWORD = "Neues-Passwort-2026"


def totp(secret, at=None):
    """RFC 6238 with the defaults every authenticator app uses (SHA-1, 30 s, 6 digits)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


def login(d, email, password="Demo-Passwort-2026"):
    journey.staff_login(d, email, password)


def main():
    d = journey.driver()
    tomorrow = (datetime.datetime.now(ZoneInfo("Europe/Berlin")).date() + datetime.timedelta(days=1)).strftime("%d.%m.%Y")
    try:
        # Erfurt's administrator invites a colleague as tenant administrator
        login(d, "admin.erfurt@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{ERFURT}/personal")
        journey.expect(d, "Personal", "personal erfurt")
        journey.fill(d, "email", NEW)
        journey.click(d, "form[action$='/einladen'] button[type=submit]")
        journey.expect(d, "Bitte geben Sie den Namen", "einladen (Fehler: Name fehlt)")
        journey.fill(d, "name", "Petra Neu")
        Select(d.find_element(By.ID, "rolle")).select_by_value("tenant-admin")
        journey.click(d, "form[action$='/einladen'] button[type=submit]")
        journey.expect(d, "Die Einladung ist verschickt", "eingeladen")
        assert "Petra Neu" in d.page_source

        # … and gives the Bad Berka administrator a deputy clerk role in Erfurt until tomorrow
        journey.fill(d, "email", "admin.bad-berka@demo.rathaus.test")
        Select(d.find_element(By.ID, "rolle")).select_by_value("clerk")
        journey.fill(d, "bis", tomorrow)
        journey.fill(d, "vertretung", "Demo Sachbearbeitung Erfurt (Urlaub)")
        journey.click(d, "form[action$='/einladen'] button[type=submit]")
        journey.expect(d, "Die Rolle ist vergeben", "vertretung vergeben")
        assert f"bis {tomorrow}" in d.page_source, "the deputy's last day is shown"
        # the same role twice is refused with a German reason
        journey.fill(d, "email", "admin.bad-berka@demo.rathaus.test")
        Select(d.find_element(By.ID, "rolle")).select_by_value("clerk")
        journey.click(d, "form[action$='/einladen'] button[type=submit]")
        journey.expect(d, "hat diese Rolle hier bereits", "doppelte Rolle (Fehler)")

        # the invited colleague sets a password and a second factor
        d.get(BASE + "/demo/postausgang")
        m = re.search(r"/einladung/[A-Za-z0-9_-]+", d.page_source)
        assert m, "invitation mail not in the outbox"
        invite = m.group(0)
        d.delete_all_cookies()
        d.get(BASE + invite)
        journey.expect(d, "Passwort", "einladung")
        journey.fill(d, "passwort", PASSWORD)
        journey.fill(d, "passwort2", PASSWORD + "x")
        journey.click(d, "form.form button[type=submit]")
        journey.expect(d, "stimmen nicht überein", "einladung (Fehler)")
        journey.fill(d, "passwort", PASSWORD)
        journey.fill(d, "passwort2", PASSWORD)
        journey.click(d, "form.form button[type=submit]")
        journey.expect(d, "Anmelden", "einladung angenommen")
        d.get(BASE + invite)
        journey.fill(d, "passwort", PASSWORD)
        journey.fill(d, "passwort2", PASSWORD)
        journey.click(d, "form.form button[type=submit]")
        journey.expect(d, "Der Link gilt nicht mehr", "einladung (zweites Mal)")

        d.delete_all_cookies()
        d.get(BASE + "/anmelden")
        journey.fill(d, "email", NEW)
        journey.fill(d, "passwort", PASSWORD)
        journey.click(d, "form.form button[type=submit]")
        WebDriverWait(d, 10).until(lambda drv: "/anmelden/einrichten" in drv.current_url)
        journey.check(d, "zweiter Faktor einrichten")
        assert "demo-code" not in d.page_source, "a real invitee never sees a demo code"
        secret = d.find_element(By.ID, "totp-secret").text.strip()
        journey.fill(d, "code", "000000" if totp(secret) != "000000" else "111111")
        journey.click(d, "form.form button[type=submit]")
        journey.expect(d, "Der Code passt nicht", "einrichten (falscher Code)")
        secret = d.find_element(By.ID, "totp-secret").text.strip()
        journey.fill(d, "code", totp(secret))
        journey.click(d, "form.form button[type=submit]")
        WebDriverWait(d, 10).until(lambda drv: drv.current_url.rstrip("/").endswith(f"/mandanten/{ERFURT}"))
        journey.expect(d, "Petra Neu", "neue Administratorin angemeldet")
        assert "Erfurt" in d.find_element(By.CSS_SELECTOR, ".who").text

        # three roles in Bad Berka, one deputy role in Erfurt: the header says for whom she acts
        login(d, "admin.bad-berka@demo.rathaus.test")
        who = d.find_element(By.CSS_SELECTOR, ".who").text
        assert "handelt für Bad Berka" in who, who
        for label in ("Administration", "Sachbearbeitung", "Kasse"):
            assert label in who, (label, who)
        choices = [o.text for o in Select(d.find_element(By.ID, "mandant-wahl")).options]
        assert any("Erfurt" in c for c in choices) and any("Bad Berka" in c for c in choices), choices
        journey.check(d, "bad berka start")
        Select(d.find_element(By.ID, "mandant-wahl")).select_by_visible_text(next(c for c in choices if "Erfurt" in c))
        journey.click(d, "form.tenant-switch button[type=submit]")
        journey.wait_text(d, ".who", "handelt für Erfurt")
        journey.check(d, "handelt für erfurt")
        d.get(BASE + f"/mandanten/{ERFURT}/antraege")
        journey.expect(d, "handelt für Erfurt", "erfurt anträge als vertretung")
        assert "403" not in d.title
        d.get(BASE + f"/mandanten/{ERFURT}/personal")
        assert "Personal" not in d.find_element(By.TAG_NAME, "h1").text, "a deputy clerk may not manage Erfurt's staff"
        journey.check(d, "erfurt personal verweigert")

        # Erfurt's administrator removes the deputy role; Bad Berka's admin is refused at once
        login(d, "admin.erfurt@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{ERFURT}/personal")
        rows = d.find_elements(By.CSS_SELECTOR, "table.data tbody tr")
        form = None
        for r in rows:
            if "Urlaub" in r.text:
                form = r.find_element(By.CSS_SELECTOR, "form[action$='/entfernen'] button")
        assert form is not None, "deputy row not found"
        form.click()
        journey.expect(d, "Die Rolle ist entfernt", "vertretung entfernt")
        login(d, "admin.bad-berka@demo.rathaus.test")
        d.get(BASE + f"/mandanten/{ERFURT}/antraege")
        WebDriverWait(d, 10).until(lambda drv: drv.find_elements(By.TAG_NAME, "h1"))
        assert "Anträge" not in d.find_element(By.TAG_NAME, "h1").text, "the removed deputy still sees Erfurt's cases"
        journey.check(d, "erfurt nach entzug")
        assert len([o for o in d.find_elements(By.CSS_SELECTOR, "#mandant-wahl option")]) in (0, 1), "Erfurt is no longer offered"

        # FIT-Connect: Erfurt's administrator reaches the page from the navigation, sets up the
        # sending access (plain HTTP refused, the secret never shown again) and the delivery of
        # one online service through routing, then back to the own inbox
        login(d, "admin.erfurt@demo.rathaus.test")
        d.find_element(By.CSS_SELECTOR, f"a[href='/mandanten/{ERFURT}/fitconnect']").click()
        journey.expect(d, "Zugänge zum Zustelldienst", "fitconnect")
        Select(d.find_element(By.ID, "rolle")).select_by_value("sender")
        journey.fill(d, "url", "http://zustelldienst.example.org")
        journey.fill(d, "client_id", "rathaus-erfurt")
        journey.fill(d, "secret", "S3cr3t-Erfurt")
        journey.click(d, "form[action$='/fitconnect/zugang'] button[type=submit]")
        journey.expect(d, "Nur HTTPS-Adressen", "fitconnect zugang (Fehler: http)")
        assert "S3cr3t-Erfurt" not in d.page_source, "the secret is not sent back into the form"
        journey.fill(d, "url", "https://zustelldienst.example.org")
        journey.fill(d, "secret", "S3cr3t-Erfurt")
        journey.click(d, "form[action$='/fitconnect/zugang'] button[type=submit]")
        journey.expect(d, "Der Zugang ist gespeichert", "fitconnect zugang gespeichert")
        assert "rathaus-erfurt" in d.page_source and "S3cr3t-Erfurt" not in d.page_source
        d.get(BASE + f"/mandanten/{ERFURT}/onlinedienste")
        Select(d.find_element(By.ID, "meldebescheinigung-zustellung")).select_by_value("routing")
        journey.click(d, "form[action$='/onlinedienste/meldebescheinigung'] button[type=submit]")
        journey.expect(d, "Gespeichert.", "zustellung über fit-connect")
        d.get(BASE + f"/mandanten/{ERFURT}/fitconnect")
        assert "Routing-API" in d.find_element(By.ID, "dienste").find_element(By.XPATH, "following-sibling::ul").text
        d.get(BASE + f"/mandanten/{ERFURT}/onlinedienste")
        Select(d.find_element(By.ID, "meldebescheinigung-zustellung")).select_by_value("posteingang")
        journey.click(d, "form[action$='/onlinedienste/meldebescheinigung'] button[type=submit]")
        journey.expect(d, "Gespeichert.", "zustellung zurück in den posteingang")
    finally:
        d.quit()
    print(f"staff journey: Einladung mit TOTP ({NEW}), drei Rollen in Bad Berka und Vertretung in Erfurt bis {tomorrow}, "
          f"Mandantenwechsel und Entzug im Browser; {journey.PAGES[0]} Seiten mit axe geprüft, {len(journey.VIOLATIONS)} Verstöße")
    for v in journey.VIOLATIONS:
        print("  ", v)
    sys.exit(1 if journey.VIOLATIONS else 0)


if __name__ == "__main__":
    main()
