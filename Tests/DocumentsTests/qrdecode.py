#!/usr/bin/env python3
"""Renders page 1 of a PDF with poppler's pdftoppm and decodes every QR code on it with
zxing-cpp — both independent of the renderer. Prints the decoded texts, one per line."""
import subprocess, sys, tempfile, os
import zxingcpp
from PIL import Image

with tempfile.TemporaryDirectory() as d:
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", sys.argv[1], os.path.join(d, "p")], check=True)
    png = [f for f in os.listdir(d) if f.endswith(".png")][0]
    for r in zxingcpp.read_barcodes(Image.open(os.path.join(d, png))):
        print(r.text)
