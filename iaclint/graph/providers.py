"""Which major version of a provider a configuration runs with, when that can be known before init.

Some defaults changed between provider majors (aws_redshift_cluster.encrypted: false in v5, "true" in
v6), so a verdict on an omitted argument depends on it. The answer comes from `.terraform.lock.hcl`
next to the root module (the exact version terraform will use), else from the `required_providers`
constraints of every module, when together they admit a single major version. Otherwise the major is
unknown, with the reason.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable

from iaclint.hcl import ast
from iaclint.hcl.parser import ParseFailure, parse_source
from iaclint.recording import note_path
from iaclint.source import SourceError, display_path, read_source
from iaclint.tree import Tree, shown_as_found
from iaclint.model import Record

LOCK_FILE = ".terraform.lock.hcl"
TERRAFORM_REGISTRY = "registry.terraform.io"  # where a provider source without a host comes from
_VERSION = re.compile(r"^\s*(!=|>=|<=|~>|=|>|<)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?\s*$")
INFINITY = 10 ** 6


class ProviderVersion(Record):
    """What is known of one provider's version (name is the short name, "aws")."""

    _shown = ("name", "source", "major", "majors", "version", "constraints", "decided_by")

    def __init__(self, name: str, source: str = "", major: int | None = None,
                 majors: tuple[int, int | None] = (0, None), version: str | None = None,
                 constraints: list[str] | None = None, decided_by: str = ""):
        self.name = name
        self.source = source  # "hashicorp/aws"
        self.major = major  # when exactly one major is possible
        self.majors = majors  # the range of possible majors (None: no upper bound)
        self.version = version  # exact, from the lock file
        self.constraints = [] if constraints is None else constraints  # 'versions.tf:4: ">= 5.0, < 6.0"'
        self.decided_by = decided_by  # where the major comes from, or why it is unknown

    def describe(self) -> str:
        if self.version:
            return f"{self.source or self.name} {self.version} ({self.decided_by})"
        if self.major is not None:
            return f"{self.source or self.name} v{self.major}.x ({self.decided_by})"
        return f"{self.source or self.name}: major version unknown ({self.decided_by})"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "major": self.major,
                "majors": {"min": self.majors[0], "max": self.majors[1]}, "version": self.version,
                "constraints": list(self.constraints), "decided_by": self.decided_by}


def _literal(expr: ast.Expr | None) -> str | None:
    if isinstance(expr, ast.Template) and expr.is_literal:
        return expr.literal
    if isinstance(expr, ast.Literal) and isinstance(expr.value, str):
        return expr.value
    return None


