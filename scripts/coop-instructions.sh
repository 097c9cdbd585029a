#!/usr/bin/env bash
# User-space instructions per handled event of `esbench serve` (callgrind's Ir, a count that
# does not move with the machine's load), for coop and threads, with where coop's go: the
# bridge's own work, which every model does, against the scheduler's. Writes the table into
# docs/coop.md (block "coop-instructions"). About 1 minute per row.
#
#   scripts/coop-instructions.sh                          # target/release/esbench
#   BEFORE=/path/to/old/esbench scripts/coop-instructions.sh   # adds the older build's rows
#   REPEAT=3 WINDOW=10 MODELS="coop threads" scripts/coop-instructions.sh
#   KEEP=/tmp/cg scripts/coop-instructions.sh   # keeps the callgrind dumps there (for
#                                               # callgrind_annotate --inclusive=yes etc.)
#
# Load: one virtual board (`esbench device`, 40 frames a second) and a Python client polling
# `/poll` at 30.3 Hz on a keep-alive connection plus one `/leds` command a second on another:
# the classroom scenario's rates. Instrumentation is switched on (`callgrind_control -i on`)
# after a 3 s warm-up and dumped after WINDOW s. Frames in the window are taken as 40 a second.
# coop runs its default timer backend here, the timerfd (one `timerfd_settime` per tick: about
# 30 instructions of user space each); valgrind 3.19 does not know `epoll_pwait2`, so a build
# whose default was `epoll_pwait2` (before issue 32's fourth pass) fell back to it too.
set -euo pipefail
cd "$(dirname "$0")/.."
EXE=${ESBENCH:-target/release/esbench}
BEFORE=${BEFORE:-}
REPEAT=${REPEAT:-2}
WINDOW=${WINDOW:-10}
MODELS=${MODELS:-coop threads}
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || {
  echo "valgrind (callgrind) is needed: apt-get install valgrind" >&2; exit 2; }
[[ -x $EXE ]] || { echo "no $EXE: run cargo build --release first" >&2; exit 2; }
OUT=$(mktemp -d)
KEEP=${KEEP:-}
if [[ -n $KEEP ]]; then mkdir -p "$KEEP"; trap 'cp "$OUT"/*.out* "$OUT"/*.cg "$OUT"/*.counts "$KEEP"/ 2>/dev/null; rm -rf "$OUT"' EXIT
else trap 'rm -rf "$OUT"' EXIT; fi
cat >"$OUT/client.py" <<'PY'
import http.client, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
p = http.client.HTTPConnection("127.0.0.1", port)
c = http.client.HTTPConnection("127.0.0.1", port)
polls = cmds = 0
t0 = time.monotonic(); nxt = t0; nc = t0 + 0.5; v = 0
while time.monotonic() - t0 < secs:
    if time.monotonic() >= nc:
        c.request("GET", f"/leds/Red/{v}"); c.getresponse().read(); cmds += 1; v = 100 - v; nc += 1.0
    p.request("GET", "/poll"); p.getresponse().read(); polls += 1
    nxt += 1 / 30.3
    time.sleep(max(0.0, nxt - time.monotonic()))
print(polls, cmds)
PY
# one EXE LABEL MODEL N: one callgrind window; writes $OUT/LABEL-MODEL-N.{cg,counts}
one() {
  local exe=$1 label=$2 model=$3 n=$4 port=$((20000 + RANDOM % 20000)) dev srv
  local tag="$label-$model-$n"
  "$exe" device --link "$OUT/esp-$tag" --duration 120s >/dev/null 2>&1 & dev=$!
  sleep 1
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/$tag.out" \
    "$exe" serve --model "$model" --serial "$OUT/esp-$tag" --listen "127.0.0.1:$port" \
    >/dev/null 2>"$OUT/$tag.err" & srv=$!
  for _ in $(seq 1 120); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
    sleep 0.5
  done
  python3 "$OUT/client.py" "$port" 3 >/dev/null
  callgrind_control -i on "$srv" >/dev/null 2>&1
  python3 "$OUT/client.py" "$port" "$WINDOW" >"$OUT/$tag.counts"
  callgrind_control -d "$srv" >/dev/null 2>&1
  kill -TERM "$srv"; wait "$srv" 2>/dev/null || true
  kill "$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true
  callgrind_annotate --auto=no --threshold=100 --inclusive=no "$OUT/$tag.out.1" >"$OUT/$tag.cg"
}
for n in $(seq 1 "$REPEAT"); do
  for model in $MODELS; do
    [[ -n $BEFORE ]] && one "$BEFORE" before "$model" "$n"
    one "$EXE" after "$model" "$n"
  done
