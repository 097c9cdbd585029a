#!/usr/bin/env bash
# Old vs new load driver: runs, for each driver (`threads`: a thread per board and per client
# connection; `events`: a few event loops), short `--quick` sweeps of one cheap model over the
# number of boards, and prints a markdown table of what the driver itself cost: its CPU per
# 1,000 polls/s, its send error (p50, p99, with the sample count) and its thread count.
#
#   scripts/driver-scale.sh                                   # 16, 256, 1024 boards (~5 min)
#   scripts/driver-scale.sh --boards 16,64 --no-build         # a quick look
#   scripts/driver-scale.sh --docs docs/instrument.md         # the published table
#
# The figures are from whatever machine this runs on, loaded or not: the table says which
# machine and when. A point whose run failed shows its status instead of figures.
#
# Options:
#   --boards LIST   boards.count values (default 16,256,1024)
#   --model M       the model under test (default coop)
#   --drivers LIST  drivers to compare (default threads,events)
#   --out DIR       keep the sweeps here (default target/driver-scale)
#   --docs FILE     also replace the driver-scale block of FILE with the table
#   --no-build      use the existing target/release/esbench;  --bin PATH  use this binary
set -euo pipefail
cd "$(dirname "$0")/.."

boards=16,256,1024; model=coop; drivers=threads,events; out=target/driver-scale; docs=""
bin=target/release/esbench; build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --boards) boards="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --drivers) drivers="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --docs) docs="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --bin) bin="$2"; build=0; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "driver-scale: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$build" = 1 ]; then
  cargo build --release --locked --quiet
fi
[ -x "$bin" ] || { echo "driver-scale: no binary at $bin" >&2; exit 2; }

mkdir -p "$out"
IFS=, read -r -a driver_list <<< "$drivers"
IFS=, read -r -a board_list <<< "$boards"
# One board count at a time, both drivers back to back, so the two rows of a board count
# meet the same machine (a 1,024-board run leaves a loaded machine behind it for a while).
for b in "${board_list[@]}"; do
  for d in "${driver_list[@]}"; do
    rm -rf "${out:?}/$d-$b"
    echo "driver-scale: $d driver, boards.count=$b, model $model" >&2
    # A failed point is recorded in sweep.json and shown in the table; the script goes on.
    "$bin" sweep --set "boards.count=$b" --quick --models "$model" --driver "$d" \
      --no-point-reports --out "$out/$d-$b" >&2 || true
  done
done

table=$(python3 - "$out" "$boards" "${driver_list[@]}" <<'PY'
import json, os, sys, platform, datetime

out, boards, drivers = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
rows, machine = [], None
for d in drivers:
    for b in boards:
        sweep = os.path.join(out, f"{d}-{b}", "sweep.json")
        if not os.path.exists(sweep):
            rows.append((d, b, None, f"no sweep.json (the {d} sweep did not start)"))
            continue
        for p in json.load(open(sweep)).get("points", []):
            rel = p.get("results")
            path = os.path.join(out, f"{d}-{b}", rel) if rel else None
            if not path or not os.path.exists(path):
                rows.append((d, p.get("value"), None, p.get("status") or "no results"))
                continue
            r = json.load(open(path))
            machine = machine or r.get("machine", {})
            rows.append((d, p.get("value"), r, None))

def fmt_us(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us} µs"

print("| driver | boards | polls/s | driver CPU % | CPU % per 1,000 polls/s | send error p50 / p99 (n) | driver threads | row |")
print("|---|---:|---:|---:|---:|---|---:|---|")
for d, boards, r, why in rows:
    if r is None:
        print(f"| {d} | {boards} | | | | | | {why} |")
        continue
    m = r["models"][0]
    h = m.get("driver", {})
    window = r["scenario"]["duration_s"] or 1.0
    polls = m["counters"].get("polls_sent", 0) / window
    cpu = h.get("cpu_percent", 0.0)
    per_k = f"{cpu / (polls / 1000):.2f}" if polls > 0 else "-"
    s = h.get("send_error", {})
    n = s.get("count", 0)
    # A p99 is shown only with enough samples beyond it (100); otherwise the max stands in.
    p99 = fmt_us(s.get("p99", 0)) if n >= 100 else f"max {fmt_us(s.get('max', 0))}"
    status = m["status"] if m["status"] == "ok" else m["status"][:60]
    if h.get("limited"):
        status += " (driver-limited)"
    print(f"| {h.get('driver') or d} | {boards} | {polls:,.0f} | {cpu:.1f} | {per_k} | "
          f"{fmt_us(s.get('p50', 0))} / {p99} ({n:,}) | {h.get('threads', 0)} | {status} |")
if machine:
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print()
    print(f"Measured {when} by `scripts/driver-scale.sh` on {machine.get('cpu_model', '?')} "
          f"({machine.get('logical_cores', '?')} logical cores), one `--quick` run per row "
          f"(4 s window), the two drivers' rows of a board count back to back; load average "
          f"at the end {os.getloadavg()[0]:.1f}.")
PY
)
echo "$table"
if [ -n "$docs" ]; then
  echo "$table" | scripts/splice-generated.py "$docs" driver-scale
  echo "driver-scale: table written into $docs" >&2
fi
