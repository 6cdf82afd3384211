"""Terraform as the oracle: real `terraform plan` runs, offline, against a schema-only stand-in provider,
and iaclint's evaluated attribute values are compared with the planned ones (tests/test_oracle.py)."""
