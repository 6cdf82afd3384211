"""Rule checks for datastores: each judges one part of `encryption_of`'s answer.

The graph logic (replicas, restores, snapshots, copies, global clusters, provider defaults) lives in
checks/encryption.py; these functions only decide what fails, where the finding points and whether
an edit there could fix it.
"""

from __future__ import annotations

from iaclint.checks.encryption import (
    FLAG, KEY_ATTRIBUTE, EffectiveKey, Encryption, default_key, encryption_of, flag_state, given, global_primary,
    own_key,
)
from iaclint.checks.keys import KeyKind, classify_key
from iaclint.engine.results import CheckContext, CheckResult
from iaclint.eval.values import render
from iaclint.graph.model import Resource
from iaclint.model import Verdict

ALWAYS_ENCRYPTED = {"aws_memorydb_cluster", "aws_elasticache_serverless_cache", "aws_docdbelastic_cluster",
                    "aws_redshiftserverless_namespace"}
# copies and restores whose key can still be chosen by setting their own key argument
REKEYABLE = {"aws_db_snapshot_copy", "aws_rds_cluster_snapshot_copy"}


def _result(enc: Encryption, resource: Resource, verdict: Verdict, reason: str, **extra) -> CheckResult:
    subject = enc.resource if enc.resource is not resource else None
    return CheckResult(verdict, reason, resource=subject, attribute=enc.attribute, value=enc.value,
                       related=list(enc.related), fixable=enc.fixable, no_fix_reason=enc.no_fix_reason, extra=extra)


def encrypted(resource: Resource, context: CheckContext) -> CheckResult:
    """RDS001, RDS002, DOC001, EFS001, EBS001, RSH001, GLB001: the data is not encrypted at rest."""
    enc = encryption_of(resource, context.graph)
    if enc.state is True:
        return CheckResult.passed(enc.reason)
    verdict = Verdict.FAIL if enc.state is False else Verdict.UNKNOWN
    return _result(enc, resource, verdict, enc.reason)


def snapshot_source_encrypted(snapshot: Resource, context: CheckContext) -> CheckResult:
    """RDS005 (and NEP003): judge a snapshot by its source, never by its read-only attributes."""
    enc = encryption_of(snapshot, context.graph)
    if enc.state is True:
        return CheckResult.passed(enc.reason)
    locate = "db_instance_identifier" if snapshot.type == "aws_db_snapshot" else "db_cluster_identifier"
    verdict = Verdict.FAIL if enc.state is False else Verdict.UNKNOWN
    return _result(enc, snapshot, verdict, enc.reason, locate_at=locate)


def snapshot_copy_encrypted(copy: Resource, context: CheckContext) -> CheckResult:
    """RDS006: a copy of an unencrypted snapshot without kms_key_id stays unencrypted."""
    if copy.attr("kms_key_id").is_set:
        return CheckResult.passed("kms_key_id is set: the copy is encrypted")
    enc = encryption_of(copy, context.graph)
    if enc.state is True:
        return CheckResult.passed(enc.reason)
    view = copy.attr("kms_key_id")
    reason = f"kms_key_id is not set, and the copy keeps its source's encryption: {enc.reason}"
    verdict = Verdict.FAIL if enc.state is False else Verdict.UNKNOWN
    return CheckResult(verdict, reason, attribute="kms_key_id", value=view.value if view.present else None,
                       related=list(enc.related))


def cluster_copy_key_on_plain_source(copy: Resource, context: CheckContext) -> CheckResult:
    """RDS007: CopyDBClusterSnapshot refuses a KmsKeyId for an unencrypted source."""
    key = copy.attr("kms_key_id")
    if not key.is_set:
        return CheckResult.passed("kms_key_id is not set")
    enc = encryption_of(copy, context.graph)
    if enc.state is True:
        return CheckResult.passed(enc.reason)
    fix = ("a cluster snapshot copy cannot add encryption: restore a cluster from the snapshot with kms_key_id "
           "(aws_rds_cluster snapshot_identifier + kms_key_id), then snapshot that cluster")
    if enc.state is False:
        return CheckResult.failed(f"kms_key_id is set, but the source is not encrypted ({enc.reason}): copying an "
                                  f"unencrypted cluster snapshot with a key is an API error. {fix[0].upper()}{fix[1:]}",
                                  attribute="kms_key_id", value=key.value, related=list(enc.related),
                                  fixable=False, no_fix_reason=fix)
    return CheckResult.unknown(f"kms_key_id is set and the source's encryption is unknown ({enc.reason}); a key "
                               "on a copy of an unencrypted cluster snapshot is an API error",
                               attribute="kms_key_id", value=key.value, related=list(enc.related),
                               fixable=False, no_fix_reason=fix)


