"""Evaluate HCL expressions to Values, never raising on user input.

What cannot be known (an input without a value, a computed attribute, a function iaclint does not
model) becomes an unknown Value with the reason; genuine errors (a missing map key) are raised as
EvalError inside evaluation so ``try()`` can catch them, and turned into unknowns at the top.
"""

from __future__ import annotations

import math
import os
from typing import Any, Protocol

from iaclint.eval.convert import (SET_ORDER, EvalError, Inexact, arithmetic, checked_number, set_order_unknown,
                                  to_bool, to_index, to_number, to_string, unify_with)
from iaclint.eval.limits import Budget, LimitReached
from iaclint.eval.values import (AfterApply, Alternatives, ObjectRef, Origin, OriginKind, PartialString, SetList, Value, render,
                                 stronger_mark, type_name)
from iaclint.hcl import ast

_NO_REFS: frozenset[str] = frozenset()
_NUMBERS_AND_TEXT = (int, float, str)  # exact types (bool and marked text are not among them)
_call_function = None  # functions.call_function, once imported (Evaluator.e_call)

BUILTIN_ROOTS = {"var", "local", "module", "data", "each", "count", "path", "terraform", "self"}
# The dependency a value computed from terraform.workspace carries in its refs, so that a verdict reached
# through it can say which workspace it assumed.
WORKSPACE_REF = "terraform.workspace"


class Context(Protocol):
    """What an expression can refer to; implemented by module and resource instances."""

    def var(self, name: str, node: ast.Node) -> Value: ...
    def local(self, name: str, node: ast.Node) -> Value: ...
    def resource(self, mode: str, type_: str, name: str, node: ast.Node) -> Value | None: ...
    def module_call(self, name: str, node: ast.Node) -> Value | None: ...
    def each(self, attr: str, node: ast.Node) -> Value: ...
    def count(self, attr: str, node: ast.Node) -> Value: ...
    def path(self, attr: str, node: ast.Node) -> Value: ...
    def files(self) -> Any: ...  # the TreeFiles file functions may read (eval/files.py), or None
    def workspace(self, node: ast.Node) -> Value: ...  # terraform.workspace


class ConstantContext:
    """For values that may not refer to anything: variable defaults, tfvars, --var values, type defaults."""

    def __init__(self, where: str = "here"):
        self.where = where

    def _fail(self, what: str):
        raise EvalError(f"{what} cannot be used {self.where} (only constant values are allowed)")

    def var(self, name, node):
        self._fail("var." + name)

    def local(self, name, node):
        self._fail("local." + name)

    def resource(self, mode, type_, name, node):
        self._fail(f"{type_}.{name}")

    def module_call(self, name, node):
        self._fail("module." + name)

    def each(self, attr, node):
        self._fail("each." + attr)

    def count(self, attr, node):
        self._fail("count." + attr)

    def path(self, attr, node):
        self._fail("path." + attr)

    def files(self):
        return None

    def workspace(self, node):
        self._fail("terraform.workspace")


