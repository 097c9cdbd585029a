#!/usr/bin/env bash
# Prints the README's "Reading the table" block from a real run's results.json: the table
# `esbench run` printed, indented as a Markdown code block, under a line saying what run it
# was (scenario, duration, quick or not, commit, injected faults if any). Nothing is typed in:
# regenerate it after a run instead of editing the numbers.
#
#   scripts/readme-table.sh reports/latest/results.json            # the terminal table
#   scripts/readme-table.sh reports/latest/results.json --markdown # the report's Markdown table
#
# Typical use, after the default run:
#   cargo build --release --locked && target/release/esbench run --out /tmp/default-run
#   scripts/readme-table.sh /tmp/default-run/results.json
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,12p' "$0"; exit 2
fi
results=$1; shift
[ -d "$results" ] && results="$results/results.json"
if [ ! -f "$results" ]; then
  echo "readme-table: $results does not exist" >&2; exit 2
fi

# RESULTS_TABLE=path uses an already built `results_table` example instead of building it
# (e.g. while a measurement runs that a build would disturb).
if [ -n "${RESULTS_TABLE:-}" ]; then
  table=$("$RESULTS_TABLE" "$results" "$@")
else
  table=$(cargo run --quiet --release --locked --example results_table -- "$results" "$@")
fi

# What run this was, from the file itself.
describe=$(python3 - "$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["scenario"]
kind = "quick run" if s.get("quick") else "run"
commit = (r.get("commit") or "unknown")[:10]
line = (f"A {kind} of the {s['name']} scenario, {s['duration_s']:g} s per model after "
        f"{s['warmup_s']:g} s warm-up, commit {commit}, on {r['machine']['cpu_model']} "
        f"({r['machine']['logical_cores']} logical cores)")
if r.get("injected"):
    line += f", INJECTED FAULTS {', '.join(r['injected'])} (not a measurement)"
print(line + ":")
PY
)
echo "$describe"
echo
if [ "${1:-}" = "--markdown" ]; then
  echo "$table"
else
  echo "$table" | sed 's/^/    /'
fi
