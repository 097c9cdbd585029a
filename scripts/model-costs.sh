#!/usr/bin/env bash
# Profiles each model (esbench profile, /proc per-thread sampling and strace, no perf) on the
# classroom scenario, twice, and writes the table of threads, wake-ups and syscalls per event
# into docs/model-costs.md (between its "generated" markers). Includes the smol variant
# measured there (--smol-block-on futures-lite), then runs both smol variants under
# `esbench run --quick`. Then coop's own section of docs/coop.md: the coop variants beside
# threads and the CPU floor's process (`esbench floor-child`, profiled by pid), with coop as
# an older build ran it when BEFORE names that build's executable, and the three coop
# variants under `run --quick` on the blocking-call and lab scenarios. About 10 minutes.
#
#   scripts/model-costs.sh                   # uses target/release/esbench
#   BEFORE=/path/to/old/esbench scripts/model-costs.sh   # adds the "coop (before)" row
#   RUNS=2 scripts/model-costs.sh            # plus two default runs of threads and the coop variants
#   WINDOW=5 ROUNDS=3 scripts/model-costs.sh
#   ONLY_RUNS=1 RUNS=2 scripts/model-costs.sh   # only the default runs (docs/coop.md's coop-runs)
set -euo pipefail
cd "$(dirname "$0")/.."
EXE=${ESBENCH:-target/release/esbench}
WINDOW=${WINDOW:-4}
ROUNDS=${ROUNDS:-2}
SPECS=${SPECS:-threads rayon tokio tokio-current async-std smol smol:futures-lite coop coop-v2 coop-fastio}
BEFORE=${BEFORE:-}
# The classroom scenario's event streams, as the driver's CPU floor uses them.
FLOOR_ARGS=(--frames-per-s 40 --requests-per-s 30.3 --ticks-per-s 40)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
[[ -x $EXE ]] || { echo "no $EXE: run cargo build --release first" >&2; exit 2; }
if [[ -z ${ONLY_RUNS:-} ]]; then
for round in $(seq 1 "$ROUNDS"); do
  for spec in $SPECS; do
    model=${spec%%:*}
    label=$model
    variant=()
    if [[ $spec == *:* ]]; then
      label="$model-${spec#*:}"
      variant=(--smol-block-on "${spec#*:}")
    fi
    "$EXE" profile --model "$model" "${variant[@]}" --label "$label" --window "$WINDOW" \
      --warmup 1 --no-perf --out "$OUT/r$round" >/dev/null 2>"$OUT/err" || {
      cat "$OUT/err" >&2; exit 1; }
  done
  if [[ -n $BEFORE ]]; then
    "$BEFORE" profile --model coop --label coop-before --window "$WINDOW" --warmup 1 \
      --no-perf --out "$OUT/r$round" >/dev/null 2>"$OUT/err" || { cat "$OUT/err" >&2; exit 1; }
  fi
  # The CPU floor's process, profiled like a model (by pid: it handles no events itself),
  # without the strace pass (attaching interrupts its epoll_wait, which it treats as fatal);
  # its syscalls are counted by running it under `strace -c` instead.
  "$EXE" floor-child "${FLOOR_ARGS[@]}" --seconds $((WINDOW + 3)) --timer-slack-ns 50000 \
    >/dev/null 2>&1 &
  floor=$!
  sleep 1
  "$EXE" profile --pid "$floor" --label floor --window "$WINDOW" --no-perf --no-strace \
    --out "$OUT/r$round" >/dev/null 2>"$OUT/err" || { cat "$OUT/err" >&2; exit 1; }
  wait "$floor" || true
  strace -f -c -o "$OUT/r$round/floor-strace.txt" "$EXE" floor-child "${FLOOR_ARGS[@]}" \
    --seconds "$WINDOW" --timer-slack-ns 50000 >"$OUT/r$round/floor-child.json" 2>"$OUT/err" || {
    cat "$OUT/err" >&2; exit 1; }
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
print(f"Measured by `scripts/model-costs.sh` on `{os.uname().nodename}`, the project's 2-core VM "
      f"(`uptime` at the end: {load.strip()}); classroom scenario, {rounds} "
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
  "$EXE" run --quick --duration "${DURATION:-8}" --models smol --smol-block-on "$v" \
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

# coop's section: counts per event beside threads and the floor, before/after.
COOP_LOAD=$(uptime)
python3 - "$OUT" "$ROUNDS" "$WINDOW" "${BEFORE:+coop-before}" "$COOP_LOAD" "${FLOOR_ARGS[*]}" <<'PY' | scripts/splice-generated.py docs/coop.md coop-costs
import json, sys
out, rounds, window, before, load, floor_args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6].split()
rate = dict(zip([a.lstrip("-") for a in floor_args[::2]], map(float, floor_args[1::2])))
floor_events = rate["frames-per-s"] + rate["requests-per-s"]
def rng(vals, fmt):
    lo, hi = min(vals), max(vals)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"
