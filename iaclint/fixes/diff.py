"""Unified diffs of edits, for `--diff` and the `fix.diff` field of reports."""

from __future__ import annotations

import difflib
from bisect import bisect_right
from collections import defaultdict

from iaclint.model import Edit
from iaclint.source import BOM, SourceFile, split_lines

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Sequence


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


def _hunks(old: str, new: str, context: int, first_line: int) -> str:
    """The hunks of `file_diff`, without its header; ``first_line``: the line number of the texts' first line."""
    if old == new:
        return ""
    a = split_lines(old, keepends=True)
    b = split_lines(new, keepends=True)
    shift = first_line - 1
    return _write_hunks(_opcodes(a, b, shift=shift, new_shift=shift), context, lambda i: a[i - shift],
                        lambda j: b[j - shift])


def _opcodes(a: list[str], b: list[str], tail_first: bool = False, shift: int = 0, new_shift: int = 0) -> list:
    """difflib's opcodes of two lists of lines, the lines they share at their start and end set aside first
    (``tail_first``: those at the end first, so a line inserted next to an equal one is shown before it), each
    index moved by ``shift`` (``new_shift`` for ``b``)."""
    head = tail = 0
    if tail_first:
        while tail < len(a) and tail < len(b) and a[-1 - tail] == b[-1 - tail]:
            tail += 1
    while head < len(a) - tail and head < len(b) - tail and a[head] == b[head]:
        head += 1
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    core = difflib.SequenceMatcher(None, a[head:len(a) - tail], b[head:len(b) - tail], autojunk=False)
    out = [("equal", shift, shift + head, new_shift, new_shift + head)] if head else []
    out += [(tag, i1 + head + shift, i2 + head + shift, j1 + head + new_shift, j2 + head + new_shift)
            for tag, i1, i2, j1, j2 in core.get_opcodes()]
    if tail:
        out.append(("equal", len(a) - tail + shift, len(a) + shift, len(b) - tail + new_shift, len(b) + new_shift))
    return out


