"""The two HCL back ends build the same tree: tree-sitter-hcl (the fast path) and python-hcl2's Lark
grammar (error messages, and the forms tree-sitter-hcl rejects). Spans included, since findings and
fixes are made of them. scripts/parity.py runs the same comparison over real repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaclint.hcl import ast, jsonsyntax, larkparse, parser, tsparse
from iaclint.hcl.literals import ParseFailure
from iaclint.source import SourceFile
from support import FIXTURES
from plain_files import plain_files

pytestmark = pytest.mark.skipif(not tsparse.available(), reason="tree-sitter-hcl is not installed here")
ROOT = Path(__file__).resolve().parent.parent
RUNS = settings(max_examples=int(os.environ.get("IACLINT_PROPERTY_EXAMPLES", "40")) * 5, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def lark_tree(text: str):
    try:
        return ast.dump(larkparse.parse_source(SourceFile("main.tf", text)))
    except ParseFailure as exc:
        return f"rejected: {exc.message}"


def ts_tree(text: str):
    try:
        body = tsparse.parse_body(text, "main.tf")
    except ParseFailure as exc:
        return f"rejected: {exc.message}"
    return None if body is None else ast.dump(body)


def hcl_files() -> list[Path]:
    return sorted(p for base in (FIXTURES, ROOT / "tests") for p in base.rglob("*.tf"))


def test_every_fixture_parses_to_the_same_tree_with_both_back_ends():
    files = hcl_files()
    assert len(files) > 150
    handed = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = ts_tree(text)
        if fast is None:
            handed.append(path.name)
            continue
        assert fast == lark_tree(text), path
    assert len(handed) < 5, handed  # a syntax error tree-sitter sees goes to Lark; fixtures are valid HCL


NAMES = st.sampled_from(["a", "var.x", "local.y", "aws_kms_key.k.arn", "each.key", "count.index", "x[0]", "x.0",
                         "m[\"k\"].v", "x[*].id", "x.*.id", "f(a)", "g()", "path.module"])
ATOMS = st.one_of(NAMES, st.sampled_from(["1", "1.5", "0.25", "true", "false", "null", '"s"', '"a${var.x}b"',
                                          '"\\n\\"q\\u00e9"', '"$${x}"', '"%%{y}"', '"é${x}ü"']))
BINARY = ["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"]


@st.composite
def expressions(draw, depth: int = 0) -> str:
    """An HCL expression mixing every operator, precedence level, template and collection form."""
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return draw(ATOMS)
    sub = lambda: draw(expressions(depth + 1))  # noqa: E731
    form = draw(st.integers(0, 11))
    if form == 0:
        return f"{sub()} {draw(st.sampled_from(BINARY))} {sub()}"
    if form == 1:
        return f"{draw(st.sampled_from(['!', '-']))}{sub()}"
    if form == 2:
        return f"{sub()} ? {sub()} : {sub()}"
    if form == 3:
        return f"({sub()})"
    if form == 4:
        return f"({sub()}).attr[0]"
    if form == 5:
        return "[" + ", ".join(sub() for _ in range(draw(st.integers(0, 3)))) + "]"
    if form == 6:
        return "{ " + ", ".join(f"k{i} = {sub()}" for i in range(draw(st.integers(0, 3)))) + " }"
    if form == 7:
        return f"[for v in {sub()} : {sub()} if v != null]"
    if form == 8:
        return f"{{ for k, v in {sub()} : k => {sub()}... }}"
    if form == 9:
        return "max(" + ", ".join(sub() for _ in range(draw(st.integers(1, 3)))) + ")"
    if form == 10:
        return f'"x${{{sub()}}}y"'
    marker = f"EOT{depth}"  # Lark's heredoc is one regex, so a nested heredoc needs a marker of its own
    return f"<<-{marker}\n    a ${{{sub()}}}\n      b\n    {marker}\n"


@RUNS
@given(expressions())
def test_generated_expressions_parse_to_the_same_tree(expression):
    text = f'locals {{\n  a = {expression}\n}}\n'
    fast = ts_tree(text)
    slow = lark_tree(text)
    if "interpolation does not parse" in str(slow):
        return  # Lark reads a heredoc's ${...} by scanning braces and quotes, and gives up on quoted templates
        # nested in one (the value is then unknown); tree-sitter reads them. Not a difference to keep.
    if fast is not None:  # None: tree-sitter saw a syntax error and Lark decides, as in parse_source
        assert fast == slow, text


@pytest.mark.parametrize("text,check", [
    ('locals {\n  a = x ? 1 : y ? 2 : 3\n}\n', lambda e: isinstance(e.false_expr, ast.Conditional)),
    ('locals {\n  a = 2e3\n}\n', lambda e: e.value == 2000.0),  # tree-sitter-hcl rejects exponents
    ('locals {\n  a = <<EOT\n$${x} ${y}\nEOT\n}\n', lambda e: e.parts[0] == "${x} "),
    ('locals {\n  a = "$$${x}"\n}\n', lambda e: e.parts == ["$${x}"]),  # it reads $$${ as $$ and ${
    ('\ufefflocals {\n  a = 1\n}\n', lambda e: e.value == 1 and e.span.start == 16),  # terraform fmt accepts a BOM
])
@pytest.mark.parametrize("back_end", ["tree-sitter", "lark"])
def test_where_tree_sitter_hcl_differs_the_tree_is_terraforms(monkeypatch, text, check, back_end):
    monkeypatch.setenv("IACLINT_PARSER", back_end)
    body = parser.parse_source(SourceFile("main.tf", text))
    expr = body.items[0].body.items[0].expr
    assert check(expr)


def test_the_fast_path_is_taken_and_the_lark_grammar_is_not_even_imported():
    import subprocess
    import sys

    code = ("import sys\nfrom iaclint.hcl.parser import parse_source\nfrom iaclint.source import SourceFile\n"
            "parse_source(SourceFile('m.tf', 'locals {\\n  a = 1\\n}\\n'))\nprint('lark' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "IACLINT_PARSER"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "False"


def test_a_large_file_parsed_in_pieces_gives_the_same_tree_and_error_lines(monkeypatch):
    monkeypatch.setattr(tsparse, "PIECE", 200)  # pieces of about 200 characters: many splits
    blocks = []
    for i in range(30):
        blocks.append(f'resource "aws_kms_key" "k{i}" {{\n  description = "é{i}"\n  policy = <<EOT\n'
                      f'resource "aws_kms_key" "inside_a_heredoc" {{\nEOT\n}}\n')  # a header-like line in a heredoc
    text = "\n".join(blocks)
    whole = ast.dump(tsparse._parse_piece(text, "main.tf", 0, 0, True))
    assert ast.dump(tsparse.parse_body(text, "main.tf")) == whole
    plain = "\n".join(f'resource "aws_kms_key" "k{i}" {{\n  description = "{i}"\n}}\n' for i in range(40))
    pieces = []
    monkeypatch.setattr(tsparse, "_parse_piece", lambda *a, real=tsparse._parse_piece: pieces.append(a[3]) or real(*a))
    assert ast.dump(tsparse.parse_body(plain, "main.tf")) == lark_tree(plain)
    assert len(pieces) > 5  # it was really split
    broken = plain.replace('description = "30"', 'description = "30"\n  description = "x"')
    with pytest.raises(ParseFailure) as failure:
        tsparse.parse_body(broken, "main.tf")
    assert failure.value.line == broken.splitlines().index('  description = "x"') + 1


def test_without_a_tree_sitter_wheel_lark_parses_everything(monkeypatch):
    def missing():
        raise ImportError("No module named 'tree_sitter'")

    monkeypatch.setattr(tsparse, "_parser", missing)
    tsparse.available.cache_clear()
    try:
        assert not tsparse.available()
        text = 'resource "aws_kms_key" "k" {\n  description = "a ${var.x}"\n}\n'
        assert ast.dump(parser.parse_source(SourceFile("main.tf", text))) == lark_tree(text)
        assert parser.back_end() == "python-hcl2"
    finally:
        tsparse.available.cache_clear()


def _walk(node):
    yield node
    if isinstance(node, ast.Body):
        for item in node.items:
            yield from _walk(item)
    elif isinstance(node, ast.Block):
        yield from _walk(node.body)


JSON_CONFIG = """{
  "resource": {
    "aws_neptune_cluster": {
      "main": {"storage_encrypted": false, "kms_key_arn": "arn:aws:kms:eu-west-1:111122223333:key/k"}
    }
  },
  "variable": {"encrypted": {"default": true}}
}
"""


@pytest.mark.parametrize("back_end", ["tree-sitter", "lark"])
def test_attribute_names_and_block_headers_are_located_from_where_their_node_starts(back_end, monkeypatch):
    """Nodes keep a name's or header's size, not its span (ast.Attribute, ast.Block): the span made from
    it must read back as the name, and as the block's type and labels, in every fixture and in JSON."""
    if back_end == "lark":
        monkeypatch.setenv("IACLINT_PARSER", "lark")
    sources = [SourceFile(str(path), path.read_text(encoding="utf-8")) for path in hcl_files()]
    sources.append(SourceFile("main.tf.json", JSON_CONFIG))
    seen = {"native": 0, "json": 0}
    for source in sources:
        syntax = "json" if source.path.endswith(".json") else "native"
        try:
            body = jsonsyntax.parse_json_config(source) if syntax == "json" else parser.parse_source(source)
        except ParseFailure:
            continue
        for node in _walk(body):
            if isinstance(node, ast.Attribute):
                name = source.text[node.name_span.start:node.name_span.end]
                assert name.strip('"') == node.name and node.name_span.start == node.span.start, (source.path, name)
                seen[syntax] += 1
            elif isinstance(node, ast.Block) and syntax == "native":
                header = source.text[node.header_span.start:node.header_span.end]
                assert header.split()[0] == node.type, (source.path, header)
                assert all(f'"{label}"' in header or label in header.split() for label in node.labels), header
                assert "{" not in header, (source.path, header)
    assert seen["native"] > 1000 and seen["json"] == 3


