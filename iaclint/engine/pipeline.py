"""The whole check: lint, attach fixes, then suppressions and the baseline."""

from __future__ import annotations

from iaclint.engine.lint import LintOptions, LintRun, lint
from iaclint.fixes.builder import attach_fixes
from iaclint.model import Report


def run_check(paths: list[str], options: LintOptions) -> LintRun:
    run = lint(paths, options)
    attach_fixes(run.report.findings)
    return run


def check_paths(paths: list[str], options: LintOptions, baseline: str | None = None,
                write_baseline: str | None = None) -> Report:
    return run_check(paths, options).report
