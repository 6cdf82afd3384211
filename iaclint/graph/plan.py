"""Build the resource graph from `terraform show -json` plan output (format 0.1 to 1.x).

Resources come from resource_changes[].change.after (after_unknown marks values known only after
apply); references come from the configuration section, so a `kms_key_arn` that is unknown because it
refers to an `aws_kms_key` created in the same run still resolves to that key. A computed attribute
that is unknown only because the configuration does not set it is absent, not unknown. When the
configuration directory is found, every plan resource is mapped to its block in the .tf files, so
findings point at source lines and fixes can edit them.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from iaclint.eval.limits import DEFAULT_LIMITS
from iaclint.eval.values import SENSITIVE, AfterApply, Origin, OriginKind, Value, from_python
from iaclint.graph.config import ConfigLoader, make_cache, opentofu_reading, terraform_files
from iaclint.graph.hcl import build_hcl_graph
from iaclint.graph.inputs import collect_inputs, resolve_workspace
from iaclint.graph.providers import provider_versions
from iaclint.graph.model import AttrView, BlockView, CallSite, Graph, Resource
from iaclint.model import Span, plural
from iaclint.schemas import schema
from iaclint.source import (SourceError, SourceFile, decode_source, display_path, may_hold_lone_surrogates,
                            without_lone_surrogates)
from iaclint.tree import Tree, tree_of
from iaclint.errors import PlanError  # noqa: F401 (raised here; kept cheap to import for the CLI)

SUPPORTED_MAJOR = {0, 1}
_INDEX = re.compile(r"\[[^\]]*\]")
_ADDRESS = re.compile(r'"address"\s*:\s*("(?:[^"\\]|\\.)*")')


def strip_keys(address: str) -> str:
    """module.db["a"].aws_x.y[0] -> module.db.aws_x.y (the configuration address)."""
    return _INDEX.sub("", address)


def _split_module(address: str) -> tuple[str, str]:
    """('module.db["a"]', 'aws_x.y[0]') from a resource instance address."""
    parts = _address_parts(address)
    module_parts = []
    i = 0
    while i < len(parts) and parts[i] == "module":
        module_parts.extend(parts[i:i + 2])
        i += 2
    return ".".join(module_parts), ".".join(parts[i:])


def _address_parts(address: str) -> list[str]:
    """Split on dots outside brackets and quotes."""
    parts, buf, depth, quoted = [], [], 0, False
    i = 0
    while i < len(address):
        ch = address[i]
        if quoted:
            buf.append(ch)
            if ch == "\\" and i + 1 < len(address):
                buf.append(address[i + 1])
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
            buf.append(ch)
        elif ch == "[":
            depth += 1
            buf.append(ch)
        elif ch == "]":
            depth -= 1
            buf.append(ch)
        elif ch == "." and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def looks_like_plan(data: object) -> bool:
    return (isinstance(data, dict) and "format_version" in data
            and any(k in data for k in ("planned_values", "resource_changes", "configuration")))


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _long_int(text: str):
    """Integers longer than Python's 4,300-digit conversion limit are kept as text (no rule reads them)."""
    return int(text) if len(text) < 4000 else text


