#!/usr/bin/env python3
"""Sign-in through OpenID Connect against a real provider process (PyPI oidc-provider-mock, started
by .ci/run with predefined users), over real HTTP with real RS256-signed ID tokens.

In the browser (axe on every Rathaus page): the first sign-in of "erika-123" creates a Servicekonto
with the mapped trust level (acr STORK-QAA-Level-3 → substanziell), shows what the provider sent
and copies it into the profile only after the person agrees; a second sign-in finds the same
account. A provider identity whose e-mail address belongs to an existing account is refused (no
take-over by address); the owner signs in with the password and links it on the security page,
after which the provider sign-in opens that account with level "hoch".
Over HTTP: a replayed callback, a callback in another browser (state bound to the session) and a
forged code are each refused with a German message, and no account is created by them.

Usage: oidc.py BASE_URL PROVIDER_URL
"""
import re
import sys
import urllib.parse

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import os  # noqa: E402
PROVIDER = sys.argv[2].rstrip("/")
sys.path.insert(0, os.path.dirname(__file__))
import journey  # noqa: E402

BASE = journey.BASE


def provider_pick(d, sub):
    """On the provider's page: the predefined user's button."""
    WebDriverWait(d, 20).until(lambda drv: PROVIDER in drv.current_url)
    d.find_element(By.CSS_SELECTOR, f"button[name=sub][value='{sub}']").click()


def oidc_sign_in(d, sub):
    d.delete_all_cookies()
    d.get(BASE + "/konto/anmelden?weiter=%2Fkonto")
    journey.expect(d, "Anmeldung über das zentrale Konto", "anmelden mit oidc-knopf")
    d.find_element(By.ID, "oidc-anmelden").click()
    provider_pick(d, sub)
    WebDriverWait(d, 20).until(lambda drv: drv.current_url.startswith(BASE))


def csrf(s, path):
    r = s.get(BASE + path, timeout=30)
    m = re.search(r'name="_csrf" value="([^"]+)"', r.text)
    assert m, f"kein Formular-Token auf {path}"
    return m.group(1)


def http_flow(sub):
    """The redirect chain by hand: returns (session, callback URL)."""
    s = requests.Session()
    token = csrf(s, "/konto/anmelden")
    r = s.post(BASE + "/konto/oidc/anmelden", data={"_csrf": token, "weiter": "/konto"}, allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.status_code
    auth = r.headers["Location"]
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(auth).query))
    assert q["code_challenge_method"] == "S256" and q["nonce"] and q["state"], q
    r = requests.post(auth, data={"sub": sub}, allow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300])
    return s, r.headers["Location"]


