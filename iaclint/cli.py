"""Command line: parse arguments, call the engine, pick formatters. No logic of its own.

Every parameter is declared once, as plain data (the Param tables below). typer's commands are built from
those tables when typer is needed: help, shell completion, a mistake in the arguments, and every command
but `check` and `fix`. A `check` or `fix` whose arguments read plainly (`read_plainly`) runs without
importing typer, which cost more than checking an empty folder; anything unusual in them is left to typer,
so help, errors and their messages are typer's own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from iaclint import __version__
from iaclint.errors import RuleError, UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING: typing is imported only where typer needs it
if TYPE_CHECKING:
    from typing import Callable, Optional

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
APP_HELP = "iaclint: check Terraform configurations and plans for encryption at rest on AWS."
HELP_NAMES = ("-h", "--help")


def _echo(message: str, err: bool = False) -> None:
    """Print a line as typer.echo (click.echo) does: ANSI codes removed unless the stream is a terminal,
    then flushed. A stream click would wrap (no or an ASCII encoding, not a text file) is left to click."""
    stream = sys.stderr if err else sys.stdout
    if not _plain_text_stream(stream):
        from typer import echo

        echo(message, err=err)
        return
    text = f"{message}\n"
    if not stream.isatty():
        import re

        text = re.sub(r"\033\[[;?0-9]*[a-zA-Z]", "", text)
    stream.write(text)
    stream.flush()


def _plain_text_stream(stream) -> bool:
    import codecs
    import io

    encoding = getattr(stream, "encoding", None)
    if not isinstance(stream, io.TextIOWrapper) or not encoding or getattr(stream, "errors", None) is None:
        return False
    try:
        return codecs.lookup(encoding).name != "ascii"
    except LookupError:
        return False


def _fail_usage(message: str) -> None:
    _echo(f"iaclint: error: {message}", err=True)
    raise SystemExit(EXIT_USAGE)


def _complete_rules(incomplete: str) -> list[str]:
    """Rule ids and names for shell completion (runs only when the shell asks)."""
    from iaclint.engine.rules import all_rules

    wanted = incomplete.lower()
    return [key for rule in all_rules() for key in (rule.id, rule.name) if key.lower().startswith(wanted)]


class Param:
    """One parameter of a command, declared once: typer's Option or Argument is made from it (`for_typer`),
    and `read_plainly` reads argv by the same names.

    kind: "flag" (bool, every name sets it), "switch" (bool or None: the first name sets it, the second
    clears it), "text" (one string, the last given wins), "texts" (repeatable: a list), "int" (at least
    `minimum`), "paths" (the positional [PATH]...), "rule" (one required positional).
    """

    __slots__ = ("name", "kind", "names", "default", "help", "metavar", "show_default", "minimum",
                 "completes_rules")

    def __init__(self, name: str, kind: str, names: tuple[str, ...] = (), default=None, help: str = "",
                 metavar: Optional[str] = None, show_default: bool = True, minimum: Optional[int] = None,
                 completes_rules: bool = False):
        self.name = name
        self.kind = kind
        self.names = names
        self.default = default
        self.help = help
        self.metavar = metavar
        self.show_default = show_default
        self.minimum = minimum
        self.completes_rules = completes_rules

    def like(self, name: str) -> "Param":
        """The same declaration under another Python name."""
        return Param(name, self.kind, self.names, self.default, self.help, self.metavar, self.show_default,
                     self.minimum, self.completes_rules)

    def annotation(self):
        from typing import List, Optional

        if self.kind in ("texts", "paths"):
            return List[str]
        base = {"flag": bool, "switch": bool, "text": str, "int": int, "rule": str}[self.kind]
        return Optional[base] if self.default is None and self.kind in ("switch", "text") else base

    def for_typer(self):
        """The typer.Option or typer.Argument this parameter is."""
        import typer

        extra: dict = {}
        if self.metavar is not None:
            extra["metavar"] = self.metavar
        if self.completes_rules:
            extra["autocompletion"] = _complete_rules
        if not self.show_default:
            extra["show_default"] = False
        if self.minimum is not None:
            extra["min"] = self.minimum
        if self.kind == "paths":
            return typer.Argument(None, help=self.help, **extra)
        if self.kind == "rule":
            return typer.Argument(..., help=self.help, **extra)
        names = ("/".join(self.names),) if self.kind == "switch" else self.names
        default = list(self.default) if self.kind == "texts" else self.default
        return typer.Option(default, *names, help=self.help, **extra)


PATHS = Param("paths", "paths", metavar="[PATH]...", show_default=False,
              help="Directories (searched for root modules), .tf/.tfvars files, plan JSON files, or - for stdin. "
                   "Default: the current directory.")
RULES_DIR = Param("rules_dir", "texts", ("--rules-dir",), (), metavar="DIR",
                  help="A folder of your own YAML rules, added to the bundled ones (see docs/writing-rules.md). "
                       "Repeatable.")
RECURSIVE = Param("recursive", "switch", ("--recursive", "--no-recursive"), True,
                  help="Search directories for root modules (default), or check each as one root module.")
COLOR = Param("color", "switch", ("--color", "--no-color"), None, show_default=False,
              help="Colour the text output (default: on a terminal, unless NO_COLOR is set).")
QUIET = Param("quiet", "flag", ("--quiet", "-q"), False, help="Only the findings that fail the run; no notices.")
COMPACT = Param("compact", "flag", ("--compact",), False, help="One line per finding.")
SOFT_FAIL = Param("soft_fail", "flag", ("--soft-fail",), False,
                  help="Exit 0 even when findings fail (usage errors still exit 2).")
JOBS = Param("jobs", "int", ("--jobs", "-j"), 1, metavar="N", minimum=0,
             help="Processes that parse uncached files (default 1: serial; 0: one per CPU).")
NO_CACHE = Param("no_cache", "flag", ("--no-cache",), False,
                 help="Parse every file again instead of using the parse cache ($XDG_CACHE_HOME/iaclint).")
BASE = Param("base", "text", ("--base",), None, metavar="REF",
             help="Git revision to compare with: resources added since it were never applied, so fixes that "
                  "replace them are safe.")
SINCE = Param("since", "text", ("--since",), None, metavar="REF",
              help="Git revision to compare findings with: each is marked new or already there (same rule, root, "
                   "resource and cause); also the --base when that is not given.")
STAGED = Param("staged", "flag", ("--staged",), False,
               help="The paths are a commit's changed files (what pre-commit passes): staged deletions are found "
                    "with git, and files read by file(), lock and settings files map to the roots they affect.")
NEW_ONLY = Param("new_only", "flag", ("--new-only",), False,
                 help="Report only the findings that were not there at --since (or --base): gate a pull request "
                      "on what it introduces.")
SKIP_PATH = Param("skip_path", "texts", ("--skip-path",), (), metavar="GLOB",
                  help="Directory glob not searched for root modules. Repeatable.")
FORMATS = Param("format", "texts", ("--format", "-f"), ("text",), metavar="FORMAT[:FILE]",
                help="text, json, sarif, github, junit, markdown or rdjson; FORMAT:FILE writes to a file "
                     "(FORMAT:- to standard output, which one format at most may use). Repeatable.")
VAR_FILE = Param("var_file", "texts", ("--var-file",), (), metavar="FILE",
                 help="A variables file, as with terraform -var-file. Repeatable.")
VAR = Param("var", "texts", ("--var",), (), metavar="NAME=VALUE",
            help="NAME=VALUE, as with terraform -var. Repeatable.")
THRESHOLD = Param("severity_threshold", "text", ("--severity-threshold",), None, metavar="LEVEL",
                  help="Lowest severity that fails the run: info, low (default), medium, high, critical.")
UNKNOWN = Param("fail_on_unknown", "switch", ("--fail-on-unknown", "--no-fail-on-unknown"), None,
                help="Count unknown verdicts as failures.")
SELECT = Param("select", "texts", ("--select",), (), metavar="RULE", completes_rules=True,
               help="Only these rules (ids or names). Repeatable, or comma-separated.")
IGNORE = Param("ignore", "texts", ("--ignore",), (), metavar="RULE", completes_rules=True,
               help="Skip these rules (ids or names). Repeatable, or comma-separated.")
CONFIG_DIR = Param("config_dir", "text", ("--config-dir",), None, metavar="DIR",
                   help="For plans: the configuration directory, to report .tf lines.")
BASELINE = Param("baseline", "text", ("--baseline",), None, metavar="FILE",
                 help="Fail only on findings not recorded in this baseline file.")
WRITE_BASELINE = Param("write_baseline", "text", ("--write-baseline",), None, metavar="FILE",
                       help="Record the current findings in this file.")
NO_INLINE = Param("no_inline_suppressions", "flag", ("--no-inline-suppressions",), False,
                  help="Ignore suppression comments (for audits).")
CONFIG = Param("config", "text", ("--config",), None, metavar="FILE",
               help="Settings file (default: .iaclint.toml or pyproject.toml, searched upwards to the git top "
                    "level).")
WORKSPACE = Param("workspace", "text", ("--workspace",), None, metavar="NAME",
                  help="The workspace terraform.workspace is (default: TF_WORKSPACE, else .terraform/environment, "
                       "else the settings' workspace, else \"default\").")
OPENTOFU = Param("opentofu", "switch", ("--opentofu", "--terraform"), None, show_default=False,
                 help="Read configurations as OpenTofu does (.tofu files replace the .tf files of the same name) "
                      "or as Terraform does (default: OpenTofu for roots with only .tofu files or a lock file of "
                      "OpenTofu's registry).")
LIMIT = Param("limit", "texts", ("--limit",), (), metavar="NAME=N",
              help="NAME=N: raise or lower an evaluation limit (instances, module_depth, module_instances, "
                   "collection, string, steps, file_size). Repeatable.")
CHECK_DIFF = Param("diff", "flag", ("--diff",), False,
                   help="Print the suggested fixes as unified diffs; write nothing.")
FIX_DIFF = Param("diff", "flag", ("--diff",), False, help="Show what would change; write nothing.")
UNSAFE_FIXES = Param("unsafe_fixes", "flag", ("--unsafe-fixes",), False,
                     help="Also apply fixes that replace existing resources.")
RULES_FORMAT = Param("format", "text", ("--format", "-f"), "text", metavar="FORMAT", help="text or json")
RULE = Param("rule", "rule", metavar="RULE", completes_rules=True,
             help="Rule id (NEP001), name (neptune-cluster-encrypted) or a peer tool's id (CKV_AWS_44).")

def _split(values: list[str]) -> set[str]:
    out: set[str] = set()
    for v in values:
        out.update(x.strip() for x in v.split(",") if x.strip())
    return out


def _options(paths: list[str], var_file: list[str], var: list[str], threshold: Optional[str],
             fail_on_unknown: Optional[bool], select: list[str], ignore: list[str], config_dir: Optional[str],
             config_file: Optional[str], no_inline: bool, recursive: bool = True, skip_path: list[str] = (),
             base: Optional[str] = None, no_cache: bool = False, jobs: int = 1, limits: list[str] = (), rules_dir: list[str] = (),
             workspace: Optional[str] = None, opentofu: Optional[bool] = None):
    from iaclint.model import RuleSelection, Severity
    from iaclint.run.lint import LintOptions

    settings = _load_rules_and_settings(paths, config_file, rules_dir)
    for f in var_file:
        if not Path(f).is_file():
            raise UsageError(f"--var-file {f}: no such file")
    for v in var:
        if "=" not in v or not v.split("=", 1)[0].strip():
            raise UsageError(f"--var must look like NAME=VALUE, got {v!r}")
    try:
        level = Severity.parse(threshold) if threshold else settings.severity_threshold
    except ValueError as exc:
        raise UsageError(f"--severity-threshold: {exc}") from None
    selection = RuleSelection(
        select=_rule_ids(_split(select), "--select") or settings.select,
        ignore=_rule_ids(_split(ignore), "--ignore") | settings.ignore,
        severity=settings.severity,
    )
    options = LintOptions(
        var_files=list(var_file),
        shared_var_files=list(settings.var_files),
        cli_vars=list(var),
        selection=selection,
        threshold=level,
        fail_on_unknown=settings.fail_on_unknown if fail_on_unknown is None else fail_on_unknown,
        config_dir=config_dir,
    )
    options.inline_suppressions = not no_inline
    options.exclude = settings.exclude
    options.settings_dir = str(settings.base_dir) if settings.base_dir else None
    options.settings_file = settings.path
    options.recursive = recursive
    options.skip_paths = list(skip_path)
    options.base = base
    options.cache = not no_cache
    options.jobs = jobs
    options.limits = _limits(settings.limits, limits)
    options.workspace = workspace
    options.default_workspace = settings.workspace
    options.opentofu = settings.opentofu if opentofu is None else opentofu
    return options


def _rule_ids(keys: set[str], where: str) -> set[str]:
    """The rule ids of --select or --ignore; the catalogue is read only when they name rules."""
    if not keys:
        return set()
    from iaclint.engine.rules import rule_ids

    return rule_ids(keys, where)


def _limits(base, given: list[str]):
    """The settings' limits with --limit NAME=N applied."""
    values = {}
    for item in given:
        name, sep, number = item.partition("=")
        if not sep:
            raise UsageError(f"--limit must look like NAME=N, got {item!r}")
        values[name.strip()] = number.strip()
    try:
        return base.with_values(values, "--limit")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _load_rules_and_settings(paths: list[str], config_file: Optional[str], rules_dir: list[str]):
    """The user's rule folders (--rules-dir, then the settings' `rules`), loaded before the settings' select,
    ignore and severity are read, since those may name them."""
    from iaclint.run.settings import load_settings

    if rules_dir or "iaclint.engine.rules" in sys.modules:  # folders to load, or an earlier run's to forget
        from iaclint.engine.rules import use_rule_folders

        use_rule_folders([Path(d) for d in rules_dir])
    return load_settings(paths, config_file)


