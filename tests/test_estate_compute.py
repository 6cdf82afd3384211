"""Instance volumes, EKS, OpenSearch, ECR, MSK, MQ, FSx, DAX and WorkSpaces beyond their fixtures: the issue's
acceptance cases by name, fix safety by engine version and resource type, fixes that touch only the failing
volumes, every form of an AWS managed key, key arguments in XRG001 and KMS003's consumers, peer suppressions."""

from __future__ import annotations

import re

from iaclint.engine import conditions
from iaclint.engine.runner import RuleSelection
from iaclint.model import Applicability, Verdict
from iaclint.run.pipeline import run_check
from support import options
from test_estate_foundation import graph_of


def run(paths, select):
    """What `iaclint check` reports: findings with their fixes and suppressions."""
    opts = options()
    opts.selection = RuleSelection(select=select)
    return run_check([str(p) for p in paths], opts).report


def _module(tmp_path, text, name="m"):
    root = tmp_path / name
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.tf").write_text(text)
    return root


def _findings(tmp_path, text, rule_id):
    report = run([_module(tmp_path, text)], select={rule_id})
    return {f.address: f for f in report.findings if f.rule_id == rule_id}


def _applied(finding):
    from iaclint.hcl.layout import apply_edits

    edits = finding.fix.edits
    path = edits[0].file
    text = open(path, encoding="utf-8").read()
    return apply_edits(text, [e for e in edits if e.file == path])


TEMPLATE = '''
resource "aws_launch_template" "string_flag" {
  name_prefix = "web-"

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      encrypted = "true"
    }
  }
}
'''

BY_DEFAULT = '''
resource "aws_ebs_encryption_by_default" "on" {
  enabled = true
}

resource "aws_launch_template" "by_default" {
  name_prefix = "web-"

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size = 20
    }
  }
}
'''


# ---- the acceptance cases -------------------------------------------------------------


def test_a_launch_template_with_encrypted_true_as_a_string_passes(tmp_path):
    assert _findings(tmp_path, TEMPLATE, "EC2001") == {}
    # and as "false" it fails, on that argument
    (finding,) = _findings(tmp_path, TEMPLATE.replace('"true"', '"false"'), "EC2001").values()
    assert finding.verdict is Verdict.FAIL and 'block_device_mappings.ebs.encrypted is "false"' in finding.message


def test_a_launch_template_under_encryption_by_default_passes_and_fails_without_it(tmp_path):
    assert _findings(tmp_path, BY_DEFAULT, "EC2001") == {}
    off = BY_DEFAULT.replace("enabled = true", "enabled = false")
    (finding,) = _findings(tmp_path, off, "EC2001").values()
    assert "aws_ebs_encryption_by_default.on leaves EBS encryption by default off" in finding.message
    # another provider's setting does not count
    other = BY_DEFAULT.replace("enabled = true", 'enabled  = true\n  provider = aws.west') + \
        'provider "aws" {\n  alias  = "west"\n  region = "us-west-2"\n}\n'
    (finding,) = _findings(tmp_path, other, "EC2001").values()
    assert "no aws_ebs_encryption_by_default for its provider" in finding.message


def _ose001_fix(tmp_path, body):
    text = f'resource "aws_opensearch_domain" "d" {{\n  domain_name = "d"\n{body}}}\n'
    (finding,) = _findings(tmp_path, text, "OSE001").values()
    return finding.fix


def test_enabling_encryption_on_elasticsearch_6_5_replaces_the_domain_so_the_fix_is_unsafe(tmp_path):
    fix = _ose001_fix(tmp_path, '  engine_version = "Elasticsearch_6.5"\n')
    assert fix.applicability is Applicability.UNSAFE
    assert fix.note.startswith('forces replacement of aws_opensearch_domain.d (engine_version is "Elasticsearch_6.5")')


def test_enabling_encryption_on_opensearch_2_is_in_place_so_the_fix_is_safe(tmp_path):
    fix = _ose001_fix(tmp_path, '  engine_version = "OpenSearch_2.11"\n')
    assert fix.applicability is Applicability.SAFE
    assert fix.note == 'changed in place (engine_version is "OpenSearch_2.11")'


