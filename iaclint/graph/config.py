"""Read a module directory into its declarations (variables, locals, resources, module calls, outputs).

This is the static half of the graph: it parses files and indexes blocks but evaluates nothing.
The same ModuleConfig serves every instance of a module and the plan loader's source mapping.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from iaclint.graph.model import Diagnostic
from iaclint.graph.overrides import apply_override_file, is_override_name
from iaclint.hcl import ast
from iaclint.model import Record
from iaclint.recording import note_file, note_listing, note_path, recording
from iaclint.source import SourceError, SourceFile, display_path, read_source
from iaclint.tree import Tree, shown_as_found, tree_of

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from iaclint.hcl.cache import ParseCache


PARALLEL_THRESHOLD = 512 * 1024  # characters of uncached HCL before parsing on several processes pays
_NAMED = {"resource", "data", "module", "variable", "output"}
_NAME = re.compile(r"^[^\W\d][\w-]*$")  # Unicode letters count, as in HCL identifiers


class ResourceDecl(Record):
    """A resource or data block as declared, before count and for_each expand it."""

    __slots__ = ("mode", "type", "name", "block", "file", "overrides")
    _shown = __slots__

    def __init__(self, mode: str, type: str, name: str, block: ast.Block, file: str,
                 overrides: tuple[ast.Block, ...] = ()):
        self.mode = mode
        self.type = type
        self.name = name
        self.block = block  # as merged with the override files' blocks for it (graph/overrides.py)
        self.file = file
        self.overrides = overrides  # the override files' blocks merged into it, in order

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.mode, self.type, self.name)

    @property
    def local_address(self) -> str:
        prefix = "data." if self.mode == "data" else ""
        return f"{prefix}{self.type}.{self.name}"


class ModuleConfig(Record):
    """One module directory's parsed files, indexed by block kind."""

    _shown = ("dir", "display_dir", "files", "json_files", "variables", "locals", "resources", "module_calls",
              "outputs", "diagnostics", "downloaded", "terraform_blocks", "providers", "moved", "imports", "read")

    def __init__(self, dir: Path, display_dir: str, downloaded: bool = False):
        self.dir = dir
        self.display_dir = display_dir
        self.files: list[str] = []
        self.json_files: set[str] = set()
        self.variables: dict[str, ast.Block] = {}
        self.locals: dict[str, ast.Attribute] = {}
        self.resources: dict[tuple[str, str, str], ResourceDecl] = {}
        self.module_calls: dict[str, tuple[ast.Block, str]] = {}
        self.outputs: dict[str, ast.Block] = {}
        self.diagnostics: list[Diagnostic] = []
        self.downloaded = downloaded
        self.terraform_blocks: list[tuple[ast.Block, str]] = []  # (block, file)
        self.providers: dict[str, ast.Block] = {}  # "aws" or "aws.west" -> provider block
        self.moved: list[ast.Block] = []  # moved blocks: where a resource's state came from
        self.imports: list[ast.Block] = []  # import blocks: resources adopted from outside
        self.read: list[tuple[Path, str]] = []  # (path, shown) of each file read, for run/results.py


