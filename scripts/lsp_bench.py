#!/usr/bin/env python3
"""Time the language server as an editor meets it: from a `didChange` to the `publishDiagnostics` for that version.

Usage: python scripts/lsp_bench.py WORKSPACE FILE [--runs 20] [--debounce-ms N]

Starts the installed `iaclint lsp` (needs the [lsp] extra) in WORKSPACE, opens FILE (a path inside it), waits
for its diagnostics, makes one untimed warm-up change, then RUNS changes, each an edit at the end of the file
as typing makes, waiting for the diagnostics of each before the next. Prints the median, min and max latency,
the server's own check time (from its log: the check without the debounce wait and the messages), and the
server's CPU time per change. The debounce is the server's default unless --debounce-ms is given.

Examples: the 50-file generated module (`python scripts/bench.py --keep /tmp/b` writes /tmp/b/module):
    python scripts/lsp_bench.py /tmp/b/module /tmp/b/module/stack_07.tf
and the largest root of a real repository, with the repository as the workspace:
    python scripts/lsp_bench.py REPO REPO/modules/ecs-service/main.tf
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

CHECKED = re.compile(r"checked .* in (\d+) ms")


def cpu_seconds(pid: int) -> float:
    """user + system time of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bench(workspace: Path, file: Path, runs: int, debounce_ms: float | None) -> None:
    exe = shutil.which("iaclint") or sys.exit("iaclint is not on PATH; install the package with its [lsp] extra")
    client = LanguageClient("iaclint-bench", "1")
    published: dict[int | None, float] = {}
    checks: list[int] = []
    arrived = asyncio.Event()
    uri = file.as_uri()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _published(params: lsp.PublishDiagnosticsParams) -> None:
        if params.uri == uri:
            published[params.version] = time.perf_counter()
            arrived.set()

    @client.feature(lsp.WINDOW_LOG_MESSAGE)
    def _logged(params: lsp.LogMessageParams) -> None:
        match = CHECKED.search(params.message)
        if match:
            checks.append(int(match.group(1)))

    async def wait_for(version: int) -> float:
        while version not in published:
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), 120)
        return published[version]

    await client.start_io(exe, "lsp", cwd=str(workspace))
    pid = client._server.pid
    options = {"debounce_ms": debounce_ms} if debounce_ms is not None else None
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities(),
                                                       root_uri=workspace.as_uri(), initialization_options=options))
    client.initialized(lsp.InitializedParams())
    text = file.read_text(encoding="utf-8")
    started = time.perf_counter()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "terraform", 1, text)))
    opened = await wait_for(1) - started
    lines = text.split("\n")
    latencies: list[float] = []
    cpu_before = 0.0
    for version in range(2, runs + 3):
        if version == 3:
            cpu_before = cpu_seconds(pid)
            checks.clear()
        edit = f"\n# edit {version}"
        at = lsp.Position(len(lines) - 1, len(lines[-1]))
        lines[-1] += edit.split("\n")[0]
        lines.append(edit.split("\n")[1])
        sent = time.perf_counter()
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [lsp.TextDocumentContentChangePartial(lsp.Range(at, at), edit)]))
        done = await wait_for(version)
        if version >= 3:  # version 2 warms up
            latencies.append(done - sent)
    cpu = (cpu_seconds(pid) - cpu_before) / runs
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    ms = [t * 1000 for t in latencies]
    print(f"{file.relative_to(workspace)} in {workspace} ({runs} changes; load average "
          f"{os.getloadavg()[0]:.2f})")
    print(f"  open to first diagnostics: {opened * 1000:.0f} ms")
    print(f"  didChange -> publishDiagnostics: median {statistics.median(ms):.0f} ms, min {min(ms):.0f}, "
          f"max {max(ms):.0f} (debounce {'default' if debounce_ms is None else f'{debounce_ms:g} ms'})")
    if checks:
        print(f"  the check itself (server log): median {statistics.median(checks):.0f} ms, min {min(checks)}, "
              f"max {max(checks)}; server CPU per change {cpu * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("file", type=Path)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--debounce-ms", type=float, default=None)
    args = parser.parse_args()
    workspace, file = args.workspace.resolve(), args.file.resolve()
    if not file.is_file() or workspace not in file.parents:
        sys.exit(f"{args.file}: not a file inside {args.workspace}")
    asyncio.run(bench(workspace, file, args.runs, args.debounce_ms))


if __name__ == "__main__":
    main()
