"""Checks for the rest of the AWS estate (S3, messaging, logs, secrets) that YAML conditions cannot say.

Most estate rules are YAML only (conditions on nested paths, `applies_when`, `when_absent`); what lives
here is the graph logic: which `aws_s3_bucket_server_side_encryption_configuration` decides a bucket's
default encryption, which buckets receive load balancer logs, which AWS services publish to a topic or
queue, a secret's replicas, and the SSM parameter name heuristic. Every index is built once per graph
from `graph.of_type`, never by scanning the graph per resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from iaclint.checks.keys import KeyKind, classify_key
from iaclint.engine.conditions import as_bool
from iaclint.engine.results import CheckContext, CheckResult
from iaclint.eval.values import PartialString, Value, render
from iaclint.graph.model import AttrView, Graph, Resource
from iaclint.graph.paths import resolve
from iaclint.model import Record, Severity, Span

BUCKET_TYPES = ("aws_s3_bucket", "aws_s3_directory_bucket")
SSE_CONFIGURATION = "aws_s3_bucket_server_side_encryption_configuration"
DEFAULT_RULE = "rule.apply_server_side_encryption_by_default"
LEGACY = "server_side_encryption_configuration."
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def _index(graph: Graph, name: str, build):
    """A per-graph index, built on first use (checks run per resource; indexes must not)."""
    found = graph.__dict__.get(name)
    if found is None:
        found = graph.__dict__[name] = build(graph)
    return found


def _targets(value: Value | None, graph: Graph, types: tuple[str, ...]) -> list[Resource]:
    if value is None:
        return []
    return [r for r in graph.referenced(value.all_refs()) if r.type in types and r.mode == "managed"]


# ---- who publishes to a topic or queue (FACTS-3 §2 R4, R5) ---------------------------------

PUBLISHERS = (
    # (publisher type, argument or path naming the topic/queue, service principal)
    ("aws_cloudwatch_metric_alarm", "alarm_actions", "cloudwatch.amazonaws.com"),
    ("aws_cloudwatch_metric_alarm", "ok_actions", "cloudwatch.amazonaws.com"),
    ("aws_cloudwatch_metric_alarm", "insufficient_data_actions", "cloudwatch.amazonaws.com"),
    ("aws_cloudwatch_event_target", "arn", "events.amazonaws.com"),
    ("aws_s3_bucket_notification", "topic.topic_arn", "s3.amazonaws.com"),
    ("aws_s3_bucket_notification", "queue.queue_arn", "s3.amazonaws.com"),
    ("aws_backup_vault_notifications", "sns_topic_arn", "backup.amazonaws.com"),
    ("aws_sns_topic_subscription", "endpoint", "sns.amazonaws.com"),
)


@dataclass(frozen=True)
class Publisher:
    """An AWS service that publishes to a topic or queue: its principal, the resource that makes it publish, and
    the argument that names the topic or queue."""

    principal: str
    resource: Resource
    argument: str  # "alarm_actions", "topic.topic_arn"
    span: Span | None

    @property
    def shown(self) -> str:
        return f"{self.resource.address}.{self.argument}"


def publishers(resource: Resource, graph: Graph) -> list[Publisher]:
    """The AWS services the configuration has publishing to a topic or queue: alarms, EventBridge targets, S3
    notifications, Backup vault notifications, SNS subscriptions (protocol sqs). RDS event subscriptions are left
    out: their principal is unverified (FACTS-3 R4)."""
    return _index(graph, "_publishers", _build_publishers).get(resource.address, [])


def _build_publishers(graph: Graph) -> dict[str, list[Publisher]]:
    index: dict[str, list[Publisher]] = {}
    for type_, path, principal in PUBLISHERS:
        for publisher in graph.of_type(type_):
            if publisher.mode != "managed":
                continue
            if type_ == "aws_sns_topic_subscription":
                protocol = publisher.attr("protocol").value
                if protocol is None or not protocol.known or protocol.raw != "sqs":
                    continue
            leaves, _ = resolve(publisher, path)
            for leaf in leaves:
                for target in _targets(leaf.view.value, graph, ("aws_sns_topic", "aws_sqs_queue")):
                    found = index.setdefault(target.address, [])
                    if not any(p.principal == principal and p.resource is publisher and p.argument == leaf.label
                               for p in found):
                        found.append(Publisher(principal, publisher, leaf.label, leaf.span))
    return index


# ---- buckets named by other resources, and who reads or writes them as a service (FACTS-3 §2 R1, R9, R10) ----


def _buckets_by_name(graph: Graph) -> dict[str, list[Resource]]:
    index: dict[str, list[Resource]] = {}
    for bucket in graph.of_type(*BUCKET_TYPES):
        name = bucket.attr("bucket").value
        if bucket.mode == "managed" and name is not None and name.known and isinstance(name.raw, str):
            index.setdefault(name.raw, []).append(bucket)
    return index


_S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::([^/]+)")
_S3_DOMAIN = re.compile(r"^([a-z0-9][a-z0-9.-]*?)\.s3(?:\.dualstack)?(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$")


def buckets_named(value: Value | None, graph: Graph, form: str = "name") -> tuple[list[Resource], str | None]:
    """The buckets of the configuration a value names (by reference, or by a literal name, bucket ARN or S3
    domain as ``form`` says), and the literal bucket name when it names one (a bucket that may not be here)."""
    if value is None:
        return [], None
    found = _targets(value, graph, BUCKET_TYPES)
    if found:
        return found, None
    if not value.known or not isinstance(value.raw, str):
        return [], None
    text = value.raw
    if form == "arn":
        match = _S3_ARN.match(text)
        name = match.group(1) if match else None
    elif form == "domain":
        match = _S3_DOMAIN.match(text)
        name = match.group(1) if match else None
    else:
        name = text
    if not name:
        return [], None
    return list(_index(graph, "_buckets_by_name", _buckets_by_name).get(name, ())), name


def flow_log_bucket(flow_log: Resource, graph: Graph) -> tuple[bool | None, list[Resource], str]:
    """(delivers to S3?, the destination buckets of the configuration, why) of an aws_flow_log."""
    kind = flow_log.attr("log_destination_type")
    if kind.is_set and not kind.value.known:
        return None, [], f"log_destination_type is unknown: {kind.value.unknown}"
    if not kind.is_set or kind.value.raw != "s3":
        shown = render(kind.value) if kind.is_set else '"cloud-watch-logs" (the default)'
        return False, [], f"log_destination_type is {shown}, not s3"
    destination = flow_log.attr("log_destination").value
    buckets, name = buckets_named(destination, graph, "arn")
    if buckets:
        return True, buckets, ""
    if name is not None:
        return True, [], f"its bucket {name} is not in this configuration"
    if destination is not None and not destination.known:
        return True, [], f"log_destination is not known ({destination.unknown})"
    shown = render(destination) if destination is not None else "not set"
    return True, [], f"log_destination ({shown}) names no bucket of this configuration"


@dataclass(frozen=True)
class Origin:
    """A CloudFront origin that reads an S3 bucket through an origin access control."""

    label: str  # "origin[1] (assets)"
    span: Span | None
    buckets: tuple[Resource, ...]
    why: str  # why no bucket of the configuration is known, when none is


def oac_origins(distribution: Resource, graph: Graph) -> tuple[list[Origin], str]:
    """The origins of a distribution that use an origin access control, with the buckets they read (matched
    through bucket_regional_domain_name / bucket_domain_name references or a literal S3 domain). Legacy origin
    access identities are not followed: whether they can read SSE-KMS objects at all is unverified (R9)."""
    origins, why = distribution.nested("origin")
    if why:
        return [], why
    out: list[Origin] = []
    for index, origin in enumerate(origins):
        control = origin.attr("origin_access_control_id")
        if not control.is_set or (control.value.known and control.value.raw == ""):
            continue
        if any(r.type == "aws_cloudfront_origin_access_control" and _origin_type(r) not in ("s3", None)
               for r in graph.referenced(control.value.all_refs())):
            continue  # an access control for MediaStore or Lambda, not S3
        origin_id = origin.attr("origin_id").value
        label = f"origin[{index}]" if len(origins) > 1 else "origin"
        if origin_id is not None and origin_id.known and isinstance(origin_id.raw, str):
            label += f" ({origin_id.raw})"
        domain = origin.attr("domain_name").value
        buckets, name = buckets_named(domain, graph, "domain")
        reason = ""
        if not buckets:
            reason = (f"its bucket {name} is not in this configuration" if name else
                      f"domain_name is not known ({domain.unknown})" if domain is not None and not domain.known else
                      f"domain_name ({render(domain) if domain is not None else 'not set'}) names no bucket of this "
                      "configuration")
        out.append(Origin(label, origin.span, tuple(buckets), reason))
    return out, ""


def _origin_type(control: Resource) -> str | None:
    kind = control.attr("origin_access_control_origin_type").value
    return kind.raw if kind is not None and kind.known and isinstance(kind.raw, str) else None


@dataclass(frozen=True)
class BucketReader:
    """A service that writes or reads a bucket's objects as its own principal: VPC Flow Logs (delivery.logs) or
    CloudFront through an origin access control."""

    kind: str  # "flow_log" or "cloudfront"
    resource: Resource


def bucket_readers(bucket: Resource, graph: Graph) -> list[BucketReader]:
    """The flow logs that deliver to the bucket and the distributions that read it through an origin access
    control (indexed once per graph)."""
    return _index(graph, "_bucket_readers", _build_bucket_readers).get(bucket.address, [])


def _build_bucket_readers(graph: Graph) -> dict[str, list[BucketReader]]:
    index: dict[str, list[BucketReader]] = {}
    for flow_log in graph.of_type("aws_flow_log"):
        if flow_log.mode != "managed":
            continue
        to_s3, buckets, _ = flow_log_bucket(flow_log, graph)
        if to_s3 is not False:
            for bucket in buckets:
                index.setdefault(bucket.address, []).append(BucketReader("flow_log", flow_log))
    for distribution in graph.of_type("aws_cloudfront_distribution"):
        if distribution.mode != "managed":
            continue
        origins, _ = oac_origins(distribution, graph)
        for origin in origins:
            for bucket in origin.buckets:
                readers = index.setdefault(bucket.address, [])
                if not any(r.resource is distribution for r in readers):
                    readers.append(BucketReader("cloudfront", distribution))
    return index


def buckets_of(holder: Resource, graph: Graph) -> list[Resource]:
    """The buckets a bucket's encryption holder stands for: the bucket itself, or those an
    aws_s3_bucket_server_side_encryption_configuration names."""
    if holder.type in BUCKET_TYPES:
        return [holder]
    view = holder.attr("bucket")
    buckets, _ = buckets_named(view.value if view.is_set else None, graph)
    return buckets


# ---- S3 default encryption ------------------------------------------------------------------


class BucketEncryption(Record):
    """A bucket's default encryption: where it is decided, the algorithm, the key and the Bucket Key flag."""

    _shown = ("algorithm", "reason", "holder", "prefix", "key", "bucket_key", "span", "related", "value")

    def __init__(self, algorithm: str | None, reason: str, holder: Resource, prefix: str = "",
                 key: AttrView | None = None, bucket_key: AttrView | None = None, span: Span | None = None,
                 related: list[tuple[Span, str]] | None = None, value: Value | None = None):
        self.algorithm = algorithm  # "AES256", "aws:kms", "aws:kms:dsse"; None when unknown
        self.reason = reason
        self.holder = holder  # the configuration resource, or the bucket (inline block, or nothing set)
        self.prefix = prefix  # the path of the settings inside holder ("" or "server_side_encryption_configuration.")
        self.key = key
        self.bucket_key = bucket_key
        self.span = span
        self.related = [] if related is None else related
        self.value = value  # the algorithm as written

    @property
    def on_kms(self) -> bool | None:
        return None if self.algorithm is None else self.algorithm in KMS_ALGORITHMS


