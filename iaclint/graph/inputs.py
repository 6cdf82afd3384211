"""Values for the root module's input variables, in Terraform's precedence order.

Lowest to highest: TF_VAR_ environment variables, terraform.tfvars, terraform.tfvars.json,
*.auto.tfvars and *.auto.tfvars.json in lexical order, then --var-file files, then --var values.
(Terraform interleaves -var and -var-file by their position on the command line; iaclint applies
all --var-file before all --var.) A later source replaces the whole value of a variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from iaclint.eval.evaluator import ConstantContext, Evaluator
from iaclint.eval.values import Origin, OriginKind, Value
from iaclint.graph.model import Diagnostic
from iaclint.hcl import ast
from iaclint.hcl.parser import ParseFailure, parse_source
from iaclint.model import Record
from iaclint.recording import note_path
from iaclint.source import SourceError, SourceFile, display_path, read_source
from iaclint.tree import Tree, shown_as_found, tree_of


class RawInput(Record):
    """A -var or TF_VAR_ string: read literally for primitive types, as HCL otherwise."""

    __slots__ = ("text", "origin")
    _shown = __slots__

    def __init__(self, text: str, origin: Origin):
        self.text = text
        self.origin = origin


class Workspace(Record):
    """The workspace `terraform.workspace` is, and what decided it (said wherever a verdict depends on it)."""

    __slots__ = ("name", "decided_by")
    _shown = __slots__

    def __init__(self, name: str = "default",
                 decided_by: str = "no --workspace, TF_WORKSPACE or .terraform/environment"):
        self.name = name
        self.decided_by = decided_by

    def describe(self) -> str:
        return f'workspace "{self.name}" ({self.decided_by})'


class VariableInputs(Record):
    """Values for a root's variables from tfvars, -var and TF_VAR_, in Terraform's precedence; and the
    workspace, which the same run chooses."""

    __slots__ = ("values", "files", "diagnostics", "sources", "from_terragrunt", "unset_reason", "workspace")
    _shown = __slots__

    def __init__(self, values: dict[str, Value | RawInput] | None = None, files: list[str] | None = None,
                 diagnostics: list[Diagnostic] | None = None, sources: dict[str, SourceFile] | None = None,
                 from_terragrunt: set[str] | None = None, unset_reason: str = "", workspace: Workspace | None = None):
        self.values = {} if values is None else values
        self.files = [] if files is None else files
        self.diagnostics = [] if diagnostics is None else diagnostics
        self.sources = {} if sources is None else sources
        # Terragrunt passes a unit's inputs as TF_VAR_ variables: names it sets are never "undeclared" notices
        self.from_terragrunt = set() if from_terragrunt is None else from_terragrunt
        self.unset_reason = unset_reason  # why a variable given no value may still have one (an include not read)
        self.workspace = Workspace() if workspace is None else workspace


def resolve_workspace(root: Path, chosen: str | None = None, environ: dict[str, str] | None = None,
                      tree: Tree | None = None, fallback: str | None = None, fallback_from: str = "") -> Workspace:
    """Terraform's choice of workspace for a root: TF_WORKSPACE, else the name `terraform workspace select`
    wrote to .terraform/environment (in TF_DATA_DIR when that is set), else "default". ``chosen`` (--workspace)
    comes before them all; ``fallback`` (the settings' `workspace`) stands in for "default". The file is read
    only as a regular file inside the tree, like the configuration."""
    if chosen:
        return Workspace(chosen, "--workspace")
    env = os.environ if environ is None else environ
    if env.get("TF_WORKSPACE"):
        return Workspace(env["TF_WORKSPACE"], "TF_WORKSPACE")
    path = root / (env.get("TF_DATA_DIR") or ".terraform") / "environment"
    note_path(path)  # an input of the root being checked, there or not (run/results.py)
    problem = ""
    if os.path.lexists(path):
        tree = tree or Tree.of(tree_of(root))
        refused = tree.why_not_read(path)
        if refused:
            problem = f"; {shown_as_found(path)} {refused}"
        else:
            try:
                name = path.read_text(encoding="utf-8", errors="replace").strip()[:200]
            except OSError as exc:
                name, problem = "", f"; {display_path(path)} cannot be read ({exc.strerror or exc})"
            if name:
                return Workspace(name, display_path(path))
    if fallback:
        return Workspace(fallback, (fallback_from or "settings") + problem)
    return Workspace("default", "no --workspace, TF_WORKSPACE or .terraform/environment" + problem)


def tfvars_files(root: Path, tree: Tree | None = None) -> list[Path]:
    """The variables files Terraform loads by itself; links and broken links included, for the loader to judge.
    ``tree``: the run's, which lists each directory once."""
    try:
        names = [e.name for e in tree.entries(root)] if tree is not None else None
    except OSError:
        names = None  # a folder that cannot be listed may still be searched
    if names is None:
        auto = sorted(
            (p for p in root.glob("*.auto.tfvars*") if p.name.endswith((".auto.tfvars", ".auto.tfvars.json"))),
            key=lambda p: p.name,
        )
        fixed = [root / "terraform.tfvars", root / "terraform.tfvars.json"]
        return [p for p in fixed if os.path.lexists(p)] + auto
    fixed = [root / name for name in ("terraform.tfvars", "terraform.tfvars.json") if name in names]
    return fixed + [root / name for name in names if name.endswith((".auto.tfvars", ".auto.tfvars.json"))]


def collect_inputs(root: Path, var_files: list[str] = (), cli_vars: list[str] = (),
                   environ: dict[str, str] | None = None, overlay: dict[str, SourceFile] | None = None,
                   tree: Tree | None = None, workspace: Workspace | None = None) -> VariableInputs:
    """The root's variable values. Files found in the root are read only inside ``tree`` (default: its
    repository); ``var_files`` were named by the user or checked by the settings, and are read as given.
    ``workspace``: the one chosen for the run, else Terraform's for this root (resolve_workspace)."""
    inputs = VariableInputs()
    tree = tree or Tree.of(tree_of(root))
    inputs.workspace = workspace or resolve_workspace(root, environ=environ, tree=tree)
    readable = []
    for path in tfvars_files(root, tree):
        refused = tree.why_not_read(path)
        if refused:
            inputs.diagnostics.append(Diagnostic(shown_as_found(path), 1, 1, f"this variables file {refused}"))
        else:
            readable.append(path)
    env = os.environ if environ is None else environ
    for key in sorted(k for k in env if k.startswith("TF_VAR_")):  # per root: not a sort of the environment
        if len(key) > 7:
            name = key[7:]
            inputs.values[name] = RawInput(env[key], Origin(OriginKind.ENV_VAR, None, f"environment variable {key}"))
    for path in readable + [Path(f) for f in var_files]:
        load_tfvars_file(path, inputs, overlay)
    for item in cli_vars:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--var must look like NAME=VALUE, got {item!r}")
        # the label names no value: the variable may be sensitive, and labels are shown in messages
        inputs.values[name] = RawInput(text, Origin(OriginKind.CLI_VAR, None, f"--var {name}"))
    return inputs


def load_tfvars_file(path: Path, inputs: VariableInputs, overlay: dict[str, SourceFile] | None = None) -> None:
    shown = display_path(path)
    try:
        source = read_source(path, overlay)
    except SourceError as exc:
        inputs.diagnostics.append(Diagnostic(shown, exc.line, exc.column, f"cannot read variables file: {exc}"))
        return
    inputs.sources[shown] = source
    inputs.files.append(shown)
    try:
        if path.name.endswith(".json"):
            from iaclint.hcl.jsonsyntax import parse_json_tfvars  # JSON variables files are rare: imported for one

            body = parse_json_tfvars(source)
        else:
            body = parse_source(source)
    except ParseFailure as exc:
        inputs.diagnostics.append(Diagnostic(shown, exc.line, exc.column, exc.message))
        return
    except RecursionError:
        inputs.diagnostics.append(Diagnostic(shown, 1, 1, "nested too deeply for iaclint to read"))
        return
    for block in body.blocks:
        line, col = source.line_col(block.start)
        inputs.diagnostics.append(Diagnostic(shown, line, col, f"a variables file holds only NAME = value, not a {block.type} block"))
    for attr in body.attributes:
        label = f'{"tfvars" if not path.name.endswith(".json") else "tfvars.json"} value "{attr.name}"'
        evaluator = Evaluator(ConstantContext("in a variables file"), OriginKind.TFVARS, label, name=attr.name)
        inputs.values[attr.name] = evaluator.evaluate(attr.expr)


def type_is_primitive(type_expr: ast.Expr | None) -> bool:
    return isinstance(type_expr, ast.Variable) and type_expr.name in ("string", "number", "bool")
