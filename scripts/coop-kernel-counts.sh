#!/usr/bin/env bash
# Kernel work per handled event of the serve process, counted by tracepoints (`perf stat -p`,
# which counts what happens in the process's own context): hrtimers started and cancelled,
# MSR writes (on a KVM guest a reprogramming of the timer device or an x2APIC IPI is a write
# to an MSR, a VM exit), IPIs sent, CPU migrations and context switches, beside the CPU per
# handled event that `esbench profile` measured over the same run. Rows: threads and coop of
# this build, and coop of an older build when BEFORE names its executable. Alternating
# ROUNDS rounds of WINDOW s per row; median (range) over the rounds. Writes docs/coop.md's
# block "coop-kernel-counts". About 40 s per row and round.
#
#   scripts/coop-kernel-counts.sh                         # target/release/esbench
#   BEFORE=/path/to/old/esbench scripts/coop-kernel-counts.sh
#   ROUNDS=3 WINDOW=20 scripts/coop-kernel-counts.sh
#
# Needs perf with tracepoints readable (root, or kernel.perf_event_paranoid ≤ -1). The
# counts hold still; the CPU moves with the machine's load (the header records it).
set -euo pipefail
cd "$(dirname "$0")/.."
EXE=${ESBENCH:-target/release/esbench}
BEFORE=${BEFORE:-}
ROUNDS=${ROUNDS:-2}
WINDOW=${WINDOW:-15}
EVENTS=task-clock,context-switches,cpu-migrations,timer:hrtimer_start,timer:hrtimer_cancel,msr:write_msr,ipi:ipi_send_cpu
[[ -x $EXE ]] || { echo "no $EXE: run cargo build --release first" >&2; exit 2; }
command -v perf >/dev/null || { echo "perf is needed (linux-tools)" >&2; exit 2; }
perf stat -e timer:hrtimer_start,msr:write_msr true >/dev/null 2>&1 || {
  echo "perf cannot count the timer/msr tracepoints here (permissions or kernel config)" >&2; exit 2; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# one EXE LABEL MODEL N: a profile run of MODEL, with perf counting its serve child
one() {
  local exe=$1 label=$2 model=$3 n=$4 prof pid=""
  "$exe" profile --model "$model" --label "$label" --window $((WINDOW + 4)) --warmup 2 \
    --no-strace --no-perf --out "$OUT/$label-$n" >"$OUT/$label-$n.txt" 2>&1 & prof=$!
  for _ in $(seq 1 40); do
    pid=$(pgrep -P "$prof" -f "serve --model $model" | head -1 || true)
    [[ -n $pid ]] && break
    sleep 0.25
  done
  [[ -n $pid ]] || { cat "$OUT/$label-$n.txt" >&2; echo "no serve child of the profile" >&2; exit 1; }
  sleep 2.5 # the profile's warm-up
  perf stat -x, -e "$EVENTS" -p "$pid" -- sleep "$WINDOW" 2>"$OUT/$label-$n.csv" >/dev/null
  wait "$prof" || { cat "$OUT/$label-$n.txt" >&2; exit 1; }
}
for n in $(seq 1 "$ROUNDS"); do
  one "$EXE" threads threads "$n"
  one "$EXE" coop coop "$n"
  [[ -z $BEFORE ]] || one "$BEFORE" coop-before coop "$n"
done
python3 - "$OUT" "$ROUNDS" "$WINDOW" "$(uptime)" "$BEFORE" <<'PY' | scripts/splice-generated.py docs/coop.md coop-kernel-counts
import glob, json, statistics, sys
out, rounds, window, load, before = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
cols = [("task-clock", "CPU µs (perf)", 1000.0), ("timer:hrtimer_start", "hrtimer starts", 1),
        ("timer:hrtimer_cancel", "hrtimer cancels", 1), ("msr:write_msr", "MSR writes", 1),
        ("ipi:ipi_send_cpu", "IPIs sent", 1), ("cpu-migrations", "CPU migrations", 1),
        ("context-switches", "context switches", 1)]
def fmt(xs, digits):
    m = statistics.median(xs)
    f = f"{{:.{digits}f}}"
    return f.format(m) if max(xs) - min(xs) < 10 ** -digits else f"{f.format(m)} ({f.format(min(xs))}–{f.format(max(xs))})"
print(f"Measured by `scripts/coop-kernel-counts.sh` (`uptime` at the end: {load.split('up')[0].strip()}, "
      f"load average: {load.split('load average:')[-1].strip()}): classroom scenario under `esbench "
      f"profile`, {rounds} alternating rounds of {window:.0f} s per row, median (range) over the rounds. "
      "Per handled event (the profile's events per second × the window); CPU µs (perf) is perf's "
      "task-clock of the serve process, CPU µs (profile) the profile's own figure over its "
      "window. Tracepoints count what ran in the process's context (a wake-up's cost paid by the "
      "waker is not here).\n")
rows = [("threads", "threads"), ("coop", "coop")] + ([("coop-before", "coop, before (older build)")] if before else [])
print("| row | CPU µs (profile) | " + " | ".join(c[1] for c in cols) + " |")
print("|---|---:|" + "---:|" * len(cols))
for label, name in rows:
    per = {c[0]: [] for c in cols}
    prof_cpu = []
    for n in range(1, rounds + 1):
        p = json.load(open(glob.glob(f"{out}/{label}-{n}/profile-*.json")[0]))
        rate = sum(p["events"].values()) / p["window_s"]
        prof_cpu.append(p["cpu_us_per_event"])
        for line in open(f"{out}/{label}-{n}.csv"):
            f = line.strip().split(",")
            if len(f) > 2 and f[2] in per and f[0] not in ("<not counted>", "<not supported>", ""):
                scale = next(c[2] for c in cols if c[0] == f[2])
                per[f[2]].append(float(f[0]) * scale / (rate * window))
    cells = [fmt(per[c[0]], 1 if c[0] == "task-clock" else 2) if per[c[0]] else "–" for c in cols]
    print(f"| {name} | {fmt(prof_cpu, 1)} | " + " | ".join(cells) + " |")
PY
echo "docs/coop.md updated (coop-kernel-counts)" >&2