class ConfigLoader:
    """Parses files once per run and module directories once, however often they are instantiated."""

    def __init__(self, overlay: dict[str, SourceFile] | None = None, cache: "ParseCache | None" = None,
                 tree: Tree | None = None, parsed: dict | None = None) -> None:
        self.overlay = overlay  # fixed file contents not yet written, for verifying fixes
        self.cache = cache  # parsed trees kept between runs (hcl/cache.py), or None
        # (kind, shown, text) -> what parsing gave, shared by the lints of one `fix` (trees are never changed once
        # built): a file it lints again, unchanged or as an earlier pass left it, is not decoded or parsed again
        self.parsed = parsed
        self.tree = tree  # where configuration may be read from; None: the first module's repository
        self.sources: dict[str, SourceFile] = {}  # every file read, in the order read; never replaced
        self._read_order: list[str] = []  # its keys in that order, for snapshots (SourcesView)
        self._ordinal: dict[str, int] = {}
        self.blocks: dict[str, list[ast.Block]] = {}  # file -> top-level blocks, kept as files are parsed
        self._bodies: dict[str, ast.Body | Diagnostic] = {}
        self._modules: dict[tuple[Path, bool], ModuleConfig] = {}

    def confinement(self, directory: Path) -> Tree:
        """The tree reads are confined to (set from the first module directory when not given)."""
        if self.tree is None:
            self.tree = Tree.of(tree_of(directory))
        return self.tree

    def parse_file(self, path: Path) -> tuple[str, ast.Body | Diagnostic]:
        tree = self.tree or self.confinement(path.parent)
        refused = tree.why_not_read(path)
        if refused:
            shown = shown_as_found(path)
            diagnostic = self._bodies.setdefault(shown, Diagnostic(shown, 1, 1, f"this file {refused}"))
            return shown, diagnostic
        shown = display_path(path)
        if shown in self._bodies:
            return shown, self._bodies[shown]
        from iaclint.hcl.literals import ParseFailure

        result: ast.Body | Diagnostic
        try:
            source = read_source(path, self.overlay, tree.read_bytes)
            self._keep_source(shown, source)
            kind = "json" if path.name.endswith(".json") else "hcl"
            cached = self._parsed_before(kind, shown, source.text)
            if cached is not None:
                result = cached
            else:
                result = parse_json_config(source) if kind == "json" else parse_source(source)
                pending = self.overlay and str(path.resolve()) in self.overlay
                if self.cache is not None and not pending:  # a fix being verified is not worth keeping
                    self.cache.put(kind, shown, source.text, result)
                self._remember(kind, shown, source.text, result)
        except SourceError as exc:
            result = Diagnostic(shown, exc.line, exc.column, f"cannot read file: {exc}")
        except ParseFailure as exc:
            result = Diagnostic(shown, exc.line, exc.column, exc.message)
            self._remember(kind, shown, source.text, result)
        except RecursionError:
            result = Diagnostic(shown, 1, 1, "nested too deeply for iaclint to read")
        self._bodies[shown] = result
        if isinstance(result, ast.Body):
            self.blocks[shown] = list(result.blocks)
        return shown, result

    def preload(self, directories: list[Path], jobs: int, threshold: int | None = None) -> int:
        """Parse the not-yet-cached files of these directories on ``jobs`` processes; returns how many.

        Results are exactly what parse_file would give (the same function runs in the workers); small
        runs stay serial, because starting workers costs more than it saves.
        """
        pending: list[tuple[Path, str, SourceFile]] = []
        size = 0
        for directory in directories:
            tree = self.confinement(directory)
            if tree.why_not_read_directory(directory):
                continue
            for path in terraform_files(directory, None, tree):
                if tree.why_not_read(path):
                    continue  # parse_file reports it when the module is loaded
                shown = display_path(path)
                if shown in self._bodies:
                    continue
                try:
                    source = read_source(path, self.overlay, tree.read_bytes)
                except SourceError:
                    continue  # parse_file reports it when the module is loaded
                kind = "json" if path.name.endswith(".json") else "hcl"
                cached = self._parsed_before(kind, shown, source.text)
                self._keep_source(shown, source)
                if cached is not None:
                    self._bodies[shown] = cached
                    if isinstance(cached, ast.Body):
                        self.blocks[shown] = list(cached.blocks)
                    continue
                pending.append((path, shown, source))
                size += len(source.text)
        if jobs < 2 or len(pending) < 2 or size < (PARALLEL_THRESHOLD if threshold is None else threshold):
            return 0
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        try:
            context = multiprocessing.get_context("fork")  # the workers inherit the built parser
        except ValueError:
            return 0
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            results = list(pool.map(_parse_one, [(shown, source, path.name.endswith(".json"))
                                                 for path, shown, source in pending], chunksize=8))
        for (path, shown, source), result in zip(pending, results):
            self._bodies[shown] = result
            if isinstance(result, ast.Body):
                self.blocks[shown] = list(result.blocks)
            kind = "json" if path.name.endswith(".json") else "hcl"
            pending_fix = self.overlay and str(path.resolve()) in self.overlay
            if self.cache is not None and not pending_fix and not isinstance(result, Diagnostic):
                self.cache.put(kind, shown, source.text, result)
            self._remember(kind, shown, source.text, result)
        return len(pending)

    def _parsed_before(self, kind: str, shown: str, text: str) -> ast.Body | Diagnostic | None:
        """The file's tree from an earlier lint of this fix, else from the parse cache, else None."""
        if self.parsed is not None:
            found = self.parsed.get((kind, shown, text))
            if found is not None:
                return found
        found = self.cache.get(kind, shown, text) if self.cache is not None else None
        if found is not None:
            self._remember(kind, shown, text, found)
        return found

    def _remember(self, kind: str, shown: str, text: str, result: ast.Body | Diagnostic) -> None:
        if self.parsed is not None:
            self.parsed[(kind, shown, text)] = result

    def _keep_source(self, shown: str, source: SourceFile) -> None:
        if shown not in self._ordinal:
            self._ordinal[shown] = len(self._read_order)
            self._read_order.append(shown)
        self.sources[shown] = source

    def sources_so_far(self, extra: dict[str, SourceFile]) -> "SourcesView":
        """Every file read so far, with ``extra`` (a root's variables files) over them: what a graph's sources are.
        A view, not a copy: a run of many roots would otherwise copy every file read before each root."""
        return SourcesView(self.sources, self._read_order, self._ordinal, len(self._read_order), extra)

    def top_level_blocks(self) -> dict[str, list[ast.Block]]:
        """Every parsed file's top-level blocks (one dict, shared by every graph of the run)."""
        return self.blocks

    def module(self, directory: Path, downloaded: bool = False, opentofu: bool = False) -> ModuleConfig:
        """A module directory's files, parsed and indexed (``opentofu``: as OpenTofu reads them, .tofu files
        first). Only inside the tree: a directory outside it is a CONFIG finding, and a file that is not read (a
        link out of it, a broken link, a pipe) a PARSE finding that names the file and never shows what it
        points to."""
        tree = self.confinement(directory)
        key = (tree.real(directory), opentofu)
        cached = self._modules.get(key)
        if cached is not None:
            self._note_inputs(cached)
            return cached
        config = ModuleConfig(directory, display_path(directory), downloaded=downloaded)
        self._modules[key] = config
        refused = tree.why_not_read_directory(directory)
        if refused:
            shown = shown_as_found(directory)
            config.diagnostics.append(Diagnostic(shown, 1, 1, f"the module directory {shown} {refused}; nothing in it "
                                                 "is checked", rule_id="CONFIG"))
            self._note_inputs(config)
            return config
        try:
            tree.entries(directory)
        except OSError as exc:
            config.diagnostics.append(Diagnostic(config.display_dir, 1, 1, f"cannot read the module directory: "
                                                 f"{exc.strerror or exc}; nothing in it is checked", rule_id="CONFIG"))
        self._read_files(config, terraform_files(directory, opentofu, tree))
        self._note_inputs(config)
        return config

    def _note_inputs(self, config: ModuleConfig) -> None:
        """The module's listing and files are inputs of each root that uses it, also when it was read for
        another root (run/results.py)."""
        if not recording():
            return
        note_listing(config.dir)
        for path, shown in config.read:
            source = self.sources.get(shown)
            if source is not None:
                note_file(path, source.encoded, shown)
            else:
                note_path(path)

    def _read_files(self, config: ModuleConfig, paths: list[Path]) -> None:
        """Parse and index a module's files; override files (last in ``paths``) merged once every other file is
        read, in lexical order, as Terraform merges them."""
        overrides: list[tuple[str, ast.Body]] = []
        for path in paths:
            shown, body = self.parse_file(path)
            config.files.append(shown)
            config.read.append((path, shown))
            if path.name.endswith(".json"):
                config.json_files.add(shown)
            if isinstance(body, Diagnostic):
                config.diagnostics.append(body)
                continue
            if is_override_name(path.name):
                overrides.append((shown, body))
            else:
                self._index(config, shown, body)
        for shown, body in overrides:
            apply_override_file(config, shown, body, lambda file, node, message: config.diagnostics.append(
                self._diagnostic(file, node, message)))

    def _diagnostic(self, file: str, node: ast.Node, message: str) -> Diagnostic:
        source = self.sources.get(file)
        line, col = source.line_col(node.start) if source else (1, 1)
        return Diagnostic(file, line, col, message, rule_id="CONFIG")

    def module_of_files(self, directory: Path, module_dir: Path, files: list[Path], downloaded: bool = False) -> ModuleConfig:
        """A module made of files from several directories, kept as ``directory``'s: a Terragrunt unit, whose
        working directory is its `terraform { source }` (``module_dir``, where its local calls resolve from) with
        the unit's own .tf files copied over it."""
        key = (self.confinement(directory).real(directory), False)  # what module(directory) finds
        config = ModuleConfig(module_dir, display_path(module_dir), downloaded=downloaded)
        self._modules[key] = config
        self._read_files(config, sorted(files, key=lambda p: (is_override_name(p.name), p.name)))
        return config

    def _index(self, config: ModuleConfig, file: str, body: ast.Body) -> None:
        for block in body.blocks:
            labels = block.labels
            if block.type in _NAMED and labels and not _NAME.match(labels[-1]):
                source = self.sources.get(file)
                line, col = source.line_col(block.start) if source else (1, 1)
                config.diagnostics.append(Diagnostic(file, line, col, f"invalid {block.type} name {labels[-1]!r}: a "
                                                     "name starts with a letter or underscore and holds only letters, "
                                                     "digits, underscores and dashes", rule_id="CONFIG"))
                continue
            if block.type == "resource" and len(labels) == 2:
                decl = ResourceDecl("managed", labels[0], labels[1], block, file)
                self._add_resource(config, decl)
            elif block.type == "data" and len(labels) == 2:
                self._add_resource(config, ResourceDecl("data", labels[0], labels[1], block, file))
            elif block.type == "variable" and len(labels) == 1:
                config.variables.setdefault(labels[0], block)
            elif block.type == "locals":
                for attr in block.body.attributes:
                    config.locals.setdefault(attr.name, attr)
            elif block.type == "module" and len(labels) == 1:
                config.module_calls.setdefault(labels[0], (block, file))
            elif block.type == "output" and len(labels) == 1:
                config.outputs.setdefault(labels[0], block)
            elif block.type == "terraform":
                config.terraform_blocks.append((block, file))
            elif block.type == "moved" and not labels:
                config.moved.append(block)
            elif block.type == "import" and not labels:
                config.imports.append(block)
            elif block.type == "provider" and len(labels) == 1:
                alias = block.attribute("alias")
                name = labels[0]
                if alias is not None and isinstance(alias.expr, ast.Template) and alias.expr.is_literal:
                    name = f"{labels[0]}.{alias.expr.literal}"
                config.providers.setdefault(name, block)

    def _add_resource(self, config: ModuleConfig, decl: ResourceDecl) -> None:
        existing = config.resources.get(decl.key)
        if existing is None:
            config.resources[decl.key] = decl
            return
        source = self.sources.get(decl.file)
        line, col = source.line_col(decl.block.start) if source else (1, 1)
        config.diagnostics.append(Diagnostic(decl.file, line, col,
                                             f"duplicate {decl.local_address} (first defined in {existing.file})",
                                             rule_id="CONFIG"))


