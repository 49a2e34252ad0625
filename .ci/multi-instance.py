#!/usr/bin/env python3
"""Two instances on one PostgreSQL: a session made on instance A is valid on instance B,
and a membership change written through A is read back through B.
Usage: multi-instance.py URL_A URL_B"""
import http.cookiejar, re, sys, urllib.parse, urllib.request

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
