"""Declarative rule assertions: attribute conditions with defaults, evaluated to pass/fail/unknown.

A condition is a mapping validated by rule.schema.json:

    {attribute: PATH, equals: V | in: [V...] | present: bool | nonempty: bool | matches: RE | not_matches: RE |
     version_at_least: "7.0.5" | key: customer_managed, default: V | [{when: COND, value: V}, ...],
     default_why: TEXT, when_absent: TEXT}
    {all: [COND...]} | {any: [COND...]} | {not: COND} | {type: [RESOURCE TYPE...]} |
    {resource_types: [TYPE...], condition: COND}

PATH is an argument (`kms_key_id`) or a dotted path into nested blocks (`encrypt_at_rest.enabled`,
`server_side_encryption.key_type`); graph/paths.py says what it means. A missing block is an absent
argument, so the default applies ("encrypt_at_rest is not set (default false)"); with several blocks
the condition must hold in each (the first that fails, else the first unknown, decides); an unknown
number of blocks (a dynamic block over an unknown for_each) is unknown, with the reason. A `key`
condition on a nested key argument classifies it like any other key; `when_absent` says what an
omitted key means for the service ("the queue is encrypted with SSE-SQS"), `default_why` why a
default holds ("new queues get SSE-SQS by default"), or, without a default, why an unset value cannot be
judged ("the version is the one AWS chose").

`type` holds for a resource of one of the types: one rule over several types can say what differs between
them (a default, or whether a fix replaces the resource) with it. It gives no reason of its own, so the
reasons people read are about settings; `all` and `any` join their parts' reasons without repeats.
On other conditions, `when_absent` says what an
omitted argument without a known default means, and the test does not hold for it ("encryption_
configuration is not set, so no key is named"): a rule need not claim a default it cannot source.
`{resource_types, condition}` scopes a condition to some of a rule's resource types (a SageMaker
endpoint configuration's `kms_key_arn`, a notebook's `kms_key_id`); it holds for the other types, so it
is written outside any `not`.

Booleans compare leniently: true matches "true" (provider v6 types some flags as strings).
"""

from __future__ import annotations

import re

from iaclint.eval.values import Value, render
from iaclint.graph.model import AttrView, Graph, Resource
from iaclint.model import Record, Span

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any


class Outcome(Record):
    """The tri-state result of a condition, with a reason people can read."""

    _shown = ("state", "reason", "attribute", "value", "used_default", "span")

    def __init__(self, state: bool | None, reason: str, attribute: str | None = None, value: Value | None = None,
                 used_default: bool = False, span: Span | None = None):
        self.state = state  # None = unknown
        self.reason = reason
        self.attribute = attribute
        self.value = value
        self.used_default = used_default
        self.span = span  # where a nested argument (or its block) is written, to locate the finding


def evaluate(cond: dict[str, Any], resource: Resource, graph: Graph) -> Outcome:
    if "all" in cond:
        outcomes = [evaluate(c, resource, graph) for c in cond["all"]]
        for o in outcomes:
            if o.state is False:
                return o
        for o in outcomes:
            if o.state is None:
                return o
        return Outcome(True, _joined(outcomes))
    if "any" in cond:
        outcomes = [evaluate(c, resource, graph) for c in cond["any"]]
        for o in outcomes:
            if o.state is True:
                return o
        for o in outcomes:
            if o.state is None:
                return o
        first = outcomes[0] if outcomes else Outcome(False, "")
        return Outcome(False, _joined(outcomes), first.attribute, first.value, span=first.span)
    if "type" in cond:
        return Outcome(resource.type in cond["type"], "")
    if "resource_types" in cond:
        if resource.type not in cond["resource_types"]:
            return Outcome(True, "")  # says nothing in the reasons of the conditions around it
        return evaluate(cond["condition"], resource, graph)
    if "not" in cond:
        inner = evaluate(cond["not"], resource, graph)
        state = None if inner.state is None else not inner.state
        return Outcome(state, inner.reason, inner.attribute, inner.value, inner.used_default, inner.span)
    return _attribute_condition(cond, resource, graph)


