"""Rules that follow an AWS service to the key it must use (SNS003, SQS003, LOG002, CTR001, S3B004-S3B006, ASG001,
KMS005): the fixed configurations, the edges, the policy model for service principals, one problem one finding,
and the estate fixes that must never produce a finding of these rules."""

from __future__ import annotations

import shutil

import pytest

from iaclint.engine.runner import RuleSelection
from iaclint.model import Verdict
from iaclint.run.fix import run_fix
from support import RULE_FIXTURES, options, rule_cases, run
from test_estate_foundation import graph_of

NEW_RULES = ("SNS003", "SQS003", "LOG002", "CTR001", "S3B004", "S3B005", "S3B006", "ASG001", "KMS005")
FIXED = [case for rule in NEW_RULES for case in rule_cases(rule) if case.fixed_path is not None]


def _fix(target, rule_ids=None, unsafe=True):
    opts = options()
    if rule_ids:
        opts.selection = RuleSelection(select=set(rule_ids))
    return run_fix([str(target)], opts, unsafe=unsafe, write=True)


def _module(tmp_path, text, name="main.tf"):
    root = tmp_path / "m"
    root.mkdir(exist_ok=True)
    (root / name).write_text(text)
    return root


def _findings(root, select=None):
    return run([root], select=select).findings


@pytest.mark.parametrize("case", FIXED, ids=lambda c: c.name)
def test_the_fixed_configuration_gives_no_finding_of_any_rule(case, tmp_path):
    """Fixed for its own rule, a case is clean under every rule: the statements and keys a fix writes are the
    ones the other rules (KMS001-004, SNS002, LOG001, XRG001, ...) accept."""
    module = case.copy_to(tmp_path / "case")
    outcome = _fix(case.target(module), [case.rule_id])
    assert outcome.applied and not outcome.rejected, outcome.rejected
    if case.is_plan:
        (module / "plan.json").unlink()  # the plan is stale now: judge the configuration it was planned from
    assert [f"{f.rule_id} {f.address}: {f.message}" for f in _findings(module)] == []


def test_the_sns003_plan_reads_the_policy_from_its_json_string(tmp_path):
    """Without the configuration, the key's policy is only the plan's JSON string, and the key ARN is known only
    after apply: still a key of the configuration whose policy lacks CloudWatch."""
    source = RULE_FIXTURES / "SNS003" / "plan_key_after_apply"
    shutil.copy(source / "plan.json", tmp_path / "plan.json")
    findings = _findings(tmp_path / "plan.json", {"SNS003"})
    assert [(f.address, f.verdict) for f in findings] == [("aws_sns_topic.alerts", Verdict.FAIL)]
    assert "cloudwatch.amazonaws.com call none of kms:GenerateDataKey*, kms:Decrypt" in findings[0].message


# ---- one problem, one finding ----------------------------------------------------------------------------

ALARM_ON_AWS_MANAGED = '''
resource "aws_sns_topic" "alerts" {
  name              = "alerts"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_cloudwatch_metric_alarm" "cpu" {
  alarm_name          = "cpu"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  metric_name         = "CPUUtilization"
  namespace           = "AWS/EC2"
  period              = 300
  statistic           = "Average"
  threshold           = 80
  alarm_actions       = [aws_sns_topic.alerts.arn]
}
'''


def test_sns002_leaves_a_topic_to_sns003_unless_sns003_is_not_run(tmp_path):
    root = _module(tmp_path, ALARM_ON_AWS_MANAGED)
    assert [f.rule_id for f in _findings(root) if f.rule_id.startswith("SNS")] == ["SNS003"]
    opts = options()
    opts.selection = RuleSelection(ignore={"SNS003"})
    from iaclint.run.lint import lint

    ignored = lint([str(root)], opts).report.findings
    assert [f.rule_id for f in ignored if f.rule_id.startswith("SNS")] == ["SNS002"]


def test_a_load_balancer_log_bucket_on_sse_kms_is_reported_once_on_the_load_balancer(tmp_path):
    root = _module(tmp_path, '''
resource "aws_s3_bucket" "logs" {
  bucket = "example-logs"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

resource "aws_lb" "web" {
  name    = "web"
  subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  access_logs {
    bucket  = aws_s3_bucket.logs.id
    enabled = true
  }
}
''')
    # not S3B002 (aws/s3) nor S3B003 (no Bucket Key): the bucket must leave KMS altogether
    assert [(f.rule_id, f.address) for f in _findings(root)] == [("S3B005", "aws_lb.web")]


