"""Terragrunt units and modules iaclint cannot read: what a terragrunt.hcl sets, that it never runs anything, and
that a module left unread (MOD001) is acted on like any finding."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from iaclint.model import Verdict
from support import RULE_FIXTURES, ROOT, run

MODULE = """
variable "storage_encrypted" {
  type    = bool
  default = true
}

variable "tags" {
  type    = map(string)
  default = {}
}

resource "aws_db_instance" "this" {
  identifier        = "orders"
  engine            = "postgres"
  instance_class    = "db.t3.micro"
  allocated_storage = 20
  storage_encrypted = var.storage_encrypted
  tags              = var.tags
}
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _origin(finding) -> tuple[str, str]:
    info = finding.origin_info()
    return info["kind"], info["file"]


def _rds002(report):
    return [f for f in report.findings if f.rule_id == "RDS002"]


def _unit(tmp_path: Path, unit: str, **extra: str) -> Path:
    return _write(tmp_path, {"modules/db/main.tf": MODULE, "live/db/terragrunt.hcl": unit, **extra})


def test_inputs_override_the_module_default(tmp_path):
    _unit(tmp_path, 'terraform {\n  source = "../../modules//db"\n}\n\ninputs = {\n  storage_encrypted = false\n}\n')
    [finding] = _rds002(run([tmp_path], select={"RDS002"}))
    assert finding.verdict is Verdict.FAIL
    kind, file = _origin(finding)
    assert kind == "terragrunt_input" and file.endswith("live/db/terragrunt.hcl")
    # without the unit, the module alone passes: the verdict comes from terragrunt.hcl
    assert _rds002(run([tmp_path / "modules/db"], select={"RDS002"})) == []


def test_the_modules_directory_is_not_a_root_of_its_own(tmp_path):
    _unit(tmp_path, 'terraform {\n  source = "../../modules//db"\n}\n')
    report = run([tmp_path], select={"RDS002"})
    assert [os.path.basename(r) for r in report.roots] == ["db"] and report.roots[0].endswith("live/db")


def test_include_merges_parent_inputs_shallow_and_deep(tmp_path):
    parent = 'inputs = {\n  storage_encrypted = false\n  tags = { team = "a", env = "x" }\n}\n'
    child = ('include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n\nterraform {\n'
             '  source = "../../modules//db"\n}\n\ninputs = {\n  tags = { env = "prod" }\n}\n')
    _unit(tmp_path, child, **{"root.hcl": parent})
    [finding] = _rds002(run([tmp_path], select={"RDS002"}))
    assert finding.verdict is Verdict.FAIL and _origin(finding)[1].endswith("root.hcl")  # the parent's input
    # the child's own input wins over the parent's
    _unit(tmp_path, child.replace('tags = { env = "prod" }', "storage_encrypted = true"), **{"root.hcl": parent})
    assert _rds002(run([tmp_path], select={"RDS002"})) == []


def test_include_merge_deep_and_no_merge(tmp_path):
    from iaclint.graph.config import ConfigLoader
    from iaclint.graph.terragrunt import read_unit
    from iaclint.tree import Tree

    parent = 'inputs = {\n  tags = { team = "a", env = "x" }\n  storage_encrypted = false\n}\n'
    child = ('include "root" {\n  path           = find_in_parent_folders("root.hcl")\n  merge_strategy = "STRATEGY"\n'
             '}\n\ninputs = {\n  tags = { env = "prod" }\n}\n')
    for strategy, tags, has_parent in (("deep", {"team": "a", "env": "prod"}, True),
                                       ("shallow", {"env": "prod"}, True), ("no_merge", {"env": "prod"}, False)):
        _unit(tmp_path, child.replace("STRATEGY", strategy), **{"root.hcl": parent})
        unit = read_unit(tmp_path / "live/db", ConfigLoader(tree=Tree.of(tmp_path)), Tree.of(tmp_path))
        assert {k: v.raw for k, v in unit.inputs["tags"].raw.items()} == tags, strategy
        assert ("storage_encrypted" in unit.inputs) == has_parent


