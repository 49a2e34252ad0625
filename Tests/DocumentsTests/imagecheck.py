#!/usr/bin/env python3
"""Compares the first image on page 1 of a PDF (decoded by pypdf, soft mask applied) with a
reference picture (decoded by Pillow): prints JSON with size, mode and the largest difference of
any sample. usage: imagecheck.py FILE.pdf REFERENCE"""
import io, json, sys
from pypdf import PdfReader
from PIL import Image, ImageChops

page = PdfReader(sys.argv[1]).pages[0]
images = list(page.images)
ref = Image.open(sys.argv[2])
out = {"images": len(images)}
if images:
    got = images[0].image
    xobj = next(iter(page["/Resources"]["/XObject"].values())).get_object()
    if xobj.get("/Filter") == "/DCTDecode":
        # a JPEG is embedded as it is: the stream is the file, decoded by Pillow itself
        raw = xobj._data
        out["raw_equal"] = raw == open(sys.argv[2], "rb").read()
        got = Image.open(io.BytesIO(raw))
    mode = "RGBA" if "A" in ref.mode else ("L" if ref.mode == "L" else "RGB")
    got, want = got.convert(mode), ref.convert(mode)
    out.update(width=got.width, height=got.height, mode=got.mode)
    if got.size == want.size:
        out["max_difference"] = max(hi for _, hi in ImageChops.difference(got, want).getextrema()) if mode != "L" else ImageChops.difference(got, want).getextrema()[1]
print(json.dumps(out))
