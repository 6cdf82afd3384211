"""Configurations that exercise the language, generated from a seed: typed expressions (so terraform can
plan almost all of them) over variables given every way Terraform takes them, locals, other resources, module
outputs, count and for_each, dynamic blocks, templates and heredocs, for expressions, splats, conditionals and
the built-in functions iaclint evaluates (and a few it leaves unknown).

A configuration is files plus the -var and -var-file arguments to plan it with. Each resource block is an
"item" whose lines the harness knows, so an expression terraform rejects leaves out its resource only.
"""

from __future__ import annotations

import functools
import json
import random
import re
from dataclasses import dataclass, field

S, N, B = "string", "number", "bool"
LS, LN, MS, MN, OBJ, LOBJ = "list(string)", "list(number)", "map(string)", "map(number)", "obj", "list(obj)"
TYPES = (S, N, B, LS, LN, MS, MN, OBJ, LOBJ)

STRINGS = ["", "abc", "a-b_c", "Hello World", "hello_world it's", "ünïcödé", "Straße", "e\u0301cole", "with \\\"quote\\\"",
           "tab\\there", "line\\nbreak", "$${not}", "%%{x}", "<tag>&amp;", "  spaced  ", "x.y.z", "a,b,,c", "0123",
           "1.50", "true", "CamelCase", "UPPER", "arn:aws:kms:eu-west-1:111122223333:key/abc", "alias/aws/rds",
           "\\u00e9\\u2028", "日本語", "a/b/c", "--x--", "1e3", "-7", "null", "AES256", "aws:kms"]
NUMBERS = ["0", "1", "2", "3", "-3", "7", "10", "12", "-7", "2.5", "0.1", "0.2", "1e3", "1.5e-3", "1000000", "0.5",
           "100", "9007199254740993", "1e21", "-0.25", "3.0"]
INTEGERS = ["0", "1", "2", "3", "5", "7", "10", "12", "-2", "-7", "100"]
KEYS = ["a", "b", "c", "beta", "Alpha", "z9", "k-1", "_x", "10", "2", "é"]
RE_PATTERNS = ['"[a-z]+"', '"^[A-Z]"', '"(\\\\d+)"', '"(?P<word>\\\\w+)-(?P<num>\\\\d+)"', '"[[:alpha:]]+"', '"a|b"',
               '"^$"', '"\\\\s+"', '"(a)(b)?"']


OTHER_FUNCTIONS = ['formatdate("YYYY-MM-DD hh:mm", "2024-02-29T13:07:00Z")', 'sha256("x")', 'base64encode("x")',
                   'upper("x")', 'formatdate("DD MMM YYYY", "2024-02-29T13:07:00Z")', 'cidrsubnet("10.0.0.0/16", 8, 2)']
FILTERS = ['x != ""', "length(x) > 2", "x == upper(x)"]
MAPPINGS = ["upper(x)", "x", '"${x}!"', "trimspace(x)"]


def q(text: str) -> str:
    return '"' + text + '"'


@dataclass
class Scope:
    """What an expression may refer to, by type: var.x, local.y, each.value, an iterator."""

    refs: dict = field(default_factory=dict)

    def add(self, type_: str, text: str) -> None:
        self.refs.setdefault(type_, []).append(text)

    def child(self) -> "Scope":
        return Scope({k: list(v) for k, v in self.refs.items()})


