"""Terraform's built-in functions that matter for resolving configuration values.

Functions that pass values through (lookup, try, coalesce, merge, concat, the conversions) keep the
elements' origins, so a fix can still find the literal that decided the outcome. Functions whose
result depends on the time, the network or provider state return unknown with the reason.

Every function is total: a bad argument raises EvalError (which try() and can() see, as Terraform's
errors) and work that would be unbounded stops at a limit (eval/limits.py). A result computed from a
sensitive or file-read argument carries its mark (values.py), as Terraform's functions do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import urllib.parse
from typing import Any, Callable, Protocol

from iaclint.eval import regex as regexes
from iaclint.eval.convert import (SET_ORDER, EvalError, Inexact, as_set, checked_number, exact_value,
                                  is_binary_exact, number_text, set_order_unknown, to_bool, to_index, to_number,
                                  to_string)
from iaclint.eval.files import Refused
from iaclint.eval.limits import LimitReached, Limits
from iaclint.eval.values import (SENSITIVE, Alternatives, PartialString, SetList, Value, from_python, render,
                                 stronger_mark, type_name)
from iaclint.hcl import ast
from iaclint.source import may_hold_lone_surrogates, without_lone_surrogates


class Evaluator(Protocol):
    """What a function needs of the evaluator that calls it (the evaluator imports this module)."""

    context: Any
    limits: Limits

    def eval(self, expr: ast.Expr) -> Value: ...
    def derived(self, node: ast.Node, raw: Any, inputs: list[Value]) -> Value: ...
    def summary(self, inputs: list[Value]) -> tuple[frozenset[str], str | None]: ...
    def unknown_from(self, node: ast.Node, inputs: list[Value]) -> Value: ...
    def check_string(self, length: int, what: str) -> None: ...
    def _expr_origin(self, node: ast.Node) -> Any: ...

Impl = Callable[[Evaluator, ast.Call, list[Value]], Value]

class NotEvaluated(Exception):
    """A pure function whose result iaclint cannot compute exactly as Terraform does for these arguments: the
    value is unknown, with the function's name in the reason, never a result that may differ."""


# Functions whose result cannot be known before apply or depends on the machine.
NOT_STATIC = {
    "abspath": "abspath() depends on the directory terraform runs in",
    "pathexpand": "pathexpand() depends on the home directory of whoever runs terraform",
    "timestamp": "timestamp() is known only at apply time",
    "uuid": "uuid() is random",
    "bcrypt": "bcrypt() is random",
    "plantimestamp": "plantimestamp() is known only at plan time",
    "formatdate": None,  # handled below: depends on its arguments
}


def call_function(ev: Evaluator, call: ast.Call) -> Value:
    name = call.name
    if name == "try":
        return _try(ev, call)
    if name == "can":
        return _can(ev, call)
    own = getattr(ev.context, "functions", None)  # a context may add functions of its own (Terragrunt's)
    impl = own.get(name) if own is not None and name in own else FUNCTIONS.get(name)
    if impl is None:
        reason = NOT_STATIC.get(name) or f"function {name}() is not evaluated by iaclint"
        args = [ev.eval(a) for a in call.args]
        return Value(None, reason, ev._expr_origin(call), (), _refs(args))
    args = [ev.eval(a) for a in call.args]
    if call.expand_final and args:
        last = args[-1]
        if not last.known:
            return ev.unknown_from(call, args)
        if not isinstance(last.raw, list):
            raise EvalError(f"cannot expand a {type_name(last)} into arguments", call)
        args = args[:-1] + [item.marked(last.mark) for item in last.raw]
    try:
        result = impl(ev, call, args)
    except (regexes.Unsafe, Inexact, NotEvaluated) as exc:
        return Value(None, str(exc), ev._expr_origin(call), (), _refs(args))
    mark = None
    for arg in args:  # Terraform's rule: what a function makes of a marked argument is marked
        mark = stronger_mark(mark, arg.mark)
    return result.marked(mark) if mark is not None else result


