"""Set arguments anywhere in a resource block, by dotted path, inserting the blocks that are missing.

`encrypt_at_rest.enabled = true` in a domain without `encrypt_at_rest` adds the block; with the block
it adds or replaces the argument; `server_side_encryption_configuration.rule.apply_server_side_
encryption_by_default.sse_algorithm` adds every missing level at once. A segment may pick one of several
blocks by its index (`ebs_block_device[1].encrypted`, the labels graph/paths.py gives leaves), where a
setting must not go into every block of that name. Settings that share blocks are
written together (one `server_side_encryption { enabled = true, kms_key_arn = ... }`), arguments first
and aligned, as terraform fmt writes them; every byte that is not changed stays as it was.

Used by the fix builder for set_attribute and customer_managed_key fixes whose argument is nested
(or that set companion arguments, `with:` in a rule's fix), and for the content of a new resource.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from iaclint.hcl import ast
from iaclint.hcl.layout import (
    BlockContent, LayoutError, insert_attributes, insert_blocks, literal_like, replace_value,
)
from iaclint.model import Edit
from iaclint.source import SourceFile


@dataclass(frozen=True)
class Setting:
    """One argument to set: a path, and a value (a scalar, or HCL expression text when ``expression``)."""

    path: str
    value: Any
    expression: bool = False  # value is HCL text written as is (a key reference)

    def text(self, existing: ast.Expr | None = None) -> str:
        if self.expression:
            return self.value
        if isinstance(self.value, list):
            return "[" + ", ".join(Setting(self.path, item).text() for item in self.value) + "]"
        if isinstance(self.value, bool):
            return literal_like(existing, self.value) if existing is not None else ("true" if self.value else "false")
        if isinstance(self.value, (int, float)):
            return str(self.value)
        return json.dumps(str(self.value)).replace("${", "$${").replace("%{", "%%{")

    def shown(self) -> str:
        return f"`{self.path} = {self.text()}`"


def content_of(settings: list[Setting], prefix_depth: int = 0) -> BlockContent:
    """The settings as a tree of blocks and arguments (paths relative to ``prefix_depth`` segments in)."""
    tree: BlockContent = {}
    for setting in settings:
        parts = [_name(part) for part in setting.path.split(".")[prefix_depth:]]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})  # type: ignore[assignment]
        node[parts[-1]] = setting.text()
    return tree


def _name(segment: str) -> str:
    """`ebs_block_device[1]` -> `ebs_block_device`."""
    return segment.split("[", 1)[0]


def _index(segment: str) -> int | None:
    """`ebs_block_device[1]` -> 1; None for a segment that names every block."""
    if not segment.endswith("]") or "[" not in segment:
        return None
    return int(segment[segment.index("[") + 1:-1])


def _is_literal(expr: ast.Expr) -> bool:
    return isinstance(expr, ast.Literal) or (isinstance(expr, ast.Template) and expr.is_literal and not expr.heredoc)


def _literal_equals(expr: ast.Expr, setting: Setting) -> bool:
    if setting.expression or not _is_literal(expr):
        return False
    raw = expr.value if isinstance(expr, ast.Literal) else expr.literal
    if isinstance(setting.value, bool):
        return str(raw).lower() == ("true" if setting.value else "false")
    return raw == setting.value


@dataclass
class SetResult:
    """The edits, and the paths whose current value is computed (replacing it changes what it meant)."""

    edits: list[Edit]
    computed: list[str]


def set_paths(source: SourceFile, block: ast.Block, settings: list[Setting],
              sources: dict[str, SourceFile] | None = None) -> SetResult:
    """Edits that give every setting its value inside ``block`` (an HCL resource block); LayoutError when the
    place to write is a dynamic block or is written on one line. ``sources``: the text of every file, for a
    block merged with override files, whose arguments and nested blocks are edited where they are written."""
    result = SetResult([], [])
    _set_in(source, block, settings, 0, result, sources or {})
    return result


def _set_in(source: SourceFile, block: ast.Block, settings: list[Setting], depth: int, result: SetResult,
            sources: dict[str, SourceFile]) -> None:
    here: list[Setting] = []
    deeper: dict[str, list[Setting]] = {}
    for setting in settings:
        parts = setting.path.split(".")
        if len(parts) == depth + 1:
            here.append(setting)
        else:
            deeper.setdefault(parts[depth], []).append(setting)
    missing_args: list[tuple[str, str]] = []
    for setting in here:
        name = setting.path.split(".")[-1]
        node = block.attribute(name)
        if node is None:
            missing_args.append((name, setting.text()))
            continue
        if _literal_equals(node.expr, setting):
            continue
        if not _is_literal(node.expr):
            result.computed.append(setting.path)
        result.edits.extend(replace_value(sources.get(node.file, source), node.expr.start, node.expr.end,
                                          setting.text(node.expr)))
    if missing_args:
        result.edits.extend(insert_attributes(source, block, missing_args))
    new_blocks: list[tuple[str, BlockContent]] = []
    for segment, inner in deeper.items():
        name, index = _name(segment), _index(segment)
        if any(b.type == "dynamic" and b.labels == [name] for b in block.body.blocks):
            shown = ", ".join(s.path for s in inner)
            raise LayoutError(f"{name} is a dynamic block; set {shown} in its content by hand")
        if block.attribute(name) is not None:
            shown = ", ".join(s.path for s in inner)
            raise LayoutError(f"{name} is an argument holding an object, not a block; set {shown} in it by hand")
        existing = block.blocks(name)
        if index is not None:
            if index >= len(existing):
                raise LayoutError(f"{segment} is not written in the configuration")
            existing = [existing[index]]
        if not existing:
            new_blocks.append((name, content_of(inner, depth + 1)))
            continue
        for nested in existing:  # a setting holds in every block of that name (or the one indexed)
            _set_in(sources.get(nested.file, source), nested, inner, depth + 1, result, sources)
    if new_blocks:
        result.edits.append(insert_blocks(source, block, new_blocks))


def resource_text(type_: str, name: str, head: list[tuple[str, str]], settings: list[Setting]) -> str:
    """A new resource block: the ``head`` arguments (a reference to the resource it belongs to), a blank line,
    then the settings' blocks and arguments. Lines end in "\\n" (insert_after_block converts them)."""
    from iaclint.hcl.layout import block_text

    content = content_of(settings)
    arguments = [(k, v) for k, v in content.items() if isinstance(v, str)]
    width = max(len(k) for k, _ in head + arguments)
    text = f'resource "{type_}" "{name}" {{\n'
    text += "".join(f"  {k.ljust(width)} = {v}\n" for k, v in head + arguments)
    for child, body in content.items():
        if not isinstance(body, str):
            text += "\n" + block_text(child, body, "  ", "\n")
    return text + "}\n"