labels = ["floor", "threads"] + ([before] if before else []) + ["coop", "coop-v2", "coop-fastio"]
names = {"floor": "CPU floor (`floor-child`)", "coop-before": "coop, before (older build)"}
print(f"Measured by `scripts/model-costs.sh` (`uptime` at the end: {load.strip()}); classroom "
      f"scenario, {rounds} profiles of {window} s per row, ranges over the profiles. The floor's "
      f"process handles no events: its per-event figures divide by the scenario's "
      f"{floor_events:g} events a second, and its syscalls are `strace -c` of a whole "
      f"{window} s run of it (start-up included). CPU µs per wake-up = CPU time ÷ wake-ups.\n")
print("| row | wake-ups/s | wake-ups per event | syscalls per event | syscalls per event, by kind | CPU % | CPU µs per event | CPU µs per wake-up |")
print("|---|---:|---:|---:|---|---:|---:|---:|")
for lab in labels:
    ps = [json.load(open(f"{out}/r{r}/profile-{lab}.json")) for r in range(1, rounds + 1)]
    wk = [p["threads"]["total"]["wakeups_per_s"] for p in ps]
    cpu = [p["threads"]["total"]["cpu_percent"] for p in ps]
    if lab == "floor":
        wpe = [w / floor_events for w in wk]
        cpe = [c * 1e4 / floor_events for c in cpu]
        # `strace -c` of a whole floor-child run (start-up included) of `window` s.
        for p, r in zip(ps, range(1, rounds + 1)):
            rows = []
            for line in open(f"{out}/r{r}/floor-strace.txt"):
                f = line.split()
                if len(f) >= 5 and f[-1] != "total" and f[3].isdigit():
                    rows.append({"syscall": f[-1], "calls": int(f[3])})
            secs = json.load(open(f"{out}/r{r}/floor-child.json"))["seconds"]
            p["syscalls"] = {"rows": rows, "window_s": secs,
                             "calls_per_s": sum(x["calls"] for x in rows) / secs}
        spe = [p["syscalls"]["calls_per_s"] / floor_events for p in ps]
        per = lambda r, p: r["calls"] / p["syscalls"]["window_s"] / floor_events
    else:
        wpe = [p["wakeups_per_event"] for p in ps]
        spe = [p["syscalls"]["calls_per_event"] for p in ps]
        cpe = [p["cpu_us_per_event"] for p in ps]
        per = lambda r, p: r["per_event"]
    cpw = [c * 1e4 / w for c, w in zip(cpu, wk)]
    kinds = {}
    for p in ps:
        for r in p["syscalls"]["rows"]:
            kinds.setdefault(r["syscall"], []).append(per(r, p))
    kcell = ", ".join(f"{k} {rng(v, '{:.2f}')}" for k, v in
                      sorted(kinds.items(), key=lambda kv: -max(kv[1])) if max(v) >= 0.01)
    print(f"| {names.get(lab, lab)} | {rng(wk, '{:.0f}')} | {rng(wpe, '{:.2f}')} | "
          f"{rng(spe, '{:.2f}')} | {kcell} | {rng(cpu, '{:.2f}')} | {rng(cpe, '{:.0f}')} | "
          f"{rng(cpw, '{:.0f}')} |")
PY
# The poll policies where they matter: a blocking handler, and 16 boards.
for sc in blocking-call lab; do
  "$EXE" run "scenarios/$sc.toml" --quick --models coop,coop-v2,coop-fastio --no-history \
    --no-report --out "$OUT/run-$sc" >/dev/null 2>"$OUT/err" || { cat "$OUT/err" >&2; exit 1; }
done
python3 - "$OUT" "$(uptime)" <<'PY' | scripts/splice-generated.py docs/coop.md coop-variants
import json, sys
out, load = sys.argv[1], sys.argv[2]
print(f"`esbench run --quick` per scenario, the three variants interleaved (`uptime` at the end: "
      f"{load.strip()}); µs; CPU/floor = model CPU ÷ the run's CPU floor:\n")
