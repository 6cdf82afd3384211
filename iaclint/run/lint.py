"""From command-line paths to a Report: find the modules and plans, build graphs, run rules."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from iaclint import __version__
from iaclint.errors import PlanError, UsageError
from iaclint.run.discovery import ModuleTree, loaded_directories, module_tree, project_root, reachable, scanned_tree
from iaclint.graph.config import (OPENTOFU_SUFFIXES, TERRAFORM_SUFFIXES, ConfigLoader, is_unit, make_cache,
                                  opentofu_reading, terraform_files)
from iaclint.model import Finding, Record, Report, RuleSelection, Severity, Verdict, plural
from iaclint.source import display_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from iaclint.engine.rules import Rule
    from iaclint.eval.limits import Limits
    from iaclint.graph.model import Graph
    from iaclint.tree import Tree

AUTO_TFVARS = ("terraform.tfvars", "terraform.tfvars.json")


class LintOptions(Record):
    """Everything a run is asked to do, from the command line and settings."""

    _shown = ("var_files", "cli_vars", "selection", "threshold", "fail_on_unknown", "config_dir", "environ",
              "inline_suppressions", "exclude", "settings_dir", "settings_file", "overlay", "shared_var_files", "base",
              "since", "new_only", "progress", "cache", "jobs", "recursive", "skip_paths", "record_evaluations",
              "limits", "tree", "staged", "comparisons", "workspace", "default_workspace", "opentofu",
              "keep_verdicts", "reuse_results", "parsed", "targets")

    def __init__(self, var_files: list[str] | None = None, cli_vars: list[str] | None = None,
                 selection: RuleSelection | None = None, threshold: Severity = Severity.LOW,
                 fail_on_unknown: bool = False, config_dir: str | None = None, environ: dict[str, str] | None = None,
                 inline_suppressions: bool = True, exclude: list[str] | None = None, settings_dir: str | None = None,
                 settings_file: str | None = None, overlay: dict | None = None,
                 shared_var_files: list[str] | None = None, base: str | None = None, since: str | None = None,
                 new_only: bool = False, progress: object = None, cache: bool = True, jobs: int = 1,
                 recursive: bool = True, skip_paths: list[str] | None = None, record_evaluations: bool = True,
                 limits: Limits | None = None, tree: Tree | None = None, staged: bool = False,
                 comparisons: object = None, workspace: str | None = None, default_workspace: str | None = None,
                 opentofu: bool | None = None, keep_verdicts: bool = False, reuse_results: bool = False,
                 parsed: dict | None = None, targets: list[Target] | None = None):
        self.var_files = [] if var_files is None else var_files
        self.cli_vars = [] if cli_vars is None else cli_vars
        self.selection = RuleSelection() if selection is None else selection
        self.threshold = threshold
        self.fail_on_unknown = fail_on_unknown
        self.config_dir = config_dir
        self.environ = environ
        self.inline_suppressions = inline_suppressions
        self.exclude = [] if exclude is None else exclude  # globs from settings, relative to settings_dir
        self.settings_dir = settings_dir
        self.settings_file = settings_file  # the settings file in force, named in the report
        self.overlay = overlay  # absolute path -> SourceFile: fixed contents being verified, not yet written
        # settings var_files: for the roots that use them
        self.shared_var_files = [] if shared_var_files is None else shared_var_files
        self.base = base  # git revision: resources missing there were never applied from this branch
        self.since = since  # git revision findings are compared with: each is marked new or existing
        self.new_only = new_only  # report only the findings that were not there at `since`
        self.progress = progress  # progress(done, total, what): called as each target is checked
        self.cache = cache  # keep parsed files between runs (hcl/cache.py)
        self.jobs = jobs  # processes for parsing uncached files; 0: one per CPU. Serial by default: see README, Speed
        self.recursive = recursive  # a directory that is not a root module is searched for root modules
        self.skip_paths = [] if skip_paths is None else skip_paths  # directory globs not searched (--skip-path)
        self.record_evaluations = record_evaluations  # every (rule, resource) checked, for JUnit's passing test cases
        if limits is None:
            from iaclint.eval.limits import DEFAULT_LIMITS as limits
        self.limits = limits  # bounds on evaluation (settings `limits`, --limit)
        self.tree = tree  # the run's tree: everything is read, and fix writes, only inside it (set by lint)
        self.staged = staged  # paths are changed files (pre-commit); deletions are asked of git (changes.py)
        self.comparisons = comparisons  # --base/--since git comparisons, kept while `fix` lints again after each fix
        # --workspace: what terraform.workspace is (else TF_WORKSPACE, .terraform/environment)
        self.workspace = workspace
        self.default_workspace = default_workspace  # the settings' `workspace`: what stands in for "default"
        self.opentofu = opentofu  # --opentofu/--terraform (settings `opentofu`); None: detected per root
        # fix: each root's verdicts kept on its graph (Graph.verdicts) to verify edits
        self.keep_verdicts = keep_verdicts
        # `check`: roots whose inputs did not change reuse their kept result (run/results.py)
        self.reuse_results = reuse_results
        self.parsed = parsed  # fix: the files its lints parsed, shared by them (graph/config.py ConfigLoader.parsed)
        # fix: check only these targets, which an earlier lint of the same paths found (with options.tree): the
        # roots its edits reach, without finding the roots again
        self.targets = targets


class Target(Record):
    """A root module directory, a .tf file standing for its roots, or a plan."""

    _shown = ("kind", "path", "only_files", "extra_var_files", "text", "name", "whole_reasons", "reads",
              "base_var_files")

    def __init__(self, kind: str, path: Path, only_files: set[str] | None = None,
                 extra_var_files: list[str] | None = None, text: str | None = None, name: str = "<stdin>",
                 whole_reasons: list[str] | None = None, reads: set[str] | None = None,
                 base_var_files: list[str] | None = None):
        self.kind = kind  # "module" or "plan"
        self.path = path
        self.only_files = only_files  # report only findings touching these files
        self.extra_var_files = [] if extra_var_files is None else extra_var_files
        self.text = text  # plan JSON already read (standard input, a pipe)
        self.name = name  # what to call a plan given as text
        # --staged: changes that may affect any resource of the root (a deleted file, the lock file, settings):
        # its findings that were not there at --base are reported too, not only those touching only_files
        self.whole_reasons = [] if whole_reasons is None else whole_reasons
        # changed files (absolute) it may read with file(): the same, when its evaluation did read one
        self.reads = set() if reads is None else reads
        self.base_var_files = base_var_files  # the settings' var_files at --base, when the settings changed


class LintRun(Record):
    """A run's report, with the graphs and targets that fixes need."""

    _shown = ("report", "graphs", "targets", "results")

    def __init__(self, report: Report, graphs: list[Graph], targets: list[Target], results: object = None):
        self.report = report
        self.graphs = graphs  # the roots checked afresh (a root whose kept result was reused has none)
        self.targets = targets
        self.results = results  # run/results.RootResults, when kept results were used


