#!/usr/bin/env python3
"""Compare iaclint's two HCL back ends (tree-sitter and Lark) on every .tf file under the given paths.

Usage: python scripts/parity.py DIR_OR_FILE ...

For each file it reports: the same tree (spans included), both rejecting it, tree-sitter handing the
file to Lark (a syntax error tree-sitter sees; Lark then decides), or a difference, which is a bug in
iaclint/hcl/tsparse.py. Exits 1 when any file differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from iaclint.hcl import ast, larkparse, tsparse
from iaclint.hcl.literals import ParseFailure
from iaclint.source import SourceFile


def first_difference(a, b, path="") -> str:
    if type(a) is not type(b):
        return f"{path}: {str(a)[:120]} != {str(b)[:120]}"
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}: {str(a)[:200]} / {str(b)[:200]}"
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{path}/{a[0] if a and isinstance(a[0], str) else i}")
    return f"{path}: {a!r} != {b!r}"


def compare(path: Path) -> tuple[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return "unreadable", str(exc)
    source = SourceFile(str(path), text)
    try:
        lark_tree = ast.dump(larkparse.parse_source(source))
    except (ParseFailure, RecursionError) as exc:
        lark_tree = f"rejected: {exc}"
    try:
        ts = tsparse.parse_body(text, str(path))
        ts_tree = ast.dump(ts) if ts is not None else None
    except ParseFailure as exc:
        ts_tree = f"rejected: {exc}"
    if ts_tree is None:
        return "handed to lark", str(lark_tree)[:80] if isinstance(lark_tree, str) else "lark accepts"
    if ts_tree == lark_tree:
        return ("both reject" if isinstance(ts_tree, str) else "same"), ""
    return "DIFFERENT", first_difference(ts_tree, lark_tree)


def main() -> int:
    counts: dict[str, int] = {}
    for arg in sys.argv[1:]:
        root = Path(arg)
        files = [root] if root.is_file() else sorted(root.rglob("*.tf"))
        for path in files:
            verdict, detail = compare(path)
            counts[verdict] = counts.get(verdict, 0) + 1
            if verdict not in ("same", "both reject"):
                print(f"{verdict}: {path}: {detail}")
    print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return 1 if counts.get("DIFFERENT") else 0


if __name__ == "__main__":
    sys.exit(main())
