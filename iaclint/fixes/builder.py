"""Turn a finding into a Fix: edits at the origin of the failing value, with an honest applicability.

Where the edit goes:
- the literal in the resource, or an inserted attribute when it is missing;
- the variable default, tfvars entry, module argument or local that holds the literal (the title says
  which), and `unsafe` with the other resources named when that literal also feeds them;
- for a customer managed key: a reference to a suitable aws_kms_key of the module, or a new one
  added to the same file.
Applicability follows FACTS.md: an argument that forces replacement makes the fix `unsafe`, unless
the resource does not exist yet (a plan that creates it). A value that is computed, conditional or
given on the command line gets a `display` suggestion only.
"""

from __future__ import annotations

import re

from iaclint.engine import conditions
from iaclint.engine.runner import FindingContext, describe_origin
from iaclint.eval.values import Alternatives, Origin, OriginKind, Value
from iaclint.fixes.kms import KeyPlan, plan_customer_key
from iaclint.graph.model import Graph, Resource
from iaclint.hcl import ast
from iaclint.hcl import layout
from iaclint.hcl.layout import LayoutError, insert_after_block, insert_attribute, insert_attributes, literal_like
from iaclint.model import Applicability, Edit, Finding, Fix, Record, Span
from iaclint.source import SourceFile

EDITABLE_ORIGINS = {OriginKind.LITERAL, OriginKind.VARIABLE_DEFAULT, OriginKind.TFVARS, OriginKind.MODULE_ARGUMENT,
                    OriginKind.LOCAL, OriginKind.TERRAGRUNT_INPUT}


# (source, start, end, text) -> the edits of replace_value, while attach_fixes runs: the instances of one block
# (10,000 of a for_each) are fixed by one edit, whose trailing comments need looking at only once
_replacements: dict[tuple[int, int, int, str], list[Edit]] | None = None


def replace_value(source: SourceFile, start: int, end: int, text: str) -> list[Edit]:
    """layout.replace_value, made once per place and text while attach_fixes runs (a new list each time: callers
    add to it)."""
    if _replacements is None:
        return layout.replace_value(source, start, end, text)
    key = (id(source), start, end, text)
    edits = _replacements.get(key)
    if edits is None:
        edits = _replacements[key] = layout.replace_value(source, start, end, text)
    return list(edits)


class NoFix(Exception):
    """Why a finding gets no automatic fix; shown to the user."""


class Target(Record):
    """The resource the fix edits and its HCL form (for plans, the configuration's resource)."""

    _shown = ("resource", "graph")

    def __init__(self, resource: Resource, graph: Graph):
        self.resource = resource
        self.graph = graph


def attach_fixes(findings: list[Finding]) -> None:
    """Give each fixable finding its fix, or the reason it has none.

    Findings whose fixes are the same edits (NEP001 and NEP004 both set storage_encrypted on one
    cluster) share one Fix object: a large file's fixes are a fifth of its memory.
    """
    global _replacements
    _replacements = {}  # the sources stay alive meanwhile: their ids are not reused
    try:
        _attach(findings)
    finally:
        _replacements = None


def _attach(findings: list[Finding]) -> None:
    made: dict[str, Fix] = {}  # title -> the fix first made with it
    graphs: dict[int, Graph] = {}
    for finding in findings:
        context = finding.context
        if not isinstance(context, FindingContext) or context.rule.fix is None:
            continue
        graphs[id(context.graph)] = context.graph
        if finding.no_fix_reason:
            continue
        try:
            fix = build_fix(context)
            _outside_downloads(fix, context)
        except NoFix as exc:
            finding.no_fix_reason = str(exc)
            continue
        except LayoutError as exc:
            finding.no_fix_reason = str(exc)
            continue
        sources = context.graph.sources
        fix.edits = tuple(e.located(sources[e.file]) if e.file in sources else e for e in fix.edits)
        same = made.get(fix.title)
        if same is not None and same.sources is sources and same == fix:
            finding.fix = same
            continue
        fix.sources = sources
        made[fix.title] = fix
        finding.fix = fix
    for graph in graphs.values():
        graph.__dict__.pop("_users_by_origin", None)  # made for fixes, not needed once they are made


def _outside_downloads(fix: Fix, context: FindingContext) -> None:
    """A downloaded module's files are the registry's or git's, not the repository's: a fix that would edit one is
    refused (one that edits the caller's argument, variable or tfvars entry is not)."""
    graphs = [context.graph, context.graph.hcl_companion]
    downloaded = set().union(*(g.downloaded_files for g in graphs if g is not None))
    if any(edit.file in downloaded for edit in fix.edits):
        subject = context.result.resource or context.resource
        subject = getattr(subject, "hcl_resource", None) or subject
        why = subject.not_editable or "it is defined in a downloaded module"
        raise NoFix(f"{subject.address} cannot be edited automatically: {why}")


def build_fix(context: FindingContext) -> Fix:
    spec = context.rule.fix
    if spec["action"] == "share_copy":
        return _share_copy(context, _target(context))
    if spec["action"] == "repoint_key":
        fix = _repoint_key(context)
        _adjust_for_plan(context, _target(context), spec, fix)
        return fix
    if spec["action"] == "policy_statement" and not context.result.extra.get("new_key"):
        fix = _policy_statements(context)
        _adjust_for_plan(context, _target(context), spec, fix)
        return fix
    if spec["action"] == "check_settings":
        fix = _check_settings(context, _target(context), spec)
        _adjust_for_plan(context, _target(context), spec, fix)
        return fix
    target = _target(context)
    spec = _with_block(spec)
    if spec.get("at_failing_path") and context.result.attribute:
        spec = {**spec, "attribute": context.result.attribute}
    for name in spec.get("conflicts_with", ()):
        if target.resource.attr(name).present:
            raise NoFix(f"{name} is set, and the provider rejects it together with {spec['attribute']}: remove it, "
                        "then the fix can be applied")
    nested = "." in fix_attribute(spec, target.resource) or bool(spec.get("with")) or bool(spec.get("new_resource"))
    if spec["action"] == "policy_statement":
        spec = {**spec, "action": "customer_managed_key"}  # the key is AWS managed: a new key carries the statement
    if spec["action"] == "set_attribute":
        nested = nested or not isinstance(spec.get("value", True), bool)
        fix = _settings_fix(context, target, spec, key=False) if nested else _set_attribute(context, target, spec)
    elif nested:
        fix = _settings_fix(context, target, spec, key=True)
    else:
        fix = _customer_managed_key(context, target, spec)
    _adjust_for_plan(context, target, spec, fix)
    return fix