def test_elasticsearch_6_7_and_later_is_in_place_and_an_unknown_version_is_unsafe_with_the_reason(tmp_path):
    assert _ose001_fix(tmp_path / "a", '  engine_version = "Elasticsearch_7.10"\n').applicability \
        is Applicability.SAFE
    unknown = _ose001_fix(tmp_path / "b", "")
    assert unknown.applicability is Applicability.UNSAFE
    assert "engine_version is not set: the domain has the version AWS chose" in unknown.note
    legacy = 'resource "aws_elasticsearch_domain" "d" {\n  domain_name = "d"\n}\n'
    (finding,) = _findings(tmp_path / "c", legacy, "OSE001").values()
    assert finding.fix.applicability is Applicability.UNSAFE
    assert re.search(r"elasticsearch_version is not set \(default ['\"]1\.5['\"]\)", finding.fix.note)


# ---- EKS001's message -------------------------------------------------------------------------


def _eks(version_line):
    return ('resource "aws_eks_cluster" "c" {\n  name     = "c"\n  role_arn = "arn:aws:iam::111122223333:role/eks"\n'
            f'{version_line}\n  vpc_config {{\n    subnet_ids = ["subnet-0123456789abcdef0"]\n  }}\n}}\n')


def test_eks001_says_the_1_28_default_only_when_the_version_is_known_to_be_1_28_or_later(tmp_path):
    recent = _findings(tmp_path / "a", _eks('  version  = "1.28"'), "EKS001")["aws_eks_cluster.c"]
    assert "Kubernetes 1.28 and later envelope-encrypt all Kubernetes API data" in recent.message
    for name, line in (("b", '  version  = "1.27"'), ("c", ""), ("d", "  version  = var.v\n")):
        text = _eks(line) + ('variable "v" {\n  type = string\n}\n' if "var." in line else "")
        finding = _findings(tmp_path / name, text, "EKS001")["aws_eks_cluster.c"]
        assert "1.28" not in finding.message and "not envelope-encrypted with a KMS key" in finding.message


def test_eks001_fix_adds_encryption_config_in_place_but_says_it_cannot_be_undone(tmp_path):
    finding = _findings(tmp_path, _eks('  version  = "1.31"'), "EKS001")["aws_eks_cluster.c"]
    assert finding.fix.applicability is Applicability.UNSAFE and "it cannot be undone" in finding.fix.note
    fixed = _applied(finding)
    assert '  encryption_config {\n    resources = ["secrets"]\n    provider {\n      key_arn = aws_kms_key.eks_c.arn\n' \
        in fixed


# ---- fixes touch the failing volumes only ---------------------------------------------------


TWO_VOLUMES = '''
resource "aws_kms_key" "data" {
  description         = "ebs volumes"
  enable_key_rotation = true
}

resource "aws_instance" "i" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"

  root_block_device {
    encrypted = true
  }

  ebs_block_device {
    device_name = "/dev/sdf"
    encrypted   = true
    kms_key_id  = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  ebs_block_device {
    device_name = "/dev/sdg"
    encrypted   = true
  }
}
'''


def test_a_key_fix_edits_only_the_volumes_without_a_customer_managed_key(tmp_path):
    (finding,) = _findings(tmp_path, TWO_VOLUMES, "EC2002").values()
    assert "root_block_device names no key" in finding.message and "ebs_block_device[1] names no key" in finding.message
    assert "ebs_block_device[0]" not in finding.message
    fixed = _applied(finding)
    assert len(re.findall(r"kms_key_id +\= aws_kms_key\.data\.arn", fixed)) == 2  # the root volume and /dev/sdg
    assert 'kms_key_id  = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"' in fixed
    assert finding.fix.applicability is Applicability.UNSAFE and "forces replacement of aws_instance.i" in \
        finding.fix.note


