"""Arguments whose value a conditional with an unknown condition chooses, and the resource as it is in one
choice of them.

A rule's verdict on such a resource is not a guess of the branch: the runner (engine/runner.py) notes which of
the resource's arguments the rule read that are such choices (values whose raw is Alternatives), applies the
rule again to the resource as it would be with each combination of alternatives (an `Assumed` view: the same
resource, those arguments replaced), and keeps a verdict only when every combination gives it. The view is
what the rule is handed; nothing is stored anywhere else, so the memoised values of the graph stay the
configuration's own.
"""

from __future__ import annotations


from iaclint.eval.values import Alternatives, Value
from iaclint.graph.model import AttrView, BlockView

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any

# (id of the resource, block offset or -1, label, argument) -> the argument's view, for each choice read while a
# rule runs; None when no rule is running. A block is named by its offset and label: JSON blocks are made anew
# each time they are asked for, and the instances of a dynamic block share one content block.
_WATCH: dict[tuple, AttrView] | None = None


def watching() -> dict[tuple, AttrView]:
    """Start noting the choices read (the runner, around one rule on one resource)."""
    global _WATCH
    _WATCH = {}
    return _WATCH


def stop() -> None:
    global _WATCH
    _WATCH = None


def note(resource: Any, block: Any, label: str, name: str, view: AttrView) -> None:
    """An argument was read (HclResource.attr, HclBlockView.attr): noted when a choice and someone watches."""
    watch = _WATCH
    if watch is not None and view.value is not None and type(view.value.raw) is Alternatives:
        watch.setdefault((id(resource), block.start if block is not None else -1, label, name), view)


class Assumed:
    """A resource with some of its arguments taken to be one alternative each; otherwise the resource itself.

    ``choices`` maps (block offset or -1, label, argument) to the value assumed. Everything else, identity included
    for the graph's own lookups, is the resource's."""

    def __init__(self, resource: Any, choices: dict[tuple, Value]):
        self._resource = resource
        self._choices = choices

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resource, name)

    def attr(self, name: str) -> AttrView:
        view = self._resource.attr(name)
        chosen = self._choices.get((-1, "", name))
        return _replaced(view, chosen) if chosen is not None else view

    def peek_value(self, name: str) -> Value | None:
        return self.attr(name).value

    def nested(self, name: str) -> tuple[list[BlockView], str]:
        blocks, why = self._resource.nested(name)
        return [AssumedBlock(b, self._choices) for b in blocks], why


class AssumedBlock(BlockView):
    """A nested block of an Assumed resource."""

    def __init__(self, block: BlockView, choices: dict[tuple, Value]):
        self._block = block
        self._choices = choices
        self.span = block.span
        self.label = block.label

    def __getattr__(self, name: str) -> Any:
        return getattr(self._block, name)

    def attr(self, name: str) -> AttrView:
        view = self._block.attr(name)
        ast_block = getattr(self._block, "block", None)
        chosen = self._choices.get((ast_block.start if ast_block is not None else -1, self._block.label, name))
        return _replaced(view, chosen) if chosen is not None else view

    def nested(self, name: str) -> tuple[list[BlockView], str]:
        blocks, why = self._block.nested(name)
        return [AssumedBlock(b, self._choices) for b in blocks], why


def _replaced(view: AttrView, value: Value) -> AttrView:
    return AttrView(view.name, view.present, value, view._span, view._value_span, view.node)
