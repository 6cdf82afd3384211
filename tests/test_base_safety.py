"""--base: a fix that replaces a resource is safe only when the resource did not exist at the base.

Each case builds a git repository (one commit, then a change in the working tree) and asks which fixes
iaclint calls safe. A resource renamed with `moved`, adopted with `import`, in a root folder that was
renamed or copied, or whose existence iaclint cannot tell, keeps an unsafe fix, with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from iaclint.run.lint import lint
from support import options
from test_cli import assert_no_traceback, iaclint

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

CLUSTER = 'resource "aws_neptune_cluster" "{name}" {{\n  cluster_identifier = "{name}"\n}}\n'


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                          capture_output=True, text=True, check=True)
    return proc.stdout


def repository(tmp_path: Path, files: dict[str, str]) -> Path:
    """A repository whose one commit holds ``files``."""
    repo = tmp_path / "repo"
    write(repo, files)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def fixes(repo: Path, *args: str) -> dict[str, tuple[str, str]]:
    """address -> (applicability, note) of NEP001's fixes, checked with --base HEAD."""
    proc = iaclint("check", "-f", "json", "--select", "NEP001", "--base", "HEAD", *args, cwd=repo)
    assert_no_traceback(proc)
    data = json.loads(proc.stdout)
    assert not [n for n in data["notices"] if n.startswith("--base")], data["notices"]
    return {f["address"]: (f["fix"]["applicability"], f["fix"]["note"]) for f in data["findings"]}


def unchanged_by_fix(repo: Path, *args: str) -> None:
    """`fix --base HEAD` applies nothing (every fix is unsafe) and leaves every file as it was."""
    before = {p: p.read_bytes() for p in repo.rglob("*.tf")}
    proc = iaclint("fix", "--base", "HEAD", "--select", "NEP001", *args, cwd=repo)
    assert_no_traceback(proc)
    assert "0 fixes applied" in proc.stdout, proc.stdout
    assert "unsafe fix, not applied without --unsafe-fixes" in proc.stdout
    assert {p: p.read_bytes() for p in repo.rglob("*.tf")} == before


def test_a_resource_added_since_the_base_is_safe_and_one_that_existed_is_not(tmp_path):
    repo = repository(tmp_path, {"infra/main.tf": CLUSTER.format(name="old")})
    write(repo, {"infra/new.tf": CLUSTER.format(name="new")})
    got = fixes(repo, "infra")
    assert got["aws_neptune_cluster.new"][0] == "safe"
    assert got["aws_neptune_cluster.old"][0] == "unsafe"


def test_a_resource_renamed_by_a_moved_block_exists(tmp_path):
    repo = repository(tmp_path, {"infra/main.tf": CLUSTER.format(name="old")})
    write(repo, {"infra/main.tf": CLUSTER.format(name="renamed")
                 + "\nmoved {\n  from = aws_neptune_cluster.old\n  to   = aws_neptune_cluster.renamed\n}\n"})
    applicability, note = fixes(repo, "infra")["aws_neptune_cluster.renamed"]
    assert applicability == "unsafe"
    assert "--base HEAD: it exists at HEAD as aws_neptune_cluster.old (a moved block renamed it)" in note
    unchanged_by_fix(repo, "infra")


def test_moved_chains_and_moves_into_modules_are_followed(tmp_path):
    repo = repository(tmp_path, {"infra/main.tf": CLUSTER.format(name="a")})
    write(repo, {
        "infra/main.tf": 'module "graph" {\n  source = "./graph"\n}\n'
                         "moved {\n  from = aws_neptune_cluster.a\n  to   = aws_neptune_cluster.b\n}\n"
                         "moved {\n  from = aws_neptune_cluster.b\n  to   = module.graph.aws_neptune_cluster.c\n}\n",
        "infra/graph/main.tf": CLUSTER.format(name="c") + CLUSTER.format(name="d"),
    })
    got = fixes(repo, "infra")
    assert got["module.graph.aws_neptune_cluster.c"][0] == "unsafe"
    assert "as aws_neptune_cluster.a" in got["module.graph.aws_neptune_cluster.c"][1]
    assert got["module.graph.aws_neptune_cluster.d"][0] == "safe"  # no moved block names it: new


