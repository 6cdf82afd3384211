"""The resource graph rules ask questions of, whether it was built from HCL or from a plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from iaclint.eval.values import Value
from iaclint.model import Location, Span, ValueRecord
from iaclint.source import SourceFile


@dataclass
class Diagnostic:
    """A problem with the input itself (a file that does not parse); reported as a PARSE finding."""

    file: str
    line: int
    column: int
    message: str
    rule_id: str = "PARSE"


class AttrView(ValueRecord):
    """One attribute of a resource as rules see it: whether it is set, and what it evaluates to."""

    # An HCL attribute keeps its syntax node and makes its spans when asked (a span per evaluated
    # attribute adds up in a large file); a plan attribute has spans of its own.
    __slots__ = ("name", "present", "value", "_span", "_value_span", "node")

    def __init__(self, name: str, present: bool, value: Value | None, span: Span | None,
                 value_span: Span | None = None, node=None):
        self.name = name
        self.present = present
        self.value = value
        self._span = span
        self._value_span = value_span
        self.node = node  # the ast.Attribute, for HCL

    @classmethod
    def written(cls, name: str, value: Value, node) -> "AttrView":
        """An attribute set in HCL, located by its ast.Attribute."""
        return cls(name, True, value, None, None, node)

    @property
    def span(self) -> Span | None:
        """The attribute (name = value), or None when absent."""
        return self.node.span if self.node is not None else self._span

    @property
    def value_span(self) -> Span | None:
        return self.node.expr.span if self.node is not None else self._value_span

    @property
    def is_set(self) -> bool:
        """Set to something other than null (Terraform treats null as omitted)."""
        return self.present and self.value is not None and not self.value.is_null


@dataclass
class CallSite:
    """A module block through which a resource was instantiated, outermost first."""

    span: Span
    label: str


class BlockView:
    """One nested block of a resource (server_side_encryption, replica, rule): attributes like a resource."""

    span: Span | None  # the block, for locating findings
    label: str  # 'replica["eu-west-1"]', for messages

    def attr(self, name: str) -> AttrView:
        raise NotImplementedError

    def nested(self, name: str) -> "tuple[list[BlockView], str]":
        return [], ""


class Resource:
    """A resource or data source instance. Subclasses read values from HCL or from a plan."""

    __slots__ = ()  # so that HclResource's slots are its only storage

    address: str
    config_address: str
    mode: str
    type: str
    name: str
    key: object
    module_address: str
    header_span: Span | None
    block_span: Span | None
    call_sites: list[CallSite]
    source_kind: str = "hcl"
    plan_actions: tuple[str, ...] | None = None
    not_editable: str = ""  # why fixes cannot edit this resource's source, when they cannot

    def attr(self, name: str) -> AttrView:
        raise NotImplementedError

    def attribute_names(self) -> list[str]:
        raise NotImplementedError

    def peek_value(self, name: str) -> Value | None:
        """An attribute's value for a walk over every attribute; HCL resources do not keep the ones no
        rule asked for (a large file's unasked attributes would otherwise all stay evaluated)."""
        return self.attr(name).value

    def nested(self, name: str) -> tuple[list[BlockView], str]:
        """The nested blocks called ``name``, or ([], reason) when how many there are is unknown."""
        return [], ""

    def provider_ref(self) -> str:
        """The root-level provider configuration this resource uses: "aws" or "aws.west"."""
        return self.type.split("_", 1)[0]

    def rests_on_workspace(self) -> bool:
        """Whether this instance exists because of the workspace assumed (its count or for_each read it)."""
        return False

    def creation_doubt(self) -> tuple[str, bool] | None:
        """None when this instance surely exists; else why it may not (a count or for_each that is not known)
        and whether at least one instance of it surely does."""
        return None

    def references(self, name: str | None = None) -> frozenset[str]:
        """Addresses of the resources an attribute (or any attribute) depends on."""
        names = [name] if name else self.attribute_names()
        refs: frozenset[str] = frozenset()
        for n in names:
            view = self.attr(n)
            if view.value is not None:
                refs |= view.value.all_refs()
        return refs

    def __repr__(self) -> str:
        return f"<{self.source_kind} {self.address}>"


@dataclass
class Edge:
    """A reference from one resource to another, kept for related locations."""

    source: str
    attribute: str
    target: str


@dataclass
class Graph:
    """Everything rules look at for one root module or plan: resources, sources, providers."""

    resources: list[Resource]
    sources: dict[str, SourceFile]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_checked: list[str] = field(default_factory=list)
    kind: str = "hcl"
    root_dir: str = "."
    notices: list[str] = field(default_factory=list)
    hcl_companion: "Graph | None" = None  # for plans: the configuration graph, when found
    blocks: dict = field(default_factory=dict)  # file -> its top-level ast.Blocks (for suppression comments)
    providers: dict = field(default_factory=dict)  # provider name ("aws") -> ProviderVersion
    base_ref: str | None = None  # --base: the git revision compared with
    new_since_base: set = field(default_factory=set)  # addresses that do not exist at base_ref
    base_notes: dict = field(default_factory=dict)  # address -> why --base counts it as existing (moved, ...)
    moves: list = field(default_factory=list)  # (from, to) absolute addresses of every moved block
    imports: list = field(default_factory=list)  # addresses import blocks adopt ([*]: any instance key)
    unread_modules: list = field(default_factory=list)  # module instances whose contents could not be read
    workspace: object = None  # graph.inputs.Workspace terraform.workspace was read as (HCL graphs)
    opentofu: bool = False  # read as OpenTofu reads a configuration
    accounts: dict = field(default_factory=dict)  # root provider configuration -> account ids it is pinned to
    places: dict = field(default_factory=dict)  # root provider configuration -> placement.ProviderPlace
    # absolute paths file(), templatefile(), fileexists() and fileset() resolved inside the repository (read
    # or not): a change to one of them changes what this root evaluates to
    files_read: set = field(default_factory=set)
    module_calls: list = field(default_factory=list)  # the module blocks rules of mode `module` judge (MOD001)
    downloaded_files: set = field(default_factory=set)  # files of downloaded modules: read, never edited
    # while fix verifies edits: every (rule id, address, verdict) the root's rules gave, and the (rule id,
    # address) pairs another rule's problem masks (engine/runner.run_rules)
    verdicts: tuple | None = None

    def __post_init__(self) -> None:
        self.by_address: dict[str, Resource] = {r.address: r for r in self.resources}
        self._by_type: dict[str, list[Resource]] = {}
        self._typed_count = -1
        self._positions: dict[int, int] | None = None  # id -> index, for queries over several types

    def resource(self, address: str) -> Resource | None:
        return self.by_address.get(address)

    def _type_index(self) -> dict[str, list[Resource]]:
        if self._typed_count != len(self.resources):
            self._by_type = {}
            for r in self.resources:
                self._by_type.setdefault(r.type, []).append(r)
            self._typed_count = len(self.resources)
            self._positions = None
        return self._by_type

    def resource_types(self) -> Iterable[str]:
        """The types the graph has resources of (from the index: the run's rules are looked up by type)."""
        return self._type_index().keys()

    def has_type(self, types: list[str]) -> bool:
        """Whether any resource has one of these types (from the index: the runner skips a rule at once)."""
        index = self._type_index()
        return any(t in index for t in types)

    def of_type(self, *types: str) -> Iterator[Resource]:
        """In configuration order. Indexed once: rules ask this per resource, so a scan would be quadratic."""
        self._type_index()
        if len(types) == 1:
            return iter(self._by_type.get(types[0], ()))
        lists = [found for t in dict.fromkeys(types) if (found := self._by_type.get(t))]
        if len(lists) <= 1:
            return iter(lists[0] if lists else ())
        if self._positions is None:
            self._positions = {id(r): i for i, r in enumerate(self.resources)}
        positions = self._positions
        return iter(sorted((r for found in lists for r in found), key=lambda r: positions[id(r)]))

    def managed(self) -> Iterator[Resource]:
        return (r for r in self.resources if r.mode == "managed")

    def referenced(self, refs: Iterable[str]) -> list[Resource]:
        out = []
        for ref in sorted(refs):
            node = self.by_address.get(ref)
            if node is not None:
                out.append(node)
        return out

    def referenced_by(self, resource: Resource, attribute: str) -> list[Resource]:
        """Which resources does this attribute refer to (directly or through locals, vars, modules)?"""
        view = resource.attr(attribute)
        if view.value is None:
            return []
        return self.referenced(view.value.all_refs())

    def edges(self) -> list[Edge]:
        out = []
        for res in self.resources:
            for name in res.attribute_names():
                for target in sorted(res.references(name)):
                    if target in self.by_address and target != res.address:
                        out.append(Edge(res.address, name, target))
        return out

    def location(self, span: Span) -> Location:
        source = self.sources.get(span.file)
        if source is None:
            return Location(span.file, 1, 1, 1, 1)
        line, col = source.line_col(span.start)
        end_line, end_col = source.line_col(span.end)
        return Location(span.file, line, col, end_line, end_col)