def _outputs(formats: list[str]) -> list[tuple[str, Optional[str]]]:
    """(format, file) pairs; file None is standard output, which at most one format may use."""
    from iaclint.formatters import FORMATS

    out = []
    for item in formats:
        name, _, target = item.partition(":")
        if name not in FORMATS:
            raise UsageError(f"--format {item}: unknown format (one of: {', '.join(FORMATS)})")
        target = None if target in ("", "-") else target
        if target is not None and Path(target).is_dir():
            raise UsageError(f"--format {item}: {target} is a directory; give a file name")
        out.append((name, target))
    to_stdout = [name for name, target in out if target is None]
    if len(to_stdout) > 1:
        raise UsageError(f"--format: {' and '.join(to_stdout)} would both write to standard output; give all but "
                         "one a file, as in --format sarif:iaclint.sarif")
    return out


def _emit(report, outputs: list[tuple[str, Optional[str]]], style: dict | None = None) -> None:
    from iaclint.formatters import render, render_chunks
    from iaclint.source import write_atomic

    for name, target in outputs:
        if target is None:
            for chunk in render_chunks(name, report, **(style or {})):
                sys.stdout.write(chunk)
            continue
        text = render(name, report, **{k: v for k, v in (style or {}).items() if k != "color"})
        try:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, text.encode("utf-8"))
        except OSError as exc:
            raise UsageError(f"--format {name}:{target}: cannot write: {exc.strerror or exc}") from None
    sys.stdout.flush()