def decode_plan(data: bytes, name: str) -> str:
    """Plan bytes as text: UTF-8 (with or without a BOM) or UTF-16 with a BOM (PowerShell's `>`)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise PlanError(f"{name}: not valid UTF-16 ({exc.reason})") from None
    try:
        return decode_source(name, data).text
    except SourceError as exc:
        raise PlanError(f"{name}: cannot read: {exc}") from None


def read_plan(text: str, name: str) -> dict[str, Any]:
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_int=_long_int)
    except json.JSONDecodeError as exc:
        ends_early = exc.pos >= len(text.rstrip()) or (exc.msg.startswith("Unterminated string")
                                                        and '"' not in text[exc.pos + 1:])
        hint = " (the file ends early: is it truncated?)" if ends_early else ""
        raise PlanError(f"{name}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}") from None
    except (ValueError, RecursionError) as exc:
        what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise PlanError(f"{name}: not a plan iaclint can read: {what}") from None
    if may_hold_lone_surrogates(text):
        data = without_lone_surrogates(data)
    if not looks_like_plan(data):
        raise PlanError(f"{name}: JSON, but not a Terraform plan (expected the output of "
                        "`terraform show -json PLANFILE`, with format_version and planned_values)")
    version = str(data.get("format_version", ""))
    shown = version if len(version) <= 20 else version[:17] + "..."
    if not re.fullmatch(r"\d+(?:\.\d+)*", version):
        raise PlanError(f"{name}: format_version {shown!r} is not a version number")
    major_text = version.split(".")[0]
    major = int(major_text) if len(major_text) < 10 else None
    if major not in SUPPORTED_MAJOR:
        raise PlanError(f"{name}: plan format_version {shown} is newer than iaclint understands (0.1 to 1.x)")
    if _passes_fast_validation(data):
        return data
    import jsonschema  # only when a plan is read: configurations never need it

    validator = jsonschema.Draft202012Validator(schema("plan.schema.json"))
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise PlanError(f"{name}: not a plan iaclint can read: at {where}: {error.message}")
    return data


def _passes_fast_validation(data: Any) -> bool:
    """plan.schema.json compiled to Python by fastjsonschema: 20x jsonschema (an 18 MB plan: 0.3 s, not 6.5 s).
    Only a pass is trusted; anything else (an invalid plan, or a shape it cannot follow) is judged again by
    jsonschema, the reference, which also words the message. The tests hold the two to the same verdicts."""
    validate = _fast_plan_validator()
    if validate is None:
        return False
    try:
        validate(data)
    except Exception:  # JsonSchemaValueException, or RecursionError on a hostile plan
        return False
    return True


@lru_cache(maxsize=1)
def _fast_plan_validator():
    try:
        import fastjsonschema
    except ImportError:
        return None
    # The schema keeps to keywords that mean the same in draft 7, the newest fastjsonschema compiles.
    draft7 = dict(schema("plan.schema.json"), **{"$schema": "http://json-schema.org/draft-07/schema#"})
    try:
        return fastjsonschema.compile(draft7)
    except Exception:
        return None


def load_plan_target(target, options) -> Graph:
    if target.text is not None:
        name = target.name
        text = target.text
        plan_dir = None
    else:
        name = display_path(target.path)
        try:
            raw = Path(target.path).read_bytes()
        except OSError as exc:
            raise PlanError(f"{name}: cannot read: {exc.strerror or exc}") from None
        text = decode_plan(raw, name)
        plan_dir = Path(target.path).parent
    data = read_plan(text, name)
    return PlanGraphBuilder(data, SourceFile(name, text), plan_dir, options).build()


@dataclass
class _ConfigModule:
    """A module of the plan's configuration section, for references and .tf locations."""

    data: dict[str, Any]
    resources: dict[tuple[str, str, str], dict[str, Any]]


