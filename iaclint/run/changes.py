"""--staged (the pre-commit hook): from the changed files of a commit to the roots they can affect.

pre-commit passes the staged files that still exist. A commit can also fail a root without touching
its `.tf` files: deleting a `.tf` or `terraform.tfvars` file (pre-commit passes no name for it, so
git is asked: `git diff --cached` against --base), editing a file a root reads with file() or
templatefile(), changing `.terraform.lock.hcl` (it decides defaults such as Redshift's) or the
settings (their var_files, exclude, severities). Such a change may affect any resource of the roots
concerned, so those roots report every finding that was not there at --base, as well as the findings
touching the files passed.
"""

from __future__ import annotations

from pathlib import Path

from iaclint.graph.config import OPENTOFU_SUFFIXES, TERRAFORM_SUFFIXES, UNIT_FILE, is_unit, terraform_files
from iaclint.run.discovery import ModuleTree, module_tree, project_root
from iaclint.source import display_path
from iaclint.tree import Tree, shown_as_found

TERRAFORM = TERRAFORM_SUFFIXES + OPENTOFU_SUFFIXES  # either tool's configuration files
VARIABLES = (".tfvars", ".tfvars.json")
AUTO_VARIABLES = ("terraform.tfvars", "terraform.tfvars.json")
LOCK_FILE = ".terraform.lock.hcl"


def changed_file_targets(paths: list[str], options, tree: Tree) -> tuple[list, list[str], list[tuple[str, str]]]:
    """(targets, notices, problems) for the changed files of a commit, and the deletions it stages; files are
    read only inside ``tree``, and problems are the folders the search for roots could not read."""
    from iaclint.run.lint import AUTO_TFVARS, Target, _roots_of

    modules: dict[Path, Target] = {}
    notices: list[str] = []
    trees: dict[Path, ModuleTree] = {}

    def project_tree() -> ModuleTree:
        base = project_root(Path.cwd(), options.settings_dir)
        if base not in trees:
            trees[base] = module_tree(base, options.skip_paths + options.exclude, tree)
        return trees[base]

    def target(directory: Path) -> Target:
        key = directory.resolve()
        if key not in modules:
            modules[key] = Target("module", Path(display_path(directory)), only_files=set())
        return modules[key]

    def roots(directory: Path) -> list[Path]:
        return _roots_of(directory, project_tree, options)

    def every_root() -> list[Path]:
        return [Path(display_path(r)) for r in project_tree().roots]

    def terragrunt_units(path: Path) -> list[Path]:
        """The units a Terragrunt file stands for: its own unit (terragrunt.hcl), else every unit of the project
        (root.hcl, env.hcl: which units include or read it is not traced)."""
        if path.name == UNIT_FILE and is_unit(path.parent):
            return [Path(display_path(path.parent))]
        return [r for r in every_root() if is_unit(r)]

    def affects_whole(directories: list[Path], why: str) -> None:
        for directory in directories:
            reasons = target(directory).whole_reasons
            if why not in reasons:
                reasons.append(why)

    var_files = {Path(f).resolve() for f in options.var_files + options.shared_var_files}
    maybe_read: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            continue
        shown = display_path(path)
        name = path.name
        if name.endswith(TERRAFORM):
            for root in roots(path.parent):
                target(root).only_files.add(shown)
        elif name.endswith(VARIABLES) and terraform_files(path.parent, None):
            for root in roots(path.parent):
                found = target(root)
                found.only_files.add(shown)
                if name in AUTO_TFVARS or name.endswith((".auto.tfvars", ".auto.tfvars.json")):
                    continue  # the root loads it itself, through the tree
                refused = tree.why_not_read(path)
                if refused:  # a file of the repository, not one the user named: read only inside the tree
                    _add(notices, f"{shown_as_found(path)} {refused}; it is not read")
                else:
                    found.extra_var_files.append(str(path))
        elif path.resolve() in var_files:
            for root in every_root():
                target(root).only_files.add(shown)
        elif name == LOCK_FILE:
            if terraform_files(path.parent, None):
                affects_whole(roots(path.parent), f"{shown} changed (provider versions decide defaults)")
        elif name in (".iaclint.toml", "pyproject.toml") and _is_settings(path, _text(path, tree)):
            before = _var_files_at_base(path, options)
            for root in every_root():
                affects_whole([root], f"the settings {shown} changed")
                target(root).base_var_files = before
        elif name.endswith(".hcl"):
            affects_whole(terragrunt_units(path), f"{shown} changed (Terragrunt reads it)")
        else:
            maybe_read.append(path)
    for path in _deleted(options, notices):
        shown = display_path(path)
        name = path.name
        why = f"{shown} was deleted"
        if name.endswith(TERRAFORM) or name == LOCK_FILE or name in AUTO_VARIABLES \
                or name.endswith((".auto.tfvars", ".auto.tfvars.json")):
            if terraform_files(path.parent, None):
                affects_whole(roots(path.parent), why)
            elif name.endswith(TERRAFORM):  # a module folder deleted whole: the roots that still call it
                affects_whole([Path(display_path(r)) for r in project_tree().roots_of(path.parent)
                               if terraform_files(r, None)], why)
        elif path.resolve() in var_files:
            affects_whole(every_root(), why)
        elif name in (".iaclint.toml", "pyproject.toml"):
            from iaclint.run.base import BaseError, text_at

            try:
                if _is_settings(path, text_at(Path.cwd(), options.base or "HEAD", path)):
                    affects_whole(every_root(), f"the settings {shown} were deleted")
            except BaseError:
                pass
        elif name.endswith(".hcl") and name != LOCK_FILE:
            affects_whole(terragrunt_units(path) + ([path.parent] if terraform_files(path.parent, None) else []), why)
        else:
            maybe_read.append(path)
    for path in maybe_read:
        for folder in project_tree().readers_of(path):
            for root in roots(folder):
                target(root).reads.add(str(path.resolve()))
    problems = [p for found in trees.values() for p in found.problems]
    return list(modules.values()), notices, problems