def resolve_targets(paths: list[str], options: "LintOptions | None" = None,
                    tree: Tree | None = None) -> tuple[list[Target], list[str], list[tuple[str, str]]]:
    """Group paths into module and plan targets; returns (targets, notices, problems).

    A directory is searched for root modules (unless options.recursive is off); a .tf or .tfvars
    file stands for the roots it affects, which report only findings that touch that file. Problems
    are the (path, why) pairs that the search could not read: each becomes a finding.
    """
    options = options or LintOptions()
    tree = tree or scanned_tree(paths, options.settings_dir, options.config_dir)
    if options.staged:
        from iaclint.run.changes import changed_file_targets

        return changed_file_targets(paths, options, tree)
    problems: list[tuple[str, str]] = []
    if not paths:
        paths = ["."]
    modules: dict[Path, Target] = {}
    plans: list[Target] = []
    notices: list[str] = []
    trees: dict[Path, ModuleTree] = {}

    def project_tree() -> ModuleTree:
        base = project_root(Path.cwd(), options.settings_dir)
        if base not in trees:
            trees[base] = module_tree(base, options.skip_paths + options.exclude, tree)
        return trees[base]

    setting_var_files = {Path(f).resolve() for f in options.var_files + options.shared_var_files}
    reachable(".")  # every path is resolved against the current directory
    for raw in paths:
        if raw == "-":
            plans.append(Target("plan", Path("-"), text=sys.stdin.read()))
            continue
        path = Path(raw)
        reachable(raw)
        if path.is_dir():
            try:
                tree.entries(path)
            except OSError as exc:
                raise UsageError(f"{raw}: cannot read the directory: {exc.strerror or exc}") from None
            roots = [path]
            if options.recursive:
                found = module_tree(path, options.skip_paths + options.exclude, tree)
                problems.extend(p for p in found.problems if p not in problems)
                roots = [_shown_dir(r) for r in found.roots] or [path]
            for root in roots:
                target = modules.setdefault(tree.real(root), Target("module", root))
                target.only_files = None
            continue
        name = path.name
        shown = display_path(path)
        if name.endswith(TERRAFORM_SUFFIXES + OPENTOFU_SUFFIXES):
            for root in _roots_of(path.parent, project_tree, options):
                _add_file(modules, root, shown)
            continue
        if name.endswith(".hcl") and name != ".terraform.lock.hcl":
            # Terragrunt: a unit's own file stands for the unit; a file units include or read (root.hcl,
            # env.hcl) for every unit of the project, as iaclint does not trace which of them read it
            units = [path.parent] if name == "terragrunt.hcl" else \
                [_shown_dir(r) for r in project_tree().roots if is_unit(r)]
            for unit in units:
                modules.setdefault(unit.resolve(), Target("module", unit)).only_files = None
            if not units:
                notices.append(f"{raw}: no Terragrunt unit (a directory with terragrunt.hcl) to check it through")
            continue
        if name.endswith((".tfvars", ".tfvars.json")):
            directory = path.parent
            if terraform_files(directory, None):
                for root in _roots_of(directory, project_tree, options):
                    target = _add_file(modules, root, shown)
                    if name not in AUTO_TFVARS and not name.endswith((".auto.tfvars", ".auto.tfvars.json")):
                        target.extra_var_files.append(str(path))
            elif path.resolve() in setting_var_files:
                for root in project_tree().roots:
                    _add_file(modules, _shown_dir(root), shown)
            else:
                notices.append(f"{raw}: no Terraform configuration in its directory and not in the settings' "
                               "var_files; pass it with --var-file")
            continue
        try:
            if path.is_file():
                with open(path, "rb") as handle:
                    head = handle.read(1 << 16)
                whole = None
            else:  # a pipe such as <(terraform show -json plan.bin) can be read once only
                whole = path.read_bytes()
                head = whole[:1 << 16]
        except OSError as exc:
            raise UsageError(f"{raw}: cannot read: {exc.strerror}") from None
        if _looks_like_json(head):
            target = Target("plan", path)
            if whole is not None:
                from iaclint.graph.plan import PlanError, decode_plan

                try:
                    target.text = decode_plan(whole, raw)
                except PlanError as exc:
                    raise UsageError(str(exc)) from None
                target.name = raw
            plans.append(target)
            continue
        raise UsageError(f"{raw}: not a directory, a .tf or .tfvars file, or a Terraform plan in JSON")
    return list(modules.values()) + plans, notices, problems


