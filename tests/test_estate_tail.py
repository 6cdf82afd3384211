"""The rest of the estate's tail: CodeBuild, Athena, Glue, API caches and the long-tail CMK rules, and the
foundation pieces they added (`when_absent` on any condition, conditions scoped to resource types, a fix at
the failing path, replacement notes with access notes, AWS owned key values)."""

from __future__ import annotations

import json

from iaclint.engine import conditions
from iaclint.model import Applicability, Verdict
from support import RULE_FIXTURES, run

from test_estate_foundation import _fix_with_rule, _rule, graph_of, judge


def _module(tmp_path, text, name="m"):
    root = tmp_path / name
    root.mkdir()
    (root / "main.tf").write_text(text)
    return root


def _findings(tmp_path, text, rule_id):
    """The rule's findings, with their fixes (as `iaclint check` makes them)."""
    from iaclint.engine.runner import RuleSelection
    from iaclint.run.pipeline import run_check
    from support import options

    opts = options()
    opts.selection = RuleSelection(select={rule_id})
    return [f for f in run_check([str(_module(tmp_path, text))], opts).report.findings if f.rule_id == rule_id]


# ---- conditions -------------------------------------------------------------------------------

MACHINES = '''
resource "aws_sfn_state_machine" "omitted" {
  name       = "omitted"
  role_arn   = "arn:aws:iam::111122223333:role/sfn"
  definition = "{}"
}

resource "aws_sfn_state_machine" "owned" {
  name       = "owned"
  role_arn   = "arn:aws:iam::111122223333:role/sfn"
  definition = "{}"
  encryption_configuration {
    type = "AWS_OWNED_KEY"
  }
}

resource "aws_glue_data_catalog_encryption_settings" "catalog" {
  data_catalog_encryption_settings {
    connection_password_encryption {
      return_connection_password_encrypted = true
    }
    encryption_at_rest {
      catalog_encryption_mode = "DISABLED"
    }
  }
}
'''


def test_when_absent_fails_an_omitted_argument_without_claiming_a_default(tmp_path):
    graph = graph_of(tmp_path, MACHINES)
    cond = {"attribute": "encryption_configuration.type", "equals": "CUSTOMER_MANAGED_KMS_KEY",
            "when_absent": "no key is named"}
    omitted = judge(graph, "aws_sfn_state_machine.omitted", cond)
    assert omitted.state is False
    assert omitted.reason == "encryption_configuration is not set, so no key is named"
    assert "default" not in omitted.reason
    assert judge(graph, "aws_sfn_state_machine.omitted", {"not": cond}).state is True
    # without when_absent (and without a default) an omitted argument stays unknown
    bare = {"attribute": "encryption_configuration.type", "equals": "CUSTOMER_MANAGED_KMS_KEY"}
    assert judge(graph, "aws_sfn_state_machine.omitted", bare).state is None
    assert judge(graph, "aws_sfn_state_machine.owned", cond).reason == 'encryption_configuration.type is "AWS_OWNED_KEY"'


def test_a_condition_scoped_to_resource_types_holds_for_the_others_and_says_nothing(tmp_path):
    graph = graph_of(tmp_path, MACHINES)
    scoped = {"resource_types": ["aws_glue_data_catalog_encryption_settings"],
              "condition": {"not": {"attribute": "data_catalog_encryption_settings.encryption_at_rest."
                                                 "catalog_encryption_mode", "equals": "DISABLED"}}}
    other = judge(graph, "aws_sfn_state_machine.owned", scoped)
    assert other.state is True and other.reason == ""
    catalog = judge(graph, "aws_glue_data_catalog_encryption_settings.catalog", scoped)
    assert catalog.state is False and catalog.reason.endswith('catalog_encryption_mode is "DISABLED"')
    both = {"all": [scoped, {"attribute": "name", "present": True}]}
    assert judge(graph, "aws_sfn_state_machine.owned", both).reason == "name is set"


def test_any_and_not_keep_the_place_of_the_argument_they_judge(tmp_path):
    graph = graph_of(tmp_path, MACHINES)
    outcome = judge(graph, "aws_glue_data_catalog_encryption_settings.catalog",
                    {"not": {"attribute": "data_catalog_encryption_settings.encryption_at_rest."
                                          "catalog_encryption_mode", "equals": "DISABLED"}})
    assert outcome.span is not None and graph.location(outcome.span).line == 23
    either = judge(graph, "aws_sfn_state_machine.owned",
                   {"any": [{"attribute": "encryption_configuration.type", "equals": "CUSTOMER_MANAGED_KMS_KEY"},
                            {"attribute": "name", "equals": "other"}]})
    assert either.state is False and graph.location(either.span).line == 13
    assert either.reason == 'encryption_configuration.type is "AWS_OWNED_KEY"; name is "owned"'


