"""Every fixture configuration, staged for planning: a rule fixture's .tf file is a module of its own, a
fixture directory is one as it is (a tree of roots, like fixtures/monorepo, is copied whole and each root is a
case). A case with variables files of its own is a root to plan by itself (in a module they would not apply)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from support import FIXTURES

VARIABLE_FILES = ("terraform.tfvars", "terraform.tfvars.json")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _has_own_variables(folder: Path) -> bool:
    return any((folder / n).exists() for n in VARIABLE_FILES) or any(folder.glob("*.auto.tfvars*"))


def why_not_plannable(folder: Path) -> str:
    """What stops terraform planning a case offline without inputs, seen before asking it (it reports a
    missing module argument one call at a time)."""
    from iaclint.hcl.parser import ParseFailure, parse_source
    from iaclint.source import SourceError, read_source

    other = next((p for p in sorted(folder.rglob("*")) if p.name.endswith((".tofu", ".tofu.json"))
                  or p.name == "terragrunt.hcl"), None)
    if other is not None:  # read with OpenTofu's or Terragrunt's rules, which terraform does not follow
        return f"{other.name}: terraform is not the oracle of {'Terragrunt' if other.suffix == '.hcl' else 'OpenTofu'}"
    for path in sorted(folder.rglob("*.tf")):
        try:
            body = parse_source(read_source(path))
        except (SourceError, ParseFailure, RecursionError) as exc:
            return f"{path.name} does not parse: {exc}"
        for block in body.blocks:
            if block.type == "variable" and path.parent == folder and block.attribute("default") is None:
                return f'variable "{block.labels[0]}" has no default'
            if block.type == "module":
                source = block.attribute("source")
                text = source.expr.literal if source and getattr(source.expr, "is_literal", False) else ""
                if not text.startswith(("./", "../")):
                    return f'module "{block.labels[0]}" is not local ({text or "no literal source"}): it needs the network'
    return ""


def stage(target: Path) -> tuple[dict[str, str], list[Path], dict[str, str]]:
    """Copies the fixtures under ``target``/cases; returns the module cases (name -> folder relative to
    target), the roots to plan one by one, and the cases left out with the reason."""
    cases: dict[str, str] = {}
    left_out: dict[str, str] = {}
    roots: list[Path] = []
    staged = target / "cases"
    staged.mkdir(parents=True)
    sources = [p for p in sorted((FIXTURES / "rules").iterdir()) if p.is_dir()]
    for rule in sources:
        for entry in sorted(rule.iterdir()):
            name = _safe(f"{rule.name}__{entry.name}")
            if entry.is_file() and entry.name.endswith(".tf"):
                folder = staged / name
                folder.mkdir()
                shutil.copy2(entry, folder / entry.name)
                cases[name] = f"cases/{name}"
            elif entry.is_dir():
                _stage_tree(entry, staged / name, f"cases/{name}", name, cases, roots)
    for tree in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and p.name != "rules"):
        _stage_tree(tree, staged / tree.name, f"cases/{tree.name}", tree.name, cases, roots)
    for name, folder in list(cases.items()):
        why = why_not_plannable(target / folder)
        if why:
            left_out[name] = why
            del cases[name]
    return cases, roots, left_out


def _stage_tree(source: Path, copy: Path, relative: str, name: str, cases: dict, roots: list) -> None:
    ignore = shutil.ignore_patterns(".terraform", "plan.json", "*.tfplan")
    if source.name.endswith(".fixed"):  # what a fix leaves: the case's tree with these files replaced
        shutil.copytree(source.with_name(source.name.removesuffix(".fixed")), copy, ignore=ignore)
        shutil.copytree(source, copy, ignore=ignore, dirs_exist_ok=True)
    else:
        shutil.copytree(source, copy, ignore=ignore)
    if any(copy.glob("*.tf")):
        folders = [(copy, relative, name)]
    else:  # a tree of roots and the modules they share
        folders = [(p.parent, f"{relative}/{p.parent.relative_to(copy).as_posix()}",
                    _safe(f"{name}__{p.parent.relative_to(copy).as_posix()}"))
                   for p in sorted(copy.rglob("*.tf")) if "modules" not in p.relative_to(copy).parts]
        folders = list({f[0]: f for f in folders}.values())
    for folder, rel, case in folders:
        if _has_own_variables(folder):
            roots.append(folder)
        else:
            cases[case] = rel