def main():
    d = journey.driver()
    try:
        # first sign-in: a new Servicekonto, the provider's details shown before they are used
        oidc_sign_in(d, "erika-123")
        journey.expect(d, "Angaben vom Identitätsanbieter", "angaben vom anbieter")
        src = d.page_source
        for text in ("Erika", "Mustermann", "26.01.1984", "substanziell"):
            assert text in src, f"{text} fehlt auf der Seite der übermittelten Angaben"
        d.find_element(By.CSS_SELECTOR, "button[name=uebernehmen][value=ja]").click()
        WebDriverWait(d, 20).until(lambda drv: drv.current_url.rstrip("/").endswith("/konto"))
        journey.expect(d, "Mein Servicekonto", "konto nach oidc")
        assert "substanziell" in d.page_source, "Vertrauensniveau substanziell fehlt"
        d.get(BASE + "/konto/profil")
        journey.expect(d, "Persönliche Angaben", "profil")
        assert d.find_element(By.ID, "vorname").get_attribute("value") == "Erika"
        assert d.find_element(By.ID, "geburtsdatum").get_attribute("value") == "26.01.1984"
        d.get(BASE + "/konto/sicherheit")
        journey.expect(d, "Ihr Servicekonto ist verknüpft mit", "sicherheit verknüpft")
        print("Erste Anmeldung: Servicekonto angelegt, Niveau substanziell, Angaben nach Zustimmung übernommen")

        # second sign-in: the same account (the page does not ask again, nothing duplicated)
        oidc_sign_in(d, "erika-123")
        journey.expect(d, "Angaben vom Identitätsanbieter", "angaben erneut")
        d.find_element(By.CSS_SELECTOR, "button[name=uebernehmen][value=nein]").click()
        WebDriverWait(d, 20).until(lambda drv: drv.current_url.rstrip("/").endswith("/konto"))
        d.get(BASE + "/konto/profil")
        assert d.find_element(By.ID, "vorname").get_attribute("value") == "Erika"

        # an identity whose address belongs to an existing account: refused, then linked by its owner
        oidc_sign_in(d, "buerger-idp")
        journey.expect(d, "gibt es bereits ein Servicekonto", "e-mail vergeben")
        d.delete_all_cookies()
        d.get(BASE + "/konto/anmelden")
        journey.fill(d, "email", "buerger@demo.rathaus.test")
        journey.fill(d, "passwort", "Demo-Passwort-2026")
        journey.click(d, "form.form button[type=submit]")
        WebDriverWait(d, 20).until(lambda drv: "/konto/anmelden" not in drv.current_url)
        d.get(BASE + "/konto/sicherheit")
        journey.expect(d, "Jetzt verknüpfen mit", "sicherheit unverknüpft")
        d.find_element(By.ID, "oidc-verknuepfen").click()
        provider_pick(d, "buerger-idp")
        WebDriverWait(d, 20).until(lambda drv: drv.current_url.startswith(BASE))
        if "/konto/oidc/angaben" in d.current_url:
            d.find_element(By.CSS_SELECTOR, "button[name=uebernehmen][value=nein]").click()
        d.get(BASE + "/konto/sicherheit")
        journey.expect(d, "Ihr Servicekonto ist verknüpft mit", "sicherheit nach verknüpfung")
        oidc_sign_in(d, "buerger-idp")
        if "/konto/oidc/angaben" in d.current_url:
            d.find_element(By.CSS_SELECTOR, "button[name=uebernehmen][value=nein]").click()
        d.get(BASE + "/konto")
        journey.expect(d, "Mein Servicekonto", "konto buerger")
        assert "hoch (Online-Ausweis)" in d.page_source, "Vertrauensniveau hoch fehlt"
        print("Vorhandenes Konto: Übernahme per E-Mail abgewiesen, nach Passwort-Anmeldung verknüpft, Niveau hoch")
    finally:
        d.quit()

    # replayed callback, foreign browser, forged code
    s, callback = http_flow("erika-123")
    r = s.get(callback, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"].startswith("/konto"), (r.status_code, r.text[:300])
    r = s.get(callback, allow_redirects=False, timeout=30)
    assert r.status_code == 400 and "abgelaufen oder wurde schon verwendet" in r.text, ("Wiederholung", r.status_code)
    s2, callback2 = http_flow("erika-123")
    r = requests.get(callback2, allow_redirects=False, timeout=30)
    assert r.status_code == 400 and "abgelaufen oder wurde schon verwendet" in r.text, ("fremder Browser", r.status_code)
    s3, callback3 = http_flow("erika-123")
    forged = re.sub(r"code=[^&]+", "code=gefaelscht", callback3)
    r = s3.get(forged, allow_redirects=False, timeout=30)
    assert r.status_code == 502 and "nicht bestätigt" in r.text, ("gefälschter Code", r.status_code, r.text[:300])
    r = s3.get(callback3, allow_redirects=False, timeout=30)
    assert r.status_code == 400, ("nach gefälschtem Code ist der Start verbraucht", r.status_code)
    print("Wiederholter Rückruf, Rückruf in fremdem Browser, gefälschter Code: abgewiesen (400, 400, 502)")

    print(f"{journey.PAGES[0]} Seiten mit axe geprüft, {len(journey.VIOLATIONS)} Verstöße")
    for v in journey.VIOLATIONS:
        print("  ", v)
    if journey.VIOLATIONS:
        sys.exit(1)


if __name__ == "__main__":
    main()
