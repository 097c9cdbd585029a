#!/usr/bin/env bash
# Refreshes the committed performance baseline (reports/baseline/) that
# scripts/ci-regression.sh compares against: builds release, makes N quick runs, and replaces
# the baseline's results files with them. Run it on the machine type CI uses, on a quiet
# machine, from a commit you trust; then review and commit reports/baseline/.
# It also records where the baseline came from (hostname, CPU model, cores, esbench version,
# commit, as the runs recorded them) in reports/baseline/provenance.toml: `esbench check`
# warns loudly (exit status unchanged) when the runs it compares come from elsewhere.
#
#   scripts/update-baseline.sh                       # 3 quick runs of scenarios/classroom.toml
#   scripts/update-baseline.sh --runs 5 --models threads,tokio,smol
#
# Options: --runs N (default 3), --scenario FILE (default scenarios/classroom.toml),
#          --models LIST, --dir DIR (default reports/baseline), --no-build, --bin PATH
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3; scenario=scenarios/classroom.toml; models=""; dir=reports/baseline; build=1
bin=target/release/esbench
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --scenario) scenario="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --bin) bin="$2"; build=0; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "update-baseline: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$runs" in ''|*[!0-9]*|0) echo "update-baseline: --runs needs a positive number" >&2; exit 2 ;; esac

if [ "$build" = 1 ]; then
  cargo build --release --locked --quiet
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/esbench-baseline.XXXXXX")
trap 'rm -rf "$work"' EXIT

for i in $(seq 1 "$runs"); do
  echo "== baseline run $i/$runs: $scenario" >&2
  args=(run "$scenario" --quick --out "$work/run-$i" --no-history --no-report)
  [ -n "$models" ] && args+=(--models "$models")
  "$bin" "${args[@]}" >&2
  [ -f "$work/run-$i/results.json" ] || { echo "update-baseline: run $i wrote no results" >&2; exit 2; }
done

# Every run must be usable as a baseline: compare them with each other as a sanity check
# (exit 2 = inconsistent inputs, e.g. a model that failed).
"$bin" check --baseline "$work"/run-1/results.json --current "$work"/run-*/results.json >/dev/null \
  || [ $? -eq 1 ] || { echo "update-baseline: the new runs are not comparable" >&2; exit 2; }

mkdir -p "$dir"
rm -f "$dir"/*.json
for i in $(seq 1 "$runs"); do
  cp "$work/run-$i/results.json" "$dir/results-$i.json"
done
printf 'scenario=%s\nmodels=%s\n' "$scenario" "$models" > "$dir/run-args"
"$bin" check --record-provenance "$dir" >&2
{
  echo "# Performance baseline"
  echo
  echo "Compared against by \`scripts/ci-regression.sh\` (\`esbench check --baseline $dir\`)."
  echo "Refreshed by \`scripts/update-baseline.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'),"
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), host $(hostname),"
  echo "$(nproc) logical cores, scenario \`$scenario\`, $runs quick runs${models:+, models $models}."
  echo
  echo "Where it was measured, as the runs recorded it, is in \`provenance.toml\` (read by"
  echo "\`esbench check\`, which warns when the runs it compares come from another machine or"
  echo "esbench version)."
} > "$dir/README.md"
echo "update-baseline: wrote $runs results to $dir; review and commit it" >&2
