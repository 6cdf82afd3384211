"""A scanned tree from a stranger: nothing planted in it redirects a write or a read outside it, settings
above it change nothing, and every path iaclint could not read is reported (issue 19: security 2, the
reading side of 3, 4; reliability 12)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import git
from iaclint.run.fix import run_fix
from iaclint.source import SourceFile, write_atomic, write_files
from iaclint.tree import Tree
from support import ROOT, options, run_unprivileged
from test_cli import assert_no_traceback

CLUSTER = 'resource "aws_neptune_cluster" "c" {\n  cluster_identifier = "c"\n}\n'
BAD = 'resource "aws_db_instance" "bad" {\n}\n'
KEY_OK = 'resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n}\n'
REPORT_SCHEMA = json.loads((ROOT / "iaclint" / "schema" / "report.schema.json").read_text())
AS_ROOT = os.geteuid() == 0


def iaclint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_VAR_")}
    env["IACLINT_NO_CACHE"] = "1"
    return subprocess.run([sys.executable, "-m", "iaclint", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=120)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# ---- writes cannot be redirected (security 2) -------------------------------------------------------


def test_a_link_planted_at_the_old_temporary_name_receives_nothing(tmp_path):
    victim = write(tmp_path, {"outside/victim.txt": "precious data outside the repository\n"}) / "outside/victim.txt"
    repo = write(tmp_path / "repo", {"main.tf": CLUSTER})
    (repo / f".main.tf.iaclint-{os.getpid()}.tmp").symlink_to(victim)  # the name fix used to write to
    outcome = run_fix([str(repo)], options(), unsafe=True)
    assert outcome.written and victim.read_text() == "precious data outside the repository\n"
    assert not (repo / "main.tf").is_symlink() and "storage_encrypted" in (repo / "main.tf").read_text()


def test_temporary_files_are_created_exclusively_and_never_through_a_link(tmp_path, monkeypatch):
    """Whatever name a temporary file gets, a link or file already there is not opened: mkstemp's
    O_CREAT | O_EXCL | O_NOFOLLOW moves on to another name."""
    import tempfile

    victim = write(tmp_path, {"victim.txt": "old\n"}) / "victim.txt"
    repo = write(tmp_path / "repo", {"main.tf": "a = 1\n"})
    (repo / ".main.tf.planted.iaclint.tmp").symlink_to(victim)
    (repo / ".report.json.planted.iaclint.tmp").symlink_to(victim)
    names = iter(["planted", "fresh1", "planted", "fresh2"])
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: names)
    write_files({str(repo / "main.tf"): (SourceFile("main.tf", "a = 1\n"), SourceFile("main.tf", "a = 2\n"))})
    write_atomic(repo / "report.json", b"{}\n")
    assert victim.read_text() == "old\n"
    assert (repo / "main.tf").read_text() == "a = 2\n" and (repo / "report.json").read_text() == "{}\n"
    assert (repo / ".main.tf.planted.iaclint.tmp").is_symlink()  # left as found, not followed or replaced
    assert sorted(p.name for p in repo.iterdir()) == [".main.tf.planted.iaclint.tmp",
                                                       ".report.json.planted.iaclint.tmp", "main.tf", "report.json"]


def test_a_report_file_that_is_a_link_is_refused(tmp_path):
    victim = write(tmp_path, {"victim.txt": "old\n"}) / "victim.txt"
    repo = write(tmp_path / "repo", {"main.tf": BAD})
    (repo / "report.json").symlink_to(victim)
    proc = iaclint("check", ".", "--format", "json:report.json", cwd=repo)
    assert proc.returncode == 2 and "report.json is a symbolic link" in proc.stderr, proc.stderr
    assert victim.read_text() == "old\n" and (repo / "report.json").is_symlink()
    # a report path the user names may be anywhere; a new file gets the usual mode (umask), not 0600
    elsewhere = tmp_path / "reports" / "out.sarif"
    assert iaclint("check", ".", "--format", f"sarif:{elsewhere}", cwd=repo).returncode == 1
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_fix_never_writes_through_links_or_outside_the_tree(tmp_path):
    """Repro 12: linked .tf files and module directories, and a module source that climbs out."""
    outside = write(tmp_path / "outside", {"other.tf": CLUSTER.replace('"c"', '"o"'), "mod/main.tf": CLUSTER,
                                           "up/main.tf": CLUSTER})
    repo = tmp_path / "repo"
    write(repo, {"main.tf": 'module "m" {\n  source = "./moddir"\n}\nmodule "up" {\n  source = "../outside/up"\n}\n'})
    (repo / "link.tf").symlink_to("../outside/other.tf")
    (repo / "moddir").symlink_to("../outside/mod")
    (repo / "passwd.tf").symlink_to("/etc/passwd")
    before = {p: digest(p) for p in (outside / "other.tf", outside / "mod" / "main.tf", outside / "up" / "main.tf")}
    check = iaclint("check", "--format", "json", ".", cwd=repo)
    assert_no_traceback(check)
    assert "root:" not in check.stdout  # nothing of /etc/passwd is shown
    findings = json.loads(check.stdout)["findings"]
    messages = {(f["rule_id"], f["file"]): f["message"] for f in findings}
    assert "is a symbolic link to /etc/passwd, outside the scanned directory" in messages["PARSE", "passwd.tf"]
    assert "is a symbolic link to ../outside/other.tf, outside" in messages["PARSE", "link.tf"]
    assert "is a symbolic link to ../outside/mod, outside" in messages["PARSE", "moddir"]  # not searched
    calls = {f["line"]: f["message"] for f in findings if (f["rule_id"], f["file"]) == ("CONFIG", "main.tf")}
    assert 'module "m": module source ./moddir is a symbolic link to ../outside/mod, outside' in calls[2]
    assert 'module "up": module source ../outside/up is outside the scanned directory' in calls[5]
    assert all(text.endswith("nothing in it is checked") for text in calls.values())
    fix = iaclint("fix", "--unsafe-fixes", ".", cwd=repo)
    assert fix.returncode == 1 and "0 failing findings left" not in fix.stdout
    assert {p: digest(p) for p in before} == before


def test_a_fix_to_a_file_outside_the_tree_is_rejected_naming_the_file(tmp_path):
    """A --var-file the user named outside the repository is read, but fix does not write it."""
    write(tmp_path, {"shared/prod.tfvars": "encrypted = false\n"})
    repo = write(tmp_path / "repo", {"main.tf": 'variable "encrypted" {\n  type = bool\n}\n'
                                                'resource "aws_neptune_cluster" "g" {\n  cluster_identifier = "g"\n'
                                                '  storage_encrypted  = var.encrypted\n}\n'})
    proc = iaclint("fix", "--unsafe-fixes", "--select", "NEP001", "--var-file", "../shared/prod.tfvars", ".",
                   cwd=repo)
    assert proc.returncode == 1
    assert (f"fix rejected: {tmp_path / 'shared' / 'prod.tfvars'} is outside the scanned directory (.); iaclint fix "
            "writes only inside it, not fixed") in proc.stdout
    assert (tmp_path / "shared" / "prod.tfvars").read_text() == "encrypted = false\n"


def test_tree_refuses_links_and_files_outside_it_by_name(tmp_path):
    repo = write(tmp_path / "repo", {"real/main.tf": CLUSTER, "ro.tf": CLUSTER})
    write(tmp_path, {"outside.tf": CLUSTER})
    (repo / "link.tf").symlink_to("real/main.tf")
    (repo / "linked").symlink_to("real")
    os.chmod(repo / "ro.tf", 0o444)
    tree = Tree.of(repo)
    assert tree.why_not_written(repo / "real" / "main.tf") == ""
    assert tree.why_not_written(repo / "link.tf") == "is a symbolic link; iaclint fix does not write through links"
    assert tree.why_not_written(repo / "linked" / "main.tf") == ("is reached through a symbolic link; iaclint fix "
                                                                 "does not write through links")
    assert tree.why_not_written(tmp_path / "outside.tf").startswith("is outside the scanned directory (")
    assert tree.why_not_written(repo / "ro.tf") == "is read-only"
    assert tree.why_not_read(repo / "link.tf") == ""  # a link inside the tree is read, at its real path


def test_a_link_to_a_file_inside_the_tree_is_fixed_at_its_real_path(tmp_path):
    repo = write(tmp_path / "repo", {"shared/cluster.tf.txt": CLUSTER, "app/other.tf": ""})
    git("init", "-q", cwd=repo)
    (repo / "app" / "cluster.tf").symlink_to("../shared/cluster.tf.txt")
    outcome = run_fix([str(repo / "app")], options(), unsafe=True)
    assert outcome.written and (repo / "app" / "cluster.tf").is_symlink()
    assert "storage_encrypted" in (repo / "shared" / "cluster.tf.txt").read_text()


# ---- reads stay inside the tree (security 3, the files iaclint loads) ----------------------------------


def test_a_link_into_git_metadata_is_not_read(tmp_path):
    """.git/config holds the CI checkout's token: a .tf link to it is refused like a link out of the tree."""
    repo = write(tmp_path / "repo", {"main.tf": KEY_OK})
    git("init", "-q", cwd=repo)
    git("config", "http.https://github.com/.extraheader", "AUTHORIZATION: basic c2VjcmV0LXRva2Vu", cwd=repo)
    (repo / "config.tf").symlink_to(".git/config")
    proc = iaclint("check", "--compact", ".", cwd=repo)
    assert "c2VjcmV0LXRva2Vu" not in proc.stdout and "[core]" not in proc.stdout
    assert "config.tf:1:1: PARSE" in proc.stdout and "is a symbolic link to .git/config, inside .git" in proc.stdout


