"""Rules that follow an AWS service to the key it must use (FACTS-3 §2): SNS003, SQS003, LOG002, CTR001, S3B004,
S3B005, S3B006, ASG001 and KMS005.

The edges come from indexes built once per graph (`estate.publishers`, `estate.bucket_readers`,
`compute.autoscaling_launchers`, `policy.key_consumers`); a check follows the edges of its own resource and
never scans the graph. "Cannot use the key" means: the key is AWS managed (its policy cannot be edited, so it
names no service principal), or it is a key of the configuration whose policy in force has no Allow statement
for the service with the actions FACTS-3 lists, or a condition of it excludes this use (`services.judge_use`).
A key outside the configuration, or a policy that cannot be read, is unknown.

Fixes: a key of the configuration gets the missing statement in its policy's own form (`policy_statements`
in the result, written by fixes/policy.py); a resource on an AWS managed key gets a new customer managed key
whose policy already carries the statement (`new_key`, built by the customer managed key fix). The statements
are the ones new keys carry (`service_statements`), so a fixed configuration passes every rule.
"""

from __future__ import annotations

from typing import Any

from iaclint.checks.keys import KeyClass, KeyKind, classify_key
from iaclint.checks.policy import Policy, key_policy, policy_span
from iaclint.checks.services import Judgement, Need, RolePrincipal, ServicePrincipal, judge_use, make_arn, \
    missing_text, partition_of
from iaclint.engine.results import CheckContext, CheckResult
from iaclint.eval.values import PartialString, render
from iaclint.graph.model import AttrView, Graph, Resource
from iaclint.graph.placement import account_of, region_of, same_provider
from iaclint.model import Record, Span

# ---- the statements each service needs (FACTS-3 §2) ------------------------------------------------------

PUBLISH_ACTIONS = ("kms:GenerateDataKey*", "kms:Decrypt")  # R4 (SNS), R5 (SQS)
LOGS_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")  # R3
TRAIL_ACTIONS = ("kms:GenerateDataKey*",)  # R2: what creating or updating the trail needs
FLOW_LOG_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")  # R10
CLOUDFRONT_ACTIONS = ("kms:Decrypt",)  # R9
AUTOSCALING_USE = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")  # R11
AUTOSCALING_ACTIONS = AUTOSCALING_USE + ("kms:CreateGrant",)
AUTOSCALING_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"

PUBLISHER_NAMES = {
    "cloudwatch.amazonaws.com": "CloudWatch alarms",
    "events.amazonaws.com": "EventBridge",
    "s3.amazonaws.com": "S3 event notifications",
    "backup.amazonaws.com": "AWS Backup notifications",
    "sns.amazonaws.com": "SNS subscriptions",
}


class Refs(Record):
    """How a new statement names the account and a Region: HCL template text (`${data....}` or a literal)."""

    _shown = ("account", "region")

    def __init__(self, account: str, region: str | None = None):
        self.account = account
        self.region = region  # None: the statement needs no Region


def service_statements(needs: list[Need], refs: Refs) -> list:
    """The key policy statements that let ``needs`` happen, as new keys and policy fixes write them."""
    from iaclint.fixes.policy import NewStatement

    out: list = []
    publishers = sorted({n.principal.name for n in needs if isinstance(n.principal, ServicePrincipal)
                         and n.actions == PUBLISH_ACTIONS})
    if publishers:
        out.append(NewStatement("AllowAwsServicePublishers", publishers, list(PUBLISH_ACTIONS),
                                principal_type="Service"))
    for need in needs:
        principal = need.principal
        if isinstance(principal, ServicePrincipal) and principal.name == "logs":
            region = refs.region or "${...}"
            partition = partition_of(principal.region.value if principal.region else None) or "aws"
            out.append(NewStatement("AllowCloudWatchLogs", [f"logs.{region}.amazonaws.com"], list(LOGS_ACTIONS),
                                    ("ArnLike", "kms:EncryptionContext:aws:logs:arn",
                                     [f"arn:{partition}:logs:{region}:{refs.account}:log-group:*"]),
                                    principal_type="Service"))
        elif isinstance(principal, ServicePrincipal) and principal.name == "cloudtrail.amazonaws.com":
            out += [NewStatement("AllowCloudTrailEncryptLogs", ["cloudtrail.amazonaws.com"], ["kms:GenerateDataKey*"],
                                 ("StringLike", "kms:EncryptionContext:aws:cloudtrail:arn",
                                  [f"arn:aws:cloudtrail:*:{refs.account}:trail/*"]), principal_type="Service"),
                    NewStatement("AllowCloudTrailDescribeKey", ["cloudtrail.amazonaws.com"], ["kms:DescribeKey"],
                                 principal_type="Service")]
        elif isinstance(principal, ServicePrincipal) and principal.name == "delivery.logs.amazonaws.com":
            out.append(NewStatement("AllowLogDeliveryToS3", ["delivery.logs.amazonaws.com"], list(FLOW_LOG_ACTIONS),
                                    principal_type="Service"))
        elif isinstance(principal, ServicePrincipal) and principal.name == "cloudfront.amazonaws.com":
            scope = ("StringLike", "AWS:SourceArn", [f"arn:aws:cloudfront::{refs.account}:distribution/*"])
            out.append(NewStatement("AllowCloudFrontOriginAccessControl", ["cloudfront.amazonaws.com"],
                                    list(CLOUDFRONT_ACTIONS), scope, principal_type="Service"))
    roles = sorted({n.principal.written(refs.account) for n in needs if isinstance(n.principal, AutoScalingRole)}
                   - {None})
    if roles:
        out += [NewStatement("AllowAutoScalingServiceLinkedRoleUse", roles, list(AUTOSCALING_USE)),
                NewStatement("AllowAutoScalingServiceLinkedRoleGrants", roles, ["kms:CreateGrant"],
                             ("Bool", "kms:GrantIsForAWSResource", ["true"]))]
    unique: dict[str, Any] = {}
    for statement in out:
        unique.setdefault(statement.sid, statement)
    return list(unique.values())


# ---- the needs of each consumer ---------------------------------------------------------------------------


def publisher_needs(target: Resource, graph: Graph) -> list[Need]:
    """One need per AWS service principal that publishes to the topic or queue."""
    from iaclint.checks.estate import publishers

    by_principal: dict[str, dict[str, list[str]]] = {}
    for publisher in publishers(target, graph):
        by_principal.setdefault(publisher.principal, {}).setdefault(publisher.resource.address, []).append(
            publisher.argument)
    needs = []
    for principal, by_resource in sorted(by_principal.items()):
        names = [f"{address}: {', '.join(arguments)}" for address, arguments in by_resource.items()]
        shown = "; ".join(names[:3]) + (f"; and {len(names) - 3} more" if len(names) > 3 else "")
        needs.append(Need(ServicePrincipal(principal), PUBLISH_ACTIONS,
                          f"{PUBLISHER_NAMES.get(principal, principal)} ({shown})"))
    return needs