def test_a_moved_block_inside_a_module_applies_to_each_instance(tmp_path):
    module = {"infra/graph/main.tf": CLUSTER.format(name="this")}
    repo = repository(tmp_path, {**module, "infra/main.tf":
                                 'module "graph" {\n  source   = "./graph"\n  for_each = toset(["a", "b"])\n}\n'})
    write(repo, {"infra/graph/main.tf": CLUSTER.format(name="main")
                 + "moved {\n  from = aws_neptune_cluster.this\n  to   = aws_neptune_cluster.main\n}\n"})
    got = fixes(repo, "infra")
    assert {a: v[0] for a, v in got.items()} == {'module.graph["a"].aws_neptune_cluster.main': "unsafe",
                                                 'module.graph["b"].aws_neptune_cluster.main': "unsafe"}


def test_count_added_to_an_existing_resource_is_terraforms_implicit_move(tmp_path):
    repo = repository(tmp_path, {"infra/main.tf": CLUSTER.format(name="old")})
    write(repo, {"infra/main.tf": CLUSTER.format(name="old").replace("{\n", "{\n  count = 1\n", 1)})
    assert fixes(repo, "infra")["aws_neptune_cluster.old[0]"][0] == "unsafe"


def test_an_imported_resource_exists(tmp_path):
    repo = repository(tmp_path, {"infra/main.tf": CLUSTER.format(name="old")})
    write(repo, {"infra/adopted.tf": CLUSTER.format(name="adopted")
                 + '\nimport {\n  to = aws_neptune_cluster.adopted\n  id = "adopted"\n}\n'
                 + CLUSTER.format(name="many").replace("{\n", '{\n  for_each = toset(["x", "y"])\n', 1)
                 + 'import {\n  for_each = toset(["x", "y"])\n  to       = aws_neptune_cluster.many[each.key]\n'
                 + '  id       = each.key\n}\n'})
    got = fixes(repo, "infra")
    assert got["aws_neptune_cluster.adopted"][0] == "unsafe"
    assert "--base HEAD: an import block adopts it, so it exists" in got["aws_neptune_cluster.adopted"][1]
    assert got['aws_neptune_cluster.many["x"]'][0] == got['aws_neptune_cluster.many["y"]'][0] == "unsafe"
    unchanged_by_fix(repo, "infra")


@pytest.mark.parametrize("how", ["git mv", "mv and git add"])
def test_a_renamed_root_folder_keeps_its_resources(tmp_path, how):
    repo = repository(tmp_path, {"envs/prod/main.tf": CLUSTER.format(name="db"),
                                 "envs/prod/variables.tf": 'variable "unused" {\n  default = 1\n}\n'})
    if how == "git mv":
        git(repo, "mv", "envs/prod", "envs/production")
    else:
        (repo / "envs" / "prod").rename(repo / "envs" / "production")
        git(repo, "add", "-A")
    applicability, note = fixes(repo, "envs/production")["aws_neptune_cluster.db"]
    assert applicability == "unsafe"
    assert "it exists at HEAD in envs/prod (its files were renamed from there)" in note
    unchanged_by_fix(repo, "envs/production")


def test_a_root_moved_without_git_knowing_is_in_doubt(tmp_path):
    repo = repository(tmp_path, {"envs/prod/main.tf": CLUSTER.format(name="db")})
    (repo / "envs" / "prod").rename(repo / "envs" / "production")  # not added: git sees a deletion only
    applicability, note = fixes(repo, "envs/production")["aws_neptune_cluster.db"]
    assert applicability == "unsafe" and "may have been moved (git add it" in note


BACKEND = ('terraform {{\n  backend "s3" {{\n    bucket = "states"\n    key    = "{key}"\n'
           '    region = "eu-west-1"\n  }}\n}}\n')


