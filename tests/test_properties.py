"""Property-based tests: whatever HCL or plan JSON comes in, the exit code is 0, 1 or 2, never an
internal error, and whatever `fix` writes still parses. Bounded so the suite stays fast."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from iaclint.cli import app
from support import FIXTURES

RUNS = settings(max_examples=int(os.environ.get("IACLINT_PROPERTY_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

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