def _guard(func):
    """Every error becomes a message and an exit code, never a traceback."""

    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (UsageError, RuleError) as exc:
            _fail_usage(str(exc))
        except KeyboardInterrupt:
            _echo("iaclint: interrupted", err=True)
            raise SystemExit(130) from None
        except BrokenPipeError:
            raise SystemExit(EXIT_OK) from None
        except Exception as exc:  # pragma: no cover - last resort
            if os.environ.get("IACLINT_STRICT"):
                raise
            _echo(f"iaclint: internal error: {exc.__class__.__name__}: {exc} "
                  "(please report it with the input that caused it)", err=True)
            raise SystemExit(EXIT_USAGE) from None

    run.__name__ = func.__name__
    run.__doc__ = func.__doc__
    run.__wrapped__ = func
    return run


def check(paths, format, var_file, var, severity_threshold, fail_on_unknown, diff, select, ignore, config_dir,
          baseline, write_baseline, no_inline_suppressions, config, rules_dir, recursive, skip_path, base, since,
          new_only, staged, color, quiet, compact, soft_fail, no_cache, jobs, limit, workspace, opentofu) -> None:
    """Check Terraform directories, files or plans and report findings."""
    style = {"color": _use_color(color), "quiet": quiet, "compact": compact}
    _guard(_check)(paths or ([] if staged else ["."]), format, var_file, var, severity_threshold, fail_on_unknown,
                   diff, select, ignore,
                   config_dir, baseline, write_baseline, no_inline_suppressions, config, recursive, skip_path, base,
                   style, soft_fail, no_cache, jobs, limit, rules_dir, since, new_only, staged,
                   workspace=workspace, opentofu=opentofu)