def _with_block(spec: dict) -> dict:
    """The older `block: server_side_encryption` form: the key inside that block, with `enabled = true`."""
    block = spec.get("block")
    if not block:
        return spec
    spec = {k: v for k, v in spec.items() if k != "block"}
    spec["attribute"] = f"{block}.{spec['attribute']}"
    spec["with"] = {f"{block}.enabled": True, **spec.get("with", {})}
    return spec


def _target(context: FindingContext) -> Target:
    subject = context.result.resource or context.resource
    graph = context.graph
    if subject.source_kind == "plan":
        hcl = getattr(subject, "hcl_resource", None)
        if hcl is None:
            raise NoFix("the plan's configuration was not found (use --config-dir), so there is nothing to edit")
        subject = hcl
        graph = graph.hcl_companion
    if subject.not_editable and getattr(subject, "file", None) not in graph.downloaded_files:
        raise NoFix(f"{subject.address} cannot be edited automatically: {subject.not_editable}")
    return Target(subject, graph)  # a downloaded module's resource: its fix may edit the caller (attach_fixes checks)


# ---- applicability -------------------------------------------------------------------------


_RESTORE_STORY = ("unless you migrate first: snapshot it, copy the snapshot with the new key (or restore it with "
                  "the key), and create the new one from the copy (snapshot_identifier)")
REPLACEMENT = {
    "aws_rds_cluster": "the cluster is destroyed and created again, empty, " + _RESTORE_STORY,
    "aws_db_instance": "the instance is destroyed and created again, empty, " + _RESTORE_STORY,
    "aws_docdb_cluster": "the cluster is destroyed and created again, empty, " + _RESTORE_STORY,
    "aws_rds_global_cluster": "the global cluster is destroyed and created again; its member clusters must be "
                              "detached and migrated first",
    "aws_neptune_global_cluster": "the global cluster is destroyed and created again; its member clusters must be "
                                  "detached and migrated first",
    "aws_docdb_global_cluster": "the global cluster is destroyed and created again; its member clusters must be "
                                "detached and migrated first",
    "aws_db_snapshot_copy": "the copy is deleted and made again from its source snapshot (the source is kept)",
    "aws_rds_cluster_snapshot_copy": "the copy is deleted and made again from its source snapshot (the source is "
                                     "kept)",
    "aws_efs_file_system": "the file system is destroyed and created again, empty: copy the files first (AWS "
                           "DataSync, or an AWS Backup restore into the new file system)",
    "aws_ebs_volume": "the volume is destroyed and created again, empty: snapshot it, copy the snapshot with "
                      "encryption, and create the new volume from the copy (snapshot_id)",
    "aws_spot_fleet_request": "the spot fleet request is cancelled and made again, so its instances are replaced "
                              "and what their volumes hold is lost",
    "aws_fsx_file_cache": "the cache is destroyed and created again, empty: it is loaded again from its data "
                          "repositories",
    "aws_memorydb_cluster": "the cluster is destroyed and created again, empty: take a snapshot and create the new "
                            "cluster from it (snapshot_name)",
    "aws_elasticache_serverless_cache": "the cache is destroyed and created again, empty: take a snapshot and create "
                                        "the new cache from it (snapshot_arns_to_restore)",
    "aws_docdbelastic_cluster": "the cluster is destroyed and created again, empty: snapshot it and restore the "
                                "snapshot with the new key",
    "aws_neptune_cluster": (
        "the cluster is destroyed and created again, empty, unless you migrate first: snapshot it, copy the "
        "snapshot with the new key, and create the new cluster from the copy (snapshot_identifier)"),
    "aws_elasticache_replication_group": (
        "the cache is destroyed and created again, empty, unless you migrate first: take a manual backup and "
        "create the new group from it (snapshot_name or snapshot_arns), then move clients to it"),
    "aws_backup_vault": (
        "the vault is destroyed and created again: its recovery points are not moved, and a vault that still "
        "holds recovery points cannot be deleted; create the new vault beside the old one and keep the old one "
        "until its recovery points expire"),
    # the rest of the estate (FACTS-3 §1 "change" column: RR)
    "aws_opensearch_domain": "the domain is destroyed and created again, empty: take a manual snapshot to an S3 "
                             "repository first and restore it into the new domain",
    "aws_elasticsearch_domain": "the domain is destroyed and created again, empty: take a manual snapshot to an S3 "
                                "repository first and restore it into the new domain",
    "aws_ecr_repository": "the repository is destroyed and created again, empty: its images are deleted unless "
                          "you copy them to another repository first (and force_delete decides whether a "
                          "repository with images can be deleted at all)",
    "aws_msk_cluster": "the cluster is destroyed and created again, empty: mirror its topics to the new cluster "
                       "(MirrorMaker) and move producers and consumers before the old one goes",
    "aws_mq_broker": "the broker is destroyed and created again: queued messages and its configuration state are "
                     "lost unless drained first",
    "aws_dax_cluster": "the cluster is destroyed and created again; it holds only a cache, which is filled again "
                       "from DynamoDB",
    "aws_instance": "the instance is destroyed and created again from its AMI: data on its volumes is lost "
                    "unless you snapshot them first and create encrypted volumes from copies of the snapshots",
    "aws_launch_configuration": "a new launch configuration is created; instances already launched keep their "
                                "volumes until they are replaced",
    "aws_workspaces_workspace": "the WorkSpace is destroyed and created again: the user's volume data is lost "
                                "unless backed up first",
    "aws_glue_security_configuration": "the security configuration is destroyed and created again; jobs, "
                                       "crawlers and endpoints that name it pick up the new one on their next run",
    **{t: "the file system is destroyed and created again, empty: back it up first and create the new file "
          "system from the backup" for t in ("aws_fsx_lustre_file_system", "aws_fsx_windows_file_system",
                                                          "aws_fsx_ontap_file_system", "aws_fsx_openzfs_file_system")},
    "aws_appsync_api_cache": "the cache is deleted and created again, empty: responses come from the data sources "
                             "until it fills again (a cache holds no data of record)",
    "aws_sagemaker_notebook_instance": "the notebook instance is deleted and created again: files on its ML storage "
                                       "volume are lost unless copied to S3 or a Git repository first",
    "aws_sagemaker_endpoint_configuration": "the endpoint configuration is deleted and created again, and the "
                                            "endpoints that use it are updated to it, which redeploys their "
                                            "instances",
    "aws_sagemaker_domain": "the domain is deleted and created again: its user profiles, spaces and apps must be "
                            "deleted first and created again, and its EFS home directories are not carried over",
    "aws_dms_replication_instance": "the replication instance is deleted and created again: its replication tasks "
                                    "must be stopped and moved to the new one, and ongoing replication restarts",
    "aws_dms_endpoint": "the endpoint is deleted and created again: the replication tasks that use it must be "
                        "stopped, and created again with the new endpoint",
    "aws_kinesis_video_stream": "the stream is deleted and created again, empty: its stored media is lost",
    "aws_codeartifact_domain": "the domain is deleted and created again, empty: its repositories must be deleted "
                               "first, and every package must be published or copied again",
    "aws_mwaa_environment": "the environment is deleted and created again: its metadata database (DAG run "
                            "history, variables, connections) is lost; export what you need first",
    "aws_apprunner_service": "the service is deleted and created again: it gets a new default URL, and custom "
                             "domains must be associated again",
    "aws_neptunegraph_graph": "the graph is deleted and created again, empty: export its data first and load it "
                              "into the new graph",
    "aws_bedrockagent_knowledge_base": "the knowledge base is deleted and created again: its data sources must be "
                                       "added and synchronised again, and agents that use it need its new id",
}


