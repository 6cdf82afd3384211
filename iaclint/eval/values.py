"""Evaluated values that remember where they came from, and why they are unknown when they are.

A Value's ``origin`` is the place whose text defines it (a literal in a resource, a variable default,
a tfvars entry, a module argument, a local); ``via`` lists the references followed from the use site
to that place; ``refs`` names the resources the value depends on, so a known-after-apply key ARN
still tells us it is an ``aws_kms_key`` of this configuration.
"""

from __future__ import annotations

import unicodedata
from enum import Enum

from iaclint.model import Span, ValueRecord

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable


class OriginKind(str, Enum):
    LITERAL = "literal"  # written in the resource block itself
    VARIABLE_DEFAULT = "variable_default"
    TFVARS = "tfvars"
    CLI_VAR = "cli_var"
    ENV_VAR = "env_var"
    MODULE_ARGUMENT = "module_argument"
    TERRAGRUNT_INPUT = "terragrunt_input"  # an entry of a Terragrunt unit's `inputs` (terragrunt.hcl)
    LOCAL = "local"
    EXPRESSION = "expression"  # computed from other values; no single literal to edit
    PLAN = "plan"  # read from a plan's planned values
    COMPUTED = "computed"  # known only after apply


class Origin(ValueRecord):
    """Where a value was written (a literal, a variable default, a plan), for messages and fixes."""

    __slots__ = ("kind", "span", "label", "name")

    def __init__(self, kind: OriginKind, span: Span | None, label: str, name: str = ""):
        self.kind = kind
        self.span = span
        self.label = label  # for people: 'variable "encrypted" default', 'module "db" argument encrypted'
        self.name = name  # the variable, argument or local it belongs to, for fix titles

    def describe(self) -> str:
        return self.label


class SetList(list):
    """A Terraform set: a list whose order carries no meaning. ``ordered``: the order is Terraform's own (see
    convert.as_set), which tolist() and for expressions show; else they are unknown."""

    ordered = True


SENSITIVE = "(sensitive)"


def stronger_mark(a: str | None, b: str | None) -> str | None:
    """Of two marks, the one to show: sensitive wins over "read from a file", else the first."""
    if a is None or b == SENSITIVE:
        return b if b is not None else a
    return a


class MarkedText(str):
    """The text of a marked value (sensitive, or read from a file): comparisons, matching and str() see the
    content, so verdicts do not change; f-strings and render() show the mark, so messages never do."""

    def __new__(cls, text: str, mark: str) -> "MarkedText":
        obj = super().__new__(cls, text)
        obj.mark = mark
        return obj

    def __format__(self, spec: str) -> str:
        return format(self.mark, spec)

    def __reduce__(self):
        return (MarkedText, (str(self), self.mark))


_PLAIN = frozenset({int, float, bool, type(None), str})  # raw types with nothing inside (not subclasses)


