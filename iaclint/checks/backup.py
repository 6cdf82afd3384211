"""AWS Backup rules that follow a selection to its sources and a copy to its destination (FACTS-2 2.1).

Recovery points of RDS, Aurora, Neptune, DocumentDB, Redshift and EBS inherit their source's
encryption whatever the vault key is, and a cross-account copy of such a point needs a customer
managed key on the source. So the questions are: which datastores of the configuration does a
selection pick (by reference or ARN, ARN wildcard, tag, condition, minus not_resources), how are they
encrypted, and where do the plan's copies go.
"""

from __future__ import annotations

import fnmatch
import re

from iaclint.checks.encryption import encryption_of
from iaclint.checks.keys import KeyKind, classify_key
from iaclint.engine.results import CheckContext, CheckResult
from iaclint.eval.values import Value, render
from iaclint.graph.model import BlockView, Graph, Resource
from iaclint.graph.placement import Place, account_of, default_tags, parse_arn, region_of, same_account, same_provider
from iaclint.model import Record

# datastores whose recovery points inherit the source's encryption, and how their ARN is written
INHERITING = {
    "aws_db_instance": ("rds", "db:{}", "identifier"),
    "aws_rds_cluster": ("rds", "cluster:{}", "cluster_identifier"),
    "aws_neptune_cluster": ("rds", "cluster:{}", "cluster_identifier"),
    "aws_docdb_cluster": ("rds", "cluster:{}", "cluster_identifier"),
    "aws_redshift_cluster": ("redshift", "cluster:{}", "cluster_identifier"),
    "aws_ebs_volume": ("ec2", "volume/{}", None),
}
# datastores whose recovery points AWS Backup encrypts with the vault key
INDEPENDENT = {
    "aws_efs_file_system": ("elasticfilesystem", "file-system/{}", None),
    "aws_s3_bucket": ("s3", "{}", "bucket"),
    "aws_dynamodb_table": ("dynamodb", "table/{}", "name"),
}
SELECTABLE = {**INHERITING, **INDEPENDENT}


class Pick(Record):
    """A datastore a selection picks: for sure (True) or perhaps (None), and why."""

    _shown = ("resource", "certain", "why")

    def __init__(self, resource: Resource, certain: bool | None, why: str):
        self.resource = resource
        self.certain = certain
        self.why = why


# ---- matching ------------------------------------------------------------------------------


def _text(value: Value | None) -> str | None:
    return value.raw if value is not None and value.known and isinstance(value.raw, str) else None


def _arn_parts(resource: Resource, graph: Graph) -> tuple[str, str | None, str | None, str | None]:
    """(service, region, account, resource part) of a datastore's ARN; None for the parts not known."""
    service, pattern, name_attribute = SELECTABLE[resource.type]
    region = region_of(resource, graph).value
    account = account_of(resource, graph).value
    name = _text(resource.attr(name_attribute).value) if name_attribute else None
    if resource.type == "aws_s3_bucket":
        region = account = ""  # bucket ARNs have neither
    return service, region, account, pattern.format(name) if name is not None else None


def arn_pattern_matches(pattern: str, resource: Resource, graph: Graph) -> bool | None:
    """Does an ARN or ARN wildcard in `resources` cover the datastore? None when its unknown parts decide."""
    if pattern == "*":
        return True
    fields = pattern.split(":", 5)
    if len(fields) < 6 or fields[0] != "arn":
        return False
    service, region, account, rest = _arn_parts(resource, graph)
    if not fnmatch.fnmatchcase(service, fields[2]):
        return False
    verdicts = [_part(fields[3], region), _part(fields[4], account)]
    if rest is not None:
        verdicts.append(fnmatch.fnmatchcase(rest, fields[5]))
    else:  # the name is not known: "db:*" covers any, "db:prod-*" may, "cluster:*" cannot
        stem = SELECTABLE[resource.type][1].split("{}")[0]
        literal = re.split(r"[*?\[]", fields[5], maxsplit=1)[0]
        if not (stem.startswith(literal) or literal.startswith(stem)):
            return False
        verdicts.append(True if fnmatch.fnmatchcase(stem + "\0", fields[5])
                        and fnmatch.fnmatchcase(stem + "\0\1x", fields[5]) else None)
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _part(wanted: str, mine: str | None) -> bool | None:
    if mine is None:
        return True if wanted == "*" else None
    return fnmatch.fnmatchcase(mine, wanted)


