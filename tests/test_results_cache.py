"""Kept results of root modules (run/results.py): a warm `check` reuses a root's findings only while every input it
read is unchanged, and its report is the one a run without any cache gives."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from iaclint.engine.rules import use_rule_folders
from iaclint.engine.runner import RuleSelection
from iaclint.formatters import render
from iaclint.run.pipeline import run_check
from support import options
from test_user_rules import rule_text

MAIN = '''variable "enc" {
  type = bool
}

variable "enc_env" {
  type    = bool
  default = true
}

module "m" {
  source = "./mod"
  enc    = var.enc
}

resource "aws_ebs_volume" "from_file" {
  availability_zone = "eu-west-1a"
  size              = 1
  encrypted         = trimspace(file("${path.module}/enc.txt")) == "true"
}

resource "aws_ebs_volume" "from_env" {
  availability_zone = "eu-west-1a"
  size              = 1
  encrypted         = var.enc_env
}

resource "aws_ebs_volume" "by_workspace" {
  availability_zone = "eu-west-1a"
  size              = 1
  encrypted         = terraform.workspace == "default"
}

resource "aws_rds_cluster" "orders" {
  engine            = "aurora-postgresql"
  storage_encrypted = true
}
'''

MODULE = '''variable "enc" {
  type = bool
}

resource "aws_ebs_volume" "m" {
  availability_zone = "eu-west-1a"
  size              = 1
  encrypted         = var.enc
}
'''

PLAIN_VOLUME = 'resource "aws_ebs_volume" "{name}" {{\n  availability_zone = "eu-west-1a"\n  size = 1\n}}\n'


@pytest.fixture()
def tree(tmp_path, monkeypatch) -> Path:
    """A root that reads every kind of input: a module, tfvars, a file() target, TF_VAR_, the workspace."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("IACLINT_NO_CACHE", raising=False)
    repo = tmp_path / "repo"
    (repo / "root" / "mod").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "root" / "main.tf").write_text(MAIN)
    (repo / "root" / "terraform.tfvars").write_text("enc = true\n")
    (repo / "root" / "enc.txt").write_text("true\n")
    (repo / "root" / "mod" / "main.tf").write_text(MODULE)
    monkeypatch.chdir(repo)
    yield repo
    use_rule_folders([])


def _check(cache: bool = True, environ: dict | None = None, **kwargs) -> tuple[str, int]:
    """The JSON and text reports of `check root` (with kept results unless ``cache`` is off), and how many roots
    reused their kept result."""
    from iaclint import source

    source._DISPLAYED.clear()  # a command line runs once per process: nothing it resolved is kept between runs
    source._real_cwd.cache_clear()
    opts = options(environ=environ or {}, cache=cache, reuse_results=True, **kwargs)
    run = run_check(["root"], opts)
    report = json.loads(render("json", run.report))
    report.pop("duration_seconds", None)
    text = render("text", run.report)
    hits = run.results.hits if run.results is not None else 0
    return json.dumps(report, sort_keys=True) + "\n" + text, hits


def _warm_sees(change, **kwargs) -> None:
    """Cold, then warm (reused), then ``change``: the next run must not reuse, must give the report a run
    without cache gives, and that report must differ from before (the change matters)."""
    before, _ = _check(**kwargs)
    again, hits = _check(**kwargs)
    assert hits == 1 and again == before  # reused, and the same
    changed = change()
    new_kwargs = changed if isinstance(changed, dict) else kwargs
    after, hits = _check(**new_kwargs)
    fresh, _ = _check(cache=False, **new_kwargs)
    assert hits == 0
    assert after == fresh
    assert after != before
    kept, hits = _check(**new_kwargs)  # and the new result is kept in its turn
    assert hits == 1 and kept == fresh


def test_a_changed_tf_file_is_seen(tree):
    _warm_sees(lambda: (tree / "root" / "main.tf").write_text(MAIN.replace('engine            = "aurora-postgresql"\n',
                                                                            "")))


def test_a_changed_tfvars_file_is_seen(tree):
    _warm_sees(lambda: (tree / "root" / "terraform.tfvars").write_text("enc = false\n"))