def _named(resource: Resource, attribute: str) -> tuple[str, bool] | None:
    """A name as an ARN's last part: (text, complete), a prefix when the rest is unknown, None when unknown."""
    view = resource.attr(attribute)
    if not view.is_set:
        return None
    value = view.value
    if value.known and isinstance(value.raw, str):
        return value.raw, True
    if isinstance(value.raw, PartialString) and value.raw.parts and value.raw.parts[0] is not None:
        return value.raw.parts[0], False
    return None


def log_group_need(group: Resource, graph: Graph) -> Need:
    """CloudWatch Logs of the log group's Region, with the log group's ARN as encryption context (R3)."""
    region = region_of(group, graph)
    account = account_of(group, graph).value
    name = _named(group, "name")
    if name is None and group.attr("name_prefix").is_set:
        prefix = _named(group, "name_prefix")
        name = (prefix[0], False) if prefix else None
    resource = ("log-group:" + name[0], name[1]) if name else ("log-group:", False)
    arn = make_arn(partition_of(region.value), "logs", region.value, account, resource)
    return Need(ServicePrincipal("logs", region, group), LOGS_ACTIONS, f"CloudWatch Logs for {group.address}",
                {"kms:encryptioncontext:aws:logs:arn": arn}, documented_statement=True)


def trail_need(trail: Resource, graph: Graph) -> Need:
    region = region_of(trail, graph)
    name = _named(trail, "name")
    resource = ("trail/" + name[0], name[1]) if name else ("trail/", False)
    arn = make_arn(partition_of(region.value), "cloudtrail", region.value, account_of(trail, graph).value, resource)
    return Need(ServicePrincipal("cloudtrail.amazonaws.com"), TRAIL_ACTIONS, f"CloudTrail for {trail.address}",
                {"kms:encryptioncontext:aws:cloudtrail:arn": arn})


def flow_log_need(flow_log: Resource) -> Need:
    return Need(ServicePrincipal("delivery.logs.amazonaws.com"), FLOW_LOG_ACTIONS,
                f"VPC Flow Logs delivery ({flow_log.address})", documented_statement=True)


def cloudfront_need(distribution: Resource, graph: Graph) -> Need:
    account = account_of(distribution, graph).value
    arn = make_arn("aws", "cloudfront", "", account, ("distribution/", False), frozenset({distribution.address}))
    return Need(ServicePrincipal("cloudfront.amazonaws.com"), CLOUDFRONT_ACTIONS,
                f"CloudFront ({distribution.address}, origin access control)", {"aws:sourcearn": arn})


def bucket_reader_needs(bucket: Resource, graph: Graph) -> list[Need]:
    """What the flow logs and CloudFront distributions reading a bucket need on its key."""
    from iaclint.checks.estate import bucket_readers

    needs: list[Need] = []
    for reader in bucket_readers(bucket, graph):
        need = flow_log_need(reader.resource) if reader.kind == "flow_log" else cloudfront_need(reader.resource, graph)
        if not any(n.principal == need.principal for n in needs):
            needs.append(need)
    return needs


class AutoScalingRole(RolePrincipal):
    """Amazon EC2 Auto Scaling's service-linked role for one group: the default one, or service_linked_role_arn."""

    def written(self, account: str) -> str | None:
        """The role's ARN as a new statement names it; None when it cannot be written (a role not known)."""
        if self.exact:
            return self.exact.replace("${", "$${")
        if self.suffix is None:
            return None
        return f"arn:aws:iam::{account}:{self.suffix}"


def autoscaling_role(launcher: Resource, graph: Graph) -> AutoScalingRole:
    """The service-linked role a group launches with: service_linked_role_arn (a literal ARN, or a reference to
    an aws_iam_service_linked_role), else AWSServiceRoleForAutoScaling of the group's account."""
    from iaclint.checks.services import service_linked_role_name

    view = launcher.attr("service_linked_role_arn") if launcher.type == "aws_autoscaling_group" else None
    account = account_of(launcher, graph).value
    if view is not None and view.is_set:
        value = view.value
        if value.known and isinstance(value.raw, str) and value.raw.startswith("arn:"):
            parts = value.raw.split(":", 5)
            return AutoScalingRole(parts[-1], parts[4] if len(parts) == 6 and parts[4] else None, frozenset(),
                                   value.raw)
        refs = value.all_refs()
        for role in graph.referenced(refs):
            if role.type == "aws_iam_service_linked_role":
                name = service_linked_role_name(role)
                if name:
                    return AutoScalingRole(f"role/aws-service-role/autoscaling.amazonaws.com/{name}", account, refs)
        return AutoScalingRole(None, account, refs)
    return AutoScalingRole(AUTOSCALING_ROLE, account)


def autoscaling_need(launcher: Resource, graph: Graph) -> Need:
    return Need(autoscaling_role(launcher, graph), AUTOSCALING_ACTIONS,
                f"Amazon EC2 Auto Scaling's service-linked role for {launcher.address}", grant_context=True)


def needs_of(service: str, resource: Resource, graph: Graph) -> list[Need]:
    """Every service-principal need a key for ``resource`` has (the fix's `service`): what a new key must carry."""
    if service in ("sns", "sqs"):
        return publisher_needs(resource, graph)
    if service == "logs" and resource.type == "aws_cloudwatch_log_group":
        return [log_group_need(resource, graph)]
    if service == "cloudtrail" and resource.type == "aws_cloudtrail":
        return [trail_need(resource, graph)]
    if service == "s3":
        from iaclint.checks.estate import buckets_of

        needs: list[Need] = []
        for bucket in buckets_of(resource, graph):
            for need in bucket_reader_needs(bucket, graph):
                if not any(n.principal == need.principal for n in needs):
                    needs.append(need)
        return needs
    if service == "ebs" and resource.type == "aws_launch_template":
        from iaclint.checks.compute import autoscaling_launchers

        needs = []
        for launcher in autoscaling_launchers(resource, graph):
            need = autoscaling_need(launcher, graph)
            if not any(n.principal == need.principal for n in needs):
                needs.append(need)
        return needs
    return []


# ---- judging one key for a consumer ---------------------------------------------------------------------