def _tags(resource: Resource, graph: Graph) -> tuple[dict[str, str] | None, str]:
    """The tags a resource will carry (its own over the provider's default_tags), or None and why."""
    planned = resource.attr("tags_all")
    if planned.is_set and planned.value.known and isinstance(planned.value.raw, dict):
        own, defaults = planned.value, None
    else:
        own, defaults = resource.attr("tags").value, default_tags(resource, graph)
    out: dict[str, str] = {}
    for value, what in ((defaults, "the provider's default_tags"), (own, "its tags")):
        if value is None or value.is_null:
            continue
        if not value.known or not isinstance(value.raw, dict):
            return None, f"{what} are not known ({value.unknown or 'not a map'})"
        for key, item in value.raw.items():
            if not item.known:
                return None, f"the tag {key} is not known ({item.unknown})"
            out[key] = "" if item.raw is None else str(item.raw)
    return out, ""


def _condition_holds(test: str, key: str, wanted: str, tags: dict[str, str]) -> bool:
    name = key.split("aws:ResourceTag/", 1)[-1]
    actual = tags.get(name)
    if test in ("string_equals", "STRINGEQUALS"):
        return actual == wanted
    if test == "string_like":
        return actual is not None and fnmatch.fnmatchcase(actual, wanted)
    if test == "string_not_equals":
        return actual != wanted
    if test == "string_not_like":
        return actual is None or not fnmatch.fnmatchcase(actual, wanted)
    return False


def _string_list(view) -> tuple[list[Value] | None, str]:
    if not view.is_set:
        return [], ""
    value = view.value
    if not value.known or not isinstance(value.raw, list):
        return None, f"{view.name} is not known ({value.unknown or 'not a list'})"
    return list(value.raw), ""


def _names(item: Value, resource: Resource, graph: Graph) -> bool | None:
    """Does one entry of `resources` name the datastore (by reference, ARN or wildcard)?"""
    if resource.address in item.all_refs():
        return True
    text = _text(item)
    if text is not None:
        return arn_pattern_matches(text, resource, graph)
    if item.all_refs():
        return False  # a reference to something else
    return None


def selection_picks(selection: Resource, graph: Graph) -> tuple[list[Pick], str]:
    """The datastores of the configuration a selection picks, or ([], why) when it cannot be read at all.

    Worked out once per graph: BAK002, BAK003, BAK004 and the key fix all ask it.
    """
    cache = graph.__dict__.setdefault("_selection_picks", {})
    if selection.address not in cache:
        cache[selection.address] = _selection_picks(selection, graph)
    return cache[selection.address]


def _selection_picks(selection: Resource, graph: Graph) -> tuple[list[Pick], str]:
    resources, why = _string_list(selection.attr("resources"))
    excluded, why_not = _string_list(selection.attr("not_resources"))
    tag_blocks, why_tags = selection.nested("selection_tag")
    condition_blocks, why_conditions = selection.nested("condition")
    for problem in (why, why_tags, why_conditions):
        if problem:
            return [], problem
    picks = []
    for candidate in graph.managed():
        if candidate.type not in SELECTABLE:
            continue
        if not same_provider(candidate, selection):
            here, there = region_of(selection, graph), region_of(candidate, graph)
            if here.value and there.value and here.value != there.value:
                continue  # a selection only picks resources of its own Region
        verdict, reasons = _picks(candidate, selection, resources, tag_blocks, condition_blocks, graph)
        if verdict is False:
            continue
        for item in excluded or []:
            if _names(item, candidate, graph) is True:
                verdict = False
        if excluded is None and verdict:
            verdict = None  # what not_resources takes out is not known
            reasons.append(why_not)
        if verdict is not False:
            picks.append(Pick(candidate, verdict, "; ".join(reasons)))
    return picks, ""


