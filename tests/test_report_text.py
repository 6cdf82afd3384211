"""Report text made without the standard library's indenting encoder (formatters/jsontext.py) and diffs made from
edits (fixes/diff.py) must be exactly what the standard library (json.dumps, difflib) writes."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import iaclint.fixes.diff as diff_module
from iaclint.fixes.diff import ComposedEdits, edits_diff, file_diff
from iaclint.formatters.jsontext import Streamed, document_chunks, dumps
from iaclint.hcl.layout import apply_edits
from iaclint.model import Edit
from iaclint.run.pipeline import check_paths
from iaclint.source import BOM, SourceFile

from support import FIXTURES

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.text())
KEYS = st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.lists(inner, max_size=3).map(tuple),
                                                         st.dictionaries(KEYS, inner, max_size=4)), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_json_text_is_what_json_dumps_writes(value):
    assert dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), VALUES, max_size=5), st.integers(min_value=1, max_value=5))
def test_a_document_in_pieces_is_the_same_text(document, batch):
    streamed = {key: Streamed(value, lambda item: item) if isinstance(value, list) else value
                for key, value in document.items()}
    pieces = list(document_chunks(streamed, batch=batch))
    assert "".join(pieces) == json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_what_json_cannot_hold_is_refused_as_json_dumps_refuses_it():
    for value in (object(), {1j: 1}, [{1, 2}]):
        for encode in (dumps, lambda v: json.dumps(v, indent=2)):
            try:
                encode(value)
            except TypeError:
                continue
            raise AssertionError(f"{value!r} was encoded")


def test_reports_in_every_json_format_are_what_json_dumps_writes():
    """The formats' own text against json.dumps of the same data, on the demo (findings, fixes, related places)."""
    from iaclint.formatters import json_format, rdjson_format, render, render_chunks, sarif_format
    from iaclint.run.lint import LintOptions

    report = check_paths([str(FIXTURES / "demo")], LintOptions())
    assert report.findings and any(f.fix is not None for f in report.findings)
    expected = json.dumps(json_format.report_dict(report), indent=2, ensure_ascii=False) + "\n"
    assert render("json", report) == expected
    assert "".join(render_chunks("json", report)) == expected
    assert render("sarif", report) == json.dumps(sarif_format.sarif_document(report), indent=2,
                                                 ensure_ascii=False) + "\n"
    findings = [f for f in report.findings if f.suppression is None and f.baseline_state != "baselined"]
    rdjson = {"source": {"name": "iaclint", "url": rdjson_format.HOME},
              "diagnostics": [rdjson_format.diagnostic(f, report) for f in findings]}
    assert render("rdjson", report) == json.dumps(rdjson, indent=2, ensure_ascii=False) + "\n"


def _random_edits(rng: random.Random, text: str, newline: str) -> list[Edit]:
    edits = []
    for _ in range(rng.randint(1, 8)):
        start = rng.randint(0, len(text))
        end = min(len(text), start + rng.randint(0, 15))
        edits.append(Edit("f.tf", start, end, rng.choice(["", "q", f"{newline}  b = 1{newline}", f"}}{newline}",
                                                          newline, f"x{newline}}}{newline}"])))
    edits.sort(key=lambda e: (e.start, e.end))
    return [] if any(a.end > b.start for a, b in zip(edits, edits[1:])) else edits


def _difflib_diff(text: str, edits: list[Edit], bom: bool) -> str:
    prefix = BOM if bom else ""
    return file_diff("f.tf", prefix + text, prefix + apply_edits(text, edits))


@pytest.mark.parametrize("lines", ["repeated", "distinct"])
@pytest.mark.parametrize("regions", [False, True], ids=["one-comparison", "regions"])
def test_a_patch_made_from_edits_is_difflibs(lines, regions, monkeypatch):
    """Edits anywhere (file start and end, adjacent, several per line), CRLF, a BOM, no final newline. Files this
    small are compared whole, as difflib compares them; forced into groups of edits (as a file of over 2,000
    lines is), the patch is still difflib's where lines do not repeat next to the edits."""
    if regions:
        monkeypatch.setattr(diff_module, "ONE_COMPARISON", 0)
    rng = random.Random(11)
    vocabulary = ["}", "  a = 1", "", "x"] if lines == "repeated" else [f"  a{i} = {i}" for i in range(1000)]
    compared = 0
    for _ in range(3000):
        newline = rng.choice(["\n", "\r\n"])
        text = "".join(rng.choice(vocabulary) + newline for _ in range(rng.randint(0, 60)))
        if rng.random() < 0.3:
            text = text.rstrip("\r\n")
        bom = rng.random() < 0.1
        edits = _random_edits(rng, text, newline)
        if not edits or (regions and lines == "repeated"):
            continue
        made = edits_diff("f.tf", SourceFile("f.tf", text, bom), [(e.start, e.end, e.replacement) for e in edits],
                          whole_file=True)
        assert made == _difflib_diff(text, edits, bom), (text, edits)
        compared += 1
    assert compared > 1000 or (regions and lines == "repeated")


def test_edits_at_the_edges_of_a_file():
    cases = [("", [Edit("f.tf", 0, 0, "a = 1\n")]),
             ("a = 1\n", [Edit("f.tf", 0, 0, "b = 2\n"), Edit("f.tf", 6, 6, "c = 3\n")]),
             ("a = 1", [Edit("f.tf", 5, 5, "\nb = 2")]),
             ("a = 1\nb = 2\n", [Edit("f.tf", 0, 6, "")]),
             ("a = 1\r\nb = 2\r\n", [Edit("f.tf", 4, 5, "2"), Edit("f.tf", 5, 5, "0"), Edit("f.tf", 12, 13, "3")]),
             ("a = 1\nb = 2", [Edit("f.tf", 6, 11, "")])]
    for text, edits in cases:
        for bom in (False, True):
            made = edits_diff("f.tf", SourceFile("f.tf", text, bom), [(e.start, e.end, e.replacement) for e in edits],
                              whole_file=True)
            assert made == _difflib_diff(text, edits, bom)


def test_edits_of_several_passes_are_composed_on_the_original_text():
    """Each pass edits the text the passes before it made; composed, they are edits of the original text that
    make the same final text (what the patch is made from)."""
    rng = random.Random(5)
    for _ in range(2000):
        text = "".join(f"  a{rng.randint(0, 9)} = 1\n" for _ in range(rng.randint(0, 20)))
        composed, current = ComposedEdits(len(text)), text
        for _ in range(rng.randint(1, 4)):
            edits = _random_edits(rng, current, "\n")
            composed, current = composed.apply(edits), apply_edits(current, edits)
            edits = composed.edits()
            assert all(a[1] <= b[0] for a, b in zip(edits, edits[1:]))
            assert apply_edits(text, [Edit("f.tf", *edit) for edit in edits]) == current


def test_a_large_file_with_many_fixes_makes_its_patch_in_linear_time():
    """250,000 lines and 20,000 edits: difflib over the whole texts did not finish; the regions take a moment. The
    hunks are those of each edit with its context."""
    text = "".join(f'resource "aws_ebs_volume" "v{i}" {{\n  encrypted = false\n}}\n' for i in range(80_000))
    source = SourceFile("big.tf", text)
    edits = []
    for i in range(0, 80_000, 4):
        start = text.index("false", source.offset(3 * i + 2))
        edits.append((start, start + 5, "true"))
    patch = edits_diff("big.tf", source, edits, whole_file=True)
    assert patch.count("\n@@ ") == len(edits)
    assert patch.count("\n-  encrypted = false\n+  encrypted = true\n") == len(edits)
