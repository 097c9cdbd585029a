#!/usr/bin/env bash
# Writes the figures table of docs/teaching.md from a results.json of `scenarios/esp4s.toml`
# (best with `esbench run scenarios/esp4s.toml --profile`, so the profiling columns are
# filled). Every figure comes from the file; nothing is typed in.
#
#   scripts/teaching-table.sh RESULTS.json              # print the table (Markdown)
#   scripts/teaching-table.sh RESULTS.json --write      # replace it in docs/teaching.md
#   scripts/teaching-table.sh RESULTS.json --write --doc other.md
#   scripts/teaching-table.sh RESULTS.json --compact    # four columns, for the README
#
# The table goes between the lines `<!-- teaching-table:start -->` and
# `<!-- teaching-table:end -->`; with --write the report's CPU-over-time plot of the same file
# is copied to teaching/esp4s-cpu-over-time.svg next to the doc. Needs jq, and an esbench
# binary (target/release/esbench, $ESBENCH or on PATH) for the headline and the plot.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,14p' "$0"; }
results=""; write=0; compact=0; doc=docs/teaching.md
while [ $# -gt 0 ]; do
  case "$1" in
    --write) write=1; shift ;;
    --compact) compact=1; shift ;;
    --doc) doc="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "teaching-table: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) [ -z "$results" ] || { echo "teaching-table: one results file only" >&2; exit 2; }
       results="$1"; shift ;;
  esac
done
[ -n "$results" ] || { usage >&2; exit 2; }
[ -d "$results" ] && results="$results/results.json"
[ -f "$results" ] || { echo "teaching-table: $results: no such file" >&2; exit 2; }
command -v jq >/dev/null || { echo "teaching-table: jq is needed" >&2; exit 2; }
jq -e '.schema and (.models | type == "array")' "$results" >/dev/null 2>&1 \
  || { echo "teaching-table: $results is not an esbench results.json" >&2; exit 2; }

