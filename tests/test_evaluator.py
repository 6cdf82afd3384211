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


# ---- regular expressions: RE2 syntax and Go's semantics, as Terraform runs them ---------------------------


@pytest.mark.parametrize("text,expected", [
    ('regex("[a-z]+", "53453453.345345aaabbbccc23454")', "aaabbbccc"),
    ('regex("(\\\\d\\\\d\\\\d\\\\d)-(\\\\d\\\\d)-(\\\\d\\\\d)", "2019-02-01")', ["2019", "02", "01"]),
    ('regex("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", "https://terraform.io/docs/")',
     {"scheme": "https", "authority": "terraform.io"}),
    ('regex("(?<name>a)", "a")', {"name": "a"}),  # Go's other named-group syntax; Python 3.11 has no such thing
    ('regex("(a)|(b)", "b")', [None, "b"]),  # a group that did not take part is null
    ('regexall("[a-z]+", "1234abcd5678efgh9")', ["abcd", "efgh"]),
    ('length(regexall("[a-z]+", "1234"))', 0),
    ('regexall("a*", "baaac")', ["", "aaa", ""]),  # Go skips the empty match right after "aaa"; Python keeps it
    ('replace("hello world", "/w(or)ld/", "$1")', "hello or"),
    ('replace("hello world", "/(?P<w>w)orld/", "$${w}!$$")', "hello w!$"),  # HCL's $${ is the template's ${
    ('replace("abc", "/b/", "$9")', "ac"),  # a group that does not exist is empty (Python's re raises)
    ('replace("abc", "/(b)/", "$1x")', "ac"),  # "$1x" names the group "1x" (Go's rule)
    ('replace("abc", "/(b)/", "$${1}x")', "abxc"),
    ('replace("a-b", "/$/", "!")', "a-b!"),
    ('replace("ab\\n", "/b$/", "!")', "ab\n"),  # RE2's $ is the end of the text only; Python's also before "\n"
    ('replace("٣", "/\\\\d/", "x")', "٣"),  # \d is ASCII in RE2, every decimal digit in Python
    ('replace("aaa", "/a*/", "-")', "-"),
    ('replace("abc", "", "-")', "-a-b-c-"),
    ("can(regex(\"^ab\", \"xab\"))", False),
    ("can(regex(\"(\", \"x\"))", False),  # an invalid pattern is an error, which can() sees
])
def test_regular_expressions_follow_terraform(text, expected):
    assert py(text) == expected


def test_regex_errors_say_why():
    assert "did not match" in ev('regex("z", "abc")').unknown
    assert "missing )" in ev('regex("(", "abc")').unknown
    assert "cannot be mixed" in ev('regex("(a)(?P<b>b)", "ab")').unknown
    assert "invalid" in ev('regex("(a)\\\\1", "aa")').unknown  # no back-references in RE2
    assert "invalid" in ev('regex("a(?=b)", "ab")').unknown  # nor look-arounds


def test_a_pathological_pattern_is_linear():
    import time

    started = time.process_time()
    value = ev('replace("' + "a" * 20000 + '!", "/^(a+)+$/", "")')
    assert value.raw == "a" * 20000 + "!"
    assert time.process_time() - started < 2


# ---- totality and limits ------------------------------------------------------------------------------


@pytest.mark.parametrize("text,words", [
    ("1e400", "too large"), ("ceil(1e400)", "too large"), ('tonumber("inf")', "a number is required"),
    ("[1][1.5]", "whole number"), ('format("%d", 1.5)', "whole number"), ('format("%999999999s", "a")', "limit string"),
    ('format("%.999999999f", 1)', "limit string"), ("range(1, 5000)", "1024"), ('jsondecode("NaN")', "not valid JSON"),
    (" * ".join(["99999999999999999999"] * 20), "too large"), ('split("", "abc")[5]', "out of range"),
])
def test_bad_arguments_are_unknown_with_the_reason(text, words):
    value = ev(text)
    assert not value.known and words in value.unknown, value.unknown