def test_a_flow_log_bucket_on_aws_s3_is_reported_once_on_the_flow_log(tmp_path):
    root = _module(tmp_path, '''
resource "aws_s3_bucket" "logs" {
  bucket = "example-logs"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_flow_log" "vpc" {
  vpc_id               = "vpc-0123456789abcdef0"
  traffic_type         = "ALL"
  log_destination_type = "s3"
  log_destination      = aws_s3_bucket.logs.arn
}
''')
    assert [(f.rule_id, f.address) for f in _findings(root)] == [("S3B006", "aws_flow_log.vpc")]


# ---- the estate's fixes never produce a finding of these rules ------------------------------------------------

ESTATE = '''
provider "aws" {
  region              = "eu-west-1"
  allowed_account_ids = ["111122223333"]
}

resource "aws_sns_topic" "alerts" {
  name = "alerts"
}

resource "aws_cloudwatch_metric_alarm" "cpu" {
  alarm_name          = "cpu"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  metric_name         = "CPUUtilization"
  namespace           = "AWS/EC2"
  period              = 300
  statistic           = "Average"
  threshold           = 80
  alarm_actions       = [aws_sns_topic.alerts.arn]
}

resource "aws_sqs_queue" "uploads" {
  name = "uploads"
}

resource "aws_s3_bucket" "uploads" {
  bucket = "example-uploads"
}

resource "aws_s3_bucket_notification" "uploads" {
  bucket = aws_s3_bucket.uploads.id
  queue {
    queue_arn = aws_sqs_queue.uploads.arn
    events    = ["s3:ObjectCreated:*"]
  }
}

resource "aws_flow_log" "vpc" {
  vpc_id               = "vpc-0123456789abcdef0"
  traffic_type         = "ALL"
  log_destination_type = "s3"
  log_destination      = aws_s3_bucket.uploads.arn
}

resource "aws_cloudfront_origin_access_control" "s3" {
  name                              = "s3"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_distribution" "cdn" {
  enabled = true
  origin {
    domain_name              = aws_s3_bucket.uploads.bucket_regional_domain_name
    origin_id                = "uploads"
    origin_access_control_id = aws_cloudfront_origin_access_control.s3.id
  }
  default_cache_behavior {
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    target_origin_id       = "uploads"
    viewer_protocol_policy = "redirect-to-https"
  }
  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }
  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

resource "aws_s3_bucket" "replica" {
  bucket = "example-uploads-replica"
}

resource "aws_s3_bucket_replication_configuration" "uploads" {
  role   = "arn:aws:iam::111122223333:role/replication"
  bucket = aws_s3_bucket.uploads.id
  rule {
    id     = "all"
    status = "Enabled"
    destination {
      bucket = aws_s3_bucket.replica.arn
    }
  }
}

resource "aws_cloudwatch_log_group" "app" {
  name = "/app/api"
}

resource "aws_cloudtrail" "audit" {
  name           = "audit"
  s3_bucket_name = "example-audit-logs"
}

resource "aws_launch_template" "web" {
  name_prefix = "web-"
  image_id    = "ami-0123456789abcdef0"
  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      encrypted = "true"
    }
  }
}

resource "aws_autoscaling_group" "web" {
  name               = "web"
  min_size           = 1
  max_size           = 2
  availability_zones = ["eu-west-1a"]
  launch_template {
    id      = aws_launch_template.web.id
    version = "$Latest"
  }
}
'''


