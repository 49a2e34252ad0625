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