class SourcesView(Mapping):
    """The loader's files as they were when a graph was built (the first ``limit`` read), with ``extra`` over
    them: reads as the dict ``{**first_limit_files, **extra}`` would."""

    __slots__ = ("base", "order", "ordinal", "limit", "extra")

    def __init__(self, base: dict[str, SourceFile], order: list[str], ordinal: dict[str, int], limit: int,
                 extra: dict[str, SourceFile]) -> None:
        self.base, self.order, self.ordinal, self.limit, self.extra = base, order, ordinal, limit, extra

    def __getitem__(self, key: str) -> SourceFile:
        found = self.extra.get(key)
        if found is not None:
            return found
        if self.ordinal.get(key, self.limit) < self.limit:
            return self.base[key]
        raise KeyError(key)

    def get(self, key, default=None):
        found = self.extra.get(key)
        if found is not None:
            return found
        return self.base[key] if self.ordinal.get(key, self.limit) < self.limit else default

    def __contains__(self, key) -> bool:
        return key in self.extra or self.ordinal.get(key, self.limit) < self.limit

    def __len__(self) -> int:
        return self.limit + sum(1 for key in self.extra if self.ordinal.get(key, self.limit) >= self.limit)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self.items_from(0))

    def items(self):
        return list(self.items_from(0))

    def items_from(self, start: int) -> Iterator[tuple[str, SourceFile]]:
        """The items in order, leaving out the first ``start`` files read (a caller that has seen them)."""
        extra = self.extra
        for key in self.order[start:self.limit]:
            yield key, extra.get(key) or self.base[key]
        for key, source in extra.items():
            if self.ordinal.get(key, self.limit) >= self.limit:
                yield key, source


