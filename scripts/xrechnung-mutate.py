#!/usr/bin/env python3
"""Seeded random mutations of valid invoices, for differential testing of the validator against
the official pipeline (../shared/tools/xrechnung-oracle). Developer tool; the output is not committed
except CI-sized samples under Tests/Fixtures/xrechnung-mutants with the oracle's verdicts.

usage: xrechnung-mutate.py OUT_DIR COUNT SEED FILE...
Each output file gets one to three mutations of these kinds: remove, empty, duplicate an element;
change a code (currency, unit, country, VAT category, tax scheme, payment means, document type);
change a currencyID attribute; change decimals (trailing zeros, more digits, sign); change a date or
its CII format; add whitespace around an identifier or the specification identifier (BT-24)."""
import random, sys, os, copy
from lxml import etree

out, count, seed, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
rng = random.Random(seed)
os.makedirs(out, exist_ok=True)

CURRENCIES = ["EUR", "USD", "GBP", "CHF", "XXX", "EURO", "eur", "HRK", "VEF", "SLL", "ZWL", "BGN"]
UNITS = ["C62", "H87", "XPP", "STK", "KGM", "LTR", "HUR", "DAY", "C62 ", "ea", "ZZ"]
COUNTRIES = ["DE", "AT", "FR", "XX", "de", "GR", "EL", "XI", "UK", "GB"]
VATCATS = ["S", "Z", "E", "AE", "K", "G", "O", "L", "M", "B", "X"]
SCHEMES = ["VAT", "VA", "H87", "vat", "FC", ""]
MEANS = ["30", "58", "59", "31", "42", "48", "49", "57", "1", "ZZZ", "97"]
DOCTYPES = ["380", "381", "384", "389", "875", "876", "877", "326", "751", "999"]
DATEFMT = ["102", "610", "616", "203"]

def local(e):
    return etree.QName(e).localname if isinstance(e.tag, str) else ""

def mutate(tree, log):
    root = tree.getroot()
    elems = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
    kind = rng.choice(["remove", "empty", "duplicate", "code", "currency", "decimal", "date", "space", "space", "decimal", "code"])
    if kind == "remove":
        e = rng.choice(elems); p = e.getparent()
        if p is not None: p.remove(e); log.append(f"remove {local(e)}")
    elif kind == "empty":
        leaves = [e for e in elems if len(e) == 0]
        if leaves: e = rng.choice(leaves); e.text = rng.choice(["", " ", None]); log.append(f"empty {local(e)}")
    elif kind == "duplicate":
        e = rng.choice(elems); p = e.getparent()
        if p is not None: p.insert(p.index(e) + 1, copy.deepcopy(e)); log.append(f"duplicate {local(e)}")
    elif kind == "code":
        targets = []
        for e in elems:
            n = local(e)
            if n in ("DocumentCurrencyCode", "InvoiceCurrencyCode", "TaxCurrencyCode"): targets.append((e, None, CURRENCIES))
            elif n in ("IdentificationCode", "CountryID"): targets.append((e, None, COUNTRIES))
            elif n in ("PaymentMeansCode", "TypeCode") and (e.text or "").strip() in MEANS + ["58", "30"]: targets.append((e, None, MEANS))
            elif n in ("InvoiceTypeCode", "CreditNoteTypeCode") or (n == "TypeCode" and local(e.getparent()) == "ExchangedDocument"): targets.append((e, None, DOCTYPES))
            elif n == "ID" and local(e.getparent()) == "TaxScheme": targets.append((e, None, SCHEMES))
            elif n in ("CategoryCode",) or (n == "ID" and local(e.getparent()) in ("ClassifiedTaxCategory", "TaxCategory")): targets.append((e, None, VATCATS))
            for a in ("unitCode",):
                if a in e.attrib: targets.append((e, a, UNITS))
        if targets:
            e, a, vals = rng.choice(targets); v = rng.choice(vals)
            if a: e.set(a, v)
            else: e.text = v
            log.append(f"code {local(e)}{'@' + a if a else ''}={v!r}")
    elif kind == "currency":
        withc = [e for e in elems if "currencyID" in e.attrib]
        if withc: e = rng.choice(withc); v = rng.choice(CURRENCIES); e.set("currencyID", v); log.append(f"currencyID {local(e)}={v}")
    elif kind == "decimal":
        nums = [e for e in elems if len(e) == 0 and e.text and e.text.strip().replace(".", "", 1).replace("-", "", 1).isdigit()]
        if nums:
            e = rng.choice(nums); t = e.text.strip()
            v = rng.choice([t + "000" if "." in t else t + ".000", t + ".5", "-" + t, t + "1", " " + t + " ", t.split(".")[0], t + "0.0"])
            e.text = v; log.append(f"decimal {local(e)}={v!r}")
    elif kind == "date":
        dates = [e for e in elems if local(e) in ("IssueDate", "DueDate", "DateTimeString", "TaxPointDate", "StartDate", "EndDate", "ActualDeliveryDate")]
        if dates:
            e = rng.choice(dates)
            if "format" in e.attrib and rng.random() < 0.5:
                v = rng.choice(DATEFMT); e.set("format", v); log.append(f"dateformat={v}")
            else:
                t = (e.text or "").strip()
                v = rng.choice([t + " ", "2024-02-30", "20240230", "2024-13-01", t.replace("-", ""), "2024-1-1", "2099-01-01"])
                e.text = v; log.append(f"date {local(e)}={v!r}")
    elif kind == "space":
        ids = [e for e in elems if len(e) == 0 and local(e) in ("ID", "CustomizationID", "BuyerReference", "EndpointID", "CompanyID", "IssuerAssignedID")]
        if ids:
            e = rng.choice(ids); v = rng.choice([" " + (e.text or ""), (e.text or "") + " ", "\n" + (e.text or "") + "\n"])
            e.text = v; log.append(f"space {local(e)}")

bases = []
for f in files:
    try: bases.append((f, etree.parse(f)))
    except Exception: pass
for i in range(count):
    name, base = rng.choice(bases)
    tree = copy.deepcopy(base)
    log = []
    for _ in range(rng.choice([1, 1, 2, 3])): mutate(tree, log)
    stem = os.path.splitext(os.path.basename(name))[0]
    path = os.path.join(out, f"m{seed}-{i:05d}-{stem}.xml")
    data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    with open(path, "wb") as fh: fh.write(data)
    with open(path + ".txt", "w") as fh: fh.write(" | ".join(log) + "\n")
print(f"{count} Mutanten in {out}")
