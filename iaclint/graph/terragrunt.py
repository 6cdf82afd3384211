"""Terragrunt units: a directory with terragrunt.hcl is a root module whose code is its `terraform { source }` and
whose variables are set by its `inputs`.

The file is read with the project's HCL parser and evaluated by the project's evaluator, with Terragrunt's names
(`local`, `include.NAME`, `dependency.NAME`) and functions added. Nothing in it is ever run: hooks and `generate`
blocks are not read, run_cmd() is unknown, and so is every function whose result comes from outside the tree (the
environment, AWS, a decrypted file, another unit's state). An `include` merges the parent file the way Terragrunt
does (shallow by default: the child's attributes win, `inputs` merge key by key; `deep` merges maps recursively and
concatenates lists; `no_merge` reads only what the child exposes).

Where the code comes from, as Terragrunt decides it (tf/source.go):
- a local source ("../modules//mysql") is read where it is: Terragrunt copies it afresh on every run;
- a remote one is read from the copy Terragrunt made in .terragrunt-cache/W/H, where H is the base64url SHA-1 of
  the source URL before `//` and without its query, and W a hash of the unit's absolute path (so any W): only
  when that copy's .terragrunt-source-version is the SHA-1 of the query (the `?ref=`) the unit asks for now. Any
  other source, or a copy made from another ref, is not read: MOD001 reports it (never a pass).
The unit's own .tf files are copied over the module's, as Terragrunt does.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from iaclint.eval.convert import EvalError, to_string
from iaclint.eval.evaluator import Evaluator
from iaclint.eval.values import Origin, OriginKind, Value
from iaclint.graph.config import UNIT_FILE, ConfigLoader, ModuleConfig, is_unit, terraform_files  # noqa: F401
from iaclint.graph.model import AttrView, Diagnostic, Resource
from iaclint.hcl import ast
from iaclint.model import Span
from iaclint.source import display_path
from iaclint.tree import Tree, repository_root

CACHE_DIR = ".terragrunt-cache"
MAX_INCLUDE_DEPTH = 4  # read_terragrunt_config() of a file that reads another...

_ASKS_OUTSIDE = {
    "get_env": "reads an environment variable of the machine where Terragrunt runs, which iaclint does not assume "
               "(nor read: it may hold a secret)",
    "run_cmd": "runs a command, and iaclint never runs anything from a scanned tree",
    "sops_decrypt_file": "decrypts a file, which iaclint never does",
    "get_aws_account_id": "asks AWS for the account of the credentials Terragrunt runs with",
    "get_aws_account_alias": "asks AWS for the account alias of the credentials Terragrunt runs with",
    "get_aws_caller_identity_arn": "asks AWS who the credentials Terragrunt runs with belong to",
    "get_aws_caller_identity_user_id": "asks AWS who the credentials Terragrunt runs with belong to",
    "get_terraform_command": "depends on the command Terragrunt is run with",
    "get_terraform_cli_args": "depends on the command Terragrunt is run with",
    "get_platform": "depends on the machine where Terragrunt runs",
    "get_working_dir": "names the .terragrunt-cache directory of the machine where Terragrunt runs",
}


def encode_base64_sha1(text: str) -> str:
    """Terragrunt's util.EncodeBase64Sha1: the names of its cache directories and its version files."""
    return base64.urlsafe_b64encode(hashlib.sha1(text.encode()).digest()).decode().rstrip("=")


# ---- the evaluated file ----------------------------------------------------------------------------------------

