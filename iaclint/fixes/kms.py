"""The customer managed key a CMK fix points at: a suitable key already in the module, or a new one.

A new key follows seed 000: rotation on, account-root administration kept in the key policy (KMS
rejects policies that lock the account out, seed 002), and a statement that lets the consuming
service use the key on behalf of the account (kms:ViaService). Its text is exactly what
`terraform fmt` writes, so a fmt-clean file stays clean.
"""

from __future__ import annotations

import re

from iaclint.graph.model import Graph, Resource
from iaclint.fixes.policy import NewStatement, caller_identity_name, jsonencode_object, other_account_statements
from iaclint.hcl import ast
from iaclint.hcl.layout import insert_after_block
from iaclint.model import Edit, Record
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
    "s3": ("Amazon S3", "s3.*.amazonaws.com", ("s3", "bucket")),
    "sns": ("Amazon SNS", "sns.*.amazonaws.com", ("sns", "topic")),
    "sqs": ("Amazon SQS", "sqs.*.amazonaws.com", ("sqs", "queue")),
    "kinesis": ("Kinesis Data Streams", "kinesis.*.amazonaws.com", ("kinesis",)),
    "firehose": ("Amazon Data Firehose", "firehose.*.amazonaws.com", ("firehose",)),
    "secretsmanager": ("Secrets Manager", "secretsmanager.*.amazonaws.com", ("secret",)),
    "ssm": ("Systems Manager", "ssm.*.amazonaws.com", ("ssm", "parameter")),
    "lambda": ("AWS Lambda", "lambda.*.amazonaws.com", ("lambda",)),
    "eks": ("Amazon EKS", "eks.*.amazonaws.com", ("eks", "kubernetes")),
    "es": ("Amazon OpenSearch Service", "es.*.amazonaws.com", ("opensearch", "elasticsearch", "search")),
    "ecr": ("Amazon ECR", "ecr.*.amazonaws.com", ("ecr", "registry")),
    "kafka": ("Amazon MSK", "kafka.*.amazonaws.com", ("msk", "kafka")),
    "mq": ("Amazon MQ", "mq.*.amazonaws.com", ("mq", "broker")),
    "fsx": ("Amazon FSx", "fsx.*.amazonaws.com", ("fsx",)),
    "workspaces": ("Amazon WorkSpaces", "workspaces.*.amazonaws.com", ("workspace",)),
    "codebuild": ("AWS CodeBuild", "s3.*.amazonaws.com", ("codebuild",)),  # build output is written to S3
    "sagemaker": ("SageMaker", "sagemaker.*.amazonaws.com", ("sagemaker",)),
    "dms": ("AWS DMS", "dms.*.amazonaws.com", ("dms", "migration")),
    "timestream": ("Timestream", "timestream.*.amazonaws.com", ("timestream",)),
    "keyspaces": ("Amazon Keyspaces", "cassandra.*.amazonaws.com", ("keyspaces", "cassandra")),
    "qldb": ("QLDB", "qldb.*.amazonaws.com", ("qldb", "ledger")),
    "states": ("Step Functions", "states.*.amazonaws.com", ("sfn", "step_function", "step-function",
                                                           "stepfunction", "state_machine", "state-machine")),
    "events": ("EventBridge", "events.*.amazonaws.com", ("eventbridge", "event_bus", "event-bus", "events")),
    "kinesisvideo": ("Kinesis Video Streams", "kinesisvideo.*.amazonaws.com", ("kinesisvideo", "video")),
    "codeartifact": ("CodeArtifact", "codeartifact.*.amazonaws.com", ("codeartifact",)),
    "airflow": ("Amazon MWAA", "airflow.*.amazonaws.com", ("mwaa", "airflow")),
    "apprunner": ("App Runner", "apprunner.*.amazonaws.com", ("apprunner", "app_runner", "app-runner")),
    "dsql": ("Aurora DSQL", "dsql.*.amazonaws.com", ("dsql",)),
    "neptune-graph": ("Neptune Analytics", "neptune-graph.*.amazonaws.com", ("neptunegraph", "neptune-graph",
                                                                            "neptune_graph", "analytics")),
    "bedrock": ("Amazon Bedrock", "bedrock.*.amazonaws.com", ("bedrock",)),
    # services that call KMS as their own service principal: the key policy must name it (SERVICE_STATEMENTS)
    "logs": ("CloudWatch Logs", None, ("log",)),
    "cloudtrail": ("CloudTrail", None, ("cloudtrail", "trail")),
}

