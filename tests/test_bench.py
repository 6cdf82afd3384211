"""scripts/bench.py --compare: the generated corpora are what their names say, and a compare run measures
every tool it is given, reuses peers' figures and stops a tool that runs too long. Speed itself is not
tested here (the machine is shared); the benchmark's table is in the README."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from support import ROOT, run

sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402


def test_the_generated_for_each_has_the_instances_it_is_named_for(tmp_path):
    """range() gives at most 1,024 values, so the generator builds the set in blocks: every instance counts."""
    bench.generate_for_each(tmp_path / "fe", count=2_500)
    findings = run([tmp_path / "fe"], select={"EBS001"}, cache=False).findings
    assert Counter(f.verdict.value for f in findings) == {"fail": 1_250}  # the odd ones; passes are not listed
    assert len({f.address for f in findings}) == 1_250 and 'aws_ebs_volume.v["v02499"]' in {f.address for f in findings}


def test_the_generated_plan_has_the_changes_it_is_named_for(tmp_path):
    plan = bench.generate_plan(tmp_path / "plan", changes=40)
    data = json.loads(plan.read_text())
    assert len(data["resource_changes"]) == 40
    addresses = {f.address for f in run([plan], cache=False).findings}
    assert {"aws_ebs_volume.data[0]", "aws_db_instance.db[0]", "aws_sqs_queue.jobs[0]"} <= addresses


def test_a_run_past_its_timeout_is_stopped_and_marked():
    sample = bench.measure([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert sample.timed_out and sample.wall < 10
    done = bench.measure([sys.executable, "-c", "sum(range(10**6))"])
    assert not done.timed_out and done.code == 0 and done.cpu > 0 and done.rss > 0


def test_compare_measures_iaclint_and_the_floor_and_reuses_peer_figures(tmp_path):
    tree = ROOT / "fixtures" / "monorepo"
    peers = tmp_path / "peers.json"
    peers.write_text(json.dumps({"corpora": {str(tree): {"checkov": {"cpu": 10.0, "wall": 11.0, "rss": 200}}}}))
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--compare", "--corpus", str(tree), "--runs", "1",
         "--skip-trivy", "--peers-from", str(peers), "--jobs-compare", "1", "--json", str(out),
         "--iaclint", f"{sys.executable} -m iaclint", "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    (corpus,) = report["corpora"]
    tools = corpus["tools"]
    assert corpus["files"] == len(list(tree.rglob("*.tf")))
    for tool in ("iaclint_cold", "iaclint_warm", "iaclint_cold_j1", "floor"):
        assert tools[tool]["cpu"] > 0 and tools[tool]["codes"] == [0], tool  # --soft-fail: findings exit 0
    assert tools["checkov"] == {"cpu": 10.0, "wall": 11.0, "rss": 200, "reused": True, "timeout": 1200}
    assert "trivy" not in tools and len(report["load_before"]) == 3
    row = next(line for line in proc.stdout.splitlines() if line.startswith(f"| {tree} |"))
    assert f"{10.0 / tools['iaclint_cold']['cpu']:.1f}x" in row
