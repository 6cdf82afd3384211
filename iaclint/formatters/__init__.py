"""Output formats. Each module has ``render(report) -> str`` and reads nothing but the report."""

from __future__ import annotations

from importlib import import_module

FORMATS = ("text", "json", "sarif", "github", "junit", "markdown", "rdjson")


def render(name: str, report, **style) -> str:
    """Render a report; ``style`` (color, compact, quiet) only shapes the text format."""
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r} (one of: {', '.join(FORMATS)})")
    module = import_module(f"iaclint.formatters.{name}_format")
    return module.render(report, **style) if name == "text" else module.render(report)


def render_chunks(name: str, report, **style):
    """The same text, in pieces to write as they come (formats with a ``render_chunks`` of their own: a large
    report is never held whole)."""
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r} (one of: {', '.join(FORMATS)})")
    module = import_module(f"iaclint.formatters.{name}_format")
    chunks = getattr(module, "render_chunks", None)
    if chunks is None:
        return iter([render(name, report, **style)])
    return chunks(report, **style) if name == "text" else chunks(report)


class PathsOnce:
    """A report whose ``repo_path`` is worked out once per file: it resolves the path on the file system, and a
    report of 10,000 findings in one file asked it 20,000 times. Everything else is the report's own."""

    def __init__(self, report):
        self._report = report
        self._shown: dict[str, str] = {}

    def __getattr__(self, name: str):
        return getattr(self._report, name)

    def repo_path(self, file: str) -> str:
        shown = self._shown.get(file)
        if shown is None:
            shown = self._shown[file] = self._report.repo_path(file)
        return shown


def diff_of(fix, diffs: dict) -> str:
    """The fix's diff, made once per report (``diffs``) for fixes of the same edits of the same files: the
    instances of one block often share a fix."""
    sources = fix.sources
    if sources is None:
        return fix.diff
    # the diff reads only the edited files' sources: keyed by those (findings kept and read back each hold their
    # own view of the sources, of the same files); the value keeps them alive, so their ids stay theirs
    edited = tuple(sources.get(e.file) for e in fix.edits)
    key = (tuple(fix.edits), tuple(map(id, edited)))
    made = diffs.get(key)
    if made is None:
        made = diffs[key] = (fix.diff, edited)
    return made[0]
