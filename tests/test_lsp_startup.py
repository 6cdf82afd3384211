"""The language server is an extra: the command line never loads it, and without it `iaclint lsp` says what to
install. No test here needs pygls."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import RULE_FIXTURES


def test_without_the_extra_the_command_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['pygls'] = None; sys.argv = ['iaclint', 'lsp']; "
            "from iaclint.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "pip install 'iaclint[lsp]'" in proc.stderr and "Traceback" not in proc.stderr


def imported_modules(*args: str, cwd: Path) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "iaclint", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [("--version",), ("check", "main.tf")])
def test_the_command_line_never_imports_the_server(tmp_path, args):
    shutil.copy2(RULE_FIXTURES / "KMS001/fail.tf", tmp_path / "main.tf")
    modules = imported_modules(*args, cwd=tmp_path)
    assert "iaclint.cli" in modules and ("iaclint.engine.runner" in modules) == (args[0] == "check")
    assert not {m for m in modules if m.split(".")[0] in ("pygls", "lsprotocol", "cattrs") or m == "iaclint.lsp"}
