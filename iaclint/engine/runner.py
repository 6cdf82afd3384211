"""Run rules over a graph and turn their results into located findings."""

from __future__ import annotations

import hashlib
import itertools
import os
from sys import intern

from iaclint.engine.results import CheckContext, CheckResult, replace
from iaclint.engine.rules import Rule, find_rule
from iaclint.eval.values import OriginKind, Value, render
from iaclint.graph import assumptions, forks
from iaclint.graph.model import Diagnostic, Graph, Resource
from iaclint.model import Finding, Record, Related, RuleSelection, Severity, Span, Verdict  # noqa: F401 (its old home)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any

DELETING = {("delete",)}


class FindingContext(Record):
    """What the fix builder needs to know about a finding; not part of any output."""

    __slots__ = ("rule", "resource", "result", "graph")
    _shown = __slots__

    def __init__(self, rule: Rule, resource: Resource, result: CheckResult, graph: Graph):
        self.rule = rule
        self.resource = resource
        self.result = result
        self.graph = graph

    def origin(self) -> dict[str, Any] | None:
        """Where the offending value was written (Finding.origin_info)."""
        return origin_dict(self.result, self.result.resource or self.resource, self.graph)


class RulePlan:
    """The rules a run applies, selected once and indexed by resource type: a run of many small roots asks each
    root only about the rules of the types it has, not every rule of the catalogue."""

    def __init__(self, rules: list[Rule], selection: RuleSelection) -> None:
        self.selection = selection
        self.rules = [rule for rule in rules if not rule.builtin and selection.wants(rule)]
        self.every_graph: list[int] = []  # positions of the rules asked of every graph (mode module)
        self.by_type: dict[str, list[int]] = {}
        for position, rule in enumerate(self.rules):
            if rule.mode == "module":
                self.every_graph.append(position)
            else:
                for resource_type in dict.fromkeys(rule.resource_types):
                    self.by_type.setdefault(resource_type, []).append(position)

    def for_graph(self, graph: Graph) -> list[Rule]:
        """The rules that may have a subject in the graph, in the run's order."""
        positions = set(self.every_graph)
        by_type = self.by_type
        for resource_type in graph.resource_types():
            positions.update(by_type.get(resource_type, ()))
        return [self.rules[p] for p in sorted(positions)]


def run_rules(graph: Graph, rules: list[Rule] | RulePlan, selection: RuleSelection | None = None,
              evaluations: list[tuple[str, str, str]] | None = None,
              masked: set[tuple[str, str]] | None = None) -> list[Finding]:
    """Findings for every (rule, resource) that does not pass; ``evaluations`` collects every pair checked,
    ``masked`` the (rule id, address) pairs that pass only because another rule's problem hides them.
    ``rules``: a list, or the run's RulePlan (made with the same selection)."""
    selection = selection or RuleSelection()
    plan = rules if isinstance(rules, RulePlan) else RulePlan(rules, selection)
    findings = [diagnostic_finding(d, selection, graph) for d in graph.diagnostics]
    findings = [f for f in findings if f is not None]
    for rule in plan.for_graph(graph):  # most rules have no resource in a small root: never asked
        if rule.mode == "module":
            subjects = graph.module_calls
        else:
            subjects = graph.of_type(*rule.resource_types)  # the type index: never a scan per rule
        if rule.plan_only and graph.kind != "plan":
            continue
        context = CheckContext(graph, rule, selection)
        for resource in subjects:
            if resource.mode != rule.mode:
                continue
            if resource.plan_actions is not None and tuple(resource.plan_actions) in DELETING and not rule.plan_only:
                continue
            frame = assumptions.begin()
            try:
                result = _judge_existence(judge(rule, resource, context), resource)
            finally:
                on_workspace = assumptions.end(frame)
            if evaluations is not None:
                evaluations.append((rule.id, resource.address, _file_of(resource, graph)))
            if result.verdict is Verdict.PASS:
                if masked is not None and result.masked:
                    masked.add((rule.id, resource.address))
                continue
            if graph.workspace is not None and (on_workspace or resource.rests_on_workspace()):
                result = replace(result, reason=f"{result.reason} (assuming {graph.workspace.describe()})")
            severity = selection.severity.get(rule.id) or result.extra.get("severity") or rule.severity
            findings.append(make_finding(rule, resource, result, graph, severity))
    return findings


