"""The tree a run reads configuration from and `fix` writes to: the repository, else the scanned directory.

A scanned repository may come from a stranger's pull request. Its symbolic links must not make iaclint
read a file outside it (a `.tf` link to /etc/passwd, a module directory linked to another checkout) or
write one (`fix` through a linked file). The tree is the git top level above a scanned path, else the
scanned directory itself; paths are judged by their real location, and every question here is
answered without raising: a folder that cannot be searched just is not the answer.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Callable, TypeVar

    T = TypeVar("T")


def repository_root(start: str | Path) -> Path | None:
    """The git top level at or above ``start`` (a .git directory or file), or None."""
    real = Path(os.path.realpath(start))
    for folder in [real, *real.parents]:
        if os.path.lexists(folder / ".git"):  # False, never an error, when a parent cannot be searched
            return folder
    return None


def tree_of(path: str | Path) -> Path:
    """The tree a scanned path belongs to: its repository, else the directory itself (a file's folder)."""
    real = Path(os.path.realpath(path))
    folder = real if os.path.isdir(real) else real.parent
    return repository_root(folder) or folder


def shown_as_found(path: Path) -> str:
    """A path as a directory listing found it (its folder resolved, its own name kept, links not followed).

    Refusals name the link, not what it points to: a finding about `passwd.tf` says `passwd.tf`.
    """
    from iaclint.source import display_path

    folder = display_path(path.parent)
    return path.name if folder == "." else os.path.join(folder, path.name)


KEPT_BYTES = 16 << 20  # file contents a run keeps between two readers (discovery's scan and the loader)


class Tree:
    """The directories a run may read configuration from and write fixes to (real paths).

    One tree serves one run (discovery, loading, variables files), so what it found about a path to
    read is kept: each file and directory is judged once, each directory listed once and each file read
    once, not by each step (or each of hundreds of roots) that meets it. Equal to another tree of the same
    roots, and shown by them alone.
    """

    __slots__ = ("roots", "_judged", "_listed", "_real", "_absolutes", "_real_paths", "_derived", "_kept",
                 "_kept_size")

    def __init__(self, roots: tuple[Path, ...]):
        self.roots = roots
        self._judged: dict = {}
        self._listed: dict = {}  # folder -> its entries
        self._real: dict = {}  # path -> real path
        self._absolutes: dict = {}  # see _absolute()
        self._real_paths: dict = {}  # the same, as Paths
        self._derived: dict = {}  # see remember()
        self._kept: dict = {}  # path -> bytes read once
        self._kept_size = [0]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.roots == other.roots

    def __hash__(self) -> int:
        return hash((self.roots,))

    def __repr__(self) -> str:
        return f"Tree(roots={self.roots!r})"

    @classmethod
    def of(cls, *folders: str | Path) -> "Tree":
        real = {Path(os.path.realpath(f)) for f in folders}
        # a folder inside another adds nothing
        kept = sorted(f for f in real if not any(o != f and f.is_relative_to(o) for o in real))
        return cls(tuple(kept))

    def entries(self, directory: str | Path) -> list[os.DirEntry]:
        """A directory's entries, in name order, listed once a run (discovery, the loader, the variables files and
        the checks of a root all ask); the OSError of listing it is raised each time it is asked."""
        key = self._absolute(directory)
        listed = self._listed.get(key)
        if listed is None:
            try:
                with os.scandir(key) as listing:
                    listed = sorted(listing, key=lambda e: e.name)
            except OSError as exc:
                listed = exc
            self._listed[key] = listed
        if isinstance(listed, OSError):
            raise listed
        return listed

    def remember(self, key: tuple, make: Callable[[], T]) -> T:
        """What ``make`` works out from the tree's files (a directory's configuration files), once a run."""
        try:
            return self._derived[key]
        except KeyError:
            made = self._derived[key] = make()
            return made

    def _absolute(self, path: str | Path) -> str:
        """os.path.abspath, once a run for each spelling of a path (the current directory does not change)."""
        text = os.fspath(path)
        found = self._absolutes.get(text)
        if found is None:
            found = self._absolutes[text] = os.path.abspath(text)
        return found

    def real(self, path: str | Path) -> Path:
        """``path`` with every link resolved (os.path.realpath), each folder on the way resolved once a run: a
        tree of many roots asks for the same parents thousands of times."""
        text = os.fspath(path)
        if ".." in text.split(os.sep):  # abspath folds `..` as text, realpath after following links
            return Path(os.path.realpath(text))
        absolute = self._absolute(text)
        found = self._real_paths.get(absolute)
        if found is None:
            found = self._real_paths[absolute] = Path(self._real_text(absolute))
        return found

    def _real_text(self, absolute: str) -> str:
        found = self._real.get(absolute)
        if found is None:
            folder, name = os.path.split(absolute)
            if not name:
                found = os.path.realpath(absolute)
            else:
                joined = os.path.join(self._real_text(folder), name)
                found = os.path.realpath(joined) if os.path.islink(joined) else joined
            self._real[absolute] = found
        return found

    def read_bytes(self, path: str | Path, keep: bool = False) -> bytes:
        """A file's bytes, read from disk once a run: with ``keep`` they are held for the next reader (discovery
        scans a file that the loader then parses), who takes them; at most KEPT_BYTES are held at a time."""
        key = self._absolute(path)
        data = self._kept.pop(key, None)
        if data is None:
            with open(key, "rb") as handle:
                data = handle.read()
        else:
            self._kept_size[0] -= len(data)
        if keep and self._kept_size[0] + len(data) <= KEPT_BYTES:
            self._kept[key] = data
            self._kept_size[0] += len(data)
        return data

    def contains(self, path: str | Path) -> bool:
        """Is the real location of ``path`` (links followed) inside the tree, and not in a .git directory?"""
        return not self.outside(path)

    def outside(self, path: str | Path, doing: str = "reads files") -> str:
        """'' when the real location of ``path`` (links followed) is inside the tree; else why not, as what
        follows "is": "outside the repository (.); iaclint reads files only inside it", or "inside .git, ...".

        .git holds the CI checkout's token (actions/checkout keeps it in .git/config): a path into it is as
        good as a path out of the tree. Every check of a path against the tree (configuration, variables
        and settings files, module directories, file() and its kin, fix) asks here.
        """
        return self.outside_real(self.real(path), doing)

    def outside_real(self, real: Path, doing: str = "reads files") -> str:
        """`outside` for a path already resolved (no links left in it)."""
        for root in self.roots:
            if real.is_relative_to(root):
                if ".git" in real.relative_to(root).parts:
                    return "inside .git, which iaclint never reads (it holds credentials)"
                return ""
        return f"outside {self.describe()}; iaclint {doing} only inside it"

    def describe(self) -> str:
        """'the repository (.)', or 'the scanned directory (infra)' when it is not in a git repository."""
        from iaclint.source import display_path

        if not self.roots:
            return "the scanned directories (none)"
        repositories = all(os.path.lexists(r / ".git") for r in self.roots)
        kind = "repositor" if repositories else "scanned director"
        ending = "ies" if len(self.roots) > 1 else "y"
        return f"the {kind}{ending} ({', '.join(display_path(r) for r in self.roots)})"

    def why_not_read(self, path: Path) -> str:
        """Why a file a directory listing found is not read as configuration, or '' when it may be.

        A symbolic link is followed only to a regular file inside the tree, and any other file only when its
        directory is inside it (a path a file names, an include or .terraform/..., may lead anywhere); anything
        that is not a regular file (a pipe, a device) is never opened.
        """
        key = ("file", str(path))
        if key not in self._judged:
            self._judged[key] = self._why_not_read(path)
        return self._judged[key]

    def _why_not_read(self, path: Path) -> str:
        try:
            info = os.lstat(path)
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        if stat.S_ISLNK(info.st_mode):
            target = _link_text(path)
            try:
                info = os.stat(path)
            except FileNotFoundError:
                return f"is a broken symbolic link (to {target}); it is not checked"
            except OSError as exc:
                return f"is a symbolic link (to {target}) that cannot be followed ({exc.strerror or exc})"
            where = self.outside(path)
            if where:
                return f"is a symbolic link to {target}, {where}"
        else:  # a file named by a path (an include, .terraform/...) may sit below a linked directory
            where = self.why_not_read_directory(path.parent)
            if where:
                return f"is in a directory that {where}"
        if stat.S_ISDIR(info.st_mode):
            return "is a directory, not a file"
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file (a pipe or a device); it is not read"
        return ""

    def why_not_read_directory(self, directory: Path) -> str:
        """Why a module directory is not read, or '' when it is inside the tree."""
        key = ("directory", str(directory))
        if key not in self._judged:
            self._judged[key] = self._why_not_read_directory(directory)
        return self._judged[key]

    def _why_not_read_directory(self, directory: Path) -> str:
        where = self.outside(directory, "reads configuration")
        if not where:
            return ""
        kind = f"a symbolic link to {_link_text(directory)}, " if os.path.islink(directory) else ""
        return f"is {kind}{where}"

    def why_not_written(self, path: str | Path) -> str:
        """Why `fix` must not write ``path``, or '' when it may (a regular file of the tree, writable)."""
        try:
            info = os.lstat(path)
        except OSError as exc:
            return f"cannot be examined ({exc.strerror or exc})"
        if stat.S_ISLNK(info.st_mode):
            return "is a symbolic link; iaclint fix does not write through links"
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file"
        where = self.outside(path, "fix writes")
        if where:
            return f"is {where}"
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.realpath(folder) != folder:  # a linked module directory: iaclint's own paths are real ones
            return "is reached through a symbolic link; iaclint fix does not write through links"
        if not info.st_mode & 0o222:
            return "is read-only"
        return ""


def _link_text(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"