class KeyVerdict(Record):
    """A key's verdict for some needs: its class, the policy and its holder, and each need's judgement."""

    _shown = ("key", "policy", "holder", "judged")

    def __init__(self, key: KeyClass, policy: Policy | None = None, holder: Resource | None = None,
                 judged: list[tuple[Need, Judgement]] | None = None):
        self.key = key
        self.policy = policy
        self.holder = holder
        self.judged = [] if judged is None else judged

    @property
    def failing(self) -> list[tuple[Need, Judgement]]:
        return [(n, j) for n, j in self.judged if j.state is False]

    @property
    def doubtful(self) -> list[tuple[Need, Judgement]]:
        return [(n, j) for n, j in self.judged if j.state is None]


def judge_key(key: KeyClass, needs: list[Need], graph: Graph, grants: bool = False) -> KeyVerdict:
    """Judge a customer managed key of the configuration for every need."""
    verdict = KeyVerdict(key)
    if key.kind is not KeyKind.CUSTOMER_MANAGED or key.key_resource is None:
        return verdict
    policy, holder = key_policy(key.key_resource, graph)
    verdict.policy, verdict.holder = policy, holder
    found = kms_grants(key.key_resource, graph) if grants else []
    for need in needs:
        verdict.judged.append((need, judge_use(policy, need, graph, _granted_to(found, need, graph))))
    return verdict


def kms_grants(key: Resource, graph: Graph) -> list[Resource]:
    """The aws_kms_grant resources on a key (indexed once per graph)."""
    from iaclint.checks.estate import _index

    def build(g: Graph) -> dict[str, list[Resource]]:
        index: dict[str, list[Resource]] = {}
        for grant in g.of_type("aws_kms_grant"):
            view = grant.attr("key_id")
            if grant.mode == "managed" and view.value is not None:
                for ref in view.value.all_refs():
                    index.setdefault(ref, []).append(grant)
        return index

    found = _index(graph, "_kms_grants", build).get(key.address, [])
    return found


def _granted_to(grants: list[Resource], need: Need, graph: Graph) -> list[Resource]:
    """The grants whose grantee is the needed role."""
    from iaclint.checks.policy import _plain

    out = []
    for grant in grants:
        grantee = grant.attr("grantee_principal").value
        if grantee is not None and need.principal.matches(_plain(grantee), graph)[0] is True:
            out.append(grant)
    return out


def default_policy_note(verdict: KeyVerdict) -> str:
    if verdict.policy is not None and verdict.policy.default:
        return (f"{verdict.key.key_resource.address} has no policy, so the AWS default key policy applies (the account "
                "root only), which")
    return f"the policy of {verdict.holder.address}" if verdict.holder is not None else "the key policy"


def policy_related(verdict: KeyVerdict) -> list[tuple[Span, str]]:
    if verdict.holder is None:
        return []
    span = policy_span(verdict.holder)
    return [(span, f"key policy of {verdict.key.key_resource.address}")] if span is not None else []


def statement_fix(verdict: KeyVerdict, needs: list[Need], consumer: Resource, graph: Graph,
                  note: str) -> tuple[dict, str]:
    """The `policy_statements` extra that adds the statements ``needs`` miss to the key's policy, or ({}, why not).

    The account is named through the module's data "aws_caller_identity" (added when there is none and the
    provider pins no account); a Regional principal through the consumer's known Region, else through a
    data "aws_region" of the consumer's provider in the policy's module."""
    from iaclint.fixes.kms import _region_attribute, _region_lookup_name
    from iaclint.fixes.policy import NewStatement, PolicyEdit, caller_identity_name

    holder = verdict.holder
    if holder is None:
        return {}, "the key is not in this configuration"
    extra: dict[str, Any] = {}
    blocks: list[tuple[str, str]] = []
    caller = caller_identity_name(graph, holder.module_address)
    own = graph.accounts.get(holder.provider_ref(), set())
    if caller is not None:
        account = "${data.aws_caller_identity." + caller + ".account_id}"
    elif len(own) == 1:
        account = next(iter(own))
    else:
        account = "${data.aws_caller_identity.current.account_id}"
        blocks.append((holder.address, 'data "aws_caller_identity" "current" {}\n'))
    region: str | None = None
    regional = [n for n in needs if isinstance(n.principal, ServicePrincipal) and n.principal.region is not None]
    if regional:
        place = regional[0].principal.region
        if place.value is not None:
            region = place.value
        else:
            lookup = _region_lookup_name(graph, holder.module_address, consumer)
            if lookup is None:
                if holder.module_address != consumer.module_address:
                    return {}, (f"the Region of {consumer.address} is not known before apply ({place.why}), and its "
                                f"key policy is in another module: name logs.<region>.amazonaws.com there by hand")
                taken = {r.name for r in graph.of_type("aws_region") if r.mode == "data"
                         and r.module_address == holder.module_address}
                lookup = "current" if "current" not in taken else f"{consumer.name}_region"
                provider = _provider_text(consumer, graph)
                text = f'data "aws_region" "{lookup}" {{}}\n' if provider is None else \
                    f'data "aws_region" "{lookup}" {{\n  provider = {provider}\n}}\n'
                blocks.append((holder.address, text))
            region = "${data.aws_region." + lookup + "." + _region_attribute(graph) + "}"
            note += (f"; the Region of {consumer.address} is known only at apply time ({place.why}): the statement "
                     f"names CloudWatch Logs of the Region data.aws_region.{lookup} resolves to, with the log "
                     "group's provider")
    statements = service_statements(needs, Refs(account, region))
    missing = {action.lower() for need, judgement in verdict.judged if need in needs for action in judgement.missing}
    if missing:  # only what is missing: a policy that lets CloudTrail describe the key gets no second such statement
        statements = [s for s in statements
                      if any(_overlap(a.lower(), m) for a in s.actions for m in missing)] or statements
    taken = {s.sid for s in verdict.policy.statements} if verdict.policy is not None else set()
    for statement in statements:
        base, number = statement.sid, 2
        while statement.sid in taken:
            statement.sid, number = f"{base}{number}", number + 1
    default = None
    if verdict.policy is not None and verdict.policy.default:
        default = NewStatement("EnableAccountRootAdministration", [f"arn:aws:iam::{account}:root"], ["kms:*"])
    extra["policy_statements"] = [PolicyEdit(holder.address, "policy", statements, note, default)]
    if blocks:
        extra["new_blocks"] = blocks
    return extra, ""


def _overlap(first: str, second: str) -> bool:
    """Do two IAM action patterns cover a common action?"""
    from iaclint.checks.services import glob_match

    return glob_match(first, second) or glob_match(second, first)


def _provider_text(resource: Resource, graph: Graph) -> str | None:
    """The `provider = ...` the resource is written with (None: the default provider of its module)."""
    block = getattr(resource, "block", None)
    node = block.attribute("provider") if block is not None else None
    if node is None:
        return None
    source = graph.sources.get(node.file)
    return source.text[node.expr.start:node.expr.end] if source is not None else None