def test_a_root_with_the_same_backend_state_elsewhere_at_the_base_keeps_its_resources(tmp_path):
    repo = repository(tmp_path, {"old/main.tf": CLUSTER.format(name="db"),
                                 "old/backend.tf": BACKEND.format(key="prod.tfstate")})
    # rewritten beyond what git's rename detection pairs, in a folder of another name: the same state
    write(repo, {"new/backend.tf": BACKEND.format(key="prod.tfstate").replace("eu-west-1", "eu-west-2"),
                 "new/main.tf": "# the production database, moved here\n" + CLUSTER.format(name="db")
                 + CLUSTER.format(name="extra")})
    got = fixes(repo, "new")
    assert got["aws_neptune_cluster.db"][0] == "unsafe"
    assert "it exists at HEAD in old (it keeps its state in the same backend)" in got["aws_neptune_cluster.db"][1]
    assert got["aws_neptune_cluster.extra"][0] == "safe"
    write(repo, {"other/backend.tf": BACKEND.format(key="other.tfstate"), "other/main.tf": CLUSTER.format(name="db")})
    assert fixes(repo, "other")["aws_neptune_cluster.db"][0] == "safe"  # another state: new


def test_a_new_root_whose_backend_is_given_at_init_is_in_doubt(tmp_path):
    repo = repository(tmp_path, {"old/main.tf": CLUSTER.format(name="db")})
    write(repo, {"new/main.tf": CLUSTER.format(name="db") + 'terraform {\n  backend "s3" {}\n}\n'})
    applicability, note = fixes(repo, "new")["aws_neptune_cluster.db"]
    assert applicability == "unsafe"
    assert "its backend is configured at terraform init (the s3 backend does not set bucket, key)" in note
    # once initialised, .terraform/terraform.tfstate says which state it is: old's, at the base
    write(repo, {"old/backend.tf": BACKEND.format(key="prod.tfstate")})
    git(repo, "add", "old/backend.tf")
    git(repo, "commit", "-q", "-m", "backend")
    write(repo, {"new/.terraform/terraform.tfstate": json.dumps(
        {"backend": {"type": "s3", "config": {"bucket": "states", "key": "prod.tfstate", "region": "x"}}})})
    applicability, note = fixes(repo, "new")["aws_neptune_cluster.db"]
    assert applicability == "unsafe" and "in old (it keeps its state in the same backend)" in note


def test_a_new_root_with_a_local_state_file_is_in_doubt(tmp_path):
    repo = repository(tmp_path, {"README": "x\n"})
    write(repo, {"new/main.tf": CLUSTER.format(name="db"), "new/terraform.tfstate": "{}"})
    applicability, note = fixes(repo, "new")["aws_neptune_cluster.db"]
    assert applicability == "unsafe" and "a local state file (terraform.tfstate) is in it" in note
    (repo / "new" / "terraform.tfstate").unlink()
    assert fixes(repo, "new")["aws_neptune_cluster.db"][0] == "safe"


def test_a_module_folder_renamed_since_the_base_is_read_where_the_base_had_it(tmp_path):
    repo = repository(tmp_path, {"infra/main.tf": 'module "graph" {\n  source = "../modules/graph"\n}\n',
                                 "modules/graph/main.tf": CLUSTER.format(name="this")})
    git(repo, "mv", "modules/graph", "modules/neptune")
    write(repo, {"infra/main.tf": 'module "graph" {\n  source = "../modules/neptune"\n}\n'})
    assert fixes(repo, "infra")["module.graph.aws_neptune_cluster.this"][0] == "unsafe"
    unchanged_by_fix(repo, "infra")


def test_variables_files_given_now_are_given_to_the_base_too(tmp_path):
    counted = ('variable "enabled" {\n  default = false\n}\n'
               + CLUSTER.format(name="db").replace("{\n", "{\n  count = var.enabled ? 1 : 0\n", 1))
    repo = repository(tmp_path, {"infra/main.tf": counted, "infra/prod.tfvars": "enabled = true\n"})
    write(repo, {"infra/extra.tf": CLUSTER.format(name="extra")})
    got = fixes(repo, "--var-file", "infra/prod.tfvars", "infra")
    assert got["aws_neptune_cluster.db[0]"][0] == "unsafe"  # deployed with prod.tfvars: it exists
    assert got["aws_neptune_cluster.extra"][0] == "safe"


def test_a_base_file_that_does_not_parse_leaves_everything_in_doubt(tmp_path):
    repo = repository(tmp_path, {"infra/main.tf": CLUSTER.format(name="old"), "infra/broken.tf": "resource {\n"})
    write(repo, {"infra/broken.tf": CLUSTER.format(name="new")})
    assert fixes(repo, "infra")["aws_neptune_cluster.new"][0] == "unsafe"


