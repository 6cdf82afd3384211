"""A small HCL syntax tree with a span on every node.

Positions are what findings and fixes are made of, so iaclint builds this tree itself, from
tree-sitter-hcl's tree (tsparse.py) or python-hcl2's raw Lark tree (larkparse.py); the two agree node
for node.
"""

from __future__ import annotations

from iaclint.model import Span

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Iterator, Union


# Nodes are plain classes with slots and written-out __init__ methods, not dataclasses: a large
# configuration has millions of them, and the generated methods of twenty dataclasses cost more at
# start-up (compiled on every run, about 5 ms) than a small run spends checking.


class Node:
    """Every node knows its span: findings and fixes are made of spans. Nodes compare by identity.

    A node keeps its position as file, start offset and size, and makes a Span when asked: a large
    file has hundreds of thousands of nodes, and a Span object per node, with its own end offset,
    was a third of the tree's memory (most sizes are small ints, which Python shares).
    """

    __slots__ = ("file", "start", "size")
    _fields: tuple[str, ...] = ("span",)  # the constructor's parameters, in order
    _state: tuple[str, ...] = ()  # the slots besides the position that a pickle carries (_rebuild)

    def __init_subclass__(cls) -> None:
        if "_state" not in cls.__dict__:
            cls._state = tuple(name for name in cls._fields if name != "span")

    def __init__(self, span: Span):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start

    @property
    def span(self) -> Span:
        return Span(self.file, self.start, self.start + self.size)

    @property
    def end(self) -> int:
        return self.start + self.size

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({inner})"

    def __reduce__(self):  # the parse cache: position and state, smaller and faster than slot dicts
        state = tuple([getattr(self, name) for name in self._state])
        return (_rebuild, (type(self), self.file, self.start, self.size) + state)


def _rebuild(cls: type, file: str, start: int, size: int, *state: Any) -> Node:
    """A node from its pickle (Node.__reduce__), without making a Span for it."""
    node = object.__new__(cls)
    node.file, node.start, node.size = file, start, size
    for name, value in zip(cls._state, state):
        setattr(node, name, value)
    return node


# ---- expressions ---------------------------------------------------------------------------


class Literal(Node):
    """A number, bool or null; or an object key written as a bare word."""

    __slots__ = ("value",)
    _fields = ("span", "value")

    def __init__(self, span: Span, value: Any):  # value: None, bool, int, float or str
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.value = value


class Template(Node):
    """A quoted string or heredoc: literal text parts and interpolated expressions."""

    __slots__ = ("parts", "heredoc")
    _fields = ("span", "parts", "heredoc")

    def __init__(self, span: Span, parts: list[Union[str, "Expr"]], heredoc: bool = False):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
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
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.reason = reason


class TupleExpr(Node):
    """[a, b, ...]"""

    __slots__ = ("items",)
    _fields = ("span", "items")

    def __init__(self, span: Span, items: list["Expr"]):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.items = items


class ObjectItem(Node):
    """One `key = value` of an object constructor. Its span comes last, as the parsers build it."""

    __slots__ = ("key", "value")
    _fields = ("key", "value", "span")

    def __init__(self, key: "Expr", value: "Expr", span: Span):
        # a bare word key is a Literal of the word (both parsers turn the Variable into one)
        self.key = key
        self.value = value
        self.file, self.start, self.size = span.file, span.start, span.end - span.start


class ObjectExpr(Node):
    """{ key = value, ... }"""

    __slots__ = ("items",)
    _fields = ("span", "items")

    def __init__(self, span: Span, items: list[ObjectItem]):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.items = items


class Variable(Node):
    """The root of a traversal: var, local, aws_kms_key, each, count, module, data, a for variable."""

    __slots__ = ("name",)
    _fields = ("span", "name")

    def __init__(self, span: Span, name: str):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.name = name


class GetAttr(Node):
    """target.name"""

    __slots__ = ("target", "name")
    _fields = ("span", "target", "name")

    def __init__(self, span: Span, target: "Expr", name: str):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.target = target
        self.name = name


class Index(Node):
    """target[key], or target.0"""

    __slots__ = ("target", "key")
    _fields = ("span", "target", "key")

    def __init__(self, span: Span, target: "Expr", key: "Expr"):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.target = target
        self.key = key


class Splat(Node):
    """target[*].a.b or target.*.a: steps are ("attr", name) or ("index", expr)."""

    __slots__ = ("target", "steps")
    _fields = ("span", "target", "steps")

    def __init__(self, span: Span, target: "Expr", steps: list[tuple[str, Any]]):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.target = target
        self.steps = steps


class Call(Node):
    """A function call; ``expand_final`` is the trailing `...`."""

    __slots__ = ("name", "args", "expand_final")
    _fields = ("span", "name", "args", "expand_final")

    def __init__(self, span: Span, name: str, args: list["Expr"], expand_final: bool = False):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.name = name
        self.args = args
        self.expand_final = expand_final


class Conditional(Node):
    """condition ? true_expr : false_expr"""

    __slots__ = ("condition", "true_expr", "false_expr")
    _fields = ("span", "condition", "true_expr", "false_expr")

    def __init__(self, span: Span, condition: "Expr", true_expr: "Expr", false_expr: "Expr"):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.condition = condition
        self.true_expr = true_expr
        self.false_expr = false_expr


class BinaryOp(Node):
    """left op right"""

    __slots__ = ("op", "left", "right")
    _fields = ("span", "op", "left", "right")

    def __init__(self, span: Span, op: str, left: "Expr", right: "Expr"):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.op = op
        self.left = left
        self.right = right


