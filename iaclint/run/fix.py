"""`iaclint fix`: apply fixes in passes, verify each pass, and write files only at the end.

A pass applies every fix that neither overlaps nor conflicts with an earlier one (see `_pass`) to an
in-memory copy of the files, and lints the whole module again once: the pass is kept only when every
edited file still parses, each fix's finding is gone and no new failing finding appeared. A pass that
fails is tried again with its first half, down to a single fix, which is then rejected and not tried
again. Fixes that wait are made again in the next pass from the changed files, so the result is what
applying one fix at a time gives (`one_at_a_time`, which the tests compare with), in a few lints rather
than one per fix. Those lints parse only what the fixes changed: the files no fix edited keep the trees an
earlier lint read (ConfigLoader.parsed), and an edited file is parsed again only in the pieces its edits reach
(hcl/reparse.py). Fixes that change the encryption flag go before key fixes, which may need the flag.
Only regular, writable files inside the scanned tree are fixed: a fix that would edit a
link, a file reached through one, or a file outside the repository is rejected, naming the file. Files
are written as one transaction (see `write_files`): nothing is written when a file changed on disk
meanwhile, and a failure leaves every file as it was, with no temporary file behind; the run then
reports what is still in the files.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from iaclint.run.lint import LintOptions, LintRun
from iaclint.run.pipeline import run_check
from iaclint.fixes.diff import ComposedEdits, edits_diff
from iaclint.hcl import ast
from iaclint.hcl.layout import LayoutError, apply_edits
from iaclint.hcl.reparse import reparse
from iaclint.model import Applicability, Finding, Report, Verdict, plural
from iaclint.source import SourceFile, WriteError, display_path, read_source, write_files
from iaclint.tree import Tree


@dataclass
class Applied:
    rule_id: str
    address: str
    title: str
    applicability: Applicability


@dataclass
class FixOutcome:
    applied: list[Applied]
    report: Report  # the findings after fixing
    originals: dict[str, SourceFile]  # absolute path -> original content
    fixed: dict[str, SourceFile]  # absolute path -> new content
    rejected: dict[tuple[str, str, str], str] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    unsafe_allowed: bool = False
    not_written: str = ""  # why nothing was written (a file changed on disk meanwhile)
    settings: str | None = None  # the settings file in force, as shown
    edits: dict[str, ComposedEdits] = field(default_factory=dict)  # absolute path -> every pass's edits, composed

    @property
    def remaining_failing(self) -> list[Finding]:
        return self.report.failing

    def diff(self) -> str:
        """What fix writes, as a patch `git apply` accepts: byte for byte, a BOM included. Made from the edits, in
        time linear in what they change (difflib over a large file with many fixes did not finish)."""
        return "".join(edits_diff(self.originals[path].path, self.originals[path], self.edits[path].edits(),
                                  whole_file=True) for path in sorted(self.fixed))

    def render(self, show_diff: bool = False) -> str:
        lines: list[str] = [f"settings: {self.settings}"] if self.settings else []
        if show_diff:
            text = self.diff()
            if text:
                lines.append(text.rstrip("\n"))
        verb = "would apply" if show_diff else "not written" if self.not_written else "applied"
        for a in self.applied:
            lines.append(f"{verb}: {a.rule_id} {a.address}: {a.title} [{a.applicability.value}]")
        for f in self.report.findings:
            if f.suppression is not None:
                continue
            lines.append(f"left: {f.location.file}:{f.location.line}: {f.rule_id} {f.address or ''}: "
                         f"{self._why_left(f)}")
        for notice in self.report.notices:
            lines.append(f"notice: {notice}")
        if self.not_written:
            lines.extend(f"not written: {self.originals[path].path} ({self.not_written})"
                         for path in sorted(self.fixed))
        n_files = len(self.fixed) if not self.not_written else 0
        n_fixes = len(self.applied) if not self.not_written else 0
        summary = (f"{plural(n_fixes, 'fix', 'fixes')} {'to apply' if show_diff else 'applied'} in "
                   f"{plural(n_files, 'file')}")
        if self.not_written:
            summary += f" ({len(self.applied)} not written)"
        summary += f"; {plural(len(self.remaining_failing), 'failing finding')} left"
        lines.append(summary)
        return "\n".join(lines) + "\n"

    def _why_left(self, f: Finding) -> str:
        verdict = "unknown, " if f.verdict is Verdict.UNKNOWN else ""
        key = _key(f)
        if key in self.rejected:
            return f"{verdict}fix rejected: {self.rejected[key]}"
        if f.fix is None:
            reason = f.no_fix_reason or "this rule has no automatic fix"
            return f"{verdict}no automatic fix: {reason}"
        if f.fix.applicability is Applicability.DISPLAY:
            return f"{verdict}suggestion only ({f.fix.note}): {f.fix.title}"
        if f.fix.applicability is Applicability.UNSAFE and not self.unsafe_allowed:
            return f"{verdict}unsafe fix, not applied without --unsafe-fixes: {f.fix.title}"
        if f.verdict is Verdict.UNKNOWN:
            return "unknown verdict: fixes are applied only to failing findings"
        if self.not_written:
            return f"not applied, nothing was written: {self.not_written}"
        return f"not applied: the configuration alone no longer shows it (the plan is out of date): {f.fix.title}"


def _allowed(finding: Finding, unsafe: bool) -> bool:
    fix = finding.fix
    if fix is None or finding.verdict is not Verdict.FAIL or finding.suppression is not None:
        return False
    if fix.applicability is Applicability.SAFE:
        return True
    return unsafe and fix.applicability is Applicability.UNSAFE


def _key(f: Finding) -> tuple[str, str, str]:
    return (f.rule_id, _config_address(f), f.fix.title if f.fix else "")


def _state(paths: list[str], options: LintOptions, overlay: dict[str, SourceFile]):
    options.overlay = overlay
    options.keep_verdicts = True
    options.record_evaluations = False  # every (rule, resource) checked is for JUnit's report: fix writes none
    return run_check(paths, options)


def _root(f: Finding) -> str:
    """The root module a finding was found through: one module may be checked through several roots."""
    return f.context.graph.root_dir if f.context is not None else ""


def _config_address(f: Finding) -> str:
    """The finding's address in the configuration (plan findings map to their .tf resource), per root."""
    context = f.context
    hcl = getattr(context.resource, "hcl_resource", None) if context is not None else None
    return f"{_root(f)}::{hcl.address if hcl is not None else f.address}"


