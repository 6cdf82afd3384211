"""Human output: one line per finding, grouped by file, then a summary."""

from __future__ import annotations

from iaclint.model import Applicability, Finding, Report, Verdict

def finding_line(f: Finding, with_file: bool = True, show_root: bool = False) -> str:
    loc = f.location
    where = f"{loc.file}:{loc.line}:{loc.column}" if with_file else f"{loc.line}:{loc.column}"
    verdict = "unknown: " if f.verdict is Verdict.UNKNOWN else ""
    where_root = f" in {f.root}" if show_root and f.root else ""
    address = f" ({f.address}{where_root})" if f.address else ""
    marker = f" {f.fix_marker}" if f.fix_marker else ""
    return f"{where}: {f.rule_id} [{f.severity.value}] {verdict}{f.message}{address}{marker}"


def render(report: Report) -> str:
    lines: list[str] = []
    current = None
    for f in report.findings:
        if f.baseline_state == "baselined" or f.suppression is not None:
            continue  # counted in the summary; listed in full in the JSON and SARIF reports
        if f.location.file != current:
            if current is not None:
                lines.append("")
            current = f.location.file
        lines.append(finding_line(f, show_root=len(report.roots) > 1))
        for rel in f.related:
            lines.append(f"    note: {rel.location.file}:{rel.location.line}: {rel.message}")
        if f.fix is not None:
            lines.append(f"    {_fix_text(f)}")
        elif f.no_fix_reason:
            lines.append(f"    no automatic fix: {f.no_fix_reason}")
    if lines:
        lines.append("")
    for notice in report.notices:
        lines.append(f"notice: {notice}")
    for entry in report.fixed_baseline_entries:
        lines.append(f"fixed since baseline: {entry['rule_id']} {entry['address']} ({entry['file']})")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def _fix_text(f: Finding) -> str:
    fix = f.fix
    if fix.applicability is Applicability.SAFE:
        text = f"fix: {fix.title}"
    elif fix.applicability is Applicability.UNSAFE:
        text = f"unsafe fix (--unsafe-fixes): {fix.title}"
    else:
        text = f"suggestion: {fix.title}"
    if fix.note:
        text += f"; {fix.note}"
    return text


def summary_line(report: Report) -> str:
    s = report.summary()
    parts = [f"{s['fail']} failing", f"{s['unknown']} unknown"]
    if s["suppressed"]:
        parts.append(f"{s['suppressed']} suppressed")
    if s["baselined"]:
        parts.append(f"{s['baselined']} in the baseline")
    if s["fixable"]:
        parts.append(f"{s['fixable']} fixable")
    text = f"{', '.join(parts)} in {s['files']} file{'s' if s['files'] != 1 else ''} checked"
    if s["unknown"] and not report.fail_on_unknown:
        text += " (unknown verdicts do not fail the run; use --fail-on-unknown)"
    if s["failing"]:
        text += f"; {s['failing']} at or above severity {report.threshold.value}"
    return text
