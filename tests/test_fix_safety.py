"""`iaclint fix` never loses or half-writes work: conflicts, transactions, read-only files, convergence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iaclint.run import fix as apply
from iaclint.model import Verdict
from iaclint.source import SourceFile, WriteError, write_files
from test_fixes import KEY, findings, fix, module_with

CLUSTER = 'resource "aws_neptune_cluster" "c{n}" {{\n  cluster_identifier = "c{n}"\n}}\n'


def test_a_file_changed_while_fixing_is_not_overwritten(tmp_path, monkeypatch):
    root = module_with(tmp_path, {"main.tf": KEY})
    original = apply._verify

    def verify_then_someone_edits(*args):
        (root / "main.tf").write_text(KEY + "# my edit\n")
        return original(*args)

    monkeypatch.setattr(apply, "_verify", verify_then_someone_edits)
    outcome = fix(root, ["KMS001"])
    assert (root / "main.tf").read_text() == KEY + "# my edit\n"
    assert "changed on disk after iaclint read it" in outcome.render()
    assert "0 fixes applied" in outcome.render() and outcome.written == []
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]


def test_fixes_across_files_land_together_or_not_at_all(tmp_path, monkeypatch):
    # NEP001 edits the variable default in variables.tf, NEP002 adds a key to main.tf: when the second
    # rename fails, the first file gets its old content back
    root = module_with(tmp_path, {
        "main.tf": 'resource "aws_neptune_cluster" "c" {\n  cluster_identifier = "c"\n  storage_encrypted  = var.on\n}\n',
        "variables.tf": 'variable "on" {\n  default = false\n}\n',
    })
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    import iaclint.source as source

    real_commit = source._commit
    calls = []

    def fail_second(tmp, target, expected):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_commit(tmp, target, expected)

    monkeypatch.setattr(source, "_commit", fail_second)
    outcome = fix(root, ["NEP001", "NEP002"])
    assert "No space left on device" in outcome.render()
    assert {p.name: p.read_bytes() for p in root.iterdir()} == before  # the first file was restored
    assert len(calls) == 3  # two replacements tried, then the first one undone


def test_a_new_key_lands_before_the_file_that_refers_to_it(tmp_path):
    keys = tmp_path / "keys.tf"
    main = tmp_path / "main.tf"
    keys.write_text("")
    main.write_text('kms = "old"\n')
    old_keys, old_main = SourceFile("keys.tf", ""), SourceFile("main.tf", 'kms = "old"\n')
    order = []
    import iaclint.source as source

    real_commit = source._commit

    def record(tmp, target, expected):
        order.append(os.path.basename(target))
        return real_commit(tmp, target, expected)

    source._commit = record
    try:
        write_files({str(main): (old_main, SourceFile("main.tf", 'kms = aws_kms_key.k.arn\n')),
                     str(keys): (old_keys, SourceFile("keys.tf", 'resource "aws_kms_key" "k" {}\n'))})
    finally:
        source._commit = real_commit
    assert order == ["keys.tf", "main.tf"]


def test_read_only_files_are_not_fixed_and_owners_are_kept(tmp_path):
    root = module_with(tmp_path, {"main.tf": KEY, "other.tf": KEY.replace('"k"', '"o"')})
    os.chmod(root / "main.tf", 0o444)
    if os.geteuid() == 0:
        os.chown(root / "other.tf", 65534, 65534)  # nobody
    outcome = fix(root, ["KMS001"])
    assert (root / "main.tf").read_text() == KEY
    assert "main.tf is read-only, not fixed" in outcome.render()
    assert "enable_key_rotation" in (root / "other.tf").read_text()
    if os.geteuid() == 0:
        info = (root / "other.tf").stat()
        assert (info.st_uid, info.st_gid) == (65534, 65534)


def test_a_directory_that_cannot_be_written_is_a_clear_error(tmp_path, monkeypatch):
    root = module_with(tmp_path, {"main.tf": KEY})
    import iaclint.source as source

    def denied(target, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(source, "_stage", denied)
    outcome = fix(root, ["KMS001"])
    assert f"cannot write in {root}: Permission denied" in outcome.render()
    assert (root / "main.tf").read_text() == KEY
    with pytest.raises(WriteError):
        write_files({str(root / "main.tf"): (SourceFile("main.tf", KEY), SourceFile("main.tf", KEY + "\n"))})


def test_fix_converges_in_one_run_and_tries_each_fix_once(tmp_path, monkeypatch):
    root = module_with(tmp_path, {f"c{n}.tf": CLUSTER.format(n=n) for n in range(8)})
    runs = []
    original = apply._state

    def counting(*args):
        runs.append(1)
        return original(*args)

    monkeypatch.setattr(apply, "_state", counting)
    first = fix(root, ["NEP001", "NEP002", "NEP004"])
    assert {a.rule_id for a in first.applied} == {"NEP001", "NEP002"} and len(first.applied) == 16
    assert len(runs) <= 1 + 2 * 16  # every fix tried once at most (today: retried after each success)
    assert first.remaining_failing == []
    assert not fix(root, ["NEP001", "NEP002", "NEP004"]).applied


def test_the_key_of_a_cluster_whose_encryption_is_an_input_is_unknown_and_not_fixed(tmp_path):
    # unencrypted, it has no key to judge (NEP001's problem); encrypted, it uses aws/rds: the input decides
    root = module_with(tmp_path, {"main.tf": (
        'variable "encrypted" {\n  type = bool\n}\n\nresource "aws_neptune_cluster" "c" {\n'
        '  cluster_identifier = "c"\n  storage_encrypted  = var.encrypted\n}\n')})
    found = {f.rule_id: f for f in findings(root, ["NEP002", "NEP004"])}
    assert list(found) == ["NEP002"] and found["NEP002"].verdict is Verdict.UNKNOWN
    assert "if it is encrypted, kms_key_arn is not set" in found["NEP002"].message
    assert not fix(root, ["NEP002", "NEP004"]).applied


def test_transit_encryption_on_an_existing_group_goes_through_preferred(tmp_path):
    group = ('resource "aws_elasticache_replication_group" "g" {\n  replication_group_id = "g"\n'
             '  engine_version       = "7.1"\n}\n')
    root = module_with(tmp_path, {"main.tf": group})
    found = findings(root, ["ECH003"])[0]
    assert found.fix.applicability.value == "safe" and '"required" in a later change' in found.fix.note
    fix(root, ["ECH003"])
    text = (root / "main.tf").read_text()
    assert 'transit_encryption_enabled = true\n  transit_encryption_mode    = "preferred"\n' in text


def test_a_new_group_gets_transit_encryption_without_the_preferred_step(tmp_path):
    import subprocess

    from conftest import git

    root = module_with(tmp_path, {"main.tf": "# empty at first\n"})
    git("init", "-q", cwd=root)
    git("add", ".", cwd=root)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base"], cwd=root,
                   check=True)
    (root / "main.tf").write_text('resource "aws_elasticache_replication_group" "g" {\n  replication_group_id = "g"\n'
                                  '  engine_version       = "7.1"\n}\n')
    from iaclint.engine.runner import RuleSelection
    from iaclint.run.fix import run_fix
    from support import options

    opts = options(base="HEAD")
    opts.selection = RuleSelection(select={"ECH003"})
    run_fix([str(root)], opts, unsafe=False, write=True)
    text = (root / "main.tf").read_text()
    assert "transit_encryption_enabled = true" in text and "transit_encryption_mode" not in text


# ---- an edit made while fix writes is never lost; a file not written fails the run (issue 19, 10) ----

TWO_MODULES = {"main.tf": 'module "a" {\n  source = "./a"\n}\nmodule "b" {\n  source = "./b"\n}\n',
               "a/main.tf": CLUSTER.format(n=1), "b/main.tf": CLUSTER.format(n=2)}
EDIT = "# my unsaved work, written while fix was writing\n"


def test_an_edit_that_lands_while_fix_writes_is_kept(tmp_path, monkeypatch):
    """Repro 17, with the timing made certain: fsync is slow (a busy disk) and an editor appends to
    b/main.tf as soon as fix's first temporary file appears."""
    import threading
    import time

    root = module_with(tmp_path, TWO_MODULES)
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (time.sleep(0.1), real_fsync(fd)))
    edited = threading.Event()

    def editor():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(".iaclint.tmp" in p.name for p in (root / "a").iterdir()) or \
                    any(".iaclint.tmp" in p.name for p in (root / "b").iterdir()):
                with open(root / "b" / "main.tf", "a") as handle:
                    handle.write(EDIT)
                edited.set()
                return
            time.sleep(0.001)

    thread = threading.Thread(target=editor)
    thread.start()
    outcome = fix(root, ["NEP001", "NEP002"])
    thread.join()
    assert edited.is_set()
    assert (root / "b" / "main.tf").read_text().endswith(EDIT)
    assert outcome.not_written and outcome.remaining_failing
    assert (root / "a" / "main.tf").read_text() == CLUSTER.format(n=1)  # all or nothing
    assert not [p for p in root.rglob("*") if ".iaclint" in p.name]


