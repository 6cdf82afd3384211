"""Is a datastore encrypted at rest, and with which key? One answer that every rule shares.

Encryption is often not written on the resource that has it: a read replica, a restore, a
snapshot, a snapshot copy or a global-cluster member takes it from its source, and some defaults
depend on the engine mode or the provider's major version. `encryption_of` follows those links
through the graph (FACTS.md, FACTS-2.md) and returns a tri-state answer with the reason, the place
that decides it, and the effective key. Rules only choose which part of the answer they judge.
"""

from __future__ import annotations


from iaclint.checks.keys import KeyClass, KeyKind, classify_key
from iaclint.engine.conditions import as_bool
from iaclint.eval.values import Value, render
from iaclint.graph import assumptions, forks
from iaclint.graph.model import BlockView, Graph, Resource
from iaclint.model import Record, Span

FLAG = {
    "aws_rds_cluster": "storage_encrypted",
    "aws_db_instance": "storage_encrypted",
    "aws_docdb_cluster": "storage_encrypted",
    "aws_neptune_cluster": "storage_encrypted",
    "aws_rds_global_cluster": "storage_encrypted",
    "aws_neptune_global_cluster": "storage_encrypted",
    "aws_docdb_global_cluster": "storage_encrypted",
    "aws_efs_file_system": "encrypted",
    "aws_ebs_volume": "encrypted",
    "aws_redshift_cluster": "encrypted",
}

KEY_ATTRIBUTE = {
    "aws_rds_cluster": "kms_key_id",
    "aws_db_instance": "kms_key_id",
    "aws_docdb_cluster": "kms_key_id",
    "aws_neptune_cluster": "kms_key_arn",
    "aws_efs_file_system": "kms_key_id",
    "aws_ebs_volume": "kms_key_id",
    "aws_redshift_cluster": "kms_key_id",
    "aws_db_snapshot_copy": "kms_key_id",
    "aws_rds_cluster_snapshot_copy": "kms_key_id",
    "aws_redshiftserverless_namespace": "kms_key_id",
    "aws_docdbelastic_cluster": "kms_key_id",
    "aws_memorydb_cluster": "kms_key_arn",
    "aws_elasticache_serverless_cache": "kms_key_id",
    "aws_elasticache_replication_group": "kms_key_id",
}

# The key AWS uses when the key argument is omitted on an encrypted resource (FACTS.md "Keys").
DEFAULT_KEY = {
    "aws_rds_cluster": "the AWS managed key aws/rds",
    "aws_db_instance": "the AWS managed key aws/rds",
    "aws_neptune_cluster": "the AWS managed key aws/rds",
    "aws_docdb_cluster": "the AWS managed key DocumentDB uses by default (its alias is unverified, likely aws/rds)",
    "aws_efs_file_system": "the AWS managed key aws/elasticfilesystem",
    "aws_ebs_volume": "the account's default EBS key (the AWS managed key aws/ebs)",
    "aws_redshift_cluster": "an AWS managed or AWS owned key",
    "aws_redshiftserverless_namespace": "an AWS owned or AWS managed key (which one is unverified)",
    "aws_docdbelastic_cluster": "the AWS managed key that DocumentDB creates for the account",
    "aws_memorydb_cluster": "a service managed key",
    "aws_elasticache_serverless_cache": "a service managed key",
    "aws_db_snapshot_copy": "the source snapshot's key",
    "aws_rds_cluster_snapshot_copy": "the source snapshot's key",
    "aws_elasticache_replication_group": "the ElastiCache default (service managed) key",
}

