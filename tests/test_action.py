"""The GitHub Action's steps, run with bash under a faked GitHub environment, and its pinned install.

Everything that can run off GitHub runs here: the cache key, the install (with a stand-in Python that
records what pip is asked), and the check step with the installed iaclint; the lock file is checked
against what pyproject.toml needs, transitively, as installed in this environment."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement

from conftest import git
from support import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import action_report  # noqa: E402  (scripts/ is not a package)
import lock_action  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the action's steps are bash")

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
LOCK = ROOT / "action-constraints.txt"


def step(name: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s.get("id") == name or s.get("name", "").startswith(name))


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A `run:` script as the runner runs it (bash -e), with only the environment given (and PATH, HOME)."""
    base = {k: os.environ[k] for k in ("PATH", "HOME", "XDG_CACHE_HOME", "LANG") if k in os.environ}
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env={**base, **env}, capture_output=True,
                          text=True, timeout=300)


def parse_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from a requirements file of `name==version \\ --hash=sha256:...` entries."""
    pins: dict[str, tuple[str, list[str]]] = {}
    joined = re.sub(r"\\\n\s*", " ", "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#")))
    for line in joined.splitlines():
        if not line.strip():
            continue
        spec, *options = line.split()
        name, _, version = spec.partition("==")
        assert version, f"not pinned with ==: {line}"
        assert all(o.startswith("--hash=") for o in options), line
        pins[lock_action.canonical(name)] = (version, [o.removeprefix("--hash=") for o in options])
    return pins


# ---- the lock ---------------------------------------------------------------------------------------


def _environments():
    """The marker environments of the runners the lock is for (Linux and macOS, each Python it lists)."""
    for python in lock_action.PYTHONS:
        for system, platform, machine in (("Linux", "linux", "x86_64"), ("Linux", "linux", "aarch64"),
                                          ("Darwin", "darwin", "arm64"), ("Darwin", "darwin", "x86_64")):
            yield {"python_version": python, "python_full_version": python + ".0", "sys_platform": platform,
                   "platform_system": system, "platform_machine": machine, "os_name": "posix",
                   "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}


def _needed(requirement: Requirement) -> bool:
    return requirement.marker is None or any(requirement.marker.evaluate(env) for env in _environments())


def test_lock_pins_every_runtime_and_build_dependency_transitively_with_hashes():
    """Every package pip would install for iaclint and its build backend, on any runner the lock is for,
    is pinned there with a sha256 hash, at a version pyproject.toml allows."""
    pins = parse_lock(LOCK.read_text())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    direct = [Requirement(r) for r in pyproject["project"]["dependencies"] + pyproject["build-system"]["requires"]]
    names = {lock_action.canonical(r.name) for r in direct}
    assert {"tree-sitter", "tree-sitter-hcl", "fastjsonschema", "hatchling"} <= names
    for requirement in direct:
        name = lock_action.canonical(requirement.name)
        assert name in pins, f"{requirement} is not in action-constraints.txt"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), f"{name}=={pins[name][0]} breaks {requirement}"
    # transitively, through what is installed here (hatchling too: it is a test extra for this reason)
    missing, queue, seen = [], [r for r in direct if _needed(r)], set()
    while queue:
        requirement = queue.pop()
        name = lock_action.canonical(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        if name not in pins:
            missing.append(str(requirement))
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{name} is not installed here, so its own requirements cannot be checked")
        queue += [r for r in map(Requirement, requires) if _needed(r)]
    assert not missing, f"needed but not pinned in action-constraints.txt: {missing} (run scripts/lock_action.py)"
    assert len(seen) >= 20
    for name, (version, hashes) in pins.items():
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name
    compiled = {"pyyaml", "rpds-py", "tree-sitter", "regex"}  # one wheel per platform and Python at least
    for name in compiled:
        assert len(pins[name][1]) >= 4 * len(lock_action.PYTHONS) - 4, (name, len(pins[name][1]))


def test_lock_parser_and_requirement_check_can_fail():
    with pytest.raises(AssertionError):
        parse_lock("typer>=0.12 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    pins = parse_lock("typer==0.27.3 \\\n    --hash=sha256:" + "a" * 64 + "\n")
    assert pins == {"typer": ("0.27.3", ["sha256:" + "a" * 64])}
    assert not Requirement("typer>=0.12,<0.27").specifier.contains(pins["typer"][0])
    assert not _needed(Requirement('tomli>=1.2.2; python_version < "3.11"'))
    assert _needed(Requirement('colorama; sys_platform == "darwin"'))


def test_lock_text_is_what_the_script_writes(tmp_path):
    """lock_action.lock_text on wheel files: sorted, canonical names, one hash per distinct file."""
    wheels = []
    for name, content in (("PyYAML-6.0.4-cp312-cp312-manylinux_2_17_x86_64.whl", b"a"),
                          ("PyYAML-6.0.4-cp311-cp311-macosx_11_0_arm64.whl", b"b"),
                          ("annotated_doc-0.0.7-py3-none-any.whl", b"c")):
        (tmp_path / name).write_bytes(content)
        wheels.append(tmp_path / name)
    pins = parse_lock(lock_action.lock_text(wheels))
    assert list(pins) == ["annotated-doc", "pyyaml"]
    assert sorted(pins["pyyaml"][1]) == sorted("sha256:" + hashlib.sha256(c).hexdigest() for c in (b"a", b"b"))
    (tmp_path / "PyYAML-6.0.3-cp312-cp312-macosx_11_0_arm64.whl").write_bytes(b"d")
    with pytest.raises(SystemExit):  # two versions of one package: the platforms did not agree
        lock_action.lock_text(sorted(tmp_path.glob("*.whl")))


# ---- cache key and install ------------------------------------------------------------------------


def test_cache_key_names_the_architecture_and_the_lock(tmp_path):
    script = step("key")["run"]

    def key(action_path: Path, arch: str) -> str:
        out = tmp_path / f"out-{arch}"
        out.write_text("")
        proc = run_step(script, tmp_path, {"ACTION_PATH": str(action_path), "PYTHON_VERSION": "3.12.7",
                                           "RUNNER_OS": "Linux", "RUNNER_ARCH": arch, "RUNNER_TEMP": str(tmp_path),
                                           "GITHUB_OUTPUT": str(out)})
        assert proc.returncode == 0, proc.stderr
        return dict(line.split("=", 1) for line in out.read_text().splitlines())["key"]

    lock_digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]
    x64, arm = key(ROOT, "X64"), key(ROOT, "ARM64")
    assert "-X64-" in x64 and "-ARM64-" in arm and x64.replace("X64", "ARM64") == arm
    assert f"lock{lock_digest}" in x64 and "py3.12.7" in x64
    copy = tmp_path / "action"
    copy.mkdir()
    for name in ("pyproject.toml", "action-constraints.txt"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "iaclint", copy / "iaclint", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "rules", copy / "rules")
    assert key(copy, "X64") == x64  # the same files: the same key
    with open(copy / "action-constraints.txt", "a") as handle:
        handle.write("# a change\n")
    assert key(copy, "X64") != x64


def test_windows_runners_are_refused_with_a_message(tmp_path):
    out = tmp_path / "out"
    proc = run_step(step("key")["run"], tmp_path, {"ACTION_PATH": str(ROOT), "PYTHON_VERSION": "3.12",
                                                   "RUNNER_OS": "Windows", "RUNNER_ARCH": "X64",
                                                   "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(out)})
    assert proc.returncode == 1 and "::error" in proc.stdout and "Windows" in proc.stdout


def test_install_takes_only_hash_pinned_wheels_then_builds_iaclint_offline(tmp_path):
    """The install step with a stand-in Python that records each call (pip cannot reach an index here)."""
    log = tmp_path / "calls"
    fake = tmp_path / "python"
    fake.write_text('#!/bin/bash\nif [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; '
                    'exit 0; fi\nprintf "%s\\n" "$*" >> "$CALLS"\n')
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    proc = run_step(step("Install iaclint")["run"], tmp_path,
                    {"ACTION_PATH": str(ROOT), "PYTHON": str(fake), "VENV": str(venv), "CALLS": str(log)})
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 3, calls
    first, second, third = calls
    assert "pip" in first and "--require-hashes" in first and "--only-binary=:all:" in first
    assert f"-r {ROOT}/action-constraints.txt" in first and "--no-deps" not in first  # pip checks the closure
    assert "--no-deps" in second and "--no-build-isolation" in second and "--no-index" in second
    assert second.endswith(str(ROOT))
    assert third.endswith("pip --quiet --disable-pip-version-check check")


# ---- the check step ---------------------------------------------------------------------------------


@pytest.fixture()
def venv(tmp_path) -> Path:
    """A stand-in for the action's virtualenv: this environment's python and iaclint."""
    path = tmp_path / "venv"
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").symlink_to(sys.executable)
    (path / "bin" / "iaclint").symlink_to(Path(sys.executable).with_name("iaclint"))
    return path


def check_env(venv: Path, temp: Path, **inputs: str) -> dict[str, str]:
    env = {"ACTION_PATH": str(ROOT), "VENV": str(venv), "RUNNER_TEMP": str(temp),
           "GITHUB_OUTPUT": str(temp / "output"), "GITHUB_STEP_SUMMARY": str(temp / "summary"),
           "IACLINT_PATHS": ".", "IACLINT_PLAN": "", "IACLINT_CONFIG_DIR": "", "IACLINT_THRESHOLD": "low",
           "IACLINT_FAIL_ON_UNKNOWN": "false", "IACLINT_ANNOTATIONS": "true", "IACLINT_SARIF": "",
           "IACLINT_BASE": "", "IACLINT_REVIEWDOG": "false", "IACLINT_EXTRA_ARGS": ""}
    env.update({f"IACLINT_{k.upper()}": v for k, v in inputs.items()})
    for name in ("output", "summary"):
        (temp / name).write_text("")
    return env


def outputs(temp: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (temp / "output").read_text().splitlines())


def many_findings(repo: Path, count: int) -> None:
    """``count`` unencrypted volumes (high: errors), vaults on the AWS key (medium: warnings), and tables
    without a customer managed key (low: notices)."""
    repo.mkdir(parents=True, exist_ok=True)
    blocks = []
    for n in range(count):
        blocks.append(f'resource "aws_ebs_volume" "v{n}" {{\n  availability_zone = "eu-west-1a"\n  size = 1\n}}\n')
        blocks.append(f'resource "aws_backup_vault" "b{n}" {{\n  name = "b{n}"\n}}\n')
        blocks.append(f'resource "aws_dynamodb_table" "t{n}" {{\n  name = "t{n}"\n  hash_key = "id"\n'
                      f'  attribute {{\n    name = "id"\n    type = "S"\n  }}\n}}\n')
    (repo / "main.tf").write_text("\n".join(blocks))


def kinds(text: str) -> dict[str, int]:
    found = {"error": 0, "warning": 0, "notice": 0}
    for line in text.splitlines():
        match = re.match(r"::(error|warning|notice)[ :]", line)
        if match:
            found[match.group(1)] += 1
    return found


def test_annotations_are_capped_per_kind_with_a_line_saying_how_many_more_are_in_sarif(tmp_path, venv):
    repo = tmp_path / "repo"
    many_findings(repo, 14)
    uncapped = subprocess.run([str(venv / "bin" / "iaclint"), "check", ".", "--format", "github"], cwd=repo,
                              capture_output=True, text=True)
    total = kinds(uncapped.stdout)
    assert all(n > 10 for n in total.values()), total  # the case: more than GitHub shows of every kind
    temp = tmp_path / "runner"
    temp.mkdir()
    proc = run_step(step("check")["run"], repo, check_env(venv, temp))
    assert proc.returncode == 0, proc.stderr
    shown = kinds(proc.stdout)
    assert shown == {"error": 10, "warning": 10, "notice": 10}, shown
    last = [line for line in proc.stdout.splitlines() if line.startswith("::warning")][-1]
    hidden = sum(total.values()) - (10 + 9 + 10)  # one warning place holds the line about the rest
    sarif = outputs(temp)["sarif-file"]
    assert f"{hidden} more annotations" in last and sarif in last and "SARIF" in last
    report = json.loads(Path(sarif).read_text())
    assert len(report["runs"][0]["results"]) == sum(total.values())  # all of them are in the SARIF report
    assert outputs(temp)["exit-code"] == "1"
    assert "AWS managed" in proc.stdout or "aws_ebs_volume.v13" in proc.stdout  # the text report is in the log


def test_a_few_annotations_are_shown_whole(tmp_path, venv):
    repo = tmp_path / "repo"
    many_findings(repo, 2)
    temp = tmp_path / "runner"
    temp.mkdir()
    proc = run_step(step("check")["run"], repo, check_env(venv, temp))
    assert proc.returncode == 0, proc.stderr
    assert kinds(proc.stdout) == {"error": 2, "warning": 2, "notice": 2}
    assert "more annotation" not in proc.stdout


def test_a_second_use_in_one_job_never_shows_the_first_ones_report(tmp_path, venv):
    repo = tmp_path / "repo"
    many_findings(repo, 1)
    temp = tmp_path / "runner"
    temp.mkdir()
    first = run_step(step("check")["run"], repo, check_env(venv, temp))
    assert first.returncode == 0, first.stderr
    first_out = outputs(temp)
    assert "## iaclint" in (temp / "summary").read_text() and first_out["exit-code"] == "1"
    # the second use (its own step: GitHub gives it a new summary file) stops on a usage error
    second = run_step(step("check")["run"], repo, check_env(venv, temp, extra_args="--select NOPE001"))
    assert second.returncode == 0, second.stderr
    second_out = outputs(temp)
    summary = (temp / "summary").read_text()
    assert second_out["exit-code"] == "2" and "sarif-file" not in second_out
    assert second_out["report-dir"] != first_out["report-dir"]
    assert "aws_ebs_volume" not in summary and "stopped with exit code 2" in summary
    assert "::error title=iaclint stopped (exit 2)" in second.stdout and "unknown rule 'NOPE001'" in second.stderr
    assert "aws_ebs_volume" not in second.stdout  # nothing of the first report is shown again
    # a SARIF path given by the caller: the first use's file is not left behind for upload
    third = run_step(step("check")["run"], repo, check_env(venv, temp, sarif="iaclint.sarif"))
    assert third.returncode == 0 and (repo / "iaclint.sarif").is_file()
    run_step(step("check")["run"], repo, check_env(venv, temp, sarif="iaclint.sarif", extra_args="--select NOPE001"))
    assert not (repo / "iaclint.sarif").exists() and "sarif-file" not in outputs(temp)


def test_a_base_branch_that_cannot_be_fetched_is_a_warning_annotation(tmp_path, venv):
    repo = tmp_path / "repo"
    many_findings(repo, 1)
    git("init", "-q", cwd=repo)
    temp = tmp_path / "runner"
    temp.mkdir()
    env = check_env(venv, temp, base="auto")
    env["GITHUB_BASE_REF"] = "main"  # a pull request, but there is no origin to fetch it from
    proc = run_step(step("check")["run"], repo, env)
    assert proc.returncode == 0, proc.stderr
    warning = next(line for line in proc.stdout.splitlines() if "base branch not fetched" in line)
    assert warning.startswith("::warning ") and "main" in warning and "without --base" in warning
    assert outputs(temp)["exit-code"] == "1"  # the check itself still ran


def test_summary_is_cut_under_one_mebibyte_with_fences_and_details_closed():
    block = ["<details><summary>EBS001 fix</summary>", "", "```diff", "-a", "+b", "```", "", "</details>", ""]
    table = "| `main.tf:1` | EBS001 | `aws_ebs_volume.v` | " + "x" * 200 + " |"
    text = "## iaclint: encryption at rest\n\n" + "\n".join([table] * 3000 + block * 6000) + "\n"
    assert len(text.encode()) > 1_100_000
    capped = action_report.capped_summary(text, "out/iaclint.sarif")
    size = len(capped.encode())
    assert 900_000 < size <= 1_000_000 < 1 << 20
    assert capped.rstrip().endswith("in this step's log.") and "`out/iaclint.sarif`" in capped
    body = capped[:capped.index("> **The summary stops here**")]
    assert body.count("<details>") == body.count("</details>")
    assert sum(1 for line in body.splitlines() if line.startswith("```")) % 2 == 0
    small = "## iaclint\n\nNo findings.\n"
    assert action_report.capped_summary(small, "x") == small


def test_summary_cut_inside_a_fence_closes_it():
    lines = ["<details>", "````diff"] + ["+" + "y" * 99] * 50
    capped = action_report.capped_summary("\n".join(lines) + "\n", "s.sarif", limit=3000)
    body = capped[:capped.index("> **The summary")]
    assert "````\n" in body[-40:] and body.count("</details>") == 1 and len(capped.encode()) <= 3000


def test_readme_workflow_runs_on_pull_requests_and_pushes_to_the_default_branch():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## GitHub Actions"):]
    section = section[:section.index("\n## ", 4)]
    workflow = yaml.safe_load(section[section.index("```yaml") + 7:section.index("```", section.index("```yaml") + 7)])
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    assert "Windows" in section and "not supported" in section


def test_a_pull_request_is_compared_with_its_base_branch_by_a_name_the_fix_command_can_use(tmp_path, venv):
    """The base branch is fetched into origin/BRANCH: fixes on what the pull request adds are safe, findings it
    introduces are marked with extra-args --new-only, and the fix command in the log names --base origin/main
    (FETCH_HEAD would mean another commit on the developer's machine)."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git("init", "-q", "-b", "main", cwd=origin)
    (origin / "main.tf").write_text('resource "aws_neptune_cluster" "old" {\n  cluster_identifier = "old"\n}\n')
    git("add", ".", cwd=origin)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base", cwd=origin)
    repo = tmp_path / "repo"
    git("clone", "-q", "--depth=1", f"file://{origin}", str(repo), cwd=tmp_path)
    git("update-ref", "-d", "refs/remotes/origin/main", cwd=repo)  # a pull request checkout has no base ref
    (repo / "main.tf").write_text((repo / "main.tf").read_text()
                                  + '\nresource "aws_neptune_cluster" "new" {\n  cluster_identifier = "new"\n}\n')
    temp = tmp_path / "runner"
    temp.mkdir()
    env = check_env(venv, temp, base="auto", extra_args="--select NEP001 --new-only")
    env["GITHUB_BASE_REF"] = "main"
    proc = run_step(step("check")["run"], repo, env)
    assert proc.returncode == 0, proc.stderr
    assert "base branch not fetched" not in proc.stdout
    assert "to apply the safe fixes: iaclint fix --base origin/main main.tf" in proc.stdout
    results = json.loads(Path(outputs(temp)["sarif-file"]).read_text())["runs"][0]["results"]
    # the cluster the pull request adds is its only finding, and its fix is safe; "old" is not reported
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results] == [5]
    assert [r["baselineState"] for r in results] == ["new"]
    assert "1 already there at origin/main not shown" in proc.stdout