# Types whose key argument FACTS-3 lists with an unverified change behaviour: a fix says it may replace them.
REPLACEMENT_UNVERIFIED = {
    "aws_bedrockagent_agent": "if it does, the agent is deleted and created again: its versions and aliases are "
                              "lost and the applications that call it need its new id",
    "aws_bedrock_guardrail": "if it does, the guardrail is deleted and created again: its versions are lost and the "
                             "agents and applications that use it need its new id",
}


def replacement_consequence(resource: Resource) -> str:
    return REPLACEMENT.get(resource.type, "the resource is destroyed and created again")


def fix_attribute(spec: dict, resource: Resource) -> str:
    """The argument a fix edits: per resource type where the rule covers several."""
    return spec.get("attributes", {}).get(resource.type, spec["attribute"])


def _base_applicability(spec: dict, resource: Resource, graph: Graph) -> tuple[Applicability, str]:
    """Safe, or unsafe with why: a replacement and its consequence first (replaces_resource, unless
    in_place_when holds), then `unsafe_because` (who needs access to the new setting)."""
    because = spec.get("unsafe_because", "")
    note = spec.get("note", "")
    in_place = ""
    if spec.get("replaces_resource"):
        if resource.type in REPLACEMENT_UNVERIFIED:
            return Applicability.UNSAFE, _join(f"may force replacement of {resource.address} (replacement "
                                               f"behaviour unverified): {REPLACEMENT_UNVERIFIED[resource.type]}",
                                               because)
        consequence = replacement_consequence(resource)
        gate = spec.get("in_place_when")
        if gate is None:
            return Applicability.UNSAFE, _join(f"forces replacement of {resource.address}: {consequence}", because)
        outcome = conditions.evaluate(gate, resource, graph)
        if outcome.state is not True:
            why = outcome.reason if outcome.state is False else f"{outcome.reason}, so it may be"
            why = f" ({why})" if outcome.reason else ""
            return Applicability.UNSAFE, _join(f"forces replacement of {resource.address}{why}: {consequence}",
                                               because)
        in_place = f"changed in place ({outcome.reason})" if outcome.reason else "changed in place"
    if because:
        return Applicability.UNSAFE, _join(in_place, because, note)
    return Applicability.SAFE, _join(in_place, note)


def _adjust_for_plan(context: FindingContext, target: Target, spec: dict, fix: Fix) -> None:
    """A plan that creates the resource, or a resource added since --base, means nothing is replaced."""
    if fix.applicability is Applicability.UNSAFE and not fix.note.startswith("also changes") \
            and target.resource.address in target.graph.new_since_base:
        fix.applicability = Applicability.SAFE
        fix.note = (f"safe: {target.resource.address} does not exist in {target.graph.base_ref}, so it has never "
                    "been applied from this branch and nothing is replaced")
        return
    planned = context.result.resource or context.resource
    actions = planned.plan_actions
    if fix.applicability is Applicability.UNSAFE and actions and tuple(actions) == ("create",) \
            and not fix.note.startswith("also changes"):
        fix.applicability = Applicability.SAFE
        fix.note = f"safe: the plan creates {planned.address}, so nothing is replaced"
        return
    why_live = target.graph.base_notes.get(target.resource.address)
    if fix.applicability is Applicability.UNSAFE and why_live:
        fix.note += f"{'; ' if fix.note else ''}--base {target.graph.base_ref}: {why_live}"


