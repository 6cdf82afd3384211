"""New versus existing: a simulated pull request (two commits) checked with --since / --new-only.

The pull request turns encryption off through a tfvars entry (the finding's cause is in the tfvars, its
resource in an unchanged module), adds a key without rotation, shifts an existing finding down its file
and renames an existing key with a moved block. Exactly the two introduced problems are reported, on
lines the pull request changed, in text, SARIF and rdjson.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from test_cli import assert_no_traceback, iaclint

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

DATA = Path(__file__).parent / "data"
MODULE = '''variable "encrypted" {
  default = true
}

resource "aws_neptune_cluster" "this" {
  cluster_identifier = "db"
  storage_encrypted  = var.encrypted
  kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}
'''
ROOT = '''provider "aws" {
  region = "eu-west-1"
}

module "db" {
  source    = "../../modules/db"
  encrypted = var.encrypted
}

variable "encrypted" {
  type = bool
}

resource "aws_kms_key" "old" {
  description = "old"
}

resource "aws_kms_key" "legacy" {
  description = "legacy"
}
'''
INTRODUCED = {("NEP001", "module.db.aws_neptune_cluster.this"), ("NEP004", "module.db.aws_neptune_cluster.this"),
              ("KMS001", "aws_kms_key.new")}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def pull_request(tmp_path) -> Path:
    repo = tmp_path / "repo"
    for name, text in {"modules/db/main.tf": MODULE, "envs/prod/main.tf": ROOT,
                       "envs/prod/terraform.tfvars": "encrypted = true\n"}.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "envs/prod/terraform.tfvars").write_text("# production\nencrypted = false\n")
    root = ROOT.replace('resource "aws_kms_key" "old"', '# keys\n\nresource "aws_kms_key" "old"')
    root = root.replace('"legacy" {', '"archive" {') + ('\nmoved {\n  from = aws_kms_key.legacy\n'
                                                        '  to   = aws_kms_key.archive\n}\n\n'
                                                        'resource "aws_kms_key" "new" {\n  description = "new"\n}\n')
    (repo / "envs/prod/main.tf").write_text(root)
    git(repo, "commit", "-q", "-am", "pull request")
    return repo


def changed_lines(repo: Path) -> dict[str, set[int]]:
    """What the pull request added or changed, by file, read from git's own diff."""
    out: dict[str, set[int]] = {}
    current = None
    for line in git(repo, "diff", "-U0", "HEAD~1", "HEAD").splitlines():
        if line.startswith("+++ b/"):
            current = out.setdefault(line[6:], set())
        match = re.match(r"@@ -\S+ \+(\d+)(?:,(\d+))? @@", line)
        if match and current is not None:
            start, count = int(match.group(1)), int(match.group(2) or 1)
            current.update(range(start, start + count))
    return out


def check(repo: Path, *args: str) -> subprocess.CompletedProcess:
    proc = iaclint("check", "--since", "HEAD~1", *args, "envs/prod", cwd=repo)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return proc


def test_every_finding_is_marked_new_or_existing(pull_request):
    data = json.loads(check(pull_request, "-f", "json").stdout)
    states = {(f["rule_id"], f["address"]): f["base_state"] for f in data["findings"] if f["verdict"] == "fail"}
    assert {k for k, v in states.items() if v == "new"} == INTRODUCED
    assert states[("KMS001", "aws_kms_key.old")] == "existing"  # moved down its file, not new
    assert states[("KMS001", "aws_kms_key.archive")] == "existing"  # renamed with a moved block
    assert data["summary"]["new"] == 3 and data["summary"]["existing"] >= 2