def key_without_encryption(resource: Resource, context: CheckContext) -> CheckResult:
    """RDS004: a key is set but the encryption flag is not true."""
    key_attr = KEY_ATTRIBUTE[resource.type]
    flag = FLAG[resource.type]
    key = resource.attr(key_attr)
    key_given = given(resource, key_attr) and (key.value.known or bool(key.value.all_refs()))
    if not key_given:
        if key.present and key.value is not None and not key.value.known:
            pass  # an unknown input may or may not be null or "": judged below only when the flag is not true
        else:
            return CheckResult.passed(f"{key_attr} is not set")
    for inherits in ("snapshot_identifier", "replication_source_identifier", "replicate_source_db",
                     "global_cluster_identifier"):
        if given(resource, inherits):
            return CheckResult.passed(f"{inherits} is set: the key applies to the restore or replica")
    if resource.nested("restore_to_point_in_time")[0]:
        return CheckResult.passed("a point-in-time restore applies the key")
    default = False
    why = ""
    if resource.type == "aws_rds_cluster":
        mode = resource.attr("engine_mode")
        if mode.is_set and mode.value.known and mode.value.raw == "serverless":
            default, why = True, 'engine_mode "serverless"'
    state = flag_state(resource, flag, default, why)
    if state.state is True:
        return CheckResult.passed(state.reason)
    if not key_given:
        return CheckResult.unknown(f"{state.reason}, and {key_attr} is unknown ({key.value.unknown}): if it is set, "
                                   "the key is never used", attribute=flag, value=state.value)
    verdict = Verdict.FAIL if state.state is False else Verdict.UNKNOWN
    return CheckResult(verdict, f"{key_attr} is set but {state.reason}: the API rejects the key or the data is "
                       "not encrypted", attribute=flag, value=state.value)


def customer_managed_key(resource: Resource, context: CheckContext) -> CheckResult:
    """RDS003, NEP002, DOC002, RSH002, EFS002, EBS002, MDB001, ECH002, ECH004: the effective key is not
    customer managed. A resource that is not encrypted at all passes: one problem, one finding."""
    graph = context.graph
    if resource.type in ALWAYS_ENCRYPTED:
        key = own_key(resource, graph) or default_key(resource)
        return _judge_key(resource, key, None)
    enc = encryption_of(resource, graph)
    if enc.state is False:
        return CheckResult.passed(f"not encrypted at all ({enc.reason}); the encryption rule reports that",
                                  masked=True)
    key = enc.key or own_key(resource, graph) or default_key(resource)
    return _judge_key(resource, key, enc)


def _judge_key(resource: Resource, key: EffectiveKey, enc: Encryption | None) -> CheckResult:
    kind = key.kind
    if kind is KeyKind.CUSTOMER_MANAGED:
        return CheckResult.passed(key.key.reason)
    inherited = key.resource is not resource or key.inherited
    fixable = not inherited or resource.type in REKEYABLE or (
        resource.type == "aws_rds_cluster" and given(resource, "snapshot_identifier"))
    reason = key.key.reason
    if inherited and key.resource is not resource:
        reason = f"it inherits the key of {key.resource.address}: {reason}"
    elif inherited and enc is not None:
        reason = f"{enc.reason}; {reason}"
    related = list(enc.related) if enc is not None else []
    attribute = KEY_ATTRIBUTE.get(resource.type, key.attribute)
    view = resource.attr(attribute) if attribute else None
    value = key.value if key.resource is resource else (view.value if view is not None and view.present else None)
    no_fix = "" if fixable else ("the key is inherited from the source; a replica in the same Region or a restored "
                                 "instance cannot choose its own key: re-key the source (snapshot, copy with a "
                                 "customer managed key, restore)")
    if kind is KeyKind.UNKNOWN and key.value is None:
        # no key argument to classify: what the service does without one is what is not known
        return CheckResult.unknown(reason, attribute=attribute, related=related, fixable=False,
                                   no_fix_reason=f"set {attribute} to a customer managed key of this resource's Region")
    if kind is KeyKind.UNKNOWN:
        return CheckResult.unknown(f"{attribute} cannot be classified: {reason}", attribute=attribute, value=value,
                                   related=related, fixable=fixable, no_fix_reason=no_fix)
    if enc is not None and enc.state is None:
        return CheckResult.unknown(f"its encryption is unknown ({enc.reason}), and if it is encrypted, {reason}",
                                   attribute=attribute, value=value, related=related, fixable=fixable,
                                   no_fix_reason=no_fix)
    return CheckResult.failed(reason, attribute=attribute, value=value, related=related, fixable=fixable,
                              no_fix_reason=no_fix)