PLAIN_FORMS = [  # built from their text alone (tsparse's _PLAIN_* expressions): each must equal Lark's tree
    'resource "aws_s3_bucket" "b" {\n  bucket = "logs"\n  count  = 2\n  acl    = var.acl\n  tags   = null\n}\n',
    'variable "x" {\n\n  type    = string\n\n  default = 1.50\n}\n',
    'locals {\n  a = "100%"\n  b = "a$b"\n  c = "$"\n  d = "%"\n  e = ""\n  f = "é ü 𝄞"\n}\n',
    'locals {\n  a = "${var.x}-${local.y.z}"\n  b = "pre ${ 1 } post"\n  c = "${"q"}"\n  d = "é${each.key}ü"\n}\n',
    'locals {\n  a = ["a", 1, var.x]\n  b = [\n    "a",\n    "b",\n  ]\n  c = []\n}\n',
    'locals {\n  a = { k = "v", "q" = 1, n = null }\n  b = {\n    k1 = var.x\n    k2: "y"\n  }\n  c = {}\n}\n',
    'locals {\n  a = lookup(var.m, "k", null)\n  b = max(\n    1,\n    2\n  )\n  c = timestamp()\n}\n',
    'resource "x" "é" {\n  a = "é"\n  b = local.c\n}\n',
    'locals {\r\n  a = "crlf"\r\n  b = 1\r\n}\r\n',
    'locals {\n\ta\t=\t"tabs"\n}\n',
    'locals {\n  a-b = c-d.e-f\n}\n',
    'a = 1\nb = "x"\nterraform {}\nprovider "aws" {\n}\nmodule "m" {\n\n\n}\n',
]
NEAR_PLAIN_FORMS = [  # one byte away from a plain form: built node by node, still the same tree as Lark's
    'locals {\n  a = "$${x}"\n  b = "%%{y}"\n  c = "$$"\n  d = "a\\"b"\n}\n',
    'locals {\n  a = "${var.x[0]}"\n  b = "${~ var.y ~}"\n  c = "%{ if true }x%{ endif }"\n}\n',
    'locals {\n  a = 1 # trailing\n  b = 2 /* after */\n  // own line\n}\n',
    'locals { a = 1 }\n',
    'resource "x" "y" { # after the brace\n  a = 1\n}\n',
    'locals {\n  a = { k = "v" # c\n  }\n  b = [1, # c\n    2]\n  c = f(1, # c\n    2)\n'
    '  d = [1, [2]]\n  e = f(g(1))\n}\n',
    'locals {\n  a = x.0\n  b = x[*].id\n  c = -1\n  d = true.x\n  e = f(x...)\n}\n',
]


