"""Inputs that once ended in an internal error, a wrong message, or a hang."""

from __future__ import annotations

import json
import os
import random
import resource
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
    real = os.scandir

    def scandir(path="."):  # root reads any folder: its listing is made to fail instead
        if Path(path).name == "db":
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
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


# ---- issue 19: what a configuration from a stranger can make the evaluator do -----------------------------

import subprocess  # noqa: E402
from support import run  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

SECRET = "P4ssw0rd-from-the-CI-job"


def _cli(*args, cwd, env=None, timeout=120):
    """iaclint as CI runs it, strict: an evaluation step that is not total is a traceback here, not an unknown."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TF_VAR_")}
    environment.update({"IACLINT_STRICT": "1", "NO_COLOR": "1", "IACLINT_NO_CACHE": "1"}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "iaclint", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment, timeout=timeout)


def _every_output(tmp_path, *args, cwd, env=None) -> str:
    """What every report format and a baseline written from the run say, joined."""
    out = []
    for fmt in ("text", "json", "sarif", "github", "junit", "markdown", "rdjson"):
        proc = _cli("check", "--format", fmt, *args, cwd=cwd, env=env)
        assert_no_traceback(proc)
        assert proc.returncode in (0, 1), proc.stderr
        out += [proc.stdout, proc.stderr]
    baseline = tmp_path / "baseline.json"
    proc = _cli("check", "--write-baseline", str(baseline), *args, cwd=cwd, env=env)
    out += [proc.stdout, proc.stderr, baseline.read_text() if baseline.exists() else ""]
    diff = _cli("check", "--diff", *args, cwd=cwd, env=env)
    out += [diff.stdout, diff.stderr]
    return "\n".join(out)


def _repo(tmp_path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    _write(repo, files)
    return repo


def test_file_functions_never_read_outside_the_repository_or_git(tmp_path):
    """Security 3: .git/config (the checkout's token), /proc, /dev, absolute paths, ../ and links out are unknown
    with the reason; nothing is opened, and nothing of the content is shown."""
    repo = _repo(tmp_path, {})
    subprocess.run(["git", "config", "http.https://github.com/.extraheader", f"AUTHORIZATION: basic {SECRET}"],
                   cwd=repo, check=True)
    (tmp_path / "outside.txt").write_text(SECRET)
    (repo / "link-out").symlink_to(tmp_path / "outside.txt")
    (repo / "dir-out").symlink_to(tmp_path)
    (repo / "inside.txt").write_text("arn:aws:kms:eu-west-1:111122223333:key/" + SECRET)
    cases = {
        "git": ('file(".git/config")', "inside .git"),
        "git_through_dots": ('file("./x/../.git/config")', "inside .git"),
        "proc": ('file("/proc/self/environ")', "outside the repository"),
        "urandom": ('file("/dev/urandom")', "outside the repository"),
        "absolute": (f'file("{tmp_path / "outside.txt"}")', "outside the repository"),
        "dots": ('file("../outside.txt")', "outside the repository"),
        "link": ('file("link-out")', "outside the repository"),
        "dir_link": ('file("dir-out/outside.txt")', "outside the repository"),
        "template": ('templatefile("../outside.txt", {})', "outside the repository"),
        "home": ('file("~/.ssh/id_rsa")', "home directory"),
        "nul": ('file("\\u0000")', "NUL"),
    }
    body = "".join(f'resource "aws_db_instance" "{name}" {{\n  storage_encrypted = true\n'
                   f'  kms_key_id        = {expr}\n}}\n' for name, (expr, _) in cases.items())
    body += ('resource "aws_db_instance" "inside" {\n  storage_encrypted = true\n  kms_key_id        = '
             'substr(file("inside.txt"), 0, 60)\n}\n')
    (repo / "main.tf").write_text(body)
    from iaclint.graph.hcl import build_hcl_graph
    from iaclint.graph.inputs import collect_inputs

    graph = build_hcl_graph(repo, collect_inputs(repo, environ={}))
    for name, (_, words) in cases.items():
        value = graph.resource(f"aws_db_instance.{name}").attr("kms_key_id").value
        assert not value.known and words in value.unknown, (name, value.unknown)
    inside = graph.resource("aws_db_instance.inside").attr("kms_key_id").value
    assert inside.known and SECRET[:10] in inside.raw  # read, and usable for verdicts
    assert str(repo / "inside.txt") in graph.files_read and str(repo / "link-out") not in graph.files_read
    assert not any(".git" in p for p in graph.files_read)
    text = _every_output(tmp_path, ".", cwd=repo)
    assert SECRET not in text and SECRET[:8] not in text and "root:x:0:0" not in text
    assert "(content of inside.txt, read at main.tf:" in text  # the origin, never the content


def test_a_tf_file_linked_out_of_the_repository_is_not_read(tmp_path):
    repo = _repo(tmp_path, {"main.tf": 'resource "aws_kms_key" "k" {}\n'})
    (tmp_path / "secret.tf").write_text(f"{SECRET} is not HCL\n")
    (repo / "leak.tf").symlink_to(tmp_path / "secret.tf")
    text = _every_output(tmp_path, ".", cwd=repo)
    assert SECRET not in text
    assert "leak.tf:1:1: PARSE" in text and "this file is a symbolic link to " in text
    assert "secret.tf, outside the repository" in text


def test_module_sources_stay_inside_the_repository(tmp_path):
    outside = tmp_path / "elsewhere"
    _write(outside, {"main.tf": 'resource "aws_neptune_cluster" "c" {}\n'})
    repo = _repo(tmp_path, {"main.tf": 'module "out" {\n  source = "../elsewhere"\n}\n'
                                       'module "git" {\n  source = "./.git/x"\n}\n'
                                       'module "dl" {\n  source = "registry/x/aws"\n}\n',
                            ".git/x/main.tf": 'resource "aws_neptune_cluster" "g" {}\n',
                            ".terraform/modules/modules.json": json.dumps(
                                {"Modules": [{"Key": "dl", "Dir": "../elsewhere"}]})})
    report = run([repo])
    assert not [f for f in report.findings if f.rule_id.startswith("NEP")]
    notices = "\n".join(report.notices)
    assert "module.out: module source ../elsewhere is outside the repository" in notices
    assert "module.git: module source ./.git/x is inside .git" in notices
    assert "module.dl: its downloaded copy (.terraform/modules/modules.json) is outside the repository" in notices
    # and each call is a finding at its source line, which names the directory and says nothing in it is checked
    calls = sorted((f.location.line, f.message) for f in report.findings if f.rule_id == "CONFIG")
    assert [line for line, _ in calls] == [2, 5, 8]
    assert all("nothing in it is checked" in message for _, message in calls)


def test_without_git_the_scanned_directory_is_the_sandbox(tmp_path):
    _write(tmp_path, {"modules/m/main.tf": 'resource "aws_neptune_cluster" "c" {}\n',
                      "root/main.tf": 'module "m" {\n  source = "../modules/m"\n}\n'})
    inside = run([tmp_path])  # the whole tree was given: the module is in it
    assert any(f.rule_id == "NEP001" for f in inside.findings)
    alone = run([tmp_path / "root"])
    assert not any(f.rule_id == "NEP001" for f in alone.findings)
    assert any("module source ../modules/m is outside the scanned directory" in n for n in alone.notices)
    assert [(f.rule_id, f.location.line) for f in alone.findings if f.rule_id == "CONFIG"] == [("CONFIG", 2)]


@pytest.mark.parametrize("how", ["env", "tfvars", "cli", "default"])
def test_sensitive_variables_are_never_shown(tmp_path, how):
    """Security 7: a variable declared sensitive, from any source, and TF_VAR_ values whatever the declaration
    (the environment is the CI job's, the declaration the pull request's), and what is derived from them."""
    sensitive = "" if how == "env" else "\n  sensitive = true"
    default = f'\n  default = "{SECRET}"' if how == "default" else ""
    files = {"main.tf": f'variable "db_password" {{\n  type = string{sensitive}{default}\n}}\n'
             'resource "aws_db_instance" "whole" {\n  storage_encrypted = true\n'
             '  kms_key_id        = var.db_password\n}\n'
             'resource "aws_db_instance" "part" {\n  storage_encrypted = true\n  kms_key_id        = '
             '"arn:aws:kms:${substr(var.db_password, 0, 9)}:111122223333:key/x"\n}\n'
             'resource "aws_db_instance" "upper" {\n  storage_encrypted = true\n  kms_key_id        = '
             'nonsensitive(upper(replace(var.db_password, "/(.)/", "$1 ")))\n}\n'
             'resource "aws_db_instance" "picked" {\n  storage_encrypted = true\n  kms_key_id        = '
             '{ (var.db_password) = "alias/aws/rds" }[var.db_password]\n}\n'}
    if how == "tfvars":
        files["terraform.tfvars"] = f'db_password = "{SECRET}"\n'
    repo = _repo(tmp_path, files)
    args = ["--var", f"db_password={SECRET}"] if how == "cli" else []
    env = {"TF_VAR_db_password": SECRET} if how == "env" else {}
    text = _every_output(tmp_path, *args, ".", cwd=repo, env=env)
    for piece in (SECRET, SECRET[:9], SECRET.upper()[:9], " ".join(SECRET[:5].upper())):
        assert piece not in text.replace(f"db_password={SECRET}", ""), piece
    assert "(sensitive)" in text


def test_sensitive_values_through_modules(tmp_path):
    repo = _repo(tmp_path, {
        "main.tf": 'variable "pw" {}\nmodule "m" {\n  source = "./m"\n  key    = var.pw\n}\n'
                   'resource "aws_db_instance" "x" {\n  storage_encrypted = true\n'
                   '  kms_key_id        = module.m.key\n}\n',
        "m/main.tf": 'variable "key" {\n  sensitive = true\n}\noutput "key" {\n  value     = "x${var.key}"\n'
                     '  sensitive = true\n}\nresource "aws_db_instance" "y" {\n  storage_encrypted = true\n'
                     '  kms_key_id        = var.key\n}\n'})
    text = _every_output(tmp_path, ".", cwd=repo, env={"TF_VAR_pw": SECRET})
    assert SECRET not in text and text.count("(sensitive)") >= 2


def _sensitive_plan(after_sensitive, before_sensitive=False) -> dict:
    after = {"storage_encrypted": True, "kms_key_id": SECRET, "tags": {"owner": SECRET + "-tag"},
             "final_snapshot_identifier": SECRET + "-snap", "skip_final_snapshot": False}
    return {"format_version": "1.2", "terraform_version": "1.9.0",
            "planned_values": {"root_module": {"resources": [
                {"address": "aws_db_instance.db", "mode": "managed", "type": "aws_db_instance", "name": "db",
                 "values": after, "sensitive_values": after_sensitive}]}},
            "resource_changes": [{"address": "aws_db_instance.db", "mode": "managed", "type": "aws_db_instance",
                                  "name": "db", "change": {
                                      "actions": ["delete", "create"], "before": dict(after),
                                      "after": after, "after_unknown": {}, "before_sensitive": before_sensitive,
                                      "after_sensitive": after_sensitive,
                                      "replace_paths": [["kms_key_id"]]}}],
            "configuration": {"root_module": {"variables": {"pw": {"sensitive": True}}}},
            "variables": {"pw": {"value": SECRET}}}


@pytest.mark.parametrize("after_sensitive,before_sensitive", [
    ({"kms_key_id": True, "tags": {"owner": True}, "final_snapshot_identifier": True},
     {"kms_key_id": True, "tags": {"owner": True}, "final_snapshot_identifier": True}),
    (True, True),
])
def test_plan_sensitive_values_are_never_shown(tmp_path, after_sensitive, before_sensitive):
    """Repro 16: after_sensitive and before_sensitive, nested paths included, in every output."""
    (tmp_path / "plan.json").write_text(json.dumps(_sensitive_plan(after_sensitive, before_sensitive)))
    text = _every_output(tmp_path, "plan.json", cwd=tmp_path)
    assert SECRET not in text and "(sensitive)" in text


def test_plan_from_standard_input_is_not_quoted(tmp_path):
    marks = {"kms_key_id": True, "tags": True, "final_snapshot_identifier": True}
    plan = json.dumps(_sensitive_plan(marks, marks))
    for fmt in ("text", "json", "github"):
        proc = subprocess.run([sys.executable, "-m", "iaclint", "check", "--format", fmt, "-"], input=plan,
                              capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ, IACLINT_STRICT="1"))
        assert proc.returncode in (0, 1), proc.stderr
        assert SECRET not in proc.stdout + proc.stderr, fmt


@pytest.mark.parametrize("expression", [
    "ceil(1e400) == 1", 'substr("abc", 1e400, 1) == "a"', "[true][1e400]", "[true][0 * 1e400]",
    "element([true], 0 * 1e400)", 'format("%d", 1e400) == "1"', "can(floor(1e400))",
    "9" * 310 + " / 3 == 1", 'replace("a", "/(/", "b") == "a"', 'replace("a", "/a/", "$9") == "a"',
    'file("\\u0000") == ""', 'jsondecode("\\"\\\\ud800\\"") == "x"', 'jsondecode("1e400") == 1',
    'tonumber("inf") == 1', 'tonumber("nan") == 1', "floor(" + "9" * 400 + ") == 1", 'regex("(a)(?P<b>b)", "ab")',
    'format("%*d", 1, 2) == ""', 'format("%d", 1.5) == ""', '1 % 0 == 1', 'substr("abc", 0.5, 1) == "a"',
    'range(1, 10, 0) == []', 'split("", "abc") == ["a", "b", "c"]', 'zipmap(["a"], [1, 2])',
    'join(",", [["a"]])', 'sort([1, "a"])', 'lookup({}, [1])', '{ for k, v in 1 : k => v }',
    'fileexists(".") == true', 'fileset(".", "{a,b") == []', 'fileset(".", "[a") == []',
])
def test_expressions_that_once_were_internal_errors_are_unknown_or_values(tmp_path, expression):
    """Repro 07: each of these ended the whole run with "internal error"; now a value or unknown with the reason."""
    repo = _repo(tmp_path, {"main.tf": f'resource "aws_db_instance" "x" {{\n  storage_encrypted = {expression}\n}}\n'
                                       'resource "aws_neptune_cluster" "other" {}\n'})
    proc = _cli("check", "--compact", ".", cwd=repo)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    assert "internal error" not in proc.stdout + proc.stderr
    assert "aws_neptune_cluster.other" in proc.stdout  # the rest of the root is still checked


@pytest.mark.parametrize("name,write", [
    ("hcl_surrogate", lambda d: (d / "main.tf").write_text(
        'resource "aws_db_instance" "x" {\n  kms_key_id = "\\ud800"\n}\n')),
    ("json_config_surrogate", lambda d: (d / "main.tf.json").write_text(
        '{"resource": {"aws_db_instance": {"x": {"kms_key_id": "\\ud800"}}}}')),
    ("modules_json_not_a_list", lambda d: _write(d, {"main.tf": 'module "x" {\n  source = "a/b/aws"\n}\n',
                                                     ".terraform/modules/modules.json": '{"Modules": 5}'})),
    ("modules_json_key_list", lambda d: _write(d, {"main.tf": 'module "x" {\n  source = "a/b/aws"\n}\n',
                                                   ".terraform/modules/modules.json":
                                                       '{"Modules": [{"Key": ["x"], "Dir": "y"}]}'})),
    ("count_not_finite", lambda d: (d / "main.tf").write_text(
        'resource "aws_db_instance" "x" {\n  count = 1e400\n}\n')),
])
def test_configurations_that_once_were_internal_errors(tmp_path, name, write):
    folder = tmp_path / name
    folder.mkdir()
    write(folder)
    proc = _cli("check", "--compact", str(folder), cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    if "surrogate" in name and name.startswith("hcl"):
        assert "surrogate" in proc.stdout  # terraform rejects the escape; so does iaclint, as a PARSE finding


def test_a_lone_surrogate_in_a_plan_is_read_as_a_replacement_character(tmp_path):
    plan = _sensitive_plan({})
    plan["resource_changes"][0]["change"]["after"]["kms_key_id"] = "\ud800"
    (tmp_path / "plan.json").write_text(json.dumps(plan))  # json.dumps writes the escape "\ud800"
    assert "\\ud800" in (tmp_path / "plan.json").read_text()
    proc = _cli("check", "--compact", "plan.json", cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1) and "\ufffd" in proc.stdout, proc.stderr


def test_a_backtracking_regex_runs_in_linear_time(tmp_path):
    """Repro 08: terraform runs RE2; so does iaclint (Python's re took minutes on 36 characters)."""
    from iaclint.eval import regex

    assert regex.has_re2()
    repo = _repo(tmp_path, {"main.tf": 'resource "aws_db_instance" "x" {\n  storage_encrypted = replace("'
                                       + "a" * 5000 + '!", "/^(a+)+$/", "") == ""\n}\n'})
    started = time.process_time()
    proc = _cli("check", "--compact", ".", cwd=repo)
    assert proc.returncode == 1 and "RDS002" in proc.stdout, proc.stderr  # no match: the string stays, not ""
    assert time.process_time() - started < 5


def test_backtracking_patterns_are_unknown_without_re2(monkeypatch):
    from iaclint.eval import regex

    monkeypatch.setattr(regex, "_re2", None)
    regex.compile_pattern.cache_clear()
    try:
        from test_evaluator import ev

        value = ev('replace("' + "a" * 36 + '!", "/^(a+)+$/", "")')
        assert not value.known and "could backtrack" in value.unknown
        assert ev('replace("a-b", "/-/", "_")').raw == "a_b"  # a pattern that cannot backtrack still runs
        assert "only google-re2" in ev(r'regex("\\pL", "a")').unknown
    finally:
        regex.compile_pattern.cache_clear()


def _peak_rss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


@pytest.mark.parametrize("name,files,words", [
    ("format_width", {"main.tf": 'resource "aws_db_instance" "x" {\n  storage_encrypted = length(format("%999999999s",'
                                 ' "a")) > 0\n}\n'}, "limit string"),
    ("format_precision", {"main.tf": 'resource "aws_db_instance" "x" {\n  storage_encrypted = length(format('
                                     '"%.999999999f", 1)) > 0\n}\n'}, "limit string"),
    ("count_1e20", {"main.tf": 'resource "aws_db_instance" "x" {\n  count = 1e20\n}\n'}, "limit instances"),
    ("count_1e6", {"main.tf": 'resource "aws_db_instance" "x" {\n  count = 1e6\n}\n'}, "limit instances"),
    ("nested_for", {"main.tf": 'locals {\n  big = flatten([for a in range(1024) : [for b in range(1024) : [for c in '
                               'range(1024) : c]]])\n}\nresource "aws_db_instance" "x" {\n  storage_encrypted = '
                               'length(local.big) > 0\n}\n'}, "limit collection"),
    ("shared_doubling", {"main.tf": "locals {\n  l0 = \"x\"\n" + "".join(
        f"  l{i} = [local.l{i - 1}, local.l{i - 1}]\n" for i in range(1, 80)) + "}\n"
        'resource "aws_db_instance" "x" {\n  storage_encrypted = length(jsonencode(local.l79)) > 0\n}\n'},
     "limit collection"),
    ("join_blowup", {"main.tf": 'locals {\n  s = join("", [for i in range(1000) : "xxxxxxxxxx"])\n'
                                '  t = join("", [for i in range(1000) : local.s])\n}\n'
                                'resource "aws_db_instance" "x" {\n'
                                '  storage_encrypted = length(join("", [for i in range(1000) : local.t])) > 0\n}\n'},
     "limit string"),
    ("file_urandom", {"main.tf": 'resource "aws_db_instance" "x" {\n  storage_encrypted = file("/dev/urandom") == ""\n'
                                 '}\n'}, "outside the repository"),
])
def test_a_few_bytes_cannot_ask_for_unbounded_work(tmp_path, name, files, words):
    """Repros 09 and 18: each stops at a limit with a message naming it, in seconds and without gigabytes."""
    repo = _repo(tmp_path, files)
    before = _children_cpu()
    proc = _cli("check", "--compact", "-j", "1", ".", cwd=repo, timeout=300)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    assert _children_cpu() - before < 30, name  # CPU, not wall time: a loaded machine stretches the latter
    assert words in proc.stdout, proc.stdout
    assert _peak_rss_kb() < 600_000


def test_a_module_fan_out_stops_at_the_module_instance_limit(tmp_path):
    """Repro 18: 30 levels of `count = 2` is 2^30 module instances."""
    files = {}
    folder = ""
    for _ in range(30):
        files[f"{folder}main.tf"] = 'module "m" {\n  source = "./m"\n  count  = 2\n}\n'
        folder += "m/"
    files[f"{folder}main.tf"] = 'resource "aws_db_instance" "deep" {}\n'
    repo = _repo(tmp_path, files)
    before = _children_cpu()
    proc = _cli("check", "--compact", "-j", "1", "--select", "RDS002", ".", cwd=repo, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    assert "limit module_instances" in proc.stdout + proc.stderr
    assert _children_cpu() - before < 60  # about 10 s of CPU; wall time stretched past 60 s on a loaded machine


def _children_cpu() -> float:
    """CPU seconds of this process's finished children: the work a run did, whatever else the machine does."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_the_step_limit_stops_evaluation_with_a_notice_and_is_configurable(tmp_path):
    repo = _repo(tmp_path, {"main.tf": 'locals {\n  n = length([for a in range(1000) : '
                                       '[for b in range(1000) : b]])\n}\n'
                                       'resource "aws_db_instance" "x" {\n  storage_encrypted = local.n > 0\n}\n'})
    stopped = _cli("check", "--compact", "--select", "RDS002", "--limit", "steps=100000", ".", cwd=repo)
    assert "evaluation stopped after 100,000 steps (limit steps" in stopped.stdout, stopped.stdout
    assert "RDS002" in stopped.stdout and "unknown" in stopped.stdout
    (repo / ".iaclint.toml").write_text("limits = { steps = 50000000, collection = 2000000 }\n")
    done = _cli("check", "--compact", "--select", "RDS002", ".", cwd=repo)
    assert done.returncode == 0 and "limit" not in done.stdout, done.stdout
    bad = _cli("check", "--limit", "stepz=1", ".", cwd=repo)
    assert bad.returncode == 2 and "unknown limit 'stepz'" in bad.stderr
    (repo / ".iaclint.toml").write_text("limits = { steps = -1 }\n")
    bad = _cli("check", ".", cwd=repo)
    assert bad.returncode == 2 and "limit steps must be a positive whole number" in bad.stderr


def test_file_size_limit(tmp_path):
    repo = _repo(tmp_path, {"big.txt": "x" * 2000, "main.tf": 'resource "aws_db_instance" "x" {\n'
                                                              '  storage_encrypted = length(file("big.txt")) > 0\n}\n'})
    assert _cli("check", "--compact", "--select", "RDS002", ".", cwd=repo).returncode == 0
    proc = _cli("check", "--compact", "--select", "RDS002", "--limit", "file_size=1000", ".", cwd=repo)
    assert "big.txt is 2,000 bytes, more than the file_size limit of 1,000" in proc.stdout, proc.stdout


@pytest.mark.parametrize("provider", [
    '{"name": "aws", "version_constraint": ["~> 5.0"]}', '{"name": "aws", "version_constraint": {"a": 1}}',
    '{"name": "aws", "version_constraint": 5.0}', '{"name": ["aws"], "version_constraint": "~> 5.0"}',
])
def test_plans_with_unexpected_shapes_inside_are_read_with_a_notice(tmp_path, provider):
    """Repro 19: they passed the schema check and ended in "internal error"."""
    (tmp_path / "plan.json").write_text(
        '{"format_version": "1.2", "planned_values": {"root_module": {}}, "resource_changes": [], '
        '"configuration": {"provider_config": {"aws": ' + provider + '}, "root_module": {}}}')
    proc = _cli("check", "plan.json", cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 0 and "configuration.provider_config.aws" in proc.stdout, proc.stdout + proc.stderr


def test_a_plan_whose_version_has_thousands_of_digits_is_a_clear_error(tmp_path):
    (tmp_path / "plan.json").write_text('{"format_version": "' + "9" * 5000 + '.0", "planned_values": '
                                        '{"root_module": {}}}')
    proc = _cli("check", "plan.json", cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 2 and "is newer than iaclint understands" in proc.stderr and "9" * 30 not in proc.stderr


@pytest.mark.parametrize("fixture", ["NEP002/pass_plan_known_after_apply", "XRG001/plan_regions"])
def test_plan_expressions_of_unexpected_types_are_ignored(tmp_path, fixture):
    """Found by fuzzing plans that pass the schema: references that are not strings, outputs that are not
    objects, a provider_config_key that is a number."""
    plan = json.loads((FIXTURES / "rules" / fixture / "plan.json").read_text())

    def damage(module):
        for resource in module.get("resources", []):
            resource["provider_config_key"] = 5
            for expression in resource.get("expressions", {}).values():
                if isinstance(expression, dict):
                    expression["references"] = [1, {"a": 1}, 2.5, None, *expression.get("references", [])]
        module["outputs"] = {name: 3 for name in module.get("outputs", {})}
        for call in module.get("module_calls", {}).values():
            damage(call.get("module", {}))

    damage(plan["configuration"]["root_module"])
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    proc = _cli("check", "--compact", "plan.json", cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
