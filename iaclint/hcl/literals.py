"""What both HCL back ends share: the parse error, literal decoding, and template text helpers."""

from __future__ import annotations

import re
from typing import Callable

from iaclint.hcl import ast
from iaclint.model import Span


class ParseFailure(Exception):
    """A syntax error terraform would report, with its line and column."""

    __hash__ = None  # type: ignore[assignment]  # compared by its fields, as the dataclass it was

    def __init__(self, message: str, line: int, column: int):
        self.message = message
        self.line = line
        self.column = column

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.message, self.line, self.column) == (other.message, other.line, other.column)

    def __repr__(self) -> str:
        return f"ParseFailure(message={self.message!r}, line={self.line!r}, column={self.column!r})"

    def __str__(self) -> str:
        return f"{self.message} (line {self.line}, column {self.column})"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.S)


def number_literal(text: str) -> int | float:
    """A number literal as Terraform reads it: a whole number (2, 1e3, 2.50e2) exactly as an int, anything else
    as the nearest float; past Python's 4,300-digit conversion limit it is kept as a float (inf)."""
    if len(text) >= 4000:
        return float(text)
    if text.isdigit():
        return int(text)
    return number_from_text(text)


def number_from_text(text: str) -> int | float:
    """A decimal number as Terraform reads it: whole numbers exactly (1e3 and 1e23 are the integers they
    write, not the nearest double), others as the nearest double, whose shortest text is what was written
    (for up to 15 significant digits)."""
    from decimal import Decimal
    from fractions import Fraction

    body = text.strip()
    if body.isdigit() and body.isascii() and len(body) <= 300:  # a whole number: itself (the common case)
        return int(body)
    try:
        decimal = Decimal(body)
    except ArithmeticError:
        return float(body)
    if len(body) > 400 or not decimal.is_finite() or not -300 < decimal.adjusted() < 400:
        return float("inf")  # beyond what iaclint computes with: the evaluator makes it unknown
    exact = Fraction(decimal)
    if exact.denominator == 1 and abs(exact.numerator).bit_length() <= 1024:
        return int(exact.numerator)
    return float(body)



def unescape(raw: str) -> str:
    def repl(m: re.Match) -> str:
        code = m.group(1)
        if code[0] in "uU" and len(code) > 1:
            point = int(code[1:], 16)
            if point > 0x10FFFF:
                raise ParseFailure(f"\\{code} is not a Unicode character (the largest is \\U0010FFFF)", 1, 1)
            if 0xD800 <= point <= 0xDFFF:  # terraform: invalid escape
                raise ParseFailure(f"\\{code} is a surrogate code point, not a Unicode character", 1, 1)
            return chr(point)
        if code not in _ESCAPES:
            raise ParseFailure(f"\\{code} is not an escape sequence (\\n, \\r, \\t, \\\", \\\\, \\uNNNN, "
                               "\\UNNNNNNNN)", 1, 1)
        return _ESCAPES[code]

    return _ESCAPE_RE.sub(repl, raw) if "\\" in raw else raw


def template_parts(body: str, file: str, offset: int, parse_expression: Callable[[str, str, int], ast.Expr]):
    """Literal text and interpolations of template text that was not parsed as HCL (heredocs under
    Lark, JSON configuration strings); a directive or a broken interpolation makes it Unsupported."""
    parts: list = []
    i = 0
    literal: list[str] = []
    while i < len(body):
        if body.startswith("$${", i) or body.startswith("%%{", i):
            literal.append(body[i + 1 : i + 3])
            i += 3
            continue
        if body.startswith("%{", i):
            return ast.Unsupported(Span(file, offset + i, offset + i + 2),
                                   "template directives (%{if}, %{for}) are not evaluated")
        if body.startswith("${", i):
            end = matching_brace(body, i + 2)
            if end is None:
                return ast.Unsupported(Span(file, offset + i, offset + len(body)), "unterminated interpolation")
            if literal:
                parts.append("".join(literal))
                literal = []
            inner = body[i + 2 : end]
            try:
                parts.append(parse_expression(inner, file, offset + i + 2))
            except ParseFailure as exc:
                return ast.Unsupported(Span(file, offset + i, offset + end + 1),
                                       f"interpolation does not parse: {exc.message}")
            i = end + 1
            continue
        literal.append(body[i])
        i += 1
    if literal:
        parts.append("".join(literal))
    return parts



def outside_strings(text: str, start: int = 0):
    """Indices of the characters of ``text`` that are not inside a double-quoted string."""
    i = start
    in_string = False
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        else:
            yield i
        i += 1


def matching_brace(text: str, start: int) -> int | None:
    depth = 0
    for i in outside_strings(text, start):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            if depth == 0:
                return i
            depth -= 1
    return None


def trim_heredoc(parts: list) -> list:
    """Apply <<- indentation stripping to the literal parts (HCL strips the least indentation)."""
    text_lines = "".join(p if isinstance(p, str) else "\x00" for p in parts).split("\n")
    indents = [len(line) - len(line.lstrip(" \t")) for line in text_lines if line.strip(" \t\r")]
    strip = min(indents) if indents else 0
    if strip == 0:
        return parts
    out: list = []
    at_line_start = True
    for part in parts:
        if not isinstance(part, str):
            out.append(part)
            at_line_start = False
            continue
        pieces = part.split("\n")
        fixed = []
        for i, piece in enumerate(pieces):
            if i > 0:
                at_line_start = True
            if at_line_start:
                piece = piece[min(strip, len(piece) - len(piece.lstrip(" \t"))):]
            fixed.append(piece)
            at_line_start = False
        out.append("\n".join(fixed))
    return out
