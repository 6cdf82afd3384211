#!/usr/bin/env python3
"""Benchmark iaclint on a generated 50-file module: full check, and a pre-commit run on one file.

Usage: python scripts/bench.py [--files 50] [--runs 5] [--keep DIR] [--one-core]
       python scripts/bench.py --compare [--corpus NAME ...] [--runs N] [--iaclint CMD] [--jobs-compare 1,2]
                               [--skip-checkov] [--skip-trivy] [--checkov-timeout S] [--peers-to FILE]
                               [--peers-from FILE] [--extras] [--json FILE] [--workdir DIR] [DIR ...]
       python scripts/bench.py --table-from FILE [--table-from FILE ...] [--peers-from FILE]

--compare measures every shape of tree (issue 25): the many-small-roots fixture trees of KICS and checkov,
generated dense modules (1x and 16x --files), module repositories, monorepos, one 5 MB file, a
10,000-instance for_each and a 20,000-change plan (CORPORA; the real trees are read from /work/corpora or
$IACLINT_CORPORA, the generated ones are written under --workdir). On each corpus, interleaved run by run:
iaclint cold (an empty parse cache: a fresh XDG_CACHE_HOME; the cache key's XDG_STATE_HOME is kept), iaclint
warm, checkov and trivy (each from its own virtualenv, never imported here: checkov's bc-python-hcl2 would
replace hcl2; offline, no API key, run from an empty folder so no tool reads a configuration of the cwd), and
the floor: tree-sitter-hcl parsing every .tf file and nothing else, in one Python process (json.loads for a
plan). Each figure is the median over --runs of the child's own rusage (os.wait4): CPU (user + sys, its
waited-for children included), wall and peak RSS; the table gives the ratios to iaclint cold and to the
floor, and the load average before and after. checkov takes minutes on large trees: --peers-to keeps its
and trivy's figures, --peers-from reuses them while only iaclint changes, and a run past --checkov-timeout
is stopped and reported as '> CPU used by then'. --iaclint times another checkout's iaclint (before/after);
--jobs-compare adds cold runs at those --jobs values; --extras times fix --diff and check --diff against
check on the 16x module, an empty folder against `python -c pass` (at least 15 runs each, interleaved), and
the hook's command on one file of a 50-file module. --json writes every figure, --table-from prints the tables again from such files.

The plain mode runs the installed `iaclint` as a separate process (what users and pre-commit do) and
reports the median, min and max wall time of each scenario, the line count of the generated tree and the
load average. The tree is committed to a git repository, as the hook finds it, and the hook's own command
(`check --base HEAD --staged` on one file) is timed there. When the `pre-commit` tool is installed, it
also times the real hook (`pre-commit run --files`) on that file, with this checkout's HEAD commit as the
hook source (commit first); the hook's environment is built in an untimed first run. `--one-core` pins
every run to a single CPU (taskset).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shlex
import signal
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
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


CORPORA_ROOT = Path(os.environ.get("IACLINT_CORPORA", "/work/corpora"))
TOOLS_ROOT = Path("/work/tools")
# name -> (kind, source): "dir" a directory under CORPORA_ROOT, "gen" a generated tree (see GENERATORS).
CORPORA = {
    "kics": ("dir", "kics-tf"),
    "checkov-fixtures": ("dir", "checkov-tf"),
    "dense-1x": ("gen", "dense-1x"),
    "dense-16x": ("gen", "dense-16x"),
    "eks": ("dir", "terraform-aws-modules+terraform-aws-eks"),
    "rds-aurora": ("dir", "terraform-aws-modules+terraform-aws-rds-aurora"),
    "backup": ("dir", "lgallard+terraform-aws-backup"),
    "cloudposse": ("dir", "cloudposse+terraform-aws-components"),
    "fabric": ("dir", "GoogleCloudPlatform+cloud-foundation-fabric"),
    "file-5mb": ("gen", "file-5mb"),
    "foreach-10k": ("gen", "foreach-10k"),
    "plan-20k": ("gen", "plan-20k"),
}
FLOOR = r'''
import json, os, sys
path = sys.argv[1]
if path.endswith(".json"):
    json.loads(open(path, "rb").read())
    sys.exit(0)
import tree_sitter, tree_sitter_hcl
parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_hcl.language()))
for folder, dirs, names in os.walk(path):
    dirs[:] = [d for d in dirs if not d.startswith(".")]
    for name in names:
        if name.endswith(".tf"):
            with open(os.path.join(folder, name), "rb") as f:
                parser.parse(f.read())
'''


def generate_big_file(root: Path, size: int = 5 * 1024 * 1024) -> None:
    """One .tf file of about ``size`` bytes: the dense module's resources repeated with new names."""
    root.mkdir(parents=True, exist_ok=True)
    parts, total, n = [COMMON], len(COMMON), 1
    while total < size:
        text = RESOURCES.format(i=n, rotation="false" if n % 5 == 0 else "true",
                                encrypted="false" if n % 7 == 0 else "true",
                                engine='"valkey"' if n % 2 else '"redis"')
        parts.append(text)
        total += len(text)
        n += 1
    (root / "main.tf").write_text("".join(parts))