class UnitFile:
    """One terragrunt.hcl (or a file it includes or reads) as an evaluation context.

    ``unit_dir`` is the unit being checked (get_terragrunt_dir()); ``path`` the file being evaluated, which is a
    parent file when it is included (get_parent_terragrunt_dir(), path_relative_to_include())."""

    def __init__(self, reader: "UnitReader", path: Path, include_from: Path | None = None, depth: int = 0):
        self.reader = reader
        self.path = path
        self.include_from = include_from  # the including file's directory, when this file is included
        self.depth = depth
        self.shown, body = reader.loader.parse_file(path)
        self.body: ast.Body | None = None
        if isinstance(body, Diagnostic):
            reader.diagnostics.append(body)
        else:
            self.body = body
        self._locals: dict[str, Value] = {}
        self._busy: set[str] = set()
        self.includes: dict[str, UnitFile | str] = {}  # label -> included file, or why it was not read
        self.include_blocks: dict[str, ast.Block] = {}
        self.functions = self._functions()

    # Terraform's names mean nothing in terragrunt.hcl
    def _fail(self, what: str):
        raise EvalError(f"{what} cannot be used in {UNIT_FILE}")

    def var(self, name, node):
        self._fail("var." + name)

    def each(self, attr, node):
        self._fail("each." + attr)

    def count(self, attr, node):
        self._fail("count." + attr)

    def path(self, attr, node):
        self._fail("path." + attr)

    def module_call(self, name, node):
        self._fail("module." + name)

    def files(self):
        return None

    def local(self, name: str, node) -> Value:
        if name in self._locals:
            return self._locals[name]
        attr = self._locals_block_attr(name)
        if attr is None:
            raise EvalError(f"no local named {name!r} in {self.shown}", node)
        if name in self._busy:
            return Value.unknown_because(f"local.{name} refers to itself in {self.shown}")
        self._busy.add(name)
        try:
            value = Evaluator(self, OriginKind.LOCAL, f"local.{name} ({self.shown})", name=name).evaluate(attr.expr)
        finally:
            self._busy.discard(name)
        self._locals[name] = value
        return value

    def _locals_block_attr(self, name: str):
        for block in self.body.blocks if self.body else ():
            if block.type == "locals":
                attr = block.attribute(name)
                if attr is not None:
                    return attr
        return None

    def all_locals(self) -> Value:
        names = [a.name for b in (self.body.blocks if self.body else ()) if b.type == "locals"
                 for a in b.body.attributes]
        return Value({n: self.local(n, None) for n in names})

    def resource(self, mode, type_, name, node):
        """`include.NAME`, `dependency.NAME`: Terragrunt's blocks, read as the evaluator reads a resource."""
        if mode == "managed" and type_ == "include":
            included = self.included(name)
            if isinstance(included, str):
                return Value.unknown_because(included)
            return Value({"locals": included.all_locals(), "inputs": included.inputs_value()})
        if mode == "managed" and type_ in ("dependency", "dependencies"):
            return Value.unknown_because(f"{type_}.{name} is the outputs of another Terragrunt unit, read from its "
                                         "state, which iaclint does not read")
        if mode == "managed" and type_ in ("feature", "values", "stack", "unit"):
            return Value.unknown_because(f"{type_}.{name} is set when Terragrunt runs")
        return None

    # ---- includes

    def include_labels(self) -> list[str]:
        out = []
        for block in self.body.blocks if self.body else ():
            if block.type == "include":
                label = block.labels[0] if block.labels else ""
                self.include_blocks[label] = block
                out.append(label)
        return out

    def included(self, label: str) -> "UnitFile | str":
        if label in self.includes:
            return self.includes[label]
        self.include_labels()
        block = self.include_blocks.get(label)
        if block is None:
            self.includes[label] = f"{self.shown} has no include block named {label!r}"
            return self.includes[label]
        self.includes[label] = "it includes itself"  # while it is read
        self.includes[label] = self._read_include(block)
        return self.includes[label]

    def _read_include(self, block: ast.Block) -> "UnitFile | str":
        attr = block.attribute("path")
        if attr is None:
            return f"the include block in {self.shown} has no path"
        value = Evaluator(self, OriginKind.EXPRESSION, "include path").evaluate(attr.expr)
        if not value.known:
            return f"the path of the file it includes is not known: {value.unknown}"
        return self.reader.read_file(self._resolve(str(value.raw)), self.path.parent, self.depth + 1, "included")

    def _resolve(self, text: str) -> Path:
        path = Path(text)
        return path if path.is_absolute() else self.reader.unit_dir / path

    # ---- attributes

    def attribute(self, name: str):
        return self.body.attribute(name) if self.body is not None else None

    def inputs_value(self) -> Value:
        attr = self.attribute("inputs")
        if attr is None:
            return Value({})
        return Evaluator(self, OriginKind.TERRAGRUNT_INPUT, f"Terragrunt inputs ({self.shown})").evaluate(attr.expr)

    def input_values(self) -> tuple[dict[str, Value], str]:
        """This file's inputs, each labelled with its own name (for fix titles); and why they are not known."""
        attr = self.attribute("inputs")
        if attr is None:
            return {}, ""
        if isinstance(attr.expr, ast.ObjectExpr) and all(isinstance(i.key, ast.Literal) for i in attr.expr.items):
            out = {}
            for item in attr.expr.items:
                key = str(item.key.value)
                label = f'Terragrunt input "{key}"'
                out[key] = Evaluator(self, OriginKind.TERRAGRUNT_INPUT, label, name=key).evaluate(item.value)
            return out, ""
        value = self.inputs_value()
        if not value.known:
            return {}, f"the inputs of {self.shown} are not known: {value.unknown}"
        if not isinstance(value.raw, dict):
            return {}, f"the inputs of {self.shown} are not an object"
        return dict(value.raw), ""

    def terraform_source(self) -> tuple[Value | None, Any]:
        """The `terraform { source }` value and its attribute node, or (None, None)."""
        for block in self.body.blocks if self.body else ():
            if block.type == "terraform":
                attr = block.attribute("source")
                if attr is not None:
                    label = f"terraform source ({self.shown})"
                    return Evaluator(self, OriginKind.LITERAL, label).evaluate(attr.expr), (attr, block)
        return None, None

    # ---- functions

    def _functions(self) -> dict:
        reader = self.reader

        def text(value: Value, what: str) -> str:
            if not value.known:
                raise _Unknown(value.unknown)
            return to_string(value, None)

        def made(ev, call, raw) -> Value:
            return Value(raw, None, Origin(OriginKind.EXPRESSION, call.span, f"{call.name}()"))

        def guarded(impl):
            def run(ev, call, args):
                try:
                    return impl(ev, call, args)
                except _Unknown as exc:
                    return Value.unknown_because(str(exc))
            return run

        def find_in_parent_folders(ev, call, args):
            name = text(args[0], "name") if args else "terragrunt.hcl"
            here = reader.unit_dir.parent if self.include_from is None else self.include_from.parent
            top = reader.top
            while True:
                candidate = here / name
                if os.path.lexists(candidate):
                    return made(ev, call, str(candidate))
                if here == top or here.parent == here or not here.is_relative_to(top):
                    break
                here = here.parent
            if len(args) > 1:
                return args[1]
            raise EvalError(f"find_in_parent_folders(): no {name} in the directories above "
                            f"{display_path(reader.unit_dir)} inside {reader.tree.describe()} (iaclint reads nothing "
                            "outside it)", call)

        def relative(a: Path, b: Path) -> str:
            return os.path.relpath(a, b).replace(os.sep, "/")

        def path_relative_to_include(ev, call, args):
            parent = self.path.parent if self.include_from is not None else reader.unit_dir
            return made(ev, call, relative(reader.unit_dir, parent))

        def path_relative_from_include(ev, call, args):
            parent = self.path.parent if self.include_from is not None else reader.unit_dir
            return made(ev, call, relative(parent, reader.unit_dir))

        def repo_root() -> Path:
            root = repository_root(reader.unit_dir)
            if root is None:
                raise _Unknown(f"{display_path(reader.unit_dir)} is not in a git repository")
            return root

        def read_terragrunt_config(ev, call, args):
            if not args:
                raise EvalError("read_terragrunt_config() needs a path", call)
            other = reader.read_file(self._resolve(text(args[0], "path")), None, self.depth + 1, "read")
            if isinstance(other, str):
                if len(args) > 1:
                    return args[1]
                return Value.unknown_because(other)
            return Value({"locals": other.all_locals(), "inputs": other.inputs_value()})

        def unknown(name):
            return lambda ev, call, args: Value.unknown_because(f"{name}() {_ASKS_OUTSIDE[name]}")

        functions = {
            "find_in_parent_folders": find_in_parent_folders,
            "path_relative_to_include": path_relative_to_include,
            "path_relative_from_include": path_relative_from_include,
            "get_terragrunt_dir": lambda ev, call, args: made(ev, call, str(reader.unit_dir)),
            "get_original_terragrunt_dir": lambda ev, call, args: made(ev, call, str(reader.unit_dir)),
            "get_parent_terragrunt_dir": lambda ev, call, args: made(ev, call, str(self.path.parent)),
            "get_repo_root": lambda ev, call, args: made(ev, call, str(repo_root())),
            "get_path_from_repo_root": lambda ev, call, args: made(ev, call, relative(reader.unit_dir, repo_root())),
            "get_path_to_repo_root": lambda ev, call, args: made(ev, call, relative(repo_root(), reader.unit_dir)),
            "read_terragrunt_config": read_terragrunt_config,
            "mark_as_read": lambda ev, call, args: args[0] if args else Value(None),
            # Terraform's own path functions, which terragrunt.hcl files use to build include paths
            "dirname": lambda ev, call, args: ev.derived(call, go_dir(text(args[0], "path")), args[:1]),
            "basename": lambda ev, call, args: ev.derived(call, go_base(text(args[0], "path")), args[:1]),
        }
        functions.update({name: unknown(name) for name in _ASKS_OUTSIDE})
        return {name: guarded(impl) for name, impl in functions.items()}


