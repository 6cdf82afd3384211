"""Report text made without the standard library's indenting encoder (formatters/jsontext.py) and diffs made from
edits (fixes/diff.py) must be exactly what the standard library (json.dumps, difflib) writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from iaclint.formatters.jsontext import Streamed, document_chunks, dumps
from iaclint.run.pipeline import check_paths

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
