"""Can an AWS service use a key? The key policy in force, read for one service principal and one use.

Several AWS services call KMS as themselves, not with the caller's permissions: CloudWatch alarms,
EventBridge, S3 and AWS Backup publishing to an encrypted topic or queue, CloudWatch Logs writing a log
group, CloudTrail writing log files, VPC Flow Logs delivering to an SSE-KMS bucket, CloudFront reading
one through an origin access control, and Amazon EC2 Auto Scaling's service-linked role launching
encrypted volumes (FACTS-3 §2 R2-R5, R9-R11). Each needs an Allow statement of the key policy that names
it, with the actions FACTS-3 lists. `judge_use` answers for one `Need`:

- True when every action is allowed to the principal by some Allow statement (or, for a role, an
  `aws_kms_grant`) whose conditions iaclint cannot prove exclude this use, and no unconditional Deny
  takes it away;
- False when an action has no such statement, or a condition provably excludes this use (an encryption
  context or source ARN naming another log group, trail or distribution), or a Deny does;
- None, with the reason, when principals, actions or conditions that decide it are not known.

A condition key the facts do not document for this service (aws:SourceArn on events.amazonaws.com, whose
effect FACTS-3 marks unverified) never proves an exclusion: the statement counts as allowing the use.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from iaclint.checks.policy import HOLE, Partial, Policy, Statement, Unknown, covers, describe_part
from iaclint.graph.model import Graph, Resource
from iaclint.graph.placement import Place, region_of
from iaclint.model import Record, ValueRecord

# ---- what a use sends to KMS: the ARN in an encryption context or aws:SourceArn ----------------------


class Arn(ValueRecord):
    """An ARN as far as the configuration knows it: six fields, each fully known, known up to a prefix, or not
    known (None); ``refs`` are the resources whose `arn` it is (a condition written as a reference to one)."""

    __slots__ = ("fields", "refs")

    def __init__(self, fields: tuple[tuple[str, bool] | None, ...], refs: frozenset[str] = frozenset()):
        self.fields = fields  # (text, complete): complete False means text is only a prefix
        self.refs = refs

    def shown(self) -> str:
        return ":".join("${...}" if f is None else f[0] + ("" if f[1] else "${...}") for f in self.fields)

    @property
    def complete(self) -> bool:
        return all(f is not None and f[1] for f in self.fields)


def make_arn(partition: str | None, service: str, region: str | None, account: str | None,
             resource: tuple[str, bool] | None, refs: frozenset[str] = frozenset()) -> Arn:
    def known(text: str | None) -> tuple[str, bool] | None:
        return None if text is None else (text, True)

    return Arn((("arn", True), known(partition), (service, True), known(region), known(account), resource), refs)


def partition_of(region: str | None) -> str | None:
    if region is None:
        return None
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def glob_match(text: str, pattern: str) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(expression, text, re.DOTALL) is not None


def _field_could_match(field: tuple[str, bool] | None, pattern: str, glob: bool) -> bool | None:
    if field is None or HOLE in pattern:
        return None
    text, complete = field
    if complete:
        return glob_match(text, pattern) if glob else text == pattern
    literal = pattern
    for marker in ("*", "?"):
        if glob and marker in literal:
            literal = literal[:literal.index(marker)]
    common = min(len(literal), len(text))
    if literal[:common] != text[:common]:
        return False
    if literal == pattern and len(pattern) < len(text):
        return False  # no wildcard, and shorter than what is already known
    return None


def _type_of(address: str) -> str:
    """The resource type in an address: `module.a.aws_cloudfront_distribution.cdn[0]` -> aws_cloudfront_distribution."""
    parts = address.split(".")
    index = 0
    while index < len(parts):
        if parts[index] == "module":
            index += 2
        elif parts[index] == "data":
            index += 1
        else:
            return parts[index]
    return ""


def could_match(arn: Arn, pattern: Any, operator: str) -> bool | None:
    """Could the use's ARN match one condition value? False only when a known part of the ARN proves it
    cannot; True only when both are wholly known and match. A value that refers to the resource itself
    matches it; an unknown value that refers only to other resources of its type (their `arn`) does not."""
    if isinstance(pattern, (Partial, Unknown)):
        if arn.refs & pattern.refs:
            return True
        if isinstance(pattern, Unknown):
            kinds = {_type_of(r) for r in arn.refs}
            if pattern.refs and kinds and all(_type_of(r) in kinds for r in pattern.refs):
                return False
            return None
        text = pattern.text
    elif isinstance(pattern, str):
        text = pattern
    else:
        return None
    lowered = operator.lower()
    glob = "like" in lowered or lowered.startswith("arn")  # ArnEquals takes wildcards too
    if arn.complete and HOLE not in text:
        whole = ":".join(f[0] for f in arn.fields)  # type: ignore[index]
        if lowered.startswith("arn"):
            parts = text.split(":", 5)
            if len(parts) != 6:
                return False
            return all(_field_could_match((value, True), part, glob)
                       for value, part in zip(whole.split(":", 5), parts))
        return glob_match(whole, text) if glob else whole == text
    parts = text.split(":", 5)
    arn_operator = lowered.startswith("arn")
    if len(parts) < 6 and arn_operator and HOLE not in text:
        return False
    verdicts = []
    for field, part in zip(arn.fields, parts):
        if not arn_operator and glob and "*" in part:
            verdicts.append(_field_could_match(field, part[:part.index("*")] + "*", True) if field else None)
            break  # a String `*` may match across fields: nothing after it can be compared
        verdicts.append(_field_could_match(field, part, glob))
    else:
        if len(parts) < 6 and not glob:
            return False if HOLE not in text else None
    if False in verdicts:
        return False
    return None


# ---- who the statement must name ------------------------------------------------------------------


class ServicePrincipal(ValueRecord):
    """A service principal, `cloudwatch.amazonaws.com`; Regional ones (`logs.<region>.amazonaws.com`) name the
    Region of the consumer, which must be the consumer's own."""

    __slots__ = ("name", "region", "consumer")

    def __init__(self, name: str, region: Place | None = None, consumer: Resource | None = None):
        self.name = name  # "cloudwatch.amazonaws.com", or "logs" for the Regional CloudWatch Logs principal
        self.region = region
        self.consumer = consumer  # whose provider a data "aws_region" in the principal must use

    @property
    def shown(self) -> str:
        if self.region is None:
            return self.name
        return f"{self.name}.{self.region.value or '<region>'}.amazonaws.com"

    def matches(self, identifier: Any, graph: Graph) -> tuple[bool | None, str]:
        if self.region is None:
            if isinstance(identifier, str):
                return identifier.lower() == self.name, ""
            if isinstance(identifier, Partial):
                return (None if _could_be(identifier.text, self.name) else False), \
                    f"a service principal {describe_part(identifier)} is not known"
            return None, "a service principal is not known"
        return self._regional(identifier, graph)

    def _regional(self, identifier: Any, graph: Graph) -> tuple[bool | None, str]:
        prefix, suffix = f"{self.name}.", ".amazonaws.com"
        if isinstance(identifier, str):
            text = identifier.lower()
            if text == f"{self.name}{suffix}":
                return None, (f"the policy allows only the non-Regional {text}, and whether KMS accepts it for "
                              f"{self.name} is not established (FACTS-3 leaves it unverified): AWS documents "
                              f"{self.name}.<region>.amazonaws.com")
            if not (text.startswith(prefix) and text.endswith(suffix)):
                return False, ""
            region = text[len(prefix):-len(suffix)]
            if self.region.value is None:
                return None, (f"the policy names {identifier}, and the Region of {self.consumer.address} is not "
                              f"known before apply ({self.region.why})")
            return region == self.region.value, ""
        if isinstance(identifier, Partial):
            text = identifier.text.lower()
            if not (text.startswith(prefix) and text.endswith(suffix)):
                return (None if _could_be(identifier.text, prefix + "x" + suffix) else False), \
                    f"a service principal {describe_part(identifier)} is not known"
            lookups = [r for r in graph.referenced(identifier.refs) if r.type == "aws_region" and r.mode == "data"]
            for lookup in lookups:
                if lookup.provider_ref() == self.consumer.provider_ref() and not lookup.attr("region").present \
                        and not lookup.attr("name").present:
                    return True, ""  # the Region of the consumer's own provider, whatever it is
                there = region_of(lookup, graph)
                if there.value is not None and self.region.value is not None:
                    return there.value == self.region.value, ""
            return None, (f"the policy names {describe_part(identifier)}, and whether that is the Region of "
                          f"{self.consumer.address} is not known")
        return None, "a service principal is not known"