def go_dir(path: str) -> str:
    """Go's filepath.Dir, as Terraform's dirname(): everything but the last element, cleaned; "." when empty."""
    head = path[:path.rfind("/") + 1]
    cleaned = os.path.normpath(head) if head else "."
    return "/" if cleaned.startswith("//") else cleaned


def go_base(path: str) -> str:
    """Go's filepath.Base, as Terraform's basename(): the last element; "." for "", "/" for slashes only."""
    if path == "":
        return "."
    stripped = path.rstrip("/")
    return stripped.rsplit("/", 1)[-1] if stripped else "/"


class _Unknown(Exception):
    """A Terragrunt function's argument or answer is not known: the call is unknown with this reason."""


# ---- the unit ----------------------------------------------------------------------------------------------------

@dataclass
class Unit:
    """What a terragrunt.hcl says about its root module."""

    dir: Path
    file: UnitFile
    inputs: dict[str, Value] = field(default_factory=dict)
    inputs_unknown: str = ""  # why some inputs may be set that iaclint could not read
    source: Value | None = None
    source_node: Any = None  # (ast.Attribute, its terraform block)
    source_file: UnitFile | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # terragrunt.hcl and every file it includes or reads


class UnitReader:
    def __init__(self, unit_dir: Path, loader: ConfigLoader, tree: Tree):
        self.unit_dir = unit_dir.resolve()
        self.loader = loader
        self.tree = tree
        self.diagnostics: list[Diagnostic] = []
        roots = [r for r in tree.roots if self.unit_dir.is_relative_to(r)]
        self.top = roots[0] if roots else self.unit_dir
        self._files: dict[tuple, UnitFile] = {}

    def read_file(self, path: Path, include_from: Path | None, depth: int, how: str) -> "UnitFile | str":
        shown = display_path(path)
        if depth > MAX_INCLUDE_DEPTH:
            return f"{shown} is {how} more than {MAX_INCLUDE_DEPTH} files deep"
        if not os.path.lexists(path):
            return f"the file {shown} it {how.replace('included', 'includes').replace('read', 'reads')} does not exist"
        refused = self.tree.why_not_read(path)
        if refused:
            return f"the file {shown} {refused}"
        key = (str(path.resolve()), str(include_from))
        if key not in self._files:
            self._files[key] = UnitFile(self, path, include_from, depth)
        found = self._files[key]
        return found if found.body is not None else f"{shown} could not be read (see the PARSE finding)"


