#!/usr/bin/env python3
"""Benchmark iaclint on a generated 50-file module: full check, and a pre-commit run on one file.

Usage: python scripts/bench.py [--files 50] [--runs 5] [--keep DIR]

Runs the installed `iaclint` as a separate process (what users and pre-commit do) and reports the
median, min and max wall time of each scenario, plus the line count of the generated tree.
"""

from __future__ import annotations

import argparse
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


def timed(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            sys.exit(f"iaclint failed ({proc.returncode}): {proc.stderr}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate the tree here and keep it")
    args = parser.parse_args()
    exe = shutil.which("iaclint") or sys.exit("iaclint is not on PATH; install the package first")
    base = args.keep or Path(tempfile.mkdtemp(prefix="iaclint-bench-"))
    tree = base / "module"
    if tree.exists():
        shutil.rmtree(tree)
    lines = generate(tree, args.files)
    proc = subprocess.run([exe, "check", str(tree), "--format", "json"], capture_output=True, text=True)
    findings = proc.stdout.count('"rule_id"')
    scenarios = {
        f"check {args.files} files ({lines} lines, {findings} findings)": [exe, "check", str(tree)],
        "pre-commit: one changed file of the module": [exe, "check", str(tree / "stack_07.tf")],
        "startup only (iaclint rules)": [exe, "rules"],
    }
    print(f"python {sys.version.split()[0]}, {args.runs} runs each, wall time in seconds")
    for name, cmd in scenarios.items():
        t = timed(cmd, args.runs)
        print(f"{name:60s} median {statistics.median(t):.2f}  min {min(t):.2f}  max {max(t):.2f}")
    if not args.keep:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
