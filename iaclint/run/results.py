"""Root modules' results kept between runs: a warm `check` re-reads each input of a root, and when every one is as it
was, reuses the root's findings without parsing or evaluating anything.

While a root is checked, a Recorder (iaclint/recording.py, set in a context variable, so the readers need no extra
argument) notes every
input the result depends on, at the place it is read: each file (.tf, .tf.json, .tofu, tfvars, module files, the
lock file, modules.json, .terraform/environment, files read by file(), templatefile(), fileexists() and fileset()),
each directory whose listing decided what was read (a module's directory, fileset()'s folders), and each path whose
absence decided something (a module source that is not there). A file is noted with a digest of its bytes, and
whether it is a symbolic link and where it points (the tree's confinement judges links); a directory with its names.
The environment (TF_* and IACLINT_* variables), the options that shape findings (variables, variable files,
workspace, limits, selected rules, user rules with their contents, inline suppressions, the current directory, the
tree reads are confined to) and the file scope of the target make the entry's name; iaclint's version, its sources
and the parser's libraries make the generation folder, so another version never reads an entry.

An entry holds what the root contributes to the report before the run-wide steps (the merge of module-call findings,
baselines, --since, formatting): its findings with their fixes and inline suppressions already attached, the
suppression-comment findings of its files, its notices, evaluations, providers and file lists. Fresh roots' findings
go through the same encoding, so a report is the same cold, warm or with --no-cache.

The roots' entries of a run are kept in one file, named after the run's key (each entry its own msgpack inside),
read once and written once per run: a file per root cost more to create than checking a small root. Entries are
msgpack of plain values in hcl/cache.py's machinery (signed with the user's key kept outside the cache,
private folders, no link followed, pruned): a tampered, foreign or old entry is a miss. `--no-cache` and
IACLINT_NO_CACHE=1 turn it off with the parse cache. Only `check` without --diff, --base, --since and --staged uses
it (`fix`, those and the language server need syntax trees and graphs), and neither Terragrunt units nor plans are
kept. A run that keeps results reads the parse cache but writes no syntax trees to it (run/lint.py): a changed root
is kept again in its turn, and the modes that need trees write them; one file per parsed file cost a third of a cold
run on a tree of many small roots.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from iaclint.graph.config import is_unit
from iaclint.model import (Applicability, Edit, Finding, Fix, Location, Related, Severity, Suppression, Verdict)
from iaclint.recording import RECORDER, Recorder, digest, listing_state, path_state

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any

FORMAT = 1  # the entry layout below; part of the generation


# ---- the generation and the entry's name ------------------------------------------------------------


@lru_cache(maxsize=1)
def results_generation() -> str:
    """Changes with iaclint's version, any of its files (code, rules, schemas) and the parser's libraries: told
    apart by path, size and modification time, as hcl/cache.py tells libraries apart."""
    from iaclint import __version__
    from iaclint.hcl.cache import generation

    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(f"{__version__}|{FORMAT}|{generation()}".encode())
    for folder, subdirs, files in os.walk(package):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".yaml", ".yml", ".json", ".lark", ".scm")):
                full = os.path.join(folder, name)
                try:
                    info = os.stat(full)
                except OSError:
                    continue
                digest.update(f"|{full}:{info.st_size}:{info.st_mtime_ns}".encode())
    rules = package.parent / "rules"  # a source checkout keeps the rules beside the package
    if rules.is_dir():
        for entry in sorted(os.scandir(rules), key=lambda e: e.name):
            info = entry.stat()
            digest.update(f"|{entry.path}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def _today() -> str:
    from datetime import date  # only for entries that depend on the day: most runs never ask

    return date.today().isoformat()


def _run_key(options, rules, tree) -> list:
    """Everything of the run, not of the root, that shapes a root's result."""
    environ = os.environ if options.environ is None else options.environ
    env = sorted((k, digest(v.encode("utf-8", "surrogateescape"))) for k, v in environ.items()
                 if k.startswith(("TF_", "IACLINT_", "TERRAGRUNT_")))
    from iaclint.engine.rules import rules_dir

    selection = options.selection
    bundled = str(rules_dir()) + os.sep  # in the generation already
    rule_states = []
    for rule in rules:
        where = getattr(rule, "path", "") or ""
        rule_states.append([rule.id, where, "" if where.startswith(bundled) else _rule_state(where)])
    var_files = [[f, path_state(f)] for f in list(options.var_files) + list(options.shared_var_files)]
    return [
        os.getcwd(), [str(r) for r in getattr(tree, "roots", ())], repr(tree),
        list(options.var_files), list(options.shared_var_files), list(options.cli_vars),
        sorted(selection.select) if selection.select is not None else None, sorted(selection.ignore),
        sorted((k, str(getattr(v, "value", v))) for k, v in selection.severity.items()),
        repr(options.limits), options.workspace, options.default_workspace, options.opentofu,
        options.inline_suppressions, options.record_evaluations, options.recursive, env, rule_states, var_files,
    ]


