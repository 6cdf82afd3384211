"""Cross-Region rules: a KMS key is usable only in its own Region (FACTS-2 2.4).

A key argument that names a key of another Region, and a cross-Region replica or global secondary
that names no key of its own Region, both fail at apply time, long after review. Places come from
`graph.placement`; where a Region cannot be known before apply, the verdict is unknown with the reason.
"""

from __future__ import annotations

from iaclint.checks.encryption import CLUSTERS, KEY_ATTRIBUTE, encryption_of, follow, given
from iaclint.engine.results import CheckContext, CheckResult
from iaclint.eval.values import render
from iaclint.graph.model import Graph, Resource
from iaclint.checks.keys import CMK_RESOURCE_TYPES
from iaclint.eval.values import Value
from iaclint.graph.placement import Place, arn_region, region_of, same_provider

# Every argument that names the KMS key a resource's data at rest is encrypted with, by resource type: an
# argument, or a dotted path into nested blocks (graph/paths.py). XRG001 (the key's Region) and KMS003 (a key's
# consumers) read this table; a key argument of a new rule belongs here. Keys of other Regions by design (a
# DynamoDB or secret replica's key is in the replica's Region) are in REPLICA_KEY_ARGUMENTS below.
# The datastores whose service creates a grant on the key with the caller's permissions (FACTS.md, FACTS-2.md):
# KMS003 judges a key by these consumers only. Whether the services of the rest of the estate do is not
# established in FACTS-3, so no KMS003 verdict rests on them.
GRANT_CONSUMERS = frozenset({*KEY_ATTRIBUTE, "aws_backup_vault", "aws_db_instance_automated_backups_replication",
                             "aws_ebs_snapshot_copy", "aws_dynamodb_table"})

KEY_ARGUMENTS: dict[str, tuple[str, ...]] = {
    **{type_: (name,) for type_, name in KEY_ATTRIBUTE.items()},
    "aws_backup_vault": ("kms_key_arn",),
    "aws_db_instance_automated_backups_replication": ("kms_key_id",),
    "aws_ebs_snapshot_copy": ("kms_key_id",),
    "aws_dynamodb_table": ("server_side_encryption.kms_key_arn",),
    # the rest of the estate (FACTS-3 §1)
    "aws_s3_bucket": ("server_side_encryption_configuration.rule.apply_server_side_encryption_by_default."
                      "kms_master_key_id",),
    "aws_s3_bucket_server_side_encryption_configuration": ("rule.apply_server_side_encryption_by_default."
                                                           "kms_master_key_id",),
    "aws_sns_topic": ("kms_master_key_id",),
    "aws_sqs_queue": ("kms_master_key_id",),
    "aws_cloudwatch_log_group": ("kms_key_id",),
    "aws_cloudtrail": ("kms_key_id",),
    "aws_kinesis_stream": ("kms_key_id",),
    "aws_kinesis_firehose_delivery_stream": ("server_side_encryption.key_arn",),
    "aws_secretsmanager_secret": ("kms_key_id",),
    "aws_ssm_parameter": ("key_id",),
    "aws_lambda_function": ("kms_key_arn",),
    "aws_opensearch_domain": ("encrypt_at_rest.kms_key_id",),
    "aws_elasticsearch_domain": ("encrypt_at_rest.kms_key_id",),
    "aws_msk_cluster": ("encryption_info.encryption_at_rest_kms_key_arn",),
    "aws_eks_cluster": ("encryption_config.provider.key_arn",),
    "aws_ecr_repository": ("encryption_configuration.kms_key",),
    "aws_mq_broker": ("encryption_options.kms_key_id",),
    **{t: ("kms_key_id",) for t in ("aws_fsx_lustre_file_system", "aws_fsx_windows_file_system",
                                    "aws_fsx_ontap_file_system", "aws_fsx_openzfs_file_system", "aws_fsx_file_cache")},
    "aws_codebuild_project": ("encryption_key",),
    "aws_athena_workgroup": ("configuration.result_configuration.encryption_configuration.kms_key_arn",),
    "aws_instance": ("root_block_device.kms_key_id", "ebs_block_device.kms_key_id"),
    "aws_launch_template": ("block_device_mappings.ebs.kms_key_id",),
    "aws_spot_fleet_request": ("launch_specification.root_block_device.kms_key_id",
                               "launch_specification.ebs_block_device.kms_key_id"),
    "aws_workspaces_workspace": ("volume_encryption_key",),
    # analytics, developer tools and the long tail (FACTS-3 §1b-1d)
    "aws_glue_security_configuration": tuple(f"encryption_configuration.{block}.kms_key_arn" for block in (
        "s3_encryption", "cloudwatch_encryption", "job_bookmarks_encryption")),
    "aws_glue_data_catalog_encryption_settings": (
        "data_catalog_encryption_settings.encryption_at_rest.sse_aws_kms_key_id",
        "data_catalog_encryption_settings.connection_password_encryption.aws_kms_key_id"),
    "aws_sagemaker_notebook_instance": ("kms_key_id",),
    "aws_sagemaker_endpoint_configuration": ("kms_key_arn", "data_capture_config.kms_key_id",
                                             "async_inference_config.output_config.kms_key_id"),
    "aws_sagemaker_domain": ("kms_key_id",),
    "aws_dms_replication_instance": ("kms_key_arn",),
    "aws_dms_endpoint": ("kms_key_arn", "s3_settings.server_side_encryption_kms_key_id",
                         "redshift_settings.server_side_encryption_kms_key_id"),
    "aws_timestreamwrite_database": ("kms_key_id",),
    "aws_keyspaces_table": ("encryption_specification.kms_key_identifier",),
    "aws_qldb_ledger": ("kms_key",),
    "aws_sfn_state_machine": ("encryption_configuration.kms_key_id",),
    "aws_sfn_activity": ("encryption_configuration.kms_key_id",),
    "aws_cloudwatch_event_bus": ("kms_key_identifier",),
    "aws_cloudwatch_event_archive": ("kms_key_identifier",),
    "aws_kinesis_video_stream": ("kms_key_id",),
    "aws_codeartifact_domain": ("encryption_key",),
    "aws_mwaa_environment": ("kms_key",),
    "aws_apprunner_service": ("encryption_configuration.kms_key",),
    "aws_dsql_cluster": ("kms_encryption_key",),
    "aws_neptunegraph_graph": ("kms_key_identifier",),
    "aws_bedrockagent_knowledge_base": ("knowledge_base_configuration.managed_knowledge_base_configuration."
                                        "server_side_encryption_configuration.kms_key_arn",),
    "aws_bedrockagent_agent": ("customer_encryption_key_arn",),
    "aws_bedrock_guardrail": ("kms_key_arn",),
    # the account's default EBS key, for volumes encrypted without a key of their own in its provider's Region
    "aws_ebs_default_kms_key": ("key_arn",),
}