# ---- one consumer, one key argument -----------------------------------------------------------------------


def _names_of(needs: list[Need]) -> str:
    return " and ".join(n.who for n in needs)


def consumer_key(consumer: Resource, attribute: str, needs: list[Need], graph: Graph, *, what: str,
                 consequence: str, absent: str, fix_note: str) -> CheckResult:
    """The verdict of a resource whose key argument ``attribute`` must let ``needs`` use the key."""
    view = consumer.attr(attribute)
    key = classify_key(view, graph)
    value = view.value if view.present else None
    if key.kind is KeyKind.ABSENT:
        return CheckResult.passed(absent)
    if key.kind is KeyKind.AWS_MANAGED:
        return CheckResult.failed(
            f"{attribute} is {key.reason}: AWS keeps that key's policy and nobody can edit it, so "
            f"{_names_of(needs)} can never use it; {consequence}", attribute=attribute, value=value,
            extra={"new_key": True})
    if key.kind is KeyKind.UNKNOWN:
        return CheckResult.unknown(f"{what}, and {attribute} cannot be classified: {key.reason}", attribute=attribute,
                                   value=value)
    if key.key_resource is None:
        return CheckResult.unknown(f"{what}, and {attribute} is {key.reason}, a key that is not in this "
                                   "configuration, so its policy cannot be read", attribute=attribute, value=value)
    verdict = judge_key(key, needs, graph)
    related = policy_related(verdict)
    if verdict.failing:
        missing = "; ".join(missing_text(j, n) for n, j in verdict.failing)
        extra, why = statement_fix(verdict, [n for n, _ in verdict.failing], consumer, graph, fix_note)
        denied = any(j.reason for _, j in verdict.failing)
        return CheckResult.failed(
            f"{attribute} is {key.reason}, and {default_policy_note(verdict)} {missing}: {consequence}",
            attribute=attribute, value=value, related=related, extra=extra,
            fixable=bool(extra) and not denied,
            no_fix_reason=why or "a Deny statement takes the use away: remove or narrow it by hand")
    if verdict.doubtful:
        doubts = "; ".join(f"{n.principal.shown}: {j.reason}" for n, j in verdict.doubtful)
        return CheckResult.unknown(f"{what} on {key.reason}, and whether its policy allows it cannot be told: "
                                   f"{doubts}", attribute=attribute, value=value, related=related)
    return CheckResult.passed(f"{key.reason}: " + "; ".join(j.reason for _, j in verdict.judged))


# ---- SNS003, SQS003 -----------------------------------------------------------------------------------------


def topic_publishers_key(topic: Resource, context: CheckContext) -> CheckResult:
    """SNS003: the AWS services that publish to an encrypted topic must be able to use its key."""
    graph = context.graph
    needs = publisher_needs(topic, graph)
    if not needs:
        return CheckResult.passed("no AWS service of this configuration publishes to it")
    result = consumer_key(
        topic, "kms_master_key_id", needs, graph, what=f"{_names_of(needs)} publish to it",
        consequence="what they publish is dropped without an error (the alarm or rule shows failed actions)",
        absent="no kms_master_key_id: the topic has no KMS encryption (SNS001 reports it), so publishers need no key",
        fix_note="the AWS services that publish to the topic may use the key (kms:GenerateDataKey*, kms:Decrypt)")
    return _with_publishers(result, topic, graph)


def queue_producers_key(queue: Resource, context: CheckContext) -> CheckResult:
    """SQS003: the AWS services that send to a queue on SSE-KMS must be able to use its key."""
    graph = context.graph
    needs = publisher_needs(queue, graph)
    if not needs:
        return CheckResult.passed("no AWS service of this configuration sends to it")
    sse = queue.attr("sqs_managed_sse_enabled")
    if not queue.attr("kms_master_key_id").is_set and sse.is_set and sse.value.known and sse.value.raw is True:
        return CheckResult.passed("it is on SSE-SQS, which is not KMS: producers need no key")
    result = consumer_key(
        queue, "kms_master_key_id", needs, graph, what=f"{_names_of(needs)} send to it",
        consequence="what they send is dropped without an error",
        absent="no kms_master_key_id: the queue is on SSE-SQS or unencrypted, not KMS, so producers need no key",
        fix_note="the AWS services that send to the queue may use the key (kms:GenerateDataKey*, kms:Decrypt)")
    return _with_publishers(result, queue, graph)


def _with_publishers(result: CheckResult, target: Resource, graph: Graph) -> CheckResult:
    from iaclint.checks.estate import publishers

    if result.verdict.value == "pass":
        return result
    related = list(result.related) + [(p.span or p.resource.header_span, f"{p.resource.address} publishes here "
                                       f"({p.argument}, as {p.principal})")
                                      for p in publishers(target, graph)[:6] if (p.span or p.resource.header_span)]
    result.related = related
    return result


# ---- LOG002, CTR001 -------------------------------------------------------------------------------------------


def log_group_key_policy(group: Resource, context: CheckContext) -> CheckResult:
    """LOG002: the log group's key must allow CloudWatch Logs of the log group's Region."""
    graph = context.graph
    need = log_group_need(group, graph)
    return consumer_key(
        group, "kms_key_id", [need], graph, what="CloudWatch Logs encrypts its data with kms_key_id",
        consequence="CloudWatch Logs cannot use the key, so creating the log group (or associating the key) fails",
        absent="no kms_key_id: CloudWatch Logs uses its own key (LOG001 reports it)",
        fix_note=f"CloudWatch Logs of {need.principal.shown.split('.', 1)[1].rsplit('.amazonaws.com', 1)[0]} may use "
                 "the key for the account's log groups there (kms:EncryptionContext:aws:logs:arn)")


def trail_key_policy(trail: Resource, context: CheckContext) -> CheckResult:
    """CTR001: the trail's key must let cloudtrail.amazonaws.com call kms:GenerateDataKey* for this trail."""
    graph = context.graph
    return consumer_key(
        trail, "kms_key_id", [trail_need(trail, graph)], graph,
        what="CloudTrail encrypts the log files with kms_key_id",
        consequence="the apply fails with InsufficientEncryptionPolicyException",
        absent="no kms_key_id: the log files are encrypted with SSE-S3 (CTR002 reports it)",
        fix_note="CloudTrail may generate data keys for the account's trails (kms:EncryptionContext:aws:cloudtrail:arn)")


# ---- S3B006: VPC Flow Logs and CloudFront origins reading SSE-KMS buckets -----------------------------------


class BucketUse(Record):
    """One bucket a service writes or reads as itself, as a consumer names it."""

    _shown = ("label", "bucket", "span")

    def __init__(self, label: str, bucket: Resource, span: Span | None):
        self.label = label  # "log_destination", "origin[1] (assets)"
        self.bucket = bucket
        self.span = span