def test_aws_owned_key_values_are_not_customer_managed_keys():
    from iaclint.checks.keys import KeyKind, classify_key_text

    for text in ("AWS_OWNED_KMS_KEY", "AWS_OWNED_KEY"):
        key = classify_key_text(text)
        assert key.kind is KeyKind.AWS_MANAGED and "AWS owned key" in key.reason
    assert classify_key_text("aws_owned_kms_key").kind is KeyKind.UNKNOWN  # the values are exact


# ---- fixes --------------------------------------------------------------------------------------


def test_a_replacing_fix_says_the_replacement_first_then_who_needs_access(tmp_path):
    text = ('resource "aws_mwaa_environment" "etl" {\n  name = "etl"\n}\n')
    rule = _rule("TST020", "aws_mwaa_environment", "{attribute: kms_key, key: customer_managed}",
                 '{action: customer_managed_key, attribute: kms_key, service: airflow, replaces_resource: true, '
                 'unsafe_because: "the execution role needs the key"}')
    _, (finding,) = _fix_with_rule(tmp_path, text, rule, "TST020")
    assert finding.fix.applicability is Applicability.UNSAFE
    assert finding.fix.note.startswith("forces replacement of aws_mwaa_environment.etl: the environment is deleted")
    assert finding.fix.note.endswith("; the execution role needs the key")


def test_a_type_whose_replacement_is_unverified_may_be_replaced(tmp_path):
    text = ('resource "aws_bedrock_guardrail" "g" {\n  name = "g"\n}\n')
    rule = _rule("TST021", "aws_bedrock_guardrail", "{attribute: kms_key_arn, key: customer_managed}",
                 "{action: customer_managed_key, attribute: kms_key_arn, service: bedrock, replaces_resource: true}")
    _, (finding,) = _fix_with_rule(tmp_path, text, rule, "TST021")
    assert finding.fix.applicability is Applicability.UNSAFE
    assert finding.fix.note.startswith("may force replacement of aws_bedrock_guardrail.g (replacement behaviour "
                                       "unverified)")


def test_cbd001_fixes_the_block_that_turns_encryption_off_and_nothing_else(tmp_path):
    text = (RULE_FIXTURES / "CBD001" / "fail.tf").read_text()
    findings = _findings(tmp_path, text, "CBD001")
    logs = next(f for f in findings if f.address == "aws_codebuild_project.logs")
    assert logs.fix.title.startswith("set `logs_config.s3_logs.encryption_disabled = false`")
    assert all("artifacts" not in e.replacement for e in logs.fix.edits)
    assert "aws/s3" in logs.fix.note  # other accounts cannot read output encrypted with it


def test_new_keys_name_the_service_they_serve(tmp_path):
    text = 'resource "aws_sfn_state_machine" "m" {\n  name       = "m"\n  role_arn   = "r"\n  definition = "{}"\n}\n'
    (finding,) = _findings(tmp_path, text, "SFN001")
    edits = "".join(e.replacement for e in finding.fix.edits)
    assert '"kms:ViaService" = "states.*.amazonaws.com"' in edits
    assert 'type       = "CUSTOMER_MANAGED_KMS_KEY"' in edits


# ---- rules --------------------------------------------------------------------------------------


def test_athena_says_clients_may_override_a_workgroup_that_does_not_enforce_its_settings(tmp_path):
    from iaclint.checks.analytics import athena_result_encryption
    from iaclint.engine.results import CheckContext

    text = (RULE_FIXTURES / "ATH001" / "pass.tf").read_text()
    graph = graph_of(tmp_path, text)
    context = CheckContext(graph, None)
    passing = athena_result_encryption(graph.resource("aws_athena_workgroup.overridable_encrypted"), context)
    assert passing.verdict is Verdict.PASS and "clients may override the workgroup's settings" in passing.reason
    enforced = athena_result_encryption(graph.resource("aws_athena_workgroup.kms"), context)
    assert enforced.verdict is Verdict.PASS and "override" not in enforced.reason
    managed = athena_result_encryption(graph.resource("aws_athena_workgroup.managed"), context)
    assert managed.verdict is Verdict.PASS and managed.reason.startswith("not applicable")


def test_an_unknown_enforcement_says_clients_may_be_able_to_override(tmp_path):
    text = ('variable "enforce" {\n  type = bool\n}\n\nresource "aws_athena_workgroup" "w" {\n  name = "w"\n'
            '  configuration {\n    enforce_workgroup_configuration = var.enforce\n  }\n}\n')
    (finding,) = _findings(tmp_path, text, "ATH001")
    assert finding.verdict is Verdict.FAIL
    assert "clients may be able to override the workgroup's settings" in finding.message


def test_sagemaker_endpoint_configurations_on_local_storage_are_not_judged(tmp_path):
    findings = _findings(tmp_path, (RULE_FIXTURES / "SGM001" / "pass.tf").read_text()
                         .replace("kms_key_arn = aws_kms_key.sagemaker.arn", ""), "SGM001")
    assert [f.address for f in findings] == ["aws_sagemaker_endpoint_configuration.cpu"]


