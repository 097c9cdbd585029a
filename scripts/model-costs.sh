#!/usr/bin/env bash
# Profiles each model (esbench profile, /proc per-thread sampling and strace, no perf) on the
# classroom scenario, twice, and writes the table of threads, wake-ups and syscalls per event
# into docs/model-costs.md (between its "generated" markers). Includes the smol variant
# measured there (ESBENCH_SMOL_BLOCK_ON=futures-lite), then runs both smol variants under
# `esbench run --quick`. Takes about 5 minutes.
#
#   scripts/model-costs.sh                   # uses target/release/esbench
#   WINDOW=5 ROUNDS=3 scripts/model-costs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EXE=${ESBENCH:-target/release/esbench}
WINDOW=${WINDOW:-4}
ROUNDS=${ROUNDS:-2}
SPECS=${SPECS:-threads rayon tokio tokio-current async-std smol smol:futures-lite}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
[[ -x $EXE ]] || { echo "no $EXE: run cargo build --release first" >&2; exit 2; }
for round in $(seq 1 "$ROUNDS"); do
  for spec in $SPECS; do
    model=${spec%%:*}
    label=$model
    envs=()
    if [[ $spec == *:* ]]; then
      label="$model-${spec#*:}"
      envs=(ESBENCH_SMOL_BLOCK_ON=${spec#*:})
    fi
    env "${envs[@]}" "$EXE" profile --model "$model" --label "$label" --window "$WINDOW" \
      --warmup 1 --no-perf --out "$OUT/r$round" >/dev/null 2>"$OUT/err" || {
      cat "$OUT/err" >&2; exit 1; }
  done
done
python3 - "$OUT" "$ROUNDS" "$WINDOW" "$SPECS" "$(uptime)" <<'PY' | scripts/splice-generated.py docs/model-costs.md profiles
import json, sys, os
out, rounds, window, specs, load = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(), sys.argv[5]
def label(spec):
    m, _, v = spec.partition(":")
    return f"{m}-{v}" if v else m
def rng(vals, fmt):
    lo, hi = min(vals), max(vals)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"
print(f"Measured by `scripts/model-costs.sh` on `{os.uname().nodename}`, the 2-core VM shared with "
      f"other builds (`uptime` at the end: {load.strip()}); classroom scenario, {rounds} "
      f"profiles of {window} s per model, ranges over the profiles. Counts (wake-ups, "
      "syscalls, per event) are the figures to compare; CPU % moves with the machine's load. "
      "An *event* is a frame, a poll or a command the model handled.\n")
print("| model | threads: wake-ups/s each | wake-ups/s | wake-ups per event | syscalls per event | CPU % | top syscalls per event |")
print("|---|---|---:|---:|---:|---:|---|")
for spec in specs:
    ps = [json.load(open(f"{out}/r{r}/profile-{label(spec)}.json")) for r in range(1, rounds + 1)]
    groups = {}
    for p in ps:
        for g in p["threads"]["groups"]:
            groups.setdefault((g["name"], g.get("threads", 1)), []).append(g["wakeups_per_s"])
    tcell = ", ".join(f"{n}{' ×%d' % k if k > 1 else ''}: {rng(v, '{:.0f}')}"
                      for (n, k), v in groups.items() if max(v) >= 0.5)
    wk = [p["threads"]["total"]["wakeups_per_s"] for p in ps]
    wpe = [p["wakeups_per_event"] for p in ps if p.get("wakeups_per_event") is not None]
    spe = [p["syscalls"]["calls_per_event"] for p in ps if p["syscalls"].get("calls_per_event")]
    cpu = [p["threads"]["total"]["cpu_percent"] for p in ps]
    last = ps[-1]["syscalls"]
    ev = sum(last.get("events", {}).values()) or 1
    top = sorted(last.get("rows", []), key=lambda r: -r["calls"])[:4]
    tops = ", ".join(f"{r['syscall']} {r['calls']/ev:.1f}" for r in top)
    print(f"| {label(spec)} | {tcell} | {rng(wk, '{:.0f}')} | {rng(wpe, '{:.2f}') if wpe else '-'} | "
          f"{rng(spe, '{:.1f}') if spe else '-'} | {rng(cpu, '{:.2f}')} | {tops} |")
PY
# The smol variants under the real measurement: does the cheaper variant cost latency?
for v in async-io futures-lite; do
  ESBENCH_SMOL_BLOCK_ON=$v "$EXE" run --quick --duration "${DURATION:-8}" --models smol \
    --no-history --no-report --out "$OUT/run-$v" >/dev/null 2>"$OUT/err" || {
    cat "$OUT/err" >&2; exit 1; }
done
python3 - "$OUT" <<'PY' | scripts/splice-generated.py docs/model-costs.md smol-run
import json, sys
out = sys.argv[1]
print("`esbench run --quick` on smol, one run per variant, same machine minutes after the "
      "profiles (µs; CPU/floor = model CPU ÷ the run's CPU floor):\n")
print("| smol block_on | CPU % | CPU/floor | csw/s | poll p50 | poll p99 | watchdog p50 | watchdog p99 | timer p99 beside it | polls |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for v in ["async-io", "futures-lite"]:
    r = json.load(open(f"{out}/run-{v}/results.json"))
    m = r["models"][0]
    assert (m.get("runtime") or {}).get("block_on") == v, f"the child ran {m.get('runtime')}"
    win = m["counters"].get("cpu_window_ms", 0) / 1e3 or 1
    csw = (m["cpu"]["vcsw"] + m["cpu"]["ivcsw"]) / win
    fm = m["cpu"].get("floor_multiple")
    p, w, t = m["poll_latency"], m["watchdog_lateness"], m["timer_floor"]
    print(f"| {v} | {m['cpu']['percent']:.2f} | {'%.1f' % fm if fm else '-'} | {csw:.0f} | "
          f"{p['p50']} | {p['p99']} | {w['p50']} | {w['p99']} | {t['p99']} | {p['count']} |")
PY
echo "docs/model-costs.md updated" >&2