def _joined(outcomes: list[Outcome]) -> str:
    """The parts' reasons, each once, without the empty ones (`type` conditions say nothing)."""
    return "; ".join(dict.fromkeys(o.reason for o in outcomes if o.reason))


def _attribute_condition(cond: dict[str, Any], resource: Resource, graph: Graph) -> Outcome:
    name = cond["attribute"]
    if "." not in name:
        view = resource.attr(name)
        if view.present or ("present" not in cond and "nonempty" not in cond):
            return _view_condition(cond, view, name, None, resource, graph)
        # `present` may name blocks (kinesis_source_configuration): resolve() looks at both
    from iaclint.graph.paths import resolve

    leaves, why = resolve(resource, name)
    if why:
        return Outcome(None, why, name)
    outcomes = [_view_condition(cond, leaf.view, leaf.label, leaf, resource, graph) for leaf in leaves]
    for outcome, leaf in zip(outcomes, leaves):
        outcome.attribute, outcome.span = name, leaf.span
    for state in (False, None):
        for outcome in outcomes:
            if outcome.state is state:
                return outcome
    if len(outcomes) == 1:
        return outcomes[0]
    return Outcome(True, "; ".join(o.reason for o in outcomes), name, span=outcomes[0].span)


def _view_condition(cond: dict[str, Any], view: AttrView, name: str, leaf, resource: Resource,
                    graph: Graph) -> Outcome:
    """One argument (of the resource, or of one block a path reaches) against the condition."""
    value = view.value if view.is_set else None
    null_value = view.value if view.present and view.value is not None and view.value.is_null else None
    if leaf is not None:
        unset = leaf.unset
    else:
        unset = f"{name} is null" if null_value is not None else f"{name} is not set"
    used_default = False
    if value is None:
        if "present" in cond or "nonempty" in cond:
            state = not cond.get("present", cond.get("nonempty"))
            return Outcome(state, unset, name, null_value)
        if cond.get("key"):
            from iaclint.checks.keys import KeyKind

            managed = cond.get("aws_managed_key")
            absent = cond.get("when_absent") or (f"the AWS managed key {managed} is used" if managed else "")
            reason = f"{unset}, so {absent}" if absent else unset
            return Outcome(cond["key"] == KeyKind.ABSENT.value, reason, name, null_value)
        default = _default(cond.get("default"), resource, graph)
        if isinstance(default, Outcome):
            return default
        if default is _NO_DEFAULT:
            if cond.get("when_absent"):
                return Outcome(False, f"{unset}, so {cond['when_absent']}", name, null_value)
            if cond.get("default_why"):
                return Outcome(None, f"{unset}: {cond['default_why']}", name, null_value)
            return Outcome(None, f"{unset}, and which value applies then is not known", name, null_value)
        value = Value(default, origin=null_value.origin if null_value is not None else None,
                      via=null_value.via if null_value is not None else ())
        used_default = True
        why = f": {cond['default_why']}" if cond.get("default_why") else ""
        subject = f"{unset} (default {_show(default, cond)}{why})"
    else:
        subject = f"{name} is {render(value)}"
    if "key" in cond:
        from iaclint.checks.keys import KeyKind, classify_key

        key = classify_key(value, graph)
        if key.kind is KeyKind.UNKNOWN:
            return Outcome(None, f"{name} cannot be classified: {key.reason}", name, value)
        absent = cond.get("when_absent") or (
            f"the AWS managed key {cond['aws_managed_key']} is used" if cond.get("aws_managed_key") else "")
        if key.kind is KeyKind.ABSENT and absent:
            return Outcome(cond["key"] == KeyKind.ABSENT.value, f'{name} is "", so {absent}', name, value)
        return Outcome(key.kind.value == cond["key"], f"{name} is {key.describe()}", name, value)
    if "present" in cond:
        if not value.known and not value.all_refs():
            return Outcome(None, f"{name} is unknown and may be null: {value.unknown}", name, value)
        return Outcome(cond["present"], f"{name} is set", name, value, used_default)
    if not value.known:
        return Outcome(None, f"{name} is unknown: {value.unknown}", name, value)
    if "nonempty" in cond:
        raw = value.raw
        empty = raw in ("", None) or (isinstance(raw, (list, dict)) and not raw)
        shown = "empty" if empty else "not empty"
        return Outcome(cond["nonempty"] is not empty, f"{name} is {shown}", name, value, used_default)
    if "equals" in cond:
        return Outcome(_matches(value.raw, cond["equals"]), subject, name, value, used_default)
    if "in" in cond:
        return Outcome(any(_matches(value.raw, v) for v in cond["in"]), subject, name, value, used_default)
    for test in ("matches", "not_matches"):
        if test not in cond:
            continue
        if not isinstance(value.raw, str):
            return Outcome(test == "not_matches", subject, name, value, used_default)
        from iaclint.eval.convert import EvalError
        from iaclint.eval.regex import Unsafe, compile_pattern

        try:  # RE2 syntax in linear time, as everywhere a pattern is run (rules may come from the repository)
            found = next(compile_pattern(cond[test]).matches(value.raw), None) is not None
        except (EvalError, Unsafe) as exc:
            return Outcome(None, f"{name} cannot be matched: {exc}", name, value)
        return Outcome(found is (test == "matches"), subject, name, value, used_default)
    if "version_at_least" in cond:
        return _version_at_least(value, cond["version_at_least"], subject, name, used_default)
    return Outcome(None, f"condition on {name} has no test", name, value)