if [ "$compact" -eq 1 ]; then
  jq -r '
    def sig: if . == null then "–" elif . >= 10 then (. * 10 | round / 10 | tostring)
             elif . >= 1 then (. * 100 | round / 100 | tostring) else (. * 1000 | round / 1000 | tostring) end;
    "| model | CPU % of a core | busiest thread runnable % | syscalls per event |",
    "|---|---:|---:|---:|",
    (.models[]
     | (.profile.threads // null) as $t
     | (if $t then ($t.groups | max_by(.cpu_s)) else null end) as $g
     | "| `\(.name)` | \(.cpu.percent | sig) | \(if $g then (($g.cpu_s + $g.wait_s) / $t.window_s * 100 | sig) else "–" end) | \(.profile.syscalls.calls_per_event // null | sig) |"),
    "",
    "(\(.scenario.duration_s) s per model; \(.notes | map(select(startswith("load average"))) | first // "load average not recorded"))"
  ' "$results"
  exit 0
fi

table=$(jq -r '
  def r1: . * 10 | round / 10;
  def r2: . * 100 | round / 100;
  def sig: if . == null then "–" elif . >= 100 then (round | tostring)
           elif . >= 10 then (r1 | tostring) elif . >= 1 then (r2 | tostring)
           else (. * 1000 | round / 1000 | tostring) end;
  def us: if . == null then "–" elif . >= 1000 then "\(. / 1000 | sig) ms" else "\(.) µs" end;
  def pct($p): sort as $s | ($s | length) as $n
           | if $n == 0 then null else $s[((($n - 1) * $p) | floor)] end;
  .scenario.duration_s as $d
  | (.models[0].cpu.series | if length > 1 then (.[-1].t_s - .[0].t_s) / (length - 1) else null end) as $dt
  | "Run: scenario `\(.scenario.name)`, \($d) s measured per model\(if .scenario.quick then " (--quick)" else "" end), "
    + "commit \(.commit // "unknown" | .[0:10]), \(.machine.logical_cores) logical cores (\(.machine.cpu_model)); "
    + (.notes | map(select(startswith("load average"))) | first // "load average not recorded") + "; "
    + "CPU samples every \($dt | sig) s.",
    "",
    "| model | CPU % of a core (p10–p90 of the samples) | busiest thread group: runnable % (on a CPU + queued for one) | context switches/s voluntary / involuntary | syscalls per event (most frequent) | CPU µs per event | driver reconnects per request | poll p50 / p99 (n) | status |",
    "|---|---:|---:|---:|---|---:|---:|---:|---|",
    (.models[]
     | (.profile // {}) as $p
     | ($p.threads // null) as $t
     | (if $t then ($t.groups | max_by(.cpu_s)) else null end) as $g
     | ($p.syscalls // {}) as $sc
     | ((.counters.polls_sent // 0) + (.counters.commands_sent // 0)) as $req
     | "| `\(.name)` "
       + "| \(.cpu.percent | sig) (\([.cpu.series[].percent] | pct(0.1) | sig)–\([.cpu.series[].percent] | pct(0.9) | sig)) "
       + "| \(if $g then "\((($g.cpu_s + $g.wait_s) / $t.window_s * 100) | sig) (`\($g.name)`)" else "–" end) "
       + "| \(.cpu.vcsw / $d | round) / \(.cpu.ivcsw / $d | round) "
       + "| \(if $sc.status == "ok" and $sc.calls_per_event != null
              then "\($sc.calls_per_event | sig) (\($sc.rows | max_by(.calls) | "`\(.syscall)` \(.per_event | sig)"))"
              else "– (\($sc.status // "not profiled"))" end) "
       + "| \($p.cpu_us_per_event | sig) "
       + "| \(if $req > 0 then ((.counters.driver_reconnects // 0) / $req | r2 | tostring) else "–" end) "
       + "| \(.poll_latency.p50 | us) / \(.poll_latency.p99 | us) (\(.poll_latency.count)) "
       + "| \(.status) |"),
    "",
    "What the models count about their own waiting (whole run, warm-up included):",
    "",
    (.models[]
     | .runtime as $rt
     | if $rt == null then empty
       elif $rt.fionread_calls != null then
         "- `\(.name)`: \($rt.fionread_calls) `FIONREAD` calls"
         + (if .counters.lifetime_wall_ms then " (\($rt.fionread_calls / .counters.lifetime_wall_ms * 1000 | round) a second, unobserved)" else "" end)
         + ", \($rt.empty_polls / $rt.fionread_calls * 100 | r1) % of them finding nothing; \($rt.byte_reads) one-byte reads; \($rt.connections) connections for \(.counters.serve_polls + .counters.serve_commands) requests."
       elif $rt.epoll_calls_blocking != null then
         "- `\(.name)`: \($rt.epoll_calls_blocking) blocking and \($rt.epoll_calls_zero) zero-timeout `epoll_wait` calls; idle \($rt.idle_us / $rt.wall_us * 100 | r1) % of its wall time; \($rt.polls) task polls."
       else empty end)
' "$results")

# The report's own "What the run shows" sentence, from `esbench report` on the same file.
bin="${ESBENCH:-target/release/esbench}"
[ -x "$bin" ] || bin=$(command -v esbench || true)
plot=""
headline="(no esbench binary found: build it, or set ESBENCH, to quote the report's headline)"
if [ -n "$bin" ]; then
  tmpdir=$(mktemp -d)
  trap 'rm -rf "$tmpdir"' EXIT
  if "$bin" report "$results" --out "$tmpdir" >/dev/null 2>&1; then
    line=$(grep -m1 '^- \*\*What the run shows' "$tmpdir/summary.md" || true)
    headline="${line:-"The report names no spinning model for this run."}"
    headline="The report's headline for this run: ${headline#- }"
    plot="$tmpdir/cpu_over_time.svg"
  fi
fi
table=$(printf '%s\n\n%s' "$table" "$headline")

block=$(printf '<!-- teaching-table:start -->\n<!-- Generated by scripts/teaching-table.sh from %s; do not edit by hand. -->\n%s\n<!-- teaching-table:end -->' "$results" "$table")

if [ "$write" -eq 0 ]; then
  printf '%s\n' "$table"
  exit 0
fi
[ -f "$doc" ] || { echo "teaching-table: $doc: no such file" >&2; exit 2; }
grep -q '^<!-- teaching-table:start -->$' "$doc" && grep -q '^<!-- teaching-table:end -->$' "$doc" \
  || { echo "teaching-table: $doc has no teaching-table start/end markers" >&2; exit 2; }
tmp=$(mktemp "$doc.XXXXXX")
BLOCK="$block" awk '
  /^<!-- teaching-table:start -->$/ { print ENVIRON["BLOCK"]; skip = 1; next }
  /^<!-- teaching-table:end -->$/   { skip = 0; next }
  !skip { print }
' "$doc" >"$tmp"
mv "$tmp" "$doc"
echo "teaching-table: wrote the table from $results into $doc"
if [ -n "$plot" ] && [ -f "$plot" ]; then
  svg="$(dirname "$doc")/teaching/esp4s-cpu-over-time.svg"
  mkdir -p "$(dirname "$svg")"
  cp "$plot" "$svg"
  echo "teaching-table: wrote the report's CPU-over-time plot to $svg"
fi