def _build_configurations(graph: Graph) -> dict:
    """Bucket address -> its configuration resources; literal bucket name -> them; and those naming neither."""
    by_bucket: dict[str, list[Resource]] = {}
    by_name: dict[str, list[Resource]] = {}
    unresolved: dict[str, list[Resource]] = {}  # module address -> configurations whose bucket is unknown
    for config in graph.of_type(SSE_CONFIGURATION):
        if config.mode != "managed":
            continue
        view = config.attr("bucket")
        targets = _targets(view.value, graph, BUCKET_TYPES) if view.is_set else []
        if targets:
            for bucket in targets:
                by_bucket.setdefault(bucket.address, []).append(config)
        elif view.is_set and view.value.known and isinstance(view.value.raw, str):
            by_name.setdefault(view.value.raw, []).append(config)
        else:
            unresolved.setdefault(config.module_address, []).append(config)
    return {"by_bucket": by_bucket, "by_name": by_name, "unresolved": unresolved}


def bucket_encryption(bucket: Resource, graph: Graph) -> BucketEncryption:
    """The default encryption of an S3 bucket: from the aws_s3_bucket_server_side_encryption_configuration that
    names it (by reference to its id or bucket, or by the same literal name), else from the deprecated inline
    server_side_encryption_configuration, else SSE-S3, the default for every new object since 2023-01-05."""
    index = _index(graph, "_s3_configurations", _build_configurations)
    configs = list(index["by_bucket"].get(bucket.address, ()))
    name = bucket.attr("bucket").value
    if name is not None and name.known and isinstance(name.raw, str):
        configs += [c for c in index["by_name"].get(name.raw, ()) if c not in configs]
    if configs:
        config = configs[0]
        related = [(config.header_span, f"default encryption set by {config.address}")] if config.header_span else []
        return _read_rules(config, "", f"{config.address}", related)
    if bucket.type == "aws_s3_bucket":
        blocks, why = bucket.nested("server_side_encryption_configuration")
        if why:
            return BucketEncryption(None, why, bucket)
        if blocks:
            return _read_rules(bucket, LEGACY, "the inline server_side_encryption_configuration", [])
    doubtful = index["unresolved"].get(bucket.module_address, ())
    if doubtful:
        config = doubtful[0]
        return BucketEncryption(None, f"{config.address} sets a default encryption for a bucket it names by a value "
                                f"that is not known ({render(config.attr('bucket').value)}), which may be this one",
                                bucket, related=[(config.header_span, config.address)] if config.header_span else [])
    return BucketEncryption("AES256", "no server-side encryption configuration names it, so S3 encrypts new objects "
                            "with SSE-S3 (Amazon S3 managed keys), the default since 2023-01-05", bucket)