def _bucket_uses(consumer: Resource, uses: list[BucketUse], need: Need, graph: Graph, consequence: str,
                 doubts: list[str]) -> CheckResult:
    """One verdict for the buckets a flow log or distribution uses, naming each failing one."""
    from iaclint.checks.estate import bucket_encryption

    failures: list[tuple[BucketUse, str, Any, dict]] = []  # (use, reason, holder, fix extra)
    unfixable: list[str] = []  # why a failure gets no automatic fix
    related: list[tuple[Span, str]] = []
    for use in uses:
        enc = bucket_encryption(use.bucket, graph)
        if enc.on_kms is False:
            continue
        if enc.on_kms is None:
            doubts.append(f"{use.label}: the encryption of {use.bucket.address} is not known ({enc.reason})")
            continue
        key = classify_key(enc.key, graph) if enc.key is not None else KeyClass(KeyKind.ABSENT, "not set")
        where = f"{use.label} reads {use.bucket.address}" if need.principal.shown.startswith("cloudfront") else \
            f"{use.label} is {use.bucket.address}"
        if enc.span is not None:
            related.append((enc.span, f"default encryption of {use.bucket.address}"))
        if key.kind in (KeyKind.ABSENT, KeyKind.AWS_MANAGED):
            shown = "the AWS managed key aws/s3 (kms_master_key_id is not set)" if key.kind is KeyKind.ABSENT \
                else key.reason
            failures.append((use, f"{where}, on SSE-KMS with {shown}, whose policy nobody can edit: "
                                  f"{need.principal.shown} can never use it", enc.holder, {"new_key": True}))
            continue
        if key.kind is KeyKind.UNKNOWN:
            doubts.append(f"{where}, on SSE-KMS, and its key cannot be classified ({key.reason})")
            continue
        if key.key_resource is None:
            doubts.append(f"{where}, on SSE-KMS with {key.reason}, a key that is not in this configuration")
            continue
        verdict = judge_key(key, [need], graph)
        related += policy_related(verdict)
        (judged_need, judgement), = verdict.judged
        if judgement.state is False:
            extra, why = statement_fix(verdict, [need], consumer, graph,
                                       f"{need.principal.shown} may use the key ({', '.join(need.actions)})")
            if judgement.reason:
                extra, why = {}, "a Deny statement takes the use away: remove or narrow it by hand"
            if why:
                unfixable.append(why)
            failures.append((use, f"{where}, on SSE-KMS with {key.reason}, and {default_policy_note(verdict)} "
                                  f"{missing_text(judgement, need)}", enc.holder, extra))
        elif judgement.state is None:
            doubts.append(f"{where}, on {key.reason}: {judgement.reason}")
    if failures:
        related += [(u.span, f"{u.label}") for u, *_ in failures if u.span is not None]
        reason = "; ".join(f for _, f, *_ in failures) + f": {consequence}"
        if doubts:
            reason += "; and " + "; ".join(doubts)
        extra: dict[str, Any] = {}
        holder = None
        if len(failures) == 1:
            use, _, holder, extra = failures[0]
            extra = dict(extra)
        elif all("policy_statements" in f[3] for f in failures):
            extra = {"policy_statements": [e for f in failures for e in f[3]["policy_statements"]],
                     "new_blocks": [b for f in failures for b in f[3].get("new_blocks", [])]}
        fixable = bool(extra)
        subject = holder if extra.get("new_key") else None
        if failures[0][0].span is not None:
            extra["locate_span"] = failures[0][0].span  # the consumer's end of the edge; the bucket is related
        return CheckResult.failed(reason, resource=subject, related=related, extra=extra, fixable=fixable,
                                  no_fix_reason=unfixable[0] if unfixable else
                                  "the buckets need keys of their own: give each one a customer managed key whose "
                                  "policy lets the service in")
    if doubts:
        return CheckResult.unknown("; ".join(doubts), related=related)
    return CheckResult.passed("every bucket it uses is on SSE-S3 or on a key that lets it in")


def flow_log_bucket_key(flow_log: Resource, context: CheckContext) -> CheckResult:
    """S3B006 (VPC Flow Logs): an SSE-KMS destination bucket's key must let delivery.logs.amazonaws.com use it."""
    from iaclint.checks.estate import flow_log_bucket

    graph = context.graph
    to_s3, buckets, why = flow_log_bucket(flow_log, graph)
    if to_s3 is False:
        return CheckResult.passed(why)
    if to_s3 is None:
        return CheckResult.unknown(why, attribute="log_destination_type")
    if not buckets:
        return CheckResult.unknown(f"it delivers to S3, and {why}, so whether its key lets log delivery in is not "
                                   "known", attribute="log_destination")
    view = flow_log.attr("log_destination")
    uses = [BucketUse("log_destination", bucket, view.span) for bucket in buckets]
    result = _bucket_uses(flow_log, uses, flow_log_need(flow_log), graph,
                          "the flow logs are not delivered (log delivery writes them with the key)", [])
    if result.resource is None and result.verdict.value != "pass":
        result.attribute = "log_destination"
    return result


def distribution_origin_keys(distribution: Resource, context: CheckContext) -> CheckResult:
    """S3B006 (CloudFront): an origin with an origin access control reading an SSE-KMS bucket needs
    cloudfront.amazonaws.com kms:Decrypt for this distribution."""
    from iaclint.checks.estate import oac_origins

    graph = context.graph
    origins, why = oac_origins(distribution, graph)
    if why:
        return CheckResult.unknown(f"its origins cannot be read: {why}")
    if not origins:
        return CheckResult.passed("no origin reads S3 through an origin access control (legacy origin access "
                                  "identities are not judged)")
    doubts = [f"{o.label}: {o.why}" for o in origins if not o.buckets]
    uses = [BucketUse(o.label, bucket, o.span) for o in origins for bucket in o.buckets]
    return _bucket_uses(distribution, uses, cloudfront_need(distribution, graph), graph,
                        "viewers get 403 errors for those objects", doubts)


# ---- S3B005: load balancer logs into an SSE-KMS bucket ------------------------------------------------------


