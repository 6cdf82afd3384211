"""Which evaluations rest on the workspace iaclint assumed (terraform.workspace), so a verdict can say so.

Values are evaluated lazily and memoised, so "does this value depend on terraform.workspace" cannot be read off
the value (refs name resources, and rules read them as such). Instead every memoised evaluation in progress
(an attribute, a local, a variable, an output, a count or for_each) is a frame on a stack: reading
terraform.workspace marks every frame on it, a memo remembers that its value was marked, and reading a marked
memo marks the frames again. The runner puts a frame around each rule it applies.
"""

from __future__ import annotations

_FRAMES: list[list[bool]] = []


def begin() -> list[bool]:
    """A new frame; pass it to end() when the evaluation is done."""
    frame = [False]
    _FRAMES.append(frame)
    return frame


def end(frame: list[bool]) -> bool:
    """Close the frame (the innermost); whether what it evaluated read the workspace."""
    if _FRAMES and _FRAMES[-1] is frame:
        _FRAMES.pop()
    elif frame in _FRAMES:
        _FRAMES.remove(frame)
    return frame[0]


def read_workspace() -> None:
    """terraform.workspace (or a memo computed from it) was read: everything in progress depends on it."""
    for frame in _FRAMES:
        frame[0] = True