@pytest.mark.parametrize("text", PLAIN_FORMS + NEAR_PLAIN_FORMS)
def test_forms_built_from_their_text_give_the_same_tree_as_lark(text):
    fast = ts_tree(text)
    assert fast is not None, text  # tree-sitter reads every one of them
    assert fast == lark_tree(text)


@pytest.mark.parametrize("text", PLAIN_FORMS)
def test_plain_forms_do_not_visit_their_nodes(monkeypatch, text):
    """The text-built path is really taken: with the node-by-node builders of strings, literals, headers,
    collections and calls broken, plain forms still parse (to Lark's tree)."""
    def broken(*args):
        raise AssertionError("visited node by node")

    for name in ("string", "x_literal_value", "_block", "x_tuple", "x_object", "x_function_call", "x_variable_expr"):
        monkeypatch.setattr(tsparse._TreeBuilder, name, broken)
    assert ts_tree(text) == lark_tree(text)


def _tree_sitter_tree(text: str):
    """The tree the file's tree-sitter parse gives, every line built node by node (none read as plain lines)."""
    def no_lines(self, *args, **kwargs):
        return False

    real = tsparse._TreeBuilder.lines
    tsparse._TreeBuilder.lines = no_lines
    try:
        builder = tsparse._TreeBuilder("main.tf", text, text.encode("utf-8", "surrogatepass"), 0, True)
        body = tsparse._parse_with_tree_sitter(builder)
        return None if body is None else ast.dump(body)
    except ParseFailure as exc:
        return f"rejected: {exc.message} (line {exc.line}, column {exc.column})"
    finally:
        tsparse._TreeBuilder.lines = real