def _could_be(pattern_text: str, name: str) -> bool:
    """Could a string with unknown parts (HOLE) be ``name``?"""
    literal = [p for p in pattern_text.lower().split(HOLE)]
    position = 0
    for index, piece in enumerate(literal):
        found = name.find(piece, position) if index else (0 if name.startswith(piece) else -1)
        if found < 0:
            return False
        position = found + len(piece)
    return literal[-1] == "" or name.endswith(literal[-1])


class RolePrincipal(ValueRecord):
    """An IAM role named by ARN (Amazon EC2 Auto Scaling's service-linked role): the statement's AWS principals
    must name it (an ARN, or a reference to the role), not only the account it is in."""

    __slots__ = ("suffix", "account", "refs", "exact")

    def __init__(self, suffix: str | None, account: str | None, refs: frozenset[str] = frozenset(),
                 exact: str | None = None):
        # "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"; None: unknown
        self.suffix = suffix
        self.account = account  # the role's account when known
        self.refs = refs  # resources whose arn is the role (aws_iam_service_linked_role)
        self.exact = exact  # a literal service_linked_role_arn

    @property
    def shown(self) -> str:
        if self.exact:
            return self.exact
        if self.suffix is None:
            return "the service-linked role in service_linked_role_arn"
        return f"arn:aws:iam::{self.account or '<account>'}:{self.suffix}"

    def matches(self, identifier: Any, graph: Graph) -> tuple[bool | None, str]:
        if isinstance(identifier, str):
            if identifier.startswith(("Service:", "Federated:", "CanonicalUser:")) or identifier == "*":
                return False, ""
            if self.exact is not None:
                return identifier == self.exact, ""
            if self.suffix is None:
                if ":role/aws-service-role/autoscaling.amazonaws.com/" in identifier:
                    return None, f"whether {identifier} is the role in service_linked_role_arn is not known"
                return False, ""
            if not identifier.endswith(":" + self.suffix):
                return False, ""
            account = identifier.split(":")[4] if identifier.count(":") >= 5 else ""
            return (self.account is None or account == self.account), ""
        if isinstance(identifier, (Partial, Unknown)):
            if self.refs & identifier.refs:
                return True, ""
            for role in graph.referenced(identifier.refs):
                named = self._names_role(role)
                if named is not None:
                    return named, ""
            if isinstance(identifier, Partial):
                text = identifier.text
                if self.exact is None and self.suffix is not None and text.endswith(":" + self.suffix):
                    return True, ""  # arn:aws:iam::${account}:role/...: the role, in an account not written out
                if self.suffix is not None and not _could_be(text, "arn:aws:iam::123456789012:" + self.suffix):
                    return False, ""
            return None, f"a principal {describe_part(identifier)} is not known"
        return None, "a principal is not known"

    def _names_role(self, role: Resource) -> bool | None:
        """A data "aws_iam_role" looked up by name, or an aws_iam_service_linked_role, naming this role."""
        if self.suffix is None:
            return None
        if role.type == "aws_iam_role" and role.mode == "data":
            name = role.attr("name").value
            if name is not None and name.known and isinstance(name.raw, str):
                return self.suffix.endswith("/" + name.raw)
        if role.type == "aws_iam_service_linked_role":
            name = service_linked_role_name(role)
            if name is not None:
                return self.suffix.endswith("/" + name) if name else False
        return None