def _config_findings(graphs, options: LintOptions) -> set[tuple[str, str, str]]:
    """What the configuration itself says now: the verdicts lint gave each root (for plans, the rules run on the
    mapped .tf graph).

    A plan does not change when its .tf files are fixed, so fixes to a plan's configuration are
    verified against that configuration.
    """
    from iaclint.engine.rules import active_rules
    from iaclint.engine.runner import run_rules

    keys: set[tuple[str, str, str]] = set()
    for graph in graphs:
        target = graph.hcl_companion if graph.kind == "plan" and graph.hcl_companion is not None else graph
        if target.verdicts is None:  # a plan's configuration: lint judged the plan, not it
            masked: set[tuple[str, str]] = set()
            verdicts = {(f.rule_id, f.address, f.verdict.value)
                        for f in run_rules(target, active_rules(), options.selection, masked=masked)}
            target.verdicts = (verdicts, masked)
        verdicts, masked = target.verdicts
        keys |= {(rule, f"{target.root_dir}::{address}", verdict) for rule, address, verdict in verdicts}
        keys |= {(rule, f"{target.root_dir}::{address}", "masked") for rule, address in masked}
    return keys


def _diagnostics(graphs) -> set[tuple[str, str]]:
    out = set()
    for g in graphs:
        out |= {(d.file, d.message) for d in g.diagnostics}
        if g.hcl_companion is not None:
            out |= {(d.file, d.message) for d in g.hcl_companion.diagnostics}
    return out