def _judge_existence(result: CheckResult, resource: Resource) -> CheckResult:
    """A fail on an instance that may not be created (its count or for_each is not known) is unknown; it stays
    a fail only when at least one instance surely exists, and then says that every instance fails."""
    if result.verdict is not Verdict.FAIL:
        return result
    doubt = resource.creation_doubt()
    if doubt is None:
        return result
    why, surely = doubt
    if surely:
        return replace(result, reason=f"{result.reason} (every instance fails: {why})")
    return replace(result, verdict=Verdict.UNKNOWN, reason=f"it may not be created: {why}; if it is, {result.reason}")


MAX_CHOICES = 16  # combinations of alternatives a rule is applied to before the verdict is just unknown
_WORDS = {Verdict.PASS: "passes", Verdict.FAIL: "fails", Verdict.UNKNOWN: "cannot be told"}


def judge(rule: Rule, resource: Resource, context: CheckContext) -> CheckResult:
    """The rule's verdict on the resource. When the rule read arguments of the resource that a conditional with
    an unknown condition chooses (graph/forks.py), the rule is applied to each combination of their
    alternatives, and a verdict stands only when every combination gives it; otherwise it is unknown, saying
    what each gives. The first answer, read through the choice as if it were a plain unknown, is never used:
    it may have taken a branch (a reference to a customer managed key in one branch, say)."""
    watch = forks.watching()
    try:
        result = _evaluate(rule, resource, context)
    finally:
        forks.stop()
    if not watch:  # no choice read (most rules on most resources)
        return result
    found = {key[1:]: view for key, view in watch.items() if key[0] == id(resource)}
    if not found:
        return result
    results: list[tuple[CheckResult, dict]] = []
    for _ in range(3):  # an alternative may lead the rule to read other choices: take them in too
        keys = list(found)
        combinations = 1
        for key in keys:
            combinations *= len(found[key].value.raw.values)
        if combinations > MAX_CHOICES:
            first = found[keys[0]]
            return CheckResult.unknown(f"it depends on {len(keys)} conditions that are unknown, with "
                                       f"{combinations} combinations of their values ({first.name}: "
                                       f"{first.value.raw.condition})", attribute=keys[0][2] if keys[0][0] == -1
                                       else None, value=first.value)
        results, more = [], {}
        for combination in itertools.product(*(found[key].value.raw.values for key in keys)):
            choices = dict(zip(keys, combination))
            watch = forks.watching()
            try:
                results.append((_evaluate(rule, forks.Assumed(resource, choices), context), choices))
            finally:
                forks.stop()
            more.update({key[1:]: view for key, view in watch.items()
                         if key[0] == id(resource) and key[1:] not in found})
        if not more:
            break
        found.update(more)
    return _over_choices(found, results, resource)


def _over_choices(found: dict, results: list[tuple[CheckResult, dict]], resource: Resource) -> CheckResult:
    """One verdict from the verdicts of every combination of alternatives."""
    first_key = next(iter(found))
    forked = found[first_key]
    condition = forked.value.raw.condition
    verdicts = {r.verdict for r, _ in results}
    reasons = list(dict.fromkeys(r.reason for r, _ in results if r.reason))
    if len(verdicts) == 1 and Verdict.UNKNOWN not in verdicts:
        chosen = results[0][0]
        if chosen.verdict is Verdict.PASS:
            return replace(chosen, masked=any(r.masked for r, _ in results), resource=_real(chosen.resource, resource))
        reason = f"{' or '.join(reasons)} (whichever way the condition that is unknown goes: {condition})"
        # the value at fault is the choice itself: a fix of one branch would leave the other failing
        at_fault = found.get((-1, "", chosen.attribute)) if chosen.attribute else None
        value = at_fault.value if at_fault is not None else chosen.value
        return replace(chosen, reason=reason, value=value, resource=_real(chosen.resource, resource))
    parts = list(dict.fromkeys(f"it {_WORDS[r.verdict]}" + (f" ({r.reason})" if r.reason else "") for r, _ in results))
    where = forked.name if first_key[0] == -1 else f"{first_key[1]}.{forked.name}"
    attribute = forked.name if first_key[0] == -1 else None
    span = forked.span if first_key[0] != -1 else None
    return CheckResult.unknown(f"{where} depends on a condition that is unknown ({condition}): one way "
                               + "; another way ".join(parts), attribute=attribute, value=forked.value,
                               extra={"locate_span": span} if span is not None else None)


