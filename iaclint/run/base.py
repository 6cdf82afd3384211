"""Which resources exist at a git revision (--base): a fix that replaces one of those destroys data.

A fix that forces replacement destroys data only when the resource exists. Without a plan iaclint
cannot know that, so it assumes every resource is live. With --base REF, a resource that did not exist
at REF has never been applied from this branch, and adding `storage_encrypted = true` to a cluster
written five minutes ago is safe. Renaming must not make a live resource look new, so a resource
counts as existing at REF when

- its address, or an address that `moved` blocks (or Terraform's implicit moves between `x` and
  `x[0]`) map to it, exists in the root at REF;
- an `import` block adopts it: it is live, whatever REF says;
- the root was elsewhere at REF: git sees its files renamed from another folder, or a root at REF
  keeps its state in the same backend (same bucket and key).

When iaclint cannot tell (a file at REF does not parse, a module there cannot be read, a root that is
new at REF has a local state file or a backend given at `terraform init`), nothing is new, and the
fixes say why they stay unsafe.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from iaclint.eval.limits import DEFAULT_LIMITS, Limits
from iaclint.graph.config import (OPENTOFU_SUFFIXES, TERRAFORM_SUFFIXES, ConfigLoader, is_unit, make_cache,
                                  opentofu_reading)
from iaclint.hcl import ast
from iaclint.hcl.cache import ParseCache, read_private_file, read_regular, write_private_file
from iaclint.model import Record
from iaclint.run.discovery import LOCAL_SOURCE
from iaclint.tree import Tree, repository_root, tree_of

if TYPE_CHECKING:
    from iaclint.graph.model import Graph

# configuration files of either tool: a root of .tofu files has a base as much as one of .tf files
CONFIGURATION = TERRAFORM_SUFFIXES + OPENTOFU_SUFFIXES
CONFIGURATION_GLOBS = tuple("*" + suffix for suffix in CONFIGURATION)

BASE_KEEP = 64  # trees kept besides those of the run, most recently used first: one per root and commit
MANIFEST = ".manifest.json"  # beside a kept tree's files: what was extracted, signed
_TREE = re.compile(r"[0-9a-f]{20}")
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

AUTO_LOADED = re.compile(r"^(terraform\.tfvars(\.json)?|.*\.auto\.tfvars(\.json)?)$")
_CALLS_LOCAL_MODULE = r'^[[:space:]]*"?source"?[[:space:]]*[=:][[:space:]]*"\.\.?/'
_DECLARES_BACKEND = r'(backend[[:space:]]*"|cloud[[:space:]]*\{|"(backend|cloud)"[[:space:]]*:)'
# Where each backend keeps a state: two roots whose values agree on these share one state.
STATE_LOCATION = {
    "s3": (("bucket", "key"), ("workspace_key_prefix",)),
    "gcs": (("bucket",), ("prefix",)),
    "azurerm": (("storage_account_name", "container_name", "key"), ()),
    "remote": (("organization",), ("hostname", "workspaces.name", "workspaces.prefix")),
    "cloud": (("organization",), ("hostname", "workspaces.name", "workspaces.tags", "workspaces.project")),
    "http": (("address",), ()),
    "consul": (("path",), ("address",)),
    "pg": (("conn_str",), ("schema_name",)),
    "kubernetes": (("secret_suffix",), ("namespace",)),
    "oss": (("bucket",), ("prefix", "key")),
    "cos": (("bucket",), ("prefix", "key")),
    "local": (("path",), ("workspace_dir",)),
}


class BaseError(Exception):
    """--base cannot be used here; the message says why (fixes then keep treating resources as live)."""


def _git(args: list[str], cwd: Path, binary: bool = False, stdin: bytes | None = None, ok: tuple = (0,)):
    import subprocess

    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120, input=stdin)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BaseError(f"git could not be run ({exc})") from None
    if proc.returncode not in ok:
        raise BaseError(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:][0]
                        if proc.stderr.strip() else f"git {' '.join(args)} failed")
    return proc.stdout if binary else proc.stdout.decode("utf-8", "replace")


class BaseRoot(Record):
    """A folder at the base revision whose state this root's resources may be in, and why."""

    __slots__ = ("folder", "why")
    _shown = __slots__

    def __init__(self, folder: str, why: str):
        self.folder = folder  # relative to the repository top, posix ("." for the top)
        self.why = why  # "" for the root's own folder; else how it was found ("renamed", "same backend state")


