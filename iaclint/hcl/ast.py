"""A small HCL syntax tree with a span on every node.

Positions are what findings and fixes are made of, so iaclint builds this tree itself, from
tree-sitter-hcl's tree (tsparse.py) or python-hcl2's raw Lark tree (larkparse.py); the two agree node
for node.
"""

from __future__ import annotations

from typing import Any, Iterator, Union

from iaclint.model import Span


# Nodes are plain classes with slots and written-out __init__ methods, not dataclasses: a large
# configuration has millions of them, and the generated methods of twenty dataclasses cost more at
# start-up (compiled on every run, about 5 ms) than a small run spends checking.


class Node:
    """Every node knows its span: findings and fixes are made of spans. Nodes compare by identity."""

    __slots__ = ("span",)
    _fields: tuple[str, ...] = ("span",)

    def __init__(self, span: Span):
        self.span = span

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({inner})"

    def __reduce__(self):  # the parse cache: fields in __init__ order, smaller and faster than slot dicts
        return (type(self), tuple([getattr(self, name) for name in self._fields]))


# ---- expressions ---------------------------------------------------------------------------


class Literal(Node):
    """A number, bool or null; or an object key written as a bare word."""

    __slots__ = ("value",)
    _fields = ("span", "value")

    def __init__(self, span: Span, value: Any):  # value: None, bool, int, float or str
        self.span = span
        self.value = value


class Template(Node):
    """A quoted string or heredoc: literal text parts and interpolated expressions."""

    __slots__ = ("parts", "heredoc")
    _fields = ("span", "parts", "heredoc")

    def __init__(self, span: Span, parts: list[Union[str, "Expr"]], heredoc: bool = False):
        self.span = span
        self.parts = parts
        self.heredoc = heredoc

    @property
    def is_literal(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    @property
    def literal(self) -> str:
        return "".join(p for p in self.parts if isinstance(p, str))


class Unsupported(Node):
    """A construct iaclint does not evaluate (template directives, provider functions)."""

    __slots__ = ("reason",)
    _fields = ("span", "reason")

    def __init__(self, span: Span, reason: str):
        self.span = span
        self.reason = reason


class TupleExpr(Node):
    """[a, b, ...]"""

    __slots__ = ("items",)
    _fields = ("span", "items")

    def __init__(self, span: Span, items: list["Expr"]):
        self.span = span
        self.items = items


class ObjectItem(Node):
    """One `key = value` of an object constructor. Its span comes last, as the parsers build it."""

    __slots__ = ("key", "value")
    _fields = ("key", "value", "span")

    def __init__(self, key: "Expr", value: "Expr", span: Span):
        # a bare word key is a Literal of the word (both parsers turn the Variable into one)
        self.key = key
        self.value = value
        self.span = span


class ObjectExpr(Node):
    """{ key = value, ... }"""

    __slots__ = ("items",)
    _fields = ("span", "items")

    def __init__(self, span: Span, items: list[ObjectItem]):
        self.span = span
        self.items = items


class Variable(Node):
    """The root of a traversal: var, local, aws_kms_key, each, count, module, data, a for variable."""

    __slots__ = ("name",)
    _fields = ("span", "name")

    def __init__(self, span: Span, name: str):
        self.span = span
        self.name = name


class GetAttr(Node):
    """target.name"""

    __slots__ = ("target", "name")
    _fields = ("span", "target", "name")

    def __init__(self, span: Span, target: "Expr", name: str):
        self.span = span
        self.target = target
        self.name = name


class Index(Node):
    """target[key], or target.0"""

    __slots__ = ("target", "key")
    _fields = ("span", "target", "key")

    def __init__(self, span: Span, target: "Expr", key: "Expr"):
        self.span = span
        self.target = target
        self.key = key


class Splat(Node):
    """target[*].a.b or target.*.a: steps are ("attr", name) or ("index", expr)."""

    __slots__ = ("target", "steps")
    _fields = ("span", "target", "steps")

    def __init__(self, span: Span, target: "Expr", steps: list[tuple[str, Any]]):
        self.span = span
        self.target = target
        self.steps = steps


class Call(Node):
    """A function call; ``expand_final`` is the trailing `...`."""

    __slots__ = ("name", "args", "expand_final")
    _fields = ("span", "name", "args", "expand_final")

    def __init__(self, span: Span, name: str, args: list["Expr"], expand_final: bool = False):
        self.span = span
        self.name = name
        self.args = args
        self.expand_final = expand_final


class Conditional(Node):
    """condition ? true_expr : false_expr"""

    __slots__ = ("condition", "true_expr", "false_expr")
    _fields = ("span", "condition", "true_expr", "false_expr")

    def __init__(self, span: Span, condition: "Expr", true_expr: "Expr", false_expr: "Expr"):
        self.span = span
        self.condition = condition
        self.true_expr = true_expr
        self.false_expr = false_expr


class BinaryOp(Node):
    """left op right"""

    __slots__ = ("op", "left", "right")
    _fields = ("span", "op", "left", "right")

    def __init__(self, span: Span, op: str, left: "Expr", right: "Expr"):
        self.span = span
        self.op = op
        self.left = left
        self.right = right


class UnaryOp(Node):
    """-x or !x"""

    __slots__ = ("op", "operand")
    _fields = ("span", "op", "operand")

    def __init__(self, span: Span, op: str, operand: "Expr"):
        self.span = span
        self.op = op
        self.operand = operand


class Paren(Node):
    """(inner): kept so fixes can see the parentheses."""

    __slots__ = ("inner",)
    _fields = ("span", "inner")

    def __init__(self, span: Span, inner: "Expr"):
        self.span = span
        self.inner = inner


class ForExpr(Node):
    """[for ...] or {for ...}; ``grouping`` is the `...` of an object for."""

    __slots__ = ("key_var", "value_var", "collection", "key_expr", "value_expr", "condition", "grouping")
    _fields = ("span", "key_var", "value_var", "collection", "key_expr", "value_expr", "condition", "grouping")

    def __init__(self, span: Span, key_var: str | None, value_var: str, collection: "Expr",
                 key_expr: "Expr | None", value_expr: "Expr", condition: "Expr | None", grouping: bool = False):
        self.span = span
        self.key_var = key_var
        self.value_var = value_var
        self.collection = collection
        self.key_expr = key_expr  # None for a tuple-producing for
        self.value_expr = value_expr
        self.condition = condition
        self.grouping = grouping


Expr = Union[
    Literal, Template, Unsupported, TupleExpr, ObjectExpr, Variable, GetAttr, Index, Splat, Call,
    Conditional, BinaryOp, UnaryOp, Paren, ForExpr,
]


# ---- structure -----------------------------------------------------------------------------


class Attribute(Node):
    """name = expr"""

    __slots__ = ("name", "name_span", "expr")
    _fields = ("span", "name", "name_span", "expr")

    def __init__(self, span: Span, name: str, name_span: Span, expr: Expr):
        self.span = span
        self.name = name
        self.name_span = name_span
        self.expr = expr


class Block(Node):
    """type "label" ... { body }, with its brace offsets for insertions."""

    __slots__ = ("type", "labels", "body", "open_brace", "close_brace", "header_span")
    _fields = ("span", "type", "labels", "body", "open_brace", "close_brace", "header_span")

    def __init__(self, span: Span, type: str, labels: list[str], body: "Body", open_brace: int,
                 close_brace: int, header_span: Span | None = None):
        self.span = span
        self.type = type
        self.labels = labels
        self.body = body
        self.open_brace = open_brace  # offset of "{"
        self.close_brace = close_brace  # offset of "}"
        self.header_span = header_span  # type and labels, for locating findings

    def attribute(self, name: str) -> Attribute | None:
        return self.body.attribute(name)

    def blocks(self, type_name: str) -> list["Block"]:
        return [b for b in self.body.items if isinstance(b, Block) and b.type == type_name]


class Body(Node):
    """The attributes and blocks of a file or a block, in order."""

    __slots__ = ("items",)
    _fields = ("span", "items")

    def __init__(self, span: Span, items: list[Union[Attribute, Block]]):
        self.span = span
        self.items = items

    def attribute(self, name: str) -> Attribute | None:
        for item in self.items:
            if isinstance(item, Attribute) and item.name == name:
                return item
        return None

    @property
    def attributes(self) -> list[Attribute]:
        return [i for i in self.items if isinstance(i, Attribute)]

    @property
    def blocks(self) -> list[Block]:
        return [i for i in self.items if isinstance(i, Block)]


def children(expr: Expr) -> Iterator[Expr]:
    """Direct sub-expressions, for walks that look for references."""
    if isinstance(expr, Template):
        yield from (p for p in expr.parts if not isinstance(p, str))
    elif isinstance(expr, TupleExpr):
        yield from expr.items
    elif isinstance(expr, ObjectExpr):
        for item in expr.items:
            yield item.key
            yield item.value
    elif isinstance(expr, GetAttr):
        yield expr.target
    elif isinstance(expr, Index):
        yield expr.target
        yield expr.key
    elif isinstance(expr, Splat):
        yield expr.target
        yield from (s[1] for s in expr.steps if s[0] == "index")
    elif isinstance(expr, Call):
        yield from expr.args
    elif isinstance(expr, Conditional):
        yield expr.condition
        yield expr.true_expr
        yield expr.false_expr
    elif isinstance(expr, BinaryOp):
        yield expr.left
        yield expr.right
    elif isinstance(expr, UnaryOp):
        yield expr.operand
    elif isinstance(expr, Paren):
        yield expr.inner
    elif isinstance(expr, ForExpr):
        yield expr.collection
        if expr.key_expr is not None:
            yield expr.key_expr
        yield expr.value_expr
        if expr.condition is not None:
            yield expr.condition



def dump(node: Any) -> Any:
    """A plain, comparable form of a tree (types, values and spans), for the back-end parity checks."""
    if isinstance(node, list):
        return [dump(n) for n in node]
    if isinstance(node, tuple):
        return tuple(dump(n) for n in node)
    if isinstance(node, Span):
        return (node.start, node.end)
    if isinstance(node, Node):
        return (type(node).__name__,) + tuple((name, dump(getattr(node, name))) for name in node._fields)
    return node
