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
    """The same text, in pieces to write as they come (only the text format is made in pieces)."""
    if name == "text":
        from iaclint.formatters.text_format import render_chunks as text_chunks

        return text_chunks(report, **style)
    return iter([render(name, report, **style)])