def test_limits_stop_with_a_message_naming_the_limit():
    from iaclint.eval.limits import Budget, Limits

    class Tight(FakeContext):
        budget = Budget(Limits(steps=1000, collection=50, string=100))

    def tight(text):
        return Evaluator(Tight(), OriginKind.LITERAL, "test").evaluate(parse_expression(text, "t.tf", 0))

    assert "limit collection" in tight("[for i in range(60) : i]").unknown
    assert "limit string" in tight('join("", [for i in range(20) : "123456"])').unknown
    assert "limit string" in tight('replace("aaaa", "a", "' + "b" * 40 + '")').unknown
    assert tight("[for i in range(40) : i]").known
    steps = tight("[for i in range(40) : [for j in range(40) : j]]")
    assert "evaluation stopped after 1,000 steps (limit steps" in steps.unknown
    assert "evaluation stopped" in tight("1 + 1").unknown  # the budget is the root module's: spent is spent
    assert "limit collection" not in (tight("try(local.x, 1)").unknown or "")


def test_limits_cannot_be_caught_by_try_or_can():
    from iaclint.eval.limits import Budget, Limits

    class Tight(FakeContext):
        budget = Budget(Limits(collection=10))

    value = Evaluator(Tight(), OriginKind.LITERAL, "test").evaluate(
        parse_expression("can([for i in range(20) : i])", "t.tf", 0))
    assert not value.known and "limit collection" in value.unknown  # not false: the value is simply not known


def test_shared_parts_count_as_often_as_they_are_used():
    """l_i = [l_{i-1}, l_{i-1}]: 40 levels are 2^40 values to walk, a few bytes to write."""
    import time

    from iaclint.eval.values import Value as V

    level = V("x")
    for _ in range(40):
        level = V([level, level])
    assert level.size == 2 ** 41 - 1
    started = time.process_time()
    value = ev("length(jsonencode(var.big))", variables={"big": level})
    assert not value.known and "limit" in value.unknown
    assert time.process_time() - started < 2


# ---- marks: sensitive values and values read from files ------------------------------------------------------


def test_sensitive_marks_follow_terraform_rules():
    from iaclint.eval.values import SENSITIVE, render

    secret = from_python({"password": "hunter2", "list": ["a"]}).marked(SENSITIVE)
    cases = ['var.s.password', 'upper(var.s.password)', '"x-${var.s.password}"', 'var.s.list[0]',
             'length(var.s.password)', 'var.s.password == "hunter2"', 'keys(var.s)[0]',
             '[for k, v in var.s : k][0]', 'var.s.password != "" ? "a" : "b"', 'jsonencode(var.s)',
             'nonsensitive(var.s.password)', 'sensitive("plain")', '{ a = 1 }[var.s.list[0] == "a" ? "a" : "b"]']
    for text in cases:
        value = ev(text, variables={"s": secret})
        assert value.known and value.deep_mark() == SENSITIVE, text
        assert render(value) == "(sensitive)", text
        assert "hunter2" not in f"{value.raw}", text  # an f-string in a check shows the mark, not the text
    value = ev("var.s.password", variables={"s": secret})
    assert value.raw == "hunter2" and value.raw.startswith("hun")  # verdicts still see the content
    assert render(ev("[var.s.password, 1]", variables={"s": secret})) == "[(sensitive), 1]"
    assert ev("var.p", variables={"p": "plain"}).mark is None


def test_an_unknown_template_keeps_no_sensitive_text():
    from iaclint.eval.values import SENSITIVE, PartialString

    value = ev('"arn:${var.s}:${var.u}"', variables={"s": Value("secret").marked(SENSITIVE),
                                                     "u": Value.unknown_because("input")})
    assert isinstance(value.raw, PartialString) and "secret" not in value.raw.literal_text()


# ---- file functions ------------------------------------------------------------------------------------


def _files_graph(tmp_path, body: str):
    from iaclint.graph.hcl import build_hcl_graph
    from iaclint.graph.inputs import collect_inputs

    (tmp_path / "main.tf").write_text(f'resource "aws_kms_key" "k" {{\n  description = {body}\n}}\n')
    graph = build_hcl_graph(tmp_path, collect_inputs(tmp_path, environ={}))
    return graph, graph.resource("aws_kms_key.k").attr("description").value


