"""Baselines: record today's findings, then fail only on new ones.

An entry is keyed by root module, file, address, rule and a fingerprint of the offending value, so a new
problem in another file or another root, or the same resource made worse (a different value), is never
hidden: a module called by several roots (examples/*, envs/*) has one entry per root. Files and roots
are stored relative to the baseline file, so the baseline works from any directory. Entries that no
longer match a finding are reported as fixed. Entries written before roots were recorded match in
every root, with a notice saying so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from iaclint.model import Report
from iaclint.source import write_atomic

FORMAT = "iaclint-baseline/1"


class BaselineError(Exception):
    pass


def _relative(file: str, base: Path) -> str:
    path = Path(file)
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        return Path(os.path.relpath(absolute.resolve(), base.resolve())).as_posix()
    except ValueError:
        return absolute.as_posix()


def _entries(report: Report, base: Path) -> list[dict[str, str]]:
    out = []
    for f in report.findings:
        if f.suppression is not None:
            continue
        out.append({"rule_id": f.rule_id, "address": f.address, "file": _relative(f.location.file, base),
                    "fingerprint": f.fingerprint, "root": _root(f.root, base)})
    out.sort(key=lambda e: (e["file"], e["address"], e["rule_id"], e["fingerprint"], e["root"] or ""))
    return out


def _root(root: str, base: Path) -> str | None:
    """The root module a finding was found through, as the baseline stores it (None for plans)."""
    return _relative(root, base) if root else None


def write_baseline(path: str, report: Report) -> int:
    base = Path(path).parent
    entries = _entries(report, base)
    data = {"format": FORMAT, "tool": {"name": "iaclint", "version": report.tool_version}, "entries": entries}
    if Path(path).is_dir():
        raise BaselineError(f"--write-baseline {path}: is a directory; give a file name")
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        raise BaselineError(f"--write-baseline {path}: cannot write: {exc.strerror or exc}") from None
    return len(entries)


def read_baseline(path: str) -> list[dict[str, str]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"--baseline {path}: no such file (create it with --write-baseline)") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise BaselineError(f"--baseline {path}: not a baseline file: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("entries"), list):
        raise BaselineError(f"--baseline {path}: not an iaclint baseline (format {FORMAT})")
    return [e for e in data["entries"] if isinstance(e, dict)]


def apply_baseline(path: str, report: Report) -> None:
    base = Path(path).parent
    rooted: dict[tuple, list[dict]] = {}
    rootless: dict[tuple, dict] = {}  # written before entries had roots: they match in any root
    for e in read_baseline(path):
        key = (e.get("rule_id"), e.get("address"), e.get("file"), e.get("fingerprint"))
        if "root" in e:
            rooted.setdefault(key + (e["root"],), []).append(e)
        else:
            rootless[key] = e
    used: set[tuple] = set()
    for f in report.findings:
        if f.suppression is not None:
            continue
        key = (f.rule_id, f.address, _relative(f.location.file, base), f.fingerprint)
        same_root = rooted.get(key + (_root(f.root, base),))
        if same_root:
            same_root.pop()
            f.baseline_state = "baselined"
        elif key in rootless:
            used.add(key)
            f.baseline_state = "baselined"
        else:
            f.baseline_state = "new"
    if rootless:
        report.notices.append(f"--baseline {path}: {len(rootless)} entr{'y' if len(rootless) == 1 else 'ies'} "
                              "name no root module (written by an older iaclint) and match in every root; write "
                              "the baseline again with --write-baseline to keep roots apart")
    remaining = [e for entries in rooted.values() for e in entries]
    remaining += [e for key, e in rootless.items() if key not in used]
    report.fixed_baseline_entries = sorted(remaining, key=lambda e: (e.get("file", ""), e.get("address", ""),
                                                                     e.get("root") or ""))
