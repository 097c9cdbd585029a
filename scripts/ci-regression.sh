#!/usr/bin/env bash
# Performance regression gate: builds release, runs `esbench run --quick` N times, compares
# the runs with the committed baseline (reports/baseline/) using `esbench check`, prints the
# Markdown table and exits with check's code: 0 nothing regressed, 1 a regression, 2 unusable
# input (including runs that produced no results).
#
#   scripts/ci-regression.sh                 # 3 runs, normal noise bands
#   scripts/ci-regression.sh --gross         # only gross (>3x) regressions: what CI uses
#   scripts/ci-regression.sh --runs 5 --summary summary.md --keep /tmp/runs
#
# Options:
#   --runs N            quick runs to make (default 3)
#   --gross             pass --gross to esbench check (the [gross] bands)
#   --baseline DIR      baseline results directory (default reports/baseline)
#   --scenario FILE     scenario to run (default: the one the baseline ran)
#   --models LIST       comma-separated models (default: the baseline's)
#   --thresholds FILE   noise bands laid over scripts/thresholds.toml
#   --summary FILE      where to write the Markdown summary (default: target/esbench-ci/summary.md)
#   --keep DIR          keep the runs in DIR (default: a temp dir, removed at exit)
#   --no-build          use the existing target/release/esbench
#   --bin PATH          use this esbench binary (implies --no-build)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3; gross=(); baseline=reports/baseline; scenario=""; models=""; thresholds=()
summary=""; keep=""; build=1; bin=target/release/esbench
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --gross) gross=(--gross); shift ;;
    --baseline) baseline="$2"; shift 2 ;;
    --scenario) scenario="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --thresholds) thresholds=(--thresholds "$2"); shift 2 ;;
    --summary) summary="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --bin) bin="$2"; build=0; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "ci-regression: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$runs" in ''|*[!0-9]*|0) echo "ci-regression: --runs needs a positive number" >&2; exit 2 ;; esac

shopt -s nullglob
base_files=("$baseline"/*.json)
if [ ${#base_files[@]} -eq 0 ]; then
  echo "ci-regression: no baseline in $baseline (make one with scripts/update-baseline.sh)" >&2
  exit 2
fi

# The scenario and models default to what the baseline ran (update-baseline.sh writes them to
# run-args), so the comparison is like for like.
if [ -f "$baseline/run-args" ]; then
  [ -n "$scenario" ] || scenario=$(sed -n 's/^scenario=//p' "$baseline/run-args")
  [ -n "$models" ] || models=$(sed -n 's/^models=//p' "$baseline/run-args")
fi
[ -n "$scenario" ] || scenario=scenarios/classroom.toml

if [ "$build" = 1 ]; then
  echo "== building release" >&2
  cargo build --release --locked --quiet
fi
[ -x "$bin" ] || { echo "ci-regression: $bin is not an executable" >&2; exit 2; }

if [ -n "$keep" ]; then
  work="$keep"; mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/esbench-ci.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
[ -n "$summary" ] || summary=target/esbench-ci/summary.md
mkdir -p "$(dirname "$summary")"

current=()
for i in $(seq 1 "$runs"); do
  out="$work/run-$i"
  echo "== quick run $i/$runs: $scenario${models:+ (models $models)}" >&2
  args=(run "$scenario" --quick --out "$out" --no-history)
  [ -n "$models" ] && args+=(--models "$models")
  # A model failing is for `check` to judge (it is a regression); only a run with no results
  # at all is unusable.
  "$bin" "${args[@]}" >&2 || echo "ci-regression: run $i exited with status $?" >&2
  if [ -f "$out/results.json" ]; then
    current+=("$out/results.json")
  else
    echo "ci-regression: run $i wrote no $out/results.json" >&2
    exit 2
  fi
done

echo "== esbench check ${gross[*]:-} against $baseline" >&2
set +e
"$bin" check --baseline "$baseline" --current "${current[@]}" "${gross[@]}" "${thresholds[@]}" \
  --format markdown --output "$summary"
code=$?
set -e
echo "ci-regression: summary in $summary, exit $code" >&2
exit "$code"