def _looks_like_json(head: bytes) -> bool:
    """Does the file start like JSON, in UTF-8 (BOM or not) or UTF-16 (PowerShell's `>` writes that)?"""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = head.decode("utf-16", errors="ignore")
        except LookupError:
            return False
    else:
        text = head.decode("utf-8", errors="replace")
    return text.lstrip("\ufeff \t\r\n").startswith("{")


def _shown_dir(path: Path) -> Path:
    return Path(display_path(path))


def _roots_of(directory: Path, project_tree, options: "LintOptions") -> list[Path]:
    """The root modules a changed file in ``directory`` affects (its own directory when it is one)."""
    if not options.recursive:
        return [directory]
    tree = project_tree()
    resolved = directory.resolve()
    if resolved not in tree.directories:
        return [directory]
    return [_shown_dir(r) for r in tree.roots_of(resolved)]


def _add_file(modules: dict[Path, Target], directory: Path, shown: str) -> Target:
    key = directory.resolve()
    target = modules.get(key)
    if target is None:
        target = Target("module", directory, only_files=set())
        modules[key] = target
    if target.only_files is not None:
        target.only_files.add(shown)
    return target


def lint(paths: list[str], options: LintOptions, rules: list[Rule] | None = None) -> LintRun:
    # --staged: the paths are files of the repository pre-commit runs in, never a reason to read elsewhere
    if options.targets is not None and options.tree is not None:
        tree = options.tree
        targets, notices, problems = list(options.targets), [], []
    else:
        scanned = [] if options.staged else paths
        tree = options.tree = scanned_tree(scanned, options.settings_dir, options.config_dir)
        targets, notices, problems = resolve_targets(paths, options, tree)
    empty = [_nothing_to_check(target, options, tree) for target in targets]
    if not problems and all(empty):  # an empty folder: no parse cache, rules or kept results to open
        for number, target in enumerate(targets, start=1):
            _progress(options, number, targets)
        return LintRun(_report([], [], empty, notices, [], [], [], options), [], targets)
    from iaclint.engine.rules import active_rules
    from iaclint.engine.runner import RulePlan, run_rules

    # one per run: shared modules parse once
    loader = ConfigLoader(options.overlay, make_cache(options.cache), tree, options.parsed)
    if loader.cache is not None:
        notices.extend(loader.cache.notices)  # why the cache is off, if it is
    rules = list(rules) if rules is not None else active_rules()
    from iaclint.run.results import open_results

    results = open_results(options, rules, tree, notices)  # None unless `check` asked and the cache is on
    if results is not None and loader.cache is not None:
        # a root that changes is checked afresh and kept again: its syntax trees would be written only for the
        # modes that cannot keep results (the hook, --diff, fix, --base), which write their own. Writing one
        # file per parsed file cost a third of a cold run on trees of many small roots (KICS's fixtures)
        loader.cache.keeps_trees = False
    jobs = options.jobs if options.jobs else (os.cpu_count() or 1)
    if jobs > 1:
        built = results.to_build(targets) if results is not None else targets  # kept roots read no tree
        loader.preload(loaded_directories([t.path for t in built if t.kind == "module"], tree), jobs)
    plan = RulePlan(rules, options.selection)  # selected and indexed once, not per root
    findings: list[Finding] = [f for f in (_problem_finding(path, why, options) for path, why in problems) if f]
    graphs: list[Graph] = []
    files: list[str] = []
    files_seen: set[str] = set()  # beside the list: roots share modules, and a list scan per file is quadratic
    errors: list[str] = []
    evaluations: list[tuple[str, str, str, str]] = []
    providers: list[dict] = []
    roots: list[str] = []
    if options.comparisons is None and (options.base or options.since):  # git is asked once per question in a run
        from iaclint.run.base import Comparisons

        options.comparisons = Comparisons(options.cache)
    comparisons = options.comparisons
    for number, (target, nothing) in enumerate(zip(targets, empty), start=1):
        _progress(options, number, targets)
        if nothing:
            errors.append(nothing)
            continue
        if target.kind == "module":
            roots.append(display_path(target.path))
        kept = results.reuse(target) if results is not None else None  # else records what the root reads
        try:
            graph = kept or build_target_graph(target, options, loader)
        except PlanError as exc:
            errors.append(str(exc))  # reported after the other targets are checked; exit code 2
            continue
        if kept is None:
            graphs.append(graph)
        if options.base and target.kind == "module":
            from iaclint.run.base import BaseError, mark_new_resources

            try:
                mark_new_resources(graph, target.path, comparisons.of(target.path, options.base),
                                   _base_inputs(target, options, loader))
            except BaseError as exc:
                _notice(notices, f"--base {options.base}: {exc}; fixes treat every resource as possibly live")
        providers.extend({"root": graph.root_dir, **info.to_dict()} for info in graph.providers.values())
        checked: list[tuple[str, str, str]] = []
        masked: set[tuple[str, str]] | None = set() if options.keep_verdicts else None
        if kept is not None:
            checked, target_findings = list(kept.checked), kept.findings
        else:
            target_findings = run_rules(graph, plan, options.selection,
                                        checked if options.record_evaluations else None, masked)
        if masked is not None:  # fix verifies its edits against every verdict of the root, before any scoping
            graph.verdicts = (frozenset((f.rule_id, f.address, f.verdict.value) for f in target_findings), masked)
        if graph.notices:  # evaluation adds some as rules run
            known = set(notices)
            notices.extend(n for n in dict.fromkeys(graph.notices) if n not in known)
        if results is not None and kept is None:
            target_findings = results.store(target, graph, target_findings, checked)
        if target.only_files is not None:
            checked = [c for c in checked if c[2] in target.only_files]
        root_shown = display_path(target.path) if target.kind == "module" else ""
        evaluations.extend((rule_id, address, file, root_shown) for rule_id, address, file in checked)
        whole = target.kind == "module" and bool(target.whole_reasons or target.reads & graph.files_read)
        if target.kind == "module" and (options.since or whole):
            _mark_new_findings(target_findings, graph, target, options, loader, comparisons, rules, notices)
        if whole:
            read = sorted(display_path(p) for p in target.reads & graph.files_read)
            why = "; ".join(target.whole_reasons + [f"it reads {name}, which changed" for name in read])
            since = options.since or options.base
            _notice(notices, f"{display_path(target.path)}: {why}: every finding of the root"
                             + (f" that was not there at {since}" if since else "") + " is reported")
        if target.only_files is not None:
            wanted = target.only_files
            target_findings = [f for f in target_findings
                               if f.files() & wanted or (whole and f.base_state != "existing")]
        if whole and not options.since:  # compared only to scope the root: not a --since report
            for f in target_findings:
                f.base_state = None
        if target.kind == "module" and (options.since or options.base) and options.overlay is None:
            _locate_at_changed_causes(target_findings, target, options, comparisons)  # not while fixes are tried
        if target.kind == "module":
            for f in target_findings:
                f.root = display_path(target.path)
        findings.extend(target_findings)
        for f in graph.files_checked:
            if f not in files_seen:
                files_seen.add(f)
                files.append(f)
    findings = _one_per_module_call(findings, notices)
    findings.sort(key=lambda f: (f.location.file, f.location.line, f.location.column, f.rule_id, f.address))
    from iaclint.engine.rules import all_rules

    report = _report(findings, files, errors, notices, evaluations, providers, roots, options, all_rules())
    if results is not None:
        results.close()
    return LintRun(report, graphs, targets, results)


