"""From command-line paths to a Report: find the modules and plans, build graphs, run rules."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from iaclint import __version__
from iaclint.engine.rules import Rule, all_rules, load_rules
from iaclint.engine.runner import RuleSelection, run_rules
from iaclint.graph.config import ConfigLoader, terraform_files
from iaclint.graph.hcl import build_hcl_graph
from iaclint.graph.inputs import collect_inputs
from iaclint.graph.model import Graph
from iaclint.graph.plan import PlanError
from iaclint.model import Finding, Report, Severity
from iaclint.source import display_path

AUTO_TFVARS = ("terraform.tfvars", "terraform.tfvars.json")


class UsageError(Exception):
    """Bad command-line input: exit code 2 with this message."""


@dataclass
class LintOptions:
    var_files: list[str] = field(default_factory=list)
    cli_vars: list[str] = field(default_factory=list)
    selection: RuleSelection = field(default_factory=RuleSelection)
    threshold: Severity = Severity.LOW
    fail_on_unknown: bool = False
    config_dir: str | None = None
    environ: dict[str, str] | None = None
    inline_suppressions: bool = True
    exclude: list[str] = field(default_factory=list)  # globs from settings, relative to settings_dir
    settings_dir: str | None = None
    overlay: dict | None = None  # absolute path -> SourceFile: fixed contents being verified, not yet written


@dataclass
class Target:
    kind: str  # "module" or "plan"
    path: Path
    only_files: set[str] | None = None  # report only findings touching these files
    extra_var_files: list[str] = field(default_factory=list)
    text: str | None = None  # plan JSON read from standard input


@dataclass
class LintRun:
    report: Report
    graphs: list[Graph]
    targets: list[Target]


def looks_like_plan(data: object) -> bool:
    return (isinstance(data, dict) and "format_version" in data
            and any(k in data for k in ("planned_values", "resource_changes", "configuration")))


def resolve_targets(paths: list[str]) -> tuple[list[Target], list[str]]:
    """Group paths into module and plan targets; returns (targets, notices)."""
    if not paths:
        raise UsageError("give at least one path: a directory, a .tf file, a plan JSON file, or - for standard input")
    modules: dict[Path, Target] = {}
    plans: list[Target] = []
    notices: list[str] = []
    for raw in paths:
        if raw == "-":
            plans.append(Target("plan", Path("-"), text=sys.stdin.read()))
            continue
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or directory")
        if path.is_dir():
            key = path.resolve()
            target = modules.setdefault(key, Target("module", path))
            target.only_files = None
            continue
        name = path.name
        if name.endswith((".tf", ".tf.json")):
            _add_file(modules, path, display_path(path))
            continue
        if name.endswith((".tfvars", ".tfvars.json")):
            directory = path.parent
            if not terraform_files(directory):
                notices.append(f"{raw}: no Terraform configuration in its directory; pass it with --var-file")
                continue
            target = _add_file(modules, path, display_path(path))
            if name not in AUTO_TFVARS and not name.endswith((".auto.tfvars", ".auto.tfvars.json")):
                target.extra_var_files.append(str(path))
            continue
        try:
            head = path.read_bytes()[:1 << 20]
        except OSError as exc:
            raise UsageError(f"{raw}: cannot read: {exc.strerror}") from None
        text = head.decode("utf-8", errors="replace")
        if text.lstrip().startswith("{"):
            plans.append(Target("plan", path))
            continue
        raise UsageError(f"{raw}: not a directory, a .tf or .tfvars file, or a Terraform plan in JSON")
    return list(modules.values()) + plans, notices


def _add_file(modules: dict[Path, Target], path: Path, shown: str) -> Target:
    key = path.parent.resolve()
    target = modules.get(key)
    if target is None:
        target = Target("module", path.parent, only_files=set())
        modules[key] = target
    if target.only_files is not None:
        target.only_files.add(shown)
    return target


def lint(paths: list[str], options: LintOptions, rules: list[Rule] | None = None) -> LintRun:
    targets, notices = resolve_targets(paths)
    rules = list(rules) if rules is not None else list(load_rules())
    findings: list[Finding] = []
    graphs: list[Graph] = []
    files: list[str] = []
    errors: list[str] = []
    evaluations: list[tuple[str, str, str]] = []
    providers: list[dict] = []
    for target in targets:
        if target.kind == "module" and target.only_files is None and not terraform_files(target.path):
            errors.append(f"{display_path(target.path)}: no Terraform configuration files (.tf, .tf.json) here")
            continue
        try:
            graph = build_target_graph(target, options)
        except PlanError as exc:
            errors.append(str(exc))  # reported after the other targets are checked; exit code 2
            continue
        graphs.append(graph)
        notices.extend(graph.notices)
        providers.extend({"root": graph.root_dir, **info.to_dict()} for info in graph.providers.values())
        checked: list[tuple[str, str, str]] = []
        target_findings = run_rules(graph, rules, options.selection, checked)
        if target.only_files is not None:
            checked = [c for c in checked if c[2] in target.only_files]
        evaluations.extend(checked)
        if target.only_files is not None:
            wanted = target.only_files
            target_findings = [f for f in target_findings if f.files() & wanted]
        findings.extend(target_findings)
        files.extend(f for f in graph.files_checked if f not in files)
    findings.sort(key=lambda f: (f.location.file, f.location.line, f.location.column, f.rule_id, f.address))
    report = Report(__version__, findings, files, all_rules(), options.threshold, options.fail_on_unknown)
    report.notices.extend(notices)
    report.errors = errors
    report.evaluations = evaluations
    report.providers = providers
    return LintRun(report, graphs, targets)


def build_target_graph(target: Target, options: LintOptions, loader: ConfigLoader | None = None) -> Graph:
    if target.kind == "plan":
        from iaclint.graph.plan import load_plan_target

        return load_plan_target(target, options)
    inputs = collect_inputs(target.path, list(options.var_files) + target.extra_var_files, options.cli_vars,
                            options.environ, options.overlay)
    return build_hcl_graph(target.path, inputs, loader or ConfigLoader(options.overlay))