class Comparisons(Record):
    """A run's comparisons with git revisions (--base, --since), one per repository and revision, so git is
    asked each question once; kept while `fix` lints again after each fix."""

    __slots__ = ("cache", "found")
    _shown = __slots__

    def __init__(self, cache: bool = True, found: dict | None = None):
        self.cache = cache
        self.found = {} if found is None else found

    def of(self, root: Path, ref: str) -> "BaseComparison":
        top = repository_root(root)
        if top is None:
            raise BaseError(f"{root} is not in a git repository")
        if (top, ref) not in self.found:
            try:
                self.found[top, ref] = BaseComparison(top, ref, self.cache)
            except BaseError as exc:
                self.found[top, ref] = exc
        comparison = self.found[top, ref]
        if isinstance(comparison, BaseError):
            raise comparison
        return comparison


class BaseComparison:
    """A git revision and the working tree of one repository."""

    def __init__(self, top: Path, ref: str, cache: bool = True):
        self.ref = ref
        if ref.startswith("-"):
            raise BaseError(f"{ref} is not a revision")
        lines = _git(["rev-parse", "--show-toplevel", f"{ref}^{{commit}}", "--"], top).splitlines()
        if len(lines) < 2 or not re.fullmatch(r"[0-9a-f]{40,64}", lines[1]):
            raise BaseError(f"{ref} is not a commit")
        self.top, self.commit = Path(lines[0]).resolve(), lines[1]
        self.parse_cache = make_cache(cache)
        # where trees are kept (None: a temporary copy per use), and why not, for the report
        self.trees = self.parse_cache.private_folder("base") if self.parse_cache is not None else None
        self.notices = list(self.parse_cache.notices) if self.parse_cache is not None else []
        self._changes: list[tuple[str, str, str]] | None = None
        self.in_use: set[str] = set()  # the kept trees (names) this run has used: never pruned by it
        self._backends: dict[tuple, set[str]] | None = None
        self._listed: set[str] = set()  # files at the base under the folders listed so far
        self._listed_folders: set[str] = set()  # listed recursively: their subfolders are known too

    def relative(self, path: Path) -> str:
        """A path as git names it: relative to the top, posix ("." for the top itself)."""
        try:
            return path.resolve().relative_to(self.top).as_posix() or "."
        except ValueError:
            raise BaseError(f"{path} is outside the git repository {self.top}") from None

    def changes(self) -> list[tuple[str, str, str]]:
        """(status, path at the base, path now) for every Terraform or variables file that differs between the
        base and the working tree (staged or not); git pairs deletions with additions into renames."""
        if self._changes is None:
            out = _git(["diff", "-M", "--name-status", "-z", self.commit, "--", *CONFIGURATION_GLOBS, "*.tfvars",
                        "*.tfvars.json"], self.top)
            tokens = out.split("\0")
            self._changes = []
            i = 0
            while i < len(tokens) and tokens[i]:
                status = tokens[i]
                if status[:1] in ("R", "C") and i + 2 < len(tokens):
                    self._changes.append((status[0], tokens[i + 1], tokens[i + 2]))
                    i += 3
                elif i + 1 < len(tokens):
                    self._changes.append((status[0], tokens[i + 1], tokens[i + 1]))
                    i += 2
                else:
                    break
        return self._changes

    def _list(self, folders: list[str]) -> None:
        """Learn the files at the base under these folders (one git call for those not known yet)."""
        def known(folder: str) -> bool:
            return any(folder == done or done == "." or folder.startswith(done + "/") for done in self._listed_folders)

        missing = [f for f in dict.fromkeys(folders) if not known(f)]
        if missing:
            out = _git(["ls-tree", "-r", "--name-only", "-z", self.commit, "--", *[_children(f) for f in missing]],
                       self.top)
            self._listed.update(name for name in out.split("\0") if name)
            self._listed_folders.update(missing)

    def has_terraform_files(self, folder: str) -> bool:
        self._list([folder])
        return any((posixpath.dirname(name) or ".") == folder and name.endswith(CONFIGURATION)
                   for name in self._listed)

    def module_folders(self, start: list[str]) -> list[str]:
        """The folders at the base of these roots and of every local module they call there, transitively
        (a module renamed since the base is read where the base had it)."""
        folders = list(dict.fromkeys(start))
        todo = list(folders)
        while todo:
            specs = [_children(folder, glob) for folder in todo for glob in CONFIGURATION_GLOBS]
            todo = []
            out = _git(["grep", "-I", "--null", "-E", _CALLS_LOCAL_MODULE, self.commit, "--", *specs], self.top,
                       ok=(0, 1))
            for line in out.splitlines():
                name, _, text = line.partition("\0")
                name = name.split(":", 1)[1] if name.startswith(self.commit + ":") else name
                match = LOCAL_SOURCE.search(text)
                if match is None:
                    continue
                target = posixpath.normpath(posixpath.join(posixpath.dirname(name) or ".", match.group(1)))
                if target.startswith("../") or target == ".." or target in folders:
                    continue
                folders.append(target)
                todo.append(target)
        return folders

    def files_read(self, graph: Graph) -> list[str]:
        """The files in the repository the graph's file()/templatefile() calls read, so the base has its own."""
        out = []
        for name in sorted(graph.files_read):
            try:
                out.append(Path(name).relative_to(self.top).as_posix())
            except ValueError:
                continue
        return out

    def files_in(self, folders: list[str], extra: list[str] = ()) -> list[str]:
        """The files at the base directly in these folders, and those of ``extra`` that exist there."""
        self._list(list(folders) + [posixpath.dirname(name) or "." for name in extra])
        wanted_dirs = set(folders)
        extra_set = set(extra)
        return sorted(name for name in self._listed
                      if (posixpath.dirname(name) or ".") in wanted_dirs or name in extra_set)

    def existed(self, name: str) -> bool | None:
        """Was this file (relative to the top) at the base? None when its folder was not listed."""
        folder = posixpath.dirname(name) or "."
        if not any(folder == done or done == "." or folder.startswith(done + "/") for done in self._listed_folders):
            return None
        return name in self._listed

    def roots_with_backend(self, identity: tuple) -> list[str]:
        """The folders at the base whose backend keeps its state where ``identity`` says."""
        if self._backends is None:
            self._backends = self._read_backends()
        return sorted(self._backends.get(identity, ()))

    def _read_backends(self) -> dict[tuple, set[str]]:
        out = _git(["grep", "-I", "-l", "-E", _DECLARES_BACKEND, self.commit, "--", *CONFIGURATION_GLOBS],
                   self.top, ok=(0, 1))
        names = [line.split(":", 1)[1] for line in out.splitlines() if ":" in line]
        found: dict[tuple, set[str]] = {}
        for name, text in zip(names, self.read_blobs(names)):
            blocks = _top_level_blocks(name, text)
            identity, _ = backend_identity(blocks)
            if identity is not None:
                found.setdefault(identity, set()).add(posixpath.dirname(name) or ".")
        return found

    def read_blobs(self, names: list[str]) -> list[str]:
        """The text of files at the base, in one git call."""
        if not names:
            return []
        request = "".join(f"{self.commit}:{name}\n" for name in names).encode("utf-8")
        data = _git(["cat-file", "--batch"], self.top, binary=True, stdin=request)
        texts: list[str] = []
        position = 0
        for _ in names:
            end = data.find(b"\n", position)
            header = data[position:end].split()
            if len(header) < 3 or header[1] != b"blob":
                texts.append("")
                position = end + 1
                continue
            size = int(header[2])
            texts.append(data[end + 1:end + 1 + size].decode("utf-8", "replace"))
            position = end + 1 + size + 1
        return texts

    def changed_lines(self, files: list[str]) -> dict[str, set[int] | None]:
        """Lines of these files (relative to the top) that the working tree added or changed since the
        base; None for a file git does not track yet (every line is new)."""
        changed: dict[str, set[int] | None] = {}
        touched = {new for status, _, new in self.changes() if status != "D"}
        asked = []
        for name in files:  # what the listing and the changes already say needs no more git
            if name.endswith((*CONFIGURATION, ".tfvars", ".tfvars.json")) and name not in touched \
                    and self.existed(name) is not None:
                changed[name] = set() if self.existed(name) else None
            else:
                asked.append(name)
        files = asked
        if not files:
            return changed
        out = _git(["diff", "-U0", "--no-color", "--no-ext-diff", self.commit, "--", *files], self.top)
        current: set[int] | None = None
        for line in out.splitlines():
            if line.startswith("+++ "):
                name = line[4:].strip().strip('"')
                current = changed.setdefault(name[2:], set()) if name.startswith("b/") else None
            elif line.startswith("@@") and current is not None:
                match = re.match(r"@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", line)
                if match:
                    start, count = int(match.group(1)), int(match.group(2) or 1)
                    current.update(range(start, start + count))
        # a file neither in the diff nor at the base is new, untracked: every line of it is the change's
        unsure = [name for name in files if name not in changed and self.existed(name) is not True]
        if unsure:
            untracked = _git(["ls-files", "--others", "--exclude-standard", "--", *unsure], self.top)
            for name in untracked.splitlines():
                changed[name] = None
        return changed

    def tree_key(self, files: list[str]) -> str:
        """The name of the kept tree of these files at the base commit (base/KEY in the cache folder)."""
        return hashlib.sha256("\0".join([str(self.top), self.commit, *files]).encode()).hexdigest()[:20]

    def tree(self, files: list[str]) -> "BaseTree":
        """These files at the base, on disk: kept in the cache folder per commit and file list (the parse
        cache then serves them on every hook run of the commit), or in a temporary folder."""
        import tempfile

        if self.trees is not None:
            self.in_use.add(self.tree_key(files))
            kept = _base_tree(self.trees / self.tree_key(files), self.top, self.commit, files, self.parse_cache,
                              self.in_use)
            if kept is not None:
                return BaseTree(kept, self.parse_cache, None)
        scratch = tempfile.TemporaryDirectory(prefix="iaclint-base-")
        try:
            _extract(Path(scratch.name), self.top, self.commit, files)
        except BaseException:
            scratch.cleanup()
            raise
        return BaseTree(Path(scratch.name), None, scratch)