def _nothing_to_check(target: Target, options: LintOptions, tree: Tree) -> str:
    """The error of a directory asked for that holds no configuration, or ''."""
    if target.kind != "module" or target.only_files is not None or terraform_files(target.path, None, tree) \
            or is_unit(target.path, tree):
        return ""
    where = "here" if not options.recursive else "here or below"
    return (f"{display_path(target.path)}: no Terraform configuration files (.tf, .tf.json, or OpenTofu's .tofu, "
            f".tofu.json) {where}")


def _progress(options: LintOptions, number: int, targets: list[Target]) -> None:
    if callable(options.progress):
        target = targets[number - 1]
        options.progress(number, len(targets), display_path(target.path) if target.text is None else "<stdin>")


def _report(findings: list[Finding], files: list[str], errors: list[str], notices: list[str],
            evaluations: list[tuple[str, str, str, str]], providers: list[dict], roots: list[str],
            options: LintOptions, rules: list[Rule] | None = None) -> Report:
    """The run's report; ``rules`` None: the catalogue is read if a format asks for it (a run that read nothing)."""
    report = Report(__version__, findings, files, rules, options.threshold, options.fail_on_unknown)
    report.notices.extend(notices)
    report.errors = errors
    report.evaluations = evaluations
    report.providers = providers
    report.roots = roots
    report.cwd = str(Path.cwd())
    report.repo_root = str(project_root(Path.cwd()))
    report.settings = display_path(options.settings_file) if options.settings_file else None
    report.base_ref = options.base
    report.since = options.since
    return report


