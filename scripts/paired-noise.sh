#!/usr/bin/env bash
# How much noise a paired round leaves, by round shape: A/A paired runs (`esbench run
# --against` this build, one model) of a few (rounds × seconds) shapes, and per shape the
# standard deviation of the per-round CPU ratio B/A and the interval half-width the gate
# judges with. It answers "longer rounds or more rounds?" for docs/ci-gate.md ("How long
# each side must run"); with --docs it puts its table in the doc's `generated: paired-noise` block.
#
#   scripts/paired-noise.sh --k 2 --docs docs/ci-gate.md   # ~15 min on the 2-core VM
#
# Options:
#   --k N          A/A runs per shape (default 2)
#   --shapes LIST  space-separated ROUNDSxSECONDS, seconds measured per side
#                  (default "6x20 24x12 20x20 6x40")
#   --bin PATH     the esbench to measure (default target/release/esbench, built if missing)
#   --out DIR      keep the runs here (default target/paired-noise)
#   --docs FILE    replace the table between the paired-noise markers in FILE
set -euo pipefail
cd "$(dirname "$0")/.."

k=2; shapes="6x20 24x12 20x20 6x40"; bin=target/release/esbench; out=target/paired-noise
docs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --k) k="$2"; shift 2 ;;
    --shapes) shapes="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --docs) docs="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "paired-noise: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$k" in ''|*[!0-9]*|0) echo "paired-noise: --k needs a positive number" >&2; exit 2 ;; esac
[ -x "$bin" ] || cargo build --release --locked --quiet
[ -x "$bin" ] || { echo "paired-noise: $bin is not an executable" >&2; exit 2; }

rm -rf "$out"; mkdir -p "$out"
table="$out/table.md"
{
  echo "| rounds × seconds per round | A/A runs | per-round SD of CPU B/A (median over runs) | CPU ratio B/A (median) | load average during the runs |"
  echo "|---|---|---|---|---|"
} > "$table"
for shape in $shapes; do
  rounds=${shape%x*}; seconds=${shape#*x}
  case "$rounds$seconds" in *[!0-9]*|'') echo "paired-noise: bad shape $shape (ROUNDSxSECONDS)" >&2; exit 2 ;; esac
  dir="$out/$shape"
  echo "== $shape: $k A/A paired run(s) of $rounds rounds, $seconds s per side" >&2
  scripts/gate-power.sh --paired --only-aa --k "$k" --rounds "$rounds" --duration "$seconds" \
    --bin "$bin" --out "$dir" >&2
  # The A/A row of gate-power's table: | label | pairs | ratio | SD | ... |
  row=$(grep '^| none (A/A' "$dir/table.md")
  ratio=$(echo "$row" | awk -F'|' '{gsub(/ /, "", $4); print $4}')
  sd=$(echo "$row" | awk -F'|' '{gsub(/ /, "", $5); print $5}')
  load=$(awk '{print $2}' "$dir/load.txt" | sort -n | awk 'NR==1{lo=$1} {hi=$1} END{print lo "–" hi}')
  per=$(awk -v d="$seconds" -v r="$rounds" 'BEGIN{printf "%.2g", d / r}')
  echo "| $rounds × $per s | $k | $sd | $ratio | $load |" >> "$table"
done
cat "$table"

if [ -n "$docs" ]; then
  { echo "<!-- made by scripts/paired-noise.sh --k $k --shapes '$shapes' on $(date -u +%Y-%m-%d); do not edit by hand -->"
    echo; cat "$table"; } | scripts/splice-generated.py "$docs" paired-noise
  echo "paired-noise: table written into $docs" >&2
fi
