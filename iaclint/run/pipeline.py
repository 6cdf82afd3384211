"""The whole check: lint, attach fixes, suppressions, exclusions, then the baseline."""

from __future__ import annotations

from iaclint.errors import UsageError
from iaclint.model import plural

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up

if TYPE_CHECKING:
    from iaclint.model import Finding, Report
    from iaclint.run.lint import LintOptions, LintRun


def run_check(paths: list[str], options: LintOptions) -> LintRun:
    """Findings with their fixes and suppressions: what `check` reports and `fix` works from."""
    from iaclint.run.lint import lint

    run = lint(paths, options)
    report = run.report
    kept_comments = run.results is not None and run.results.comment_findings
    if not run.graphs and not kept_comments:  # nothing read (an empty folder, every root kept): nothing to fix,
        return _without_excluded(run, options)  # and kept findings carry their fixes and suppressions already
    from iaclint.engine.suppressions import apply_suppressions
    from iaclint.fixes.builder import attach_fixes
    from iaclint.run.results import merge_comment_findings

    attach_fixes(report.findings)
    if options.inline_suppressions:
        about_comments = merge_comment_findings(apply_suppressions(report.findings, run.graphs), run.graphs,
                                                run.results)
        scope = _file_scope(run)
        report.findings.extend(f for f in about_comments if scope is None or f.location.file in scope)
        report.findings.sort(key=lambda f: (f.location.file, f.location.line, f.location.column, f.rule_id,
                                            f.address))
    return _without_excluded(run, options)


def _without_excluded(run: LintRun, options: LintOptions) -> LintRun:
    if options.exclude:
        run.report.findings = [f for f in run.report.findings if not _excluded(f, options)]
    return run


def _file_scope(run: LintRun) -> set[str] | None:
    """The files a file-level run (pre-commit) reports on; None when whole modules were asked for."""
    scope: set[str] = set()
    for target in run.targets:
        if target.only_files is None:
            return None
        scope |= target.only_files
    return scope


def _excluded(finding: Finding, options: LintOptions) -> bool:
    import fnmatch
    from pathlib import Path

    path = Path(finding.location.file)
    candidates = {path.as_posix()}
    if options.settings_dir is not None:
        try:
            candidates.add(path.resolve().relative_to(Path(options.settings_dir).resolve()).as_posix())
        except ValueError:
            pass
    return any(fnmatch.fnmatch(c, pattern) for c in candidates for pattern in options.exclude)


def check_paths(paths: list[str], options: LintOptions, baseline: str | None = None,
                write_baseline_to: str | None = None) -> Report:
    report = run_check(paths, options).report
    if not (write_baseline_to or baseline):
        return _new_only(report, options)
    from iaclint.run.baseline import BaselineError, apply_baseline, write_baseline

    try:
        if write_baseline_to:
            count = write_baseline(write_baseline_to, report)
            report.notices.append(f"wrote {plural(count, 'finding')} to the baseline {write_baseline_to}")
            apply_baseline(write_baseline_to, report)
        elif baseline:
            apply_baseline(baseline, report)
    except BaselineError as exc:
        raise UsageError(str(exc)) from None
    return _new_only(report, options)


def _new_only(report: Report, options: LintOptions) -> Report:
    """--new-only: the findings that were there at --since are counted, not shown."""
    if options.new_only:
        report.existing_hidden = sum(f.base_state == "existing" for f in report.findings)
        report.findings = [f for f in report.findings if f.base_state != "existing"]
    return report