done
python3 - "$OUT" "$REPEAT" "$WINDOW" "$MODELS" "${BEFORE:+before}" "$(uptime)" <<'PY' | scripts/splice-generated.py docs/coop.md coop-instructions
import collections, re, sys
out, repeat, window, models, before, load = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split(), sys.argv[5], sys.argv[6]
KINDS = ["coop's own functions (loop, wakes, I/O futures, timers, statistics)",
         "timer heap (BinaryHeap)", "clock reads and Instant arithmetic", "HDR histograms",
         "malloc and free (glibc)", "the rest (the bridge's work, std, libc)"]
def kind(fn):
    if "BinaryHeap" in fn: return KINDS[1]
    if re.search(r"timespec|Instant|clock_gettime|coop::clock", fn, re.I): return KINDS[2]
    if "hdrhistogram" in fn: return KINDS[3]
    if "coop::" in fn and "TaskFuture" not in fn: return KINDS[0]
    if re.fullmatch(r"_?_?(int_)?(malloc|free|realloc)|unlink_chunk.*|malloc_consolidate",
                    fn.split(" [")[0]): return KINDS[4]
    return KINDS[5]
def read(tag):
    rows, total = [], 0
    for l in open(f"{out}/{tag}.cg"):
        m = re.match(r" *([0-9,]+) \(.*?\)  (.*)", l)
        if not m: continue
        n, s = int(m.group(1).replace(",", "")), m.group(2)
        if "PROGRAM TOTALS" in s: total = n; continue
        rows.append((n, s.split(":", 1)[-1]))
    polls, cmds = map(int, open(f"{out}/{tag}.counts").read().split())
    return total, rows, polls + cmds + 40 * window
def rng(v, f="{:,.0f}"):
    lo, hi = min(v), max(v)
    return f.format(lo) if f.format(lo) == f.format(hi) else f"{f.format(lo)}–{f.format(hi)}"
print(f"Measured by `scripts/coop-instructions.sh` (`uptime` at the end: {load.strip()}): "
      f"callgrind's user-space instructions (Ir) of the serve process over {window:g} s of "
      f"classroom-like load, {repeat} windows per row, ranges over the windows; events = "
      f"polls + commands the client made + 40 frames a second. The last six columns split "
      f"the Ir per event by function (exclusive; code inlined into a function counts as "
      f"that function's, so a task's body inlined into coop's `TaskFuture::poll` is in "
      f"the rest): clock and histogram work is the bridge's as well as the scheduler's, "
      f"compare the columns between the models. Allocations are the bridge's (coop makes none per "
      f"event), and glibc's malloc moves by about ±80 instructions per event from window to "
      f"window with the state of its heap; frame decoding moves too, with how frames split "
      f"across reads.\n")
labels = ([("before", "coop, before (older build)")] if before else []) + [("after", "")]
print("| build | model | Ir per window | events per window | Ir per event | " + " | ".join(KINDS) + " |")
print("|---|---|---:|---:|---:|" + "---:|" * len(KINDS))
for lab, name in labels:
    for model in models:
        if lab == "before" and model != "coop": continue
        per, tots, evs, kinds = [], [], [], collections.defaultdict(list)
        for n in range(1, repeat + 1):
            total, rows, ev = read(f"{lab}-{model}-{n}")
            tots.append(total); evs.append(ev); per.append(total / ev)
            acc = collections.Counter()
            for ir, fn in rows: acc[kind(fn)] += ir
            for k in KINDS: kinds[k].append(acc[k] / ev)
        cells = " | ".join(rng(kinds[k]) if max(kinds[k]) > 0 else "–" for k in KINDS)
        print(f"| {'before' if lab == 'before' else 'this build'} | {model} | {rng(tots)} | "
              f"{rng(evs)} | {rng(per)} | {cells} |")
PY
echo "docs/coop.md updated (coop-instructions)" >&2
