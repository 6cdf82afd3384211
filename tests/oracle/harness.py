"""Plan a configuration with terraform, build iaclint's graph of the same files, and compare them.

Many independent configurations are planned as one: each is a module called from a generated root
(terraform's start-up dominates a small plan). A configuration terraform rejects is left out, by the files its
errors name, and the rest planned again; what was left out and why is returned, never hidden.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from iaclint.graph.hcl import build_hcl_graph
from iaclint.graph.inputs import collect_inputs

from oracle import schema as schemas
from oracle.compare import Tally, compare_graph, load_plan
from oracle.terraform import Terraform


@dataclass
class Outcome:
    tally: Tally = field(default_factory=Tally)
    planned: list[str] = field(default_factory=list)  # configurations terraform planned
    left_out: dict[str, str] = field(default_factory=dict)  # configuration -> terraform's first error
    terraform_seconds: float = 0.0
    iaclint_seconds: float = 0.0
    plans: int = 0

    def add(self, other: "Outcome") -> None:
        self.tally.add(other.tally)
        self.planned += other.planned
        self.left_out.update(other.left_out)
        self.terraform_seconds += other.terraform_seconds
        self.iaclint_seconds += other.iaclint_seconds
        self.plans += other.plans


def plan_and_compare(terraform: Terraform, root: Path, label: str, spec: dict | None = None,
                     variables: list[str] = (), var_files: list[str] = (), environ: dict | None = None
                     ) -> tuple[Outcome, list]:
    """One root as it is. Returns the outcome and terraform's errors (empty when it planned)."""
    outcome = Outcome(plans=1)
    spec = spec if spec is not None else schemas.for_directory(root)
    result = terraform.plan(root, spec, variables, var_files, environ or {})
    outcome.terraform_seconds += result.seconds
    if not result.ok:
        return outcome, result.errors()
    plan = load_plan(json.dumps(result.plan))
    started = time.process_time()
    inputs = collect_inputs(root, [str(root / f) for f in var_files], list(variables), environ=dict(environ or {}))
    graph = build_hcl_graph(root, inputs)
    outcome.tally = compare_graph(graph, plan, label, spec)
    outcome.iaclint_seconds += time.process_time() - started
    outcome.planned.append(label)
    return outcome, []


def plan_as_modules(terraform: Terraform, root: Path, cases: dict[str, str], spec: dict | None = None,
                    rounds: int = 12) -> Outcome:
    """Plan ``cases`` (name -> directory relative to ``root``, already in place) as module calls from one root,
    leaving out the ones terraform rejects until the rest plans."""
    outcome = Outcome()
    active = dict(cases)
    for _ in range(rounds):
        lines = _write_calls(root / "main.tf", active)
        result, errors = plan_and_compare(terraform, root, "fixtures", spec)
        outcome.plans += 1
        outcome.terraform_seconds += result.terraform_seconds
        if not errors:
            result.plans = 0
            result.terraform_seconds = 0
            outcome.add(result)
            outcome.planned = sorted(active)
            return outcome
        blamed = set()
        for error in errors:
            names = _blame(error, active, lines)
            if not names:
                raise AssertionError(f"terraform error outside the cases: {error}")
            blamed |= names
            for name in names:
                outcome.left_out.setdefault(name, str(error)[:300])
        for name in blamed:
            del active[name]
        shutil.rmtree(root / ".terraform", ignore_errors=True)
    raise AssertionError(f"still failing after {rounds} rounds: {sorted(outcome.left_out)[:20]}")


def _write_calls(main: Path, cases: dict[str, str]) -> dict[int, str]:
    """The root's module calls, three lines each; returns line -> case."""
    text, lines = [], {}
    for i, (name, folder) in enumerate(sorted(cases.items())):
        text.append(f'module "{name}" {{\n  source = "./{folder}"\n}}')
        for line in range(3 * i + 1, 3 * i + 4):
            lines[line] = name
    main.write_text("\n".join(text) + "\n")
    return lines


def _blame(error, active: dict[str, str], lines: dict[int, str]) -> set[str]:
    """The cases an error is in: the calling line's, or the ones whose folder holds the file (a module
    several cases share is blamed on all of them)."""
    if error.file == "main.tf":
        return {lines[error.line]} if error.line in lines else set()
    if not error.file:
        return set()
    path = error.file.replace("\\", "/").removeprefix("./")
    exact = {name for name, folder in active.items() if path.startswith(folder.rstrip("/") + "/")}
    if exact:
        return exact
    top = "/".join(path.split("/")[:2]) + "/"
    return {name for name, folder in active.items() if folder.startswith(top)}


def plan_generated(terraform: Terraform, config, folder: Path, rounds: int = 12) -> Outcome:
    """A generated configuration: written to ``folder``, planned, and compared; a resource terraform rejects
    is left out (with the ones that refer to it) and the rest planned again."""
    outcome = Outcome()
    for path, text in config.files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    written: set[str] = set()
    for _ in range(rounds):
        (folder / "main.tf").write_text(config.main_tf())
        item_files = config.item_files()
        for stale in written - set(item_files):
            (folder / stale).unlink()
        for name, text in item_files.items():
            (folder / name).write_text(text)
        written = set(item_files)
        result, errors = plan_and_compare(terraform, folder, config.name, config.spec, config.variables,
                                          config.var_files, config.environ)
        outcome.plans += 1
        outcome.terraform_seconds += result.terraform_seconds
        if not errors:
            result.plans = 0
            result.terraform_seconds = 0
            outcome.add(result)
            return outcome
        blamed = [(config.blame(error.file, error.line), error) for error in errors]
        for item, error in blamed:
            if item is None:
                raise AssertionError(f"{config.name}: terraform error outside the generated resources: {error}\n"
                                     f"(the generator made something terraform rejects; it lies in {folder})")
        for item, error in blamed:
            if item in config.items:
                for gone in config.without(item):
                    outcome.left_out[f"{config.name}: {gone.address}"] = (
                        str(error)[:300] if gone is item else f"it refers to {item.address}, left out")
        shutil.rmtree(folder / ".terraform", ignore_errors=True)
    raise AssertionError(f"{config.name}: still failing after {rounds} rounds: "
                         + "\n".join(f"{k}: {v}" for k, v in outcome.left_out.items()))
