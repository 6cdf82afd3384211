"""Checks for instance volumes and EKS secrets that YAML conditions cannot say (FACTS-3 §1c).

EC2001 and EC2002 judge every EBS volume an `aws_instance`, `aws_launch_template`,
`aws_launch_configuration` or `aws_spot_fleet_request` describes, one finding per resource naming the
volumes that fail. A volume is encrypted when its `encrypted` is true (a string in a launch template),
when an `aws_ebs_encryption_by_default` of the same provider turns encryption on (as EBS001 decides), or
when it is made from an encrypted snapshot of the configuration. A root volume no block describes
still exists: its encryption is omitted, and only the AMI's snapshot could encrypt it, which a static
check cannot see. The finding names the blocks a fix edits (`fix_blocks`), so a fix touches only the
failing volumes.
"""

from __future__ import annotations

import re

from iaclint.checks.encryption import (
    EffectiveKey, account_default_ebs_key, encryption_by_default, encryption_of, follow, given,
)
from iaclint.checks.keys import KeyClass, KeyKind, classify_key
from iaclint.engine.conditions import as_bool
from iaclint.engine.results import CheckContext, CheckResult
from iaclint.eval.values import render
from iaclint.graph.model import BlockView, Graph, Resource
from iaclint.model import Record, Span

# blocks the provider keeps as sets: a plan may list them in another order than the configuration
SET_BLOCKS = {"ebs_block_device", "launch_specification"}
SNAPSHOTS = ("aws_ebs_snapshot", "aws_ebs_snapshot_copy")
NOT_VISIBLE = ("no aws_ebs_encryption_by_default for its provider in this configuration (encryption by default "
               "turned on outside Terraform is not visible here)")


class Volume(Record):
    """One EBS volume a resource describes: the block that holds its settings, or none (a root volume)."""

    _shown = ("label", "path", "block", "root", "key_argument", "span", "doubt")

    def __init__(self, label: str, path: str | None, block: BlockView | None, root: bool, key_argument: bool = True,
                 span: Span | None = None, doubt: str = ""):
        self.label = label  # as messages name it: "root_block_device", "ebs_block_device[1]", "block_device_mappings[0].ebs"
        self.path = path  # the block a fix writes into (inserted when missing); None: no edit can describe it
        self.block = block
        self.root = root
        self.key_argument = key_argument  # launch configurations cannot name a key
        self.span = span
        self.doubt = doubt  # why its encryption cannot be known from the configuration


class Judged(Record):
    """A volume's encryption: True, False or None (unknown), why, and the key when encrypted."""

    _shown = ("volume", "state", "reason", "key", "key_span")

    def __init__(self, volume: Volume, state: bool | None, reason: str, key: KeyClass | None = None,
                 key_span: Span | None = None):
        self.volume = volume
        self.state = state
        self.reason = reason
        self.key = key
        self.key_span = key_span


def _indexed(name: str, blocks: list, index: int) -> str:
    return f"{name}[{index}]" if len(blocks) > 1 else name


def _no_device(block: BlockView) -> bool:
    """`no_device` suppresses the mapping: a bool on instances, a string in a launch template, where modules
    write 0 and 1 too (terraform-aws-autoscaling's example: `no_device = 0` on the root volume it maps)."""
    view = block.attr("no_device")
    if not view.is_set or not view.value.known:
        return False
    raw = view.value.raw
    return as_bool(raw) is True or str(raw).strip() == "1"


def _block_volumes(holder, prefix: str, implicit_root: bool, key_argument: bool,
                   out: list[Volume]) -> str:
    """root_block_device and ebs_block_device of an instance, launch configuration or launch specification."""
    roots, why = holder.nested("root_block_device")
    if why:
        return why
    for i, root in enumerate(roots):
        label = prefix + _indexed("root_block_device", roots, i)
        out.append(Volume(label, label, root, True, key_argument, root.span))
    if not roots and implicit_root:
        out.append(Volume(f"the root volume{' of ' + prefix[:-1] if prefix else ''}", f"{prefix}root_block_device",
                          None, True, key_argument, getattr(holder, "span", None)))
    devices, why = holder.nested("ebs_block_device")
    if why:
        return why
    for i, device in enumerate(devices):
        if _no_device(device):
            continue
        label = prefix + _indexed("ebs_block_device", devices, i)
        out.append(Volume(label, label, device, False, key_argument, device.span))
    return ""


