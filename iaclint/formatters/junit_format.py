"""JUnit XML: one test case per rule and resource checked; findings are failures.

Unknown verdicts and suppressed or baselined findings are reported as skipped, with the reason.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from iaclint.model import Finding, Report, Verdict


def render(report: Report) -> str:
    """One test case per (rule, resource, root): a module called by several roots is checked in each, and a
    failure in one root is one failure, however many roots share the address."""
    by_key: dict[tuple[str, str, str], list[Finding]] = {}
    extra: list[Finding] = []
    for f in report.findings:
        if f.address:
            by_key.setdefault((f.rule_id, f.address, f.root), []).append(f)
        else:
            extra.append(f)
    cases: list[tuple[str, str, str, str, list[Finding]]] = []
    seen: set[tuple[str, str, str]] = set()
    for rule_id, address, file, root in report.evaluations:
        if (rule_id, address, root) in seen:
            continue
        seen.add((rule_id, address, root))
        cases.append((rule_id, address, root, file, by_key.get((rule_id, address, root), [])))
    for (rule_id, address, root), found in by_key.items():
        if (rule_id, address, root) not in seen:
            seen.add((rule_id, address, root))
            cases.append((rule_id, address, root, found[0].location.file, found))
    for f in extra:
        cases.append((f.rule_id, f.location.file, "", f.location.file, [f]))
    several_roots = len({root for _, _, root, _, _ in cases if root}) > 1
    names = {r.id: r.name for r in report.rules}
    suite = ET.Element("testsuite", name="iaclint", tests=str(len(cases)))
    failures = skipped = 0
    for rule_id, address, root, file, found in cases:
        name = f"{address} in {root}" if several_roots and root else address
        case = ET.SubElement(suite, "testcase", classname=f"{rule_id}.{names.get(rule_id, rule_id)}", name=name,
                             file=file)
        live = [f for f in found if f.suppression is None and f.baseline_state != "baselined"]
        failing = [f for f in live if f.verdict is Verdict.FAIL]
        if failing:
            failures += 1
            f = failing[0]
            failure = ET.SubElement(case, "failure", message=f.message, type=f.severity.value)
            failure.text = f"{f.location.file}:{f.location.line}:{f.location.column}: {f.message}"
        elif live:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"unknown: {live[0].message}")
        elif found:
            skipped += 1
            f = found[0]
            why = (f"suppressed ({f.suppression.kind}): {f.suppression.justification or 'no reason given'}"
                   if f.suppression else "in the baseline")
            ET.SubElement(case, "skipped", message=why)
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", str(len(report.errors)))
    root = ET.Element("testsuites", name="iaclint", tests=str(len(cases)), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
