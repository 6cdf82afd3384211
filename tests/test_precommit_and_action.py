"""The pre-commit hook, run by the real pre-commit tool, and the shape of the GitHub Action."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import git
from support import ROOT

FAILING = 'resource "aws_kms_key" "logs" {\n  description = "logs"\n}\n'
PASSING = 'resource "aws_kms_key" "graph" {\n  description         = "graph"\n  enable_key_rotation = true\n}\n'


def test_pre_commit_hook_on_a_failing_and_a_passing_file(tmp_path, hook_runner):
    repo = tmp_path / "repo"
    (repo / "infra").mkdir(parents=True)
    (repo / "infra" / "logs.tf").write_text(FAILING)
    (repo / "infra" / "graph.tf").write_text(PASSING)
    (repo / "infra" / "variables.tf").write_text('variable "unused" {\n  default = 1\n}\n')
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    hook_runner.install(repo)
    passing = hook_runner.run(repo, "infra/graph.tf")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    failing = hook_runner.run(repo, "infra/logs.tf")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "KMS001" in failing.stdout and "infra/logs.tf" in failing.stdout
    assert "graph.tf" not in failing.stdout.split("Failed")[-1]  # only the named file is reported


def test_pre_commit_hooks_file():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "iaclint")
    assert hook["language"] == "python" and hook["entry"] == "iaclint check --base HEAD"
    assert re.search(hook["files"], "main.tf") and re.search(hook["files"], "prod.tfvars")
    assert re.search(hook["files"], "main.tf.json") and re.search(hook["files"], "prod.tfvars.json")
    assert not re.search(hook["files"], "main.tf.bak")
    assert hook.get("pass_filenames", True) is True


def test_action_shape():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    for name in ("paths", "plan", "severity-threshold", "fail-on-unknown", "annotations", "upload-sarif", "sarif-file",
                 "category", "base", "reviewdog", "extra-args"):
        assert name in action["inputs"], name
    steps = action["runs"]["steps"]
    scripts = [s.get("run", "") for s in steps]
    # inputs reach the scripts through env variables only, never spliced into the shell text
    assert not any("${{" in script for script in scripts)
    # third-party actions are pinned by commit
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["update-environment"] is False  # the caller's Python is left alone
    assert any(s.get("uses", "").startswith("actions/cache@") for s in steps)
    install = next(s for s in steps if s.get("name", "").startswith("Install iaclint"))
    assert "--require-hashes" in install["run"] and (ROOT / "action-constraints.txt").is_file()
    run = next(s for s in steps if s.get("id") == "check")
    assert '--format "github:' in run["run"] and '"sarif:$sarif"' in run["run"]
    assert "GITHUB_STEP_SUMMARY" in run["run"] and "markdown:" in run["run"]
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert "inputs.upload-sarif" in upload["if"] and "head.repo.full_name == github.repository" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif-file }}"  # this use's, never an older one
    assert upload["with"]["category"] == "${{ inputs.category }}"
    assert action["outputs"]["sarif-file"]["value"] == "${{ steps.check.outputs.sarif-file }}"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_action_run_step_keeps_quoting_and_expands_globs(tmp_path):
    """The action's own shell script, run as the runner would, with the installed iaclint."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    script = next(s for s in action["runs"]["steps"] if s.get("id") == "check")["run"]
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "fixtures" / "monorepo", repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)  # the runner's checkout is a repository
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / "bin" / "iaclint").symlink_to(Path(sys.executable).with_name("iaclint"))
    temp = tmp_path / "runner"
    temp.mkdir()
    env = dict(os.environ, ACTION_PATH=str(ROOT), VENV=str(venv), RUNNER_TEMP=str(temp), GITHUB_OUTPUT=str(temp / "out"),
               GITHUB_STEP_SUMMARY=str(temp / "summary"), IACLINT_PATHS="infra/*", IACLINT_PLAN="",
               IACLINT_CONFIG_DIR="", IACLINT_THRESHOLD="low", IACLINT_FAIL_ON_UNKNOWN="false",
               IACLINT_ANNOTATIONS="true", IACLINT_SARIF="iaclint.sarif", IACLINT_BASE="", IACLINT_REVIEWDOG="true",
               IACLINT_EXTRA_ARGS="--format 'json:out dir/report.json' --ignore \"NEP002\"")
    env.pop("GITHUB_BASE_REF", None)
    proc = subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    outputs = (temp / "out").read_text()
    assert "exit-code=1" in outputs and "sarif-file=iaclint.sarif" in outputs
    report = json.loads((repo / "out dir" / "report.json").read_text())
    assert report["roots"] == ["infra/prod", "infra/staging"]  # infra/* expanded; infra/envs has no .tf files
    assert {f["rule_id"] for f in report["findings"]} == {"NEP001"}  # --ignore "NEP002" reached iaclint intact
    assert "::error file=modules/graph/main.tf" in proc.stdout and "NEP001 [high]" in proc.stdout
    reports = Path(dict(line.split("=", 1) for line in outputs.splitlines())["report-dir"])
    assert (repo / "iaclint.sarif").is_file() and (reports / "iaclint.rdjson").is_file()
    assert "| NEP001 |" in (temp / "summary").read_text() or "NEP001" in (temp / "summary").read_text()


def test_readme_documents_pre_commit_and_actions():
    readme = (ROOT / "README.md").read_text()
    assert "- id: iaclint" in readme and ".pre-commit-config.yaml" in readme
    assert "uses: " in readme and "upload-sarif" in readme and "security-events: write" in readme
