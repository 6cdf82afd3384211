"""A small HCL syntax tree with a span on every node.

Positions are what findings and fixes are made of, so iaclint builds this tree itself, from
tree-sitter-hcl's tree (tsparse.py) or python-hcl2's raw Lark tree (larkparse.py); the two agree node
for node. Nodes have slots: a large configuration has millions of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Union

from iaclint.model import Span


@dataclass(eq=False, slots=True)
class Node:
    """Every node knows its span: findings and fixes are made of spans."""

    span: Span


# ---- expressions ---------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Literal(Node):
    """A number, bool or null; or an object key written as a bare word."""

    value: Any  # None, bool, int, float or str


@dataclass(eq=False, slots=True)
class Template(Node):
    """A quoted string or heredoc: literal text parts and interpolated expressions."""

    parts: list[Union[str, "Expr"]]
    heredoc: bool = False

    @property
    def is_literal(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    @property
    def literal(self) -> str:
        return "".join(p for p in self.parts if isinstance(p, str))


@dataclass(eq=False, slots=True)
class Unsupported(Node):
    """A construct iaclint does not evaluate (template directives, provider functions)."""

    reason: str


@dataclass(eq=False, slots=True)
class TupleExpr(Node):
    """[a, b, ...]"""

    items: list["Expr"]


@dataclass(eq=False, slots=True)
class ObjectItem:
    """One `key = value` of an object constructor."""

    key: "Expr"  # a bare word key is a Literal of the word (both parsers turn the Variable into one)
    value: "Expr"
    span: Span


@dataclass(eq=False, slots=True)
class ObjectExpr(Node):
    """{ key = value, ... }"""

    items: list[ObjectItem]


@dataclass(eq=False, slots=True)
class Variable(Node):
    """The root of a traversal: var, local, aws_kms_key, each, count, module, data, a for variable."""

    name: str


@dataclass(eq=False, slots=True)
class GetAttr(Node):
    """target.name"""

    target: "Expr"
    name: str


@dataclass(eq=False, slots=True)
class Index(Node):
    """target[key], or target.0"""

    target: "Expr"
    key: "Expr"


@dataclass(eq=False, slots=True)
class Splat(Node):
    """target[*].a.b or target.*.a: steps are ("attr", name) or ("index", expr)."""

    target: "Expr"
    steps: list[tuple[str, Any]]


@dataclass(eq=False, slots=True)
class Call(Node):
    """A function call; ``expand_final`` is the trailing `...`."""

    name: str
    args: list["Expr"]
    expand_final: bool = False


@dataclass(eq=False, slots=True)
class Conditional(Node):
    """condition ? true_expr : false_expr"""

    condition: "Expr"
    true_expr: "Expr"
    false_expr: "Expr"


@dataclass(eq=False, slots=True)
class BinaryOp(Node):
    """left op right"""

    op: str
    left: "Expr"
    right: "Expr"


@dataclass(eq=False, slots=True)
class UnaryOp(Node):
    """-x or !x"""

    op: str
    operand: "Expr"


@dataclass(eq=False, slots=True)
class Paren(Node):
    """(inner): kept so fixes can see the parentheses."""

    inner: "Expr"


@dataclass(eq=False, slots=True)
class ForExpr(Node):
    """[for ...] or {for ...}; ``grouping`` is the `...` of an object for."""

    key_var: str | None
    value_var: str
    collection: "Expr"
    key_expr: "Expr | None"  # None for a tuple-producing for
    value_expr: "Expr"
    condition: "Expr | None"
    grouping: bool = False


Expr = Union[
    Literal, Template, Unsupported, TupleExpr, ObjectExpr, Variable, GetAttr, Index, Splat, Call,
    Conditional, BinaryOp, UnaryOp, Paren, ForExpr,
]


# ---- structure -----------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Attribute(Node):
    """name = expr"""

    name: str
    name_span: Span
    expr: Expr


@dataclass(eq=False, slots=True)
class Block(Node):
    """type "label" ... { body }, with its brace offsets for insertions."""

    type: str
    labels: list[str]
    body: "Body"
    open_brace: int  # offset of "{"
    close_brace: int  # offset of "}"
    header_span: Span = field(default=None)  # type and labels, for locating findings

    def attribute(self, name: str) -> Attribute | None:
        return self.body.attribute(name)

    def blocks(self, type_name: str) -> list["Block"]:
        return [b for b in self.body.items if isinstance(b, Block) and b.type == type_name]


@dataclass(eq=False, slots=True)
class Body(Node):
    """The attributes and blocks of a file or a block, in order."""

    items: list[Union[Attribute, Block]]

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
    if hasattr(node, "__dataclass_fields__"):
        return (type(node).__name__,) + tuple((name, dump(getattr(node, name))) for name in node.__dataclass_fields__)
    return node
