"""Terraform's type conversion for input variables, as far as verdicts depend on it.

"true" given for a `bool` variable becomes true, and `optional(bool, false)` attributes missing from
an object input get their defaults, whose origin is the default written in the type.
"""

from __future__ import annotations

from iaclint.eval.convert import EvalError, as_set, to_bool, to_number, to_string
from iaclint.eval.evaluator import ConstantContext, Evaluator
from iaclint.eval.values import OriginKind, Value
from iaclint.hcl import ast


def convert(value: Value, type_expr: ast.Expr) -> Value:
    """Convert where Terraform would; leave the value as it is where conversion does not apply."""
    if not value.known or value.raw is None:
        return value
    try:
        return _convert(value, type_expr)
    except EvalError:
        return value


def _convert(value: Value, type_expr: ast.Expr) -> Value:
    if not value.known or value.raw is None:
        return value
    if isinstance(type_expr, ast.Variable):
        name = type_expr.name
        if name == "bool":
            return _same(value, to_bool(value))
        if name == "number":
            return _same(value, to_number(value))
        if name == "string":
            if isinstance(value.raw, (bool, int, float, str)):
                return _same(value, to_string(value))
        return value
    if isinstance(type_expr, ast.Call) and type_expr.args:
        kind = type_expr.name
        inner = type_expr.args[0]
        raw = value.raw
        if kind in ("list", "set") and isinstance(raw, list):
            items = [_convert(v, inner) for v in raw]
            return Value(as_set(items) if kind == "set" else items, None, value.origin, value.via, value.refs,
                         value.mark)
        if kind == "map" and isinstance(raw, dict):
            return Value({k: _convert(v, inner) for k, v in raw.items()}, None, value.origin, value.via, value.refs,
                         value.mark)
        if kind == "object" and isinstance(raw, dict) and isinstance(inner, ast.ObjectExpr):
            return _convert_object(value, inner)
        if kind == "optional":
            return _convert(value, inner)
    return value


def _convert_object(value: Value, spec: ast.ObjectExpr) -> Value:
    out = dict(value.raw)
    for item in spec.items:
        if not isinstance(item.key, ast.Literal):
            continue
        name = str(item.key.value)
        attr_type = item.value
        is_optional = isinstance(attr_type, ast.Call) and attr_type.name == "optional"
        if name in out and not out[name].is_null:
            out[name] = _convert(out[name], attr_type.args[0] if is_optional and attr_type.args else attr_type)
        elif is_optional:
            if len(attr_type.args) > 1:
                label = f"default of optional attribute {name}"
                default = Evaluator(ConstantContext("in a type default"), OriginKind.VARIABLE_DEFAULT,
                                    label).evaluate(attr_type.args[1])
                out[name] = _convert(default, attr_type.args[0])
            else:
                out[name] = Value(None)
    return Value(out, None, value.origin, value.via, value.refs, value.mark)


def _same(value: Value, raw) -> Value:
    return Value(raw, None, value.origin, value.via, value.refs, value.mark)  # a sensitive input stays so
