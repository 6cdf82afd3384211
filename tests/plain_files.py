"""Generated HCL files of plain lines (what hcl/tsparse.py reads line by line without tree-sitter), with the near
misses a line reader could get wrong: keywords, empty lists, control characters, comments, heredocs, layout errors."""

from __future__ import annotations

from hypothesis import strategies as st

WORDS = ["a", "b_c", "x-y", "aws_x", "_", "v1"]
ODD_WORDS = ["true", "false", "null", "for", "in", "if", "else", "endif", "é", "1a", "a.", "-a"]
NUMBERS = ["0", "1", "2.5", "10"]
ODD_NUMBERS = ["00", "1.", ".5", "1e3", "-1", "12345678901234567890", "0x1"]
TEXT = ["a", " ", "é", "${a}", "${ a.b }", '${"s"}', "$", "%", "a-b", "#", "//", "{", "}"]
ODD_TEXT = ["$${", "%%{", "${true.x}", "${for}", "\\n", "\\", "\t", "/*", "\x01", "'", "$$", "%{", "${", "\x00", "\r",
            "\n", '"', "\u2028", "${a b}", "${ }", "\x7f"]
SPACES = ["", "  ", "    ", " ", "\t"]
ODD_SPACES = ["\x0c", "\x0b", "\u00a0"]
SEPARATORS = [",", ", ", ",\n  ", "\n", ",\n"]
ODD_SEPARATORS = [",,", "", " ", "\n,", "\r\n", " ,\n"]
COMMENTS = ["", " # c", " // c"]
ODD_COMMENTS = [" /* c */", "#", " # }", " // {", " /*", "# \x00"]
ENDS = ["\n", "\r\n"]
ODD_ENDS = ["", "\n\n", " \n"]
LINES = ["", "# c", "// c"]
ODD_LINES = ["/* c */", "/*\n*/", "}", "{", "a = 1 b = 2", "a {\n}", '"x" = 1', "a = <<EOT\nb = 1\nEOT", "a = b + c",
             "a = x[0]", "a = -1", "a = f(x...)", "a {b = 1}", "a { b = 1 }", "a = [for x in y : x]", "a = {",
             "a = 1 }", "a \"${x}\" {\n}", "a\n= 1", "a =\n1"]


@st.composite
def pick(draw, plain: list, odd: list, noise: int):
    """One of ``plain``, or of ``odd`` ``noise`` times in a hundred."""
    return draw(st.sampled_from(odd if draw(st.integers(0, 99)) < noise else plain))


@st.composite
def values(draw, noise: int, depth: int = 0) -> str:
    """A name with steps, number, string, tuple, object or call, nested two deep."""
    form = draw(st.integers(0, 7 if depth < 2 else 2))
    if form == 0:
        return ".".join(draw(st.lists(pick(WORDS, ODD_WORDS, noise), min_size=1, max_size=3)))
    if form == 1:
        return draw(pick(NUMBERS, ODD_NUMBERS, noise))
    if form == 2:
        return '"' + "".join(draw(st.lists(pick(TEXT, ODD_TEXT, noise), max_size=4))) + '"'
    items = draw(st.lists(values(noise, depth + 1), max_size=3))
    separator = draw(pick(SEPARATORS, ODD_SEPARATORS, noise))
    space = draw(st.sampled_from(["", " ", "\n", "\n  "]))
    if form in (3, 4):
        return "[" + space + separator.join(items) + draw(st.sampled_from(["", ",", " ", "\n"])) + "]"
    if form in (5, 6):
        keys = draw(st.lists(st.one_of(pick(WORDS, ODD_WORDS, noise), values(noise, 3)), min_size=len(items),
                             max_size=len(items)))
        pairs = [f"{k}{draw(st.sampled_from([' = ', '=', ': ', ' =  ']))}{v}" for k, v in zip(keys, items)]
        return "{" + space + separator.join(pairs) + draw(st.sampled_from(["", ",", "\n", " "])) + "}"
    return draw(pick(WORDS, ODD_WORDS, noise)) + "(" + space + separator.join(items) + ")"


@st.composite
def heredocs(draw, noise: int) -> str:
    """A heredoc (`<<` or `<<-`), of text or with the sequences and closing lines tree-sitter is left to read."""
    marker = draw(st.sampled_from(["EOT", "EOF", "POLICY", "X"]))
    lines = draw(st.lists(st.sampled_from(["{", '  "a": 1', "}", "", "  x", "\tb", "é ü"] + (
        ["${a}", "$${a}", "%{ if x }", "%%{", marker + "X", "  " + marker + "X", " " + marker, marker + " ", "a\r",
         "\x00"] if draw(st.integers(0, 99)) < noise * 3 else [])), max_size=4))
    closing = draw(st.sampled_from([marker, marker, "  " + marker, "\t" + marker] + (
        [marker + " ", marker.lower(), marker + "\r"] if draw(st.integers(0, 99)) < noise else [])))
    return f"<<{draw(st.sampled_from(['', '-']))}{marker}\n" + "".join(f"{line}\n" for line in lines) + closing


@st.composite
def plain_files(draw) -> str:
    """Up to ten lines, the blocks they open mostly closed; a file in five has no odd token at all."""
    noise = draw(st.sampled_from([0, 0, 2, 10, 40]))  # percent of tokens drawn from the odd ones
    lines = []
    depth = 0
    for _ in range(draw(st.integers(0, 10))):
        indent = draw(pick(SPACES, ODD_SPACES, noise))
        form = draw(st.integers(0, 5))
        if form <= 2:
            equals = draw(st.sampled_from([" = ", "=", " =  "]))
            value = draw(heredocs(noise)) if draw(st.integers(0, 5)) == 0 else draw(values(noise))
            line = f"{draw(pick(WORDS, ODD_WORDS, noise))}{equals}{value}"
        elif form == 3:
            labels = draw(st.lists(st.one_of(pick(WORDS, ODD_WORDS, noise), values(noise, 3)), max_size=2))
            opening = draw(st.sampled_from([" {", "{", " {}", " { }"]))
            line = " ".join([draw(pick(WORDS, ODD_WORDS, noise))] + labels) + opening
            depth += line.endswith("{")
        elif form == 4 and depth:
            line = "}"
            depth -= 1
        else:
            line = draw(pick(LINES, ODD_LINES, noise))
        lines.append(indent + line + draw(pick(COMMENTS, ODD_COMMENTS, noise)) + draw(pick(ENDS, ODD_ENDS, noise)))
    if draw(st.integers(0, 9)):
        lines.extend("}\n" for _ in range(depth))
    return "".join(lines)