_NO_DEFAULT = object()


def _default(spec: Any, resource: Resource, graph: Graph) -> Any:
    """A constant, or the first matching {when, value} entry (engine-aware defaults)."""
    if spec is None:
        return _NO_DEFAULT
    if not isinstance(spec, list):
        return spec
    for entry in spec:
        when = entry.get("when")
        if when is None:
            return entry["value"]
        outcome = evaluate(when, resource, graph)
        if outcome.state is None:
            return Outcome(None, f"the default depends on {outcome.attribute}, which is unknown: {outcome.reason}",
                           outcome.attribute, outcome.value)
        if outcome.state:
            return entry["value"]
    return _NO_DEFAULT


def _show(default: Any, cond: dict[str, Any]) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    if default is None:
        return "null"
    return render(Value(default))  # "NONE", as values are shown everywhere


def as_bool(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return None


def _matches(raw: Any, expected: Any) -> bool:
    if isinstance(expected, bool):
        return as_bool(raw) is expected
    if isinstance(expected, (int, float)) and not isinstance(raw, bool):
        try:
            return float(raw) == float(expected)
        except (TypeError, ValueError):
            return False
    return raw == expected


def _version_tuple(text: str) -> tuple[int, ...] | None:
    parts = re.findall(r"\d+", text)
    return tuple(int(p) for p in parts) if parts else None


def _version_at_least(value: Value, minimum: str, subject: str, name: str, used_default: bool) -> Outcome:
    raw = value.raw
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        return Outcome(None, f"{name} is not a version", name, value)
    have = _version_tuple(str(raw))
    want = _version_tuple(minimum)
    if have is None or want is None:
        return Outcome(None, f"{name} {render(value)} is not a version", name, value)
    if str(raw).endswith(".x"):
        # "7.x" means the latest 7 release: at least 7.0.5 when the minimum's major is 7
        have = have + (99,)
    width = max(len(have), len(want))
    ok = have + (0,) * (width - len(have)) >= want + (0,) * (width - len(want))
    return Outcome(ok, subject, name, value, used_default)
