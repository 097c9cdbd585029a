#!/usr/bin/env bash
# Prints the true minimum Rust version: the highest `rust-version` among the locked
# dependencies for this platform, and which crates need it. Cargo.toml's `rust-version` and
# the README's "Rust X or newer" must say the same (tests/it/msrv.rs checks it).
#
#   scripts/msrv.sh            # e.g. "1.95  (sysinfo 0.40.1)"
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
cargo metadata --format-version 1 --locked --filter-platform "$host" | python3 -c '
import json, sys
m = json.load(sys.stdin)
ids = {n["id"] for n in m["resolve"]["nodes"]}
key = lambda v: tuple(int(x) for x in (v.split(".") + ["0", "0"])[:3])
need = [(key(p["rust_version"]), p["rust_version"], p["name"] + " " + p["version"])
        for p in m["packages"]
        if p.get("rust_version") and p["id"] in ids and p["name"] != "esbench"]
top = max(need)[0]
print(max(need)[1], " (" + ", ".join(w for k, _, w in need if k == top) + ")")
'