def _verify(before: set, after: set, before_diags: set, after_diags: set, finding: Finding) -> str:
    """Empty when the fix did what it should; otherwise why it is rejected.

    Only new failing findings count: a key fix on a cluster whose storage_encrypted is an input
    without a value makes NEP004 unknown, which is the truth, not a regression. Nor does a finding the
    fix reveals: RDS003 judges the key of encrypted instances only, so encrypting one (RDS002's fix) shows
    its key problem, which was there all along.
    """
    broken = sorted(after_diags - before_diags)
    if broken:
        file, message = broken[0]
        return f"the fixed file would not parse ({file}: {message})"
    if (finding.rule_id, _config_address(finding), "fail") in after:
        return "the finding would still be there after the fix"
    new = sorted(k for k in after - before if k[2] == "fail" and (k[0], k[1], "masked") not in before)
    if new:
        shown = ", ".join(f"{rule} on {address.split('::', 1)[-1]}" for rule, address, _ in new[:3])
        return f"it would cause new findings ({shown})"
    return ""


def _apply(overlay: dict[str, SourceFile], originals: dict[str, SourceFile], fixes: list[Finding],
           sources: dict[str, SourceFile], composed: dict[str, ComposedEdits], parsed: dict | None = None,
           linted: set[str] | None = None) -> tuple[dict[str, SourceFile], dict[str, ComposedEdits]]:
    """The overlay with the edits of ``fixes`` applied: each file once, with every edit made on its text at the
    start of the pass (the fixes of one pass never overlap); and every file's edits so far, as edits of its
    original text (for the diff). ``parsed``: the run's syntax trees (ConfigLoader.parsed), given the edited
    files' new trees where they can be made from the old ones (hcl/reparse.py); ``linted``: only for these files
    (None: every one), those the lint that verifies the edits reads."""
    trial = dict(overlay)
    trial_composed = dict(composed)
    by_file: dict[str, list] = {}
    for finding in fixes:
        for edit in finding.fix.edits:
            by_file.setdefault(edit.file, []).append(edit)
    for shown, edits in by_file.items():
        absolute = _absolute(shown)
        current = trial.get(absolute)
        if current is None:
            current = sources.get(shown) or read_source(shown)
            originals.setdefault(absolute, current)
        new_text = apply_edits(current.text, edits)
        trial[absolute] = SourceFile(current.path, new_text, current.has_bom)
        if parsed is not None and (linted is None or shown in linted):
            _reparsed(parsed, shown, current.text, new_text, edits)
        start = trial_composed.get(absolute) or ComposedEdits(len(originals[absolute].text))
        trial_composed[absolute] = start.apply(edits)
    return trial, trial_composed


def _reparsed(parsed: dict, shown: str, old: str, new: str, edits: list) -> None:
    """The edited file's tree, made from its tree before the edits, for the lint that verifies them."""
    body = parsed.get(("hcl", shown, old))
    if isinstance(body, ast.Body) and ("hcl", shown, new) not in parsed:
        tree = reparse(body, old, new, edits)
        if tree is not None:
            parsed[("hcl", shown, new)] = tree


def _forget_others(parsed: dict, overlay: dict[str, SourceFile], originals: dict[str, SourceFile],
                   edited: set[str]) -> None:
    """Keep the trees of the edited files' texts that a later lint may read (the original and the current one):
    a tree of every pass and every tried half of one would otherwise stay in memory until the end. ``edited``:
    the files (as shown) any fix has edited, the only ones with other texts."""
    for key in [k for k in parsed if k[1] in edited and _absolute(k[1]) in originals]:
        absolute = _absolute(key[1])
        current = overlay.get(absolute)
        if key[2] != originals[absolute].text and (current is None or key[2] != current.text):
            del parsed[key]


def _priority(f: Finding) -> tuple:
    """Flag fixes first: a key fix may need the flag (NEP002 needs NEP001's storage_encrypted)."""
    action = f.context.rule.fix.get("action") if f.context is not None and f.context.rule.fix else ""
    return (0 if action == "set_attribute" else 1, f.location.file, f.location.line, f.rule_id, f.address)


def _unwritable(finding: Finding, tree: Tree, known: dict[str, str] | None = None) -> str:
    """Why a fix must not be applied: one of its files is a link, outside the tree or read-only. ``known``: the
    answers for the files asked about before in the run (every pass asks again for every candidate)."""
    for edit in finding.fix.edits:
        why = known.get(edit.file) if known is not None else None
        if why is None:
            why = tree.why_not_written(edit.file)
            if known is not None:
                known[edit.file] = why
        if why:
            return f"{edit.file} {why}, not fixed"
    return ""


