#!/usr/bin/env python3
"""Appends chosen generated invoices with the official pipeline's verdicts to
Tests/Fixtures/xrechnung/mutants/expected-oracle.csv (scripts/xrechnung-mutant-fixtures.py writes the
file anew from whole corpora; this adds to it). Developer tool.
usage: xrechnung-mutant-fixtures-add.py SPEC.json
SPEC: [[ORACLE_JSONL, XML_DIR, LOG_DIR, [named files…], N_RANDOM_MORE, SEED], …] — the named files
(those that showed a class being fixed; skipped above 100 KB) and N random ones under 40 KB; the
mutation log NAME.txt is copied from LOG_DIR when it is there."""
import csv, json, os, random, shutil, sys
os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out = 'Tests/Fixtures/xrechnung/mutants'
csvp = os.path.join(out, 'expected-oracle.csv')
existing = {r['file'] for r in csv.DictReader(open(csvp, encoding='utf-8'))}

spec = json.load(open(sys.argv[1]))
rows = []
for oracle, src, logdir, names, nrandom, seed in spec:
    recs = {os.path.basename(json.loads(l)['file']): json.loads(l) for l in open(oracle) if l.strip()}
    chosen = [n for n in names if os.path.getsize(os.path.join(src, n)) < 100000]
    rnd = random.Random(seed)
    pool = sorted(n for n in recs if n not in chosen and os.path.getsize(os.path.join(src, n)) < 40000)
    chosen += rnd.sample(pool, min(nrandom, len(pool)))
    for name in chosen:
        if name in existing: continue
        o = recs[name]
        shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
        log = os.path.join(logdir, name + '.txt')
        if os.path.exists(log): shutil.copyfile(log, os.path.join(out, name + '.txt'))
        rows.append({'file': name, 'syntax': o.get('syntax') or '', 'specification_id': '',
                     'kosit_scenario': o.get('scenario') or '', 'xsd_ok': str(o.get('xsd_ok')).lower(), 'valid': str(o['valid']).lower(),
                     'error_rules': ' '.join(sorted(o.get('errors', []))), 'warning_rules': ' '.join(sorted(o.get('warnings', []))),
                     'information_rules': ' '.join(sorted(o.get('information', [])))})
        existing.add(name)
if not rows:
    sys.exit(print('0 neu (alle schon vorhanden)'))
with open(csvp, 'a', newline='', encoding='utf-8') as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()), quoting=csv.QUOTE_ALL, lineterminator='\n')
    w.writerows(rows)
print(len(rows), 'neu')
