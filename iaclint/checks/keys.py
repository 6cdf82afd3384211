"""Classify a KMS key reference: customer managed, AWS managed, absent, or unknown.

One function for every CMK rule, so `alias/aws/rds`, its alias ARN and a data source looked up by it
are AWS managed everywhere, and a key created in the same configuration is customer managed even
when its ARN is known only after apply (the value's refs name the `aws_kms_key`).
"""

from __future__ import annotations

import re
from enum import Enum

from iaclint.eval.values import AfterApply, Alternatives, PartialString, Value, render
from iaclint.graph.model import AttrView, Graph, Resource
from iaclint.model import Record

CMK_RESOURCE_TYPES = {"aws_kms_key", "aws_kms_replica_key", "aws_kms_external_key", "aws_kms_replica_external_key"}

_ARN = r"arn:aws[a-z-]*:kms:[a-z0-9-]*:\d{12}:"
_AWS_ALIAS = re.compile(rf"^(?:{_ARN})?alias/aws/[\w/.-]+$")
_ALIAS = re.compile(rf"^(?:{_ARN})?alias/[\w/.-]+$")
_KEY_ARN = re.compile(rf"^{_ARN}key/(?:[0-9a-fA-F-]{{36}}|mrk-[0-9a-fA-F]{{32}})$")
_KEY_ID = re.compile(r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$")


class KeyKind(str, Enum):
    CUSTOMER_MANAGED = "customer_managed"
    AWS_MANAGED = "aws_managed"
    ABSENT = "absent"
    UNKNOWN = "unknown"


class KeyClass(Record):
    """How a key argument was classified (customer managed, AWS managed, unknown) and why."""

    _shown = ("kind", "reason", "key_resource")

    def __init__(self, kind: KeyKind, reason: str, key_resource: Resource | None = None):
        self.kind = kind
        self.reason = reason
        self.key_resource = key_resource

    def describe(self) -> str:
        return self.reason


def classify_key(source: AttrView | Value | None, graph: Graph, _depth: int = 0) -> KeyClass:
    value = source.value if isinstance(source, AttrView) else source
    if isinstance(source, AttrView) and not source.present:
        value = None
    if value is None or value.is_null or (value.known and value.raw == ""):
        return KeyClass(KeyKind.ABSENT, "not set")
    if value.known:
        if isinstance(value.raw, str):
            return classify_key_text(value.raw)
        return KeyClass(KeyKind.UNKNOWN, f"{render(value)} is not a KMS key reference")
    if isinstance(value.raw, Alternatives):
        return _classify_alternatives(value.raw, graph, _depth)
    return _classify_by_reference(value, graph, _depth)


def _classify_alternatives(choice: Alternatives, graph: Graph, depth: int) -> KeyClass:
    """A key chosen by a conditional whose condition is unknown: the kind every branch has, else unknown. The
    branches' references are never read as if both were taken (one customer managed key among them decides
    nothing)."""
    classes = [classify_key(v, graph, depth + 1) for v in choice.values]
    kinds = {c.kind for c in classes}
    described = " or ".join(dict.fromkeys(c.reason for c in classes))
    if len(kinds) == 1 and KeyKind.UNKNOWN not in kinds:
        kind = classes[0].kind
        keys = {id(c.key_resource) for c in classes}
        # the key itself only when every branch names the same one: a key policy read from one branch's key
        # would decide for a key the other branch may pick
        key = classes[0].key_resource if len(keys) == 1 else None
        return KeyClass(kind, f"{described}, whichever way the condition goes", key)
    return KeyClass(KeyKind.UNKNOWN, f"it depends on a condition that is unknown ({choice.condition}): {described}")


# Values some key arguments accept for the AWS owned key (QLDB and Aurora DSQL `AWS_OWNED_KMS_KEY`; the
# `AWS_OWNED_KEY` a Neptune Analytics graph reads back): not a customer managed key, so they count with the
# AWS managed ones.
AWS_OWNED_VALUES = ("AWS_OWNED_KMS_KEY", "AWS_OWNED_KEY")


def classify_key_text(text: str) -> KeyClass:
    shown = render(Value(text))
    if text in AWS_OWNED_VALUES:
        return KeyClass(KeyKind.AWS_MANAGED, f"{shown}, the AWS owned key")
    if _AWS_ALIAS.match(text):
        return KeyClass(KeyKind.AWS_MANAGED, f"the AWS managed key {shown}")
    if _KEY_ARN.match(text):
        return KeyClass(KeyKind.CUSTOMER_MANAGED, f"a key ARN {shown}")
    if _KEY_ID.match(text):
        return KeyClass(KeyKind.CUSTOMER_MANAGED, f"a key id {shown}")
    if _ALIAS.match(text):
        return KeyClass(KeyKind.CUSTOMER_MANAGED, f"the customer managed key alias {shown}")
    return KeyClass(KeyKind.UNKNOWN, f"{shown} is not a KMS key id, key ARN or alias")


def _classify_by_reference(value: Value, graph: Graph, depth: int) -> KeyClass:
    if isinstance(value.raw, PartialString):
        text = value.raw.literal_text()
        if re.search(r"(?:^|:)alias/aws/", text):
            return KeyClass(KeyKind.AWS_MANAGED, "an AWS managed key alias (alias/aws/...) with unknown parts")
        if re.search(r":key/|(?:^|:)alias/", text):
            what = "key ARN" if ":key/" in text else "alias"
            return KeyClass(KeyKind.CUSTOMER_MANAGED, f"a customer managed {what} with unknown parts")
    if not isinstance(value.unknown, AfterApply):
        # unknown because an input has no value (or a function of one): the resources it mentions decide nothing
        return KeyClass(KeyKind.UNKNOWN, value.unknown or "cannot be resolved")
    refs = value.all_refs()
    targets = graph.referenced(refs)
    undeclared = sorted(r for r in refs if r not in graph.by_address and r.split(".")[0] in CMK_RESOURCE_TYPES)
    if undeclared and not targets:
        return KeyClass(KeyKind.CUSTOMER_MANAGED, f"the customer managed key {undeclared[0]} (not declared in the "
                        "files checked)")
    for target in targets:
        if target.mode == "managed" and target.type in CMK_RESOURCE_TYPES:
            return KeyClass(KeyKind.CUSTOMER_MANAGED, f"the customer managed key {target.address}", target)
    for target in targets:
        if target.mode == "managed" and target.type == "aws_kms_alias":
            # AWS reserves alias/aws/ for its own keys; an alias resource always names a customer key
            key = classify_key(target.attr("target_key_id"), graph, depth + 1) if depth < 4 else None
            resource = key.key_resource if key else None
            return KeyClass(KeyKind.CUSTOMER_MANAGED, f"the customer managed key behind {target.address}", resource)
        if target.mode == "data" and target.type == "aws_kms_alias":
            return _by_data_lookup(target, "name", graph, depth)
        if target.mode == "data" and target.type == "aws_kms_key":
            return _by_data_lookup(target, "key_id", graph, depth)
    return KeyClass(KeyKind.UNKNOWN, value.unknown or "cannot be resolved")


def _by_data_lookup(data: Resource, attribute: str, graph: Graph, depth: int) -> KeyClass:
    view = data.attr(attribute)
    if depth >= 4:
        return KeyClass(KeyKind.UNKNOWN, f"{data.address} could not be followed")
    inner = classify_key(view, graph, depth + 1)
    if inner.kind is KeyKind.AWS_MANAGED:
        return KeyClass(KeyKind.AWS_MANAGED, f"{inner.reason}, looked up by {data.address}")
    if inner.kind is KeyKind.CUSTOMER_MANAGED:
        return KeyClass(KeyKind.CUSTOMER_MANAGED, f"{inner.reason}, looked up by {data.address}", inner.key_resource)
    if inner.kind is KeyKind.ABSENT:
        return KeyClass(KeyKind.UNKNOWN, f"{data.address} has no {attribute}")
    return KeyClass(KeyKind.UNKNOWN, f"{data.address}.{attribute} is unknown: {inner.reason}")