def service_linked_role_name(role: Resource) -> str | None:
    """The role name an aws_iam_service_linked_role for Auto Scaling creates ("" for another service; None when
    not known)."""
    service = role.attr("aws_service_name").value
    suffix = role.attr("custom_suffix").value
    if service is None or not service.known:
        return None
    if service.raw != "autoscaling.amazonaws.com":
        return ""
    if suffix is not None and not suffix.known:
        return None
    return "AWSServiceRoleForAutoScaling" + (f"_{suffix.raw}" if suffix is not None and suffix.raw else "")


class Need(Record):
    """What one service needs on a key for one use: who, the actions (FACTS-3), and what KMS sees of the request
    (condition keys, lower case, and the ARN they carry)."""

    __slots__ = ("principal", "actions", "who", "context", "grant_context", "documented_statement")
    _shown = __slots__

    def __init__(self, principal: ServicePrincipal | RolePrincipal, actions: tuple[str, ...], who: str,
                 context: dict[str, Arn] | None = None, grant_context: bool = False,
                 documented_statement: bool = False):
        self.principal = principal
        self.actions = actions
        self.who = who  # "CloudWatch alarms (aws_cloudwatch_metric_alarm.cpu)"
        self.context = {} if context is None else context
        self.grant_context = grant_context  # kms:CreateGrant requests carry kms:GrantIsForAWSResource = true (R11)
        # the actions are the statement AWS documents rather than each one needed (CloudWatch Logs R3, flow log
        # delivery R10): a statement that allows some of them and not the others is unknown, not a failure
        self.documented_statement = documented_statement


