"""Add a statement to a key or vault policy, where the policy is written so that it can be done exactly.

Three forms can be edited without rewriting anything else: a `jsonencode({ Statement = [...] })` on
the resource (a new object after the last statement), a `data "aws_iam_policy_document"` the policy
refers to (a new `statement` block at its end), and a JSON heredoc (a new JSON object after the last
statement, indented as its neighbours). A quoted JSON string, a `file()` or a policy built elsewhere
gets no automatic edit: the message shows the statement to add. Policy changes are made in place, so
these fixes are safe to apply.
"""

from __future__ import annotations

import json

from iaclint.graph.model import Graph, Resource
from iaclint.hcl import ast
from iaclint.hcl.layout import INDENT, LayoutError, line_indent
from iaclint.model import Edit, Record
from iaclint.source import SourceFile


class NewStatement(Record):
    """A statement to add, in the words both forms need."""

    _shown = ("sid", "principals", "actions", "condition", "resources", "principal_type")

    def __init__(self, sid: str, principals: list[str], actions: list[str],
                 condition: tuple[str, str, list[str]] | None = None, resources: list[str] | None = None,
                 principal_type: str = "AWS"):
        self.sid = sid
        self.principals = principals  # principal identifiers (HCL string literals, may hold ${...})
        self.actions = actions
        self.condition = condition  # (test, variable, values)
        self.resources = ["*"] if resources is None else resources
        self.principal_type = principal_type  # or "Service": logs.eu-west-1.amazonaws.com, cloudtrail.amazonaws.com


class PolicyEdit(Record):
    """Statements a finding wants added to the policy ``attribute`` of the resource at ``holder``.

    A holder without a policy has the AWS default one: it gets a new policy that starts with
    ``default_statement`` (the account root's).
    """

    _shown = ("holder", "attribute", "statements", "note", "default_statement")

    def __init__(self, holder: str, attribute: str, statements: list[NewStatement], note: str,
                 default_statement: NewStatement | None = None):
        self.holder = holder
        self.attribute = attribute
        self.statements = statements
        self.note = note
        self.default_statement = default_statement


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
    if isinstance(node.expr, ast.Template) and node.expr.heredoc:
        return [_append_to_heredoc(source, node.expr, statements)], f"{holder.address}.{attribute} ({source.path})"
    document = _document_of(holder, attribute, graph)
    if document is not None and getattr(document, "block", None) is not None and not document.not_editable:
        doc_source = graph.sources.get(document.block.file)
        if doc_source is not None and document.module_address == holder.module_address:
            return [_append_blocks(doc_source, document.block, statements)], f"{document.address} ({doc_source.path})"
    shown = "; ".join(as_json(s) for s in statements)
    raise LayoutError(f"the policy of {holder.address} is not a jsonencode(...) with a Statement list, a JSON heredoc "
                      f"nor an aws_iam_policy_document of the same module; add this statement to it: {shown}")


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


# ---- a JSON heredoc -------------------------------------------------------------------------


def json_object_lines(statement: NewStatement, indent: str, unit: str) -> list[str]:
    """The statement as indented JSON lines (`${...}` interpolations kept, as the heredoc evaluates them)."""
    data = json.loads(as_json(statement))
    if len(statement.principals) == 1:
        data["Principal"][statement.principal_type] = statement.principals[0]
    if len(statement.actions) == 1:
        data["Action"] = statement.actions[0]
    for tests in data.get("Condition", {}).values():
        for key, values in tests.items():
            if isinstance(values, list) and len(values) == 1:
                tests[key] = values[0]
    return [indent + line for line in json.dumps(data, indent=unit or "  ").splitlines()]


