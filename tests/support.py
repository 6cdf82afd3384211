"""Shared test helpers: run iaclint in-process and read fixture annotations."""

from __future__ import annotations

import re
import shutil
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
        if not path.name.endswith((".tf", ".tfvars")):
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
