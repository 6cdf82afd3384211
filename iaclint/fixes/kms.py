"""The customer managed key a CMK fix points at: a suitable key already in the module, or a new one.

A new key follows seed 000: rotation on, account-root administration kept in the key policy (KMS
rejects policies that lock the account out, seed 002), and a statement that lets the consuming
service use the key on behalf of the account (kms:ViaService). Its text is exactly what
`terraform fmt` writes, so a fmt-clean file stays clean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from iaclint.graph.model import Graph, Resource
from iaclint.fixes.policy import caller_identity_name, jsonencode_object, other_account_statements
from iaclint.hcl import ast
from iaclint.hcl.layout import insert_after_block
from iaclint.model import Edit
from iaclint.source import SourceFile

SERVICES = {
    # fix spec "service": (display name, kms:ViaService pattern, words that mark a key meant for it)
    "neptune": ("Neptune", "rds.*.amazonaws.com", ("neptune", "rds.")),
    "elasticache": ("ElastiCache", "elasticache.*.amazonaws.com", ("elasticache", "cache")),
    "backup": ("AWS Backup", "backup.*.amazonaws.com", ("backup",)),
    "rds": ("Amazon RDS", "rds.*.amazonaws.com", ("rds", "aurora", "database", "postgres", "mysql")),
    "docdb": ("DocumentDB", "rds.*.amazonaws.com", ("docdb", "documentdb")),
    "redshift": ("Redshift", "redshift.*.amazonaws.com", ("redshift",)),
    "dynamodb": ("DynamoDB", "dynamodb.*.amazonaws.com", ("dynamodb",)),
    "efs": ("Amazon EFS", "elasticfilesystem.*.amazonaws.com", ("efs", "elasticfilesystem")),
    "ebs": ("Amazon EBS", "ec2.*.amazonaws.com", ("ebs", "volume")),
    "memorydb": ("MemoryDB", "memorydb.*.amazonaws.com", ("memorydb",)),
}

KEY_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
               "kms:ListGrants", "kms:DescribeKey"]


@dataclass
class KeyPlan:
    """The key a customer managed key fix points at: an existing one, or a new block to add."""

    name: str
    reused: Resource | None = None
    edits: list[Edit] = field(default_factory=list)
    note: str = ""

    def reference(self, attribute: str) -> str:
        return f"aws_kms_key.{self.name}.{attribute}"

    def title_suffix(self) -> str:
        if self.reused is not None:
            return f", the existing customer managed key {self.reused.address}"
        return f", a new aws_kms_key.{self.name} (rotation on)"


def plan_customer_key(graph: Graph, resource: Resource, module, source: SourceFile, anchor: ast.Block,
                      spec: dict) -> KeyPlan:
    """Reuse a key meant for this service in the same module, or add one after ``anchor``."""
    service = spec.get("service", "")
    label, via_service, hints = SERVICES.get(service, (service or "the service", "*", (service,)))
    module_address = module.address if module is not None else resource.module_address
    keys = [r for r in graph.of_type("aws_kms_key") if r.mode == "managed" and r.module_address == module_address]
    judged = graph.__dict__.setdefault("_suitable_keys", {})  # a large module has thousands of fixes to plan
    if (module_address, hints) not in judged:
        judged[(module_address, hints)] = [k for k in keys if _suitable(k, graph, hints)]
    suitable = judged[(module_address, hints)]
    if suitable:
        chosen = sorted(suitable, key=lambda k: k.address)[0]
        return KeyPlan(chosen.name, chosen, [], f"reuses {chosen.address}, which is meant for {label}")
    taken = {k.name for k in keys}
    anchor_name = anchor.labels[-1] if anchor.labels else resource.name
    base = re.sub(r"[^A-Za-z0-9_]", "_", f"{service}_{anchor_name}" if service else anchor_name)
    name = base
    n = 2
    while name in taken:
        name = f"{base}_{n}"
        n += 1
    caller = caller_identity_name(graph, module_address)
    snippet = ""
    if caller is None:
        caller = "current"
        snippet += 'data "aws_caller_identity" "current" {}\n\n'
    snippet += key_block(name, resource.config_address, label, via_service, caller,
                         accounts_reading(resource, graph))
    edit = insert_after_block(source, anchor, snippet)
    return KeyPlan(name, None, [edit], "")


def _suitable(key: Resource, graph: Graph, hints: tuple[str, ...]) -> bool:
    if key.key is not None:
        return False  # counted or for_each keys: which instance would be meant is a human choice
    spec = key.attr("customer_master_key_spec").value
    if spec is not None and spec.known and spec.raw not in (None, "SYMMETRIC_DEFAULT"):
        return False
    if key.attr("custom_key_store_id").is_set:
        return False
    words = [key.name.lower()]
    description = key.attr("description").value
    if description is not None and description.known and isinstance(description.raw, str):
        words.append(description.raw.lower())
    policy = key.attr("policy")
    if policy.present and policy.value_span is not None:
        source = graph.sources.get(policy.value_span.file)
        if source is not None:
            words.append(source.text[policy.value_span.start:policy.value_span.end].lower())
    return any(h in w for h in hints for w in words)


def hcl_string_text(text: str) -> str:
    """Text safe inside an HCL quoted string: quotes, backslashes and template markers escaped."""
    return (text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${").replace("%{", "%%{")
            .replace("\n", " "))


def accounts_reading(resource: Resource, graph: Graph) -> list[str]:
    """Other accounts that read this resource's data under its key: its snapshots' shared_accounts, and the
    destination accounts of backup plans that copy it across accounts (SNP002, BAK004 want them in the policy)."""
    from iaclint.checks.backup import plan_copies, plan_selections, selection_picks
    from iaclint.checks.datastores import _shared_accounts
    from iaclint.checks.encryption import SNAPSHOTS, follow

    shared_by_source = graph.__dict__.get("_shared_by_source")
    if shared_by_source is None:  # every snapshot followed once per graph, not once per fix
        shared_by_source = graph.__dict__["_shared_by_source"] = {}
        for snapshot in graph.managed():
            if snapshot.type not in SNAPSHOTS:
                continue
            attribute, types, identifiers = SNAPSHOTS[snapshot.type]
            source, _ = follow(snapshot, attribute, types, identifiers, graph)
            if source is not None:
                shared, _ = _shared_accounts(snapshot)
                shared_by_source.setdefault(id(source), set()).update(a for a in shared or [] if a != "all")
    accounts: set[str] = set(shared_by_source.get(id(resource), ()))
    for plan in graph.of_type("aws_backup_plan"):
        copies, _ = plan_copies(plan, graph)
        destinations = {c.destination_account.value for c in copies if c.cross and c.destination_account.value}
        if not destinations:
            continue
        for selection in plan_selections(plan, graph):
            picks, _ = selection_picks(selection, graph)
            if any(p.resource is resource and p.certain for p in picks):
                accounts |= destinations
    return sorted(accounts)


def key_block(name: str, address: str, label: str, via_service: str, caller: str,
              other_accounts: list[str] | None = None) -> str:
    """One key per resource block (``address`` is the block's, without instance keys)."""
    account = f"data.aws_caller_identity.{caller}.account_id"
    address = hcl_string_text(address)
    sid = "AllowUseThrough" + re.sub(r"[^A-Za-z0-9]", "", label)
    actions = "".join(f'          "{a}",\n' for a in KEY_ACTIONS)
    return (
        f'resource "aws_kms_key" "{name}" {{\n'
        f'  description             = "Encrypts {address} at rest"\n'
        f"  deletion_window_in_days = 30\n"
        f"  enable_key_rotation     = true\n"
        f"  policy = jsonencode({{\n"
        f'    Version = "2012-10-17"\n'
        f"    Statement = [\n"
        f"      {{\n"
        f'        Sid       = "EnableAccountRootAdministration"\n'
        f'        Effect    = "Allow"\n'
        f'        Principal = {{ AWS = "arn:aws:iam::${{{account}}}:root" }}\n'
        f'        Action    = "kms:*"\n'
        f'        Resource  = "*"\n'
        f"      }},\n"
        f"      {{\n"
        f'        Sid       = "{sid}"\n'
        f'        Effect    = "Allow"\n'
        f'        Principal = {{ AWS = "arn:aws:iam::${{{account}}}:root" }}\n'
        f"        Action = [\n"
        f"{actions}"
        f"        ]\n"
        f'        Resource = "*"\n'
        f"        Condition = {{\n"
        f'          StringLike = {{ "kms:ViaService" = "{via_service}" }}\n'
        f"        }}\n"
        f"      }},\n"
        + _other_account_statements(other_accounts or [])
        + "    ]\n"
        "  })\n"
        "}\n"
    )


def _other_account_statements(accounts: list[str]) -> str:
    """Statements that let other accounts use the key, as objects of the new key's Statement list."""
    if not accounts:
        return ""
    text = ""
    for statement in other_account_statements(accounts, "Other"):
        lines = jsonencode_object(statement, "      ")
        text += "\n".join(lines[:-1] + [lines[-1] + ","]) + "\n"
    return text