def parse_source(source: SourceFile) -> ast.Body:
    """hcl/parser.py's parse_source, imported when a run first parses: a run that reads nothing loads no parser."""
    from iaclint.hcl.parser import parse_source as parse

    return parse(source)


def parse_json_config(source: SourceFile) -> ast.Body:
    """hcl/jsonsyntax.py's parse_json_config, imported when a run first reads a .tf.json file."""
    from iaclint.hcl.jsonsyntax import parse_json_config as parse

    return parse(source)


def _parse_one(item: tuple[str, SourceFile, bool]) -> ast.Body | Diagnostic:
    """parse_file's parsing step, in a worker process."""
    from iaclint.hcl.literals import ParseFailure

    shown, source, is_json = item
    try:
        return parse_json_config(source) if is_json else parse_source(source)
    except ParseFailure as exc:
        return Diagnostic(shown, exc.line, exc.column, exc.message)
    except RecursionError:
        return Diagnostic(shown, 1, 1, "nested too deeply for iaclint to read")


def make_cache(enabled: bool = True) -> ParseCache | None:
    """The user's parse cache, unless turned off (--no-cache, IACLINT_NO_CACHE=1)."""
    import os

    if not enabled or os.environ.get("IACLINT_NO_CACHE", "") not in ("", "0"):
        return None
    from iaclint.hcl.cache import ParseCache

    return ParseCache()


