"""Bounds on the work a configuration can ask of the evaluator, so a few bytes cannot hang or exhaust a run.

Terraform itself has few such limits, but a linter runs on code from strangers: a limit reached makes
the value unknown with a message naming the limit and how to raise it, never an error that stops the run.
Set them with `limits = { steps = 20000000 }` in the settings or `--limit steps=20000000`. The defaults sit
far above real code: the largest root of the benchmark corpora takes 28,769 steps; 5,000,000 take about 5 s.
"""

from __future__ import annotations

from iaclint.model import ValueRecord


class Limits(ValueRecord):
    """The defaults sit far above what real configurations use (measured on the benchmark corpora)."""

    __slots__ = ("instances", "module_depth", "module_instances", "collection", "string", "steps", "file_size")

    def __init__(self, instances: int = 10_000, module_depth: int = 100, module_instances: int = 10_000,
                 collection: int = 100_000, string: int = 1_000_000, steps: int = 5_000_000,
                 file_size: int = 1_000_000):
        self.instances = instances  # instances of one resource or module block (count, for_each)
        self.module_depth = module_depth  # modules calling modules
        # module instances in one root module (count = 2 thirty levels deep: 2^30)
        self.module_instances = module_instances
        self.collection = collection  # values in one evaluated list, set, map or object, nested ones counted
        self.string = string  # characters in one evaluated string (format widths, join, replace, templates)
        self.steps = steps  # evaluation steps per root module (each node evaluated, and walks of large values)
        self.file_size = file_size  # bytes file() and templatefile() read

    @classmethod
    def names(cls) -> list[str]:
        return list(cls.__slots__)

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
        return Limits(**{name: changes.get(name, getattr(self, name)) for name in self.names()})


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
