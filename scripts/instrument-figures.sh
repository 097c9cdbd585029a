#!/usr/bin/env bash
# Measures the driver's own send error beside the plain-timer lateness of the same run, with
# and without --pin, before (plain sleeps: --send-spin-us 0) and after (the default
# spin margin), and the margin table of examples/pace_margin.rs; writes both tables into
# docs/instrument.md (between its "generated" markers). Takes about 3 minutes.
#
#   scripts/instrument-figures.sh            # uses target/release/esbench (cargo build --release)
#   MODELS=threads,smol DURATION=8 scripts/instrument-figures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EXE=${ESBENCH:-target/release/esbench}
MODELS=${MODELS:-threads,smol,tokio-current}
DURATION=${DURATION:-6}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
[[ -x $EXE ]] || { echo "no $EXE: run cargo build --release first" >&2; exit 2; }
for margin in 0 default; do
  for pin in "" --pin; do
    dir="$OUT/m$margin$pin"
    spin=()
    [[ $margin == default ]] || spin=(--send-spin-us "$margin")
    "$EXE" run --quick --duration "$DURATION" --models "$MODELS" $pin "${spin[@]}" \
      --no-history --no-report --out "$dir" >/dev/null 2>"$OUT/err" || {
      cat "$OUT/err" >&2; exit 1; }
  done
done
python3 - "$OUT" "$(uptime)" <<'PY' | scripts/splice-generated.py docs/instrument.md send-error
import json, sys, os
out, load = sys.argv[1], sys.argv[2]
print(f"Measured by `scripts/instrument-figures.sh` on `{os.uname().nodename}`, the 2-core VM "
      f"shared with other builds (`uptime` at the end: {load.strip()}). Classroom scenario, "
      "`--quick` with the duration shown; µs. *send* is the driver's send error on the model's "
      "requests (`driver.send_error`), *timer* the plain-timer probe running beside the model "
      "in the same window (`timer_floor`: clock_nanosleep, absolute deadline, 1 ns slack). "
      "*drv CPU* is the driver process, *model CPU* the model's child.\n")
print("| sends | pin | model | send p50 | send p99 | timer p50 | timer p99 | send p99 < timer p99 | drv CPU % | model CPU % | model csw/s | samples | driver-limited |")
print("|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|")
for margin in ["0", "default"]:
    for pin in ["", "--pin"]:
        r = json.load(open(f"{out}/m{margin}{pin}/results.json"))
        for m in r["models"]:
            d, t = m.get("driver", {}), m.get("timer_floor", {})
            s = d.get("send_error", {})
            win = m["counters"].get("cpu_window_ms", 0) / 1e3 or 1
            csw = (m["cpu"]["vcsw"] + m["cpu"]["ivcsw"]) / win
            kind = "plain sleep" if margin == "0" else f"spin {d.get('spin_margin_us', '?')} µs"
            below = "yes" if s.get("p99", 0) < t.get("p99", 0) else "no"
            print(f"| {kind} | {'yes' if pin else 'no'} | {m['name']} | {s.get('p50','-')} | "
                  f"{s.get('p99','-')} | {t.get('p50','-')} | {t.get('p99','-')} | {below} | "
                  f"{d.get('cpu_percent',0):.2f} | {m['cpu']['percent']:.2f} | {csw:.0f} | "
                  f"{s.get('count',0)} | {'yes' if d.get('limited') else 'no'} |")
PY
cargo run --quiet --locked --release --example pace_margin -- 24 33 0,50,100,200,400,1000 \
  | scripts/splice-generated.py docs/instrument.md margins
echo "docs/instrument.md updated" >&2