CLUSTERS = ("aws_rds_cluster", "aws_neptune_cluster", "aws_docdb_cluster")
CLUSTER_SNAPSHOTS = {
    # snapshot or copy type -> (attribute naming its source, source types, identifier attributes)
    "aws_db_cluster_snapshot": ("db_cluster_identifier", CLUSTERS, ("cluster_identifier",)),
    "aws_neptune_cluster_snapshot": ("db_cluster_identifier", ("aws_neptune_cluster",), ("cluster_identifier",)),
    "aws_docdb_cluster_snapshot": ("db_cluster_identifier", ("aws_docdb_cluster",), ("cluster_identifier",)),
    "aws_rds_cluster_snapshot_copy": ("source_db_cluster_snapshot_identifier",
                                      ("aws_db_cluster_snapshot", "aws_rds_cluster_snapshot_copy"),
                                      ("db_cluster_snapshot_identifier", "target_db_cluster_snapshot_identifier")),
}
INSTANCE_SNAPSHOTS = {
    "aws_db_snapshot": ("db_instance_identifier", ("aws_db_instance",), ("identifier",)),
    "aws_db_snapshot_copy": ("source_db_snapshot_identifier", ("aws_db_snapshot", "aws_db_snapshot_copy"),
                             ("db_snapshot_identifier", "target_db_snapshot_identifier")),
}
SNAPSHOTS = {**CLUSTER_SNAPSHOTS, **INSTANCE_SNAPSHOTS}
# what a cluster is restored from, by cluster type
RESTORE_SOURCES = {
    "aws_rds_cluster": ("aws_db_cluster_snapshot", "aws_rds_cluster_snapshot_copy"),
    "aws_neptune_cluster": ("aws_neptune_cluster_snapshot", "aws_db_cluster_snapshot"),
    "aws_docdb_cluster": ("aws_docdb_cluster_snapshot", "aws_db_cluster_snapshot"),
    "aws_db_instance": ("aws_db_snapshot", "aws_db_snapshot_copy"),
}
GLOBAL_OF = {"aws_rds_cluster": "aws_rds_global_cluster", "aws_neptune_cluster": "aws_neptune_global_cluster",
             "aws_docdb_cluster": "aws_docdb_global_cluster"}
GLOBALS = tuple(GLOBAL_OF.values())
MAX_DEPTH = 8


class EffectiveKey(Record):
    """The key a resource's data is encrypted with, and the setting that decides it."""

    _shown = ("key", "resource", "attribute", "value", "inherited")

    def __init__(self, key: KeyClass, resource: Resource, attribute: str | None, value: Value | None,
                 inherited: bool = False):
        self.key = key
        self.resource = resource  # whose key argument decides (a source, for an inherited key)
        self.attribute = attribute
        self.value = value
        self.inherited = inherited

    @property
    def kind(self) -> KeyKind:
        return self.key.kind


class Encryption(Record):
    """Encrypted (True), not (False) or unknown (None), why, and where that is decided."""

    _shown = ("state", "reason", "resource", "attribute", "value", "related", "inherited", "fixable", "no_fix_reason",
              "key")

    def __init__(self, state: bool | None, reason: str, resource: Resource, attribute: str | None = None,
                 value: Value | None = None, related: list[tuple[Span, str]] | None = None, inherited: bool = False,
                 fixable: bool = True, no_fix_reason: str = "", key: EffectiveKey | None = None):
        self.state = state
        self.reason = reason
        self.resource = resource  # the resource whose setting decides (itself, or the source it inherits from)
        self.attribute = attribute
        self.value = value
        self.related = [] if related is None else related
        self.inherited = inherited  # the state comes from a source (replica, restore, snapshot, copy, global)
        self.fixable = fixable  # an edit of `attribute` on `resource` would change the state
        self.no_fix_reason = no_fix_reason
        self.key = key  # when encrypted or possibly encrypted

    def inherit(self, text: str, span: Span | None, label: str, fixable: bool = False,
                no_fix_reason: str = "") -> "Encryption":
        """This answer, seen from a resource that inherits it through ``label``."""
        reason = f"{text}, {self.reason}" if self.inherited else f"{text}, which {_state_words(self)}"
        related = ([(span, label)] if span is not None else []) + self.related
        return Encryption(self.state, reason, self.resource, self.attribute, self.value, related, True,
                          fixable and self.fixable, no_fix_reason or self.no_fix_reason,
                          _inherited_key(self.key))


def _state_words(enc: Encryption) -> str:
    if enc.state is True:
        return f"is encrypted ({enc.reason})"
    if enc.state is False:
        return f"is not encrypted ({enc.reason})"
    return f"may or may not be encrypted ({enc.reason})"


def _inherited_key(key: EffectiveKey | None) -> EffectiveKey | None:
    if key is None:
        return None
    return EffectiveKey(key.key, key.resource, key.attribute, key.value, True)


