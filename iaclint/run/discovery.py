"""Find the root modules of a repository, and the roots a changed file affects.

A repository often holds several root modules (infra/prod, infra/staging, examples/*) next to the
local modules they call. A root is a directory with Terraform files that no other scanned directory
calls as a local module; a called module is checked through each caller, with the caller's inputs.
Module calls are found with a cheap scan for `source = "./..."` (and `"source": "../..."` in JSON),
so a pre-commit run on one file does not parse the whole repository to learn who calls it.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from iaclint.graph.config import terraform_files

SKIPPED_DIRS = {".terraform", ".git", "node_modules"}
LOCAL_SOURCE = re.compile(r'''(?m)^\s*"?source"?\s*[=:]\s*"(\.{1,2}/[^"$]*)"''')
_READS_FILE = re.compile(r'''\b(?:file|templatefile)\s*\(\s*(?:"((?:[^"\\\n]|\\.)*)")?''')


@dataclass
class ModuleTree:
    """The Terraform directories under a base directory and who calls whom (resolved paths)."""

    base: Path
    directories: list[Path] = field(default_factory=list)
    calls: dict[Path, set[Path]] = field(default_factory=dict)  # caller -> local modules it calls (even missing)
    reads: dict[Path, list[str | None]] = field(default_factory=dict)  # folder -> file()/templatefile() paths
    # as globs (`${...}` made `*`); None for a path that is not a string (file(var.policy))

    @property
    def roots(self) -> list[Path]:
        called = set()
        for callees in self.calls.values():
            called |= callees
        roots = [d for d in self.directories if d not in called]
        if not roots and self.directories:
            return [self.directories[0]]  # every directory is called: a cycle; check from the top
        return roots

    def loaded_by(self, root: Path) -> set[Path]:
        """Every directory a root loads: itself and the local modules it calls, transitively."""
        seen = {root}
        todo = [root]
        while todo:
            for callee in self.calls.get(todo.pop(), ()):
                if callee not in seen:
                    seen.add(callee)
                    todo.append(callee)
        return seen

    def readers_of(self, path: Path) -> list[Path]:
        """The folders whose file()/templatefile() calls may read ``path`` (a cheap scan: the evaluation
        says which really did, in Graph.files_read)."""
        path = path.resolve()
        found = []
        for folder, globs in self.reads.items():
            for glob in globs:
                if glob is None:
                    near = [folder, *(r for r in self.roots_of(folder))]
                    if any(path.is_relative_to(place) for place in near):
                        found.append(folder)
                        break
                elif fnmatch.fnmatchcase(str(path), glob) if os.path.isabs(glob) else \
                        fnmatch.fnmatchcase(path.name, os.path.basename(glob)):
                    found.append(folder)
                    break
        return found

    def roots_of(self, directory: Path) -> list[Path]:
        """The roots that load a directory (the directory itself when it is a root or nobody loads it)."""
        directory = directory.resolve()
        found = [r for r in self.roots if directory in self.loaded_by(r)]
        return found or [directory]


def skipped(path: Path, base: Path, patterns: list[str]) -> bool:
    """A directory excluded by name (hidden, .terraform) or by a --skip-path / exclude glob."""
    if path != base and (path.name.startswith(".") or path.name in SKIPPED_DIRS):
        return True
    try:
        rel = path.relative_to(base).as_posix()
    except ValueError:
        rel = path.as_posix()
    for pattern in patterns:
        clean = pattern.strip().rstrip("/")
        if not clean:
            continue
        if fnmatch.fnmatch(rel, clean) or fnmatch.fnmatch(path.name, clean) or rel.startswith(clean + "/"):
            return True
    return False


def module_tree(base: Path, skip: list[str] = ()) -> ModuleTree:
    base = base.resolve()
    tree = ModuleTree(base)
    for folder, subdirs, _files in os.walk(base, onerror=None):
        here = Path(folder)
        subdirs[:] = sorted(d for d in subdirs if not skipped(here / d, base, list(skip)))
        if skipped(here, base, list(skip)):
            continue
        files = terraform_files(here)
        if not files:
            continue
        tree.directories.append(here)
        callees: set[Path] = set()
        for path in files:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for match in LOCAL_SOURCE.finditer(text):
                target = (here / match.group(1)).resolve()
                if target != here and (target.is_dir() or not target.exists()):  # a deleted module too
                    callees.add(target)
            if "file" in text:
                reads = [_read_glob(here, m.group(1)) for m in _READS_FILE.finditer(text)]
                if reads:
                    tree.reads[here] = reads
        tree.calls[here] = callees
    return tree


def _read_glob(here: Path, literal: str | None) -> str | None:
    """The files a file()/templatefile() path may name: `${path.module}` is the folder, other
    interpolations any text; a relative path is matched by its last part (terraform reads it from
    the directory it runs in)."""
    if literal is None:
        return None
    glob = literal.replace("${path.module}", str(here))
    glob = re.sub(r"\$\{[^}]*\}", "*", glob)
    return os.path.normpath(glob) if os.path.isabs(glob) else glob


def loaded_directories(roots: list[Path]) -> list[Path]:
    """The roots and every local module directory they call, transitively (by the same cheap scan)."""
    seen: list[Path] = []
    visited: set[Path] = set()
    todo = [r.resolve() for r in roots]
    while todo:
        here = todo.pop()
        if here in visited or not here.is_dir():
            continue
        visited.add(here)
        seen.append(here)
        for path in terraform_files(here):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for match in LOCAL_SOURCE.finditer(text):
                todo.append((here / match.group(1)).resolve())
    return seen


def project_root(start: Path, settings_dir: str | None = None) -> Path:
    """Where a whole-repository question is asked from: the settings file's folder, the git top, or start."""
    if settings_dir:
        return Path(settings_dir).resolve()
    start = start.resolve()
    for folder in [start, *start.parents]:
        if (folder / ".git").exists():
            return folder
    return start
