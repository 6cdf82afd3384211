"""Project settings from [tool.iaclint] in pyproject.toml or from .iaclint.toml, searched upwards to the git top.

Command-line flags win over settings. An unknown key is an error naming the file and the key, so a
typo never silently turns a rule off.
"""

from __future__ import annotations

import os
from pathlib import Path

from iaclint.eval.limits import DEFAULT_LIMITS, Limits
from iaclint.model import Record, Severity
from iaclint.tree import Tree, repository_root, tree_of

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any

KNOWN_KEYS = {"select", "ignore", "severity", "var_files", "fail_on_unknown", "severity_threshold", "exclude",
              "limits", "rules", "workspace", "opentofu"}


class SettingsError(Exception):
    pass


class Settings(Record):
    """What a settings file (.iaclint.toml, pyproject.toml's [tool.iaclint]) says; the defaults without one."""

    __slots__ = ("path", "select", "ignore", "severity", "var_files", "fail_on_unknown", "severity_threshold",
                 "exclude", "rules", "base_dir", "limits", "workspace", "opentofu")
    _shown = __slots__

    def __init__(self, path: str | None = None, select: set[str] | None = None, ignore: set[str] | None = None,
                 severity: dict[str, Severity] | None = None, var_files: list[str] | None = None,
                 fail_on_unknown: bool = False, severity_threshold: Severity = Severity.LOW,
                 exclude: list[str] | None = None, rules: list[Path] | None = None, base_dir: Path | None = None,
                 limits: Limits = DEFAULT_LIMITS, workspace: str | None = None, opentofu: bool | None = None):
        self.path = path
        self.select = select
        self.ignore = set() if ignore is None else ignore
        self.severity = {} if severity is None else severity
        self.var_files = [] if var_files is None else var_files
        self.fail_on_unknown = fail_on_unknown
        self.severity_threshold = severity_threshold
        self.exclude = [] if exclude is None else exclude
        self.rules = [] if rules is None else rules  # the user's rule folders, relative to the settings file
        self.base_dir = base_dir
        self.limits = limits
        # what terraform.workspace is when neither TF_WORKSPACE nor .terraform/environment say
        self.workspace = workspace
        # read roots as OpenTofu (true) or Terraform (false) does; unset: detected per root
        self.opentofu = opentofu


def settings_folders(start: Path) -> list[Path]:
    """Where settings are looked for: from the first path up to its git top level, else that folder only.

    A settings file above the repository (a shared temporary folder, another user's home) must not
    change the verdicts of a scan below it.
    """
    real = Path(os.path.realpath(start))
    directory = real if os.path.isdir(real) else real.parent
    top = repository_root(directory)
    if top is None:
        return [directory]
    folders = [directory]
    while folders[-1] != top and folders[-1].parent != folders[-1]:
        folders.append(folders[-1].parent)
    return folders


def find_settings_file(start: Path) -> tuple[Path, dict[str, Any]] | None:
    folders = settings_folders(start)
    tree = Tree.of(folders[-1])
    for folder in folders:
        dotfile = folder / ".iaclint.toml"
        if _present(dotfile, tree):
            return dotfile, _read(dotfile)
        pyproject = folder / "pyproject.toml"
        if _present(pyproject, tree):
            data = _read(pyproject)
            tool = data.get("tool", {})
            if not isinstance(tool, dict):
                continue  # [tool] is not a table: no iaclint settings here (and not ours to judge)
            table = tool.get("iaclint")
            if table is not None:
                return pyproject, {"tool": {"iaclint": table}}
    return None


def _present(path: Path, tree: Tree) -> bool:
    """Is there a settings file here? A link out of the repository (or to a device) is an error naming it.

    Never an error for a folder that cannot be searched: it has no settings.
    """
    if not os.path.lexists(path):
        return False
    why = tree.why_not_read(path)
    if why:
        raise SettingsError(f"{path}: this settings file {why}")
    return True


def _read(path: Path) -> dict[str, Any]:
    import tomllib  # only when a settings file is found: most runs have none

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except RecursionError:
        raise SettingsError(f"{path}: nested too deeply to read") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None


def load_settings(paths: list[str], explicit: str | None = None) -> Settings:
    from iaclint.run.lint import UsageError

    try:
        if explicit:
            path = Path(explicit)
            if not path.is_file():
                raise SettingsError(f"--config {explicit}: no such file")
            found = (path, _read(path))
        else:
            first = next((p for p in paths if p != "-"), ".")
            found = find_settings_file(Path(first)) if os.path.exists(first) else None
        if found is None:
            return Settings()
        return parse_settings(*found, confined=not explicit)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