# ---- share_copy ----------------------------------------------------------------------------

COPY_OF = {"aws_db_snapshot": ("aws_db_snapshot_copy", "source_db_snapshot_identifier", "db_snapshot_arn",
                               "target_db_snapshot_identifier"),
           "aws_db_cluster_snapshot": ("aws_rds_cluster_snapshot_copy", "source_db_cluster_snapshot_identifier",
                                       "db_cluster_snapshot_arn", "target_db_cluster_snapshot_identifier")}


def _share_copy(context: FindingContext, target: Target) -> Fix:
    """SNP001 (display only): a copy of the snapshot with a customer managed key, shared instead of it."""
    snapshot, graph = target.resource, target.graph
    if snapshot.type not in COPY_OF:
        raise NoFix("set kms_key_id on this copy to a customer managed key (RDS003's fix does)")
    kind, source_arg, arn_attr, target_arg = COPY_OF[snapshot.type]
    block, source = _block_and_source(snapshot, graph)
    from iaclint.fixes.kms import module_keys

    keys = sorted((k for k in module_keys(graph, snapshot.module_address)[0] if k.key is None), key=lambda k: k.address)
    key = f"aws_kms_key.{keys[0].name}.arn" if len(keys) == 1 else '"arn:aws:kms:REGION:ACCOUNT:key/KEY-ID"'
    shared = block.attribute("shared_accounts")
    accounts = source.text[shared.expr.start:shared.expr.end] if shared is not None else "[]"
    name = f"{snapshot.name}_cmk"
    identifier = block.attribute("db_snapshot_identifier" if kind == "aws_db_snapshot_copy"
                                 else "db_cluster_snapshot_identifier")
    ident_text = source.text[identifier.expr.start:identifier.expr.end] if identifier is not None else '""'
    target_text = ident_text[:-1] + '-cmk"' if ident_text.endswith('"') else f'"${{{ident_text}}}-cmk"'
    pairs = [(source_arg, f"{snapshot.type}.{snapshot.name}.{arn_attr}"), (target_arg, target_text),
             ("kms_key_id", key), ("shared_accounts", accounts)]
    width = max(len(n) for n, _ in pairs)
    snippet = f'resource "{kind}" "{name}" {{\n' + "".join(f"  {n.ljust(width)} = {v}\n" for n, v in pairs) + "}\n"
    edits = [insert_after_block(source, block, snippet)]
    if shared is not None:
        start, end = source.line_start(shared.start), source.line_end(shared.end)
        edits.append(Edit(source.path, start, end, ""))
    note = ("a suggestion: choose the customer managed key, let the accounts use it in its policy (SNP002), and "
            "stop sharing the original")
    return Fix(f"share a copy with a customer managed key instead: add {kind}.{name} and remove shared_accounts "
               f"from {snapshot.address}", Applicability.DISPLAY, edits, note)


# ---- repoint_key --------------------------------------------------------------------------


def _repoint_key(context: FindingContext) -> Fix:
    """XRG001: point a key argument written in the resource at the configuration's key of the right Region."""
    wanted = context.result.extra.get("repoint_key")
    if not wanted:
        raise NoFix("this configuration has no single key in the resource's Region to point at")
    address, attribute = wanted
    target = _target(context)
    resource, graph = target.resource, target.graph
    block, source = _block_and_source(resource, graph)
    node = block.attribute(attribute)
    if node is None:
        raise NoFix(f"{attribute} is not written in {resource.address} itself; change it where it is set")
    key = graph.resource(address)
    if key is None:
        raise NoFix(f"{address} is not in the configuration being edited")
    text = f"{key.type}.{key.name}.arn"
    edits = replace_value(source, node.expr.start, node.expr.end, text)
    line = source.line_col(node.start)[0]
    return Fix(f"point {resource.address}.{attribute} at {text} ({source.path}:{line})", Applicability.SAFE, edits,
               "a resource cannot have been created with a key of another Region, so nothing exists to replace; if "
               "the argument was changed after creation, the plan shows the replacement")


# ---- policy_statement ----------------------------------------------------------------------


def _policy_statements(context: FindingContext) -> Fix:
    """Add the statements a check asks for (result.extra["policy_statements"]) to the policies that lack them."""
    from iaclint.fixes.policy import add_statements

    wanted = context.result.extra.get("policy_statements")
    if not wanted:
        raise NoFix("no statement can be stated for this finding")
    graph = context.graph.hcl_companion if context.graph.kind == "plan" else context.graph
    if graph is None:
        raise NoFix("the plan's configuration was not found (use --config-dir), so there is nothing to edit")
    edits, places, notes = [], [], []
    for wish in wanted:
        holder = graph.resource(wish.holder)
        if holder is None or holder.not_editable:
            raise NoFix(f"{wish.holder} cannot be edited automatically"
                        + (f": {holder.not_editable}" if holder is not None else ""))
        more, where = add_statements(holder, wish.attribute, wish.statements, graph, wish.default_statement)
        edits += more
        places.append(f"{', '.join(s.sid for s in wish.statements)} to {where}")
        if wish.note:
            notes.append(wish.note)
    for anchor, text in dict.fromkeys(context.result.extra.get("new_blocks", ())):
        holder = graph.resource(anchor)
        block = getattr(holder, "block", None)
        source = graph.sources.get(block.file) if block is not None else None
        if source is None:
            raise NoFix(f"{text.splitlines()[0].rstrip(' {')} cannot be added beside {anchor}")
        edits.append(insert_after_block(source, block, text))
        places.append(f"{text.splitlines()[0].rstrip(' {}')} after {anchor}")
    caller = context.result.extra.get("needs_caller_identity")
    if caller:
        holder = graph.resource(caller)
        block = getattr(holder, "block", None)
        source = graph.sources.get(block.file) if block is not None else None
        if source is None:
            raise NoFix("the account id is not known and data.aws_caller_identity cannot be added")
        edits.append(insert_after_block(source, block, 'data "aws_caller_identity" "current" {}\n'))
        places.append(f"data.aws_caller_identity.current after {caller}")
    note = "; ".join(notes + ["a policy change is made in place"])
    return Fix("add statement " + "; and ".join(places), Applicability.SAFE, edits, note)


