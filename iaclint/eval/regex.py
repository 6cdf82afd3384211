"""Regular expressions as Terraform runs them: RE2 syntax, linear time, Go's replacement templates.

replace(), regex() and regexall() take patterns from the configuration, so Python's backtracking `re`
could be made to run for hours on a few dozen characters (`^(a+)+$`). google-re2 matches in time linear
in the input, with the syntax Terraform (Go's regexp) accepts. Where it is not installed, a pattern is
run with `re` only when it cannot backtrack badly (no repetition inside a repetition, no alternation under
a repetition, no back-references or look-arounds) and the text is short; anything else is unknown.

Where Python's `re` would differ from Terraform, RE2 is what counts: `$` matches only at the very end
(not before a final newline), `\\d`, `\\w`, `\\s` and `\\b` are ASCII, `\\pL`, `[[:alpha:]]`, `\\Q...\\E`
and `(?U)` exist, back-references and look-arounds do not, and `\\Z` is an error (`\\z` is the end).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from iaclint.eval.convert import EvalError

_NOT_LOADED = object()
_re2: Any = _NOT_LOADED  # google-re2, imported when a pattern is first compiled (most runs compile none); None: absent


def _engine() -> Any:
    """google-re2, or None when it is not installed (the wheel exists for the usual platforms)."""
    global _re2
    if _re2 is _NOT_LOADED:
        try:
            import re2 as _re2
        except ImportError:  # pragma: no cover
            _re2 = None
    return _re2


FALLBACK_TEXT_LIMIT = 10_000  # characters a pattern with repetition may scan without RE2 (quadratic at worst)


class Unsafe(Exception):
    """The pattern cannot be run safely without RE2; the value is unknown."""


class Pattern:
    """A compiled pattern and the shape of its captures (for regex() results)."""

    def __init__(self, source: str):
        self.source = source
        engine = _engine()
        if engine is not None:
            options = engine.Options()
            options.log_errors = False  # RE2 would print parse errors on stderr
            try:
                self.compiled: Any = engine.compile(source, options)
            except Exception as exc:  # re2.error, whose message is bytes
                message = exc.args[0] if exc.args else exc
                if isinstance(message, bytes):
                    message = message.decode("utf-8", "replace")
                raise EvalError(f"invalid regular expression {source!r}: {message}") from None
            self.quadratic = False
        else:
            self.compiled = _fallback_compile(source)
            self.quadratic = "*" in source or "+" in source or "{" in source
        self.groups: int = self.compiled.groups
        index = dict(self.compiled.groupindex)
        self.names: list[str | None] = [None] * self.groups
        for name, number in index.items():
            self.names[number - 1] = name

    def check_text(self, text: str) -> None:
        if _engine() is not None:
            return
        if self.quadratic and len(text) > FALLBACK_TEXT_LIMIT:
            raise Unsafe(f"matching {self.source!r} against {len(text):,} characters could take very long "
                         "without google-re2")
        if "$" in self.source and text.endswith("\n"):
            raise Unsafe("Python's $ would also match before the final new line, RE2's does not (no google-re2)")

    def matches(self, text: str):
        """Every match as Go's FindAll gives them: an empty match right after a match is skipped."""
        self.check_text(text)
        pos = 0
        previous_end = -1
        end = len(text)
        while pos <= end:
            match = self.compiled.search(text, pos)
            if match is None:
                return
            start, stop = match.span()
            accept = True
            if stop == start:
                if start == previous_end:
                    accept = False
                pos = stop + 1
            else:
                pos = stop
            previous_end = stop
            if accept:
                yield match

    def result(self, text: str, match) -> Any:
        """regex()'s value for one match: the text, a list of captures, or a map of named captures."""
        if self.groups == 0:
            return match.group(0)
        captures = [match.group(i + 1) for i in range(self.groups)]
        if all(name is not None for name in self.names):
            return dict(zip(self.names, captures))
        return captures

    def check_result_type(self) -> None:
        named = sum(1 for n in self.names if n is not None)
        if 0 < named < self.groups:
            raise EvalError(f"invalid regular expression {self.source!r}: named and unnamed capture groups "
                            "cannot be mixed")


@lru_cache(maxsize=256)
def compile_pattern(source: str) -> Pattern:
    return Pattern(source)