def test_a_changed_module_file_is_seen(tree):
    _warm_sees(lambda: (tree / "root" / "mod" / "main.tf").write_text(MODULE.replace("var.enc\n", "false\n")))


def test_a_changed_file_read_by_file_is_seen(tree):
    _warm_sees(lambda: (tree / "root" / "enc.txt").write_text("false\n"))


def test_a_changed_tf_var_environment_variable_is_seen(tree):
    _warm_sees(lambda: {"environ": {"TF_VAR_enc_env": "false"}})


def test_a_new_file_in_the_root_and_in_a_module_is_seen(tree):
    _warm_sees(lambda: (tree / "root" / "extra.tf").write_text(PLAIN_VOLUME.format(name="extra")))
    _warm_sees(lambda: (tree / "root" / "mod" / "extra.tf").write_text(PLAIN_VOLUME.format(name="extra")))


def test_a_new_auto_tfvars_file_is_seen(tree):
    _warm_sees(lambda: (tree / "root" / "z.auto.tfvars").write_text("enc = false\n"))


def test_a_deleted_file_is_seen(tree):
    (tree / "root" / "extra.tf").write_text(PLAIN_VOLUME.format(name="extra"))
    _warm_sees(lambda: (tree / "root" / "extra.tf").unlink())


def test_the_workspace_is_seen(tree):
    _warm_sees(lambda: {"workspace": "prod"})
    (tree / "root" / ".terraform").mkdir()
    _warm_sees(lambda: (tree / "root" / ".terraform" / "environment").write_text("staging"))
    _warm_sees(lambda: {"environ": {"TF_WORKSPACE": "qa"}})


def test_select_and_ignore_are_seen(tree):
    _warm_sees(lambda: {"selection": RuleSelection(select={"EBS001"})})
    _warm_sees(lambda: {"selection": RuleSelection(ignore={"EBS001", "EBS002"})})


def test_a_downloaded_module_appearing_is_seen(tree):
    (tree / "root" / "main.tf").write_text(MAIN + 'module "remote" {\n  source = "acme/ebs/aws"\n  version = "1.0.0"\n}\n')

    def download():
        modules = tree / "root" / ".terraform" / "modules"
        (modules / "remote").mkdir(parents=True)
        (modules / "remote" / "main.tf").write_text(PLAIN_VOLUME.format(name="downloaded"))
        (modules / "modules.json").write_text(json.dumps({"Modules": [
            {"Key": "", "Source": "", "Dir": "."},
            {"Key": "remote", "Source": "registry.terraform.io/acme/ebs/aws", "Version": "1.0.0",
             "Dir": ".terraform/modules/remote"}]}))

    _warm_sees(download)


def test_a_local_module_appearing_is_seen(tree):
    (tree / "root" / "main.tf").write_text(MAIN + 'module "later" {\n  source = "./later"\n}\n')

    def create():
        (tree / "root" / "later").mkdir()
        (tree / "root" / "later" / "main.tf").write_text(PLAIN_VOLUME.format(name="later"))

    _warm_sees(create)


def test_a_user_rule_changed_or_added_is_seen(tree):
    folder = tree / "policies"
    folder.mkdir()
    (folder / "ORG001.yaml").write_text(rule_text())
    use_rule_folders([folder])

    def edit():
        (folder / "ORG001.yaml").write_text(rule_text(severity="low"))
        use_rule_folders([])
        use_rule_folders([folder])  # the command line loads the folder at each run

    _warm_sees(edit)


def test_an_inline_suppression_and_the_switch_are_kept_apart(tree):
    (tree / "root" / "extra.tf").write_text('# iaclint:ignore EBS001 reason="scratch"\n'
                                            + PLAIN_VOLUME.format(name="extra"))
    _warm_sees(lambda: {"inline_suppressions": False})


