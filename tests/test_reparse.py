"""An edited file parsed again from its old tree (hcl/reparse.py) is the tree a whole parse of the new text gives.

`fix` and `check --diff` verify each pass of fixes with a lint of the edited files: that lint must see exactly
what parsing the files afresh shows, spans included, or a fix could be judged on a tree that is not the file's.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from iaclint.hcl import ast
from iaclint.hcl.parser import ParseFailure, parse_source
from iaclint.hcl.reparse import reparse
from iaclint.model import Edit
from iaclint.source import SourceFile
from support import FIXTURES

TEXT = '''# a comment before everything

resource "aws_kms_key" "one" {
  description = "é one"
}

resource "aws_db_instance" "db" {
  engine            = "postgres"
  storage_encrypted = false
  tags = {
    Name = "db"
  }
}

/* a comment between blocks */
resource "aws_kms_key" "two" {
  policy = <<EOT
resource "aws_kms_key" "inside_a_heredoc" {
EOT
}

locals {
  x = [for k in var.list : upper(k)]
}
'''


def _whole(text: str, file: str = "main.tf") -> ast.Body | None:
    try:
        return parse_source(SourceFile(file, text))
    except ParseFailure:
        return None


def _edited(text: str, edits: list[Edit]) -> str:
    out, cursor = [], 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        out += [text[cursor:e.start], e.replacement]
        cursor = e.end
    return "".join(out) + text[cursor:]


def _same_as_whole(text: str, edits: list[Edit], file: str = "main.tf", old: ast.Body | None = None
                   ) -> ast.Body | None:
    """Reparse; when it gives a tree, it is the whole parse's (and the whole parse succeeds)."""
    old = old or _whole(text, file)
    assert old is not None
    new = _edited(text, edits)
    tree = reparse(old, text, new, edits)
    if tree is not None:
        want = _whole(new, file)
        assert want is not None, "reparse gave a tree for a text that does not parse"
        assert ast.dump(tree) == ast.dump(want)
    return tree


def _at(text: str, marker: str, replacement: str, *, after: bool = False, length: int = 0) -> Edit:
    at = text.index(marker) + (len(marker) if after else 0)
    return Edit("main.tf", at, at + length, replacement)


def test_an_edited_block_is_parsed_again_and_the_others_are_kept_or_moved():
    flag = TEXT.index("false")
    edits = [Edit("main.tf", flag, flag + len("false"), "true\n  kms_key_id        = aws_kms_key.one.arn")]
    old = _whole(TEXT)
    tree = _same_as_whole(TEXT, edits, old=old)
    assert tree is not None
    assert tree.items[0] is old.items[0]  # before the edit: the very nodes
    moved, was = tree.items[2], old.items[2]
    assert moved is not was and moved.start > was.start  # after it: copies, further on
    assert moved.open_brace - moved.start == was.open_brace - was.start


@pytest.mark.parametrize("edit", [
    lambda t: _at(t, 'resource "aws_db_instance"', 'resource "aws_kms_key" "new" {}\n\n'),  # a block inserted
    lambda t: _at(t, "\n\n/* a comment", "\n\nresource \"aws_kms_key\" \"added\" {\n  description = \"x\"\n}"),  # after
    # a closing brace
    lambda t: _at(t, "", "resource \"x\" \"first\" {}\n"),  # at the very start
    lambda t: Edit("main.tf", len(t), len(t), "\nresource \"x\" \"last\" {}\n"),  # at the end
    lambda t: _at(t, 'resource "aws_kms_key" "two"', "", length=t.index("locals") - t.index('resource "aws_kms_key" "two"')),
    lambda t: _at(t, "upper(k)", "lower(k)", length=len("upper(k)")),  # inside the last block
])
def test_edits_anywhere_give_the_whole_parse(edit):
    assert _same_as_whole(TEXT, [edit(TEXT)]) is not None


@pytest.mark.parametrize("replacement", [
    "} resource \"x\" \"same_line\" {}",  # a block on the line of another: terraform rejects it
    "\nbroken = {\n",  # does not parse
    "\ntop_level = 1\n",  # a top-level argument: checked across the whole file
    "\n  policy = <<EOT\n",  # an open heredoc swallowing what follows
    "\r",  # a lone carriage return
])
def test_what_the_pieces_cannot_tell_is_left_to_the_whole_parse(replacement):
    end = TEXT.index("}\n\n/* a comment")
    edits = [Edit("main.tf", end, end + 1, replacement)]
    assert _same_as_whole(TEXT, edits) is None


def test_crlf_and_wide_characters_before_the_edit():
    text = TEXT.replace("\n", "\r\n").replace("é one", "é ☃ 𝄞 one")
    at = text.index("storage_encrypted = false") + len("storage_encrypted = ")
    tree = _same_as_whole(text, [Edit("main.tf", at, at + len("false"), "true")])
    assert tree is not None


def _fixture_texts() -> list[tuple[str, str]]:
    texts = []
    for path in sorted(FIXTURES.rglob("*.tf")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if text.startswith("\ufeff") or _whole(text, path.name) is None:
            continue
        texts.append((path.name, text))
    return texts


SNIPPETS = ["", "x", "\n", "}", "{", "\n}\n", '"', "\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = \"b\"\n}\n",
            "  encrypted = true\n", "# comment\n", "<<EOT\n", "\nEOT\n", "${", "/*", "*/", " = ", "[", "]"]


def test_random_edits_of_every_fixture_reparse_as_the_whole_file_parses():
    """Random insertions, deletions and replacements (one to three per file) in every fixture .tf file."""
    rng = random.Random(25)
    reused = 0
    for name, text in _fixture_texts():
        for _ in range(4):
            edits, taken = [], []
            for _ in range(rng.randint(1, 3)):
                start = rng.randint(0, len(text))
                end = min(len(text), start + rng.choice([0, 0, 1, 5, 40]))
                if any(start <= b and a <= end for a, b in taken):
                    continue
                taken.append((start, end))
                edits.append(Edit(name, start, end, rng.choice(SNIPPETS)))
            if _same_as_whole(text, edits, name) is not None:
                reused += 1
    assert reused > 100  # the pieces were really used, not only the whole parse