def load_balancer_log_bucket(lb: Resource, context: CheckContext) -> CheckResult:
    """S3B005: ALB and Classic Load Balancer access (and connection) logs go only to SSE-S3 buckets (R1)."""
    from iaclint.checks.estate import bucket_encryption, buckets_named
    from iaclint.engine.conditions import as_bool

    graph = context.graph
    if lb.type != "aws_elb":
        kind = lb.attr("load_balancer_type")
        if kind.is_set and not kind.value.known:
            return CheckResult.unknown(f"load_balancer_type is unknown ({kind.value.unknown}); application load "
                                       "balancers deliver logs only to SSE-S3 buckets", attribute="load_balancer_type")
        if kind.is_set and kind.value.raw != "application":
            return CheckResult.passed(f"load_balancer_type is {render(kind.value)}: the SSE-S3-only rule is documented "
                                      "for application and classic load balancers; whether network load balancer "
                                      "logs accept SSE-KMS is not established, so they are not judged")
    blocks_names = ("access_logs",) if lb.type == "aws_elb" else ("access_logs", "connection_logs")
    failures: list[tuple[str, Any, Span | None]] = []
    doubts: list[tuple[str, Span | None]] = []
    related: list[tuple[Span, str]] = []
    for block_name in blocks_names:
        blocks, why = lb.nested(block_name)
        if why:
            doubts.append((why, None))
            continue
        logs = block_name.replace("_", " ")
        for block in blocks:
            enabled = block.attr("enabled")
            default = lb.type == "aws_elb"
            state = default if not enabled.is_set else (as_bool(enabled.value.raw) if enabled.value.known else None)
            if state is False:
                continue
            bucket_view = block.attr("bucket")
            where = bucket_view.span or block.span
            buckets, name = buckets_named(bucket_view.value if bucket_view.is_set else None, graph)
            if not buckets:
                if name is not None:
                    shown = f"{block_name}.bucket {name} is not a bucket of this configuration"
                elif bucket_view.is_set and not bucket_view.value.known:
                    shown = f"{block_name}.bucket is not known ({bucket_view.value.unknown})"
                else:
                    shown = f"{block_name}.bucket names no bucket of this configuration"
                doubts.append((f"{shown}, so whether it is on SSE-KMS is not known", where))
                continue
            for bucket in buckets:
                enc = bucket_encryption(bucket, graph)
                if enc.on_kms is None:
                    doubts.append((f"{logs} go to {bucket.address}, whose encryption is not known ({enc.reason})",
                                   where))
                elif enc.on_kms:
                    when = "" if state is True else f" (if {block_name}.enabled, which is unknown, is true)"
                    failures.append((f"{logs} go to {bucket.address}{when}, whose default encryption is SSE-KMS "
                                     f"({enc.reason})", enc, where))
                    related += list(enc.related)
    if failures:
        certain = [f for f in failures if "(if " not in f[0]]
        reason = "; ".join(f[0] for f in failures) + (
            ": Elastic Load Balancing writes logs only to buckets encrypted with SSE-S3, so they are not delivered "
            "(whether the apply fails too is not established)")
        enc = failures[0][1]
        extra: dict[str, Any] = {"locate_span": failures[0][2]} if failures[0][2] is not None else {}
        settings = _sse_s3_settings(enc)
        if settings is not None and len({id(f[1].holder) for f in failures}) == 1:
            extra.update(settings)
        verdict = CheckResult.failed if certain else CheckResult.unknown
        return verdict(reason, resource=enc.holder if "fix_settings" in extra else None, related=related,
                       extra=extra, fixable="fix_settings" in extra,
                       no_fix_reason="move each log bucket to SSE-S3 (sse_algorithm = \"AES256\") by hand")
    if doubts:
        spans = [span for _, span in doubts if span is not None]
        return CheckResult.unknown("; ".join(why for why, _ in doubts),
                                   extra={"locate_span": spans[0]} if spans else {})
    return CheckResult.passed("its log buckets are on SSE-S3 (or it delivers no logs)")


def _sse_s3_settings(enc) -> dict | None:
    """The suggestion for a load balancer log bucket: SSE-S3, without the key argument SSE-S3 does not take."""
    from iaclint.graph.paths import resolve

    leaves, why = resolve(enc.holder, f"{enc.prefix}rule.apply_server_side_encryption_by_default.sse_algorithm")
    if why or not leaves:
        return None
    settings = [(leaf.label, "AES256") for leaf in leaves]
    removals = [leaf.label.rsplit(".", 1)[0] + ".kms_master_key_id" for leaf in leaves
                if not leaf.missing and leaf.holder.attr("kms_master_key_id").present]
    return {"fix_settings": settings, "fix_removals": removals}


# ---- S3B004: replication of SSE-KMS objects -------------------------------------------------------------------