class Judgement(Record):
    __slots__ = ("state", "reason", "missing", "excluded")
    _shown = __slots__

    def __init__(self, state: bool | None, reason: str, missing: list[str] | None = None,
                 excluded: list[str] | None = None):
        self.state = state
        self.reason = reason
        self.missing = [] if missing is None else missing  # actions no statement allows
        self.excluded = [] if excluded is None else excluded  # why statements that name the principal do not count


# ---- conditions ---------------------------------------------------------------------------------------

_POSITIVE = {"stringequals", "stringlike", "arnequals", "arnlike", "stringequalsignorecase"}
_NEGATIVE = {"stringnotequals", "stringnotlike", "arnnotequals", "arnnotlike", "stringnotequalsignorecase"}


def _condition_excludes(conditions: Any, need: Need, action: str) -> tuple[bool, str]:
    """(True, why) when a condition of the statement provably excludes this use; (False, "") otherwise."""
    if isinstance(conditions, Unknown) or not isinstance(conditions, dict):
        return False, ""
    for operator, tests in conditions.items():
        if not isinstance(operator, str) or not isinstance(tests, dict):
            continue
        base = operator.lower()
        if base.startswith(("forallvalues:", "foranyvalue:")):
            continue
        if base.endswith("ifexists"):
            base = base[:-len("ifexists")]
        for key, values in tests.items():
            name = str(key).lower()
            listed = values if isinstance(values, list) else [values]
            if name == "kms:grantisforawsresource" and base == "bool":
                if need.grant_context and action.lower() == "kms:creategrant" and all(
                        isinstance(v, (str, bool)) and str(v).lower() == "false" for v in listed):
                    return True, f"{operator} {key} = false, while Auto Scaling's grants are for AWS resources"
                continue
            arn = need.context.get(name)
            if arn is None:
                continue
            if base in _POSITIVE:
                verdicts = [could_match(arn, v, base) for v in listed]
                if verdicts and all(v is False for v in verdicts):
                    shown = ", ".join(describe_part(v) for v in listed)
                    return True, f"{operator} {key} is {shown}, which {arn.shown()} does not match"
            elif base in _NEGATIVE:
                positive = base.replace("not", "", 1)
                if any(could_match(arn, v, positive) is True for v in listed):
                    shown = ", ".join(describe_part(v) for v in listed)
                    return True, f"{operator} {key} {shown} excludes {arn.shown()}"
    return False, ""