def _use_color(flag: Optional[bool]) -> bool:
    if flag is not None:
        return flag
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _check(paths, formats, var_file, var, threshold, fail_on_unknown, diff, select, ignore, config_dir,
           baseline, write_baseline, no_inline, config, recursive=True, skip_path=(), base=None, style=None,
           soft_fail=False, no_cache=False, jobs=1, limits=(), rules_dir=(), since=None, new_only=False,
           staged=False, workspace=None, opentofu=None) -> None:
    from iaclint.run.pipeline import check_paths

    if new_only and not (since or base):
        raise UsageError("--new-only needs the revision to compare with: --since REF (or --base REF)")
    options = _options(paths, var_file, var, threshold, fail_on_unknown, select, ignore, config_dir, config,
                       no_inline, recursive, skip_path, base or since, no_cache, jobs, limits, rules_dir, workspace,
                       opentofu)
    options.since = since or (base if new_only else None)
    options.new_only = new_only
    options.staged = staged
    outputs = _outputs(formats)
    options.record_evaluations = any(name == "junit" for name, _ in outputs)
    options.progress = _progress_reporter()
    first = None  # --diff: the check's own run is where fixing starts, unless a baseline or --since changes it
    try:
        if diff and not (baseline or write_baseline or options.since or options.base):
            from iaclint.run.pipeline import run_check

            options.keep_verdicts = True  # what fix verifies its edits against
            options.parsed = {}  # and the syntax trees its lints reuse
            first = run_check(paths, options)
            report = first.report
        else:
            options.reuse_results = True  # nothing after the check needs syntax trees (run/results.py)
            report = check_paths(paths, options, baseline=baseline, write_baseline_to=write_baseline)
    finally:
        options.progress.done()
    if diff:
        from iaclint.run.fix import combined_diff, run_fix

        outcome = run_fix(paths, options, unsafe=True, write=False, first=first)
        sys.stdout.write(combined_diff(report.findings, outcome))
    elif report.errors:
        # exit 2: write no report file, so a CI upload never replaces good results with partial ones
        _emit(report, [(name, None) for name, target in outputs if target is None], style or {})
    else:
        _emit(report, outputs, style or {})
    _exit(report, soft_fail)


