"""Unified diffs of edits, for `--diff` and the `fix.diff` field of reports."""

from __future__ import annotations

import difflib
from collections import defaultdict

from iaclint.hcl.layout import apply_edits
from iaclint.model import Edit
from iaclint.source import BOM, SourceFile, split_lines


def _range(start: int, stop: int) -> str:
    """difflib's unified range: 1-based start, and the length unless it is 1."""
    length = stop - start
    beginning = start + 1
    if length == 1:
        return f"{beginning}"
    if not length:
        beginning -= 1
    return f"{beginning},{length}"


def file_diff(path: str, old: str, new: str, context: int = 3, first_line: int = 1) -> str:
    """A unified diff (git-apply-able, a/ and b/ prefixes) of one file.

    The lines the two texts share at their start and end are set aside first, so a one-line fix in a
    1 MB file costs a comparison of a few lines, not of the whole file.
    """
    if old == new:
        return ""
    a = split_lines(old, keepends=True)
    b = split_lines(new, keepends=True)
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    core = difflib.SequenceMatcher(None, a[head:len(a) - tail], b[head:len(b) - tail], autojunk=False)
    opcodes = [("equal", 0, head, 0, head)] if head else []
    opcodes += [(tag, i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2 in core.get_opcodes()]
    if tail:
        opcodes.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    out = [f"--- a/{path}\n", f"+++ b/{path}\n"]
    for group in _Composed(opcodes).get_grouped_opcodes(context):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        shift = first_line - 1
        out.append(f"@@ -{_range(i1 + shift, i2 + shift)} +{_range(j1 + shift, j2 + shift)} @@\n")
        for tag, x1, x2, y1, y2 in group:
            if tag == "equal":
                out.extend(_lines(" ", a[x1:x2]))
                continue
            out.extend(_lines("-", a[x1:x2]))
            out.extend(_lines("+", b[y1:y2]))
    return "".join(out)


class _Composed(difflib.SequenceMatcher):
    """difflib's hunk grouping over opcodes computed elsewhere (the shared head and tail, plus the core)."""

    def __init__(self, opcodes: list[tuple[str, int, int, int, int]]):
        super().__init__(None, [], [])
        merged: list[tuple[str, int, int, int, int]] = []
        for op in opcodes:
            if merged and op[0] == merged[-1][0] == "equal":
                last = merged.pop()
                op = ("equal", last[1], op[2], last[3], op[4])
            merged.append(op)
        self._opcodes = merged or [("equal", 0, 0, 0, 0)]

    def get_opcodes(self):
        return list(self._opcodes)


def _lines(prefix: str, lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if line.endswith("\n"):
            out.append(prefix + line)
        else:
            out.append(prefix + line + "\n\\ No newline at end of file\n")
    return out


def unified_diff(sources: dict[str, SourceFile], edits: list[Edit], context: int = 3) -> str:
    """The diff of one fix: only the lines around its edits are compared, so it costs the same in a
    one-line file and in a 1 MB one."""
    by_file: dict[str, list[Edit]] = defaultdict(list)
    for edit in edits:
        by_file[edit.file].append(edit)
    parts = []
    for path in sorted(by_file):
        source = sources.get(path)
        if source is None:
            continue
        group = by_file[path]
        first = max(1, source.line_col(min(e.start for e in group))[0] - context)
        last = source.line_col(max(e.end for e in group))[0] + context
        start = source.offset(first)
        end = source.line_end(source.offset(last)) if last <= source.line_col(len(source.text))[0] else len(source.text)
        region = source.text[start:end]
        shift = start
        if start == 0 and source.has_bom:  # the patch's first line holds the BOM the file holds
            region, shift = BOM + region, -1
        shifted = [Edit(e.file, e.start - shift, e.end - shift, e.replacement) for e in group]
        parts.append(file_diff(path, region, apply_edits(region, shifted), context, first))
    return "".join(parts)
