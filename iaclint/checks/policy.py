"""Key policies in one normalised form, whichever way the configuration writes them.

A key's policy may be written as `jsonencode({...})`, as a JSON string or heredoc (with `${...}`
interpolations), through `data.aws_iam_policy_document`, or by an `aws_kms_key_policy` resource that
replaces the key's own. No policy at all means the AWS default policy (the account root may do
`kms:*`). Parts that cannot be resolved stay visible as `Unknown` (with the reason) or `Partial` (a
string with holes, such as `arn:aws:iam::${data.aws_caller_identity.current.account_id}:root`), so the
verdicts that depend on them can be unknown instead of guessed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import TYPE_CHECKING, Any

from iaclint.eval.values import PartialString, SetList, Value
from iaclint.graph.model import Graph, Resource
from iaclint.hcl import ast
from iaclint.model import Record, ValueRecord

if TYPE_CHECKING:
    from iaclint.engine.results import CheckResult

HOLE = "\ue000?\ue000"  # stands for an unknown part of a string (private-use characters: valid in JSON)


class Unknown(ValueRecord):
    """A part of a policy whose value is not known before apply."""

    __slots__ = ("reason", "refs")

    def __init__(self, reason: str, refs: frozenset[str] = frozenset()):
        self.reason = reason
        self.refs = refs  # resources the value comes from (an ARN known after apply)


class Partial(ValueRecord):
    """A string with unknown parts (HOLE marks each), and the resources those parts come from."""

    __slots__ = ("text", "refs")

    def __init__(self, text: str, refs: frozenset[str] = frozenset()):
        self.text = text
        self.refs = refs


def describe_part(part: Any) -> str:
    """A policy value as people read it: `arn:aws:iam::${...}:root` for a string with unknown parts, never
    the Python form of Partial or Unknown."""
    if isinstance(part, Partial):
        return part.text.replace(HOLE, "${...}")
    if isinstance(part, Unknown):
        return f"(unknown: {part.reason})"
    if isinstance(part, str):
        return part
    return json.dumps(part, default=describe_part)


class Statement(Record):
    """One policy statement, normalised: principals, actions, conditions."""

    __slots__ = ("effect", "principals", "not_principal", "actions", "not_actions", "conditions", "sid", "services")
    _shown = __slots__

    def __init__(self, effect: str | Unknown, principals: list[Any] | None, not_principal: bool,
                 actions: list[Any] | None, not_actions: list[Any] | None, conditions: Any, sid: str = "",
                 services: list[Any] | None = None):
        self.effect = effect
        self.principals = principals  # AWS principal identifiers ("*" for anyone); None: no Principal
        self.not_principal = not_principal
        self.actions = actions
        self.not_actions = not_actions
        self.conditions = conditions  # dict of operator -> {key: values}, {} for none, or Unknown
        self.sid = sid
        # the Service principals as written (str, or Partial/Unknown keeping the resources they come from, such
        # as the data "aws_region" in logs.${...}.amazonaws.com); `principals` shows them as "Service:..." text
        self.services = [] if services is None else services


class Policy(Record):
    """A key policy as statements, or unknown with the reason (a value iaclint cannot read)."""

    __slots__ = ("statements", "unknown", "source", "default")
    _shown = __slots__

    def __init__(self, statements: list[Statement] | None = None, unknown: str = "", source: str = "",
                 default: bool = False):
        self.statements = [] if statements is None else statements
        self.unknown = unknown  # the whole policy could not be read
        self.source = source  # where it comes from, for messages
        self.default = default


DEFAULT_POLICY = Policy([Statement("Allow", ["arn:aws:iam::SELF:root"], False, ["kms:*"], None, {},
                                   "Enable IAM User Permissions")], "", "the AWS default key policy", True)


def policy_span(holder: Resource):
    """Where a resource's policy is written (the policy argument), else the resource itself."""
    view = holder.attr("policy")
    return view.span if view.present and view.span is not None else holder.header_span


