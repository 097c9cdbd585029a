#!/usr/bin/env bash
# Measures the three Python example bridges (examples/bridges/) beside `threads` and `coop`
# with scenarios/python.toml and prints docs/bridges.md's table from the run's results.json:
# CPU, poll latency, staleness and command latency per row, each as the median over the
# rounds with the rounds' range, the machine's load before and after, and whether the
# issue's targets held (polling bridge >= 50 % of a core, threaded and asyncio < 5 %).
# Nothing is typed in: rerun it instead of editing the numbers.
#
#   scripts/python-table.sh                       # full run (about 3 minutes), print the table
#   scripts/python-table.sh --quick               # short run
#   scripts/python-table.sh --splice              # ... and write it into docs/bridges.md
#   ESBENCH=target/debug/esbench scripts/python-table.sh --quick
#   scripts/python-table.sh --from DIR/results.json   # only the table, from an earlier run
set -euo pipefail
cd "$(dirname "$0")/.."

quick=() splice=0 from=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --splice) splice=1 ;;
    --from) from=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 2 ;;
    *) echo "python-table: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ -z "$from" ]; then
  esbench=${ESBENCH:-target/release/esbench}
  if [ ! -x "$esbench" ]; then
    cargo build --release --locked
  fi
  out=$(mktemp -d /tmp/python-table.XXXXXX)
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  "$esbench" run scenarios/python.toml "${quick[@]}" --out "$out" --no-history >&2 || true
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  from=$out/results.json
else
  load_before="" load_after=""
fi

table=$(python3 - "$from" "$load_before" "$load_after" <<'PY'
import json, sys

path, before, after = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
s = r["scenario"]

def us(v):
    if v is None:
        return "–"
    return f"{v / 1000:.1f} ms" if v >= 1000 else f"{v} µs"

def spread(m, get, fmt):
    """Median of the merged row, [min–max] over its rounds."""
    vals = [get(rd) for rd in m.get("rounds", []) if rd.get("status") == "ok"]
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    vals.sort()
    mid = vals[len(vals) // 2]
    return f"{fmt(mid)} [{fmt(vals[0])}–{fmt(vals[-1])}]" if len(vals) > 1 else fmt(mid)

def fig(name, q):
    return lambda rd: (rd["figures"].get(name) or {}).get(q) if (rd["figures"].get(name) or {}).get("count") else None

kind = "quick run" if s.get("quick") else "run"
commit = (r.get("commit") or "unknown")[:10]
m0 = r["machine"]
rounds = (r.get("rounds") or {}).get("count", 1)
print(f"A {kind} of scenarios/python.toml: {s['duration_s']:g} s measured per row in "
      f"{rounds} interleaved rounds, each after {s['warmup_s']:g} s warm-up, commit {commit}, on "
      f"{m0['cpu_model']} ({m0['logical_cores']} logical cores), Python "
      f"{__import__('platform').python_version()}.")
notes = [n for n in r.get("notes", []) if n.startswith("load average")]
load = "; ".join(notes)
if before:
    load += f"; load average (1/5/15 min) just before the run {before}, just after {after}"
print(f"Machine load: {load or 'not recorded'}. Each cell is the median over the rounds, "
      f"[the rounds' range].")
print()
print("| row | kind | CPU % of a core | poll p50 | poll p99 | staleness p99 | command p99 | status |")
print("|---|---|---:|---:|---:|---:|---:|---|")
for m in r["models"]:
    ext = m.get("external")
    kind = "external: `" + ext["command"] + "`" if ext else "built-in model"
    cpu = spread(m, lambda rd: rd.get("cpu_percent"), lambda v: f"{v:.1f}")
    print(f"| {m['name']} | {kind} | {cpu} | "
          f"{spread(m, fig('poll_latency', 'p50'), us)} | "
          f"{spread(m, fig('poll_latency', 'p99'), us)} | "
          f"{spread(m, fig('staleness', 'p99'), us)} | "
          f"{spread(m, fig('command_latency', 'p99'), us)} | {m['status']} |")
print()
cpu = {m["name"]: m["cpu"]["percent"] for m in r["models"]}
def verdict(name, ok, want):
    if name not in cpu:
        return f"{name}: no row"
    return f"{name} {cpu[name]:.1f} % ({want}: {'met' if ok(cpu[name]) else 'NOT met'})"
print("Targets (issue 29), on the merged rows: "
      + "; ".join([verdict("py-polling", lambda v: v >= 50, "≥ 50 %"),
                   verdict("py-threads", lambda v: v < 5, "< 5 %"),
                   verdict("py-asyncio", lambda v: v < 5, "< 5 %")]) + ".")
PY
)
echo "$table"
if [ "$splice" = 1 ]; then
  echo "$table" | scripts/splice-generated.py docs/bridges.md python-table
fi
