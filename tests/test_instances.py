"""The instances of one block (count, for_each) are judged one by one: what is worked out once for a block or
kept between rules (argument nodes, the provider, each resource's encryption) never hands one instance's
verdict to another, nor hides a choice or the workspace from a rule that reads it."""

from __future__ import annotations

from iaclint.fixes.builder import attach_fixes
from iaclint.model import Verdict
from tests.support import run

KEY = 'resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n}\n'


def _verdicts(report, rule_id: str) -> dict[str, tuple[Verdict, str]]:
    return {f.address: (f.verdict, f.message) for f in report.findings if f.rule_id == rule_id}


def test_for_each_instances_whose_flag_differs_get_their_own_verdicts(tmp_path):
    (tmp_path / "main.tf").write_text(KEY + (
        'resource "aws_ebs_volume" "v" {\n'
        '  for_each          = { a = true, b = false, c = true, d = false }\n'
        '  availability_zone = "eu-west-1a"\n'
        '  encrypted         = each.value\n'
        '  kms_key_id        = each.key == "c" ? aws_kms_key.k.arn : null\n'
        '}\n'))
    report = run([tmp_path], select={"EBS001", "EBS002", "RDS004"})
    ebs001 = _verdicts(report, "EBS001")
    assert sorted(ebs001) == ['aws_ebs_volume.v["b"]', 'aws_ebs_volume.v["d"]']
    assert all(verdict is Verdict.FAIL and "encrypted is false" in message for verdict, message in ebs001.values())
    # EBS002 asks the same question of each volume (is it encrypted?) and then judges its own key: only the
    # encrypted volume without a customer managed key fails; the unencrypted ones are EBS001's
    assert sorted(_verdicts(report, "EBS002")) == ['aws_ebs_volume.v["a"]']
    assert _verdicts(report, "RDS004") == {}  # the one volume with a key is encrypted


def test_count_instances_whose_flag_differs_get_their_own_verdicts(tmp_path):
    (tmp_path / "main.tf").write_text(KEY + (
        'resource "aws_ebs_volume" "v" {\n'
        '  count             = 3\n'
        '  availability_zone = "eu-west-1a"\n'
        '  encrypted         = count.index == 1\n'
        '  kms_key_id        = aws_kms_key.k.arn\n'
        '}\n'))
    report = run([tmp_path], select={"EBS001", "EBS002", "RDS004"})
    assert sorted(_verdicts(report, "EBS001")) == ["aws_ebs_volume.v[0]", "aws_ebs_volume.v[2]"]
    assert sorted(_verdicts(report, "RDS004")) == ["aws_ebs_volume.v[0]", "aws_ebs_volume.v[2]"]
    assert _verdicts(report, "EBS002") == {}  # v[1] is encrypted with the customer managed key


def test_each_instance_is_found_at_its_block_with_its_own_fix_title(tmp_path):
    (tmp_path / "main.tf").write_text(
        'resource "aws_ebs_volume" "v" {\n'
        '  for_each          = toset(["x", "y"])\n'
        '  availability_zone = "eu-west-1a"\n'
        '  encrypted         = each.key == "z"\n'
        '}\n')
    report = run([tmp_path], select={"EBS001"})
    attach_fixes(report.findings)
    findings = sorted(report.findings, key=lambda f: f.address)
    assert [f.address for f in findings] == ['aws_ebs_volume.v["x"]', 'aws_ebs_volume.v["y"]']
    assert {f.location.line for f in findings} == {4}
    assert [f.fix.title.split(" (")[0] for f in findings] == [
        'replace aws_ebs_volume.v["x"].encrypted with `true`', 'replace aws_ebs_volume.v["y"].encrypted with `true`']
    assert findings[0].fix.diff == findings[1].fix.diff != ""
    assert findings[0].fingerprint != findings[1].fingerprint


def test_a_flag_chosen_by_an_unknown_condition_is_judged_on_each_choice_by_every_rule(tmp_path):
    # EBS001 and EBS002 both ask whether the volume is encrypted: the answer reads a choice, so it is not kept
    # between them, and each rule is applied to each alternative (a kept answer would hide the choice from the
    # second rule, which would then judge a plain unknown)
    (tmp_path / "main.tf").write_text(
        'variable "on" {\n  type = bool\n}\n'
        'resource "aws_ebs_volume" "v" {\n'
        '  availability_zone = "eu-west-1a"\n'
        '  encrypted         = var.on ? true : false\n'
        '}\n')
    report = run([tmp_path], select={"EBS001", "EBS002"})
    for rule_id in ("EBS001", "EBS002"):
        (verdict, message), = _verdicts(report, rule_id).values()
        assert verdict is Verdict.UNKNOWN
        assert message.count("encrypted depends on a condition that is unknown (variable \"on\" has no default") == 1
        assert "one way it " in message and "; another way it " in message, message


def test_an_answer_that_read_the_workspace_says_so_for_every_rule(tmp_path):
    # EBS001 passes and EBS002 fails on the volume, both because of the workspace assumed: each says so
    (tmp_path / "main.tf").write_text(
        'resource "aws_ebs_volume" "v" {\n'
        '  availability_zone = "eu-west-1a"\n'
        '  encrypted         = terraform.workspace == "default"\n'
        '}\n')
    report = run([tmp_path], select={"EBS001", "EBS002"})
    (verdict, message), = _verdicts(report, "EBS002").values()
    assert verdict is Verdict.FAIL and "(assuming workspace \"default\"" in message, message
    assert _verdicts(report, "EBS001") == {}


def test_a_nested_block_written_for_some_instances_only_is_read_per_instance(tmp_path):
    # RDS004 lets a point-in-time restore apply its key: the dynamic block exists for "b" only (checked after "a")
    (tmp_path / "main.tf").write_text(KEY + (
        'resource "aws_db_instance" "db" {\n'
        '  for_each          = toset(["a", "b"])\n'
        '  instance_class    = "db.t3.micro"\n'
        '  kms_key_id        = aws_kms_key.k.arn\n'
        '  storage_encrypted = false\n'
        '  dynamic "restore_to_point_in_time" {\n'
        '    for_each = each.key == "b" ? [1] : []\n'
        '    content {\n'
        '      source_db_instance_identifier = "source"\n'
        '    }\n'
        '  }\n'
        '}\n'))
    report = run([tmp_path], select={"RDS004"})
    assert sorted(_verdicts(report, "RDS004")) == ['aws_db_instance.db["a"]']
