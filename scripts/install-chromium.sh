#!/usr/bin/env bash
# Installs Debian's chromium (for the report's browser test, tests/it/report_browser.rs) when it
# is missing. Needs root or sudo and the package registry; does nothing if it is installed.
set -euo pipefail

for bin in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    if [ -x "$bin" ]; then
        echo "chromium: already installed ($bin)"
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium: apt-get not found; install Chromium by hand (the browser test skips without it)" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "chromium: not root and no sudo; cannot install" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium
echo "chromium: installed ($(command -v chromium))"
