#!/usr/bin/env python3
"""Benchmark iaclint on a generated 50-file module: full check, and a pre-commit run on one file.

Usage: python scripts/bench.py [--files 50] [--runs 5] [--keep DIR] [--one-core]
       python scripts/bench.py --compare [--checkov PATH] [--scale 1,2,4,8,16] [REPO ...]

--compare runs iaclint (cold: an empty parse cache; warm: the same cache again) and, when given or on
PATH, checkov from its own virtualenv (never imported here: its bc-python-hcl2 would replace hcl2),
interleaved on the same trees, and prints wall time, CPU time (user + sys), peak RSS and the ratio.
REPOs are directories (real repositories); --scale adds generated trees of that many times --files.

Runs the installed `iaclint` as a separate process (what users and pre-commit do) and reports the
median, min and max wall time of each scenario, the line count of the generated tree and the load
average. The tree is committed to a git repository, as the hook finds it, and the hook's own command
(`check --base HEAD --staged` on one file) is timed there. When the `pre-commit` tool is installed, it
also times the real hook (`pre-commit run --files`) on that file, with this checkout's HEAD commit as the
hook source (commit first); the hook's environment is built in an untimed first run. `--one-core` pins
every run to a single CPU (taskset).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESOURCES = '''
resource "aws_kms_key" "k{i}" {{
  description             = "key {i}"
  deletion_window_in_days = 7
  enable_key_rotation     = {rotation}
  tags                    = local.tags
}}

resource "aws_neptune_cluster" "graph{i}" {{
  cluster_identifier        = "graph-{i}-${{var.environment}}"
  engine                    = "neptune"
  storage_encrypted         = {encrypted}
  kms_key_arn               = aws_kms_key.k{i}.arn
  backup_retention_period   = var.retention
  skip_final_snapshot       = false
  final_snapshot_identifier = "graph-{i}-final"
  tags                      = merge(local.tags, {{ Name = "graph-{i}" }})
}}

resource "aws_neptune_cluster_snapshot" "graph{i}" {{
  db_cluster_identifier          = aws_neptune_cluster.graph{i}.id
  db_cluster_snapshot_identifier = "graph-{i}-manual"
}}

resource "aws_elasticache_replication_group" "cache{i}" {{
  count                      = var.caches
  replication_group_id       = "cache-{i}-${{count.index}}"
  description                = "cache {i}"
  engine                     = {engine}
  node_type                  = "cache.t4g.small"
  at_rest_encryption_enabled = lookup(local.flags, "cache{i}", true)
  transit_encryption_enabled = true
  kms_key_id                 = aws_kms_key.k{i}.arn
}}

resource "aws_backup_vault" "vault{i}" {{
  for_each    = toset(["primary", "secondary"])
  name        = "vault-{i}-${{each.key}}"
  kms_key_arn = each.key == "primary" ? aws_kms_key.k{i}.arn : null
}}

resource "aws_security_group" "sg{i}" {{
  name        = "sg-{i}"
  description = "graph {i}"
  vpc_id      = var.vpc_id

  ingress {{
    from_port   = 8182
    to_port     = 8182
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}
}}
'''

COMMON = '''
variable "environment" {
  type    = string
  default = "prod"
}

variable "retention" {
  type    = number
  default = 7
}

variable "caches" {
  type    = number
  default = 2
}

variable "vpc_id" {
  type    = string
  default = "vpc-123"
}

locals {
  tags  = { Team = "graph", Environment = var.environment }
  flags = { cache3 = false, cache7 = false }
}
'''


def generate(root: Path, files: int) -> int:
    root.mkdir(parents=True, exist_ok=True)
    (root / "variables.tf").write_text(COMMON)
    for n in range(1, files):
        text = RESOURCES.format(
            i=n, rotation="false" if n % 5 == 0 else "true", encrypted="false" if n % 7 == 0 else "true",
            engine='"valkey"' if n % 2 else '"redis"')
        (root / f"stack_{n:02d}.tf").write_text(text)
    return sum(len(p.read_text().splitlines()) for p in root.glob("*.tf"))


def timed(cmd: list[str], runs: int, cwd: Path | None = None, env: dict | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            sys.exit(f"{cmd[0]} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    return times


def commit(tree: Path, message: str) -> bool:
    """The tree committed as a git repository (made one first), as the hook finds it: it compares with HEAD."""
    if shutil.which("git") is None:
        return False
    if not (tree / ".git").exists():
        subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    subprocess.run(["git", "add", "."], cwd=tree, check=True)
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-q", "-m", message,
                    "--no-verify"], cwd=tree, check=True)
    return True


def pre_commit_setup(tree: Path, base: Path) -> tuple[list[str], dict] | None:
    """The tree's repository configured to use this checkout's hook at its HEAD commit."""
    tool = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    root = Path(__file__).resolve().parent.parent
    if not Path(tool).exists() or shutil.which("git") is None:
        return None
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    if head.returncode != 0:
        return None
    env = dict(os.environ, PRE_COMMIT_HOME=str(base / "pre-commit-home"))
    (tree / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {root}\n    rev: {head.stdout.strip()}\n    hooks:\n      - id: iaclint\n")
    commit(tree, "pre-commit")
    cmd = [tool, "run", "--files", "stack_07.tf"]
    warm = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, env=env)
    if warm.returncode not in (0, 1):
        sys.exit(f"pre-commit failed: {warm.stdout}{warm.stderr}")
    return cmd, env


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, float, int, int]:
    """(wall s, CPU s of the child, peak RSS in MB, exit code), from the child's own rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, proc.returncode


