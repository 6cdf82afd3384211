"""Terraform's language as Terraform reads it: override files, JSON syntax, OpenTofu files, workspaces.

The rule fixtures hold the cases that `# expect:` annotations can describe (fixtures/rules/EBS001/
fail_override_variable, EC2001/fail_override_nested_block, SQS002/fail_opentofu, SQS002/
fail_unknown_condition, EBS001/fail_workspace_environment); these tests check what the annotations cannot:
findings in JSON, origins, notices, and the same tree read another way giving another verdict.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from iaclint.model import Verdict
from support import FIXTURES, RULE_FIXTURES, run

LANGUAGE = FIXTURES / "language"


def _verdicts(report, rule_id: str) -> dict[str, str]:
    return {f.address: f.verdict.value for f in report.findings if f.rule_id == rule_id}


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / source.name
    shutil.copytree(source, target)
    return target


# ---- JSON ------------------------------------------------------------------------------------------


def test_json_nested_blocks_as_object_and_array_are_read_and_located_at_their_key():
    root = LANGUAGE / "json_blocks"
    report = run([root], select={"DYN001", "RSH001"})
    assert _verdicts(report, "DYN001") == {"aws_dynamodb_table.as_array": "fail"}  # as_object names its key
    [table] = [f for f in report.findings if f.rule_id == "DYN001"]
    lines = (root / "main.tf.json").read_text().splitlines()
    assert lines[table.location.line - 1].strip().startswith('"server_side_encryption"')
    assert "kms_key_arn is not set" in table.message  # the "//" property of the block is not an argument
    # the JSON terraform block pins provider v5, where a Redshift cluster is not encrypted by default
    [cluster] = [f for f in report.findings if f.rule_id == "RSH001"]
    assert cluster.verdict is Verdict.FAIL and "AWS provider v5 and earlier" in cluster.message
    assert lines[cluster.location.line - 1].strip().startswith('"warehouse"')
    assert not [f for f in report.findings if f.rule_id == "PARSE"]


# ---- override files --------------------------------------------------------------------------------


def test_locals_are_overridden_one_by_one_and_the_origin_is_the_override_file():
    root = LANGUAGE / "override_locals_and_terraform"
    report = run([root], select={"SQS002", "RSH001"})
    [queue] = [f for f in report.findings if f.rule_id == "SQS002"]
    assert queue.verdict is Verdict.FAIL and '"alias/aws/sqs"' in queue.message
    origin = queue.origin_info()
    assert origin is not None and Path(origin["file"]).name == "override.tf", origin
    # the JSON override of required_providers wins over versions.tf: provider v6 encrypts Redshift by default
    assert _verdicts(report, "RSH001") == {}


def test_without_the_override_the_same_tree_passes(tmp_path):
    root = _copy(LANGUAGE / "override_locals_and_terraform", tmp_path)
    (root / "override.tf").unlink()
    (root / "versions_override.tf.json").unlink()
    report = run([root], select={"SQS002", "RSH001"})
    assert _verdicts(report, "SQS002") == {}
    assert _verdicts(report, "RSH001") == {"aws_redshift_cluster.warehouse": "fail"}


def test_an_override_variable_default_is_the_origin():
    """(the fix editing override.tf is fail_override_variable.fixed, checked byte for byte by test_catalogue)"""
    root = RULE_FIXTURES / "EBS001" / "fail_override_variable"
    [finding] = run([root], select={"EBS001"}).findings
    assert finding.verdict is Verdict.FAIL and Path(finding.location.file).name == "main.tf"
    assert Path(finding.origin_info()["file"]).name == "override.tf"


def test_a_nested_block_in_an_override_replaces_every_block_of_its_type(tmp_path):
    root = _copy(RULE_FIXTURES / "EC2001" / "fail_override_nested_block", tmp_path)
    [finding] = run([root], select={"EC2001"}).findings
    assert Path(finding.location.file).name == "web_override.tf"
    (root / "web_override.tf").unlink()
    assert run([root], select={"EC2001"}).findings == []  # main.tf alone is encrypted



def test_a_nested_block_in_a_json_override_of_a_native_block_replaces_its_blocks(tmp_path):
    """In a .tf.json override an object is a nested block when the schema says so: it replaces the native
    file's blocks of that type (found by terraform as the oracle: the merged block had none)."""
    root = _copy(RULE_FIXTURES / "EC2001" / "fail_override_nested_block", tmp_path)
    (root / "web_override.tf").unlink()
    (root / "web_override.tf.json").write_text(
        '{"resource": {"aws_instance": {"web": {"root_block_device": {"volume_size": 50}}}}}\n')
    [finding] = run([root], select={"EC2001"}).findings
    assert finding.verdict is Verdict.FAIL and Path(finding.location.file).name == "web_override.tf.json"
    (root / "web_override.tf.json").write_text(
        '{"resource": {"aws_instance": {"web": {"root_block_device": [{"volume_size": 50, "encrypted": true}]}}}}\n')
    assert run([root], select={"EC2001"}).findings == []


