"""Source files as iaclint sees them: decoded text plus what is needed to write them back unchanged.

Offsets everywhere in iaclint are character offsets into ``SourceFile.text``, which is the file's
content without a UTF-8 byte order mark. Line endings are kept as they are, so an edit computed
on the text and written back with the BOM restored changes no byte it does not mean to.
"""

from __future__ import annotations

import bisect
import errno
import os
import re
import stat
from array import array
from functools import lru_cache
from pathlib import Path

from iaclint.model import Record
from iaclint.recording import note_file, note_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Callable

BOM = "\ufeff"


class SourceError(Exception):
    """A file that cannot be read as text; the message says why, the line says where."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.line = line
        self.column = column


class SourceFile(Record):
    """A file's text as read (BOM noted), with line starts for positions."""

    _shown = ("path", "text", "has_bom")

    def __init__(self, path: str, text: str, has_bom: bool = False):
        self.path = path
        self.text = text
        self.has_bom = has_bom
        self._starts: array | None = None

    @property
    def _line_starts(self) -> array:
        """Offsets where lines start, worked out when a position is first asked for: most files of a run never
        are (no finding, no comment in them)."""
        if self._starts is None:
            starts = array("q", [0])  # an array, not a list of ints: a 5 MB file has 250,000 lines
            find = self.text.find
            pos = find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
            self._starts = starts
        return self._starts

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
        starts = self._starts or self._line_starts
        line = bisect.bisect_right(starts, offset) - 1
        return line + 1, offset - starts[line] + 1

    def offset(self, line: int, column: int = 1) -> int:
        starts = self._starts or self._line_starts
        line = max(1, min(line, len(starts)))
        return min(starts[line - 1] + column - 1, len(self.text))

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


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """Lines as Terraform counts them: broken at \\n only (\\r\\n is one ending), never at the form feeds,
    vertical tabs, \\x1c-\\x1e, \\x85 or U+2028/2029 that str.splitlines() also breaks at.

    Every line number iaclint shows or matches (suppressions, diffs, locations) must agree with
    `SourceFile.line_col`, which counts the same way.
    """
    parts = text.split("\n")
    if keepends:
        out = [part + "\n" for part in parts[:-1]]
        return out + [parts[-1]] if parts[-1] else out
    if not parts[-1]:
        parts.pop()
    return [part[:-1] if part.endswith("\r") else part for part in parts]


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


def read_source(path: str | Path, overlay: dict[str, SourceFile] | None = None,
                read: Callable[[Path], bytes] | None = None) -> SourceFile:
    """Read a file (with ``read``: Tree.read_bytes, which reads each file once a run), or its pending fixed
    version from ``overlay`` (keyed by absolute path)."""
    p = path if isinstance(path, Path) else Path(path)
    if overlay:
        pending = overlay.get(str(p.resolve()))
        if pending is not None:
            return SourceFile(display_path(p), pending.text, pending.has_bom)
    try:
        data = read(p) if read is not None else p.read_bytes()
    except IsADirectoryError:
        note_path(p, content=False)
        raise SourceError("is a directory, not a file") from None
    except OSError as exc:  # refused (a link out of the tree, too large) or unreadable: its content is not read
        note_path(p, content=False)
        raise SourceError(exc.strerror or str(exc)) from None
    shown = display_path(p)
    note_file(p, data, shown)  # an input of the root being checked (run/results.py)
    return decode_source(shown, data)


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


@lru_cache(maxsize=16384)
def _real_cwd(folder: str) -> str:
    """realpath of an absolute, normalised folder, from its parent's (resolved once): one lstat a folder, not one
    per part of its path, in a tree of thousands of folders."""
    parent, name = os.path.split(folder)
    if not name or parent == folder:
        return os.path.realpath(folder)
    joined = os.path.join(_real_cwd(parent), name)
    return os.path.realpath(joined) if os.path.islink(joined) else joined


class WriteError(Exception):
    """Fixed files could not be written; nothing was changed. The message says which file and why."""


class _Changed(Exception):
    """A file no longer holds what iaclint read: someone edited it while fix was writing."""


def write_files(changes: dict[str, tuple[SourceFile, SourceFile]]) -> list[str]:
    """Write fixed files as one transaction: all or none of them, never over someone else's edit.

    ``changes`` maps an absolute path to (the content iaclint read, the content to write). A target must
    be a regular file, not a link. Every new content first goes to a temporary file created beside its
    target (exclusively, never through a link), with the target's permissions, owner and group, and is
    read back. Then each file in turn is compared with what iaclint read at the moment it is replaced
    (see `_commit`), so an edit made at any time before that is never overwritten. Files that add blocks
    are replaced first, so that even a kill between two replacements leaves no reference to a key that
    was never written. If one file cannot be replaced, the files already replaced get their old content
    back. Temporaries never outlive the call.
    """
    for absolute, (read, _new) in changes.items():  # fail fast, before anything is staged
        why = _not_replaceable(absolute)
        if why:
            raise WriteError(f"{read.path} {why}; nothing was written")
        try:
            current = Path(absolute).read_bytes()
        except OSError as exc:
            raise WriteError(f"{read.path}: cannot be read again before writing ({exc.strerror or exc})") from None
        if current != read.encoded():
            raise WriteError(f"{read.path} changed on disk after iaclint read it; nothing was written, run "
                             "iaclint fix again")
    staged: list[tuple[Path, Path, SourceFile, SourceFile]] = []
    try:
        for absolute, (read, new) in changes.items():
            target = Path(absolute)
            try:
                staged.append((_stage(target, new.encoded()), target, read, new))
            except OSError as exc:
                raise WriteError(f"cannot write in {target.parent}: {exc.strerror or exc}") from None
        staged.sort(key=lambda item: 0 if _adds_blocks(item[2], item[3]) else 1)
        replaced: list[tuple[Path, SourceFile, SourceFile]] = []
        for tmp, target, read, new in staged:
            try:
                _commit(tmp, target, read.encoded())
            except (_Changed, OSError) as exc:
                kept = _roll_back(replaced)
                why = (f"{read.path} changed on disk while iaclint was writing" if isinstance(exc, _Changed)
                       else f"cannot replace {read.path}: {exc.strerror or exc}")
                raise WriteError(f"{why}; {kept or 'no file was changed'}") from None
            replaced.append((target, read, new))
        return [read.path for _, read, _new in replaced]
    finally:
        for tmp, _target, _read, _new in staged:
            _unlink(tmp)