class _Walk:
    """One question's traversal: the graph plus the resources being visited (cycles end as unknown)."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.visiting: list[str] = []


def encryption_of(resource: Resource, graph: Graph) -> Encryption:
    """The encryption at rest of a datastore, replica, restore, snapshot, copy or global cluster.

    Several rules ask it of each resource (EBS001 and EBS002 of every volume): the answer is kept per graph and
    resource (this instance: never another instance of the same block, whose each.key or count.index differs)
    when it rests on nothing a later rule must see being read. An answer that read terraform.workspace, or a
    choice of a conditional whose condition is unknown (graph/forks.py: the runner applies the rule to each
    alternative, and must see the rule read it), is worked out again each time, as is one for an `Assumed`
    view of a resource. Callers do not change the answer they are given."""
    kept = graph.__dict__.setdefault("_encryption_of", {})
    found = kept.get(id(resource))
    if found is not None and found[0] is resource:
        return found[1]
    frame = assumptions.begin()
    try:
        enc = _encryption(resource, _Walk(graph))
    finally:
        on_workspace = assumptions.end(frame)
    watch = forks._WATCH
    if watch is not None and not on_workspace and type(resource) is not forks.Assumed \
            and not any(key[0] == id(resource) for key in watch):
        kept[id(resource)] = (resource, enc)  # the resource itself kept too: its id is never another's
    return enc


def _encryption(resource: Resource, walk: _Walk) -> Encryption:
    if resource.address in walk.visiting:
        return Encryption(None, f"{resource.address} inherits its encryption from itself (a circular reference)",
                          resource, fixable=False)
    if len(walk.visiting) >= MAX_DEPTH:
        return Encryption(None, "the chain of sources is too long to follow", resource, fixable=False)
    walk.visiting.append(resource.address)
    try:
        handler = _HANDLERS.get(resource.type)
        if handler is None:
            return Encryption(None, f"iaclint does not know how {resource.type} is encrypted", resource,
                              fixable=False)
        return handler(resource, walk)
    finally:
        walk.visiting.pop()


# ---- reading settings ----------------------------------------------------------------------


def flag_state(resource: Resource, attribute: str, default: bool | None, default_why: str = "") -> Encryption:
    """The encryption flag as written, or its default; unknown values stay unknown."""
    view = resource.attr(attribute)
    if view.is_set:
        value = view.value
        if not value.known:
            return Encryption(None, f"{attribute} is unknown: {value.unknown}", resource, attribute, value)
        state = as_bool(value.raw)
        if state is None:
            return Encryption(None, f"{attribute} is {render(value)}, not a boolean", resource, attribute, value)
        return Encryption(state, f"{attribute} is {render(value)}", resource, attribute, value)
    unset = f"{attribute} is null" if view.present else f"{attribute} is not set"
    null = view.value if view.present else None
    if default is None:
        return Encryption(None, f"{unset} and {default_why}", resource, attribute, null)
    word = "true" if default else "false"
    why = f", {default_why}" if default_why else ""
    return Encryption(default, f"{unset} (default {word}{why})", resource, attribute, null)


def own_key(resource: Resource, graph: Graph, attribute: str | None = None) -> EffectiveKey | None:
    """The key the resource names itself, or None when it names none."""
    attribute = attribute or KEY_ATTRIBUTE.get(resource.type)
    if attribute is None:
        return None
    if not given(resource, attribute):
        return None
    view = resource.attr(attribute)
    return EffectiveKey(classify_key(view, graph), resource, attribute, view.value)


def default_key(resource: Resource, attribute: str | None = None) -> EffectiveKey:
    """The key used when the key argument is omitted (an AWS managed key, FACTS.md)."""
    attribute = attribute or KEY_ATTRIBUTE.get(resource.type)
    view = resource.attr(attribute) if attribute else None
    what = DEFAULT_KEY.get(resource.type, "an AWS managed key")
    unset = f"{attribute} is not set"
    if view is not None and view.present:
        unset = f'{attribute} is ""' if view.value is not None and view.value.raw == "" else f"{attribute} is null"
    return EffectiveKey(KeyClass(KeyKind.ABSENT, f"{unset}, so {what} is used"), resource, attribute,
                        view.value if view is not None and view.present else None)


def _with_key(enc: Encryption, resource: Resource, graph: Graph, inherited: EffectiveKey | None = None) -> Encryption:
    """Attach the effective key: the resource's own, else the inherited one, else the default."""
    if enc.state is False:
        return enc
    enc.key = own_key(resource, graph) or inherited or default_key(resource)
    return enc