KEY_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
               "kms:ListGrants", "kms:DescribeKey"]


class KeyPlan(Record):
    """The key a customer managed key fix points at: an existing one, or a new block to add."""

    _shown = ("name", "reused", "edits", "note")

    def __init__(self, name: str, reused: Resource | None = None, edits: list[Edit] | None = None, note: str = ""):
        self.name = name
        self.reused = reused
        self.edits = [] if edits is None else edits
        self.note = note

    def reference(self, attribute: str) -> str:
        return f"aws_kms_key.{self.name}.{attribute}"

    def title_suffix(self) -> str:
        if self.reused is not None:
            return f", the existing customer managed key {self.reused.address}"
        return f", a new aws_kms_key.{self.name} (rotation on)"


class ServiceUse(Record):
    """What a new key's policy must say so that the services that use it for this resource can: the statements,
    and the needs (checks/services.py) a reused key's policy must already meet."""

    _shown = ("statements", "needs", "region_lookup", "note")

    def __init__(self, statements: list[NewStatement] | None = None, needs: list | None = None,
                 region_lookup: bool = False, note: str = ""):
        self.statements = [] if statements is None else statements
        self.needs = [] if needs is None else needs
        self.region_lookup = region_lookup  # a statement names the Region through data "aws_region"
        self.note = note

    def signature(self) -> tuple:
        return tuple((n.principal.shown, n.actions, tuple(sorted((k, v.shown()) for k, v in n.context.items())))
                     for n in self.needs)


def service_use(service: str, resource: Resource, graph: Graph, account: str, region_ref: str) -> ServiceUse:
    """The service-principal statements a key for ``resource`` needs (FACTS-3 §2, checks/relations.py): CloudWatch
    Logs of the log group's Region (R3), CloudTrail (R2), the AWS services that publish to a topic or queue (R4,
    R5), the flow logs and CloudFront distributions that use a bucket (R9, R10), and Amazon EC2 Auto Scaling's
    service-linked role for a launch template that groups launch from (R11).

    ``account`` and ``region_ref`` are HCL template fragments for the account id and the Region lookup."""
    from iaclint.checks.relations import Refs, ServicePrincipal, needs_of, service_statements

    needs = needs_of(service, resource, graph)
    if not needs:
        return ServiceUse()
    region, lookup, note = None, False, ""
    regional = [n for n in needs if isinstance(n.principal, ServicePrincipal) and n.principal.region is not None]
    if regional:
        place = regional[0].principal.region
        if place.value is not None:
            region = place.value
        else:
            region, lookup = "${" + region_ref + "}", True
            note = (f"the log group's Region is not known before apply ({place.why}): the key policy names the "
                    f"CloudWatch Logs principal of the Region data.aws_region resolves to at apply time, with the log "
                    "group's provider")
    statements = service_statements(needs, Refs("${" + account + "}", region))
    if service == "ebs":
        from iaclint.checks.compute import autoscaling_launchers

        names = ", ".join(sorted(l.address for l in autoscaling_launchers(resource, graph))[:4])
        note = (f"the new key lets Amazon EC2 Auto Scaling's service-linked role use it ({names} launch from "
                f"{resource.address}); that role must exist before the key is created (the account's first Auto "
                "Scaling group creates it, or aws_iam_service_linked_role)")
    elif service in ("sns", "sqs"):
        from iaclint.checks.estate import publishers

        found = publishers(resource, graph)
        principals = sorted({p.principal for p in found})
        names = ", ".join(sorted({p.resource.address for p in found})[:4])
        note = f"the new key lets {', '.join(principals)} use it: {names} publish to {resource.address}"
    elif service == "s3":
        note = "the new key lets " + ", ".join(n.who for n in needs) + " use it"
    return ServiceUse(statements, needs, lookup, note)


