"""Property-based tests: whatever HCL or plan JSON comes in, the exit code is 0, 1 or 2, never an
internal error, and whatever `fix` writes still parses; whatever expression or configuration the grammar
allows, evaluating it raises nothing and stays within bounded time and memory.

Two profiles. "ci" (the default) is derandomized (the same examples every run) and each test stops taking
examples when its share of the time budget is spent (IACLINT_PROPERTY_BUDGET seconds for the whole module,
30 by default). "nightly" (IACLINT_PROPERTY_PROFILE=nightly) runs many more random examples without the budget;
IACLINT_PROPERTY_REPORT=FILE writes what was run (examples, internal errors, the slowest example, peak memory).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from iaclint.cli import app
from support import FIXTURES

PROFILE = os.environ.get("IACLINT_PROPERTY_PROFILE", "ci")
NIGHTLY = PROFILE == "nightly"
_HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much,
           HealthCheck.data_too_large]
settings.register_profile("ci", deadline=None, derandomize=True, suppress_health_check=_HEALTH, database=None)
settings.register_profile("nightly", deadline=None, derandomize=False, suppress_health_check=_HEALTH, database=None)
settings.load_profile("nightly" if NIGHTLY else "ci")


def _examples(ci: int, nightly: int) -> int:
    return int(os.environ.get("IACLINT_PROPERTY_EXAMPLES", nightly if NIGHTLY else ci))


RUNS = settings(max_examples=_examples(40, 1000))

NAMES = st.sampled_from(["storage_encrypted", "kms_key_arn", "kms_key_id", "engine", "engine_mode", "encrypted",
                         "snapshot_identifier", "replicate_source_db", "at_rest_encryption_enabled", "for_each",
                         "count", "description", "tags", "enable_key_rotation", "policy"])
TYPES = st.sampled_from(["aws_neptune_cluster", "aws_rds_cluster", "aws_db_instance", "aws_kms_key",
                         "aws_elasticache_replication_group", "aws_backup_vault", "aws_ebs_volume",
                         "aws_dynamodb_table", "aws_redshift_cluster", "aws_db_snapshot_copy"])
SCALARS = st.one_of(st.sampled_from(["true", "false", "null", '"false"', '"valkey"', '"serverless"', "0", "1", "-1",
                                     "var.x", "local.y", "aws_kms_key.k.arn", "each.key", "count.index",
                                     '"alias/aws/rds"', '"arn:aws:kms:eu-west-1:111122223333:key/x"',
                                     '"${var.x}-a"', "data.aws_kms_alias.a.target_key_arn", 'toset(["a", "b"])',
                                     "[1, 2]", '{ a = "b" }', "1 + 2 * 3", "var.x ? true : false"]),
                    st.text(alphabet="ab01 ", max_size=5).map(lambda t: json.dumps(t)))


@st.composite
def hcl_files(draw) -> str:
    blocks = []
    for i in range(draw(st.integers(1, 4))):
        attrs = "".join(f"  {draw(NAMES)} = {draw(SCALARS)}\n" for _ in range(draw(st.integers(0, 5))))
        blocks.append(f'resource "{draw(TYPES)}" "r{i}" {{\n{attrs}}}\n')
    extra = draw(st.sampled_from(["", 'variable "x" {\n  default = false\n}\n', 'locals {\n  y = true\n}\n',
                                  'data "aws_kms_alias" "a" {\n  name = "alias/aws/rds"\n}\n',
                                  'resource "aws_kms_key" "k" {\n}\n']))
    text = extra + "\n".join(blocks)
    if draw(st.booleans()):  # a broken variant: one character changed, removed or doubled
        pos = draw(st.integers(0, max(0, len(text) - 1)))
        op = draw(st.sampled_from(["drop", "double", "brace", "quote", "newline"]))
        insert = {"drop": "", "double": text[pos:pos + 1] * 2, "brace": "}", "quote": '"', "newline": "\n"}[op]
        text = text[:pos] + insert + text[pos + 1:]
    return text


def _invoke(args: list[str], cwd: Path):
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, args, env={"IACLINT_STRICT": "1", "NO_COLOR": "1"}, catch_exceptions=True)
    finally:
        os.chdir(old)


def _assert_clean(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    assert "internal error" not in result.output


@RUNS
@given(hcl_files())
def test_any_hcl_gives_an_exit_code_and_fix_output_parses(text):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "main.tf").write_text(text)
        _assert_clean(_invoke(["check", "--compact", "."], root))
        before = _invoke(["check", "-f", "json", "--select", "PARSE", "."], root)
        fixed = _invoke(["fix", "--unsafe-fixes", "."], root)
        _assert_clean(fixed)
        after = _invoke(["check", "-f", "json", "--select", "PARSE", "."], root)
        parse_errors = [json.loads(r.output)["summary"]["fail"] for r in (before, after)]
        assert parse_errors[1] <= parse_errors[0], (text, (root / "main.tf").read_text())


PLAN = json.loads((FIXTURES / "rules" / "ECH001" / "plan_engines" / "plan.json").read_text())
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=4)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                           max_leaves=6)


@st.composite
def plans(draw) -> str:
    data = json.loads(json.dumps(PLAN))
    for _ in range(draw(st.integers(1, 4))):
        node = data
        path = []
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node.keys()) if isinstance(node, dict) else list(range(len(node)))))
            path.append((node, key))
            node = node[key]
        if path:
            parent, key = path[-1]
            if draw(st.booleans()) and isinstance(parent, dict):
                del parent[key]
            else:
                parent[key] = draw(JSON_VALUES)
    text = json.dumps(data)
    if draw(st.integers(0, 4)) == 0:
        text = text[:draw(st.integers(0, len(text)))]
    return text


@RUNS
@given(plans())
def test_any_plan_gives_an_exit_code(text):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "plan.json").write_text(text)
        shutil.copy(FIXTURES / "rules" / "ECH001" / "plan_engines" / "main.tf", root / "main.tf")
        _assert_clean(_invoke(["check", "--compact", "plan.json"], root))


# ---- expressions and configurations from the grammar -----------------------------------------------------

BUDGET = float(os.environ.get("IACLINT_PROPERTY_BUDGET", "30"))
STARTED = time.monotonic()
EXAMPLE_SECONDS = 5.0  # CPU time one example may take (the limits below make each far cheaper)
EXAMPLE_BYTES = 256 * 1024 * 1024  # memory one example may allocate at its peak (tracemalloc)
STATS = {"examples": 0, "internal_errors": 0, "slowest": (0.0, ""), "peak_bytes": 0}


def _within_budget(share: float) -> bool:
    """In CI, a test takes examples until its share of the module's time budget is spent."""
    return NIGHTLY or time.monotonic() - STARTED < BUDGET * share


