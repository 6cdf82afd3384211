"""Inputs that once ended in an internal error, a wrong message, or a hang."""

from __future__ import annotations

import json
import os
import random
import threading

import pytest

from iaclint.fixes.diff import file_diff, unified_diff
from iaclint.hcl.layout import apply_edits
from iaclint.model import Edit
from iaclint.source import SourceFile
from support import FIXTURES
from test_cli import assert_no_traceback, iaclint

PLAN = FIXTURES / "rules" / "ECH001" / "plan_engines" / "plan.json"


@pytest.mark.parametrize("encode", [
    lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
    lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
], ids=["utf8-bom", "utf16-le", "utf16-be"])
def test_plans_with_a_bom_or_in_utf16_are_read(tmp_path, encode):
    path = tmp_path / "plan.json"
    path.write_bytes(encode(PLAN.read_text()))
    proc = iaclint("check", "--compact", "--select", "ECH001", str(path))
    assert_no_traceback(proc)
    assert proc.returncode == 1 and "ECH001" in proc.stdout, proc.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_plan_from_a_pipe_is_read_once(tmp_path):
    fifo = tmp_path / "plan-pipe"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "w") as handle:
            handle.write(PLAN.read_text())

    writer = threading.Thread(target=feed)
    writer.start()
    proc = iaclint("check", "--compact", "--select", "ECH001", str(fifo))
    writer.join(timeout=10)
    assert proc.returncode == 1 and "ECH001" in proc.stdout, proc.stderr


@pytest.mark.parametrize("change,message", [
    (lambda t: t.replace('"applyable":true', '"applyable":NaN'), "NaN is not valid JSON"),
    (lambda t: t.replace('"applyable":true', '"applyable":-Infinity'), "-Infinity is not valid JSON"),
    (lambda t: t.replace('"format_version":"1.2"', '"format_version":"-1.0"'), "is not a version number"),
    (lambda t: t[:400], "is it truncated?"),
    (lambda t: t[:-1] + "]", "Expecting ',' delimiter"),
])
def test_broken_plans_are_usage_errors_with_the_right_words(tmp_path, change, message):
    path = tmp_path / "plan.json"
    path.write_text(change(PLAN.read_text()))
    proc = iaclint("check", str(path))
    assert_no_traceback(proc)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    if message == "Expecting ',' delimiter":
        assert "truncated" not in proc.stderr  # only said when the file really ends early