def volumes_of(resource: Resource, graph: Graph) -> tuple[list[Volume], str, list[str]]:
    """The EBS volumes a resource describes, or ([], why, []) when how many is unknown; and notes on volumes
    that are judged elsewhere (a launch template's)."""
    out: list[Volume] = []
    notes: list[str] = []
    kind = resource.type
    if kind in ("aws_instance", "aws_launch_configuration"):
        implicit = True
        if kind == "aws_instance":
            templates, why = resource.nested("launch_template")
            if why:
                return [], why, []
            if templates:
                implicit = False
                target = _launch_template(templates[0], graph)
                if target is not None:
                    notes.append(f"its root volume is described by {target.address} (EC2001 judges it there) or "
                                 "by the AMI")
                elif not resource.nested("root_block_device")[0]:
                    out.append(Volume("the root volume", None, None, True, doubt=(
                        "no root_block_device: the root volume is described by a launch template that is not in "
                        "this configuration, or by the AMI")))
        why = _block_volumes(resource, "", implicit, kind == "aws_instance", out)
        return ([], why, []) if why else (out, "", notes)
    if kind == "aws_launch_template":
        mappings, why = resource.nested("block_device_mappings")
        if why:
            return [], why, []
        for i, mapping in enumerate(mappings):
            if _no_device(mapping):
                continue
            ebs, why = mapping.nested("ebs")
            if why:
                return [], why, []
            if ebs:  # a mapping without ebs is an instance store volume (virtual_name)
                label = f"{_indexed('block_device_mappings', mappings, i)}.ebs"
                out.append(Volume(label, label, ebs[0], False, True, ebs[0].span))
        if not out:
            out.append(Volume("the root volume", None, None, True, True, None))
        return out, "", notes
    if kind == "aws_spot_fleet_request":
        specs, why = resource.nested("launch_specification")
        if why:
            return [], why, []
        for i, spec in enumerate(specs):
            why = _block_volumes(spec, _indexed("launch_specification", specs, i) + ".", True, True, out)
            if why:
                return [], why, []
        if resource.nested("launch_template_config")[0]:
            notes.append("the volumes of its launch_template_config come from launch templates (EC2001 judges them)")
        return out, "", notes
    return [], f"iaclint does not know the volumes of {kind}", []


def _launch_template(block: BlockView, graph: Graph) -> Resource | None:
    for name in ("id", "name"):
        view = block.attr(name)
        if view.is_set:
            for target in graph.referenced(view.value.all_refs()):
                if target.type == "aws_launch_template" and target.mode == "managed":
                    return target
    return None


# ---- who launches from a launch template (FACTS-3 §2 R11) ---------------------------------------

LAUNCHERS = (
    # (type, paths naming the launch template by id or name)
    ("aws_autoscaling_group", ("launch_template.id", "launch_template.name",
                               "mixed_instances_policy.launch_template.launch_template_specification.launch_template_id",
                               "mixed_instances_policy.launch_template.launch_template_specification.launch_template_name")),
    ("aws_eks_node_group", ("launch_template.id", "launch_template.name")),
)
AUTOSCALING_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def autoscaling_launchers(template: Resource, graph: Graph) -> list[Resource]:
    """Auto Scaling groups and EKS node groups of the configuration that launch instances from the template:
    they launch through Amazon EC2 Auto Scaling's service-linked role, which a customer managed key's policy
    must name (R11)."""
    from iaclint.checks.estate import _index

    return _index(graph, "_template_launchers", _build_launchers).get(template.address, [])


def _build_launchers(graph: Graph) -> dict[str, list[Resource]]:
    from iaclint.graph.paths import resolve

    index: dict[str, list[Resource]] = {}
    for type_, paths in LAUNCHERS:
        for launcher in graph.of_type(type_):
            if launcher.mode != "managed":
                continue
            for path in paths:
                leaves, _ = resolve(launcher, path)
                for leaf in leaves:
                    if not leaf.view.is_set:
                        continue
                    for target in graph.referenced(leaf.view.value.all_refs()):
                        if target.type == "aws_launch_template" and launcher not in index.get(target.address, []):
                            index.setdefault(target.address, []).append(launcher)
    return index


