"""Minimal text edits on HCL source that keep every untouched byte and stay `terraform fmt`-clean.

terraform fmt aligns the `=` of consecutive single-line attributes (a run ends at a blank line, a
comment line, a nested block, or an attribute whose brackets span lines; heredoc bodies do not end
it). An inserted attribute joins the last run; when its name is longer than the run's, only the
spaces before each neighbour's `=` change, exactly as terraform fmt would re-align them.
"""

from __future__ import annotations

from iaclint.hcl import ast
from iaclint.hcl.literals import outside_strings
from iaclint.model import Edit
from iaclint.source import SourceFile

INDENT = "  "


class LayoutError(Exception):
    """An edit that cannot be made without touching more than it should; the message says why."""


def replace(source: SourceFile, node: ast.Node, text: str) -> Edit:
    return Edit(source.path, node.start, node.end, text)


def replace_value(source: SourceFile, start: int, end: int, text: str) -> list[Edit]:
    """Replace a value, keeping trailing comments where terraform fmt wants them.

    fmt aligns the trailing comments of consecutive lines one space after the longest code, and
    puts a lone trailing comment one space after the code; when the new value changes the length
    of a commented line, only the spaces before those comments are adjusted.
    """
    edits = [Edit(source.path, start, end, text)]
    line_no = _line(source, start)
    if line_no != _line(source, end):
        return edits
    delta = len(text) - (end - start)
    if delta == 0:
        return edits
    chain = _comment_chain(source, line_no)
    if not chain:
        return edits
    code_ends = {n: code_end for n, code_end, _ in chain}
    code_ends[line_no] += delta
    target = max(code_ends.values()) + 1
    for n, code_end, comment_start in chain:
        spaces = target - code_ends[n] if len(chain) > 1 else 1
        if spaces == comment_start - code_end:
            continue
        line_start = source.offset(n)
        edits.append(Edit(source.path, line_start + code_end, line_start + comment_start, " " * spaces))
    return edits


def _trailing_comment(line: str) -> tuple[int, int] | None:
    """(end of code, start of comment) for a line with code and a trailing comment, else None."""
    for i in outside_strings(line):
        if line[i] == "#" or line.startswith("//", i):
            code = line[:i].rstrip()
            return (len(code), i) if code.strip() else None
    return None


def _comment_chain(source: SourceFile, line_no: int) -> list[tuple[int, int, int]]:
    """Consecutive lines around ``line_no`` that end in a comment: (line, code end, comment start)."""
    own = _trailing_comment(source.line_text(line_no))
    if own is None:
        return []
    chain = [(line_no, *own)]
    last_line = len(source._line_starts)
    for step in (-1, 1):
        n = line_no + step
        while 1 <= n <= last_line:
            found = _trailing_comment(source.line_text(n))
            if found is None:
                break
            chain.append((n, *found))
            n += step
    return sorted(chain)


def literal_like(original: ast.Expr, value: bool) -> str:
    """`true`, or `"true"` where the original was a quoted string (provider v6 string flags)."""
    word = "true" if value else "false"
    if isinstance(original, ast.Template) and not original.heredoc:
        return f'"{word}"'
    return word


def line_indent(source: SourceFile, offset: int) -> str:
    start = source.line_start(offset)
    text = source.text
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


def _line(source: SourceFile, offset: int) -> int:
    return source.line_col(offset)[0]


def _single_line(source: SourceFile, attr: ast.Attribute) -> bool:
    if isinstance(attr.expr, ast.Template) and attr.expr.heredoc:
        return True  # heredoc bodies do not break terraform fmt's alignment runs
    return _line(source, attr.start) == _line(source, attr.end)


def _equals_column(source: SourceFile, attr: ast.Attribute) -> int:
    """Column (0-based, in characters) of the attribute's `=`."""
    text = source.text
    pos = (attr.start + attr.name_size)
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos - source.line_start(attr.start)