def test_variables_files_linked_outside_the_tree_are_not_read(tmp_path):
    write(tmp_path, {"secret.tfvars": 'key = "hunter2-secret"\n'})
    repo = write(tmp_path / "repo", {"main.tf": 'variable "key" {}\nresource "aws_db_instance" "x" {\n'
                                                '  storage_encrypted = true\n  kms_key_id        = var.key\n}\n'})
    (repo / "terraform.tfvars").symlink_to("../secret.tfvars")
    (repo / "broken.auto.tfvars").symlink_to("missing.tfvars")
    proc = iaclint("check", "--format", "json", ".", cwd=repo)
    assert "hunter2" not in proc.stdout + proc.stderr
    messages = {f["file"]: f["message"] for f in json.loads(proc.stdout)["findings"] if f["rule_id"] == "PARSE"}
    assert "this variables file is a symbolic link to ../secret.tfvars, outside" in messages["terraform.tfvars"]
    assert "is a broken symbolic link (to missing.tfvars)" in messages["broken.auto.tfvars"]


def test_a_pipe_named_like_configuration_is_never_opened(tmp_path):
    repo = write(tmp_path / "repo", {"main.tf": KEY_OK})
    os.mkfifo(repo / "stream.tf")  # opening it would wait for a writer forever
    proc = iaclint("check", "--compact", ".", cwd=repo)
    assert proc.returncode == 1 and "stream.tf:1:1: PARSE" in proc.stdout and "not a regular file" in proc.stdout