class Evaluator:
    """Evaluates expressions in one context; literals are labelled with the kind of place they sit in."""

    def __init__(self, context: Context, kind: OriginKind, label: str, depth: int = 0, name: str = ""):
        self.context = context
        self.kind = kind
        self.label = label
        self.name = name
        self.bindings: list[dict[str, Value]] = []
        self.depth = depth
        # the root module's budget, shared by all its expressions; constants get one of their own
        self.budget: Budget = getattr(context, "budget", None) or Budget()
        self.limits = self.budget.limits

    # ---- entry point

    def evaluate(self, expr: ast.Expr) -> Value:
        """The value of an expression, or unknown with the reason: never an exception, whatever the input."""
        try:
            return self.eval(expr)
        except EvalError as exc:
            return Value.unknown_because(f"evaluation error: {exc}", origin=self._expr_origin(expr))
        except LimitReached as exc:
            note = getattr(self.context, "note_limit", None)
            if note is not None:
                note(str(exc))
            return Value.unknown_because(str(exc), origin=self._expr_origin(expr))
        except Inexact as exc:
            return Value.unknown_because(str(exc), origin=self._expr_origin(expr))
        except RecursionError:
            return Value.unknown_because("expression nested too deeply to evaluate")
        except (ArithmeticError, ValueError, TypeError, LookupError, AttributeError, UnicodeError,
                MemoryError) as exc:
            # every construct and function is meant to be total; this keeps a missed case from stopping
            # the run (the tests run with IACLINT_STRICT and see it as the bug it is)
            if os.environ.get("IACLINT_STRICT"):
                raise
            return Value.unknown_because(f"iaclint could not evaluate this ({type(exc).__name__})",
                                         origin=self._expr_origin(expr))

    # ---- helpers

    def _literal_origin(self, node: ast.Node) -> Origin:
        return Origin(self.kind, node.span, self.label, self.name)

    def _expr_origin(self, node: ast.Node) -> Origin:
        return Origin(OriginKind.EXPRESSION, node.span, self.label)

    def derived(self, node: ast.Node, raw: Any, inputs: list[Value]) -> Value:
        """A value computed from ``inputs``: it depends on their resources and carries their marks."""
        refs, mark = self.summary(inputs)
        value = Value(raw, None, self._expr_origin(node), (), refs)
        return value.marked(mark) if mark is not None else value

    def summary(self, inputs: list[Value]) -> tuple[frozenset[str], str | None]:
        """The resources ``inputs`` depend on and their strongest mark; walking a large value costs its size."""
        refs: frozenset[str] = _NO_REFS
        mark = None
        for v in inputs:
            if v.size > 1:
                self.budget.charge(v.size)  # walking a large value costs what its size says
                refs |= v.all_refs()
                mark = stronger_mark(mark, v.deep_mark())
            else:  # nothing inside: its own refs and mark
                if v.refs:
                    refs |= v.refs if type(v.refs) is frozenset else frozenset(v.refs)
                if v.mark is not None:
                    mark = stronger_mark(mark, v.mark)
        return refs, mark

    def unknown_from(self, node: ast.Node, inputs: list[Value], reason: str | None = None) -> Value:
        refs: frozenset[str] = frozenset()
        for v in inputs:
            if v.size > 1:
                self.budget.charge(v.size)
            refs |= v.all_refs()
        # ``reason``: why the result is unknown although every input is known (the order of a set, ...)
        return Value(None, reason if reason is not None else _unknown_reason(inputs), self._expr_origin(node), (), refs)

    def number(self, node: ast.Node, raw: int | float, inputs: list[Value]) -> Value:
        """An arithmetic result, if it is a number iaclint can go on computing with."""
        return self.derived(node, checked_number(raw, node), inputs)

    def check_string(self, length: int, what: str) -> None:
        """Refuse to build a string longer than the limit (before building it)."""
        if length > self.limits.string:
            raise LimitReached("string", f"{what} would be {length:,} characters, more than {self.limits.string:,}")

    # ---- dispatch

    def eval(self, expr: ast.Expr) -> Value:
        method = _DISPATCH.get(type(expr))
        if method is None:
            return Value.unknown_because(f"{type(expr).__name__} is not evaluated")
        budget = self.budget
        budget.used += 1
        if budget.used > self.limits.steps:
            budget.charge(0)
        value = method(self, expr)
        if value.size > self.limits.collection:
            raise LimitReached("collection", f"a collection of more than {self.limits.collection:,} values")
        if type(value.raw) is str and len(value.raw) > self.limits.string:
            raise LimitReached("string", f"a string of more than {self.limits.string:,} characters")
        return value

    def e_literal(self, expr: ast.Literal) -> Value:
        if type(expr.value) is float and not math.isfinite(expr.value):
            return Value.unknown_because("a number too large for iaclint to compute with",
                                         origin=self._literal_origin(expr))
        return Value(expr.value, None, self._literal_origin(expr))

    def e_unsupported(self, expr: ast.Unsupported) -> Value:
        return Value.unknown_because(expr.reason, origin=self._expr_origin(expr))

    def e_paren(self, expr: ast.Paren) -> Value:
        return self.eval(expr.inner)

    def e_template(self, expr: ast.Template) -> Value:
        if expr.is_literal:
            return Value(expr.literal, None, self._literal_origin(expr))
        if len(expr.parts) == 1 and not expr.heredoc:
            return self.eval(expr.parts[0])  # "${x}" is x itself, with its type and origin
        values = [self.eval(p) for p in expr.parts if not isinstance(p, str)]
        if not all(v.wholly_known() for v in values):
            unknown = self.unknown_from(expr, values)
            it = iter(values)
            parts: list[str | None] = []
            for part in expr.parts:
                if isinstance(part, str):
                    parts.append(part)
                else:
                    v = next(it)  # a marked part stays a hole: what is known of the text may be shown
                    shown = v.known and v.mark is None and isinstance(v.raw, (str, int, float, bool))
                    parts.append(to_string(v) if shown else None)
            unknown.raw = PartialString(parts)
            return unknown
        out = []
        it = iter(values)
        for part in expr.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(to_string(next(it), part))
        self.check_string(sum(len(p) for p in out), "the template")
        return self.derived(expr, "".join(out), values)

    def e_tuple(self, expr: ast.TupleExpr) -> Value:
        return Value([self.eval(i) for i in expr.items], None, self._literal_origin(expr))

    def e_object(self, expr: ast.ObjectExpr) -> Value:
        out: dict[str, Value] = {}
        unknown_keys: list[Value] = []
        for item in expr.items:
            key = self.eval(item.key)
            if not key.known:
                unknown_keys.append(key)
                continue
            out[to_string(key, item.key)] = self.eval(item.value)
        if unknown_keys:
            return self.unknown_from(expr, unknown_keys)
        return Value(out, None, self._literal_origin(expr))

    def e_variable(self, expr: ast.Variable) -> Value:
        for scope in reversed(self.bindings):
            if expr.name in scope:
                return scope[expr.name]
        if expr.name in BUILTIN_ROOTS:
            if expr.name == "module":
                raise EvalError("'module' must be followed by a module name", expr)
            if expr.name == "self":
                return Value.unknown_because("self is only known inside provisioners")
            raise EvalError(f"'{expr.name}' must be followed by an attribute", expr)
        raise EvalError(f"'{expr.name}' must be followed by a resource name", expr)

    def _bound(self, name: str) -> bool:
        return any(name in scope for scope in self.bindings)

    def e_getattr(self, expr: ast.GetAttr) -> Value:
        target = expr.target
        if isinstance(target, ast.Variable) and not self._bound(target.name):
            root = target.name
            ctx = self.context
            if root == "var":
                return ctx.var(expr.name, expr)
            if root == "local":
                return ctx.local(expr.name, expr)
            if root == "each":
                return ctx.each(expr.name, expr)
            if root == "count":
                return ctx.count(expr.name, expr)
            if root == "path":
                return ctx.path(expr.name, expr)
            if root == "terraform" or (root == "tofu" and getattr(ctx, "opentofu", False)):
                if expr.name == "workspace":
                    return ctx.workspace(expr)
                return Value.unknown_because(f"{root}.{expr.name} is not known")
            if root == "module":
                value = ctx.module_call(expr.name, expr)
                if value is None:
                    raise EvalError(f"no module call named {expr.name!r}", expr)
                return value
            if root == "data":
                return Value.unknown_because("'data' must be followed by a type and a name")
            if root == "self":
                return Value.unknown_because("self is only known inside provisioners")
            value = ctx.resource("managed", root, expr.name, expr)
            if value is None:
                # terraform would reject this; for iaclint the files given may be a part of the module,
                # and the reference still says what kind of thing it is (an aws_kms_key is a customer key)
                address = f"{root}.{expr.name}"
                note = getattr(ctx, "note_undeclared", None)
                if note is not None:
                    note(address)
                return Value.unknown_because(AfterApply(f"{address} is not declared in the files checked"),
                                             refs=[address], origin=self._expr_origin(expr))
            return value
        if (isinstance(target, ast.GetAttr) and isinstance(target.target, ast.Variable)
                and target.target.name == "data" and not self._bound("data")):
            value = self.context.resource("data", target.name, expr.name, expr)
            if value is None:
                raise EvalError(f"reference to undeclared data source data.{target.name}.{expr.name}", expr)
            return value
        return get_attr(self.eval(target), expr.name, expr)

    def e_index(self, expr: ast.Index) -> Value:
        target = self.eval(expr.target)
        key = self.eval(expr.key)
        return index(target, key, expr)

    def e_splat(self, expr: ast.Splat) -> Value:
        target = self.eval(expr.target)
        if not target.known:
            return target
        if target.raw is None:
            return Value([], None, self._expr_origin(expr), (), target.refs)
        items = target.raw if isinstance(target.raw, list) else [target]
        self.budget.charge(len(items))
        out = []
        for item in items:
            value = item
            for kind, step in expr.steps:
                if kind == "attr":
                    value = get_attr(value, step, expr)
                else:
                    value = index(value, self.eval(step), expr)
            out.append(value)
        return Value(out, None, self._expr_origin(expr), (), target.refs)

    def e_conditional(self, expr: ast.Conditional) -> Value:
        cond = self.eval(expr.condition)
        hop = Origin(OriginKind.EXPRESSION, expr.span, "conditional expression")
        if not cond.known:
            a = self.eval(expr.true_expr)
            b = self.eval(expr.false_expr)
            if a.wholly_known() and b.wholly_known() and _equal(a, b) and type_name(a) == type_name(b):
                return Value(a.raw, None, self._expr_origin(expr), (), a.all_refs() | b.all_refs()).marked(cond.mark)
            # Unknown, never a guess of the branch; the branches are kept, each with its origin, for whoever
            # can judge every one of them (a rule whose verdict is the same either way).
            why = cond.unknown if cond.unknown.startswith(_DEPENDS) else f"{_DEPENDS}{cond.unknown}"
            branches = _branches(a.with_hop(hop)) + _branches(b.with_hop(hop))
            raw = Alternatives(branches, cond.unknown or "unknown") if len(branches) <= Alternatives.LIMIT else None
            return Value(raw, why, self._expr_origin(expr), (), cond.refs | a.all_refs() | b.all_refs()).marked(cond.mark)
        flag = to_bool(cond, expr.condition)
        chosen = self.eval(expr.true_expr if flag else expr.false_expr)
        chosen = unify_with(chosen, self._other_branch(expr.false_expr if flag else expr.true_expr))
        return chosen.with_hop(hop).with_refs(cond.refs).marked(cond.mark)  # a sensitive choice is sensitive

    def _other_branch(self, expr: ast.Expr) -> Value:
        """The result a conditional does not choose, for its type only: an error there is not the chosen one's."""
        try:
            return self.eval(expr)
        except EvalError:
            return Value.unknown_because("not chosen")

    def e_unary(self, expr: ast.UnaryOp) -> Value:
        operand = self.eval(expr.operand)
        if not operand.known:
            return self.unknown_from(expr, [operand])
        if expr.op == "!":
            return self.derived(expr, not to_bool(operand, expr.operand), [operand])
        return self.number(expr, -to_number(operand, expr.operand), [operand])

    def e_binary(self, expr: ast.BinaryOp) -> Value:
        op = expr.op
        left = self.eval(expr.left)
        if op in ("&&", "||"):
            right = self.eval(expr.right)
            if left.known and right.known:
                a, b = to_bool(left, expr.left), to_bool(right, expr.right)
                return self.derived(expr, (a and b) if op == "&&" else (a or b), [left, right])
            for side, node in ((left, expr.left), (right, expr.right)):
                if side.known:
                    flag = to_bool(side, node)
                    if op == "&&" and not flag:
                        return self.derived(expr, False, [left, right])
                    if op == "||" and flag:
                        return self.derived(expr, True, [left, right])
            return self.unknown_from(expr, [left, right])
        right = self.eval(expr.right)
        if op in ("==", "!="):
            null_side = left.known and left.is_null or right.known and right.is_null
            if null_side and left.known and right.known:
                # comparing with null needs only the top level: a known list with unknown items is not null
                same = left.is_null and right.is_null
                return self.derived(expr, same if op == "==" else not same, [left, right])
            if not (left.wholly_known() and right.wholly_known()):
                return self.unknown_from(expr, [left, right])
            a, b = left.raw, right.raw
            if type(a) in _NUMBERS_AND_TEXT and type(b) in _NUMBERS_AND_TEXT:
                same = a == b  # what _equal decides for two plain numbers or strings (1 == 1.0; "1" != 1)
            else:
                same = _equal(left, right)
            return self.derived(expr, same if op == "==" else not same, [left, right])
        if not (left.known and right.known):
            return self.unknown_from(expr, [left, right])
        a, b = to_number(left, expr.left), to_number(right, expr.right)
        if op in ("<", ">", "<=", ">="):
            result = a < b if op == "<" else a > b if op == ">" else a <= b if op == "<=" else a >= b
            return self.derived(expr, result, [left, right])
        if op not in ("+", "-", "*", "/", "%"):
            raise EvalError(f"unknown operator {op}", expr)
        try:
            result = arithmetic(op, a, b)
        except ZeroDivisionError:
            raise EvalError("division by zero", expr) from None
        except Inexact as exc:
            return Value(None, str(exc), self._expr_origin(expr), (), left.all_refs() | right.all_refs())
        return self.number(expr, result, [left, right])

    def e_call(self, expr: ast.Call) -> Value:
        global _call_function
        if _call_function is None:  # functions.py imports this module: imported when first needed
            from iaclint.eval.functions import call_function as _call_function
        return _call_function(self, expr)

    def e_for(self, expr: ast.ForExpr) -> Value:
        collection = self.eval(expr.collection)
        if not collection.known:
            return self.unknown_from(expr, [collection])
        raw = collection.raw
        if isinstance(raw, dict):
            pairs = [(Value(k, origin=v.origin).marked(collection.mark), v) for k, v in sorted(raw.items())]
        elif isinstance(raw, list):
            if set_order_unknown(collection) and expr.key_expr is None:
                return self.unknown_from(expr, [collection], SET_ORDER)
            pairs = [(Value(i), v) for i, v in enumerate(raw)]
        elif raw is None:
            raise EvalError("cannot iterate over null", expr.collection)
        else:
            raise EvalError(f"cannot iterate over a {type_name(collection)}", expr.collection)
        tuple_out: list[Value] = []
        object_out: dict[str, Value] = {}
        groups: dict[str, list[Value]] = {}
        for key, value in pairs:
            scope = {expr.value_var: value}
            if expr.key_var:
                scope[expr.key_var] = key
            self.bindings.append(scope)
            try:
                if expr.condition is not None:
                    cond = self.eval(expr.condition)
                    if not cond.known:
                        return self.unknown_from(expr, [cond])
                    if not to_bool(cond, expr.condition):
                        continue
                if expr.key_expr is None:
                    tuple_out.append(self.eval(expr.value_expr))
                    continue
                out_key = self.eval(expr.key_expr)
                if not out_key.known:
                    return self.unknown_from(expr, [out_key])
                name = to_string(out_key, expr.key_expr)
                out_value = self.eval(expr.value_expr)
                if expr.grouping:
                    groups.setdefault(name, []).append(out_value)
                elif name in object_out:
                    raise EvalError(f"duplicate key {name!r} in for expression (use ... to group)", expr)
                else:
                    object_out[name] = out_value
            finally:
                self.bindings.pop()
        refs = collection.refs
        if expr.key_expr is None:
            return Value(tuple_out, None, self._expr_origin(expr), (), refs)
        if expr.grouping:
            object_out = {k: Value(v, None, self._expr_origin(expr)) for k, v in groups.items()}
        return Value(object_out, None, self._expr_origin(expr), (), refs)


