#!/usr/bin/env bash
# Performance regression gate: builds release, runs `esbench run --quick` N times, compares
# the runs with the committed baseline (reports/baseline/) using `esbench check`, prints the
# Markdown table and exits with check's code: 0 nothing regressed, 1 a regression, 2 unusable
# input (including runs that produced no results).
#
#   scripts/ci-regression.sh                 # 3 runs, normal noise bands
#   scripts/ci-regression.sh --gross         # only gross (>3x) regressions: what CI uses
#   scripts/ci-regression.sh --runs 5 --summary summary.md --keep /tmp/runs
#   scripts/ci-regression.sh --gross --against-ref HEAD~1   # paired: this build vs its parent
#
# Paired mode (--against-ref REF): builds REF's esbench in a separate git worktree
# (target/esbench-ci/ref-src, its build in target/esbench-ci/ref-target, the binary kept per
# commit in target/esbench-ci/ref-bin/<sha>/ so a second gate against the same commit does not
# build again), then makes ONE paired run (`esbench run --against REF_BIN`) of the baseline's
# scenario and models — each model served by REF's build (side A) and by this build (side B)
# in the same interleaved rounds — and judges it with `esbench check --paired`. On a clean
# clone that is a second full release build (~4 min on 2 cores). Exit 3 (not check's codes)
# when REF does not exist or does not build, so a caller can say so and fall back.
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
#   --against-ref REF   paired mode against git commit REF (see above)
#   --rounds N          paired mode: rounds (default: a paired run's, 24 cut to what the
#                       duration holds in rounds of 0.5 s: 8 with --quick's 4 s)
#   --duration S        paired mode: measured seconds per model and side (default: --quick's)
#   --confirm S         paired mode: a flag counts only when a second paired run of the
#                       flagged models, S seconds per side (default 12: 24 rounds of 0.5 s),
#                       flags them again;  --no-confirm  judge the first run alone
#   --build-only        build what the run would use (this build unless --no-build; REF's in
#                       paired mode, into its per-commit cache) and exit 0 (3: REF does not
#                       build) without running anything: .ci/run builds in the background
#                       while its tests run, and measures later on a quiet machine
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3; gross=(); baseline=reports/baseline; scenario=""; models=""; thresholds=()
summary=""; keep=""; build=1; bin=target/release/esbench
against_ref=""; rounds=""; duration=""; confirm=12; build_only=0

# The models `esbench check --format json` (on stdin) judged regressed, comma-separated: each
# row object names its model before its verdict.
regressed_models() {
  awk -F'"' '/"model":/ { m = $4 } /"verdict": "regressed"/ { print m }' | sort -u | paste -sd, -
}

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
    --against-ref) against_ref="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --confirm) confirm="$2"; shift 2 ;;
    --no-confirm) confirm=0; shift ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,42p' "$0"; exit 0 ;;
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

# REF's build, cached per commit: sets ref_bin, exits 3 when REF is not a commit or does not build.
build_ref() {
  sha=$(git rev-parse --verify -q "$against_ref^{commit}") || {
    echo "ci-regression: $against_ref is not a commit here; no paired gate" >&2; exit 3; }
  ref_bin="target/esbench-ci/ref-bin/$sha/esbench"
  if [ -x "$ref_bin" ]; then
    echo "== $against_ref ($sha): cached build $ref_bin" >&2
  else
    src=target/esbench-ci/ref-src
    echo "== building $against_ref ($sha) in the worktree $src (a second release build)" >&2
    git worktree remove --force "$src" >/dev/null 2>&1 || rm -rf "$src"
    git worktree prune
    git worktree add --detach "$src" "$sha" >&2 || {
      echo "ci-regression: cannot check out $sha into $src; no paired gate" >&2; exit 3; }
    ref_target="$PWD/target/esbench-ci/ref-target"
    # Seed it with this build's compiled dependencies: the parent usually locks the same
    # crates, so only esbench itself compiles again (minutes saved on a 2-core CI machine).
    if [ ! -d "$ref_target/release" ] && [ -d target/release/deps ]; then
      mkdir -p "$ref_target/release"
      cp -a target/release/deps target/release/build target/release/.fingerprint \
        "$ref_target/release/" 2>/dev/null || true
    fi
    t0=$(date +%s)
    if ! (cd "$src" && CARGO_TARGET_DIR="$ref_target" cargo build --release --locked --quiet) >&2; then
      echo "ci-regression: $against_ref ($sha) does not build; no paired gate" >&2
      exit 3
    fi
    echo "== $against_ref built in $(( $(date +%s) - t0 )) s" >&2
    mkdir -p "$(dirname "$ref_bin")"
    cp "$ref_target/release/esbench" "$ref_bin"
    git worktree remove --force "$src" >/dev/null 2>&1 || true
  fi
}

