#!/usr/bin/env python3
"""Validates metadata documents written by Rathaus against the FIT-Connect metadata schema 1.0.0
with PyPI jsonschema (an independent JSON-Schema 2020-12 validator, formats checked).
Usage: schemacheck.py <schema.json> <doc.json>…  Prints one JSON line: {"<file>": [errors…], …}."""
import json
import sys

from jsonschema import Draft202012Validator

schema = json.load(open(sys.argv[1]))
validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
out = {}
for path in sys.argv[2:]:
    doc = json.load(open(path))
    out[path.rsplit("/", 1)[-1]] = sorted(e.message for e in validator.iter_errors(doc))
print(json.dumps(out))