def launch_sources(launcher: Resource, graph: Graph) -> tuple[list[Resource], str]:
    """The launch templates and launch configurations of the configuration a group launches from (its own
    references: no scan), or ([], why) when they cannot be read."""
    from iaclint.graph.paths import resolve

    paths = next(p for t, p in LAUNCHERS if t == launcher.type)
    if launcher.type == "aws_autoscaling_group":
        paths = paths + ("launch_configuration",)
    found: list[Resource] = []
    for path in paths:
        leaves, why = resolve(launcher, path)
        if why:
            return [], why
        for leaf in leaves:
            if not leaf.view.is_set:
                continue
            for target in graph.referenced(leaf.view.value.all_refs()):
                if target.type in ("aws_launch_template", "aws_launch_configuration") and target.mode == "managed" \
                        and target not in found:
                    found.append(target)
    return found, ""


# ---- one volume -----------------------------------------------------------------------------


def _flag(volume: Volume) -> tuple[bool | None, str, bool]:
    """(state, words, written) of the volume's `encrypted`: written is False when it is not set ("" in a
    launch template, whose flags are strings, is not set)."""
    if volume.block is None and volume.path is None:
        return False, ("it maps no EBS volume, so instances get the AMI's root volume as it is: its encryption is "
                       "not set"), False
    if volume.block is None:
        return False, f"no {volume.path}: the root volume's encryption is not set", False
    view = volume.block.attr("encrypted")
    name = f"{volume.label}.encrypted"
    if not view.is_set or (view.value.known and view.value.raw == ""):
        return False, f"{name} is not set", False
    if not view.value.known:
        return None, f"{name} is unknown: {view.value.unknown}", True
    state = as_bool(view.value.raw)
    if state is None:
        return None, f"{name} is {render(view.value)}, not a boolean", True
    return state, f"{name} is {render(view.value)}", True


def _snapshot(volume: Volume, graph: Graph) -> tuple[Resource | None, str]:
    """The snapshot a data volume is made from (root volumes come from the AMI: root_block_device has none)."""
    if volume.root or volume.block is None or not given(volume.block, "snapshot_id"):  # type: ignore[arg-type]
        return None, ""
    snapshot, why = follow(volume.block, "snapshot_id", SNAPSHOTS, (), graph)  # type: ignore[arg-type]
    return snapshot, why or "snapshot_id is set"


def judge_volume(resource: Resource, volume: Volume, graph: Graph, by_default) -> Judged:
    """A volume's encryption, with its effective key when it is encrypted."""
    if volume.doubt:
        return Judged(volume, None, volume.doubt)
    state, words, written = _flag(volume)
    if state is True:
        return _with_key(resource, Judged(volume, True, words), graph, None)
    if state is None:
        return Judged(volume, None, words)
    if by_default is not None and by_default[0] is True:
        setting = by_default[1]
        return _with_key(resource, Judged(volume, True, f"{words}, but {setting.address} turns on EBS encryption "
                                                        "by default for its Region"), graph, None)
    snapshot, why = _snapshot(volume, graph)
    if snapshot is not None:
        source = encryption_of(snapshot, graph)
        if source.state is True:
            return _with_key(resource, Judged(volume, True, f"{words}, and it is made from {snapshot.address}, which "
                                                            f"is encrypted ({source.reason})"), graph, source.key)
        if source.state is None:
            return Judged(volume, None, f"{words}, and it is made from {snapshot.address}, whose encryption is "
                                        f"unknown ({source.reason})")
    elif why:
        return Judged(volume, None, f"{words}, and {why}: the volume is encrypted if that snapshot is")
    if by_default is not None and by_default[0] is None:
        return Judged(volume, None, f"{words}, and whether {by_default[1].address} turns on encryption by default "
                                    "is unknown")
    if volume.root and not written:
        words += (", so it is encrypted only if the AMI's snapshot is" if volume.block is None
                  else ", so the root volume is encrypted only if the AMI's snapshot is")
    if volume.block is not None and volume.key_argument and given(volume.block, "kms_key_id"):  # type: ignore
        words += " (kms_key_id is set, but a key is used only for an encrypted volume)"
    return Judged(volume, False, words)