class UnaryOp(Node):
    """-x or !x"""

    __slots__ = ("op", "operand")
    _fields = ("span", "op", "operand")

    def __init__(self, span: Span, op: str, operand: "Expr"):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.op = op
        self.operand = operand


class Paren(Node):
    """(inner): kept so fixes can see the parentheses."""

    __slots__ = ("inner",)
    _fields = ("span", "inner")

    def __init__(self, span: Span, inner: "Expr"):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.inner = inner


class ForExpr(Node):
    """[for ...] or {for ...}; ``grouping`` is the `...` of an object for."""

    __slots__ = ("key_var", "value_var", "collection", "key_expr", "value_expr", "condition", "grouping")
    _fields = ("span", "key_var", "value_var", "collection", "key_expr", "value_expr", "condition", "grouping")

    def __init__(self, span: Span, key_var: str | None, value_var: str, collection: "Expr",
                 key_expr: "Expr | None", value_expr: "Expr", condition: "Expr | None", grouping: bool = False):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.key_var = key_var
        self.value_var = value_var
        self.collection = collection
        self.key_expr = key_expr  # None for a tuple-producing for
        self.value_expr = value_expr
        self.condition = condition
        self.grouping = grouping


Expr = (Literal | Template | Unsupported | TupleExpr | ObjectExpr | Variable | GetAttr | Index | Splat | Call
        | Conditional | BinaryOp | UnaryOp | Paren | ForExpr)  # a union of classes: no typing at start-up


# ---- structure -----------------------------------------------------------------------------


class Attribute(Node):
    """name = expr"""

    __slots__ = ("name", "name_size", "expr")
    _fields = ("span", "name", "name_span", "expr")
    _state = ("name", "name_size", "expr")

    def __init__(self, span: Span, name: str, name_span: Span, expr: Expr):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.name = name
        self.name_size = name_span.end - name_span.start  # the name starts the attribute
        self.expr = expr

    @property
    def name_span(self) -> Span:
        return Span(self.file, self.start, self.start + self.name_size)


class Block(Node):
    """type "label" ... { body }, with its brace offsets for insertions."""

    __slots__ = ("type", "labels", "body", "open_brace", "close_brace", "header_size")
    _fields = ("span", "type", "labels", "body", "open_brace", "close_brace", "header_span")
    _state = ("type", "labels", "body", "open_brace", "close_brace", "header_size")

    def __init__(self, span: Span, type: str, labels: list[str], body: "Body", open_brace: int,
                 close_brace: int, header_span: Span | None = None):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
        self.type = type
        self.labels = labels
        self.body = body
        self.open_brace = open_brace  # offset of "{"
        self.close_brace = close_brace  # offset of "}"
        # type and labels, for locating findings; they start the block
        self.header_size = header_span.end - header_span.start if header_span is not None else None

    @property
    def header_span(self) -> Span | None:
        if self.header_size is None:
            return None
        return Span(self.file, self.start, self.start + self.header_size)

    def attribute(self, name: str) -> Attribute | None:
        return self.body.attribute(name)

    def blocks(self, type_name: str) -> list["Block"]:
        found = [b for b in self.body.items if isinstance(b, Block) and b.type == type_name]
        return found + json_blocks(self.body, type_name)  # a JSON override may bring them into a native block


class Body(Node):
    """The attributes and blocks of a file or a block, in order."""

    __slots__ = ("items",)
    _fields = ("span", "items")

    def __init__(self, span: Span, items: list[Union[Attribute, Block]]):
        self.file, self.start, self.size = span.file, span.start, span.end - span.start
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


def json_blocks(body: Body, type_name: str) -> list[Block]:
    """The nested blocks called ``type_name`` that a JSON body writes as an object (or an array of objects).

    In Terraform's JSON syntax a nested block and an argument holding an object look alike; the provider's
    schema tells them apart. iaclint has no schema, so an object is an argument to whoever reads it as one, and
    blocks to whoever asks for blocks of that name (a rule about `server_side_encryption` knows it is a block).
    `dynamic` objects name their block type by key, and their `content` is a block."""
    attr = body.attribute(type_name)
    if attr is None or not attr.file.endswith(".json"):  # the attribute's own file: overrides mix the two
        return []
    expr = attr.expr
    objects = [expr] if isinstance(expr, ObjectExpr) else list(expr.items) if isinstance(expr, TupleExpr) else []
    out: list[Block] = []
    for obj in objects:
        if not isinstance(obj, ObjectExpr):
            return []  # not a block after all (a list of strings): an argument only
        if type_name == "dynamic":
            for item in obj.items:
                label = item.key.value if isinstance(item.key, Literal) else None
                if isinstance(label, str) and isinstance(item.value, ObjectExpr):
                    out.append(_json_block(item.value, "dynamic", [label], item.key.span))
        else:
            out.append(_json_block(obj, type_name, [], attr.name_span))
    return out


def _json_block(obj: ObjectExpr, type_name: str, labels: list[str], header: Span) -> Block:
    items: list[Attribute | Block] = []
    for item in obj.items:
        name = item.key.value if isinstance(item.key, Literal) else None
        if not isinstance(name, str):
            continue
        if type_name == "dynamic" and name == "content" and isinstance(item.value, ObjectExpr):
            items.append(_json_block(item.value, "content", [], item.key.span))
            continue
        items.append(Attribute(item.span, name, item.key.span, item.value))
    body = Body(obj.span, items)
    return Block(Span(obj.file, header.start, obj.end), type_name, labels, body, obj.start, max(obj.start, obj.end - 1),
                 header)


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