def _one_per_module_call(findings: list[Finding], notices: list[str]) -> list[Finding]:
    """A finding of a rule about module blocks (MOD001) once per block: a module called by several root modules is
    one finding naming the others; and a notice counting them, which says what to do about them all at once."""
    from iaclint.engine.rules import rule_by_id

    kept: list[Finding] = []
    first: dict[tuple, Finding] = {}
    others: dict[tuple, list[str]] = {}
    for finding in findings:
        rule = rule_by_id(finding.rule_id)
        if rule is None or rule.mode != "module":
            kept.append(finding)
            continue
        where = (finding.rule_id, finding.location.file, finding.location.line, finding.location.column)
        if where in first:
            if finding.root and finding.root != first[where].root and finding.root not in others[where]:
                others[where].append(finding.root)
            continue
        first[where] = finding
        others[where] = []
        kept.append(finding)
    roots: set[str] = set()
    for where, finding in first.items():
        roots.add(finding.root)
        roots.update(others[where])
        if others[where]:
            names = others[where]
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            finding.message += (f"; the same for {plural(len(names), 'other root module')} that "
                                f"{'reaches' if len(names) == 1 else 'reach'} it: {shown}")
    unchecked = [f for f in first.values() if f.verdict is not Verdict.PASS]
    if len(unchecked) > 1:
        notices.append(f"{plural(len(unchecked), 'module call')} in {plural(len(roots), 'root module')} are not "
                       "checked because their code has not been downloaded (MOD001): `terraform get` in each root "
                       "module (`terragrunt init` in each Terragrunt unit) makes them checkable, or --ignore MOD001 "
                       "accepts them")
    return kept


