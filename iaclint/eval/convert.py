"""Terraform's conversions between primitive values, and the error evaluation raises.

Kept apart from the evaluator so that functions, types and the graph can convert values without
importing the evaluator (and so without an import cycle between it and the function library).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _json_string  # json.dumps of a str (ensure_ascii)
import math
import re
import unicodedata

from iaclint.eval.values import SetList, Value, render, type_name
from iaclint.hcl import ast
from iaclint.hcl.literals import number_from_text

TYPE_CHECKING = False  # typing.TYPE_CHECKING
if TYPE_CHECKING:
    from fractions import Fraction

# decimal and fractions are imported where arithmetic needs them: most runs compute with no number

_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")  # what tonumber() accepts
MAX_INT_BITS = 1024  # larger integers are beyond what iaclint computes with (Terraform keeps 512-bit floats)


class EvalError(Exception):
    def __init__(self, message: str, node: ast.Node | None = None):
        super().__init__(message)
        self.node = node


class Inexact(Exception):
    """A number Terraform computes with 512-bit binary floats whose digits a Python float does not hold (1/3,
    0.1 + 0.2): the value is unknown, never a different one. Not an error: try() and can() do not see it."""


TERRAFORM_BITS = 512  # Terraform's numbers are big.Float with a 512-bit mantissa
_SMALL = 2 ** 62  # integers below this in size: their sums, products and quotients need no 512-bit care


def exact_value(number: int | float) -> Fraction:
    """The rational a number stands for: an integer, or the decimal a float prints as."""
    from decimal import Decimal
    from fractions import Fraction

    return Fraction(number) if isinstance(number, int) else Fraction(Decimal(repr(number)))


def is_binary_exact(value: Fraction) -> bool:
    """Terraform holds it without rounding: a dyadic rational (denominator a power of two) of at most 512 bits."""
    d = value.denominator
    return d & (d - 1) == 0 and abs(value.numerator).bit_length() <= TERRAFORM_BITS and d.bit_length() <= 1100


def from_exact(value: Fraction, what: str) -> int | float:
    """The number iaclint computes with for an exact result, when Terraform's 512-bit result is exactly it and a
    float prints it with Terraform's digits; else Inexact."""
    if value.denominator == 1:
        if abs(value.numerator).bit_length() > TERRAFORM_BITS:
            raise Inexact(f"{what} is too large: an integer of more than {TERRAFORM_BITS} bits, which Terraform rounds")
        return int(value.numerator)
    if is_binary_exact(value):
        from decimal import Decimal
        from fractions import Fraction

        as_float = float(value)
        if Fraction(as_float) == value and Fraction(Decimal(repr(as_float))) == value:
            return as_float
    raise Inexact(f"{what} is a fraction Terraform computes with 512-bit binary precision, whose digits iaclint "
                  "does not reproduce")