def policy_setter(key: Resource, graph: Graph) -> Resource | None:
    """The aws_kms_key_policy that replaces a key's own policy, if the configuration has one."""
    index = graph.__dict__.get("_policy_setters")
    if index is None:  # built once per graph: every key of a large configuration asks
        index = graph.__dict__["_policy_setters"] = {}
        for setter in graph.of_type("aws_kms_key_policy"):
            view = setter.attr("key_id")
            if setter.mode == "managed" and view.value is not None:
                for ref in view.value.all_refs():
                    index.setdefault(ref, setter)
    return index.get(key.address)


def key_policy(key: Resource, graph: Graph) -> tuple[Policy, Resource]:
    """The policy in force for a key, and the resource that sets it (an aws_kms_key_policy wins). Read once per
    graph: every topic, queue and log group on one key asks for the same policy."""
    cache = graph.__dict__.setdefault("_key_policies", {})
    found = cache.get(key.address)
    if found is None:
        setter = policy_setter(key, graph)
        holder = setter if setter is not None else key
        found = cache[key.address] = (read_policy(holder, "policy", graph), holder)
    return found


def _own_policy(resource: Resource, graph: Graph) -> tuple[Policy | None, Resource | None]:
    """The policy a key-policy rule judges on ``resource``: None (and the setter) when another resource sets it."""
    if resource.type != "aws_kms_key_policy":
        setter = policy_setter(resource, graph)
        if setter is not None:
            return None, setter
    return read_policy(resource, "policy", graph), None


def read_policy(resource: Resource, attribute: str, graph: Graph) -> Policy:
    view = resource.attr(attribute)
    if not view.is_set:
        return DEFAULT_POLICY
    hcl = getattr(resource, "hcl_resource", None) or resource
    structure = _structure_from_expression(hcl, attribute)
    if structure is None:
        structure = _structure_from_value(view.value, graph)
    if isinstance(structure, Unknown):
        return Policy(unknown=structure.reason, source=f"{resource.address}.{attribute}")
    return _normalise(structure, f"{resource.address}.{attribute}")


# ---- from configuration text or values to plain structure -----------------------------------


def _structure_from_expression(resource: Resource, attribute: str) -> Any | None:
    """`jsonencode(X)`: X evaluated in the resource's context, keeping each part's own (un)knownness."""
    block = getattr(resource, "block", None)
    node = block.attribute(attribute) if block is not None else None
    if node is None or not isinstance(node.expr, ast.Call) or node.expr.name != "jsonencode" or len(node.expr.args) != 1:
        return None
    from iaclint.eval.evaluator import Evaluator
    from iaclint.eval.values import OriginKind

    value = Evaluator(resource.context, OriginKind.LITERAL, f"{resource.address}.{attribute}").evaluate(node.expr.args[0])
    return _plain(value)


def _plain(value: Value) -> Any:
    if not value.known:
        if isinstance(value.raw, PartialString):
            return Partial("".join(p if p is not None else HOLE for p in value.raw.parts), value.all_refs())
        return Unknown(value.unknown or "unknown", value.all_refs())
    raw = value.raw
    if isinstance(raw, (list, SetList)):
        return [_plain(v) for v in raw]
    if isinstance(raw, dict):
        return {k: _plain(v) for k, v in raw.items()}
    return raw


def _structure_from_value(value: Value | None, graph: Graph) -> Any:
    if value is None:
        return Unknown("the policy is not set")
    if value.known and isinstance(value.raw, str):
        try:
            return json.loads(value.raw)
        except ValueError as exc:
            return Unknown(f"the policy is not valid JSON ({exc})")
    documents = [r for r in graph.referenced(value.all_refs())
                 if r.mode == "data" and r.type == "aws_iam_policy_document"]
    if len(documents) == 1:
        return _policy_document(documents[0], graph)
    if isinstance(value.raw, PartialString):
        text = "".join(p if p is not None else HOLE for p in value.raw.parts)
        try:
            data = json.loads(text)
        except ValueError:
            return Unknown(f"the policy has unknown parts that hide its JSON structure ({value.unknown})")
        return _mark_holes(data, value.all_refs())
    return Unknown(value.unknown or "the policy cannot be read")


def _mark_holes(data: Any, refs: frozenset[str]) -> Any:
    if isinstance(data, str) and HOLE in data:
        return Partial(data, refs)
    if isinstance(data, list):
        return [_mark_holes(v, refs) for v in data]
    if isinstance(data, dict):
        return {k: _mark_holes(v, refs) for k, v in data.items()}
    return data


