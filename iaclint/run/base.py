"""Which resources are new since a git revision (--base): those were never applied from this branch.

A fix that forces replacement destroys data only when the resource exists. Without a plan iaclint
cannot know that, so it assumes every resource is live. With --base REF, a resource address that
does not exist in the same root module at REF has never been applied from this branch, and adding
`storage_encrypted = true` to a cluster written five minutes ago is safe.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from iaclint.graph.config import ConfigLoader, make_cache
from iaclint.graph.hcl import WILDCARD, build_hcl_graph
from iaclint.graph.inputs import collect_inputs
from iaclint.graph.model import Graph
from iaclint.graph.plan import strip_keys
from iaclint.hcl.cache import ParseCache, read_private_file, read_regular, write_private_file
from iaclint.tree import Tree

BASE_KEEP = 64  # trees kept, most recently used first: one per root and commit, so a run over many roots keeps its own
MANIFEST = ".manifest.json"  # beside a kept tree's files: what was extracted, signed
_TREE = re.compile(r"[0-9a-f]{20}")
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class BaseError(Exception):
    """--base cannot be used here; the message says why (fixes then keep treating resources as live)."""


def _git(args: list[str], cwd: Path, binary: bool = False):
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BaseError(f"git could not be run ({exc})") from None
    if proc.returncode != 0:
        raise BaseError(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:][0]
                        if proc.stderr.strip() else f"git {' '.join(args)} failed")
    return proc.stdout if binary else proc.stdout.decode("utf-8", "replace")


def mark_new_resources(graph: Graph, root: Path, ref: str, environ: dict | None, cache: bool = False) -> None:
    """Set graph.new_since_base to the addresses that do not exist in the same root at ``ref``."""
    top = Path(_git(["rev-parse", "--show-toplevel"], root).strip())
    commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root).strip()
    folders = sorted({str(Path(f).resolve().parent.relative_to(top)) for f in graph.files_checked
                      if _inside(Path(f).resolve(), top)})
    listed = _git(["ls-tree", "-r", "--name-only", ref, "--", *folders], top).splitlines() if folders else []
    wanted = [name for name in listed if Path(name).parent.as_posix() in {Path(f).as_posix() for f in folders}]
    root_rel = root.resolve().relative_to(top)
    parse_cache = make_cache(cache)
    if parse_cache is not None:
        trees = parse_cache.private_folder("base")
        graph.notices.extend(n for n in parse_cache.notices if n not in graph.notices)  # why it is not used
        if trees is not None:
            # A tree per commit and file list, kept: its path is stable, so the parse cache serves it on every
            # commit of a pre-commit session (the base files are parsed once, not on every hook run).
            key = hashlib.sha256("\0".join([str(top), commit, *wanted]).encode()).hexdigest()[:20]
            existing = _kept_addresses(trees / key, top, ref, wanted, root_rel, environ, parse_cache)
            if existing is not None:
                _mark(graph, ref, existing)
                return
    with tempfile.TemporaryDirectory(prefix="iaclint-base-") as scratch:
        _extract(Path(scratch), top, ref, wanted)
        existing = _addresses(Path(scratch), root_rel, environ, None)
    _mark(graph, ref, existing)


def _extract(folder: Path, top: Path, ref: str, wanted: list[str]) -> None:
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


def _kept_addresses(final: Path, top: Path, ref: str, wanted: list[str], root_rel: Path, environ: dict | None,
                    cache: ParseCache) -> set[str] | None:
    """The root's addresses at the base, computed once per tree and root and kept signed beside the tree: the
    tree never changes, and only TF_VAR_ variables (count, for_each) could change what it declares, so they
    are in the name. None when the tree cannot be kept (a temporary copy is used instead)."""
    from iaclint.hcl.cache import generation

    variables = sorted((k, v) for k, v in (environ or {}).items() if k.startswith("TF_VAR_"))
    name = hashlib.sha256(json.dumps([generation(), str(root_rel), variables]).encode()).hexdigest()[:16]
    kept = final / f".addresses-{name}.json"
    data = _unseal_json(cache, kept, read_private_file(kept))
    if isinstance(data, list) and all(isinstance(a, str) for a in data):
        os.utime(final)  # recently used: kept by the pruning
        return set(data)
    tree = _base_tree(final, top, ref, wanted, cache)
    if tree is None:
        return None
    existing = _addresses(tree, root_rel, environ, cache)
    try:
        write_private_file(kept, _seal_json(cache, kept, sorted(existing)))
    except OSError:
        pass  # only costs the next run the graph build
    return existing


def _base_tree(final: Path, top: Path, ref: str, wanted: list[str], cache: ParseCache) -> Path | None:
    """The files of ``wanted`` at ``ref`` under ``final``, extracted once: a tree is complete before it gets
    its name (renamed into place), so concurrent runs share it or build their own, never a half one. A kept
    tree is used only while it holds exactly what its signed manifest says (a cache restored from elsewhere,
    or a tree someone emptied or added a file to, is built again)."""
    manifest = final / MANIFEST
    signed = _unseal_json(cache, manifest, read_private_file(manifest))
    if isinstance(signed, dict) and signed == _listing(final):
        return final
    try:
        if final.is_symlink() or final.is_file():
            final.unlink()
        elif final.is_dir():
            shutil.rmtree(final)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
        _extract(building, top, ref, wanted)
        listing = _listing(building, private=True)
        write_private_file(building / MANIFEST, _seal_json(cache, manifest, listing))
        try:
            os.rename(building, final)
        except OSError:  # another run named its copy first: same commit, same files
            shutil.rmtree(building, ignore_errors=True)
        _prune(final.parent, keep=BASE_KEEP)
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


def _prune(folder: Path, keep: int) -> None:
    """Keep the ``keep`` most recently used trees, and building folders of crashed runs for an hour. Only
    real directories named as this module names them are removed; a link is never followed."""
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
                if _TREE.fullmatch(entry.name):
                    trees.append((used, entry.name))
                elif entry.name.startswith(".building-") and time.time() - used > 3600:
                    shutil.rmtree(entry.name, ignore_errors=True, dir_fd=fd)
        for _used, name in sorted(trees, reverse=True)[keep:]:
            shutil.rmtree(name, ignore_errors=True, dir_fd=fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _addresses(tree: Path, root_rel: Path, environ: dict | None, parse_cache) -> set[str]:
    """The addresses a root declares in the files extracted at the base (read only inside that tree)."""
    base_root = tree / root_rel
    base_root.mkdir(parents=True, exist_ok=True)
    confined = Tree.of(tree)
    inputs = collect_inputs(base_root, environ=environ or {}, tree=confined)
    base = build_hcl_graph(base_root, inputs, ConfigLoader(cache=parse_cache, tree=confined))
    return {r.address for r in base.resources}


def _mark(graph: Graph, ref: str, existing: set[str]) -> None:
    wildcard = {strip_keys(a) for a in existing if a.endswith("[*]")}
    graph.base_ref = ref
    graph.new_since_base = {r.address for r in graph.resources
                            if r.address not in existing and r.config_address not in wildcard
                            and r.key is not WILDCARD}


def _inside(path: Path, top: Path) -> bool:
    try:
        path.relative_to(top)
        return True
    except ValueError:
        return False
