#!/usr/bin/env bash
# Installs the system tools esbench's tests and profiling pass use, from Debian's packages:
# chromium (the report's browser test), strace (syscall profile), linux-perf (flamegraphs),
# valgrind (run --valgrind, the instruction pass).
# Each is optional for esbench itself: without it the matching test skips with a printed
# reason and the profile says what was not available. Does nothing for tools already present.
set -euo pipefail

want=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || want+=(chromium)
command -v strace >/dev/null 2>&1 || want+=(strace)
command -v perf >/dev/null 2>&1 || want+=(linux-perf)
{ command -v valgrind && command -v vgdb; } >/dev/null 2>&1 || want+=(valgrind)
# ip and tc: the remote tests' own network namespace and netem delay (tests/alone/remote_netns.rs).
{ command -v ip && command -v tc; } >/dev/null 2>&1 || want+=(iproute2)

if [ ${#want[@]} -eq 0 ]; then
    echo "ci-deps: chromium, strace, perf and valgrind already installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ci-deps: no apt-get; missing ${want[*]} (tests that need them will skip)" >&2
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "ci-deps: installing ${want[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}"