def _add(notices: list[str], text: str) -> None:
    if text not in notices:
        notices.append(text)


def _text(path: Path, tree: Tree) -> str:
    """A changed file's text, when it is a regular file inside the tree ('' otherwise)."""
    if tree.why_not_read(path):
        return ""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _var_files_at_base(path: Path, options) -> list[str] | None:
    """The settings' var_files as the base had them: the base is checked with its own variables files, so
    findings a new var_files entry brings are new. None when they cannot be read (the current ones apply)."""
    import tomllib

    from iaclint.run.base import BaseError, text_at
    from iaclint.run.settings import SettingsError, parse_settings

    try:
        text = text_at(Path.cwd(), options.base or "HEAD", path)
        if not _is_settings(path, text):
            return []
        data = tomllib.loads(text)
        table = data.get("tool", {}).get("iaclint", {}) if path.name == "pyproject.toml" else data
        if not isinstance(table, dict):
            return None
        # only var_files are wanted: the base's rules folders are not loaded (they would join this run's rules),
        # and its var_files must stay inside the repository as the current settings' must
        wanted = {"var_files": table.get("var_files", [])}
        shaped = {"tool": {"iaclint": wanted}} if path.name == "pyproject.toml" else wanted
        return parse_settings(path, shaped, confined=True).var_files
    except (BaseError, SettingsError, tomllib.TOMLDecodeError, AttributeError):
        return None


def _is_settings(path: Path, text: str) -> bool:
    return path.name == ".iaclint.toml" or (path.name == "pyproject.toml" and "tool.iaclint" in text)


def _deleted(options, notices: list[str]) -> list[Path]:
    from iaclint.run.base import BaseError, staged_deletions

    ref = options.base or "HEAD"
    try:
        return staged_deletions(Path.cwd(), ref)
    except BaseError as exc:
        notices.append(f"--staged: the deletions staged since {ref} cannot be listed ({exc}); deleted files are "
                       "not checked")
        return []