def replication_kms(config: Resource, context: CheckContext) -> CheckResult:
    """S3B004: a replication configuration of an SSE-KMS bucket opts in to SSE-KMS objects with a replica key of
    the destination's Region; an AWS managed replica key cannot go to another account (R6, R12)."""
    from iaclint.checks.estate import bucket_encryption, buckets_named
    from iaclint.checks.regions import key_region

    graph = context.graph
    source_view = config.attr("bucket")
    sources, name = buckets_named(source_view.value if source_view.is_set else None, graph)
    if not sources:
        if name is not None:
            shown = f"its source bucket {name} is not in this configuration"
        elif source_view.is_set and not source_view.value.known:
            shown = f"its source bucket is not known ({source_view.value.unknown})"
        else:
            shown = "its bucket names no bucket of this configuration"
        return CheckResult.unknown(f"{shown}, so whether it is on SSE-KMS is not known", attribute="bucket")
    enc = bucket_encryption(sources[0], graph)
    if enc.on_kms is False:
        return CheckResult.passed(f"the source bucket {sources[0].address} is not on SSE-KMS ({enc.reason})",
                                  masked=True)
    source_doubt = "" if enc.on_kms else f"if the source bucket is on SSE-KMS ({enc.reason})"
    rules, why = config.nested("rule")
    if why:
        return CheckResult.unknown(f"its rules cannot be read: {why}")
    problems: list[str] = []
    doubts: list[str] = []
    related: list[tuple[Span, str]] = list(enc.related)
    fix_settings: list[tuple[str, Any]] = []
    fix_key: list[str] = []  # paths that need a replica key
    destinations: list[Resource] = []
    unfixable = False
    for index, rule in enumerate(rules):
        label = _rule_label(rule, index, len(rules))
        prefix = f"rule[{index}]" if len(rules) > 1 else "rule"
        status = rule.attr("status").value
        if status is not None and status.known and status.raw == "Disabled":
            continue
        opted = _opted_in(rule)
        key_view = _replica_key(rule)
        destination, dest_why = _destination_bucket(rule, graph)
        rule_problems: list[str] = []
        if opted is None:
            doubts.append(f"{label}: whether sse_kms_encrypted_objects is Enabled is not known")
        elif opted is False:
            rule_problems.append("does not opt in to SSE-KMS objects (source_selection_criteria.sse_kms_encrypted_"
                                 "objects.status is not Enabled), so they are not replicated")
            fix_settings.append((f"{prefix}.source_selection_criteria.sse_kms_encrypted_objects.status", "Enabled"))
        if key_view is None or not key_view.is_set:
            if opted is not None:
                rule_problems.append("names no destination.encryption_configuration.replica_kms_key_id, which "
                                     "replicating SSE-KMS objects needs")
                fix_key.append(f"{prefix}.destination.encryption_configuration.replica_kms_key_id")
                if destination is not None:
                    destinations.append(destination)
                else:
                    unfixable = True
        else:
            key = classify_key(key_view, graph)
            where, key_resource = key_region(key_view.value, graph)
            if where.provider == "same":
                pass  # a key id or alias is looked up in the destination's own Region
            elif destination is not None and key_resource is not None and same_provider(destination, key_resource):
                pass  # one provider configuration: one Region, whatever it is
            elif destination is None:
                doubts.append(f"{label}: the destination bucket's Region is not known ({dest_why})")
            else:
                there = region_of(destination, graph)
                if where.value is not None and there.value is not None and where.value != there.value:
                    rule_problems.append(f"has a replica_kms_key_id of {where.value} ({where.why}), while its "
                                         f"destination {destination.address} is in {there.value} ({there.why}): S3 "
                                         "needs a key of the destination bucket's Region")
                    unfixable = True
                elif where.value is None or there.value is None:
                    doubts.append(f"{label}: whether the replica key is in the destination's Region is not known "
                                  f"({(where if where.value is None else there).why})")
            if key.kind is KeyKind.AWS_MANAGED:
                crossing, how = _other_account(rule, config, destination, graph)
                if crossing is True:
                    rule_problems.append(f"has replica_kms_key_id {key.reason}, and its destination is in another "
                                         f"account ({how}): AWS managed keys cannot be used across accounts (as for "
                                         "shared snapshots and cross-account backup copies)")
                    unfixable = True
                elif crossing is None and how:
                    doubts.append(f"{label}: replica_kms_key_id is {key.reason}, which cannot be used by another "
                                  f"account, and whether the destination is in another is not known ({how})")
            elif key.kind is KeyKind.UNKNOWN:
                doubts.append(f"{label}: replica_kms_key_id cannot be classified ({key.reason})")
        if rule_problems:
            problems.append(f"{label} " + "; ".join(rule_problems))
            if rule.span is not None:
                related.append((rule.span, label))
    if problems:
        reason = f"the source bucket {sources[0].address} is on SSE-KMS ({enc.reason}), and " + "; ".join(problems)
        reason += ": the replication API accepts this, and those objects are silently not replicated"
        if doubts:
            reason += "; and " + "; ".join(doubts)
        extra: dict[str, Any] = {}
        if fix_settings or fix_key:
            extra["fix_settings"] = fix_settings
            if fix_key:
                extra["fix_new_key"] = {"paths": fix_key, "for": destinations[0].address if destinations else "",
                                        "reuse": _destination_key_text(destinations, graph)}
        if source_doubt:
            return CheckResult.unknown(f"{source_doubt}: " + "; ".join(problems), related=related)
        return CheckResult.failed(reason, related=related, extra=extra,
                                  fixable=bool(extra) and not unfixable and len({d.address for d in destinations}) <= 1,
                                  no_fix_reason="a replica key must be a customer managed key of the destination "
                                                "bucket's Region (and account): choose it by hand")
    if doubts:
        return CheckResult.unknown("; ".join(doubts), related=related)
    return CheckResult.passed("every rule replicates SSE-KMS objects with a replica key of its destination's Region")


def _rule_label(rule, index: int, count: int) -> str:
    ident = rule.attr("id").value
    if ident is not None and ident.known and isinstance(ident.raw, str) and ident.raw:
        return f'rule "{ident.raw}"'
    return f"rule {index + 1}" if count > 1 else "the rule"


def _opted_in(rule) -> bool | None:
    from iaclint.graph.paths import resolve

    leaves, why = resolve(rule, "source_selection_criteria.sse_kms_encrypted_objects.status")
    if why:
        return None
    states = []
    for leaf in leaves:
        value = leaf.view.value
        if not leaf.view.is_set:
            states.append(False)
        elif not value.known:
            states.append(None)
        else:
            states.append(value.raw == "Enabled")
    if False in states or not states:
        return False
    return None if None in states else True


def _replica_key(rule) -> AttrView | None:
    from iaclint.graph.paths import leaf_value

    view, _ = leaf_value(rule, "destination.encryption_configuration.replica_kms_key_id")
    return view


def _destination_bucket(rule, graph: Graph) -> tuple[Resource | None, str]:
    from iaclint.checks.estate import buckets_named
    from iaclint.graph.paths import leaf_value

    view, why = leaf_value(rule, "destination.bucket")
    if view is None or not view.is_set:
        return None, why or "destination.bucket is not set"
    buckets, name = buckets_named(view.value, graph, "arn")
    if buckets:
        return buckets[0], ""
    return None, f"the destination bucket {name or render(view.value)} is not in this configuration"


def _other_account(rule, config: Resource, destination: Resource | None, graph: Graph) -> tuple[bool | None, str]:
    """Is the destination in another account than the replication configuration? From destination.account, else
    the destination bucket's provider (as BAK003 tells accounts apart)."""
    from iaclint.checks.policy import caller_account
    from iaclint.graph.paths import leaf_value
    from iaclint.graph.placement import same_account

    view, _ = leaf_value(rule, "destination.account")
    own = account_of(config, graph)
    if view is not None and view.is_set:
        value = view.value
        if caller_account(value.all_refs()):
            return False, ""
        if value.known and isinstance(value.raw, str):
            if own.value is not None:
                return value.raw != own.value, f"destination.account {value.raw}, this configuration's {own.value}"
            return None, f"destination.account is {value.raw}, and {own.why}"
        return None, f"destination.account is not known ({value.unknown})"
    if destination is not None:
        same, how = same_account(config, destination, graph)
        return (None if same is None else not same), how
    return False, ""


def _destination_key_text(destinations: list[Resource], graph: Graph) -> str:
    """A reference to the destination bucket's own customer managed key, written as in its configuration (the
    replica key to reuse), or ""."""
    from iaclint.checks.estate import bucket_encryption

    if not destinations:
        return ""
    enc = bucket_encryption(destinations[0], graph)
    if enc.on_kms is not True or enc.key is None or not enc.key.is_set:
        return ""
    key = classify_key(enc.key, graph)
    if key.kind is not KeyKind.CUSTOMER_MANAGED or key.key_resource is None:
        return ""
    node = getattr(enc.key, "node", None)
    source = graph.sources.get(node.file) if node is not None else None
    if source is None:
        return ""
    text = source.text[node.expr.start:node.expr.end]
    return text if key.key_resource.module_address == destinations[0].module_address else ""


