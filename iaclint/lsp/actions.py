"""Code actions and hover, answered from the last check's findings (no check runs for them).

A quick fix is a finding's fix as a workspace edit: safe ones are preferred, unsafe ones say what they risk,
suggestions (display-only fixes) are never offered as edits. "Fix all safe problems in this file" combines the
safe fixes of the file's failing findings that do not overlap; the next check shows what is left. A suppression
comment goes above the block, its reason left for the author to write and an expiry 90 days ahead.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from iaclint.lsp import convert
from iaclint.lsp.checking import block_start
from iaclint.lsp.server import RULE_WORD, RULE_WORD_END, Entry, IaclintServer, RootState, _path_of
from iaclint.model import Applicability, Edit, Verdict

FIX_ALL_TITLE = "Fix all safe iaclint problems in this file"


def code_actions(ls: IaclintServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
    path = _path_of(params.text_document.uri)
    if path is None:
        return None
    document = ls.open_document(params.text_document.uri)
    entries = [e for e in ls.entries_of(path) if e.finding is not None]
    fresh = [e for e in entries if _fresh(ls, e, path, document)]
    wanted = _kinds(params.context.only)
    asked = [(d.code, _key(d.range)) for d in params.context.diagnostics if d.source == convert.SOURCE]
    here = [e for e in fresh if _overlaps(e.diagnostic.range, params.range)
            or (e.diagnostic.code, _key(e.diagnostic.range)) in asked]
    actions: list[lsp.CodeAction] = []
    titles: set[str] = set()
    if wanted(lsp.CodeActionKind.QuickFix):
        for entry in here:
            for action in (_fix_action(ls, entry), _suppress_action(ls, entry)):
                if action is not None and action.title not in titles:
                    titles.add(action.title)
                    actions.append(action)
    if wanted(lsp.CodeActionKind.SourceFixAll):
        action = _fix_all_action(ls, path, fresh)
        if action is not None:
            actions.append(action)
    return actions


def _kinds(only: list[str] | None):
    """Does the client want actions of this kind? (`only` names kinds and their parents: "source" for all)."""
    if not only:
        return lambda kind: True
    return lambda kind: any(kind == k or kind.startswith(f"{k}.") for k in only)


def _fresh(ls: IaclintServer, entry: Entry, path: str, document) -> bool:
    """Was the entry's check made on the document's current text? Edits made for an older text would land wrong."""
    state = ls.state_of(entry)
    if state is None:
        return False
    if document is None:
        return path not in state.versions
    return state.versions.get(path) == document.version


def _key(r: lsp.Range) -> tuple[int, int, int, int]:
    return (r.start.line, r.start.character, r.end.line, r.end.character)


def _overlaps(a: lsp.Range, b: lsp.Range) -> bool:
    start_a, end_a = (a.start.line, a.start.character), (a.end.line, a.end.character)
    start_b, end_b = (b.start.line, b.start.character), (b.end.line, b.end.character)
    return start_a <= end_b and start_b <= end_a


def _edit(ls: IaclintServer, state: RootState, edits) -> lsp.WorkspaceEdit:
    capabilities = ls.client_capabilities.workspace
    document_changes = bool(capabilities and capabilities.workspace_edit
                            and capabilities.workspace_edit.document_changes)
    return convert.workspace_edit(convert.text_edits(edits, state.positions), ls.uri_of, state.versions,
                                  document_changes)


def _fix_action(ls: IaclintServer, entry: Entry) -> lsp.CodeAction | None:
    finding = entry.finding
    fix = finding.fix
    if fix is None or fix.applicability is Applicability.DISPLAY or finding.verdict is not Verdict.FAIL:
        return None  # suggestions are shown on hover, never applied; `iaclint fix` fixes failing findings only
    state = ls.state_of(entry)
    return lsp.CodeAction(convert.fix_title(finding), kind=lsp.CodeActionKind.QuickFix,
                          diagnostics=[entry.diagnostic], is_preferred=fix.applicability is Applicability.SAFE,
                          edit=_edit(ls, state, fix.edits))


def _suppress_action(ls: IaclintServer, entry: Entry) -> lsp.CodeAction | None:
    finding = entry.finding
    place = block_start(finding)
    if place is None or finding.rule_id.startswith("SUP"):
        return None
    state = ls.state_of(entry)
    path, offset = place
    source = state.positions.texts.get(path)
    if source is None:
        return None
    at, text = convert.suppression_text(finding.rule_id, source, offset)
    title = f"Suppress {finding.rule_id} for {finding.address} (iaclint:ignore, give the reason)"
    return lsp.CodeAction(title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[entry.diagnostic],
                          edit=_edit(ls, state, [Edit(source.path, at, at, text)]))


def _fix_all_action(ls: IaclintServer, path: str, entries: list[Entry]) -> lsp.CodeAction | None:
    """The safe fixes of the file's failing findings, each once, leaving out any that overlaps one already taken."""
    chosen: list[Edit] = []
    seen: set[tuple] = set()
    state = None
    count = 0
    for entry in sorted(entries, key=lambda e: _key(e.diagnostic.range)):
        finding = entry.finding
        fix = finding.fix
        if fix is None or fix.applicability is not Applicability.SAFE or finding.verdict is not Verdict.FAIL:
            continue
        key = tuple(fix.edits)
        if key in seen:
            continue  # findings fixed by the same edits share one fix
        seen.add(key)
        if any(e.overlaps(c) for e in fix.edits for c in chosen):
            continue
        entry_state = ls.state_of(entry)
        if state is not None and entry_state is not state:
            continue  # positions of another root's check; the next use picks it up
        state = entry_state
        chosen.extend(fix.edits)
        count += 1
    if not chosen:
        return None
    return lsp.CodeAction(f"{FIX_ALL_TITLE} ({count} {'fix' if count == 1 else 'fixes'})",
                          kind=lsp.CodeActionKind.SourceFixAll, edit=_edit(ls, state, chosen))


def hover(ls: IaclintServer, params: lsp.HoverParams) -> lsp.Hover | None:
    """Over a flagged place: the finding and its rule's documentation; over a rule id (a suppression comment):
    that rule's documentation."""
    from iaclint.engine.ruledocs import help_uri
    from iaclint.engine.rules import find_rule, find_rules

    path = _path_of(params.text_document.uri)
    if path is None:
        return None
    position = params.position
    point = lsp.Range(position, position)
    flagged = [e for e in ls.entries_of(path) if e.finding is not None and _overlaps(e.diagnostic.range, point)]
    parts: list[str] = []
    shown: set[str] = set()
    for entry in flagged:
        parts.append(convert.finding_markdown(entry.finding))
        rule = find_rule(entry.finding.rule_id)
        if rule is not None and rule.id not in shown:
            shown.add(rule.id)
            parts.append(convert.rule_markdown(rule, help_uri(rule.id)))
    if not parts:
        document = ls.open_document(params.text_document.uri)
        word = document.word_at_position(position, RULE_WORD, RULE_WORD_END) if document is not None else ""
        for rule in find_rules(word) if word else ():
            parts.append(convert.rule_markdown(rule, help_uri(rule.id)))
    if not parts:
        return None
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, "\n\n---\n\n".join(parts)))
