"""`check` and `fix` read without typer (cli.read_plainly) give the command exactly what typer gives it, for
every option of the shared Param table in every spelling; whatever typer would refuse or answer with help is
left to typer, so its messages and exit codes stay its own."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from iaclint import cli

GOOD_TEXT = {"text": "json", "texts": "KMS001", "int": "3"}


def _spellings(param: cli.Param) -> list[list[str]]:
    """Every way the table lets a user give this parameter a good value."""
    if param.kind == "paths":
        return [["infra"], ["a", "b"], ["-"]]
    if param.kind == "flag":
        return [[name] for name in param.names]
    if param.kind == "switch":
        return [[name] for name in param.names] + [list(param.names), list(reversed(param.names))]
    value = GOOD_TEXT[param.kind]
    out = []
    for name in param.names:
        attached = [f"{name}={value}"] if name.startswith("--") else [name, value]
        out += [[name, value], attached, [name, value, name, "0"]]
    if param.kind == "int":
        out += [[param.names[0], " 4"], [param.names[0], "+2"], [param.names[0], "1_0"], [param.names[0], "\u0664"]]
    else:
        out += [[param.names[0], "-h"], [param.names[0], "--staged"], [param.names[0], "a=b"], [param.names[0], ""]]
    return out


def _good_cases() -> list[tuple[str, ...]]:
    cases = [("check",), ("fix",), ("check", "--staged"), ("check", "infra", "--quiet", "other", "-f", "sarif:x.sarif"),
             ("check", "--soft-fail", "--base", "HEAD", "--staged", "stack_07.tf", "b.tf")]
    for command in cli.READ_PLAINLY:
        for param in cli.COMMANDS[command][1]:
            for spelling in _spellings(param):
                cases.append((command, *spelling))
                cases.append((command, "somewhere", *spelling))
    return cases


BAD_CASES = [
    ("check", "--jobs", "abc"), ("check", "--jobs", "-1"), ("check", "-j", "1.5"), ("check", "--jobs="),
    ("fix", "--jobs", "x"), ("check", "--jobs"), ("check", "-f"), ("check", "--format"), ("check", "--base"),
    ("check", "--formt", "json"), ("check", "--nope"), ("check", "-x"), ("check", "--quiet=1"),
    ("check", "--staged=yes"),
    ("check", "--color=1"), ("check", "--version"), ("fix", "--since", "HEAD"), ("fix", "--format", "json"),
    ("fix", "--staged"), ("check", "--unsafe-fixes"),
]
HELP_CASES = [("check", "--help"), ("check", "-h"), ("fix", "dir", "--help"), ("check", "--jobs", "abc", "--help"),
              ("check", "--help=1")]
UNUSUAL_CASES = [("check", "--", "-odd.tf"), ("check", "-qj0"), ("check", "-fjson"), ("check", "-q-"),
                 ("rules",), ("explain", "KMS001"), ("--version",), ()]


@pytest.fixture
def calls(monkeypatch):
    """Each command's values, as the command function receives them, by either reader."""
    seen: list[tuple[str, dict]] = []
    for name in cli.READ_PLAINLY:
        function, params = cli.COMMANDS[name]
        monkeypatch.setitem(cli.COMMANDS, name, (lambda name=name, **values: seen.append((name, values)), params))
    return seen


def _typer(args: tuple[str, ...], capsys) -> tuple[int, str, str]:
    try:
        cli.typer_app()(list(args), prog_name="iaclint")
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args", _good_cases(), ids=lambda args: " ".join(args) or "(none)")
def test_plainly_read_arguments_are_what_typer_passes(args, calls, capsys):
    code, _, err = _typer(args, capsys)
    assert code == 0 and err == "" and len(calls) == 1, err
    by_typer = calls.pop()
    plain = cli.read_plainly(list(args))
    assert plain is not None, "a plain command line must not need typer"
    function, values = plain
    function(**values)
    assert calls.pop() == by_typer
    assert set(by_typer[1]) == {param.name for param in cli.COMMANDS[args[0]][1]}


@pytest.mark.parametrize("args", BAD_CASES, ids=" ".join)
def test_a_mistake_is_left_to_typer_which_says_what_is_wrong(args, calls, capsys):
    assert cli.read_plainly(list(args)) is None
    code, out, err = _typer(args, capsys)
    assert code == 2 and not calls and out == "" and "Error: " in err


