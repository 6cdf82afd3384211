"""The estate foundation: conditions and fixes on nested paths, service principals in new keys, key arguments
in nested blocks (XRG001, KMS003), and the runner's type index."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from iaclint.engine import conditions
from iaclint.graph.paths import resolve
from iaclint.model import Applicability, Verdict
from support import run

TERRAFORM = shutil.which("terraform")


def graph_of(tmp_path, text, name="main.tf"):
    from iaclint.graph.hcl import build_hcl_graph
    from iaclint.graph.inputs import collect_inputs

    root = tmp_path / "m"
    root.mkdir(exist_ok=True)
    (root / name).write_text(text)
    return build_hcl_graph(root, collect_inputs(root, environ={}))


def judge(graph, address, cond):
    return conditions.evaluate(cond, graph.resource(address), graph)


DOMAIN = '''
variable "zones" {
  type = list(string)
}

resource "aws_opensearch_domain" "absent" {
  domain_name = "absent"
}

resource "aws_opensearch_domain" "enabled" {
  domain_name = "enabled"
  encrypt_at_rest {
    enabled = true
  }
}

resource "aws_opensearch_domain" "dynamic_known" {
  domain_name = "known"
  dynamic "encrypt_at_rest" {
    for_each = [false]
    content {
      enabled = encrypt_at_rest.value
    }
  }
}

resource "aws_opensearch_domain" "dynamic_unknown" {
  domain_name = "unknown"
  dynamic "encrypt_at_rest" {
    for_each = var.zones
    content {
      enabled = true
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "two_rules" {
  bucket = "b"
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}
'''

ENABLED = {"attribute": "encrypt_at_rest.enabled", "equals": True, "default": False}


def test_a_missing_block_means_the_default_and_says_which_block_is_missing(tmp_path):
    graph = graph_of(tmp_path, DOMAIN)
    outcome = judge(graph, "aws_opensearch_domain.absent", ENABLED)
    assert outcome.state is False
    assert outcome.reason == "encrypt_at_rest is not set (default false)"
    assert outcome.attribute == "encrypt_at_rest.enabled"


def test_a_nested_argument_is_read_and_located(tmp_path):
    graph = graph_of(tmp_path, DOMAIN)
    outcome = judge(graph, "aws_opensearch_domain.enabled", ENABLED)
    assert outcome.state is True and outcome.reason == "encrypt_at_rest.enabled is true"
    assert outcome.span is not None and graph.location(outcome.span).line == 13


def test_dynamic_blocks_are_expanded_when_known_and_unknown_otherwise(tmp_path):
    graph = graph_of(tmp_path, DOMAIN)
    assert judge(graph, "aws_opensearch_domain.dynamic_known", ENABLED).state is False
    outcome = judge(graph, "aws_opensearch_domain.dynamic_unknown", ENABLED)
    assert outcome.state is None and "for_each is unknown" in outcome.reason


def test_every_block_must_hold_and_the_failing_one_is_named(tmp_path):
    graph = graph_of(tmp_path, DOMAIN)
    cond = {"attribute": "rule.apply_server_side_encryption_by_default.sse_algorithm", "equals": "aws:kms"}
    outcome = judge(graph, "aws_s3_bucket_server_side_encryption_configuration.two_rules", cond)
    assert outcome.state is False
    assert outcome.reason.startswith("rule[1].apply_server_side_encryption_by_default.sse_algorithm is")
    leaves, why = resolve(graph.resource("aws_s3_bucket_server_side_encryption_configuration.two_rules"),
                          "rule.apply_server_side_encryption_by_default.sse_algorithm")
    assert why == "" and [leaf.label for leaf in leaves] == [
        "rule[0].apply_server_side_encryption_by_default.sse_algorithm",
        "rule[1].apply_server_side_encryption_by_default.sse_algorithm"]


def test_present_names_blocks_too(tmp_path):
    graph = graph_of(tmp_path, DOMAIN)
    assert judge(graph, "aws_opensearch_domain.enabled", {"attribute": "encrypt_at_rest", "present": True}).state
    assert judge(graph, "aws_opensearch_domain.absent", {"attribute": "encrypt_at_rest", "present": True}).state \
        is False


KEYS = '''
data "aws_kms_alias" "sqs" {
  name = "alias/aws/sqs"
}

resource "aws_kms_key" "k" {}

resource "aws_sqs_queue" "default_sse" {}

resource "aws_sqs_queue" "managed" {
  kms_master_key_id = data.aws_kms_alias.sqs.target_key_arn
}

resource "aws_sqs_queue" "empty" {
  kms_master_key_id = ""
}

resource "aws_kinesis_firehose_delivery_stream" "cmk" {
  name        = "s"
  destination = "extended_s3"
  server_side_encryption {
    enabled  = true
    key_type = "CUSTOMER_MANAGED_CMK"
    key_arn  = aws_kms_key.k.arn
  }
}
'''


def test_key_conditions_on_nested_arguments_and_what_an_omitted_key_means(tmp_path):
    graph = graph_of(tmp_path, KEYS)
    cmk = {"attribute": "kms_master_key_id", "key": "customer_managed", "when_absent": "the queue uses SSE-SQS"}
    assert judge(graph, "aws_sqs_queue.default_sse", cmk).reason == "kms_master_key_id is not set, so the queue uses SSE-SQS"
    assert judge(graph, "aws_sqs_queue.empty", cmk).reason == 'kms_master_key_id is "", so the queue uses SSE-SQS'
    managed = judge(graph, "aws_sqs_queue.managed", cmk)
    assert managed.state is False and "alias/aws/sqs" in managed.reason and "data.aws_kms_alias.sqs" in managed.reason
    nested = {"attribute": "server_side_encryption.key_arn", "key": "customer_managed"}
    assert judge(graph, "aws_kinesis_firehose_delivery_stream.cmk", nested).state is True


def test_default_why_is_said_with_the_default(tmp_path):
    graph = graph_of(tmp_path, KEYS)
    cond = {"attribute": "sqs_managed_sse_enabled", "equals": True, "default": True,
            "default_why": "new queues get SSE-SQS"}
    outcome = judge(graph, "aws_sqs_queue.default_sse", cond)
    assert outcome.state is True
    assert outcome.reason == "sqs_managed_sse_enabled is not set (default true: new queues get SSE-SQS)"


# ---- fixes on nested paths -------------------------------------------------------------------


def _fix_with_rule(tmp_path, text, rule_yaml, rule_id):
    """Fix a module with a rule of the user's own (a rule folder), to exercise the fix mechanism itself."""
    from iaclint.engine.rules import load_rule
    from iaclint.fixes.builder import attach_fixes
    from iaclint.engine.runner import run_rules

    rules_dir = tmp_path / "rules"
    rules_dir.mkdir(exist_ok=True)
    (rules_dir / f"{rule_id}.yaml").write_text(rule_yaml)
    rule = load_rule(rules_dir / f"{rule_id}.yaml")
    graph = graph_of(tmp_path, text)
    findings = run_rules(graph, [rule])
    attach_fixes(findings)
    return graph, findings


