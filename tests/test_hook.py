"""The pre-commit hook, run by the real pre-commit on staged changes: nothing slips past it.

Each case commits a passing configuration, stages a change that makes it fail without touching the
failing resource's own file (a deletion, a file read by file(), the lock file, the settings), and
checks that `git commit`'s hook run blocks it; the same repository then passes once the change is undone.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import git
from test_cli import iaclint


def repository(tmp_path: Path, hook_runner, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    write(repo, files)
    git("init", "-q", cwd=repo)
    hook_runner.install(repo)
    git("add", ".", cwd=repo)
    subprocess.run(["git", "commit", "-q", "-m", "base"], cwd=repo, env=hook_runner.env, check=True)
    return repo


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)


def blocked(hook_runner, repo: Path, *expected: str) -> str:
    proc = hook_runner.run(repo)  # the staged changes, as `git commit` runs it
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for text in expected:
        assert text in proc.stdout, proc.stdout
    return proc.stdout


def passes(hook_runner, repo: Path) -> str:
    proc = hook_runner.run(repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


CLUSTER = '''resource "aws_neptune_cluster" "graph" {
  cluster_identifier = "graph"
  storage_encrypted  = var.encrypted
  kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

variable "encrypted" {
  type    = bool
  default = false
}
'''


def test_deleting_a_tfvars_file_is_caught(tmp_path, hook_runner):
    repo = repository(tmp_path, hook_runner, {"infra/main.tf": CLUSTER, "infra/terraform.tfvars": "encrypted = true\n",
                                              "README.md": "infra\n"})
    git("rm", "-q", "infra/terraform.tfvars", cwd=repo)
    out = blocked(hook_runner, repo, "NEP001", "infra/terraform.tfvars was deleted")
    assert "infra/main.tf:3" in out
    git("reset", "-q", "--hard", cwd=repo)
    write(repo, {"README.md": "infra, encrypted\n"})
    git("add", "README.md", cwd=repo)
    passes(hook_runner, repo)  # an unrelated change: nothing to check


def test_deleting_an_override_file_is_caught(tmp_path, hook_runner):
    repo = repository(tmp_path, hook_runner, {
        "infra/main.tf": CLUSTER,
        "infra/main_override.tf": 'resource "aws_neptune_cluster" "graph" {\n  storage_encrypted = true\n}\n'})
    git("rm", "-q", "infra/main_override.tf", cwd=repo)
    blocked(hook_runner, repo, "NEP001", "infra/main_override.tf was deleted")


POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*",
     "Resource": "*"}]}
KEY = '''resource "aws_kms_key" "graph" {
  description         = "graph"
  enable_key_rotation = true
  policy              = file("${path.module}/policies/key.json")
}
'''


def test_editing_a_file_read_by_file_is_caught(tmp_path, hook_runner):
    repo = repository(tmp_path, hook_runner, {"infra/main.tf": KEY, "infra/policies/key.json": json.dumps(POLICY),
                                              "other/main.tf": KEY.replace("policies/key.json", "p.json"),
                                              "other/p.json": json.dumps(POLICY)})
    opened = json.loads(json.dumps(POLICY))
    opened["Statement"].append({"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
                                "Resource": "*"})
    write(repo, {"infra/policies/key.json": json.dumps(opened)})
    git("add", "infra/policies/key.json", cwd=repo)
    out = blocked(hook_runner, repo, "KMS004", "infra: it reads infra/policies/key.json, which changed")
    assert "other/" not in out  # the other root reads another file


LOCK = '''provider "registry.terraform.io/hashicorp/aws" {{
  version     = "{version}"
  constraints = ">= 5.0.0"
  hashes = [
    "h1:0000000000000000000000000000000000000000000=",
  ]
}}
'''
REDSHIFT = '''resource "aws_redshift_cluster" "warehouse" {
  cluster_identifier = "warehouse"
  node_type          = "ra3.xlplus"
  kms_key_id         = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}
'''


def test_changing_the_lock_file_is_caught(tmp_path, hook_runner):
    """Redshift encrypts by default from AWS provider v6: downgrading the lock file to v5 turns it off."""
    repo = repository(tmp_path, hook_runner, {"warehouse/main.tf": REDSHIFT,
                                              "warehouse/.terraform.lock.hcl": LOCK.format(version="6.0.0")})
    write(repo, {"warehouse/.terraform.lock.hcl": LOCK.format(version="5.100.0")})
    git("add", "warehouse/.terraform.lock.hcl", cwd=repo)
    blocked(hook_runner, repo, "RSH001", "warehouse/.terraform.lock.hcl changed")


def test_changing_the_settings_var_files_is_caught(tmp_path, hook_runner):
    repo = repository(tmp_path, hook_runner, {
        "infra/main.tf": CLUSTER, "envs/prod.tfvars": "encrypted = true\n", "envs/test.tfvars": "encrypted = false\n",
        ".iaclint.toml": 'var_files = ["envs/prod.tfvars"]\n'})
    write(repo, {".iaclint.toml": 'var_files = ["envs/test.tfvars"]\n'})
    git("add", ".iaclint.toml", cwd=repo)
    blocked(hook_runner, repo, "NEP001", "the settings .iaclint.toml changed")


def test_the_hook_names_the_command_that_applies_what_it_calls_safe(tmp_path, hook_runner):
    old = 'resource "aws_neptune_cluster" "old" {\n  cluster_identifier = "old"\n}\n'
    repo = repository(tmp_path, hook_runner, {"infra/old.tf": old})
    write(repo, {"infra/new.tf": old.replace("old", "new")})
    git("add", "infra/new.tf", cwd=repo)
    out = blocked(hook_runner, repo, "to apply the safe fixes: iaclint fix --base HEAD infra/new.tf")
    assert "aws_neptune_cluster.new) [fix]" in out
    assert not list(Path(repo).glob("infra/*.orig"))
    fixed = iaclint("fix", "--base", "HEAD", "infra/new.tf", cwd=repo)
    assert "applied: NEP001 aws_neptune_cluster.new" in fixed.stdout, fixed.stdout
    assert (repo / "infra" / "old.tf").read_text() == old  # the live cluster is left alone
    git("add", "infra/new.tf", cwd=repo)
    assert "NEP001" not in hook_runner.run(repo).stdout


FLAGGED = '''resource "aws_neptune_cluster" "graph" {
  cluster_identifier = "graph"
  storage_encrypted  = fileexists("${path.module}/flags/encrypted")
  kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}
'''


def staged_check(repo: Path, *files: str):
    """What the hook's entry runs, without pre-commit: the staged files (none for a commit that only deletes)."""
    return iaclint("check", "--base", "HEAD", "--staged", *files, cwd=repo)


