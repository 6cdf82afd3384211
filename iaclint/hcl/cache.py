"""Parsed files kept between runs, so a warm run reads syntax trees instead of parsing again.

An entry is keyed by the file's shown path and content, and lives under a directory named after
everything that shapes the tree: iaclint's version, the source of iaclint/hcl and model.py, the back end, and the
versions of python-hcl2, Lark, tree-sitter and tree-sitter-hcl. Entries are pickles signed with HMAC-SHA256 under a random per-user key (0600), so
a corrupt or foreign entry fails the check and is parsed again and rewritten, never unpickled.
Writes go to a temporary file and are renamed into place, so concurrent runs cannot corrupt an entry.
The cache is pruned to CACHE_LIMIT bytes, oldest entries first. `--no-cache` or IACLINT_NO_CACHE=1
turns it off; it lives in $XDG_CACHE_HOME/iaclint (default ~/.cache/iaclint).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import random
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

MAGIC = b"iaclint-ast-1\n"
CACHE_LIMIT = 256 * 1024 * 1024


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "iaclint"


@lru_cache(maxsize=1)
def generation() -> str:
    """Changes whenever the code or libraries that build the trees change. The libraries are told apart
    by their installed files (path, size, modification time), read without importing them or asking
    importlib.metadata: either costs more than a warm run's whole parse of a small module."""
    from importlib.util import find_spec

    from iaclint import __version__
    from iaclint.hcl.parser import back_end

    digest = hashlib.sha256(f"{__version__}|{back_end()}".encode())
    for package in ("lark", "hcl2", "tree_sitter", "tree_sitter_hcl"):
        try:
            spec = find_spec(package)
        except (ImportError, ValueError):
            spec = None
        folder = Path(spec.origin).parent if spec is not None and spec.origin else None
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


class ParseCache:
    def __init__(self, root: Path | None = None):
        self.root = root or cache_root()
        self.folder = self.root / generation()
        self._key: bytes | None = None
        self.hits = 0
        self.misses = 0
        self._pruned = False

    def _secret(self) -> bytes:
        if self._key is None:
            path = self.root / "key"
            try:
                data = path.read_bytes()
            except OSError:
                data = b""
            if len(data) != 32:
                self.root.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".key.{os.getpid()}.{secrets.token_hex(4)}.tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(secrets.token_bytes(32))
                try:
                    if data:
                        os.replace(tmp, path)  # a damaged key: replace it (its entries become misses)
                    else:
                        os.link(tmp, path)  # atomic and exclusive: the first run to get here wins
                except FileExistsError:
                    pass
                finally:
                    tmp.unlink(missing_ok=True)
                data = path.read_bytes()  # the winner's key, complete before it became visible
            self._key = data
        return self._key

    def _entry(self, kind: str, shown: str, text: str) -> Path:
        digest = hashlib.sha256(f"{kind}\0{shown}\0".encode() + text.encode("utf-8", "surrogatepass")).hexdigest()
        return self.folder / digest[:2] / digest[2:]

    def get(self, kind: str, shown: str, text: str) -> Any | None:
        path = self._entry(kind, shown, text)
        try:
            data = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        try:
            if not data.startswith(MAGIC):
                raise ValueError("not an entry")
            mac, payload = data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
            if not hmac.compare_digest(mac, hmac.new(self._secret(), payload, hashlib.sha256).digest()):
                raise ValueError("not signed by this user's key")
            value = pickle.loads(payload)
        except Exception:  # corrupt, truncated or foreign: never trusted, parsed and rewritten instead
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, kind: str, shown: str, text: str, value: Any) -> None:
        path = self._entry(kind, shown, text)
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            mac = hmac.new(self._secret(), payload, hashlib.sha256).digest()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            with open(tmp, "wb") as handle:
                handle.write(MAGIC + mac + payload)
            os.replace(tmp, path)
        except (OSError, pickle.PicklingError, RecursionError):
            return  # a cache that cannot be written only costs speed
        if not self._pruned and random.random() < 0.02:
            self._pruned = True  # once per run at most: each prune walks the whole cache
            self.prune()

    def prune(self, limit: int = CACHE_LIMIT) -> None:
        """Remove other generations, then the oldest entries until the cache is under the limit."""
        try:
            for other in self.root.iterdir():  # base/ holds --base trees (run/base.py), pruned there
                if other.is_dir() and other.name not in (self.folder.name, "base"):
                    for entry in other.rglob("*"):
                        if entry.is_file():
                            entry.unlink(missing_ok=True)
            entries = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.folder.rglob("*") if p.is_file()]
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for _mtime, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= limit * 3 // 4:
                break
            path.unlink(missing_ok=True)
            total -= size
