"""Findings as the Language Server Protocol shows them: diagnostics, workspace edits and hover text.

iaclint counts lines from 1 and columns in characters (code points); a client counts both from 0, columns in
the encoding it negotiated (UTF-16 unless it chose another). Positions are converted with the text each check
read, so a finding in a file that is not open lands where that file's text puts it.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Iterable

from lsprotocol import types as lsp

from iaclint.model import Applicability, Edit, Finding, Location, Severity, Verdict
from iaclint.source import SourceFile

SOURCE = "iaclint"
SEVERITY = {
    Severity.CRITICAL: lsp.DiagnosticSeverity.Error,
    Severity.HIGH: lsp.DiagnosticSeverity.Error,
    Severity.MEDIUM: lsp.DiagnosticSeverity.Warning,
    Severity.LOW: lsp.DiagnosticSeverity.Information,
    Severity.INFO: lsp.DiagnosticSeverity.Hint,
}
SUPPRESSION_DAYS = 90  # a suppression written from the editor expires, so that it is looked at again


class Positions:
    """Client positions for iaclint's, from the texts a check read (absolute path -> SourceFile)."""

    def __init__(self, texts: dict[str, SourceFile], units: Callable[[str], int]):
        self.texts = texts
        self.units = units  # the client's length of a string: UTF-16 code units unless negotiated otherwise

    def at(self, path: str, line: int, column: int) -> lsp.Position:
        """A 1-based line and code-point column, as the client counts them."""
        source = self.texts.get(path)
        if source is None:
            return lsp.Position(max(line - 1, 0), max(column - 1, 0))
        text = source.line_text(line)
        return lsp.Position(max(line - 1, 0), self.units(text[:max(column - 1, 0)]))

    def at_offset(self, path: str, offset: int) -> lsp.Position:
        source = self.texts.get(path)
        if source is None:
            return lsp.Position(0, 0)
        return self.at(path, *source.line_col(offset))

    def range(self, path: str, location: Location) -> lsp.Range:
        start = self.at(path, location.line, location.column)
        end = self.at(path, location.end_line, location.end_column)
        if (end.line, end.character) <= (start.line, start.character):  # a place, not a range (PARSE): its line
            source = self.texts.get(path)
            rest = source.line_text(location.line) if source is not None else ""
            width = self.units(rest) - start.character
            end = lsp.Position(start.line, start.character + width) if width > 0 else start
        return lsp.Range(start, end)


def absolute(shown: str) -> str:
    return os.path.abspath(shown)


def diagnostic(finding: Finding, positions: Positions, uri_of: Callable[[str], str],
               help_uri: Callable[[str], str | None]) -> lsp.Diagnostic:
    """A finding as a diagnostic: its rule as the code (linking its page), its origin and other ends as related
    information, an unknown verdict as a hint that says why."""
    path = absolute(finding.location.file)
    unknown = finding.verdict is Verdict.UNKNOWN
    related = [lsp.DiagnosticRelatedInformation(
        lsp.Location(uri_of(absolute(r.location.file)), positions.range(absolute(r.location.file), r.location)),
        r.message) for r in finding.related]
    href = help_uri(finding.rule_id)
    return lsp.Diagnostic(
        range=positions.range(path, finding.location),
        message=_message(finding),
        severity=lsp.DiagnosticSeverity.Hint if unknown else SEVERITY[finding.severity],
        code=finding.rule_id,
        code_description=lsp.CodeDescription(href) if href else None,
        source=SOURCE,
        related_information=related or None,
        data={"fingerprint": finding.fingerprint} if finding.fingerprint else None,
    )


def _message(finding: Finding) -> str:
    """The report's message, without the `file:line:column: ` a PARSE or CONFIG message starts with (the editor
    shows the place)."""
    where = f"{finding.location.file}:{finding.location.line}:{finding.location.column}: "
    message = finding.message.removeprefix(where)
    if finding.verdict is Verdict.UNKNOWN:
        return f"unknown: {message}"
    return message


