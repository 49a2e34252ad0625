#!/usr/bin/env python3
"""Hostile PDFs against the public e-invoice intake (issue 13, section 2), several at once, while
the server's peak resident memory (VmHWM) is watched. Each must be refused with 422/413 and a
German message, and the peak must stay under LIMIT_MB.
usage: pdf-bomb.py BASE_URL SERVER_PID [LIMIT_MB]"""
import sys, zlib, json, threading, urllib.request, urllib.error

BASE, PID = sys.argv[1], int(sys.argv[2])
LIMIT_MB = int(sys.argv[3]) if len(sys.argv) > 3 else 300

def hwm_mb():
    for line in open(f"/proc/{PID}/status"):
        if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024
    return 0

def stream(obj, data, extra=""):
    z = zlib.compress(data, 9)
    return f"{obj} 0 obj\n<< /Type /EmbeddedFile /Subtype /text#2Fxml /Filter /FlateDecode /Length {len(z)} {extra}>>\nstream\n".encode() + z + b"\nendstream\nendobj\n"

def many_streams(n, each):
    # n embedded files that each inflate to just under the old per-stream cap
    body = b"%PDF-1.7\n"
    chunk = b"<?xml version='1.0'?><a>" + b"A" * (each - 30) + b"</a>"
    for i in range(n): body += stream(i + 1, chunk)
    return body + b"%%EOF\n"

def zip_bomb():
    # one factur-x.xml whose data inflates to 1 GB of zeros
    z = zlib.compressobj(9)
    data = b"".join(z.compress(b"\0" * (1 << 20)) for _ in range(1024)) + z.flush()
    head = f"1 0 obj\n<< /Type /EmbeddedFile /Filter /FlateDecode /Length {len(data)} >>\nstream\n".encode()
    spec = b"2 0 obj\n<< /Type /Filespec /F (factur-x.xml) /UF (factur-x.xml) /AFRelationship /Alternative /EF << /F 1 0 R >> >>\nendobj\n"
    return b"%PDF-1.7\n" + head + data + b"\nendstream\nendobj\n" + spec + b"%%EOF\n"

def nested(depth):
    return b"%PDF-1.7\n1 0 obj\n" + b"<<" * depth + b" /Type /EmbeddedFile " + b">>" * depth + b"\nstream\nx\nendstream\nendobj\n%%EOF\n"

cases = [("300 Streams zu je 19 MB (6 MB Datei)", many_streams(300, 19 << 20)),
         ("60 Streams zu je 19 MB", many_streams(60, 19 << 20)),
         ("Zip-Bombe 1 GB in einem factur-x.xml", zip_bomb()),
         ("200.000-fach verschachtelte Objekte", nested(200_000))]
results = {}

def send(name, data):
    req = urllib.request.Request(BASE + "/api/v1/rechnungen", data=data, method="POST", headers={"Content-Type": "application/pdf"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r: results[name] = (r.status, r.read().decode())
    except urllib.error.HTTPError as e: results[name] = (e.code, e.read().decode())

before = hwm_mb()
threads = [threading.Thread(target=send, args=c) for c in cases for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
peak = hwm_mb()
ok = True
for name, data in cases:
    status, body = results[name]
    msg = ""
    try: msg = "; ".join(f.get("meldung", "") for f in json.loads(body).get("fehler", []))[:160]
    except Exception: msg = body[:160]
    good = status in (413, 422)
    ok &= good
    print(f"{'ok ' if good else 'FEHLER'} {name}: {len(data) / 1e6:.1f} MB → {status} {msg}")
print(f"Spitzen-RSS des Servers: vorher {before:.0f} MB, nach {len(threads)} gleichzeitigen Bomben {peak:.0f} MB (Grenze {LIMIT_MB} MB)")
if peak >= LIMIT_MB: ok = False
sys.exit(0 if ok else 1)