def _problem_finding(path: str, why: str, options: LintOptions) -> Finding | None:
    """A path the search for root modules could not read: a PARSE finding, never a silent gap."""
    from iaclint.engine.runner import diagnostic_finding
    from iaclint.graph.model import Diagnostic

    return diagnostic_finding(Diagnostic(path, 1, 1, f"this directory {why}"), options.selection)


def _base_inputs(target: Target, options: LintOptions, loader: ConfigLoader):
    from iaclint.graph.inputs import resolve_workspace
    from iaclint.run.base import BaseInputs

    var_files = target_var_files(target, options, loader)
    if target.base_var_files is not None:  # the settings changed: the base had its own var_files
        var_files = target.base_var_files + list(options.var_files) + target.extra_var_files
    workspace = resolve_workspace(target.path, options.workspace, options.environ, loader.tree,
                                  options.default_workspace, "the settings' workspace")
    return BaseInputs(var_files, list(options.cli_vars), options.environ, options.limits, loader.tree,
                      options.opentofu, workspace)


def _notice(notices: list[str], text: str) -> None:
    if text not in notices:
        notices.append(text)


def _mark_new_findings(findings: list[Finding], graph: Graph, target: Target, options: LintOptions,
                       loader: ConfigLoader, comparisons, rules: list[Rule], notices: list[str]) -> None:
    """Mark each finding new or existing at --since (or --base, for a root a deletion or settings change
    affects as a whole); when git cannot answer, every finding counts as new (a gate fails closed)."""
    from iaclint.run.base import BaseError
    from iaclint.run.since import mark_new_findings

    ref = options.since or options.base
    if not ref:
        return
    try:
        mark_new_findings(findings, graph, target.path, comparisons.of(target.path, ref),
                          _base_inputs(target, options, loader), rules, options.selection)
    except BaseError as exc:
        for f in findings:
            f.base_state = "new"
        _notice(notices, f"{'--since' if options.since else '--base'} {ref}: {exc}; every finding counts as new")


def _locate_at_changed_causes(findings: list[Finding], target: Target, options: LintOptions,
                              comparisons) -> None:
    """A finding whose cause the change wrote is located at the cause (see run/since.py)."""
    from iaclint.run.base import BaseError
    from iaclint.run.since import locate_at_changed_causes

    try:
        locate_at_changed_causes(findings, comparisons.of(target.path, options.since or options.base))
    except BaseError:
        pass  # --base and --since have said why already