def _refs(values: list[Value]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for v in values:
        out |= v.all_refs()
    return out


def _try(ev: Evaluator, call: ast.Call) -> Value:
    errors = []
    for arg in call.args:
        try:
            value = ev.eval(arg)
        except EvalError as exc:
            errors.append(str(exc))
            continue
        return value
    raise EvalError("no argument of try() could be evaluated: " + "; ".join(errors), call)


def _can(ev: Evaluator, call: ast.Call) -> Value:
    if len(call.args) != 1:
        raise EvalError("can() takes one argument", call)
    try:
        value = ev.eval(call.args[0])
    except EvalError:
        return ev.derived(call, False, [])
    if not value.wholly_known():
        return ev.unknown_from(call, [value])
    return ev.derived(call, True, [value])


def pure(fn: Callable[..., object], min_args: int = 0, max_args: int | None = None,
         takes_limits: bool = False) -> Impl:
    """A function computed from wholly known plain data; the result is derived (no single origin).
    ``takes_limits``: fn is called with limits=... and must keep to them while it builds its result."""

    def impl(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
        _arity(call, args, min_args, max_args)
        if not all(a.wholly_known() for a in args):
            return ev.unknown_from(call, args)
        plain = [a.to_python() for a in args]
        try:
            result = fn(*plain, limits=ev.limits) if takes_limits else fn(*plain)
        except (EvalError, LimitReached, regexes.Unsafe, Inexact, NotEvaluated):
            raise
        except (TypeError, ValueError, LookupError, ArithmeticError, AttributeError) as exc:
            raise EvalError(f"{call.name}(): {_short(exc)}", call) from None
        if isinstance(result, (int, float)) and not isinstance(result, bool):
            result = checked_number(result, call)
        elif isinstance(result, str):
            ev.check_string(len(result), f"the result of {call.name}()")
        elif isinstance(result, (list, dict)) and len(result) > ev.limits.collection:
            raise LimitReached("collection", f"{call.name}() would give more than {ev.limits.collection:,} values")
        return _wrap(ev, call, result, args)

    return impl


def _wrap(ev: Evaluator, call: ast.Call, result: Any, args: list[Value]) -> Value:
    """A plain function result as a Value derived from ``args``: their resources and their marks."""
    refs, mark = ev.summary(args)  # the refs and strongest mark of the arguments, computed once
    return from_python(result, ev._expr_origin(call), mark).with_refs(refs)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 160 else text[:157] + "..."


def _arity(call: ast.Call, args: list[Value], lo: int, hi: int | None) -> None:
    if len(args) < lo or (hi is not None and len(args) > hi):
        expected = f"{lo}" if hi == lo else f"{lo} to {hi}" if hi is not None else f"at least {lo}"
        raise EvalError(f"{call.name}() takes {expected} arguments, got {len(args)}", call)


def _need_known(ev: Evaluator, call: ast.Call, *values: Value) -> Value | None:
    for v in values:
        if not v.known:
            return ev.unknown_from(call, list(values))
    return None


def _collection_limit(ev: Evaluator, call: ast.Call, count: int) -> None:
    if count > ev.limits.collection:
        raise LimitReached("collection", f"{call.name}() would give more than {ev.limits.collection:,} values")


# ---- pass-through functions --------------------------------------------------------------------


def f_lookup(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 2, 3)
    mapping, key = args[0], args[1]
    unknown = _need_known(ev, call, mapping, key)
    if unknown:
        return unknown
    if not isinstance(mapping.raw, dict):
        raise EvalError(f"lookup() needs a map, got {type_name(mapping)}", call)
    name = to_string(key, call)
    if name in mapping.raw:
        return mapping.raw[name].with_refs(mapping.refs)
    if len(args) == 3:
        return args[2]
    raise EvalError(f"lookup(): key {render(key) if key.mark else repr(name)} not found and no default given", call)


def f_coalesce(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    """The first argument that is neither null nor "". An unknown argument may be either, so from it on the
    result is one of the arguments left: their alternatives, never the next one taken as the answer."""
    for position, arg in enumerate(args):
        if not arg.known:
            rest = []  # the arguments that may be the result: up to the first that surely is not null or ""
            for candidate in args[position:]:
                if candidate.known and (candidate.raw is None or candidate.raw == ""):
                    continue
                rest.append(candidate)
                if candidate.known:
                    break
            if len(rest) == 1:
                return rest[0]  # the only one that can be the result (else terraform stops with an error)
            unknown = ev.unknown_from(call, args)
            if len(rest) <= Alternatives.LIMIT:
                unknown.raw = Alternatives(tuple(rest), f"whether {_shown_argument(call, position)} is null or "
                                                        f"\"\" is not known ({arg.unknown})")
            return unknown
        if arg.raw is not None and arg.raw != "":
            return arg
    raise EvalError("coalesce(): no non-null, non-empty argument", call)


def _shown_argument(call: ast.Call, position: int) -> str:
    return f"argument {position + 1} of {call.name}()"


def f_coalescelist(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    for arg in args:
        if not arg.known:
            return ev.unknown_from(call, args)
        if isinstance(arg.raw, list) and arg.raw:
            return arg
    raise EvalError("coalescelist(): no non-empty list", call)


def f_merge(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    out: dict[str, Value] = {}
    for arg in args:
        if not arg.known:
            return ev.unknown_from(call, args)
        if arg.raw is None:
            continue
        if not isinstance(arg.raw, dict):
            raise EvalError(f"merge() needs maps or objects, got {type_name(arg)}", call)
        out.update(arg.raw)
    return Value(out, None, ev._expr_origin(call), (), _refs(args))


def f_concat(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    out: list[Value] = []
    for arg in args:
        if not arg.known:
            return ev.unknown_from(call, args)
        if not isinstance(arg.raw, list):
            raise EvalError(f"concat() needs lists, got {type_name(arg)}", call)
        out.extend(arg.raw)
        _collection_limit(ev, call, len(out))
    return Value(out, None, ev._expr_origin(call), (), _refs(args))


def f_element(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 2, 2)
    unknown = _need_known(ev, call, *args)
    if unknown:
        return unknown
    if not isinstance(args[0].raw, list) or not args[0].raw:
        raise EvalError("element() needs a non-empty list", call)
    items = args[0].raw
    return items[to_index(args[1], call) % len(items)]


def f_one(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    unknown = _need_known(ev, call, args[0])
    if unknown:
        return unknown
    raw = args[0].raw
    if raw is None:
        return args[0]
    if not isinstance(raw, list) or len(raw) > 1:
        raise EvalError("one() needs a list of zero or one element", call)
    return raw[0] if raw else Value(None, None, ev._expr_origin(call))


def f_values(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    unknown = _need_known(ev, call, args[0])
    if unknown:
        return unknown
    if not isinstance(args[0].raw, dict):
        raise EvalError("values() needs a map", call)
    return Value([args[0].raw[k] for k in sorted(args[0].raw)], None, ev._expr_origin(call), (), args[0].refs)


def f_flatten(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    out: list[Value] = []
    todo = [args[0]]
    while todo:  # iterative: a deeply nested list must not exhaust the stack
        v = todo.pop()
        if not v.known:
            return ev.unknown_from(call, args)
        if isinstance(v.raw, list):
            todo.extend(reversed(v.raw))
        else:
            out.append(v)
            _collection_limit(ev, call, len(out))
    return Value(out, None, ev._expr_origin(call), (), args[0].refs)


def _conversion(convert) -> Impl:
    """tobool/tostring/tonumber: the converted value keeps the origin of the value converted."""

    def impl(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
        _arity(call, args, 1, 1)
        v = args[0]
        if not v.known or v.raw is None:
            return v
        return Value(convert(v, call), None, v.origin, v.via, v.refs).marked(v.mark)

    return impl


def f_toset(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    v = args[0]
    if not v.known:
        return v
    if not isinstance(v.raw, list):
        raise EvalError(f"toset() needs a list or set, got {type_name(v)}", call)
    out = as_set(list(v.raw))
    return Value(out, None, v.origin, v.via, v.refs, v.mark)


def _identity(value: Value) -> str:
    """A key that equal values share (for sets and distinct()), in one pass."""
    return json.dumps(value.to_python(), sort_keys=True, default=repr)


def f_tolist(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    v = args[0]
    if not v.known:
        return v
    if not isinstance(v.raw, list):
        raise EvalError(f"tolist() needs a list or set, got {type_name(v)}", call)
    if set_order_unknown(v):
        return ev.unknown_from(call, args, SET_ORDER)
    return Value(list(v.raw), None, v.origin, v.via, v.refs, v.mark)


def f_tomap(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    v = args[0]
    if not v.known:
        return v
    if not isinstance(v.raw, dict):
        raise EvalError(f"tomap() needs a map or object, got {type_name(v)}", call)
    return v


def f_length(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    v = args[0]
    if not v.known:
        return ev.unknown_from(call, args)
    if isinstance(v.raw, (list, dict, str)):
        return ev.derived(call, len(v.raw), args)
    raise EvalError(f"length() needs a collection or string, got {type_name(v)}", call)


def f_keys(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    v = args[0]
    if not v.known:
        return ev.unknown_from(call, args)
    if not isinstance(v.raw, dict):
        raise EvalError("keys() needs a map", call)
    return Value([Value(k).marked(v.mark) for k in sorted(v.raw)], None, ev._expr_origin(call), (), v.refs)


def f_contains(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 2, 2)
    collection, item = args
    if not collection.known or not item.wholly_known():
        return ev.unknown_from(call, args)
    if not isinstance(collection.raw, list):
        raise EvalError("contains() needs a list or set", call)
    target = item.to_python()
    saw_unknown = False
    for element in collection.raw:
        if not element.wholly_known():
            saw_unknown = True
            continue
        if element.to_python() == target:
            return ev.derived(call, True, args)
    if saw_unknown:
        return ev.unknown_from(call, args)
    return ev.derived(call, False, args)


def f_sensitive(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    return args[0].marked(SENSITIVE)


def f_nonsensitive(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    """Terraform shows the value again; iaclint does not: in a pull request from a stranger, nonsensitive()
    would be the way to print the CI's secrets."""
    _arity(call, args, 1, 1)
    return args[0]


# ---- plain functions -----------------------------------------------------------------------------

_FORMAT_SPEC = re.compile(r"%([-+ #0]*)(\d*)(?:\.(\d*))?([a-zA-Z%])")


def _format(fmt: str, *values: object, limits: Limits) -> str:
    out: list[str] = []
    size = 0
    i = 0
    arg = 0
    while i < len(fmt):
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        size += j - i
        spec = _FORMAT_SPEC.match(fmt, j)
        if spec is None:
            raise ValueError("a format verb is incomplete or not supported")
        flags, width, precision, verb = spec.groups()
        for number in (width, precision):
            if number and (len(number) > 9 or int(number) > limits.string):
                raise LimitReached("string", f"a format width or precision of {number} is more than "
                                   f"{limits.string:,} characters")
        i = spec.end()
        if verb == "%":
            out.append("%")
            size += 1
            continue
        if arg >= len(values):
            raise ValueError("not enough arguments for the format string")
        value = values[arg]
        arg += 1
        text = _format_one(flags, width, precision, verb, value, limits)
        out.append(text)
        size += len(text)
        if size > limits.string:
            raise LimitReached("string", f"format() would give more than {limits.string:,} characters")
    return "".join(out)


def _format_one(flags: str, width: str, precision: str, verb: str, value: object, limits: Limits) -> str:
    spec = "%" + flags + width + (f".{precision}" if precision is not None else "")
    if verb in "sv":
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = value
        elif isinstance(value, (list, dict)):
            text = _jsonencode(value, limits=limits)
        elif value is None:
            raise ValueError("null cannot be formatted")
        elif verb == "v":
            text = _go_shortest_g(_number(value))
        else:
            text = _number_text(value)
        return (spec + "s") % text
    if verb == "d":
        number = _number(value)
        if isinstance(number, float):
            if not number.is_integer():
                raise ValueError(f"%d needs a whole number, got {number}")
            number = int(number)
        return (spec + "d") % number
    if verb in "fFeEgG":
        return _format_float(spec, verb, _number(value), precision)
    if verb == "q":
        return _json_string(value if isinstance(value, str) else _number_text(_number(value)))
    if verb == "t":
        if not isinstance(value, bool):
            raise ValueError("%t needs a bool")
        return (spec + "s") % ("true" if value else "false")
    if verb in "xXob":
        number = _number(value)
        if isinstance(number, float):
            if not number.is_integer():
                raise ValueError(f"%{verb} needs a whole number")
            number = int(number)
        return format(number, verb)
    raise ValueError(f"unsupported format verb %{verb}")


def _number(value: object) -> int | float:
    if isinstance(value, bool) or value is None:
        raise ValueError("a number is required")
    return to_number(Value(value))


def _number_text(value: object) -> str:
    return to_string(Value(value))


def _go_shortest_g(number: int | float) -> str:
    """%v of a number: Go's %g with the shortest digits (1.5e-05, 1e+21, 0.25)."""
    from decimal import Decimal  # here, not at start-up: most runs format no number

    digits = Decimal(number_text(number)).normalize()
    sign, mantissa, exponent = digits.as_tuple()
    if not any(mantissa):
        return "0"
    exp = len(mantissa) + exponent - 1  # the power of ten of the first digit
    if -4 <= exp < 6:  # Go's rule for the shortest digits: an exponent outside it is written as one
        return number_text(number)
    text = "".join(map(str, mantissa))
    body = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return ("-" if sign else "") + body + "e" + ("-" if exp < 0 else "+") + f"{abs(exp):02d}"


def _format_float(spec: str, verb: str, number: int | float, precision: str | None) -> str:
    """%f, %e, %g of a number. Terraform rounds its 512-bit value: a decimal fraction that is not a binary one
    (0.1) rounds like the decimal it was written as, unless it is exactly halfway, where the 512-bit
    approximation decides the direction."""
    from decimal import ROUND_HALF_EVEN, Decimal

    exact = exact_value(number)
    if isinstance(number, int) and abs(number) > 2 ** 53:  # more digits than a float holds: written exactly
        if verb not in "fF" or any(flag in spec for flag in "+- #0"):
            raise Inexact(f"format %{verb} of the integer {number} with more digits than iaclint formats exactly")
        places = int(precision) if precision is not None else 6
        return (spec.split(".")[0] + "s") % format(Decimal(number).quantize(Decimal(1).scaleb(-places)), "f")
    if is_binary_exact(exact):
        return (spec + verb) % (float(number) if not isinstance(number, int) else number)
    if verb not in "fF":
        raise Inexact(f"format %{verb} of the decimal fraction {number_text(number)}: Terraform rounds its 512-bit "
                      "approximation, whose digits iaclint does not reproduce")
    places = int(precision) if precision is not None else 6
    decimal = Decimal(repr(number))
    quantum = Decimal(1).scaleb(-places)
    if (decimal / quantum) % 1 == Decimal("0.5"):
        raise Inexact(f"format %{verb} of {number_text(number)} is halfway between two roundings; Terraform's "
                      "512-bit approximation decides which")
    if "0" in spec.split(".")[0][1:].rstrip("0123456789"):
        raise Inexact(f"format %{verb} with zero padding of the decimal fraction {number_text(number)}")
    rounded = decimal.quantize(quantum, rounding=ROUND_HALF_EVEN)
    return (spec.split(".")[0] + "s") % format(rounded, "f")


def _jsonencode(value: object, limits: Limits) -> str:
    """As Terraform writes JSON (Go's encoding): object keys in order, numbers with all their digits and no
    exponent, and <, >, &, U+2028 and U+2029 escaped."""
    _check_text_size(value, limits, "jsonencode()")
    out: list[str] = []
    try:
        _json_into(value, out)
    except RecursionError:
        raise ValueError("the value is nested too deeply") from None
    return "".join(out)


_GO_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                                  "\u2029": "\\u2029"})


def _json_string(text: str) -> str:
    """A string as Go's JSON encoder writes it (jsonencode(), format("%q"))."""
    return json.dumps(text, ensure_ascii=False).translate(_GO_JSON_ESCAPES)


def _json_into(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True or value is False:
        out.append("true" if value else "false")
    elif isinstance(value, (int, float)):
        out.append(number_text(value))
    elif isinstance(value, str):
        out.append(_json_string(value))
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _json_into(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):
            if i:
                out.append(",")
            out.append(_json_string(key))
            out.append(":")
            _json_into(value[key], out)
        out.append("}")
    else:
        raise ValueError(f"cannot encode {type(value).__name__} as JSON")


def _check_text_size(value: object, limits: Limits, what: str) -> None:
    """Refuse to serialise a value whose text would pass the string limit (shared parts count each time)."""
    size = 0
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, dict):
            size += 2 + len(item)
            for key, child in item.items():
                size += len(key) + 3
                todo.append(child)
        elif isinstance(item, list):
            size += 2 + len(item)
            todo.extend(item)
        else:
            size += 8
        if size > limits.string:
            raise LimitReached("string", f"{what} would give more than {limits.string:,} characters")


def _jsondecode(text: str, limits: Limits) -> object:
    if not isinstance(text, str):
        raise ValueError("jsondecode() needs a string")
    if text.count(",") + text.count("[") + text.count("{") > limits.collection:
        raise LimitReached("collection", f"jsondecode() would give more than {limits.collection:,} values")

    def number(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            raise ValueError(f"the number {literal[:20]} is too large for iaclint")
        return value

    def integer(literal: str) -> int:
        if len(literal) > 300:
            raise ValueError("an integer of more than 300 digits is too large for iaclint")
        return int(literal)

    def constant(name: str):
        raise ValueError(f"{name} is not valid JSON")

    data = json.loads(text, parse_float=number, parse_int=integer, parse_constant=constant)
    return without_lone_surrogates(data) if may_hold_lone_surrogates(text) else data


def _join(sep: str, *lists: list, limits: Limits) -> str:
    if not isinstance(sep, str):
        raise ValueError("the separator must be a string")
    items: list[str] = []
    size = 0
    for lst in lists:
        if not isinstance(lst, list):
            raise ValueError("join() needs lists of strings")
        for x in lst:
            if x is None or isinstance(x, (list, dict)):
                raise ValueError("join() needs lists of strings")
            text = "true" if x is True else "false" if x is False else _number_text(x) if not isinstance(x, str) else x
            items.append(text)
            size += len(text) + len(sep)
            if size > limits.string:
                raise LimitReached("string", f"join() would give more than {limits.string:,} characters")
    return sep.join(items)


def _split(sep: str, text: str, limits: Limits) -> list[str]:
    if not isinstance(sep, str) or not isinstance(text, str):
        raise ValueError("split() needs a separator and a string")
    count = len(text) if sep == "" else text.count(sep) + 1
    if count > limits.collection:
        raise LimitReached("collection", f"split() would give more than {limits.collection:,} values")
    return list(text) if sep == "" else text.split(sep)


def _replace(s: str, old: str, new: str, limits: Limits) -> str:
    if not all(isinstance(x, str) for x in (s, old, new)):
        raise ValueError("replace() needs strings")
    if len(old) > 1 and old.startswith("/") and old.endswith("/"):
        pattern = regexes.compile_pattern(old[1:-1])
        try:
            return regexes.replace_all(pattern, s, new, limits.string)
        except regexes.LengthError as exc:
            raise LimitReached("string", f"replace() would give {exc.length:,}+ characters, more than "
                               f"{limits.string:,}") from None
    count = len(s) + 1 if old == "" else s.count(old)
    length = len(s) + count * (len(new) - len(old))
    if length > limits.string:
        raise LimitReached("string", f"replace() would give {length:,} characters, more than {limits.string:,}")
    return s.replace(old, new)


def _substr(s: str, offset: object, length: object) -> str:
    if not isinstance(s, str):
        raise ValueError("substr() needs a string")
    offset = to_index(Value(offset))
    length = to_index(Value(length))
    if offset < 0:
        offset = max(0, len(s) + offset)
    return s[offset:] if length < 0 else s[offset: offset + length]


def _compact(lst: list) -> list:
    if not isinstance(lst, list):
        raise ValueError("compact() needs a list of strings")
    return [x for x in lst if x not in (None, "")]


def f_distinct(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    v = args[0]
    if not v.wholly_known():
        return ev.unknown_from(call, args)
    if not isinstance(v.raw, list):
        raise EvalError("distinct() needs a list", call)
    seen: set[str] = set()
    out: list[Value] = []
    for item in v.raw:
        key = _identity(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return Value(out, None, ev._expr_origin(call), (), v.refs, v.mark)


def _zipmap(keys: list, values: list) -> dict:
    if not isinstance(keys, list) or not isinstance(values, list):
        raise ValueError("zipmap() needs two lists")
    if len(keys) != len(values):
        raise ValueError("zipmap() needs lists of the same length")
    return dict(zip([_number_text(k) if not isinstance(k, str) else k for k in keys], values))


def _range(*args: object) -> list:
    numbers = [_number(a) for a in args]
    if len(numbers) == 1:
        start, stop, step = 0, numbers[0], 1
    elif len(numbers) == 2:
        start, stop, step = numbers[0], numbers[1], 1
    else:
        start, stop, step = numbers
    if step == 0 and start != stop:
        raise ValueError("step must not be zero")
    out = []
    value = start
    while (step > 0 and value < stop) or (step < 0 and value > stop):
        out.append(value)
        value += step
        if len(out) > 1024:  # Terraform's own limit
            raise ValueError("more than 1024 values; decrease the difference between start and end or use a "
                             "larger step")
    return out


def _numeric(fn: Callable[..., object]) -> Callable[..., object]:
    """A math function of numbers (strings of digits convert, as Terraform converts them)."""

    def call(*args: object) -> object:
        return fn(*[_number(a) for a in args])

    return call


def _signum(number: int | float) -> int:
    """Terraform's signum() takes whole numbers only (signum(2.5) is an error)."""
    if isinstance(number, float) and not number.is_integer():
        raise ValueError("the number must be a whole number")
    return (number > 0) - (number < 0)


def _reverse(items: list) -> list:
    if not isinstance(items, list):
        raise ValueError("reverse() needs a list")
    return list(reversed(items))


def _sort(items: list) -> list:
    """Terraform sorts strings: numbers and bools in the list are converted to strings first (sort([10, 9])
    is ["10", "9"])."""
    if not isinstance(items, list) or not all(isinstance(x, (str, int, float)) for x in items):
        raise ValueError("sort() needs a list of strings")
    return sorted(x if isinstance(x, str) else to_string(Value(x)) for x in items)


def _string_fn(fn: Callable[..., object]) -> Callable[..., object]:
    def call(*args: object) -> object:
        if not all(isinstance(a, str) for a in args):
            raise ValueError("strings are required")
        return fn(*args)

    return call


# ---- more pure functions: each as Terraform computes it, or NotEvaluated where iaclint cannot be sure -----


def _case_mapped(s: str, name: str, mapping: Callable[[str], str]) -> str:
    """Go maps case character by character; Python's full mappings ("ß" -> "SS") are not Go's: such a character
    is left as it is, as `terraform console` shows (upper("Straße") is "STRAßE")."""
    if s.isascii():
        return mapping(s)
    out = []
    for char in s:
        mapped = mapping(char)
        out.append(mapped if len(mapped) == 1 else char)  # Go has no one-to-many mapping: "ß" stays "ß"
    return "".join(out)


def _go_upper(s: str) -> str:
    return _case_mapped(s, "upper", str.upper)


def _go_lower(s: str) -> str:
    return _case_mapped(s, "lower", str.lower)


def _go_title(s: str) -> str:
    """Go's strings.Title, which Terraform's title() is: a letter after a separator gets its title case and
    nothing else changes (Python's str.title() also lower-cases the rest and takes digits for separators)."""
    out = []
    previous = " "
    for char in s:
        if previous.isascii():
            separator = not (previous.isalnum() or previous == "_")
        else:
            separator = not (previous.isalpha() or previous.isdigit()) and previous.isspace()
        out.append(_case_mapped(char, "title", str.title) if separator else char)
        previous = char
    return "".join(out)


def _strrev(s: str) -> str:
    if not s.isascii():  # Terraform reverses grapheme clusters, which Python's str does not know
        raise NotEvaluated("strrev() of text outside ASCII is not evaluated by iaclint")
    return s[::-1]


def _indent(spaces: object, s: str) -> str:
    if not isinstance(s, str):
        raise ValueError("indent() needs a string")
    return s.replace("\n", "\n" + " " * to_index(Value(spaces)))


def _go_basename(path: str) -> str:
    """Go's filepath.Base on Linux, which Terraform's basename() is ("a/b/" gives "b", "" gives ".")."""
    if not isinstance(path, str):
        raise ValueError("basename() needs a string")
    if path == "":
        return "."
    path = path.rstrip("/")
    return "/" if path == "" else path.rsplit("/", 1)[-1]


def _bools(items: object, name: str) -> list:
    if not isinstance(items, list):
        raise ValueError(f"{name}() needs a list of bools")
    return [None if item is None else to_bool(Value(item)) for item in items]


def _alltrue(items: list) -> bool:
    return all(item is True for item in _bools(items, "alltrue"))  # a null element is not true


def _anytrue(items: list) -> bool:
    return any(item is True for item in _bools(items, "anytrue"))


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "str" if isinstance(value, str) else "collection" if isinstance(value, (list, dict)) else "null"


def _index(items: list, value: object) -> int:
    if not isinstance(items, list):
        raise ValueError("index() needs a list")
    for position, item in enumerate(items):
        if _kind(item) != _kind(value):  # Terraform converts one to the other's type first
            raise NotEvaluated("index() of values of different types is not evaluated by iaclint")
        if item == value:
            return position
    raise ValueError("item not found")


def _slice(items: list, start: object, end: object) -> list:
    if not isinstance(items, list) or isinstance(items, SetList):
        raise ValueError("slice() needs a list")
    first, last = to_index(Value(start)), to_index(Value(end))
    if first < 0 or last > len(items) or first > last:
        raise ValueError(f"the indexes {first} and {last} are out of range for a list of {len(items)}")
    return items[first:last]


def _chunklist(items: list, size: object) -> list:
    if not isinstance(items, list):
        raise ValueError("chunklist() needs a list")
    step = to_index(Value(size))
    if step < 0:
        raise ValueError("the size must not be negative")
    if not items:
        return []
    if step == 0:
        return [list(items)]
    return [items[i:i + step] for i in range(0, len(items), step)]


def _whole_numbers(values: tuple, name: str) -> list[int]:
    """Terraform computes with arbitrary precision; iaclint's floats would round: whole numbers only."""
    numbers = [_number(v) for v in values]
    if not all(isinstance(n, int) or n.is_integer() for n in numbers):
        raise NotEvaluated(f"{name}() of fractions is not evaluated by iaclint")
    return [int(n) for n in numbers]


def _sum(items: list) -> int:
    if not isinstance(items, list) or not items:
        raise ValueError("sum() needs a non-empty list of numbers")
    return sum(_whole_numbers(tuple(items), "sum"))


def _pow(base: object, exponent: object) -> int:
    b, e = _whole_numbers((base, exponent), "pow")
    if e < 0 or abs(b) > 2 ** 53 or e > 1024:
        raise NotEvaluated("pow() with a negative or large exponent is not evaluated by iaclint")
    result = b ** e
    if abs(result) > 2 ** 53:
        raise NotEvaluated("pow() of more than 2^53 is not evaluated by iaclint")
    return result


def _parseint(text: object, base: object) -> int:
    if not isinstance(text, str):
        raise ValueError("parseint() needs a string")
    radix = to_index(Value(base))
    if not 2 <= radix <= 62:
        raise ValueError("the base must be between 2 and 62")
    if radix > 36 or len(text) > 300 or not re.fullmatch(r"[-+]?[0-9a-zA-Z]+", text):
        raise NotEvaluated(f"parseint() of this text in base {radix} is not evaluated by iaclint")
    return int(text, radix)


def _formatlist(fmt: str, *values: object, limits: Limits) -> list[str]:
    lengths = {len(v) for v in values if isinstance(v, list)}
    if len(lengths) > 1:
        raise ValueError("the lists must all have the same length")
    count = lengths.pop() if lengths else 1  # no list: one result, as Terraform gives
    if count > limits.collection:
        raise LimitReached("collection", f"formatlist() would give more than {limits.collection:,} values")
    return [_format(fmt, *[v[i] if isinstance(v, list) else v for v in values], limits=limits) for i in range(count)]


def _base64encode(s: str) -> str:
    if not isinstance(s, str):
        raise ValueError("base64encode() needs a string")
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


def _base64decode(s: str) -> str:
    if not isinstance(s, str):
        raise ValueError("base64decode() needs a string")
    try:  # Go's decoder skips line breaks; anything else outside the alphabet is an error
        return base64.b64decode(s.replace("\r", "").replace("\n", ""), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("the string is not valid base64 of UTF-8 text") from None


def _digest(algorithm: str, encoding: str) -> Callable[[str], str]:
    def digest(s: str) -> str:
        if not isinstance(s, str):
            raise ValueError("a string is required")
        raw = hashlib.new(algorithm, s.encode("utf-8"))
        return raw.hexdigest() if encoding == "hex" else base64.b64encode(raw.digest()).decode("ascii")

    return digest


def _urlencode(s: str) -> str:
    if not isinstance(s, str):
        raise ValueError("urlencode() needs a string")
    return urllib.parse.quote_plus(s, safe="")  # Go's url.QueryEscape: only A-Z a-z 0-9 - _ . ~ stay


def _set_of(value: object, name: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"{name}() needs sets")
    return value


def _as_set(items: list, name: str) -> SetList:
    """A set of strings or of numbers, in the order Terraform gives it where order shows (tolist, for
    expressions): sorted. Sets of other or mixed types (which Terraform converts first) are not evaluated."""
    kinds = {_kind(x) for x in items}
    if not kinds <= {"str"} and kinds != {"number"}:
        raise NotEvaluated(f"{name}() of sets that are not all strings or all numbers is not evaluated by iaclint")
    return SetList(sorted(set(items)))


def _setunion(*sets: list) -> SetList:
    return _as_set([item for s in sets for item in _set_of(s, "setunion")], "setunion")


def _setintersection(first: list, *others: list) -> SetList:
    rest = [_set_of(s, "setintersection") for s in others]
    kept = [item for item in _set_of(first, "setintersection") if all(item in s for s in rest)]
    _as_set([item for s in (first, *rest) for item in s], "setintersection")  # the types of all of them
    return _as_set(kept, "setintersection")


def _setsubtract(first: list, second: list) -> SetList:
    removed = _set_of(second, "setsubtract")
    _as_set(list(first) + list(removed), "setsubtract")
    return _as_set([item for item in _set_of(first, "setsubtract") if item not in removed], "setsubtract")


def f_file(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    path = args[0]
    if not path.known:
        return ev.unknown_from(call, args)
    read = _read(ev, call, to_string(path, call))
    if read.text is None:
        return Value(None, read.reason, ev._expr_origin(call), (), _refs(args))
    return Value(read.text, None, ev._expr_origin(call), (), _refs(args)).marked(_file_mark(ev, call, read.shown))


def _read(ev: Evaluator, call: ast.Call, path: str):
    from iaclint.eval.files import FileRead

    files = ev.context.files()
    if files is None:
        return FileRead(None, f"{call.name}() cannot read files here", path)
    return files.read_text(path)


def _file_mark(ev: Evaluator, call: ast.Call, shown: str) -> str:
    """How messages name a value read from a file: the file and where it was read, never its content."""
    where = getattr(ev.context, "line_of", None)
    at = where(call.span) if where is not None else None
    return f"(content of {shown}" + (f", read at {at})" if at else ")")


def f_fileexists(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 1, 1)
    if not args[0].known:
        return ev.unknown_from(call, args)
    files = ev.context.files()
    if files is None:
        return Value(None, "fileexists() cannot look at files here", ev._expr_origin(call))
    try:
        found = files.exists(to_string(args[0], call))
    except Refused as exc:
        return Value(None, str(exc), ev._expr_origin(call), (), _refs(args))
    except IsADirectoryError as exc:
        raise EvalError(f"fileexists(): {exc}", call) from None
    return ev.derived(call, found, args)


def f_fileset(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    _arity(call, args, 2, 2)
    unknown = _need_known(ev, call, *args)
    if unknown:
        return unknown
    files = ev.context.files()
    if files is None:
        return Value(None, "fileset() cannot look at files here", ev._expr_origin(call))
    try:
        names = files.glob(to_string(args[0], call), to_string(args[1], call))
    except Refused as exc:
        return Value(None, str(exc), ev._expr_origin(call), (), _refs(args))
    _collection_limit(ev, call, len(names))
    return Value(SetList(Value(n) for n in names), None, ev._expr_origin(call), (), _refs(args))


_TEMPLATE_PART = re.compile(r"(\$\$\{|%%\{)|\$\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}|(\$\{|%\{)")


def f_templatefile(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    """templatefile() with plain ${name} references (what policy templates use); anything else is unknown."""
    _arity(call, args, 2, 2)
    path, variables = args
    if not path.known:
        return ev.unknown_from(call, args)
    read = _read(ev, call, to_string(path, call))
    if read.text is None:
        return Value(None, read.reason, ev._expr_origin(call), (), _refs(args))
    text = read.text
    shown = read.shown
    if not variables.known or not isinstance(variables.raw, dict):
        return ev.unknown_from(call, args)
    parts: list[str | None] = []
    position = 0
    for match in _TEMPLATE_PART.finditer(text):
        parts.append(text[position:match.start()])
        position = match.end()
        if match.group(1):
            parts.append(match.group(1)[1:])  # $${ and %%{ are the literal ${ and %{
            continue
        if match.group(3):
            return Value(None, f"the template {shown} uses expressions or directives iaclint does not evaluate",
                         ev._expr_origin(call), (), _refs(args))
        value = variables.raw.get(match.group(2))
        if value is None:
            return Value(None, f"the template {shown} refers to {match.group(2)}, which is not in its variables",
                         ev._expr_origin(call), (), _refs(args))
        known = value.known and value.mark is None and isinstance(value.raw, (str, int, float, bool))
        parts.append(to_string(value, call) if known else None)  # a marked part is a hole, like an unknown one
    parts.append(text[position:])
    mark = stronger_mark(_file_mark(ev, call, shown), variables.deep_mark())
    if None in parts:
        result = ev.unknown_from(call, args)
        result.raw = PartialString(parts)
        return result.marked(mark)
    ev.check_string(sum(len(p) for p in parts if p is not None), "the template's result")
    return ev.derived(call, "".join(p for p in parts if p is not None), args).marked(mark)


def f_formatdate(ev: Evaluator, call: ast.Call, args: list[Value]) -> Value:
    return ev.unknown_from(call, args) if not all(a.known for a in args) else Value(
        None, "formatdate() is not evaluated", ev._expr_origin(call), (), _refs(args))


def _regex(pattern: str, text: str) -> object:
    if not isinstance(pattern, str) or not isinstance(text, str):
        raise ValueError("regex() needs a pattern and a string")
    compiled = regexes.compile_pattern(pattern)
    compiled.check_result_type()
    for match in compiled.matches(text):
        return compiled.result(text, match)
    raise ValueError("the pattern did not match any part of the given string")


def _regexall(pattern: str, text: str, limits: Limits) -> list:
    if not isinstance(pattern, str) or not isinstance(text, str):
        raise ValueError("regexall() needs a pattern and a string")
    compiled = regexes.compile_pattern(pattern)
    compiled.check_result_type()
    out = []
    for match in compiled.matches(text):
        out.append(compiled.result(text, match))
        if len(out) > limits.collection:
            raise LimitReached("collection", f"regexall() would give more than {limits.collection:,} values")
    return out


FUNCTIONS: dict[str, Impl] = {
    "lookup": f_lookup,
    "coalesce": f_coalesce,
    "coalescelist": f_coalescelist,
    "merge": f_merge,
    "concat": f_concat,
    "element": f_element,
    "one": f_one,
    "values": f_values,
    "flatten": f_flatten,
    "tobool": _conversion(to_bool),
    "tostring": _conversion(to_string),
    "tonumber": _conversion(to_number),
    "toset": f_toset,
    "tolist": f_tolist,
    "tomap": f_tomap,
    "length": f_length,
    "keys": f_keys,
    "contains": f_contains,
    "distinct": f_distinct,
    "sensitive": f_sensitive,
    "nonsensitive": f_nonsensitive,
    "file": f_file,
    "fileexists": f_fileexists,
    "fileset": f_fileset,
    "templatefile": f_templatefile,
    "formatdate": f_formatdate,
    "lower": pure(_string_fn(_go_lower), 1, 1),
    "upper": pure(_string_fn(_go_upper), 1, 1),
    "title": pure(_string_fn(_go_title), 1, 1),
    "strcontains": pure(_string_fn(lambda s, part: part in s), 2, 2),
    "chomp": pure(_string_fn(lambda s: s.rstrip("\r\n")), 1, 1),
    "strrev": pure(_string_fn(_strrev), 1, 1),
    "indent": pure(_indent, 2, 2),
    "basename": pure(_go_basename, 1, 1),
    "alltrue": pure(_alltrue, 1, 1),
    "anytrue": pure(_anytrue, 1, 1),
    "index": pure(_index, 2, 2),
    "slice": pure(_slice, 3, 3),
    "chunklist": pure(_chunklist, 2, 2),
    "sum": pure(_sum, 1, 1),
    "pow": pure(_pow, 2, 2),
    "parseint": pure(_parseint, 2, 2),
    "formatlist": pure(_formatlist, 1, takes_limits=True),
    "base64encode": pure(_base64encode, 1, 1),
    "base64decode": pure(_base64decode, 1, 1),
    "md5": pure(_digest("md5", "hex"), 1, 1),
    "sha1": pure(_digest("sha1", "hex"), 1, 1),
    "sha256": pure(_digest("sha256", "hex"), 1, 1),
    "sha512": pure(_digest("sha512", "hex"), 1, 1),
    "base64sha256": pure(_digest("sha256", "base64"), 1, 1),
    "base64sha512": pure(_digest("sha512", "base64"), 1, 1),
    "urlencode": pure(_urlencode, 1, 1),
    "setunion": pure(_setunion, 1),
    "setintersection": pure(_setintersection, 1),
    "setsubtract": pure(_setsubtract, 2, 2),
    "trimspace": pure(_string_fn(lambda s: s.strip()), 1, 1),
    "trim": pure(_string_fn(lambda s, c: s.strip(c)), 2, 2),
    "trimprefix": pure(_string_fn(lambda s, p: s[len(p):] if s.startswith(p) else s), 2, 2),
    "trimsuffix": pure(_string_fn(lambda s, p: s[: -len(p)] if p and s.endswith(p) else s), 2, 2),
    "startswith": pure(_string_fn(lambda s, p: s.startswith(p)), 2, 2),
    "endswith": pure(_string_fn(lambda s, p: s.endswith(p)), 2, 2),
    "format": pure(_format, 1, takes_limits=True),
    "join": pure(_join, 2, takes_limits=True),
    "split": pure(_split, 2, 2, takes_limits=True),
    "replace": pure(_replace, 3, 3, takes_limits=True),
    "regex": pure(_regex, 2, 2),
    "regexall": pure(_regexall, 2, 2, takes_limits=True),
    "substr": pure(_substr, 3, 3),
    "jsonencode": pure(_jsonencode, 1, 1, takes_limits=True),
    "jsondecode": pure(_jsondecode, 1, 1, takes_limits=True),
    "compact": pure(_compact, 1, 1),
    "reverse": pure(_reverse, 1, 1),
    "sort": pure(_sort, 1, 1),
    "zipmap": pure(_zipmap, 2, 2),
    "range": pure(_range, 1, 3),
    "abs": pure(_numeric(abs), 1, 1),
    "ceil": pure(_numeric(lambda x: math.ceil(x)), 1, 1),
    "floor": pure(_numeric(lambda x: math.floor(x)), 1, 1),
    "max": pure(_numeric(max), 1),
    "min": pure(_numeric(min), 1),
    "signum": pure(_numeric(_signum), 1, 1),
}
