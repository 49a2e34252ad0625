#!/usr/bin/env python3
"""Two instances on one PostgreSQL and one S3 store behind nginx (round robin):
an invoice received through instance A is shown by instance B, and its original file, stored by
A in the object store, is downloaded through B and through nginx byte for byte; the clerk's
session works through nginx whichever instance answers.
Usage: multi-s3.py URL_A URL_B URL_NGINX INVOICE.xml"""
import http.cookiejar, json, re, sys, urllib.error, urllib.parse, urllib.request

A, B, N = (u.rstrip("/") for u in sys.argv[1:4])
sample = open(sys.argv[4], encoding="utf-8").read()
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

def get(url):
    with opener.open(url) as r:
        return r.status, r.read()

def post(url, fields):
    with opener.open(urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode())) as r:
        return r.status, r.read().decode(), r.geturl()

with urllib.request.urlopen(A + "/api/v1/leitweg-ids?ars=16051") as r:
    lid = json.loads(r.read())["items"][0]["leitwegId"]
xml = re.sub(r"<cbc:BuyerReference>[^<]*</cbc:BuyerReference>", f"<cbc:BuyerReference>{lid}</cbc:BuyerReference>", sample, count=1)
xml = re.sub(r"<cbc:ID>[^<]*</cbc:ID>", "<cbc:ID>S3-MULTI-1</cbc:ID>", xml, count=1).encode()
req = urllib.request.Request(A + "/api/v1/rechnungen", data=xml, method="POST", headers={"Content-Type": "application/xml"})
with urllib.request.urlopen(req) as r:
    assert r.status == 201, r.status
    created = json.loads(r.read())
print("multi-s3: Rechnung über Instanz A eingegangen")

# the clerk signs in through nginx; the session is in the database, so both instances know it
_, page = get(N + "/anmelden")
csrf = re.search(r'name="_csrf" value="([^"]+)"', page.decode()).group(1)
_, _, url = post(N + "/anmelden", {"_csrf": csrf, "email": "sachbearbeitung.erfurt@demo.rathaus.test", "passwort": "Demo-Passwort-2026"})
for i in range(6):   # round robin: both instances answer in turn
    s, body = get(N + "/mandanten/16051/rechnungen")
    assert s == 200 and b"S3-MULTI-1" in body, "inbox through nginx"
_, inbox = get(B + "/mandanten/16051/rechnungen")
m = re.search(rb'/mandanten/16051/rechnungen/([0-9A-Fa-f-]{36})"[^<]*>[^<]*</a>(?:(?!</tr>).)*S3-MULTI-1', inbox, re.S) or \
    re.search(rb'S3-MULTI-1(?:(?!<tr).)*?/mandanten/16051/rechnungen/([0-9A-Fa-f-]{36})', inbox, re.S)
ids = re.findall(rb'/mandanten/16051/rechnungen/([0-9A-Fa-f-]{36})', inbox)
found = None
for i in ids:
    s, original = get(B + "/mandanten/16051/rechnungen/" + i.decode() + "/xml")
    if s == 200 and b"S3-MULTI-1" in original:
        found = i.decode(); break
assert found, "instance B serves the original stored by A"
assert original == xml, "byte for byte from the object store"
s, again = get(N + "/mandanten/16051/rechnungen/" + found + "/xml")
assert s == 200 and again == xml
print("multi-s3: Instanz B und nginx liefern die von A im Objektspeicher abgelegte Originaldatei unverändert")

# a resident uploads a document through instance A; the clerk downloads it through instance B
import requests, secrets
ERFURT = "160510000000"
PDF = b"%PDF-1.4\n% Zulassung " + secrets.token_hex(16).encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

def token(html):
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)

c = requests.Session()
r = c.get(A + "/konto/anmelden")
r = c.post(A + "/konto/anmelden", data={"_csrf": token(r.text), "email": "buerger@demo.rathaus.test", "passwort": "Demo-Passwort-2026", "weiter": "/konto"}, allow_redirects=False)
assert r.status_code == 303, r.status_code
r = c.get(A + f"/onlinedienste/bewohnerparkausweis?ars={ERFURT}")
r = c.post(A + "/onlinedienste/bewohnerparkausweis/antrag", data={"_csrf": token(r.text), "ars": ERFURT}, allow_redirects=False)
step = r.headers["Location"]
draft = step.rsplit("/schritt/", 1)[0]
page = c.get(A + step)
r = c.post(A + step, files={"_csrf": (None, token(page.text)), "vorname": (None, "Jana"), "nachname": (None, "Zwei-Server"),
                            "anschrift.strasse": (None, "Anger"), "anschrift.hausnummer": (None, "3"), "anschrift.plz": (None, "99084"),
                            "anschrift.ort": (None, "Erfurt"), "aktion": (None, "weiter")}, allow_redirects=False)
assert r.status_code == 303, r.status_code
page = c.get(A + draft + "/schritt/fahrzeug")
r = c.post(A + draft + "/schritt/fahrzeug", files={"_csrf": (None, token(page.text)), "kennzeichen": (None, "EF-ZS 2"), "halter": (None, "eigen"),
                                                    "zulassung": ("zulassung.pdf", PDF, "application/pdf"), "jahre": (None, "1"), "aktion": (None, "weiter")},
           allow_redirects=False)
assert r.status_code == 303, r.status_code
page = c.get(A + draft + "/pruefen")
r = c.post(A + draft + "/bezahlen", data={"_csrf": token(page.text)}, allow_redirects=False)
loc = r.headers["Location"]
pay = c.get(A + loc if loc.startswith("/") else loc)
action = re.search(r'action="(/bezahlen/test/[^"]+)"', pay.text).group(1)
r = c.post(A + action, data={"_csrf": token(pay.text), "aktion": "bezahlen"})
ref = re.search(r"TH-\d{4}-\d{6}", r.text)
assert r.status_code == 200 and ref, "submitted through A"
print(f"multi-s3: Antrag {ref.group(0)} mit Nachweis über Instanz A eingereicht")

k = requests.Session()
r = k.get(B + "/anmelden")
r = k.post(B + "/anmelden", data={"_csrf": token(r.text), "email": "sachbearbeitung.erfurt@demo.rathaus.test", "passwort": "Demo-Passwort-2026"})
inbox = k.get(B + "/mandanten/16051/antraege").text
case = re.search(r'/mandanten/16051/antraege/([0-9A-Fa-f-]{36})"[^>]*>' + ref.group(0), inbox)
assert case, "the case submitted through A is listed by B"
detail = k.get(B + "/mandanten/16051/antraege/" + case.group(1)).text
files = re.findall(r'/mandanten/16051/antraege/' + case.group(1) + r'/dateien/([0-9A-Fa-f-]{36})', detail)
got = [k.get(B + "/mandanten/16051/antraege/" + case.group(1) + "/dateien/" + f) for f in dict.fromkeys(files)]
assert any(g.status_code == 200 and g.content == PDF for g in got), "the clerk downloads the resident's file through B, byte for byte"
print("multi-s3: Sachbearbeitung lädt den Nachweis über Instanz B unverändert aus dem Objektspeicher")