RULE = '''id: {id}
name: test-{lower}
title: A rule written for a test of nested fixes
service: Test
severity: low
resource_types: [{type}]
references: {{}}
message: test finding
assert: {assert_}
fix: {fix}
docs:
  what: a rule written for this test only
  why: to exercise the fix mechanism
  failing: "resource x y {{}}"
  passing: "resource x y {{}}"
  fix_safety: in place
'''


def _rule(id_, type_, assert_, fix):
    return RULE.format(id=id_, lower=id_.lower(), type=type_, assert_=assert_, fix=fix)


def _applied(graph, finding):
    from iaclint.hcl.layout import apply_edits

    path = finding.fix.edits[0].file
    return apply_edits(graph.sources[path].text, [e for e in finding.fix.edits if e.file == path])


def test_a_nested_flag_fix_inserts_the_missing_block_in_fmt_style(tmp_path):
    text = 'resource "aws_opensearch_domain" "d" {\n  domain_name    = "d"\n  engine_version = "OpenSearch_2.11"\n}\n'
    rule = _rule("TST001", "aws_opensearch_domain",
                 '{attribute: encrypt_at_rest.enabled, equals: true, default: false}',
                 '{action: set_attribute, attribute: encrypt_at_rest.enabled, value: true}')
    graph, findings = _fix_with_rule(tmp_path, text, rule, "TST001")
    (finding,) = findings
    assert finding.fix.applicability is Applicability.SAFE
    assert _applied(graph, finding) == ('resource "aws_opensearch_domain" "d" {\n  domain_name    = "d"\n'
                                        '  engine_version = "OpenSearch_2.11"\n\n  encrypt_at_rest {\n'
                                        '    enabled = true\n  }\n}\n')
    assert finding.fix.title.startswith("set `encrypt_at_rest.enabled = true`")


