"""New versus existing (--since REF, --new-only), and findings placed on the lines a change made.

A finding existed at REF when the same rule found the same resource (or an address `moved` blocks map
to it) in the same root, for the same cause: the attribute and where its value was written (a
variable default, a tfvars entry, a module argument), by file and never by line, so a finding that
only moved down its file is not new. Roots and files renamed since REF are followed.

A finding whose cause is on a line the change added or edited is located at the cause, with the
resource as a related place, so annotations and reviewdog's `-filter-mode=added` land on the diff.
"""

from __future__ import annotations

import re
from pathlib import Path

from iaclint.engine.runner import RuleSelection, run_rules, source_line
from iaclint.eval.values import OriginKind
from iaclint.graph.model import Graph
from iaclint.model import Finding, Related, Span
from iaclint.run.base import (BaseComparison, BaseInputs, canonical_address, base_roots, base_var_files,
                              earlier_addresses)

_POSITION = re.compile(r"^.*?:\d+:\d+: ")
_IN_PLACE = (OriginKind.LITERAL, OriginKind.EXPRESSION, OriginKind.PLAN, OriginKind.COMPUTED)


def finding_key(f: Finding, repo_path) -> tuple:
    """(rule, verdict, address, attribute, cause kind, cause label, cause file): what makes two findings the
    same. An unknown verdict that became a failure is new: the change decided it."""
    head = (f.rule_id, f.verdict.value, canonical_address(f.address))
    context = f.context
    if context is None:  # a file that does not parse, a configuration error: by file and message
        return head + ("", "diagnostic", _POSITION.sub("", f.message), repo_path(f.location.file))
    result = context.result
    value = result.value
    origin = value.origin if value is not None else None
    if origin is None:
        return head + (result.attribute or "", "absent" if value is None else "unknown", "", "")
    file = repo_path(origin.span.file) if origin.span is not None else ""
    return head + (result.attribute or "", origin.kind.value, origin.label, file)


def mark_new_findings(findings: list[Finding], graph: Graph, root: Path, comparison: BaseComparison,
                      inputs: BaseInputs, rules: list, selection: RuleSelection) -> None:
    """Set base_state on each finding of a root: "existing" when the same finding was there at the base."""
    at_base = _findings_at_base(graph, root, comparison, inputs, rules, selection)
    repo_path = _repo_path(comparison.top, Path.cwd())
    for f in findings:
        key = finding_key(f, repo_path)
        candidates = [key] + [key[:2] + (canonical_address(a),) + key[3:] for a in earlier_addresses(f.address, graph.moves)]
        f.base_state = "existing" if any(k in at_base for k in candidates) else "new"


def _repo_path(top: Path, cwd: Path, renamed: dict[str, str] | None = None, moved_folder: tuple = ()):
    """A display path as the repository names it now (files renamed since the base follow their new name)."""
    def repo_path(file: str) -> str:
        try:
            name = (cwd / file).resolve().relative_to(top).as_posix()
        except (ValueError, OSError):
            return file
        if renamed and name in renamed:
            return renamed[name]
        if moved_folder:
            old, new = moved_folder
            if name.startswith(old + "/"):
                return (new + "/" if new != "." else "") + name[len(old) + 1:]
        return name
    return repo_path


def _findings_at_base(graph: Graph, root: Path, comparison: BaseComparison, inputs: BaseInputs, rules: list,
                      selection: RuleSelection) -> set[tuple]:
    root_rel = comparison.relative(root)
    folders, _doubt = base_roots(graph, root, root_rel, comparison, inputs.tree)
    var_files, outside = base_var_files(inputs.var_files, comparison)
    renamed = {old: new for status, old, new in comparison.changes() if status == "R"}
    keys: set[tuple] = set()
    cwd = Path.cwd()
    for base_root in folders:
        module_folders = comparison.module_folders([base_root.folder])
        tree = comparison.tree(comparison.files_in(module_folders, var_files + comparison.files_read(graph)))
        try:
            base = tree.graph(base_root.folder, var_files, outside, inputs)
            moved = (base_root.folder, root_rel) if base_root.folder != root_rel else ()
            repo_path = _repo_path(tree.path.resolve(), cwd, renamed, moved)
            keys.update(finding_key(f, repo_path) for f in run_rules(base, rules, selection))
        finally:
            tree.close()
    return keys


def locate_at_changed_causes(findings: list[Finding], comparison: BaseComparison) -> None:
    """Move a finding to its cause when the change wrote the cause (a tfvars entry, a module argument, a
    variable default outside the resource); the resource becomes a related location."""
    candidates: list[tuple[Finding, Graph, Span]] = []
    for f in findings:
        context = f.context
        if context is None or context.result.value is None or context.result.value.origin is None:
            continue
        origin = context.result.value.origin
        subject = context.result.resource or context.resource
        if origin.span is None or origin.span.file not in context.graph.sources:
            continue
        if origin.kind in _IN_PLACE or _inside(origin.span, subject.block_span):
            continue
        candidates.append((f, context.graph, origin.span))
    if not candidates:
        return
    repo_path = _repo_path(comparison.top, Path.cwd())
    names = sorted({repo_path(span.file) for _, _, span in candidates})
    changed = comparison.changed_lines(names)
    for f, graph, span in candidates:
        lines = changed.get(repo_path(span.file), set())
        where = graph.location(span)
        if where.line == f.location.line and where.file == f.location.file:
            continue
        if lines is not None and where.line not in lines:
            continue
        resource = Related(f.location, f"{f.address} is here; the change wrote the value that decides it at "
                                       f"{where.file}:{where.line}")
        f.related = (resource,) + tuple(r for r in f.related if (r.location.file, r.location.line)
                                         != (where.file, where.line))
        f.location = where
        f.source_line = source_line(graph, where.file, where.line)
        f.end_line_text = source_line(graph, where.file, where.end_line) if where.end_line != where.line else None
        f.caret = (where.column, where.end_column) if where.end_line == where.line else None


def _inside(span: Span, block: Span | None) -> bool:
    return block is not None and span.file == block.file and block.start <= span.start and span.end <= block.end

