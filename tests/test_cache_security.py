"""The cache holds data, not code, and only the user's own (repros 01, 05 and 13 of issue 19).

A cache folder may have been written by someone else: a shared XDG_CACHE_HOME, a CI cache restored
from another job. Tests that need a second user drop privileges to `nobody` in a subprocess; they run
only as root (the test suite's usual user here) and skip, saying so, otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from iaclint.hcl import cache as cache_module
from iaclint.hcl.cache import MAGIC, ParseCache
from support import FIXTURES
from test_cli import iaclint

TEXT = 'resource "aws_db_instance" "x" {\n}\n'
NOBODY = 65534


def _as_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("acting as another user needs root (this test runs as an unprivileged user)")


@pytest.fixture(autouse=True)
def own_key(tmp_path, monkeypatch):
    """A key of each test's own: some of these tests break theirs on purpose."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """A folder other users can enter (pytest's tmp_path is 0700), with the cache and the key under it."""
    folder = Path(tempfile.mkdtemp(prefix="iaclint-shared-"))
    folder.chmod(0o755)
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(folder / "state"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def repo(tmp_path):
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "main.tf").write_text(TEXT)
    return folder


def _report(repo: Path, *extra: str) -> dict:
    proc = iaclint("check", "-f", "json", "-j", "1", *extra, ".", cwd=repo)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _findings(report: dict) -> list:
    return [(f["rule_id"], f["address"], f["file"], f["line"], f["message"]) for f in report["findings"]]


def _evil_pickle(marker: Path) -> bytes:
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    return pickle.dumps(Evil())


# ---- 01: cache contents never run code ---------------------------------------------------------


def test_a_planted_pickle_never_runs_whatever_key_signed_it(tmp_path, monkeypatch, repo):
    """Repro 01: an attacker writes a key where older versions kept it and a pickle signed with it at the
    file's entry name. The key is not read (it lives outside the cache), and even an entry signed with the
    user's own key is only ever decoded as data, so it is a miss, removed and parsed again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    marker = tmp_path / "PWNED"
    clean = _report(repo, "--no-cache")
    cache = ParseCache()
    assert cache.enabled and not cache_module.key_path().is_relative_to(cache.root)
    entry = cache._entry("hcl", "main.tf", TEXT)
    payload = _evil_pickle(marker)
    planted_key = b"K" * 32
    (cache.root / "key").write_bytes(planted_key)
    for signed in (MAGIC + hmac.new(planted_key, payload, hashlib.sha256).digest() + payload,
                   b"iaclint-ast-1\n" + hmac.new(planted_key, payload, hashlib.sha256).digest() + payload,
                   cache.seal(entry.name, payload)):  # the user's own key: the worst case
        entry.write_bytes(signed)
        shutil.rmtree(cache.root / "results", ignore_errors=True)  # a kept result of the root would not read it
        assert _findings(_report(repo)) == _findings(clean)
        assert not marker.exists(), "cache contents ran code"
        # a miss removes it; a run that keeps results writes no syntax trees, so it is parsed again, not rewritten
        assert not entry.exists() or cache.get("hcl", "main.tf", TEXT) is not None


def test_a_signed_entry_that_is_not_a_tree_is_a_miss(tmp_path):
    """Entries are checked while they are rebuilt: well-formed msgpack that is not a tree of iaclint's node
    classes (a map, a wrong field type, a statement where an expression belongs, an unknown extension,
    a huge count of nodes' worth of nothing) is a miss, never a strange tree or an error."""
    import msgpack

    cache = ParseCache(tmp_path / "cache")
    name = cache._entry("hcl", "main.tf", TEXT).name
    body = lambda *items: (18, 0, 10, items)  # noqa: E731
    attribute = lambda expr: (16, 0, 5, "a", 1, expr)  # noqa: E731
    documents = [
        {"file": "main.tf"},
        ("main.tf", {"items": []}),
        (1, body()),
        ("main.tf", body(attribute((0, "0", 1, 1)))),  # a start that is not an integer
        ("main.tf", body(attribute((0, 0, 1, [1, 2])))),  # a literal that is a list
        ("main.tf", body(attribute((0, 0, 1, b"bytes")))),
        ("main.tf", body(attribute((18, 0, 1, ())))),  # a body where an expression belongs
        ("main.tf", body(attribute((4, 0, 1, (0, 0, 1, 1), (0, 0, 1, 1))))),  # an object item alone
        ("main.tf", body(attribute((99, 0, 1)))),
        ("main.tf", body(attribute((0, 0, 1, msgpack.ExtType(7, b"os.system"))))),
        ("main.tf", body((17, 0, 1, "resource", ("a", 1), body(), 0, 1, None))),  # a label that is a number
        ("main.tf", body(attribute((6, 0, 1, "var")), "extra")),
    ]
    for document in documents:
        cache._replace(name, cache.seal(name, msgpack.packb(document)))
        assert cache.get("hcl", "main.tf", TEXT) is None, document
    good = ("main.tf", body(attribute((0, 4, 1, 1))))
    cache._replace(name, cache.seal(name, msgpack.packb(good)))
    tree = cache.get("hcl", "main.tf", TEXT)
    assert tree.items[0].expr.value == 1 and tree.items[0].expr.file == "main.tf"  # the control: a tree is read


