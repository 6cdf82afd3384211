"""Build the resource graph from a Terraform root module: instances, inputs, locals, local modules.

Everything is evaluated lazily and memoised: a rule that asks for one attribute evaluates what that
attribute needs and nothing else. Cycles and unresolvable inputs turn into unknown values with the
reason, never into errors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from iaclint.eval.convert import (SET_ORDER, EvalError, instance_key_text, set_order_unknown, to_index, to_number,
                                  to_string)
from iaclint.eval.evaluator import ConstantContext, Evaluator
from iaclint.eval.files import TreeFiles
from iaclint.eval.limits import DEFAULT_LIMITS, Budget, Limits
from iaclint.eval.values import SENSITIVE, AfterApply, ObjectRef, Origin, OriginKind, SetList, Value
from iaclint.eval.evaluator import WORKSPACE_REF
from iaclint.graph import assumptions, forks
from iaclint.graph.config import OPENTOFU_REGISTRY, ConfigLoader, ModuleConfig, ResourceDecl
from iaclint.graph.inputs import RawInput, VariableInputs, type_is_primitive
from iaclint.graph.modules import download_mismatch, is_local, is_registry, read_manifest
from iaclint.graph.placement import PROVIDER_ARGUMENTS, ProviderPlace, provider_place
from iaclint.graph.providers import TERRAFORM_REGISTRY, provider_versions
from iaclint.graph.model import AttrView, BlockView, CallSite, Diagnostic, Graph, Resource
from iaclint.graph.types import convert
from iaclint.hcl import ast
from iaclint.hcl.parser import ParseFailure, parse_expression
from iaclint.model import Span
from iaclint.recording import note_path
from iaclint.source import display_path

META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "providers", "source", "version"}
WILDCARD = object()  # the instance key of a resource whose count/for_each is unknown
_ABSENT: dict[str, AttrView] = {}
_UNSEEN = object()  # ResourceGroup.nodes: not looked up yet


def instance_suffix(key: Any) -> str:
    if key is None:
        return ""
    if key is WILDCARD:
        return "[*]"
    if isinstance(key, int):
        return f"[{key}]"
    return "[" + instance_key_text(key) + "]"


def address_named(expr: ast.Expr) -> str | None:
    """The address a moved or import block names (`module.a["x"].aws_db_instance.b`), as Graph addresses
    are written; a key that is not a literal (import's `[each.key]`) becomes `[*]`. None: not an address."""
    if isinstance(expr, ast.Template):  # .tf.json writes the address as a string
        text = "".join(expr.literal.split()) if expr.is_literal else ""
        return text or None
    steps: list[str] = []
    node = expr
    while not isinstance(node, ast.Variable):
        if isinstance(node, ast.GetAttr):
            steps.append("." + node.name)
        elif isinstance(node, ast.Index):
            key = node.key
            if isinstance(key, ast.Literal) and isinstance(key.value, int) and not isinstance(key.value, bool):
                steps.append(instance_suffix(key.value))
            elif isinstance(key, ast.Template) and key.is_literal:
                steps.append(instance_suffix(key.literal))
            else:
                steps.append("[*]")
        else:
            return None
        node = node.target
    return node.name + "".join(reversed(steps))


def _inside(inner: Span | None, outer: Span | None) -> bool:
    return (inner is not None and outer is not None and inner.file == outer.file
            and outer.start <= inner.start and inner.end <= outer.end)


def hop(value: Value, origin: Origin) -> Value:
    """Record that a value was reached through ``origin``, unless it was defined right there."""
    if _inside(value.origin.span if value.origin else None, origin.span):
        return value
    return value.with_hop(origin)


class HclGraphBuilder:
    def __init__(self, root_dir: Path, inputs: VariableInputs, loader: ConfigLoader | None = None,
                 limits: Limits = DEFAULT_LIMITS, opentofu: bool = False, work_dir: Path | None = None):
        self.root_dir = root_dir
        self.inputs = inputs
        self.opentofu = opentofu  # read as OpenTofu reads it: .tofu files, tofu.workspace, its registry
        self.workspace_read = False  # terraform.workspace was evaluated (the notice says which one was assumed)
        self.on_workspace: set[tuple[int, str]] = set()  # memos whose value rests on it (graph/assumptions.py)
        self.loader = loader or ConfigLoader()
        self.tree = self.loader.confinement(root_dir)  # the run's: file functions and module sources stay in it
        # where `terraform init` ran: the root, or a Terragrunt unit's working copy in .terragrunt-cache
        self.downloaded, unread = read_manifest(work_dir or root_dir, self.tree)
        self.notices: list[str] = [unread] if unread else []
        self.module_instances: list[ModuleInstance] = []
        self.module_calls: dict[str, ModuleCallSubject] = {}  # by call path ("db.kms"): what MOD001 judges
        self.calls_reported: set[tuple[str, int]] = set()
        self.call_diagnostics: list[Diagnostic] = []
        self.limits = limits
        self.budget = Budget(limits)  # evaluation steps for this root, however lazily they are taken
        self.files = TreeFiles(self.tree, root_dir if isinstance(root_dir, Path) else Path(root_dir), limits)
        self.limit_notices: set[str] = set()

    def note_limit(self, message: str) -> None:
        """A limit made values unknown: said once per kind in the notices, as well as in each reason."""
        limit = message.rsplit("(limit ", 1)[-1].split(";")[0]
        if limit not in self.limit_notices:
            self.limit_notices.add(limit)
            where = display_path(self.root_dir)
            self.notices.append(f"{where}: {message}; values it stopped are unknown")

    def build(self) -> Graph:
        config = self.loader.module(self.root_dir, opentofu=self.opentofu)
        root = ModuleInstance(self, config, "", None, None, "", 0)
        resources = list(root.all_resources())
        diagnostics: list[Diagnostic] = list(self.inputs.diagnostics) + self.call_diagnostics
        files: list[str] = []
        seen_configs: set[int] = set()
        terraform_blocks = []
        for instance in self.module_instances:
            cfg = instance.config
            if cfg is None or id(cfg) in seen_configs:
                continue
            seen_configs.add(id(cfg))
            diagnostics.extend(cfg.diagnostics)
            files.extend(cfg.files)
            terraform_blocks.extend(cfg.terraform_blocks)
        files.extend(self.inputs.files)
        sources = self.loader.sources_so_far(self.inputs.sources)
        self._report_unused_inputs(config)
        graph = Graph(resources, sources, diagnostics, files, "hcl", config.display_dir, self.notices)
        graph.files_read = self.files.read  # the same set: rules evaluate lazily, and may read more
        graph.module_calls = list(self.module_calls.values())
        graph.downloaded_files = {f for i in self.module_instances if i.config is not None and i.config.downloaded
                                  for f in i.config.files}
        graph.blocks = self.loader.top_level_blocks()
        graph.providers = provider_versions(self.root_dir, terraform_blocks, self.loader.sources, self.tree,
                                            registry=OPENTOFU_REGISTRY if self.opentofu else TERRAFORM_REGISTRY)
        graph.workspace = self.inputs.workspace
        graph.opentofu = self.opentofu
        graph.places = self._places(root, config)
        graph.accounts = {name: set(place.accounts) for name, place in graph.places.items() if place.accounts}
        self._state_history(graph)
        return graph

    def _state_history(self, graph: Graph) -> None:
        """What moved and import blocks say about where resources' state comes from, and which module
        instances could not be read (their resources are unknown): --base needs all three."""
        for instance in self.module_instances:
            prefix = instance.address + "." if instance.address else ""
            if instance.config is None:
                graph.unread_modules.append(instance.address)
                continue
            for block in instance.config.moved:
                old, new = block.attribute("from"), block.attribute("to")
                old_address = address_named(old.expr) if old is not None else None
                new_address = address_named(new.expr) if new is not None else None
                if old_address and new_address:
                    graph.moves.append((prefix + old_address, prefix + new_address))
            for block in instance.config.imports:
                target = block.attribute("to")
                address = address_named(target.expr) if target is not None else None
                if address:
                    graph.imports.append(prefix + address)

    def _places(self, root: "ModuleInstance", config: ModuleConfig) -> dict[str, ProviderPlace]:
        """Region and pinned accounts of each provider configuration: the root's ("aws", "aws.west"), and
        those a module declares itself ("module.legacy:aws", the pre-0.13 way)."""
        out: dict[str, ProviderPlace] = {}
        configured = [(root, "", name, block) for name, block in config.providers.items()]
        for instance in self.module_instances:
            if instance is not root and instance.config is not None:
                configured += [(instance, f"{instance.address}:", name, block)
                               for name, block in instance.config.providers.items()]
        for module, prefix, local_name, block in configured:
            name = prefix + local_name
            evaluator = Evaluator(module, OriginKind.EXPRESSION, f"provider {name}")
            values: dict[str, Value | None] = {}
            for attribute in PROVIDER_ARGUMENTS:
                node = block.attribute(attribute)
                values[attribute] = evaluator.evaluate(node.expr) if node is not None else None
            for assume in block.blocks("assume_role"):
                role = assume.attribute("role_arn")
                if role is not None:
                    values["role_arn"] = evaluator.evaluate(role.expr)
            for web in block.blocks("assume_role_with_web_identity"):
                role = web.attribute("role_arn")
                if role is not None:
                    values["web_identity_role_arn"] = evaluator.evaluate(role.expr)
            for defaults in block.blocks("default_tags"):
                tags = defaults.attribute("tags")
                if tags is not None:
                    values["default_tags"] = evaluator.evaluate(tags.expr)
            out[name] = provider_place(values, name)
        return out

    def report_call(self, group: "ModuleGroup", message: str, node: ast.Node | None = None) -> None:
        """A CONFIG finding on a module call (at ``node``, else the block), once per call block however many
        instances reach it."""
        key = (group.file, group.block.start)
        if key in self.calls_reported:
            return
        self.calls_reported.add(key)
        source = self.loader.sources.get(group.file)
        line, col = source.line_col((node or group.block).start) if source else (1, 1)
        self.call_diagnostics.append(Diagnostic(group.file, line, col, message, rule_id="CONFIG"))

    def _report_unused_inputs(self, config: ModuleConfig) -> None:
        for name, value in self.inputs.values.items():
            if name not in config.variables:
                origin = value.origin if isinstance(value, (Value, RawInput)) else None
                where = origin.label if origin else "input"
                if origin is not None and origin.kind is OriginKind.ENV_VAR or name in self.inputs.from_terragrunt:
                    continue  # the environment may hold TF_VAR_ values for other projects (Terragrunt sets them)
                self.notices.append(f'value for undeclared variable "{name}" ({where}) is ignored')


class ModuleInstance:
    """One instance of a module: the root, or module.x / module.x["k"] with its inputs."""

    functions = None  # no functions of its own (a Terragrunt context has some): asked on every call

    def __init__(self, builder: HclGraphBuilder, config: ModuleConfig | None, address: str,
                 parent: "ModuleInstance | None", call: "ModuleCall | None", call_path: str, depth: int,
                 unavailable: str = ""):
        self.builder = builder
        self.config = config
        self.address = address
        self.parent = parent
        self.call = call
        self.call_path = call_path  # "db.kms": the key terraform init uses for downloaded modules
        self.depth = depth
        self.unavailable = unavailable
        self._vars: dict[str, Value] = {}
        self._locals: dict[str, Value] = {}
        self._busy: set[str] = set()
        self._outputs: dict[str, Value] = {}
        self._call_sites: tuple[CallSite, ...] | None = None
        builder.module_instances.append(self)
        self.resource_groups: dict[tuple[str, str, str], ResourceGroup] = {}
        self.module_groups: dict[str, ModuleGroup] = {}
        if config is not None:
            for key, decl in config.resources.items():
                self.resource_groups[key] = ResourceGroup(self, decl)
            for name, (block, file) in config.module_calls.items():
                self.module_groups[name] = ModuleGroup(self, name, block, file)

    @property
    def config_path(self) -> str:
        """module.a.module.b, without instance keys."""
        if self.parent is None:
            return ""
        prefix = self.parent.config_path
        return (prefix + "." if prefix else "") + f"module.{self.call.name}"

    def call_sites(self) -> tuple[CallSite, ...]:
        """Outermost first; made once and shared by every resource of this module instance."""
        if self._call_sites is None:
            self._call_sites = self._make_call_sites()
        return self._call_sites

    def _make_call_sites(self) -> tuple[CallSite, ...]:
        sites: list[CallSite] = []
        node = self
        while node.parent is not None and node.call is not None:
            block = node.call.block
            sites.append(CallSite(block.header_span, f'module "{node.call.name}" called from {node.call.file}'))
            node = node.parent
        sites.reverse()
        return tuple(sites)

    def all_resources(self):
        for group in self.resource_groups.values():
            yield from group.instances().values()
        for group in self.module_groups.values():
            for instance in group.instances().values():
                yield from instance.all_resources()

    # ---- Context protocol

    def var(self, name: str, node: ast.Node) -> Value:
        key = "var." + name
        if name in self._vars:
            self._memo_read(key)
            return self._vars[name]
        decl = self.config.variables.get(name) if self.config else None
        if decl is None:
            raise EvalError(f'reference to undeclared input variable "{name}"', node)
        if key in self._busy:
            return Value.unknown_because(f"var.{name} refers to itself")
        self._busy.add(key)
        frame = assumptions.begin()
        try:
            value = self._variable_value(name, decl)
        finally:
            self._busy.discard(key)
            self._memo_made(key, frame)
        self._vars[name] = value
        return value

    def _memo_read(self, key: str) -> None:
        """A memo is read: if its value rested on the workspace, so does what is being evaluated now."""
        if (id(self), key) in self.builder.on_workspace:
            assumptions.read_workspace()

    def _memo_made(self, key: str, frame: list[bool]) -> None:
        if assumptions.end(frame):
            self.builder.on_workspace.add((id(self), key))

    def _variable_value(self, name: str, decl: ast.Block) -> Value:
        type_attr = decl.attribute("type")
        type_expr = type_attr.expr if type_attr else None
        nullable_attr = decl.attribute("nullable")
        nullable = not (nullable_attr and isinstance(nullable_attr.expr, ast.Literal) and nullable_attr.expr.value is False)
        value: Value | None = None
        if self.parent is None:
            given = self.builder.inputs.values.get(name)
            if isinstance(given, RawInput):
                value = self._parse_raw(given, type_expr)
            elif given is not None:
                value = given
        else:
            arg = self.call.block.attribute(name)
            if arg is not None:
                label = f'module "{self.call.name}" argument {name}'
                evaluator = Evaluator(self.call.context, OriginKind.MODULE_ARGUMENT, label, name=name)
                value = hop(evaluator.evaluate(arg.expr), Origin(OriginKind.MODULE_ARGUMENT, arg.span, label))
                if value.is_null and not nullable:
                    value = None
        if value is None:
            default = decl.attribute("default")
            if default is not None:
                label = f'variable "{name}" default'
                value = Evaluator(ConstantContext(), OriginKind.VARIABLE_DEFAULT, label, name=name).evaluate(default.expr)
            elif self.parent is None:
                return Value.unknown_because(
                    f'variable "{name}" has no default and no value was given '
                    f"(terraform.tfvars, --var-file, --var or TF_VAR_{name})")
            else:
                return Value.unknown_because(f'module "{self.call.name}" does not set "{name}", which has no default')
        if self.parent is None and self.builder.inputs.unset_reason and value.origin is not None \
                and value.origin.kind is OriginKind.VARIABLE_DEFAULT:
            return Value.unknown_because(f'variable "{name}" may be set elsewhere: {self.builder.inputs.unset_reason}')
        if self.parent is None and name in self.builder.inputs.from_terragrunt and type_expr is None \
                and isinstance(value.raw, (list, dict)):
            return Value.unknown_because(f'Terragrunt passes input "{name}" as TF_VAR_{name}, and variable "{name}" '
                                         "declares no type, so Terraform reads its JSON text as a string")
        if type_expr is not None:
            value = convert(value, type_expr)
        if _declared_sensitive(decl):
            value = value.marked(SENSITIVE)
        return value

    def _parse_raw(self, raw: RawInput, type_expr: ast.Expr | None) -> Value:
        # the environment belongs to the CI job, not to the configuration: whatever a pull request declares,
        # a TF_VAR_ value is never shown
        mark = SENSITIVE if raw.origin.kind is OriginKind.ENV_VAR else None
        if type_expr is None or type_is_primitive(type_expr):
            return Value(raw.text, origin=raw.origin).marked(mark)
        try:
            expr = parse_expression(raw.text, "<command line>", 0)
        except ParseFailure as exc:
            where = f"{exc.line}:{exc.column}" if mark else exc.message
            return Value.unknown_because(f"{raw.origin.label} does not parse (at {where})")
        return Evaluator(ConstantContext(), raw.origin.kind, raw.origin.label).evaluate(expr).marked(mark)

    def local(self, name: str, node: ast.Node) -> Value:
        key = "local." + name
        if name in self._locals:
            self._memo_read(key)
            return self._locals[name]
        attr = self.config.locals.get(name) if self.config else None
        if attr is None:
            raise EvalError(f'reference to undeclared local value "{name}"', node)
        if key in self._busy:
            return Value.unknown_because(f"local.{name} depends on itself")
        self._busy.add(key)
        frame = assumptions.begin()
        try:
            label = f"local.{name}"
            value = Evaluator(self, OriginKind.LOCAL, label, name=name).evaluate(attr.expr)
            value = hop(value, Origin(OriginKind.LOCAL, attr.span, label))
        finally:
            self._busy.discard(key)
            self._memo_made(key, frame)
        self._locals[name] = value
        return value

    def resource(self, mode: str, type_: str, name: str, node: ast.Node) -> Value | None:
        group = self.resource_groups.get((mode, type_, name))
        if group is None:
            return None
        return group.reference_value()

    def module_call(self, name: str, node: ast.Node) -> Value | None:
        group = self.module_groups.get(name)
        if group is None:
            return None
        return group.reference_value()

    def note_undeclared(self, address: str) -> None:
        where = f" in {self.address}" if self.address else ""
        notice = f"CONFIG: reference to undeclared resource {address}{where} (terraform would reject it)"
        if notice not in self.builder.notices:
            self.builder.notices.append(notice)

    def each(self, attr: str, node: ast.Node) -> Value:
        raise EvalError("each.key and each.value can only be used in a block that has for_each", node)

    def count(self, attr: str, node: ast.Node) -> Value:
        raise EvalError("count.index can only be used in a block that has count", node)

    def path(self, attr: str, node: ast.Node) -> Value:
        """As Terraform gives them: relative to the root module, where terraform runs and file paths start."""
        if attr == "module":
            if self.config is None:
                text = "."
            else:
                text = Path(os.path.relpath(os.path.abspath(self.config.dir),
                                            os.path.abspath(self.builder.root_dir))).as_posix()
        elif attr in ("root", "cwd"):
            text = "."
        else:
            raise EvalError(f"path.{attr} does not exist", node)
        return Value(text)

    @property
    def budget(self) -> Budget:
        return self.builder.budget

    @property
    def opentofu(self) -> bool:
        return self.builder.opentofu

    def workspace(self, node: ast.Node) -> Value:
        """terraform.workspace: the run's (--workspace, TF_WORKSPACE, .terraform/environment, else "default"),
        carrying WORKSPACE_REF so that what is decided by it can say which workspace it assumed."""
        builder = self.builder
        chosen = builder.inputs.workspace
        if not builder.workspace_read:
            builder.workspace_read = True
            builder.notices.append(f"{display_path(builder.root_dir)}: terraform.workspace is read as "
                                   f"{chosen.describe()}; verdicts that depend on it assume that workspace "
                                   "(choose another with --workspace NAME)")
        assumptions.read_workspace()
        origin = Origin(OriginKind.EXPRESSION, node.span, f"terraform.workspace, assumed \"{chosen.name}\"")
        return Value(chosen.name, origin=origin, refs=frozenset([WORKSPACE_REF]))

    def files(self) -> TreeFiles:
        return self.builder.files

    def note_limit(self, message: str) -> None:
        self.builder.note_limit(message)

    def line_of(self, span: Span | None) -> str | None:
        """"main.tf:12" for a span, for naming where a file was read."""
        source = self.builder.loader.sources.get(span.file) if span is not None else None
        if source is None:
            return None
        return f"{span.file}:{source.line_col(span.start)[0]}"

    def output(self, name: str) -> Value:
        if name in self._outputs:
            self._memo_read("output." + name)
            return self._outputs[name]
        if self.config is None:
            return Value.unknown_because(f"module.{self.call.name}: {self.unavailable}")
        block = self.config.outputs.get(name)
        if block is None:
            raise EvalError(f'module "{self.call.name}" has no output "{name}"')
        key = "output." + name
        if key in self._busy:
            return Value.unknown_because(f"output {name} depends on itself")
        attr = block.attribute("value")
        if attr is None:
            return Value.unknown_because(f"output {name} has no value")
        self._busy.add(key)
        frame = assumptions.begin()
        try:
            label = f'output "{name}" of module "{self.call.name}"'
            value = hop(Evaluator(self, OriginKind.LITERAL, label).evaluate(attr.expr),
                        Origin(OriginKind.EXPRESSION, attr.span, label))
            if _declared_sensitive(block):
                value = value.marked(SENSITIVE)
        finally:
            self._busy.discard(key)
            self._memo_made(key, frame)
        self._outputs[name] = value
        return value


class InstanceContext:
    """A module instance plus the each/count values of one resource or module instance."""

    __slots__ = ("module", "each_key", "each_value", "count_index", "block_kind")  # one per resource
    functions = None  # no functions of its own (a Terragrunt context has some): asked on every call

    def __init__(self, module: ModuleInstance, each_key: Value | None = None, each_value: Value | None = None,
                 count_index: Value | None = None, block_kind: str = ""):
        self.module = module
        self.each_key = each_key
        self.each_value = each_value
        self.count_index = count_index
        self.block_kind = block_kind

    def var(self, name, node):
        return self.module.var(name, node)

    def local(self, name, node):
        return self.module.local(name, node)

    def resource(self, mode, type_, name, node):
        return self.module.resource(mode, type_, name, node)

    def module_call(self, name, node):
        return self.module.module_call(name, node)

    def note_undeclared(self, address):
        self.module.note_undeclared(address)

    def path(self, attr, node):
        return self.module.path(attr, node)

    @property
    def budget(self) -> Budget:
        return self.module.builder.budget

    @property
    def opentofu(self) -> bool:
        return self.module.builder.opentofu

    def workspace(self, node):
        return self.module.workspace(node)

    def files(self) -> TreeFiles:
        return self.module.builder.files

    def note_limit(self, message: str) -> None:
        self.module.builder.note_limit(message)

    def line_of(self, span):
        return self.module.line_of(span)

    def each(self, attr: str, node: ast.Node) -> Value:
        if self.each_key is None:
            return self.module.each(attr, node)
        if attr == "key":
            return self.each_key
        if attr == "value":
            return self.each_value
        raise EvalError(f"each.{attr} does not exist (each.key, each.value)", node)

    def count(self, attr: str, node: ast.Node) -> Value:
        if self.count_index is None:
            return self.module.count(attr, node)
        if attr == "index":
            return self.count_index
        raise EvalError(f"count.{attr} does not exist (count.index)", node)


def expand(module: ModuleInstance, block: ast.Block, what: str) -> tuple[dict[Any, InstanceContext], str]:
    """The instance keys of a block with count/for_each, or one wildcard instance when unknown."""
    count_attr = block.attribute("count")
    each_attr = block.attribute("for_each")
    if count_attr is not None:
        label = f"{what} count"
        value = Evaluator(module, OriginKind.EXPRESSION, label).evaluate(count_attr.expr)
        if value.known and value.raw is not None:
            try:
                n = to_index(value)
            except EvalError as exc:
                return _wildcard(module, f"count is not a number: {exc}", counted=True), ""
            limit = module.builder.limits.instances
            if n > limit:
                reason = _too_many(module, what, f"count = {n:,}", limit)
                return _wildcard(module, reason, counted=True), reason
            return {i: InstanceContext(module, count_index=Value(i)) for i in range(max(n, 0))}, ""
        reason = value.unknown or "count is null"
        return _wildcard(module, f"count is unknown: {reason}", counted=True), reason
    if each_attr is not None:
        value = Evaluator(module, OriginKind.EXPRESSION, f"{what} for_each").evaluate(each_attr.expr)
        if not value.known:
            return _wildcard(module, f"for_each is unknown: {value.unknown}", counted=False), value.unknown
        raw = value.raw
        out: dict[Any, InstanceContext] = {}
        limit = module.builder.limits.instances
        if isinstance(raw, (dict, list)) and len(raw) > limit:
            reason = _too_many(module, what, f"for_each has {len(raw):,} elements", limit)
            return _wildcard(module, reason, counted=False), reason
        if isinstance(raw, dict):
            for key in sorted(raw):
                out[key] = InstanceContext(module, Value(key, origin=raw[key].origin), raw[key])
            return out, ""
        if isinstance(raw, SetList):
            for item in raw:
                if not item.known:
                    return _wildcard(module, f"for_each has an unknown element: {item.unknown}", False), item.unknown
                try:
                    key = to_string(item)
                except EvalError:
                    return _wildcard(module, "for_each set elements must be strings", False), "bad for_each"
                out[key] = InstanceContext(module, Value(key, origin=item.origin), item)
            return dict(sorted(out.items())), ""
        if raw is None:
            return _wildcard(module, "for_each is null", False), "for_each is null"
        reason = "for_each must be a map or a set of strings (wrap a list in toset())"
        return _wildcard(module, reason, False), reason
    return {None: InstanceContext(module)}, ""


def creation_doubt(module: "ModuleInstance", block: ast.Block, reason: str) -> tuple[str, bool]:
    """Why the instances of a block whose count/for_each is unknown may not exist, and whether at least one
    surely does (every branch of a conditional makes one, or a set has elements whose values are unknown)."""
    counted = block.attribute("count") is not None
    attribute = block.attribute("count") or block.attribute("for_each")
    name = "count" if counted else "for_each"
    reason = reason or "it cannot be evaluated"
    fewest = _fewest_instances(module, attribute.expr, counted, 0) if attribute is not None else None
    if fewest is not None and fewest >= 1:
        made = "one instance" if fewest == 1 else f"{fewest} instances"
        return f"{name} is not known ({reason}), but whatever it turns out to be it makes at least {made}", True
    return f"{name} is not known ({reason})", False


def _fewest_instances(module: "ModuleInstance", expr: ast.Expr, counted: bool, depth: int) -> int | None:
    """The fewest instances a count or for_each expression can make, when the exact number is not known."""
    while isinstance(expr, ast.Paren):
        expr = expr.inner
    if isinstance(expr, ast.Conditional) and depth < 8:
        sides = [_fewest_instances(module, side, counted, depth + 1) for side in (expr.true_expr, expr.false_expr)]
        return None if None in sides else min(sides)
    value = Evaluator(module, OriginKind.EXPRESSION, "count" if counted else "for_each").evaluate(expr)
    if not value.known or value.raw is None:
        return None
    if counted:
        try:
            return max(int(to_number(value)), 0)
        except EvalError:
            return None
    if isinstance(value.raw, dict):
        return len(value.raw)
    if isinstance(value.raw, SetList):
        return min(len(value.raw), 1)  # unknown elements may turn out equal, but a non-empty set stays non-empty
    return None


def _too_many(module: ModuleInstance, what: str, how_many: str, limit: int) -> str:
    reason = (f"{how_many}, more than the {limit:,} instances iaclint expands (limit instances; raise it with "
              "--limit instances=N)")
    module.builder.note_limit(f"{what}: {reason}")
    return reason


def _wildcard(module: ModuleInstance, reason: str, counted: bool) -> dict[Any, InstanceContext]:
    unknown = Value.unknown_because(reason)
    if counted:
        return {WILDCARD: InstanceContext(module, count_index=unknown)}
    return {WILDCARD: InstanceContext(module, unknown, unknown)}


class ResourceGroup:
    """All instances of one resource block in one module instance."""

    # one per block
    __slots__ = ("module", "decl", "_instances", "_expanding", "unknown_reason", "_reference", "_doubt",
                 "on_workspace", "nodes", "_provider", "blockless")
    # _instances: None until expanded; the HclResource itself for a block without count or for_each
    # (most blocks: a one-entry dict each was a large file's biggest dict cost); else key -> HclResource

    def __init__(self, module: ModuleInstance, decl: ResourceDecl):
        self.module = module
        self.decl = decl
        self._instances: dict[Any, HclResource] | None = None
        self._expanding = False
        self.unknown_reason = ""
        self._reference: Value | None = None
        self._doubt: tuple[str, bool] | None = None
        self.on_workspace = False  # its count or for_each rests on terraform.workspace
        # argument name -> its node (None: not written), for a block with several instances: each instance asks
        # the same questions of the same block, and a scan of the body per question was most of a large
        # for_each's lookups. Syntax only: every instance still evaluates its own arguments.
        self.nodes: dict[str, ast.Attribute | None] | None = None
        self._provider: str | None = None  # provider_ref(): the block's, whatever the instance
        self.blockless: set[str] | None = None  # with nodes: nested block types the block writes none of

    @property
    def base_address(self) -> str:
        prefix = self.module.address + "." if self.module.address else ""
        return prefix + self.decl.local_address

    def creation_doubt(self) -> tuple[str, bool]:
        """For a block whose instances are unknown: why they may not exist, and whether one surely does."""
        if self._doubt is None:
            self._doubt = creation_doubt(self.module, self.decl.block, self.unknown_reason)
        return self._doubt

    def instances(self) -> dict[Any, "HclResource"]:
        if self._instances is None:
            if self._expanding:
                return {}
            self._expanding = True
            frame = assumptions.begin()
            try:
                contexts, self.unknown_reason = expand(self.module, self.decl.block, self.base_address)
            finally:
                self._expanding = False
                self.on_workspace = assumptions.end(frame)
            if len(contexts) == 1 and None in contexts:
                self._instances = HclResource(self, None, contexts[None])
            else:
                self.nodes, self.blockless = {}, set()
                self._instances = {key: HclResource(self, key, ctx) for key, ctx in contexts.items()}
        if type(self._instances) is HclResource:
            return {None: self._instances}
        return self._instances

    def provider_ref(self) -> str:
        """The provider configuration the block uses: read from the block and the module calls, never an instance."""
        if self._provider is None:
            self._provider = provider_ref(self.decl.block, self.decl.type, self.module)
        return self._provider

    def reference_value(self) -> Value:
        """The block as a value (one instance, a list or a map of them); built once, then shared."""
        if self._expanding:
            return Value.unknown_because(f"{self.base_address} refers to itself in count/for_each")
        if self._reference is None:
            self._reference = self._build_reference()
        return self._reference

    def _build_reference(self) -> Value:
        instances = self.instances()
        block = self.decl.block
        if WILDCARD in instances:
            address = instances[WILDCARD].address
            # an instance used by index exists if the apply succeeds: still decided by this resource
            return Value.unknown_because(AfterApply(f"{self.base_address} has an unknown number of instances "
                                                    f"({self.unknown_reason})"), refs=[address])
        if block.attribute("count") is not None:
            return Value([inst.as_value() for inst in instances.values()])
        if block.attribute("for_each") is not None:
            return Value({key: inst.as_value() for key, inst in instances.items()})
        return next(iter(instances.values())).as_value()


# (resource id, attribute) pairs being evaluated, to catch an attribute that refers to itself. One set
# for the run rather than one per resource: a large configuration has tens of thousands of resources.
_EVALUATING: set[tuple[int, str]] = set()


class HclResource(Resource):
    # slots: a large configuration has tens of thousands of resources, and a __dict__ each doubled them
    __slots__ = ("group", "decl", "block", "file", "context", "mode", "type", "name", "key", "module",
                 "module_address", "address", "config_address", "call_sites",
                 "plan_actions", "not_editable", "_attrs", "_value", "_unwritten")
    source_kind = "hcl"

    def __init__(self, group: ResourceGroup, key: Any, context: InstanceContext):
        decl = group.decl
        module = group.module
        self.group = group
        self.decl = decl
        self.block = decl.block
        self.file = decl.file
        self.context = context
        self.mode = decl.mode
        self.type = decl.type
        self.name = decl.name
        self.key = key
        self.module = module
        self.module_address = module.address
        self.address = group.base_address + instance_suffix(key)
        cfg_prefix = module.config_path
        self.config_address = (cfg_prefix + "." if cfg_prefix else "") + decl.local_address
        if self.config_address == self.address:
            self.config_address = self.address  # one string, not two equal ones
        self.call_sites = module.call_sites()
        self.plan_actions = None
        self.not_editable = ""
        if module.config is not None and module.config.downloaded:
            self.not_editable = ("it is defined in a downloaded module (.terraform/modules, .terragrunt-cache); change the "
                                 "module upstream")
        elif module.config is not None and decl.file in module.config.json_files:
            self.not_editable = "it is written in JSON configuration (.tf.json), which iaclint does not edit"
        self._attrs: dict[str, AttrView] | None = None  # evaluated attributes; made when first asked
        self._value: Value | None = None
        self._unwritten: dict[str, Value] | None = None  # _referenced_attribute of arguments not written here

    @property
    def header_span(self) -> Span | None:  # made from the block when asked, like every node's span
        return self.block.header_span

    @property
    def block_span(self) -> Span:
        return self.block.span

    def attr(self, name: str) -> AttrView:
        attrs = self._attrs
        if attrs is None:
            attrs = self._attrs = {}
        cached = attrs.get(name)
        if cached is not None:
            bound = self.module.builder.on_workspace
            if bound and (id(self), name) in bound:
                assumptions.read_workspace()
            if forks._WATCH is not None:
                forks.note(self, None, "", name, cached)
            return cached
        nodes = self.group.nodes
        if nodes is None:
            node = self.block.attribute(name)
        else:
            node = nodes.get(name, _UNSEEN)
            if node is _UNSEEN:
                node = nodes[name] = self.block.attribute(name)
        if node is None:  # one view per name, not kept per resource: rules ask about many attributes a
            view = _ABSENT.get(name)  # resource does not set
            if view is None:
                view = _ABSENT[name] = AttrView(name, False, None, None, None)
            return view
        busy = (id(self), name)
        if busy in _EVALUATING:
            return AttrView.written(name, Value.unknown_because(f"{self.address}.{name} refers to itself"), node)
        _EVALUATING.add(busy)
        frame = assumptions.begin()
        try:
            evaluator = Evaluator(self.context, OriginKind.LITERAL, f"{self.address}.{name}")
            value = evaluator.evaluate(node.expr)
        finally:
            _EVALUATING.discard(busy)
            if assumptions.end(frame):
                self.module.builder.on_workspace.add(busy)
        view = AttrView.written(name, value, node)
        attrs[name] = view
        if forks._WATCH is not None:
            forks.note(self, None, "", name, view)
        return view

    def attribute_names(self) -> list[str]:
        return [a.name for a in self.block.body.attributes if a.name not in META_ARGUMENTS]

    def peek_value(self, name: str) -> Value | None:
        cached = self._attrs.get(name) if self._attrs is not None else None
        if cached is not None:
            return cached.value
        view = self.attr(name)
        self._attrs.pop(name, None)
        return view.value

    def nested(self, name: str) -> tuple[list[BlockView], str]:
        blockless = self.group.blockless
        if blockless is not None and name in blockless:
            return [], ""  # no `name` block of any kind written: none for any instance
        found = nested_blocks(self, self.block.body, name, self.address, {})
        if blockless is not None and not found[0] and not found[1] and not _writes_blocks(self.block.body, name):
            blockless.add(name)
        return found

    def provider_ref(self) -> str:
        return self.group.provider_ref()

    def rests_on_workspace(self) -> bool:
        """Whether this instance exists (or has its key) because of the workspace assumed: its count or for_each,
        or an enclosing module call's, read terraform.workspace."""
        if self.group.on_workspace:
            return True
        node = self.module
        while node.parent is not None and node.call is not None:
            group = node.parent.module_groups.get(node.call.name)
            if group is not None and group.on_workspace:
                return True
            node = node.parent
        return False

    def creation_doubt(self) -> tuple[str, bool] | None:
        """None when this instance surely exists; else why it may not (its own count/for_each or an enclosing
        module's is not known) and whether at least one instance surely does."""
        doubts = [self.group.creation_doubt()] if self.key is WILDCARD else []
        node = self.module
        while node.parent is not None and node.call is not None:
            group = node.parent.module_groups.get(node.call.name)
            if group is not None and group.is_wildcard(node):
                doubts.append(group.creation_doubt())
            node = node.parent
        if not doubts:
            return None
        unsure = [why for why, surely in doubts if not surely]
        return (unsure[0], False) if unsure else (doubts[0][0], True)

    def as_value(self) -> Value:
        """The resource as a reference sees it; made once (values are never changed, only copied)."""
        if self._value is None:
            self._value = Value(ObjectRef(self.address, self._referenced_attribute), refs=frozenset([self.address]))
        return self._value

    def _referenced_attribute(self, name: str) -> Value:
        refs = self.as_value().refs  # the same frozenset object for every reference to this resource
        if self.block.attribute(name) is not None and name not in META_ARGUMENTS:
            value = self.attr(name).value
            label = f"{self.address}.{name}"
            return hop(value, Origin(OriginKind.LITERAL, self.block.attribute(name).span, label)).with_refs(refs)
        # not written: the same unknown for every reference (10,000 instances naming one key's arn), made once
        unwritten = self._unwritten
        if unwritten is None:
            unwritten = self._unwritten = {}
        value = unwritten.get(name)
        if value is None:
            if self.block.blocks(name):
                value = Value.unknown_because(f"{self.address}.{name} is a nested block (not evaluated as a value)",
                                              refs)
            else:
                value = Value.unknown_because(AfterApply(f"{self.address}.{name} is known only after apply"), refs)
            unwritten[name] = value
        return value


class HclBlockView(BlockView):
    """A nested block, evaluated in its resource's context (plus a dynamic block's iterator)."""

    def __init__(self, resource: HclResource, block: ast.Block, label: str, bindings: dict[str, Value],
                 span: Span | None = None):
        self.resource = resource
        self.block = block
        self.label = label
        self.bindings = bindings
        self.span = span or block.span
        self._attrs: dict[str, AttrView] = {}

    def attr(self, name: str) -> AttrView:
        view = self._attrs.get(name)
        if view is None:
            node = self.block.attribute(name)
            if node is None:
                view = AttrView(name, False, None, None, None)
            else:
                evaluator = Evaluator(self.resource.context, OriginKind.LITERAL, f"{self.label}.{name}")
                if self.bindings:
                    evaluator.bindings.append(self.bindings)
                view = AttrView.written(name, evaluator.evaluate(node.expr), node)
            self._attrs[name] = view
        if forks._WATCH is not None:
            forks.note(self.resource, self.block, self.label, name, view)
        return view

    def nested(self, name: str) -> tuple[list[BlockView], str]:
        return nested_blocks(self.resource, self.block.body, name, self.label, self.bindings)


def _writes_blocks(body: ast.Body, name: str) -> bool:
    """Whether a body writes a `name` block, literal or dynamic, in any syntax (what nested_blocks reads)."""
    written = body.blocks + ast.json_blocks(body, name) + ast.json_blocks(body, "dynamic")
    return any(block.type == name or (block.type == "dynamic" and block.labels == [name]) for block in written)


def nested_blocks(resource: HclResource, body: ast.Body, name: str, label: str,
                  bindings: dict[str, Value]) -> tuple[list[BlockView], str]:
    """Literal `name { }` blocks and `dynamic "name"` blocks whose for_each is known."""
    out: list[BlockView] = []
    # JSON writes nested blocks as objects (ast.json_blocks), also in a JSON override of a native block
    written = body.blocks + ast.json_blocks(body, name) + ast.json_blocks(body, "dynamic")
    for block in written:
        if block.type == name:
            out.append(HclBlockView(resource, block, f"{label}.{name}", bindings))
        elif block.type == "dynamic" and block.labels == [name]:
            content = block.blocks("content")
            each = block.attribute("for_each")
            if not content or each is None:
                continue
            iterator = block.attribute("iterator")
            var = name
            if iterator is not None and isinstance(iterator.expr, ast.Variable):
                var = iterator.expr.name
            evaluator = Evaluator(resource.context, OriginKind.EXPRESSION, f"dynamic {name} for_each")
            if bindings:
                evaluator.bindings.append(bindings)
            items = evaluator.evaluate(each.expr)
            if not items.known:
                return out, f'dynamic "{name}" block of {resource.address}: for_each is unknown ({items.unknown})'
            if set_order_unknown(items):
                return out, f'dynamic "{name}" block of {resource.address}: {SET_ORDER}'
            raw = items.raw
            pairs = (sorted(raw.items()) if isinstance(raw, dict)
                     else [(v.raw if isinstance(raw, SetList) else i, v) for i, v in enumerate(raw)]
                     if isinstance(raw, list) else [])
            for key, item in pairs:
                scope = dict(bindings)
                scope[var] = Value({"key": Value(key), "value": item})
                shown = instance_suffix(key if isinstance(key, (int, str)) else None)
                out.append(HclBlockView(resource, content[0], f"{label}.{name}{shown}", scope, block.span))
    return out, ""


def provider_ref(block: ast.Block, resource_type: str, module: "ModuleInstance") -> str:
    """The root module's provider configuration ("aws", "aws.west") a block uses, through module calls."""
    local = resource_type.split("_", 1)[0]
    attr = block.attribute("provider")
    if attr is not None:
        local = _reference_text(attr.expr) or local
    node = module
    while node is not None and node.parent is not None and node.call is not None:
        if node.config is not None and local in node.config.providers:
            return f"{node.address}:{local}"  # a (legacy) provider block of the module itself
        mapping = node.call.block.attribute("providers")
        passed = None
        if mapping is not None and isinstance(mapping.expr, ast.ObjectExpr):
            for item in mapping.expr.items:
                if _reference_text(item.key) == local:
                    passed = _reference_text(item.value)
        if passed is None:
            if "." in local:
                return "?" + local  # an alias the caller does not pass: terraform would reject it
            passed = local  # the default configuration is inherited
        local = passed
        node = node.parent
    return local


def _reference_text(expr: ast.Expr) -> str | None:
    """A provider reference as text: `aws`, `aws.west`, or a key of a `providers` map (a bare word there is
    parsed as a Literal, a quoted one as a Template)."""
    if isinstance(expr, ast.Literal) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.Variable):
        return expr.name
    if isinstance(expr, ast.GetAttr) and isinstance(expr.target, ast.Variable):
        return f"{expr.target.name}.{expr.name}"
    if isinstance(expr, ast.Template) and expr.is_literal:
        return expr.literal
    return None


