#!/usr/bin/env python3
"""E-invoice smoke against a running demo server: a supplier sends the official test invoice
to Erfurt's demo Leitweg-ID over the API, sees it accepted, a second send is a duplicate,
a broken invoice gets a German report naming the rules."""
import json, sys, urllib.request, urllib.error, pathlib

base, sample = sys.argv[1], pathlib.Path(sys.argv[2])

def call(method, path, body=None, ctype=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    if ctype: req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req) as r: return r.status, r.read().decode()
    except urllib.error.HTTPError as e: return e.code, e.read().decode()

st, body = call("GET", "/api/v1/leitweg-ids?ars=16051")
assert st == 200, body
lid = json.loads(body)["items"][0]["leitwegId"]
xml = sample.read_text(encoding="utf-8").replace("<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>", f"<cbc:BuyerReference>{lid}</cbc:BuyerReference>")
st, body = call("POST", "/api/v1/rechnungen", xml.encode(), "application/xml")
assert st == 201, (st, body)
status_url = json.loads(body)["statusUrl"]
print(f"angenommen für {lid}: {json.loads(body)['id']}")
st, body = call("POST", "/api/v1/rechnungen", xml.encode(), "application/xml")
assert st == 409 and "bereits" in body, (st, body)
print("Duplikat erkannt (409)")
broken = xml.replace(f"<cbc:BuyerReference>{lid}</cbc:BuyerReference>", "").replace("<cbc:ID>123456XX</cbc:ID>", "<cbc:ID>KAPUTT-1</cbc:ID>")
st, body = call("POST", "/api/v1/rechnungen", broken.encode(), "application/xml")
assert st == 422, (st, body)
rules = [f["regel"] + ": " + f["meldung"] for f in json.loads(body)["fehler"]]
assert any(r.startswith("BR-DE-15") for r in rules), rules
print("Prüfbericht:", *rules, sep="\n  ")
# a line that does not add up is a warning: the invoice is taken, the finding names the value
# given and the one expected as amounts people read (and the clerk's page shows it)
warn = xml.replace("<cbc:ID>123456XX</cbc:ID>", "<cbc:ID>WARNUNG-1</cbc:ID>").replace(
    '<cbc:PriceAmount currencyID="EUR">26.07</cbc:PriceAmount>', '<cbc:PriceAmount currencyID="EUR">1026.07</cbc:PriceAmount>')
st, body = call("POST", "/api/v1/rechnungen", warn.encode(), "application/xml")
assert st == 201, (st, body)
warnings = [w["regel"] + ": " + w["meldung"] for w in json.loads(body)["warnungen"]]
assert any("angegeben 26,07 €, erwartet 1.026,07 €" in w for w in warnings), warnings
print("Warnung mit Beträgen:", *warnings, sep="\n  ")
st, body = call("GET", status_url)
assert st == 200 and "eingegangen" in body, (st, body[:300])
print("Statusseite für den Lieferanten: ok")
