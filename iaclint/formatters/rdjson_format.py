"""Reviewdog Diagnostic Format (rdjson): each finding with its fix as suggestions reviewdog can post.

`reviewdog -f=rdjson -reporter=github-pr-review` turns the suggestions into GitHub "suggested changes"
that a reviewer applies with one click. Columns are UTF-8 byte offsets, as the format requires; paths
are relative to the repository root. A suggestion can only edit the diagnostic's own file, so edits
in other files (a variable default, a tfvars entry) are described in the message instead.
"""

from __future__ import annotations

from typing import Any

from iaclint.engine.ruledocs import HOME, help_uri
from iaclint.formatters import PathsOnce
from iaclint.formatters.jsontext import dumps
from iaclint.model import Applicability, Finding, Report, Severity, Verdict

SEVERITY = {Severity.CRITICAL: "ERROR", Severity.HIGH: "ERROR", Severity.MEDIUM: "WARNING", Severity.LOW: "INFO",
            Severity.INFO: "INFO"}
LABEL = {Applicability.SAFE: "fix", Applicability.UNSAFE: "unsafe fix", Applicability.DISPLAY: "suggestion"}


def _byte_column(text: str | None, column: int) -> int:
    if text is None:
        return column
    return len(text[:column - 1].encode("utf-8")) + 1


def _range(f: Finding) -> dict[str, Any]:
    loc = f.location
    end_text = f.source_line if loc.end_line == loc.line else f.end_line_text
    return {"start": {"line": loc.line, "column": _byte_column(f.source_line, loc.column)},
            "end": {"line": loc.end_line, "column": _byte_column(end_text, loc.end_column)}}


def _code(rule_id: str) -> dict[str, str]:
    url = help_uri(rule_id)
    return {"value": rule_id, "url": url} if url else {"value": rule_id}


def diagnostic(f: Finding, report: Report) -> dict[str, Any]:
    root = f" in {f.root}" if f.root and len(report.roots) > 1 else ""
    message = f.message + (f" ({f.address}{root})" if f.address else "")
    new = f"[new since {report.since}] " if f.base_state == "new" and report.since else ""
    data: dict[str, Any] = {
        "message": new + ("Unknown: " if f.verdict is Verdict.UNKNOWN else "") + message,
        "location": {"path": report.repo_path(f.location.file), "range": _range(f)},
        "severity": "INFO" if f.verdict is Verdict.UNKNOWN else SEVERITY[f.severity],
        "code": _code(f.rule_id),
    }
    if f.related:
        data["related_locations"] = [
            {"message": r.message, "location": {"path": report.repo_path(r.location.file),
                                                 "range": {"start": {"line": r.location.line}}}}
            for r in f.related]
    fix = f.fix
    if fix is not None:
        own = [e for e in fix.edits if e.file == f.location.file]
        elsewhere = sorted({e.file for e in fix.edits if e.file != f.location.file})
        data["message"] += f"\n\n{LABEL[fix.applicability]}: {fix.title}" + (f" ({fix.note})" if fix.note else "")
        if elsewhere:
            data["message"] += "\nalso edits: " + ", ".join(report.repo_path(x) for x in elsewhere)
        if own and not elsewhere and fix.applicability is not Applicability.DISPLAY:
            data["suggestions"] = [
                {"range": {"start": {"line": e.start_utf8[0], "column": e.start_utf8[1]},
                           "end": {"line": e.end_utf8[0], "column": e.end_utf8[1]}},
                 "text": e.replacement}
                for e in sorted(own, key=lambda e: e.start)]
    return data


def render(report: Report) -> str:
    report = PathsOnce(report)
    findings = [f for f in report.findings if f.suppression is None and f.baseline_state != "baselined"]
    document = {"source": {"name": "iaclint", "url": HOME},
                "diagnostics": [diagnostic(f, report) for f in findings]}
    return dumps(document) + "\n"