def describe_source(source: str, block: ast.Block) -> str:
    """'"cloudposse/label/null" version "0.25.0"': a module call's source as messages name it."""
    version = block.attribute("version")
    shown = f'"{source}"'
    if version is not None and isinstance(version.expr, ast.Template) and version.expr.is_literal:
        shown += f' version "{version.expr.literal}"'
    return shown


class ModuleCallSubject(Resource):
    """A module block as rules of mode `module` see it (MOD001): one per call path of a root module, whatever
    number of instances it has, located at the block, with the block's arguments as attributes."""

    source_kind = "hcl"
    mode = "module"
    type = "module"
    key = None
    plan_actions = None
    not_editable = "it is a module call; nothing in it is fixed automatically"

    def __init__(self, group: "ModuleGroup", call_path: str, config: ModuleConfig | None, unchecked: str):
        self.group = group
        self.block = group.block
        self.file = group.file
        self.name = group.name
        self.call_path = call_path
        self.config = config
        self.unchecked = unchecked  # why its code is not read: not downloaded, or a stale download ('' when read)
        parent_path = group.parent.config_path
        self.address = (parent_path + "." if parent_path else "") + f"module.{group.name}"
        self.config_address = self.address
        self.module_address = group.parent.address
        self.call_sites = group.parent.call_sites()
        self.root_dir = group.parent.builder.root_dir
        self._attrs: dict[str, AttrView] = {}

    @property
    def header_span(self) -> Span | None:
        return self.block.header_span

    @property
    def block_span(self) -> Span:
        return self.block.span

    def attr(self, name: str) -> AttrView:
        cached = self._attrs.get(name)
        if cached is not None:
            return cached
        node = self.block.attribute(name)
        if node is None:
            view = AttrView(name, False, None, None, None)
        else:
            label = f"{self.address}.{name}"
            view = AttrView.written(name, Evaluator(self.group.parent, OriginKind.LITERAL, label).evaluate(node.expr),
                                    node)
        self._attrs[name] = view
        return view

    def attribute_names(self) -> list[str]:
        return [a.name for a in self.block.body.attributes]