def test_terragrunt_functions_relative_to_the_include(tmp_path):
    from iaclint.graph.config import ConfigLoader
    from iaclint.graph.terragrunt import read_unit
    from iaclint.tree import Tree

    parent = ('locals {\n  key = "${path_relative_to_include()}/state"\n}\n\ninputs = {\n  key = local.key\n'
              '  back = path_relative_from_include()\n  parent = get_parent_terragrunt_dir()\n}\n')
    child = ('include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n\nlocals {\n'
             '  env = read_terragrunt_config(find_in_parent_folders("env.hcl"))\n}\n\ninputs = {\n'
             '  env = local.env.locals.name\n  team = include.root.locals.key\n  here = get_terragrunt_dir()\n}\n')
    _unit(tmp_path, child, **{"root.hcl": parent, "live/env.hcl": 'locals {\n  name = "prod"\n}\n'})
    unit = read_unit(tmp_path / "live/db", ConfigLoader(tree=Tree.of(tmp_path)), Tree.of(tmp_path))
    raw = {k: v.raw for k, v in unit.inputs.items()}
    top = tmp_path.resolve()
    assert raw == {"key": "live/db/state", "back": "../..", "parent": str(top), "env": "prod",
                   "team": "live/db/state", "here": str(top / "live/db")}


def test_nothing_in_terragrunt_hcl_is_run_and_the_environment_is_not_read(tmp_path):
    marker = tmp_path / "ran"
    unit = ('locals {\n  from_cmd = run_cmd("sh", "-c", "touch ' + str(marker) + '; echo false")\n}\n\n'
            'terraform {\n  source = "../../modules//db"\n\n  before_hook "x" {\n    commands = ["plan"]\n'
            '    execute  = ["touch", "' + str(marker) + '"]\n  }\n}\n\ninputs = {\n  storage_encrypted = local.from_cmd\n'
            '  tags = { secret = get_env("IACLINT_TEST_SECRET", "none") }\n}\n')
    _unit(tmp_path, unit)
    report = run([tmp_path], select={"RDS002"}, environ={"IACLINT_TEST_SECRET": "hunter2"})
    [finding] = _rds002(report)
    assert finding.verdict is Verdict.UNKNOWN and "run_cmd() runs a command" in finding.message
    assert not marker.exists()
    from iaclint.graph.config import ConfigLoader
    from iaclint.graph.terragrunt import read_unit
    from iaclint.tree import Tree

    os.environ["IACLINT_TEST_SECRET"] = "hunter2"
    try:
        read = read_unit(tmp_path / "live/db", ConfigLoader(tree=Tree.of(tmp_path)), Tree.of(tmp_path))
    finally:
        del os.environ["IACLINT_TEST_SECRET"]
    secret = read.inputs["tags"].raw["secret"]
    assert not secret.known and "get_env() reads an environment variable" in secret.unknown


def test_dependency_outputs_and_a_missing_include_are_unknown_not_defaults(tmp_path):
    unit = ('include "root" {\n  path = find_in_parent_folders("missing.hcl", "gone.hcl")\n}\n\n'
            'terraform {\n  source = "../../modules//db"\n}\n')
    _unit(tmp_path, unit)
    report = run([tmp_path], select={"RDS002", "CONFIG"})
    [finding] = _rds002(report)  # the included file may set storage_encrypted: the default is not assumed
    assert finding.verdict is Verdict.UNKNOWN and "gone.hcl" in finding.message
    dependency = ('dependency "kms" {\n  config_path = "../kms"\n}\n\nterraform {\n  source = "../../modules//db"\n'
                  '}\n\ninputs = {\n  storage_encrypted = dependency.kms.outputs.enabled\n}\n')
    _unit(tmp_path, dependency)
    [finding] = _rds002(run([tmp_path], select={"RDS002"}))
    assert finding.verdict is Verdict.UNKNOWN and "dependency.kms" in finding.message


def test_the_units_own_tf_files_are_copied_over_the_module(tmp_path):
    override = MODULE.replace("default = true", "default = false")
    _unit(tmp_path, 'terraform {\n  source = "../../modules//db"\n}\n', **{"live/db/main.tf": override})
    [finding] = _rds002(run([tmp_path], select={"RDS002"}))
    assert finding.verdict is Verdict.FAIL and _origin(finding)[1].endswith("live/db/main.tf")


# ---- MOD001 is a finding like any other --------------------------------------------------------------------------

def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_VAR_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "iaclint", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=120)


def test_a_module_not_downloaded_fails_the_run_with_fail_on_unknown_and_shows_under_quiet(tmp_path):
    case = shutil.copytree(RULE_FIXTURES / "MOD001/fail_terragrunt_not_downloaded", tmp_path / "case")
    plain = _cli("check", ".", cwd=case)
    assert plain.returncode == 0 and "MOD001" in plain.stdout
    strict = _cli("check", ".", "--fail-on-unknown", "-q", cwd=case)
    assert strict.returncode == 1 and "root.hcl:4:3: MOD001" in strict.stdout
    above = _cli("check", ".", "--fail-on-unknown", "--severity-threshold", "high", cwd=case)
    assert above.returncode == 0  # MOD001 is medium: below the threshold it does not fail the run