def test_a_module_the_base_cannot_read_leaves_its_resources_in_doubt(tmp_path, monkeypatch):
    """A registry module is in .terraform/modules here (terraform init) but not in the base's files."""
    repo = repository(tmp_path, {"infra/main.tf": 'module "db" {\n  source = "acme/db/aws"\n}\n',
                                 ".gitignore": ".terraform/\n"})
    write(repo, {"infra/.terraform/modules/modules.json": json.dumps(
        {"Modules": [{"Key": "", "Source": "", "Dir": "."}, {"Key": "db", "Source": "acme/db/aws",
                                                              "Dir": ".terraform/modules/db"}]}),
                 "infra/.terraform/modules/db/main.tf": CLUSTER.format(name="this")})
    monkeypatch.chdir(repo)
    graph = lint(["infra"], options(base="HEAD")).graphs[0]
    assert "module.db.aws_neptune_cluster.this" in graph.by_address  # read from .terraform/modules
    assert graph.new_since_base == set()  # not in the base's files: whether it existed cannot be told
    assert "module.db.aws_neptune_cluster.this" not in graph.base_notes  # plainly there (module.db.*)


def test_the_base_tree_is_read_only_inside_itself(tmp_path, monkeypatch):
    """The files at the base are read like any scanned tree (iaclint/tree.py), confined to the tree they were
    extracted to: with the cache folder inside another repository (a home directory kept in git), a file()
    at the base that climbs out of the extracted tree reads nothing of that repository."""
    from iaclint.run.base import BaseInputs, Comparisons

    home = tmp_path / "home"
    write(home, {"secret.txt": "s3cret\n"})
    git(home, "init", "-q")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    climb = 'resource "aws_kms_key" "k" {\n  description = file("${path.module}/../../../../../secret.txt")\n}\n'
    repo = repository(tmp_path, {"infra/main.tf": climb})
    comparison = Comparisons(cache=True).of(repo / "infra", "HEAD")
    tree = comparison.tree(comparison.files_in(comparison.module_folders(["infra"])))
    try:
        assert tree.scratch is None and tree.path.is_relative_to(home / ".cache")  # kept in the cache folder
        assert (tree.path / "infra" / "../../../../../secret.txt").resolve() == home / "secret.txt"
        graph = tree.graph("infra", [], [], BaseInputs())
        reason = graph.resource("aws_kms_key.k").attr("description").value.unknown
    finally:
        tree.close()
    assert str(home / "secret.txt") not in graph.files_read
    assert "outside" in reason and "s3cret" not in reason


def test_a_run_over_more_roots_than_the_kept_trees_keeps_its_own(tmp_path, monkeypatch):
    """Base trees are kept one per root: a run over more roots than BASE_KEEP keeps every tree it used, so the
    next hook run extracts none of them again; trees of other runs are pruned down to BASE_KEEP."""
    import iaclint.run.base as base
    from iaclint.run.base import Comparisons

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(base, "BASE_KEEP", 2)
    roots = [f"r{i}" for i in range(5)]
    repo = repository(tmp_path, {f"{r}/main.tf": CLUSTER.format(name=r) for r in roots})

    def run() -> set:
        comparison = Comparisons(cache=True).of(repo / roots[0], "HEAD")
        paths = set()
        for root in roots:
            tree = comparison.tree(comparison.files_in(comparison.module_folders([root])))
            assert tree.scratch is None
            paths.add((tree.path, tree.path.stat().st_ino))
            tree.close()
        return paths

    first = run()
    assert len(first) == 5 and all(path.is_dir() for path, _ in first)  # none pruned by its own run
    assert run() == first  # the next run reuses every one (same directories, not built again)
    other = repository(tmp_path / "other", {"x/main.tf": CLUSTER.format(name="x")})
    comparison = Comparisons(cache=True).of(other / "x", "HEAD")
    comparison.tree(comparison.files_in(comparison.module_folders(["x"]))).close()
    assert sum(path.is_dir() for path, _ in first) == 2  # another run's new tree: the rest pruned to BASE_KEEP