def arithmetic(op: str, a: int | float, b: int | float) -> int | float:
    """+ - * / % as Terraform computes them: exactly for integers and binary fractions, % with the sign of the
    dividend (Go's truncated division), and Inexact where Terraform's 512-bit rounding decides the digits."""
    if type(a) is int and type(b) is int and -_SMALL < a < _SMALL and -_SMALL < b < _SMALL:
        # the common case, computed without fractions: exact, and far from every limit below
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if b == 0 and op in "/%":
            raise ZeroDivisionError
        if op == "%":  # Go's truncated division: the remainder has the dividend's sign
            rest = abs(a) % abs(b)
            return -rest if a < 0 else rest
        if op == "/" and a % b == 0:
            return a // b
    what = f"the result of {op}"
    if isinstance(a, int) and isinstance(b, int) and op in "+-*":
        from fractions import Fraction

        result = a + b if op == "+" else a - b if op == "-" else a * b
        return from_exact(Fraction(result), what)
    x, y = exact_value(a), exact_value(b)
    if not (is_binary_exact(x) and is_binary_exact(y)):
        if y == 0 and op in "/%":
            raise ZeroDivisionError
        raise Inexact(f"{what} on a decimal fraction ({number_text(a if not is_binary_exact(x) else b)}) is computed "
                      "by Terraform with 512-bit binary precision, whose digits iaclint does not reproduce")
    if op == "+":
        return from_exact(x + y, what)
    if op == "-":
        return from_exact(x - y, what)
    if op == "*":
        return from_exact(x * y, what)
    if y == 0:
        raise ZeroDivisionError
    quotient = x / y
    if op == "/":
        return from_exact(quotient, what)
    truncated = quotient.numerator // quotient.denominator if quotient >= 0 else \
        -((-quotient.numerator) // quotient.denominator)
    if not is_binary_exact(quotient):  # Terraform truncates the quotient rounded to 512 bits: the same integer
        nearest = abs(quotient - round(quotient))  # unless the rounding reaches the next one
        if nearest * 2 ** (TERRAFORM_BITS - 8) <= max(abs(quotient), 1):
            raise Inexact(f"{what}: Terraform rounds the quotient to {TERRAFORM_BITS} bits before taking the "
                          "remainder, and it is too close to a whole number to know which way")
    return from_exact(x - y * truncated, what)


def number_text(number: int | float) -> str:
    """A number as Terraform writes it in a string: all its digits, never an exponent (0.000015, 1e21 written
    out)."""
    if isinstance(number, int):
        return str(number)
    if number.is_integer():
        return str(int(number))
    from decimal import Decimal

    return format(Decimal(repr(number)), "f")


def as_set(items: list[Value]) -> SetList:
    """The set Terraform makes of ``items``: equal elements once, and in Terraform's order where it is one
    iaclint can reproduce (strings by code point, numbers by value, false before true; a string among numbers
    or bools makes them all strings). Other elements keep the order given: Terraform orders them by hash."""
    kinds = {"str" if isinstance(v.raw, str) else "bool" if isinstance(v.raw, bool) else
             "number" if isinstance(v.raw, (int, float)) else "other" for v in items if v.known}
    if "str" in kinds and kinds <= {"str", "bool", "number"} and all(v.known for v in items):
        items = [v if isinstance(v.raw, str) else Value(to_string(v), None, v.origin, v.via, v.refs, v.mark)
                 for v in items]
        kinds = {"str"}
    seen: set[str] = set()
    unique: list[Value] = []
    for item in items:
        marker = _identity(item) if item.wholly_known() else f"unknown-{id(item)}"
        if marker not in seen:
            seen.add(marker)
            unique.append(item)
    out = SetList(unique)
    if len(kinds) == 1 and "other" not in kinds and all(v.known for v in unique):
        out.sort(key=lambda v: exact_value(v.raw) if kinds == {"number"} else v.raw)
    elif len(unique) > 1:
        out.ordered = False  # by hash, or with unknown elements (which may turn out equal to others)
    return out


SET_ORDER = ("the order of a set whose elements are not all known strings, numbers or bools is Terraform's own "
             "(by hash, or once unknown elements are known)")


def set_order_unknown(value: Value) -> bool:
    """A set whose order, as tolist() or a for expression shows it, iaclint cannot know."""
    return isinstance(value.raw, SetList) and not value.raw.ordered


def _identity(value: Value) -> str:
    """A key that equal values share, in one pass (1 and 1.0 are the same number)."""
    raw = value.to_python()
    if type(raw) is str:  # what json.dumps writes for a string, without its encoder's set-up
        return _json_string(raw)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return json.dumps(raw, sort_keys=True, default=repr)


_KEY_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"'}
_KEY_SPECIAL = frozenset('\\"$%')  # escaped or doubled in a key (the others are not printable)


def instance_key_text(key: str) -> str:
    """A string instance key quoted as Terraform writes it in an address (module.m["k"]): HCL's quoting, with
    ${ and %{ doubled, and characters Go does not count printable as \\uXXXX."""
    if key.isascii() and key.isprintable() and not _KEY_SPECIAL.intersection(key):
        return f'"{key}"'  # printable ASCII (letters, digits, punctuation, symbols, space) stands as it is
    out = ['"']
    for i, char in enumerate(key):
        if char in _KEY_ESCAPES:
            out.append(_KEY_ESCAPES[char])
        elif char in "$%":
            out.append(char * 2 if key[i + 1:i + 2] == "{" else char)
        elif char == " " or (char.isprintable() and unicodedata.category(char)[0] in "LMNPS"):
            out.append(char)
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def unify_with(chosen: Value, other: Value) -> Value:
    """The chosen result of a conditional as Terraform gives it: both results are converted to one type first,
    where a string and a number or bool make a string (true ? 10 : "x" is "10"), attribute by attribute in
    objects of the same attributes and element by element in tuples of the same length. Other shapes are left
    as they are."""
    if not (chosen.known and other.known) or chosen.raw is None or other.raw is None:
        return chosen
    a, b = chosen.raw, other.raw
    primitive = (bool, int, float, str)
    if isinstance(a, primitive) and isinstance(b, primitive):
        if isinstance(b, str) and not isinstance(a, str):
            return Value(to_string(chosen), None, chosen.origin, chosen.via, chosen.refs, chosen.mark)
        return chosen
    if isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b):
        items = {key: unify_with(a[key], b[key]) for key in a}
        changed = any(items[key] is not a[key] for key in a)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and not isinstance(a, SetList) \
            and not isinstance(b, SetList):
        items = [unify_with(x, y) for x, y in zip(a, b)]
        changed = any(x is not y for x, y in zip(items, a))
    else:
        return chosen
    return Value(items, None, chosen.origin, chosen.via, chosen.refs, chosen.mark) if changed else chosen


def to_bool(value: Value, node: ast.Node | None = None) -> bool:
    raw = value.raw
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return raw == "true"
    raise EvalError(f"a bool is required, got {render(value)}", node)


def to_number(value: Value, node: ast.Node | None = None) -> int | float:
    raw = value.raw
    if type(raw) is int and -_SMALL < raw < _SMALL:  # the common case: nothing to check
        return raw
    if isinstance(raw, bool):
        raise EvalError(f"a number is required, got {render(value)}", node)
    if isinstance(raw, (int, float)):
        return checked_number(raw, node)
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > 400 or not _NUMBER.fullmatch(text):
            raise EvalError(f"a number is required, got {render(value)}", node)
        return checked_number(number_from_text(text), node)
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
    if isinstance(raw, (int, float)):
        return number_text(raw)
    if isinstance(raw, str):
        return raw
    if raw is None:
        raise EvalError("a string is required, got null", node)
    raise EvalError(f"a string is required, got a {type_name(value)}", node)