# ---- one policy, one need ------------------------------------------------------------------------------


def _names(statement: Statement, need: Need, graph: Graph) -> tuple[bool | None, str]:
    """Does the statement's principal name the needed principal? "*" is not taken to: whether it covers service
    principals is not established, so it is a doubt."""
    if statement.principals is None:
        return False, ""
    if statement.not_principal:
        return None, "a NotPrincipal statement"
    if "*" in statement.principals:
        return None, "a statement for any principal (\"*\"), which may or may not cover it"
    candidates = statement.services if isinstance(need.principal, ServicePrincipal) else [
        p for p in statement.principals if not (isinstance(p, str) and p.startswith(("Service:", "Federated:",
                                                                                       "CanonicalUser:")))]
    doubt = ""
    for identifier in candidates:
        named, why = need.principal.matches(identifier, graph)
        if named is True:
            return True, ""
        if named is None:
            doubt = why
    return (None, doubt) if doubt else (False, "")


def judge_use(policy: Policy, need: Need, graph: Graph, grants: list[Resource] | None = None) -> Judgement:
    """Whether the policy lets ``need`` happen (see the module docstring)."""
    if policy.unknown:
        return Judgement(None, f"the key policy cannot be read: {policy.unknown}")
    doubts: list[str] = []
    excluded: list[str] = []
    missing: list[str] = []
    denied: list[str] = []
    per_action: dict[str, bool | None] = {}
    for action in need.actions:
        verdict: bool | None = False
        for number, statement in enumerate(policy.statements, start=1):
            if statement.effect == "Deny" and not statement.conditions and _covers(statement, action) is True \
                    and _names(statement, need, graph)[0] is True:
                denied.append(f"statement {number}" + (f' ("{statement.sid}")' if statement.sid else "")
                              + f", which denies {action} to {need.principal.shown}")
        for number, statement in enumerate(policy.statements, start=1):
            name = f"statement {number}" + (f' ("{statement.sid}")' if statement.sid else "")
            if isinstance(statement.effect, Unknown) or statement.effect not in ("Allow", "Deny"):
                if verdict is False:
                    verdict = None
                doubts.append(f"{name} has an unknown Effect")
                continue
            if statement.effect == "Deny":
                continue
            grants_it = _covers(statement, action)
            if grants_it is False:
                continue
            named, why = _names(statement, need, graph)
            if named is False:
                continue
            if named is None:
                if verdict is False:
                    verdict = None
                doubts.append(f"{name}: {why}")
                continue
            out, because = _condition_excludes(statement.conditions, need, action)
            if out:
                excluded.append(f"{name} allows {need.principal.shown} only when {because}")
                continue
            if grants_it is None:
                if verdict is False:
                    verdict = None
                unknown = any(isinstance(a, (Unknown, Partial)) for a in (statement.actions or statement.not_actions
                                                                          or []))
                doubts.append(f"the actions of {name} are not known" if unknown else
                              f"{name} allows only some of the actions {action} stands for")
                continue
            verdict = True
            break
        if verdict is not True and grants:
            if any(_grant_covers(grant, action) for grant in grants):
                verdict = True
        per_action[action] = verdict
        if verdict is False:
            missing.append(action)
    if denied:
        return Judgement(False, "; ".join(dict.fromkeys(denied)), list(need.actions), excluded)
    if missing and need.documented_statement and not excluded and len(missing) < len(need.actions):
        allowed = [a for a in need.actions if per_action.get(a) is True]
        partly = [a for a in need.actions if per_action.get(a) is None]
        granted = ", ".join(allowed) + (f" (and perhaps {', '.join(partly)})" if partly else "")
        return Judgement(None, f"the policy lets {need.principal.shown} call {granted or 'some of them'} but not "
                               f"{', '.join(missing)}, which the statement AWS documents also grants; whether the "
                               "service needs them is not established", [], excluded)
    if missing:
        return Judgement(False, "", missing, list(dict.fromkeys(excluded)))
    if None in per_action.values():
        return Judgement(None, "; ".join(dict.fromkeys(doubts)) or "the policy's statements are not known",
                         [], excluded)
    return Judgement(True, f"the key policy lets {need.principal.shown} call {', '.join(need.actions)}")