# ---- check_settings ------------------------------------------------------------------------


def _check_settings(context: FindingContext, target: Target, spec: dict) -> Fix:
    """Write the nested settings a check names (result.extra["fix_settings"]: (path, value) pairs), remove the
    arguments it names (fix_removals), and point paths at a customer managed key (fix_new_key: the key the
    check found to reuse, else a new one for the resource it names, in that resource's Region)."""
    from iaclint.fixes.nested import Setting, set_paths

    extra = context.result.extra
    resource, graph = target.resource, target.graph
    block, source = _block_and_source(resource, graph)
    settings = [Setting(path, value) for path, value in extra.get("fix_settings", ())]
    key_edits: list[Edit] = []
    suffix, key_note = "", ""
    wanted = extra.get("fix_new_key")
    if wanted:
        reference = wanted.get("reuse", "")
        if reference:
            suffix = f", the destination bucket's own key {reference}"
        else:
            owner = graph.resource(wanted.get("for", ""))
            if owner is None or getattr(owner, "block", None) is None:
                raise NoFix("the replica key must be a key of the destination bucket's Region: name one by hand")
            plan = plan_customer_key(graph, owner, resource_module(resource), source, block,
                                     {"service": spec.get("service", "s3")}, provider_of=owner)
            reference = plan.reference(spec.get("key_attribute", "arn"))
            key_edits, suffix, key_note = plan.edits, plan.title_suffix(), plan.note
        settings += [Setting(path, reference, expression=True) for path in wanted.get("paths", ())]
    result = set_paths(source, block, settings, graph.sources)
    edits = result.edits + _removals(source, block, extra.get("fix_removals", ()))
    if not edits:
        raise NoFix("the settings are already written; the finding comes from elsewhere")
    shown = " and ".join(s.shown() for s in settings)
    removed = ", ".join(extra.get("fix_removals", ()))
    title = f"set {shown} in {resource.address}" + (f" and remove {removed}" if removed else "") + suffix
    if spec.get("display_only"):
        return Fix(title, Applicability.DISPLAY, edits + key_edits, _join(spec.get("note", ""), key_note))
    if result.computed:
        return Fix(title, Applicability.DISPLAY, edits + key_edits,
                   f"{', '.join(result.computed)} is computed here; replacing the expression changes what it meant, "
                   "so a person should decide")
    applicability, note = _base_applicability(spec, resource, graph)
    return Fix(title, applicability, edits + key_edits, _join(note, key_note))


def _removals(source: SourceFile, block: ast.Block, paths) -> list[Edit]:
    """Edits that delete the lines of arguments named by path (`rule.apply_server_side_encryption_by_default.
    kms_master_key_id`), in the blocks the path names."""
    from iaclint.fixes.nested import _index as block_index, _name

    edits = []
    for path in paths:
        *parents, name = path.split(".")
        holders = [block]
        for segment in parents:
            found = []
            for holder in holders:
                blocks = holder.blocks(_name(segment))
                index = block_index(segment)
                found += [blocks[index]] if index is not None and index < len(blocks) else blocks if index is None \
                    else []
            holders = found
        for holder in holders:
            node = holder.attribute(name)
            if node is not None:
                start, end = source.line_start(node.start), source.line_end(node.end)
                edits.append(Edit(source.path, start, end, ""))
    return edits


# ---- set_attribute -------------------------------------------------------------------------


def _set_attribute(context: FindingContext, target: Target, spec: dict) -> Fix:
    resource, graph = target.resource, target.graph
    name = fix_attribute(spec, resource)
    wanted = bool(spec.get("value", True))
    applicability, note = _base_applicability(spec, resource, graph)
    block, source = _block_and_source(resource, graph)
    view = resource.attr(name)
    companion = _companion(spec, context, target, applicability, block)
    if not view.present:
        pairs = [(name, "true" if wanted else "false")] + companion
        edits = insert_attributes(source, block, pairs)
        line = source.line_col(block.start)[0]
        added = " and ".join(f"`{n} = {v}`" for n, v in pairs)
        return Fix(f"add {added} to {resource.address} ({source.path}:{line})", applicability, edits,
                   _join(note, spec["companion"]["note"] if companion else ""))
    attribute = block.attribute(name)
    value = view.value
    origin = value.origin if value is not None else None
    if origin is None or origin.span is None or origin.kind not in EDITABLE_ORIGINS or _through_conditional(value):
        return _display_replacement(resource, graph, attribute, wanted, value, origin)
    origin_source = graph.sources.get(origin.span.file)
    if origin_source is None or origin.span.file.endswith(".json"):
        raise NoFix(f"the value comes from {describe_origin(origin, graph)}, a JSON file iaclint does not edit")
    node = _literal_node(origin_source, origin.span)
    if node is None:
        return _display_replacement(resource, graph, attribute, wanted, value, origin)
    edits = replace_value(origin_source, origin.span.start, origin.span.end, literal_like(node, wanted))
    where = f"{origin_source.path}:{origin_source.line_col(origin.span.start)[0]}"
    title = _origin_title(origin, resource, name, literal_like(node, wanted), where)
    if companion:
        edits += insert_attributes(source, block, companion)
        title += " and add " + " and ".join(f"`{n} = {v}`" for n, v in companion)
        note = _join(note, spec["companion"]["note"])
    others = _other_users(graph, origin.span, resource)
    if others:
        applicability = Applicability.UNSAFE
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        note = f"also changes {shown}, which use the same value" + (f"; {note}" if note else "")
    return Fix(title, applicability, edits, note)