def plan_customer_key(graph: Graph, resource: Resource, module, source: SourceFile, anchor: ast.Block,
                      spec: dict, provider_of: Resource | None = None) -> KeyPlan:
    """Reuse a key meant for this service in the same module, or add one after ``anchor``.

    A new key keeps account-root administration, lets the service use it through the account (kms:ViaService)
    and carries the statements of services that call KMS as their own principal (service_use); it is created
    with the resource's own `provider`, so it lives in the resource's Region. A reused key must already name
    those principals."""
    service = spec.get("service", "")
    label, via_service, hints = SERVICES.get(service, (service or "the service", "*", (service,)))
    module_address = module.address if module is not None else resource.module_address
    keys, taken = module_keys(graph, module_address)
    caller = caller_identity_name(graph, module_address)
    account = f"data.aws_caller_identity.{caller or 'current'}.account_id"
    provider = _provider_for_key(provider_of or resource, anchor, source, module_address, graph)
    region_name = _region_lookup_name(graph, module_address, resource) or "current"
    use = service_use(service, resource, graph, account, f"data.aws_region.{region_name}.{_region_attribute(graph)}")
    judged = graph.__dict__.setdefault("_suitable_keys", {})  # a large module has thousands of fixes to plan
    signature = (module_address, hints, use.signature())
    if signature not in judged:
        judged[signature] = [k for k in keys if _suitable(k, graph, hints, use.needs)]
    owner = provider_of or resource
    suitable = [k for k in judged[signature] if k.provider_ref() == owner.provider_ref()]
    if suitable:
        chosen = sorted(suitable, key=lambda k: k.address)[0]
        return KeyPlan(chosen.name, chosen, [], f"reuses {chosen.address}, which is meant for {label}")
    anchor_name = anchor.labels[-1] if anchor.labels else resource.name
    base = re.sub(r"[^A-Za-z0-9_]", "_", f"{service}_{anchor_name}" if service else anchor_name)
    name = base
    n = 2
    while name in taken:
        name = f"{base}_{n}"
        n += 1
    snippet = ""
    if caller is None:
        caller = "current"
        snippet += 'data "aws_caller_identity" "current" {}\n\n'
    if use.region_lookup and _region_lookup_name(graph, module_address, resource) is None:
        snippet += data_block("aws_region", "current", provider) + "\n"
    snippet += key_block(name, resource.config_address, label, via_service, caller,
                         accounts_reading(resource, graph), use.statements, provider)
    edit = insert_after_block(source, anchor, snippet)
    return KeyPlan(name, None, [edit], use.note)


def module_keys(graph: Graph, module_address: str) -> tuple[list[Resource], set[str]]:
    """The module's managed keys and their names: listed once per graph, not once per fix (a large module has
    thousands of fixes to plan and thousands of keys)."""
    by_module = graph.__dict__.get("_keys_by_module")
    if by_module is None:
        by_module = graph.__dict__["_keys_by_module"] = {}
        for key in graph.of_type("aws_kms_key"):
            if key.mode == "managed":
                by_module.setdefault(key.module_address, ([], set()))
                by_module[key.module_address][0].append(key)
                by_module[key.module_address][1].add(key.name)
    return by_module.get(module_address, ([], set()))


def data_block(type_: str, name: str, provider: str | None) -> str:
    if provider is None:
        return f'data "{type_}" "{name}" {{}}\n'
    return f'data "{type_}" "{name}" {{\n  provider = {provider}\n}}\n'


def _provider_for_key(resource: Resource, anchor: ast.Block, source: SourceFile, module_address: str,
                      graph: Graph | None = None) -> str | None:
    """The `provider = ...` a new key needs to live in the resource's Region: the resource's own argument as
    written (the key goes beside it, or beside another block of its module: S3B004's replica key for the
    destination bucket), or, for a key added beside a root module's call, the root provider configuration the
    resource uses through the call's `providers` map. None: the module's default one."""
    block = getattr(resource, "block", None)
    if block is anchor:
        attribute = anchor.attribute("provider")
        if attribute is None:
            return None
        # an override file may have set it (graph/overrides.py): read it where it is written
        written = source if attribute.file == source.path else graph.sources.get(attribute.file) if graph else None
        return written.text[attribute.expr.start:attribute.expr.end] if written is not None else None
    if block is not None and graph is not None and resource.module_address == module_address:
        attribute = block.attribute("provider")
        written = graph.sources.get(attribute.file) if attribute is not None else None
        if attribute is None or written is None:
            return None
        return written.text[attribute.expr.start:attribute.expr.end]
    ref = resource.provider_ref()
    if module_address == "" and "." in ref and not ref.startswith("?") and ":" not in ref:
        return ref
    return None


