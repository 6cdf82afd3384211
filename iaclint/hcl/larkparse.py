"""Parse HCL text with python-hcl2's Lark grammar and build iaclint's span-carrying tree.

The second back end of parser.py: it explains syntax errors, and reads what tree-sitter-hcl rejects.
The raw Lark tree is used (not hcl2's dict output) because it keeps exact character positions for
every token. tsparse.py builds the same tree from tree-sitter; a change here needs its twin there.
"""

from __future__ import annotations

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from iaclint.hcl import ast
from iaclint.hcl.grammar import parser
from iaclint.hcl.literals import ParseFailure, number_literal, template_parts, trim_heredoc, unescape
from iaclint.model import Span
from iaclint.source import SourceFile


_TOKEN_WORDS = {
    "RBRACE": "'}'", "LBRACE": "'{'", "RSQB": "']'", "LSQB": "'['", "RPAR": "')'", "LPAR": "'('",
    "EQ": "'='", "COLON": "':'", "COMMA": "','", "DBLQUOTE": "'\"'", "NAME": "a name",
    "NL_OR_COMMENT": "a new line",
}
_EXPRESSION_START = {"INT_LITERAL", "LSQB", "LBRACE", "TRUE", "FALSE", "NULL", "DBLQUOTE", "MINUS"}


def parse_source(source: SourceFile) -> ast.Body:
    text = source.text
    if text.startswith("\ufeff"):  # terraform reads a UTF-8 byte order mark as nothing; a space keeps offsets
        text = " " + text[1:]
    tree = _lark_parse(text, source)
    return _Builder(source.path, text, 0).body(tree.children[0])


def parse_expression(text: str, file: str, offset: int, context: SourceFile | None = None) -> ast.Expr:
    prefix = "x = "
    tree = _lark_parse(prefix + text, context, shift=offset - len(prefix))
    body = tree.children[0]
    builder = _Builder(file, None, offset - len(prefix))
    attrs = [c for c in body.children if isinstance(c, Tree) and c.data == "attribute"]
    if len(attrs) != 1:
        raise ParseFailure("expected a single expression", 1, 1)
    return builder.expr(attrs[0].children[2])


def _lark_parse(text: str, source: SourceFile | None, shift: int = 0) -> Tree:
    try:
        return parser().parse(text + "\n")  # the grammar needs a final newline (lark issue 237)
    except UnexpectedInput as exc:
        raise _failure(exc, text, source, shift) from None
    except RecursionError:
        raise ParseFailure("expression nested too deeply to parse", 1, 1) from None
    except Exception as exc:  # the grammar's own errors must never reach the user as a traceback
        raise ParseFailure(f"cannot parse: {exc.__class__.__name__}: {exc}", 1, 1) from None


def _failure(exc: UnexpectedInput, text: str, source: SourceFile | None, shift: int) -> ParseFailure:
    pos = getattr(exc, "pos_in_stream", None)
    token = getattr(exc, "token", None)
    expected = set(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ())
    if isinstance(exc, UnexpectedToken) and token is not None:
        value = str(token)
        if token.type == "$END":
            what = "unexpected end of file"
            pos = len(text.rstrip())
        else:
            stripped = value.lstrip(" \t\r\n")
            pos = (token.start_pos or 0) + (len(value) - len(stripped))
            shown = stripped.split("\n", 1)[0][:30]
            what = f"unexpected {shown!r}" if shown else "unexpected new line"
    elif isinstance(exc, UnexpectedCharacters):
        ch = text[pos] if pos is not None and pos < len(text) else ""
        what = f"unexpected character {ch!r}"
    elif isinstance(exc, UnexpectedEOF):
        what = "unexpected end of file"
        pos = len(text.rstrip())
    else:
        what = "syntax error"
    hint = _expected_hint(expected)
    message = f"syntax error: {what}" + (f", expected {hint}" if hint else "")
    pos = pos or 0
    if source is not None:
        line, column = source.line_col(max(0, pos + shift))
    else:
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return ParseFailure(message, line, column)


def _expected_hint(expected: set[str]) -> str:
    if not expected:
        return ""
    if expected & _EXPRESSION_START and len(expected) > 4:
        return "an expression"
    words = sorted({_TOKEN_WORDS[e] for e in expected if e in _TOKEN_WORDS})
    if not words or len(words) > 4:
        return ""
    return " or ".join(words)


