#!/usr/bin/env bash
# The wd/floor < 1 experiment: is a model's watchdog "better than a plain timer" only because
# both run at the board's 25 ms frame period and wake at a lucky point of its schedule?
#
# Two settings, same models, quick runs:
#   on   — the classroom scenario: watchdog and reference timer at 25 ms, the frame period;
#          the reference starts at a random phase against the frames (one draw per model and
#          run, recorded), so N runs sample N phases;
#   off  — the watchdog (and the reference, which follows it) moved off the frame period to
#          23.7 ms, so both drift through every phase of the frame schedule during the window.
# Prints a Markdown table: per run and model, where the watchdog's and the reference's
# deadlines fell after a frame (median), their lateness p50 and the ratio.
#
#   scripts/floor-phase-experiment.sh                      # 3 runs on, 1 off; threads,rayon,smol
#   scripts/floor-phase-experiment.sh --runs 5 --models threads,rayon --bin target/debug/esbench
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3; models=threads,rayon,smol; bin=target/release/esbench; build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --bin) bin="$2"; build=0; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "floor-phase-experiment: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$build" = 1 ]; then cargo build --release --locked --quiet; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/esbench-phase.XXXXXX")
trap 'rm -rf "$work"' EXIT
sed 's/^watchdog_period_ms *=.*/watchdog_period_ms = 23.7/' scenarios/classroom.toml > "$work/off.toml"
grep -q '^watchdog_period_ms = 23.7' "$work/off.toml" || {
  # No explicit key in the scenario: add it to [workload] (created if missing).
  if grep -q '^\[workload\]' "$work/off.toml"; then
    sed -i 's/^\[workload\]/[workload]\nwatchdog_period_ms = 23.7/' "$work/off.toml"
  else
    printf '\n[workload]\nwatchdog_period_ms = 23.7\n' >> "$work/off.toml"
  fi
}

one() { # setting scenario index
  local out="$work/$1-$3"
  echo "== $1 run $3: $2" >&2
  "$bin" run "$2" --quick --models "$models" --out "$out" --no-history --no-report >/dev/null
  python3 - "$out/results.json" "$1" "$3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
period = None
for line in r["scenario"]["text"].splitlines():
    if line.strip().startswith("watchdog_period_ms"):
        period = line.split("=")[1].strip()
for m in r["models"]:
    wd, fl = m["watchdog_lateness"], m["timer_floor"]
    ratio = f"×{wd['p50'] / fl['p50']:.2f}" if fl["count"] and fl["p50"] else "-"
    def us(v):
        return "-" if v is None else f"{v / 1000:.1f} ms"
    print(f"| {sys.argv[2]} ({period or 25} ms) | {sys.argv[3]} | {m['name']} | "
          f"{us(m.get('watchdog_phase_us'))} | {us(m.get('timer_floor_phase_us'))} | "
          f"{wd['p50']} µs | {fl['p50']} µs | {ratio} | {wd['count']} / {fl['count']} |")
PY
}

echo "Made by \`scripts/floor-phase-experiment.sh --runs $runs --models $models\` with $("$bin" --version 2>/dev/null || echo esbench) on $(nproc) CPUs, $(date -u +%Y-%m-%d):"
echo
echo "| watchdog period | run | model | watchdog deadline after a frame (median) | reference deadline after a frame (median) | watchdog late p50 | reference late p50 | wd/floor | samples (wd / ref) |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
for i in $(seq 1 "$runs"); do one on scenarios/classroom.toml "$i"; done
one off "$work/off.toml" 1