_DISPATCH = {
    ast.Literal: Evaluator.e_literal,
    ast.Unsupported: Evaluator.e_unsupported,
    ast.Paren: Evaluator.e_paren,
    ast.Template: Evaluator.e_template,
    ast.TupleExpr: Evaluator.e_tuple,
    ast.ObjectExpr: Evaluator.e_object,
    ast.Variable: Evaluator.e_variable,
    ast.GetAttr: Evaluator.e_getattr,
    ast.Index: Evaluator.e_index,
    ast.Splat: Evaluator.e_splat,
    ast.Conditional: Evaluator.e_conditional,
    ast.UnaryOp: Evaluator.e_unary,
    ast.BinaryOp: Evaluator.e_binary,
    ast.Call: Evaluator.e_call,
    ast.ForExpr: Evaluator.e_for,
}


# ---- value operations shared with functions --------------------------------------------------


_DEPENDS = "depends on a condition that is unknown: "  # said once, however deep the conditionals nest


def _unknown_reason(values: list[Value]) -> str:
    """Why a result computed from these values is unknown: the first reason that is not AfterApply, since an
    input without a value may make it anything; only when every unknown part is unknown until apply is the
    result AfterApply too (still decided by the resources it refers to)."""
    after_apply = None
    todo = list(reversed(values))
    while todo:
        value = todo.pop()
        if value.unknown is not None:
            if not isinstance(value.unknown, AfterApply):
                return value.unknown
            after_apply = after_apply or value.unknown
        elif isinstance(value.raw, list):
            todo.extend(reversed(value.raw))
        elif isinstance(value.raw, dict):
            todo.extend(reversed(list(value.raw.values())))
    return after_apply or "unknown"


