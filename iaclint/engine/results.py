"""What a check returns: a tri-state verdict, the reason, and where the fault lies."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from iaclint.eval.values import Value
from iaclint.model import Span, Verdict

if TYPE_CHECKING:
    from iaclint.graph.model import Graph, Resource


NO_EXTRA: Mapping[str, Any] = MappingProxyType({})  # one shared empty mapping, never written to


@dataclass(slots=True)
class CheckResult:
    """A check's verdict on one resource, with the attribute and value it is about."""

    verdict: Verdict
    reason: str = ""
    resource: "Resource | None" = None  # the resource at fault, when not the one checked (NEP003)
    attribute: str | None = None  # the attribute at fault, for the location and the fix
    value: Value | None = None  # the offending value; its origin is where a fix goes
    related: Sequence[tuple[Span, str]] = ()  # empty results share one tuple (a large run has thousands)
    fixable: bool = True  # False when no edit of the attribute can fix it (a restored snapshot)
    no_fix_reason: str = ""
    extra: Mapping[str, Any] = field(default_factory=lambda: NO_EXTRA)  # read-only; checks pass their own dict
    # a pass only because another rule's problem hides this one (an unencrypted resource has no key to judge):
    # fixing that problem may reveal it, which a fix's verification must not count as a new finding
    masked: bool = False

    def __post_init__(self) -> None:
        if not self.related:
            self.related = ()
        if not self.extra:
            self.extra = NO_EXTRA

    @classmethod
    def passed(cls, reason: str = "", masked: bool = False) -> "CheckResult":
        return cls(Verdict.PASS, reason, masked=masked)

    @classmethod
    def failed(cls, reason: str, **kwargs: Any) -> "CheckResult":
        return cls(Verdict.FAIL, reason, **kwargs)

    @classmethod
    def unknown(cls, reason: str, **kwargs: Any) -> "CheckResult":
        return cls(Verdict.UNKNOWN, reason, **kwargs)


@dataclass
class CheckContext:
    """What a rule's check may look at besides the resource: the graph and the run's settings."""

    graph: "Graph"
    rule: Any  # the engine.rules.Rule being evaluated (not imported: rules import this module)
    selection: Any = None  # the run's RuleSelection: which other rules report (None: every rule)

    def reports(self, rule: Any) -> bool:
        """Is this rule part of the run (so a problem it reports may be left to it)?"""
        return self.selection is None or self.selection.wants(rule)