# The operations a wildcard family of FACTS-3's lists is named for: a statement that grants them covers the family.
# FACTS-3 R5 cites such a statement (kms:GenerateDataKey and kms:Decrypt for sns.amazonaws.com) as a correct one.
FAMILY_OPERATIONS = {
    "kms:generatedatakey*": ("kms:GenerateDataKey",), "kms:encrypt*": ("kms:Encrypt",),
    "kms:decrypt*": ("kms:Decrypt",), "kms:describe*": ("kms:DescribeKey",),
    "kms:reencrypt*": ("kms:ReEncryptFrom", "kms:ReEncryptTo"),
}


def _covers(statement: Statement, wanted: str) -> bool | None:
    """Does the statement cover the action: every action a wildcard stands for, or the operations its family is
    named for (FAMILY_OPERATIONS)? None when it covers only other actions of the family, or its actions are not
    known."""
    if "*" not in wanted:
        return covers(statement, wanted)
    family = FAMILY_OPERATIONS.get(wanted.lower())
    if family and all(covers(statement, operation) is True for operation in family):
        return True
    if statement.actions is not None:
        partly = False
        for pattern in statement.actions:
            if isinstance(pattern, (Unknown, Partial)):
                partly = True
                continue
            if not isinstance(pattern, str):
                continue
            if fnmatch.fnmatchcase(wanted.lower(), pattern.lower()):
                return True
            if fnmatch.fnmatchcase(pattern.lower(), wanted.lower()):
                partly = True
        return None if partly else False
    if statement.not_actions is not None:
        for pattern in statement.not_actions:
            if isinstance(pattern, (Unknown, Partial)):
                return None
            if isinstance(pattern, str) and fnmatch.fnmatchcase(wanted.lower(), pattern.lower()):
                return False
            if isinstance(pattern, str) and fnmatch.fnmatchcase(pattern.lower(), wanted.lower()):
                return None
        return True
    return False


GRANT_OPERATIONS = {
    "kms:encrypt": ("Encrypt",), "kms:decrypt": ("Decrypt",), "kms:reencrypt*": ("ReEncryptFrom", "ReEncryptTo"),
    "kms:generatedatakey*": ("GenerateDataKey", "GenerateDataKeyWithoutPlaintext"), "kms:describekey": ("DescribeKey",),
    "kms:creategrant": ("CreateGrant",),
}


def _grant_covers(grant: Resource, action: str) -> bool:
    """An aws_kms_grant's operations cover the action (every operation a wildcard action stands for)."""
    wanted = GRANT_OPERATIONS.get(action.lower())
    value = grant.attr("operations").value
    if wanted is None or value is None or not value.known or not isinstance(value.raw, list):
        return False
    given = {item.raw for item in value.raw if item.known}
    return all(op in given for op in wanted)


def missing_text(judgement: Judgement, need: Need) -> str:
    """'lets cloudwatch.amazonaws.com call none of kms:GenerateDataKey*, kms:Decrypt', with the exclusions."""
    if judgement.reason:  # a Deny
        return "has " + judgement.reason
    shown = need.principal.shown
    if len(judgement.missing) == len(need.actions) and len(need.actions) > 1:
        text = f"lets {shown} call none of {', '.join(judgement.missing)}"
    else:
        text = f"does not let {shown} call {', '.join(judgement.missing)}"
    if judgement.excluded:
        text += " (" + "; ".join(judgement.excluded) + ")"
    return text
