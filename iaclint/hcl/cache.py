"""Parsed files kept between runs, so a warm run reads syntax trees instead of parsing again.

The cache may have been written by someone else (a shared XDG_CACHE_HOME, a CI cache restored from
another job), so nothing in it is trusted:

- An entry is data, never code: a msgpack document of plain tuples, strings and numbers, rebuilt into
  iaclint's own syntax-tree classes by a decoder that checks every field's type as it goes. Nothing in
  an entry names a class or a function, so loading one cannot run anything.
- Every entry (and every other file kept here) is signed with HMAC-SHA256 under a random per-user key
  kept outside the cache, in $XDG_STATE_HOME/iaclint/cache-key (default ~/.local/state/iaclint), a file
  owned by the user with mode 0600. A key owned by someone else, readable by others or a symbolic link is
  refused, and the cache is off for the run, with a notice.
- The cache root, its generation folder and base/ (run/base.py) must be real directories owned by the
  user and writable by nobody else; otherwise the cache is off for the run, with a notice saying why.
  Directories are created 0700 and files 0600 whatever the umask, and every file is opened relative to
  its checked directory without following symbolic links.

An entry is keyed by the file's shown path and content, and lives under a generation folder named after
everything that shapes the tree: iaclint's version, the source of iaclint/hcl (this file's encoding
included) and model.py, the back end, and the versions of python-hcl2, Lark, tree-sitter and
tree-sitter-hcl. A new version therefore never reads an entry of an old one; an entry of another format
that is found anyway fails the checks and is a miss, parsed again and rewritten. Writes go to a
temporary file renamed into place, so concurrent runs cannot corrupt an entry. The cache is pruned to
CACHE_LIMIT bytes, oldest entries first, and other generations are removed; pruning never follows a
symbolic link and deletes only names it wrote. `--no-cache` or IACLINT_NO_CACHE=1 turns the parse cache
off; it lives in $XDG_CACHE_HOME/iaclint (default ~/.cache/iaclint).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
import sys
import time
from functools import lru_cache
from operator import attrgetter
from pathlib import Path

from iaclint.hcl import ast

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any

MAGIC = b"iaclint-cache-2\n"  # the entry format; old formats (pickles: b"iaclint-ast-1\n") are misses
CACHE_LIMIT = 256 * 1024 * 1024
ENTRY_LIMIT = 64 * 1024 * 1024  # a larger file in the cache is not an entry iaclint wrote
KEY_SIZE = 32
_MAC_SIZE = 32
_GENERATION = re.compile(r"[0-9a-f]{20}")
_ENTRY = re.compile(r"[0-9a-f]{64}")
_LEFTOVER_AGE = 3600  # seconds after which a temporary file is a crashed run's, not a concurrent one's


class CacheRefused(Exception):
    """A cache folder or key that must not be used; the message says why and what to do."""


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / default  # relative values are ignored (XDG)


def cache_root() -> Path:
    return _xdg("XDG_CACHE_HOME", ".cache") / "iaclint"


def key_path() -> Path:
    """The signing key's file: outside the cache, so whoever can write the cache cannot sign entries."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "iaclint" / "cache-key"


@lru_cache(maxsize=1)
def generation() -> str:
    """Changes whenever the code or libraries that build the trees change. The libraries are told apart
    by their installed files (path, size, modification time), read without importing them or asking
    importlib.metadata: either costs more than a warm run's whole parse of a small module. The back end is
    named from what is installed, not by loading tree-sitter's grammar (parser.back_end does): a run that
    reuses every result parses nothing. A tree-sitter wheel that cannot load makes Lark parse under the
    tree-sitter name, always, since its files are part of the key."""
    from iaclint import __version__

    folders = {package: _package_folder(package) for package in ("lark", "hcl2", "tree_sitter", "tree_sitter_hcl",
                                                                  "msgpack")}
    if os.environ.get("IACLINT_PARSER") == "lark":  # as parser.py chooses
        back_end = "python-hcl2"
    else:
        back_end = "tree-sitter-hcl" if folders["tree_sitter"] and folders["tree_sitter_hcl"] else "python-hcl2"
    digest = hashlib.sha256(f"{__version__}|{back_end}|{MAGIC!r}".encode())
    for folder in folders.values():
        if folder is None or not folder.is_dir():
            continue
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_file() and entry.name.endswith((".py", ".so", ".pyd", ".lark")):
                info = entry.stat()
                digest.update(f"|{entry.path}:{info.st_size}:{info.st_mtime_ns}".encode())
    here = Path(__file__).resolve().parent
    for name in sorted(p.name for p in here.glob("*.py")):
        digest.update((here / name).read_bytes())
    digest.update((here.parent / "model.py").read_bytes())  # Span, in every node, is defined there
    return digest.hexdigest()[:20]


