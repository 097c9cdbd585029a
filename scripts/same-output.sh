#!/usr/bin/env bash
# Checks that a refactoring changed nothing a reader of results prints: runs every reader
# (report of one and of three runs, check in its three formats forwards, backwards and gross,
# history's listing and trend page, the run table and its Markdown) with two builds on the same
# results files and compares every byte written.
#
#   scripts/same-output.sh OLD_BIN_DIR NEW_BIN_DIR [RESULTS_DIR]
#
# A BIN_DIR holds `esbench` and `examples/results_table` (e.g. target/debug after
# `cargo build --bin esbench --example results_table`); RESULTS_DIR holds results-1.json,
# results-2.json and results-3.json (default: reports/baseline). Exits 0 when every output is
# identical, 1 (with the differing files named) otherwise.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD_BIN_DIR NEW_BIN_DIR [RESULTS_DIR]" >&2; exit 2; }
results=$(realpath "${3:-$(dirname "$0")/../reports/baseline}")
for f in results-1.json results-2.json results-3.json; do
    [ -f "$results/$f" ] || { echo "$0: no $results/$f" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every output of one build, written under the same path for both (reports record their paths).
outputs() {
    local bin=$1 into=$2 o=$work/out r=$results f i
    rm -rf "$o"; mkdir -p "$o"
    (
        cd "$work"
        "$bin/esbench" report "$r/results-1.json" --out "$o/report-1" > "$o/report-1.out" 2>&1 || true
        "$bin/esbench" report "$r/results-1.json" "$r/results-2.json" "$r/results-3.json" \
            --out "$o/report-3" > "$o/report-3.out" 2>&1 || true
        for f in table markdown json; do
            { "$bin/esbench" check --baseline "$r/results-1.json" \
                --current "$r/results-2.json" "$r/results-3.json" --format $f; echo "exit $?"; } \
                > "$o/check.$f" 2>&1 || true
            { "$bin/esbench" check --baseline "$r/results-2.json" "$r/results-3.json" \
                --current "$r/results-1.json" --format $f; echo "exit $?"; } \
                > "$o/check-reversed.$f" 2>&1 || true
            { "$bin/esbench" check --gross --baseline "$r" --current "$r/results-2.json" \
                --format $f; echo "exit $?"; } > "$o/check-gross.$f" 2>&1 || true
        done
        for i in 1 2 3; do
            "$bin/esbench" history --db "$o/h.sqlite" --record "$r/results-$i.json" > /dev/null 2>&1 || true
            "$bin/examples/results_table" "$r/results-$i.json" > "$o/table-$i.txt" 2>&1 || true
            "$bin/examples/results_table" "$r/results-$i.json" --wide > "$o/table-$i-wide.txt" 2>&1 || true
            "$bin/examples/results_table" "$r/results-$i.json" --markdown > "$o/table-$i.md" 2>&1 || true
        done
        "$bin/esbench" history --db "$o/h.sqlite" --html --out "$o/history" > "$o/history.out" 2>&1 || true
        "$bin/esbench" history --db "$o/h.sqlite" --model smol >> "$o/history.out" 2>&1 || true
        rm -f "$o/h.sqlite"
    )
    mv "$o" "$into"
}
outputs "$(realpath "$1")" "$work/old"
outputs "$(realpath "$2")" "$work/new"
if diff -rq "$work/old" "$work/new"; then
    echo "same output: $(find "$work/new" -type f | wc -l) files identical"
else
    exit 1
fi