def _picks(candidate: Resource, selection: Resource, resources: list[Value], tag_blocks: list[BlockView],
           condition_blocks: list[BlockView], graph: Graph) -> tuple[bool | None, list[str]]:
    """Resources OR any selection_tag, then every condition (AND); none of them at all means every resource."""
    reasons: list[str] = []
    by_arn = [_names(item, candidate, graph) for item in resources]
    tags, why_tags = _tags(candidate, graph) if tag_blocks or condition_blocks else ({}, "")
    by_tag: list[bool | None] = []
    for block in tag_blocks:
        test, key, wanted = (_text(block.attr(n).value) for n in ("type", "key", "value"))
        if None in (test, key, wanted) or tags is None:
            by_tag.append(None)
            reasons.append(why_tags or f"a selection_tag of {selection.address} is not known")
        else:
            by_tag.append(_condition_holds(test.upper(), key, wanted, tags))
    chosen = by_arn + by_tag
    if not chosen:
        verdict: bool | None = True
    elif True in chosen:
        verdict = True
        reasons.append("named in resources" if True in by_arn else "tagged as its selection_tag asks")
    elif None in chosen:
        verdict = None
        if None in by_arn:
            reasons.append("an entry of resources is not known")
    else:
        return False, reasons
    for block in condition_blocks:
        for test in ("string_equals", "string_like", "string_not_equals", "string_not_like"):
            tests, _ = block.nested(test)
            for item in tests:
                key, wanted = _text(item.attr("key").value), _text(item.attr("value").value)
                if key is None or wanted is None or tags is None:
                    verdict = None  # the condition cannot be judged
                    reasons.append(why_tags or f"a condition of {selection.address} is not known")
                elif not _condition_holds(test, key, wanted, tags):
                    return False, reasons
    return verdict, reasons


# ---- BAK002 --------------------------------------------------------------------------------


def selected_sources_encrypted(selection: Resource, context: CheckContext) -> CheckResult:
    """BAK002: recovery points of an unencrypted RDS/Aurora/Neptune/DocumentDB/Redshift/EBS source are unencrypted."""
    graph = context.graph
    picks, why = selection_picks(selection, graph)
    if why:
        return CheckResult.unknown(f"which resources it selects cannot be told: {why}")
    plain, doubtful = [], []
    related = []
    for pick in picks:
        if pick.resource.type not in INHERITING:
            continue
        enc = encryption_of(pick.resource, graph)
        if enc.state is True:
            continue
        if pick.resource.header_span is not None:
            related.append((pick.resource.header_span, f"selected source {pick.resource.address}"))
        if enc.state is False and pick.certain:
            plain.append(f"{pick.resource.address} ({enc.reason})")
        elif enc.state is False:
            doubtful.append(f"{pick.resource.address}, which is not encrypted, if it is selected ({pick.why})")
        else:
            doubtful.append(f"{pick.resource.address}, which may not be encrypted ({enc.reason})")
    if plain:
        return CheckResult.failed(
            f"selects {', '.join(plain)}: backups of RDS, Aurora, Neptune, DocumentDB, Redshift and EBS inherit the "
            "source's encryption, so these recovery points are unencrypted whatever key the vault has (Security Hub "
            "Backup.1). Encrypt the source (RDS001 and the other datastore rules say how)", related=related,
            fixable=False, no_fix_reason="encrypt the selected sources; the selection itself is not at fault")
    if doubtful:
        return CheckResult.unknown("its recovery points may be unencrypted: " + "; ".join(doubtful), related=related)
    if not picks:
        return CheckResult.passed("selects no datastore of this configuration (resources outside it are not checked)")
    return CheckResult.passed("every datastore of this configuration it selects is encrypted, or uses the vault key")


# ---- plans, copies and accounts ------------------------------------------------------------


def plan_selections(plan: Resource, graph: Graph) -> list[Resource]:
    out = []
    for selection in graph.of_type("aws_backup_selection"):
        value = selection.attr("plan_id").value
        if selection.mode == "managed" and value is not None and plan.address in value.all_refs():
            out.append(selection)
    return out


def _vault_by_name(name_value: Value | None, graph: Graph) -> Resource | None:
    if name_value is None:
        return None
    for vault in graph.referenced(name_value.all_refs()):
        if vault.type == "aws_backup_vault":
            return vault
    text = _text(name_value)
    for vault in graph.of_type("aws_backup_vault"):
        if text is not None and _text(vault.attr("name").value) == text:
            return vault
    return None


class Copy(Record):
    """One copy_action of a plan rule: where it goes and whether that is another account."""

    _shown = ("rule", "destination", "vault", "source_account", "destination_account", "cross", "why")

    def __init__(self, rule: BlockView, destination: Value, vault: Resource | None, source_account: Place,
                 destination_account: Place, cross: bool | None, why: str):
        self.rule = rule
        self.destination = destination
        self.vault = vault  # the destination vault, when it is in the configuration
        self.source_account = source_account
        self.destination_account = destination_account
        self.cross = cross  # another account (True), the same (False), or not known (None)
        self.why = why