def _merged_documents(document: Resource, attribute: str, graph: Graph, depth: int) -> list[Any] | Unknown:
    """The statements of the documents a policy document merges (source_* or override_*), in order."""
    view = document.attr(attribute)
    if not view.is_set:
        return []
    value = view.value
    items = value.raw if value.known and isinstance(value.raw, list) else [value]
    if value.known and isinstance(value.raw, str):
        items = [value]
    out: list[Any] = []
    for item in items:
        if item.known and item.raw in ("", None):
            continue
        inner = [r for r in graph.referenced(item.all_refs()) if r.mode == "data" and r.type == "aws_iam_policy_document"]
        if len(inner) == 1 and depth < 5:
            rendered = _policy_document(inner[0], graph, depth + 1)
        elif item.known and isinstance(item.raw, str):
            try:
                rendered = json.loads(item.raw)
            except ValueError as exc:
                return Unknown(f"a document in {document.address}.{attribute} is not valid JSON ({exc})")
        else:
            return Unknown(f"a document in {document.address}.{attribute} is not known "
                           f"({item.unknown or 'not a JSON string'})")
        if isinstance(rendered, Unknown):
            return rendered
        statements = rendered.get("Statement") if isinstance(rendered, dict) else None
        if isinstance(statements, Unknown):
            return statements
        out += statements if isinstance(statements, list) else [statements] if isinstance(statements, dict) else []
    return out


def _merge_by_sid(base: list[Any], extra: list[Any]) -> list[Any]:
    """Statements of ``extra`` replace those of ``base`` with the same non-empty Sid; the others are appended."""
    merged = list(base)
    for statement in extra:
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        index = next((i for i, old in enumerate(merged) if sid and isinstance(old, dict) and old.get("Sid") == sid),
                     None)
        if index is None:
            merged.append(statement)
        else:
            merged[index] = statement
    return merged


def _policy_document(document: Resource, graph: Graph, depth: int = 0) -> Any:
    """data "aws_iam_policy_document" as the JSON it renders (effect defaults to Allow).

    Merging follows the provider: source documents first, the document's own statements replace
    source statements with the same Sid, then override documents replace by Sid or are appended.
    """
    merged: dict[str, list[Any]] = {}
    for attribute in ("source_policy_documents", "source_json", "override_policy_documents", "override_json"):
        found = _merged_documents(document, attribute, graph, depth)
        if isinstance(found, Unknown):
            return found
        merged.setdefault(attribute.split("_")[0], []).extend(found)
    own = _own_statements(document)
    if isinstance(own, Unknown):
        return own
    statements = _merge_by_sid(_merge_by_sid(merged["source"], own), merged["override"])
    return {"Version": "2012-10-17", "Statement": statements}


def _own_statements(document: Resource) -> list[Any] | Unknown:
    statements, why = document.nested("statement")
    if why:
        return Unknown(why)
    out = []
    for block in statements:
        item: dict[str, Any] = {"Effect": _plain(block.attr("effect").value) if block.attr("effect").is_set else "Allow"}
        for name, key in (("actions", "Action"), ("not_actions", "NotAction"), ("sid", "Sid")):
            if block.attr(name).is_set:
                item[key] = _plain(block.attr(name).value)
        for name, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            blocks, why = block.nested(name)
            if why:
                return Unknown(why)
            if blocks:
                principal: dict[str, Any] = {}
                for p in blocks:
                    kind = _plain(p.attr("type").value) if p.attr("type").is_set else Unknown("principal type")
                    ids = _plain(p.attr("identifiers").value) if p.attr("identifiers").is_set else []
                    if kind == "*":
                        principal = "*"  # type "*" renders as the bare string
                        break
                    if isinstance(kind, str):
                        principal.setdefault(kind, [])
                        principal[kind] += ids if isinstance(ids, list) else [ids]
                item[key] = principal
        conditions, why = block.nested("condition")
        if why:
            return Unknown(why)
        if conditions:
            rendered: dict[str, Any] = {}
            for c in conditions:
                test, variable = _plain(c.attr("test").value), _plain(c.attr("variable").value)
                if not isinstance(test, str) or not isinstance(variable, str):
                    return Unknown(f"a condition of {document.address} is not known")
                rendered.setdefault(test, {})[variable] = _plain(c.attr("values").value)
            item["Condition"] = rendered
        out.append(item)
    return out


