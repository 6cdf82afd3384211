"""Human output: each finding with its line and a caret under the value, grouped by file, then a summary.

Colour is plain ANSI (no library: nothing to import at start-up), used only when the caller says the
output is a terminal and NO_COLOR is not set. --compact prints one line per finding; --quiet prints
only the findings that fail the run.
"""

from __future__ import annotations

from iaclint.model import Applicability, Finding, Report, Severity, Verdict, plural

_COLOURS = {Severity.CRITICAL: "1;31", Severity.HIGH: "31", Severity.MEDIUM: "33", Severity.LOW: "36",
            Severity.INFO: "2"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text

def finding_line(f: Finding, with_file: bool = True, show_root: bool = False, color: bool = False) -> str:
    loc = f.location
    where = f"{loc.file}:{loc.line}:{loc.column}" if with_file else f"{loc.line}:{loc.column}"
    verdict = "unknown: " if f.verdict is Verdict.UNKNOWN else ""
    where_root = f" in {f.root}" if show_root and f.root else ""
    address = f" ({f.address}{where_root})" if f.address else ""
    marker = f" {f.fix_marker}" if f.fix_marker else ""
    if f.base_state == "new":
        marker += " [new]"
    code = "2" if f.verdict is Verdict.UNKNOWN else _COLOURS[f.severity]
    head = _paint(f"{f.rule_id} [{f.severity.value}]", code, color)
    return f"{_paint(where, '1', color)}: {head} {verdict}{f.message}{address}{marker}"


def snippet(f: Finding, color: bool = False) -> list[str]:
    """The offending line and a caret under the part the finding is about."""
    text = f.source_line
    if text is None or not text.strip():
        return []
    loc = f.location
    number = str(loc.line)
    start, end = f.caret or (loc.column, loc.end_column if loc.end_line == loc.line else len(text) + 1)
    width = max(1, min(end, len(text) + 1) - start)
    expanded = text.replace("\t", " ")
    caret = " " * (start - 1) + "^" * width
    gutter = " " * len(number)
    return [f"  {number} | {expanded}", f"  {gutter} | {_paint(caret, '1;31' if f.verdict is Verdict.FAIL else '2', color)}"]


def render(report: Report, color: bool = False, compact: bool = False, quiet: bool = False) -> str:
    return "".join(render_chunks(report, color, compact, quiet))


def render_chunks(report: Report, color: bool = False, compact: bool = False, quiet: bool = False):
    """The report a few hundred findings at a time: written as it is made, a report of 280,000 findings
    never exists whole in memory (it is larger than the file it describes)."""
    lines: list[str] = [f"settings: {report.settings}"] if report.settings and not quiet else []
    current = None
    show_root = len(report.roots) > 1
    for f in report.findings:
        if f.baseline_state == "baselined" or f.suppression is not None:
            continue  # counted in the summary; listed in full in the JSON and SARIF reports
        if quiet and not report.counts_toward_exit(f):
            continue
        if compact:
            lines.append(finding_line(f, show_root=show_root, color=color))
            continue
        if current is not None:
            lines.append("")
        current = f.location.file
        lines.append(finding_line(f, show_root=show_root, color=color))
        lines.extend(snippet(f, color))
        for rel in f.related:
            lines.append(f"    note: {rel.location.file}:{rel.location.line}: {rel.message}")
        if f.fix is not None:
            lines.append(f"    {_fix_text(f)}")
        elif f.no_fix_reason:
            lines.append(f"    no automatic fix: {f.no_fix_reason}")
        if f.address or f.rule_id.startswith("SUP"):
            lines.append(f"    see: iaclint explain {f.rule_id}")
        if len(lines) > 2000:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        lines.append("")
    if not quiet:
        if len(report.roots) > 1:
            lines.append(f"checked {len(report.roots)} root modules: {', '.join(report.roots)}")
        for notice in report.notices:
            lines.append(f"notice: {notice}")
    for entry in report.fixed_baseline_entries:
        lines.append(f"fixed since baseline: {entry['rule_id']} {entry['address']} ({entry['file']})")
    command = fix_command(report)
    if command and not quiet and not compact:
        lines.append(f"to apply the safe fixes: {command}")
    lines.append(summary_line(report))
    yield "\n".join(lines) + "\n"


def fix_command(report: Report) -> str:
    """The command that applies exactly the fixes this report calls safe: with the same --base (a fix is
    safe because of it), on the files the findings are in."""
    files = sorted({f.location.file for f in report.findings if f.fix is not None and f.verdict is Verdict.FAIL
                    and f.suppression is None and f.baseline_state != "baselined"
                    and f.fix.applicability is Applicability.SAFE})
    if not files:
        return ""
    import shlex

    base = ["--base", report.base_ref] if report.base_ref else []
    return shlex.join(["iaclint", "fix", *base, *files])


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
    failing_by_severity = {sev: 0 for sev in Severity}
    for f in report.findings:
        if f.verdict is Verdict.FAIL and f.suppression is None and f.baseline_state != "baselined":
            failing_by_severity[f.severity] += 1
    severities = [f"{n} {sev.value}" for sev, n in reversed(list(failing_by_severity.items())) if n]
    failing = f"{s['fail']} failing" + (f" ({', '.join(severities)})" if severities and s["fail"] else "")
    parts = [failing, f"{s['unknown']} unknown"]
    if s["suppressed"]:
        parts.append(f"{s['suppressed']} suppressed")
    if s["baselined"]:
        parts.append(f"{s['baselined']} in the baseline")
    if report.since:
        parts.append(f"{s['new']} new since {report.since}")
        if report.existing_hidden:
            parts.append(f"{report.existing_hidden} already there at {report.since} not shown (--new-only)")
        elif s["existing"]:
            parts.append(f"{s['existing']} already there")
    if s["fixable"] or s["unsafe_fixable"]:
        unsafe = f" ({s['unsafe_fixable']} more with --unsafe-fixes)" if s["unsafe_fixable"] else ""
        parts.append(f"{s['fixable']} fixable{unsafe}")
    text = f"{', '.join(parts)} in {plural(s['files'], 'file')} checked"
    if s["unknown"] and not report.fail_on_unknown:
        text += " (unknown verdicts do not fail the run; use --fail-on-unknown)"
    if s["failing"]:
        text += f"; {s['failing']} at or above severity {report.threshold.value}"
    return text
