"""A Markdown summary for a pull-request comment or $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from collections import Counter

from iaclint.formatters import diff_of
from iaclint.model import Applicability, Finding, Report, Severity, Verdict, plural

ICON = {Severity.CRITICAL: "🔴", Severity.HIGH: "🔴", Severity.MEDIUM: "🟠", Severity.LOW: "🟡", Severity.INFO: "⚪"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    """A code fence longer than any backtick run inside the text."""
    run = 3
    while "`" * run in text:
        run += 1
    return "`" * run


def _fix_block(f: Finding, diffs: dict) -> list[str]:
    fix = f.fix
    kind = {Applicability.SAFE: "fix", Applicability.UNSAFE: "unsafe fix (`--unsafe-fixes`)",
            Applicability.DISPLAY: "suggestion"}[fix.applicability]
    out = [f"<details><summary>{f.rule_id} <code>{f.address}</code>: {kind}: {_cell(fix.title)}</summary>", ""]
    if fix.note:
        out += [f"> {_cell(fix.note)}", ""]
    edits = fix.edits
    diff = diff_of(fix, diffs)
    if len(edits) == 1 and "\n" not in edits[0].replacement and edits[0].start_location[0] == edits[0].end_location[0] \
            and edits[0].end > edits[0].start:
        new_line = [line[1:].removesuffix("\r").lstrip("\ufeff") for line in diff.split("\n")
                    if line.startswith("+") and not line.startswith("+++")]
        if len(new_line) == 1:
            fence = _fence(new_line[0])
            out += [f"{edits[0].file} line {edits[0].start_location[0]}:", "", f"{fence}suggestion", new_line[0], fence, ""]
            out += ["</details>", ""]
            return out
    fence = _fence(diff)
    out += [f"{fence}diff", diff.rstrip("\n"), fence, "", "</details>", ""]
    return out


def render(report: Report) -> str:
    live = [f for f in report.findings if f.suppression is None and f.baseline_state != "baselined"]
    s = report.summary()
    status = "❌ failing" if report.failing else "✅ passing"
    lines = ["## iaclint: encryption at rest", "",
             f"**{status}**: {s['fail']} failing, {s['unknown']} unknown, {s['suppressed']} suppressed"
             + (f", {s['baselined']} in the baseline" if s["baselined"] else "")
             + (f", {s['new']} new since `{report.since}`" if report.since else "")
             + (f" ({report.existing_hidden} already there not shown)" if report.existing_hidden else "")
             + f", {s['fixable']} fixable" + (f" ({s['unsafe_fixable']} more with `--unsafe-fixes`)"
                                              if s["unsafe_fixable"] else "")
             + f", in {plural(s['files'], 'file')} (threshold: {report.threshold.value}).", ""]
    if live:
        by_rule = Counter((f.rule_id, f.rule_name, f.severity) for f in live)
        lines += ["| rule | severity | findings |", "|---|---|---|"]
        for (rule_id, name, severity), count in sorted(by_rule.items(), key=lambda x: (-x[0][2].rank, x[0][0])):
            lines.append(f"| {rule_id} {name} | {ICON[severity]} {severity.value} | {count} |")
        lines += ["", "| where | rule | resource | finding |", "|---|---|---|---|"]
        for f in live:
            verdict = " (unknown)" if f.verdict is Verdict.UNKNOWN else ""
            verdict += " **new**" if f.base_state == "new" else ""
            root = f" in `{_cell(f.root)}`" if f.root and len(report.roots) > 1 else ""
            lines.append(f"| `{f.location.file}:{f.location.line}` | {f.rule_id}{verdict} | `{_cell(f.address)}`{root} | "
                         f"{_cell(f.message)} |")
        fixes = [f for f in live if f.fix is not None]
        if fixes:
            lines += ["", "### Fixes", ""]
            diffs: dict = {}
            for f in fixes:
                lines += _fix_block(f, diffs)
    else:
        lines.append("No findings.")
    for entry in report.fixed_baseline_entries:
        lines.append(f"- fixed since the baseline: {entry['rule_id']} `{entry['address']}` ({entry['file']})")
    for notice in report.notices + report.errors:
        lines.append(f"> {notice}")
    return "\n".join(lines).rstrip() + "\n"