def read_unit(unit_dir: Path, loader: ConfigLoader, tree: Tree) -> Unit:
    """Evaluate a unit's terragrunt.hcl with the files it includes: its inputs and its terraform source."""
    reader = UnitReader(unit_dir, loader, tree)
    own = UnitFile(reader, reader.unit_dir / UNIT_FILE)
    unit = Unit(reader.unit_dir, own, diagnostics=reader.diagnostics)
    if own.body is None:
        unit.inputs_unknown = f"{own.shown} could not be read (see the PARSE finding)"
        return unit
    inputs: dict[str, Value] = {}
    unknown: list[str] = []
    source, node, source_file = None, None, None
    for label in own.include_labels():
        parent = own.included(label)
        block = own.include_blocks[label]
        strategy = _merge_strategy(own, block)
        if isinstance(parent, str):
            unknown.append(f"include {label or '(unnamed)'}: {parent}")
            _diagnose(unit, own, block, f"include {label or ''}: {parent}; the inputs it may set are unknown".replace(
                "include :", "include:"))
            continue
        if strategy == "no_merge":
            continue
        parent_inputs, why = parent.input_values()
        if why:
            unknown.append(why)
        inputs = _merge(inputs, parent_inputs, deep=strategy == "deep")
        parent_source, parent_node = parent.terraform_source()
        if parent_source is not None:
            source, node, source_file = parent_source, parent_node, parent
    own_inputs, why = own.input_values()
    if why:
        unknown.append(why)
    deep = any(_merge_strategy(own, b) == "deep" for b in own.include_blocks.values())
    inputs = _merge(inputs, own_inputs, deep=deep)
    own_source, own_node = own.terraform_source()
    if own_source is not None:
        source, node, source_file = own_source, own_node, own
    unit.inputs = inputs
    unit.inputs_unknown = "; ".join(unknown)
    unit.source, unit.source_node, unit.source_file = source, node, source_file
    unit.files = list(dict.fromkeys(f.shown for f in [own, *reader._files.values()] if f.body is not None))
    return unit