class Expressions:
    """Typed expression text. Everything it makes is meant to plan; the few that cannot (an empty list's
    element) leave out their own resource."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, items):
        return self.rng.choice(items)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def of(self, type_: str, scope: Scope, depth: int = 0) -> str:
        refs = scope.refs.get(type_, [])
        if refs and self.chance(0.3 if depth else 0.2):
            return self.pick(refs)
        maker = {S: self.string, N: self.number, B: self.boolean, LS: self.list_string, LN: self.list_number,
                 MS: self.map_string, MN: self.map_number, OBJ: self.obj, LOBJ: self.list_obj}[type_]
        return maker(scope, depth + 1)

    def leaf(self, depth: int) -> bool:
        return depth >= 3 or self.chance(0.25 * depth)

    # ---- primitives

    def integer(self, scope: Scope, depth: int) -> str:
        if self.leaf(depth):
            return self.pick(INTEGERS)
        choice = self.rng.randrange(9)
        if choice == 0:
            return f"length({self.of(LS, scope, depth)})"
        if choice == 1:
            return f"({self.integer(scope, depth)} + {self.integer(scope, depth)})"
        if choice == 2:
            return f"({self.integer(scope, depth)} * {self.integer(scope, depth)})"
        if choice == 3:
            return f"({self.integer(scope, depth)} % {self.pick(['3', '-3', '4', '7'])})"
        if choice == 4:
            return f"floor({self.number(scope, depth)})"
        if choice == 5:
            return f"ceil({self.number(scope, depth)})"
        if choice == 6:
            return f"length({self.string(scope, depth)})" if self.chance(0.3) else \
                f"length({self.of(MS, scope, depth)})"
        if choice == 7:
            return f"max({self.integer(scope, depth)}, {self.integer(scope, depth)})"
        return f"({self.boolean(scope, depth)} ? {self.integer(scope, depth)} : {self.integer(scope, depth)})"

    def number(self, scope: Scope, depth: int) -> str:
        if self.leaf(depth):
            return self.pick(NUMBERS)
        choice = self.rng.randrange(12)
        a = lambda: self.of(N, scope, depth)  # noqa: E731
        if choice == 0:
            return f"({a()} + {a()})"
        if choice == 1:
            return f"({a()} - {a()})"
        if choice == 2:
            return f"({a()} * {a()})"
        if choice == 3:
            return f"({a()} / {self.pick(['2', '3', '4', '-8', '0.5', '10', '7'])})"
        if choice == 4:
            return f"({a()} % {self.pick(['2', '3', '-3', '1.5', '4'])})"
        if choice == 5:
            return f"{self.pick(['abs', 'ceil', 'floor', 'signum'])}({a()})"
        if choice == 6:
            return f"{self.pick(['max', 'min'])}({a()}, {a()}{', ' + a() if self.chance(0.4) else ''})"
        if choice == 7:
            return f"tonumber({q(self.pick(['12', '-3.5', '0.1', '1e2', '007', '2.50']))})"
        if choice == 8:
            return f"-{a()}"
        if choice == 9:
            return f"({self.boolean(scope, depth)} ? {a()} : {a()})"
        if choice == 10:
            return self.integer(scope, depth)
        return f"lookup({self.of(MN, scope, depth)}, {q(self.pick(KEYS))}, {a()})"

    def boolean(self, scope: Scope, depth: int) -> str:
        if self.leaf(depth):
            return self.pick(["true", "false"])
        choice = self.rng.randrange(12)
        if choice == 0:
            op = self.pick(["==", "!="])
            type_ = self.pick([S, N, B, LS, MS])
            return f"({self.of(type_, scope, depth)} {op} {self.of(type_, scope, depth)})"
        if choice == 1:
            return f"({self.of(N, scope, depth)} {self.pick(['<', '>', '<=', '>='])} {self.of(N, scope, depth)})"
        if choice == 2:
            return f"({self.of(B, scope, depth)} {self.pick(['&&', '||'])} {self.of(B, scope, depth)})"
        if choice == 3:
            return f"!{self.of(B, scope, depth)}"
        if choice == 4:
            return f"contains({self.of(LS, scope, depth)}, {self.of(S, scope, depth)})"
        if choice == 5:
            return f"{self.pick(['startswith', 'endswith'])}({self.of(S, scope, depth)}, {q(self.pick(['a', 'x', '', 'A', 'c']))})"
        if choice == 6:
            return f"can(regex({self.pick(RE_PATTERNS)}, {self.of(S, scope, depth)}))"
        if choice == 7:
            return f"tobool({self.pick(['true', 'false', q('true'), q('false')])})"
        if choice == 8:
            return f"({self.of(S, scope, depth)} == {q(self.pick(STRINGS))})"
        if choice == 9:
            return f"can({self.of(MS, scope, depth)}[{q(self.pick(KEYS))}])"
        if choice == 10:
            return f"({self.of(B, scope, depth)} ? {self.of(B, scope, depth)} : {self.of(B, scope, depth)})"
        return f"(length({self.of(LS, scope, depth)}) > {self.pick(INTEGERS)})"

    def string(self, scope: Scope, depth: int) -> str:
        if self.leaf(depth):
            return q(self.pick(STRINGS))
        choice = self.rng.randrange(22)
        s = lambda: self.of(S, scope, depth)  # noqa: E731
        if choice == 0:
            parts = [self.pick([f"${{{s()}}}", f"${{{self.of(N, scope, depth)}}}", f"${{{self.of(B, scope, depth)}}}",
                                self.pick(STRINGS)]) for _ in range(self.rng.randint(1, 3))]
            return q("-".join(parts))
        if choice == 1:
            return q(f"%{{if {self.of(B, scope, depth)}}}{self.pick(STRINGS)}%{{else}}${{{s()}}}%{{endif}}")
        if choice == 2:
            strip = self.pick(["", "~"])
            return q(f"%{{for x in {self.of(LS, scope, depth)}{strip}}} ${{x}}, %{{{strip}endfor}}")
        if choice == 3:
            return f"lower({s()})"
        if choice == 4:
            return f"{self.pick(['lower', 'upper', 'title', 'trimspace'])}({s()})"
        if choice == 5:
            return f"{self.pick(['trimprefix', 'trimsuffix', 'trim'])}({s()}, {q(self.pick(['a', '-', ' ', 'ab', 'c']))})"
        if choice == 6:
            fmt = self.pick(['"%s-%d"', '"%v|%v"', '"%05d:%s"', '"%.2f %s"', '"%q %d"', '"%x %s"', '"%t %s"'])
            if fmt == '"%s-%d"':
                return f"format({fmt}, {s()}, {self.integer(scope, depth)})"
            if fmt == '"%v|%v"':
                return f"format({fmt}, {s()}, {self.of(N, scope, depth)})"
            if fmt == '"%05d:%s"':
                return f"format({fmt}, {self.integer(scope, depth)}, {s()})"
            if fmt == '"%.2f %s"':
                return f"format({fmt}, {self.of(N, scope, depth)}, {s()})"
            if fmt == '"%t %s"':
                return f"format({fmt}, {self.of(B, scope, depth)}, {s()})"
            if fmt == '"%x %s"':
                return f"format({fmt}, {self.integer(scope, depth)}, {s()})"
            return f"format({fmt}, {s()}, {self.integer(scope, depth)})"
        if choice == 7:
            return f"join({q(self.pick([',', '-', '', ' / ']))}, {self.of(LS, scope, depth)})"
        if choice == 8:
            return f"replace({s()}, {q(self.pick(['a', '-', ' ', 'ab']))}, {q(self.pick(['', 'X', '$$']))})"
        if choice == 9:
            pattern = self.pick(['"/[aeiou]/"', '"/(\\\\w)(\\\\w)/"', '"/^\\\\s+|\\\\s+$/"', '"/[A-Z]+/"'])
            return f"replace({s()}, {pattern}, {q(self.pick(['', '-', '$2$1', '$${1}x']))})"
        if choice == 10:
            return f"substr({s()}, {self.pick(['0', '1'])}, {self.pick(['-1', '0', '2', '5'])})"
        if choice == 11:
            return f"tostring({self.of(self.pick([N, B, S]), scope, depth)})"
        if choice == 12:
            return f"jsonencode({self.of(self.pick(TYPES), scope, depth)})"
        if choice == 13:
            return f"lookup({self.of(MS, scope, depth)}, {q(self.pick(KEYS))}, {s()})"
        if choice == 14:
            return f"coalesce({self.pick([q(''), 'null', s()])}, {s()})"
        if choice == 15:
            return f"({self.of(B, scope, depth)} ? {s()} : {s()})"
        if choice == 16:
            return f"element({self.list_literal(S, scope, depth)}, abs({self.integer(scope, depth)}))"
        if choice == 17:
            return f"try({self.of(MS, scope, depth)}[{q(self.pick(KEYS))}], {s()})"
        if choice == 18:
            return f"try(regex({self.pick(RE_PATTERNS)}, {s()}), {q('none')})" if self.chance(0.5) else \
                f"jsonencode(regexall({self.pick(RE_PATTERNS)}, {s()}))"
        if choice == 19:
            return f"{self.of(OBJ, scope, depth)}.name"
        if choice == 20:
            return f"one({self.pick(['[' + s() + ']', 'tolist([' + s() + '])'])})"
        return self.pick(OTHER_FUNCTIONS)

    def heredoc(self, scope: Scope, depth: int) -> str:
        indent = self.chance(0.5)
        marker = "<<-EOT" if indent else "<<EOT"
        pad = "    " if indent else ""
        lines = [f"{pad}first ${{{self.of(S, scope, depth)}}}", f"{pad}{'  ' if self.chance(0.5) else ''}second $${{x}}",
                 f"{pad}%{{if {self.of(B, scope, depth)}}}yes%{{endif}}"]
        return marker + "\n" + "\n".join(lines) + "\n" + ("  " if indent else "") + "EOT\n"

    # ---- collections

    def list_literal(self, type_: str, scope: Scope, depth: int) -> str:
        items = [self.of(type_, scope, depth) for _ in range(self.rng.randint(1, 4))]
        return "[" + ", ".join(items) + "]"

    def list_string(self, scope: Scope, depth: int) -> str:
        if self.leaf(depth):
            return "[" + ", ".join(q(self.pick(STRINGS)) for _ in range(self.rng.randint(0, 4))) + "]"
        choice = self.rng.randrange(16)
        ls = lambda: self.of(LS, scope, depth)  # noqa: E731
        if choice == 0:
            return self.list_literal(S, scope, depth)
        if choice == 1:
            return f"concat({ls()}, {ls()})"
        if choice == 2:
            return f"{self.pick(['distinct', 'compact', 'reverse', 'sort'])}({ls()})"
        if choice == 3:
            return f"sort({self.of(LN, scope, depth)})"
        if choice == 4:
            cond = f" if {self.pick(FILTERS)}" if self.chance(0.5) else ""
            return f"[for x in {ls()} : {self.pick(MAPPINGS)}{cond}]"
        if choice == 5:
            return f"[for i, x in {ls()} : \"${{i}}=${{x}}\"]"
        if choice == 6:
            return f"keys({self.of(self.pick([MS, MN]), scope, depth)})"
        if choice == 7:
            return f"values({self.of(MS, scope, depth)})"
        if choice == 8:
            return f"split({q(self.pick([',', '-', '/', '.']))}, {self.of(S, scope, depth)})"
        if choice == 9:
            return f"tolist(toset({ls()}))"
        if choice == 10:
            return f"{self.of(LOBJ, scope, depth)}[*].name"
        if choice == 11:
            return f"flatten([{ls()}, [{ls()}]])"
        if choice == 12:
            return f"[for k, v in {self.of(MS, scope, depth)} : \"${{k}}:${{v}}\"]"
        if choice == 13:
            return f"({self.of(B, scope, depth)} ? {ls()} : {ls()})"
        if choice == 14:
            return f"coalescelist({ls()}, {self.list_literal(S, scope, depth)})"
        return f"[for o in {self.of(LOBJ, scope, depth)} : o.name if o.on]"

    def list_number(self, scope: Scope, depth: int) -> str:
        if self.leaf(depth):
            return "[" + ", ".join(self.pick(NUMBERS) for _ in range(self.rng.randint(0, 4))) + "]"
        choice = self.rng.randrange(8)
        ln = lambda: self.of(LN, scope, depth)  # noqa: E731
        if choice == 0:
            return self.list_literal(N, scope, depth)
        if choice == 1:
            return f"range({self.pick(['0', '3', '5', '1, 4', '10, 0, -3', '0, 1, 0.25'])})"
        if choice == 2:
            return f"[for x in {ln()} : x * {self.pick(['2', '0.5', '-1'])}]"
        if choice == 3:
            return f"distinct({ln()})"
        if choice == 4:
            return f"values({self.of(MN, scope, depth)})"
        if choice == 5:
            return f"{self.of(LOBJ, scope, depth)}[*].size"
        if choice == 6:
            return f"tolist(toset({ln()}))"
        return f"reverse({ln()})"

    def map_string(self, scope: Scope, depth: int) -> str:
        if self.leaf(depth):
            keys = self.rng.sample(KEYS, self.rng.randint(0, 4))
            return "{" + ", ".join(f"{q(k)} = {q(self.pick(STRINGS))}" for k in keys) + "}"
        choice = self.rng.randrange(9)
        ms = lambda: self.of(MS, scope, depth)  # noqa: E731
        if choice == 0:
            keys = self.rng.sample(KEYS, self.rng.randint(1, 4))
            return "{\n" + "\n".join(f"    {k if k.isidentifier() else q(k)} = {self.of(S, scope, depth)}" for k in keys) + "\n  }"
        if choice == 1:
            return f"merge({ms()}, {ms()})"
        if choice == 2:
            return f"{{for k, v in {ms()} : k => \"${{v}}-${{k}}\"}}"
        if choice == 3:
            return f"{{for x in distinct({self.of(LS, scope, depth)}) : x => upper(x)}}"
        if choice == 4:
            return f"{{for k, v in {{for o in {self.of(LOBJ, scope, depth)} : o.name => o.name...}} : k => join(\",\", v)}}"
        if choice == 5:
            return f"tomap({ms()})"
        if choice == 6:
            return f"{self.of(OBJ, scope, depth)}.tags"
        if choice == 7:
            return f"({self.of(B, scope, depth)} ? {ms()} : {ms()})"
        return f"{{for k, v in {self.of(MN, scope, depth)} : k => tostring(v) if v > 1}}"

    def list_literal_of_keys(self) -> str:
        return "[" + ", ".join(q(k) for k in self.rng.sample(KEYS, 2)) + "]"

    def map_number(self, scope: Scope, depth: int) -> str:
        if self.leaf(depth):
            keys = self.rng.sample(KEYS, self.rng.randint(0, 4))
            return "{" + ", ".join(f"{q(k)} = {self.pick(NUMBERS)}" for k in keys) + "}"
        choice = self.rng.randrange(6)
        mn = lambda: self.of(MN, scope, depth)  # noqa: E731
        if choice == 0:
            keys = self.rng.sample(KEYS, self.rng.randint(1, 3))
            return "{" + ", ".join(f"{q(k)} = {self.of(N, scope, depth)}" for k in keys) + "}"
        if choice == 1:
            return f"merge({mn()}, {mn()})"
        if choice == 2:
            return f"{{for k, v in {mn()} : k => v * 2}}"
        if choice == 3:
            return f"zipmap({self.list_literal_of_keys()}, [{self.of(N, scope, depth)}, {self.of(N, scope, depth)}])"
        if choice == 4:
            return f"{{for k, v in {{for o in {self.of(LOBJ, scope, depth)} : o.name => o.size...}} : k => length(v)}}"
        return f"{{for i, x in distinct({self.of(LS, scope, depth)}) : x => i}}"

    def obj(self, scope: Scope, depth: int) -> str:
        if self.chance(0.3):
            return f"({self.of(B, scope, depth)} ? {self.obj_literal(scope, depth)} : {self.obj_literal(scope, depth)})"
        return self.obj_literal(scope, depth)

    def obj_literal(self, scope: Scope, depth: int) -> str:
        return (f"{{ name = {self.of(S, scope, depth)}, size = {self.of(N, scope, depth)}, "
                f"on = {self.of(B, scope, depth)}, tags = {self.of(MS, scope, depth + 1)} }}")

    def list_obj(self, scope: Scope, depth: int) -> str:
        if self.chance(0.5) or depth > 2:
            return "[" + ", ".join(self.obj_literal(scope, depth + 1) for _ in range(self.rng.randint(1, 3))) + "]"
        return f"[for i, x in {self.of(LS, scope, depth)} : {{ name = x, size = i, on = i % 2 == 0, tags = {{}} }}]"


# ---- whole configurations ------------------------------------------------------------------------------

OBJECT_TYPE = "object({ name = string, size = optional(number, 3), on = optional(bool, true), tags = optional(map(string), {}) })"
ATTRIBUTES = [f"a{i}" for i in range(10)]


@dataclass
class Item:
    """One block of main.tf (and the lines it takes there), or a file of its own: a .tf.json resource or local,
    an override file. ``amends``: the item an override changes, which it goes with."""

    address: str
    text: str
    first: int = 0
    last: int = 0
    file: str = "main.tf"
    amends: str | None = None


@dataclass
class Configuration:
    name: str
    files: dict[str, str]  # path relative to the root -> text (main.tf is made from the items)
    items: list[Item]
    variables: list[str]  # -var NAME=VALUE
    var_files: list[str]  # -var-file, relative to the root
    environ: dict[str, str]  # TF_VAR_ values
    spec: dict  # the stand-in's schema

    def main_tf(self) -> str:
        lines: list[str] = []
        for item in self.items:
            if item.file != "main.tf":
                continue
            item.first = len(lines) + 1
            lines.extend(item.text.rstrip("\n").split("\n"))
            item.last = len(lines)
            lines.append("")
        return "\n".join(lines) + "\n"

    def item_files(self) -> dict[str, str]:
        """The items written to files of their own."""
        return {item.file: item.text for item in self.items if item.file != "main.tf"}

    def without(self, item: Item) -> list[Item]:
        """Leaves out ``item`` and every item that refers to it or amends it, however indirectly; returns them."""
        gone = [item]
        self.items.remove(item)
        todo = [item]
        while todo:
            name = todo.pop().address
            for other in list(self.items):
                if other.amends == name or re.search(re.escape(name) + r"(?![\w-])", other.text):
                    self.items.remove(other)
                    gone.append(other)
                    todo.append(other)
        return gone

    def blame(self, file: str | None, line: int | None) -> Item | None:
        for item in self.items:
            if item.file != "main.tf" and file == item.file:
                return item
            if file == "main.tf" and item.file == file and line is not None and item.first <= line <= item.last:
                return item
        return None


def _spec() -> dict:
    item = {"attributes": {"x": "optional", "y": "optional", "z": "optional"},
            "blocks": {"sub": {"attributes": {"x": "optional"}}}}
    value = {"attributes": {name: "optional" for name in ATTRIBUTES}, "blocks": {"item": item}}
    return {"provider": {}, "resources": {"oracle_value": value}, "data_sources": {}}


def configuration(seed: int, resources: int) -> Configuration:
    """A root module with variables given every way, locals, a child module called with count, for_each and
    neither, and ``resources`` generated resources."""
    rng = random.Random(seed)
    gen = Expressions(rng)
    scope = Scope()
    files: dict[str, str] = {}
    variables, var_files, environ = _variables(rng, gen, files, scope)
    files["locals.tf"], local_types = _locals(gen, scope)
    files["modules/child/main.tf"] = CHILD_MODULE
    items = _module_calls(gen, scope)
    features = iaclint_reads()
    inputs_only = Scope({type_: [r for r in refs if r.startswith("var.")] for type_, refs in scope.refs.items()})
    overrides = _variable_overrides(gen, features) + _local_overrides(gen, inputs_only, local_types, features)
    plain: dict[str, dict[str, str]] = {}  # resource -> attribute -> type, of resources without count or for_each
    for i in range(resources):
        items.append(_resource(gen, scope, f"r{i}", plain))
        if i % 10 == 4:
            items.append(_json_local(gen, scope, f"lj{i}"))
        if i % 10 == 7:
            items.append(_json_resource(gen, scope, f"j{i}", features))
    for name in gen.rng.sample(sorted(plain), min(len(plain), max(1, resources // 12))):
        overrides.append(_resource_override(gen, inputs_only, name, plain[name], features))  # no cycles
    return Configuration(f"generated-{seed}", files, items + overrides, variables, var_files, environ, _spec())


# ---- JSON syntax and override files --------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def iaclint_reads() -> frozenset[str]:
    """Which override and JSON forms this iaclint reads as Terraform does, found by asking it: a form it does
    not read is not generated (the report names it), so the suite tests what is built and grows with it."""
    import tempfile
    from pathlib import Path

    from iaclint.graph.hcl import build_hcl_graph
    from iaclint.graph.inputs import collect_inputs

    files = {
        "main.tf": 'variable "v" {\n  default = "base"\n}\nlocals {\n  l = "base"\n}\n'
                   'resource "oracle_value" "r" {\n  a0 = local.l\n  a1 = var.v\n  item {\n    x = "base"\n  }\n}\n',
        "o_override.tf": 'variable "v" {\n  default = "over"\n}\nlocals {\n  l = "over"\n}\n'
                         'resource "oracle_value" "r" {\n  item {\n    x = "over"\n  }\n}\n',
        "j.tf.json": json.dumps({"resource": {"oracle_value": {"j": {"item": [{"x": "a"}, {"x": "b"}]}}}}),
    }
    with tempfile.TemporaryDirectory(prefix="iaclint-oracle-probe-") as folder:
        root = Path(folder)
        for name, text in files.items():
            (root / name).write_text(text)
        graph = build_hcl_graph(root, collect_inputs(root, [], []))
        r, j = graph.resource("oracle_value.r"), graph.resource("oracle_value.j")
        items, _ = r.nested("item")
        json_items, _ = j.nested("item")
        found = {"override_locals": r.attr("a0").value.raw == "over",
                 "override_variables": r.attr("a1").value.raw == "over",
                 "override_blocks": [b.attr("x").value.raw for b in items] == ["over"],
                 "json_blocks": [b.attr("x").value.raw for b in json_items] == ["a", "b"]}
    return frozenset(name for name, yes in found.items() if yes)


FEATURES = ("override_locals", "override_variables", "override_blocks", "json_blocks")


def _template(expression: str) -> str:
    """An expression as a JSON syntax string: one interpolation, whose value is the expression's own."""
    return "${" + expression + "}"


