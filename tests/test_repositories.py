"""Whole repositories: root modules found under a directory, and the roots a changed file affects."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from support import FIXTURES
from test_cli import assert_no_traceback, iaclint
from conftest import git

MONOREPO = FIXTURES / "monorepo"


@pytest.fixture
def monorepo(tmp_path):
    """A copy of the monorepo, a git repository as in real use: its top level bounds what is read."""
    repo = tmp_path / "repo"
    shutil.copytree(MONOREPO, repo)
    git("init", "-q", cwd=repo)  # a repository: modules are followed anywhere inside it, whatever path is given
    return repo


def findings(proc) -> set[tuple[str, str, str, int]]:
    data = json.loads(proc.stdout)
    return {(f["rule_id"], f["root"], f["file"], f["line"]) for f in data["findings"]}


def test_check_from_the_top_finds_every_root_and_every_finding(monorepo):
    proc = iaclint("check", "--format", "json", cwd=monorepo)
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    # the shared modules are checked through their callers, never on their own
    assert data["roots"] == ["examples/basic", "infra/prod", "infra/staging"]
    assert findings(proc) == {
        ("ECH001", "examples/basic", "examples/basic/main.tf", 6),
        ("ECH003", "examples/basic", "examples/basic/main.tf", 6),
        ("NEP002", "examples/basic", "modules/graph/main.tf", 18),
        ("NEP001", "infra/staging", "modules/graph/main.tf", 17),
    }  # infra/prod is clean: envs/prod.tfvars (settings var_files) turns encryption on; an unencrypted cluster
    # or cache has no key to judge (NEP002 and ECH002 pass it: one problem, one finding)
    assert not any("undeclared variable" in n for n in data["notices"])  # prod.tfvars only goes to prod


def test_no_recursive_and_skip_path(monorepo):
    whole = iaclint("check", "--no-recursive", ".", cwd=monorepo)
    assert whole.returncode == 2 and "no Terraform configuration files" in whole.stderr
    skipped = iaclint("check", "--format", "json", "--skip-path", "examples", cwd=monorepo)
    assert json.loads(skipped.stdout)["roots"] == ["infra/prod", "infra/staging"]
    hidden = monorepo / ".cache" / "copy"
    shutil.copytree(monorepo / "infra" / "staging", hidden)
    assert json.loads(iaclint("check", "-f", "json", cwd=monorepo).stdout)["roots"] == [
        "examples/basic", "infra/prod", "infra/staging"]


def test_a_directory_that_is_a_root_is_checked_as_before(monorepo):
    proc = iaclint("check", "--format", "json", "infra/staging", cwd=monorepo)
    assert json.loads(proc.stdout)["roots"] == ["infra/staging"]
    assert {f[0] for f in findings(proc)} == {"NEP001"}


def test_a_changed_module_file_is_checked_through_every_root_that_calls_it(monorepo):
    proc = iaclint("check", "--format", "json", "modules/graph/main.tf", cwd=monorepo)
    assert {(rule, root) for rule, root, *_ in findings(proc)} == {
        ("NEP002", "examples/basic"), ("NEP001", "infra/staging")}


def test_a_changed_settings_var_file_is_checked_for_the_roots_that_use_it(monorepo):
    (monorepo / "infra" / "envs" / "prod.tfvars").write_text("graph_encrypted = false\n")
    proc = iaclint("check", "--format", "json", "infra/envs/prod.tfvars", cwd=monorepo)
    assert proc.returncode == 1
    got = findings(proc)
    assert ("NEP001", "infra/prod", "modules/graph/main.tf", 17) in got
    assert {root for _, root, *_ in got} == {"infra/prod"}  # staging's own NEP001 is not caused by this file


def test_real_pre_commit_blocks_a_tfvars_change_and_a_called_module_change(monorepo, tmp_path, hook_runner):
    (monorepo / "infra" / "staging" / "main.tf").write_text(
        (monorepo / "infra" / "staging" / "main.tf").read_text().replace("false", "true"))
    (monorepo / "examples").rename(tmp_path / "examples-aside")  # only the two infra roots call the module
    git("init", "-q", cwd=monorepo)
    hook_runner.install(monorepo)
    git("add", ".", cwd=monorepo)
    subprocess.run(["git", "commit", "-q", "-m", "clean"], cwd=monorepo, env=hook_runner.env, check=True)

    (monorepo / "infra" / "envs" / "prod.tfvars").write_text("graph_encrypted = false\n")
    git("add", "infra/envs/prod.tfvars", cwd=monorepo)
    blocked = hook_runner.run(monorepo)  # the staged change, as `git commit` runs it
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "NEP001" in blocked.stdout and "infra/envs/prod.tfvars" in blocked.stdout

    git("reset", "-q", "--hard", cwd=monorepo)
    module = monorepo / "modules" / "graph" / "main.tf"
    module.write_text(module.read_text().replace("storage_encrypted  = var.encrypted",
                                                 "storage_encrypted  = false"))
    git("add", "modules/graph/main.tf", cwd=monorepo)
    blocked = hook_runner.run(monorepo)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "in infra/prod" in blocked.stdout and "in infra/staging" in blocked.stdout
    git("reset", "-q", "--hard", cwd=monorepo)
    assert "NEP001" not in hook_runner.run(monorepo, "modules/graph/main.tf").stdout  # encrypted again


def _repo_with_a_new_cluster(tmp_path):
    """A repository whose commit has cluster "old"; the working tree adds cluster "new"."""
    repo = tmp_path / "repo"
    (repo / "infra").mkdir(parents=True)
    main = repo / "infra" / "main.tf"
    main.write_text('resource "aws_neptune_cluster" "old" {\n  cluster_identifier = "old"\n}\n')
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base", cwd=repo)
    main.write_text(main.read_text() + '\nresource "aws_neptune_cluster" "new" {\n  cluster_identifier = "new"\n}\n')
    return repo, main


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_base_makes_fixes_on_resources_added_since_it_safe(tmp_path):
    repo, main = _repo_with_a_new_cluster(tmp_path)

    def fixes(*extra):
        data = json.loads(iaclint("check", "-f", "json", "--select", "NEP001", *extra, "infra", cwd=repo).stdout)
        return {f["address"]: f["fix"]["applicability"] for f in data["findings"]}

    assert fixes() == {"aws_neptune_cluster.old": "unsafe", "aws_neptune_cluster.new": "unsafe"}
    assert fixes("--base", "HEAD") == {"aws_neptune_cluster.old": "unsafe", "aws_neptune_cluster.new": "safe"}
    proc = iaclint("fix", "--base", "HEAD", "--select", "NEP001", "infra", cwd=repo)
    assert "applied: NEP001 aws_neptune_cluster.new" in proc.stdout and "aws_neptune_cluster.old: unsafe" in proc.stdout
    assert 'cluster_identifier = "old"\n}' in main.read_text()  # the live one is untouched
    bad = iaclint("check", "--base", "no-such-ref", "-f", "json", "infra", cwd=repo)
    assert any("--base no-such-ref" in n for n in json.loads(bad.stdout)["notices"])


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_base_trees_are_kept_for_the_parse_cache_and_rebuilt_when_damaged(tmp_path):
    import os
    from pathlib import Path

    repo, main = _repo_with_a_new_cluster(tmp_path)
    trees = Path(os.environ["XDG_CACHE_HOME"]) / "iaclint" / "base"

    def fixes(*extra):
        data = json.loads(iaclint("check", "-f", "json", "--select", "NEP001", "--base", "HEAD", *extra, "infra",
                                  cwd=repo).stdout)
        return {f["address"]: f["fix"]["applicability"] for f in data["findings"]}

    expected = {"aws_neptune_cluster.old": "unsafe", "aws_neptune_cluster.new": "safe"}
    assert fixes() == expected
    committed = git("show", "HEAD:infra/main.tf", cwd=repo).stdout
    mine = [t for t in trees.iterdir() if (t / "infra" / "main.tf").is_file()
            and (t / "infra" / "main.tf").read_text() == committed and (t / "infra").resolve() != repo / "infra"]
    assert mine, "the base tree is kept where the parse cache can serve it"
    assert all(list(tree.glob(".addresses-*.json")) for tree in mine)  # and its addresses, computed once
    assert fixes() == expected  # read from the kept addresses
    for tree in mine:
        (tree / "infra" / "main.tf").unlink()  # as a clean-up of the cache folder might leave it
    assert fixes() == expected  # rebuilt, not read as "nothing existed at the base"
    assert fixes("--no-cache") == expected


def test_fix_from_the_top_fixes_every_root_and_converges(monorepo):
    first = iaclint("fix", "--unsafe-fixes", cwd=monorepo)
    assert "0 failing findings left" in first.stdout, first.stdout
    # the same address (module.graph.aws_neptune_cluster.this) in two roots is two findings, both fixed
    assert first.stdout.count("applied: NEP002 module.graph.aws_neptune_cluster.this") == 2
    second = iaclint("fix", "--unsafe-fixes", cwd=monorepo)
    assert "0 fixes applied" in second.stdout


def _roots_sharing_a_module(tmp_path, roots: int = 4):
    """``roots`` root modules calling one local module, which holds a suppression comment."""
    (tmp_path / "modules" / "db").mkdir(parents=True)
    (tmp_path / "modules" / "db" / "main.tf").write_text(
        'variable "encrypted" {\n  type = bool\n}\n'
        '# iaclint:ignore NEP001 reason="the test says so"\n'
        'resource "aws_neptune_cluster" "c" {\n  storage_encrypted = var.encrypted\n}\n')
    for number in range(roots):
        root = tmp_path / "envs" / f"e{number}"
        root.mkdir(parents=True)
        (root / "main.tf").write_text(f'module "db" {{\n  source    = "../../modules/db"\n  encrypted = false\n}}\n'
                                      f'resource "aws_sqs_queue" "q{number}" {{}}\n')
        (root / "variables.tf").write_text('variable "unused" {\n  default = 1\n}\n')
    return tmp_path


def test_a_run_of_many_roots_reads_each_file_once_and_lists_each_directory_once(tmp_path, monkeypatch):
    import builtins
    import io
    import os

    from support import run

    tree = _roots_sharing_a_module(tmp_path)
    opened: list[str] = []
    listed: list[str] = []
    real_open, real_scandir = builtins.open, os.scandir

    def counting_open(file, *args, **kwargs):
        if str(file).endswith(".tf"):
            opened.append(os.path.realpath(file))
        return real_open(file, *args, **kwargs)

    def counting_scandir(path="."):
        listed.append(os.path.realpath(path))
        return real_scandir(path)

    files = {os.path.realpath(p) for p in tree.rglob("*.tf")}
    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)  # what pathlib opens with
    monkeypatch.setattr(os, "scandir", counting_scandir)
    monkeypatch.chdir(tree)
    report = run([tree], inline_suppressions=True)
    assert len(report.roots) == 4
    assert sorted(opened) == sorted(files)  # discovery's scan for module calls hands its bytes to the loader
    repeated = {d for d in listed if listed.count(d) > 1 and d.startswith(str(tree))}
    assert not repeated


def test_each_roots_graph_holds_the_files_read_until_it_was_built(tmp_path, monkeypatch):
    from iaclint.run.lint import LintOptions, lint

    tree = _roots_sharing_a_module(tmp_path, roots=2)
    (tree / "envs" / "e1" / "terraform.tfvars").write_text("unused = 2\n")
    monkeypatch.chdir(tree)
    first, second = lint(["."], LintOptions(environ={})).graphs
    module = "modules/db/main.tf"
    assert set(first.sources) == {"envs/e0/main.tf", "envs/e0/variables.tf", module}
    assert set(second.sources) == set(first.sources) | {"envs/e1/main.tf", "envs/e1/variables.tf",
                                                        "envs/e1/terraform.tfvars"}
    assert "envs/e1/main.tf" not in first.sources and first.sources.get("envs/e1/main.tf") is None
    assert second.sources[module] is first.sources[module]  # one SourceFile, not a copy per root
    assert dict(second.sources) == {name: second.sources[name] for name in second.sources}
    assert len(second.sources) == 6 and list(second.sources)[-1] == "envs/e1/terraform.tfvars"


def test_a_suppression_in_a_module_shared_by_roots_is_read_once_and_honoured_through_each(tmp_path, monkeypatch):
    from iaclint.run.pipeline import run_check
    from support import options

    tree = _roots_sharing_a_module(tmp_path)
    monkeypatch.chdir(tree)
    report = run_check(["."], options()).report
    nep = [f for f in report.findings if f.rule_id == "NEP001"]
    assert len(nep) == 4 and all(f.suppression is not None for f in nep)
    assert {f.root for f in nep} == {f"envs/e{n}" for n in range(4)}
    assert not [f for f in report.findings if f.rule_id.startswith("SUP")]


def test_the_runs_rule_plan_asks_each_root_the_rules_the_list_would(tmp_path):
    from iaclint.engine.rules import active_rules
    from iaclint.engine.runner import RulePlan, RuleSelection, run_rules
    from iaclint.run.lint import LintOptions, lint

    tree = _roots_sharing_a_module(tmp_path, roots=2)
    selection = RuleSelection(ignore={"SQS001"})
    plan = RulePlan(active_rules(), selection)
    for graph in lint([str(tree)], LintOptions(environ={}, selection=selection)).graphs:
        by_list: list = []
        by_plan: list = []
        listed = run_rules(graph, active_rules(), selection, by_list)
        planned = run_rules(graph, plan, selection, by_plan)
        assert by_plan == by_list and by_list
        assert [(f.rule_id, f.address) for f in planned] == [(f.rule_id, f.address) for f in listed]
        assert not [e for e in by_plan if e[0] == "SQS001"]