def _read_rules(holder: Resource, prefix: str, where: str, related: list) -> BucketEncryption:
    leaves, why = resolve(holder, f"{prefix}{DEFAULT_RULE}.sse_algorithm")
    if why:
        return BucketEncryption(None, why, holder, prefix, related=related)
    judged = []
    for leaf in leaves:
        view = leaf.view
        if not view.is_set:
            judged.append(("AES256", f"{where} has no apply_server_side_encryption_by_default, so new objects get "
                                     "SSE-S3 (Amazon S3 managed keys)", leaf, None))
            continue
        value = view.value
        if not value.known:
            return BucketEncryption(None, f"{leaf.label} is unknown: {value.unknown}", holder, prefix,
                                    span=leaf.span, related=related, value=value)
        judged.append((str(value.raw), f"{where} sets sse_algorithm = {render(value)}", leaf, value))
    # AWS keeps one rule; where several are written, the weakest decides
    judged.sort(key=lambda j: j[0] in KMS_ALGORITHMS)
    algorithm, reason, leaf, value = judged[0]
    depth = 1 if prefix else 0  # leaf.blocks: [server_side_encryption_configuration,] rule, apply_...
    rule = leaf.blocks[depth] if len(leaf.blocks) > depth else None
    key = leaf.holder.attr("kms_master_key_id") if not leaf.missing else None
    bucket_key = rule.attr("bucket_key_enabled") if rule is not None else None
    return BucketEncryption(algorithm, reason, holder, prefix, key, bucket_key, leaf.span, related, value)


