"""The evaluator, construct by construct, including what stays unknown and why."""

from __future__ import annotations

import pytest

from iaclint.eval.evaluator import EvalError, Evaluator
from iaclint.eval.values import OriginKind, Value, from_python
from iaclint.hcl.parser import parse_expression


class FakeContext:
    """Variables and locals from dicts; resources as unknown computed attributes with refs."""

    def __init__(self, variables=None, locals_=None, each=None, count=None):
        self.variables = {k: v if isinstance(v, Value) else from_python(v) for k, v in (variables or {}).items()}
        self.locals = locals_ or {}
        self.each_values = each
        self.count_index = count

    def var(self, name, node):
        if name not in self.variables:
            raise EvalError(f"undeclared variable {name}")
        return self.variables[name]

    def local(self, name, node):
        return from_python(self.locals[name])

    def resource(self, mode, type_, name, node):
        from iaclint.eval.values import ObjectRef

        address = f"{'data.' if mode == 'data' else ''}{type_}.{name}"
        return Value(ObjectRef(address, lambda attr: Value.unknown_because(f"{address}.{attr} after apply", [address])),
                     refs=frozenset([address]))

    def module_call(self, name, node):
        return None

    def each(self, attr, node):
        if self.each_values is None:
            raise EvalError("no each")
        return from_python(self.each_values[attr])

    def count(self, attr, node):
        if self.count_index is None:
            raise EvalError("no count")
        return Value(self.count_index)

    def path(self, attr, node):
        return Value(".")

    def read_file(self, path):
        return None


def ev(text, **kwargs) -> Value:
    expr = parse_expression(text, "t.tf", 0)
    return Evaluator(FakeContext(**kwargs), OriginKind.LITERAL, "test").evaluate(expr)


def py(text, **kwargs):
    value = ev(text, **kwargs)
    assert value.wholly_known(), value.unknown
    return value.to_python()


@pytest.mark.parametrize("text,expected", [
    ("true", True), ("false", False), ("null", None), ("42", 42), ("1.5", 1.5), ('"abc"', "abc"),
    ('"a\\nb"', "a\nb"), ('"$${literal}"', "${literal}"),
    ("[1, 2, 3]", [1, 2, 3]), ('{ a = 1, "b" = 2 }', {"a": 1, "b": 2}), ("{ a = { b = [true] } }", {"a": {"b": [True]}}),
])
def test_literals_and_collections(text, expected):
    assert py(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 / 4", 2.5), ("10 % 4", 2), ("-3 + 1", -2),
    ("1 < 2", True), ("2 <= 1", False), ('"a" == "a"', True), ('"a" != "a"', False),
    ("true && false", False), ("true || false", True), ("!true", False),
    ('1 == "1"', False), ("[1, 2] == [1, 2]", True),
])
def test_operators(text, expected):
    assert py(text) == expected


def test_templates_and_heredocs():
    assert py('"neptune-${var.env}"', variables={"env": "prod"}) == "neptune-prod"
    assert py('"${var.flag}"', variables={"flag": True}) is True  # a lone interpolation keeps its type
    assert py("<<-EOT\n    a ${var.x}\n    b\n  EOT\n", variables={"x": 1}) == "a 1\nb\n"


def test_references_to_variables_locals_each_count():
    assert py("var.tags.Name", variables={"tags": {"Name": "n"}}) == "n"
    assert py("local.teams.reports.encrypted", locals_={"teams": {"reports": {"encrypted": False}}}) is False
    assert py("each.value.encrypted", each={"key": "a", "value": {"encrypted": True}}) is True
    assert py("each.key", each={"key": "a", "value": 1}) == "a"
    assert py("count.index * 2", count=3) == 6


def test_index_and_attribute_access():
    assert py("var.l[1]", variables={"l": ["a", "b"]}) == "b"
    assert py('var.m["k"]', variables={"m": {"k": "v"}}) == "v"
    assert py("var.l.0", variables={"l": ["a"]}) == "a"
    assert py("var.objs[*].name", variables={"objs": [{"name": "x"}, {"name": "y"}]}) == ["x", "y"]


def test_conditionals_choose_a_branch_and_keep_its_origin():
    value = ev('var.prod ? "alias/prod" : "alias/aws/rds"', variables={"prod": False})
    assert value.raw == "alias/aws/rds"
    assert value.origin.kind is OriginKind.LITERAL
    assert [h.label for h in value.via] == ["conditional expression"]


def test_for_expressions():
    assert py("[for x in var.l : upper(x) if x != \"b\"]", variables={"l": ["a", "b", "c"]}) == ["A", "C"]
    assert py("{ for k, v in var.m : k => v.enc }", variables={"m": {"a": {"enc": True}}}) == {"a": True}
    assert py("{ for x in var.l : x => 1... }", variables={"l": ["a", "a"]}) == {"a": [1, 1]}


