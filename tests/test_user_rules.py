"""Rules of the user's own (--rules-dir, the settings' `rules`): loaded, validated, refused, and used
like bundled rules; and docs/writing-rules.md, whose worked example runs here exactly as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from iaclint.engine import rules as rule_registry
from iaclint.engine.rules import all_rules, find_rule, load_rules, use_rule_folders
from iaclint.engine.user_rules import Problems, load_user_rule, schema_problems, semantic_problems
from iaclint.errors import RuleError
from support import ROOT

DOC = ROOT / "docs" / "writing-rules.md"
_FILE = re.compile(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```\n", re.S)
_RUN = re.compile(r"<!-- run: iaclint (.*?) \(exit (\d)\) -->\n```text\n(.*?)```\n", re.S)


def iaclint(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iaclint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env or {k: v for k, v in os.environ.items() if not k.startswith("TF_VAR_")})


def doc_files(target: Path) -> None:
    for match in _FILE.finditer(DOC.read_text()):
        path = target / match.group(1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(match.group(2))


@pytest.fixture(autouse=True)
def no_user_rules_left():
    """In-process tests register folders; nothing of theirs may leak into other tests."""
    yield
    use_rule_folders([])


@pytest.fixture()
def project(tmp_path) -> Path:
    """The worked example's files: policies/ORG001.yaml, infra/main.tf, broken/ORG002.yaml, in a repository
    (settings are found up to its top level)."""
    doc_files(tmp_path)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return tmp_path


def rule_text(**changes: str) -> str:
    """ORG001 as the page writes it, with top-level keys replaced (key=None removes one)."""
    text = next(m.group(2) for m in _FILE.finditer(DOC.read_text()) if m.group(1) == "policies/ORG001.yaml")
    for key, value in changes.items():
        block = re.compile(rf"^{key}:.*\n(?:[ ].*\n)*", re.M)
        if block.search(text):
            text = block.sub("" if value is None else f"{key}: {value}\n", text)
        elif value is not None:
            text += f"{key}: {value}\n"
    return text


# ---- the page -------------------------------------------------------------------------------------------


def test_writing_rules_page_runs_as_written(project):
    runs = list(_RUN.finditer(DOC.read_text()))
    assert len(runs) >= 3
    for match in runs:
        proc = iaclint(*match.group(1).split(), cwd=project)
        assert proc.returncode == int(match.group(2)), (match.group(1), proc.stdout, proc.stderr)
        assert proc.stdout + proc.stderr == match.group(3), match.group(1)
    fixed = (project / "infra" / "main.tf").read_text()
    assert "  deletion_protection = true\n}" in fixed and "default = true" in fixed
    again = iaclint("check", "infra", "--rules-dir", "policies", cwd=project)
    assert again.returncode == 0, again.stdout  # the fix removed what the rule found, and nothing else fails


def test_the_pages_condition_vocabulary_is_the_schemas():
    from iaclint.schemas import schema

    condition = schema("rule.schema.json")["$defs"]["condition"]["oneOf"]
    tests = set(condition[0]["properties"]) - {"attribute", "default", "aws_managed_key"}
    text = DOC.read_text()
    for key in tests | {"all", "any", "not", "default", "aws_managed_key"}:
        assert f"`{{attribute: A, {key}:" in text or f"{{{key}:" in text or f"`{key}`" in text, key
    for action in schema("rule.schema.json")["$defs"]["fix"]["properties"]["action"]["enum"]:
        assert f"`{action}`" in text, action


# ---- used like bundled rules ----------------------------------------------------------------------------


def test_settings_rules_with_select_severity_and_suppressions(project):
    (project / "pyproject.toml").write_text('[tool.iaclint]\nrules = ["policies"]\nselect = ["ORG001"]\n'
                                            'severity = { aurora-deletion-protection = "medium" }\n')
    main = project / "infra" / "main.tf"
    main.write_text(main.read_text().replace('resource "aws_rds_cluster" "orders"',
                                             '# iaclint:ignore ORG001 reason="a test database"\n'
                                             'resource "aws_rds_cluster" "orders"'))
    proc = iaclint("check", "infra", "--format", "json", cwd=project)
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert {f["rule_id"] for f in findings} == {"ORG001"}  # select named it; no bundled rule ran
    by_address = {f["address"]: f for f in findings}
    assert by_address["aws_rds_cluster.orders"]["suppression"]["justification"] == "a test database"
    assert by_address["aws_rds_cluster.reports"]["severity"] == "medium" and not by_address[
        "aws_rds_cluster.reports"].get("suppression")
    ignored = iaclint("check", "infra", "--ignore", "aurora-deletion-protection", cwd=project)
    assert ignored.returncode == 0 and "ORG001" not in ignored.stdout


def test_explain_and_rules_show_user_rules(project):
    explained = iaclint("explain", "aurora-deletion-protection", "--rules-dir", "policies", cwd=project)
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout.startswith("ORG001 aurora-deletion-protection [high]")
    assert "Defined in: policies/ORG001.yaml" in explained.stdout
    assert "Documentation: https://wiki.example.com/platform/aurora" in explained.stdout
    listing = iaclint("rules", "--rules-dir", "policies", "--format", "json", cwd=project)
    mine = [r for r in json.loads(listing.stdout) if r["id"] == "ORG001"]
    assert mine and mine[0]["file"] == "policies/ORG001.yaml" and mine[0]["fixable"] is True
    (project / ".iaclint.toml").write_text('rules = ["policies"]\n')
    text = iaclint("rules", cwd=project).stdout
    assert "Company policy" in text and re.search(r"ORG001\s+aurora-deletion-protection\s+high\s+safe", text)
    assert iaclint("explain", "ORG001", cwd=project).returncode == 0
    assert iaclint("explain", "ORG001", cwd=ROOT).returncode == 2  # no folder, no rule


def test_sarif_and_rdjson_describe_user_rules(project):
    sarif_path, rdjson_path = project / "out.sarif", project / "out.rdjson"
    proc = iaclint("check", "infra", "--rules-dir", "policies", "--format", f"sarif:{sarif_path}",
                   "--format", f"rdjson:{rdjson_path}", cwd=project)
    assert proc.returncode == 1, proc.stderr
    sarif = json.loads(sarif_path.read_text())
    jsonschema.Draft7Validator(json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())).validate(sarif)
    driver = sarif["runs"][0]["tool"]["driver"]
    rule = next(r for r in driver["rules"] if r["id"] == "ORG001")
    assert rule["helpUri"] == "https://wiki.example.com/platform/aurora"
    assert rule["shortDescription"]["text"].startswith("Provisioned Aurora clusters")
    assert "encryption" not in rule["properties"]["tags"] and rule["properties"]["security-severity"]
    bundled = next(r for r in driver["rules"] if r["id"] == "NEP001")
    assert bundled["helpUri"].endswith("docs/rules/NEP001.md")
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "ORG001"]
    assert len(results) == 2 and all(driver["rules"][r["ruleIndex"]]["id"] == "ORG001" for r in results)
    rdjson = json.loads(rdjson_path.read_text())
    jsonschema.validate(rdjson, json.loads((ROOT / "tests" / "data" / "rdjson" / "DiagnosticResult.json").read_text()))
    codes = [d["code"] for d in rdjson["diagnostics"] if d["code"]["value"] == "ORG001"]
    assert codes and all(c["url"] == "https://wiki.example.com/platform/aurora" for c in codes)


def test_a_user_rule_without_docs_link_has_no_help_uri(project):
    (project / "policies" / "ORG001.yaml").write_text(rule_text(references="{}"))
    proc = iaclint("check", "infra", "--rules-dir", "policies", "--format", "sarif", cwd=project)
    rule = next(r for r in json.loads(proc.stdout)["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "ORG001")
    assert "helpUri" not in rule  # never a link to a page iaclint does not have


# ---- refused, with file and line ------------------------------------------------------------------------


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def problems_of(folder: Path, *more: Path) -> list[str]:
    with pytest.raises(RuleError) as raised:
        use_rule_folders([folder, *more])
    header, *lines = str(raised.value).splitlines()
    assert re.match(r"\d+ problems? in rule files", header)
    return [line.strip() for line in lines]


def test_every_problem_in_every_file_is_reported_with_its_line(tmp_path):
    folder = tmp_path / "rules"
    write(folder, "ORG001.yaml", rule_text(severity="hihg", mode="manged"))
    write(folder, "ORG002.yaml", rule_text(id="ORG002", name="two").replace("  equals: true\n", "  equal: true\n"))
    write(folder, "ORG003.yml", "id: ORG003\nname: three\nid: ORG004\n")
    write(folder, "ORG005.yaml", "id: [unclosed\n")
    write(folder, "README.md", "not a rule")  # other files are not rules
    found = problems_of(folder)
    text = "\n".join(found)
    org1 = rule_text().splitlines()
    severity_line = next(i for i, line in enumerate(org1, 1) if line.startswith("severity:"))
    assert f"ORG001.yaml:{severity_line}: severity: 'hihg' is not one of" in text and "(did you mean high?)" in text
    assert "ORG001.yaml:" in text and "mode: 'manged' is not one of managed, data, module (did you mean managed?)" in text
    equal_line = next(i for i, line in enumerate(org1, 1) if line == "  equals: true")
    assert f"ORG002.yaml:{equal_line}: assert: unknown key 'equal' (did you mean equals?)" in text
    assert "ORG003.yml:3: duplicate key 'id' (first on line 1)" in text
    assert re.search(r"ORG005.yaml:\d+: not valid YAML", text)
    assert not any("README" in line for line in found)
    assert all(re.match(r"\S+:\d+: ", line) for line in found), found  # every one with its line


def test_a_typo_is_a_usage_error_exit_2_that_checks_nothing(project):
    (project / "policies" / "ORG001.yaml").write_text(rule_text().replace("  equals: true", "  equal: true"))
    proc = iaclint("check", "infra", "--rules-dir", "policies", "--format", "sarif:out.sarif", cwd=project)
    assert proc.returncode == 2 and "unknown key 'equal' (did you mean equals?)" in proc.stderr
    assert proc.stdout == "" and not (project / "out.sarif").exists()
    (project / "pyproject.toml").write_text('[tool.iaclint]\nrules = ["policies"]\n')
    from_settings = iaclint("check", "infra", cwd=project)
    assert from_settings.returncode == 2 and "pyproject.toml [tool.iaclint]: rules:" in from_settings.stderr
    assert "policies/ORG001.yaml:" in from_settings.stderr


@pytest.mark.parametrize("change, message", [
    ({"id": "NEP001"}, "id NEP001 is already used by a bundled rule"),
    ({"name": "neptune-cluster-encrypted"}, "name neptune-cluster-encrypted is already used by a bundled rule"),
    ({"id": "ORG009"}, "the file name must be the rule id: ORG009.yaml"),
    ({"id": "org1"}, "id: 'org1' is not three capital letters and three digits"),
    ({"check": "iaclint.checks.datastores:encrypted"}, "has assert and check: give only one"),
    ({"assert": None}, "needs one of: assert, check"),
    ({"assert": "{attribute: deletion_protection}"}, "needs a test: equals, in, present, nonempty, matches"),
    ({"assert": "{attribute: deletion_protection, equals: true, present: true}"}, "has equals and present: give one"),
    ({"assert": "{attribute: engine, matches: 'aurora('}"}, "assert.matches: not a regular expression"),
    ({"assert": "{attribute: 'scaling configuration.min', equals: 2}"}, "is not an argument name or a dotted path"),
    ({"assert": "{any: [{attribute: engine, equals: x}, {nott: {attribute: engine, equals: y}}]}"},
     "assert.any[1]: needs one of: attribute, all, any, not"),
    ({"fix": "{action: share_copy, attribute: x}"}, "share_copy needs what a Python check found"),
    ({"fix": "{action: set_attribute, attribute: deletion_protection}"}, "set_attribute needs value"),
    ({"fix": "{action: check_settings, attribute: x}"}, "check_settings needs what a Python check found"),
    ({"reported_by": "[SNS030]"}, "reported_by: SNS030 is not a bundled rule (did you mean SNS003?)"),
])
def test_rule_mistakes_are_refused(tmp_path, change, message):
    write(tmp_path / "rules", "ORG001.yaml", rule_text(**change))
    found = problems_of(tmp_path / "rules")
    assert any(message in line for line in found), found


def test_folder_problems(tmp_path):
    assert problems_of(tmp_path / "missing") == [f"{tmp_path / 'missing'}: no such rule folder"]
    (tmp_path / "empty").mkdir()
    assert problems_of(tmp_path / "empty") == [f"{tmp_path / 'empty'}: no rule files (*.yaml) in this folder"]
    write(tmp_path / "a", "ORG001.yaml", rule_text())
    write(tmp_path / "b", "ORG001.yaml", rule_text())
    clash = problems_of(tmp_path / "a", tmp_path / "b")
    assert len(clash) == 2 and "is already used by" in clash[0] and str(tmp_path / "a" / "ORG001.yaml") in clash[0]
    loaded = use_rule_folders([tmp_path / "a", tmp_path / "a"])  # the same folder twice is loaded once
    assert [r.id for r in loaded] == ["ORG001"]


def test_aliases_and_huge_files_are_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}]\n"
        for n in range(10))
    write(tmp_path / "rules", "ORG001.yaml", bomb)
    assert any("anchors and aliases" in line for line in problems_of(tmp_path / "rules"))
    write(tmp_path / "big", "ORG001.yaml", "# " + "x" * (1 << 20) + "\n")
    assert any("not a rule file" in line for line in problems_of(tmp_path / "big"))


def test_user_rules_are_known_to_every_lookup_and_only_while_loaded(tmp_path):
    write(tmp_path / "rules", "ORG001.yaml", rule_text())
    assert find_rule("ORG001") is None
    use_rule_folders([tmp_path / "rules"])
    rule = find_rule("aurora-deletion-protection")
    assert rule is not None and rule.user and rule.id == "ORG001"
    assert rule in all_rules() and rule not in load_rules()
    use_rule_folders([])
    assert find_rule("ORG001") is None and rule_registry.rule_by_id("ORG001") is None


def test_bundled_rules_meet_the_same_checks():
    """What user rules are held to, the bundled ones already meet (one test per condition, valid regexes)."""
    import yaml

    for path in sorted((ROOT / "rules").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        assert not schema_problems(data), path.name
        assert not [m for m in semantic_problems(data) if "needs what a Python check found" not in m[1]], path.name


def test_problems_name_file_and_line_for_a_single_file(tmp_path):
    path = write(tmp_path, "ORG001.yaml", rule_text(severity="urgent"))
    problems = Problems()
    assert load_user_rule(path, problems) is None
    (where, line, message), = problems.found
    assert line == rule_text().splitlines().index("severity: high") + 1 and "'urgent' is not one of" in message


# ---- Python checks only from installed packages ----------------------------------------------------------


def test_a_check_in_the_scanned_tree_is_refused_and_never_imported(project):
    """With the tree on Python's import path (python -m from the tree, PYTHONPATH), its module is found
    by the import system, located, refused, and never executed."""
    (project / "orgchecks.py").write_text("import pathlib\npathlib.Path(__file__).with_name('IMPORTED').write_text('x')\n"
                                         "def deletion_protection(resource, context):\n    return None\n")
    package = project / "orgpkg"
    package.mkdir()
    (package / "__init__.py").write_text("import pathlib\npathlib.Path(__file__).parent.with_name('IMPORTED').write_text('x')\n")
    (package / "checks.py").write_text("def run(resource, context):\n    return None\n")
    for module in ("orgchecks:deletion_protection", "orgpkg.checks:run", "policies:run"):
        (project / "policies" / "ORG001.yaml").write_text(rule_text(check=module, **{"assert": None, "fix": None}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TF_VAR_")}
        for extra in ({}, {"PYTHONPATH": f"{project}:{project / 'policies'}"}):
            proc = iaclint("check", "infra", "--rules-dir", "policies", cwd=project, env={**env, **extra})
            assert proc.returncode == 2, proc.stdout + proc.stderr
            assert "is not an installed package" in proc.stderr and "never from the scanned tree" in proc.stderr
            assert re.search(r"policies/ORG001.yaml:\d+: check ", proc.stderr)
            assert not (project / "IMPORTED").exists(), module
    shutil.rmtree(package)


def test_a_check_from_an_installed_package_is_used(project):
    (project / "policies" / "ORG001.yaml").write_text(
        rule_text(check="iaclint.checks.datastores:encrypted", resource_types="[aws_db_instance]",
                  **{"assert": None, "fix": None, "applies_when": None}))
    (project / "infra" / "db.tf").write_text('resource "aws_db_instance" "x" {\n  engine = "postgres"\n}\n')
    proc = iaclint("check", "infra", "--rules-dir", "policies", "--select", "ORG001", "--compact", cwd=project)
    assert proc.returncode == 1, proc.stderr
    assert "ORG001 [high]" in proc.stdout and "aws_db_instance.x" in proc.stdout
    for name, message in (("iaclint.checks.datastores:no_such_function", "defines no function"),
                          ("os.path:join", "is not an installed package"),
                          ("iaclint.checks.nothing:run", "no module iaclint.checks.nothing")):
        (project / "policies" / "ORG001.yaml").write_text(rule_text(check=name, **{"assert": None, "fix": None}))
        refused = iaclint("check", "infra", "--rules-dir", "policies", cwd=project)
        assert refused.returncode == 2 and message in refused.stderr, (name, refused.stderr)


def test_a_check_that_returns_no_result_is_an_unknown_with_the_reason(project):
    """An installed check with a bug must not stop the run: its rule says unknown, and why."""
    import yaml

    from iaclint.engine.rules import rule_from_data
    from iaclint.run.lint import lint
    from support import options

    data = yaml.safe_load(rule_text())
    rule = rule_from_data({**data, "check": "mine:broken"}, project / "policies" / "ORG001.yaml")
    rule.check = lambda resource, context: None
    findings = lint([str(project / "infra")], options(), rules=[rule]).report.findings
    assert len(findings) == 3 and all(f.verdict.value == "unknown" for f in findings)  # every cluster checked
    assert "check mine:broken returned NoneType, not a CheckResult" in findings[0].message


def test_a_rule_file_linked_out_of_the_repository_is_not_read(project, tmp_path_factory):
    """A repository's settings may name a rules folder inside it; a file there that links out of the
    repository is refused without being opened, as a linked .tf file is (its text could reach messages)."""
    outside = tmp_path_factory.mktemp("elsewhere") / "ORG009.yaml"
    outside.write_text(rule_text(id="ORG009", name="linked-out"))
    (project / "policies" / "ORG009.yaml").symlink_to(outside)
    (project / ".iaclint.toml").write_text('rules = ["policies"]\n')
    listed = iaclint("rules", cwd=project)
    assert listed.returncode == 2
    assert "policies/ORG009.yaml" in listed.stderr and "symbolic link" in listed.stderr
    assert "outside the repository" in listed.stderr and "ORG009 " not in listed.stdout
    # named on the command line, the folder is the user's own choice: its links are followed
    chosen = iaclint("rules", "--rules-dir", "policies", cwd=project)
    assert chosen.returncode == 0, chosen.stderr
    assert re.search(r"ORG009\s+linked-out", chosen.stdout)