def dynamodb_customer_key(table: Resource, context: CheckContext) -> CheckResult:
    """DYN001: a table (and each replica) is always encrypted; only the kind of key can fail."""
    graph = context.graph
    blocks, why = table.nested("server_side_encryption")
    if why:
        return CheckResult.unknown(why, attribute="server_side_encryption")
    if not blocks:
        return CheckResult.failed("the table is encrypted, with an AWS owned key: no server_side_encryption block")
    sse = blocks[0]
    enabled = flag_state(sse, "enabled", False)  # type: ignore[arg-type]
    if enabled.state is None:
        return CheckResult.unknown(f"server_side_encryption.{enabled.reason}", attribute="server_side_encryption")
    if enabled.state is False:
        return CheckResult.failed(f"the table is encrypted, with an AWS owned key: server_side_encryption."
                                  f"{enabled.reason}", extra={"locate_span": sse.span})
    key_view = sse.attr("kms_key_arn")
    key = classify_key(key_view, graph)
    if key.kind is KeyKind.ABSENT:
        return CheckResult.failed("the table is encrypted, with the AWS managed key aws/dynamodb: "
                                  "server_side_encryption.kms_key_arn is not set", extra={"locate_span": sse.span})
    if key.kind is KeyKind.AWS_MANAGED:
        return CheckResult.failed(f"the table is encrypted, with {key.reason}",
                                  extra={"locate_span": key_view.span or sse.span}, value=key_view.value)
    if key.kind is KeyKind.UNKNOWN:
        return CheckResult.unknown(f"server_side_encryption.kms_key_arn cannot be classified: {key.reason}",
                                   extra={"locate_span": key_view.span or sse.span}, value=key_view.value)
    no_fix = ("a replica's key must be a customer managed key of the replica's Region: set its kms_key_arn to "
              "one (a multi-Region key's replica, or a key created with a provider for that Region)")
    replicas, why = table.nested("replica")
    if why:
        return CheckResult.unknown(f"the table uses {key.reason}, but its replicas are unknown: {why}")
    for replica in replicas:
        view = replica.attr("kms_key_arn")
        region = replica.attr("region_name").value
        shown = render(region) if region is not None else "?"
        replica_key = classify_key(view, graph)
        if replica_key.kind is KeyKind.ABSENT:
            return CheckResult.failed(f"the replica in {shown} is encrypted with the AWS managed key aws/dynamodb of "
                                      "its Region: its kms_key_arn is not set", extra={"locate_span": replica.span},
                                      fixable=False, no_fix_reason=no_fix)
        if replica_key.kind is KeyKind.AWS_MANAGED:
            return CheckResult.failed(f"the replica in {shown} is encrypted with {replica_key.reason}",
                                      extra={"locate_span": view.span or replica.span}, value=view.value,
                                      fixable=False, no_fix_reason=no_fix)
        if replica_key.kind is KeyKind.UNKNOWN:
            return CheckResult.unknown(f"the kms_key_arn of the replica in {shown} cannot be classified: "
                                       f"{replica_key.reason}", extra={"locate_span": view.span or replica.span})
    return CheckResult.passed(key.reason)


def standalone_cache(cluster: Resource, context: CheckContext) -> CheckResult:
    """ECH005: a Redis/Valkey aws_elasticache_cluster outside a replication group cannot be encrypted at rest."""
    group = cluster.attr("replication_group_id")
    if group.is_set:
        return CheckResult.passed("a member of a replication group takes the group's encryption")
    if group.present and group.value is not None and not group.value.known:
        return CheckResult.unknown(f"replication_group_id is unknown ({group.value.unknown}): a standalone Redis "
                                   "or Valkey cluster cannot be encrypted at rest", attribute="replication_group_id",
                                   value=group.value)
    engine = cluster.attr("engine")
    if not engine.is_set:
        return CheckResult.unknown("engine is not set (it is required without replication_group_id)",
                                   attribute="engine")
    if not engine.value.known:
        return CheckResult.unknown(f"engine is unknown ({engine.value.unknown}): a standalone Redis or Valkey "
                                   "cluster cannot be encrypted at rest", attribute="engine", value=engine.value)
    if engine.value.raw == "memcached":
        return CheckResult.passed("memcached keeps no data at rest (no persistence, no backups)")
    return CheckResult.failed(f"engine is {render(engine.value)} and there is no replication_group_id: ElastiCache "
                              "supports encryption at rest only for replication groups, so this cluster's data, "
                              "backups and swap are stored unencrypted", attribute="engine", value=engine.value,
                              fixable=False,
                              no_fix_reason="replace it with an aws_elasticache_replication_group "
                                            "(at_rest_encryption_enabled = true, num_cache_clusters = 1), seeded from "
                                            "a backup of this cluster (snapshot_name)")