class _Builder:
    """Turns the Lark tree into ast nodes. ``shift`` maps snippet offsets to file offsets."""

    def __init__(self, file: str, text: str | None, shift: int):
        self.file = file
        self.text = text
        self.shift = shift

    def span(self, node: Tree | Token) -> Span:
        """The node's characters, without the new lines and comments the grammar folds into it."""
        return Span(self.file, _start(node) + self.shift, _end(node) + self.shift)

    # ---- structure

    def body(self, tree: Tree) -> ast.Body:
        items: list = []
        seen: dict[str, ast.Attribute] = {}
        for child in tree.children:
            if not isinstance(child, Tree) or child.data == "new_line_or_comment":
                continue
            if child.data == "attribute":
                attribute = self.attribute(child)
                first = seen.get(attribute.name)
                if first is not None:
                    line, column = self._line_col(attribute.start)
                    raise ParseFailure(f'attribute "{attribute.name}" is defined twice in this block (first on line '
                                       f"{self._line_col(first.start)[0]})", line, column)
                seen[attribute.name] = attribute
                items.append(attribute)
            elif child.data == "block":
                items.append(self.block(child))
            if len(items) > 1 and self.text is not None and not self._newline_between(items[-2], items[-1]):
                line, column = self._line_col(items[-1].start)  # terraform: "Missing newline after argument"
                raise ParseFailure("missing newline: each argument and block goes on a line of its own", line, column)
        if not items:
            return ast.Body(Span(self.file, self.shift, self.shift), [])
        return ast.Body(Span(self.file, items[0].start, items[-1].end), items)

    def attribute(self, tree: Tree) -> ast.Attribute:
        name_node, _eq, expr_node = tree.children
        expr = self.expr(expr_node)
        self._check_line_breaks(expr)
        span = Span(self.file, self.span(tree).start, expr.end)
        return ast.Attribute(span, self._name(name_node), self.span(name_node), expr)

    def block(self, tree: Tree) -> ast.Block:
        kids = tree.children
        labels: list[str] = []
        lbrace = rbrace = None
        body = None
        header_end = None
        for i, child in enumerate(kids):
            if isinstance(child, Token):
                if child.type == "LBRACE":
                    lbrace = child.start_pos + self.shift
                elif child.type == "RBRACE":
                    rbrace = child.start_pos + self.shift
                continue
            if child.data == "body":
                body = self.body(child)
            elif child.data == "new_line_or_comment":
                continue
            elif i == 0:
                block_type = self._name(child)
                header_end = self.span(child).end
            else:
                labels.append(self._label(child))
                header_end = self.span(child).end
        span = self.span(tree)
        if body is None or not body.items:
            body = ast.Body(Span(self.file, lbrace + 1, lbrace + 1), [])
        elif body.items and self.text is not None:
            single_line = "\n" not in self.text[lbrace:rbrace]
            if single_line and len(body.items) > 1:
                line, column = self._line_col(body.items[1].start)
                raise ParseFailure("a block written on one line holds one argument at most", line, column)
            last_end = body.items[-1].end
            if not single_line and "\n" not in self.text[last_end - 1:rbrace]:
                line, column = self._line_col(rbrace)
                raise ParseFailure("missing newline: the closing brace of a block goes on a line of its own",
                                   line, column)
        if self.text is not None and "\n" in self.text[span.start - self.shift:lbrace - self.shift]:
            line, column = self._line_col(lbrace)
            raise ParseFailure("a block's opening brace goes on the line of its type and labels", line, column)
        header = Span(self.file, span.start, header_end)
        return ast.Block(span, block_type, labels, body, lbrace, rbrace, header)

    def _name(self, tree: Tree) -> str:
        token = tree.children[0]
        return str(token)

    def _label(self, tree: Tree) -> str:
        if tree.data == "string":
            template = self.string(tree)
            if not isinstance(template, ast.Template) or not template.is_literal:
                line, column = self._line_col(template.start)
                raise ParseFailure("a block label must be a plain string: template sequences (${...}, %{...}) "
                                   "are not allowed here", line, column)
            return template.literal
        return self._name(tree)

    def _check_line_breaks(self, expr: ast.Expr) -> None:
        """HCL ends an argument (or an object element) at a new line outside ( ), [ ], { } and templates:
        `a = 1 +\n 2` and `a = x\n ? 1 : 2` are errors in terraform. The tree-sitter path hands such files here."""
        if self.text is None:
            return
        at = _line_break(expr, self.text, self.shift)
        if at is not None:
            line, column = self._line_col(at)
            raise ParseFailure("a new line ends the argument here: continue an expression across lines only "
                               "inside ( ), [ ] or { }", line, column)

    def _newline_between(self, first, second) -> bool:
        end = first.end
        return "\n" in self.text[end:second.start] or self.text[end - 1:end] == "\n"

    def _line_col(self, offset: int) -> tuple[int, int]:
        if self.text is None:
            return 1, 1
        before = self.text[:max(0, offset)]
        return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1

    # ---- expressions

    def expr(self, node: Tree | Token) -> ast.Expr:
        if isinstance(node, Token):
            return ast.Unsupported(self.span(node), f"unexpected token {node.type}")
        method = getattr(self, "x_" + str(node.data), None)
        if method is None:
            return ast.Unsupported(self.span(node), f"expression kind {node.data} is not evaluated")
        return method(node)

    def _trees(self, node: Tree) -> list[Tree]:
        return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]

    def x_expr_term(self, node: Tree) -> ast.Expr:
        kids = node.children
        if isinstance(kids[0], Token) and kids[0].type == "LPAR":
            inner = self._trees(node)[0]
            return ast.Paren(self.span(node), self.expr(inner))
        return self.expr(kids[0])

    def x_literal_value(self, node: Tree) -> ast.Expr:
        word = str(node.children[0])
        value = {"true": True, "false": False, "null": None}[word]
        return ast.Literal(self.span(node), value)

    def x_int_lit(self, node: Tree) -> ast.Expr:
        return ast.Literal(self.span(node), number_literal(str(node.children[0])))

    def x_float_lit(self, node: Tree) -> ast.Expr:
        return ast.Literal(self.span(node), number_literal(str(node.children[0])))

    def x_identifier(self, node: Tree) -> ast.Expr:
        return ast.Variable(self.span(node), str(node.children[0]))

    def x_keyword(self, node: Tree) -> ast.Expr:
        return ast.Variable(self.span(node), str(node.children[0]))

    def x_string(self, node: Tree) -> ast.Template:
        return self.string(node)

    def string(self, node: Tree) -> ast.Template:
        parts: list = []
        for child in node.children:
            if isinstance(child, Token):
                continue  # quotes
            part = child.children[0]
            if isinstance(part, Token):
                text = str(part)
                if part.type == "STRING_CHARS":
                    if "\n" in text:
                        line, column = self._line_col(part.start_pos + self.shift)
                        raise ParseFailure("a quoted string cannot span lines: use a heredoc (<<EOT) instead",
                                           line, column)
                    try:
                        parts.append(unescape(text))
                    except ParseFailure as exc:
                        line, column = self._line_col(part.start_pos + self.shift)
                        raise ParseFailure(exc.message, line, column) from None
                elif part.type == "ESCAPED_INTERPOLATION":
                    parts.append(text[1:])
                elif part.type == "ESCAPED_DIRECTIVE":
                    parts.append(text[1:])
                else:
                    parts.append(text)
            elif part.data == "interpolation":
                parts.append(self.expr(self._trees(part)[0]))
            else:
                self._check_directives(node)
                return ast.Unsupported(self.span(node), "template directives (%{if}, %{for}) are not evaluated")
        merged: list = []
        for p in parts:
            if isinstance(p, str) and merged and isinstance(merged[-1], str):
                merged[-1] += p
            else:
                merged.append(p)
        return ast.Template(self.span(node), merged)

    def _check_directives(self, node: Tree) -> None:
        """%{ if } needs its %{ endif }, %{ for } its %{ endfor }, in order."""
        opened: list[str] = []
        closers = {"template_endif": "template_if_start", "template_endfor": "template_for_start"}
        for child in node.children:
            if not isinstance(child, Tree) or not child.children or not isinstance(child.children[0], Tree):
                continue
            kind = child.children[0].data
            if kind in ("template_if_start", "template_for_start"):
                opened.append(kind)
            elif kind == "template_else" and (not opened or opened[-1] != "template_if_start"):
                break
            elif kind in closers:
                if not opened or opened.pop() != closers[kind]:
                    opened.append("unbalanced")
                    break
        if opened:
            line, column = self._line_col(self.span(node).start)
            raise ParseFailure("a template directive is not closed: %{ if } needs %{ endif } and %{ for } needs "
                               "%{ endfor }", line, column)

    def x_template_string(self, node: Tree) -> ast.Expr:
        return ast.Unsupported(self.span(node), "escaped template strings are not evaluated")

    def x_heredoc_template(self, node: Tree) -> ast.Expr:
        return self.heredoc(node, trim=False)

    def x_heredoc_template_trim(self, node: Tree) -> ast.Expr:
        return self.heredoc(node, trim=True)

    def heredoc(self, node: Tree, trim: bool) -> ast.Expr:
        token: Token = node.children[0]
        raw = str(token)
        start = token.start_pos + self.shift
        first_nl = raw.index("\n")
        body_start = first_nl + 1
        stripped = raw.rstrip("\r\n")
        last_nl = stripped.rfind("\n")
        body_end = last_nl + 1 if last_nl >= body_start else body_start
        body = raw[body_start:body_end]
        end_trim = len(raw) - len(stripped)
        span = Span(self.file, start, token.end_pos + self.shift - end_trim)
        parts = template_parts(body, self.file, start + body_start, parse_expression)
        if isinstance(parts, ast.Unsupported):
            return ast.Unsupported(span, parts.reason)
        if trim:
            parts = trim_heredoc(parts)
        return ast.Template(span, parts, heredoc=True)

    def x_tuple(self, node: Tree) -> ast.Expr:
        return ast.TupleExpr(self.span(node), [self.expr(c) for c in self._trees(node)])

    def x_object(self, node: Tree) -> ast.Expr:
        items = []
        for elem in self._trees(node):
            key_node, _sep, value_node = elem.children
            key_inner = key_node.children[0]
            if isinstance(key_inner, Tree) and key_inner.data == "keyword":
                key: ast.Expr = ast.Literal(self.span(key_inner), str(key_inner.children[0]))
            else:
                key = self.expr(key_inner)
                if isinstance(key, ast.Variable):
                    key = ast.Literal(key.span, key.name)
            value = self.expr(value_node)  # the item ends where its value does (a heredoc's newline is not in it)
            self._check_line_breaks(value)
            items.append(ast.ObjectItem(key, value, Span(self.file, self.span(elem).start, value.end)))
        return ast.ObjectExpr(self.span(node), items)

    def x_get_attr_expr_term(self, node: Tree) -> ast.Expr:
        target, get_attr = node.children
        name = str(get_attr.children[1].children[0])
        return ast.GetAttr(self.span(node), self.expr(target), name)

    def x_index_expr_term(self, node: Tree) -> ast.Expr:
        target, index = node.children
        return ast.Index(self.span(node), self.expr(target), self._index_key(index))

    def _index_key(self, index: Tree) -> ast.Expr:
        if index.data == "short_index":
            token = index.children[1]
            return ast.Literal(self.span(token), number_literal(str(token)))
        return self.expr(self._trees(index)[0])

    def _splat_steps(self, splat: Tree) -> list:
        steps = []
        for child in splat.children:
            if isinstance(child, Token):
                continue
            if child.data == "get_attr":
                steps.append(("attr", str(child.children[1].children[0])))
            else:
                steps.append(("index", self._index_key(child)))
        return steps

    def x_attr_splat_expr_term(self, node: Tree) -> ast.Expr:
        target, splat = node.children
        return ast.Splat(self.span(node), self.expr(target), self._splat_steps(splat))

    def x_full_splat_expr_term(self, node: Tree) -> ast.Expr:
        target, splat = node.children
        return ast.Splat(self.span(node), self.expr(target), self._splat_steps(splat))

    def x_function_call(self, node: Tree) -> ast.Expr:
        names = [str(c.children[0]) for c in node.children if isinstance(c, Tree) and c.data == "identifier"]
        name = "::".join(names) if len(names) > 1 else names[0]
        args: list[ast.Expr] = []
        expand = False
        for child in node.children:
            if isinstance(child, Tree) and child.data == "arguments":
                for arg in child.children:
                    if isinstance(arg, Token):
                        if arg.type == "ELLIPSIS":
                            expand = True
                        continue
                    if arg.data == "new_line_or_comment":
                        continue
                    args.append(self.expr(arg))
        if len(names) > 1:
            return ast.Unsupported(self.span(node), f"provider function {name} is not evaluated")
        return ast.Call(self.span(node), name, args, expand)

    def x_conditional(self, node: Tree) -> ast.Expr:
        cond, when_true, when_false = self._trees(node)
        return ast.Conditional(self.span(node), self.expr(cond), self.expr(when_true), self.expr(when_false))

    def x_binary_op(self, node: Tree) -> ast.Expr:
        left, term = self._trees(node)[:2]
        op_node, right = self._trees(term)
        op = str(op_node.children[0]).strip()
        return ast.BinaryOp(self.span(node), op, self.expr(left), self.expr(right))

    def x_unary_op(self, node: Tree) -> ast.Expr:
        op, operand = node.children
        return ast.UnaryOp(self.span(node), str(op), self.expr(operand))

    def x_for_tuple_expr(self, node: Tree) -> ast.Expr:
        trees = self._trees(node)
        intro = trees[0]
        value = trees[1]
        cond = trees[2] if len(trees) > 2 else None
        key_var, value_var, collection = self._for_intro(intro)
        return ast.ForExpr(self.span(node), key_var, value_var, collection, None, self.expr(value),
                           self._for_cond(cond))

    def x_for_object_expr(self, node: Tree) -> ast.Expr:
        trees = self._trees(node)
        intro, key_expr, value_expr = trees[:3]
        cond = trees[3] if len(trees) > 3 else None
        grouping = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in node.children)
        key_var, value_var, collection = self._for_intro(intro)
        return ast.ForExpr(self.span(node), key_var, value_var, collection, self.expr(key_expr),
                           self.expr(value_expr), self._for_cond(cond), grouping)

    def _for_intro(self, intro: Tree):
        trees = self._trees(intro)
        names = [str(t.children[0]) for t in trees if t.data == "identifier"]
        collection = trees[-1]
        if len(names) >= 2 and len(trees) >= 3:
            return names[0], names[1], self.expr(collection)
        return None, names[0], self.expr(collection)

    def _for_cond(self, cond: Tree | None):
        if cond is None:
            return None
        return self.expr(self._trees(cond)[0])


