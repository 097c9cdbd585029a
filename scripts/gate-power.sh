#!/usr/bin/env bash
# Measures the CI gate on this machine: how often `esbench check` (normal and --gross) calls
# a regression between two runs of the same build (false alarms), and how often it catches
# each injected fault (power). Prints the table and, with --docs, puts it in docs/ci-gate.md.
#
#   scripts/gate-power.sh --k 20 --docs docs/ci-gate.md   # the published table (~20 min)
#   scripts/gate-power.sh --k 2 --only-aa                 # a smoke test of the A/A path
#   scripts/gate-power.sh --paired --k 20 --docs docs/ci-gate.md   # the paired gate (~2 h)
#   scripts/gate-power.sh --paired --k 3 --duration 6             # a trial of the paired mode
#
# Paired mode (--paired): every pair is ONE paired run (`esbench run --against`) of threads,
# side A and side B both served by this build, --rounds R of --duration S seconds per side.
# A/A: nothing injected (false alarms). Then +10 %, +20 %, +50 % CPU per frame on side B only
# (`--inject-b frame-cpu=17us|35us|85us`, the sizes of the table below for threads here; the
# table shows the ratio each one really made). Judged by `esbench check --paired` in both
# modes (`esbench check --power-paired DIR`); the table also gives the per-round CPU ratio's
# standard deviation, the noise a round of that length leaves. Its own markers in --docs:
# the block `generated: gate-power-paired`.
#
# One model (threads), --quick runs of scripts/gate-power.toml (classroom with a command
# every 200 ms, so that one lost command in ten can happen in a 4 s window). Per row K pairs,
# one run per side: 2K unchanged runs make the K A/A pairs, and the k-th run of each fault
# is judged against the k-th unchanged run (its own baseline run; rows share baselines). The
# runs are interleaved (A, A, then one run of each fault, K times over), so a machine that
# drifts during the experiment drifts under every row alike.
#
# Faults (`esbench run --inject`, see docs/ci-gate.md); the table shows the CPU change each
# one really made:
#   frame-cpu=85us    +50 % CPU per frame for threads here (0.69 % of a core at 40 frames/s
#                     is ~170 µs a frame)
#   frame-cpu=35us    +20 % CPU per frame (what the normal bands aim to catch)
#   timer-late=1ms    the watchdog's timer sleeps 1 ms past each deadline
#   freeze=1.5s@1s    the model SIGSTOPped 1 s into the window, for 1.5 s (Ctrl-Z)
#   fail-poll=5%      one /poll in twenty answered with 500
#   drop-command=10   one command in ten answered but never written to the board
#
# Options:
#   --k N           pairs per row (default 20)
#   --out DIR       keep the runs and the table here (default: target/gate-power)
#   --docs FILE     replace the table between the gate-power markers in FILE
#   --only-aa       only the A/A row (needs no --inject support)
#   --rejudge       make no runs: judge the runs already in --out again (after a change of
#                   thresholds or rules) and write the table
#   --thresholds F  noise bands laid over scripts/thresholds.toml
#   --no-build      use the existing target/release/esbench;  --bin PATH  use this binary
#   --paired        the paired mode (above);  --duration S  seconds per side (default 12);
#   --rounds R      rounds per paired run (default 24: the noise is per child, so rounds,
#                   not seconds, narrow the interval; docs/ci-gate.md)
#   --warmup-full   the scenario's warm-up spread over the rounds (0.5 s each at least)
#                   instead of --quick's 0.3 s per round
#   --burns A,B,C   the paired rows' per-frame burns in µs (default 10,20,50)
#   --faults LIST   only these injected rows (comma-separated specs), beside the A/A row
#   --markers NAME  with --docs: the block `BEGIN generated: NAME` instead of the default
#                   (gate-power, or gate-power-paired with --paired)
set -euo pipefail
cd "$(dirname "$0")/.."

k=20; out=target/gate-power; docs=""; only_aa=0; thresholds=(); build=1; rejudge=0
bin=target/release/esbench; scenario=scripts/gate-power.toml; model=threads
faults=("frame-cpu=85us" "frame-cpu=35us" "timer-late=1ms" "freeze=1.5s@1s" "fail-poll=5%"
        "drop-command=10")
paired=0; duration=12; rounds=24; quick=(--quick)
# The per-frame CPU burns of the paired rows: about +10 %, +20 %, +50 % of threads' CPU per
# frame on the 2-core VM under the load it runs at (0.37-0.57 % of a core at 40 frames/s is
# 90-140 µs a frame; the table shows the ratio each one really made).
cpu10=10; cpu20=20; cpu50=50; only_faults=(); markers=""
while [ $# -gt 0 ]; do
  case "$1" in
    --k) k="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --docs) docs="$2"; shift 2 ;;
    --only-aa) only_aa=1; shift ;;
    --rejudge) rejudge=1; shift ;;
    --thresholds) thresholds=(--thresholds "$2"); shift 2 ;;
    --no-build) build=0; shift ;;
    --bin) bin="$2"; build=0; shift 2 ;;
    --paired) paired=1; shift ;;
    --duration) duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --warmup-full) quick=(); shift ;;
    --burns) IFS=, read -r cpu10 cpu20 cpu50 <<< "$2"; shift 2 ;;
    --faults) IFS=, read -r -a only_faults <<< "$2"; shift 2 ;;
    --markers) markers="$2"; shift 2 ;;
    -h|--help) sed -n '2,53p' "$0"; exit 0 ;;
    *) echo "gate-power: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$k" in ''|*[!0-9]*|0) echo "gate-power: --k needs a positive number" >&2; exit 2 ;; esac
