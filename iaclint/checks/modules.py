"""Module calls whose code iaclint could not read: never a silent pass (MOD001)."""

from __future__ import annotations

from iaclint.engine.results import CheckContext, CheckResult
from iaclint.source import display_path


def module_is_downloaded(call, context: CheckContext) -> CheckResult:
    """Unknown when the call's code has not been downloaded (or only a stale copy has): nothing it creates is
    checked, and the way to make it checkable is to download it where the root module is."""
    if not call.unchecked:
        return CheckResult.passed("its code is read")
    source = call.attr("source")
    return CheckResult.unknown(f"{call.unchecked}, so nothing it creates is checked; {how_to_download(call)}",
                               attribute="source", value=source.value)


def how_to_download(call) -> str:
    """The command that makes the module readable, run where Terraform (or Terragrunt) runs for this root."""
    command = getattr(call, "download_command", "`terraform get` (or `terraform init`)")
    where = display_path(call.root_dir)
    return f"run {command} {'here' if where == '.' else 'in ' + where} so that iaclint can read it"