@pytest.mark.parametrize("text,expected", [
    ('merge({ a = 1 }, { b = 2 }, { a = 3 })', {"a": 3, "b": 2}),
    ('lookup({ a = 1 }, "a", 0)', 1), ('lookup({ a = 1 }, "z", 0)', 0),
    ('try(var.missing.attr, "fallback")', "fallback"),
    ('coalesce("", null, "x")', "x"),
    ("concat([1], [2, 3])", [1, 2, 3]),
    ('contains(["a", "b"], "b")', True), ('contains(["a"], "z")', False),
    ('length("abc")', 3), ("length([1, 2])", 2), ("length({ a = 1 })", 1),
    ('lower("ABC")', "abc"), ('upper("abc")', "ABC"),
    ('format("%s-%d", "a", 3)', "a-3"), ('format("%q", "x")', '"x"'),
    ('tobool("true")', True), ("tostring(12)", "12"), ('tonumber("7")', 7),
    ('jsonencode({ a = [1, true] })', '{"a":[1,true]}'), ('jsondecode("{\\"a\\": 1}")', {"a": 1}),
    ('toset(["a", "a", "b"])', ["a", "b"]), ("tolist(toset([1]))", [1]), ("tomap({ a = 1 })", {"a": 1}),
    ('join(",", ["a", "b"])', "a,b"), ('split(",", "a,b")', ["a", "b"]), ('replace("a-b", "-", "_")', "a_b"),
    ("can(var.missing.attr)", False), ('element(["a", "b"], 3)', "b"), ("keys({ b = 1, a = 2 })", ["a", "b"]),
])
def test_functions(text, expected):
    assert py(text, variables={"missing": {}}) == expected


def test_lookup_keeps_the_origin_of_the_element():
    value = ev('lookup({ enc = false }, "enc", true)')
    assert value.raw is False and value.origin.kind is OriginKind.LITERAL
    assert value.origin.span.start > 0


def test_unknown_values_say_why():
    value = ev("var.key", variables={"key": Value.unknown_because("no default")})
    assert not value.known and value.unknown == "no default"
    derived = ev('"${var.key}-suffix"', variables={"key": Value.unknown_because("no default")})
    assert not derived.known and "no default" in derived.unknown
    assert "timestamp" in ev("timestamp()").unknown
    assert "not evaluated" in ev("somefunction(1)").unknown
    assert "provider function" in ev("provider::aws::arn_parse(\"x\")").unknown


def test_resource_attributes_are_unknown_but_keep_references():
    value = ev("aws_kms_key.graph.arn")
    assert not value.known
    assert value.all_refs() == {"aws_kms_key.graph"}
    conditional = ev("var.flag ? aws_kms_key.graph.arn : null", variables={"flag": True})
    assert conditional.all_refs() == {"aws_kms_key.graph"}


def test_unknown_condition_with_equal_branches_is_known():
    assert py("var.x ? true : true", variables={"x": Value.unknown_because("input")}) is True
    assert not ev("var.x ? true : false", variables={"x": Value.unknown_because("input")}).known


def test_short_circuit_with_unknown_operand():
    assert py("false && var.x", variables={"x": Value.unknown_because("input")}) is False
    assert py("var.x || true", variables={"x": Value.unknown_because("input")}) is True
    assert not ev("var.x && true", variables={"x": Value.unknown_because("input")}).known


def test_errors_become_unknown_never_exceptions():
    for text in ('{ a = 1 }.b', '[1][5]', '1 + "x"', "var.undeclared", "1 / 0", 'lookup({}, "k")'):
        value = ev(text)
        assert not value.known
        assert value.unknown.startswith("evaluation error")


def test_template_with_unknown_parts_keeps_its_literal_text():
    from iaclint.eval.values import PartialString

    value = ev('"arn:aws:kms:${var.r}:111122223333:alias/aws/rds"', variables={"r": Value.unknown_because("input")})
    assert isinstance(value.raw, PartialString)
    assert "alias/aws/rds" in value.raw.literal_text()


def test_comparing_with_null_needs_only_the_top_level(tmp_path):
    """`var.list != null ? var.list : []` on a known list with unknown items (terraform-aws-kms) is known."""
    from iaclint.graph.hcl import build_hcl_graph
    from iaclint.graph.inputs import collect_inputs

    (tmp_path / "main.tf").write_text('''data "aws_caller_identity" "current" {}

locals {
  items = [{ arn = data.aws_caller_identity.current.arn }]
}

resource "aws_kms_key" "k" {
  description = local.items != null ? "set" : "unset"
  tags        = { same = tostring(local.items == null) }
}
''')
    graph = build_hcl_graph(tmp_path, collect_inputs(tmp_path, environ={}))
    key = graph.resource("aws_kms_key.k")
    assert key.attr("description").value.raw == "set"
    assert key.attr("tags").value.raw["same"].raw == "false"
