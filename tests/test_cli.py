"""The command line as users meet it: exit codes, messages for bad input, output formats."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from iaclint.schemas import schema
from support import FIXTURES, ROOT

DEMO = FIXTURES / "demo"


def iaclint(*args: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_VAR_")}
    return subprocess.run([sys.executable, "-m", "iaclint", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, input=stdin, timeout=120)


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr


def test_demo_fails_with_findings_and_summary():
    proc = iaclint("check", "fixtures/demo")
    assert proc.returncode == 1
    assert "fixtures/demo/main.tf:51:3: NEP001 [high]" in proc.stdout
    assert 'from variable "analytics_encrypted" default (fixtures/demo/variables.tf:15)' in proc.stdout
    assert "failing" in proc.stdout.splitlines()[-1]


def test_demo_tells_the_sharing_and_cross_account_backup_story():
    """Seeds 002 and 004: each relationship rule fails on the resource that starts the story."""
    report = json.loads(iaclint("check", "fixtures/demo", "--format", "json").stdout)
    by_rule = {f["rule_id"]: f for f in report["findings"] if f["file"] == "fixtures/demo/sharing.tf"}
    assert by_rule["SNP001"]["address"] == "aws_db_snapshot.billing_for_reporting"
    assert by_rule["SNP002"]["address"] == "aws_db_snapshot_copy.billing_for_reporting"
    assert by_rule["SNP002"]["fix"]["applicability"] == "safe"
    assert "aws_neptune_cluster.analytics" in by_rule["BAK002"]["message"]
    assert "aws_db_instance.billing" in by_rule["BAK003"]["message"]
    assert "777788889999" in by_rule["BAK003"]["message"]
    assert any("aws_neptune_cluster.analytics" in r["message"] for r in by_rule["BAK002"]["related"])


def test_demo_tells_the_alarm_that_never_pages_anyone():
    """The alarm publishes to a topic on alias/aws/sns (looked up by data "aws_kms_alias"): SNS003 reports it on
    the topic, once; SNS002 (the same key, low) stays quiet; the fix gives the topic a key CloudWatch may use."""
    report = json.loads(iaclint("check", "fixtures/demo", "--format", "json").stdout)
    alerting = [f for f in report["findings"] if f["file"] == "fixtures/demo/alerting.tf"]
    assert [(f["rule_id"], f["address"], f["severity"]) for f in alerting] == [
        ("SNS003", "aws_sns_topic.alerts", "high")]
    assert "aws_cloudwatch_metric_alarm.graph_cpu: alarm_actions, ok_actions" in alerting[0]["message"]
    assert "data.aws_kms_alias.sns" in alerting[0]["message"]
    assert alerting[0]["fix"]["applicability"] == "unsafe"
    assert any(r["file"] == "fixtures/demo/alerting.tf" and "publishes here" in r["message"]
               for r in alerting[0]["related"])


def test_json_report_validates_against_the_shipped_schema():
    proc = iaclint("check", "fixtures/demo", "--format", "json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    jsonschema.validate(report, schema("report.schema.json"))
    assert report["tool"]["name"] == "iaclint"
    nep001 = next(f for f in report["findings"] if f["rule_id"] == "NEP001")
    assert nep001["origin"]["kind"] == "variable_default"
    assert nep001["origin"]["file"] == "fixtures/demo/variables.tf"
    assert nep001["address"] == "aws_neptune_cluster.analytics"
    assert nep001["suppression"] is None


def test_severity_threshold_and_exit_code(tmp_path):
    (tmp_path / "main.tf").write_text('resource "aws_kms_key" "k" {}\n')  # KMS001 is medium
    assert iaclint("check", str(tmp_path)).returncode == 1
    assert iaclint("check", str(tmp_path), "--severity-threshold", "high").returncode == 0
    bad = iaclint("check", str(tmp_path), "--severity-threshold", "urgent")
    assert bad.returncode == 2 and "unknown severity" in bad.stderr


def test_unknown_verdicts_fail_only_when_asked(tmp_path):
    (tmp_path / "main.tf").write_text(
        'variable "enc" {\n  type = bool\n}\nresource "aws_neptune_cluster" "c" {\n'
        '  storage_encrypted = var.enc\n  kms_key_arn       = "alias/graph"\n}\n')
    proc = iaclint("check", str(tmp_path))
    assert proc.returncode == 0
    assert "unknown:" in proc.stdout and 'variable "enc" has no default' in proc.stdout
    assert iaclint("check", str(tmp_path), "--fail-on-unknown").returncode == 1
    assert iaclint("check", str(tmp_path), "--var", "enc=true").returncode == 0
    assert "NEP001" not in iaclint("check", str(tmp_path), "--var", "enc=true").stdout


def test_var_file_option(tmp_path):
    (tmp_path / "main.tf").write_text(
        'variable "enc" {\n  type = bool\n}\nresource "aws_neptune_cluster" "c" {\n'
        '  storage_encrypted = var.enc\n  kms_key_arn       = "alias/graph"\n}\n')
    (tmp_path / "prod.tfvars").write_text("enc = false\n")
    proc = iaclint("check", str(tmp_path), "--var-file", str(tmp_path / "prod.tfvars"))
    assert proc.returncode == 1 and "prod.tfvars" in proc.stdout
    missing = iaclint("check", str(tmp_path), "--var-file", "nope.tfvars")
    assert missing.returncode == 2 and "nope.tfvars" in missing.stderr


def test_malformed_hcl_is_a_parse_finding_and_other_files_are_still_checked(tmp_path):
    (tmp_path / "broken.tf").write_text('resource "aws_kms_key" "k" {\n  description = \n}\n')
    (tmp_path / "good.tf").write_text('resource "aws_backup_vault" "v" {\n  name = "v"\n}\n')
    proc = iaclint("check", str(tmp_path))
    assert_no_traceback(proc)
    assert proc.returncode == 1
    assert "broken.tf:3:1: PARSE [high]" in proc.stdout
    assert "BAK001" in proc.stdout  # the good file was checked


def test_binary_file_named_tf(tmp_path):
    (tmp_path / "image.tf").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    proc = iaclint("check", str(tmp_path))
    assert_no_traceback(proc)
    assert proc.returncode == 1
    assert "image.tf:1:1: PARSE" in proc.stdout and "binary" in proc.stdout


def test_invalid_utf8_names_the_line(tmp_path):
    (tmp_path / "latin1.tf").write_bytes(b'# ok\n# caf\xe9\n')
    proc = iaclint("check", str(tmp_path))
    assert "latin1.tf:2:6: PARSE" in proc.stdout and "UTF-8" in proc.stdout


def test_empty_file_is_fine(tmp_path):
    (tmp_path / "empty.tf").write_text("")
    proc = iaclint("check", str(tmp_path / "empty.tf"))
    assert_no_traceback(proc)
    assert proc.returncode == 0
    assert "0 failing, 0 unknown in 1 file checked" in proc.stdout


def test_directory_without_terraform_files_is_an_error_not_a_pass(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "main.tf").write_text('resource "aws_kms_key" "k" {}\n')
    proc = iaclint("check", str(tmp_path / "empty"), str(tmp_path / "good"))
    assert proc.returncode == 2
    assert "no Terraform configuration files" in proc.stderr and "KMS001" in proc.stdout


def test_missing_path_is_a_usage_error():
    proc = iaclint("check", "does/not/exist")
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "does/not/exist: no such file or directory" in proc.stderr


def test_non_terraform_file_is_a_usage_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    proc = iaclint("check", str(tmp_path / "notes.txt"))
    assert proc.returncode == 2 and "not a directory, a .tf" in proc.stderr


def test_file_path_loads_the_module_but_reports_only_that_file(tmp_path):
    (tmp_path / "variables.tf").write_text('variable "enc" {\n  default = true\n}\n')
    (tmp_path / "graph.tf").write_text(
        'resource "aws_neptune_cluster" "c" {\n  storage_encrypted = var.enc\n  kms_key_arn       = "alias/graph"\n}\n')
    (tmp_path / "keys.tf").write_text('resource "aws_kms_key" "k" {}\n')
    proc = iaclint("check", str(tmp_path / "graph.tf"))
    assert proc.returncode == 0, proc.stdout  # var.enc resolved from the sibling file; KMS001 is elsewhere
    assert "KMS001" not in proc.stdout
    assert iaclint("check", str(tmp_path / "keys.tf")).returncode == 1


def test_tfvars_path_reports_findings_it_causes(tmp_path):
    (tmp_path / "main.tf").write_text(
        'variable "enc" {\n  default = true\n}\nresource "aws_neptune_cluster" "c" {\n'
        '  storage_encrypted = var.enc\n  kms_key_arn       = "alias/graph"\n}\n')
    (tmp_path / "terraform.tfvars").write_text("enc = false\n")
    proc = iaclint("check", str(tmp_path / "terraform.tfvars"))
    assert proc.returncode == 1 and "NEP001" in proc.stdout


def test_rules_and_explain():
    listing = iaclint("rules")
    assert listing.returncode == 0
    for rule_id in ("NEP001", "NEP002", "NEP003", "NEP004", "ECH001", "ECH002", "ECH003", "BAK001", "KMS001"):
        assert rule_id in listing.stdout
    explained = iaclint("explain", "neptune-snapshot-encrypted")
    assert explained.returncode == 0
    assert "NEP003" in explained.stdout and "Failing example" in explained.stdout and "read-only" in explained.stdout
    assert iaclint("explain", "NOPE01").returncode == 2


@pytest.mark.parametrize("args", [["check", "--format", "yaml", "."], ["check", "--select", "XYZ999", "."]])
def test_usage_errors_exit_2(args):
    proc = iaclint(*args)
    assert_no_traceback(proc)
    assert proc.returncode == 2


def test_select_and_ignore():
    only = iaclint("check", "fixtures/demo", "--select", "KMS001", "--format", "json")
    ids = {f["rule_id"] for f in json.loads(only.stdout)["findings"]}
    assert ids == {"KMS001"}
    rest = iaclint("check", "fixtures/demo", "--ignore", "KMS001,neptune-cluster-cmk", "--format", "json")
    ids = {f["rule_id"] for f in json.loads(rest.stdout)["findings"]}
    assert "KMS001" not in ids and "NEP002" not in ids and "NEP001" in ids


@pytest.mark.parametrize("command", [[], ["check"], ["fix"], ["rules"], ["explain"]])
def test_help_names_every_value_meaningfully(command):
    """Every option and argument shows what it takes (FILE, RULE, LEVEL...), never a type name."""
    shown = iaclint(*command, "--help")
    assert shown.returncode == 0, shown.stderr
    for generic in ("<str>", "<int", "TEXT", "INTEGER", "<path>", "[paths]", "{rule}"):
        assert generic not in shown.stdout, (command, generic)
    if command == ["check"]:
        for metavar in ("--format FORMAT[:FILE]", "--var-file FILE", "--var NAME=VALUE", "--severity-threshold LEVEL",
                        "--select RULE", "--ignore RULE", "--config-dir DIR", "--baseline FILE", "--config FILE",
                        "--rules-dir DIR", "--skip-path GLOB", "--base REF", "--jobs N", "[PATH]..."):
            assert metavar in shown.stdout, metavar


def test_shell_completion_scripts_and_completions(tmp_path):
    script = iaclint("--show-completion", "bash")
    assert script.returncode == 0 and "_IACLINT_COMPLETE=complete_bash" in script.stdout
    assert "--install-completion" in iaclint("--help").stdout

    def complete(*words: str) -> list[str]:
        env = dict(os.environ, _IACLINT_COMPLETE="complete_bash", COMP_WORDS=" ".join(["iaclint", *words]),
                   COMP_CWORD=str(len(words)))
        proc = subprocess.run([sys.executable, "-m", "iaclint"], env=env, capture_output=True, text=True, timeout=60,
                              cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("ch") == ["check"]
    assert complete("explain", "NEP00") == ["NEP001", "NEP002", "NEP003", "NEP004"]
    assert "neptune-snapshot-encrypted" in complete("check", "--select", "neptune-s")
    assert complete("check", "--rules-d") == ["--rules-dir"]


def test_counts_are_said_in_the_right_number(tmp_path):
    (tmp_path / "main.tf").write_text('resource "aws_kms_key" "logs" {\n  description = "logs"\n}\n')
    text = iaclint("check", str(tmp_path))
    assert "in 1 file checked" in text.stdout
    markdown = iaclint("check", str(tmp_path), "--format", "markdown")
    assert "in 1 file (threshold" in markdown.stdout and "1 files" not in markdown.stdout
    baseline = iaclint("check", str(tmp_path), "--write-baseline", str(tmp_path / "b.json"))
    assert "wrote 1 finding to the baseline" in baseline.stdout
    fixed = iaclint("fix", str(tmp_path))
    assert "1 fix applied in 1 file; 0 failing findings left" in fixed.stdout
    from iaclint.model import plural

    assert (plural(0, "file"), plural(1, "fix", "fixes"), plural(2, "fix", "fixes")) == ("0 files", "1 fix", "2 fixes")


def test_no_maybe_plurals_in_messages():
    """'finding(s)' reads badly: messages say the count in the right number (model.plural)."""
    import tokenize

    offenders = []
    for path in sorted((ROOT / "iaclint").rglob("*.py")):
        with open(path, "rb") as handle:
            for token in tokenize.tokenize(handle.readline):
                if token.type in (tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", -1)) and \
                        re.search(r"[a-z]\((s|es)\)", token.string):
                    offenders.append(f"{path.relative_to(ROOT)}:{token.start[0]}")
    assert not offenders, offenders


def test_unknown_settings_key_gets_a_did_you_mean(tmp_path):
    (tmp_path / "main.tf").write_text('resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n}\n')
    (tmp_path / ".iaclint.toml").write_text('severity_treshold = "high"\n')
    proc = iaclint("check", str(tmp_path))
    assert proc.returncode == 2 and "unknown key 'severity_treshold' (did you mean severity_threshold?" in proc.stderr
    (tmp_path / ".iaclint.toml").write_text('colour = "red"\n')
    proc = iaclint("check", str(tmp_path))
    assert proc.returncode == 2 and "unknown key 'colour' (known:" in proc.stderr and "did you mean" not in proc.stderr
