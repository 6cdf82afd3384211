"""Terraform's JSON configuration syntax (.tf.json, .tfvars.json) into the same span-carrying tree.

Python's json module keeps no positions, and positions are what findings need, so this is a small
JSON reader that records the span of every value. Strings are templates, as Terraform reads them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from iaclint.hcl import ast
from iaclint.hcl.parser import ParseFailure, template_from_text
from iaclint.model import Span
from iaclint.source import SourceFile, without_lone_surrogates

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.S)
_WS = re.compile(r"[ \t\r\n]*")

# Block types whose JSON form nests labels as object keys, and how many labels they take.
_LABELS = {"resource": 2, "data": 2, "variable": 1, "module": 1, "output": 1, "provider": 1,
           "locals": 0, "terraform": 0, "moved": 0, "import": 0, "check": 1, "removed": 0}


class _Reader:
    def __init__(self, source: SourceFile):
        self.source = source
        self.text = source.text
        self.pos = 0

    def fail(self, message: str) -> ParseFailure:
        line, col = self.source.line_col(self.pos)
        return ParseFailure(f"invalid JSON: {message}", line, col)

    def ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()

    def value(self) -> tuple[Any, int, int]:
        """Returns (python value with nested (value, start, end) triples, start, end)."""
        self.ws()
        start = self.pos
        if start >= len(self.text):
            raise self.fail("unexpected end of file")
        ch = self.text[start]
        if ch == "{":
            self.pos += 1
            items: list[tuple[str, int, int, Any]] = []
            self.ws()
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return items, start, self.pos
            while True:
                self.ws()
                key_start = self.pos
                m = _STRING.match(self.text, self.pos)
                if not m:
                    raise self.fail("expected a quoted key")
                key = without_lone_surrogates(json.loads(m.group(0)))
                self.pos = m.end()
                self.ws()
                if not self.text.startswith(":", self.pos):
                    raise self.fail("expected ':'")
                self.pos += 1
                items.append((key, key_start, m.end(), self.value()))
                self.ws()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                    continue
                if self.text.startswith("}", self.pos):
                    self.pos += 1
                    return _Obj(items), start, self.pos
                raise self.fail("expected ',' or '}'")
        if ch == "[":
            self.pos += 1
            elems: list = []
            self.ws()
            if self.text.startswith("]", self.pos):
                self.pos += 1
                return elems, start, self.pos
            while True:
                elems.append(self.value())
                self.ws()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                    continue
                if self.text.startswith("]", self.pos):
                    self.pos += 1
                    return elems, start, self.pos
                raise self.fail("expected ',' or ']'")
        if ch == '"':
            m = _STRING.match(self.text, start)
            if not m:
                raise self.fail("unterminated string")
            self.pos = m.end()
            return _Str(without_lone_surrogates(json.loads(m.group(0)))), start, self.pos
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, start):
                self.pos = start + len(word)
                return _Lit(val), start, self.pos
        m = _NUMBER.match(self.text, start)
        if m:
            self.pos = m.end()
            number = float(m.group(0))
            return _Lit(int(number) if number.is_integer() and "." not in m.group(0) else number), start, self.pos
        raise self.fail(f"unexpected character {ch!r}")


class _Obj(list):
    pass


class _Str(str):
    pass


class _Lit:
    def __init__(self, value: Any):
        self.value = value


def read_json_document(source: SourceFile):
    reader = _Reader(source)
    value = reader.value()
    reader.ws()
    if reader.pos != len(reader.text):
        raise reader.fail("extra content after the document")
    return value


def _expr(file: str, node, literal: bool) -> ast.Expr:
    value, start, end = node
    span = Span(file, start, end)
    if isinstance(value, _Obj):
        items = [ast.ObjectItem(ast.Literal(Span(file, ks, ke), key), _expr(file, v, literal), Span(file, ks, v[2]))
                 for key, ks, ke, v in value if key != "//"]
        return ast.ObjectExpr(span, items)
    if isinstance(value, list):
        return ast.TupleExpr(span, [_expr(file, v, literal) for v in value])
    if isinstance(value, _Str):
        if literal or "${" not in value and "%{" not in value:
            return ast.Template(span, [str(value)])
        return template_from_text(str(value), file, start + 1, span)
    return ast.Literal(span, value.value)


# The language's own nested blocks, whose schema is Terraform's rather than a provider's: in JSON they are
# known to be blocks, whatever their value looks like (by block type: nested type -> number of labels). The
# nested blocks of a provider's schema cannot be told from object arguments without that schema; they are
# read as blocks when a rule asks for blocks of that name (ast.json_blocks).
_NESTED = {
    "resource": {"lifecycle": 0, "provisioner": 1, "connection": 0, "dynamic": 1},
    "data": {"lifecycle": 0, "dynamic": 1},
    "variable": {"validation": 0},
    "output": {"precondition": 0},
    "terraform": {"required_providers": 0, "backend": 1, "cloud": 0, "provider_meta": 1},
    "check": {"data": 2, "assert": 0},
    "lifecycle": {"precondition": 0, "postcondition": 0},
    "provisioner": {"connection": 0},
    "cloud": {"workspaces": 0},
    "dynamic": {"content": 0},
}


def parse_json_config(source: SourceFile) -> ast.Body:
    """A .tf.json file as blocks and attributes, following Terraform's JSON syntax: each block type's labels
    are nested object keys (an array of objects at any level stands for several), `"//"` keys are comments,
    the language's own nested blocks are blocks, and a block is located at its last label's key (the
    resource's name), where Terraform reports it."""
    doc = read_json_document(source)
    file = source.path
    value, start, end = doc
    if not isinstance(value, _Obj):
        raise ParseFailure("a .tf.json file must contain a JSON object", 1, 1)
    items: list = []
    for block_type, ks, ke, node in value:
        if block_type == "//":
            continue
        depth = _LABELS.get(block_type)
        if depth is None:
            continue
        for labels, body_node, key_start, key_end in _walk_labels(node, depth, ks, ke):
            items.append(_block(file, block_type, labels, body_node, key_start, key_end))
    return ast.Body(Span(file, start, end), items)


def _walk_labels(node, depth: int, key_start: int, key_end: int, labels: tuple[str, ...] = ()):
    """(labels, body node, start and end of the key that names the block) for each block under ``node``."""
    value, start, end = node
    if isinstance(value, list) and not isinstance(value, _Obj):
        for elem in value:
            yield from _walk_labels(elem, depth, key_start, key_end, labels)
        return
    if depth == 0:
        yield labels, node, key_start, key_end
        return
    if isinstance(value, _Obj):
        for key, ks, ke, child in value:
            if key != "//":
                yield from _walk_labels(child, depth - 1, ks, ke, labels + (key,))


def _block(file: str, block_type: str, labels: tuple[str, ...], node, header_start: int,
           header_end: int) -> ast.Block:
    value, start, end = node
    nested = _NESTED.get(block_type, {})
    items: list = []
    if isinstance(value, _Obj):
        for key, ks, ke, child in value:
            if key == "//":
                continue
            if key in nested:
                items.extend(_block(file, key, inner, body_node, kstart, kend)
                             for inner, body_node, kstart, kend in _walk_labels(child, nested[key], ks, ke))
                continue
            items.append(ast.Attribute(Span(file, ks, child[2]), key, Span(file, ks, ke),
                                       _argument(file, block_type, key, child)))
    body = ast.Body(Span(file, start, end), items)
    return ast.Block(Span(file, header_start, end), block_type, list(labels), body, start, max(start, end - 1),
                     Span(file, header_start, header_end))


def _argument(file: str, block_type: str, name: str, node) -> ast.Expr:
    """An argument's value: a variable's default is literal JSON, its type a type expression in a string;
    every other string is a template, as Terraform reads it."""
    if block_type == "variable" and name == "default":
        return _expr(file, node, True)
    value, start, end = node
    if block_type == "variable" and name == "type" and isinstance(value, _Str):
        from iaclint.hcl.parser import parse_expression

        try:
            return parse_expression(str(value), file, start + 1)
        except ParseFailure:
            return ast.Unsupported(Span(file, start, end), f"the type {str(value)!r} does not parse")
    return _expr(file, node, False)


def parse_json_tfvars(source: SourceFile) -> ast.Body:
    """A .tfvars.json file: top-level keys are variable names, values are literal JSON."""
    value, start, end = read_json_document(source)
    if not isinstance(value, _Obj):
        raise ParseFailure("a .tfvars.json file must contain a JSON object", 1, 1)
    attrs = [ast.Attribute(Span(source.path, ks, child[2]), key, Span(source.path, ks, ke),
                           _expr(source.path, child, True))
             for key, ks, ke, child in value if key != "//"]
    return ast.Body(Span(source.path, start, end), attrs)
