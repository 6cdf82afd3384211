"""Which resources are new since a git revision (--base): those were never applied from this branch.

A fix that forces replacement destroys data only when the resource exists. Without a plan iaclint
cannot know that, so it assumes every resource is live. With --base REF, a resource address that
does not exist in the same root module at REF has never been applied from this branch, and adding
`storage_encrypted = true` to a cluster written five minutes ago is safe.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

from iaclint.graph.config import ConfigLoader
from iaclint.graph.hcl import WILDCARD, build_hcl_graph
from iaclint.graph.inputs import collect_inputs
from iaclint.graph.model import Graph
from iaclint.graph.plan import strip_keys


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


def mark_new_resources(graph: Graph, root: Path, ref: str, environ: dict | None) -> None:
    """Set graph.new_since_base to the addresses that do not exist in the same root at ``ref``."""
    top = Path(_git(["rev-parse", "--show-toplevel"], root).strip())
    _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    folders = sorted({str(Path(f).resolve().parent.relative_to(top)) for f in graph.files_checked
                      if _inside(Path(f).resolve(), top)})
    listed = _git(["ls-tree", "-r", "--name-only", ref, "--", *folders], top).splitlines() if folders else []
    wanted = [name for name in listed if Path(name).parent.as_posix() in {Path(f).as_posix() for f in folders}]
    root_rel = root.resolve().relative_to(top)
    with tempfile.TemporaryDirectory(prefix="iaclint-base-") as scratch:
        base_root = Path(scratch) / root_rel
        base_root.mkdir(parents=True, exist_ok=True)
        if wanted:
            archive = _git(["archive", "--format=tar", ref, "--", *wanted], top, binary=True)
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                try:
                    tar.extractall(scratch, filter="data")
                except TypeError:  # Python before 3.11.4: git archive output holds plain files only
                    tar.extractall(scratch)
        base = build_hcl_graph(base_root, collect_inputs(base_root, environ=environ or {}), ConfigLoader())
        existing = {r.address for r in base.resources}
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
