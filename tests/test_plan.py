"""Plan review: loading real plans, errors, known-after-apply, source mapping, PLN001, plan-aware fixes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iaclint.run.lint import Target
from iaclint.run.pipeline import run_check
from iaclint.graph.plan import load_plan_target
from iaclint.model import Applicability
from support import RULE_FIXTURES, ROOT, options

# the 334 real plans from public projects' test suites; not vendored (they are other projects' fixtures)
SHARED_PLANS = Path(os.environ.get("IACLINT_SHARED_PLANS", Path(__file__).resolve().parents[2] / "shared" / "plans"))
REAL_PLANS = sorted(SHARED_PLANS.glob("*.json"))
TERRAFORM = shutil.which("terraform")


def iaclint(*args, cwd=ROOT, stdin=None):
    return subprocess.run([sys.executable, "-m", "iaclint", *args], cwd=cwd, capture_output=True, text=True,
                          input=stdin, timeout=120)


def findings(path, **kwargs):
    return run_check([str(path)], options(**kwargs)).report.findings


@pytest.mark.skipif(not REAL_PLANS, reason="the real plans (../shared/plans or $IACLINT_SHARED_PLANS) are not present")
def test_every_real_plan_loads():
    assert len(REAL_PLANS) == 334
    for path in REAL_PLANS:
        data = json.loads(path.read_text())
        graph = load_plan_target(Target("plan", path), options())
        addresses = {r.address for r in graph.resources}
        expected = {c["address"] for c in data.get("resource_changes") or [] if not c.get("deposed")}
        assert expected <= addresses, path.name
        for resource in graph.resources:  # every attribute evaluates without raising
            for name in resource.attribute_names():
                resource.attr(name)


@pytest.mark.skipif(not REAL_PLANS, reason="the real plans (../shared/plans or $IACLINT_SHARED_PLANS) are not present")
def test_the_fast_plan_validator_agrees_with_jsonschema():
    """fastjsonschema decides valid plans quickly; jsonschema is the reference: a fast pass must never hide
    an error jsonschema would report, on real plans and on plans broken in the places the schema covers."""
    import copy
    import random

    import jsonschema

    from iaclint.graph.plan import _fast_plan_validator, _passes_fast_validation
    from iaclint.schemas import schema

    assert _fast_plan_validator() is not None
    reference = jsonschema.Draft202012Validator(schema("plan.schema.json"))
    rng = random.Random(7)
    breakages = [lambda c: c.update(address=12), lambda c: c.update(mode="other"), lambda c: c.pop("type", None),
                 lambda c: c.update(change="x"), lambda c: c.update(name=None), lambda c: c.update(address="")]
    checked = invalid = 0
    for path in REAL_PLANS:
        data = json.loads(path.read_text())
        variants = [data]
        if data.get("resource_changes"):
            broken = copy.deepcopy(data)
            rng.choice(breakages)(rng.choice(broken["resource_changes"]))
            variants.append(broken)
        variants.append(dict(data, format_version=1))
        variants.append(dict(data, resource_changes={"not": "a list"}))
        for variant in variants:
            valid = not any(True for _ in reference.iter_errors(variant))
            assert _passes_fast_validation(variant) == valid, path.name
            checked += 1
            invalid += not valid
    assert checked > 900 and invalid > 600


def test_rules_run_on_a_real_plan_without_configuration():
    plan = SHARED_PLANS / "checkov__tests_terraform_parser_resources_plan_tags_tfplan.json"
    if not plan.exists():
        pytest.skip("shared plans not present")
    result = {(f.rule_id, f.address) for f in findings(plan)}
    assert ("NEP001", "aws_neptune_cluster.default") in result
    # the snapshot is judged by its source cluster, never by its read-only attributes
    assert ("NEP003", "aws_neptune_cluster_snapshot.default") in result


@pytest.mark.parametrize("content,message", [
    ('{"hello": "world"}', "not a Terraform plan"),
    ('{"format_version": "1.2", "planned_values": {"root_mod', "not valid JSON"),
    ('{"format_version": "2.0", "planned_values": {}}', "newer than iaclint understands"),
    ('{"format_version": "1.2", "resource_changes": [{"address": 3}]}', "not a plan iaclint can read"),
])
def test_bad_plans_get_clear_errors_and_exit_2(tmp_path, content, message):
    path = tmp_path / "tfplan.json"
    path.write_text(content)
    proc = iaclint("check", str(path))
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_truncated_plan_is_named_as_truncated(tmp_path):
    text = (RULE_FIXTURES / "KMS001" / "plan_rotation" / "plan.json").read_text()
    path = tmp_path / "plan.json"
    path.write_text(text[: len(text) // 2])
    proc = iaclint("check", str(path))
    assert proc.returncode == 2 and "truncated" in proc.stderr


def test_a_bad_plan_does_not_stop_other_targets(tmp_path):
    (tmp_path / "bad.json").write_text("{}")
    module = tmp_path / "m"
    module.mkdir()
    (module / "main.tf").write_text('resource "aws_kms_key" "k" {}\n')
    proc = iaclint("check", str(tmp_path / "bad.json"), str(module))
    assert proc.returncode == 2
    assert "KMS001" in proc.stdout and "not a Terraform plan" in proc.stderr


def test_plan_is_recognised_by_content_and_from_stdin(tmp_path):
    text = (RULE_FIXTURES / "PLN001" / "no_source" / "plan.json").read_text()
    odd = tmp_path / "tfplan.out"
    odd.write_text(text)
    assert "PLN001" in iaclint("check", str(odd)).stdout
    piped = iaclint("check", "-", stdin=text, cwd=tmp_path)
    assert piped.returncode == 1 and "<stdin>:1:" in piped.stdout and "PLN001" in piped.stdout


def test_known_after_apply_keys_are_customer_managed():
    case = RULE_FIXTURES / "NEP002" / "pass_plan_known_after_apply" / "plan.json"
    graph = load_plan_target(Target("plan", case), options())
    from iaclint.checks.keys import KeyKind, classify_key

    for address, key in (("aws_neptune_cluster.graph", "aws_kms_key.graph"),
                         ("aws_neptune_cluster.via_module", "module.cache_key.aws_kms_key.this")):
        view = graph.resource(address).attr("kms_key_arn")
        assert not view.value.known  # known after apply
        result = classify_key(view, graph)
        assert result.kind is KeyKind.CUSTOMER_MANAGED and key in result.reason


def test_unset_computed_key_is_absent_not_unknown():
    case = RULE_FIXTURES / "BAK001" / "plan_unset_key" / "plan.json"
    graph = load_plan_target(Target("plan", case), options())
    assert graph.resource("aws_backup_vault.default_key").attr("kms_key_arn").present is False
    assert graph.resource("aws_backup_vault.cmk").attr("kms_key_arn").present is True


def test_deleted_resources_are_not_linted():
    case = RULE_FIXTURES / "NEP001" / "plan_module" / "plan.json"
    result = findings(case)
    assert not [f for f in result if f.address == "aws_neptune_cluster.old" and f.rule_id != "PLN001"]
    assert [f for f in result if f.address == "aws_neptune_cluster.old" and f.rule_id == "PLN001"]


def test_findings_point_at_tf_lines_inside_local_modules():
    case = RULE_FIXTURES / "NEP001" / "plan_module" / "plan.json"
    finding = next(f for f in findings(case) if f.rule_id == "NEP001")
    assert finding.location.file.endswith("plan_module/modules/graph/main.tf") and finding.location.line == 11
    calls = [r for r in finding.related if "module \"reports\" called from" in r.message]
    assert calls and calls[0].location.file.endswith("plan_module/main.tf") and calls[0].location.line == 1


def test_without_configuration_findings_point_into_the_plan(tmp_path):
    plan = tmp_path / "plan.json"
    shutil.copy(RULE_FIXTURES / "NEP001" / "plan_module" / "plan.json", plan)
    run = run_check([str(plan)], options())
    nep001 = next(f for f in run.report.findings if f.rule_id == "NEP001")
    assert nep001.location.file == str(plan) and nep001.location.line == 1 and nep001.location.column > 1
    assert any("no Terraform configuration found" in n for n in run.report.notices)
    mapped = run_check([str(plan)], options(config_dir=str(RULE_FIXTURES / "NEP001" / "plan_module"))).report
    assert next(f for f in mapped.findings if f.rule_id == "NEP001").location.file.endswith("modules/graph/main.tf")


def test_pln001_explains_replacement_migration_and_final_snapshot():
    case = RULE_FIXTURES / "PLN001" / "replace_encryption" / "plan.json"
    result = {f.address: f.message for f in findings(case) if f.rule_id == "PLN001"}
    cluster = result["aws_neptune_cluster.graph"]
    assert "forced by storage_encrypted, kms_key_arn" in cluster
    assert "copy the snapshot with the new key" in cluster and "(snapshot_identifier)" in cluster
    assert 'final snapshot "graph-final" will be taken' in cluster  # as HCL writes it, not Python's 'graph-final'
    cache = result["aws_elasticache_replication_group.sessions"]
    assert "creates the new one first" in cache and "snapshot_name or snapshot_arns" in cache
    assert "No final snapshot will be taken" in cache
    assert "destroys aws_dynamodb_table.sessions because its configuration was removed" in \
        result["aws_dynamodb_table.sessions"]
    assert "aws_backup_vault.main" not in result  # an in-place update


def test_plan_aware_fix_safety():
    created = findings(RULE_FIXTURES / "NEP001" / "plan_module" / "plan.json")
    nep001 = next(f for f in created if f.rule_id == "NEP001")
    assert nep001.fix.applicability is Applicability.SAFE and "plan creates" in nep001.fix.note
    replaced = findings(RULE_FIXTURES / "PLN001" / "replace_encryption" / "plan.json")
    ech002 = next(f for f in replaced if f.rule_id == "ECH002")
    assert ech002.fix.applicability is Applicability.UNSAFE


def test_fixing_from_a_plan_edits_the_configuration(tmp_path):
    case = tmp_path / "case"
    shutil.copytree(RULE_FIXTURES / "NEP001" / "plan_module", case)
    proc = iaclint("fix", str(case / "plan.json"))  # safe: the plan creates the cluster
    assert "applied: NEP001" in proc.stdout and "plan is now out of date" in proc.stdout
    assert "encrypted = true" in (case / "main.tf").read_text()


@pytest.mark.skipif(TERRAFORM is None, reason="needs the terraform binary on PATH to create a real plan")
def test_loader_reads_a_real_plan_made_offline_by_terraform(tmp_path):
    (tmp_path / "modules" / "db").mkdir(parents=True)
    (tmp_path / "main.tf").write_text(
        'module "db" {\n  for_each  = toset(["a", "b"])\n  source    = "./modules/db"\n  name      = each.key\n'
        '  encrypted = each.key == "a"\n}\n\nresource "terraform_data" "vault" {\n'
        '  input = { kms_key_arn = module.db["a"].id }\n}\n')
    (tmp_path / "modules" / "db" / "main.tf").write_text(
        'variable "name" {\n  type = string\n}\n\nvariable "encrypted" {\n  type = bool\n}\n\n'
        'resource "terraform_data" "cluster" {\n  input = { name = var.name, storage_encrypted = var.encrypted }\n}\n\n'
        'output "id" {\n  value = terraform_data.cluster.id\n}\n')
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    for cmd in (["init", "-input=false", "-no-color"], ["plan", "-input=false", "-no-color", "-out=plan.bin"]):
        proc = subprocess.run([TERRAFORM, *cmd], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = subprocess.run([TERRAFORM, "show", "-json", "plan.bin"], cwd=tmp_path, capture_output=True, text=True,
                           env=env, timeout=120)
    (tmp_path / "plan.json").write_text(shown.stdout)
    graph = load_plan_target(Target("plan", tmp_path / "plan.json"), options())
    addresses = sorted(r.address for r in graph.resources)
    assert addresses == ['module.db["a"].terraform_data.cluster', 'module.db["b"].terraform_data.cluster',
                         "terraform_data.vault"]
    cluster = graph.resource('module.db["a"].terraform_data.cluster')
    assert cluster.plan_actions == ("create",)
    assert cluster.header_span.file.endswith("modules/db/main.tf")  # mapped back to the source
    assert cluster.attr("input").value.raw["storage_encrypted"].raw is True
    assert graph.resource('module.db["b"].terraform_data.cluster').attr("input").value.raw["storage_encrypted"].raw is False
    vault = graph.resource("terraform_data.vault")
    assert 'module.db["a"].terraform_data.cluster' in vault.references("input")


def test_a_provider_config_that_is_not_an_object_is_ignored(tmp_path):
    """Found by the property suite: "provider_config": 1 must not end in an internal error."""
    import json as _json

    plan = {"format_version": "1.2", "planned_values": {"root_module": {"resources": []}}, "resource_changes": [],
            "configuration": {"provider_config": 1, "root_module": {}}}
    (tmp_path / "plan.json").write_text(_json.dumps(plan))
    proc = subprocess.run([sys.executable, "-m", "iaclint", "check", str(tmp_path / "plan.json")],
                          capture_output=True, text=True)
    assert proc.returncode in (0, 1) and "internal error" not in proc.stderr + proc.stdout
