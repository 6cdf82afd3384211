"""`iaclint lsp`: findings as you type, fixes as code actions, rule documentation on hover.

A change to a document marks the root modules that load it; after a pause in typing (the debounce), those roots
are checked again on a worker thread with every open document's unsaved text in place of its file, and the
diagnostics of every file the check touched are published, open or not. Only one check runs at a time; what
changes meanwhile is checked next, in one go. The workspace is anyone's repository: nothing in it runs code (the
checks are iaclint's own), and whatever goes wrong becomes a diagnostic or a log message, never a stopped server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from iaclint import __version__
from iaclint.lsp import convert
from iaclint.lsp.checking import SETTINGS_FILES, Checker, RootCheck
from iaclint.model import Finding
from iaclint.source import SourceFile

DEBOUNCE = 0.1  # seconds of quiet after a change before checking; initializationOptions {"debounce_ms": N}
TERRAFORM_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json")
RULE_WORD = re.compile(r"[A-Za-z0-9_-]*$")  # a rule id, name or peer id around the cursor
RULE_WORD_END = re.compile(r"^[A-Za-z0-9_-]*")
WATCHED = ["**/*.tf", "**/*.tf.json", "**/*.tfvars", "**/*.tfvars.json", "**/.iaclint.toml", "**/pyproject.toml"]


@dataclass
class Entry:
    """One published diagnostic, with the finding it shows (None for a settings error)."""

    diagnostic: lsp.Diagnostic
    finding: Finding | None = None


@dataclass
class RootState:
    """The last check of one root: its diagnostics by file, and what the fixes' positions were computed on."""

    entries: dict[str, list[Entry]] = field(default_factory=dict)  # absolute path -> entries
    positions: convert.Positions | None = None
    versions: dict[str, int] = field(default_factory=dict)  # open documents' versions the check read


@dataclass
class Snapshot:
    """What a check starts from: the open documents' text (the overlay) and versions, and the roots known."""

    overlay: dict[str, SourceFile]
    versions: dict[str, int]
    known_roots: set[Path]  # roots checked before: a checkout or a settings change checks these again


class IaclintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("iaclint", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.debounce = DEBOUNCE
        self.checker = Checker([])
        self.roots: dict[Path, RootState] = {}
        self.uris: dict[str, str] = {}  # absolute path of an open document -> the URI its client named it by
        self.pending: dict[str, bool] = {}  # absolute path -> check its roots even if never checked before
        self.timer: asyncio.TimerHandle | None = None
        self.draining: asyncio.Task | None = None
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iaclint-check")
        self.logged: set[str] = set()
        self.sent: dict[str, list[lsp.Diagnostic]] = {}  # absolute path -> the diagnostics last published

    # ---- scheduling ------------------------------------------------------------------------------

    def schedule(self, path: str, delay: float, known_roots_only: bool = False) -> None:
        """Check the roots of ``path`` after ``delay`` seconds without another change."""
        self.pending[path] = self.pending.get(path, False) or not known_roots_only
        if self.timer is not None:
            self.timer.cancel()
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(delay, self._start) if delay > 0 else None
        if delay <= 0:
            self._start()

    def _start(self) -> None:
        self.timer = None
        if self.draining is None or self.draining.done():
            self.draining = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending and self.timer is None:
            pending, self.pending = self.pending, {}
            snapshot = self._snapshot()
            try:
                checks = await loop.run_in_executor(self.worker, self._check, pending, snapshot)
                self._publish(checks, snapshot)
            except Exception as exc:  # the layout could not be read, a bug: say so and go on serving
                self.log(f"iaclint: the check failed: {exc.__class__.__name__}: {exc}", lsp.MessageType.Error)

    def _snapshot(self) -> Snapshot:
        overlay: dict[str, SourceFile] = {}
        versions: dict[str, int] = {}
        for uri, document in list(self.workspace.text_documents.items()):
            path = _path_of(uri)
            if path is None:
                continue
            text = document.source
            has_bom = text.startswith("\ufeff")
            overlay[path] = SourceFile(path, text[1:] if has_bom else text, has_bom)
            if document.version is not None:
                versions[path] = document.version
        return Snapshot(overlay, versions, set(self.roots))

    def _check(self, pending: dict[str, bool], snapshot: Snapshot) -> list[tuple[Path, RootCheck, float]]:
        """On the worker thread: the roots the changed files affect, checked one by one."""
        roots: dict[Path, None] = {}
        every_known = False
        for path, any_root in pending.items():
            if Path(path).name in SETTINGS_FILES:
                every_known = True  # settings decide every root under them
                continue
            found = self.checker.roots_of(Path(path))
            if not found:
                every_known = True  # a variables file named by the settings' var_files
            for root in found:
                if any_root or root in snapshot.known_roots:
                    roots[root] = None
        if every_known:
            roots.update(dict.fromkeys(snapshot.known_roots))
        out = []
        for root in roots:
            started = time.perf_counter()
            check = self.checker.check(root, snapshot.overlay)
            out.append((root, check, time.perf_counter() - started))
        return out

    # ---- publishing ------------------------------------------------------------------------------

    def _publish(self, checks: list[tuple[Path, RootCheck, float]], snapshot: Snapshot) -> None:
        touched: set[str] = set()
        for root, check, seconds in checks:
            old = self.roots.get(root)
            if old is not None:
                touched.update(old.entries)
            state = self._state(check, snapshot)
            self.roots[root] = state
            touched.update(state.entries)
            touched.update(path for path in check.texts if path in snapshot.overlay)  # open, now clean: say so
            for notice in check.notices:
                self.log(f"iaclint: {notice}", lsp.MessageType.Info, once=True)
            if check.error and check.settings_file is None:
                self.log(f"iaclint: {root}: {check.error}", lsp.MessageType.Error)
            self.log(f"iaclint: checked {root} in {seconds * 1000:.0f} ms: {len(check.findings)} findings")
        for path in sorted(touched):
            self._publish_file(path, snapshot.versions.get(path))

    def _state(self, check: RootCheck, snapshot: Snapshot) -> RootState:
        positions = convert.Positions(dict(check.texts), self._units)
        for path, source in snapshot.overlay.items():
            positions.texts.setdefault(path, source)
        state = RootState(positions=positions, versions=dict(snapshot.versions))
        if check.error and check.settings_file is not None:
            where = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
            state.entries[check.settings_file] = [Entry(lsp.Diagnostic(
                where, check.error, lsp.DiagnosticSeverity.Error, code="SETTINGS", source=convert.SOURCE))]
            return state
        from iaclint.engine.ruledocs import help_uri

        for finding in check.findings:
            path = convert.absolute(finding.location.file)
            if not os.path.isfile(path):  # a finding about a directory (no configuration in it): the log says it
                self.log(f"iaclint: {finding.location.file}: {finding.message}", lsp.MessageType.Warning, once=True)
                continue
            diagnostic = convert.diagnostic(finding, positions, self.uri_of, help_uri)
            state.entries.setdefault(path, []).append(Entry(diagnostic, finding))
        return state

    def _publish_file(self, path: str, version: int | None) -> None:
        """Send a file's diagnostics, unless the client has these already (a check of a 50-file root changes
        one or two files' diagnostics; the open document is always answered, for its new version)."""
        diagnostics = [entry.diagnostic for entry in self.entries_of(path)]
        if version is None and self.sent.get(path) == diagnostics:
            return
        self.sent[path] = diagnostics
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(self.uri_of(path), diagnostics, version))

    def entries_of(self, path: str) -> list[Entry]:
        """A file's entries from every root that loads it, each once (a module checked through two roots)."""
        seen: set[tuple] = set()
        out = []
        for state in self.roots.values():
            for entry in state.entries.get(path, ()):
                d = entry.diagnostic
                key = (d.code, d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character,
                       d.message)
                if key not in seen:
                    seen.add(key)
                    out.append(entry)
        return out

    def state_of(self, entry: Entry) -> RootState | None:
        for state in self.roots.values():
            if any(e is entry for entries in state.entries.values() for e in entries):
                return state
        return None

    def open_document(self, uri: str):
        """The document the client has open under this URI, or None (pygls would read a closed one from disk)."""
        return self.workspace.text_documents.get(unquote(uri))

    def uri_of(self, path: str) -> str:
        return self.uris.get(path) or from_fs_path(path) or Path(path).as_uri()

    def _units(self, text: str) -> int:
        return self.workspace.position_codec.client_num_units(text)

    def log(self, message: str, kind: lsp.MessageType = lsp.MessageType.Log, once: bool = False) -> None:
        if once:
            if message in self.logged:
                return
            self.logged.add(message)
        self.window_log_message(lsp.LogMessageParams(kind, message))