class Value:
    """A known or unknown value. Collections hold Values, so every element keeps its own origin.

    ``mark`` is what messages show instead of the content: "(sensitive)" for a value Terraform treats as
    sensitive, or where a value read from a file came from; values derived from a marked value carry its
    mark (Terraform's rule). ``size`` counts the values in the expanded tree, so a collection built from
    shared parts (a list of a list of ...) is bounded by what walking it costs, not by its memory.
    """

    __slots__ = ("raw", "unknown", "origin", "via", "refs", "mark", "size")

    def __init__(self, raw: Any = None, unknown: str | None = None, origin: Origin | None = None,
                 via: tuple[Origin, ...] = (), refs: frozenset[str] = frozenset(), mark: str | None = None,
                 size: int = 0):
        kind = type(raw)
        if kind in _PLAIN:  # most values: a number, a bool, null or an ASCII str (checked in that order below)
            if kind is str and not raw.isascii() and not unicodedata.is_normalized("NFC", raw):
                # Terraform's strings are always in Unicode normal form C (cty.StringVal normalises every one)
                raw = unicodedata.normalize("NFC", raw)
            if mark is not None and kind is str:
                raw = MarkedText(raw, mark)
            size = size or 1
        else:
            if isinstance(raw, str) and not raw.isascii() and not unicodedata.is_normalized("NFC", raw):
                raw = unicodedata.normalize("NFC", raw)
            if mark is not None and type(raw) is str:  # marked text normalised above is plain text again
                raw = MarkedText(raw, mark)
            if not size:
                size = 1
                if isinstance(raw, list):
                    for item in raw:
                        size += item.size
                elif isinstance(raw, dict):
                    for item in raw.values():
                        size += item.size
        self.raw = raw
        self.unknown = unknown
        self.origin = origin
        self.via = via
        self.refs = refs
        self.mark = mark
        self.size = size

    # ---- construction helpers

    @classmethod
    def unknown_because(cls, reason: str, refs: Iterable[str] = (), origin: Origin | None = None,
                        via: tuple[Origin, ...] = ()) -> "Value":
        return cls(None, reason, origin, via, frozenset(refs))

    def with_hop(self, hop: Origin) -> "Value":
        """The same value, reached through one more reference (prepended: use site first)."""
        return Value(self.raw, self.unknown, self.origin, (hop,) + self.via, self.refs, self.mark, self.size)

    def with_refs(self, refs: Iterable[str]) -> "Value":
        extra = frozenset(refs)
        if extra <= self.refs:
            return self
        return Value(self.raw, self.unknown, self.origin, self.via, self.refs | extra, self.mark, self.size)

    def marked(self, mark: str | None) -> "Value":
        """This value with ``mark`` on it and on everything in it (a sensitive map's elements are sensitive);
        a stronger mark already there stays."""
        if mark is None:
            return self
        new = stronger_mark(self.mark, mark)
        raw = self.raw
        if isinstance(raw, SetList):
            ordered = raw.ordered
            raw = SetList(item.marked(mark) for item in raw)
            raw.ordered = ordered
        elif isinstance(raw, list):
            raw = type(raw)(item.marked(mark) for item in raw)
        elif isinstance(raw, dict):
            raw = {key: item.marked(mark) for key, item in raw.items()}
        elif isinstance(raw, str):
            raw = MarkedText(raw, new)
        elif isinstance(raw, PartialString) and new == SENSITIVE:
            raw = PartialString([None] * len(raw.parts))  # no known part of a secret may be shown either
        elif isinstance(raw, Alternatives):
            raw = raw.map(lambda v: v.marked(mark))
        elif new == self.mark:
            return self
        return Value(raw, self.unknown, self.origin, self.via, self.refs, new, self.size)

    # ---- inspection

    @property
    def known(self) -> bool:
        return self.unknown is None

    @property
    def is_null(self) -> bool:
        return self.unknown is None and self.raw is None

    def wholly_known(self) -> bool:
        if self.unknown is not None:
            return False
        if self.size == 1:  # nothing inside: a primitive, or an empty collection
            return True
        if isinstance(self.raw, list):
            return all(v.wholly_known() for v in self.raw)
        if isinstance(self.raw, dict):
            return all(v.wholly_known() for v in self.raw.values())
        return True

    def first_unknown(self) -> "Value | None":
        if self.unknown is not None:
            return self
        children = self.raw if isinstance(self.raw, list) else self.raw.values() if isinstance(self.raw, dict) else ()
        for child in children:
            found = child.first_unknown()
            if found is not None:
                return found
        return None

    def deep_mark(self) -> str | None:
        """The strongest mark on this value or anything in it."""
        mark = self.mark
        if mark == SENSITIVE or self.size == 1:
            return mark
        children = self.raw if isinstance(self.raw, list) else self.raw.values() if isinstance(self.raw, dict) else ()
        for child in children:
            mark = stronger_mark(mark, child.deep_mark())
            if mark == SENSITIVE:
                break
        return mark

    def all_refs(self) -> frozenset[str]:
        if self.size == 1:  # nothing inside to add
            return self.refs if type(self.refs) is frozenset else frozenset(self.refs)
        refs = set(self.refs)
        if isinstance(self.raw, list):
            for v in self.raw:
                refs |= v.all_refs()
        elif isinstance(self.raw, dict):
            for v in self.raw.values():
                refs |= v.all_refs()
        return frozenset(refs)

    def to_python(self) -> Any:
        """Plain Python data; unknown parts become None. For functions and messages."""
        if self.unknown is not None:
            return None
        if isinstance(self.raw, list):
            return [v.to_python() for v in self.raw]
        if isinstance(self.raw, dict):
            return {k: v.to_python() for k, v in self.raw.items()}
        if isinstance(self.raw, ObjectRef):
            return None
        return self.raw

    def __repr__(self) -> str:
        if self.unknown is not None:
            return f"Value(unknown={self.unknown!r})"
        return f"Value({self.raw!r})"


class PartialString:
    """The literal text of a template whose interpolations are unknown: "arn:...:alias/aws/${x}".

    Kept as the raw of an unknown Value so a key reference like
    "arn:aws:kms:${var.region}:${var.account}:alias/aws/rds" is still recognisably AWS managed.
    """

    __slots__ = ("parts",)

    def __init__(self, parts: list[str | None]):
        self.parts = parts  # None stands for an unknown interpolation

    def literal_text(self) -> str:
        return "\x00".join(p if p is not None else "" for p in self.parts)