def _diagnose(unit: Unit, file: UnitFile, node: ast.Node, message: str) -> None:
    source = file.reader.loader.sources.get(file.shown)
    line, col = source.line_col(node.start) if source is not None else (1, 1)
    unit.diagnostics.append(Diagnostic(file.shown, line, col, message, rule_id="CONFIG"))


def _merge_strategy(file: UnitFile, block: ast.Block) -> str:
    attr = block.attribute("merge_strategy")
    if attr is None:
        return "shallow"
    value = Evaluator(file, OriginKind.EXPRESSION, "merge_strategy").evaluate(attr.expr)
    return str(value.raw) if value.known else "shallow"


def _merge(parent: dict[str, Value], child: dict[str, Value], deep: bool) -> dict[str, Value]:
    out = dict(parent)
    for key, value in child.items():
        old = out.get(key)
        if deep and old is not None and old.known and value.known:
            if isinstance(old.raw, dict) and isinstance(value.raw, dict):
                value = Value(_merge(old.raw, value.raw, True), None, value.origin)
            elif isinstance(old.raw, list) and isinstance(value.raw, list):
                value = Value(old.raw + value.raw, None, value.origin)
        out[key] = value
    return out


# ---- the unit's code -----------------------------------------------------------------------------------------------

@dataclass
class UnitCode:
    """Where a unit's Terraform code is read from, or why it is not."""

    module_dir: Path | None = None  # the module's directory (the source, or its copy in .terragrunt-cache)
    work_dir: Path | None = None  # where `terraform init` ran for it (its .terraform/modules), when known
    downloaded: bool = False
    unchecked: str = ""  # why the code is not read (MOD001)
    problem: str = ""  # a CONFIG finding at the source


def unit_code(unit: Unit, tree: Tree) -> UnitCode:
    if unit.source is None:
        return UnitCode()
    if not unit.source.known:
        return UnitCode(unchecked=f"its terraform source is not known ({unit.source.unknown})")
    source = str(unit.source.raw)
    base = unit.source_file.path.parent if unit.source_file is not None else unit.dir
    root, subdir = _split(source)
    if _is_local(root):
        root = root.removeprefix("file://")
        directory = (base / root / subdir) if not Path(root).is_absolute() else Path(root) / subdir
        if not directory.is_dir():
            return UnitCode(problem=f'its terraform source "{source}" is not a directory; terragrunt would fail')
        refused = tree.why_not_read_directory(directory)
        if refused:
            return UnitCode(problem=f'its terraform source "{source}" {refused}; nothing in it is checked')
        return UnitCode(directory, _one_work_dir(unit.dir, subdir))
    return _cached_copy(unit.dir, source, tree)


def _is_local(root: str) -> bool:
    return root.startswith(("./", "../", "/", ".\\", "..\\")) or root in (".", "..") or root.startswith("file://")


def _split(source: str) -> tuple[str, str]:
    """The source before `//` (after a scheme's own `://`) with its query, and the module path after it."""
    package, query = (source.split("?", 1) + [""])[:2]
    offset = package.find("://")
    offset = offset + 3 if offset != -1 else 0
    index = package.find("//", offset)
    if index == -1:
        return source, ""
    root, subdir = package[:index], package[index + 2:]
    return root + (f"?{query}" if query else ""), subdir.strip("/")


_FORCED = re.compile(r"^([A-Za-z0-9]+)::(.+)$")


def canonical_root(source: str) -> tuple[str, str] | None:
    """The URL Terragrunt names a remote source's cache directory by (without the query), and the query, as
    go-getter's detectors write them; None when iaclint cannot tell."""
    root, _ = _split(source)
    forced = ""
    match = _FORCED.match(root)
    if match:
        forced, root = match.group(1), match.group(2)
    root = re.sub(r"(?i)^https?://(?=(github\.com|gitlab\.com|bitbucket\.org)/)", "", root)
    package, _, query = root.partition("?")
    lowered = package.lower()
    if lowered.startswith(("github.com/", "gitlab.com/")):
        host, _, path = package.partition("/")
        parts = path.split("/")
        if len(parts) < 2:
            return None
        repo = "/".join(parts[:2])
        url = f"https://{host}/{repo if repo.endswith('.git') else repo + '.git'}"
        forced = forced or "git"
    elif re.match(r"^[\w.-]+@[\w.-]+:", package):  # git@github.com:org/repo.git
        user_host, _, path = package.partition(":")
        url = f"ssh://{user_host}/{path}"
        forced = forced or "git"
    elif "://" in package:
        url = package
    else:
        return None
    parts = urlsplit(url)
    if not parts.scheme:
        return None
    scheme = f"{forced}::{parts.scheme}" if forced else parts.scheme
    return f"{scheme}://{parts.netloc}{parts.path}", query