server = IaclintServer()


def _path_of(uri: str) -> str | None:
    """The resolved path of a file: URI (symbolic links followed, as iaclint names files); None for others."""
    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    if not path:
        return None
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return None


def _is_terraform(path: str) -> bool:
    return path.endswith(TERRAFORM_SUFFIXES)


@server.feature(lsp.INITIALIZE)
def _initialize(ls: IaclintServer, params: lsp.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("debounce_ms"), (int, float)):
        ls.debounce = min(max(float(options["debounce_ms"]), 0.0), 10_000.0) / 1000
    folders = [Path(p) for p in (to_fs_path(f.uri) for f in params.workspace_folders or []) if p]
    root = to_fs_path(params.root_uri) if params.root_uri else params.root_path
    if root and not folders:
        folders = [Path(root)]
    folders = [f for f in folders if f.is_dir()]
    if folders:
        os.chdir(folders[0])  # findings name files relative to it, as `iaclint check` run there does
    ls.checker = Checker(folders)


@server.feature(lsp.INITIALIZED)
async def _initialized(ls: IaclintServer, params: lsp.InitializedParams) -> None:
    watched = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
    if watched and watched.dynamic_registration:
        options = lsp.DidChangeWatchedFilesRegistrationOptions([lsp.FileSystemWatcher(g) for g in WATCHED])
        try:
            await ls.client_register_capability_async(lsp.RegistrationParams([lsp.Registration(
                "iaclint-watch", lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES, options)]))
        except Exception as exc:
            ls.log(f"iaclint: files changed outside the editor are not watched: {exc}")


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def _did_open(ls: IaclintServer, params: lsp.DidOpenTextDocumentParams) -> None:
    path = _path_of(params.text_document.uri)
    if path is not None and _is_terraform(path):
        ls.uris[path] = params.text_document.uri
        ls.schedule(path, 0)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def _did_change(ls: IaclintServer, params: lsp.DidChangeTextDocumentParams) -> None:
    path = _path_of(params.text_document.uri)
    if path is not None and _is_terraform(path):
        ls.schedule(path, ls.debounce)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE, lsp.SaveOptions(include_text=False))
def _did_save(ls: IaclintServer, params: lsp.DidSaveTextDocumentParams) -> None:
    path = _path_of(params.text_document.uri)
    if path is None:
        return
    if _is_terraform(path) or Path(path).name in SETTINGS_FILES:
        ls.checker.forget_layout()  # a module call may have been added or removed
        ls.schedule(path, 0)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def _did_close(ls: IaclintServer, params: lsp.DidCloseTextDocumentParams) -> None:
    path = _path_of(params.text_document.uri)
    if path is not None and _is_terraform(path):
        ls.uris.pop(path, None)
        ls.schedule(path, 0, known_roots_only=True)  # the file on disk counts again, unsaved edits are gone


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def _did_change_watched(ls: IaclintServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    ls.checker.forget_layout()
    for change in params.changes:
        path = _path_of(change.uri)
        if path is not None and (_is_terraform(path) or Path(path).name in SETTINGS_FILES):
            ls.schedule(path, ls.debounce, known_roots_only=True)  # a checkout changes many: one check after


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.SourceFixAll]))
def _code_action(ls: IaclintServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
    from iaclint.lsp.actions import code_actions

    try:
        return code_actions(ls, params)
    except Exception as exc:  # a bug costs the menu, never the server
        ls.log(f"iaclint: code actions failed: {exc.__class__.__name__}: {exc}", lsp.MessageType.Error)
        return None


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def _hover(ls: IaclintServer, params: lsp.HoverParams) -> lsp.Hover | None:
    from iaclint.lsp.actions import hover

    try:
        return hover(ls, params)
    except Exception as exc:
        ls.log(f"iaclint: hover failed: {exc.__class__.__name__}: {exc}", lsp.MessageType.Error)
        return None


@server.feature(lsp.SHUTDOWN)
def _shutdown(ls: IaclintServer, params) -> None:
    if ls.timer is not None:
        ls.timer.cancel()
    ls.worker.shutdown(wait=False, cancel_futures=True)


def serve() -> None:
    """Serve on standard input and output. Anything else that writes to standard output (it never should)
    goes to standard error instead, where it cannot break a message."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="iaclint lsp: %(message)s")
    server.start_io(stdin, stdout)