def _json_local(gen: Expressions, scope: Scope, name: str) -> Item:
    type_ = gen.pick(TYPES)
    text = json.dumps({"locals": {name: _template(gen.of(type_, scope, 1))}}, indent=2, ensure_ascii=False)
    scope.add(type_, f"local.{name}")
    return Item(f"local.{name}", text + "\n", file=f"{name}.tf.json")


def _json_block(gen: Expressions, scope: Scope) -> dict:
    block = {"x": _template(gen.of(S, scope, 1))}
    if gen.chance(0.5):
        block["sub"] = {"x": _template(gen.of(N, scope, 1))} if gen.chance(0.5) else [{"x": 1}, {"x": 2.5}]
    return block


def _json_resource(gen: Expressions, scope: Scope, name: str, features: set[str]) -> Item:
    """A resource in JSON syntax: attributes as templates, literal JSON values (whose strings are templates
    too), and nested blocks as an object or an array of objects."""
    body: dict = {}
    if gen.chance(0.3):
        body["count"] = gen.pick([2, "${length(var.v_ls)}"])
    types_, typed = {}, []
    for attribute in gen.rng.sample(ATTRIBUTES, gen.rng.randint(3, 6)):
        type_ = gen.pick(TYPES)
        types_[attribute] = type_
        if gen.chance(0.2):
            body[attribute] = gen.pick([3, 2.5, True, None, ["a", "${var.v_s}", 1], {"k": "v-${var.v_s}", "n": 1},
                                        "plain %%{not} $${not}", "${var.v_n} and ${var.v_b}"])
        else:
            body[attribute] = _template(gen.of(type_, scope, 1))
            typed.append(attribute)
    if "json_blocks" in features and gen.chance(0.6):
        blocks = [_json_block(gen, scope) for _ in range(gen.rng.randint(1, 3))]
        body["item"] = blocks[0] if len(blocks) == 1 and gen.chance(0.5) else blocks
    text = json.dumps({"resource": {"oracle_value": {name: body}}}, indent=2, ensure_ascii=False)
    if "count" not in body:
        for attribute in typed:
            scope.add(types_[attribute], f"oracle_value.{name}.{attribute}")
    return Item(f"oracle_value.{name}", text + "\n", file=f"{name}.tf.json")