def test_new_only_reports_exactly_the_introduced_findings_on_changed_lines(pull_request):
    changed = changed_lines(pull_request)
    data = json.loads(check(pull_request, "--new-only", "-f", "json").stdout)
    assert {(f["rule_id"], f["address"]) for f in data["findings"]} == INTRODUCED
    for f in data["findings"]:
        assert f["line"] in changed.get(f["file"], set()), f
    nep001 = next(f for f in data["findings"] if f["rule_id"] == "NEP001")
    assert (nep001["file"], nep001["line"]) == ("envs/prod/terraform.tfvars", 2)  # at the cause
    assert nep001["related"][0]["file"] == "modules/db/main.tf" and nep001["related"][0]["line"] == 7

    text = check(pull_request, "--new-only").stdout
    assert text.count("[new]") == 3
    assert "envs/prod/terraform.tfvars:2:13: NEP001" in text and "aws_kms_key.old" not in text
    assert "already there at HEAD~1 not shown (--new-only)" in text


def test_new_only_in_sarif_and_rdjson_validates_and_lands_on_the_diff(pull_request):
    changed = changed_lines(pull_request)
    sarif = json.loads(check(pull_request, "--new-only", "-f", "sarif").stdout)
    jsonschema.Draft7Validator(json.loads((DATA / "sarif-schema-2.1.0.json").read_text())).validate(sarif)
    results = sarif["runs"][0]["results"]
    assert {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]) for r in results} \
        == INTRODUCED
    for r in results:
        assert r["baselineState"] == "new"
        place = r["locations"][0]["physicalLocation"]
        assert place["region"]["startLine"] in changed[place["artifactLocation"]["uri"]]
    nep001 = next(r for r in results if r["ruleId"] == "NEP001")
    assert nep001["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "modules/db/main.tf"

    rdjson = json.loads(check(pull_request, "--new-only", "-f", "rdjson").stdout)
    jsonschema.validate(rdjson, json.loads((DATA / "rdjson" / "DiagnosticResult.json").read_text()))
    assert len(rdjson["diagnostics"]) == 3
    for d in rdjson["diagnostics"]:
        assert d["message"].startswith("[new since HEAD~1] ")
        assert d["location"]["range"]["start"]["line"] in changed[d["location"]["path"]]
    tfvars = [d for d in rdjson["diagnostics"] if d["location"]["path"] == "envs/prod/terraform.tfvars"]
    assert tfvars and all(s["text"] == "true" for d in tfvars for s in d["suggestions"])  # the fix, on the diff


def test_sarif_marks_existing_findings_unchanged_without_new_only(pull_request):
    results = json.loads(check(pull_request, "-f", "sarif").stdout)["runs"][0]["results"]
    states = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]): r["baselineState"]
              for r in results if r["kind"] == "fail"}
    assert states[("KMS001", "aws_kms_key.old")] == "unchanged" and states[("KMS001", "aws_kms_key.new")] == "new"


def test_markdown_marks_new_findings(pull_request):
    markdown = check(pull_request, "-f", "markdown").stdout
    assert "3 new since `HEAD~1`" in markdown
    assert markdown.count("**new**") == 3


def test_new_only_needs_a_revision_and_a_bad_one_counts_everything_as_new(pull_request):
    proc = iaclint("check", "--new-only", "envs/prod", cwd=pull_request)
    assert proc.returncode == 2 and "--new-only needs the revision to compare with" in proc.stderr
    data = json.loads(iaclint("check", "--new-only", "--since", "no-such-ref", "-f", "json", "envs/prod",
                              cwd=pull_request).stdout)
    assert data["findings"] and all(f["base_state"] == "new" for f in data["findings"] if f["address"])
    assert any(n.startswith("--since no-such-ref:") and "every finding counts as new" in n for n in data["notices"])


def test_a_root_renamed_in_the_pull_request_brings_no_new_findings(pull_request):
    git(pull_request, "mv", "envs/prod", "envs/production")
    git(pull_request, "commit", "-q", "-m", "rename")
    proc = iaclint("check", "--since", "HEAD~1", "--new-only", "-f", "json", "envs/production", cwd=pull_request)
    data = json.loads(proc.stdout)
    assert data["findings"] == [] and data["summary"]["existing"] >= 5, data
