"""Arguments inside nested blocks, named by a dotted path: `encrypt_at_rest.enabled`,
`rule.apply_server_side_encryption_by_default.sse_algorithm`, `configuration.result_configuration.
encryption_configuration`.

Rules, conditions, key checks and fixes all read nested settings through `resolve`, so they agree on
what a path means:

- Each segment but the last names nested blocks (literal, or `dynamic` with a known for_each), or an
  argument whose value is an object (or a list of objects), as provider-v6 nested attributes are
  written. The last segment names an argument, or blocks (then the leaf is "present" when one exists).
- Every block on the way counts: a path through two `rule` blocks has two leaves, and whoever judges
  the path judges each of them (a setting must hold in every block).
- A missing block gives one leaf whose argument is absent and that names what is missing
  ("encrypt_at_rest is not set"): the argument's default applies, as the provider applies it.
- A `dynamic` block whose for_each is unknown, a block a plan knows only after apply, or an object
  argument whose value is unknown makes the whole path unknown, with that reason: how many blocks
  there are decides the answer.
"""

from __future__ import annotations

from typing import Union

from iaclint.eval.values import Value
from iaclint.graph.model import AttrView, BlockView, Resource
from iaclint.model import Span

Holder = Union[Resource, BlockView]


class Leaf:
    """Where a path ends in one block: the argument (absent when something on the way is missing)."""

    __slots__ = ("holder", "view", "missing", "label", "blocks")

    def __init__(self, holder: Holder, view: AttrView, missing: str, label: str, blocks: tuple[BlockView, ...]):
        self.holder = holder  # the resource or block that holds the argument (or the deepest one reached)
        self.view = view
        self.missing = missing  # the path prefix that is absent ("encrypt_at_rest"), "" when every block exists
        self.label = label  # the path as written for this leaf: "rule[1].bucket_key_enabled" when there are several
        self.blocks = blocks  # the blocks on the way, outermost first

    @property
    def span(self) -> Span | None:
        """The argument when written, else the deepest block reached (None: the resource itself)."""
        if self.view.present and self.view.span is not None:
            return self.view.span
        for block in reversed(self.blocks):
            if block.span is not None:
                return block.span
        return None

    @property
    def unset(self) -> str:
        """'encrypt_at_rest is not set', 'encrypt_at_rest.enabled is null': what a default stands in for."""
        if self.missing:
            return f"{self.missing} is not set"
        if self.view.present:
            return f"{self.label} is null"
        return f"{self.label} is not set"


class _ObjectHolder(BlockView):
    """An object-valued argument seen as a block, so a path can go through `x = { y = ... }` too."""

    def __init__(self, value: Value, label: str, span: Span | None):
        self.value = value
        self.label = label
        self.span = span

    def attr(self, name: str) -> AttrView:
        item = self.value.raw.get(name) if isinstance(self.value.raw, dict) else None
        if item is None:
            return AttrView(name, False, None, None, None)
        span = item.origin.span if item.origin is not None else None
        return AttrView(name, True, item, span, span)

    def nested(self, name: str) -> tuple[list[BlockView], str]:
        return [], ""


def _blocks(holder: Holder, name: str, label: str) -> tuple[list[BlockView], str]:
    """The blocks (or objects of an object-valued argument) called ``name`` inside ``holder``."""
    blocks, why = holder.nested(name)
    if why or blocks:
        return blocks, why
    view = holder.attr(name)
    if not view.is_set:
        return [], ""
    value = view.value
    if not value.known:
        return [], f"{label} is unknown: {value.unknown}"
    items = value.raw if isinstance(value.raw, list) else [value]
    out: list[BlockView] = []
    for item in items:
        if not item.known:
            return [], f"an element of {label} is unknown: {item.unknown}"
        if isinstance(item.raw, dict):
            out.append(_ObjectHolder(item, label, view.span))
    return out, ""


def resolve(resource: Resource, path: str) -> tuple[list[Leaf], str]:
    """The leaves of a dotted path in a resource, or ([], why) when the number of blocks is unknown."""
    *parents, last = path.split(".")
    reached: list[tuple[Holder, str, tuple[BlockView, ...]]] = [(resource, "", ())]
    leaves: list[Leaf] = []
    for segment in parents:
        deeper = []
        for holder, prefix, trail in reached:
            here = f"{prefix}.{segment}" if prefix else segment
            blocks, why = _blocks(holder, segment, here)
            if why:
                return [], why
            if not blocks:
                leaves.append(Leaf(holder, AttrView(last, False, None, None, None), here, f"{here}.{last}", trail))
                continue
            for index, block in enumerate(blocks):
                shown = f"{here}[{index}]" if len(blocks) > 1 else here
                deeper.append((block, shown, trail + (block,)))
        reached = deeper
    for holder, prefix, trail in reached:
        label = f"{prefix}.{last}" if prefix else last
        view = holder.attr(last)
        if not view.present:
            blocks, why = holder.nested(last)
            if why:
                return [], why
            if blocks:  # the path names blocks: present when there is one
                first = blocks[0]
                view = AttrView(last, True, Value({}), first.span, first.span)
        leaves.append(Leaf(holder, view, "", label, trail))
    return leaves, ""


def leaf_value(resource: Resource, path: str) -> tuple[AttrView | None, str]:
    """The one argument a path names, for paths through blocks that occur at most once (a key argument in
    `encryption_info`): (view, "") or (None, why) when there are several blocks or their number is unknown."""
    leaves, why = resolve(resource, path)
    if why:
        return None, why
    if len(leaves) != 1:
        return None, f"{path} occurs in {len(leaves)} blocks"
    return leaves[0].view, ""
