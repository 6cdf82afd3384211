"""The HCL graph: variables and their precedence, locals, modules, instances and references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iaclint.eval.values import OriginKind
from iaclint.graph.hcl import build_hcl_graph
from iaclint.graph.inputs import collect_inputs


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def graph(root: Path, var_files=(), cli_vars=(), environ=None):
    inputs = collect_inputs(root, list(var_files), list(cli_vars), environ or {})
    return build_hcl_graph(root, inputs)


def attr(g, address, name):
    return g.resource(address).attr(name).value


BASE = {
    "variables.tf": 'variable "flag" {\n  type    = string\n  default = "default"\n}\n',
    "main.tf": 'resource "aws_x" "r" {\n  v = var.flag\n}\n',
}


def test_variable_default_from_another_file(tmp_path):
    g = graph(write(tmp_path, BASE))
    value = attr(g, "aws_x.r", "v")
    assert value.raw == "default"
    assert value.origin.kind is OriginKind.VARIABLE_DEFAULT
    assert value.origin.span.file.endswith("variables.tf")


@pytest.mark.parametrize("extra,cli,env,expected,kind", [
    ({}, [], {"TF_VAR_flag": "env"}, "env", OriginKind.ENV_VAR),
    ({"terraform.tfvars": 'flag = "tfvars"\n'}, [], {"TF_VAR_flag": "env"}, "tfvars", OriginKind.TFVARS),
    ({"terraform.tfvars": 'flag = "tfvars"\n', "terraform.tfvars.json": '{"flag": "json"}'}, [], {}, "json",
     OriginKind.TFVARS),
    ({"terraform.tfvars.json": '{"flag": "json"}', "a.auto.tfvars": 'flag = "auto-a"\n',
      "b.auto.tfvars": 'flag = "auto-b"\n'}, [], {}, "auto-b", OriginKind.TFVARS),
    ({"b.auto.tfvars": 'flag = "auto-b"\n', "extra.tfvars": 'flag = "var-file"\n'}, ["extra.tfvars"], {},
     "var-file", OriginKind.TFVARS),
    ({"extra.tfvars": 'flag = "var-file"\n'}, ["extra.tfvars", "--var"], {}, "cli", OriginKind.CLI_VAR),
])
def test_tfvars_precedence(tmp_path, extra, cli, env, expected, kind):
    root = write(tmp_path, {**BASE, **extra})
    var_files = [str(root / f) for f in cli if f != "--var"]
    cli_vars = ["flag=cli"] if "--var" in cli else []
    g = graph(root, var_files, cli_vars, env)
    value = attr(g, "aws_x.r", "v")
    assert value.raw == expected
    assert value.origin.kind is kind


def test_input_without_default_is_unknown_with_reason(tmp_path):
    g = graph(write(tmp_path, {"main.tf": 'variable "x" {}\nresource "aws_x" "r" {\n  v = var.x\n}\n'}))
    value = attr(g, "aws_x.r", "v")
    assert not value.known
    assert 'variable "x" has no default' in value.unknown


def test_bool_variable_converts_string_values(tmp_path):
    root = write(tmp_path, {
        "main.tf": 'variable "enc" {\n  type = bool\n}\nresource "aws_x" "r" {\n  v = var.enc\n}\n',
        "terraform.tfvars": 'enc = "true"\n',
    })
    assert attr(graph(root), "aws_x.r", "v").raw is True
    assert attr(graph(root, cli_vars=["enc=false"]), "aws_x.r", "v").raw is False


def test_optional_object_attribute_defaults(tmp_path):
    root = write(tmp_path, {"main.tf": (
        'variable "db" {\n  type = object({ name = string, encrypted = optional(bool, true) })\n'
        '  default = { name = "x" }\n}\nresource "aws_x" "r" {\n  v = var.db.encrypted\n}\n')})
    assert attr(graph(root), "aws_x.r", "v").raw is True


def test_locals_using_locals_and_cycles(tmp_path):
    root = write(tmp_path, {"main.tf": (
        'locals {\n  a = "x"\n  b = "${local.a}-y"\n  c = local.d\n  d = local.c\n}\n'
        'resource "aws_x" "r" {\n  v = local.b\n  w = local.c\n}\n')})
    g = graph(root)
    assert attr(g, "aws_x.r", "v").raw == "x-y"
    assert "depends on itself" in attr(g, "aws_x.r", "w").unknown


def test_count_and_for_each_addresses(tmp_path):
    root = write(tmp_path, {"main.tf": (
        'resource "aws_backup_vault" "replicas" {\n  count = 2\n  name  = "r${count.index}"\n}\n'
        'resource "aws_neptune_cluster" "per_team" {\n  for_each = toset(["reports", "search"])\n'
        '  cluster_identifier = each.key\n}\n'
        'resource "aws_neptune_cluster" "none" {\n  count = 0\n}\n')})
    g = graph(root)
    addresses = [r.address for r in g.resources]
    assert addresses == ['aws_backup_vault.replicas[0]', 'aws_backup_vault.replicas[1]',
                         'aws_neptune_cluster.per_team["reports"]', 'aws_neptune_cluster.per_team["search"]']
    assert attr(g, "aws_backup_vault.replicas[1]", "name").raw == "r1"
    assert attr(g, 'aws_neptune_cluster.per_team["search"]', "cluster_identifier").raw == "search"


def test_unknown_collection_keeps_one_instance_with_unknown_values(tmp_path):
    root = write(tmp_path, {"main.tf": (
        'variable "n" {\n  type = number\n}\nvariable "teams" {\n  type = map(string)\n}\n'
        'resource "aws_x" "counted" {\n  count = var.n\n  i     = count.index\n  fixed = true\n}\n'
        'resource "aws_x" "each" {\n  for_each = var.teams\n  k        = each.key\n}\n')})
    g = graph(root)
    counted = g.resource("aws_x.counted[*]")
    assert counted is not None
    assert not counted.attr("i").value.known and counted.attr("fixed").value.raw is True
    assert not g.resource("aws_x.each[*]").attr("k").value.known


@pytest.mark.parametrize("meta,surely", [
    ("count = var.on ? 1 : 0", False),
    ("count = var.n", False),
    ("count = var.on ? 3 : 1", True),
    ("count = (var.on ? 2 : (var.other ? 1 : 0))", False),
    ("for_each = var.teams", False),
    ('for_each = var.on ? { a = "x" } : {}', False),
    ('for_each = toset(["main", var.name])', True),
    ('for_each = var.on ? toset(["a"]) : toset(["b", "c"])', True),
])
def test_an_instance_whose_count_is_not_known_says_whether_one_surely_exists(tmp_path, meta, surely):
    root = write(tmp_path, {"main.tf": (
        'variable "on" {\n  type = bool\n}\nvariable "other" {\n  type = bool\n}\n'
        'variable "n" {\n  type = number\n}\nvariable "teams" {\n  type = map(string)\n}\n'
        'variable "name" {\n  type = string\n}\n'
        f'resource "aws_x" "r" {{\n  {meta}\n}}\n'
        'resource "aws_x" "plain" {}\n')})
    g = graph(root)
    why, certain = g.resource("aws_x.r[*]").creation_doubt()
    assert certain is surely and why.startswith(meta.split(" ")[0] + " is not known (")
    assert g.resource("aws_x.plain").creation_doubt() is None


def test_resources_of_a_module_whose_count_is_not_known_may_not_exist(tmp_path):
    root = write(tmp_path, {
        "main.tf": ('variable "on" {\n  type = bool\n}\n'
                    'module "maybe" {\n  source = "./mod"\n  count  = var.on ? 1 : 0\n}\n'
                    'module "sure" {\n  source = "./mod"\n  count  = 2\n}\n'),
        "mod/main.tf": 'resource "aws_x" "this" {}\n',
    })
    g = graph(root)
    why, certain = g.resource("module.maybe[*].aws_x.this").creation_doubt()
    assert not certain and why.startswith("it is in module.maybe[*], whose count is not known (")
    assert g.resource("module.sure[1].aws_x.this").creation_doubt() is None


def test_a_failing_finding_on_an_instance_that_may_not_exist_is_unknown(tmp_path):
    # issue 19: false BAK001 fails on cloudposse's `enabled = false` and lgallard's vault name check
    from iaclint.run.pipeline import check_paths
    from support import options

    write(tmp_path, {"main.tf": (
        'variable "enabled" {\n  type = bool\n}\n'
        'resource "aws_backup_vault" "maybe" {\n  count = var.enabled ? 1 : 0\n  name  = "maybe"\n}\n'
        'resource "aws_backup_vault" "surely" {\n  count = var.enabled ? 2 : 1\n  name  = "surely"\n}\n'
        'resource "aws_backup_vault" "known" {\n  count = 1\n  name  = "known"\n}\n')})
    found = {f.address: f for f in check_paths([str(tmp_path)], options()).findings if f.rule_id == "BAK001"}
    maybe, surely, known = (found["aws_backup_vault.maybe[*]"], found["aws_backup_vault.surely[*]"],
                            found["aws_backup_vault.known[0]"])
    assert maybe.verdict.value == "unknown"
    assert "may not be created: count is not known (" in maybe.message and "; if it is, kms_key_arn" in maybe.message
    assert surely.verdict.value == "fail" and "(every instance fails: count is not known (" in surely.message
    assert "makes at least one instance" in surely.message
    assert known.verdict.value == "fail" and "not known" not in known.message


def test_local_module_twice_with_different_inputs(tmp_path):
    root = write(tmp_path, {
        "main.tf": ('module "a" {\n  source = "./mod"\n  enc    = false\n}\n'
                    'module "b" {\n  source = "./mod"\n  enc    = true\n}\n'),
        "mod/main.tf": 'variable "enc" {}\nresource "aws_x" "this" {\n  v = var.enc\n}\noutput "id" {\n  value = aws_x.this.id\n}\n',
    })
    g = graph(root)
    a = g.resource("module.a.aws_x.this")
    b = g.resource("module.b.aws_x.this")
    assert a.attr("v").value.raw is False and b.attr("v").value.raw is True
    assert a.attr("v").value.origin.kind is OriginKind.MODULE_ARGUMENT
    assert a.config_address == "module.a.aws_x.this"
    assert len(a.call_sites) == 1 and a.call_sites[0].label.startswith('module "a" called from ')


def test_module_for_each_and_nested_modules(tmp_path):
    root = write(tmp_path, {
        "main.tf": 'module "db" {\n  for_each = { x = true, y = false }\n  source = "./db"\n  enc = each.value\n}\n',
        "db/main.tf": 'variable "enc" {}\nmodule "inner" {\n  source = "../inner"\n  enc    = var.enc\n}\n',
        "inner/main.tf": 'variable "enc" {}\nresource "aws_x" "this" {\n  v = var.enc\n}\n',
    })
    g = graph(root)
    assert sorted(r.address for r in g.resources) == [
        'module.db["x"].module.inner.aws_x.this', 'module.db["y"].module.inner.aws_x.this']
    value = g.resource('module.db["y"].module.inner.aws_x.this').attr("v").value
    assert value.raw is False
    assert value.origin.span.file.endswith("main.tf")  # the literal in the root's for_each map


def test_module_outputs_carry_references(tmp_path):
    root = write(tmp_path, {
        "main.tf": 'module "kms" {\n  source = "./kms"\n}\nresource "aws_backup_vault" "v" {\n  kms_key_arn = module.kms.arn\n}\n',
        "kms/main.tf": 'resource "aws_kms_key" "k" {}\noutput "arn" {\n  value = aws_kms_key.k.arn\n}\n',
    })
    g = graph(root)
    vault = g.resource("aws_backup_vault.v")
    assert [r.address for r in g.referenced_by(vault, "kms_key_arn")] == ["module.kms.aws_kms_key.k"]
    assert any(e.source == "aws_backup_vault.v" and e.target == "module.kms.aws_kms_key.k" for e in g.edges())


def test_remote_module_is_reported_not_dropped(tmp_path):
    root = write(tmp_path, {"main.tf": 'module "vpc" {\n  source = "terraform-aws-modules/vpc/aws"\n}\n'
                                      'resource "aws_x" "r" {\n  v = module.vpc.id\n}\n'})
    g = graph(root)
    [call] = g.module_calls  # MOD001 judges it: a finding, not a notice -q would hide
    assert call.address == "module.vpc" and "has not been downloaded" in call.unchecked
    assert "has not been downloaded" in attr(g, "aws_x.r", "v").unknown


def test_downloaded_module_is_read_from_terraform_dir(tmp_path):
    root = write(tmp_path, {
        "main.tf": 'module "vpc" {\n  source = "terraform-aws-modules/vpc/aws"\n}\n',
        ".terraform/modules/vpc/main.tf": 'resource "aws_x" "r" {\n  v = 1\n}\n',
        ".terraform/modules/modules.json": json.dumps({"Modules": [{"Key": "vpc", "Source": "registry.terraform.io/terraform-aws-modules/vpc/aws",
                                                          "Version": "5.1.0", "Dir": ".terraform/modules/vpc"}]}),
    })
    g = graph(root)
    resource = g.resource("module.vpc.aws_x.r")
    assert resource is not None and "downloaded module" in resource.not_editable


def test_tf_json_configuration(tmp_path):
    root = write(tmp_path, {"main.tf.json": json.dumps({
        "variable": {"enc": {"default": False}},
        "resource": {"aws_neptune_cluster": {"g": {"storage_encrypted": "${var.enc}", "name": "n-${var.enc}"}}},
    })})
    g = graph(root)
    cluster = g.resource("aws_neptune_cluster.g")
    assert cluster.attr("storage_encrypted").value.raw is False
    assert cluster.attr("name").value.raw == "n-false"
    assert "JSON" in cluster.not_editable


def test_override_files_replace_arguments(tmp_path):
    root = write(tmp_path, {
        "main.tf": 'resource "aws_x" "r" {\n  v = 1\n  w = 2\n}\n',
        "main_override.tf": 'resource "aws_x" "r" {\n  v = 3\n}\n',
    })
    g = graph(root)
    assert attr(g, "aws_x.r", "v").raw == 3 and attr(g, "aws_x.r", "w").raw == 2


def test_places_come_from_provider_region_accounts_and_credentials(tmp_path):
    from iaclint.graph.placement import account_of, region_of, same_account

    (tmp_path / "main.tf").write_text('''variable "profile" {
  type = string
}

provider "aws" {
  region = "eu-west-1"
}

provider "aws" {
  alias  = "dr"
  region = "eu-central-1"
}

provider "aws" {
  alias   = "other"
  profile = var.profile
}

provider "aws" {
  alias = "central"
  assume_role {
    role_arn = "arn:aws:iam::444455556666:role/backup"
  }
}

resource "aws_backup_vault" "main" {
  name = "main"
}

resource "aws_backup_vault" "dr" {
  provider = aws.dr
  name     = "dr"
}

resource "aws_backup_vault" "other" {
  provider = aws.other
  name     = "other"
}

resource "aws_backup_vault" "central" {
  provider = aws.central
  name     = "central"
}

resource "aws_backup_vault" "v6" {
  region = "us-east-1"
  name   = "v6"
}
''')
    graph = build_hcl_graph(tmp_path, collect_inputs(tmp_path, environ={}))
    vault = {r.name: r for r in graph.of_type("aws_backup_vault")}
    assert region_of(vault["main"], graph).value == "eu-west-1"
    assert region_of(vault["dr"], graph).value == "eu-central-1"
    assert region_of(vault["v6"], graph).value == "us-east-1"  # the provider-v6 region argument wins
    other = region_of(vault["other"], graph)
    assert other.value is None and "sets no region" in other.why
    assert account_of(vault["central"], graph).value == "444455556666"
    # no profile, keys or role tells main and dr apart: the same account, whatever it is
    assert same_account(vault["main"], vault["dr"], graph)[0] is True
    # a profile from an input without a value could be any account
    assert same_account(vault["main"], vault["other"], graph)[0] is None
    assert same_account(vault["main"], vault["central"], graph)[0] is None


def test_a_module_with_its_own_provider_block_is_placed_by_it(tmp_path):
    from iaclint.graph.placement import region_of

    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "main.tf").write_text('''provider "aws" {
  region = "ap-northeast-1"
}

resource "aws_backup_vault" "v" {
  name = "legacy"
}
''')
    (tmp_path / "main.tf").write_text('''provider "aws" {
  region = "eu-west-1"
}

module "legacy" {
  source = "./legacy"
}

resource "aws_backup_vault" "v" {
  name = "root"
}
''')
    graph = build_hcl_graph(tmp_path, collect_inputs(tmp_path, environ={}))
    assert region_of(graph.resource("aws_backup_vault.v"), graph).value == "eu-west-1"
    legacy = graph.resource("module.legacy.aws_backup_vault.v")
    assert legacy.provider_ref() == "module.legacy:aws"
    assert region_of(legacy, graph).value == "ap-northeast-1"


def test_arn_wildcards_against_a_datastore_whose_name_is_not_known(tmp_path):
    from iaclint.checks.backup import arn_pattern_matches

    (tmp_path / "main.tf").write_text('''variable "name" {
  type = string
}

provider "aws" {
  region = "eu-west-1"
}

resource "aws_db_instance" "db" {
  identifier = var.name
}
''')
    graph = build_hcl_graph(tmp_path, collect_inputs(tmp_path, environ={}))
    db = graph.resource("aws_db_instance.db")
    assert arn_pattern_matches("arn:aws:rds:*:*:db:*", db, graph) is True
    assert arn_pattern_matches("arn:aws:rds:eu-west-1:*:db:*", db, graph) is True
    assert arn_pattern_matches("arn:aws:rds:us-east-1:*:db:*", db, graph) is False
    assert arn_pattern_matches("arn:aws:rds:*:*:db:prod-*", db, graph) is None  # depends on the name
    assert arn_pattern_matches("arn:aws:rds:*:*:cluster:*", db, graph) is False
    assert arn_pattern_matches("arn:aws:ec2:*:*:volume/*", db, graph) is False
    assert arn_pattern_matches("arn:aws:rds:*:111122223333:db:*", db, graph) is None  # the account is not pinned