def _one_in_fifty() -> bool:
    """True for about one call in fifty (2 %): whether a write prunes the cache. os.urandom rather than the random
    module, whose import costs a small run more than the write itself."""
    return int.from_bytes(os.urandom(2), "big") < 1311  # 1311 / 65536


def _package_folder(name: str) -> Path | None:
    """The folder an installed package is imported from, found as importlib.util.find_spec finds it (the import
    system's finders) without importing it, nor importlib.util."""
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None) if module is not None else None
    for finder in sys.meta_path if spec is None else ():
        find = getattr(finder, "find_spec", None)
        try:
            spec = find(name, None) if find is not None else None
        except (ImportError, ValueError):
            spec = None
        if spec is not None:
            break
    origin = getattr(spec, "origin", None)
    return Path(origin).parent if origin else None


# ---- private folders and the key --------------------------------------------------------------


def _supported() -> bool:
    """Whether ownership can be checked and files opened relative to a checked folder (POSIX systems)."""
    return all(hasattr(os, name) for name in ("geteuid", "O_NOFOLLOW", "O_DIRECTORY", "fchmod")) \
        and {os.open, os.mkdir, os.unlink, os.rename, os.link} <= os.supports_dir_fd and os.scandir in os.supports_fd


def _checked(fd: int, shown: Path | str, kind: str = "directory") -> int:
    """``fd`` if it is the user's own and writable by nobody else; made private (0700/0600) when it is
    merely readable by others, as folders of older versions were. Closed and refused otherwise."""
    try:
        info = os.fstat(fd)
        want = stat.S_ISDIR if kind == "directory" else stat.S_ISREG
        if not want(info.st_mode):
            raise CacheRefused(f"{shown} is not a {kind}")
        if info.st_uid != os.geteuid():
            raise CacheRefused(f"{shown} belongs to another user (uid {info.st_uid})")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o022:
            raise CacheRefused(f"{shown} is writable by other users (mode {mode:04o})")
        if mode & 0o077:
            if kind != "directory":  # a key others could read may be known to them: never used
                raise CacheRefused(f"{shown} is readable by other users (mode {mode:04o})")
            os.fchmod(fd, 0o700)
        return fd
    except BaseException:
        os.close(fd)
        raise


def private_dir(name: Path | str, dir_fd: int | None = None, shown: Path | str | None = None) -> int:
    """Open (creating it 0700) a directory only this user can write; its descriptor, for opening what
    is inside without following links. Refuses a symbolic link, another user's folder, or one others can
    write (CacheRefused); OSError when it cannot be created."""
    shown = shown if shown is not None else name
    try:
        os.mkdir(name, 0o700, dir_fd=dir_fd)
        created = True
    except FileExistsError:
        created = False
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        if os.path.islink(name if dir_fd is None else shown):
            raise CacheRefused(f"{shown} is a symbolic link") from None
        if isinstance(exc, NotADirectoryError):
            raise CacheRefused(f"{shown} is not a directory") from None
        raise
    if created:
        os.fchmod(fd, 0o700)  # exactly, whatever the umask
    return _checked(fd, shown)


def _load_key(path: Path) -> bytes:
    """The user's signing key, made on first use."""
    path.parent.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = private_dir(path.parent)
    try:
        for _ in range(3):
            try:
                fd = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=folder)
            except FileNotFoundError:
                _new_key(folder, path.name, replace=False)
                continue
            except OSError as exc:
                if os.path.islink(path):
                    raise CacheRefused(f"the cache key {path} is a symbolic link") from None
                raise
            _checked(fd, f"the cache key {path}", "file")
            try:
                data = os.read(fd, KEY_SIZE + 1)
            finally:
                os.close(fd)
            if len(data) == KEY_SIZE:
                return data
            _new_key(folder, path.name, replace=True)  # damaged: replaced (its entries become misses)
        raise CacheRefused(f"the cache key {path} could not be made")
    finally:
        os.close(folder)


