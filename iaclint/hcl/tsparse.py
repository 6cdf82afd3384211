"""Build iaclint's HCL tree from a tree-sitter-hcl parse: the fast path of parser.parse_source.

tree-sitter parses HCL about 7x faster than python-hcl2's Lark grammar and keeps its tree in C, so a
large file no longer costs gigabytes. It is error-tolerant, which iaclint does not want: a file whose
tree has any error node is handed back (``None``) and parser.py parses it with Lark, whose messages
and whose acceptance of the few forms tree-sitter-hcl rejects (`2e3`) the tests pin. Everything else
terraform rejects but tree-sitter accepts is checked here, with the same messages as the Lark builder
(duplicate attributes, two arguments on a line, strings spanning lines, unknown escapes, templated
labels). The resulting tree is identical to the Lark builder's, spans included; the parity test and
`scripts/parity.py` compare the two on every fixture and on real repositories.

Building that tree cost more than tree-sitter's parse when every node was visited from Python. Most
values are plain, though, and a plain node's text alone fixes its tree (see _PLAIN): those are built from
one regular expression match on the node's bytes, and only the rest is walked node by node. Most lines are
plain too (`name = plain value`, `type "label" {`, `}`, blank or a comment): a block's body of such lines is read
from its text line by line, and so are the lines a file starts with, before tree-sitter sees it. A file of plain
lines is valid HCL, which tree-sitter-hcl reads as its text says except for the few forms _TreeBuilder.lines leaves
to it (`[for]`, `true(1)`, `[,]`, a NUL), so such a file is never handed to tree-sitter at all, and one that
stops being plain is parsed from the first top-level item that is not: on trees of many small files (KICS's
fixtures) tree-sitter's own parse had become most of the time spent reading them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from sys import intern
from functools import lru_cache

from iaclint.hcl import ast
from iaclint.hcl.literals import ParseFailure, number_literal, trim_heredoc
from iaclint.model import Span

_TEMPLATE_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)|\$\$\{|%%\{", re.S)
_HEREDOC_ESCAPE = re.compile(r"\$\$\{|%%\{")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_SKIP = frozenset({"comment"})
_FREE_INSIDE = frozenset({"collection_value", "for_expr", "template_expr", "comment"})  # see _breaks_line
_BINARY = frozenset({"+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"})
_WIDE = re.compile(r"[^\x00-\x7f]")
_new = object.__new__
_BODY = None  # tree-sitter-hcl's kind id of `body`, set with the parser

# Most values are plain: a string without escapes or template sequences, a whole or decimal number, true,
# false, null, or a name with attribute steps (var.x, aws_kms_key.k.arn). Their meaning is fixed by their
# text, so a node whose bytes are exactly one of them is built from a regular expression match instead of
# from its tree-sitter subtree (four to eight nodes, each a Python object and a few calls). Anything else,
# a comment or a line break included, does not match and is built node by node.
_NAME = rb"[A-Za-z_][A-Za-z0-9_-]*"
# string text without escapes or template sequences (a `$` or `%` not starting one is text), unrolled for speed
_TEXT = rb"[^\"\\\r\n$%]*+(?:(?:\$(?![{$])|%(?![{%]))[^\"\\\r\n$%]*+)*+"
_PLAIN = rb'"(' + _TEXT + rb')"|([0-9]+(?:\.[0-9]+)?)|(' + _NAME + rb"(?:\." + _NAME + rb")*)"
_PLAIN_EXPR = re.compile(_PLAIN)  # groups 1-3: string text, number, name with steps
_PLAIN_ATTRIBUTE = re.compile(rb"(" + _NAME + rb")[ \t]*=[ \t]*(?:" + _PLAIN + rb")")  # 1: name, 2-4: value
_PLAIN_HEADER = re.compile(rb"(" + _NAME + rb")((?:[ \t]+(?:\"[^\"\\\r\n$%]*\"|" + _NAME + rb"))*)[ \t]*\{")
_HEADER_LABEL = re.compile(rb'"([^"\\\r\n$%]*)"|(' + _NAME + rb")")
_PLAIN_VALUE = rb'"' + _TEXT + rb'"|[0-9]++(?:\.[0-9]++)?+|' + _NAME + rb"(?:\." + _NAME + rb")*+"
# A body read line by line from its text (_TreeBuilder.lines): each line blank, a comment (`#`, `//`), `name = value`
# with a plain value (a closed tuple, object or call may span lines), a plain block header `type "label" {`, an empty
# block `type "label" {}` or a closing `}`; anything else and the body is built node by node.
_LINE_START = re.compile(rb"[ \t]*+(?:(" + _NAME + rb")[ \t]*+=[ \t]*+|(\}))?+")  # 1: an attribute's name, 2: `}`
_COMMENTED_END = rb"[ \t]*+(?:(?:#|//)[^\r\n]*+)?+\r?\n"  # the end of a line, after an optional comment
_LINE_END = re.compile(_COMMENTED_END)
_LAST_LINE_END = re.compile(rb"[ \t]*+(?:(?:#|//)[^\r\n]*+)?+(?:\r?\n|\Z)")  # a file's last line needs no newline
_EMPTY_BLOCK_END = re.compile(rb"[ \t]*+\}")
_STARTS_FOR = re.compile(rb"[\[{][ \t\r\n]*+for(?![A-Za-z0-9_-])")
# a heredoc that is text only (read line by line in a file's own lines): `<<ID` or `<<-ID` ending its line, lines
# without a template sequence or CR, and ID alone on the line that closes it (group 1: `-`, 2: ID, 3: the text)
_PLAIN_HEREDOC = re.compile(rb"<<(-?)(" + _NAME + rb")\n((?:(?![ \t]*+\2)[^\r\n]*+\n)*?)[ \t]*+\2\n")
_TEMPLATE_SEQUENCE = re.compile(rb"[$%]\{")
_BLANK = re.compile(rb"[ \t\r\n]*+")
# tuples, objects and function calls of plain values; new lines are free inside their brackets
_PLAIN_LIST = rb"(?:(?:" + _PLAIN_VALUE + rb")(?:[ \t\r\n]*+,[ \t\r\n]*+(?:" + _PLAIN_VALUE + rb"))*+)?+"
_PLAIN_TUPLE = re.compile(rb"\[[ \t\r\n]*+" + _PLAIN_LIST + rb"[ \t\r\n]*+,?+[ \t\r\n]*+\]")
_PLAIN_CALL = re.compile(rb"(" + _NAME + rb")\([ \t\r\n]*+" + _PLAIN_LIST + rb"[ \t\r\n]*+\)")
_PLAIN_ELEMENT = rb"(?:" + _PLAIN_VALUE + rb")[ \t]*+[=:][ \t]*+(?:" + _PLAIN_VALUE + rb")"
_PLAIN_OBJECT = re.compile(rb"\{[ \t\r\n]*+(?:" + _PLAIN_ELEMENT + rb"(?:[ \t]*+(?:,|\r?\n)[ \t\r\n]*+" + _PLAIN_ELEMENT
                           + rb")*+[ \t]*+,?+)?+[ \t\r\n]*+\}")
_PLAIN_PAIR = re.compile(rb"(?:" + _PLAIN + rb")[ \t]*[=:][ \t]*(?:" + _PLAIN + rb")")  # 1-3: key, 4-6: value
# a quoted string whose interpolations hold plain values: "${var.name}-logs"
_PLAIN_TEMPLATE = re.compile(rb'"(?:\$\{[ \t]*+(?:' + _PLAIN_VALUE + rb")[ \t]*+\}|" + _TEXT + rb')*+"')
# what _TreeBuilder.lines reads in a block's body, as one expression (atomic groups: a near miss fails in linear
# time): a body that does not match is built node by node without a line of it read in Python first (nesting and the
# forms tree-sitter-hcl rejects are left to lines)
_PLAIN_LINES = re.compile(
    _COMMENTED_END + rb"(?>[ \t]*+(?:" + _NAME + rb"[ \t]*+=[ \t]*+(?:" + _PLAIN_VALUE + rb"|" + _PLAIN_TUPLE.pattern
    + rb"|" + _PLAIN_OBJECT.pattern + rb"|" + _PLAIN_TEMPLATE.pattern + rb"|" + _NAME + rb"\([ \t\r\n]*+" + _PLAIN_LIST
    + rb"[ \t\r\n]*+\))|\}|" + _NAME + rb'(?:[ \t]++(?:"[^"\\\r\n$%]*+"|' + _NAME + rb"))*+[ \t]*+\{(?:[ \t]*+\})?+)?+"
    + _COMMENTED_END + rb")*+[ \t]*+")
_INTERPOLATION = re.compile(rb"\$\{[ \t]*(?:" + _PLAIN + rb")[ \t]*\}")  # groups 1-3: the value
_STARTS_NAME = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_KEYWORD_VALUES = {b"true": True, b"false": False, b"null": None}


def _node(cls, file: str, start: int, end: int):
    """A node at [start, end) with its fields still to set: no Span made only to be taken apart again."""
    node = _new(cls)
    node.file, node.start, node.size = file, start, end - start
    return node


@lru_cache(maxsize=1)
def _parser():
    import tree_sitter
    import tree_sitter_hcl

    global _BODY
    language = tree_sitter.Language(tree_sitter_hcl.language())
    _BODY = language.id_for_node_kind("body", True)
    return tree_sitter.Parser(language)


@lru_cache(maxsize=1)
def available() -> bool:
    """tree-sitter wheels exist for the common platforms only; without them parser.py uses Lark."""
    try:
        _parser()
    except Exception:  # ImportError, or a wheel built for another ABI
        return False
    return True


class Rejected(Exception):
    """tree-sitter found an error, or a form this builder does not map: parse with Lark instead."""


PIECE = 256 * 1024  # characters: a large file is parsed a piece at a time, so its syntax tree stays small
_BLOCK_HEADER = re.compile(r'^(?=[^\W\d][\w-]*(?:[ \t]+(?:"[^"\n]*"|[^\W\d][\w-]*))*[ \t]*\{[ \t]*\r?$)', re.M)


def parse_body(text: str, file: str, shift: int = 0, check_layout: bool = True) -> ast.Body | None:
    """The file's body, or None when tree-sitter reports a syntax error (let Lark explain it).

    Raises ParseFailure for what terraform rejects and tree-sitter accepts."""
    if len(text) > 2 * PIECE and shift == 0:
        body = _parse_in_pieces(text, file, check_layout)
        if body is not None:
            return body
    return _parse_piece(text, file, shift, 0, check_layout)


def _parse_piece(text: str, file: str, shift: int, line_base: int, check_layout: bool) -> ast.Body | None:
    """The lines at the top of the piece that are plain are read from their text (_TreeBuilder.lines), and
    tree-sitter parses only the rest: a file of plain lines is valid HCL whose tree its text fixes, and tree-sitter's
    parse was most of the time of trees of many small files (KICS's fixtures)."""
    data = text.encode("utf-8", "surrogatepass")
    builder = _TreeBuilder(file, text, data, shift, check_layout, line_base)
    if b"\0" not in data:  # tree-sitter-hcl rejects a NUL anywhere
        try:
            body = builder.lines(0, len(data), whole=True)
        except (AttributeError, IndexError, TypeError, ValueError):
            body = False
        if body is not False:
            if body is None:
                body = _node(ast.Body, file, shift, shift)
                body.items = []
            return body
        if builder.resume is not None and builder.resume[0]:
            return _parse_rest(builder)
    return _parse_with_tree_sitter(builder)


def _parse_with_tree_sitter(builder: "_TreeBuilder") -> ast.Body | None:
    tree = _parser().parse(builder.data)
    root = tree.root_node
    if root.has_error:
        return None
    try:
        return builder.config(root)
    except (Rejected, AttributeError, IndexError, StopIteration, TypeError, ValueError):
        return None  # a shape this builder does not know: Lark reads the file (the parity tests catch these)


def _parse_rest(builder: "_TreeBuilder") -> ast.Body | None:
    """A piece whose first top-level items were read line by line (``builder.resume``): tree-sitter parses the
    rest, from the line where the first item that is not plain starts, as a piece of its own. When the rest
    does not parse, or names a top-level argument again, the whole piece is parsed, which finds the same first
    error the piece's own parse would."""
    items, resume_byte = builder.resume
    text, file, shift = builder.text, builder.file, builder.shift
    resume = builder.pos(resume_byte) - shift
    piece = text[resume:]
    rest_builder = _TreeBuilder(file, piece, builder.data[resume_byte:], shift + resume, builder.check_layout,
                                builder.line_base + text.count("\n", 0, resume))
    try:
        rest = _parse_with_tree_sitter(rest_builder)
    except ParseFailure:
        rest = None
    if rest is None:
        return _parse_with_tree_sitter(builder)
    seen = {item.name for item in items if type(item) is ast.Attribute}
    if any(type(item) is ast.Attribute and item.name in seen for item in rest.items):
        return _parse_with_tree_sitter(builder)
    items = items + rest.items
    last = items[-1]
    body = _node(ast.Body, file, items[0].start, last.start + last.size)
    body.items = items
    return body


def _parse_in_pieces(text: str, file: str, check_layout: bool) -> ast.Body | None:
    """Split before top-level block headers into pieces of about PIECE characters and parse each alone.

    tree-sitter's tree of a 5 MB file takes 365 MB; piece by piece it never holds more than one piece's.
    A split inside a heredoc or string leaves a piece that does not parse, and then the whole file is
    parsed at once instead, so a split can cost time but never change the result."""
    cuts = [0]
    for match in _BLOCK_HEADER.finditer(text):
        if match.start() - cuts[-1] >= PIECE:
            cuts.append(match.start())
    if len(cuts) == 1:
        return None
    cuts.append(len(text))
    items: list = []
    line_base = 0
    for start, end in zip(cuts, cuts[1:]):
        piece = text[start:end]
        body = _parse_piece(piece, file, start, line_base, check_layout)
        if body is None:
            return None
        items.extend(body.items)
        line_base += piece.count("\n")
    seen: dict[str, ast.Attribute] = {}
    for item in items:  # the one check that spans pieces: top-level arguments are not repeated
        if isinstance(item, ast.Attribute):
            if item.name in seen:
                return None  # let the whole-file parse say where
            seen[item.name] = item
    if not items:
        return ast.Body(Span(file, 0, 0), [])
    return ast.Body(Span(file, items[0].start, items[-1].end), items)


class _TreeBuilder:
    """Mirrors larkparse._Builder node for node; ``shift`` maps snippet offsets to file offsets."""

    def __init__(self, file: str, text: str, data: bytes, shift: int, check_layout: bool, line_base: int = 0):
        self.file = file
        self.line_base = line_base  # lines of the file before this piece
        self.text = text
        self.data = data
        self.shift = shift
        self.check_layout = check_layout
        self.resume: tuple[list, int] | None = None  # see lines
        self.wide: list[int] = []  # byte offsets just past each multi-byte character
        self.extra: list[int] = []  # bytes beyond one per character, up to and including that character
        if len(data) != len(text):
            total = 0
            for match in _WIDE.finditer(text):
                point = ord(match.group())
                size = 2 if point < 0x800 else 3 if point < 0x10000 else 4  # surrogates: 3 (surrogatepass)
                self.wide.append(match.start() + total + size)
                total += size - 1
                self.extra.append(total)
        else:
            self.pos = shift.__add__  # all ASCII: a byte offset is a character offset

    # ---- positions

    def pos(self, byte: int) -> int:
        if self.wide:
            i = bisect_right(self.wide, byte)
            if i:
                byte -= self.extra[i - 1]
        return byte + self.shift

    def span(self, node) -> Span:
        return Span(self.file, self.pos(node.start_byte), self.pos(node.end_byte))

    def text_of(self, node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "surrogatepass")

    def name_of(self, node) -> str:
        """An identifier's text, interned: a large file repeats the same few hundred names."""
        return intern(self.data[node.start_byte:node.end_byte].decode("utf-8", "surrogatepass"))

    def fail(self, message: str, offset: int) -> ParseFailure:
        local = offset - self.shift
        before = self.text[:max(0, local)]
        return ParseFailure(message, self.line_base + before.count("\n") + 1, local - (before.rfind("\n") + 1) + 1)

    # ---- structure

    def config(self, root) -> ast.Body:
        for child in root.children:
            if child.type == "body":
                return self.body(child)
            if child.type not in ("comment", "ERROR"):  # tree-sitter-hcl reads a file that is one object
                raise Rejected(child.type)  # (`{ a = 1 }`); terraform rejects it: Lark says where
        return ast.Body(Span(self.file, self.shift, self.shift), [])

    def body(self, node) -> ast.Body:
        items: list = []
        seen: dict[str, ast.Attribute] = {}
        text, shift, check_layout = self.text, self.shift, self.check_layout
        for child in node.children:
            kind = child.type
            if kind == "attribute":
                attribute = self.attribute(child)
                first = seen.get(attribute.name)
                if first is not None:
                    raise self._defined_twice(attribute, first)
                seen[attribute.name] = attribute
                items.append(attribute)
            elif kind == "block":
                items.append(self.block(child))
            elif kind in _SKIP:
                continue
            else:
                raise Rejected(kind)
            if check_layout and len(items) > 1:
                first, second = items[-2], items[-1]
                end = first.start + first.size - shift
                if text.find("\n", end - 1, second.start - shift) < 0:  # `a = 1 b = 2`: terraform rejects it
                    raise self.fail("missing newline: each argument and block goes on a line of its own",
                                    second.start)
        if not items:
            body = _node(ast.Body, self.file, shift, shift)
        else:
            last = items[-1]
            body = _node(ast.Body, self.file, items[0].start, last.start + last.size)
        body.items = items
        return body

    def _plain_items(self, start_byte: int, end_byte: int) -> list | None:
        """The plain values between two bytes, separated by commas (_PLAIN_LIST matched them)."""
        items = []
        for match in _PLAIN_EXPR.finditer(self.data, start_byte, end_byte):
            item = self.plain(match, 1)
            if item is None:
                return None
            items.append(item)
        return items

    def plain_tuple(self, start_byte: int, end_byte: int) -> ast.Expr | None:
        items = self._plain_items(start_byte + 1, end_byte - 1)
        if items is None:
            return None
        node = _node(ast.TupleExpr, self.file, self.pos(start_byte), self.pos(end_byte))
        node.items = items
        return node

    def plain_call(self, match: re.Match) -> ast.Expr | None:
        args = self._plain_items(match.end(1) + 1, match.end() - 1)
        if args is None:
            return None
        node = _node(ast.Call, self.file, self.pos(match.start()), self.pos(match.end()))
        node.name, node.args, node.expand_final = intern(match.group(1).decode()), args, False
        return node

    def plain_template(self, start_byte: int, end_byte: int) -> ast.Expr | None:
        data = self.data
        parts: list = []
        at = start_byte + 1
        for match in _INTERPOLATION.finditer(data, at, end_byte - 1):
            if match.start() > at:
                parts.append(data[at:match.start()].decode("utf-8", "surrogatepass"))
            value = self.plain(match, 1)
            if value is None:
                return None
            parts.append(value)
            at = match.end()
        if at < end_byte - 1:
            parts.append(data[at:end_byte - 1].decode("utf-8", "surrogatepass"))
        node = _node(ast.Template, self.file, self.pos(start_byte), self.pos(end_byte))
        node.parts, node.heredoc = parts, False
        return node

    def plain_object(self, start_byte: int, end_byte: int) -> ast.Expr | None:
        items = []
        for match in _PLAIN_PAIR.finditer(self.data, start_byte + 1, end_byte - 1):
            item = self.plain_pair(match)
            if item is None:
                return None
            items.append(item)
        node = _node(ast.ObjectExpr, self.file, self.pos(start_byte), self.pos(end_byte))
        node.items = items
        return node

    def plain_pair(self, match: re.Match) -> ast.ObjectItem | None:
        """`key = value` of an object, both plain (a _PLAIN_PAIR match)."""
        key = self.plain(match, 1)
        value = self.plain(match, 4)
        if key is None or value is None:
            return None
        file = self.file
        if type(key) is ast.Variable:  # a bare word names the key
            word = _node(ast.Literal, file, key.start, key.start + key.size)
            word.value = key.name
            key = word
        item = _node(ast.ObjectItem, file, key.start, value.start + value.size)
        item.key, item.value = key, value
        return item

    def _defined_twice(self, attribute: ast.Attribute, first: ast.Attribute) -> ParseFailure:
        return self.fail(f'attribute "{attribute.name}" is defined twice in this block (first on line '
                         f"{self.line_base + self.text.count(chr(10), 0, first.start - self.shift) + 1})",
                         attribute.start)

    def plain(self, match: re.Match, group: int) -> ast.Expr | None:
        """The value a _PLAIN match's groups ``group`` to ``group + 2`` hold; None for a name with steps whose
        root is a keyword (`true.x`), which is built node by node."""
        text = match.group(group)
        if text is not None:  # a string: it may hold wide characters, so both ends are mapped
            node = _node(ast.Template, self.file, self.pos(match.start(group) - 1), self.pos(match.end(group) + 1))
            node.parts, node.heredoc = [text.decode("utf-8", "surrogatepass")] if text else [], False
            return node
        if match.start(group + 1) >= 0:
            text = match.group(group + 1)
            start = self.pos(match.start(group + 1))
            node = _node(ast.Literal, self.file, start, start + len(text))
            node.value = number_literal(text.decode())
            return node
        text = match.group(group + 2)
        start = self.pos(match.start(group + 2))
        if b"." not in text:
            if text in _KEYWORD_VALUES:
                node = _node(ast.Literal, self.file, start, start + len(text))
                node.value = _KEYWORD_VALUES[text]
            else:
                node = _node(ast.Variable, self.file, start, start + len(text))
                node.name = intern(text.decode())
            return node
        names = text.split(b".")
        if names[0] in _KEYWORD_VALUES:
            return None
        file = self.file
        end = start + len(names[0])
        current = _node(ast.Variable, file, start, end)
        current.name = intern(names[0].decode())
        for name in names[1:]:
            end += 1 + len(name)
            step = _node(ast.GetAttr, file, start, end)
            step.target, step.name = current, intern(name.decode())
            current = step
        return current

    def attribute(self, node) -> ast.Attribute:
        start_byte = node.start_byte
        match = _PLAIN_ATTRIBUTE.fullmatch(self.data, start_byte, node.end_byte)
        if match is not None:  # `name = plain value`, on one line: nothing for the layout checks to find
            expr = self.plain(match, 2)
            if expr is not None:
                attribute = _node(ast.Attribute, self.file, self.pos(start_byte), expr.start + expr.size)
                attribute.name = intern(match.group(1).decode())
                attribute.name_size = match.end(1) - start_byte
                attribute.expr = expr
                return attribute
        name_node = node.child(0)
        value_node = node.child(node.child_count - 1)
        if self._newline(name_node.end_byte, value_node.start_byte) or self._breaks_line(value_node):
            raise Rejected("newline")  # `name\n= x`, `name =\n x`, `x +\n y`: terraform rejects them; Lark says why
        expr = self.expr(value_node)
        attribute = _node(ast.Attribute, self.file, self.pos(node.start_byte), expr.start + expr.size)
        attribute.name = self.name_of(name_node)
        attribute.name_size = name_node.end_byte - name_node.start_byte if not self.wide else \
            self.pos(name_node.end_byte) - self.pos(name_node.start_byte)
        attribute.expr = expr
        return attribute

    def block(self, node) -> ast.Block:
        header = _PLAIN_HEADER.match(self.data, node.start_byte)
        if header is None:
            return self._block(node)
        # `type "label" name {` on one line: the header's children are not visited
        data, pos = self.data, self.pos
        labels: list[str] = []
        for label in _HEADER_LABEL.finditer(data, header.start(2), header.end(2)):
            text = label.group(1)
            if text is None:
                text = label.group(2)
            labels.append(intern(text.decode("utf-8", "surrogatepass")))  # resource types repeat
        lbrace_byte, end_byte = header.end() - 1, node.end_byte
        start, lbrace, rbrace = pos(node.start_byte), pos(lbrace_byte), pos(end_byte - 1)  # it ends with its `}`
        if _BLANK.fullmatch(data, lbrace_byte + 1, end_byte - 1):
            body = None
        else:
            body = False  # not plain line by line
            if _PLAIN_LINES.fullmatch(data, lbrace_byte + 1, end_byte - 1):
                body = self.lines(lbrace_byte + 1, end_byte - 1)
            if body is False:
                body = None
                for child in node.children:
                    if child.kind_id == _BODY:
                        body = self.body(child)
                        break
        return self._finish_block(node, intern(header.group(1).decode()), labels, pos(header.end(2)), lbrace, rbrace,
                                  body, start, pos(end_byte))

    def lines(self, start_byte: int, end_byte: int, whole: bool = False) -> ast.Body | None | bool:
        """The body between a block's braces (``start_byte`` just after its `{`, ``end_byte`` at its `}`) read from its
        text line by line (see _LINE_START), nested blocks included: None when it holds nothing, False when a line is
        not plain (then it is built node by node). tree-sitter has parsed the file without error, so a line that reads
        as a plain form is that form, and one on a line of its own leaves the layout checks nothing to find.

        ``whole``: the file's own body, before tree-sitter has seen it (see _parse_piece). When a line is not plain,
        ``self.resume`` is then the top-level items read so far and the byte their lines end at (None when the
        read cannot be used: a duplicate argument, which the whole file's parse reports in its order)."""
        data, file, pos = self.data, self.file, self.pos
        if whole:
            at = start_byte
        else:
            rest = _LINE_END.match(data, start_byte, end_byte)  # the header's line ends after its `{`
            if rest is None:
                return False
            at = rest.end()
        items: list = []
        seen: dict[str, ast.Attribute] = {}
        open_blocks: list = []  # (items, seen, type, labels, header end, start, `{`) of the blocks around this line
        line_start, plain_value = _LINE_START.match, _PLAIN_EXPR.match
        line_end = _LAST_LINE_END.match if whole else _LINE_END.match
        top_at = at  # where the top-level item being read starts its line
        while True:
            if not open_blocks:
                top_at = at
            line = line_start(data, at, end_byte)
            name = line.group(1)
            if name is not None:
                value_byte = line.end()
                match = plain_value(data, value_byte, end_byte)
                rest = None if match is None else line_end(data, match.end(), end_byte)
                if rest is not None:  # a string, number, keyword or name with steps
                    expr = self.plain(match, 1)
                elif whole and data.startswith(b"<<", value_byte):  # a heredoc ends its line with its own
                    expr, rest = self._plain_heredoc(value_byte, end_byte)
                else:  # `f(x)` is not the name `f`: the other plain forms, each to the end of its line
                    expr, value_end = self._plain_value(value_byte, end_byte)
                    rest = None if expr is None else line_end(data, value_end, end_byte)
                if expr is None or rest is None:
                    break
                name = intern(name.decode())
                line_byte = line.start(1)
                attribute = _node(ast.Attribute, file, pos(line_byte), expr.start + expr.size)
                attribute.name, attribute.name_size, attribute.expr = name, line.end(1) - line_byte, expr
                first = seen.get(name)
                if first is not None:
                    if whole:
                        self.resume = None
                        return False
                    raise self._defined_twice(attribute, first)
                seen[name] = attribute
                items.append(attribute)
                at = rest.end()
                continue
            if line.group(2) is not None:  # a nested block's `}`
                if not open_blocks:
                    break
                rest = line_end(data, line.end(), end_byte)
                if rest is None:
                    break
                close_byte = line.start(2)
                block_items = items
                items, seen, block_type, labels, header_end, start, lbrace = open_blocks.pop()
                items.append(self._finish_block(None, block_type, labels, header_end, lbrace, pos(close_byte),
                                                self._items_body(block_items), start, pos(close_byte + 1)))
                at = rest.end()
                continue
            word = line.end()
            if word < end_byte and data[word] in _STARTS_NAME:
                header = _PLAIN_HEADER.match(data, word, end_byte)
                if header is None:
                    break
                labels = []
                for label in _HEADER_LABEL.finditer(data, header.start(2), header.end(2)):
                    text = label.group(1)
                    if text is None:
                        text = label.group(2)
                    labels.append(intern(text.decode("utf-8", "surrogatepass")))
                block_type = intern(header.group(1).decode())
                lbrace_byte = header.end() - 1
                start, header_end, lbrace = pos(word), pos(header.end(2)), pos(lbrace_byte)
                rest = line_end(data, header.end(), end_byte)
                if rest is not None:  # `type "label" {` and its body on the lines below
                    open_blocks.append((items, seen, block_type, labels, header_end, start, lbrace))
                    items, seen = [], {}
                    at = rest.end()
                    continue
                empty = _EMPTY_BLOCK_END.match(data, header.end(), end_byte)  # `type "label" {}`
                rest = None if empty is None else line_end(data, empty.end(), end_byte)
                if rest is None:
                    break
                items.append(self._finish_block(None, block_type, labels, header_end, lbrace, pos(empty.end() - 1),
                                                None, start, pos(empty.end())))
                at = rest.end()
                continue
            if word == end_byte:
                if open_blocks:
                    break
                return self._items_body(items)  # the indentation before the block's own `}`, or the file's end
            rest = line_end(data, word, end_byte)  # a blank line or a comment
            if rest is None:
                break
            at = rest.end()
        if whole:
            self.resume = (open_blocks[0][0] if open_blocks else items), top_at
        return False

    def _plain_value(self, start_byte: int, end_byte: int) -> tuple[ast.Expr | None, int]:
        """A plain tuple, object, template or call starting at ``start_byte`` (as expression() finds them), and where
        it ends. The forms tree-sitter-hcl rejects are not plain here, since a file read line by line is not parsed
        by it (see _parse_piece): `[for]` and `{for = 1}` (a `for` expression begun), `true(1)`, `[,]`."""
        data = self.data
        first = data[start_byte]
        if first == 0x7B or first == 0x5B:  # { [
            if _STARTS_FOR.match(data, start_byte, end_byte):
                return None, start_byte
            if first == 0x7B:
                match = _PLAIN_OBJECT.match(data, start_byte, end_byte)
                if match is not None:
                    return self.plain_object(start_byte, match.end()), match.end()
            else:
                match = _PLAIN_TUPLE.match(data, start_byte, end_byte)
                if match is not None:
                    expr = self.plain_tuple(start_byte, match.end())
                    if expr is not None and not expr.items and data.find(b",", start_byte, match.end()) >= 0:
                        return None, start_byte
                    return expr, match.end()
        elif first == 0x22:  # "
            match = _PLAIN_TEMPLATE.match(data, start_byte, end_byte)
            if match is not None:
                return self.plain_template(start_byte, match.end()), match.end()
        elif first in _STARTS_NAME:
            match = _PLAIN_CALL.match(data, start_byte, end_byte)
            if match is not None and match.group(1) not in _KEYWORD_VALUES:
                return self.plain_call(match), match.end()
        return None, start_byte

    def _plain_heredoc(self, start_byte: int, end_byte: int) -> tuple[ast.Template | None, re.Match | None]:
        """A heredoc of text only at ``start_byte`` (see _PLAIN_HEREDOC), and the match of the line that closes it.
        A line of its text that starts with its marker, with or without indentation, leaves it to tree-sitter."""
        match = _PLAIN_HEREDOC.match(self.data, start_byte, end_byte)
        if match is None or _TEMPLATE_SEQUENCE.search(match.group(3)):
            return None, None
        text = match.group(3).decode("utf-8", "surrogatepass")
        parts = [text] if text else []
        if match.group(1):
            parts = trim_heredoc(parts)
        template = _node(ast.Template, self.file, self.pos(start_byte), self.pos(match.end() - 1))
        template.parts, template.heredoc = parts, True
        return template, match

    def _items_body(self, items: list) -> ast.Body | None:
        if not items:
            return None
        last = items[-1]
        body = _node(ast.Body, self.file, items[0].start, last.start + last.size)
        body.items = items
        return body

    def _block(self, node) -> ast.Block:
        """A block whose header is not plain (new lines, comments, templates in labels): child by child."""
        labels: list[str] = []
        block_type = None
        header_end = None
        lbrace = rbrace = None
        body = None
        for child in node.children:
            kind = child.type
            if kind == "identifier":
                if block_type is None:
                    block_type = self.name_of(child)
                else:
                    labels.append(self.name_of(child))
                header_end = self.pos(child.end_byte)
            elif kind == "string_lit":
                template = self.string(child)
                if not template.is_literal:
                    raise self.fail("a block label must be a plain string: template sequences (${...}, %{...}) "
                                    "are not allowed here", template.start)
                labels.append(intern(template.literal))  # resource types repeat
                header_end = template.end
            elif kind == "block_start":
                if self._newline(node.start_byte, child.start_byte):
                    raise Rejected("newline")  # a block header and its `{` share a line in HCL
                lbrace = self.pos(child.start_byte)
            elif kind == "block_end":
                rbrace = self.pos(child.start_byte)
            elif kind == "body":
                body = self.body(child)
            elif kind in _SKIP:
                continue
            else:
                raise Rejected(kind)
        if block_type is None or lbrace is None or rbrace is None:
            raise Rejected("block")
        return self._finish_block(node, block_type, labels, header_end, lbrace, rbrace, body, self.pos(node.start_byte),
                                  self.pos(node.end_byte))

    def _finish_block(self, node, block_type: str, labels: list[str], header_end: int, lbrace: int, rbrace: int,
                      body: ast.Body | None, start: int, end: int) -> ast.Block:
        if body is None or not body.items:
            body = _node(ast.Body, self.file, lbrace + 1, lbrace + 1)
            body.items = []
        elif self.check_layout:
            single_line = "\n" not in self.text[lbrace - self.shift:rbrace - self.shift]
            if single_line and len(body.items) > 1:
                raise self.fail("a block written on one line holds one argument at most", body.items[1].start)
            last_end = body.items[-1].end - self.shift
            if not single_line and "\n" not in self.text[last_end - 1:rbrace - self.shift]:
                raise self.fail("missing newline: the closing brace of a block goes on a line of its own", rbrace)
        block = _node(ast.Block, self.file, start, end)
        block.type, block.labels, block.body, block.open_brace, block.close_brace = \
            block_type, labels, body, lbrace, rbrace
        block.header_size = header_end - start
        return block

    def _newline(self, start: int, end: int) -> bool:
        return self.data.find(b"\n", start, end) >= 0  # no slice: values can be large and this runs per level

    def _breaks_line(self, node) -> bool:
        """A new line outside brackets, strings and heredocs ends an argument in HCL; tree-sitter-hcl reads
        on (`module.\nx`, `a\n.b`, `x\n- y`). Inside ( ), [ ], { } and templates new lines are free."""
        if node.type in _FREE_INSIDE or not self._newline(node.start_byte, node.end_byte):
            return False
        kids = node.children
        if node.type == "function_call":  # only `name(` must share a line
            return self._newline(kids[0].end_byte, kids[1].start_byte)
        if node.type == "index" and kids[0].type == "new_index":
            return self._newline(node.start_byte, kids[0].children[0].end_byte)
        depth = 0
        for i, child in enumerate(kids):
            if i and depth == 0 and self._newline(kids[i - 1].end_byte, child.start_byte):
                return True
            if child.type in ("(", "["):
                depth += 1
            elif child.type in (")", "]"):
                depth -= 1
            elif depth == 0 and self._breaks_line(child):
                return True
        return False

    # ---- expressions

    def expr(self, node) -> ast.Expr:
        method = _EXPRESSIONS.get(node.type)
        if method is None:
            raise Rejected(node.type)
        return method(self, node)

    def expression(self, node) -> ast.Expr:
        data, start_byte, end_byte = self.data, node.start_byte, node.end_byte
        match = _PLAIN_EXPR.fullmatch(data, start_byte, end_byte)
        if match is not None:
            expr = self.plain(match, 1)
            if expr is not None:
                return expr
        else:
            first = data[start_byte]
            expr = None
            if first == 0x7B:  # {
                if _PLAIN_OBJECT.fullmatch(data, start_byte, end_byte):
                    expr = self.plain_object(start_byte, end_byte)
            elif first == 0x5B:  # [
                if _PLAIN_TUPLE.fullmatch(data, start_byte, end_byte):
                    expr = self.plain_tuple(start_byte, end_byte)
            elif first == 0x22:  # "
                if _PLAIN_TEMPLATE.fullmatch(data, start_byte, end_byte):
                    expr = self.plain_template(start_byte, end_byte)
            elif first in _STARTS_NAME:
                match = _PLAIN_CALL.fullmatch(data, start_byte, end_byte)
                if match is not None:
                    expr = self.plain_call(match)
            if expr is not None:
                return expr
        kids = node.children
        if len(kids) == 1 and kids[0].type != "comment":  # most values: one term and no traversal
            return self.expr(kids[0])
        return self.term([c for c in kids if c.type not in _SKIP])

    def term(self, kids: list) -> ast.Expr:
        """A primary (or a parenthesized expression) and the traversal steps after it. tree-sitter-hcl
        inlines these as sibling nodes wherever a term stands: expressions and operands alike."""
        if kids[0].type == "(":
            close = next(i for i, c in enumerate(kids) if c.type == ")")
            current: ast.Expr = ast.Paren(Span(self.file, self.pos(kids[0].start_byte), self.pos(kids[close].end_byte)),
                                          self.expr(kids[1]))
            rest = kids[close + 1:]
        else:
            current = self.expr(kids[0])
            rest = kids[1:]
        start = current.start
        file = self.file
        for step in rest:
            end = self.pos(step.end_byte)
            kind = step.type
            if kind == "get_attr":
                step_node = _node(ast.GetAttr, file, start, end)
                step_node.target, step_node.name = current, self._attr_name(step)
            elif kind == "index":
                step_node = _node(ast.Index, file, start, end)
                step_node.target, step_node.key = current, self._index_key(step)
            elif kind == "splat":
                step_node = _node(ast.Splat, file, start, end)
                step_node.target, step_node.steps = current, self._splat_steps(step.child(0))
            else:
                raise Rejected(kind)
            current = step_node
        return current

    def _attr_name(self, get_attr) -> str:
        return self.name_of(get_attr.child(get_attr.child_count - 1))

    def _index_key(self, index) -> ast.Expr:
        inner = index.child(0)
        if inner.type == "legacy_index":
            start = inner.start_byte + 1  # after the "."
            digits = self.data[start:inner.end_byte].decode()
            return ast.Literal(Span(self.file, self.pos(start), self.pos(inner.end_byte)), number_literal(digits))
        for child in inner.children:
            if child.type == "expression":
                return self.expr(child)
        raise Rejected("index")

    def _splat_steps(self, splat) -> list:
        steps = []
        for child in splat.children:
            if child.type == "get_attr":
                steps.append(("attr", self._attr_name(child)))
            elif child.type == "index":
                steps.append(("index", self._index_key(child)))
        return steps

    def x_literal_value(self, node) -> ast.Expr:
        inner = node.child(0)
        kind = inner.type
        if kind == "string_lit":
            return self.string(inner)
        if kind == "numeric_lit":
            text = self.text_of(inner)
            return ast.Literal(self.span(node), number_literal(text))
        if kind == "bool_lit":
            return ast.Literal(self.span(node), self.text_of(inner) == "true")
        if kind == "null_lit":
            return ast.Literal(self.span(node), None)
        if kind == "string_lit":
            return self.string(inner)
        raise Rejected(kind)

    def x_collection_value(self, node) -> ast.Expr:
        return self.expr(node.child(0))

    def x_tuple(self, node) -> ast.Expr:
        expr = _node(ast.TupleExpr, self.file, self.pos(node.start_byte), self.pos(node.end_byte))
        expr.items = [self.expr(c) for c in node.children if c.type == "expression"]
        return expr

    def x_object(self, node) -> ast.Expr:
        items = []
        data = self.data
        for elem in node.children:
            if elem.type != "object_elem":
                continue
            match = _PLAIN_PAIR.fullmatch(data, elem.start_byte, elem.end_byte)
            if match is not None:
                item = self.plain_pair(match)
                if item is not None:
                    items.append(item)
                    continue
            key_node = elem.child(0)
            value_node = elem.child(elem.child_count - 1)
            if self._newline(key_node.end_byte, value_node.start_byte) or self._breaks_line(value_node):
                raise Rejected("newline")  # in { }, a new line ends an element as it ends an argument
            key = self.expr(key_node)
            if type(key) is ast.Variable:  # a bare word names the key
                word = _node(ast.Literal, self.file, key.start, key.start + key.size)
                word.value = key.name
                key = word
            value = self.expr(value_node)
            item = _node(ast.ObjectItem, self.file, self.pos(elem.start_byte), value.start + value.size)
            item.key, item.value = key, value
            items.append(item)
        expr = _node(ast.ObjectExpr, self.file, self.pos(node.start_byte), self.pos(node.end_byte))
        expr.items = items
        return expr

    def x_variable_expr(self, node) -> ast.Expr:
        variable = _node(ast.Variable, self.file, self.pos(node.start_byte), self.pos(node.end_byte))
        variable.name = intern(self.data[node.start_byte:node.end_byte].decode("utf-8", "surrogatepass"))
        return variable

    def x_template_expr(self, node) -> ast.Expr:
        return self.expr(node.child(0))

    def x_quoted_template(self, node) -> ast.Expr:
        return self.string(node)

    def string(self, node) -> ast.Template | ast.Unsupported:
        """A quoted string: literal text between the interpolations, unescaped."""
        kids = node.children
        open_quote, close_quote = kids[0], kids[-1]
        if open_quote.type != "quoted_template_start" or close_quote.type != "quoted_template_end":
            raise Rejected("string")
        if len(kids) <= 3 and (len(kids) == 2 or kids[1].type == "template_literal"):  # "text": no interpolation
            parts: list = []
            start, end = open_quote.end_byte, close_quote.start_byte
            raw = self.data[start:end].decode("utf-8", "surrogatepass") if end > start else ""
            if "\n" in raw or "\\" in raw or "$${" in raw or "%%{" in raw:
                self._literal(parts, start, end)  # errors and escapes
            elif raw:
                parts.append(raw)
            template = _node(ast.Template, self.file, self.pos(node.start_byte), self.pos(node.end_byte))
            template.parts, template.heredoc = parts, False
            return template
        parts = []
        at = open_quote.end_byte
        directive = False
        for child in kids[1:-1]:
            kind = child.type
            if kind == "template_literal":
                continue
            if kind == "template_interpolation":
                if self._escaped(child):
                    continue  # `$${`: literal text, taken with the text around it
                self._literal(parts, at, child.start_byte)
                parts.append(self._interpolation(child))
                at = child.end_byte
            elif kind == "template_directive":
                directive = True
                at = child.end_byte
            else:
                raise Rejected(kind)
        if directive:
            return ast.Unsupported(self.span(node), "template directives (%{if}, %{for}) are not evaluated")
        self._literal(parts, at, close_quote.start_byte)
        return ast.Template(self.span(node), parts)

    def _literal(self, parts: list, start: int, end: int, quoted: bool = True) -> None:
        """Template text between interpolations: a quoted string's escapes, or a heredoc's `$${`/`%%{`."""
        if end <= start:
            return
        raw = self.data[start:end].decode("utf-8", "surrogatepass")
        if not quoted:
            raw = _HEREDOC_ESCAPE.sub(lambda m: m.group(0)[1:], raw)
        elif "\n" in raw:
            raise self.fail("a quoted string cannot span lines: use a heredoc (<<EOT) instead", self.pos(start))
        elif "\\" in raw or "$${" in raw or "%%{" in raw:
            raw = self.unescape(raw, self.pos(start))
        if parts and isinstance(parts[-1], str):
            parts[-1] += raw
        else:
            parts.append(raw)

    def unescape(self, raw: str, offset: int) -> str:
        def repl(m: re.Match) -> str:
            code = m.group(1)
            if code is None:
                return m.group(0)[1:]
            if code[0] in "uU" and len(code) > 1:
                point = int(code[1:], 16)
                if point > 0x10FFFF:
                    raise self.fail(f"\\{code} is not a Unicode character (the largest is \\U0010FFFF)", offset)
                if 0xD800 <= point <= 0xDFFF:  # terraform: invalid escape
                    raise self.fail(f"\\{code} is a surrogate code point, not a Unicode character", offset)
                return chr(point)
            if code not in _ESCAPES:
                raise self.fail(f"\\{code} is not an escape sequence (\\n, \\r, \\t, \\\", \\\\, \\uNNNN, "
                                "\\UNNNNNNNN)", offset)
            return _ESCAPES[code]

        return _TEMPLATE_ESCAPE.sub(repl, raw)

    def _escaped(self, node) -> bool:
        """tree-sitter-hcl reads `$$${x}` as `$$` and an interpolation; HCL reads `$`, the escape `$${`,
        and then plain text. Plain text it is, unless that text holds another template sequence."""
        if not node.start_byte or self.data[node.start_byte - 1] != ord("$"):
            return False
        inner = self.data[node.start_byte + 2:node.end_byte]
        if b"${" in inner or b"%{" in inner:
            raise Rejected("escape")
        return True

    def _interpolation(self, node) -> ast.Expr:
        for child in node.children:
            if child.type == "expression":
                return self.expr(child)
        raise Rejected("interpolation")

    def x_heredoc_template(self, node) -> ast.Expr:
        kids = node.children
        start_marker, opening, closing = kids[0], kids[1], kids[-1]
        if opening.type != "heredoc_identifier" or closing.type != "heredoc_identifier" or len(kids) < 3:
            raise Rejected("heredoc")
        trim = self.text_of(start_marker) == "<<-"
        first_nl = self.data.index(b"\n", opening.end_byte)
        body_start = first_nl + 1
        body_end = self.data.rfind(b"\n", 0, closing.start_byte) + 1
        end = closing.end_byte
        while end < len(self.data) and self.data[end] in b" \t":
            end += 1
        span = Span(self.file, self.pos(node.start_byte), self.pos(end))
        parts: list = []
        at = body_start
        for child in kids[2:-1]:
            kind = child.type
            if kind == "template_literal":
                continue
            if kind == "template_directive":
                return ast.Unsupported(span, "template directives (%{if}, %{for}) are not evaluated")
            if kind != "template_interpolation":
                raise Rejected(kind)
            if self._escaped(child):
                continue  # `$${`: literal text, taken with the text around it
            self._literal(parts, at, child.start_byte, quoted=False)
            parts.append(self._interpolation(child))
            at = child.end_byte
        self._literal(parts, at, max(at, body_end), quoted=False)
        if trim:
            parts = trim_heredoc(parts)
        return ast.Template(span, parts, heredoc=True)

    def x_function_call(self, node) -> ast.Expr:
        name = self.name_of(node.child(0))
        args: list[ast.Expr] = []
        expand = False
        for child in node.children:
            if child.type == "function_arguments":
                for arg in child.children:
                    if arg.type == "expression":
                        args.append(self.expr(arg))
                    elif arg.type == "ellipsis":
                        expand = True
        if "::" in name:
            return ast.Unsupported(self.span(node), f"provider function {name} is not evaluated")
        call = _node(ast.Call, self.file, self.pos(node.start_byte), self.pos(node.end_byte))
        call.name, call.args, call.expand_final = name, args, expand
        return call

    def x_conditional(self, node) -> ast.Expr:
        """tree-sitter-hcl reads `a ? b : c ? d : e` as `(a ? b : c) ? d : e`; HCL nests to the right."""
        chain = self._conditional_chain(node)
        return self._nest_conditionals(chain, 0)

    def _conditional_chain(self, node) -> list:
        cond, when_true, when_false = [c for c in node.children if c.type == "expression"]
        inner = [c for c in cond.children if c.type not in _SKIP]
        if len(inner) == 1 and inner[0].type == "conditional":
            return self._conditional_chain(inner[0]) + [when_true, when_false]
        return [cond, when_true, when_false]

    def _nest_conditionals(self, chain: list, at: int) -> ast.Expr:
        if at == len(chain) - 1:
            return self.expr(chain[at])
        span = Span(self.file, self.pos(chain[at].start_byte), self.pos(chain[-1].end_byte))
        return ast.Conditional(span, self.expr(chain[at]), self.expr(chain[at + 1]), self._nest_conditionals(chain, at + 2))

    def x_operation(self, node) -> ast.Expr:
        return self.expr(node.child(0))

    def x_binary_operation(self, node) -> ast.Expr:
        kids = [c for c in node.children if c.type not in _SKIP]
        at = next(i for i, c in enumerate(kids) if c.type in _BINARY)
        return ast.BinaryOp(self.span(node), kids[at].type, self.term(kids[:at]), self.term(kids[at + 1:]))

    def x_unary_operation(self, node) -> ast.Expr:
        kids = [c for c in node.children if c.type not in _SKIP]
        operand = self.term(kids[1:])
        if kids[0].type == "-" and len(kids) == 2 and kids[1].type == "literal_value" and isinstance(operand, ast.Literal) \
                and isinstance(operand.value, float) and kids[1].start_byte == kids[0].end_byte:
            return ast.Literal(self.span(node), -operand.value)  # as Lark reads it: one signed float literal
        return ast.UnaryOp(self.span(node), kids[0].type, operand)

    def x_for_expr(self, node) -> ast.Expr:
        return self.expr(node.child(0))

    def _for_parts(self, node):
        intro = None
        exprs = []
        cond = None
        grouping = False
        for child in node.children:
            kind = child.type
            if kind == "for_intro":
                intro = child
            elif kind == "expression":
                exprs.append(child)
            elif kind == "for_cond":
                cond = next(c for c in child.children if c.type == "expression")
            elif kind == "ellipsis":
                grouping = True
        names = [self.text_of(c) for c in intro.children if c.type == "identifier"]
        collection = next(c for c in intro.children if c.type == "expression")
        key_var, value_var = (names[0], names[1]) if len(names) >= 2 else (None, names[0])
        condition = self.expr(cond) if cond is not None else None
        return key_var, value_var, self.expr(collection), exprs, condition, grouping

    def x_for_tuple_expr(self, node) -> ast.Expr:
        key_var, value_var, collection, exprs, condition, _ = self._for_parts(node)
        return ast.ForExpr(self.span(node), key_var, value_var, collection, None, self.expr(exprs[0]), condition)

    def x_for_object_expr(self, node) -> ast.Expr:
        key_var, value_var, collection, exprs, condition, grouping = self._for_parts(node)
        return ast.ForExpr(self.span(node), key_var, value_var, collection, self.expr(exprs[0]), self.expr(exprs[1]),
                           condition, grouping)



# node type -> builder method, for _TreeBuilder.expr: one dictionary look-up per node
_EXPRESSIONS = {name[2:]: method for name, method in vars(_TreeBuilder).items() if name.startswith("x_")}
_EXPRESSIONS["expression"] = _TreeBuilder.expression
