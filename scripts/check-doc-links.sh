#!/usr/bin/env bash
# Checks every relative link and anchor in the project's Markdown documents: README.md,
# ARCHITECTURE.md and docs/**/*.md (or the files given). Exits 0 when all resolve, 1 when
# any does not (each named with file:line, the link and why), 2 on bad usage.
#
#   scripts/check-doc-links.sh                    # the project's documents
#   scripts/check-doc-links.sh docs/coop.md       # only these files
#   scripts/check-doc-links.sh --pending docs/figures.md --pending docs/serve.md
#
# A link resolves when its file or directory exists (relative to the document, or to the
# repository root for a leading `/`) and, if it has an `#anchor`, when the target Markdown
# file has a heading with that GitHub-style slug (lowercased, punctuation dropped, spaces to
# hyphens, `-1`, `-2`, ... for repeats) or an explicit `id=`/`name=` anchor. `#L12` anchors
# into non-Markdown files are accepted. External links (a scheme such as https:) are not
# fetched. Links inside fenced code blocks and `inline code` are ignored.
#
# --pending PATH: a document another branch is adding; links to it are listed as pending
# instead of failing (for a branch checked before the merge that brings the file).
# --self-test: runs the checker on made-up documents with known good and broken links.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."

self_test() {
  local t; t="$(mktemp -d)"; trap 'rm -rf "$t"' RETURN
  mkdir -p "$t/scripts" "$t/docs" "$t/src"
  cp "$here" "$t/scripts/check-doc-links.sh"
  echo 'fn main() {}' > "$t/src/main.rs"
  cat > "$t/README.md" <<'MD'
# Title `x` — dash
## Repeat
## Repeat
<a id="custom"></a>
[a](#title-x--dash) [b](#repeat-1) [c](#custom) [d](docs/a.md#section-two) [e](https://x.org/#q)
[f](src/main.rs#L1) [g](/docs/a.md) [h](docs/)
`[code](missing-in-code.md)`
```
[fenced](missing-in-fence.md)
```
MD
  printf '# A\n## Section two\n[up](../README.md#repeat)\n' > "$t/docs/a.md"
  "$t/scripts/check-doc-links.sh" >/dev/null || { echo "self-test: good links reported broken" >&2; "$t/scripts/check-doc-links.sh" >&2; return 1; }
  cat >> "$t/README.md" <<'MD'
[bad1](#nope) [bad2](docs/a.md#nope) [bad3](docs/missing.md) [bad4](src/main.rs#x)
[bad5](../outside.md)
[bad6]: docs/missing-ref.md
MD
  local out rc=0
  out="$("$t/scripts/check-doc-links.sh" 2>&1)" || rc=$?
  local want="#nope docs/a.md#nope docs/missing.md src/main.rs#x ../outside.md docs/missing-ref.md"
  for w in $want; do
    grep -qF ": $w: " <<<"$out" || { echo "self-test: broken link $w not reported" >&2; echo "$out" >&2; return 1; }
  done
  [ "$rc" -eq 1 ] && grep -q ": 6 broken" <<<"$out" || { echo "self-test: want exit 1 and 6 broken, got $rc" >&2; echo "$out" >&2; return 1; }
  "$t/scripts/check-doc-links.sh" --pending docs/missing.md --pending docs/missing-ref.md >/dev/null && { echo "self-test: --pending hid other broken links" >&2; return 1; }
  echo "self-test: ok"
}

pending=()
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pending) [ $# -ge 2 ] || { echo "--pending needs a path" >&2; exit 2; }
               pending+=("$2"); shift 2 ;;
    --self-test) self_test; exit $? ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) files+=("$1"); shift ;;
  esac
done
if [ ${#files[@]} -eq 0 ]; then
  for f in README.md ARCHITECTURE.md; do [ -f "$f" ] && files+=("$f"); done
  if [ -d docs ]; then
    while IFS= read -r f; do files+=("$f"); done < <(find docs -name '*.md' -type f | sort)
  fi
fi
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "no such document: $f" >&2; exit 2; }
done

PENDING="$(printf '%s\n' "${pending[@]+"${pending[@]}"}")" exec perl -CSDA -Mutf8 -e '
use strict; use warnings;
use File::Spec; use File::Basename qw(dirname);

my %pending = map { (File::Spec->canonpath($_) => 1) } grep { length } split /\n/, ($ENV{PENDING} // "");
my (%slugs, $broken, $pending_seen, $checked);

# GitHub-style heading slugs (and explicit HTML anchors) of one Markdown file.
sub anchors_of {
    my ($path) = @_;
    return $slugs{$path} if $slugs{$path};
    my (%seen, %set);
    open my $fh, "<:encoding(UTF-8)", $path or return {};
    my $fence;
    while (my $line = <$fh>) {
        if ($line =~ /^\s*(```+|~~~+)/) {
            my $m = substr($1, 0, 3);
            if (!defined $fence) { $fence = $m } elsif ($m eq $fence) { undef $fence }
            next;
        }
        next if defined $fence;
        $set{$1} = 1 while $line =~ /<a\s[^>]*?(?:name|id)\s*=\s*"([^"]+)"/g;
        next unless $line =~ /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/;
        my $text = $1;
        $text =~ s/\[([^\]]*)\]\([^)]*\)/$1/g;      # a link in a heading keeps its text
        my $slug = lc $text;
        $slug =~ s/<[^>]*>//g;                     # inline HTML
        $slug =~ s/[^\p{L}\p{N}\p{M} _-]//g;      # punctuation (backticks, dots, dashes ...)
        $slug =~ s/ /-/g;
        my $n = $seen{$slug}++;
        $set{$n ? "$slug-$n" : $slug} = 1;
    }
    return $slugs{$path} = \%set;
}

sub report { my ($where, $link, $why) = @_; print "$where: $link: $why\n"; $broken++; }

for my $doc (@ARGV) {
    open my $fh, "<:encoding(UTF-8)", $doc or die "cannot read $doc: $!\n";
    my ($fence, $n) = (undef, 0);
    while (my $line = <$fh>) {
        $n++;
        if ($line =~ /^\s*(```+|~~~+)/) {
            my $m = substr($1, 0, 3);
            if (!defined $fence) { $fence = $m } elsif ($m eq $fence) { undef $fence }
            next;
        }
        next if defined $fence;
        next if $line =~ /^(?: {4}|\t)/ && $line !~ /^\s*[-*+]|^\s*\d+\./;   # indented code
        (my $text = $line) =~ s/(`+).*?\1//g;                               # inline code
        my @targets;
        push @targets, $1 while $text =~ /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
        push @targets, $1 if $text =~ /^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/;
        for my $t (@targets) {
            $checked++;
            next if $t =~ m{^[a-zA-Z][a-zA-Z0-9+.-]*:};                     # https:, mailto: ...
            my ($path, $anchor) = $t =~ /^([^#]*)(?:#(.*))?$/;
            $path =~ s/%([0-9A-Fa-f]{2})/chr(hex $1)/ge;
            my $target;
            if ($path eq "") { $target = $doc }
            elsif ($path =~ m{^/}) { $target = File::Spec->canonpath(substr($path, 1)) }
            else { $target = File::Spec->canonpath(File::Spec->catfile(dirname($doc), $path)) }
            # Resolve ".." textually, so a link is judged by where it points in the repository.
            my @parts;
            for my $p (split m{/}, $target) {
                if ($p eq "..") { if (@parts && $parts[-1] ne "..") { pop @parts } else { push @parts, $p } }
                elsif ($p ne "." && $p ne "") { push @parts, $p }
            }
            $target = @parts ? join("/", @parts) : ".";
            if ($pending{$target}) {
                print "$doc:$n: $t: pending (another branch adds $target)\n";
                $pending_seen++;
                next;
            }
            if ($target =~ m{^\.\.(/|$)}) { report("$doc:$n", $t, "points outside the repository"); next }
            if (!-e $target) { report("$doc:$n", $t, "no such file or directory ($target)"); next }
            next unless defined $anchor && length $anchor;
            if ($target !~ /\.md$/i) {
                report("$doc:$n", $t, "anchor into $target, which is not Markdown") unless $anchor =~ /^L\d+(-L\d+)?$/;
                next;
            }
            (my $a = $anchor) =~ s/%([0-9A-Fa-f]{2})/chr(hex $1)/ge;
            report("$doc:$n", $t, "no heading or anchor #$a in $target") unless anchors_of($target)->{lc $a} || anchors_of($target)->{$a};
        }
    }
}
$checked //= 0; $broken //= 0; $pending_seen //= 0;
printf "%d document(s), %d link(s): %d broken%s\n", scalar(@ARGV), $checked, $broken,
    $pending_seen ? ", $pending_seen to pending documents" : "";
exit($broken ? 1 : 0);
' "${files[@]}"
