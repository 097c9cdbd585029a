#!/usr/bin/env bash
# Prints the README's scale table from a real sweep directory: per model its knee (by the
# rule the sweep states), the value before it, and its fixed and marginal CPU cost with
# their 95 % intervals — under a line saying what sweep it was (scenario, values, machine,
# commit) and why an --until-knee sweep stopped. Nothing is typed in: regenerate it from the
# sweep instead of editing the numbers.
#
#   scripts/scale-table.sh reports/sweep-20261202-020000
#
# The sweep is re-rendered first (`esbench sweep --from DIR`, nothing is measured), so
# analysis.json is the current code's reading of the points. ESBENCH=path/to/esbench uses
# that binary instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,12p' "$0"; exit 2
fi
dir=$1
if [ ! -f "$dir/sweep.json" ]; then
  echo "scale-table: $dir/sweep.json does not exist (give a sweep directory)" >&2; exit 2
fi
if [ -z "${ESBENCH:-}" ]; then
  cargo build --quiet --release --locked
  ESBENCH=target/release/esbench
fi
"$ESBENCH" sweep --from "$dir" >/dev/null

python3 - "$dir" <<'PY'
import json, os, sys

d = sys.argv[1]
a = json.load(open(os.path.join(d, "analysis.json")))
m = json.load(open(os.path.join(d, "sweep.json")))

def sig3(v):
    x = abs(v)
    for lim, dec in ((100, 0), (10, 1), (1, 2), (0.1, 3)):
        if x >= lim:
            return f"{v:.{dec}f}"
    return f"{v:.4f}"

def est(e):
    return f"{sig3(e['value'])} % [{sig3(e['lo'])}, {sig3(e['hi'])}]"

first = None
for p in m["points"]:
    if p.get("results"):
        try:
            first = json.load(open(os.path.join(d, p["results"])))
            break
        except (OSError, ValueError):
            pass
ctx = f"A sweep of {m['scenario']} over {m['key']} = {', '.join(m['values'])}"
if first:
    s, mach = first["scenario"], first["machine"]
    ctx += (f", {s['duration_s']:g} s per model{' (quick)' if s.get('quick') else ''}, "
            f"commit {(first.get('commit') or 'unknown')[:10]}, on {mach['cpu_model']} "
            f"({mach['logical_cores']} logical cores)")
if first and first.get("rounds"):
    ctx += f", {first['rounds']['count']} rounds per point"
print(ctx + ":\n")

key = a["key"]
print(f"| model | knee ({key}) | value before | fixed (% of a core) | "
      "marginal (% of a core per 1,000 events/s) |")
print("|---|---:|---:|---:|---:|")
fits = {f["model"]: f for f in a["fits"]}
for k in a["knees"]:
    before = k["before"] or "—"
    if k["knee"] is None:
        knee = f"none (copes up to {k['before']})" if k["before"] else "not judged"
    else:
        knee = k["knee"]
        if k["gap_before_knee"]:
            before += " (gap)"
    f = fits.get(k["model"], {}).get("fit")
    fixed = est(f["fixed_percent"]) if f else "—"
    marginal = est(f["marginal_percent_per_1k"]) if f else "—"
    print(f"| {k['model']} | {knee} | {before} | {fixed} | {marginal} |")

print(f"\nKnee rule: {a['knee_rule']}.")
print(f"Cost: {a['fit_rule']}.")
missing = [f"{f['model']}: {f['missing']}" for f in a["fits"] if f.get("missing")]
if missing:
    print("No cost fit for " + "; ".join(missing) + ".")
u = a.get("until_knee")
if u:
    print(f"--until-knee stopped: {u['stopped']}." if u.get("stopped")
          else "--until-knee did not finish (resume it with esbench sweep --resume).")
PY