def _rule_state(path: str) -> str:
    return path_state(path) if path else ""


# ---- findings as plain data ---------------------------------------------------------------------------


def _location(loc: Location | None):
    return None if loc is None else [loc.file, loc.line, loc.column, loc.end_line, loc.end_column]


def _unlocation(data) -> Location | None:
    return None if data is None else Location(*data)


def _fix_files(fix: Fix) -> list[str] | None:
    """The files a fix's diff is made from: those its edits touch (its sources are the whole graph's view, every
    file the run read so far: naming them all would make keeping many roots cost the square of their files)."""
    if fix.sources is None:
        return None
    return sorted({e.file for e in fix.edits if e.file in fix.sources})


def _encode_finding(f: Finding) -> list:
    fix = None
    if f.fix is not None:
        fix = [f.fix.title, f.fix.applicability.value, f.fix.note,
               [[e.file, e.start, e.end, e.replacement, e.source is not None] for e in f.fix.edits],
               _fix_files(f.fix)]
    suppression = None
    if f.suppression is not None:
        s = f.suppression
        suppression = [s.kind, s.justification, _location(s.location), s.expires]
    return [f.rule_id, f.rule_name, f.severity.value, f.verdict.value, f.address, _location(f.location), f.message,
            f.origin_info(), [[_location(r.location), r.message] for r in f.related], fix, f.no_fix_reason,
            suppression, f.fingerprint, f.resource_type, f.baseline_state, f.base_state, f.root, f.source_line,
            list(f.caret) if f.caret is not None else None, f.end_line_text]


def _decode_finding(data: list, sources: dict) -> Finding:
    (rule_id, rule_name, severity, verdict, address, location, message, origin, related, fix, no_fix_reason,
     suppression, fingerprint, resource_type, baseline_state, base_state, root, source_line, caret,
     end_line_text) = data
    finding = Finding(rule_id, rule_name, Severity(severity), Verdict(verdict), address, _unlocation(location),
                      message, origin, tuple(Related(_unlocation(loc), text) for loc, text in related) or ())
    if fix is not None:
        title, applicability, note, edits, files = fix
        shown = None if files is None else {name: sources[name] for name in files if name in sources}
        finding.fix = Fix(title, Applicability(applicability), tuple(
            Edit(file, start, end, text, sources.get(file) if located else None)
            for file, start, end, text, located in edits), note, shown)
    if suppression is not None:
        kind, justification, loc, expires = suppression
        finding.suppression = Suppression(kind, justification, _unlocation(loc), expires)
    finding.no_fix_reason = no_fix_reason
    finding.fingerprint = fingerprint
    finding.resource_type = resource_type
    finding.baseline_state = baseline_state
    finding.base_state = base_state
    finding.root = root
    finding.source_line = source_line
    finding.caret = tuple(caret) if caret is not None else None
    finding.end_line_text = end_line_text
    return finding


class _Provider:
    """A stored provider description, shaped as graph.providers' values are for lint."""

    def __init__(self, data: dict):
        self._data = data

    def to_dict(self) -> dict:
        return dict(self._data)


class KeptRoot:
    """A root's stored result, standing in for its graph where lint reads a graph's lists (no tree, no values)."""

    def __init__(self, entry: dict, sources: dict):
        self.findings = [_decode_finding(f, sources) for f in entry["findings"]]
        self.checked = [tuple(c) for c in entry["checked"]]
        self.notices = list(entry["notices"])
        self.files_checked = list(entry["files_checked"])
        self.files_read = set(entry["files_read"])
        self.providers = {str(i): _Provider(p) for i, p in enumerate(entry["providers"])}
        self.root_dir = entry["root_dir"]
        self.comment_findings = [_decode_finding(f, sources) for f in entry["comments"]]


# ---- the run's results cache ---------------------------------------------------------------------------


