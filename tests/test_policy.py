"""The key policy model: every way a policy is written reads into the same statements."""

from __future__ import annotations

from pathlib import Path

from iaclint.checks.policy import DEFAULT_POLICY, Partial, Unknown, covers, key_policy
from iaclint.graph.hcl import build_hcl_graph
from iaclint.graph.inputs import collect_inputs

CALLER = 'data "aws_caller_identity" "current" {}\n'


def _graph(tmp_path, text):
    (tmp_path / "main.tf").write_text(CALLER + text)
    return build_hcl_graph(Path(tmp_path), collect_inputs(Path(tmp_path), environ={}))


def _policy(tmp_path, text, address="aws_kms_key.k"):
    graph = _graph(tmp_path, text)
    return key_policy(graph.resource(address), graph)[0]


def test_no_policy_is_the_aws_default(tmp_path):
    assert _policy(tmp_path, 'resource "aws_kms_key" "k" {}\n') is DEFAULT_POLICY


def test_a_heredoc_with_interpolations_keeps_its_structure(tmp_path):
    policy = _policy(tmp_path, '''resource "aws_kms_key" "k" {
  policy = <<-EOT
    {"Version": "2012-10-17", "Statement": [{
      "Sid": "Root", "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"},
      "Action": ["kms:Describe*", "kms:Put*"], "Resource": "*"}]}
  EOT
}
''')
    assert not policy.unknown
    statement = policy.statements[0]
    assert statement.sid == "Root" and statement.effect == "Allow"
    assert isinstance(statement.principals[0], Partial)
    assert "data.aws_caller_identity.current" in statement.principals[0].refs
    assert covers(statement, "kms:PutKeyPolicy") is True and covers(statement, "kms:Decrypt") is False


def test_jsonencode_keeps_unknown_parts_where_they_are(tmp_path):
    policy = _policy(tmp_path, '''variable "actions" {
  type = list(string)
}

resource "aws_kms_key" "k" {
  policy = jsonencode({
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = ["arn:aws:iam::111122223333:root"] }
      Action    = var.actions
      NotAction = null
    }]
  })
}
''')
    statement = policy.statements[0]
    assert statement.principals == ["arn:aws:iam::111122223333:root"]
    assert isinstance(statement.actions[0], Unknown) and covers(statement, "kms:Decrypt") is None


def test_policy_documents_render_like_terraform(tmp_path):
    policy = _policy(tmp_path, '''data "aws_iam_policy_document" "d" {
  statement {
    not_actions = ["kms:ScheduleKeyDeletion"]
    resources   = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::111122223333:root"]
    }
  }
}

resource "aws_kms_key" "k" {
  policy = data.aws_iam_policy_document.d.json
}
''')
    statement = policy.statements[0]
    assert statement.effect == "Allow"  # the data source's default
    assert covers(statement, "kms:Decrypt") is True and covers(statement, "kms:ScheduleKeyDeletion") is False


def test_an_aws_kms_key_policy_replaces_the_keys_own(tmp_path):
    graph = _graph(tmp_path, '''resource "aws_kms_key" "k" {
  policy = "{}"
}

resource "aws_kms_key_policy" "p" {
  key_id = aws_kms_key.k.id
  policy = jsonencode({ Statement = [{ Effect = "Deny", Principal = "*", Action = "kms:*" }] })
}
''')
    policy, setter = key_policy(graph.resource("aws_kms_key.k"), graph)
    assert setter.address == "aws_kms_key_policy.p" and policy.statements[0].effect == "Deny"