def test_a_nested_fix_completes_an_existing_block_and_replaces_a_literal(tmp_path):
    text = ('resource "aws_kinesis_firehose_delivery_stream" "s" {\n  name = "s"\n\n'
            '  server_side_encryption {\n    enabled = false # off for now\n  }\n}\n')
    rule = _rule("TST002", "aws_kinesis_firehose_delivery_stream",
                 '{attribute: server_side_encryption.key_type, equals: CUSTOMER_MANAGED_CMK, default: AWS_OWNED_CMK}',
                 '{action: set_attribute, attribute: server_side_encryption.key_type, value: CUSTOMER_MANAGED_CMK, '
                 'with: {server_side_encryption.enabled: true}}')
    graph, findings = _fix_with_rule(tmp_path, text, rule, "TST002")
    (finding,) = findings
    assert _applied(graph, finding) == (
        'resource "aws_kinesis_firehose_delivery_stream" "s" {\n  name = "s"\n\n  server_side_encryption {\n'
        '    enabled  = true # off for now\n    key_type = "CUSTOMER_MANAGED_CMK"\n  }\n}\n')


def test_deep_paths_insert_every_missing_level_at_once(tmp_path):
    text = 'resource "aws_athena_workgroup" "w" {\n  name = "w"\n}\n'
    rule = _rule("TST003", "aws_athena_workgroup",
                 '{attribute: configuration.result_configuration.encryption_configuration, present: true}',
                 '{action: set_attribute, attribute: '
                 'configuration.result_configuration.encryption_configuration.encryption_option, value: SSE_KMS}')
    graph, findings = _fix_with_rule(tmp_path, text, rule, "TST003")
    (finding,) = findings
    assert _applied(graph, finding) == (
        'resource "aws_athena_workgroup" "w" {\n  name = "w"\n\n  configuration {\n    result_configuration {\n'
        '      encryption_configuration {\n        encryption_option = "SSE_KMS"\n      }\n    }\n  }\n}\n')


def test_a_dynamic_block_gets_no_automatic_edit(tmp_path):
    text = ('resource "aws_opensearch_domain" "d" {\n  domain_name = "d"\n  dynamic "encrypt_at_rest" {\n'
            '    for_each = [1]\n    content {\n      enabled = false\n    }\n  }\n}\n')
    rule = _rule("TST004", "aws_opensearch_domain", '{attribute: encrypt_at_rest.enabled, equals: true}',
                 '{action: set_attribute, attribute: encrypt_at_rest.enabled, value: true}')
    graph, findings = _fix_with_rule(tmp_path, text, rule, "TST004")
    (finding,) = findings
    assert finding.fix is None and "dynamic block" in finding.no_fix_reason


def test_unsafe_because_makes_an_in_place_fix_unsafe_with_its_reason(tmp_path):
    text = 'resource "aws_opensearch_domain" "d" {\n  domain_name = "d"\n}\n'
    rule = _rule("TST005", "aws_opensearch_domain", '{attribute: encrypt_at_rest.enabled, equals: true}',
                 '{action: set_attribute, attribute: encrypt_at_rest.enabled, value: true, '
                 'unsafe_because: "readers lose access"}')
    _, (finding,) = _fix_with_rule(tmp_path, text, rule, "TST005")
    assert finding.fix.applicability is Applicability.UNSAFE and finding.fix.note == "readers lose access"


