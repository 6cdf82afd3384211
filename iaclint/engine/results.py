"""What a check returns: a tri-state verdict, the reason, and where the fault lies."""

from __future__ import annotations

from types import MappingProxyType

from iaclint.eval.values import Value
from iaclint.model import Record, Span, Verdict

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Mapping, Sequence

    from iaclint.graph.model import Graph, Resource


NO_EXTRA: Mapping[str, Any] = MappingProxyType({})  # one shared empty mapping, never written to


class CheckResult(Record):
    """A check's verdict on one resource, with the attribute and value it is about."""

    __slots__ = ("verdict", "reason", "resource", "attribute", "value", "related", "fixable", "no_fix_reason", "extra",
                 "masked")
    _shown = __slots__

    def __init__(self, verdict: Verdict, reason: str = "", resource: Resource | None = None,
                 attribute: str | None = None, value: Value | None = None, related: Sequence[tuple[Span, str]] = (),
                 fixable: bool = True, no_fix_reason: str = "", extra: Mapping[str, Any] | None = None,
                 masked: bool = False):
        self.verdict = verdict
        self.reason = reason
        self.resource = resource  # the resource at fault, when not the one checked (NEP003)
        self.attribute = attribute  # the attribute at fault, for the location and the fix
        self.value = value  # the offending value; its origin is where a fix goes
        self.related = related or ()  # empty results share one tuple (a large run has thousands)
        self.fixable = fixable  # False when no edit of the attribute can fix it (a restored snapshot)
        self.no_fix_reason = no_fix_reason
        self.extra = extra or NO_EXTRA  # read-only; checks pass their own dict
        # a pass only because another rule's problem hides this one (an unencrypted resource has no key to judge):
        # fixing that problem may reveal it, which a fix's verification must not count as a new finding
        self.masked = masked

    @classmethod
    def passed(cls, reason: str = "", masked: bool = False) -> "CheckResult":
        return cls(Verdict.PASS, reason, masked=masked)

    @classmethod
    def failed(cls, reason: str, **kwargs: Any) -> "CheckResult":
        return cls(Verdict.FAIL, reason, **kwargs)

    @classmethod
    def unknown(cls, reason: str, **kwargs: Any) -> "CheckResult":
        return cls(Verdict.UNKNOWN, reason, **kwargs)


def replace(result: CheckResult, **changes: Any) -> CheckResult:
    """A copy of the result with some fields changed (dataclasses.replace, for a written-out record)."""
    fields = {name: getattr(result, name) for name in CheckResult.__slots__}
    fields.update(changes)
    return CheckResult(**fields)


class CheckContext(Record):
    """What a rule's check may look at besides the resource: the graph and the run's settings."""

    __slots__ = ("graph", "rule", "selection")
    _shown = __slots__

    def __init__(self, graph: Graph, rule: Any, selection: Any = None):
        self.graph = graph
        self.rule = rule  # the engine.rules.Rule being evaluated (not imported: rules import this module)
        self.selection = selection  # the run's RuleSelection: which other rules report (None: every rule)

    def reports(self, rule: Any) -> bool:
        """Is this rule part of the run (so a problem it reports may be left to it)?"""
        return self.selection is None or self.selection.wants(rule)