class PlanResource(Resource):
    source_kind = "plan"

    def __init__(self, builder: "PlanGraphBuilder", entry: dict[str, Any], change: dict[str, Any] | None,
                 values: dict[str, Any] | None, sensitive: Any = None):
        self.builder = builder
        self.address = entry["address"]
        self.mode = entry.get("mode", "managed")
        self.type = entry["type"]
        self.name = entry["name"]
        self.key = entry.get("index")
        module_address, _ = _split_module(self.address)
        self.module_address = entry.get("module_address", module_address)
        self.config_address = strip_keys(self.address)
        self.config_module_path = strip_keys(self.module_address)
        change = change or {}
        self.plan_actions = tuple(change.get("actions", ())) if change else None
        before = change.get("before") if isinstance(change.get("before"), dict) else None
        # checks read `before` as plain data: sensitive parts of it are replaced by the word itself
        self.before = _hide_sensitive(before, change.get("before_sensitive")) if before is not None else None
        after = change.get("after") if change else values
        self.after = after if isinstance(after, dict) else None
        unknown = change.get("after_unknown")
        self.after_unknown = unknown if isinstance(unknown, dict) else {}
        self.after_sensitive = change.get("after_sensitive") if change else sensitive  # True, or a mirror of after
        replace_paths = change.get("replace_paths")
        self.replace_paths = replace_paths if isinstance(replace_paths, list) else []
        reason = entry.get("action_reason", "")
        self.action_reason = reason if isinstance(reason, str) else ""
        self.config = builder.config_resource(self)
        self.hcl_resource = None
        self.plan_span = builder.locate_in_plan(self.address)
        self.header_span = self.plan_span
        self.block_span = self.plan_span
        self.call_sites: list[CallSite] = []
        self.not_editable = ""
        self._attrs: dict[str, AttrView] = {}

    def attach_source(self, hcl: Resource) -> None:
        self.hcl_resource = hcl
        self.header_span = hcl.header_span
        self.block_span = hcl.block_span
        self.call_sites = hcl.call_sites

    @property
    def expressions(self) -> dict[str, Any] | None:
        if self.config is None:
            return None
        return self.config.get("expressions") or {}

    def attribute_names(self) -> list[str]:
        names = set((self.after or {}).keys()) | {k for k, v in self.after_unknown.items() if v is True}
        return sorted(names)

    def nested(self, name: str) -> tuple[list[BlockView], str]:
        hcl_views = self.hcl_resource.nested(name)[0] if self.hcl_resource is not None else []
        written = getattr(self.hcl_resource, "block", None)
        return plan_blocks(self, self.after or {}, self.after_unknown, self.expressions, name, self.address,
                           hcl_views, written.body if written is not None else None, self.after_sensitive)

    def provider_ref(self) -> str:
        if self.hcl_resource is not None:
            return self.hcl_resource.provider_ref()
        key = (self.config or {}).get("provider_config_key", "")
        key = key if isinstance(key, str) else ""
        return key.split(":")[-1] if key and "module." not in key.split(":")[0] else self.type.split("_", 1)[0]

    def _span(self, name: str) -> tuple[Span | None, Span | None]:
        hcl = self.hcl_resource
        if hcl is not None:
            view = hcl.attr(name) if hasattr(hcl, "block") and hcl.block.attribute(name) is not None else None
            if view is not None:
                return view.span, view.value_span
        return None, None

    def attr(self, name: str) -> AttrView:
        cached = self._attrs.get(name)
        if cached is not None:
            return cached
        view = self._attr(name)
        self._attrs[name] = view
        return view

    def _attr(self, name: str) -> AttrView:
        span, value_span = self._span(name)
        expressions = self.expressions
        configured = expressions is not None and name in expressions
        unknown_mark = self.after_unknown.get(name)
        origin = Origin(OriginKind.PLAN, value_span, f"planned value of {self.address}.{name}")
        if unknown_mark is True:
            if expressions is not None and not configured:
                return AttrView(name, False, None, None, None)  # computed default, not set
            refs = self.builder.references_of(self, name)
            value = Value.unknown_because(AfterApply(f"{self.address}.{name} is known only after apply"), refs, origin)
            return AttrView(name, True, value, span, value_span)
        if self.after is None or name not in self.after:
            return AttrView(name, False, None, None, None)
        raw = self.after[name]
        value = _with_unknowns(raw, unknown_mark, origin, self, _part(self.after_sensitive, name))
        if raw is None:
            present = configured
        else:
            present = True
        if configured:
            value = value.with_refs(self.builder.references_of(self, name))
        return AttrView(name, present, value, span, value_span)


class PlanBlockView(BlockView):
    """A nested block's planned values; spans and references come from the configuration when known."""

    def __init__(self, resource: PlanResource, values: dict[str, Any], unknown: dict[str, Any],
                 expressions: dict[str, Any] | None, label: str, hcl: BlockView | None, sensitive: Any = None):
        self.resource = resource
        self.values = values
        self.unknown = unknown
        self.sensitive = sensitive
        self.expressions = expressions
        self.label = label
        self.hcl = hcl
        self.span = hcl.span if hcl is not None else resource.header_span

    def attr(self, name: str) -> AttrView:
        span = value_span = None
        if self.hcl is not None:
            view = self.hcl.attr(name)
            if view.present:
                span, value_span = view.span, view.value_span
        configured = self.expressions is not None and name in self.expressions
        origin = Origin(OriginKind.PLAN, value_span, f"planned value of {self.label}.{name}")
        mark = self.unknown.get(name)
        if mark is True:
            if self.expressions is not None and not configured:
                return AttrView(name, False, None, None, None)
            refs = self.resource.builder.expression_references(self.resource, (self.expressions or {}).get(name))
            return AttrView(name, True, Value.unknown_because(AfterApply(f"{self.label}.{name} is known only after "
                                                                         "apply"), refs, origin), span, value_span)
        if name not in self.values:
            return AttrView(name, False, None, None, None)
        raw = self.values[name]
        value = _with_unknowns(raw, mark, origin, self.resource, _part(self.sensitive, name))
        if configured:
            value = value.with_refs(self.resource.builder.expression_references(self.resource,
                                                                                 self.expressions[name]))
        return AttrView(name, raw is not None or configured, value, span, value_span)

    def nested(self, name: str) -> tuple[list[BlockView], str]:
        hcl_views = self.hcl.nested(name)[0] if self.hcl is not None else []
        written = getattr(self.hcl, "block", None)
        return plan_blocks(self.resource, self.values, self.unknown, self.expressions, name, self.label, hcl_views,
                           written.body if written is not None else None, self.sensitive)