def _load_balancer_logs(graph: Graph) -> dict:
    """Bucket address or literal name -> (load balancer, enabled state) for ALB and Classic Load Balancer logs."""
    index: dict[str, list[tuple[Resource, bool | None, str]]] = {}
    for lb in graph.of_type("aws_lb", "aws_alb", "aws_elb"):
        if lb.mode != "managed":
            continue
        if lb.type != "aws_elb":
            kind = lb.attr("load_balancer_type").value
            if kind is not None and kind.known and kind.raw not in ("application", None):
                continue  # network and gateway load balancers: their log delivery is another story (unverified)
            if kind is not None and not kind.known:
                continue
        for block_name in ("access_logs", "connection_logs"):
            blocks, _ = lb.nested(block_name)
            for block in blocks:
                enabled = block.attr("enabled")
                default = lb.type == "aws_elb"  # Classic: enabled defaults to true; ALB: false
                state = default if not enabled.is_set else (
                    as_bool(enabled.value.raw) if enabled.value.known else None)
                if state is False:
                    continue
                bucket = block.attr("bucket").value
                keys = [t.address for t in _targets(bucket, graph, BUCKET_TYPES)]
                if not keys and bucket is not None and bucket.known and isinstance(bucket.raw, str):
                    keys = [bucket.raw]
                for key in keys:
                    index.setdefault(key, []).append((lb, state, block_name))
    return index