def test_every_rule_fixture_reports_the_same_cold_warm_and_without_cache(tmp_path, monkeypatch):
    """Each rule's fixtures as one run: kept results change nothing in the JSON or text report, and the warm run
    parses no file of a root it reused."""
    from iaclint.graph import config
    from iaclint.hcl.cache import ParseCache
    from support import FIXTURES

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("IACLINT_NO_CACHE", raising=False)
    gets = []
    real_get = ParseCache.get
    monkeypatch.setattr(ParseCache, "get", lambda self, *a: gets.append(a[1]) or real_get(self, *a))
    monkeypatch.chdir(FIXTURES.parent)
    reports, parsed = {}, {}
    monkeypatch.setattr(config, "PARALLEL_THRESHOLD", 0)  # fixtures are small: parallel even so
    for mode, cache, jobs in (("none", False, 1), ("cold", True, 1), ("warm", True, 1), ("warm, parallel", True, 2)):
        gets.clear()
        opts = options(cache=cache, reuse_results=True, jobs=jobs)
        run = run_check(["fixtures/rules"], opts)
        reports[mode] = (render("json", run.report), render("text", run.report), render("sarif", run.report))
        parsed[mode] = len(gets)
        if mode.startswith("warm"):  # every root but Terragrunt's units (plans are not roots)
            units = len(list(FIXTURES.glob("rules/**/terragrunt.hcl")))
            assert run.results.hits == len(run.report.roots) - units > 150
    assert reports["cold"] == reports["none"]
    assert reports["warm"] == reports["none"] and reports["warm, parallel"] == reports["none"]
    assert parsed["none"] == 0 and parsed["cold"] > 400 and parsed["warm"] < parsed["cold"] / 10  # units, plans
    assert parsed["warm, parallel"] == parsed["warm"]  # kept roots are not preloaded either


def test_off_with_no_cache_and_the_environment_variable(tree, monkeypatch):
    _check()
    cache = tree.parent / "cache" / "iaclint" / "results"
    assert any(cache.iterdir())
    assert _check(cache=False)[1] == 0
    monkeypatch.setenv("IACLINT_NO_CACHE", "1")
    assert _check()[1] == 0


def _entries(tree: Path) -> list[Path]:
    return [p for g in (tree.parent / "cache" / "iaclint" / "results").iterdir() for p in g.iterdir()]


def test_a_tampered_entry_is_a_miss_never_trusted(tree):
    before, _ = _check()
    for entry in _entries(tree):
        data = bytearray(entry.read_bytes())
        data[-5] ^= 1
        entry.write_bytes(bytes(data))
    again, hits = _check()
    assert hits == 0 and again == before


def test_an_entry_signed_with_another_key_is_a_miss(tree, tmp_path, monkeypatch):
    _check()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "other-state"))  # another user's key
    again, hits = _check()
    assert hits == 0


def test_another_generation_is_never_read(tree, monkeypatch):
    from iaclint.run import results

    _check()
    assert _check()[1] == 1
    results.results_generation.cache_clear()
    monkeypatch.setattr("iaclint.__version__", "0.0.0-other")
    try:
        assert _check()[1] == 0
    finally:
        results.results_generation.cache_clear()


def test_a_symbolic_link_in_the_cache_is_not_followed(tree, tmp_path):
    _check()
    outside = tmp_path / "outside"
    outside.mkdir()
    for entry in _entries(tree):
        (outside / entry.name).write_bytes(entry.read_bytes())
        entry.unlink()
        entry.symlink_to(outside / entry.name)
    kept = {p.name: p.read_bytes() for p in outside.iterdir()}
    again, hits = _check()
    assert hits == 0
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == kept  # never written through
    assert not any(p.is_symlink() for p in _entries(tree))  # the links were replaced, not followed


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing a folder's owner needs root")
def test_a_results_folder_of_another_user_is_not_used(tree):
    before, _ = _check()
    folder = tree.parent / "cache" / "iaclint" / "results"
    os.chown(folder, 65534, 65534)
    try:
        report, hits = _check()
        assert hits == 0
        assert "the results cache is off" in report and "belongs to another user" in report
        assert json.loads(report.split("\n", 1)[0])["findings"] == json.loads(before.split("\n", 1)[0])["findings"]
    finally:
        os.chown(folder, 0, 0)


def test_a_module_file_behind_a_link_that_changes_target_is_seen(tree):
    shutil.copy(tree / "root" / "mod" / "main.tf", tree / "root" / "mod" / "real.tf.txt")
    (tree / "root" / "mod" / "main.tf").unlink()
    (tree / "root" / "mod" / "main.tf").symlink_to("real.tf.txt")
    (tree / "root" / "mod" / "other.txt").write_text(MODULE.replace("var.enc\n", "false\n"))

    def retarget():
        (tree / "root" / "mod" / "main.tf").unlink()
        (tree / "root" / "mod" / "main.tf").symlink_to("other.txt")

    _warm_sees(retarget)


