#!/usr/bin/env bash
# coop against threads as the work grows: a sweep of scenarios/school.toml over boards.count
# (1 to 128 boards, threads and coop, 10 s per model in 5 interleaved rounds per point),
# tabled per point with each model's CPU and its interval, CPU per 1,000 events, wake-ups
# per event, and which model is cheaper where the intervals are apart. Writes docs/coop.md's
# block "coop-scale". About 6 minutes; give a finished sweep's directory to table it again
# without measuring.
#
#   scripts/coop-scale.sh                       # sweep, then table (release build)
#   scripts/coop-scale.sh reports/sweep-2026…   # table an existing sweep of threads and coop
set -euo pipefail
cd "$(dirname "$0")/.."
EXE=${ESBENCH:-target/release/esbench}
[[ -x $EXE ]] || { echo "no $EXE: run cargo build --release first" >&2; exit 2; }
if [[ ${1:-} == -h || ${1:-} == --help ]]; then sed -n '2,10p' "$0"; exit 0; fi
if [[ $# -ge 1 ]]; then
  dir=$1
  [[ -f $dir/sweep.json ]] || { echo "coop-scale: $dir/sweep.json does not exist" >&2; exit 2; }
else
  dir=reports/sweep-coop-scale-$(date -u +%Y%m%d-%H%M%S)
  "$EXE" sweep scenarios/school.toml --set boards.count=1,2,4,8,16,32,64,128 \
    --models threads,coop --duration 10 --with run.rounds=5 --out "$dir" >&2
fi
"$EXE" sweep --from "$dir" >/dev/null   # sweep.md as the current code reads the points
python3 - "$dir" "$(uptime)" <<'PY' | scripts/splice-generated.py docs/coop.md coop-scale
import json, os, re, sys
d, load = sys.argv[1], sys.argv[2]
md = open(os.path.join(d, "sweep.md"), encoding="utf-8").read().splitlines()
title = next(l for l in md if l.startswith("scenario "))
head = next(i for i, l in enumerate(md) if l.startswith("| boards.count |"))
cols = [c.strip() for c in md[head].strip("|").split("|")]
if not {"threads CPU %", "coop CPU %"} <= set(cols):
    sys.exit(f"coop-scale: {d} is not a sweep of threads and coop (its columns: {', '.join(cols)})")
rows = []
for l in md[head + 2:]:
    if not l.startswith("|"):
        break
    rows.append(dict(zip(cols, (c.strip() for c in l.strip("|").split("|")))))
def interval(cell):
    """(median, lo, hi) of a cell like '1.10 % [1.08 %, 1.12 %]'; None when the point was
    driver-limited or has no figure (a failed point)."""
    nums = [float(x) for x in re.findall(r"[0-9]+(?:\.[0-9]+)?", cell)]
    if "(drv)" in cell or not nums:
        return None
    return (nums[0], nums[1], nums[2]) if len(nums) >= 3 else (nums[0], nums[0], nums[0])
def wakeups(value, model):
    """Wake-ups per handled event, or None when the point has no usable row for `model`."""
    try:
        r = json.load(open(os.path.join(d, f"boards.count={value}", "results.json")))
    except (OSError, ValueError):
        return None
    m = next((m for m in r.get("models", []) if m.get("name") == model), None)
    if m is None or m.get("status") not in (None, "ok"):
        return None
    # handled events, as `metrics::costs` counts them: the window's polls answered,
    # frames parsed and commands delivered
    events = sum((m.get(k) or {}).get("count", 0)
                 for k in ("poll_answered", "ingest_latency", "command_latency"))
    return m["cpu"]["vcsw"] / events if events else None
def fmt(x):
    return "—" if x is None else f"{x:.2f}"
print(f"Measured by `scripts/coop-scale.sh` (`uptime` at the end: {load.strip()}); the sweep: "
      f"{title}. CPU and CPU per 1,000 events are the sweep's own figures with the 95 % "
      f"interval of the median over the rounds; wake-ups per event are the serve child's "
      f"voluntary context switches per handled event (polls answered, frames parsed, commands "
      f"delivered; the watchdogs' ticks are not events). *cheaper* names "
      f"the model whose CPU interval lies wholly below the other's; `(drv)`: the driver was "
      f"the limit at that point, not judged.\n")
print("| boards | threads CPU % | coop CPU % | threads CPU/1k ev | coop CPU/1k ev | threads wake-ups/event | coop wake-ups/event | cheaper |")
print("|---:|---:|---:|---:|---:|---:|---:|---|")
apart = []
for r in rows:
    v = r["boards.count"]
    t, c = interval(r["threads CPU %"]), interval(r["coop CPU %"])
    verdict = "—"
    if t and c:
        if c[2] < t[1]:
            verdict = "coop"
        elif t[2] < c[1]:
            verdict = "threads"
        else:
            verdict = "tie"
    apart.append((v, verdict))
    print(f"| {v} | {r['threads CPU %']} | {r['coop CPU %']} | {r['threads CPU/1k ev']} | "
          f"{r['coop CPU/1k ev']} | {fmt(wakeups(v, 'threads'))} | {fmt(wakeups(v, 'coop'))} | {verdict} |")
costs = next(i for i, l in enumerate(md) if l.startswith("| model | fixed"))
print("\nThe sweep's cost fit (CPU % = fixed + marginal × events/s over the points where the model copes):\n")
for l in md[costs:]:
    if not l.startswith("|"):
        break
    print(l)
for model in ("coop", "threads"):
    pts = [v for v, w in apart if w == model]
    print(f"\n{model} cheaper with intervals apart at: {', '.join(pts) + ' boards' if pts else 'no point'}.", end="")
print()
PY
echo "docs/coop.md updated (coop-scale)" >&2