def test_estate_fixes_carry_what_the_relationship_rules_need(tmp_path):
    """SNS001, SQS002, S3B001 (a bucket that flow logs, CloudFront and replication use), LOG001, CTR002 and EC2002
    add keys whose policies let the services in, and S3B004 follows S3B001 (the opt-in was masked while the
    bucket was on SSE-S3): every fix is accepted, and nothing of any rule is left but what the fixes cannot do."""
    root = _module(tmp_path, ESTATE)
    before = {f.rule_id for f in _findings(root)}
    assert {"SNS001", "SQS002", "S3B001", "LOG001", "CTR002", "EC2002"} <= before
    assert not before & set(NEW_RULES)
    outcome = _fix(root)
    assert not outcome.rejected, outcome.rejected
    applied = {a.rule_id for a in outcome.applied}
    assert {"SNS001", "SQS002", "S3B001", "S3B004", "LOG001", "CTR002", "EC2002"} <= applied
    left = [f"{f.rule_id} {f.address}" for f in _findings(root) if f.verdict is Verdict.FAIL]
    assert left == []
    text = (root / "main.tf").read_text()
    for principal in ("cloudwatch.amazonaws.com", "s3.amazonaws.com", "delivery.logs.amazonaws.com",
                      "cloudfront.amazonaws.com", "logs.eu-west-1.amazonaws.com", "cloudtrail.amazonaws.com",
                      "AWSServiceRoleForAutoScaling"):
        assert principal in text, principal


# ---- the edges are indexed once per graph ----------------------------------------------------------------------


def test_the_edges_are_built_once_per_graph_not_per_resource(tmp_path):
    topics = "".join(f'''
resource "aws_sns_topic" "t{i}" {{
  name              = "t{i}"
  kms_master_key_id = "alias/aws/sns"
}}
resource "aws_cloudwatch_metric_alarm" "a{i}" {{
  alarm_name          = "a{i}"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  metric_name         = "CPUUtilization"
  namespace           = "AWS/EC2"
  period              = 300
  statistic           = "Average"
  threshold           = 80
  alarm_actions       = [aws_sns_topic.t{i}.arn]
}}
''' for i in range(30))
    graph = graph_of(tmp_path, topics)
    calls: list[tuple] = []
    original = graph.of_type

    def counting(*types):
        calls.append(types)
        return original(*types)

    graph.of_type = counting
    from iaclint.engine.results import CheckContext
    from iaclint.engine.rules import find_rule

    rule = find_rule("SNS003")
    verdicts = [rule.evaluate(graph.resource(f"aws_sns_topic.t{i}"), CheckContext(graph, rule)).verdict
                for i in range(30)]
    assert verdicts == [Verdict.FAIL] * 30
    from iaclint.checks.estate import PUBLISHERS

    # the publishers index reads each (type, argument) of PUBLISHERS once, whatever the number of topics
    assert calls.count(("aws_cloudwatch_metric_alarm",)) == sum(t == "aws_cloudwatch_metric_alarm"
                                                                 for t, _, _ in PUBLISHERS)


# ---- the policy model for service principals ------------------------------------------------------------------


def _judge(tmp_path, policy: str, need):
    from iaclint.checks.policy import key_policy
    from iaclint.checks.services import judge_use

    tmp_path.mkdir(parents=True, exist_ok=True)
    graph = graph_of(tmp_path, f'resource "aws_kms_key" "k" {{\n  policy = {policy}\n}}\n')
    found, _ = key_policy(graph.resource("aws_kms_key.k"), graph)
    return judge_use(found, need, graph)


def _need(principal="cloudwatch.amazonaws.com", actions=("kms:GenerateDataKey*", "kms:Decrypt"), context=None):
    from iaclint.checks.services import Need, ServicePrincipal

    return Need(ServicePrincipal(principal), actions, "test", context or {})


def _statement(principal, actions, extra=""):
    return ('jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { Service = '
            f'"{principal}" }}, Action = {actions}, Resource = "*"{extra} }}] }})')


def test_actions_split_over_statements_and_wildcards_count(tmp_path):
    policy = ('jsonencode({ Statement = [{ Effect = "Allow", Principal = { Service = "cloudwatch.amazonaws.com" }, '
              'Action = "kms:Decrypt", Resource = "*" }, { Effect = "Allow", Principal = { Service = '
              '["cloudwatch.amazonaws.com"] }, Action = "kms:*", Resource = "*" }] })')
    assert _judge(tmp_path, policy, _need()).state is True


