#!/usr/bin/env python3
"""FIT-Connect between two Rathaus processes through the offline Zustelldienst.

Usage: fitconnect-loop.py BIN A_BASE A_DATA B_BASE B_DATA DOUBLE_PORT
  BIN      the rathaus executable; A and B are `rathaus serve --demo` processes, each with its own
           data directory (SQLite), already running at A_BASE / B_BASE
  A sends: Erfurt's Meldebescheinigung delivers through FIT-Connect (destination by routing)
  B receives: Erfurt's destination at B picks up and creates the case
  A is started with RATHAUS_FITCONNECT_RETRY_SECONDS=60, so the waiting delivery stays visible

What happens, as people would do it: B's IT makes the destination keys with `rathaus fitconnect
keys`; the public JWKS goes into the Zustelldienst's configuration (the self-service portal);
accesses, destination and delivery are set up with `rathaus fitconnect`; the demo citizen applies
at A in the browser; B's administrator sees the received submission on the FIT-Connect page and
opens the case (reply channel and the verified identification report shown); A's administrator sees the delivery accepted with its event
log, the citizen gets the postbox message. Then the Zustelldienst is down for 30 s while a second
application is sent: it waits at A with its attempts and is delivered exactly once afterwards.
Every page is checked with axe-core. Needs jwcrypto (the double), selenium, chromium.
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from zoneinfo import ZoneInfo

BIN, A, A_DATA, B, B_DATA, PORT = sys.argv[1:7]
sys.argv = [sys.argv[0], A]  # journey reads its base from argv[1]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import journey  # noqa: E402
all_services = __import__("all-services")  # noqa: E402  (the form filler of every service)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOUBLE = f"http://127.0.0.1:{PORT}"
ERFURT = "16051"


def cli(data, *args, secret=None):
    env = dict(os.environ, RATHAUS_DATA_DIR=data)
    env.pop("DATABASE_URL", None)
    if secret:
        env["FITCONNECT_CLIENT_SECRET"] = secret
    r = subprocess.run([BIN, "fitconnect", *args], env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit(f"rathaus fitconnect {args[0]}: {r.stdout}\n{r.stderr}")
    return r.stdout


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def stats():
    with urllib.request.urlopen(DOUBLE + "/_test/stats", timeout=10) as r:
        return json.load(r)


def staff(d, base, email):
    journey.BASE = base
    journey.staff_login(d, email)


def wait_for(d, url, css, label, timeout=90):
    """Reloads the page until the element appears (the jobs run every 5 seconds)."""
    end = time.time() + timeout
    while time.time() < end:
        d.get(url)
        if d.find_elements(By.CSS_SELECTOR, css):
            journey.check(d, label)
            return d.find_elements(By.CSS_SELECTOR, css)
        time.sleep(2)
    raise SystemExit(f"{label}: {css} erscheint nicht auf {url} innerhalb von {timeout} s")


def main():
    work = tempfile.mkdtemp()
    # B's IT: keys for the destination; the public part goes to the Zustelldienst
    cli(B_DATA, "keys", "--name", "erfurt-b", "--ausgabe", work)
    keys = json.load(open(os.path.join(work, "erfurt-b.jwks.json")))["keys"]
    assert all("d" not in k for k in keys), "only public keys leave the installation"
    enc = next(k for k in keys if k.get("key_ops") == ["wrapKey"])
    sig = next(k for k in keys if k.get("key_ops") == ["verify"])
    with urllib.request.urlopen(f"{A}/api/v1/onlinedienste/meldebescheinigung") as r:
        leika = json.load(r)["leika"]
    destination = str(uuid.uuid4())
    config = {
        "clients": [{"id": "rathaus-a", "secret": "geheim-a", "role": "sender"},
                    {"id": "rathaus-b", "secret": "geheim-b", "role": "subscriber", "destinations": [destination]}],
        "destinations": [{"id": destination, "status": "active", "encryptionKey": enc, "signingKey": sig,
                          "services": [{"identifier": f"urn:de:fim:leika:leistung:{leika}",
                                        "regions": ["urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:ars:160510000000"]}]}],
    }
    cfg = os.path.join(work, "zustelldienst.json")
    json.dump(config, open(cfg, "w"))
    double = subprocess.Popen([sys.executable, "-W", "ignore", os.path.join(ROOT, ".ci/zustelldienst.py"), "--port", PORT, "--config", cfg,
                               "--key", os.path.join(ROOT, "Tests/Fixtures/fitconnect/keys/zustelldienst-sig.pem")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = None
    try:
        for _ in range(100):
            try:
                stats()
                break
            except OSError:
                time.sleep(0.2)
        cli(A_DATA, "zugang", "--mandant", ERFURT, "--rolle", "sender", "--url", DOUBLE, "--client-id", "rathaus-a", secret="geheim-a")
        cli(B_DATA, "zugang", "--mandant", ERFURT, "--rolle", "subscriber", "--url", DOUBLE, "--client-id", "rathaus-b", secret="geheim-b")
        cli(B_DATA, "zustellpunkt", "--mandant", ERFURT, "--id", destination, "--schluessel", os.path.join(work, "erfurt-b.privat"))
        cli(A_DATA, "dienst", "--mandant", ERFURT, "--dienst", "meldebescheinigung", "--ziel", "routing")

        pdf = os.path.join(work, "nachweis.pdf")
        with open(pdf, "wb") as fh:
            fh.write(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
        today = datetime.datetime.now(ZoneInfo("Europe/Berlin")).date()
        d = journey.driver()
        # 1. the citizen applies at A; B receives, A sees the acceptance
        all_services.sign_in_citizen(d, A)
        ref = all_services.apply(d, A, "meldebescheinigung", pdf, today, ars="160510000000")
        staff(d, B, "admin.erfurt@demo.rathaus.test")
        rows = wait_for(d, f"{B}/mandanten/{ERFURT}/fitconnect", "#fc-inbound tr[data-status=accepted] a", "B: empfangene Einreichung")
        case_link = rows[0].get_attribute("href")
        d.get(case_link)
        journey.expect(d, "Rückkanal", "B: Fall aus FIT-Connect")
        assert "automatisch per E-Mail" in d.page_source, "the e-mail reply channel is used"
        # the citizen identified at A (the service needs substanziell): A's signed report, checked
        # by B against A's published key set
        ident = d.find_element(By.ID, "identifizierung").text
        assert "Identifikationsnachweis geprüft" in ident and A in ident, ident
        staff(d, A, "admin.erfurt@demo.rathaus.test")
        wait_for(d, f"{A}/mandanten/{ERFURT}/fitconnect", "#fc-outbound tr[data-status=accepted]", "A: Zustellung angenommen")
        assert ref in d.page_source and "Angenommen" in d.page_source and "Eingereicht" in d.page_source, "event log with both SETs"
        all_services.sign_in_citizen(d, A)
        d.get(A + "/konto/postfach")
        journey.expect(d, "Antrag zugestellt", "A: Postfach der Bürgerin")

        # 2. the Zustelldienst is down for 20 s: the second application waits and is delivered once
        post(DOUBLE + "/_test/outage", {"seconds": 30})
        started = time.time()
        ref2 = all_services.apply(d, A, "meldebescheinigung", pdf, today, ars="160510000000")
        staff(d, A, "admin.erfurt@demo.rathaus.test")
        # the first attempt failed with 503: the row waits with its attempts and the next try
        wait_for(d, f"{A}/mandanten/{ERFURT}/fitconnect", "#fc-outbound tr[data-status=pending]:not([data-attempts='0'])",
                 "A: wartet auf Zustellung", timeout=60)
        assert "Nächster Versuch" in d.page_source
        wait_for(d, f"{A}/mandanten/{ERFURT}/fitconnect", "#fc-outbound tr[data-status=accepted] ~ tr[data-status=accepted]",
                 "A: nach dem Ausfall angenommen", timeout=120)
        recovered = time.time() - started
        assert ref2 in d.page_source
        s = stats()
        assert s.get("accepted") == 2 and sum(v for k, v in s.items() if k != "accepted") == 0, s
    finally:
        if d:
            d.quit()
        double.terminate()
        double.wait(timeout=10)
    print(f"fitconnect-loop: zwei Prozesse, {ref} und {ref2} genau einmal zugestellt und angenommen "
          f"(zweiter Antrag nach 30 s Ausfall in {recovered:.0f} s); {journey.PAGES[0]} Seiten mit axe geprüft, "
          f"{len(journey.VIOLATIONS)} Verstöße")
    for v in journey.VIOLATIONS:
        print("  ", v)
    sys.exit(1 if journey.VIOLATIONS else 0)


if __name__ == "__main__":
    main()