def _with_key(resource: Resource, judged: Judged, graph: Graph, inherited: EffectiveKey | None) -> Judged:
    block = judged.volume.block
    if block is not None and judged.volume.key_argument and given(block, "kms_key_id"):  # type: ignore[arg-type]
        view = block.attr("kms_key_id")
        key = classify_key(view, graph)
        judged.key = KeyClass(key.kind, f"{judged.volume.label}.kms_key_id is {key.reason}", key.key_resource)
        judged.key_span = view.span
        return judged
    if inherited is not None:
        judged.key = KeyClass(inherited.kind, f"{judged.volume.label} keeps its snapshot's key: {inherited.key.reason}",
                              inherited.key.key_resource)
        return judged
    default = account_default_ebs_key(resource, graph)
    if default is not None:
        judged.key = KeyClass(default.kind, f"{judged.volume.label}: {default.key.reason}", default.key.key_resource)
    else:
        judged.key = KeyClass(KeyKind.ABSENT, f"{judged.volume.label} names no key, so the account's default EBS key "
                                              "is used: the AWS managed key aws/ebs, as no aws_ebs_default_kms_key of "
                                              "its provider in this configuration names another")
    return judged


def _judge_all(resource: Resource, graph: Graph) -> tuple[list[Judged], str, list[str]]:
    volumes, why, notes = volumes_of(resource, graph)
    if why:
        return [], why, notes
    by_default = encryption_by_default(resource, graph)
    return [judge_volume(resource, v, graph, by_default) for v in volumes], "", notes


# ---- fixes ----------------------------------------------------------------------------------


def _fix_blocks(resource: Resource, volumes: list[Volume], action: str) -> tuple[list[str], str]:
    """The blocks a fix writes into, or ([], why not)."""
    paths = []
    for volume in volumes:
        if volume.path is None:
            return [], (f"{resource.address} maps no volume: add a block_device_mappings for the AMI's root device "
                        "name with an encrypted ebs block (or turn on aws_ebs_encryption_by_default)")
        if not volume.key_argument and action == "key":
            return [], ("a launch configuration cannot name a KMS key (its volumes use the account's default EBS "
                        "key): set aws_ebs_default_kms_key to a customer managed key, or move to a launch template")
        if resource.source_kind == "plan" and any(
                re.sub(r"\[\d+\]$", "", part) in SET_BLOCKS and part.endswith("]") for part in volume.path.split(".")):
            return [], (f"the plan may list {volume.path.split('[')[0]} blocks in another order than the "
                        f"configuration: set the volume's settings by hand")
        paths.append(volume.path)
    return paths, ""


# ---- the rules ------------------------------------------------------------------------------


def _location(judged: list[Judged]) -> dict:
    """The first volume's encrypted argument, else its block, else the block that lacks it."""
    for j in judged:
        block = j.volume.block
        span = j.volume.span
        if block is not None:
            view = block.attr("encrypted")
            span = view.span if view.present and view.span is not None else block.span
        if span is not None:
            return {"locate_span": span}
    return {}


def volumes_encrypted(resource: Resource, context: CheckContext) -> CheckResult:
    """EC2001: every EBS volume the resource describes is encrypted."""
    graph = context.graph
    judged, why, notes = _judge_all(resource, graph)
    if why:
        return CheckResult.unknown(why, fixable=False, no_fix_reason=why)
    failing = [j for j in judged if j.state is False]
    doubtful = [j for j in judged if j.state is None]
    if not failing and not doubtful:
        if not judged:
            return CheckResult.passed("; ".join(notes) or "no EBS volume")
        return CheckResult.passed("; ".join([j.reason for j in judged] + notes))
    subject = failing or doubtful
    reason = "; ".join(j.reason for j in subject)
    if failing:
        setting = encryption_by_default(resource, graph)
        if setting is None:
            reason += f"; {NOT_VISIBLE}"
        elif setting[0] is False:
            reason += f"; {setting[1].address} leaves EBS encryption by default off"
    extra = _location(subject)
    blocks, no_fix = _fix_blocks(resource, [j.volume for j in failing], "flag")
    if blocks:
        extra["fix_blocks"] = blocks
    if not failing:
        return CheckResult.unknown(reason, extra=extra, fixable=False,
                                   no_fix_reason="whether a volume is encrypted is not known")
    if doubtful:
        reason += "; and " + "; ".join(j.reason for j in doubtful)
    return CheckResult.failed(reason, extra=extra, fixable=bool(blocks), no_fix_reason=no_fix)


def _are_encrypted(judged: list[Judged]) -> str:
    return "the volume is encrypted" if len(judged) == 1 else "the volumes are encrypted"


