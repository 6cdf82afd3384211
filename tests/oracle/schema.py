"""The stand-in provider's schema for a configuration, read off the configuration itself.

Every argument a resource, data source or provider block sets is an optional attribute of its type (every
attribute is of dynamic type, see standin.py), every nested block (and `dynamic` block) a list block, and every
attribute referenced as TYPE.NAME.ATTRIBUTE (or data.TYPE.NAME.ATTRIBUTE) but never set is a computed one,
known only after apply, as real providers' computed attributes are.
"""

from __future__ import annotations

import re
from pathlib import Path

from iaclint.hcl import ast
from iaclint.hcl.parser import ParseFailure, parse_source
from iaclint.source import SourceError, read_source

META_ARGUMENTS = {"count", "for_each", "depends_on", "provider"}
META_BLOCKS = {"lifecycle", "provisioner", "connection"}
_REFERENCE = re.compile(r"(?<![\w.])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)"
                        r"(?:\[[^\]\[]*\]|\[\*\]|\.\*)?\.([A-Za-z_][\w]*)")
_ROOTS = {"var", "local", "module", "each", "count", "path", "terraform", "self"}


def empty() -> dict:
    return {"provider": {}, "resources": {}, "data_sources": {}}


def _merge_attribute(block: dict, name: str, kind: str) -> None:
    attributes = block.setdefault("attributes", {})
    old = attributes.get(name)
    if old is None or old == kind:
        attributes[name] = kind
    else:
        attributes[name] = "optional_computed"


def _guess_type(expr: ast.Expr, name: str):
    """A data source's nested attributes need a type: Terraform 1.11 panics planning a data source read that
    waits for apply when a list block holds dynamic attributes ("ProposedNew only supports object-typed
    values"). What a data source computes is never compared, so a guess from the expression does."""
    while isinstance(expr, ast.Paren):
        expr = expr.inner
    if isinstance(expr, (ast.TupleExpr, ast.ForExpr)) and not getattr(expr, "key_expr", None):
        return ["list", "string"]
    if isinstance(expr, ast.ObjectExpr):
        return ["map", "string"]
    if isinstance(expr, ast.Literal) and isinstance(expr.value, bool):
        return "bool"
    if isinstance(expr, ast.Literal) and isinstance(expr.value, (int, float)):
        return "number"
    if isinstance(expr, ast.Template) or name.endswith(("_id", "_arn", "_name", "name", "type", "effect", "sid")):
        return "string"
    return ["list", "string"] if name.endswith("s") else "string"


def _add_body(spec: dict, body: ast.Body, top: bool = True, typed: bool = False) -> None:
    for attribute in body.attributes:
        if not (top and attribute.name in META_ARGUMENTS):
            _merge_attribute(spec, attribute.name, "optional")
            if typed and not top:
                spec.setdefault("types", {}).setdefault(attribute.name, _guess_type(attribute.expr, attribute.name))
    for block in body.blocks:
        if top and block.type in META_BLOCKS:
            if block.type == "lifecycle":
                _add_ignored(spec, block)
            continue
        if block.type == "dynamic" and block.labels:
            inner = spec.setdefault("blocks", {}).setdefault(block.labels[0], {})
            for content in block.blocks("content"):
                _add_body(inner, content.body, False, typed)
            continue
        _add_body(spec.setdefault("blocks", {}).setdefault(block.type, {}), block.body, False, typed)


def _add_ignored(spec: dict, lifecycle: ast.Block) -> None:
    """ignore_changes names attributes the type must have."""
    ignored = lifecycle.attribute("ignore_changes")
    if ignored is not None and isinstance(ignored.expr, ast.TupleExpr):
        for item in ignored.expr.items:
            if isinstance(item, ast.Variable):
                spec.setdefault("attributes", {}).setdefault(item.name, "optional")


def add_file(spec: dict, path: Path) -> None:
    """What one .tf file declares and references."""
    try:
        source = read_source(path)
        body = parse_source(source)
    except (SourceError, ParseFailure, RecursionError):
        return  # terraform will reject it, and the case is left out
    for block in body.blocks:
        if block.type == "resource" and len(block.labels) == 2:
            _add_body(spec["resources"].setdefault(block.labels[0], {}), block.body)
        elif block.type == "data" and len(block.labels) == 2:
            _add_body(spec["data_sources"].setdefault(block.labels[0], {}), block.body, typed=True)
        elif block.type == "provider":
            _add_body(spec["provider"], block.body)
    for match in _REFERENCE.finditer(source.text):
        is_data, type_, _name, attribute = match.groups()
        if type_ in _ROOTS:
            continue
        kinds = spec["data_sources" if is_data else "resources"]
        _merge_attribute(kinds.setdefault(type_, {}), attribute, "computed")


def settle(spec: dict) -> dict:
    """An attribute both set somewhere and referenced is optional and computed; only set, optional."""
    for kinds in (spec["resources"], spec["data_sources"]):
        for block in kinds.values():
            blocks = block.get("blocks", {})
            for name in list(block.get("attributes", {})):
                if name in blocks:
                    del block["attributes"][name]  # a reference to a block: the block is what is declared
    spec["provider"].get("attributes", {}).pop("alias", None)
    return spec


def for_directory(root: Path) -> dict:
    spec = empty()
    for path in sorted(root.rglob("*.tf")):
        if ".terraform" not in path.parts:
            add_file(spec, path)
    return settle(spec)