# ---- normalising ----------------------------------------------------------------------------


def _listed(value: Any) -> list[Any] | None:
    if value is None:
        return None
    return value if isinstance(value, list) else [value]


def _normalise(data: Any, source: str) -> Policy:
    if not isinstance(data, dict):
        return Policy(unknown="the policy is not a JSON object", source=source)
    raw = data.get("Statement")
    if isinstance(raw, Unknown):
        return Policy(unknown=raw.reason, source=source)
    statements = []
    for item in _listed(raw) or []:
        if not isinstance(item, dict):
            return Policy(unknown="a statement is not an object (or is unknown)", source=source)
        principal = item.get("Principal", item.get("NotPrincipal"))
        principals: list[Any] | None = None
        services: list[Any] = []
        if principal is not None:
            if principal == "*":
                principals = ["*"]
            elif isinstance(principal, dict):
                principals = []
                for kind, ids in principal.items():
                    for identifier in _listed(ids) or []:
                        principals.append(identifier if kind == "AWS" else f"{kind}:{describe_part(identifier)}")
                        if kind == "Service":
                            services.append(identifier)
            else:
                principals = [principal if isinstance(principal, (Unknown, Partial)) else Unknown("principal")]
                services = list(principals)  # not known: it may be a service principal too
        conditions = item.get("Condition", {})
        statements.append(Statement(item.get("Effect", Unknown("Effect is not set")), principals,
                                    "NotPrincipal" in item, _listed(item.get("Action")),
                                    _listed(item.get("NotAction")), conditions if conditions is not None else {},
                                    item.get("Sid", "") if isinstance(item.get("Sid", ""), str) else "", services))
    return Policy(statements, "", source)


def action_matches(pattern: Any, action: str) -> bool | None:
    """Does an Action entry (with IAM wildcards) cover ``action``? None when the entry is unknown."""
    if isinstance(pattern, (Unknown, Partial)):
        return None
    if not isinstance(pattern, str):
        return False
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def covers(statement: Statement, action: str) -> bool | None:
    """Does the statement's Action (or NotAction) cover an action? None when that depends on unknowns."""
    if statement.actions is not None:
        results = [action_matches(p, action) for p in statement.actions]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    if statement.not_actions is not None:
        results = [action_matches(p, action) for p in statement.not_actions]
        if any(r is True for r in results):
            return False
        return None if any(r is None for r in results) else True
    return False


# ---- KMS004 ---------------------------------------------------------------------------------

LIMITING_CONDITION_KEYS = {"aws:principalorgid", "aws:principalaccount", "kms:calleraccount", "aws:sourceaccount",
                           "aws:principalarn"}


def public_key_policy(resource: Resource, context) -> "CheckResult":
    """KMS004: an Allow statement for any principal ("*") that no condition limits to an account or org."""
    from iaclint.engine.results import CheckResult

    graph = context.graph
    policy, setter = _own_policy(resource, graph)
    if policy is None:
        return CheckResult.passed(f"its policy is set by {setter.address}, which is checked itself")
    if policy.unknown:
        return CheckResult.unknown(f"the key policy cannot be read: {policy.unknown}", attribute="policy")
    doubts = []
    for number, statement in enumerate(policy.statements, start=1):
        name = f"statement {number}" + (f' ("{statement.sid}")' if statement.sid else "")
        if isinstance(statement.effect, Unknown):
            doubts.append(f"{name} has an unknown Effect")
            continue
        if statement.effect != "Allow" or statement.principals is None:
            continue
        anyone = statement.not_principal or any(p == "*" for p in statement.principals)
        if not anyone:
            # a value computed from a resource or data source (a role's or the caller's ARN) names one
            # principal; an input without a value could be "*"
            if any(isinstance(p, Unknown) and not p.refs for p in statement.principals):
                doubts.append(f"{name} has a principal that is not known")
            continue
        conditions = statement.conditions
        if isinstance(conditions, Unknown) or not isinstance(conditions, dict):
            doubts.append(f"{name} allows any principal under conditions that are not known")
            continue
        keys = {str(key).lower() for tests in conditions.values() if isinstance(tests, dict) for key in tests}
        if keys & LIMITING_CONDITION_KEYS:
            continue
        who = "everyone except the NotPrincipal" if statement.not_principal else "any principal (\"*\")"
        return CheckResult.failed(f"{name} of {policy.source} allows {who}, and no condition limits the caller's "
                                  "account or organization (aws:PrincipalOrgID, aws:PrincipalAccount, "
                                  "kms:CallerAccount, aws:SourceAccount or aws:PrincipalArn)", attribute="policy")
    if doubts:
        return CheckResult.unknown("; ".join(doubts), attribute="policy")
    return CheckResult.passed("no statement allows any principal without a limiting condition")


