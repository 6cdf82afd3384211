"""Parse HCL text into iaclint's span-carrying tree (hcl/ast.py).

Two back ends build the same tree: tree-sitter-hcl (hcl/tsparse.py), fast and compact, used whenever it
is installed and finds no syntax error; and python-hcl2's Lark grammar (hcl/larkparse.py), which
explains syntax errors and reads the few forms tree-sitter-hcl rejects. Nothing outside iaclint/hcl
knows which one built a tree.
"""

from __future__ import annotations

import os
import re

from iaclint.hcl import ast
from iaclint.hcl.literals import ParseFailure, outside_strings, template_parts

__all__ = ["ParseFailure", "outside_strings", "parse_expression", "parse_source", "template_from_text"]
from iaclint.model import Span
from iaclint.source import SourceFile


def _use_tree_sitter() -> bool:
    if os.environ.get("IACLINT_PARSER") == "lark":  # the parity tests compare both back ends
        return False
    from iaclint.hcl import tsparse

    return tsparse.available()


def back_end() -> str:
    """Which back end parses first here, for the parse cache's key."""
    return "tree-sitter-hcl" if _use_tree_sitter() else "python-hcl2"


def _check_line_endings(text: str) -> None:
    lone_cr = re.search(r"\r(?!\n)", text)
    if lone_cr is not None:
        before = text[:lone_cr.start()]
        line = before.count("\n") + 1
        raise ParseFailure("a lone carriage return (CR) ends a line here; terraform reads LF or CRLF line endings",
                           line, lone_cr.start() - (before.rfind("\n") + 1) + 1)


def parse_source(source: SourceFile) -> ast.Body:
    """Parse a whole file; raises ParseFailure with a readable message and position."""
    _check_line_endings(source.text)
    try:
        if _use_tree_sitter():
            from iaclint.hcl import tsparse

            body = tsparse.parse_body(source.text, source.path)
            if body is not None:
                return body
        from iaclint.hcl import larkparse

        return larkparse.parse_source(source)
    except RecursionError:
        raise ParseFailure("nested too deeply for iaclint to read", 1, 1) from None


def parse_expression(text: str, file: str, offset: int, context: SourceFile | None = None) -> ast.Expr:
    """Parse an expression found inside other text (a heredoc interpolation, a --var value)."""
    prefix = "x = "
    _check_line_endings(text)
    try:
        if _use_tree_sitter():
            from iaclint.hcl import tsparse

            body = tsparse.parse_body(prefix + text, file, shift=offset - len(prefix), check_layout=False)
            if body is not None:
                if len(body.items) != 1 or not isinstance(body.items[0], ast.Attribute):
                    raise ParseFailure("expected a single expression", 1, 1)
                return body.items[0].expr
        from iaclint.hcl import larkparse

        return larkparse.parse_expression(text, file, offset, context)
    except RecursionError:
        raise ParseFailure("expression nested too deeply to parse", 1, 1) from None


def template_from_text(text: str, file: str, offset: int, span: Span) -> ast.Expr:
    """A string that is a template but was not written in HCL syntax (JSON configuration)."""
    parts = template_parts(text, file, offset, parse_expression)
    if isinstance(parts, ast.Unsupported):
        return ast.Unsupported(span, parts.reason)
    return ast.Template(span, parts)