# ---- following references ------------------------------------------------------------------


def follow(resource: Resource, attribute: str, types: tuple[str, ...], identifiers: tuple[str, ...],
           graph: Graph) -> tuple[Resource | None, str]:
    """The resource an argument names, by reference or by a matching identifier; else why not."""
    view = resource.attr(attribute)
    if not given(resource, attribute):
        return None, f"{attribute} is not set"
    value = view.value
    targets = [r for r in graph.referenced(value.all_refs()) if r.type in types and r.mode == "managed"]
    if targets:
        return targets[0], ""
    if value.known and isinstance(value.raw, str):
        wanted = value.raw
        short = wanted.rsplit(":", 1)[-1] if wanted.startswith("arn:") else wanted
        for candidate in graph.of_type(*types):
            if candidate.mode != "managed":
                continue
            for name in identifiers + ("arn",):
                ident = candidate.attr(name).value
                if ident is not None and ident.known and ident.raw in (wanted, short):
                    return candidate, ""
        return None, f"{attribute} is {render(value)}, which is not in this configuration"
    if not value.known:
        return None, f"{attribute} cannot be resolved: {value.unknown}"
    return None, f"{attribute} is {render(value)}"


def given(resource: Resource, attribute: str) -> bool:
    """Set to something the provider sends: not null and not "" (modules default such inputs to "")."""
    view = resource.attr(attribute)
    return view.is_set and not (view.value.known and view.value.raw == "")


# ---- clusters and instances ----------------------------------------------------------------


def _cluster(cluster: Resource, walk: _Walk) -> Encryption:
    graph = walk.graph
    kind = cluster.type
    if given(cluster, "snapshot_identifier"):
        return _restored(cluster, "snapshot_identifier", walk)
    pitr = _first_block(cluster, "restore_to_point_in_time")
    if pitr is not None:
        return _point_in_time(cluster, pitr, "source_cluster_identifier", CLUSTERS, ("cluster_identifier",), walk)
    flag = cluster.attr("storage_encrypted")
    replica = given(cluster, "replication_source_identifier")
    member = given(cluster, "global_cluster_identifier")
    if not flag.is_set and (replica or member):
        if replica:
            source, why = follow(cluster, "replication_source_identifier", CLUSTERS + ("aws_db_instance",),
                                 ("cluster_identifier", "identifier"), graph)
            label = "replica of"
            attribute = "replication_source_identifier"
        else:
            source, why = follow(cluster, "global_cluster_identifier", (GLOBAL_OF[kind],),
                                 ("global_cluster_identifier",), graph)
            label = "member of the global cluster"
            attribute = "global_cluster_identifier"
        if source is None:
            return Encryption(None, f"a {label.split(' of')[0]} takes its encryption from its source when it sets "
                              f"none itself, and {why}", cluster, attribute, cluster.attr(attribute).value,
                              fixable=False)
        inner = _encryption(source, walk)
        enc = inner.inherit(f"{label} {source.address}", source.header_span, f"source {source.address}",
                            no_fix_reason=f"it takes its encryption from {source.address}: encrypt that one")
        enc.resource, enc.attribute, enc.value = cluster, attribute, None
        return _with_key(enc, cluster, walk.graph, enc.key)
    if kind == "aws_rds_cluster":
        mode = cluster.attr("engine_mode")
        if flag.is_set or not mode.is_set:
            enc = flag_state(cluster, "storage_encrypted", False, "engine_mode provisioned")
        elif not mode.value.known:
            enc = flag_state(cluster, "storage_encrypted", None,
                             f"the default depends on engine_mode, which is unknown ({mode.value.unknown})")
            enc.attribute, enc.value = "engine_mode", mode.value
        elif mode.value.raw == "serverless":
            enc = flag_state(cluster, "storage_encrypted", True, 'engine_mode "serverless" (Serverless v1)')
        else:
            enc = flag_state(cluster, "storage_encrypted", False, f"engine_mode {render(mode.value)}")
    else:
        enc = flag_state(cluster, "storage_encrypted", False)
    return _with_key(enc, cluster, walk.graph)