def _branches(value: Value) -> tuple[Value, ...]:
    """A branch's possible values: itself, or the alternatives of a conditional nested in it."""
    return value.raw.values if isinstance(value.raw, Alternatives) else (value,)


def _each_alternative(value: Value, step) -> Value:
    """``step`` applied to every alternative of an unknown choice (an error makes that alternative unknown)."""

    def one(alternative: Value) -> Value:
        try:
            return step(alternative)
        except EvalError as exc:
            return Value.unknown_because(f"evaluation error: {exc}", alternative.refs)

    return Value(value.raw.map(one), value.unknown, value.origin, value.via, value.refs, value.mark)


def get_attr(value: Value, name: str, node: ast.Node | None) -> Value:
    if not value.known:
        if isinstance(value.raw, Alternatives):
            return _each_alternative(value, lambda v: get_attr(v, name, node))
        return Value.unknown_because(value.unknown, value.refs, via=value.via)
    raw = value.raw
    if isinstance(raw, ObjectRef):
        return raw.resolve(name).with_refs(value.refs).marked(value.mark)
    if isinstance(raw, dict):
        if name not in raw:
            raise EvalError(f"object has no attribute {name!r}", node)
        return raw[name].with_refs(value.refs).marked(value.mark)
    if raw is None:
        raise EvalError(f"cannot read attribute {name!r} of null", node)
    if isinstance(raw, list):
        raise EvalError(f"cannot read attribute {name!r} of a list; use an index or [*]", node)
    raise EvalError(f"cannot read attribute {name!r} of a {type_name(value)}", node)