# ---- keys made by fixes carry the statements their service needs -----------------------------


def _key_fix(tmp_path, text, service, type_, attribute="kms_key_id"):
    rule = _rule("TST010", type_, f'{{attribute: {attribute}, key: customer_managed}}',
                 f'{{action: customer_managed_key, attribute: {attribute}, service: {service}}}')
    graph, (finding,) = _fix_with_rule(tmp_path, text, rule, "TST010")
    return graph, finding, _applied(graph, finding)


def test_a_log_group_key_names_the_regional_logs_principal(tmp_path):
    text = ('provider "aws" {\n  region = "eu-west-1"\n}\n\nresource "aws_cloudwatch_log_group" "app" {\n'
            '  name = "app"\n}\n')
    _, finding, fixed = _key_fix(tmp_path, text, "logs", "aws_cloudwatch_log_group")
    assert 'Principal = { Service = "logs.eu-west-1.amazonaws.com" }' in fixed
    assert "kms:ViaService" not in fixed  # CloudWatch Logs calls KMS as its own principal


def test_a_log_group_key_of_an_unknown_region_says_so_and_asks_terraform(tmp_path):
    text = 'resource "aws_cloudwatch_log_group" "app" {\n  name = "app"\n}\n'
    _, finding, fixed = _key_fix(tmp_path, text, "logs", "aws_cloudwatch_log_group")
    assert 'data "aws_region" "current" {}' in fixed
    assert '"logs.${data.aws_region.current.name}.amazonaws.com"' in fixed
    assert "Region is not known before apply" in finding.fix.note


def test_a_key_for_a_resource_of_another_provider_is_made_with_that_provider(tmp_path):
    text = ('provider "aws" {\n  region = "eu-west-1"\n}\n\nprovider "aws" {\n  alias  = "us"\n'
            '  region = "us-east-1"\n}\n\nresource "aws_cloudwatch_log_group" "app" {\n  provider = aws.us\n'
            '  name     = "app"\n}\n')
    _, _, fixed = _key_fix(tmp_path, text, "logs", "aws_cloudwatch_log_group")
    assert '  provider                = aws.us\n' in fixed and "logs.us-east-1.amazonaws.com" in fixed


def test_a_cloudtrail_key_lets_cloudtrail_encrypt_for_the_accounts_trails(tmp_path):
    text = 'resource "aws_cloudtrail" "t" {\n  name           = "t"\n  s3_bucket_name = "logs"\n}\n'
    _, _, fixed = _key_fix(tmp_path, text, "cloudtrail", "aws_cloudtrail")
    assert 'Principal = { Service = "cloudtrail.amazonaws.com" }' in fixed
    assert ('Condition = { StringLike = { "kms:EncryptionContext:aws:cloudtrail:arn" = '
            '"arn:aws:cloudtrail:*:${data.aws_caller_identity.current.account_id}:trail/*" } }') in fixed


def test_a_topic_key_lets_its_aws_publishers_use_it(tmp_path):
    text = ('resource "aws_sns_topic" "alarms" {\n  name = "alarms"\n}\n\n'
            'resource "aws_cloudwatch_metric_alarm" "cpu" {\n  alarm_name    = "cpu"\n'
            '  alarm_actions = [aws_sns_topic.alarms.arn]\n}\n')
    _, finding, fixed = _key_fix(tmp_path, text, "sns", "aws_sns_topic", "kms_master_key_id")
    assert 'Principal = { Service = "cloudwatch.amazonaws.com" }' in fixed
    assert "aws_cloudwatch_metric_alarm.cpu publish to aws_sns_topic.alarms" in finding.fix.note