class BaseTree(Record):
    """Files of the base revision on disk, and the one way they are read: only inside this tree, like every
    read of a run (iaclint/tree.py). ``scratch`` is removed with close()."""

    __slots__ = ("path", "parse_cache", "scratch")
    _shown = __slots__

    def __init__(self, path: Path, parse_cache: ParseCache | None, scratch: object):
        self.path = path
        self.parse_cache = parse_cache
        self.scratch = scratch

    def graph(self, folder: str, var_files: list[str], outside: list[str], inputs: "BaseInputs") -> Graph:
        """The graph of the root in ``folder`` at the base. ``var_files`` are in the repository, by their path
        there (read from this tree when the base has them); ``outside`` ones are read as they are now."""
        from iaclint.graph.hcl import build_hcl_graph
        from iaclint.graph.inputs import collect_inputs

        root = self.path / folder
        root.mkdir(parents=True, exist_ok=True)
        confined = Tree.of(self.path)
        present = [str(self.path / f) for f in var_files
                   if os.path.lexists(self.path / f) and not confined.why_not_read(self.path / f)]
        environ = os.environ if inputs.environ is None else inputs.environ
        collected = collect_inputs(root, present + outside, inputs.cli_vars, dict(environ), tree=confined,
                                   workspace=inputs.workspace)
        opentofu, _ = opentofu_reading(root, inputs.opentofu, confined)
        return build_hcl_graph(root, collected, ConfigLoader(cache=self.parse_cache, tree=confined), inputs.limits,
                               opentofu)

    def close(self) -> None:
        if self.scratch is not None:
            self.scratch.cleanup()


