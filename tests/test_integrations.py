"""Where iaclint is used: SARIF, GitHub annotations, JUnit, Markdown, suppressions, baselines, settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from iaclint.formatters import render
from iaclint.formatters.github_format import annotation, escape_data, escape_property
from iaclint.model import Finding, Location, Severity, Verdict
from conftest import git
from support import FIXTURES, ROOT, options, rule_cases
from iaclint.run.pipeline import check_paths
from iaclint.engine.rules import load_rules

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
CASES = [c for r in load_rules() for c in rule_cases(r.id)]


def iaclint(*args, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_VAR_")}
    return subprocess.run([sys.executable, "-m", "iaclint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def module_with(tmp_path, files, name="m"):
    root = tmp_path / name
    root.mkdir()
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def report_for(path, **kwargs):
    return check_paths([str(path)], options(**kwargs))


# ---- SARIF -----------------------------------------------------------------------------------


def validate_sarif(report) -> dict:
    document = json.loads(render("sarif", report))
    jsonschema.Draft7Validator(SARIF_SCHEMA).validate(document)
    return document


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_sarif_validates_for_every_fixture(case, tmp_path):
    copy = case.copy_to(tmp_path / "case")
    document = validate_sarif(report_for(case.target(copy)))
    assert document["runs"][0]["tool"]["driver"]["name"] == "iaclint"


def test_sarif_content_for_the_demo():
    document = validate_sarif(report_for(FIXTURES / "demo"))
    run = document["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["NEP001"]["properties"]["security-severity"] == "8.0"
    assert rules["NEP001"]["help"]["markdown"].startswith("## ")
    nep001 = next(r for r in run["results"] if r["ruleId"] == "NEP001")
    location = nep001["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "fixtures/demo/main.tf", "uriBaseId": "%SRCROOT%"}
    assert nep001["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "fixtures/demo/variables.tf"
    assert nep001["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"] == "true"
    ech001 = next(r for r in run["results"] if r["ruleId"] == "ECH001")
    messages = [r["message"]["text"] for r in ech001["relatedLocations"]]
    assert any('module "jobs" called from' in m for m in messages)  # the module call chain


def test_sarif_fingerprints_survive_unrelated_line_moves(tmp_path):
    text = 'resource "aws_kms_key" "k" {\n  description = "k"\n}\n'
    root = module_with(tmp_path, {"main.tf": text})
    before = json.loads(render("sarif", report_for(root)))["runs"][0]["results"][0]
    (root / "main.tf").write_text("# a comment\n\n" + text)
    after = json.loads(render("sarif", report_for(root)))["runs"][0]["results"][0]
    assert before["locations"][0]["physicalLocation"]["region"]["startLine"] != \
        after["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert before["partialFingerprints"] == after["partialFingerprints"]


# ---- GitHub, JUnit, Markdown ------------------------------------------------------------------


def test_github_escaping():
    assert escape_data("100% done\r\nnext: line") == "100%25 done%0D%0Anext: line"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    finding = Finding("NEP001", "neptune-cluster-encrypted", Severity.HIGH, Verdict.FAIL, "aws_x.y",
                      Location("dir,with:odd/main.tf", 3, 5, 3, 9), "50% of it: broken\nsecond line")
    from iaclint.model import Report

    line = annotation(finding, Report("0", [], [], [], cwd=str(ROOT), repo_root=str(ROOT)))
    assert line.startswith("::error file=dir%2Cwith%3Aodd/main.tf,line=3,endLine=3,col=5,endColumn=9,"
                           "title=NEP001 neptune-cluster-encrypted::")
    assert line.endswith("::50%25 of it: broken%0Asecond line (aws_x.y)")
    assert "\n" not in line


def test_github_levels_follow_severity():
    text = render("github", report_for(FIXTURES / "demo"))
    assert "::error file=fixtures/demo/main.tf,line=51" in text  # NEP001, high
    assert "::warning file=fixtures/demo/main.tf,line=76" in text  # KMS001, medium


def test_junit_has_a_case_per_rule_and_resource():
    root = ET.fromstring(render("junit", report_for(FIXTURES / "demo")).split("\n", 1)[1])
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    failing = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("tests")) == len(cases) > len(failing) == 11  # NEP002 and ECH002 pass the unencrypted ones (one problem, one finding)
    names = {(c.get("classname"), c.get("name")) for c in cases}
    assert ("NEP001.neptune-cluster-encrypted", "aws_neptune_cluster.main") in names  # a passing case too


def test_junit_from_the_command_line_keeps_the_passing_cases(tmp_path):
    """The CLI records every (rule, resource) checked only when JUnit is asked for; it must then be whole."""
    out = tmp_path / "junit.xml"
    proc = iaclint("check", "fixtures/demo", "--format", "text", "--format", f"junit:{out}")
    assert proc.returncode == 1, proc.stderr
    suite = ET.fromstring(out.read_text().split("\n", 1)[1]).find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) > len([c for c in cases if c.find("failure") is not None]) == 11
    assert any(c.get("name") == "aws_neptune_cluster.main" and c.find("failure") is None for c in cases)


def test_a_large_report_reaches_a_pipe_whole(tmp_path):
    """The process ends without interpreter teardown: everything written must be flushed first."""
    body = "".join(f'resource "aws_neptune_cluster" "c{i}" {{\n  storage_encrypted = false\n}}\n\n'
                   for i in range(400))
    root = module_with(tmp_path, {"main.tf": body})
    proc = iaclint("check", str(root), "--format", "json", "--no-cache")
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert len([f for f in findings if f["rule_id"] == "NEP001"]) == 400


def test_markdown_summary_has_counts_table_and_fixes():
    text = render("markdown", report_for(FIXTURES / "demo"))
    assert "| NEP001 neptune-cluster-encrypted | 🔴 high | 1 |" in text
    assert "`fixtures/demo/main.tf:51`" in text
    assert "```suggestion" in text and "```diff" in text


def test_several_formats_with_files(tmp_path):
    sarif, md = tmp_path / "out.sarif", tmp_path / "summary.md"
    proc = iaclint("check", "fixtures/demo", "--format", "text", "--format", f"sarif:{sarif}",
                   "--format", f"markdown:{md}")
    assert proc.returncode == 1 and "NEP001" in proc.stdout
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert md.read_text().startswith("## iaclint")


# ---- suppressions ------------------------------------------------------------------------------

CLUSTER = 'resource "aws_neptune_cluster" "c" {\n  cluster_identifier = "c"\n  kms_key_arn        = "alias/graph"\n}\n'


def suppressed(report, rule="NEP001"):
    return [f for f in report.findings if f.rule_id == rule and f.suppression is not None]


def active(report, rule):
    return [f for f in report.findings if f.rule_id == rule and f.suppression is None]


@pytest.mark.parametrize("text", [
    '# iaclint:ignore NEP001 reason="legacy, replaced in Q3"\n' + CLUSTER,
    '// iaclint:ignore NEP001 reason="legacy, replaced in Q3"\n' + CLUSTER,
    '# iaclint:ignore NEP001, NEP002 reason="legacy, replaced in Q3"\n' + CLUSTER,
    '# iaclint:ignore neptune-cluster-encrypted reason="legacy, replaced in Q3"\n' + CLUSTER,
    CLUSTER.replace('  cluster_identifier', '  # iaclint:ignore NEP001 reason="legacy, replaced in Q3"\n  cluster_identifier'),
    '# iaclint:ignore NEP001 reason="legacy, replaced in Q3" expires=2999-12-31\n# another comment\n' + CLUSTER,
])
def test_iaclint_suppression_forms(tmp_path, text):
    report = report_for(module_with(tmp_path, {"main.tf": text}))
    found = suppressed(report)
    assert found and found[0].suppression.justification == "legacy, replaced in Q3"
    assert found[0].suppression.kind == "inline"
    assert not [f for f in report.failing if f.rule_id == "NEP001"]  # suppressed findings never count


def test_suppression_applies_only_to_its_block(tmp_path):
    text = '# iaclint:ignore NEP001 reason="only this one"\n' + CLUSTER + "\n" + CLUSTER.replace('"c"', '"d"')
    report = report_for(module_with(tmp_path, {"main.tf": text}))
    assert [f.address for f in suppressed(report)] == ["aws_neptune_cluster.c"]
    assert [f.address for f in active(report, "NEP001")] == ["aws_neptune_cluster.d"]


def test_suppression_without_reason_still_suppresses_and_is_reported(tmp_path):
    report = report_for(module_with(tmp_path, {"main.tf": "# iaclint:ignore NEP001\n" + CLUSTER}))
    assert suppressed(report)
    sup = active(report, "SUP001")
    assert sup and sup[0].severity is Severity.INFO and sup[0].location.line == 1
    assert not [f for f in report.failing if f.rule_id in ("NEP001", "SUP001")]


def test_expired_suppression_stops_suppressing(tmp_path):
    text = '# iaclint:ignore NEP001 reason="temporary" expires=2020-01-31\n' + CLUSTER
    report = report_for(module_with(tmp_path, {"main.tf": text}))
    assert not suppressed(report) and active(report, "NEP001")
    assert "expired on 2020-01-31" in active(report, "SUP002")[0].message


@pytest.mark.parametrize("comment,problem", [
    ('# iaclint:ignore NEP001 reason="x" expires=next-week', "expires=next-week is not a date"),
    ('# iaclint:ignore NEP001 reason="x" expires=2027-02-30', "expires=2027-02-30 is not a date"),
    ('# iaclint:ignore NEP0001 reason="typo"', "'NEP0001' is not a rule (did you mean NEP001?)"),
    ('# iaclint: ignore NEP001 reason="space"', "'iaclint: ignore' is not the suppression marker"),
    ('# iaclint-ignore NEP001 reason="dash"', "'iaclint-ignore' is not the suppression marker"),
    ("#trivy:ignore:AVD-AWS-0076:exp:2027-13-01", "exp:2027-13-01 is not a date"),
])
def test_a_suppression_that_cannot_be_honoured_is_sup003_and_never_suppresses(tmp_path, comment, problem):
    report = report_for(module_with(tmp_path, {"main.tf": comment + "\n" + CLUSTER}))
    assert problem in active(report, "SUP003")[0].message
    assert active(report, "NEP001"), "the finding must not be suppressed"


def test_peer_ids_work_in_iaclint_suppressions(tmp_path):
    report = report_for(module_with(tmp_path, {"main.tf": '# iaclint:ignore CKV_AWS_44 reason="legacy"\n' + CLUSTER}))
    assert not active(report, "NEP001") and not active(report, "SUP003")


@pytest.mark.parametrize("comment,kind", [
    ("#checkov:skip=CKV_AWS_44:legacy cluster", "checkov"),
    ("#trivy:ignore:AVD-AWS-0076", "trivy"),
    ("#trivy:ignore:aws-neptune-enable-storage-encryption:exp:2999-01-01", "trivy"),
    ("#tfsec:ignore:aws-neptune-enable-storage-encryption", "tfsec"),
    ("#tfsec:ignore:AVD-AWS-0076:exp:2999-01-01", "tfsec"),
])
def test_checkov_trivy_and_tfsec_forms(tmp_path, comment, kind):
    report = report_for(module_with(tmp_path, {"main.tf": comment + "\n" + CLUSTER}))
    found = suppressed(report)
    assert found and found[0].suppression.kind == kind


# ---- tfsec's comment forms (aquasecurity/tfsec docs/guides/configuration/ignores.md; trivy pkg/iac/ignore)

AURORA = ('resource "aws_rds_cluster" "db" {\n  cluster_identifier = "db"\n  engine             = "aurora-postgresql"\n'
          '  storage_encrypted  = true\n}\n')
BUCKET = 'resource "aws_s3_bucket" "logs" {\n  bucket = "logs"\n}\n'


@pytest.mark.parametrize("comment", [
    "#tfsec:ignore:aws-s3-enable-bucket-logging",
    "#tfsec:ignore:aws-s3-enable-bucket-logging - no logs needed for the log bucket",
    "#tfsec:ignore:aws-s3-enable-bucket-logging tfsec:ignore:aws-s3-enable-versioning",
    "#tfsec:ignore:aws-s3-encryption-customer-key: default encryption is sufficient for now",
    "#tfsec:ignore:AWS002:exp:2020-01-01",  # expired, but of a check iaclint does not have
    "#tfsec:ignore:aws-s3-enable-versioning:exp:2027-02-30",  # a bad date for another tool's check
    "#trivy:ignore:AVD-AWS-0089",
    "#checkov:skip=CKV_AWS_18",
])
def test_suppressions_of_checks_iaclint_does_not_have_are_not_reported(tmp_path, comment):
    text = f"{comment}\n{BUCKET}\n{comment}\n{CLUSTER}"
    report = report_for(module_with(tmp_path, {"main.tf": text}))
    assert not [f for f in report.findings if f.rule_id.startswith("SUP")], [f.message for f in report.findings]
    assert active(report, "NEP001")  # and nothing of iaclint's is suppressed by them


def test_tfsec_reason_after_the_code_is_the_justification(tmp_path):
    text = "#tfsec:ignore:AWS051 - database is encrypted without a custom key and that's fine\n" + AURORA
    report = report_for(module_with(tmp_path, {"main.tf": text}))
    found = suppressed(report, "RDS003")
    assert found and found[0].suppression.kind == "tfsec"
    assert found[0].suppression.justification == "database is encrypted without a custom key and that's fine"
    assert not active(report, "SUP001") and not active(report, "RDS003")


@pytest.mark.parametrize("above,reason", [
    ("# AWS managed key is fine for unit tests\n", "AWS managed key is fine for unit tests"),
    ("# legacy cluster:\n// replaced in Q3\n", "legacy cluster: replaced in Q3"),
    ("# accepted for now\n#tfsec:ignore:aws-s3-enable-bucket-logging\n", "accepted for now"),  # a stack of ignores
    ("# accepted for now\n\n", ""),  # a blank line ends the comment above
    ('locals { x = 1 } # accepted for now\n', ""),  # a comment after code explains the code
])
def test_the_comment_right_above_a_foreign_ignore_is_its_reason(tmp_path, above, reason):
    report = report_for(module_with(tmp_path, {"main.tf": above + "#tfsec:ignore:AWS051\n" + AURORA}))
    found = suppressed(report, "RDS003")
    assert found and found[0].suppression.justification == reason
    assert bool(active(report, "SUP001")) == (not reason)


def test_tfsec_ignore_of_an_iaclint_rule_without_reason_is_sup001(tmp_path):
    report = report_for(module_with(tmp_path, {"main.tf": "#tfsec:ignore:AWS051\n" + AURORA}))
    assert suppressed(report, "RDS003")
    assert "AWS051" in active(report, "SUP001")[0].message


def test_several_tfsec_ignores_on_one_line(tmp_path):
    text = ("#tfsec:ignore:aws-s3-enable-bucket-logging tfsec:ignore:aws-neptune-enable-storage-encryption"
            " - legacy cluster\n" + CLUSTER)
    report = report_for(module_with(tmp_path, {"main.tf": text}))
    found = suppressed(report)
    assert found and found[0].suppression.justification == "legacy cluster"
    assert not [f for f in report.findings if f.rule_id.startswith("SUP")]


# tfsec's legacy codes (aquasecurity/tfsec internal/pkg/legacy/map.go) of iaclint's rules, each on a resource
# that fails the rule it names
LEGACY = [
    ("AWS051", "RDS001", 'resource "aws_rds_cluster" "x" {\n  engine = "aurora-postgresql"\n}\n'),
    ("AWS051", "RDS003", 'resource "aws_rds_cluster" "x" {\n  engine            = "aurora-postgresql"\n'
                         '  storage_encrypted = true\n}\n'),
    ("AWS052", "RDS002", 'resource "aws_db_instance" "x" {\n  engine = "postgres"\n}\n'),
    ("AWS035", "ECH001", 'resource "aws_elasticache_replication_group" "x" {\n  engine = "redis"\n}\n'),
    ("AWS036", "ECH003", 'resource "aws_elasticache_replication_group" "x" {\n  engine = "redis"\n}\n'),
    ("AWS048", "EFS001", 'resource "aws_efs_file_system" "x" {}\n'),
    ("AWS019", "KMS001", 'resource "aws_kms_key" "x" {}\n'),
    ("AWS092", "DYN001", 'resource "aws_dynamodb_table" "x" {\n  name     = "x"\n  hash_key = "id"\n}\n'),
    ("AWS094", "RSH002", 'resource "aws_redshift_cluster" "x" {\n  cluster_identifier = "x"\n  encrypted = true\n}\n'),
]


@pytest.mark.parametrize("code,rule,text", LEGACY, ids=lambda v: v if isinstance(v, str) and len(v) < 8 else "")
def test_legacy_tfsec_codes_of_iaclint_rules_are_honoured(tmp_path, code, rule, text):
    plain = report_for(module_with(tmp_path, {"main.tf": text}, "plain"))
    assert active(plain, rule), f"{rule} must fail on the case for the test to mean anything"
    report = report_for(module_with(tmp_path, {"main.tf": f"#tfsec:ignore:{code} - accepted\n{text}"}, "ignored"))
    assert suppressed(report, rule) and not active(report, rule)
    assert not [f for f in report.findings if f.rule_id.startswith("SUP")]


# tfsec's names of trivy's checks (their `long_id`, aquasecurity/trivy-checks metadata), as real repositories
# write them (#tfsec:ignore:aws-sns-topic-encryption-use-cmk above an SNS topic on alias/aws/sns)
LONG_IDS = [
    ("aws-sns-topic-encryption-use-cmk", "SNS002",
     'resource "aws_sns_topic" "x" {\n  kms_master_key_id = "alias/aws/sns"\n}\n'),
    ("aws-sns-enable-topic-encryption", "SNS001", 'resource "aws_sns_topic" "x" {}\n'),
    ("aws-sqs-queue-encryption-use-cmk", "SQS002", 'resource "aws_sqs_queue" "x" {}\n'),
    ("aws-sqs-enable-queue-encryption", "SQS001",
     'resource "aws_sqs_queue" "x" {\n  sqs_managed_sse_enabled = false\n}\n'),
    ("aws-cloudwatch-log-group-customer-key", "LOG001", 'resource "aws_cloudwatch_log_group" "x" {}\n'),
    ("aws-cloudtrail-encryption-customer-managed-key", "CTR002",
     'resource "aws_cloudtrail" "x" {\n  name           = "x"\n  s3_bucket_name = "b"\n}\n'),
]


@pytest.mark.parametrize("code,rule,text", LONG_IDS, ids=[c[1] for c in LONG_IDS])
def test_tfsec_long_ids_of_iaclint_rules_are_honoured(tmp_path, code, rule, text):
    plain = report_for(module_with(tmp_path, {"main.tf": text}, "plain"))
    assert active(plain, rule), f"{rule} must fail on the case for the test to mean anything"
    report = report_for(module_with(tmp_path, {"main.tf": f"#tfsec:ignore:{code} - accepted\n{text}"}, "ignored"))
    assert suppressed(report, rule) and not active(report, rule)
    assert not [f for f in report.findings if f.rule_id.startswith("SUP")]


def test_legacy_tfsec_codes_name_the_rules_as_peer_ids():
    from iaclint.engine.rules import find_rules

    assert {r.id for r in find_rules("AWS051")} == {"RDS001", "RDS003"}
    assert {r.id for r in find_rules("aws052")} == {"RDS002"}
    assert {r.id for r in find_rules("AWS094")} == {"RSH001", "RSH002"}
    assert find_rules("AWS081") == []  # DAX, not DynamoDB tables (FACTS-2)


def test_foreign_id_only_suppresses_the_rule_it_maps_to(tmp_path):
    # a key without storage_encrypted: NEP001 and NEP004 both fail; CKV_AWS_44 is NEP001's id only
    report = report_for(module_with(tmp_path, {"main.tf": "#checkov:skip=CKV_AWS_44:legacy\n" + CLUSTER}))
    assert suppressed(report, "NEP001") and active(report, "NEP004")


def test_expired_trivy_form(tmp_path):
    report = report_for(module_with(tmp_path, {"main.tf": "#trivy:ignore:AVD-AWS-0076:exp:2020-01-01\n" + CLUSTER}))
    assert active(report, "NEP001") and active(report, "SUP002")


def test_suppression_on_a_module_block_covers_its_resources(tmp_path):
    root = module_with(tmp_path, {
        "main.tf": '# iaclint:ignore NEP001 reason="dev only"\nmodule "g" {\n  source = "./g"\n}\n',
        "g/main.tf": CLUSTER,
    })
    assert [f.address for f in suppressed(report_for(root))] == ["module.g.aws_neptune_cluster.c"]


def test_no_inline_suppressions(tmp_path):
    root = module_with(tmp_path, {"main.tf": '# iaclint:ignore NEP001 reason="x"\n' + CLUSTER})
    report = report_for(root, inline_suppressions=False)
    assert active(report, "NEP001") and not suppressed(report)
    assert "NEP001" in iaclint("check", str(root), "--no-inline-suppressions").stdout
    quiet = iaclint("check", str(root), "--select", "NEP001").stdout
    assert "NEP001" not in quiet and "1 suppressed" in quiet
    assert iaclint("check", str(root), "--select", "NEP001").returncode == 0
    assert iaclint("check", str(root), "--select", "NEP001", "--no-inline-suppressions").returncode == 1


def test_suppressed_findings_are_in_json_and_sarif(tmp_path):
    root = module_with(tmp_path, {"main.tf": '# iaclint:ignore NEP001 reason="legacy" expires=2999-01-01\n' + CLUSTER})
    report = report_for(root)
    data = json.loads(render("json", report))
    entry = next(f for f in data["findings"] if f["rule_id"] == "NEP001")
    assert entry["suppression"]["justification"] == "legacy" and entry["suppression"]["expires"] == "2999-01-01"
    assert data["summary"]["suppressed"] == 1
    sarif = validate_sarif(report)
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "NEP001")
    assert result["suppressions"][0]["justification"] == "legacy"
    assert result["suppressions"][0]["kind"] == "inSource"


def test_suppressed_findings_are_not_fixed(tmp_path):
    from iaclint.run.fix import run_fix

    root = module_with(tmp_path, {"main.tf": '# iaclint:ignore KMS001 reason="managed elsewhere"\n'
                                              'resource "aws_kms_key" "k" {}\n'})
    assert not run_fix([str(root)], options(), unsafe=True).applied


# ---- baseline ---------------------------------------------------------------------------------


def test_baseline_hides_known_findings_and_catches_new_ones(tmp_path):
    root = module_with(tmp_path, {"a.tf": 'resource "aws_kms_key" "a" {}\n'})
    baseline = tmp_path / "baseline.json"
    written = iaclint("check", str(root), "--write-baseline", str(baseline))
    assert written.returncode == 0 and baseline.exists()
    assert iaclint("check", str(root), "--baseline", str(baseline)).returncode == 0
    # a new finding in another file still fails
    (root / "b.tf").write_text('resource "aws_backup_vault" "b" {\n  name = "b"\n}\n')
    proc = iaclint("check", str(root), "--baseline", str(baseline))
    assert proc.returncode == 1 and "BAK001" in proc.stdout and "KMS001" not in proc.stdout


def test_baseline_same_resource_made_worse_is_new(tmp_path):
    encrypted = CLUSTER.replace("  kms_key_arn", "  storage_encrypted  = true\n  kms_key_arn")
    root = module_with(tmp_path, {"main.tf": encrypted.replace('"alias/graph"', '"alias/aws/rds"')})
    baseline = tmp_path / "baseline.json"
    check_paths([str(root)], options(), write_baseline_to=str(baseline))
    (root / "main.tf").write_text(encrypted.replace('  kms_key_arn        = "alias/graph"\n', ""))
    report = check_paths([str(root)], options(), baseline=str(baseline))
    nep002 = [f for f in report.findings if f.rule_id == "NEP002"]
    assert nep002 and nep002[0].baseline_state == "new"
    assert report.failing


def test_baseline_reports_fixed_entries_and_works_from_another_directory(tmp_path):
    root = module_with(tmp_path, {"main.tf": 'resource "aws_kms_key" "a" {}\n'})
    baseline = root / ".iaclint-baseline.json"
    iaclint("check", ".", "--write-baseline", baseline.name, cwd=root)
    entries = json.loads(baseline.read_text())["entries"]
    assert entries[0]["file"] == "main.tf"
    assert iaclint("check", str(root), "--baseline", str(baseline)).returncode == 0  # other cwd
    (root / "main.tf").write_text('resource "aws_kms_key" "a" {\n  enable_key_rotation = true\n}\n')
    proc = iaclint("check", str(root), "--baseline", str(baseline))
    assert proc.returncode == 0 and "fixed since baseline: KMS001 aws_kms_key.a" in proc.stdout
    data = json.loads(iaclint("check", str(root), "--baseline", str(baseline), "--format", "json").stdout)
    assert data["fixed_baseline_entries"][0]["address"] == "aws_kms_key.a"


def test_bad_baseline_is_a_usage_error(tmp_path):
    (tmp_path / "b.json").write_text('{"hello": 1}')
    proc = iaclint("check", "fixtures/demo", "--baseline", str(tmp_path / "b.json"))
    assert proc.returncode == 2 and "not an iaclint baseline" in proc.stderr
    assert iaclint("check", "fixtures/demo", "--baseline", str(tmp_path / "missing.json")).returncode == 2


# ---- settings -----------------------------------------------------------------------------------


def test_settings_from_pyproject_found_upwards(tmp_path):
    git("init", "-q", cwd=tmp_path)  # settings are searched up to the repository's top level
    (tmp_path / "pyproject.toml").write_text(
        '[tool.iaclint]\nignore = ["KMS001"]\nseverity = { BAK001 = "high" }\nfail_on_unknown = true\n')
    root = module_with(tmp_path, {"infra/main.tf": 'resource "aws_kms_key" "k" {}\n'
                                                    'resource "aws_backup_vault" "v" {\n  name = "v"\n}\n'})
    data = json.loads(iaclint("check", str(root / "infra"), "--format", "json").stdout)
    assert {f["rule_id"]: f["severity"] for f in data["findings"]} == {"BAK001": "high"}
    assert data["summary"]["fail_on_unknown"] is True
    # command-line flags win
    data = json.loads(iaclint("check", str(root / "infra"), "--format", "json", "--no-fail-on-unknown").stdout)
    assert data["summary"]["fail_on_unknown"] is False


def test_dot_iaclint_toml_with_var_files_threshold_select_and_exclude(tmp_path):
    root = module_with(tmp_path, {
        ".iaclint.toml": ('select = ["NEP001", "KMS001"]\nvar_files = ["envs/prod.tfvars"]\n'
                          'severity_threshold = "high"\nexclude = ["legacy/*"]\n'),
        "envs/prod.tfvars": "enc = false\n",
        "main.tf": ('variable "enc" {\n  default = true\n}\nresource "aws_neptune_cluster" "c" {\n'
                    '  storage_encrypted = var.enc\n}\nresource "aws_kms_key" "k" {}\n'
                    'module "old" {\n  source = "./legacy"\n}\n'),
        "legacy/main.tf": 'resource "aws_neptune_cluster" "old" {}\n',
    })
    proc = iaclint("check", str(root), "--format", "json")
    data = json.loads(proc.stdout)
    assert {(f["rule_id"], f["address"]) for f in data["findings"]} == {
        ("NEP001", "aws_neptune_cluster.c"), ("KMS001", "aws_kms_key.k")}
    assert data["summary"]["threshold"] == "high" and proc.returncode == 1  # NEP001 is high
    assert iaclint("check", str(root), "--severity-threshold", "critical").returncode == 0


@pytest.mark.parametrize("content,message", [
    ('[tool.iaclint]\nselct = ["NEP001"]\n', "unknown key 'selct'"),
    ('[tool.iaclint]\nseverity = { NOPE99 = "high" }\n', "unknown rule 'NOPE99'"),
    ('[tool.iaclint]\nfail_on_unknown = "yes"\n', "fail_on_unknown must be true or false"),
    ("[tool.iaclint\n", "not valid TOML"),
])
def test_bad_settings_name_the_file_and_key(tmp_path, content, message):
    git("init", "-q", cwd=tmp_path)
    (tmp_path / "pyproject.toml").write_text(content)
    root = module_with(tmp_path, {"main.tf": ""})
    proc = iaclint("check", str(root))
    assert proc.returncode == 2
    assert message in proc.stderr and "pyproject.toml" in proc.stderr


# ---- roots: one module, several roots (examples/*, envs/*) ----------------------------------------


def _estate(tmp_path):
    """A repository of three roots calling one module that has an unencrypted cluster: one finding per root,
    same address (a repository, so a root checked alone still reads the module beside it)."""
    files = {"modules/db/main.tf": 'variable "encrypted" {\n  default = false\n}\n\n'
                                   'resource "aws_neptune_cluster" "this" {\n  storage_encrypted = var.encrypted\n'
                                   '  kms_key_arn       = "arn:aws:kms:eu-west-1:111122223333:key/k"\n}\n'}
    for env in ("a", "b", "c"):
        files[f"envs/{env}/main.tf"] = 'module "db" {\n  source = "../../modules/db"\n}\n'
    tree = module_with(tmp_path, files, "estate")
    git("init", "-q", cwd=tree)
    return tree


def test_a_baseline_written_from_a_tree_silences_exactly_that_tree(tmp_path):
    tree = _estate(tmp_path)
    baseline = tree / ".iaclint-baseline.json"
    assert iaclint("check", "--select", "NEP001", "--write-baseline", baseline.name, cwd=tree).returncode == 0
    entries = json.loads(baseline.read_text())["entries"]
    assert sorted(e["root"] for e in entries) == ["envs/a", "envs/b", "envs/c"]
    assert len({(e["file"], e["address"], e["fingerprint"]) for e in entries}) == 1  # the same module line
    proc = iaclint("check", "--select", "NEP001", "--baseline", baseline.name, cwd=tree)
    assert proc.returncode == 0, proc.stdout
    assert "3 in the baseline" in proc.stdout and "fixed since baseline" not in proc.stdout
    # written from one root, it silences that root only
    iaclint("check", "--select", "NEP001", "envs/a", "--write-baseline", "a-only.json", cwd=tree)
    data = json.loads(iaclint("check", "--select", "NEP001", "--baseline", "a-only.json", "-f", "json",
                              cwd=tree).stdout)
    assert {f["root"]: f["baseline"] for f in data["findings"]} == {"envs/a": "baselined", "envs/b": "new",
                                                                     "envs/c": "new"}


def test_an_old_baseline_without_roots_still_loads_and_matches_in_every_root(tmp_path):
    tree = _estate(tmp_path)
    baseline = tree / "old.json"
    iaclint("check", "--select", "NEP001", "--write-baseline", baseline.name, cwd=tree)
    data = json.loads(baseline.read_text())
    data["entries"] = [{k: v for k, v in e.items() if k != "root"} for e in data["entries"][:1]]
    baseline.write_text(json.dumps(data))
    proc = iaclint("check", "--select", "NEP001", "--baseline", baseline.name, cwd=tree)
    assert proc.returncode == 0, proc.stdout
    assert "3 in the baseline" in proc.stdout
    assert "1 entry name no root module (written by an older iaclint) and match in every root" in proc.stdout


def test_junit_keeps_the_same_rule_and_address_in_different_roots_apart(tmp_path):
    tree = _estate(tmp_path)
    out = tmp_path / "junit.xml"
    iaclint("check", "--select", "NEP001", "--format", f"junit:{out}", cwd=tree)
    document = ET.fromstring(out.read_text().split("\n", 1)[1])
    suite = document.find("testsuite")
    failing = [c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None]
    assert sorted(failing) == [f"module.db.aws_neptune_cluster.this in envs/{e}" for e in "abc"]
    assert suite.get("failures") == document.get("failures") == "3"


def test_a_module_line_repeated_per_root_names_its_root(tmp_path):
    tree = _estate(tmp_path)
    github = iaclint("check", "--select", "NEP001", "-f", "github", cwd=tree).stdout
    errors = [line for line in github.splitlines() if line.startswith("::error")]
    assert len(errors) == 3 and all(f"(module.db.aws_neptune_cluster.this in envs/{e})" in line
                                    for e, line in zip("abc", errors))
    rdjson = json.loads(iaclint("check", "--select", "NEP001", "-f", "rdjson", cwd=tree).stdout)
    assert len(rdjson["diagnostics"]) == 3 and all(
        f"(module.db.aws_neptune_cluster.this in envs/{e})" in d["message"] for e, d in zip("abc", rdjson["diagnostics"]))
    sarif = json.loads(iaclint("check", "--select", "NEP001", "-f", "sarif", cwd=tree).stdout)
    assert sorted(r["properties"]["root"] for r in sarif["runs"][0]["results"]) == ["envs/a", "envs/b", "envs/c"]
