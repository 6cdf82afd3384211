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
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from iaclint.graph.config import ConfigLoader, make_cache
from iaclint.graph.hcl import WILDCARD, build_hcl_graph
from iaclint.graph.inputs import collect_inputs
from iaclint.graph.model import Graph
from iaclint.graph.plan import strip_keys
from iaclint.source import write_atomic
from iaclint.tree import Tree


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
        # A tree per commit and file list, kept: its path is stable, so the parse cache serves it on every
        # commit of a pre-commit session (the base files are parsed once, not on every hook run).
        key = hashlib.sha256("\0".join([str(top), commit, *wanted]).encode()).hexdigest()[:20]
        scratch = _base_tree(parse_cache.root / "base" / key, top, ref, wanted)
        if scratch is not None:
            _mark(graph, ref, _kept_addresses(scratch, root_rel, environ, parse_cache))
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


def _base_tree(final: Path, top: Path, ref: str, wanted: list[str]) -> Path | None:
    """The files of ``wanted`` at ``ref`` under ``final``, extracted once: a tree is complete before it gets
    its name (renamed into place), so concurrent runs share it or build their own, never a half one."""
    if final.is_dir():
        if all((final / name).is_file() for name in wanted):  # a tree someone emptied is built again
            os.utime(final)  # recently used: kept by the pruning below
            return final
        shutil.rmtree(final, ignore_errors=True)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
        _extract(building, top, ref, wanted)
        try:
            os.rename(building, final)
        except OSError:  # another run named its copy first: same commit, same files
            shutil.rmtree(building, ignore_errors=True)
        _prune(final.parent, keep=8)
    except OSError:
        return None
    return final if final.is_dir() else None


def _prune(folder: Path, keep: int) -> None:
    trees = sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for old in trees[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _kept_addresses(tree: Path, root_rel: Path, environ: dict | None, parse_cache) -> set[str]:
    """The root's addresses at the base, computed once per tree and root: the tree never changes, and
    only TF_VAR_ variables (count, for_each) could change what it declares, so they are in the name."""
    from iaclint.hcl.cache import generation

    variables = sorted((k, v) for k, v in (environ or {}).items() if k.startswith("TF_VAR_"))
    name = hashlib.sha256(json.dumps([generation(), str(root_rel), variables]).encode()).hexdigest()[:16]
    kept = tree / f".addresses-{name}.json"
    try:
        data = json.loads(kept.read_text(encoding="utf-8"))
        if isinstance(data, list) and all(isinstance(a, str) for a in data):
            return set(data)
    except (OSError, ValueError):
        pass
    existing = _addresses(tree, root_rel, environ, parse_cache)
    try:
        write_atomic(kept, json.dumps(sorted(existing)).encode("utf-8"))
    except OSError:
        pass  # only costs the next run the graph build
    return existing


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
