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

from iaclint.graph.config import terraform_files
from iaclint.run.discovery import ModuleTree, module_tree, project_root
from iaclint.source import display_path

TERRAFORM = (".tf", ".tf.json")
VARIABLES = (".tfvars", ".tfvars.json")
AUTO_VARIABLES = ("terraform.tfvars", "terraform.tfvars.json")
LOCK_FILE = ".terraform.lock.hcl"


def changed_file_targets(paths: list[str], options) -> tuple[list, list[str]]:
    """(targets, notices) for the changed files of a commit, and the deletions it stages."""
    from iaclint.run.lint import AUTO_TFVARS, Target, _roots_of

    modules: dict[Path, Target] = {}
    notices: list[str] = []
    trees: dict[Path, ModuleTree] = {}

    def project_tree() -> ModuleTree:
        base = project_root(Path.cwd(), options.settings_dir)
        if base not in trees:
            trees[base] = module_tree(base, options.skip_paths + options.exclude)
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
        elif name.endswith(VARIABLES) and terraform_files(path.parent):
            for root in roots(path.parent):
                found = target(root)
                found.only_files.add(shown)
                if name not in AUTO_TFVARS and not name.endswith((".auto.tfvars", ".auto.tfvars.json")):
                    found.extra_var_files.append(str(path))
        elif path.resolve() in var_files:
            for root in every_root():
                target(root).only_files.add(shown)
        elif name == LOCK_FILE:
            if terraform_files(path.parent):
                affects_whole(roots(path.parent), f"{shown} changed (provider versions decide defaults)")
        elif name in (".iaclint.toml", "pyproject.toml") \
                and _is_settings(path, path.read_text(encoding="utf-8", errors="replace")):
            before = _var_files_at_base(path, options)
            for root in every_root():
                affects_whole([root], f"the settings {shown} changed")
                target(root).base_var_files = before
        else:
            maybe_read.append(path)
    for path in _deleted(options, notices):
        shown = display_path(path)
        name = path.name
        why = f"{shown} was deleted"
        if name.endswith(TERRAFORM) or name == LOCK_FILE or name in AUTO_VARIABLES \
                or name.endswith((".auto.tfvars", ".auto.tfvars.json")):
            if terraform_files(path.parent):
                affects_whole(roots(path.parent), why)
            elif name.endswith(TERRAFORM):  # a module folder deleted whole: the roots that still call it
                affects_whole([Path(display_path(r)) for r in project_tree().roots_of(path.parent)
                               if terraform_files(r)], why)
        elif path.resolve() in var_files:
            affects_whole(every_root(), why)
        elif name in (".iaclint.toml", "pyproject.toml"):
            from iaclint.run.base import BaseError, text_at

            try:
                if _is_settings(path, text_at(Path.cwd(), options.base or "HEAD", path)):
                    affects_whole(every_root(), f"the settings {shown} were deleted")
            except BaseError:
                pass
        else:
            maybe_read.append(path)
    for path in maybe_read:
        for folder in project_tree().readers_of(path):
            for root in roots(folder):
                target(root).reads.add(str(path.resolve()))
    return list(modules.values()), notices


def _var_files_at_base(path: Path, options) -> list[str] | None:
    """The settings' var_files as the base had them: the base is checked with its own variables files, so
    findings a new var_files entry brings are new. None when they cannot be read (the current ones apply)."""
    import tomllib

    from iaclint.run.base import BaseError, text_at
    from iaclint.run.settings import SettingsError, parse_settings

    try:
        text = text_at(Path.cwd(), options.base or "HEAD", path)
        return parse_settings(path, tomllib.loads(text)).var_files if _is_settings(path, text) else []
    except (BaseError, SettingsError, tomllib.TOMLDecodeError):
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
