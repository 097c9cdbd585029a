#!/usr/bin/env bash
# Long fuzzing run of the property tests in tests/it/reliability_fuzz.rs (frame decoder, command
# decoder, HTTP parser + router + connection, .esrec reader, scenario loader, results
# reader): many more generated and mutated inputs than the short pass in `cargo test`.
#
#   scripts/fuzz.sh [--cases N] [--release]
#
# --cases N   cases per target (default 20000; `cargo test` runs 256)
# --release   build optimised (slower to build, much faster to run)
# A failure prints the minimal failing input; nothing is written to the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=20000
profile=()
while [ $# -gt 0 ]; do
    case "$1" in
        --cases) cases="${2:?--cases needs a number}"; shift 2 ;;
        --cases=*) cases="${1#*=}"; shift ;;
        --release) profile=(--release); shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "fuzz.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done
case "$cases" in ''|*[!0-9]*) echo "fuzz.sh: --cases must be a whole number, got $cases" >&2; exit 2 ;; esac
echo "fuzz: $cases cases per target" >&2
start=$(date +%s)
FUZZ_CASES="$cases" cargo test --locked "${profile[@]}" --test it reliability_fuzz:: -- --test-threads=2
echo "fuzz: done in $(( $(date +%s) - start )) s" >&2