def build_target_graph(target: Target, options: LintOptions, loader: ConfigLoader | None = None) -> Graph:
    if target.kind == "plan":
        from iaclint.graph.plan import load_plan_target

        return load_plan_target(target, options)
    from iaclint.graph.hcl import build_hcl_graph
    from iaclint.graph.inputs import collect_inputs, resolve_workspace

    loader = loader or ConfigLoader(options.overlay, make_cache(options.cache), options.tree)
    if is_unit(target.path, loader.tree):
        return build_unit_graph(target, options, loader)
    opentofu, reading = opentofu_reading(target.path, options.opentofu, loader.confinement(target.path))
    workspace = resolve_workspace(target.path, options.workspace, options.environ, loader.tree,
                                  options.default_workspace, "the settings' workspace")
    inputs = collect_inputs(target.path, target_var_files(target, options, loader, opentofu), options.cli_vars,
                            options.environ, options.overlay, loader.tree, workspace)
    graph = build_hcl_graph(target.path, inputs, loader, options.limits, opentofu)
    if reading:
        graph.notices.insert(0, reading)
    return graph


def build_unit_graph(target: Target, options: LintOptions, loader: ConfigLoader) -> Graph:
    """A Terragrunt unit: its terraform source as the root module, its inputs as the variables Terragrunt sets
    (TF_VAR_: below every tfvars file, --var-file and --var; above the environment's own TF_VAR_)."""
    from iaclint.eval.values import OriginKind
    from iaclint.graph.hcl import build_hcl_graph
    from iaclint.graph.inputs import collect_inputs, resolve_workspace
    from iaclint.graph.model import Diagnostic
    from iaclint.graph.terragrunt import UnitSourceSubject, read_unit, unit_code, unit_config

    tree = loader.confinement(target.path)
    unit = read_unit(target.path, loader, tree)
    code = unit_code(unit, tree)
    unit_config(loader, unit, code)  # the unit's root module, kept as its directory's
    workspace = resolve_workspace(target.path, options.workspace, options.environ, loader.tree,
                                  options.default_workspace, "the settings' workspace")
    inputs = collect_inputs(target.path, target_var_files(target, options, loader), options.cli_vars,
                            options.environ, options.overlay, loader.tree, workspace)
    for name, value in unit.inputs.items():
        earlier = inputs.values.get(name)
        if earlier is None or getattr(earlier.origin, "kind", None) is OriginKind.ENV_VAR:
            inputs.values[name] = value
    inputs.from_terragrunt = set(unit.inputs)
    inputs.unset_reason = unit.inputs_unknown
    graph = build_hcl_graph(target.path, inputs, loader, options.limits, work_dir=code.work_dir)
    graph.diagnostics.extend(unit.diagnostics)
    graph.files_checked[:0] = unit.files
    if code.problem and unit.source_node is not None:
        source = loader.sources.get(unit.source_file.shown)
        line, col = source.line_col(unit.source_node[0].start) if source else (1, 1)
        graph.diagnostics.append(Diagnostic(unit.source_file.shown, line, col, code.problem, rule_id="CONFIG"))
    if code.unchecked:
        graph.module_calls.append(UnitSourceSubject(unit, code.unchecked))
    for call in graph.module_calls:
        call.download_command = "`terragrunt init`"
    if unit.source is None and not terraform_files(target.path):
        graph.notices.append(f"{display_path(target.path)}: {unit.file.shown} has no terraform source and the "
                             "directory no .tf files: nothing to check")
    return graph


def target_var_files(target: Target, options: LintOptions, loader: ConfigLoader,
                     opentofu: bool = False) -> list[str]:
    """The variables files a root is checked with, in the order they apply (after its auto-loaded ones)."""
    shared = [f for f in options.shared_var_files if _declares_any(loader, target.path, f, opentofu)]
    return shared + list(options.var_files) + target.extra_var_files


def _declares_any(loader: ConfigLoader, root: Path, var_file: str, opentofu: bool = False) -> bool:
    """Does the root declare a variable the file sets? Settings var_files apply to the roots that use them."""
    import re

    declared = loader.module(root, opentofu=opentofu).variables
    names = re.findall(r"(?m)^\s*([A-Za-z_][\w-]*)\s*=", _read_text(var_file))
    if var_file.endswith(".json"):
        names = re.findall(r'"([A-Za-z_][\w-]*)"\s*:', _read_text(var_file))
    return not names or any(n in declared for n in names)


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
