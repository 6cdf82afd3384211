"""SARIF 2.1.0 for GitHub code scanning and other viewers.

Rules carry `security-severity` so code scanning ranks them; results use URIs relative to
%SRCROOT% (the repository root, so annotations land on the right files from any directory), related locations for where values came from and module calls,
`partialFingerprints` without line numbers (stable when unrelated lines move), suppressions with
their justification, and fixes as SARIF replacements.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote
from typing import Any

from iaclint.engine.ruledocs import HOME, help_uri
from iaclint.formatters import PathsOnce
from iaclint.formatters.jsontext import dumps
from iaclint.model import Applicability, Finding, Location, Report, Severity, Verdict

SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0",
                     Severity.INFO: "0.0"}
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note",
         Severity.INFO: "note"}
INFORMATION_URI = HOME


def _uri(file: str, report: Report) -> tuple[str, str | None]:
    path = Path(report.repo_path(file))
    if path.is_absolute():
        return path.as_uri(), None
    return quote(path.as_posix(), safe="/"), "%SRCROOT%"


def _artifact(file: str, report: Report) -> dict[str, Any]:
    uri, base = _uri(file, report)
    data: dict[str, Any] = {"uri": uri}
    if base:
        data["uriBaseId"] = base
    return data


def _region(loc: Location) -> dict[str, int]:
    return {"startLine": loc.line, "startColumn": loc.column, "endLine": max(loc.end_line, loc.line),
            "endColumn": loc.end_column if loc.end_line > loc.line else max(loc.end_column, loc.column)}


def _physical(loc: Location, report: Report) -> dict[str, Any]:
    return {"artifactLocation": _artifact(loc.file, report), "region": _region(loc)}


def _rule(rule) -> dict[str, Any]:
    docs = rule.docs
    full = " ".join(x.strip() for x in (docs.get("what", ""), docs.get("why", "")) if x)
    help_parts = [f"## {rule.title}", docs.get("what", "").strip(), "### Why it matters", docs.get("why", "").strip()]
    if docs.get("failing"):
        help_parts += ["### Failing example", "```hcl", docs["failing"].rstrip(), "```"]
    if docs.get("passing"):
        help_parts += ["### Passing example", "```hcl", docs["passing"].rstrip(), "```"]
    if docs.get("fix_safety"):
        help_parts += ["### Fix safety", docs["fix_safety"].strip()]
    refs = [f"{k}: {', '.join(v)}" for k, v in rule.references.items() if v and k != "docs"]
    tags = ["security", "terraform"] + ([] if rule.user else ["encryption"]) + [f"external/{k}/{i}" for k, v in rule.references.items()
                                                      if k != "docs" for i in v]
    data = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": full or rule.title},
        "help": {"text": "\n".join(p for p in [rule.title, full] + refs if p),
                 "markdown": "\n\n".join(p for p in help_parts if p)},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[rule.severity], "tags": tags,
                       "precision": "high"},
    }
    uri = help_uri(rule.id)
    if uri:
        data["helpUri"] = uri
    return data


def _fix(finding: Finding, report: Report) -> dict[str, Any] | None:
    fix = finding.fix
    if fix is None:
        return None
    changes: dict[str, list[dict[str, Any]]] = {}
    for edit in fix.edits:
        start = edit.start_location
        end = edit.end_location
        region = {"startLine": start[0], "startColumn": start[1], "endLine": end[0], "endColumn": end[1]}
        changes.setdefault(edit.file, []).append({"deletedRegion": region, "insertedContent": {"text": edit.replacement}})
    label = {Applicability.SAFE: "safe", Applicability.UNSAFE: "unsafe", Applicability.DISPLAY: "suggestion"}
    return {
        "description": {"text": f"[{label[fix.applicability]}] {fix.title}" + (f" ({fix.note})" if fix.note else "")},
        "artifactChanges": [{"artifactLocation": _artifact(file, report), "replacements": reps} for file, reps in changes.items()],
    }


def _result(finding: Finding, rule_index: dict[str, int], report: Report) -> dict[str, Any]:
    unknown = finding.verdict is Verdict.UNKNOWN
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "kind": "review" if unknown else "fail",
        "level": "note" if unknown else LEVEL[finding.severity],
        "message": {"text": ("Unknown: " if unknown else "") + finding.message},
        "locations": [{"physicalLocation": _physical(finding.location, report)}],
        "partialFingerprints": {"iaclint/v1": finding.fingerprint},
        "properties": {"verdict": finding.verdict.value, "severity": finding.severity.value},
    }
    if finding.root:
        result["properties"]["root"] = finding.root  # a module's line is one result per root that calls it
    if finding.rule_id in rule_index:
        result["ruleIndex"] = rule_index[finding.rule_id]
    if finding.address:
        result["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": finding.address, "kind": "resource"}]
    if finding.related:
        result["relatedLocations"] = [
            {"id": i + 1, "physicalLocation": _physical(r.location, report), "message": {"text": r.message}}
            for i, r in enumerate(finding.related)]
    if finding.suppression is not None:
        s = finding.suppression
        suppression: dict[str, Any] = {
            "kind": "external" if s.kind in ("baseline", "config") else "inSource",
            "status": "accepted",
            "justification": s.justification or "(no reason given)",
            "properties": {"form": s.kind},
        }
        if s.expires:
            suppression["properties"]["expires"] = s.expires
        if s.location is not None:
            suppression["location"] = {"physicalLocation": _physical(s.location, report)}
        result["suppressions"] = [suppression]
    states = [s for s in (finding.baseline_state, finding.base_state) if s is not None]
    if states:  # new only when neither the baseline nor the --since revision had it
        result["baselineState"] = "new" if all(s == "new" for s in states) else "unchanged"
    fix = _fix(finding, report)
    if fix is not None:
        result["fixes"] = [fix]
        result["properties"]["fixApplicability"] = finding.fix.applicability.value
    origin = finding.origin_info()
    if origin:
        result["properties"]["origin"] = origin
    return result


def sarif_document(report: Report) -> dict[str, Any]:
    report = PathsOnce(report)
    rules = [r for r in report.rules]
    rule_index = {r.id: i for i, r in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "iaclint", "version": report.tool_version, "semanticVersion": report.tool_version,
                            "informationUri": INFORMATION_URI, "rules": [_rule(r) for r in rules]}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(report.repo_root or Path.cwd()).resolve().as_uri() + "/"}},
        "results": [_result(f, rule_index, report) for f in report.findings],
        "columnKind": "unicodeCodePoints",
        "invocations": [{"executionSuccessful": not report.errors,
                         "toolExecutionNotifications": [{"level": "warning", "message": {"text": n}}
                                                        for n in report.notices + report.errors]}],
    }
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run]}


def render(report: Report) -> str:
    return dumps(sarif_document(report)) + "\n"