class RootResults:
    """The results cache of one `check` run: reuse() a root's kept result, or record it while it is checked and
    store() it."""

    def __init__(self, options, rules, tree, cache) -> None:
        self.cache = cache  # a ParseCache in the results folder: the same key, folders and checks
        self.options = options
        self.tree = tree  # the run's: each directory listed once
        self.run_key = json.dumps(_run_key(options, rules, tree), default=str)
        self._run_digest = hashlib.sha256(("entry\0" + self.run_key + "\0").encode("utf-8", "surrogateescape"))
        self.states: dict[tuple[str, str], str] = {}  # inputs verified this run (roots share modules)
        self.sources: dict[str, Any] = {}  # files fixes of kept findings edit, read once per run
        self.comment_findings: list[Finding] = []  # kept roots' suppression-comment findings
        self.hits = 0
        self._looked_up: dict[int, KeptRoot | None] = {}  # id(target) -> what to_build found
        self._recorder: Recorder | None = None
        self._token = None
        self._name = ""
        # one file for the run's roots, read once and written once: a file per root cost more to create than
        # checking a small root (KICS's fixtures: 707 roots). Named after the run's key, so the same command
        # finds it again; entries of roots another command checked with this key are carried over.
        self._pack_name = hashlib.sha256(("pack\0" + self.run_key).encode("utf-8", "surrogateescape")).hexdigest()
        pack = cache.get_record(self._pack_name)  # root entry name -> the entry's own msgpack, decoded when asked
        self._pack: dict = pack if isinstance(pack, dict) else {}
        self._stored: dict[str, bytes] = {}  # encoded as stored: a root's findings are not held twice meanwhile

    def _entry_name(self, target) -> str | None:
        """The name of the root's entry; None for what is never kept: plans, and Terragrunt units (Terragrunt reads
        more than is recorded here: includes, its own cache). The run's key is hashed once, each root's scope after it."""
        if target.kind != "module" or target.text is not None or is_unit(target.path, self.tree):
            return None
        scope = [sorted(target.only_files) if target.only_files is not None else None,
                 list(target.extra_var_files), list(target.whole_reasons), sorted(target.reads)]
        key = self._run_digest.copy()
        key.update(json.dumps([os.fspath(target.path), scope], default=str).encode("utf-8", "surrogateescape"))
        return key.hexdigest()

    def to_build(self, targets: list) -> list:
        """The targets whose kept result cannot be reused (looked up now, for reuse() to give)."""
        for target in targets:
            self._looked_up[id(target)] = self._lookup(self._entry_name(target))
        return [t for t in targets if self._looked_up[id(t)] is None]

    def _lookup(self, name: str | None) -> KeptRoot | None:
        if name is None or not self._pack:
            return None
        from iaclint.hcl.cache import decode_data

        packed = self._pack.get(name)
        if not isinstance(packed, bytes):
            return None
        try:
            entry = decode_data(packed)
        except Exception:  # signed with the user's key, but not this layout: a miss, never trusted
            return None
        return self._valid(entry)

    def reuse(self, target) -> KeptRoot | None:
        """The root's kept result when every input it recorded is unchanged; otherwise None, and what the root
        reads from now on is recorded for store()."""
        self._stop()
        name = self._entry_name(target)
        kept = self._looked_up.pop(id(target)) if id(target) in self._looked_up else self._lookup(name)
        if kept is not None:
            self.hits += 1
            self.comment_findings.extend(kept.comment_findings)
            return kept
        if name is None:
            return None
        self._name = name
        self._recorder = Recorder()
        self._token = RECORDER.set(self._recorder)
        return None

    def _valid(self, entry: Any) -> KeptRoot | None:
        try:
            if entry.get("day") is not None and entry["day"] != _today():
                return None  # a suppression may have expired since
            for kind, path, state in entry["inputs"]:
                key = (kind, path)
                now = self.states.get(key)
                if now is None:
                    now = self.states[key] = listing_state(path) if kind == "l" else path_state(path, kind == "p")
                if now != state:
                    return None
            sources = {}
            states = {path: state for kind, path, state in entry["inputs"] if kind == "p"} if entry["sources"] else {}
            for name in entry["sources"]:
                source = self._source(name, states.get(name))
                if source is None:
                    return None
                sources[name] = source
            return KeptRoot(entry, sources)
        except Exception:  # signed with the user's key, but not this layout: a miss, never trusted
            return None

    def _source(self, name: str, state: str | None):
        """The file a kept fix edits, as it was read when the entry was made (its digest is checked again)."""
        from iaclint.source import SourceError, decode_source

        if name in self.sources:
            return self.sources[name]
        if state is None:
            return None
        try:
            data = Path(name).read_bytes()
            if not state.endswith("f" + digest(data)):
                return None
            source = decode_source(name, data)
        except (OSError, SourceError):
            return None
        self.sources[name] = source
        return source

    def _stop(self) -> None:
        if self._token is not None:
            RECORDER.reset(self._token)
        self._token = None
        self._recorder = None

    def close(self) -> None:
        """Write the run's pack when a root was stored: kept entries carried over, new ones replacing theirs."""
        self._stop()
        if self._stored:
            self.cache.put_record(self._pack_name, {**self._pack, **self._stored})

    def store(self, target, graph, findings: list[Finding], checked: list) -> list[Finding]:
        """Keep the root's result (fixes and suppressions attached, as `check` reports them) and return its
        findings as a kept root gives them, so reports are the same cold and warm."""
        recorder = self._recorder
        if recorder is None:
            return findings
        from iaclint.engine.suppressions import apply_suppressions
        from iaclint.fixes.builder import attach_fixes

        notices = list(dict.fromkeys(graph.notices))  # lint has taken them: fix building adds none to a report
        files_read = sorted(graph.files_read)
        attach_fixes(findings)  # may evaluate more, and read more: still recorded
        own = recorder.shown | {path for kind, path in recorder.inputs if kind == "p"}
        own_sources = _own_sources(graph, own)
        comments: list[Finding] = []
        if self.options.inline_suppressions:
            view = _OwnFiles(graph, own_sources)
            comments = apply_suppressions(findings, [view])
        edited = sorted({e.file for f in findings if f.fix is not None for e in f.fix.edits
                         if e.file in graph.sources})
        for name in edited:  # read already, under another name maybe: noted as the fixes name it
            recorder.file(name, graph.sources[name].encoded)
        self._stop()
        day = None
        if any("exp" in source.text for source in own_sources.values()):  # expires=, exp:
            day = _today()
        entry = {
            "inputs": [[kind, path, state] for (kind, path), state in recorder.inputs.items()],
            "findings": [_encode_finding(f) for f in findings],
            "comments": [_encode_finding(f) for f in comments],
            "checked": [list(c) for c in checked],
            "notices": notices,
            "files_checked": list(graph.files_checked),
            "files_read": files_read,
            "providers": [info.to_dict() for info in graph.providers.values()],
            "root_dir": graph.root_dir,
            "sources": edited,
            "day": day,
        }
        for name in edited:
            self.sources.setdefault(name, graph.sources[name])
        from iaclint.hcl.cache import encode_data

        try:
            self._stored[self._name] = encode_data(entry)
        except (ValueError, TypeError, OverflowError, UnicodeEncodeError, RecursionError):
            pass  # not kept (a value msgpack refuses): checked afresh next time
        try:
            return KeptRoot(entry, {name: graph.sources[name] for name in edited}).findings
        except Exception:
            return findings


