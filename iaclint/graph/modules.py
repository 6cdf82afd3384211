"""Module sources, and whether what `terraform init` downloaded for a call may be read as its module.

Terraform records each download in .terraform/modules/modules.json (Key, Source, Version, Dir). At plan time it
refuses a download whose source no longer matches the call ("Module source has changed") or whose version no
longer satisfies the call's `version` ("Module version requirements have changed"), and asks for `terraform init`.
iaclint does the same, so a stale download is never read as the module: it is reported and not used.

Sources are compared the way Terraform normalises them (addrs.ParseModuleSource): a registry address with or
without its default host, case-insensitively; a remote address after go-getter's detection (github.com/org/repo
is git::https://github.com/org/repo.git, git@host:path is git::ssh://git@host/path), with its `//subdir` and
query parameters wherever they were written.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from iaclint.model import ValueRecord
from iaclint.recording import note_path
from iaclint.tree import Tree, shown_as_found

DEFAULT_REGISTRIES = ("registry.terraform.io", "registry.opentofu.org")
_LABEL = r"[0-9A-Za-z](?:[0-9A-Za-z_-]{0,62}[0-9A-Za-z])?"
_REGISTRY = re.compile(rf"^(?:(?P<host>[0-9A-Za-z.-]+\.[0-9A-Za-z-]+(?::\d+)?|localhost(?::\d+)?)/)?"
                       rf"(?P<namespace>{_LABEL})/(?P<name>{_LABEL})/(?P<system>[0-9a-z]{{1,64}})$")
_FORCED = re.compile(r"^([A-Za-z0-9]+)::(.+)$")
_SCP = re.compile(r"^(?:([^@/]+)@)?([^:/]+):/?(.+)$")  # git@github.com:org/repo.git
_NOT_REGISTRY_HOSTS = ("github.com", "bitbucket.org", "gitlab.com")


class Download(ValueRecord):
    """One entry of .terraform/modules/modules.json: where `terraform init` put a module call's code."""

    __slots__ = ("dir", "source", "version")

    def __init__(self, dir: Path, source: str, version: str):
        self.dir = dir
        self.source = source  # the source address Terraform recorded ("registry.terraform.io/cloudposse/label/null")
        self.version = version  # the version it selected, "" for sources without versions


def read_manifest(root: Path, tree: Tree) -> tuple[dict[str, Download], str]:
    """Downloads by call path ("db", "db.kms"), and why the manifest was not read when it is there but not a regular
    file inside the tree (a link to /dev/zero never ends). A damaged manifest reads as no downloads."""
    manifest = root / ".terraform" / "modules" / "modules.json"
    note_path(manifest)  # an input of the root being checked, there or not (run/results.py)
    if not os.path.lexists(manifest):
        return {}, ""
    refused = tree.why_not_read(manifest)
    if refused:
        return {}, f"{shown_as_found(manifest)} {refused}; downloaded modules are not read"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, ""
    out: dict[str, Download] = {}
    entries = data.get("Modules") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        key, directory = entry.get("Key"), entry.get("Dir")
        if isinstance(key, str) and key and isinstance(directory, str) and "\0" not in directory:
            source, version = entry.get("Source"), entry.get("Version")
            out[key] = Download(root / directory, source if isinstance(source, str) else "",
                                version if isinstance(version, str) else "")
    return out, ""


def is_local(source: str) -> bool:
    return source.startswith(("./", "../", ".\\", "..\\"))


def is_registry(source: str) -> bool:
    """A module registry address (namespace/name/system, an optional host, an optional //subdir)."""
    return _registry_key(source) is not None


def _registry_key(source: str) -> str | None:
    package, _, subdir = source.partition("//")
    match = _REGISTRY.match(package)
    if match is None or "::" in source:
        return None
    host = (match.group("host") or DEFAULT_REGISTRIES[0]).lower()
    if host in _NOT_REGISTRY_HOSTS:
        return None
    if host in DEFAULT_REGISTRIES:
        host = DEFAULT_REGISTRIES[0]  # Terraform and OpenTofu each record their own default registry
    name = "/".join(match.group(g).lower() for g in ("namespace", "name", "system"))
    return f"registry {host}/{name}" + (f"//{subdir.strip('/')}" if subdir else "")


def _split_subdir(source: str) -> tuple[str, str]:
    """go-getter's SourceDirSubdir: the package and the part after `//` (not the one after `scheme://`), with the
    query moved back onto the package."""
    stop = source.find("?")
    stop = len(source) if stop == -1 else stop
    offset = source.find("://", 0, stop)
    offset = offset + 3 if offset != -1 else 0
    index = source.find("//", offset, stop)
    if index == -1:
        return source, ""
    package, subdir = source[:index], source[index + 2:]
    if "?" in subdir:
        subdir, query = subdir.split("?", 1)
        package += "?" + query
    return package, subdir