def _fast_tree(text: str):
    try:
        body = tsparse.parse_body(text, "main.tf")
    except ParseFailure as exc:
        return f"rejected: {exc.message} (line {exc.line}, column {exc.column})"
    return None if body is None else ast.dump(body)


PLAIN_FILES = [  # every line plain: read from the text, tree-sitter never asked
    'resource "aws_s3_bucket" "b" {\n  bucket = "logs" # why\n  tags = {\n    a = "b"\n    c = var.d\n  }\n'
    '  versioning {\n    enabled = true\n  }\n  lifecycle {}\n  x { }\n\n  // done\n}\n',
    'a = 1\nb = ["x", "y",\n  "z"]\nc = f(1, "2")\nd = "${var.x}-${local.y}"\n',
    'provider "aws" {\n  region = "eu-west-1"\n}\n\nterraform {\n  required_providers {\n    aws = {\n'
    '      source  = "hashicorp/aws"\n      version = ">= 5.0"\n    }\n  }\n}',  # no newline at the end
    'locals {\r\n  a = "crlf"\r\n  b {\r\n    c = 1\r\n  }\r\n}\r\n',
    'variable "é" {\n  default = "ü 𝄞"\n}\nx "y" z {\n  a-b = c-d.e\n}\n',
    '', '\n\n', '# only a comment\n',
    'r "x" {\n  a = <<EOF\n  {\n    "k": 1 $ % {\n  }\n  EOF\n  b = <<-EOT\n\t  x\n    EOT\n  c = <<EOT\nEOT\n}\n',
]
NOT_PLAIN_FILES = [  # what tree-sitter-hcl rejects although it looks plain, and files plain only at first
    'x = [for]\n', 'x = {\n  for = 1\n}\n', 'x = true(1)\n', 'x = null()\n', 'x = [,]\n', 'x = "a\0b"\n',
    '# \0\nx = 1\n',
    'a {\n  b = 1\n}\nc {\n  d = x[0]\n  e = 1\n  e = 2\n}\n',  # the error in the rest: its line
    'a {\n  b = 1\n}\nc = 1\nd {\n  e = x + 1\n}\nc = 2\n',  # a top-level argument again in the rest
    'a {\n  b = 1\n}\nc = 1\nd {\n  e = x + 1 f = 2\n}\nc = 2\n',  # and an error before it
    'a {\n  b = 1\n}\nc = 1\nd {\n  e = x + 1\n}\nc = 2\nf {\n  g = 1 h = 2\n}\n',  # or after it
    'a {\n  b = 1\n}\nc {\n  d = x[\n}\n',  # a syntax error in the rest
    'a {\n  b = 1\n  b = 2\n}\nc {\n  d = x[\n}\n',  # a duplicate before a syntax error: Lark decides
    'a {\n  b = "é"\n}\n/* c */\nd "é" {\n  e = <<EOT\n  f = 1\n  EOT\n  g = "ü" b = 1\n}\n',  # wide characters
    'a = <<EOF\nx\nEOF \n', 'a = <<EOF\nEOFX\nEOF\n', 'a = <<EOF\nx\nEOF', 'a = <<EOF\n${x}\nEOF\n',  # heredocs
    'a = <<EOF\n%{ if x }y%{ endif }\nEOF\n', 'a = <<EOF\n$${x}\nEOF\n', 'a = <<EOF\r\nx\r\nEOF\r\n',
]