# ---- KMS002 ---------------------------------------------------------------------------------

_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def caller_account(refs: frozenset[str]) -> bool:
    """Does a value come from data.aws_caller_identity (this account, or the caller itself)?"""
    return any("aws_caller_identity" in r.split(".") for r in refs)


def _own_account(principal: Any, own: set[str]) -> bool | None:
    """Is the principal (the root, a role or user, or the caller) of the key's own account? None: can't tell."""
    if isinstance(principal, Partial):
        return True if caller_account(principal.refs) else None
    if isinstance(principal, Unknown):
        return True if caller_account(principal.refs) else None
    if not isinstance(principal, str) or principal.startswith(("Service:", "Federated:", "CanonicalUser:")):
        return False
    if principal == "SELF" or principal.endswith("::SELF:root"):
        return True  # the default policy
    account = principal if re.fullmatch(r"\d{12}", principal) else None
    match = _ARN_ACCOUNT.match(principal)
    if match:
        account = match.group(1)
    if account is None:
        return False
    if own:
        return account in own
    return None


def key_administration_kept(resource: Resource, context) -> "CheckResult":
    """KMS002: the key's own account must keep kms:PutKeyPolicy, or KMS rejects the policy (seed 002)."""
    from iaclint.engine.results import CheckResult

    graph = context.graph
    policy, setter = _own_policy(resource, graph)
    if policy is None:
        return CheckResult.passed(f"its policy is set by {setter.address}, which is checked itself")
    if policy.default:
        return CheckResult.passed("the AWS default policy keeps account-root administration")
    if policy.unknown:
        return CheckResult.unknown(f"the key policy cannot be read: {policy.unknown}", attribute="policy")
    own = graph.accounts.get(resource.provider_ref(), set())
    doubts: list[str] = []
    for number, statement in enumerate(policy.statements, start=1):
        name = f"statement {number}" + (f' ("{statement.sid}")' if statement.sid else "")
        if isinstance(statement.effect, Unknown):
            doubts.append(f"{name} has an unknown Effect")
            continue
        if statement.effect != "Allow" or statement.principals is None or statement.not_principal:
            continue
        grants = covers(statement, "kms:PutKeyPolicy")
        if grants is False:
            continue
        verdicts = [True if p == "*" else _own_account(p, own) for p in statement.principals]
        if True not in verdicts and None not in verdicts:
            continue
        conditional = bool(statement.conditions) or isinstance(statement.conditions, Unknown)
        if grants is True and True in verdicts and not conditional:
            return CheckResult.passed(f"{name} lets the key's own account call kms:PutKeyPolicy")
        if grants is None:
            doubts.append(f"the actions of {name} are not known")
        elif conditional:
            keys = sorted({str(k) for tests in statement.conditions.values() if isinstance(tests, dict) for k in tests}) \
                if isinstance(statement.conditions, dict) else []
            via = (" (kms:ViaService: Terraform's own PutKeyPolicy calls do not come through a service, so they may "
                   "not be allowed)" if any(k.lower() == "kms:viaservice" for k in keys) else "")
            doubts.append(f"{name} grants kms:PutKeyPolicy only under a condition on {', '.join(keys) or 'unknown keys'}"
                          f"{via}")
        else:
            accounts = ", ".join(sorted({describe_part(p) for p, v in zip(statement.principals, verdicts)
                                         if v is None}))
            doubts.append(f"{name} grants kms:PutKeyPolicy to {accounts}, and whether that is the key's own "
                          "account is not known (allowed_account_ids or assume_role in its provider would say)")
    if doubts:
        return CheckResult.unknown("; ".join(doubts), attribute="policy")
    extra = root_statement_fix(resource, graph, own)
    bypass = resource.attr("bypass_policy_lockout_safety_check")
    bypassed = bypass.value is not None and bypass.value.known and bypass.value.raw is True
    consequence = ("bypass_policy_lockout_safety_check = true lets it through, and then nobody can ever change "
                   "this key's policy again" if bypassed else
                   "KMS rejects it (MalformedPolicyDocumentException, after minutes of provider retries)")
    return CheckResult.failed(f"no Allow statement of {policy.source} lets the key's own account (its root, a "
                              f"role or user in it, or the caller) call kms:PutKeyPolicy without a condition: "
                              f"{consequence}", attribute="policy", extra=extra)