def _new_key(folder: int, name: str, replace: bool) -> None:
    tmp = _write_private(folder, name, os.urandom(KEY_SIZE))  # what secrets.token_bytes returns
    try:
        if replace:
            os.rename(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        else:
            os.link(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)  # exclusive: the first run to get here wins
    except FileExistsError:
        pass
    finally:
        try:
            os.unlink(tmp, dir_fd=folder)
        except FileNotFoundError:
            pass


def _write_private(folder: int, name: str, data: bytes) -> str:
    """A new 0600 file holding ``data`` beside ``name``; returns its name (rename it into place). The random part
    is os.urandom's, as secrets gives it, without importing secrets (and random) on every run that writes."""
    tmp = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=folder)
    try:
        os.fchmod(fd, 0o600)  # exactly, whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        os.unlink(tmp, dir_fd=folder)
        raise
    os.close(fd)
    return tmp


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``path`` (0600, renamed into place) in a folder that must be a real directory: for the files
    kept beside the --base trees (run/base.py). OSError when it cannot."""
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        tmp = _write_private(folder, path.name, data)
        try:
            os.rename(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
        except OSError:
            os.unlink(tmp, dir_fd=folder)
            raise
    finally:
        os.close(folder)


def read_private_file(path: Path, limit: int = ENTRY_LIMIT) -> bytes | None:
    """A regular file's bytes, not through a symbolic link at its last component; None otherwise."""
    try:
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return read_regular(folder, path.name, limit)
    finally:
        os.close(folder)


def read_regular(folder: int, name: str, limit: int = ENTRY_LIMIT) -> bytes | None:
    """A regular file's bytes, or None (absent, a link, a FIFO, a device or too large: not ours)."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=folder)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks = []
        while True:
            chunk = os.read(fd, max(info.st_size, 65536))
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


# ---- the entry format: syntax trees as plain data ------------------------------------------------
#
# A node is written as (code, start, size, *fields) in the order of its class's _state; lists and tuples
# as arrays; strings, numbers, booleans and None as themselves (integers beyond 64 bits as extension 1,
# their decimal digits). Every node of an entry has the file named once at the top: (file, body).
# The decoder below knows which class each field holds and checks every value's type while it rebuilds
# the nodes, so a document that is well-formed msgpack but not a tree is a miss, never a strange tree.

_CLASSES = (ast.Literal, ast.Template, ast.Unsupported, ast.TupleExpr, ast.ObjectItem, ast.ObjectExpr,
            ast.Variable, ast.GetAttr, ast.Index, ast.Splat, ast.Call, ast.Conditional, ast.BinaryOp, ast.UnaryOp,
            ast.Paren, ast.ForExpr, ast.Attribute, ast.Block, ast.Body)
_CODE = {cls: code for code, cls in enumerate(_CLASSES)}
# class -> (code, getter of (start, size, *state)): one C call per node instead of a getattr per field
_FIELDS = {cls: (code, attrgetter("start", "size", *cls._state)) for code, cls in enumerate(_CLASSES)}
_BIG_INT = 1
_SCALARS = frozenset({type(None), bool, int, float, str})
_new = object.__new__


class _NotATree(ValueError):
    pass


def encode_tree(tree: ast.Body, file: str) -> bytes:
    """The entry payload of a file's tree; ValueError/TypeError when it cannot be kept (a node of another
    file, a string msgpack cannot hold, nesting too deep), so the file is parsed again next time."""
    import msgpack

    def node(value: Any):
        fields = _FIELDS.get(type(value))
        if fields is not None:
            if value.file != file:
                raise _NotATree("a node of another file")
            return (fields[0], *fields[1](value))
        return _big_int(value)

    return msgpack.Packer(default=node).pack((file, tree))


def _big_int(value: Any):
    """msgpack's default hook: integers beyond 64 bits as their digits; nothing else."""
    import msgpack

    if type(value) is int:
        return msgpack.ExtType(_BIG_INT, str(value).encode("ascii"))
    raise TypeError(f"{type(value).__name__} is not kept in the cache")


def _ext(code: int, data: bytes) -> int:
    if code != _BIG_INT or not data.lstrip(b"-").isdigit() or len(data) > 4400:
        raise _NotATree("an unknown extension")
    return int(data)


def _no_map(pairs):
    raise _NotATree("a map")


