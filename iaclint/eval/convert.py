"""Terraform's conversions between primitive values, and the error evaluation raises.

Kept apart from the evaluator so that functions, types and the graph can convert values without
importing the evaluator (and so without an import cycle between it and the function library).
"""

from __future__ import annotations

from iaclint.eval.values import Value, render, type_name
from iaclint.hcl import ast


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
        return raw
    if isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            raise EvalError(f"a number is required, got {render(value)}", node) from None
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    raise EvalError(f"a number is required, got {render(value)}", node)


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
