#!/usr/bin/env bash
# Instructions per validation of the XRechnung validator, steady state, counted by callgrind —
# a figure that does not depend on the machine's load (timings on shared VMs swing ±20 %).
# Counts only inside XRechnungValidator.validate, without libxml2's schema compilation, and
# subtracts a 2-pass run from an 8-pass run, so one-time work (tables, first schema use) drops out.
#
# usage: scripts/xrechnung-instructions.sh [xrechnung binary] [directory of invoices]
# default binary: the release build (swift build -c release --static-swift-stdlib
#   --scratch-path .build-release-static --product xrechnung); default directory: the official
#   testsuite under ../shared/data/xrechnung/testsuite (or the fixture subset in the repo).
# Needs valgrind (Debian: apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build-release-static/release/xrechnung}
DIR=${2:-../shared/data/xrechnung/testsuite}
[ -d "$DIR" ] || DIR=Tests/Fixtures/xrechnung/testsuite
command -v valgrind >/dev/null || { echo "valgrind fehlt (apt-get install valgrind)"; exit 1; }
N=$(find "$DIR" -name "*.xml" | wc -l)
run() {
  local out; out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect='$s9XRechnung0A9ValidatorC8validateyAA16ValidationReportV20FoundationEssentials4DataVF' \
    --toggle-collect=xmlSchemaParse "$BIN" validate "$@" >/dev/null 2>"$out" || true
  sed -nE 's/.*I +refs: +([0-9,]+).*/\1/p' "$out" | tr -d ,
  rm -f "$out"
}
two=$(run "$DIR" "$DIR")
eight=$(run "$DIR" "$DIR" "$DIR" "$DIR" "$DIR" "$DIR" "$DIR" "$DIR")
echo "XRechnung: $(( (eight - two) / 6 / N )) Instruktionen je Prüfung ($N Dateien aus $DIR, eingeschwungen, callgrind)"