def _children(folder: str, pattern: str = "") -> str:
    """A pathspec for the files directly in a folder (all of them, or those matching ``pattern``)."""
    prefix = "" if folder in (".", "") else folder.rstrip("/") + "/"
    if not pattern:
        return prefix or "."
    return f":(glob){prefix}{pattern}"


class BaseInputs(Record):
    """What the root's graph was built with, so the base graph declares the same instances."""

    __slots__ = ("var_files", "cli_vars", "environ", "limits", "tree", "opentofu", "workspace")
    _shown = __slots__

    def __init__(self, var_files: list[str] | None = None, cli_vars: list[str] | None = None,
                 environ: dict | None = None, limits: Limits = DEFAULT_LIMITS, tree: Tree | None = None,
                 opentofu: bool | None = None, workspace: object = None):
        self.var_files = [] if var_files is None else var_files  # in order, as given
        self.cli_vars = [] if cli_vars is None else cli_vars
        self.environ = environ  # None: the process environment
        self.limits = limits
        self.tree = tree  # the run's tree: files of the working tree are read only inside it
        self.opentofu = opentofu  # --opentofu/--terraform; None: detected at the base as it is now
        self.workspace = workspace  # graph.inputs.Workspace the root is read in now: the base is read in the same


def mark_new_resources(graph: Graph, root: Path, comparison: "BaseComparison",
                       inputs: BaseInputs | None = None) -> None:
    """Set graph.new_since_base to the resources that do not exist at the base, and graph.base_notes to
    why others count as existing when that is not plain (moved, imported, another folder, in doubt)."""
    inputs = inputs or BaseInputs()
    graph.notices.extend(n for n in comparison.notices if n not in graph.notices)  # why base/ is not used
    root_rel = comparison.relative(root)
    folders_at_base, doubt = base_roots(graph, root, root_rel, comparison, inputs.tree)
    if is_unit(root):  # its base would have to be read with the base's inputs and source, which iaclint does not do
        doubt = doubt or ("a Terragrunt unit: its resources at the base are not read, so whether it exists cannot "
                          "be told")
    var_files, outside = base_var_files(inputs.var_files, comparison)
    existing: list[tuple[BaseRoot, Existing]] = []
    for base_root in folders_at_base:
        folders = comparison.module_folders([base_root.folder])
        files = comparison.files_in(folders, var_files + comparison.files_read(graph))
        addresses = _kept_addresses(comparison, files, base_root.folder, var_files, outside, inputs)
        existing.append((base_root, Existing(addresses)))
    _mark(graph, comparison.ref, existing, doubt)


