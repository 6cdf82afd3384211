"""Shared test helpers: run iaclint in-process and read fixture annotations."""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from iaclint.run.lint import LintOptions, lint
from iaclint.engine.runner import RuleSelection
from iaclint.model import Report

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RULE_FIXTURES = FIXTURES / "rules"

_EXPECT = re.compile(r"(?:#|//)\s*expect(-unknown)?:\s*([A-Z0-9]+(?:\s*,\s*[A-Z0-9]+)*)")


def options(**kwargs) -> LintOptions:
    kwargs.setdefault("environ", {})
    return LintOptions(**kwargs)


def run(paths, select: set[str] | None = None, **kwargs) -> Report:
    opts = options(**kwargs)
    if select is not None:
        opts.selection = RuleSelection(select=select)
    return lint([str(p) for p in paths], opts).report


@dataclass(frozen=True)
class Case:
    rule_id: str
    path: Path  # a .tf file or a module directory

    @property
    def name(self) -> str:
        return f"{self.rule_id}/{self.path.name}"

    @property
    def is_dir(self) -> bool:
        return self.path.is_dir()

    @property
    def is_plan(self) -> bool:
        """A directory holding plan.json (and usually the configuration it was planned from)."""
        return self.is_dir and (self.path / "plan.json").is_file()

    def target(self, copy: Path) -> Path:
        """What to pass to iaclint for the copied case: the plan, or the module directory."""
        return copy / "plan.json" if self.is_plan else copy

    @property
    def fixed_path(self) -> Path | None:
        if self.is_dir:
            candidate = self.path.with_name(self.path.name + ".fixed")
        else:
            candidate = self.path.with_name(self.path.name[: -len(".tf")] + ".fixed.tf")
        return candidate if candidate.exists() else None

    def copy_to(self, target: Path) -> Path:
        """A module directory holding only this case."""
        if self.is_dir:
            shutil.copytree(self.path, target)
        else:
            target.mkdir(parents=True)
            shutil.copy2(self.path, target / self.path.name)
        return target


def rule_cases(rule_id: str) -> list[Case]:
    folder = RULE_FIXTURES / rule_id
    cases = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.name.endswith(".fixed"):
            cases.append(Case(rule_id, entry))
        elif entry.is_file() and entry.name.endswith(".tf") and not entry.name.endswith(".fixed.tf"):
            cases.append(Case(rule_id, entry))
    return cases


def expectations(root: Path, rule_id: str) -> set[tuple[str, int, str]]:
    """(file relative to root, line, verdict) for every `# expect:` naming rule_id."""
    out: set[tuple[str, int, str]] = set()
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        if not path.name.endswith((".tf", ".tfvars", ".tofu", ".hcl")):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        rel = path.name if root.is_file() else str(path.relative_to(root))
        for index, line in enumerate(lines):
            match = _EXPECT.search(line)
            if not match:
                continue
            ids = {x.strip() for x in match.group(2).split(",")}
            if rule_id not in ids:
                continue
            verdict = "unknown" if match.group(1) else "fail"
            target = index
            if line.strip().startswith(("#", "//")):
                target = index + 1
                while target < len(lines) and (not lines[target].strip() or lines[target].strip().startswith(("#", "//"))):
                    target += 1
            out.add((rel, target + 1, verdict))
    return out


def plan_expectations(root: Path, rule_id: str) -> set[tuple[str, str, str]]:
    """Findings located in plan.json, listed in expect.txt as `RULE VERDICT ADDRESS`."""
    path = root / "expect.txt"
    out = set()
    if root.is_dir() and path.is_file():
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                rule, verdict, address = line.split(maxsplit=2)
                if rule == rule_id:
                    out.add(("plan.json", address, verdict))
    return out


def found(report: Report, root: Path, rule_id: str) -> set[tuple]:
    """(file, line, verdict) for findings in source files; ("plan.json", address, verdict) in plans."""
    out = set()
    base = root.resolve()
    for f in report.findings:
        if f.rule_id != rule_id:
            continue
        rel = str(Path(f.location.file).resolve().relative_to(base))
        if rel.endswith(".json"):
            out.add((rel, f.address, f.verdict.value))
        else:
            out.add((rel, f.location.line, f.verdict.value))
    return out


# ---- running as a user without root's privileges ---------------------------------------------

NOBODY = 65534


@dataclass
class Outcome:
    """What a command-line run gave: exit code and output."""

    returncode: int
    stdout: str
    stderr: str


def run_unprivileged(args: list[str], cwd: Path) -> Outcome:
    """The iaclint command line run as an ordinary user, so that file permissions apply.

    The tests run as root here, for whom every file is readable and writable, so a test about an
    unreadable directory would pass whatever iaclint does. Run as root, this forks a child that drops
    to nobody (uid and gid 65534, no groups) and runs the command line in-process: the interpreter may
    live where nobody cannot read it (a pyenv under /root), so the child imports nothing new; the
    parent imports what a run needs first (`_warm_up`). Run as another user, it runs in-process.
    """
    import io
    import tempfile

    from iaclint.cli import app

    if os.geteuid() != 0:
        return _in_process(app, args, cwd)
    _warm_up(app)
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            os.chdir(cwd)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8")
            try:
                app(args, prog_name="iaclint")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # noqa: BLE001 - reported to the parent through stderr
            sys.stderr.write(f"test harness: {type(exc).__name__}: {exc}\n")
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001
                    pass
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    out.seek(0)
    err.seek(0)
    return Outcome(os.waitstatus_to_exitcode(status), out.read().decode("utf-8", "replace"),
                   err.read().decode("utf-8", "replace"))


def _in_process(app, args: list[str], cwd: Path) -> Outcome:
    from typer.testing import CliRunner

    here = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, args)
    finally:
        os.chdir(here)
    return Outcome(result.exit_code, result.stdout, result.stderr)


_WARM: list[bool] = []


def _warm_up(app) -> None:
    """Import, as root, every module a check or a fix imports lazily (a nobody child could not read them)."""
    if _WARM:
        return
    import contextlib
    import ctypes  # noqa: F401 - the exchange of two names when a fix is written
    import io
    import tempfile
    import tomllib  # noqa: F401 - settings files

    from iaclint import source

    source._renameat2()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / ".iaclint.toml").write_text('ignore = ["KMS003"]\n')
        (root / "main.tf").write_text('resource "aws_neptune_cluster" "c" {\n  cluster_identifier = "c"\n}\n')
        (root / "terraform.tfvars").write_text('x = 1\n')
        (root / "variables.tf").write_text('variable "x" {}\n')
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for args in (["check", "--no-cache", "--diff", str(root)], ["check", "--no-cache", str(root)],
                         ["check", "--no-cache", "-f", "json", "-f", f"sarif:{root}/r.sarif", str(root)],
                         ["fix", "--no-cache", "--unsafe-fixes", str(root)]):
                try:
                    app(args, prog_name="iaclint")
                except SystemExit:
                    pass
    _WARM.append(True)