def decode_tree(payload: bytes) -> ast.Body:
    """The tree of an entry payload; raises (a miss) on anything that is not a tree encode_tree wrote."""
    import msgpack

    document = msgpack.unpackb(payload, use_list=False, ext_hook=_ext, object_pairs_hook=_no_map)
    file, body = document
    if type(file) is not str:
        raise _NotATree("no file name")
    return _body(body, file)


def _bad(t, f):
    raise _NotATree("not an expression")


def _literal(t, f):
    _, start, size, value = t
    if type(start) is not int or type(size) is not int or type(value) not in _SCALARS:
        raise _NotATree
    n = _new(ast.Literal)
    n.file, n.start, n.size, n.value = f, start, size, value
    return n


def _template(t, f):
    _, start, size, parts, heredoc = t
    if type(start) is not int or type(size) is not int or type(parts) is not tuple or type(heredoc) is not bool:
        raise _NotATree
    n = _new(ast.Template)
    n.file, n.start, n.size, n.heredoc = f, start, size, heredoc
    n.parts = [p if type(p) is str else _EXPR[p[0]](p, f) for p in parts]
    return n


def _unsupported(t, f):
    _, start, size, reason = t
    if type(start) is not int or type(size) is not int or type(reason) is not str:
        raise _NotATree
    n = _new(ast.Unsupported)
    n.file, n.start, n.size, n.reason = f, start, size, reason
    return n


def _tuple(t, f):
    _, start, size, items = t
    if type(start) is not int or type(size) is not int or type(items) is not tuple:
        raise _NotATree
    n = _new(ast.TupleExpr)
    n.file, n.start, n.size = f, start, size
    n.items = [_EXPR[i[0]](i, f) for i in items]
    return n


def _object_item(t, f):
    code, start, size, key, value = t
    if code != 4 or type(start) is not int or type(size) is not int:
        raise _NotATree
    n = _new(ast.ObjectItem)
    n.file, n.start, n.size = f, start, size
    n.key = _EXPR[key[0]](key, f)
    n.value = _EXPR[value[0]](value, f)
    return n


def _object(t, f):
    _, start, size, items = t
    if type(start) is not int or type(size) is not int or type(items) is not tuple:
        raise _NotATree
    n = _new(ast.ObjectExpr)
    n.file, n.start, n.size = f, start, size
    n.items = [_object_item(i, f) for i in items]
    return n


def _variable(t, f):
    _, start, size, name = t
    if type(start) is not int or type(size) is not int or type(name) is not str:
        raise _NotATree
    n = _new(ast.Variable)
    n.file, n.start, n.size, n.name = f, start, size, name
    return n


def _get_attr(t, f):
    _, start, size, target, name = t
    if type(start) is not int or type(size) is not int or type(name) is not str:
        raise _NotATree
    n = _new(ast.GetAttr)
    n.file, n.start, n.size, n.name = f, start, size, name
    n.target = _EXPR[target[0]](target, f)
    return n


def _index(t, f):
    _, start, size, target, key = t
    if type(start) is not int or type(size) is not int:
        raise _NotATree
    n = _new(ast.Index)
    n.file, n.start, n.size = f, start, size
    n.target = _EXPR[target[0]](target, f)
    n.key = _EXPR[key[0]](key, f)
    return n


def _step(step, f):
    kind, what = step
    if kind == "attr" and type(what) is str:
        return ("attr", what)
    if kind == "index":
        return ("index", _EXPR[what[0]](what, f))
    raise _NotATree


def _splat(t, f):
    _, start, size, target, steps = t
    if type(start) is not int or type(size) is not int or type(steps) is not tuple:
        raise _NotATree
    n = _new(ast.Splat)
    n.file, n.start, n.size = f, start, size
    n.target = _EXPR[target[0]](target, f)
    n.steps = [_step(s, f) for s in steps]
    return n


def _call(t, f):
    _, start, size, name, args, expand_final = t
    if type(start) is not int or type(size) is not int or type(name) is not str or type(args) is not tuple \
            or type(expand_final) is not bool:
        raise _NotATree
    n = _new(ast.Call)
    n.file, n.start, n.size, n.name, n.expand_final = f, start, size, name, expand_final
    n.args = [_EXPR[a[0]](a, f) for a in args]
    return n


def _conditional(t, f):
    _, start, size, condition, true_expr, false_expr = t
    if type(start) is not int or type(size) is not int:
        raise _NotATree
    n = _new(ast.Conditional)
    n.file, n.start, n.size = f, start, size
    n.condition = _EXPR[condition[0]](condition, f)
    n.true_expr = _EXPR[true_expr[0]](true_expr, f)
    n.false_expr = _EXPR[false_expr[0]](false_expr, f)
    return n


