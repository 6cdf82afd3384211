"""Find the root modules of a repository, and the roots a changed file affects.

A repository often holds several root modules (infra/prod, infra/staging, examples/*) next to the
local modules they call; a directory with a terragrunt.hcl is a root too (a Terragrunt unit). A root is a directory with Terraform files that no other scanned directory
calls as a local module; a called module is checked through each caller, with the caller's inputs.
Module calls are found with a cheap scan for `source = "./..."` (and `"source": "../..."` in JSON),
so a pre-commit run on one file does not parse the whole repository to learn who calls it.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

from iaclint.errors import UsageError
from iaclint.graph.config import UNIT_FILE, is_unit, terraform_files
from iaclint.model import Record
from iaclint.source import display_path
from iaclint.tree import Tree, repository_root, shown_as_found, tree_of

SKIPPED_DIRS = {".terraform", ".git", "node_modules"}
LOCAL_SOURCE = re.compile(r'''(?m)^\s*"?source"?\s*[=:]\s*"(\.{1,2}/[^"$]*)"''')
# the file functions (eval/files.py records what they resolve): a path, or fileset()'s folder, as a literal
_READS_FILE = re.compile(r'''\b(file|templatefile|fileexists|fileset)\s*\(\s*(?:"((?:[^"\\\n]|\\.)*)")?''')


class ModuleTree(Record):
    """The Terraform directories under a base directory and who calls whom (resolved paths)."""

    _shown = ("base", "directories", "calls", "reads", "problems")

    def __init__(self, base: Path, directories: list[Path] | None = None, calls: dict[Path, set[Path]] | None = None,
                 reads: dict[Path, list[str | None]] | None = None, problems: list[tuple[str, str]] | None = None):
        self.base = base
        self.directories = [] if directories is None else directories
        self.calls = {} if calls is None else calls  # caller -> local modules it calls (even missing)
        # folder -> file()/templatefile() paths as globs (`${...}` made `*`); None for a path that is not a string
        # (file(var.policy))
        self.reads = {} if reads is None else reads
        self.problems = [] if problems is None else problems  # (path, why) not searched

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
        """The folders whose file function calls may read ``path`` (a cheap scan: the evaluation says which
        really did, in Graph.files_read)."""
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
    if not patterns:
        return False
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


def module_tree(base: Path, skip: list[str] = (), tree: Tree | None = None) -> ModuleTree:
    """Every Terraform directory under ``base``, and the directories it could not search (``problems``).

    Symbolic links to directories inside the tree are followed (once: real paths are remembered, so a
    link to an ancestor ends); a link that leads outside it, and a directory that cannot be listed, is a
    problem naming the path, never a silent gap.
    """
    base = Path(os.path.realpath(base))
    tree = tree or Tree.of(tree_of(base))
    skip = list(skip)
    found = ModuleTree(base)
    seen: set[Path] = set()
    todo = [base]
    while todo:
        here = todo.pop()
        if here in seen:
            continue
        seen.add(here)
        try:
            entries = tree.entries(here)  # listed once: the loader and the checks of each root list it again
        except OSError as exc:
            found.problems.append((shown_as_found(here) if here != base else display_path(here),
                                   f"cannot be read ({exc.strerror or exc}); nothing in it is checked"))
            continue
        subdirs: list[Path] = []
        for entry in entries:
            try:
                if not entry.is_dir():  # follows links: a link to a directory counts
                    continue
                linked = entry.is_symlink()
            except OSError:
                continue
            path = here / entry.name
            if skipped(path, base, skip):
                continue
            if not linked:
                subdirs.append(path)
                continue
            why = tree.why_not_read_directory(path)
            if why:
                found.problems.append((shown_as_found(path), f"{why}; nothing in it is checked"))
                continue
            subdirs.append(Path(os.path.realpath(path)))
        todo.extend(reversed(subdirs))  # depth first, in name order, as os.walk goes
        files = terraform_files(here, None, tree)  # either tool's files: a .tofu-only directory holds configuration
        if is_unit(here, tree):  # a Terragrunt unit is a root; its local `terraform { source }` is a module it calls
            files = files + [here / UNIT_FILE]
        if not files:
            continue
        found.directories.append(here)
        callees: set[Path] = set()
        for path in files:
            text = _readable_text(path, tree)
            for match in LOCAL_SOURCE.finditer(text):
                target = (here / match.group(1)).resolve()
                if target != here and (target.is_dir() or not target.exists()):  # a deleted module too
                    callees.add(target)
            if "file" in text:
                reads = [_read_glob(here, m.group(2), m.group(1) == "fileset") for m in _READS_FILE.finditer(text)]
                if reads:
                    found.reads[here] = reads
        found.calls[here] = callees
    return found


def _readable_text(path: Path, tree: Tree) -> str:
    """A configuration file's text for the cheap scan of module calls; '' when it is not to be read.

    Reading it whole is bounded by the tree: only regular files inside it are opened (the loader
    reports the others, with the reason). The bytes are kept for the loader, which parses them: each file is
    read once.
    """
    if tree.why_not_read(path):
        return ""
    try:
        return tree.read_bytes(path, keep=True).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _read_glob(here: Path, literal: str | None, folder: bool = False) -> str | None:
    """The files a file function's path may name: `${path.module}` is the folder, other interpolations
    any text, and fileset()'s folder anything under it; a relative path is matched by its last part
    (terraform reads it from the directory it runs in)."""
    if literal is None:
        return None
    if folder:
        literal = literal.rstrip("/") + "/*"
    glob = literal.replace("${path.module}", str(here))
    glob = re.sub(r"\$\{[^}]*\}", "*", glob)
    return os.path.normpath(glob) if os.path.isabs(glob) else glob


def loaded_directories(roots: list[Path], tree: Tree | None = None) -> list[Path]:
    """The roots and every local module directory they call, transitively (by the same cheap scan)."""
    seen: list[Path] = []
    visited: set[Path] = set()
    todo = [r.resolve() for r in roots]
    while todo:
        here = todo.pop()
        if here in visited or not here.is_dir():
            continue
        visited.add(here)
        local_tree = tree or Tree.of(tree_of(here))
        if local_tree.why_not_read_directory(here):
            continue
        seen.append(here)
        for path in terraform_files(here, None, local_tree):
            for match in LOCAL_SOURCE.finditer(_readable_text(path, local_tree)):
                todo.append((here / match.group(1)).resolve())
    return seen


def project_root(start: Path, settings_dir: str | None = None) -> Path:
    """Where a whole-repository question is asked from: the settings file's folder, the git top, or start."""
    if settings_dir:
        return Path(settings_dir).resolve()
    return repository_root(start) or Path(os.path.realpath(start))