@pytest.mark.parametrize("how", ["in place", "by rename"])
def test_an_edit_between_the_comparison_and_the_swap_is_swapped_back(tmp_path, monkeypatch, how):
    """The narrowest window: after a file is compared and before it is replaced. Editors write in
    place or write a new file and rename it over the old one; both edits survive."""
    import iaclint.source as source

    root = module_with(tmp_path, {"main.tf": KEY})
    target = root / "main.tf"
    real_exchange = source._exchange
    edits = []

    def edit_first(first, second):
        if not edits:
            edits.append(how)
            if how == "in place":
                with open(target, "a") as handle:
                    handle.write(EDIT)
            else:
                (root / "new").write_text(KEY + EDIT)
                os.replace(root / "new", target)
        return real_exchange(first, second)

    monkeypatch.setattr(source, "_exchange", edit_first)
    with pytest.raises(WriteError, match="main.tf changed on disk while iaclint was writing"):
        write_files({str(target): (SourceFile("main.tf", KEY), SourceFile("main.tf", KEY + "# fixed\n"))})
    assert target.read_text() == KEY + EDIT and edits == [how]
    assert sorted(p.name for p in root.iterdir()) == ["main.tf"]


def test_without_an_atomic_exchange_a_late_edit_is_put_back(tmp_path, monkeypatch):
    """Where names cannot be exchanged (not Linux, some file systems), the old file is watched through an
    open descriptor: an edit written into it between the comparison and the rename is put back."""
    import iaclint.source as source

    root = module_with(tmp_path, {"main.tf": KEY})
    target = root / "main.tf"
    monkeypatch.setattr(source, "_exchange", lambda first, second: False)
    real_replace = os.replace

    def edit_then_replace(src, dst):
        if Path(dst) == target and Path(src).name.endswith(".iaclint.tmp") and ".tf." in Path(src).name:
            with open(target, "a") as handle:
                handle.write(EDIT)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", edit_then_replace)
    with pytest.raises(WriteError, match="changed on disk while iaclint was writing"):
        write_files({str(target): (SourceFile("main.tf", KEY), SourceFile("main.tf", KEY + "# fixed\n"))})
    assert target.read_text() == KEY + EDIT


