"""Fixes never damage a file: bytes, line endings, BOM, comments, alignment, permissions, verification."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import pytest

from iaclint.run.pipeline import run_check
from iaclint.engine.runner import RuleSelection
from iaclint.run.fix import run_fix
from iaclint.model import Applicability
from support import FIXTURES, ROOT, options

TERRAFORM = shutil.which("terraform")


def module_with(tmp_path, files):
    root = tmp_path / "m"
    root.mkdir()
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
    return root


def fix(root, rules=None, unsafe=True, write=True):
    opts = options()
    if rules:
        opts.selection = RuleSelection(select=set(rules))
    return run_fix([str(root)], opts, unsafe=unsafe, write=write)


def findings(root, rules=None):
    opts = options()
    if rules:
        opts.selection = RuleSelection(select=set(rules))
    return run_check([str(root)], opts).report.findings


def fmt_clean(path) -> bool:
    return subprocess.run([TERRAFORM, "fmt", "-check", str(path)], capture_output=True).returncode == 0


KEY = 'resource "aws_kms_key" "k" {\n  description = "k"\n}\n'


def test_crlf_line_endings_are_kept(tmp_path):
    root = module_with(tmp_path, {"main.tf": KEY.replace("\n", "\r\n").encode()})
    fix(root, ["KMS001"])
    data = (root / "main.tf").read_bytes()
    assert data == b'resource "aws_kms_key" "k" {\r\n  description         = "k"\r\n  enable_key_rotation = true\r\n}\r\n'
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_utf8_bom_is_kept(tmp_path):
    root = module_with(tmp_path, {"main.tf": b"\xef\xbb\xbf# caf\xc3\xa9\n" + KEY.encode()})
    fix(root, ["KMS001"])
    data = (root / "main.tf").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# caf\xc3\xa9\n")
    assert b"enable_key_rotation = true" in data


def test_tab_indentation_is_copied(tmp_path):
    root = module_with(tmp_path, {"main.tf": 'resource "aws_kms_key" "k" {\n\tdescription = "k"\n}\n'})
    fix(root, ["KMS001"])
    assert (root / "main.tf").read_text() == (
        'resource "aws_kms_key" "k" {\n\tdescription         = "k"\n\tenable_key_rotation = true\n}\n')


def test_comment_on_the_edited_line_survives(tmp_path):
    text = ('resource "aws_kms_key" "k" {\n  description         = "k"\n'
            '  enable_key_rotation = false # TODO: turn on\n}\n')
    root = module_with(tmp_path, {"main.tf": text})
    fix(root, ["KMS001"])
    assert (root / "main.tf").read_text() == text.replace("false # TODO", "true # TODO")


@pytest.mark.skipif(TERRAFORM is None, reason="needs the terraform binary for `terraform fmt`")
def test_aligned_trailing_comments_stay_aligned(tmp_path):
    text = ('resource "aws_kms_key" "k" {\n  description         = "k"   # who\n'
            '  enable_key_rotation = false # why\n}\n')
    root = module_with(tmp_path, {"main.tf": text})
    assert fmt_clean(root / "main.tf")
    fix(root, ["KMS001"])
    # the comment run realigns one column to the left, as terraform fmt would have it
    assert (root / "main.tf").read_text() == text.replace("false # why", "true # why").replace('"k"   #', '"k"  #')
    assert fmt_clean(root / "main.tf")


def test_missing_final_newline_stays_missing(tmp_path):
    root = module_with(tmp_path, {"main.tf": 'resource "aws_backup_vault" "v" {\n  name = "v"\n}'})
    outcome = fix(root, ["BAK001"])
    assert outcome.applied
    text = (root / "main.tf").read_text()
    assert not text.endswith("\n")
    assert 'kms_key_arn = aws_kms_key.backup_v.arn' in text and 'resource "aws_kms_key" "backup_v"' in text


def test_insert_joins_an_aligned_run_when_the_name_fits(tmp_path):
    text = ('resource "aws_neptune_cluster" "c" {\n  cluster_identifier = "c"\n  engine             = "neptune"\n'
            '  kms_key_arn        = "alias/graph"\n}\n')
    root = module_with(tmp_path, {"main.tf": text})
    fix(root, ["NEP001"])
    assert (root / "main.tf").read_text() == text.replace(
        '"alias/graph"\n', '"alias/graph"\n  storage_encrypted  = true\n')


def test_insert_longer_name_realigns_the_run_like_terraform_fmt(tmp_path):
    text = 'resource "aws_kms_key" "k" {\n  description = "k" # why\n  policy      = "{}"\n}\n'
    root = module_with(tmp_path, {"main.tf": text})
    fix(root, ["KMS001"])
    assert (root / "main.tf").read_text() == (
        'resource "aws_kms_key" "k" {\n  description         = "k" # why\n  policy              = "{}"\n'
        '  enable_key_rotation = true\n}\n')


@pytest.mark.skipif(TERRAFORM is None, reason="needs the terraform binary for `terraform fmt`")
@pytest.mark.parametrize("body", [
    '  description = "k"\n',
    '  description = "k"\n  is_enabled  = true\n',
    '  description = "k"  # a\n  is_enabled  = true # b\n',
    '  description = "k" # a\n  # own line\n  is_enabled = true # b\n',
    '  policy = jsonencode({\n    Version = "2012-10-17"\n  })\n',
    '  description = "k"\n\n  tags = {\n    a = "b"\n  }\n',
    '  description = <<-EOT\n    multi\n  EOT\n  is_enabled  = true\n',
    '',
])
def test_inserted_attributes_keep_files_fmt_clean(tmp_path, body):
    text = f'resource "aws_kms_key" "k" {{\n{body}}}\n'
    root = module_with(tmp_path, {"main.tf": text})
    assert fmt_clean(root / "main.tf"), text
    assert fix(root, ["KMS001"]).applied
    assert fmt_clean(root / "main.tf"), (root / "main.tf").read_text()


def test_single_line_empty_block_is_expanded(tmp_path):
    root = module_with(tmp_path, {"main.tf": 'resource "aws_kms_key" "k" {}\n'})
    fix(root, ["KMS001"])
    assert (root / "main.tf").read_text() == 'resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n}\n'


def test_permissions_are_kept_and_no_temporary_file_is_left(tmp_path):
    root = module_with(tmp_path, {"main.tf": KEY})
    os.chmod(root / "main.tf", 0o640)
    fix(root, ["KMS001"])
    assert stat.S_IMODE((root / "main.tf").stat().st_mode) == 0o640
    assert sorted(p.name for p in root.iterdir()) == ["main.tf"]


def test_diff_mode_writes_nothing(tmp_path):
    root = module_with(tmp_path, {"main.tf": KEY})
    before = (root / "main.tf").read_bytes()
    mtime = (root / "main.tf").stat().st_mtime_ns
    outcome = fix(root, ["KMS001"], write=False)
    assert outcome.applied and "+  enable_key_rotation = true" in outcome.diff()
    assert (root / "main.tf").read_bytes() == before and (root / "main.tf").stat().st_mtime_ns == mtime


def test_safe_fixes_only_without_unsafe_flag(tmp_path):
    root = module_with(tmp_path, {"main.tf": KEY + 'resource "aws_backup_vault" "v" {\n  name = "v"\n}\n'})
    outcome = fix(root, unsafe=False)
    assert [a.rule_id for a in outcome.applied] == ["KMS001"]
    text = outcome.render()
    assert "unsafe fix, not applied without --unsafe-fixes" in text
    assert "BAK001" in text


def test_origin_fix_that_feeds_other_resources_is_unsafe_and_names_them(tmp_path):
    root = module_with(tmp_path, {
        "variables.tf": 'variable "rotate" {\n  type    = bool\n  default = false\n}\n',
        "main.tf": ('resource "aws_kms_key" "a" {\n  enable_key_rotation = var.rotate\n}\n'
                    'resource "aws_kms_key" "b" {\n  enable_key_rotation = var.rotate\n}\n'),
    })
    result = findings(root, ["KMS001"])
    fa = next(f for f in result if f.address == "aws_kms_key.a")
    assert fa.fix.applicability is Applicability.UNSAFE  # KMS001's own fix is safe; sharing makes it unsafe
    assert "aws_kms_key.b" in fa.fix.note
    assert "default of variable `rotate`" in fa.fix.title and "variables.tf:3" in fa.fix.title


def test_tfvars_origin_is_edited(tmp_path):
    root = module_with(tmp_path, {
        "main.tf": 'variable "rotate" {\n  type = bool\n}\nresource "aws_kms_key" "a" {\n  enable_key_rotation = var.rotate\n}\n',
        "terraform.tfvars": "rotate = false\n",
    })
    f = findings(root, ["KMS001"])[0]
    assert f.fix.applicability is Applicability.SAFE and "terraform.tfvars:1" in f.fix.title
    fix(root, ["KMS001"])
    assert (root / "terraform.tfvars").read_text() == "rotate = true\n"


def test_computed_and_command_line_values_get_suggestions_only(tmp_path):
    root = module_with(tmp_path, {"main.tf": (
        'variable "env" {\n  default = "dev"\n}\n'
        'resource "aws_kms_key" "a" {\n  enable_key_rotation = var.env == "prod"\n}\n')})
    f = findings(root, ["KMS001"])[0]
    assert f.fix.applicability is Applicability.DISPLAY and "computed" in f.fix.note
    assert not fix(root, ["KMS001"]).applied


def test_interacting_fixes_converge(tmp_path):
    # NEP002's key alone would make NEP004 appear; it is applied once NEP001 has encrypted the cluster.
    root = module_with(tmp_path, {"main.tf": 'resource "aws_neptune_cluster" "c" {\n  cluster_identifier = "c"\n}\n'})
    outcome = fix(root)
    assert {a.rule_id for a in outcome.applied} == {"NEP001", "NEP002"}
    assert outcome.remaining_failing == []
    assert not fix(root).applied


def test_a_fix_that_breaks_the_file_is_rejected(tmp_path, monkeypatch):
    from iaclint.fixes import builder
    from iaclint.model import Edit, Fix

    def broken(context):
        block = context.resource.block
        return Fix("break it", Applicability.SAFE, [Edit(block.span.file, block.span.end, block.span.end, "}}")])

    monkeypatch.setattr(builder, "build_fix", broken)
    root = module_with(tmp_path, {"main.tf": KEY})
    before = (root / "main.tf").read_bytes()
    outcome = fix(root, ["KMS001"])
    assert not outcome.applied
    assert (root / "main.tf").read_bytes() == before
    assert "would not parse" in outcome.render()


def test_json_configuration_and_downloaded_modules_are_not_edited(tmp_path):
    import json

    root = module_with(tmp_path, {
        "main.tf.json": json.dumps({"resource": {"aws_kms_key": {"j": {"enable_key_rotation": False}}}}),
        "main.tf": 'module "keys" {\n  source = "example/keys/aws"\n}\n',
        ".terraform/modules/keys/main.tf": 'resource "aws_kms_key" "d" {}\n',
        ".terraform/modules/modules.json": json.dumps({"Modules": [{"Key": "keys", "Source": "example/keys/aws",
                                                                  "Dir": ".terraform/modules/keys"}]}),
    })
    result = {f.address: f for f in findings(root, ["KMS001"])}
    assert "JSON" in result["aws_kms_key.j"].no_fix_reason
    assert "downloaded module" in result["module.keys.aws_kms_key.d"].no_fix_reason
    assert result["aws_kms_key.j"].fix is None


def test_elasticache_transit_fix_is_safe_only_on_new_enough_engines(tmp_path):
    root = module_with(tmp_path, {"main.tf": (
        'resource "aws_elasticache_replication_group" "new" {\n  replication_group_id = "n"\n'
        '  engine_version       = "7.1"\n}\n'
        'resource "aws_elasticache_replication_group" "old" {\n  replication_group_id = "o"\n'
        '  engine_version       = "6.2"\n}\n'
        'resource "aws_elasticache_replication_group" "unset" {\n  replication_group_id = "u"\n}\n')})
    result = {f.address: f.fix.applicability for f in findings(root, ["ECH003"])}
    assert result == {"aws_elasticache_replication_group.new": Applicability.SAFE,
                      "aws_elasticache_replication_group.old": Applicability.UNSAFE,
                      "aws_elasticache_replication_group.unset": Applicability.UNSAFE}


def iaclint(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "iaclint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180)


def test_demo_check_diff_is_one_patch_git_applies_and_writes_nothing(tmp_path):
    before = {p: p.read_bytes() for p in (FIXTURES / "demo").rglob("*.tf")}
    proc = iaclint("check", "--diff", "fixtures/demo")
    assert proc.returncode == 1
    report = run_check(["fixtures/demo"], options()).report
    fixable = [f for f in report.findings if f.fix is not None]
    failing = [f for f in report.findings if f.verdict.value == "fail"]
    # BAK002 and BAK003 get no edit of their own (the sources' NEP001 and RDS003 fixes solve them): they say why;
    # SNP001 gets a suggestion that is never in the patch
    assert {f.rule_id for f in failing if f.fix is None} == {"BAK002", "BAK003"}
    assert all(f.no_fix_reason for f in failing if f.fix is None) and len(fixable) == len(failing) - 2
    assert [f.rule_id for f in fixable if f.fix.applicability is Applicability.DISPLAY] == ["SNP001"]
    assert "# [suggestion, not in the patch] SNP001 aws_db_snapshot.billing_for_reporting" in proc.stdout
    for f in fixable:
        assert f" {f.rule_id} {f.address}" in proc.stdout
    assert {p: p.read_bytes() for p in (FIXTURES / "demo").rglob("*.tf")} == before
    # the patch applies cleanly and gives exactly what `fix --unsafe-fixes` writes
    patched, fixed = tmp_path / "patched", tmp_path / "fixed"
    for target in (patched, fixed):
        shutil.copytree(FIXTURES / "demo", target / "fixtures" / "demo")
    (patched / "p.diff").write_text(proc.stdout)
    applied = subprocess.run(["git", "apply", "p.diff"], cwd=patched, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    iaclint("fix", "--unsafe-fixes", "fixtures/demo", cwd=fixed)
    assert {p.relative_to(patched): p.read_bytes() for p in (patched / "fixtures").rglob("*.tf")} == \
        {p.relative_to(fixed): p.read_bytes() for p in (fixed / "fixtures").rglob("*.tf")}


def test_two_instances_of_one_block_get_one_key_and_one_hunk(tmp_path):
    root = module_with(tmp_path, {"main.tf": (
        'resource "aws_neptune_cluster" "n" {\n  for_each           = toset(["a", "b"])\n'
        '  cluster_identifier = each.key\n  storage_encrypted  = true\n}\n')})
    proc = iaclint("check", "--diff", "--select", "NEP002", str(root))
    assert proc.stdout.count('resource "aws_kms_key"') == 1 and proc.stdout.count("@@ ") >= 1
    assert 'Encrypts aws_neptune_cluster.n at rest' in proc.stdout
    fix(root, ["NEP002"])
    text = (root / "main.tf").read_text()
    assert text.count('resource "aws_kms_key"') == 1 and text.count("kms_key_arn") == 1
    assert not [f for f in findings(root) if f.rule_id == "PARSE"]


def test_demo_fix_with_unsafe_fixes_leaves_nothing_fixable_and_is_idempotent(tmp_path):
    demo = tmp_path / "demo"
    shutil.copytree(FIXTURES / "demo", demo)
    first = iaclint("fix", "--unsafe-fixes", str(demo))
    assert first.returncode == 0, first.stdout
    assert "applied: NEP001" in first.stdout and "0 failing findings left" in first.stdout
    snapshot = {p: p.read_bytes() for p in demo.rglob("*") if p.is_file()}
    second = iaclint("fix", "--unsafe-fixes", str(demo))
    assert second.returncode == 0 and "0 fixes applied" in second.stdout
    assert {p: p.read_bytes() for p in demo.rglob("*") if p.is_file()} == snapshot
    remaining = run_check([str(demo)], options()).report.findings
    assert [f for f in remaining if f.fix is not None] == []
    if TERRAFORM:
        assert subprocess.run([TERRAFORM, "fmt", "-check", "-recursive", str(demo)], capture_output=True).returncode == 0


def test_text_output_marks_fixes_and_explains_replacement():
    proc = iaclint("check", "fixtures/demo")
    assert "[unsafe fix]" in proc.stdout and "[fix]" in proc.stdout
    assert "destroyed and created again" in proc.stdout and "copy the snapshot with the new key" in proc.stdout


def test_snp001_suggests_a_shared_copy_that_is_never_applied(tmp_path):
    from iaclint.hcl.layout import apply_edits

    case = tmp_path / "case"
    case.mkdir()
    shutil.copy(FIXTURES / "rules" / "SNP001" / "fail.tf", case / "main.tf")
    before = (case / "main.tf").read_bytes()
    opts = options()
    opts.selection = RuleSelection(select={"SNP001"})
    report = run_check([str(case)], opts).report
    suggested = [f for f in report.findings if f.fix is not None]
    assert [f.address for f in suggested] == ["aws_db_snapshot.billing"]
    assert suggested[0].fix.applicability is Applicability.DISPLAY
    # the suggestion, applied by hand, parses and shares a copy on a customer managed key instead
    (case / "main.tf").write_text(apply_edits(before.decode(), suggested[0].fix.edits))
    after = run_check([str(case)], opts).report.findings
    assert [f.address for f in after if f.verdict.value == "fail"] == ["aws_db_snapshot_copy.billing"]
    # `fix` never applies a suggestion
    (case / "main.tf").write_bytes(before)
    outcome = run_fix([str(case)], opts, unsafe=True)
    assert not outcome.applied and (case / "main.tf").read_bytes() == before


SHARED_FLAG = '''variable "encrypted" {
  default = false
}

resource "aws_neptune_cluster" "a" {
  storage_encrypted = var.encrypted
}

resource "aws_neptune_cluster" "b" {
  storage_encrypted = var.encrypted
}
'''


@pytest.mark.parametrize("users", [2, 3])
def test_a_fix_that_edits_a_value_other_resources_use_names_them_and_is_unsafe(tmp_path, users):
    text = SHARED_FLAG + "".join(f'\nresource "aws_neptune_cluster" "c{i}" {{\n  storage_encrypted = var.encrypted\n}}\n'
                                 for i in range(users - 2))
    root = module_with(tmp_path, {"main.tf": text})
    by_address = {f.address: f for f in findings(root, ["NEP001"])}
    assert len(by_address) == users
    fix_a = by_address["aws_neptune_cluster.a"].fix
    assert fix_a.applicability is Applicability.UNSAFE
    others = sorted(a for a in by_address if a != "aws_neptune_cluster.a")
    assert fix_a.note.startswith(f"also changes {', '.join(others)}, which use the same value")


def test_instances_of_one_block_are_not_other_users_of_its_literal(tmp_path):
    root = module_with(tmp_path, {"main.tf": 'resource "aws_neptune_cluster" "a" {\n  count             = 2\n'
                                              '  storage_encrypted = false\n}\n'})
    found = findings(root, ["NEP001"])
    assert [f.address for f in found] == ["aws_neptune_cluster.a[0]", "aws_neptune_cluster.a[1]"]
    assert all("also changes" not in f.fix.note for f in found)


def test_findings_fixed_by_the_same_edits_share_one_fix(tmp_path):
    """NEP001 and NEP004 both set storage_encrypted = true on a cluster with a key: one Fix object, so a
    large file's fixes are not held twice; another cluster's fix is its own."""
    cluster = 'resource "aws_neptune_cluster" "{0}" {{\n  storage_encrypted = false\n  kms_key_arn       = aws_kms_key.k.arn\n}}\n'
    root = module_with(tmp_path, {"main.tf": KEY + "\n" + cluster.format("a") + "\n" + cluster.format("b")})
    by_rule = {(f.rule_id, f.address): f for f in findings(root, ["NEP001", "NEP004"])}
    a1, a4 = by_rule["NEP001", "aws_neptune_cluster.a"], by_rule["NEP004", "aws_neptune_cluster.a"]
    b1 = by_rule["NEP001", "aws_neptune_cluster.b"]
    assert a1.fix is a4.fix and a1.fix is not b1.fix
    assert [e.start_location for e in a1.fix.edits] == [(6, 23)]
    outcome = fix(root, ["NEP001", "NEP004"])
    assert (root / "main.tf").read_text().count("storage_encrypted = true") == 2, outcome.applied


@pytest.mark.parametrize("text,encryption_rule", [
    ('resource "aws_db_instance" "db" {\n  identifier     = "db"\n  engine         = "postgres"\n'
     '  instance_class = "db.t3.micro"\n}\n', "RDS002"),
    ('resource "aws_rds_cluster" "db" {\n  cluster_identifier = "db"\n  engine             = "aurora-postgresql"\n}\n',
     "RDS001"),
    ('resource "aws_neptune_cluster" "g" {\n  cluster_identifier = "g"\n}\n', "NEP001"),
    ('resource "aws_elasticache_replication_group" "c" {\n  replication_group_id = "c"\n  description          = "c"\n'
     '}\n', "ECH001"),
], ids=["RDS002", "RDS001", "NEP001", "ECH001"])
def test_check_and_diff_agree_when_encrypting_reveals_the_key_rule(tmp_path, text, encryption_rule):
    # an unencrypted resource passes the key rule (one problem, one finding); encrypting it reveals the key
    # problem, which is not a new finding the fix caused: check advertises the fix, and --diff makes it
    root = module_with(tmp_path, {"main.tf": text})
    advertised = [f for f in findings(root) if f.fix is not None and f.verdict.value == "fail"]
    assert encryption_rule in {f.rule_id for f in advertised}
    outcome = fix(root, write=False)
    assert {f.rule_id for f in advertised} <= {a.rule_id for a in outcome.applied}, outcome.rejected
    proc = iaclint("check", "--diff", str(root))
    assert "[not in the patch]" not in proc.stdout and f"] {encryption_rule} " in proc.stdout


def test_a_fix_that_causes_a_genuinely_new_finding_is_still_rejected(tmp_path, monkeypatch):
    # the masked passes only excuse findings the fix reveals, not ones it causes elsewhere
    from iaclint.fixes import builder
    from iaclint.model import Edit, Fix

    real = builder.build_fix

    def with_a_new_problem(context):
        made = real(context)
        if context.rule.id != "KMS001":
            return made
        end = context.resource.block.span.end
        return Fix(made.title, made.applicability, list(made.edits) + [
            Edit(context.resource.block.span.file, end, end, '\nresource "aws_kms_key" "other" {}\n')])

    monkeypatch.setattr(builder, "build_fix", with_a_new_problem)
    root = module_with(tmp_path, {"main.tf": KEY})
    outcome = fix(root, ["KMS001"], write=False)
    assert not outcome.applied and "new findings" in outcome.render()