def load_balancer_logs(bucket: Resource, graph: Graph) -> list[tuple[Resource, bool | None, str]]:
    """The load balancers that deliver logs to the bucket, and the bucket policies that let ELB deliver them."""
    index = _index(graph, "_lb_log_buckets", _load_balancer_logs)
    found = list(index.get(bucket.address, ()))
    name = bucket.attr("bucket").value
    if name is not None and name.known and isinstance(name.raw, str):
        found += index.get(name.raw, [])
    policies = _index(graph, "_elb_log_policies", _elb_log_policies)
    found += [(policy, True, "elb_log_delivery_policy") for policy in policies.get(bucket.address, ())]
    return found


ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"
_ELB_ACCOUNT = re.compile(r"(?:^|\.)data\.aws_elb_service_account\.")


def _elb_log_policies(graph: Graph) -> dict[str, list[Resource]]:
    """Bucket address -> its aws_s3_bucket_policy resources that allow Elastic Load Balancing to write logs: a
    statement whose principal is logdelivery.elasticloadbalancing.amazonaws.com or the account that
    data "aws_elb_service_account" names (a bucket made for load balancers that are not in this configuration).

    Read from the policy's text (jsonencode or JSON) and from the aws_iam_policy_document data sources it
    refers to, their source documents included: a merged document is often unknown as a whole (a counted
    document's json), while the statement that lets ELB in is plain in its own document."""
    from iaclint.checks.policy import read_policy

    index: dict[str, list[Resource]] = {}
    for holder in graph.of_type("aws_s3_bucket_policy"):
        if holder.mode != "managed" or not holder.attr("bucket").is_set:
            continue
        buckets = _targets(holder.attr("bucket").value, graph, BUCKET_TYPES)
        if not buckets:
            continue
        policy = read_policy(holder, "policy", graph)
        allows = any(statement.effect == "Allow" and statement.principals and
                     f"Service:{ELB_LOG_DELIVERY}" in statement.principals for statement in policy.statements)
        if allows or _documents_allow_elb(holder.attr("policy").value, graph, 0):
            for bucket in buckets:
                index.setdefault(bucket.address, []).append(holder)
    return index


def _documents_allow_elb(value: Value | None, graph: Graph, depth: int) -> bool:
    if value is None or depth > 3:
        return False
    for document in graph.referenced(value.all_refs()):
        if document.mode != "data" or document.type != "aws_iam_policy_document":
            continue
        statements, _ = document.nested("statement")
        for statement in statements:
            effect = statement.attr("effect").value
            if effect is not None and effect.known and effect.raw != "Allow":
                continue
            principals, _ = statement.nested("principals")
            for principal in principals:
                ids = principal.attr("identifiers").value
                if ids is None:
                    continue
                if any(_ELB_ACCOUNT.search(r) for r in ids.all_refs()):
                    return True
                if ids.known and isinstance(ids.raw, list) and any(
                        item.known and item.raw == ELB_LOG_DELIVERY for item in ids.raw):
                    return True
        for name in ("source_policy_documents", "override_policy_documents"):
            if _documents_allow_elb(document.attr(name).value, graph, depth + 1):
                return True
    return False


