#!/usr/bin/env python3
"""Replaces the block between `<!-- BEGIN generated: NAME -->` and `<!-- END generated: NAME -->`
in a Markdown file with the text read from stdin, so a measured table in docs/ is only ever
written by the script that measured it.

    some-script | scripts/splice-generated.py docs/instrument.md NAME
"""
import sys

path, name = sys.argv[1], sys.argv[2]
begin, end = f"<!-- BEGIN generated: {name} -->", f"<!-- END generated: {name} -->"
text = open(path, encoding="utf-8").read()
if begin not in text or end not in text:
    sys.exit(f"{path}: no '{begin}' … '{end}' block to replace")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
body = sys.stdin.read().strip("\n")
with open(path + ".tmp", "w", encoding="utf-8") as f:
    f.write(f"{head}{begin}\n{body}\n{end}{tail}")
import os

os.replace(path + ".tmp", path)
