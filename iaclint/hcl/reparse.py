"""Parse an edited file again, reusing the trees of the top-level blocks its edits left alone.

`fix` and `check --diff` lint a module again after each pass of fixes, and a fix changes a few lines of a
file: parsing every edited file whole again was a fifth of that lint. The new text is cut before each
top-level block that no edit touches and that starts a line, the way hcl/tsparse.py parses a large file in
pieces (a piece parsed alone gives the nodes the whole file gives: the parity tests check it). A piece no
edit touched keeps its nodes, moved by what the edits before it added or removed; the others are parsed.
Whenever that cannot be told apart from parsing the whole file (the Lark back end, a top-level argument,
a piece that does not parse on its own), the caller parses the whole file instead, which also explains an
error where there is one.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from iaclint.hcl import ast
from iaclint.hcl.literals import ParseFailure
from iaclint.model import Span


def reparse(body: ast.Body, old: str, new: str, edits: list) -> ast.Body | None:
    """The tree parse_source gives for ``new``, which is ``old`` with ``edits`` (start, end and replacement in
    ``old``'s offsets; none overlapping) made, where ``body`` is ``old``'s tree; None: parse ``new`` whole."""
    from iaclint.hcl import parser

    if not body.items or not parser._use_tree_sitter() or not all(isinstance(i, ast.Block) for i in body.items):
        return None
    try:
        parser._check_line_endings(new)
    except ParseFailure:
        return None
    changes = sorted((e.start, e.end, len(e.replacement)) for e in edits)
    cuts = [(0, 0)]  # (offset in old, offset in new) of each piece's start: a block's first line, left alone
    moved, j = 0, 0
    for item in body.items:
        while j < len(changes) and changes[j][1] < item.start:  # edits wholly before the block
            start, end, size = changes[j]
            moved += size - (end - start)
            j += 1
        meets = j < len(changes) and changes[j][0] <= item.start  # an edit that reaches the block's start
        if not meets and item.start > 0 and old[item.start - 1] == "\n":
            cuts.append((item.start, item.start + moved))
    cuts.append((len(old), len(new)))
    items: list = []
    file = body.file
    k = 0
    starts = [e[0] for e in changes]
    for (a_old, a_new), (b_old, b_new) in zip(cuts, cuts[1:]):
        i = bisect_left(starts, a_old)  # the first edit at or after the piece's start: is it in the piece?
        edited = i < len(starts) and (starts[i] < b_old or starts[i] == b_old == len(old))
        if not edited:
            shift = a_new - a_old
            while k < len(body.items) and body.items[k].start < b_old:
                if body.items[k].start >= a_old:
                    items.append(body.items[k] if shift == 0 else _moved(body.items[k], shift))
                k += 1
            continue
        while k < len(body.items) and body.items[k].start < b_old:
            k += 1
        piece = _parse(new[a_new:b_new], file, a_new)
        if piece is None:
            return None
        items.extend(piece.items)
    if not all(isinstance(i, ast.Block) for i in items):
        return None  # top-level arguments are checked across the whole file: parse it whole
    if not items:
        return ast.Body(Span(file, 0, 0), [])
    return ast.Body(Span(file, items[0].start, items[-1].end), items)


def _parse(text: str, file: str, shift: int) -> ast.Body | None:
    from iaclint.hcl import tsparse

    try:
        return tsparse.parse_body(text, file, shift=shift)
    except (ParseFailure, RecursionError):
        return None


_PLAIN = frozenset({str, int, float, bool, type(None)})  # names, values and sizes: kept as they are


def _moved(node: Any, shift: int) -> Any:
    """A copy of a node and everything under it, ``shift`` characters further in its file."""
    kind = type(node)
    if kind in _PLAIN:
        return node
    if kind is list:
        return [item if type(item) in _PLAIN else _moved(item, shift) for item in node]
    if kind is tuple:  # a splat's steps: ("attr", name) or ("index", expr)
        return tuple(_moved(item, shift) for item in node)
    copy = object.__new__(kind)
    copy.file, copy.start, copy.size = node.file, node.start + shift, node.size
    for name in kind._state:
        value = getattr(node, name)
        setattr(copy, name, value if type(value) in _PLAIN else _moved(value, shift))
    if kind is ast.Block:  # offsets in the file, not sizes
        copy.open_brace, copy.close_brace = node.open_brace + shift, node.close_brace + shift
    return copy