def plan_copies(plan: Resource, graph: Graph) -> tuple[list[Copy], str]:
    rules, why = plan.nested("rule")
    if why:
        return [], why
    out = []
    source = account_of(plan, graph)
    for rule in rules:
        actions, why = rule.nested("copy_action")
        if why:
            return [], why
        for action in actions:
            view = action.attr("destination_vault_arn")
            if not view.is_set:
                continue
            value = view.value
            vault = next((v for v in graph.referenced(value.all_refs()) if v.type == "aws_backup_vault"), None)
            if vault is not None:
                there = account_of(vault, graph)
                same, why = same_account(plan, vault, graph)
                if same is not None:
                    out.append(Copy(rule, value, vault, source, there, not same, why))
                    continue
            else:
                text = _text(value)
                arn = parse_arn(text) if text else None
                there = (Place(arn["account"], f"the ARN {render(value)}") if arn else
                         Place(None, f"destination_vault_arn is not known ({value.unknown or render(value)})"))
            if there.value is not None and source.value is not None:
                cross = there.value != source.value
                why = f"{source.value} to {there.value}"
            else:
                cross, why = None, (there.why if there.value is None else source.why)
            out.append(Copy(rule, value, vault, source, there, cross, why))
    return out, ""


def _rule_name(rule: BlockView) -> str:
    name = _text(rule.attr("rule_name").value)
    return f'rule "{name}"' if name else rule.label


def _source_vault_key(rule: BlockView, graph: Graph):
    vault = _vault_by_name(rule.attr("target_vault_name").value, graph)
    if vault is None:
        return None, None
    return vault, classify_key(vault.attr("kms_key_arn"), graph)


def cross_account_copy_key(plan: Resource, context: CheckContext) -> CheckResult:
    """BAK003: a cross-account copy of a recovery point on an AWS managed key fails (only the copy job)."""
    graph = context.graph
    copies, why = plan_copies(plan, graph)
    if why:
        return CheckResult.unknown(f"its copy rules cannot be read: {why}")
    crossing = [c for c in copies if c.cross is not False]
    if not crossing:
        return CheckResult.passed("copies to no other account")
    failures, doubts, related = [], [], []
    for copy in crossing:
        rule = _rule_name(copy.rule)
        problems = []
        for selection in plan_selections(plan, graph):
            picks, why = selection_picks(selection, graph)
            if why:
                doubts.append(f"which resources {selection.address} selects is not known ({why})")
                continue
            for pick in picks:
                source = pick.resource
                if source.type in INHERITING:
                    enc = encryption_of(source, graph)
                    if enc.state is False:
                        continue  # BAK002 reports it
                    key = enc.key
                    kind = key.kind if key is not None and enc.state is True else KeyKind.UNKNOWN
                    what = key.key.reason if key is not None else enc.reason
                elif source.type == "aws_efs_file_system":
                    continue  # EFS is the documented exception
                else:
                    vault, key = _source_vault_key(copy.rule, graph)
                    if key is None:
                        kind, what = KeyKind.UNKNOWN, "the rule's target vault is not in this configuration"
                    else:
                        shown = ("kms_key_arn is not set, so the AWS managed key aws/backup" if key.kind is KeyKind.ABSENT
                                 else key.reason)
                        kind, what = key.kind, f"copied under the key of its vault {vault.address}: {shown}"
                if kind in (KeyKind.AWS_MANAGED, KeyKind.ABSENT) and pick.certain:
                    problems.append(f"{source.address} ({what})")
                    if source.header_span is not None:
                        related.append((source.header_span, f"copied source {source.address}"))
                elif kind in (KeyKind.AWS_MANAGED, KeyKind.ABSENT, KeyKind.UNKNOWN):
                    doubts.append(f"{source.address} ({what}{'' if pick.certain else ', if selected'})")
        if problems and copy.cross:
            failures.append(f"{rule} copies to another account ({copy.why}), and {', '.join(problems)} would be "
                            "copied under an AWS managed key")
        elif problems:
            doubts.append(f"{rule} may copy to another account ({copy.why}), and {', '.join(problems)} is on an AWS "
                          "managed key")
    if failures:
        return CheckResult.failed(
            "; ".join(failures) + ": cross-account copies need customer managed keys (EFS excepted), so those copy "
            "jobs fail while the plan looks fine. Encrypt the sources (and the source vault) with a customer managed "
            "key whose policy allows the destination account", related=related, fixable=False,
            no_fix_reason="the sources need a customer managed key; their own rules say how")
    if doubts:
        return CheckResult.unknown("cross-account copy under an AWS managed key cannot be ruled out: "
                                   + "; ".join(doubts), related=related)
    return CheckResult.passed("every copied source of this configuration is on a customer managed key")


# ---- BAK004 --------------------------------------------------------------------------------

COPY_INTO = ("backup:CopyIntoBackupVault",)


