"""Bounds on the work a configuration can ask of the evaluator, so a few bytes cannot hang or exhaust a run.

Terraform itself has few such limits, but a linter runs on code from strangers: a limit reached makes
the value unknown with a message naming the limit and how to raise it, never an error that stops the run.
Set them with `limits = { steps = 20000000 }` in the settings or `--limit steps=20000000`. The defaults sit
far above real code: the largest root of the benchmark corpora takes 28,769 steps; 5,000,000 take about 5 s.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Limits:
    """The defaults sit far above what real configurations use (measured on the benchmark corpora)."""

    instances: int = 10_000  # instances of one resource or module block (count, for_each)
    module_depth: int = 100  # modules calling modules
    module_instances: int = 10_000  # module instances in one root module (count = 2 thirty levels deep: 2^30)
    collection: int = 100_000  # values in one evaluated list, set, map or object, nested ones counted
    string: int = 1_000_000  # characters in one evaluated string (format widths, join, replace, templates)
    steps: int = 5_000_000  # evaluation steps per root module (each node evaluated, and walks of large values)
    file_size: int = 1_000_000  # bytes file() and templatefile() read

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def with_values(self, values: dict[str, object], where: str) -> "Limits":
        """These limits with some replaced; a wrong name or value raises ValueError naming ``where``."""
        changes = {}
        for name, value in values.items():
            if name not in self.names():
                raise ValueError(f"{where}: unknown limit {name!r} (known: {', '.join(self.names())})")
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{where}: limit {name} must be a positive whole number, got {value!r}")
            changes[name] = value
        return replace(self, **changes)


DEFAULT_LIMITS = Limits()


class LimitReached(Exception):
    """A limit stopped evaluation. Not an EvalError: try() and can() must not turn it into a fallback."""

    def __init__(self, limit: str, message: str):
        super().__init__(f"{message} (limit {limit}; raise it with --limit {limit}=N or the settings' limits)")
        self.limit = limit


class Budget:
    """Evaluation steps left for one root module, shared by every expression evaluated for it."""

    __slots__ = ("limits", "used", "exhausted")

    def __init__(self, limits: Limits = DEFAULT_LIMITS):
        self.limits = limits
        self.used = 0
        self.exhausted = False

    def charge(self, steps: int) -> None:
        self.used += steps
        if self.used > self.limits.steps:
            self.exhausted = True
            raise LimitReached("steps", f"evaluation stopped after {self.limits.steps:,} steps")