def _remote_key(source: str) -> str | None:
    """A remote source in one canonical form, or None when iaclint cannot tell how go-getter reads it."""
    forced = ""
    match = _FORCED.match(source)
    if match:
        forced, source = match.group(1).lower(), match.group(2)
    package, subdir = _split_subdir(source)
    if "://" not in package:  # go-getter's detectors turn shorthand into a URL, forced getter or not
        lowered = package.lower()
        if lowered.startswith(("github.com/", "bitbucket.org/")):
            host, _, rest = package.partition("/")
            path, _, query = rest.partition("?")
            parts = path.split("/")
            if len(parts) < 2:
                return None
            repo = "/".join(parts[:2])
            if not repo.endswith(".git"):
                repo += ".git"
            if len(parts) > 2:
                subdir = "/".join(parts[2:] + ([subdir] if subdir else []))
            package = f"https://{host.lower()}/{repo}" + (f"?{query}" if query else "")
        else:
            scp = _SCP.match(package)
            if scp is None or scp.group(1) != "git":
                return None
            path, _, query = scp.group(3).partition("?")
            package = f"ssh://git@{scp.group(2)}/{path}" + (f"?{query}" if query else "")
        forced = forced or "git"
    parts = urlsplit(package)
    if not parts.scheme or not parts.netloc:
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    getter = forced or parts.scheme.lower()
    return (f"{getter}::{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}?{query}"
            + (f"//{subdir.strip('/')}" if subdir else ""))


def source_key(source: str) -> str:
    """What identifies a module source for Terraform: equal keys are the same source however they are written."""
    if is_local(source):
        return "local " + os.path.normpath(source.replace("\\", "/"))
    return _registry_key(source) or _remote_key(source) or "text " + source


def source_changed(call_source: str, recorded: str) -> bool:
    return source_key(call_source) != source_key(recorded)


# ---- versions (hashicorp/go-version, which Terraform uses for module `version` constraints) ----------------

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_CONSTRAINT = re.compile(r"^\s*(=|!=|>=|<=|>|<|~>)?\s*(\S+)\s*$")


class _Version(ValueRecord):
    __slots__ = ("segments", "specified", "prerelease")

    def __init__(self, segments: tuple[int, int, int], specified: int, prerelease: str):
        self.segments = segments
        self.specified = specified  # how many segments were written: "~> 1.2" pins the first one
        self.prerelease = prerelease

    def key(self) -> tuple:
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease.split(".")) \
            if self.prerelease else ()
        return self.segments, (0,) if self.prerelease else (1,), pre


def _parse_version(text: str) -> _Version | None:
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    written = [g for g in match.groups()[:3] if g is not None]
    numbers = [int(g) for g in written] + [0] * (3 - len(written))
    return _Version((numbers[0], numbers[1], numbers[2]), len(written), match.group(4) or "")


def version_allows(constraint: str, version: str) -> bool | None:
    """Does ``version`` satisfy a go-version constraint list ("~> 1.2, != 1.2.5")? None when either is unreadable."""
    have = _parse_version(version)
    if have is None:
        return None
    for part in constraint.split(","):
        match = _CONSTRAINT.match(part)
        want = _parse_version(match.group(2)) if match else None
        if want is None:
            return None
        if not _allows(match.group(1) or "=", want, have):
            return False
    return True


def _allows(op: str, want: _Version, have: _Version) -> bool:
    if have.prerelease and (not want.prerelease or want.segments != have.segments):
        return False  # a pre-release matches only a constraint naming a pre-release of the same version
    if op == "~>":
        if want.prerelease and not have.prerelease or have.key() < want.key():
            return False
        count = want.specified
        return have.segments[:count - 1] == want.segments[:count - 1] and have.segments[count - 1] >= want.segments[
            count - 1]
    a, b = have.key(), want.key()
    return {"=": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]


def download_mismatch(call_source: str, constraint: str | None, download: Download) -> str:
    """Why a download may not be used for the call as it is written now ('' when it may), in Terraform's terms."""
    if source_changed(call_source, download.source):
        recorded = f'"{download.source}"' if download.source else "no source"
        return (f'its download in .terraform/modules was made from {recorded}, not "{call_source}" (the source changed '
                "since terraform init)")
    if constraint:
        if not download.version:
            return (f'its download in .terraform/modules records no version, and the call now asks for version '
                    f'"{constraint}"')
        allowed = version_allows(constraint, download.version)
        if allowed is None:
            return f'iaclint cannot compare version "{constraint}" with the downloaded version {download.version}'
        if not allowed:
            return (f'its download in .terraform/modules is version {download.version}, which version "{constraint}" no '
                    "longer allows")
    return ""
