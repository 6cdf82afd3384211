"""Add a statement to a key or vault policy, where the policy is written so that it can be done exactly.

Two forms can be edited without rewriting anything else: a `jsonencode({ Statement = [...] })` on
the resource (a new object after the last statement), and a `data "aws_iam_policy_document"` the
policy refers to (a new `statement` block at its end). A JSON heredoc, a `file()` or a policy built
elsewhere gets no automatic edit: the message shows the statement to add. Policy changes are made
in place, so these fixes are safe to apply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from iaclint.graph.model import Graph, Resource
from iaclint.hcl import ast
from iaclint.hcl.layout import INDENT, LayoutError, line_indent
from iaclint.model import Edit
from iaclint.source import SourceFile


@dataclass
class NewStatement:
    """A statement to add, in the words both forms need."""

    sid: str
    principals: list[str]  # principal identifiers (HCL string literals, may hold ${...})
    actions: list[str]
    condition: tuple[str, str, list[str]] | None = None  # (test, variable, values)
    resources: list[str] = field(default_factory=lambda: ["*"])
    principal_type: str = "AWS"  # or "Service": logs.eu-west-1.amazonaws.com, cloudtrail.amazonaws.com


@dataclass
class PolicyEdit:
    """Statements a finding wants added to the policy ``attribute`` of the resource at ``holder``.

    A holder without a policy has the AWS default one: it gets a new policy that starts with
    ``default_statement`` (the account root's).
    """

    holder: str
    attribute: str
    statements: list[NewStatement]
    note: str
    default_statement: NewStatement | None = None


def other_account_statements(accounts: list[str], label: str, taken: set[str] = frozenset()) -> list[NewStatement]:
    """What other accounts need on a key to copy or restore what it encrypts (FACTS "Sharing and restoring"):
    use, and grants for AWS resources. Sids already in the policy get a number."""
    roots = [f"arn:aws:iam::{a}:root" for a in accounts]
    statements = [
        NewStatement(f"Allow{label}AccountsUse", roots,
                     ["kms:Decrypt", "kms:DescribeKey", "kms:ReEncrypt*", "kms:GenerateDataKey*"]),
        NewStatement(f"Allow{label}AccountsGrants", roots, ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                     ("Bool", "kms:GrantIsForAWSResource", ["true"])),
    ]
    for statement in statements:
        base, number = statement.sid, 2
        while statement.sid in taken:
            statement.sid, number = f"{base}{number}", number + 1
    return statements


def caller_identity_name(graph: Graph, module_address: str) -> str | None:
    """The name of a data "aws_caller_identity" in the module, to write its account into a policy."""
    for r in graph.of_type("aws_caller_identity"):
        if r.mode == "data" and r.module_address == module_address:
            return r.name
    return None


def _quote(text: str) -> str:
    """An HCL string literal; ${...} interpolations in principals are kept as written."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list(items: list[str]) -> str:
    return "[" + ", ".join(_quote(i) for i in items) + "]"


def _one_or_list(items: list[str]) -> str:
    return _quote(items[0]) if len(items) == 1 else _list(items)


def _aligned(pairs: list[tuple[str, str]], indent: str) -> list[str]:
    width = max(len(k) for k, _ in pairs)
    return [f"{indent}{k.ljust(width)} = {v}" for k, v in pairs]


def jsonencode_object(statement: NewStatement, indent: str) -> list[str]:
    """The statement as the lines of an HCL object (first line "{"), aligned as terraform fmt does."""
    pairs = [("Sid", _quote(statement.sid)), ("Effect", '"Allow"'),
             ("Principal", "{ " + statement.principal_type + " = " + _one_or_list(statement.principals) + " }"),
             ("Action", _one_or_list(statement.actions)), ("Resource", _one_or_list(statement.resources))]
    if statement.condition:
        test, variable, values = statement.condition
        pairs.append(("Condition", "{ " + test + " = { " + _quote(variable) + " = " + _one_or_list(values) + " } }"))
    return [f"{indent}{{"] + _aligned(pairs, indent + INDENT) + [f"{indent}}}"]


def document_block(statement: NewStatement, indent: str) -> list[str]:
    """The statement as a `statement { ... }` block of an aws_iam_policy_document."""
    inner = indent + INDENT
    lines = [f"{indent}statement {{"]
    lines += _aligned([("sid", _quote(statement.sid)), ("actions", _list(statement.actions)),
                       ("resources", _list(statement.resources))], inner)
    lines += [f"{inner}principals {{"] + _aligned([("type", _quote(statement.principal_type)),
                                                    ("identifiers", _list(statement.principals))],
                                                   inner + INDENT) + [f"{inner}}}"]
    if statement.condition:
        test, variable, values = statement.condition
        lines += [f"{inner}condition {{"] + _aligned([("test", _quote(test)), ("variable", _quote(variable)),
                                                      ("values", _list(values))], inner + INDENT) + [f"{inner}}}"]
    return lines + [f"{indent}}}"]


def as_json(statement: NewStatement) -> str:
    """The statement as JSON, for messages about policies iaclint cannot edit."""
    data = {"Sid": statement.sid, "Effect": "Allow", "Principal": {statement.principal_type: statement.principals},
            "Action": statement.actions, "Resource": statement.resources[0]}
    if statement.condition:
        test, variable, values = statement.condition
        data["Condition"] = {test: {variable: values}}
    return json.dumps(data)


# ---- where the policy is written -----------------------------------------------------------


def _statement_list(expr: ast.Expr) -> ast.TupleExpr | None:
    if not isinstance(expr, ast.Call) or expr.name != "jsonencode" or len(expr.args) != 1:
        return None
    document = expr.args[0]
    if not isinstance(document, ast.ObjectExpr):
        return None
    for item in document.items:
        key = item.key.name if isinstance(item.key, ast.Variable) else (
            item.key.literal if isinstance(item.key, ast.Template) and item.key.is_literal else
            item.key.value if isinstance(item.key, ast.Literal) else None)
        if key == "Statement" and isinstance(item.value, ast.TupleExpr):
            return item.value
    return None


def _document_of(holder: Resource, attribute: str, graph: Graph) -> Resource | None:
    view = holder.attr(attribute)
    if view.value is None:
        return None
    documents = [r for r in graph.referenced(view.value.all_refs())
                 if r.mode == "data" and r.type == "aws_iam_policy_document"]
    return documents[0] if len(documents) == 1 else None


def add_statements(holder: Resource, attribute: str, statements: list[NewStatement], graph: Graph,
                   default_statement: NewStatement | None = None) -> tuple[list[Edit], str]:
    """Edits that add the statements to the policy ``holder.attribute``, and where; LayoutError when not possible.

    A key without a policy has the AWS default one: it gets a jsonencode policy holding
    ``default_statement`` (the account root's) and the new statements.
    """
    block = getattr(holder, "block", None)
    node = block.attribute(attribute) if block is not None else None
    if node is None and block is not None and not holder.attr(attribute).present and default_statement is not None:
        source = graph.sources.get(block.file)
        if source is not None:
            return ([_new_policy(source, block, attribute, [default_statement] + statements)],
                    f"a new {attribute} of {holder.address} ({source.path}) that keeps the default policy's statement")
    if node is None:
        raise LayoutError(f"{holder.address} has no {attribute} written in its block")
    source = graph.sources.get(node.file)
    if source is None:
        raise LayoutError(f"the file of {holder.address} is not available")
    tuple_expr = _statement_list(node.expr)
    if tuple_expr is not None:
        return [_append_to_list(source, tuple_expr, statements)], f"{holder.address}.{attribute} ({source.path})"
    document = _document_of(holder, attribute, graph)
    if document is not None and getattr(document, "block", None) is not None and not document.not_editable:
        doc_source = graph.sources.get(document.block.file)
        if doc_source is not None and document.module_address == holder.module_address:
            return [_append_blocks(doc_source, document.block, statements)], f"{document.address} ({doc_source.path})"
    shown = "; ".join(as_json(s) for s in statements)
    raise LayoutError(f"the policy of {holder.address} is not a jsonencode(...) with a Statement list nor an "
                      f"aws_iam_policy_document of the same module; add this statement to it: {shown}")


def _append_to_list(source: SourceFile, tuple_expr: ast.TupleExpr, statements: list[NewStatement]) -> Edit:
    nl = source.newline
    if not tuple_expr.items:
        raise LayoutError("the Statement list is empty")
    last = tuple_expr.items[-1]
    start_line = source.line_start(last.start)
    own_line = not source.text[start_line:last.start].strip()
    after = last.end
    rest = source.text[after:tuple_expr.end]
    trailing_comma = rest.lstrip().startswith(",")
    if own_line:
        # one element per line: a new element after the last, keeping the list's comma style
        indent = line_indent(source, last.start)
        chunks = [nl.join(jsonencode_object(s, indent)) for s in statements]
        if trailing_comma:
            position = after + rest.index(",") + 1
            text = "".join(nl + c + "," for c in chunks)
        else:
            position = after
            text = "".join("," + nl + c for c in chunks)
        return Edit(source.path, position, position, text)
    # `[{ ... }]`: continue with "}, {" on the closing line, indented as terraform fmt wants it there
    indent = line_indent(source, last.end)
    close_line = source.line_start(after - 1)
    if source.text[close_line:after - 1].strip():
        raise LayoutError("the last statement does not end on a line of its own")
    text = indent + INDENT + "}"
    for number, statement in enumerate(statements):
        lines = jsonencode_object(statement, indent)
        closing = indent + INDENT + "}" if number < len(statements) - 1 else indent + "}"
        text += ", {" + nl + nl.join(lines[1:-1]) + nl + closing
    return Edit(source.path, close_line, after, text)


def _append_blocks(source: SourceFile, block: ast.Block, statements: list[NewStatement]) -> Edit:
    nl = source.newline
    close_start = source.line_start(block.close_brace)
    if source.text[close_start:block.close_brace].strip():
        raise LayoutError("the policy document's closing brace is not on a line of its own")
    indent = line_indent(source, block.start) + INDENT
    text = ""
    for index, statement in enumerate(statements):
        blank = nl if (block.body.items or index) else ""
        text += blank + nl.join(document_block(statement, indent)) + nl
    return Edit(source.path, close_start, close_start, text)


def _new_policy(source: SourceFile, block: ast.Block, attribute: str, statements: list[NewStatement]) -> Edit:
    nl = source.newline
    close_start = source.line_start(block.close_brace)
    if source.text[close_start:block.close_brace].strip():
        raise LayoutError("the block's closing brace is not on a line of its own")
    indent = line_indent(source, block.start) + INDENT
    lines = [f"{indent}{attribute} = jsonencode({{", f"{indent}{INDENT}Version = \"2012-10-17\"",
             f"{indent}{INDENT}Statement = ["]
    for statement in statements:
        object_lines = jsonencode_object(statement, indent + INDENT * 2)
        lines += object_lines[:-1] + [object_lines[-1] + ","]
    lines += [f"{indent}{INDENT}]", f"{indent}}})"]
    return Edit(source.path, close_start, close_start, nl.join(lines) + nl)