if [ -n "$against_ref" ]; then
  build_ref
fi
[ "$build_only" = 1 ] && exit 0

if [ -n "$keep" ]; then
  work="$keep"; mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/esbench-ci.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
[ -n "$summary" ] || summary=target/esbench-ci/summary.md
mkdir -p "$(dirname "$summary")"

if [ -n "$against_ref" ]; then
  out="$work/paired"
  args=(run "$scenario" --against "$ref_bin" --out "$out" --no-history)
  [ -n "$rounds" ] && args+=(--rounds "$rounds")
  if [ -n "$duration" ]; then args+=(--duration "$duration"); else args+=(--quick); fi
  [ -n "$models" ] && args+=(--models "$models")
  echo "== paired run: $scenario${models:+ (models $models)}, side A $against_ref, side B this build" >&2
  "$bin" "${args[@]}" >&2 || echo "ci-regression: the paired run exited with status $?" >&2
  [ -f "$out/results.json" ] || { echo "ci-regression: the paired run wrote no $out/results.json" >&2; exit 2; }
  echo "== esbench check --paired ${gross[*]:-}" >&2
  set +e
  "$bin" check --paired "$out/results.json" "${gross[@]}" "${thresholds[@]}" \
    --format markdown --output "$summary"
  code=$?
  set -e
  # A flag is confirmed before it counts: a second, longer paired run of the flagged models
  # only (fresh children, so its noise is independent of the first run's), judged the same
  # way. Both must flag: a false alarm needs two in a row, a real regression is seen twice.
  if [ "$code" = 1 ] && [ "$confirm" != 0 ]; then
    # check exits 1 here (it flagged), which pipefail would turn into the script's exit.
    flagged=$({ "$bin" check --paired "$out/results.json" "${gross[@]}" "${thresholds[@]}" \
      --format json 2>/dev/null || true; } | regressed_models)
    if [ -n "$flagged" ]; then
      out2="$work/paired-confirm"
      args=(run "$scenario" --against "$ref_bin" --out "$out2" --no-history --no-report \
        --models "$flagged" --duration "$confirm")
      echo "== the paired gate flagged $flagged: confirming with a second paired run of" \
           "those models ($confirm s per side)" >&2
      "$bin" "${args[@]}" >&2 || echo "ci-regression: the confirming run exited with status $?" >&2
      [ -f "$out2/results.json" ] || { echo "ci-regression: the confirming run wrote no results" >&2; exit 2; }
      set +e
      "$bin" check --paired "$out2/results.json" "${gross[@]}" "${thresholds[@]}" \
        --format markdown --output "$summary.confirm"
      code=$?
      set -e
      { echo; echo "## Confirming run ($flagged, $confirm s per side)"; echo
        if [ "$code" = 1 ]; then echo "The regression was seen again: it counts."
        else echo "Not seen again: the first run's flag was noise; the gate passes."; fi
        echo; cat "$summary.confirm"; } >> "$summary"
      rm -f "$summary.confirm"
    fi
  fi
  echo "ci-regression: summary in $summary, exit $code" >&2
  exit "$code"
fi

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
