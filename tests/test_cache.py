"""The parse cache: a warm run reads trees instead of parsing, and nothing in the cache is trusted blindly."""

from __future__ import annotations

import threading
from pathlib import Path

from iaclint.graph.config import ConfigLoader, make_cache
from iaclint.hcl import cache as cache_module
from iaclint.hcl.cache import ParseCache
from support import FIXTURES, run
from test_cli import iaclint

TEXT = 'resource "aws_kms_key" "k" {\n  description = "k"\n}\n'


def _parse_counting(monkeypatch):
    from iaclint.graph import config

    calls = []
    real = config.parse_source

    def counting(source):
        calls.append(source.path)
        return real(source)

    monkeypatch.setattr(config, "parse_source", counting)
    return calls


def test_a_warm_run_reads_the_tree_and_finds_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = _parse_counting(monkeypatch)
    cold = run([FIXTURES / "demo"])
    parsed_cold = len(calls)
    warm = run([FIXTURES / "demo"])
    assert parsed_cold > 0 and len(calls) == parsed_cold  # the warm run parsed nothing
    assert [(f.rule_id, f.address, f.location) for f in warm.findings] == \
        [(f.rule_id, f.address, f.location) for f in cold.findings]


def test_a_changed_file_is_parsed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = _parse_counting(monkeypatch)
    module = tmp_path / "m"
    module.mkdir()
    (module / "main.tf").write_text(TEXT)
    run([module])
    (module / "main.tf").write_text(TEXT.replace('"k"\n}', '"k"\n  enable_key_rotation = true\n}'))
    report = run([module], select={"KMS001"})
    assert len(calls) == 2 and report.findings == []


def _tree(text: str = TEXT, file: str = "main.tf"):
    from iaclint.hcl.parser import parse_source
    from iaclint.source import SourceFile

    return parse_source(SourceFile(file, text))


def _same(a, b) -> bool:
    from iaclint.hcl import ast

    return a is not None and b is not None and ast.dump(a) == ast.dump(b)


def test_corrupt_and_foreign_entries_are_ignored_and_rewritten(tmp_path):
    cache = ParseCache(tmp_path / "cache")
    tree = _tree()
    cache.put("hcl", "main.tf", TEXT, tree)
    entry = cache._entry("hcl", "main.tf", TEXT)
    assert entry.parent == cache.folder and _same(cache.get("hcl", "main.tf", TEXT), tree)
    entry.write_bytes(entry.read_bytes()[:-3])  # truncated
    assert cache.get("hcl", "main.tf", TEXT) is None and not entry.exists()
    cache.put("hcl", "main.tf", TEXT, tree)
    other = ParseCache(tmp_path / "cache")
    other._key = b"x" * 32  # another user's key: a foreign entry
    assert other.get("hcl", "main.tf", TEXT) is None
    assert ParseCache(tmp_path / "cache").get("hcl", "main.tf", TEXT) is None  # the foreign check removed it
    cache.put("hcl", "main.tf", TEXT, tree)
    assert _same(ParseCache(tmp_path / "cache").get("hcl", "main.tf", TEXT), tree)
    # an entry is bound to its name: a valid entry copied over another file's is not that file's tree
    other_text = TEXT.replace('"k"', '"other"')
    entry.rename(cache._entry("hcl", "main.tf", other_text))
    fresh = ParseCache(tmp_path / "cache")  # lists the folder anew: the entry is there under that name
    assert fresh.get("hcl", "main.tf", other_text) is None and fresh.misses == 1
    assert not cache._entry("hcl", "main.tf", other_text).exists()  # opened, found foreign and removed


def test_a_miss_opens_nothing(tmp_path, monkeypatch):
    """The folder is listed once, at the first get: a cold run asked for an entry per file it parsed, each a failed
    open. What the cache writes meanwhile is found, and what another process writes is found by the next run."""
    opened = []
    real = cache_module.read_regular

    def counting(folder, name, *args):
        opened.append(name)
        return real(folder, name, *args)

    monkeypatch.setattr(cache_module, "read_regular", counting)
    cache = ParseCache(tmp_path / "cache")
    assert cache.get("hcl", "main.tf", TEXT) is None and cache.get("hcl", "other.tf", TEXT) is None
    assert opened == [] and cache.misses == 2
    tree = _tree()
    cache.put("hcl", "main.tf", TEXT, tree)
    assert _same(cache.get("hcl", "main.tf", TEXT), tree) and len(opened) == 1
    assert cache.get("hcl", "other.tf", TEXT) is None and len(opened) == 1
    ParseCache(tmp_path / "cache").put("hcl", "other.tf", TEXT, tree)
    assert cache.get("hcl", "other.tf", TEXT) is None  # written after this run listed the folder: a miss
    assert _same(ParseCache(tmp_path / "cache").get("hcl", "other.tf", TEXT), tree)