# Keys of replicas in other Regions by design: (replica blocks, the argument naming the replica's Region, the key
# argument). XRG001 judges each against its replica's Region; an S3 replication's replica key, whose Region is
# the destination bucket's, is S3B004's (region None). KMS005 counts them all as users of the key.
REPLICA_KEY_ARGUMENTS: dict[str, tuple[str, str | None, str]] = {
    "aws_secretsmanager_secret": ("replica", "region", "kms_key_id"),
    "aws_dynamodb_table": ("replica", "region_name", "kms_key_arn"),
    "aws_s3_bucket_replication_configuration": ("rule.destination.encryption_configuration", None,
                                                "replica_kms_key_id"),
}


def consumer_region(resource: Resource, graph: Graph) -> Place:
    """Where the consumer's data lives: `destination_region` of a snapshot copy, else the resource's Region."""
    if resource.type in ("aws_db_snapshot_copy", "aws_rds_cluster_snapshot_copy") and given(resource, "destination_region"):
        value = resource.attr("destination_region").value
        if value.known and isinstance(value.raw, str):
            return Place(value.raw, f"destination_region = {render(value)}")
        return Place(None, f"destination_region is unknown ({value.unknown})")
    return region_of(resource, graph)


def key_arguments(resource: Resource) -> list[tuple[str, object, object]]:
    """(label, AttrView, block span) of each key argument a resource sets (KEY_ARGUMENTS; nested ones through
    their blocks, each block once). A value naming the AWS owned key (`AWS_OWNED_KMS_KEY`) names no KMS key of
    any Region, so it is left out."""
    out = []
    for path in KEY_ARGUMENTS.get(resource.type, ()):
        if "." not in path:
            if given(resource, path) and not _aws_owned(resource.attr(path).value):
                out.append((path, resource.attr(path), None))
            continue
        from iaclint.graph.paths import resolve

        leaves, _ = resolve(resource, path)
        for leaf in leaves:
            view = leaf.view
            if view.is_set and not (view.value.known and view.value.raw == "") and not _aws_owned(view.value):
                out.append((leaf.label, view, leaf.blocks[-1].span if leaf.blocks else None))
    return out


def replica_key_arguments(resource: Resource) -> list[tuple[str, object, object]]:
    """(label, AttrView, replica block) of each replica key a resource sets (REPLICA_KEY_ARGUMENTS)."""
    from iaclint.graph.paths import resolve

    spec = REPLICA_KEY_ARGUMENTS.get(resource.type)
    if spec is None:
        return []
    blocks_path, _, argument = spec
    leaves, _ = resolve(resource, f"{blocks_path}.{argument}")
    return [(leaf.label, leaf.view, leaf.blocks[-1] if leaf.blocks else None) for leaf in leaves
            if leaf.view.is_set and not (leaf.view.value.known and leaf.view.value.raw == "")
            and not _aws_owned(leaf.view.value)]