def test_nested_settings_can_name_one_of_several_blocks(tmp_path):
    from iaclint.fixes.nested import Setting, set_paths
    from iaclint.hcl.layout import apply_edits

    graph = graph_of(tmp_path, TWO_VOLUMES)
    resource = graph.resource("aws_instance.i")
    source = graph.sources[resource.block.file]
    result = set_paths(source, resource.block, [Setting("ebs_block_device[1].throughput", 250)])
    fixed = apply_edits(source.text, result.edits)
    assert fixed.count("throughput") == 1
    assert fixed.index("throughput") > fixed.index('"/dev/sdg"')


def test_a_key_fix_keeps_a_customer_managed_key_that_is_already_there(tmp_path):
    text = '''
resource "aws_kms_key" "workspaces" {
  enable_key_rotation = true
}

resource "aws_workspaces_workspace" "w" {
  directory_id                   = "d-0123456789"
  bundle_id                      = "wsb-0123456789"
  user_name                      = "u"
  user_volume_encryption_enabled = true
  volume_encryption_key          = aws_kms_key.workspaces.arn
}
'''
    (finding,) = _findings(tmp_path, text, "WSP001").values()
    assert finding.fix.title == "set `root_volume_encryption_enabled = true` and `user_volume_encryption_enabled = " \
                                "true` in aws_workspaces_workspace.w, keeping the customer managed key " \
                                "aws_kms_key.workspaces"
    assert "aws_kms_key.workspaces.arn" in _applied(finding) and len(finding.fix.edits) == 1


def test_a_new_ebs_key_for_a_template_of_an_eks_node_group_names_the_autoscaling_role(tmp_path):
    text = TEMPLATE + '''
resource "aws_eks_node_group" "ng" {
  cluster_name  = "c"
  node_role_arn = "arn:aws:iam::111122223333:role/node"
  subnet_ids    = ["subnet-0123456789abcdef0"]

  launch_template {
    id      = aws_launch_template.string_flag.id
    version = aws_launch_template.string_flag.latest_version
  }

  scaling_config {
    desired_size = 1
    max_size     = 1
    min_size     = 1
  }
}
'''
    (finding,) = _findings(tmp_path, text, "EC2002").values()
    fixed = _applied(finding)
    assert fixed.count("autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling") == 2
    assert 'Condition = { Bool = { "kms:GrantIsForAWSResource" = "true" } }' in fixed
    # without a group launching from it, the key is the plain one
    (plain,) = _findings(tmp_path / "plain", TEMPLATE, "EC2002").values()
    assert "AWSServiceRoleForAutoScaling" not in _applied(plain)


# ---- keys in every form, other Regions, unusable keys, peer suppressions ---------------------


def test_every_form_of_an_aws_managed_key_fails_the_cmk_rules(tmp_path):
    forms = {
        "literal": '"alias/aws/ecr"',
        "alias_arn": '"arn:aws:kms:eu-west-1:111122223333:alias/aws/ecr"',
        "alias_lookup": "data.aws_kms_alias.ecr.target_key_arn",
        "key_lookup": "data.aws_kms_key.ecr.arn",
    }
    text = ('data "aws_kms_alias" "ecr" {\n  name = "alias/aws/ecr"\n}\n\n'
            'data "aws_kms_key" "ecr" {\n  key_id = "alias/aws/ecr"\n}\n')
    for name, key in forms.items():
        text += (f'\nresource "aws_ecr_repository" "{name}" {{\n  name = "{name}"\n\n'
                 f'  encryption_configuration {{\n    encryption_type = "KMS"\n    kms_key         = {key}\n  }}\n}}\n')
    found = _findings(tmp_path, text, "ECR001")
    assert {a.split(".")[1] for a, f in found.items() if f.verdict is Verdict.FAIL} == set(forms)


