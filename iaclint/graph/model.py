"""The resource graph rules ask questions of, whether it was built from HCL or from a plan."""

from __future__ import annotations

from iaclint.model import Location, Record, Span, ValueRecord

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Iterable, Iterator

    from iaclint.eval.values import Value
    from iaclint.source import SourceFile


class Diagnostic(Record):
    """A problem with the input itself (a file that does not parse); reported as a PARSE finding."""

    __slots__ = ("file", "line", "column", "message", "rule_id")
    _shown = __slots__

    def __init__(self, file: str, line: int, column: int, message: str, rule_id: str = "PARSE"):
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.rule_id = rule_id


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


class CallSite(Record):
    """A module block through which a resource was instantiated, outermost first."""

    __slots__ = ("span", "label")
    _shown = __slots__

    def __init__(self, span: Span, label: str):
        self.span = span
        self.label = label


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


class Edge(Record):
    """A reference from one resource to another, kept for related locations."""

    __slots__ = ("source", "attribute", "target")
    _shown = __slots__

    def __init__(self, source: str, attribute: str, target: str):
        self.source = source
        self.attribute = attribute
        self.target = target


class Graph(Record):
    """Everything rules look at for one root module or plan: resources, sources, providers.

    Not slotted: checks keep their per-graph indexes in its __dict__ (checks/estate.py, checks/policy.py).
    """

    _shown = ("resources", "sources", "diagnostics", "files_checked", "kind", "root_dir", "notices", "hcl_companion",
              "blocks", "providers", "base_ref", "new_since_base", "base_notes", "moves", "imports", "unread_modules",
              "workspace", "opentofu", "accounts", "places", "files_read", "module_calls", "downloaded_files",
              "verdicts")

    def __init__(self, resources: list[Resource], sources: dict[str, SourceFile],
                 diagnostics: list[Diagnostic] | None = None, files_checked: list[str] | None = None,
                 kind: str = "hcl", root_dir: str = ".", notices: list[str] | None = None,
                 hcl_companion: "Graph | None" = None, blocks: dict | None = None, providers: dict | None = None,
                 base_ref: str | None = None, new_since_base: set | None = None, base_notes: dict | None = None,
                 moves: list | None = None, imports: list | None = None, unread_modules: list | None = None,
                 workspace: object = None, opentofu: bool = False, accounts: dict | None = None,
                 places: dict | None = None, files_read: set | None = None, module_calls: list | None = None,
                 downloaded_files: set | None = None, verdicts: tuple | None = None):
        self.resources = resources
        self.sources = sources
        self.diagnostics = [] if diagnostics is None else diagnostics
        self.files_checked = [] if files_checked is None else files_checked
        self.kind = kind
        self.root_dir = root_dir
        self.notices = [] if notices is None else notices
        self.hcl_companion = hcl_companion  # for plans: the configuration graph, when found
        self.blocks = {} if blocks is None else blocks  # file -> its top-level ast.Blocks (for suppression comments)
        self.providers = {} if providers is None else providers  # provider name ("aws") -> ProviderVersion
        self.base_ref = base_ref  # --base: the git revision compared with
        self.new_since_base = set() if new_since_base is None else new_since_base  # addresses not at base_ref
        # address -> why --base counts it as existing (moved, ...)
        self.base_notes = {} if base_notes is None else base_notes
        self.moves = [] if moves is None else moves  # (from, to) absolute addresses of every moved block
        self.imports = [] if imports is None else imports  # addresses import blocks adopt ([*]: any instance key)
        # module instances whose contents could not be read
        self.unread_modules = [] if unread_modules is None else unread_modules
        self.workspace = workspace  # graph.inputs.Workspace terraform.workspace was read as (HCL graphs)
        self.opentofu = opentofu  # read as OpenTofu reads a configuration
        # root provider configuration -> account ids it is pinned to
        self.accounts = {} if accounts is None else accounts
        self.places = {} if places is None else places  # root provider configuration -> placement.ProviderPlace
        # absolute paths file(), templatefile(), fileexists() and fileset() resolved inside the repository (read
        # or not): a change to one of them changes what this root evaluates to
        self.files_read = set() if files_read is None else files_read
        # the module blocks rules of mode `module` judge (MOD001)
        self.module_calls = [] if module_calls is None else module_calls
        # files of downloaded modules: read, never edited
        self.downloaded_files = set() if downloaded_files is None else downloaded_files
        # while fix verifies edits: every (rule id, address, verdict) the root's rules gave, and the (rule id,
        # address) pairs another rule's problem masks (engine/runner.run_rules)
        self.verdicts = verdicts
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
        """Where a span is, in lines and columns; one Location per place (never changed once made): the instances
        of one block are found at the same places, thousands of times over."""
        source = self.sources.get(span.file)
        if source is None:
            return Location(span.file, 1, 1, 1, 1)
        located = self.__dict__.get("_located")
        if located is None:
            located = self.__dict__["_located"] = {}
        key = (span.file, span.start, span.end)
        known = located.get(key)
        if known is not None and known[0] is source:
            return known[1]
        line, col = source.line_col(span.start)
        end_line, end_col = source.line_col(span.end)
        location = Location(span.file, line, col, end_line, end_col)
        located[key] = (source, location)
        return location
