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