def _resource_override(gen: Expressions, scope: Scope, name: str, types_: dict[str, str],
                       features: set[str]) -> Item:
    """An override file for a resource, in native or JSON syntax: some of its arguments replaced (of the same
    type, so what refers to them still plans), and, where iaclint reads it, its item blocks replaced."""
    chosen = gen.rng.sample(sorted(types_), min(len(types_), gen.rng.randint(1, 2)))
    arguments = {attribute: gen.of(types_[attribute], scope, 1) for attribute in chosen}
    block = gen.of(S, scope, 1) if "override_blocks" in features and gen.chance(0.5) else None
    if gen.chance(0.3):
        body: dict = {attribute: _template(expression) for attribute, expression in arguments.items()}
        if block is not None:
            body["item"] = {"x": _template(block)}
        file = f"{name}_override.tf.json"
        text = json.dumps({"resource": {"oracle_value": {name: body}}}, indent=2, ensure_ascii=False) + "\n"
    else:
        lines = [f'resource "oracle_value" "{name}" {{'] + [f"  {a} = {e}" for a, e in arguments.items()]
        if block is not None:
            lines += ["  item {", f"    x = {block}", "  }"]
        file = gen.pick([f"o_{name}_override.tf", "override.tf" if name == "r0" else f"{name}_override.tf"])
        text = "\n".join(lines + ["}"]) + "\n"
    return Item(f"override:oracle_value.{name}", text, file=file, amends=f"oracle_value.{name}")


def _variable_overrides(gen: Expressions, features: set[str]) -> list[Item]:
    if "override_variables" not in features:
        return []
    default = gen.pick(['["z", "a", "z"]', '["only"]', "[]"])
    return [Item("override:var.v_set", f'variable "v_set" {{\n  default = {default}\n}}\n',
                 file="variables_override.tf")]


def _local_overrides(gen: Expressions, scope: Scope, local_types: dict[str, str], features) -> list[Item]:
    """Some locals given another value (of the same type) by an override file."""
    if "override_locals" not in features:
        return []
    chosen = gen.rng.sample(sorted(local_types), 2)
    lines = ["locals {"] + [f"  {name} = {gen.of(local_types[name], scope, 1)}" for name in chosen] + ["}"]
    return [Item("override:locals", "\n".join(lines) + "\n", file="locals_override.tf")]


def _variables(rng: random.Random, gen: Expressions, files: dict, scope: Scope):
    declared = {
        "v_s": (S, "string", q(gen.pick(STRINGS))),
        "v_n": (N, "number", None),
        "v_b": (B, "bool", "false"),
        "v_ls": (LS, "list(string)", '["x", "y"]'),
        "v_ln": (LN, "list(number)", None),
        "v_ms": (MS, "map(string)", "{}"),
        "v_mn": (MN, "map(number)", '{ a = 1, "b c" = 2.5 }'),
        "v_obj": (OBJ, OBJECT_TYPE, '{ name = "given" }'),
        "v_objs": (LOBJ, f"list({OBJECT_TYPE})", '[{ name = "a" }, { name = "b", size = 5, on = false }, { name = "a", tags = { k = "v" } }]'),
        "v_nested": (None, "object({ inner = optional(object({ deep = optional(string, \"d\"), n = optional(number) }), {}), list = optional(list(string), []) })",
                     "{}"),
        "v_set": (None, "set(string)", '["b", "a", "b", "C"]'),
        "v_any": (None, "any", '{ k = [1, "two", true] }'),
        "v_env": (S, "string", '"from default"'),
        "v_untyped": (None, None, '"5"'),
    }
    text = []
    for name, (kind, type_text, default) in declared.items():
        lines = [f'variable "{name}" {{']
        if type_text:
            lines.append(f"  type = {type_text}")
        if default is not None:
            lines.append(f"  default = {default}")
        lines.append("}")
        text.append("\n".join(lines))
        if kind:
            scope.add(kind, f"var.{name}")
    files["variables.tf"] = "\n\n".join(text) + "\n"
    scope.add(S, "var.v_nested.inner.deep")
    scope.add(LS, "var.v_nested.list")
    scope.add(S, "jsonencode(var.v_nested)")
    scope.add(LS, "tolist(var.v_set)")
    scope.add(S, "jsonencode(var.v_set)")
    scope.add(S, "jsonencode(var.v_any)")
    scope.add(N, "var.v_untyped + 1")
    scope.add(S, "jsonencode(var.v_objs)")
    scope.add(N, "var.v_objs[1].size")
    scope.add(B, "var.v_obj.on")
    files["terraform.tfvars"] = f'v_s = {q(gen.pick(STRINGS))}\nv_ms = {{ a = "from tfvars", "k-1" = "x" }}\nv_b = true\n'
    files["b.auto.tfvars"] = 'v_ls = ["auto", "b", "auto"]\nv_b = "false"\n'
    files["a.auto.tfvars.json"] = json.dumps({"v_ls": ["json", "first"], "v_mn": {"j": 3}}) + "\n"
    files["extra.tfvars"] = 'v_ln = ["1", 2, "3.5"]\nv_objs = [{ name = "z", size = "7" }, { name = "y", on = "false" }]\n'
    variables = [f"v_n={gen.pick(['7', '-2', '1.5', '0'])}", 'v_obj={ name = "cli", tags = { a = "b" } }',
                 "v_untyped=5"]
    environ = {"TF_VAR_v_env": "from environment", "TF_VAR_v_s": "environment loses to tfvars"}
    return variables, ["extra.tfvars"], environ


def _locals(gen: Expressions, scope: Scope) -> tuple[str, dict[str, str]]:
    """locals.tf, and each local's type."""
    lines, types_ = ["locals {"], {}
    for i in range(8):
        type_ = gen.pick(TYPES)
        lines.append(f"  l{i} = {gen.of(type_, scope)}")
        scope.add(type_, f"local.l{i}")
        types_[f"l{i}"] = type_
    lines.append("}")
    return "\n".join(lines) + "\n", types_


CHILD_MODULE = '''variable "name" {
  type = string
}

variable "size" {
  type    = number
  default = 1
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "cfg" {
  type = object({ enabled = optional(bool, true), label = optional(string, "lbl"), extra = optional(list(number), [1]) })
  default = {}
}

locals {
  label = "${var.name}-${var.cfg.label}"
  sizes = [for i in range(var.size) : i * 2]
}

resource "oracle_value" "inner" {
  count = var.size % 3
  a0    = "${local.label}-${count.index}"
  a1    = merge(var.tags, { index = tostring(count.index) })
  a2    = var.cfg.enabled ? local.sizes : []
  a3    = var.cfg
  a4    = path.module
}

resource "oracle_value" "each" {
  for_each = var.tags
  a0       = "${each.key}=${each.value}"
  a1       = upper(each.key)
}

output "label" {
  value = local.label
}

output "size" {
  value = var.size
}

output "names" {
  value = oracle_value.inner[*].a0
}

output "cfg" {
  value = var.cfg
}
'''


