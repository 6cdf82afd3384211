"""Plan-only logic: warn when a plan destroys or replaces a resource that holds data.

The message says which arguments force the replacement (replace_paths), how to migrate when the
reason is encryption (seeds 000 and 001: snapshot, copy with the new key, create from the copy), and
whether a final snapshot will be taken, read from the resource's current state (`before`).
"""

from __future__ import annotations

from iaclint.engine.results import CheckContext, CheckResult
from iaclint.eval.values import from_python, render
from iaclint.graph.model import Resource

ENCRYPTION_ATTRIBUTES = {"storage_encrypted", "kms_key_arn", "kms_key_id", "at_rest_encryption_enabled",
                         "encrypted", "transit_encryption_enabled", "server_side_encryption"}

RESTORE_FROM = {
    "aws_neptune_cluster": "snapshot_identifier",
    "aws_rds_cluster": "snapshot_identifier",
    "aws_db_instance": "snapshot_identifier",
    "aws_docdb_cluster": "snapshot_identifier",
    "aws_redshift_cluster": "snapshot_identifier",
    "aws_elasticache_replication_group": "snapshot_name or snapshot_arns",
    "aws_elasticache_cluster": "snapshot_name or snapshot_arns",
    "aws_ebs_volume": "snapshot_id",
    "aws_memorydb_cluster": "snapshot_name or snapshot_arns",
    "aws_elasticache_serverless_cache": "snapshot_arns_to_restore",
    "aws_docdbelastic_cluster": "a restore of a cluster snapshot",
}

NO_DATA_OF_THEIR_OWN = {"aws_neptune_cluster_instance", "aws_rds_cluster_instance"}

REASONS = {
    "delete_because_no_resource_config": "its configuration was removed",
    "delete_because_no_module": "its module was removed",
    "delete_because_count_index": "count no longer includes this index",
    "delete_because_each_key": "for_each no longer includes this key",
    "delete_because_wrong_repetition": "it switched between count and for_each",
    "delete_because_no_move_target": "its moved block points at nothing",
    "replace_because_tainted": "it is tainted",
    "replace_by_request": "replacement was requested (-replace)",
    "replace_by_triggers": "replace_triggered_by fired",
    "replace_because_cannot_update": "an argument cannot be changed in place",
}


def _paths(resource) -> list[str]:
    out = []
    for path in resource.replace_paths:
        if isinstance(path, list) and path:
            out.append(".".join(str(p) for p in path))
    return out


def _shown(planned) -> str:
    """A planned value as HCL shows it ("name"), not as Python does ('name')."""
    return render(from_python(planned))


def _final_snapshot(resource) -> str:
    before = resource.before or {}
    kind = resource.type
    if kind in NO_DATA_OF_THEIR_OWN:
        return "the instance holds no data of its own (storage belongs to the cluster), but it is unavailable meanwhile"
    if kind == "aws_backup_vault":
        return ("its recovery points are not moved, and a vault that still holds recovery points cannot be "
                "deleted unless force_destroy is set")
    if kind == "aws_dynamodb_table":
        return "DynamoDB takes no final backup: the items are lost unless they are backed up first"
    if kind == "aws_ebs_volume":
        return "no final snapshot is taken: snapshot the volume first (aws_ebs_snapshot)"
    if kind == "aws_efs_file_system":
        return "no final backup is taken: the files are lost unless they are backed up first"
    identifier = before.get("final_snapshot_identifier")
    if kind.startswith("aws_elasticache"):
        if identifier:
            return f"a final snapshot {_shown(identifier)} will be taken"
        return "no final snapshot will be taken (final_snapshot_identifier is not set): the cached data is lost"
    skip = before.get("skip_final_snapshot")
    if skip is True:
        return "no final snapshot will be taken (skip_final_snapshot = true): the data is lost"
    if identifier:
        return f"a final snapshot {_shown(identifier)} will be taken"
    if skip is False:
        return "skip_final_snapshot is false but final_snapshot_identifier is not set: the destroy will fail"
    return "whether a final snapshot is taken cannot be read from the plan"


def datastore_replacement(resource: Resource, context: CheckContext) -> CheckResult:
    """PLN001."""
    actions = tuple(resource.plan_actions or ())
    if actions not in (("delete",), ("delete", "create"), ("create", "delete")):
        return CheckResult.passed()
    reason = REASONS.get(getattr(resource, "action_reason", "") or "", "")
    paths = _paths(resource)
    if actions == ("delete",):
        text = f"the plan destroys {resource.address}" + (f" because {reason}" if reason else "")
    else:
        order = "destroys it, then creates it again" if actions == ("delete", "create") else \
            "creates the new one first, then destroys the old one"
        text = f"the plan replaces {resource.address} ({order})"
        if paths:
            text += f"; forced by {', '.join(paths)}"
        elif reason:
            text += f" because {reason}"
    encryption = [p for p in paths if p.split(".")[0] in ENCRYPTION_ATTRIBUTES]
    if encryption:
        restore = RESTORE_FROM.get(resource.type)
        how = (f"snapshot the existing resource, copy the snapshot with the new key, and create the new one "
               f"from the copy ({restore})") if restore else "back up the data and restore it into the new resource"
        text += f". Encryption cannot change in place and the data is not carried over: {how}"
    before = resource.before or {}
    if before.get("deletion_protection") is True or before.get("deletion_protection_enabled") is True:
        text += ". Deletion protection is on, so the apply will fail until it is turned off"
    text += f". {_final_snapshot(resource)[0].upper()}{_final_snapshot(resource)[1:]}"
    attribute = encryption[0].split(".")[0] if encryption else (paths[0].split(".")[0] if paths else None)
    return CheckResult.failed(text, attribute=attribute, fixable=False,
                              no_fix_reason="this is a warning about the plan, not a setting to change")