class _OwnFiles:
    """A graph seen through the files one root read: its suppression comments, without the other roots'."""

    def __init__(self, graph, own_sources: dict):
        self.sources = own_sources
        self.blocks = graph.blocks
        self.hcl_companion = None


def _own_sources(graph, own: set[str]) -> dict:
    """The sources of the files one root read, in the order they were read. Looked up by name: a root's graph
    sees every file the run read before it (graph/config.SourcesView), so walking it per root is quadratic."""
    sources = graph.sources
    found = [(name, sources[name]) for name in own if name in sources]
    order = getattr(sources, "ordinal", None) or {}
    found.sort(key=lambda item: (order.get(item[0], len(order)), item[0]))
    return dict(found)


def open_results(options, rules, tree, notices: list[str]) -> RootResults | None:
    """The run's results cache, or None: off (--no-cache, IACLINT_NO_CACHE=1, a cache that cannot be trusted) or
    not asked for (only `check` without --diff, --base and --since asks)."""
    if not getattr(options, "reuse_results", False) or not options.cache or options.overlay is not None \
            or options.base or options.since or options.keep_verdicts or options.staged:
        return None
    if os.environ.get("IACLINT_NO_CACHE", "") not in ("", "0"):
        return None
    from iaclint.hcl.cache import ParseCache, cache_root

    cache = ParseCache(cache_root() / "results", generation_name=results_generation(), what="the results cache",
                       within=cache_root())
    if not cache.enabled:
        for notice in cache.notices:  # e.g. a folder of another user's; the key's problem is the parse cache's too
            why = notice.partition(" is off: ")[2]
            if not any(n.endswith(f" is off: {why}") for n in notices):
                notices.append(notice)
        return None
    return RootResults(options, rules, tree, cache)


def merge_comment_findings(fresh: list[Finding], graphs: list, results: "RootResults | None") -> list[Finding]:
    """The suppression-comment findings of a run: those of the graphs built, and those of kept roots for files no
    built graph read (each file's comments once)."""
    if results is None or not results.comment_findings:
        return fresh
    scanned: set[str] = set()
    for graph in graphs:
        for g in (graph, getattr(graph, "hcl_companion", None)):
            if g is not None:
                scanned.update(g.sources)
    out = list(fresh)
    seen: set[tuple] = set()
    for f in results.comment_findings:
        key = (f.rule_id, f.location.file, f.location.line, f.location.column, f.message)
        if f.location.file in scanned or key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out

