"""Run real `terraform plan` offline against the stand-in provider, and read what it planned.

No network and no `terraform init`: a CLI configuration file written for the run (TF_CLI_CONFIG_FILE, which
replaces whatever the machine sets) maps every provider the configuration names to the stand-in through
`dev_overrides`, which Terraform uses without installing, checksumming or version-matching anything; local
modules are installed with `terraform get`, which only records their directories. HOME, the plugin cache and
the checkpoint (update check) are the run's own, so nothing outside the run's folder is read or written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def unavailable() -> str:
    """Why the oracle cannot run here, or "" when it can."""
    if shutil.which("terraform") is None:
        return "terraform is not on PATH"
    try:
        import tf  # noqa: F401
        import tf.runner  # noqa: F401
    except ImportError as exc:
        return f"the `tf` package (the stand-in provider's plugin framework) is not installed: {exc}"
    return ""


@dataclass
class Diagnostic:
    severity: str
    summary: str
    detail: str
    file: str | None
    line: int | None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        return f"{where}{self.summary}: {self.detail}"


@dataclass
class PlanResult:
    ok: bool
    diagnostics: list[Diagnostic]
    plan: dict | None = None
    seconds: float = 0.0

    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


@dataclass
class Terraform:
    """One folder of runs: the stand-in's launcher, the CLI configuration, a HOME, and one stand-in server
    that every run reattaches to (close() stops it)."""

    workdir: Path
    provider_names: tuple[str, ...] = ("hashicorp/aws", "hashicorp/oracle")
    env: dict = field(default_factory=dict)
    server: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        plugins = self.workdir / "plugins"
        home = self.workdir / "home"
        plugins.mkdir(exist_ok=True)
        home.mkdir(exist_ok=True)
        launcher = (f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(TESTS)!r})\n"
                    "from oracle.standin import serve\nserve()\n")
        overrides = []
        for address in self.provider_names:
            local = address.rsplit("/", 1)[-1]
            folder = plugins / local
            folder.mkdir(exist_ok=True)
            path = folder / f"terraform-provider-{local}"
            path.write_text(launcher)
            path.chmod(0o755)
            overrides.append(f'    "{address}" = "{folder}"')
        config = self.workdir / "terraform.rc"
        config.write_text("provider_installation {\n  dev_overrides {\n" + "\n".join(overrides) +
                          "\n  }\n  direct {}\n}\n")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "IACLINT_ORACLE_"))}
        self.schema_file = self.workdir / "schema.json"
        self.schema_file.write_text("{}")
        self.env = {**base, "TF_CLI_CONFIG_FILE": str(config), "HOME": str(home), "CHECKPOINT_DISABLE": "1",
                    "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "NO_COLOR": "1",
                    "IACLINT_ORACLE_SCHEMA": str(self.schema_file), **self.env}
        self._start_server(next(iter(plugins.glob("*/terraform-provider-*"))), home)

    def _start_server(self, launcher: Path, home: Path) -> None:
        """The stand-in in --dev mode on a unix socket in the work folder, and TF_REATTACH_PROVIDERS naming it
        for every provider address."""
        env = dict(self.env, PYTHONUNBUFFERED="1", TMPDIR=str(home))
        self.server = subprocess.Popen([str(launcher), "--dev"], env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, text=True)
        for line in self.server.stdout:
            if "TF_REATTACH_PROVIDERS=" in line:
                attach = json.loads(line.split("=", 1)[1].strip().strip("'"))
                break
        else:
            raise RuntimeError("the stand-in provider did not start")
        entry = next(iter(attach.values()))
        self.env["TF_REATTACH_PROVIDERS"] = json.dumps(
            {f"registry.terraform.io/{address}": entry for address in self.provider_names})

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
        self.server = None

    def run(self, args: list[str], cwd: Path, timeout: float = 600, environ: dict | None = None
            ) -> subprocess.CompletedProcess:
        if self.server is None or self.server.poll() is not None:
            raise RuntimeError("the stand-in provider is not running")
        return subprocess.run(["terraform", *args], cwd=cwd, env={**self.env, **(environ or {})},
                              capture_output=True, text=True, timeout=timeout, check=False)

    def plan(self, root: Path, spec: dict, variables: list[str] = (), var_files: list[str] = (),
             environ: dict | None = None) -> PlanResult:
        """Plan ``root`` (modules installed first) and return `terraform show -json` of the saved plan."""
        import time

        started = time.perf_counter()
        self.schema_file.write_text(json.dumps(spec))
        if any(root.rglob("*.tf*")):
            got = self.run(["get", "-no-color"], root)
            if got.returncode != 0:
                return PlanResult(False, _text_diagnostics(got.stderr), seconds=time.perf_counter() - started)
        args = ["plan", "-json", "-input=false", "-lock=false", "-refresh=false", "-out=oracle.tfplan"]
        args += [f"-var={v}" for v in variables] + [f"-var-file={f}" for f in var_files]
        done = self.run(args, root, environ=environ)
        diagnostics = _diagnostics(done.stdout)
        if done.returncode != 0:
            if not any(d.severity == "error" for d in diagnostics):
                diagnostics.append(Diagnostic("error", "terraform plan failed", done.stderr[-4000:], None, None))
            return PlanResult(False, diagnostics, seconds=time.perf_counter() - started)
        shown = self.run(["show", "-json", "oracle.tfplan"], root)
        if shown.returncode != 0:
            return PlanResult(False, [Diagnostic("error", "terraform show failed", shown.stderr, None, None)],
                              seconds=time.perf_counter() - started)
        return PlanResult(True, diagnostics, json.loads(shown.stdout), time.perf_counter() - started)


def _diagnostics(stream: str) -> list[Diagnostic]:
    out = []
    for line in stream.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        diag = message.get("diagnostic") if isinstance(message, dict) else None
        if not diag:
            continue
        where = diag.get("range") or {}
        out.append(Diagnostic(diag.get("severity", ""), diag.get("summary", ""), diag.get("detail", ""),
                              where.get("filename"), (where.get("start") or {}).get("line")))
    return out


_WHERE = re.compile(r"(?:\bon (\S+) line (\d+)|\bat (\S+?):(\d+)[.:\s])")


def _text_diagnostics(stderr: str) -> list[Diagnostic]:
    """`terraform get` has no -json: its errors, each with the file and line it names, if any."""
    out = []
    for chunk in re.split(r"\n(?=Error: )", stderr):
        if not chunk.strip():
            continue
        where = _WHERE.search(chunk)
        file = (where.group(1) or where.group(3)) if where else None
        line = int(where.group(2) or where.group(4)) if where else None
        summary = chunk.strip().splitlines()[0]
        out.append(Diagnostic("error", summary, chunk.strip()[:2000], file, line))
    return out
