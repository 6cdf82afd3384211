"""Machine output, validated in tests against schema/report.schema.json."""

from __future__ import annotations


from iaclint.formatters import diff_of
from iaclint.formatters.jsontext import Streamed, document_chunks
from iaclint.model import Finding, Report

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Iterator


def location_dict(loc) -> dict[str, Any]:
    return {"file": loc.file, "line": loc.line, "column": loc.column, "end_line": loc.end_line,
            "end_column": loc.end_column}


def fix_dict(f: Finding, diffs: dict | None = None) -> dict[str, Any] | None:
    """``diffs``: the diffs made so far in this report, by edits: the instances of one block often share a fix."""
    if f.fix is None:
        return None
    fix = f.fix
    return {
        "title": fix.title,
        "applicability": fix.applicability.value,
        "note": fix.note,
        "edits": [{"file": e.file, "start": e.start, "end": e.end, "replacement": e.replacement,
                   "start_line": e.start_location[0], "start_column": e.start_location[1],
                   "end_line": e.end_location[0], "end_column": e.end_location[1]} for e in fix.edits],
        "diff": fix.diff if diffs is None else diff_of(fix, diffs),
    }


def finding_dict(f: Finding, diffs: dict | None = None) -> dict[str, Any]:
    loc = f.location
    return {
        "rule_id": f.rule_id,
        "rule_name": f.rule_name,
        "severity": f.severity.value,
        "verdict": f.verdict.value,
        "address": f.address,
        "root": f.root or None,
        "resource_type": f.resource_type,
        "file": loc.file,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line,
        "end_column": loc.end_column,
        "message": f.message,
        "origin": f.origin_info(),
        "related": [{"message": r.message, **location_dict(r.location)} for r in f.related],
        "fingerprint": f.fingerprint,
        "suppression": None if f.suppression is None else {
            "kind": f.suppression.kind,
            "justification": f.suppression.justification,
            "expires": f.suppression.expires,
            "location": location_dict(f.suppression.location) if f.suppression.location else None,
        },
        "baseline": f.baseline_state,
        "base_state": f.base_state,
        "fix": fix_dict(f, diffs),
        "no_fix_reason": f.no_fix_reason or None,
    }


def report_dict(report: Report, streamed: bool = False) -> dict[str, Any]:
    """The report as data; ``streamed``: its findings made one at a time as the text is written (render_chunks)."""
    diffs: dict = {}
    return {
        "tool": {"name": "iaclint", "version": report.tool_version},
        "findings": Streamed(report.findings, lambda f: finding_dict(f, diffs)) if streamed else
        [finding_dict(f, diffs) for f in report.findings],
        "notices": list(report.notices),
        "fixed_baseline_entries": report.fixed_baseline_entries,
        "files": report.files_checked,
        "providers": report.providers,
        "roots": report.roots,
        "settings": report.settings,
        "summary": report.summary(),
    }


def render_chunks(report: Report) -> Iterator[str]:
    """The report's text in pieces (what json.dumps(report_dict(report), indent=2) writes), never whole in memory."""
    return document_chunks(report_dict(report, streamed=True))


def render(report: Report) -> str:
    return "".join(render_chunks(report))