def compare(args, exe: str) -> None:
    checkov = args.checkov or shutil.which("checkov")
    base = Path(tempfile.mkdtemp(prefix="iaclint-compare-"))
    trees = [Path(r) for r in args.repos]
    for factor in [int(x) for x in args.scale.split(",") if x]:
        tree = base / f"generated-{factor}x"
        generate(tree, args.files * factor)
        trees.append(tree)
    print(f"{'tree':44s} {'tool':14s} {'wall s':>8s} {'CPU s':>8s} {'RSS MB':>7s}  ratio (iaclint/checkov, CPU)")
    for tree in trees:
        files = sum(1 for _ in tree.rglob("*.tf"))
        size = sum(p.stat().st_size for p in tree.rglob("*.tf")) // 1024
        label = f"{tree.name[:30]} ({files} .tf, {size} KB)"
        cache = base / f"cache-{tree.name}"
        env = dict(os.environ, XDG_CACHE_HOME=str(cache))
        rows = {}
        for run in range(args.runs):  # interleaved, so machine noise hits every tool alike
            shutil.rmtree(cache, ignore_errors=True)
            rows.setdefault("iaclint cold", []).append(measure([exe, "check", "-f", "json", str(tree)], env))
            rows.setdefault("iaclint warm", []).append(measure([exe, "check", "-f", "json", str(tree)], env))
            if checkov:
                rows.setdefault("checkov", []).append(measure(
                    [checkov, "-d", str(tree), "--framework", "terraform", "--quiet", "--compact", "-o", "json"]))
        medians = {tool: tuple(statistics.median(r[i] for r in runs) for i in range(3)) for tool, runs in rows.items()}
        for tool, (wall, cpu, rss) in medians.items():
            ratio = ""
            if "checkov" in medians and tool != "checkov":
                ratio = f"  {cpu / medians['checkov'][1]:.3f} (wall {wall / medians['checkov'][0]:.3f})"
            print(f"{label:44s} {tool:14s} {wall:8.2f} {cpu:8.2f} {rss:7d}{ratio}")
    shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="*", type=Path, help="with --compare: real repositories to measure")
    parser.add_argument("--compare", action="store_true", help="iaclint cold/warm side by side with checkov")
    parser.add_argument("--checkov", help="checkov executable in its own virtualenv (default: checkov on PATH)")
    parser.add_argument("--scale", default="", help="with --compare: generated trees of N x --files, e.g. 1,2,4,8,16")
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate the tree here and keep it")
    parser.add_argument("--one-core", action="store_true", help="pin runs to one CPU with taskset")
    args = parser.parse_args()
    exe = shutil.which("iaclint") or sys.exit("iaclint is not on PATH; install the package first")
    if args.compare:
        compare(args, exe)
        return
    pin = ["taskset", "-c", "0"] if args.one_core and shutil.which("taskset") else []
    base = args.keep or Path(tempfile.mkdtemp(prefix="iaclint-bench-"))
    tree = base / "module"
    if tree.exists():
        shutil.rmtree(tree)
    lines = generate(tree, args.files)
    proc = subprocess.run([exe, "check", str(tree), "--format", "json"], capture_output=True, text=True)
    findings = proc.stdout.count('"rule_id"')
    scenarios = {
        f"check {args.files} files ({lines} lines, {findings} findings)": ([exe, "check", str(tree)], None),
        "startup only (iaclint rules)": ([exe, "rules"], None),
    }
    if commit(tree, "bench"):  # the hook's own command, in the repository, without pre-commit around it
        scenarios["one changed file, the hook's command (check --base HEAD --staged)"] = (
            [exe, "check", "--base", "HEAD", "--staged", "stack_07.tf"], tree)
    else:
        scenarios["one changed file of the module"] = ([exe, "check", str(tree / "stack_07.tf")], None)
    cores = "one core" if pin else "unpinned"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {sys.version.split()[0]}, {cores}, {args.runs} runs each, wall time in seconds, "
          f"load {load:.2f} at the start")
    for name, (cmd, cwd) in scenarios.items():
        t = timed(pin + cmd, args.runs, cwd=cwd)
        print(f"{name:66s} median {statistics.median(t):.2f}  min {min(t):.2f}  max {max(t):.2f}")
    hook = pre_commit_setup(tree, base)
    if hook is not None:
        cmd, env = hook
        t = timed(pin + cmd, args.runs, cwd=tree, env=env)
        name = "pre-commit run --files (real hook, one changed file)"
        print(f"{name:66s} median {statistics.median(t):.2f}  min {min(t):.2f}  max {max(t):.2f}")
        print(f"load {os.getloadavg()[0]:.2f} at the end" if hasattr(os, "getloadavg") else "")
    else:
        print("pre-commit not installed: the real-hook scenario was skipped")
    if not args.keep:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
