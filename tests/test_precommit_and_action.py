"""The pre-commit hook, run by the real pre-commit tool, and the shape of the GitHub Action."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import ROOT

PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))

FAILING = 'resource "aws_kms_key" "logs" {\n  description = "logs"\n}\n'
PASSING = 'resource "aws_kms_key" "graph" {\n  description         = "graph"\n  enable_key_rotation = true\n}\n'


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("git") is None or not Path(PRE_COMMIT).exists(),
                    reason="needs git and the pre-commit tool (pip install -e '.[test]')")
def test_pre_commit_hook_on_a_failing_and_a_passing_file(tmp_path):
    repo = tmp_path / "repo"
    (repo / "infra").mkdir(parents=True)
    (repo / "infra" / "logs.tf").write_text(FAILING)
    (repo / "infra" / "graph.tf").write_text(PASSING)
    (repo / "infra" / "variables.tf").write_text('variable "unused" {\n  default = 1\n}\n')
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")

    def hook(*files):
        # try-repo runs this checkout (with uncommitted changes) exactly as a .pre-commit-config.yaml entry would
        args = [PRE_COMMIT, "try-repo", str(ROOT), "iaclint", "--verbose", "--files", *files]
        return subprocess.run(args, cwd=repo, capture_output=True, text=True, env=env, timeout=600)

    passing = hook("infra/graph.tf")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    failing = hook("infra/logs.tf")
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
    for name in ("paths", "plan", "severity-threshold", "fail-on-unknown", "annotations", "upload-sarif", "sarif-file"):
        assert name in action["inputs"], name
    steps = action["runs"]["steps"]
    scripts = [s.get("run", "") for s in steps]
    # inputs reach the scripts through env variables only, never spliced into the shell text
    assert not any("${{" in script for script in scripts)
    run = next(s for s in steps if s.get("id") == "check")
    assert "--format github" in run["run"] and '"sarif:$IACLINT_SARIF"' in run["run"]
    assert "GITHUB_STEP_SUMMARY" in run["run"] and "markdown:" in run["run"]
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert "inputs.upload-sarif" in upload["if"]
    assert any(s.get("uses", "").startswith("actions/setup-python@") for s in steps)
    assert action["outputs"]["sarif-file"]["value"] == "${{ steps.check.outputs.sarif-file }}"


def test_readme_documents_pre_commit_and_actions():
    readme = (ROOT / "README.md").read_text()
    assert "- id: iaclint" in readme and ".pre-commit-config.yaml" in readme
    assert "uses: " in readme and "upload-sarif" in readme and "security-events: write" in readme
