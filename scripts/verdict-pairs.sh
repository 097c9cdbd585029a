#!/usr/bin/env bash
# Runs K pairs of back-to-back `esbench run`s on the same build and prints what each run's
# verdicts said, pair by pair: issue 16's check that two runs of one build never name two
# different single winners for the same figure (when they disagree, one of them must say
# "tie"). Exits 1 when some pair names two different single winners, else 0.
#
# Usage: scripts/verdict-pairs.sh [-k K] [-o DIR] [-- RUN ARGS...]
#   -k K      pairs to run (default 5)
#   -o DIR    where the runs go (default: a new /tmp/verdict-pairs.* directory)
#   RUN ARGS  passed to every `esbench run`, e.g. -- --quick, or -- --models threads,coop
# ESBENCH=path overrides the binary (default target/release/esbench, built if missing).
# A full-length run of 5 pairs takes about 40 minutes; on a shared machine say so next to
# what it printed.
set -euo pipefail

K=5
OUT=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        -k) K="$2"; shift 2 ;;
        -o) OUT="$2"; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "verdict-pairs: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
if ! [[ $K =~ ^[1-9][0-9]*$ ]]; then
    echo "verdict-pairs: -k wants a positive count, got '$K'" >&2
    exit 2
fi
ESBENCH=${ESBENCH:-target/release/esbench}
if [[ ! -x $ESBENCH ]]; then
    cargo build --release --locked
fi
OUT=${OUT:-$(mktemp -d /tmp/verdict-pairs.XXXXXX)}
mkdir -p "$OUT"

# The single winner a verdict line names, "tie", or "unjudged".
winner() {
    case "$1" in
        *" tie on "*) echo tie ;;
        *"not a verdict"*) echo unjudged ;;
        *) sed -E 's/^  [^:]+: ([^ ]+) is .*/\1/' <<<"$1" ;;
    esac
}

disagree=0
echo "verdict pairs: $K pair(s), runs in $OUT, run args: ${*:-(none)}"
for p in $(seq 1 "$K"); do
    for side in a b; do
        rc=0
        "$ESBENCH" run --out "$OUT/pair$p-$side" --no-history --no-report "$@" \
            >"$OUT/pair$p-$side.txt" 2>"$OUT/pair$p-$side.log" || rc=$?
        if [[ $rc -ne 0 && $rc -ne 3 ]]; then
            echo "pair $p run $side: esbench run exited $rc (see $OUT/pair$p-$side.log)" >&2
            exit 2
        fi
        # The verdict lines: those right under "verdicts:", two spaces in.
        awk '/^verdicts:$/ { on = 1; next } on && /^  [^ ]/ { print; next } on { exit }' \
            "$OUT/pair$p-$side.txt" >"$OUT/pair$p-$side.verdicts"
    done
    echo "pair $p:"
    while IFS= read -r a; do
        q=${a%%:*}
        b=$(grep -F -- "$q:" "$OUT/pair$p-b.verdicts" || true)
        wa=$(winner "$a")
        wb=$(winner "${b:-}")
        if [[ -z ${b:-} ]]; then
            mark="B gave no verdict on this"
        elif [[ $wa == tie || $wb == tie || $wa == unjudged || $wb == unjudged || $wa == "$wb" ]]; then
            mark="ok"
        else
            mark="DISAGREE: two single winners"
            disagree=1
        fi
        echo "  A:${a#  }"
        echo "  B:${b#  }"
        echo "  -> $mark"
    done <"$OUT/pair$p-a.verdicts"
done
exit "$disagree"