def _replica_doubts(resource: Resource, graph: Graph) -> tuple[CheckResult | None, list[tuple[str, str]]]:
    """XRG001 for replica keys: a failure, or the doubts, of keys that must be in their replica's Region."""
    spec = REPLICA_KEY_ARGUMENTS.get(resource.type)
    if spec is None or spec[1] is None:
        return None, []
    doubts: list[tuple[str, str]] = []
    for label, view, block in replica_key_arguments(resource):
        where, key = key_region(view.value, graph)
        if where.provider == "same":
            continue  # a key id or alias is looked up in the replica's own Region
        region_view = block.attr(spec[1]) if block is not None else None
        if region_view is None or not region_view.is_set or not region_view.value.known:
            doubts.append((label, f"the replica's {spec[1]} is not known"))
            continue
        region = region_view.value.raw
        if where.value is None:
            doubts.append((label, where.why))
            continue
        if where.value != region:
            related = [(key.header_span, f"key {key.address}")] if key is not None and key.header_span else []
            what = key.address if key is not None else render(view.value)
            return CheckResult.failed(
                f"{label} names {what} in {where.value} ({where.why}), but that replica is in {region} "
                f"({spec[1]} = {render(region_view.value)}): a KMS key can only be used in its own Region, so the "
                f"apply fails. Use a key of {region} (a multi-Region replica key there is fine)",
                value=view.value, related=related, extra={"locate_span": view.span or getattr(block, "span", None)},
                fixable=False, no_fix_reason=f"needs a key of {region}: name one from that Region's provider"), []
    return None, doubts


def _aws_owned(value: Value | None) -> bool:
    from iaclint.checks.keys import AWS_OWNED_VALUES

    return value is not None and value.known and value.raw in AWS_OWNED_VALUES


def key_region(value: Value, graph: Graph) -> tuple[Place, Resource | None]:
    """The Region of the key a key argument names (a key or alias resource, a KMS lookup, or a literal ARN)."""
    for target in graph.referenced(value.all_refs()):
        if (target.mode == "managed" and target.type in CMK_RESOURCE_TYPES | {"aws_kms_alias"}) or (
                target.mode == "data" and target.type in ("aws_kms_key", "aws_kms_alias")):
            return region_of(target, graph), target
    written = arn_region(value)
    if written is not None:
        return written, None
    if value.known and isinstance(value.raw, str):
        return Place(None, f"{render(value)} is a key id or alias: AWS looks it up in the consumer's own Region",
                     "same"), None
    return Place(None, f"the key is not known ({value.unknown or 'not a key reference'})"), None


def key_in_consumer_region(resource: Resource, context: CheckContext) -> CheckResult:
    """XRG001: the key an argument names must be in the Region of the resource that uses it."""
    graph = context.graph
    arguments = key_arguments(resource)
    replica_failure, doubts = _replica_doubts(resource, graph)
    if replica_failure is not None and not arguments:
        return replica_failure
    if not arguments and not doubts:
        return CheckResult.passed("names no KMS key")
    for label, view, block_span in arguments:
        attribute = None if "." in label else label
        where, key = key_region(view.value, graph)
        if key is not None and same_provider(resource, key) and not given(resource, "destination_region"):
            continue  # same provider configuration, same Region, whatever that Region is
        if where.provider == "same":
            continue  # a key id or alias is resolved in the consumer's own Region
        mine = consumer_region(resource, graph)
        related = [(key.header_span, f"key {key.address}")] if key is not None and key.header_span else []
        if where.value is not None and mine.value is not None:
            if where.value == mine.value:
                continue
            what = key.address if key is not None else render(view.value)
            extra = {"locate_span": view.span or block_span} if attribute is None else {}
            replacement = _key_in_region(resource, key, mine.value, graph) if attribute is not None else None
            if replacement is not None:
                extra["repoint_key"] = (replacement.address, attribute)
            return CheckResult.failed(
                f"{label} names {what} in {where.value} ({where.why}), but {resource.address} is in {mine.value} "
                f"({mine.why}): a KMS key can only be used in its own Region, so the apply fails. Use a key of "
                f"{mine.value} (a multi-Region replica key there is fine)",
                attribute=attribute, value=view.value, related=related, extra=extra)
        unknown_side = where if where.value is None else mine
        doubts.append((label, unknown_side.why))
    if replica_failure is not None:
        return replica_failure
    if doubts:
        return CheckResult.unknown("; ".join(f"the key of {label} may be in another Region than {resource.address}: "
                                             f"{why}" for label, why in doubts),
                                   attribute=doubts[0][0] if "." not in doubts[0][0] else None)
    return CheckResult.passed("every key it names is in its own Region")