UNIT_FILE = "terragrunt.hcl"  # a directory holding it is a Terragrunt unit (graph/terragrunt.py reads it)


def is_unit(directory: Path, tree: Tree | None = None) -> bool:
    """Does the directory hold a terragrunt.hcl (a file, or a link to one)? ``tree``: from its listing."""
    if tree is None:
        return (directory / UNIT_FILE).is_file()
    try:
        return any(e.name == UNIT_FILE and _is_file(e) for e in tree.entries(directory))
    except OSError:
        return False


TERRAFORM_SUFFIXES = (".tf", ".tf.json")
OPENTOFU_SUFFIXES = (".tofu", ".tofu.json")
OPENTOFU_REGISTRY = "registry.opentofu.org"


def terraform_files(directory: Path, opentofu: bool | None = False, tree: Tree | None = None) -> list[Path]:
    """The files Terraform reads as configuration, overrides last (they amend what came before).

    ``opentofu``: False, Terraform's files (.tf, .tf.json); True, OpenTofu's, where a .tofu (.tofu.json) file
    replaces the .tf (.tf.json) file of the same name; None, every configuration file of either, for finding
    which directories hold configuration before knowing which reads them. Hidden files are left out, as
    Terraform leaves them out. Every other entry with such a name that is not a directory is listed, links and oddities included, so that the loader reads or refuses each one with the
    reason (a broken link is a finding, not a gap). ``tree``: the run's, which lists each directory once.
    """
    if tree is not None:
        return list(tree.remember(("terraform_files", os.fspath(directory), opentofu),
                                  lambda: _terraform_files(directory, opentofu, tree)))
    return _terraform_files(directory, opentofu, None)


