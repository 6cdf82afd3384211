"""Source files as iaclint sees them: decoded text plus what is needed to write them back unchanged.

Offsets everywhere in iaclint are character offsets into ``SourceFile.text``, which is the file's
content without a UTF-8 byte order mark. Line endings are kept as they are, so an edit computed
on the text and written back with the BOM restored changes no byte it does not mean to.
"""

from __future__ import annotations

import bisect
from array import array
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
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
    """A file's text as read (BOM noted), with line starts for positions."""

    path: str
    text: str
    has_bom: bool = False
    _line_starts: array = field(default_factory=lambda: array("q"), repr=False)

    def __post_init__(self) -> None:
        starts = array("q", [0])  # an array, not a list of ints: a 5 MB file has 250,000 lines
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

    def utf8_position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset, the column counted in UTF-8 bytes."""
        line, column = self.line_col(offset)
        return line, len(self.line_text(line)[:column - 1].encode("utf-8")) + 1

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
    key = (str(path), os.getcwd())
    shown = _DISPLAYED.get(key)
    if shown is None:
        shown = _DISPLAYED[key] = _display_path(path)
    return shown


_DISPLAYED: dict[tuple[str, str], str] = {}  # every finding and fix names its file: resolve each path once


def _display_path(path: str | Path) -> str:
    try:
        path = os.fspath(path)
        if os.path.islink(path):
            absolute = os.path.realpath(path)
        else:  # files of one folder share its resolution
            folder, name = os.path.split(os.path.abspath(path))
            absolute = os.path.join(_real_cwd(folder), name) if name else _real_cwd(folder)
    except OSError:
        absolute = os.path.abspath(path)
    cwd = _real_cwd(os.getcwd())
    if absolute == cwd:
        return "."
    if absolute.startswith(cwd.rstrip(os.sep) + os.sep):
        return absolute[len(cwd.rstrip(os.sep)) + 1:]
    return absolute


@lru_cache(maxsize=4096)
def _real_cwd(folder: str) -> str:
    return os.path.realpath(folder)


class WriteError(Exception):
    """Fixed files could not be written; nothing was changed. The message says which file and why."""


def write_files(changes: dict[str, tuple[SourceFile, SourceFile]]) -> list[str]:
    """Write fixed files as one transaction: all or none of them, never over someone else's edit.

    ``changes`` maps an absolute path to (the content iaclint read, the content to write). Before
    anything is written, each file must still hold what iaclint read (an edit made meanwhile is
    never overwritten). Every new content goes to a temporary file beside its target, with the
    target's permissions, owner and group, and is read back; only then are the temporaries renamed
    over the targets. Files that add blocks are renamed first, so that even a kill between two renames
    leaves no reference to a key that was never written. If a rename fails, the files already renamed
    get their old content back. Temporaries never outlive the call.
    """
    staged: list[tuple[Path, Path, SourceFile]] = []
    try:
        for absolute, (read, _new) in changes.items():
            try:
                current = Path(absolute).read_bytes()
            except OSError as exc:
                raise WriteError(f"{read.path}: cannot be read again before writing ({exc.strerror or exc})") from None
            if current != read.encoded():
                raise WriteError(f"{read.path} changed on disk after iaclint read it; nothing was written, run "
                                 "iaclint fix again")
        for absolute, (read, new) in changes.items():
            target = Path(absolute)
            tmp = target.with_name(f".{target.name}.iaclint-{os.getpid()}.tmp")
            data = new.encoded()
            try:
                _write_like(tmp, data, target)
                if tmp.read_bytes() != data:
                    raise OSError("the temporary file does not read back as written")
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise WriteError(f"cannot write in {target.parent}: {exc.strerror or exc}") from None
            staged.append((tmp, target, read))
        staged.sort(key=lambda item: 0 if _adds_blocks(item[2], changes[str(item[1])][1]) else 1)
        renamed: list[tuple[Path, SourceFile]] = []
        for tmp, target, read in staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                for done_target, old in renamed:
                    try:
                        _restore(done_target, old)
                    except OSError:
                        pass
                raise WriteError(f"cannot replace {read.path}: {exc.strerror or exc}; no file was changed") from None
            renamed.append((target, read))
        return [read.path for _, read in renamed]
    finally:
        for tmp, _target, _read in staged:
            if tmp.exists():
                tmp.unlink()


def _adds_blocks(old: SourceFile, new: SourceFile) -> bool:
    return new.text.count("resource \"") + new.text.count("data \"") > old.text.count("resource \"") + \
        old.text.count("data \"")


def _write_like(tmp: Path, data: bytes, target: Path) -> None:
    """Write data to tmp with target's mode, owner and group (owner only where the OS allows it)."""
    info = target.stat() if target.exists() else None
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if info is not None:
        os.chmod(tmp, info.st_mode & 0o7777)
        if hasattr(os, "chown"):
            try:
                os.chown(tmp, info.st_uid, info.st_gid)
            except PermissionError:
                pass  # only root may give a file away; the user's own files keep their owner anyway


def _restore(target: Path, old: SourceFile) -> None:
    tmp = target.with_name(f".{target.name}.iaclint-{os.getpid()}.restore.tmp")
    try:
        _write_like(tmp, old.encoded(), target)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write one file via a temporary file in the same directory and rename, keeping mode and owner."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.iaclint-{os.getpid()}.tmp")
    try:
        _write_like(tmp, data, target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(data):
    """JSON can escape half of a surrogate pair ("\\ud800"), which no UTF-8 output can hold; Go's decoder,
    and so Terraform, reads U+FFFD instead. Strings, keys, lists and dicts, copied only where needed."""
    if isinstance(data, str):
        if _LONE_SURROGATE.search(data) is None:
            return data
        return data.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(data, list):
        return [without_lone_surrogates(x) for x in data]
    if isinstance(data, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in data.items()}
    return data


def may_hold_lone_surrogates(json_text: str) -> bool:
    """Could this JSON text decode to a lone surrogate? (A cheap test before walking what it decodes to.)"""
    return re.search(r"\\u[dD][89a-fA-F]", json_text) is not None
