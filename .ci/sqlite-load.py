#!/usr/bin/env python3
"""Mixed writers against the demo server on SQLite (issue 13, section 3): citizen logins, draft
steps, submissions paid through the test payment provider, and e-invoices, all at once for
SECONDS seconds. Prints requests, 5xx count and p50/p99 per kind; exits 1 on any 5xx.
usage: sqlite-load.py BASE_URL INVOICE_XML [SECONDS]"""
import re, sys, time, threading, pathlib, statistics, uuid
import requests

BASE, SAMPLE = sys.argv[1], pathlib.Path(sys.argv[2])
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 30
ERFURT = "160510000000"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
lock = threading.Lock()
times = {}      # kind -> [seconds]
statuses = {}   # kind -> {status: count}
errors = {}     # kind -> [(status, path)]
other = {}      # kind -> count of unexpected non-5xx answers
stop_at = 0.0

def record(kind, started, r):
    dt = time.monotonic() - started
    with lock:
        times.setdefault(kind, []).append(dt)
        st = statuses.setdefault(kind, {})
        st[r.status_code] = st.get(r.status_code, 0) + 1
        if r.status_code >= 500:
            errors.setdefault(kind, []).append((r.status_code, r.request.path_url))

def csrf(html):
    m = re.search(r'name="_csrf" value="([^"]+)"', html)
    return m.group(1) if m else ""

def login(s):
    r = s.get(BASE + "/konto/anmelden")
    t0 = time.monotonic()
    r2 = s.post(BASE + "/konto/anmelden", data={"_csrf": csrf(r.text), "email": "buerger@demo.rathaus.test",
                                                "passwort": "Demo-Passwort-2026", "weiter": "/konto"}, allow_redirects=False)
    record("anmeldung", t0, r2)
    return r2.status_code == 303

def start_draft(s):
    r = s.get(BASE + f"/onlinedienste/bewohnerparkausweis?ars={ERFURT}")
    t0 = time.monotonic()
    r2 = s.post(BASE + "/onlinedienste/bewohnerparkausweis/antrag", data={"_csrf": csrf(r.text), "ars": ERFURT}, allow_redirects=False)
    record("entwurf", t0, r2)
    if r2.status_code != 303: return None
    step = r2.headers["Location"]
    page = s.get(BASE + step)
    t0 = time.monotonic()
    r3 = s.post(BASE + step, files={"_csrf": (None, csrf(page.text)), "vorname": (None, "Jana"), "nachname": (None, "Last"),
                                    "anschrift.strasse": (None, "Anger"), "anschrift.hausnummer": (None, "3"),
                                    "anschrift.plz": (None, "99084"), "anschrift.ort": (None, "Erfurt"), "aktion": (None, "weiter")},
                allow_redirects=False)
    record("entwurf", t0, r3)
    return step.rsplit("/schritt/", 1)[0] if r3.status_code == 303 else None

def submit_and_pay(s):
    base = start_draft(s)
    if not base: return
    page = s.get(BASE + base + "/schritt/fahrzeug")
    t0 = time.monotonic()
    r = s.post(BASE + base + "/schritt/fahrzeug", files={"_csrf": (None, csrf(page.text)), "kennzeichen": (None, "EF-LT 1"), "halter": (None, "eigen"),
                                                          "zulassung": ("zulassung.pdf", PDF, "application/pdf"), "jahre": (None, "1"), "aktion": (None, "weiter")},
               allow_redirects=False)
    record("absenden", t0, r)
    if r.status_code != 303: return
    page = s.get(BASE + base + "/pruefen")
    t0 = time.monotonic()
    r = s.post(BASE + base + "/bezahlen", data={"_csrf": csrf(page.text)}, allow_redirects=False)
    record("zahlung", t0, r)
    if r.status_code != 303: return
    pay = s.get(BASE + r.headers["Location"]) if r.headers["Location"].startswith("/") else s.get(r.headers["Location"])
    t0 = time.monotonic()
    m = re.search(r'action="(/bezahlen/test/[^"]+)"', pay.text)
    if not m: return
    r = s.post(BASE + m.group(1), data={"_csrf": csrf(pay.text), "aktion": "bezahlen"}, allow_redirects=True)
    record("zahlung", t0, r)

def invoice(lid, n):
    xml = SAMPLE.read_text(encoding="utf-8").replace("<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>", f"<cbc:BuyerReference>{lid}</cbc:BuyerReference>")
    xml = xml.replace("<cbc:ID>123456XX</cbc:ID>", f"<cbc:ID>LAST-{n}</cbc:ID>")
    t0 = time.monotonic()
    r = requests.post(BASE + "/api/v1/rechnungen", data=xml.encode(), headers={"Content-Type": "application/xml"})
    record("rechnung", t0, r)
    if r.status_code not in (201, 429):
        with lock: other["rechnung"] = other.get("rechnung", 0) + 1

def worker(kind, lid):
    while time.monotonic() < stop_at:
        s = requests.Session()
        try:
            if kind == "anmeldung": login(s)
            elif kind == "entwurf": login(s) and start_draft(s)
            elif kind == "absenden": login(s) and submit_and_pay(s)
            elif kind == "rechnung": invoice(lid, uuid.uuid4().hex[:12])
        except requests.RequestException as e:
            with lock: errors.setdefault(kind, []).append(("Verbindung", str(e)[:80]))

lid = requests.get(BASE + "/api/v1/leitweg-ids?ars=16051").json()["items"][0]["leitwegId"]
stop_at = time.monotonic() + SECONDS
threads = [threading.Thread(target=worker, args=(k, lid)) for k in ["anmeldung"] * 2 + ["entwurf"] * 2 + ["absenden"] * 2 + ["rechnung"] * 6]
for t in threads: t.start()
for t in threads: t.join()
total5 = 0
print(f"{'Art':<10} {'Anfragen':>8} {'5xx':>5} {'p50 ms':>8} {'p99 ms':>8}  Status")
for kind in ["anmeldung", "entwurf", "absenden", "zahlung", "rechnung"]:
    ts = sorted(times.get(kind, []))
    if not ts: print(f"{kind:<10} {0:>8}"); continue
    p = lambda q: ts[min(len(ts) - 1, int(q * len(ts)))] * 1000
    e = len(errors.get(kind, []))
    total5 += e
    dist = " ".join(f"{k}×{v}" for k, v in sorted(statuses.get(kind, {}).items()))
    print(f"{kind:<10} {len(ts):>8} {e:>5} {p(0.5):>8.1f} {p(0.99):>8.1f}  {dist}")
for k, v in errors.items():
    for x in v[:3]: print("  Fehler", k, x)
print(f"SQLite-Last {SECONDS:.0f} s: {sum(len(v) for v in times.values())} Anfragen, {total5} Antworten 5xx")
# every kind must have written something, or the load measured nothing for it
idle = [k for k in ["anmeldung", "entwurf", "absenden", "zahlung", "rechnung"] if not any(200 <= st < 400 for st in statuses.get(k, {}))]
if idle: print("Keine erfolgreichen Schreibvorgänge für:", ", ".join(idle))
sys.exit(1 if total5 or idle else 0)