def _binary(t, f):
    _, start, size, op, left, right = t
    if type(start) is not int or type(size) is not int or type(op) is not str:
        raise _NotATree
    n = _new(ast.BinaryOp)
    n.file, n.start, n.size, n.op = f, start, size, op
    n.left = _EXPR[left[0]](left, f)
    n.right = _EXPR[right[0]](right, f)
    return n


def _unary(t, f):
    _, start, size, op, operand = t
    if type(start) is not int or type(size) is not int or type(op) is not str:
        raise _NotATree
    n = _new(ast.UnaryOp)
    n.file, n.start, n.size, n.op = f, start, size, op
    n.operand = _EXPR[operand[0]](operand, f)
    return n


def _paren(t, f):
    _, start, size, inner = t
    if type(start) is not int or type(size) is not int:
        raise _NotATree
    n = _new(ast.Paren)
    n.file, n.start, n.size = f, start, size
    n.inner = _EXPR[inner[0]](inner, f)
    return n


def _for(t, f):
    _, start, size, key_var, value_var, collection, key_expr, value_expr, condition, grouping = t
    if type(start) is not int or type(size) is not int or type(value_var) is not str \
            or key_var is not None and type(key_var) is not str or type(grouping) is not bool:
        raise _NotATree
    n = _new(ast.ForExpr)
    n.file, n.start, n.size, n.key_var, n.value_var, n.grouping = f, start, size, key_var, value_var, grouping
    n.collection = _EXPR[collection[0]](collection, f)
    n.key_expr = None if key_expr is None else _EXPR[key_expr[0]](key_expr, f)
    n.value_expr = _EXPR[value_expr[0]](value_expr, f)
    n.condition = None if condition is None else _EXPR[condition[0]](condition, f)
    return n


def _attribute(t, f):
    code, start, size, name, name_size, expr = t
    if code != 16 or type(start) is not int or type(size) is not int or type(name) is not str \
            or type(name_size) is not int:
        raise _NotATree
    n = _new(ast.Attribute)
    n.file, n.start, n.size, n.name, n.name_size = f, start, size, name, name_size
    n.expr = _EXPR[expr[0]](expr, f)
    return n


def _block(t, f):
    code, start, size, type_, labels, body, open_brace, close_brace, header_size = t
    if code != 17 or type(start) is not int or type(size) is not int or type(type_) is not str \
            or type(labels) is not tuple or type(open_brace) is not int or type(close_brace) is not int \
            or header_size is not None and type(header_size) is not int:
        raise _NotATree
    n = _new(ast.Block)
    n.file, n.start, n.size, n.type = f, start, size, type_
    n.open_brace, n.close_brace, n.header_size = open_brace, close_brace, header_size
    n.labels = list(labels)
    if not all(type(label) is str for label in n.labels):
        raise _NotATree
    n.body = _body(body, f)
    return n


def _body(t, f):
    code, start, size, items = t
    if code != 18 or type(start) is not int or type(size) is not int or type(items) is not tuple:
        raise _NotATree
    n = _new(ast.Body)
    n.file, n.start, n.size = f, start, size
    n.items = [_attribute(i, f) if i[0] == 16 else _block(i, f) for i in items]
    return n


# indexed by code: expressions only (an object item, attribute, block or body is not an expression)
_EXPR = (_literal, _template, _unsupported, _tuple, _bad, _object, _variable, _get_attr, _index, _splat, _call,
         _conditional, _binary, _unary, _paren, _for, _bad, _bad, _bad)


def encode_data(value: Any) -> bytes:
    """Plain data (dicts, lists, strings, numbers) as msgpack, for what is kept besides trees."""
    import msgpack

    return msgpack.packb(value, default=_big_int)


def decode_data(payload: bytes) -> Any:
    import msgpack

    return msgpack.unpackb(payload, strict_map_key=False, ext_hook=_ext)


# ---- the cache ---------------------------------------------------------------------------------


