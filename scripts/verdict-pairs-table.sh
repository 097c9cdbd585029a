#!/usr/bin/env bash
# Renders what `scripts/verdict-pairs.sh` measured as a Markdown table for docs: one row per
# pair and question, with what each run of the pair named (a single winner, or the size of
# the tie group) and whether the pair agrees by issue 16's rule (two different single winners
# is a disagreement; a tie on either side is not). Reads only the runs' own output.
#
# Usage: scripts/verdict-pairs-table.sh [--rejudge] DIR   (the -o DIR a verdict-pairs.sh run wrote)
#   e.g. scripts/verdict-pairs-table.sh /tmp/vp | scripts/splice-generated.py docs/run.md verdict-pairs
# --rejudge: judge each run's results.json again with this build's rules (`esbench report`,
#   whose summary.md carries the same verdict sentences) instead of reading what the run
#   printed; for runs measured before a change of the verdict rules. ESBENCH=path as in
#   verdict-pairs.sh.
set -euo pipefail

REJUDGE=0
if [[ ${1:-} == --rejudge ]]; then
    REJUDGE=1
    shift
fi
DIR=${1:?usage: scripts/verdict-pairs-table.sh [--rejudge] DIR}
[[ -d $DIR ]] || { echo "verdict-pairs-table: $DIR is not a directory" >&2; exit 2; }
ls "$DIR"/pair*-a.verdicts >/dev/null 2>&1 ||
    { echo "verdict-pairs-table: no pair*-a.verdicts in $DIR (not a verdict-pairs.sh output)" >&2; exit 2; }

FINISHED=$(date -u -r "$(ls -t "$DIR"/*.verdicts | head -1)" '+%Y-%m-%d %H:%M UTC')
JUDGED_BY="as each run printed them"
if [[ $REJUDGE == 1 ]]; then
    JUDGED_BY="judged again by \`esbench report\` of $(git rev-parse --short HEAD 2>/dev/null || echo 'this build')"
    ESBENCH=${ESBENCH:-target/release/esbench}
    JUDGED=$(mktemp -d)
    trap 'rm -rf "$JUDGED"' EXIT
    for v in "$DIR"/pair*.verdicts; do
        run=${v%.verdicts}
        "$ESBENCH" report "$run/results.json" --out "$JUDGED/report" >/dev/null 2>&1 ||
            { echo "verdict-pairs-table: esbench report $run/results.json failed" >&2; exit 2; }
        # "- **Cheapest in CPU: …** — figures. *sentence.*" -> "  Cheapest in CPU: sentence"
        sed -nE 's/^- \*\*([^:*]+): .*\. \*(.*)\.\*$/  \1: \2/p' "$JUDGED/report/summary.md" \
            >"$JUDGED/$(basename "$v")"
        cp "$run.txt" "$JUDGED/$(basename "$run").txt"
    done
    DIR=$JUDGED
fi

# "threads" for a single winner, "tie (4)" for a tie group of four, "unjudged" otherwise.
named() {
    local line=$1
    case "$line" in
        "") echo "(none)" ;;
        *" tie on "*)
            local group=${line#*: }
            group=${group%% tie on *}
            local n
            n=$(tr ',' '\n' <<<"${group// and /,}" | grep -c .)
            echo "tie ($n)" ;;
        *"not a verdict"*) echo unjudged ;;
        *) sed -E 's/^  [^:]+: ([^ ]+) is .*/\1/' <<<"$line" ;;
    esac
}

echo "| pair | question | run A | run B | agree |"
echo "|---:|---|---|---|---|"
pairs=0
disagree=0
for a in $(ls "$DIR"/pair*-a.verdicts | sort -V); do
    p=$(basename "$a" -a.verdicts)
    b="$DIR/$p-b.verdicts"
    [[ -f $b ]] || continue
    pairs=$((pairs + 1))
    while IFS= read -r la; do
        q=${la%%:*}
        q=${q#  }
        lb=$(grep -F -- "  $q:" "$b" || true)
        wa=$(named "$la")
        wb=$(named "$lb")
        if [[ $wa == tie* || $wb == tie* || $wa == unjudged || $wb == unjudged || $wa == "$wb" ]]; then
            ok=yes
        else
            ok="**no**"
            disagree=$((disagree + 1))
        fi
        echo "| ${p#pair} | $q | $wa | $wb | $ok |"
    done <"$a"
done
first=$(ls "$DIR"/pair*-a.txt | sort -V | head -1)
rounds=$(grep -m1 -oE '[0-9]+ round\(s\) of [0-9.]+ s per model' "$first" || echo "rounds: see the runs")
echo
echo "$pairs pair(s) of back-to-back runs ($rounds), $disagree disagreement(s); written by \`scripts/verdict-pairs-table.sh\` from \`scripts/verdict-pairs.sh\` output on $(uname -n), $(nproc) CPUs, runs finished $FINISHED; verdicts $JUDGED_BY."