class _Progress:
    """'checking 3/12 infra/prod' on a terminal's stderr, once a run has taken more than a second."""

    def __init__(self, enabled: bool):
        import time

        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int, what: str) -> None:
        import time

        if not self.enabled or time.monotonic() - self.started < 1.0:
            return
        sys.stderr.write(f"\r\x1b[Kiaclint: checking {done}/{total} {what}"[:200])
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _progress_reporter() -> _Progress:
    return _Progress(sys.stderr.isatty())


def _exit(report, soft_fail: bool = False) -> None:
    for error in report.errors:
        _echo(f"iaclint: error: {error}", err=True)
    if report.errors:
        raise SystemExit(EXIT_USAGE)
    raise SystemExit(EXIT_FINDINGS if report.failing and not soft_fail else EXIT_OK)


def fix(paths, unsafe_fixes, diff, var_file, var, severity_threshold, fail_on_unknown, select, ignore, config_dir,
        no_inline_suppressions, config, rules_dir, recursive, skip_path, base, no_cache, limit, workspace,
        opentofu) -> None:
    """Apply the fixes for what check finds (safe ones, or also unsafe ones with --unsafe-fixes)."""
    _guard(_fix)(paths or ["."], unsafe_fixes, diff, var_file, var, severity_threshold, fail_on_unknown, select,
                 ignore, config_dir, no_inline_suppressions, config, recursive, skip_path, base, no_cache, limit, rules_dir,
                 workspace=workspace, opentofu=opentofu)


