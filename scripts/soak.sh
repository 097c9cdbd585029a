#!/usr/bin/env bash
# The fault soak: every model's `esbench serve` at once, each under a mixed fault load (noisy
# line, unplug/replug every 4 s, bad-HTTP floods, slow clients, half-closed and reset
# connections, Scratch polling throughout) for N minutes. Fails on any panic, lost valid
# frame, failed Scratch request, fd growth (> 2) or RSS growth (> 16 MiB + 25 %).
#
#   scripts/soak.sh [--minutes N] [--docs]
#
# --minutes N  length of the fault load (default 10; decimals allowed, e.g. 0.5)
# --docs       write the table, with the machine it ran on, into docs/reliability.md
#              (between the soak markers)
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10
docs=0
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes="${2:?--minutes needs a number}"; shift 2 ;;
        --minutes=*) minutes="${1#*=}"; shift ;;
        --docs) docs=1; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "soak.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done
seconds=$(awk -v m="$minutes" 'BEGIN { if (m + 0 <= 0) exit 1; printf "%d", m * 60 + 0.5 }') || {
    echo "soak.sh: --minutes must be a positive number, got $minutes" >&2; exit 2; }

report=$(mktemp)
trap 'rm -f "$report"' EXIT
echo "soak: every model for ${seconds} s" >&2
status=0
SOAK_SECONDS="$seconds" SOAK_REPORT="$report" \
    cargo test --locked --test it reliability_soak:: -- --ignored --nocapture --test-threads=1 \
    || status=$?

if [ "$docs" = 1 ] && [ -s "$report" ]; then
    machine="$(uname -sr), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
    machine="$machine, $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo)"
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    block=$(mktemp)
    {
        echo "<!-- soak:begin (written by scripts/soak.sh --docs; do not edit by hand) -->"
        echo
        echo "Run on $(date -u '+%Y-%m-%d %H:%M UTC') at commit \`$commit\`, debug build, on $machine;"
        echo "load average at the end $load (the machine was shared with other builds)."
        echo "Exit status of the soak: $status."
        echo
        cat "$report"
        echo
        echo "<!-- soak:end -->"
    } > "$block"
    doc=docs/reliability.md
    if grep -q '<!-- soak:begin' "$doc" 2>/dev/null; then
        awk -v blockfile="$block" '
            /<!-- soak:begin/ { while ((getline l < blockfile) > 0) print l; skip = 1; next }
            /<!-- soak:end -->/ { skip = 0; next }
            !skip { print }' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
    else
        { echo; cat "$block"; } >> "$doc"
    fi
    rm -f "$block"
    echo "soak: table written to $doc" >&2
fi
exit "$status"
