"""`fix` on a tree of many roots: a verifying lint checks only the roots that read a file the fixes edit.

Roots are independent: a fix changes only the verdicts of the roots that read a file it edits (or whose
directories would hold a new one). The other roots keep the results of an earlier lint, and a try already
linted with the same edits on the same roots keeps its results. The outcome must be what linting every root
each time gives (the reference: `_Roots.of` answering None, the whole-lint path plans take), byte for byte,
in the same order. The seam is `fix.run_check`: which roots each lint checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import iaclint.run.fix as fix_module
from iaclint.run.fix import run_fix
from support import options

VOLUME = '''resource "aws_ebs_volume" "v" {
  availability_zone = "us-east-1a"
  size              = 1
}
'''

INSTANCE = '''resource "aws_instance" "i" {
  ami           = "ami-12345678"
  instance_type = "t3.micro"
}
'''

MODULE_CALL = '''module "m" {
  source = "../modules/m"
}
'''


def _tree(base: Path) -> None:
    """Roots a, c: a volume (EBS001, then EBS002 with a new key); b: an instance whose EC2001 fix is rejected
    (encrypting the root volume reveals EC2002 there); d: nothing to fix; x, y: one module both call."""
    for name, text in {"a": VOLUME, "b": INSTANCE, "c": VOLUME, "d": 'variable "unused" {}\n',
                       "x": MODULE_CALL, "y": MODULE_CALL, "modules/m": VOLUME}.items():
        (base / name).mkdir(parents=True)
        (base / name / "main.tf").write_text(text)


def _fix(monkeypatch, whole: bool) -> tuple[object, list]:
    """The outcome, and each lint's roots (None: a whole lint, which finds the roots itself)."""
    lints: list = []
    real = fix_module.run_check

    def recorded(paths, opts):
        lints.append(None if opts.targets is None else sorted(str(t.path) for t in opts.targets))
        return real(paths, opts)

    with monkeypatch.context() as patched:
        patched.setattr(fix_module, "run_check", recorded)
        if whole:
            patched.setattr(fix_module._Roots, "of", classmethod(lambda cls, run, opts: None))
        # jobs=0, as `fix` runs: the loader reads every directory first, so each graph's view holds every file
        outcome = run_fix(["."], options(cache=False, jobs=0), unsafe=True, write=False)
    return outcome, lints


def _said(outcome) -> tuple:
    return (outcome.diff(), outcome.render(show_diff=True),
            [(a.rule_id, a.address, a.title) for a in outcome.applied], sorted(outcome.rejected.items()))


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Path:
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_lints_after_the_first_check_only_the_roots_whose_files_were_edited(tree, monkeypatch):
    by_roots, lints = _fix(monkeypatch, whole=False)
    reference, whole_lints = _fix(monkeypatch, whole=True)
    assert _said(by_roots) == _said(reference)
    assert lints[0] is None and lints[-1] is None  # the first check, and the fixed files' report
    partial = lints[1:-1]
    assert partial and all(roots is not None for roots in partial)
    assert all("d" not in roots for roots in partial)  # no fix edits what d reads
    # a fix of the module both x and y call is verified against both
    assert any({"x", "y"} <= set(roots) for roots in partial)
    assert all(not ({"x", "y"} & set(roots)) or {"x", "y"} <= set(roots) for roots in partial)
    assert sum(len(roots) for roots in partial) < 6 * (len(whole_lints) - 1)  # whole lints check 6 roots each
    assert len(lints) < len(whole_lints)


def test_a_rejected_fix_leaves_the_other_roots_fixes(tree, monkeypatch):
    outcome, lints = _fix(monkeypatch, whole=False)
    applied = {(a.rule_id, a.title.split(" (")[-1]) for a in outcome.applied}
    assert {("EBS001", "a/main.tf:1)"), ("EBS001", "c/main.tf:1)")} <= applied
    assert sorted(by for _, by, _ in outcome.rejected) == ["b::aws_instance.i"]
    assert sorted(Path(p).relative_to(tree).as_posix() for p in outcome.fixed) == \
        ["a/main.tf", "c/main.tf", "modules/m/main.tf"]
    # each file edited once per fix: a root whose results come from a try that linted other roots' edits too
    # takes only its own files' texts from it
    for path, source in outcome.fixed.items():
        assert source.text.count("encrypted ") == 1, path
        assert source.text.count('resource "aws_kms_key"') == 1, path
    assert not [f for f in outcome.report.findings if f.rule_id == "PARSE"]


def test_a_single_root_is_linted_whole_and_not_again_for_the_report(tmp_path, monkeypatch):
    (tmp_path / "main.tf").write_text(VOLUME)
    monkeypatch.chdir(tmp_path)
    outcome, lints = _fix(monkeypatch, whole=False)
    reference, whole_lints = _fix(monkeypatch, whole=True)
    assert _said(outcome) == _said(reference)
    assert lints == whole_lints == [None] * len(lints)  # no final lint: the last one was whole