def _restored(resource: Resource, attribute: str, walk: _Walk) -> Encryption:
    """A restore from a snapshot: encrypted with kms_key_id where the service applies it, else as the snapshot."""
    graph = walk.graph
    kind = resource.type
    key = own_key(resource, graph)
    flag = resource.attr(FLAG.get(kind, "storage_encrypted"))
    ignored = ""
    if flag.is_set and flag.value.known and as_bool(flag.value.raw) is True:
        ignored = f"; {flag.name} = true is not applied when restoring from a snapshot"
    if kind == "aws_rds_cluster" and key is not None:
        enc = Encryption(True, f"restored from a snapshot with {key.attribute} set, which encrypts the restored "
                         "cluster", resource, key.attribute, key.value)
        enc.key = key
        return enc
    how = ("set kms_key_id on the restore to encrypt it" if kind == "aws_rds_cluster" else
           "copy the snapshot with a KMS key (aws_db_snapshot_copy) and restore from the copy"
           if kind == "aws_db_instance" else
           "a cluster snapshot copy cannot add encryption; restore the cluster with a KMS key if the service "
           "allows it, or export and import the data into an encrypted cluster")
    no_fix = f"a restore takes its encryption from the snapshot: {how}"
    snapshot, why = follow(resource, attribute, RESTORE_SOURCES[kind],
                           ("db_cluster_snapshot_identifier", "db_snapshot_identifier",
                            "target_db_cluster_snapshot_identifier", "target_db_snapshot_identifier"), graph)
    view = resource.attr(attribute)
    if snapshot is None:
        return Encryption(None, f"restored from a snapshot that is not in this configuration ({why}); a restore "
                          f"inherits the snapshot's encryption{ignored}", resource, attribute, view.value,
                          fixable=False, no_fix_reason=no_fix)
    inner = _encryption(snapshot, walk)
    enc = inner.inherit(f"restored from {snapshot.address}", snapshot.header_span, f"restored from {snapshot.address}",
                        no_fix_reason=no_fix)
    enc.reason += ignored
    if key is not None and kind in ("aws_neptune_cluster", "aws_docdb_cluster") and enc.state is False:
        enc.state = None
        enc.reason += (f"; whether {key.attribute} given on restore encrypts an unencrypted snapshot is unverified "
                       "for this service")
    enc.resource, enc.attribute, enc.value = resource, attribute, None
    enc.fixable = False
    enc.no_fix_reason = no_fix
    if kind == "aws_db_instance" and key is not None and enc.state is not False:
        enc.reason += "; kms_key_id is not sent when restoring an instance from a snapshot"
        enc.key = enc.key  # the snapshot's key
        return enc
    return _with_key(enc, resource, walk.graph, enc.key)


def _point_in_time(resource: Resource, block: BlockView, attribute: str, types: tuple[str, ...],
                   identifiers: tuple[str, ...], walk: _Walk) -> Encryption:
    key = own_key(resource, walk.graph)
    if resource.type == "aws_rds_cluster" and key is not None:
        enc = Encryption(True, f"restored to a point in time with {key.attribute} set", resource, key.attribute,
                         key.value)
        enc.key = key
        return enc
    view = block.attr(attribute)
    if not view.is_set:
        return Encryption(None, f"restored to a point in time of a source named otherwise than by {attribute}",
                          resource, fixable=False)
    targets = [r for r in walk.graph.referenced(view.value.all_refs()) if r.type in types]
    if not targets:
        return Encryption(None, f"restored to a point in time of {render(view.value)}, which is not in this "
                          "configuration; the restore inherits its encryption", resource, fixable=False,
                          no_fix_reason="a point-in-time restore takes its encryption from its source")
    inner = _encryption(targets[0], walk)
    enc = inner.inherit(f"restored to a point in time of {targets[0].address}", targets[0].header_span,
                        f"source {targets[0].address}")
    enc.resource, enc.attribute, enc.value = resource, None, None
    return _with_key(enc, resource, walk.graph, enc.key)


