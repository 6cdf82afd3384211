"""What a root module's result depends on, noted where it is read: the files, listings and paths a check of one
root reads (run/results.py keeps the result and re-checks these before reusing it).

The readers (source.py, graph/config.py, eval/files.py, ...) call note_file, note_path or note_listing; outside a
recording these cost one context-variable lookup. This module sits below everything that reads, and imports nothing
of iaclint.
"""

from __future__ import annotations

import os
import stat
from contextvars import ContextVar
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Callable

RECORDER: ContextVar["Recorder | None"] = ContextVar("iaclint_recorder", default=None)


def digest(data: bytes) -> str:
    import hashlib  # OpenSSL's bindings: loaded by a run that records, not by one that reads nothing

    return hashlib.sha256(data).hexdigest()[:32]


def _link_prefix(path: str, info: os.stat_result) -> str:
    if stat.S_ISLNK(info.st_mode):
        try:
            return "L" + os.readlink(path) + ">"
        except OSError:
            return "L?>"
    return ""


DIGEST_LIMIT = 256 * 1024 * 1024  # bytes of one file digested; a larger one is never taken as unchanged


def path_state(path: str, content: bool = True) -> str:
    """What a path is now, as noted: absent, a directory, a regular file's digest (or, without ``content``, only
    that it is one), through a link's target. Read a chunk at a time, at most DIGEST_LIMIT bytes: a larger file's
    state is new each time, so a result that depends on it is never reused."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "-"
    except OSError as exc:
        return f"!{exc.errno}"
    prefix = _link_prefix(path, info)
    if prefix:
        try:
            info = os.stat(path)
        except OSError:
            return prefix + "-"
    if stat.S_ISDIR(info.st_mode):
        return prefix + "d"
    if not stat.S_ISREG(info.st_mode):
        return prefix + "o"
    if not content:  # what decides whether it can be read: who owns it, its mode, its size
        return prefix + f"r{info.st_mode:o}:{info.st_uid}:{info.st_size}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return prefix + f"!{exc.errno}"
    import hashlib

    hasher, size = hashlib.sha256(), 0
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > DIGEST_LIMIT:
                return prefix + "!large:" + os.urandom(8).hex()  # never equal: checked afresh each run
            hasher.update(chunk)
    except OSError as exc:
        return prefix + f"!{exc.errno}"
    finally:
        os.close(fd)
    return prefix + "f" + hasher.hexdigest()[:32]


def listing_state(path: str) -> str:
    """A directory's names (and whether it is a link, and where to); '-' when it cannot be listed."""
    try:
        info = os.lstat(path)
        prefix = _link_prefix(path, info)
        with os.scandir(path) as entries:
            names = sorted(e.name for e in entries)
    except OSError:
        return "-"
    return prefix + digest("\0".join(names).encode("utf-8", "surrogateescape"))


class Recorder:
    """The inputs one root's result depends on: (kind, path) -> state, noted as they are read."""

    def __init__(self) -> None:
        self.inputs: dict[tuple[str, str], str] = {}
        self.shown: set[str] = set()  # the files read, as reports name them: whose comments are the root's

    def file(self, path: str, data: "bytes | Callable[[], bytes]", shown: str | None = None) -> None:
        """``data``: the bytes read, or what gives them (called only if the file is not noted yet: a large file's
        text is encoded again only once per root)."""
        if shown is not None:
            self.shown.add(shown)
        key = ("p", path)
        if key in self.inputs:
            return
        try:
            prefix = _link_prefix(path, os.lstat(path))
        except OSError:
            self.inputs[key] = path_state(path)
            return
        self.inputs[key] = prefix + "f" + digest(data() if callable(data) else data)

    def path(self, path: str, content: bool = True) -> None:
        key = ("p" if content else "s", path)
        if key not in self.inputs:
            self.inputs[key] = path_state(path, content)

    def listing(self, path: str) -> None:
        key = ("l", path)
        if key not in self.inputs:
            self.inputs[key] = listing_state(path)


def note_file(path: str | Path, data: "bytes | Callable[[], bytes]", shown: str | None = None) -> None:
    """A file a root's result depends on was read and held ``data`` (nothing when no root is being recorded);
    ``shown``: its name in reports."""
    recorder = RECORDER.get()
    if recorder is not None:
        recorder.file(os.fspath(path), data, shown)


def note_path(path: str | Path, content: bool = True) -> None:
    """A path whose state (absent, a directory, a file's content) a root's result depends on; without
    ``content``, only what it is (a path outside the tree, which is never read, decides only by being there)."""
    recorder = RECORDER.get()
    if recorder is not None:
        recorder.path(os.fspath(path), content)


def note_listing(path: str | Path) -> None:
    """A directory whose list of names a root's result depends on."""
    recorder = RECORDER.get()
    if recorder is not None:
        recorder.listing(os.fspath(path))


def recording() -> bool:
    return RECORDER.get() is not None