def test_huge_integers_in_plans_do_not_crash(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(PLAN.read_text().replace('"complete":true', '"complete":' + "9" * 5000))
    proc = iaclint("check", "--compact", "--select", "ECH001", str(path))
    assert_no_traceback(proc)
    assert proc.returncode == 1


def test_plan_positions_come_from_one_index(tmp_path):
    from iaclint.run.lint import Target
    from iaclint.graph.plan import load_plan_target
    from support import options

    graph = load_plan_target(Target("plan", PLAN), options())
    text = PLAN.read_text()
    for resource in graph.resources:
        span = resource.plan_span
        assert json.loads(text[span.start:span.end].split(":", 1)[1]) == resource.address
        assert span.start > text.find('"resource_changes"')  # the change entry, not planned_values


def test_the_diff_of_one_fix_only_compares_the_lines_around_it():
    random.seed(7)
    for _ in range(300):
        lines = [f'  a{i} = "{random.choice("xyz")}"\n' for i in range(random.randint(1, 40))]
        text = "".join(lines)
        if random.random() < 0.3:
            text = text.rstrip("\n")
        source = SourceFile("f.tf", text)
        edits = []
        for _ in range(random.randint(1, 3)):
            start = random.randint(0, len(text))
            end = min(len(text), start + random.randint(0, 12))
            edits.append(Edit("f.tf", start, end, random.choice(["", "q", "\n  b = 1\n"])))
        edits.sort(key=lambda e: e.start)
        if any(a.end > b.start for a, b in zip(edits, edits[1:])):
            continue
        assert unified_diff({"f.tf": source}, edits) == file_diff("f.tf", text, apply_edits(text, edits))


def test_a_reference_to_a_for_each_resource_is_built_once(tmp_path, monkeypatch):
    from pathlib import Path

    from iaclint.graph import hcl
    from iaclint.graph.inputs import collect_inputs

    names = ", ".join(f'"n{i}"' for i in range(200))
    (tmp_path / "main.tf").write_text(
        f'locals {{\n  names = toset([{names}])\n}}\n'
        'resource "aws_kms_key" "k" {\n  for_each = local.names\n}\n'
        'resource "aws_neptune_cluster" "c" {\n  for_each    = local.names\n'
        '  kms_key_arn = aws_kms_key.k[each.key].arn\n}\n')
    builds = []
    original = hcl.ResourceGroup._build_reference

    def counting(self):
        builds.append(self.base_address)
        return original(self)

    monkeypatch.setattr(hcl.ResourceGroup, "_build_reference", counting)
    graph = hcl.build_hcl_graph(Path(tmp_path), collect_inputs(Path(tmp_path), environ={}))
    for cluster in graph.of_type("aws_neptune_cluster"):
        assert cluster.attr("kms_key_arn").value.all_refs()
    assert builds.count("aws_kms_key.k") == 1  # was once per referencing instance: quadratic


def _write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_fifty_level_module_chain_is_checked_and_a_cycle_is_reported_once(tmp_path):
    from support import run

    chain = tmp_path / "chain"
    files = {"main.tf": 'module "m0" {\n  source = "./m0"\n}\n'}
    for i in range(51):  # module m{i} lives in m0/m1/.../m{i} and calls the next one below it
        folder = "/".join(f"m{j}" for j in range(i + 1))
        files[f"{folder}/main.tf"] = (f'module "m{i + 1}" {{\n  source = "./m{i + 1}"\n}}\n' if i < 50 else
                                      'resource "aws_neptune_cluster" "deep" {\n  cluster_identifier = "deep"\n}\n')
    _write(chain, files)
    report = run([chain], select={"NEP001", "CONFIG"})
    assert [f.address for f in report.findings if f.rule_id == "NEP001"] == [
        "".join(f"module.m{i}." for i in range(51)) + "aws_neptune_cluster.deep"]

    loop = tmp_path / "loop"
    _write(loop, {"main.tf": 'module "a" {\n  source = "./a"\n}\n',
                  "a/main.tf": 'module "b" {\n  source = "../b"\n}\n',
                  "b/main.tf": 'module "a" {\n  source = "../a"\n}\n'})
    report = run([loop])
    cycles = [f for f in report.findings if f.rule_id == "CONFIG" and "calls itself" in f.message]
    assert len(cycles) == 1 and report.failing


def test_an_unreadable_module_directory_is_a_config_finding_that_fails(tmp_path, monkeypatch):
    from pathlib import Path

    from support import run

    _write(tmp_path, {"main.tf": 'module "db" {\n  source = "./db"\n}\n',
                      "db/main.tf": 'resource "aws_neptune_cluster" "c" {}\n'})
    real = Path.iterdir

    def iterdir(self):
        if self.name == "db":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    report = run([tmp_path])
    config = [f for f in report.findings if f.rule_id == "CONFIG"]
    assert config and "cannot read the module directory: Permission denied" in config[0].message
    assert report.failing


def test_a_key_that_is_not_in_the_files_given_is_still_a_customer_key_with_a_notice(tmp_path):
    from support import run

    _write(tmp_path, {"main.tf": (
        'resource "aws_neptune_cluster" "c" {\n  storage_encrypted = true\n  kms_key_arn       = aws_kms_key.k.arn\n}\n'
        'variable "key" {\n  type = string\n}\n'
        'resource "aws_neptune_cluster" "d" {\n  storage_encrypted = true\n  kms_key_arn       = var.key\n}\n')})
    report = run([tmp_path], select={"NEP002", "NEP004"})
    by = {(f.rule_id, f.address): f.verdict.value for f in report.findings}
    assert ("NEP002", "aws_neptune_cluster.c") not in by  # an aws_kms_key is a customer managed key
    assert ("NEP004", "aws_neptune_cluster.d") not in by  # storage_encrypted is true: the key is used
    assert any("undeclared resource aws_kms_key.k" in n for n in report.notices)


PARITY_ACCEPTED = {  # terraform reads these; python-hcl2's grammar alone did not
    "arrow_on_its_own_line": 'locals {\n  m = { for k, v in var.x : k\n    => v }\n}\n',
    "leading_dot_in_parentheses": 'locals {\n  a = (var.x\n    .y)\n}\n',
    "heredoc_marker_with_trailing_spaces": 'locals {\n  a = <<EOT\nhello\nEOT   \n}\n',
    "strip_markers": 'locals {\n  a = "${~ var.x ~}"\n}\n',
    "unicode_identifier": 'locals {\n  café = 1\n}\n',
    "double_not": 'locals {\n  a = !!true\n}\n',
    "double_minus": 'locals {\n  a = --1\n}\n',
    "escapes_without_closing_brace": 'locals {\n  a = "$${"\n  b = "%%{"\n}\n',
    "operator_line_break_in_parentheses": 'locals {\n  a = (1 +\n    2)\n}\n',
    "conditional_line_break_in_brackets": 'locals {\n  a = [var.x\n    ? 1 : 2]\n}\n',
    "line_break_in_an_interpolation": 'locals {\n  a = "${var.x +\n    1}"\n}\n',
    "for_across_lines": 'locals {\n  a = { for k, v in var.m :\n    k => v }\n}\n',
}
PARITY_REJECTED = {  # terraform rejects these; iaclint must say PARSE, not check a guess
    "duplicate_attribute": ('resource "aws_kms_key" "k" {\n  description = "a"\n  description = "b"\n}\n', "twice"),
    "string_spanning_lines": ('locals {\n  a = "x\ny"\n}\n', "cannot span lines"),
    "two_attributes_on_a_line": ("locals {\n  a = 1 b = 2\n}\n", "missing newline"),
    "lone_cr": ("locals {\r  a = 1\r}\r", "carriage return"),
    "bad_escape": ('locals {\n  a = "\\q"\n}\n', "not an escape sequence"),
    "unterminated_if": ('locals {\n  a = "%{ if true }x"\n}\n', "not closed"),
    "brace_after_argument": ('resource "aws_kms_key" "k" {\n  description = "x" }\n', "closing brace"),
    # a new line outside ( ), [ ], { } ends an argument (tree-sitter-hcl reads on; these go to the Lark checks)
    "value_on_the_next_line": ("locals {\n  a =\n    1\n}\n", "syntax error"),
    "equals_on_the_next_line": ("locals {\n  a\n    = 1\n}\n", "syntax error"),
    "brace_on_the_next_line": ("locals\n{\n  a = 1\n}\n", "opening brace"),
    "operator_at_the_end_of_a_line": ("locals {\n  a = 1 +\n    2\n}\n", "new line ends the argument"),
    "conditional_on_the_next_line": ("locals {\n  a = var.x\n    ? 1 : 2\n}\n", "new line ends the argument"),
    "traversal_across_lines": ("locals {\n  a = var.\n    x\n}\n", "syntax error"),
    "object_element_across_lines": ("locals {\n  m = {\n    a\n    = 1\n  }\n}\n", "syntax error"),
}
TERRAFORM = __import__("shutil").which("terraform")


@pytest.mark.parametrize("back_end", ["tree-sitter", "lark"])
@pytest.mark.parametrize("name", sorted(PARITY_ACCEPTED))
def test_parse_parity_accepted(tmp_path, monkeypatch, name, back_end):
    from support import run

    monkeypatch.setenv("IACLINT_PARSER", back_end)
    (tmp_path / "main.tf").write_text(PARITY_ACCEPTED[name], encoding="utf-8")
    report = run([tmp_path])
    assert not [f.message for f in report.findings if f.rule_id == "PARSE"]
    if TERRAFORM:  # terraform fmt parses the same text (0: clean, 3: would reformat, 2: syntax error)
        import subprocess

        proc = subprocess.run([TERRAFORM, "fmt", "-check", "-"], input=PARITY_ACCEPTED[name].encode(),
                              capture_output=True)
        assert proc.returncode != 2, proc.stderr


@pytest.mark.parametrize("back_end", ["tree-sitter", "lark"])
@pytest.mark.parametrize("name", sorted(PARITY_REJECTED))
def test_parse_parity_rejected(tmp_path, monkeypatch, name, back_end):
    from support import run

    monkeypatch.setenv("IACLINT_PARSER", back_end)
    text, words = PARITY_REJECTED[name]
    (tmp_path / "main.tf").write_bytes(text.encode("utf-8"))
    report = run([tmp_path])
    parse = [f.message for f in report.findings if f.rule_id == "PARSE"]
    assert parse and words in parse[0]
    if TERRAFORM:
        import subprocess

        proc = subprocess.run([TERRAFORM, "fmt", "-check", "-"], input=text.encode(), capture_output=True)
        assert proc.returncode == 2, "terraform accepts it: iaclint must too"


def test_parity_cases_evaluate_like_terraform(tmp_path):
    from pathlib import Path

    from iaclint.graph.hcl import build_hcl_graph
    from iaclint.graph.inputs import collect_inputs

    (tmp_path / "main.tf").write_text('resource "aws_kms_key" "k" {\n  description = "$${x} %%{y}"\n'
                                      '  enable_key_rotation = !!true\n  deletion_window_in_days = --7\n}\n')
    graph = build_hcl_graph(Path(tmp_path), collect_inputs(Path(tmp_path), environ={}))
    key = graph.resources[0]
    assert key.attr("description").value.raw == "${x} %{y}"
    assert key.attr("enable_key_rotation").value.raw is True
    assert key.attr("deletion_window_in_days").value.raw == 7