def _instance(instance: Resource, walk: _Walk) -> Encryption:
    graph = walk.graph
    if given(instance, "replicate_source_db"):
        source, why = follow(instance, "replicate_source_db", ("aws_db_instance",), ("identifier",), graph)
        view = instance.attr("replicate_source_db")
        if source is None:
            return Encryption(None, f"a read replica takes its encryption from its source, and {why}", instance,
                              "replicate_source_db", view.value, fixable=False,
                              no_fix_reason="a read replica takes its encryption from its source")
        inner = _encryption(source, walk)
        enc = inner.inherit(f"read replica of {source.address}", source.header_span, f"source {source.address}",
                            no_fix_reason=f"a read replica takes its encryption from its source: encrypt "
                                          f"{source.address}")
        enc.resource, enc.attribute, enc.value = instance, "replicate_source_db", None
        return _with_key(enc, instance, walk.graph, enc.key)
    if given(instance, "snapshot_identifier"):
        return _restored(instance, "snapshot_identifier", walk)
    pitr = _first_block(instance, "restore_to_point_in_time")
    if pitr is not None:
        return _point_in_time(instance, pitr, "source_db_instance_identifier", ("aws_db_instance",),
                              ("identifier",), walk)
    return _with_key(flag_state(instance, "storage_encrypted", False), instance, walk.graph)


def _first_block(resource: Resource, name: str) -> BlockView | None:
    blocks, _ = resource.nested(name)
    return blocks[0] if blocks else None


def _global(cluster: Resource, walk: _Walk) -> Encryption:
    flag = cluster.attr("storage_encrypted")
    if flag.is_set and flag.value.known and as_bool(flag.value.raw) is True:
        return flag_state(cluster, "storage_encrypted", False)
    if given(cluster, "source_db_cluster_identifier"):
        source, why = follow(cluster, "source_db_cluster_identifier", CLUSTERS, ("cluster_identifier",), walk.graph)
        view = cluster.attr("source_db_cluster_identifier")
        if source is None:
            return Encryption(None, f"created from a cluster that takes part in its encryption, and {why}", cluster,
                              "source_db_cluster_identifier", view.value, fixable=False)
        inner = _encryption(source, walk)
        enc = inner.inherit(f"created from {source.address}", source.header_span, f"source {source.address}",
                            no_fix_reason=f"the global cluster takes its encryption from {source.address}")
        enc.resource, enc.attribute, enc.value = cluster, "source_db_cluster_identifier", view.value
        return enc
    return flag_state(cluster, "storage_encrypted", False)


# ---- snapshots and copies ------------------------------------------------------------------


def _snapshot(snapshot: Resource, walk: _Walk) -> Encryption:
    attribute, types, identifiers = SNAPSHOTS[snapshot.type]
    graph = walk.graph
    key = own_key(snapshot, graph) if snapshot.type in ("aws_db_snapshot_copy", "aws_rds_cluster_snapshot_copy") else None
    if snapshot.type == "aws_db_snapshot_copy" and key is not None:
        enc = Encryption(True, f"the copy is encrypted with {key.attribute}", snapshot, key.attribute, key.value)
        enc.key = key
        return enc
    source, why = follow(snapshot, attribute, types, identifiers, graph)
    view = snapshot.attr(attribute)
    if source is None:
        return Encryption(None, f"its source cannot be checked: {why}", snapshot, attribute,
                          view.value if view.present else None, fixable=False,
                          no_fix_reason="its encryption comes from a source outside this configuration")
    inner = _encryption(source, walk)
    noun = "a copy of" if snapshot.type.endswith("_copy") else "a snapshot of"
    enc = inner.inherit(f"{noun} {source.address}", source.header_span, f"source {source.address}", fixable=True)
    if snapshot.type == "aws_rds_cluster_snapshot_copy" and key is not None and enc.state is not False:
        enc.key = key
    return enc


# ---- other datastores ----------------------------------------------------------------------


def _redshift(cluster: Resource, walk: _Walk) -> Encryption:
    view = cluster.attr("encrypted")
    if view.is_set:
        return _with_key(flag_state(cluster, "encrypted", False), cluster, walk.graph)
    provider = walk.graph.providers.get("aws")
    if provider is None:
        return flag_state(cluster, "encrypted", None, "the default depends on the AWS provider's major version, "
                          "which is not known")
    low, high = provider.majors
    if provider.major is not None and provider.major >= 6 or low >= 6:
        return _with_key(flag_state(cluster, "encrypted", True, f"AWS provider v6 and later; {provider.describe()}"),
                         cluster, walk.graph)
    if high is not None and high <= 5:
        return flag_state(cluster, "encrypted", False, f"AWS provider v5 and earlier; {provider.describe()}")
    return flag_state(cluster, "encrypted", None,
                      f"the default is false up to AWS provider v5 and \"true\" from v6, and the version is not known: "
                      f"{provider.decided_by}")