FOR_EACH = '''
variable "volumes" {{
  type    = number
  default = {count}
}}

locals {{
  # range() yields at most 1,024 values (terraform's own limit): blocks of 1,000
  names = toset(flatten([for b in range(ceil(var.volumes / 1000)) :
    [for i in range(b * 1000, min(var.volumes, b * 1000 + 1000)) : format("v%05d", i)]]))
}}

resource "aws_kms_key" "volumes" {{
  enable_key_rotation = true
}}

resource "aws_ebs_volume" "v" {{
  for_each          = local.names
  availability_zone = "eu-west-1a"
  size              = 10
  encrypted         = tonumber(substr(each.key, 5, 1)) % 2 == 0
  kms_key_id        = aws_kms_key.volumes.arn
  tags              = {{ Name = each.key }}
}}
'''


def generate_for_each(root: Path, count: int = 10_000) -> None:
    """A root whose one resource has ``count`` instances from for_each (half of them unencrypted)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.tf").write_text(FOR_EACH.format(count=count))


def generate_plan(root: Path, changes: int = 20_000) -> Path:
    """A `terraform show -json` plan with ``changes`` resource changes over four counted resources."""
    root.mkdir(parents=True, exist_ok=True)
    kinds = [
        ("aws_ebs_volume", "data", lambda i: {"availability_zone": "eu-west-1a", "size": 10, "encrypted": i % 3 != 0,
                                              "kms_key_id": None, "tags": {"Name": f"data-{i}"}}),
        ("aws_s3_bucket", "logs", lambda i: {"bucket": f"logs-{i}", "force_destroy": False, "tags": None}),
        ("aws_db_instance", "db", lambda i: {"identifier": f"db-{i}", "engine": "postgres",
                                             "instance_class": "db.t4g.micro", "allocated_storage": 20,
                                             "storage_encrypted": i % 4 != 0, "kms_key_id": None}),
        ("aws_sqs_queue", "jobs", lambda i: {"name": f"jobs-{i}", "sqs_managed_sse_enabled": i % 5 != 0,
                                             "kms_master_key_id": None}),
    ]
    per = changes // len(kinds)
    planned, resource_changes, config = [], [], []
    provider = "registry.terraform.io/hashicorp/aws"
    for rtype, name, values in kinds:
        config.append({"address": f"{rtype}.{name}", "mode": "managed", "type": rtype, "name": name,
                       "provider_config_key": "aws", "expressions": {}, "schema_version": 0,
                       "count_expression": {"constant_value": per}})
        for i in range(per):
            address = f"{rtype}.{name}[{i}]"
            after = values(i)
            planned.append({"address": address, "mode": "managed", "type": rtype, "name": name, "index": i,
                            "provider_name": provider, "schema_version": 0, "values": after,
                            "sensitive_values": {}})
            resource_changes.append({"address": address, "mode": "managed", "type": rtype, "name": name, "index": i,
                                     "provider_name": provider, "change": {
                                         "actions": ["create"], "before": None, "after": after,
                                         "after_unknown": {"id": True, "arn": True}, "before_sensitive": False,
                                         "after_sensitive": {}}})
    plan = {"format_version": "1.2", "terraform_version": "1.9.5",
            "planned_values": {"root_module": {"resources": planned}},
            "resource_changes": resource_changes,
            "configuration": {"provider_config": {"aws": {"name": "aws", "full_name": provider}},
                              "root_module": {"resources": config}}}
    path = root / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def corpus_path(name: str, work: Path) -> Path:
    """The directory (or plan file) of a corpus, generated under ``work`` on first use; resolved, because
    trivy scans nothing under a folder given as a symbolic link."""
    return _corpus_path(name, work).resolve()


def _corpus_path(name: str, work: Path) -> Path:
    kind, source = CORPORA[name] if name in CORPORA else ("dir", name)
    if kind == "dir":
        path = Path(source) if os.path.isabs(source) else CORPORA_ROOT / source
        if not path.exists():
            sys.exit(f"corpus {name}: {path} does not exist")
        return path
    target = work / source
    done = target / "plan.json" if source == "plan-20k" else target
    if not done.exists():  # in another process: see in_child
        in_child("generate", source, str(target))
    return done


def generate_corpus(source: str, target: str) -> None:
    target = Path(target)
    if source == "plan-20k":
        generate_plan(target)
    elif source.startswith("dense-"):
        generate(target, 50 * int(source[len("dense-"):-1]))
    elif source == "file-5mb":
        generate_big_file(target)
    elif source == "foreach-10k":
        generate_for_each(target)


def in_child(task: str, *args: str) -> str:
    """Run one of this script's memory-hungry steps (generating a corpus, reading a peer's report) in a child
    process, so this one stays small: a measured child's peak RSS (ru_maxrss) starts from the RSS of the
    process that spawned it, carried across exec, and would otherwise show this script's peak."""
    proc = subprocess.run([sys.executable, __file__, "--in-child", task, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench.py {task} {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def tf_files(path: Path) -> tuple[int, int]:
    """(.tf files, bytes) of a corpus; a plan counts as one file."""
    if path.is_file():
        return 1, path.stat().st_size
    files = [p for p in path.rglob("*.tf") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


@dataclasses.dataclass
class Sample:
    wall: float
    cpu: float
    rss: int  # MB
    code: int
    timed_out: bool = False


def measure(cmd: list[str], env: dict | None = None, cwd: Path | None = None, timeout: float | None = None,
            output: Path | None = None) -> Sample:
    """One run of ``cmd``: wall, CPU (user + sys of the child and the children it waited for), peak RSS.

    The child's own rusage comes from wait4, so nothing else running on the machine is counted. Past
    ``timeout`` seconds of wall time its process group is killed and the sample marked timed out. Its
    standard output goes to ``output`` when given (to see what a peer actually scanned), else nowhere."""
    start = time.perf_counter()
    sink = open(output, "wb") if output else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.DEVNULL, env=env, cwd=cwd,
                                start_new_session=True)
    finally:
        if output:
            sink.close()
    timer = None
    killed = []
    if timeout:
        def kill() -> None:
            killed.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if timer:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, proc.returncode, bool(killed))


def median(samples: list[Sample]) -> dict:
    """The median of each figure; a run that timed out makes the result '> timeout'."""
    out = {"wall": statistics.median(s.wall for s in samples), "cpu": statistics.median(s.cpu for s in samples),
           "rss": int(statistics.median(s.rss for s in samples)), "runs": len(samples),
           "codes": sorted({s.code for s in samples})}
    if any(s.timed_out for s in samples):
        out["timed_out"] = True
    return out


class Tools:
    """The commands of every tool measured, built once from the options."""

    def __init__(self, args, work: Path):
        self.iaclint = shlex.split(args.iaclint) if args.iaclint else [shutil.which("iaclint") or sys.exit(
            "iaclint is not on PATH; install the package first, or give --iaclint")]
        self.python = args.floor_python or str(Path(sys.executable))
        self.checkov = None if args.skip_checkov else (args.checkov or _tool("checkov"))
        self.trivy = None if args.skip_trivy else (args.trivy or _tool("trivy"))
        self.work = work
        self.neutral = work / "cwd"  # every tool runs here, so no tool picks up a config from the cwd
        self.neutral.mkdir(parents=True, exist_ok=True)
        self.state = work / "state"  # the parse cache's key (XDG_STATE_HOME): kept across cold and warm runs
        base = {k: v for k, v in os.environ.items() if k not in ("BC_API_KEY", "PRISMA_API_URL")}
        self.base_env = dict(base, XDG_STATE_HOME=str(self.state))
        self.peer_env = dict(base, HOME=str(work / "peer-home"), CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false",
                             BC_SKIP_MAPPING="TRUE", ENABLE_DEFINITION_KEY="false",
                             # checkov gives up on a file whose HCL parse takes over 10 s of wall time (the 5 MB
                             # file, or any file on a loaded machine) and reports it as a parsing error
                             HCL_PARSE_TIMEOUT_SEC="36000",
                             TRIVY_CACHE_DIR=str(work / "trivy-cache"), TRIVY_DISABLE_VEX_NOTICE="true")
        (work / "peer-home").mkdir(exist_ok=True)

    def iaclint_env(self, cache: Path) -> dict:
        return dict(self.base_env, XDG_CACHE_HOME=str(cache))

    def checkov_cmd(self, path: Path) -> list[str]:
        if path.is_file():
            target = ["-f", str(path), "--framework", "terraform_plan"]
        else:
            target = ["-d", str(_without_checkov_config(path, self.work)), "--framework", "terraform"]
        return [self.checkov, *target, "--quiet", "--compact", "-o", "json", "--skip-download"]

    def trivy_cmd(self, path: Path) -> list[str] | None:
        if path.is_file():
            return None  # trivy config reads plan JSON only as terraformplan-json, another scanner: not compared
        return [self.trivy, "config", "--skip-check-update", "--misconfig-scanners", "terraform", "--quiet",
                "--format", "json", str(path)]


def _tool(name: str) -> str | None:
    for candidate in (TOOLS_ROOT / f"{name}-venv" / "bin" / name, shutil.which(name)):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def _without_checkov_config(path: Path, work: Path) -> Path:
    """The tree, or a copy without its .checkov.yml: checkov reads that file from the scanned folder and would
    skip what the repository's authors chose (lgallard/terraform-aws-backup skips examples/), not what iaclint
    and trivy scan. By default checkov skips nothing but hidden folders, node_modules and .terraform."""
    if not any((path / n).exists() for n in (".checkov.yml", ".checkov.yaml")):
        return path
    copy = work / "checkov-copies" / path.name
    if not copy.exists():
        shutil.copytree(path, copy, symlinks=True, ignore=shutil.ignore_patterns(".checkov.yml", ".checkov.yaml"))
    return copy


def measure_corpus(name: str, path: Path, tools: Tools, args, peers: dict) -> dict:
    """Every tool on one corpus, interleaved run by run, so machine noise hits every tool alike."""
    cache = tools.work / "cache" / re.sub(r"[^\w.-]+", "_", name).strip("_.")  # never the corpus itself
    env = tools.iaclint_env(cache)
    check = [*tools.iaclint, "check", "-f", "json", "--soft-fail", str(path)]
    rows: dict[str, list[Sample]] = {}
    (tools.work / "peer-output").mkdir(exist_ok=True)
    outputs = {peer: tools.work / "peer-output" / f"{cache.name}.{peer}.json" for peer in ("checkov", "trivy")}
    known = peers.get(name, {})
    jobs_modes = [int(j) for j in args.jobs_compare.split(",")] if args.jobs_compare else []
    for _ in range(args.runs):
        shutil.rmtree(cache, ignore_errors=True)
        rows.setdefault("iaclint_cold", []).append(measure(check, env, tools.neutral, args.iaclint_timeout))
        rows.setdefault("iaclint_warm", []).append(measure(check, env, tools.neutral, args.iaclint_timeout))
        for jobs in jobs_modes:
            shutil.rmtree(cache, ignore_errors=True)
            rows.setdefault(f"iaclint_cold_j{jobs}", []).append(measure(
                [*check[:-1], "--jobs", str(jobs), str(path)], env, tools.neutral, args.iaclint_timeout))
        rows.setdefault("floor", []).append(measure([tools.python, "-c", FLOOR, str(path)], None, tools.neutral))
        if tools.checkov and "checkov" not in known:
            rows.setdefault("checkov", []).append(measure(
                tools.checkov_cmd(path), tools.peer_env, tools.neutral, args.checkov_timeout, outputs["checkov"]))
        trivy = tools.trivy_cmd(path) if tools.trivy else None
        if trivy and "trivy" not in known:
            rows.setdefault("trivy", []).append(measure(trivy, tools.peer_env, tools.neutral, args.checkov_timeout,
                                                        outputs["trivy"]))
    shutil.rmtree(cache, ignore_errors=True)
    result = {tool: median(samples) for tool, samples in rows.items()}
    for peer in ("checkov", "trivy"):
        if peer in result and not result[peer].get("timed_out"):
            result[peer]["scanned"] = json.loads(in_child(f"{peer}-summary", str(outputs[peer])))
            print(f"{name}: {peer} scanned {result[peer]['scanned']}", file=sys.stderr, flush=True)
    for peer in ("checkov", "trivy"):
        if peer in known:
            result[peer] = dict(known[peer], reused=True)
    if tools.trivy and path.is_file():
        result["trivy"] = {"na": "trivy config does not read this plan with its terraform scanner"}
    files, size = tf_files(path)
    return {"corpus": name, "path": str(path), "files": files, "bytes": size, "tools": result}


def checkov_summary(output: Path) -> dict:
    """What checkov's last run scanned: resources, checks, and the files it could not parse (and skipped)."""
    try:
        data = json.loads(output.read_text())
    except (OSError, ValueError) as exc:
        return {"error": f"no JSON report: {exc}"}
    reports = data if isinstance(data, list) else [data]
    out = {"resources": 0, "passed": 0, "failed": 0, "parsing_errors": 0}
    for report in reports:
        summary = report.get("summary", {}) if isinstance(report, dict) else {}
        out["resources"] += summary.get("resource_count", 0)
        out["passed"] += summary.get("passed", 0)
        out["failed"] += summary.get("failed", 0)
        out["parsing_errors"] += summary.get("parsing_errors", 0)
    return out


def trivy_summary(output: Path) -> dict:
    """What trivy's last run scanned: files with results and the misconfigurations it reported."""
    try:
        data = json.loads(output.read_text())
    except (OSError, ValueError) as exc:
        return {"error": f"no JSON report: {exc}"}
    results = data.get("Results") or []
    return {"files": len(results), "failed": sum(r.get("MisconfSummary", {}).get("Failures", 0) for r in results),
            "passed": sum(r.get("MisconfSummary", {}).get("Successes", 0) for r in results)}


def measure_extras(tools: Tools, args) -> dict:
    """The costs that grow with something other than the tree: fixes and diffs, start-up, the hook."""
    out: dict = {}
    work = tools.work
    env = tools.iaclint_env(work / "cache" / "extras")
    dense = corpus_path("dense-16x", work)
    runs = max(1, args.runs)
    check = [*tools.iaclint, "check", "--soft-fail", str(dense)]
    scenarios = {
        "dense-16x check": check,  # every root evaluated again: its kept results removed first (below)
        "dense-16x check --diff": [*check, "--diff"],
        "dense-16x fix --diff": [*tools.iaclint, "fix", "--diff", str(dense)],
        "dense-16x check, kept results": check,
    }
    # warm the parse cache: these compare the work after it. A plain check keeps results and writes no syntax
    # trees, so the diff mode warms it; `check` is timed with the kept results removed, so it does the same work
    measure([*check, "--diff"], env, tools.neutral, args.iaclint_timeout)
    measure(check, env, tools.neutral, args.iaclint_timeout)
    samples: dict[str, list] = {label: [] for label in scenarios}
    for _ in range(runs):  # interleaved, run by run, so the machine's noise hits every scenario alike
        for label, cmd in scenarios.items():
            if label == "dense-16x check":
                shutil.rmtree(work / "cache" / "extras" / "iaclint" / "results", ignore_errors=True)
            samples[label].append(measure(cmd, env, tools.neutral, args.iaclint_timeout))
    for label in scenarios:
        out[label] = median(samples[label])
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    # A few hundredths of a second each, near the kernel's CPU accounting tick: at least 15 runs, interleaved in
    # pairs, so the ratio is not one tick's rounding
    empty_runs, python_runs = [], []
    for _ in range(max(15, runs)):
        empty_runs.append(measure([*tools.iaclint, "check", str(empty)], env, tools.neutral))
        python_runs.append(measure([tools.python, "-c", "pass"], None, tools.neutral))
    out["check of an empty folder"] = median(empty_runs)
    out["python -c pass"] = median(python_runs)
    hook_tree = work / "hook-module"
    if not hook_tree.exists():
        generate(hook_tree, args.files)
        if commit(hook_tree, "bench"):
            with open(hook_tree / "stack_07.tf", "a") as f:
                f.write('\nresource "aws_sqs_queue" "added" {\n  name = "added"\n}\n')
            subprocess.run(["git", "add", "stack_07.tf"], cwd=hook_tree, check=True)
    if (hook_tree / ".git").exists():
        hook = [*tools.iaclint, "check", "--soft-fail", "--base", "HEAD", "--staged", "stack_07.tf"]
        measure(hook, env, hook_tree)
        out["hook (check --base HEAD --staged, one file of 50, warm)"] = median(
            [measure(hook, env, hook_tree) for _ in range(runs)])
    return out


def _cpu(entry: dict | None, timeout: float | None = None) -> str:
    if not entry:
        return "-"
    if "na" in entry:
        return "n/a"
    if entry.get("timed_out"):  # stopped at its timeout: the CPU it had used by then is a lower bound
        return f"> {entry['cpu']:.0f}"
    if (entry.get("scanned") or {}).get("error"):  # it wrote no report (trivy panics on some trees)
        return f"{entry['cpu']:.2f} (failed, exit {'/'.join(map(str, entry.get('codes', [])))})"
    return f"{entry['cpu']:.2f}"


def _ratio(a: dict | None, b: dict | None) -> str:
    if not a or not b or "na" in a or "na" in b or not b.get("cpu"):
        return "-"
    prefix = "> " if a.get("timed_out") else "(failed) " if (a.get("scanned") or {}).get("error") else ""
    return f"{prefix}{a['cpu'] / b['cpu']:.1f}x"


def table(results: list[dict]) -> list[str]:
    """The Markdown table of a compare run (CPU seconds, medians)."""
    jobs = sorted({k for r in results for k in r["tools"] if k.startswith("iaclint_cold_j")})
    head = ["corpus", ".tf files", "iaclint cold", "iaclint warm", "checkov", "trivy", "floor",
            "checkov / cold", "trivy / cold", "cold / floor", "warm / floor", "peak RSS MB (cold, warm, checkov, trivy)",
            *[f"cold {j.rsplit('_', 1)[1].replace('j', '--jobs ')} CPU, wall" for j in jobs]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        t = r["tools"]
        cold, warm, floor = t.get("iaclint_cold"), t.get("iaclint_warm"), t.get("floor")
        row = [r["corpus"], f"{r['files']:,}" + (" (plan)" if r["path"].endswith(".json") else ""),
               _cpu(cold), _cpu(warm), _cpu(t.get("checkov")), _cpu(t.get("trivy")), _cpu(floor),
               _ratio(t.get("checkov"), cold), _ratio(t.get("trivy"), cold), _ratio(cold, floor), _ratio(warm, floor),
               ", ".join(str(t[k]["rss"]) if t.get(k, {}).get("rss") else "-"
                         for k in ("iaclint_cold", "iaclint_warm", "checkov", "trivy")),
               *[f"{t[j]['cpu']:.2f}, {t[j]['wall']:.2f}" if j in t else "-" for j in jobs]]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def print_report(report: dict) -> None:
    """The tables of a compare run (or of its JSON file, --table-from): corpora, then the extras."""
    before, after = ("/".join(f"{x:.2f}" for x in report[k]) for k in ("load_before", "load_after"))
    print(f"{report['date']}, {report['cores']} cores, median of {report['runs']} run(s), CPU seconds (user + sys); "
          f"load average {before} before, {after} after")
    print("\n".join(table(report["corpora"])))
    extras = report.get("extras") or {}
    if extras:
        print()
        print("| scenario | CPU s | wall s | peak RSS MB |")
        print("|---|---|---|---|")
        for label, e in extras.items():
            print(f"| {label} | {_cpu(e)} | {e['wall']:.2f} | {e['rss']} |")
        check = extras.get("dense-16x check")
        for label in ("dense-16x check --diff", "dense-16x fix --diff"):
            if check and label in extras:
                print(f"{label} / check: {_ratio(extras[label], check)}")
        if "python -c pass" in extras:
            print(f"empty folder / python -c pass: "
                  f"{_ratio(extras['check of an empty folder'], extras['python -c pass'])}")
    big = next((r["tools"] for r in report["corpora"] if r["corpus"] == "file-5mb"), None)
    if big:
        print(f"file-5mb warm / cold: {_ratio(big['iaclint_warm'], big['iaclint_cold'])}")


def table_from(args) -> None:
    """Print the tables of earlier --json files (merged in order: a later file's corpus replaces an earlier
    one's), with checkov and trivy filled in from --peers-from where a corpus has none."""
    report = None
    for name in args.table_from:
        data = json.loads(Path(name).read_text())
        if report is None:
            report = data
            continue
        known = {r["corpus"]: i for i, r in enumerate(report["corpora"])}
        for r in data["corpora"]:
            if r["corpus"] in known:
                report["corpora"][known[r["corpus"]]] = r
            else:
                report["corpora"].append(r)
        report["extras"] = {**report.get("extras", {}), **data.get("extras", {})}
    peers = json.loads(Path(args.peers_from).read_text())["corpora"] if args.peers_from else {}
    for r in report["corpora"]:
        for peer, entry in peers.get(r["corpus"], {}).items():
            r["tools"].setdefault(peer, dict(entry, reused=True))
    if args.json:  # the merged report
        Path(args.json).write_text(json.dumps(report, indent=1))
    print_report(report)


def save(args, tools: Tools, started: str, load_before: tuple, results: list[dict], extras: dict) -> dict:
    """The report so far, written to --json and its peers' figures to --peers-to."""
    load_after = os.getloadavg()
    report = {"date": started, "load_before": load_before, "load_after": load_after, "cores": os.cpu_count(),
              "runs": args.runs, "iaclint": tools.iaclint, "checkov": tools.checkov, "trivy": tools.trivy,
              "corpora": results, "extras": extras}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    if args.peers_to:
        measured = {r["corpus"]: {p: r["tools"][p] for p in ("checkov", "trivy") if p in r["tools"]}
                    for r in results}
        Path(args.peers_to).write_text(json.dumps({"date": started, "load_before": load_before,
                                                   "load_after": load_after, "checkov": tools.checkov,
                                                   "trivy": tools.trivy, "corpora": measured}, indent=1))
    return report


def compare(args) -> None:
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="iaclint-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    tools = Tools(args, work)
    names = list(args.corpus or [])
    names += [str(r) for r in args.repos]
    for factor in [int(x) for x in args.scale.split(",") if x]:  # the older --scale: dense modules of N x --files
        CORPORA[f"dense-{factor}x"] = ("gen", f"dense-{factor}x")
        names.append(f"dense-{factor}x")
    if not names:
        names = list(CORPORA)
    unknown = [n for n in names if n not in CORPORA and not Path(n).is_dir()]
    if unknown:
        sys.exit(f"unknown corpus {', '.join(unknown)}; known: {', '.join(CORPORA)} (or a directory)")
    peers = json.loads(Path(args.peers_from).read_text())["corpora"] if args.peers_from else {}
    if args.checkov_timeout:
        for entry in peers.values():
            for peer in entry.values():
                peer.setdefault("timeout", args.checkov_timeout)
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = []
    for name in names:
        path = corpus_path(name, work)
        result = measure_corpus(name, path, tools, args, peers)
        for peer in ("checkov", "trivy"):
            entry = result["tools"].get(peer)
            if entry and entry.get("timed_out"):
                entry["timeout"] = args.checkov_timeout
        results.append(result)
        print(table([result])[-1], flush=True)
        save(args, tools, started, load_before, results, {})  # after every corpus: a long run keeps what it has
    extras = measure_extras(tools, args) if args.extras else {}
    report = save(args, tools, started, load_before, results, extras)
    print()
    print_report(report)
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="*", type=Path, help="with --compare: more directories to measure")
    parser.add_argument("--compare", action="store_true",
                        help="iaclint cold and warm, checkov, trivy and the parse floor side by side on every corpus")
    parser.add_argument("--corpus", action="append", metavar="NAME",
                        help=f"with --compare: only this corpus (repeatable): {', '.join(CORPORA)}, or a directory")
    parser.add_argument("--iaclint", metavar="CMD", help="with --compare: the iaclint command to time (default: iaclint "
                        "on PATH), e.g. /work/main/.venv/bin/iaclint for a before/after")
    parser.add_argument("--checkov", help="checkov executable in its own virtualenv (default: /work/tools/checkov-venv "
                        "or checkov on PATH)")
    parser.add_argument("--trivy", help="trivy executable (default: /work/tools/trivy-venv or trivy on PATH)")
    parser.add_argument("--skip-checkov", action="store_true")
    parser.add_argument("--skip-trivy", action="store_true")
    parser.add_argument("--checkov-timeout", type=float, default=1200, metavar="S",
                        help="wall seconds after which a checkov or trivy run is stopped; its CPU by then is reported as '> CPU'")
    parser.add_argument("--iaclint-timeout", type=float, default=600, metavar="S")
    parser.add_argument("--peers-to", metavar="FILE", help="write the checkov and trivy figures to this JSON file")
    parser.add_argument("--peers-from", metavar="FILE",
                        help="reuse the checkov and trivy figures of an earlier --peers-to instead of running them")
    parser.add_argument("--jobs-compare", metavar="N,N", help="also time cold runs with these --jobs values, e.g. 1,2")
    parser.add_argument("--extras", action="store_true", help="with --compare: also fix --diff and check --diff on "
                        "dense-16x, an empty folder against python -c pass, and the hook on one file of 50")
    parser.add_argument("--table-from", metavar="FILE", action="append",
                        help="print the tables of earlier --json files instead of measuring (repeatable: merged; "
                        "--json writes the merged report)")
    parser.add_argument("--json", metavar="FILE", help="with --compare: write every figure to this JSON file")
    parser.add_argument("--workdir", metavar="DIR", help="with --compare: generate corpora here and keep them")
    parser.add_argument("--floor-python", metavar="PYTHON",
                        help="the Python (with tree-sitter-hcl) that measures the floor (default: this one)")
    parser.add_argument("--scale", default="", help="with --compare: generated trees of N x --files, e.g. 1,2,4,8,16")
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate the tree here and keep it")
    parser.add_argument("--one-core", action="store_true", help="pin runs to one CPU with taskset")
    parser.add_argument("--in-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_child:
        task, *rest = args.in_child
        if task == "generate":
            generate_corpus(*rest)
        else:
            summary = {"checkov-summary": checkov_summary, "trivy-summary": trivy_summary}[task](Path(rest[0]))
            print(json.dumps(summary))
        return
    if args.table_from:
        table_from(args)
        return
    if args.compare:
        compare(args)
        return
    exe = shutil.which("iaclint") or sys.exit("iaclint is not on PATH; install the package first")
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