def _companion(spec: dict, context: FindingContext, target: Target, applicability: Applicability,
               block: ast.Block) -> list[tuple[str, str]]:
    """An argument a change in place needs alongside (transit_encryption_mode = "preferred"), when missing.

    Not for resources that do not exist yet (a plan creates them, or --base shows them new): they get
    the final setting straight away.
    """
    extra = spec.get("companion")
    if not extra or applicability is not Applicability.SAFE or block.attribute(extra["attribute"]) is not None:
        return []
    planned = context.result.resource or context.resource
    if target.resource.address in target.graph.new_since_base or tuple(planned.plan_actions or ()) == ("create",):
        return []
    return [(extra["attribute"], extra["value"])]


def _origin_title(origin: Origin, resource: Resource, attribute: str, text: str, where: str) -> str:
    """Say which place the edit changes: 'set module argument `encrypted = true` in main.tf:9'."""
    if origin.kind is OriginKind.LITERAL or _written_in_resource(origin.span, resource):
        return f"set `{attribute} = {text}` in {resource.address} ({where})"
    feeds = f" ({resource.address}.{attribute} comes from it)"
    if origin.kind is OriginKind.MODULE_ARGUMENT:
        return f"set module argument `{origin.name} = {text}` in {where}" + feeds
    if origin.kind is OriginKind.VARIABLE_DEFAULT:
        return f"set the default of variable `{origin.name}` to `{text}` in {where}" + feeds
    if origin.kind is OriginKind.TFVARS:
        return f"set `{origin.name} = {text}` in {where}" + feeds
    if origin.kind is OriginKind.TERRAGRUNT_INPUT:
        return f"set the Terragrunt input `{origin.name} = {text}` in {where}" + feeds
    if origin.kind is OriginKind.LOCAL:
        return f"set the value in `local.{origin.name}` to `{text}` in {where}" + feeds
    return f"set {origin.label} to `{text}` in {where}" + feeds


def _display_replacement(resource: Resource, graph: Graph, attribute: ast.Attribute, wanted: bool,
                         value: Value | None, origin: Origin | None) -> Fix:
    source = graph.sources[attribute.file]
    word = "true" if wanted else "false"
    edits = replace_value(source, attribute.expr.start, attribute.expr.end,
                          literal_like(attribute.expr, wanted))
    if origin is not None and origin.kind in (OriginKind.CLI_VAR, OriginKind.ENV_VAR):
        why = f"the value comes from {origin.label}; change it there, or hard-code it as shown"
    elif value is not None and _through_conditional(value):
        why = "the value is chosen by a conditional expression (or coalesce()); decide which branch should change"
    else:
        why = "the value is computed; replacing the expression changes its meaning, so a person should decide"
    line = source.line_col(attribute.start)[0]
    return Fix(f"replace {resource.address}.{attribute.name} with `{word}` ({source.path}:{line})",
               Applicability.DISPLAY, edits, why)


def _through_conditional(value: Value) -> bool:
    """Chosen by a conditional: a known choice, or one whose condition is unknown (Alternatives), where a fix of
    one branch would leave the other as it is."""
    return isinstance(value.raw, Alternatives) or any(hop.label == "conditional expression" for hop in value.via)


def _surely_true(value: Value | None) -> bool:
    """True as written, or in every branch of a conditional whose condition is unknown."""
    if value is None:
        return False
    if isinstance(value.raw, Alternatives):
        return all(_surely_true(v) for v in value.raw.values)
    return value.known and conditions.as_bool(value.raw) is True


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")


def _literal_node(source: SourceFile, span: Span) -> ast.Expr | None:
    """The literal at the span, when it is one (only literals are replaced in place)."""
    text = source.text[span.start:span.end]
    if text in ("true", "false", "null") or _NUMBER.match(text):
        return ast.Literal(span, text)
    if len(text) >= 2 and text[0] == text[-1] == '"' and "${" not in text and "%{" not in text and "\n" not in text:
        return ast.Template(span, [text[1:-1]])
    return None


def _inside(span: Span | None, outer: Span | None) -> bool:
    return (span is not None and outer is not None and span.file == outer.file
            and outer.start <= span.start and span.end <= outer.end)


def _written_in_resource(span: Span | None, resource: Resource) -> bool:
    """Inside the resource's block, or inside an override file's block for it (graph/overrides.py)."""
    decl = getattr(resource, "decl", None)
    overrides = decl.overrides if decl is not None else ()
    return _inside(span, resource.block_span) or any(_inside(span, block.span) for block in overrides)



def _other_users(graph: Graph, span: Span, resource: Resource) -> list[str]:
    """Resources other than ``resource`` whose attribute values are defined by the literal at ``span``."""
    same_block = _inside(span, resource.block_span)
    users = []
    found = _users_by_origin(graph).get(span, ())
    for other in found if isinstance(found, list) else (found,):
        if other is resource or other.address in users:
            continue
        if same_block and getattr(other, "block", None) is getattr(resource, "block", object()):
            continue  # another instance of the same block: one edit of one resource definition
        users.append(other.address)
    return users


def _users_by_origin(graph: Graph) -> dict[Span, "Resource | list[Resource]"]:
    """Every literal's span -> the resource, or list of resources, whose attribute values it defines.

    Built once per graph and dropped by attach_fixes. Most literals have one user, kept without a list;
    attributes no rule asked for are evaluated without being kept (Resource.peek_value).
    """
    index = getattr(graph, "_users_by_origin", None)
    if index is not None:
        return index
    index = {}

    def walk(value: Value, resource: Resource) -> None:
        origin = value.origin
        if origin is not None and origin.span is not None:
            users = index.get(origin.span)
            if users is None:
                index[origin.span] = resource
            elif isinstance(users, list):
                if users[-1] is not resource:
                    users.append(resource)
            elif users is not resource:
                index[origin.span] = [users, resource]
        raw = value.raw
        children = raw if isinstance(raw, list) else raw.values() if isinstance(raw, dict) else ()
        for child in children:
            walk(child, resource)

    for other in graph.managed():
        for name in other.attribute_names():
            value = other.peek_value(name)
            if value is not None:
                walk(value, other)
    graph._users_by_origin = index
    return index