def test_a_module_not_downloaded_is_suppressible_on_its_block(tmp_path):
    case = shutil.copytree(RULE_FIXTURES / "MOD001/fail_terragrunt_not_downloaded", tmp_path / "case")
    root = case / "root.hcl"
    root.write_text(root.read_text().replace("terraform {", '# iaclint:ignore MOD001 reason="checked upstream"\n'
                                                            "terraform {"))
    proc = _cli("check", ".", "--fail-on-unknown", cwd=case)
    assert proc.returncode == 0, proc.stdout


def test_a_changed_terragrunt_file_stands_for_the_units_it_affects(tmp_path, monkeypatch):
    unit = ('include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n\nterraform {\n'
            '  source = "../../modules//db"\n}\n')
    _unit(tmp_path, unit, **{"root.hcl": "inputs = {\n  storage_encrypted = false\n}\n",
                             "live/other/terragrunt.hcl": unit})
    monkeypatch.chdir(tmp_path)
    own = run(["live/db/terragrunt.hcl"], select={"RDS002"})
    assert [r for r in own.roots] == ["live/db"] and len(_rds002(own)) == 1
    parent = run(["root.hcl"], select={"RDS002"})
    assert sorted(parent.roots) == ["live/db", "live/other"]
    assert sorted(f.root for f in _rds002(parent)) == ["live/db", "live/other"]  # the module, through each unit


def test_cache_copies_are_named_as_terragrunt_names_them():
    """tf/source.go: the URL before `//` as go-getter's detectors write it, without its query; the version file
    holds the SHA-1 of the query (both base64url, unpadded)."""
    from iaclint.graph.terragrunt import canonical_root, encode_base64_sha1

    ssh = "git::ssh://git@github.com/acme/modules.git"
    assert canonical_root("git::git@github.com:acme/modules.git//db?ref=v1") == (ssh, "ref=v1")
    assert canonical_root("git::ssh://git@github.com/acme/modules.git//db?ref=v1") == (ssh, "ref=v1")
    https = "git::https://github.com/acme/modules.git"
    assert canonical_root("github.com/acme/modules//db?ref=v1") == (https, "ref=v1")
    assert canonical_root("https://github.com/acme/modules.git//db?ref=v1") == (https, "ref=v1")
    assert canonical_root("tfr:///terraform-aws-modules/vpc/aws?version=5.0.0") == (
        "tfr:///terraform-aws-modules/vpc/aws", "version=5.0.0")
    assert canonical_root("acme/modules/aws") is None  # not something Terragrunt downloads as written
    assert encode_base64_sha1("") == "2jmj7l5rSw0yVb_vlWAYkK_YBwk"  # sha1 of nothing, as Go's RawURLEncoding


def test_the_hook_maps_a_staged_terragrunt_file_to_its_units(tmp_path):
    """`check --base HEAD --staged` (the pre-commit entry) is given every changed file: a terragrunt.hcl stands
    for its unit, a file units include (root.hcl) for every unit, a deleted one too; nothing is called safe
    to replace, since the unit's base is not read."""
    from test_cli import iaclint
    from conftest import git

    unit = ('include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n\nterraform {\n'
            '  source = "../../modules//db"\n}\n')
    _unit(tmp_path, unit, **{"root.hcl": "inputs = {\n  storage_encrypted = true\n}\n",
                             "live/other/terragrunt.hcl": unit})
    git("init", "-q", cwd=tmp_path)
    git("add", ".", cwd=tmp_path)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base", cwd=tmp_path)
    _write(tmp_path, {"root.hcl": "inputs = {\n  storage_encrypted = false\n}\n"})
    git("add", "root.hcl", cwd=tmp_path)
    proc = iaclint("check", "--base", "HEAD", "--staged", "root.hcl", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    import json

    report = json.loads(proc.stdout)
    failing = [f for f in report["findings"] if f["rule_id"] == "RDS002" and f["verdict"] == "fail"]
    assert sorted(f["root"] for f in failing) == ["live/db", "live/other"]
    assert failing[0]["fix"] and all(f["fix"]["applicability"] == "unsafe" for f in failing), failing
    assert "Terragrunt unit" in json.dumps(failing)
    git("reset", "-q", "--hard", cwd=tmp_path)
    git("rm", "-q", "live/other/terragrunt.hcl", cwd=tmp_path)  # a deletion is never passed by pre-commit
    proc = iaclint("check", "--base", "HEAD", "--staged", cwd=tmp_path)
    assert "live/other/terragrunt.hcl was deleted" in proc.stdout + proc.stderr
