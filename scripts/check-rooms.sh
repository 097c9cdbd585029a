#!/usr/bin/env bash
# Checks the one-way rule of ARCHITECTURE.md against the code: which rooms (directories under
# src/) each room imports today (`crate::ROOM` outside comments), whether each import is
# allowed, and whether each known debt is still there. Prints one line per room and exits 1
# when a room imports another that it may not and that is not a listed debt, 0 otherwise.
#
#   scripts/check-rooms.sh
#
# The allowed imports and the known debts below are the ones ARCHITECTURE.md states; change
# both together. A debt that is paid is reported as such, so its line can be deleted here.
set -euo pipefail
cd "$(dirname "$0")/.."

exec perl -e '
use strict; use warnings;

# May import (besides the shared modules every room may use: `clock`, the monotonic clock, and
# `rng`, the seeded generator, and `units`, the figures in human units, and `fd_limit`, the
# open-files limit, and `tty`, opening a serial port, and `build_info`, what the binary was
# built from).
my %allowed = (
    protocol => [],
    source   => [qw(protocol)],
    device   => [qw(protocol source scenario)],
    scenario => [qw(source)],
    bridge   => [qw(protocol scenario metrics)],
    coop     => [],
    models   => [qw(bridge coop)],
    metrics  => [],
    load     => [qw(protocol metrics scenario device bridge)],
    driver   => [qw(metrics scenario device bridge models profile load remote valgrind)],
    profile  => [qw(metrics scenario device load)],
    valgrind => [qw(metrics scenario profile)],
    render   => [qw(metrics)],
    report   => [qw(metrics render)],
    check    => [qw(metrics render)],
    history  => [qw(metrics render)],
    sweep    => [qw(driver report render metrics scenario)],
    remote   => [qw(metrics scenario device bridge models load)],
    cli      => ["*"],
);
# Known debts: imports that break the rule today (ARCHITECTURE.md, "Known debts").
my %debt = (
);

opendir my $d, "src" or die "no src/ here\n";
my @rooms = sort grep { -d "src/$_" && !/^\./ } readdir $d;
closedir $d;
my @shared = qw(clock rng units fd_limit tty build_info);
my %is_room = map { $_ => 1 } @rooms, @shared;

sub rs_files { my ($dir) = @_; my @f; opendir my $h, $dir or return; for (sort readdir $h) { next if /^\./; my $p = "$dir/$_"; push @f, -d $p ? rs_files($p) : /\.rs$/ ? $p : () } @f }

my ($bad, %seen_debt) = (0);
for my $room (@rooms) {
    my %uses;
    for my $file (rs_files("src/$room")) {
        open my $fh, "<", $file or die "$file: $!\n";
        local $/; my $text = <$fh>;
        $text =~ s{^\s*//.*$}{}mg;                       # comment lines (//, ///, //!)
        $uses{$1}{$file} = 1 while $text =~ /\bcrate::([a-z_][a-z0-9_]*)/g;
        while ($text =~ /\bcrate::\{([^}]*)\}/g) {       # use crate::{a::x, b};
            my $list = $1;
            $uses{$1}{$file} = 1 while $list =~ /(?:^|,)\s*([a-z_][a-z0-9_]*)/g;
        }
    }
    my @targets = sort grep { $is_room{$_} && $_ ne $room } keys %uses;
    my @shown;
    for my $t (@targets) {
        my $key = "$room -> $t";
        my $ok = (grep { $_ eq $t } @shared) || grep { $_ eq "*" || $_ eq $t } @{ $allowed{$room} // [] };
        if ($ok) { push @shown, $t }
        elsif ($debt{$key}) { push @shown, "$t (debt)"; $seen_debt{$key} = 1 }
        else {
            push @shown, "$t (NOT ALLOWED)";
            print STDERR "$key: not allowed by ARCHITECTURE.md, in: ", join(", ", sort keys %{ $uses{$t} }), "\n";
            $bad++;
        }
    }
    print STDERR "$room: not a room ARCHITECTURE.md knows; add it to scripts/check-rooms.sh\n" and $bad++
        unless exists $allowed{$room};
    printf "%-9s %s\n", $room, @shown ? join(", ", @shown) : "-";
}
for my $k (sort keys %debt) {
    print "paid: $k no longer occurs; delete it from the debts here and in ARCHITECTURE.md\n" unless $seen_debt{$k};
}
exit($bad ? 1 : 0);
'