def replace_all(pattern: Pattern, text: str, template: str, max_length: int) -> str:
    """Go's Regexp.ReplaceAllString: $1, ${1}, $name, ${name} and $$ in the template; a group that does not
    exist or did not match is empty. Raises LengthError as soon as the result grows past ``max_length``."""
    out: list[str] = []
    size = 0
    last = 0
    pieces = _template_pieces(template)
    for match in pattern.matches(text):
        start, stop = match.span()
        out.append(text[last:start])
        size += start - last
        for kind, piece in pieces:
            if kind == "text":
                out.append(piece)
                size += len(piece)
            else:
                group = _group_number(pattern, piece)
                if group is not None:
                    value = match.group(group)
                    if value:
                        out.append(value)
                        size += len(value)
        last = stop
        if size > max_length:
            raise LengthError(size)
    out.append(text[last:])
    size += len(text) - last
    if size > max_length:
        raise LengthError(size)
    return "".join(out)


class LengthError(Exception):
    def __init__(self, length: int):
        super().__init__(length)
        self.length = length


def _group_number(pattern: Pattern, name: str) -> int | None:
    if name.isdigit():
        number = int(name) if len(name) < 9 else -1
        return number if 0 <= number <= pattern.groups else None
    for i, group_name in enumerate(pattern.names):
        if group_name == name:
            return i + 1
    return None


_TEMPLATE_NAME = re.compile(r"[^\W]+|", re.UNICODE)  # letters, digits, underscore (Go's extract)


def _template_pieces(template: str) -> list[tuple[str, str]]:
    """("text", ...) and ("group", name) pieces of a Go replacement template."""
    pieces: list[tuple[str, str]] = []
    i = 0
    literal: list[str] = []
    while i < len(template):
        ch = template[i]
        if ch != "$":
            literal.append(ch)
            i += 1
            continue
        if template.startswith("$$", i):
            literal.append("$")
            i += 2
            continue
        brace = template.startswith("${", i)
        j = i + (2 if brace else 1)
        name = _TEMPLATE_NAME.match(template, j).group(0)
        if not name or (brace and not template.startswith("}", j + len(name))):
            literal.append("$")  # malformed: the $ is plain text
            i += 1
            continue
        if literal:
            pieces.append(("text", "".join(literal)))
            literal = []
        pieces.append(("group", name))
        i = j + len(name) + (1 if brace else 0)
    if literal:
        pieces.append(("text", "".join(literal)))
    return pieces


# ---- without google-re2 ---------------------------------------------------------------------------

_RE2_ONLY = re.compile(r"\\[pPQEzC]|\[\[:|\(\?[a-zA-Z]*U|\(\?<[A-Za-z_]")


def _fallback_compile(source: str):
    if _RE2_ONLY.search(source):
        raise Unsafe(f"{source!r} uses RE2 syntax that only google-re2 reads")
    if _may_backtrack(source):
        raise Unsafe(f"{source!r} could backtrack without google-re2 (repetition or alternation inside a "
                     "repetition, a back-reference or a look-around)")
    try:
        compiled = re.compile(source, re.ASCII)
    except re.error as exc:
        raise EvalError(f"invalid regular expression {source!r}: {exc}") from None
    except (RecursionError, OverflowError):
        raise Unsafe(f"{source!r} is too complex to run without google-re2") from None
    return compiled


def _may_backtrack(source: str) -> bool:
    """Could `re` take more than quadratic time on this pattern? Conservative: when unsure, yes."""
    try:
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover
        import sre_parse as parser  # type: ignore[no-redef]
    try:
        tree = parser.parse(source, re.ASCII)
    except Exception:
        return True
    unsafe = {"GROUPREF", "GROUPREF_EXISTS", "ASSERT", "ASSERT_NOT", "ATOMIC_GROUP"}

    def walk(items, inside_repeat: bool) -> bool:
        for op, av in items:
            name = str(op)
            if name in unsafe:
                return True
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, sub = av
                if inside_repeat:
                    return True
                if walk(sub, high != 1):
                    return True
            elif name == "BRANCH":
                if inside_repeat:
                    return True
                if any(walk(branch, inside_repeat) for branch in av[1]):
                    return True
            elif name == "SUBPATTERN":
                if walk(av[-1], inside_repeat):
                    return True
        return False

    return walk(tree, False)


def has_re2() -> bool:
    return _engine() is not None