def _measured(what: str, action) -> None:
    """Run one example: no exception may escape (IACLINT_STRICT makes the evaluator's own safety net raise),
    and its CPU time and peak memory are bounded."""
    tracemalloc.start()
    started = time.process_time()
    try:
        action()
    except BaseException:
        STATS["internal_errors"] += 1
        raise
    finally:
        elapsed = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        STATS["examples"] += 1
        STATS["peak_bytes"] = max(STATS["peak_bytes"], peak)
        if elapsed > STATS["slowest"][0]:
            STATS["slowest"] = (elapsed, what[:2000])
    assert elapsed < EXAMPLE_SECONDS, (elapsed, what)
    assert peak < EXAMPLE_BYTES, (peak, what)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    target = os.environ.get("IACLINT_PROPERTY_REPORT")
    if target:
        seconds, example = STATS["slowest"]
        Path(target).write_text(json.dumps({
            "profile": PROFILE, "examples": STATS["examples"], "internal_errors": STATS["internal_errors"],
            "slowest_seconds": round(seconds, 3), "slowest_example": example,
            "peak_memory_mb": round(STATS["peak_bytes"] / 2 ** 20, 1)}, indent=2))


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    monkeypatch.setenv("IACLINT_STRICT", "1")


IDENT = st.sampled_from(["a", "b", "x", "k", "v", "name", "key"])
NUMBERS = st.one_of(st.integers(-10, 10), st.integers(-2 ** 70, 2 ** 70),
                    st.sampled_from(["1e400", "0.5", "1.5e300", "9" * 320, "-0", "3.14"]))
STRING_BITS = st.sampled_from(["a", "b", " ", "\\n", "\\u00e9", "\\ud800", "$${x}", "%%{y}", "%d", "%s", "%v",
                               "%999999999s", "%.99999999f", "/", "(", ")", "*", "+", "[a-z]", "\\\\d", "$1", "$$",
                               ".", "..", ".git/config", "/etc/passwd", "/dev/zero", "~", ",", "{", "}", "**", "?"])
FUNCTIONS = sorted(__import__("iaclint.eval.functions", fromlist=["FUNCTIONS"]).FUNCTIONS) + [
    "try", "can", "timestamp", "uuid", "nosuchfunction", "base64decode"]


