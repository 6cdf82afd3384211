"""Graph logic for Neptune: a cluster's effective encryption, and a snapshot's source cluster.

A snapshot's encryption attributes are read-only (they come from its cluster), so NEP003 follows
db_cluster_identifier to the cluster instead of reading them. A cluster restored from a snapshot
inherits the snapshot's encryption; its own storage_encrypted is not sent on restore.
"""

from __future__ import annotations

from iaclint.engine import conditions
from iaclint.engine.results import CheckContext, CheckResult
from iaclint.eval.values import render
from iaclint.graph.model import Graph, Resource
from iaclint.model import Verdict

CLUSTER = "aws_neptune_cluster"
SNAPSHOT = "aws_neptune_cluster_snapshot"
_ENCRYPTED = {"attribute": "storage_encrypted", "equals": True, "default": False}


def cluster_encrypted(cluster: Resource, context: CheckContext) -> CheckResult:
    """NEP001."""
    return cluster_encryption(cluster, context.graph)


def cluster_encryption(cluster: Resource, graph: Graph, depth: int = 0) -> CheckResult:
    restore = cluster.attr("snapshot_identifier")
    if restore.is_set:
        return _restored_cluster(cluster, restore, graph, depth)
    outcome = conditions.evaluate(_ENCRYPTED, cluster, graph)
    verdict = {True: Verdict.PASS, False: Verdict.FAIL, None: Verdict.UNKNOWN}[outcome.state]
    return CheckResult(verdict, outcome.reason, resource=cluster, attribute="storage_encrypted", value=outcome.value)


def _restored_cluster(cluster: Resource, restore, graph: Graph, depth: int) -> CheckResult:
    no_fix = ("a restored cluster takes its encryption from the snapshot: encrypt a copy of the snapshot "
              "(copy it with a KMS key) and restore from the copy")
    snapshots = [r for r in graph.referenced(restore.value.all_refs()) if r.type == SNAPSHOT]
    if not snapshots and restore.value.known:
        snapshots = [s for s in graph.of_type(SNAPSHOT)
                     if s.attr("db_cluster_snapshot_identifier").value is not None
                     and s.attr("db_cluster_snapshot_identifier").value.raw == restore.value.raw]
    if not snapshots or depth >= 3:
        return CheckResult.unknown(
            f"restored from snapshot {render(restore.value)}; a restored cluster inherits the snapshot's "
            "encryption, and that snapshot is not in this configuration",
            resource=cluster, attribute="snapshot_identifier", value=restore.value, fixable=False, no_fix_reason=no_fix)
    snapshot = snapshots[0]
    sources, why = source_clusters(snapshot, graph)
    if not sources:
        return CheckResult.unknown(f"restored from {snapshot.address}, whose cluster is not known: {why}",
                                   resource=cluster, attribute="snapshot_identifier", fixable=False,
                                   no_fix_reason=no_fix)
    inner = cluster_encryption(sources[0], graph, depth + 1)
    related = [(snapshot.header_span, f"restored from {snapshot.address}"),
               (sources[0].header_span, f"snapshot source {sources[0].address}")]
    text = f"restored from {snapshot.address}, a snapshot of {sources[0].address}"
    if inner.verdict is Verdict.FAIL:
        return CheckResult.failed(f"{text}, which is not encrypted ({inner.reason}); storage_encrypted is not "
                                  "applied when restoring", resource=cluster, attribute="snapshot_identifier",
                                  related=related, fixable=False, no_fix_reason=no_fix)
    if inner.verdict is Verdict.UNKNOWN:
        return CheckResult.unknown(f"{text}, whose encryption is unknown ({inner.reason})", resource=cluster,
                                   attribute="snapshot_identifier", related=related, fixable=False,
                                   no_fix_reason=no_fix)
    return CheckResult.passed(f"{text}, which is encrypted")


def source_clusters(snapshot: Resource, graph: Graph) -> tuple[list[Resource], str]:
    """The cluster(s) db_cluster_identifier names: by reference, else by a matching cluster_identifier."""
    view = snapshot.attr("db_cluster_identifier")
    if not view.is_set:
        return [], "db_cluster_identifier is not set"
    value = view.value
    clusters = [r for r in graph.referenced(value.all_refs()) if r.type == CLUSTER]
    if clusters:
        return clusters, ""
    if value.known and isinstance(value.raw, str):
        named = [c for c in graph.of_type(CLUSTER)
                 if c.attr("cluster_identifier").value is not None
                 and c.attr("cluster_identifier").value.known
                 and c.attr("cluster_identifier").value.raw == value.raw]
        if named:
            return named, ""
        return [], f"no aws_neptune_cluster in this configuration has cluster_identifier {render(value)}"
    return [], value.unknown or "db_cluster_identifier cannot be resolved"


def snapshot_source_encrypted(snapshot: Resource, context: CheckContext) -> CheckResult:
    """NEP003: judge the snapshot by its source cluster, never by its read-only attributes."""
    graph = context.graph
    clusters, why = source_clusters(snapshot, graph)
    if not clusters:
        return CheckResult.unknown(f"its source cluster cannot be checked: {why}",
                                   extra={"locate_at": "db_cluster_identifier"})
    verdicts = [(c, cluster_encryption(c, graph)) for c in clusters]
    for cluster, result in verdicts:
        if result.verdict is Verdict.FAIL:
            return CheckResult.failed(
                f"its source cluster {cluster.address} is not encrypted ({result.reason})",
                resource=cluster, attribute=result.attribute, value=result.value,
                related=[(cluster.header_span, f"source cluster {cluster.address}")],
                fixable=result.fixable, no_fix_reason=result.no_fix_reason,
                extra={"locate_at": "db_cluster_identifier"})
    for cluster, result in verdicts:
        if result.verdict is Verdict.UNKNOWN:
            return CheckResult.unknown(
                f"the encryption of its source cluster {cluster.address} is unknown ({result.reason})",
                resource=cluster, attribute=result.attribute, value=result.value,
                related=[(cluster.header_span, f"source cluster {cluster.address}")],
                extra={"locate_at": "db_cluster_identifier"})
    return CheckResult.passed("source cluster is encrypted")