def _region_lookup_name(graph: Graph, module_address: str, resource: Resource) -> str | None:
    """A data "aws_region" of the module with the resource's provider configuration, to name the Region."""
    for data in graph.of_type("aws_region"):
        if data.mode == "data" and data.module_address == module_address and \
                data.provider_ref() == resource.provider_ref() and not data.attr("region").present \
                and not data.attr("name").present:
            return data.name
    return None


def _region_attribute(graph: Graph) -> str:
    """data.aws_region's attribute for the Region: `region` from provider v6 (`name` is deprecated there)."""
    provider = graph.providers.get("aws")
    if provider is not None and (provider.major is not None and provider.major >= 6 or provider.majors[0] >= 6):
        return "region"
    return "name"


def _suitable(key: Resource, graph: Graph, hints: tuple[str, ...], needs: list | None = None) -> bool:
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
    policy_text = ""
    if policy.present and policy.value_span is not None:
        source = graph.sources.get(policy.value_span.file)
        if source is not None:
            policy_text = source.text[policy.value_span.start:policy.value_span.end].lower()
            words.append(policy_text)
    if not any(h in w for h in hints for w in words):
        return False
    if needs:  # a key the service cannot use would make the relationship rules fail
        from iaclint.checks.policy import key_policy
        from iaclint.checks.services import judge_use

        policy, _ = key_policy(key, graph)
        return all(judge_use(policy, need, graph).state is True for need in needs)
    return True


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
    copied_to = graph.__dict__.get("_backup_destinations")
    if copied_to is None:  # every backup plan's selections followed once per graph, not once per fix
        copied_to = graph.__dict__["_backup_destinations"] = {}
        for plan in graph.of_type("aws_backup_plan"):
            copies, _ = plan_copies(plan, graph)
            destinations = {c.destination_account.value for c in copies if c.cross and c.destination_account.value}
            if not destinations:
                continue
            for selection in plan_selections(plan, graph):
                picks, _ = selection_picks(selection, graph)
                for pick in picks:
                    if pick.certain:
                        copied_to.setdefault(id(pick.resource), set()).update(destinations)
    accounts |= copied_to.get(id(resource), set())
    return sorted(accounts)


def key_block(name: str, address: str, label: str, via_service: str | None, caller: str,
              other_accounts: list[str] | None = None, service_statements: list[NewStatement] | None = None,
              provider: str | None = None) -> str:
    """One key per resource block (``address`` is the block's, without instance keys)."""
    account = f"data.aws_caller_identity.{caller}.account_id"
    address = hcl_string_text(address)
    sid = "AllowUseThrough" + re.sub(r"[^A-Za-z0-9]", "", label)
    actions = "".join(f'          "{a}",\n' for a in KEY_ACTIONS)
    use_through = (
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
        f"      }},\n") if via_service else ""
    provider_line = f"  provider                = {provider}\n" if provider else ""
    return (
        f'resource "aws_kms_key" "{name}" {{\n'
        f"{provider_line}"
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
        + use_through
        + _statement_objects(service_statements or [])
        + _other_account_statements(other_accounts or [])
        + "    ]\n"
        "  })\n"
        "}\n"
    )


def _other_account_statements(accounts: list[str]) -> str:
    """Statements that let other accounts use the key, as objects of the new key's Statement list."""
    return _statement_objects(other_account_statements(accounts, "Other")) if accounts else ""


def _statement_objects(statements: list[NewStatement]) -> str:
    text = ""
    for statement in statements:
        lines = jsonencode_object(statement, "      ")
        text += "\n".join(lines[:-1] + [lines[-1] + ","]) + "\n"
    return text
