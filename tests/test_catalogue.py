"""Every rule through its fixtures: schema-valid YAML, docs, failing/passing cases, annotations."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from iaclint.engine.rules import load_rules, rules_dir, validate_rule_data
from iaclint.model import Verdict
from support import RULE_FIXTURES, expectations, found, plan_expectations, rule_cases, run

RULES = list(load_rules())
CASES = [case for rule in RULES for case in rule_cases(rule.id)]


def test_every_rule_file_is_schema_valid_and_named_by_id():
    files = sorted(rules_dir().glob("*.yaml"))
    assert len(files) == len(RULES) >= 9
    for path in files:
        data = yaml.safe_load(path.read_text())
        validate_rule_data(data, str(path))
        assert path.stem == data["id"]


def test_the_parsed_catalogue_is_current_and_equal_to_the_rule_files():
    """rules/catalogue.json spares each run parsing YAML; it must say exactly what the files say."""
    import hashlib

    from iaclint.engine.rules import read_catalogue, read_rule_file

    catalogue = read_catalogue(rules_dir())
    files = sorted(rules_dir().glob("*.yaml"))
    stale = [p.name for p in files if catalogue.get(p.name, {}).get("sha256") != hashlib.sha256(p.read_bytes()).hexdigest()]
    assert not stale, f"run python scripts/build_catalogue.py: {stale}"
    assert sorted(catalogue) == [p.name for p in files]
    for path in files:
        parsed = yaml.safe_load(path.read_text())
        assert catalogue[path.name]["rule"] == parsed, path.name  # JSON kept every type
        assert json.dumps(catalogue[path.name]["rule"]) == json.dumps(parsed), path.name  # and every key order
        assert read_rule_file(path, catalogue) is catalogue[path.name]["rule"]


def test_every_bundled_check_imports():
    """Bundled checks are imported when a rule first applies; a wrong name must fail here, not mid-run."""
    from iaclint.engine.rules import import_check

    named = [rule for rule in RULES if rule.check_name]
    assert len(named) > 30
    for rule in named:
        assert callable(import_check(rule.check_name)), rule.id


def test_a_rule_file_edited_after_the_catalogue_is_read_from_the_file(tmp_path):
    from iaclint.engine.rules import read_catalogue, read_rule_file

    source = rules_dir() / "NEP001.yaml"
    copy = tmp_path / "NEP001.yaml"
    copy.write_text(source.read_text().replace("severity: high", "severity: low"))
    data = read_rule_file(copy, read_catalogue(rules_dir()))
    assert data["severity"] == "low" and data["id"] == "NEP001"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_docs_and_fixtures(rule):
    for key in ("what", "why", "failing", "passing"):
        assert rule.docs.get(key, "").strip(), f"{rule.id} has no docs.{key}"
    if rule.fix:
        assert rule.docs.get("fix_safety"), f"{rule.id} has a fix but no docs.fix_safety"
    assert (RULE_FIXTURES / rule.id).is_dir(), f"fixtures/rules/{rule.id} is missing"
    cases = rule_cases(rule.id)
    failing = [c for c in cases if any(v == rule.verdict.value for *_, v in expectations(c.path, rule.id)
                                       | plan_expectations(c.path, rule.id))]
    passing = [c for c in cases if c.path.name.startswith("pass")]
    assert failing, f"{rule.id} has no failing case"
    assert passing, f"{rule.id} has no passing case"
    for case in passing:
        assert not expectations(case.path, rule.id), f"{case.name} is a passing case with expectations"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_findings_match_annotations(case, tmp_path):
    module = case.copy_to(tmp_path / "case")
    report = run([case.target(module)], select={case.rule_id})
    expected = expectations(module, case.rule_id) | plan_expectations(module, case.rule_id)
    assert found(report, module, case.rule_id) == expected
    # the case must not be broken input: no parse errors unless the case is about them
    assert not [f for f in report.findings if f.rule_id == "PARSE"]
    assert not [f.message for f in report.findings if INTERNAL_FORM.search(f.message)]


# what Python shows of iaclint's internal objects: never in a message
INTERNAL_FORM = re.compile(r"\b(?:Partial|Unknown|PartialString|Value|ObjectRef|KeyClass|Place)\(|frozenset\(|"
                           r" object at 0x|\ue000")


def _example(tmp_path, text):
    module = tmp_path / "example"
    module.mkdir(parents=True)
    (module / "main.tf").write_text(text)
    return module


@pytest.mark.parametrize("rule", [r for r in RULES if not r.plan_only], ids=lambda r: r.id)
def test_docs_examples_fail_and_pass_as_labelled(rule, tmp_path):
    failing = run([_example(tmp_path / "f", rule.docs["failing"])], select={rule.id})
    assert any(f.verdict is rule.verdict for f in failing.findings), rule.docs["failing"]
    passing = run([_example(tmp_path / "p", rule.docs["passing"])], select={rule.id})
    assert passing.findings == [], [f.message for f in passing.findings]


# ---- fixes ---------------------------------------------------------------------------------

import shutil
import subprocess

from iaclint.engine.runner import RuleSelection
from iaclint.run.fix import run_fix
from support import options

VERDICTS = {rule.id: rule.verdict.value for rule in RULES}  # MOD001's findings are unknowns, the others' failures
FAILING_CASES = [c for c in CASES if any(v == VERDICTS[c.rule_id] for *_, v in expectations(c.path, c.rule_id)
                                          | plan_expectations(c.path, c.rule_id))]
FIXED_CASES = [c for c in FAILING_CASES if c.fixed_path is not None]
UNFIXED_CASES = [c for c in FAILING_CASES if c.fixed_path is None]
TERRAFORM = shutil.which("terraform")
GIT = shutil.which("git")


def _fix(target, rule_id):
    opts = options()
    opts.selection = RuleSelection(select={rule_id})
    return run_fix([str(target)], opts, unsafe=True, write=True)


def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_fixed_files_exist_iff_the_rule_is_fixable(rule):
    if rule.plan_only:
        assert not rule.fixable
    has_fixed = any(c.fixed_path for c in FIXED_CASES if c.rule_id == rule.id)
    # suggestions are never applied
    display_only = rule.fix is not None and (rule.fix["action"] == "share_copy" or rule.fix.get("display_only", False))
    assert has_fixed == (rule.fixable and not display_only)


@pytest.mark.parametrize("case", FIXED_CASES, ids=lambda c: c.name)
def test_fix_produces_the_expected_file_byte_for_byte(case, tmp_path, monkeypatch):
    module = case.copy_to(tmp_path / "case")
    patched = case.copy_to(tmp_path / "patched")
    monkeypatch.chdir(module)  # paths in the patch are relative to the module, as `git apply` wants them
    before = _snapshot(module)
    outcome = _fix(case.target(module), case.rule_id)
    after = _snapshot(module)
    expected = dict(before)
    if case.is_dir:
        for rel, data in _snapshot(case.fixed_path).items():
            expected[rel] = data
    else:
        expected[case.path.name] = case.fixed_path.read_bytes()
    assert after == expected
    assert outcome.applied
    # what `check --diff` prints for it is a patch git applies, giving the same bytes
    if GIT is not None:
        (tmp_path / "fix.patch").write_text(outcome.diff(), encoding="utf-8")
        proc = subprocess.run([GIT, "apply", "--check", str(tmp_path / "fix.patch")], cwd=patched, capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
        subprocess.run([GIT, "apply", str(tmp_path / "fix.patch")], cwd=patched, check=True)
        assert _snapshot(patched) == expected
    # the fixed configuration passes the rule (for a plan: the configuration it was planned from)
    report = run([module], select={case.rule_id})
    assert [f.message for f in report.findings if f.verdict.value == "fail"] == []
    # and a second run changes nothing
    again = _fix(case.target(module), case.rule_id)
    assert not again.applied and _snapshot(module) == after


@pytest.mark.parametrize("case", UNFIXED_CASES, ids=lambda c: c.name)
def test_failing_case_without_fixed_file_is_left_byte_identical(case, tmp_path):
    module = case.copy_to(tmp_path / "case")
    before = _snapshot(module)
    outcome = _fix(case.target(module), case.rule_id)
    assert _snapshot(module) == before
    assert not outcome.applied


@pytest.mark.skipif(TERRAFORM is None, reason="needs the terraform binary on PATH for `terraform fmt`")
@pytest.mark.parametrize("case", FIXED_CASES, ids=lambda c: c.name)
def test_fixed_files_stay_terraform_fmt_clean(case, tmp_path):
    original = case.copy_to(tmp_path / "original")
    assert subprocess.run([TERRAFORM, "fmt", "-check", "-recursive", str(original)],
                          capture_output=True).returncode == 0, "fixture is not fmt-clean to begin with"
    module = case.copy_to(tmp_path / "case")
    _fix(case.target(module), case.rule_id)
    proc = subprocess.run([TERRAFORM, "fmt", "-check", "-recursive", "-diff", str(module)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout
