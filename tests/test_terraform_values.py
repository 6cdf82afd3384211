"""Values as Terraform computes them, each one a disagreement the oracle (tests/test_oracle.py) found: the
expected values are what `terraform console` (1.11) prints for the same expression."""

from __future__ import annotations

import pytest

from iaclint.eval.convert import instance_key_text
from test_evaluator import ev, py
from test_graph import attr, graph, write


@pytest.mark.parametrize("text,expected", [
    ("1e3 + 1", 1001),  # a whole number written with an exponent is that integer
    ("1e21", 10 ** 21),
    ("7 % -3", 1), ("-7 % 3", -1),  # the remainder has the dividend's sign (Go's truncated division)
    ("2.5 % 1.5", 1), ("1 / 4", 0.25),
    ("6 / 3", 2), ("7 / 2", 3.5), ("-7 % -3", -1), ("2 * 3 - 10", -4),  # small integers: exact, no fractions
    ("4611686018427387904 * 4 + 1", 2 ** 64 + 1), ("-18446744073709551616 % 7", -2),  # past 2^62: the general path
    ("tostring(1.5e-5)", "0.000015"), ("tostring(1e21)", "1000000000000000000000"),  # all digits, no exponent
    ('jsonencode({b = 1, a = "<&>", c = 0.000015})', '{"a":"\\u003c\\u0026\\u003e","b":1,"c":0.000015}'),
    ("sort([10, 9, 1])", ["1", "10", "9"]),  # numbers are sorted as strings
    ('upper("Straße")', "STRAßE"), ('title("hello_world it\'s")', "Hello_world It'S"),  # Go's case mapping
    ('format("%v", 0.000015)', "1.5e-05"), ('format("%.1f", 0.25)', "0.2"),
    ('format("%q", "é\\u2028<")', '"é\\u2028\\u003c"'),  # %q is JSON, as Go's encoder writes it
    ('tolist(toset(["b", "a", "b", "C"]))', ["C", "a", "b"]),  # a set of strings is in code point order
    ("tolist(toset([10, 2, 1.5]))", [1.5, 2, 10]),  # of numbers, by value
    ('tolist(toset(["a", 1, true]))', ["1", "a", "true"]),  # one string makes them all strings
    ('[for k, v in {b = 1, a = 2, "10" = 3, "2" = 4} : k]', ["10", "2", "a", "b"]),  # a map in key order
    ('"e\\u0301" == "\\u00e9"', True),  # strings are NFC
    ('length("e\\u0301cole")', 5),
    ("signum(-3)", -1),
    ('format("%.2f", -9007199254740993)', "-9007199254740993.00"),  # an integer beyond a float's digits
    ('format("%8.1f|%f", 9007199254740993, 9007199254740993)', "9007199254740993.0|9007199254740993.000000"),
    ('true ? 10 : "x"', "10"),  # both results are converted to one type first: a string
    ('true ? {name = 10, n = 1} : {name = "x", n = 2}', {"name": "10", "n": 1}),
    ('true ? [1, true] : ["a", "b"]', ["1", "true"]),
    ("false ? 10 : 2.5", 2.5),
])
def test_values_terraform_computes(text, expected):
    value = py(text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("text,words", [
    ("0.1 + 0.2", "512-bit"),  # Terraform's binary digits, which a float does not hold
    ("1 / 3", "512-bit"), ("5 % 0", "division by zero"),
    ('format("%.1f", 0.35)', "halfway"),  # 0.35 is not exactly halfway in binary: which way it rounds is not ours
    ("signum(2.5)", "whole number"),  # an error in Terraform
    ('strlen("abc")', "strlen"),  # no such function in Terraform
    ("tolist(toset([{a = 1}, {a = 2}]))", "order of a set"),  # Terraform orders these by hash
    ("[for x in toset([[1], [2]]) : x]", "order of a set"),
])
def test_values_iaclint_cannot_reproduce_are_unknown(text, words):
    value = ev(text)
    assert not value.known and words in value.unknown, value.unknown


def test_set_variables_are_sets_in_terraform_order(tmp_path):
    root = write(tmp_path, {"main.tf": '''
variable "names" {
  type    = set(string)
  default = ["b", "a", "b", "C"]
}
resource "aws_s3_bucket" "b" {
  bucket = jsonencode(var.names)
}
'''})
    assert attr(graph(root), "aws_s3_bucket.b", "bucket").raw == '["C","a","b"]'


def test_instance_keys_are_quoted_as_terraform_writes_addresses():
    assert instance_key_text("é") == '"é"'
    assert instance_key_text('a"b\\c\n${x}%{y}$z\u2028\x01') == '"a\\"b\\\\c\\n$${x}%%{y}$z\\u2028\\u0001"'
