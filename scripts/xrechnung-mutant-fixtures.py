#!/usr/bin/env python3
"""Copies a CI-sized sample of generated mutants (scripts/xrechnung-mutate.py) with the official
pipeline's verdicts (validate.py of ../shared/tools/xrechnung-oracle) into Tests/Fixtures/xrechnung/mutants,
in the format of expected-oracle.csv. Developer tool.
usage: xrechnung-mutant-fixtures.py ORACLE_JSONL MUTANT_DIR MAX_FILES MAX_BYTES [ORACLE_JSONL MUTANT_DIR ...]"""
import csv, json, os, shutil, sys
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, 'Tests', 'Fixtures', 'xrechnung', 'mutants')
args = sys.argv[1:]
rows = []
os.makedirs(out, exist_ok=True)
while args:
    oracle, src, limit, max_bytes = args[0], args[1], int(args[2]), int(args[3]); args = args[4:]
    taken = 0
    for line in open(oracle):
        o = json.loads(line)
        if 'file' not in o: continue
        path = o['file'] if os.path.isabs(o['file']) else os.path.join(src, o['file'])
        if os.path.getsize(path) > max_bytes or taken >= limit: continue
        name = os.path.basename(path)
        shutil.copyfile(path, os.path.join(out, name))
        log = os.path.join(src + '-log', name + '.txt')
        if os.path.exists(log): shutil.copyfile(log, os.path.join(out, name + '.txt'))
        rows.append({'file': name, 'syntax': o.get('syntax') or '', 'specification_id': '',
                     'kosit_scenario': o.get('scenario') or '', 'xsd_ok': str(o.get('xsd_ok')).lower(), 'valid': str(o['valid']).lower(),
                     'error_rules': ' '.join(sorted(o.get('errors', []))), 'warning_rules': ' '.join(sorted(o.get('warnings', []))),
                     'information_rules': ' '.join(sorted(o.get('information', [])))})
        taken += 1
with open(os.path.join(out, 'expected-oracle.csv'), 'w', newline='', encoding='utf-8') as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()), quoting=csv.QUOTE_ALL, lineterminator='\n')
    w.writeheader(); w.writerows(rows)
print(len(rows), 'Mutanten nach', out)