def _one_work_dir(unit_dir: Path, subdir: str) -> Path | None:
    """For a local source: where `terragrunt init` last ran, when the cache holds one copy only (its
    .terraform/modules downloads are checked against each call, so an old copy is never used for a changed call)."""
    cache = unit_dir / CACHE_DIR
    candidates = [d / subdir for d in _cache_copies(cache) if (d / subdir / ".terraform").is_dir()]
    return candidates[0] if len(candidates) == 1 else None


def _cache_copies(cache: Path) -> list[Path]:
    if not cache.is_dir():
        return []
    out = []
    try:
        for working in sorted(cache.iterdir()):
            if working.is_dir() and not working.is_symlink():
                out.extend(sorted(d for d in working.iterdir() if d.is_dir() and not d.is_symlink()))
    except OSError:
        return []
    return out


def _cached_copy(unit_dir: Path, source: str, tree: Tree) -> UnitCode:
    canonical = canonical_root(source)
    if canonical is None:
        return UnitCode(unchecked=f'its terraform source "{source}" is not a local directory, and iaclint cannot '
                                  f"tell which .terragrunt-cache copy would be made from it")
    root_url, query = canonical
    name = encode_base64_sha1(root_url)
    version = encode_base64_sha1(urlencode(sorted(parse_qsl(query, keep_blank_values=True))))
    copies = [d for d in _cache_copies(unit_dir / CACHE_DIR) if d.name == name]
    _, subdir = _split(source)
    if not copies:
        return UnitCode(unchecked=f'its terraform source "{source}" has not been downloaded into .terragrunt-cache')
    current = []
    for copy in copies:
        try:
            recorded = (copy / ".terragrunt-source-version").read_text(encoding="utf-8").strip()
        except OSError:
            recorded = ""
        if recorded == version:
            current.append(copy)
    if not current:
        return UnitCode(unchecked=f'its copy in .terragrunt-cache was made from another version of "{source}" (the '
                                  "ref changed since it was downloaded), and is not used")
    directory = current[0] / subdir
    refused = tree.why_not_read_directory(directory) if directory.is_dir() else "does not exist"
    if refused:
        return UnitCode(unchecked=f"its copy in .terragrunt-cache ({display_path(directory)}) {refused}")
    return UnitCode(directory, directory, downloaded=True)


def unit_config(loader: ConfigLoader, unit: Unit, code: UnitCode) -> ModuleConfig:
    """The unit's root module: the module's files with the unit's own .tf files copied over them (a file of the
    same name replaces the module's), kept as the unit's; its local module calls resolve from the module."""
    own = terraform_files(unit.dir)
    if code.module_dir is None:
        return loader.module(unit.dir)
    names = {p.name for p in own}
    files = [p for p in terraform_files(code.module_dir) if p.name not in names] + own
    return loader.module_of_files(unit.dir, code.module_dir, files, downloaded=code.downloaded)


class UnitSourceSubject(Resource):
    """A unit's `terraform { source }` as MOD001 sees it: a module call whose code iaclint may not read."""

    source_kind = "hcl"
    mode = "module"
    type = "module"
    key = None
    plan_actions = None
    not_editable = "it is a Terragrunt source; nothing in it is fixed automatically"
    download_command = "`terragrunt init`"

    def __init__(self, unit: Unit, unchecked: str):
        attr, block = unit.source_node
        self.attr_node = attr
        self.block = block
        self.file = unit.source_file.shown
        self.name = "terraform"
        self.unit = unit
        self.unchecked = unchecked
        self.address = "terraform.source"
        self.config_address = self.address
        self.module_address = ""
        self.call_sites = ()
        self.root_dir = unit.dir
        self.config = None

    @property
    def header_span(self) -> Span | None:
        return self.block.header_span

    @property
    def block_span(self) -> Span:
        return self.block.span

    def attr(self, name: str) -> AttrView:
        if name == "source":
            return AttrView.written(name, self.unit.source, self.attr_node)
        return AttrView(name, False, None, None, None)

    def attribute_names(self) -> list[str]:
        return ["source"]