def _key_in_region(consumer: Resource, wrong: Resource | None, region: str, graph: Graph) -> Resource | None:
    """The replica, in the consumer's Region and module, of the multi-Region key the argument names (if exactly one).

    Only the same key's replica is certain to be what was meant; another key of the Region may serve
    another purpose, so the message leaves that choice to a person.
    """
    candidates = [k for k in graph.of_type("aws_kms_key", "aws_kms_replica_key") if k.mode == "managed"
                  and k.module_address == consumer.module_address and k.key is None
                  and region_of(k, graph).value == region]
    if wrong is not None:
        replicas = [k for k in candidates if k.type == "aws_kms_replica_key"
                    and wrong.address in (k.attr("primary_key_arn").value.all_refs()
                                          if k.attr("primary_key_arn").value is not None else ())]
        if len(replicas) == 1:
            return replicas[0]
    return None


# ---- XRG002 -------------------------------------------------------------------------------


def _source_place(resource: Resource, attribute: str, types: tuple[str, ...], identifiers: tuple[str, ...],
                  graph: Graph) -> tuple[Resource | None, Place]:
    """The source a replica names and the source's Region (from the source resource, or a literal ARN)."""
    source, _ = follow(resource, attribute, types, identifiers, graph)
    if source is not None:
        return source, region_of(source, graph)
    value = resource.attr(attribute).value
    written = arn_region(value)
    if written is not None:
        return None, written
    if not value.known:
        return None, Place(None, f"{attribute} is not known ({value.unknown})")
    return None, Place(None, f"{attribute} names no ARN, so the source is in the same Region (an identifier only "
                             "works there)", "same")


def cross_region_replica_key(resource: Resource, context: CheckContext) -> CheckResult:
    """XRG002: a replica or global secondary in another Region than its encrypted source must name a key."""
    graph = context.graph
    if resource.type == "aws_db_instance":
        attribute, types, identifiers, noun = "replicate_source_db", ("aws_db_instance",), ("identifier",), "read replica"
    elif given(resource, "replication_source_identifier"):
        attribute, types, identifiers, noun = ("replication_source_identifier", CLUSTERS + ("aws_db_instance",),
                                               ("cluster_identifier", "identifier"), "cross-Region replica")
    else:
        attribute, types, identifiers, noun = ("global_cluster_identifier",
                                               ("aws_rds_global_cluster",), ("global_cluster_identifier",),
                                               "global cluster member")
    if not given(resource, attribute):
        return CheckResult.passed(f"not a replica ({attribute} is not set)")
    if given(resource, "kms_key_id"):
        return CheckResult.passed("names its own key (XRG001 checks that key's Region)")
    source, there = _source_place(resource, attribute, types, identifiers, graph)
    here = region_of(resource, graph)
    if there.provider == "same" or (source is not None and same_provider(resource, source)):
        return CheckResult.passed("in the same Region as its source, whose key it keeps")
    related = [(source.header_span, f"source {source.address}")] if source is not None and source.header_span else []
    if there.value is None or here.value is None:
        unknown = there if there.value is None else here
        return CheckResult.unknown(f"a {noun} names no kms_key_id, and whether it is in another Region than its "
                                   f"source cannot be told: {unknown.why}", attribute=attribute, related=related)
    if there.value == here.value:
        return CheckResult.passed(f"in {here.value}, like its source")
    if source is None:
        return CheckResult.unknown(f"a {noun} in {here.value} of a source in {there.value} names no kms_key_id; "
                                   "if the source is encrypted the apply fails, and the source is not in this "
                                   "configuration", attribute=attribute)
    enc = encryption_of(source, graph)
    if enc.state is False:
        return CheckResult.passed(f"its source {source.address} is not encrypted ({enc.reason}), so no key is needed",
                                  masked=True)
    error = ('("Cannot create a cross region unencrypted read replica from encrypted source")'
             if resource.type == "aws_db_instance" else "(KmsKeyId must be a key valid in the destination Region)")
    consequence = (f"a {noun} in {here.value} of {source.address} in {there.value} names no kms_key_id: an encrypted "
                   f"source needs a key of {here.value} for it {error}, so the apply fails. Set kms_key_id to a key "
                   f"of {here.value}")
    if enc.state is None:
        return CheckResult.unknown(f"{consequence}, if {source.address} is encrypted ({enc.reason})",
                                   attribute=attribute, related=related)
    return CheckResult.failed(consequence, attribute=attribute, related=related + list(enc.related),
                              fixable=False, no_fix_reason=f"needs a key of {here.value}; add kms_key_id with a key "
                                                           "from that Region's provider")