def test_what_fix_building_evaluates_adds_no_notice_to_a_kept_root(tree):
    """Building a fix may evaluate attributes rules never read (here one naming an undeclared resource); a
    check reports the notices evaluation gave while rules ran, kept or not."""
    (tree / "root" / "db.tf").write_text('''resource "aws_db_cluster_snapshot" "copy" {
  db_cluster_identifier          = aws_rds_cluster.db.id
  db_cluster_snapshot_identifier = "copy"
}

resource "aws_rds_cluster" "db" {
  cluster_identifier   = "db"
  db_subnet_group_name = aws_db_subnet_group.missing.name
  engine_mode          = "multimaster"
  storage_encrypted    = false
}
''')
    fresh, _ = _check(cache=False)
    cold, _ = _check()
    warm, hits = _check()
    assert hits == 1 and cold == fresh and warm == fresh
    assert "undeclared resource aws_db_subnet_group.missing" not in fresh


def test_keeping_many_roots_walks_the_files_read_a_bounded_number_of_times(tmp_path, monkeypatch):
    """A root's graph sees every file the run read before it (graph/config.SourcesView): keeping a root's result
    must look its own files up, not walk that view, or a tree of many small roots costs the square of its files."""
    from iaclint.graph import config

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("IACLINT_NO_CACHE", raising=False)
    roots = 40
    for number in range(roots):
        root = tmp_path / "repo" / f"r{number}"
        root.mkdir(parents=True)
        (root / "main.tf").write_text(PLAIN_VOLUME.format(name=f"v{number}"))
        (root / "more.tf").write_text("# iaclint:ignore EBS001\n" + PLAIN_VOLUME.format(name=f"w{number}"))
    monkeypatch.chdir(tmp_path / "repo")
    walked = []
    items_from = config.SourcesView.items_from

    def counting(self, start):
        for item in items_from(self, start):
            walked.append(item[0])
            yield item

    monkeypatch.setattr(config.SourcesView, "items_from", counting)
    run = run_check(["."], options(environ={}, cache=True, reuse_results=True))
    assert len(run.report.findings) >= 2 * roots  # every root was checked (and its comment seen)
    assert len(walked) <= 4 * 2 * roots, len(walked)  # linear in the files read; the square is 40 x 80 / 2 x 2


def test_a_file_too_large_to_digest_is_never_taken_as_unchanged(tree, monkeypatch):
    """Noting a file's state reads at most DIGEST_LIMIT bytes, a chunk at a time (a 400 MB file that file() refuses
    for its size once cost 845 MB here): past it the state is new each run, so the root is checked afresh."""
    from iaclint import recording

    monkeypatch.setattr(recording, "DIGEST_LIMIT", 4)
    before, hits = _check()
    again, hits = _check()
    assert hits == 0 and again == before  # enc.txt ("true\n") is past the limit: never reused, same report


def test_a_path_outside_the_tree_is_never_read_to_note_it(tree, tmp_path, monkeypatch):
    """file() of a path outside the repository is refused, and noting it as an input reads nothing of it."""
    from iaclint import recording

    secret = tmp_path / "outside-secret.txt"
    secret.write_text("true\n")
    main = tree / "root" / "main.tf"
    main.write_text(main.read_text().replace('"${path.module}/enc.txt"', f'"{secret}"'))
    digested: list[str] = []
    real_state = recording.path_state

    def watching_state(path, content=True):
        if content:
            digested.append(os.fspath(path))
        return real_state(path, content)

    monkeypatch.setattr(recording, "path_state", watching_state)
    first, _ = _check()
    assert "is outside the repository" in first  # refused, and said so
    assert digested and str(secret) not in digested  # the files inside were digested, this one not
    secret.write_text("nope\n")  # the same size: what a refused path is noted by (kind, owner, mode, size)
    again, hits = _check()
    assert hits == 1 and again == first  # its content never decided anything