def written_in(source: SourceFile, block: ast.Block) -> ast.Block:
    """The block as written in ``source``: a block merged with override files (graph/overrides.py) holds items
    of other files, whose offsets mean nothing here; an insertion goes among the items of this file."""
    items = block.body.items
    if all(item.file == source.path for item in items):
        return block
    own = [item for item in items if item.file == source.path]
    return ast.Block(block.span, block.type, list(block.labels), ast.Body(block.body.span, own), block.open_brace,
                     block.close_brace, block.header_span)


def alignment_run(source: SourceFile, block: ast.Block, last: ast.Attribute) -> list[ast.Attribute]:
    """The run of consecutive single-line attributes terraform fmt aligns together with ``last``."""
    block = written_in(source, block)
    items = block.body.items
    index = items.index(last)
    if not _single_line(source, last):
        return []
    run = [last]
    for item in reversed(items[:index]):
        previous = run[-1]
        if not isinstance(item, ast.Attribute) or not _single_line(source, item):
            break
        if _line(source, item.end) + 1 != _line(source, previous.start):
            break  # a blank or comment line in between
        run.append(item)
    run.reverse()
    return run


def insert_attribute(source: SourceFile, block: ast.Block, name: str, value: str) -> list[Edit]:
    """Insert `name = value` as the block's last attribute, aligned the way terraform fmt would."""
    return insert_attributes(source, block, [(name, value)])


def _lines(indent: str, pairs: list[tuple[str, str]], column: int, nl: str) -> str:
    """Attribute lines with their `=` at ``column`` (0-based, counted from the line start)."""
    return "".join(f"{indent}{name}{' ' * max(1, column - len(indent) - len(name))}= {value}{nl}"
                   for name, value in pairs)


def _insert_attributes(source: SourceFile, block: ast.Block, pairs: list[tuple[str, str]]) -> Edit:
    """Insert attributes after the block's last one, as one aligned group; _Realign when the run must move."""
    block = written_in(source, block)
    nl = source.newline
    open_line = _line(source, block.open_brace)
    close_line = _line(source, block.close_brace)
    block_indent = line_indent(source, block.start)
    own_column = max(len(name) for name, _ in pairs) + 1  # a run of their own: aligned among themselves
    if open_line == close_line:
        if block.body.items:
            raise LayoutError("the block is written on one line; rewrite it over several lines first")
        inner = block_indent + INDENT
        return Edit(source.path, block.open_brace, block.close_brace + 1,
                    "{" + nl + _lines(inner, pairs, len(inner) + own_column, nl) + block_indent + "}")
    attributes = block.body.attributes
    if not attributes:
        first_item = block.body.items[0] if block.body.items else None
        inner = line_indent(source, first_item.start) if first_item else block_indent + INDENT
        position = source.line_end(block.open_brace)
        suffix = nl if first_item is not None and not isinstance(first_item, ast.Attribute) else ""
        return Edit(source.path, position, position, _lines(inner, pairs, len(inner) + own_column, nl) + suffix)
    last = attributes[-1]
    indent = line_indent(source, last.start)
    position = source.line_end(last.end)
    if position > source.line_start(block.close_brace) and _line(source, last.end) == close_line:
        raise LayoutError("the block's closing brace is on the line of its last attribute; put it on a line of "
                          "its own first")
    run = alignment_run(source, block, last)
    if not run:
        return Edit(source.path, position, position, _lines(indent, pairs, len(indent) + own_column, nl))
    column = _equals_column(source, last)
    if all(column - len(indent) - len(name) >= 1 for name, _ in pairs):
        return Edit(source.path, position, position, _lines(indent, pairs, column, nl))
    raise _Realign(column, max(len(indent) + len(name) + 1 for name, _ in pairs))


