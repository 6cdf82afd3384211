"""Inputs that once ended in an internal error, a wrong message, or a hang."""

from __future__ import annotations

import json
import os
import random
import threading

import pytest

from iaclint.fixes.diff import file_diff, unified_diff
from iaclint.hcl.layout import apply_edits
from iaclint.model import Edit
from iaclint.source import SourceFile
from support import FIXTURES
from test_cli import assert_no_traceback, iaclint

PLAN = FIXTURES / "rules" / "ECH001" / "plan_engines" / "plan.json"


@pytest.mark.parametrize("encode", [
    lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
    lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
], ids=["utf8-bom", "utf16-le", "utf16-be"])
def test_plans_with_a_bom_or_in_utf16_are_read(tmp_path, encode):
    path = tmp_path / "plan.json"
    path.write_bytes(encode(PLAN.read_text()))
    proc = iaclint("check", "--compact", "--select", "ECH001", str(path))
    assert_no_traceback(proc)
    assert proc.returncode == 1 and "ECH001" in proc.stdout, proc.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_plan_from_a_pipe_is_read_once(tmp_path):
    fifo = tmp_path / "plan-pipe"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "w") as handle:
            handle.write(PLAN.read_text())

    writer = threading.Thread(target=feed)
    writer.start()
    proc = iaclint("check", "--compact", "--select", "ECH001", str(fifo))
    writer.join(timeout=10)
    assert proc.returncode == 1 and "ECH001" in proc.stdout, proc.stderr


@pytest.mark.parametrize("change,message", [
    (lambda t: t.replace('"applyable":true', '"applyable":NaN'), "NaN is not valid JSON"),
    (lambda t: t.replace('"applyable":true', '"applyable":-Infinity'), "-Infinity is not valid JSON"),
    (lambda t: t.replace('"format_version":"1.2"', '"format_version":"-1.0"'), "is not a version number"),
    (lambda t: t[:400], "is it truncated?"),
    (lambda t: t[:-1] + "]", "Expecting ',' delimiter"),
])
def test_broken_plans_are_usage_errors_with_the_right_words(tmp_path, change, message):
    path = tmp_path / "plan.json"
    path.write_text(change(PLAN.read_text()))
    proc = iaclint("check", str(path))
    assert_no_traceback(proc)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    if message == "Expecting ',' delimiter":
        assert "truncated" not in proc.stderr  # only said when the file really ends early


def test_huge_integers_in_plans_do_not_crash(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(PLAN.read_text().replace('"complete":true', '"complete":' + "9" * 5000))
    proc = iaclint("check", "--compact", "--select", "ECH001", str(path))
    assert_no_traceback(proc)
    assert proc.returncode == 1


def test_plan_positions_come_from_one_index(tmp_path):
    from iaclint.engine.lint import Target
    from iaclint.graph.plan import load_plan_target
    from support import options

    graph = load_plan_target(Target("plan", PLAN), options())
    text = PLAN.read_text()
    for resource in graph.resources:
        span = resource.plan_span
        assert json.loads(text[span.start:span.end].split(":", 1)[1]) == resource.address
        assert span.start > text.find('"resource_changes"')  # the change entry, not planned_values


def test_the_diff_of_one_fix_only_compares_the_lines_around_it():
    random.seed(7)
    for _ in range(300):
        lines = [f'  a{i} = "{random.choice("xyz")}"\n' for i in range(random.randint(1, 40))]
        text = "".join(lines)
        if random.random() < 0.3:
            text = text.rstrip("\n")
        source = SourceFile("f.tf", text)
        edits = []
        for _ in range(random.randint(1, 3)):
            start = random.randint(0, len(text))
            end = min(len(text), start + random.randint(0, 12))
            edits.append(Edit("f.tf", start, end, random.choice(["", "q", "\n  b = 1\n"])))
        edits.sort(key=lambda e: e.start)
        if any(a.end > b.start for a, b in zip(edits, edits[1:])):
            continue
        assert unified_diff({"f.tf": source}, edits) == file_diff("f.tf", text, apply_edits(text, edits))


def test_a_reference_to_a_for_each_resource_is_built_once(tmp_path, monkeypatch):
    from pathlib import Path

    from iaclint.graph import hcl
    from iaclint.graph.inputs import collect_inputs

    names = ", ".join(f'"n{i}"' for i in range(200))
    (tmp_path / "main.tf").write_text(
        f'locals {{\n  names = toset([{names}])\n}}\n'
        'resource "aws_kms_key" "k" {\n  for_each = local.names\n}\n'
        'resource "aws_neptune_cluster" "c" {\n  for_each    = local.names\n'
        '  kms_key_arn = aws_kms_key.k[each.key].arn\n}\n')
    builds = []
    original = hcl.ResourceGroup._build_reference

    def counting(self):
        builds.append(self.base_address)
        return original(self)

    monkeypatch.setattr(hcl.ResourceGroup, "_build_reference", counting)
    graph = hcl.build_hcl_graph(Path(tmp_path), collect_inputs(Path(tmp_path), environ={}))
    for cluster in graph.of_type("aws_neptune_cluster"):
        assert cluster.attr("kms_key_arn").value.all_refs()
    assert builds.count("aws_kms_key.k") == 1  # was once per referencing instance: quadratic