def test_concurrent_writers_never_leave_a_broken_entry(tmp_path):
    caches = [ParseCache(tmp_path / "cache") for _ in range(8)]
    trees = [_tree(TEXT.replace('"k"', f'"writer{n}"')) for n in range(8)]

    def write(c, n):
        for _ in range(50):
            c.put("hcl", "main.tf", TEXT, trees[n])

    threads = [threading.Thread(target=write, args=(c, n)) for n, c in enumerate(caches)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    value = ParseCache(tmp_path / "cache").get("hcl", "main.tf", TEXT)
    assert any(_same(value, tree) for tree in trees)
    assert not list((tmp_path / "cache").rglob(".*.tmp"))


def test_the_cache_is_bounded_and_old_generations_go(tmp_path):
    cache = ParseCache(tmp_path / "cache")
    stale = tmp_path / "cache" / ("0" * 20) / "ab"  # an older version's generation, in the older layout
    stale.mkdir(parents=True)
    (stale / "entry").write_bytes(b"x" * 100)
    for i in range(40):
        text = TEXT * 50 + f"# {i}\n"
        cache.put("hcl", f"f{i}.tf", text, _tree(text, f"f{i}.tf"))
    size = sum(p.stat().st_size for p in cache.folder.iterdir())
    cache.prune(limit=size // 2)
    left = sum(p.stat().st_size for p in cache.folder.iterdir())
    assert 0 < left <= size * 3 // 8 and not stale.parent.exists()


def test_no_cache_neither_reads_nor_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert make_cache(False) is None
    monkeypatch.setenv("IACLINT_NO_CACHE", "1")
    assert make_cache(True) is None
    monkeypatch.delenv("IACLINT_NO_CACHE")
    proc = iaclint("check", "--no-cache", "--compact", str(FIXTURES / "demo"))
    assert proc.returncode == 1
    folder = tmp_path / "cache" / "iaclint"
    kept = [p.name for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    assert all(name.startswith("data-grammar-") for name in kept)  # at most Lark's compiled grammar, no parsed files


def test_the_compiled_grammar_is_kept_as_signed_data_in_the_users_cache_not_in_tmp(tmp_path, monkeypatch):
    import pickle
    import tempfile
    import time
    from pathlib import Path

    from iaclint.hcl import grammar

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    started = time.time()
    grammar.parser.cache_clear()
    try:
        built = grammar.parser()
        kept = list((tmp_path / "cache" / "iaclint").rglob("data-grammar-*"))
        assert len(kept) == 1 and kept[0].parent.name == cache_module.generation()
        assert kept[0].read_bytes().startswith(cache_module.MAGIC) and kept[0].stat().st_mode & 0o777 == 0o600

        def no_pickles(*args, **kwargs):
            raise AssertionError("the kept grammar was unpickled")

        monkeypatch.setattr(pickle, "load", no_pickles)
        monkeypatch.setattr(pickle, "loads", no_pickles)
        grammar.parser.cache_clear()
        loaded = grammar.parser()
        assert loaded is not built
        text = 'x = [1,\n  2]\ny = "a${b}" // c\n'
        assert loaded.parse(text) == built.parse(text)
    finally:
        grammar.parser.cache_clear()
    # Lark's own default is a predictable pickle in the shared temporary directory: never used
    assert not [p for p in Path(tempfile.gettempdir()).glob(".lark_*") if p.stat().st_mtime >= started]


def test_the_generation_changes_with_iaclints_version_and_parser_code(monkeypatch):
    import iaclint

    first = cache_module.generation()
    assert len(first) == 20
    try:
        monkeypatch.setattr(iaclint, "__version__", "99.0.0")
        cache_module.generation.cache_clear()
        assert cache_module.generation() != first
        monkeypatch.undo()
        cache_module.generation.cache_clear()
        assert cache_module.generation() == first
        here = Path(cache_module.__file__).parent
        real = Path.read_bytes
        monkeypatch.setattr(Path, "read_bytes", lambda p: real(p) + (b"#" if p.parent == here else b""))
        cache_module.generation.cache_clear()
        assert cache_module.generation() != first  # any change to iaclint/hcl, this file's format included
    finally:
        monkeypatch.undo()
        cache_module.generation.cache_clear()


def test_parallel_parsing_gives_the_same_report_as_serial(tmp_path, monkeypatch):
    import json
    import shutil

    from iaclint.graph import config

    monkeypatch.setattr(config, "PARALLEL_THRESHOLD", 0)  # parallel even for small inputs
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "monorepo", repo)
    from iaclint.formatters import render

    outputs = []
    for jobs in (1, 2):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-{jobs}"))
        outputs.append(json.loads(render("json", run([repo], jobs=jobs))))
    assert outputs[0] == outputs[1] and outputs[0]["findings"]
    from iaclint.run.discovery import loaded_directories
    from iaclint.tree import Tree

    loader = config.ConfigLoader(tree=Tree.of(repo))
    assert loader.preload(loaded_directories([repo / "infra" / "prod"], loader.tree), 2, threshold=0) == 3


def test_reports_are_identical_cold_warm_serial_and_parallel_on_every_fixture(tmp_path, monkeypatch):
    """Issue 25's acceptance: the cache and parallel parsing change the speed, never the report. One run over
    the whole fixtures/ tree per mode (every rule's fixtures, the demo and the monorepo, plans included):
    cold and warm with --jobs 1, cold and warm on two processes. The JSON report has no timing field, so
    the whole report is compared."""
    import json

    from iaclint.formatters import render
    from iaclint.graph import config

    monkeypatch.setattr(config, "PARALLEL_THRESHOLD", 0)  # fixtures are small: parallel even so
    parsed, preloaded = [], []
    real_parse, real_preload = config.parse_source, config.ConfigLoader.preload
    monkeypatch.setattr(config, "parse_source", lambda source: parsed.append(source.path) or real_parse(source))
    monkeypatch.setattr(config.ConfigLoader, "preload",
                        lambda self, *a, **k: preloaded.append(real_preload(self, *a, **k)) or preloaded[-1])
    plans = sorted(str(p) for p in FIXTURES.rglob("plan.json"))
    plan_dirs = {Path(p).parent for p in plans}
    reports, counts = {}, {}
    for mode, jobs, cache in (("cold, --jobs 1", 1, "serial"), ("warm, --jobs 1", 1, "serial"),
                              ("cold, parallel", 2, "parallel"), ("warm, parallel", 2, "parallel")):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / cache))
        parsed.clear()
        preloaded.clear()
        reports[mode] = json.loads(render("json", run([FIXTURES, *plans], jobs=jobs)))
        # a plan's own configuration (read for its lines) may be parsed again; no module's file is
        counts[mode] = (len([p for p in parsed if Path(p).resolve().parent not in plan_dirs]), sum(preloaded))
    first = reports["cold, --jobs 1"]
    assert len(first["findings"]) > 500 and len(first["roots"]) > 100 and plans
    for mode, report in reports.items():
        assert report == first, mode
    assert counts["cold, --jobs 1"][0] > 400 and counts["warm, --jobs 1"] == (0, 0)  # warm read the cache
    assert counts["cold, parallel"][1] > 400 and counts["warm, parallel"] == (0, 0)  # parsed by the workers

    # kept results of roots (run/results.py), as `check` runs: the same report as a check with no cache at all,
    # cold and warm, and the warm run parses only what is not kept (plans' configurations, Terragrunt units)
    from support import options

    from iaclint.run.pipeline import run_check

    checks = {}
    for mode, cache in (("no cache", False), ("kept, cold", True), ("kept, warm", True)):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "kept"))
        parsed.clear()
        checks[mode] = json.loads(render("json", run_check([str(FIXTURES), *plans],
                                                           options(cache=cache, reuse_results=True)).report))
        counts[mode] = len(parsed)
    assert checks["kept, cold"] == checks["no cache"] and checks["kept, warm"] == checks["no cache"]
    assert counts["kept, cold"] > 400 and counts["kept, warm"] < 60