def _block_and_source(resource: Resource, graph: Graph):
    block = getattr(resource, "block", None)
    if block is None:
        raise NoFix(f"{resource.address} has no configuration block to edit")
    source = graph.sources.get(block.file)
    if source is None:
        raise NoFix(f"{block.file} is not available")
    return block, source


# ---- customer managed key ------------------------------------------------------------------


def _customer_managed_key(context: FindingContext, target: Target, spec: dict) -> Fix:
    resource, graph = target.resource, target.graph
    name = fix_attribute(spec, resource)
    applicability, note = _base_applicability(spec, resource, graph)
    block, source = _block_and_source(resource, graph)
    view = resource.attr(name)
    attribute = block.attribute(name)
    value = view.value
    origin = value.origin if value is not None else None
    # Where the key reference goes: this resource, or the module argument that feeds it.
    call_argument = _module_argument_target(resource, attribute, value)
    if call_argument is not None:
        call_block, call_source, arg_name, arg_attr, caller_module, arg_source = call_argument
        plan = plan_customer_key(graph, resource, caller_module, call_source, call_block, spec)
        ref = plan.reference(spec.get("key_attribute", "arn"))
        if arg_attr is None:
            edits = insert_attribute(call_source, call_block, arg_name, ref)
        else:
            edits = replace_value(arg_source, arg_attr.expr.start, arg_attr.expr.end, ref)
        line = (call_source.line_col(call_block.start) if arg_source is call_source
                else arg_source.line_col(arg_attr.start))[0]
        title = (f"set module argument `{arg_name} = {ref}` in {arg_source.path}:{line}"
                 + plan.title_suffix())
        return Fix(title, applicability, edits + plan.edits, _join(note, plan.note))
    if attribute is not None and origin is not None and origin.span is not None \
            and not _written_in_resource(origin.span, resource):
        display = True  # the value comes from a variable, tfvars or local: a key reference cannot go there
    else:
        display = value is not None and _through_conditional(value)
    plan = plan_customer_key(graph, resource, resource_module(resource), source, block, spec)
    ref = plan.reference(spec.get("key_attribute", "arn"))
    flag_edits, flag = _encryption_flag(spec, resource, block, source, graph)
    if attribute is None:
        pairs = [(flag, "true")] if flag and not flag_edits else []
        edits = insert_attributes(source, block, pairs + [(name, ref)])
        title = f"add `{name} = {ref}` to {resource.address}" + plan.title_suffix()
        if pairs:
            title = f"add `{flag} = true` and `{name} = {ref}` to {resource.address}" + plan.title_suffix()
    else:
        edits = replace_value(graph.sources.get(attribute.file, source), attribute.expr.start, attribute.expr.end, ref)
        title = f"set `{name} = {ref}` in {resource.address}" + plan.title_suffix()
        if flag and not flag_edits:
            edits.extend(insert_attribute(source, block, flag, "true"))
            title += f", and add `{flag} = true`"
    edits += flag_edits
    if display:
        if _through_conditional(value):
            why = "the key is chosen by a conditional expression (or coalesce()); decide which branch should change"
        else:
            why = (f"the key comes from {describe_origin(origin, graph)}; pointing {resource.address} at a key "
                   "bypasses that input, so a person should decide")
        return Fix(title, Applicability.DISPLAY, edits + plan.edits, why)
    return Fix(title, applicability, edits + plan.edits, _join(note, plan.note))


def _settings_fix(context: FindingContext, target: Target, spec: dict, key: bool) -> Fix:
    """Set a (possibly nested) argument and its companions (`with:`), inserting missing blocks; for a key fix the
    argument is a customer managed key. With `new_resource`, a resource that lacks the outermost block gets the
    settings in a new resource of that type that refers to it (S3 default encryption) instead."""
    from iaclint.fixes.nested import Setting, resource_text, set_paths

    resource, graph = target.resource, target.graph
    block, source = _block_and_source(resource, graph)
    applicability, note = _base_applicability(spec, resource, graph)
    new = spec.get("new_resource")
    holder_type = resource.type
    outermost = fix_attribute(spec, resource).split(".")[0]
    if new and resource.type != new["type"] and not block.blocks(outermost) and not _has_dynamic(block, outermost):
        holder_type = new["type"]
    path = spec.get("attributes", {}).get(holder_type, spec["attribute"])
    settings = [Setting(_relative(p, spec, holder_type), v) for p, v in spec.get("with", {}).items()]
    plan = None
    blocks = context.result.extra.get("fix_blocks")
    kept = _customer_key_in_place(resource, path, graph) \
        if key and settings and not blocks and holder_type == resource.type else None
    if kept is not None:
        pass  # the key is already a customer managed key: only its companions (`with`) are off
    elif key:
        plan = plan_customer_key(graph, resource, resource_module(resource), source, block, spec)
        settings.append(Setting(path, plan.reference(spec.get("key_attribute", "arn")), expression=True))
    else:
        settings.append(Setting(path, spec.get("value", True)))
    if blocks:
        settings = _in_blocks(settings, blocks)
    suffix = plan.title_suffix() if plan is not None else ""
    if kept is not None:
        suffix = f", keeping {kept}"
    key_edits = plan.edits if plan is not None else []
    key_note = plan.note if plan is not None else ""
    shown = " and ".join(s.shown() for s in settings)
    if holder_type != resource.type:
        if resource.key is not None or resource.module_address:
            where = f"module {resource.module_address}" if resource.module_address else "count or for_each"
            raise NoFix(f"{resource.address} is made through {where}: a new {holder_type} for it belongs beside "
                        "that definition (give the module its encryption setting through its inputs)")
        taken = _names_in_module(graph, holder_type, resource.module_address)
        name = resource.name
        while name in taken:
            name += "_encryption"
        head = [(new["refer"], f"{resource.type}.{resource.name}.{new.get('refer_attribute', 'id')}")]
        snippet = resource_text(holder_type, name, head, settings)
        edit = insert_after_block(source, block, snippet)
        title = f"add {holder_type}.{name} with {shown} for {resource.address}" + suffix
        return Fix(title, applicability, [edit] + key_edits, _join(note, key_note))
    result = set_paths(source, block, settings, graph.sources)
    if not result.edits:
        raise NoFix(f"{shown} is already written; the finding comes from elsewhere")
    title = f"set {shown} in {resource.address}" + suffix
    if result.computed:
        why = (f"{', '.join(result.computed)} is computed here; replacing the expression changes what it "
               "meant, so a person should decide")
        return Fix(title, Applicability.DISPLAY, result.edits + key_edits, why)
    return Fix(title, applicability, result.edits + key_edits, _join(note, key_note))