def _start(node: Tree | Token) -> int:
    if isinstance(node, Token):
        return node.start_pos
    for child in node.children:
        if isinstance(child, Tree) and child.data == "new_line_or_comment":
            continue
        if isinstance(child, Token) and child.type == "NL_OR_COMMENT":
            continue
        return _start(child)
    return node.meta.start_pos


def _end(node: Tree | Token) -> int:
    if isinstance(node, Token):
        if node.type.startswith("HEREDOC_TEMPLATE"):  # the token takes the new line after its end marker
            value = str(node)
            return node.end_pos - (len(value) - len(value.rstrip("\r\n")))
        return node.end_pos
    for child in reversed(node.children):
        if isinstance(child, Tree) and child.data == "new_line_or_comment":
            continue
        if isinstance(child, Token) and child.type == "NL_OR_COMMENT":
            continue
        return _end(child)
    return node.meta.end_pos




def _line_break(expr: ast.Expr, text: str, shift: int) -> int | None:
    """The offset of the first new line between the parts of ``expr`` that are not inside brackets."""

    def gap(start: int, end: int) -> int | None:
        found = text.find("\n", start - shift, end - shift)
        return None if found < 0 else found + shift

    def opening(expr: ast.Expr, after: int, bracket: str) -> int:
        found = text.find(bracket, after - shift, expr.end - shift)
        return expr.end if found < 0 else found + shift

    def walk(e: ast.Expr) -> int | None:
        if isinstance(e, ast.BinaryOp):
            return gap(e.left.end, e.right.start) or walk(e.left) or walk(e.right)
        if isinstance(e, ast.UnaryOp):
            return gap(e.start, e.operand.start) or walk(e.operand)
        if isinstance(e, ast.Conditional):
            return (gap(e.condition.end, e.true_expr.start)
                    or gap(e.true_expr.end, e.false_expr.start)
                    or walk(e.condition) or walk(e.true_expr) or walk(e.false_expr))
        if isinstance(e, ast.GetAttr):
            return gap(e.target.end, e.end) or walk(e.target)
        if isinstance(e, (ast.Index, ast.Splat)):
            return gap(e.target.end, opening(e, e.target.end, "[")) or walk(e.target)
        if isinstance(e, ast.Call):
            return gap(e.start, opening(e, e.start, "("))
        return None  # literals, names, and what brackets or quotes enclose: ( ), [ ], { }, for, templates

    return walk(expr)
