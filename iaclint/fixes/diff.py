"""Unified diffs of edits, for `--diff` and the `fix.diff` field of reports."""

from __future__ import annotations

import difflib
from collections import defaultdict

from iaclint.hcl.layout import apply_edits
from iaclint.model import Edit
from iaclint.source import SourceFile


def file_diff(path: str, old: str, new: str) -> str:
    if old == new:
        return ""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}")
    out = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def unified_diff(sources: dict[str, SourceFile], edits: list[Edit]) -> str:
    by_file: dict[str, list[Edit]] = defaultdict(list)
    for edit in edits:
        by_file[edit.file].append(edit)
    parts = []
    for path in sorted(by_file):
        source = sources.get(path)
        if source is None:
            continue
        parts.append(file_diff(path, source.text, apply_edits(source.text, by_file[path])))
    return "".join(parts)