def _module_calls(gen: Expressions, scope: Scope) -> list[Item]:
    items = [
        Item("module.counted", 'module "counted" {\n  source = "./modules/child"\n  count  = 2\n'
             '  name   = "c${count.index}"\n  size   = count.index + 3\n  cfg    = { label = "L${count.index}" }\n}'),
        Item("module.each", 'module "each" {\n  source   = "./modules/child"\n  for_each = { a = 1, b = 2 }\n'
             '  name     = each.key\n  size     = each.value\n  tags     = { k = each.key }\n'
             '  cfg      = { enabled = each.value > 1 }\n}'),
        Item("module.one", f'module "one" {{\n  source = "./modules/child"\n  name   = {gen.of(S, scope)}\n'
             f'  tags   = {gen.of(MS, scope)}\n  cfg    = {{ extra = [1, 2] }}\n}}'),
    ]
    scope.add(S, "module.one.label")
    scope.add(N, "module.counted[1].size")
    scope.add(S, 'module.each["b"].label')
    scope.add(LS, "module.counted[*].label")
    scope.add(LS, "module.one.names")
    scope.add(LS, 'module.each["a"].names')
    scope.add(B, "module.one.cfg.enabled")
    scope.add(S, 'module.counted[0].cfg.label')
    return items


def _resource(gen: Expressions, scope: Scope, name: str, plain: dict) -> Item:
    inner = scope.child()
    head = []
    expansion = gen.rng.random()
    if expansion < 0.15:
        head.append(f"  count = {gen.pick(['0', '1', '2', '3', 'length(var.v_ls)', 'var.v_b ? 2 : 1', 'min(3, length(local.l0 == null ? [] : [1]))'])}")
        inner.add(N, "count.index")
        inner.add(S, '"n${count.index}"')
    elif expansion < 0.3:
        head.append(f"  for_each = {gen.pick(['toset(var.v_ls)', 'var.v_ms', '{ x = 1, y = 2 }', 'toset([for o in var.v_objs : o.name])', 'var.v_set', '{ for k, v in var.v_mn : k => v if v > 1 }'])}")
        inner.add(S, "each.key")
        inner.add(S, "tostring(each.value)")
    lines = [f'resource "oracle_value" "{name}" {{'] + head
    types_ = {}
    for attribute in gen.rng.sample(ATTRIBUTES, gen.rng.randint(3, 7)):
        type_ = gen.pick(TYPES)
        types_[attribute] = type_
        value = gen.heredoc(inner, 1) if type_ == S and gen.chance(0.1) else gen.of(type_, inner)
        lines.append(f"  {attribute} = {value}")
    if gen.chance(0.25):
        lines += _dynamic_block(gen, inner)
    elif gen.chance(0.15):
        lines += ["  item {", f"    x = {gen.of(S, inner)}", f"    y = {gen.of(gen.pick(TYPES), inner)}",
                  "    sub {", f"      x = {gen.of(N, inner)}", "    }", "  }",
                  "  item {", f"    z = {gen.of(LS, inner)}", "  }"]
    lines.append("}")
    if not head:
        plain[name] = types_
    for attribute, type_ in types_.items():
        if not head:
            scope.add(type_, f"oracle_value.{name}.{attribute}")
        elif type_ == S:
            scope.add(LS, f"oracle_value.{name}[*].{attribute}" if "count" in head[0] else
                      f"[for k, v in oracle_value.{name} : v.{attribute}]")
    return Item(f"oracle_value.{name}", "\n".join(lines))


def _dynamic_block(gen: Expressions, scope: Scope) -> list[str]:
    iterator = gen.pick(["item", "it"])
    source = gen.pick([("var.v_objs", "obj"), (gen.of(LS, scope), "s"), (gen.of(MS, scope), "s"),
                       ('{ for o in var.v_objs : o.name => o... }', "group"), ("var.v_set", "s")])
    inner = scope.child()
    inner.add(S, f"tostring({iterator}.key)")
    if source[1] == "obj":
        inner.add(S, f"{iterator}.value.name")
        inner.add(N, f"{iterator}.value.size")
        inner.add(MS, f"{iterator}.value.tags")
    elif source[1] == "group":
        inner.add(N, f"length({iterator}.value)")
    else:
        inner.add(S, f"{iterator}.value")
    head = f'  dynamic "item" {{\n    for_each = {source[0]}'
    if iterator != "item":
        head += f"\n    iterator = {iterator}"
    return [head, "    content {", f"      x = {gen.of(S, inner)}", f"      y = {gen.of(gen.pick(TYPES), inner)}",
            "    }", "  }"]