def transit_encrypted(group: Resource, context: CheckContext) -> CheckResult:
    """ECH003: traffic to and between the nodes of a replication group is not encrypted (TLS).

    A Global Datastore secondary takes it from its primary: the provider rejects
    transit_encryption_enabled next to global_replication_group_id, so the fix goes to the primary.
    """
    if not given(group, "global_replication_group_id"):
        state = flag_state(group, "transit_encryption_enabled", False)
        if state.state is True:
            return CheckResult.passed(state.reason)
        verdict = Verdict.FAIL if state.state is False else Verdict.UNKNOWN
        return CheckResult(verdict, state.reason, attribute="transit_encryption_enabled", value=state.value)
    no_fix = ("a Global Datastore secondary takes in-transit encryption from its primary (the provider rejects "
              "transit_encryption_enabled next to global_replication_group_id)")
    datastore, primary, why = global_primary(group, context.graph)
    if primary is None or given(primary, "global_replication_group_id"):
        why = why or f"its primary {primary.address} is itself a secondary"
        return CheckResult.unknown(f"{no_fix}, and {why}", attribute="global_replication_group_id", fixable=False,
                                   no_fix_reason=no_fix)
    inner = transit_encrypted(primary, context)
    whose = f"a secondary of the Global Datastore {datastore.address}, whose primary {primary.address}"
    if inner.verdict is Verdict.PASS:
        return CheckResult.passed(f"{whose} encrypts in transit ({inner.reason})")
    related = [(span, label) for span, label in ((primary.header_span, f"primary {primary.address}"),
                                                 (datastore.header_span, f"Global Datastore {datastore.address}"))
               if span is not None]
    words = "does not encrypt in transit" if inner.verdict is Verdict.FAIL else "may not encrypt in transit"
    return CheckResult(inner.verdict, f"{whose} {words} ({inner.reason})", attribute="global_replication_group_id",
                       related=related, fixable=False, no_fix_reason=f"{no_fix}: set it on {primary.address}")


def _shared_accounts(snapshot: Resource) -> tuple[list[str] | None, str]:
    """The accounts a snapshot is shared with ([] when none), or None and why when unknown."""
    view = snapshot.attr("shared_accounts")
    if not view.is_set:
        return [], ""
    value = view.value
    if not value.known or not isinstance(value.raw, list):
        return None, f"shared_accounts is unknown ({value.unknown or 'not a list'})"
    accounts = []
    for item in value.raw:
        if not item.known:
            return None, f"an entry of shared_accounts is unknown ({item.unknown})"
        accounts.append(str(item.raw))
    return accounts, ""


def _other_accounts(snapshot: Resource) -> tuple[list[str], CheckResult | None]:
    """The account ids a snapshot is shared with ("all" is SNP003's), or the verdict when there are none."""
    accounts, why = _shared_accounts(snapshot)
    if accounts is None:
        return [], CheckResult.unknown(f"whether it is shared cannot be told: {why}", attribute="shared_accounts")
    accounts = [a for a in accounts if a != "all"]
    return accounts, None if accounts else CheckResult.passed("not shared with other accounts")


def shared_snapshot_key(snapshot: Resource, context: CheckContext) -> CheckResult:
    """SNP001: a snapshot encrypted with an AWS managed key cannot be shared with another account."""
    accounts, verdict = _other_accounts(snapshot)
    if verdict is not None:
        return verdict
    enc = encryption_of(snapshot, context.graph)
    if enc.state is False:
        return CheckResult.passed(f"not encrypted ({enc.reason}); RDS005 or RDS006 reports that", masked=True)
    key = enc.key
    if key is None or key.kind is KeyKind.UNKNOWN or enc.state is None:
        reason = enc.reason if enc.state is None else (key.key.reason if key else "its key is not known")
        return CheckResult.unknown(f"shared with {', '.join(accounts)}, and its key cannot be classified: {reason}",
                                   attribute="shared_accounts", related=list(enc.related))
    if key.kind is KeyKind.CUSTOMER_MANAGED:
        return CheckResult.passed(f"encrypted with {key.key.reason}")
    return CheckResult.failed(
        f"shared with {', '.join(accounts)}, but encrypted with an AWS managed key ({key.key.reason}): AWS does not "
        "share snapshots encrypted with the AWS managed key. Copy it with a customer managed key "
        "(aws_db_snapshot_copy or aws_rds_cluster_snapshot_copy with kms_key_id), let the other accounts use that "
        "key in its policy, and share the copy", attribute="shared_accounts", related=list(enc.related),
        fixable=snapshot.type in ("aws_db_snapshot", "aws_db_cluster_snapshot"),
        no_fix_reason="set kms_key_id on this copy to a customer managed key (RDS003's fix does)")