print("| scenario | model | io_poll_every | CPU % | CPU/floor | poll p50 | poll p99 | watchdog p50 | watchdog p99 | timer p50 beside it | run-queue max | epoll checks (zero / blocking) |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for sc in ["blocking-call", "lab"]:
    r = json.load(open(f"{out}/run-{sc}/results.json"))
    for m in r["models"]:
        rt = m.get("runtime") or {}
        fm = m["cpu"].get("floor_multiple")
        p, w, t = m["poll_latency"], m["watchdog_lateness"], m["timer_floor"]
        print(f"| {sc} | {m['name']} | {rt.get('io_poll_every', '-')} | {m['cpu']['percent']:.2f} | "
              f"{'%.2f' % fm if fm else '-'} | {p['p50']} | {p['p99']} | {w['p50']} | {w['p99']} | "
              f"{t['p50']} | {rt.get('run_queue_max', '-')} | "
              f"{rt.get('epoll_calls_zero', '-')} / {rt.get('epoll_calls_blocking', '-')} |")
PY
fi  # ONLY_RUNS
# RUNS=N: N default-length runs of threads and the coop variants back to back (about 3
# minutes each).
if [[ ${RUNS:-0} -gt 0 ]]; then
  for i in $(seq 1 "$RUNS"); do
    "$EXE" run --models threads,coop,coop-v2,coop-fastio --no-history --no-report \
      --out "$OUT/default-$i" >"$OUT/stdout-$i" 2>"$OUT/err" || { cat "$OUT/err" >&2; exit 1; }
    uptime >"$OUT/default-$i/uptime"
    mv "$OUT/stdout-$i" "$OUT/default-$i/stdout"
  done
  python3 - "$OUT"/default-* <<'PY' | scripts/splice-generated.py docs/coop.md coop-runs
import json, sys
print("Default-length `esbench run --models threads,coop,coop-v2,coop-fastio` (classroom, 20 s "
      "per model in interleaved rounds), back to back. Per event = over the events the model "
      "handled in its window (answered polls + frames + commands, as `metrics::costs` counts "
      "them; watchdog ticks are not events); *per event or tick* adds the watchdog ticks to "
      "the divisor. Wake-ups = voluntary context switches of the serve process; syscalls = "
      "`syscr` + `syscw` of `/proc/PID/io` (the read and write families only: not "
      "`epoll_*`, `poll`, `recvfrom`/`sendto`, `clock_nanosleep`); wd/floor = watchdog "
      "lateness p50 ÷ the plain timer thread's beside it:\n")
print("| run | load at the end | model | CPU % | CPU/floor | CPU µs per event | wake-ups per event | wake-ups per event or tick | syscalls (read+write) per event | watchdog p50 µs | watchdog p99 µs | timer p50 / p99 beside it | wd/floor |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
for n, d in enumerate(sys.argv[1:], 1):
    r = json.load(open(f"{d}/results.json"))
    load = open(f"{d}/uptime").read().split("load average:")[-1].strip()
    for m in r["models"]:
        c = m["cpu"]
        ev = sum(m[k]["count"] for k in ("poll_answered", "ingest_latency", "command_latency"))
        w, t = m["watchdog_lateness"], m["timer_floor"]
        fm = c.get("floor_multiple")
        sc = (c.get("syscalls_read") or 0) + (c.get("syscalls_write") or 0)
        print(f"| {n} | {load} | {m['name']} | {c['percent']:.3f} | {'%.2f' % fm if fm else '-'} | "
              f"{(c['user_s'] + c['sys_s']) / ev * 1e6:.1f} | {c['vcsw'] / ev:.2f} | "
              f"{c['vcsw'] / (ev + w['count']):.2f} | {sc / ev:.2f} | "
              f"{w['p50']} | {w['p99']} | {t['p50']} / {t['p99']} | "
              f"{w['p50'] / t['p50'] if t['p50'] else float('nan'):.2f} |")
print("\nThe harness's verdict on CPU, per run:\n")
for n, d in enumerate(sys.argv[1:], 1):
    for l in open(f"{d}/stdout"):
        if l.strip().startswith("Cheapest in CPU"):
            print(f"- run {n}: {l.strip()}")
PY
fi
echo "docs/model-costs.md and docs/coop.md updated" >&2