def test_a_family_is_covered_by_its_operation_and_not_by_another_member(tmp_path):
    """kms:GenerateDataKey covers kms:GenerateDataKey* (FACTS-3 R5 cites such a statement as correct);
    kms:GenerateDataKeyWithoutPlaintext alone does not say, so it is a doubt."""
    granted = _statement("cloudwatch.amazonaws.com", '["kms:GenerateDataKey", "kms:Decrypt"]')
    assert _judge(tmp_path / "a", granted, _need()).state is True
    other = _statement("cloudwatch.amazonaws.com", '["kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt"]')
    judged = _judge(tmp_path / "b", other, _need())
    assert judged.state is None and "only some of the actions kms:GenerateDataKey* stands for" in judged.reason


def test_a_documented_statement_granted_in_part_is_unknown(tmp_path):
    """CloudWatch Logs: AWS documents five actions; a policy with four of them is not a proven failure."""
    from iaclint.checks.services import Need, ServicePrincipal

    need = Need(ServicePrincipal("delivery.logs.amazonaws.com"), ("kms:Encrypt", "kms:ReEncrypt*"), "test",
                documented_statement=True)
    judged = _judge(tmp_path / "a", _statement("delivery.logs.amazonaws.com", '"kms:Encrypt"'), need)
    assert judged.state is None and "but not kms:ReEncrypt*" in judged.reason
    assert _judge(tmp_path / "b", _statement("delivery.logs.amazonaws.com", '"kms:Sign"'), need).state is False


def test_an_unconditional_deny_wins_over_an_allow(tmp_path):
    policy = ('jsonencode({ Statement = [{ Effect = "Deny", Principal = { Service = "cloudwatch.amazonaws.com" }, '
              'Action = "kms:Decrypt", Resource = "*" }, { Effect = "Allow", Principal = { Service = '
              '"cloudwatch.amazonaws.com" }, Action = "kms:*", Resource = "*" }] })')
    judged = _judge(tmp_path, policy, _need())
    assert judged.state is False and "denies kms:Decrypt" in judged.reason


def test_an_unverified_condition_key_does_not_exclude(tmp_path):
    extra = ', Condition = { StringEquals = { "aws:SourceAccount" = "999988887777" } }'
    assert _judge(tmp_path, _statement("events.amazonaws.com", '"kms:*"', extra),
                  _need("events.amazonaws.com")).state is True


def test_an_encryption_context_for_another_log_group_excludes_and_a_wildcard_matches(tmp_path):
    from iaclint.checks.services import make_arn

    arn = make_arn("aws", "logs", "eu-west-1", "111122223333", ("log-group:/app/api", True))
    need = _need("cloudwatch.amazonaws.com", ("kms:Encrypt*",), {"kms:encryptioncontext:aws:logs:arn": arn})
    condition = ', Condition = {{ ArnLike = {{ "kms:EncryptionContext:aws:logs:arn" = "{}" }} }}'
    other = condition.format("arn:aws:logs:eu-west-1:111122223333:log-group:/web/*")
    mine = condition.format("arn:aws:logs:*:111122223333:log-group:/app/*")
    assert _judge(tmp_path / "a", _statement("cloudwatch.amazonaws.com", '"kms:*"', other), need).state is False
    assert _judge(tmp_path / "b", _statement("cloudwatch.amazonaws.com", '"kms:*"', mine), need).state is True


def test_could_match_proves_only_what_known_parts_prove():
    from iaclint.checks.policy import HOLE, Partial
    from iaclint.checks.services import could_match, make_arn

    prefix = make_arn("aws", "logs", "eu-west-1", None, ("log-group:/app/", False))
    assert could_match(prefix, "arn:aws:logs:eu-west-1:111122223333:log-group:/web/*", "ArnLike") is False
    assert could_match(prefix, "arn:aws:logs:eu-west-1:111122223333:log-group:/app/*", "ArnLike") is None
    assert could_match(prefix, "arn:aws:logs:us-east-1:*", "StringLike") is False
    assert could_match(prefix, Partial(f"arn:aws:logs:{HOLE}:111122223333:*", frozenset()), "ArnLike") is None
    whole = make_arn("aws", "cloudtrail", "eu-west-1", "111122223333", ("trail/audit", True))
    assert could_match(whole, "arn:aws:cloudtrail:*:111122223333:trail/*", "StringLike") is True
    assert could_match(whole, "arn:aws:cloudtrail:*:111122223333:trail/[a]*", "StringLike") is False  # no classes
    assert could_match(whole, "arn:aws:cloudtrail:*:111122223333:trail/*", "ArnEquals") is True  # wildcards too
    assert could_match(whole, "arn:aws:cloudtrail:*:111122223333:trail/*", "StringEquals") is False


