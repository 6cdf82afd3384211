"""The language server's one use of the run API: which root modules a file affects, and a check of one root
with the editor's unsaved buffers in place of the files on disk.

Everything else in iaclint/lsp works from what this module returns (findings, the texts their positions
refer to, why a root could not be checked), so a change in the run layer is met here alone.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from iaclint.errors import RuleError, UsageError
from iaclint.model import Finding
from iaclint.run.discovery import ModuleTree, module_tree, project_root
from iaclint.source import SourceFile

SETTINGS_FILES = (".iaclint.toml", "pyproject.toml")


@dataclass
class RootCheck:
    """What one root's check gives the editor: its findings and the texts their positions refer to."""

    root: Path  # resolved
    findings: list[Finding] = field(default_factory=list)  # unsuppressed: what the CLI would count or show
    texts: dict[str, SourceFile] = field(default_factory=dict)  # absolute path -> the text the check read
    notices: list[str] = field(default_factory=list)
    error: str = ""  # why the root was not checked (bad settings, an internal error): shown, never raised
    settings_file: str | None = None  # absolute path of the settings file the error is about, if any


class Checker:
    """Finds the roots a file affects and checks them, the way `iaclint check` does from the workspace folder."""

    def __init__(self, folders: list[Path]):
        self.folders = sorted((f.resolve() for f in folders), key=lambda p: len(p.parts), reverse=True)
        self._trees: dict[Path, ModuleTree] = {}

    def forget_layout(self) -> None:
        """Module calls may have changed on disk (a save, a checkout): find the roots again when next asked."""
        self._trees.clear()

    def _base_of(self, path: Path) -> Path:
        """The folder whose module layout decides a file's roots: its workspace folder, else its repository."""
        for folder in self.folders:
            if path == folder or folder in path.parents:
                return folder
        return project_root(path.parent)

    def roots_of(self, path: Path) -> list[Path]:
        """The root modules a .tf or .tfvars file affects (resolved): its directory's roots in the layout."""
        path = path.resolve()
        base = self._base_of(path)
        tree = self._trees.get(base)
        if tree is None:
            tree = self._trees[base] = module_tree(base)
        directory = path.parent
        if directory not in tree.directories and path.name.endswith((".tfvars", ".tfvars.json")):
            return []  # a variables file away from any configuration: a settings var_files entry, if anything
        return tree.roots_of(directory)

    def check(self, root: Path, overlay: dict[str, SourceFile]) -> RootCheck:
        """Check one root with ``overlay`` (absolute path -> unsaved text) read instead of the disk. Never raises."""
        result = RootCheck(root)
        try:
            options = self._options(root)
        except (UsageError, RuleError) as exc:
            result.error = str(exc)
            result.settings_file = _settings_file(root)
            return result
        options.overlay = overlay
        try:
            from iaclint.run.pipeline import run_check

            run = run_check([str(root)], options)
        except (UsageError, RuleError) as exc:
            result.error = str(exc)
            return result
        except Exception as exc:  # a bug must cost one root's diagnostics, never the server
            if os.environ.get("IACLINT_STRICT"):
                raise
            result.error = (f"internal error: {exc.__class__.__name__}: {exc} (please report it with the input "
                            f"that caused it)\n{traceback.format_exc()}")
            return result
        report = run.report
        result.findings = [f for f in report.findings if f.suppression is None]
        for graph in run.graphs:
            for shown, source in graph.sources.items():
                result.texts.setdefault(os.path.abspath(shown), source)
        result.notices = list(report.notices) + list(report.errors)
        return result

    @staticmethod
    def _options(root: Path):
        """The run options `iaclint check ROOT --no-recursive` would use: the settings found from the root
        upwards, read by the command line's own code."""
        from iaclint.cli import _options

        options = _options([str(root)], [], [], None, None, [], [], None, None, False, recursive=False, jobs=1)
        options.record_evaluations = False
        return options


def block_start(finding: Finding) -> tuple[str, int] | None:
    """(absolute path, offset) of the start of the block a finding is about, where a suppression comment goes;
    None for findings about a file rather than a block (PARSE, CONFIG)."""
    context = finding.context
    resource = getattr(context, "resource", None) if context is not None else None
    span = getattr(resource, "block_span", None) if resource is not None else None
    if span is None or getattr(context.graph, "kind", "hcl") != "hcl":
        return None
    return os.path.abspath(span.file), span.start


def _settings_file(root: Path) -> str | None:
    """The settings file a root's check reads (the one an error is about)."""
    from iaclint.run.settings import SettingsError, find_settings_file

    try:
        found = find_settings_file(root)
    except SettingsError:
        found = None
    if found is not None:
        return str(found[0])
    for folder in [root, *root.parents]:  # the one that could not be read
        for name in SETTINGS_FILES:
            if (folder / name).is_file():
                return str(folder / name)
    return None