def root_statement_fix(resource: Resource, graph: Graph, own: set[str]) -> dict[str, Any]:
    """The account-root administration statement (the AWS default policy's), for the policy_statement fix.

    The account is named through the module's data.aws_caller_identity, else the one account the
    provider is pinned to, else through a data.aws_caller_identity the fix adds.
    """
    from iaclint.fixes.policy import NewStatement, PolicyEdit, caller_identity_name

    extra: dict[str, Any] = {}
    caller = caller_identity_name(graph, resource.module_address)
    if caller is not None:
        account = "${data.aws_caller_identity." + caller + ".account_id}"
    elif len(own) == 1:
        account = next(iter(own))
    else:
        account = "${data.aws_caller_identity.current.account_id}"
        extra["needs_caller_identity"] = resource.address
    statement = NewStatement("EnableAccountRootAdministration", [f"arn:aws:iam::{account}:root"], ["kms:*"])
    extra["policy_statements"] = [PolicyEdit(resource.address, "policy", [statement],
                                             "the account root regains kms:*, as in the AWS default policy: IAM "
                                             "policies of the account then decide who administers the key")]
    return extra


# ---- other accounts --------------------------------------------------------------------------


def _names_account(principal: Any, account: str) -> bool | None:
    """Is the principal the account (its root, bare id) or a principal in it? None when unknown."""
    if principal == "*":
        return True
    if isinstance(principal, str):
        return principal == account or f"::{account}:" in principal
    if isinstance(principal, (Unknown, Partial)):
        return False if caller_account(principal.refs) else None  # the caller is this account, not another
    return None


