"""The files that file(), templatefile(), fileexists() and fileset() may read: those inside the repository.

A configuration from a stranger's pull request must not read the CI checkout's token (.git/config), the
job's environment (/proc/self/environ) or a device that never ends (/dev/urandom). Paths are resolved
the way Terraform does (relative to the root module's directory), symbolic links are followed before
the check, and anything outside the repository (the git top level, else the scanned directory) or
inside a .git directory is refused with the reason, never opened. Every path resolved inside the tree
is recorded, read or not, so a change to it can be mapped back to the roots that use it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from iaclint.eval.limits import DEFAULT_LIMITS, Limits
from iaclint.recording import note_listing, note_path
from iaclint.source import display_path
from iaclint.tree import Tree
from iaclint.model import Record


class FileRead(Record):
    """What reading one path gave: its text, or why there is none."""

    _shown = ("text", "reason", "shown")

    def __init__(self, text: str | None, reason: str = "", shown: str = ""):
        self.text = text
        self.reason = reason
        self.shown = shown  # the path as messages name it


class Refused(Exception):
    """A path file functions may not use; the message says why."""


class TreeFiles(Record):
    """File access for the expressions of one root module, confined to the run's ``tree``."""

    _shown = ("tree", "base", "limits", "read")

    def __init__(self, tree: Tree, base: Path, limits: Limits = DEFAULT_LIMITS, read: set[str] | None = None):
        self.tree = tree  # the repository (else the scanned directory): nothing outside it is read
        self.base = base  # the root module's directory, which relative paths start from (Terraform's working directory)
        self.limits = limits
        self.read = set() if read is None else read  # absolute paths resolved inside the tree

    def resolve(self, path: str) -> Path:
        """The real path of ``path`` when it is inside the tree, else Refused."""
        if "\0" in path:
            raise Refused(f"the path {path!r} holds a NUL character")
        if not path:
            raise Refused("the path is empty")
        if path.startswith("~"):
            raise Refused(f"{path} is in a home directory, outside the repository")
        candidate = Path(path) if os.path.isabs(path) else self.base / path
        try:
            real = Path(os.path.realpath(candidate))
        except (OSError, ValueError) as exc:
            raise Refused(f"{path} cannot be resolved ({exc})") from None
        note_path(candidate, content=False)  # what it is (a link, where to): an input of the root (run/results.py)
        where = self.tree.outside_real(real)
        if where:
            raise Refused(f"{path} is {where}")  # never read, not even to digest it
        self.read.add(str(real))
        note_path(real)  # and what the file inside the tree holds
        return real

    def read_text(self, path: str) -> FileRead:
        """The UTF-8 text of a regular file inside the tree, at most ``file_size`` bytes."""
        try:
            real = self.resolve(path)
        except Refused as exc:
            return FileRead(None, str(exc), path)
        shown = display_path(real)
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            return FileRead(None, f"{shown} cannot be read: {exc.strerror or exc}", shown)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return FileRead(None, f"{shown} is not a regular file", shown)
            limit = self.limits.file_size
            if info.st_size > limit:
                return FileRead(None, f"{shown} is {info.st_size:,} bytes, more than the file_size limit of {limit:,} "
                                "(raise it with --limit file_size=N)", shown)
            chunks = []
            size = 0
            while size <= limit:
                chunk = os.read(fd, min(1 << 20, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            if size > limit:
                return FileRead(None, f"{shown} grew past the file_size limit of {limit:,} bytes while read", shown)
        except OSError as exc:
            return FileRead(None, f"{shown} cannot be read: {exc.strerror or exc}", shown)
        finally:
            os.close(fd)
        try:
            return FileRead(b"".join(chunks).decode("utf-8"), "", shown)
        except UnicodeDecodeError:
            return FileRead(None, f"{shown} is not UTF-8 text (Terraform's file() reads only UTF-8)", shown)

    def exists(self, path: str) -> bool:
        """fileexists(): a regular file (Refused outside the tree; a directory is an error in Terraform)."""
        real = self.resolve(path)
        try:
            info = os.stat(real)
        except OSError:
            return False
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"{path} is a directory, not a file")
        return stat.S_ISREG(info.st_mode)

    def glob(self, path: str, pattern: str) -> list[str]:
        """fileset(): regular files under ``path`` whose path relative to it matches ``pattern``, sorted."""
        base = self.resolve(path)
        matcher = GlobPattern(pattern)
        found: list[str] = []
        visited = 0
        for folder, subdirs, files in os.walk(base):
            note_listing(folder)  # a new file may match: the names are an input of the root (run/results.py)
            subdirs[:] = sorted(d for d in subdirs if d != ".git")
            for name in sorted(files):
                visited += 1
                if visited > self.limits.collection:
                    raise Refused(f"fileset() looked at more than {self.limits.collection:,} files (limit collection)")
                full = Path(folder) / name
                relative = full.relative_to(base).as_posix()
                if not matcher.matches(relative):
                    continue
                try:
                    real = self.resolve(str(full))
                except Refused:
                    continue  # a link out of the tree is not listed
                if os.path.isfile(real):
                    found.append(relative)
        return sorted(found)


class GlobPattern:
    """fileset()'s patterns (*, **, ?, [class], {a,b}) matched in time linear in pattern x path, never by
    backtracking: the pattern comes from the configuration."""

    MAX_ALTERNATIVES = 64

    def __init__(self, pattern: str):
        self.alternatives = [_glob_tokens(p) for p in _expand_braces(pattern, self.MAX_ALTERNATIVES)]

    def matches(self, path: str) -> bool:
        return any(_match_tokens(tokens, path) for tokens in self.alternatives)


def _expand_braces(pattern: str, limit: int) -> list[str]:
    start = pattern.find("{")
    if start < 0:
        return [pattern]
    depth = 0
    parts: list[str] = []
    last = start + 1
    for i in range(start, len(pattern)):
        ch = pattern[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                parts.append(pattern[last:i])
                out: list[str] = []
                for part in parts:
                    for rest in _expand_braces(part + pattern[i + 1:], limit):
                        out.append(pattern[:start] + rest)
                        if len(out) > limit:
                            raise Refused(f"the pattern has more than {limit} {{alternatives}}")
                return out
        elif ch == "," and depth == 1:
            parts.append(pattern[last:i])
            last = i + 1
    raise Refused("the pattern has a { without its }")


def _glob_tokens(pattern: str) -> list[tuple[str, object]]:
    """("lit", ch), ("any", None) for ?, ("star", None) for *, ("globstar", None) for **/, ("class", (neg, set))."""
    tokens: list[tuple[str, object]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i) and (i == 0 or pattern[i - 1] == "/"):
            if pattern.startswith("**/", i):
                tokens.append(("globstar", None))
                i += 3
                continue
            if i + 2 == len(pattern):
                tokens.append(("rest", None))
                i += 2
                continue
        if ch == "*":
            tokens.append(("star", None))
        elif ch == "?":
            tokens.append(("any", None))
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise Refused("the pattern has a [ without its ]")
            body = pattern[i + 1:end]
            negate = body[:1] in ("^", "!")
            body = body[1:] if negate else body
            ranges = []
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    ranges.append((body[j], body[j + 2]))
                    j += 3
                else:
                    ranges.append((body[j], body[j]))
                    j += 1
            tokens.append(("class", (negate, tuple(ranges))))
            i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            tokens.append(("lit", pattern[i]))
        else:
            tokens.append(("lit", ch))
        i += 1
    return tokens


def _match_tokens(tokens: list[tuple[str, object]], path: str) -> bool:
    """A set-of-states simulation (an NFA), O(len(tokens) x len(path)). State i is "before token i"; -(i+1)
    is "inside a directory name that the globstar at i is eating"."""
    end = len(tokens)
    states = _closure({0}, tokens)
    for ch in path:
        following: set[int] = set()
        for state in states:
            if state < 0:
                following.add(-state - 1 if ch == "/" else state)
                continue
            if state >= end:
                continue
            kind, data = tokens[state]
            if kind == "lit":
                if data == ch:
                    following.add(state + 1)
            elif kind == "rest":
                following.add(state)
            elif kind == "globstar":
                following.add(state if ch == "/" else -state - 1)
            elif ch == "/":
                continue
            elif kind == "any":
                following.add(state + 1)
            elif kind == "star":
                following.add(state)
            elif kind == "class":
                negate, ranges = data
                if any(lo <= ch <= hi for lo, hi in ranges) != negate:
                    following.add(state + 1)
        states = _closure(following, tokens)
        if not states:
            return False
    return end in states


def _closure(states: set[int], tokens: list[tuple[str, object]]) -> set[int]:
    """States reachable without reading: a *, ** or globstar may match nothing."""
    out = set(states)
    todo = [s for s in states if s >= 0]
    while todo:
        state = todo.pop()
        if state < len(tokens) and tokens[state][0] in ("star", "globstar", "rest") and state + 1 not in out:
            out.add(state + 1)
            todo.append(state + 1)
    return out