# ---- OpenTofu --------------------------------------------------------------------------------------


def test_opentofu_is_detected_from_its_lock_file_and_main_tofu_replaces_main_tf():
    root = RULE_FIXTURES / "SQS002" / "fail_opentofu"
    report = run([root], select={"SQS002"})
    assert _verdicts(report, "SQS002") == {"aws_sqs_queue.orders": "fail"}
    assert any("read as OpenTofu" in n and "registry.opentofu.org" in n for n in report.notices), report.notices
    # read as Terraform reads it, main.tofu is ignored: the queue would pass (the wrong verdict under OpenTofu)
    as_terraform = run([root], select={"SQS002"}, opentofu=False)
    assert _verdicts(as_terraform, "SQS002") == {}


def test_without_a_sign_of_opentofu_tofu_files_are_ignored_with_a_notice(tmp_path):
    root = _copy(RULE_FIXTURES / "SQS002" / "fail_opentofu", tmp_path)
    (root / ".terraform.lock.hcl").unlink()
    report = run([root], select={"SQS002"})
    assert _verdicts(report, "SQS002") == {}
    assert any("ignores OpenTofu's files (main.tofu)" in n for n in report.notices), report.notices
    assert _verdicts(run([root], select={"SQS002"}, opentofu=True), "SQS002") == {"aws_sqs_queue.orders": "fail"}


def test_a_directory_of_only_tofu_files_is_checked_and_fixed(tmp_path):
    root = _copy(LANGUAGE / "tofu_only", tmp_path)
    report = run([root], select={"SQS001"})
    [finding] = report.findings
    assert finding.verdict is Verdict.FAIL and Path(finding.location.file).name == "main.tofu"
    assert any("only OpenTofu files" in n for n in report.notices)
    from iaclint.engine.runner import RuleSelection
    from iaclint.run.fix import run_fix
    from support import options

    opts = options()
    opts.selection = RuleSelection(select={"SQS001"})
    assert run_fix([str(root)], opts, unsafe=True, write=True).applied
    assert "sqs_managed_sse_enabled = true" in (root / "main.tofu").read_text()
    assert run([root], select={"SQS001"}).findings == []


# ---- workspaces ------------------------------------------------------------------------------------


@pytest.mark.parametrize("environ,chosen,verdict,source", [
    ({}, None, "fail", ".terraform/environment"),  # `terraform workspace select staging`
    ({"TF_WORKSPACE": "default"}, None, None, None),  # TF_WORKSPACE wins over the file
    ({"TF_WORKSPACE": "default"}, "staging", "fail", "--workspace"),  # and --workspace over both
])
def test_the_workspace_comes_from_workspace_flag_tf_workspace_then_terraform_environment(environ, chosen, verdict,
                                                                                          source):
    root = RULE_FIXTURES / "EBS001" / "fail_workspace_environment"
    report = run([root], select={"EBS001"}, environ=environ, workspace=chosen)
    findings = [f for f in report.findings if f.rule_id == "EBS001"]
    if verdict is None:
        assert findings == []
        assert any('workspace "default" (TF_WORKSPACE)' in n for n in report.notices), report.notices
        return
    [finding] = findings
    assert finding.verdict.value == verdict
    assumed = finding.message.split('assuming workspace "staging" (', 1)[1].split(")", 1)[0]
    assert assumed.endswith(source), finding.message


def test_roots_of_only_tofu_files_below_the_scanned_directory_are_found(tmp_path):
    """An OpenTofu repository with its roots in envs/*: a directory of .tofu files is configuration."""
    for env in ("dev", "prod"):
        shutil.copytree(LANGUAGE / "tofu_only", tmp_path / "envs" / env)
    report = run([tmp_path], select={"SQS001"})
    assert sorted(Path(f.location.file).parent.name for f in report.findings) == ["dev", "prod"]
