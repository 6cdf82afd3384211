"""The parse cache: a warm run reads trees instead of parsing, and nothing in the cache is trusted blindly."""

from __future__ import annotations

import threading

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


def test_corrupt_and_foreign_entries_are_ignored_and_rewritten(tmp_path):
    cache = ParseCache(tmp_path / "cache")
    cache.put("hcl", "main.tf", TEXT, {"tree": 1})
    entry = cache._entry("hcl", "main.tf", TEXT)
    entry.write_bytes(entry.read_bytes()[:-3])  # truncated
    assert cache.get("hcl", "main.tf", TEXT) is None and not entry.exists()
    cache.put("hcl", "main.tf", TEXT, {"tree": 2})
    other = ParseCache(tmp_path / "cache")
    other._key = b"x" * 32  # another user's key: a foreign entry
    assert other.get("hcl", "main.tf", TEXT) is None
    assert ParseCache(tmp_path / "cache").get("hcl", "main.tf", TEXT) is None  # the foreign check removed it
    cache.put("hcl", "main.tf", TEXT, {"tree": 3})
    assert ParseCache(tmp_path / "cache").get("hcl", "main.tf", TEXT) == {"tree": 3}
    assert (tmp_path / "cache" / "key").stat().st_mode & 0o777 == 0o600


def test_concurrent_writers_never_leave_a_broken_entry(tmp_path):
    caches = [ParseCache(tmp_path / "cache") for _ in range(8)]

    def write(c, n):
        for i in range(50):
            c.put("hcl", "main.tf", TEXT, {"writer": n, "i": i})

    threads = [threading.Thread(target=write, args=(c, n)) for n, c in enumerate(caches)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    value = ParseCache(tmp_path / "cache").get("hcl", "main.tf", TEXT)
    assert value is not None and value["i"] == 49
    assert not list((tmp_path / "cache").rglob(".*.tmp"))


def test_the_cache_is_bounded_and_old_generations_go(tmp_path):
    cache = ParseCache(tmp_path / "cache")
    stale = tmp_path / "cache" / "0ld-generation" / "ab"
    stale.mkdir(parents=True)
    (stale / "entry").write_bytes(b"x" * 100)
    for i in range(40):
        cache.put("hcl", f"f{i}.tf", TEXT * 50, "y" * 1000)
    cache.prune(limit=20_000)
    size = sum(p.stat().st_size for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.name != "key")
    assert size <= 15_000 and not (stale / "entry").exists()


def test_no_cache_neither_reads_nor_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert make_cache(False) is None
    monkeypatch.setenv("IACLINT_NO_CACHE", "1")
    assert make_cache(True) is None
    monkeypatch.delenv("IACLINT_NO_CACHE")
    proc = iaclint("check", "--no-cache", "--compact", str(FIXTURES / "demo"))
    assert proc.returncode == 1
    folder = tmp_path / "cache" / "iaclint"
    kept = [p.name for p in folder.iterdir()] if folder.exists() else []
    assert all(name.startswith("grammar-") for name in kept)  # at most Lark's compiled grammar, no parsed files


def test_the_compiled_grammar_is_cached_in_the_users_directory_not_in_tmp(tmp_path, monkeypatch):
    import tempfile
    import time
    from pathlib import Path

    from iaclint.hcl import grammar

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    started = time.time()
    grammar.parser.cache_clear()
    try:
        grammar.parser()
    finally:
        grammar.parser.cache_clear()
    assert list((tmp_path / "cache" / "iaclint").glob("grammar-*.lark"))
    # Lark's own default is a predictable pickle in the shared temporary directory: never used
    assert not [p for p in Path(tempfile.gettempdir()).glob(".lark_*") if p.stat().st_mtime >= started]


def test_the_generation_changes_with_the_parser_code(monkeypatch):
    assert len(cache_module.generation()) == 20
    loader = ConfigLoader(cache=ParseCache())
    assert loader.cache is not None


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


def test_fingerprints_are_stable_across_runs_for_wildcard_instances(tmp_path):
    import json

    (tmp_path / "main.tf").write_text('variable "n" {\n  type = number\n}\n'
                                      'resource "aws_kms_key" "k" {\n  count = var.n\n}\n')
    prints = [json.loads(iaclint("check", "-f", "json", "--no-cache", str(tmp_path)).stdout)["findings"][0]["fingerprint"]
              for _ in range(2)]
    assert prints[0] == prints[1]


def test_every_tree_survives_the_cache_pickle_node_for_node():
    """Nodes pickle as their fields in __init__ order (ast.Node.__reduce__): a node whose _fields and
    __init__ disagree would come back with its fields swapped."""
    import inspect
    import pickle

    from iaclint.hcl import ast
    from iaclint.hcl.parser import parse_source
    from iaclint.source import read_source

    for cls in [c for c in vars(ast).values() if isinstance(c, type) and issubclass(c, ast.Node)]:
        assert tuple(inspect.signature(cls.__init__).parameters)[1:] == cls._fields, cls.__name__
    checked = 0
    for path in sorted(FIXTURES.rglob("*.tf")):
        try:
            tree = parse_source(read_source(path))
        except Exception:  # fixtures that do not parse on purpose
            continue
        again = pickle.loads(pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL))
        assert ast.dump(again) == ast.dump(tree), path
        checked += 1
    assert checked > 50