def test_a_bedrock_knowledge_base_is_judged_only_when_bedrock_keeps_its_vectors(tmp_path):
    text = (RULE_FIXTURES / "BDR001" / "pass.tf").read_text().replace(
        "      server_side_encryption_configuration {\n        kms_key_arn = aws_kms_key.bedrock.arn\n      }\n", "")
    findings = _findings(tmp_path, text, "BDR001")
    assert [f.address for f in findings] == ["aws_bedrockagent_knowledge_base.managed"]


def test_cmk_rules_claim_encryption_only_where_the_facts_say_so():
    """A default marked unverified in FACTS-3 must not be named in a message (issue 21)."""
    from iaclint.engine.rules import find_rule

    verified = {"QLD001", "DSQ001", "NPG001", "CBD002"}
    for rule_id in ("SFN001", "EVB001", "TSW001", "KSP001", "KVS001", "CAR001", "MWA001", "APR001", "SGM001",
                    "DMS001", "BDR001", "QLD001", "DSQ001", "NPG001", "CBD002"):
        rule = find_rule(rule_id)
        claims = "is encrypted" in rule.message
        assert claims == (rule_id in verified), rule_id
        text = json.dumps(rule.assertion)
        assert ("owned key" in text or "managed key" in text) == (rule_id in verified), rule_id


# ---- key arguments, plans, suppressions, listing -------------------------------------------------


def test_new_key_arguments_take_part_in_xrg001_and_kms003(tmp_path):
    text = '''
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
    Statement = [{ Effect = "Allow", Principal = { Service = "states.amazonaws.com" }, Action = "kms:Decrypt", Resource = "*" }]
  })
}

resource "aws_sfn_state_machine" "m" {
  name       = "m"
  role_arn   = "arn:aws:iam::111122223333:role/sfn"
  definition = "{}"
  encryption_configuration {
    type       = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id = aws_kms_key.us.arn
  }
}

resource "aws_qldb_ledger" "l" {
  name             = "l"
  permissions_mode = "STANDARD"
  kms_key          = "AWS_OWNED_KMS_KEY"
}
'''
    report = run([_module(tmp_path, text)], select={"XRG001", "KMS003"})
    by_rule = {(f.rule_id, f.address): f for f in report.findings}
    xrg = by_rule[("XRG001", "aws_sfn_state_machine.m")]
    assert xrg.verdict is Verdict.FAIL and "encryption_configuration.kms_key_id names aws_kms_key.us in us-east-1" \
        in xrg.message
    # KMS003 judges a key only by users whose service is known to create grants (GRANT_CONSUMERS): that Step
    # Functions does is not in the facts, so a key it alone uses gets no KMS003 verdict
    assert ("KMS003", "aws_kms_key.us") not in by_rule
    from iaclint.checks.policy import key_consumers
    from iaclint.graph.hcl import build_hcl_graph
    from iaclint.graph.inputs import collect_inputs
    root = tmp_path / "m"
    graph = build_hcl_graph(root, collect_inputs(root, environ={}))
    users = [f"{r.address}.{a}" for r, a in key_consumers(graph.resource("aws_kms_key.us"), graph)]
    assert "aws_sfn_state_machine.m.encryption_configuration.kms_key_id" in users
    assert ("XRG001", "aws_qldb_ledger.l") not in by_rule  # the AWS owned key lives in every Region


def test_a_plan_with_a_key_created_in_the_same_run_passes_and_an_unset_computed_key_fails():
    case = RULE_FIXTURES / "QLD001" / "plan_key_after_apply"
    report = run([case / "plan.json"], select={"QLD001"})
    assert [(f.address, f.verdict) for f in report.findings] == [("aws_qldb_ledger.default_key", Verdict.FAIL)]


def test_peer_ids_suppress_the_new_rules(tmp_path):
    text = ('#checkov:skip=CKV_AWS_78:artifacts are public on purpose\nresource "aws_codebuild_project" "p" {\n'
            '  name = "p"\n  artifacts {\n    type                = "S3"\n    encryption_disabled = true\n  }\n}\n')
    (finding,) = _findings(tmp_path, text, "CBD001")
    assert finding.suppression is not None and finding.suppression.kind == "checkov"


def test_iaclint_rules_groups_the_new_rules_by_service():
    from typer.testing import CliRunner

    from iaclint.cli import app

    out = CliRunner().invoke(app, ["rules"]).output
    for service, rule_id in (("Step Functions", "SFN001"), ("SageMaker", "SGM001"), ("CodeBuild", "CBD002"),
                             ("Aurora DSQL", "DSQ001"), ("Glue", "GLU001")):
        assert service in out
        after = out[out.index(service):]
        assert rule_id in after.split("\n\n")[0], service