def _real(subject: Resource | None, resource: Resource) -> Resource | None:
    """The resource a result names, never the Assumed view of it."""
    return resource if isinstance(subject, forks.Assumed) else subject


def _file_of(resource: Resource, graph: Graph) -> str:
    return resource.header_span.file if resource.header_span is not None else graph.root_dir


def _evaluate(rule: Rule, resource: Resource, context: CheckContext) -> CheckResult:
    try:
        return rule.evaluate(resource, context)
    except Exception as exc:  # a rule bug must not hide the other findings
        if os.environ.get("IACLINT_STRICT"):
            raise
        return CheckResult.unknown(f"iaclint could not evaluate this rule ({exc.__class__.__name__}: {exc})")


def source_line(graph: Graph, file: str, line: int) -> str | None:
    """The text of a line of a configuration file, for the snippet under a finding."""
    source = graph.sources.get(file)
    if source is None or file.endswith(".json"):
        return None
    if graph.kind == "plan" and (graph.hcl_companion is None or file not in graph.hcl_companion.sources):
        return None  # the plan itself, whatever its name (<stdin>): it holds values marked sensitive
    return source.line_text(line)


def diagnostic_finding(diag: Diagnostic, selection: RuleSelection, graph: Graph | None = None) -> Finding | None:
    rule = find_rule(diag.rule_id)
    if rule is None or not selection.wants(rule):
        return None
    from iaclint.model import Location

    location = Location(diag.file, diag.line, diag.column, diag.line, diag.column)
    finding = Finding(rule.id, rule.name, selection.severity_of(rule), Verdict.FAIL, "", location,
                      f"{diag.file}:{diag.line}:{diag.column}: {diag.message}")
    finding.fingerprint = _hash(rule.id, diag.file, diag.message)
    if graph is not None:
        finding.source_line = source_line(graph, diag.file, diag.line)
    return finding


def make_finding(rule: Rule, resource: Resource, result: CheckResult, graph: Graph, severity: Severity) -> Finding:
    subject = result.resource or resource
    locate_at = result.extra.get("locate_at") or (result.attribute if subject is resource else None)
    span: Span | None = result.extra.get("locate_span")
    value_span: Span | None = None
    if span is None and locate_at:
        view = resource.attr(locate_at)
        if view.present and view.span is not None:
            span = view.span
            value_span = view.value_span
    if span is None:
        span = resource.header_span
    related = _related(resource, subject, result, graph)
    caller = _caller_place(span, result.value, graph)
    if caller is not None:  # the module is downloaded, the value is the caller's: the finding is where it is written
        where = graph.location(span)
        related = (Related(where, f"{resource.address} is defined here, in a downloaded module"),) + tuple(
            r for r in related if (r.location.file, r.location.line) != (caller.file, graph.location(caller).line))
        span = value_span = caller
    location = graph.location(span) if span is not None else graph.location(Span(graph.root_dir, 0, 0))
    if result.verdict is Verdict.UNKNOWN:
        # A reason that already says what cannot be told ("cannot tell whether this applies: ...") is not
        # prefixed a second time.
        lead = "" if result.reason.startswith("cannot tell") else "cannot tell, "
        message = f"{rule.title}: {lead}{result.reason}"
    else:
        message = f"{rule.message}: {result.reason}"
    origin_note = _origin_note(result.value, subject, graph)
    if origin_note:
        message += f" ({origin_note})"
    # Messages and source lines repeat across resources (one rule, one reason, the same line text):
    # interned, a large file's findings share them instead of holding a copy each.
    message = intern(message)
    result.reason = intern(result.reason)
    finding = Finding(
        rule_id=rule.id, rule_name=rule.name, severity=severity, verdict=result.verdict,
        address=resource.address, location=location, message=message,
        related=related, resource_type=resource.type,
    )
    key = "[*]" if type(resource.key) is object else str(resource.key)  # the wildcard key has no stable str()
    finding.fingerprint = _hash(rule.id, resource.config_address, key, str(result.attribute),
                                render(result.value) if result.value is not None else "absent")
    finding.context = FindingContext(rule, resource, result, graph)
    finding.source_line = _interned(source_line(graph, location.file, location.line))
    if location.end_line != location.line:
        finding.end_line_text = _interned(source_line(graph, location.file, location.end_line))
    if value_span is not None:
        start, end = graph.location(value_span), graph.location(Span(value_span.file, value_span.end, value_span.end))
        if start.line == location.line:
            finding.caret = (start.column, end.column if end.line == start.line else len(finding.source_line or "") + 1)
    if not result.fixable:
        finding.no_fix_reason = result.no_fix_reason or "no edit of this resource decides it"
    return finding