def _not_replaceable(path: str | Path) -> str:
    """Why a target may not be replaced: a link (it would redirect the write) or not a regular file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link; iaclint does not write through links"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    return ""


def _roll_back(replaced: list[tuple[Path, SourceFile, SourceFile]]) -> str:
    """Put the old content back in files already replaced; '' or what could not be put back (edited since)."""
    edited = []
    for target, read, new in reversed(replaced):
        tmp = None
        try:
            tmp = _stage(target, read.encoded())
            _commit(tmp, target, new.encoded())
        except (_Changed, OSError):
            edited.append(read.path)
        finally:
            if tmp is not None:
                _unlink(tmp)
    if edited:
        return f"{', '.join(edited)} kept the fixed content (edited again meanwhile or not writable)"
    return ""


def _adds_blocks(old: SourceFile, new: SourceFile) -> bool:
    return new.text.count("resource \"") + new.text.count("data \"") > old.text.count("resource \"") + \
        old.text.count("data \"")


def _stage(target: Path, data: bytes) -> Path:
    """A new temporary file beside ``target`` holding ``data``, with target's mode, owner and group.

    mkstemp creates it with O_CREAT | O_EXCL | O_NOFOLLOW under a random name, so nothing planted
    beside the target (a link, a file) can receive the content. It is fsynced and read back.
    """
    import tempfile  # only when writing: it costs a check run 14 ms to import

    info = target.stat() if os.path.lexists(target) else None
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".iaclint.tmp")
    tmp = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            if info is not None:
                os.fchmod(out.fileno(), info.st_mode & 0o7777)
                try:
                    os.fchown(out.fileno(), info.st_uid, info.st_gid)
                except PermissionError:
                    pass  # only root may give a file away; the user's own files keep their owner anyway
            else:
                os.fchmod(out.fileno(), 0o666 & ~_umask())
            os.fsync(out.fileno())
        if _read_all_at(tmp) != data:
            raise OSError("the temporary file does not read back as written")
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _commit(tmp: Path, target: Path, expected: bytes) -> None:
    """Replace ``target`` by ``tmp`` only if it still holds ``expected``, with no moment for an edit to be lost.

    Where the system can exchange two names atomically (Linux renameat2), the files are swapped and the
    displaced one is checked: it must be the file that was compared, still holding ``expected``; if not,
    they are swapped back and the edit stays. Elsewhere the file is compared and replaced, and an edit
    written into the old file in between is put back.
    """
    descriptor = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        before = os.fstat(descriptor)
        if not stat.S_ISREG(before.st_mode) or _read_all(descriptor) != expected:
            raise _Changed()
        if _exchange(tmp, target):
            displaced = os.lstat(tmp)
            if (displaced.st_dev, displaced.st_ino) != (before.st_dev, before.st_ino) or \
                    _read_all(descriptor) != expected:
                _exchange(tmp, target)  # the edit goes back where it was
                raise _Changed()
            return
        now = os.lstat(target)
        if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise _Changed()
        os.replace(tmp, target)
        late = _read_all(descriptor)
        if late != expected:  # written into the old file between the comparison and the rename
            restore = _stage(target, late)
            try:
                os.replace(restore, target)
            finally:
                _unlink(restore)
            raise _Changed()
    finally:
        os.close(descriptor)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@lru_cache(maxsize=1)
def _renameat2():
    """glibc's renameat2, or None where it does not exist (not Linux, an old C library)."""
    import sys

    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _exchange(first: Path, second: Path) -> bool:
    """Swap two names atomically; False where the system or the file system cannot."""
    function = _renameat2()
    if function is None:
        return False
    import ctypes

    if function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _read_all(descriptor: int) -> bytes:
    chunks, offset = [], 0
    while True:
        chunk = os.pread(descriptor, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def _read_all_at(path: Path) -> bytes:
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        return _read_all(descriptor)
    finally:
        os.close(descriptor)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write one file (a report, a baseline) via a new temporary file beside it and a rename.

    A link at the target is refused (OSError): a planted link must not redirect a report. The user may
    name any path; only its last component is judged. Mode and owner of an existing file are kept.
    """
    target = Path(path)
    why = _not_replaceable(target)
    if why:
        raise OSError(errno.ELOOP, f"{path} {why}", str(target))
    tmp = _stage(target, data)
    try:
        os.replace(tmp, target)
    finally:
        _unlink(tmp)


_LONE_SURROGATE = None  # re.compile("[\ud800-\udfff]") when first needed: compiling it cost a millisecond a start


def _lone_surrogate():
    global _LONE_SURROGATE
    _LONE_SURROGATE = re.compile("[\ud800-\udfff]")
    return _LONE_SURROGATE


def without_lone_surrogates(data):
    """JSON can escape half of a surrogate pair ("\\ud800"), which no UTF-8 output can hold; Go's decoder,
    and so Terraform, reads U+FFFD instead. Strings, keys, lists and dicts, copied only where needed."""
    if isinstance(data, str):
        if data.isascii() or (_LONE_SURROGATE or _lone_surrogate()).search(data) is None:
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