# ---- ASG001: Auto Scaling's service-linked role and the launch template's keys --------------------------------


def autoscaling_key_access(launcher: Resource, context: CheckContext) -> CheckResult:
    """ASG001: Amazon EC2 Auto Scaling's service-linked role must be able to use the customer managed keys of the
    volumes it launches (R11)."""
    from iaclint.checks.compute import _judge_all, launch_sources

    graph = context.graph
    sources, why = launch_sources(launcher, graph)
    if why:
        return CheckResult.unknown(why)
    if not sources:
        return CheckResult.passed("it launches from no launch template or launch configuration of this configuration")
    need = autoscaling_need(launcher, graph)
    failures: list[str] = []
    doubts: list[str] = []
    related: list[tuple[Span, str]] = []
    verdicts: list[tuple[KeyVerdict, Need]] = []
    judged_keys: set[str] = set()
    for source in sources:
        volumes, why, _ = _judge_all(source, graph)
        if why:
            doubts.append(f"the volumes of {source.address} cannot be read: {why}")
            continue
        if source.header_span is not None:
            related.append((source.header_span, f"launches from {source.address}"))
        for judged in volumes:
            if judged.state is not True or judged.key is None:
                continue
            key = judged.key
            if key.kind in (KeyKind.ABSENT, KeyKind.AWS_MANAGED):
                continue  # "By default, Amazon EC2 Auto Scaling has access to the AWS managed CMK" (R11)
            if key.kind is KeyKind.UNKNOWN:
                doubts.append(f"{source.address}: the key of {judged.volume.label} cannot be classified ({key.reason})")
                continue
            if key.key_resource is None:
                doubts.append(f"{source.address}: {key.reason}, a key that is not in this configuration")
                continue
            if key.key_resource.address in judged_keys:
                continue
            judged_keys.add(key.key_resource.address)
            verdict = judge_key(key, [need], graph, grants=True)
            related += policy_related(verdict)
            (_, judgement), = verdict.judged
            if judgement.state is False:
                failures.append(f"{source.address}: {key.reason}, and {default_policy_note(verdict)} "
                                f"{missing_text(judgement, need)}")
                verdicts.append((verdict, need))
            elif judgement.state is None:
                doubts.append(f"{source.address}: {key.reason}: {judgement.reason}")
    if failures:
        reason = "; ".join(failures) + (": instances fail to launch at scale-out (Client.InternalError: Client error "
                                         "on launch); the account root's statement does not count, because the "
                                         "service-linked role's own permissions cannot be extended through IAM")
        if doubts:
            reason += "; and " + "; ".join(doubts)
        extras = [statement_fix(v, [n], launcher, graph, _autoscaling_note(n)) for v, n in verdicts]
        extra: dict[str, Any] = {}
        if all(e for e, _ in extras) and need.principal.written("x") is not None:
            extra = {"policy_statements": [p for e, _ in extras for p in e["policy_statements"]],
                     "new_blocks": [b for e, _ in extras for b in e.get("new_blocks", [])]}
        return CheckResult.failed(reason, related=related, extra=extra, fixable=bool(extra),
                                  no_fix_reason=next((w for _, w in extras if w), "the service-linked role in "
                                                     "service_linked_role_arn cannot be named: add it by hand"))
    if doubts:
        return CheckResult.unknown("; ".join(doubts), related=related)
    return CheckResult.passed("the keys of the volumes it launches let the Auto Scaling service-linked role in, or "
                              "are AWS managed")


def _autoscaling_note(need: Need) -> str:
    return (f"{need.principal.shown} may use the key and create grants for AWS resources on it; the role must "
            "exist before the policy names it (the account's first Auto Scaling group creates it, or "
            "aws_iam_service_linked_role), or KMS rejects the policy")


# ---- KMS005: key type -------------------------------------------------------------------------------------------

# Consumers whose need for a symmetric encryption key FACTS-3 leaves unverified (R14: EKS)
UNVERIFIED_SYMMETRIC = frozenset({"aws_eks_cluster"})


def key_type_for_consumers(key: Resource, context: CheckContext) -> CheckResult:
    """KMS005: a key used for encryption at rest must be a symmetric encryption key (SYMMETRIC_DEFAULT,
    ENCRYPT_DECRYPT)."""
    from iaclint.checks.policy import key_consumers

    graph = context.graph
    consumers = key_consumers(key, graph, replicas=True)
    if not consumers:
        return CheckResult.passed("no resource of this configuration encrypts data at rest with it (keys used by "
                                  "nothing are not judged)")
    problems: list[str] = []
    attribute = None
    value = None
    for name, wanted in (("customer_master_key_spec", "SYMMETRIC_DEFAULT"), ("key_usage", "ENCRYPT_DECRYPT")):
        view = key.attr(name)
        if not view.is_set:
            continue
        if not view.value.known:
            return CheckResult.unknown(f"{name} is unknown ({view.value.unknown}); the resources that use the key need "
                                       f"{wanted}", attribute=name, value=view.value)
        if view.value.raw != wanted:
            problems.append(f"{name} is {render(view.value)}")
            if attribute is None:
                attribute, value = name, view.value
    if not problems:
        return CheckResult.passed("a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)")
    verified = [(r, label) for r, label in consumers if r.type not in UNVERIFIED_SYMMETRIC]
    shown = ", ".join(f"{r.address}.{label}" for r, label in consumers[:5]) + (
        f" and {len(consumers) - 5} more" if len(consumers) > 5 else "")
    related = [(r.header_span, f"uses this key ({label})") for r, label in consumers[:6] if r.header_span]
    if not verified:
        return CheckResult.unknown(f"{' and '.join(problems)}, and it encrypts data at rest for {shown}: whether EKS "
                                   "needs a symmetric encryption key is not established in the facts iaclint relies "
                                   "on",
                                   attribute=attribute, value=value, related=related)
    return CheckResult.failed(
        f"{' and '.join(problems)}, but it encrypts data at rest for {shown}: only a symmetric encryption key "
        "(SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) can generate the data keys that needs, so creating or updating them "
        "fails. The key type cannot be changed (it replaces the key): give them a symmetric key instead",
        attribute=attribute, value=value, related=related, fixable=False,
        no_fix_reason="a key's type forces its replacement; create a symmetric key for these resources instead")


def s3_service_key(resource: Resource, context: CheckContext) -> CheckResult:
    """S3B006: the flow logs and CloudFront distributions that use an SSE-KMS bucket as themselves."""
    if resource.type == "aws_flow_log":
        return flow_log_bucket_key(resource, context)
    return distribution_origin_keys(resource, context)