def test_parsing_is_serial_unless_jobs_asks_for_processes(tmp_path, monkeypatch):
    """Issue 25: on the 2-core machine parallel parsing cost more CPU and was no faster in wall time on any
    corpus (README, Speed), so the default is one process; --jobs 0 is one per CPU, --jobs N is N."""
    import shutil

    from typer.testing import CliRunner

    from iaclint.cli import app
    from iaclint.graph import config

    monkeypatch.setattr(config, "PARALLEL_THRESHOLD", 0)
    monkeypatch.setattr("os.cpu_count", lambda: 4)  # what --jobs 0 asks for
    calls = []
    real = config.ConfigLoader.preload
    monkeypatch.setattr(config.ConfigLoader, "preload", lambda self, dirs, jobs, *a, **k: calls.append(jobs) or
                        real(self, dirs, jobs, *a, **k))
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "monorepo", repo)
    for n, extra in enumerate(([], ["--jobs", "0"], ["-j", "3"], ["-j", "1"])):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-{n}"))
        result = CliRunner().invoke(app, ["check", "--soft-fail", *extra, str(repo)])
        assert result.exit_code == 0, result.output
    assert calls == [4, 3]  # the default and -j 1 never start workers


def test_fingerprints_are_stable_across_runs_for_wildcard_instances(tmp_path):
    import json

    (tmp_path / "main.tf").write_text('variable "n" {\n  type = number\n}\n'
                                      'resource "aws_kms_key" "k" {\n  count = var.n\n}\n')
    prints = [json.loads(iaclint("check", "-f", "json", "--no-cache", str(tmp_path)).stdout)["findings"][0]["fingerprint"]
              for _ in range(2)]
    assert prints[0] == prints[1]