@pytest.mark.parametrize("args", HELP_CASES, ids=" ".join)
def test_help_is_typers_wherever_it_is_asked_for(args, calls, capsys):
    assert cli.read_plainly(list(args)) is None
    code, out, err = _typer(args, capsys)
    if args[-1] == "--help=1":  # help takes no value: typer's error
        assert code == 2 and "Error: " in err
    else:
        assert code == 0 and out.startswith(f"Usage: iaclint {args[0]} [OPTIONS] [PATH]...") and not calls


@pytest.mark.parametrize("args", UNUSUAL_CASES, ids=lambda args: " ".join(args) or "(none)")
def test_unusual_forms_and_other_commands_are_left_to_typer(args):
    assert cli.read_plainly(list(args)) is None


def test_shell_completion_is_left_to_typer(monkeypatch):
    assert cli.read_plainly(["check", "."]) is not None
    monkeypatch.setenv("_IACLINT_COMPLETE", "complete_bash")
    assert cli.read_plainly(["check", "."]) is None


def test_every_option_of_check_and_fix_has_a_plain_reading_case():
    covered = {(case[0], word.partition("=")[0]) for case in _good_cases() for word in case[1:]}
    for command in cli.READ_PLAINLY:
        for param in cli.COMMANDS[command][1]:
            assert param.kind == "paths" or all((command, name) in covered for name in param.names), param.name


def _in_process(args: list[str], cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_VAR_")}
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "iaclint", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=120)


def _modules(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_a_check_imports_no_typer_and_help_still_comes_from_it(tmp_path):
    (tmp_path / "empty").mkdir()
    plain = _in_process(["check", "empty"], tmp_path)
    assert plain.returncode == 2 and "typer" not in _modules(plain.stderr)
    assert "iaclint: error: empty: no Terraform configuration files" in plain.stderr
    helped = _in_process(["check", "--help"], tmp_path)
    assert helped.returncode == 0 and "typer" in _modules(helped.stderr) and "--soft-fail" in helped.stdout
    wrong = _in_process(["check", "--jobs", "-1", "empty"], tmp_path)
    assert wrong.returncode == 2 and "Invalid value for '--jobs' / '-j': -1 is not in the range x>=0." in wrong.stderr


def test_an_empty_folder_imports_neither_parsing_nor_fixing(tmp_path):
    """What the run needs and no more: nothing read means nothing parsed, evaluated, fixed, suppressed or baselined,
    no rule catalogue, parse cache or kept results opened, and no typing, dataclasses or OpenSSL loaded."""
    (tmp_path / "empty").mkdir()
    modules = _modules(_in_process(["check", "empty"], tmp_path).stderr)
    for unneeded in ("iaclint.graph.hcl", "iaclint.eval.evaluator", "iaclint.fixes.builder", "iaclint.run.baseline",
                     "iaclint.engine.suppressions", "iaclint.graph.inputs", "subprocess", "tempfile",
                     "iaclint.hcl.parser", "iaclint.hcl.tsparse", "tree_sitter", "iaclint.engine.rules",
                     "iaclint.engine.runner", "iaclint.hcl.cache", "iaclint.run.results", "typing", "dataclasses",
                     "hashlib", "threading"):
        assert unneeded not in modules, unneeded


def test_a_run_that_read_nothing_still_describes_every_rule(tmp_path, monkeypatch):
    """An empty folder opens no rule catalogue to check with, yet SARIF still lists every rule (read when asked),
    and the report says why nothing was checked."""
    import json

    from iaclint.engine.rules import all_rules
    from iaclint.formatters import render
    from support import run

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    report = run(["empty"])
    assert report.errors == ["empty: no Terraform configuration files (.tf, .tf.json, or OpenTofu's .tofu, "
                             ".tofu.json) here or below"]
    assert not report.findings and not report.files_checked and not report.roots
    sarif = json.loads(render("sarif", report))
    assert [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]] == [r.id for r in all_rules()]


@pytest.mark.parametrize("message", ["plain", "\x1b[31mred\x1b[0m and \x1b[1;2mmore", ""])
@pytest.mark.parametrize("err", [False, True])
def test_messages_print_as_typer_echo_prints_them(monkeypatch, message, err):
    import typer

    def printed(echo) -> bytes:
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
        monkeypatch.setattr(sys, "stderr" if err else "stdout", stream)
        echo(message, err=err)
        stream.flush()
        return raw.getvalue()

    assert printed(cli._echo) == printed(typer.echo)
