"""Lines are lines as Terraform counts them: broken at \\n only (issue 19, reliability 11).

str.splitlines() also breaks at form feeds, vertical tabs, \\x1c-\\x1e, \\x85 and U+2028/2029, which
`terraform fmt` accepts inside comments and strings: suppressions numbered that way moved onto other
blocks, and `check --diff` made patches that `git apply` rejected.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iaclint.engine.runner import RuleSelection
from iaclint.run.pipeline import check_paths
from iaclint.source import SourceFile, split_lines
from support import options

SEPARATORS = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
GIT = shutil.which("git")


def _check(root: Path, *rules: str):
    opts = options()
    opts.selection = RuleSelection(select=set(rules))
    return check_paths([str(root)], opts).findings


@pytest.mark.parametrize("separator", SEPARATORS, ids=lambda s: f"U+{ord(s):04X}")
def test_a_suppression_stays_on_its_own_block(tmp_path, separator):
    """Repro 06: five separators in a comment above moved a suppression from the key onto the database."""
    text = (f"# notes{separator * 5}\nresource \"aws_kms_key\" \"k\" {{\n"
            "  # iaclint:ignore RDS002,KMS001 reason=\"not an RDS resource\"\n}\n\n"
            "resource \"aws_db_instance\" \"bad\" {\n}\n")
    (tmp_path / "main.tf").write_text(text, encoding="utf-8")
    found = {(f.rule_id, f.address): f.suppression is not None for f in _check(tmp_path, "RDS002", "KMS001")}
    assert found[("RDS002", "aws_db_instance.bad")] is False  # still reported
    assert found[("KMS001", "aws_kms_key.k")] is True  # and the comment still covers its own block


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\r\nb\n", "a\x0cb\x85c\u2028d\nx\n\n", "\n\n", "a\rb\nc"])
def test_split_lines_numbers_lines_as_source_positions_do(text):
    source = SourceFile("f.tf", text)
    lines = split_lines(text)
    for number, line in enumerate(lines, start=1):
        assert source.line_text(number) == line
        assert source.line_col(source.offset(number))[0] == number
    assert "".join(split_lines(text, keepends=True)) == text


CONTENTS = {
    "bom": b'\xef\xbb\xbfresource "aws_kms_key" "k" {\n  description = "k"\n}\n',
    "form-feed": b'# a\x0cb\nresource "aws_kms_key" "k" {\n  description = "k"\n}\n',
    "crlf": b'resource "aws_kms_key" "k" {\r\n  description = "k"\r\n}\r\n',
    "bom-crlf-nel": '\ufeff# \u0085 \u2028\r\nresource "aws_kms_key" "k" {\r\n  description = "k"\r\n}'.encode(),
}


@pytest.mark.skipif(GIT is None, reason="needs git, to apply the patch")
@pytest.mark.parametrize("name", sorted(CONTENTS))
def test_check_diff_is_a_patch_git_applies_to_what_fix_writes(tmp_path, name):
    """Repro 10: `check --diff` keeps the BOM and splits lines where git does; applied, it gives the
    bytes `fix` writes."""
    for folder in ("patched", "fixed"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "main.tf").write_bytes(CONTENTS[name])
    run = [sys.executable, "-m", "iaclint"]
    diff = subprocess.run([*run, "check", "--no-cache", "--diff", "."], cwd=tmp_path / "patched", capture_output=True,
                          timeout=120)
    (tmp_path / "change.patch").write_bytes(diff.stdout)
    applied = subprocess.run([GIT, "apply", "--check", "../change.patch"], cwd=tmp_path / "patched",
                             capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr + diff.stdout.decode("utf-8", "replace")
    subprocess.run([GIT, "apply", "../change.patch"], cwd=tmp_path / "patched", check=True)
    subprocess.run([*run, "fix", "--no-cache", "--unsafe-fixes", "."], cwd=tmp_path / "fixed", capture_output=True,
                   timeout=120)
    patched, fixed = (tmp_path / "patched" / "main.tf").read_bytes(), (tmp_path / "fixed" / "main.tf").read_bytes()
    assert patched == fixed and patched != CONTENTS[name]