def plan_blocks(resource: "PlanResource", values: dict[str, Any], unknown: dict[str, Any],
                expressions: dict[str, Any] | None, name: str, label: str,
                hcl_views: list[BlockView], written=None, sensitive: Any = None) -> tuple[list[BlockView], str]:
    """The planned blocks called ``name``. A block the provider computes (after_unknown) that the configuration
    does not write (``written``: the HCL body, to tell a missing block from a `dynamic` one, which the plan's
    configuration does not list) is absent, as an unset computed argument is. ``sensitive`` marks what the plan
    calls sensitive."""
    if unknown.get(name) is True:
        if expressions is not None and name not in expressions and written is not None and not any(
                b.type == "dynamic" and b.labels == [name] for b in written.blocks):
            return [], ""  # computed by the provider and not written in the configuration: absent
        return [], f"{label}.{name} is known only after apply"
    raw = values.get(name)
    if raw is None:
        return [], ""
    items = raw if isinstance(raw, list) else [raw]
    marks = unknown.get(name)
    marks = marks if isinstance(marks, list) else [marks] if isinstance(marks, dict) else []
    exprs = expressions.get(name) if expressions is not None else None
    exprs = exprs if isinstance(exprs, list) else [exprs] if isinstance(exprs, dict) else []
    hidden = _part(sensitive, name)
    out: list[BlockView] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        mark = marks[i] if i < len(marks) and isinstance(marks[i], dict) else {}
        expr = exprs[i] if i < len(exprs) and isinstance(exprs[i], dict) else (None if expressions is None else {})
        hcl = hcl_views[i] if len(hcl_views) == len(items) else None
        part = hidden if hidden is True or not isinstance(raw, list) else _part(hidden, i)
        out.append(PlanBlockView(resource, item, mark, expr, f"{label}.{name}[{i}]", hcl, part))
    return out, ""


def _part(sensitive: Any, key: Any) -> Any:
    """The after_sensitive (or sensitive_values) mirror of one attribute or element: True, a mirror, or None."""
    if sensitive is True:
        return True
    if isinstance(sensitive, dict) and isinstance(key, str):
        return sensitive.get(key)
    if isinstance(sensitive, list) and isinstance(key, int) and 0 <= key < len(sensitive):
        return sensitive[key]
    return None


def _with_unknowns(raw: Any, unknown: Any, origin: Origin, resource: PlanResource, sensitive: Any = None) -> Value:
    """A planned value as a Value: parts after_unknown marks are unknown, parts the plan marks sensitive are."""
    if unknown is True:
        return Value.unknown_because(AfterApply(f"part of {resource.address} is known only after apply"), origin=origin)
    if sensitive is True:
        return _with_unknowns(raw, unknown, origin, resource).marked(SENSITIVE)
    if isinstance(raw, list):
        marks = unknown if isinstance(unknown, list) else []
        return Value([_with_unknowns(v, marks[i] if i < len(marks) else None, origin, resource, _part(sensitive, i))
                      for i, v in enumerate(raw)], origin=origin)
    if isinstance(raw, dict):
        marks = unknown if isinstance(unknown, dict) else {}
        return Value({k: _with_unknowns(v, marks.get(k), origin, resource, _part(sensitive, k))
                      for k, v in raw.items()}, origin=origin)
    if isinstance(raw, float) and not math.isfinite(raw):
        return Value.unknown_because("a number too large for iaclint to compute with", origin=origin)
    return Value(raw, origin=origin)