def test_terraform_s_own_files_are_read_only_inside_the_tree(tmp_path):
    """The module manifest and the lock file are read like configuration: a link to /dev/zero would never end,
    a link out of the tree is not followed, and the report says so."""
    write(tmp_path, {"outside.hcl": 'provider "registry.terraform.io/hashicorp/aws" {\n  version = "5.1.0"\n}\n'})
    repo = write(tmp_path / "repo", {"main.tf": KEY_OK, ".terraform/modules/.keep": ""})
    git("init", "-q", cwd=repo)
    (repo / ".terraform" / "modules" / "modules.json").symlink_to("/dev/zero")
    (repo / ".terraform.lock.hcl").symlink_to(tmp_path / "outside.hcl")
    proc = iaclint("check", "-f", "json", ".", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert any(n.startswith(".terraform/modules/modules.json is a symbolic link to /dev/zero, outside the "
                            "repository") for n in data["notices"])
    aws = next(p for p in data["providers"] if p["name"] == "aws")
    assert aws["version"] is None and ".terraform.lock.hcl is a symbolic link to " in aws["decided_by"]



def test_a_file_below_a_directory_linked_out_of_the_tree_is_not_read(tmp_path):
    """A file named by a path rather than found by a listing (.terraform/modules/modules.json, a Terragrunt
    include) is read only when its directory is inside the tree: a linked .terraform, or an include of
    /tmp/x.hcl, leads out of it although the file itself is no link."""
    outside = write(tmp_path / "outside", {
        "modules/modules.json": '{"Modules": [{"Key": "db", "Source": "./x", "Dir": "/etc"}]}',
        "secret.hcl": "inputs = {\n  storage_encrypted = false\n}\n"})
    repo = write(tmp_path / "repo", {
        "main.tf": KEY_OK,
        "live/db/terragrunt.hcl": f'include "x" {{\n  path = "{outside / "secret.hcl"}"\n}}\n\n'
                                  'terraform {\n  source = "../../modules//db"\n}\n',
        "modules/db/main.tf": 'variable "storage_encrypted" {\n  default = true\n}\n\nresource "aws_db_instance" '
                              '"d" {\n  identifier        = "d"\n  storage_encrypted = var.storage_encrypted\n}\n'})
    git("init", "-q", cwd=repo)
    (repo / ".terraform").symlink_to(outside)
    tree = Tree.of(repo)
    assert "outside" in tree.why_not_read(repo / ".terraform" / "modules" / "modules.json")
    proc = iaclint("check", "-f", "json", ".", cwd=repo)
    data = json.loads(proc.stdout)
    assert any("modules.json is in a directory that is outside the repository" in n
               for n in data["notices"]), data["notices"]
    rds = [f for f in data["findings"] if f["rule_id"] == "RDS002"]
    assert rds and all(f["verdict"] == "unknown" for f in rds), rds  # never the outside file's false
    assert "secret.hcl is in a directory that is outside the repository" in json.dumps(data["findings"])


# ---- settings (security 4) ----------------------------------------------------------------------------


def test_settings_above_the_repository_are_ignored_and_the_one_used_is_named(tmp_path):
    write(tmp_path, {".iaclint.toml": 'exclude = ["*"]\n', "ci/repo/infra/main.tf": BAD})
    repo = tmp_path / "ci" / "repo"
    git("init", "-q", cwd=repo)
    proc = iaclint("check", "--compact", "infra", cwd=repo)
    assert proc.returncode == 1 and "RDS002" in proc.stdout and "settings:" not in proc.stdout
    data = json.loads(iaclint("check", "-f", "json", "infra", cwd=repo).stdout)
    assert data["settings"] is None
    jsonschema.validate(data, REPORT_SCHEMA)
    # settings at the repository's top level are found from below, used, and named
    write(repo, {"pyproject.toml": '[tool.iaclint]\nignore = ["RDS003"]\n'})
    proc = iaclint("check", "infra", cwd=repo)
    assert proc.stdout.splitlines()[0] == "settings: pyproject.toml"
    data = json.loads(iaclint("check", "-f", "json", "infra", cwd=repo).stdout)
    assert data["settings"] == "pyproject.toml"
    jsonschema.validate(data, REPORT_SCHEMA)
    assert "settings: pyproject.toml" in iaclint("fix", "infra", cwd=repo).stdout


def test_without_a_repository_only_the_scanned_directory_holds_settings(tmp_path):
    write(tmp_path, {".iaclint.toml": 'exclude = ["*"]\n', "scan/main.tf": BAD})
    proc = iaclint("check", "--compact", "scan", cwd=tmp_path)
    assert proc.returncode == 1 and "RDS002" in proc.stdout
    write(tmp_path, {"scan/.iaclint.toml": 'select = ["RDS003"]\n'})
    proc = iaclint("check", "--compact", "scan", cwd=tmp_path)
    assert "settings: scan/.iaclint.toml" in proc.stdout and "RDS002" not in proc.stdout


def test_a_settings_file_linked_out_of_the_repository_is_refused(tmp_path):
    repo = write(tmp_path / "repo", {"main.tf": BAD})
    git("init", "-q", cwd=repo)
    (repo / ".iaclint.toml").symlink_to("/dev/zero")  # read, it would never end
    proc = iaclint("check", ".", cwd=repo)
    assert proc.returncode == 2 and ".iaclint.toml: this settings file is a symbolic link to /dev/zero" in proc.stderr


def test_settings_var_files_must_stay_inside_the_repository(tmp_path):
    repo = write(tmp_path / "repo", {"main.tf": BAD})
    git("init", "-q", cwd=repo)
    write(repo, {"pyproject.toml": '[tool.iaclint]\nvar_files = ["/etc/passwd"]\n'})
    proc = iaclint("check", ".", cwd=repo)
    assert proc.returncode == 2 and "var_files: /etc/passwd is outside the repository" in proc.stderr
    assert "root:" not in proc.stdout + proc.stderr
    (repo / "env.tfvars").symlink_to("/etc/passwd")  # a link inside the repository counts where it leads
    write(repo, {"pyproject.toml": '[tool.iaclint]\nvar_files = ["env.tfvars"]\n'})
    proc = iaclint("check", ".", cwd=repo)
    assert proc.returncode == 2 and "var_files: env.tfvars is outside" in proc.stderr
    # the user may still name any file on the command line
    write(tmp_path, {"prod.tfvars": "x = 1\n", "empty.toml": ""})
    assert iaclint("check", ".", "--var-file", str(tmp_path / "prod.tfvars"), "--config", str(tmp_path / "empty.toml"),
                   cwd=repo).returncode == 1


def test_settings_rules_folders_must_stay_inside_the_repository(tmp_path):
    """A rules folder is read like variables files: a repository's settings may not point it at /etc."""
    repo = write(tmp_path / "repo", {"main.tf": BAD})
    git("init", "-q", cwd=repo)
    write(repo, {".iaclint.toml": 'rules = ["/etc"]\n'})
    proc = iaclint("check", ".", cwd=repo)
    assert proc.returncode == 2 and "rules: /etc is outside the repository" in proc.stderr
    assert "(name others with --rules-dir)" in proc.stderr
    (repo / "policies").symlink_to(tmp_path)  # a link inside the repository counts where it leads
    write(repo, {".iaclint.toml": 'rules = ["policies"]\n'})
    proc = iaclint("check", ".", cwd=repo)
    assert proc.returncode == 2 and "rules: policies is outside the repository" in proc.stderr


# ---- no silent miss (reliability 12) ------------------------------------------------------------------


def test_broken_links_and_links_out_of_the_tree_are_findings(tmp_path):
    write(tmp_path, {"b/ok.tf": KEY_OK, "c/real/ok.tf": KEY_OK, "d-target/bad.tf": BAD})
    (tmp_path / "b" / "bad.tf").symlink_to("missing.tf")
    (tmp_path / "c" / "prod").symlink_to("../d-target")
    broken = iaclint("check", "--compact", "b", cwd=tmp_path)
    assert broken.returncode == 1 and "b/bad.tf:1:1: PARSE" in broken.stdout
    assert "is a broken symbolic link (to missing.tf)" in broken.stdout
    linked = iaclint("check", "--compact", "c", cwd=tmp_path)
    assert linked.returncode == 1 and "c/prod:1:1: PARSE" in linked.stdout
    assert "is a symbolic link to ../d-target, outside the scanned directory (c)" in linked.stdout


def test_a_linked_directory_inside_the_repository_is_searched(tmp_path):
    repo = write(tmp_path / "repo", {"stacks/prod/main.tf": BAD, "live/ok/main.tf": KEY_OK})
    git("init", "-q", cwd=repo)
    (repo / "live" / "prod").symlink_to("../stacks/prod")
    (repo / "live" / "loop").symlink_to("..")  # a link to an ancestor ends the search, it does not loop
    data = json.loads(iaclint("check", "-f", "json", "live", cwd=repo).stdout)
    assert {(f["rule_id"], f["file"]) for f in data["findings"]} == {("RDS002", "stacks/prod/main.tf")}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_unreadable_directories_and_files_are_findings_for_an_ordinary_user(public_tmp):
    """Run as nobody (root reads everything, so as root this would pass whatever iaclint did)."""
    write(public_tmp, {"a/ok.tf": KEY_OK, "a/prod/bad.tf": BAD, "e/ok.tf": KEY_OK, "e/secret.tf": BAD})
    for path in (public_tmp, public_tmp / "a", public_tmp / "e"):
        os.chmod(path, 0o755)
    os.chmod(public_tmp / "a" / "prod", 0)
    os.chmod(public_tmp / "e" / "secret.tf", 0)
    try:
        directory = run_unprivileged(["check", "--no-cache", "--compact", "a"], public_tmp)
        file = run_unprivileged(["check", "--no-cache", "--compact", "e"], public_tmp)
        whole = run_unprivileged(["check", "--no-cache", "a/prod"], public_tmp)
    finally:
        os.chmod(public_tmp / "a" / "prod", 0o755)
        os.chmod(public_tmp / "e" / "secret.tf", 0o644)
    assert directory.returncode == 1, directory
    assert "a/prod:1:1: PARSE" in directory.stdout and "cannot be read (Permission denied)" in directory.stdout
    assert file.returncode == 1 and "e/secret.tf:1:1: PARSE" in file.stdout and "Permission denied" in file.stdout
    assert whole.returncode == 2 and "a/prod: cannot read the directory: Permission denied" in whole.stderr


@pytest.mark.skipif(not AS_ROOT, reason="needs root, to run as another user inside a folder that user cannot search")
def test_a_parent_that_cannot_be_searched_is_a_usage_error_not_an_internal_error(public_tmp):
    """Repro 15: sudo -u from a private folder; run as nobody."""
    private = public_tmp / "private"
    write(private, {"repo/main.tf": BAD})
    os.chmod(public_tmp, 0o755)
    os.chmod(private / "repo", 0o777)
    os.chmod(private / "repo" / "main.tf", 0o644)
    os.chmod(private, 0o700)  # nobody cannot search it
    try:
        outcome = run_unprivileged(["check", "--no-cache", "."], private / "repo")
    finally:
        os.chmod(private, 0o755)
    assert outcome.returncode == 2, outcome
    assert "internal error" not in outcome.stderr
    assert "cannot be reached (Permission denied): a parent directory cannot be searched" in outcome.stderr


def test_the_trees_real_paths_are_realpaths_whatever_the_links_and_dots(tmp_path, monkeypatch):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "elsewhere" / "c").mkdir(parents=True)
    (tmp_path / "a" / "link").symlink_to(tmp_path / "elsewhere")  # a folder link on the way
    (tmp_path / "a" / "b" / "up").symlink_to("../../elsewhere/c")  # a relative link
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    monkeypatch.chdir(tmp_path / "a")
    tree = Tree.of(tmp_path)
    asked = ["link/c", "link/c/../..", "b/up", "b/up/x.tf", "b/../link/c", "./b", str(tmp_path / "a" / "link"),
             "missing/deeper", "link/missing", str(tmp_path / "loop"), "/", "."]
    for path in asked * 2:  # the second time from what the tree remembers
        assert tree.real(path) == Path(os.path.realpath(path)), path


def test_a_folder_that_cannot_be_listed_is_said_so_each_time_it_is_asked(tmp_path):
    tree = Tree.of(tmp_path)
    (tmp_path / "f.tf").write_text("")
    assert [e.name for e in tree.entries(tmp_path)] == ["f.tf"]
    for _ in range(2):
        with pytest.raises(FileNotFoundError):
            tree.entries(tmp_path / "missing")
    assert tree.read_bytes(tmp_path / "f.tf", keep=True) == b""
    (tmp_path / "f.tf").write_text("changed")
    assert tree.read_bytes(tmp_path / "f.tf") == b""  # kept for its next reader, who takes it
    assert tree.read_bytes(tmp_path / "f.tf") == b"changed"