def base_var_files(var_files: list[str], comparison: BaseComparison) -> tuple[list[str], list[str]]:
    """(variables files inside the repository, by their path there; those outside it, read as they are now)."""
    inside: list[str] = []
    outside: list[str] = []
    for name in var_files:
        try:
            inside.append(Path(name).resolve().relative_to(comparison.top).as_posix())
        except ValueError:
            outside.append(str(Path(name).resolve()))
    return inside, outside


def base_roots(graph: Graph, root: Path, root_rel: str, comparison: BaseComparison,
               tree: Tree | None = None) -> tuple[list[BaseRoot], str]:
    """The folders at the base that hold this root's state, and a reason when that cannot be told. The
    working tree's own files (its initialised backend) are read only inside ``tree``."""
    roots: list[BaseRoot] = []
    if comparison.has_terraform_files(root_rel):
        roots.append(BaseRoot(root_rel, ""))
    for status, old, new in comparison.changes():
        old_dir, new_dir = posixpath.dirname(old) or ".", posixpath.dirname(new) or "."
        if status in ("R", "C") and new.endswith(CONFIGURATION) and new_dir == root_rel and old_dir != root_rel \
                and all(r.folder != old_dir for r in roots):
            roots.append(BaseRoot(old_dir, f"its files were {'renamed' if status == 'R' else 'copied'} from there"))
    if roots and roots[0].folder == root_rel:
        return roots, ""
    blocks = [b for file, found in graph.blocks.items() if Path(file).resolve().parent == root.resolve()
              for b in found]
    identity, partial = backend_identity(blocks)
    if identity is None and partial:
        identity = _initialised_backend(root, tree or Tree.of(tree_of(root)))
    if identity is not None:
        for folder in comparison.roots_with_backend(identity):
            if all(r.folder != folder for r in roots):
                roots.append(BaseRoot(folder, "it keeps its state in the same backend"))
    if roots:
        return roots, ""
    where = f"{root_rel} has no Terraform files at {comparison.ref}"
    if identity is None and partial:
        return roots, (f"{where} and its backend is configured at terraform init ({partial}), so iaclint cannot "
                       "tell whether its state already exists")
    local_state = root / "terraform.tfstate"
    if identity is None and local_state.is_file():
        return roots, f"{where} but a local state file ({local_state.name}) is in it"
    untracked = _git(["ls-files", "--others", "--exclude-standard", "--", _children(root_rel)], comparison.top)
    deleted = [old for status, old, _ in comparison.changes() if status == "D" and old.endswith(CONFIGURATION)]
    if any(n.endswith(CONFIGURATION) for n in untracked.splitlines()) and deleted:
        return roots, (f"{where}, its files are not tracked by git and {deleted[0]} was deleted since "
                       f"{comparison.ref}: the root may have been moved (git add it, so git can see the move)")
    return roots, ""


