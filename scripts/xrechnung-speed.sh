#!/usr/bin/env bash
# Speed of the validator against the official pipeline, measured side by side in one run as whole
# processes on the same files: the official testsuite (or the folders given) five times, one
# process each, wall time. Needs the release build and the rebuilt official pipeline
# (../shared/tools/xrechnung-oracle: XR_ORACLE_HOME and its Python with saxonche + lxml in ORACLE_PY).
# The release build links the Swift runtime statically, as the tool is shipped: a process then
# starts in about 15 ms instead of 25 ms (measured), which counts for a command-line validator.
#   scripts/xrechnung-speed.sh [FOLDER…]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build-release-static/release/xrechnung}
ORACLE_PY=${ORACLE_PY:-.oracle-venv/bin/python}
ORACLE=${ORACLE:-../shared/tools/xrechnung-oracle/validate.py}
[ -x "$BIN" ] || { echo "Release-Build fehlt: swift build -c release --static-swift-stdlib --scratch-path .build-release-static --product xrechnung"; exit 1; }
[ -n "${XR_ORACLE_HOME:-}" ] || { echo "XR_ORACLE_HOME fehlt (siehe ../shared/tools/xrechnung-oracle/README.md)"; exit 1; }
DIRS=("$@"); [ ${#DIRS[@]} -gt 0 ] || DIRS=(Tests/Fixtures/xrechnung/testsuite)
[ -d ../shared/data/xrechnung/testsuite ] && [ $# -eq 0 ] && DIRS=(../shared/data/xrechnung/testsuite)
FILES=$(find "${DIRS[@]}" -name '*.xml' | wc -l)
wall() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
OFF=0; OURS=0
for i in 1 2 3 4 5; do
  o=$(wall "$ORACLE_PY" "$ORACLE" --home "$XR_ORACLE_HOME" "${DIRS[@]}")
  r=$(wall "$BIN" validate "${DIRS[@]}")
  echo "Lauf $i: amtliche Pipeline ${o} s, Rathaus ${r} s"
  OFF=$(echo "$OFF + $o" | bc); OURS=$(echo "$OURS + $r" | bc)
done
printf "%d Dateien × 5 Prozesse: amtliche Pipeline %.2f s, Rathaus %.2f s, Verhältnis %.1f×\n" "$FILES" "$OFF" "$OURS" "$(echo "$OFF / $OURS" | bc -l)"
"$BIN" bench "${DIRS[@]}" | tail -n 4