def _subject(enc: BucketEncryption, bucket: Resource) -> Resource | None:
    return enc.holder if enc.holder is not bucket else None


def s3_default_encryption(bucket: Resource, context: CheckContext) -> CheckResult:
    """S3B001: the bucket's default encryption is SSE-KMS or DSSE-KMS (S3.17), except ALB and CLB log buckets."""
    graph = context.graph
    enc = bucket_encryption(bucket, graph)
    related = list(enc.related)
    if enc.on_kms is True:
        return CheckResult.passed(enc.reason)
    for lb, state, block in load_balancer_logs(bucket, graph):
        what = "a Classic Load Balancer" if lb.type == "aws_elb" else "an Application Load Balancer"
        if lb.type == "aws_s3_bucket_policy":
            return CheckResult.passed(f"its policy {lb.address} lets Elastic Load Balancing deliver access logs, "
                                      "which supports SSE-S3 only, so S3.17 does not apply")
        if state is True:
            return CheckResult.passed(f"it receives the {block.replace('_', ' ')} of {lb.address} ({what}), whose "
                                      "delivery supports SSE-S3 only, so S3.17 does not apply")
        return CheckResult.unknown(f"{enc.reason}; it may receive the {block.replace('_', ' ')} of {lb.address} "
                                   f"({block}.enabled is unknown), which support SSE-S3 only", related=related,
                                   fixable=False, no_fix_reason="a load balancer log bucket must stay on SSE-S3")
    if enc.on_kms is None:
        return CheckResult.unknown(enc.reason, resource=_subject(enc, bucket), related=related,
                                   extra={"locate_span": enc.span} if enc.span else {})
    control = ("Security Hub S3.17 covers general purpose buckets; the same policy for a directory bucket"
               if bucket.type == "aws_s3_directory_bucket" else "Security Hub S3.17")
    return CheckResult.failed(f"the bucket is encrypted, with SSE-S3 (Amazon S3 managed keys): {enc.reason}. This is "
                              f"the KMS policy ({control}): default encryption with a KMS key lets the key "
                              "policy decide who can read the objects", resource=_subject(enc, bucket),
                              related=related, value=enc.value, extra={"locate_span": enc.span} if enc.span else {})


def s3_customer_key(bucket: Resource, context: CheckContext) -> CheckResult:
    """S3B002: an SSE-KMS bucket's key is omitted (aws/s3) or AWS managed; high for a directory bucket."""
    graph = context.graph
    enc = bucket_encryption(bucket, graph)
    if enc.on_kms is not True:
        if enc.on_kms is False:
            return CheckResult.passed(f"not on KMS ({enc.reason}); S3B001 reports that")
        return CheckResult.unknown(enc.reason, resource=_subject(enc, bucket), related=list(enc.related))
    reported = _reported_elsewhere(bucket, context)
    if reported:
        return CheckResult.passed(reported)
    directory = bucket.type == "aws_s3_directory_bucket"
    extra: dict = {"locate_span": enc.span} if enc.span else {}
    key = classify_key(enc.key, graph) if enc.key is not None else None
    if key is None or key.kind is KeyKind.ABSENT:
        reason = f"{enc.reason} without kms_master_key_id, so the AWS managed key aws/s3 is used"
    elif key.kind is KeyKind.AWS_MANAGED:
        reason = f"{enc.reason} with kms_master_key_id {key.reason}"
        if enc.key.span is not None:
            extra["locate_span"] = enc.key.span
    elif key.kind is KeyKind.UNKNOWN:
        return CheckResult.unknown(f"kms_master_key_id cannot be classified: {key.reason}",
                                   resource=_subject(enc, bucket), related=list(enc.related),
                                   value=enc.key.value, extra=extra)
    else:
        return CheckResult.passed(f"{enc.reason} with {key.reason}")
    readers = _readers_reported(bucket, context)
    if readers:
        return CheckResult.passed(readers)
    if directory:
        extra["severity"] = Severity.HIGH
        reason += ": a directory bucket does not support the AWS managed key aws/s3 at all, so the apply fails"
    else:
        reason = "the bucket is encrypted, " + reason
    return CheckResult.failed(reason, resource=_subject(enc, bucket), related=list(enc.related),
                              value=enc.key.value if enc.key is not None and enc.key.present else None, extra=extra)