def fix_title(finding: Finding) -> str:
    """What a quick fix is called in the editor's menu: unsafe ones say what they risk."""
    fix = finding.fix
    if fix.applicability is Applicability.SAFE:
        return f"Fix {finding.rule_id}: {fix.title}"
    note = fix.note
    if "may force replacement" in note:
        risk = "may replace the resource"
    elif "forces replacement" in note:
        risk = "replaces the resource"
    else:
        first = note.split(";")[0].split(": ")[0].strip()
        risk = first if len(first) <= 70 else first[:69].rstrip() + "…"
    return f"Fix {finding.rule_id} (unsafe: {risk}): {fix.title}"


def text_edits(edits: Iterable[Edit], positions: Positions) -> dict[str, list[lsp.TextEdit]]:
    """absolute path -> edits, in the order iaclint applies them (inserts at one place keep their order)."""
    by_file: dict[str, list[Edit]] = {}
    for edit in edits:
        by_file.setdefault(absolute(edit.file), []).append(edit)
    out = {}
    for path, group in by_file.items():
        group.sort(key=lambda e: (e.start, e.end))
        out[path] = [lsp.TextEdit(lsp.Range(positions.at_offset(path, e.start), positions.at_offset(path, e.end)),
                                  e.replacement) for e in group]
    return out


def workspace_edit(edits: dict[str, list[lsp.TextEdit]], uri_of: Callable[[str], str],
                   versions: dict[str, int], document_changes: bool) -> lsp.WorkspaceEdit:
    """Edits for several files; with versions where the client takes them, so that it refuses an edit made for
    an older text of an open document."""
    if not document_changes:
        return lsp.WorkspaceEdit(changes={uri_of(path): group for path, group in edits.items()})
    return lsp.WorkspaceEdit(document_changes=[
        lsp.TextDocumentEdit(lsp.OptionalVersionedTextDocumentIdentifier(uri_of(path), versions.get(path)), group)
        for path, group in edits.items()])


def suppression_text(rule_id: str, source: SourceFile, block_offset: int, today: date | None = None) -> tuple[int, str]:
    """(offset, text) of the comment line that suppresses a rule on the block starting at ``block_offset``: the
    reason left empty for the author to give (until then SUP001 says it is missing), expiring in 90 days."""
    start = source.line_start(block_offset)
    line = source.text[start:block_offset]
    indent = line[:len(line) - len(line.lstrip(" \t"))]
    expires = (today or date.today()) + timedelta(days=SUPPRESSION_DAYS)
    return start, f'{indent}# iaclint:ignore {rule_id} reason="" expires={expires.isoformat()}{source.newline}'


def finding_markdown(finding: Finding) -> str:
    """What a flagged place says on hover: the finding, its fix or why there is none."""
    verdict = "unknown" if finding.verdict is Verdict.UNKNOWN else finding.severity.value
    lines = [f"**{finding.rule_id}** ({verdict}) {_escape(_message(finding))}"]
    fix = finding.fix
    if fix is not None:
        kind = {Applicability.SAFE: "Fix", Applicability.UNSAFE: "Unsafe fix",
                Applicability.DISPLAY: "Suggestion (not applied automatically)"}[fix.applicability]
        lines.append(f"{kind}: {_escape(fix.title)}" + (f" ({_escape(fix.note)})" if fix.note else ""))
    elif finding.no_fix_reason:
        lines.append(f"No automatic fix: {_escape(finding.no_fix_reason)}")
    return "\n\n".join(lines)


def rule_markdown(rule, help_uri: str | None) -> str:
    """`iaclint explain`'s content as Markdown: the rule's documentation page."""
    from iaclint.engine.ruledocs import rule_markdown as page

    text = page(rule).rstrip()
    if rule.user and rule.path:
        text += f"\n\nDefined in: `{Path(rule.path).name}`"
    if help_uri:
        text += f"\n\n[Documentation]({help_uri})"
    return text


def _escape(text: str) -> str:
    """Messages in Markdown: characters that would start emphasis, a link or HTML are shown as written. Backticks
    stay: messages and fix titles mark code with them already; an underscore inside a word starts no emphasis."""
    for char in "\\*[]<>":
        text = text.replace(char, "\\" + char)
    return text
