"""Athena workgroups: the part of ATH001 a YAML condition cannot say.

A workgroup's result encryption is one nested setting; what conditions cannot add is the note that clients
may override it when `enforce_workgroup_configuration = false` (the issue's decision for ATH001), said both
on a failing workgroup and on a passing one.
"""

from __future__ import annotations

from iaclint.engine.conditions import evaluate
from iaclint.engine.results import CheckContext, CheckResult
from iaclint.graph.model import Resource

RESULT_ENCRYPTION = {"attribute": "configuration.result_configuration.encryption_configuration.encryption_option",
                     "nonempty": True}
MANAGED_RESULTS = {"attribute": "configuration.managed_query_results_configuration.enabled", "equals": True,
                   "when_absent": "Athena writes the results to the output location"}
ENFORCED = {"attribute": "configuration.enforce_workgroup_configuration", "equals": True, "default": True}


def athena_result_encryption(workgroup: Resource, context: CheckContext) -> CheckResult:
    """ATH001: a workgroup sets an encryption for its query results; when clients may override it, say so."""
    graph = context.graph
    managed = evaluate(MANAGED_RESULTS, workgroup, graph)
    if managed.state is True:
        return CheckResult.passed(f"not applicable: {managed.reason} (Athena stores the results, not in an S3 "
                                  "output location)")
    if managed.state is None:
        return CheckResult.unknown(f"cannot tell whether managed query results are on: {managed.reason}")
    outcome = evaluate(RESULT_ENCRYPTION, workgroup, graph)
    enforced = evaluate(ENFORCED, workgroup, graph)
    if enforced.state is False:
        note = (f"; {enforced.reason}, so clients may override the workgroup's settings with their own, "
                "encryption included")
    elif enforced.state is None:
        note = f"; clients may be able to override the workgroup's settings: {enforced.reason}"
    else:
        note = ""
    extra = {"locate_span": outcome.span} if outcome.span is not None else {}
    if outcome.state is True:
        return CheckResult.passed(outcome.reason + note)
    if outcome.state is None:
        return CheckResult.unknown(outcome.reason + note, value=outcome.value, extra=extra)
    return CheckResult.failed(outcome.reason + note, value=outcome.value, extra=extra)
