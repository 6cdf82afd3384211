"""`fix` applies fixes in passes: the files it writes are byte for byte what one fix at a time writes.

The reference is `run_fix(..., one_at_a_time=True)`, the loop that lints once per fix. The passes must give
the same files, the same fixes applied and rejected, and the same findings left, on every fixture (with every
rule, so fixes of several rules meet in one module), in far fewer lints.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import iaclint.graph.config as config_module
import iaclint.run.fix as fix_module
from iaclint.fixes.diff import file_diff
from iaclint.hcl import ast
from iaclint.hcl.parser import parse_source
from iaclint.source import BOM, SourceFile
from iaclint.run.fix import run_fix
from support import RULE_FIXTURES, Case, options

ALL_CASES = sorted({case.path for folder in sorted(RULE_FIXTURES.iterdir())
                    for case in [Case(folder.name, p) for p in sorted(folder.iterdir())]
                    if not case.path.name.endswith((".fixed", ".fixed.tf")) and (case.is_dir or case.path.suffix == ".tf")})


def _outcome(target: Path, one_at_a_time: bool, counter: list | None = None):
    return run_fix([str(target)], options(), unsafe=True, write=False, one_at_a_time=one_at_a_time)


def _summary(outcome) -> tuple:
    """What a run writes and says. A title's line numbers are those of the text its fix was made on, which for a
    fix applied in a pass is the text at the start of the pass, not after the fixes before it: they are masked;
    and the fixes are listed by pass, so one that waits for a later pass is listed later."""
    return (outcome.diff(),
            sorted([(a.rule_id, a.address, re.sub(r":\d+\b", ":N", a.title), a.applicability.value) for a in outcome.applied]),
            sorted(outcome.rejected.items()),
            sorted((f.rule_id, f.address or "", f.verdict.value, f.location.file, f.location.line)
                   for f in outcome.report.findings))


def _counting_lints(monkeypatch) -> list[int]:
    lints = [0]
    real = fix_module._state

    def counted(*args, **kwargs):
        lints[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(fix_module, "_state", counted)
    return lints


def _checking_reparse(monkeypatch) -> list[str]:
    """Every tree a verifying lint takes from an edited file's old tree is the tree a whole parse of it gives."""
    made: list[str] = []

    def checked(body, old, new, edits, real=fix_module.reparse):
        tree = real(body, old, new, edits)
        if tree is not None:
            assert ast.dump(tree) == ast.dump(parse_source(SourceFile(body.file, new)))
            made.append(body.file)
        return tree

    monkeypatch.setattr(fix_module, "reparse", checked)
    return made


@pytest.mark.parametrize("path", ALL_CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_passes_write_what_one_fix_at_a_time_writes(path, tmp_path, monkeypatch):
    case = Case(path.parent.name, path)
    module = case.copy_to(tmp_path / "case")
    monkeypatch.chdir(tmp_path)
    _checking_reparse(monkeypatch)
    target = case.target(Path("case"))
    one = _outcome(target, one_at_a_time=True)
    passes = _outcome(target, one_at_a_time=False)
    assert _summary(passes) == _summary(one)
    assert module.exists()
    assert passes.diff() == _difflib_patch(passes)


def _difflib_patch(outcome) -> str:
    """The patch as difflib makes it from the whole original and fixed texts (the patch is made from the edits)."""
    parts = []
    for path in sorted(outcome.fixed):
        old, new = outcome.originals[path], outcome.fixed[path]
        parts.append(file_diff(old.path, (BOM if old.has_bom else "") + old.text,
                               (BOM if new.has_bom else "") + new.text))
    return "".join(parts)


GENERATED = '''
resource "aws_kms_key" "k{i}" {{
  description         = "key {i}"
  enable_key_rotation = {rotation}
}}

resource "aws_neptune_cluster" "graph{i}" {{
  cluster_identifier = "graph-{i}"
  engine             = "neptune"
  storage_encrypted  = {encrypted}
  kms_key_arn        = aws_kms_key.k{i}.arn
}}

resource "aws_db_instance" "db{i}" {{
  identifier     = "db-{i}"
  engine         = "postgres"
  instance_class = "db.t4g.micro"
}}

resource "aws_ebs_volume" "data{i}" {{
  availability_zone = "eu-west-1a"
  size              = 10
  encrypted         = var.encrypt_{i}
}}

variable "encrypt_{i}" {{
  type    = bool
  default = false
}}
'''


def _generated(root: Path, count: int) -> Path:
    root.mkdir()
    for i in range(count):
        text = GENERATED.format(i=i, rotation="false" if i % 2 else "true", encrypted="false" if i % 3 else "true")
        (root / f"stack_{i:02d}.tf").write_text(text)
    return root


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_a_dense_module_is_fixed_in_a_few_lints_with_the_same_result(unsafe, tmp_path, monkeypatch):
    """Flag, key (added once, then reused), rotation and variable fixes across twelve files: dozens of fixes in a
    handful of lints, and the files of the reference loop, which lints once per fix."""
    module = _generated(tmp_path / "m", 12)
    monkeypatch.chdir(tmp_path)
    lints = _counting_lints(monkeypatch)
    one = run_fix(["m"], options(), unsafe=unsafe, write=False, one_at_a_time=True)
    one_lints, lints[0] = lints[0], 0
    passes = run_fix(["m"], options(), unsafe=unsafe, write=False)
    assert _summary(passes) == _summary(one)
    assert len(passes.applied) >= (30 if unsafe else 6)
    assert passes.diff() == _difflib_patch(passes)
    assert one_lints > len(passes.applied)
    assert lints[0] <= 6  # the first lint; flags and rotation; flags of resources that name a rotated key; a key of
    # each kind (two passes); the keys reused
    assert module.exists()


def test_the_lints_that_verify_fixes_parse_no_file_again(tmp_path, monkeypatch):
    """The first lint parses every file; the lints after each pass take the files no fix edited from it, and the
    edited ones from their trees before the edits (the parse cache is off: nothing comes from it)."""
    _generated(tmp_path / "m", 12)
    monkeypatch.chdir(tmp_path)
    parsed: list[str] = []
    monkeypatch.setattr(config_module, "parse_source",
                        lambda source, real=config_module.parse_source: parsed.append(source.path) or real(source))
    made = _checking_reparse(monkeypatch)
    lints = _counting_lints(monkeypatch)
    outcome = run_fix(["m"], options(cache=False), unsafe=True, write=False)
    assert sorted(parsed) == sorted(str(Path("m") / f"stack_{i:02d}.tf") for i in range(12))
    assert lints[0] > 2 and len(outcome.fixed) == 12 and len(made) >= 12
