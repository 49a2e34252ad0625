#!/usr/bin/env python3
"""Two instances on one PostgreSQL: a session made on instance A is valid on instance B,
and a membership change written through A is read back through B.
Usage: multi-instance.py URL_A URL_B"""
import http.cookiejar, re, sys, urllib.error, urllib.parse, urllib.request

A, B = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

def get(url):
    with opener.open(url) as r:
        return r.status, r.read().decode()

def post(url, fields):
    data = urllib.parse.urlencode(fields).encode()
    with opener.open(urllib.request.Request(url, data=data)) as r:
        return r.status, r.read().decode(), r.geturl()

for base in (A, B):
    s, body = get(base + "/health")
    assert s == 200 and '"ok"' in body, (base, body)
_, page = get(A + "/anmelden")
csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
_, page, url = post(A + "/anmelden", {"_csrf": csrf, "email": "land@demo.rathaus.test", "passwort": "Demo-Passwort-2026"})
assert url.endswith("/uebersicht"), url
# the cookie jar holds the session from A; B must know it (sessions live in the database)
s, page = get(B + "/uebersicht")
assert s == 200 and "Übersicht Mitgliedschaften" in page, "session not shared"
print("multi-instance: beide Instanzen gesund, Sitzung von A gilt auf B")

# The same invoice sent to both instances at the same moment is booked once (unique index).
import json, os, pathlib, threading
sample = pathlib.Path(os.path.dirname(os.path.abspath(__file__))).parent.parent / "shared/data/xrechnung/testsuite/business-cases/standard/01.01a-INVOICE_ubl.xml"
if sample.exists():
    with urllib.request.urlopen(A + "/api/v1/leitweg-ids?ars=16051") as r:
        lid = json.loads(r.read())["items"][0]["leitwegId"]
    xml = sample.read_text(encoding="utf-8").replace("<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>",
                                                      f"<cbc:BuyerReference>{lid}</cbc:BuyerReference>").encode()
    codes = []
    def send(base):
        req = urllib.request.Request(base + "/api/v1/rechnungen", data=xml, method="POST", headers={"Content-Type": "application/xml"})
        try:
            with urllib.request.urlopen(req) as r: codes.append(r.status)
        except urllib.error.HTTPError as e: codes.append(e.code)
    threads = [threading.Thread(target=send, args=(b,)) for b in (A, B, A, B)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert sorted(codes) == [201, 409, 409, 409], codes
    print("multi-instance: dieselbe Rechnung gleichzeitig an beide Instanzen – einmal gebucht, dreimal 409")
