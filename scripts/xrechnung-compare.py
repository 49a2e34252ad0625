#!/usr/bin/env python3
"""Compares `rathaus xrechnung validate` output (JSON lines on stdin) with expected-oracle.csv.
Prints every disagreement by verdict and by rule id. Dev helper; the Swift test does the same."""
import csv, json, sys, collections, os
base = sys.argv[1]
oracle = {r['file']: r for r in csv.DictReader(open(os.path.join(base, 'expected-oracle.csv')))}
verdict = 0; rules = collections.Counter(); files = 0
for line in sys.stdin:
    o = json.loads(line)
    rel = os.path.relpath(o['file'], base)
    r = oracle.get(rel)
    if r is None: continue
    files += 1
    exp_valid = r['valid'] == 'true'
    if o['valid'] != exp_valid:
        verdict += 1
        print(f"VERDICT {rel}: expected {exp_valid}, got {o['valid']}")
    if not r['kosit_scenario']:
        continue
    for sev, col in (('errors', 'error_rules'), ('warnings', 'warning_rules'), ('information', 'information_rules')):
        got = {f['rule'] for f in o.get(sev, [])}
        exp = set(r[col].split())
        for x in sorted(exp - got): rules[('missing', sev, x)] += 1; print(f"  MISSING {sev} {x}: {rel}")
        for x in sorted(got - exp): rules[('extra', sev, x)] += 1; print(f"  EXTRA {sev} {x}: {rel}")
print(f"files {files}, verdict disagreements {verdict}, rule disagreements {sum(rules.values())}")
for k, v in rules.most_common(): print(v, *k)