def index(value: Value, key: Value, node: ast.Node | None) -> Value:
    if not value.known:
        if isinstance(value.raw, Alternatives) and key.known:
            return _each_alternative(value, lambda v: index(v, key, node)).with_refs(key.refs)
        return Value.unknown_because(value.unknown, value.refs | key.refs, via=value.via)
    if not key.known:
        return Value.unknown_because(f"index is unknown: {key.unknown}", value.refs | key.refs)
    raw = value.raw
    mark = stronger_mark(value.mark, key.mark)  # an element chosen by a sensitive key is sensitive
    if isinstance(raw, list):
        try:
            i = to_index(key, node)
        except EvalError:
            raise EvalError(f"a list index must be a whole number, not {render(key)}", node) from None
        if i < 0 or i >= len(raw):
            raise EvalError(f"index {i if key.mark is None else render(key)} is out of range for a list of "
                            f"{len(raw)}", node)
        return raw[i].with_refs(value.refs).marked(mark)
    if isinstance(raw, dict):
        name = to_string(key, node)
        if name not in raw:
            raise EvalError(f"key {render(key) if key.mark else repr(name)} does not exist", node)
        return raw[name].with_refs(value.refs).marked(mark)
    if isinstance(raw, ObjectRef):
        return raw.resolve(to_string(key, node)).with_refs(value.refs).marked(mark)
    if raw is None:
        raise EvalError("cannot index null", node)
    raise EvalError(f"cannot index a {type_name(value)}", node)


def _equal(a: Value, b: Value) -> bool:
    pa, pb = a.to_python(), b.to_python()
    if isinstance(a.raw, SetList) and isinstance(b.raw, SetList):
        return sorted(map(repr, pa)) == sorted(map(repr, pb))
    if type(pa) is bool or type(pb) is bool:
        return type(pa) is type(pb) and pa == pb
    return pa == pb