def _initialised_backend(root: Path, tree: Tree) -> tuple | None:
    """The backend `terraform init` recorded in .terraform/terraform.tfstate (partial settings included);
    read only when it is a regular file inside the tree."""
    recorded = root / ".terraform" / "terraform.tfstate"
    if not os.path.lexists(recorded) or tree.why_not_read(recorded):
        return None
    try:
        data = json.loads(recorded.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    backend = data.get("backend") if isinstance(data, dict) else None
    if not isinstance(backend, dict) or not isinstance(backend.get("config"), dict):
        return None
    values = {k: v for k, v in _flatten(backend["config"]).items() if isinstance(v, (str, int, float, bool))}
    identity, _ = _identity(str(backend.get("type", "")), values, set())
    return identity


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            out.update(_flatten(value[0], f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def backend_identity(blocks: list) -> tuple[tuple | None, str]:
    """Where a root keeps its state: (identity, "") when its backend says it fully; (None, what is missing)
    when the backend leaves it to `terraform init -backend-config`; (None, "") without a backend (local)."""
    for block in blocks:
        if not isinstance(block, ast.Block) or block.type != "terraform":
            continue
        for inner in block.body.blocks:
            if inner.type == "backend" and len(inner.labels) == 1:
                kind = inner.labels[0]
            elif inner.type == "cloud" and not inner.labels:
                kind = "cloud"
            else:
                continue
            values: dict[str, object] = {}
            dynamic: set[str] = set()
            _literal_settings(inner.body, "", values, dynamic)
            return _identity(kind, values, dynamic)
    return None, ""


def _literal_settings(body: ast.Body, prefix: str, values: dict, dynamic: set) -> None:
    for item in body.items:
        if isinstance(item, ast.Attribute):
            expr = item.expr
            if isinstance(expr, ast.Template) and expr.is_literal:
                values[prefix + item.name] = expr.literal
            elif isinstance(expr, ast.Literal):
                values[prefix + item.name] = expr.value
            elif isinstance(expr, ast.TupleExpr) and all(isinstance(i, ast.Template) and i.is_literal
                                                         for i in expr.items):
                values[prefix + item.name] = ",".join(sorted(i.literal for i in expr.items))
            else:
                dynamic.add(prefix + item.name)
        elif isinstance(item, ast.Block):
            _literal_settings(item.body, f"{prefix}{item.type}.", values, dynamic)


def _identity(kind: str, values: dict, dynamic: set) -> tuple[tuple | None, str]:
    required, optional = STATE_LOCATION.get(kind, ((), ()))
    if kind == "local" and "path" not in values and not dynamic:
        return None, ""  # terraform.tfstate in the root's own folder: no backend to match
    if not required:  # a backend iaclint does not know: every setting names the place
        required, optional = tuple(sorted(values)), ()
        if dynamic or not required:
            return None, f"the {kind} backend's settings are not all literal"
    missing = [name for name in required if name not in values]
    if missing or any(name in dynamic for name in required + optional):
        return None, f"the {kind} backend does not set {', '.join(missing or sorted(dynamic))}"
    if kind in ("remote", "cloud") and not any(k.startswith("workspaces.") for k in values):
        return None, f"the {kind} backend names no workspace"
    return (kind, tuple((name, str(values[name])) for name in required + optional if name in values)), ""


def _top_level_blocks(name: str, text: str) -> list:
    from iaclint.hcl.jsonsyntax import parse_json_config
    from iaclint.hcl.parser import ParseFailure, parse_source
    from iaclint.source import SourceFile

    try:
        source = SourceFile(name, text)
        body = parse_json_config(source) if name.endswith(".json") else parse_source(source)
    except (ParseFailure, RecursionError, ValueError):
        return []
    return list(body.blocks) if isinstance(body, ast.Body) else []


def _extract(folder: Path, top: Path, ref: str, wanted: list[str]) -> None:
    import io
    import tarfile  # here: a warm hook run reads kept addresses and extracts nothing

    folder.mkdir(parents=True, exist_ok=True)
    if not wanted:
        return
    archive = _git(["archive", "--format=tar", ref, "--", *wanted], top, binary=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        try:
            tar.extractall(folder, filter="data")
        except TypeError:  # Python before 3.11.4: git archive output holds plain files only
            tar.extractall(folder)
        except tarfile.TarError as exc:  # a committed link out of the repository, say
            raise BaseError(f"the files at {ref} cannot be read safely ({exc})") from None


def _kept_addresses(comparison: BaseComparison, files: list[str], root_rel: str, var_files: list[str],
                    outside: list[str], inputs: BaseInputs) -> set[str]:
    """The root's addresses at the base, computed once per tree, root and inputs and kept signed beside the
    tree: the tree never changes, and only the variables given (count, for_each) and the limits could change
    what it declares, so they are in the name."""
    from iaclint.hcl.cache import generation

    environ = os.environ if inputs.environ is None else inputs.environ
    variables = sorted((k, v) for k, v in environ.items() if k.startswith("TF_VAR_"))
    outside_content = [[name, _digest(name)] for name in outside]
    name = hashlib.sha256(json.dumps([generation(), root_rel, variables, var_files, outside_content,
                                      list(inputs.cli_vars), repr(inputs.limits)]).encode()).hexdigest()[:16]
    cache = comparison.parse_cache
    kept = comparison.trees / comparison.tree_key(files) / f".addresses-{name}.json" if comparison.trees else None
    if kept is not None:
        data = _unseal_json(cache, kept, read_private_file(kept))
        if isinstance(data, list) and all(isinstance(a, str) for a in data):
            os.utime(kept.parent)  # recently used: kept by the pruning
            return set(data)
    tree = comparison.tree(files)
    try:
        existing = _addresses(tree.graph(root_rel, var_files, outside, inputs))
    finally:
        tree.close()
    if kept is not None and tree.scratch is None:
        try:
            write_private_file(kept, _seal_json(cache, kept, sorted(existing)))
        except OSError:
            pass  # only costs the next run the graph build
    return existing


def _digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _addresses(base: Graph) -> set[str]:
    """The root's resource addresses at the base; `*` when a file there does not parse (anything may have
    been in it), and `module.x.*` for a module whose contents could not be read there."""
    addresses = {r.address for r in base.resources}
    if any(d.rule_id == "PARSE" for d in base.diagnostics):
        addresses.add("*")
    addresses.update(f"{module}.*" for module in base.unread_modules if module)
    return addresses


def _base_tree(final: Path, top: Path, ref: str, wanted: list[str], cache: ParseCache,
               in_use: set[str] = frozenset()) -> Path | None:
    """The files of ``wanted`` at ``ref`` under ``final``, extracted once: a tree is complete before it gets
    its name (renamed into place), so concurrent runs share it or build their own, never a half one. A kept
    tree is used only while it holds exactly what its signed manifest says (a cache restored from elsewhere,
    or a tree someone emptied or added a file to, is built again)."""
    import shutil
    import tempfile

    manifest = final / MANIFEST
    signed = _unseal_json(cache, manifest, read_private_file(manifest))
    if isinstance(signed, dict) and signed == _listing(final):
        os.utime(final)  # recently used: kept by the pruning
        return final
    try:
        if final.is_symlink() or final.is_file():
            final.unlink()
        elif final.is_dir():
            shutil.rmtree(final)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
        try:
            _extract(building, top, ref, wanted)
        except BaseError:
            shutil.rmtree(building, ignore_errors=True)
            raise
        listing = _listing(building, private=True)
        write_private_file(building / MANIFEST, _seal_json(cache, manifest, listing))
        try:
            os.rename(building, final)
        except OSError:  # another run named its copy first: same commit, same files
            shutil.rmtree(building, ignore_errors=True)
        _prune(final.parent, BASE_KEEP, in_use)
    except OSError:
        return None
    return final if final.is_dir() and not final.is_symlink() else None


def _listing(folder: Path, private: bool = False) -> dict[str, list] | None:
    """Every file and link under ``folder`` with its digest or target, never following a link (None when it is
    not a real directory). ``private``: directories made 0700 and files 0600 on the way, whatever the umask."""
    found: dict[str, list] = {}

    def walk(fd: int, prefix: str) -> None:
        if private:
            os.fchmod(fd, 0o700)
        with os.scandir(fd) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if rel == MANIFEST or not prefix and entry.name.startswith(".addresses-"):
                    continue
                if entry.is_symlink():
                    found[rel] = ["link", os.readlink(entry.name, dir_fd=fd)]
                elif entry.is_dir(follow_symlinks=False):
                    sub = os.open(entry.name, _OPEN_DIR, dir_fd=fd)
                    try:
                        walk(sub, rel + "/")
                    finally:
                        os.close(sub)
                elif entry.is_file(follow_symlinks=False):
                    if private:
                        os.chmod(entry.name, 0o600, dir_fd=fd)
                    data = read_regular(fd, entry.name)
                    found[rel] = ["file", hashlib.sha256(data).hexdigest()] if data is not None else ["unreadable"]
                else:
                    found[rel] = ["other"]

    try:
        top = os.open(folder, _OPEN_DIR)
    except OSError:
        return None
    try:
        walk(top, "")
    except OSError:
        return None
    finally:
        os.close(top)
    return found


def _seal_json(cache: ParseCache, path: Path, value) -> bytes:
    """JSON of ``value`` signed with the user's key for this path (base/KEY/NAME), so a file planted or
    restored there is not believed."""
    body = json.dumps(value, separators=(",", ":"), sort_keys=True)
    label = "/".join(path.parts[-3:])
    return json.dumps({"mac": cache.sign(label, body.encode()).hex(), "body": body}).encode()


def _unseal_json(cache: ParseCache, path: Path, data: bytes | None):
    if data is None:
        return None
    try:
        sealed = json.loads(data)
        body = sealed["body"]
        if not isinstance(body, str) or cache.sign("/".join(path.parts[-3:]), body.encode()).hex() != sealed["mac"]:
            return None
        return json.loads(body)
    except (ValueError, TypeError, KeyError):
        return None


def _prune(folder: Path, keep: int, in_use: set[str] = frozenset()) -> None:
    """Keep the trees this run uses (``in_use``: a run over more roots than ``keep`` would otherwise remove
    its own trees and build them all again on the next hook run), the ``keep`` most recently used others, and
    building folders of crashed runs for an hour. Only real directories named as this module names them are
    removed; a link is never followed."""
    import shutil

    try:
        fd = os.open(folder, _OPEN_DIR)
    except OSError:
        return
    try:
        trees = []
        with os.scandir(fd) as entries:
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False):
                    continue
                used = entry.stat(follow_symlinks=False).st_mtime
                if _TREE.fullmatch(entry.name) and entry.name not in in_use:
                    trees.append((used, entry.name))
                elif entry.name.startswith(".building-") and time.time() - used > 3600:
                    shutil.rmtree(entry.name, ignore_errors=True, dir_fd=fd)
        for _used, name in sorted(trees, reverse=True)[keep:]:
            shutil.rmtree(name, ignore_errors=True, dir_fd=fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Existing:
    """Addresses at the base, matched as Terraform would move them: `x` and `x[0]` are one resource
    (implicit moves when count is added or removed); `[*]` stands for any instance key, a trailing `.*`
    for anything in a module, and `*` for everything."""

    def __init__(self, addresses: set[str] | list[str]):
        self.everything = "*" in addresses
        self.exact = {canonical_address(a) for a in addresses if "*" not in a}
        patterns = [_pattern(canonical_address(a)) for a in addresses if "*" in a and a != "*"]
        self.pattern = re.compile("|".join(patterns)) if patterns else None

    def __contains__(self, address: str) -> bool:
        address = canonical_address(address)
        return self.everything or address in self.exact or bool(self.pattern and self.pattern.fullmatch(address))


def canonical_address(address: str) -> str:
    """`x[0]` and `x` are one resource to Terraform (it moves one to the other when count comes or goes)."""
    return address.replace("[0]", "")


def _pattern(address: str) -> str:
    anything_below = address.endswith(".*")
    text = re.escape(address[:-2] if anything_below else address).replace(re.escape("[*]"), r"(?:\[[^\]]*\])?")
    return f"(?:{text}(?:\\..*)?)" if anything_below else f"(?:{text})"


def earlier_addresses(address: str, moves: list[tuple[str, str]]) -> list[str]:
    """Every address `moved` blocks say this resource had before, following chains (a -> b -> c)."""
    seen = [address]
    todo = [address]
    while todo and len(seen) < 1000:
        current = todo.pop()
        for old, new in moves:
            if current == new or current.startswith((new + ".", new + "[")):
                earlier = old + current[len(new):]
                if earlier not in seen:
                    seen.append(earlier)
                    todo.append(earlier)
    return seen[1:]


def _mark(graph: Graph, ref: str, existing: list[tuple[BaseRoot, Existing]], doubt: str) -> None:
    from iaclint.graph.hcl import WILDCARD

    graph.base_ref = ref
    imported = Existing(graph.imports)
    new: set[str] = set()
    notes: dict[str, str] = {}
    for resource in graph.resources:
        address = resource.address
        if resource.key is WILDCARD or "[*]" in address:
            notes[address] = "its instances are not known, so whether it exists cannot be told"
            continue
        if address in imported:
            notes[address] = "an import block adopts it, so it exists"
            continue
        if doubt:
            notes[address] = doubt
            continue
        why = _existed(address, graph.moves, existing, ref)
        if why is None:
            new.add(address)
        elif why:
            notes[address] = why
    graph.new_since_base = new
    graph.base_notes = notes


def _existed(address: str, moves: list[tuple[str, str]], existing: list[tuple[BaseRoot, Existing]],
             ref: str) -> str | None:
    """None when the resource did not exist at the base; else why it did ("" when plainly)."""
    earlier = earlier_addresses(address, moves)
    for base_root, addresses in existing:
        where = f" in {base_root.folder} ({base_root.why})" if base_root.why else ""
        if address in addresses:
            return f"it exists at {ref}{where}" if where else ""
        for old in earlier:
            if old in addresses:
                return f"it exists at {ref} as {old}{where} (a moved block renamed it)"
    return None


def staged_deletions(start: Path, ref: str) -> list[Path]:
    """Files the index deletes (or renames away) since ``ref``: what pre-commit never passes to a hook."""
    top = repository_root(start)  # git names the files from the top, wherever it runs
    if top is None:
        raise BaseError(f"{start} is not in a git repository")
    out = _git(["diff", "--cached", "--no-renames", "--name-only", "--diff-filter=D", "-z", ref, "--"], top)
    return [top / name for name in out.split("\0") if name]


def text_at(start: Path, ref: str, path: Path) -> str:
    """A file's text at ``ref`` ("" when it was not there)."""
    top = Path(_git(["rev-parse", "--show-toplevel"], start).strip()).resolve()
    try:
        name = path.resolve().relative_to(top).as_posix()
    except ValueError:
        return ""
    return _git(["show", f"{ref}:{name}"], top, ok=(0, 128))