def _reported_elsewhere(bucket: Resource, context: CheckContext) -> str:
    """Why a KMS setting of this bucket is not judged: load balancers deliver logs to it, which must move it to
    SSE-S3 (S3B005 reports it on them), or ""."""
    from iaclint.engine.rules import rule_by_id

    rule = rule_by_id("S3B005")
    if rule is None or not context.reports(rule):
        return ""
    for lb, state, block in load_balancer_logs(bucket, context.graph):
        if lb.type in ("aws_lb", "aws_alb", "aws_elb") and state is True:
            return (f"{lb.address} delivers its {block.replace('_', ' ')} here, so the bucket must be on SSE-S3: "
                    "S3B005 reports it")
    return ""


def _readers_reported(bucket: Resource, context: CheckContext) -> str:
    """Why an AWS managed key of this bucket is reported elsewhere: flow logs or CloudFront distributions use the
    bucket as themselves and can never use aws/s3 (S3B006 reports it on them), or ""."""
    from iaclint.engine.rules import rule_by_id

    rule = rule_by_id("S3B006")
    readers = bucket_readers(bucket, context.graph)
    if rule is None or not readers or not context.reports(rule):
        return ""
    names = ", ".join(r.resource.address for r in readers[:3])
    return f"{names} use the bucket as AWS services that can never use the AWS managed key: S3B006 reports it"


def s3_bucket_key(bucket: Resource, context: CheckContext) -> CheckResult:
    """S3B003: SSE-KMS (not DSSE-KMS, where Bucket Keys do not apply) without bucket_key_enabled = true."""
    enc = bucket_encryption(bucket, context.graph)
    if enc.algorithm != "aws:kms":
        if enc.algorithm is None:
            return CheckResult.unknown(enc.reason, resource=_subject(enc, bucket), related=list(enc.related))
        return CheckResult.passed(f"not on SSE-KMS ({enc.reason}): Bucket Keys apply to aws:kms only")
    reported = _reported_elsewhere(bucket, context)
    if reported:
        return CheckResult.passed(reported)
    view = enc.bucket_key
    extra = {"locate_span": view.span if view is not None and view.span else enc.span} if enc.span else {}
    if view is not None and view.is_set:
        if not view.value.known:
            return CheckResult.unknown(f"bucket_key_enabled is unknown: {view.value.unknown}",
                                       resource=_subject(enc, bucket), value=view.value, extra=extra)
        if as_bool(view.value.raw) is True:
            return CheckResult.passed("bucket_key_enabled is true")
        state = f"bucket_key_enabled is {render(view.value)}"
    else:
        state = "bucket_key_enabled is not set (default false)"
    return CheckResult.failed(f"{enc.reason}, and {state}: every object read and write calls KMS, which costs a "
                              "request each and can be throttled; an S3 Bucket Key cuts those calls",
                              resource=_subject(enc, bucket), related=list(enc.related),
                              value=view.value if view is not None and view.present else None, extra=extra)


# ---- Secrets Manager --------------------------------------------------------------------------


