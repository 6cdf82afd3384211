"""`iaclint lsp` driven as an editor drives it: a client starts the server over standard input and output, opens,
edits and saves documents, asks for code actions and hovers, and applies the edits it gets.

Every test starts a real server process (`iaclint lsp`) in a copy of a fixture, with pygls' client.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from support import RULE_FIXTURES

pytest.importorskip("pygls", reason="the language server needs the [lsp] extra: pip install -e '.[lsp]'")
pytest.importorskip("lsprotocol", reason="the language server needs the [lsp] extra: pip install -e '.[lsp]'")

from lsprotocol import types as lsp  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

from iaclint.engine.rules import find_rule  # noqa: E402

TIMEOUT = 60
IACLINT = str(Path(sys.executable).with_name("iaclint"))  # the console script, as an editor starts the server


class Editor:
    """A language client that behaves like an editor: it keeps its documents' text and versions, applies the
    workspace edits the server offers to them, and records every diagnostic and log message it is sent."""

    def __init__(self, workspace: Path, capabilities: lsp.ClientCapabilities | None = None):
        self.workspace = workspace.resolve()
        self.capabilities = capabilities or lsp.ClientCapabilities(
            workspace=lsp.WorkspaceClientCapabilities(workspace_edit=lsp.WorkspaceEditClientCapabilities(
                document_changes=True)))
        self.client = LanguageClient("iaclint-tests", "1")
        self.published: list[lsp.PublishDiagnosticsParams] = []
        self.logs: list[str] = []
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.arrived = asyncio.Event()

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _published(params: lsp.PublishDiagnosticsParams) -> None:
            self.published.append(params)
            self.arrived.set()

        @self.client.feature(lsp.WINDOW_LOG_MESSAGE)
        def _logged(params: lsp.LogMessageParams) -> None:
            self.logs.append(params.message)
            self.arrived.set()

        @self.client.feature(lsp.WINDOW_SHOW_MESSAGE)
        def _shown(params: lsp.ShowMessageParams) -> None:
            self.logs.append(params.message)

    async def start(self, debounce_ms: int = 30, command: tuple[str, ...] = (IACLINT, "lsp")) -> lsp.InitializeResult:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TF_VAR_")}
        await self.client.start_io(*command, cwd=str(self.workspace), env=env)
        result = await self.client.initialize_async(lsp.InitializeParams(
            capabilities=self.capabilities, root_uri=self.workspace.as_uri(),
            initialization_options={"debounce_ms": debounce_ms}))
        self.client.initialized(lsp.InitializedParams())
        return result

    async def stop(self) -> None:
        server = self.client._server
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), TIMEOUT)
            self.client.exit(None)
            await asyncio.wait_for(server.wait(), TIMEOUT)
        finally:
            if server.returncode is None:
                server.kill()
            await self.client.stop()

    def uri(self, name: str) -> str:
        return (self.workspace / name).as_uri()

    def open(self, name: str) -> None:
        text = (self.workspace / name).read_text(encoding="utf-8")
        self.texts[name] = text
        self.versions[name] = 1
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(self.uri(name), "terraform", 1, text)))

    def change(self, name: str, text: str) -> None:
        """The whole new text (an editor may send a range instead; pygls applies both)."""
        self.texts[name] = text
        self.versions[name] += 1
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=self.uri(name), version=self.versions[name]),
            [lsp.TextDocumentContentChangeWholeDocument(text)]))

    def type_at(self, name: str, line: int, character: int, text: str) -> None:
        """An incremental change, as editors send while typing."""
        lines = self.texts[name].split("\n")
        lines[line] = lines[line][:character] + text + lines[line][character:]
        self.texts[name] = "\n".join(lines)
        self.versions[name] += 1
        position = lsp.Position(line, character)
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=self.uri(name), version=self.versions[name]),
            [lsp.TextDocumentContentChangePartial(lsp.Range(position, position), text)]))

    def save(self, name: str) -> None:
        (self.workspace / name).write_text(self.texts[name], encoding="utf-8")
        self.client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(self.uri(name))))

    async def diagnostics(self, name: str, version: int | None = None, after: int = 0) -> list[lsp.Diagnostic]:
        """The first diagnostics published for a file (for this version of it, when given) from the
        ``after``-th message on."""
        uri = self.uri(name)

        def found():
            for params in self.published[after:]:
                if params.uri == uri and (version is None or params.version == version):
                    return list(params.diagnostics)
            return None

        async def wait():
            while (result := found()) is None:
                self.arrived.clear()
                await self.arrived.wait()
            return result

        return await asyncio.wait_for(wait(), TIMEOUT)

    async def code_actions(self, name: str, diagnostics: list[lsp.Diagnostic], only: list[str] | None = None,
                           where: lsp.Range | None = None) -> list[lsp.CodeAction]:
        where = where or diagnostics[0].range
        result = await asyncio.wait_for(self.client.text_document_code_action_async(lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(self.uri(name)), where, lsp.CodeActionContext(diagnostics, only=only))),
            TIMEOUT)
        return list(result or [])

    async def hover(self, name: str, line: int, character: int) -> lsp.Hover | None:
        return await asyncio.wait_for(self.client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(self.uri(name)), lsp.Position(line, character))), TIMEOUT)

    def apply(self, edit: lsp.WorkspaceEdit) -> list[str]:
        """Apply a workspace edit to the documents (open ones in memory, others on disk); the names changed."""
        changed = []
        groups = ([(e.text_document.uri, e.text_document.version, e.edits) for e in edit.document_changes or []]
                  + [(uri, None, edits) for uri, edits in (edit.changes or {}).items()])
        for uri, version, edits in groups:
            name = Path(uri.removeprefix("file://")).relative_to(self.workspace).as_posix()
            if name in self.texts:
                assert version in (None, self.versions[name]), "an edit made for an older text"
                self.change(name, apply_text_edits(self.texts[name], edits))
            else:
                path = self.workspace / name
                path.write_text(apply_text_edits(path.read_text(encoding="utf-8"), edits), encoding="utf-8")
            changed.append(name)
        return changed

    def text_at(self, name: str, where: lsp.Range) -> str:
        text = self.texts.get(name) or (self.workspace / name).read_text(encoding="utf-8")
        return text[offset_of(text, where.start):offset_of(text, where.end)]


def offset_of(text: str, position: lsp.Position) -> int:
    """A client position (UTF-16 columns) as an offset into the text."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[:position.line])
    line = lines[position.line] if position.line < len(lines) else ""
    units = 0
    for index, char in enumerate(line):
        if units >= position.character:
            return start + index
        units += 2 if ord(char) > 0xFFFF else 1
    return start + len(line)