def test_a_key_without_the_service_principal_is_not_reused(tmp_path):
    text = ('resource "aws_kms_key" "logs" {\n  description = "logs"\n}\n\n'
            'resource "aws_cloudwatch_log_group" "app" {\n  name = "app"\n}\n')
    _, finding, _ = _key_fix(tmp_path, text, "logs", "aws_cloudwatch_log_group")
    assert "a new aws_kms_key" in finding.fix.title


@pytest.mark.skipif(TERRAFORM is None, reason="needs the terraform binary on PATH for `terraform fmt`")
def test_new_keys_with_service_statements_are_fmt_clean(tmp_path):
    text = 'resource "aws_cloudtrail" "t" {\n  name           = "t"\n  s3_bucket_name = "logs"\n}\n'
    _, _, fixed = _key_fix(tmp_path, text, "cloudtrail", "aws_cloudtrail")
    out = tmp_path / "fixed.tf"
    out.write_text(fixed)
    assert subprocess.run([TERRAFORM, "fmt", "-check", str(out)], capture_output=True).returncode == 0


# ---- key arguments in nested blocks take part in XRG001 and KMS003 ----------------------------


def test_nested_key_arguments_are_judged_by_xrg001_and_named_by_kms003(tmp_path):
    root = tmp_path / "m"
    root.mkdir()
    (root / "main.tf").write_text('''
provider "aws" {
  region = "eu-west-1"
}

provider "aws" {
  alias  = "us"
  region = "us-east-1"
}

resource "aws_kms_key" "us" {
  provider = aws.us
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "es.amazonaws.com" }, Action = "kms:Decrypt", Resource = "*" }]
  })
}

resource "aws_opensearch_domain" "d" {
  domain_name = "d"
  encrypt_at_rest {
    enabled    = true
    kms_key_id = aws_kms_key.us.arn
  }
}

resource "aws_dynamodb_table" "t" {
  provider = aws.us
  name     = "t"
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.us.arn
  }
}
''')
    report = run([root], select={"XRG001", "KMS003"})
    xrg = [f for f in report.findings if f.rule_id == "XRG001"]
    (kms,) = [f for f in report.findings if f.rule_id == "KMS003"]
    assert [(f.address, f.verdict) for f in xrg] == [("aws_opensearch_domain.d", Verdict.FAIL)]
    assert "encrypt_at_rest.kms_key_id names aws_kms_key.us in us-east-1" in xrg[0].message
    assert xrg[0].location.line == 23
    # KMS003 judges the key by the consumers whose service creates grants (the table), not the domain
    assert "aws_dynamodb_table.t.server_side_encryption.kms_key_arn" in kms.message
    assert "aws_opensearch_domain" not in kms.message


def test_key_consumers_list_every_key_argument_nested_ones_included(tmp_path):
    from iaclint.checks.policy import key_consumers

    graph = graph_of(tmp_path, '''
resource "aws_kms_key" "k" {}

resource "aws_kinesis_firehose_delivery_stream" "s" {
  name        = "s"
  destination = "extended_s3"
  server_side_encryption {
    enabled  = true
    key_type = "CUSTOMER_MANAGED_CMK"
    key_arn  = aws_kms_key.k.arn
  }
}

resource "aws_sqs_queue" "q" {
  kms_master_key_id = aws_kms_key.k.key_id
}
''')
    consumers = key_consumers(graph.resource("aws_kms_key.k"), graph)
    assert sorted((r.address, label) for r, label in consumers) == [
        ("aws_kinesis_firehose_delivery_stream.s", "server_side_encryption.key_arn"),
        ("aws_sqs_queue.q", "kms_master_key_id")]


def test_xrg001_covers_every_key_argument_of_the_table():
    from iaclint.checks.regions import KEY_ARGUMENTS
    from iaclint.engine.rules import find_rule

    assert set(find_rule("XRG001").resource_types) == set(KEY_ARGUMENTS)


# ---- the runner visits only resources of each rule's types --------------------------------