def _caller_place(span: Span | None, value: Value | None, graph: Graph) -> Span | None:
    """For a finding located in a downloaded module (.terraform/modules, .terragrunt-cache) whose value the caller
    wrote: the first place on the value's way from its use to its definition that is outside every download (the
    module argument, else the literal it comes from). None when the finding stays where it is."""
    if span is None or value is None or span.file not in graph.downloaded_files:
        return None
    places = [hop.span for hop in value.via] + [value.origin.span if value.origin is not None else None]
    return next((p for p in places if p is not None and p.file not in graph.downloaded_files), None)


def _interned(text: str | None) -> str | None:
    return intern(text) if text is not None else None


def _inside(span: Span | None, block: Span | None) -> bool:
    return (span is not None and block is not None and span.file == block.file
            and block.start <= span.start and span.end <= block.end)


def _origin_note(value: Value | None, subject: Resource, graph: Graph) -> str:
    if value is None or value.origin is None:
        return ""
    origin = value.origin
    if origin.kind in (OriginKind.LITERAL, OriginKind.EXPRESSION, OriginKind.PLAN, OriginKind.COMPUTED):
        if origin.span is None or _inside(origin.span, subject.block_span):
            return ""
    return "from " + describe_origin(origin, graph)


def describe_origin(origin, graph: Graph) -> str:
    """'variable "encrypted" default (variables.tf:5)': what the place is, and where."""
    if origin.span is None:
        return origin.label
    loc = graph.location(origin.span)
    return f"{origin.label} ({loc.file}:{loc.line})"


def _related(resource: Resource, subject: Resource, result: CheckResult, graph: Graph) -> tuple[Related, ...]:
    out: list[Related] = []
    seen: set[tuple[str, int, str]] = set()

    def add(span: Span | None, message: str) -> None:
        if span is None:
            return
        loc = graph.location(span)
        key = (loc.file, loc.line, message)
        if key not in seen:
            seen.add(key)
            out.append(Related(loc, message))

    if subject is not resource:
        view = subject.attr(result.attribute) if result.attribute else None
        if view is not None and view.present:
            add(view.span, f"{subject.address}.{result.attribute} is set here")
    value = result.value
    if value is not None:
        for hop in value.via:
            if hop.span is not None and not _inside(hop.span, subject.block_span):
                add(hop.span, f"through {hop.label}")
        origin = value.origin
        if origin is not None and origin.span is not None and not _inside(origin.span, subject.block_span):
            add(origin.span, f"value comes from {origin.label}")
    for span, message in result.related:
        add(span, message)
    for site in resource.call_sites:
        add(site.span, site.label)
    return tuple(out)


def origin_dict(result: CheckResult, subject: Resource, graph: Graph) -> dict[str, Any] | None:
    value = result.value
    if value is None:
        if result.attribute and not subject.attr(result.attribute).present:
            return {"kind": "default", "description": f"{result.attribute} is not set; the default applies",
                    "file": None, "line": None}
        return None
    origin = value.origin
    if origin is None:
        if not value.known:
            return {"kind": "unknown", "description": value.unknown, "file": None, "line": None}
        return None
    data: dict[str, Any] = {"kind": origin.kind.value, "description": describe_origin(origin, graph),
                            "file": None, "line": None}
    if origin.span is not None:
        loc = graph.location(origin.span)
        data.update(file=loc.file, line=loc.line, column=loc.column)
    return data


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
