#!/usr/bin/env python3
"""Mutation fuzzer for the two public entry points of the e-invoice intake: XML (UBL/CII) and
ZUGFeRD/Factur-X PDF, driven through `rathaus xrechnung validate` (the same validator the server
uses). Batches of mutated files go through one process; a batch that crashes (signal), hangs or
takes too long is split and every file that crashes or needs more than SLOW_S seconds on its own is
kept under Tests/Fixtures/fuzz as a regression input (FuzzRegressionTests runs them all).
usage: fuzz-xrechnung.py BINARY SECONDS [SEED]   (BINARY: the stand-alone `xrechnung` or `rathaus`)"""
import os, random, subprocess, sys, tempfile, time, zlib, glob, shutil, hashlib

binary, seconds = sys.argv[1], float(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
keep = os.path.join(root, 'Tests', 'Fixtures', 'fuzz')
SLOW_S = 2.0
seeds = [open(f, 'rb').read() for f in sorted(glob.glob(os.path.join(root, 'Tests/Fixtures/xrechnung/**/*.xml'), recursive=True))
         if os.path.getsize(f) < 200_000]

def pdf_of(xml):
    z = zlib.compress(xml)
    return (b"%PDF-1.7\n1 0 obj\n<< /Type /EmbeddedFile /Subtype /text#2Fxml /Filter /FlateDecode /Length " + str(len(z)).encode() + b" >>\nstream\n"
            + z + b"\nendstream\nendobj\n2 0 obj\n<< /Type /Filespec /F (factur-x.xml) /UF (factur-x.xml) /EF << /F 1 0 R >> >>\nendobj\n%%EOF\n")

TOKENS = [b"<", b">", b"</", b"/>", b"&amp;", b"&#0;", b"&#x10FFFF;", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?xml", b"xmlns=\"\"",
          b"xmlns:cbc=\"x\"", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"9" * 60, b"-", b".", b"1e999", b"\xc3", b"\xf0\x9f\x98\x80",
          b"<a>" * 300, b"currencyID=\"\"", b"schemeID=\"", b" ", b"\r\n", b"stream", b"endstream", b"/FlateDecode", b"/EmbeddedFile", b"obj", b"<<", b">>"]

def mutate(data):
    b = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 4, 8, 16])):
        k = rng.random()
        if not b: b = bytearray(rng.choice(seeds))
        i = rng.randrange(len(b))
        if k < 0.25: b[i] = rng.randrange(256)
        elif k < 0.45: b[i:i] = rng.choice(TOKENS)
        elif k < 0.55: del b[i:i + rng.randrange(1, 64)]
        elif k < 0.65: j = rng.randrange(len(b)); b[i:i] = b[j:j + rng.randrange(1, 400)]
        elif k < 0.72: b = b[:i]
        elif k < 0.80:
            other = rng.choice(seeds); j = rng.randrange(len(other)); b = b[:i] + other[j:]
        elif k < 0.88: b[i:i] = rng.choice([b"<x>", b"<cbc:Note>"]) * rng.randrange(1, 2000)
        else: b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 32)))
    return bytes(b)

def run(files, timeout):
    t0 = time.monotonic()
    try:
        verb = ["validate"] if os.path.basename(binary) == "xrechnung" else ["xrechnung", "validate"]
        p = subprocess.run([binary, *verb, *files], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
        return p.returncode, time.monotonic() - t0
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - t0

def save(path, why):
    data = open(path, 'rb').read()
    name = f"{why}-{hashlib.sha256(data).hexdigest()[:16]}" + (".pdf" if data.startswith(b"%PDF") else ".xml")
    shutil.copyfile(path, os.path.join(keep, name))
    print("  behalten:", name, flush=True)

os.makedirs(keep, exist_ok=True)
end = time.monotonic() + seconds
total = crashes = slow = 0
work = tempfile.mkdtemp(prefix="fuzz-")
while time.monotonic() < end:
    files = []
    for i in range(100):
        base = rng.choice(seeds)
        data = mutate(base)
        if rng.random() < 0.3: data = pdf_of(data) if rng.random() < 0.7 else mutate(pdf_of(base))
        path = os.path.join(work, f"f{i:03d}" + (".pdf" if data.startswith(b"%PDF") else ".xml"))
        open(path, 'wb').write(data); files.append(path)
    total += len(files)
    rc, dt = run(files, 120)
    if rc in (0, 1) and dt < SLOW_S * 20:
        continue
    print(f"Stapel auffällig (rc={rc}, {dt:.1f} s), einzeln prüfen", flush=True)
    for f in files:
        rc1, dt1 = run([f], 30)
        if rc1 not in (0, 1): crashes += 1; save(f, "absturz" if rc1 != "timeout" else "haengt")
        elif dt1 > SLOW_S: slow += 1; save(f, "langsam")
print(f"Fuzzing: {total} Eingaben in {seconds:.0f} s, {crashes} Abstürze/Hänger, {slow} langsame (> {SLOW_S} s) – behalten unter {keep}")
shutil.rmtree(work, ignore_errors=True)
