#!/usr/bin/env python3
"""Prints criterion's medians of a saved baseline against the latest run, per benchmark, as a
Markdown table (ns per operation: the benches do N = 1000 operations per iteration), with the
same-run ratio of each runtime to a reference one — on a loaded machine the unchanged
runtimes move as much as a changed one, so the ratio within a run is the comparison that
holds. Splice it into a doc:

    cargo bench --bench scheduler -- --save-baseline before   # on the old tree
    cargo bench --bench scheduler -- --baseline before        # on the new tree
    scripts/criterion-table.py before coop tokio-current | scripts/splice-generated.py docs/coop.md coop-bench
"""
import json, os, sys

baseline, subject, reference = sys.argv[1], sys.argv[2], sys.argv[3]
root, n = "target/criterion", 1000
def median(group, bench, which):
    path = f"{root}/{group}/{bench}/{which}/estimates.json"
    return json.load(open(path))["median"]["point_estimate"] / n if os.path.exists(path) else None
print(f"criterion medians, ns per operation, baseline `{baseline}` → the latest run "
      f"(`target/criterion/<group>/<bench>/{{{baseline},new}}/estimates.json`); the last "
      f"column is {subject} ÷ {reference} within each run:\n")
print(f"| benchmark | runtime | {baseline} | latest | change | {subject} ÷ {reference}, {baseline} → latest |")
print("|---|---|---:|---:|---:|---|")
for group in sorted(os.listdir(root)):
    gdir = f"{root}/{group}"
    if not os.path.isdir(gdir) or group == "report":
        continue
    benches = sorted(b for b in os.listdir(gdir) if b != "report" and os.path.isdir(f"{gdir}/{b}"))
    ref = [median(group, reference, w) for w in (baseline, "new")]
    for b in benches:
        old, new = median(group, b, baseline), median(group, b, "new")
        if old is None or new is None:
            continue
        ratio = ""
        if b == subject and None not in ref:
            ratio = f"{old / ref[0]:.2f} → {new / ref[1]:.2f}"
        print(f"| {group} | {b} | {old:.0f} | {new:.0f} | {100 * (new / old - 1):+.0f} % | {ratio} |")
