"""Estate rules beyond their fixtures: reasons that passing verdicts give, per-finding severity, fix limits."""

from __future__ import annotations

from iaclint.engine.results import CheckContext
from iaclint.model import Severity, Verdict
from support import run
from test_estate_foundation import graph_of


def _check(graph, rule_id, address):
    from iaclint.engine.rules import find_rule

    rule = find_rule(rule_id)
    return rule.evaluate(graph.resource(address), CheckContext(graph, rule))


def _module(tmp_path, text):
    root = tmp_path / "m"
    root.mkdir(exist_ok=True)
    (root / "main.tf").write_text(text)
    return root


DIRECTORY = '''
resource "aws_s3_directory_bucket" "express" {
  bucket = "example--euw1-az1--x-s3"
  location {
    name = "euw1-az1"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "express" {
  bucket = aws_s3_directory_bucket.express.bucket
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

resource "aws_s3_bucket" "general" {
  bucket = "example-general"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "general" {
  bucket = aws_s3_bucket.general.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}
'''


def test_a_directory_bucket_on_the_aws_managed_key_is_high_and_says_the_apply_fails(tmp_path):
    report = run([_module(tmp_path, DIRECTORY)], select={"S3B002"})
    by_address = {f.address: f for f in report.findings}
    directory = by_address["aws_s3_directory_bucket.express"]
    assert directory.severity is Severity.HIGH and "the apply fails" in directory.message
    general = by_address["aws_s3_bucket.general"]
    assert general.severity is Severity.LOW and general.message.startswith(
        "S3 bucket is encrypted with SSE-KMS, but not with a customer managed key: the bucket is encrypted")


def test_a_severity_setting_still_wins_over_a_checks_own(tmp_path):
    from iaclint.engine.runner import RuleSelection
    from iaclint.run.lint import lint
    from support import options

    opts = options()
    opts.selection = RuleSelection(select={"S3B002"}, severity={"S3B002": Severity.MEDIUM})
    report = lint([str(_module(tmp_path, DIRECTORY))], opts).report
    assert {f.severity for f in report.findings} == {Severity.MEDIUM}


def test_an_alb_log_bucket_passes_with_the_reason(tmp_path):
    graph = graph_of(tmp_path, '''
resource "aws_s3_bucket" "logs" {
  bucket = "example-logs"
}

resource "aws_lb" "web" {
  name = "web"
  access_logs {
    bucket  = aws_s3_bucket.logs.bucket
    enabled = true
  }
}

resource "aws_lb" "internal" {
  name               = "internal"
  load_balancer_type = "network"
  access_logs {
    bucket  = aws_s3_bucket.nlb_logs.id
    enabled = true
  }
}

resource "aws_s3_bucket" "nlb_logs" {
  bucket = "example-nlb-logs"
}
''')
    result = _check(graph, "S3B001", "aws_s3_bucket.logs")
    assert result.verdict is Verdict.PASS
    assert "access logs of aws_lb.web" in result.reason and "supports SSE-S3 only" in result.reason
    assert _check(graph, "S3B001", "aws_s3_bucket.nlb_logs").verdict is Verdict.FAIL  # NLB logs: not exempted


def test_a_secret_finding_names_every_failing_replica_region(tmp_path):
    graph = graph_of(tmp_path, '''
resource "aws_secretsmanager_secret" "s" {
  name = "s"
  replica {
    region = "eu-central-1"
  }
  replica {
    region     = "us-east-1"
    kms_key_id = "alias/aws/secretsmanager"
  }
}
''')
    result = _check(graph, "SEC001", "aws_secretsmanager_secret.s")
    assert result.verdict is Verdict.FAIL
    assert "kms_key_id is not set, so the AWS managed key aws/secretsmanager is used" in result.reason
    assert '"eu-central-1"' in result.reason and '"us-east-1"' in result.reason
    assert not result.fixable  # the replicas need keys of their own Regions


def test_a_bucket_made_by_a_module_gets_no_new_configuration_in_the_module(tmp_path):
    root = tmp_path / "root"
    (root / "bucket").mkdir(parents=True)
    (root / "bucket" / "main.tf").write_text('variable "name" {}\n\nresource "aws_s3_bucket" "this" {\n'
                                             '  bucket = var.name\n}\n')
    (root / "main.tf").write_text('module "a" {\n  source = "./bucket"\n  name   = "a"\n}\n')
    from test_fixes import findings

    (finding,) = findings(root, ["S3B001"])
    assert finding.fix is None and "give the module its encryption setting" in finding.no_fix_reason


def test_an_sqs_queue_with_nothing_set_passes_sqs001_and_fails_sqs002(tmp_path):
    report = run([_module(tmp_path, 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n')], select={"SQS001", "SQS002"})
    assert [(f.rule_id, f.verdict) for f in report.findings] == [("SQS002", Verdict.FAIL)]
    assert "encrypted with SSE-SQS" in report.findings[0].message


def test_an_unknown_gate_says_cannot_tell_once(tmp_path):
    """A queue whose key comes from a module that was not downloaded, and whose SSE-SQS flag depends on it:
    SQS002's gate cannot be decided, and the message says so without repeating "cannot tell"."""
    root = _module(tmp_path, '''
module "keys" {
  source = "example-org/keys/aws"
}

resource "aws_sqs_queue" "orders" {
  name                    = "orders"
  kms_master_key_id       = module.keys.key_id
  sqs_managed_sse_enabled = module.keys.key_id != null ? false : true
}
''')
    report = run([root], select={"SQS002"})
    [finding] = report.findings
    assert finding.verdict is Verdict.UNKNOWN
    assert "cannot tell whether this applies" in finding.message
    assert "cannot tell, cannot tell" not in finding.message


def test_a_key_picked_by_an_unknown_condition_is_judged_on_every_branch(tmp_path):
    """`var.x ? a : b` with no value for var.x: customer managed only when both branches are, AWS managed
    when both are, unknown (with both branches named) otherwise."""
    from iaclint.checks.keys import KeyKind, classify_key

    graph = graph_of(tmp_path, '''
variable "pick" {
  type = bool
}

resource "aws_kms_key" "a" {}

resource "aws_kms_key" "b" {}

resource "aws_sqs_queue" "mixed" {
  kms_master_key_id = var.pick ? aws_kms_key.a.arn : "alias/aws/sqs"
}

resource "aws_sqs_queue" "both_customer" {
  kms_master_key_id = var.pick ? aws_kms_key.a.arn : aws_kms_key.b.arn
}

resource "aws_sqs_queue" "both_aws" {
  kms_master_key_id = var.pick ? "alias/aws/sqs" : "arn:aws:kms:eu-west-1:111122223333:alias/aws/sqs"
}

resource "aws_sqs_queue" "maybe_none" {
  kms_master_key_id = var.pick ? aws_kms_key.a.arn : null
}
''')

    def kind(address):
        return classify_key(graph.resource(address).attr("kms_master_key_id"), graph)

    mixed = kind("aws_sqs_queue.mixed")
    assert mixed.kind is KeyKind.UNKNOWN
    assert "aws_kms_key.a" in mixed.reason and "alias/aws/sqs" in mixed.reason
    both = kind("aws_sqs_queue.both_customer")
    assert both.kind is KeyKind.CUSTOMER_MANAGED and both.key_resource is None  # two different keys
    assert kind("aws_sqs_queue.both_aws").kind is KeyKind.AWS_MANAGED
    assert kind("aws_sqs_queue.maybe_none").kind is KeyKind.UNKNOWN
