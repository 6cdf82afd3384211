"""python-hcl2's Lark grammar, amended where it and HashiCorp's parser disagree (parse parity).

Each amendment is a textual replacement of the upstream grammar, checked to apply, so an upgrade of
python-hcl2 that changes a rule fails loudly in the tests instead of silently parsing differently:

- `=>` may start a new line in `{ for ... }` (terraform allows a newline before it);
- `${~ x ~}` strip markers in interpolations;
- Unicode letters in identifiers (`café`);
- repeated unary operators (`!!true`, `--1`);
- `$${` and `%%{` escapes need no closing brace;
- a heredoc's end marker may be followed by spaces.

Newlines inside parentheses and square brackets are insignificant in HCL; the post-lexer drops them
there (so `(var.x\\n  .y)` parses), and merges a newline into a following `=>`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lark import Lark, Token

AMENDMENTS = [
    ("NAME : /[a-zA-Z_][a-zA-Z0-9_-]*/", "NAME : /[^\\W\\d][\\w-]*/"),
    ("ESCAPED_INTERPOLATION.2: /\\$\\$\\{[^}]*\\}/", "ESCAPED_INTERPOLATION.2: /\\$\\$\\{/"),
    ("ESCAPED_DIRECTIVE.2: /%%\\{[^}]*\\}/", "ESCAPED_DIRECTIVE.2: /%%\\{/"),
    ("interpolation: INTERP_START expression RBRACE",
     "interpolation: INTERP_START STRIP_MARKER? expression STRIP_MARKER? RBRACE"),
    ("!unary_op : (MINUS | NOT) expr_term", "!unary_op : (MINUS | NOT) (expr_term | unary_op)"),
    ("(?P=heredoc)\\r?\\n/", "(?P=heredoc)[ \\t]*\\r?\\n/"),
    ("(?P=heredoc_trim)\\r?\\n/", "(?P=heredoc_trim)[ \\t]*\\r?\\n/"),
]

_OPEN = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE", "INTERP_START": "RBRACE", "DIRECTIVE_START": "RBRACE"}
_CONTINUES = {"DOUBLE_EQ", "NEQ", "LT", "GT", "LEQ", "GEQ", "ASTERISK", "SLASH", "PERCENT", "DOUBLE_AMP",
              "DOUBLE_PIPE", "PLUS", "QMARK", "FOR_OBJECT_ARROW"}


def grammar_text() -> str:
    import hcl2

    text = (Path(hcl2.__file__).parent / "hcl2.lark").read_text(encoding="utf-8")
    for old, new in AMENDMENTS:
        if old not in text:
            raise RuntimeError(f"python-hcl2's grammar changed: {old!r} is gone; review iaclint/hcl/grammar.py")
        text = text.replace(old, new)
    return text


class PostLexer:
    """Newlines that HCL ignores: inside ( ) and [ ], and before a binary operator or `=>`."""

    always_accept = ()

    def process(self, stream):
        stack: list[str] = []
        pending: Token | None = None
        for token in stream:
            kind = token.type
            if kind == "NL_OR_COMMENT":
                if stack and stack[-1] in ("RPAR", "RSQB"):
                    continue  # insignificant inside parentheses and brackets
                if pending is not None:
                    yield pending
                pending = token
                continue
            if pending is not None:
                if kind in _CONTINUES:
                    token = token.update(value=str(pending) + str(token))
                else:
                    yield pending
                pending = None
            if kind in _OPEN:
                stack.append(_OPEN[kind])
            elif stack and kind == stack[-1]:
                stack.pop()
            yield token
        if pending is not None:
            yield pending


@lru_cache(maxsize=1)
def parser() -> Lark:
    """Built once per process (about 2 s). The compiled tables are kept between runs in the parse cache's
    generation folder as signed plain data (hcl/cache.py), never through Lark's own cache: that is a pickle,
    by default at a predictable name in the shared temporary directory, and loading it runs whatever it
    names."""
    import hashlib

    from lark import lark as lark_module

    from iaclint.hcl.cache import ParseCache

    text = grammar_text()
    name = "grammar-" + hashlib.sha256(text.encode()).hexdigest()[:16]
    cache = ParseCache()  # the user's, also under --no-cache: the tables do not depend on what is checked
    kept = cache.get_data(name)
    if isinstance(kept, dict):
        try:
            return Lark._load_from_dict(kept["data"], kept["memo"], postlex=PostLexer(), propagate_positions=True)
        except Exception:  # not tables this Lark can read: built again below
            pass
    built = Lark(text, parser="lalr", propagate_positions=True, postlex=PostLexer())
    data, memo = built.memo_serialize([lark_module.TerminalDef, lark_module.Rule])
    # as Lark.save leaves them out: given again when loading (the post-lexer is code, not data)
    data["options"] = {k: v for k, v in data["options"].items() if k not in lark_module._LOAD_ALLOWED_OPTIONS}
    cache.put_data(name, {"data": data, "memo": memo})
    return built