def _write_hunks(opcodes: list, context: int, old_line, new_line) -> str:
    """The hunks of opcodes (0-based line indexes in the file), as difflib.unified_diff writes them; ``old_line(i)``
    and ``new_line(j)`` give a line by its index."""
    out = []
    for group in _Composed(opcodes).get_grouped_opcodes(context):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.append(f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@\n")
        for tag, x1, x2, y1, y2 in group:
            if tag == "equal":
                out.extend(_lines(" ", [old_line(i) for i in range(x1, x2)]))
                continue
            out.extend(_lines("-", [old_line(i) for i in range(x1, x2)]))
            out.extend(_lines("+", [new_line(j) for j in range(y1, y2)]))
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
SLIDE = 10  # equal lines around a group of edits where a line inserted next to equal ones may be shown
GROUP = 200  # lines of a group of edits compared together at most (difflib's time grows with their square)


def edits_diff(path: str, source: SourceFile, edits: list[tuple[int, int, str]], context: int = 3,
               whole_file: bool = False) -> str:
    """The unified diff that applying ``edits`` ((start, end, replacement) on ``source.text``, not overlapping)
    makes, built from the edits and the lines around them, so its cost is that of the lines edited, not of
    the file: a 5 MB file's thousands of fixes make one patch in linear time.

    The lines from the first edit to the last, with ``context`` lines around them (``whole_file``: the whole
    file), are compared as `file_diff` compares texts when they are at most ONE_COMPARISON lines: the diff is
    then difflib's own. Otherwise each group of edits that come within 2 x ``context`` lines of each other (up to
    GROUP lines) is compared on its own
    with up to SLIDE equal lines around it, the lines it shares with the old text set aside from its start
    (from its end for the file's last group, as difflib sets aside the lines the file ends with), and the
    lines between groups are equal; the one difference that can make from difflib over the whole texts is
    where a line inserted or removed next to equal lines is shown.
    """
    if not edits:
        return ""
    edits = sorted(edits, key=lambda e: (e[0], e[1]))
    lines = [(source.line_col(start)[0], source.line_col(end)[0]) for start, end, _ in edits]
    text = source.text
    last_line = source.line_col(len(text))[0]
    if whole_file and last_line <= ONE_COMPARISON:
        body = _hunks(*_region(source, 1, last_line, edits), context, 1)
    elif lines[-1][1] - lines[0][0] + 2 * context < ONE_COMPARISON:
        first = max(1, lines[0][0] - context)
        body = _hunks(*_region(source, first, lines[-1][1] + context, edits), context, first)
    else:
        body = _grouped_hunks(source, edits, lines, context)
    return f"--- a/{path}\n+++ b/{path}\n{body}" if body else ""


def _region(source: SourceFile, first: int, last: int, edits: list[tuple[int, int, str]]) -> tuple[str, str]:
    """The text of lines ``first`` to ``last`` (1-based; a BOM included on the first line), before and after the
    edits (all inside those lines)."""
    text = source.text
    start = source.offset(first)
    end = source.line_end(source.offset(last)) if last <= source.line_col(len(text))[0] else len(text)
    shift = start
    old = text[start:end]
    if start == 0 and source.has_bom:  # the patch's first line holds the BOM the file holds
        old, shift = BOM + old, -1
    pieces, cursor = [], 0
    for edit_start, edit_end, replacement in edits:
        pieces += [old[cursor:edit_start - shift], replacement]
        cursor = edit_end - shift
    pieces.append(old[cursor:])
    return old, "".join(pieces)


def _grouped_hunks(source: SourceFile, edits: list[tuple[int, int, str]], lines: list[tuple[int, int]],
                   context: int) -> str:
    """The hunks of edits spread over a large file: each group of nearby edits compared with the equal lines around
    it, the lines between groups equal."""
    groups: list[list] = []  # [first line, last line, edits]
    for edit, (first, last) in zip(edits, lines):
        if groups and first <= groups[-1][1] + 1 + 2 * context and last - groups[-1][0] < GROUP:
            groups[-1][1] = max(groups[-1][1], last)
            groups[-1][2].append(edit)
        else:
            groups.append([first, last, [edit]])
    text = source.text
    total = text.count("\n") + (1 if text and not text.endswith("\n") else 0)  # as split_lines counts them
    opcodes: list = []
    windows: list[tuple[int, list[str], int, list[str]]] = []  # (old start, old lines, new start, new lines)
    added = 0  # lines the groups before this one added (or removed, when negative)
    done = 0  # old lines (0-based end) already in opcodes
    for index, (first, last, group) in enumerate(groups):
        before = groups[index - 1][1] + 1 if index else 1
        after = groups[index + 1][0] - 1 if index + 1 < len(groups) else total
        first, last = max(first - SLIDE, before, done + 1), min(last + SLIDE, after)
        old, new = _region(source, first, last, group)
        a, b = split_lines(old, keepends=True), split_lines(new, keepends=True)
        if first - 1 > done:
            opcodes.append(("equal", done, first - 1, done + added, first - 1 + added))
        opcodes += _opcodes(a, b, index == len(groups) - 1 and index > 0, first - 1, first - 1 + added)
        windows.append((first - 1, a, first - 1 + added, b))
        added += len(b) - len(a)
        done = first - 1 + len(a)
    if done < total:
        opcodes.append(("equal", done, total, done + added, total + added))
    starts = [w[0] for w in windows]
    new_starts = [w[2] for w in windows]

    def old_line(i: int) -> str:
        w = bisect_right(starts, i) - 1
        if w >= 0 and i < starts[w] + len(windows[w][1]):
            return windows[w][1][i - starts[w]]
        return _source_line(source, i)

    def new_line(j: int) -> str:  # changed lines are always inside a window
        w = bisect_right(new_starts, j) - 1
        return windows[w][3][j - new_starts[w]]

    return _write_hunks(opcodes, context, old_line, new_line)


def _source_line(source: SourceFile, index: int) -> str:
    """Line ``index`` (0-based) of the file with its line ending, a BOM on the first."""
    start = source.offset(index + 1)
    line = source.text[start:source.line_end(start)]
    return BOM + line if index == 0 and source.has_bom else line


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