[ "$paired" = 1 ] && faults=("frame-cpu=${cpu10}us" "frame-cpu=${cpu20}us" "frame-cpu=${cpu50}us")
[ ${#only_faults[@]} -gt 0 ] && faults=("${only_faults[@]}")
[ "$only_aa" = 1 ] && faults=()

if [ "$build" = 1 ]; then
  cargo build --release --locked --quiet
fi
[ -x "$bin" ] || { echo "gate-power: $bin is not an executable" >&2; exit 2; }
if [ "$rejudge" = 1 ]; then
  [ -d "$out/a-a" ] || { echo "gate-power: --rejudge needs the runs of an earlier run in $out" >&2; exit 2; }
  k=$(( $(find "$out/a-a" -name '*.json' | wc -l) / (2 - paired) ))
  faults=()
fi
if [ "$paired" = 1 ] && ! "$bin" run --help | grep -q -- '--against'; then
  echo "gate-power: $bin has no \`run --against\` (paired runs)" >&2; exit 2
fi
if [ ${#faults[@]} -gt 0 ] && ! "$bin" run --help | grep -q -- '--inject'; then
  echo "gate-power: $bin has no \`run --inject\` (the fault-injection interface);" \
       "--only-aa measures the false alarms alone" >&2
  exit 2
fi

# A fault's directory name: the spec itself (`freeze=1.5s@1s`), which the table shows.
label() { echo "$1"; }

if [ "$rejudge" = 0 ]; then
  rm -rf "$out"; mkdir -p "$out/a-a"
  for f in "${faults[@]}"; do mkdir -p "$out/$(label "$f")"; done
fi

# One quick run into $out/$1/$2.json; any further arguments go to `esbench run`.
one() {
  local group="$1" name="$2"; shift 2
  local tmp="$out/.run"
  rm -rf "$tmp"
  if ! "$bin" run "$scenario" --quick --models "$model" --out "$tmp" --no-history --no-report \
      "$@" > "$out/.log" 2>&1; then
    echo "gate-power: $group run $name exited with an error (a failed model is judged):" >&2
    tail -3 "$out/.log" >&2
  fi
  [ -f "$tmp/results.json" ] || { echo "gate-power: $group run $name wrote no results" >&2; \
    cat "$out/.log" >&2; exit 2; }
  mv "$tmp/results.json" "$out/$group/$name.json"
}

# One paired run (side A and side B both this build) into $out/$1/$2.json.
one_paired() {
  local group="$1" name="$2"; shift 2
  local tmp="$out/.run"
  rm -rf "$tmp"
  if ! "$bin" run "$scenario" --models "$model" --against "$bin" --rounds "$rounds" \
      --duration "$duration" "${quick[@]}" --out "$tmp" --no-history --no-report "$@" \
      > "$out/.log" 2>&1; then
    echo "gate-power: $group paired run $name exited with an error (judged anyway):" >&2
    tail -3 "$out/.log" >&2
  fi
  [ -f "$tmp/results.json" ] || { echo "gate-power: $group run $name wrote no results" >&2; \
    cat "$out/.log" >&2; exit 2; }
  mv "$tmp/results.json" "$out/$group/$name.json"
  # The machine's load while it ran: the table states the range (a paired run cancels load
  # between its sides, not within a round).
  echo "$group/$name $(cut -d' ' -f1 /proc/loadavg)" >> "$out/load.txt"
}

start=$(date +%s)
if [ "$paired" = 1 ]; then
  [ "$rejudge" = 1 ] || for i in $(seq 1 "$k"); do
    n=$(printf '%03d' "$i")
    echo "== paired pair $i/$k ($(( $(date +%s) - start )) s)" >&2
    one_paired a-a "$n"
    for f in "${faults[@]}"; do one_paired "$(label "$f")" "$n" --inject-b "$f"; done
  done
  rm -rf "$out/.run" "$out/.log"
  "$bin" check --power-paired "$out" "${thresholds[@]}" --output "$out/table.md"
  name=gate-power-paired
  cmd="scripts/gate-power.sh --paired --k $k --duration $duration --rounds $rounds"
  [ ${#quick[@]} -eq 0 ] && cmd+=" --warmup-full"
  if [ ${#only_faults[@]} -gt 0 ]; then cmd+=" --faults $(IFS=,; echo "${only_faults[*]}")"
  else cmd+=" --burns $cpu10,$cpu20,$cpu50"; fi
else
  name=gate-power
  cmd="scripts/gate-power.sh --k $k"
fi
[ "$paired" = 1 ] || [ "$rejudge" = 1 ] || for i in $(seq 1 "$k"); do
  n=$(printf '%03d' "$i")
  echo "== pair $i/$k ($(( $(date +%s) - start )) s)" >&2
  one a-a "$n-1"
  one a-a "$n-2"
  for f in "${faults[@]}"; do one "$(label "$f")" "$n" --inject "$f"; done
done
rm -rf "$out/.run" "$out/.log"

# The A/A pairs are (001-1, 001-2), (002-1, 002-2), ...; fault run 00k is judged against
# 00k-1, made just before it (`esbench check --power` pairs the sorted files that way).
[ "$paired" = 1 ] || "$bin" check --power "$out" "${thresholds[@]}" --output "$out/table.md"

[ -n "$markers" ] && name="$markers"
if [ -n "$docs" ]; then
  { echo "<!-- made by $cmd on $(date -u +%Y-%m-%d); do not edit by hand -->"; echo
    cat "$out/table.md"; } | scripts/splice-generated.py "$docs" "$name"
  echo "gate-power: table written into $docs" >&2
fi
echo "gate-power: runs and table in $out ($(( $(date +%s) - start )) s)" >&2