def volumes_customer_key(resource: Resource, context: CheckContext) -> CheckResult:
    """EC2002: every encrypted EBS volume the resource describes is on a customer managed key."""
    graph = context.graph
    judged, why, notes = _judge_all(resource, graph)
    if why:
        return CheckResult.unknown(why, fixable=False, no_fix_reason=why)
    encrypted = [j for j in judged if j.state is True]
    failing = [j for j in encrypted if j.key is not None and j.key.kind in (KeyKind.ABSENT, KeyKind.AWS_MANAGED)]
    doubtful = [j for j in encrypted if j.key is None or j.key.kind is KeyKind.UNKNOWN]
    if not failing and not doubtful:
        plain = [j for j in judged if j.state is not True]
        parts = [j.key.reason for j in encrypted if j.key is not None]
        if plain:
            parts.append("volumes that are not (or may not be) encrypted are EC2001's: "
                         + ", ".join(j.volume.label for j in plain))
        return CheckResult.passed("; ".join(parts + notes) or "no EBS volume")
    extra: dict = {}
    subject = failing or doubtful
    for j in subject:
        span = j.key_span or (j.volume.block.span if j.volume.block is not None else None)
        if span is not None:
            extra["locate_span"] = span
            break
    if not failing:
        return CheckResult.unknown(f"{_are_encrypted(encrypted)}, but " + "; ".join(
            j.key.reason if j.key is not None else j.reason for j in doubtful), extra=extra, fixable=False,
            no_fix_reason="the key cannot be classified")
    blocks, no_fix = _fix_blocks(resource, [j.volume for j in failing], "key")
    if blocks:
        extra["fix_blocks"] = blocks
    reason = f"{_are_encrypted(encrypted)}, but " + "; ".join(j.key.reason for j in failing)  # type: ignore[union-attr]
    if doubtful:
        reason += "; and " + "; ".join(j.key.reason if j.key is not None else j.reason for j in doubtful)
    return CheckResult.failed(reason, extra=extra, fixable=bool(blocks), no_fix_reason=no_fix)


# ---- EKS --------------------------------------------------------------------------------------

DEFAULT_ENVELOPE = (1, 28)  # Kubernetes 1.28 and later: envelope encryption with an AWS owned key (FACTS-3 §1c)


def _version(resource: Resource) -> tuple[int, ...] | None:
    view = resource.attr("version")
    if not view.is_set or not view.value.known or not isinstance(view.value.raw, (str, int, float)):
        return None
    parts = re.findall(r"\d+", str(view.value.raw))
    return tuple(int(p) for p in parts[:2]) if len(parts) >= 2 else None


def eks_secrets_encryption(cluster: Resource, context: CheckContext) -> CheckResult:
    """EKS001: an encryption_config that envelope-encrypts secrets with a KMS key of the account's choosing."""
    outposts, _ = cluster.nested("outpost_config")
    if outposts:
        return CheckResult.passed("a local cluster on AWS Outposts: the provider rejects encryption_config together "
                                  "with outpost_config")
    configs, why = cluster.nested("encryption_config")
    if why:
        return CheckResult.unknown(why, attribute="encryption_config")
    state = "encryption_config is not set"
    extra: dict = {}
    for config in configs:
        view = config.attr("resources")
        if not view.is_set:
            state = "encryption_config.resources is not set"
            continue
        if not view.value.known:
            return CheckResult.unknown(f"encryption_config.resources is unknown: {view.value.unknown}",
                                       value=view.value, extra={"locate_span": view.span})
        raw = view.value.raw
        items = [item.raw for item in raw] if isinstance(raw, list) else []
        if "secrets" in items:
            return CheckResult.passed(f"encryption_config envelope-encrypts secrets with provider.key_arn")
        state = f"encryption_config.resources is {render(view.value)}, without \"secrets\""
        extra = {"locate_span": view.span}
    version = _version(cluster)
    if version is not None and version >= DEFAULT_ENVELOPE:
        shown = render(cluster.attr("version").value)
        reason = (f"{state}. With version {shown}, Kubernetes 1.28 and later envelope-encrypt all Kubernetes API "
                  "data, secrets included, with an AWS owned key by default; this is the KMS policy (Security Hub "
                  "EKS.3): a customer managed key in encryption_config lets its key policy decide who can decrypt "
                  "the secrets")
    else:
        reason = (f"{state}: Kubernetes secrets are not envelope-encrypted with a KMS key of the account's choosing "
                  "(Security Hub EKS.3)")
    return CheckResult.failed(reason, extra=extra)