class ModuleCall:
    def __init__(self, name: str, block: ast.Block, file: str, context: InstanceContext):
        self.name = name
        self.block = block
        self.file = file
        self.context = context


class ModuleGroup:
    """All instances of one module block."""

    def __init__(self, parent: ModuleInstance, name: str, block: ast.Block, file: str):
        self.parent = parent
        self.name = name
        self.block = block
        self.file = file
        self._instances: dict[Any, ModuleInstance] | None = None
        self._expanding = False
        self.unknown_reason = ""
        self._doubt: tuple[str, bool] | None = None
        self.on_workspace = False  # its count or for_each rests on terraform.workspace
        # argument name -> its node (None: not written), for a block with several instances: each instance asks
        # the same questions of the same block, and a scan of the body per question was most of a large
        # for_each's lookups. Syntax only: every instance still evaluates its own arguments.
        self.nodes: dict[str, ast.Attribute | None] | None = None
        self._provider: str | None = None  # provider_ref(): the block's, whatever the instance
        self.blockless: set[str] | None = None  # with nodes: nested block types the block writes none of

    @property
    def base_address(self) -> str:
        prefix = self.parent.address + "." if self.parent.address else ""
        return f"{prefix}module.{self.name}"

    def creation_doubt(self) -> tuple[str, bool]:
        """For a module call whose instances are unknown: why they may not exist, and whether one surely does."""
        if self._doubt is None:
            why, surely = creation_doubt(self.parent, self.block, self.unknown_reason)
            self._doubt = (f"it is in {self.base_address}[*], whose {why}", surely)
        return self._doubt

    def is_wildcard(self, instance: "ModuleInstance") -> bool:
        return self._instances is not None and self._instances.get(WILDCARD) is instance

    def instances(self) -> dict[Any, ModuleInstance]:
        if self._instances is not None:
            return self._instances
        if self._expanding:
            return {}
        self._expanding = True
        builder = self.parent.builder
        frame = assumptions.begin()
        try:
            contexts, self.unknown_reason = expand(self.parent, self.block, self.base_address)
            config, unavailable, unchecked = self._load()
        finally:
            self._expanding = False
            self.on_workspace = assumptions.end(frame)
        limit = builder.limits.module_instances
        if len(builder.module_instances) + len(contexts) > limit:
            reason = (f"more than {limit:,} module instances in this root module (limit module_instances; raise it "
                      "with --limit module_instances=N)")
            builder.note_limit(f"{self.base_address}: {reason}")
            counted = self.block.attribute("count") is not None
            contexts, self.unknown_reason = _wildcard(self.parent, reason, counted), reason
            config, unavailable = None, reason
        call_path = (self.parent.call_path + "." if self.parent.call_path else "") + self.name
        out = {}
        for key, ctx in contexts.items():
            address = self.base_address + instance_suffix(key)
            out[key] = ModuleInstance(self.parent.builder, config, address, self.parent,
                                      ModuleCall(self.name, self.block, self.file, ctx), call_path,
                                      self.parent.depth + 1, unavailable)
        if unavailable and not unchecked:
            self.parent.builder.notices.append(f"{self.base_address}: {unavailable}; its resources are not checked")
        if call_path not in builder.module_calls:  # one per call path, made once (instances may be many)
            builder.module_calls[call_path] = ModuleCallSubject(self, call_path, config, unchecked and unavailable)
        self._instances = out
        return out

    def _load(self) -> tuple[ModuleConfig | None, str, bool]:
        """The called module's configuration, or why there is none; and whether that is because its code has not
        been downloaded (or only a stale copy has), which MOD001 reports."""
        source_attr = self.block.attribute("source")
        builder = self.parent.builder
        if source_attr is None or not isinstance(source_attr.expr, ast.Template) or not source_attr.expr.is_literal:
            why = "its source must be a literal string" if source_attr is not None else "it has no source"
            builder.report_call(self, f'module "{self.name}": {why}; terraform would reject this', source_attr)
            return None, f"{why} (see the CONFIG finding)", False
        source = source_attr.expr.literal
        depth = builder.limits.module_depth
        if self.parent.depth + 1 > depth:
            return None, (f"modules are nested more than {depth} deep (limit module_depth; raise it with "
                          "--limit module_depth=N)"), False
        parent_downloaded = self.parent.config is not None and self.parent.config.downloaded
        if is_local(source) and self.parent.config is not None:
            directory = (self.parent.config.dir / source)
            note_path(directory)  # there or not: an input of the root (run/results.py)
            if not directory.is_dir():
                builder.report_call(self, f'module "{self.name}": its source {source} is not a directory; terraform '
                                          "would reject this", source_attr)
                return None, f"module source {source} does not exist (see the CONFIG finding)", False
            refused = builder.tree.why_not_read_directory(directory)
            if refused:
                return None, self._refused(f"module source {source} {refused}", source_attr), False
            cycle = self._cycle(directory.resolve())
            if cycle:
                path = " -> ".join(cycle + [cycle[0]])
                builder.report_call(self, f'module "{self.name}" calls itself: {path}; terraform would reject this')
                return None, "it calls itself (see the CONFIG finding)", False
            # a local module of a downloaded module is part of that download: read, never edited
            return builder.loader.module(directory, downloaded=parent_downloaded, opentofu=builder.opentofu), "", False
        call_path = (self.parent.call_path + "." if self.parent.call_path else "") + self.name
        download = builder.downloaded.get(call_path)
        if download is not None:
            note_path(download.dir)  # there or not: an input of the root (run/results.py)
        what = describe_source(source, self.block)
        if download is None or not download.dir.is_dir():
            return None, f"module {what} has not been downloaded", True
        refused = builder.tree.why_not_read_directory(download.dir)
        if refused:
            return None, self._refused(f"its downloaded copy (.terraform/modules/modules.json) {refused}",
                                       source_attr), False
        version = self.block.attribute("version")
        constraint = version.expr.literal if version is not None and isinstance(version.expr, ast.Template) \
            and version.expr.is_literal else None
        stale = download_mismatch(source, constraint, download)
        if stale:
            return None, f"module {what}: {stale}, and is not used", True
        return builder.loader.module(download.dir, downloaded=True, opentofu=builder.opentofu), "", False

    def _refused(self, why: str, node: ast.Node) -> str:
        """A module directory outside the tree: a CONFIG finding at the call, and the reason its values are
        unknown."""
        self.parent.builder.report_call(self, f'module "{self.name}": {why}; nothing in it is checked', node)
        return why

    def _cycle(self, directory: Path) -> list[str]:
        """The module directories from the one this call would load back to itself, if it is a cycle."""
        chain = []
        node: ModuleInstance | None = self.parent
        while node is not None:
            if node.config is not None:
                chain.append(node.config.display_dir)
                if node.config.dir.resolve() == directory:
                    return list(reversed(chain))
            node = node.parent
        return []

    def reference_value(self) -> Value:
        if self._expanding:
            return Value.unknown_because(f"{self.base_address} refers to itself in count/for_each")
        instances = self.instances()
        if WILDCARD in instances:
            return Value.unknown_because(f"{self.base_address} has an unknown number of instances ({self.unknown_reason})")
        values = {key: Value(ObjectRef(inst.address, inst.output)) for key, inst in instances.items()}
        if self.block.attribute("count") is not None:
            return Value(list(values.values()))
        if self.block.attribute("for_each") is not None:
            return Value(values)
        return next(iter(values.values())) if values else Value.unknown_because("module has no instance")


def _declared_sensitive(block: ast.Block) -> bool:
    """`sensitive = true` on a variable or output (any value but a literal false counts: when unsure, hide)."""
    attr = block.attribute("sensitive")
    if attr is None:
        return False
    return not (isinstance(attr.expr, ast.Literal) and attr.expr.value is False)


def build_hcl_graph(root_dir: Path, inputs: VariableInputs, loader: ConfigLoader | None = None,
                    limits: Limits = DEFAULT_LIMITS, opentofu: bool = False, work_dir: Path | None = None) -> Graph:
    """The graph of one root module; file functions and module sources stay inside the loader's tree (by
    default the git top level above the root module, else the root module's directory). ``opentofu``: read it
    as OpenTofu does; ``work_dir``: where `terraform init` ran (a Terragrunt unit's working copy)."""
    return HclGraphBuilder(root_dir, inputs, loader, limits, opentofu, work_dir).build()