LOCAL_ACTIONS = ("set_attribute", "repoint_key")


def _pass(candidates: list[Finding], tree: Tree, overlay: dict[str, SourceFile], originals: dict[str, SourceFile],
          rejected: dict[tuple[str, str, str], str], limit: int, unwritable: dict[str, str] | None = None
          ) -> list[Finding]:
    """The fixes one pass applies together: in priority order, each candidate that neither overlaps nor conflicts
    with one looked at before it in the pass, so the result is what applying them one at a time gives.

    A fix conflicts with an earlier one when it edits the same block or text (its edits would be made again on
    the changed text). A fix that reads the module (a key to reuse or add, a policy, a new block) also
    conflicts with any earlier fix of the pass in that module's directory (`touched`): that one may add the key
    it would reuse, or reveal a finding whose fix goes first; unless both only read the module and edit nothing
    but their own resource (keys reused: `readers`), which changes nothing the other reads. It conflicts too
    when its resource names an earlier fix's resource, directly or through other blocks (an instance's volume
    made from a snapshot of a volume that a key fix encrypts needs a different fix, or none). Fixes that set
    an argument of their own resource (LOCAL_ACTIONS) read neither. Fixes that wait are made again in the next
    pass from the changed files (or are gone). A fix that cannot be written or applied is rejected when it
    comes first, as it would be when tried alone.
    """
    batch: list[Finding] = []
    seen = _Regions()
    touched: set[str] = set()  # directories of the fixes looked at in this pass
    readers: set[str] = set()  # ... where every one of them was a reader
    fixed: set[str] = set()  # the resources (type.name) of the fixes looked at in this pass
    names = _Names()
    for candidate in candidates:
        if len(batch) >= limit:
            break
        why = _unwritable(candidate, tree, unwritable) or _unappliable(candidate, overlay, originals)
        if why:
            if not batch:
                rejected[_key(candidate)] = why
            continue  # otherwise it comes first in a later pass, unless a fix of this one makes it unnecessary
        regions, contained = _footprint(candidate)
        directories = {os.path.dirname(file) for file, _, _ in regions}
        spec = candidate.context.rule.fix
        reads_module = spec.get("action") not in LOCAL_ACTIONS or bool(spec.get("new_resource"))
        reader = reads_module and contained
        subject, graph = _subject(candidate)
        later = seen.meets(regions)
        if reads_module and not later:
            later = not directories.isdisjoint(touched - readers if reader else touched) \
                or not fixed.isdisjoint(names.named_by(subject, graph))
        fixed.add(f"{subject.type}.{subject.name}")
        seen.add(regions)
        readers |= directories - touched if reader else set()
        readers -= set() if reader else directories
        touched |= directories
        if not later:
            batch.append(candidate)
    return batch


def _unappliable(finding: Finding, overlay: dict[str, SourceFile], originals: dict[str, SourceFile]) -> str:
    """Why a fix's edits cannot be made on the files as they are (what apply_edits would raise), else ""."""
    sources = finding.context.graph.sources if finding.context is not None else {}
    by_file: dict[str, list] = {}
    for edit in finding.fix.edits:
        by_file.setdefault(edit.file, []).append(edit)
    for shown, edits in by_file.items():
        absolute = _absolute(shown)
        if absolute not in overlay and shown not in sources and absolute not in originals:
            try:
                originals[absolute] = read_source(shown)
            except OSError as exc:
                return f"cannot apply: {exc}"
        ordered = sorted(edits, key=lambda e: (e.start, e.end))
        if any(a.end > b.start for a, b in zip(ordered, ordered[1:])):
            return "cannot apply: edits overlap"
    return ""


def _subject(finding: Finding):
    """The resource a fix edits, and its graph (for a plan's finding, the configuration's)."""
    subject = finding.context.result.resource or finding.context.resource
    graph = finding.context.graph
    hcl = getattr(subject, "hcl_resource", None)
    if hcl is not None and graph.hcl_companion is not None:
        return hcl, graph.hcl_companion
    return subject, graph


