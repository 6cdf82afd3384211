"""iaclint: a Terraform policy linter for encryption at rest on AWS."""

__version__ = "0.1.0"