@pytest.mark.parametrize("text", PLAIN_FILES)
def test_a_file_of_plain_lines_is_read_without_tree_sitter(monkeypatch, text):
    expected = _tree_sitter_tree(text)
    assert isinstance(expected, tuple)  # a tree: neither handed to Lark nor rejected

    def no_parser():
        raise AssertionError("tree-sitter asked")

    monkeypatch.setattr(tsparse, "_parser", no_parser)
    assert _fast_tree(text) == expected
    assert ts_tree(text) == lark_tree(text)


@pytest.mark.parametrize("text", NOT_PLAIN_FILES)
def test_lines_that_only_look_plain_and_the_rest_of_a_file_are_left_to_tree_sitter(text):
    assert _fast_tree(text) == _tree_sitter_tree(text)


@RUNS
@given(plain_files())
def test_generated_files_read_line_by_line_give_tree_sitters_tree_and_errors(text):
    """Lines that are plain, near misses (keywords, empty lists, control characters, comments, layout errors) and
    forms that are not plain, in any order: the same tree or first error as the file's tree-sitter parse."""
    assert _fast_tree(text) == _tree_sitter_tree(text), text


@pytest.mark.parametrize("text,message", [
    ('locals {\n  a = 1\n  b = "x"\n  a = "y"\n}\n', 'attribute "a" is defined twice in this block (first on line 2)'),
    ('locals {\n  a = 1 b = 2\n}\n', "missing newline: each argument and block goes on a line of its own"),
    ('locals {\n  a = 1\n  b = 2 }\n', "missing newline: the closing brace of a block goes on a line of its own"),
    ('locals { a = 1, b = 2 }\n', None),
])
def test_plain_bodies_report_what_the_node_by_node_builder_reports(text, message):
    fast = ts_tree(text)
    if fast is None:  # tree-sitter saw a syntax error: Lark explains it
        assert str(lark_tree(text)).startswith("rejected")
        return
    assert fast == lark_tree(text)
    if message is not None:
        assert fast == f"rejected: {message}"


@pytest.mark.parametrize("text, line", [
    ("{\n  a = 1\n}\n", 1),  # tree-sitter-hcl reads a file that is one object without an error
    ("# a comment\n{\n  a = 1\n}\n", 2),
    ('resource "x" "y" {\n}\n{\n  a = 1\n}\n', 3),  # a block, then an object
])
def test_a_file_that_is_an_object_is_a_syntax_error_as_terraform_says(text, line):
    """terraform validate: "Argument or block definition required". It was read as an empty configuration."""
    assert tsparse.parse_body(text, "main.tf") is None  # left to Lark, which explains the error
    with pytest.raises(ParseFailure) as failure:
        parser.parse_source(SourceFile("main.tf", text))
    assert failure.value.line == line