def _scan_statement_list(text: str, start: int, end: int) -> tuple[int, int, int]:
    """In heredoc JSON text[start:end]: (offset of the "{" that opens the Statement list's last element, end of
    that element, offset of the list's "]"). Interpolations (`${...}`) are skipped whole; a directive (`%{`) or
    any other shape is a LayoutError."""
    stack: list[str] = []
    index = start
    pending_key: str | None = None
    last_key: str | None = None
    list_open = -1
    last_end = -1
    element_start = -1
    while index < end:
        char = text[index]
        if char == '"':
            close = _string_end(text, index, end)
            if len(stack) == 1 and stack[0] == "{":
                pending_key = text[index + 1:close - 1]
            if list_open >= 0 and len(stack) == 2:
                last_end = close
            index = close
            continue
        if text.startswith("%{", index):
            raise LayoutError("the heredoc holds a template directive (%{...}): edit the policy by hand")
        if text.startswith("${", index):
            index = _interpolation_end(text, index, end)
            if list_open >= 0 and len(stack) == 2:
                last_end = index
            continue
        if char == ":" and pending_key is not None:
            last_key, pending_key = pending_key, None
        elif char in "{[":
            if len(stack) == 1 and char == "[" and last_key == "Statement":
                list_open = index
            elif len(stack) == 1 and char == "{" and last_key == "Statement":
                raise LayoutError("the heredoc's Statement is one object, not a list: edit the policy by hand")
            elif list_open >= 0 and len(stack) == 2:
                element_start = index
            stack.append(char)
        elif char in "}]":
            if not stack:
                raise LayoutError("the heredoc is not balanced JSON")
            stack.pop()
            if list_open >= 0 and len(stack) == 2:
                last_end = index + 1
            if list_open >= 0 and len(stack) == 1 and char == "]":
                if last_end < 0 or element_start < 0:
                    raise LayoutError("the heredoc's Statement list is empty, or its last element is not an object")
                return element_start, last_end, index
        elif char == "," and len(stack) == 1:
            last_key = None
        index += 1
    raise LayoutError("the heredoc has no Statement list in its top-level object")


def _string_end(text: str, index: int, end: int) -> int:
    position = index + 1
    while position < end:
        if text[position] == "\\":
            position += 2
            continue
        if text.startswith("${", position):
            position = _interpolation_end(text, position, end)
            continue
        if text[position] == '"':
            return position + 1
        position += 1
    raise LayoutError("the heredoc has an unterminated string")


def _interpolation_end(text: str, index: int, end: int) -> int:
    depth = 0
    position = index + 1
    while position < end:
        char = text[position]
        if char == '"':
            position = _string_end(text, position, end)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    raise LayoutError("the heredoc has an unterminated interpolation")


def _append_to_heredoc(source: SourceFile, template: ast.Template, statements: list[NewStatement]) -> Edit:
    """A new JSON object after the last statement of a heredoc's Statement list, indented like that statement."""
    text = source.text
    body = text.index("\n", template.start) + 1  # the line after <<EOF
    element_start, last_end, _ = _scan_statement_list(text, body, template.end)
    indent = line_indent(source, element_start)
    nl = source.newline
    closing_own_line = not text[source.line_start(last_end - 1):last_end - 1].strip()
    if not closing_own_line or "\n" not in text[element_start:last_end]:
        compact = ", ".join(json.dumps(json.loads(as_json(s)), separators=(", ", ": ")) for s in statements)
        return Edit(source.path, last_end, last_end, ", " + compact)
    inner = _inner_indent(text, element_start, last_end, indent)
    unit = inner[len(indent):] if inner.startswith(indent) and len(inner) > len(indent) else "  "
    chunks = [nl.join(json_object_lines(s, indent, unit)) for s in statements]
    return Edit(source.path, last_end, last_end, "".join("," + nl + chunk for chunk in chunks))


def _inner_indent(text: str, start: int, end: int, indent: str) -> str:
    """The indentation of the first key line inside the element."""
    for line in text[start:end].split("\n")[1:]:
        if line.strip():
            return line[:len(line) - len(line.lstrip())]
    return indent + "  "