def test_the_regional_logs_principal_through_data_aws_region_of_the_same_provider(tmp_path):
    from iaclint.checks.policy import key_policy
    from iaclint.checks.relations import log_group_need
    from iaclint.checks.services import judge_use

    graph = graph_of(tmp_path, '''
data "aws_region" "current" {}
resource "aws_kms_key" "k" {
  policy = jsonencode({ Statement = [{ Effect = "Allow", Principal = { Service = "logs.${data.aws_region.current.name}.amazonaws.com" }, Action = "kms:*", Resource = "*" }] })
}
resource "aws_cloudwatch_log_group" "g" {
  name       = "/app/api"
  kms_key_id = aws_kms_key.k.arn
}
''')
    policy, _ = key_policy(graph.resource("aws_kms_key.k"), graph)
    assert judge_use(policy, log_group_need(graph.resource("aws_cloudwatch_log_group.g"), graph), graph).state is True


# ---- heredoc edits ---------------------------------------------------------------------------------------------


def test_a_one_line_heredoc_gets_a_compact_statement_and_a_directive_is_refused(tmp_path):
    from iaclint.fixes.policy import NewStatement, add_statements
    from iaclint.hcl.layout import LayoutError

    statement = NewStatement("AllowLogs", ["logs.eu-west-1.amazonaws.com"], ["kms:Decrypt"], principal_type="Service")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    graph = graph_of(tmp_path / "a", 'resource "aws_kms_key" "k" {\n  policy = <<EOF\n'
                                      '{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*", '
                                      '"Principal": {"AWS": "arn:aws:iam::111122223333:root"}}]}\nEOF\n}\n')
    edits, _ = add_statements(graph.resource("aws_kms_key.k"), "policy", [statement], graph)
    assert edits[0].replacement.startswith(', {"Sid": "AllowLogs"')
    graph = graph_of(tmp_path / "b", 'resource "aws_kms_key" "k" {\n  policy = <<EOF\n'
                                      '{"Statement": [%{ for s in var.s }${s},%{ endfor }]}\nEOF\n}\n')
    with pytest.raises(LayoutError):
        add_statements(graph.resource("aws_kms_key.k"), "policy", [statement], graph)


# ---- XRG001 and SNP001/BAK003's reasoning reach the new edges ---------------------------------------------------


def test_kms005_judges_keys_by_every_consumer_replicas_included(tmp_path):
    root = _module(tmp_path, '''
resource "aws_kms_key" "asym" {
  customer_master_key_spec = "RSA_2048"
}
resource "aws_dynamodb_table" "t" {
  name     = "t"
  hash_key = "id"
  attribute {
    name = "id"
    type = "S"
  }
  replica {
    region_name = "eu-central-1"
    kms_key_arn = aws_kms_key.asym.arn
  }
}
''')
    findings = [f for f in _findings(root, {"KMS005"})]
    assert [(f.address, f.verdict) for f in findings] == [("aws_kms_key.asym", Verdict.FAIL)]
    assert "aws_dynamodb_table.t.replica.kms_key_arn" in findings[0].message


def test_iaclint_rules_lists_the_relationship_rules_with_their_fix_kind():
    from typer.testing import CliRunner

    from iaclint.cli import app

    out = CliRunner().invoke(app, ["rules"]).output
    rows = {line.split()[0]: line.split()[3] for line in out.splitlines() if line[:6] in NEW_RULES}
    assert rows == {"SNS003": "safe/unsafe", "SQS003": "safe/unsafe", "LOG002": "safe", "CTR001": "safe/unsafe",
                    "S3B004": "safe", "S3B005": "suggestion", "S3B006": "safe/unsafe", "ASG001": "safe",
                    "KMS005": "-"}
    sns = out[out.index("\nSNS\n"):].split("\n\n", 1)[0]
    assert "SNS003" in sns