def _fix(paths, unsafe, diff, var_file, var, threshold, fail_on_unknown, select, ignore, config_dir, no_inline,
         config, recursive=True, skip_path=(), base=None, no_cache=False, limits=(), rules_dir=(), workspace=None,
         opentofu=None) -> None:
    from iaclint.run.fix import run_fix

    options = _options(paths, var_file, var, threshold, fail_on_unknown, select, ignore, config_dir, config,
                       no_inline, recursive, skip_path, base, no_cache, 0, limits, rules_dir, workspace, opentofu)
    outcome = run_fix(paths, options, unsafe=unsafe, write=not diff)
    sys.stdout.write(outcome.render(show_diff=diff))
    raise SystemExit(EXIT_FINDINGS if outcome.remaining_failing or outcome.not_written else EXIT_OK)


def list_rules(format, rules_dir, config) -> None:
    """List every rule: id, name, severity, resource types, whether it has a fix."""
    _guard(_rules)(format, rules_dir, config)


def _rules(fmt: str, rules_dir: list[str] = (), config: Optional[str] = None) -> None:
    from iaclint.engine.rules import all_rules

    if fmt not in ("text", "json"):
        raise UsageError("--format for rules is text or json")
    _load_rules_and_settings(["."], config, rules_dir)
    rules = all_rules()
    if fmt == "json":
        import json

        data = [{"id": r.id, "name": r.name, "title": r.title, "service": r.service, "severity": r.severity.value,
                 "resource_types": r.resource_types, "fixable": r.fixable, "references": r.references,
                 **({"file": r.path} if r.user else {})}
                for r in rules]
        _echo(json.dumps(data, indent=2))
        return
    rows = [("ID", "NAME", "SEVERITY", "FIX", "RESOURCE TYPES")]
    groups: dict[str, list] = {}
    for r in rules:
        groups.setdefault(r.service or "iaclint", []).append(r)
    for service, members in groups.items():
        rows.append((f"[{service}]", "", "", "", ""))
        for r in members:
            rows.append((r.id, r.name, r.severity.value, _fix_kind(r), ", ".join(r.resource_types) or "-"))
    widths = [max(len(row[i]) for row in rows if not row[0].startswith("[")) for i in range(4)]
    for row in rows:
        if row[0].startswith("["):
            _echo("\n" + row[0][1:-1])
            continue
        _echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])


def _fix_kind(rule) -> str:
    if not rule.fix:
        return "-"
    if rule.fix.get("display_only") or rule.fix["action"] == "share_copy":
        return "suggestion"
    if rule.fix["action"] == "policy_statement" and rule.fix.get("unsafe_because"):
        return "safe/unsafe"  # a statement added to a key policy is safe; a new key for an AWS managed one is not
    if rule.fix.get("unsafe_because"):
        return "unsafe"
    if rule.fix.get("replaces_resource"):
        return "unsafe" if "in_place_when" not in rule.fix else "safe/unsafe"
    return "safe"


def explain(rule, rules_dir, config) -> None:
    """Show a rule's documentation: what it checks, why, examples, fix safety."""
    _guard(_explain)(rule, rules_dir, config)


def _explain(key: str, rules_dir: list[str] = (), config: Optional[str] = None) -> None:
    from iaclint.engine.rules import find_rules, suggest

    _load_rules_and_settings(["."], config, rules_dir)
    rules = find_rules(key)
    if not rules:
        raise UsageError(f"no rule {key!r}{suggest(key)}; `iaclint rules` lists them")
    _echo("\n\n".join(_explanation(rule) for rule in rules))