class _Realign(Exception):
    """The inserted names are longer than the run's: the run's `=` moves to ``wanted``."""

    def __init__(self, column: int, wanted: int):
        super().__init__("realign")
        self.column = column
        self.wanted = wanted


def insert_attributes(source: SourceFile, block: ast.Block, pairs: list[tuple[str, str]]) -> list[Edit]:
    """Insert attributes as the block's last ones, re-padding the neighbours' `=` when a longer name joins
    their run (the only bytes of theirs that change), so the file stays terraform fmt-clean."""
    block = written_in(source, block)
    try:
        return [_insert_attributes(source, block, pairs)]
    except _Realign as realign:
        last = block.body.attributes[-1]
        indent = line_indent(source, last.start)
        edits = []
        for attr in alignment_run(source, block, last):
            pad_start = (attr.start + attr.name_size)
            pad_end = source.line_start(attr.start) + _equals_column(source, attr)
            spaces = realign.wanted - ((attr.start + attr.name_size) - source.line_start(attr.start))
            edits.append(Edit(source.path, pad_start, pad_end, " " * spaces))
        position = source.line_end(last.end)
        edits.append(Edit(source.path, position, position, _lines(indent, pairs, realign.wanted, source.newline)))
        return edits


# A block's content to write: argument name -> HCL expression text, or block name -> its own content.
BlockContent = dict[str, "str | BlockContent"]


def block_text(name: str, content: BlockContent, indent: str, nl: str) -> str:
    """`name { ... }` as terraform fmt writes it: the arguments first, aligned, then the nested blocks."""
    inner = indent + INDENT
    pairs = [(k, v) for k, v in content.items() if isinstance(v, str)]
    text = f"{indent}{name} {{{nl}"
    if pairs:
        text += _lines(inner, pairs, len(inner) + max(len(n) for n, _ in pairs) + 1, nl)
    for child, body in content.items():
        if not isinstance(body, str):
            text += block_text(child, body, inner, nl)
    return text + f"{indent}}}{nl}"


def insert_blocks(source: SourceFile, block: ast.Block, blocks: list[tuple[str, BlockContent]]) -> Edit:
    """Add nested blocks (themselves holding arguments and blocks) as the block's last items, after a blank line."""
    block = written_in(source, block)
    nl = source.newline
    if _line(source, block.open_brace) == _line(source, block.close_brace):
        raise LayoutError("the block is written on one line; rewrite it over several lines first")
    close_start = source.line_start(block.close_brace)
    if source.text[close_start:block.close_brace].strip():
        raise LayoutError("the block's closing brace is not on a line of its own")
    indent = line_indent(source, block.start) + INDENT
    text = "".join((nl if block.body.items or index else "") + block_text(name, content, indent, nl)
                   for index, (name, content) in enumerate(blocks))
    return Edit(source.path, close_start, close_start, text)


def insert_block(source: SourceFile, block: ast.Block, name: str, pairs: list[tuple[str, str]]) -> Edit:
    """Add a nested block with aligned attributes as the block's last item, after a blank line."""
    return insert_blocks(source, block, [(name, dict(pairs))])


def insert_after_block(source: SourceFile, block: ast.Block, snippet: str) -> Edit:
    """Add a new top-level block (snippet lines joined with '\\n') after ``block``, blank line between."""
    nl = source.newline
    body = snippet.replace("\n", nl)
    position = source.line_end(block.end)
    if position == len(source.text) and not source.text.endswith("\n"):
        # keep a missing final newline missing
        return Edit(source.path, position, position, nl + nl + body.rstrip("\r\n"))
    return Edit(source.path, position, position, nl + body)


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits to one file's text."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for a, b in zip(ordered, ordered[1:]):
        if a.end > b.start:
            raise LayoutError("edits overlap")
    out = []
    cursor = 0
    for edit in ordered:
        out.append(text[cursor:edit.start])
        out.append(edit.replacement)
        cursor = edit.end
    out.append(text[cursor:])
    return "".join(out)
