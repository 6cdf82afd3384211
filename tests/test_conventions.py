"""What every user of checkov, tflint or trivy expects of a command line, and output that cannot lie."""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest

from iaclint.engine.ruledocs import rule_markdown
from iaclint.engine.rules import all_rules
from support import FIXTURES, ROOT
from test_cli import assert_no_traceback, iaclint
from test_precommit_and_action import git

DEMO = FIXTURES / "demo"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())


def test_help_short_option_and_default_path(tmp_path):
    assert iaclint("-h").returncode == 0 and "check" in iaclint("-h").stdout
    assert "--soft-fail" in iaclint("check", "-h").stdout
    shutil.copytree(DEMO, tmp_path / "demo")
    here = iaclint("check", "--compact", cwd=tmp_path / "demo")
    named = iaclint("check", "--compact", ".", cwd=tmp_path / "demo")
    assert here.returncode == 1 and here.stdout == named.stdout


def test_text_shows_the_line_a_caret_and_where_to_read_more():
    out = iaclint("check", "--no-color", "fixtures/demo").stdout
    assert "  51 |   storage_encrypted   = var.analytics_encrypted\n" in out
    assert "     |                         ^^^^^^^^^^^^^^^^^^^^^^^\n" in out
    assert "    see: iaclint explain NEP001" in out
    assert "11 failing (8 high, 2 medium, 1 low)" in out
    assert "\x1b[" not in out


def test_colour_only_when_asked_or_on_a_terminal_without_no_color():
    assert "\x1b[31m" in iaclint("check", "--color", "fixtures/demo").stdout
    assert "\x1b[" not in iaclint("check", "fixtures/demo").stdout  # captured output is not a terminal


def test_compact_quiet_and_soft_fail():
    compact = iaclint("check", "--compact", "fixtures/demo").stdout.splitlines()
    assert all(line.startswith("fixtures/demo/") for line in compact[:-2]) and " | " not in "\n".join(compact)
    quiet = iaclint("check", "--quiet", "--compact", "--severity-threshold", "high", "fixtures/demo")
    assert {line.split()[1] for line in quiet.stdout.splitlines()[:-2]} == {"NEP001", "NEP003", "ECH001", "SNP001", "SNP002", "BAK002", "BAK003", "SNS003"}
    assert "notice:" not in quiet.stdout
    soft = iaclint("check", "--soft-fail", "fixtures/demo")
    assert soft.returncode == 0 and "11 failing" in soft.stdout
    assert iaclint("check", "--soft-fail", "no-such-dir").returncode == 2


def test_peer_ids_and_did_you_mean():
    only = json.loads(iaclint("check", "-f", "json", "--select", "CKV_AWS_44", "fixtures/demo").stdout)
    assert {f["rule_id"] for f in only["findings"]} == {"NEP001"}
    both = iaclint("explain", "AVD-AWS-0084").stdout
    assert "RSH001" in both and "RSH002" in both
    typo = iaclint("check", "--select", "NEP0001", "fixtures/demo")
    assert typo.returncode == 2 and "did you mean NEP001?" in typo.stderr
    option = iaclint("check", "--selct", "NEP001", "fixtures/demo")
    assert option.returncode == 2 and "--select" in option.stderr


def test_one_format_on_stdout_others_to_files_in_new_directories(tmp_path):
    clash = iaclint("check", "-f", "json", "-f", "sarif", "fixtures/demo")
    assert clash.returncode == 2 and "standard output" in clash.stderr
    target = tmp_path / "out" / "deep" / "iaclint.sarif"
    proc = iaclint("check", "-f", "text", "-f", f"sarif:{target}", "fixtures/demo")
    assert_no_traceback(proc)
    assert proc.returncode == 1 and target.is_file()
    jsonschema.validate(json.loads(target.read_text()), SARIF_SCHEMA)
    dash = iaclint("check", "-f", "sarif:-", "fixtures/demo", cwd=ROOT)
    assert json.loads(dash.stdout)["version"] == "2.1.0" and not (ROOT / "-").exists()
    usage = tmp_path / "never.sarif"
    bad = iaclint("check", "-f", f"sarif:{usage}", "--select", "NOPE99", "fixtures/demo")
    assert bad.returncode == 2 and not usage.exists()  # a usage error writes no report
    folder = iaclint("check", "-f", f"json:{tmp_path}", "fixtures/demo")
    assert folder.returncode == 2 and "is a directory" in folder.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to mark the repository root")
