#!/usr/bin/env bash
# Measures the frame gap after a command with and without `esbench serve`'s command
# terminator (tests/it/serve_command_gap.rs: the virtual board with the v1 sketch's 1000 ms
# parseInt timeout, eight LED commands per mode) and writes the table it prints into
# docs/serve.md, between the `command-gap` markers, with the date and the machine.
#
#   scripts/serve-command-gap.sh            # measure and update docs/serve.md
#   scripts/serve-command-gap.sh --print    # measure and print the table only
set -euo pipefail
cd "$(dirname "$0")/.."

print_only=0
case "${1:-}" in
  --print) print_only=1 ;;
  "") ;;
  -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
  *) echo "serve-command-gap: unknown option $1 (see --help)" >&2; exit 2 ;;
esac

out=$(cargo test --locked --test it serve_command_gap:: -- --nocapture --test-threads=1 2>&1) || {
  echo "$out" >&2
  echo "serve-command-gap: the measurement failed" >&2
  exit 1
}
table=$(printf '%s\n' "$out" | grep '^|')
[ -n "$table" ] || { echo "serve-command-gap: the test printed no table" >&2; exit 1; }
stamp="Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -srm)) by scripts/serve-command-gap.sh."
if [ "$print_only" = 1 ]; then
  printf '%s\n\n%s\n' "$table" "$stamp"
  exit 0
fi

doc=docs/serve.md
grep -q '^<!-- command-gap:begin -->$' "$doc" && grep -q '^<!-- command-gap:end -->$' "$doc" || {
  echo "serve-command-gap: $doc has no command-gap markers" >&2; exit 1; }
tmp=$(mktemp "$doc.XXXXXX")
# Through the environment: `awk -v` would turn the table's `\n` into a newline.
TABLE="$table" STAMP="$stamp" awk '
  /^<!-- command-gap:begin -->$/ {
    print; print ENVIRON["TABLE"]; print ""; print ENVIRON["STAMP"]; skip = 1; next
  }
  /^<!-- command-gap:end -->$/ { skip = 0 }
  !skip { print }
' "$doc" > "$tmp"
mv "$tmp" "$doc"
echo "serve-command-gap: updated $doc"
printf '%s\n' "$table"