def _efs(fs: Resource, walk: _Walk) -> Encryption:
    return _with_key(flag_state(fs, "encrypted", False), fs, walk.graph)


def _ebs(volume: Resource, walk: _Walk) -> Encryption:
    graph = walk.graph
    enc = flag_state(volume, "encrypted", False)
    if enc.state is True:
        return _with_key(enc, volume, walk.graph, account_default_ebs_key(volume, graph))
    by_default = encryption_by_default(volume, graph)
    if by_default is not None:
        state, setting = by_default
        if state is True:
            out = Encryption(True, f"{enc.reason}, but {setting.address} turns on EBS encryption by default for "
                             "its Region", volume, "encrypted", enc.value, [(setting.header_span, setting.address)])
            return _with_key(out, volume, walk.graph, account_default_ebs_key(volume, graph))
    if given(volume, "snapshot_id"):
        snapshot, why = follow(volume, "snapshot_id", ("aws_ebs_snapshot", "aws_ebs_snapshot_copy"), (), graph)
        if snapshot is not None:
            inner = _encryption(snapshot, walk)
            if inner.state is True:
                out = inner.inherit(f"created from {snapshot.address}", snapshot.header_span,
                                    f"snapshot {snapshot.address}")
                out.resource, out.attribute, out.value = volume, "snapshot_id", volume.attr("snapshot_id").value
                return _with_key(out, volume, walk.graph, out.key)
            if inner.state is None and enc.state is False:
                return Encryption(None, f"{enc.reason}; created from {snapshot.address}, whose encryption is "
                                  f"unknown ({inner.reason})", volume, "encrypted", enc.value)
        elif enc.state is False:
            return Encryption(None, f"{enc.reason}; created from a snapshot that is not in this configuration "
                              f"({why}): the volume is encrypted if that snapshot is", volume, "encrypted", enc.value)
    if by_default is not None and by_default[0] is None:
        return Encryption(None, f"{enc.reason}; whether {by_default[1].address} turns on encryption by default is "
                          "unknown", volume, "encrypted", enc.value)
    if enc.state is False:
        enc.reason += ("; no aws_ebs_encryption_by_default for its provider in this configuration (encryption by "
                       "default turned on outside Terraform is not visible here)")
    return enc


def _ebs_snapshot(snapshot: Resource, walk: _Walk) -> Encryption:
    if snapshot.type == "aws_ebs_snapshot_copy":
        flag = flag_state(snapshot, "encrypted", False)
        if flag.state is True or snapshot.attr("kms_key_id").is_set:
            return flag if flag.state is True else Encryption(True, "kms_key_id is set", snapshot, "kms_key_id")
        return Encryption(None, "the encryption of the copied snapshot is not followed", snapshot, fixable=False)
    source, why = follow(snapshot, "volume_id", ("aws_ebs_volume",), (), walk.graph)
    if source is None:
        return Encryption(None, f"its volume cannot be checked: {why}", snapshot, fixable=False)
    return _encryption(source, walk).inherit(f"a snapshot of {source.address}", source.header_span,
                                             f"volume {source.address}")


def encryption_by_default(resource: Resource, graph: Graph) -> tuple[bool | None, Resource] | None:
    """The aws_ebs_encryption_by_default of the resource's provider configuration, and its state."""
    provider = resource.provider_ref()
    for setting in graph.of_type("aws_ebs_encryption_by_default"):
        if setting.mode != "managed" or setting.provider_ref() != provider:
            continue
        state = flag_state(setting, "enabled", True)
        return state.state, setting
    return None