def test_new_key_arguments_are_judged_by_xrg001_and_are_consumers_of_their_key(tmp_path):
    text = '''
provider "aws" {
  region = "eu-west-1"
}

provider "aws" {
  alias  = "us"
  region = "us-east-1"
}

resource "aws_kms_key" "us" {
  provider = aws.us
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "*" }, Action = "kms:Encrypt", Resource = "*" }]
  })
}

resource "aws_spot_fleet_request" "f" {
  iam_fleet_role  = "arn:aws:iam::111122223333:role/spot-fleet"
  target_capacity = 1

  launch_specification {
    ami           = "ami-0123456789abcdef0"
    instance_type = "m5.large"

    root_block_device {
      encrypted  = true
      kms_key_id = aws_kms_key.us.arn
    }
  }
}

resource "aws_workspaces_workspace" "w" {
  directory_id                   = "d-0123456789"
  bundle_id                      = "wsb-0123456789"
  user_name                      = "u"
  root_volume_encryption_enabled = true
  user_volume_encryption_enabled = true
  volume_encryption_key          = aws_kms_key.us.arn
}
'''
    report = run([_module(tmp_path, text)], select={"XRG001"})
    xrg = {f.address for f in report.findings if f.rule_id == "XRG001" and f.verdict is Verdict.FAIL}
    assert xrg == {"aws_spot_fleet_request.f", "aws_workspaces_workspace.w"}
    from iaclint.checks.policy import key_consumers  # KMS003's consumers

    graph = graph_of(tmp_path, text)
    consumers = {(r.address, label) for r, label in key_consumers(graph.resource("aws_kms_key.us"), graph)}
    assert consumers == {("aws_spot_fleet_request.f", "launch_specification.root_block_device.kms_key_id"),
                         ("aws_workspaces_workspace.w", "volume_encryption_key")}


def test_peer_suppressions_name_the_new_rules(tmp_path):
    text = ('#checkov:skip=CKV_AWS_58:secrets use the 1.28 default\n' + _eks('  version  = "1.31"') +
            '\n#trivy:ignore:AVD-AWS-0131\nresource "aws_instance" "i" {\n  ami           = "ami-0123456789abcdef0"\n'
            '  instance_type = "t3.micro"\n}\n')
    report = run([_module(tmp_path, text)], select={"EKS001", "EC2001"})
    suppressed = {f.rule_id: f.suppression is not None for f in report.findings if f.rule_id in ("EKS001", "EC2001")}
    assert suppressed == {"EKS001": True, "EC2001": True}


# ---- the foundation pieces these rules added --------------------------------------------------


def test_a_type_condition_says_what_differs_between_types_without_a_reason_of_its_own(tmp_path):
    graph = graph_of(tmp_path, TEMPLATE + TWO_VOLUMES)
    template = graph.resource("aws_launch_template.string_flag")
    cond = {"any": [{"type": ["aws_instance"]}, {"all": [{"type": ["aws_launch_template"]},
                                                          {"attribute": "name_prefix", "equals": "web-"}]}]}
    outcome = conditions.evaluate(cond, template, graph)
    assert outcome.state is True and outcome.reason == 'name_prefix is "web-"'
    instance = graph.resource("aws_instance.i")
    assert conditions.evaluate({"type": ["aws_launch_template"]}, instance, graph).state is False
    # joined reasons are said once each
    twice = {"any": [{"attribute": "ami", "equals": "x"}, {"attribute": "ami", "equals": "y"}]}
    assert conditions.evaluate(twice, instance, graph).reason == 'ami is "ami-0123456789abcdef0"'


def test_rules_lists_the_new_rules_under_their_services():
    from typer.testing import CliRunner

    from iaclint.cli import app

    out = CliRunner().invoke(app, ["rules"]).output
    for service, rule in (("EC2", "EC2001"), ("EKS", "EKS001"), ("OpenSearch", "OSE002"), ("ECR", "ECR001"),
                          ("MSK", "MSK001"), ("Amazon MQ", "MQB001"), ("FSx", "FSX001"), ("DynamoDB", "DAX001"),
                          ("WorkSpaces", "WSP001")):
        header = out.index(f"\n{service}\n")
        following = out[header + 1:].split("\n\n", 1)[0]
        assert rule in following, (service, rule)