def apply_text_edits(text: str, edits) -> str:
    """LSP semantics: every range refers to the original text; edits at one place apply in their order."""
    spans = [(offset_of(text, e.range.start), offset_of(text, e.range.end), i, e.new_text) for i, e in enumerate(edits)]
    for start, end, _, new in sorted(spans, key=lambda s: (s[0], s[1], s[2]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def session(workspace: Path, body, **kwargs):
    """Run ``body(editor)`` against a started server, then shut it down as a client does."""

    async def main():
        editor = Editor(workspace, kwargs.pop("capabilities", None))
        await editor.start(**kwargs)
        try:
            return await body(editor)
        finally:
            await editor.stop()

    return asyncio.run(main())


def workspace_of(tmp_path: Path, case: str, name: str = "main.tf") -> Path:
    """A copy of one fixture case (a .tf file becomes the workspace's ``name``, a directory is copied whole)."""
    source = RULE_FIXTURES / case
    workspace = tmp_path / "ws"
    if source.is_dir():
        shutil.copytree(source, workspace)
    else:
        workspace.mkdir()
        shutil.copy2(source, workspace / name)
    return workspace


def test_open_publishes_findings_with_ranges_codes_and_related_information(tmp_path):
    """NEP001 caused by a variable default: the diagnostic marks the argument; its related information is the
    default in variables.tf; the code links the rule's page; high severity is an error."""
    workspace = workspace_of(tmp_path, "NEP001/fail_variable_default")

    async def body(editor: Editor):
        editor.open("main.tf")
        diagnostics = await editor.diagnostics("main.tf", version=1)
        return editor, diagnostics

    editor, diagnostics = session(workspace, body)
    assert [d.code for d in diagnostics] == ["NEP001"]
    d = diagnostics[0]
    assert editor.text_at("main.tf", d.range) == "storage_encrypted  = var.encrypted"
    assert d.severity == lsp.DiagnosticSeverity.Error
    assert d.source == "iaclint"
    assert d.code_description.href.endswith("/docs/rules/NEP001.md")
    assert 'variable "encrypted" default' in d.message
    [related] = d.related_information
    assert related.location.uri == editor.uri("variables.tf")
    assert editor.text_at("variables.tf", related.location.range) == "false"
    assert 'value comes from variable "encrypted" default' in related.message


def test_change_that_fixes_the_problem_clears_it_and_nothing_is_written(tmp_path):
    workspace = workspace_of(tmp_path, "KMS001/fail.tf")
    before = (workspace / "main.tf").read_bytes()
    fixed = (RULE_FIXTURES / "KMS001/fail.fixed.tf").read_text(encoding="utf-8")

    async def body(editor: Editor):
        editor.open("main.tf")
        first = await editor.diagnostics("main.tf", version=1)
        editor.change("main.tf", fixed)
        second = await editor.diagnostics("main.tf", version=2)
        return first, second

    first, second = session(workspace, body)
    assert [(d.code, d.range.start.line) for d in first] == [("KMS001", 1), ("KMS001", 7)]
    assert second == []
    assert (workspace / "main.tf").read_bytes() == before  # the server never writes a file


def test_quick_fixes_applied_one_by_one_give_the_fixed_fixture_byte_for_byte(tmp_path):
    """Each NEP001 fix replaces the cluster: offered, not preferred, and titled so; applying each in turn (the
    server checking again after every edit) gives fail.fixed.tf exactly."""
    workspace = workspace_of(tmp_path, "NEP001/fail.tf")
    expected = (RULE_FIXTURES / "NEP001/fail.fixed.tf").read_bytes()

    async def body(editor: Editor):
        editor.open("main.tf")
        diagnostics = await editor.diagnostics("main.tf", version=1)
        titles = []
        while flagged := [d for d in diagnostics if d.code == "NEP001"]:  # NEP002 shows on each encrypted cluster
            actions = await editor.code_actions("main.tf", flagged[:1])
            fix = next(a for a in actions if a.title.startswith("Fix NEP001"))
            titles.append((fix.title, fix.is_preferred, fix.kind))
            editor.apply(fix.edit)
            diagnostics = await editor.diagnostics("main.tf", version=editor.versions["main.tf"])
        editor.save("main.tf")
        return titles

    titles = session(workspace, body)
    assert len(titles) == 3
    for title, preferred, kind in titles:
        assert "(unsafe: replaces the resource)" in title and not preferred and kind == lsp.CodeActionKind.QuickFix
    assert (workspace / "main.tf").read_bytes() == expected


def test_fix_all_safe_in_this_file_gives_the_fixed_fixture_byte_for_byte(tmp_path):
    """KMS001's fixes are safe: each quick fix is preferred, and the source action applies both at once."""
    workspace = workspace_of(tmp_path, "KMS001/fail.tf")
    expected = (RULE_FIXTURES / "KMS001/fail.fixed.tf").read_text(encoding="utf-8")

    async def body(editor: Editor):
        editor.open("main.tf")
        diagnostics = await editor.diagnostics("main.tf", version=1)
        quick = await editor.code_actions("main.tf", diagnostics[:1], only=[lsp.CodeActionKind.QuickFix])
        whole = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
        source = await editor.code_actions("main.tf", [], only=[lsp.CodeActionKind.Source], where=whole)
        editor.apply(source[0].edit)
        after = await editor.diagnostics("main.tf", version=2)
        return diagnostics, quick, source, editor.texts["main.tf"], after

    diagnostics, quick, source, text, after = session(workspace, body)
    assert [d.code for d in diagnostics] == ["KMS001", "KMS001"]
    fix = next(a for a in quick if a.title.startswith("Fix KMS001"))
    assert fix.is_preferred and "unsafe" not in fix.title
    assert [a.kind for a in source] == [lsp.CodeActionKind.SourceFixAll]
    assert source[0].title == "Fix all safe iaclint problems in this file (2 fixes)"
    assert text == expected
    assert after == []


def test_suppression_action_writes_a_comment_with_an_empty_reason_and_an_expiry(tmp_path):
    """The comment suppresses the finding; its empty reason is reported (SUP001) until the author writes one."""
    workspace = workspace_of(tmp_path, "KMS001/fail.tf")

    async def body(editor: Editor):
        editor.open("main.tf")
        diagnostics = await editor.diagnostics("main.tf", version=1)
        second = next(d for d in diagnostics if d.range.start.line == 7)
        actions = await editor.code_actions("main.tf", [second])
        suppress = next(a for a in actions if a.title.startswith("Suppress"))
        editor.apply(suppress.edit)
        after = await editor.diagnostics("main.tf", version=2)
        return suppress, editor.texts["main.tf"], after

    suppress, text, after = session(workspace, body)
    expires = (date.today() + timedelta(days=90)).isoformat()
    assert suppress.title == "Suppress KMS001 for aws_kms_key.rotation_off (iaclint:ignore, give the reason)"
    assert f'\n# iaclint:ignore KMS001 reason="" expires={expires}\nresource "aws_kms_key" "rotation_off" {{' in text
    assert sorted(d.code for d in after) == ["KMS001", "SUP001"]  # the other key's finding stays
    assert next(d for d in after if d.code == "KMS001").range.start.line == 1


def test_hover_shows_the_rule_text_over_a_flagged_argument_and_over_a_rule_id(tmp_path):
    workspace = workspace_of(tmp_path, "KMS001/fail.tf")
    text = (workspace / "main.tf").read_text(encoding="utf-8")
    (workspace / "main.tf").write_text("# iaclint:ignore NEP001 reason=\"x\"\n" + text, encoding="utf-8")
    rule = find_rule("KMS001")

    async def body(editor: Editor):
        editor.open("main.tf")
        diagnostics = await editor.diagnostics("main.tf", version=1)
        flagged = next(d for d in diagnostics if d.range.start.line == 8)
        on_finding = await editor.hover("main.tf", flagged.range.start.line, flagged.range.start.character + 2)
        on_rule_id = await editor.hover("main.tf", 0, len("# iaclint:ignore NE"))
        elsewhere = await editor.hover("main.tf", 3, 4)
        return on_finding, on_rule_id, elsewhere

    on_finding, on_rule_id, elsewhere = session(workspace, body)
    assert on_finding.contents.kind == lsp.MarkupKind.Markdown
    value = on_finding.contents.value
    assert value.startswith("**KMS001** (medium) KMS key does not rotate automatically: enable_key_rotation is false")
    assert "Fix: set `enable_key_rotation = true` in aws_kms_key.rotation_off" in value
    assert "# KMS001 " in value and rule.docs["what"].strip().splitlines()[0] in value
    assert on_rule_id.contents.value.startswith("# NEP001 neptune-cluster-encrypted")
    assert find_rule("NEP001").docs["why"].strip().splitlines()[0] in on_rule_id.contents.value
    assert elsewhere is None


def test_parse_error_in_the_buffer_is_a_parse_diagnostic_and_the_server_goes_on(tmp_path):
    workspace = workspace_of(tmp_path, "KMS001/fail.tf")
    good = (workspace / "main.tf").read_text(encoding="utf-8")

    async def body(editor: Editor):
        editor.open("main.tf")
        await editor.diagnostics("main.tf", version=1)
        editor.change("main.tf", good + 'resource "aws_kms_key" "broken" {\n  description = "no end"\n')
        broken = await editor.diagnostics("main.tf", version=2)
        editor.change("main.tf", good + "\x00\ufffe{{{ ]]] \"")
        worse = await editor.diagnostics("main.tf", version=3)
        hover = await editor.hover("main.tf", 0, 0)
        editor.change("main.tf", good + "locals {\n  deep = " + "[" * 5000 + "]" * 5000 + "\n}\n")
        deep = await editor.diagnostics("main.tf", version=4)
        editor.change("main.tf", good)
        healed = await editor.diagnostics("main.tf", version=5)
        return broken, worse, hover, deep, healed

    broken, worse, hover, deep, healed = session(workspace, body)
    assert [d.code for d in broken] == ["PARSE"]
    assert broken[0].severity == lsp.DiagnosticSeverity.Error
    assert broken[0].range.start.line >= 9 and "main.tf" not in broken[0].message.split(":")[0]
    assert [d.code for d in worse] == ["PARSE"]
    assert hover is None
    assert [d.code for d in deep] == ["KMS001", "KMS001"]  # 5,000 levels deep: read like any other
    assert [d.code for d in healed] == ["KMS001", "KMS001"]


def test_findings_in_files_that_are_not_open_go_to_their_own_uris(tmp_path):
    """Opening the root shows the module's findings on the module file, with the module argument that caused
    NEP001 and the call as related information."""
    workspace = workspace_of(tmp_path, "NEP001/fail_module_twice")

    async def body(editor: Editor):
        editor.open("main.tf")
        module = await editor.diagnostics("modules/graph/main.tf")
        root = await editor.diagnostics("main.tf")
        return editor, module, root

    editor, module, root = session(workspace, body)
    assert root == []
    assert sorted(d.code for d in module) == ["NEP001", "NEP002"]
    nep001 = next(d for d in module if d.code == "NEP001")
    assert editor.text_at("modules/graph/main.tf", nep001.range).startswith("storage_encrypted")
    places = {(r.location.uri, editor.text_at("main.tf", r.location.range)) for r in nep001.related_information
              if r.location.uri == editor.uri("main.tf")}
    assert (editor.uri("main.tf"), "false") in places


def test_unsaved_text_of_every_open_document_is_what_is_checked(tmp_path):
    """Turning the variable's default to true in the unsaved variables.tf clears main.tf's NEP001."""
    workspace = workspace_of(tmp_path, "NEP001/fail_variable_default")

    async def body(editor: Editor):
        editor.open("main.tf")
        editor.open("variables.tf")
        await editor.diagnostics("main.tf", version=1)
        editor.change("variables.tf", editor.texts["variables.tf"].replace("false", "true"))
        await editor.diagnostics("variables.tf", version=2)  # open documents of a checked root are published
        return [p.diagnostics for p in editor.published if p.uri == editor.uri("main.tf")][-1]

    assert [d.code for d in session(workspace, body)] == ["NEP002"]  # encrypted now: its key is judged
    assert "false" in (workspace / "variables.tf").read_text(encoding="utf-8")


def test_closing_an_unsaved_document_checks_the_file_on_disk_again(tmp_path):
    workspace = workspace_of(tmp_path, "KMS001/fail.tf")
    fixed = (RULE_FIXTURES / "KMS001/fail.fixed.tf").read_text(encoding="utf-8")

    async def body(editor: Editor):
        editor.open("main.tf")
        await editor.diagnostics("main.tf", version=1)
        editor.change("main.tf", fixed)
        unsaved = await editor.diagnostics("main.tf", version=2)
        mark = len(editor.published)
        editor.client.text_document_did_close(lsp.DidCloseTextDocumentParams(
            lsp.TextDocumentIdentifier(editor.uri("main.tf"))))
        return unsaved, await editor.diagnostics("main.tf", after=mark)

    unsaved, closed = session(workspace, body)
    assert unsaved == []
    assert [d.code for d in closed] == ["KMS001", "KMS001"]  # the edits were thrown away: the file still fails


def test_unknown_verdicts_are_hints_with_their_reason_and_suggestions_are_not_edits(tmp_path):
    workspace = workspace_of(tmp_path, "NEP001/unknown_no_default")

    async def body(editor: Editor):
        editor.open("main.tf")
        diagnostics = await editor.diagnostics("main.tf", version=1)
        nep001 = next(d for d in diagnostics if d.code == "NEP001")
        return diagnostics, await editor.code_actions("main.tf", [nep001])

    diagnostics, actions = session(workspace, body)
    assert {d.severity for d in diagnostics} == {lsp.DiagnosticSeverity.Hint}
    nep001 = next(d for d in diagnostics if d.code == "NEP001")
    assert nep001.message.startswith("unknown: ")
    assert 'variable "encrypted" has no default and no value was given' in nep001.message
    assert [a.title for a in actions if a.title.startswith("Fix")] == []  # a suggestion only: shown on hover


def test_debounce_checks_a_burst_of_typing_once(tmp_path):
    workspace = workspace_of(tmp_path, "KMS001/fail.tf")

    async def body(editor: Editor):
        editor.open("main.tf")
        await editor.diagnostics("main.tf", version=1)
        checks = sum("checked" in m for m in editor.logs)
        for i, char in enumerate("# a comment"):
            editor.type_at("main.tf", 0, i, char)
        last = editor.versions["main.tf"]
        diagnostics = await editor.diagnostics("main.tf", version=last)
        return checks, sum("checked" in m for m in editor.logs), diagnostics, editor.published

    before, after, diagnostics, published = session(workspace, body, debounce_ms=400)
    assert after - before == 1
    assert [d.code for d in diagnostics] == ["KMS001", "KMS001"]
    assert [p.version for p in published] == [1, 12]


def test_settings_are_read_as_the_command_line_reads_them(tmp_path):
    workspace = workspace_of(tmp_path, "NEP001/fail_module_twice")
    (workspace / ".iaclint.toml").write_text('ignore = ["NEP002"]\nseverity = { NEP001 = "medium" }\n')

    async def body(editor: Editor):
        editor.open("main.tf")
        return await editor.diagnostics("modules/graph/main.tf")

    diagnostics = session(workspace, body)
    assert [(d.code, d.severity) for d in diagnostics] == [("NEP001", lsp.DiagnosticSeverity.Warning)]


def test_bad_settings_are_a_diagnostic_on_the_settings_file(tmp_path):
    workspace = workspace_of(tmp_path, "KMS001/fail.tf")
    (workspace / "pyproject.toml").write_text('[tool.iaclint]\nignor = ["KMS001"]\n')

    async def body(editor: Editor):
        editor.open("main.tf")
        settings = await editor.diagnostics("pyproject.toml")
        (workspace / "pyproject.toml").write_text('[tool.iaclint]\nignore = ["KMS001"]\n')
        editor.save("main.tf")  # a save looks at the settings again
        return settings, await editor.diagnostics("pyproject.toml", after=len(editor.published))

    settings, healed = session(workspace, body)
    assert [d.code for d in settings] == ["SETTINGS"]
    assert "unknown key 'ignor' (did you mean ignore?" in settings[0].message
    assert healed == []


def test_nothing_in_the_workspace_runs_code(tmp_path):
    """A workspace's Python files never load: not as a rule's check, nor in place of a module imported when
    needed (settings need tomllib), even when the server was started as `python -m iaclint lsp` from the
    workspace, which puts it first on the import path."""
    workspace = workspace_of(tmp_path, "KMS001/fail.tf")
    marker = tmp_path / "ran"
    payload = f"open({str(marker)!r}, 'w').write(__name__)\n"
    for name in ("tomllib.py", "evil.py"):
        (workspace / name).write_text(payload)
    (workspace / "policies").mkdir()
    (workspace / "policies" / "mine.yaml").write_text(
        "id: OWN001\nname: own-rule\ntitle: mine\nseverity: low\nresource_types: [aws_kms_key]\ncheck: evil:run\n")
    (workspace / ".iaclint.toml").write_text('rules = ["policies"]\nselct = ["KMS001"]\n')

    async def body(editor: Editor):
        editor.open("main.tf")
        return await editor.diagnostics(".iaclint.toml")

    diagnostics = session(workspace, body, command=(sys.executable, "-m", "iaclint", "lsp"))
    assert not marker.exists()
    assert [d.code for d in diagnostics] == ["SETTINGS"]


def test_positions_count_utf16_units_as_clients_do():
    from iaclint.lsp.convert import Positions
    from iaclint.model import Location
    from iaclint.source import SourceFile

    text = 'x = "😀é"\nstorage = false\n'
    units = lambda s: len(s.encode("utf-16-le")) // 2  # noqa: E731
    positions = Positions({"/ws/a.tf": SourceFile("a.tf", text)}, units)
    assert positions.at("/ws/a.tf", 1, 8) == lsp.Position(0, 8)  # after "x = "😀" (the emoji is two units)
    assert positions.at_offset("/ws/a.tf", text.index("false")) == lsp.Position(1, 10)
    place = positions.range("/ws/a.tf", Location("a.tf", 2, 1, 2, 1))  # a place, not a range: to the line's end
    assert (place.start, place.end) == (lsp.Position(1, 0), lsp.Position(1, 15))