def test_the_runner_asks_the_type_index_not_every_resource(tmp_path):
    from iaclint.engine.rules import load_rules
    from iaclint.engine.runner import run_rules

    class Watched(list):
        scans = 0

        def __iter__(self):
            Watched.scans += 1
            return super().__iter__()

    graph = graph_of(tmp_path, KEYS + DOMAIN)
    graph.of_type("aws_sqs_queue", "aws_kms_key")  # the index (and the order across types) is built once per graph
    graph.resources = Watched(graph.resources)
    findings = run_rules(graph, [r for r in load_rules() if r.check_name == "" or r.id in ("XRG001", "KMS003")])
    assert findings and Watched.scans == 0


def test_a_block_a_plan_knows_only_after_apply_makes_a_nested_condition_unknown(tmp_path):
    import json

    stream = {"name": "s", "destination": "extended_s3"}
    plan = {
        "format_version": "1.2", "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": [{
            "address": "aws_kinesis_firehose_delivery_stream.s", "mode": "managed",
            "type": "aws_kinesis_firehose_delivery_stream", "name": "s",
            "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 1, "values": stream,
            "sensitive_values": {}}]}},
        "resource_changes": [{
            "address": "aws_kinesis_firehose_delivery_stream.s", "mode": "managed",
            "type": "aws_kinesis_firehose_delivery_stream", "name": "s",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["create"], "before": None, "after": stream,
                       "after_unknown": {"server_side_encryption": True}, "before_sensitive": False,
                       "after_sensitive": {}}}]}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    report = run([path], select={"FIR001"})
    (finding,) = report.findings
    assert finding.verdict is Verdict.UNKNOWN
    assert "server_side_encryption is known only after apply" in finding.message


def test_a_key_for_a_module_resource_follows_the_calls_provider_and_region(tmp_path):
    from iaclint.hcl.layout import apply_edits
    from test_fixes import findings

    root = tmp_path / "root"
    (root / "logs").mkdir(parents=True)
    (root / "logs" / "main.tf").write_text('variable "kms_key_id" {\n  default = null\n}\n\n'
                                           'resource "aws_cloudwatch_log_group" "this" {\n  name       = "app"\n'
                                           '  kms_key_id = var.kms_key_id\n}\n')
    (root / "main.tf").write_text('provider "aws" {\n  region = "eu-west-1"\n}\n\nprovider "aws" {\n  alias  = "us"\n'
                                  '  region = "us-east-1"\n}\n\nresource "aws_kms_key" "logs" {\n'
                                  '  description = "logs for logs.eu-west-1.amazonaws.com"\n}\n\n'
                                  'module "edge" {\n  source = "./logs"\n  providers = {\n    aws = aws.us\n  }\n}\n')
    (finding,) = findings(root, ["LOG001"])
    assert finding.context.resource.provider_ref() == "aws.us"  # `aws = aws.us`: a bare key names the provider
    fixed = apply_edits((root / "main.tf").read_text(), [e for e in finding.fix.edits if e.file.endswith("/main.tf")
                                                          and "/logs/" not in e.file])
    assert "module argument `kms_key_id = aws_kms_key.logs_edge.arn`" in finding.fix.title  # not the eu-west-1 key
    assert "  provider                = aws.us\n" in fixed and '"logs.us-east-1.amazonaws.com"' in fixed


def test_a_path_through_an_object_argument_is_read_but_not_rewritten_as_a_block(tmp_path):
    text = ('resource "aws_s3tables_table_bucket" "t" {\n  name = "t"\n  encryption_configuration = {\n'
            '    sse_algorithm = "AES256"\n  }\n}\n')
    rule = _rule("TST006", "aws_s3tables_table_bucket",
                 '{attribute: encryption_configuration.sse_algorithm, equals: "aws:kms"}',
                 '{action: set_attribute, attribute: encryption_configuration.sse_algorithm, value: "aws:kms"}')
    graph, (finding,) = _fix_with_rule(tmp_path, text, rule, "TST006")
    assert finding.message.endswith('encryption_configuration.sse_algorithm is "AES256"')
    assert finding.fix is None and "argument holding an object" in finding.no_fix_reason