class ParseCache:
    """The user's parse cache for one run; off (get misses, put does nothing) when it cannot be trusted,
    with the reason in ``notices`` for the report."""

    def __init__(self, root: Path | None = None, key_file: Path | None = None, generation_name: str | None = None,
                 what: str = "the parse cache", within: Path | None = None):
        """``within``: a folder ``root`` is a direct child of, checked the same way first (run/results.py keeps
        its entries in the parse cache's root, and must not write where the parse cache may not)."""
        self.root = root or cache_root()
        self.folder = self.root / (generation_name or generation())
        self.notices: list[str] = []
        self.hits = 0
        self.misses = 0
        self._pruned = False
        self.keeps_trees = True  # False: read entries, write none (a run whose roots keep their results instead)
        self._names: set[str] | bool | None = None  # see _listed
        self._key: bytes | None = None
        self._root_fd: int | None = None
        self._fd: int | None = None
        try:
            if not _supported():
                raise CacheRefused("this system cannot open files without following symbolic links")
            self._key = _load_key(key_file or key_path())
            if within is not None:
                within.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                within_fd = private_dir(within)
                try:
                    self._root_fd = private_dir(self.root.name, within_fd, self.root)
                finally:
                    os.close(within_fd)
            else:
                self.root.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._root_fd = private_dir(self.root)
            self._fd = private_dir(self.folder.name, self._root_fd, self.folder)
        except (CacheRefused, OSError, RuntimeError) as exc:  # RuntimeError: no home directory
            self.close()
            why = str(exc) if isinstance(exc, CacheRefused) else _os_reason(exc)
            self.notices.append(f"{what} is off: {why}")

    @property
    def enabled(self) -> bool:
        return self._fd is not None

    def close(self) -> None:
        for fd in (self._fd, self._root_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._root_fd = None

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, AttributeError):
            pass

    # signing: every file kept under the cache root is checked with the user's key before it is used

    def sign(self, name: str, payload: bytes) -> bytes:
        assert self._key is not None
        return hmac.digest(self._key, name.encode("utf-8", "surrogatepass") + b"\0" + payload, "sha256")

    def seal(self, name: str, payload: bytes) -> bytes:
        """The bytes of a kept file: format, signature (binding the payload to its name) and payload."""
        return MAGIC + self.sign(name, payload) + payload

    def unseal(self, name: str, data: bytes | None) -> bytes | None:
        """The payload of a kept file, if this user's iaclint wrote it under this name in this format."""
        if data is None or not data.startswith(MAGIC) or self._key is None:
            return None
        mac, payload = data[len(MAGIC):len(MAGIC) + _MAC_SIZE], data[len(MAGIC) + _MAC_SIZE:]
        return payload if hmac.compare_digest(mac, self.sign(name, payload)) else None

    # parsed files

    def _name(self, kind: str, shown: str, text: str) -> str:
        return hashlib.sha256(f"{kind}\0{shown}\0".encode() + text.encode("utf-8", "surrogatepass")).hexdigest()

    def _entry(self, kind: str, shown: str, text: str) -> Path:
        """Where an entry lives (for tests and tools; iaclint itself opens it relative to its folder)."""
        return self.folder / self._name(kind, shown, text)

    def get(self, kind: str, shown: str, text: str) -> ast.Body | None:
        if self._fd is None:
            return None
        names = self._listed()
        if names is not False and not names:  # an empty folder: nothing to look for
            self.misses += 1
            return None
        name = self._name(kind, shown, text)
        data = read_regular(self._fd, name) if names is False or name in names else None
        if data is None:
            self.misses += 1
            return None
        try:
            payload = self.unseal(name, data)
            if payload is None:
                raise _NotATree("not written by this user's iaclint in this format")
            tree = decode_tree(payload)
        except Exception:  # corrupt, truncated, foreign or old: never trusted, parsed and rewritten instead
            self._unlink(name)
            self.misses += 1
            return None
        self.hits += 1
        return tree

    def _listed(self) -> set[str] | bool:
        """The folder's entry names, listed once at the first get, so that a miss opens nothing (a cold run missed
        once per file it parsed); False when it cannot be listed (then each get opens its entry)."""
        if self._names is None:
            try:
                self._names = set(os.listdir(self._fd))
            except OSError:
                self._names = False
        return self._names

    def put(self, kind: str, shown: str, text: str, tree: ast.Body) -> None:
        if self._fd is None or not self.keeps_trees:
            return
        name = self._name(kind, shown, text)
        try:
            payload = encode_tree(tree, tree.file)
        except (ValueError, TypeError, OverflowError, UnicodeEncodeError, RecursionError, AttributeError):
            return  # not kept (a lone surrogate, nesting msgpack refuses): parsed again next time
        self._replace(name, self.seal(name, payload))
        if not self._pruned and _one_in_fifty():
            self._pruned = True  # once per run at most: each prune walks the whole cache
            self.prune()

    # other plain data kept per generation (Lark's compiled grammar tables)

    def get_data(self, name: str) -> Any | None:
        if self._fd is None:
            return None
        payload = self.unseal(f"data-{name}", read_regular(self._fd, f"data-{name}"))
        if payload is None:
            return None
        try:
            return decode_data(payload)
        except Exception:
            return None

    def put_data(self, name: str, value: Any) -> None:
        if self._fd is None:
            return
        try:
            payload = encode_data(value)
        except (ValueError, TypeError, OverflowError, UnicodeEncodeError):
            return
        self._replace(f"data-{name}", self.seal(f"data-{name}", payload))

    # plain data kept under a name of the caller's (64 hex digits: pruned like entries), e.g. run/results.py's

    def get_record(self, name: str) -> Any | None:
        """The value put_record kept under ``name``, if this user's iaclint wrote it in this generation."""
        if self._fd is None or not _ENTRY.fullmatch(name):
            return None
        payload = self.unseal(name, read_regular(self._fd, name))
        if payload is None:
            return None
        try:
            return decode_data(payload)
        except Exception:  # signed but not decodable: never trusted
            return None

    def put_record(self, name: str, value: Any) -> None:
        if self._fd is None or not _ENTRY.fullmatch(name):
            return
        try:
            payload = encode_data(value)
        except (ValueError, TypeError, OverflowError, UnicodeEncodeError, RecursionError):
            return
        self._replace(name, self.seal(name, payload))
        if not self._pruned and _one_in_fifty():
            self._pruned = True
            self.prune()

    def private_folder(self, name: str) -> Path | None:
        """A checked folder of the cache root for other kept files (run/base.py's trees), or None with a
        notice saying why it cannot be used."""
        if self._root_fd is None:
            return None
        try:
            os.close(private_dir(name, self._root_fd, self.root / name))
        except CacheRefused as exc:
            self.notices.append(f"{self.root / name} is not used: {exc}")
            return None
        except OSError as exc:
            self.notices.append(f"{self.root / name} is not used: {_os_reason(exc)}")
            return None
        return self.root / name

    def _replace(self, name: str, data: bytes) -> None:
        assert self._fd is not None
        try:
            tmp = _write_private(self._fd, name, data)
            try:  # rename replaces atomically on POSIX, the only systems the cache runs on
                os.rename(tmp, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
                if isinstance(self._names, set):  # listed: it holds this one now
                    self._names.add(name)
            except OSError:
                os.unlink(tmp, dir_fd=self._fd)
        except OSError:
            pass  # a cache that cannot be written only costs speed

    def _unlink(self, name: str) -> None:
        try:
            os.unlink(name, dir_fd=self._fd)
        except OSError:
            pass

    def prune(self, limit: int = CACHE_LIMIT) -> None:
        """Remove other generations, then the oldest entries until the cache is under the limit.

        Only names this code writes are touched, and only real directories and files: a symbolic link
        (or anything else someone planted) is left as it is, never followed."""
        import shutil

        if self._fd is None or self._root_fd is None:
            return
        now = time.time()
        try:
            with os.scandir(self._root_fd) as entries:
                for entry in entries:
                    if entry.name == self.folder.name:
                        continue
                    if _GENERATION.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.name, ignore_errors=True, dir_fd=self._root_fd)
                    elif (entry.name == "key" or entry.name.startswith("grammar-") and entry.name.endswith(".lark")) \
                            and entry.is_file(follow_symlinks=False):
                        os.unlink(entry.name, dir_fd=self._root_fd)  # older versions' key and Lark pickle
            kept = []
            with os.scandir(self._fd) as entries:
                for entry in entries:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    info = entry.stat(follow_symlinks=False)
                    if _ENTRY.fullmatch(entry.name):
                        kept.append((info.st_mtime, info.st_size, entry.name))
                    elif entry.name.endswith(".tmp") and entry.name.startswith(".") \
                            and now - info.st_mtime > _LEFTOVER_AGE:
                        self._unlink(entry.name)
        except OSError:
            return
        total = sum(size for _, size, _ in kept)
        for _mtime, size, name in sorted(kept):
            if total <= limit * 3 // 4:
                break
            self._unlink(name)
            total -= size


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__
