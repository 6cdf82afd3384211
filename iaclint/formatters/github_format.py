"""GitHub Actions workflow commands: one annotation per finding on the line it concerns.

Messages escape %, CR and LF; properties (file, title) also escape ':' and ',', as GitHub requires.
Suppressed and baselined findings are not annotated.
"""

from __future__ import annotations

from iaclint.formatters import PathsOnce
from iaclint.model import Finding, Report, Severity, Verdict

COMMAND = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "notice",
           Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _in_root(f: Finding, report: Report) -> str:
    """A module checked through several roots is annotated once per root: say which."""
    return f" in {f.root}" if f.root and len(report.roots) > 1 else ""


def annotation(f: Finding, report: Report) -> str:
    loc = f.location
    command = "notice" if f.verdict is Verdict.UNKNOWN else COMMAND[f.severity]
    title = f"{f.rule_id} {f.rule_name}" + (" (unknown)" if f.verdict is Verdict.UNKNOWN else "")
    props = [f"file={escape_property(report.repo_path(loc.file))}", f"line={loc.line}", f"endLine={max(loc.end_line, loc.line)}",
             f"col={loc.column}"]
    if loc.end_line == loc.line and loc.end_column > loc.column:
        props.append(f"endColumn={loc.end_column}")
    props.append(f"title={escape_property(title)}")
    message = f.message + (f" ({f.address}{_in_root(f, report)})" if f.address else "")
    if f.fix is not None:
        message += f"\n{f.fix_marker} {f.fix.title}"
    return f"::{command} {','.join(props)}::{escape_data(message)}"


def render(report: Report) -> str:
    report = PathsOnce(report)
    lines = [annotation(f, report) for f in report.findings if f.suppression is None and f.baseline_state != "baselined"]
    for notice in report.notices:
        lines.append(f"::notice title=iaclint::{escape_data(notice)}")
    return "\n".join(lines) + ("\n" if lines else "")
