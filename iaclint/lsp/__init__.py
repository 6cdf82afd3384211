"""The language server (`iaclint lsp`), installed with `pip install 'iaclint[lsp]'`.

Nothing here is imported by `iaclint check` or any other command: pygls and lsprotocol load only when the
server starts, so the command line's start-up and dependencies stay as they are.
"""

from __future__ import annotations

MISSING = ("the language server needs pygls and lsprotocol, which are not installed: "
           "pip install 'iaclint[lsp]'")


def serve() -> None:
    """Serve the Language Server Protocol on standard input and output until the client says exit.

    Modules load from where Python is installed, never from the workspace: `python -m iaclint lsp` put its start
    directory (usually the workspace) first on the import path, the server moves into the workspace, and pygls,
    iaclint and the standard library import some modules only when they are needed (a workspace's difflib.py
    or tomllib.py would run)."""
    import os
    import sys

    from iaclint.errors import UsageError

    first = sys.path[0] if sys.path else None
    if first in ("", os.getcwd()) and not _holds_iaclint(first or os.getcwd()):
        del sys.path[0]

    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError:
        raise UsageError(MISSING) from None
    from iaclint.lsp.server import serve as run

    run()


def _holds_iaclint(folder: str) -> bool:
    """Is iaclint itself imported from this folder (a source checkout run in place)? Then it stays importable."""
    from pathlib import Path

    import iaclint

    return Path(iaclint.__file__).resolve().is_relative_to(Path(folder).resolve())