_NAMED = re.compile(r"\b([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


class _Names:
    """The resources (type.name) a resource's block names, directly or through the blocks of those it names."""

    def __init__(self):
        self.direct: dict[tuple[int, str], set[str]] = {}

    def named_by(self, resource, graph) -> set[str]:
        found: set[str] = set()
        todo = [f"{resource.type}.{resource.name}"]
        while todo:
            for name in self._direct(graph, todo.pop()):
                if name not in found:
                    found.add(name)
                    todo.append(name)
        return found

    def _direct(self, graph, address: str) -> set[str]:
        key = (id(graph), address)
        names = self.direct.get(key)
        if names is None:
            names = self.direct[key] = set()
            type_, _, name = address.partition(".")
            for resource in graph.of_type(type_):
                span = getattr(resource, "block_span", None)
                source = graph.sources.get(span.file) if span is not None and resource.name == name else None
                if source is not None:
                    names.update(f"{t}.{n}" for t, n in _NAMED.findall(source.text, span.start, span.end))
        return names


def _footprint(finding: Finding) -> tuple[list[tuple[str, int, int]], bool]:
    """What a fix touches (absolute file, start, end): its edits and the block of the resource it fixes; and
    whether every edit is inside that block."""
    regions = [(_absolute(e.file), e.start, e.end) for e in finding.fix.edits]
    subject, _ = _subject(finding)
    span = getattr(subject, "block_span", None)
    if span is None:
        return regions, False
    block = (_absolute(span.file), span.start, span.end)
    contained = all(file == block[0] and block[1] < start and end < block[2] for file, start, end in regions)
    return regions + [block], contained


def _absolute(shown: str) -> str:
    return _resolved(shown, os.getcwd())


@lru_cache(maxsize=4096)
def _resolved(shown: str, cwd: str) -> str:  # shown paths are relative to the current directory
    return str(Path(shown).resolve())


class _Regions:
    """Ranges of files, merged where they meet: does a new range meet (overlap or touch) any of them?"""

    def __init__(self):
        self.starts: dict[str, list[int]] = {}
        self.ends: dict[str, list[int]] = {}

    def meets(self, regions: list[tuple[str, int, int]]) -> bool:
        for file, start, end in regions:
            starts = self.starts.get(file)
            if starts:
                i = bisect_right(starts, end)
                if i and self.ends[file][i - 1] >= start:
                    return True
        return False

    def add(self, regions: list[tuple[str, int, int]]) -> None:
        for file, start, end in regions:
            starts, ends = self.starts.setdefault(file, []), self.ends.setdefault(file, [])
            lo, hi = bisect_left(ends, start), bisect_right(starts, end)
            if lo < hi:
                start, end = min(start, starts[lo]), max(end, ends[hi - 1])
            starts[lo:hi], ends[lo:hi] = [start], [end]


def _sources(findings: list[Finding], own: bool = False) -> dict[str, SourceFile]:
    """Every file the findings' graphs read, a file's from the last finding's graph that read it. Each graph is read
    once, in the order of its last finding: a root's findings share its graph, and copying it per finding was
    quadratic. ``own``: only the files each graph's root itself read (Graph.files_checked): when the roots' graphs
    come from different lints (_Roots), a graph's view of the lint's other files may hold edits of a try that
    was not kept."""
    graphs: dict[int, object] = {}
    for finding in findings:
        if finding.context is not None:
            graphs.pop(id(finding.context.graph), None)
            graphs[id(finding.context.graph)] = finding.context.graph
    sources: dict[str, SourceFile] = {}
    for graph in graphs.values():
        if own:
            view = graph.sources
            sources.update((f, view[f]) for f in graph.files_checked if f in view)
        else:
            sources.update(graph.sources)
    return sources


class _Root:
    """One root module's results in a lint of the fix run: what verification and the next pass need."""

    __slots__ = ("target", "graph", "findings", "keys", "diags", "_reads")

    def __init__(self, target, graph, options: LintOptions):
        self.target, self.graph, self.findings = target, graph, []
        self.keys, self.diags = _config_findings([graph], options), _diagnostics([graph])
        self._reads = None

    def reads(self, name: str) -> tuple[set[str], set[str]]:
        """The directories whose files the root reads (its own, its modules'), and the files it read (absolute)."""
        if self._reads is None:
            files = {_absolute(f) for f in self.graph.files_checked}
            self._reads = ({os.path.dirname(f) for f in files} | {_absolute(name)}, files | self.graph.files_read)
        return self._reads


class _Roots:
    """Every root's results, from the lints of the fix run: a fix changes only the verdicts of the roots that read
    a file it edits (or whose directories would hold a new one), so a verifying lint checks those roots only, and
    the others keep what an earlier lint gave them. ``whole``: the run itself, when every root's results are from
    one whole lint of the current files (its report is then the fixed files' report)."""

    def __init__(self, by_root: dict[str, _Root], whole):
        self.by_root = by_root  # in the order of the run's targets
        self.whole = whole

    @classmethod
    def of(cls, run, options: LintOptions) -> "_Roots | None":
        """None when verification must lint everything: a plan (its findings map to a configuration), or a graph
        that is not one of the run's root modules."""
        if any(t.kind != "module" for t in run.targets):
            return None
        targets = {display_path(t.path): t for t in run.targets}
        by_root = cls._split(run, targets, options)
        return None if by_root is None else cls(by_root, run)

    @staticmethod
    def _split(run, targets: dict, options: LintOptions) -> dict[str, _Root] | None:
        by_root: dict[str, _Root] = {}
        for graph in run.graphs:
            target = targets.get(graph.root_dir)
            if target is None or graph.root_dir in by_root or graph.kind != "hcl":
                return None
            by_root[graph.root_dir] = _Root(target, graph, options)
        for finding in run.report.findings:  # in the report's order: suppressions, exclusions applied
            root = by_root.get(_root(finding)) if finding.context is not None else None
            if root is not None:
                root.findings.append(finding)
        return by_root

    def findings(self) -> list[Finding]:
        """The roots' findings in the order one lint of them all reports them (candidates with equal priority
        keep it)."""
        every = [f for root in self.by_root.values() for f in root.findings]
        every.sort(key=lambda f: (f.location.file, f.location.line, f.location.column, f.rule_id, f.address))
        return every

    def keys(self) -> set:
        return set().union(*(root.keys for root in self.by_root.values()))

    def diags(self) -> set:
        return set().union(*(root.diags for root in self.by_root.values()))

    def reached(self, fixes: list[Finding]) -> dict[int, frozenset[str]]:
        """The roots each fix may change: those that read a file it edits, or whose root or module directories
        hold one (a new file there is read too)."""
        by_dir: dict[str, set[str]] = {}
        by_file: dict[str, set[str]] = {}
        for name, root in self.by_root.items():
            directories, files = root.reads(name)
            for directory in directories:
                by_dir.setdefault(directory, set()).add(name)
            for file in files:
                by_file.setdefault(file, set()).add(name)
        reached = {}
        for fix in fixes:
            names: set[str] = set()
            for edit in fix.fix.edits:
                file = _absolute(edit.file)
                names |= by_dir.get(os.path.dirname(file), set()) | by_file.get(file, set())
            reached[id(fix)] = frozenset(names)
        return reached

    def grouped(self, group: list[Finding], reached: dict[int, frozenset[str]]) -> list[tuple]:
        """The fixes of a try grouped by the roots they reach (fixes sharing a root go together; a fix that reaches
        none is a group of its own), each group as (its roots, their current results, its fixes' edits): the key
        a try of it is kept under (``tried``)."""
        parent: dict[str, str] = {}  # union-find over roots

        def top(name: str) -> str:
            while parent.setdefault(name, name) != name:
                name = parent[name]
            return name

        for fix in group:
            names = sorted(reached[id(fix)]) or [f"#{id(fix)}"]
            for name in names[1:]:
                parent[top(name)] = top(names[0])
        groups: dict[str, tuple[list[str], list[Finding]]] = {}
        for fix in group:
            names = reached[id(fix)]
            groups.setdefault(top(min(names)) if names else top(f"#{id(fix)}"), ([], []))[1].append(fix)
        for name in self.by_root:
            if name in parent:
                groups[top(name)][0].append(name)
        return [(tuple(names), tuple(self.by_root[name] for name in names),
                 tuple(tuple((e.file, e.start, e.end, e.replacement) for e in fix.fix.edits) for fix in fixes))
                for names, fixes in groups.values()]

    @staticmethod
    def to_lint(groups: list[tuple], tried: dict) -> list[tuple]:
        """The groups a verifying lint must check: those not tried before, that reach a root."""
        return [key for key in groups if key not in tried and key[0]]

    def verified(self, paths: list[str], options: LintOptions, trial: dict[str, SourceFile], groups: list[tuple],
                 tried: dict):
        """The roots' results with the groups' fixes applied (``trial``), and the lint made, if whole. A group
        already tried with the same edits on the same results of its roots (``tried``: earlier in the pass, or in
        an earlier pass when no fix has changed its roots' files since) keeps that try's results: its roots read
        only files its own fixes edit. The other groups' roots are linted together, in one lint, whole when that
        is every root."""
        new = dict(self.by_root)
        todo = self.to_lint(groups, tried)
        for key in groups:
            if key in tried:
                new.update(tried[key])
        whole = None
        needed = {name for key in todo for name in key[0]}
        if needed:
            if len(needed) == len(self.by_root):
                whole = _state(paths, options, trial)
                run = whole
            else:
                options.targets = [root.target for name, root in self.by_root.items() if name in needed]
                try:
                    run = _state(paths, options, trial)
                finally:
                    options.targets = None
            linted = self._split(run, {display_path(t.path): t for t in run.targets}, options)
            if linted is None or not needed <= linted.keys():
                raise RuntimeError("a root's lint gave no graph for it")  # the targets are the first lint's own
            for key in todo:
                tried[key] = {name: linted[name] for name in key[0]}
                new.update(tried[key])
        return whole, _Roots(new, whole)

    def forget_stale(self, tried: dict) -> None:
        """Forget the tries made on results that are no longer the roots' (their files have changed since)."""
        for key in [k for k in tried if any(self.by_root.get(name) is not root for name, root in zip(k[0], k[1]))]:
            del tried[key]


def run_fix(paths: list[str], options: LintOptions, unsafe: bool = False, write: bool = True,
            one_at_a_time: bool = False, first: LintRun | None = None) -> FixOutcome:
    """Apply fixes in passes: each pass applies every candidate that does not overlap or conflict with an earlier
    one (`_pass`) and lints once. ``one_at_a_time`` makes each pass one fix: the reference the passes must equal.
    ``first``: the run of the same paths and options (keep_verdicts on) that `check --diff` has already made."""
    overlay: dict[str, SourceFile] = {}
    originals: dict[str, SourceFile] = {}
    composed: dict[str, ComposedEdits] = {}
    applied: list[Applied] = []
    rejected: dict[tuple[str, str, str], str] = {}
    done: set[tuple[str, str]] = set()  # plan findings whose configuration was fixed (the plan is now stale)
    if options.parsed is None:  # every lint of the run reads the files the others parsed (ConfigLoader.parsed)
        options.parsed = {}
    recording = options.record_evaluations
    state = first if first is not None else _state(paths, options, overlay)
    on_disk = state.report  # what the files say until the fixed ones are written
    tree = options.tree  # set by lint from the paths
    roots = _Roots.of(state, options)  # None: every lint is whole (a plan)
    keys, diags = _config_findings(state.graphs, options), _diagnostics(state.graphs)
    tried: dict = {}  # groups of fixes already linted, with their roots' results (_Roots.verified)
    edited: set[str] = set()  # every file a try edited, as shown
    unwritable: dict[str, str] = {}  # why a file may not be written, per file (_unwritable)
    while True:
        findings = state.report.findings if roots is None else roots.findings()
        candidates = sorted((f for f in findings if _allowed(f, unsafe) and _key(f) not in rejected
                             and (f.rule_id, _config_address(f)) not in done
                             and (f.rule_id, _config_address(f), "fail") in keys), key=_priority)
        batch = _pass(candidates, tree, overlay, originals, rejected, 1 if one_at_a_time else len(candidates),
                      unwritable)
        if not batch:
            break
        size = len(batch)
        reached = roots.reached(batch) if roots is not None else {}
        while size:  # a pass that fails verification is tried again with its first half, down to one fix
            group = batch[:size]
            groups = roots.grouped(group, reached) if roots is not None else []
            linted = None if roots is None else {e[0] for key in roots.to_lint(groups, tried) for edits in key[2]
                                                 for e in edits}
            trial, trial_composed = _apply(overlay, originals, group, _sources(group, roots is not None), composed,
                                           options.parsed, linted)
            if roots is None:
                new_state = _state(paths, options, trial)
                new_roots = None
                new_keys, new_diags = _config_findings(new_state.graphs, options), _diagnostics(new_state.graphs)
            else:
                new_state, new_roots = roots.verified(paths, options, trial, groups, tried)
                new_keys, new_diags = new_roots.keys(), new_roots.diags()
            why = next((w for w in (_verify(keys, new_keys, diags, new_diags, c) for c in group) if w), "")
            if not why:
                overlay, keys, diags, composed = trial, new_keys, new_diags, trial_composed
                state = new_state if new_state is not None else state
                roots = new_roots
                if roots is not None:
                    roots.forget_stale(tried)
                for candidate in group:
                    applied.append(Applied(candidate.rule_id, candidate.address, candidate.fix.title,
                                           candidate.fix.applicability))
                    done.add((candidate.rule_id, _config_address(candidate)))
            edited.update(e.file for candidate in group for e in candidate.fix.edits)
            _forget_others(options.parsed, overlay, originals, edited)  # the texts of the pass before, or of this try
            if not why:
                break
            if size == 1:
                rejected[_key(group[0])] = why  # never tried again: each fix costs one try at most
                break
            size //= 2
    if roots is not None and not roots.whole:  # the report: the fixed files' whole lint
        state = _state(paths, options, overlay)
    changed = {p: s for p, s in overlay.items() if originals.get(p) is None or originals[p].text != s.text}
    report = state.report
    if any(g.kind == "plan" for g in state.graphs) and applied:
        # the plan still shows what was fixed in its configuration; report what the configuration says
        report.findings = [f for f in report.findings
                           if f.rule_id == "PLN001" or (f.rule_id, _config_address(f), f.verdict.value) in keys]
        report.notices.append("the plan is now out of date: run terraform plan again to review the fixed configuration")
    outcome = FixOutcome(applied, report, {p: originals[p] for p in changed}, changed, rejected,
                         unsafe_allowed=unsafe, settings=report.settings, edits=composed)
    if write and changed:
        try:
            outcome.written = write_files({p: (originals[p], s) for p, s in changed.items()})
        except WriteError as exc:
            outcome.not_written = str(exc)
            outcome.report = on_disk  # nothing was written: the findings are all still there
    options.overlay = None
    options.keep_verdicts = False
    options.parsed = None
    options.record_evaluations = recording
    return outcome


def combined_diff(findings: list[Finding], outcome: FixOutcome) -> str:
    """`iaclint check --diff`: one patch that `git apply` accepts, made the way `fix --unsafe-fixes` would.

    Fixes are applied in sequence, so two fixes that touch the same lines (two instances of one
    block, a key added once and reused) give one hunk, not two that contradict each other.
    """
    lines = ["# iaclint check --diff: every fix that `iaclint fix --unsafe-fixes` would apply, as one patch "
             "(git apply)"]
    applied = {(a.rule_id, a.address) for a in outcome.applied}
    for a in outcome.applied:
        lines.append(f"# [{'fix' if a.applicability is Applicability.SAFE else 'unsafe fix'}] {a.rule_id} "
                     f"{a.address}: {a.title}")
    for f in findings:
        if f.fix is None or f.suppression is not None or (f.rule_id, f.address) in applied:
            continue
        if f.fix.applicability is Applicability.DISPLAY:
            lines.append(f"# [suggestion, not in the patch] {f.rule_id} {f.address}: {f.fix.title} ({f.fix.note})")
        elif f.verdict is Verdict.FAIL:
            why = outcome.rejected.get(_key(f), "made unnecessary by another fix")
            lines.append(f"# [not in the patch] {f.rule_id} {f.address}: {why}")
    patch = outcome.diff()
    if not patch and len(lines) == 1:
        return "no fixes to suggest\n"
    return "\n".join(lines) + "\n" + patch