def _names_in_module(graph: Graph, type_: str, module_address: str) -> set[str]:
    """The names of a type's resources in a module: gathered once per graph, not once per fix."""
    names = graph.__dict__.setdefault("_names_in_module", {})
    key = (type_, module_address)
    if key not in names:
        names[key] = {r.name for r in graph.of_type(type_) if r.module_address == module_address}
    return names[key]


def _customer_key_in_place(resource: Resource, path: str, graph: Graph) -> str | None:
    """The description of the customer managed key the path already names (one block), else None: a key set
    while the setting that uses it is off (Step Functions' type = "AWS_OWNED_KEY") needs that setting only."""
    from iaclint.checks.keys import KeyKind, classify_key
    from iaclint.graph.paths import leaf_value

    view, _ = leaf_value(resource, path)
    if view is None or not view.is_set:
        return None
    found = classify_key(view, graph)
    return found.reason if found.kind is KeyKind.CUSTOMER_MANAGED else None


def _in_blocks(settings: list, blocks: list[str]) -> list:
    """The settings' arguments (the last segment of each path) in each of the blocks a check names: the failing
    volumes of an instance (`root_block_device`, `ebs_block_device[1]`), not every block of the rule's path."""
    from iaclint.fixes.nested import Setting

    return [Setting(f"{block}.{s.path.rsplit('.', 1)[-1]}", s.value, s.expression) for block in blocks for s in settings]


def _relative(path: str, spec: dict, holder_type: str) -> str:
    """A `with:` path, written for the rule's main layout, in the holder's: a type whose argument is the main one
    one or more blocks deeper (`attributes`) has the same prefix on its companions."""
    main = spec["attribute"]
    mine = spec.get("attributes", {}).get(holder_type, main)
    if mine != main and mine.endswith("." + main):
        return mine[:-len(main)] + path
    return path


def _has_dynamic(block: ast.Block, name: str) -> bool:
    return any(b.type == "dynamic" and b.labels == [name] for b in block.body.blocks)


def _encryption_flag(spec: dict, resource: Resource, block: ast.Block, source: SourceFile,
                     graph: Graph) -> tuple[list[Edit], str]:
    """A key needs the encryption flag on: ([edit of a literal false], flag) or ([], flag to insert) or ([], "")."""
    from iaclint.checks.encryption import FLAG, given

    flag = FLAG.get(resource.type) if spec.get("set_flag") else None
    if flag is None or any(given(resource, a) for a in INHERITING):
        return [], ""
    attribute = block.attribute(flag)
    if attribute is None:
        return [], flag
    view = resource.attr(flag)
    if _surely_true(view.value):
        return [], ""
    source = graph.sources.get(attribute.file, source)  # an override file's, when it won
    node = _literal_node(source, attribute.expr.span)
    if node is None:
        raise NoFix(f"{flag} is computed here; a key is used only with {flag} = true, so a person should decide")
    return replace_value(source, attribute.expr.start, attribute.expr.end, literal_like(node, True)), ""


INHERITING = ("snapshot_identifier", "replication_source_identifier", "replicate_source_db",
              "global_cluster_identifier")


def resource_module(resource: Resource):
    return getattr(resource, "module", None)


def _module_argument_target(resource: Resource, attribute: ast.Attribute | None, value: Value | None):
    """When the attribute is `var.X` inside a called module, the call's argument X is the place to fix."""
    module = resource_module(resource)
    if attribute is None or module is None or module.call is None:
        return None
    expr = attribute.expr
    if not (isinstance(expr, ast.GetAttr) and isinstance(expr.target, ast.Variable) and expr.target.name == "var"):
        return None
    arg_name = expr.name
    call = module.call
    arg_attr = call.block.attribute(arg_name)
    if arg_attr is not None:
        literal = isinstance(arg_attr.expr, ast.Literal) or (
            isinstance(arg_attr.expr, ast.Template) and arg_attr.expr.is_literal)
        if not literal:
            return None  # the argument is itself a reference: leave it to a person
    parent = module.parent
    if parent is None or parent.config is None or parent.config.downloaded:
        return None
    sources = parent.builder.loader.sources
    call_source = sources.get(call.file)
    arg_source = sources.get(arg_attr.file) if arg_attr is not None else call_source  # an override file's, if it won
    if call_source is None or arg_source is None or call.file.endswith(".json") or arg_source.path.endswith(".json"):
        return None
    return call.block, call_source, arg_name, arg_attr, parent, arg_source


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


__all__ = ["attach_fixes", "build_fix", "KeyPlan"]