EVERY_CONSTRUCT = """locals {
  a = [for k, v in var.m : "${k}=${v}" if v != null]
  b = { for x in var.l : x.name => x... }
  c = -(var.n)
  d = !true
  e = var.list[0].id
  f = aws_instance.x[*].tags["Name"]
  g = aws_instance.x.*.id
  h = var.c ? 1 : 2.5
  i = format("%s", var.x...)
  j = <<-EOT
    hi ${var.x}
  EOT
  k = "%{ if true }x%{ endif }"
  l = { a = 1, "b" = [null, 1.5, 123456789012345678901234567890] }
}

resource "aws_kms_key" "k" {
  dynamic "x" {
    for_each = var.y
  }
}
"""


def test_every_tree_survives_the_cache_encoding_node_for_node():
    """The decoder is written per node class: every class has a code and a decoder that rebuilds its fields
    in _state order, so a change to ast.py that the decoder misses fails here (not as a wrong tree)."""
    from iaclint.hcl import ast
    from iaclint.hcl.parser import parse_source
    from iaclint.source import SourceFile, read_source

    classes = {c for c in vars(ast).values() if isinstance(c, type) and issubclass(c, ast.Node) and c is not ast.Node}
    assert classes == set(cache_module._CLASSES)
    checked = 0
    seen: set[type] = set()
    every_construct = SourceFile("all.tf", EVERY_CONSTRUCT)
    for path in [None, *sorted(FIXTURES.rglob("*.tf")), *sorted(FIXTURES.rglob("*.tf.json"))]:
        try:
            if path is None:
                tree = parse_source(every_construct)
            elif path.name.endswith(".json"):
                from iaclint.hcl.jsonsyntax import parse_json_config

                tree = parse_json_config(read_source(path))
            else:
                tree = parse_source(read_source(path))
        except Exception:  # fixtures that do not parse on purpose
            continue
        again = cache_module.decode_tree(cache_module.encode_tree(tree, tree.file))
        assert ast.dump(again) == ast.dump(tree), path
        assert all(again.file == n.file for n in _nodes(again))
        seen.update(type(n) for n in _nodes(tree))
        checked += 1
    assert checked > 50 and seen == classes  # every class went through the cache at least once


def _nodes(node):
    from iaclint.hcl import ast

    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Node):
            yield n
            stack.extend(getattr(n, name) for name in n._state)
        elif isinstance(n, (list, tuple)):
            stack.extend(n)


def test_values_beyond_msgpack_survive_or_are_parsed_again(tmp_path):
    """Integers past 64 bits come back exact; a string msgpack cannot hold (a lone surrogate, which the
    parsers now reject but a tree could still carry) is simply not kept, and parsed each time."""
    cache = ParseCache(tmp_path / "cache")
    big = 'x = 123456789012345678901234567890123\ny = -1e400\nz = 1.5\n'
    tree = _tree(big)
    cache.put("hcl", "main.tf", big, tree)
    again = cache.get("hcl", "main.tf", big)
    assert _same(again, tree) and again.items[0].expr.value == 123456789012345678901234567890123
    lone = 'x = "a"\n'
    tree = _tree(lone)
    tree.items[0].expr.parts[0] = "\ud800"
    cache.put("hcl", "main.tf", lone, tree)
    assert cache.get("hcl", "main.tf", lone) is None