def account_permissions(policy: Policy, accounts: list[str], actions: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """("ACCOUNT action" missing, "ACCOUNT action" that depend on unknowns) for other accounts in a policy.

    "*" counts as allowing every account (limited by aws:PrincipalOrgID it is how organisations share);
    conditions do not take a grant away here: the question is whether the account is named at all.
    """
    missing: list[str] = []
    doubts: list[str] = []
    for account in accounts:
        for action in actions:
            verdict: bool | None = False
            for statement in policy.statements:
                if statement.effect != "Allow" or statement.principals is None or statement.not_principal:
                    continue
                if covers(statement, action) is not True:
                    continue
                for principal in statement.principals:
                    named = _names_account(principal, account)
                    if named is True:
                        verdict = True
                    elif named is None and verdict is False:
                        verdict = None
            if verdict is False:
                missing.append(f"{account} {action}")
            elif verdict is None:
                doubts.append(f"{account} {action}")
    return missing, doubts


# ---- KMS003 ---------------------------------------------------------------------------------

SERVICE_USE_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey")


def key_consumers(key: Resource, graph: Graph, replicas: bool = False) -> list[tuple[Resource, str]]:
    """The resources of the configuration whose key argument (regions.KEY_ARGUMENTS, nested ones included)
    resolves to ``key``: (resource, argument); with ``replicas``, the keys of replicas in other Regions too
    (regions.REPLICA_KEY_ARGUMENTS: a secret's or a table's replica, an S3 replication's replica key)."""
    index = getattr(graph, "_key_consumers", None)
    if index is None:
        index = graph._key_consumers = _consumers_by_key(graph)
    found = index.get(key.address, [])
    if replicas:
        others = graph.__dict__.get("_replica_key_consumers")
        if others is None:
            others = graph.__dict__["_replica_key_consumers"] = _consumers_by_key(graph, replicas=True)
        found = found + others.get(key.address, [])
    return found


def _consumers_by_key(graph: Graph, replicas: bool = False) -> dict[str, list[tuple[Resource, str]]]:
    """Every key argument of the configuration, classified once: key address -> its consumers."""
    from iaclint.checks.keys import CMK_RESOURCE_TYPES, classify_key
    from iaclint.checks.regions import KEY_ARGUMENTS, REPLICA_KEY_ARGUMENTS, key_arguments, replica_key_arguments

    index: dict[str, list[tuple[Resource, str]]] = {}
    for resource in graph.of_type(*(REPLICA_KEY_ARGUMENTS if replicas else KEY_ARGUMENTS)):
        if resource.mode != "managed":
            continue
        found = replica_key_arguments(resource) if replicas else key_arguments(resource)
        for label, view, _ in found:
            keys = {t.address for t in graph.referenced(view.value.all_refs()) if t.type in CMK_RESOURCE_TYPES}
            resolved = classify_key(view, graph).key_resource  # through aliases and KMS lookups
            if resolved is not None:
                keys.add(resolved.address)
            for address in keys:
                index.setdefault(address, []).append((resource, label))
    return index


def key_usable_by_services(key: Resource, context) -> "CheckResult":
    """KMS003: a key a datastore uses must let someone create grants and describe it, or creation fails."""
    from iaclint.engine.results import CheckResult

    from iaclint.checks.regions import GRANT_CONSUMERS

    graph = context.graph
    consumers = [(r, label) for r, label in key_consumers(key, graph) if r.type in GRANT_CONSUMERS]
    if not consumers:
        return CheckResult.passed("no datastore of this configuration that creates grants uses it")
    policy, setter = key_policy(key, graph)
    at_fault = setter if setter is not key else None
    locate = {"locate_span": setter.attr("policy").span} if at_fault is not None and setter.attr("policy").span else {}
    names = ", ".join(f"{r.address}.{label}" for r, label in consumers[:6]) + (
        f" and {len(consumers) - 6} more" if len(consumers) > 6 else "")
    related = [(r.header_span, f"uses this key ({label})") for r, label in consumers[:6] if r.header_span]
    if policy.default:
        return CheckResult.passed("the AWS default policy keeps account-root access")
    if policy.unknown:
        return CheckResult.unknown(f"used by {names}, and the key policy cannot be read: {policy.unknown}",
                                   resource=at_fault, attribute="policy", related=related,
                                   extra=dict(locate))
    doubts = []
    for number, statement in enumerate(policy.statements, start=1):
        if isinstance(statement.effect, Unknown):
            doubts.append(f"statement {number} has an unknown Effect")
            continue
        if statement.effect != "Allow" or statement.principals is None or statement.not_principal:
            continue
        people = [p for p in statement.principals
                  if not (isinstance(p, str) and p.startswith(("Service:", "Federated:", "CanonicalUser:")))]
        if not people:
            continue
        grants = [covers(statement, action) for action in SERVICE_USE_ACTIONS]
        if all(g is True for g in grants):
            return CheckResult.passed(f"statement {number} lets principals create grants and describe the key")
        if None in grants and False not in grants:
            doubts.append(f"the actions of statement {number} are not known")
    # two statements may split the actions between them: one principal set must have both
    split = {action: [n for n, s in enumerate(policy.statements, 1) if s.effect == "Allow" and s.principals
                      and not s.not_principal and covers(s, action) is True] for action in SERVICE_USE_ACTIONS}
    if all(split.values()):
        doubts.append("kms:CreateGrant and kms:DescribeKey are granted by different statements "
                      f"({split['kms:CreateGrant']} and {split['kms:DescribeKey']}); whether one principal has both "
                      "depends on who they name")
    if doubts:
        return CheckResult.unknown(f"used by {names}; " + "; ".join(doubts), resource=at_fault, attribute="policy",
                                   related=related)
    return CheckResult.failed(
        f"used by {names}, but {policy.source} neither keeps account-root access nor lets any principal call "
        "kms:CreateGrant and kms:DescribeKey: creating those resources fails (RDS and the other services create "
        "a grant on the key with the caller's permissions)", resource=at_fault, attribute="policy",
        related=related, extra=dict(locate))
