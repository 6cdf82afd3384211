"""Source files as iaclint sees them: decoded text plus what is needed to write them back unchanged.

Offsets everywhere in iaclint are character offsets into ``SourceFile.text``, which is the file's
content without a UTF-8 byte order mark. Line endings are kept as they are, so an edit computed
on the text and written back with the BOM restored changes no byte it does not mean to.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field
from pathlib import Path

BOM = "\ufeff"


class SourceError(Exception):
    """A file that cannot be read as text; the message says why, the line says where."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass
class SourceFile:
    path: str
    text: str
    has_bom: bool = False
    _line_starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        starts = [0]
        find = self.text.find
        pos = find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        self._line_starts = starts

    @property
    def newline(self) -> str:
        """The file's own line ending, used for every line an edit inserts."""
        first = self.text.find("\n")
        if first > 0 and self.text[first - 1] == "\r":
            return "\r\n"
        return "\n"

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def offset(self, line: int, column: int = 1) -> int:
        line = max(1, min(line, len(self._line_starts)))
        return min(self._line_starts[line - 1] + column - 1, len(self.text))

    def line_start(self, offset: int) -> int:
        line, _ = self.line_col(offset)
        return self._line_starts[line - 1]

    def line_end(self, offset: int) -> int:
        """Offset just past the line's newline (or the end of the text)."""
        end = self.text.find("\n", offset)
        return len(self.text) if end == -1 else end + 1

    def line_text(self, line: int) -> str:
        start = self.offset(line)
        end = self.text.find("\n", start)
        chunk = self.text[start:] if end == -1 else self.text[start:end]
        return chunk.rstrip("\r")

    def encoded(self, text: str | None = None) -> bytes:
        body = self.text if text is None else text
        return ((BOM if self.has_bom else "") + body).encode("utf-8")


def decode_source(path: str, data: bytes) -> SourceFile:
    """Decode file bytes, refusing binary content with a message a user understands."""
    if b"\x00" in data[:8192]:
        raise SourceError("not a text file (it contains NUL bytes); is this a binary file named .tf?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start]
        line = prefix.count(b"\n") + 1
        column = exc.start - (prefix.rfind(b"\n") + 1) + 1
        raise SourceError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", line, column) from None
    has_bom = text.startswith(BOM)
    if has_bom:
        text = text[1:]
    return SourceFile(path, text, has_bom)


def read_source(path: str | Path, overlay: dict[str, SourceFile] | None = None) -> SourceFile:
    """Read a file, or its pending fixed version from ``overlay`` (keyed by absolute path)."""
    p = Path(path)
    if overlay:
        pending = overlay.get(str(p.resolve()))
        if pending is not None:
            return SourceFile(display_path(p), pending.text, pending.has_bom)
    try:
        data = p.read_bytes()
    except IsADirectoryError:
        raise SourceError("is a directory, not a file") from None
    except OSError as exc:
        raise SourceError(exc.strerror or str(exc)) from None
    return decode_source(display_path(p), data)


def display_path(path: str | Path) -> str:
    """Relative to the current directory when inside it (stable in reports), else absolute."""
    p = Path(path)
    try:
        absolute = p.resolve()
    except OSError:
        absolute = p.absolute()
    cwd = Path.cwd().resolve()
    try:
        rel = absolute.relative_to(cwd)
    except ValueError:
        return str(absolute)
    return str(rel) if str(rel) != "." else "."


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename, keeping the permissions."""
    target = Path(path)
    mode = None
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        pass
    tmp = target.with_name(f".{target.name}.iaclint-{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