def parse_settings(path: Path, data: dict[str, Any], confined: bool = False) -> Settings:
    """Settings from a file's data. ``confined``: the file was found in the scanned tree, not named with
    --config, so the var_files and rules folders it names must stay inside that tree."""
    if path.name == "pyproject.toml" or "tool" in data:
        tool = data.get("tool", {})
        table = tool.get("iaclint", {}) if isinstance(tool, dict) else tool
        where = f"{path} [tool.iaclint]"
    else:
        table = data
        where = str(path)
    if not isinstance(table, dict):
        raise SettingsError(f"{where}: must be a table")
    for key in table:
        if key not in KNOWN_KEYS:
            import difflib

            close = difflib.get_close_matches(str(key), sorted(KNOWN_KEYS), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            raise SettingsError(f"{where}: unknown key {key!r} ({hint}known: {', '.join(sorted(KNOWN_KEYS))})")
    settings = Settings(path=str(path), base_dir=path.parent)
    tree = Tree.of(tree_of(path.parent)) if confined else None
    if "rules" in table:  # first: select, ignore and severity may name the rules these folders hold
        from iaclint.engine.rules import RuleError, use_rule_folders

        settings.rules = [path.parent / f for f in _inside(tree, table["rules"], path.parent, where, "rules")]
        try:
            use_rule_folders(settings.rules, keep=True, tree=tree)
        except RuleError as exc:
            raise SettingsError(f"{where}: rules: {exc}") from None
    if "select" in table:
        settings.select = _known_rules(_strings(table["select"], where, "select"), f"{where}: select")
    if "ignore" in table:
        settings.ignore = _known_rules(_strings(table["ignore"], where, "ignore"), f"{where}: ignore")
    if "exclude" in table:
        settings.exclude = _strings(table["exclude"], where, "exclude")
    if "var_files" in table:
        settings.var_files = [str(path.parent / f)
                              for f in _inside(tree, table["var_files"], path.parent, where, "var_files")]
    if "fail_on_unknown" in table:
        if not isinstance(table["fail_on_unknown"], bool):
            raise SettingsError(f"{where}: fail_on_unknown must be true or false")
        settings.fail_on_unknown = table["fail_on_unknown"]
    if "workspace" in table:
        if not isinstance(table["workspace"], str) or not table["workspace"].strip():
            raise SettingsError(f"{where}: workspace must be a workspace name")
        settings.workspace = table["workspace"].strip()
    if "opentofu" in table:
        if not isinstance(table["opentofu"], bool):
            raise SettingsError(f"{where}: opentofu must be true or false")
        settings.opentofu = table["opentofu"]
    if "severity_threshold" in table:
        settings.severity_threshold = _severity(table["severity_threshold"], where, "severity_threshold")
    if "limits" in table:
        if not isinstance(table["limits"], dict):
            raise SettingsError(f"{where}: limits must be a table of NAME = number")
        try:
            settings.limits = DEFAULT_LIMITS.with_values(table["limits"], f"{where}: limits")
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    if "severity" in table:
        if not isinstance(table["severity"], dict):
            raise SettingsError(f"{where}: severity must be a table of RULE = \"level\"")
        from iaclint.engine.rules import find_rule

        for key, level in table["severity"].items():
            rule = find_rule(key)
            if rule is None:
                raise SettingsError(f"{where}: severity: unknown rule {key!r}")
            settings.severity[rule.id] = _severity(level, where, f"severity.{key}")
    return settings


def _inside(tree: Tree | None, value: Any, folder: Path, where: str, key: str) -> list[str]:
    """The paths a settings key names, each inside ``tree`` (the repository the settings were found in;
    None for --config): a repository may not make iaclint read /etc/passwd as variables or rules."""
    names = _strings(value, where, key)
    for name in names if tree is not None else ():
        outside = tree.outside(folder / name)
        if outside:
            flag = "--var-file" if key == "var_files" else "--rules-dir"
            raise SettingsError(f"{where}: {key}: {name} is {outside} (name others with {flag})")
    return names


def _known_rules(keys: list[str], where: str) -> set[str]:
    from iaclint.engine.rules import RuleError, rule_ids

    try:
        return rule_ids(keys, where)
    except RuleError as exc:
        raise SettingsError(str(exc)) from None


def _strings(value: Any, where: str, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{where}: {key} must be a list of strings")
    return value


def _severity(value: Any, where: str, key: str) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise SettingsError(f"{where}: {key}: {exc}") from None