def test_deleting_a_file_fileexists_checks_is_caught(tmp_path):
    """fileexists() and fileset() are file functions too: the evaluator records what they resolve, read or
    not, and the cheap scan maps a change under them to the roots that call them."""
    repo = tmp_path / "repo"
    write(repo, {"infra/main.tf": FLAGGED, "infra/flags/encrypted": "", "README.md": "x\n"})
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base", cwd=repo)
    assert staged_check(repo, "README.md").returncode == 0
    git("rm", "-q", "infra/flags/encrypted", cwd=repo)
    proc = staged_check(repo)
    assert proc.returncode == 1 and "NEP001" in proc.stdout, proc.stdout + proc.stderr
    assert "infra: it reads infra/flags/encrypted, which changed" in proc.stdout


def test_a_file_fileset_lists_is_caught_when_added(tmp_path):
    listed = FLAGGED.replace('fileexists("${path.module}/flags/encrypted")',
                             'length(fileset("${path.module}/flags", "*")) == 0')
    repo = tmp_path / "repo"
    write(repo, {"infra/main.tf": listed, "other/main.tf": FLAGGED.replace("graph", "other")})
    write(repo, {"other/flags/encrypted": ""})
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base", cwd=repo)
    write(repo, {"infra/flags/off": ""})
    git("add", "infra/flags/off", cwd=repo)
    proc = staged_check(repo, "infra/flags/off")
    assert proc.returncode == 1 and "aws_neptune_cluster.graph" in proc.stdout, proc.stdout + proc.stderr
    assert "infra: it reads infra/flags/off, which changed" in proc.stdout and "other" not in proc.stdout


def test_a_staged_variables_file_linked_out_of_the_repository_is_not_read(tmp_path):
    """The files a commit stages come from the repository, not from the user: read only inside it."""
    outside = tmp_path / "outside.tfvars"
    outside.write_text("encrypted = false\n")
    repo = tmp_path / "repo"
    write(repo, {"infra/main.tf": CLUSTER.replace("default = false", "default = true")})
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base", cwd=repo)
    (repo / "infra" / "prod.tfvars").symlink_to(outside)
    git("add", "infra/prod.tfvars", cwd=repo)
    proc = staged_check(repo, "infra/prod.tfvars")
    assert proc.returncode == 0 and "NEP001" not in proc.stdout, proc.stdout + proc.stderr
    assert "notice: infra/prod.tfvars is a symbolic link to" in proc.stdout and "it is not read" in proc.stdout


def test_a_root_of_opentofu_files_is_checked_and_deleting_its_tofu_file_is_caught(tmp_path):
    """Under OpenTofu main.tofu replaces main.tf: a commit that edits or deletes the .tofu file changes what
    runs, and the hook maps it to its root like a .tf file (the base is read the same way)."""
    repo = tmp_path / "repo"
    write(repo, {"infra/main.tf": CLUSTER.replace("default = false", "default = true"),
                 "infra/main.tofu": CLUSTER.replace("default = false", "default = true"), "README.md": "x\n"})
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base", cwd=repo)
    write(repo, {"infra/main.tofu": CLUSTER})
    git("add", "infra/main.tofu", cwd=repo)
    proc = iaclint("check", "--base", "HEAD", "--staged", "--opentofu", "infra/main.tofu", cwd=repo)
    assert proc.returncode == 1 and "NEP001" in proc.stdout, proc.stdout + proc.stderr
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "off", cwd=repo)
    # deleting the .tofu file brings main.tf (encrypted) back: the hook sees the deletion and passes
    git("rm", "-q", "infra/main.tofu", cwd=repo)
    proc = iaclint("check", "--base", "HEAD", "--staged", "--opentofu", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "infra/main.tofu was deleted" in proc.stdout + proc.stderr