def _hide_sensitive(data: Any, sensitive: Any) -> Any:
    """Plain data with the parts ``sensitive`` marks replaced by "(sensitive)" (a whole object keeps its keys)."""
    if sensitive is True:
        return {k: SENSITIVE for k in data} if isinstance(data, dict) else SENSITIVE
    if isinstance(data, dict) and isinstance(sensitive, dict):
        return {k: _hide_sensitive(v, sensitive.get(k)) for k, v in data.items()}
    if isinstance(data, list) and isinstance(sensitive, list):
        return [_hide_sensitive(v, sensitive[i] if i < len(sensitive) else None) for i, v in enumerate(data)]
    return data


class PlanGraphBuilder:
    def __init__(self, data: dict[str, Any], source: SourceFile, plan_dir: Path | None, options):
        self.data = data
        self.source = source
        self.plan_dir = plan_dir
        self.options = options
        self.notices: list[str] = []
        self.config_modules: dict[str, _ConfigModule] = {}
        root = (data.get("configuration") or {}).get("root_module")
        self.has_configuration = isinstance(root, dict)
        if self.has_configuration:
            self._index_config("", root)
        self.resources: list[PlanResource] = []
        self.by_local: dict[tuple[str, str, str, str], list[PlanResource]] = {}
        self.module_instances: set[str] = {""}
        self._ref_cache: dict[tuple[str, str], frozenset[str]] = {}
        self._rc_pos = source.text.find('"resource_changes"')
        self._positions: dict[str, tuple[int, int]] | None = None
        self.addresses: set[str] = set()

    # ---- configuration

    def _index_config(self, path: str, module: dict[str, Any]) -> None:
        resources = {}
        for r in module.get("resources") or []:
            resources[(r.get("mode", "managed"), r["type"], r["name"])] = r
        self.config_modules[path] = _ConfigModule(module, resources)
        for call_name, call in (module.get("module_calls") or {}).items():
            child = call.get("module")
            if isinstance(child, dict):
                self._index_config((path + "." if path else "") + f"module.{call_name}", child)

    def config_resource(self, resource: PlanResource) -> dict[str, Any] | None:
        module = self.config_modules.get(resource.config_module_path)
        if module is None:
            return None
        return module.resources.get((resource.mode, resource.type, resource.name))

    def locate_in_plan(self, address: str) -> Span:
        """Where the plan names a resource: its resource_changes entry, else its first mention."""
        if self._positions is None:
            self._positions = self._index_positions()
        start, end = self._positions.get(address, (0, 0))
        return Span(self.source.path, start, end)

    def _index_positions(self) -> dict[str, tuple[int, int]]:
        """Every `"address": "..."` in the plan text, found in one pass (not one regex per resource)."""
        after: dict[str, tuple[int, int]] = {}
        before: dict[str, tuple[int, int]] = {}
        for match in _ADDRESS.finditer(self.source.text):
            try:
                address = json.loads(match.group(1))
            except ValueError:
                continue
            table = after if match.start() >= self._rc_pos >= 0 else before
            table.setdefault(address, (match.start(), match.end()))
        return {**before, **after}

    # ---- references

    def references_of(self, resource: PlanResource, name: str) -> frozenset[str]:
        key = (resource.address, name)
        if key in self._ref_cache:
            return self._ref_cache[key]
        self._ref_cache[key] = frozenset()
        refs: set[str] = set()
        expressions = resource.expressions or {}
        expr = expressions.get(name)
        if isinstance(expr, dict):
            refs |= self._resolve(resource.module_address, resource.config_module_path,
                                  _references(expr), 0)
        if not refs and resource.hcl_resource is not None:
            # references through locals are not in the plan's configuration; the source has them
            hcl_view = resource.hcl_resource.attr(name)
            if hcl_view.value is not None:
                refs |= {r for r in hcl_view.value.all_refs() if r in self.addresses}
        result = frozenset(refs)
        self._ref_cache[key] = result
        return result

    def expression_references(self, resource: PlanResource, expr: Any) -> frozenset[str]:
        """Resources a nested block's configured expression refers to."""
        if not isinstance(expr, dict):
            return frozenset()
        return frozenset(self._resolve(resource.module_address, resource.config_module_path,
                                       _references(expr), 0))

    def _resolve(self, instance: str, config_path: str, references: list[str], depth: int) -> set[str]:
        out: set[str] = set()
        if depth > 8:
            return out
        module = self.config_modules.get(config_path)
        for ref in references:
            parts = _address_parts(ref)
            head = parts[0]
            if head == "var" and len(parts) > 1 and instance:
                parent, call_name, parent_path = self._parent(instance)
                call = ((self.config_modules.get(parent_path) or _ConfigModule({}, {})).data.get("module_calls")
                        or {}).get(call_name) or {}
                expr = (call.get("expressions") or {}).get(parts[1])
                if isinstance(expr, dict):
                    out |= self._resolve(parent, parent_path, _references(expr), depth + 1)
            elif head == "module" and len(parts) > 1 and module is not None:
                call_name = _INDEX.sub("", parts[1])
                child_path = (config_path + "." if config_path else "") + f"module.{call_name}"
                child = self.config_modules.get(child_path)
                if child is None or len(parts) < 3:
                    continue
                outputs = child.data.get("outputs")
                output = outputs.get(_INDEX.sub("", parts[2])) if isinstance(outputs, dict) else None
                expr = output.get("expression") if isinstance(output, dict) else None
                expr = expr if isinstance(expr, dict) else {}
                call_prefix = (instance + "." if instance else "") + f"module.{parts[1]}"
                for child_instance in sorted(self.module_instances):
                    exact = child_instance == call_prefix
                    keyed = ("[" not in parts[1] and child_instance.startswith(call_prefix + "[")
                             and strip_keys(child_instance) == strip_keys(call_prefix))
                    if exact or keyed:
                        out |= self._resolve(child_instance, child_path, _references(expr), depth + 1)
            elif head == "data" and len(parts) > 2:
                out |= self._match(instance, "data", parts[1], parts[2])
            elif head in ("each", "count", "path", "terraform", "self", "local", "var"):
                continue
            elif len(parts) > 1:
                out |= self._match(instance, "managed", head, parts[1])
        return out

    def _parent(self, instance: str) -> tuple[str, str, str]:
        """'module.a["x"].module.b' -> ('module.a["x"]', 'b', 'module.a')."""
        parts = _address_parts(instance)
        last = parts[-1]
        parent_instance = ".".join(parts[:-2])
        parent_path = strip_keys(parent_instance)
        return parent_instance, _INDEX.sub("", last), parent_path

    def _match(self, instance: str, mode: str, type_: str, name_with_index: str) -> set[str]:
        name = _INDEX.sub("", name_with_index)
        index = name_with_index[len(name):]
        found = self.by_local.get((instance, mode, type_, name), [])
        if index:
            exact = [r.address for r in found if r.address.endswith(index)]
            if exact:
                return set(exact)
        return {r.address for r in found}

    # ---- build

    def build(self) -> Graph:
        seen: set[str] = set()
        for change in self.data.get("resource_changes") or []:
            if change.get("deposed"):
                continue  # a deposed object is an old copy being cleaned up, not the resource
            resource = PlanResource(self, change, change.get("change") or {}, None)
            self._add(resource, seen)
        for values_root in self._value_roots():
            for entry in self._walk_values(values_root):
                if entry["address"] in seen:
                    continue
                if entry.get("mode", "managed") != "data" and self.data.get("resource_changes"):
                    continue
                values = entry.get("values") if isinstance(entry.get("values"), dict) else {}
                self._add(PlanResource(self, entry, None, values, entry.get("sensitive_values")), seen)
        for values_root in self._value_roots():
            self._collect_module_instances(values_root)
        self.addresses = {r.address for r in self.resources}
        companion = self._attach_configuration()
        sources = {self.source.path: self.source}
        if companion is not None:
            sources.update(companion.sources)
        root_dir = companion.root_dir if companion is not None else (display_path(self.plan_dir) if self.plan_dir else ".")
        files = [self.source.path] + (companion.files_checked if companion is not None else [])
        graph = Graph(list(self.resources), sources, list(companion.diagnostics) if companion else [], files, "plan",
                      root_dir, self.notices, companion)
        constraints: dict[str, list[tuple[str, str, str]]] = {}
        for key, entry in (_provider_config(self.data)).items():
            if not isinstance(entry, dict) or not entry.get("version_constraint") or ":" in key:
                continue
            constraint, name = entry["version_constraint"], entry.get("name") or key.split(".")[0]
            if not isinstance(constraint, str) or not isinstance(name, str):
                self.notices.append(f"{self.source.path}: configuration.provider_config.{key}: version_constraint "
                                    "and name should be strings; this entry is ignored")
                continue
            constraints.setdefault(name, []).append(("", constraint, f"{self.source.path} provider_config {key}"))
        plan_dir = self.plan_dir or Path(".")
        tree = getattr(self.options, "tree", None) or Tree.of(tree_of(plan_dir))
        from_plan = provider_versions(plan_dir, [], {}, tree, constraints)
        graph.providers = dict(from_plan)
        if companion is not None:
            graph.files_read = companion.files_read
        graph.places = self._provider_places()
        graph.accounts = {name: set(p.accounts) for name, p in graph.places.items() if p.accounts}
        if companion is not None:
            mine = graph.places  # the plan's own constants win over what the configuration evaluates to
            graph.places = {**companion.places, **{k: p for k, p in mine.items() if p.region is not None}}
            graph.accounts = {**graph.accounts, **companion.accounts}
            for name, info in companion.providers.items():
                if info.major is not None or name not in from_plan or from_plan[name].major is None:
                    graph.providers[name] = info
            companion.providers = graph.providers  # fixes are verified against the configuration
        return graph

    def _provider_places(self) -> dict[str, Any]:
        """Region and pinned accounts of the root provider configurations, from their constant expressions."""
        from iaclint.graph.placement import PROVIDER_ARGUMENTS, provider_place

        out = {}
        for key, entry in (_provider_config(self.data)).items():
            if not isinstance(entry, dict) or ":" in key:
                continue
            expressions = entry.get("expressions") if isinstance(entry.get("expressions"), dict) else {}
            values: dict[str, Value | None] = {}
            for name in PROVIDER_ARGUMENTS:
                values[name] = _constant(expressions.get(name), f"provider {key} {name}")
            roles = expressions.get("assume_role")
            if isinstance(roles, list) and roles and isinstance(roles[0], dict):
                values["role_arn"] = _constant(roles[0].get("role_arn"), f"provider {key} role_arn")
            out[key] = provider_place(values, key)
        return out

    def _add(self, resource: PlanResource, seen: set[str]) -> None:
        seen.add(resource.address)
        self.resources.append(resource)
        self.module_instances.add(resource.module_address)
        key = (resource.module_address, resource.mode, resource.type, resource.name)
        self.by_local.setdefault(key, []).append(resource)

    def _value_roots(self) -> list[dict[str, Any]]:
        roots = []
        planned = (self.data.get("planned_values") or {}).get("root_module")
        if isinstance(planned, dict):
            roots.append(planned)
        prior = ((self.data.get("prior_state") or {}).get("values") or {}).get("root_module")
        if isinstance(prior, dict):
            roots.append(prior)
        return roots

    def _walk_values(self, module: dict[str, Any]):
        for entry in module.get("resources") or []:
            yield entry
        for child in module.get("child_modules") or []:
            yield from self._walk_values(child)

    def _collect_module_instances(self, module: dict[str, Any]) -> None:
        if module.get("address"):
            address = module["address"]
            parts = _address_parts(address)
            for i in range(2, len(parts) + 1, 2):
                self.module_instances.add(".".join(parts[:i]))
        for child in module.get("child_modules") or []:
            self._collect_module_instances(child)

    # ---- back to the source

    def _attach_configuration(self) -> Graph | None:
        config_dir = self._find_config_dir()
        if config_dir is None:
            self.notices.append(f"{self.source.path}: no Terraform configuration found for this plan, so findings "
                                "point into the plan file (use --config-dir to name the configuration directory)")
            return None
        tree = getattr(self.options, "tree", None)
        workspace = resolve_workspace(config_dir, getattr(self.options, "workspace", None), self.options.environ, tree,
                                      getattr(self.options, "default_workspace", None), "the settings' workspace")
        inputs = collect_inputs(config_dir, list(self.options.var_files), list(self.options.cli_vars),
                                self.options.environ, self.options.overlay, tree, workspace)
        declared = (self.config_modules.get("") or _ConfigModule({}, {})).data.get("variables")
        declared = declared if isinstance(declared, dict) else {}
        for name, entry in (self.data.get("variables") or {}).items():
            if name not in inputs.values and isinstance(entry, dict) and "value" in entry:
                origin = Origin(OriginKind.CLI_VAR, None, f'value of "{name}" given to terraform plan', name)
                value = from_python(entry["value"], origin)
                declaration = declared.get(name)
                if isinstance(declaration, dict) and declaration.get("sensitive"):
                    value = value.marked(SENSITIVE)
                inputs.values[name] = value
        loader = ConfigLoader(self.options.overlay, make_cache(getattr(self.options, "cache", True)), tree)
        opentofu, reading = opentofu_reading(config_dir, getattr(self.options, "opentofu", None), loader.confinement(config_dir))
        if reading:
            self.notices.append(reading)
        companion = build_hcl_graph(config_dir, inputs, loader, limits=getattr(self.options, "limits", DEFAULT_LIMITS),
                                    opentofu=opentofu)
        by_address = companion.by_address
        by_config: dict[str, list[Resource]] = {}
        for r in companion.resources:
            by_config.setdefault(r.config_address, []).append(r)
        unmapped = 0
        for resource in self.resources:
            hcl = by_address.get(resource.address)
            if hcl is None:
                candidates = by_config.get(resource.config_address)
                hcl = candidates[0] if candidates else None
            if hcl is not None:
                resource.attach_source(hcl)
            elif resource.plan_actions and tuple(resource.plan_actions) not in (("delete",), ("forget",)):
                unmapped += 1
        if unmapped:
            self.notices.append(f"{self.source.path}: {plural(unmapped, 'planned resource')} "
                                f"{'was' if unmapped == 1 else 'were'} not found in {companion.root_dir}; "
                                f"{'its' if unmapped == 1 else 'their'} findings point into the plan file")
        return companion

    def _find_config_dir(self) -> Path | None:
        explicit = getattr(self.options, "config_dir", None)
        if explicit:
            path = Path(explicit)
            if not path.is_dir():
                raise PlanError(f"--config-dir {explicit}: not a directory")
            if not self._matches(path):
                self.notices.append(f"--config-dir {explicit} does not look like this plan's configuration")
            return path
        candidates = [self.plan_dir] if self.plan_dir is not None else []
        candidates.append(Path("."))
        for candidate in candidates:
            if candidate is not None and terraform_files(candidate, None) and self._matches(candidate):
                return candidate
        return None

    def _matches(self, directory: Path) -> bool:
        root = self.config_modules.get("")
        if root is None:
            return bool(terraform_files(directory, None))
        tree = getattr(self.options, "tree", None)
        opentofu, _ = opentofu_reading(directory, getattr(self.options, "opentofu", None),
                                       tree or Tree.of(tree_of(directory)))
        config = ConfigLoader(tree=tree).module(directory, opentofu=opentofu)
        planned = set(root.resources)
        calls = set((root.data.get("module_calls") or {}).keys())
        if not planned and not calls:
            return True
        return bool(planned & set(config.resources)) or bool(calls & set(config.module_calls))


def _references(expression: dict[str, Any]) -> list[str]:
    """An expression's `references`, as far as they are strings in a list (hand-made plans have anything there)."""
    found = expression.get("references")
    return [r for r in found if isinstance(r, str) and r] if isinstance(found, list) else []


def _constant(expression: Any, label: str) -> Value | None:
    """A provider argument from the plan's configuration: its constant, else unknown (a reference)."""
    if not isinstance(expression, dict):
        return None
    origin = Origin(OriginKind.EXPRESSION, None, label)
    if "constant_value" in expression:
        return from_python(expression["constant_value"], origin)
    refs = ", ".join(str(r) for r in expression.get("references") or []) or "an expression"
    return Value.unknown_because(f"it is computed from {refs}", origin=origin)


def _provider_config(data: dict[str, Any]) -> dict[str, Any]:
    """configuration.provider_config, or {} when a hand-made or damaged plan has something else there."""
    configuration = data.get("configuration")
    found = configuration.get("provider_config") if isinstance(configuration, dict) else None
    return found if isinstance(found, dict) else {}