def secret_customer_key(secret: Resource, context: CheckContext) -> CheckResult:
    """SEC001: a secret and each of its replicas on a customer managed key; one finding naming the failures."""
    graph = context.graph
    problems: list[str] = []
    doubts: list[str] = []
    view = secret.attr("kms_key_id")
    key = classify_key(view, graph)
    own = key.kind
    if own is KeyKind.ABSENT:
        problems.append("kms_key_id is not set, so the AWS managed key aws/secretsmanager is used")
    elif own is KeyKind.AWS_MANAGED:
        problems.append(f"kms_key_id is {key.reason}")
    elif own is KeyKind.UNKNOWN:
        doubts.append(f"kms_key_id cannot be classified: {key.reason}")
    replicas, why = secret.nested("replica")
    if why:
        doubts.append(why)
    failing_replicas: list[str] = []
    related: list[tuple[Span, str]] = []
    for replica in replicas:
        region = replica.attr("region").value
        shown = render(region) if region is not None else "an unknown Region"
        replica_key = classify_key(replica.attr("kms_key_id"), graph)
        if replica_key.kind is KeyKind.ABSENT:
            failing_replicas.append(f"the replica in {shown} uses the AWS managed key aws/secretsmanager of its Region")
        elif replica_key.kind is KeyKind.AWS_MANAGED:
            failing_replicas.append(f"the replica in {shown} uses {replica_key.reason}")
        elif replica_key.kind is KeyKind.UNKNOWN:
            doubts.append(f"the key of the replica in {shown} cannot be classified: {replica_key.reason}")
            continue
        else:
            continue
        if replica.span is not None:
            related.append((replica.span, f"replica in {shown}"))
    problems += failing_replicas
    if problems:
        fixable = own in (KeyKind.ABSENT, KeyKind.AWS_MANAGED) and not failing_replicas
        return CheckResult.failed("the secret is encrypted, but " + "; ".join(problems), attribute="kms_key_id",
                                  value=view.value if view.present else None, related=related, fixable=fixable,
                                  no_fix_reason="a replica's key must be a customer managed key of the replica's "
                                                "Region: set its kms_key_id to one (a multi-Region key's replica)")
    if doubts:
        return CheckResult.unknown("; ".join(doubts), attribute="kms_key_id",
                                   value=view.value if view.present else None)
    return CheckResult.passed(key.reason)


# ---- SSM parameters ---------------------------------------------------------------------------

SECRET_NAME = re.compile(r"password|passwd|secret|token|api[_-]?key|private_?key|credential", re.IGNORECASE)


def _last_segment(value: Value) -> tuple[str | None, str]:
    """The text after the name's last "/", when it is known (a name built from variables usually ends in a
    literal segment: "/${var.env}/db/password")."""
    raw = value.raw if value.known else value.raw if isinstance(value.raw, PartialString) else None
    if isinstance(raw, str):
        return raw.rsplit("/", 1)[-1], ""
    if isinstance(raw, PartialString):
        tail = raw.parts[-1] if raw.parts else None
        if tail is not None and "/" in tail:
            return tail.rsplit("/", 1)[-1], ""
        return None, "the last segment of name is not known"
    return None, f"name is unknown ({value.unknown})" if not value.known else "name is not a string"


def plaintext_secret_parameter(parameter: Resource, context: CheckContext) -> CheckResult:
    """SSM001: a String or StringList parameter whose name's last segment looks like a secret."""
    name = parameter.attr("name")
    if not name.is_set:
        return CheckResult.passed("name is not set")
    segment, why = _last_segment(name.value)
    if segment is None:
        return CheckResult.passed(f"the name heuristic cannot be applied: {why}")
    match = SECRET_NAME.search(segment)
    if match is None:
        return CheckResult.passed(f"the name's last segment {segment!r} does not look like a secret")
    kind = parameter.attr("type")
    looks = f"the name's last segment {segment!r} contains {match.group(0)!r}, which looks like a secret"
    if not kind.is_set:
        return CheckResult.unknown(f"{looks}, and type is not set", attribute="type")
    if not kind.value.known:
        return CheckResult.unknown(f"{looks}, and type is unknown: {kind.value.unknown}", attribute="type",
                                   value=kind.value)
    if kind.value.raw not in ("String", "StringList"):
        return CheckResult.passed(f"type is {render(kind.value)}")
    return CheckResult.failed(f"type is {render(kind.value)}, stored in plain text, and the name's last segment "
                              f"{segment!r} contains {match.group(0)!r}, which looks like a secret (a name "
                              "heuristic): use SecureString", attribute="type", value=kind.value)