class AfterApply(str):
    """The reason of a value that is unknown only because resource attributes are known only after apply.

    Such a value is decided by the resources its refs name (the ARN of an aws_kms_key of the same run is that
    customer managed key); a value unknown because an input has no value, or a condition is unknown, may be
    anything, and its refs decide nothing (coalesce(var.key, aws_kms_key.k.arn) may be "alias/aws/rds")."""

    __slots__ = ()


class Alternatives:
    """The values a conditional may take when its condition is unknown, each with its origin.

    Kept as the raw of the unknown value (like PartialString), so the value stays unknown to everything that
    does not look further, and a rule can judge each alternative: when every one gets the same verdict, that
    is the verdict (a key that is AWS managed whichever branch is taken), never a guess of the branch.
    ``condition`` says why the choice is unknown."""

    __slots__ = ("values", "condition")

    LIMIT = 8  # alternatives kept; a value with more (conditionals nested deeper) is plainly unknown

    def __init__(self, values: tuple["Value", ...], condition: str):
        self.values = values
        self.condition = condition

    def map(self, fn: Callable[["Value"], "Value"]) -> "Alternatives":
        return Alternatives(tuple(fn(v) for v in self.values), self.condition)


class ObjectRef:
    """A resource instance used as a value: its attributes are looked up when accessed."""

    __slots__ = ("address", "resolve")

    def __init__(self, address: str, resolve: Callable[[str], "Value"]):
        self.address = address
        self.resolve = resolve

    def __repr__(self) -> str:
        return f"<{self.address}>"


def from_python(data: Any, origin: Origin | None = None, mark: str | None = None) -> Value:
    """Wrap plain data (tfvars JSON, plan values, function results) as Values that all share one origin."""
    if isinstance(data, list):
        return Value([from_python(x, origin, mark) for x in data], origin=origin, mark=mark)
    if isinstance(data, dict):
        return Value({str(k): from_python(v, origin, mark) for k, v in data.items()}, origin=origin, mark=mark)
    if mark is not None and isinstance(data, str):
        data = MarkedText(data, mark)
    return Value(data, origin=origin, mark=mark)


def type_name(value: Value) -> str:
    raw = value.raw
    if value.unknown is not None:
        return "unknown"
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "bool"
    if isinstance(raw, (int, float)):
        return "number"
    if isinstance(raw, str):
        return "string"
    if isinstance(raw, SetList):
        return "set"
    if isinstance(raw, list):
        return "tuple"
    if isinstance(raw, dict):
        return "object"
    if isinstance(raw, ObjectRef):
        return "object"
    return type(raw).__name__


def render(value: Value, limit: int = 60) -> str:
    """A short HCL-looking rendering for messages; a marked value shows its mark, never its content."""
    out: list[str] = []
    _render(value, out, [limit + 1])
    text = "".join(out)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _render(value: Value, out: list[str], room: list[int]) -> None:
    """Appends the rendering to ``out`` until ``room`` characters are used (large values stop early)."""
    if room[0] <= 0:
        return
    raw = value.raw
    if value.mark is not None:
        text = value.mark
    elif value.unknown is not None:
        text = "(unknown)"
    elif isinstance(raw, MarkedText):
        text = raw.mark
    elif raw is None:
        text = "null"
    elif isinstance(raw, bool):
        text = "true" if raw else "false"
    elif isinstance(raw, (int, float)):
        text = repr(raw) if not isinstance(raw, int) or raw.bit_length() < 256 else "(a number of %d digits)" % (
            raw.bit_length() * 0.30103 + 1)
    elif isinstance(raw, str):
        text = raw[: room[0]]
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    elif isinstance(raw, (list, dict)):
        items = raw.items() if isinstance(raw, dict) else ((None, v) for v in raw)
        out.append("{" if isinstance(raw, dict) else "[")
        room[0] -= 1
        for i, (key, item) in enumerate(items):
            if room[0] <= 0:
                return
            prefix = (", " if i else "") + (f"{key[: room[0]]} = " if key is not None else "")
            out.append(prefix)
            room[0] -= len(prefix)
            _render(item, out, room)
        text = "}" if isinstance(raw, dict) else "]"
    elif isinstance(raw, ObjectRef):
        text = raw.address
    else:
        text = str(raw)[: room[0]]
    out.append(text)
    room[0] -= len(text)