def _explanation(rule) -> str:
    from iaclint.engine.ruledocs import help_uri

    out = [f"{rule.id} {rule.name} [{rule.severity.value}]", rule.title, ""]
    docs = rule.docs
    for heading, field_name in (("What it does", "what"), ("Why it matters", "why")):
        if docs.get(field_name):
            out += [heading, "  " + docs[field_name].strip(), ""]
    for heading, field_name in (("Failing example", "failing"), ("Passing example", "passing")):
        if docs.get(field_name):
            out += [heading] + ["  " + line for line in docs[field_name].rstrip().splitlines()] + [""]
    if docs.get("fix_safety"):
        out += ["Fix safety", "  " + docs["fix_safety"].strip(), ""]
    if docs.get("notes"):
        out += ["Notes", "  " + docs["notes"].strip(), ""]
    refs = [f"{k}: {', '.join(v)}" for k, v in rule.references.items() if v]
    if refs:
        out += ["References"] + ["  " + r for r in refs] + [""]
    if rule.user:
        out += [f"Defined in: {rule.path}"]
    uri = help_uri(rule.id)
    if uri:
        out += [f"Documentation: {uri}"]
    return "\n".join(out).rstrip() + "\n"


def lsp() -> None:
    """Run the language server on standard input and output, for editors (pip install 'iaclint[lsp]')."""
    _guard(_lsp)()


def _lsp() -> None:
    from iaclint.lsp import serve

    serve()


CHECK_PARAMS = (PATHS, FORMATS, VAR_FILE, VAR, THRESHOLD, UNKNOWN, CHECK_DIFF, SELECT, IGNORE, CONFIG_DIR, BASELINE,
                WRITE_BASELINE, NO_INLINE, CONFIG, RULES_DIR, RECURSIVE, SKIP_PATH, BASE, SINCE, NEW_ONLY, STAGED,
                COLOR, QUIET, COMPACT, SOFT_FAIL, NO_CACHE, JOBS, LIMIT, WORKSPACE, OPENTOFU)
FIX_PARAMS = (PATHS, UNSAFE_FIXES, FIX_DIFF, VAR_FILE, VAR, THRESHOLD, UNKNOWN, SELECT, IGNORE, CONFIG_DIR, NO_INLINE,
              CONFIG, RULES_DIR, RECURSIVE, SKIP_PATH, BASE, NO_CACHE, LIMIT, WORKSPACE, OPENTOFU)
# command name -> (the function it runs, its parameters in the order --help shows them)
COMMANDS: dict[str, tuple[Callable[..., None], tuple[Param, ...]]] = {
    "check": (check, CHECK_PARAMS),
    "fix": (fix, FIX_PARAMS),
    "rules": (list_rules, (RULES_FORMAT, RULES_DIR, CONFIG)),
    "explain": (explain, (RULE, RULES_DIR, CONFIG)),
    "lsp": (lsp, ()),
}
READ_PLAINLY = ("check", "fix")  # the commands a hook or CI runs: worth reading without typer


def read_plainly(args: list[str]) -> Optional[tuple[Callable[..., None], dict]]:
    """The command and the values typer would call it with, for a `check` or `fix` whose arguments read
    plainly; None when typer must read them: help, shell completion, an unknown option, a missing or bad
    value (typer prints its own help or error), and forms not worth a second reader (`--`, `-qj0`)."""
    if not args or args[0] not in READ_PLAINLY or "_IACLINT_COMPLETE" in os.environ:
        return None
    function, params = COMMANDS[args[0]]
    by_name: dict[str, tuple[Param, bool]] = {}
    for param in params:
        for position, name in enumerate(param.names):
            by_name[name] = (param, param.kind != "switch" or position == 0)
    given: dict = {}
    positional: list[str] = []
    rest = args[1:]
    at = 0
    while at < len(rest):
        arg = rest[at]
        at += 1
        if len(arg) < 2 or arg[0] != "-":  # as click reads it, "-" alone is a path (standard input)
            positional.append(arg)
            continue
        name, equals, value = arg.partition("=")  # click splits every option-like word at its first "="
        if arg == "--" or name in HELP_NAMES or (arg[1] != "-" and len(arg) > 2):
            return None
        if name not in by_name:
            return None
        param, setting = by_name[name]
        if param.kind in ("flag", "switch"):
            if equals:
                return None
            given[param.name] = setting
            continue
        if not equals:
            if at == len(rest):
                return None
            value = rest[at]  # whatever it looks like, as click takes it: --base -h is the revision "-h"
            at += 1
        if param.kind == "texts":
            given.setdefault(param.name, []).append(value)
        else:
            given[param.name] = value
    values: dict = {}
    for param in params:
        value = given.get(param.name, param.default)
        if param.kind == "paths":
            value = positional or None
        elif param.kind == "texts":
            value = list(value)
        elif param.kind == "int" and param.name in given:
            try:
                value = int(value)  # what click's INT accepts: " 4", "+4", "1_0"
            except ValueError:
                return None
            if param.minimum is not None and value < param.minimum:
                return None
        values[param.name] = value
    return function, values