def test_a_fix_that_could_not_be_written_fails_the_run_and_names_the_files(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import iaclint.source as source
    from iaclint.cli import app

    root = module_with(tmp_path, TWO_MODULES)

    def full(target, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(source, "_stage", full)
    monkeypatch.setenv("IACLINT_NO_CACHE", "1")
    on_disk = CliRunner().invoke(app, ["check", "--compact", str(root)])
    result = CliRunner().invoke(app, ["fix", "--unsafe-fixes", str(root)])
    assert result.exit_code == 1, result.output
    # what is left is what check finds in the untouched files, not what the fixes would have left
    assert f"; {_failing(on_disk.stdout)} failing findings left" in result.stdout and _failing(on_disk.stdout) > 0
    for name in ("a/main.tf", "b/main.tf"):
        assert f"not written: {root / name} (cannot write in " in result.stdout
    assert "applied:" not in result.stdout and "not written: NEP001" in result.stdout


def _failing(check_output: str) -> int:
    """The failing count of check's summary line ("2 failing (2 high), 0 unknown ...")."""
    import re

    return int(re.search(r"^(\d+) failing", check_output.splitlines()[-1]).group(1))


def test_fix_in_a_read_only_directory_exits_non_zero_for_an_ordinary_user(public_tmp):
    """Repro 14, as nobody (root may write in a read-only directory)."""
    from support import run_unprivileged

    repo = public_tmp / "repo"
    repo.mkdir()
    (repo / "main.tf").write_text(CLUSTER.format(n=1))
    os.chown(repo, 65534, 65534) if os.geteuid() == 0 else None
    os.chmod(repo, 0o555)
    on_disk = run_unprivileged(["check", "--no-cache", "--compact", "repo"], public_tmp)
    outcome = run_unprivileged(["fix", "--no-cache", "--unsafe-fixes", "repo"], public_tmp)
    assert outcome.returncode == 1, outcome
    assert "not written: repo/main.tf (cannot write in " in outcome.stdout and "Permission denied" in outcome.stdout
    left = _failing(on_disk.stdout)
    assert left > 0 and f"; {left} failing finding{'s' if left != 1 else ''} left" in outcome.stdout
    assert (repo / "main.tf").read_text() == CLUSTER.format(n=1)