def test_fileset_and_fileexists_inside_the_tree(tmp_path):
    for name in ("policies/a.json", "policies/b.json", "policies/sub/c.json", "policies/d.txt", ".git/x.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    (tmp_path / "policies" / "out.json").symlink_to("/etc/hostname")
    graph, value = _files_graph(tmp_path, 'fileset(path.module, "policies/*.json")')
    assert value.to_python() == ["policies/a.json", "policies/b.json"]  # the link out is not listed
    assert str(tmp_path.resolve()) in graph.files_read
    assert _files_graph(tmp_path, 'fileset("policies", "**/*.json")')[1].to_python() == [
        "a.json", "b.json", "sub/c.json"]
    assert _files_graph(tmp_path, 'fileset("policies", "{a,d}.*")')[1].to_python() == ["a.json", "d.txt"]
    assert _files_graph(tmp_path, 'fileset(".", "**/x.json")')[1].to_python() == []  # not in .git
    assert _files_graph(tmp_path, 'fileexists("policies/a.json")')[1].raw is True
    graph, missing = _files_graph(tmp_path, 'fileexists("policies/none.json")')
    assert missing.raw is False and str(tmp_path.resolve() / "policies" / "none.json") in graph.files_read
    assert "outside the repository" in _files_graph(tmp_path, 'fileexists("/etc/hostname")')[1].unknown
    assert "is a directory" in _files_graph(tmp_path, 'fileexists("policies")')[1].unknown


def test_file_paths_start_at_the_root_module_and_path_module_is_relative_to_it(tmp_path):
    from iaclint.graph.config import ConfigLoader
    from iaclint.graph.hcl import build_hcl_graph
    from iaclint.graph.inputs import collect_inputs
    from iaclint.tree import Tree

    (tmp_path / "root" / "m").mkdir(parents=True)
    (tmp_path / "root" / "m" / "p.json").write_text('{"a": 1}')
    (tmp_path / "root" / "main.tf").write_text('module "m" {\n  source = "./m"\n}\n')
    (tmp_path / "root" / "m" / "main.tf").write_text(
        'resource "aws_kms_key" "k" {\n  description = "${path.module}|${file("${path.module}/p.json")}"\n}\n')
    graph = build_hcl_graph(tmp_path / "root", collect_inputs(tmp_path / "root", environ={}),
                            ConfigLoader(tree=Tree.of(tmp_path)))
    value = graph.resource("module.m.aws_kms_key.k").attr("description").value
    assert value.raw == 'm|{"a": 1}'
    assert value.mark.startswith("(content of ") and "m/p.json" in value.mark


# ---- the remaining pure built-in functions: Terraform's documented results, or unknown naming the function ----


@pytest.mark.parametrize("text,expected", [
    ('strcontains("hello world", "wor")', True), ('strcontains("hello world", "cat")', False),
    ('chomp("hello\\n\\r\\n")', "hello"), ('strrev("hello")', "olleh"),
    ('indent(2, "[\\n  foo,\\n]\\n")', "[\n    foo,\n  ]\n  "),
    ('basename("foo/bar/baz.txt")', "baz.txt"), ('basename("foo/bar/")', "bar"), ('basename("")', "."),
    ('alltrue(["true", true])', True), ("alltrue([true, false])", False), ("alltrue([])", True),
    ("alltrue([true, null])", False), ('anytrue(["true", false])', True), ("anytrue([])", False),
    ('index(["a", "b", "c"], "b")', 1), ('slice(["a", "b", "c", "d"], 1, 3)', ["b", "c"]),
    ('chunklist(["a", "b", "c", "d", "e"], 2)', [["a", "b"], ["c", "d"], ["e"]]), ("chunklist([1, 2], 0)", [[1, 2]]),
    ("sum([10, 13, 6])", 29), ("pow(3, 2)", 9), ("pow(4, 0)", 1),
    ('parseint("100", 10)', 100), ('parseint("FF", 16)', 255), ('parseint("-10", 16)', -16),
    ('parseint("1011111011101111", 2)', 48879),
    ('formatlist("Hello, %s!", ["Valentina", "Ander"])', ["Hello, Valentina!", "Hello, Ander!"]),
    ('formatlist("%s, %s!", "Salutations", ["Valentina", "Ander"])', ["Salutations, Valentina!", "Salutations, Ander!"]),
    ('base64encode("Hello World")', "SGVsbG8gV29ybGQ="), ('base64decode("SGVsbG8gV29ybGQ=")', "Hello World"),
    ('md5("hello world")', "5eb63bbbe01eeed093cb22bb8f5acdc3"),
    ('sha1("hello world")', "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"),
    ('sha256("hello world")', "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"),
    ('base64sha256("hello world")', "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
    ('urlencode("Hello World!")', "Hello+World%21"), ('urlencode("\u2603")', "%E2%98%83"),
    ('urlencode("foo:bar@localhost?foo=bar&bar=baz")', "foo%3Abar%40localhost%3Ffoo%3Dbar%26bar%3Dbaz"),
    ('setunion(["a", "b"], ["b", "c"], ["d"])', ["a", "b", "c", "d"]),
    ('setintersection(["a", "b"], ["b", "c"], ["b", "d"])', ["b"]), ('setsubtract(["a", "b", "c"], ["a", "c"])', ["b"]),
    ('tolist(setunion(["b"], ["a"]))[0]', "a"), ('tolist(toset(["b", "a", "b"]))', ["a", "b"]),
    ("tolist(toset([3, 1, 2]))", [1, 2, 3]),
    ('title("hello world")', "Hello World"), ('title("hELLO 3rd x_y")', "HELLO 3rd X_y"),
])
def test_more_pure_functions_as_terraform_computes_them(text, expected):
    assert py(text) == expected


@pytest.mark.parametrize("text", [
    'strrev("caf\u00e9")', "sum([1, 4.5])", "pow(2, -1)", 'parseint("aA", 62)',
    'index(["1"], 1)', 'setunion(["a"], [1])', 'abspath("x")', 'pathexpand("~/x")', 'yamldecode("a: 1")',
    'cidrsubnet("10.0.0.0/16", 8, 1)',
])
def test_a_pure_function_iaclint_cannot_compute_exactly_is_unknown_naming_it(text):
    value = ev(text)
    name = text.split("(")[0]
    assert not value.known and f"{name}()" in value.unknown, value.unknown


def test_an_unknown_argument_makes_these_functions_unknown_never_a_guess():
    unknown = {"x": Value.unknown_because("no value")}
    for text in ('strcontains(var.x, "a")', "alltrue([true, var.x])", 'index(["a"], var.x)', "slice(var.x, 0, 1)",
                 'setunion(["a"], var.x)', 'formatlist("%s", var.x)', 'base64decode(var.x)'):
        value = ev(text, variables=unknown)
        assert not value.known and value.unknown == "no value", text


def test_readme_lists_every_function_iaclint_evaluates():
    """The README says which built-in functions are evaluated: the list must be the registry's."""
    import re as re_

    from iaclint.eval.functions import FUNCTIONS
    from support import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- functions: evaluated -->", 1)[1].split("<!-- /functions -->", 1)[0]
    listed = set(re_.findall(r"`([a-z0-9]+)`", section))
    assert listed == set(FUNCTIONS) | {"try", "can"}


def test_a_value_unknown_through_an_input_without_a_value_is_not_decided_by_its_resources():
    from iaclint.eval.values import AfterApply, Alternatives

    inputs = {"arn": Value.unknown_because(AfterApply("aws_kms_key.k.arn is known only after apply"),
                                           refs=["aws_kms_key.k"]),
              "none": Value.unknown_because("no value")}
    after_apply = ev('lower(var.arn)', variables=inputs)
    assert isinstance(after_apply.unknown, AfterApply) and after_apply.all_refs() == {"aws_kms_key.k"}
    for text in ('merge({ k = var.arn }, var.none)', 'lookup(var.none, "k", var.arn)', 'element([var.arn], var.none)',
                 '"${var.arn}/${var.none}"'):
        value = ev(text, variables=inputs)
        # the reason is the input (what may make it anything), never the attribute known after apply
        assert not value.known and value.unknown == "no value" and not isinstance(value.unknown, AfterApply), text
    chosen = ev('coalesce(var.none, "alias/aws/sqs", var.arn)', variables=inputs)
    assert not chosen.known and isinstance(chosen.raw, Alternatives)
    assert [v.raw if v.known else v.unknown for v in chosen.raw.values] == ["no value", "alias/aws/sqs"]
    assert "argument 1 of coalesce()" in chosen.raw.condition
    assert ev('coalesce(var.none, "")', variables=inputs).unknown == "no value"  # the only possible result
