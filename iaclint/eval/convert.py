"""Terraform's conversions between primitive values, and the error evaluation raises.

Kept apart from the evaluator so that functions, types and the graph can convert values without
importing the evaluator (and so without an import cycle between it and the function library).
"""

from __future__ import annotations

import math
import re

from iaclint.eval.values import Value, render, type_name
from iaclint.hcl import ast

_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")  # what tonumber() accepts
MAX_INT_BITS = 1024  # larger integers are beyond what iaclint computes with (Terraform keeps 512-bit floats)


class EvalError(Exception):
    def __init__(self, message: str, node: ast.Node | None = None):
        super().__init__(message)
        self.node = node


def to_bool(value: Value, node: ast.Node | None = None) -> bool:
    raw = value.raw
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return raw == "true"
    raise EvalError(f"a bool is required, got {render(value)}", node)


def to_number(value: Value, node: ast.Node | None = None) -> int | float:
    raw = value.raw
    if isinstance(raw, bool):
        raise EvalError(f"a number is required, got {render(value)}", node)
    if isinstance(raw, (int, float)):
        return checked_number(raw, node)
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > 400 or not _NUMBER.fullmatch(text):
            raise EvalError(f"a number is required, got {render(value)}", node)
        if "." not in text and "e" not in text.lower():
            return checked_number(int(text), node)
        return checked_number(float(text), node)
    raise EvalError(f"a number is required, got {render(value)}", node)


def checked_number(number: int | float, node: ast.Node | None = None) -> int | float:
    """A number iaclint can compute with: finite, and an integer of at most MAX_INT_BITS bits."""
    if isinstance(number, float) and not math.isfinite(number):
        raise EvalError("a number too large (or not a number) for iaclint to compute with", node)
    if isinstance(number, int) and number.bit_length() > MAX_INT_BITS:
        raise EvalError(f"a number of more than {MAX_INT_BITS} bits is too large for iaclint to compute with", node)
    return number


def to_index(value: Value, node: ast.Node | None = None) -> int:
    """A whole number used as an index, a count or a length."""
    number = to_number(value, node)
    if isinstance(number, float):
        if not number.is_integer():
            raise EvalError(f"a whole number is required, got {render(value)}", node)
        number = int(number)
    return number


def to_string(value: Value, node: ast.Node | None = None) -> str:
    raw = value.raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, str):
        return raw
    if raw is None:
        raise EvalError("a string is required, got null", node)
    raise EvalError(f"a string is required, got a {type_name(value)}", node)
