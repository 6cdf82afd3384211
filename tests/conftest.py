"""Session fixtures shared by the tests that drive the real pre-commit tool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

# every run in the test session (in-process and subprocess) uses a parse cache of its own, not the user's
if "XDG_CACHE_HOME" not in os.environ:
    os.environ["XDG_CACHE_HOME"] = __import__("tempfile").mkdtemp(prefix="iaclint-test-cache-")
    __import__("atexit").register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)  # removed after the session
if "XDG_STATE_HOME" not in os.environ:  # and a key of its own for it (hcl/cache.py)
    os.environ["XDG_STATE_HOME"] = __import__("tempfile").mkdtemp(prefix="iaclint-test-state-")
    __import__("atexit").register(shutil.rmtree, os.environ["XDG_STATE_HOME"], True)

PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


class HookRunner:
    """This checkout, committed once as a hook repository, and one pre-commit home for the session.

    pre-commit builds the hook's environment once per repository revision, so every test that runs
    the hook shares one build instead of paying for its own (try-repo would make a new revision each time).
    """

    def __init__(self, base: Path):
        self.source = base / "hook-source"
        files = git("ls-files", "-co", "--exclude-standard", cwd=ROOT).stdout.splitlines()
        for name in files:
            src = ROOT / name
            if src.is_file():
                dest = self.source / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
        self.env = dict(os.environ, PRE_COMMIT_HOME=str(base / "pre-commit-home"), GIT_AUTHOR_NAME="t",
                        GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
        git("init", "-q", cwd=self.source)
        git("add", ".", cwd=self.source)
        subprocess.run(["git", "commit", "-q", "-m", "hook"], cwd=self.source, env=self.env, check=True)
        self.rev = git("rev-parse", "HEAD", cwd=self.source).stdout.strip()

    def install(self, repo: Path) -> None:
        """A .pre-commit-config.yaml in ``repo`` that uses this checkout's hook, staged as pre-commit wants."""
        (repo / ".pre-commit-config.yaml").write_text(
            f"repos:\n  - repo: {self.source}\n    rev: {self.rev}\n    hooks:\n      - id: iaclint\n")
        git("add", ".pre-commit-config.yaml", cwd=repo)

    def run(self, repo: Path, *files: str) -> subprocess.CompletedProcess:
        """The hook on the given files, or on the staged files (what `git commit` runs) when none are given."""
        args = [PRE_COMMIT, "run", "iaclint", "--verbose"] + (["--files", *files] if files else [])
        return subprocess.run(args, cwd=repo, capture_output=True, text=True, env=self.env, timeout=600)


@pytest.fixture(scope="session")
def hook_runner(tmp_path_factory):
    if shutil.which("git") is None or not Path(PRE_COMMIT).exists():
        pytest.skip("needs git and the pre-commit tool (pip install -e '.[test]')")
    return HookRunner(tmp_path_factory.mktemp("hook"))


@pytest.fixture
def public_tmp():
    """A scratch folder every user can search (pytest's own is private to its user), for tests that run
    iaclint as another user (support.run_unprivileged)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="iaclint-test-"))
    os.chmod(folder, 0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:  # put back what a test took away, so everything can go
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o755)
    shutil.rmtree(folder, ignore_errors=True)


ORACLE_REPORT: dict[str, str] = {}  # tests/test_oracle.py: what the differential suite compared


def pytest_terminal_summary(terminalreporter):
    if ORACLE_REPORT:
        terminalreporter.section("Terraform as the oracle")
        for name, line in ORACLE_REPORT.items():
            terminalreporter.write_line(f"{name}: {line}")
