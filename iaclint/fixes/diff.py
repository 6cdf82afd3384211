"""Unified diffs of edits, for `--diff` and the `fix.diff` field of reports."""

from __future__ import annotations

import difflib
from collections import defaultdict
from typing import Sequence

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
    """A unified diff (git-apply-able, a/ and b/ prefixes) of one file, as difflib.unified_diff makes it.

    The lines the two texts share at their start and end are set aside first, so a one-line fix in a
    1 MB file costs a comparison of a few lines, not of the whole file; many changes spread over a large
    file still cost difflib's time over all of it: a patch of edits is made by `edits_diff`.
    """
    if old == new:
        return ""
    return f"--- a/{path}\n+++ b/{path}\n{_hunks(old, new, context, first_line)}"


def _hunks(old: str, new: str, context: int, first_line: int, new_first_line: int | None = None,
           tail_first: bool = False) -> str:
    """The hunks of `file_diff`, without its header; ``first_line``: the line number of the texts' first line
    (``new_first_line``: of the new text's, when lines before it were added or removed). ``tail_first``: the
    lines shared at the end are set aside before those at the start (where they overlap, a line inserted next
    to an equal one is shown after it, not before)."""
    if old == new:
        return ""
    a = split_lines(old, keepends=True)
    b = split_lines(new, keepends=True)
    head = tail = 0
    if tail_first:
        while tail < len(a) and tail < len(b) and a[-1 - tail] == b[-1 - tail]:
            tail += 1
    while head < len(a) - tail and head < len(b) - tail and a[head] == b[head]:
        head += 1
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    core = difflib.SequenceMatcher(None, a[head:len(a) - tail], b[head:len(b) - tail], autojunk=False)
    opcodes = [("equal", 0, head, 0, head)] if head else []
    opcodes += [(tag, i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2 in core.get_opcodes()]
    if tail:
        opcodes.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    out = []
    for group in _Composed(opcodes).get_grouped_opcodes(context):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        shift = first_line - 1
        new_shift = shift if new_first_line is None else new_first_line - 1
        out.append(f"@@ -{_range(i1 + shift, i2 + shift)} +{_range(j1 + new_shift, j2 + new_shift)} @@\n")
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


def unified_diff(sources: dict[str, SourceFile], edits: Sequence[Edit], context: int = 3) -> str:
    """The diff of one fix's edits, file by file (see edits_diff)."""
    by_file: dict[str, list[Edit]] = defaultdict(list)
    for edit in edits:
        by_file[edit.file].append(edit)
    parts = []
    for path in sorted(by_file):
        source = sources.get(path)
        if source is not None:
            parts.append(edits_diff(path, source, [(e.start, e.end, e.replacement) for e in by_file[path]], context))
    return "".join(parts)


ONE_COMPARISON = 2_000  # lines: edits within this many lines of each other are compared together, as difflib does
SLIDE = 10  # lines around a region besides its context, where a line inserted next to equal ones may be shown


def _regions(edits: list[tuple[int, int, str]], lines: list[tuple[int, int]], margin: int) -> list[list]:
    """[first line, last line, edits] of the edits whose lines, with ``margin`` lines around them, meet."""
    regions: list[list] = []
    for edit, (first, last) in zip(edits, lines):
        first, last = max(1, first - margin), last + margin
        if regions and first <= regions[-1][1] + 1:
            regions[-1][1] = max(regions[-1][1], last)
            regions[-1][2].append(edit)
        else:
            regions.append([first, last, [edit]])
    return regions


def edits_diff(path: str, source: SourceFile, edits: list[tuple[int, int, str]], context: int = 3,
               whole_file: bool = False) -> str:
    """The unified diff that applying ``edits`` ((start, end, replacement) on ``source.text``, not overlapping)
    makes, built from the edits and the lines around them, so its cost is that of the lines edited, not of
    the file: a 5 MB file's thousands of fixes make one patch in linear time.

    The lines from the first edit to the last, with ``context`` lines around them (``whole_file``: the whole
    file), are compared as `file_diff` compares texts when they are at most ONE_COMPARISON lines: the diff is
    then difflib's own. Otherwise each region of edits that come within 2 x ``context`` lines of each other
    (difflib would put them in one hunk) is compared on its own, the first region's shared lines set aside
    from its start and the last's from its end, as difflib does with the file's; the one difference that can
    make from difflib over the whole texts is where a line inserted or removed next to equal lines is shown.
    """
    edits = sorted(edits, key=lambda e: (e[0], e[1]))
    lines = [(source.line_col(start)[0], source.line_col(end)[0]) for start, end, _ in edits]
    text = source.text
    last_line = source.line_col(len(text))[0]
    if not edits:
        return ""
    if whole_file and last_line <= ONE_COMPARISON:
        regions = [[1, last_line, edits]]
    elif lines[-1][1] - lines[0][0] + 2 * context < ONE_COMPARISON:
        regions = [[max(1, lines[0][0] - context), lines[-1][1] + context, edits]]
    else:
        regions = _regions(edits, lines, context + SLIDE)
    hunks = []
    added = 0  # lines the regions before this one added (or removed, when negative)
    for index, (first, last, group) in enumerate(regions):
        start = source.offset(first)
        end = source.line_end(source.offset(last)) if last <= last_line else len(text)
        shift = start
        old = text[start:end]
        if start == 0 and source.has_bom:  # the patch's first line holds the BOM the file holds
            old, shift = BOM + old, -1
        pieces, cursor = [], 0
        for edit_start, edit_end, replacement in group:
            pieces += [old[cursor:edit_start - shift], replacement]
            cursor = edit_end - shift
        pieces.append(old[cursor:])
        new = "".join(pieces)
        hunks.append(_hunks(old, new, context, first, first + added, tail_first=0 < index == len(regions) - 1))
        added += new.count("\n") - old.count("\n")
    body = "".join(hunks)
    return f"--- a/{path}\n+++ b/{path}\n{body}" if body else ""


class ComposedEdits:
    """The edits of successive passes (each on the text the previous ones made) as edits of the original text.

    The text is kept as pieces: (start, end) ranges of the original and strings the edits wrote. Applying a pass
    walks the pieces once, so a fix loop over a large file stays linear.
    """

    __slots__ = ("length", "pieces")

    def __init__(self, length: int):
        self.length = length
        self.pieces: list[tuple[int, int] | str] = [(0, length)] if length else []

    def apply(self, edits: Sequence[Edit]) -> "ComposedEdits":
        """A new composition: these edits (on the text as composed so far, not overlapping) made as well."""
        pieces = self.pieces
        out: list[tuple[int, int] | str] = []
        i, position = 0, 0  # pieces[i] starts at ``position`` of the current text
        current = pieces[0] if pieces else None
        for edit in sorted(edits, key=lambda e: (e.start, e.end)):  # apply_edits's order
            while current is not None and position + _size(current) <= edit.start:
                out.append(current)
                position += _size(current)
                i += 1
                current = pieces[i] if i < len(pieces) else None
            if current is not None and edit.start > position:
                left, current = _split(current, edit.start - position)
                out.append(left)
                position = edit.start
            while current is not None and position + _size(current) <= edit.end:
                position += _size(current)
                i += 1
                current = pieces[i] if i < len(pieces) else None
            if current is not None and edit.end > position:
                current = _split(current, edit.end - position)[1]
                position = edit.end
            if edit.replacement:
                out.append(edit.replacement)
        if current is not None:
            out.append(current)
            out.extend(pieces[i + 1:])
        composed = ComposedEdits(self.length)
        composed.pieces = out
        return composed

    def edits(self) -> list[tuple[int, int, str]]:
        """(start, end, replacement) on the original text, in order, not overlapping."""
        out: list[tuple[int, int, str]] = []
        written: list[str] = []
        position = 0
        for piece in self.pieces:
            if isinstance(piece, str):
                written.append(piece)
                continue
            start, end = piece
            if start > position or written:
                out.append((position, start, "".join(written)))
                written = []
            position = end
        if position < self.length or written:
            out.append((position, self.length, "".join(written)))
        return out


def _size(piece: tuple[int, int] | str) -> int:
    return len(piece) if isinstance(piece, str) else piece[1] - piece[0]


def _split(piece: tuple[int, int] | str, at: int) -> tuple:
    if isinstance(piece, str):
        return piece[:at], piece[at:]
    return (piece[0], piece[0] + at), (piece[0] + at, piece[1])