def _string(draw) -> str:
    parts = draw(st.lists(STRING_BITS, max_size=6))
    return '"' + "".join(parts) + '"'


@st.composite
def expressions(draw, depth: int = 0) -> str:
    """HCL expression text: every construct of the grammar, with arguments chosen to be awkward."""
    leaf = depth >= 3 or draw(st.integers(0, 3)) == 0
    if leaf:
        kind = draw(st.sampled_from(["number", "string", "bool", "null", "var", "local", "path", "template",
                                     "heredoc", "resource"]))
        if kind == "number":
            return str(draw(NUMBERS))
        if kind == "string":
            return _string(draw)
        if kind == "bool":
            return draw(st.sampled_from(["true", "false"]))
        if kind == "null":
            return "null"
        if kind == "var":
            return "var." + draw(st.sampled_from(["s", "n", "l", "m", "big", "secret", "unknown", "missing"]))
        if kind == "local":
            return "local." + draw(st.sampled_from(["a", "b", "self", "loop"]))
        if kind == "path":
            return "path." + draw(st.sampled_from(["module", "root", "cwd", "nothing"]))
        if kind == "template":
            return '"x${' + draw(expressions(depth=3)) + '}y"'
        if kind == "heredoc":
            return "<<EOT\nline ${" + draw(expressions(depth=3)) + "}\nEOT\n"
        return draw(st.sampled_from(["aws_kms_key.k.arn", "data.aws_kms_alias.a.target_key_arn", "module.m.out",
                                     "each.key", "count.index", "self.x"]))
    sub = expressions(depth=depth + 1)
    kind = draw(st.sampled_from(["call", "call", "call", "tuple", "object", "unary", "binary", "conditional",
                                 "index", "attr", "splat", "for_tuple", "for_object", "paren"]))
    if kind == "call":
        name = draw(st.sampled_from(FUNCTIONS))
        args = draw(st.lists(sub, max_size=4))
        expand = "..." if args and draw(st.integers(0, 5)) == 0 else ""
        return f"{name}({', '.join(args)}{expand})"
    if kind == "tuple":
        return "[" + ", ".join(draw(st.lists(sub, max_size=4))) + "]"
    if kind == "object":
        items = draw(st.lists(st.tuples(st.one_of(IDENT, st.just("(var.s)")), sub), max_size=3))
        return "{ " + ", ".join(f"{k} = {v}" for k, v in items) + " }"
    if kind == "unary":
        return draw(st.sampled_from(["!", "-"])) + draw(sub)
    if kind == "binary":
        op = draw(st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"]))
        return f"({draw(sub)} {op} {draw(sub)})"
    if kind == "conditional":
        return f"({draw(sub)} ? {draw(sub)} : {draw(sub)})"
    if kind == "index":
        return f"{draw(sub)}[{draw(sub)}]"
    if kind == "attr":
        return f"{draw(sub)}.{draw(IDENT)}"
    if kind == "splat":
        return f"{draw(sub)}[*].{draw(IDENT)}"
    if kind == "for_tuple":
        condition = f" if {draw(sub)}" if draw(st.booleans()) else ""
        return f"[for {draw(IDENT)} in {draw(sub)} : {draw(sub)}{condition}]"
    if kind == "for_object":
        group = "..." if draw(st.booleans()) else ""
        return f"{{for k, v in {draw(sub)} : {draw(sub)} => {draw(sub)}{group}}}"
    return f"({draw(sub)})"


class _Context:
    """Variables of every shape (a sensitive one, an unknown one, a large shared one) and files in a tree."""

    def __init__(self, files):
        from iaclint.eval.limits import Budget, Limits
        from iaclint.eval.values import SENSITIVE, Value, from_python

        shared = Value("x" * 1000)
        for _ in range(30):
            shared = Value([shared, shared])
        self.variables = {"s": Value("abc"), "n": Value(3), "l": from_python(["a", "b", 1, None]),
                          "m": from_python({"a": {"b": [1, 2]}, "k": "v"}), "big": shared,
                          "secret": Value("hunter2").marked(SENSITIVE), "unknown": Value.unknown_because("input")}
        self.budget = Budget(Limits(steps=200_000, collection=20_000, string=200_000, file_size=10_000))
        self.tree = files

    def var(self, name, node):
        from iaclint.eval.evaluator import EvalError

        if name not in self.variables:
            raise EvalError(f"no variable {name}")
        return self.variables[name]

    def local(self, name, node):
        from iaclint.eval.values import Value

        return Value.unknown_because("locals are not modelled here")

    def resource(self, mode, type_, name, node):
        return None

    def module_call(self, name, node):
        return None

    def each(self, attr, node):
        from iaclint.eval.evaluator import EvalError

        raise EvalError("no each here")

    def count(self, attr, node):
        from iaclint.eval.evaluator import EvalError

        raise EvalError("no count here")

    def path(self, attr, node):
        from iaclint.eval.values import Value

        return Value(".")

    def files(self):
        return self.tree


@pytest.fixture(scope="module")
def file_tree(tmp_path_factory):
    from iaclint.eval.files import TreeFiles
    from iaclint.eval.limits import Limits
    from iaclint.tree import Tree

    root = tmp_path_factory.mktemp("tree")
    (root / "a.json").write_text('{"Statement": []}')
    (root / "sub").mkdir()
    (root / "sub" / "b.txt").write_text("b")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("token")
    (root / "out").symlink_to("/etc")
    return TreeFiles(Tree.of(root), root, Limits(file_size=10_000))


@settings(max_examples=_examples(2000, 100_000))
@given(expressions())
def test_any_expression_evaluates_without_error_in_bounded_time_and_memory(file_tree, text):
    from iaclint.eval.evaluator import Evaluator
    from iaclint.eval.values import OriginKind, render
    from iaclint.hcl.parser import ParseFailure, parse_expression

    if not _within_budget(0.55):
        return
    try:
        expr = parse_expression(text, "gen.tf", 0)
    except ParseFailure:
        assume(False)
        return

    def evaluate():
        value = Evaluator(_Context(file_tree), OriginKind.LITERAL, "gen").evaluate(expr)
        shown = render(value)
        assert "hunter2" not in shown and "token" not in shown  # a sensitive value or .git is never shown
        assert len(shown) <= 60

    _measured(text, evaluate)


@st.composite
def configurations(draw) -> dict[str, str]:
    """A root module and local modules: count and for_each, module chains, variables, locals, outputs."""
    files: dict[str, str] = {}
    depth = draw(st.integers(0, 4))
    for level in range(depth + 1):
        folder = "m/" * level
        body = ['variable "in" {\n  default = ' + draw(expressions(depth=2)) + '\n}\n',
                'locals {\n  a = ' + draw(expressions(depth=1)) + '\n  b = local.a\n}\n',
                'output "out" {\n  value = ' + draw(expressions(depth=2)) + '\n}\n']
        for i in range(draw(st.integers(0, 2))):
            meta = draw(st.sampled_from(["", "  count = " + draw(st.sampled_from(
                ["2", "0", "1e6", "1e400", "-1", "var.in", "length(local.a)", "null", '"3"'])) + "\n",
                "  for_each = " + draw(st.sampled_from(
                    ["toset([\"a\", \"b\"])", "{ x = 1 }", "var.in", "local.a", "[1]", "null"])) + "\n"]))
            attribute = draw(st.sampled_from(["storage_encrypted", "kms_key_id", "engine", "tags"]))
            body.append(f'resource "{draw(st.sampled_from(["aws_db_instance", "aws_kms_key", "aws_rds_cluster"]))}" '
                        f'"r{i}" {{\n{meta}  {attribute} = {draw(expressions(depth=2))}\n}}\n')
        if level < depth:
            meta = draw(st.sampled_from(["", "  count = 2\n", "  for_each = { a = 1, b = 2 }\n"]))
            body.append(f'module "m" {{\n  source = "./m"\n{meta}  in = {draw(expressions(depth=2))}\n}}\n')
        files[folder + "main.tf"] = "".join(body)
    return files


@settings(max_examples=_examples(250, 10_000))
@given(configurations())
def test_any_configuration_is_checked_without_error_in_bounded_time_and_memory(tmp_path_factory, files):
    from iaclint.eval.limits import Limits
    from support import run

    if not _within_budget(0.85):
        return
    root = tmp_path_factory.mktemp("config")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / ".git").mkdir()  # a repository: modules are followed inside it
    limits = Limits(steps=500_000, collection=20_000, string=200_000, instances=100, module_instances=200)

    def check():
        report = run([root], limits=limits, cache=False, jobs=1)
        assert report.findings or report.notices or report.files_checked
        assert not any("hunter2" in f.message for f in report.findings)

    _measured(json.dumps(files, indent=1), check)