def public_snapshot(snapshot: Resource, context: CheckContext) -> CheckResult:
    """SNP003: shared_accounts = ["all"] makes an unencrypted snapshot public; an encrypted one is an API error."""
    accounts, why = _shared_accounts(snapshot)
    if accounts is None:
        return CheckResult.unknown(f"whether it is public cannot be told: {why}", attribute="shared_accounts")
    if "all" not in accounts:
        return CheckResult.passed("not shared publicly")
    enc = encryption_of(snapshot, context.graph)
    if enc.state is True:
        effect = "an encrypted snapshot cannot be made public: the apply fails"
    elif enc.state is False:
        effect = "the snapshot is not encrypted, so every AWS account can restore its data (Security Hub RDS.1)"
    else:
        effect = (f"if it is not encrypted, every AWS account can restore its data; if it is, the apply fails "
                  f"({enc.reason})")
    return CheckResult.failed(f'shared_accounts contains "all": {effect}', attribute="shared_accounts",
                              related=list(enc.related), fixable=False,
                              no_fix_reason='share with the accounts that need it, by id, instead of "all"')


SHARE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant")


def share_statements_fix(key: Resource, setter: Resource, policy, accounts: list[str], graph, what: str) -> dict:
    """The statements that let other accounts use a key, for the policy_statement fix (SNP002, BAK004)."""
    from iaclint.checks.policy import root_statement_fix
    from iaclint.fixes.policy import PolicyEdit, other_account_statements

    label = "SharedSnapshot" if what == "snapshot" else "BackupCopy"
    statements = other_account_statements(accounts, label, {st.sid for st in policy.statements})
    edit = PolicyEdit(setter.address, "policy", statements, f"lets {', '.join(accounts)} use {key.address}")
    extra: dict = {}
    if policy.default:  # a new policy, which must keep the default's account-root statement
        root = root_statement_fix(setter, graph, graph.accounts.get(setter.provider_ref(), set()))
        edit.default_statement = root["policy_statements"][0].statements[0]
        if "needs_caller_identity" in root:
            extra["needs_caller_identity"] = root["needs_caller_identity"]
    extra["policy_statements"] = [edit]
    return extra


def shared_snapshot_key_policy(snapshot: Resource, context: CheckContext) -> CheckResult:
    """SNP002: every account a snapshot is shared with needs Decrypt, DescribeKey and CreateGrant on its key."""
    from iaclint.checks.policy import account_permissions, key_policy, policy_span

    graph = context.graph
    accounts, verdict = _other_accounts(snapshot)
    if verdict is not None:
        return verdict
    enc = encryption_of(snapshot, graph)
    if enc.state is not True or enc.key is None or enc.key.kind is not KeyKind.CUSTOMER_MANAGED:
        return CheckResult.passed("not on a customer managed key; SNP001 or RDS005 reports what is wrong",
                                  masked=True)
    key = enc.key.key.key_resource
    if key is None:
        return CheckResult.unknown(f"shared with {', '.join(accounts)} under {enc.key.key.reason}, a key that is not "
                                   "in this configuration, so its policy cannot be read", attribute="shared_accounts")
    policy, setter = key_policy(key, graph)
    related = list(enc.related) + [(policy_span(setter), f"key policy of {key.address}")]
    if policy.unknown:
        return CheckResult.unknown(f"the policy of {key.address} cannot be read: {policy.unknown}",
                                   attribute="shared_accounts", related=related)
    missing, doubts = account_permissions(policy, accounts, SHARE_ACTIONS)
    if missing:
        return CheckResult.failed(
            f"shared with {', '.join(accounts)}, but the policy of {key.address} does not allow "
            f"{'; '.join(missing)}: the other account sees the snapshot and cannot copy or restore it (the default "
            "policy allows no other account)", attribute="shared_accounts", related=related,
            extra=share_statements_fix(key, setter, policy, sorted({m.split()[0] for m in missing}), graph,
                                       "snapshot"))
    if doubts:
        return CheckResult.unknown(f"the policy of {key.address} has principals that are not known, so whether it "
                                   f"allows {'; '.join(doubts)} cannot be told", attribute="shared_accounts",
                                   related=related)
    return CheckResult.passed(f"the policy of {key.address} lets every account it is shared with use the key")