def test_sarif_uris_are_relative_to_the_repository_root_from_any_directory(tmp_path):
    repo = tmp_path / "repo with space"
    shutil.copytree(FIXTURES / "monorepo", repo)
    git("init", "-q", cwd=repo)
    from_sub = iaclint("check", "-f", "sarif", "staging", cwd=repo / "infra")
    document = json.loads(from_sub.stdout)
    jsonschema.validate(document, SARIF_SCHEMA)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in document["runs"][0]["results"] for loc in result["locations"]}
    assert uris == {"modules/graph/main.tf"}
    assert document["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/repo%20with%20space/")
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert all(r["helpUri"].endswith(f"/docs/rules/{r['id']}.md") for r in rules)
    annotations = iaclint("check", "-f", "github", "staging", cwd=repo / "infra").stdout
    assert "file=modules/graph/main.tf," in annotations


def test_rule_pages_are_generated_from_the_rules_and_up_to_date():
    for rule in all_rules():
        page = ROOT / "docs" / "rules" / f"{rule.id}.md"
        assert page.is_file(), f"run: python -m iaclint.engine.ruledocs docs/rules ({page} is missing)"
        assert page.read_text() == rule_markdown(rule), f"{page} is stale: python -m iaclint.engine.ruledocs docs/rules"


def test_rdjson_validates_and_carries_fixes_as_suggestions(tmp_path):
    schema = json.loads((ROOT / "tests" / "data" / "rdjson" / "DiagnosticResult.json").read_text())
    module = tmp_path / "m"
    module.mkdir()
    (module / "main.tf").write_text('# café\nresource "aws_kms_key" "é" {\n  description = "ünïcode"\n}\n'
                                    'resource "aws_neptune_cluster" "graph" {\n  storage_encrypted = false\n}\n')
    proc = iaclint("check", "-f", "rdjson", "--select", "KMS001,NEP001", str(module))
    document = json.loads(proc.stdout)
    jsonschema.validate(document, schema)
    by_rule = {d["code"]["value"]: d for d in document["diagnostics"]}
    assert by_rule["KMS001"]["code"]["url"].endswith("/docs/rules/KMS001.md")
    nep = by_rule["NEP001"]
    suggestion = nep["suggestions"][0]
    assert suggestion["text"] == "true"
    assert suggestion["range"] == {"start": {"line": 6, "column": 23}, "end": {"line": 6, "column": 28}}
    assert nep["location"]["range"]["start"] == {"line": 6, "column": 3}
    for name in ("demo", "monorepo"):
        jsonschema.validate(json.loads(iaclint("check", "-f", "rdjson", str(FIXTURES / name)).stdout), schema)


def test_an_input_error_writes_no_report_file(tmp_path):
    (tmp_path / "broken.json").write_text('{"format_version": "1.2", "planned_values": ')
    target = tmp_path / "iaclint.sarif"
    proc = iaclint("check", "-f", f"sarif:{target}", "fixtures/demo", str(tmp_path / "broken.json"))
    assert proc.returncode == 2 and "truncated" in proc.stderr and not target.exists()


def test_progress_appears_only_on_a_terminal_after_a_second(monkeypatch, capsys):
    import io
    import time

    from iaclint import cli

    fake = io.StringIO()
    monkeypatch.setattr(cli.sys, "stderr", fake)
    quiet = cli._Progress(enabled=False)
    quiet(1, 3, "infra/prod")
    fresh = cli._Progress(enabled=True)
    fresh(1, 3, "infra/prod")  # under a second: nothing yet
    assert fake.getvalue() == ""
    slow = cli._Progress(enabled=True)
    slow.started = time.monotonic() - 2
    slow(2, 3, "infra/staging")
    slow.done()
    assert "checking 2/3 infra/staging" in fake.getvalue() and fake.getvalue().endswith("\r\x1b[K")