def test_policy_documents_merge_sources_and_overrides_by_sid(tmp_path):
    policy = _policy(tmp_path, '''data "aws_iam_policy_document" "base" {
  statement {
    sid       = "Root"
    actions   = ["kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::111122223333:root"]
    }
  }
  statement {
    sid       = "Backup"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["444455556666"]
    }
  }
}

data "aws_iam_policy_document" "override" {
  statement {
    sid       = "Backup"
    actions   = ["kms:Decrypt", "kms:CreateGrant"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["444455556666"]
    }
  }
}

data "aws_iam_policy_document" "key" {
  source_policy_documents   = [data.aws_iam_policy_document.base.json]
  override_policy_documents = [data.aws_iam_policy_document.override.json, jsonencode({
    Statement = [{ Effect = "Deny", Principal = "*", Action = "kms:ScheduleKeyDeletion", Resource = "*" }]
  })]
  statement {
    sid       = "Root"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::111122223333:root"]
    }
  }
}

resource "aws_kms_key" "k" {
  policy = data.aws_iam_policy_document.key.json
}
''')
    assert not policy.unknown, policy.unknown
    by_sid = {s.sid: s for s in policy.statements}
    assert [s.sid for s in policy.statements] == ["Root", "Backup", ""]
    assert covers(by_sid["Root"], "kms:PutKeyPolicy") is True  # the document's own statement replaced the source's
    assert covers(by_sid["Backup"], "kms:CreateGrant") is True  # the override replaced the source's
    assert policy.statements[2].effect == "Deny"


def test_a_merged_document_that_is_not_known_makes_the_policy_unknown(tmp_path):
    policy = _policy(tmp_path, '''variable "extra" {
  type = string
}

data "aws_iam_policy_document" "key" {
  source_policy_documents = [var.extra]
}

resource "aws_kms_key" "k" {
  policy = data.aws_iam_policy_document.key.json
}
''')
    assert policy.unknown and "source_policy_documents" in policy.unknown


def test_templatefile_fills_plain_references_and_keeps_unknown_parts(tmp_path):
    (tmp_path / "key-policy.json.tpl").write_text(
        '{"Statement": [{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::${account}:root"},'
        ' "Action": "kms:*", "Resource": "*"}, {"Sid": "Backup", "Effect": "Allow",'
        ' "Principal": {"AWS": "${backup_role}"}, "Action": "kms:Decrypt", "Resource": "*"}]}')
    policy = _policy(tmp_path, '''resource "aws_kms_key" "k" {
  policy = templatefile("${path.module}/key-policy.json.tpl", {
    account     = data.aws_caller_identity.current.account_id
    backup_role = "arn:aws:iam::111122223333:role/backup"
  })
}
''')
    assert not policy.unknown, policy.unknown
    root, backup = policy.statements
    assert isinstance(root.principals[0], Partial) and "data.aws_caller_identity.current" in root.principals[0].refs
    assert backup.principals == ["arn:aws:iam::111122223333:role/backup"]


def test_templatefile_with_directives_is_unknown_with_the_reason(tmp_path):
    (tmp_path / "p.tpl").write_text('{"Statement": [%{ for a in accounts }{"Principal": "${a}"}%{ endfor }]}')
    policy = _policy(tmp_path, '''resource "aws_kms_key" "k" {
  policy = templatefile("${path.module}/p.tpl", { accounts = ["1"] })
}
''')
    assert "directives" in policy.unknown


def test_a_principal_with_unknown_parts_is_shown_as_people_write_it(tmp_path):
    # issue 19: "grants kms:PutKeyPolicy to Partial(text='arn:aws:iam::\ue000?\ue000:root', ...)"
    from iaclint.run.pipeline import check_paths
    from support import options

    (tmp_path / "main.tf").write_text(
        'variable "admin_account" {\n  type = string\n}\n'
        'variable "who" {\n  type = string\n}\n'
        'resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n  policy = jsonencode({\n'
        '    Statement = [{\n      Effect = "Allow"\n'
        '      Principal = { AWS = ["arn:aws:iam::${var.admin_account}:root", var.who] }\n'
        '      Action = "kms:*"\n      Resource = "*"\n    }]\n  })\n}\n')
    report = check_paths([str(tmp_path)], options())
    message = next(f.message for f in report.findings if f.rule_id == "KMS002")
    assert "arn:aws:iam::${...}:root" in message and "(unknown: " in message
    assert "Partial(" not in message and "Unknown(" not in message and "\ue000" not in message
