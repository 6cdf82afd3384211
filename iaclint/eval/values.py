"""Evaluated values that remember where they came from, and why they are unknown when they are.

A Value's ``origin`` is the place whose text defines it (a literal in a resource, a variable default,
a tfvars entry, a module argument, a local); ``via`` lists the references followed from the use site
to that place; ``refs`` names the resources the value depends on, so a known-after-apply key ARN
still tells us it is an ``aws_kms_key`` of this configuration.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Callable, Iterable

from iaclint.model import Span, ValueRecord


class OriginKind(str, Enum):
    LITERAL = "literal"  # written in the resource block itself
    VARIABLE_DEFAULT = "variable_default"
    TFVARS = "tfvars"
    CLI_VAR = "cli_var"
    ENV_VAR = "env_var"
    MODULE_ARGUMENT = "module_argument"
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
    """A Terraform set: a list whose order carries no meaning."""


class Value:
    """A known or unknown value. Collections hold Values, so every element keeps its own origin."""

    __slots__ = ("raw", "unknown", "origin", "via", "refs")

    def __init__(self, raw: Any = None, unknown: str | None = None, origin: Origin | None = None,
                 via: tuple[Origin, ...] = (), refs: frozenset[str] = frozenset()):
        self.raw = raw
        self.unknown = unknown
        self.origin = origin
        self.via = via
        self.refs = refs

    # ---- construction helpers

    @classmethod
    def unknown_because(cls, reason: str, refs: Iterable[str] = (), origin: Origin | None = None,
                        via: tuple[Origin, ...] = ()) -> "Value":
        return cls(None, reason, origin, via, frozenset(refs))

    def with_hop(self, hop: Origin) -> "Value":
        """The same value, reached through one more reference (prepended: use site first)."""
        return Value(self.raw, self.unknown, self.origin, (hop,) + self.via, self.refs)

    def with_refs(self, refs: Iterable[str]) -> "Value":
        extra = frozenset(refs)
        if extra <= self.refs:
            return self
        return Value(self.raw, self.unknown, self.origin, self.via, self.refs | extra)

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

    def all_refs(self) -> frozenset[str]:
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


class ObjectRef:
    """A resource instance used as a value: its attributes are looked up when accessed."""

    __slots__ = ("address", "resolve")

    def __init__(self, address: str, resolve: Callable[[str], "Value"]):
        self.address = address
        self.resolve = resolve

    def __repr__(self) -> str:
        return f"<{self.address}>"


def from_python(data: Any, origin: Origin | None = None) -> Value:
    """Wrap plain data (tfvars JSON, plan values) as Values that all share one origin."""
    if isinstance(data, list):
        return Value([from_python(x, origin) for x in data], origin=origin)
    if isinstance(data, dict):
        return Value({str(k): from_python(v, origin) for k, v in data.items()}, origin=origin)
    return Value(data, origin=origin)


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
    """A short HCL-looking rendering for messages."""
    if value.unknown is not None:
        return "(unknown)"
    raw = value.raw
    if raw is None:
        text = "null"
    elif isinstance(raw, bool):
        text = "true" if raw else "false"
    elif isinstance(raw, (int, float)):
        text = repr(raw)
    elif isinstance(raw, str):
        text = '"' + raw.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    elif isinstance(raw, list):
        text = "[" + ", ".join(render(v, limit) for v in raw) + "]"
    elif isinstance(raw, dict):
        text = "{" + ", ".join(f"{k} = {render(v, limit)}" for k, v in raw.items()) + "}"
    elif isinstance(raw, ObjectRef):
        text = raw.address
    else:
        text = str(raw)
    return text if len(text) <= limit else text[: limit - 3] + "..."