def _vault_policy(vault: Resource, graph: Graph) -> Resource | None:
    name = _text(vault.attr("name").value)
    for setter in graph.of_type("aws_backup_vault_policy"):
        value = setter.attr("backup_vault_name").value
        if value is None:
            continue
        if vault.address in value.all_refs() or (name is not None and _text(value) == name):
            return setter
    return None


def _copied_keys(plan: Resource, graph: Graph) -> list[tuple[Resource, Resource]]:
    """(source, customer managed key resource) for each selected source copied under a key of the configuration."""
    out = []
    for selection in plan_selections(plan, graph):
        picks, _ = selection_picks(selection, graph)
        for pick in picks:
            if pick.resource.type not in INHERITING or pick.certain is not True:
                continue
            enc = encryption_of(pick.resource, graph)
            if enc.state is True and enc.key is not None and enc.key.key.key_resource is not None:
                out.append((pick.resource, enc.key.key.key_resource))
    return out


def cross_account_copy_permissions(plan: Resource, context: CheckContext) -> CheckResult:
    """BAK004: the destination vault must let the source account copy in, and the source key the destination."""
    from iaclint.checks.datastores import SHARE_ACTIONS
    from iaclint.checks.policy import account_permissions, key_policy, policy_span, read_policy

    graph = context.graph
    copies, why = plan_copies(plan, graph)
    if why:
        return CheckResult.unknown(f"its copy rules cannot be read: {why}")
    from iaclint.checks.datastores import share_statements_fix
    from iaclint.fixes.policy import NewStatement, PolicyEdit

    problems, doubts, related = [], [], []
    fixes: list = []
    caller = None
    for copy in copies:
        if copy.cross is not True:
            if copy.cross is None and copy.vault is not None:
                doubts.append(f"whether {_rule_name(copy.rule)} copies to another account cannot be told: {copy.why}")
            continue
        rule, source, destination = _rule_name(copy.rule), copy.source_account.value, copy.destination_account.value
        if copy.vault is not None:
            setter = _vault_policy(copy.vault, graph)
            if setter is None:
                doubts.append(f"{rule} copies into {copy.vault.address} in {destination}, and no aws_backup_vault_policy "
                              "of this configuration lets the source account copy into it")
            else:
                related.append((policy_span(setter), f"vault policy {setter.address}"))
                policy = read_policy(setter, "policy", graph)
                if policy.unknown:
                    doubts.append(f"the policy of {setter.address} cannot be read: {policy.unknown}")
                else:
                    missing, unsure = account_permissions(policy, [source], COPY_INTO)
                    if missing:
                        problems.append(f"{setter.address} does not allow account {source} "
                                        "backup:CopyIntoBackupVault")
                        fixes.append(PolicyEdit(setter.address, "policy", [NewStatement(
                            "AllowCopyFromSourceAccount", [f"arn:aws:iam::{source}:root"], list(COPY_INTO))],
                            f"lets {source} copy into {copy.vault.address}"))
                    elif unsure:
                        doubts.append(f"{setter.address} names principals that are not known")
        for origin, key in _copied_keys(plan, graph):
            policy, setter = key_policy(key, graph)
            if policy.unknown:
                doubts.append(f"the policy of {key.address} cannot be read: {policy.unknown}")
                continue
            missing, unsure = account_permissions(policy, [destination], SHARE_ACTIONS)
            if missing:
                problems.append(f"the policy of {key.address} (the key of {origin.address}) does not allow the "
                                f"destination account {', '.join(missing)}")
                related.append((policy_span(setter), f"key policy of {key.address}"))
                extra = share_statements_fix(key, setter, policy, [destination], graph, "backup")
                if not any(f.holder == setter.address for f in fixes):
                    fixes += extra["policy_statements"]
                    caller = caller or extra.get("needs_caller_identity")
            elif unsure:
                doubts.append(f"the policy of {key.address} names principals that are not known")
    if problems:
        return CheckResult.failed(
            "a cross-account copy from " + ", ".join(sorted({c.source_account.value for c in copies if c.cross}))
            + " fails: " + "; ".join(problems) + ". The destination vault's access policy must allow "
            "backup:CopyIntoBackupVault for the source account (arn:aws:iam::SOURCE:root, or aws:PrincipalOrgID), and "
            "the source key's policy must let the destination account use the key", related=related,
            extra={"policy_statements": fixes, **({"needs_caller_identity": caller} if caller else {})})
    if doubts:
        return CheckResult.unknown("; ".join(doubts), related=related)
    return CheckResult.passed("no cross-account copy, or both policies allow it")
