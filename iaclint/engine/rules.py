"""Rules are data: one YAML file each, validated by rule.schema.json, loaded into Rule objects."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from functools import lru_cache
from pathlib import Path

from iaclint.engine import conditions
from iaclint.errors import RuleError
from iaclint.engine.results import CheckContext, CheckResult
from iaclint.model import Record, Severity, Verdict

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Callable

CATALOGUE = "catalogue.json"  # the bundled rule files, parsed: scripts/build_catalogue.py writes it


class Rule(Record):
    """One rule from its YAML file: what it checks, how it is reported, and how it is fixed."""

    _shown = ("id", "name", "title", "severity", "resource_types", "message", "docs", "references", "mode",
              "assertion", "applies_when", "check", "check_name", "fix", "path", "plan_only", "builtin", "service",
              "user", "reported_by", "verdict")

    def __init__(self, id: str, name: str, title: str, severity: Severity, resource_types: list[str], message: str,
                 docs: dict[str, str], references: dict[str, list[str]] | None = None, mode: str = "managed",
                 assertion: dict[str, Any] | None = None, applies_when: dict[str, Any] | None = None,
                 check: Callable[..., CheckResult] | None = None, check_name: str = "",
                 fix: dict[str, Any] | None = None, path: str = "", plan_only: bool = False, builtin: bool = False,
                 service: str = "", user: bool = False, reported_by: tuple[str, ...] = (),
                 verdict: Verdict = Verdict.FAIL):
        self.id = id
        self.name = name
        self.title = title
        self.severity = severity
        self.resource_types = resource_types
        self.message = message
        self.docs = docs
        self.references = {} if references is None else references
        self.mode = mode
        self.assertion = assertion
        self.applies_when = applies_when
        self.check = check
        self.check_name = check_name
        self.fix = fix
        self.path = path
        self.plan_only = plan_only
        self.builtin = builtin
        self.service = service
        self.user = user  # from the user's rule folders (--rules-dir, settings `rules`), not shipped with iaclint
        self.reported_by = reported_by  # rules that report this rule's problem when they fail on the resource
        self.verdict = verdict  # what its findings say when it does not pass: MOD001 reports unknowns only

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def evaluate(self, resource, context: CheckContext) -> CheckResult:
        reporter = self._reporter(resource, context)
        if reporter is not None:
            return reporter
        if self.check is None and self.check_name:
            self.check = import_check(self.check_name)  # bundled rules: imported when first needed
        if self.check is not None:
            result = self.check(resource, context)
            if not isinstance(result, CheckResult):  # a user's check: reported as unknown, with why, by the runner
                raise TypeError(f"check {self.check_name} returned {type(result).__name__}, not a CheckResult")
            return result
        graph = context.graph
        if self.applies_when is not None:
            gate = conditions.evaluate(self.applies_when, resource, graph)
            if gate.state is False:
                return CheckResult.passed("not applicable: " + gate.reason)
            if gate.state is None:
                return CheckResult.unknown(f"cannot tell whether this applies: {gate.reason}",
                                           attribute=gate.attribute, value=gate.value)
        outcome = conditions.evaluate(self.assertion, resource, graph)
        verdict = {True: Verdict.PASS, False: Verdict.FAIL, None: Verdict.UNKNOWN}[outcome.state]
        extra = {"locate_span": outcome.span} if outcome.span is not None else None
        return CheckResult(verdict, outcome.reason, attribute=outcome.attribute, value=outcome.value, extra=extra)


    def _reporter(self, resource, context: CheckContext) -> CheckResult | None:
        """A pass when a rule of `reported_by` that is part of the run fails on the resource: one problem, one
        finding (SNS003 reports the AWS managed key of a topic that alarms publish to; SNS002 stays quiet)."""
        for rule_id in self.reported_by:
            other = rule_by_id(rule_id)
            if other is None or other is self or resource.type not in other.resource_types \
                    or not context.reports(other):
                continue
            result = other.evaluate(resource, CheckContext(context.graph, other, context.selection))
            if result.verdict is Verdict.FAIL:
                return CheckResult.passed(f"{other.id} reports the problem: {result.reason}")
        return None


def _builtin(id_: str, name: str, title: str, severity: Severity, what: str) -> Rule:
    return Rule(id_, name, title, severity, [], title, {"what": what, "why": what, "failing": "", "passing": ""},
                builtin=True, service="iaclint")


BUILTIN_RULES = [
    _builtin("PARSE", "parse-error", "A file could not be read or parsed", Severity.HIGH,
             "A configuration, variables or plan file is not valid: iaclint cannot check what it cannot read, "
             "so the file is reported with the line where reading stopped and the other files are still checked."),
    _builtin("CONFIG", "configuration-error", "The configuration is inconsistent", Severity.MEDIUM,
             "Something in the configuration that Terraform itself would reject, such as a resource defined twice."),
    _builtin("SUP001", "suppression-without-reason", "An inline suppression gives no reason", Severity.INFO,
             "A suppression comment without reason=\"...\" still suppresses, but reviewers cannot tell why."),
    _builtin("SUP002", "expired-suppression", "An inline suppression has expired", Severity.LOW,
             "A suppression whose expires= date has passed no longer suppresses its finding."),
    _builtin("SUP003", "invalid-suppression", "A suppression comment cannot be honoured as written", Severity.LOW,
             "A suppression that names an unknown rule, misspells the iaclint:ignore marker, or gives an expiry "
             "date that does not exist would otherwise be ignored silently (or, worse, suppress forever). It is "
             "reported with its line; an invalid date never suppresses."),
]


def rules_dir() -> Path:
    """Rules ship inside the wheel (iaclint/_rules); in a source checkout they are ./rules."""
    packaged = Path(__file__).resolve().parent.parent / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "rules"


def validate_rule_data(data: Any, path: str) -> None:
    """Raise RuleError naming every way ``data`` breaks rule.schema.json (the tests run it on bundled rules)."""
    from iaclint.engine.user_rules import schema_problems

    problems = schema_problems(data)
    if problems:
        raise RuleError("\n".join(f"{path}: {message}" for _, message in problems))


def read_rule_file(path: Path, catalogue: dict | None = None) -> Any:
    """A rule file's data: from the catalogue when it holds this file's exact bytes, else parsed.

    The catalogue spares every run importing PyYAML and parsing 40 files (a third of a one-file check's
    own time); a rule file edited since it was written is simply parsed, so it can be stale but not wrong."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleError(f"{path}: cannot read rule file: {exc.strerror or exc}") from None
    entry = (catalogue or {}).get(path.name)
    if isinstance(entry, dict) and entry.get("sha256") == hashlib.sha256(raw).hexdigest():
        return entry.get("rule")
    import yaml

    try:
        return yaml.load(raw.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: cannot read rule file: {exc}") from None


def read_catalogue(directory: Path) -> dict:
    try:
        data = json.loads((directory / CATALOGUE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_rule(path: Path, catalogue: dict | None = None) -> Rule:
    """A bundled rule file (the tests validate them; user rules go through user_rules.py)."""
    data = read_rule_file(path, catalogue)
    if not isinstance(data, dict):
        raise RuleError(f"{path}: a rule file holds a mapping (id, name, title, ...)")
    if path.stem != data["id"]:
        raise RuleError(f"{path}: file name must be the rule id ({data['id']}.yaml)")
    return rule_from_data(data, path)


def rule_from_data(data: dict[str, Any], path: Path) -> Rule:
    return Rule(
        id=data["id"], name=data["name"], title=data["title"], severity=Severity(data["severity"]),
        resource_types=data["resource_types"], message=data["message"], docs=data["docs"],
        references=data.get("references", {}), mode=data.get("mode", "managed"),
        assertion=data.get("assert"), applies_when=data.get("applies_when"),
        check_name=data.get("check", ""), fix=data.get("fix"), path=str(path), plan_only=data.get("plan_only", False),
        service=data["service"], reported_by=tuple(data.get("reported_by", ())),
        verdict=Verdict(data.get("verdict", "fail")),
    )


def import_check(name: str) -> Callable[..., CheckResult]:
    """`module:function`. The bundled rules' checks are imported when a rule first applies, so a run
    over a few resource types does not import the check modules of the others (the tests import all)."""
    module_name, _, func_name = name.partition(":")
    try:
        return getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise RuleError(f"check {name} cannot be imported: {exc}") from None


@lru_cache(maxsize=1)
def load_rules() -> tuple[Rule, ...]:
    """The bundled rules; schema-validated by the tests, not on every run."""
    directory = rules_dir()
    catalogue = read_catalogue(directory)
    names = sorted(name for name in os.listdir(directory) if name.endswith(".yaml"))  # as sorted(glob("*.yaml"))
    rules = tuple(load_rule(directory / name, catalogue=catalogue) for name in names)
    seen: dict[str, str] = {}
    for rule in rules:
        for key in (rule.id, rule.name):
            if key in seen:
                raise RuleError(f"{rule.path}: {key} is already used by {seen[key]}")
            seen[key] = rule.path
    return rules


_user_rules: tuple[Rule, ...] = ()  # this run's rules from the user's folders: see use_rule_folders


def use_rule_folders(folders, keep: bool = False, tree=None) -> tuple[Rule, ...]:
    """Load the user's rule folders and make their rules known to every lookup of this process (select,
    ignore, severity, suppressions, explain, reports). The command line sets them once per run, before
    the settings; settings with a `rules` key add theirs (``keep``). A folder already loaded is skipped.
    ``tree``: the repository the settings were found in; its rule files must stay inside it."""
    global _user_rules
    kept = _user_rules if keep else ()
    loaded = {str(Path(r.path).resolve().parent) for r in kept}
    wanted = []
    for folder in folders:
        key = str(Path(folder).resolve())
        if key not in loaded:
            loaded.add(key)
            wanted.append(Path(folder))
    if wanted:
        from iaclint.engine.user_rules import load_rule_folders  # only when there are folders: most runs have none

        kept += tuple(load_rule_folders(wanted, list(kept), tree))
    _user_rules = kept
    return _user_rules


def active_rules() -> list[Rule]:
    """The rules a run checks: the bundled ones and the user's."""
    return list(load_rules()) + list(_user_rules)


def all_rules() -> list[Rule]:
    return active_rules() + BUILTIN_RULES


_by_id: tuple[tuple[Rule, ...], dict[str, Rule]] | None = None


def rule_by_id(rule_id: str) -> Rule | None:
    """The rule with this exact id (formatters ask once per finding: a dict, not a search)."""
    global _by_id
    if _by_id is None or _by_id[0] is not _user_rules:
        _by_id = (_user_rules, {rule.id: rule for rule in all_rules()})
    return _by_id[1].get(rule_id)


def find_rule(key: str) -> Rule | None:
    """A rule by id or name (peer ids may name several rules: see find_rules)."""
    wanted = key.strip()
    exact = rule_by_id(wanted)
    if exact is not None:
        return exact
    for rule in all_rules():
        if wanted.upper() == rule.id or wanted.lower() == rule.name:
            return rule
    found = find_rules(key)
    return found[0] if len(found) == 1 else None


def find_rules(key: str) -> list[Rule]:
    """Rules for an id, a name, or a peer tool's id (CKV_AWS_44, AVD-AWS-0076, aws-neptune-..., a KICS id)."""
    wanted = key.strip()
    for rule in all_rules():
        if wanted.upper() == rule.id or wanted.lower() == rule.name:
            return [rule]
    lowered = wanted.lower()
    return [rule for rule in all_rules()
            if any(lowered == peer.lower() for kind, ids in rule.references.items() if kind != "docs" for peer in ids)]


def suggest(key: str) -> str:
    """' (did you mean X?)' for a near miss of a rule id or name, else ''."""
    import difflib

    choices = [r.id for r in all_rules()] + [r.name for r in all_rules()]
    close = difflib.get_close_matches(key.strip().upper(), [c for c in choices if c.isupper()], n=1, cutoff=0.6) or \
        difflib.get_close_matches(key.strip().lower(), [c for c in choices if not c.isupper()], n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def rule_ids(keys, where: str) -> set[str]:
    """Rule ids for ids, names or peer ids given by a user; an unknown one is a RuleError naming ``where``."""
    out = set()
    for key in keys:
        rules = find_rules(key)
        if not rules:
            raise RuleError(f"{where}: unknown rule {key!r}{suggest(key)} (see `iaclint rules`)")
        out.update(rule.id for rule in rules)
    return out