def required_providers(blocks: Iterable[tuple[ast.Block, str]], sources: dict) -> dict[str, list[tuple[str, str, str]]]:
    """name -> [(source address, constraint, where)] from `terraform { required_providers { ... } }`."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for block, file in blocks:
        for req in block.blocks("required_providers"):
            for attr in req.body.attributes:
                where = file
                source_file = sources.get(file)
                if source_file is not None:
                    where = f"{file}:{source_file.line_col(attr.start)[0]}"
                text = _literal(attr.expr)
                if text is not None:  # the old form: aws = ">= 3.0"
                    out.setdefault(attr.name, []).append(("", text, where))
                    continue
                if isinstance(attr.expr, ast.ObjectExpr):
                    fields = {}
                    for item in attr.expr.items:
                        key = item.key.name if isinstance(item.key, ast.Variable) else _literal(item.key)
                        fields[key] = _literal(item.value)
                    out.setdefault(attr.name, []).append((fields.get("source") or "", fields.get("version") or "",
                                                          where))
    return out


def read_lock_file(root: Path, tree: Tree) -> tuple[dict[str, str], str]:
    """provider source address ("registry.terraform.io/hashicorp/aws") -> locked version; and a problem.

    Read only as a regular file inside the tree, like the configuration; once a run (the OpenTofu question and the
    provider versions both ask)."""
    return tree.remember(("lock file", os.fspath(root)), lambda: _read_lock_file(root, tree))


def _read_lock_file(root: Path, tree: Tree) -> tuple[dict[str, str], str]:
    path = root / LOCK_FILE
    note_path(path)  # an input of the root being checked, there or not (run/results.py)
    if not os.path.lexists(path):
        return {}, ""
    refused = tree.why_not_read(path)
    if refused:
        return {}, f"{shown_as_found(path)} {refused}"
    try:
        body = parse_source(read_source(path))
    except (SourceError, ParseFailure) as exc:
        return {}, f"{display_path(path)} cannot be read ({exc})"
    out = {}
    for block in body.blocks:
        if block.type == "provider" and block.labels:
            attr = block.attribute("version")
            version = _literal(attr.expr) if attr is not None else None
            if version:
                out[block.labels[0]] = version
    return out, ""


def _bounds(constraint: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """[low, high) of one comma-separated constraint list, as version tuples; None when unreadable."""
    low: tuple[int, ...] = (0,)
    high: tuple[int, ...] = (INFINITY,)
    for part in constraint.split(","):
        if not part.strip():
            continue
        match = _VERSION.match(part)
        if match is None:
            return None
        op = match.group(1) or "="
        nums = tuple(int(g) for g in match.groups()[1:] if g is not None)
        full = nums + (0,) * (3 - len(nums))
        if op in ("=",):
            low, high = max(low, full), min(high, full[:-1] + (full[-1] + 1,))
        elif op == ">=":
            low = max(low, full)
        elif op == ">":
            low = max(low, full[:-1] + (full[-1] + 1,))
        elif op == "<":
            high = min(high, full)
        elif op == "<=":
            high = min(high, full[:-1] + (full[-1] + 1,))
        elif op == "~>":
            low = max(low, full)
            if len(nums) == 1:
                high = min(high, (nums[0] + 1, 0, 0))
            else:  # ~> 5.46 allows 5.x >= 5.46; ~> 5.46.1 allows 5.46.x
                bump = nums[:-1]
                high = min(high, bump[:-1] + (bump[-1] + 1,) + (0,) * (3 - len(bump)))
    return low, high


def provider_versions(root: Path, blocks: Iterable[tuple[ast.Block, str]], sources: dict, tree: Tree,
                      extra_constraints: dict[str, list[tuple[str, str, str]]] | None = None,
                      registry: str = TERRAFORM_REGISTRY) -> dict[str, ProviderVersion]:
    """Versions for every provider the configuration names, and for "aws" always. ``registry``: the host of a
    source written without one (OpenTofu's registry for OpenTofu)."""
    required = required_providers(blocks, sources)
    for name, items in (extra_constraints or {}).items():
        required.setdefault(name, []).extend(items)
    locked, problem = read_lock_file(root, tree)
    names = set(required) | {"aws"}
    out: dict[str, ProviderVersion] = {}
    for name in sorted(names):
        entries = required.get(name, [])
        source = next((s for s, _, _ in entries if s), "") or (f"hashicorp/{name}")
        info = ProviderVersion(name, source, constraints=[f"{w}: {json.dumps(c)}" for _, c, w in entries if c])
        full_source = source if source.count("/") == 2 else f"{registry}/{source}"
        version = locked.get(full_source)
        if version is not None:
            match = _VERSION.match(version)
            info.version = version
            info.major = int(match.group(2)) if match else None
            info.majors = (info.major, info.major) if info.major is not None else (0, None)
            info.decided_by = f"locked in {display_path(root / LOCK_FILE)}"
            out[name] = info
            continue
        low, high = (0,), (INFINITY,)
        unreadable = []
        for _, constraint, where in entries:
            if not constraint:
                continue
            bounds = _bounds(constraint)
            if bounds is None:
                unreadable.append(f"{where}: {json.dumps(constraint)}")
                continue
            low, high = max(low, bounds[0]), min(high, bounds[1])
        top_major = high[0] - 1 if high[1:] == (0, 0) else high[0]  # < 6.0.0 tops out at v5
        if not unreadable and low <= high:
            info.majors = (low[0], None if top_major >= INFINITY else top_major)
        if unreadable:
            info.decided_by = "cannot read the constraint " + "; ".join(unreadable)
        elif not entries or all(not c for _, c, _ in entries):
            lock_note = f" ({problem})" if problem else f" and no {LOCK_FILE}"
            info.decided_by = f"no version constraint for {name}{lock_note}"
        elif low[0] == top_major:
            info.major = low[0]
            info.decided_by = "required_providers " + "; ".join(info.constraints)
        elif low > high:
            info.decided_by = "the version constraints exclude each other: " + "; ".join(info.constraints)
        else:
            shown = "any later" if top_major >= INFINITY else f"v{low[0]} to v{top_major}"
            info.decided_by = (f"the constraints allow {shown} and there is no {LOCK_FILE}: "
                               + "; ".join(info.constraints))
        out[name] = info
    return out