def account_default_ebs_key(volume: Resource, graph: Graph) -> EffectiveKey | None:
    """Volumes encrypted without a key use the account's default EBS key: aws_ebs_default_kms_key when set."""
    provider = volume.provider_ref()
    for setting in graph.of_type("aws_ebs_default_kms_key"):
        if setting.mode == "managed" and setting.provider_ref() == provider:
            view = setting.attr("key_arn")
            key = classify_key(view, graph)
            return EffectiveKey(KeyClass(key.kind, f"kms_key_id is not set, so the account's default EBS key is "
                                         f"used: {setting.address} sets it to {key.reason}", key.key_resource),
                                setting, "key_arn", view.value, True)
    return None


# ---- ElastiCache ---------------------------------------------------------------------------


def cache_engine_default(group: Resource) -> tuple[bool | None, str]:
    """The at-rest default of a replication group: valkey encrypts, redis (also when engine is omitted) does not."""
    engine = group.attr("engine")
    if not engine.is_set:
        return False, "engine is not set, so AWS creates redis"
    if not engine.value.known:
        return None, f"the default depends on engine, which is unknown ({engine.value.unknown})"
    name = str(engine.value.raw).lower()
    return name == "valkey", f"engine {render(engine.value)}"


def global_primary(group: Resource, graph: Graph) -> tuple[Resource | None, Resource | None, str]:
    """A Global Datastore secondary's global replication group and primary replication group, or why not.

    A secondary (global_replication_group_id set) takes its at-rest and in-transit encryption from the
    primary: the provider rejects at_rest_encryption_enabled and transit_encryption_enabled next to
    global_replication_group_id (ConflictsWith), and the global replication group has one setting for both.
    """
    datastore, why = follow(group, "global_replication_group_id", ("aws_elasticache_global_replication_group",), (),
                            graph)
    if datastore is None:
        return None, None, why
    primary, why = follow(datastore, "primary_replication_group_id", ("aws_elasticache_replication_group",),
                          ("replication_group_id",), graph)
    if primary is None:
        return datastore, None, f"the primary of {datastore.address} cannot be checked: {why}"
    if primary.address == group.address:
        return datastore, None, f"{datastore.address} names this group as its own primary"
    return datastore, primary, ""


def _cache_group(group: Resource, walk: _Walk) -> Encryption:
    if not given(group, "global_replication_group_id"):
        default, why = cache_engine_default(group)
        enc = flag_state(group, "at_rest_encryption_enabled", default, why)
        if default is None and not group.attr("at_rest_encryption_enabled").is_set:
            enc.attribute, enc.value = "engine", group.attr("engine").value
        return _with_key(enc, group, walk.graph)
    no_fix = ("a Global Datastore secondary takes its encryption from the primary (the provider rejects "
              "at_rest_encryption_enabled next to global_replication_group_id)")
    datastore, primary, why = global_primary(group, walk.graph)
    view = group.attr("global_replication_group_id")
    if primary is None:
        return Encryption(None, f"{no_fix}, and {why}", group, "global_replication_group_id", view.value,
                          fixable=False, no_fix_reason=no_fix)
    inner = _encryption(primary, walk)
    enc = inner.inherit(f"a secondary of the Global Datastore {datastore.address}, whose primary is "
                        f"{primary.address}", primary.header_span, f"primary {primary.address}",
                        no_fix_reason=f"{no_fix}: encrypt {primary.address}")
    enc.resource, enc.attribute, enc.value = group, "global_replication_group_id", None
    if datastore.header_span is not None:
        enc.related.insert(0, (datastore.header_span, f"Global Datastore {datastore.address}"))
    if enc.state is False:
        return enc
    own = own_key(group, walk.graph)
    enc.key = own or EffectiveKey(
        KeyClass(KeyKind.UNKNOWN, f"this Global Datastore secondary names no kms_key_id, and which key then "
                 f"encrypts it in its own Region is not verified (a KMS key is used only in its own Region, so "
                 f"not the key of {primary.address})"), group, "kms_key_id", None)
    return enc


_HANDLERS = {
    **{t: _cluster for t in CLUSTERS},
    "aws_db_instance": _instance,
    **{t: _global for t in GLOBALS},
    **{t: _snapshot for t in SNAPSHOTS},
    "aws_redshift_cluster": _redshift,
    "aws_efs_file_system": _efs,
    "aws_ebs_volume": _ebs,
    "aws_ebs_snapshot": _ebs_snapshot,
    "aws_ebs_snapshot_copy": _ebs_snapshot,
    "aws_elasticache_replication_group": _cache_group,
}