def test_a_fifo_or_link_at_an_entry_is_a_miss_not_a_hang(tmp_path):
    cache = ParseCache(tmp_path / "cache")
    entry = cache._entry("hcl", "main.tf", TEXT)
    os.mkfifo(entry)
    assert cache.get("hcl", "main.tf", TEXT) is None
    entry.unlink()
    target = tmp_path / "elsewhere"
    ParseCache(tmp_path / "other").put("hcl", "main.tf", TEXT, _tree())
    shutil.copy(ParseCache(tmp_path / "other")._entry("hcl", "main.tf", TEXT), target)
    entry.symlink_to(target)
    assert cache.get("hcl", "main.tf", TEXT) is None and target.exists()


def _tree():
    from iaclint.hcl.parser import parse_source
    from iaclint.source import SourceFile

    return parse_source(SourceFile("main.tf", TEXT))


def test_a_cache_of_another_user_is_ignored_with_a_notice(shared, repo):
    """Repro 01 across users: the cache root belongs to someone else, who planted a key and a pickle in it.
    The run goes on without the cache, says why, and writes nothing there."""
    _needs_root()
    root = shared / "cache" / "iaclint"
    root.mkdir(parents=True)
    cache = ParseCache()
    entry = cache._entry("hcl", "main.tf", TEXT)
    payload = _evil_pickle(shared / "PWNED")
    entry.write_bytes(cache.seal(entry.name, payload))
    for path in [root, *root.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    before = sorted(p.name for p in root.rglob("*"))
    report = _report(repo)
    assert any("the parse cache is off" in n and "belongs to another user" in n for n in report["notices"])
    assert _findings(report) == _findings(_report(repo, "--no-cache")) and report["findings"]
    assert not (shared / "PWNED").exists() and sorted(p.name for p in root.rglob("*")) == before


def test_cache_folders_others_can_write_are_ignored_with_a_notice_in_text_and_json(tmp_path, monkeypatch, repo):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clean = _findings(_report(repo, "--no-cache"))
    root = tmp_path / "cache" / "iaclint"
    generation = root / cache_module.generation()
    generation.mkdir(parents=True)
    for unsafe in (root, generation):
        unsafe.chmod(0o777)
        report = _report(repo)
        assert f"the parse cache is off: {unsafe} is writable by other users (mode 0777)" in report["notices"]
        assert _findings(report) == clean and not any(generation.iterdir())
        text = iaclint("check", "-j", "1", ".", cwd=repo).stdout
        assert f"notice: the parse cache is off: {unsafe} is writable by other users" in text
        unsafe.chmod(0o700)
    link = tmp_path / "elsewhere"
    link.mkdir(mode=0o700)
    shutil.rmtree(root)
    root.symlink_to(link)
    assert f"the parse cache is off: {root} is a symbolic link" in _report(repo)["notices"]
    assert not any(link.iterdir())


def test_the_key_is_refused_unless_only_the_user_can_read_it(tmp_path, monkeypatch, repo):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert ParseCache().enabled
    key = cache_module.key_path()
    assert key.stat().st_mode & 0o777 == 0o600 and key.stat().st_uid == os.geteuid()
    key.chmod(0o644)
    report = _report(repo)
    assert f"the parse cache is off: the cache key {key} is readable by other users (mode 0644)" in report["notices"]
    assert not ParseCache().enabled
    key.chmod(0o600)
    assert ParseCache().enabled
    real = key.with_name("real-key")
    key.rename(real)
    key.symlink_to(real)
    assert ParseCache().notices == [f"the parse cache is off: the cache key {key} is a symbolic link"]
    key.unlink()
    real.rename(key)
    if os.geteuid() == 0:  # another user's key (only root can make one here)
        os.chown(key, NOBODY, NOBODY)
        assert "belongs to another user" in ParseCache().notices[0]


def test_base_trees_folder_others_can_write_is_not_used(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.skip("needs git")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = _git_repo(tmp_path)
    base = tmp_path / "cache" / "iaclint" / "base"
    base.mkdir(parents=True)
    base.chmod(0o777)
    report = _report(repo, "--base", "HEAD", "--select", "RDS002")
    assert f"{base} is not used: {base} is writable by other users (mode 0777)" in report["notices"]
    assert {f["address"]: f["fix"]["applicability"] for f in report["findings"]} == \
        {"aws_db_instance.old": "unsafe", "aws_db_instance.new": "safe"}  # from a temporary copy instead
    assert not any(base.iterdir())


def _git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo" if tmp_path.name != "git" else tmp_path
    repo.mkdir()
    main = repo / "main.tf"
    main.write_text('resource "aws_db_instance" "old" {\n}\n')
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    main.write_text(main.read_text() + 'resource "aws_db_instance" "new" {\n}\n')
    return repo


def test_kept_base_files_someone_changed_are_not_believed(tmp_path, monkeypatch):
    """What the cache keeps beside the --base trees decides which fixes are safe, so it is signed too: an
    addresses file or a tree file changed behind iaclint's back (a restored cache) is rebuilt from git."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = _git_repo(tmp_path)
    expected = {"aws_db_instance.old": "unsafe", "aws_db_instance.new": "safe"}

    def fixes():
        report = _report(repo, "--base", "HEAD", "--select", "RDS002")
        return {f["address"]: f["fix"]["applicability"] for f in report["findings"]}

    assert fixes() == expected
    [tree] = (tmp_path / "cache" / "iaclint" / "base").iterdir()
    [addresses] = tree.glob(".addresses-*.json")
    assert stat.S_IMODE(tree.stat().st_mode) == 0o700 and stat.S_IMODE(addresses.stat().st_mode) == 0o600
    addresses.write_text("[]")  # "nothing existed at the base": every fix would look safe
    assert fixes() == expected
    sealed = json.loads(addresses.read_text())
    addresses.write_text(json.dumps({"mac": sealed["mac"], "body": "[]"}))
    assert fixes() == expected
    addresses.unlink()
    (tree / "override.tf").write_text('resource "aws_db_instance" "old" {\n  count = 0\n}\n')  # hides "old"
    assert fixes() == expected and not (tree / "override.tf").exists()  # the tree was built again


# ---- 13: private files whatever the umask ----------------------------------------------------------


def test_cache_files_are_private_whatever_the_umask(shared, repo):
    """Repro 13: with umask 000, every folder iaclint keeps (cache root, generation, key folder, --base
    trees) is 0700 and every file 0600; another user can list none of them and read nothing."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    repo = _git_repo(repo.parent / "git")
    (repo / "secret.tf").write_text('resource "aws_db_instance" "s" {\n  password = "s3cr3t-in-source"\n}\n')
    old = os.umask(0)
    try:
        proc = iaclint("check", "--base", "HEAD", "-j", "1", ".", cwd=repo)
    finally:
        os.umask(old)
    assert proc.returncode == 1, proc.stderr
    kept = [shared / "cache" / "iaclint", shared / "state" / "iaclint"]
    paths = [p for folder in kept for p in [folder, *folder.rglob("*")]]
    assert any(p.name.startswith(".addresses-") for p in paths) and len(paths) > 6
    for path in paths:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    if os.geteuid() != 0:
        return  # the modes are the proof; reading as another user needs root to become one
    entries = [p for p in paths if p.is_file() and b"s3cr3t" in p.read_bytes()]
    assert entries
    for path in [*kept, *entries]:
        other = subprocess.run(["cat" if path.is_file() else "ls", str(path)], preexec_fn=_as_nobody,
                               capture_output=True, text=True)
        assert other.returncode != 0 and "Permission denied" in other.stderr, path
    control = subprocess.run(["ls", str(shared)], preexec_fn=_as_nobody, capture_output=True, text=True)
    assert control.returncode == 0 and "cache" in control.stdout  # the other user does reach the folder


# ---- 05: prune never follows a link ------------------------------------------------------------------


def test_prune_never_follows_links_or_deletes_outside_its_folders(tmp_path, monkeypatch):
    """Repro 05: links planted in the cache root (under any name, an older generation's included), in the
    generation folder and in base/ point at a folder outside; pruning everything deletes nothing there."""
    from iaclint.run import base

    precious = tmp_path / "precious"
    (precious / "sub").mkdir(parents=True)
    for name in ("a.txt", "sub/b.txt", "0" * 64):
        (precious / name).write_text("keep")
    cache = ParseCache(tmp_path / "cache")
    cache.put("hcl", "main.tf", TEXT, _tree())
    links = [tmp_path / "cache" / "old-generation", tmp_path / "cache" / ("1" * 20), cache.folder / ("2" * 64),
             cache.folder / "sub"]
    trees = tmp_path / "cache" / "base"
    trees.mkdir()
    links += [trees / ("3" * 20), trees / ".building-x"]
    for link in links:
        link.symlink_to(precious)
    (tmp_path / "cache" / "key").symlink_to(precious / "a.txt")  # an older version's key name
    (tmp_path / "cache" / "grammar-0.lark").symlink_to(precious / "a.txt")
    old = os.stat(precious).st_mtime - 7200
    os.utime(trees / ".building-x", (old, old), follow_symlinks=False)
    entry = cache._entry("hcl", "main.tf", TEXT)
    cache.prune(limit=0)
    base._prune(trees, keep=0)
    assert sorted(p.relative_to(precious).as_posix() for p in precious.rglob("*")) == ["0" * 64, "a.txt", "sub",
                                                                                        "sub/b.txt"]
    assert not entry.exists() and all(link.is_symlink() for link in links)  # its own entry did go


def test_a_new_version_never_reads_an_old_entry_and_an_old_format_is_a_miss(tmp_path, monkeypatch, repo):
    """Issue 25's acceptance: the cache survives a format change. An entry written by another version lives
    in another generation folder, never read (and pruned); an entry of the old pickle format found where a
    current one belongs is a miss, parsed and rewritten, not an error."""
    import iaclint
    from iaclint.graph import config
    from support import run

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    parsed = []
    real = config.parse_source
    monkeypatch.setattr(config, "parse_source", lambda source: parsed.append(source.path) or real(source))

    def findings():
        return [(f.rule_id, f.address, f.location.line) for f in run([repo]).findings]

    first = findings()
    assert first and len(parsed) == 1
    old_generation = ParseCache().folder
    try:
        monkeypatch.setattr(iaclint, "__version__", "99.0.0")  # a new version
        cache_module.generation.cache_clear()
        new = ParseCache()
        assert new.folder != old_generation and any(old_generation.iterdir())
        assert findings() == first and len(parsed) == 2  # parsed again, the old entry not read
        for path in new.folder.iterdir():  # the old format where a current entry belongs
            path.write_bytes(b"iaclint-ast-1\n" + b"\0" * 32 + pickle.dumps({"tree": 1}))
        assert findings() == first and len(parsed) == 3  # a miss, not an error
        assert all(p.read_bytes().startswith(MAGIC) for p in new.folder.iterdir())  # rewritten
        assert findings() == first and len(parsed) == 3  # and read
        new.prune()
        assert not old_generation.exists()
    finally:
        monkeypatch.undo()
        cache_module.generation.cache_clear()


def test_reports_are_identical_cold_warm_and_without_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    reports = []
    for extra in (["--no-cache"], [], []):
        proc = iaclint("check", "-f", "json", "-j", "1", *extra, str(FIXTURES / "monorepo"))
        data = json.loads(proc.stdout)
        reports.append((data["findings"], data["notices"]))
    assert reports[0] == reports[1] == reports[2] and reports[0][0]