def reachable(raw: str) -> None:
    """A usage error unless ``raw`` exists and can be reached by its full path.

    iaclint works with resolved paths; when a parent directory cannot be searched (sudo -u from a
    private folder, a container's bind mount) a relative path still opens but its full path does not.
    """
    try:
        os.stat(raw)
    except (FileNotFoundError, NotADirectoryError):
        raise UsageError(f"{raw}: no such file or directory") from None
    except OSError as exc:
        raise UsageError(f"{raw}: cannot be read: {exc.strerror or exc}") from None
    real = os.path.realpath(raw)
    try:
        os.stat(real)
    except OSError as exc:
        raise UsageError(f"{raw}: its full path {real} cannot be reached ({exc.strerror or exc}): a parent directory "
                         "cannot be searched; run iaclint where every parent directory can be") from None


def scanned_tree(paths: list[str], settings_dir: str | None = None, config_dir: str | None = None) -> Tree:
    """The tree of a run: for each path, its repository (git top level), else the scanned directory.

    A .tf or .tfvars file outside any repository stands for roots found from the project root (where
    the settings are, else the current directory), so that directory is its tree when it holds the file.
    A plan's configuration is looked for beside it, in the current directory or in --config-dir.
    """
    folders: list[Path] = []
    project = project_root(Path.cwd(), settings_dir)
    for raw in paths or ["."]:
        real = Path(os.path.realpath(Path.cwd() if raw == "-" else raw))
        if os.path.isdir(real):
            folders.append(repository_root(real) or real)
        elif raw.endswith((".tf", ".tf.json", ".tofu", ".tofu.json", ".tfvars", ".tfvars.json")):
            inside = project if real.is_relative_to(project) else real.parent
            folders.append(repository_root(real.parent) or inside)
        else:  # a plan
            folders += [tree_of(real.parent), tree_of(Path.cwd())]
    if config_dir:
        folders.append(tree_of(config_dir))
    return Tree.of(*folders)