def _terraform_files(directory: Path, opentofu: bool | None, tree: Tree | None) -> list[Path]:
    suffixes = TERRAFORM_SUFFIXES if opentofu is False else TERRAFORM_SUFFIXES + OPENTOFU_SUFFIXES
    try:
        if tree is not None:
            files = [directory / e.name for e in tree.entries(directory)
                     if e.name.endswith(suffixes) and not e.name.startswith(".") and not _is_dir(e)]
        else:
            with os.scandir(directory) as listing:
                files = [directory / e.name for e in listing
                         if e.name.endswith(suffixes) and not e.name.startswith(".") and not _is_dir(e)]
    except OSError:
        return []
    if opentofu:
        names = {p.name for p in files}
        files = [p for p in files if shadowing_tofu_file(p.name) not in names]
    return sorted(files, key=lambda p: (is_override_name(p.name), p.name))


def opentofu_evidence(root: Path, tree: Tree) -> str:
    """Why a root module is OpenTofu's, or "": it has only OpenTofu files, or its lock file pins providers from
    OpenTofu's registry (`tofu init` writes registry.opentofu.org where `terraform init` writes
    registry.terraform.io)."""
    from iaclint.graph.providers import LOCK_FILE, read_lock_file

    files = terraform_files(root, None, tree)
    if files and all(p.name.endswith(OPENTOFU_SUFFIXES) for p in files):
        return "it has only OpenTofu files (.tofu, .tofu.json)"
    locked, _ = read_lock_file(root, tree)
    if any(source.startswith(OPENTOFU_REGISTRY + "/") for source in locked):
        return f"its {LOCK_FILE} pins providers from {OPENTOFU_REGISTRY}"
    return ""


def opentofu_reading(root: Path, choice: bool | None, tree: Tree) -> tuple[bool, str]:
    """Whether the root is read as OpenTofu reads it, and the notice that says so ("" when nothing needs
    saying): ``choice`` (--opentofu or --terraform, settings `opentofu`) decides; else a root with only OpenTofu files, or
    whose lock file pins providers from OpenTofu's registry, is OpenTofu's. Under Terraform, .tofu files are
    not read, and the notice names them."""
    shown = display_path(root)
    listed = terraform_files(root, None, tree)
    tofu_files = [p.name for p in listed if p.name.endswith(OPENTOFU_SUFFIXES)]
    if choice is not None:
        opentofu, why = choice, "as asked"
    else:
        why = opentofu_evidence(root, tree)
        opentofu = bool(why)
    if opentofu:
        pairs = [f"{shadowing_tofu_file(p.name)} replaces {p.name}" for p in listed
                 if shadowing_tofu_file(p.name) in tofu_files]
        replaced = f"; {', '.join(pairs[:3])}{' and more' if len(pairs) > 3 else ''}" if pairs else ""
        return True, f"{shown}: read as OpenTofu reads it ({why}){replaced}; use --terraform to read it as Terraform does"
    if tofu_files:
        names = ", ".join(tofu_files[:3]) + (f" and {len(tofu_files) - 3} more" if len(tofu_files) > 3 else "")
        return False, (f"{shown}: read as Terraform reads it, which ignores OpenTofu's files ({names}); use "
                       "--opentofu if OpenTofu runs it")
    return False, ""


def shadowing_tofu_file(name: str) -> str | None:
    """The OpenTofu file that replaces a Terraform file under OpenTofu: main.tf -> main.tofu,
    main.tf.json -> main.tofu.json (OpenTofu's filterTfPathsWithTofuAlternatives)."""
    if name.endswith(".tf.json"):
        return name[: -len(".tf.json")] + ".tofu.json"
    if name.endswith(".tf"):
        return name[: -len(".tf")] + ".tofu"
    return None


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False