def _typer_command(name: str) -> Callable[..., None]:
    """The function typer reads a command from: its signature made from the Param table; it runs what
    COMMANDS names when it is called."""
    import inspect

    function, params = COMMANDS[name]

    def command(**values) -> None:
        return COMMANDS[name][0](**values)

    command.__name__ = function.__name__
    command.__doc__ = function.__doc__
    command.__signature__ = inspect.Signature([
        inspect.Parameter(param.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=param.for_typer(),
                          annotation=param.annotation())
        for param in params])
    return command


_APP: list = []


def typer_app():
    """The typer application, built on first use from COMMANDS."""
    if _APP:
        return _APP[0]
    import typer

    app = typer.Typer(
        add_completion=True,  # --install-completion, --show-completion: about 0.3 ms more per start
        no_args_is_help=True,
        context_settings={"help_option_names": list(HELP_NAMES)},
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        help=APP_HELP,
    )

    def show_version(value: bool) -> None:
        if value:
            typer.echo(f"iaclint {__version__}")
            raise typer.Exit(EXIT_OK)

    @app.callback()
    def _main(version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True,
                                           help="Show the version and exit.")) -> None:
        """iaclint checks encryption at rest in Terraform before you apply."""

    for name in COMMANDS:
        app.command(name)(_typer_command(name))
    _APP.append(app)
    return app


def __getattr__(name: str):
    if name == "app":  # iaclint.cli.app, as tests and profiles call it
        return typer_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(args: list[str]) -> None:
    """Run the command line on ``args`` (sys.argv[1:]): plainly read when it can be, else by typer."""
    plain = read_plainly(args)
    if plain is None:
        typer_app()(args, prog_name="iaclint")
        return
    function, values = plain
    function(**values)


def main() -> None:
    """Run the CLI on a thread with a deep stack: real configurations nest little, hostile ones a lot,
    and a list 5,000 deep must be read (or reported) like any other, not crash the interpreter. The thread is
    started with _thread: importing the threading module on top of it cost 3 % of checking an empty folder."""
    import _thread

    outcome: dict = {}
    finished = _thread.allocate_lock()
    finished.acquire()

    def run_cli() -> None:
        try:
            run(sys.argv[1:])
        except SystemExit as exc:
            outcome["code"] = exc.code
        except BaseException as exc:  # re-raised on the main thread
            outcome["error"] = exc
        finally:
            finished.release()

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 60_000))
    import gc

    gc.set_threshold(100_000, 50, 100)  # a run allocates millions of tree nodes and frees little: collecting
    # cycles every 700 allocations cost a third of reading the parse cache
    _thread.stack_size(1024 * 1024 * 1024)  # address space only: pages are used as the stack grows
    _thread.start_new_thread(run_cli, ())
    try:
        finished.acquire()
    except KeyboardInterrupt:
        sys.stderr.write("iaclint: interrupted\n")
        sys.exit(130)
    if "error" in outcome:
        raise outcome["error"]
    _exit_now(outcome.get("code", 0))


def _exit_now(code) -> None:
    """End the process without tearing the interpreter down: every report and fixed file is written and
    closed by now, and freeing a run's modules and objects one by one cost a tenth of a small run."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (iaclint check | head): nothing more can be shown
            pass
    os._exit(code)
